//! `snapdoc analyze --summary jsonl DIR…`: many bundles (a support team's day, mixed formats), one summary
//! line each, for loading into a database and for the fleet report.
//!
//! Bundles are analysed on at most one thread per core; each thread holds one bundle and its analysis at a
//! time and keeps only the summary line, so memory grows with the cores, not with the number of bundles. The
//! log scanners are built once for the fleet and shared (the rule set keeps them, engine/logs.rs).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::findings::{Role, Severity};
use super::rules::RuleSet;
use super::{Analysis, AnalyzeError};
use crate::bundle::{Bundle, BundleError};

/// Bumped on any incompatible change of a line's shape (docs/report-schema.json, `$defs/fleetLine`).
pub(crate) const FLEET_SCHEMA_VERSION: u32 = 1;

/// One bundle of the fleet, as one JSON line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetLine {
    /// The line's schema version.
    pub schema_version: u32,
    /// The bundle's path as found.
    pub bundle: String,
    /// failed | partial | attention | incomplete | healthy, or `unreadable` (then `error` says why).
    pub status: String,
    /// Why the bundle could not be read, when `status` is `unreadable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// snapdoc, or the foreign tool that made it (`troubleshoot v0.107.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// When the bundle was collected (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The cluster it was collected from.
    #[serde(default)]
    pub cluster: FleetCluster,
    /// The Kubernetes, Velero and KOTS versions.
    #[serde(default)]
    pub versions: FleetVersions,
    /// Backups (not restores) in the bundle, and how many failed or partially failed.
    #[serde(default)]
    pub backups: BackupCounts,
    /// The cause named by most failed backups' verdicts (else the first fail finding), the first thing a
    /// fleet is sorted by; absent when nothing failed (warnings alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_cause: Option<Cause>,
    /// Rules with a warn or fail finding, by id.
    #[serde(default)]
    pub rule_ids: Vec<String>,
    /// What snapdoc could not see (non-empty: the analysis is incomplete).
    #[serde(default)]
    pub not_seen: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetCluster {
    /// The API host (never a URL with credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The `kube-system` namespace's uid: one cluster across bundles, whatever its name or address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetVersions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velero: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kots: Option<String>,
    /// Plugin name → version.
    #[serde(default)]
    pub plugins: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupCounts {
    pub total: usize,
    pub failed: usize,
    pub partially_failed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    pub rule_id: String,
    pub title: String,
    pub category: String,
}

/// The bundles named by `inputs`: a bundle (file or directory) as it is; a folder that is not a bundle, each
/// of its entries that may be one (folders, `.zip`, `.tar.gz`, `.tgz`, `.tar`), in name order. Other files in
/// such a folder (notes, an earlier fleet.jsonl) are not bundles and are passed over.
pub fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut bundles = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            bundles.push(input.clone());
            continue;
        }
        match Bundle::open(input) {
            Err(BundleError::NoBundleContent { .. }) => {}
            // A bundle, or a folder that looks like one but is damaged: its line will say which.
            _ => {
                bundles.push(input.clone());
                continue;
            }
        }
        let Ok(entries) = std::fs::read_dir(input) else {
            bundles.push(input.clone());
            continue;
        };
        let mut children: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|path| may_be_bundle(path))
            .collect();
        children.sort();
        if children.is_empty() {
            // Nothing inside either: the line of the folder itself says "no bundle content".
            bundles.push(input.clone());
        }
        bundles.extend(children);
    }
    bundles
}

fn may_be_bundle(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.starts_with('.') {
        return false;
    }
    path.is_dir()
        || [".zip", ".tar.gz", ".tgz", ".tar"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// Analyses every bundle on at most `threads` threads (one per core when 0) and returns one line per
/// bundle, in the order given; a bundle that cannot be read is a line with status `unreadable`. `exit`
/// receives each analysis before it is dropped (the caller's exit code).
pub fn summarize(
    bundles: &[PathBuf],
    rules: &RuleSet,
    threads: usize,
    exit: &(dyn Fn(&Analysis) + Sync),
) -> Vec<FleetLine> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = if threads == 0 { cores } else { threads }
        .min(cores)
        .min(bundles.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let lines: Mutex<Vec<Option<FleetLine>>> = Mutex::new(vec![None; bundles.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = bundles.get(index) else {
                        break;
                    };
                    let line = summarize_one(path, rules, exit);
                    lines.lock().expect("no thread panics holding the lines")[index] = Some(line);
                }
            });
        }
    });
    lines
        .into_inner()
        .expect("no thread panics holding the lines")
        .into_iter()
        .map(|line| line.expect("every bundle was taken by a thread"))
        .collect()
}

