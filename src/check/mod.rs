//! `snapdoc check`: a health check for a CronJob or a workstation. Collects what the rules need into a
//! temporary bundle (kept only with `--bundle FILE`), analyses it, renders the JSON result or a one-screen
//! summary, and optionally writes Prometheus textfile metrics. The caller prints the output and exits with
//! [`CheckOutcome::exit`]: 0 nothing at or above `--fail-on`, 1 something or no Velero found, 2 when
//! Velero's objects could not be read (an incomplete analysis) or the check could not run. A check that could
//! not run still prints a JSON result and replaces the metrics file ([`CheckFailure`]), so a CronJob's
//! monitoring sees the failure rather than the last run's metrics.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;

use crate::analyze::analysis::Analysis;
use crate::analyze::facts::{self, FACTS_CLUSTER, FACTS_SCHEDULES};
use crate::analyze::rules::RuleSet;
use crate::analyze::run::analyze_open_bundle_reading_facts;
use crate::analyze::{AnalysisOptions, AnalyzeError, Exit};
use crate::bundle::{Bundle, BundleError, layout};
use crate::collect::{self, CollectError, CollectOptions};
use crate::report::prometheus::{self, CheckIdentity, CheckMetrics, MetricsError, ScheduleStatus};

mod pushgateway;
mod rotation;

use crate::report::{self, ReportError, ReportFormat};
pub(crate) use rotation::DEFAULT_KEEP_BUNDLES;
pub use rotation::RotateError;

/// What a check collects, where it keeps the bundle, and what it prints.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// What to collect.
    pub collect: CollectOptions,
    /// Rules, templates and the exit code policy.
    pub analysis: AnalysisOptions,
    /// Keep the collected bundle here; `None`: a temporary file, removed after the analysis.
    pub bundle: Option<PathBuf>,
    /// With `bundle`: how many bundles are kept, the newest at `bundle`, older ones rotated to `NAME.1.zip`,
    /// `NAME.2.zip` … (0 is read as 1).
    pub(crate) keep_bundles: usize,
    /// What the check prints.
    pub format: CheckFormat,
    /// Write Prometheus metrics here (replaced atomically), for node-exporter's textfile collector.
    pub(crate) prometheus_textfile: Option<PathBuf>,
    /// Push the metrics to this Prometheus Pushgateway (its base URL).
    pub pushgateway: Option<String>,
    /// The cluster's name in the metrics (`snapdoc_info`, the Pushgateway group); `None`: the kubeconfig
    /// context, else the API server's host.
    pub(crate) cluster_name: Option<String>,
    /// `--probe`: probe each storage location in the cluster with a Job of this image (snapdoc's).
    pub probe_image: Option<String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            collect: CollectOptions::default(),
            analysis: AnalysisOptions::default(),
            bundle: None,
            keep_bundles: DEFAULT_KEEP_BUNDLES,
            format: CheckFormat::default(),
            prometheus_textfile: None,
            pushgateway: None,
            cluster_name: None,
            probe_image: None,
        }
    }
}

/// What a check prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckFormat {
    /// The whole analysis as JSON (the report's versioned schema).
    #[default]
    Json,
    /// One screen for a person: verdicts and findings.
    Summary,
}

/// What `bundle.path` says in the output when the collected bundle was not kept.
pub const BUNDLE_NOT_KEPT: &str = "(not kept: --bundle FILE keeps it)";

