//! `facts.restoreWaits`: each restored pod whose restore helper (`restore-wait`, `restic-wait` before Velero 1.10)
//! log the bundle holds and which had not finished waiting: the volume whose done file it still misses, and the
//! PodVolumeRestore that should have written that file.
//!
//! Velero's helper (cmd/velero-restore-helper/velero-restore-helper.go, vmware-tanzu/velero v1.15.2 804d73c4 and
//! main d30d389b) checks every second, for each directory `/restores/<volume>`, whether
//! `/restores/<volume>/.velero/<restore UID>` exists, and prints while one is missing (line 69 at v1.15.2, 70 at
//! d30d389b):
//!
//! ```text
//! The filesystem restore done file /restores/data/.velero/<restore UID> is not found yet. Retry later.
//! ```
//!
//! and, once every volume has its file, "All restic restores are done" (v1.15.2) / "All PodVolumeRestores are
//! done" (d30d389b). The node agent writes that file (pkg/controller/pod_volume_restore_controller.go, "Write a
//! done file with name=<restore-uid>") only when the PodVolumeRestore of that volume completes: a Failed one
//! never writes it, and the helper waits for ever.
use std::io::{BufRead, BufReader};

use serde_json::{Map, Value, json};

use super::inventory::Inventory;
use super::json::{self, str_at};
use crate::bundle::{Bundle, LogSource};

/// The helper's wait line, and where in it the done file's path starts and ends.
const WAIT_PREFIX: &str = "The filesystem restore done file ";
const WAIT_SUFFIX: &str = " is not found yet. Retry later.";
/// What the helper prints once every done file is there (v1.15.2, then from 1.16 on).
const DONE_LINES: [&str; 2] = [
    "All restic restores are done",
    "All PodVolumeRestores are done",
];

/// What one restore helper log says: how often it waited, for which done file last, whether it finished.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct HelperLog {
    pub pod: String,
    pub container: String,
    pub path: String,
    pub wait_lines: u64,
    /// The done file the last wait line names: `/restores/<volume>/.velero/<restore UID>`.
    pub last_missing: Option<String>,
    pub finished: bool,
}

impl HelperLog {
    /// Reads one helper log line by line (it grows by one line a second; only counts and the last path are
    /// kept).
    pub(crate) fn read(
        pod: &str,
        container: &str,
        path: &str,
        reader: impl std::io::Read,
    ) -> HelperLog {
        let mut log = HelperLog {
            pod: pod.to_string(),
            container: container.to_string(),
            path: path.to_string(),
            ..HelperLog::default()
        };
        for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            if let Some(file) = line
                .strip_prefix(WAIT_PREFIX)
                .and_then(|rest| rest.strip_suffix(WAIT_SUFFIX))
            {
                log.wait_lines += 1;
                log.last_missing = Some(file.to_string());
                log.finished = false;
            } else if DONE_LINES.iter().any(|done| line.starts_with(done)) {
                log.finished = true;
            }
        }
        log
    }

    /// `(volume, restore UID)` of the last missing done file.
    fn missing_volume(&self) -> Option<(&str, &str)> {
        let rest = self.last_missing.as_deref()?.strip_prefix("/restores/")?;
        let (volume, uid) = rest.split_once("/.velero/")?;
        Some((volume, uid))
    }
}

/// The helper logs in the bundle (current containers only: a previous one's last line is older).
pub(crate) fn helper_logs(bundle: &mut Bundle) -> Vec<HelperLog> {
    let files: Vec<_> = bundle
        .logs()
        .into_iter()
        .filter(|l| l.source == LogSource::RestoreHelper && !l.previous)
        .collect();
    let mut out = Vec::new();
    for file in files {
        let (Some(pod), Some(container)) = (file.pod.as_deref(), file.container.as_deref()) else {
            continue;
        };
        // An unreadable log says nothing; the pod's state still shows in facts.components and SD653.
        if let Ok(reader) = bundle.open_entry(&file.path) {
            out.push(HelperLog::read(pod, container, &file.path, reader));
        }
    }
    out
}

