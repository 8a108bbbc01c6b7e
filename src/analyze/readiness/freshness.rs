//! Schedule freshness: every Velero Schedule (from `facts.schedules`), schedules deleted while their backups
//! remain (the `velero.io/schedule-name` label names a schedule that is gone), and KOTS's own scheduled
//! snapshots. KOTS schedules snapshots itself (kotsadm's scheduler; its backups carry
//! `kots.io/snapshot-trigger: schedule`, replicatedhq/kots pkg/kotsadmsnapshot/types/types.go
//! `BackupTriggerSchedule`), so its cadence is read from the gaps between the backups it created, or from its
//! settings where the bundle has them ([`super::KotsSnapshotSettings`]).
use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;

use super::restore::kind_of;
use super::{ReadinessInputs, ScheduleFreshness, span};
use crate::analyze::facts::Schedule;
use crate::analyze::facts::backups::{Backup, BackupOrRestore};
use crate::analyze::facts::json::{self, str_at};

const FAILED: [&str; 3] = ["Failed", "PartiallyFailed", "FailedValidation"];

pub(super) fn schedules(input: &ReadinessInputs<'_>) -> Vec<ScheduleFreshness> {
    let mut rows: Vec<ScheduleFreshness> = input
        .schedule_facts
        .iter()
        .filter_map(|fact| velero_schedule(input, fact))
        .collect();
    rows.extend(deleted_schedules(input));
    rows.extend(kots_schedules(input));
    rows
}

fn started(backup: &Backup) -> Option<Timestamp> {
    backup.started_or_created()
}

fn newest<'a>(backups: impl Iterator<Item = &'a Backup>) -> Option<&'a Backup> {
    backups.max_by_key(|b| started(b))
}

fn velero_schedule(input: &ReadinessInputs<'_>, fact: &Value) -> Option<ScheduleFreshness> {
    let name = fact["name"].as_str()?;
    let namespace = fact["namespace"].as_str();
    let object = input
        .inv
        .schedules
        .iter()
        .find(|s| json::name(s) == Some(name) && json::namespace(s) == namespace);
    let last = newest(input.inv.backups_of_schedule(name));
    let last_phase = last.and_then(|b| b.status.phase.as_deref());
    let period = fact["periodSeconds"].as_i64();
    let last_completed_age = fact["lastCompletedAgeSeconds"].as_i64();
    let paused = fact["paused"] == Value::Bool(true);
    let (state, detail) = if let Some(error) = fact["parseError"].as_str() {
        (
            "invalid",
            format!("its cron expression does not parse: {error}"),
        )
    } else if fact["phase"].as_str() == Some("FailedValidation") {
        (
            "invalid",
            "the Schedule FailedValidation: Velero does not run it".to_string(),
        )
    } else if paused {
        (
            "paused",
            "paused (spec.paused): it makes no backup until unpaused".to_string(),
        )
    } else if last.is_none() && fact["overdue"] == Value::Bool(true) {
        ("never-ran", "it has made no backup".to_string())
    } else if let Some(phase) = last_phase.filter(|p| FAILED.contains(p)) {
        ("last-failed", format!("its last backup {phase}"))
    } else if fact["overdue"] == Value::Bool(true) {
        (
            "overdue",
            match (last_completed_age, period) {
                (Some(age), Some(period)) => format!(
                    "last Completed backup {} ago, one expected every {}",
                    span(age),
                    span(period)
                ),
                _ => "no Completed backup within twice its period".to_string(),
            },
        )
    } else {
        ("on-time", "on time".to_string())
    };
    Some(ScheduleFreshness {
        name: name.to_string(),
        namespace: namespace.map(str::to_string),
        source: "velero".into(),
        cadence: fact["schedule"].as_str().map(str::to_string),
        period_seconds: period,
        paused,
        last_backup: last.and_then(|b| b.name.as_deref()).map(str::to_string),
        last_backup_phase: last_phase.map(str::to_string),
        last_completed: fact["lastCompletedBackup"].as_str().map(str::to_string),
        last_completed_age_seconds: last_completed_age,
        last_skipped: object
            .and_then(|s| str_at(s, &["status", "lastSkipped"]))
            .map(str::to_string),
        state: state.into(),
        detail,
    })
}

