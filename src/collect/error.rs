//! The collect stage's error: what stops a run. A source that cannot be read is not one of these; it is
//! recorded in the bundle's manifest as a `CollectorError` and the run goes on.
use std::path::PathBuf;

use crate::bundle::BundleError;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("kubeconfig {path}: {source}", path = path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error(
        "no cluster configured: no kubeconfig ({kubeconfig}) and not running in a cluster ({in_cluster})"
    )]
    NoCluster {
        kubeconfig: String,
        #[source]
        in_cluster: kube::config::InClusterError,
    },
    #[error("cannot use the cluster configuration: {0}")]
    Config(String),
    /// A flag value that does not parse (`--since 5y`): the message names the flag and what is expected.
    #[error("{0}")]
    InvalidFlag(String),
    #[error("cannot create the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("cannot create a temporary directory for logs: {0}")]
    TempDir(#[source] std::io::Error),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Connection refused, a name that does not resolve, a certificate not trusted: nothing was collected.
    #[error("cannot reach the Kubernetes API server {server}")]
    Unreachable {
        server: String,
        #[source]
        source: kube::Error,
    },
    #[error("the Kubernetes API server {server} did not answer within {seconds}s")]
    NoAnswer { server: String, seconds: u64 },
    /// 401: the kubeconfig's credentials (token, client certificate) were rejected; RBAC is not the cause.
    #[error(
        "the Kubernetes API server {server} rejected the credentials (401 Unauthorized: {message}): the \
         kubeconfig's token or client certificate is expired or wrong; log in again (e.g. refresh the \
         kubeconfig) and retry"
    )]
    Unauthorized { server: String, message: String },
    /// SIGINT / SIGTERM before the first stage was done: nothing worth a bundle, so nothing was written.
    #[error(
        "interrupted by {name} during the {stage} stage, before anything worth a bundle was collected: nothing was written",
        name = signal.name
    )]
    Interrupted {
        signal: super::interrupt::Signal,
        stage: &'static str,
    },
    /// `--backup NAME` / `--restore NAME` that the cluster does not have.
    #[error("{kind} {name} not found {place}{nearest}")]
    NotFound {
        kind: &'static str,
        name: String,
        place: String,
        nearest: String,
    },
}
