//! Disaster-recovery readiness per lab scenario: the readiness table (per backup: how far it restores, and why),
//! protection coverage, schedule freshness and the predictions, asserted against what each scenario was written
//! to show (docs/scenarios.md), and the rules that make `--fail-on` count them.
use std::collections::BTreeSet;

use snapdoc::analyze::AnalysisOptions;
use snapdoc::analyze::{Analysis, Severity, analyze_bundle};
use snapdoc::analyze::{Readiness, Restorable};
use snapdoc::lab::Scenario;

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;

fn scenario_analysis(name: &str) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.zip"));
    foreign_fixtures::snapdoc_bundle_from_scenario(&Scenario::builtin(name).unwrap(), &path);
    analyze_bundle(&path, &AnalysisOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Backup name → how far it restores.
fn table(readiness: &Readiness) -> Vec<(&str, Restorable)> {
    readiness
        .backups
        .iter()
        .map(|b| (b.name.as_str(), b.restorable))
        .collect()
}

fn reasons_of<'a>(readiness: &'a Readiness, backup: &str) -> Vec<&'a str> {
    readiness
        .backups
        .iter()
        .find(|b| b.name == backup)
        .unwrap_or_else(|| panic!("no readiness row for {backup}"))
        .reasons
        .iter()
        .map(|r| r.text.as_str())
        .collect()
}

/// (kind, severity) of every prediction.
fn predictions(readiness: &Readiness) -> Vec<(&str, &str)> {
    readiness
        .predictions
        .iter()
        .map(|p| (p.kind.as_str(), p.severity.as_str()))
        .collect()
}

fn unprotected(readiness: &Readiness) -> Vec<String> {
    readiness
        .volumes
        .iter()
        .filter(|v| !v.protected)
        .map(|v| {
            format!(
                "{}/{}",
                v.namespace,
                v.volume
                    .as_deref()
                    .or(v.claim_name.as_deref())
                    .unwrap_or("?")
            )
        })
        .collect()
}

fn schedule_states(readiness: &Readiness) -> Vec<(&str, &str)> {
    readiness
        .schedules
        .iter()
        .map(|s| (s.name.as_str(), s.state.as_str()))
        .collect()
}

fn rule_ids(analysis: &Analysis, severity: Severity) -> BTreeSet<&str> {
    analysis
        .findings
        .iter()
        .filter(|f| f.severity >= severity)
        .map(|f| f.rule_id.as_str())
        .collect()
}

#[test]
fn healthy_has_a_fresh_full_backup_restorable_to_a_new_cluster_and_only_a_cliff_ahead() {
    let analysis = scenario_analysis("healthy");
    let r = &analysis.readiness;
    assert!(r.known);
    assert_eq!(r.backups.len(), 9);
    assert!(
        table(r)
            .iter()
            .all(|(_, level)| *level == Restorable::NewCluster),
        "{:?}",
        table(r)
    );
    let newest = r.newest_restorable.as_ref().expect("a restorable backup");
    assert_eq!(newest.name, "instance-9wc4h");
    assert_eq!(
        reasons_of(r, "instance-9wc4h"),
        [
            "restore onto the same operating system (Ubuntu 22.04.4 LTS)",
            "restore with an online install (kots.io/is-airgap: false)"
        ]
    );
    assert!(unprotected(r).is_empty(), "{:?}", unprotected(r));
    let uploads = r
        .volumes
        .iter()
        .find(|v| v.volume.as_deref() == Some("uploads"))
        .unwrap();
    // The api pod was replaced after the backup: the PVC's uid still ties the volume to it.
    assert_eq!(uploads.newest_backup.as_deref(), Some("instance-9wc4h"));
    assert_eq!(schedule_states(r), [("KOTS instance snapshots", "on-time")]);
    assert_eq!(r.schedules[0].period_seconds, Some(86_400));
    // Velero 1.12 with restic: the 1.17 / 1.19 cliff is ahead, said as information only.
    assert_eq!(predictions(r), [("version-cliff", "info")]);
    assert!(
        r.summary.starts_with("Newest backup restorable to a new cluster: instance-9wc4h, 9 h old, expires in 29 d; every volume protected; schedule on time"),
        "{}",
        r.summary
    );
    assert!(rule_ids(&analysis, Severity::Warn).is_empty());
}

