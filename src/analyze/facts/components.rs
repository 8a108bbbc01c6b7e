//! Finds Velero, its plugins, the node agent (node-agent ≥ 1.10, restic before) and KOTS in the workloads,
//! and describes their pods. Deployments are preferred; pods stand in when a bundle has no deployments
//! (kotsadm also runs as a StatefulSet, which bundles do not hold).
use serde_json::{Value, json};

use super::inventory::Inventory;
use super::json::{self, array_at, i64_at, str_at};
use crate::analyze::analysis::ComponentInfo;
use crate::analyze::versions::{self, ImageRef};

/// A workload found in the bundle: where its pod spec is and which of its containers is the main one.
#[derive(Debug, Clone)]
pub(crate) struct Workload<'a> {
    pub name: String,
    pub namespace: Option<String>,
    /// `spec.template.spec` of a Deployment / DaemonSet, or `spec` of a Pod.
    pub pod_spec: &'a Value,
    pub container: &'a Value,
    /// The Deployment / DaemonSet itself, when found as one.
    pub controller: Option<&'a Value>,
}

impl Workload<'_> {
    pub(crate) fn image(&self) -> Option<&str> {
        str_at(self.container, &["image"])
    }
    pub(crate) fn version(&self) -> Option<String> {
        self.image()
            .and_then(ImageRef::parse)
            .and_then(|i| i.version())
    }
    /// The container's command-line flags (`--name=value` or `--name value` or bare `--name`).
    pub(crate) fn flag(&self, flag: &str) -> Option<String> {
        let args: Vec<&str> = json::strings_at(self.container, &["command"])
            .into_iter()
            .chain(json::strings_at(self.container, &["args"]))
            .collect();
        for (i, arg) in args.iter().enumerate() {
            let Some(rest) = arg.strip_prefix(flag) else {
                continue;
            };
            if let Some(value) = rest.strip_prefix('=') {
                return Some(value.to_string());
            }
            if rest.is_empty() {
                return Some(match args.get(i + 1) {
                    Some(next) if !next.starts_with('-') => next.to_string(),
                    _ => "true".to_string(),
                });
            }
        }
        None
    }
    pub(crate) fn env(&self, name: &str) -> Option<&str> {
        array_at(self.container, &["env"])
            .iter()
            .find(|e| str_at(e, &["name"]) == Some(name))
            .and_then(|e| str_at(e, &["value"]).or(Some("")))
    }
}

/// The velero server: a Deployment whose pod runs a container named `velero`.
pub(crate) fn velero<'a>(inv: &'a Inventory, namespace_hint: Option<&str>) -> Option<Workload<'a>> {
    find_workload(
        &inv.deployments,
        &["velero"],
        namespace_hint,
        Some("velero"),
    )
    .or_else(|| find_pod_workload(&inv.pods, &["velero"], namespace_hint))
}

/// The node agent: DaemonSet `node-agent` (Velero ≥ 1.10) or `restic` (before).
pub(crate) fn node_agent<'a>(
    inv: &'a Inventory,
    namespace_hint: Option<&str>,
) -> Option<Workload<'a>> {
    find_workload(
        &inv.daemonsets,
        &["node-agent", "restic"],
        namespace_hint,
        None,
    )
    .or_else(|| find_pod_workload(&inv.pods, &["node-agent", "restic"], namespace_hint))
}

pub(crate) fn kotsadm(inv: &Inventory) -> Option<Workload<'_>> {
    find_workload(&inv.deployments, &["kotsadm"], None, Some("kotsadm"))
        .or_else(|| find_pod_workload(&inv.pods, &["kotsadm"], None))
}

