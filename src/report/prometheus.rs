//! Metrics of a health check for node-exporter's textfile collector or a sidecar that serves the file, encoded
//! by `prometheus_client` (the official Rust client: its escaping and number formatting, not ours). It writes
//! OpenMetrics text, which the classic text format (0.0.4) parsers read too as long as every family is a gauge
//! (see [`Families::encode`]).
//!
//! Every family is a gauge describing the last check; a family without a sample is left out (an empty family
//! says nothing and some parsers reject it). The file is replaced atomically, so a collector never reads half
//! of it. `snapdoc_check_success` and `snapdoc_check_timestamp_seconds` are written even when the check could
//! not run, so an alert can tell "broken backups" from "broken check" and from "no check lately".
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::analyze::analysis::Analysis;
use crate::analyze::findings::Severity;
use crate::analyze::status::Status;

/// What the metrics say about one Velero Schedule (from `facts.schedules`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ScheduleStatus {
    pub name: String,
    pub namespace: Option<String>,
    /// Seconds between the end of the schedule's newest Completed backup and the check; none completed: `None`.
    pub(crate) last_completed_age_seconds: Option<u64>,
    /// Seconds between two runs of the schedule's cron expression, when it parses.
    pub period_seconds: Option<u64>,
    /// No Completed backup within twice the period.
    pub overdue: bool,
    pub paused: bool,
}

/// The phases of a Velero Backup (`status.phase`'s enum in velero.io_backups.yaml, Velero 1.17), each written
/// even at 0.
pub(crate) const BACKUP_PHASES: [&str; 13] = [
    "New",
    "Queued",
    "ReadyToStart",
    "FailedValidation",
    "InProgress",
    "WaitingForPluginOperations",
    "WaitingForPluginOperationsPartiallyFailed",
    "Finalizing",
    "FinalizingPartiallyFailed",
    "Completed",
    "PartiallyFailed",
    "Failed",
    "Deleting",
];

/// Who ran the check and against what: `snapdoc_info`'s labels, written by every check, also one that could
/// not run. The cluster's name is an info label (and the Pushgateway's grouping key), not a label on every
/// series: Prometheus attaches target labels at scrape or push time, and an alert joins the info metric
/// (`* on() group_left(cluster) snapdoc_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CheckIdentity {
    /// The cluster's name: `--cluster-name`, else the kubeconfig context, else the API server's host.
    pub cluster: String,
    /// The Velero server's version, when the check read it.
    pub(crate) velero_version: Option<String>,
}

/// Everything one successful check reports.
#[derive(Debug, Clone)]
pub(crate) struct CheckMetrics<'a> {
    pub analysis: &'a Analysis,
    pub schedules: &'a [ScheduleStatus],
    /// Age of the newest Completed backup of any schedule or none (`facts.cluster`).
    pub(crate) last_completed_backup_age_seconds: Option<u64>,
    /// Collection and analysis together.
    pub duration: Duration,
    pub finished: Timestamp,
    /// The labels of `snapdoc_info`.
    pub(crate) identity: &'a CheckIdentity,
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot write the metrics file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot push the metrics to the Pushgateway {url}: {message}")]
    Push { url: String, message: String },
}

/// One metric family: HELP and TYPE once, then its samples in the order they were added (a
/// `prometheus_client` `Family` keeps them in a hash map, so the file would reorder from run to run).
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(String, String)>, SampleValue)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Self {
        // The crate writes HELP as given, and the text format would need these escaped.
        debug_assert!(!help.contains(['\\', '\n']), "{name}: HELP needs escaping");
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    fn sample(mut self, labels: &[(&str, &str)], value: impl Into<SampleValue>) -> Self {
        self.push(labels, value);
        self
    }

    fn push(&mut self, labels: &[(&str, &str)], value: impl Into<SampleValue>) {
        let labels = labels
            .iter()
            .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
            .collect();
        self.samples.push((labels, value.into()));
    }

    fn write_to(self, out: &mut Families) {
        out.0.push(self);
    }
}

