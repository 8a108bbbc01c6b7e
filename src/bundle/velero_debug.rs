//! `velero debug` bundles, read as snapdoc bundles.
//!
//! `velero debug` (velero pkg/cmd/cli/debug, Velero ≥ 1.7) runs an embedded crashd script
//! (cshd-scripts/velero.cshd, unchanged from v1.7 to main) with the working directory `./velero-bundle`,
//! then tars that folder with its folder entries (every entry starts `velero-bundle/`). The script:
//! - `kube_capture(what="objects", namespaces=[ns], groups=['velero.io'])`: every velero.io object of the
//!   Velero namespace, under `kubecapture/<group>_<version>/<namespace>/` (crashd k8s/object_writer.go).
//!   Velero pins crash-diagnostics v0.3.4 (1.7) and v0.3.7 (1.8 … 1.18): one JSON List per non-empty
//!   resource and served version, `<resource>-<200601021504.0000>.json` (e.g.
//!   `velero.io_v1/velero/backups-202411201041.2740.json`, `velero.io_v2alpha1/…` for DataUploads).
//!   crashd v0.4.x, which no Velero release uses, stamps `<2006-01-02T15-04-05Z.0000>`, may write YAML,
//!   and with `output_mode="multiple_files"` one file per object, `<resource>/<name>-<stamp>.<ext>`;
//! - `capture_local("velero version -n ns")` → `version.txt` (`Client:` / `Server:` with `Version: v1.x`);
//! - `kube_capture(what="logs", namespaces=[ns])`: the namespace's pods (as objects, `core_v1/<ns>/pods…`)
//!   and each container's current log at `…/<pod>/<container>/<container>.log` (no previous containers);
//! - with `--backup NAME`: `backup_describe_NAME.txt` (`velero backup describe --details`) and
//!   `backup_NAME.log`: whatever `velero backup logs NAME` printed, which is the CLI's error when the log
//!   could not be downloaded; `--restore` alike.
//!
//! It collects no nodes, no Kubernetes version, no deployments and nothing outside the Velero namespace;
//! the report says what that leaves unknown.
use std::io::Read;

use serde_json::Value;

use super::BundleError;
use super::archive::{self, FoundLog, PodLogs, Produce, RawTree, Translation};
use super::layout;
use super::manifest::Manifest;

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

