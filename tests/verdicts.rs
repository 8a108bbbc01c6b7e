//! Verdicts name the right cause and the right backup, and an incomplete collection is said aloud.
//!
//! - every failed backup's verdict is rendered from that backup's own hits (per-target details), not from the
//!   first hit of the rule (which named another backup);
//! - the verdict follows the cause chain: the backup's own findings, then its storage location's (log lines
//!   naming the location in `backupLocation` / `backup-storage-location` / a `location` capture, and object findings
//!   on the location), then store-wide failures when the backup failed outright;
//! - what the collector could not read becomes `facts.collection` and the SD86x findings, and a bundle where
//!   nothing failed but Backups could not be listed is "incomplete", never "healthy".
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use snapdoc::analyze::AnalysisOptions;
use snapdoc::analyze::BackupSummary;
use snapdoc::analyze::{Analysis, analyze_bundle};
use snapdoc::analyze::{Finding, ObjectRef, Severity, TargetDetail};
use snapdoc::bundle::RunInfo;
use snapdoc::bundle::{BundleWriter, CollectorError};
use snapdoc::lab::Scenario;
use snapdoc::report::{ReportFormat, render};

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;

const CREATED: &str = "2026-11-25T12:00:00Z";

fn scenario_analysis(name: &str) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.zip"));
    foreign_fixtures::snapdoc_bundle_from_scenario(&Scenario::builtin(name).unwrap(), &path);
    analyze_bundle(&path, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn finding<'a>(analysis: &'a Analysis, id: &str) -> &'a Finding {
    analysis
        .findings
        .iter()
        .find(|f| f.rule_id == id)
        .unwrap_or_else(|| panic!("no {id} finding"))
}

#[test]
fn per_target_details_match_the_report_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("a draft 2020-12 schema");
    for name in ["failed-bsl", "partially-failed-fsb"] {
        let json: Value = serde_json::from_str(
            &render(&scenario_analysis(name), ReportFormat::Json, None).unwrap(),
        )
        .unwrap();
        assert!(
            json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["targets"].is_array()),
            "{name}: no finding with targets"
        );
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    }
}

#[test]
fn each_partially_failed_backup_is_told_its_own_killed_uploader() {
    let analysis = scenario_analysis("partially-failed-fsb");
    assert!(analysis.verdicts.len() >= 2, "{:?}", analysis.verdicts);
    let names: BTreeSet<&str> = analysis
        .verdicts
        .iter()
        .map(|v| v.target.name.as_str())
        .collect();
    for verdict in &analysis.verdicts {
        let own = verdict.target.name.as_str();
        assert_eq!(verdict.finding_ids[0], "SD505", "{own}: {verdict:?}");
        assert!(
            verdict.summary.contains(own),
            "{own}'s verdict names another backup: {}",
            verdict.summary
        );
        for other in names.iter().filter(|n| **n != own) {
            assert!(
                !verdict.summary.contains(other),
                "{own}'s verdict names {other}: {}",
                verdict.summary
            );
        }
    }
    // The finding itself keeps the first hit's message, and carries one detail per backup with its own count.
    let killed = finding(&analysis, "SD505");
    let per_backup: u64 = killed
        .targets
        .iter()
        .filter(|t| t.target.kind == "backups.velero.io")
        .map(|t| t.count)
        .sum();
    assert!(per_backup > 0 && per_backup <= killed.count, "{killed:?}");
    for detail in &killed.targets {
        assert!(detail.message.contains(&detail.target.name), "{detail:?}");
    }
    // The object rule on pod volume backups renders each backup's detail from a PodVolumeBackup of that backup.
    for detail in &finding(&analysis, "SD352").targets {
        assert!(
            detail
                .message
                .contains(&format!("backup {}", detail.target.name)),
            "{detail:?}"
        );
    }
}

#[test]
fn failed_backups_on_a_missing_bucket_lead_with_the_bucket() {
    let analysis = scenario_analysis("failed-bsl");
    assert!(!analysis.verdicts.is_empty());
    for verdict in &analysis.verdicts {
        assert_eq!(verdict.phase, "Failed");
        assert_eq!(verdict.finding_ids[0], "SD101", "{verdict:?}");
        assert!(
            verdict.finding_ids.iter().any(|id| id == "SD801"),
            "the backup's own finding is still listed: {verdict:?}"
        );
        assert!(
            verdict.summary.contains("myapp-snapshots") && verdict.summary.contains("default"),
            "names the bucket and the location: {}",
            verdict.summary
        );
        assert!(
            verdict
                .fix
                .as_deref()
                .is_some_and(|f| f.contains("Create the bucket")),
            "{verdict:?}"
        );
        // The commands name what the bundle knows: the backup, its location's bucket; nothing left unfilled
        // that the bundle holds.
        let fix = verdict.fix.as_deref().unwrap();
        assert!(!fix.contains("<bucket>") && !fix.contains("<url>"), "{fix}");
        assert!(
            fix.contains("--bucket myapp-snapshots --endpoint https://minio.storage.acme.internal:9000 --region us-east-1"),
            "{fix}"
        );
        // What the bundle cannot know stays a placeholder.
        assert!(fix.contains("--access-key-id <id>"), "{fix}");
    }
    // The server's NoSuchBucket lines concern the location, through its `backupLocation` field and the captured
    // name in the BSL controller's message.
    let missing = finding(&analysis, "SD101");
    let location = missing
        .targets
        .iter()
        .find(|t| t.target.kind == "backupstoragelocations.velero.io")
        .expect("SD101 concerns the storage location");
    assert_eq!(location.target.name, "default");
    assert_eq!(location.target.namespace.as_deref(), Some("velero"));
    assert!(location.count > 0 && location.first_seen.is_some());
    // The location's own state (SD150) concerns it too.
    assert!(
        finding(&analysis, "SD150")
            .targets
            .iter()
            .any(|t| t.target.name == "default"),
    );
}

#[test]
fn the_wrong_restic_password_leads_over_its_consequence() {
    let analysis = scenario_analysis("old-velero-restic");
    assert!(!analysis.verdicts.is_empty());
    for verdict in &analysis.verdicts {
        assert_eq!(verdict.finding_ids[0], "SD304", "{verdict:?}");
        assert!(verdict.finding_ids.iter().any(|id| id == "SD302"));
    }
}

#[test]
fn lab_basics_verdicts_name_their_own_backups() {
    let analysis = scenario_analysis("lab-basics");
    assert!(!analysis.verdicts.is_empty());
    for verdict in &analysis.verdicts {
        assert!(
            verdict.summary.contains(&verdict.target.name),
            "{verdict:?}"
        );
    }
}

fn backup(name: &str, phase: &str, location: Option<&str>) -> BackupSummary {
    BackupSummary {
        kind: "backup".into(),
        name: name.into(),
        namespace: Some("velero".into()),
        phase: Some(phase.into()),
        storage_location: location.map(Into::into),
        ..BackupSummary::default()
    }
}

fn object(kind: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.into(),
        namespace: Some("velero".into()),
        name: name.into(),
    }
}

