//! Decisions taken from objects already read: where Velero and KOTS run, what their images say of their
//! versions, which namespaces backups cover, which secrets Velero uses, which backups to fetch logs of.
//! Pure functions over raw JSON, read defensively (any Velero 1.x shape).
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

fn str_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str()
}

pub(super) fn name(object: &Value) -> Option<&str> {
    str_at(object, &["metadata", "name"])
}

fn namespace(object: &Value) -> Option<&str> {
    str_at(object, &["metadata", "namespace"])
}

fn label<'v>(object: &'v Value, key: &str) -> Option<&'v str> {
    object.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// Items of a Kubernetes List (or an empty slice).
pub(super) fn items(list: &Value) -> &[Value] {
    list.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The containers of a pod spec or of a workload's pod template.
fn pod_spec(object: &Value) -> Option<&Value> {
    match object.get("kind").and_then(Value::as_str) {
        Some("Pod") => object.get("spec"),
        _ => object
            .get("spec")?
            .get("template")?
            .get("spec")
            .or_else(|| object.get("spec")),
    }
}

fn containers<'v>(object: &'v Value, field: &str) -> &'v [Value] {
    pod_spec(object)
        .and_then(|spec| spec.get(field))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The tag of an image reference (`velero/velero:v1.12.0@sha256:…` → `v1.12.0`), if it has one.
pub(crate) fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last_segment.split_once(':')?;
    (!tag.is_empty()).then_some(tag)
}

/// The repository's last path segment (`docker.io/velero/velero-plugin-for-aws:v1.8.0` → `velero-plugin-for-aws`).
pub(super) fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last_segment.split(':').next().unwrap_or(last_segment)
}

fn runs_image_named(object: &Value, wanted: &str) -> bool {
    containers(object, "containers").iter().any(|c| {
        c.get("image")
            .and_then(Value::as_str)
            .is_some_and(|i| image_name(i) == wanted)
    })
}

fn has_container(object: &Value, wanted: &str) -> bool {
    containers(object, "containers")
        .iter()
        .any(|c| c.get("name").and_then(Value::as_str) == Some(wanted))
}

/// A velero server deployment: Velero's labels (velero install: `component=velero`; Helm:
/// `app.kubernetes.io/name=velero`), or named `velero` and running a `velero/velero` image.
pub(super) fn is_velero_deployment(deployment: &Value) -> bool {
    let labelled = label(deployment, "component") == Some("velero")
        || label(deployment, "app.kubernetes.io/name") == Some("velero")
        || label(deployment, "name") == Some("velero");
    let runs_velero = has_container(deployment, "velero") || runs_image_named(deployment, "velero");
    (labelled || name(deployment) == Some("velero")) && runs_velero
}

/// The KOTS admin console: `app=kotsadm`, or named `kotsadm` running a kotsadm image.
pub(super) fn is_kotsadm_workload(workload: &Value) -> bool {
    let runs_kotsadm = has_container(workload, "kotsadm") || runs_image_named(workload, "kotsadm");
    (label(workload, "app") == Some("kotsadm") || name(workload) == Some("kotsadm")) && runs_kotsadm
}

/// The namespace of the best match among `deployments`: one named as expected first, then by namespace
/// name, so the choice is stable. Returns every candidate namespace too (more than one is worth saying).
pub(super) fn pick_namespace(
    deployments: &[Value],
    matches: impl Fn(&Value) -> bool,
    preferred_name: &str,
) -> (Option<String>, Vec<String>) {
    let mut candidates: Vec<(bool, &str)> = deployments
        .iter()
        .filter(|d| matches(d))
        .filter_map(|d| Some((name(d) != Some(preferred_name), namespace(d)?)))
        .collect();
    candidates.sort();
    let all: BTreeSet<String> = candidates.iter().map(|(_, ns)| ns.to_string()).collect();
    (
        candidates.first().map(|(_, ns)| ns.to_string()),
        all.into_iter().collect(),
    )
}

/// A Velero / node-agent / KOTS container and its version, as the bundle's scope lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// velero, node-agent, restic, plugin, kotsadm
    pub component: String,
    /// The namespace the workload runs in.
    pub namespace: String,
    /// The Deployment or DaemonSet name.
    pub workload: String,
    /// The container in the pod template whose image names the version.
    pub container: String,
    /// The image reference as the pod spec gives it.
    pub image: String,
    /// The version read from the image tag, when it is one (`v1.14.0`, not `latest` or a digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Components of the velero deployment (its init containers are the plugins), the node-agent / restic
