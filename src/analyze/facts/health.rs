//! `facts.cluster` fields for the health rules (SD830–SD849): how old the newest KOTS instance backup is, when
//! the newest Completed backup expires, which storage locations Velero stopped validating, and which nodes run
//! pods whose volumes need the node agent but have no node-agent pod.
//!
//! Each field is null when the bundle cannot tell (no backups list, no pods of Velero's namespace): a health
//! rule must not report a gap that is only missing data.
use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::backups::Backup;
use super::components::{self, Workload};
use super::inventory::Inventory;
use super::json::{self, str_at, time_at};

/// Velero's `--store-validation-frequency` default.
const DEFAULT_VALIDATION_FREQUENCY_SECONDS: i64 = 60;
/// A location counts as not validated recently after this long at least (Velero may lag a few periods).
const MIN_VALIDATION_GRACE_SECONDS: i64 = 3600;

pub(crate) struct HealthInputs<'a> {
    pub(crate) inv: &'a Inventory,
    pub now: Timestamp,
    pub velero: Option<&'a Workload<'a>>,
    pub velero_namespace: Option<&'a str>,
    pub node_agent: Option<&'a Workload<'a>>,
    pub(crate) volume_facts: &'a [Value],
}

/// Adds the health fields to the `facts.cluster` object.
pub(crate) fn extend_cluster_fact(cluster: &mut Value, input: &HealthInputs<'_>) {
    let Some(fields) = cluster.as_object_mut() else {
        return;
    };
    instance_backups(fields, input);
    newest_backup_expiry(fields, input);
    fields.insert(
        "storageLocationsNotValidated".into(),
        stale_locations(input),
    );
    fields.insert(
        "nodesWithoutNodeAgent".into(),
        nodes_without_node_agent(input),
    );
}

fn age_seconds(now: Timestamp, then: Timestamp) -> i64 {
    now.duration_since(then).as_secs()
}

fn instance_backups(fields: &mut Map<String, Value>, input: &HealthInputs<'_>) {
    let known = input.inv.has_backups_file;
    let instance: Vec<&Backup> = input
        .inv
        .backups
        .iter()
        .filter(|b| b.is_kots_instance())
        .collect();
    let newest_completed = instance
        .iter()
        .filter(|b| b.is_completed())
        .filter_map(|b| Some((b.finished()?, b.name.as_deref()?)))
        .max_by_key(|(time, _)| *time);
    fields.insert(
        "instanceBackupCount".into(),
        json!(known.then_some(instance.len())),
    );
    fields.insert(
        "completedInstanceBackupCount".into(),
        json!(known.then(|| instance.iter().filter(|b| b.is_completed()).count())),
    );
    fields.insert(
        "lastCompletedInstanceBackupName".into(),
        json!(newest_completed.map(|(_, name)| name)),
    );
    fields.insert(
        "lastCompletedInstanceBackupAgeSeconds".into(),
        json!(newest_completed.map(|(time, _)| age_seconds(input.now, time))),
    );
}

fn newest_backup_expiry(fields: &mut Map<String, Value>, input: &HealthInputs<'_>) {
    let newest = input
        .inv
        .backups
        .iter()
        .filter(|b| b.is_completed())
        .filter_map(|b| Some((b.finished()?, b)))
        .max_by_key(|(time, _)| *time)
        .map(|(_, backup)| backup);
    let expiration = newest.and_then(|b| b.status.expiration);
    fields.insert(
        "newestCompletedBackupName".into(),
        json!(newest.and_then(|b| b.name.as_deref())),
    );
    fields.insert(
        "newestCompletedBackupExpiration".into(),
        json!(expiration.map(|t| t.to_string())),
    );
    // Negative once the expiration has passed.
    fields.insert(
        "newestCompletedBackupExpiresInSeconds".into(),
        json!(expiration.map(|t| -age_seconds(input.now, t))),
    );
}

/// Go's `time.Duration` text (`1m0s`, `90s`, `1h30m`, `0s`, `500ms`) in whole seconds.
pub(crate) fn go_duration_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    if text == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    if total.is_finite() && total < i64::MAX as f64 {
        Some(total.round() as i64)
    } else {
        None
    }
}

