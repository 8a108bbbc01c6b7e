//! Pod logs: velero server, node-agent / restic, kotsadm. Each container's log (and the previous
//! container's, when it restarted) streams into a spool concurrently with the others.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::api::{ApiClient, query_value};
use super::detect::items;
use super::spool::{LineFilter, Spool, Spooled};
use super::windows::LogWindows;
use crate::bundle::CollectorError;
use crate::bundle::layout::{KOTS_LOGS, VELERO_LOGS, pod_log_path};

/// A log stream silent this long is taken as dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogTarget {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    /// Bundle entry it goes to.
    pub entry: String,
    /// Collector name for errors: `logs` or `kots`.
    pub source: &'static str,
}

fn container_names(pod: &Value) -> Vec<&str> {
    pod.get("spec")
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the container (or init container) ran before its current instance (so `previous=true` has a log
/// to give).
fn restarted(pod: &Value, container: &str) -> bool {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|list| pod.get("status")?.get(*list)?.as_array())
        .flatten()
        .filter(|s| s.get("name").and_then(Value::as_str) == Some(container))
        .any(|s| {
            s.get("restartCount").and_then(Value::as_u64).unwrap_or(0) > 0
                || s.get("lastState")
                    .and_then(|l| l.get("terminated"))
                    .is_some()
        })
}

pub(super) fn targets_of(pod: &Value, root: &str, source: &'static str, out: &mut Vec<LogTarget>) {
    for container in container_names(pod) {
        container_targets(pod, container, root, source, out);
    }
}

/// The current log of one container of the pod, and the previous one when it restarted.
fn container_targets(
    pod: &Value,
    container: &str,
    root: &str,
    source: &'static str,
    out: &mut Vec<LogTarget>,
) {
    let (Some(name), Some(namespace)) = (
        pod.pointer("/metadata/name").and_then(Value::as_str),
        pod.pointer("/metadata/namespace").and_then(Value::as_str),
    ) else {
        return;
    };
    for previous in [false, true] {
        if previous && !restarted(pod, container) {
            continue;
        }
        out.push(LogTarget {
            namespace: namespace.to_string(),
            pod: name.to_string(),
            container: container.to_string(),
            previous,
            entry: pod_log_path(root, name, container, previous),
            source,
        });
    }
}

/// Logs of the velero server and node-agent / restic pods: every container of a pod that runs a
/// container named velero, node-agent or restic (the plugins are init containers that only copy files).
pub(super) fn velero_targets(pods: &Value) -> Vec<LogTarget> {
    let mut out = Vec::new();
    for pod in items(pods) {
        let names = container_names(pod);
        if names
            .iter()
            .any(|c| matches!(*c, "velero" | "node-agent" | "restic"))
        {
            targets_of(pod, VELERO_LOGS, "logs", &mut out);
        }
    }
    out
}

/// The init containers Velero adds to a pod it restores with file-system restores: `restore-wait` (Velero
/// 1.10+, pkg/restorehelper), `restic-wait` before. Until every volume's data is in place the pod does not
/// start; a helper that fails or loops is why a restored application never comes up.
const RESTORE_HELPERS: &[&str] = &["restore-wait", "restic-wait"];

/// A restored pod still held by (or failing in) its restore helper: it has one and is not Running or
/// Succeeded. Only these pods of the backed-up and restored namespaces are kept in memory while listing.
pub(super) fn awaits_restore(pod: &Value) -> bool {
    let has_helper = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .any(|name| RESTORE_HELPERS.contains(&name));
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    has_helper && !matches!(phase, Some("Running" | "Succeeded"))
}

/// The restore helper's log of a pod [`awaits_restore`] keeps (and its previous one when it restarted), under
/// `velero/logs/<pod>/<helper>.log`: the helper is Velero's container.
pub(super) fn restore_helper_targets(pod: &Value) -> Vec<LogTarget> {
    let mut out = Vec::new();
    let declared = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str));
    for helper in declared.filter(|name| RESTORE_HELPERS.contains(name)) {
        container_targets(pod, helper, VELERO_LOGS, "logs", &mut out);
    }
    out
}

/// Logs of the kotsadm pods.
pub(super) fn kots_targets(pods: &Value) -> Vec<LogTarget> {
    let mut out = Vec::new();
    for pod in items(pods) {
        let is_kotsadm = pod.pointer("/metadata/labels/app").and_then(Value::as_str)
            == Some("kotsadm")
            || container_names(pod).contains(&"kotsadm");
        if is_kotsadm {
            targets_of(pod, KOTS_LOGS, "kots", &mut out);
        }
    }
    out
}

/// The log URL. `since` applies to the current container only: a previous container's log is wanted
/// whole (it holds why it died), and a time window from now would often leave it empty.
pub(super) fn log_path(target: &LogTarget, since_seconds: Option<u64>) -> String {
    let mut path = format!(
        "/api/v1/namespaces/{}/pods/{}/log?container={}",
        target.namespace,
        target.pod,
        query_value(&target.container)
    );
    if target.previous {
        path.push_str("&previous=true");
    } else if let Some(seconds) = since_seconds {
        path.push_str(&format!("&sinceSeconds={seconds}"));
    }
    path
}

/// Streams one log into a spool in `dir`. A stream that breaks keeps what came, marked truncated.
/// What of each log is kept: the newest `limit` bytes (`--max-log-bytes`) of the current container's last
/// `since_seconds` (`--since`), and the lines in `windows`.
#[derive(Debug, Clone)]
pub(super) struct LogSelection {
    pub(super) since_seconds: Option<u64>,
    pub(super) windows: Arc<LogWindows>,
    /// The run's start, which `--since` counts back from.
    pub(super) now: Timestamp,
    pub(super) limit: u64,
}

