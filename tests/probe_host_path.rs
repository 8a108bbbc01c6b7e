//! `snapdoc probe` of local-volume-provider locations (host path, NFS) in the lab: the lab plays the kubelet of the
//! probe's Jobs, one per node that hosts the location, mounting the directory of that node under a temporary root
//! (`Scenario::host_root`: `<root>/<node>/<path>`, NFS exports under `<root>/nfs/<server>/<path>`) and running the
//! agent as the pod's securityContext uid on a thread of its own (per-thread setresuid, so the kernel judges each
//! access as it would in the container). That needs root, as the tests have here and in CI.
//!
//! The plugin's ConfigMap is the one KOTS writes (replicatedhq/kots 370ae9030 pkg/snapshot/filesystem_lvp.go:
//! securityContextRunAsUser and securityContextFsGroup 1001); the location is the plugin's examples/hostPath.yaml
//! and examples/nfs.yaml (replicatedhq/local-volume-provider 2bd13eb). The healthy scenario's velero pod runs on
//! acme-prod-3 and its node agents on acme-prod-1, -2 and -3.
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use snapdoc::analyze::{Matcher, RuleSet};
use snapdoc::lab::{Scenario, ScenarioObject};
use snapdoc::probe::{LOCAL_VOLUME_STEPS, LocationProbe, ProbeResult, Status, Step};
use snapdoc::report::{ReportFormat, render};

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;
#[path = "support/probe_servers.rs"]
#[allow(dead_code)] // the object stores' servers are the other probe tests'
mod probe_servers;
#[path = "support/report_fixtures.rs"]
mod report_fixtures;
use probe_servers::{nothing_left_in, result_of};

const NODES: [&str; 3] = ["acme-prod-1", "acme-prod-2", "acme-prod-3"];
const HOST_PATH: &str = "/tmp/hostpath-snaps";

/// Whether the tests can run pods as another uid (root); in CI they must.
fn root() -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "the host path probe tests run pods as uid 1001 and need root"
        );
        eprintln!(
            "\n!!!!!!!! not root: SKIPPING the host path probe test (the lab runs pods as uid 1001) !!!!!!!!\n"
        );
    }
    root
}

fn object(value: serde_json::Value) -> ScenarioObject {
    ScenarioObject {
        file: "composed by tests/probe_host_path.rs".to_string(),
        line: 1,
        value,
    }
}

/// The healthy scenario with the local-volume-provider ConfigMap KOTS writes, a host path location "local"
/// (examples/hostPath.yaml) and an NFS location "nfs" (examples/nfs.yaml), its nodes' file systems under `root`.
fn scenario(root: &Path) -> Scenario {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    scenario.host_root = Some(root.to_path_buf());
    scenario.objects.push(object(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "local-volume-provider-config", "namespace": "velero",
                     "labels": {"velero.io/plugin-config": "", "replicated.com/nfs": "ObjectStore",
                                "replicated.com/hostpath": "ObjectStore"}},
        "data": {"securityContextRunAsUser": "1001", "securityContextFsGroup": "1001",
                 "preserveVolumes": "hostpath-snapshots"},
    })));
    scenario.objects.push(object(serde_json::json!({
        "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        "metadata": {"name": "local", "namespace": "velero"},
        "spec": {"provider": "replicated.com/hostpath",
                 "objectStorage": {"bucket": "hostpath-snapshots", "prefix": "/velero"},
                 "config": {"path": HOST_PATH,
                            "resticRepoPrefix": "/var/velero-local-volume-provider/hostpath-snapshots/velero/restic"}},
    })));
    scenario.objects.push(object(serde_json::json!({
        "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        "metadata": {"name": "nfs", "namespace": "velero"},
        "spec": {"provider": "replicated.com/nfs",
                 "objectStorage": {"bucket": "nfs-snapshots", "prefix": "/velero"},
                 "config": {"path": "/snapshots", "server": "10.0.0.1"}},
    })));
    scenario
}

/// A temporary root for the nodes' file systems that uid 1001 can traverse.
fn host_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

/// `dir` created (with its parents, 0755 root-owned) and given to `owner` with `mode`.
fn prepare(dir: &Path, owner: u32, mode: u32) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::os::unix::fs::chown(dir, Some(owner), Some(owner)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    dir.to_path_buf()
}