fn detail(target: ObjectRef, message: &str, count: u64) -> TargetDetail {
    TargetDetail {
        target,
        message: message.into(),
        count,
        first_seen: None,
        last_seen: None,
    }
}

fn finding_of(
    id: &str,
    severity: Severity,
    match_kind: &str,
    category: &str,
    targets: Vec<TargetDetail>,
) -> Finding {
    Finding {
        rule_id: id.into(),
        rule_name: format!("rule-{id}"),
        match_kind: match_kind.into(),
        severity,
        role: Default::default(),
        category: category.into(),
        title: format!("title {id}"),
        message: format!("first hit of {id}"),
        cause: String::new(),
        fix: format!("fix {id}"),
        docs: vec![],
        evidence: vec![],
        count: targets.iter().map(|t| t.count).sum::<u64>().max(1),
        first_seen: None,
        last_seen: None,
        related: targets
            .iter()
            .filter(|t| t.target.kind != "backupstoragelocations.velero.io")
            .map(|t| t.target.clone())
            .collect(),
        targets,
    }
}

#[test]
fn the_cause_chain_runs_from_the_backup_to_its_location_to_the_store() {
    let b1 = object("backups.velero.io", "b1");
    let b2 = object("backups.velero.io", "b2");
    let primary = object("backupstoragelocations.velero.io", "primary");
    let other = object("backupstoragelocations.velero.io", "other");
    let findings = vec![
        symptom(finding_of(
            "SD801",
            Severity::Fail,
            "object",
            "health",
            vec![
                detail(b1.clone(), "b1 failed", 1),
                detail(b2.clone(), "b2 failed", 1),
            ],
        )),
        finding_of(
            "SD101",
            Severity::Fail,
            "log",
            "bucket-endpoint",
            vec![detail(primary.clone(), "bucket of primary missing", 7)],
        ),
        symptom(finding_of(
            "SD106",
            Severity::Warn,
            "log",
            "storage-location",
            vec![detail(primary.clone(), "primary unavailable", 70)],
        )),
        symptom(finding_of(
            "SD150",
            Severity::Fail,
            "object",
            "storage-location",
            vec![detail(other.clone(), "other unavailable", 1)],
        )),
        // Names nothing: store-wide, for backups that failed outright.
        finding_of("SD203", Severity::Fail, "log", "credentials", vec![]),
        finding_of("SD550", Severity::Fail, "object", "resources", vec![]),
    ];
    let backups = vec![
        backup("b1", "Failed", Some("primary")),
        backup("b2", "Failed", Some("other")),
        backup("b3", "PartiallyFailed", Some("primary")),
        backup("b4", "Failed", None),
    ];
    let verdicts = snapdoc::analyze::verdicts(&findings, &backups);
    assert_eq!(verdicts.len(), 4);

    // b1: its location's log signature leads; its own object finding, the store-wide failure follow.
    assert_eq!(
        verdicts[0].finding_ids,
        ["SD101", "SD203", "SD801", "SD106"]
    );
    assert_eq!(verdicts[0].summary, "bucket of primary missing");
    assert_eq!(verdicts[0].fix.as_deref(), Some("fix SD101"));
    // b2 writes elsewhere: primary's findings are not its own; other's state is, after its own state.
    assert_eq!(verdicts[1].finding_ids, ["SD203", "SD801", "SD150"]);
    assert_eq!(verdicts[1].summary, "first hit of SD203");
    // b3 only partially failed: a store-wide failure is no cause of it, its location's findings are.
    assert_eq!(verdicts[2].finding_ids, ["SD101", "SD106"]);
    // b4 names no location: it writes to `default`, of which nothing is known; store-wide only.
    assert_eq!(verdicts[3].finding_ids, ["SD203"]);
}

#[test]
fn a_finding_without_details_still_concerns_the_backups_it_relates_to() {
    // An analysis.json written before per-target details: `related` only.
    let b1 = object("backups.velero.io", "b1");
    let mut old = finding_of("SD505", Severity::Fail, "log", "resources", vec![]);
    old.related = vec![b1];
    let verdicts = snapdoc::analyze::verdicts(&[old], &[backup("b1", "PartiallyFailed", None)]);
    assert_eq!(verdicts[0].finding_ids, ["SD505"]);
    assert_eq!(verdicts[0].summary, "first hit of SD505");
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// Two backups of one schedule, each with its own backup log; the server log names the storage location.
fn two_backup_bundle(path: &Path) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    let backups = list(vec![
        json!({"apiVersion": "velero.io/v1", "kind": "Backup",
               "metadata": {"name": "nightly-2", "namespace": "velero", "creationTimestamp": "2026-11-25T02:00:00Z"},
               "spec": {"storageLocation": "default"},
               "status": {"phase": "Failed", "failureReason": "get a backup store", "startTimestamp": "2026-11-25T02:00:01Z",
                          "completionTimestamp": "2026-11-25T02:00:02Z"}}),
        json!({"apiVersion": "velero.io/v1", "kind": "Backup",
               "metadata": {"name": "nightly-1", "namespace": "velero", "creationTimestamp": "2026-11-24T02:00:00Z"},
               "spec": {"storageLocation": "default"},
               "status": {"phase": "Failed", "failureReason": "get a backup store", "startTimestamp": "2026-11-24T02:00:01Z",
                          "completionTimestamp": "2026-11-24T02:00:02Z"}}),
    ]);
    let locations = list(vec![json!({
        "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
        "metadata": {"name": "default", "namespace": "velero"},
        "spec": {"provider": "aws", "objectStorage": {"bucket": "acme-dr", "prefix": "cluster-a"}, "default": true},
        "status": {"phase": "Available"}
    })]);
    writer
        .add_json(
            "cluster-resources/custom-resources/backups.velero.io/velero.json",
            &backups,
        )
        .unwrap();
    writer
        .add_json(
            "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
            &locations,
        )
        .unwrap();
    // Backup logs do not repeat `backup=` on every line: the file says whose it is.
    for (name, day) in [("nightly-1", "24"), ("nightly-2", "25")] {
        let log = format!(
            "time=\"2026-11-{day}T02:00:01Z\" level=info msg=\"Setting up backup log\" backup=velero/{name} logSource=\"pkg/controller/backup_controller.go:600\"\n\
             time=\"2026-11-{day}T02:00:02Z\" level=error msg=\"Error uploading log file\" error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" logSource=\"pkg/controller/backup_controller.go:700\"\n"
        );
        writer
            .add_stream(&format!("velero/backups/{name}/backup.log"), log.as_bytes())
            .unwrap();
    }
    let server = "time=\"2026-11-25T11:25:20Z\" level=error msg=\"Error listing backups in backup store\" backupLocation=velero/default controller=backup-sync error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" logSource=\"pkg/controller/backup_sync_controller.go:107\"\n\
                  time=\"2026-11-25T11:26:20Z\" level=error msg=\"Error listing backups in backup store\" backupLocation=velero/default controller=backup-sync error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" logSource=\"pkg/controller/backup_sync_controller.go:107\"\n";
    writer
        .add_stream("velero/logs/velero-6d4/velero.log", server.as_bytes())
        .unwrap();
    writer
        .finish(RunInfo {
            created: Some(CREATED.into()),
            ..RunInfo::default()
        })
        .unwrap();
}

