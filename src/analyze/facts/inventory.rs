//! Every object the model reads, loaded once from the bundle. A resource file that cannot be read is
//! recorded as unavailable and read as empty: one broken file must not hide what the rest of the bundle says.
use serde_json::Value;

use super::backups::{self, Backup, Backups};
use super::picked;
use super::pod_volume_backups::PodVolumeBackups;
use crate::bundle::reader::SharedObjects;
use crate::bundle::{Bundle, layout};

#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) backups: Backups,
    pub restores: SharedObjects,
    pub schedules: SharedObjects,
    pub storage_locations: SharedObjects,
    pub(crate) snapshot_locations: SharedObjects,
    pub(crate) pod_volume_backups: PodVolumeBackups,
    pub(crate) data_uploads: SharedObjects,
    pub(crate) pod_volume_restores: SharedObjects,
    pub(crate) data_downloads: SharedObjects,
    /// Velero ≥ 1.10.
    pub(crate) backup_repositories: SharedObjects,
    /// Velero < 1.10.
    pub(crate) restic_repositories: SharedObjects,
    pub deployments: SharedObjects,
    pub daemonsets: SharedObjects,
    pub pods: SharedObjects,
    pub nodes: SharedObjects,
    pub namespaces: SharedObjects,
    pub configmaps: SharedObjects,
    pub(crate) persistent_volume_claims: SharedObjects,
    pub(crate) persistent_volumes: SharedObjects,
    /// Velero answers these with its version (`status.serverVersion`).
    pub(crate) server_status_requests: SharedObjects,
    pub version: Option<Value>,
    /// Whether the bundle holds a file for the resource at all (an empty list is still an answer).
    pub(crate) has_backups_file: bool,
    pub(crate) has_pods_file: bool,
    pub(crate) has_nodes_file: bool,
    pub(crate) has_deployments_file: bool,
    pub(crate) has_daemonsets_file: bool,
    /// Whether the Backup list held more than the analysis keeps (only the newest are read): counts over it are
    /// lower bounds.
    pub(crate) backups_kept_in_part: bool,
    /// Resource files that could not be read, in words.
    pub unreadable: Vec<String>,
}

/// Every resource the inventory reads.
pub(crate) const RESOURCES: [&str; 20] = [
    "backups.velero.io",
    "restores.velero.io",
    "schedules.velero.io",
    "backupstoragelocations.velero.io",
    "volumesnapshotlocations.velero.io",
    "podvolumebackups.velero.io",
    "datauploads.velero.io",
    "podvolumerestores.velero.io",
    "datadownloads.velero.io",
    "backuprepositories.velero.io",
    "resticrepositories.velero.io",
    "deployments",
    "daemonsets",
    "pods",
    "serverstatusrequests.velero.io",
    "nodes",
    "namespaces",
    "configmaps",
    "persistentvolumeclaims",
    "persistentvolumes",
];

impl Inventory {
    pub(crate) fn load(bundle: &mut Bundle) -> Inventory {
        let mut inv = Inventory::default();
        // Lists are shared with the rules and the timelines, which read them again (parsed once).
        let load = |bundle: &mut Bundle, resource: &str, inv: &mut Inventory| -> SharedObjects {
            match picked::objects(bundle, resource) {
                Ok(objects) if objects.iter().all(Value::is_object) => objects,
                Ok(objects) => {
                    SharedObjects::new(objects.iter().filter(|o| o.is_object()).cloned().collect())
                }
                Err(e) => {
                    inv.unreadable.push(format!("{resource}: {e}"));
                    SharedObjects::default()
                }
            }
        };
        // Many, and read by many: kept as typed projections (facts/backups.rs).
        inv.backups = match Backups::of(bundle) {
            Ok(projections) => projections,
            Err(e) => {
                inv.unreadable.push(format!("{}: {e}", backups::RESOURCE));
                Backups::default()
            }
        };
        inv.backups_kept_in_part = bundle.objects_left_out().contains_key(backups::RESOURCE);
        inv.restores = load(bundle, "restores.velero.io", &mut inv);
        inv.schedules = load(bundle, "schedules.velero.io", &mut inv);
        inv.storage_locations = load(bundle, "backupstoragelocations.velero.io", &mut inv);
        inv.snapshot_locations = load(bundle, "volumesnapshotlocations.velero.io", &mut inv);
        // The most numerous objects: kept as typed projections (facts/pod_volume_backups.rs).
        inv.pod_volume_backups = match PodVolumeBackups::of(bundle) {
            Ok(projections) => projections,
            Err(e) => {
                let resource = super::pod_volume_backups::RESOURCE;
                inv.unreadable.push(format!("{resource}: {e}"));
                PodVolumeBackups::default()
            }
        };
        inv.data_uploads = load(bundle, "datauploads.velero.io", &mut inv);
        inv.pod_volume_restores = load(bundle, "podvolumerestores.velero.io", &mut inv);
        inv.data_downloads = load(bundle, "datadownloads.velero.io", &mut inv);
        inv.backup_repositories = load(bundle, "backuprepositories.velero.io", &mut inv);
        inv.restic_repositories = load(bundle, "resticrepositories.velero.io", &mut inv);
        inv.deployments = load(bundle, "deployments", &mut inv);
        inv.daemonsets = load(bundle, "daemonsets", &mut inv);
        inv.pods = load(bundle, "pods", &mut inv);
        inv.server_status_requests = load(bundle, "serverstatusrequests.velero.io", &mut inv);
        inv.nodes = load(bundle, "nodes", &mut inv);
        inv.namespaces = load(bundle, "namespaces", &mut inv);
        inv.configmaps = load(bundle, "configmaps", &mut inv);
        inv.persistent_volume_claims = load(bundle, "persistentvolumeclaims", &mut inv);
        inv.persistent_volumes = load(bundle, "persistentvolumes", &mut inv);
        match bundle.read_json(layout::CLUSTER_VERSION) {
            Ok(version) => inv.version = version.filter(Value::is_object),
            Err(e) => inv.unreadable.push(format!("Kubernetes version: {e}")),
        }
        let has_dir = |dir: &str| bundle.entries().iter().any(|e| e.starts_with(dir));
        inv.has_backups_file = has_dir(&layout::objects_dir("backups.velero.io"));
        inv.has_pods_file = has_dir(&layout::objects_dir("pods"));
        inv.has_deployments_file = has_dir(&layout::objects_dir("deployments"));
        inv.has_daemonsets_file = has_dir(&layout::objects_dir("daemonsets"));
        inv.has_nodes_file = bundle.has(layout::CLUSTER_NODES);
        inv
    }

    /// The backups a schedule made, told by the label Velero puts on them.
    pub(crate) fn backups_of_schedule<'a>(
        &'a self,
        schedule: &'a str,
    ) -> impl Iterator<Item = &'a Backup> + 'a {
        self.backups
            .iter()
            .filter(move |b| b.schedule.as_deref() == Some(schedule))
    }
}
