#![allow(dead_code)] // shared by several test crates, each using a part
//! Fixture bundles in the formats support teams receive, made from a snapdoc bundle so that the same
//! cluster can be read in every form. No third-party bundle is committed; these follow the layouts the
//! tools document and write (see src/bundle/troubleshoot.rs and src/bundle/velero_debug.rs):
//! - [`troubleshoot_tree`]: a troubleshoot support bundle (top folder, version.yaml, cluster-info,
//!   cluster-resources with JSON and YAML custom resources, pod logs with collector symlinks);
//! - [`velero_debug_tree`]: a `velero debug` bundle, laid out as the real code writes it:
//!   vmware-tanzu/velero `pkg/cmd/cli/debug/cshd-scripts/velero.cshd` at v1.12.3
//!   (684f71306e9c2fda204a16cb012dc209523cfae1; unchanged from v1.7 to main) run by
//!   vmware-tanzu/crash-diagnostics `k8s/object_writer.go`, `k8s/result_writer.go`,
//!   `k8s/container_logger.go` and `starlark/capture_local.go` at v0.3.7
//!   (a7df9e0b1d68f6ebc4179e733709bb82b01d8007, pinned by Velero 1.8 … 1.18) or v0.4.1
//!   (323d2a810d2abee683495bfb819d5921bf87a4ec, which no Velero release uses), archived with folder
//!   entries. /work/shared/real-bundles/ holds a real-layout one; the tests read it as it is;
//! - [`must_gather_tree`]: an OADP must-gather as openshift/oadp-operator `must-gather/pkg/cli.go` and
//!   `must-gather/pkg/templates/summary.go` write it at b3e7f02d6fdc841494e41603ca57341c673a76f1
//!   (`createYAML`: Velero objects as one YAML `List` per namespace at
//!   `namespaces/<ns>/velero.io/<plural>/<plural>.yaml`; backup logs at `…/backups/<name>.log` and
//!   `describe-<name>.txt`; `WriteVersion`: `must-gather/version`; `Write`: `oadp-must-gather-summary.md`),
//!   with the OADP namespace inspected as openshift/oc `pkg/cli/admin/inspect` writes it at
//!   6b8e30c5b39aa742147846341a203905e04834f3 (`util.go` `dirPathForInfo`/`filenameForInfo`: lists at
//!   `namespaces/<ns>/<group|core>/<resource>.yaml`; `pod.go`: `pods/<pod>/<pod>.yaml` and
//!   `pods/<pod>/<container>/<container>/logs/{current,previous}.log`), inside the folders `oc adm
//!   must-gather` copies it into (`must-gather.local.<n>/<image>/`).
//!
//! A fixture is first a [`Tree`] in memory (fixtures are small), then written as a `.tar.gz` or as a
//! directory with real symlinks.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::{Value, json};
use snapdoc::bundle::RunInfo;
use snapdoc::bundle::{Bundle, BundleWriter};
use snapdoc::lab::Scenario;

/// One file or link of a fixture.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    File(Vec<u8>),
    /// A symbolic link with this (relative) target.
    Link(String),
    /// A hard link to this path from the archive root.
    HardLink(String),
}

/// A fixture's files by path, and the modification time every entry gets.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub nodes: BTreeMap<String, Node>,
    pub mtime: u64,
    /// Write a tar entry for every folder before its files (crashd's archiver does; troubleshoot's does not).
    pub folders: bool,
}

impl Tree {
    pub(crate) fn file(&mut self, path: impl Into<String>, data: impl Into<Vec<u8>>) {
        self.nodes.insert(path.into(), Node::File(data.into()));
    }
    pub(crate) fn link(&mut self, path: impl Into<String>, target: impl Into<String>) {
        self.nodes.insert(path.into(), Node::Link(target.into()));
    }
    pub(crate) fn hard_link(&mut self, path: impl Into<String>, target: impl Into<String>) {
        self.nodes
            .insert(path.into(), Node::HardLink(target.into()));
    }

