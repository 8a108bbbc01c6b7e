//! The whole result of analysing one bundle: what `report` renders and what `--format json` prints.
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::findings::{Finding, ObjectRef, Verdict};
use super::readiness::Readiness;
use super::status::Status;
pub(crate) use crate::bundle::manifest::CollectorError;

/// Bumped on any incompatible change of the JSON shape (docs/report-schema.json).
pub const ANALYSIS_SCHEMA_VERSION: u32 = 1;

/// The whole result of analysing one bundle: the conclusion, verdicts, findings and what they were read against.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// The JSON shape's version ([`ANALYSIS_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The snapdoc version that made the analysis.
    pub tool_version: String,
    /// RFC 3339, when the analysis ran.
    pub generated: String,
    /// Which bundle was read, its format and age.
    pub bundle: BundleInfo,
    /// The cluster, Velero and its plugins, node-agent, KOTS and the storage locations.
    pub environment: Environment,
    /// failed | partial | attention | incomplete | healthy: the conclusion every report and exit code reads
    /// (analyze/status.rs).
    #[serde(default)]
    pub status: Status,
    /// What snapdoc could not see that the checks need, each named: non-empty means the analysis is
    /// incomplete (exit 2 unless findings reach `--fail-on`), whatever `status` says of what was seen.
    #[serde(default)]
    pub not_seen: Vec<String>,
    /// Backups and restores, newest first.
    pub backups: Vec<BackupSummary>,
    /// "Backup X failed because …", one per failed, partially failed, invalid or stuck backup or restore.
    pub verdicts: Vec<Verdict>,
    /// Sorted by severity (fail first), then rule id.
    pub findings: Vec<Finding>,
    /// Rules that ran and found nothing.
    pub checks_passed: Vec<RuleRef>,
    /// Volumes of pods in backed-up namespaces that no backup covers.
    #[serde(default)]
    pub volumes_not_backed_up: Vec<VolumeRef>,
    /// Can this cluster be restored, what is not protected, what will fail next (analyze/readiness).
    #[serde(default)]
    pub readiness: Readiness,
    /// For the failed backups: their log lines, server lines naming them, PVB/DataUpload transitions, events.
    #[serde(default)]
    pub timelines: Vec<Timeline>,
    /// The sources the collector could not read, from the manifest.
    #[serde(default)]
    pub collector_errors: Vec<CollectorError>,
    /// What this bundle does not hold (e.g. backup logs in a troubleshoot bundle), said, never silent.
    #[serde(default)]
    pub unavailable: Vec<String>,
    /// The in-cluster probe of each storage location (`run --probe`, `check --probe`); empty when not asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probe::LocationProbe>,
}

/// The bundle an analysis read.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BundleInfo {
    /// The bundle's path as given.
    pub path: String,
    /// snapdoc | troubleshoot | velero-debug | directory
    pub format: String,
    /// When the bundle was made: the time ages are measured from ("now" of every age condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// What `created` was told from ("its manifest (the collector's clock)", "the folder name
    /// support-bundle-…", "the newest timestamp in its objects …"): a copied foreign bundle's file times
    /// are not its age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<String>,
    /// The API server it was collected from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_server: Option<String>,
    /// The kubeconfig context the bundle was collected through: what the user calls the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_context: Option<String>,
    /// For a foreign bundle, the tool and version that made it (`troubleshoot v0.107.2`), so a reader knows
    /// what kind of bundle was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<String>,
    /// What is wrong with the bundle itself: entries that differ from its manifest (tampered, truncated),
    /// a format newer than this snapdoc reads. Shown in every report's header.
    #[serde(default)]
    pub problems: Vec<String>,
    /// Other bundles of the same cluster read into this analysis (`snapdoc analyze A B`): the report names
    /// every source.
    #[serde(default)]
    pub also_read: Vec<AlsoReadInfo>,
    /// The bundle was not redacted by snapdoc (a troubleshoot or velero debug bundle, read as it came):
    /// what this analysis quotes from it was redacted when analysed, but the bundle itself may hold
    /// secrets, which a reader must know before passing it on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_redacted: bool,
}

/// A bundle read into another's analysis, and why it is the same cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AlsoReadInfo {
    pub path: String,
    pub made_by: String,
    /// What shows it is the same cluster ("kube-system namespace uid …", "3 Backup uid(s) in common").
    pub reason: String,
}

/// What the findings are read against: versions, nodes, components and storage locations.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    /// The API server's version (`v1.29.4`), when the bundle carries it.
    pub kubernetes_version: Option<String>,
    /// The cluster's nodes.
    pub nodes: Vec<NodeInfo>,
    /// The Velero server.
    pub velero: Option<ComponentInfo>,
    /// The Velero plugins (init containers of the server).
    pub plugins: Vec<ComponentInfo>,
    /// The node-agent (or restic) DaemonSet.
    pub node_agent: Option<ComponentInfo>,
    /// The KOTS Admin Console, on a KOTS install.
    pub kots: Option<ComponentInfo>,
    /// kurl | embedded-cluster | existing
    pub install_kind: Option<String>,
    /// The BackupStorageLocations.
    pub storage_locations: Vec<StorageLocationInfo>,
    /// restic | kopia: the file-system backup uploaders in use (pod volume backups, repositories, data
    /// uploads, the server's default), sorted.
    #[serde(default)]
    pub uploaders: Vec<String>,
    /// The velero server's `--uploader-type`: what new file-system backups use.
    #[serde(default)]
    pub server_uploader_type: Option<String>,
    /// The velero server's and node agent's flags that bound how long work may take and how it is done
    /// (uploader type, timeouts, maintenance frequency), as set in their args or Velero's defaults.
    #[serde(default)]
    pub settings: Vec<ServerSetting>,
}

