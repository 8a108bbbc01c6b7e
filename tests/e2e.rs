//! The whole pipeline, as a user runs it: the lab cluster serves a scenario, snapdoc collects it through the
//! network, analyses the bundle and writes the reports. Each scenario must give its expected top findings.
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use snapdoc::analyze::{Analysis, Severity};
use snapdoc::pipeline::DemoOptions;
use snapdoc::pipeline::{RunOutcome, demo};

async fn run_scenario(name: &str, out_dir: &Path) -> RunOutcome {
    demo(&DemoOptions {
        scenario: name.into(),
        out_dir: out_dir.to_path_buf(),
    })
    .await
    .unwrap_or_else(|e| panic!("demo {name}: {e}"))
}

/// Rule ids of the findings at or above `severity`.
fn ids_at_least(analysis: &Analysis, severity: Severity) -> BTreeSet<String> {
    analysis
        .findings
        .iter()
        .filter(|f| f.severity >= severity)
        .map(|f| f.rule_id.clone())
        .collect()
}

fn finding<'a>(analysis: &'a Analysis, id: &str) -> &'a snapdoc::analyze::Finding {
    analysis
        .findings
        .iter()
        .find(|f| f.rule_id == id)
        .unwrap_or_else(|| panic!("no {id} among {:?}", ids_at_least(analysis, Severity::Info)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_has_no_warning_and_no_failure() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("healthy", out.path()).await;
    let analysis = &outcome.analysis;
    assert!(
        ids_at_least(analysis, Severity::Warn).is_empty(),
        "{:?}",
        ids_at_least(analysis, Severity::Warn)
    );
    assert!(analysis.verdicts.is_empty());
    assert_eq!(outcome.exit, snapdoc::analyze::Exit::Clean);
    assert!(analysis.backups.len() >= 8);
    assert!(
        analysis.checks_passed.len() >= 100,
        "{}",
        analysis.checks_passed.len()
    );
    assert_eq!(
        analysis
            .environment
            .velero
            .as_ref()
            .and_then(|v| v.version.as_deref()),
        Some("1.12.3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_bsl_blames_the_missing_bucket() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("failed-bsl", out.path()).await;
    let analysis = &outcome.analysis;
    let top = &analysis.findings[0];
    assert_eq!(top.severity, Severity::Fail);
    assert_eq!(
        top.match_kind, "log",
        "the most specific evidence comes first: {top:?}"
    );
    // SD101: NoSuchBucket in the server log; SD150: the location's own Unavailable status.
    assert_eq!(top.rule_id, "SD101");
    assert!(finding(analysis, "SD150").message.contains("NoSuchBucket"));
    let location = &analysis.environment.storage_locations[0];
    assert_eq!(location.phase.as_deref(), Some("Unavailable"));
    assert_eq!(location.bucket.as_deref(), Some("myapp-snapshots"));
    assert!(!analysis.verdicts.is_empty());
    assert_eq!(outcome.exit, snapdoc::analyze::Exit::Findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partially_failed_fsb_finds_the_oom_killed_node_agent_and_the_volume_errors() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("partially-failed-fsb", out.path()).await;
    let analysis = &outcome.analysis;
    let fails = ids_at_least(analysis, Severity::Fail);
    // SD550: a component OOMKilled; SD505: the uploader killed; SD352: PodVolumeBackups Failed.
    for id in ["SD550", "SD505", "SD352"] {
        assert!(fails.contains(id), "{id} missing from {fails:?}");
    }
    assert!(
        finding(analysis, "SD550").message.contains("node-agent"),
        "{}",
        finding(analysis, "SD550").message
    );
    // The volume not opted in is reported, by rule and in the table.
    assert!(ids_at_least(analysis, Severity::Warn).contains("SD354"));
    assert!(!analysis.volumes_not_backed_up.is_empty());
    assert!(
        analysis
            .verdicts
            .iter()
            .all(|v| v.phase == "PartiallyFailed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_velero_restic_flags_compatibility_and_the_restic_repository() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("old-velero-restic", out.path()).await;
    let analysis = &outcome.analysis;
    let compat = finding(analysis, "SD901");
    assert_eq!(compat.match_kind, "compat");
    assert!(compat.severity >= Severity::Warn);
    // Restic: the repository password no longer matches; the ResticRepository is not ready.
    let fails = ids_at_least(analysis, Severity::Fail);
    assert!(
        fails.contains("SD304") && fails.contains("SD351"),
        "{fails:?}"
    );
    assert_eq!(
        analysis
            .environment
            .velero
            .as_ref()
            .and_then(|v| v.version.as_deref()),
        Some("1.6.3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_sources_still_give_a_bundle_and_no_invented_failure() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("forbidden", out.path()).await;
    let analysis = &outcome.analysis;
    // What was refused is named by target (objects) or by the API's message (a DownloadRequest per log).
    let refused: Vec<String> = analysis
        .collector_errors
        .iter()
        .filter(|e| e.status == Some(403))
        .map(|e| format!("{} {}", e.target.as_deref().unwrap_or_default(), e.message))
        .collect();
    for target in ["backups.velero.io", "secrets", "downloadrequests"] {
        assert!(
            refused.iter().any(|t| t.contains(target)),
            "{target} not among {refused:?}"
        );
    }
    assert!(ids_at_least(analysis, Severity::Fail).is_empty());
    assert!(analysis.environment.kubernetes_version.is_some());
}

/// README's first command: `snapdoc demo` writes the reports and never overwrites an earlier run's.
#[test]
fn the_demo_command_writes_reports_and_keeps_earlier_runs() {
    let out = tempfile::tempdir().unwrap();
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(["demo", "--scenario", "failed-bsl", "--out-dir"])
            .arg(out.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let first = run();
    let second = run();
    assert!(
        first.contains("report.html") && first.contains("SD101"),
        "{first}"
    );
    let folders: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 2, "{second}");
    for folder in folders {
        let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
        assert!(html.contains("The backup bucket does not exist"));
        assert!(folder.join("report.md").exists());
        let bundle = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "zip"))
            .unwrap();
        // The bundle still verifies after analysis.json was added to it.
        let report = snapdoc::bundle::verify(&bundle).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        let mut opened = snapdoc::bundle::Bundle::open(&bundle).unwrap();
        assert!(opened.read_json("analysis.json").unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_oom_verdict_blames_the_oom_killed_maintenance_jobs() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("maintenance-oom", out.path()).await;
    let analysis = &outcome.analysis;
    let oom = finding(analysis, "SD320");
    assert_eq!(oom.count, 3, "{oom:?}");
    assert!(oom.message.contains("OOMKilled") && oom.message.contains("512Mi"));
    assert_eq!(analysis.verdicts.len(), 1, "{:?}", analysis.verdicts);
    let verdict = &analysis.verdicts[0];
    assert_eq!(verdict.target.name, "daily-20261125020000");
    assert_eq!(verdict.phase, "PartiallyFailed");
    // The cause leads over the symptom (SD501: the backup gave up waiting for its pod volume backup).
    assert_eq!(verdict.finding_ids[0], "SD320", "{verdict:?}");
    assert!(verdict.finding_ids.contains(&"SD501".to_string()));
    assert!(
        verdict.summary.contains("app-default-kopia-qd7mt")
            && verdict.summary.contains("OOMKilled"),
        "{}",
        verdict.summary
    );
    let fix = verdict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("--repo-maintenance-job-configmap")
            && fix.contains("--maintenance-job-mem-limit"),
        "{fix}"
    );
    // The finding reaches the backup through the repository the maintenance pods' label names (the backup's
    // volume namespace `app` on location `default`), and tells that repository its own detail.
    assert!(
        has_repository_detail(oom, "app-default-kopia-qd7mt", 3),
        "{:?}",
        oom.targets
    );
}

/// Whether a finding has its own detail on BackupRepository `name`, counting `count` objects.
fn has_repository_detail(finding: &snapdoc::analyze::Finding, name: &str, count: u64) -> bool {
    finding.targets.iter().any(|t| {
        t.target.kind == "backuprepositories.velero.io" && t.target.name == name && t.count == count
    })
}

/// A JSON entry of a collected bundle, which must be there.
fn entry_json(bundle: &mut snapdoc::bundle::Bundle, entry: &str) -> serde_json::Value {
    bundle
        .read_json(entry)
        .unwrap_or_else(|e| panic!("{entry}: {e}"))
        .unwrap_or_else(|| panic!("{entry}: not in the bundle"))
}

/// A text entry of a collected bundle.
fn entry_text(bundle: &mut snapdoc::bundle::Bundle, entry: &str) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut bundle.open_entry(entry).unwrap(), &mut text)
        .unwrap_or_else(|e| panic!("{entry}: {e}"));
    text
}

/// The analysis's only verdict: on `target` in `phase`, led by the cause `lead` with the generic `symptom` after
/// it, its summary saying each of `parts`.
fn the_one_verdict<'a>(
    analysis: &'a Analysis,
    (target, phase): (&str, &str),
    (lead, symptom): (&str, &str),
    parts: &[&str],
) -> &'a snapdoc::analyze::Verdict {
    assert_eq!(analysis.verdicts.len(), 1, "{:?}", analysis.verdicts);
    let verdict = &analysis.verdicts[0];
    assert_eq!(verdict.target.name, target);
    assert_eq!(verdict.phase, phase);
    assert_eq!(verdict.finding_ids[0], lead, "{verdict:?}");
    assert!(
        verdict.finding_ids.iter().any(|id| id == symptom),
        "{verdict:?}"
    );
    for part in parts {
        assert!(
            verdict.summary.contains(part),
            "{part}: {}",
            verdict.summary
        );
    }
    verdict
}

/// data-mover-pending (#15): tonight's DataUploads timed out preparing; the verdict names the untolerated
/// taints that kept their pods off every node, not the generic prepare timeout (SD451, a symptom).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_mover_pending_verdict_names_the_untolerated_taint() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("data-mover-pending", out.path()).await;
    let analysis = &outcome.analysis;
    let taint = finding(analysis, "SD455");
    // Two timed-out DataUploads of tonight's backup, two Pending ones of the backup started by hand.
    assert_eq!(taint.count, 4, "{taint:?}");
    let verdict = the_one_verdict(
        analysis,
        ("daily-20261125020000", "PartiallyFailed"),
        ("SD455", "SD451"),
        &[
            "DataUpload daily-20261125020000-",
            "timed out preparing after the node-agent's 30m0s --data-mover-prepare-timeout",
            "node worker-1 has taint dedicated=app:NoSchedule",
            "node cp-1 has taint node-role.kubernetes.io/control-plane:NoSchedule",
            "a data mover pod of Velero 1.16.0 does not tolerate",
            "the node-agent DaemonSet tolerates dedicated=app:NoSchedule",
        ],
    );
    let fix = verdict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("loadAffinity") && fix.contains("kubectl taint nodes"),
        "{fix}"
    );
    // The server's and node agent's flags, as their args set them or Velero 1.16's defaults, in the
    // environment section of both reports.
    let settings: Vec<(&str, Option<&str>, bool)> = analysis
        .environment
        .settings
        .iter()
        .map(|s| (s.flag.as_str(), s.value.as_deref(), s.is_default))
        .collect();
    assert_eq!(
        settings,
        [
            ("--uploader-type", Some("kopia"), false),
            ("--fs-backup-timeout", Some("4h"), false),
            ("--default-item-operation-timeout", Some("4h"), false),
            ("--default-repo-maintain-frequency", Some("24h"), false),
            ("--data-mover-prepare-timeout", Some("30m0s"), true),
        ]
    );
    let markdown = std::fs::read_to_string(outcome.markdown_report.as_ref().unwrap()).unwrap();
    assert!(
        markdown.contains(
            "Server and node-agent settings: `--uploader-type` `kopia` (velero), `--fs-backup-timeout` `4h` \
             (velero),"
        ) && markdown.contains("`--data-mover-prepare-timeout` `30m0s` (node-agent, default)."),
        "{markdown}"
    );
    let html = std::fs::read_to_string(outcome.html_report.as_ref().unwrap()).unwrap();
    assert!(html.contains("<p class=\"settings\">Server and node-agent settings: <span class=\"mono\">--uploader-type</span>"));
}

/// restore-wait-failed (#15): the restore's verdict names Pod Security admission refusing the restored pod for
/// Velero's restore-wait init container, not the generic PartiallyFailed state (SD650).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_wait_failed_verdict_names_the_pod_security_refusal() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("restore-wait-failed", out.path()).await;
    let analysis = &outcome.analysis;
    let verdict = the_one_verdict(
        analysis,
        ("restore-app-20261125110000", "PartiallyFailed"),
        ("SD614", "SD650"),
        &[
            "could not create pod app-restore/db-0",
            "namespace app-restore enforces Pod Security \"restricted\"",
            "restore-wait init container",
        ],
    );
    let fix = verdict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("1.15.1") && fix.contains("fs-restore-action-config"),
        "{fix}"
    );
    // What it cost, from the restore's results: the refused pod.
    assert!(
        verdict.lost.items.iter().any(|l| l.starts_with(
            "app-restore: error restoring pods/app-restore/db-0: pods \"db-0\" is forbidden: violates PodSecurity"
        )),
        "{:?}",
        verdict.lost
    );
}

