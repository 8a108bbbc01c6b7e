//! "The next scheduled backup will fail or lose data because …": conditions that hold now and break the next
//! run, trends that cross a timeout within a few runs, and version cliffs ahead or already crossed (the same
//! cliffs as rules SD906–SD908 and SD111 state: Velero 1.17 drops restic backups and local-volume-provider,
//! 1.19 restic restores, AWS plugin 1.9.1 sends checksum headers some S3-compatible stores reject).
use std::collections::BTreeMap;

use serde_json::Value;

use super::restore::kind_of;
use super::{Prediction, ReadinessInputs, span};
use crate::analyze::facts::backups::Backup;
use crate::analyze::facts::components;
use crate::analyze::facts::json::{self, str_at, time_at};
use crate::analyze::versions;

/// Velero's default `--fs-backup-timeout` (`--restic-timeout` before 1.10) and `spec.itemOperationTimeout`.
const DEFAULT_TIMEOUT_SECONDS: i64 = 4 * 3600;
/// A duration trend is predicted this many runs ahead at most: further out, a straight line says little.
const TREND_HORIZON_RUNS: i64 = 10;
/// A trend needs this many Completed runs of one series.
const TREND_MIN_RUNS: usize = 3;

pub(super) fn predictions(input: &ReadinessInputs<'_>) -> Vec<Prediction> {
    let mut out = Vec::new();
    unavailable_locations(input, &mut out);
    node_agents(input, &mut out);
    repositories(input, &mut out);
    duration_trends(input, &mut out);
    version_cliffs(input, &mut out);
    certificates(input, &mut out);
    let rank = |p: &Prediction| match p.severity.as_str() {
        "fail" => 0,
        "warn" => 1,
        _ => 2,
    };
    out.sort_by_key(rank);
    out
}

fn push(out: &mut Vec<Prediction>, kind: &str, severity: &str, subject: &str, text: String) {
    out.push(Prediction {
        kind: kind.into(),
        severity: severity.into(),
        subject: subject.into(),
        text,
        runs_left: None,
    });
}

fn unavailable_locations(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    for location in &input.inv.storage_locations {
        if str_at(location, &["status", "phase"]) != Some("Unavailable") {
            continue;
        }
        let name = json::name(location).unwrap_or("?");
        let why = str_at(location, &["status", "message"])
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        push(
            out,
            "location-unavailable",
            "fail",
            name,
            format!(
                "storage location {name} is Unavailable now{why}: the next backup to it will fail"
            ),
        );
    }
}

/// Nodes that host volumes backed up by file-system backup without a Ready node-agent pod.
fn node_agents(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    for missing in json::array_at(input.cluster, &["nodesWithoutNodeAgent"]) {
        let node = missing["node"].as_str().unwrap_or("?");
        push(
            out,
            "node-agent-missing",
            "fail",
            node,
            format!(
                "node {node} hosts volumes opted in to file-system backup ({}) but runs no node-agent pod: their \
                 data will be missing from the next backup",
                missing["podList"].as_str().unwrap_or("")
            ),
        );
    }
    let Some(agent) = input.node_agent else {
        return;
    };
    let agents = components::pods_of(
        input.inv,
        &["node-agent", "restic"],
        agent.namespace.as_deref(),
    );
    let mut not_ready: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // Looked up for every volume: going through every pod for each was 8 million lookups at 10x scale.
    let pods = json::ByName::index(input.inv.pods.iter());
    for fact in input.volume_facts {
        if fact["method"].as_str() != Some("fs-backup") {
            continue;
        }
        let pod = pods.get(fact["namespace"].as_str(), fact["pod"].as_str());
        let Some(node) = pod.and_then(|p| str_at(p, &["spec", "nodeName"])) else {
            continue;
        };
        let on_node: Vec<&&Value> = agents
            .iter()
            .filter(|a| str_at(a, &["spec", "nodeName"]) == Some(node))
            .collect();
        if !on_node.is_empty() && !on_node.iter().any(|a| components::pod_ready(a)) {
            not_ready.entry(node).or_default().push(format!(
                "{}/{}",
                fact["namespace"].as_str().unwrap_or("?"),
                fact["pod"].as_str().unwrap_or("?")
            ));
        }
    }
    for (node, mut pods) in not_ready {
        pods.dedup();
        push(
            out,
            "node-agent-not-ready",
            "fail",
            node,
            format!(
                "the node-agent pod on node {node} is not Ready while it hosts volumes to back up ({}): the next \
                 file-system backup of them will fail",
                pods.join(", ")
            ),
        );
    }
}

