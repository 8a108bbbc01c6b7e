//! Scenarios: the folders (`tests/scenarios/<name>/`, or built into the binary) the lab serves.
//! Format: docs/scenarios.md.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::error::LabError;
use super::resources::{Registry, ResourceDef, split_api_version};
use super::timeshift;

/// scenario.yaml.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioFile {
    description: String,
    #[serde(default)]
    kubernetes: Option<KubernetesVersion>,
    #[serde(default)]
    reference_time: Option<String>,
    #[serde(default)]
    velero_crds: Option<bool>,
    #[serde(default)]
    faults: Faults,
}

/// The answer of /version.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesVersion {
    pub major: String,
    pub minor: String,
    pub git_version: String,
    #[serde(default)]
    pub platform: Option<String>,
}

impl Default for KubernetesVersion {
    fn default() -> Self {
        KubernetesVersion {
            major: "1".to_string(),
            minor: "32".to_string(),
            git_version: "v1.32.4".to_string(),
            platform: None,
        }
    }
}

/// Misbehaviour the lab plays on purpose.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Resources (and verbs) answered 403.
    #[serde(default)]
    pub forbidden: Vec<Forbidden>,
    /// Delay added to every API answer, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Requests answered with an error status a number of times first (429, 500 …).
    #[serde(default)]
    pub error_bursts: Vec<ErrorBurst>,
    /// Container log streams cut short, as when a pod restarts while its log is read.
    #[serde(default)]
    pub(crate) dropped_log_streams: Vec<DroppedLogStream>,
    /// How the lab's Velero answers DownloadRequests.
    #[serde(default)]
    pub download_requests: DownloadRequestMode,
    /// The first `n` list requests carrying a continue token find it expired (410), as when etcd
    /// compacts between two pages of a list.
    #[serde(default)]
    pub expired_continue_tokens: u32,
    /// API requests that are answered only after a pause of their own (a list that takes minutes, a
    /// DownloadRequest Velero is slow to process): a run can be caught in a chosen stage.
    #[serde(default)]
    pub slow_answers: Vec<SlowAnswer>,
}

/// API requests whose path contains `path_contains` (and whose method is `method`, when given) are answered
/// after `ms` milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlowAnswer {
    pub path_contains: String,
    #[serde(default)]
    pub method: Option<String>,
    pub ms: u64,
}

impl SlowAnswer {
    pub fn applies_to(&self, method: &str, path: &str) -> bool {
        path.contains(&self.path_contains)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// 403 for these verbs (all when none are listed) on a resource: `secrets`, `backups.velero.io`, `pods/log`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Forbidden {
    /// The resource: `secrets`, `backups.velero.io`, `pods/log`.
    pub resource: String,
    /// The verbs refused (`list`, `get` …); empty: all.
    #[serde(default)]
    pub verbs: Vec<String>,
}

/// The first `count` API requests whose path contains `path_contains` get `status`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBurst {
    pub(crate) path_contains: String,
    pub status: u16,
    pub count: u32,
    /// The Retry-After of a 429 (seconds).
    #[serde(default = "one_second")]
    pub(crate) retry_after_seconds: u32,
}

fn one_second() -> u32 {
    1
}

/// A container log stream cut after `after_bytes`. `pod` may end with `*` to match a name prefix; no
/// container means every container of the pod.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DroppedLogStream {
    pub namespace: String,
    pub pod: String,
    #[serde(default)]
    pub container: Option<String>,
    pub(crate) after_bytes: u64,
}

impl DroppedLogStream {
    pub(crate) fn applies_to(&self, namespace: &str, pod: &str, container: &str) -> bool {
        let pod_matches = match self.pod.strip_suffix('*') {
            Some(prefix) => pod.starts_with(prefix),
            None => self.pod == pod,
        };
        self.namespace == namespace
            && pod_matches
            && self.container.as_deref().is_none_or(|c| c == container)
    }
}

/// How the lab's Velero answers DownloadRequests.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DownloadRequestMode {
    /// A URL to the lab's object store, as a working Velero sets.
    #[default]
    Processed,
    /// No controller: the DownloadRequest never gets a status, as when Velero's server is down.
    NeverProcessed,
    /// A URL nothing listens on, as when the object store is not reachable from where snapdoc runs.
    UnreachableUrl,
    /// A URL whose host does not resolve, as an in-cluster store's Service name (`minio.minio`) from a laptop.
    UnresolvableUrl,
}

