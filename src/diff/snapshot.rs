//! What `diff` compares of one bundle, flattened to (area, subject) → field → text, so two bundles of any
//! format compare field by field. Versions, images and nodes come from the analysis' environment (it already
//! reads every format alike); the rest from the objects the bundle holds.
//!
//! Secrets are read from `secrets-metadata` only, and only the fields named in [`SECRET_FIELDS`]: a foreign
//! bundle may hold more, and a diff must never show a credential.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Area;
use crate::analyze::Analysis;
use crate::bundle::{Bundle, BundleError, layout};
use crate::redact::{RedactionCounts, Redactor};

pub(crate) type Fields = BTreeMap<String, String>;

/// One thing compared: its area, what it is ("BackupStorageLocation velero/default"), and the source it
/// was read from (so a source one bundle does not carry is "not compared", not "removed").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) area: Area,
    pub(crate) subject: String,
}

#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) items: BTreeMap<Key, (Source, Fields)>,
    /// The sources this bundle holds at all.
    pub(crate) held: BTreeSet<Source>,
}

/// Where compared things come from; a bundle format may lack any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Source {
    Workloads,
    /// The velero Deployment's pod template (args, env, resources), apart from the pods: a format may carry
    /// one and not the other.
    Deployments,
    DaemonSets,
    ClusterVersion,
    Nodes,
    StorageLocations,
    SnapshotLocations,
    Secrets,
    ConfigMaps,
    StorageClasses,
    SnapshotClasses,
    CsiDrivers,
    Schedules,
}

impl Source {
    /// What the reader is told when one bundle lacks it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Source::Workloads => "Velero's pods and workloads (versions and images)",
            Source::Deployments => "Velero's Deployment (server args, env, resources)",
            Source::DaemonSets => "the node agent's DaemonSet (args, env, resources)",
            Source::ClusterVersion => "the Kubernetes version",
            Source::Nodes => "nodes (OS, kernel, taints)",
            Source::StorageLocations => "BackupStorageLocations",
            Source::SnapshotLocations => "VolumeSnapshotLocations",
            Source::Secrets => "credential secrets' metadata",
            Source::ConfigMaps => "ConfigMaps in Velero's namespace",
            Source::StorageClasses => "StorageClasses",
            Source::SnapshotClasses => "VolumeSnapshotClasses",
            Source::CsiDrivers => "CSIDrivers",
            Source::Schedules => "Schedules",
        }
    }
}

/// The fields of a secrets-metadata entry a diff may show: never a value, only what tells a rotation.
const SECRET_FIELDS: [&str; 6] = [
    "exists",
    "keys",
    "referencedBy",
    "metadata.resourceVersion",
    "metadata.creationTimestamp",
    "metadata.uid",
];

/// Longer values (a CA bundle, a ConfigMap's JSON) are shown by size and digest: two of them either match
/// or not, and a page of base64 helps no one.
const LONG_VALUE: usize = 160;

