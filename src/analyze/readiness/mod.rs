//! Disaster-recovery readiness: the questions a KOTS customer and their vendor have before they need a restore.
//! "Completed" is not "protected", so each question is answered from the objects themselves:
//!
//! - `restore`: per backup, RESTORABLE to a new cluster / in place, PARTIAL or NOT, with every reason (KOTS
//!   snapshot rules read from the backups' `kots.io/…` annotations, Velero's pod volume backups, locations and
//!   version cliffs).
//! - `coverage`: every pod volume and PVC × how it is protected × the newest successful backup holding it.
//! - `freshness`: every Velero Schedule (also deleted ones, told from their backups' label) and KOTS's own
//!   scheduled snapshots (KOTS has no Velero Schedule: its cadence is read from the backups it created).
//! - `predictions`: why the next scheduled backup will fail or lose data.
//!
//! Readiness is gathered with the facts (before the rules run) so that rules can read it as `facts.readiness`
//! and `--fail-on` counts what it finds. It never claims what it cannot see: without the backups list `known`
//! is false and every answer is empty, and the summary says so.
mod coverage;
mod freshness;
mod predictions;
mod restore;

use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::analysis::Environment;
use super::facts::KotsSnapshotSettings;
use super::facts::components::Workload;
use super::facts::inventory::Inventory;
use super::versions;

/// What the rules read: `facts.readiness`, one object.
pub(crate) const FACTS_READINESS: &str = "facts.readiness";

/// A backup expiring sooner than this is no safe restore point to count on.
const EXPIRY_WARNING_SECONDS: i64 = 7 * 24 * 3600;

/// Can this cluster be restored, what is not protected, what will fail next.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// Whether the bundle holds the backups list: without it nothing below can be told.
    pub known: bool,
    /// One sentence leading the report when no backup failed ("Newest restorable full backup: …").
    pub summary: String,
    /// The newest backup that restores this cluster to a new one, if any.
    pub newest_restorable: Option<RestorePoint>,
    /// Newest first.
    pub backups: Vec<BackupReadiness>,
    /// Unprotected first.
    pub volumes: Vec<VolumeProtection>,
    /// Each schedule's newest successful backup against its period.
    pub schedules: Vec<ScheduleFreshness>,
    /// Most severe first.
    pub predictions: Vec<Prediction>,
}

/// The newest backup that restores this cluster after its loss (to a new cluster).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RestorePoint {
    pub name: String,
    pub namespace: Option<String>,
    pub(crate) age_seconds: Option<i64>,
    pub(crate) expires_in_seconds: Option<i64>,
}

/// How far a backup restores: ordered worst first, so the least of its reasons decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Restorable {
    /// Restores nothing that can be counted on (it failed, or its location cannot serve it).
    #[default]
    Not,
    /// Restores some namespaces or volumes, not all.
    Partial,
    /// Restores into this cluster only, not after its loss (stored inside the cluster, an application-only snapshot).
    InPlace,
    /// Restores the cluster after its loss, to a new one.
    NewCluster,
}