fn repositories(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    for repo in input
        .inv
        .backup_repositories
        .iter()
        .chain(input.inv.restic_repositories.iter())
    {
        let name = json::name(repo).unwrap_or("?");
        let message = str_at(repo, &["status", "message"]);
        if str_at(repo, &["status", "phase"]) == Some("NotReady") {
            push(
                out,
                "repository-not-ready",
                "fail",
                name,
                format!(
                    "repository {name} is NotReady{}: file-system backups into it will fail",
                    message.map(|m| format!(" ({m})")).unwrap_or_default()
                ),
            );
            continue;
        }
        let frequency = str_at(repo, &["spec", "maintenanceFrequency"])
            .and_then(crate::analyze::facts::go_duration_seconds);
        let last = time_at(repo, &["status", "lastMaintenanceTime"]);
        if let (Some(frequency), Some(last)) = (frequency, last) {
            let age = input.age(last);
            if frequency > 0 && age > frequency.saturating_mul(2) {
                push(
                    out,
                    "repository-maintenance",
                    "warn",
                    name,
                    format!(
                        "repository {name} was last maintained {} ago, every {} expected{}: without maintenance \
                         its index grows and backups slow down until they time out",
                        span(age),
                        span(frequency),
                        message.map(|m| format!(" ({m})")).unwrap_or_default()
                    ),
                );
            }
        }
    }
}

/// Per series (a Velero Schedule, KOTS's scheduled instance or application snapshots), the least-squares line
/// through the durations of its Completed runs, projected to the timeout that applies.
fn duration_trends(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    let mut series: BTreeMap<String, Vec<&Backup>> = BTreeMap::new();
    for backup in &input.inv.backups {
        let key = if let Some(schedule) = backup.schedule.as_deref() {
            format!("schedule {schedule}")
        } else if backup.kots_snapshot_trigger() == Some("schedule") {
            match kind_of(backup) {
                "kots-app" => "KOTS application snapshots".to_string(),
                _ => "KOTS instance snapshots".to_string(),
            }
        } else {
            continue;
        };
        if backup.is_completed() {
            series.entry(key).or_default().push(backup);
        }
    }
    let fs_timeout = input
        .velero
        .and_then(|v| {
            v.flag("--fs-backup-timeout")
                .or_else(|| v.flag("--restic-timeout"))
        })
        .and_then(|t| crate::analyze::facts::go_duration_seconds(&t))
        .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    for (subject, mut backups) in series {
        backups.sort_by_key(|b| b.status.started);
        let durations: Vec<i64> = backups
            .iter()
            .filter_map(|b| {
                let start = b.status.started?;
                let end = b.status.completed?;
                Some(end.duration_since(start).as_secs())
            })
            .collect();
        if durations.len() < TREND_MIN_RUNS {
            continue;
        }
        let newest = backups.last().copied();
        let (timeout, timeout_name) = match newest
            .and_then(|b| b.spec.item_operation_timeout.as_deref())
            .and_then(crate::analyze::facts::go_duration_seconds)
        {
            Some(item) if uses_data_mover(input, newest) => (item, "itemOperationTimeout"),
            _ => (fs_timeout, "fs-backup-timeout"),
        };
        let Some(slope) = slope(&durations) else {
            continue;
        };
        let fitted_last = fitted_last(&durations, slope);
        if fitted_last >= timeout as f64 {
            push(
                out,
                "duration-trend",
                "fail",
                &subject,
                format!(
                    "{subject}: backups now take about {} against a {timeout_name} of {}: the next run will time out",
                    span(fitted_last as i64),
                    span(timeout)
                ),
            );
            continue;
        }
        if slope <= 0.0 {
            continue;
        }
        let runs_left = ((timeout as f64 - fitted_last) / slope).ceil() as i64;
        if runs_left <= TREND_HORIZON_RUNS {
            out.push(Prediction {
                kind: "duration-trend".into(),
                severity: "warn".into(),
                subject: subject.clone(),
                text: format!(
                    "{subject}: durations grow by about {} a run (last {}): at this rate a backup passes the {} \
                     {timeout_name} in {runs_left} run(s)",
                    span(slope as i64),
                    span(*durations.last().unwrap_or(&0)),
                    span(timeout)
                ),
                runs_left: Some(runs_left),
            });
        }
    }
}

