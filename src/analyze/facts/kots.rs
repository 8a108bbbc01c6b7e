//! `facts.kots`: the snapshot settings of a KOTS installation and whether its license allows snapshots.
//!
//! KOTS schedules its instance (full) and application (partial) snapshots itself (kots
//! `pkg/snapshotscheduler`): there is no Velero Schedule for them, so an overdue KOTS schedule can only be
//! found from these settings and the snapshots it made. The Admin Console's `app-info.json` (kots
//! `pkg/api/reporting/types/types.go` at v1.121.0 `55b35f47`: `snapshot_provider`, `snapshot_full_schedule`,
//! `snapshot_full_ttl`, `snapshot_partial_schedule`, `snapshot_partial_ttl`) and the license
//! (`kots.io/v1beta1` License, `spec.isSnapshotSupported`) arrive in a KOTS support bundle; snapdoc keeps them at
//! `kots/app-info.json` and `kots/license.yaml`.
//!
//! One object when the bundle carries either file, none otherwise (a rule then has nothing to match).
use jiff::Timestamp;
use serde_json::{Value, json};

use super::backups::Backup;
use super::cron::Schedule;
use super::inventory::Inventory;
use crate::bundle::{Bundle, archive, layout};

/// What KOTS was told about snapshots, as the Admin Console reports it. Empty strings (how KOTS writes an
/// unset schedule or TTL) read as `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KotsSnapshotSettings {
    /// `snapshot_provider`: where the snapshots are stored (`aws`, `gcp`, `azure`, `other`, `hostpath`, `nfs` …).
    pub provider: Option<String>,
    /// `snapshot_full_schedule`: the cron of instance (full) snapshots.
    pub full_schedule: Option<String>,
    /// `snapshot_full_ttl`: how long instance snapshots are kept (`720h`).
    pub full_ttl: Option<String>,
    /// `snapshot_partial_schedule`: the cron of application (partial) snapshots.
    pub partial_schedule: Option<String>,
    pub(crate) partial_ttl: Option<String>,
    /// The license's `spec.isSnapshotSupported`; `None` without a license in the bundle.
    pub snapshots_allowed: Option<bool>,
    /// The bundle carried app-info.json (without it, the schedules are unknown rather than off).
    pub(crate) has_app_info: bool,
}

impl KotsSnapshotSettings {
    /// Reads `kots/app-info.json` and `kots/license.yaml`; `None` when the bundle has neither. A file that does
    /// not parse is named in `unreadable`.
    pub fn read(bundle: &mut Bundle, unreadable: &mut Vec<String>) -> Option<KotsSnapshotSettings> {
        let mut settings = KotsSnapshotSettings::default();
        let mut found = false;
        if bundle.has(layout::KOTS_APP_INFO) {
            found = true;
            match bundle.read_json(layout::KOTS_APP_INFO) {
                Ok(Some(info)) => {
                    let text = |key: &str| {
                        info.get(key)
                            .and_then(Value::as_str)
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(str::to_string)
                    };
                    settings.provider = text("snapshot_provider");
                    settings.full_schedule = text("snapshot_full_schedule");
                    settings.full_ttl = text("snapshot_full_ttl");
                    settings.partial_schedule = text("snapshot_partial_schedule");
                    settings.partial_ttl = text("snapshot_partial_ttl");
                    settings.has_app_info = true;
                }
                Ok(None) => {}
                Err(e) => unreadable.push(e.to_string()),
            }
        }
        if bundle.has(layout::KOTS_LICENSE) {
            found = true;
            match license_allows_snapshots(bundle) {
                Ok(allowed) => settings.snapshots_allowed = allowed,
                Err(e) => unreadable.push(e),
            }
        }
        found.then_some(settings)
    }
}

fn license_allows_snapshots(bundle: &mut Bundle) -> Result<Option<bool>, String> {
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut bundle
            .open_entry(layout::KOTS_LICENSE)
            .map_err(|e| e.to_string())?,
        &mut text,
    )
    .map_err(|e| format!("{}: {e}", layout::KOTS_LICENSE))?;
    let documents = archive::parse_yaml_documents(&text)
        .map_err(|e| format!("{}: {e}", layout::KOTS_LICENSE))?;
    // An absent field is false in the License type (a Go bool): snapshots are not licensed.
    Ok(documents
        .iter()
        .find(|d| d["kind"] == "License")
        .map(|license| license.pointer("/spec/isSnapshotSupported") == Some(&Value::Bool(true))))
}