/// DaemonSet, and the kotsadm deployment.
pub(super) fn components(workloads: &[Value]) -> Vec<Component> {
    let mut out = Vec::new();
    for workload in workloads {
        let (Some(workload_name), Some(ns)) = (name(workload), namespace(workload)) else {
            continue;
        };
        let kind = workload.get("kind").and_then(Value::as_str).unwrap_or("");
        let mut push = |component: &str, container: &Value| {
            let image = container
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            out.push(Component {
                component: component.to_string(),
                namespace: ns.to_string(),
                workload: format!("{kind}/{workload_name}"),
                container: container
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                version: image_tag(&image).map(str::to_string),
                image,
            });
        };
        if kind == "Deployment" && is_velero_deployment(workload) {
            for c in containers(workload, "containers") {
                if c.get("name").and_then(Value::as_str) == Some("velero") {
                    push("velero", c);
                }
            }
            for c in containers(workload, "initContainers") {
                push("plugin", c);
            }
        } else if kind == "DaemonSet" {
            for c in containers(workload, "containers") {
                match c.get("name").and_then(Value::as_str) {
                    Some("node-agent") => push("node-agent", c),
                    Some("restic") => push("restic", c),
                    _ => {}
                }
            }
        } else if kind == "Deployment" && is_kotsadm_workload(workload) {
            for c in containers(workload, "containers") {
                if c.get("name").and_then(Value::as_str) == Some("kotsadm") {
                    push("kotsadm", c);
                }
            }
        }
    }
    out
}

/// The namespaces the backups and schedules include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupScope {
    /// Some backup includes every namespace (`*` or no includedNamespaces).
    All {
        /// Namespaces every such backup leaves out (`excludedNamespaces`).
        excluded: BTreeSet<String>,
    },
    /// Only these namespaces, the union of the includedNamespaces lists.
    Only(BTreeSet<String>),
}

impl BackupScope {
    /// Whether some backup or schedule takes namespace `ns`, so its workloads' volumes are worth reading.
    pub fn includes(&self, ns: &str) -> bool {
        match self {
            BackupScope::All { excluded } => !excluded.contains(ns),
            BackupScope::Only(set) => set.contains(ns),
        }
    }

    /// Adds the namespaces restores write into under another name (`spec.namespaceMapping`'s values): a
    /// restored pod's state (a restore-wait init container, a Pod Security refusal's consequences) is there,
    /// not in the backed-up namespace.
    pub(super) fn add_restore_targets(&mut self, restores: &[Value]) {
        let targets = restores
            .iter()
            .filter_map(|r| r.pointer("/spec/namespaceMapping")?.as_object())
            .flat_map(|mapping| mapping.values().filter_map(Value::as_str));
        for target in targets {
            match self {
                BackupScope::All { excluded } => {
                    excluded.remove(target);
                }
                BackupScope::Only(set) => {
                    set.insert(target.to_string());
                }
            }
        }
    }

    /// For the manifest's scope: `["*"]` or the names.
    pub fn describe(&self) -> Vec<String> {
        match self {
            BackupScope::All { .. } => vec!["*".into()],
            BackupScope::Only(set) => set.iter().cloned().collect(),
        }
    }
}

