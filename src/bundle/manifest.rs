//! manifest.json: what the bundle holds and how it was made. Written last by the writer.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) const FORMAT_VERSION: u32 = 1;

/// manifest.json: what the bundle holds, when and from which cluster it was collected.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The manifest's schema version, raised when a field changes meaning.
    pub(crate) format_version: u32,
    /// The program and version that wrote the bundle.
    pub tool: ToolInfo,
    /// RFC 3339; the analyzer's "now" for age conditions, so a bundle reads the same every day.
    pub created: String,
    /// What told `created` for a foreign bundle, in words (bundle/dating.rs); absent for snapdoc's own,
    /// whose collector wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_from: Option<String>,
    /// The API server and kubeconfig context collected from.
    #[serde(default)]
    pub cluster: ClusterInfo,
    /// What was asked for (namespaces, `--since`, backup names), as the flags gave it.
    #[serde(default)]
    pub scope: serde_json::Map<String, serde_json::Value>,
    /// Every file in the bundle with its size and SHA-256, for `snapdoc verify`.
    pub files: Vec<FileEntry>,
    /// The sources the collector could not read (RBAC, timeouts, missing APIs).
    #[serde(default)]
    pub collector_errors: Vec<CollectorError>,
    /// Redactions made, by redaction rule name. Never the values.
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    /// Set when a signal stopped the collection after its first stage: the bundle holds what was collected
    /// before, and the analysis says it is incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interruption>,
}

/// Why and where a collection stopped before its end (`snapdoc collect` got SIGINT or SIGTERM).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Interruption {
    /// `SIGINT` or `SIGTERM`.
    pub signal: String,
    /// The stage that was running (`velero objects`, `logs and downloads` …): it and every later one are
    /// missing or incomplete.
    pub stage: String,
}

impl Interruption {
    /// How the analysis names what is missing.
    pub fn describe(&self) -> String {
        format!(
            "the collection was interrupted by {} during its {} stage (that stage and the ones after it are missing or incomplete)",
            self.signal, self.stage
        )
    }
}

impl Manifest {
    /// The stand-in manifest of a foreign bundle made by `tool` `version`: no files (no checksums), dated
    /// later (bundle/dating.rs); the reader fills in scope and collector errors.
    pub(crate) fn foreign(tool: &str, version: String) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            tool: ToolInfo {
                name: tool.into(),
                version,
            },
            created: String::new(),
            created_from: None,
            cluster: Default::default(),
            scope: Default::default(),
            files: Vec::new(),
            collector_errors: Vec::new(),
            redactions: Default::default(),
            interrupted: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "snapdoc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Which cluster a bundle was collected from.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Host and port of the API server only: never a URL with credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The kubeconfig context used, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// One file of the bundle as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// The path inside the bundle.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its content, hex.
    pub sha256: String,
    /// Why the content is incomplete (log limit reached, stream dropped), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// A source the collector could not read. The run goes on; the report lists these.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CollectorError {
    /// The collector: cluster, velero-objects, workloads, logs, downloads, kots …
    pub source: String,
    /// What it tried to read: a resource, a pod/container, a backup name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The namespace of the target, when it is namespaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// HTTP status of the API answer, when there was one (403, 404, 429, 500 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong, as the API server or the transport said it (redacted).
    pub message: String,
}
