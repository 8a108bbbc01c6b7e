//! Where things live in a bundle (docs/bundle-format.md), in one place for writers and readers.
use serde::{Deserialize, Serialize};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const ANALYSIS: &str = "analysis.json";
pub(crate) const CLUSTER_VERSION: &str = "cluster/version.json";
pub(crate) const CLUSTER_NODES: &str = "cluster/nodes.json";
pub(crate) const CLUSTER_NAMESPACES: &str = "cluster/namespaces.json";
pub(crate) const CLUSTER_CRDS: &str = "cluster/crds.json";
/// Events about nodes (the kubelet's: EvictionThresholdMet, NodeHasDiskPressure, FreeDiskSpaceFailed …),
/// whatever namespace they were recorded in.
pub(crate) const CLUSTER_NODE_EVENTS: &str = "cluster/node-events.json";
pub(crate) const CLUSTER_RESOURCES: &str = "cluster-resources";
pub(crate) const CUSTOM_RESOURCES: &str = "cluster-resources/custom-resources";
/// The Secrets listed by name, type and keys only: their values are never collected.
pub const SECRETS_METADATA: &str = "cluster-resources/secrets-metadata";
pub(crate) const VELERO_LOGS: &str = "velero/logs";
pub(crate) const KOTS_LOGS: &str = "kots/logs";
/// Logs of the pods of an object store that runs in the cluster (MinIO, Ceph RGW).
pub(crate) const OBJECT_STORE_LOGS: &str = "object-store/logs";
/// The KOTS Admin Console's app info (snapshot settings), from a KOTS support bundle.
pub(crate) const KOTS_APP_INFO: &str = "kots/app-info.json";
/// The application's KOTS license (YAML), from a KOTS support bundle.
pub(crate) const KOTS_LICENSE: &str = "kots/license.yaml";
pub(crate) const BACKUPS: &str = "velero/backups";
pub(crate) const RESTORES: &str = "velero/restores";
/// File name used for cluster-scoped objects under `cluster-resources/<resource>/`.
pub(crate) const CLUSTER_SCOPED_FILE: &str = "_cluster";

/// `cluster-resources/<resource>/<namespace>.json`, or `custom-resources/<plural>.<group>/…` for CRD kinds.
/// `resource` is a core plural (`pods`) or `<plural>.<group>` (`backups.velero.io`).
pub fn objects_path(resource: &str, namespace: Option<&str>) -> String {
    let file = namespace.unwrap_or(CLUSTER_SCOPED_FILE);
    if resource.contains('.') {
        format!("{CUSTOM_RESOURCES}/{resource}/{file}.json")
    } else {
        format!("{CLUSTER_RESOURCES}/{resource}/{file}.json")
    }
}

/// Folder holding every namespace file of one resource.
pub(crate) fn objects_dir(resource: &str) -> String {
    if resource.contains('.') {
        format!("{CUSTOM_RESOURCES}/{resource}/")
    } else {
        format!("{CLUSTER_RESOURCES}/{resource}/")
    }
}

/// `velero/logs/<pod>/<container>.log` or `…-previous.log`; `root` is VELERO_LOGS or KOTS_LOGS.
pub fn pod_log_path(root: &str, pod: &str, container: &str, previous: bool) -> String {
    if previous {
        format!("{root}/{pod}/{container}-previous.log")
    } else {
        format!("{root}/{pod}/{container}.log")
    }
}

/// Where a backup's log (`velero backup logs`, through a DownloadRequest) is in the bundle.
pub fn backup_log_path(backup: &str) -> String {
    format!("{BACKUPS}/{backup}/backup.log")
}
/// Where a backup's results (warnings and errors per namespace) are in the bundle.
pub fn backup_results_path(backup: &str) -> String {
    format!("{BACKUPS}/{backup}/results.json")
}
/// Where one of the other files Velero keeps of a backup in the object store (`volumeinfo.json`,
/// `itemoperations.json` …, named as [`crate::collect`] fetches them) is in the bundle.
pub(crate) fn backup_file_path(backup: &str, file: &str) -> String {
    format!("{BACKUPS}/{backup}/{file}")
}
/// Where one of the other files Velero keeps of a restore in the object store is in the bundle.
pub(crate) fn restore_file_path(restore: &str, file: &str) -> String {
    format!("{RESTORES}/{restore}/{file}")
}
/// Where a restore's log is in the bundle.
pub fn restore_log_path(restore: &str) -> String {
    format!("{RESTORES}/{restore}/restore.log")
}
/// Where a restore's results (warnings and errors per namespace) are in the bundle.
pub fn restore_results_path(restore: &str) -> String {
    format!("{RESTORES}/{restore}/results.json")
}

