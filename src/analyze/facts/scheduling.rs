//! `facts.scheduling`: which nodes the node agent and the data mover's pods cannot run on, from the nodes'
//! taints and the pods' tolerations. A data mover pod (one per DataUpload / DataDownload, named after it, in
//! Velero's namespace) that no node accepts stays Pending until the node agent gives up preparing
//! (`--data-mover-prepare-timeout`, 30 minutes by default) and fails the DataUpload with "timeout on preparing
//! data upload" — which says nothing of the taint. Velero deletes the pod then (`CleanUp` in
//! pkg/exposer/csi_snapshot.go), so for a timed-out one the pod is usually gone: its tolerations are then the
//! ones Velero gives such pods (below), and the scheduler's message is taken from a FailedScheduling event
//! still in the bundle.
//!
//! What Velero gives its data mover pods (vmware-tanzu/velero): v1.16.0 (8f31599f)
//! pkg/exposer/csi_snapshot.go `createBackupPod` and generic_restore.go `createRestorePod` set no toleration
//! on Linux; v1.17.0 copies from the node-agent DaemonSet only the tolerations of the keys in
//! pkg/util/third_party.go `ThirdPartyTolerations` (`kubernetes.azure.com/scalesetpriority`,
//! `CriticalAddonsOnly`). The API server's DefaultTolerationSeconds admission adds the `not-ready` /
//! `unreachable` NoExecute tolerations to every pod.
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::components::Workload;
use super::inventory::Inventory;
use super::json::{self, array_at, str_at};
use super::settings;
use crate::analyze::analysis::ServerSetting;
use crate::analyze::versions;

/// A taint as `kubectl describe node` writes it: `key=value:Effect`, `key:Effect` without a value.
fn taint_text(taint: &Value) -> Option<String> {
    let key = str_at(taint, &["key"])?;
    let effect = str_at(taint, &["effect"]).unwrap_or("");
    Some(match str_at(taint, &["value"]) {
        Some(value) => format!("{key}={value}:{effect}"),
        None => format!("{key}:{effect}"),
    })
}

/// Kubernetes' `Toleration.ToleratesTaint` (k8s.io/api core/v1 toleration.go): an empty effect matches
/// every effect, an empty key with `Exists` every key; `Equal` (or no operator) compares the values.
fn tolerates(toleration: &Value, taint: &Value) -> bool {
    fn field<'v>(v: &'v Value, key: &str) -> &'v str {
        str_at(v, &[key]).unwrap_or("")
    }
    let effect = field(toleration, "effect");
    if !effect.is_empty() && effect != field(taint, "effect") {
        return false;
    }
    let key = field(toleration, "key");
    if !key.is_empty() && key != field(taint, "key") {
        return false;
    }
    match field(toleration, "operator") {
        "Exists" => true,
        "" | "Equal" => field(toleration, "value") == field(taint, "value"),
        _ => false,
    }
}

/// Only these keep a pod off a node; PreferNoSchedule is a preference the scheduler may ignore.
fn repels(taint: &Value) -> bool {
    matches!(str_at(taint, &["effect"]), Some("NoSchedule" | "NoExecute"))
}

/// A toleration as one line of text, for messages.
fn toleration_text(toleration: &Value) -> String {
    let key = str_at(toleration, &["key"]).unwrap_or("*");
    let effect = str_at(toleration, &["effect"]).unwrap_or("any effect");
    match (
        str_at(toleration, &["operator"]),
        str_at(toleration, &["value"]),
    ) {
        (Some("Exists"), _) => format!("{key} (Exists):{effect}"),
        (_, Some(value)) => format!("{key}={value}:{effect}"),
        (_, None) => format!("{key}:{effect}"),
    }
}

/// The nodes whose repelling taints `tolerations` leave untolerated, and how many nodes accept them.
struct Fit {
    /// (node, its untolerated taints), in node order.
    untolerated: Vec<(String, Vec<String>)>,
    node_count: usize,
    /// Nodes with no untolerated taint that are not cordoned.
    fitting: usize,
}

/// The NoSchedule / NoExecute taints of `node` that `tolerations` leave untolerated, as text.
pub(crate) fn untolerated_taints(node: &Value, tolerations: &[Value]) -> Vec<String> {
    array_at(node, &["spec", "taints"])
        .iter()
        .filter(|t| repels(t) && !tolerations.iter().any(|tol| tolerates(tol, t)))
        .filter_map(taint_text)
        .collect()
}

