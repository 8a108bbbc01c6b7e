//! The whole result of analysing one bundle: what `report` renders and what `--format json` prints.
use serde::{Deserialize, Serialize};

use super::findings::{Finding, ObjectRef, Verdict};
use super::readiness::Readiness;
use super::status::Status;
pub use crate::bundle::manifest::CollectorError;

/// Bumped on any incompatible change of the JSON shape (docs/report-schema.json).
pub const ANALYSIS_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub schema_version: u32,
    pub tool_version: String,
    /// RFC 3339, when the analysis ran.
    pub generated: String,
    pub bundle: BundleInfo,
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
    #[serde(default)]
    pub collector_errors: Vec<CollectorError>,
    /// What this bundle does not hold (e.g. backup logs in a troubleshoot bundle), said, never silent.
    #[serde(default)]
    pub unavailable: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BundleInfo {
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

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub kubernetes_version: Option<String>,
    pub nodes: Vec<NodeInfo>,
    pub velero: Option<ComponentInfo>,
    pub plugins: Vec<ComponentInfo>,
    pub node_agent: Option<ComponentInfo>,
    pub kots: Option<ComponentInfo>,
    /// kurl | embedded-cluster | existing
    pub install_kind: Option<String>,
    pub storage_locations: Vec<StorageLocationInfo>,
    /// restic | kopia: the file-system backup uploaders in use (pod volume backups, repositories, data
    /// uploads, the server's default), sorted.
    #[serde(default)]
    pub uploaders: Vec<String>,
    /// The velero server's `--uploader-type`: what new file-system backups use.
    #[serde(default)]
    pub server_uploader_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub name: String,
    pub os_image: Option<String>,
    pub kernel_version: Option<String>,
    pub container_runtime: Option<String>,
    pub kubelet_version: Option<String>,
    pub architecture: Option<String>,
    pub ready: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentInfo {
    pub name: String,
    pub version: Option<String>,
    pub image: Option<String>,
    pub namespace: Option<String>,
    /// e.g. "2/3 ready, 4 restarts, last terminated OOMKilled"
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StorageLocationInfo {
    pub name: String,
    pub namespace: Option<String>,
    pub provider: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub phase: Option<String>,
    pub last_validation: Option<String>,
    pub message: Option<String>,
    pub default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    /// backup | restore
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub phase: Option<String>,
    pub started: Option<String>,
    pub completed: Option<String>,
    pub duration_seconds: Option<i64>,
    pub errors: Option<i64>,
    pub warnings: Option<i64>,
    pub storage_location: Option<String>,
    /// For a restore, the backup it restores.
    pub backup_name: Option<String>,
    /// The schedule that created a backup (its `velero.io/schedule-name` label), or whose newest backup a
    /// restore restores (`spec.scheduleName`): which schedule keeps failing.
    #[serde(default)]
    pub schedule: Option<String>,
    /// KOTS: instance (full) | app (partial) | none
    pub kots_backup_type: Option<String>,
    pub failure_reason: Option<String>,
    pub log_available: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeRef {
    pub namespace: String,
    pub pod: String,
    pub volume: String,
    pub volume_type: String,
    pub claim_name: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub target: ObjectRef,
    pub entries: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub time: Option<String>,
    /// backup | backup-log | velero-server | node-agent | podvolumebackup | dataupload | event | storage-location |
    /// container (a velero / node-agent restart) | snapdoc
    pub source: String,
    pub text: String,
    /// file:line or kind namespace/name
    pub location: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRef {
    pub id: String,
    pub name: String,
    pub title: String,
    pub category: String,
}