fn summarize_one(path: &Path, rules: &RuleSet, exit: &(dyn Fn(&Analysis) + Sync)) -> FleetLine {
    let read = Bundle::open(path)
        .map_err(AnalyzeError::from)
        .and_then(|mut bundle| {
            let analysis = super::analyze_open_bundle(&mut bundle, rules)?;
            let context = bundle.manifest().and_then(|m| m.cluster.context.clone());
            let uid = kube_system_uid(&mut bundle);
            Ok((analysis, context, uid))
        });
    match read {
        Ok((analysis, context, uid)) => {
            exit(&analysis);
            line_of(&analysis, context, uid)
        }
        Err(error) => FleetLine {
            schema_version: FLEET_SCHEMA_VERSION,
            bundle: path.display().to_string(),
            status: "unreadable".into(),
            error: Some(super::error::causes_once(&error)),
            ..FleetLine::default()
        },
    }
}

fn kube_system_uid(bundle: &mut Bundle) -> Option<String> {
    bundle
        .objects("namespaces")
        .ok()?
        .iter()
        .find(|ns| ns.pointer("/metadata/name") == Some(&Value::from("kube-system")))?
        .pointer("/metadata/uid")?
        .as_str()
        .map(str::to_string)
}

/// The summary line of one analysis.
pub fn line_of(analysis: &Analysis, context: Option<String>, uid: Option<String>) -> FleetLine {
    let env = &analysis.environment;
    let version =
        |c: &Option<super::analysis::ComponentInfo>| c.as_ref().and_then(|c| c.version.clone());
    let backups: Vec<_> = analysis
        .backups
        .iter()
        .filter(|b| &*b.kind == "backup")
        .collect();
    let phase_count = |phase: &str| {
        backups
            .iter()
            .filter(|b| b.phase.as_deref() == Some(phase))
            .count()
    };
    FleetLine {
        schema_version: FLEET_SCHEMA_VERSION,
        bundle: analysis.bundle.path.clone(),
        status: analysis.status.as_str().to_string(),
        error: None,
        format: Some(
            analysis
                .bundle
                .made_by
                .clone()
                .unwrap_or_else(|| analysis.bundle.format.clone()),
        ),
        created: analysis.bundle.created.clone(),
        cluster: FleetCluster {
            server: analysis.bundle.cluster_server.clone(),
            context,
            uid,
        },
        versions: FleetVersions {
            kubernetes: env.kubernetes_version.clone(),
            velero: version(&env.velero),
            node_agent: version(&env.node_agent),
            kots: version(&env.kots),
            plugins: env
                .plugins
                .iter()
                .filter_map(|p| Some((p.name.clone(), p.version.clone()?)))
                .collect(),
        },
        backups: BackupCounts {
            total: backups.len(),
            failed: phase_count("Failed") + phase_count("FailedValidation"),
            partially_failed: phase_count("PartiallyFailed"),
        },
        top_cause: top_cause(analysis),
        rule_ids: analysis
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warn)
            .map(|f| f.rule_id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        not_seen: analysis.not_seen.clone(),
    }
}

/// The cause most verdicts lead with (ties: the newest verdict's); without verdicts the first fail finding
/// that names a cause, then any fail finding. Warnings alone are no cause: nothing failed.
fn top_cause(analysis: &Analysis) -> Option<Cause> {
    let mut votes: Vec<(&str, usize)> = Vec::new();
    for verdict in &analysis.verdicts {
        let Some(first) = verdict.finding_ids.first() else {
            continue;
        };
        match votes.iter_mut().find(|(id, _)| id == first) {
            Some((_, count)) => *count += 1,
            None => votes.push((first, 1)),
        }
    }
    // max_by_key keeps the last of equals; reversed, the first (newest) verdict's wins a tie.
    let voted = votes
        .iter()
        .rev()
        .max_by_key(|(_, count)| *count)
        .map(|(id, _)| *id);
    let finding = match voted {
        Some(id) => analysis.findings.iter().find(|f| f.rule_id == id),
        None => {
            let fails = || {
                analysis
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Fail)
            };
            fails()
                .find(|f| f.role == Role::Cause)
                .or_else(|| fails().next())
        }
    }?;
    Some(Cause {
        rule_id: finding.rule_id.clone(),
        title: finding.title.clone(),
        category: finding.category.clone(),
    })
}