/// Maps the `velero debug` bundle rooted at `root` onto snapdoc's layout.
pub(crate) fn translate(tree: &mut RawTree, root: &str) -> Result<Translation, BundleError> {
    let mut translation = Translation::default();
    let mut logs = PodLogs::default();
    let mut capture_times = Vec::new();
    let mut velero_namespace = None;

    for (rel, raw) in tree.files_under(root) {
        let segments: Vec<&str> = rel.split('/').collect();
        match segments[..] {
            [file] => {
                let Some((kind, name)) = operation_log(file) else {
                    continue;
                };
                let entry = match kind {
                    "backup" => layout::backup_log_path(name),
                    _ => layout::restore_log_path(name),
                };
                if layout::check_entry_name(&entry).is_err() {
                    continue;
                }
                match cli_failure(tree, &raw) {
                    Some(failure) => translation.unavailable.push(format!(
                        "{kind} log of {name}: velero could not download it ({failure})"
                    )),
                    None => {
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
    let mut scope = serde_json::Map::new();
    if let Some(namespace) = velero_namespace {
        scope.insert("veleroNamespace".into(), Value::String(namespace));
    }
    // crashd stamps every captured List with the minute it was taken (`backups-202411201041.2740.json`): the
    // newest is when the bundle was made.
    translation.own_dates.push((
        capture_times.into_iter().max(),
        "the capture stamps in the kubecapture file names (local time, read as UTC)".to_string(),
    ));
    translation.manifest = Some(Manifest {
        scope,
        ..Manifest::foreign(
            "velero-debug",
            version_text
                .as_deref()
                .and_then(|t| velero_version(t, "Client:"))
                .unwrap_or_else(|| "unknown".into()),
        )
    });
    translation.unavailable.extend([
        "previous container logs: velero debug collects only the current containers' logs, so why a restarted velero or node-agent container died is not in the bundle".into(),
        "backup and restore results (errors and warnings by namespace): a velero debug bundle does not include them".into(),
        "credential secret key names: a velero debug bundle does not record them, so the storage locations' credential secrets could not be checked".into(),
        "KOTS (kotsadm) state and the application's workloads: velero debug collects the Velero namespace only".into(),
    ]);
    Ok(translation)
}

/// `<resource>-<stamp>` → (`<resource>`, RFC 3339 of the capture). crashd stamps each file with the local
/// time of the capture: v0.3.x (`time.Now().Format("200601021504.0000")`, k8s/object_writer.go, what every
/// Velero release from 1.7 pins) gives `backups-202411201041.2740`, minutes then a fraction of a second;
/// v0.4.x (`"2006-01-02T15-04-05Z.0000"`) gives `backups-2024-11-20T10-41-27Z.2740`. The time is read as UTC
/// (the zone is not recorded) and used only when the archive recorded no file times.
fn split_capture_time(stem: &str) -> (&str, Option<String>) {
    for (at, _) in stem
        .match_indices('-')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let Some((clock, fraction)) = stem[at + 1..].rsplit_once('.') else {
            continue;
        };
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let parsed = jiff::civil::DateTime::strptime("%Y%m%d%H%M", clock)
            .or_else(|_| jiff::civil::DateTime::strptime("%Y-%m-%dT%H-%M-%SZ", clock));
        if let Ok(parsed) = parsed {
            let time = jiff::tz::TimeZone::UTC
                .to_timestamp(parsed)
                .ok()
                .map(|t| t.to_string());
            return (&stem[..at], time);
        }
    }
    (stem, None)
}

/// `backup_<name>.log` / `restore_<name>.log` → (`backup` | `restore`, name).
fn operation_log(file: &str) -> Option<(&'static str, &str)> {
    let stem = file.strip_suffix(".log")?;
    let (kind, name) = if let Some(name) = stem.strip_prefix("backup_") {
        ("backup", name)
    } else {
        ("restore", stem.strip_prefix("restore_")?)
    };
    (!name.is_empty()).then_some((kind, name))
}

/// How much of a `backup_<name>.log` is read to tell the CLI's failure from a log.
const CLI_FAILURE_HEAD_BYTES: u64 = 4096;

/// The error `velero debug` wrote in place of a backup or restore log, if that is what the file holds.
/// The script captures whatever `velero backup logs NAME` prints, stderr included: when the log cannot be
/// downloaded that is the CLI's one line, `An error occurred: <cause>` (velero pkg/cmd/errors.go
/// `CheckError`, e.g. `file not found` from pkg/cmd/util/downloadrequest), or crashd's own
/// `capture_local error: <cause>` when the velero binary could not be started (crash-diagnostics
/// starlark/capture_local.go). A log proper starts with logrus lines.
fn cli_failure(tree: &mut RawTree, raw: &str) -> Option<String> {
    let mut head = Vec::new();
    tree.open_file(raw)
        .ok()?
        .take(CLI_FAILURE_HEAD_BYTES)
        .read_to_end(&mut head)
        .ok()?;
    let head = String::from_utf8_lossy(&head);
    let first = head.lines().map(str::trim).find(|l| !l.is_empty())?;
    (first.starts_with("An error occurred:") || first.starts_with("capture_local error:"))
        .then(|| first.to_string())
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
        // crashd v0.3.7, as `velero debug` of Velero 1.8 … 1.18 names its files.
        let (resource, time) = split_capture_time("backups-202411201041.2740");
        assert_eq!(resource, "backups");
        assert_eq!(time.as_deref(), Some("2024-11-20T10:41:00Z"));
        // crashd v0.4.x.
        let (resource, time) = split_capture_time("backups-2021-08-10T08-12-00Z.0000");
        assert_eq!(resource, "backups");
        assert_eq!(time.as_deref(), Some("2021-08-10T08:12:00Z"));
        // v0.4.x one file per object: the object's own name may hold dashes and digits.
        let (name, time) = split_capture_time("daily-20240101-2021-08-10T08-12-00Z.0000");
        assert_eq!(name, "daily-20240101");
        assert!(time.is_some());
        let (name, time) = split_capture_time("instance-q8rbx-202411201041.2740");
        assert_eq!(name, "instance-q8rbx");
        assert!(time.is_some());
        assert_eq!(split_capture_time("backups"), ("backups", None));
        assert_eq!(split_capture_time("v1.2-3.4"), ("v1.2-3.4", None));
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
    fn operation_logs_are_named_by_their_file() {
        assert_eq!(
            operation_log("backup_instance-q8rbx.log"),
            Some(("backup", "instance-q8rbx"))
        );
        assert_eq!(operation_log("restore_r-1.log"), Some(("restore", "r-1")));
        assert_eq!(operation_log("backup_describe_b.txt"), None);
        assert_eq!(operation_log("backup_.log"), None);
        assert_eq!(operation_log("version.txt"), None);
    }

    #[test]
    fn velero_version_output_is_read() {
        let text = "Client:\n\tVersion: v1.12.3\n\tGit commit: abc\nServer:\n\tVersion: v1.12.1\n";
        assert_eq!(velero_version(text, "Client:").as_deref(), Some("v1.12.3"));
        assert_eq!(velero_version(text, "Server:").as_deref(), Some("v1.12.1"));
        assert_eq!(velero_version("nothing", "Client:"), None);
    }
}
