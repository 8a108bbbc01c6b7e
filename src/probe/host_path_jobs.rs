//! The in-cluster probe of a local-volume-provider location: one Job per node that hosts it, each pinned to its
//! node, mounting the volume as the plugin mounts it into Velero's pods and running as the uid Velero runs as.
//!
//! Which nodes: a host path is a different directory on every node, and Velero writes it from wherever its pod
//! and the node-agent DaemonSet's pods run, so every node running one of those is probed (read from the pods'
//! spec.nodeName: the probe Role's `list pods`, no cluster-wide `list nodes`). An NFS export is the same on every
//! node: one Job, on the velero pod's node, is enough.
//!
//! Which uid: the plugin's ConfigMap (labelled `replicated.com/<hostpath|nfs>=ObjectStore`, kubernetes.go
//! getPluginConfigMap) sets the pods' securityContext from securityContextRunAsUser / RunAsGroup / FsGroup (KOTS
//! writes runAsUser and fsGroup 1001: replicatedhq/kots 370ae9030 pkg/snapshot/filesystem_lvp.go); what it leaves
//! unset is the velero pod's own securityContext, else the image's USER, which the API does not show.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

use super::bsl::BslLocation;
use super::error::ProbeError;
use super::host_path::{LocalVolumeLocation, NodeProbe, RunAs, join_nodes, unmountable};
use super::in_cluster::{InCluster, JobGuard, delete_job, wait_for_result};
use super::job::{agent_args, probe_job};

/// Probes `location` from each node that hosts it, until `stop`; every Job is deleted afterwards.
pub(super) async fn probe_on_nodes<T>(
    client: kube::Client,
    bsl: &BslLocation,
    location: &LocalVolumeLocation,
    image: &str,
    stop: impl std::future::Future<Output = T>,
) -> Result<InCluster<T>, ProbeError> {
    let failed = |message: String| ProbeError::Job {
        namespace: bsl.namespace.clone(),
        message,
    };
    let namespace = bsl.namespace.as_str();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let (run_as, nodes) = plan(client.clone(), bsl, location).await?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let events: Api<Event> = Api::namespaced(client, namespace);
    let mut guards = Vec::new();
    for manifest in node_manifests(bsl, location, image, &nodes, &run_as) {
        let job: Job = serde_json::from_value(manifest).map_err(|e| failed(e.to_string()))?;
        let name = job.metadata.name.clone().unwrap_or_default();
        // A Job that cannot be created ends the probe; the guards of those already created delete them.
        jobs.create(&PostParams::default(), &job)
            .await
            .map_err(|e| failed(format!("cannot create Job {name}: {e}")))?;
        guards.push(JobGuard {
            jobs: jobs.clone(),
            name,
            armed: true,
        });
    }
    let waits = futures::future::join_all(
        guards
            .iter()
            .map(|guard| wait_for_result(&jobs, &pods, &events, &guard.name)),
    );
    let outcome = tokio::select! {
        results = waits => Ok(results),
        by = stop => Err(by),
    };
    let mut deleted = true;
    for guard in &mut guards {
        deleted &= delete_job(&jobs, &guard.name).await;
        guard.armed = false;
    }
    let names: Vec<String> = guards.iter().map(|g| g.name.clone()).collect();
    let results = match outcome {
        Ok(results) => results,
        Err(by) => {
            return Ok(InCluster::Stopped {
                by,
                jobs: names,
                deleted,
            });
        }
    };
    let mut probed = Vec::new();
    let mut probe_key = String::new();
    for ((node, name), result) in nodes.iter().zip(&names).zip(results) {
        match result {
            Ok(result) => {
                probe_key = result.probe_key;
                probed.push(NodeProbe {
                    node: node.clone(),
                    checks: result.checks,
                    volume: result.local_volume.and_then(|l| l.volume),
                });
            }
            // The kubelet could not mount the directory there: that is the node's finding, not a failed probe.
            Err(message) if message.contains(FAILED_MOUNT) => {
                let why = message.split(FAILED_MOUNT).nth(1).unwrap_or(&message);
                probed.push(unmountable(node, why.trim_start_matches(':').trim()));
            }
            Err(message) => return Err(failed(format!("Job {name} on node {node}: {message}"))),
        }
    }
    Ok(InCluster::Finished(Box::new(join_nodes(
        location, run_as, probed, probe_key,
    ))))
}

