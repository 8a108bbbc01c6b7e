//! What the analysis produces: findings, verdicts and the environment they are read against.
//! These types are the JSON report's schema (`schemaVersion` in [`Analysis`]); change them only additively.
use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Warn < Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information: nothing to fix.
    Info,
    /// Worth fixing: backups may fail or lose data.
    Warn,
    /// Backups or restores fail.
    Fail,
}

impl Severity {
    /// `info`, `warn` or `fail`, as the JSON and `--fail-on` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }
}

/// What a finding is to a verdict: a specific cause, or a generic state ("a pod volume backup failed", "the
/// location is unavailable") that a specific cause linked to the same backup always leads over, whatever the
/// severities. A rule's `role` (docs/rules.md), `cause` unless it says otherwise.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A specific cause: the verdict names it.
    #[default]
    Cause,
    /// A generic state that a cause linked to the same backup leads over.
    Symptom,
}

impl Role {
    fn is_cause(&self) -> bool {
        *self == Role::Cause
    }
}

/// A Kubernetes object named by kind (resource plural, e.g. `backups.velero.io`), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// The resource plural (`backups.velero.io`, `pods`).
    pub kind: String,
    /// The namespace, for a namespaced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

/// Why a finding was raised: a log line or an object field in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Evidence {
    /// `file` is the bundle entry path, `line` 1-based; `excerpt` the line (possibly shortened).
    #[serde(rename_all = "camelCase")]
    LogLine {
        /// The bundle entry path.
        file: String,
        /// The 1-based line number.
        line: u64,
        /// The line, possibly shortened (redacted).
        excerpt: String,
        /// The line's own time, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<String>,
    },
    /// An object and, where the rule tested one, the path and the value found there.
    #[serde(rename_all = "camelCase")]
    Object {
        /// The object.
        object: ObjectRef,
        /// The field tested (`status.phase`), when the rule tested one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// The value found there (redacted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    /// Versions compared by a compatibility rule.
    #[serde(rename_all = "camelCase")]
    Versions {
        /// The component checked (`velero-plugin-for-aws`).
        subject: String,
        /// Its version.
        subject_version: String,
        /// The component it is checked against (`velero`).
        against: String,
        /// That component's version.
        against_version: String,
        /// The versions the compatibility table supports, in words.
        supported: String,
    },
}

/// What one rule found in the bundle: its hits, what they mean and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule's id (`SD106`).
    pub rule_id: String,
    /// The rule's kebab-case name.
    pub rule_name: String,
    /// log | object | compat: the kind of evidence; a log signature names a cause more precisely than a phase.
    pub match_kind: String,
    /// How bad it is.
    pub severity: Severity,
    /// `symptom` for a generic state; absent for a cause.
    #[serde(default, skip_serializing_if = "Role::is_cause")]
    pub role: Role,
    /// The rule's category (`storage`, `node-agent` …).
    pub category: String,
    /// The rule's title.
    pub title: String,
    /// The rule's message rendered with the first hit's variables.
    pub message: String,
    /// Why this happens.
    pub cause: String,
    /// What to do about it.
    pub fix: String,
    /// Links to the Velero / KOTS documentation or issues on it.
    #[serde(default)]
    pub docs: Vec<String>,
    /// A few examples (the first ones found); `count` says how many hits there were in all.
    pub evidence: Vec<Evidence>,
    /// How many hits there were in all.
    pub count: u64,
    /// The earliest hit's time, when the hits have times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The latest hit's time, when the hits have times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Backups / restores this finding concerns.
    #[serde(default)]
    pub related: Vec<ObjectRef>,
    /// Per backup, restore, backup storage location, component container (`facts.components`) or repository the
    /// hits concern: the message rendered with the first hit concerning that object, and its own count and
    /// times. A verdict reads its target's detail (or the linked object's), not `message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetDetail>,
}

/// What a finding says about one object it concerns (see [`Finding::targets`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetDetail {
    /// The backup, restore, location, container or repository.
    pub target: ObjectRef,
    /// The rule's message rendered with the first hit concerning it.
    pub message: String,
    /// How many hits concern it.
    pub count: u64,
    /// The earliest of those hits' times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The latest of those hits' times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// "Backup X failed because …": one per failed, partially failed, invalid or stuck backup / restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The backup or restore.
    pub target: ObjectRef,
    /// Its phase (`Failed`, `PartiallyFailed`, `InProgress` for a stuck one …).
    pub phase: String,
    /// One sentence: the most specific finding's message, or the object's own failure reason.
    pub summary: String,
    /// Findings that concern the target, most specific first.
    pub finding_ids: Vec<String>,
    /// The leading finding's fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What the failure cost: volumes and namespaces without a restorable copy from this backup.
    #[serde(default, skip_serializing_if = "Lost::is_empty")]
    pub lost: Lost,
    /// When no finding explains the failure: what snapdoc would need to tell the cause (a log it could not
    /// download, and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// What a failed, partially failed or stuck backup does not hold (verdicts/lost.rs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lost {
    /// Namespaces with no restorable copy from this backup, or that a failed restore did not restore (`*`:
    /// every namespace); empty for a partially failed one, which holds (restored) the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Volumes whose data the backup does not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<LostVolume>,
    /// Items Velero recorded errors for in the results (`namespace: error`, `cluster: error`), the first few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// How many item errors the results hold in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub item_count: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Lost {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.volumes.is_empty() && self.items.is_empty()
    }
}

/// A volume a backup or restore failed to move: its pod volume backup / restore's or data mover's pod, claim,
/// volume and node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LostVolume {
    /// The pod's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The pod whose volume it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The volume's name in the pod spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// The PersistentVolumeClaim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// The node the transfer ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// fs-backup (a PodVolumeBackup / PodVolumeRestore) | data-mover (a DataUpload / DataDownload)
    pub method: String,
    /// The PodVolumeBackup / DataUpload's phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Its status.message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
