//! The analyze stage as one call: open a bundle, gather its facts, run the rules, and assemble the [`Analysis`]
//! every report renders.
use std::path::Path;

use super::analysis::{ANALYSIS_SCHEMA_VERSION, Analysis, BundleInfo};
use super::engine::{self, EngineContext};
use super::error::AnalyzeError;
use super::findings::{Finding, Severity};
use super::rules::RuleSet;
use super::{facts, parallel, timeline, verdicts};
use crate::bundle::{Bundle, LogFile};
use crate::cli::{AnalysisOptions, FailOn};

/// Opens the bundle at `path` and analyses it with the built-in rules plus `options.rules_dirs`.
pub fn analyze_bundle(path: &Path, options: &AnalysisOptions) -> Result<Analysis, AnalyzeError> {
    let rules = RuleSet::load(&options.rules_dirs)?;
    let mut bundle = Bundle::open(path)?;
    analyze_open_bundle(&mut bundle, &rules)
}

/// Analyses a bundle already open (the `check` command collects into memory and analyses that).
pub fn analyze_open_bundle(bundle: &mut Bundle, rules: &RuleSet) -> Result<Analysis, AnalyzeError> {
    let result = analyze_with_shared_objects(bundle, rules);
    bundle.release_shared_objects();
    result
}

/// One read of each log, on every core, serves both the log rules and the timelines.
enum LogJob<'l> {
    Rules(&'l LogFile),
    Timeline(&'l timeline::TimelinePlan, &'l LogFile),
}

enum LogJobResult {
    Rules(engine::LogScan),
    Timeline(timeline::PodLogScan),
}

fn analyze_with_shared_objects(
    bundle: &mut Bundle,
    rules: &RuleSet,
) -> Result<Analysis, AnalyzeError> {
    let facts = facts::gather(bundle)?;
    let context = EngineContext {
        now: facts.now,
        facts: &facts.kinds,
        versions: &facts.versions,
        velero_namespace: facts.velero_namespace.as_deref(),
    };
    let log_pass = engine::LogPass::new(bundle, rules, &context, None);
    let mut plan = timeline::TimelinePlan::new(bundle, &facts.backups);
    let timeline_logs = plan
        .as_ref()
        .map(|plan| plan.pod_logs(bundle))
        .unwrap_or_default();
    let jobs: Vec<(LogJob, u64)> = log_pass
        .logs()
        .iter()
        .map(LogJob::Rules)
        .chain(plan.iter().flat_map(|plan| {
            timeline_logs
                .iter()
                .map(move |log| LogJob::Timeline(plan, log))
        }))
        .map(|job| {
            let (LogJob::Rules(log) | LogJob::Timeline(_, log)) = &job;
            let size = bundle.entry_size(&log.path).unwrap_or(0);
            (job, size)
        })
        .collect();
    let mut objects = None;
    let results = parallel::map_jobs(
        bundle,
        &jobs,
        |(_, size)| *size,
        |bundle| objects = Some(engine::ObjectPass::run(bundle, rules, &context, &log_pass)),
        |bundle, (job, _)| match job {
            LogJob::Rules(log) => LogJobResult::Rules(log_pass.scan(bundle, log)),
            LogJob::Timeline(plan, log) => LogJobResult::Timeline(plan.scan_pod_log(bundle, log)),
        },
    );
    drop(jobs);
    let objects = objects.expect("the calling thread evaluates the object rules first");
    // Results come back in the jobs' order: the bundle's log order, as one thread would have read them.
    let mut log_scans = Vec::new();
    for result in results {
        match result {
            LogJobResult::Rules(scan) => log_scans.push(scan),
            LogJobResult::Timeline(scan) => {
                if let Some(plan) = plan.as_mut() {
                    plan.absorb(scan);
                }
            }
        }
    }
    let output = engine::finish(rules, log_pass, log_scans, objects);
    let verdicts = verdicts::verdicts(&output.findings, &facts.backups);
    let timelines = plan.map(timeline::TimelinePlan::finish).unwrap_or_default();
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
