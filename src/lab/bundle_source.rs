//! A bundle as the lab's source (`snapdoc lab serve --bundle`): the objects, CRDs and pod logs of any bundle
//! snapdoc reads (its own, troubleshoot, velero debug: all in snapdoc's layout once opened, src/bundle/),
//! turned into a [`Scenario`], so kubectl and k9s browse what a customer's cluster held.
//!
//! A bundle was not written for the lab, so what the lab cannot serve is left out with a warning rather than
//! refused: a CRD it cannot read, objects of kinds nothing serves, an object listed twice.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::error::LabError;
use super::resources::{Registry, ResourceDef, resources_of_crd};
use super::scenario::{
    ContainerLog, Faults, KubernetesVersion, Scenario, ScenarioObject, build_registry,
    container_names,
};
use crate::bundle::{Bundle, layout};

const CRDS: &str = "customresourcedefinitions";

/// Marks a pod the bundle holds logs of but not the pod itself (a logs collector without the pod list):
/// the lab needs a pod to answer `kubectl logs`, and whoever reads the pod must know it was not collected.
pub(crate) const LOGS_ONLY_ANNOTATION: &str = "snapdoc.io/logs-only";

/// The scenario serving `bundle`: every object list it holds, its CRDs (Velero's built-in ones where it has
/// none), and its pod logs, left in the bundle until asked for.
pub(super) fn scenario_from_bundle(bundle: &mut Bundle) -> Result<Scenario, LabError> {
    let origin = bundle.path().display().to_string();
    let crds = readable_crds(bundle, &origin)?;
    let mut objects: Vec<ScenarioObject> = crds
        .into_iter()
        .map(|value| ScenarioObject {
            file: layout::CLUSTER_CRDS.to_string(),
            line: 0,
            value,
        })
        .collect();
    let (crds, registry) = build_registry(&objects, true)?;

    let mut seen = BTreeSet::new();
    for resource in resources_in(bundle) {
        let Some(def) = served_as(&registry, &resource) else {
            tracing::warn!("{origin}: {resource} not served: the lab has no such resource");
            continue;
        };
        let list = match bundle.objects(&resource) {
            Ok(list) => list,
            Err(error) => {
                tracing::warn!("{resource} not served: {error}");
                continue;
            }
        };
        let file = layout::objects_dir(&resource);
        for value in list {
            if let Some(value) = as_served(&registry, def, value)
                && seen.insert(identity(&value))
            {
                objects.push(ScenarioObject {
                    file: file.clone(),
                    line: 0,
                    value,
                });
            }
        }
    }
    let logs = pod_logs(bundle, &mut objects);

    let name = bundle
        .path()
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| origin.clone());
    Ok(Scenario {
        description: format!("{} bundle {origin}", bundle.format().as_str()),
        name,
        origin,
        kubernetes: kubernetes_version(bundle).unwrap_or_default(),
        // No reference time: a bundle's timestamps are history, shown as they were written.
        reference_time: None,
        velero_crds: true,
        faults: Faults::default(),
        objects,
        logs,
        store: BTreeMap::new(),
        store_files: BTreeMap::new(),
        host_root: None,
        registry,
        crds,
    })
}

/// The bundle's CRDs the lab can serve, one per name. Where the lab has the CRD built in (Velero's) and
/// it serves every version the bundle's does, the built-in one stays: collected CRDs are often trimmed of
/// short names and printer columns (`kubectl get bsl` must work), and the built-in one serves the same
/// objects.
fn readable_crds(bundle: &mut Bundle, origin: &str) -> Result<Vec<Value>, LabError> {
    let (built_in, _) = build_registry(&[], true)?;
    let listed = bundle.objects(CRDS).unwrap_or_else(|error| {
        tracing::warn!("CRDs not read, Velero's built-in ones are served: {error}");
        Vec::new()
    });
    let mut names = BTreeSet::new();
    Ok(listed
        .into_iter()
        .filter_map(|mut crd| {
            let name = crd["metadata"]["name"].as_str()?.to_string();
            if let Err(message) = resources_of_crd(&crd) {
                tracing::warn!("{origin}: CRD {name} not served: {message}");
                return None;
            }
            let covered = built_in
                .iter()
                .find(|known| known["metadata"]["name"] == name.as_str())
                .is_some_and(|known| {
                    let known = served_versions(known);
                    served_versions(&crd).iter().all(|v| known.contains(v))
                });
            crd["apiVersion"] = json!("apiextensions.k8s.io/v1");
            crd["kind"] = json!("CustomResourceDefinition");
            (names.insert(name) && !covered).then_some(crd)
        })
        .collect())
}

