//! The analyze stage as one call: open a bundle, gather its facts, run the rules, and assemble the [`Analysis`]
//! every report renders.
use std::path::Path;

use super::analysis::{ANALYSIS_SCHEMA_VERSION, Analysis, BundleInfo};
use super::engine::{self, EngineContext};
use super::error::AnalyzeError;
use super::findings::{Finding, Severity};
use super::rules::RuleSet;
use super::{facts, timeline, verdicts};
use crate::bundle::Bundle;
use crate::cli::{AnalysisOptions, FailOn};

/// Opens the bundle at `path` and analyses it with the built-in rules plus `options.rules_dirs`.
pub fn analyze_bundle(path: &Path, options: &AnalysisOptions) -> Result<Analysis, AnalyzeError> {
    let rules = RuleSet::load(&options.rules_dirs)?;
    let mut bundle = Bundle::open(path)?;
    analyze_open_bundle(&mut bundle, &rules)
}

/// Analyses a bundle already open (the `check` command collects into memory and analyses that).
pub fn analyze_open_bundle(bundle: &mut Bundle, rules: &RuleSet) -> Result<Analysis, AnalyzeError> {
    let facts = facts::gather(bundle)?;
    let context = EngineContext {
        now: facts.now,
        facts: &facts.kinds,
        versions: &facts.versions,
        velero_namespace: facts.velero_namespace.as_deref(),
    };
    let output = engine::run(bundle, rules, &context)?;
    let verdicts = verdicts::verdicts(&output.findings, &facts.backups);
    let timelines = timeline::timelines(bundle, &facts.backups)?;
    bundle.release_shared_objects();
    let manifest = bundle.manifest();
    let mut unavailable = facts.unavailable;
    unavailable.extend(output.problems);
    Ok(Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated: jiff::Timestamp::now().to_string(),
        bundle: BundleInfo {
            path: bundle.path().display().to_string(),
            format: bundle.format().as_str().to_string(),
            created: manifest.map(|m| m.created.clone()),
            cluster_server: manifest.and_then(|m| m.cluster.server.clone()),
        },
        environment: facts.environment,
        backups: facts.backups,
        verdicts,
        findings: output.findings,
        checks_passed: output.passed,
        volumes_not_backed_up: facts.volumes_not_backed_up,
        timelines,
        collector_errors: manifest
            .map(|m| m.collector_errors.clone())
            .unwrap_or_default(),
        unavailable,
    })
}

/// Whether findings reach the `--fail-on` threshold (exit code 1).
pub fn fails(findings: &[Finding], fail_on: FailOn) -> bool {
    let threshold = match fail_on {
        FailOn::Never => return false,
        FailOn::Warn => Severity::Warn,
        FailOn::Fail => Severity::Fail,
    };
    findings.iter().any(|f| f.severity >= threshold)
}