/// restore-wait-looping (#15, velero#8276): the node agent was OOMKilled during the restore's PodVolumeRestore,
/// which the restarted agent marked Failed; the restored pod's restore-wait helper keeps printing that the done file
/// is not found. The verdict leads with the helper that can never finish, naming the pod, the volume and the
/// PodVolumeRestore's state, not the generic PartiallyFailed state (SD650) or the wrapper line (SD611).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_wait_looping_verdict_names_the_helper_waiting_on_a_failed_volume_restore() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("restore-wait-looping", out.path()).await;
    let analysis = &outcome.analysis;
    let verdict = the_one_verdict(
        analysis,
        ("restore-app-20261125110000", "PartiallyFailed"),
        ("SD615", "SD652"),
        &[
            "Pod app-restore/db-0 of restore restore-app-20261125110000 cannot start",
            "restore-wait init container keeps waiting for the done file \
             /restores/data/.velero/3f5b7d9b-8ec0-4cef-d7a3-1e3a5c7e9a11 of volume data (1191",
            "PodVolumeRestore restore-app-20261125110000-x8k2p is Failed: get a podvolumerestore with status \
             \"InProgress\" during the server starting",
            "The node agent on the pod's node node-1, pod node-agent-x7v2d, was last terminated OOMKilled at",
        ],
    );
    let fix = verdict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("Do not delete only the waiting pod") && fix.contains("OOMKilled"),
        "{fix}"
    );
    // Why the node agent restarted is in the bundle too, and in the same verdict.
    assert!(
        verdict.finding_ids.iter().any(|id| id == "SD550"),
        "{verdict:?}"
    );
}