/// Which program wrote a log: rules choose the logs they scan by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogSource {
    /// The Velero server's pod log.
    VeleroServer,
    /// A node-agent (or restic, before Velero 1.10) pod log: file-system backups and data movement.
    NodeAgent,
    /// A backup's own log, downloaded from the object store.
    BackupLog,
    /// A restore's own log, downloaded from the object store.
    RestoreLog,
    /// The KOTS admin console's pod log (snapshots made from the KOTS UI).
    Kotsadm,
    /// A pod log of an object store running in the cluster that a storage location points at (MinIO, Ceph
    /// RGW).
    ObjectStore,
    /// The restore helper init container of a restored pod (`restore-wait`, `restic-wait` before Velero 1.10):
    /// the line it prints each second while a volume's done file is missing.
    RestoreHelper,
    /// Any other log (a plugin's init container, an unrecognised container).
    Other,
}

impl LogSource {
    /// The kebab-case name rules use in `sources:` (`velero-server`, `node-agent` …).
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::VeleroServer => "velero-server",
            LogSource::NodeAgent => "node-agent",
            LogSource::BackupLog => "backup-log",
            LogSource::RestoreLog => "restore-log",
            LogSource::Kotsadm => "kotsadm",
            LogSource::ObjectStore => "object-store",
            LogSource::RestoreHelper => "restore-helper",
            LogSource::Other => "other",
        }
    }

    /// A pod log's source, told by its container name (the same in every Velero and KOTS release).
    pub(crate) fn of_container(container: &str) -> LogSource {
        match container {
            "velero" => LogSource::VeleroServer,
            "node-agent" | "restic" => LogSource::NodeAgent,
            "kotsadm" => LogSource::Kotsadm,
            "restore-wait" | "restic-wait" => LogSource::RestoreHelper,
            _ => LogSource::Other,
        }
    }
}

impl std::str::FromStr for LogSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "velero-server" => LogSource::VeleroServer,
            "node-agent" => LogSource::NodeAgent,
            "backup-log" => LogSource::BackupLog,
            "restore-log" => LogSource::RestoreLog,
            "kotsadm" => LogSource::Kotsadm,
            "object-store" => LogSource::ObjectStore,
            "restore-helper" => LogSource::RestoreHelper,
            "other" => LogSource::Other,
            _ => {
                return Err(format!(
                    "unknown log source {s:?} (expected velero-server, node-agent, backup-log, restore-log, kotsadm, object-store, restore-helper, other)"
                ));
            }
        })
    }
}

/// Checks an entry name is a plain relative path: no `..`, no absolute path, no backslash, no empty segment.
pub(crate) fn check_entry_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.starts_with('/')
        || name.contains('\\')
        || name.contains(':') && name.len() > 1 && name.as_bytes()[1] == b':'
    {
        return Err("absolute path".into());
    }
    for segment in name.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!("bad path segment {segment:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_layout() {
        assert_eq!(
            objects_path("backups.velero.io", Some("velero")),
            "cluster-resources/custom-resources/backups.velero.io/velero.json"
        );
        assert_eq!(
            objects_path("pods", Some("app")),
            "cluster-resources/pods/app.json"
        );
        assert_eq!(
            objects_path("storageclasses", None),
            "cluster-resources/storageclasses/_cluster.json"
        );
        assert_eq!(
            pod_log_path(VELERO_LOGS, "velero-1", "velero", true),
            "velero/logs/velero-1/velero-previous.log"
        );
    }

    #[test]
    fn entry_names_must_stay_inside_the_bundle() {
        assert!(check_entry_name("velero/logs/a/b.log").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "C:\\x",
            "a\\b",
        ] {
            assert!(check_entry_name(bad).is_err(), "{bad}");
        }
    }
}
