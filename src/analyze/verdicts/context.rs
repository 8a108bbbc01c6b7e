//! What the bundle says about the objects around each backup, read once from the inventory: the pod volume
//! backups and data uploads it made (their node, pod, volume), the repositories they wrote to, the velero and
//! node-agent containers that ran them, and why a log is missing. Findings name these objects, not backups;
//! the verdicts link them through this.
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::analyze::analysis::BackupSummary;
use crate::analyze::environment::is_failed;
use crate::analyze::facts::backups::BackupOrRestore;
use crate::analyze::facts::components::{Workload, component_of_pod};
use crate::analyze::facts::go_duration_seconds;
use crate::analyze::facts::interned::Strings;
use crate::analyze::facts::inventory::Inventory;
use crate::analyze::facts::json::{self, array_at, str_at, string_at, time_at};
use crate::analyze::facts::pod_volume_backups::{self, PodVolumeBackup};
use crate::bundle::{Bundle, CollectorError, layout};

/// Velero's default `--fs-backup-timeout` (`--restic-timeout` before 1.10) and `spec.itemOperationTimeout`.
pub(crate) const DEFAULT_OPERATION_TIMEOUT: SignedDuration = SignedDuration::from_hours(4);

pub(crate) const PVB_KIND: &str = pod_volume_backups::RESOURCE;
pub(crate) const DATA_UPLOAD_KIND: &str = "datauploads.velero.io";
pub(crate) const PVR_KIND: &str = "podvolumerestores.velero.io";
pub(crate) const DATA_DOWNLOAD_KIND: &str = "datadownloads.velero.io";
/// Volume operations kept for the verdicts. Past it, those of backups / restores that completed are left
/// out, the oldest first (a verdict is only ever about one that failed, partially failed or is in progress);
/// how many is said in the report. A million pod volume backups held as operations were hundreds of MB.
pub(crate) const MAX_VOLUME_OPERATIONS: usize = 100_000;

/// One volume's data moved for a backup or a restore: a PodVolumeOperation / PodVolumeRestore (file-system
/// backup), a DataUpload / DataDownload (CSI data mover, Velero 1.12+).
/// Its texts are shared (facts/interned.rs): the verdicts hold every operation through the log scan, 20,000 on
/// the 1 GiB scale bundle, and most of their texts repeat (BENCHMARKS.md, "Analysis memory (#20)").
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VolumeOperation {
    /// One of [`PVB_KIND`], [`DATA_UPLOAD_KIND`], [`PVR_KIND`], [`DATA_DOWNLOAD_KIND`].
    pub kind: &'static str,
    pub namespace: Option<Arc<str>>,
    pub name: Arc<str>,
    /// `backup/<name>` or `restore/<name>`, from its `velero.io/backup-name` / `velero.io/restore-name` label.
    pub owner: Arc<str>,
    /// The node that ran it: a PVB's `spec.node`, a data mover's `status.node`, a PVR's pod's node.
    pub node: Option<Arc<str>>,
    /// The namespace of the volume (its pod's, a DataUpload's `spec.sourceNamespace`, a DataDownload's target's):
    /// its repository's `volumeNamespace`.
    pub(crate) volume_namespace: Option<Arc<str>>,
    pub pod: Option<Arc<str>>,
    pub volume: Option<Arc<str>>,
    /// A data mover's PVC; for a PVB / PVR, the pod's claim for the volume when the bundle holds the pod.
    pub claim: Option<Arc<str>>,
    pub phase: Option<Arc<str>>,
    pub message: Option<Arc<str>>,
}

/// One entry of Velero's `volumeinfo.json` (internal/volume/volumes_information.go, BackupVolumeInfo and
/// RestoreVolumeInfo): how the volume was backed up or restored, whether Velero skipped it and why, and the
/// result, as Velero itself recorded it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VolumeInfo {
    pub(crate) claim_namespace: Option<String>,
    pub(crate) claim: Option<String>,
    /// PodVolumeBackup | CSISnapshot | NativeSnapshot | PodVolumeRestore (empty when skipped).
    pub(crate) method: Option<String>,
    /// A CSI snapshot whose data a data mover moved.
    pub(crate) data_moved: bool,
    pub(crate) skipped: bool,
    /// `<approach>: <reason>;` for each approach that skipped it (pkg/backup/pv_skip_tracker.go).
    pub(crate) skipped_reason: Option<String>,
    /// succeeded | failed (backups only).
    pub(crate) result: Option<String>,
    /// For a file-system backup / restore: the pod, its volume and the node.
    pub(crate) pod_namespace: Option<String>,
    pub(crate) pod: Option<String>,
    pub(crate) volume: Option<String>,
    pub(crate) node: Option<String>,
    /// The PodVolumeBackup's or DataUpload's phase as recorded.
    pub(crate) phase: Option<String>,
}