#[test]
fn log_hits_are_detailed_per_backup_and_per_storage_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    two_backup_bundle(&path);
    let analysis = analyze_bundle(&path, &AnalysisOptions::default()).unwrap();
    let missing = finding(&analysis, "SD101");
    assert_eq!(missing.count, 4);
    let targets: Vec<(&str, &str, u64)> = missing
        .targets
        .iter()
        .map(|t| (t.target.kind.as_str(), t.target.name.as_str(), t.count))
        .collect();
    assert_eq!(
        targets,
        [
            ("backups.velero.io", "nightly-1", 1),
            ("backups.velero.io", "nightly-2", 1),
            ("backupstoragelocations.velero.io", "default", 2),
        ]
    );
    let location = &missing.targets[2];
    assert!(location.message.contains("acme-dr"), "{location:?}");
    assert_eq!(location.first_seen.as_deref(), Some("2026-11-25T11:25:20Z"));
    assert_eq!(location.last_seen.as_deref(), Some("2026-11-25T11:26:20Z"));
    let nightly_1 = &missing.targets[0];
    assert_eq!(
        nightly_1.first_seen.as_deref(),
        Some("2026-11-24T02:00:02Z")
    );
    // Each Failed backup's verdict leads with the missing bucket and is rendered from its own log.
    assert_eq!(analysis.verdicts.len(), 2);
    for verdict in &analysis.verdicts {
        assert_eq!(verdict.finding_ids[0], "SD101", "{verdict:?}");
    }
}

/// What the collector records under a role that may not list Backups, read Secrets or create DownloadRequests
/// (the lab's `forbidden` scenario), with nothing failed in what it could read.
fn forbidden_bundle(path: &Path) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    writer
        .add_json(
            "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
            &list(vec![json!({
                "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
                "metadata": {"name": "default", "namespace": "velero"},
                "spec": {"provider": "aws", "objectStorage": {"bucket": "acme-dr"}, "default": true},
                "status": {"phase": "Available", "lastValidationTime": "2026-11-25T11:59:00Z"}
            })]),
        )
        .unwrap();
    let refused = |source: &str, target: &str, message: &str| CollectorError {
        source: source.into(),
        target: Some(target.into()),
        namespace: Some("velero".into()),
        status: Some(403),
        message: message.into(),
    };
    writer.record_error(refused(
        "velero-objects",
        "backups.velero.io",
        "backups.velero.io is forbidden: User \"system:serviceaccount:default:snapdoc\" cannot list resource \"backups\" in API group \"velero.io\" in the namespace \"velero\"",
    ));
    writer.record_error(refused(
        "secrets",
        "secrets/cloud-credentials",
        "secrets \"cloud-credentials\" is forbidden: User \"system:serviceaccount:default:snapdoc\" cannot get resource \"secrets\" in API group \"\" in the namespace \"velero\"",
    ));
    writer.record_error(refused(
        "downloads",
        "BackupLog instance-l9m5s",
        "cannot create a DownloadRequest: downloadrequests.velero.io is forbidden",
    ));
    writer.record_error(CollectorError {
        status: None,
        ..refused(
            "downloads",
            "14 more backup/restore logs and results",
            "not tried: creating DownloadRequests is forbidden",
        )
    });
    writer
        .finish(RunInfo {
            created: Some(CREATED.into()),
            ..RunInfo::default()
        })
        .unwrap();
}

#[test]
fn a_forbidden_backups_list_makes_the_analysis_incomplete_not_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    forbidden_bundle(&path);
    let analysis = analyze_bundle(&path, &AnalysisOptions::default()).unwrap();
    assert!(analysis.verdicts.is_empty());
    let by_id = |id: &str| analysis.findings.iter().find(|f| f.rule_id == id);
    let refused = by_id("SD860").expect("SD860: Backups could not be listed");
    assert_eq!(refused.severity, Severity::Warn);
    assert!(
        refused.message.contains("backups.velero.io") && refused.message.contains("403"),
        "{}",
        refused.message
    );
    assert_eq!(by_id("SD863").map(|f| f.severity), Some(Severity::Info));
    let downloads = by_id("SD864").expect("SD864: DownloadRequests refused");
    assert_eq!((downloads.severity, downloads.count), (Severity::Info, 2));
    assert!(by_id("SD861").is_none() && by_id("SD862").is_none());
    assert!(
        analysis
            .findings
            .iter()
            .all(|f| f.severity != Severity::Fail)
    );

    let summary = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(!summary.contains("Healthy"), "{summary}");
    assert!(
        summary.starts_with(
            "▲ Incomplete: no failure found, but snapdoc could not see backups.velero.io"
        ),
        "{summary}"
    );
    let ticket = render(&analysis, ReportFormat::Markdown, None).unwrap();
    assert!(
        ticket.contains(
            "▲ Verdict: Incomplete: no failure found, but snapdoc could not see backups.velero.io"
        ),
        "{ticket}"
    );
    assert!(!ticket.contains("Verdict: Healthy"), "{ticket}");
    let page = render(&analysis, ReportFormat::Html, None).unwrap();
    assert!(page.contains("class=\"block verdict status-incomplete\""));
}

fn timed(mut detail: TargetDetail, first: &str, last: &str) -> TargetDetail {
    detail.first_seen = Some(first.into());
    detail.last_seen = Some(last.into());
    detail
}

fn ran(mut summary: BackupSummary, started: &str, completed: &str) -> BackupSummary {
    summary.started = Some(started.into());
    summary.completed = Some(completed.into());
    summary
}

/// SD101 on location `default`, seen from `first` until just before the bundle was made.
fn bucket_gone_since(first: &str) -> Finding {
    finding_of(
        "SD101",
        Severity::Fail,
        "log",
        "bucket-endpoint",
        vec![timed(
            detail(object(LOCATION, "default"), "bucket gone", 9),
            first,
            "2026-11-25T11:59:00Z",
        )],
    )
}

/// SD352 as the engine makes it: a generic state of backup b1.
fn pod_volume_backup_of_b1_failed(count: u64) -> Finding {
    symptom(finding_of(
        "SD352",
        Severity::Fail,
        "object",
        "pod-volume",
        vec![detail(
            object(BACKUP, "b1"),
            "b1: its pod volume failed",
            count,
        )],
    ))
}

fn symptom(mut finding: Finding) -> Finding {
    finding.role = snapdoc::analyze::Role::Symptom;
    finding
}

const BACKUP: &str = "backups.velero.io";
const LOCATION: &str = "backupstoragelocations.velero.io";