/// Every family of one check, handed to `prometheus_client` as a collector of constant gauges: the values are
/// known when the file is written, nothing is updated afterwards.
#[derive(Debug, Default)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // A family without a sample says nothing, and some parsers reject it.
        for family in self.0.iter().filter(|f| !f.samples.is_empty()) {
            let mut metric =
                encoder.encode_descriptor(family.name, family.help, None, MetricType::Gauge)?;
            for (labels, value) in &family.samples {
                let sample = metric.encode_family(labels)?;
                match *value {
                    SampleValue::Int(v) => ConstGauge::new(v).encode(sample)?,
                    SampleValue::Float(v) => ConstGauge::new(v).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}

impl Families {
    /// The exposition text. `prometheus_client` writes only OpenMetrics text, ending in `# EOF`; node-exporter's
    /// textfile collector (and promtool) read it with the classic text parser, which takes `# EOF` for a comment.
    /// Measured with prometheus-node-exporter 1.5.0 and promtool 2.42 (Debian 12), and held by tests/check.rs.
    /// All families are gauges, so the OpenMetrics `_total` suffix of counters never appears, nor the `info`
    /// type: node-exporter 1.5.0 rejects a file with `# TYPE x info` (node_textfile_scrape_error 1), which is
    /// why a failure's reason is a gauge's label and not an Info metric.
    fn encode(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut out = String::new();
        text::encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}

/// A sample value: an integer, or a finite float (no metric here is NaN or infinite).
#[derive(Debug, Clone, Copy)]
enum SampleValue {
    Int(i64),
    Float(f64),
}

impl From<u64> for SampleValue {
    fn from(v: u64) -> Self {
        SampleValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<usize> for SampleValue {
    fn from(v: usize) -> Self {
        SampleValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<i64> for SampleValue {
    fn from(v: i64) -> Self {
        SampleValue::Int(v)
    }
}

impl From<bool> for SampleValue {
    fn from(v: bool) -> Self {
        SampleValue::Int(i64::from(v))
    }
}

impl From<f64> for SampleValue {
    fn from(v: f64) -> Self {
        SampleValue::Float(if v.is_finite() { v } else { 0.0 })
    }
}

fn seconds(duration: Duration) -> f64 {
    // Milliseconds are plenty for a check that takes seconds, and keep the file free of float noise.
    (duration.as_millis() as f64) / 1000.0
}

fn run_metadata(
    out: &mut Families,
    identity: &CheckIdentity,
    success: bool,
    duration: Duration,
    finished: Timestamp,
) {
    Family::new(
        "snapdoc_check_success",
        "Whether the last snapdoc check ran to the end (1) or could not run (0).",
    )
    .sample(&[], success)
    .write_to(out);
    Family::new(
        "snapdoc_check_timestamp_seconds",
        "When the last snapdoc check finished, in seconds since the Unix epoch.",
    )
    .sample(&[], finished.as_second())
    .write_to(out);
    Family::new(
        "snapdoc_check_duration_seconds",
        "How long the last snapdoc check took (collection and analysis).",
    )
    .sample(&[], seconds(duration))
    .write_to(out);
    Family::new(
        "snapdoc_info",
        "Always 1: the snapdoc that ran the last check (version, commit) and the cluster it checked (cluster, \
         velero_version when read).",
    )
    .sample(
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("commit", env!("SNAPDOC_COMMIT")),
            ("cluster", &identity.cluster),
            (
                "velero_version",
                identity.velero_version.as_deref().unwrap_or(""),
            ),
        ],
        1u64,
    )
    .write_to(out);
}

/// The metrics of a check that ran to the end.
pub(crate) fn render_metrics(metrics: &CheckMetrics<'_>) -> String {
    let analysis = metrics.analysis;
    let mut out = Families::default();
    run_metadata(
        &mut out,
        metrics.identity,
        true,
        metrics.duration,
        metrics.finished,
    );

    let mut status = Family::new(
        "snapdoc_analysis_status",
        "The last check's conclusion: 1 for its status (failed, partial, attention, incomplete, healthy), 0 \
         for the others. incomplete: nothing failed that snapdoc could see, but it could not see everything.",
    );
    for state in [
        Status::Failed,
        Status::Partial,
        Status::Attention,
        Status::Incomplete,
        Status::Healthy,
    ] {
        status.push(
            &[("status", state.as_str())],
            usize::from(analysis.status == state),
        );
    }
    status.write_to(&mut out);
    Family::new(
        "snapdoc_not_seen",
        "What the last check could not see that its rules need (Velero's objects refused, whether Velero is \
         installed unknown): above 0, the analysis is incomplete whatever the findings say.",
    )
    .sample(&[], analysis.not_seen.len())
    .write_to(&mut out);

    let mut by_severity = Family::new(
        "snapdoc_findings",
        "Findings of the last check by severity (rules that fired).",
    );
    for severity in [Severity::Fail, Severity::Warn, Severity::Info] {
        let count = analysis
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        by_severity.push(&[("severity", severity.as_str())], count);
    }
    by_severity.write_to(&mut out);

    let mut by_rule = Family::new(
        "snapdoc_finding_hits",
        "Hits (log lines, objects, version pairs) of each rule that fired in the last check.",
    );
    for finding in &analysis.findings {
        by_rule.push(
            &[
                ("rule", &finding.rule_id),
                ("name", &finding.rule_name),
                ("severity", finding.severity.as_str()),
                ("category", &finding.category),
            ],
            finding.count,
        );
    }
    by_rule.write_to(&mut out);

    Family::new(
        "snapdoc_rules_passed",
        "Rules that ran in the last check and found nothing.",
    )
    .sample(&[], analysis.checks_passed.len())
    .write_to(&mut out);
    Family::new(
        "snapdoc_collector_errors",
        "Sources the last check could not read (each one is in the JSON output's collectorErrors).",
    )
    .sample(&[], analysis.collector_errors.len())
    .write_to(&mut out);

    // Readiness, only where the bundle told it: a missing sample is "unknown", never zero.
    let readiness = &analysis.readiness;
    if readiness.known {
        if let Some(age) = readiness
            .newest_restorable
            .as_ref()
            .and_then(|p| p.age_seconds)
        {
            Family::new(
                "snapdoc_readiness_newest_restorable_backup_age_seconds",
                "Age of the newest backup restorable to a new cluster (absent: none is).",
            )
            .sample(&[], age.max(0) as u64)
            .write_to(&mut out);
        }
        Family::new(
            "snapdoc_readiness_restorable_backups",
            "Backups restorable to a new cluster.",
        )
        .sample(
            &[],
            readiness
                .backups
                .iter()
                .filter(|b| b.restorable == crate::analyze::readiness::Restorable::NewCluster)
                .count(),
        )
        .write_to(&mut out);
        Family::new(
            "snapdoc_readiness_unprotected_volumes",
            "Pod volumes and PVCs no backup protects.",
        )
        .sample(&[], readiness.unprotected_volumes())
        .write_to(&mut out);
        Family::new(
            "snapdoc_readiness_volumes_in_no_completed_backup",
            "Pod volumes set up for backup that no Completed backup holds.",
        )
        .sample(&[], readiness.volumes_in_no_completed_backup())
        .write_to(&mut out);
        Family::new(
            "snapdoc_readiness_overdue_schedules",
            "Velero Schedules and KOTS scheduled snapshots that are overdue or never ran.",
        )
        .sample(
            &[],
            readiness
                .schedules
                .iter()
                .filter(|s| s.is_overdue())
                .count(),
        )
        .write_to(&mut out);
    }

    // Every phase Velero defines, 0 included, so `snapdoc_backups{phase="Failed"} > 0` and absence alerts
    // see a series in a healthy cluster too; a phase a newer Velero adds is kept as it comes.
    let mut phases: BTreeMap<&str, usize> = BACKUP_PHASES.iter().map(|phase| (*phase, 0)).collect();
    for backup in analysis.backups.iter().filter(|b| &*b.kind == "backup") {
        *phases
            .entry(backup.phase.as_deref().unwrap_or("Unknown"))
            .or_default() += 1;
    }
    let mut backups = Family::new("snapdoc_backups", "Velero backups in the cluster by phase.");
    for (phase, count) in phases {
        backups.push(&[("phase", phase)], count);
    }
    backups.write_to(&mut out);

    if let Some(age) = metrics.last_completed_backup_age_seconds {
        Family::new(
            "snapdoc_last_completed_backup_age_seconds",
            "Seconds since the newest Completed backup (of any schedule, or none) finished.",
        )
        .sample(&[], age)
        .write_to(&mut out);
    }

    let mut schedules: Vec<&ScheduleStatus> = metrics.schedules.iter().collect();
    schedules.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let schedule_family = |name, help, value: &dyn Fn(&ScheduleStatus) -> Option<SampleValue>| {
        let mut family = Family::new(name, help);
        for schedule in &schedules {
            if let Some(v) = value(schedule) {
                let namespace = schedule.namespace.as_deref().unwrap_or("");
                family.push(&[("namespace", namespace), ("schedule", &schedule.name)], v);
            }
        }
        family
    };
    schedule_family(
        "snapdoc_schedule_last_completed_backup_age_seconds",
        "Seconds since the newest Completed backup of each schedule finished (absent: none completed).",
        &|s| s.last_completed_age_seconds.map(SampleValue::from),
    )
    .write_to(&mut out);
    schedule_family(
        "snapdoc_schedule_period_seconds",
        "Seconds between two runs of each schedule's cron expression.",
        &|s| s.period_seconds.map(SampleValue::from),
    )
    .write_to(&mut out);
    schedule_family(
        "snapdoc_schedule_overdue",
        "1 when a schedule has no Completed backup within twice its period.",
        &|s| Some(SampleValue::from(s.overdue)),
    )
    .write_to(&mut out);
    schedule_family(
        "snapdoc_schedule_paused",
        "1 when a schedule is paused.",
        &|s| Some(SampleValue::from(s.paused)),
    )
    .write_to(&mut out);

    let locations = &analysis.environment.storage_locations;
    let mut available = Family::new(
        "snapdoc_backup_storage_location_available",
        "1 when Velero last found the backup storage location Available.",
    );
    let mut validation_age = Family::new(
        "snapdoc_backup_storage_location_last_validation_age_seconds",
        "Seconds since Velero last validated the backup storage location.",
    );
    for location in locations {
        let namespace = location.namespace.as_deref().unwrap_or("");
        available.push(
            &[
                ("namespace", namespace),
                ("location", &location.name),
                ("provider", location.provider.as_deref().unwrap_or("")),
                ("default", if location.default { "true" } else { "false" }),
            ],
            location.phase.as_deref() == Some("Available"),
        );
        let validated = location
            .last_validation
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok());
        if let Some(validated) = validated {
            let age = metrics.finished.duration_since(validated).as_secs().max(0);
            validation_age.push(
                &[("namespace", namespace), ("location", &location.name)],
                age,
            );
        }
    }
    available.write_to(&mut out);
    validation_age.write_to(&mut out);
    probe_families(&analysis.probes, &mut out);
    out.encode()
}

/// `--probe`: per location whether the probe passed, each check's outcome, the rules it reproduced.
fn probe_families(probes: &[crate::probe::LocationProbe], out: &mut Families) {
    use crate::probe::Status as CheckStatus;
    let mut success = Family::new(
        "snapdoc_probe_success",
        "1 when every check of the in-cluster probe of the storage location passed (0 also when it could not run).",
    );
    let mut checks = Family::new(
        "snapdoc_probe_check",
        "1 when the probe's check passed, 0 when it failed (skipped checks have no sample).",
    );
    let mut reproduced = Family::new(
        "snapdoc_probe_reproduced",
        "1 for each catalog rule whose cause the probe reproduced at the storage location.",
    );
    let mut round_trip = Family::new(
        "snapdoc_probe_round_trip_seconds",
        "Median round trip of the probe's requests to the object store.",
    );
    for probe in probes {
        let location = [
            ("namespace", probe.namespace.as_str()),
            ("location", probe.name.as_str()),
        ];
        success.push(&location, probe.passed());
        let Some(result) = &probe.result else {
            continue;
        };
        for check in &result.checks {
            let passed = match check.status {
                CheckStatus::Passed => true,
                CheckStatus::Failed => false,
                CheckStatus::Skipped => continue,
            };
            let labels = [location[0], location[1], ("check", check.step.id())];
            checks.push(&labels, passed);
        }
        for rule in result.failed_rules() {
            reproduced.push(&[location[0], location[1], ("rule", rule)], 1u64);
        }
        if let Some(ms) = result.round_trip_ms {
            round_trip.push(&location, ms as f64 / 1000.0);
        }
    }
    success.write_to(out);
    checks.write_to(out);
    reproduced.write_to(out);
    round_trip.write_to(out);
}

/// The metrics of a check that could not run: success 0, why (`reason`, one of a few fixed words), when and how
/// long, nothing about the cluster: the last run's findings would be stale, and an alert must not see them.
pub(crate) fn render_failure_metrics(
    identity: &CheckIdentity,
    duration: Duration,
    finished: Timestamp,
    reason: &str,
) -> String {
    let mut out = Families::default();
    run_metadata(&mut out, identity, false, duration, finished);
    Family::new(
        "snapdoc_check_failure",
        "Why the last snapdoc check could not run (reason: unreachable, unauthorized, configuration, rules, \
         internal); written only when snapdoc_check_success is 0.",
    )
    .sample(&[("reason", reason)], 1u64)
    .write_to(&mut out);
    out.encode()
}

/// Replaces `path` with `text` atomically: written to a hidden temporary file in the same directory (which the
/// textfile collector ignores, as it reads only `*.prom`), synced, made world-readable, then renamed over it.
pub(crate) fn write_textfile(path: &Path, text: &str) -> Result<(), MetricsError> {
    let error = |source| MetricsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".snapdoc-metrics-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(error)?;
    temp.write_all(text.as_bytes()).map_err(error)?;
    temp.as_file().sync_all().map_err(error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // node-exporter usually runs as another user than the check.
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(error)?;
    }
    temp.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analysis::{
        ANALYSIS_SCHEMA_VERSION, BackupSummary, BundleInfo, CollectorError, Environment, RuleRef,
        StorageLocationInfo,
    };
    use crate::analyze::findings::Finding;
    use prom_text_format_parser::{Metric, Scrape};

    fn finding(id: &str, name: &str, severity: Severity, count: u64) -> Finding {
        Finding {
            rule_id: id.into(),
            rule_name: name.into(),
            match_kind: "log".into(),
            severity,
            role: Default::default(),
            category: "storage-location".into(),
            title: "t".into(),
            message: "m".into(),
            cause: "c".into(),
            fix: "f".into(),
            docs: vec![],
            evidence: vec![],
            count,
            first_seen: None,
            last_seen: None,
            related: vec![],
            targets: vec![],
        }
    }

    fn backup(name: &str, phase: &str) -> BackupSummary {
        BackupSummary {
            kind: "backup".into(),
            name: name.into(),
            phase: Some(phase.into()),
            ..Default::default()
        }
    }

    fn analysis() -> Analysis {
        Analysis {
            schema_version: ANALYSIS_SCHEMA_VERSION,
            status: crate::analyze::Status::Healthy,
            not_seen: Vec::new(),
            tool_version: "0.1.0".into(),
            generated: "2026-11-25T12:00:00Z".into(),
            bundle: BundleInfo::default(),
            environment: Environment {
                storage_locations: vec![
                    StorageLocationInfo {
                        name: "default".into(),
                        namespace: Some("velero".into()),
                        provider: Some("aws".into()),
                        phase: Some("Available".into()),
                        last_validation: Some("2026-11-25T11:59:00Z".into()),
                        default: true,
                        ..Default::default()
                    },
                    // A hostile name: every character the format must escape.
                    StorageLocationInfo {
                        name: "odd\"name\\with\nnewline".into(),
                        namespace: Some("velero".into()),
                        phase: Some("Unavailable".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            backups: vec![
                backup("a", "Completed"),
                backup("b", "Completed"),
                backup("c", "PartiallyFailed"),
                BackupSummary {
                    kind: "restore".into(),
                    name: "r".into(),
                    phase: Some("Completed".into()),
                    ..Default::default()
                },
            ],
            verdicts: vec![],
            findings: vec![
                finding("SD101", "bucket-not-found", Severity::Fail, 3),
                finding("SD106", "location-marked-unavailable", Severity::Warn, 1),
            ],
            checks_passed: vec![RuleRef {
                id: "SD201".into(),
                name: "n".into(),
                title: "t".into(),
                category: "credentials".into(),
            }],
            readiness: Default::default(),
            volumes_not_backed_up: vec![],
            timelines: vec![],
            collector_errors: vec![CollectorError {
                source: "secrets".into(),
                target: Some("secrets/cloud-credentials".into()),
                namespace: Some("velero".into()),
                status: Some(403),
                message: "forbidden".into(),
            }],
            unavailable: vec![],
            probes: vec![],
        }
    }

    /// A label value as the text format spells it, which is how the parser hands it back.
    fn escaped(value: &str) -> String {
        value
            .replace('\\', r"\\")
            .replace('"', r#"\""#)
            .replace('\n', r"\n")
    }

    fn parse(text: &str) -> Vec<Metric> {
        match Scrape::parse(text) {
            Ok(scrape) => scrape.metrics,
            Err(e) => panic!("not valid Prometheus text format: {e:?}\n{text}"),
        }
    }

    fn value(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let metric = metrics.iter().find(|m| m.name == name)?;
        metric
            .samples
            .iter()
            .find(|s| {
                labels.iter().all(|(k, v)| {
                    s.labels
                        .iter()
                        .any(|l| l.key == *k && l.value == escaped(v))
                })
            })
            .map(|s| s.value.value.as_f64())
    }

    #[test]
    fn metrics_parse_and_say_what_the_analysis_says() {
        let analysis = analysis();
        let schedules = [
            ScheduleStatus {
                name: "daily".into(),
                namespace: Some("velero".into()),
                last_completed_age_seconds: Some(3600),
                period_seconds: Some(86_400),
                overdue: false,
                paused: false,
            },
            ScheduleStatus {
                name: "weekly".into(),
                namespace: Some("velero".into()),
                last_completed_age_seconds: None,
                period_seconds: Some(604_800),
                overdue: true,
                paused: false,
            },
        ];
        let finished: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let text = render_metrics(&CheckMetrics {
            analysis: &analysis,
            schedules: &schedules,
            last_completed_backup_age_seconds: Some(3600),
            duration: Duration::from_millis(2345),
            finished,
            identity: &CheckIdentity {
                cluster: "prod-eu".into(),
                velero_version: Some("v1.16.2".into()),
            },
        });
        let metrics = parse(&text);
        for metric in &metrics {
            assert_eq!(
                metric.kind,
                prom_text_format_parser::Type::Gauge,
                "{}",
                metric.name
            );
            assert!(metric.help_desc.is_some(), "{} has no HELP", metric.name);
        }
        let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), unique.len(), "a family is split: {names:?}");

        assert_eq!(value(&metrics, "snapdoc_check_success", &[]), Some(1.0));
        assert_eq!(
            value(&metrics, "snapdoc_check_timestamp_seconds", &[]),
            Some(finished.as_second() as f64)
        );
        assert_eq!(
            value(&metrics, "snapdoc_check_duration_seconds", &[]),
            Some(2.345)
        );
        assert_eq!(
            value(&metrics, "snapdoc_findings", &[("severity", "fail")]),
            Some(1.0)
        );
        assert_eq!(
            value(&metrics, "snapdoc_findings", &[("severity", "warn")]),
            Some(1.0)
        );
        assert_eq!(
            value(&metrics, "snapdoc_findings", &[("severity", "info")]),
            Some(0.0)
        );
        assert_eq!(
            value(
                &metrics,
                "snapdoc_finding_hits",
                &[
                    ("rule", "SD101"),
                    ("name", "bucket-not-found"),
                    ("severity", "fail")
                ]
            ),
            Some(3.0)
        );
        assert_eq!(value(&metrics, "snapdoc_rules_passed", &[]), Some(1.0));
        assert_eq!(value(&metrics, "snapdoc_collector_errors", &[]), Some(1.0));
        assert_eq!(
            value(&metrics, "snapdoc_backups", &[("phase", "Completed")]),
            Some(2.0)
        );
        assert_eq!(
            value(&metrics, "snapdoc_backups", &[("phase", "PartiallyFailed")]),
            Some(1.0)
        );
        for phase in ["Failed", "FailedValidation", "InProgress", "Deleting"] {
            assert_eq!(
                value(&metrics, "snapdoc_backups", &[("phase", phase)]),
                Some(0.0),
                "{phase}: every phase is written, 0 included"
            );
        }
        assert_eq!(
            value(
                &metrics,
                "snapdoc_info",
                &[("cluster", "prod-eu"), ("velero_version", "v1.16.2")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&metrics, "snapdoc_last_completed_backup_age_seconds", &[]),
            Some(3600.0)
        );
        let daily = [("namespace", "velero"), ("schedule", "daily")];
        let weekly = [("namespace", "velero"), ("schedule", "weekly")];
        let age = "snapdoc_schedule_last_completed_backup_age_seconds";
        assert_eq!(value(&metrics, age, &daily), Some(3600.0));
        assert_eq!(
            value(&metrics, age, &weekly),
            None,
            "no completed backup: no age"
        );
        assert_eq!(
            value(&metrics, "snapdoc_schedule_overdue", &weekly),
            Some(1.0)
        );
        assert_eq!(
            value(&metrics, "snapdoc_schedule_overdue", &daily),
            Some(0.0)
        );
        assert_eq!(
            value(&metrics, "snapdoc_schedule_period_seconds", &weekly),
            Some(604_800.0)
        );
        let available = "snapdoc_backup_storage_location_available";
        assert_eq!(
            value(
                &metrics,
                available,
                &[("location", "default"), ("default", "true")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &metrics,
                available,
                &[("location", "odd\"name\\with\nnewline")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &metrics,
                "snapdoc_backup_storage_location_last_validation_age_seconds",
                &[("location", "default")]
            ),
            Some(60.0)
        );
    }

    #[test]
    fn label_values_are_escaped_as_the_format_requires() {
        let mut families = Families::default();
        Family::new("m", "A metric.")
            .sample(&[("a", "x\"y\\z\nw"), ("b", "plain-name.1")], 1u64)
            .write_to(&mut families);
        let text = families.encode();
        assert!(
            text.contains(r#"m{a="x\"y\\z\nw",b="plain-name.1"} 1"#),
            "{text}"
        );
        assert_eq!(value(&parse(&text), "m", &[("a", "x\"y\\z\nw")]), Some(1.0));
        // The parser the tests rely on rejects what escaping prevents.
        assert!(Scrape::parse("m{a=\"x\"y\"} 1\n").is_err());
    }

    #[test]
    fn a_failed_check_still_reports_when_it_ran() {
        let finished: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let identity = CheckIdentity {
            cluster: "prod-eu".into(),
            velero_version: None,
        };
        let text =
            render_failure_metrics(&identity, Duration::from_secs(3), finished, "unreachable");
        // The same HELP and TYPE lines as the hand-written encoder gave; OpenMetrics' `# EOF` last.
        assert!(
            text.starts_with(
                "# HELP snapdoc_check_success Whether the last snapdoc check ran to the end (1) or could not \
                 run (0).\n# TYPE snapdoc_check_success gauge\nsnapdoc_check_success 0\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        let metrics = parse(&text);
        assert_eq!(value(&metrics, "snapdoc_check_success", &[]), Some(0.0));
        assert_eq!(
            value(&metrics, "snapdoc_check_duration_seconds", &[]),
            Some(3.0)
        );
        assert_eq!(
            value(
                &metrics,
                "snapdoc_check_failure",
                &[("reason", "unreachable")]
            ),
            Some(1.0)
        );
        assert!(value(&metrics, "snapdoc_findings", &[("severity", "fail")]).is_none());
        assert_eq!(
            value(&metrics, "snapdoc_info", &[("cluster", "prod-eu")]),
            Some(1.0),
            "a failed check still says which cluster it could not check"
        );
    }

    #[test]
    fn the_textfile_is_replaced_whole_and_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapdoc.prom");
        std::fs::write(&path, "old content\n").unwrap();
        write_textfile(&path, "snapdoc_check_success 1\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "snapdoc_check_success 1\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "snapdoc.prom")
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        let missing_dir = dir.path().join("missing").join("snapdoc.prom");
        let error = write_textfile(&missing_dir, "x\n").unwrap_err().to_string();
        assert!(error.contains("missing"), "{error}");
    }
}
