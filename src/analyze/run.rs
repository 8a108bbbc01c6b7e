//! The analyze stage as one call: open a bundle, gather its facts, run the rules, and assemble the [`Analysis`]
//! every report renders.
use std::borrow::Cow;
use std::path::Path;

use super::AnalysisOptions;
use super::analysis::{ANALYSIS_SCHEMA_VERSION, AlsoReadInfo, Analysis, BundleInfo};
use super::engine::{self, streamed};
use super::error::AnalyzeError;
use super::facts::backups::{self, Backups};
use super::facts::picked;
use super::facts::pod_volume_backups::{self, PodVolumeBackups};
use super::findings::{Evidence, Severity};
use super::rules::{Matcher, RuleSet};
use super::{facts, memory, parallel, status, timeline, verdicts};
use crate::bundle::list::Kept;
use crate::bundle::manifest::FORMAT_VERSION;
use crate::bundle::merge::{self, ClusterIdentity};
use crate::bundle::{Bundle, BundleFormat, LogFile, verify};
use crate::redact::{RedactionCounts, Redactor};

/// Opens the bundle at `path` and analyses it with the built-in rules plus `options.rules_dirs`.
pub fn analyze_bundle(path: &Path, options: &AnalysisOptions) -> Result<Analysis, AnalyzeError> {
    let rules = RuleSet::load(&options.rules_dirs)?;
    let mut bundle = Bundle::open(path)?;
    analyze_open_bundle(&mut bundle, &rules)
}

/// Analyses open bundles as cases: bundles of the same cluster (bundle/merge.rs) are read as one, led by the
/// most complete, so the backup log of one serves the verdicts of the other; the others one analysis each.
/// One result per case, with its first bundle's path, in the order of each case's first bundle.
pub fn analyze_cases(
    bundles: Vec<Bundle>,
    rules: &RuleSet,
) -> Vec<(std::path::PathBuf, Result<Analysis, AnalyzeError>)> {
    let mut bundles: Vec<Option<Bundle>> = bundles.into_iter().map(Some).collect();
    let identities: Vec<ClusterIdentity> = bundles
        .iter_mut()
        .map(|b| ClusterIdentity::of(b.as_mut().expect("every bundle is still here")))
        .collect();
    let mut results = Vec::new();
    for first in 0..bundles.len() {
        let Some(lead) = bundles[first].take() else {
            continue;
        };
        let path = lead.path().to_path_buf();
        let mut case = vec![(lead, String::new())];
        for other in first + 1..bundles.len() {
            if bundles[other].is_none() {
                continue;
            }
            if let Some(reason) = identities[first].same_cluster(&identities[other]) {
                case.push((bundles[other].take().expect("checked above"), reason));
            }
        }
        results.push((path, analyze_case(case, rules)));
    }
    results
}

fn analyze_case(
    mut case: Vec<(Bundle, String)>,
    rules: &RuleSet,
) -> Result<Analysis, AnalyzeError> {
    if case.len() == 1 {
        let (mut bundle, _) = case.pop().expect("one bundle");
        return analyze_open_bundle(&mut bundle, rules);
    }
    // Each bundle is checked on its own, before its entries are mixed with another's.
    let mut problems = Vec::new();
    for (bundle, _) in &mut case {
        let path = bundle.path().display().to_string();
        problems.extend(
            bundle_problems(bundle)
                .into_iter()
                .map(|p| format!("{path}: {p}")),
        );
    }
    // The most complete leads; the first given among equals. Its reason is the one the first bundle shared.
    case.sort_by_key(|(bundle, _)| std::cmp::Reverse(merge::completeness(bundle.format())));
    let reason_of_first = case
        .iter()
        .map(|(_, reason)| reason.clone())
        .find(|r| !r.is_empty())
        .unwrap_or_default();
    let mut parts = case.into_iter();
    let (lead, _) = parts.next().expect("a case has a bundle");
    let others = parts
        .map(|(bundle, reason)| {
            let reason = if reason.is_empty() {
                reason_of_first.clone()
            } else {
                reason
            };
            (bundle, reason)
        })
        .collect();
    let mut merged = merge::merge(lead, others)?;
    let result = analyze_with_shared_objects(&mut merged, rules, problems, |_| ());
    merged.release_shared_objects();
    result.map(|(analysis, ())| analysis)
}

