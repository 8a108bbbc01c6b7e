//! The six bundles of ../shared/real-bundles/ (copied unchanged to tests/fixtures/real-bundles/), laid out exactly as troubleshoot, KOTS and `velero debug`
//! write them (their README cites the source of every layout fact), read as they are: every fact the README
//! lists must be read, and the verdicts must name the causes it states.
use std::path::{Path, PathBuf};

use serde_json::Value;
use snapdoc::analyze::AnalysisOptions;
use snapdoc::analyze::{Analysis, analyze_bundle};
use snapdoc::bundle::{Bundle, LogSource};

fn real_bundle(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-bundles")
        .join(file)
}

fn phases(bundle: &mut Bundle) -> Vec<(String, String)> {
    let mut phases: Vec<(String, String)> = bundle
        .objects("backups.velero.io")
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                b["status"]["phase"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    phases.sort();
    phases
}

fn failed_pvb_messages(bundle: &mut Bundle) -> Vec<String> {
    bundle
        .objects("podvolumebackups.velero.io")
        .unwrap()
        .iter()
        .filter(|p| p["status"]["phase"] == "Failed")
        .filter_map(|p| p["status"]["message"].as_str().map(str::to_string))
        .collect()
}

fn location(bundle: &mut Bundle) -> Value {
    let locations = bundle.objects("backupstoragelocations.velero.io").unwrap();
    locations
        .into_iter()
        .find(|l| l["metadata"]["name"] == "default")
        .expect("the default storage location")
}

fn pod_log_sources(bundle: &Bundle) -> Vec<(String, LogSource, bool)> {
    bundle
        .logs()
        .into_iter()
        .filter_map(|l| Some((l.pod?, l.source, l.previous)))
        .collect()
}

fn analysis(file: &str) -> Analysis {
    analyze_bundle(&real_bundle(file), &AnalysisOptions::default())
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The verdict of one backup, lowercased.
fn verdict_of(analysis: &Analysis, backup: &str) -> String {
    analysis
        .verdicts
        .iter()
        .find(|v| v.target.name == backup)
        .map(|v| v.summary.to_lowercase())
        .unwrap_or_else(|| panic!("no verdict for {backup}: {:?}", analysis.verdicts))
}

#[test]
fn velero_debug_of_velero_1_12_reads_its_crashd_v0_3_7_names() {
    let path = real_bundle("velero-debug-v1.12.3-pvb-failed.tar.gz");
    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(bundle.format().as_str(), "velero-debug");
    let manifest = bundle.manifest().unwrap();
    assert_eq!(manifest.tool.version, "v1.12.3");
    assert_eq!(manifest.scope["veleroNamespace"], "velero");
    assert_eq!(
        phases(&mut bundle),
        vec![
            ("instance-2k9dd".into(), "Completed".into()),
            ("instance-q8rbx".into(), "PartiallyFailed".into()),
        ]
    );
    let messages = failed_pvb_messages(&mut bundle);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("expected one matching path")),
        "{messages:?}"
    );
    // Made before the bucket was deleted: the location was still Available.
    assert_eq!(location(&mut bundle)["status"]["phase"], "Available");
    assert_eq!(bundle.objects("pods").unwrap().len(), 3);
    assert_eq!(
        bundle
            .objects("backuprepositories.velero.io")
            .unwrap()
            .len(),
        1
    );
    let logs = pod_log_sources(&bundle);
    assert!(logs.contains(&(
        "velero-7d9c6b8f5-x2x9k".into(),
        LogSource::VeleroServer,
        false
    )));
    assert!(logs.contains(&("node-agent-t7v9m".into(), LogSource::NodeAgent, false)));
    let backup_logs: Vec<_> = bundle
        .logs()
        .into_iter()
        .filter(|l| l.source == LogSource::BackupLog)
        .map(|l| l.owner)
        .collect();
    assert_eq!(backup_logs, vec![Some("instance-q8rbx".to_string())]);
    assert!(
        bundle
            .unavailable()
            .iter()
            .any(|u| u.contains("previous container logs"))
    );
}