/// The host path on `node` under `root`.
fn on_node(root: &Path, node: &str) -> PathBuf {
    root.join(node).join(HOST_PATH.trim_start_matches('/'))
}

fn probe(lab: &BackgroundLab, bsl: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapdoc"));
    command
        .args(["probe", "--bsl", bsl, "--format", "json", "--kubeconfig"])
        .arg(lab.kubeconfig());
    command
}

/// No `snapdoc-probe-*` file is left in `dir`.
fn no_probe_file_in(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("snapdoc-probe-")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The check of `step` failed with `rule`, whose log signature matches the check's detail (the probe's wording is
/// among the rule's samples, marked composed).
fn assert_reproduces(result: &ProbeResult, step: Step, rule: &str) {
    let check = result
        .check(step)
        .unwrap_or_else(|| panic!("no {step:?}: {result:#?}"));
    assert_eq!(check.status, Status::Failed, "{result:#?}");
    assert_eq!(check.rule.as_deref(), Some(rule), "{result:#?}");
    let rules = RuleSet::builtin().unwrap();
    let catalog = rules
        .get(rule)
        .unwrap_or_else(|| panic!("{rule} is not in the catalog"));
    let Matcher::Log(log) = &catalog.matcher else {
        panic!("{rule} is not a log rule")
    };
    assert!(
        check
            .detail
            .split("; ")
            .any(|part| log.regex().is_match(part.as_bytes())),
        "{rule}'s signature {:?} does not match {:?}",
        log.pattern,
        check.detail
    );
}

/// A directory Velero's uid owns, on every node: every check passes, and the result records each node's owner,
/// mode and free space, the uid it ran as and where that uid was read; nothing is left behind.
#[test]
fn a_writable_host_path_passes_on_every_node() {
    if !root() {
        return;
    }
    let root = host_root();
    for node in NODES {
        prepare(&on_node(root.path(), node), 1001, 0o755);
    }
    let lab = BackgroundLab::start(scenario(root.path()));
    let result = result_of(&probe(&lab, "local").output().unwrap(), 0);
    assert!(result.passed(), "{result:#?}");
    assert_eq!(result.agent, "in-cluster");
    assert_eq!(result.location.endpoint, format!("hostPath {HOST_PATH}"));
    let local = result.local_volume.as_ref().unwrap();
    let run_as = local.run_as.as_ref().unwrap();
    assert_eq!(
        (run_as.uid, run_as.gid, run_as.fs_group),
        (Some(1001), None, Some(1001))
    );
    assert!(
        run_as
            .source
            .contains("ConfigMap velero/local-volume-provider-config"),
        "{run_as:?}"
    );
    let nodes: Vec<&str> = local.nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(nodes, ["acme-prod-3", "acme-prod-1", "acme-prod-2"]);
    for node in &local.nodes {
        let volume = node.volume.as_ref().unwrap();
        assert_eq!(
            (volume.uid, volume.owner_uid, volume.mode.as_deref()),
            (1001, Some(1001), Some("0755"))
        );
        assert_eq!(volume.groups, [1001], "fsGroup is a supplementary group");
        assert!(
            volume.free_bytes.unwrap() > 0
                && volume.total_bytes.unwrap() >= volume.free_bytes.unwrap()
        );
        assert!(
            node.checks.iter().all(|c| c.status == Status::Passed),
            "{node:#?}"
        );
    }
    for step in LOCAL_VOLUME_STEPS {
        assert_eq!(
            result.check(step).unwrap().status,
            Status::Passed,
            "{step:?}"
        );
    }
    let text = result.to_terminal();
    assert!(
        text.contains("node acme-prod-2: owner 1001:1001 mode 0755, "),
        "{text}"
    );
    nothing_left_in(&lab);
    for node in NODES {
        no_probe_file_in(&on_node(root.path(), node));
    }
}

/// A node whose directory another uid owns (4242, mode 0755): the plugin's isWriteable refuses it and the write as
/// uid 1001 is denied, both SD703 and both naming that node; the other nodes pass. A node without the directory:
/// its pod cannot mount it (the kubelet's hostPath type check), SD707, at once.
#[test]
fn another_owner_is_sd703_and_a_missing_path_sd707() {
    if !root() {
        return;
    }
    let root = host_root();
    prepare(&on_node(root.path(), "acme-prod-1"), 1001, 0o755);
    let foreign = prepare(&on_node(root.path(), "acme-prod-2"), 4242, 0o755);
    let lab = BackgroundLab::start(scenario(root.path()));
    let started = Instant::now();
    let result = result_of(&probe(&lab, "local").output().unwrap(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_reproduces(&result, Step::Permissions, "SD703");
    assert_reproduces(&result, Step::Put, "SD703");
    assert_reproduces(&result, Step::Stat, "SD707");
    let local = result.local_volume.as_ref().unwrap();
    let node = |name: &str| local.nodes.iter().find(|n| n.node == name).unwrap();
    let permissions = node("acme-prod-2")
        .checks
        .iter()
        .find(|c| c.step == Step::Permissions)
        .unwrap();
    assert_eq!(
        permissions.detail,
        "failed to ensure filesystem: directory is not writeable (/var/velero-local-volume-provider/hostpath-snapshots \
         is owned by 4242:4242 with mode 0755; Velero runs as uid 1001 gid 0)"
    );
    let put = node("acme-prod-2")
        .checks
        .iter()
        .find(|c| c.step == Step::Put)
        .unwrap();
    assert!(put.detail.ends_with(": permission denied"), "{put:?}");
    assert!(
        node("acme-prod-1")
            .checks
            .iter()
            .all(|c| c.status == Status::Passed)
    );
    let stat = &node("acme-prod-3").checks[0];
    assert_eq!(
        stat.detail,
        format!(
            "MountVolume.SetUp failed for volume \"hostpath-snapshots\" : hostPath type check failed: {HOST_PATH} is not a directory"
        )
    );
    assert!(node("acme-prod-3").volume.is_none());
    let put_check = result.check(Step::Put).unwrap();
    assert!(put_check.detail.starts_with("node acme-prod-2: open /var/velero-local-volume-provider/hostpath-snapshots/snapdoc-probe-"), "{put_check:?}");
    nothing_left_in(&lab);
    no_probe_file_in(&foreign);
}

/// An NFS export: one Job, on the velero pod's node, mounting the export; a missing export is SD707.
#[test]
fn an_nfs_export_is_probed_once() {
    if !root() {
        return;
    }
    let root = host_root();
    let lab = BackgroundLab::start(scenario(root.path()));
    let missing = result_of(&probe(&lab, "nfs").output().unwrap(), 1);
    assert_reproduces(&missing, Step::Stat, "SD707");
    nothing_left_in(&lab);

    let export = prepare(&root.path().join("nfs/10.0.0.1/snapshots"), 1001, 0o755);
    let result = result_of(&probe(&lab, "nfs").output().unwrap(), 0);
    assert_eq!(result.location.endpoint, "nfs 10.0.0.1:/snapshots");
    let nodes: Vec<&str> = result
        .local_volume
        .as_ref()
        .unwrap()
        .nodes
        .iter()
        .map(|n| n.node.as_str())
        .collect();
    assert_eq!(nodes, ["acme-prod-3"]);
    nothing_left_in(&lab);
    no_probe_file_in(&export);
}

/// `--from-here` is refused by name: a node's directory is not this machine's.
#[test]
fn from_here_is_refused_for_a_host_path() {
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args([
            "probe",
            "--from-here",
            "--provider",
            "replicated.com/hostpath",
            "--bucket",
            "b",
        ])
        .args(["--config", "path=/tmp"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"replicated.com/hostpath\": a local-volume-provider location is a directory on the cluster's nodes")
            && stderr.contains("snapdoc probe --bsl NAME"),
        "{stderr}"
    );
}

/// `snapdoc run --probe`: the per-node results in the reports it writes (Markdown, HTML); and the same result in
/// every format the reports have (JSON valid against docs/report-schema.json, terminal, JUnit).
#[test]
fn run_probe_puts_each_node_in_every_report_format() {
    if !root() {
        return;
    }
    let root = host_root();
    prepare(&on_node(root.path(), "acme-prod-1"), 1001, 0o755);
    prepare(&on_node(root.path(), "acme-prod-2"), 4242, 0o755);
    prepare(&on_node(root.path(), "acme-prod-3"), 1001, 0o755);
    let mut scenario = scenario(root.path());
    // Only the host path location: the scenario's own points at AWS itself, unreachable from a test.
    scenario
        .objects
        .retain(|o| !(o.kind() == "BackupStorageLocation" && o.name() != "local"));
    let lab = BackgroundLab::start(scenario);
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["run", "--probe", "--kubeconfig"])
        .arg(lab.kubeconfig())
        .arg("--out-dir")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reproduced =
        "the probe reproduced it on owner and mode: node acme-prod-2: failed to ensure filesystem";
    assert!(
        stdout.contains(reproduced),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let folder = std::fs::read_dir(out.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let node_line = "node acme-prod-2: owner 4242:4242 mode 0755, ";
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(md.contains(reproduced) && md.contains(node_line), "{md}");
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(
        html.contains(node_line),
        "the HTML report lacks the node's line"
    );
    nothing_left_in(&lab);

    let result = result_of(&probe(&lab, "local").output().unwrap(), 1);
    let mut analysis = report_fixtures::failed_bsl();
    analysis.probes = vec![LocationProbe {
        namespace: "velero".to_string(),
        name: "local".to_string(),
        result: Some(result),
        error: None,
    }];
    let json: serde_json::Value =
        serde_json::from_str(&render(&analysis, ReportFormat::Json, None).unwrap()).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let nodes = &json["probes"][0]["result"]["localVolume"]["nodes"];
    let foreign = nodes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "acme-prod-2")
        .unwrap();
    assert_eq!(foreign["volume"]["ownerUid"], 4242);
    let terminal = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(
        terminal.contains("FAIL probe of velero/local"),
        "{terminal}"
    );
    assert!(terminal.contains(reproduced), "{terminal}");
    let junit = render(&analysis, ReportFormat::Junit, None).unwrap();
    assert!(
        junit.contains("node acme-prod-2: failed to ensure filesystem"),
        "{junit}"
    );
    nothing_left_in(&lab);
}

/// `--dry-run` prints the Job of each node that hosts the location, pinned there, mounting the directory as the
/// plugin does and running as Velero's uid, and creates nothing.
#[test]
fn dry_run_prints_one_pinned_job_per_node() {
    let root = host_root();
    let lab = BackgroundLab::start(scenario(root.path()));
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["probe", "--bsl", "local", "--dry-run", "--kubeconfig"])
        .arg(lab.kubeconfig())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let jobs: Vec<&str> = stdout.split("\n---\n").collect();
    assert_eq!(jobs.len(), 3, "{stdout}");
    for (job, node) in jobs
        .iter()
        .zip(["acme-prod-3", "acme-prod-1", "acme-prod-2"])
    {
        assert!(job.contains(&format!("nodeName: {node}")), "{job}");
        assert!(
            job.contains("runAsUser: 1001") && job.contains("fsGroup: 1001"),
            "{job}"
        );
        assert!(
            job.contains("mountPath: /var/velero-local-volume-provider/hostpath-snapshots"),
            "{job}"
        );
        assert!(
            job.contains(&format!("path: {HOST_PATH}")) && job.contains("type: Directory"),
            "{job}"
        );
        assert!(!job.contains("credentials"), "{job}");
    }
    nothing_left_in(&lab);
}

/// SIGINT while the node Jobs wait (an image no node runs: their pods never appear): snapdoc ends with 130 and
/// deletes every one of them.
#[test]
fn ctrl_c_removes_every_node_s_job() {
    let root = host_root();
    let lab = BackgroundLab::start(scenario(root.path()));
    let child = probe(&lab, "local")
        .args(["--image", "registry.example/other:1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lab.lab().objects("jobs.batch").len() < 3 {
        assert!(Instant::now() < deadline, "the three Jobs were not created");
        std::thread::sleep(Duration::from_millis(50));
    }
    let jobs: Vec<String> = lab
        .lab()
        .objects("jobs.batch")
        .iter()
        .map(|job| {
            format!(
                "{}/{}",
                job["metadata"]["namespace"].as_str().unwrap(),
                job["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("probe Jobs") && stderr.contains("deleted"),
        "{stderr}"
    );
    // Each Job is named with its namespace, so the user can look for any of them.
    for job in &jobs {
        assert!(stderr.contains(job.as_str()), "{job} not named: {stderr}");
    }
    nothing_left_in(&lab);
}
