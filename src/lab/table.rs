//! `Table` answers (what `kubectl get` asks for): the API server's columns for the built-in kinds, a CRD's
//! additionalPrinterColumns for custom resources.
use jiff::Timestamp;
use serde_json::{Value, json};

use super::resources::{PrinterColumn, ResourceDef};
use super::timeshift::parse_rfc3339;

struct Column {
    name: &'static str,
    kind: &'static str,
    priority: i64,
    description: &'static str,
}

const fn col(
    name: &'static str,
    kind: &'static str,
    priority: i64,
    description: &'static str,
) -> Column {
    Column {
        name,
        kind,
        priority,
        description,
    }
}

const NAME: Column = col(
    "Name",
    "string",
    0,
    "Name must be unique within a namespace.",
);
const AGE: Column = col(
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

// The wide columns every pod-template workload (deployments, replica sets) shows.
const CONTAINERS: Column = col(
    "Containers",
    "string",
    1,
    "Names of each container in the template.",
);
const IMAGES: Column = col(
    "Images",
    "string",
    1,
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = col("Selector", "string", 1, "Label selector for pods.");

/// Kubernetes' `duration.HumanDuration`: how `kubectl get` shows ages.
pub(super) fn human_duration(seconds: i64) -> String {
    // "5m", or "5m30s" when the smaller unit is not zero.
    fn two_units(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
        if minor == 0 {
            format!("{major}{major_unit}")
        } else {
            format!("{major}{major_unit}{minor}{minor_unit}")
        }
    }
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return two_units(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return two_units(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return two_units(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return two_units(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

fn age_of(text: Option<&str>, now: Timestamp) -> String {
    match text.and_then(parse_rfc3339) {
        Some(time) => human_duration(now.duration_since(time).as_secs()),
        None => "<unknown>".to_string(),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn or_none(value: String) -> String {
    if value.is_empty() {
        "<none>".to_string()
    } else {
        value
    }
}

fn count(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

fn joined(values: impl Iterator<Item = String>) -> String {
    values.collect::<Vec<_>>().join(",")
}

/// Cells of the built-in kinds, in the order of their columns.
fn builtin_row(def: &ResourceDef, object: &Value, now: Timestamp) -> (Vec<Column>, Vec<Value>) {
    let name = json!(object["metadata"]["name"]);
    let age = json!(age_of(
        object["metadata"]["creationTimestamp"].as_str(),
        now
    ));
    let spec = &object["spec"];
    let status = &object["status"];
    let containers = |spec: &Value| -> (String, String) {
        let list = spec["template"]["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (
            joined(list.iter().map(|c| text(&c["name"]))),
            joined(list.iter().map(|c| text(&c["image"]))),
        )
    };
    let selector = |spec: &Value| -> String {
        spec["selector"]["matchLabels"]
            .as_object()
            .map(|labels| joined(labels.iter().map(|(k, v)| format!("{k}={}", text(v)))))
            .unwrap_or_default()
    };
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "pods") => {
            let statuses = status["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = spec["containers"].as_array().map(Vec::len).unwrap_or(0);
            let ready = statuses.iter().filter(|s| s["ready"] == true).count();
            let restarts: i64 = statuses.iter().map(|s| count(&s["restartCount"])).sum();
            let last_restart = statuses
                .iter()
                .filter_map(|s| s["lastState"]["terminated"]["finishedAt"].as_str())
                .filter_map(parse_rfc3339)
                .max();
            let restarts_cell = match last_restart {
                Some(time) if restarts > 0 => {
                    format!(
                        "{restarts} ({} ago)",
                        human_duration(now.duration_since(time).as_secs())
                    )
                }
                _ => restarts.to_string(),
            };
            let mut reason = status["reason"]
                .as_str()
                .or(status["phase"].as_str())
                .unwrap_or("Unknown")
                .to_string();
            for container in statuses.iter().rev() {
                if let Some(waiting) = container["state"]["waiting"]["reason"].as_str() {
                    reason = waiting.to_string();
                } else if let Some(terminated) = container["state"]["terminated"]["reason"].as_str()
                {
                    reason = terminated.to_string();
                }
            }
            if object["metadata"]["deletionTimestamp"].is_string() {
                reason = "Terminating".to_string();
            }
            (
                vec![
                    NAME,
                    col(
                        "Ready",
                        "string",
                        0,
                        "The aggregate readiness state of this pod for accepting traffic.",
                    ),
                    col(
                        "Status",
                        "string",
                        0,
                        "The aggregate status of the containers in this pod.",
                    ),
                    col(
                        "Restarts",
                        "string",
                        0,
                        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                    ),
                    AGE,
                    col(
                        "IP",
                        "string",
                        1,
                        "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                    ),
                    col(
                        "Node",
                        "string",
                        1,
                        "NodeName is a request to schedule this pod onto a specific node.",
                    ),
                    col(
                        "Nominated Node",
                        "string",
                        1,
                        "nominatedNodeName is set only when this pod preempts other pods on the node.",
                    ),
                    col(
                        "Readiness Gates",
                        "string",
                        1,
                        "If specified, all readiness gates will be evaluated for pod readiness.",
                    ),
                ],
                vec![
                    name,
                    json!(format!("{ready}/{total}")),
                    json!(reason),
                    json!(restarts_cell),
                    age,
                    json!(or_none(text(&status["podIP"]))),
                    json!(or_none(text(&spec["nodeName"]))),
                    json!(or_none(text(&status["nominatedNodeName"]))),
                    json!("<none>"),
                ],
            )
        }
        ("apps", "deployments") => {
            let (names, images) = containers(spec);
            (
                vec![
                    NAME,
                    col("Ready", "string", 0, "Number of the pod with ready state"),
                    col(
                        "Up-to-date",
                        "string",
                        0,
                        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                    ),
                    col(
                        "Available",
                        "string",
                        0,
                        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                    ),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    SELECTOR,
                ],
                vec![
                    name,
                    json!(format!(
                        "{}/{}",
                        count(&status["readyReplicas"]),
                        spec["replicas"].as_i64().unwrap_or(1)
                    )),
                    json!(count(&status["updatedReplicas"])),
                    json!(count(&status["availableReplicas"])),
                    age,
                    json!(names),
                    json!(images),
                    json!(selector(spec)),
                ],
            )
        }
        ("apps", "replicasets") => {
            let (names, images) = containers(spec);
            (
                vec![
                    NAME,
                    col(
                        "Desired",
                        "integer",
                        0,
                        "Replicas is the number of desired replicas.",
                    ),
                    col(
                        "Current",
                        "integer",
                        0,
                        "Replicas is the most recently observed number of replicas.",
                    ),
                    col(
                        "Ready",
                        "integer",
                        0,
                        "The number of ready replicas for this replica set.",
                    ),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    SELECTOR,
                ],
                vec![
                    name,
                    json!(spec["replicas"].as_i64().unwrap_or(1)),
                    json!(count(&status["replicas"])),
                    json!(count(&status["readyReplicas"])),
                    age,
                    json!(names),
                    json!(images),
                    json!(selector(spec)),
                ],
            )
        }
        ("apps", "daemonsets") => {
            let node_selector = spec["template"]["spec"]["nodeSelector"]
                .as_object()
                .map(|labels| joined(labels.iter().map(|(k, v)| format!("{k}={}", text(v)))))
                .unwrap_or_default();
            (
                vec![
                    NAME,
                    col(
                        "Desired",
                        "integer",
                        0,
                        "The total number of nodes that should be running the daemon pod.",
                    ),
                    col(
                        "Current",
                        "integer",
                        0,
                        "The number of nodes that are running at least 1 daemon pod.",
                    ),
                    col(
                        "Ready",
                        "integer",
                        0,
                        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
                    ),
                    col(
                        "Up-to-date",
                        "integer",
                        0,
                        "The total number of nodes that are running updated daemon pod",
                    ),
                    col(
                        "Available",
                        "integer",
                        0,
                        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
                    ),
                    col(
                        "Node Selector",
                        "string",
                        0,
                        "NodeSelector is a selector which must be true for the pod to fit on a node.",
                    ),
                    AGE,
                ],
                vec![
                    name,
                    json!(count(&status["desiredNumberScheduled"])),
                    json!(count(&status["currentNumberScheduled"])),
                    json!(count(&status["numberReady"])),
                    json!(count(&status["updatedNumberScheduled"])),
                    json!(count(&status["numberAvailable"])),
                    json!(or_none(node_selector)),
                    age,
                ],
            )
        }
        ("apps", "statefulsets") => (
            vec![
                NAME,
                col("Ready", "string", 0, "Number of the pod with ready state"),
                AGE,
            ],
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    count(&status["readyReplicas"]),
                    spec["replicas"].as_i64().unwrap_or(1)
                )),
                age,
            ],
        ),
        ("", "namespaces") => (
            vec![
                NAME,
                col("Status", "string", 0, "The status of the namespace"),
                AGE,
            ],
            vec![
                name,
                json!(status["phase"].as_str().unwrap_or("Active")),
                age,
            ],
        ),
        ("", "nodes") => {
            let ready = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Ready")
                .map(|c| {
                    if c["status"] == "True" {
                        "Ready"
                    } else {
                        "NotReady"
                    }
                })
                .unwrap_or("Unknown");
            let roles = object["metadata"]["labels"]
                .as_object()
                .map(|labels| {
                    joined(labels.keys().filter_map(|k| {
                        k.strip_prefix("node-role.kubernetes.io/")
                            .map(str::to_string)
                    }))
                })
                .unwrap_or_default();
            let address = |kind: &str| {
                status["addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["type"] == kind)
                    .map(|a| text(&a["address"]))
                    .unwrap_or_default()
            };
            let info = &status["nodeInfo"];
            (
                vec![
                    NAME,
                    col("Status", "string", 0, "The status of the node"),
                    col("Roles", "string", 0, "The roles of the node"),
                    AGE,
                    col(
                        "Version",
                        "string",
                        0,
                        "Kubelet Version reported by the node.",
                    ),
                    col(
                        "Internal-IP",
                        "string",
                        1,
                        "List of addresses reachable to the node. Queried from cloud provider, if available.",
                    ),
                    col(
                        "External-IP",
                        "string",
                        1,
                        "List of addresses reachable to the node. Queried from cloud provider, if available.",
                    ),
                    col(
                        "OS-Image",
                        "string",
                        1,
                        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
                    ),
                    col(
                        "Kernel-Version",
                        "string",
                        1,
                        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
                    ),
                    col(
                        "Container-Runtime",
                        "string",
                        1,
                        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
                    ),
                ],
                vec![
                    name,
                    json!(ready),
                    json!(or_none(roles)),
                    age,
                    json!(text(&info["kubeletVersion"])),
                    json!(or_none(address("InternalIP"))),
                    json!(or_none(address("ExternalIP"))),
                    json!(text(&info["osImage"])),
                    json!(text(&info["kernelVersion"])),
                    json!(text(&info["containerRuntimeVersion"])),
                ],
            )
        }
        ("", "services") => {
            let ports = spec["ports"]
                .as_array()
                .map(|ports| {
                    joined(ports.iter().map(|p| {
                        format!(
                            "{}/{}",
                            text(&p["port"]),
                            p["protocol"].as_str().unwrap_or("TCP")
                        )
                    }))
                })
                .unwrap_or_default();
            (
                vec![
                    NAME,
                    col("Type", "string", 0, "The type of service."),
                    col("Cluster-IP", "string", 0, "The IP address of the service."),
                    col(
                        "External-IP",
                        "string",
                        0,
                        "The external IP address of the service.",
                    ),
                    col("Port(s)", "string", 0, "The ports of the service."),
                    AGE,
                ],
                vec![
                    name,
                    json!(spec["type"].as_str().unwrap_or("ClusterIP")),
                    json!(or_none(text(&spec["clusterIP"]))),
                    json!("<none>"),
                    json!(or_none(ports)),
                    age,
                ],
            )
        }
        ("", "configmaps") => {
            let data = object["data"].as_object().map(|m| m.len()).unwrap_or(0)
                + object["binaryData"]
                    .as_object()
                    .map(|m| m.len())
                    .unwrap_or(0);
            (
                vec![NAME, col("Data", "string", 0, "Number of data items."), AGE],
                vec![name, json!(data), age],
            )
        }
        ("", "secrets") => (
            vec![
                NAME,
                col("Type", "string", 0, "The type of the secret"),
                col("Data", "string", 0, "The number of entries in the secret"),
                AGE,
            ],
            vec![
                name,
                json!(object["type"].as_str().unwrap_or("Opaque")),
                json!(object["data"].as_object().map(|m| m.len()).unwrap_or(0)),
                age,
            ],
        ),
        ("", "persistentvolumeclaims") => (
            vec![
                NAME,
                col("Status", "string", 0, "The phase of the claim."),
                col("Volume", "string", 0, "The name of the bound volume."),
                col("Capacity", "string", 0, "The capacity of the bound volume."),
                col(
                    "Access Modes",
                    "string",
                    0,
                    "The access modes of the claim.",
                ),
                col(
                    "StorageClass",
                    "string",
                    0,
                    "The storage class of the claim.",
                ),
                AGE,
            ],
            vec![
                name,
                json!(text(&status["phase"])),
                json!(text(&spec["volumeName"])),
                json!(text(&status["capacity"]["storage"])),
                json!(access_modes(&status["accessModes"])),
                json!(or_none(text(&spec["storageClassName"]))),
                age,
            ],
        ),
        ("", "persistentvolumes") => {
            let claim = if spec["claimRef"].is_object() {
                format!(
                    "{}/{}",
                    text(&spec["claimRef"]["namespace"]),
                    text(&spec["claimRef"]["name"])
                )
            } else {
                String::new()
            };
            (
                vec![
                    NAME,
                    col("Capacity", "string", 0, "The capacity of the volume."),
                    col(
                        "Access Modes",
                        "string",
                        0,
                        "The access modes of the volume.",
                    ),
                    col(
                        "Reclaim Policy",
                        "string",
                        0,
                        "What happens to the volume when its claim is released.",
                    ),
                    col("Status", "string", 0, "The phase of the volume."),
                    col("Claim", "string", 0, "The claim bound to the volume."),
                    col(
                        "StorageClass",
                        "string",
                        0,
                        "The storage class of the volume.",
                    ),
                    col("Reason", "string", 0, "Why the volume is in its phase."),
                    AGE,
                ],
                vec![
                    name,
                    json!(text(&spec["capacity"]["storage"])),
                    json!(access_modes(&spec["accessModes"])),
                    json!(
                        spec["persistentVolumeReclaimPolicy"]
                            .as_str()
                            .unwrap_or("Delete")
                    ),
                    json!(text(&status["phase"])),
                    json!(claim),
                    json!(text(&spec["storageClassName"])),
                    json!(text(&status["reason"])),
                    age,
                ],
            )
        }
        ("", "events") => {
            let last_seen = object["lastTimestamp"]
                .as_str()
                .or(object["eventTime"].as_str())
                .or(object["metadata"]["creationTimestamp"].as_str());
            let involved = &object["involvedObject"];
            (
                vec![
                    col("Last Seen", "string", 0, "When the event was last seen."),
                    col("Type", "string", 0, "Type of the event."),
                    col("Reason", "string", 0, "Why the event happened."),
                    col("Object", "string", 0, "The object the event is about."),
                    col(
                        "Message",
                        "string",
                        0,
                        "A human-readable description of the event.",
                    ),
                    col(
                        "Name",
                        "string",
                        1,
                        "Name must be unique within a namespace.",
                    ),
                ],
                vec![
                    json!(age_of(last_seen, now)),
                    json!(text(&object["type"])),
                    json!(text(&object["reason"])),
                    json!(format!(
                        "{}/{}",
                        text(&involved["kind"]).to_ascii_lowercase(),
                        text(&involved["name"])
                    )),
                    json!(text(&object["message"])),
                    name,
                ],
            )
        }
        ("", "serviceaccounts") => (
            vec![NAME, col("Secrets", "string", 0, "Number of secrets."), AGE],
            vec![
                name,
                json!(object["secrets"].as_array().map(Vec::len).unwrap_or(0)),
                age,
            ],
        ),
        ("storage.k8s.io", "storageclasses") => (
            vec![
                NAME,
                col("Provisioner", "string", 0, "The provisioner of the class."),
                col(
                    "ReclaimPolicy",
                    "string",
                    0,
                    "What happens to volumes of the class when released.",
                ),
                col("VolumeBindingMode", "string", 0, "When volumes are bound."),
                col(
                    "AllowVolumeExpansion",
                    "string",
                    0,
                    "Whether volumes can grow.",
                ),
                AGE,
            ],
            vec![
                name,
                json!(text(&object["provisioner"])),
                json!(object["reclaimPolicy"].as_str().unwrap_or("Delete")),
                json!(object["volumeBindingMode"].as_str().unwrap_or("Immediate")),
                json!(
                    object["allowVolumeExpansion"]
                        .as_bool()
                        .unwrap_or(false)
                        .to_string()
                ),
                age,
            ],
        ),
        ("apiextensions.k8s.io", "customresourcedefinitions") => (
            vec![
                NAME,
                col("Created At", "date", 0, "When the definition was created."),
            ],
            vec![name, json!(text(&object["metadata"]["creationTimestamp"]))],
        ),
        _ => (vec![NAME, AGE], vec![name, age]),
    }
}

fn access_modes(modes: &Value) -> String {
    joined(modes.as_array().into_iter().flatten().map(|mode| {
        match mode.as_str().unwrap_or_default() {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        }
        .to_string()
    }))
}

/// A value at a CRD printer column's JSONPath (the simple `.a.b` / `.a[0].b` forms CRDs use).
fn json_path<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = object;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            node = node.get(key)?;
        }
        if let Some(index) = index {
            node = node.get(index)?;
        }
    }
    Some(node)
}

fn custom_row(columns: &[PrinterColumn], object: &Value, now: Timestamp) -> Vec<Value> {
    let mut cells = vec![json!(object["metadata"]["name"])];
    for column in columns {
        let value = json_path(object, &column.json_path);
        cells.push(match (column.column_type.as_str(), value) {
            (_, None) | (_, Some(Value::Null)) => Value::Null,
            ("date", Some(Value::String(time))) => json!(age_of(Some(time), now)),
            (_, Some(value)) => value.clone(),
        });
    }
    if columns.is_empty() {
        cells.push(json!(age_of(
            object["metadata"]["creationTimestamp"].as_str(),
            now
        )));
    }
    cells
}

/// A Table of `objects`; `include_object` is the request's includeObject (None, Metadata, Object).
pub(super) fn table(
    def: &ResourceDef,
    objects: &[Value],
    include_object: &str,
    metadata: Value,
) -> Value {
    let now = Timestamp::now();
    let column_json = |name: &str, kind: &str, format: &str, description: &str, priority: i64| json!({"name": name, "type": kind, "format": format, "description": description, "priority": priority});
    let mut column_definitions: Vec<Value> = Vec::new();
    let mut rows = Vec::new();
    match &def.printer_columns {
        Some(columns) => {
            column_definitions.push(column_json("Name", "string", "name", NAME.description, 0));
            for column in columns {
                column_definitions.push(column_json(
                    &column.name,
                    &column.column_type,
                    &column.format,
                    &column.description,
                    column.priority,
                ));
            }
            if columns.is_empty() {
                column_definitions.push(column_json("Age", "date", "", AGE.description, 0));
            }
            for object in objects {
                rows.push(custom_row(columns, object, now));
            }
        }
        None => {
            let sample = objects.first().cloned().unwrap_or(Value::Null);
            let (columns, _) = builtin_row(def, &sample, now);
            for column in &columns {
                let format = if column.name == "Name" { "name" } else { "" };
                column_definitions.push(column_json(
                    column.name,
                    column.kind,
                    format,
                    column.description,
                    column.priority,
                ));
            }
            for object in objects {
                rows.push(builtin_row(def, object, now).1);
            }
        }
    }
    let rows: Vec<Value> = objects
        .iter()
        .zip(rows)
        .map(|(object, cells)| {
            let mut row = json!({"cells": cells});
            match include_object {
                "None" => {}
                "Object" => {
                    let mut full = object.clone();
                    full["apiVersion"] = json!(def.api_version());
                    full["kind"] = json!(def.kind);
                    row["object"] = full;
                }
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": object["metadata"],
                    });
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(4 * 3600 + 120), "4h2m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(40 * 86400), "40d");
        assert_eq!(human_duration(-2), "<invalid>");
        assert_eq!(human_duration(-1), "0s");
        assert_eq!(human_duration(120), "2m");
        assert_eq!(human_duration(3 * 3600), "3h");
        assert_eq!(human_duration(7 * 86400), "7d");
        assert_eq!(human_duration((3 * 365 + 120) * 86400), "3y120d");
        assert_eq!(human_duration(2 * 365 * 86400), "2y");
        assert_eq!(human_duration(9 * 365 * 86400), "9y");
    }

    #[test]
    fn printer_column_paths() {
        let object = json!({"status": {"phase": "Available", "items": [{"name": "x"}]}});
        assert_eq!(
            json_path(&object, ".status.phase"),
            Some(&json!("Available"))
        );
        assert_eq!(
            json_path(&object, ".status.items[0].name"),
            Some(&json!("x"))
        );
        assert_eq!(json_path(&object, ".spec.missing"), None);
    }
}
