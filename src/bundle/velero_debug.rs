//! `velero debug` bundles, read as snapdoc bundles.
//!
//! `velero debug` (velero pkg/cmd/cli/debug, Velero ≥ 1.7) runs an embedded crashd script
//! (cshd-scripts/velero.cshd) with the working directory `./velero-bundle`, then tars that folder
//! (crashd archiver: names relative, so every entry starts `velero-bundle/`). The script:
//! - `kube_capture(what="objects", namespaces=[ns], groups=['velero.io'])`: every velero.io object of the
//!   Velero namespace, under `kubecapture/<group>_<version>/<namespace>/` (crashd k8s/object_writer.go);
//!   crashd v0.3 writes one List per resource, `<resource>-<2006-01-02T15-04-05Z.0000>.json`, later
//!   releases one file per object, `<resource>/<name>-<time>.json`; JSON by default, YAML when asked;
//! - `capture_local("velero version -n ns")` → `version.txt` (`Client:` / `Server:` with `Version: v1.x`);
//! - `kube_capture(what="logs", namespaces=[ns])`: the namespace's pods (as objects, `core_v1/<ns>/pods…`)
//!   and each container's current log at `…/<pod>/<container>/<container>.log` (no previous containers);
//! - with `--backup NAME`: `backup_NAME.log` (`velero backup logs`) and, since the design's
//!   describe step, `backup_describe_NAME.txt` (`velero backup describe --details`); `--restore` alike.
//!
//! It collects no nodes, no Kubernetes version, no deployments and nothing outside the Velero namespace;
//! the report says what that leaves unknown.
use serde_json::Value;

use super::BundleError;
use super::archive::{self, FoundLog, PodLogs, Produce, RawTree, Translation};
use super::layout;
use super::manifest::{FORMAT_VERSION, Manifest, ToolInfo};

/// What identifies a velero debug bundle, for the message when nothing matched.
pub(crate) const EXPECTED: &str =
    "a kubecapture/ folder, or version.txt from `velero version` beside backup_<name>.log";

const KUBECAPTURE: &str = "kubecapture";
const VERSION_FILE: &str = "version.txt";

/// Core and apps resources snapdoc's layout keeps (`cluster-resources/<resource>/<namespace>.json`).
const CORE_RESOURCES: &[&str] = &[
    "pods",
    "events",
    "configmaps",
    "persistentvolumeclaims",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "services",
];

/// The bundle root (`""` or `"velero-bundle/"`) if the tree is a velero debug bundle.
pub(crate) fn recognize(tree: &mut RawTree) -> Option<String> {
    let mut roots: Vec<String> = tree
        .entries()
        .iter()
        .filter_map(|e| {
            let segments: Vec<&str> = e.path.split('/').collect();
            let at = segments.iter().position(|s| *s == KUBECAPTURE)?;
            // kubecapture must be a folder holding <group>_<version>/…
            (segments.len() > at + 2 && segments[at + 1].contains('_'))
                .then(|| prefix_of(&segments[..at]))
        })
        .collect();
    roots.sort_by_key(|r| r.matches('/').count());
    roots.dedup();
    if let Some(root) = roots.into_iter().next() {
        return Some(root);
    }
    // A bundle made while the API refused every list still has `velero version` and the backup log.
    let mut candidates: Vec<String> = tree
        .entries()
        .iter()
        .filter(|e| e.path == VERSION_FILE || e.path.ends_with("/version.txt"))
        .map(|e| e.path[..e.path.len() - VERSION_FILE.len()].to_string())
        .collect();
    candidates.sort_by_key(|r| r.matches('/').count());
    candidates.into_iter().find(|root| {
        let Some(raw) = tree.resolve(&format!("{root}{VERSION_FILE}")) else {
            return false;
        };
        tree.read_text(&raw)
            .is_ok_and(|text| text.contains("Client:") && text.contains("Version:"))
    })
}

fn prefix_of(segments: &[&str]) -> String {
    segments.iter().map(|s| format!("{s}/")).collect()
}