/// Lines in the selection's windows are kept besides the newest bytes; for the current container, the stream
/// is asked from the earliest window when `--since` would start after it, and lines before `--since` outside
/// the windows are left out again.
pub(super) async fn fetch(
    api: &ApiClient,
    target: &LogTarget,
    selection: &LogSelection,
    dir: &Path,
    stem: &str,
) -> Result<Spooled, CollectorError> {
    let LogSelection {
        since_seconds,
        windows,
        now,
        limit,
    } = selection;
    let (now, limit) = (*now, *limit);
    let record = |status: Option<u16>, message: String| CollectorError {
        source: target.source.to_string(),
        target: Some(format!(
            "{}/{}{}",
            target.pod,
            target.container,
            if target.previous { " (previous)" } else { "" }
        )),
        namespace: Some(target.namespace.clone()),
        status,
        message,
    };
    let mut since_seconds = *since_seconds;
    let mut since_cutoff = None;
    if let (Some(seconds), Some(earliest)) = (since_seconds, windows.earliest())
        && !target.previous
    {
        let reach = u64::try_from(now.duration_since(earliest).as_secs()).unwrap_or(0);
        if reach > seconds {
            since_seconds = Some(reach);
            since_cutoff = now
                .checked_sub(jiff::SignedDuration::from_secs(seconds as i64))
                .ok();
        }
    }
    let filter = (!windows.is_empty()).then(|| LineFilter {
        windows: windows.clone(),
        since_cutoff,
    });
    let mut stream = api
        .stream(&log_path(target, since_seconds))
        .await
        .map_err(|f| record(f.status, f.message))?;
    let mut spool = Spool::new(dir, stem, limit).keeping_windows(filter);
    let io_error = |e: std::io::Error| record(None, format!("cannot spool the log: {e}"));
    loop {
        match tokio::time::timeout(IDLE_TIMEOUT, stream.next_chunk()).await {
            Err(_) => {
                spool.cut(format!(
                    "log stream silent for {}s: kept what came",
                    IDLE_TIMEOUT.as_secs()
                ));
                break;
            }
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => spool.push(&chunk).map_err(io_error)?,
            Ok(Some(Err(e))) => {
                spool.cut(format!("log stream dropped: {e}"));
                break;
            }
        }
    }
    spool.finish().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pods() -> Value {
        json!({"items": [
            {"metadata": {"name": "velero-7d8-abc", "namespace": "velero"},
             "spec": {"initContainers": [{"name": "velero-plugin-for-aws"}], "containers": [{"name": "velero"}]},
             "status": {"containerStatuses": [{"name": "velero", "restartCount": 3,
                "lastState": {"terminated": {"reason": "OOMKilled"}}}]}},
            {"metadata": {"name": "node-agent-x1", "namespace": "velero"},
             "spec": {"containers": [{"name": "node-agent"}]},
             "status": {"containerStatuses": [{"name": "node-agent", "restartCount": 0}]}},
            {"metadata": {"name": "minio-0", "namespace": "velero"},
             "spec": {"containers": [{"name": "minio"}]}},
            {"metadata": {"name": "kotsadm-5f-q", "namespace": "default", "labels": {"app": "kotsadm"}},
             "spec": {"containers": [{"name": "kotsadm"}, {"name": "sidecar"}]}}
        ]})
    }

    #[test]
    fn velero_and_node_agent_containers_with_previous_logs_when_restarted() {
        let entries: Vec<String> = velero_targets(&pods())
            .into_iter()
            .map(|t| t.entry)
            .collect();
        assert_eq!(
            entries,
            vec![
                "velero/logs/velero-7d8-abc/velero.log",
                "velero/logs/velero-7d8-abc/velero-previous.log",
                "velero/logs/node-agent-x1/node-agent.log",
            ]
        );
    }

    #[test]
    fn kotsadm_pods_go_under_kots() {
        let entries: Vec<String> = kots_targets(&pods()).into_iter().map(|t| t.entry).collect();
        assert_eq!(
            entries,
            vec![
                "kots/logs/kotsadm-5f-q/kotsadm.log",
                "kots/logs/kotsadm-5f-q/sidecar.log"
            ]
        );
    }

    #[test]
    fn since_applies_to_current_logs_only() {
        let targets = velero_targets(&pods());
        assert_eq!(
            log_path(&targets[0], Some(3600)),
            "/api/v1/namespaces/velero/pods/velero-7d8-abc/log?container=velero&sinceSeconds=3600"
        );
        assert_eq!(
            log_path(&targets[1], Some(3600)),
            "/api/v1/namespaces/velero/pods/velero-7d8-abc/log?container=velero&previous=true"
        );
    }

    #[test]
    fn a_restored_pod_held_by_its_restore_helper_gives_the_helper_s_logs() {
        let waiting = json!({
            "metadata": {"name": "db-0", "namespace": "app-restore"},
            "spec": {"initContainers": [{"name": "restore-wait"}], "containers": [{"name": "db"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [{"name": "restore-wait", "restartCount": 4}]}
        });
        assert!(awaits_restore(&waiting));
        let entries: Vec<String> = restore_helper_targets(&waiting)
            .into_iter()
            .map(|t| t.entry)
            .collect();
        assert_eq!(
            entries,
            [
                "velero/logs/db-0/restore-wait.log",
                "velero/logs/db-0/restore-wait-previous.log"
            ]
        );
        let running = json!({
            "metadata": {"name": "db-1", "namespace": "app-restore"},
            "spec": {"initContainers": [{"name": "restore-wait"}]},
            "status": {"phase": "Running"}
        });
        assert!(!awaits_restore(&running));
        let plain = json!({"metadata": {"name": "web-0", "namespace": "app"}, "status": {"phase": "Pending"}});
        assert!(!awaits_restore(&plain));
    }
}
