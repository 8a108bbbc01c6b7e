//! Replicated troubleshoot support bundles, read as snapdoc bundles.
//!
//! What troubleshoot writes (replicatedhq/troubleshoot, pkg/collect and pkg/supportbundle, v0.50 … v0.13x):
//! - one top folder `support-bundle-<2006-01-02T15_04_05>/` inside the `.tar.gz`, `version.yaml` at its
//!   root (`apiVersion: troubleshoot.sh/v1beta2`, `kind: SupportBundle`, `spec.versionNumber`), and its own
//!   `analysis.json` there too (a different document from snapdoc's, so never mapped onto it);
//! - clusterInfo: `cluster-info/cluster_version.json` = `{"info": <the /version answer>, "string": "v1.29.4"}`;
//! - clusterResources: `cluster-resources/<resource>/<namespace>.json` for namespaced core kinds (`pods`,
//!   `deployments`, `daemonsets`, `events`, `pvcs` …), `nodes.json`, `namespaces.json`,
//!   `storage-classes.json`, `pvs.json`, `custom-resource-definitions.json` at the top; older releases
//!   marshal the items array, newer ones the whole List. Custom resources under
//!   `cluster-resources/custom-resources/<plural>.<group>/<namespace>.yaml` (a YAML sequence; the
//!   cluster-scoped ones as `<plural>.<group>.yaml`), newer releases writing a `.json` beside each;
//!   a failed read leaves `<resource>-errors.json` (a list of messages, or namespace → message);
//! - pod logs: since the logs collector gained symlinks, every log is written once under
//!   `cluster-resources/pods/logs/<namespace>/<pod>/<container>.log` (`-previous.log` for the previous
//!   container) and the collector's own path `<name>/<pod>/<container>.log` is a relative symlink to it;
//!   older releases wrote the collector's path only. KOTS names its Velero logs collector `velero`
//!   (selectors `component=velero`, `app.kubernetes.io/name=velero`, in the Velero namespace;
//!   kots pkg/supportbundle/spec.go) and troubleshoot's velero analyzer expects `velero/logs/`; the
//!   kotsadm logs go to `kots/admin_console/`.
//!
//! Troubleshoot bundles do not carry backup or restore logs (Velero serves those only through
//! DownloadRequests), nor the key names of the credential secrets: the report says so.
use std::collections::BTreeMap;

use serde_json::Value;

use super::BundleError;
use super::archive::{self, FoundLog, PodLogs, Produce, RawTree, Translation};
use super::dating;
use super::layout;
use super::manifest::{CollectorError, Manifest};

/// What identifies a troubleshoot bundle, for the message when nothing matched.
pub(crate) const EXPECTED: &str =
    "version.yaml of kind SupportBundle, or cluster-resources/ beside cluster-info/";

const VERSION_FILE: &str = "version.yaml";
const CLUSTER_VERSION: &str = "cluster-info/cluster_version.json";
const RESOURCES: &str = "cluster-resources/";
const CUSTOM: &str = "cluster-resources/custom-resources/";
const POD_LOGS: &str = "cluster-resources/pods/logs/";

/// Folder names troubleshoot uses for namespaced core kinds → snapdoc's resource names.
const NAMESPACED: &[(&str, &str)] = &[
    ("pods", "pods"),
    ("deployments", "deployments"),
    ("daemonsets", "daemonsets"),
    ("statefulsets", "statefulsets"),
    ("replicasets", "replicasets"),
    ("jobs", "jobs"),
    ("cronjobs", "cronjobs"),
    ("services", "services"),
    ("events", "events"),
    ("configmaps", "configmaps"),
    ("pvcs", "persistentvolumeclaims"),
];

/// Cluster-wide files at the top of cluster-resources/ → snapdoc paths.
fn cluster_file(name: &str) -> Option<String> {
    Some(match name {
        "nodes.json" => layout::CLUSTER_NODES.to_string(),
        "namespaces.json" => layout::CLUSTER_NAMESPACES.to_string(),
        "custom-resource-definitions.json" => layout::CLUSTER_CRDS.to_string(),
        "storage-classes.json" => layout::objects_path("storageclasses", None),
        // Some releases wrote the persistent volumes without an extension.
        "pvs.json" | "pvs" => layout::objects_path("persistentvolumes", None),
        _ => return None,
    })
}

/// A custom resource list: (`<plural>.<group>`, namespace or `None` when cluster-scoped).
type CustomKey = (String, Option<String>);

