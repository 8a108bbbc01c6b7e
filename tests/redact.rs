//! Redaction against the rest of snapdoc: it must not blind the rules (every log sample a rule must match
//! still matches once redacted), and it holds over a large stream in bounded pieces.
use std::io::Write;
use std::path::Path;

use serde_json::Value;
use snapdoc::redact::{PLACEHOLDER, RedactingWriter, RedactionCounts, Redactor};

fn rule_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rule_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml")
            && path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("SD"))
        {
            out.push(path);
        }
    }
}

/// (rule file, regex, sample lines it must match) of every log rule in analyzers/.
fn log_rule_samples() -> Vec<(String, regex::Regex, Vec<String>)> {
    let mut files = Vec::new();
    rule_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("analyzers"),
        &mut files,
    );
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rule: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let Some(pattern) = rule.pointer("/match/log/regex").and_then(Value::as_str) else {
            continue;
        };
        let regex =
            regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let samples: Vec<String> = rule
            .pointer("/tests/match")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| match s {
                Value::String(line) => Some(line.clone()),
                Value::Object(map) => map.get("line").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect();
        out.push((file.display().to_string(), regex, samples));
    }
    out
}

#[test]
fn redaction_never_hides_what_a_log_rule_looks_for() {
    let rules = log_rule_samples();
    assert!(rules.len() > 10, "found only {} log rules", rules.len());
    let mut checked = 0;
    for (file, regex, samples) in &rules {
        for sample in samples {
            if !regex.is_match(sample) {
                // The rule's own tests report a sample its regex misses (it may need its field filters).
                continue;
            }
            let mut counts = RedactionCounts::new();
            let redacted = Redactor::global().redact_text(sample, &mut counts);
            assert!(
                regex.is_match(&redacted),
                "{file}: redaction ({counts:?}) hides the rule's match in\n  {sample}\n→ {redacted}"
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} samples checked");
}

#[test]
fn a_large_log_streams_through_in_small_writes_with_every_secret_replaced() {
    let line = |i: usize| {
        format!(
            "time=\"2026-11-25T10:00:00Z\" level=info msg=\"item {i}\" backup=velero/b{i} url=\"https://u:pw{i}@store/x?X-Amz-Signature=sig{i}\"\n"
        )
    };
    let mut writer = RedactingWriter::new(Redactor::global(), Vec::new());
    let mut expected_lines = 0;
    for i in 0..20_000 {
        let text = line(i);
        // Writes of odd sizes cut lines (and secrets) anywhere.
        for piece in text.as_bytes().chunks(37) {
            writer.write_all(piece).unwrap();
        }
        expected_lines += 1;
    }
    let (out, counts) = writer.finish().unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), expected_lines);
    assert!(!text.contains(":pw1@") && !text.contains("sig19999"));
    assert_eq!(counts.get("url-credentials"), Some(&20_000));
    assert_eq!(counts.get("presigned-url-signature"), Some(&20_000));
    assert!(text.lines().all(|l| l.matches(PLACEHOLDER).count() == 2));
}