fn find_workload<'a>(
    controllers: &'a [Value],
    container_names: &[&str],
    namespace_hint: Option<&str>,
    preferred_name: Option<&str>,
) -> Option<Workload<'a>> {
    let mut candidates: Vec<Workload<'a>> = controllers
        .iter()
        .filter_map(|controller| {
            let pod_spec = json::at(controller, &["spec", "template", "spec"])?;
            let container = main_container(pod_spec, container_names)?;
            Some(Workload {
                name: json::name(controller)?.to_string(),
                namespace: json::namespace(controller).map(str::to_string),
                pod_spec,
                container,
                controller: Some(controller),
            })
        })
        .collect();
    // The hinted namespace first, then the conventional name, then the busiest (a scaled-down copy loses).
    candidates.sort_by_key(|w| {
        (
            namespace_hint.is_some() && w.namespace.as_deref() != namespace_hint,
            preferred_name.is_some_and(|n| n != w.name),
            std::cmp::Reverse(
                w.controller
                    .and_then(|c| i64_at(c, &["status", "replicas"]))
                    .unwrap_or(0),
            ),
        )
    });
    candidates.into_iter().next()
}

fn find_pod_workload<'a>(
    pods: &'a [Value],
    container_names: &[&str],
    namespace_hint: Option<&str>,
) -> Option<Workload<'a>> {
    let mut candidates: Vec<Workload<'a>> = pods
        .iter()
        .filter_map(|pod| {
            let pod_spec = json::at(pod, &["spec"])?;
            let container = main_container(pod_spec, container_names)?;
            Some(Workload {
                name: json::name(pod)?.to_string(),
                namespace: json::namespace(pod).map(str::to_string),
                pod_spec,
                container,
                controller: None,
            })
        })
        .collect();
    candidates
        .sort_by_key(|w| namespace_hint.is_some() && w.namespace.as_deref() != namespace_hint);
    candidates.into_iter().next()
}

fn main_container<'a>(pod_spec: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|wanted| {
        array_at(pod_spec, &["containers"])
            .iter()
            .find(|c| str_at(c, &["name"]) == Some(*wanted))
    })
}

/// Which snapdoc component a pod is, told by its containers' names (stable across Velero and KOTS releases).
pub(crate) fn component_of_pod(pod: &Value) -> Option<&'static str> {
    let names = json::container_names(
        json::at(pod, &["spec"]).unwrap_or(&Value::Null),
        "containers",
    );
    ["velero", "node-agent", "restic", "kotsadm"]
        .into_iter()
        .find(|component| names.contains(component))
}

/// The pods of a component in a namespace (any namespace when `None`).
pub(crate) fn pods_of<'a>(
    inv: &'a Inventory,
    components: &[&str],
    namespace: Option<&str>,
) -> Vec<&'a Value> {
    inv.pods
        .iter()
        .filter(|pod| component_of_pod(pod).is_some_and(|c| components.contains(&c)))
        .filter(|pod| namespace.is_none() || json::namespace(pod) == namespace)
        .collect()
}

/// A plugin: an init container of the velero server (it copies the plugin binary into a shared volume).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plugin {
    pub name: String,
    pub container: String,
    pub image: Option<String>,
    pub version: Option<String>,
}

pub(crate) fn plugins(velero: &Workload<'_>) -> Vec<Plugin> {
    array_at(velero.pod_spec, &["initContainers"])
        .iter()
        .filter_map(|init| {
            let container = str_at(init, &["name"])?.to_string();
            let image = str_at(init, &["image"]).map(str::to_string);
            let parsed = image.as_deref().and_then(ImageRef::parse);
            let name = parsed
                .as_ref()
                .map(|i| versions::canonical_plugin_name(i.name()).to_string())
                .unwrap_or_else(|| container.clone());
            Some(Plugin {
                name,
                container,
                version: parsed.and_then(|i| i.version()),
                image,
            })
        })
        .collect()
}