/// One fact per helper log that had not finished and names a missing done file.
pub(crate) fn restore_wait_facts(inv: &Inventory, logs: &[HelperLog]) -> Vec<Value> {
    let mut facts = Vec::new();
    for log in logs.iter().filter(|l| !l.finished) {
        let Some((volume, uid)) = log.missing_volume() else {
            continue;
        };
        // Bundle paths carry the pod's name only; the pod is the one of that name held by this helper.
        let pod = inv.pods.iter().find(|p| {
            json::name(p) == Some(log.pod.as_str())
                && json::array_at(p, &["spec", "initContainers"])
                    .iter()
                    .any(|c| str_at(c, &["name"]) == Some(log.container.as_str()))
        });
        let namespace = pod.and_then(json::namespace);
        let pvr = inv.pod_volume_restores.iter().find(|r| {
            str_at(r, &["spec", "pod", "name"]) == Some(log.pod.as_str())
                && (namespace.is_none() || str_at(r, &["spec", "pod", "namespace"]) == namespace)
                && str_at(r, &["spec", "volume"]) == Some(volume)
                && json::label(r, "velero.io/restore-uid").is_none_or(|u| u == uid)
        });
        // The done file is named after the restore's UID (pod_volume_restore_action.go passes it as the
        // helper's argument); the PodVolumeRestore and the restored pod carry the restore's name.
        let restore = pvr
            .and_then(|r| json::label(r, "velero.io/restore-name"))
            .or_else(|| {
                inv.restores
                    .iter()
                    .find(|r| str_at(r, &["metadata", "uid"]) == Some(uid))
                    .and_then(json::name)
            })
            .or_else(|| pod.and_then(|p| json::label(p, "velero.io/restore-name")));
        let helper_status = pod.and_then(|p| {
            json::array_at(p, &["status", "initContainerStatuses"])
                .iter()
                .find(|s| str_at(s, &["name"]) == Some(log.container.as_str()))
        });
        let node = pod.and_then(|p| str_at(p, &["spec", "nodeName"]));
        let agent_restart = pvr.and_then(|r| node_agent_restart(inv, node?, r));
        let velero_namespace = pvr.and_then(json::namespace).or_else(|| {
            inv.restores
                .iter()
                .find(|r| restore.is_some() && json::name(r) == restore)
                .and_then(json::namespace)
        });
        let mut labels = Map::new();
        if let Some(restore) = restore {
            labels.insert("velero.io/restore-name".into(), restore.into());
        }
        facts.push(json!({
            // The fact concerns the restore through this label (engine `related`), in Velero's namespace, not
            // the restored pod's.
            "metadata": {"labels": labels},
            "veleroNamespace": velero_namespace,
            "namespace": namespace,
            "pod": log.pod,
            "helper": log.container,
            "log": log.path,
            "volume": volume,
            "doneFile": log.last_missing,
            "restoreUid": uid,
            "restore": restore,
            "waitLines": log.wait_lines,
            "podPhase": pod.and_then(|p| str_at(p, &["status", "phase"])),
            "node": node,
            "nodeAgentPod": agent_restart.map(|r| r.0),
            "nodeAgentTerminationReason": agent_restart.map(|r| r.1),
            "nodeAgentTerminatedAt": agent_restart.map(|r| r.2),
            "waitingSince": helper_status.and_then(|s| str_at(s, &["state", "running", "startedAt"])),
            "podVolumeRestore": pvr.and_then(json::name),
            "podVolumeRestorePhase": pvr.map(|r| str_at(r, &["status", "phase"]).unwrap_or("New")),
            "podVolumeRestoreMessage": pvr.and_then(|r| str_at(r, &["status", "message"])),
        }));
    }
    facts
}

/// The node agent on `node` whose container last ended while the PodVolumeRestore ran (from its start to its
/// completion, when the restarted agent marks it Failed): `(pod, reason, finishedAt)`.
fn node_agent_restart<'a>(
    inv: &'a Inventory,
    node: &str,
    pvr: &Value,
) -> Option<(&'a str, &'a str, &'a str)> {
    let started = json::time_at(pvr, &["status", "startTimestamp"])?;
    let ended = json::time_at(pvr, &["status", "completionTimestamp"]);
    inv.pods
        .iter()
        .filter(|p| str_at(p, &["spec", "nodeName"]) == Some(node))
        .flat_map(|p| {
            json::array_at(p, &["status", "containerStatuses"])
                .iter()
                .map(move |c| (p, c))
        })
        .filter(|(_, c)| matches!(str_at(c, &["name"]), Some("node-agent" | "restic")))
        .find_map(|(p, c)| {
            let terminated = json::at(c, &["lastState", "terminated"])?;
            let finished_text = str_at(terminated, &["finishedAt"])?;
            let finished = json::parse_time(finished_text)?;
            let within = finished >= started && ended.is_none_or(|e| finished <= e);
            within.then_some((
                json::name(p)?,
                str_at(terminated, &["reason"]).unwrap_or("terminated"),
                finished_text,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // cmd/velero-restore-helper/velero-restore-helper.go at v1.15.2 (804d73c4): lines 69 and 38.
    const WAITING: &str = "The filesystem restore done file /restores/data/.velero/3f5b7d9b-8ec0-4cef-d7a3-1e3a5c7e9a11 is not found yet. Retry later.\n";

    #[test]
    fn a_helper_that_keeps_waiting_names_the_volume_and_the_restore_uid() {
        let text = WAITING.repeat(3);
        let log = HelperLog::read("db-0", "restore-wait", "p", text.as_bytes());
        assert_eq!(log.wait_lines, 3);
        assert!(!log.finished);
        assert_eq!(
            log.missing_volume(),
            Some(("data", "3f5b7d9b-8ec0-4cef-d7a3-1e3a5c7e9a11"))
        );
    }

    #[test]
    fn a_helper_that_found_every_done_file_has_finished() {
        for done in DONE_LINES {
            let text = format!(
                "{WAITING}Found the done file /restores/data/.velero/3f5b7d9b-8ec0-4cef-d7a3-1e3a5c7e9a11\n\
                 {done}\nDone cleanup .velero folder\n"
            );
            let log = HelperLog::read("db-0", "restore-wait", "p", text.as_bytes());
            assert!(log.finished, "{done}");
            assert!(restore_wait_facts(&Inventory::default(), &[log]).is_empty());
        }
    }
}
