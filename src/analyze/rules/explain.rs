//! Text for `snapdoc rules list` and `snapdoc rules explain`.
use std::fmt::Write as _;

use super::{Matcher, Rule, SampleInput};

/// One row per rule: id, severity, category, title, as an aligned table.
pub fn list_table(rules: &[Rule]) -> String {
    let rows: Vec<[&str; 4]> = rules
        .iter()
        .map(|r| {
            [
                r.id.as_str(),
                r.severity.as_str(),
                r.category.as_str(),
                r.title.as_str(),
            ]
        })
        .collect();
    let header = ["ID", "SEVERITY", "CATEGORY", "TITLE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    out
}

/// Everything about one rule: what it matches, why, how to fix, its samples.
pub fn explain(rule: &Rule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {} — {}", rule.id, rule.name, rule.title);
    let _ = writeln!(
        out,
        "severity: {}   category: {}   match: {}",
        rule.severity.as_str(),
        rule.category,
        rule.match_kind()
    );
    let _ = writeln!(out, "file: {}:{}", rule.origin.file, rule.line);
    let _ = writeln!(out, "\nMATCH");
    match &rule.matcher {
        Matcher::Log(log) => {
            let sources = if log.any_source {
                "any".to_string()
            } else {
                log.sources
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(out, "  log sources: {sources}");
            let _ = writeln!(out, "  regex: {}", log.pattern);
            for filter in &log.fields {
                let _ = writeln!(
                    out,
                    "  field {}: one of {}",
                    filter.field,
                    filter.values.join(", ")
                );
            }
        }
        Matcher::Object(object) => {
            let _ = writeln!(out, "  kind: {}", object.kind);
            let _ = writeln!(out, "  when: {}", object.when);
            for (name, path) in &object.capture {
                let _ = writeln!(out, "  capture {name}: {path}");
            }
        }
        Matcher::Compat(compat) => {
            let _ = writeln!(
                out,
                "  {} version selects a row; {} must be in its supported range",
                compat.subject, compat.against
            );
            for row in &compat.table {
                let _ = writeln!(
                    out,
                    "  {} {} → {} {}",
                    compat.subject, row.subject, compat.against, row.supported_text
                );
            }
        }
    }
    let _ = writeln!(out, "\nMESSAGE\n{}", indent(&rule.message));
    let _ = writeln!(out, "\nCAUSE\n{}", indent(&rule.cause));
    let _ = writeln!(out, "\nFIX\n{}", indent(&rule.fix));
    if !rule.docs.is_empty() {
        let _ = writeln!(out, "\nDOCS");
        for doc in &rule.docs {
            let _ = writeln!(out, "  {doc}");
        }
    }
    for (title, samples) in [
        ("SAMPLES THAT FIRE", &rule.tests.matching),
        ("SAMPLES THAT DO NOT FIRE", &rule.tests.no_match),
    ] {
        let _ = writeln!(out, "\n{title}");
        for sample in samples.iter() {
            let text = match &sample.input {
                SampleInput::LogLine { text, source } => format!("[{}] {text}", source.as_str()),
                SampleInput::Object(object) => object.to_string(),
                SampleInput::Versions { subject, against } => {
                    format!("subject {subject}, against {against}")
                }
            };
            let _ = writeln!(out, "  - {text}");
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