impl VolumeInfo {
    fn from_json(entry: &Value) -> VolumeInfo {
        let text = |path: &[&str]| {
            str_at(entry, path)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let pod_volume = if entry.get("pvbInfo").is_some() {
            "pvbInfo"
        } else {
            "pvrInfo"
        };
        VolumeInfo {
            claim_namespace: text(&["pvcNamespace"]),
            claim: text(&["pvcName"]),
            method: text(&["backupMethod"]).or_else(|| text(&["restoreMethod"])),
            data_moved: entry["snapshotDataMoved"] == Value::Bool(true),
            skipped: entry["skipped"] == Value::Bool(true),
            skipped_reason: text(&["skippedReason"]),
            result: text(&["result"]),
            pod_namespace: text(&[pod_volume, "podNamespace"]),
            pod: text(&[pod_volume, "podName"]),
            volume: text(&[pod_volume, "volumeName"]),
            node: text(&[pod_volume, "nodeName"]),
            // Go's field names: the Phase of PodVolumeInfo, NativeSnapshotInfo and SnapshotDataMovementInfo
            // carries no JSON tag.
            phase: text(&[pod_volume, "Phase"])
                .or_else(|| text(&["nativeSnapshotInfo", "Phase"]))
                .or_else(|| text(&["snapshotDataMovementInfo", "Phase"])),
        }
    }
}

/// Velero's `volumeinfo.json` of each failed backup and restore the bundle holds it for. A file that does
/// not parse as Velero writes it is left out, as if absent: the verdict then rests on the objects alone.
pub(crate) fn read_volume_infos(
    bundle: &mut Bundle,
    summaries: &[BackupSummary],
) -> BTreeMap<String, Vec<VolumeInfo>> {
    let mut infos = BTreeMap::new();
    for summary in summaries.iter().filter(|s| is_failed(s.phase.as_deref())) {
        let path = match &*summary.kind {
            "restore" => layout::restore_file_path(&summary.name, "volumeinfo.json"),
            _ => layout::backup_file_path(&summary.name, "volumeinfo.json"),
        };
        let Ok(Some(Value::Array(entries))) = bundle.read_json(&path) else {
            continue;
        };
        infos.insert(
            format!("{}/{}", summary.kind, summary.name),
            entries.iter().map(VolumeInfo::from_json).collect(),
        );
    }
    infos
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
    /// `ready` in its status: a velero server that is not ready processes no backup.
    pub(crate) ready: bool,
}

/// What a backup / restore object says beyond its summary: when it was made, what it was to hold, its timeout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub created: Option<Timestamp>,
    /// `spec.includedNamespaces`; empty or `*` means every namespace. Shared: a schedule's backups name the
    /// same ones, and the specs are held through the log scan.
    pub(crate) included_namespaces: Box<[Arc<str>]>,
    /// `spec.itemOperationTimeout`, Velero's default when unset.
    pub(crate) item_operation_timeout: SignedDuration,
}

/// What a fix command needs of a backup storage location: where it writes and with which credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LocationFacts {
    pub(crate) bucket: Option<String>,
    pub(crate) prefix: Option<String>,
    /// `spec.config.region`.
    pub(crate) region: Option<String>,
    /// `spec.config.s3Url`: the endpoint of an S3-compatible store.
    pub(crate) s3_url: Option<String>,
    /// `spec.credential`: the secret (and its key) this location reads instead of the server's.
    pub(crate) credential: Option<SecretKey>,
    /// The object store inside the cluster its `s3Url` names (kURL's MinIO, Rook's RGW): a store that refuses
    /// writes for want of space is full on one of its claims.
    pub(crate) store: Option<InClusterStore>,
}