/// The bundle root (`""` or `"<top folder>/"`) if the tree is a troubleshoot support bundle.
pub(crate) fn recognize(tree: &mut RawTree) -> Option<String> {
    let mut version_files: Vec<String> = tree
        .entries()
        .iter()
        .filter(|e| e.path == VERSION_FILE || e.path.ends_with("/version.yaml"))
        .map(|e| e.path.clone())
        .collect();
    version_files.sort_by_key(|p| p.matches('/').count());
    for path in version_files {
        let Some(raw) = tree.resolve(&path) else {
            continue;
        };
        let Ok(text) = tree.read_text(&raw) else {
            continue;
        };
        if text.contains("kind: SupportBundle") || text.contains("troubleshoot.sh/") {
            return Some(path[..path.len() - VERSION_FILE.len()].to_string());
        }
    }
    // Bundles assembled by hand (or cut by an older tool) may lack version.yaml: a cluster-resources/
    // folder beside troubleshoot's own cluster-info/ or node list is still unmistakable.
    let roots: Vec<String> = tree
        .entries()
        .iter()
        .filter_map(|e| {
            let at = if e.path.starts_with(RESOURCES) {
                0
            } else {
                e.path.find(&format!("/{RESOURCES}"))? + 1
            };
            Some(e.path[..at].to_string())
        })
        .collect();
    let mut roots: Vec<String> = roots
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    roots.sort_by_key(|r| r.matches('/').count());
    roots.into_iter().find(|root| {
        tree.entry(&format!("{root}{CLUSTER_VERSION}")).is_some()
            || tree
                .entry(&format!("{root}{RESOURCES}nodes.json"))
                .is_some()
    })
}

/// Maps the troubleshoot bundle rooted at `root` onto snapdoc's layout.
pub(crate) fn translate(tree: &mut RawTree, root: &str) -> Result<Translation, BundleError> {
    let mut translation = Translation::default();
    // Troubleshoot names its folder (and by default its archive) after the local time it started collecting.
    translation.own_dates.push((
        dating::time_in_name(root),
        format!("the folder name {root} (local time, read as UTC)"),
    ));
    let mut custom: BTreeMap<CustomKey, Vec<(bool, String)>> = BTreeMap::new();
    let mut logs = PodLogs::default();
    let mut error_files = Vec::new();
    let mut run_error_files = Vec::new();

    for (rel, raw) in tree.files_under(root) {
        if rel == CLUSTER_VERSION {
            translation.produce.insert(
                layout::CLUSTER_VERSION.to_string(),
                Produce::Reshaped {
                    source: raw,
                    reshape: version_info,
                },
            );
        } else if let Some(log) = rel.strip_prefix(POD_LOGS) {
            // <namespace>/<pod>/<container>.log
            if let [_namespace, pod, file] = log.split('/').collect::<Vec<_>>()[..]
                && let Some((container, previous)) = PodLogs::split_file_name(file)
            {
                logs.add(FoundLog {
                    pod: pod.to_string(),
                    container,
                    previous,
                    raw,
                    velero_folder: false,
                });
            }
        } else if let Some(rest) = rel.strip_prefix(CUSTOM) {
            let segments: Vec<&str> = rest.split('/').collect();
            let (crd, file) = match segments[..] {
                [crd, file] => (crd.to_string(), Some(file)),
                [file] => (String::new(), Some(file)),
                _ => (String::new(), None),
            };
            let Some(file) = file else { continue };
            let Some((stem, is_json)) = archive::object_file_stem(file) else {
                continue;
            };
            // custom-resources-errors.json: the same naming as `<kind>-errors.json` beside it.
            if let Some(resource) = stem.strip_suffix("-errors") {
                error_files.push((raw, Some(resource.to_string())));
                continue;
            }
            // `<crd>/<namespace>.json` is namespaced; `<crd>.yaml` directly here is cluster-scoped.
            let key = if crd.is_empty() {
                if !stem.contains('.') {
                    continue;
                }
                (stem.to_string(), None)
            } else {
                (crd, Some(stem.to_string()))
            };
            custom.entry(key).or_default().push((is_json, raw));
        } else if let Some(rest) = rel.strip_prefix(RESOURCES) {
            let segments: Vec<&str> = rest.split('/').collect();
            match segments[..] {
                [file] => {
                    if let Some(entry) = cluster_file(file) {
                        if entry == layout::CLUSTER_CRDS {
                            translation.produce.insert(
                                entry,
                                Produce::Objects {
                                    sources: vec![raw],
                                    keep: Some(is_velero_crd),
                                },
                            );
                        } else {
                            translation.add_objects(entry, raw);
                        }
                    } else if let Some(resource) = file.strip_suffix("-errors.json") {
                        error_files.push((raw, Some(resource.to_string())));
                    }
                }
                [folder, file] => {
                    let Some(&(_, resource)) = NAMESPACED.iter().find(|(f, _)| *f == folder) else {
                        continue;
                    };
                    let Some(namespace) = file.strip_suffix(".json") else {
                        continue;
                    };
                    translation.add_objects(layout::objects_path(resource, Some(namespace)), raw);
                }
                _ => {}
            }
        } else if let Some(entry) = kots_file(&rel) {
            translation
                .produce
                .insert(entry.to_string(), Produce::Raw(raw));
        } else if rel == "cluster-info/errors.json" {
            error_files.push((raw, Some("cluster-info".to_string())));
        } else if is_run_error_file(&rel) {
            run_error_files.push((raw, rel));
        } else if rel.ends_with(".log") {
            // A logs collector's own path: <collector name…>/<pod>/<container>.log.
            let segments: Vec<&str> = rel.split('/').collect();
            if segments.len() < 3 {
                continue;
            }
            let (prefix, pod, file) = (
                &segments[..segments.len() - 2],
                segments[segments.len() - 2],
                segments[segments.len() - 1],
            );
            if let Some((container, previous)) = PodLogs::split_file_name(file) {
                logs.add(FoundLog {
                    pod: pod.to_string(),
                    container,
                    previous,
                    raw,
                    velero_folder: prefix.contains(&"velero"),
                });
            }
        }
    }

    // Newer releases write the same objects as .json and .yaml; one of them is enough, JSON preferred.
    for ((crd, namespace), mut files) in custom {
        files.sort_by_key(|(is_json, _)| !*is_json);
        let prefer_json = files[0].0;
        let sources: Vec<String> = files
            .into_iter()
            .filter(|(is_json, _)| *is_json == prefer_json)
            .map(|(_, raw)| raw)
            .collect();
        let entry = layout::objects_path(&crd, namespace.as_deref());
        if layout::check_entry_name(&entry).is_err() {
            continue;
        }
        for raw in sources {
            translation.add_objects(entry.clone(), raw);
        }
    }

    let logs_found = !logs.is_empty();
    let (velero_pods, _) = logs.place(&mut translation);

    translation.manifest = Some(manifest(tree, root, &error_files, &run_error_files));
    translation.unavailable = unavailable(logs_found, velero_pods);
    Ok(translation)
}

