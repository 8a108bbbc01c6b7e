//! The analysis's conclusion as a whole, decided here once: every report format renders it and every command
//! derives its exit code from it. "Healthy" needs positive evidence; when snapdoc could not see what it needs
//! (Velero's objects refused, Velero's presence unknown, a bundle that fails its own checks), the state is
//! `incomplete` and the exit code says so, whatever the findings that could be read.
use serde::{Deserialize, Serialize};

use super::FailOn;
use super::findings::{Evidence, Finding, Severity, Verdict};

/// The category of the rules that report what the collector could not read (SD860–SD869).
pub(crate) const COLLECTION_CATEGORY: &str = "collection";

/// What the analysis concludes, ordered from the worst news to the best. `Incomplete` is not a kind of
/// healthy: nothing failed that snapdoc could see, but it could not see everything the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A backup or restore failed.
    Failed,
    /// Backups or restores partially failed, none failed outright.
    Partial,
    /// No backup or restore failed, but a rule found a failure (a location unavailable, Velero not ready …).
    Attention,
    /// No failure found, but what the checks need could not all be read.
    Incomplete,
    /// Everything the checks need was read and nothing failed.
    Healthy,
}

impl Status {
    /// The lowercase word the JSON and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Failed => "failed",
            Status::Partial => "partial",
            Status::Attention => "attention",
            Status::Incomplete => "incomplete",
            Status::Healthy => "healthy",
        }
    }

    /// The worst of several analyses' states (`Failed` before `Partial` … before `Healthy`); none: `Incomplete`,
    /// as nothing was seen.
    pub fn worst(states: impl IntoIterator<Item = Status>) -> Status {
        const WORST_FIRST: [Status; 5] = [
            Status::Failed,
            Status::Partial,
            Status::Attention,
            Status::Incomplete,
            Status::Healthy,
        ];
        let rank = |state: Status| WORST_FIRST.iter().position(|s| *s == state).unwrap_or(0);
        states
            .into_iter()
            .min_by_key(|state| rank(*state))
            .unwrap_or(Status::Incomplete)
    }

    /// An analysis.json written before the state existed is read as not known to be complete.
    fn unknown() -> Status {
        Status::Incomplete
    }
}

impl Default for Status {
    fn default() -> Self {
        Status::unknown()
    }
}

/// The state of one analysis, and what could not be seen (each a short phrase: `backups.velero.io`, "whether
/// Velero is installed (…)"). `not_seen` non-empty means the analysis is incomplete whatever its status.
/// `velero_absent`: the cluster proved Velero is not installed, which is never healthy (no backup can run).
pub(crate) fn status(
    findings: &[Finding],
    verdicts: &[Verdict],
    not_seen: &[String],
    velero_absent: bool,
) -> Status {
    if !verdicts.is_empty() {
        return if verdicts.iter().all(|v| v.phase == "PartiallyFailed") {
            Status::Partial
        } else {
            Status::Failed
        };
    }
    if velero_absent || findings.iter().any(|f| f.severity == Severity::Fail) {
        return Status::Attention;
    }
    if not_seen.is_empty() {
        Status::Healthy
    } else {
        Status::Incomplete
    }
}

/// What the collection findings at `severity` say could not be read: the objects their evidence names. At
/// warn these leave the analysis incomplete; at info (credential key names, download requests) they are said
/// but do not.
pub(crate) fn not_read(findings: &[Finding], severity: Severity) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for finding in findings
        .iter()
        .filter(|f| f.category == COLLECTION_CATEGORY && f.severity == severity)
    {
        for evidence in &finding.evidence {
            if let Evidence::Object { object, .. } = evidence
                && !names.contains(&object.name)
            {
                names.push(object.name.clone());
            }
        }
    }
    names
}