/// "3/3 ready, 4 restarts, last terminated OOMKilled", from the pods, or from the controller's status
/// when the bundle has no pods for it.
pub(crate) fn status_text(pods: &[&Value], controller: Option<&Value>) -> Option<String> {
    if pods.is_empty() {
        let controller = controller?;
        let ready = i64_at(controller, &["status", "numberReady"])
            .or_else(|| i64_at(controller, &["status", "readyReplicas"]))
            .unwrap_or(0);
        let desired = i64_at(controller, &["status", "desiredNumberScheduled"])
            .or_else(|| i64_at(controller, &["status", "replicas"]))?;
        return Some(format!(
            "{ready}/{desired} ready (no pod status in the bundle)"
        ));
    }
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let restarts: i64 = pods
        .iter()
        .flat_map(|p| array_at(p, &["status", "containerStatuses"]))
        .filter_map(|s| i64_at(s, &["restartCount"]))
        .fold(0i64, i64::saturating_add);
    let mut text = format!(
        "{ready}/{} ready, {restarts} restart{}",
        pods.len(),
        if restarts == 1 { "" } else { "s" }
    );
    if let Some(reason) = last_termination(pods) {
        text.push_str(&format!(", last terminated {reason}"));
    }
    let waiting: Vec<&str> = pods
        .iter()
        .flat_map(|p| array_at(p, &["status", "containerStatuses"]))
        .filter_map(|s| str_at(s, &["state", "waiting", "reason"]))
        .collect();
    if let Some(reason) = waiting.first() {
        text.push_str(&format!(", waiting: {reason}"));
    }
    Some(text)
}

pub(crate) fn pod_ready(pod: &Value) -> bool {
    let conditions = array_at(pod, &["status", "conditions"]);
    if let Some(ready) = conditions
        .iter()
        .find(|c| str_at(c, &["type"]) == Some("Ready"))
    {
        return str_at(ready, &["status"]) == Some("True");
    }
    let statuses = array_at(pod, &["status", "containerStatuses"]);
    !statuses.is_empty()
        && statuses
            .iter()
            .all(|s| json::bool_at(s, &["ready"]) == Some(true))
}

/// The reason of the most recent container termination among the pods (by `finishedAt`).
fn last_termination(pods: &[&Value]) -> Option<String> {
    pods.iter()
        .flat_map(|p| array_at(p, &["status", "containerStatuses"]))
        .filter_map(|s| {
            let terminated = json::at(s, &["lastState", "terminated"])?;
            let reason = str_at(terminated, &["reason"])?;
            Some((json::time_at(terminated, &["finishedAt"]), reason))
        })
        .max_by_key(|(finished, _)| *finished)
        .map(|(_, reason)| reason.to_string())
}

/// One `facts.components` object per container (and init container) of velero / node-agent / restic /
/// kotsadm pods; the velero pod's init containers (plugins) are component `velero-plugin`.
pub(crate) fn component_facts(inv: &Inventory) -> Vec<Value> {
    let mut facts = Vec::new();
    for pod in &inv.pods {
        let Some(component) = component_of_pod(pod) else {
            continue;
        };
        for (spec_key, status_key, init) in [
            ("initContainers", "initContainerStatuses", true),
            ("containers", "containerStatuses", false),
        ] {
            // The velero pod's init containers are its plugins: rules about the server must not read them.
            let component = match (component, init) {
                ("velero", true) => "velero-plugin",
                _ => component,
            };
            for container in array_at(pod, &["spec", spec_key]) {
                let Some(name) = str_at(container, &["name"]) else {
                    continue;
                };
                let status = array_at(pod, &["status", status_key])
                    .iter()
                    .find(|s| str_at(s, &["name"]) == Some(name));
                let image = str_at(container, &["image"]);
                let memory_limit = str_at(container, &["resources", "limits", "memory"]);
                let field = |path: &[&str]| status.and_then(|s| str_at(s, path));
                facts.push(json!({
                    "component": component,
                    "namespace": json::namespace(pod),
                    "pod": json::name(pod),
                    "container": name,
                    "init": init,
                    "ready": status.and_then(|s| json::bool_at(s, &["ready"])),
                    "restartCount": status.and_then(|s| i64_at(s, &["restartCount"])),
                    "lastTerminationReason": field(&["lastState", "terminated", "reason"]),
                    // When the previous run ended: verdicts join a restart to the backups running then.
                    "lastTerminatedAt": field(&["lastState", "terminated", "finishedAt"]),
                    "lastExitCode": status.and_then(|s| i64_at(s, &["lastState", "terminated", "exitCode"])),
                    "node": str_at(pod, &["spec", "nodeName"]),
                    "terminatedReason": field(&["state", "terminated", "reason"]),
                    "waitingReason": field(&["state", "waiting", "reason"]),
                    "memoryLimit": memory_limit,
                    "memoryLimitBytes": memory_limit.and_then(quantity_bytes),
                    "image": image,
                    "version": image.and_then(ImageRef::parse).and_then(|i| i.version()),
                }));
            }
        }
    }
    facts
}