fn fit(nodes: &[Value], tolerations: &[Value]) -> Fit {
    let mut untolerated = Vec::new();
    let mut fitting = 0;
    for node in nodes {
        let Some(name) = json::name(node) else {
            continue;
        };
        let taints = untolerated_taints(node, tolerations);
        let cordoned = json::bool_at(node, &["spec", "unschedulable"]) == Some(true);
        if taints.is_empty() && !cordoned {
            fitting += 1;
        }
        if !taints.is_empty() {
            untolerated.push((name.to_string(), taints));
        }
    }
    Fit {
        untolerated,
        node_count: nodes.iter().filter(|n| json::name(n).is_some()).count(),
        fitting,
    }
}

impl Fit {
    fn taints_json(&self) -> Value {
        Value::Array(
            self.untolerated
                .iter()
                .flat_map(|(node, taints)| {
                    taints
                        .iter()
                        .map(move |taint| json!({"node": node, "taint": taint}))
                })
                .collect(),
        )
    }

    /// "node worker-1 has taint dedicated=app:NoSchedule, node cp-1 has taints a:NoSchedule and b:NoExecute".
    fn taints_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .untolerated
            .iter()
            .map(|(node, taints)| match taints.as_slice() {
                [one] => format!("node {node} has taint {one}"),
                _ => format!("node {node} has taints {}", taints.join(" and ")),
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

fn tolerations_text(tolerations: &[Value]) -> String {
    if tolerations.is_empty() {
        "none".to_string()
    } else {
        tolerations
            .iter()
            .map(toleration_text)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The tolerations the API server adds to every pod (DefaultTolerationSeconds admission).
fn admission_tolerations() -> Vec<Value> {
    ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
        .into_iter()
        .map(|key| {
            json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
        })
        .collect()
}

/// The tolerations Velero `version` gives a data mover pod it creates (module docs); None when the version
/// is unknown or older than the data mover (1.12).
fn velero_given_tolerations(
    version: &str,
    node_agent: Option<&Workload<'_>>,
) -> Option<Vec<Value>> {
    const THIRD_PARTY: [&str; 2] = [
        "kubernetes.azure.com/scalesetpriority",
        "CriticalAddonsOnly",
    ];
    if versions::compare(version, "1.12.0")?.is_lt() {
        return None;
    }
    let mut given = admission_tolerations();
    if versions::compare(version, "1.17.0")?.is_ge() {
        let inherited = node_agent
            .map(|n| array_at(n.pod_spec, &["tolerations"]))
            .unwrap_or_default();
        given.extend(
            inherited
                .iter()
                .filter(|t| str_at(t, &["key"]).is_some_and(|k| THIRD_PARTY.contains(&k)))
                .cloned(),
        );
    }
    Some(given)
}

/// The scheduler's latest word on a pod: its PodScheduled condition when False, else the newest
/// FailedScheduling event about it (events outlive a deleted pod for the API server's event TTL, an hour).
fn scheduling_message(
    pod: Option<&Value>,
    events: &[Value],
    namespace: Option<&str>,
    name: &str,
) -> Option<(String, &'static str)> {
    let condition = pod.and_then(|pod| {
        array_at(pod, &["status", "conditions"]).iter().find(|c| {
            str_at(c, &["type"]) == Some("PodScheduled") && str_at(c, &["status"]) == Some("False")
        })
    });
    if let Some(message) = condition.and_then(|c| str_at(c, &["message"])) {
        return Some((message.to_string(), "its PodScheduled condition"));
    }
    events
        .iter()
        .filter(|e| {
            str_at(e, &["reason"]) == Some("FailedScheduling")
                && str_at(e, &["involvedObject", "kind"]) == Some("Pod")
                && str_at(e, &["involvedObject", "name"]) == Some(name)
                && (namespace.is_none()
                    || str_at(e, &["involvedObject", "namespace"]).or(json::namespace(e))
                        == namespace)
        })
        .max_by_key(|e| {
            json::time_at(e, &["lastTimestamp"])
                .or_else(|| json::time_at(e, &["eventTime"]))
                .or_else(|| json::time_at(e, &["firstTimestamp"]))
        })
        .and_then(|e| str_at(e, &["message"]))
        .map(|m| (m.to_string(), "a FailedScheduling event"))
}

/// What `facts.scheduling` is built from.
pub(crate) struct SchedulingInputs<'a> {
    pub(crate) inv: &'a Inventory,
    pub(crate) events: &'a [Value],
    pub(crate) velero: Option<&'a Workload<'a>>,
    pub(crate) node_agent: Option<&'a Workload<'a>>,
    /// The server's and node agent's flags (facts/settings.rs).
    pub(crate) settings: &'a [ServerSetting],
}

/// The node-agent DaemonSet's object, then one per data mover operation that timed out preparing or whose
/// pod is Pending. Nothing without the nodes: which taints repel a pod cannot be told then.
pub(crate) fn scheduling_facts(input: &SchedulingInputs<'_>) -> Vec<Value> {
    let SchedulingInputs {
        inv,
        events,
        velero,
        node_agent,
        settings,
    } = *input;
    let nodes: &[Value] = &inv.nodes;
    if nodes.is_empty() {
        return Vec::new();
    }
    let mut facts = Vec::new();
    // Taints the node agent tolerates, by text: a data mover pod's message says when the DaemonSet already
    // tolerates what keeps the pod out (its toleration is not passed on).
    let mut node_agent_tolerated: BTreeMap<String, bool> = BTreeMap::new();
    if let Some(agent) = node_agent {
        let tolerations = array_at(agent.pod_spec, &["tolerations"]);
        for taint in nodes
            .iter()
            .flat_map(|n| array_at(n, &["spec", "taints"]))
            .filter(|t| repels(t))
        {
            if let Some(text) = taint_text(taint) {
                let tolerated = tolerations.iter().any(|tol| tolerates(tol, taint));
                node_agent_tolerated.insert(text, tolerated);
            }
        }
        let fit = fit(nodes, tolerations);
        facts.push(json!({
            "subject": "node-agent",
            "kind": if agent.controller.is_some() { "DaemonSet" } else { "Pod" },
            "name": agent.name,
            "namespace": agent.namespace,
            "tolerations": tolerations_text(tolerations),
            "untoleratedTaints": fit.taints_json(),
            "untoleratedTaintList": fit.taints_text(),
            "nodeCount": fit.node_count,
            "nodesFit": fit.fitting,
        }));
    }
    let version = velero
        .and_then(Workload::version)
        .or_else(|| node_agent.and_then(Workload::version));
    let prepare_timeout = settings::setting(settings, "--data-mover-prepare-timeout");
    let operations = inv
        .data_uploads
        .iter()
        .map(|o| ("DataUpload", o))
        .chain(inv.data_downloads.iter().map(|o| ("DataDownload", o)));
    for (kind, operation) in operations {
        let Some(name) = json::name(operation) else {
            continue;
        };
        let namespace = json::namespace(operation);
        let phase = str_at(operation, &["status", "phase"]);
        let message = str_at(operation, &["status", "message"]);
        // Velero's wording: "timeout on preparing data upload" / "… data download" (data_upload_controller.go
        // / data_download_controller.go `onPrepareTimeout`).
        let timed_out =
            phase == Some("Failed") && message.is_some_and(|m| m.contains("timeout on preparing"));
        // The pod is named after the operation, in its namespace (`createBackupPod`: `podName :=
        // ownerObject.Name`).
        let pod = inv
            .pods
            .iter()
            .find(|p| json::name(p) == Some(name) && json::namespace(p) == namespace);
        let pod_phase = pod.and_then(|p| str_at(p, &["status", "phase"]));
        if !timed_out && pod_phase != Some("Pending") {
            continue;
        }
        let (tolerations, from) = match pod {
            Some(pod) => (
                array_at(pod, &["spec", "tolerations"]).to_vec(),
                "the pod".to_string(),
            ),
            None => match version
                .as_deref()
                .and_then(|v| Some((v, velero_given_tolerations(v, node_agent)?)))
            {
                Some((v, given)) => (given, format!("a data mover pod of Velero {v}")),
                None => continue,
            },
        };
        let fit = fit(nodes, &tolerations);
        let scheduler = scheduling_message(pod, events, namespace, name);
        let agent_tolerates: Vec<&str> = fit
            .untolerated
            .iter()
            .flat_map(|(_, taints)| taints)
            .filter(|t| node_agent_tolerated.get(*t) == Some(&true))
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut labels = Map::new();
        if let Some(backup) = json::label(operation, "velero.io/backup-name") {
            labels.insert("velero.io/backup-name".into(), backup.into());
        }
        if let Some(restore) = json::label(operation, "velero.io/restore-name") {
            labels.insert("velero.io/restore-name".into(), restore.into());
        }
        facts.push(json!({
            "subject": "data-mover-pod",
            // The fact concerns the operation's backup / restore through these labels (engine `related`).
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "operation": kind,
            "operationName": name,
            "backup": json::label(operation, "velero.io/backup-name"),
            "restore": json::label(operation, "velero.io/restore-name"),
            "phase": phase,
            "message": message,
            "prepareTimedOut": timed_out,
            "prepareTimeout": prepare_timeout.and_then(|s| s.value.as_deref()),
            "prepareTimeoutIsDefault": prepare_timeout.map(|s| s.is_default),
            "pod": name,
            "podFound": pod.is_some(),
            "podPhase": pod_phase,
            "schedulingMessage": scheduler.as_ref().map(|(m, _)| m),
            "schedulingMessageFrom": scheduler.as_ref().map(|(_, from)| from),
            "tolerations": tolerations_text(&tolerations),
            "tolerationsFrom": from,
            "untoleratedTaints": fit.taints_json(),
            "untoleratedTaintList": fit.taints_text(),
            "nodeCount": fit.node_count,
            "nodesFit": fit.fitting,
            "nodeAgentTolerates": (!agent_tolerates.is_empty()).then(|| agent_tolerates.join(", ")),
        }));
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, taints: Value) -> Value {
        json!({"metadata": {"name": name}, "spec": {"taints": taints}})
    }

    #[test]
    fn tolerations_match_as_kubernetes_matches_them() {
        let taint = json!({"key": "dedicated", "value": "app", "effect": "NoSchedule"});
        for (toleration, expected) in [
            (
                json!({"key": "dedicated", "operator": "Equal", "value": "app", "effect": "NoSchedule"}),
                true,
            ),
            (json!({"key": "dedicated", "value": "app"}), true),
            (json!({"key": "dedicated", "operator": "Exists"}), true),
            (json!({"operator": "Exists"}), true),
            (
                json!({"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}),
                false,
            ),
            (
                json!({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}),
                false,
            ),
            (json!({"key": "other", "operator": "Exists"}), false),
        ] {
            assert_eq!(tolerates(&toleration, &taint), expected, "{toleration}");
        }
    }

    #[test]
    fn a_node_fits_when_every_repelling_taint_is_tolerated() {
        let nodes = vec![
            node(
                "cp-1",
                json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
            ),
            node(
                "worker-1",
                json!([{"key": "dedicated", "value": "app", "effect": "NoSchedule"},
                       {"key": "spot", "effect": "PreferNoSchedule"}]),
            ),
            node("worker-2", json!([])),
        ];
        let fit = fit(&nodes, &admission_tolerations());
        assert_eq!((fit.node_count, fit.fitting), (3, 1));
        assert_eq!(
            fit.taints_text().as_deref(),
            Some(
                "node cp-1 has taint node-role.kubernetes.io/control-plane:NoSchedule, \
                 node worker-1 has taint dedicated=app:NoSchedule"
            )
        );
        let tolerating = [json!({"key": "dedicated", "operator": "Exists"})];
        assert_eq!(fit_count(&nodes, &tolerating), 2);
    }

    #[test]
    fn a_node_s_untolerated_taints_are_its_repelling_ones_not_tolerated() {
        let node = node(
            "gpu-1",
            json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                   {"key": "spot", "effect": "PreferNoSchedule"},
                   {"key": "dedicated", "value": "ml", "effect": "NoExecute"}]),
        );
        assert_eq!(
            untolerated_taints(&node, &[json!({"key": "dedicated", "operator": "Exists"})]),
            ["nvidia.com/gpu=present:NoSchedule"]
        );
        assert!(untolerated_taints(&node, &[json!({"operator": "Exists"})]).is_empty());
    }

    fn fit_count(nodes: &[Value], tolerations: &[Value]) -> usize {
        fit(nodes, tolerations).fitting
    }

    #[test]
    fn velero_1_17_passes_on_only_the_third_party_tolerations() {
        let spec = json!({"tolerations": [
            {"key": "dedicated", "operator": "Exists"},
            {"key": "CriticalAddonsOnly", "operator": "Exists"}
        ]});
        let container = json!({"name": "node-agent"});
        let agent = Workload {
            name: "node-agent".into(),
            namespace: Some("velero".into()),
            pod_spec: &spec,
            container: &container,
            controller: None,
        };
        let keys = |v: &str| -> Vec<String> {
            velero_given_tolerations(v, Some(&agent))
                .unwrap()
                .iter()
                .map(|t| str_at(t, &["key"]).unwrap().to_string())
                .collect()
        };
        assert_eq!(
            keys("1.16.0"),
            [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable"
            ]
        );
        assert_eq!(keys("1.17.0").last().unwrap(), "CriticalAddonsOnly");
        assert_eq!(keys("1.17.0").len(), 3);
        assert!(velero_given_tolerations("1.11.0", Some(&agent)).is_none());
    }
}