/// One flag of the velero server or the node agent, as its container args set it or, unset, Velero's default.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServerSetting {
    /// `velero` (the server's Deployment) or `node-agent` (its DaemonSet).
    pub component: String,
    /// The flag, `--fs-backup-timeout`.
    pub flag: String,
    /// Its value as written (`4h`), Velero's default when unset (`4h0m0s`), or none when the default depends on
    /// more than the version (the maintenance frequency is each repository type's own).
    pub value: Option<String>,
    /// Whether the args leave it unset.
    pub is_default: bool,
}

/// One node and what backups depend on of it (OS, kernel, runtime, readiness).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// `status.nodeInfo.osImage`.
    pub os_image: Option<String>,
    /// `status.nodeInfo.kernelVersion`.
    pub kernel_version: Option<String>,
    /// `status.nodeInfo.containerRuntimeVersion`.
    pub container_runtime: Option<String>,
    /// `status.nodeInfo.kubeletVersion`.
    pub kubelet_version: Option<String>,
    /// `status.nodeInfo.architecture`.
    pub architecture: Option<String>,
    /// The Ready condition, when the node reports one.
    pub ready: Option<bool>,
}

/// A Velero, plugin, node-agent or KOTS container and its version.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentInfo {
    /// The component: `velero`, `node-agent`, `kotsadm`, or the plugin's name.
    pub name: String,
    /// The version read from the image tag, when it is one.
    pub version: Option<String>,
    /// The image reference.
    pub image: Option<String>,
    /// The namespace it runs in.
    pub namespace: Option<String>,
    /// e.g. "2/3 ready, 4 restarts, last terminated OOMKilled"
    pub status: Option<String>,
}

/// A BackupStorageLocation: where backups go, and whether Velero can reach it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StorageLocationInfo {
    /// The location's name.
    pub name: String,
    /// Its namespace (Velero's).
    pub namespace: Option<String>,
    /// The object store plugin (`aws`, `gcp`, `azure` …).
    pub provider: Option<String>,
    /// `spec.objectStorage.bucket`.
    pub bucket: Option<String>,
    /// `spec.objectStorage.prefix`.
    pub prefix: Option<String>,
    /// `status.phase`: Available or Unavailable.
    pub phase: Option<String>,
    /// `status.lastValidationTime`.
    pub last_validation: Option<String>,
    /// `status.message`: why it is unavailable.
    pub message: Option<String>,
    /// Whether it is the default location (`spec.default`).
    pub default: bool,
}

/// A backup or restore as the report's table lists it. A bundle lists up to 20,000 of each, held to the end of the
/// analysis: the texts they share (kind, namespace, phase, location, schedule) are shared, not copied.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    /// backup | restore
    pub kind: Arc<str>,
    /// The object's name.
    pub name: String,
    /// Its namespace (Velero's).
    pub namespace: Option<Arc<str>>,
    /// `status.phase` (Completed, PartiallyFailed, Failed, InProgress …).
    pub phase: Option<Arc<str>>,
    /// `status.startTimestamp`.
    pub started: Option<String>,
    /// `status.completionTimestamp`.
    pub completed: Option<String>,
    /// From start to completion, when both are known.
    pub duration_seconds: Option<i64>,
    /// `status.errors`: how many items Velero recorded errors for.
    pub errors: Option<i64>,
    /// `status.warnings`.
    pub warnings: Option<i64>,
    /// The BackupStorageLocation a backup went to.
    pub storage_location: Option<Arc<str>>,
    /// For a restore, the backup it restores.
    pub backup_name: Option<String>,
    /// The schedule that created a backup (its `velero.io/schedule-name` label), or whose newest backup a
    /// restore restores (`spec.scheduleName`): which schedule keeps failing.
    #[serde(default)]
    pub schedule: Option<Arc<str>>,
    /// KOTS: instance (full) | app (partial) | none
    pub kots_backup_type: Option<Arc<str>>,
    /// `status.failureReason`, Velero's own words.
    pub failure_reason: Option<String>,
    /// Whether the bundle holds the object's log.
    pub log_available: bool,
}

/// A volume of a pod in a backed-up namespace that no backup covers.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeRef {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod.
    pub pod: String,
    /// The volume's name in the pod spec.
    pub volume: String,
    /// The volume source (`persistentVolumeClaim`, `hostPath`, `emptyDir` …).
    pub volume_type: String,
    /// The claim, for a persistentVolumeClaim volume.
    pub claim_name: Option<String>,
    /// Why no backup takes it, in words.
    pub reason: String,
}

/// What happened to one failed backup, merged by time from its log, the server's, PVBs, DataUploads and events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// The backup or restore.
    pub target: ObjectRef,
    /// Its events, oldest first.
    pub entries: Vec<TimelineEntry>,
}

/// One line of a timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// When it happened (RFC 3339), when the line says.
    pub time: Option<String>,
    /// backup | backup-log | velero-server | node-agent | podvolumebackup | dataupload | event | storage-location |
    /// container (a velero / node-agent restart) | snapdoc
    pub source: String,
    /// The line or event, shortened.
    pub text: String,
    /// file:line or kind namespace/name
    pub location: String,
}

/// A rule named in a report without its findings (checks passed, not run).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRef {
    /// The rule's id (`SD106`).
    pub id: String,
    /// The rule's kebab-case name.
    pub name: String,
    /// The rule's title.
    pub title: String,
    /// The rule's category (`storage`, `node-agent` …).
    pub category: String,
}