/// One object of objects/*.yaml, with where it was written.
#[derive(Debug, Clone)]
pub struct ScenarioObject {
    /// The scenario file (`objects/backups.yaml`).
    pub file: String,
    /// The line its document starts on.
    pub line: usize,
    /// The object.
    pub value: Value,
}

impl ScenarioObject {
    /// The object's `apiVersion` (empty when absent).
    pub fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or_default()
    }
    /// The object's `kind` (empty when absent).
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    /// The object's `metadata.name` (empty when absent).
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
    /// The object's `metadata.namespace`, when it has one.
    pub fn namespace(&self) -> Option<&str> {
        self.value["metadata"]["namespace"].as_str()
    }
}

/// The log of one container of one pod (current or previous instance).
#[derive(Debug, Clone)]
pub struct ContainerLog {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    /// Empty when the log is `file`.
    pub text: String,
    /// A log too large to hold in memory (see [`LARGE_FILE_BYTES`]): the lab streams it from this file.
    pub file: Option<PathBuf>,
    /// The entry of a served bundle holding the log (`lab serve --bundle`), read from it when asked for.
    pub entry: Option<String>,
}

/// Files under logs/ and store/ larger than this stay on disk and are streamed when served, so a scenario
/// with gigabytes of logs (src/lab/scale.rs) loads in little memory.
pub(crate) const LARGE_FILE_BYTES: u64 = 8 << 20;

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario's name (`snapdoc lab list` names the built-in ones).
    pub name: String,
    /// Where it came from: a directory path or `built-in:<name>`, for messages.
    pub origin: String,
    /// What the scenario shows, one sentence (`snapdoc lab list` prints it).
    pub description: String,
    /// The version the lab's /version answers.
    pub kubernetes: KubernetesVersion,
    /// The time the scenario's timestamps were written for; the lab shifts them to now.
    pub reference_time: Option<Timestamp>,
    /// Whether Velero's CRDs are installed (false: a cluster without Velero).
    pub velero_crds: bool,
    /// The misbehaviour played on purpose.
    pub faults: Faults,
    /// Objects of objects/*.yaml in file order (Velero's CRDs, when installed, are not among them).
    pub objects: Vec<ScenarioObject>,
    /// Container logs under logs/, by namespace, pod and container.
    pub logs: Vec<ContainerLog>,
    /// Object store content by path under store/ (`backups/<name>/backup.log`).
    pub store: BTreeMap<String, String>,
    /// Object store files larger than `LARGE_FILE_BYTES` (8 MiB), by path under store/: streamed from disk.
    pub store_files: BTreeMap<String, PathBuf>,
    /// The nodes' file systems, for the probe's host path / NFS pods (kubelet.rs): a hostPath volume `/srv/x` on
    /// node N is `<root>/N/srv/x`, an nfs volume `server:/export` is `<root>/nfs/server/export`. `None`: no
    /// directory exists on any node. Set by tests; a scenario folder has none.
    pub host_root: Option<PathBuf>,
    pub(super) registry: Registry,
    pub(super) crds: Vec<Value>,
}

impl Scenario {
    /// Loads a scenario folder.
    pub fn load(dir: &Path) -> Result<Scenario, LabError> {
        let mut files = Vec::new();
        let mut large_files = Vec::new();
        collect_files(dir, dir, &mut files, &mut large_files)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Scenario::from_parts(&name, &dir.display().to_string(), files, large_files)
    }

    /// A scenario built into the binary (every folder of tests/scenarios/).
    pub fn builtin(name: &str) -> Result<Scenario, LabError> {
        let prefix = format!("{name}/");
        let files: Vec<(String, String)> =
            crate::embedded::files_under(crate::embedded::SCENARIOS, &prefix)
                .map(|(path, text)| (path.to_string(), text.to_string()))
                .collect();
        if !files.iter().any(|(path, _)| path == "scenario.yaml") {
            return Err(LabError::UnknownScenario {
                name: name.to_string(),
                available: Scenario::builtin_names().join(", "),
            });
        }
        Scenario::from_files(name, &format!("built-in:{name}"), files)
    }