fn uses_data_mover(input: &ReadinessInputs<'_>, backup: Option<&Backup>) -> bool {
    let Some((backup, name)) = backup.and_then(|b| Some((b, b.name.as_deref()?))) else {
        return false;
    };
    backup.spec.snapshot_move_data == Some(true)
        || input
            .inv
            .data_uploads
            .iter()
            .any(|d| json::label(d, "velero.io/backup-name") == Some(name))
}

/// Least-squares slope of the durations against the run number, seconds per run.
fn slope(durations: &[i64]) -> Option<f64> {
    let n = durations.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = durations.iter().sum::<i64>() as f64 / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, d) in durations.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (*d as f64 - mean_y);
        den += dx * dx;
    }
    (den > 0.0).then(|| num / den)
}

/// The line's value at the last run.
fn fitted_last(durations: &[i64], slope: f64) -> f64 {
    let n = durations.len() as f64;
    let mean_y = durations.iter().sum::<i64>() as f64 / n;
    mean_y + slope * (n - 1.0) / 2.0
}

fn version_cliffs(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    let Some(velero) = input.velero_version() else {
        return;
    };
    let at_least = |v: &str| input.velero_at_least(v) == Some(true);
    let uploaders = crate::analyze::facts::uploaders(input.inv, input.velero);
    let restic = uploaders.in_use.iter().any(|u| u == "restic");
    if restic {
        let (severity, text) = if at_least("1.19.0") {
            (
                "fail",
                format!(
                    "Velero {velero} cannot restore the restic backups here (1.19 removed restic): restore them with 1.18 and take Kopia backups"
                ),
            )
        } else if at_least("1.17.0") {
            (
                "warn",
                format!(
                    "Velero {velero} still restores the restic backups here; upgrading to 1.19 makes them unrestorable"
                ),
            )
        } else {
            (
                "info",
                format!(
                    "Velero {velero} backs pod volumes up with restic: from Velero 1.17 new backups must use Kopia and from 1.19 restic backups cannot be restored"
                ),
            )
        };
        push(out, "version-cliff", severity, "velero", text);
    }
    let lvp: Vec<&str> = input
        .inv
        .storage_locations
        .iter()
        .filter(|l| {
            str_at(l, &["spec", "provider"]).is_some_and(|p| p.starts_with("replicated.com/"))
        })
        .filter_map(json::name)
        .collect();
    if !lvp.is_empty() {
        let (severity, text) = if at_least("1.17.0") {
            (
                "fail",
                format!(
                    "local-volume-provider location(s) {} do not work with Velero {velero} (1.17+ backs volumes up with Kopia only): pod volume data is not backed up",
                    lvp.join(", ")
                ),
            )
        } else {
            (
                "info",
                format!(
                    "local-volume-provider location(s) {} stop working when Velero is upgraded to 1.17",
                    lvp.join(", ")
                ),
            )
        };
        push(
            out,
            "version-cliff",
            severity,
            "local-volume-provider",
            text,
        );
    }
    aws_checksum(input, out);
}