#[test]
fn location_evidence_counts_only_inside_the_backups_window() {
    let now: jiff::Timestamp = CREATED.parse().unwrap();
    let b1 = ran(
        backup("b1", "PartiallyFailed", Some("default")),
        "2026-11-23T02:00:00Z",
        "2026-11-23T02:20:00Z",
    );
    let pvb_failed = pod_volume_backup_of_b1_failed(1);
    // The bucket went a day after b1 finished: it never explains b1.
    let bucket_later = bucket_gone_since("2026-11-24T15:00:00Z");
    // A location that is Unavailable now (an object's state, no time of its own) is the state at the bundle's time.
    let unavailable_now = symptom(finding_of(
        "SD150",
        Severity::Fail,
        "object",
        "storage-location",
        vec![detail(
            object(LOCATION, "default"),
            "location unavailable",
            1,
        )],
    ));
    let findings = [
        bucket_later.clone(),
        unavailable_now.clone(),
        pvb_failed.clone(),
    ];
    let verdict =
        &snapdoc::analyze::verdicts_at(&findings, std::slice::from_ref(&b1), Some(now))[0];
    assert_eq!(verdict.finding_ids, ["SD352"], "{verdict:?}");
    assert_eq!(verdict.summary, "b1: its pod volume failed");

    // The same bucket error within 15 minutes of the backup's end does explain it, and leads over the state.
    let bucket_during = bucket_gone_since("2026-11-23T02:30:00Z");
    let verdict = &snapdoc::analyze::verdicts_at(
        &[pvb_failed.clone(), bucket_during],
        std::slice::from_ref(&b1),
        Some(now),
    )[0];
    assert_eq!(verdict.finding_ids, ["SD101", "SD352"], "{verdict:?}");
    assert_eq!(verdict.summary, "bucket gone");

    // A backup still running at the bundle's time sees the location's state now.
    let mut running = backup("b2", "Failed", Some("default"));
    running.started = Some("2026-11-25T11:50:00Z".into());
    let verdict = &snapdoc::analyze::verdicts_at(&[unavailable_now], &[running], Some(now))[0];
    assert_eq!(verdict.finding_ids, ["SD150"], "{verdict:?}");
}

#[test]
fn a_linked_specific_cause_leads_over_generic_states_whatever_the_severity() {
    let b1 = backup("b1", "PartiallyFailed", None);
    let unreadable_files = finding_of(
        "SD309",
        Severity::Warn,
        "log",
        "pod-volume",
        vec![detail(
            object(BACKUP, "b1"),
            "restic could not read files",
            1,
        )],
    );
    let partially_failed = symptom(finding_of(
        "SD802",
        Severity::Fail,
        "object",
        "health",
        vec![detail(object(BACKUP, "b1"), "b1 partially failed", 1)],
    ));
    let pvb_failed = pod_volume_backup_of_b1_failed(3);
    let verdict =
        &snapdoc::analyze::verdicts(&[partially_failed, pvb_failed, unreadable_files], &[b1])[0];
    assert_eq!(verdict.finding_ids, ["SD309", "SD352", "SD802"]);
    assert_eq!(verdict.summary, "restic could not read files");
}

/// The real-layout troubleshoot / KOTS bundles (tests/fixtures/real-bundles/README.md): `instance-7fq2x` failed
/// because the bucket is gone; `instance-q8rbx` partially failed because of its pod volume (the PVB's own
/// reason), not because of the bucket deleted after it finished.
#[test]
fn real_layout_bundles_get_the_verdicts_their_readme_states() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-bundles");
    for name in [
        "ts-v0.50.0-kots-restic.tar.gz",
        "ts-v0.107.2-velero-logs.tar.gz",
        "ts-v0.133.0-json-only.tar.gz",
        "kots-v1.121.0-admin-console.tar.gz",
        "kots-v1.121.0-kurl.tar.gz",
    ] {
        let analysis = analyze_bundle(&dir.join(name), &AnalysisOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let verdict = |backup: &str| {
            analysis
                .verdicts
                .iter()
                .find(|v| v.target.name == backup)
                .unwrap_or_else(|| {
                    panic!("{name}: no verdict for {backup}: {:?}", analysis.verdicts)
                })
        };
        let failed = verdict("instance-7fq2x");
        assert_eq!(failed.finding_ids[0], "SD101", "{name}: {failed:?}");
        assert!(
            failed.summary.contains("NoSuchBucket"),
            "{name}: {failed:?}"
        );
        // The PVB's message is read by the signatures: restic's unreadable files (SD309), Kopia's missing host
        // path (SD305) lead over the generic "a pod volume backup failed" (SD352), which follows.
        let partial = verdict("instance-q8rbx");
        assert!(
            ["SD309", "SD305"].contains(&partial.finding_ids[0].as_str()),
            "{name}: {partial:?}"
        );
        assert!(
            partial.finding_ids.iter().any(|id| id == "SD352"),
            "{name}: {partial:?}"
        );
        assert!(
            !partial
                .finding_ids
                .iter()
                .any(|id| id == "SD101" || id == "SD150"),
            "{name}: the bucket deleted after instance-q8rbx finished is blamed for it: {partial:?}"
        );
        // What each lost: the Failed backup every namespace it held; the partial one its PVB's volume.
        assert!(!failed.lost.namespaces.is_empty(), "{name}: {failed:?}");
        let volumes: Vec<(Option<&str>, Option<&str>)> = partial
            .lost
            .volumes
            .iter()
            .map(|v| (v.pod.as_deref(), v.volume.as_deref()))
            .collect();
        assert_eq!(volumes, [(Some("postgres-0"), Some("data"))], "{name}");
        assert!(partial.lost.namespaces.is_empty(), "{name}: {partial:?}");
    }
}

fn pod(namespace: &str, name: &str, node: &str, containers: Value, statuses: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"nodeName": node, "containers": containers},
           "status": {"phase": "Running", "containerStatuses": statuses}})
}

/// A velero or node-agent container that restarted `restarts` times, the last run ending `reason` at `at`.
fn component_pod(
    name: &str,
    container: &str,
    node: &str,
    restarts: u64,
    last: Option<(&str, &str)>,
) -> Value {
    let last_state = match last {
        Some((reason, at)) => {
            let exit_code = if reason == "OOMKilled" { 137 } else { 1 };
            json!({"terminated": {"reason": reason, "exitCode": exit_code, "finishedAt": at}})
        }
        None => json!({}),
    };
    pod(
        "velero",
        name,
        node,
        json!([{"name": container, "image": "velero/velero:v1.12.3",
                "args": ["server", "--uploader-type=kopia"],
                "resources": {"limits": {"memory": "512Mi"}}}]),
        json!([{"name": container, "ready": true, "restartCount": restarts,
                "state": {"running": {"startedAt": "2026-11-24T02:21:00Z"}}, "lastState": last_state}]),
    )
}

