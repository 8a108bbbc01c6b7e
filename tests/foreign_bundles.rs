//! Troubleshoot support bundles and `velero debug` bundles read as snapdoc bundles: the same lab
//! scenario written as our zip and as each foreign layout (archive and directory, every path variant)
//! gives the same objects and logs through the Bundle API.
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use snapdoc::analyze::RuleSet;
use snapdoc::analyze::analyze_open_bundle;
use snapdoc::bundle::{Bundle, BundleFormat, LogFile, LogSource};
use snapdoc::lab::Scenario;

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;

use foreign_fixtures::{
    Node, Tree, TroubleshootStyle, VeleroDebugStyle, snapdoc_bundle_from_scenario,
    troubleshoot_tree, velero_debug_tree,
};

/// Resources the analyzer reads, in snapdoc's naming.
const CORE: &[&str] = &[
    "pods",
    "deployments",
    "daemonsets",
    "events",
    "configmaps",
    "persistentvolumeclaims",
    "storageclasses",
    "persistentvolumes",
    "nodes",
    "namespaces",
    "customresourcedefinitions",
];

fn zip_of(scenario: &str, dir: &Path) -> PathBuf {
    let scenario = Scenario::builtin(scenario).unwrap();
    let path = dir.join(format!("{}.zip", scenario.name));
    snapdoc_bundle_from_scenario(&scenario, &path);
    path
}

fn velero_resources(bundle: &Bundle) -> BTreeSet<String> {
    bundle
        .entries()
        .iter()
        .filter_map(|e| e.strip_prefix("cluster-resources/custom-resources/"))
        .filter_map(|rest| rest.split('/').next())
        .filter(|crd| crd.ends_with(".velero.io"))
        .map(str::to_string)
        .collect()
}