/// kurl-minio-full (#15): kURL's in-cluster MinIO ran out of space; tonight's snapshot is Failed and its log is not
/// in the store. The verdict names the full store and its claim, not the missing log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kurl_minio_full_verdict_names_the_full_in_cluster_store() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("kurl-minio-full", out.path()).await;
    let analysis = &outcome.analysis;
    let verdict = the_one_verdict(
        analysis,
        ("instance-9wc4h", "Failed"),
        ("SD118", "SD801"),
        &[
            "full or over quota (XMinioStorageFull)",
            "The object store of location default runs in the cluster: Service minio in namespace minio, on claim \
             minio/minio-pv-claim (10Gi, storage class local).",
        ],
    );
    let fix = verdict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("kubectl -n minio exec deploy/minio -- df -h /data"),
        "{fix}"
    );
    // The store refused the log, so the verdict has a cause and asks for nothing more.
    assert!(verdict.missing.is_empty(), "{:?}", verdict.missing);
    // From the backup's failureReason and the server's "Error uploading log file" and "backup failed" lines.
    assert_eq!(finding(analysis, "SD118").count, 3);
    let mut bundle = snapdoc::bundle::Bundle::open(&outcome.bundle).unwrap();
    let claims = entry_json(
        &mut bundle,
        "cluster-resources/persistentvolumeclaims/minio.json",
    );
    assert_eq!(
        claims["items"][0]["status"]["capacity"]["storage"], "10Gi",
        "{claims}"
    );
    // Why the backup's log is not in the bundle: MinIO never took it (NoSuchKey).
    let manifest = entry_json(&mut bundle, "manifest.json");
    let errors = &manifest["collectorErrors"];
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == "BackupLog instance-9wc4h"
                && e["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("NoSuchKey")),
        "{errors}"
    );
    let events = entry_json(&mut bundle, "cluster-resources/events/minio.json");
    let killed = |e: &serde_json::Value| {
        e["reason"] == "Killing" && e["involvedObject"]["name"] == "minio-6b8f9c7d5-k2x9q"
    };
    assert!(
        events["items"].as_array().unwrap().iter().any(killed),
        "{events}"
    );
    let log = entry_text(
        &mut bundle,
        "object-store/logs/minio-6b8f9c7d5-r7t4m/minio.log",
    );
    assert!(
        log.contains("MINIO_ACCESS_KEY and MINIO_SECRET_KEY are deprecated"),
        "{log}"
    );
}