/// The same container, crash-looping at the bundle's time.
fn crash_looping(mut pod: Value) -> Value {
    let status = &mut pod["status"]["containerStatuses"][0];
    status["ready"] = json!(false);
    status["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
    pod
}

/// An application pod whose volume `volume` (claim `claim`) is backed up with file-system backup.
fn app_pod(namespace: &str, name: &str, node: &str, volume: &str, claim: &str) -> Value {
    let mut pod = pod(
        namespace,
        name,
        node,
        json!([{"name": "app", "image": "busybox", "volumeMounts": [{"name": volume, "mountPath": "/data"}]}]),
        json!([{"name": "app", "ready": true, "restartCount": 0}]),
    );
    pod["metadata"]["annotations"] = json!({"backup.velero.io/backup-volumes": volume});
    pod["spec"]["volumes"] =
        json!([{"name": volume, "persistentVolumeClaim": {"claimName": claim}}]);
    pod
}

fn velero_backup(name: &str, namespaces: &[&str], status: Value, created: &str) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Backup",
           "metadata": {"name": name, "namespace": "velero", "creationTimestamp": created},
           "spec": {"storageLocation": "default", "includedNamespaces": namespaces},
           "status": status})
}

fn finished(phase: &str, started: &str, completed: &str) -> Value {
    json!({"phase": phase, "startTimestamp": started, "completionTimestamp": completed})
}

fn pod_volume_backup(
    name: &str,
    backup: &str,
    pod: (&str, &str),
    volume: &str,
    node: &str,
    phase: &str,
    message: Option<&str>,
) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
           "metadata": {"name": name, "namespace": "velero",
                        "labels": {"velero.io/backup-name": backup}},
           "spec": {"node": node, "pod": {"kind": "Pod", "namespace": pod.0, "name": pod.1}, "volume": volume,
                    "backupStorageLocation": "default", "uploaderType": "kopia",
                    "repoIdentifier": format!("s3:s3.amazonaws.com/acme-dr/kopia/{}", pod.0)},
           "status": {"phase": phase, "message": message}})
}