/// What is wrong with a snapdoc bundle itself: a format newer than this build reads, entries that differ from
/// its manifest. A foreign bundle carries no checksums: nothing to check.
fn bundle_problems(bundle: &mut Bundle) -> Vec<String> {
    if !matches!(
        bundle.format(),
        BundleFormat::SnapdocZip | BundleFormat::Directory
    ) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    if let Some(manifest) = bundle.manifest()
        && manifest.format_version > FORMAT_VERSION
    {
        problems.push(format!(
            "the bundle's format {} is newer than this snapdoc reads ({FORMAT_VERSION}): what changed in it \
             cannot be read; upgrade snapdoc (made by {} {})",
            manifest.format_version, manifest.tool.name, manifest.tool.version
        ));
    }
    // Object lists and small logs are hashed; beyond this, entries are checked by size (`snapdoc verify` hashes
    // everything): analysis must not read a large bundle twice.
    const HASH_BUDGET: u64 = 64 * 1024 * 1024;
    let report = verify::verify_open(bundle, HASH_BUDGET);
    if !report.is_ok() {
        const SHOWN: usize = 5;
        let more = report.problems.len().saturating_sub(SHOWN);
        problems.push(format!(
            "the bundle does not match its manifest (tampered with or truncated), so what it shows may not be \
             what was collected: {}{}",
            report.problems[..report.problems.len().min(SHOWN)].join("; "),
            if more > 0 { format!("; and {more} more (`snapdoc verify`)") } else { String::new() }
        ));
    }
    problems
}

/// Entries the collector could not read whole for another reason than the size asked for (`--max-log-bytes`):
/// a log stream that dropped or fell silent, a download cut. The rules did not read what never came, so the
/// analysis is incomplete and every report names the entry, not only the manifest.
fn cut_short(manifest: Option<&crate::bundle::manifest::Manifest>) -> Vec<String> {
    manifest
        .into_iter()
        .flat_map(|m| &m.files)
        .filter_map(|file| {
            let reasons: Vec<&str> = file
                .truncated
                .as_deref()?
                .split("; ")
                .filter(|reason| !reason.ends_with("(--max-log-bytes)"))
                .collect();
            (!reasons.is_empty()).then(|| {
                format!(
                    "{}: {} (only what came before is in the bundle)",
                    file.path,
                    reasons.join("; ")
                )
            })
        })
        .collect()
}

/// Analyses a bundle already open (the `check` command collects into memory and analyses that).
pub fn analyze_open_bundle(bundle: &mut Bundle, rules: &RuleSet) -> Result<Analysis, AnalyzeError> {
    analyze_open_bundle_reading_facts(bundle, rules, |_| ()).map(|(analysis, ())| analysis)
}

/// [`analyze_open_bundle`], giving `read` the facts the analysis gathered before they are dropped: for a caller
/// that needs more of them than the analysis keeps (`snapdoc check`'s metrics), without reading every object
/// list of the bundle a second time.
pub(crate) fn analyze_open_bundle_reading_facts<T>(
    bundle: &mut Bundle,
    rules: &RuleSet,
    read: impl FnOnce(&facts::BundleFacts) -> T,
) -> Result<(Analysis, T), AnalyzeError> {
    memory::keep_large_blocks_off_the_heap();
    let started = std::time::Instant::now();
    let problems = bundle_problems(bundle);
    tracing::debug!(elapsed = ?started.elapsed(), "analysis: bundle checked against its manifest");
    let result = analyze_with_shared_objects(bundle, rules, problems, read);
    bundle.release_shared_objects();
    result
}

/// A log read on some thread: for the log rules, and for the timelines too when they read it (`usize`: its
/// place among the timelines' logs), or for the timelines alone.
enum LogJob<'l> {
    Rules(&'l LogFile, Option<(usize, &'l timeline::TimelinePlan)>),
    Timeline(usize, &'l LogFile, &'l timeline::TimelinePlan),
}

enum LogJobResult {
    Rules(engine::LogScan, Option<(usize, timeline::PodLogScan)>),
    Timeline(usize, timeline::PodLogScan),
}