fn sorted_objects(bundle: &mut Bundle, resource: &str, namespace: Option<&str>) -> Vec<Value> {
    let mut objects: Vec<Value> = bundle
        .objects(resource)
        .unwrap_or_else(|e| panic!("{resource}: {e}"))
        .into_iter()
        .filter(|o| namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns))
        .collect();
    objects.sort_by_key(|o| {
        (
            o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            o["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    });
    objects
}

fn text(bundle: &mut Bundle, entry: &str) -> String {
    let mut out = String::new();
    bundle
        .open_entry(entry)
        .unwrap_or_else(|e| panic!("{entry}: {e}"))
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// A bundle's creation time to the second: archives record file times in whole seconds.
fn seconds(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .as_second()
}

fn pod_logs(bundle: &Bundle) -> Vec<LogFile> {
    let mut logs: Vec<LogFile> = bundle
        .logs()
        .into_iter()
        .filter(|l| !matches!(l.source, LogSource::BackupLog | LogSource::RestoreLog))
        .collect();
    logs.sort_by(|a, b| a.path.cmp(&b.path));
    logs
}

/// Everything a troubleshoot bundle carries reads the same as in our zip.
fn assert_same_as_zip_for_troubleshoot(zip: &mut Bundle, foreign: &mut Bundle, label: &str) {
    assert_eq!(foreign.format(), BundleFormat::Troubleshoot, "{label}");
    assert_eq!(foreign.format().as_str(), "troubleshoot");
    for resource in velero_resources(zip) {
        assert_eq!(
            sorted_objects(zip, &resource, None),
            sorted_objects(foreign, &resource, None),
            "{label}: {resource}"
        );
    }
    for resource in CORE {
        assert_eq!(
            sorted_objects(zip, resource, None),
            sorted_objects(foreign, resource, None),
            "{label}: {resource}"
        );
    }
    assert_eq!(
        zip.read_json("cluster/version.json").unwrap(),
        foreign.read_json("cluster/version.json").unwrap(),
        "{label}: version"
    );
    let logs = pod_logs(zip);
    assert!(!logs.is_empty(), "{label}: the scenario has pod logs");
    assert_eq!(logs, pod_logs(foreign), "{label}: pod logs");
    for log in &logs {
        assert_eq!(
            text(zip, &log.path),
            text(foreign, &log.path),
            "{label}: {}",
            log.path
        );
    }
    assert!(
        foreign
            .logs()
            .iter()
            .all(|l| l.source != LogSource::BackupLog),
        "{label}: troubleshoot bundles hold no backup logs"
    );
    let (ours, theirs) = (zip.manifest().unwrap(), foreign.manifest().unwrap());
    assert_eq!(
        seconds(&ours.created),
        seconds(&theirs.created),
        "{label}: reference time"
    );
    assert_eq!(theirs.tool.name, "troubleshoot");
    assert!(theirs.files.is_empty(), "no checksums are invented");
    assert!(
        foreign
            .unavailable()
            .iter()
            .any(|u| u.contains("backup and restore results")),
        "{label}: {:?}",
        foreign.unavailable()
    );
    // troubleshoot's own analysis.json is not snapdoc's.
    assert!(!foreign.has("analysis.json"), "{label}");
}

#[test]
fn every_scenario_reads_the_same_from_troubleshoot_bundles() {
    let dir = tempfile::tempdir().unwrap();
    for name in Scenario::builtin_names() {
        let zip_path = zip_of(&name, dir.path());
        let mut zip = Bundle::open(&zip_path).unwrap();
        for style in [
            TroubleshootStyle::Current,
            TroubleshootStyle::NestedCollectors,
            TroubleshootStyle::Legacy,
        ] {
            let tree = troubleshoot_tree(&mut zip, style);
            let archive = dir.path().join(format!("{name}-{style:?}.tar.gz"));
            tree.write_tar_gz(&archive);
            let mut foreign = Bundle::open(&archive).unwrap();
            assert_same_as_zip_for_troubleshoot(
                &mut zip,
                &mut foreign,
                &format!("{name} {style:?} tar.gz"),
            );

            let extracted = dir.path().join(format!("{name}-{style:?}"));
            tree.write_dir(&extracted);
            let mut foreign = Bundle::open(&extracted).unwrap();
            assert_same_as_zip_for_troubleshoot(
                &mut zip,
                &mut foreign,
                &format!("{name} {style:?} dir"),
            );
        }
    }
}

#[test]
fn troubleshoot_collector_errors_become_manifest_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut zip = Bundle::open(&zip_of("failed-bsl", dir.path())).unwrap();
    let archive = dir.path().join("sb.tar.gz");
    troubleshoot_tree(&mut zip, TroubleshootStyle::Current).write_tar_gz(&archive);
    let bundle = Bundle::open(&archive).unwrap();
    let errors = &bundle.manifest().unwrap().collector_errors;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].target.as_deref(), Some("pods"));
    assert_eq!(errors[0].namespace.as_deref(), Some("kube-flannel"));
    assert_eq!(errors[0].status, Some(403));
    assert_eq!(bundle.manifest().unwrap().tool.version, "v0.107.2");
}

/// What a velero debug bundle carries (the Velero namespace) reads the same as in our zip.
fn assert_same_as_zip_for_velero_debug(
    zip: &mut Bundle,
    foreign: &mut Bundle,
    backup: &str,
    label: &str,
) {
    assert_eq!(foreign.format(), BundleFormat::VeleroDebug, "{label}");
    assert_eq!(foreign.format().as_str(), "velero-debug");
    let namespace = foreign.manifest().unwrap().scope["veleroNamespace"]
        .as_str()
        .unwrap()
        .to_string();
    for resource in velero_resources(zip) {
        assert_eq!(
            sorted_objects(zip, &resource, Some(&namespace)),
            sorted_objects(foreign, &resource, None),
            "{label}: {resource}"
        );
    }
    assert_eq!(
        sorted_objects(zip, "pods", Some(&namespace)),
        sorted_objects(foreign, "pods", None),
        "{label}: pods"
    );
    let current: Vec<LogFile> = pod_logs(zip)
        .into_iter()
        .filter(|l| l.path.starts_with("velero/logs/") && !l.previous)
        .collect();
    assert!(!current.is_empty(), "{label}");
    assert_eq!(current, pod_logs(foreign), "{label}: pod logs");
    for log in &current {
        assert_eq!(text(zip, &log.path), text(foreign, &log.path), "{label}");
    }
    let backup_log = snapdoc::bundle::backup_log_path(backup);
    if zip.has(&backup_log) {
        assert_eq!(
            text(zip, &backup_log),
            text(foreign, &backup_log),
            "{label}"
        );
        let owners: Vec<Option<String>> = foreign
            .logs()
            .into_iter()
            .filter(|l| l.source == LogSource::BackupLog)
            .map(|l| l.owner)
            .collect();
        assert_eq!(owners, vec![Some(backup.to_string())], "{label}");
    } else {
        // The bundle's backup_<name>.log holds the CLI's error, which is no log of the backup.
        assert!(!foreign.has(&backup_log), "{label}");
        let said = format!(
            "backup log of {backup}: velero could not download it (An error occurred: file not found)"
        );
        assert!(
            foreign.unavailable().contains(&said),
            "{label}: {:?}",
            foreign.unavailable()
        );
    }
    let (ours, theirs) = (zip.manifest().unwrap(), foreign.manifest().unwrap());
    // crashd's capture stamps, the best witness of when it was made, carry the minute only.
    assert_eq!(
        seconds(&ours.created) / 60 * 60,
        seconds(&theirs.created),
        "{label}: reference time"
    );
    assert_eq!(theirs.tool.name, "velero-debug");
    assert!(!foreign.has("cluster/version.json"), "{label}");
    assert!(
        foreign
            .unavailable()
            .iter()
            .any(|u| u.contains("previous container logs")),
        "{label}"
    );
}

/// The newest failed (or any) backup of a bundle: what `velero debug --backup` is run for.
fn failed_backup(zip: &mut Bundle) -> String {
    let backups = zip.objects("backups.velero.io").unwrap();
    backups
        .iter()
        .filter(|b| {
            b["status"]["phase"]
                .as_str()
                .is_some_and(|p| p.contains("Failed"))
        })
        .chain(backups.iter())
        .filter(|b| {
            let name = b["metadata"]["name"].as_str().unwrap_or_default();
            zip.has(&snapdoc::bundle::backup_log_path(name))
        })
        .find_map(|b| b["metadata"]["name"].as_str().map(str::to_string))
        .or_else(|| {
            backups
                .first()
                .and_then(|b| b["metadata"]["name"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "none".into())
}

#[test]
fn every_scenario_reads_the_same_from_velero_debug_bundles() {
    let dir = tempfile::tempdir().unwrap();
    for name in Scenario::builtin_names() {
        let zip_path = zip_of(&name, dir.path());
        let mut zip = Bundle::open(&zip_path).unwrap();
        if velero_resources(&zip).is_empty() {
            continue;
        }
        let backup = failed_backup(&mut zip);
        for style in VeleroDebugStyle::ALL {
            let tree = velero_debug_tree(&mut zip, style, Some(&backup));
            let archive = dir.path().join(format!("{name}-{style:?}.tar.gz"));
            tree.write_tar_gz(&archive);
            let mut foreign = Bundle::open(&archive).unwrap();
            assert_same_as_zip_for_velero_debug(
                &mut zip,
                &mut foreign,
                &backup,
                &format!("{name} {style:?} tar.gz"),
            );
            let extracted = dir.path().join(format!("{name}-{style:?}"));
            tree.write_dir(&extracted);
            let mut foreign = Bundle::open(&extracted.join("velero-bundle")).unwrap();
            assert_same_as_zip_for_velero_debug(
                &mut zip,
                &mut foreign,
                &backup,
                &format!("{name} {style:?} dir"),
            );
        }
    }
}

fn tree_of(files: &[(&str, &str)]) -> Tree {
    let mut tree = Tree {
        mtime: 1_764_072_000,
        ..Tree::default()
    };
    for (path, data) in files {
        tree.file(*path, *data);
    }
    tree
}

const VERSION_YAML: &str =
    "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: v0.62.1\n";

#[test]
fn troubleshoot_path_variants() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = tree_of(&[
        // No top folder: the root is the archive's.
        ("version.yaml", VERSION_YAML),
        (
            "cluster-info/cluster_version.json",
            r#"{"info": {"major": "1", "minor": "27", "gitVersion": "v1.27.3"}, "string": "v1.27.3"}"#,
        ),
        // A namespaced and a cluster-scoped custom resource, YAML only; an empty List with items null.
        (
            "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.yaml",
            "- apiVersion: velero.io/v1\n  kind: BackupStorageLocation\n  metadata:\n    name: default\n    namespace: velero\n  status:\n    phase: Unavailable\n",
        ),
        (
            "cluster-resources/custom-resources/backups.velero.io/velero.yaml",
            "apiVersion: v1\nkind: List\nitems: null\n",
        ),
        (
            "cluster-resources/custom-resources/clusterwidgets.example.com.yaml",
            "- metadata:\n    name: w1\n",
        ),
        (
            "cluster-resources/custom-resources/custom-resources-errors.json",
            "{}",
        ),
        // Persistent volumes without an extension (some releases), claims under pvcs/.
        (
            "cluster-resources/pvs",
            r#"[{"metadata": {"name": "pv-1"}}]"#,
        ),
        (
            "cluster-resources/pvcs/app.json",
            r#"{"kind": "PersistentVolumeClaimList", "items": [{"metadata": {"name": "data", "namespace": "app"}}]}"#,
        ),
        // Logs: an old logs collector without container name (left out), a collector under velero/logs/,
        // a kotsadm log under kots/admin_console/, an unrelated pod's log, an error file.
        ("velero/velero-6d4b/velero.log", "level=info msg=a\n"),
        (
            "velero/logs/node-agent-x1/node-agent-previous.log",
            "level=error msg=b\n",
        ),
        ("kots/admin_console/kotsadm-7f/kotsadm.log", "kotsadm\n"),
        (
            "kots/kurl/weave/kube-system/weave-net-1/weave.log",
            "weave\n",
        ),
        ("velero/velero-6d4b/velero-logs-errors.log", "boom\n"),
        ("velero/velero-6d4b.log", "no container\n"),
    ]);
    // A link climbing out of the tree and a dangling one are ignored; an absolute one is read by its tail.
    tree.link("velero/velero-6d4b/escape.log", "../../../../etc/passwd");
    tree.link(
        "velero/velero-6d4b/dangling.log",
        "../../cluster-resources/pods/logs/velero/nope.log",
    );
    tree.file(
        "cluster-resources/pods/logs/velero/velero-6d4b/restic.log",
        "restic\n",
    );
    tree.link(
        "velero/velero-6d4b/restic.log",
        "/tmp/supportbundle123/support-bundle-x/cluster-resources/pods/logs/velero/velero-6d4b/restic.log",
    );
    // A hard link (tar's own kind of link, named from the archive root) reads as its target; links
    // pointing at each other lead nowhere.
    tree.file(
        "cluster-resources/pods/logs/velero/node-agent-x2/node-agent.log",
        "agent 2\n",
    );
    tree.hard_link(
        "velero/node-agent-x2/node-agent.log",
        "cluster-resources/pods/logs/velero/node-agent-x2/node-agent.log",
    );
    tree.link("velero/loop-1/velero.log", "../loop-2/velero.log");
    tree.link("velero/loop-2/velero.log", "../loop-1/velero.log");
    let archive = dir.path().join("flat.tar.gz");
    tree.write_tar_gz(&archive);
    let mut bundle = Bundle::open(&archive).unwrap();
    assert_eq!(bundle.format(), BundleFormat::Troubleshoot);
    assert_eq!(
        bundle.read_json("cluster/version.json").unwrap().unwrap()["gitVersion"],
        "v1.27.3"
    );
    let bsls = bundle.objects("backupstoragelocations.velero.io").unwrap();
    assert_eq!(bsls[0]["status"]["phase"], "Unavailable");
    assert!(bundle.objects("backups.velero.io").unwrap().is_empty());
    assert!(bundle.has("cluster-resources/custom-resources/backups.velero.io/velero.json"));
    assert_eq!(
        bundle.objects("clusterwidgets.example.com").unwrap().len(),
        1
    );
    assert!(
        bundle.has("cluster-resources/custom-resources/clusterwidgets.example.com/_cluster.json")
    );
    assert_eq!(
        bundle.objects("persistentvolumes").unwrap()[0]["metadata"]["name"],
        "pv-1"
    );
    assert_eq!(bundle.objects("persistentvolumeclaims").unwrap().len(), 1);
    let logs: Vec<(String, LogSource, bool)> = bundle
        .logs()
        .into_iter()
        .map(|l| (l.path, l.source, l.previous))
        .collect();
    assert_eq!(
        logs,
        vec![
            (
                "kots/logs/kotsadm-7f/kotsadm.log".to_string(),
                LogSource::Kotsadm,
                false
            ),
            (
                "velero/logs/node-agent-x1/node-agent-previous.log".to_string(),
                LogSource::NodeAgent,
                true
            ),
            (
                "velero/logs/node-agent-x2/node-agent.log".to_string(),
                LogSource::NodeAgent,
                false
            ),
            (
                "velero/logs/velero-6d4b/restic.log".to_string(),
                LogSource::NodeAgent,
                false
            ),
            (
                "velero/logs/velero-6d4b/velero.log".to_string(),
                LogSource::VeleroServer,
                false
            ),
        ]
    );
    assert_eq!(
        text(&mut bundle, "velero/logs/velero-6d4b/restic.log"),
        "restic\n"
    );
    assert_eq!(
        text(&mut bundle, "velero/logs/node-agent-x2/node-agent.log"),
        "agent 2\n"
    );
    assert_eq!(bundle.manifest().unwrap().created, "2025-11-25T12:00:00Z");
    assert_eq!(bundle.manifest().unwrap().tool.version, "v0.62.1");
}

#[test]
fn troubleshoot_without_version_yaml_is_known_by_its_folders() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_of(&[
        (
            "sb/cluster-info/cluster_version.json",
            r#"{"info": {"gitVersion": "v1.30.1"}}"#,
        ),
        (
            "sb/cluster-resources/nodes.json",
            r#"[{"metadata": {"name": "n1"}}]"#,
        ),
    ]);
    let archive = dir.path().join("noversion.tgz");
    tree.write_tar_gz(&archive);
    let mut bundle = Bundle::open(&archive).unwrap();
    assert_eq!(bundle.format(), BundleFormat::Troubleshoot);
    assert_eq!(
        bundle.objects("nodes").unwrap()[0]["metadata"]["name"],
        "n1"
    );
    assert_eq!(bundle.manifest().unwrap().tool.version, "unknown");
}

#[test]
fn the_format_is_told_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_of(&[
        (
            "velero-bundle/version.txt",
            "Client:\n\tVersion: v1.13.0\nServer:\n\tVersion: v1.13.0\n",
        ),
        (
            "velero-bundle/backup_nightly.log",
            "level=error msg=\"backup failed\"\n",
        ),
    ]);
    // A gzip tar named .zip is still a velero debug bundle.
    let misnamed = dir.path().join("bundle.zip");
    tree.write_tar_gz(&misnamed);
    let bundle = Bundle::open(&misnamed).unwrap();
    assert_eq!(bundle.format(), BundleFormat::VeleroDebug);
    assert_eq!(bundle.manifest().unwrap().tool.version, "v1.13.0");
    assert!(bundle.has("velero/backups/nightly/backup.log"));

    // An uncompressed tar reads too.
    let plain = dir.path().join("bundle.tar");
    let file = std::fs::File::create(&plain).unwrap();
    let mut builder = tar::Builder::new(file);
    for (path, node) in &tree.nodes {
        let Node::File(data) = node else { continue };
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, data.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap();
    assert_eq!(
        Bundle::open(&plain).unwrap().format(),
        BundleFormat::VeleroDebug
    );
}

#[test]
fn an_unknown_archive_says_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("photos.tar.gz");
    tree_of(&[("holiday/beach.txt", "sand")]).write_tar_gz(&archive);
    let message = Bundle::open(&archive).err().unwrap().to_string();
    assert!(message.contains("photos.tar.gz"), "{message}");
    assert!(message.contains("troubleshoot support bundle"), "{message}");
    assert!(message.contains("velero debug"), "{message}");
    assert!(message.contains("version.yaml"), "{message}");

    let garbage = dir.path().join("garbage.tar.gz");
    std::fs::write(&garbage, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    let message = Bundle::open(&garbage).err().unwrap().to_string();
    assert!(message.contains("garbage.tar.gz"), "{message}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let message = Bundle::open(&text).err().unwrap().to_string();
    assert!(message.contains("troubleshoot"), "{message}");
}

#[test]
fn broken_files_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_of(&[
        ("sb/version.yaml", VERSION_YAML),
        (
            "sb/cluster-resources/pods/velero.json",
            "{\n  \"items\": [\n    {,\n",
        ),
        (
            "sb/cluster-resources/custom-resources/backups.velero.io/velero.yaml",
            "- metadata:\n    name: [unclosed\n",
        ),
    ]);
    let archive = dir.path().join("broken.tar.gz");
    tree.write_tar_gz(&archive);
    let mut bundle = Bundle::open(&archive).unwrap();
    let message = bundle.objects("pods").err().unwrap().to_string();
    assert!(
        message.contains("sb/cluster-resources/pods/velero.json"),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
    let message = bundle
        .objects("backups.velero.io")
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("backups.velero.io/velero.yaml"),
        "{message}"
    );
    assert!(message.contains("YAML"), "{message}");
}

#[test]
fn hostile_entry_names_never_leave_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("hostile.tar.gz");
    let file = std::fs::File::create(&archive).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    let mut append_raw = |name: &[u8], data: &[u8]| {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    };
    append_raw(b"version.yaml", VERSION_YAML.as_bytes());
    append_raw(b"../cluster-resources/nodes.json", b"[]");
    append_raw(b"/etc/cluster-resources/nodes.json", b"[]");
    append_raw(b"./cluster-resources/pods/velero.json", b"[]");
    builder.into_inner().unwrap().finish().unwrap();
    let bundle = Bundle::open(&archive).unwrap();
    assert_eq!(bundle.format(), BundleFormat::Troubleshoot);
    assert_eq!(bundle.entries(), ["cluster-resources/pods/velero.json"]);
    // What was left out is said, by name, in the report's list of what the bundle does not hold.
    let note = bundle
        .unavailable()
        .iter()
        .find(|n| n.contains("not read"))
        .expect("a note on the entries left out");
    assert!(
        note.starts_with("2 entries of ")
            && note.contains("`../cluster-resources/nodes.json` (a name outside the bundle)")
            && note.contains("`/etc/cluster-resources/nodes.json` (a name outside the bundle)"),
        "{note}"
    );
}

#[test]
fn a_pipe_in_an_extracted_bundle_is_left_out_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("support-bundle");
    tree_of(&[("version.yaml", VERSION_YAML)]).write_dir(&root);
    let fifo = root.join("cluster-resources").join("events.pipe");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening it would block forever; it is listed, never read.
    let bundle = Bundle::open(&root).unwrap();
    assert_eq!(bundle.format(), BundleFormat::Troubleshoot);
    assert!(
        bundle
            .unavailable()
            .iter()
            .any(|n| n.starts_with("1 entry of ")
                && n.ends_with(
                    "not read: `cluster-resources/events.pipe` (a device, pipe or socket)"
                )),
        "{:?}",
        bundle.unavailable()
    );
}