/// Why `snapdoc check` could not give a result; [`CheckError::reason`] names the kind in the metrics.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The scratch directory for the bundle could not be made.
    #[error("cannot create a temporary directory for the collected data: {0}")]
    TempDir(#[source] std::io::Error),
    /// `--bundle FILE`: the earlier bundles could not be moved aside, or the new one into place.
    #[error(transparent)]
    Rotate(rotation::RotateError),
    /// The collection stopped (the cluster unreachable, unauthorized, a bad flag…).
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// The bundle just collected could not be read back.
    #[error("cannot read the collected bundle: {0}")]
    Bundle(#[from] BundleError),
    /// The analysis could not run (rule files, an unreadable bundle entry).
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// The JSON result or the summary could not be rendered.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The Prometheus text file or the Pushgateway push failed.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// Neither Velero's objects nor any workload could be read: judging health from nothing would report a
    /// healthy cluster.
    #[error("nothing was read from the cluster ({reasons})")]
    NothingCollected {
        /// What was tried and why each read failed.
        reasons: String,
    },
    /// The check failed, and writing the metrics that say so failed too.
    #[error("{error} (and the metrics file could not say so: {metrics})")]
    FailedAndMetrics {
        /// Why the check failed.
        error: Box<CheckError>,
        /// Why the metrics saying so were not written.
        metrics: MetricsError,
    },
}

/// A check that ran to the end.
#[derive(Debug)]
pub struct CheckOutcome {
    /// The analysis of the collected bundle.
    pub analysis: Analysis,
    /// The JSON document or the summary, ready to print.
    pub output: String,
    /// Per `--fail-on`, and never clean when Velero was not found or could not be read.
    pub exit: Exit,
    /// How long collection and analysis took (the `snapdoc_check_duration_seconds` gauge).
    pub duration: Duration,
}

impl CheckError {
    /// Why the check could not run, as a few fixed words: the `reason` label of `snapdoc_check_failure` and
    /// the JSON result's `reason` (the message itself is too varied for a label).
    pub fn reason(&self) -> &'static str {
        match self {
            CheckError::Collect(
                CollectError::Unreachable { .. } | CollectError::NoAnswer { .. },
            )
            | CheckError::NothingCollected { .. } => "unreachable",
            CheckError::Collect(CollectError::Unauthorized { .. }) => "unauthorized",
            CheckError::Collect(
                CollectError::Kubeconfig { .. }
                | CollectError::NoCluster { .. }
                | CollectError::Config(_)
                | CollectError::InvalidFlag(_)
                | CollectError::NotFound { .. },
            ) => "configuration",
            CheckError::Analyze(AnalyzeError::Rule { .. } | AnalyzeError::Rules(_)) => "rules",
            CheckError::FailedAndMetrics { error, .. } => error.reason(),
            _ => "internal",
        }
    }
}

/// A check that could not run: the error, and what to print on stdout before it is reported, so that a
/// CronJob's log or a script reading `--format json` sees a result either way.
#[derive(Debug)]
pub struct CheckFailure {
    /// Why the check did not run to the end.
    pub error: CheckError,
    /// With `--format json`: `{"check": {"success": false, "reason": …, "error": …, …}}`; the summary format
    /// prints nothing (the error goes to stderr). A check that ran but could not write its metrics has its
    /// usual output here.
    pub output: Option<String>,
}

/// Runs the check. `color` applies to the summary format (the caller knows whether stdout is a terminal).
/// With `--prometheus-textfile`, the metrics are written whatever happens: a check that could not run writes
/// `snapdoc_check_success 0` and `snapdoc_check_failure{reason}`.
pub async fn run(args: &CheckOptions, color: bool) -> Result<CheckOutcome, CheckFailure> {
    let started = Instant::now();
    let mut identity = CheckIdentity {
        cluster: args
            .cluster_name
            .clone()
            .or_else(|| args.collect.cluster.context.clone())
            .unwrap_or_default(),
        velero_version: None,
    };
    let result = collect_and_analyse(args, color, started, &mut identity).await;
    let error = match result {
        Ok((outcome, metrics_text)) => {
            if let Err(error) = publish(args, &identity, &metrics_text).await {
                // The analysis is done and printed; only the metrics are missing.
                return Err(CheckFailure {
                    error: error.into(),
                    output: Some(outcome.output),
                });
            }
            return Ok(outcome);
        }
        Err(error) => error,
    };
    let duration = started.elapsed();
    let finished = Timestamp::now();
    let reason = error.reason();
    let text = prometheus::render_failure_metrics(&identity, duration, finished, reason);
    let error = match publish(args, &identity, &text).await {
        Ok(()) => error,
        Err(metrics) => CheckError::FailedAndMetrics {
            error: Box::new(error),
            metrics,
        },
    };
    let output = match args.format {
        CheckFormat::Json => Some(failure_json(&error, duration, finished)),
        CheckFormat::Summary => None,
    };
    Err(CheckFailure { error, output })
}

/// Writes the metrics where they were asked for: the textfile, the Pushgateway, or both.
async fn publish(
    args: &CheckOptions,
    identity: &CheckIdentity,
    text: &str,
) -> Result<(), MetricsError> {
    if let Some(path) = &args.prometheus_textfile {
        prometheus::write_textfile(path, text)?;
    }
    if let Some(url) = &args.pushgateway {
        pushgateway::push(url, &identity.cluster, text).await?;
    }
    Ok(())
}

/// The JSON result of a check that could not run. Not an analysis (no `schemaVersion`, no findings): a reader
/// of the analysis document must not take it for a clean one.
fn failure_json(error: &CheckError, duration: Duration, finished: Timestamp) -> String {
    // Each cause once, as stderr shows them.
    let message = crate::analyze::error::causes_once(error);
    let document = serde_json::json!({
        "check": {
            "success": false,
            "reason": error.reason(),
            "error": message,
            "finished": finished.to_string(),
            "durationSeconds": duration.as_millis() as f64 / 1000.0,
        }
    });
    let mut text = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
    text.push('\n');
    text
}