    /// Names of the built-in scenarios, sorted.
    pub fn builtin_names() -> Vec<String> {
        let mut names: Vec<String> = crate::embedded::SCENARIOS
            .iter()
            .filter_map(|(path, _)| path.strip_suffix("/scenario.yaml"))
            .filter(|name| !name.contains('/'))
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// A directory path when `spec` names an existing directory, else a built-in scenario name.
    pub(crate) fn from_spec(spec: &str) -> Result<Scenario, LabError> {
        let path = Path::new(spec);
        if path.is_dir() {
            Scenario::load(path)
        } else {
            Scenario::builtin(spec)
        }
    }

    /// Builds a scenario from its files: (path relative to the scenario folder, text).
    pub fn from_files(
        name: &str,
        origin: &str,
        files: Vec<(String, String)>,
    ) -> Result<Scenario, LabError> {
        Scenario::from_parts(name, origin, files, Vec::new())
    }

    /// As [`Scenario::from_files`], with the logs/ and store/ files left on disk: (relative path, file).
    fn from_parts(
        name: &str,
        origin: &str,
        mut files: Vec<(String, String)>,
        large_files: Vec<(String, PathBuf)>,
    ) -> Result<Scenario, LabError> {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let display = |rel: &str| format!("{origin}/{rel}");
        let (_, settings_text) = files
            .iter()
            .find(|(path, _)| path == "scenario.yaml")
            .ok_or_else(|| LabError::scenario(display("scenario.yaml"), 0, "missing"))?;
        let settings: ScenarioFile = serde_saphyr::from_str(settings_text)
            .map_err(|error| yaml_error(&display("scenario.yaml"), 0, &error))?;
        let reference_time = settings
            .reference_time
            .as_deref()
            .map(|text| {
                timeshift::parse_rfc3339(text).ok_or_else(|| {
                    LabError::scenario(
                        display("scenario.yaml"),
                        line_of(settings_text, "referenceTime"),
                        format!("referenceTime {text:?} is not an RFC 3339 timestamp"),
                    )
                })
            })
            .transpose()?;
        check_faults(&settings.faults, &display("scenario.yaml"), settings_text)?;

        let mut objects = Vec::new();
        let mut logs = Vec::new();
        let mut store = BTreeMap::new();
        for (path, text) in &files {
            if let Some(file) = path.strip_prefix("objects/") {
                if file.ends_with(".yaml") || file.ends_with(".yml") {
                    objects.extend(parse_documents(&display(path), text)?);
                } else if file.ends_with(".json") {
                    objects.extend(parse_json_objects(&display(path), text)?);
                }
            } else if let Some(rest) = path.strip_prefix("logs/") {
                logs.push(parse_log_path(&display(path), rest, text)?);
            } else if let Some(rest) = path.strip_prefix("store/") {
                store.insert(rest.to_string(), text.clone());
            }
        }
        let mut store_files = BTreeMap::new();
        for (path, file) in large_files {
            if let Some(rest) = path.strip_prefix("logs/") {
                let mut log = parse_log_path(&display(&path), rest, "")?;
                log.file = Some(file);
                logs.push(log);
            } else if let Some(rest) = path.strip_prefix("store/") {
                store_files.insert(rest.to_string(), file);
            }
        }

        let velero_crds = settings.velero_crds.unwrap_or(true);
        let (crds, registry) = build_registry(&objects, velero_crds)?;
        let scenario = Scenario {
            name: name.to_string(),
            origin: origin.to_string(),
            description: settings.description,
            kubernetes: settings.kubernetes.unwrap_or_default(),
            reference_time,
            velero_crds,
            faults: settings.faults,
            objects,
            logs,
            store,
            store_files,
            host_root: None,
            registry,
            crds,
        };
        scenario.check_objects()?;
        scenario.check_logs()?;
        Ok(scenario)
    }

    /// The resources this scenario's cluster serves (built-in kinds and every CRD's).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every CRD installed in the scenario's cluster: Velero's (unless `veleroCrds: false`) and the scenario's.
    pub fn crds(&self) -> &[Value] {
        &self.crds
    }

    /// The resource an object of the scenario is served as.
    pub fn resource_of(&self, object: &ScenarioObject) -> Option<&ResourceDef> {
        self.registry.for_kind(object.api_version(), object.kind())
    }

    /// The scenario's objects of one resource (`pods`, `backups.velero.io`), CRDs included for
    /// `customresourcedefinitions.apiextensions.k8s.io`.
    pub fn objects_of(&self, group_resource: &str) -> Vec<&Value> {
        let mut found: Vec<&Value> = self
            .objects
            .iter()
            .filter(|object| {
                self.resource_of(object)
                    .is_some_and(|def| def.group_resource() == group_resource)
            })
            .map(|object| &object.value)
            .collect();
        if group_resource == "customresourcedefinitions.apiextensions.k8s.io" {
            for crd in &self.crds {
                if !found
                    .iter()
                    .any(|f| f["metadata"]["name"] == crd["metadata"]["name"])
                {
                    found.push(crd);
                }
            }
        }
        found
    }

    /// The shift that makes the scenario's reference time `now`.
    pub(crate) fn shift_to(&self, now: Timestamp) -> jiff::SignedDuration {
        match self.reference_time {
            Some(reference) => timeshift::shift_between(reference, now),
            None => jiff::SignedDuration::ZERO,
        }
    }

    fn check_objects(&self) -> Result<(), LabError> {
        let mut seen: BTreeMap<(String, String, String), (String, usize)> = BTreeMap::new();
        for object in &self.objects {
            let fail = |message: String| LabError::scenario(&object.file, object.line, message);
            if object.api_version().is_empty() || object.kind().is_empty() {
                return Err(fail("an object needs apiVersion and kind".to_string()));
            }
            if object.name().is_empty() {
                return Err(fail(format!("{} without metadata.name", object.kind())));
            }
            let def = self.resource_of(object).ok_or_else(|| {
                let (group, _) = split_api_version(object.api_version());
                let versions = self.registry.versions_of_kind(group, object.kind());
                fail(if versions.is_empty() {
                    format!(
                        "no served resource has kind {} in {} (add its CustomResourceDefinition to objects/)",
                        object.kind(),
                        object.api_version()
                    )
                } else {
                    format!(
                        "{} {} is not served; served versions: {}",
                        object.api_version(),
                        object.kind(),
                        versions.join(", ")
                    )
                })
            })?;
            if !def.namespaced && object.namespace().is_some() {
                return Err(fail(format!(
                    "{} {} is cluster-scoped and cannot have metadata.namespace",
                    object.kind(),
                    object.name()
                )));
            }
            let key = (
                def.group_resource(),
                object.namespace().unwrap_or_default().to_string(),
                object.name().to_string(),
            );
            if let Some((file, line)) = seen.get(&key) {
                return Err(fail(format!(
                    "{} {} is already defined at {file}:{line}",
                    object.kind(),
                    object.name()
                )));
            }
            seen.insert(key, (object.file.clone(), object.line));
        }
        Ok(())
    }

    fn check_logs(&self) -> Result<(), LabError> {
        for log in &self.logs {
            let file = format!(
                "{}/logs/{}/{}/{}{}",
                self.origin,
                log.namespace,
                log.pod,
                log.container,
                if log.previous {
                    ".previous.log"
                } else {
                    ".log"
                }
            );
            let pod = self
                .objects
                .iter()
                .find(|object| {
                    object.api_version() == "v1"
                        && object.kind() == "Pod"
                        && object.name() == log.pod
                        && object.namespace().unwrap_or("default") == log.namespace
                })
                .ok_or_else(|| {
                    LabError::scenario(
                        &file,
                        0,
                        format!("no pod {}/{} in objects/", log.namespace, log.pod),
                    )
                })?;
            let containers = container_names(&pod.value);
            if !containers.contains(&log.container) {
                return Err(LabError::scenario(
                    &file,
                    0,
                    format!(
                        "pod {}/{} has no container {:?} (containers: {})",
                        log.namespace,
                        log.pod,
                        log.container,
                        containers.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Names of a pod's containers, init containers included.
pub(crate) fn container_names(pod: &Value) -> Vec<String> {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|key| pod["spec"][key].as_array())
        .flatten()
        .filter_map(|container| container["name"].as_str().map(str::to_string))
        .collect()
}

pub(super) fn build_registry(
    objects: &[ScenarioObject],
    velero_crds: bool,
) -> Result<(Vec<Value>, Registry), LabError> {
    let mut crds: Vec<(String, usize, Value)> = Vec::new();
    if velero_crds {
        for (path, text) in crate::embedded::files_under(crate::embedded::CRDS, "velero/") {
            if path.ends_with(".yaml") {
                for object in parse_documents(&format!("crds/velero/{path}"), text)? {
                    crds.push((object.file, object.line, object.value));
                }
            }
        }
    }
    for object in objects {
        if object.kind() == "CustomResourceDefinition"
            && object.api_version().starts_with("apiextensions.k8s.io/")
        {
            // A scenario's CRD replaces a built-in one of the same name (another Velero version's schema).
            crds.retain(|(_, _, crd)| crd["metadata"]["name"] != object.value["metadata"]["name"]);
            crds.push((object.file.clone(), object.line, object.value.clone()));
        }
    }
    for (file, line, crd) in &crds {
        super::resources::resources_of_crd(crd)
            .map_err(|message| LabError::scenario(file, *line, message))?;
    }
    let values: Vec<Value> = crds.into_iter().map(|(_, _, crd)| crd).collect();
    let refs: Vec<&Value> = values.iter().collect();
    let registry =
        Registry::new(&refs).map_err(|message| LabError::scenario("objects/", 0, message))?;
    Ok((values, registry))
}

/// Reads the scenario's files into `files`, except large ones under logs/ and store/, which go to
/// `large_files` unread.
fn collect_files(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, String)>,
    large_files: &mut Vec<(String, PathBuf)>,
) -> Result<(), LabError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LabError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, files, large_files)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let size = std::fs::metadata(&path).map_err(io_error(&path))?.len();
            let streamable = rel.starts_with("logs/") || rel.starts_with("store/");
            if streamable && size > LARGE_FILE_BYTES {
                large_files.push((rel, path));
            } else {
                let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
                files.push((rel, text));
            }
        }
    }
    Ok(())
}

/// logs/<namespace>/<pod>/<container>.log or .previous.log
fn parse_log_path(file: &str, rest: &str, text: &str) -> Result<ContainerLog, LabError> {
    let parts: Vec<&str> = rest.split('/').collect();
    let [namespace, pod, file_name] = parts.as_slice() else {
        return Err(LabError::scenario(
            file,
            0,
            "a log file must be logs/<namespace>/<pod>/<container>.log (or .previous.log)",
        ));
    };
    let (container, previous) = if let Some(container) = file_name.strip_suffix(".previous.log") {
        (container, true)
    } else if let Some(container) = file_name.strip_suffix(".log") {
        (container, false)
    } else {
        return Err(LabError::scenario(
            file,
            0,
            "a log file name must end in .log or .previous.log",
        ));
    };
    Ok(ContainerLog {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        container: container.to_string(),
        previous,
        text: text.to_string(),
        file: None,
        entry: None,
    })
}

/// Splits a multi-document YAML file and parses each document; `kind: List` documents are expanded.
pub(crate) fn parse_documents(file: &str, text: &str) -> Result<Vec<ScenarioObject>, LabError> {
    let mut objects = Vec::new();
    for (start_line, document) in split_documents(text) {
        let meaningful = document
            .lines()
            .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
        if !meaningful {
            continue;
        }
        let value: Value = serde_saphyr::from_str(&document)
            .map_err(|error| yaml_error(file, start_line - 1, &error))?;
        match value {
            Value::Null => {}
            Value::Object(_) => {
                let is_list = value["kind"]
                    .as_str()
                    .is_some_and(|kind| kind.ends_with("List"))
                    && value["items"].is_array();
                if is_list {
                    for item in value["items"].as_array().into_iter().flatten() {
                        objects.push(ScenarioObject {
                            file: file.to_string(),
                            line: start_line,
                            value: item.clone(),
                        });
                    }
                } else {
                    objects.push(ScenarioObject {
                        file: file.to_string(),
                        line: start_line,
                        value,
                    });
                }
            }
            _ => {
                return Err(LabError::scenario(
                    file,
                    start_line,
                    "a document must be a Kubernetes object (a mapping)",
                ));
            }
        }
    }
    Ok(objects)
}

/// One JSON object or List per file (generated scenarios: JSON parses far faster than YAML).
pub(crate) fn parse_json_objects(file: &str, text: &str) -> Result<Vec<ScenarioObject>, LabError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|error| LabError::scenario(file, error.line(), error.to_string()))?;
    let is_list = value["kind"]
        .as_str()
        .is_some_and(|kind| kind.ends_with("List"))
        && value["items"].is_array();
    let values = match value {
        Value::Object(mut fields) if is_list => match fields.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        Value::Object(_) => vec![value],
        _ => {
            return Err(LabError::scenario(
                file,
                1,
                "a JSON file must hold a Kubernetes object or a List of them",
            ));
        }
    };
    Ok(values
        .into_iter()
        .map(|value| ScenarioObject {
            file: file.to_string(),
            line: 1,
            value,
        })
        .collect())
}