/// Who Velero runs as and the nodes to probe from, read from Velero's namespace.
async fn plan(
    client: kube::Client,
    bsl: &BslLocation,
    location: &LocalVolumeLocation,
) -> Result<(RunAs, Vec<String>), ProbeError> {
    let failed = |message: String| ProbeError::Job {
        namespace: bsl.namespace.clone(),
        message,
    };
    let namespace = bsl.namespace.as_str();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let listed = pods
        .list(&ListParams::default())
        .await
        .map_err(|e| failed(format!("cannot list the pods of Velero's namespace: {e}")))?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client, namespace);
    let run_as = run_as(&configmaps, location, &listed.items, namespace)
        .await
        .map_err(failed)?;
    let nodes = nodes_of(location, &listed.items);
    if nodes.is_empty() {
        return Err(failed(
            "no velero or node-agent pod runs on a node: the nodes that host the location are theirs".to_string(),
        ));
    }
    Ok((run_as, nodes))
}

/// The Jobs [`probe_on_nodes`] would create for `bsl` (`probe --dry-run`), one per node.
pub async fn node_jobs(
    client: kube::Client,
    bsl: &BslLocation,
    image: &str,
) -> Result<Vec<Value>, ProbeError> {
    let super::location::Location::LocalVolume(location) = &bsl.location else {
        return Ok(vec![probe_job(bsl, image, &new_suffix())]);
    };
    let (run_as, nodes) = plan(client, bsl, location).await?;
    Ok(node_manifests(bsl, location, image, &nodes, &run_as))
}

/// One Job per node, their names sharing one random suffix.
fn node_manifests(
    bsl: &BslLocation,
    location: &LocalVolumeLocation,
    image: &str,
    nodes: &[String],
    run_as: &RunAs,
) -> Vec<Value> {
    let suffix = new_suffix();
    nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            node_job(
                bsl,
                location,
                image,
                &format!("{suffix}-{index}"),
                node,
                run_as,
            )
        })
        .collect()
}

fn new_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// How [`super::pod_start::stuck_in_events`] names a volume the kubelet cannot mount.
const FAILED_MOUNT: &str = "(FailedMount)";

/// The velero server's pods (`deploy=velero`, as `velero install` and the Helm chart label them).
fn is_velero(pod: &Pod) -> bool {
    label(pod, "deploy") == Some("velero")
}

/// The node agent's pods (`name=node-agent`, `name=restic` before Velero 1.10).
fn is_node_agent(pod: &Pod) -> bool {
    matches!(label(pod, "name"), Some("node-agent" | "restic"))
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

fn node_of(pod: &Pod) -> Option<String> {
    pod.spec
        .as_ref()?
        .node_name
        .clone()
        .filter(|n| !n.is_empty())
}

/// The nodes to probe from: the velero pod's first, then the node agent's (a host path); the velero pod's only
/// (NFS: the same export everywhere).
fn nodes_of(location: &LocalVolumeLocation, pods: &[Pod]) -> Vec<String> {
    let mut nodes: Vec<String> = pods
        .iter()
        .filter(|p| is_velero(p))
        .filter_map(node_of)
        .collect();
    if location.is_nfs() {
        nodes.truncate(1);
        return nodes;
    }
    let mut agents: Vec<String> = pods
        .iter()
        .filter(|p| is_node_agent(p))
        .filter_map(node_of)
        .collect();
    agents.sort();
    nodes.extend(agents);
    let mut seen = std::collections::BTreeSet::new();
    nodes.retain(|n| seen.insert(n.clone()));
    nodes
}

/// Who Velero's pods run as: the plugin ConfigMap's settings, what it leaves unset from the velero pod.
async fn run_as(
    configmaps: &Api<ConfigMap>,
    location: &LocalVolumeLocation,
    pods: &[Pod],
    namespace: &str,
) -> Result<RunAs, String> {
    let kind = if location.is_nfs() { "nfs" } else { "hostpath" };
    let selector = format!("replicated.com/{kind}=ObjectStore");
    let listed = configmaps
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("cannot list the plugin's ConfigMaps ({selector}): {e}"))?;
    if listed.items.len() > 1 {
        let names: Vec<String> = listed
            .items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        // The plugin's own refusal (kubernetes.go getPluginConfigMap): its Init fails the same way.
        return Err(format!(
            "found more than one ConfigMap matching label selector {selector:?}: {names:?}"
        ));
    }
    let velero = pods.iter().find(|p| is_velero(p));
    from_settings(listed.items.first(), velero, namespace)
}