/// An object store that runs in the cluster, behind the Service a location's `s3Url` names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InClusterStore {
    pub(crate) namespace: String,
    pub(crate) service: String,
    /// The claims the store's pods mount (all of its namespace's when no pod of it is known).
    pub(crate) claims: Vec<StoreClaim>,
}

/// A PersistentVolumeClaim of an in-cluster store: how much room the store has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreClaim {
    pub(crate) name: String,
    /// `status.capacity.storage`, else `spec.resources.requests.storage`.
    pub(crate) capacity: Option<String>,
    pub(crate) storage_class: Option<String>,
}

impl InClusterStore {
    /// The store, and its claims, in words: "Service minio in namespace minio, on claim minio/minio-pv-claim
    /// (10Gi, storage class local)".
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("Service {} in namespace {}", self.service, self.namespace);
        let claims: Vec<String> = self
            .claims
            .iter()
            .map(|c| {
                let details: Vec<String> = c
                    .capacity
                    .iter()
                    .cloned()
                    .chain(c.storage_class.iter().map(|s| format!("storage class {s}")))
                    .collect();
                match details.is_empty() {
                    true => format!("{}/{}", self.namespace, c.name),
                    false => format!("{}/{} ({})", self.namespace, c.name, details.join(", ")),
                }
            })
            .collect();
        match claims.len() {
            0 => {}
            1 => text += &format!(", on claim {}", claims[0]),
            _ => text += &format!(", on claims {}", claims.join(", ")),
        }
        text
    }
}

/// The in-cluster store behind each location whose `s3Url` names a Service of a namespace the bundle holds.
fn in_cluster_stores(inv: &Inventory) -> BTreeMap<String, InClusterStore> {
    let namespaces: Vec<String> = inv
        .namespaces
        .iter()
        .filter_map(json::name)
        .map(str::to_string)
        .collect();
    let mut stores = BTreeMap::new();
    for location in inv.storage_locations.iter() {
        let velero_namespace = json::namespace(location).unwrap_or("velero");
        let list = serde_json::json!({ "items": [location] });
        for service in crate::collect::store_services(&list, velero_namespace, &namespaces) {
            let in_namespace = |o: &&Value| json::namespace(o) == Some(service.namespace.as_str());
            let mounted: Vec<&str> = inv
                .pods
                .iter()
                .filter(in_namespace)
                .filter(|pod| crate::collect::serves(pod, &service.service))
                .flat_map(|pod| array_at(pod, &["spec", "volumes"]))
                .filter_map(|v| str_at(v, &["persistentVolumeClaim", "claimName"]))
                .collect();
            let claims = inv
                .persistent_volume_claims
                .iter()
                .filter(in_namespace)
                .filter(|c| {
                    mounted.is_empty() || json::name(c).is_some_and(|n| mounted.contains(&n))
                })
                .filter_map(|c| {
                    Some(StoreClaim {
                        name: json::name(c)?.to_string(),
                        capacity: string_at(c, &["status", "capacity", "storage"]).or_else(|| {
                            string_at(c, &["spec", "resources", "requests", "storage"])
                        }),
                        storage_class: string_at(c, &["spec", "storageClassName"]),
                    })
                })
                .collect();
            stores.insert(
                service.location.clone(),
                InClusterStore {
                    namespace: service.namespace,
                    service: service.service,
                    claims,
                },
            );
        }
    }
    stores
}

/// A key of a secret: what `kubectl get secret NAME -o jsonpath='{.data.KEY}'` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretKey {
    pub(crate) name: String,
    /// Unknown when only the secret's volume is known and no credentials-file variable names a file in it.
    pub(crate) key: Option<String>,
}

fn location_facts(object: &Value) -> LocationFacts {
    let text = |path: &[&str]| string_at(object, path).filter(|s| !s.trim().is_empty());
    LocationFacts {
        bucket: text(&["spec", "objectStorage", "bucket"]),
        prefix: text(&["spec", "objectStorage", "prefix"]),
        region: text(&["spec", "config", "region"]),
        s3_url: text(&["spec", "config", "s3Url"]),
        credential: text(&["spec", "credential", "name"]).map(|name| SecretKey {
            name,
            key: text(&["spec", "credential", "key"]),
        }),
        store: None,
    }
}