#[test]
fn kurl_app_only_has_nothing_restorable_to_a_new_cluster_and_a_silent_kots_schedule() {
    let analysis = scenario_analysis("kurl-app-only");
    let r = &analysis.readiness;
    assert!(r.newest_restorable.is_none());
    assert!(
        table(r)
            .iter()
            .all(|(_, level)| *level == Restorable::InPlace),
        "{:?}",
        table(r)
    );
    let reasons = reasons_of(r, "myapp-9wc4h");
    assert!(reasons.iter().any(|t| t.contains(
        "stored in an object store inside the cluster (http://rook-ceph-rgw-rook-ceph-store.rook-ceph)"
    )));
    assert!(reasons.iter().any(|t| t.starts_with(
        "an application-only (partial, legacy) snapshot: without the Admin Console it cannot restore"
    )));
    // The Admin Console's own data and the api's uploads are in no backup.
    assert_eq!(
        unprotected(r),
        ["default/kotsadm-rqlite-kotsadm-rqlite-0", "default/uploads"]
    );
    assert_eq!(schedule_states(r), [("KOTS snapshots of myapp", "overdue")]);
    assert!(
        r.schedules[0]
            .detail
            .starts_with("gone silent: KOTS made one every 24 h until 5 d ago")
    );
    assert_eq!(predictions(r), [("version-cliff", "info")]);
    let ids = rule_ids(&analysis, Severity::Warn);
    for id in ["SD835", "SD837", "SD151", "SD354"] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
}

#[test]
fn embedded_cluster_restores_from_its_disaster_recovery_backup_not_from_kots_snapshots() {
    let analysis = scenario_analysis("embedded-cluster");
    let r = &analysis.readiness;
    assert_eq!(
        analysis.environment.install_kind.as_deref(),
        Some("embedded-cluster")
    );
    let rows = table(r);
    assert_eq!(rows[0], ("instance-9wc4h", Restorable::NewCluster));
    assert_eq!(&*r.backups[0].kind, "embedded-cluster");
    assert!(reasons_of(r, "instance-9wc4h")[0].starts_with(
        "an Embedded Cluster disaster-recovery backup: restore it with the Embedded Cluster installer's restore"
    ));
    assert!(
        rows[1..].iter().all(|(_, level)| *level == Restorable::Not),
        "{rows:?}"
    );
    assert_eq!(
        reasons_of(r, "instance-7qpjj"),
        [
            "this is an Embedded Cluster install, which does not use KOTS snapshots: use Embedded Cluster's \
          disaster recovery"
        ]
    );
    assert_eq!(predictions(r), [("version-cliff", "info")]);
    assert!(!rule_ids(&analysis, Severity::Warn).contains("SD835"));
}

#[test]
fn velero_119_with_restic_backups_restores_nothing_and_the_nightly_duration_crosses_its_timeout() {
    let analysis = scenario_analysis("velero-119-restic");
    let r = &analysis.readiness;
    assert!(
        table(r).iter().all(|(_, level)| *level == Restorable::Not),
        "{:?}",
        table(r)
    );
    assert_eq!(
        reasons_of(r, "nightly-20261125023003"),
        [
            "its pod volume data was written by restic, which Velero 1.19+ cannot restore (restores fail \
          validation); restore it with Velero 1.18"
        ]
    );
    assert_eq!(
        schedule_states(r),
        [
            ("nightly", "on-time"),
            ("weekly", "paused"),
            ("hourly-legacy", "deleted")
        ]
    );
    assert_eq!(
        predictions(r),
        [("version-cliff", "fail"), ("duration-trend", "warn")]
    );
    let trend = &r.predictions[1];
    assert_eq!(trend.subject, "schedule nightly");
    assert_eq!(trend.runs_left, Some(1));
    assert!(
        trend.text.contains("4 h fs-backup-timeout"),
        "{}",
        trend.text
    );
    let ids = rule_ids(&analysis, Severity::Warn);
    for id in ["SD835", "SD836", "SD815", "SD908"] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
}