/// Which of the snapshots KOTS made a schedule stands for.
#[derive(Debug, Clone, Copy)]
enum SnapshotKind {
    /// Instance snapshots carry the annotation `kots.io/instance: "true"`.
    Full,
    /// Application snapshots carry `kots.io/app-slug` and not the instance annotation.
    Partial,
}

impl SnapshotKind {
    fn covers(self, backup: &Backup) -> bool {
        let instance = backup.is_kots_instance();
        match self {
            SnapshotKind::Full => instance,
            SnapshotKind::Partial => !instance && backup.kots.app_slug.is_some(),
        }
    }
}

/// The `facts.kots` object (see the module doc), or none without KOTS settings.
pub(crate) fn kots_facts(
    settings: Option<&KotsSnapshotSettings>,
    inv: &Inventory,
    now: Timestamp,
) -> Vec<Value> {
    let Some(settings) = settings else {
        return Vec::new();
    };
    let full = schedule_state(
        settings.full_schedule.as_deref(),
        SnapshotKind::Full,
        inv,
        now,
    );
    let partial = schedule_state(
        settings.partial_schedule.as_deref(),
        SnapshotKind::Partial,
        inv,
        now,
    );
    vec![json!({
        "snapshotProvider": settings.provider,
        "snapshotsAllowed": settings.snapshots_allowed,
        "appInfoKnown": settings.has_app_info,
        "fullSchedule": settings.full_schedule,
        "fullTtl": settings.full_ttl,
        "fullSchedulePeriodSeconds": full.period,
        "fullScheduleParseError": full.parse_error,
        "fullScheduleOverdue": full.overdue,
        "lastCompletedFullSnapshotName": full.last_completed.as_ref().map(|(_, n)| n),
        "lastCompletedFullSnapshot": full.last_completed.as_ref().map(|(t, _)| t.to_string()),
        "lastCompletedFullSnapshotAgeSeconds": full.last_completed_age,
        "partialSchedule": settings.partial_schedule,
        "partialTtl": settings.partial_ttl,
        "partialSchedulePeriodSeconds": partial.period,
        "partialScheduleParseError": partial.parse_error,
        "partialScheduleOverdue": partial.overdue,
        "lastCompletedPartialSnapshotName": partial.last_completed.as_ref().map(|(_, n)| n),
        "lastCompletedPartialSnapshotAgeSeconds": partial.last_completed_age,
    })]
}

#[derive(Debug, Default)]
struct ScheduleState {
    period: Option<i64>,
    parse_error: Option<String>,
    /// `None` when it cannot be told: no schedule, an unparsable one, no backups list in the bundle, or no
    /// snapshot old enough to show the schedule was on for two periods.
    overdue: Option<bool>,
    last_completed: Option<(Timestamp, String)>,
    last_completed_age: Option<i64>,
}

/// Whether a KOTS schedule went two of its periods without a Completed snapshot (the same window SD806 gives
/// a Velero Schedule).
fn schedule_state(
    expression: Option<&str>,
    kind: SnapshotKind,
    inv: &Inventory,
    now: Timestamp,
) -> ScheduleState {
    let mut state = ScheduleState::default();
    let Some(expression) = expression else {
        return state;
    };
    match Schedule::parse(expression) {
        Ok(schedule) => state.period = schedule.period_seconds(now),
        Err(e) => state.parse_error = Some(e),
    }
    state.last_completed = inv
        .backups
        .iter()
        .filter(|b| kind.covers(b) && b.is_completed())
        .filter_map(|b| Some((b.finished()?, b.name.as_deref()?.to_string())))
        .max_by_key(|(time, _)| *time);
    state.last_completed_age = state
        .last_completed
        .as_ref()
        .map(|(t, _)| now.duration_since(*t).as_secs());
    if let Some(period) = state.period
        && inv.has_backups_file
    {
        let window = period.saturating_mul(2);
        let recent = state.last_completed_age.is_some_and(|age| age <= window);
        // KOTS records no time a schedule was set: a snapshot of this kind older than the window shows it has
        // been running long enough to be late; without one it may just have been switched on.
        let running_long_enough = inv
            .backups
            .iter()
            .filter(|b| kind.covers(b))
            .filter_map(|b| b.created)
            .any(|created| now.duration_since(created).as_secs() > window);
        state.overdue = if recent {
            Some(false)
        } else {
            running_long_enough.then_some(true)
        };
    }
    state
}
