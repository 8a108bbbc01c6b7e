//! The rule loader: YAML text as a rule file, validated; a rule that loads has its samples run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapdoc::analyze::rules::RuleSet;

/// The file name the loader expects (`<id>-<name>.yaml`), read from the text so real rules pass the
/// name check and reach the deeper validation.
fn file_name(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key))
            .map(|value| value.trim().trim_matches(['\'', '"']).to_string())
            .unwrap_or_default()
    };
    format!("rules/{}-{}.yaml", field("id:"), field("name:"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = RuleSet::from_files(&[(file_name(text), text.to_string())]) else {
        return;
    };
    let _ = snapdoc::analyze::engine::samples::run_samples(&rules);
    for rule in rules.rules() {
        let _ = rules.try_render_message(rule, &serde_json::Value::Null);
    }
});
