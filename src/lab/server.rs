//! The shared state of a running lab, and the accept loops of its two listeners.
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use jiff::{SignedDuration, Timestamp};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::resources::Registry;
use super::scenario::{DownloadRequestMode, Faults, KubernetesVersion};
use super::state::ObjectState;

/// One request the API answered, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// The raw query string ("" when none).
    pub query: String,
    /// The Accept header as sent ("" when none): tells a metadata-only request from a full read.
    pub accept: String,
    /// The status answered.
    pub status: u16,
    /// Who the client asked to act as (`Impersonate-User`, then each `Impersonate-Group`), as kubectl's
    /// `--as` / `--as-group` send them; empty when it did not ask.
    pub impersonation: Vec<String>,
}

impl RequestRecord {
    /// Whether the answer could carry a Secret's data: any read of secrets not asking for metadata alone.
    pub fn reads_secret_data(&self) -> bool {
        let secrets = self.path.starts_with("/api/v1/")
            && self.path.split('/').any(|segment| segment == "secrets");
        secrets && !self.accept.contains("as=PartialObjectMetadata")
    }

    /// The Kubernetes verb of an API request (`get`, `list`, `watch`, `create`, `delete` …); discovery
    /// and object store reads are `get`.
    pub fn verb(&self) -> &'static str {
        let segments: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let resource_path = match segments.as_slice() {
            ["api", _version, rest @ ..] => Some(rest),
            ["apis", _group, _version, rest @ ..] => Some(rest),
            _ => None,
        };
        let named = match resource_path {
            Some(["namespaces", _namespace, rest @ ..]) if !rest.is_empty() => rest.len() >= 2,
            Some(rest) => rest.len() >= 2,
            None => true,
        };
        let watch = self
            .query
            .split('&')
            .any(|p| p == "watch=true" || p == "watch=1");
        match self.method.as_str() {
            "GET" if watch => "watch",
            "GET" if named => "get",
            "GET" => "list",
            "POST" => "create",
            "DELETE" => "delete",
            "PUT" => "update",
            "PATCH" => "patch",
            _ => "other",
        }
    }
}

impl std::fmt::Display for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            write!(f, "?{}", self.query)?;
        }
        write!(f, " {}", self.status)?;
        if !self.accept.is_empty() {
            write!(f, " [{}]", self.accept)?;
        }
        Ok(())
    }
}
/// A request header's text ("" when absent or not text).
pub(super) fn header_text(
    headers: &axum::http::HeaderMap,
    name: axum::http::header::HeaderName,
) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// (namespace, pod, container, previous)
pub(super) type LogKey = (String, String, String, bool);

/// A container log as the lab holds it.
pub(super) enum LogSource {
    /// Already time-shifted.
    Text(String),
    /// A large log on disk, time-shifted as it streams.
    File(PathBuf),
    /// An entry of the served bundle, streamed from it when asked for: a customer's logs can be gigabytes.
    BundleEntry(String),
}

/// Everything the handlers share.
pub(super) struct Lab {
    pub registry: Registry,
    pub state: Mutex<ObjectState>,
    pub logs: HashMap<LogKey, LogSource>,
    /// Logs of containers the lab ran itself (the probe Jobs' pods, kubelet.rs).
    pub produced_logs: Mutex<HashMap<LogKey, String>>,
    /// Object store content by path under store/ (already time-shifted).
    pub store: BTreeMap<String, String>,
    /// Large object store files on disk, by path under store/ (.log files time-shifted as they stream).
    pub store_files: BTreeMap<String, PathBuf>,
    pub faults: Faults,
    /// The nodes' file systems (`Scenario::host_root`).
    pub host_root: Option<PathBuf>,
    /// How many requests each error burst has failed so far.
    pub(crate) burst_counts: Mutex<Vec<u32>>,
    /// How many continue tokens `faults.expiredContinueTokens` has expired so far.
    pub(crate) continues_expired: std::sync::atomic::AtomicU32,
    pub token: String,
    /// Random per lab: continue tokens and OpenAPI hashes of another lab do not apply here.
    pub instance: String,
    /// Who the bearer token authenticates as (appears in 403 messages).
    pub user: String,
    pub version: KubernetesVersion,
    pub request_log: Mutex<Vec<RequestRecord>>,
    /// Signs and checks the object store's URLs.
    pub(crate) signing_key: String,
    pub(crate) store_base_url: String,
    /// A loopback URL where nothing listens, for `downloadRequests: unreachable-url`.
    pub(crate) unreachable_base_url: String,
    pub(crate) download_mode: DownloadRequestMode,
    pub shift: SignedDuration,
    pub started: Timestamp,
    pub shutdown: watch::Receiver<bool>,
    /// The bundle served (`lab serve --bundle`): its logs are read from it, and the API refuses writes,
    /// since what a customer's cluster held must not change while it is read.
    pub bundle: Option<Mutex<crate::bundle::Bundle>>,
}

impl Lab {
    /// Whether this continued list should find its token expired (`faults.expiredContinueTokens`).
    pub(super) fn expire_this_continue(&self) -> bool {
        use std::sync::atomic::Ordering;
        let budget = self.faults.expired_continue_tokens;
        self.continues_expired
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < budget).then_some(n + 1)
            })
            .is_ok()
    }

    /// Whether writes are refused: a served bundle is evidence, not a cluster to experiment on.
    pub(super) fn read_only(&self) -> bool {
        self.bundle.is_some()
    }

    pub(super) fn record(&self, record: RequestRecord) {
        if let Ok(mut log) = self.request_log.lock() {
            log.push(record);
        }
    }

    /// Timestamps the lab writes (creationTimestamp, expiration), RFC 3339 in whole seconds as the API does.
    pub(super) fn now_text(&self) -> String {
        format_time(Timestamp::now())
    }
}

pub(super) fn format_time(instant: Timestamp) -> String {
    instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Serves `router` on `listener` (TLS when `tls` is set) until `shutdown` turns true; open connections are
/// dropped then.
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else {
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let tls = tls.clone();
        connections.spawn(async move {
            let builder = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                }
            }
        });
    }
}

/// Binds 127.0.0.1:`port` (0: any free port).
pub(super) async fn bind(
    what: &'static str,
    port: u16,
) -> Result<(TcpListener, SocketAddr), super::LabError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| super::LabError::Bind { what, port, source })?;
    let address = listener
        .local_addr()
        .map_err(|source| super::LabError::Bind { what, port, source })?;
    Ok((listener, address))
}

pub(super) type SharedLab = Arc<Lab>;
