//! What the bundle says about the objects around each backup, read once from the inventory: the pod volume
//! backups and data uploads it made (their node, pod, volume), the repositories they wrote to, the velero and
//! node-agent containers that ran them, and why a log is missing. Findings name these objects, not backups;
//! the verdicts link them through this.
use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::analyze::analysis::BackupSummary;
use crate::analyze::environment::is_failed;
use crate::analyze::facts::components::{Workload, component_of_pod};
use crate::analyze::facts::go_duration_seconds;
use crate::analyze::facts::inventory::Inventory;
use crate::analyze::facts::json::{self, array_at, str_at, string_at, time_at};
use crate::bundle::{Bundle, CollectorError, layout};

/// Velero's default `--fs-backup-timeout` (`--restic-timeout` before 1.10) and `spec.itemOperationTimeout`.
pub(crate) const DEFAULT_OPERATION_TIMEOUT: SignedDuration = SignedDuration::from_hours(4);

pub(crate) const PVB_KIND: &str = "podvolumebackups.velero.io";
pub(crate) const DATA_UPLOAD_KIND: &str = "datauploads.velero.io";
pub(crate) const PVR_KIND: &str = "podvolumerestores.velero.io";
pub(crate) const DATA_DOWNLOAD_KIND: &str = "datadownloads.velero.io";

/// One volume's data moved for a backup or a restore: a PodVolumeOperation / PodVolumeRestore (file-system
/// backup), a DataUpload / DataDownload (CSI data mover, Velero 1.12+).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VolumeOperation {
    /// One of [`PVB_KIND`], [`DATA_UPLOAD_KIND`], [`PVR_KIND`], [`DATA_DOWNLOAD_KIND`].
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// `backup/<name>` or `restore/<name>`, from its `velero.io/backup-name` / `velero.io/restore-name` label.
    pub owner: String,
    /// The node that ran it: a PVB's `spec.node`, a data mover's `status.node`, a PVR's pod's node.
    pub node: Option<String>,
    /// The namespace of the volume (its pod's, a DataUpload's `spec.sourceNamespace`, a DataDownload's target's):
    /// its repository's `volumeNamespace`.
    pub(crate) volume_namespace: Option<String>,
    pub pod: Option<String>,
    pub volume: Option<String>,
    /// A data mover's PVC; for a PVB / PVR, the pod's claim for the volume when the bundle holds the pod.
    pub claim: Option<String>,
    pub phase: Option<String>,
    pub message: Option<String>,
}

/// A BackupRepository (ResticRepository before 1.10): one per volume namespace, storage location and type.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Repository {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub(crate) volume_namespace: Option<String>,
    pub location: Option<String>,
    pub phase: Option<String>,
}

/// A velero or node-agent container as the pod's status tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ContainerState {
    /// velero | node-agent | restic
    pub component: String,
    pub namespace: Option<String>,
    pub pod: String,
    pub container: String,
    pub node: Option<String>,
    /// `lastState.terminated.finishedAt`: when the previous run of the container ended.
    pub(crate) last_terminated_at: Option<Timestamp>,
}

/// What a backup / restore object says beyond its summary: when it was made, what it was to hold, its timeout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub created: Option<Timestamp>,
    /// `spec.includedNamespaces`; empty or `*` means every namespace.
    pub(crate) included_namespaces: Vec<String>,
    /// `spec.itemOperationTimeout`, Velero's default when unset.
    pub(crate) item_operation_timeout: SignedDuration,
}