fn analyze_with_shared_objects<T>(
    bundle: &mut Bundle,
    rules: &RuleSet,
    bundle_problems: Vec<String>,
    read_facts: impl FnOnce(&facts::BundleFacts) -> T,
) -> Result<(Analysis, T), AnalyzeError> {
    let started = std::time::Instant::now();
    preload_objects(bundle, rules);
    tracing::debug!(elapsed = ?started.elapsed(), "analysis: object lists read");
    let (inventory, reference) = facts::ReferenceTime::read(bundle);
    let now = reference.now;
    // The kinds kept as projections are streamed once more for the object rules and places, which read any
    // path (engine/streamed.rs): on a reader of its own, that read holds one object at a time and overlaps
    // gathering the facts and the other kinds' rules, which are otherwise the analysis's longest stretch on
    // one core. A bundle that cannot be read twice at once (a foreign archive) is read here, in turn.
    let kept = streamed::KeptPlaces::of(bundle);
    let second_reader = bundle.reopen().and_then(Result::ok);
    let (facts, locations, objects, mut plan, timeline_logs) = std::thread::scope(
        |scope| -> Result<_, AnalyzeError> {
            let kept = &kept;
            let streaming = second_reader.map(|mut reader| {
                scope.spawn(move || streamed::StreamedKinds::read(&mut reader, kept, rules, now))
            });
            let facts = facts::gather_from(bundle, inventory, reference)?;
            tracing::debug!(elapsed = ?started.elapsed(), "analysis: facts gathered");
            // The timelines are the projections' last reader. Freed once they have read them, the projections
            // are not held beside the facts and the other kinds' values while those kinds' rules run and the
            // second read streams (RSS there 128 → 103 MB with 20,000 Backups kept; BENCHMARKS.md, #20).
            let plan = timeline::TimelinePlan::new(bundle, &facts.backups);
            bundle.release_shared_projections();
            memory::return_freed_memory();
            let context = facts.engine_context();
            let locations = engine::Locations::read(bundle);
            let pending = engine::ObjectPass::start(bundle, rules, &context, locations.objects());
            let timeline_logs = plan
                .as_ref()
                .map(|plan| plan.pod_logs(bundle))
                .unwrap_or_default();
            let streamed = match streaming {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => streamed::StreamedKinds::read(bundle, kept, rules, now),
            };
            let objects = pending.complete(streamed);
            tracing::debug!(elapsed = ?started.elapsed(), "analysis: object rules and timelines' objects read");
            Ok((facts, locations, objects, plan, timeline_logs))
        },
    )?;
    let read = read_facts(&facts);
    let context = facts.engine_context();
    drop(kept);
    // Everything that reads the object lists has read them. Freed before the log rules' automata are built
    // and their scans buffer logs, the two are never held at once: the peak is the larger of them, not their
    // sum (BENCHMARKS.md, "Analysis memory"). The object pass no longer overlaps the scans.
    bundle.release_shared_objects();
    memory::return_freed_memory();
    let log_pass = engine::LogPass::with_locations(bundle, rules, &context, None, locations);
    tracing::debug!(elapsed = ?started.elapsed(), "analysis: log scanners ready");
    let jobs = log_jobs(bundle, &log_pass, plan.as_ref(), &timeline_logs);
    let ((), results) = parallel::map_jobs(
        bundle,
        &jobs,
        |(_, size)| *size,
        |_| (),
        |bundle, (job, _)| run_log_job(bundle, &log_pass, job),
    );
    drop(jobs);
    // Results come back in the jobs' order: the log rules' in the bundle's log order, as one thread would have
    // read them; the timelines' are put back in theirs.
    let mut log_scans = Vec::new();
    let mut timeline_scans: Vec<Option<timeline::PodLogScan>> =
        timeline_logs.iter().map(|_| None).collect();
    for result in results {
        match result {
            LogJobResult::Rules(scan, timeline_scan) => {
                log_scans.push(scan);
                if let Some((index, scan)) = timeline_scan {
                    timeline_scans[index] = Some(scan);
                }
            }
            LogJobResult::Timeline(index, scan) => timeline_scans[index] = Some(scan),
        }
    }
    if let Some(plan) = plan.as_mut() {
        for scan in timeline_scans.into_iter().flatten() {
            plan.absorb(scan);
        }
    }
    tracing::debug!(elapsed = ?started.elapsed(), "analysis: logs scanned");
    let output = engine::finish(rules, log_pass, log_scans, objects);
    let verdicts = verdicts::verdicts_in(
        &output.findings,
        &facts.backups,
        Some(facts.now),
        &facts.verdict_context,
    );
    let timelines = plan.map(timeline::TimelinePlan::finish).unwrap_or_default();
    let manifest = bundle.manifest();
    let mut unavailable = facts.unavailable;
    unavailable.extend(output.problems);
    let mut not_seen = status::not_read(&output.findings, Severity::Warn);
    // A refusal already named (`backups.velero.io` by SD860) is not said twice.
    for what in facts.not_seen {
        let resource = what.split_whitespace().next().unwrap_or_default();
        if !not_seen.iter().any(|seen| seen == resource) {
            not_seen.push(what);
        }
    }
    // A damaged or newer-format bundle cannot vouch for health: the analysis is incomplete, whatever it found.
    not_seen.extend(bundle_problems.iter().cloned());
    not_seen.extend(cut_short(manifest));
    // An interrupted collection holds only its first stages: never read as health.
    not_seen.extend(
        manifest
            .and_then(|m| m.interrupted.as_ref())
            .map(|i| i.describe()),
    );
    let velero_absent = facts
        .kinds
        .get(facts::FACTS_CLUSTER)
        .and_then(|cluster| cluster.first())
        .is_some_and(|cluster| cluster["veleroInstalled"] == serde_json::Value::Bool(false));
    let status = status::status(&output.findings, &verdicts, &not_seen, velero_absent);
    let not_redacted = matches!(
        bundle.format(),
        BundleFormat::Troubleshoot | BundleFormat::VeleroDebug | BundleFormat::MustGather
    );
    let mut analysis = Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated: jiff::Timestamp::now().to_string(),
        bundle: BundleInfo {
            path: bundle.path().display().to_string(),
            format: bundle.format().as_str().to_string(),
            created: Some(facts.now.to_string()),
            created_from: Some(facts.dated_from),
            cluster_server: manifest.and_then(|m| m.cluster.server.clone()),
            cluster_context: manifest.and_then(|m| m.cluster.context.clone()),
            made_by: manifest
                .filter(|m| m.tool.name != "snapdoc")
                .map(|m| format!("{} {}", m.tool.name, m.tool.version)),
            problems: bundle_problems,
            also_read: bundle
                .also_read()
                .iter()
                .map(|also| AlsoReadInfo {
                    path: also.path.display().to_string(),
                    made_by: also.made_by.clone(),
                    reason: also.reason.clone(),
                })
                .collect(),
            not_redacted,
        },
        environment: facts.environment,
        status,
        not_seen,
        backups: facts.backups,
        verdicts,
        findings: output.findings,
        checks_passed: output.passed,
        volumes_not_backed_up: facts.volumes_not_backed_up,
        readiness: facts.readiness,
        timelines,
        collector_errors: manifest
            .map(|m| m.collector_errors.clone())
            .unwrap_or_default(),
        unavailable,
        probes: Vec::new(),
    };
    if not_redacted {
        redact_quotes(&mut analysis);
    }
    Ok((analysis, read))
}