#[test]
fn troubleshoot_v0_50_kots_restic_bundle_is_read() {
    let mut bundle = Bundle::open(&real_bundle("ts-v0.50.0-kots-restic.tar.gz")).unwrap();
    assert_eq!(bundle.format().as_str(), "troubleshoot");
    assert_eq!(bundle.manifest().unwrap().tool.version, "v0.50.0");
    let phases = phases(&mut bundle);
    assert!(
        phases.contains(&("instance-q8rbx".into(), "PartiallyFailed".into())),
        "{phases:?}"
    );
    assert!(
        phases.contains(&("instance-7fq2x".into(), "Failed".into())),
        "{phases:?}"
    );
    let messages = failed_pvb_messages(&mut bundle);
    assert!(
        messages.iter().any(|m| m.contains("running Restic backup")),
        "{messages:?}"
    );
    assert_eq!(location(&mut bundle)["status"]["phase"], "Unavailable");
    let errors = &bundle.manifest().unwrap().collector_errors;
    assert!(
        errors
            .iter()
            .any(|e| e.target.as_deref() == Some("deletebackuprequests.velero.io")),
        "{errors:?}"
    );
    let logs = pod_log_sources(&bundle);
    assert!(
        logs.iter().any(|(_, s, _)| *s == LogSource::NodeAgent),
        "{logs:?}"
    );
}

#[test]
fn troubleshoot_v0_107_reads_the_previous_node_agent_log() {
    let mut bundle = Bundle::open(&real_bundle("ts-v0.107.2-velero-logs.tar.gz")).unwrap();
    assert_eq!(bundle.manifest().unwrap().tool.version, "v0.107.2");
    assert!(phases(&mut bundle).contains(&("instance-7fq2x".into(), "Failed".into())));
    assert_eq!(location(&mut bundle)["status"]["phase"], "Unavailable");
    let logs = pod_log_sources(&bundle);
    assert!(
        logs.contains(&("node-agent-t7v9m".into(), LogSource::NodeAgent, true)),
        "{logs:?}"
    );
}

#[test]
fn troubleshoot_v0_133_reads_json_with_yaml_links() {
    let mut bundle = Bundle::open(&real_bundle("ts-v0.133.0-json-only.tar.gz")).unwrap();
    assert_eq!(bundle.manifest().unwrap().tool.version, "v0.133.0");
    let phases = phases(&mut bundle);
    assert_eq!(phases.len(), 3, "{phases:?}");
    assert!(!failed_pvb_messages(&mut bundle).is_empty());
    assert_eq!(location(&mut bundle)["status"]["phase"], "Unavailable");
}

#[test]
fn kots_admin_console_bundle_gives_its_snapshot_settings() {
    let analysis = analysis("kots-v1.121.0-admin-console.tar.gz");
    let backups: Vec<(&str, Option<&str>)> = analysis
        .backups
        .iter()
        .map(|b| (b.name.as_str(), b.phase.as_deref()))
        .collect();
    assert!(
        backups.contains(&("instance-7fq2x", Some("Failed"))),
        "{backups:?}"
    );
    let mut bundle = Bundle::open(&real_bundle("kots-v1.121.0-admin-console.tar.gz")).unwrap();
    let facts = snapdoc::analyze::gather_facts(&mut bundle).unwrap();
    let settings = facts
        .kots_snapshots
        .expect("app-info.json and license.yaml");
    assert_eq!(settings.provider.as_deref(), Some("aws"));
    assert_eq!(settings.full_schedule.as_deref(), Some("0 2 * * *"));
    assert_eq!(settings.full_ttl.as_deref(), Some("720h"));
    assert_eq!(settings.partial_schedule, None);
    assert_eq!(settings.snapshots_allowed, Some(true));
    let kots = &facts.kinds["facts.kots"][0];
    // The last Completed instance snapshot is 5 days old; the daily schedule allows two.
    assert_eq!(kots["lastCompletedFullSnapshotName"], "instance-2k9dd");
    assert_eq!(kots["fullScheduleOverdue"], true);
    assert!(
        analysis.findings.iter().any(|f| f.rule_id == "SD706"),
        "{:?}",
        analysis
            .findings
            .iter()
            .map(|f| &f.rule_id)
            .collect::<Vec<_>>()
    );
}

