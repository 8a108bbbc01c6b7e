//! LabCluster: a running lab (API on HTTPS, object store on HTTP, both on loopback) for one scenario.
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::LabError;
use super::scenario::Scenario;
use super::server::{Lab, LogSource, RequestRecord, SharedLab, accept_loop, bind, format_time};
use super::state::{ObjectState, random_hex};
use super::timeshift;
use super::{api, blobs, bundle_source, tls};
use crate::bundle::Bundle;

/// The identity the lab's token stands for (403 messages name it).
pub(crate) const LAB_USER: &str = "system:serviceaccount:default:snapdoc";

/// Namespaces every cluster has.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Where the lab listens.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabOptions {
    /// API port on 127.0.0.1 (0: any free port).
    pub(crate) api_port: u16,
}

/// A running lab cluster. Dropping it without [`LabCluster::shutdown`] leaves its tasks to end with the
/// runtime.
pub struct LabCluster {
    lab: SharedLab,
    api_address: SocketAddr,
    store_address: SocketAddr,
    ca_pem: String,
    ca_der: Vec<u8>,
    scenario_name: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl LabCluster {
    /// Starts the lab for `scenario` on any free ports.
    pub async fn start(scenario: Scenario) -> Result<LabCluster, LabError> {
        LabCluster::start_with(scenario, LabOptions::default()).await
    }

    /// Starts the lab for `scenario` with `options` (a fixed API port).
    pub(crate) async fn start_with(
        scenario: Scenario,
        options: LabOptions,
    ) -> Result<LabCluster, LabError> {
        LabCluster::start_source(scenario, None, options).await
    }

    /// Serves `bundle` read-only (any format [`Bundle::open`] reads): its objects, CRDs and pod logs; writes
    /// are refused and no Velero plays along.
    pub async fn serve_bundle(
        mut bundle: Bundle,
        options: LabOptions,
    ) -> Result<LabCluster, LabError> {
        let scenario = bundle_source::scenario_from_bundle(&mut bundle)?;
        LabCluster::start_source(scenario, Some(bundle), options).await
    }

    async fn start_source(
        scenario: Scenario,
        bundle: Option<Bundle>,
        options: LabOptions,
    ) -> Result<LabCluster, LabError> {
        let started = Timestamp::now();
        let shift = scenario.shift_to(started);
        let instance = random_hex(8);
        let tls = tls::make()?;
        let (api_listener, api_address) = bind("the lab API", options.api_port).await?;
        let (store_listener, store_address) = bind("the lab object store", 0).await?;
        // A port that was free a moment ago and is closed now: URLs pointing there fail to connect.
        let (closed_listener, closed_address) = bind("an unreachable port", 0).await?;
        drop(closed_listener);

        let mut state = ObjectState::new(&instance);
        load_objects(&scenario, &mut state, shift, &format_time(started));
        let logs: HashMap<_, _> = scenario
            .logs
            .iter()
            .map(|log| {
                (
                    (
                        log.namespace.clone(),
                        log.pod.clone(),
                        log.container.clone(),
                        log.previous,
                    ),
                    match (&log.file, &log.entry) {
                        (Some(file), _) => LogSource::File(file.clone()),
                        (None, Some(entry)) => LogSource::BundleEntry(entry.clone()),
                        (None, None) => LogSource::Text(timeshift::shift_log(&log.text, shift)),
                    },
                )
            })
            .collect();
        let store: BTreeMap<String, String> = scenario
            .store
            .iter()
            .map(|(path, text)| {
                let shifted = if path.ends_with(".log") {
                    timeshift::shift_log(text, shift)
                } else {
                    text.clone()
                };
                (path.clone(), shifted)
            })
            .collect();
        let (stop, shutdown) = watch::channel(false);
        let lab = Arc::new(Lab {
            registry: scenario.registry().clone(),
            state: Mutex::new(state),
            logs,
            produced_logs: Mutex::new(HashMap::new()),
            store,
            store_files: scenario.store_files.clone(),
            burst_counts: Mutex::new(vec![0; scenario.faults.error_bursts.len()]),
            continues_expired: std::sync::atomic::AtomicU32::new(0),
            faults: scenario.faults.clone(),
            host_root: scenario.host_root.clone(),
            token: random_hex(24),
            instance: instance.clone(),
            user: LAB_USER.to_string(),
            version: scenario.kubernetes.clone(),
            request_log: Mutex::new(Vec::new()),
            signing_key: random_hex(32),
            store_base_url: format!("http://{store_address}"),
            unreachable_base_url: format!("http://{closed_address}"),
            download_mode: scenario.faults.download_requests,
            shift,
            started,
            shutdown: shutdown.clone(),
            bundle: bundle.map(Mutex::new),
        });
        let api_router = axum::Router::new()
            .fallback(api::handle)
            .with_state(lab.clone());
        let store_router = axum::Router::new()
            .fallback(blobs::handle)
            .with_state(lab.clone());
        let tasks = vec![
            tokio::spawn(accept_loop(
                api_listener,
                Some(tls.acceptor),
                api_router,
                shutdown.clone(),
            )),
            tokio::spawn(accept_loop(store_listener, None, store_router, shutdown)),
        ];
        Ok(LabCluster {
            lab,
            api_address,
            store_address,
            ca_pem: tls.ca_pem,
            ca_der: tls.ca_der,
            scenario_name: scenario.name,
            stop,
            tasks,
        })
    }

    /// `https://127.0.0.1:<port>`
    pub fn server_url(&self) -> String {
        format!("https://{}", self.api_address)
    }

    /// `http://127.0.0.1:<port>`: the object store download URLs point at.
    pub fn store_url(&self) -> String {
        format!("http://{}", self.store_address)
    }

    /// The bearer token the lab's API accepts.
    pub fn token(&self) -> &str {
        &self.lab.token
    }

    /// The lab CA's certificate (PEM), which signed the API's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The name of the scenario served.
    pub(crate) fn scenario_name(&self) -> &str {
        &self.scenario_name
    }

    /// How far the scenario's timestamps were moved.
    pub fn time_shift(&self) -> jiff::SignedDuration {
        self.lab.shift
    }

    /// A kubeconfig with one cluster, user and context, all named `lab`, the context current.
    pub(crate) fn kubeconfig_yaml(&self) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: lab\n  user:\n    token: {token}\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\n    namespace: default\ncurrent-context: lab\npreferences: {{}}\n",
            server = self.server_url(),
            token = self.token(),
        )
    }

    /// Writes a kubeconfig for the lab (cluster, user and context all named `lab`) to `path`, for kubectl or
    /// `snapdoc --kubeconfig`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), LabError> {
        std::fs::write(path, self.kubeconfig_yaml()).map_err(|source| LabError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A kube-rs configuration for the lab (trusting its CA, with its token).
    pub fn kube_config(&self) -> Result<kube::Config, LabError> {
        let url = self.server_url();
        let url = url
            .parse()
            .map_err(|source| LabError::ServerUrl { url, source })?;
        let mut config = kube::Config::new(url);
        config.root_cert = Some(vec![self.ca_der.clone()]);
        config.auth_info = kube::config::AuthInfo {
            token: Some(self.token().to_string().into()),
            ..Default::default()
        };
        // As the CLI's client (collect::kubeconfig): the collector retries 429/5xx itself, within its own
        // bound; kube-rs's retry on top would stretch an injected error burst to minutes.
        config.default_retry = false;
        Ok(config)
    }

    /// A kube-rs client for the lab, built from [`LabCluster::kube_config`].
    pub async fn client(&self) -> Result<kube::Client, LabError> {
        kube::Client::try_from(self.kube_config()?).map_err(LabError::Client)
    }

    /// The current objects of a resource (`pods`, `deployments.apps`, `downloadrequests.velero.io`).
    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.lab
            .state
            .lock()
            .map(|state| {
                state
                    .list(resource, None, None)
                    .into_iter()
                    .map(|(_, object)| object)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every request the lab answered (API and object store), in order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.lab
            .request_log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    /// Expires every list continue token handed out so far, as an etcd compaction does.
    pub fn compact(&self) {
        if let Ok(mut state) = self.lab.state.lock() {
            state.compact();
        }
    }

    /// Stops serving: listeners close, open watches and followed logs end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Puts the scenario's objects, its CRDs and the namespaces they live in into the lab's state.
fn load_objects(
    scenario: &Scenario,
    state: &mut ObjectState,
    shift: jiff::SignedDuration,
    now: &str,
) {
    let mut namespaces: Vec<String> = SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect();
    for object in &scenario.objects {
        let Some(def) = scenario.resource_of(object) else {
            continue;
        };
        let mut value = object.value.clone();
        timeshift::shift_json(&mut value, shift);
        if def.namespaced {
            let namespace = object.namespace().unwrap_or("default").to_string();
            value["metadata"]["namespace"] = json!(namespace);
            if !namespaces.contains(&namespace) {
                namespaces.push(namespace);
            }
        }
        let _ = state.create(&def.group_resource(), value, now);
    }
    for crd in scenario.crds() {
        let mut crd = crd.clone();
        crd["status"] = json!({
            "acceptedNames": crd["spec"]["names"],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
            "storedVersions": crd["spec"]["versions"].as_array().into_iter().flatten()
                .filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>(),
        });
        let name = crd["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if state
            .get("customresourcedefinitions.apiextensions.k8s.io", "", &name)
            .is_none()
        {
            let _ = state.create("customresourcedefinitions.apiextensions.k8s.io", crd, now);
        }
    }
    for namespace in namespaces {
        if state.get("namespaces", "", &namespace).is_none() {
            let _ = state.create(
                "namespaces",
                json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": namespace, "labels": {"kubernetes.io/metadata.name": namespace}},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }),
                now,
            );
        }
    }
}