/// Namespaces covered by `backups` and by the backups `schedules` will make. A backup without
/// includedNamespaces (or with `*`) covers all; namespaces only some backups exclude stay in.
pub(super) fn backup_scope(backups: &[Value], schedules: &[Value]) -> BackupScope {
    let specs = backups.iter().filter_map(|b| b.get("spec")).chain(
        schedules
            .iter()
            .filter_map(|s| s.get("spec")?.get("template")),
    );
    let mut included = BTreeSet::new();
    let mut all = false;
    let mut excluded_by_all: Option<BTreeSet<String>> = None;
    for spec in specs {
        let names = |field: &str| -> Vec<String> {
            spec.get(field)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let include = names("includedNamespaces");
        if include.is_empty() || include.iter().any(|n| n == "*") {
            all = true;
            let excluded: BTreeSet<String> = names("excludedNamespaces").into_iter().collect();
            // Excluded only if every all-namespaces backup excludes it.
            excluded_by_all = Some(match excluded_by_all {
                None => excluded,
                Some(before) => before.intersection(&excluded).cloned().collect(),
            });
        } else {
            included.extend(include);
        }
    }
    if all {
        let excluded = excluded_by_all
            .unwrap_or_default()
            .into_iter()
            .filter(|ns| !included.contains(ns))
            .collect();
        BackupScope::All { excluded }
    } else {
        BackupScope::Only(included)
    }
}

/// What Velero's objects say about one credentials secret: who references it, and which of its keys they
/// name. The keys come from the references alone, so the secret itself is never read for them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct SecretReference {
    pub(crate) referenced_by: BTreeSet<String>,
    pub keys: BTreeSet<String>,
}

/// The secrets Velero reads credentials from, by name, with what references each: BSL / VSL
/// `spec.credential`, and the pod templates' secret volumes (their `items`), envFrom and secretKeyRef.
pub(super) fn secret_references(
    locations: &[Value],
    workloads: &[Value],
) -> BTreeMap<String, SecretReference> {
    let mut refs: BTreeMap<String, SecretReference> = BTreeMap::new();
    let mut add = |secret: &str, by: String, keys: Vec<&str>| {
        if !secret.is_empty() {
            let reference = refs.entry(secret.to_string()).or_default();
            reference.referenced_by.insert(by);
            reference.keys.extend(
                keys.into_iter()
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
            );
        }
    };
    for location in locations {
        if let Some(secret) = str_at(location, &["spec", "credential", "name"]) {
            let kind = location
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("Location");
            add(
                secret,
                format!("{kind}/{} spec.credential", name(location).unwrap_or("?")),
                str_at(location, &["spec", "credential", "key"])
                    .into_iter()
                    .collect(),
            );
        }
    }
    for workload in workloads {
        let kind = workload.get("kind").and_then(Value::as_str).unwrap_or("");
        let who = format!("{kind}/{}", name(workload).unwrap_or("?"));
        if let Some(volumes) = pod_spec(workload)
            .and_then(|s| s.get("volumes"))
            .and_then(Value::as_array)
        {
            for volume in volumes {
                if let Some(secret) = str_at(volume, &["secret", "secretName"]) {
                    add(
                        secret,
                        format!("{who} volume"),
                        item_keys(&volume["secret"]),
                    );
                }
                for source in volume
                    .get("projected")
                    .and_then(|p| p.get("sources"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(secret) = str_at(source, &["secret", "name"]) {
                        add(
                            secret,
                            format!("{who} projected volume"),
                            item_keys(&source["secret"]),
                        );
                    }
                }
            }
        }
        for container in containers(workload, "containers")
            .iter()
            .chain(containers(workload, "initContainers"))
        {
            for env_from in container
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(secret) = str_at(env_from, &["secretRef", "name"]) {
                    add(secret, format!("{who} envFrom"), Vec::new());
                }
            }
            for env in container
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(secret) = str_at(env, &["valueFrom", "secretKeyRef", "name"]) {
                    add(
                        secret,
                        format!("{who} env"),
                        str_at(env, &["valueFrom", "secretKeyRef", "key"])
                            .into_iter()
                            .collect(),
                    );
                }
            }
        }
    }
    refs
}

/// The keys a secret volume's `items` project.
fn item_keys(source: &Value) -> Vec<&str> {
    source
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("key").and_then(Value::as_str))
        .collect()
}

fn phase(object: &Value) -> &str {
    str_at(object, &["status", "phase"]).unwrap_or("")
}

/// When an object was made: its creationTimestamp, else its status.startTimestamp.
pub(super) fn created(object: &Value) -> Option<jiff::Timestamp> {
    let text = str_at(object, &["metadata", "creationTimestamp"])
        .or_else(|| str_at(object, &["status", "startTimestamp"]))?;
    text.parse().ok()
}

/// Phases whose logs may be in object storage: Velero uploads them when it stops working on a backup.
fn has_uploaded_logs(phase: &str) -> bool {
    !matches!(
        phase,
        "" | "New" | "InProgress" | "FailedValidation" | "Deleting"
    )
}