/// Translates the bundle rooted at `root` and serves it.
pub(crate) fn source(mut tree: RawTree, root: &str) -> Result<archive::ForeignSource, BundleError> {
    let translation = translate(&mut tree, root)?;
    Ok(archive::ForeignSource::new(tree, translation))
}

fn translate(tree: &mut RawTree, root: &str) -> Result<Translation, BundleError> {
    let mut translation = Translation::default();
    let mut logs = PodLogs::default();
    let mut capture_times = Vec::new();
    let mut velero_namespace = None;

    let paths: Vec<String> = tree
        .entries()
        .iter()
        .filter_map(|e| e.path.strip_prefix(root).map(str::to_string))
        .collect();
    for rel in paths {
        let Some(raw) = tree.resolve(&format!("{root}{rel}")) else {
            continue;
        };
        let segments: Vec<&str> = rel.split('/').collect();
        match segments[..] {
            [file] => {
                if let Some(name) = file
                    .strip_prefix("backup_")
                    .and_then(|f| f.strip_suffix(".log"))
                {
                    let entry = layout::backup_log_path(name);
                    if layout::check_entry_name(&entry).is_ok() {
                        translation.produce.insert(entry, Produce::Raw(raw));
                    }
                } else if let Some(name) = file
                    .strip_prefix("restore_")
                    .and_then(|f| f.strip_suffix(".log"))
                {
                    let entry = layout::restore_log_path(name);
                    if layout::check_entry_name(&entry).is_ok() {
                        translation.produce.insert(entry, Produce::Raw(raw));
                    }
                }
            }
            [KUBECAPTURE, group_version, ref rest @ ..] => {
                let Some((group, _version)) = group_version.rsplit_once('_') else {
                    continue;
                };
                let file = rest.last().copied().unwrap_or_default();
                if file.ends_with(".log") {
                    // …/<pod>/<container>/<container>.log
                    if let [.., pod, container, log_file] = rest[..]
                        && log_file == format!("{container}.log")
                    {
                        logs.add(FoundLog {
                            pod: pod.to_string(),
                            container: container.to_string(),
                            previous: false,
                            raw,
                            velero_folder: false,
                        });
                    }
                    continue;
                }
                let Some((stem, _)) = archive::object_file_stem(file) else {
                    continue;
                };
                let (stem, time) = split_capture_time(stem);
                capture_times.extend(time);
                let (namespace, resource) = match rest[..] {
                    // crashd v0.3: one List per resource.
                    [namespace, _] => (Some(namespace), stem),
                    // later crashd: one file per object, in a folder named after the resource.
                    [namespace, resource, _] => (Some(namespace), resource),
                    // cluster-scoped List.
                    [_] => (None, stem),
                    _ => continue,
                };
                let Some(resource) = snapdoc_resource(group, resource) else {
                    continue;
                };
                if group == "velero.io" && velero_namespace.is_none() {
                    velero_namespace = namespace.map(str::to_string);
                }
                let entry = layout::objects_path(&resource, namespace);
                if layout::check_entry_name(&entry).is_ok() {
                    translation.add_objects(entry, raw);
                }
            }
            _ => {}
        }
    }
    logs.place(&mut translation);

    let version_text = tree
        .resolve(&format!("{root}{VERSION_FILE}"))
        .and_then(|raw| tree.read_text(&raw).ok());
    let created = tree
        .newest_mtime()
        .and_then(archive::rfc3339)
        .or_else(|| capture_times.into_iter().max())
        .unwrap_or_default();
    let mut scope = serde_json::Map::new();
    if let Some(namespace) = velero_namespace {
        scope.insert("veleroNamespace".into(), Value::String(namespace));
    }
    translation.manifest = Some(Manifest {
        format_version: FORMAT_VERSION,
        tool: ToolInfo {
            name: "velero-debug".into(),
            version: version_text
                .as_deref()
                .and_then(|t| velero_version(t, "Client:"))
                .unwrap_or_else(|| "unknown".into()),
        },
        created,
        cluster: Default::default(),
        scope,
        files: Vec::new(),
        collector_errors: Vec::new(),
        redactions: Default::default(),
    });
    translation.unavailable = vec![
        "previous container logs: velero debug collects only the current containers' logs, so why a restarted velero or node-agent container died is not in the bundle".into(),
        "backup and restore results (errors and warnings by namespace): a velero debug bundle does not include them".into(),
        "credential secret key names: a velero debug bundle does not record them, so the storage locations' credential secrets could not be checked".into(),
        "KOTS (kotsadm) state and the application's workloads: velero debug collects the Velero namespace only".into(),
    ];
    Ok(translation)
}