/// Everything the verdicts read besides the findings; [`VerdictContext::default`] knows nothing but Velero's
/// default timeouts (every link but a backup's own and its location's is then unknown).
#[derive(Debug, Clone)]
pub(crate) struct VerdictContext {
    pub(crate) volume_operations: Vec<VolumeOperation>,
    pub repositories: Vec<Repository>,
    pub containers: Vec<ContainerState>,
    /// Backups by name (`backup/<name>`, `restore/<name>`).
    pub specs: BTreeMap<String, Spec>,
    /// The server's `--fs-backup-timeout`: how long a pod volume backup may run.
    pub(crate) fs_backup_timeout: SignedDuration,
    /// Why the collector could not download a backup's / restore's log (`backup/<name>` → reason).
    pub(crate) log_errors: BTreeMap<String, String>,
    /// Logs the collector did not try to download, and why (a refusal before them).
    pub(crate) logs_not_tried: Option<String>,
    /// snapdoc | troubleshoot | velero-debug | directory: a foreign bundle never downloads backup logs.
    pub(crate) bundle_format: Option<String>,
    /// The item errors of each failed backup's / restore's results (`backup/<name>` →
    /// `namespace: error` or `cluster: error`), as Velero recorded them.
    pub(crate) item_errors: BTreeMap<String, Vec<String>>,
}

impl Default for VerdictContext {
    fn default() -> VerdictContext {
        VerdictContext {
            volume_operations: Vec::new(),
            repositories: Vec::new(),
            containers: Vec::new(),
            specs: BTreeMap::new(),
            fs_backup_timeout: DEFAULT_OPERATION_TIMEOUT,
            log_errors: BTreeMap::new(),
            logs_not_tried: None,
            bundle_format: None,
            item_errors: BTreeMap::new(),
        }
    }
}

impl VerdictContext {
    pub(crate) fn spec(&self, kind: &str, name: &str) -> Option<&Spec> {
        self.specs.get(&format!("{kind}/{name}"))
    }

    /// The volume operations of a backup / restore (`kind`: backup | restore).
    pub(crate) fn volumes_of<'c>(
        &'c self,
        kind: &str,
        name: &str,
    ) -> impl Iterator<Item = &'c VolumeOperation> + use<'c> {
        let owner = format!("{kind}/{name}");
        self.volume_operations
            .iter()
            .filter(move |v| v.owner == owner)
    }

    pub(crate) fn from_inventory(
        inv: &Inventory,
        velero: Option<&Workload<'_>>,
        collector_errors: &[CollectorError],
        bundle_format: &str,
    ) -> VerdictContext {
        let fs_backup_timeout = velero
            .and_then(|v| {
                v.flag("--fs-backup-timeout")
                    .or_else(|| v.flag("--restic-timeout"))
            })
            .and_then(|d| go_duration_seconds(&d))
            .map(SignedDuration::from_secs)
            .unwrap_or(DEFAULT_OPERATION_TIMEOUT);
        let mut specs = BTreeMap::new();
        for (kind, objects) in [("backup", &inv.backups), ("restore", &inv.restores)] {
            for object in objects.iter() {
                if let Some(name) = json::name(object) {
                    specs.insert(format!("{kind}/{name}"), spec(object));
                }
            }
        }
        let (log_errors, logs_not_tried) = log_errors(collector_errors);
        VerdictContext {
            volume_operations: inv
                .pod_volume_backups
                .iter()
                .filter_map(|pvb| pod_volume_backup(pvb, inv))
                .chain(inv.data_uploads.iter().filter_map(data_upload))
                .chain(
                    inv.pod_volume_restores
                        .iter()
                        .filter_map(|pvr| pod_volume_restore(pvr, inv)),
                )
                .chain(inv.data_downloads.iter().filter_map(data_download))
                .collect(),
            repositories: inv
                .backup_repositories
                .iter()
                .map(|r| ("backuprepositories.velero.io", r))
                .chain(
                    inv.restic_repositories
                        .iter()
                        .map(|r| ("resticrepositories.velero.io", r)),
                )
                .filter_map(|(kind, r)| repository(kind, r))
                .collect(),
            containers: inv.pods.iter().flat_map(containers).collect(),
            specs,
            fs_backup_timeout,
            log_errors,
            logs_not_tried,
            bundle_format: Some(bundle_format.to_string()),
            item_errors: BTreeMap::new(),
        }
    }
}