fn served_versions(crd: &Value) -> Vec<&str> {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|version| version["served"] != false)
        .filter_map(|version| version["name"].as_str())
        .collect()
}

/// Every resource with an object list in the bundle, as the bundle names it (`pods`, `backups.velero.io`).
fn resources_in(bundle: &Bundle) -> BTreeSet<String> {
    let mut resources: BTreeSet<String> = ["nodes", "namespaces"]
        .iter()
        .filter(|resource| bundle.object_files(resource).iter().any(|f| bundle.has(f)))
        .map(|resource| resource.to_string())
        .collect();
    for entry in bundle.entries() {
        for root in [layout::CUSTOM_RESOURCES, layout::CLUSTER_RESOURCES] {
            let Some(rest) = entry.strip_prefix(root).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            // CRDs were read first: the registry is built from them.
            if let [resource, file] = rest.split('/').collect::<Vec<_>>()[..]
                && file.ends_with(".json")
                && !resource.starts_with(CRDS)
            {
                resources.insert(resource.to_string());
            }
        }
    }
    resources
}

/// The lab's resource for a bundle's resource name: a core or apps plural has no group in the bundle.
fn served_as<'a>(registry: &'a Registry, resource: &str) -> Option<&'a ResourceDef> {
    if resource.contains('.') {
        registry.by_group_resource(resource)
    } else {
        registry
            .resources()
            .iter()
            .find(|def| !def.is_custom() && def.plural == resource)
    }
}

/// The object as the lab stores it, or `None` (with a warning) when it cannot be served. Typed lists drop
/// items' apiVersion and kind, so they come from the resource; a version the lab does not serve is read
/// as the resource's first served version, which is what a client of the customer's cluster would see.
fn as_served(registry: &Registry, def: &ResourceDef, mut value: Value) -> Option<Value> {
    if !value.is_object() || value["metadata"]["name"].as_str().is_none_or(str::is_empty) {
        tracing::warn!(resource = %def.group_resource(), "an object without metadata.name is not served");
        return None;
    }
    let served = value["apiVersion"]
        .as_str()
        .zip(value["kind"].as_str())
        .and_then(|(api_version, kind)| registry.for_kind(api_version, kind))
        .is_some_and(|found| found.group_resource() == def.group_resource());
    if !served {
        value["apiVersion"] = json!(def.api_version());
        value["kind"] = json!(def.kind);
    }
    let metadata = &mut value["metadata"];
    if def.namespaced {
        if metadata["namespace"].as_str().is_none_or(str::is_empty) {
            metadata["namespace"] = json!("default");
        }
    } else if let Some(fields) = metadata.as_object_mut() {
        fields.remove("namespace");
    }
    Some(value)
}

/// (apiVersion, kind, namespace, name): a bundle may list an object twice (a YAML and a JSON copy).
fn identity(value: &Value) -> (String, String, String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        text(&value["apiVersion"]),
        text(&value["kind"]),
        text(&value["metadata"]["namespace"]),
        text(&value["metadata"]["name"]),
    )
}

