//! `facts.nodeEvents`: the kubelets' events about their own nodes that tell of a node in trouble (disk or memory
//! pressure, evictions, image garbage collection failing to free disk, a system OOM, a reboot, NotReady), on the
//! nodes where Velero moved volume data (a PodVolumeBackup's `spec.node`, a DataUpload's `status.node`). The
//! node agent and the data mover pods run there: a node that evicts or kills them fails the volumes they were
//! moving, and no Velero log says why. The verdicts join one to a backup only when it happened while the backup
//! ran (verdicts/mod.rs, `Window::holds_node_event`).
//!
//! Reasons as the kubelet records them (kubernetes/kubernetes):
//! - pkg/kubelet/events/event.go @00bdb3fa: `NodeNotReady`, `Rebooted` (NodeRebooted), `FreeDiskSpaceFailed`;
//! - pkg/kubelet/eviction/eviction_manager.go @0239cd73: `EvictionThresholdMet`, "Attempting to reclaim
//!   <resource>" (and the evicted pod's `Evicted`, "The node was low on resource: <resource>. …");
//! - pkg/kubelet/kubelet_node_status.go @c579a327 `recordNodeStatusEvent` ("Node <node> status is now:
//!   <event>") with the condition events of pkg/kubelet/nodestatus/setters.go: `NodeHasDiskPressure`,
//!   `NodeHasInsufficientMemory`;
//! - pkg/kubelet/oom/oom_watcher_linux.go: `SystemOOM`.
use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::inventory::Inventory;
use super::json::{self, i64_at, str_at, time_at};

/// Reasons of the kubelet's events about its node that tell of a node in trouble.
pub(crate) const NODE_TROUBLE_REASONS: [&str; 7] = [
    "EvictionThresholdMet",
    "NodeHasDiskPressure",
    "NodeHasInsufficientMemory",
    "FreeDiskSpaceFailed",
    "Rebooted",
    "NodeNotReady",
    "SystemOOM",
];

/// Volume operations of a node named in a fact: enough to say which, not a list of thousands.
const MAX_NAMED_OPERATIONS: usize = 5;

/// When an event was first and last seen: `firstTimestamp` (core/v1), else `eventTime` (events.k8s.io, whose
/// series' `lastObservedTime` is the last), else `lastTimestamp`, else its creation.
pub(crate) fn event_span(event: &Value) -> Option<(Timestamp, Timestamp)> {
    let began = time_at(event, &["firstTimestamp"])
        .or_else(|| time_at(event, &["eventTime"]))
        .or_else(|| time_at(event, &["lastTimestamp"]))
        .or_else(|| json::created(event))?;
    let last = time_at(event, &["lastTimestamp"])
        .or_else(|| time_at(event, &["series", "lastObservedTime"]))
        .unwrap_or(began);
    Some((began, last.max(began)))
}

/// The node a kubelet's node event is about and its reason, when it tells of trouble.
pub(crate) fn node_trouble(event: &Value) -> Option<(&str, &str)> {
    if str_at(event, &["involvedObject", "kind"]) != Some("Node") {
        return None;
    }
    let node = str_at(event, &["involvedObject", "name"])?;
    let reason = str_at(event, &["reason"])?;
    NODE_TROUBLE_REASONS
        .contains(&reason)
        .then_some((node, reason))
}

/// What a trouble reason says of the node, in words; `message` is the event's (EvictionThresholdMet names the
/// resource: "Attempting to reclaim ephemeral-storage").
fn trouble(reason: &str, message: Option<&str>) -> String {
    match reason {
        "EvictionThresholdMet" => {
            match message.and_then(|m| m.strip_prefix("Attempting to reclaim ")) {
                Some(resource) => format!("evicting pods to reclaim {}", resource.trim()),
                None => "evicting pods".to_string(),
            }
        }
        "NodeHasDiskPressure" => "under disk pressure".to_string(),
        "NodeHasInsufficientMemory" => "under memory pressure".to_string(),
        "FreeDiskSpaceFailed" => "failing to free disk space by removing images".to_string(),
        "SystemOOM" => "killing processes out of memory (system OOM)".to_string(),
        "Rebooted" => "rebooted".to_string(),
        "NodeNotReady" => "NotReady".to_string(),
        other => other.to_string(),
    }
}

/// A volume operation a node ran: its kind, name and backup.
type Operation<'a> = (&'a str, &'a str, Option<&'a str>);