#[test]
fn partially_failed_fsb_keeps_an_older_full_backup_and_names_the_unprotected_uploads() {
    let r = scenario_analysis("partially-failed-fsb").readiness;
    let rows = table(&r);
    assert_eq!(rows[0].1, Restorable::Partial);
    assert!(reasons_of(&r, rows[0].0).iter().any(|t| {
        t.starts_with("pod volume backups not Completed: default/postgres-0 volume data (Failed)")
    }));
    assert_eq!(r.newest_restorable.as_ref().unwrap().name, "instance-2jclv");
    assert_eq!(unprotected(&r), ["default/uploads"]);
    assert_eq!(
        schedule_states(&r),
        [("KOTS instance snapshots", "last-failed")]
    );
}

#[test]
fn failed_bsl_predicts_the_next_backup_fails_on_the_unavailable_location() {
    let r = scenario_analysis("failed-bsl").readiness;
    assert!(r.newest_restorable.is_none());
    assert!(
        reasons_of(&r, &r.backups[0].name).contains(
            &"its storage location default is Unavailable now: Velero cannot read it back"
        )
    );
    assert_eq!(r.predictions[0].kind, "location-unavailable");
    assert_eq!(r.predictions[0].severity, "fail");
}

#[test]
fn old_velero_restic_has_only_application_snapshots_and_a_broken_repository_ahead() {
    let r = scenario_analysis("old-velero-restic").readiness;
    assert!(r.newest_restorable.is_none());
    assert!(r.backups.iter().all(|b| &*b.kind == "kots-app"));
    assert!(predictions(&r).contains(&("repository-not-ready", "fail")));
}

#[test]
fn without_a_backup_list_readiness_says_it_cannot_tell() {
    let analysis = scenario_analysis("no-velero");
    assert!(!analysis.readiness.known);
    assert!(analysis.readiness.summary.starts_with("Readiness unknown"));
    assert!(analysis.readiness.backups.is_empty());
    assert!(!rule_ids(&analysis, Severity::Info).contains("SD835"));
}