pub(crate) fn snapshot(bundle: &mut Bundle, analysis: &Analysis) -> Result<Snapshot, BundleError> {
    let mut snap = Snapshot::default();
    let env = &analysis.environment;
    let velero_ns = env
        .velero
        .as_ref()
        .and_then(|v| v.namespace.clone())
        .unwrap_or_else(|| "velero".to_string());

    if !bundle.object_files("pods").is_empty() || !bundle.object_files("deployments").is_empty() {
        snap.held.insert(Source::Workloads);
    }
    // One field for version and image: an upgrade is one change, and a new image of the same version (a
    // rebuilt tag, a digest) still shows.
    let component = |info: &crate::analyze::analysis::ComponentInfo| -> Fields {
        let text = match (&info.version, &info.image) {
            (Some(version), Some(image)) => format!("{version} (image {image})"),
            (Some(version), None) => version.clone(),
            (None, Some(image)) => format!("image {image}"),
            (None, None) => return Fields::new(),
        };
        Fields::from([("version".to_string(), text)])
    };
    let insert = |snap: &mut Snapshot, area: Area, subject: String, source, fields: Fields| {
        snap.items.insert(Key { area, subject }, (source, fields));
    };
    if let Some(velero) = &env.velero {
        let fields = component(velero);
        insert(
            &mut snap,
            Area::Velero,
            "velero server".into(),
            Source::Workloads,
            fields,
        );
    }
    for plugin in &env.plugins {
        insert(
            &mut snap,
            Area::Plugins,
            format!("plugin {}", plugin.name),
            Source::Workloads,
            component(plugin),
        );
    }
    if let Some(agent) = &env.node_agent {
        insert(
            &mut snap,
            Area::NodeAgent,
            "node agent".into(),
            Source::Workloads,
            component(agent),
        );
    }
    if let Some(kots) = &env.kots {
        let mut fields = component(kots);
        if let Some(kind) = &env.install_kind {
            fields.insert("install kind".into(), kind.clone());
        }
        insert(
            &mut snap,
            Area::Kots,
            "kotsadm".into(),
            Source::Workloads,
            fields,
        );
    }
    if bundle.has(layout::CLUSTER_VERSION) {
        snap.held.insert(Source::ClusterVersion);
        if let Some(version) = &env.kubernetes_version {
            let fields = Fields::from([("version".to_string(), version.clone())]);
            insert(
                &mut snap,
                Area::Kubernetes,
                "Kubernetes".into(),
                Source::ClusterVersion,
                fields,
            );
        }
    }

    if bundle.has(layout::CLUSTER_NODES) {
        snap.held.insert(Source::Nodes);
        let nodes = bundle.objects("nodes")?;
        for info in &env.nodes {
            let mut fields = Fields::new();
            let pairs = [
                ("OS image", &info.os_image),
                ("kernel", &info.kernel_version),
                ("container runtime", &info.container_runtime),
                ("kubelet", &info.kubelet_version),
                ("architecture", &info.architecture),
            ];
            for (name, value) in pairs {
                if let Some(value) = value {
                    fields.insert(name.to_string(), value.clone());
                }
            }
            if let Some(node) = nodes
                .iter()
                .find(|n| n.pointer("/metadata/name").and_then(Value::as_str) == Some(&info.name))
            {
                if let Some(taints) = node.pointer("/spec/taints").and_then(Value::as_array) {
                    let taints: Vec<String> = taints.iter().map(taint_text).collect();
                    if !taints.is_empty() {
                        fields.insert("taints".into(), taints.join(", "));
                    }
                }
                if node.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
                    fields.insert("unschedulable".into(), "true".into());
                }
            }
            insert(
                &mut snap,
                Area::Nodes,
                format!("Node {}", info.name),
                Source::Nodes,
                fields,
            );
        }
    }

    let specs = [
        (
            "backupstoragelocations.velero.io",
            Source::StorageLocations,
            Area::StorageLocation,
            "BackupStorageLocation",
            "/spec",
        ),
        (
            "volumesnapshotlocations.velero.io",
            Source::SnapshotLocations,
            Area::SnapshotLocation,
            "VolumeSnapshotLocation",
            "/spec",
        ),
        (
            "schedules.velero.io",
            Source::Schedules,
            Area::Schedules,
            "Schedule",
            "/spec",
        ),
        (
            "volumesnapshotclasses.snapshot.storage.k8s.io",
            Source::SnapshotClasses,
            Area::Csi,
            "VolumeSnapshotClass",
            "",
        ),
        (
            "csidrivers",
            Source::CsiDrivers,
            Area::Csi,
            "CSIDriver",
            "/spec",
        ),
        (
            "storageclasses",
            Source::StorageClasses,
            Area::Csi,
            "StorageClass",
            "",
        ),
    ];
    for (resource, source, area, kind, pointer) in specs {
        if bundle.object_files(resource).is_empty() {
            continue;
        }
        snap.held.insert(source);
        for object in bundle.objects(resource)? {
            let mut fields = Fields::new();
            let part = if pointer.is_empty() {
                strip_object_noise(&object)
            } else {
                object.pointer(pointer).cloned().unwrap_or(Value::Null)
            };
            flatten("", &part, &mut fields);
            insert(
                &mut snap,
                area,
                format!("{kind} {}", name_of(&object)),
                source,
                fields,
            );
        }
    }

    if !bundle.object_files("secrets-metadata").is_empty() {
        snap.held.insert(Source::Secrets);
        for secret in bundle.objects("secrets-metadata")? {
            let mut all = Fields::new();
            flatten("", &secret, &mut all);
            let fields = all
                .into_iter()
                .filter(|(field, _)| SECRET_FIELDS.contains(&field.as_str()))
                .collect();
            insert(
                &mut snap,
                Area::Credentials,
                format!("Secret {}", name_of(&secret)),
                Source::Secrets,
                fields,
            );
        }
    }

    if bundle.has(&layout::objects_path("configmaps", Some(&velero_ns))) {
        snap.held.insert(Source::ConfigMaps);
        for configmap in bundle.objects("configmaps")? {
            let namespace = configmap
                .pointer("/metadata/namespace")
                .and_then(Value::as_str);
            let name = configmap.pointer("/metadata/name").and_then(Value::as_str);
            // The API server's own CA bundle, in every namespace: it changes with the cluster, not Velero.
            if namespace != Some(velero_ns.as_str()) || name == Some("kube-root-ca.crt") {
                continue;
            }
            let mut fields = Fields::new();
            for key in ["data", "binaryData"] {
                if let Some(data) = configmap.get(key) {
                    flatten(key, data, &mut fields);
                }
            }
            insert(
                &mut snap,
                Area::ServerConfig,
                format!("ConfigMap {}", name_of(&configmap)),
                Source::ConfigMaps,
                fields,
            );
        }
    }

    let workloads = [
        ("deployments", "Deployment", Source::Deployments),
        ("daemonsets", "DaemonSet", Source::DaemonSets),
    ];
    for (resource, kind, source) in workloads {
        if !bundle.has(&layout::objects_path(resource, Some(&velero_ns))) {
            continue;
        }
        snap.held.insert(source);
        for workload in bundle.objects(resource)? {
            if workload
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                != Some(velero_ns.as_str())
                || !is_velero_workload(&workload)
            {
                continue;
            }
            let name = name_of(&workload);
            for (container, config, resources) in container_fields(&workload) {
                let subject = format!("{kind} {name} container {container}");
                if !config.is_empty() {
                    insert(
                        &mut snap,
                        Area::ServerConfig,
                        subject.clone(),
                        source,
                        config,
                    );
                }
                insert(&mut snap, Area::Resources, subject, source, resources);
            }
        }
    }

    redact(&mut snap);
    Ok(snap)
}