/// One fact per trouble event on a node that ran a PodVolumeBackup or DataUpload, newest last as listed.
pub(crate) fn node_event_facts(inv: &Inventory, events: &[Value]) -> Vec<Value> {
    let mut ran: BTreeMap<&str, Vec<Operation>> = BTreeMap::new();
    for pvb in &inv.pod_volume_backups {
        let (Some(node), Some(name)) = (pvb.node.as_deref(), pvb.name.as_deref()) else {
            continue;
        };
        let backup = pvb.backup.as_deref();
        ran.entry(node)
            .or_default()
            .push(("PodVolumeBackup", name, backup));
    }
    for object in inv.data_uploads.iter() {
        let (Some(node), Some(name)) = (str_at(object, &["status", "node"]), json::name(object))
        else {
            continue;
        };
        let backup = json::label(object, "velero.io/backup-name");
        ran.entry(node)
            .or_default()
            .push(("DataUpload", name, backup));
    }
    let mut out = Vec::new();
    for event in events {
        let Some((node, reason)) = node_trouble(event) else {
            continue;
        };
        let Some(operations) = ran.get(node) else {
            continue;
        };
        let Some((began, last)) = event_span(event) else {
            continue;
        };
        let named: Vec<String> = operations
            .iter()
            .take(MAX_NAMED_OPERATIONS)
            .map(|(kind, name, backup)| match backup {
                Some(backup) => format!("{kind} {name} (backup {backup})"),
                None => format!("{kind} {name}"),
            })
            .collect();
        out.push(json!({
            "name": json::name(event),
            "namespace": json::namespace(event),
            "node": node,
            "reason": reason,
            "trouble": trouble(reason, str_at(event, &["message"])),
            "type": str_at(event, &["type"]),
            "message": str_at(event, &["message"]),
            "count": i64_at(event, &["count"]).unwrap_or(1),
            // For messages: how often, when more than once.
            "repeated": i64_at(event, &["count"]).filter(|c| *c > 1),
            "firstSeen": began.to_string(),
            "lastSeen": last.to_string(),
            "volumeOperationCount": operations.len(),
            "volumeOperations": named.join(", "),
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::facts::pod_volume_backups::PodVolumeBackups;

    fn event(node: &str, reason: &str, first: &str, last: &str) -> Value {
        json!({"metadata": {"name": format!("{node}.1"), "namespace": "default"},
               "involvedObject": {"kind": "Node", "name": node}, "reason": reason, "type": "Warning",
               "message": "Attempting to reclaim ephemeral-storage", "count": 3,
               "firstTimestamp": first, "lastTimestamp": last})
    }

    #[test]
    fn trouble_events_of_nodes_that_moved_volumes_become_facts() {
        let inv = Inventory {
            pod_volume_backups: PodVolumeBackups::from_objects(&[json!({
                "metadata": {"name": "daily-1-x7k2p", "namespace": "velero",
                             "labels": {"velero.io/backup-name": "daily-1"}},
                "spec": {"node": "worker-2"}})]),
            ..Inventory::default()
        };
        let events = [
            event(
                "worker-2",
                "EvictionThresholdMet",
                "2026-11-25T02:10:00Z",
                "2026-11-25T02:14:00Z",
            ),
            // a node that ran no volume, and a reason that tells of no trouble
            event(
                "worker-1",
                "EvictionThresholdMet",
                "2026-11-25T02:10:00Z",
                "2026-11-25T02:10:00Z",
            ),
            event(
                "worker-2",
                "NodeHasNoDiskPressure",
                "2026-11-25T02:30:00Z",
                "2026-11-25T02:30:00Z",
            ),
        ];
        let facts = node_event_facts(&inv, &events);
        assert_eq!(facts.len(), 1, "{facts:?}");
        assert_eq!(facts[0]["node"], "worker-2");
        assert_eq!(
            facts[0]["trouble"],
            "evicting pods to reclaim ephemeral-storage"
        );
        assert_eq!(facts[0]["firstSeen"], "2026-11-25T02:10:00Z");
        assert_eq!(facts[0]["lastSeen"], "2026-11-25T02:14:00Z");
        assert_eq!(
            facts[0]["volumeOperations"],
            "PodVolumeBackup daily-1-x7k2p (backup daily-1)"
        );
    }

    #[test]
    fn an_event_s_span_falls_back_to_its_other_times() {
        let series = json!({"eventTime": "2026-11-25T02:10:00.000000Z",
                            "series": {"lastObservedTime": "2026-11-25T02:20:00.000000Z"}});
        let (began, last) = event_span(&series).unwrap();
        assert_eq!(began.to_string(), "2026-11-25T02:10:00Z");
        assert_eq!(last.to_string(), "2026-11-25T02:20:00Z");
        let created = json!({"metadata": {"creationTimestamp": "2026-11-25T03:00:00Z"}});
        let (began, last) = event_span(&created).unwrap();
        assert_eq!(began, last);
    }
}