/// `backups-2021-08-10T08-12-00Z.0000` → (`backups`, RFC 3339 of the capture). crashd formats the local
/// time with a literal `Z`; it is read as UTC, used only when the archive recorded no file times.
fn split_capture_time(stem: &str) -> (&str, Option<String>) {
    let bytes = stem.as_bytes();
    for (at, _) in stem.match_indices('-') {
        let rest = &bytes[at + 1..];
        let shaped = rest.len() >= 19
            && rest[..19].iter().enumerate().all(|(i, b)| match i {
                4 | 7 | 13 | 16 => *b == b'-',
                10 => *b == b'T',
                _ => b.is_ascii_digit(),
            });
        if shaped {
            let time = std::str::from_utf8(&rest[..19]).ok().and_then(|t| {
                let (date, clock) = t.split_once('T')?;
                let parsed: jiff::civil::DateTime =
                    format!("{date}T{}", clock.replace('-', ":")).parse().ok()?;
                let stamp = jiff::tz::TimeZone::UTC.to_timestamp(parsed).ok()?;
                Some(stamp.to_string())
            });
            return (&stem[..at], time);
        }
    }
    (stem, None)
}

/// A captured resource in snapdoc's naming: core/apps plurals as they are, others `<plural>.<group>`.
fn snapdoc_resource(group: &str, resource: &str) -> Option<String> {
    if resource.is_empty() || resource.contains('/') {
        return None;
    }
    match group {
        "core" | "apps" => CORE_RESOURCES
            .contains(&resource)
            .then(|| resource.to_string()),
        _ => Some(format!("{resource}.{group}")),
    }
}

/// The `Version:` under `Client:` or `Server:` in `velero version` output.
fn velero_version(text: &str, section: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.ends_with(':') && !trimmed.contains(' ') {
            in_section = trimmed == section;
            continue;
        }
        if in_section && let Some(version) = trimmed.strip_prefix("Version:") {
            return Some(version.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_times_are_cut_from_names() {
        let (resource, time) = split_capture_time("backups-2021-08-10T08-12-00Z.0000");
        assert_eq!(resource, "backups");
        assert_eq!(time.as_deref(), Some("2021-08-10T08:12:00Z"));
        let (name, time) = split_capture_time("daily-20240101-2021-08-10T08-12-00Z.0000");
        assert_eq!(name, "daily-20240101");
        assert!(time.is_some());
        assert_eq!(split_capture_time("backups"), ("backups", None));
    }

    #[test]
    fn resources_are_named_as_snapdoc_names_them() {
        assert_eq!(
            snapdoc_resource("velero.io", "backups").as_deref(),
            Some("backups.velero.io")
        );
        assert_eq!(snapdoc_resource("core", "pods").as_deref(), Some("pods"));
        assert_eq!(snapdoc_resource("core", "secrets"), None);
    }

    #[test]
    fn velero_version_output_is_read() {
        let text = "Client:\n\tVersion: v1.12.3\n\tGit commit: abc\nServer:\n\tVersion: v1.12.1\n";
        assert_eq!(velero_version(text, "Client:").as_deref(), Some("v1.12.3"));
        assert_eq!(velero_version(text, "Server:").as_deref(), Some("v1.12.1"));
        assert_eq!(velero_version("nothing", "Client:"), None);
    }
}