/// The secret the velero server reads its cloud credentials from: the secret of its `cloud-credentials`
/// volume, and the key the credentials-file variable (`AWS_SHARED_CREDENTIALS_FILE`,
/// `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_CREDENTIALS_FILE`) names in its mount.
fn server_credentials(velero: &Workload<'_>) -> Option<SecretKey> {
    let volume = array_at(velero.pod_spec, &["volumes"])
        .iter()
        .find(|v| str_at(v, &["name"]) == Some("cloud-credentials"))?;
    let name = string_at(volume, &["secret", "secretName"]).filter(|n| !n.is_empty())?;
    let mount = array_at(velero.container, &["volumeMounts"])
        .iter()
        .find(|m| str_at(m, &["name"]) == Some("cloud-credentials"))
        .and_then(|m| str_at(m, &["mountPath"]));
    let key = mount.and_then(|mount| {
        let mount = mount.trim_end_matches('/');
        [
            "AWS_SHARED_CREDENTIALS_FILE",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AZURE_CREDENTIALS_FILE",
        ]
        .iter()
        .filter_map(|variable| velero.env(variable))
        .find_map(|file| {
            let key = file.strip_prefix(mount)?.strip_prefix('/')?;
            (!key.is_empty() && !key.contains('/')).then(|| key.to_string())
        })
    });
    Some(SecretKey { name, key })
}

/// Everything the verdicts read besides the findings; [`VerdictContext::default`] knows nothing but Velero's
/// default timeouts (every link but a backup's own and its location's is then unknown).
#[derive(Debug, Clone)]
pub(crate) struct VerdictContext {
    pub(crate) volume_operations: Vec<VolumeOperation>,
    /// Volume operations past [`MAX_VOLUME_OPERATIONS`] left out (all of completed backups / restores).
    pub(crate) volume_operations_left_out: usize,
    pub repositories: Vec<Repository>,
    pub containers: Vec<ContainerState>,
    /// Backups and restores by name (`backup/<name>`, `restore/<name>`): those not Completed, the only ones
    /// a verdict or the stuck test reads.
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
    /// Velero's own record of each volume of a failed backup / restore (`backup/<name>` → its
    /// `volumeinfo.json`, Velero 1.13+ for backups, 1.14+ for restores), when the bundle holds it.
    pub(crate) volume_infos: BTreeMap<String, Vec<VolumeInfo>>,
    /// Backup storage locations by name, for the fix commands.
    pub(crate) locations: BTreeMap<String, LocationFacts>,
    /// The secret the velero server reads its cloud credentials from (a location without `spec.credential`
    /// uses it).
    pub(crate) server_credentials: Option<SecretKey>,
    /// The server's and node agent's flags (facts/settings.rs): a verdict whose cause is a timeout says which
    /// one, and how long it was.
    pub(crate) settings: Vec<crate::analyze::analysis::ServerSetting>,
}