/// One cluster, many backups, each failed for a reason that only the objects around it tell:
/// - node-agent-b (node-b) was OOM-killed at 2026-11-24T02:20 while b-oom's volume on node-b was being backed
///   up; b-before's volume failed on the same node four days earlier;
/// - node-c, where b-node's volume lives, has no node-agent pod;
/// - shop's repository on location default is NotReady, and only b-repo backs up shop; node-agent-a (node-a)
///   crashed once at 2026-11-22T02:10, while b-repo's volume on node-a was being backed up;
/// - velero itself was OOM-killed at 2026-11-21T02:04, during b-restart, and is crash-looping now;
/// - b-stuck has been InProgress since 2026-11-24T20:00, b-new New since 10:00, b-fresh started 11:30;
/// - b-nolog failed and its log could not be downloaded.
fn linked_bundle(path: &Path) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    let add = |writer: &mut BundleWriter, resource: &str, namespace: &str, items: Vec<Value>| {
        writer
            .add_json(
                &snapdoc::bundle::objects_path(resource, Some(namespace)),
                &list(items),
            )
            .unwrap();
    };
    add(
        &mut writer,
        "pods",
        "velero",
        vec![
            crash_looping(component_pod(
                "velero-7d9f",
                "velero",
                "node-a",
                4,
                Some(("OOMKilled", "2026-11-21T02:04:00Z")),
            )),
            component_pod(
                "node-agent-a",
                "node-agent",
                "node-a",
                1,
                Some(("Error", "2026-11-22T02:10:00Z")),
            ),
            component_pod(
                "node-agent-b",
                "node-agent",
                "node-b",
                5,
                Some(("OOMKilled", "2026-11-24T02:20:00Z")),
            ),
        ],
    );
    add(
        &mut writer,
        "pods",
        "app",
        vec![
            app_pod("app", "db-0", "node-b", "data", "data-db-0"),
            app_pod("app", "web-0", "node-c", "www", "www-web-0"),
        ],
    );
    add(
        &mut writer,
        "pods",
        "shop",
        vec![app_pod("shop", "cart-0", "node-a", "data", "cart-data")],
    );
    let failed_with_errors = |started: &str, completed: &str| {
        let mut status = finished("PartiallyFailed", started, completed);
        status["errors"] = json!(1);
        status
    };
    add(
        &mut writer,
        "backups.velero.io",
        "velero",
        vec![
            {
                let mut waiting = velero_backup(
                    "b-ops-short",
                    &["app"],
                    json!({"phase": "WaitingForPluginOperations", "startTimestamp": "2026-11-25T05:00:00Z"}),
                    "2026-11-25T05:00:00Z",
                );
                waiting["spec"]["itemOperationTimeout"] = json!("1h0m0s");
                waiting
            },
            velero_backup(
                "b-ops-default",
                &["app"],
                json!({"phase": "WaitingForPluginOperations", "startTimestamp": "2026-11-25T05:00:00Z"}),
                "2026-11-25T05:00:00Z",
            ),
            velero_backup(
                "b-queued",
                &["app"],
                json!({"phase": "Queued"}),
                "2026-11-25T11:00:00Z",
            ),
            velero_backup(
                "b-fresh",
                &["app"],
                json!({"phase": "InProgress", "startTimestamp": "2026-11-25T11:30:00Z"}),
                "2026-11-25T11:30:00Z",
            ),
            velero_backup("b-new", &["app"], json!({}), "2026-11-25T10:00:00Z"),
            velero_backup(
                "b-stuck",
                &["app"],
                json!({"phase": "InProgress", "startTimestamp": "2026-11-24T20:00:00Z"}),
                "2026-11-24T20:00:00Z",
            ),
            velero_backup(
                "b-oom",
                &["app"],
                failed_with_errors("2026-11-24T02:00:00Z", "2026-11-24T02:40:00Z"),
                "2026-11-24T02:00:00Z",
            ),
            velero_backup(
                "b-node",
                &["app"],
                failed_with_errors("2026-11-23T02:00:00Z", "2026-11-23T02:30:00Z"),
                "2026-11-23T02:00:00Z",
            ),
            velero_backup(
                "b-repo",
                &["shop"],
                failed_with_errors("2026-11-22T02:00:00Z", "2026-11-22T02:30:00Z"),
                "2026-11-22T02:00:00Z",
            ),
            velero_backup(
                "b-restart",
                &["app", "shop"],
                {
                    let mut status =
                        finished("Failed", "2026-11-21T02:00:00Z", "2026-11-21T02:05:00Z");
                    status["failureReason"] = json!(
                        "found a backup with status \"InProgress\" during the server starting, mark it as \"Failed\""
                    );
                    status
                },
                "2026-11-21T02:00:00Z",
            ),
            velero_backup(
                "b-before",
                &["app"],
                failed_with_errors("2026-11-20T02:00:00Z", "2026-11-20T02:30:00Z"),
                "2026-11-20T02:00:00Z",
            ),
            velero_backup(
                "b-nolog",
                &[],
                finished("Failed", "2026-11-19T02:00:00Z", "2026-11-19T02:01:00Z"),
                "2026-11-19T02:00:00Z",
            ),
        ],
    );
    add(
        &mut writer,
        "restores.velero.io",
        "velero",
        vec![json!({"apiVersion": "velero.io/v1", "kind": "Restore",
                    "metadata": {"name": "r-app", "namespace": "velero", "creationTimestamp": "2026-11-21T02:01:00Z"},
                    "spec": {"backupName": "b-before", "includedNamespaces": ["app"]},
                    "status": finished("Failed", "2026-11-21T02:01:00Z", "2026-11-21T02:04:30Z")})],
    );
    let eof = Some("data path backup failed: uploader exited unexpectedly");
    add(
        &mut writer,
        "podvolumebackups.velero.io",
        "velero",
        vec![
            pod_volume_backup(
                "b-oom-db",
                "b-oom",
                ("app", "db-0"),
                "data",
                "node-b",
                "Failed",
                eof,
            ),
            // Still InProgress when b-oom ended PartiallyFailed: the backup stopped waiting for it.
            pod_volume_backup(
                "b-oom-logs",
                "b-oom",
                ("app", "db-0"),
                "logs",
                "node-b",
                "InProgress",
                None,
            ),
            pod_volume_backup(
                "b-node-www",
                "b-node",
                ("app", "web-0"),
                "www",
                "node-c",
                "Failed",
                None,
            ),
            pod_volume_backup(
                "b-repo-cart",
                "b-repo",
                ("shop", "cart-0"),
                "data",
                "node-a",
                "Failed",
                None,
            ),
            pod_volume_backup(
                "b-restart-db",
                "b-restart",
                ("app", "db-0"),
                "data",
                "node-b",
                "Completed",
                None,
            ),
            pod_volume_backup(
                "b-before-db",
                "b-before",
                ("app", "db-0"),
                "data",
                "node-b",
                "Failed",
                eof,
            ),
            pod_volume_backup(
                "b-stuck-db",
                "b-stuck",
                ("app", "db-0"),
                "data",
                "node-b",
                "InProgress",
                None,
            ),
        ],
    );
    // r-app could not restore db-0's volume (a PVR names no node: db-0 runs on node-b).
    add(
        &mut writer,
        "podvolumerestores.velero.io",
        "velero",
        vec![
            json!({"apiVersion": "velero.io/v1", "kind": "PodVolumeRestore",
                    "metadata": {"name": "r-app-db", "namespace": "velero",
                                 "labels": {"velero.io/restore-name": "r-app"}},
                    "spec": {"pod": {"kind": "Pod", "namespace": "app", "name": "db-0"}, "volume": "data",
                             "backupStorageLocation": "default", "uploaderType": "kopia", "snapshotID": "k3e9"},
                    "status": {"phase": "Failed", "message": "error restoring volume: unable to open snapshot"}}),
        ],
    );
    // b-stuck moves a CSI snapshot's data too (Velero 1.12+ data mover), still running on node-a.
    add(
        &mut writer,
        "datauploads.velero.io",
        "velero",
        vec![
            json!({"apiVersion": "velero.io/v2alpha1", "kind": "DataUpload",
                    "metadata": {"name": "b-stuck-logs", "namespace": "velero",
                                 "labels": {"velero.io/backup-name": "b-stuck"}},
                    "spec": {"backupStorageLocation": "default", "snapshotType": "CSI", "sourceNamespace": "app",
                             "sourcePVC": "logs-web-0", "operationTimeout": "10m0s"},
                    "status": {"phase": "InProgress", "node": "node-a"}}),
        ],
    );
    let repository = |name: &str, namespace: &str, phase: &str, message: Option<&str>| {
        json!({"apiVersion": "velero.io/v1", "kind": "BackupRepository",
               "metadata": {"name": name, "namespace": "velero"},
               "spec": {"volumeNamespace": namespace, "backupStorageLocation": "default", "repositoryType": "kopia"},
               "status": {"phase": phase, "message": message}})
    };
    add(
        &mut writer,
        "backuprepositories.velero.io",
        "velero",
        vec![
            repository("app-default-kopia-k2x9p", "app", "Ready", None),
            repository(
                "shop-default-kopia-q7w4n",
                "shop",
                "NotReady",
                Some("failed to connect repository: context deadline exceeded"),
            ),
        ],
    );
    add(
        &mut writer,
        "backupstoragelocations.velero.io",
        "velero",
        vec![
            json!({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
                    "metadata": {"name": "default", "namespace": "velero"},
                    "spec": {"provider": "aws", "objectStorage": {"bucket": "acme-dr"}, "default": true},
                    "status": {"phase": "Available", "lastValidationTime": "2026-11-25T11:59:00Z"}}),
        ],
    );
    // Velero files item errors by the item's namespace (cluster-scoped items under `cluster`), its own under
    // `velero`.
    writer
        .add_json(
            &snapdoc::bundle::backup_results_path("b-repo"),
            &json!({"errors": {
                "velero": ["name: /cart-0 error: /pod volume backup failed: repository not ready"],
                "cluster": ["error backing up item persistentvolumes/pvc-1f2e: timed out"],
                "namespaces": {"shop": ["error backing up item secrets/cart-tls: forbidden"]}
            }, "warnings": {}}),
        )
        .unwrap();
    // Velero's own record of b-oom's volumes (Velero 1.13+, BackupVolumeInfo): the failed volume the PVB
    // already tells, a native snapshot that failed and a volume skipped on its pod's opt-out annotation
    // (pkg/backup/item_backupper.go at d30d389b: "opted out due to annotation in pod %s"). Composed.
    writer
        .add_json(
            "velero/backups/b-oom/volumeinfo.json",
            &json!([
                {"pvcName": "data-db-0", "pvcNamespace": "app", "pvName": "pvc-a1", "backupMethod": "PodVolumeBackup",
                 "snapshotDataMoved": false, "preserveLocalSnapshot": false, "skipped": false, "result": "failed",
                 "pvbInfo": {"uploaderType": "kopia", "volumeName": "data", "podName": "db-0", "podNamespace": "app",
                             "nodeName": "node-b", "Phase": "Failed"}},
                {"pvcName": "wal-db-0", "pvcNamespace": "app", "pvName": "pvc-a2", "backupMethod": "NativeSnapshot",
                 "snapshotDataMoved": false, "preserveLocalSnapshot": false, "skipped": false, "result": "failed",
                 "nativeSnapshotInfo": {"snapshotHandle": "", "volumeType": "gp3", "volumeAZ": "us-east-1a", "iops": "", "Phase": "Failed"}},
                {"pvcName": "cache-web-0", "pvcNamespace": "app", "pvName": "pvc-a3", "snapshotDataMoved": false,
                 "preserveLocalSnapshot": false, "skipped": true,
                 "skippedReason": "podvolume: opted out due to annotation in pod web-0;"},
                {"pvcName": "media", "pvcNamespace": "app", "pvName": "pvc-a4", "backupMethod": "PodVolumeBackup",
                 "snapshotDataMoved": false, "preserveLocalSnapshot": false, "skipped": false, "result": "succeeded",
                 "pvbInfo": {"uploaderType": "kopia", "volumeName": "media", "podName": "web-0", "podNamespace": "app",
                             "nodeName": "node-a", "Phase": "Completed"}}
            ]),
        )
        .unwrap();
    writer.record_error(CollectorError {
        source: "downloads".into(),
        target: Some("BackupLog b-nolog".into()),
        namespace: Some("velero".into()),
        status: None,
        message: "the DownloadRequest was not processed within 30s".into(),
    });
    writer
        .finish(RunInfo {
            created: Some(CREATED.into()),
            ..RunInfo::default()
        })
        .unwrap();
}