/// [`run_as`] from the plugin's ConfigMap (if any) and the velero pod (if found).
fn from_settings(
    configmap: Option<&ConfigMap>,
    velero: Option<&Pod>,
    namespace: &str,
) -> Result<RunAs, String> {
    let mut run_as = RunAs::default();
    let mut sources = Vec::new();
    if let Some(configmap) = configmap {
        let name = configmap.metadata.name.clone().unwrap_or_default();
        let data = configmap.data.clone().unwrap_or_default();
        let number = |key: &str| -> Result<Option<u32>, String> {
            match data.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                // The plugin's StringToIntPointer (util.go) fails Init on anything but an integer.
                Some(value) => value.parse().map(Some).map_err(|_| {
                    format!("ConfigMap {namespace}/{name}: {key} {value:?}: failed to parse int")
                }),
            }
        };
        run_as.uid = number("securityContextRunAsUser")?;
        run_as.gid = number("securityContextRunAsGroup")?;
        run_as.fs_group = number("securityContextFsGroup")?;
        if run_as.uid.is_some() || run_as.gid.is_some() || run_as.fs_group.is_some() {
            sources.push(format!("the plugin's ConfigMap {namespace}/{name}"));
        }
    }
    if let Some(pod) = velero {
        let spec = pod.spec.as_ref();
        let pod_level = spec.and_then(|s| s.security_context.as_ref());
        let container = spec
            .and_then(|s| s.containers.iter().find(|c| c.name == "velero"))
            .and_then(|c| c.security_context.as_ref());
        let id = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        let mut from_pod = false;
        if run_as.uid.is_none() {
            run_as.uid = id(container.and_then(|c| c.run_as_user))
                .or(id(pod_level.and_then(|p| p.run_as_user)));
            from_pod |= run_as.uid.is_some();
        }
        if run_as.gid.is_none() {
            run_as.gid = id(container.and_then(|c| c.run_as_group))
                .or(id(pod_level.and_then(|p| p.run_as_group)));
            from_pod |= run_as.gid.is_some();
        }
        if run_as.fs_group.is_none() {
            run_as.fs_group = id(pod_level.and_then(|p| p.fs_group));
            from_pod |= run_as.fs_group.is_some();
        }
        if from_pod {
            let name = pod.metadata.name.clone().unwrap_or_default();
            sources.push(format!("the securityContext of pod {namespace}/{name}"));
        }
    }
    run_as.source = if sources.is_empty() {
        "no plugin ConfigMap and no securityContext on the velero pod: the image's USER, which the API does not show; \
         the probe ran as snapdoc's image's 65532"
            .to_string()
    } else {
        sources.join(", then ")
    };
    Ok(run_as)
}

/// The Job probing `location` on `node`: the usual probe Job ([`probe_job`]) with the location's volume mounted
/// at the plugin's mount point instead of a credentials secret, pinned to the node, running as `run_as`.
fn node_job(
    bsl: &BslLocation,
    location: &LocalVolumeLocation,
    image: &str,
    suffix: &str,
    node: &str,
    run_as: &RunAs,
) -> Value {
    let mut job = probe_job(bsl, image, suffix);
    job["metadata"]["annotations"]["snapdoc.io/node"] = json!(node);
    let pod = &mut job["spec"]["template"]["spec"];
    pod["nodeName"] = json!(node);
    // nodeName skips the scheduler, but a NoExecute taint would still evict the pod: it must run wherever
    // Velero's pods run, whatever their tolerations.
    pod["tolerations"] = json!([{"operator": "Exists"}]);
    pod["volumes"] = json!([location.volume()]);
    if let Some(uid) = run_as.uid {
        pod["securityContext"]["runAsUser"] = json!(uid);
        pod["securityContext"]["runAsNonRoot"] = json!(uid != 0);
        pod["containers"][0]["securityContext"]["runAsNonRoot"] = json!(uid != 0);
        // Without a runAsGroup the runtime picks the group as it does for Velero's own pod.
        match run_as.gid {
            Some(gid) => pod["securityContext"]["runAsGroup"] = json!(gid),
            None => {
                _ = pod["securityContext"]
                    .as_object_mut()
                    .map(|s| s.remove("runAsGroup"))
            }
        }
    }
    if let Some(fs_group) = run_as.fs_group {
        pod["securityContext"]["fsGroup"] = json!(fs_group);
    }
    let container = &mut pod["containers"][0];
    container["args"] = json!(
        agent_args(&bsl.location, None, "")
            .into_iter()
            .filter(|a| !a.starts_with("--credentials-file"))
            .collect::<Vec<_>>()
    );
    container["volumeMounts"] =
        json!([{"name": location.bucket, "mountPath": location.mount_path()}]);
    job
}