#[test]
fn every_report_format_shows_the_readiness_section() {
    use snapdoc::report::{ReportFormat, render};
    let analysis = scenario_analysis("kurl-app-only");
    let markdown = render(&analysis, ReportFormat::Markdown, None).unwrap();
    for expected in [
        "## Readiness",
        "| `myapp-9wc4h` | KOTS application only | Completed | RESTORABLE in place |",
        "| `default` | — | — | `kotsadm-rqlite-kotsadm-rqlite-0` | ✖ none |",
        "| KOTS snapshots of myapp | KOTS | `every 24 h` | ✖ overdue |",
    ] {
        assert!(markdown.contains(expected), "markdown lacks {expected:?}");
    }
    let html = render(&analysis, ReportFormat::Html, None).unwrap();
    assert!(html.contains(r#"id="r-readiness""#));
    assert!(html.contains("gone silent: KOTS made one every 24 h until 5 d ago, none since"));
    let json: serde_json::Value =
        serde_json::from_str(&render(&analysis, ReportFormat::Json, None).unwrap()).unwrap();
    assert_eq!(json["readiness"]["backups"][0]["restorable"], "in-place");
    let junit = render(&analysis, ReportFormat::Junit, None).unwrap();
    assert!(junit.contains(r#"testsuite name="readiness""#), "{junit}");
    let terminal = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(terminal.contains("Readiness"), "{terminal}");
}

#[test]
fn a_healthy_bundle_leads_with_readiness_not_just_healthy() {
    use snapdoc::report::{ReportFormat, render};
    let markdown = render(&scenario_analysis("healthy"), ReportFormat::Markdown, None).unwrap();
    assert!(
        markdown.contains(
            "Verdict: Healthy: Newest backup restorable to a new cluster: instance-9wc4h, 9 h old, expires in 29 d; every \
             volume protected; schedule on time"
        ),
        "{}",
        &markdown[..600.min(markdown.len())]
    );
    assert!(markdown.contains("Healthy: no backup failed and no rule found a problem."));
}

/// A self-signed CA for a store, valid until `until` (year, month, day), as base64 of its PEM (how
/// `spec.objectStorage.caCert` holds it).
fn ca_cert_until(until: (i32, u8, u8)) -> String {
    use base64::Engine as _;
    let mut params = rcgen::CertificateParams::new(vec!["minio.minio.svc".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// The healthy scenario (bundle made 2026-11-25) whose location trusts `ca_cert`: its analysis and the
/// certificate predictions.
fn with_location_ca(ca_cert: String) -> (Analysis, Vec<snapdoc::analyze::Prediction>) {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    let location = scenario
        .objects
        .iter_mut()
        .find(|o| o.kind() == "BackupStorageLocation")
        .unwrap();
    location.value["spec"]["objectStorage"]["caCert"] = ca_cert.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    foreign_fixtures::snapdoc_bundle_from_scenario(&scenario, &path);
    let analysis = analyze_bundle(&path, &AnalysisOptions::default()).unwrap();
    let expiry = analysis
        .readiness
        .predictions
        .iter()
        .filter(|p| p.kind == "certificate-expiry")
        .cloned()
        .collect();
    (analysis, expiry)
}

#[test]
fn a_location_ca_certificate_that_expires_soon_or_expired_is_predicted() {
    let (analysis, expiry) = with_location_ca(ca_cert_until((2026, 12, 10)));
    assert_eq!(expiry.len(), 1, "{:?}", analysis.readiness.predictions);
    assert_eq!(expiry[0].severity, "warn");
    assert!(
        expiry[0].text.contains("expires on 2026-12-10, in 14 d"),
        "{}",
        expiry[0].text
    );
    assert!(rule_ids(&analysis, Severity::Warn).contains("SD839"));

    let (analysis, expiry) = with_location_ca(ca_cert_until((2026, 11, 1)));
    assert_eq!(expiry.len(), 1, "{:?}", analysis.readiness.predictions);
    assert_eq!(expiry[0].severity, "fail");
    assert!(
        expiry[0].text.contains("expired on 2026-11-01"),
        "{}",
        expiry[0].text
    );
    assert!(rule_ids(&analysis, Severity::Fail).contains("SD838"));
}

/// troubleshoot's layout (tests/fixtures/real-bundles): postgres-0's volume is held by the Completed backup
/// instance-2k9dd; kotsadm's opted-in `backup` volume only by a pod volume backup of instance-q8rbx, which
/// PartiallyFailed. "Every volume protected" would be green on paper: one volume is in no Completed backup.
#[test]
fn a_volume_set_up_for_backup_but_in_no_completed_backup_is_not_called_protected() {
    let bundle = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-bundles/ts-v0.107.2-velero-logs.tar.gz");
    let r = analyze_bundle(&bundle, &AnalysisOptions::default())
        .unwrap()
        .readiness;
    let volume = |pod: &str| {
        r.volumes
            .iter()
            .find(|v| v.pod.as_deref() == Some(pod))
            .unwrap_or_else(|| panic!("no volume of {pod}: {:?}", r.volumes))
    };
    // The PVC's uid is not the one the pod volume backups' labels name: found by pod and volume instead.
    let postgres = volume("postgres-0");
    assert_eq!(postgres.newest_backup.as_deref(), Some("instance-2k9dd"));
    assert!(!postgres.in_no_completed_backup);
    let kotsadm = volume("kotsadm-6f9d8b7c4-qx7zt");
    assert!(
        kotsadm.protected && kotsadm.in_no_completed_backup,
        "{kotsadm:?}"
    );
    assert!(
        r.summary
            .contains("1 volume set up for backup is in no Completed backup"),
        "{}",
        r.summary
    );
    assert!(
        !r.summary.contains("every volume protected"),
        "{}",
        r.summary
    );
}