    /// Writes a gzip-compressed tar: files and symlinks, folder entries when `folders` is set.
    pub(crate) fn write_tar_gz(&self, out: &Path) {
        let file = std::fs::File::create(out).unwrap();
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut written_folders = std::collections::BTreeSet::new();
        for (path, node) in &self.nodes {
            if self.folders {
                let mut folder = String::new();
                for segment in path
                    .split('/')
                    .collect::<Vec<_>>()
                    .iter()
                    .rev()
                    .skip(1)
                    .rev()
                {
                    folder.push_str(segment);
                    folder.push('/');
                    if written_folders.insert(folder.clone()) {
                        let mut header = tar::Header::new_gnu();
                        header.set_mtime(self.mtime);
                        header.set_entry_type(tar::EntryType::Directory);
                        // crashd creates its folders with os.MkdirAll(dir, 0744).
                        header.set_mode(0o744);
                        header.set_size(0);
                        tar.append_data(&mut header, &folder, std::io::empty())
                            .unwrap();
                    }
                }
            }
            let mut header = tar::Header::new_gnu();
            header.set_mtime(self.mtime);
            match node {
                Node::File(data) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o644);
                    header.set_size(data.len() as u64);
                    tar.append_data(&mut header, path, data.as_slice()).unwrap();
                }
                Node::Link(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    tar.append_link(&mut header, path, target).unwrap();
                }
                Node::HardLink(target) => {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_mode(0o644);
                    header.set_size(0);
                    tar.append_link(&mut header, path, target).unwrap();
                }
            }
        }
        tar.into_inner().unwrap().finish().unwrap();
    }

    /// Writes the tree under `out` (an extracted bundle), links as symlinks, times as recorded.
    pub(crate) fn write_dir(&self, out: &Path) {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.mtime);
        for (path, node) in &self.nodes {
            let full = out.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            match node {
                Node::File(data) => {
                    std::fs::write(&full, data).unwrap();
                    let file = std::fs::File::options().write(true).open(&full).unwrap();
                    file.set_modified(time).unwrap();
                }
                Node::Link(target) => {
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(target, &full).unwrap();
                    #[cfg(not(unix))]
                    panic!("symlinked fixtures need a unix file system ({target})");
                }
                Node::HardLink(target) => {
                    std::fs::hard_link(out.join(target), &full).unwrap();
                }
            }
        }
    }
}

/// Writes a snapdoc bundle of a lab scenario as the collector would: objects as Lists by resource and
/// namespace, velero/node-agent and kotsadm pod logs, backup logs from the object store.
pub(crate) fn snapdoc_bundle_from_scenario(scenario: &Scenario, out: &Path) {
    write_snapdoc_bundle(scenario, out, false)
}

/// As [`snapdoc_bundle_from_scenario`], with the scenario's secrets as the collector's metadata-only
/// `secrets-metadata` entries (name, resourceVersion, creation time, uid, key names; never a value).
pub(crate) fn snapdoc_bundle_with_secrets_metadata(scenario: &Scenario, out: &Path) {
    write_snapdoc_bundle(scenario, out, true)
}