/// KOTS's support bundle spec (kots pkg/supportbundle/spec.go, v1.121.0 `55b35f47`) collects the Admin
/// Console's view of the installation: `app-info.json` (with the snapshot settings KOTS schedules itself)
/// and the license (`spec.isSnapshotSupported`). snapdoc keeps them under `kots/`.
fn kots_file(rel: &str) -> Option<&'static str> {
    match rel {
        "kots/admin_console/app-info.json" => Some(layout::KOTS_APP_INFO),
        "kots/admin_console/license.yaml" => Some(layout::KOTS_LICENSE),
        _ => None,
    }
}

fn is_velero_crd(crd: &Value) -> bool {
    crd.pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.ends_with(".velero.io"))
}

/// `{"info": {...}, "string": "v1.29.4"}` → the info object; a bare version answer passes through.
fn version_info(value: Value) -> Option<Value> {
    match value {
        Value::Object(mut map) => match map.remove("info") {
            Some(info @ Value::Object(_)) => Some(info),
            Some(_) => None,
            None if map.contains_key("gitVersion") => Some(Value::Object(map)),
            None => None,
        },
        _ => None,
    }
}

fn manifest(
    tree: &mut RawTree,
    root: &str,
    error_files: &[(String, Option<String>)],
    run_error_files: &[(String, String)],
) -> Manifest {
    let version = tree
        .resolve(&format!("{root}{VERSION_FILE}"))
        .and_then(|raw| tree.read_text(&raw).ok())
        .and_then(|text| {
            archive::parse_yaml_documents(&text)
                .ok()?
                .into_iter()
                .find_map(|d| {
                    d.pointer("/spec/versionNumber")?
                        .as_str()
                        .map(str::to_string)
                })
        })
        .unwrap_or_else(|| "unknown".into());
    let mut collector_errors = Vec::new();
    for (raw, resource) in error_files {
        let Ok(text) = tree.read_text(raw) else {
            continue;
        };
        collector_errors.extend(collector_errors_of(resource.as_deref(), &text));
    }
    for (raw, rel) in run_error_files {
        let Ok(text) = tree.read_text(raw) else {
            continue;
        };
        collector_errors.extend(run_errors_of(rel, &text));
    }
    Manifest {
        collector_errors,
        ..Manifest::foreign("troubleshoot", version)
    }
}

