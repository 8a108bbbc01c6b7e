//! The same lab scenario as our zip, as a troubleshoot support bundle and as a velero debug bundle gives
//! the same top findings (rule ids of fail and warn findings) from the analyzer. A finding the zip has and
//! a foreign form lacks must rest only on evidence that format does not carry (backup logs in a
//! troubleshoot bundle; anything outside the Velero namespace, or a previous container, in a velero
//! debug bundle), and a foreign form never finds what the zip does not.
use std::collections::BTreeMap;
use std::path::Path;

use snapdoc::analyze::AnalysisOptions;
use snapdoc::analyze::{Evidence, Finding, Severity, analyze_bundle};
use snapdoc::bundle::Bundle;
use snapdoc::lab::Scenario;

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;

use foreign_fixtures::{
    TroubleshootStyle, VeleroDebugStyle, snapdoc_bundle_from_scenario, troubleshoot_tree,
    velero_debug_tree,
};

fn top_findings(path: &Path) -> BTreeMap<String, Finding> {
    let analysis = analyze_bundle(path, &AnalysisOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // A foreign bundle says what it lacks, in the analysis every report renders.
    if matches!(
        analysis.bundle.format.as_str(),
        "troubleshoot" | "velero-debug"
    ) {
        assert!(
            analysis
                .unavailable
                .iter()
                .any(|u| u.contains("backup and restore results")),
            "{}: {:?}",
            analysis.bundle.format,
            analysis.unavailable
        );
    }
    analysis
        .findings
        .into_iter()
        .filter(|f| f.severity >= Severity::Warn)
        .map(|f| (f.rule_id.clone(), f))
        .collect()
}

fn in_backup_logs(file: &str) -> bool {
    file.starts_with("velero/backups/") || file.starts_with("velero/restores/")
}

/// Whether a troubleshoot bundle carries this evidence.
fn troubleshoot_carries(evidence: &Evidence) -> bool {
    match evidence {
        Evidence::LogLine { file, .. } => !in_backup_logs(file),
        Evidence::Object { object, .. } => !object.kind.starts_with("secrets"),
        Evidence::Versions { .. } => true,
    }
}

/// Whether a `velero debug --backup <backup>` bundle of namespace `ns` carries this evidence.
fn velero_debug_carries(evidence: &Evidence, ns: &str, backup: &str) -> bool {
    match evidence {
        Evidence::LogLine { file, .. } => {
            (file.starts_with("velero/logs/") && !file.ends_with("-previous.log"))
                || *file == snapdoc::bundle::backup_log_path(backup)
        }
        Evidence::Object { object, .. } => {
            object.kind.ends_with(".velero.io")
                || (object.kind == "pods" && object.namespace.as_deref() == Some(ns))
        }
        Evidence::Versions {
            subject, against, ..
        } => ![subject, against]
            .iter()
            .any(|c| matches!(c.as_str(), "kots" | "kubernetes")),
    }
}

fn compare(
    label: &str,
    ours: &BTreeMap<String, Finding>,
    theirs: &BTreeMap<String, Finding>,
    carried: &dyn Fn(&Evidence) -> bool,
) {
    for id in theirs.keys() {
        assert!(
            ours.contains_key(id),
            "{label}: {id} found only in the foreign form: {:?}",
            theirs[id].evidence
        );
    }
    for (id, finding) in ours {
        if theirs.contains_key(id) {
            continue;
        }
        assert!(
            !finding.evidence.is_empty() && !finding.evidence.iter().any(carried),
            "{label}: {id} is missing although the format carries its evidence: {:?}",
            finding.evidence
        );
    }
}

fn failed_backup(bundle: &mut Bundle) -> Option<String> {
    bundle
        .objects("backups.velero.io")
        .unwrap()
        .iter()
        .filter(|b| {
            b["status"]["phase"]
                .as_str()
                .is_some_and(|p| p.contains("Failed"))
        })
        .find_map(|b| b["metadata"]["name"].as_str().map(str::to_string))
}

#[test]
fn the_same_scenario_gives_the_same_top_findings_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for name in Scenario::builtin_names() {
        let scenario = Scenario::builtin(&name).unwrap();
        let zip_path = dir.path().join(format!("{name}.zip"));
        snapdoc_bundle_from_scenario(&scenario, &zip_path);
        let ours = top_findings(&zip_path);
        let mut zip = Bundle::open(&zip_path).unwrap();

        let troubleshoot = dir.path().join(format!("{name}-support-bundle.tar.gz"));
        troubleshoot_tree(&mut zip, TroubleshootStyle::Current).write_tar_gz(&troubleshoot);
        let theirs = top_findings(&troubleshoot);
        compare(
            &format!("{name} troubleshoot"),
            &ours,
            &theirs,
            &troubleshoot_carries,
        );

        let backup = failed_backup(&mut zip).unwrap_or_default();
        let debug = dir.path().join(format!("{name}-velero-debug.tar.gz"));
        velero_debug_tree(&mut zip, VeleroDebugStyle::Crashd037, Some(&backup))
            .write_tar_gz(&debug);
        let debug_bundle = Bundle::open(&debug).unwrap();
        let ns = debug_bundle
            .manifest()
            .and_then(|m| m.scope.get("veleroNamespace"))
            .and_then(|v| v.as_str())
            .unwrap_or("velero")
            .to_string();
        let theirs_debug = top_findings(&debug);
        compare(
            &format!("{name} velero debug"),
            &ours,
            &theirs_debug,
            &|e| velero_debug_carries(e, &ns, &backup),
        );
        println!(
            "{name}: zip {:?} troubleshoot {:?} velero-debug {:?}",
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            theirs_debug.keys().collect::<Vec<_>>()
        );
        compared += usize::from(!ours.is_empty());
    }
    assert!(compared >= 3, "scenarios with findings: {compared}");
}
