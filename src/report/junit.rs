//! JUnit XML: one `<testsuite name="snapdoc">` per bundle, one `<testcase>` per rule that ran (findings and
//! checks passed), sorted by rule id.
//!
//! A `fail` finding is a `<failure>` (message = the finding's title, body = its message, cause, fix and
//! evidence): every CI system counts and lists those. Readiness adds `<testsuite name="readiness">` per bundle
//! (when the bundle tells it): a backup restorable to a new cluster, every volume protected, every schedule on
//! time, each a testcase failing when it does not hold, and every `fail` prediction a failure. A `warn` or `info`
//! finding must not fail the build, so its testcase passes and carries the text in `<system-out>` plus a
//! `severity` property: Jenkins, GitLab and Azure DevOps show a test's standard output on its page, while
//! `<skipped>` (the other common choice) would misreport a rule that did run as not run. Collector errors go to
//! the suite's `<system-err>`. An incomplete analysis (snapdoc could not see what the rules need) is one
//! `<error>` testcase, `analysis is complete`, so a CI system never counts "could not see" as passing. With
//! `--probe`, `<testsuite name="probe">` has a testcase per storage location, failing with what the probe
//! reproduced (its rule ids).
//!
//! The XML is written by quick-junit (nextest's writer): its escaping, its counts (`tests`, `failures`, `errors`
//! summed from the testcases, so they cannot disagree with them) and its element order. Text goes through
//! [`xml_chars`] first, so a control character from a log shows as `\u{..}` instead of vanishing. A suite's
//! `timestamp` is set as a plain attribute, `YYYY-MM-DDTHH:MM:SS` in UTC without a zone, as the JUnit XSD
//! (Jenkins, Ant) wants it; quick-junit's own would add milliseconds and an offset.
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::analyze::Analysis;
use crate::analyze::findings::{Finding, Severity};

use super::escape::xml_chars;
use super::view::{EvidenceView, evidence_view, object_label};
use crate::analyze::readiness::Restorable;

pub(super) fn render(analyses: &[Analysis]) -> String {
    let several = analyses.len() > 1;
    let mut report = Report::new("snapdoc");
    report.set_time(Duration::ZERO);
    for analysis in analyses {
        report.add_test_suite(Suite::new(analysis, several).build());
    }
    for analysis in analyses.iter().filter(|a| a.readiness.known) {
        report.add_test_suite(ReadinessSuite::new(analysis, several).build());
    }
    for analysis in analyses.iter().filter(|a| !a.probes.is_empty()) {
        report.add_test_suite(ReadinessSuite::probes(analysis, several).build());
    }
    report
        .to_string()
        .expect("a JUnit report serializes into memory")
}

/// A failure or error status: `message` and `type` attributes, `body` as the element's text.
fn non_success(kind: NonSuccessKind, message: &str, ty: &str, body: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_message(xml_chars(message));
    status.set_type(xml_chars(ty));
    status.set_description(xml_chars(body));
    status
}

fn test_case(classname: &str, name: &str, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(xml_chars(name), status);
    case.set_classname(xml_chars(classname));
    case.set_time(Duration::ZERO);
    case
}

struct Suite<'a> {
    analysis: &'a Analysis,
    name: String,
    cases: Vec<Case<'a>>,
}

struct Case<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    category: &'a str,
    title: &'a str,
    finding: Option<&'a Finding>,
}

impl<'a> Suite<'a> {
    fn new(analysis: &'a Analysis, several: bool) -> Self {
        let mut cases: Vec<Case<'a>> = analysis
            .findings
            .iter()
            .map(|finding| Case {
                rule_id: &finding.rule_id,
                rule_name: &finding.rule_name,
                category: &finding.category,
                title: &finding.title,
                finding: Some(finding),
            })
            .chain(analysis.checks_passed.iter().map(|rule| Case {
                rule_id: &rule.id,
                rule_name: &rule.name,
                category: &rule.category,
                title: &rule.title,
                finding: None,
            }))
            .collect();
        cases.sort_by(|a, b| a.rule_id.cmp(b.rule_id));
        let name = if several {
            format!("snapdoc {}", analysis.bundle.path)
        } else {
            "snapdoc".to_string()
        };
        Suite {
            analysis,
            name,
            cases,
        }
    }

