//! Verdicts: "backup X failed because …", from the findings on it, most specific first.
use std::cmp::Ordering;

use super::analysis::BackupSummary;
use super::environment::is_failed;
use super::findings::{Finding, ObjectRef, Verdict};

/// How many failed backups / restores get a verdict: the most recent ones matter, older ones repeat them.
pub const MAX_VERDICTS: usize = 10;

/// The Kubernetes resource a summary's kind names.
pub fn resource_of(summary: &BackupSummary) -> &'static str {
    match summary.kind.as_str() {
        "restore" => "restores.velero.io",
        _ => "backups.velero.io",
    }
}

/// The object a backup / restore summary stands for.
pub fn object_ref(summary: &BackupSummary) -> ObjectRef {
    ObjectRef {
        kind: resource_of(summary).to_string(),
        namespace: summary.namespace.clone(),
        name: summary.name.clone(),
    }
}

/// One verdict per failed, partially failed or invalid backup / restore (the `MAX_VERDICTS` most recent),
/// newest first. `backups` is newest first, as [`super::facts::BundleFacts::backups`] is.
pub fn verdicts(findings: &[Finding], backups: &[BackupSummary]) -> Vec<Verdict> {
    backups
        .iter()
        .filter(|b| is_failed(b.phase.as_deref()))
        .take(MAX_VERDICTS)
        .map(|summary| verdict(findings, summary))
        .collect()
}

fn verdict(findings: &[Finding], summary: &BackupSummary) -> Verdict {
    let target = object_ref(summary);
    let mut related: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.related.iter().any(|r| concerns(r, &target)))
        .collect();
    related.sort_by(|a, b| specificity(a, b));
    let phase = summary.phase.clone().unwrap_or_default();
    match related.first() {
        Some(top) => Verdict {
            summary: top.message.clone(),
            fix: Some(top.fix.clone()).filter(|f| !f.trim().is_empty()),
            finding_ids: related.iter().map(|f| f.rule_id.clone()).collect(),
            target,
            phase,
        },
        None => Verdict {
            summary: own_reason(summary),
            fix: None,
            finding_ids: Vec::new(),
            target,
            phase,
        },
    }
}

/// Whether a finding's related object is the target. Rules may name the kind loosely (`Backup`, `backup`,
/// `backups`) and leave the namespace out; the name must match.
fn concerns(related: &ObjectRef, target: &ObjectRef) -> bool {
    let kind_of = |kind: &str| -> String {
        let plural = kind.split('.').next().unwrap_or(kind).to_ascii_lowercase();
        plural.strip_suffix('s').unwrap_or(&plural).to_string()
    };
    related.name == target.name
        && kind_of(&related.kind) == kind_of(&target.kind)
        && match (&related.namespace, &target.namespace) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// Most specific first: severity, then a log signature over an object condition over a version table,
/// then the finding seen most often; the rule id keeps the order stable.
fn specificity(a: &Finding, b: &Finding) -> Ordering {
    let kind_rank = |f: &Finding| match f.match_kind.as_str() {
        "log" => 0,
        "object" => 1,
        "compat" => 2,
        _ => 3,
    };
    b.severity
        .cmp(&a.severity)
        .then_with(|| kind_rank(a).cmp(&kind_rank(b)))
        .then_with(|| b.count.cmp(&a.count))
        .then_with(|| a.rule_id.cmp(&b.rule_id))
}

/// The object's own account when no finding concerns it.
fn own_reason(summary: &BackupSummary) -> String {
    let what = if summary.kind == "restore" {
        "Restore"
    } else {
        "Backup"
    };
    let name = &summary.name;
    let reason = summary
        .failure_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let log_hint = if summary.log_available {
        "its log is in the bundle"
    } else {
        "its log is not in the bundle"
    };
    match (summary.phase.as_deref(), reason) {
        (Some("FailedValidation"), Some(reason)) => {
            format!("{what} {name} failed validation: {}", sentence(reason))
        }
        (Some("FailedValidation"), None) => {
            format!("{what} {name} failed validation; Velero recorded no validation errors.")
        }
        (Some("PartiallyFailed"), reason) => {
            let errors = summary.errors.unwrap_or(0);
            let mut text = format!(
                "{what} {name} is PartiallyFailed with {errors} error{}",
                if errors == 1 { "" } else { "s" }
            );
            if let Some(warnings) = summary.warnings.filter(|w| *w > 0) {
                text.push_str(&format!(
                    " and {warnings} warning{}",
                    if warnings == 1 { "" } else { "s" }
                ));
            }
            match reason {
                Some(reason) => text.push_str(&format!(": {}", sentence(reason))),
                None => text.push_str(&format!("; no rule matched them ({log_hint}).")),
            }
            text
        }
        (_, Some(reason)) => format!("{what} {name} failed: {}", sentence(reason)),
        (_, None) => format!(
            "{what} {name} failed and Velero recorded no reason; no rule matched ({log_hint})."
        ),
    }
}

fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}