/// kots-velero-117-upgrade (#15): Velero moved to 1.17.2 by hand under KOTS restic snapshots on a
/// local-volume-provider host path. The stuck snapshot's verdict names the refused restic uploader; readiness names
/// the host-path location 1.17 cannot use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kots_velero_117_upgrade_verdict_names_the_refused_restic_uploader() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("kots-velero-117-upgrade", out.path()).await;
    let analysis = &outcome.analysis;
    let verdict = the_one_verdict(
        analysis,
        ("instance-9wc4h", "New"),
        ("SD911", "SD810"),
        &[
            "has been New for 9 hours",
            "Velero refused uploader type 'restic': from 1.17 Kopia is the only file-system backup uploader.",
        ],
    );
    assert!(
        verdict
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("--uploader-type=restic"),
        "{verdict:?}"
    );
    // The upgrade's other breakages: the host-path location, the restic backups, KOTS's supported range.
    let ids = ids_at_least(analysis, Severity::Warn);
    for id in ["SD906", "SD907", "SD901", "SD835"] {
        assert!(ids.contains(id), "{id}: {ids:?}");
    }
    assert!(
        finding(analysis, "SD906").message.contains("Velero 1.17.2"),
        "{:?}",
        finding(analysis, "SD906")
    );
    let readiness = &analysis.readiness;
    assert!(readiness.newest_restorable.is_none());
    assert!(
        readiness.summary.contains(
            "best: instance-7qpjj NOT restorable, its location uses local-volume-provider \
             (replicated.com/hostpath), which does not work from Velero 1.17"
        ),
        "{}",
        readiness.summary
    );
    // The server's current and previous runs, each ending in the refusal.
    let mut bundle = snapdoc::bundle::Bundle::open(&outcome.bundle).unwrap();
    for entry in [
        "velero/logs/velero-6d9c7b5f48-x4k7p/velero.log",
        "velero/logs/velero-6d9c7b5f48-x4k7p/velero-previous.log",
    ] {
        let log = entry_text(&mut bundle, entry);
        assert!(
            log.contains("Starting Velero server v1.17.2")
                && log.ends_with(
                    "An error occurred: invalid uploader type 'restic', valid type: 'kopia'\n"
                ),
            "{entry}: {log}"
        );
    }
}

