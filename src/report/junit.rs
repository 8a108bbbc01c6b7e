//! JUnit XML: one `<testsuite name="snapdoc">` per bundle, one `<testcase>` per rule that ran (findings and
//! checks passed), sorted by rule id.
//!
//! A `fail` finding is a `<failure>` (message = the finding's title, body = its message, cause, fix and
//! evidence): every CI system counts and lists those. Readiness adds `<testsuite name="readiness">` per bundle
//! (when the bundle tells it): a backup restorable to a new cluster, every volume protected, every schedule on
//! time, each a testcase failing when it does not hold, and every `fail` prediction a failure. A `warn` or `info` finding must not fail the build, so
//! its testcase passes and carries the text in `<system-out>` plus a `severity` property: Jenkins, GitLab and
//! Azure DevOps show a test's standard output on its page, while `<skipped>` (the other common choice) would
//! misreport a rule that did run as not run. Collector errors go to the suite's `<system-err>`. An incomplete
//! analysis (snapdoc could not see what the rules need) is one `<error>` testcase, `analysis is complete`, so a
//! CI system never counts "could not see" as passing.
use std::fmt::Write as _;

use crate::analyze::Analysis;
use crate::analyze::findings::{Finding, Severity};

use super::escape::xml;
use super::view::{EvidenceView, evidence_view, object_label};
use crate::analyze::readiness::Restorable;

pub fn render(analyses: &[Analysis]) -> String {
    let suites: Vec<Suite> = analyses
        .iter()
        .map(|analysis| Suite::new(analysis, analyses.len() > 1))
        .collect();
    let readiness: Vec<ReadinessSuite> = analyses
        .iter()
        .filter(|a| a.readiness.known)
        .map(|analysis| ReadinessSuite::new(analysis, analyses.len() > 1))
        .collect();
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum::<usize>()
        + readiness.iter().map(|s| s.cases.len()).sum::<usize>();
    let failures: usize = suites.iter().map(Suite::failures).sum::<usize>()
        + readiness
            .iter()
            .map(ReadinessSuite::failures)
            .sum::<usize>();
    let errors: usize = suites.iter().map(Suite::errors).sum();
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"snapdoc\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"0\">",
        tests + errors
    );
    for suite in &suites {
        suite.write(&mut out);
    }
    for suite in &readiness {
        suite.write(&mut out);
    }
    out.push_str("</testsuites>\n");
    out
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

    fn failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.finding.is_some_and(|f| f.severity == Severity::Fail))
            .count()
    }

    /// 1 when the analysis is incomplete: the `analysis is complete` testcase errs.
    fn errors(&self) -> usize {
        usize::from(!self.analysis.not_seen.is_empty())
    }

    fn write(&self, out: &mut String) {
        let analysis = self.analysis;
        let timestamp = analysis
            .generated
            .parse::<jiff::Timestamp>()
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default();
        let _ = write!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"0\"",
            xml(&self.name),
            self.cases.len() + self.errors(),
            self.failures(),
            self.errors()
        );
        if !timestamp.is_empty() {
            let _ = write!(out, " timestamp=\"{timestamp}\"");
        }
        out.push_str(">\n    <properties>\n");
        let mut properties = vec![
            ("bundle", analysis.bundle.path.clone()),
            ("bundleFormat", analysis.bundle.format.clone()),
            ("schemaVersion", analysis.schema_version.to_string()),
            ("toolVersion", analysis.tool_version.clone()),
            ("status", analysis.status.as_str().to_string()),
        ];
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
        for (name, value) in properties {
            let _ = writeln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                xml(&value)
            );
        }
        out.push_str("    </properties>\n");
        if !analysis.not_seen.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"snapdoc.collection\" name=\"analysis is complete\">\n      \
                 <error message=\"the analysis is incomplete: snapdoc could not see {}\" type=\"incomplete\">{}</error>\n    \
                 </testcase>",
                xml(&analysis.not_seen.join("; ")),
                xml(&analysis.not_seen.join("\n"))
            );
        }
        for case in &self.cases {
            write_case(out, case);
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
            let _ = writeln!(out, "    <system-err>{}</system-err>", xml(&text));
        }
        out.push_str("  </testsuite>\n");
    }
}

fn write_case(out: &mut String, case: &Case<'_>) {
    let _ = write!(
        out,
        "    <testcase classname=\"snapdoc.{}\" name=\"{}\" time=\"0\"",
        xml(case.category),
        xml(&format!(
            "{} {}: {}",
            case.rule_id, case.rule_name, case.title
        ))
    );
    let Some(finding) = case.finding else {
        out.push_str("/>\n");
        return;
    };
    out.push_str(">\n");
    let body = finding_text(finding);
    match finding.severity {
        Severity::Fail => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                xml(&finding.title),
                xml(&finding.rule_id),
                xml(&body)
            );
        }
        Severity::Warn | Severity::Info => {
            let _ = writeln!(
                out,
                "      <properties>\n        <property name=\"severity\" value=\"{}\"/>\n      </properties>",
                finding.severity.as_str()
            );
            let _ = writeln!(
                out,
                "      <system-out>{}: {}\n{}</system-out>",
                finding.severity.as_str().to_uppercase(),
                xml(&finding.title),
                xml(&body)
            );
        }
    }
    out.push_str("    </testcase>\n");
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
                failure: (!volume.protected).then(|| {
                    volume
                        .reason
                        .clone()
                        .unwrap_or_else(|| "not protected".into())
                }),
                note: volume
                    .protected
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
        ReadinessSuite { name, cases }
    }

    fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"0\">",
            xml(&self.name),
            self.cases.len(),
            self.failures()
        );
        for case in &self.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">",
                case.classname,
                xml(&case.name)
            );
            if let Some(failure) = &case.failure {
                let _ = write!(
                    out,
                    "\n      <failure message=\"{}\" type=\"readiness\">{}</failure>",
                    xml(&case.name),
                    xml(failure)
                );
            }
            if let Some(note) = &case.note {
                let _ = write!(out, "\n      <system-out>{}</system-out>", xml(note));
            }
            out.push_str("\n    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
}