/// Backups (or restores) to fetch logs of: the named ones if any were named; otherwise the `recent`
/// newest, and every Failed / PartiallyFailed one created within `since`. Newest first.
pub(super) fn choose_recent(
    objects: &[Value],
    named: &[String],
    recent: usize,
    since: jiff::SignedDuration,
    now: jiff::Timestamp,
) -> Vec<String> {
    if !named.is_empty() {
        let mut seen = BTreeSet::new();
        return named
            .iter()
            .filter(|n| seen.insert(n.as_str()))
            .cloned()
            .collect();
    }
    let mut dated: Vec<(Option<jiff::Timestamp>, &str, &Value)> = objects
        .iter()
        .filter(|o| has_uploaded_logs(phase(o)))
        .filter_map(|o| Some((created(o), name(o)?, o)))
        .collect();
    // Newest first; undated last; by name for stability.
    dated.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let cutoff = now.checked_sub(since).ok();
    let mut chosen: Vec<String> = Vec::new();
    for (index, (when, object_name, object)) in dated.iter().enumerate() {
        let failed = matches!(phase(object), "Failed" | "PartiallyFailed");
        let within = match (when, cutoff) {
            (Some(when), Some(cutoff)) => *when >= cutoff,
            _ => true,
        };
        if index < recent || (failed && within) {
            chosen.push(object_name.to_string());
        }
    }
    chosen
}