    fn build(self) -> TestSuite {
        let analysis = self.analysis;
        let mut suite = TestSuite::new(xml_chars(&self.name));
        suite.set_time(Duration::ZERO);
        if let Ok(generated) = analysis.generated.parse::<jiff::Timestamp>() {
            suite.extra.insert(
                "timestamp".into(),
                generated.strftime("%Y-%m-%dT%H:%M:%S").to_string().into(),
            );
        }
        let mut properties = vec![
            ("bundle", analysis.bundle.path.clone()),
            ("bundleFormat", analysis.bundle.format.clone()),
            ("schemaVersion", analysis.schema_version.to_string()),
            ("toolVersion", analysis.tool_version.clone()),
            ("status", analysis.status.as_str().to_string()),
        ];
        if let Some(context) = &analysis.bundle.cluster_context {
            properties.push(("clusterContext", context.clone()));
        }
        if let Some(server) = &analysis.bundle.cluster_server {
            properties.push(("clusterServer", server.clone()));
        }
        if analysis.bundle.not_redacted {
            properties.push((
                "notRedacted",
                "true: the bundle itself may hold credentials".into(),
            ));
        }
        for verdict in &analysis.verdicts {
            properties.push((
                "verdict",
                format!(
                    "{} {}: {}",
                    object_label(&verdict.target),
                    verdict.phase,
                    verdict.summary
                ),
            ));
        }
        suite.add_properties(
            properties
                .into_iter()
                .map(|(name, value)| Property::new(name, xml_chars(&value))),
        );
        if !analysis.not_seen.is_empty() {
            let status = non_success(
                NonSuccessKind::Error,
                &format!(
                    "the analysis is incomplete: snapdoc could not see {}",
                    analysis.not_seen.join("; ")
                ),
                "incomplete",
                &analysis.not_seen.join("\n"),
            );
            suite.add_test_case(test_case(
                "snapdoc.collection",
                "analysis is complete",
                status,
            ));
        }
        for case in &self.cases {
            suite.add_test_case(rule_case(case));
        }
        if !analysis.collector_errors.is_empty() || !analysis.unavailable.is_empty() {
            let mut text = String::new();
            for error in &analysis.collector_errors {
                let _ = writeln!(
                    text,
                    "collector {} {}{}: {}",
                    error.source,
                    error.target.as_deref().unwrap_or(""),
                    error
                        .status
                        .map(|s| format!(" (HTTP {s})"))
                        .unwrap_or_default(),
                    error.message
                );
            }
            for missing in &analysis.unavailable {
                let _ = writeln!(text, "not in the bundle: {missing}");
            }
            suite.set_system_err(xml_chars(&text));
        }
        suite
    }
}

fn rule_case(case: &Case<'_>) -> TestCase {
    let classname = format!("snapdoc.{}", case.category);
    let name = format!("{} {}: {}", case.rule_id, case.rule_name, case.title);
    let Some(finding) = case.finding else {
        return test_case(&classname, &name, TestCaseStatus::success());
    };
    let body = finding_text(finding);
    match finding.severity {
        Severity::Fail => {
            let status = non_success(
                NonSuccessKind::Failure,
                &finding.title,
                &finding.rule_id,
                &body,
            );
            test_case(&classname, &name, status)
        }
        Severity::Warn | Severity::Info => {
            let mut test = test_case(&classname, &name, TestCaseStatus::success());
            test.add_property(Property::new("severity", finding.severity.as_str()));
            test.set_system_out(xml_chars(&format!(
                "{}: {}\n{body}",
                finding.severity.as_str().to_uppercase(),
                finding.title
            )));
            test
        }
    }
}

fn finding_text(finding: &Finding) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{}", finding.message);
    let _ = writeln!(text, "\nCause: {}", finding.cause);
    let _ = writeln!(text, "\nFix: {}", finding.fix);
    if !finding.related.is_empty() {
        let related: Vec<String> = finding.related.iter().map(object_label).collect();
        let _ = writeln!(text, "\nConcerns: {}", related.join(", "));
    }
    for doc in &finding.docs {
        let _ = writeln!(text, "Docs: {doc}");
    }
    let _ = writeln!(
        text,
        "\nEvidence ({} of {} hit(s)):",
        finding.evidence.len(),
        finding.count
    );
    for evidence in &finding.evidence {
        let view: EvidenceView = evidence_view(evidence);
        let time = view.time.map(|t| format!(" at {t}")).unwrap_or_default();
        let _ = writeln!(text, "- {}{time}", view.location);
        if let Some(excerpt) = view.excerpt {
            let _ = writeln!(text, "    {excerpt}");
        }
    }
    text
}

/// One readiness question as a testcase: `failure` when the answer is bad, `note` as its standard output.
struct ReadinessCase {
    classname: &'static str,
    name: String,
    failure: Option<String>,
    note: Option<String>,
}

struct ReadinessSuite {
    name: String,
    /// The failures' `type`: readiness, or probe.
    kind: &'static str,
    cases: Vec<ReadinessCase>,
}