#[test]
fn verify_refuses_foreign_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("sb.tar.gz");
    tree_of(&[("version.yaml", VERSION_YAML)]).write_tar_gz(&archive);
    let message = snapdoc::bundle::verify(&archive).err().unwrap().to_string();
    assert!(message.contains("no checksums"), "{message}");
    assert!(message.contains("cannot be verified"), "{message}");
    assert!(
        !message.contains("not a bundle snapdoc can read"),
        "{message}"
    );
}

/// A bundle the real collector made from the lab cluster reads the same in each foreign form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collected_bundle_reads_the_same_in_every_form() {
    use snapdoc::bundle::ClusterInfo;
    use snapdoc::collect::CollectOptions;

    let lab = snapdoc::lab::LabCluster::start(Scenario::builtin("failed-bsl").unwrap())
        .await
        .unwrap();
    let client = lab.client().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        download_timeout: 10,
        ..CollectOptions::default()
    };
    let cluster = ClusterInfo {
        server: Some(lab.server_url()),
        context: Some("lab".into()),
    };
    let outcome = snapdoc::collect::collect(client, cluster, &options, &dir.path().join("c.zip"))
        .await
        .unwrap();
    let mut zip = Bundle::open(&outcome.path).unwrap();
    assert!(!pod_logs(&zip).is_empty(), "the collector fetched pod logs");

    let archive = dir.path().join("support-bundle.tar.gz");
    troubleshoot_tree(&mut zip, TroubleshootStyle::Current).write_tar_gz(&archive);
    let mut foreign = Bundle::open(&archive).unwrap();
    assert_same_as_zip_for_troubleshoot(&mut zip, &mut foreign, "collected troubleshoot");

    let backup = failed_backup(&mut zip);
    let archive = dir.path().join("velero-debug.tar.gz");
    velero_debug_tree(&mut zip, VeleroDebugStyle::Crashd037, Some(&backup)).write_tar_gz(&archive);
    let mut foreign = Bundle::open(&archive).unwrap();
    assert_same_as_zip_for_velero_debug(&mut zip, &mut foreign, &backup, "collected velero debug");
}