fn linked_analysis() -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    linked_bundle(&path);
    analyze_bundle(&path, &AnalysisOptions::default()).unwrap()
}

fn verdict_of<'a>(analysis: &'a Analysis, name: &str) -> &'a snapdoc::analyze::Verdict {
    analysis
        .verdicts
        .iter()
        .find(|v| v.target.name == name)
        .unwrap_or_else(|| panic!("no verdict for {name}: {:#?}", analysis.verdicts))
}

#[test]
fn node_and_repository_links_join_the_backups_whose_volumes_they_name() {
    let analysis = linked_analysis();
    // node-c runs b-node's volume and no node-agent pod: SD832 names the node only, and leads b-node's verdict
    // over the generic "a pod volume backup failed".
    let on_node_c = verdict_of(&analysis, "b-node");
    assert_eq!(on_node_c.finding_ids[0], "SD832", "{on_node_c:?}");
    assert!(on_node_c.finding_ids.iter().any(|id| id == "SD352"));
    assert!(on_node_c.summary.contains("node-c"), "{on_node_c:?}");
    for elsewhere in ["b-oom", "b-before", "b-repo", "b-restart"] {
        let verdict = verdict_of(&analysis, elsewhere);
        assert!(
            !verdict.finding_ids.iter().any(|id| id == "SD832"),
            "{elsewhere} ran no volume on node-c: {verdict:?}"
        );
    }
    // shop's repository on location default is NotReady; only b-repo backed up shop's volumes (app's is Ready).
    let shop = verdict_of(&analysis, "b-repo");
    assert!(shop.finding_ids.iter().any(|id| id == "SD350"), "{shop:?}");
    for app_only in ["b-oom", "b-node", "b-before"] {
        let verdict = verdict_of(&analysis, app_only);
        assert!(
            !verdict.finding_ids.iter().any(|id| id == "SD350"),
            "{app_only} wrote no volume to shop's repository: {verdict:?}"
        );
    }
}

#[test]
fn component_facts_join_the_backups_running_when_they_broke() {
    let analysis = linked_analysis();
    // node-agent-b was OOM-killed at 02:20 on node-b, while b-oom's volume there was backed up: the kill is the
    // cause, told by that pod's own detail, not velero's (the finding's first hit).
    let killed = verdict_of(&analysis, "b-oom");
    assert_eq!(killed.finding_ids[0], "SD550", "{killed:?}");
    assert!(
        killed.summary.contains("node-agent-b") && !killed.summary.contains("velero-7d9f"),
        "{killed:?}"
    );
    assert!(killed.finding_ids.iter().any(|id| id == "SD812"));
    assert!(killed.finding_ids.iter().any(|id| id == "SD352"));
    // Same node, four days before the kill: the kill never explains it.
    let before = verdict_of(&analysis, "b-before");
    assert_eq!(before.finding_ids, ["SD352", "SD802"], "{before:?}");
    // velero was OOM-killed during b-restart: it joins b-restart's own account of the restart.
    let restarted = verdict_of(&analysis, "b-restart");
    assert_eq!(restarted.finding_ids[0], "SD814", "{restarted:?}");
    assert!(
        restarted.finding_ids.iter().any(|id| id == "SD550"),
        "{restarted:?}"
    );
    // A restore running when velero was killed is joined too.
    let restore = verdict_of(&analysis, "r-app");
    assert!(
        restore.finding_ids.iter().any(|id| id == "SD550"),
        "{restore:?}"
    );
    // One crash of node-agent-a, during b-repo on its node: the crash explains b-repo, with that pod's message.
    let crashed = verdict_of(&analysis, "b-repo");
    assert_eq!(crashed.finding_ids[0], "SD818", "{crashed:?}");
    assert!(
        crashed.summary.contains("node-agent-a")
            && crashed.summary.contains("2026-11-22T02:10:00Z"),
        "{crashed:?}"
    );
    // node-agent-a's low memory limit (SD551) is a risk its configuration carries, not an event of b-repo's window.
    assert!(
        !crashed.finding_ids.iter().any(|id| id == "SD551"),
        "{crashed:?}"
    );
    for other in ["b-oom", "b-node", "b-before", "b-restart"] {
        let verdict = verdict_of(&analysis, other);
        assert!(
            !verdict.finding_ids.iter().any(|id| id == "SD818"),
            "{other}: {verdict:?}"
        );
    }
    // node-agent-b does not run b-node's volume (node-c), and velero's kill is outside its window.
    let on_node_c = verdict_of(&analysis, "b-node");
    assert!(
        !on_node_c
            .finding_ids
            .iter()
            .any(|id| id == "SD550" || id == "SD812"),
        "{on_node_c:?}"
    );
}

#[test]
fn stuck_backups_get_a_verdict_once_past_their_phase_timeout() {
    let analysis = linked_analysis();
    // InProgress 16 hours, past the 4h file-system backup timeout; velero crash-looping now is why.
    let stuck = verdict_of(&analysis, "b-stuck");
    assert_eq!(stuck.phase, "InProgress");
    assert!(
        stuck.summary.contains("InProgress for 16 hours") && stuck.summary.contains("4 hours"),
        "{stuck:?}"
    );
    assert_eq!(stuck.finding_ids[0], "SD810", "{stuck:?}");
    assert!(stuck.summary.contains("velero-7d9f"), "{stuck:?}");
    // New for two hours: the crash-looping server is the cause, the generic "stuck in New" follows; velero's
    // OOM-kill days before it was created is not what joins it (its state now is).
    let new = verdict_of(&analysis, "b-new");
    assert_eq!(new.phase, "New");
    assert_eq!(new.finding_ids[0], "SD810", "{new:?}");
    assert!(new.finding_ids.iter().any(|id| id == "SD804"), "{new:?}");
    assert!(!new.finding_ids.iter().any(|id| id == "SD550"), "{new:?}");
    // Waiting for plugin operations 7 hours: past 4h + a 1h itemOperationTimeout, within 4h + the default 4h.
    let waiting = verdict_of(&analysis, "b-ops-short");
    assert_eq!(waiting.phase, "WaitingForPluginOperations");
    assert!(waiting.summary.contains("5 hours"), "{waiting:?}");
    let names: Vec<&str> = analysis
        .verdicts
        .iter()
        .map(|v| v.target.name.as_str())
        .collect();
    for within_time in ["b-ops-default", "b-queued", "b-fresh"] {
        assert!(!names.contains(&within_time), "{within_time}: {names:?}");
    }
}

