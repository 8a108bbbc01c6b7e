//! The collect stage's error: what stops a run. A source that cannot be read is not one of these; it is
//! recorded in the bundle's manifest as a `CollectorError` and the run goes on.
use std::path::PathBuf;

use crate::bundle::BundleError;

/// Why a collection stopped; a resource that could not be read is a manifest entry instead, not an error.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The kubeconfig file could not be read or parsed.
    #[error("kubeconfig {path}: {source}", path = path.display())]
    Kubeconfig {
        /// The kubeconfig file named by `--kubeconfig` or `KUBECONFIG`.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error(
        "no cluster configured: no kubeconfig ({kubeconfig}) and not running in a cluster ({in_cluster})"
    )]
    /// Neither a kubeconfig nor an in-cluster service account was found.
    NoCluster {
        /// Why no kubeconfig was usable.
        kubeconfig: String,
        /// Why the in-cluster configuration was not usable either.
        #[source]
        in_cluster: kube::config::InClusterError,
    },
    /// The kubeconfig was read but names no usable context, cluster or user.
    #[error("cannot use the cluster configuration: {0}")]
    Config(String),
    /// A flag value that does not parse (`--since 5y`): the message names the flag and what is expected.
    #[error("{0}")]
    InvalidFlag(String),
    /// The Kubernetes client could not be built from the configuration (TLS, proxy).
    #[error("cannot create the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// The spool directory for logs could not be made.
    #[error("cannot create a temporary directory for logs: {0}")]
    TempDir(#[source] std::io::Error),
    /// The bundle could not be written.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Connection refused, a name that does not resolve, a certificate not trusted: nothing was collected.
    #[error("cannot reach the Kubernetes API server {server}")]
    Unreachable {
        /// The API server's host and port (never a URL with credentials).
        server: String,
        /// The connection error.
        #[source]
        source: kube::Error,
    },
    /// The API server accepted the connection but sent no answer within `--request-timeout`.
    #[error("the Kubernetes API server {server} did not answer within {}", waited(*millis))]
    NoAnswer {
        /// The API server's host and port.
        server: String,
        /// The time waited, in milliseconds.
        millis: u64,
    },
    /// 401: the kubeconfig's credentials (token, client certificate) were rejected; RBAC is not the cause.
    #[error(
        "the Kubernetes API server {server} rejected the credentials (401 Unauthorized: {message}): the \
         kubeconfig's token or client certificate is expired or wrong; log in again (e.g. refresh the \
         kubeconfig) and retry"
    )]
    Unauthorized {
        /// The API server's host and port.
        server: String,
        /// The API server's reason, as it gave it.
        message: String,
    },
    /// SIGINT / SIGTERM before the first stage was done: nothing worth a bundle, so nothing was written.
    #[error(
        "interrupted by {name} during the {stage} stage, before anything worth a bundle was collected: nothing was written",
        name = signal.name
    )]
    Interrupted {
        /// The signal that stopped the collection.
        signal: super::interrupt::Signal,
        /// The stage the collection was in.
        stage: &'static str,
    },
    /// `--backup NAME` / `--restore NAME` that the cluster does not have.
    #[error("{kind} {name} not found {place}{nearest}")]
    NotFound {
        /// What was asked for: `backup` or `restore`.
        kind: &'static str,
        /// The name given on the command line.
        name: String,
        /// Where it was looked for (`in namespace velero`).
        place: String,
        /// The nearest names that do exist, as a suggestion (empty when none is close).
        nearest: String,
    },
}

/// A wait as the user gave it: `300ms`, `20s`, `1.5s`.
fn waited(millis: u64) -> String {
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{:.1}s", millis as f64 / 1000.0)
    }
}
