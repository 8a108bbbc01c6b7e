//! The data the Handlebars templates see: the analysis as serialized (`analysis`, for custom templates that
//! want everything) plus what a reader needs arranged for reading — verdict wording, findings grouped by
//! severity, evidence with a display location, labels for object kinds. Formatting of times and durations is
//! left to template helpers so a custom template can choose its own.
//!
//! Shape (camelCase keys): `{toolVersion, multiple, reports: [report…]}`; a report is
//! `{id, title, bundle, generated, status, headline, detail, counts, verdicts, severityGroups, findings,
//! environment, backups, readiness, volumesNotBackedUp, timelines, collectorErrors, unavailable, checksPassed, probes,
//! analysis}`.
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::analyze::analysis::{Analysis, BackupSummary, ComponentInfo, Timeline};
use crate::analyze::findings::{
    Evidence, Finding, MatchSpan, ObjectRef, Severity, Verdict, window,
};
use crate::analyze::status::{Status, not_read};
use crate::analyze::timeline::is_alarming;

use super::ReportError;
use super::readiness_view::{ReadinessView, readiness_view};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Document {
    pub tool_version: &'static str,
    pub multiple: bool,
    pub reports: Vec<ReportView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReportView {
    /// Prefix of every anchor of this report, so several reports in one page do not collide.
    pub id: String,
    pub title: String,
    pub bundle: Value,
    pub generated: String,
    /// failed (a backup or restore failed) | partial (only partial failures) | attention (no verdict, but fail
    /// findings) | incomplete (no verdict, no fail finding, but what the checks need could not all be read) |
    /// healthy
    pub status: &'static str,
    pub(crate) headline: String,
    pub detail: String,
    pub counts: Counts,
    pub verdicts: Vec<VerdictView>,
    pub(crate) severity_groups: Vec<SeverityGroup>,
    pub findings: Vec<FindingView>,
    pub environment: EnvironmentView,
    pub backups: Vec<BackupView>,
    /// Can this cluster be restored, what is not protected, what will fail next (report/readiness_view.rs).
    pub readiness: ReadinessView,
    pub volumes_not_backed_up: Value,
    pub timelines: Vec<TimelineView>,
    pub collector_errors: Value,
    pub unavailable: Vec<String>,
    pub checks_passed: Value,
    /// The in-cluster probe of each storage location (`--probe`); empty when not asked.
    pub probes: Vec<ProbeView>,
    pub analysis: Value,
    /// What the Markdown report folded to fit a ticket (report/fit.rs); nothing in the HTML.
    pub folded: Folded,
}

/// Notes of what a section left out and where it is; `None` when nothing was left out.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Folded {
    /// Where the full text is, said once at the top when anything was folded.
    pub(crate) full_text: Option<String>,
    pub backups: Option<String>,
    pub restorable: Option<String>,
    pub volumes: Option<String>,
    pub(crate) not_backed_up: Option<String>,
    pub timelines: Option<String>,
    pub verdicts: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Counts {
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
    pub findings: usize,
    pub passed: usize,
    pub rules: usize,
    pub backups: usize,
    pub restores: usize,
    pub failed: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerdictView {
    pub(crate) kind_label: String,
    pub target: String,
    pub phase: String,
    /// fail | warn: Failed and anything unknown is a failure; PartiallyFailed a warning.
    pub(crate) tone: &'static str,
    pub summary: String,
    pub fix: Option<String>,
    pub findings: Vec<FindingLink>,
    /// Namespace/name of the other backups (restores) with the same phase, cause and fix, shown as one.
    pub others: Vec<String>,
    /// What each verdict of the group lost, one line per namespace list, volume or item error
    /// ([`lost_lines`]); prefixed with the backup's name when the group names several.
    pub lost: Vec<String>,
    /// What snapdoc would need to tell the cause, when no finding does; prefixed as `lost`.
    pub missing: Vec<String>,
    /// Names of `others` and lines of `lost` left out of the Markdown (report/fit.rs).
    pub folded: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FindingLink {
    pub rule_id: String,
    pub anchor: String,
    pub title: String,
    pub severity: Option<Severity>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SeverityGroup {
    pub severity: Severity,
    pub heading: &'static str,
    pub findings: Vec<FindingView>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct FindingView {
    pub anchor: String,
    pub rule_id: String,
    pub rule_name: String,
    pub match_kind: String,
    pub severity: Severity,
    pub category: String,
    pub title: String,
    pub message: String,
    pub cause: String,
    pub fix: String,
    pub docs: Vec<String>,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub related: Vec<String>,
    pub evidence: Vec<EvidenceView>,
    /// Hits not shown as evidence (count minus the examples kept).
    pub more: u64,
    /// What the finding says about each backup, restore or storage location, when it concerns more than one
    /// (with one, `message` already says it).
    pub(crate) per_target: Vec<TargetView>,
    /// Objects of `related` / `per_target` left out of the Markdown (report/fit.rs).
    pub folded: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct TargetView {
    /// `Backup velero/name`, as `related` is shown.
    pub target: String,
    pub message: String,
    pub count: u64,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct EvidenceView {
    /// log | object | versions
    pub kind: &'static str,
    /// `file:line`, `Kind namespace/name`, or the two components compared.
    pub location: String,
    pub time: Option<String>,
    /// The log line, `path = value`, or the supported range: shown verbatim (monospace). A log line whose match
    /// is known: the window around it (`before` + `matched` + `after`).
    pub excerpt: Option<String>,
    /// A log line's excerpt cut around the rule's match, in three parts, for highlighting the match: `…` starts
    /// `before` / ends `after` where the line was cut. Null when the match is not known.
    pub before: Option<String>,
    pub matched: Option<String>,
    pub after: Option<String>,
    /// The whole excerpt and the match in it, for a narrower window (report/fit.rs, the terminal).
    #[serde(skip)]
    pub full: Option<(String, MatchSpan)>,
}

impl EvidenceView {
    /// Cuts the excerpt to `max` characters around its match (when the match is known).
    pub(super) fn narrow(&mut self, max: usize) -> bool {
        let Some((text, span)) = &self.full else {
            return false;
        };
        let cut = window(text, *span, max);
        self.excerpt = Some(format!("{}{}{}", cut.before, cut.matched, cut.after));
        self.before = Some(cut.before);
        self.matched = Some(cut.matched);
        self.after = Some(cut.after);
        true
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EnvironmentView {
    pub kubernetes_version: Option<String>,
    pub install_kind: Option<String>,
    pub components: Vec<ComponentRow>,
    pub nodes: Value,
    pub storage_locations: Value,
    pub known: bool,
    pub uploaders: Vec<String>,
    pub server_uploader_type: Option<String>,
    pub settings: Vec<crate::analyze::ServerSetting>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ComponentRow {
    pub role: String,
    pub name: String,
    /// The name says more than the role (`velero-plugin-for-aws` under "Velero plugin", not `velero` under "Velero").
    pub(crate) show_name: bool,
    pub version: Option<String>,
    pub image: Option<String>,
    pub namespace: Option<String>,
    pub status: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BackupView {
    pub(crate) kind_label: &'static str,
    pub name: String,
    pub namespace: Option<Arc<str>>,
    pub phase: Option<Arc<str>>,
    /// ok | fail | warn | info | none
    pub(crate) tone: &'static str,
    pub started: Option<String>,
    pub completed: Option<String>,
    pub duration_seconds: Option<i64>,
    pub errors: Option<i64>,
    pub warnings: Option<i64>,
    pub storage_location: Option<Arc<str>>,
    pub backup_name: Option<String>,
    pub schedule: Option<Arc<str>>,
    pub(crate) kots_label: Option<&'static str>,
    pub failure_reason: Option<String>,
    pub log_available: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TimelineView {
    pub target: String,
    pub anchor: String,
    pub entries: Vec<TimelineEntryView>,
    /// Entries left out of the Markdown (report/fit.rs).
    pub folded: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TimelineEntryView {
    pub time: Option<String>,
    pub source: String,
    pub text: String,
    pub location: String,
    /// The entry reads as an error (error level, a failure, a kill): marked so the eye finds the turn.
    pub(crate) alarming: bool,
}

pub(super) fn document(analyses: &[Analysis]) -> Result<Document, ReportError> {
    let multiple = analyses.len() > 1;
    let reports = analyses
        .iter()
        .enumerate()
        .map(|(index, analysis)| report_view(analysis, if multiple { index + 1 } else { 0 }))
        .collect::<Result<_, _>>()?;
    Ok(Document {
        tool_version: env!("CARGO_PKG_VERSION"),
        multiple,
        reports,
    })
}

fn report_view(analysis: &Analysis, number: usize) -> Result<ReportView, ReportError> {
    let id = if number == 0 {
        "r".to_string()
    } else {
        format!("r{number}")
    };
    let findings: Vec<FindingView> = analysis
        .findings
        .iter()
        .map(|finding| finding_view(&id, finding))
        .collect();
    let counts = counts_of(analysis);
    let StatusWording {
        status,
        headline,
        detail,
    } = status_wording(analysis, &counts);
    let severity_groups = [Severity::Fail, Severity::Warn, Severity::Info]
        .into_iter()
        .filter_map(|severity| {
            let group: Vec<FindingView> = findings
                .iter()
                .filter(|f| f.severity == severity)
                .cloned()
                .collect();
            (!group.is_empty()).then_some(SeverityGroup {
                severity,
                heading: match severity {
                    Severity::Fail => "Failures",
                    Severity::Warn => "Warnings",
                    Severity::Info => "Information",
                },
                findings: group,
            })
        })
        .collect();
    // The cluster as its kubeconfig context names it, else the bundle's file name.
    let title = match (
        &analysis.bundle.cluster_context,
        bundle_file_name(&analysis.bundle.path),
    ) {
        (Some(context), _) => format!("snapdoc report: cluster {context}"),
        (None, Some(name)) => format!("snapdoc report: {name}"),
        (None, None) => "snapdoc report".to_string(),
    };
    Ok(ReportView {
        verdicts: same_cause_groups(&analysis.verdicts)
            .iter()
            .map(|group| verdict_view(&id, group, &analysis.findings))
            .collect(),
        severity_groups,
        findings,
        environment: environment_view(analysis)?,
        backups: analysis.backups.iter().map(backup_view).collect(),
        readiness: readiness_view(&analysis.readiness),
        volumes_not_backed_up: to_value(&analysis.volumes_not_backed_up)?,
        timelines: analysis
            .timelines
            .iter()
            .enumerate()
            .map(|(index, timeline)| timeline_view(&id, index, timeline))
            .collect(),
        collector_errors: to_value(
            &analysis
                .collector_errors
                .iter()
                .map(|error| {
                    let mut error = error.clone();
                    error.message = human_byte_counts(&error.message);
                    error
                })
                .collect::<Vec<_>>(),
        )?,
        unavailable: analysis
            .unavailable
            .iter()
            .map(|line| human_byte_counts(line))
            .collect(),
        checks_passed: to_value(&analysis.checks_passed)?,
        probes: analysis.probes.iter().map(probe_view).collect(),
        bundle: to_value(&analysis.bundle)?,
        generated: analysis.generated.clone(),
        analysis: to_value(analysis)?,
        folded: Folded::default(),
        status,
        headline,
        detail,
        counts,
        title,
        id,
    })
}

/// One location's probe as the reports show it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProbeView {
    /// `namespace/name` of the BackupStorageLocation.
    pub location: String,
    /// `s3://bucket/prefix at endpoint`, when the agent ran.
    pub target: Option<String>,
    /// ok (every check passed) | fail (a check failed, or the probe could not run)
    pub(crate) tone: &'static str,
    /// Why the probe could not run.
    pub error: Option<String>,
    /// "the probe reproduced NoSuchBucket on list prefix (SD101)", one per failed check a rule describes.
    pub reproduced: Vec<String>,
    pub checks: Vec<ProbeCheckView>,
    /// Bucket versioning and object lock, clock skew, median round trip, as far as measured.
    pub(crate) measured: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProbeCheckView {
    pub label: &'static str,
    /// passed | failed | skipped
    pub status: &'static str,
    pub detail: String,
    pub rule: Option<String>,
}

pub(super) fn probe_view(probe: &crate::probe::LocationProbe) -> ProbeView {
    use crate::probe::Status as CheckStatus;
    let result = probe.result.as_ref();
    let mut measured = Vec::new();
    if let Some(result) = result {
        if let Some(versioning) = &result.versioning {
            let lock = match result.object_lock {
                Some(true) => ", object lock on",
                Some(false) => ", object lock off",
                None => "",
            };
            measured.push(format!("bucket versioning {versioning}{lock}"));
        }
        if let Some(skew) = result.clock_skew_seconds {
            measured.push(format!("clock skew {skew:+} s"));
        }
        if let Some(ms) = result.round_trip_ms {
            measured.push(format!("round trip {ms} ms (median)"));
        }
        measured.extend(result.local_volume_lines());
    }
    ProbeView {
        location: probe.location(),
        target: result.map(crate::probe::ProbeResult::target),
        tone: if probe.passed() { "ok" } else { "fail" },
        error: probe.error.clone(),
        reproduced: probe.reproduced(),
        checks: result
            .map(|r| {
                r.checks
                    .iter()
                    .map(|c| ProbeCheckView {
                        label: c.step.label(),
                        status: match c.status {
                            CheckStatus::Passed => "passed",
                            CheckStatus::Failed => "failed",
                            CheckStatus::Skipped => "skipped",
                        },
                        detail: c.detail.clone(),
                        rule: c.rule.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        measured,
    }
}

/// The report's verdict line: `status` (see [`ReportView::status`]), a headline and a sentence of detail.
pub(super) struct StatusWording {
    pub status: &'static str,
    pub(crate) headline: String,
    pub detail: String,
}

/// What the headline of one analysis says; the terminal summary says the same.
pub(super) fn status_of(analysis: &Analysis) -> StatusWording {
    status_wording(analysis, &counts_of(analysis))
}

fn counts_of(analysis: &Analysis) -> Counts {
    let count_of = |severity: Severity| {
        analysis
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    Counts {
        fail: count_of(Severity::Fail),
        warn: count_of(Severity::Warn),
        info: count_of(Severity::Info),
        findings: analysis.findings.len(),
        passed: analysis.checks_passed.len(),
        rules: analysis.findings.len() + analysis.checks_passed.len(),
        backups: analysis
            .backups
            .iter()
            .filter(|b| &*b.kind != "restore")
            .count(),
        restores: analysis
            .backups
            .iter()
            .filter(|b| &*b.kind == "restore")
            .count(),
        failed: analysis.verdicts.len(),
    }
}

/// `a, b, c and 4 more`.
pub(super) fn list_of(names: &[String]) -> String {
    const SHOWN: usize = 3;
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n if n <= SHOWN => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

fn status_wording(analysis: &Analysis, counts: &Counts) -> StatusWording {
    let unread = &analysis.not_seen;
    let unread_info = not_read(&analysis.findings, Severity::Info);
    // Said wherever the verdict stands: a failure found does not make the rest of the analysis complete.
    let incomplete_sentence = (!unread.is_empty()).then(|| {
        format!(
            " The analysis is incomplete: snapdoc could not see {}, and the rules that needed it found nothing \
             because they saw nothing (see the collection findings and docs/rbac.md).",
            list_of(unread)
        )
    });
    let incomplete = incomplete_sentence.as_deref().unwrap_or_default();
    // Said after the cause when something failed, and first when nothing did: "Completed" is not "protected".
    let readiness = analysis
        .readiness
        .known
        .then_some(analysis.readiness.summary.as_str());
    let readiness_sentence = readiness
        .map(|summary| format!(" Readiness: {summary}."))
        .unwrap_or_default();
    let status = analysis.status.as_str();
    match analysis.status {
        Status::Failed | Status::Partial => {
            let total = counts.backups + counts.restores;
            let what = match (
                analysis.verdicts.iter().any(|v| is_restore(&v.target)),
                analysis.verdicts.iter().any(|v| !is_restore(&v.target)),
            ) {
                (true, true) => "backups and restores",
                (true, false) => "restores",
                _ => "backups",
            };
            let headline = match &analysis.verdicts[..] {
                [verdict] => format!(
                    "{} {} {}",
                    kind_label(&verdict.target.kind),
                    verdict.target.name,
                    phase_words(&verdict.phase)
                ),
                verdicts => format!("{} {what} failed or partially failed", verdicts.len()),
            };
            let detail = format!(
                "{} of {total} backups and restores in this bundle did not complete. {}{incomplete}{readiness_sentence}",
                analysis.verdicts.len(),
                findings_sentence(counts)
            );
            StatusWording {
                status,
                headline,
                detail,
            }
        }
        Status::Attention => {
            let problems = plural(counts.fail, "problem needs", "problems need");
            // "No backup failed" is only said of backups that could be read.
            let headline = if counts.fail == 0 {
                // Attention without a fail finding: the cluster proved Velero is not installed.
                "Velero is not installed: no backup can run".to_string()
            } else if counts.backups + counts.restores == 0 && !unread.is_empty() {
                format!("No backup or restore could be read, and {problems} attention")
            } else {
                format!("No backup or restore failed, but {problems} attention")
            };
            StatusWording {
                status,
                headline,
                detail: format!(
                    "{}{incomplete}{readiness_sentence}",
                    findings_sentence(counts)
                ),
            }
        }
        Status::Incomplete => {
            // Nothing failed that snapdoc could see, but it could not see everything: not a clean bill of health.
            let backups_sentence = if counts.backups + counts.restores == 0 {
                "No backup or restore could be read.".to_string()
            } else {
                backups_sentence(counts)
            };
            StatusWording {
                status,
                headline: format!(
                    "Incomplete: no failure found, but snapdoc could not see {}",
                    list_of(unread)
                ),
                detail: format!("{backups_sentence}{incomplete} {} rules ran.", counts.rules),
            }
        }
        Status::Healthy => {
            let healthy = if counts.warn > 0 {
                format!(
                    "Healthy: no failure found ({} worth a look)",
                    plural(counts.warn, "warning", "warnings")
                )
            } else {
                "Healthy: no backup failed and no rule found a problem".to_string()
            };
            let backups_sentence = backups_sentence(counts);
            // With nothing failed, the headline also says what a restore could count on: "Completed" is not
            // "protected".
            let (mut headline, mut detail) = match readiness {
                Some(summary) => (
                    format!("Healthy: {summary}"),
                    format!("{healthy}. {backups_sentence} {} rules ran.", counts.rules),
                ),
                None => (
                    healthy,
                    format!("{backups_sentence} {} rules ran.", counts.rules),
                ),
            };
            if !unread_info.is_empty() {
                headline.push_str(&format!("; not read: {}", list_of(&unread_info)));
                detail.push_str(&format!(
                    " Also not read (informational): {}.",
                    list_of(&unread_info)
                ));
            }
            StatusWording {
                status,
                headline,
                detail,
            }
        }
    }
}

fn backups_sentence(counts: &Counts) -> String {
    match counts.backups + counts.restores {
        0 => "The bundle holds no backups or restores.".to_string(),
        n => format!(
            "All {} in this bundle completed.",
            plural(n, "backup or restore", "backups and restores")
        ),
    }
}

fn findings_sentence(counts: &Counts) -> String {
    format!(
        "{} rules ran: {} failure(s), {} warning(s), {} informational, {} found nothing.",
        counts.rules, counts.fail, counts.warn, counts.info, counts.passed
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn phase_words(phase: &str) -> String {
    match phase {
        "Failed" => "failed".to_string(),
        "PartiallyFailed" => "partially failed".to_string(),
        "FailedValidation" => "failed validation".to_string(),
        // A verdict on an unfinished phase is a stuck backup or restore (analyze/verdicts/stuck.rs).
        other => format!("is stuck in phase {other}"),
    }
}

/// Verdicts of one kind and phase whose most specific finding and fix are the same, in first-seen order: four
/// backups killed by the same OOM read as one cause with four names, not the same fix four times.
pub(super) fn same_cause_groups(verdicts: &[Verdict]) -> Vec<Vec<&Verdict>> {
    let mut groups: Vec<Vec<&Verdict>> = Vec::new();
    for verdict in verdicts {
        let same = |other: &Verdict| {
            other.target.kind == verdict.target.kind
                && other.phase == verdict.phase
                && other.finding_ids.first() == verdict.finding_ids.first()
                && other.fix == verdict.fix
        };
        // Without a finding the summary is the object's own reason: nothing says the causes are the same.
        let group = if verdict.finding_ids.is_empty() {
            None
        } else {
            groups.iter_mut().find(|g| same(g[0]))
        };
        match group {
            Some(group) => group.push(verdict),
            None => groups.push(vec![verdict]),
        }
    }
    groups
}

/// What a verdict's backup lost, in lines a reader scans: the namespaces with no restorable copy, each volume
/// (pod, claim, node, why), the item errors and how many more there were.
pub(super) fn lost_lines(verdict: &Verdict) -> Vec<String> {
    let lost = &verdict.lost;
    let mut lines = Vec::new();
    let (held, consequence) = if is_restore(&verdict.target) {
        ("it was to restore", "not restored, or only in part")
    } else {
        ("it was to hold", "nothing can be restored from it")
    };
    match &lost.namespaces[..] {
        [] => {}
        [all] if all == "*" => lines.push(format!("every namespace {held}: {consequence}")),
        namespaces => lines.push(format!(
            "namespace{} {}: {consequence}",
            if namespaces.len() == 1 { "" } else { "s" },
            namespaces.join(", ")
        )),
    }
    for volume in &lost.volumes {
        let pod = match (&volume.namespace, &volume.pod) {
            (Some(namespace), Some(pod)) => format!(" of pod {namespace}/{pod}"),
            (Some(namespace), None) => format!(" in namespace {namespace}"),
            _ => String::new(),
        };
        let mut place = Vec::new();
        if let Some(claim) = &volume.claim {
            place.push(format!("claim {claim}"));
        }
        if let Some(node) = &volume.node {
            place.push(format!("node {node}"));
        }
        place.push(
            match volume.method.as_str() {
                "data-mover" => "data mover",
                "csi-snapshot" => "CSI snapshot",
                "native-snapshot" => "volume snapshot",
                "none" => "not backed up",
                _ => "file-system backup",
            }
            .to_string(),
        );
        if let Some(phase) = volume.phase.as_deref().filter(|p| *p != "Failed") {
            place.push(phase.to_string());
        }
        let name = volume
            .volume
            .as_deref()
            .or(volume.claim.as_deref())
            .unwrap_or("?");
        let reason = volume
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        lines.push(format!("volume {name}{pod} ({}){reason}", place.join(", ")));
    }
    lines.extend(lost.items.iter().map(|item| format!("item error {item}")));
    if lost.item_count > lost.items.len() {
        lines.push(format!(
            "{} more item errors in its results",
            lost.item_count - lost.items.len()
        ));
    }
    lines
}

/// Lines of every verdict of a group, each prefixed with its target's name when the group has several.
fn group_lines(group: &[&Verdict], lines: impl Fn(&Verdict) -> Vec<String>) -> Vec<String> {
    group
        .iter()
        .flat_map(|verdict| {
            let prefix = (group.len() > 1).then(|| object_name(&verdict.target));
            lines(verdict).into_iter().map(move |line| match &prefix {
                Some(name) => format!("{name}: {line}"),
                None => line,
            })
        })
        .collect()
}

/// A group of same-cause verdicts shows its first; the others are named under it.
fn verdict_view(report_id: &str, group: &[&Verdict], findings: &[Finding]) -> VerdictView {
    let verdict = group[0];
    VerdictView {
        lost: group_lines(group, lost_lines),
        missing: group_lines(group, |v| v.missing.clone()),
        others: group[1..].iter().map(|v| object_name(&v.target)).collect(),
        folded: None,
        kind_label: kind_label(&verdict.target.kind),
        target: object_name(&verdict.target),
        phase: verdict.phase.clone(),
        tone: if verdict.phase == "PartiallyFailed" {
            "warn"
        } else {
            "fail"
        },
        summary: verdict.summary.clone(),
        fix: verdict.fix.clone(),
        findings: verdict
            .finding_ids
            .iter()
            .map(|rule_id| {
                let finding = findings.iter().find(|f| &f.rule_id == rule_id);
                FindingLink {
                    rule_id: rule_id.clone(),
                    anchor: finding_anchor(report_id, rule_id),
                    title: finding.map(|f| f.title.clone()).unwrap_or_default(),
                    severity: finding.map(|f| f.severity),
                }
            })
            .collect(),
    }
}

fn finding_view(report_id: &str, finding: &Finding) -> FindingView {
    let evidence: Vec<EvidenceView> = finding.evidence.iter().map(evidence_view).collect();
    FindingView {
        anchor: finding_anchor(report_id, &finding.rule_id),
        rule_id: finding.rule_id.clone(),
        rule_name: finding.rule_name.clone(),
        match_kind: finding.match_kind.clone(),
        severity: finding.severity,
        category: finding.category.clone(),
        title: finding.title.clone(),
        message: finding.message.clone(),
        cause: finding.cause.clone(),
        fix: finding.fix.clone(),
        docs: finding.docs.clone(),
        count: finding.count,
        first_seen: finding.first_seen.clone(),
        last_seen: finding.last_seen.clone(),
        related: finding.related.iter().map(object_label).collect(),
        more: finding.count.saturating_sub(evidence.len() as u64),
        evidence,
        per_target: if finding.targets.len() > 1 {
            finding
                .targets
                .iter()
                .map(|detail| TargetView {
                    target: object_label(&detail.target),
                    message: detail.message.clone(),
                    count: detail.count,
                })
                .collect()
        } else {
            Vec::new()
        },
        folded: None,
    }
}

/// Byte counts of the collection's messages as a person reads them: `kept the newest 52428800 of 98765432 bytes`
/// → `kept the newest 50.0 MiB of 94.2 MiB`, `a 2048 byte file` → `a 2.0 KiB file`. Counts under 1 KiB stay.
pub(super) fn human_byte_counts(text: &str) -> String {
    static COUNTS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(\d{4,})(?: of (\d{4,}))? bytes?\b").expect("a valid pattern")
    });
    COUNTS
        .replace_all(text, |captures: &regex::Captures<'_>| {
            let human = |m: regex::Match<'_>| {
                m.as_str()
                    .parse::<u64>()
                    .map(crate::analyze::timeline::human_bytes)
                    .unwrap_or_else(|_| format!("{} bytes", m.as_str()))
            };
            let first = human(captures.get(1).expect("group 1 always takes part"));
            match captures.get(2) {
                Some(total) => format!("{first} of {}", human(total)),
                None => first,
            }
        })
        .into_owned()
}

/// Characters of a log line shown around its match in the HTML (the JSON keeps the whole excerpt).
const EVIDENCE_WINDOW_CHARS: usize = 480;

/// The display form of one piece of evidence (location, time, excerpt), for the text formats too.
pub(super) fn evidence_view(evidence: &Evidence) -> EvidenceView {
    match evidence {
        Evidence::LogLine {
            file,
            line,
            excerpt,
            time,
            span,
        } => {
            let mut view = EvidenceView {
                kind: "log",
                location: format!("{file}:{line}"),
                time: time.clone(),
                excerpt: Some(excerpt.clone()),
                before: None,
                matched: None,
                after: None,
                full: span.map(|span| (excerpt.clone(), span)),
            };
            view.narrow(EVIDENCE_WINDOW_CHARS);
            view
        }
        Evidence::Object {
            object,
            path,
            value,
        } => EvidenceView {
            kind: "object",
            location: object_label(object),
            time: None,
            excerpt: match (path, value) {
                (Some(path), Some(value)) => Some(format!("{path} = {value}")),
                (Some(path), None) => Some(path.clone()),
                (None, Some(value)) => Some(value.clone()),
                (None, None) => None,
            },
            before: None,
            matched: None,
            after: None,
            full: None,
        },
        Evidence::Versions {
            subject,
            subject_version,
            against,
            against_version,
            supported,
        } => EvidenceView {
            kind: "versions",
            location: format!("{subject} {subject_version} with {against} {against_version}"),
            time: None,
            excerpt: Some(format!(
                "{subject} {subject_version} supports {against} {supported}"
            )),
            before: None,
            matched: None,
            after: None,
            full: None,
        },
    }
}

fn environment_view(analysis: &Analysis) -> Result<EnvironmentView, ReportError> {
    let env = &analysis.environment;
    let mut components = Vec::new();
    if let Some(version) = &env.kubernetes_version {
        components.push(ComponentRow {
            role: "Kubernetes".into(),
            name: "kubernetes".into(),
            show_name: false,
            version: Some(version.clone()),
            image: None,
            namespace: None,
            status: None,
        });
    }
    let mut push = |role: &str, component: &ComponentInfo| {
        components.push(ComponentRow {
            show_name: !(same_letters(role, &component.name)
                || role
                    .split(' ')
                    .next()
                    .is_some_and(|word| same_letters(word, &component.name))),
            role: role.to_string(),
            name: component.name.clone(),
            version: component.version.clone(),
            image: component.image.clone(),
            namespace: component.namespace.clone(),
            status: component.status.clone(),
        })
    };
    if let Some(velero) = &env.velero {
        push("Velero", velero);
    }
    for plugin in &env.plugins {
        push("Velero plugin", plugin);
    }
    if let Some(node_agent) = &env.node_agent {
        push("Node agent", node_agent);
    }
    if let Some(kots) = &env.kots {
        let role = match env.install_kind.as_deref() {
            Some(kind) => format!("KOTS ({})", install_kind_label(kind)),
            None => "KOTS".to_string(),
        };
        push(&role, kots);
    }
    Ok(EnvironmentView {
        known: !components.is_empty() || !env.nodes.is_empty() || !env.storage_locations.is_empty(),
        kubernetes_version: env.kubernetes_version.clone(),
        install_kind: env.install_kind.as_deref().map(install_kind_label),
        components,
        nodes: to_value(&env.nodes)?,
        storage_locations: to_value(&env.storage_locations)?,
        uploaders: env.uploaders.clone(),
        server_uploader_type: env.server_uploader_type.clone(),
        settings: env.settings.clone(),
    })
}

/// Equal ignoring case and punctuation: "Node agent" and "node-agent".
fn same_letters(a: &str, b: &str) -> bool {
    let letters = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    letters(a) == letters(b)
}

fn install_kind_label(kind: &str) -> String {
    match kind {
        "kurl" => "kURL install".to_string(),
        "embedded-cluster" => "Embedded Cluster".to_string(),
        "existing" => "existing cluster".to_string(),
        other => other.to_string(),
    }
}

fn backup_view(backup: &BackupSummary) -> BackupView {
    let tone = match backup.phase.as_deref() {
        Some("Completed") => "ok",
        Some("PartiallyFailed") => "warn",
        Some(phase) if phase.starts_with("Failed") => "fail",
        Some("InProgress" | "New" | "WaitingForPluginOperations" | "Finalizing") => "info",
        Some(_) => "info",
        None => "none",
    };
    BackupView {
        kind_label: if &*backup.kind == "restore" {
            "Restore"
        } else {
            "Backup"
        },
        name: backup.name.clone(),
        namespace: backup.namespace.clone(),
        phase: backup.phase.clone(),
        tone,
        started: backup.started.clone(),
        completed: backup.completed.clone(),
        duration_seconds: backup.duration_seconds,
        errors: backup.errors,
        warnings: backup.warnings,
        storage_location: backup.storage_location.clone(),
        backup_name: backup.backup_name.clone(),
        schedule: backup.schedule.clone(),
        kots_label: match backup.kots_backup_type.as_deref() {
            Some("instance") => Some("Instance (full)"),
            Some("app") => Some("Application (partial)"),
            _ => None,
        },
        failure_reason: backup.failure_reason.clone(),
        log_available: backup.log_available,
    }
}

fn timeline_view(report_id: &str, index: usize, timeline: &Timeline) -> TimelineView {
    TimelineView {
        target: object_label(&timeline.target),
        anchor: format!("{report_id}-timeline-{}", index + 1),
        entries: timeline
            .entries
            .iter()
            .map(|entry| TimelineEntryView {
                time: entry.time.clone(),
                source: entry.source.clone(),
                text: entry.text.clone(),
                location: entry.location.clone(),
                alarming: is_alarming(&entry.text),
            })
            .collect(),
        folded: None,
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, ReportError> {
    serde_json::to_value(value).map_err(ReportError::Json)
}

fn finding_anchor(report_id: &str, rule_id: &str) -> String {
    let safe: String = rule_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{report_id}-{safe}")
}

fn is_restore(object: &ObjectRef) -> bool {
    object.kind.split('.').next() == Some("restores")
}

/// "Backup velero/nightly-1" for an object reference.
pub(super) fn object_label(object: &ObjectRef) -> String {
    format!("{} {}", kind_label(&object.kind), object_name(object))
}

pub(super) fn object_name(object: &ObjectRef) -> String {
    match &object.namespace {
        Some(namespace) => format!("{namespace}/{}", object.name),
        None => object.name.clone(),
    }
}

/// The Kind a reader knows for a resource plural (`backups.velero.io` → `Backup`).
pub(super) fn kind_label(kind: &str) -> String {
    if kind.starts_with("facts.") {
        return kind.to_string();
    }
    let plural = kind.split('.').next().unwrap_or(kind);
    let known = match plural {
        "backups" => "Backup",
        "restores" => "Restore",
        "schedules" => "Schedule",
        "podvolumebackups" => "PodVolumeBackup",
        "podvolumerestores" => "PodVolumeRestore",
        "backupstoragelocations" => "BackupStorageLocation",
        "volumesnapshotlocations" => "VolumeSnapshotLocation",
        "backuprepositories" => "BackupRepository",
        "resticrepositories" => "ResticRepository",
        "datauploads" => "DataUpload",
        "datadownloads" => "DataDownload",
        "downloadrequests" => "DownloadRequest",
        "deletebackuprequests" => "DeleteBackupRequest",
        "serverstatusrequests" => "ServerStatusRequest",
        "pods" => "Pod",
        "deployments" => "Deployment",
        "daemonsets" => "DaemonSet",
        "statefulsets" => "StatefulSet",
        "replicasets" => "ReplicaSet",
        "nodes" => "Node",
        "events" => "Event",
        "namespaces" => "Namespace",
        "persistentvolumeclaims" => "PersistentVolumeClaim",
        "persistentvolumes" => "PersistentVolume",
        "storageclasses" => "StorageClass",
        "volumesnapshots" => "VolumeSnapshot",
        "volumesnapshotcontents" => "VolumeSnapshotContent",
        "volumesnapshotclasses" => "VolumeSnapshotClass",
        "configmaps" => "ConfigMap",
        "secrets" => "Secret",
        _ => return kind.to_string(),
    };
    known.to_string()
}

fn bundle_file_name(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_kubernetes_kinds() {
        assert_eq!(kind_label("backups.velero.io"), "Backup");
        assert_eq!(
            kind_label("backupstoragelocations.velero.io"),
            "BackupStorageLocation"
        );
        assert_eq!(kind_label("pods"), "Pod");
        assert_eq!(kind_label("widgets.example.com"), "widgets.example.com");
        assert_eq!(kind_label("facts.cluster"), "facts.cluster");
    }

    #[test]
    fn anchors_are_plain_identifiers() {
        assert_eq!(finding_anchor("r2", "SD101"), "r2-SD101");
        assert_eq!(finding_anchor("r", "X<y>"), "r-X-y-");
    }
}

#[cfg(test)]
mod byte_count_tests {
    use super::human_byte_counts;

    #[test]
    fn byte_counts_read_as_sizes() {
        assert_eq!(
            human_byte_counts("kept the newest 52428800 of 98765432 bytes (--max-log-bytes)"),
            "kept the newest 50.0 MiB of 94.2 MiB (--max-log-bytes)"
        );
        assert_eq!(
            human_byte_counts("from a 2048 byte file; decompresses to more than 1288490189 bytes"),
            "from a 2.0 KiB file; decompresses to more than 1.2 GiB"
        );
        assert_eq!(
            human_byte_counts("512 bytes, port 6443, 20260101"),
            "512 bytes, port 6443, 20260101"
        );
    }
}
