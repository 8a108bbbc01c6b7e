//! The built-in catalog (every file under analyzers/, embedded in the binary): it loads, ids and names are
//! unique, and every rule's samples behave. Also the on-disk path `rules lint` / `rules test` take.
use std::path::Path;

use snapdoc::analyze::RuleSet;
use snapdoc::analyze::run_samples;

#[test]
fn the_builtin_catalog_loads_and_every_sample_behaves() {
    let rules =
        RuleSet::builtin().unwrap_or_else(|e| panic!("the built-in catalog does not load:\n{e}"));
    let rule_files = snapdoc::embedded::ANALYZERS
        .iter()
        .filter(|(path, _)| {
            (path.ends_with(".yaml") || path.ends_with(".yml")) && *path != "retired.yaml"
        })
        .count();
    // Every YAML file under analyzers/ is a rule that loaded: none is skipped.
    assert_eq!(rules.len(), rule_files);
    assert!(
        rules.len() >= 60,
        "the catalog has {} rules; at least 60 expected",
        rules.len()
    );
    let report = run_samples(&rules);
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(
        failures.is_empty(),
        "{} sample(s) misbehave:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(report.samples >= 2 * rules.len());
}

#[test]
fn a_rules_directory_on_disk_lints_and_its_samples_behave() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    let rules = RuleSet::lint_dir(&dir).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let ids: Vec<&str> = rules.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["SD990", "SD991", "SD992"]);
    let kinds: Vec<&str> = rules.rules().iter().map(|r| r.match_kind()).collect();
    assert_eq!(kinds, vec!["log", "object", "compat"]);
    let report = run_samples(&rules);
    assert_eq!(report.samples, 10);
    assert!(report.passed(), "{:#?}", report.failures);
    // The directory's retired.yaml applies: a rule taking SD989 is refused.
    let temp = tempfile::tempdir().unwrap();
    let source =
        std::fs::read_to_string(dir.join("storage/SD990-fixture-invalid-access-key.yaml")).unwrap();
    std::fs::write(
        temp.path().join("retired.yaml"),
        std::fs::read_to_string(dir.join("retired.yaml")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        temp.path().join("SD989-fixture-invalid-access-key.yaml"),
        source.replace("SD990", "SD989"),
    )
    .unwrap();
    let errors = RuleSet::lint_dir(temp.path()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("id SD989 is retired"),
        "{errors:?}"
    );
    assert_eq!(errors[0].line, 1);
}

/// analyzers/README.md's counts and index are generated from the rule files (scripts/rules-index): a rule added,
/// renamed or re-graded without regenerating them fails here.
#[test]
fn the_catalog_readme_lists_every_rule_as_its_file_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/rules-index"))
        .arg("--check")
        .arg(root.join("analyzers"))
        .output()
        .expect("python3 runs scripts/rules-index");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