#[test]
fn verdicts_say_what_was_lost_and_what_is_missing() {
    let analysis = linked_analysis();
    let killed = verdict_of(&analysis, "b-oom");
    assert!(
        killed.lost.namespaces.is_empty(),
        "a partial backup restores what it holds: {killed:?}"
    );
    assert_eq!(
        killed.lost.volumes,
        [
            snapdoc::analyze::LostVolume {
                namespace: Some("app".into()),
                pod: Some("db-0".into()),
                volume: Some("data".into()),
                claim: Some("data-db-0".into()),
                node: Some("node-b".into()),
                method: "fs-backup".into(),
                phase: Some("Failed".into()),
                reason: Some("data path backup failed: uploader exited unexpectedly".into()),
            },
            snapdoc::analyze::LostVolume {
                namespace: Some("app".into()),
                pod: Some("db-0".into()),
                volume: Some("logs".into()),
                claim: None,
                node: Some("node-b".into()),
                method: "fs-backup".into(),
                phase: Some("InProgress".into()),
                reason: None,
            },
            // From Velero's volume info: what no volume operation tells (the failed PVB is not repeated, the
            // succeeded volume is not lost).
            snapdoc::analyze::LostVolume {
                namespace: Some("app".into()),
                pod: None,
                volume: None,
                claim: Some("wal-db-0".into()),
                node: None,
                method: "native-snapshot".into(),
                phase: Some("Failed".into()),
                reason: Some("Velero's volume info records it as failed".into()),
            },
            snapdoc::analyze::LostVolume {
                namespace: Some("app".into()),
                pod: None,
                volume: None,
                claim: Some("cache-web-0".into()),
                node: None,
                method: "none".into(),
                phase: Some("Skipped".into()),
                reason: Some(
                    "Velero skipped it: podvolume: opted out due to annotation in pod web-0".into()
                ),
            },
        ]
    );
    assert!(killed.missing.is_empty(), "its cause is known: {killed:?}");
    // The items its results hold errors for; the server's own errors (its pod volume) are told by the volumes.
    let shop = verdict_of(&analysis, "b-repo");
    assert_eq!(
        shop.lost.items,
        [
            "cluster: error backing up item persistentvolumes/pvc-1f2e: timed out",
            "shop: error backing up item secrets/cart-tls: forbidden"
        ]
    );
    assert_eq!(shop.lost.item_count, 2);
    assert_eq!(shop.lost.volumes.len(), 1);
    // A Failed backup cannot be restored: every namespace it was to hold is lost; its volume completed.
    let restarted = verdict_of(&analysis, "b-restart");
    assert_eq!(restarted.lost.namespaces, ["app", "shop"]);
    assert!(restarted.lost.volumes.is_empty(), "{restarted:?}");
    let stuck = verdict_of(&analysis, "b-stuck");
    assert_eq!(stuck.lost.namespaces, ["app"]);
    let unfinished: Vec<String> = stuck
        .lost
        .volumes
        .iter()
        .map(|v| {
            let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "-".into());
            format!(
                "{} pod {} claim {} node {}",
                v.method,
                part(&v.pod),
                part(&v.claim),
                part(&v.node)
            )
        })
        .collect();
    assert_eq!(
        unfinished,
        [
            "fs-backup pod db-0 claim data-db-0 node node-b",
            "data-mover pod - claim logs-web-0 node node-a",
        ]
    );
    // Nothing says why b-nolog failed; what would is its log, and the collector says why it has none.
    let unexplained = verdict_of(&analysis, "b-nolog");
    assert_eq!(unexplained.lost.namespaces, ["*"]);
    assert_eq!(unexplained.missing.len(), 1, "{unexplained:?}");
    assert!(
        unexplained.missing[0].contains("could not download")
            && unexplained.missing[0].contains("not processed within 30s"),
        "{unexplained:?}"
    );

    // Every report says it under the verdict.
    let volume_line = "volume data of pod app/db-0 (claim data-db-0, node node-b, file-system backup): data path backup failed";
    let terminal = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(
        terminal.contains(&format!("Lost: {volume_line}")),
        "{terminal}"
    );
    assert!(
        terminal.contains("Missing: its backup log: the collector could not download it"),
        "{terminal}"
    );
    let markdown = render(&analysis, ReportFormat::Markdown, None).unwrap();
    assert!(
        markdown.contains(&format!("  - {volume_line}")),
        "{markdown}"
    );
    assert!(
        markdown.contains("**To know why, snapdoc would need:**")
            && markdown.contains("every namespace it was to hold"),
        "{markdown}"
    );
    let restore = verdict_of(&analysis, "r-app");
    assert_eq!(restore.lost.namespaces, ["app"]);
    let not_restored: Vec<(Option<&str>, Option<&str>, Option<&str>)> = restore
        .lost
        .volumes
        .iter()
        .map(|v| (v.pod.as_deref(), v.claim.as_deref(), v.node.as_deref()))
        .collect();
    assert_eq!(
        not_restored,
        [(Some("db-0"), Some("data-db-0"), Some("node-b"))]
    );
    assert!(
        markdown.contains("  - namespace app: not restored, or only in part"),
        "{markdown}"
    );
    let page = render(&analysis, ReportFormat::Html, None).unwrap();
    assert!(
        page.contains("<span class=\"label\">Lost</span>") && page.contains(volume_line),
        "the HTML verdict lists what was lost"
    );
    assert!(page.contains("<span class=\"label\">To know why</span>"));

    let json: Value =
        serde_json::from_str(&render(&analysis, ReportFormat::Json, None).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn without_the_bundle_s_objects_velero_s_default_timeouts_tell_stuck_backups() {
    let now: jiff::Timestamp = CREATED.parse().unwrap();
    let running = |name: &str, started: &str| {
        let mut summary = backup(name, "InProgress", None);
        summary.started = Some(started.into());
        summary
    };
    let mut restore = running("restore-six-hours", "2026-11-25T06:00:00Z");
    restore.kind = "restore".into();
    let backups = [
        running("three-hours", "2026-11-25T09:00:00Z"),
        running("five-hours", "2026-11-25T07:00:00Z"),
        restore,
    ];
    let verdicts = snapdoc::analyze::verdicts_at(&[], &backups, Some(now));
    let names: Vec<&str> = verdicts.iter().map(|v| v.target.name.as_str()).collect();
    assert_eq!(
        names,
        ["five-hours", "restore-six-hours"],
        "past the default 4h --fs-backup-timeout only"
    );
    assert!(
        verdicts[0].summary.contains("InProgress for 5 hours"),
        "{:?}",
        verdicts[0]
    );
    assert_eq!(verdicts[1].target.kind, "restores.velero.io");
    assert!(
        verdicts[1]
            .summary
            .starts_with("Restore restore-six-hours has been InProgress for 6 hours"),
        "{:?}",
        verdicts[1]
    );
    // Without the bundle's time nothing can be called stuck.
    assert!(snapdoc::analyze::verdicts(&[], &backups).is_empty());
}