/// Which of troubleshoot's error files concern what snapdoc reads, named as snapdoc names them.
fn error_target(resource: &str) -> Option<&'static str> {
    Some(match resource {
        "pods" => "pods",
        "deployments" => "deployments",
        "daemonsets" => "daemonsets",
        "events" => "events",
        "pvcs" => "persistentvolumeclaims",
        "pvs" => "persistentvolumes",
        "nodes" => "nodes",
        "namespaces" => "namespaces",
        "configmaps" => "configmaps",
        "storage-classes" => "storageclasses",
        "custom-resource-definitions" => "customresourcedefinitions",
        "custom-resources" => "custom resources",
        "cluster-info" => "Kubernetes version",
        _ => return None,
    })
}

/// The target of a refusal that covers every velero.io kind (read by SD860 / SD861 as Velero's objects).
const EVERY_VELERO_KIND: &str = "every custom resource, *.velero.io";

/// One error file: a list of messages, or a map from namespace (or CRD name) to message.
fn collector_errors_of(resource: Option<&str>, text: &str) -> Vec<CollectorError> {
    let Some(target) = resource.and_then(error_target) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let error = |key: Option<&str>, message: &str| {
        let (target, namespace) = match (target, key) {
            // `crdList` / `crdClient`: the CRD list itself was refused, so every custom resource, Velero's
            // included, is missing (troubleshoot pkg/collect/cluster_resources.go).
            ("custom resources", Some("crdList" | "crdClient")) => {
                (EVERY_VELERO_KIND.to_string(), None)
            }
            // custom-resources-errors.json is keyed by CRD name otherwise; only Velero's matter here.
            ("custom resources", Some(crd)) => (crd.to_string(), None),
            (target, key) => (
                target.to_string(),
                key.filter(|k| !k.is_empty()).map(str::to_string),
            ),
        };
        CollectorError {
            source: "troubleshoot".into(),
            target: Some(target),
            namespace,
            status: status_of(message),
            message: message.to_string(),
        }
    };
    let mut errors = Vec::new();
    match &value {
        Value::Array(messages) => {
            for message in messages.iter().filter_map(Value::as_str) {
                errors.push(error(None, message));
            }
        }
        Value::Object(map) => {
            for (key, message) in map {
                if let Some(message) = message.as_str() {
                    errors.push(error(Some(key), message));
                }
            }
        }
        _ => {}
    }
    if target == "custom resources" {
        errors.retain(|e| {
            e.target
                .as_deref()
                .is_some_and(|t| t.ends_with(".velero.io"))
        });
    }
    errors
}

/// Files troubleshoot writes when a collector did not run or could not read what it was told to
/// (replicatedhq/troubleshoot `5bf008f7`): `skipped-collectors.json` (pkg/collect/collector.go
/// `WriteSkippedCollectors`, since PR #2019: excluded collectors and those skipped for RBAC),
/// `collector-errors/<title>-error.json` (pkg/supportbundle/collect.go: a collector that failed),
/// `<logs collector name>/errors.json` (pkg/collect/logs.go `getLogsErrorsFileName`: the pods could not be
/// listed) and `<name>/<pod>[/<container>]-errors.json` (a container's log could not be read).
fn is_run_error_file(rel: &str) -> bool {
    rel == "skipped-collectors.json"
        || (rel.starts_with("collector-errors/") && rel.ends_with("-error.json"))
        || (!rel.starts_with(RESOURCES)
            && !rel.starts_with("cluster-info/")
            && (rel.ends_with("/errors.json") || rel.ends_with("-errors.json")))
}