/// node-disk-pressure (#15): worker-2's kubelet evicted the node agent under disk pressure while it backed up
/// db-0's volume; the new node agent marked the PodVolumeBackup Failed. The verdict leads with the node's events
/// (SD552: the node, the disk pressure, the PodVolumeBackup it ran), not the generic failed pod volume backup
/// (SD352) or PartiallyFailed state; the node's recovery after the backup (NodeHasNoDiskPressure) is no cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_disk_pressure_verdict_names_the_node_and_its_disk_pressure() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("node-disk-pressure", out.path()).await;
    let analysis = &outcome.analysis;
    let verdict = the_one_verdict(
        analysis,
        ("daily-20261125020000", "PartiallyFailed"),
        ("SD552", "SD352"),
        &[
            "Node worker-2 was under disk pressure: its kubelet recorded NodeHasDiskPressure",
            "The node ran PodVolumeBackup daily-20261125020000-x7k2p (backup daily-20261125020000).",
        ],
    );
    let fix = verdict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("kubectl describe node") && fix.contains("priorityClassName"),
        "{fix}"
    );
    // Both trouble events of worker-2 are in the finding; the recovery is not.
    let nodes = finding(analysis, "SD552");
    assert_eq!(nodes.count, 2, "{nodes:?}");
    assert!(
        nodes
            .targets
            .iter()
            .all(|t| t.target.kind == "nodes" && t.target.name == "worker-2"),
        "{:?}",
        nodes.targets
    );
    // The bundle holds what says so: the node's events, the evicted pod and the new agent's log.
    let mut bundle = snapdoc::bundle::Bundle::open(&outcome.bundle).unwrap();
    let node_events = entry_json(&mut bundle, "cluster/node-events.json");
    let reasons: Vec<&str> = node_events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["involvedObject"]["name"] == "worker-2")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "NodeHasDiskPressure",
            "EvictionThresholdMet",
            "NodeHasNoDiskPressure"
        ]
    );
    let pods = entry_json(&mut bundle, "cluster-resources/pods/velero.json");
    let evicted = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "node-agent-7mz4d")
        .expect("the evicted node-agent pod");
    assert_eq!(evicted["status"]["reason"], "Evicted");
    assert!(
        evicted["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The node was low on resource: ephemeral-storage."),
        "{evicted}"
    );
    let agent = entry_text(&mut bundle, "velero/logs/node-agent-b9r6t/node-agent.log");
    assert!(
        agent.contains(
            "found a podvolumebackup with status \\\"InProgress\\\" during the server starting"
        ),
        "{agent}"
    );
}