/// Velero files an error under the namespace of the item it concerns, `cluster` for cluster-scoped items, and
/// `velero` for its own (pod volume failures among them, told by the volumes): the first two are what a
/// restore of this backup will lack.
pub(crate) fn read_item_errors(
    bundle: &mut Bundle,
    summaries: &[BackupSummary],
) -> BTreeMap<String, Vec<String>> {
    let mut errors = BTreeMap::new();
    for summary in summaries.iter().filter(|s| is_failed(s.phase.as_deref())) {
        let path = match summary.kind.as_str() {
            "restore" => layout::restore_results_path(&summary.name),
            _ => layout::backup_results_path(&summary.name),
        };
        let Ok(Some(results)) = bundle.read_json(&path) else {
            continue;
        };
        let mut items: Vec<String> = json::strings_at(&results, &["errors", "cluster"])
            .into_iter()
            .map(|e| format!("cluster: {}", e.trim()))
            .collect();
        if let Some(namespaces) =
            json::at(&results, &["errors", "namespaces"]).and_then(Value::as_object)
        {
            for (namespace, list) in namespaces {
                items.extend(
                    list.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|e| format!("{namespace}: {}", e.trim())),
                );
            }
        }
        if !items.is_empty() {
            errors.insert(format!("{}/{}", summary.kind, summary.name), items);
        }
    }
    errors
}

fn spec(object: &Value) -> Spec {
    Spec {
        created: json::created(object),
        included_namespaces: json::strings_at(object, &["spec", "includedNamespaces"])
            .into_iter()
            .map(str::to_string)
            .collect(),
        item_operation_timeout: str_at(object, &["spec", "itemOperationTimeout"])
            .and_then(go_duration_seconds)
            .map(SignedDuration::from_secs)
            .unwrap_or(DEFAULT_OPERATION_TIMEOUT),
    }
}

fn pod_volume_backup(pvb: &Value, inv: &Inventory) -> Option<VolumeOperation> {
    let pod_namespace = string_at(pvb, &["spec", "pod", "namespace"]);
    let pod = string_at(pvb, &["spec", "pod", "name"]);
    let volume = string_at(pvb, &["spec", "volume"]);
    let claim = claim_of(
        inv,
        pod_namespace.as_deref(),
        pod.as_deref(),
        volume.as_deref(),
    );
    Some(VolumeOperation {
        kind: PVB_KIND.to_string(),
        namespace: json::namespace(pvb).map(str::to_string),
        name: json::name(pvb)?.to_string(),
        owner: format!("backup/{}", json::label(pvb, "velero.io/backup-name")?),
        node: string_at(pvb, &["spec", "node"]),
        volume_namespace: pod_namespace,
        pod,
        volume,
        claim,
        phase: string_at(pvb, &["status", "phase"]),
        message: string_at(pvb, &["status", "message"]).filter(|m| !m.trim().is_empty()),
    })
}

/// The claim behind a pod's volume, when the bundle holds the pod.
fn claim_of(
    inv: &Inventory,
    namespace: Option<&str>,
    pod: Option<&str>,
    volume: Option<&str>,
) -> Option<String> {
    let pod = inv
        .pods
        .iter()
        .find(|p| json::namespace(p) == namespace && json::name(p) == pod)?;
    array_at(pod, &["spec", "volumes"])
        .iter()
        .find(|v| str_at(v, &["name"]) == volume)
        .and_then(|v| string_at(v, &["persistentVolumeClaim", "claimName"]))
}

fn data_upload(upload: &Value) -> Option<VolumeOperation> {
    Some(VolumeOperation {
        kind: DATA_UPLOAD_KIND.to_string(),
        namespace: json::namespace(upload).map(str::to_string),
        name: json::name(upload)?.to_string(),
        owner: format!("backup/{}", json::label(upload, "velero.io/backup-name")?),
        node: string_at(upload, &["status", "node"]),
        volume_namespace: string_at(upload, &["spec", "sourceNamespace"]),
        pod: None,
        volume: None,
        claim: string_at(upload, &["spec", "sourcePVC"]),
        phase: string_at(upload, &["status", "phase"]),
        message: string_at(upload, &["status", "message"]).filter(|m| !m.trim().is_empty()),
    })
}