#[cfg(test)]
mod tests {
    use super::super::location::Location;
    use super::*;

    fn pod(value: Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn kots_s_configmap_decides_the_uid_and_the_pod_the_rest() {
        // The ConfigMap KOTS writes (replicatedhq/kots 370ae9030 pkg/snapshot/filesystem_lvp.go).
        let configmap: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": "local-volume-provider-config", "namespace": "velero"},
            "data": {"securityContextRunAsUser": "1001", "securityContextFsGroup": "1001", "preserveVolumes": "b"}
        }))
        .unwrap();
        let velero = pod(
            json!({"metadata": {"name": "velero-1", "labels": {"deploy": "velero"}},
            "spec": {"nodeName": "n3", "securityContext": {"runAsGroup": 1000},
                     "containers": [{"name": "velero"}]}}),
        );
        let run_as = from_settings(Some(&configmap), Some(&velero), "velero").unwrap();
        assert_eq!(
            (run_as.uid, run_as.gid, run_as.fs_group),
            (Some(1001), Some(1000), Some(1001))
        );
        assert_eq!(
            run_as.source,
            "the plugin's ConfigMap velero/local-volume-provider-config, then the securityContext of pod velero/velero-1"
        );
        let unknown = from_settings(None, None, "velero").unwrap();
        assert_eq!(unknown.uid, None);
        assert!(unknown.source.contains("image's USER"));
    }

    #[test]
    fn a_host_path_is_probed_on_every_node_of_velero_and_the_node_agent() {
        let pods = vec![
            pod(
                json!({"metadata": {"name": "node-agent-b", "labels": {"name": "node-agent"}},
                       "spec": {"nodeName": "n2", "containers": []}}),
            ),
            pod(
                json!({"metadata": {"name": "velero-1", "labels": {"deploy": "velero"}},
                       "spec": {"nodeName": "n3", "containers": []}}),
            ),
            pod(
                json!({"metadata": {"name": "node-agent-a", "labels": {"name": "node-agent"}},
                       "spec": {"nodeName": "n3", "containers": []}}),
            ),
        ];
        let mut location = LocalVolumeLocation {
            provider: "replicated.com/hostpath".into(),
            bucket: "b".into(),
            path: "/srv/snapshots".into(),
            ..Default::default()
        };
        assert_eq!(nodes_of(&location, &pods), ["n3", "n2"]);
        location.provider = "replicated.com/nfs".into();
        assert_eq!(nodes_of(&location, &pods), ["n3"]);
    }

    #[test]
    fn the_node_s_job_mounts_the_directory_as_the_plugin_does() {
        let location = LocalVolumeLocation {
            provider: "replicated.com/hostpath".into(),
            bucket: "hostpath-snapshots".into(),
            path: "/srv/snapshots".into(),
            ..Default::default()
        };
        let bsl = BslLocation {
            location: Location::LocalVolume(location.clone()),
            profile: None,
            namespace: "velero".into(),
            name: "default".into(),
            credential: None,
        };
        let run_as = RunAs {
            uid: Some(1001),
            gid: None,
            fs_group: Some(1001),
            source: String::new(),
        };
        let job = node_job(&bsl, &location, "snapdoc:test", "0a1b2c3d-1", "n2", &run_as);
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["nodeName"], "n2");
        assert_eq!(
            pod["volumes"],
            json!([{"name": "hostpath-snapshots", "hostPath": {"path": "/srv/snapshots", "type": "Directory"}}])
        );
        assert_eq!(
            pod["containers"][0]["volumeMounts"],
            json!([{"name": "hostpath-snapshots", "mountPath": "/var/velero-local-volume-provider/hostpath-snapshots"}])
        );
        assert_eq!(pod["securityContext"]["runAsUser"], 1001);
        assert_eq!(pod["securityContext"]["fsGroup"], 1001);
        assert!(pod["securityContext"].get("runAsGroup").is_none());
        let args: Vec<String> =
            serde_json::from_value(pod["containers"][0]["args"].clone()).unwrap();
        assert!(
            args.contains(&"--config=path=/srv/snapshots".to_string()),
            "{args:?}"
        );
        assert!(!args.iter().any(|a| a.starts_with("--credentials-file")));
        let parsed = super::super::job::parse_agent_args(&args).unwrap();
        assert_eq!(parsed.location, Location::LocalVolume(location));
    }
}