/// maintenance-oom-115 (#15): Velero 1.15.2's maintenance Job pods, OOMKilled, carry the server's labels (no
/// `velero.io/repo-name`) and the repository has no recentMaintenance; the verdict still leads with the OOMKilled
/// maintenance of repository app-default-kopia-qd7mt, told by the container and the Job's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_oom_115_verdict_blames_the_oom_killed_maintenance_of_the_repository() {
    let out = tempfile::tempdir().unwrap();
    let outcome = run_scenario("maintenance-oom-115", out.path()).await;
    let analysis = &outcome.analysis;
    let oom = finding(analysis, "SD320");
    assert_eq!(oom.count, 3, "{oom:?}");
    let verdict = the_one_verdict(
        analysis,
        ("daily-20261125020000", "PartiallyFailed"),
        ("SD320", "SD501"),
        &[
            "(Job app-default-kopia-qd7mt-maintain-job-",
            "was OOMKilled (memory limit 512Mi)",
        ],
    );
    assert!(
        verdict
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("--maintenance-job-mem-limit"),
        "{verdict:?}"
    );
    // Reached through the repository the Job's name carries, which gets its own detail.
    assert!(
        has_repository_detail(oom, "app-default-kopia-qd7mt", 3),
        "{:?}",
        oom.targets
    );
    // The bundle holds the 1.15 sources: the repository's message, the pods' logs, the server's wait error.
    let mut bundle = snapdoc::bundle::Bundle::open(&outcome.bundle).unwrap();
    let repositories = entry_json(
        &mut bundle,
        "cluster-resources/custom-resources/backuprepositories.velero.io/velero.json",
    );
    let repository = &repositories["items"][0];
    assert!(repository["status"].get("recentMaintenance").is_none());
    assert_eq!(
        repository["status"]["message"],
        "error to wait for maintenance job complete: maintenance job \
         velero/app-default-kopia-qd7mt-maintain-job-1795568400291 failed"
    );
    for pod in [
        "app-default-kopia-qd7mt-maintain-job-1795561200412-x7k2p",
        "app-default-kopia-qd7mt-maintain-job-1795564800538-q9m4t",
        "app-default-kopia-qd7mt-maintain-job-1795568400291-h3v8n",
    ] {
        let log = entry_text(
            &mut bundle,
            &format!("velero/logs/{pod}/velero-repo-maintenance-container.log"),
        );
        assert!(
            log.contains("Succeeded to open repo for maintenance"),
            "{pod}: {log}"
        );
    }
    let server = entry_text(
        &mut bundle,
        "velero/logs/velero-7d9f8c6b5d-m4n7p/velero.log",
    );
    assert_eq!(
        server
            .matches("msg=\"Error to wait for maintenance job complete\"")
            .count(),
        3,
        "{server}"
    );
}