/// Storage locations whose last validation is older than twice their validation period (at least an hour),
/// or whose validation is switched off. Null without locations; locations of a Velero too old to record
/// validations (no phase, no lastValidationTime) are left out.
fn stale_locations(input: &HealthInputs<'_>) -> Value {
    if input.inv.storage_locations.is_empty() {
        return Value::Null;
    }
    let server_frequency = input
        .velero
        .and_then(|v| v.flag("--store-validation-frequency"))
        .and_then(|f| go_duration_seconds(&f));
    let mut stale = Vec::new();
    for location in &input.inv.storage_locations {
        let Some(name) = json::name(location) else {
            continue;
        };
        let spec_frequency_text = str_at(location, &["spec", "validationFrequency"]);
        let frequency = spec_frequency_text
            .and_then(go_duration_seconds)
            .or(server_frequency)
            .unwrap_or(DEFAULT_VALIDATION_FREQUENCY_SECONDS);
        let validated = time_at(location, &["status", "lastValidationTime"]);
        let phase = str_at(location, &["status", "phase"]);
        let age = validated.map(|t| age_seconds(input.now, t));
        let reason = if frequency == 0 {
            Some("validation is switched off (validationFrequency 0)".to_string())
        } else {
            match (validated, age) {
                (Some(_), Some(age))
                    if age > (frequency.saturating_mul(2)).max(MIN_VALIDATION_GRACE_SECONDS) =>
                {
                    Some(format!(
                        "last validated {age} seconds ago, every {frequency} seconds expected"
                    ))
                }
                (None, _) if phase.is_some() => Some("never validated".to_string()),
                _ => None,
            }
        };
        if let Some(reason) = reason {
            stale.push(json!({
                "name": name,
                "namespace": json::namespace(location),
                "phase": phase,
                "lastValidationTime": validated.map(|t| t.to_string()),
                "ageSeconds": age,
                "validationFrequencySeconds": frequency,
                "reason": reason,
            }));
        }
    }
    Value::Array(stale)
}

/// Nodes that run pods whose volumes are backed up by the node agent (file-system backup) but run no node-agent
/// pod (`podList` is `pods` as text for messages): those volumes cannot be backed up. Null when the node agent is not installed (SD353's case) or the
/// pods of Velero's namespace were not read.
fn nodes_without_node_agent(input: &HealthInputs<'_>) -> Value {
    if input.node_agent.is_none() || !input.inv.has_pods_file {
        return Value::Null;
    }
    let Some(velero_namespace) = input.velero_namespace else {
        return Value::Null;
    };
    let velero_pods_read = input
        .inv
        .pods
        .iter()
        .any(|p| json::namespace(p) == Some(velero_namespace));
    if !velero_pods_read {
        return Value::Null;
    }
    let live = |pod: &&Value| {
        !matches!(
            str_at(pod, &["status", "phase"]),
            Some("Succeeded" | "Failed")
        )
    };
    let agent_nodes: BTreeSet<&str> =
        components::pods_of(input.inv, &["node-agent", "restic"], Some(velero_namespace))
            .into_iter()
            .filter(live)
            .filter_map(|p| str_at(p, &["spec", "nodeName"]))
            .collect();
    let pod_nodes: BTreeMap<(&str, &str), &str> = input
        .inv
        .pods
        .iter()
        .filter(live)
        .filter_map(|p| {
            Some((
                (json::namespace(p)?, json::name(p)?),
                str_at(p, &["spec", "nodeName"])?,
            ))
        })
        .collect();
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for volume in input.volume_facts {
        if volume["method"].as_str() != Some("fs-backup") {
            continue;
        }
        let (Some(namespace), Some(pod)) = (volume["namespace"].as_str(), volume["pod"].as_str())
        else {
            continue;
        };
        if let Some(node) = pod_nodes.get(&(namespace, pod))
            && !agent_nodes.contains(node)
        {
            missing
                .entry(node)
                .or_default()
                .insert(format!("{namespace}/{pod}"));
        }
    }
    // What keeps the DaemonSet's pod off the node, when it is a taint: the usual reason.
    let agent_tolerations = input
        .node_agent
        .map(|n| json::array_at(n.pod_spec, &["tolerations"]))
        .unwrap_or_default();
    Value::Array(
        missing
            .into_iter()
            .map(|(node, pods)| {
                let pod_list = pods
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let taints: Vec<String> = input
                    .inv
                    .nodes
                    .iter()
                    .find(|n| json::name(n) == Some(node))
                    .map(|n| super::scheduling::untolerated_taints(n, agent_tolerations))
                    .unwrap_or_default();
                let taint_list = (!taints.is_empty()).then(|| taints.join(", "));
                json!({"node": node, "pods": pods, "podList": pod_list,
                       "untoleratedTaints": taints, "untoleratedTaintList": taint_list})
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::go_duration_seconds;

    #[test]
    fn go_durations_read_as_seconds() {
        assert_eq!(go_duration_seconds("1m0s"), Some(60));
        assert_eq!(go_duration_seconds("0s"), Some(0));
        assert_eq!(go_duration_seconds("0"), Some(0));
        assert_eq!(go_duration_seconds("1h30m"), Some(5400));
        assert_eq!(go_duration_seconds("2.5h"), Some(9000));
        assert_eq!(go_duration_seconds("1500ms"), Some(2));
        for bad in ["", "m", "10", "1d", "1h-2m", "99999999999999999999999h"] {
            assert_eq!(go_duration_seconds(bad), None, "{bad}");
        }
    }
}