async fn collect_and_analyse(
    args: &CheckOptions,
    color: bool,
    started: Instant,
    identity: &mut CheckIdentity,
) -> Result<(CheckOutcome, String), CheckError> {
    // Rules first: a broken --rules directory is reported before the cluster is touched.
    // One bundle a run: its log scanners are freed once its logs are scanned.
    let rules = RuleSet::load(&args.analysis.rules_dirs)?.for_one_bundle();
    // Collected into a scratch directory (beside a kept bundle, so the final rename stays on one file
    // system): a check that fails half-way leaves the bundles of earlier runs as they were.
    let scratch_parent = match &args.bundle {
        Some(path) => rotation::parent_dir(path),
        None => std::env::temp_dir(),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".snapdoc-check-")
        .tempdir_in(&scratch_parent)
        .map_err(CheckError::TempDir)?;
    let collected = scratch.path().join("check.zip");

    let (client, cluster) = collect::client_from(&args.collect.cluster).await?;
    if args.cluster_name.is_none() {
        identity.cluster = cluster
            .context
            .clone()
            .or_else(|| cluster.server.clone())
            .unwrap_or_default();
    }
    collect::collect(client.clone(), cluster, &args.collect, &collected).await?;
    let bundle_path = match &args.bundle {
        Some(path) => {
            rotation::rotate(path, args.keep_bundles).map_err(CheckError::Rotate)?;
            std::fs::rename(&collected, path).map_err(|source| {
                CheckError::Rotate(rotation::RotateError {
                    path: path.clone(),
                    source,
                })
            })?;
            path.clone()
        }
        None => collected,
    };

    let (mut analysis, health) = analyse(&bundle_path, &rules)?;
    identity.velero_version = analysis
        .environment
        .velero
        .as_ref()
        .and_then(|velero| velero.version.clone());
    if args.bundle.is_none() {
        analysis.bundle.path = BUNDLE_NOT_KEPT.to_string();
    }
    // The scratch bundle goes as soon as it is read.
    drop(scratch);
    if let Some(image) = &args.probe_image {
        analysis.probes =
            crate::probe::probe_locations(client, &crate::probe::locations_of(&analysis), image)
                .await;
    }

    let format = match args.format {
        CheckFormat::Json => ReportFormat::Json,
        CheckFormat::Summary => ReportFormat::Terminal { color },
    };
    let output = report::render(&analysis, format, args.analysis.templates.as_deref())?;
    let exit = check_exit(&analysis, &health, args.analysis.fail_on);
    let duration = started.elapsed();
    let metrics_text = prometheus::render_metrics(&CheckMetrics {
        analysis: &analysis,
        schedules: &health.schedules,
        last_completed_backup_age_seconds: health.last_completed_backup_age_seconds,
        duration,
        finished: Timestamp::now(),
        identity,
    });
    Ok((
        CheckOutcome {
            analysis,
            output,
            exit,
            duration,
        },
        metrics_text,
    ))
}

/// What the metrics need beyond the analysis: per-schedule state and the newest backup's age.
#[derive(Debug, Default)]
struct HealthFacts {
    schedules: Vec<ScheduleStatus>,
    last_completed_backup_age_seconds: Option<u64>,
    /// The cluster proved Velero absent (`facts.cluster.veleroInstalled` false).
    velero_not_installed: bool,
}

fn analyse(path: &Path, rules: &RuleSet) -> Result<(Analysis, HealthFacts), CheckError> {
    let mut bundle = Bundle::open(path)?;
    ensure_something_collected(&bundle)?;
    Ok(analyze_open_bundle_reading_facts(
        &mut bundle,
        rules,
        health_facts,
    )?)
}

/// The check's own figures, from the facts the analysis gathered.
fn health_facts(gathered: &facts::BundleFacts) -> HealthFacts {
    let schedules = gathered
        .kinds
        .get(FACTS_SCHEDULES)
        .map(|facts| facts.iter().filter_map(schedule_status).collect())
        .unwrap_or_default();
    let last_completed_backup_age_seconds = gathered
        .kinds
        .get(FACTS_CLUSTER)
        .and_then(|c| c.first())
        .and_then(|c| c["lastCompletedBackupAgeSeconds"].as_i64())
        .and_then(|age| u64::try_from(age).ok());
    let velero_not_installed = gathered
        .kinds
        .get(FACTS_CLUSTER)
        .and_then(|c| c.first())
        .is_some_and(|c| c["veleroInstalled"] == Value::Bool(false));
    HealthFacts {
        schedules,
        last_completed_backup_age_seconds,
        velero_not_installed,
    }
}