impl Default for VerdictContext {
    fn default() -> VerdictContext {
        VerdictContext {
            volume_operations: Vec::new(),
            volume_operations_left_out: 0,
            repositories: Vec::new(),
            containers: Vec::new(),
            specs: BTreeMap::new(),
            fs_backup_timeout: DEFAULT_OPERATION_TIMEOUT,
            log_errors: BTreeMap::new(),
            logs_not_tried: None,
            bundle_format: None,
            item_errors: BTreeMap::new(),
            volume_infos: BTreeMap::new(),
            locations: BTreeMap::new(),
            server_credentials: None,
            settings: Vec::new(),
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
            .filter(move |v| *v.owner == *owner)
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
        let mut strings = Strings::default();
        let mut specs = BTreeMap::new();
        // Read only for a backup or restore that gets a verdict or may be stuck (verdicts/stuck.rs): one that
        // Completed gets neither, and a bundle's tens of thousands of them held a spec each.
        for (kind, object) in backups_and_restores(inv) {
            if let Some(name) = object.name()
                && object.phase() != Some("Completed")
            {
                specs.insert(format!("{kind}/{name}"), spec(object, &mut strings));
            }
        }
        let (log_errors, logs_not_tried) = log_errors(collector_errors);
        let pods = Pods::index(inv);
        let mut volume_operations: Vec<VolumeOperation> = Vec::new();
        for pvb in &inv.pod_volume_backups {
            volume_operations.extend(pod_volume_backup(pvb, &pods, &mut strings));
        }
        for upload in inv.data_uploads.iter() {
            volume_operations.extend(data_upload(upload, &mut strings));
        }
        for pvr in inv.pod_volume_restores.iter() {
            volume_operations.extend(pod_volume_restore(pvr, &pods, &mut strings));
        }
        for download in inv.data_downloads.iter() {
            volume_operations.extend(data_download(download, &mut strings));
        }
        let (mut volume_operations, volume_operations_left_out) =
            bounded_operations(volume_operations, inv, MAX_VOLUME_OPERATIONS);
        // The vector grew by doubling: held through the log scan, at its size.
        volume_operations.shrink_to_fit();
        VerdictContext {
            volume_operations,
            volume_operations_left_out,
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
            volume_infos: BTreeMap::new(),
            locations: {
                let mut stores = in_cluster_stores(inv);
                inv.storage_locations
                    .iter()
                    .filter_map(|object| {
                        let name = json::name(object)?.to_string();
                        let mut facts = location_facts(object);
                        facts.store = stores.remove(&name);
                        Some((name, facts))
                    })
                    .collect()
            },
            server_credentials: velero.and_then(server_credentials),
            settings: Vec::new(),
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
        let path = match &*summary.kind {
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

/// Every backup, then every restore, with its kind (backup | restore).
fn backups_and_restores(
    inv: &Inventory,
) -> impl Iterator<Item = (&'static str, &dyn BackupOrRestore)> {
    let backups = inv
        .backups
        .iter()
        .map(|b| ("backup", b as &dyn BackupOrRestore));
    let restores = inv
        .restores
        .iter()
        .map(|r| ("restore", r as &dyn BackupOrRestore));
    backups.chain(restores)
}

fn spec(object: &dyn BackupOrRestore, strings: &mut Strings) -> Spec {
    Spec {
        created: object.created(),
        included_namespaces: object
            .included_namespaces()
            .into_iter()
            .map(|namespace| strings.share(namespace))
            .collect(),
        item_operation_timeout: object
            .item_operation_timeout()
            .and_then(go_duration_seconds)
            .map(SignedDuration::from_secs)
            .unwrap_or(DEFAULT_OPERATION_TIMEOUT),
    }
}

/// At most `max` operations: when there are more, those of completed backups / restores are left out, the
/// ones owned by the oldest first (by the owner's creation time, then name). Returns what is kept and how
/// many were left out.
pub(crate) fn bounded_operations(
    mut operations: Vec<VolumeOperation>,
    inv: &Inventory,
    max: usize,
) -> (Vec<VolumeOperation>, usize) {
    if operations.len() <= max {
        return (operations, 0);
    }
    // Owner → (completed, created): what decides which go first.
    let mut owners: std::collections::HashMap<String, (bool, Option<String>)> =
        std::collections::HashMap::new();
    for (kind, object) in backups_and_restores(inv) {
        if let Some(name) = object.name() {
            let completed = object.phase() == Some("Completed");
            let created = object.created_text().map(str::to_string);
            owners.insert(format!("{kind}/{name}"), (completed, created));
        }
    }
    // Completed owners' operations, oldest owner first, are the ones to leave out.
    let key = |op: &VolumeOperation| -> (bool, Option<String>, Arc<str>) {
        let (completed, created) = owners.get(&*op.owner).cloned().unwrap_or((false, None));
        // Not completed sorts last (kept); among completed, the oldest first.
        (!completed, created, op.owner.clone())
    };
    operations.sort_by_cached_key(key);
    let excess = operations.len() - max;
    let removable = operations
        .iter()
        .take_while(|op| {
            owners
                .get(&*op.owner)
                .is_some_and(|(completed, _)| *completed)
        })
        .count();
    let left_out = excess.min(removable);
    operations.drain(..left_out);
    (operations, left_out)
}

/// The bundle's pods by namespace and name, built once: each PodVolumeBackup looks up its pod, and going through
/// every pod for each of 200,000 PodVolumeBackups took minutes.
struct Pods<'a>(json::ByName<'a>);

impl<'a> Pods<'a> {
    fn index(inv: &'a Inventory) -> Self {
        Pods(json::ByName::index(inv.pods.iter()))
    }

    /// A pod has a name: none is looked up without one.
    fn get(&self, namespace: Option<&str>, name: Option<&str>) -> Option<&'a Value> {
        self.0.get(namespace, Some(name?))
    }
}

fn pod_volume_backup(
    pvb: &PodVolumeBackup,
    pods: &Pods<'_>,
    strings: &mut Strings,
) -> Option<VolumeOperation> {
    // The projection's texts are shared already; adopted, equal texts of the other kinds share them too.
    let mut adopt = |s: &Option<Arc<str>>| s.as_ref().map(|s| strings.adopt(s));
    let namespace = adopt(&pvb.namespace);
    let node = adopt(&pvb.node);
    let volume_namespace = adopt(&pvb.pod_namespace);
    let pod = adopt(&pvb.pod);
    let volume = adopt(&pvb.volume);
    let phase = adopt(&pvb.phase);
    let claim = claim_of(
        pods.get(pvb.pod_namespace.as_deref(), pvb.pod.as_deref()),
        pvb.volume.as_deref(),
    );
    Some(VolumeOperation {
        kind: PVB_KIND,
        namespace,
        name: pvb.name.clone()?,
        owner: strings.share(&format!("backup/{}", pvb.backup.as_deref()?)),
        node,
        volume_namespace,
        pod,
        volume,
        claim: claim.map(|c| strings.share(c)),
        phase,
        message: pvb
            .message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(Arc::from),
    })
}

/// The claim behind a pod's volume, when the bundle holds the pod.
fn claim_of<'p>(pod: Option<&'p Value>, volume: Option<&str>) -> Option<&'p str> {
    array_at(pod?, &["spec", "volumes"])
        .iter()
        .find(|v| str_at(v, &["name"]) == volume)
        .and_then(|v| str_at(v, &["persistentVolumeClaim", "claimName"]))
}

/// The text at `path` of `object`, shared through `strings`.
fn shared_at(object: &Value, path: &[&str], strings: &mut Strings) -> Option<Arc<str>> {
    str_at(object, path).map(|s| strings.share(s))
}

/// A message is the operation's own (not shared), and none when blank.
fn message_at(object: &Value) -> Option<Arc<str>> {
    str_at(object, &["status", "message"])
        .filter(|m| !m.trim().is_empty())
        .map(Arc::from)
}

fn data_upload(upload: &Value, strings: &mut Strings) -> Option<VolumeOperation> {
    let owner = format!("backup/{}", json::label(upload, "velero.io/backup-name")?);
    Some(VolumeOperation {
        kind: DATA_UPLOAD_KIND,
        namespace: json::namespace(upload).map(|s| strings.share(s)),
        name: Arc::from(json::name(upload)?),
        owner: strings.share(&owner),
        node: shared_at(upload, &["status", "node"], strings),
        volume_namespace: shared_at(upload, &["spec", "sourceNamespace"], strings),
        pod: None,
        volume: None,
        claim: shared_at(upload, &["spec", "sourcePVC"], strings),
        phase: shared_at(upload, &["status", "phase"], strings),
        message: message_at(upload),
    })
}

/// A PVR names no node: the node agent next to the restored pod runs it.
fn pod_volume_restore(
    pvr: &Value,
    pods: &Pods<'_>,
    strings: &mut Strings,
) -> Option<VolumeOperation> {
    let pod_namespace = str_at(pvr, &["spec", "pod", "namespace"]);
    let pod = str_at(pvr, &["spec", "pod", "name"]);
    let volume = str_at(pvr, &["spec", "volume"]);
    let restored_pod = pods.get(pod_namespace, pod);
    let owner = format!("restore/{}", json::label(pvr, "velero.io/restore-name")?);
    Some(VolumeOperation {
        kind: PVR_KIND,
        namespace: json::namespace(pvr).map(|s| strings.share(s)),
        name: Arc::from(json::name(pvr)?),
        owner: strings.share(&owner),
        node: restored_pod.and_then(|p| shared_at(p, &["spec", "nodeName"], strings)),
        claim: claim_of(restored_pod, volume).map(|c| strings.share(c)),
        volume_namespace: pod_namespace.map(|s| strings.share(s)),
        pod: pod.map(|s| strings.share(s)),
        volume: volume.map(|s| strings.share(s)),
        phase: shared_at(pvr, &["status", "phase"], strings),
        message: message_at(pvr),
    })
}

fn data_download(download: &Value, strings: &mut Strings) -> Option<VolumeOperation> {
    let owner = format!(
        "restore/{}",
        json::label(download, "velero.io/restore-name")?
    );
    Some(VolumeOperation {
        kind: DATA_DOWNLOAD_KIND,
        namespace: json::namespace(download).map(|s| strings.share(s)),
        name: Arc::from(json::name(download)?),
        owner: strings.share(&owner),
        node: shared_at(download, &["status", "node"], strings),
        volume_namespace: shared_at(download, &["spec", "targetVolume", "namespace"], strings),
        pod: None,
        volume: None,
        claim: shared_at(download, &["spec", "targetVolume", "pvc"], strings),
        phase: shared_at(download, &["status", "phase"], strings),
        message: message_at(download),
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
                ready: status
                    .get("ready")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
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

#[cfg(test)]
mod credential_tests {
    use super::*;

    #[test]
    fn the_servers_secret_and_key_come_from_its_volume_and_credentials_file() {
        let pod_spec = serde_json::json!({
            "volumes": [{"name": "plugins", "emptyDir": {}},
                        {"name": "cloud-credentials", "secret": {"secretName": "velero-aws"}}],
            "containers": [{"name": "velero",
                "env": [{"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/credentials/aws-creds"}],
                "volumeMounts": [{"name": "cloud-credentials", "mountPath": "/credentials"}]}]
        });
        let workload = Workload {
            name: "velero".into(),
            namespace: Some("velero".into()),
            pod_spec: &pod_spec,
            container: &pod_spec["containers"][0],
            controller: None,
        };
        assert_eq!(
            server_credentials(&workload),
            Some(SecretKey {
                name: "velero-aws".into(),
                key: Some("aws-creds".into())
            })
        );
        // No credentials file under the mount: the key is unknown.
        let mut no_file = pod_spec.clone();
        no_file["containers"][0]["env"] = serde_json::json!([]);
        let workload = Workload {
            container: &no_file["containers"][0],
            pod_spec: &no_file,
            ..workload
        };
        assert_eq!(
            server_credentials(&workload),
            Some(SecretKey {
                name: "velero-aws".into(),
                key: None
            })
        );
    }

    #[test]
    fn a_locations_own_credential_and_config_are_read() {
        let bsl = serde_json::json!({"metadata": {"name": "aws-east"}, "spec": {
            "objectStorage": {"bucket": "b", "prefix": ""},
            "config": {"region": "eu-west-1", "s3Url": "https://s3.example"},
            "credential": {"name": "bsl-creds", "key": "cloud"}}});
        let facts = location_facts(&bsl);
        assert_eq!(facts.bucket.as_deref(), Some("b"));
        assert_eq!(facts.prefix, None, "an empty prefix is none");
        assert_eq!(facts.region.as_deref(), Some("eu-west-1"));
        assert_eq!(facts.s3_url.as_deref(), Some("https://s3.example"));
        assert_eq!(
            facts.credential,
            Some(SecretKey {
                name: "bsl-creds".into(),
                key: Some("cloud".into())
            })
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::facts::backups::Backups;
    use crate::bundle::reader::SharedObjects;
    use serde_json::json;

    fn operation(owner: &str, name: &str) -> VolumeOperation {
        VolumeOperation {
            kind: PVB_KIND,
            name: name.into(),
            owner: owner.into(),
            ..VolumeOperation::default()
        }
    }

    #[test]
    fn a_location_on_an_in_cluster_service_gets_the_claims_its_store_pods_mount() {
        let bsl = |name: &str, url: &str| {
            json!({"metadata": {"name": name, "namespace": "velero"},
            "spec": {"provider": "aws", "config": {"s3Url": url}}})
        };
        let claim = |name: &str| {
            json!({"metadata": {"name": name, "namespace": "minio"},
            "spec": {"storageClassName": "local", "resources": {"requests": {"storage": "5Gi"}}},
            "status": {"capacity": {"storage": "10Gi"}}})
        };
        let inv = Inventory {
            storage_locations: SharedObjects::new(vec![
                bsl("default", "http://minio.minio"),
                bsl("aws", "https://s3.us-east-1.amazonaws.com"),
            ]),
            namespaces: SharedObjects::new(vec![json!({"metadata": {"name": "minio"}})]),
            pods: SharedObjects::new(vec![json!({"metadata": {"name": "minio-6b8f9c7d5-r7t4m",
                "namespace": "minio"}, "spec": {"volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "minio-pv-claim"}}]}})]),
            persistent_volume_claims: SharedObjects::new(vec![
                claim("minio-pv-claim"),
                claim("other"),
            ]),
            ..Inventory::default()
        };
        let stores = in_cluster_stores(&inv);
        assert_eq!(stores.keys().collect::<Vec<_>>(), ["default"]);
        assert_eq!(
            stores["default"].describe(),
            "Service minio in namespace minio, on claim minio/minio-pv-claim (10Gi, storage class local)"
        );
    }

    #[test]
    fn past_the_bound_the_operations_of_the_oldest_completed_backups_are_left_out_and_counted() {
        let backup = |name: &str, phase: &str, created: &str| json!({"metadata": {"name": name, "creationTimestamp": created}, "status": {"phase": phase}});
        let inv = Inventory {
            backups: Backups::from_objects(&[
                backup("old", "Completed", "2026-01-01T00:00:00Z"),
                backup("mid", "Completed", "2026-02-01T00:00:00Z"),
                backup("failed", "Failed", "2025-01-01T00:00:00Z"),
                backup("new", "Completed", "2026-03-01T00:00:00Z"),
            ]),
            ..Inventory::default()
        };
        let operations: Vec<VolumeOperation> = ["new", "failed", "old", "mid"]
            .iter()
            .flat_map(|b| {
                (0..3).map(move |i| operation(&format!("backup/{b}"), &format!("{b}-{i}")))
            })
            .collect();
        // Within the bound: all, in their order.
        let (kept, left_out) = bounded_operations(operations.clone(), &inv, 12);
        assert_eq!((kept, left_out), (operations.clone(), 0));
        // Over it: the oldest completed backup's first, never the failed one's.
        let (kept, left_out) = bounded_operations(operations.clone(), &inv, 7);
        assert_eq!(left_out, 5);
        let owners: BTreeMap<&str, usize> = kept.iter().fold(BTreeMap::new(), |mut m, op| {
            *m.entry(&*op.owner).or_default() += 1;
            m
        });
        assert_eq!(
            owners,
            BTreeMap::from([("backup/failed", 3), ("backup/mid", 1), ("backup/new", 3)])
        );
        // Only completed ones are left out, even if the bound is not reached then.
        let (kept, left_out) = bounded_operations(operations, &inv, 1);
        assert_eq!(left_out, 9);
        assert!(kept.iter().all(|op| &*op.owner == "backup/failed"));
    }

    #[test]
    fn only_backups_and_restores_that_did_not_complete_keep_a_spec() {
        let object = |name: &str, phase: &str| {
            json!({"metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
                   "spec": {"includedNamespaces": ["app"]}, "status": {"phase": phase}})
        };
        let inv = Inventory {
            backups: Backups::from_objects(&[
                object("done", "Completed"),
                object("failed", "PartiallyFailed"),
                object("running", "InProgress"),
            ]),
            restores: SharedObjects::new(vec![
                object("restored", "Completed"),
                object("waiting", "New"),
            ]),
            ..Inventory::default()
        };
        let context = VerdictContext::from_inventory(&inv, None, &[], "snapdoc");
        let kept: Vec<&str> = context.specs.keys().map(String::as_str).collect();
        assert_eq!(kept, ["backup/failed", "backup/running", "restore/waiting"]);
        let spec = context.spec("backup", "failed").unwrap();
        assert_eq!(&*spec.included_namespaces, [Arc::from("app")]);
        assert!(context.spec("backup", "done").is_none());
    }
}