/// Names of backups (or restores) other objects point at, newest first, when the backups themselves cannot
/// be listed: the `velero.io/backup-name` (or `restore-name`) label of pod volume backups, data uploads …,
/// and the backup a schedule made last (`<schedule>-<yyyyMMddHHmmss>`, Velero's naming).
pub(super) fn names_seen_elsewhere(
    labelled: &[&Value],
    label_key: &str,
    schedules: &[Value],
    limit: usize,
) -> Vec<String> {
    let mut dated: Vec<(Option<jiff::Timestamp>, String)> = Vec::new();
    for list in labelled {
        for object in items(list) {
            if let Some(name) = label(object, label_key) {
                dated.push((created(object), name.to_string()));
            }
        }
    }
    for schedule in schedules {
        let (Some(schedule_name), Some(last)) = (
            name(schedule),
            str_at(schedule, &["status", "lastBackup"])
                .and_then(|t| t.parse::<jiff::Timestamp>().ok()),
        ) else {
            continue;
        };
        let stamp = last.strftime("%Y%m%d%H%M%S");
        dated.push((Some(last), format!("{schedule_name}-{stamp}")));
    }
    dated.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut seen = BTreeSet::new();
    dated
        .into_iter()
        .filter(|(_, n)| seen.insert(n.clone()))
        .map(|(_, n)| n)
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(ns: &str, name: &str, labels: Value, image: &str, container: &str) -> Value {
        json!({
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}
        })
    }

    #[test]
    fn image_tags_and_names() {
        assert_eq!(image_tag("velero/velero:v1.12.0"), Some("v1.12.0"));
        assert_eq!(
            image_tag("registry:5000/velero/velero:v1.9.2@sha256:abc"),
            Some("v1.9.2")
        );
        assert_eq!(image_tag("registry:5000/velero/velero"), None);
        assert_eq!(image_tag("velero/velero@sha256:abc"), None);
        assert_eq!(
            image_name("docker.io/velero/velero-plugin-for-aws:v1.8.0"),
            "velero-plugin-for-aws"
        );
        assert_eq!(image_name("kotsadm/kotsadm:v1.109.3"), "kotsadm");
    }

    #[test]
    fn velero_is_found_by_labels_or_by_name_and_image_in_any_namespace() {
        let deployments = vec![
            deployment("default", "web", json!({"app": "web"}), "nginx:1", "web"),
            deployment(
                "backup-system",
                "velero",
                json!({"component": "velero"}),
                "velero/velero:v1.12.0",
                "velero",
            ),
        ];
        let (ns, all) = pick_namespace(&deployments, is_velero_deployment, "velero");
        assert_eq!(ns.as_deref(), Some("backup-system"));
        assert_eq!(all, vec!["backup-system".to_string()]);

        let helm = deployment(
            "tools",
            "velero-helm",
            json!({"app.kubernetes.io/name": "velero"}),
            "myregistry/velero/velero:v1.13.0",
            "velero",
        );
        assert!(is_velero_deployment(&helm));
        let unlabelled = deployment("x", "velero", json!({}), "velero/velero:v1.2.0", "server");
        assert!(is_velero_deployment(&unlabelled));
        let impostor = deployment(
            "x",
            "velero-ui",
            json!({"component": "velero"}),
            "otiai10/velero-ui:1",
            "ui",
        );
        assert!(!is_velero_deployment(&impostor));
        let plugin_only = deployment("x", "other", json!({}), "velero/velero:v1", "velero");
        assert!(!is_velero_deployment(&plugin_only));
    }

    #[test]
    fn the_deployment_named_velero_wins_among_several() {
        let deployments = vec![
            deployment(
                "a",
                "velero-2",
                json!({"component": "velero"}),
                "velero/velero:v1",
                "velero",
            ),
            deployment(
                "b",
                "velero",
                json!({"component": "velero"}),
                "velero/velero:v1",
                "velero",
            ),
        ];
        let (ns, all) = pick_namespace(&deployments, is_velero_deployment, "velero");
        assert_eq!(ns.as_deref(), Some("b"));
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn components_read_versions_from_image_tags() {
        let velero = json!({
            "kind": "Deployment",
            "metadata": {"name": "velero", "namespace": "velero", "labels": {"component": "velero"}},
            "spec": {"template": {"spec": {
                "initContainers": [{"name": "velero-plugin-for-aws", "image": "velero/velero-plugin-for-aws:v1.8.0"}],
                "containers": [{"name": "velero", "image": "velero/velero:v1.12.1"}]
            }}}
        });
        let node_agent = json!({
            "kind": "DaemonSet",
            "metadata": {"name": "node-agent", "namespace": "velero"},
            "spec": {"template": {"spec": {"containers": [{"name": "node-agent", "image": "velero/velero:v1.12.1"}]}}}
        });
        let kotsadm = deployment(
            "default",
            "kotsadm",
            json!({"app": "kotsadm"}),
            "kotsadm/kotsadm:v1.109.3",
            "kotsadm",
        );
        let found = components(&[velero, node_agent, kotsadm]);
        let summary: Vec<(&str, &str, Option<&str>)> = found
            .iter()
            .map(|c| {
                (
                    c.component.as_str(),
                    c.container.as_str(),
                    c.version.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("velero", "velero", Some("v1.12.1")),
                ("plugin", "velero-plugin-for-aws", Some("v1.8.0")),
                ("node-agent", "node-agent", Some("v1.12.1")),
                ("kotsadm", "kotsadm", Some("v1.109.3")),
            ]
        );
    }

    #[test]
    fn backup_scope_unions_includes_and_handles_all() {
        let backups = vec![
            json!({"spec": {"includedNamespaces": ["app", "db"]}}),
            json!({"spec": {"includedNamespaces": ["web"]}}),
        ];
        let schedules = vec![json!({"spec": {"template": {"includedNamespaces": ["cache"]}}})];
        let scope = backup_scope(&backups, &schedules);
        assert_eq!(
            scope.describe(),
            vec!["app", "cache", "db", "web"]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        );
        let all = backup_scope(
            &[
                json!({"spec": {"includedNamespaces": ["*"], "excludedNamespaces": ["kube-system", "tmp"]}}),
                json!({"spec": {"excludedNamespaces": ["kube-system"]}}),
                json!({"spec": {"includedNamespaces": ["tmp"]}}),
            ],
            &[],
        );
        assert!(all.includes("anything"));
        assert!(!all.includes("kube-system"));
        assert!(all.includes("tmp"));
        assert_eq!(backup_scope(&[], &[]), BackupScope::Only(BTreeSet::new()));
    }

    #[test]
    fn restores_into_other_namespaces_widen_the_scope() {
        let restores = [
            json!({"spec": {"backupName": "b", "namespaceMapping": {"app": "app-restore"}}}),
            json!({"spec": {"backupName": "b"}}),
        ];
        let mut only = backup_scope(&[json!({"spec": {"includedNamespaces": ["app"]}})], &[]);
        only.add_restore_targets(&restores);
        assert_eq!(only.describe(), ["app", "app-restore"]);
        let mut all = backup_scope(
            &[json!({"spec": {"excludedNamespaces": ["app-restore", "tmp"]}})],
            &[],
        );
        all.add_restore_targets(&restores);
        assert!(all.includes("app-restore") && !all.includes("tmp"));
    }

    #[test]
    fn secret_references_come_from_locations_and_pod_templates() {
        let bsl = json!({"kind": "BackupStorageLocation", "metadata": {"name": "default"},
            "spec": {"credential": {"name": "bsl-creds", "key": "cloud"}}});
        let deployment = json!({
            "kind": "Deployment", "metadata": {"name": "velero"},
            "spec": {"template": {"spec": {
                "volumes": [{"name": "cloud-credentials", "secret": {"secretName": "cloud-credentials",
                    "items": [{"key": "cloud", "path": "cloud"}]}}],
                "containers": [{"name": "velero",
                    "envFrom": [{"secretRef": {"name": "env-secret"}}],
                    "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "key-secret", "key": "k"}}}]}]
            }}}
        });
        let refs = secret_references(&[bsl], &[deployment]);
        assert_eq!(
            refs.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["bsl-creds", "cloud-credentials", "env-secret", "key-secret"]
        );
        assert!(
            refs["bsl-creds"]
                .referenced_by
                .contains("BackupStorageLocation/default spec.credential")
        );
        let keys = |secret: &str| refs[secret].keys.iter().cloned().collect::<Vec<_>>();
        assert_eq!(keys("bsl-creds"), ["cloud"]);
        assert_eq!(keys("cloud-credentials"), ["cloud"]);
        assert_eq!(keys("key-secret"), ["k"]);
        assert!(keys("env-secret").is_empty(), "envFrom names no key");
    }

    #[test]
    fn backup_names_are_found_on_labels_and_schedules() {
        let pvbs = json!({"items": [
            {"metadata": {"name": "p1", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"velero.io/backup-name": "instance-abc"}}},
            {"metadata": {"name": "p2", "creationTimestamp": "2026-01-01T00:00:01Z",
                "labels": {"velero.io/backup-name": "instance-abc"}}},
            {"metadata": {"name": "p3", "creationTimestamp": "2025-12-01T00:00:00Z",
                "labels": {"velero.io/backup-name": "older"}}}
        ]});
        let schedules = vec![json!({"metadata": {"name": "daily"},
            "status": {"lastBackup": "2026-01-02T03:04:05Z"}})];
        assert_eq!(
            names_seen_elsewhere(&[&pvbs], "velero.io/backup-name", &schedules, 10),
            vec!["daily-20260102030405", "instance-abc", "older"]
        );
        assert_eq!(
            names_seen_elsewhere(&[&pvbs], "velero.io/backup-name", &[], 1),
            vec!["instance-abc"]
        );
    }

    #[test]
    fn recent_backups_and_failed_ones_within_since_are_chosen() {
        let now: jiff::Timestamp = "2026-01-10T00:00:00Z".parse().unwrap();
        let backup = |name: &str, created: &str, phase: &str| json!({"metadata": {"name": name, "creationTimestamp": created}, "status": {"phase": phase}});
        let backups = vec![
            backup("old-failed", "2025-12-01T00:00:00Z", "Failed"),
            backup("recent-failed", "2026-01-08T00:00:00Z", "PartiallyFailed"),
            backup("b3", "2026-01-09T03:00:00Z", "Completed"),
            backup("b2", "2026-01-09T02:00:00Z", "Completed"),
            backup("b1", "2026-01-09T01:00:00Z", "Completed"),
            backup("running", "2026-01-09T04:00:00Z", "InProgress"),
            backup("invalid", "2026-01-09T05:00:00Z", "FailedValidation"),
        ];
        let since = jiff::SignedDuration::from_hours(72);
        assert_eq!(
            choose_recent(&backups, &[], 2, since, now),
            vec!["b3", "b2", "recent-failed"]
        );
        assert_eq!(
            choose_recent(&backups, &["x".into(), "x".into()], 2, since, now),
            vec!["x"]
        );
        assert_eq!(
            choose_recent(&backups, &[], 0, since, now),
            vec!["recent-failed"]
        );
    }
}