/// A foreign bundle holds what its tool collected, raw secrets included (`velero debug` does not redact):
/// everything the analysis quotes from it goes through snapdoc's redaction before any report shows it.
/// An object value is judged by the path it was read at as well as by its text (`…env[2].value`,
/// `data.cert_key`).
fn redact_quotes(analysis: &mut Analysis) {
    let redactor = Redactor::global();
    let mut counts = RedactionCounts::new();
    for finding in &mut analysis.findings {
        for evidence in &mut finding.evidence {
            if let Evidence::Object {
                path: Some(path),
                value: Some(value),
                ..
            } = evidence
            {
                *value = redactor.redact_quoted_value(path, value, &mut counts);
            }
        }
    }
    // Every other string (messages, log excerpts, timeline lines, storage location messages) as text.
    let Ok(mut value) = serde_json::to_value(&*analysis) else {
        return;
    };
    redact_strings(redactor, &mut value, &mut counts);
    if let Ok(redacted) = serde_json::from_value(value) {
        *analysis = redacted;
    }
}

fn redact_strings(
    redactor: &Redactor,
    value: &mut serde_json::Value,
    counts: &mut RedactionCounts,
) {
    match value {
        serde_json::Value::String(text) => {
            if let Cow::Owned(changed) = redactor.redact_text(text, counts) {
                *text = changed;
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                redact_strings(redactor, item, counts);
            }
        }
        serde_json::Value::Object(map) => {
            for (_, item) in map.iter_mut() {
                redact_strings(redactor, item, counts);
            }
        }
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

/// Parses the object lists the facts, the object rules and the timelines read, on every core, largest first.
/// A list that cannot be read is left for its reader, which says why.
fn preload_objects(bundle: &mut Bundle, rules: &RuleSet) {
    let mut resources: Vec<&str> = facts::inventory::RESOURCES.to_vec();
    resources.push(timeline::EVENTS);
    resources.extend(rules.rules().iter().filter_map(|rule| match &rule.matcher {
        Matcher::Object(matcher) if !matcher.kind.starts_with("facts.") => {
            Some(matcher.kind.as_str())
        }
        _ => None,
    }));
    resources.sort_unstable();
    resources.dedup();
    let jobs: Vec<(&str, u64)> = resources
        .into_iter()
        .map(|resource| {
            let size = bundle
                .object_files(resource)
                .iter()
                .filter_map(|file| bundle.entry_size(file))
                .sum();
            (resource, size)
        })
        .filter(|(_, size)| *size > 0)
        .collect();
    let ((), parsed) = parallel::map_jobs(
        bundle,
        &jobs,
        |(_, size)| *size,
        |_| (),
        |reader, (resource, _)| {
            if *resource == pod_volume_backups::RESOURCE {
                let (projections, total) = PodVolumeBackups::read(reader).ok()?;
                return Some(Parsed::PodVolumeBackups(projections, total));
            }
            if *resource == backups::RESOURCE {
                let (projections, total) = Backups::read(reader).ok()?;
                return Some(Parsed::Backups(projections, total));
            }
            reader
                .kept_picked_objects(resource, picked::fields_read(resource))
                .ok()
                .map(Parsed::Objects)
        },
    );
    for ((resource, _), parsed) in jobs.iter().zip(parsed) {
        match parsed {
            Some(Parsed::Objects(objects)) => {
                bundle.share_objects(resource, picked::fields_read(resource), objects);
            }
            Some(Parsed::PodVolumeBackups(projections, total)) => projections.share(bundle, total),
            Some(Parsed::Backups(projections, total)) => projections.share(bundle, total),
            None => {}
        }
    }
}

/// A list read on some thread: as values, or as the analysis's projections (facts/projected.rs).
enum Parsed {
    Objects(Kept),
    PodVolumeBackups(PodVolumeBackups, usize),
    Backups(Backups, usize),
}

/// Every log the log rules or the timelines read, with its size. A log both read is read once.
fn log_jobs<'l>(
    bundle: &Bundle,
    log_pass: &'l engine::LogPass<'_>,
    plan: Option<&'l timeline::TimelinePlan>,
    timeline_logs: &'l [LogFile],
) -> Vec<(LogJob<'l>, u64)> {
    let mut jobs = Vec::new();
    let mut read_by_rules = vec![false; timeline_logs.len()];
    for log in log_pass.logs() {
        let timeline = plan.and_then(|plan| {
            let index = timeline_logs.iter().position(|t| t.path == log.path)?;
            log_pass.reads(log).then(|| {
                read_by_rules[index] = true;
                (index, plan)
            })
        });
        jobs.push(LogJob::Rules(log, timeline));
    }
    if let Some(plan) = plan {
        for (index, log) in timeline_logs.iter().enumerate() {
            if !read_by_rules[index] {
                jobs.push(LogJob::Timeline(index, log, plan));
            }
        }
    }
    jobs.into_iter()
        .map(|job| {
            let (LogJob::Rules(log, _) | LogJob::Timeline(_, log, _)) = &job;
            let size = bundle.entry_size(&log.path).unwrap_or(0);
            (job, size)
        })
        .collect()
}

fn run_log_job(
    bundle: &mut Bundle,
    log_pass: &engine::LogPass<'_>,
    job: &LogJob<'_>,
) -> LogJobResult {
    match job {
        LogJob::Rules(log, None) => LogJobResult::Rules(log_pass.scan(bundle, log), None),
        LogJob::Rules(log, Some((index, plan))) => {
            let Some(mut lines) = timeline::PodLogLines::new(plan, log) else {
                return LogJobResult::Rules(log_pass.scan(bundle, log), None);
            };
            let scan = match bundle.open_entry(&log.path) {
                Ok(reader) => {
                    log_pass.scan_reader(log, timeline::TeeReader::new(reader, &mut lines))
                }
                Err(e) => engine::LogScan::failed(e.to_string()),
            };
            LogJobResult::Rules(scan, Some((*index, lines.finish())))
        }
        LogJob::Timeline(index, log, plan) => {
            LogJobResult::Timeline(*index, plan.scan_pod_log(bundle, log))
        }
    }
}