/// Velero's server, its node agent (restic before 1.10): the workloads whose args and limits decide backups.
fn is_velero_workload(workload: &Value) -> bool {
    let name = workload.pointer("/metadata/name").and_then(Value::as_str);
    let containers = workload
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array);
    matches!(name, Some("velero" | "node-agent" | "restic"))
        || containers.into_iter().flatten().any(|c| {
            matches!(
                c.get("name").and_then(Value::as_str),
                Some("velero" | "node-agent" | "restic")
            )
        })
}

/// Each container of a workload's pod template: (name, args and env, resources). Env values come from the
/// manifest as written; one taken from a secret is named by its reference only.
fn container_fields(workload: &Value) -> Vec<(String, Fields, Fields)> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        let containers = workload
            .pointer(&format!("/spec/template/spec/{list}"))
            .and_then(Value::as_array);
        for container in containers.into_iter().flatten() {
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let mut config = Fields::new();
            let args = container.get("args").and_then(Value::as_array);
            for (index, arg) in args.into_iter().flatten().enumerate() {
                let arg = arg.as_str().map_or_else(|| arg.to_string(), str::to_string);
                match arg.strip_prefix("--") {
                    Some(flag) => match flag.split_once('=') {
                        Some((flag, value)) => {
                            config.insert(format!("args --{flag}"), value.into())
                        }
                        None => config.insert(format!("args --{flag}"), "(set)".into()),
                    },
                    None => config.insert(format!("args [{index}]"), arg),
                };
            }
            let env = container.get("env").and_then(Value::as_array);
            for variable in env.into_iter().flatten() {
                let Some(var) = variable.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let value = match (variable.get("value"), variable.get("valueFrom")) {
                    (Some(Value::String(value)), _) => value.clone(),
                    (_, Some(from)) => reference_text(from),
                    _ => String::new(),
                };
                config.insert(format!("env {var}"), value);
            }
            let mut resources = Fields::new();
            if let Some(limits) = container.get("resources") {
                flatten("", limits, &mut resources);
            }
            out.push((name, config, resources));
        }
    }
    out
}