impl Restorable {
    /// The words the report prints (`RESTORABLE to a new cluster`, `NOT restorable` …).
    pub fn label(self) -> &'static str {
        match self {
            Restorable::Not => "NOT restorable",
            Restorable::Partial => "PARTIAL",
            Restorable::InPlace => "RESTORABLE in place",
            Restorable::NewCluster => "RESTORABLE to a new cluster",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackupReadiness {
    pub name: String,
    pub namespace: Option<Arc<str>>,
    pub phase: Option<Arc<str>>,
    /// kots-instance (full) | kots-app (application only, legacy) | embedded-cluster | velero
    pub kind: Arc<str>,
    pub completed: Option<String>,
    pub restorable: Restorable,
    /// `Restorable::label`, for templates.
    pub label: Arc<str>,
    /// Every reason, the one that limits it most first; notes (`limits: None`) say what a restore needs.
    pub reasons: Vec<Reason>,
    pub(crate) expires_in_seconds: Option<i64>,
    pub(crate) items_backed_up: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// The most this reason lets the backup restore; none for a condition of the restore (same OS, …).
    pub limits: Option<Restorable>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeProtection {
    pub namespace: String,
    /// None for a PVC no pod mounts.
    pub pod: Option<String>,
    pub volume: Option<String>,
    pub claim_name: Option<String>,
    pub volume_type: Option<String>,
    /// fs-backup-opt-in | fs-backup-default | csi-snapshot | data-mover | native-snapshot | none
    pub protection: String,
    pub protected: bool,
    /// The newest Completed backup that holds it, where the bundle tells (a pod volume backup or data upload).
    pub newest_backup: Option<String>,
    /// Set up for backup (file-system backup or data mover), yet no Completed backup holds it, while the bundle
    /// holds that kind of per-volume object and so could have told: protected on paper only.
    #[serde(default)]
    pub in_no_completed_backup: bool,
    pub reason: Option<String>,
}

impl Readiness {
    /// Volumes no backup method covers.
    pub fn unprotected_volumes(&self) -> usize {
        self.volumes.iter().filter(|v| !v.protected).count()
    }

    /// Volumes set up for backup that no Completed backup holds.
    pub fn volumes_in_no_completed_backup(&self) -> usize {
        self.volumes
            .iter()
            .filter(|v| v.in_no_completed_backup)
            .count()
    }
}

impl VolumeProtection {
    /// Why a volume set up for backup is not protected in fact, for the reports.
    pub const IN_NO_COMPLETED_BACKUP: &'static str = "set up for backup, but no Completed backup holds it (its pod volume backups or data \
         uploads failed or belong to backups that did not complete, or none was made)";
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleFreshness {
    pub name: String,
    pub namespace: Option<String>,
    /// velero | kots-instance | kots-app
    pub source: String,
    /// The cron expression, or for KOTS the cadence read from its backups ("every 24 h").
    pub(crate) cadence: Option<String>,
    pub period_seconds: Option<i64>,
    pub paused: bool,
    pub last_backup: Option<String>,
    pub(crate) last_backup_phase: Option<String>,
    pub(crate) last_completed: Option<String>,
    pub(crate) last_completed_age_seconds: Option<i64>,
    pub(crate) last_skipped: Option<String>,
    /// on-time | overdue | paused | never-ran | last-failed | deleted | invalid
    pub state: String,
    pub detail: String,
}

impl ScheduleFreshness {
    /// No Completed backup within twice the period. A schedule whose last backup failed is shown as
    /// `last-failed` (the more specific news), yet it is overdue all the same when nothing completed in time:
    /// the metric and the readiness count must agree with `snapdoc_schedule_overdue`.
    pub(crate) fn is_overdue(&self) -> bool {
        match self.state.as_str() {
            "overdue" | "never-ran" => true,
            "last-failed" => self.period_seconds.is_some_and(|period| {
                self.last_completed_age_seconds
                    .is_none_or(|age| age > 2 * period)
            }),
            _ => false,
        }
    }
}

/// What will fail next, before it does: a location, a component, a trend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prediction {
    /// location-unavailable | node-agent-missing | repository-maintenance | duration-trend | version-cliff
    pub kind: String,
    /// fail: the next backup will fail or lose data; warn: within a few runs or on the next upgrade; info: a cliff
    /// ahead that nothing has crossed yet.
    pub severity: String,
    /// What it concerns: a location, node, repository, schedule or component.
    pub subject: String,
    /// One sentence: what will happen and why.
    pub text: String,
    /// For a duration trend, the runs left before the timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_left: Option<i64>,
}

pub(crate) struct ReadinessInputs<'a> {
    pub(crate) inv: &'a Inventory,
    pub now: Timestamp,
    pub environment: &'a Environment,
    pub velero: Option<&'a Workload<'a>>,
    pub node_agent: Option<&'a Workload<'a>>,
    pub(crate) volume_facts: &'a [Value],
    pub(crate) schedule_facts: &'a [Value],
    /// `facts.cluster`, for what the health facts already derived (nodes without a node agent).
    pub cluster: &'a Value,
    /// KOTS's own snapshot settings (`kots/app-info.json` of a KOTS support bundle); without them the cadence
    /// is told from the backups alone.
    pub(crate) kots_settings: Option<&'a KotsSnapshotSettings>,
}

impl ReadinessInputs<'_> {
    /// The velero server's version core, when known.
    fn velero_version(&self) -> Option<String> {
        self.environment
            .velero
            .as_ref()
            .and_then(|c| c.version.as_deref())
            .and_then(versions::core_version)
    }

    fn velero_at_least(&self, version: &str) -> Option<bool> {
        let current = self.velero_version()?;
        versions::compare(&current, version).map(|o| o.is_ge())
    }

    fn install_kind(&self) -> Option<&str> {
        self.environment.install_kind.as_deref()
    }

    fn age(&self, then: Timestamp) -> i64 {
        self.now.duration_since(then).as_secs()
    }
}

pub(crate) fn assess(input: &ReadinessInputs<'_>) -> Readiness {
    if !input.inv.has_backups_file {
        return Readiness {
            known: false,
            summary: "Readiness unknown: the bundle holds no Backup list (Velero not installed, or its backups could not \
                 be read), so no restore point can be told."
                .to_string(),
            ..Readiness::default()
        };
    }
    let backups = restore::backups(input);
    let volumes = coverage::volumes(input);
    let schedules = freshness::schedules(input);
    let predictions = predictions::predictions(input);
    let newest_restorable = backups
        .iter()
        .find(|b| b.restorable == Restorable::NewCluster)
        .map(|b| RestorePoint {
            name: b.name.clone(),
            namespace: b.namespace.as_deref().map(str::to_string),
            age_seconds: b
                .completed
                .as_deref()
                .and_then(super::facts::json::parse_time)
                .map(|t| input.age(t)),
            expires_in_seconds: b.expires_in_seconds,
        });
    let mut readiness = Readiness {
        known: true,
        summary: String::new(),
        newest_restorable,
        backups,
        volumes,
        schedules,
        predictions,
    };
    readiness.summary = summary(&readiness);
    readiness
}

/// The most restorable backup, newest first among equals; one that has finished before one still new or running
/// (whose "records no phase" says less than why the finished ones fall short).
fn most_restorable(readiness: &Readiness) -> Option<&BackupReadiness> {
    readiness
        .backups
        .iter()
        .rev()
        .max_by_key(|b| (b.restorable, b.completed.is_some()))
}

/// "Newest restorable full backup: NAME, 6 h old, expires in 29 d; 2 volumes unprotected; schedule on time".
fn summary(readiness: &Readiness) -> String {
    let mut parts = Vec::new();
    match &readiness.newest_restorable {
        Some(point) => {
            let mut text = format!("Newest backup restorable to a new cluster: {}", point.name);
            if let Some(age) = point.age_seconds {
                text.push_str(&format!(", {} old", span(age)));
            }
            match point.expires_in_seconds {
                Some(left) if left < 0 => text.push_str(", expired"),
                Some(left) => text.push_str(&format!(", expires in {}", span(left))),
                None => {}
            }
            parts.push(text);
        }
        None => parts.push(match readiness.backups.first() {
            None => "No backup exists to restore from".to_string(),
            Some(best) => {
                let best = most_restorable(readiness).unwrap_or(best);
                let why = best
                    .reasons
                    .iter()
                    .find(|r| r.limits.is_some())
                    .map(|r| r.text.as_str())
                    .unwrap_or("no reason recorded");
                format!(
                    "No backup restores this cluster to a new one (best: {} {}, {why})",
                    best.name,
                    best.restorable.label()
                )
            }
        }),
    }
    let unprotected = readiness.unprotected_volumes();
    let unheld = readiness.volumes_in_no_completed_backup();
    let unheld_text = match unheld {
        1 => "1 volume set up for backup is in no Completed backup".to_string(),
        n => format!("{n} volumes set up for backup are in no Completed backup"),
    };
    parts.push(match (unprotected, unheld) {
        (0, 0) if readiness.volumes.is_empty() => "no volume to protect found".to_string(),
        (0, 0) => "every volume protected".to_string(),
        (0, _) => unheld_text,
        (1, 0) => "1 volume unprotected".to_string(),
        (n, 0) => format!("{n} volumes unprotected"),
        (1, _) => format!("1 volume unprotected, {unheld_text}"),
        (n, _) => format!("{n} volumes unprotected, {unheld_text}"),
    });
    let late: Vec<&ScheduleFreshness> = readiness
        .schedules
        .iter()
        .filter(|s| s.state != "on-time")
        .collect();
    parts.push(match (readiness.schedules.len(), late.as_slice()) {
        (0, _) => "no schedule".to_string(),
        (1, []) => "schedule on time".to_string(),
        (_, []) => "schedules on time".to_string(),
        (_, [one]) => format!("schedule {} {}", one.name, one.state.replace('-', " ")),
        (_, many) => format!("{} schedules not on time", many.len()),
    });
    let next_fails = readiness
        .predictions
        .iter()
        .filter(|p| p.severity == "fail")
        .count();
    if next_fails > 0 {
        parts.push(format!(
            "the next backup or restore will fail or lose data ({})",
            if next_fails == 1 {
                "1 reason".to_string()
            } else {
                format!("{next_fails} reasons")
            }
        ));
    }
    parts.join("; ")
}

/// `6 h`, `29 d`, `45 min`: the unit a person would say.
pub(crate) fn span(seconds: i64) -> String {
    let s = seconds.abs();
    match s {
        0..3600 => format!("{} min", s / 60),
        3600..172_800 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// `facts.readiness`: what rules read.
/// `kots_settings`: an instance series whose configured schedule the bundle carries is judged by SD706 (no full
/// snapshot completed within twice the configured period), so it is not listed again as gone silent.
pub(crate) fn fact(readiness: &Readiness, kots_settings: Option<&KotsSnapshotSettings>) -> Value {
    let full_schedule_known = kots_settings.is_some_and(|k| k.full_schedule.is_some());
    let certificates = |severity: &str| {
        readiness
            .predictions
            .iter()
            .filter(|p| p.kind == "certificate-expiry" && p.severity == severity)
            .map(|p| json!({"location": p.subject, "text": p.text}))
            .collect::<Vec<_>>()
    };
    let count = |r: Restorable| {
        readiness
            .backups
            .iter()
            .filter(|b| b.restorable == r)
            .count()
    };
    json!({
        "known": readiness.known,
        "backupCount": readiness.backups.len(),
        "restorableToNewClusterCount": count(Restorable::NewCluster),
        "restorableInPlaceCount": count(Restorable::InPlace),
        "newestRestorableBackupName": readiness.newest_restorable.as_ref().map(|p| &p.name),
        "newestRestorableAgeSeconds": readiness.newest_restorable.as_ref().and_then(|p| p.age_seconds),
        // Why the most restorable backup is not restorable to a new cluster, for the rules' messages.
        "bestBackupName": most_restorable(readiness).map(|b| &b.name),
        "bestBackupReason": most_restorable(readiness)
            .and_then(|b| b.reasons.iter().find(|r| r.limits.is_some())).map(|r| &r.text),
        "unprotectedVolumeCount": readiness.unprotected_volumes(),
        "volumesInNoCompletedBackupCount": readiness.volumes_in_no_completed_backup(),
        "overdueScheduleCount": readiness.schedules.iter().filter(|s| s.is_overdue()).count(),
        "predictions": readiness.predictions,
        "durationTrends": readiness.predictions.iter().filter(|p| p.kind == "duration-trend")
            .map(|p| json!({"subject": p.subject, "text": p.text, "runsLeft": p.runs_left}))
            .collect::<Vec<_>>(),
        "overdueKotsSchedules": readiness.schedules.iter()
            .filter(|s| s.source.starts_with("kots") && s.is_overdue())
            .filter(|s| !(full_schedule_known && s.source == "kots-instance"))
            .map(|s| json!({"name": s.name, "lastBackup": s.last_backup, "detail": s.detail}))
            .collect::<Vec<_>>(),
        // Storage locations' CA certificates past or near their notAfter (SD838 / SD839).
        "expiredCertificates": certificates("fail"),
        "expiringCertificates": certificates("warn"),
        "summary": readiness.summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_restorable_backup_is_a_finished_one_among_equals() {
        let backup = |name: &str, completed: Option<&str>| BackupReadiness {
            name: name.into(),
            restorable: Restorable::Not,
            completed: completed.map(str::to_string),
            ..BackupReadiness::default()
        };
        // Newest first, as the readiness lists them: the one still New is not the best of equals.
        let readiness = Readiness {
            backups: vec![
                backup("new", None),
                backup("last-night", Some("2026-11-24T02:34:10Z")),
                backup("older", Some("2026-11-23T02:34:10Z")),
            ],
            ..Readiness::default()
        };
        assert_eq!(most_restorable(&readiness).unwrap().name, "last-night");
    }

    #[test]
    fn spans_read_in_the_unit_a_person_says() {
        assert_eq!(span(6 * 3600 + 59), "6 h");
        assert_eq!(span(29 * 86_400 + 3), "29 d");
        assert_eq!(span(45 * 60), "45 min");
        assert_eq!(span(-3 * 86_400), "3 d");
    }

    #[test]
    fn a_schedule_whose_last_backup_failed_is_overdue_when_nothing_completed_in_time() {
        let schedule = |age: Option<i64>| ScheduleFreshness {
            name: "daily".into(),
            namespace: Some("velero".into()),
            source: "velero".into(),
            cadence: Some("0 2 * * *".into()),
            period_seconds: Some(86_400),
            paused: false,
            last_backup: Some("daily-2".into()),
            last_backup_phase: Some("Failed".into()),
            last_completed: None,
            last_completed_age_seconds: age,
            last_skipped: None,
            state: "last-failed".into(),
            detail: String::new(),
        };
        assert!(schedule(Some(3 * 86_400)).is_overdue());
        assert!(schedule(None).is_overdue());
        assert!(
            !schedule(Some(3600)).is_overdue(),
            "failed once, but a backup completed in time"
        );
    }

    #[test]
    fn the_least_restorable_reason_decides() {
        assert!(Restorable::Not < Restorable::Partial);
        assert!(Restorable::Partial < Restorable::InPlace);
        assert!(Restorable::InPlace < Restorable::NewCluster);
    }
}
