//! Pods and Jobs that exist only while Velero works: the data mover pods (one per DataUpload / DataDownload,
//! Velero 1.15+), the file-system-backup pods (one per PodVolumeBackup / PodVolumeRestore, 1.17+) and the
//! repository maintenance Jobs (`<repo>-maintain-job-<ms>`, 1.14+) with their pods. The pods are in the Velero
//! namespace's pod list already (`cluster-resources/pods/<ns>.json`, with their container termination reasons);
//! this stage adds the namespace's batch/v1 Jobs and picks the pods whose logs are wanted. Their events are in
//! the namespace's event list.
//!
//! Labels, as Velero sets them (vmware-tanzu/velero v1.16.0, 8f31599f):
//! pkg/apis/velero/v1/labels_annotations.go (`DataUploadLabel`, `DataDownloadLabel`, `PVBLabel`, `PVRLabel`)
//! and pkg/repository/maintenance/maintenance.go (`RepositoryNameLabel`).
use serde_json::Value;

use crate::bundle::layout::VELERO_LOGS;
use crate::collect::CollectError;
use crate::collect::detect::items;
use crate::collect::logs::{LogTarget, targets_of};
use crate::collect::run::{Entry, Run};

/// The labels that mark a pod Velero created for one operation (the value names the object it serves).
pub(super) const OPERATION_POD_LABELS: [&str; 5] = [
    "velero.io/data-upload",
    "velero.io/data-download",
    "velero.io/pod-volume-backup",
    "velero.io/pod-volume-restore",
    "velero.io/repo-name",
];

/// The container of a repository maintenance Job's pod (Velero 1.14–1.16: pkg/repository/manager/manager.go:428
/// at v1.15.2, 804d73c4).
pub(super) const MAINTENANCE_CONTAINER: &str = "velero-repo-maintenance-container";

/// Whether Velero created `pod` for one data upload / download, pod volume backup / restore or maintenance job.
/// A Velero 1.15 maintenance pod carries the velero server pod's labels instead of `velero.io/repo-name`
/// (manager.go:461-463 at v1.15.2 replaces them): it is told by its container.
pub(super) fn is_operation_pod(pod: &Value) -> bool {
    let labelled = pod
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_some_and(|labels| OPERATION_POD_LABELS.iter().any(|l| labels.contains_key(*l)));
    labelled
        || pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c.get("name").and_then(Value::as_str) == Some(MAINTENANCE_CONTAINER))
}

/// The logs of the operation pods (each container, and its previous run when it restarted), under
/// velero/logs/<pod>/ as the server's and node-agent's: a Pending pod has none, and its failure to fetch is
/// recorded like any other log's.
pub(super) fn log_targets(pods: &Value) -> Vec<LogTarget> {
    let mut out = Vec::new();
    for pod in items(pods).iter().filter(|p| is_operation_pod(p)) {
        // A pod that never started has no log to give: asking would only record a 400.
        let started = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .is_some_and(|statuses| {
                statuses.iter().any(|s| {
                    s.pointer("/state/running").is_some()
                        || s.pointer("/state/terminated").is_some()
                        || s.pointer("/lastState/terminated").is_some()
                })
            });
        if started {
            targets_of(pod, VELERO_LOGS, "logs", &mut out);
        }
    }
    out
}

impl Run<'_> {
    // ---- stage 3c: the Jobs of Velero's namespace (repository maintenance) ----

    /// The batch/v1 Jobs of Velero's namespace, whole (status, conditions: BackoffLimitExceeded), to
    /// cluster-resources/jobs/<ns>.json.
    pub(in crate::collect) async fn jobs_stage(
        &mut self,
        velero_ns: Option<&str>,
    ) -> Result<(), CollectError> {
        let Some(ns) = velero_ns else {
            return Ok(());
        };
        self.progress.stage("jobs", 1);
        self.list_into_bundle("velero", "jobs", Some(ns), Entry::One("jobs"))
            .await?;
        self.progress.step("jobs");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operation_pods_that_ran_give_their_logs() {
        let pods = json!({"items": [
            {"metadata": {"name": "default-kopia-maintain-job-1764912000123-x7k2p", "namespace": "velero",
                          "labels": {"velero.io/repo-name": "default-kopia", "job-name": "default-kopia-maintain-job-1764912000123"}},
             "spec": {"containers": [{"name": "velero-repo-maintenance-container"}]},
             "status": {"containerStatuses": [{"name": "velero-repo-maintenance-container",
                "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}},
            {"metadata": {"name": "daily-20261201-7xq2v", "namespace": "velero",
                          "labels": {"velero.io/data-upload": "daily-20261201-7xq2v"}},
             "spec": {"containers": [{"name": "daily-20261201-7xq2v"}]},
             "status": {"phase": "Pending"}},
            // a file-system-backup pod of Velero 1.17, which ran: labelled with its PodVolumeBackup
            // (pkg/controller/pod_volume_backup_controller.go:795 at v1.17.0, 3172d9f9), its container named after the
            // PodVolumeBackup's UID (pkg/exposer/pod_volume.go:275)
            {"metadata": {"name": "daily-20261201-x7k2p", "namespace": "velero",
                          "labels": {"velero.io/pod-volume-backup": "daily-20261201-x7k2p"}},
             "spec": {"containers": [{"name": "5b2d8f4a-1c3e-4a5d-8b7f-6e9c0a2d4f81"}]},
             "status": {"containerStatuses": [{"name": "5b2d8f4a-1c3e-4a5d-8b7f-6e9c0a2d4f81",
                "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]}},
            {"metadata": {"name": "velero-7d8-abc", "namespace": "velero"},
             "spec": {"containers": [{"name": "velero"}]},
             "status": {"containerStatuses": [{"name": "velero", "state": {"running": {}}}]}}
        ]});
        let entries: Vec<String> = log_targets(&pods).into_iter().map(|t| t.entry).collect();
        assert_eq!(
            entries,
            vec![
                "velero/logs/default-kopia-maintain-job-1764912000123-x7k2p/velero-repo-maintenance-container.log",
                "velero/logs/daily-20261201-x7k2p/5b2d8f4a-1c3e-4a5d-8b7f-6e9c0a2d4f81.log"
            ]
        );
    }

    /// composed: a Velero 1.15.2 maintenance pod, with the velero server pod's labels and the Job controller's,
    /// not `velero.io/repo-name` (manager.go:461-463 at 804d73c4).
    #[test]
    fn a_velero_1_15_maintenance_pod_is_told_by_its_container() {
        let pods = json!({"items": [
            {"metadata": {"name": "app-default-kopia-qd7mt-maintain-job-1795561200412-x7k2p", "namespace": "velero",
                          "labels": {"component": "velero", "deploy": "velero", "name": "velero",
                                     "job-name": "app-default-kopia-qd7mt-maintain-job-1795561200412"}},
             "spec": {"containers": [{"name": "velero-repo-maintenance-container"}]},
             "status": {"containerStatuses": [{"name": "velero-repo-maintenance-container",
                "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}
        ]});
        assert!(is_operation_pod(&items(&pods)[0]));
        let entries: Vec<String> = log_targets(&pods).into_iter().map(|t| t.entry).collect();
        assert_eq!(
            entries,
            vec![
                "velero/logs/app-default-kopia-qd7mt-maintain-job-1795561200412-x7k2p/velero-repo-maintenance-container.log"
            ]
        );
    }
}
