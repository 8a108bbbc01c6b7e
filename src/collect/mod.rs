//! Collectors: read the cluster through kube-rs and write the bundle (docs/bundle-format.md).
//!
//! [`collect`] runs the stages in order — cluster, where Velero and KOTS run, Velero objects and
//! workloads, secrets' key names, logs and backup/restore downloads — with API calls concurrent under a
//! bound. A source that cannot be read becomes a `CollectorError` in the manifest and the run goes on;
//! only a bundle that cannot be written stops it. Everything is redacted before it is written.
//!
//! `run.rs` holds the run: the stages' order, the errors recorded and the writing. Each stage is its own file
//! under `stages/`, named for the source it reads (`stages/mod.rs` lists them in order); the files beside
//! `run.rs` are what stages share: the API client (`api.rs`), list spooling (`lists.rs`), log fetching
//! (`logs.rs`, `spool.rs`, `windows.rs`), DownloadRequests (`downloads.rs`), detection (`detect.rs`).
mod api;
mod connection;
mod detect;
mod downloads;
mod error;
mod interrupt;
mod kots_snapshots;
mod kubeconfig;
mod lists;
mod logs;
mod options;
mod preflight;
mod progress;
mod run;
mod spool;
mod stages;
mod url_reach;
mod windows;

use std::path::{Path, PathBuf};

pub use api::ApiFailure;
pub use connection::ConnectionOverrides;
pub(crate) use connection::{parse_request_timeout, request_timeout};
pub use detect::{BackupScope, Component};
pub use error::CollectError;
pub use interrupt::{Interrupt, Interrupter, Signal};
pub use kubeconfig::client_from;
pub use options::{ClusterOptions, CollectOptions, DEFAULT_SINCE};
pub(crate) use options::{DEFAULT_DOWNLOAD_TIMEOUT_SECONDS, DEFAULT_MAX_LOG_BYTES, DEFAULT_RECENT};
pub(crate) use stages::in_cluster_store::{serves, store_services};

use crate::bundle::Manifest;
use crate::bundle::manifest::ClusterInfo;

/// A finished collection: where the bundle is and what its manifest says.
#[derive(Debug, Clone)]
pub struct CollectOutcome {
    /// The bundle written (a `.zip`, or the directory with `--no-archive`).
    pub path: PathBuf,
    /// The bundle's manifest: the cluster, the scope, each collected file and each collector error.
    pub manifest: Manifest,
}

/// Collects from the cluster `client` reaches into a new bundle at `output`.
pub async fn collect(
    client: kube::Client,
    cluster: ClusterInfo,
    options: &CollectOptions,
    output: &Path,
) -> Result<CollectOutcome, CollectError> {
    collect_until(client, cluster, options, output, Interrupt::never()).await
}

/// [`collect`], stopped by `interrupt` (SIGINT / SIGTERM): after the first stage the bundle is finished with
/// what was collected and its manifest says `interrupted`; before, nothing is written
/// ([`CollectError::Interrupted`]).
pub async fn collect_until(
    client: kube::Client,
    cluster: ClusterInfo,
    options: &CollectOptions,
    output: &Path,
    interrupt: Interrupt,
) -> Result<CollectOutcome, CollectError> {
    let cluster = ClusterInfo {
        server: cluster.server.as_deref().map(host_only),
        context: cluster.context,
    };
    tokio::select! {
        biased;
        signal = interrupt.wait() => {
            return Err(CollectError::Interrupted { signal, stage: "connecting" });
        }
        checked = check_before_collecting(&client, &cluster, options) => checked?,
    }
    run::Run::start(client, options, output, interrupt)?
        .collect(cluster)
        .await
}

/// What must hold before anything is written: the API server answers and takes the credentials, and the
/// backups and restores named by `--backup` / `--restore` exist. `run` calls it before making its folder.
pub(crate) async fn check_before_collecting(
    client: &kube::Client,
    cluster: &ClusterInfo,
    options: &CollectOptions,
) -> Result<(), CollectError> {
    let server = cluster.server.as_deref().unwrap_or("of the kubeconfig");
    preflight::reach(client, server, preflight::reach_timeout(options)).await?;
    preflight::named_objects_exist(client, options).await
}

/// `snapdoc collect`: loads the kubeconfig as kubectl does, collects, writes the bundle at `output` or
/// at the default name in the current directory.
pub async fn collect_to(
    options: &CollectOptions,
    output: Option<&Path>,
) -> Result<CollectOutcome, CollectError> {
    collect_to_until(options, output, Interrupt::never()).await
}

/// [`collect_to`], stopped by `interrupt` as [`collect_until`] is.
pub async fn collect_to_until(
    options: &CollectOptions,
    output: Option<&Path>,
    interrupt: Interrupt,
) -> Result<CollectOutcome, CollectError> {
    let (client, cluster) = client_from(&options.cluster).await?;
    let output = match output {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(default_output_name(&cluster, jiff::Timestamp::now())),
    };
    collect_until(client, cluster, options, &output, interrupt).await
}

/// The manifest keeps the API server's host and port only: a caller may pass a whole URL.
fn host_only(server: &str) -> String {
    match server.parse::<http::Uri>() {
        Ok(uri) if uri.scheme().is_some() => {
            kubeconfig::server_host(&uri).unwrap_or_else(|| server.to_string())
        }
        _ => server.to_string(),
    }
}

