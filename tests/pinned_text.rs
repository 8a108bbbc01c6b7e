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

/// `snapdoc probe`'s terminal output for a composed result: a store that lists and stores but rejects the AWS
/// plugin's checksum headers, as Backblaze B2 did (velero#7534), with a foreign directory under the prefix.
#[test]
fn the_probe_s_terminal_output() {
    use snapdoc::probe::{Check, ProbeResult, ProbedLocation, Status, Step};
    let check = |step, status, rule: Option<&str>, detail: &str, latency_ms| Check {
        step,
        status,
        rule: rule.map(str::to_string),
        error_code: None,
        http_status: None,
        detail: detail.to_string(),
        latency_ms,
    };
    let result = ProbeResult {
        agent: "from-here".to_string(),
        location: ProbedLocation {
            provider: "aws".to_string(),
            bucket: "velero".to_string(),
            prefix: "cluster-b/".to_string(),
            endpoint: "https://s3.us-west-004.backblazeb2.com".to_string(),
            region: "us-west-004".to_string(),
            path_style: true,
            ca_cert: false,
            insecure_skip_tls_verify: false,
        },
        probe_key: "cluster-b/backups/snapdoc-probe-0f8e4c1a-5b7d-4c8e-9a51-2d3c4b5a6978"
            .to_string(),
        checks: vec![
            check(
                Step::List,
                Status::Passed,
                None,
                "2 directories under the prefix",
                Some(41),
            ),
            check(
                Step::TopLevelDirs,
                Status::Failed,
                Some("SD102"),
                "Backup store contains invalid top-level directories: [\"old-app-dumps\"] (Velero marks the location Unavailable)",
                None,
            ),
            check(
                Step::Put,
                Status::Passed,
                None,
                "1024 bytes to cluster-b/backups/snapdoc-probe-0f8e4c1a-5b7d-4c8e-9a51-2d3c4b5a6978",
                Some(63),
            ),
            check(
                Step::Get,
                Status::Passed,
                None,
                "the same bytes came back",
                Some(38),
            ),
            check(Step::Delete, Status::Passed, None, "removed", Some(35)),
            check(
                Step::PutWithChecksum,
                Status::Failed,
                Some("SD111"),
                "InvalidArgument: Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call. (HTTP 400)",
                Some(40),
            ),
            check(
                Step::ClockSkew,
                Status::Passed,
                None,
                "+1 s from the store's Date",
                None,
            ),
        ],
        top_level_dirs: vec![
            "cluster-b/backups/".to_string(),
            "cluster-b/old-app-dumps/".to_string(),
        ],
        clock_skew_seconds: Some(1),
        versioning: Some("Disabled".to_string()),
        object_lock: Some(false),
        round_trip_ms: Some(40),
        local_volume: None,
    };
    insta::with_settings!({snapshot_path => "snapshots/probe", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("probe-terminal", result.to_terminal());
    });
}