/// How a command ends, one code per meaning (README "Exit codes", `snapdoc --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the analysis is complete and nothing reaches `--fail-on`.
    Clean,
    /// 1: findings at or above `--fail-on`.
    Findings,
    /// 2: snapdoc could not see: the analysis is incomplete and nothing it could read reaches `--fail-on`.
    Incomplete,
    /// 2: snapdoc could not run (no bundle, cluster unreachable, bad rules, bad flag value).
    Error,
    /// 130 / 143 (128 + the signal, as shells report it): stopped by SIGINT (Ctrl-C) or SIGTERM (a CronJob's
    /// deadline, `kubectl delete pod`) before it finished; nothing half-written is left.
    Interrupted {
        /// The signal's number (2 or 15).
        signal: u8,
    },
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Clean => 0,
            Exit::Findings => 1,
            Exit::Incomplete | Exit::Error => 2,
            Exit::Interrupted { signal } => 128 + signal,
        }
    }

    /// The exit of one analysis: findings at or above `fail_on` first (what could be read is wrong), then an
    /// incomplete analysis (2 even under `--fail-on never`: "could not see" is never reported as health).
    pub fn of(findings: &[Finding], not_seen: &[String], fail_on: FailOn) -> Exit {
        if fails(findings, fail_on) {
            Exit::Findings
        } else if !not_seen.is_empty() {
            Exit::Incomplete
        } else {
            Exit::Clean
        }
    }

    /// The exit of a whole analysis: as [`Exit::of`], and a cluster that proves Velero is not installed
    /// (status attention with no finding at `--fail-on`) fails like a finding: no backup can run there, so a
    /// scheduled `run` must not report it green forever. `--fail-on never` keeps 0 for it.
    pub fn of_analysis(analysis: &crate::analyze::Analysis, fail_on: FailOn) -> Exit {
        match Exit::of(&analysis.findings, &analysis.not_seen, fail_on) {
            Exit::Clean if analysis.status == Status::Attention && fail_on != FailOn::Never => {
                Exit::Findings
            }
            exit => exit,
        }
    }

    /// Several outcomes as one: the worst (an error, then findings, then incomplete).
    pub fn worst(exits: impl IntoIterator<Item = Exit>) -> Exit {
        let rank = |exit: &Exit| match exit {
            Exit::Clean => 0,
            Exit::Incomplete => 1,
            Exit::Findings => 2,
            Exit::Error => 3,
            Exit::Interrupted { .. } => 4,
        };
        exits.into_iter().max_by_key(rank).unwrap_or(Exit::Clean)
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// Whether findings reach the `--fail-on` threshold.
pub fn fails(findings: &[Finding], fail_on: FailOn) -> bool {
    let threshold = match fail_on {
        FailOn::Never => return false,
        FailOn::Warn => Severity::Warn,
        FailOn::Fail => Severity::Fail,
    };
    findings.iter().any(|f| f.severity >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::findings::ObjectRef;

    fn finding(severity: Severity, category: &str, object: &str) -> Finding {
        Finding {
            rule_id: "SD000".into(),
            rule_name: "test".into(),
            match_kind: "object".into(),
            severity,
            role: Default::default(),
            category: category.into(),
            title: "t".into(),
            message: "m".into(),
            cause: "c".into(),
            fix: "f".into(),
            docs: vec![],
            evidence: vec![Evidence::Object {
                object: ObjectRef {
                    kind: "facts.collection".into(),
                    namespace: None,
                    name: object.into(),
                },
                path: None,
                value: None,
            }],
            count: 1,
            first_seen: None,
            last_seen: None,
            related: vec![],
            targets: vec![],
        }
    }

    fn verdict(phase: &str) -> Verdict {
        Verdict {
            target: ObjectRef {
                kind: "backups.velero.io".into(),
                namespace: Some("velero".into()),
                name: "b".into(),
            },
            phase: phase.into(),
            summary: "s".into(),
            finding_ids: vec![],
            fix: None,
            lost: Default::default(),
            missing: vec![],
        }
    }

    #[test]
    fn healthy_needs_everything_seen() {
        let seen_nothing = vec!["backups.velero.io".to_string()];
        assert_eq!(status(&[], &[], &[], false), Status::Healthy);
        assert_eq!(status(&[], &[], &[], true), Status::Attention, "no Velero");
        assert_eq!(status(&[], &[], &seen_nothing, false), Status::Incomplete);
        let warn = finding(Severity::Warn, "storage", "x");
        assert_eq!(
            status(&[warn], &[], &seen_nothing, false),
            Status::Incomplete
        );
        let fail = finding(Severity::Fail, "storage", "x");
        assert_eq!(
            status(&[fail], &[], &seen_nothing, false),
            Status::Attention
        );
        assert_eq!(
            status(&[], &[verdict("PartiallyFailed")], &[], false),
            Status::Partial
        );
        assert_eq!(
            status(
                &[],
                &[verdict("PartiallyFailed"), verdict("Failed")],
                &[],
                false
            ),
            Status::Failed
        );
    }

    #[test]
    fn an_incomplete_analysis_never_exits_zero() {
        let not_seen = vec!["backups.velero.io".to_string()];
        for fail_on in [FailOn::Warn, FailOn::Fail, FailOn::Never] {
            assert_eq!(Exit::of(&[], &not_seen, fail_on), Exit::Incomplete);
            assert_eq!(Exit::of(&[], &[], fail_on), Exit::Clean);
        }
        let fail = finding(Severity::Fail, "storage", "x");
        assert_eq!(
            Exit::of(std::slice::from_ref(&fail), &not_seen, FailOn::Fail),
            Exit::Findings
        );
        assert_eq!(
            Exit::of(&[fail], &not_seen, FailOn::Never),
            Exit::Incomplete
        );
        assert_eq!(Exit::Incomplete.code(), 2);
        assert_eq!(
            Exit::worst([Exit::Clean, Exit::Incomplete, Exit::Findings]),
            Exit::Findings
        );
        assert_eq!(Exit::worst([Exit::Findings, Exit::Error]), Exit::Error);
    }

    #[test]
    fn collection_findings_name_what_was_not_read() {
        let findings = [
            finding(Severity::Warn, COLLECTION_CATEGORY, "backups.velero.io"),
            finding(Severity::Warn, COLLECTION_CATEGORY, "backups.velero.io"),
            finding(
                Severity::Info,
                COLLECTION_CATEGORY,
                "secrets/cloud-credentials",
            ),
            finding(Severity::Warn, "storage", "default"),
        ];
        assert_eq!(not_read(&findings, Severity::Warn), ["backups.velero.io"]);
        assert_eq!(
            not_read(&findings, Severity::Info),
            ["secrets/cloud-credentials"]
        );
    }
}