/// (1-based line where the document's content starts, document text).
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (index, line) in text.lines().enumerate() {
        let is_separator = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_separator {
            documents.push((start, std::mem::take(&mut current)));
            start = index + 2;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents.push((start, current));
    documents
}

fn yaml_error(file: &str, line_offset: usize, error: &serde_saphyr::Error) -> LabError {
    let line = error
        .location()
        .map(|location| location.line() as usize)
        .unwrap_or(0);
    let message = error.to_string();
    let message = message.lines().next().unwrap_or_default().to_string();
    LabError::scenario(
        file,
        if line == 0 { 0 } else { line + line_offset },
        message,
    )
}

fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| line.trim_start().starts_with(key))
        .map(|index| index + 1)
        .unwrap_or(0)
}

const ERROR_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

fn check_faults(faults: &Faults, file: &str, text: &str) -> Result<(), LabError> {
    const VERBS: [&str; 7] = [
        "get", "list", "watch", "create", "delete", "update", "patch",
    ];
    for rule in &faults.forbidden {
        if let Some(verb) = rule
            .verbs
            .iter()
            .find(|verb| !VERBS.contains(&verb.as_str()))
        {
            return Err(LabError::scenario(
                file,
                line_of(text, "forbidden"),
                format!(
                    "faults.forbidden: unknown verb {verb:?} (verbs: {})",
                    VERBS.join(", ")
                ),
            ));
        }
    }
    for burst in &faults.error_bursts {
        if !ERROR_STATUSES.contains(&burst.status) {
            return Err(LabError::scenario(
                file,
                line_of(text, "errorBursts"),
                format!(
                    "faults.errorBursts: status {} is not one of {:?}",
                    burst.status, ERROR_STATUSES
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect()
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: velero-1\n  namespace: velero\nspec:\n  containers:\n  - name: velero\n";

    #[test]
    fn loads_objects_logs_store_and_velero_crds() {
        let scenario = Scenario::from_files(
            "t",
            "t",
            files(&[
                ("scenario.yaml", "description: test\nreferenceTime: \"2026-11-25T12:00:00Z\"\n"),
                ("objects/a.yaml", &format!("---\n{POD}---\n# only a comment\n---\napiVersion: velero.io/v1\nkind: Backup\nmetadata:\n  name: b1\n  namespace: velero\n")),
                ("logs/velero/velero-1/velero.log", "time=\"2026-11-25T12:00:00Z\" msg=hi\n"),
                ("logs/velero/velero-1/velero.previous.log", "old\n"),
                ("store/backups/b1/backup.log", "log\n"),
            ]),
        )
        .unwrap();
        assert_eq!(scenario.objects.len(), 2);
        assert_eq!(scenario.objects[1].line, 13);
        assert_eq!(scenario.objects_of("backups.velero.io").len(), 1);
        assert!(
            scenario
                .registry()
                .find("velero.io", "v1", "backupstoragelocations")
                .is_some()
        );
        assert_eq!(scenario.logs.len(), 2);
        assert!(scenario.logs.iter().any(|log| log.previous));
        assert_eq!(scenario.store["backups/b1/backup.log"], "log\n");
    }

    #[test]
    fn errors_name_file_and_line() {
        let error = Scenario::from_files(
            "t",
            "dir",
            files(&[
                ("scenario.yaml", "description: test\n"),
                (
                    "objects/a.yaml",
                    &format!(
                        "{POD}---\napiVersion: velero.io/v1\nkind: Nope\nmetadata:\n  name: x\n"
                    ),
                ),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("dir/objects/a.yaml:10: no served resource has kind Nope"),
            "{error}"
        );

        let error = Scenario::from_files(
            "t",
            "dir",
            files(&[
                ("scenario.yaml", "description: test\n"),
                (
                    "objects/a.yaml",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
                ),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("dir/objects/a.yaml:4"), "{error}");

        let error = Scenario::from_files(
            "t",
            "dir",
            files(&[(
                "scenario.yaml",
                "description: test\nfaults:\n  latencyMS: 3\n",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("dir/scenario.yaml:3"), "{error}");
    }

    #[test]
    fn logs_must_name_a_known_container() {
        let error = Scenario::from_files(
            "t",
            "dir",
            files(&[
                ("scenario.yaml", "description: test\n"),
                ("objects/a.yaml", POD),
                ("logs/velero/velero-1/restic.log", "x\n"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("has no container \"restic\""), "{error}");
    }

    #[test]
    fn velero_crds_can_be_left_out() {
        let scenario = Scenario::from_files(
            "t",
            "t",
            files(&[("scenario.yaml", "description: bare\nveleroCrds: false\n")]),
        )
        .unwrap();
        assert!(
            scenario
                .registry()
                .find("velero.io", "v1", "backups")
                .is_none()
        );
        assert!(scenario.crds().is_empty());
    }
}
