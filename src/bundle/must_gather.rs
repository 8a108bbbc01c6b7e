//! OADP must-gather (OpenShift API for Data Protection, Velero on OpenShift), read as snapdoc bundles.
//!
//! `oc adm must-gather --image=…oadp-mustgather…` runs openshift/oadp-operator `must-gather/pkg/cli.go`
//! (commit b3e7f02d, 2025-07) which writes, under `must-gather/clusters/<first 8 characters of the cluster
//! id>/` (oc copies it into `must-gather.local.<n>/<image>/`):
//! - `oadp-must-gather-summary.md` and, per namespace, every Velero object kind as one YAML `List`
//!   (`templates/summary.go` `createYAML`, printed by `printers.YAMLPrinter`):
//!   `namespaces/<ns>/velero.io/<plural>/<plural>.yaml` (backups, restores, schedules, backupstoragelocations,
//!   volumesnapshotlocations, backuprepositories, datauploads, datadownloads, podvolumebackups,
//!   podvolumerestores, downloadrequests, deletebackuprequests, serverstatusrequests);
//! - each backup's and restore's log fetched through a DownloadRequest as
//!   `namespaces/<ns>/velero.io/backups/<name>.log` (`restores/<name>.log`), and `describe-<name>.txt`;
//! - `cluster-scoped-resources/storage.k8s.io/{storageclasses,csidrivers}/<plural>.yaml`;
//! - `oc adm inspect ns/<namespace>` of the namespaces OADP is installed in (openshift/oc
//!   `pkg/cli/admin/inspect`, commit 6b8e30c5): the namespace's `all` and `events` lists as
//!   `namespaces/<ns>/<group or core>/<resource>.yaml` (`util.go` `dirPathForInfo` / `filenameForInfo`), and
//!   each pod's container logs as `namespaces/<ns>/pods/<pod>/<container>/<container>/logs/current.log` and
//!   `previous.log` (`pod.go`).
//!
//! It collects no Kubernetes version list, no nodes and no application namespaces: the report says so.
use super::BundleError;
use super::archive::{self, FoundLog, PodLogs, RawTree, Translation};
use super::layout;
use super::manifest::Manifest;

const SUMMARY: &str = "oadp-must-gather-summary.md";

/// What the reader expects, for the error that names the formats tried.
pub(crate) const EXPECTED: &str = "an OADP must-gather (`clusters/<id>/oadp-must-gather-summary.md`, \
                            `namespaces/<ns>/velero.io/…`)";

/// The folder holding `namespaces/` and `oadp-must-gather-summary.md` (`…/clusters/<id>/`), if the tree is an
/// OADP must-gather.
pub(crate) fn recognize(tree: &mut RawTree) -> Option<String> {
    let mut roots: Vec<String> = tree
        .entries()
        .iter()
        .filter_map(|e| {
            let path = e.path.as_str();
            if let Some(root) = path.strip_suffix(SUMMARY) {
                return Some(root.to_string());
            }
            // Without its summary (written last, so missing when the gather was cut short).
            let at = path.find("/namespaces/")?;
            let root = &path[..at + 1];
            let rest = &path[at + "/namespaces/".len()..];
            (root.contains("clusters/") && rest.split('/').nth(1) == Some("velero.io"))
                .then(|| root.to_string())
        })
        .collect();
    roots.sort_by_key(|r| r.matches('/').count());
    roots.dedup();
    roots.into_iter().next()
}