/// A health check is never green without Velero: not installed fails (1) whatever `--fail-on` says, and
/// Velero's objects unread is an incomplete check (2) even when what could be read found something.
fn check_exit(analysis: &Analysis, health: &HealthFacts, fail_on: crate::analyze::FailOn) -> Exit {
    let velero_unread = analysis.not_seen.iter().any(|what| {
        what.starts_with("backups.velero.io") || what.starts_with("whether Velero is installed")
    });
    if velero_unread {
        Exit::Incomplete
    } else if health.velero_not_installed {
        Exit::Findings
    } else {
        Exit::of(&analysis.findings, &analysis.not_seen, fail_on)
    }
}

/// Fails when the bundle holds no Velero object list and no workload list: the cluster was unreachable, or
/// every read was refused. "Velero is not installed" still reads the deployments, so it is judged, not refused.
fn ensure_something_collected(bundle: &Bundle) -> Result<(), CheckError> {
    let velero_objects = format!("{}/", layout::CUSTOM_RESOURCES);
    let workloads = [
        layout::objects_dir("deployments"),
        layout::objects_dir("daemonsets"),
        layout::objects_dir("pods"),
    ];
    let read_something = bundle.entries().iter().any(|entry| {
        entry.starts_with(&velero_objects) || workloads.iter().any(|dir| entry.starts_with(dir))
    });
    if read_something {
        return Ok(());
    }
    let mut reasons: Vec<String> = Vec::new();
    for error in bundle
        .manifest()
        .map(|m| m.collector_errors.as_slice())
        .unwrap_or_default()
    {
        let reason = format!(
            "{}: {}",
            error.target.as_deref().unwrap_or(&error.source),
            error.message
        );
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    const SHOWN: usize = 3;
    let more = reasons.len().saturating_sub(SHOWN);
    reasons.truncate(SHOWN);
    let mut text = reasons.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    if text.is_empty() {
        text = "the bundle holds no Velero object and no workload".into();
    }
    Err(CheckError::NothingCollected { reasons: text })
}

/// A `facts.schedules` object as the metrics see it; ages from the future (clock skew) read as unknown.
pub(crate) fn schedule_status(fact: &Value) -> Option<ScheduleStatus> {
    let seconds = |key: &str| fact[key].as_i64().and_then(|v| u64::try_from(v).ok());
    Some(ScheduleStatus {
        name: fact["name"].as_str()?.to_string(),
        namespace: fact["namespace"].as_str().map(str::to_string),
        last_completed_age_seconds: seconds("lastCompletedAgeSeconds"),
        period_seconds: seconds("periodSeconds"),
        overdue: fact["overdue"].as_bool().unwrap_or(false),
        paused: fact["paused"].as_bool().unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_are_named_by_a_few_fixed_reasons() {
        let unreachable = CheckError::NothingCollected {
            reasons: "x".into(),
        };
        assert_eq!(unreachable.reason(), "unreachable");
        let rules = CheckError::Analyze(AnalyzeError::Rules(vec!["a.yaml:1: bad".into()]));
        assert_eq!(rules.reason(), "rules");
        // A failure whose metrics could not be written either keeps its own reason.
        let both = CheckError::FailedAndMetrics {
            error: Box::new(rules),
            metrics: MetricsError::Write {
                path: "m.prom".into(),
                source: std::io::Error::other("disk full"),
            },
        };
        assert_eq!(both.reason(), "rules");
        let json: Value = serde_json::from_str(&failure_json(
            &both,
            Duration::from_millis(1500),
            "2026-11-25T12:00:00Z".parse().unwrap(),
        ))
        .unwrap();
        assert_eq!(json["check"]["success"], false);
        assert_eq!(json["check"]["reason"], "rules");
        assert_eq!(json["check"]["durationSeconds"], 1.5);
        let error = json["check"]["error"].as_str().unwrap();
        assert!(
            error.contains("a.yaml:1: bad") && error.contains("disk full"),
            "{error}"
        );
        assert_eq!(
            CheckError::TempDir(std::io::Error::other("x")).reason(),
            "internal"
        );
    }

    #[test]
    fn schedule_facts_become_metric_rows() {
        let fact = json!({
            "name": "daily", "namespace": "velero", "schedule": "0 2 * * *", "paused": false,
            "periodSeconds": 86400, "lastCompletedAgeSeconds": 3600, "overdue": false
        });
        assert_eq!(
            schedule_status(&fact),
            Some(ScheduleStatus {
                name: "daily".into(),
                namespace: Some("velero".into()),
                last_completed_age_seconds: Some(3600),
                period_seconds: Some(86_400),
                overdue: false,
                paused: false,
            })
        );
        let never = json!({"name": "weekly", "paused": true, "periodSeconds": null,
            "lastCompletedAgeSeconds": -5, "overdue": true});
        let status = schedule_status(&never).unwrap();
        assert_eq!(status.last_completed_age_seconds, None);
        assert_eq!(status.period_seconds, None);
        assert!(status.overdue && status.paused);
        assert_eq!(schedule_status(&json!({"namespace": "velero"})), None);
    }
}