/// An OADP must-gather (fixture built from openshift/oadp-operator's must-gather code, see
/// tests/support/foreign_fixtures.rs) reads the same Velero objects, backup logs and pod logs as the snapdoc
/// bundle of the same cluster, and its analysis gives the same verdicts.
#[test]
fn every_scenario_reads_the_same_from_an_oadp_must_gather() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["failed-bsl", "partially-failed-fsb", "healthy"] {
        let zip_path = zip_of(name, dir.path());
        let mut zip = Bundle::open(&zip_path).unwrap();
        let tree = foreign_fixtures::must_gather_tree(&mut zip);
        let archive = dir.path().join(format!("{name}-must-gather.tar.gz"));
        tree.write_tar_gz(&archive);
        let extracted = dir.path().join(format!("{name}-must-gather"));
        tree.write_dir(&extracted);
        for path in [archive, extracted] {
            let mut gathered = Bundle::open(&path).unwrap();
            assert_eq!(gathered.format().as_str(), "must-gather", "{name}");
            let manifest = gathered.manifest().unwrap();
            assert_eq!(manifest.tool.name, "oadp-must-gather");
            assert_eq!(manifest.tool.version, "1.5.0");
            for resource in [
                "backups.velero.io",
                "backupstoragelocations.velero.io",
                "pods",
            ] {
                let names = |b: &mut Bundle| {
                    let mut names: Vec<String> = b
                        .objects(resource)
                        .unwrap()
                        .iter()
                        .filter(|o| resource != "pods" || o["metadata"]["namespace"] == "velero")
                        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                        .collect();
                    names.sort();
                    names
                };
                assert_eq!(names(&mut zip), names(&mut gathered), "{name} {resource}");
            }
            // KOTS's logs are outside what OADP's must-gather inspects (OpenShift has no kotsadm).
            let logs = |b: &Bundle| {
                let mut logs: Vec<String> = b
                    .logs()
                    .into_iter()
                    .map(|l| l.path)
                    .filter(|p| !p.starts_with("kots/"))
                    .collect();
                logs.sort();
                logs
            };
            assert_eq!(logs(&zip), logs(&gathered), "{name}: logs");
            let verdicts = |b: &mut Bundle| {
                analyze_open_bundle(b, &RuleSet::builtin().unwrap())
                    .unwrap()
                    .verdicts
                    .iter()
                    .map(|v| (v.target.name.clone(), v.finding_ids.first().cloned()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                verdicts(&mut zip),
                verdicts(&mut gathered),
                "{name}: verdicts"
            );
        }
    }
}