/// AWS plugin 1.9.1+ (aws-sdk-go-v2) sends checksum headers that many S3-compatible stores reject, unless the
/// location sets `checksumAlgorithm: ""` (rule SD111).
fn aws_checksum(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    let Some(plugin) = input
        .environment
        .plugins
        .iter()
        .find(|p| p.name == "velero-plugin-for-aws")
    else {
        return;
    };
    let Some(version) = plugin.version.as_deref().and_then(versions::core_version) else {
        return;
    };
    if versions::compare(&version, "1.9.1").is_none_or(|o| o.is_lt()) {
        return;
    }
    for location in &input.inv.storage_locations {
        let provider = str_at(location, &["spec", "provider"]).unwrap_or_default();
        if !matches!(provider, "aws" | "velero.io/aws") {
            continue;
        }
        let Some(endpoint) = str_at(location, &["spec", "config", "s3Url"]) else {
            continue;
        };
        let aws = endpoint.contains(".amazonaws.com");
        let disabled = json::at(location, &["spec", "config", "checksumAlgorithm"]).is_some();
        if aws || disabled {
            continue;
        }
        let name = json::name(location).unwrap_or("?");
        push(
            out,
            "version-cliff",
            "warn",
            name,
            format!(
                "velero-plugin-for-aws {version} sends checksum headers to the S3-compatible store {endpoint} of \
                 location {name}; stores that reject them fail every backup: set checksumAlgorithm: \"\" in its config"
            ),
        );
    }
}

/// A CA certificate expiring this close ahead is said as a warning.
const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// The CA certificates a storage location trusts (`spec.objectStorage.caCert`, base64 of PEM, used for a
/// self-signed S3-compatible store such as kURL's MinIO or rook-ceph's RGW): once one expires, TLS to the
/// store fails and with it every backup and restore. Said ahead of time, counted from the bundle's time.
fn certificates(input: &ReadinessInputs<'_>, out: &mut Vec<Prediction>) {
    for location in &input.inv.storage_locations {
        let Some(encoded) = str_at(location, &["spec", "objectStorage", "caCert"]) else {
            continue;
        };
        let name = json::name(location).unwrap_or("?");
        for not_after in ca_not_after(encoded) {
            let left = not_after.as_second() - input.now.as_second();
            let when = not_after.strftime("%Y-%m-%d");
            if left <= 0 {
                push(
                    out,
                    "certificate-expiry",
                    "fail",
                    name,
                    format!(
                        "the CA certificate location {name} trusts (spec.objectStorage.caCert) expired on {when}: \
                         TLS to its object store fails, and with it every backup and restore"
                    ),
                );
            } else if left <= CERTIFICATE_WARNING_DAYS * 86_400 {
                push(
                    out,
                    "certificate-expiry",
                    "warn",
                    name,
                    format!(
                        "the CA certificate location {name} trusts (spec.objectStorage.caCert) expires on {when}, \
                         in {}: renew the store's certificate and the location's caCert before then",
                        span(left)
                    ),
                );
            }
        }
    }
}

/// The notAfter of every certificate in a base64-encoded PEM bundle; nothing for text that is not one.
fn ca_not_after(encoded: &str) -> Vec<jiff::Timestamp> {
    use base64::Engine as _;
    let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return Vec::new();
    };
    x509_parser::pem::Pem::iter_from_buffer(&pem)
        .filter_map(Result::ok)
        .filter_map(|pem| {
            let (_, cert) = x509_parser::parse_x509_certificate(&pem.contents).ok()?;
            jiff::Timestamp::from_second(cert.validity().not_after.timestamp()).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rise_has_its_slope_and_a_flat_series_none() {
        let rising = [3600, 4200, 4800, 5400];
        let s = slope(&rising).unwrap();
        assert!((s - 600.0).abs() < 1e-6);
        assert!((fitted_last(&rising, s) - 5400.0).abs() < 1e-6);
        assert_eq!(slope(&[100]), None);
        assert!(slope(&[100, 100, 100]).unwrap().abs() < 1e-9);
    }
}
