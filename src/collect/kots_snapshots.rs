//! What the cluster's API tells of KOTS's snapshot settings, written to the manifest's `scope.kotsSnapshots`.
//!
//! KOTS does not use Velero Schedules: its own scheduler (replicatedhq/kots pkg/snapshotscheduler at 370ae903)
//! keeps the cron schedules of full (instance) and application snapshots in kotsadm's database and creates each
//! snapshot as a Velero Backup (pkg/kotsadmsnapshot/backup.go at 370ae903). What reaches the API is on those
//! Backups: `spec.ttl`, set from the snapshot TTL KOTS holds; the annotation `kots.io/snapshot-trigger`
//! (`schedule` or `manual`, pkg/kotsadmsnapshot/types/types.go `BackupTriggerAnnotation`); `kots.io/instance:
//! "true"` on a full snapshot; `kots.io/app-id` on an application snapshot. So the TTL is read from the newest
//! scheduled Backup, and the schedule only as the interval between scheduled Backups: the cron expression itself
//! is not derivable (a KOTS support bundle's app-info.json has it: `facts.kots`).
use serde_json::{Map, Value, json};

use super::detect::items;

const FROM: &str = "the Backups KOTS created: spec.ttl (KOTS's snapshot TTL) and the annotations kots.io/instance, \
    kots.io/app-id and kots.io/snapshot-trigger (replicatedhq/kots 370ae903 pkg/kotsadmsnapshot/backup.go, \
    types/types.go); KOTS keeps the cron schedule in its database (pkg/snapshotscheduler), not in the API, so only \
    the interval between scheduled Backups is told";

fn annotation<'a>(backup: &'a Value, key: &str) -> Option<&'a str> {
    backup.pointer("/metadata/annotations")?.get(key)?.as_str()
}

fn created(backup: &Value) -> Option<jiff::Timestamp> {
    backup
        .pointer("/metadata/creationTimestamp")?
        .as_str()?
        .parse()
        .ok()
}

/// One series (full or application snapshots), its Backups in any order.
fn series(mut backups: Vec<&Value>) -> Option<Value> {
    if backups.is_empty() {
        return None;
    }
    backups.sort_by_key(|b| created(b));
    let scheduled: Vec<&Value> = backups
        .iter()
        .copied()
        .filter(|b| annotation(b, "kots.io/snapshot-trigger") == Some("schedule"))
        .collect();
    let name = |b: &Value| {
        b.pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    // The TTL KOTS holds now is the one its newest scheduled snapshot got (a manual one gets the same).
    let ttl_source = scheduled.last().or(backups.last()).copied();
    let mut gaps: Vec<i64> = scheduled
        .windows(2)
        .filter_map(|pair| Some(created(pair[1])?.as_second() - created(pair[0])?.as_second()))
        .filter(|gap| *gap > 0)
        .collect();
    gaps.sort_unstable();
    // The median gap: a missed or postponed run does not move it.
    let interval = (gaps.len() >= 2).then(|| gaps[gaps.len() / 2]);
    let mut out = Map::new();
    out.insert("backups".into(), json!(backups.len()));
    out.insert("scheduled".into(), json!(scheduled.len()));
    out.insert(
        "manual".into(),
        json!(
            backups
                .iter()
                .filter(|b| annotation(b, "kots.io/snapshot-trigger") == Some("manual"))
                .count()
        ),
    );
    out.insert(
        "ttl".into(),
        json!(
            ttl_source
                .and_then(|b| b.pointer("/spec/ttl"))
                .and_then(Value::as_str)
        ),
    );
    out.insert("ttlFrom".into(), json!(ttl_source.and_then(name)));
    out.insert(
        "lastScheduled".into(),
        json!(scheduled.last().copied().and_then(name)),
    );
    out.insert("scheduledIntervalSeconds".into(), json!(interval));
    Some(Value::Object(out))
}

/// `scope.kotsSnapshots`, when any Backup is KOTS's; none otherwise.
pub(super) fn kots_snapshots(backups: &Value) -> Option<Value> {
    let all = items(backups);
    let instance: Vec<&Value> = all
        .iter()
        .filter(|b| annotation(b, "kots.io/instance") == Some("true"))
        .collect();
    let application: Vec<&Value> = all
        .iter()
        .filter(|b| {
            annotation(b, "kots.io/instance") != Some("true")
                && annotation(b, "kots.io/app-id").is_some()
        })
        .collect();
    if instance.is_empty() && application.is_empty() {
        return None;
    }
    Some(json!({
        "from": FROM,
        "instance": series(instance),
        "application": series(application),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(name: &str, created: &str, trigger: &str, ttl: &str, instance: bool) -> Value {
        let mut annotations = json!({"kots.io/snapshot-trigger": trigger});
        if instance {
            annotations["kots.io/instance"] = json!("true");
        } else {
            annotations["kots.io/app-id"] = json!("2Ab3xYz");
        }
        json!({"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations},
               "spec": {"ttl": ttl}})
    }

    #[test]
    fn the_ttl_and_interval_come_from_the_scheduled_kots_backups() {
        let backups = json!({"items": [
            backup("instance-a", "2026-11-22T02:00:07Z", "schedule", "720h0m0s", true),
            backup("instance-b", "2026-11-23T02:00:05Z", "schedule", "720h0m0s", true),
            backup("instance-c", "2026-11-23T16:05:12Z", "manual", "168h0m0s", true),
            backup("instance-d", "2026-11-24T02:00:06Z", "schedule", "336h0m0s", true),
            backup("myapp-x", "2026-11-24T03:00:00Z", "manual", "72h0m0s", false),
            {"metadata": {"name": "plain-velero", "creationTimestamp": "2026-11-24T04:00:00Z"}}
        ]});
        let scope = kots_snapshots(&backups).unwrap();
        let instance = &scope["instance"];
        assert_eq!(instance["backups"], 4);
        assert_eq!(instance["scheduled"], 3);
        assert_eq!(instance["manual"], 1);
        // The newest scheduled one's TTL: KOTS's setting now.
        assert_eq!(instance["ttl"], "336h0m0s");
        assert_eq!(instance["ttlFrom"], "instance-d");
        assert_eq!(instance["lastScheduled"], "instance-d");
        assert_eq!(instance["scheduledIntervalSeconds"], 86_401);
        assert_eq!(scope["application"]["backups"], 1);
        assert_eq!(scope["application"]["ttl"], "72h0m0s");
        assert!(scope["application"]["scheduledIntervalSeconds"].is_null());
        assert!(scope["from"].as_str().unwrap().contains("not in the API"));
    }

    #[test]
    fn velero_s_own_backups_say_nothing_of_kots() {
        let backups = json!({"items": [
            {"metadata": {"name": "daily-1", "creationTimestamp": "2026-11-24T02:00:00Z",
                          "labels": {"velero.io/schedule-name": "daily"}}, "spec": {"ttl": "720h0m0s"}}
        ]});
        assert!(kots_snapshots(&backups).is_none());
    }
}
