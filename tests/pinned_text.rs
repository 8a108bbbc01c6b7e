//! The words users read, pinned as reviewed snapshots (insta) beside their inputs: every rule's message for each
//! of its `match` samples, and the terminal summary, Markdown and HTML of each report fixture. A change to a
//! regex, a capture, a template or the view then shows as a diff of what users see, to accept or fix with
//! `cargo insta review` (README, "Contributing").
#[path = "support/report_fixtures.rs"]
mod report_fixtures;

use std::collections::BTreeMap;

use snapdoc::analyze::RuleSet;
use snapdoc::analyze::run_samples;
use snapdoc::report::{ReportFormat, render};

#[test]
fn every_rule_message_for_its_samples() {
    let rules = RuleSet::builtin().unwrap();
    let report = run_samples(&rules);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let mut by_rule: BTreeMap<&str, String> = BTreeMap::new();
    for (rule_id, index, message) in &report.messages {
        let text = by_rule.entry(rule_id).or_default();
        text.push_str(&format!("match sample {index}:\n{message}\n\n"));
    }
    // Every rule renders at least one message: a rule without a firing sample would pin nothing.
    assert_eq!(by_rule.len(), rules.rules().len());
    insta::with_settings!({snapshot_path => "snapshots/rule-messages", prepend_module_to_snapshot => false}, {
        for (rule_id, text) in by_rule {
            insta::assert_snapshot!(rule_id, text);
        }
    });
}

#[test]
fn every_report_fixture_in_the_formats_people_read() {
    insta::with_settings!({snapshot_path => "snapshots/reports", prepend_module_to_snapshot => false}, {
        for (name, analysis) in report_fixtures::all() {
            for (format, extension) in [
                (ReportFormat::Terminal { color: false }, "txt"),
                (ReportFormat::Markdown, "md"),
                (ReportFormat::Html, "html"),
            ] {
                let text = render(&analysis, format, None).unwrap();
                insta::assert_snapshot!(format!("{name}.{extension}"), text);
            }
        }
    });
}