/// Schedules named by their backups' label that no longer exist: nothing backs this scope up on a schedule now.
fn deleted_schedules(input: &ReadinessInputs<'_>) -> Vec<ScheduleFreshness> {
    let existing: BTreeSet<&str> = input.inv.schedules.iter().filter_map(json::name).collect();
    let mut gone: BTreeMap<&str, Vec<&Backup>> = BTreeMap::new();
    for backup in &input.inv.backups {
        if let Some(schedule) = backup.schedule.as_deref()
            && !existing.contains(schedule)
        {
            gone.entry(schedule).or_default().push(backup);
        }
    }
    gone.into_iter()
        .map(|(name, backups)| {
            let last = newest(backups.iter().copied());
            let last_completed = backups
                .iter()
                .filter(|b| b.is_completed())
                .filter_map(|b| b.status.completed)
                .max();
            ScheduleFreshness {
                name: name.to_string(),
                namespace: last.and_then(|b| b.namespace.as_deref()).map(str::to_string),
                source: "velero".into(),
                cadence: None,
                period_seconds: None,
                paused: false,
                last_backup: last.and_then(|b| b.name.as_deref()).map(str::to_string),
                last_backup_phase: last
                    .and_then(|b| b.status.phase.as_deref())
                    .map(str::to_string),
                last_completed: last_completed.map(|t| t.to_string()),
                last_completed_age_seconds: last_completed.map(|t| input.age(t)),
                last_skipped: None,
                state: "deleted".into(),
                detail: format!(
                    "the Schedule no longer exists; {}{} of its backups remain and no new one will be made",
                    if input.inv.backups_kept_in_part {
                        "at least "
                    } else {
                        ""
                    },
                    backups.len()
                ),
            }
        })
        .collect()
}

/// KOTS's scheduled snapshots, one series for instance snapshots and one per application.
fn kots_schedules(input: &ReadinessInputs<'_>) -> Vec<ScheduleFreshness> {
    let mut series: BTreeMap<String, Vec<&Backup>> = BTreeMap::new();
    for backup in &input.inv.backups {
        if backup.kots_snapshot_trigger() != Some("schedule") {
            continue;
        }
        let key = match kind_of(backup) {
            "kots-instance" | "embedded-cluster" => "kots-instance".to_string(),
            _ => format!(
                "kots-app:{}",
                backup
                    .kots
                    .app_slug
                    .as_deref()
                    .or_else(|| backup
                        .spec
                        .label_selector
                        .as_deref()
                        .and_then(|s| str_at(s, &["matchLabels", "kots.io/app-slug"])))
                    .unwrap_or("app")
            ),
        };
        series.entry(key).or_default().push(backup);
    }
    let settings_period = input
        .kots_settings
        .and_then(|k| k.full_schedule.as_deref())
        .and_then(|s| Schedule::parse(s).ok())
        .and_then(|s| s.period_seconds(input.now));
    series
        .into_iter()
        .map(|(key, mut backups)| {
            backups.sort_by_key(|b| started(b));
            let (source, name) = match key.split_once(':') {
                Some((_, slug)) => ("kots-app", format!("KOTS snapshots of {slug}")),
                None => ("kots-instance", "KOTS instance snapshots".to_string()),
            };
            let observed = median_gap(&backups);
            let period = if source == "kots-instance" {
                settings_period.or(observed)
            } else {
                observed
            };
            kots_row(input, name, source, period, &backups)
        })
        .collect()
}

/// The median gap between consecutive backups of a series: robust to one manual re-run or one missed night.
fn median_gap(backups: &[&Backup]) -> Option<i64> {
    let times: Vec<Timestamp> = backups.iter().filter_map(|b| started(b)).collect();
    let mut gaps: Vec<i64> = times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs())
        .filter(|g| *g > 0)
        .collect();
    gaps.sort_unstable();
    gaps.get(gaps.len() / 2).copied()
}

fn kots_row(
    input: &ReadinessInputs<'_>,
    name: String,
    source: &str,
    period: Option<i64>,
    backups: &[&Backup],
) -> ScheduleFreshness {
    let last = backups.last().copied();
    let last_phase = last.and_then(|b| b.status.phase.as_deref());
    let last_completed = backups
        .iter()
        .filter(|b| b.is_completed())
        .filter_map(|b| b.status.completed)
        .max();
    let since_last = last.and_then(started).map(|t| input.age(t));
    let (state, detail) = match (since_last, period) {
        (Some(since), Some(period)) if since > period.saturating_mul(2) => (
            "overdue",
            format!(
                "gone silent: KOTS made one every {} until {} ago, none since",
                span(period),
                span(since)
            ),
        ),
        _ if last_phase.is_some_and(|p| FAILED.contains(&p)) => (
            "last-failed",
            format!(
                "its last scheduled snapshot {}",
                last_phase.unwrap_or_default()
            ),
        ),
        (_, None) => (
            "on-time",
            "one scheduled snapshot so far: its cadence cannot be told yet".to_string(),
        ),
        _ => ("on-time", "on time".to_string()),
    };
    ScheduleFreshness {
        name,
        namespace: last
            .and_then(|b| b.namespace.as_deref())
            .map(str::to_string),
        source: source.into(),
        cadence: period.map(|p| format!("every {}", span(p))),
        period_seconds: period,
        paused: false,
        last_backup: last.and_then(|b| b.name.as_deref()).map(str::to_string),
        last_backup_phase: last_phase.map(str::to_string),
        last_completed: last_completed.map(|t| t.to_string()),
        last_completed_age_seconds: last_completed.map(|t| input.age(t)),
        last_skipped: None,
        state: state.into(),
        detail,
    }
}