/// `secret cloud-credentials key cloud`: where an env value comes from, never the value.
fn reference_text(from: &Value) -> String {
    for (kind, key) in [("secretKeyRef", "secret"), ("configMapKeyRef", "configmap")] {
        if let Some(reference) = from.get(kind) {
            let name = reference.get("name").and_then(Value::as_str).unwrap_or("?");
            let item = reference.get("key").and_then(Value::as_str).unwrap_or("?");
            return format!("from {key} {name} key {item}");
        }
    }
    let mut fields = Fields::new();
    flatten("", from, &mut fields);
    let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("from {}", parts.join(" "))
}

fn taint_text(taint: &Value) -> String {
    let text = |key| taint.get(key).and_then(Value::as_str).unwrap_or_default();
    match text("value") {
        "" => format!("{}:{}", text("key"), text("effect")),
        value => format!("{}={value}:{}", text("key"), text("effect")),
    }
}

fn name_of(object: &Value) -> String {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
    {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_string(),
    }
}

/// A whole object (for kinds with no spec: StorageClass, VolumeSnapshotClass) without what changes on every
/// write or says nothing of the configuration.
fn strip_object_noise(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        map.remove("status");
        if let Some(Value::Object(metadata)) = map.remove("metadata") {
            let mut kept = serde_json::Map::new();
            for key in ["labels", "annotations"] {
                if let Some(value) = metadata.get(key) {
                    kept.insert(key.to_string(), value.clone());
                }
            }
            if let Some(Value::Object(annotations)) = kept.get_mut("annotations") {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
            map.insert("metadata".into(), Value::Object(kept));
        }
    }
    object
}

/// `a.b.c` → scalar text; arrays of scalars joined, arrays of objects by index.
pub(crate) fn flatten(prefix: &str, value: &Value, out: &mut Fields) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                flatten(&join(key), value, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<String> = items.iter().map(scalar_text).collect();
            out.insert(prefix.to_string(), parts.join(", "));
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), item, out);
            }
        }
        Value::Null => {}
        scalar => {
            out.insert(prefix.to_string(), scalar_text(scalar));
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Every value through the redactor (a foreign bundle comes unredacted), then long ones by digest.
fn redact(snap: &mut Snapshot) {
    let redactor = Redactor::global();
    let mut counts = RedactionCounts::default();
    for (_, fields) in snap.items.values_mut() {
        for (field, value) in fields.iter_mut() {
            let redacted = redactor.redact_text(value, &mut counts).into_owned();
            *value = if field.ends_with("caCert") || redacted.len() > LONG_VALUE {
                digest_text(&redacted)
            } else {
                redacted
            };
        }
    }
}

/// `sha256 1a2b3c4d5e6f (2,048 bytes)`: enough to tell two long values apart.
pub(crate) fn digest_text(value: &str) -> String {
    use sha2::Digest as _;
    let digest = hex::encode(sha2::Sha256::digest(value.as_bytes()));
    format!("sha256 {} ({} bytes)", &digest[..12], value.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_names_nested_fields_and_joins_scalar_lists() {
        let mut fields = Fields::new();
        flatten(
            "",
            &json!({"objectStorage": {"bucket": "b", "prefix": null}, "config": {"region": "us-east-1"},
                    "ns": ["a", "b"], "hooks": [{"name": "h"}]}),
            &mut fields,
        );
        assert_eq!(fields["objectStorage.bucket"], "b");
        assert_eq!(fields["config.region"], "us-east-1");
        assert_eq!(fields["ns"], "a, b");
        assert_eq!(fields["hooks[0].name"], "h");
        assert!(!fields.contains_key("objectStorage.prefix"));
    }

    #[test]
    fn env_from_a_secret_is_named_by_reference_only() {
        let from = json!({"secretKeyRef": {"name": "cloud-credentials", "key": "cloud"}});
        assert_eq!(
            reference_text(&from),
            "from secret cloud-credentials key cloud"
        );
    }

    #[test]
    fn long_values_are_shown_by_digest() {
        let text = digest_text(&"x".repeat(300));
        assert!(text.starts_with("sha256 ") && text.ends_with("(300 bytes)"));
    }
}
