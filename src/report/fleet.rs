//! The fleet report (`analyze --summary jsonl … --fleet-report FILE`): top causes across bundles, and the
//! versions in the fleet against the compatibility rules (KOTS ↔ Velero, Velero ↔ plugins, Velero ↔
//! Kubernetes), from the summary lines alone.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use super::templates::{self, Flavor};
use super::{ReportError, ReportFormat};
use crate::analyze::fleet::FleetLine;

/// Rows of each ranking shown; the rest are counted (the JSON lines hold everything).
const ROWS: usize = 25;
/// Unreadable bundles named one by one.
const UNREADABLE_SHOWN: usize = 50;
const STATUSES: [&str; 6] = [
    "failed",
    "partial",
    "attention",
    "incomplete",
    "healthy",
    "unreadable",
];

/// Renders the fleet report as Markdown or HTML. `compat_rules` are the ids of the rules that check a
/// compatibility table (category `compatibility`).
pub fn render_fleet(
    lines: &[FleetLine],
    compat_rules: &BTreeSet<String>,
    format: ReportFormat,
    overrides: Option<&Path>,
) -> Result<String, ReportError> {
    let (flavor, main) = match format {
        ReportFormat::Markdown => (Flavor::Markdown, "fleet.md"),
        ReportFormat::Html => (Flavor::Html, "fleet.html"),
        _ => {
            return Err(ReportError::Unsupported(
                "the fleet report is written as Markdown (.md) or HTML (.html)",
            ));
        }
    };
    let files = templates::template_files(overrides)?;
    let registry = templates::registry_for(flavor, main, &files)?;
    registry
        .render(main, &view(lines, compat_rules))
        .map_err(|source| ReportError::Render {
            template: format!("{main}.hbs"),
            source: Box::new(source),
        })
}

/// Counts by key, most frequent first (ties by key), the first [`ROWS`] and how many more.
fn ranked(counts: BTreeMap<String, usize>) -> (Vec<(String, usize)>, usize) {
    let mut rows: Vec<(String, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let more = rows.len().saturating_sub(ROWS);
    rows.truncate(ROWS);
    (rows, more)
}

fn view(lines: &[FleetLine], compat_rules: &BTreeSet<String>) -> Value {
    let total = lines.len();
    let share = |count: usize| format!("{}%", (count * 100 + total / 2) / total.max(1));

    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|status| {
            let count = lines.iter().filter(|l| l.status == *status).count();
            json!({"status": status, "count": count, "share": share(count)})
        })
        .filter(|v| v["count"] != 0)
        .collect();

    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for cause in lines.iter().filter_map(|l| l.top_cause.as_ref()) {
        *causes.entry(cause.rule_id.clone()).or_default() += 1;
        titles.insert(cause.rule_id.clone(), cause.title.clone());
    }
    let (causes, more_causes) = ranked(causes);
    let causes: Vec<Value> = causes
        .into_iter()
        .map(|(id, count)| {
            json!({"ruleId": id, "title": titles[&id], "bundles": count, "share": share(count)})
        })
        .collect();

    let mut fired: BTreeMap<String, usize> = BTreeMap::new();
    for id in lines.iter().flat_map(|l| &l.rule_ids) {
        *fired.entry(id.clone()).or_default() += 1;
    }
    let (fired, more_rules) = ranked(fired);
    let fired: Vec<Value> = fired
        .into_iter()
        .map(|(id, count)| json!({"ruleId": id, "bundles": count, "share": share(count)}))
        .collect();

    // Per version (or pair), how many bundles run it and how many of those break a compatibility table.
    let versions = |key: &dyn Fn(&FleetLine) -> Option<String>| -> (Vec<Value>, usize) {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut outside: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        for line in lines.iter().filter(|l| l.status != "unreadable") {
            let version = key(line).unwrap_or_else(|| "unknown".into());
            *counts.entry(version.clone()).or_default() += 1;
            let broken: BTreeSet<String> = line
                .rule_ids
                .iter()
                .filter(|id| compat_rules.contains(*id))
                .cloned()
                .collect();
            if !broken.is_empty() {
                let entry = outside.entry(version).or_default();
                entry.0 += 1;
                entry.1.extend(broken);
            }
        }
        let (rows, more) = ranked(counts);
        let rows = rows
            .into_iter()
            .map(|(version, count)| {
                let (broken, rules) = outside.remove(&version).unwrap_or_default();
                json!({"version": version, "bundles": count, "outside": broken,
                       "rules": rules.into_iter().collect::<Vec<_>>()})
            })
            .collect();
        (rows, more)
    };
    let (velero, more_velero) = versions(&|l| l.versions.velero.clone());
    let (kots, more_kots) = versions(&|l| l.versions.kots.clone());
    let (pairs, more_pairs) = versions(&|l| {
        let kots = l.versions.kots.as_deref()?;
        Some(format!(
            "KOTS {kots} + Velero {}",
            l.versions.velero.as_deref().unwrap_or("unknown")
        ))
    });
    let (kubernetes, more_kubernetes) = versions(&|l| l.versions.kubernetes.clone());

    let unreadable: Vec<Value> = lines
        .iter()
        .filter(|l| l.status == "unreadable")
        .take(UNREADABLE_SHOWN)
        .map(|l| json!({"bundle": l.bundle, "error": l.error}))
        .collect();
    let unreadable_total = lines.iter().filter(|l| l.status == "unreadable").count();

    json!({
        "toolVersion": env!("CARGO_PKG_VERSION"),
        "total": total,
        "statuses": statuses,
        "causes": causes,
        "moreCauses": more_causes,
        "withoutCause": lines.iter().filter(|l| l.top_cause.is_none()).count(),
        "rules": fired,
        "moreRules": more_rules,
        "velero": velero,
        "moreVelero": more_velero,
        "kots": kots,
        "moreKots": more_kots,
        "pairs": pairs,
        "morePairs": more_pairs,
        "kubernetes": kubernetes,
        "moreKubernetes": more_kubernetes,
        "compatRules": compat_rules.iter().cloned().collect::<Vec<_>>(),
        "unreadable": unreadable,
        "moreUnreadable": unreadable_total.saturating_sub(UNREADABLE_SHOWN),
    })
}