impl ReadinessSuite {
    fn new(analysis: &Analysis, several: bool) -> Self {
        let readiness = &analysis.readiness;
        let mut cases = vec![ReadinessCase {
            classname: "snapdoc.readiness.restore",
            name: "a backup restores this cluster to a new one".into(),
            failure: readiness
                .newest_restorable
                .is_none()
                .then(|| readiness.summary.clone()),
            note: readiness
                .newest_restorable
                .as_ref()
                .map(|_| readiness.summary.clone()),
        }];
        for backup in &readiness.backups {
            let reasons: Vec<&str> = backup.reasons.iter().map(|r| r.text.as_str()).collect();
            cases.push(ReadinessCase {
                classname: "snapdoc.readiness.backup",
                name: format!("backup {}: {}", backup.name, backup.label),
                failure: None,
                note: (backup.restorable != Restorable::NewCluster || !reasons.is_empty())
                    .then(|| reasons.join("\n")),
            });
        }
        for volume in &readiness.volumes {
            let what = match (&volume.pod, &volume.volume) {
                (Some(pod), Some(name)) => format!("{}/{pod} volume {name}", volume.namespace),
                _ => format!(
                    "{} PVC {}",
                    volume.namespace,
                    volume.claim_name.as_deref().unwrap_or("?")
                ),
            };
            cases.push(ReadinessCase {
                classname: "snapdoc.readiness.volume",
                name: format!("{what} is protected"),
                failure: if !volume.protected {
                    Some(
                        volume
                            .reason
                            .clone()
                            .unwrap_or_else(|| "not protected".into()),
                    )
                } else if volume.in_no_completed_backup {
                    Some(format!(
                        "{}: {}",
                        volume.protection,
                        crate::analyze::readiness::VolumeProtection::IN_NO_COMPLETED_BACKUP
                    ))
                } else {
                    None
                },
                note: (volume.protected && !volume.in_no_completed_backup)
                    .then(|| format!("protected by {}", volume.protection)),
            });
        }
        for schedule in &readiness.schedules {
            let late = schedule.is_overdue()
                || matches!(schedule.state.as_str(), "last-failed" | "invalid");
            cases.push(ReadinessCase {
                classname: "snapdoc.readiness.schedule",
                name: format!("schedule {} is on time", schedule.name),
                failure: late.then(|| format!("{}: {}", schedule.state, schedule.detail)),
                note: (!late).then(|| format!("{}: {}", schedule.state, schedule.detail)),
            });
        }
        for prediction in &readiness.predictions {
            cases.push(ReadinessCase {
                classname: "snapdoc.readiness.prediction",
                name: format!("{} {}", prediction.kind, prediction.subject),
                failure: (prediction.severity == "fail").then(|| prediction.text.clone()),
                note: (prediction.severity != "fail").then(|| {
                    format!(
                        "{}: {}",
                        prediction.severity.to_uppercase(),
                        prediction.text
                    )
                }),
            });
        }
        let name = if several {
            format!("readiness {}", analysis.bundle.path)
        } else {
            "readiness".to_string()
        };
        ReadinessSuite {
            name,
            kind: "readiness",
            cases,
        }
    }

    /// The in-cluster probe (`--probe`): a testcase per location, failing with what the probe reproduced (the
    /// rule ids), or with why it could not run; the probe's checks as its output.
    fn probes(analysis: &Analysis, several: bool) -> Self {
        let cases = analysis
            .probes
            .iter()
            .map(|probe| {
                let reproduced = probe.reproduced();
                let failure = match (&probe.error, &probe.result) {
                    (Some(error), _) => Some(format!("the probe could not run: {error}")),
                    (None, Some(result)) if !result.passed() => Some(if reproduced.is_empty() {
                        "a check failed".to_string()
                    } else {
                        reproduced.join("\n")
                    }),
                    _ => None,
                };
                ReadinessCase {
                    classname: "snapdoc.probe",
                    name: format!(
                        "storage location {} works from the cluster",
                        probe.location()
                    ),
                    failure,
                    note: probe.result.as_ref().map(|r| r.to_terminal()),
                }
            })
            .collect();
        let name = if several {
            format!("probe {}", analysis.bundle.path)
        } else {
            "probe".to_string()
        };
        ReadinessSuite {
            name,
            kind: "probe",
            cases,
        }
    }

    fn build(self) -> TestSuite {
        let mut suite = TestSuite::new(xml_chars(&self.name));
        suite.set_time(Duration::ZERO);
        for case in self.cases {
            let status = match &case.failure {
                Some(failure) => {
                    non_success(NonSuccessKind::Failure, &case.name, self.kind, failure)
                }
                None => TestCaseStatus::success(),
            };
            let mut test = test_case(case.classname, &case.name, status);
            if let Some(note) = &case.note {
                test.set_system_out(xml_chars(note));
            }
            suite.add_test_case(test);
        }
        suite
    }
}