/// A PVR names no node: the node agent next to the restored pod runs it.
fn pod_volume_restore(pvr: &Value, inv: &Inventory) -> Option<VolumeOperation> {
    let pod_namespace = string_at(pvr, &["spec", "pod", "namespace"]);
    let pod = string_at(pvr, &["spec", "pod", "name"]);
    let volume = string_at(pvr, &["spec", "volume"]);
    let restored_pod = inv.pods.iter().find(|p| {
        json::namespace(p) == pod_namespace.as_deref() && json::name(p) == pod.as_deref()
    });
    Some(VolumeOperation {
        kind: PVR_KIND.to_string(),
        namespace: json::namespace(pvr).map(str::to_string),
        name: json::name(pvr)?.to_string(),
        owner: format!("restore/{}", json::label(pvr, "velero.io/restore-name")?),
        node: restored_pod.and_then(|p| string_at(p, &["spec", "nodeName"])),
        claim: claim_of(
            inv,
            pod_namespace.as_deref(),
            pod.as_deref(),
            volume.as_deref(),
        ),
        volume_namespace: pod_namespace,
        pod,
        volume,
        phase: string_at(pvr, &["status", "phase"]),
        message: string_at(pvr, &["status", "message"]).filter(|m| !m.trim().is_empty()),
    })
}

fn data_download(download: &Value) -> Option<VolumeOperation> {
    Some(VolumeOperation {
        kind: DATA_DOWNLOAD_KIND.to_string(),
        namespace: json::namespace(download).map(str::to_string),
        name: json::name(download)?.to_string(),
        owner: format!(
            "restore/{}",
            json::label(download, "velero.io/restore-name")?
        ),
        node: string_at(download, &["status", "node"]),
        volume_namespace: string_at(download, &["spec", "targetVolume", "namespace"]),
        pod: None,
        volume: None,
        claim: string_at(download, &["spec", "targetVolume", "pvc"]),
        phase: string_at(download, &["status", "phase"]),
        message: string_at(download, &["status", "message"]).filter(|m| !m.trim().is_empty()),
    })
}

fn repository(kind: &str, repo: &Value) -> Option<Repository> {
    Some(Repository {
        kind: kind.to_string(),
        namespace: json::namespace(repo).map(str::to_string),
        name: json::name(repo)?.to_string(),
        volume_namespace: string_at(repo, &["spec", "volumeNamespace"]),
        location: string_at(repo, &["spec", "backupStorageLocation"]),
        phase: string_at(repo, &["status", "phase"]),
    })
}

fn containers(pod: &Value) -> Vec<ContainerState> {
    let Some(component) = component_of_pod(pod).filter(|c| *c != "kotsadm") else {
        return Vec::new();
    };
    let (Some(name), node) = (json::name(pod), string_at(pod, &["spec", "nodeName"])) else {
        return Vec::new();
    };
    array_at(pod, &["status", "containerStatuses"])
        .iter()
        .filter_map(|status| {
            Some(ContainerState {
                component: component.to_string(),
                namespace: json::namespace(pod).map(str::to_string),
                pod: name.to_string(),
                container: string_at(status, &["name"])?,
                node: node.clone(),
                last_terminated_at: time_at(status, &["lastState", "terminated", "finishedAt"]),
            })
        })
        .collect()
}

/// The collector names a log it could not download `BackupLog <name>` / `RestoreLog <name>`, and the ones it
/// did not try after a refusal `N more backup/restore logs and results`.
fn log_errors(errors: &[CollectorError]) -> (BTreeMap<String, String>, Option<String>) {
    let mut by_object = BTreeMap::new();
    let mut not_tried = None;
    for error in errors.iter().filter(|e| e.source == "downloads") {
        let Some(target) = error.target.as_deref() else {
            continue;
        };
        let status = error
            .status
            .map(|s| format!("HTTP {s}: "))
            .unwrap_or_default();
        let reason = format!("{status}{}", error.message);
        let mut words = target.split_whitespace();
        match (words.next(), words.next()) {
            (Some("BackupLog"), Some(name)) => {
                by_object.insert(format!("backup/{name}"), reason);
            }
            (Some("RestoreLog"), Some(name)) => {
                by_object.insert(format!("restore/{name}"), reason);
            }
            _ if target.contains("logs") => not_tried = Some(reason),
            _ => {}
        }
    }
    (by_object, not_tried)
}