/// Maps the must-gather rooted at `root` onto snapdoc's layout. It writes no time of its own (nor do oc's
/// folder names): it is dated by its name and file times.
pub(crate) fn translate(tree: &mut RawTree, root: &str) -> Result<Translation, BundleError> {
    let mut translation = Translation::default();
    let mut logs = PodLogs::default();
    let mut velero_namespace: Option<String> = None;
    for (rel, raw) in tree.files_under(root) {
        let segments: Vec<&str> = rel.split('/').collect();
        match segments[..] {
            // namespaces/<ns>/velero.io/<plural>/<plural>.yaml
            ["namespaces", namespace, "velero.io", plural, file]
                if file == format!("{plural}.yaml") =>
            {
                if velero_namespace.is_none() && plural == "backupstoragelocations" {
                    velero_namespace = Some(namespace.to_string());
                }
                translation.add_objects(
                    layout::objects_path(&format!("{plural}.velero.io"), Some(namespace)),
                    raw,
                );
            }
            // namespaces/<ns>/velero.io/backups/<name>.log, restores/<name>.log
            [
                "namespaces",
                _,
                "velero.io",
                kind @ ("backups" | "restores"),
                file,
            ] => {
                let Some(name) = file.strip_suffix(".log") else {
                    continue;
                };
                let entry = if kind == "backups" {
                    layout::backup_log_path(name)
                } else {
                    layout::restore_log_path(name)
                };
                if layout::check_entry_name(&entry).is_ok() {
                    translation
                        .produce
                        .insert(entry, archive::Produce::Raw(raw));
                }
            }
            // oc adm inspect: namespaces/<ns>/<group|core>/<resource>.yaml
            ["namespaces", namespace, group, file] => {
                let Some(resource) = file.strip_suffix(".yaml") else {
                    continue;
                };
                if matches!(
                    (group, resource),
                    (
                        "core",
                        "pods" | "events" | "persistentvolumeclaims" | "configmaps"
                    ) | ("apps", "deployments" | "daemonsets")
                ) {
                    translation.add_objects(layout::objects_path(resource, Some(namespace)), raw);
                }
            }
            // namespaces/<ns>/pods/<pod>/<container>/<container>/logs/{current,previous}.log
            ["namespaces", _, "pods", pod, container, _, "logs", file] => {
                let previous = match file {
                    "current.log" => false,
                    "previous.log" | "previous.insecure.log" => true,
                    _ => continue,
                };
                logs.add(FoundLog {
                    pod: pod.to_string(),
                    container: container.to_string(),
                    previous,
                    raw,
                    velero_folder: false,
                });
            }
            [
                "cluster-scoped-resources",
                "storage.k8s.io",
                plural @ ("storageclasses" | "csidrivers"),
                _,
            ] => {
                translation.add_objects(layout::objects_path(plural, None), raw);
            }
            _ => {}
        }
    }
    logs.place(&mut translation);
    let mut scope = serde_json::Map::new();
    if let Some(namespace) = velero_namespace {
        scope.insert(
            "veleroNamespace".into(),
            serde_json::Value::String(namespace),
        );
    }
    if let Some(id) = cluster_id(root) {
        scope.insert(
            "clusterId".into(),
            serde_json::Value::String(id.to_string()),
        );
    }
    translation.manifest = Some(Manifest {
        scope,
        ..Manifest::foreign(
            "oadp-must-gather",
            gather_version(tree, root).unwrap_or_else(|| "unknown".into()),
        )
    });
    translation.unavailable.extend([
        "Kubernetes version and nodes: an OADP must-gather records the OpenShift ClusterVersion and Infrastructure only, so version and node checks could not run".to_string(),
        "the application's workloads and volumes: an OADP must-gather inspects the namespaces OADP is installed in only".to_string(),
        "backup and restore results (errors and warnings by namespace): an OADP must-gather does not include them".to_string(),
    ]);
    Ok(translation)
}

/// `must-gather/version` (`templates.WriteVersion`): "OpenShift API for Data Protection (OADP) Must-gather"
/// then the version (`1.5.0`; `master-branch` for a development image), two folders above the root.
fn gather_version(tree: &mut RawTree, root: &str) -> Option<String> {
    let trimmed = root.trim_end_matches('/');
    let clusters = trimmed.rsplit_once('/')?.0;
    let gather = clusters.strip_suffix("clusters")?;
    let raw = tree.resolve(&format!("{gather}version"))?;
    let text = tree.read_text(&raw).ok()?;
    let mut lines = text.lines();
    lines.next().filter(|first| first.contains("Must-gather"))?;
    lines
        .next()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `…/clusters/<id>/` → `<id>` (the first 8 characters of the cluster's id).
fn cluster_id(root: &str) -> Option<&str> {
    let mut segments = root.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    (segments.next() == Some("clusters")).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_id_is_the_folder_under_clusters() {
        assert_eq!(
            cluster_id("must-gather.local.42/quay-io-oadp/must-gather/clusters/a1b2c3d4/"),
            Some("a1b2c3d4")
        );
        assert_eq!(cluster_id("velero-bundle/"), None);
    }
}
