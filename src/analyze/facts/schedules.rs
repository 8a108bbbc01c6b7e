//! `facts.schedules`: one object per Velero Schedule, with its period and whether it is overdue.
use jiff::Timestamp;
use serde_json::{Value, json};

use super::cron::Schedule;
use super::inventory::Inventory;
use super::json::{self, bool_at, str_at};

pub(crate) fn schedule_facts(inv: &Inventory, now: Timestamp) -> Vec<Value> {
    inv.schedules
        .iter()
        .filter_map(|schedule| {
            let name = json::name(schedule)?;
            let expression = str_at(schedule, &["spec", "schedule"]);
            let paused = bool_at(schedule, &["spec", "paused"]).unwrap_or(false);
            let parsed = expression.map(Schedule::parse);
            let period = match &parsed {
                Some(Ok(s)) => s.period_seconds(now),
                _ => None,
            };
            let last_completed = inv
                .backups_of_schedule(name)
                .filter(|b| b.is_completed())
                .filter_map(|b| Some((b.finished()?, b.name.as_deref()?)))
                .max_by_key(|(time, _)| *time);
            let age = |t: Timestamp| now.duration_since(t).as_secs();
            let overdue = match period {
                // Without the backups list, a schedule's backups cannot be told missing.
                Some(period) if !paused && inv.has_backups_file => {
                    let window = period.saturating_mul(2);
                    let old_enough = json::created(schedule).is_none_or(|c| age(c) > window);
                    let recent = last_completed.is_some_and(|(t, _)| age(t) <= window);
                    old_enough && !recent
                }
                _ => false,
            };
            Some(json!({
                "name": name,
                "namespace": json::namespace(schedule),
                "schedule": expression,
                "paused": paused,
                "phase": str_at(schedule, &["status", "phase"]),
                "validationErrors": json::strings_at(schedule, &["status", "validationErrors"]),
                "parseError": match &parsed {
                    Some(Err(e)) => Some(e.clone()),
                    None => Some("no spec.schedule".to_string()),
                    Some(Ok(_)) => None,
                },
                "periodSeconds": period,
                "lastBackup": str_at(schedule, &["status", "lastBackup"]),
                "lastCompletedBackup": last_completed.map(|(t, _)| t.to_string()),
                "lastCompletedBackupName": last_completed.map(|(_, n)| n),
                "lastCompletedAgeSeconds": last_completed.map(|(t, _)| age(t)),
                "overdue": overdue,
            }))
        })
        .collect()
}