/// What a run-error file says, as collector errors: every one means something the bundle should hold is
/// missing, so none may read as "nothing failed".
fn run_errors_of(rel: &str, text: &str) -> Vec<CollectorError> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let error = |target: String, message: String| CollectorError {
        source: "troubleshoot".into(),
        status: status_of(&message),
        target: Some(target),
        namespace: None,
        message,
    };
    if rel == "skipped-collectors.json" {
        // [{collector, reason, errors, timestamp}]
        return value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|skipped| {
                let collector = skipped.get("collector")?.as_str()?;
                let reason = skipped
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("skipped");
                let errors: Vec<&str> = skipped
                    .get("errors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let mut failure = error(
                    collector.to_string(),
                    if errors.is_empty() {
                        format!("collector skipped: {reason}")
                    } else {
                        format!("collector skipped: {reason}: {}", errors.join("; "))
                    },
                );
                if reason.contains("RBAC") {
                    failure.status = Some(403);
                }
                Some(failure)
            })
            .collect();
    }
    if let Some(file) = rel.strip_prefix("collector-errors/") {
        // {collector, error, timestamp}
        let collector = value
            .get("collector")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| file.trim_end_matches("-error.json").to_string());
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("the collector failed");
        return vec![error(collector, format!("collector failed: {message}"))];
    }
    // A logs collector's errors: a list of messages, about its pods or one container's log.
    let target = match rel.strip_suffix("/errors.json") {
        Some(collector) => format!("pods of the logs collector {collector}"),
        None => format!("log {}", rel.trim_end_matches("-errors.json")),
    };
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|message| error(target.clone(), message.to_string()))
        .collect()
}

/// The HTTP status a client-go error message stands for, when its wording says.
fn status_of(message: &str) -> Option<u16> {
    if message.contains("is forbidden") {
        Some(403)
    } else if message.contains("Unauthorized") {
        Some(401)
    } else if message.contains("could not find the requested resource") {
        Some(404)
    } else {
        None
    }
}

fn unavailable(logs_found: bool, velero_pods: usize) -> Vec<String> {
    let mut notes = vec![
        "backup and restore results (errors and warnings by namespace): a troubleshoot support bundle does not include them".to_string(),
        "credential secret key names: a troubleshoot support bundle does not record them, so the storage locations' credential secrets could not be checked".to_string(),
    ];
    if velero_pods == 0 {
        notes.push(if logs_found {
            "Velero server and node-agent logs: this support bundle holds pod logs, but none of a velero, node-agent or restic container".to_string()
        } else {
            "Velero server and node-agent logs: this support bundle holds no pod logs (KOTS adds a `velero` logs collector; other specs may not)".to_string()
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_file_shapes() {
        let wrapped = serde_json::json!({"info": {"gitVersion": "v1.29.4"}, "string": "v1.29.4"});
        assert_eq!(version_info(wrapped).unwrap()["gitVersion"], "v1.29.4");
        let bare = serde_json::json!({"gitVersion": "v1.29.4"});
        assert_eq!(version_info(bare).unwrap()["gitVersion"], "v1.29.4");
        assert!(version_info(serde_json::json!({"string": "x"})).is_none());
    }

    #[test]
    fn folder_names_give_a_time() {
        assert_eq!(
            dating::time_in_name("support-bundle-2024-03-12T05_13_27/").as_deref(),
            Some("2024-03-12T05:13:27Z")
        );
        assert_eq!(dating::time_in_name("bundle/"), None);
        assert_eq!(dating::time_in_name(""), None);
    }

    #[test]
    fn error_files_become_collector_errors() {
        let by_namespace =
            r#"{"velero": "pods is forbidden: User \"x\" cannot list resource \"pods\""}"#;
        let errors = collector_errors_of(Some("pods"), by_namespace);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].namespace.as_deref(), Some("velero"));
        assert_eq!(errors[0].status, Some(403));
        let list = r#"["nodes is forbidden"]"#;
        assert_eq!(
            collector_errors_of(Some("nodes"), list)[0]
                .target
                .as_deref(),
            Some("nodes")
        );
        // composed: client-go's forbidden wording under the key troubleshoot uses for a refused CRD list.
        let every = r#"{"crdList": "customresourcedefinitions.apiextensions.k8s.io is forbidden: User \"system:serviceaccount:app:kotsadm\" cannot list resource \"customresourcedefinitions\""}"#;
        let errors = collector_errors_of(Some("custom-resources"), every);
        assert_eq!(errors.len(), 1, "crdList refuses every custom resource");
        assert_eq!(errors[0].target.as_deref(), Some(EVERY_VELERO_KIND));
        assert_eq!(errors[0].status, Some(403));
        let crs = r#"{"backups.velero.io": "boom", "widgets.example.com": "boom"}"#;
        let errors = collector_errors_of(Some("custom-resources"), crs);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].target.as_deref(), Some("backups.velero.io"));
        assert!(collector_errors_of(Some("auth-cani-list"), list).is_empty());
        assert!(collector_errors_of(Some("pods"), "not json").is_empty());
    }
}