fn write_snapdoc_bundle(scenario: &Scenario, out: &Path, secrets_metadata: bool) {
    let mut lists: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for object in &scenario.objects {
        let Some(def) = scenario.resource_of(object) else {
            continue;
        };
        let path = match (def.group.as_str(), def.plural.as_str()) {
            // The collector looks up only the secrets Velero's objects reference, all in its namespace.
            ("", "secrets") if secrets_metadata && object.namespace() == Some("velero") => {
                let namespace = "velero";
                let mut metadata = json!({"name": object.name(), "namespace": namespace});
                for field in ["resourceVersion", "creationTimestamp", "uid"] {
                    if let Some(value) = object.value["metadata"].get(field) {
                        metadata[field] = value.clone();
                    }
                }
                let keys: Vec<&String> = object.value["data"]
                    .as_object()
                    .into_iter()
                    .flat_map(|d| d.keys())
                    .collect();
                let entry = json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata,
                    "keys": keys, "referencedBy": [], "exists": true});
                lists
                    .entry(format!(
                        "{}/{namespace}.json",
                        snapdoc::bundle::SECRETS_METADATA
                    ))
                    .or_default()
                    .push(entry);
                continue;
            }
            ("", "secrets") => continue,
            ("", "nodes") => "cluster/nodes.json".to_string(),
            ("", "namespaces") => "cluster/namespaces.json".to_string(),
            ("apiextensions.k8s.io", _) => continue,
            ("" | "apps" | "storage.k8s.io" | "batch", plural) => {
                snapdoc::bundle::objects_path(plural, object.namespace())
            }
            (group, plural) => {
                snapdoc::bundle::objects_path(&format!("{plural}.{group}"), object.namespace())
            }
        };
        lists.entry(path).or_default().push(object.value.clone());
    }
    let crds: Vec<Value> = scenario
        .crds()
        .iter()
        .filter(|c| {
            c["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(".velero.io"))
        })
        .cloned()
        .collect();
    let created = scenario
        .reference_time
        .map(|t| t.to_string())
        .unwrap_or_else(|| "2026-11-25T12:00:00Z".into());

    let mut writer = BundleWriter::create(out, true).unwrap();
    let k = &scenario.kubernetes;
    writer
        .add_json(
            "cluster/version.json",
            &json!({"major": k.major, "minor": k.minor, "gitVersion": k.git_version,
                    "platform": k.platform.clone().unwrap_or_else(|| "linux/amd64".into())}),
        )
        .unwrap();
    if !crds.is_empty() {
        writer
            .add_json("cluster/crds.json", &as_list(crds))
            .unwrap();
    }
    for (path, items) in lists {
        writer.add_json(&path, &as_list(items)).unwrap();
    }
    let pods: Vec<&Value> = scenario
        .objects
        .iter()
        .filter(|o| o.kind() == "Pod")
        .map(|o| &o.value)
        .collect();
    for log in &scenario.logs {
        let Some(pod) = pods
            .iter()
            .find(|p| p["metadata"]["name"] == log.pod.as_str())
        else {
            continue;
        };
        let containers: Vec<&str> = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let root = if containers
            .iter()
            .any(|c| matches!(*c, "velero" | "node-agent" | "restic"))
        {
            "velero/logs"
        } else if containers.contains(&"kotsadm") {
            "kots/logs"
        } else {
            continue;
        };
        let path = snapdoc::bundle::pod_log_path(root, &log.pod, &log.container, log.previous);
        writer.add_bytes(&path, log.text.as_bytes()).unwrap();
    }
    for (path, text) in &scenario.store {
        let target = match path.split('/').collect::<Vec<_>>()[..] {
            ["backups", name, "backup.log"] => snapdoc::bundle::backup_log_path(name),
            ["backups", name, "results.json"] => snapdoc::bundle::backup_results_path(name),
            ["restores", name, "restore.log"] => snapdoc::bundle::restore_log_path(name),
            ["restores", name, "results.json"] => snapdoc::bundle::restore_results_path(name),
            _ => continue,
        };
        writer.add_bytes(&target, text.as_bytes()).unwrap();
    }
    let run = RunInfo {
        created: Some(created),
        ..RunInfo::default()
    };
    writer.finish(run).unwrap();
}

fn as_list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// Path variants troubleshoot has written over its releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TroubleshootStyle {
    /// v0.7x and later: logs under cluster-resources/pods/logs with collector symlinks (KOTS's `velero`
    /// collector), List JSON beside YAML for custom resources.
    Current,
    /// Collector symlinks under `kots/velero/` and `velero/logs/` (specs that name their collector so).
    NestedCollectors,
    /// Older releases: logs only at the collector's path, custom resources as YAML only, items arrays
    /// instead of Lists, an empty List with `items: null`.
    Legacy,
}

/// The bundle's creation time, seconds since the epoch (the manifest's `created`).
fn created_seconds(bundle: &Bundle) -> u64 {
    let created = bundle
        .manifest()
        .map(|m| m.created.clone())
        .unwrap_or_default();
    created
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second() as u64)
        .unwrap_or(1_700_000_000)
}

fn read_entry(bundle: &mut Bundle, entry: &str) -> Vec<u8> {
    let mut data = Vec::new();
    bundle
        .open_entry(entry)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    data
}

fn read_json(bundle: &mut Bundle, entry: &str) -> Value {
    serde_json::from_slice(&read_entry(bundle, entry)).unwrap()
}

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).unwrap()
}

