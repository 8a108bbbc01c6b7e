//! What a collection is asked to do, as the library's own types: the command line (src/cli.rs) fills them
//! once from its flags, and a caller without the CLI (the demo, the lab's tests, another program) builds
//! them directly. The defaults live here, and the flags take theirs from these constants, so the two
//! cannot drift apart.
use std::path::PathBuf;

use super::{ConnectionOverrides, Since};

/// `--since`'s default: logs and backups of the last three days.
pub const DEFAULT_SINCE: &str = "72h";
/// `--max-log-bytes`' default: the newest 20 MiB of each container log.
pub(crate) const DEFAULT_MAX_LOG_BYTES: u64 = 20 * 1024 * 1024;
/// `--recent`'s default: how many of the newest backups and restores get their logs besides failed ones.
pub(crate) const DEFAULT_RECENT: usize = 10;
/// `--download-timeout`'s default, in seconds: how long Velero gets to process a DownloadRequest.
pub(crate) const DEFAULT_DOWNLOAD_TIMEOUT_SECONDS: u64 = 30;

/// How to reach the cluster, as kubectl does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// The kubeconfig file, or a `KUBECONFIG`-style list; `None`: `$KUBECONFIG`, then `~/.kube/config`, then
    /// the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use; `None`: its current context.
    pub context: Option<String>,
    /// The namespace Velero runs in; `None`: found by the Velero deployment's labels.
    pub velero_namespace: Option<String>,
    /// kubectl's connection flags laid over the kubeconfig.
    pub connection: ConnectionOverrides,
}

/// What to collect and how far back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectOptions {
    /// How to reach the cluster.
    pub cluster: ClusterOptions,
    /// Only logs and backups newer than this.
    pub since: Since,
    /// Most bytes kept of each container log (the newest are kept).
    pub max_log_bytes: u64,
    /// Backups whose logs and results are always fetched.
    pub backups: Vec<String>,
    /// Restores whose logs and results are always fetched.
    pub restores: Vec<String>,
    /// How many of the most recent backups and restores get their logs fetched, besides failed ones.
    pub recent: usize,
    /// Seconds to wait for Velero to process a DownloadRequest.
    pub download_timeout: u64,
    /// Replace an existing bundle at the output path.
    pub force: bool,
    /// Do not look Velero's credential secrets up at all, not even their metadata.
    pub skip_secrets: bool,
    /// Delete each DownloadRequest once read (needs `delete` on downloadrequests); by default Velero removes
    /// them when they expire.
    pub delete_download_requests: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            cluster: ClusterOptions::default(),
            since: DEFAULT_SINCE
                .parse()
                .expect("the default --since is a valid duration"),
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            backups: Vec::new(),
            restores: Vec::new(),
            recent: DEFAULT_RECENT,
            download_timeout: DEFAULT_DOWNLOAD_TIMEOUT_SECONDS,
            force: false,
            skip_secrets: false,
            delete_download_requests: false,
        }
    }
}