/// A Kubernetes memory quantity (`512Mi`, `1Gi`, `1G`, `2e9`, `1048576`) in bytes.
pub(crate) fn quantity_bytes(quantity: &str) -> Option<i64> {
    let quantity = quantity.trim();
    let split = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "m" => 1e-3,
        exponent if exponent.starts_with(['e', 'E']) => {
            10f64.powi(exponent[1..].parse::<i32>().ok()?)
        }
        _ => return None,
    };
    let bytes = (number * multiplier).ceil();
    (bytes.is_finite() && bytes < 9.0e18).then_some(bytes as i64)
}

/// The environment table's row for a workload.
pub(crate) fn component_info(
    name: &str,
    workload: &Workload<'_>,
    pods: &[&Value],
) -> ComponentInfo {
    ComponentInfo {
        name: name.to_string(),
        version: workload.version(),
        image: workload.image().map(str::to_string),
        namespace: workload.namespace.clone(),
        status: status_text(pods, workload.controller),
    }
}

/// How a plugin's init container fared in the velero pods: ImagePullBackOff, or Completed.
pub(crate) fn plugin_status(velero_pods: &[&Value], container: &str) -> Option<String> {
    velero_pods
        .iter()
        .flat_map(|p| array_at(p, &["status", "initContainerStatuses"]))
        .filter(|s| str_at(s, &["name"]) == Some(container))
        .find_map(|s| {
            str_at(s, &["state", "waiting", "reason"])
                .map(|r| format!("waiting: {r}"))
                .or_else(|| {
                    str_at(s, &["state", "terminated", "reason"]).map(|r| match r {
                        "Completed" => "copied into the velero pod".to_string(),
                        other => format!("terminated: {other}"),
                    })
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(quantity_bytes("512Mi"), Some(512 * 1024 * 1024));
        assert_eq!(quantity_bytes("1G"), Some(1_000_000_000));
        assert_eq!(quantity_bytes("2e3"), Some(2000));
        assert_eq!(quantity_bytes("1048576"), Some(1_048_576));
        assert_eq!(quantity_bytes("lots"), None);
        assert_eq!(quantity_bytes("1Zi"), None);
    }

    #[test]
    fn flags_in_all_spellings() {
        let container = json!({"name": "velero", "image": "velero/velero:v1.12.3",
            "command": ["/velero"],
            "args": ["server", "--uploader-type=kopia", "--default-volumes-to-fs-backup",
                     "--features", "EnableCSI"]});
        let spec = json!({});
        let w = Workload {
            name: "velero".into(),
            namespace: None,
            pod_spec: &spec,
            container: &container,
            controller: None,
        };
        assert_eq!(w.flag("--uploader-type").as_deref(), Some("kopia"));
        assert_eq!(
            w.flag("--default-volumes-to-fs-backup").as_deref(),
            Some("true")
        );
        assert_eq!(w.flag("--features").as_deref(), Some("EnableCSI"));
        assert_eq!(w.flag("--default-volumes-to-restic"), None);
    }
}