/// The namespace of a pod, looked up in the bundle's pod lists.
fn pod_namespaces(bundle: &mut Bundle) -> BTreeMap<String, String> {
    bundle
        .objects("pods")
        .unwrap()
        .iter()
        .filter_map(|p| {
            Some((
                p["metadata"]["name"].as_str()?.to_string(),
                p["metadata"]["namespace"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A troubleshoot support bundle holding what `bundle` holds (minus what troubleshoot never collects:
/// backup logs and results, secrets metadata).
pub(crate) fn troubleshoot_tree(bundle: &mut Bundle, style: TroubleshootStyle) -> Tree {
    let mtime = created_seconds(bundle);
    let stamp = jiff::Timestamp::from_second(mtime as i64)
        .unwrap()
        .strftime("%Y-%m-%dT%H_%M_%S")
        .to_string();
    let root = format!("support-bundle-{stamp}/");
    let mut tree = Tree {
        mtime,
        ..Tree::default()
    };
    let version = match style {
        TroubleshootStyle::Legacy => "v0.52.0",
        _ => "v0.107.2",
    };
    tree.file(
        format!("{root}version.yaml"),
        format!("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: {version}\n"),
    );
    // troubleshoot's own analysis, which must never be mistaken for snapdoc's analysis.json.
    tree.file(format!("{root}analysis.json"), "[]");
    let namespaces = pod_namespaces(bundle);
    let entries: Vec<String> = bundle.entries().to_vec();
    for entry in entries {
        let segments: Vec<&str> = entry.split('/').collect();
        match segments[..] {
            ["cluster", "version.json"] => {
                let info = read_json(bundle, &entry);
                let string = info["gitVersion"].clone();
                tree.file(
                    format!("{root}cluster-info/cluster_version.json"),
                    serde_json::to_vec_pretty(&json!({"info": info, "string": string})).unwrap(),
                );
            }
            [
                "cluster",
                file @ ("nodes.json" | "namespaces.json" | "crds.json"),
            ] => {
                let list = read_json(bundle, &entry);
                let name = if file == "crds.json" {
                    "custom-resource-definitions.json"
                } else {
                    file
                };
                let body = match style {
                    TroubleshootStyle::Legacy => Value::Array(items(&list)),
                    _ => list,
                };
                tree.file(
                    format!("{root}cluster-resources/{name}"),
                    serde_json::to_vec_pretty(&body).unwrap(),
                );
            }
            ["cluster-resources", "custom-resources", crd, file] => {
                let Some(namespace) = file.strip_suffix(".json") else {
                    continue;
                };
                let objects = items(&read_json(bundle, &entry));
                let base = format!("{root}cluster-resources/custom-resources/{crd}/{namespace}");
                if style != TroubleshootStyle::Legacy {
                    // troubleshoot's velero analyzer unmarshals these files as arrays.
                    tree.file(
                        format!("{base}.json"),
                        serde_json::to_vec_pretty(&Value::Array(objects.clone())).unwrap(),
                    );
                }
                tree.file(format!("{base}.yaml"), yaml(&Value::Array(objects)));
            }
            ["cluster-resources", "secrets-metadata", _] => {}
            ["cluster-resources", resource, file] => {
                let list = read_json(bundle, &entry);
                let path = match (resource, file) {
                    ("storageclasses", "_cluster.json") => "storage-classes.json".to_string(),
                    ("persistentvolumes", "_cluster.json") => "pvs.json".to_string(),
                    ("persistentvolumeclaims", file) => format!("pvcs/{file}"),
                    (resource, file) => format!("{resource}/{file}"),
                };
                let body = match style {
                    TroubleshootStyle::Legacy => Value::Array(items(&list)),
                    _ => list,
                };
                tree.file(
                    format!("{root}cluster-resources/{path}"),
                    serde_json::to_vec_pretty(&body).unwrap(),
                );
            }
            [top @ ("velero" | "kots"), "logs", pod, file] => {
                let data = read_entry(bundle, &entry);
                let namespace = namespaces
                    .get(pod)
                    .cloned()
                    .unwrap_or_else(|| "default".into());
                let collector = match (top, style) {
                    ("kots", _) => "kots/admin_console",
                    ("velero", TroubleshootStyle::NestedCollectors) => {
                        if pod.starts_with("velero") {
                            "kots/velero"
                        } else {
                            "velero/logs"
                        }
                    }
                    _ => "velero",
                };
                let link = format!("{root}{collector}/{pod}/{file}");
                if style == TroubleshootStyle::Legacy {
                    tree.file(link, data);
                } else {
                    let real = format!("cluster-resources/pods/logs/{namespace}/{pod}/{file}");
                    tree.file(format!("{root}{real}"), data);
                    // Relative to the link's folder, as troubleshoot writes it into the archive.
                    let up = "../".repeat(collector.split('/').count() + 1);
                    tree.link(link, format!("{up}{real}"));
                }
            }
            _ => {}
        }
    }
    if style == TroubleshootStyle::Legacy {
        tree.file(
            format!("{root}cluster-resources/custom-resources/deletebackuprequests.velero.io/velero.yaml"),
            "apiVersion: v1\nitems: null\nkind: List\n",
        );
    } else {
        tree.file(
            format!("{root}cluster-resources/pods-errors.json"),
            r#"{"kube-flannel": "pods is forbidden: User \"system:serviceaccount:default:troubleshoot\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-flannel\""}"#,
        );
    }
    tree
}

/// Object layouts crash-diagnostics writes (k8s/object_writer.go of each release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VeleroDebugStyle {
    /// v0.3.7 (and v0.3.4), what every `velero debug` since Velero 1.7 runs: one List per resource and
    /// version, `printers.JSONPrinter` (4-space indent), `<resource>-<200601021504.0000>.json`.
    Crashd037,
    /// v0.4.1 `output_format="yaml"`: one YAML List per resource, `<resource>-<2006-01-02T15-04-05Z.0000>.yaml`.
    Crashd041Yaml,
    /// v0.4.1 `output_mode="multiple_files"`: one JSON file per object in a folder named after the resource,
    /// `<resource>/<name>-<stamp>.json`; pod logs under that `pods/` folder.
    Crashd041Objects,
}

impl VeleroDebugStyle {
    pub(crate) const ALL: [VeleroDebugStyle; 3] = [
        VeleroDebugStyle::Crashd037,
        VeleroDebugStyle::Crashd041Yaml,
        VeleroDebugStyle::Crashd041Objects,
    ];

    /// The stamp crashd puts in a file name (`time.Now().Format(…)`; Go's `.0000` is a fraction of a second).
    fn stamp(self, seconds: u64) -> String {
        let time = jiff::Timestamp::from_second(seconds as i64).unwrap();
        match self {
            VeleroDebugStyle::Crashd037 => time.strftime("%Y%m%d%H%M.0000").to_string(),
            _ => time.strftime("%Y-%m-%dT%H-%M-%SZ.0000").to_string(),
        }
    }
}

/// JSON as k8s.io/cli-runtime's `printers.JSONPrinter` writes it: `json.MarshalIndent(obj, "", "    ")`.
fn go_json_indent(value: &Value) -> Vec<u8> {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).unwrap();
    out.push(b'\n');
    out
}

/// What `velero backup logs NAME` prints when the log is not in the object store.
pub(crate) const CLI_LOG_NOT_FOUND: &str = "An error occurred: file not found\n";

/// A `velero debug --backup <backup>` bundle of what `bundle` holds in the Velero namespace.
pub(crate) fn velero_debug_tree(
    bundle: &mut Bundle,
    style: VeleroDebugStyle,
    backup: Option<&str>,
) -> Tree {
    let mtime = created_seconds(bundle);
    let stamp = style.stamp(mtime);
    let root = "velero-bundle/";
    let mut tree = Tree {
        mtime,
        folders: true,
        ..Tree::default()
    };
    let mut velero_namespace = None;
    let entries: Vec<String> = bundle.entries().to_vec();
    let mut captured: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for entry in &entries {
        let segments: Vec<&str> = entry.split('/').collect();
        if let ["cluster-resources", "custom-resources", crd, file] = segments[..] {
            let (Some(plural), Some(namespace)) =
                (crd.strip_suffix(".velero.io"), file.strip_suffix(".json"))
            else {
                continue;
            };
            velero_namespace.get_or_insert_with(|| namespace.to_string());
            for object in items(&read_json(bundle, entry)) {
                let version = object["apiVersion"]
                    .as_str()
                    .and_then(|v| v.strip_prefix("velero.io/"))
                    .unwrap_or("v1")
                    .to_string();
                captured
                    .entry((version, namespace.to_string(), plural.to_string()))
                    .or_default()
                    .push(object);
            }
        }
    }
    let namespace = velero_namespace.unwrap_or_else(|| "velero".into());
    let pods: Vec<Value> = bundle
        .objects("pods")
        .unwrap()
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == namespace.as_str())
        .collect();
    // object_writer.go writes a result only when the search found items (the searcher drops empty lists).
    if !pods.is_empty() {
        captured.insert(
            ("v1".into(), namespace.clone(), "pods".into()),
            pods.clone(),
        );
    }
    for ((version, ns, resource), objects) in &captured {
        let (group, api_version) = if resource == "pods" {
            ("core", "v1".to_string())
        } else {
            ("velero.io", format!("velero.io/{version}"))
        };
        let base = format!("{root}kubecapture/{group}_{version}/{ns}");
        let kind = objects
            .first()
            .and_then(|o| o["kind"].as_str())
            .unwrap_or("Object");
        // The UnstructuredList the dynamic client returned, as its printer writes it.
        let list = json!({"apiVersion": api_version, "items": objects, "kind": format!("{kind}List"),
                          "metadata": {"continue": "", "resourceVersion": "884213"}});
        match style {
            VeleroDebugStyle::Crashd037 => {
                tree.file(
                    format!("{base}/{resource}-{stamp}.json"),
                    go_json_indent(&list),
                );
            }
            VeleroDebugStyle::Crashd041Yaml => {
                tree.file(format!("{base}/{resource}-{stamp}.yaml"), yaml(&list));
            }
            VeleroDebugStyle::Crashd041Objects => {
                for object in objects {
                    let name = object["metadata"]["name"].as_str().unwrap();
                    tree.file(
                        format!("{base}/{resource}/{name}-{stamp}.json"),
                        go_json_indent(object),
                    );
                }
            }
        }
    }
    // result_writer.go puts the logs beside the objects: in the namespace folder, or in `pods/` when
    // each object has its own file.
    let log_base = match style {
        VeleroDebugStyle::Crashd041Objects => format!("{root}kubecapture/core_v1/{namespace}/pods"),
        _ => format!("{root}kubecapture/core_v1/{namespace}"),
    };
    let pod_names: Vec<String> = pods
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    for entry in &entries {
        if let ["velero", "logs", pod, file] = entry.split('/').collect::<Vec<_>>()[..] {
            let Some(container) = file.strip_suffix(".log") else {
                continue;
            };
            if container.ends_with("-previous") || !pod_names.iter().any(|p| p == pod) {
                continue;
            }
            let data = read_entry(bundle, entry);
            tree.file(
                format!("{log_base}/{pod}/{container}/{container}.log"),
                data,
            );
        }
    }
    let server_version = pods
        .iter()
        .flat_map(|p| {
            p["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|c| c["name"] == "velero")
        .and_then(|c| {
            c["image"]
                .as_str()
                .and_then(|i| i.rsplit_once(':'))
                .map(|(_, t)| t.to_string())
        })
        .unwrap_or_else(|| "v1.12.3".into());
    tree.file(
        format!("{root}version.txt"),
        format!("Client:\n\tVersion: {server_version}\n\tGit commit: -\nServer:\n\tVersion: {server_version}\n"),
    );
    if let Some(backup) = backup {
        let log = snapdoc::bundle::backup_log_path(backup);
        // capture_local writes what `velero backup logs` printed, stderr included: without a log in the
        // object store that is the CLI's error (velero pkg/cmd/errors.go, pkg/cmd/util/downloadrequest).
        let data = if bundle.has(&log) {
            read_entry(bundle, &log)
        } else {
            CLI_LOG_NOT_FOUND.as_bytes().to_vec()
        };
        tree.file(format!("{root}backup_{backup}.log"), data);
        let object = bundle
            .objects("backups.velero.io")
            .unwrap()
            .into_iter()
            .find(|b| b["metadata"]["name"] == backup);
        if let Some(object) = object {
            let phase = object["status"]["phase"].as_str().unwrap_or("<none>");
            let mut describe = Vec::new();
            writeln!(describe, "Name:         {backup}").unwrap();
            writeln!(describe, "Namespace:    {namespace}").unwrap();
            writeln!(describe, "\nPhase:  {phase}\n").unwrap();
            tree.file(format!("{root}backup_describe_{backup}.txt"), describe);
        }
    }
    tree
}

/// An OADP must-gather of the same cluster as `bundle` (see the module doc for the source of each path).
pub(crate) fn must_gather_tree(bundle: &mut Bundle) -> Tree {
    let mtime = created_seconds(bundle);
    let gather = "must-gather.local.5204114413935116049/registry-redhat-io-oadp-oadp-mustgather-rhel9-sha256-3f2a/must-gather/";
    let root = format!("{gather}clusters/8c1e0a3f/");
    let mut tree = Tree {
        mtime,
        ..Tree::default()
    };
    tree.file(
        format!("{gather}version"),
        "OpenShift API for Data Protection (OADP) Must-gather\n1.5.0",
    );
    tree.file(
        format!("{root}oadp-must-gather-summary.md"),
        "# OADP Must-gather Summary\n\n## Backups\n",
    );
    // printers.YAMLPrinter of the corev1.List createYAML builds.
    let list = |items: Vec<Value>| {
        yaml(
            &json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}),
        )
    };
    let entries: Vec<String> = bundle.entries().to_vec();
    let mut namespace = String::from("openshift-adp");
    for entry in &entries {
        if let ["cluster-resources", "custom-resources", crd, file] =
            entry.split('/').collect::<Vec<_>>()[..]
        {
            let (Some(plural), Some(ns)) =
                (crd.strip_suffix(".velero.io"), file.strip_suffix(".json"))
            else {
                continue;
            };
            namespace = ns.to_string();
            let objects = items(&read_json(bundle, entry));
            if objects.is_empty() {
                continue;
            }
            tree.file(
                format!("{root}namespaces/{ns}/velero.io/{plural}/{plural}.yaml"),
                list(objects),
            );
        }
    }
    for backup in bundle.objects("backups.velero.io").unwrap() {
        let name = backup["metadata"]["name"].as_str().unwrap().to_string();
        let ns = backup["metadata"]["namespace"]
            .as_str()
            .unwrap_or("openshift-adp");
        let folder = format!("{root}namespaces/{ns}/velero.io/backups");
        let log = snapdoc::bundle::backup_log_path(&name);
        // ReplaceBackupsSection writes the log only when the DownloadRequest streamed it.
        if bundle.has(&log) {
            tree.file(format!("{folder}/{name}.log"), read_entry(bundle, &log));
        }
        tree.file(
            format!("{folder}/describe-{name}.txt"),
            format!("Name:         {name}\nNamespace:    {ns}\n"),
        );
    }
    let pods: Vec<Value> = bundle
        .objects("pods")
        .unwrap()
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == namespace.as_str())
        .collect();
    tree.file(
        format!("{root}namespaces/{namespace}/core/pods.yaml"),
        list(pods.clone()),
    );
    for (resource, group) in [("deployments", "apps"), ("daemonsets", "apps")] {
        let objects: Vec<Value> = bundle
            .objects(resource)
            .unwrap()
            .into_iter()
            .filter(|o| o["metadata"]["namespace"] == namespace.as_str())
            .collect();
        tree.file(
            format!("{root}namespaces/{namespace}/{group}/{resource}.yaml"),
            list(objects),
        );
    }
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().unwrap();
        tree.file(
            format!("{root}namespaces/{namespace}/pods/{name}/{name}.yaml"),
            yaml(pod),
        );
    }
    let pod_names: Vec<&str> = pods
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    for entry in &entries {
        if let ["velero", "logs", pod, file] = entry.split('/').collect::<Vec<_>>()[..] {
            let Some(stem) = file.strip_suffix(".log") else {
                continue;
            };
            if !pod_names.contains(&pod) {
                continue;
            }
            let (container, which) = match stem.strip_suffix("-previous") {
                Some(container) => (container, "previous.log"),
                None => (stem, "current.log"),
            };
            tree.file(
                format!(
                    "{root}namespaces/{namespace}/pods/{pod}/{container}/{container}/logs/{which}"
                ),
                read_entry(bundle, entry),
            );
        }
    }
    let classes = bundle.objects("storageclasses").unwrap_or_default();
    if !classes.is_empty() {
        tree.file(
            format!(
                "{root}cluster-scoped-resources/storage.k8s.io/storageclasses/storageclasses.yaml"
            ),
            list(classes),
        );
    }
    tree
}