/// The bundle's pod logs, each tied to its pod. A log whose pod the bundle does not hold gets a pod marked
/// [`LOGS_ONLY_ANNOTATION`], in the namespace its collector read (Velero's or KOTS's).
fn pod_logs(bundle: &Bundle, objects: &mut Vec<ScenarioObject>) -> Vec<ContainerLog> {
    let namespace_of = |objects: &[ScenarioObject], pod: &str| {
        objects
            .iter()
            .find(|object| object.kind() == "Pod" && object.name() == pod)
            .and_then(|object| object.namespace().map(str::to_string))
    };
    let velero_namespace = objects
        .iter()
        .find(|object| object.api_version().starts_with("velero.io/"))
        .and_then(|object| object.namespace())
        .unwrap_or("velero")
        .to_string();
    let kots_namespace = objects
        .iter()
        .find(|object| object.kind() == "Pod" && object.name().starts_with("kotsadm"))
        .and_then(|object| object.namespace())
        .unwrap_or("default")
        .to_string();
    let mut logs = Vec::new();
    let mut logs_only: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for log in bundle.logs() {
        let (Some(pod), Some(container)) = (log.pod, log.container) else {
            continue;
        };
        let namespace = match namespace_of(objects, &pod) {
            Some(namespace) => {
                let known = objects.iter().any(|object| {
                    object.kind() == "Pod"
                        && object.name() == pod
                        && container_names(&object.value).contains(&container)
                });
                if !known {
                    tracing::warn!(
                        "{}: not served: pod {namespace}/{pod} has no container {container}",
                        log.path
                    );
                    continue;
                }
                namespace
            }
            None => {
                let namespace = if log.path.starts_with(layout::KOTS_LOGS) {
                    kots_namespace.clone()
                } else {
                    velero_namespace.clone()
                };
                let containers = logs_only
                    .entry((namespace.clone(), pod.clone()))
                    .or_default();
                if !containers.contains(&container) {
                    containers.push(container.clone());
                }
                namespace
            }
        };
        logs.push(ContainerLog {
            namespace,
            pod,
            container,
            previous: log.previous,
            text: String::new(),
            file: None,
            entry: Some(log.path),
        });
    }
    for ((namespace, pod), containers) in logs_only {
        let containers: Vec<Value> = containers
            .iter()
            .map(|name| json!({"name": name, "image": ""}))
            .collect();
        objects.push(ScenarioObject {
            file: layout::VELERO_LOGS.to_string(),
            line: 0,
            value: json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod,
                    "namespace": namespace,
                    "annotations": {LOGS_ONLY_ANNOTATION: "the bundle holds this pod's logs, not the pod"},
                },
                "spec": {"containers": containers},
                "status": {"phase": "Unknown"},
            }),
        });
    }
    logs
}

/// The cluster's version as the bundle recorded it (cluster/version.json holds /version's answer).
fn kubernetes_version(bundle: &mut Bundle) -> Option<KubernetesVersion> {
    let version = bundle.read_json(layout::CLUSTER_VERSION).ok()??;
    let text = |key: &str| version[key].as_str().map(str::to_string);
    Some(KubernetesVersion {
        major: text("major")?,
        minor: text("minor")?,
        git_version: text("gitVersion")?,
        platform: text("platform"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn typed_list_items_duplicates_and_pods_known_only_by_their_logs() {
        let dir = tempfile::tempdir().unwrap();
        // A typed list drops its items' apiVersion and kind; the second copy of b1 must not be served twice.
        write(
            dir.path(),
            "cluster-resources/custom-resources/backups.velero.io/velero.json",
            r#"{"kind": "BackupList", "items": [
                {"metadata": {"name": "b1", "namespace": "velero"}},
                {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "b1", "namespace": "velero"}}]}"#,
        );
        write(
            dir.path(),
            "cluster-resources/jobs/velero.json",
            r#"{"items": [{"metadata": {"name": "j", "namespace": "velero"}}]}"#,
        );
        write(dir.path(), "velero/logs/velero-abc/velero.log", "hello\n");
        write(
            dir.path(),
            "velero/logs/velero-abc/velero-previous.log",
            "before\n",
        );
        let mut bundle = Bundle::open(dir.path()).unwrap();
        let scenario = scenario_from_bundle(&mut bundle).unwrap();

        let backups = scenario.objects_of("backups.velero.io");
        assert_eq!(backups.len(), 1);
        assert_eq!(backups[0]["kind"], "Backup");
        assert_eq!(backups[0]["apiVersion"], "velero.io/v1");

        let pods = scenario.objects_of("pods");
        assert_eq!(pods.len(), 1, "{pods:?}");
        assert_eq!(pods[0]["metadata"]["namespace"], "velero");
        assert!(pods[0]["metadata"]["annotations"][LOGS_ONLY_ANNOTATION].is_string());
        assert_eq!(container_names(pods[0]), ["velero"]);

        let mut logs: Vec<(bool, Option<&str>)> = scenario
            .logs
            .iter()
            .map(|log| (log.previous, log.entry.as_deref()))
            .collect();
        logs.sort();
        assert_eq!(
            logs,
            [
                (false, Some("velero/logs/velero-abc/velero.log")),
                (true, Some("velero/logs/velero-abc/velero-previous.log")),
            ]
        );
        // Velero's built-in CRDs serve the backups though the bundle holds none.
        assert!(
            scenario
                .registry()
                .find("velero.io", "v1", "backups")
                .is_some()
        );
    }
}
