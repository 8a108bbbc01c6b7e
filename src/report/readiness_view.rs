//! The readiness section as the templates, the terminal and JUnit read it: every table of
//! [`Readiness`] with a tone per row (ok / info / warn / fail) and the words for it, so each format colours and
//! words a row the same way.
use std::sync::Arc;

use serde::Serialize;

use crate::analyze::readiness::{
    BackupReadiness, Prediction, Readiness, Restorable, ScheduleFreshness, VolumeProtection, span,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadinessView {
    pub known: bool,
    pub summary: String,
    pub backups: Vec<BackupRow>,
    pub volumes: Vec<VolumeRow>,
    pub unprotected: usize,
    pub schedules: Vec<ScheduleRow>,
    pub predictions: Vec<PredictionRow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BackupRow {
    pub name: String,
    pub namespace: Option<Arc<str>>,
    pub(crate) kind_label: &'static str,
    pub phase: Option<Arc<str>>,
    /// ok (new cluster) | info (in place) | warn (partial) | fail (not)
    pub(crate) tone: &'static str,
    pub label: Arc<str>,
    /// What limits it, the most limiting first.
    pub limits: Vec<String>,
    /// Conditions of a restore from it (same OS, install method, expiry).
    pub notes: Vec<String>,
    pub(crate) expires_in: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VolumeRow {
    pub namespace: String,
    pub pod: Option<String>,
    pub volume: Option<String>,
    pub claim_name: Option<String>,
    pub(crate) protection_label: &'static str,
    pub(crate) tone: &'static str,
    pub newest_backup: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ScheduleRow {
    pub name: String,
    pub(crate) source_label: &'static str,
    pub(crate) cadence: Option<String>,
    pub state: String,
    pub(crate) tone: &'static str,
    pub last_backup: Option<String>,
    pub(crate) last_backup_phase: Option<String>,
    pub(crate) last_completed_ago: Option<String>,
    pub(crate) last_skipped: Option<String>,
    pub detail: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PredictionRow {
    pub kind: String,
    /// fail | warn | info, as findings' severities.
    pub severity: String,
    pub subject: String,
    pub text: String,
}

pub(super) fn readiness_view(readiness: &Readiness) -> ReadinessView {
    ReadinessView {
        known: readiness.known,
        summary: readiness.summary.clone(),
        backups: readiness.backups.iter().map(backup_row).collect(),
        unprotected: readiness.unprotected_volumes(),
        volumes: readiness.volumes.iter().map(volume_row).collect(),
        schedules: readiness.schedules.iter().map(schedule_row).collect(),
        predictions: readiness.predictions.iter().map(prediction_row).collect(),
    }
}

pub(super) fn restorable_tone(level: Restorable) -> &'static str {
    match level {
        Restorable::NewCluster => "ok",
        Restorable::InPlace => "info",
        Restorable::Partial => "warn",
        Restorable::Not => "fail",
    }
}

fn backup_row(backup: &BackupReadiness) -> BackupRow {
    let (limits, notes): (Vec<_>, Vec<_>) = backup.reasons.iter().partition(|r| r.limits.is_some());
    BackupRow {
        name: backup.name.clone(),
        namespace: backup.namespace.clone(),
        kind_label: match &*backup.kind {
            "kots-instance" => "KOTS full (instance)",
            "kots-app" => "KOTS application only",
            "embedded-cluster" => "Embedded Cluster DR",
            _ => "Velero",
        },
        phase: backup.phase.clone(),
        tone: restorable_tone(backup.restorable),
        label: backup.label.clone(),
        limits: limits.into_iter().map(|r| r.text.clone()).collect(),
        notes: notes.into_iter().map(|r| r.text.clone()).collect(),
        expires_in: backup.expires_in_seconds.map(|s| {
            if s < 0 {
                format!("expired {} ago", span(s))
            } else {
                span(s)
            }
        }),
    }
}

fn volume_row(volume: &VolumeProtection) -> VolumeRow {
    VolumeRow {
        namespace: volume.namespace.clone(),
        pod: volume.pod.clone(),
        volume: volume.volume.clone(),
        claim_name: volume.claim_name.clone(),
        protection_label: match volume.protection.as_str() {
            "fs-backup-opt-in" => "file-system backup (opt-in)",
            "fs-backup-default" => "file-system backup (by default)",
            "csi-snapshot" => "CSI snapshot",
            "data-mover" => "CSI snapshot + data mover",
            "native-snapshot" => "native snapshot",
            _ => "none",
        },
        tone: match (volume.protected, volume.in_no_completed_backup) {
            (false, _) => "fail",
            (true, true) => "warn",
            (true, false) => "ok",
        },
        newest_backup: volume.newest_backup.clone(),
        reason: volume.reason.clone().or_else(|| {
            volume
                .in_no_completed_backup
                .then(|| VolumeProtection::IN_NO_COMPLETED_BACKUP.to_string())
        }),
    }
}

fn schedule_row(schedule: &ScheduleFreshness) -> ScheduleRow {
    ScheduleRow {
        name: schedule.name.clone(),
        source_label: match schedule.source.as_str() {
            "kots-instance" | "kots-app" => "KOTS",
            _ => "Velero Schedule",
        },
        cadence: schedule.cadence.clone(),
        state: schedule.state.replace('-', " "),
        tone: match schedule.state.as_str() {
            "on-time" => "ok",
            "paused" | "deleted" => "warn",
            _ => "fail",
        },
        last_backup: schedule.last_backup.clone(),
        last_backup_phase: schedule.last_backup_phase.clone(),
        last_completed_ago: schedule.last_completed_age_seconds.map(span),
        last_skipped: schedule.last_skipped.clone(),
        detail: schedule.detail.clone(),
    }
}

fn prediction_row(prediction: &Prediction) -> PredictionRow {
    PredictionRow {
        kind: prediction.kind.clone(),
        severity: prediction.severity.clone(),
        subject: prediction.subject.clone(),
        text: prediction.text.clone(),
    }
}