#[test]
fn kots_kurl_bundle_reads_both_log_folders_once() {
    let mut bundle = Bundle::open(&real_bundle("kots-v1.121.0-kurl.tar.gz")).unwrap();
    assert_eq!(location(&mut bundle)["status"]["phase"], "Unavailable");
    let logs = pod_log_sources(&bundle);
    let velero_logs = logs
        .iter()
        .filter(|(pod, _, previous)| pod.starts_with("velero-") && !previous)
        .count();
    assert!(velero_logs >= 1, "{logs:?}");
    let mut unique = logs.clone();
    unique.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    unique.dedup();
    assert_eq!(unique.len(), logs.len(), "{logs:?}");
}

/// README: instance-7fq2x failed because the bucket is gone.
#[test]
fn failed_backup_is_blamed_on_the_deleted_bucket() {
    for file in [
        "ts-v0.107.2-velero-logs.tar.gz",
        "kots-v1.121.0-admin-console.tar.gz",
    ] {
        let verdict = verdict_of(&analysis(file), "instance-7fq2x");
        assert!(
            verdict.contains("bucket") || verdict.contains("nosuchbucket"),
            "{file}: {verdict}"
        );
    }
}

/// README: instance-q8rbx partially failed because of its pod volume, not the bucket deleted after it.
#[test]
fn partially_failed_backup_is_blamed_on_its_pod_volume() {
    for file in [
        "ts-v0.107.2-velero-logs.tar.gz",
        "velero-debug-v1.12.3-pvb-failed.tar.gz",
    ] {
        let verdict = verdict_of(&analysis(file), "instance-q8rbx");
        assert!(!verdict.contains("bucket"), "{file}: {verdict}");
        assert!(
            verdict.contains("volume") || verdict.contains("matching path"),
            "{file}: {verdict}"
        );
    }
}

fn snapdoc_json(args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// A troubleshoot bundle (objects, no backup logs) and a `velero debug --backup` bundle of the same cluster:
/// read as one case, the troubleshoot bundle leads and instance-q8rbx's verdict reads its backup log from the
/// other; `--separate` keeps two analyses.
#[test]
fn two_bundles_of_one_cluster_are_one_case() {
    let troubleshoot = real_bundle("ts-v0.133.0-json-only.tar.gz");
    let debug = real_bundle("velero-debug-v1.12.3-pvb-failed.tar.gz");
    let (troubleshoot, debug) = (troubleshoot.to_str().unwrap(), debug.to_str().unwrap());
    // Given in either order, the troubleshoot bundle leads.
    for args in [
        ["analyze", debug, troubleshoot],
        ["analyze", troubleshoot, debug],
    ] {
        let analysis = snapdoc_json(&args);
        assert!(analysis.is_object(), "one analysis: {analysis}");
        assert_eq!(analysis["bundle"]["format"], "troubleshoot");
        let also = &analysis["bundle"]["alsoRead"][0];
        assert_eq!(also["path"], debug);
        assert_eq!(also["madeBy"], "velero-debug v1.12.3");
        assert!(
            also["reason"]
                .as_str()
                .unwrap()
                .contains("Backup uid(s) in common"),
            "{also}"
        );
        let backup_log_read = analysis["findings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["evidence"].as_array().unwrap())
            .any(|e| {
                e["file"]
                    .as_str()
                    .is_some_and(|f| f == "velero/backups/instance-q8rbx/backup.log")
            });
        assert!(backup_log_read, "the debug bundle's backup log is read");
        let verdict = analysis["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["target"]["name"] == "instance-q8rbx")
            .unwrap();
        assert!(!verdict.to_string().contains("bucket"), "{verdict}");
    }
    let separate = snapdoc_json(&["analyze", "--separate", troubleshoot, debug]);
    assert_eq!(separate["analyses"].as_array().map(Vec::len), Some(2));
    assert!(separate["status"].is_string(), "{separate}");
}