/// `snapdoc-<cluster>-<UTC yyyymmddThhmmssZ>.zip`: the cluster named by its kubeconfig context (what the user
/// calls it), else the API server's host; `cluster` when neither is known.
pub fn default_output_name(cluster: &ClusterInfo, now: jiff::Timestamp) -> String {
    format!(
        "snapdoc-{}-{}.zip",
        cluster_file_name(cluster),
        now.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// Longest cluster name in a file name, in characters.
const CLUSTER_NAME_CHARS: usize = 64;

/// The cluster's name as part of a file or folder name, safe on every filesystem: the context, else the API
/// server's host without its port; letters, digits, `.` and `-` kept, every other run of characters one `-`
/// (`arn:aws:eks:eu-west-1:123:cluster/prod` → `arn-aws-eks-eu-west-1-123-cluster-prod`), no leading or
/// trailing `.` / `-` (no `..`, no hidden file), at most 64 characters.
pub fn cluster_file_name(cluster: &ClusterInfo) -> String {
    let host = cluster
        .server
        .as_deref()
        .map(|s| s.rsplit_once(':').map_or(s, |(host, _)| host))
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    let candidates = [cluster.context.as_deref(), host];
    candidates
        .into_iter()
        .flatten()
        .map(safe_name)
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "cluster".to_string())
}

fn safe_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.chars().take(CLUSTER_NAME_CHARS).collect();
    out.trim_matches(|c| c == '.' || c == '-').to_string()
}

/// `--since`: how far back logs and backups are collected, parsed where the flag enters (a bad value fails
/// before any connection), keeping the text the user gave for the bundle's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    text: String,
    duration: jiff::SignedDuration,
}

impl Since {
    /// The span as a duration, to subtract from now.
    pub fn duration(&self) -> jiff::SignedDuration {
        self.duration
    }
    /// The text the user gave (`24h`), as the bundle's scope records it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::str::FromStr for Since {
    type Err = CollectError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Since {
            text: text.trim().to_string(),
            duration: parse_since(text)?,
        })
    }
}

/// Parses `--since`: a sum of `<n><unit>` with units s, m, h, d, w (`72h`, `7d`, `1h30m`).
pub(crate) fn parse_since(text: &str) -> Result<jiff::SignedDuration, CollectError> {
    let invalid = |why: &str| {
        CollectError::InvalidFlag(format!(
            "--since {text:?}: {why} (expected e.g. 30m, 24h, 7d, 1h30m)"
        ))
    };
    let mut total: i64 = 0;
    let mut digits = String::new();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid(&format!("unknown unit {c:?}"))),
        };
        let n: i64 = digits
            .parse()
            .map_err(|_| invalid("a unit without a number"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| invalid("too long"))?;
    }
    if !digits.is_empty() {
        return Err(invalid("a number without a unit"));
    }
    if total == 0 {
        return Err(invalid("must be longer than 0s"));
    }
    Ok(jiff::SignedDuration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_kubectl_like_durations() {
        assert_eq!(parse_since("72h").unwrap().as_secs(), 72 * 3600);
        assert_eq!(parse_since("7d").unwrap().as_secs(), 7 * 86_400);
        assert_eq!(parse_since("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_since("2w").unwrap().as_secs(), 14 * 86_400);
        for bad in ["", "h", "12", "5y", "0s", "99999999999999999999h"] {
            let error = parse_since(bad).unwrap_err().to_string();
            assert!(error.contains("--since"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_manifest_gets_the_server_host_only() {
        assert_eq!(host_only("https://u:p@10.0.0.1:6443/"), "10.0.0.1:6443");
        assert_eq!(host_only("10.0.0.1:6443"), "10.0.0.1:6443");
    }

    #[test]
    fn the_default_name_uses_the_context_then_the_host() {
        let now: jiff::Timestamp = "2026-11-26T04:05:06Z".parse().unwrap();
        let name = |server: Option<&str>, context: Option<&str>| {
            default_output_name(
                &ClusterInfo {
                    server: server.map(str::to_string),
                    context: context.map(str::to_string),
                },
                now,
            )
        };
        assert_eq!(
            name(Some("10.0.0.1:6443"), Some("prod")),
            "snapdoc-prod-20261126T040506Z.zip"
        );
        assert_eq!(
            name(None, Some("kind-kind")),
            "snapdoc-kind-kind-20261126T040506Z.zip"
        );
        assert_eq!(
            name(
                Some("x.eks.amazonaws.com:443"),
                Some("arn:aws:eks:eu-west-1:123456789012:cluster/prod")
            ),
            "snapdoc-arn-aws-eks-eu-west-1-123456789012-cluster-prod-20261126T040506Z.zip"
        );
        // OpenShift's `namespace/api-host:port/user`, and names that are nothing but separators or dots.
        assert_eq!(
            name(None, Some("default/api-crc-testing:6443/kube:admin")),
            "snapdoc-default-api-crc-testing-6443-kube-admin-20261126T040506Z.zip"
        );
        assert_eq!(
            name(Some("api.prod.example.com:6443"), Some("..")),
            "snapdoc-api.prod.example.com-20261126T040506Z.zip"
        );
        assert_eq!(
            name(Some("[::1]:6443"), Some("/")),
            "snapdoc-1-20261126T040506Z.zip"
        );
        assert_eq!(name(None, None), "snapdoc-cluster-20261126T040506Z.zip");
        let long = name(None, Some(&"é/x".repeat(100)));
        assert!(long.len() < 64 + 30, "{long}");
        assert!(long.is_ascii());
    }
}
