//! The lab's kubelet and Job controller, for snapdoc's own probe Jobs only (issue #22): when such a Job is created,
//! its pod is created, the probe agent runs in-process with the container's arguments against the object store
//! they name, with the credentials of the secret the pod mounts read from the lab's state (the cluster, not
//! snapdoc, holds them), and the pod and Job end as a real node would end them: the result in the container's log
//! and termination message, phase Succeeded (exit 0) or Failed (exit 1: a check failed; 2: the agent could not
//! start). A Job of any other image gets no pod, as on a cluster where nothing schedules it; one whose image
//! reference contains `does-not-exist` gets a pod whose image cannot be pulled.
//!
//! A host path / NFS probe pod (src/probe/host_path.rs) mounts a directory of the lab's nodes
//! (`Scenario::host_root`) and runs its agent as the pod's securityContext says: on a thread of its own whose uid,
//! gid and groups are switched (per-thread setresuid / setresgid / setgroups, which needs the lab to run as root,
//! as the tests do), so the kernel judges each access as it would for the container.
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::server::{LogKey, SharedLab};
use super::state::random_hex;
use crate::probe::{
    Agent, LocalVolumeLocation, Location, Probed, parse_agent_args, probe_local_volume, probe_until,
};

const JOBS: &str = "jobs.batch";
const PODS: &str = "pods";
/// How often the running agent looks whether its pod was deleted (the kubelet's SIGTERM).
const POD_GONE_POLL: Duration = Duration::from_millis(50);

/// Whether `image` is snapdoc's: the repository's last path segment is `snapdoc` (any registry, tag or digest).
fn is_snapdoc_image(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    last.split(':').next() == Some("snapdoc")
}

/// Plays the node for a Job just created in the lab, if it runs snapdoc's image.
pub(super) fn on_job_created(lab: SharedLab, job: Value) {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    if !container["image"].as_str().is_some_and(is_snapdoc_image) {
        return;
    }
    let namespace = job["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let job_name = job["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let container_name = container["name"].as_str().unwrap_or("probe").to_string();
    let pod_name = format!("{job_name}-{}", &random_hex(3)[..5]);
    let mut labels = job["spec"]["template"]["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    let uid = job["metadata"]["uid"].clone();
    labels["job-name"] = json!(job_name);
    labels["batch.kubernetes.io/job-name"] = json!(job_name);
    labels["controller-uid"] = uid.clone();
    labels["batch.kubernetes.io/controller-uid"] = uid.clone();
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid,
                                 "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": job["spec"]["template"]["spec"].clone(),
        "status": {
            "phase": "Pending",
            "containerStatuses": [{"name": container_name, "ready": false, "restartCount": 0,
                                   "image": container["image"], "state": {"waiting": {"reason": "ContainerCreating"}}}],
        },
    });
    let now = lab.now_text();
    let Ok(mut state) = lab.state.lock() else {
        return;
    };
    if state.create(PODS, pod.clone(), &now).is_err() {
        return;
    }
    state.update(JOBS, &namespace, &job_name, |job| {
        job["status"] = json!({"active": 1, "startTime": now, "ready": 0});
    });
    drop(state);
    let image = container["image"].as_str().unwrap_or_default();
    if image.contains(UNPULLABLE) {
        return image_not_pulled(&lab, &namespace, &pod_name, image);
    }
    let args: Vec<String> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    tokio::spawn(async move {
        let run = Run {
            lab,
            namespace,
            job_name,
            pod_name,
            container_name,
        };
        run.agent(&pod, &args).await;
    });
}

/// An image reference containing this cannot be pulled in the lab.
const UNPULLABLE: &str = "does-not-exist";

/// The node fails to pull `image` for the pod: the container waits in `ErrImagePull` with the runtime's error, and
/// the kubelet records its `Failed` event (pkg/kubelet/images/image_manager.go, `Failed to pull image %q: %v`).
/// The runtime's error is composed in containerd's wording for a tag the registry does not have.
fn image_not_pulled(lab: &SharedLab, namespace: &str, pod_name: &str, image: &str) {
    let error = format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve \
         reference \"{image}\": {image}: not found"
    );
    let now = lab.now_text();
    let Ok(mut state) = lab.state.lock() else {
        return;
    };
    state.update(PODS, namespace, pod_name, |pod| {
        pod["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "ErrImagePull", "message": error}});
    });
    let message = format!("Failed to pull image \"{image}\": {error}");
    let event = kubelet_warning(namespace, pod_name, "Failed", &message, &now);
    let _ = state.create("events", event, &now);
}

/// A Warning event of the kubelet about pod `pod_name`, as `kubectl describe pod` lists them.
fn kubelet_warning(
    namespace: &str,
    pod_name: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{pod_name}.{}", random_hex(8)), "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "namespace": namespace},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": {"component": "kubelet"},
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
    })
}

/// One pod of a probe Job.
struct Run {
    lab: SharedLab,
    namespace: String,
    job_name: String,
    pod_name: String,
    container_name: String,
}

impl Run {
    /// What the container does: `snapdoc probe --agent …`, ended early when the pod is deleted.
    async fn agent(&self, pod: &Value, args: &[String]) {
        let invocation = match parse_agent_args(args) {
            Ok(invocation) => invocation,
            Err(error) => {
                let started = self.running();
                return self.end(2, &format!("Error: {error}\n"), None, &started);
            }
        };
        if let Location::LocalVolume(location) = &invocation.location {
            return self.local_volume(pod, location).await;
        }
        // A volume that cannot be mounted keeps the container from starting: the pod stays ContainerCreating,
        // as a node leaves it (the Job's activeDeadlineSeconds ends it there).
        let text = match self.mounted_credentials(pod, &invocation.credentials_file) {
            Ok(text) => text,
            Err(why) => return self.failed_mount("credentials", &why),
        };
        let started = self.running();
        let credentials = match invocation
            .location
            .read_credentials(&text, invocation.profile.as_deref())
        {
            Ok(credentials) => credentials,
            Err(message) => {
                let line = format!(
                    "Error: credentials file {}: {message}\n",
                    invocation.credentials_file
                );
                return self.end(2, &line, None, &started);
            }
        };
        let mut shutdown = self.lab.shutdown.clone();
        let stop = async {
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(POD_GONE_POLL) => {}
                }
                let gone = self.lab.state.lock().map_or(true, |s| {
                    s.get(PODS, &self.namespace, &self.pod_name).is_none()
                });
                if gone {
                    return;
                }
            }
        };
        match probe_until(&invocation.location, &credentials, Agent::InCluster, stop).await {
            Ok(Probed::Finished(result)) => {
                let line = serde_json::to_string(&result).unwrap_or_default();
                let code = if result.passed() { 0 } else { 1 };
                self.end(code, &format!("{line}\n"), Some(&line), &started);
            }
            // The pod is gone: nothing is left to report to.
            Ok(Probed::Stopped { .. }) => {}
            Err(error) => self.end(2, &format!("Error: {error}\n"), None, &started),
        }
    }

    /// A host path / NFS probe: the volume mounted from the lab's nodes, the agent run as the pod's uid.
    async fn local_volume(&self, pod: &Value, location: &LocalVolumeLocation) {
        let spec = &pod["spec"];
        let mount = location.mount_path();
        let volume = spec["containers"][0]["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["mountPath"].as_str() == Some(mount.as_str()))
            .and_then(|m| {
                spec["volumes"]
                    .as_array()?
                    .iter()
                    .find(|v| v["name"] == m["name"])
            });
        let Some(volume) = volume else {
            let started = self.running();
            let line = format!("Error: nothing is mounted at {mount}\n");
            return self.end(2, &line, None, &started);
        };
        let name = volume["name"].as_str().unwrap_or_default();
        let node = spec["nodeName"].as_str().unwrap_or_default();
        let dir = match self.node_directory(volume, node, pod) {
            Ok(dir) => dir,
            Err(why) => return self.failed_mount(name, &why),
        };
        let started = self.running();
        let context = &spec["securityContext"];
        let id = |v: &Value| v.as_u64().and_then(|v| u32::try_from(v).ok());
        // The image's USER (deploy/Dockerfile: 65532:65532) unless the pod says otherwise; a runAsUser without a
        // runAsGroup gets group 0, as the runtime gives a uid its image does not name.
        let uid = id(&context["runAsUser"]).unwrap_or(SNAPDOC_IMAGE_ID);
        let default_gid = if uid == SNAPDOC_IMAGE_ID {
            SNAPDOC_IMAGE_ID
        } else {
            0
        };
        let gid = id(&context["runAsGroup"]).unwrap_or(default_gid);
        let mut groups: Vec<u32> = context["supplementalGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(id)
            .collect();
        groups.extend(id(&context["fsGroup"]));
        let location = location.clone();
        let ran = as_identity(uid, gid, groups, move || {
            probe_local_volume(&location, &dir, Agent::InCluster)
        })
        .await;
        match ran {
            Ok(result) => {
                let line = serde_json::to_string(&result).unwrap_or_default();
                let code = if result.passed() { 0 } else { 1 };
                self.end(code, &format!("{line}\n"), Some(&line), &started);
            }
            Err(error) => self.end(2, &format!("Error: {error}\n"), None, &started),
        }
    }

    /// The directory of the lab's node `node` that `volume` (the plugin's hostPath or nfs volume) mounts, or the
    /// kubelet's reason it cannot: the hostPath type check's wording (pkg/volume/hostpath/host_path.go,
    /// `hostPath type check failed: %s is not a directory`), or the mount of an export that does not exist
    /// (composed: the kubelet's `mount failed: exit status 32` report around mount.nfs's own message).
    fn node_directory(&self, volume: &Value, node: &str, pod: &Value) -> Result<PathBuf, String> {
        let root = self.lab.host_root.clone().unwrap_or_default();
        let relative = |path: &str| PathBuf::from(path.trim_start_matches('/'));
        if let Some(path) = volume["hostPath"]["path"].as_str() {
            let dir = root.join(node).join(relative(path));
            if self.lab.host_root.is_none() || !dir.is_dir() {
                return Err(format!(
                    "hostPath type check failed: {path} is not a directory"
                ));
            }
            return Ok(dir);
        }
        let (Some(server), Some(path)) = (
            volume["nfs"]["server"].as_str(),
            volume["nfs"]["path"].as_str(),
        ) else {
            return Err("the lab mounts hostPath and nfs volumes only".to_string());
        };
        let dir = root.join("nfs").join(server).join(relative(path));
        if self.lab.host_root.is_none() || !dir.is_dir() {
            let target = format!(
                "/var/lib/kubelet/pods/{}/volumes/kubernetes.io~nfs/{}",
                pod["metadata"]["uid"].as_str().unwrap_or_default(),
                volume["name"].as_str().unwrap_or_default()
            );
            return Err(format!(
                "mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs {server}:{path} \
                 {target}\nOutput: mount.nfs: mounting {server}:{path} failed, reason given by server: No such file \
                 or directory"
            ));
        }
        Ok(dir)
    }

    /// The kubelet's Warning event for a volume it cannot set up (the wording of its MountVolume.SetUp failures,
    /// `kubectl describe pod` shows it); the pod stays ContainerCreating.
    fn failed_mount(&self, volume: &str, why: &str) {
        let now = self.lab.now_text();
        let message = format!("MountVolume.SetUp failed for volume \"{volume}\" : {why}");
        let event = kubelet_warning(
            &self.namespace,
            &self.pod_name,
            "FailedMount",
            &message,
            &now,
        );
        if let Ok(mut state) = self.lab.state.lock() {
            let _ = state.create("events", event, &now);
        }
    }

    /// The container started: phase Running. Returns the start time.
    fn running(&self) -> String {
        let started = self.lab.now_text();
        if let Ok(mut state) = self.lab.state.lock() {
            state.update(PODS, &self.namespace, &self.pod_name, |pod| {
                pod["status"]["phase"] = json!("Running");
                pod["status"]["startTime"] = json!(started);
                pod["status"]["containerStatuses"][0]["state"] =
                    json!({"running": {"startedAt": started}});
            });
        }
        started
    }

    /// The text of the file `path` of the pod's secret volumes: the key the mount's items map to that file, or
    /// the file's own name without items, as the kubelet lays a secret volume out.
    fn mounted_credentials(&self, pod: &Value, path: &str) -> Result<String, String> {
        let spec = &pod["spec"];
        let mounts = spec["containers"][0]["volumeMounts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let (mount, file) = mounts
            .iter()
            .find_map(|m| {
                let dir = m["mountPath"].as_str()?.trim_end_matches('/');
                let file = path.strip_prefix(dir)?.strip_prefix('/')?;
                Some((m, file.to_string()))
            })
            .ok_or("no such file: no volume is mounted there")?;
        let volume = spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == mount["name"])
            .ok_or("no such file: its volume is not in the pod")?;
        let secret_name = volume["secret"]["secretName"]
            .as_str()
            .ok_or("no such file: its volume is not a secret")?;
        let key = match volume["secret"]["items"].as_array() {
            Some(items) => items
                .iter()
                .find(|item| item["path"].as_str() == Some(file.as_str()))
                .and_then(|item| item["key"].as_str())
                .ok_or("no such file: no item of the secret volume has that path")?
                .to_string(),
            None => file,
        };
        let state = self
            .lab
            .state
            .lock()
            .map_err(|_| "the lab's state is unavailable")?;
        let secret = state
            .get("secrets", &self.namespace, secret_name)
            .ok_or_else(|| format!("secret \"{secret_name}\" not found"))?;
        if let Some(text) = secret["stringData"][&key].as_str() {
            return Ok(text.to_string());
        }
        let encoded = secret["data"][&key]
            .as_str()
            .ok_or_else(|| format!("references non-existent secret key: {key}"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| format!("secret {secret_name} key {key} is not base64: {e}"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The container exited with `code`, having written `log` and, on a result, the termination message.
    fn end(&self, code: i32, log: &str, message: Option<&str>, started: &str) {
        let finished = self.lab.now_text();
        if let Ok(mut logs) = self.lab.produced_logs.lock() {
            let key: LogKey = (
                self.namespace.clone(),
                self.pod_name.clone(),
                self.container_name.clone(),
                false,
            );
            logs.insert(key, log.to_string());
        }
        let Ok(mut state) = self.lab.state.lock() else {
            return;
        };
        let mut terminated = json!({
            "exitCode": code,
            "reason": if code == 0 { "Completed" } else { "Error" },
            "startedAt": started,
            "finishedAt": finished,
        });
        if let Some(message) = message {
            terminated["message"] = json!(message);
        }
        let updated = state.update(PODS, &self.namespace, &self.pod_name, |pod| {
            pod["status"]["phase"] = json!(if code == 0 { "Succeeded" } else { "Failed" });
            pod["status"]["containerStatuses"][0]["state"] = json!({"terminated": terminated});
        });
        if updated.is_none() {
            return;
        }
        state.update(JOBS, &self.namespace, &self.job_name, |job| {
            let (counter, condition, reason) = if code == 0 {
                ("succeeded", "Complete", "CompletionsReached")
            } else {
                ("failed", "Failed", "BackoffLimitExceeded")
            };
            job["status"] = json!({
                counter: 1,
                "ready": 0,
                "startTime": started,
                "conditions": [{"type": condition, "status": "True", "reason": reason,
                                "lastProbeTime": finished, "lastTransitionTime": finished}],
            });
            if code == 0 {
                job["status"]["completionTime"] = json!(finished);
            }
        });
    }
}

/// The uid and gid of snapdoc's image (deploy/Dockerfile `USER 65532:65532`).
const SNAPDOC_IMAGE_ID: u32 = 65532;

/// Runs `work` on a thread of its own as `uid`, `gid` with supplementary `groups`, as a container runtime starts a
/// pod's process: the thread's credentials only (the kernel's per-thread setresuid, setresgid and setgroups, not
/// libc's process-wide ones), and the thread ends with the work, so nothing else of the lab changes identity.
async fn as_identity<R: Send + 'static>(
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let groups: Vec<Gid> = groups.into_iter().map(Gid::from_raw).collect();
        let (gid, uid) = (Gid::from_raw(gid), Uid::from_raw(uid));
        // Groups first: once the uid is not 0 the thread may no longer change them.
        let switched = set_thread_groups(&groups)
            .and_then(|()| set_thread_res_gid(gid, gid, gid))
            .and_then(|()| set_thread_res_uid(uid, uid, uid));
        let outcome = match switched {
            Ok(()) => Ok(work()),
            Err(error) => Err(format!(
                "the lab's kubelet cannot run the pod as uid {} gid {} ({error}): it must run as root",
                uid.as_raw(),
                gid.as_raw()
            )),
        };
        let _ = done.send(outcome);
    });
    result
        .await
        .unwrap_or_else(|_| Err("the pod's thread ended without a result".to_string()))
}

/// The pods `job` owns, deleted with it when the client asked for Background or Foreground propagation (the
/// garbage collector's work; batch/v1 Jobs default to orphaning them).
pub(super) fn delete_owned_pods(lab: &SharedLab, job: &Value) {
    let Some(uid) = job["metadata"]["uid"].as_str() else {
        return;
    };
    let namespace = job["metadata"]["namespace"].as_str().unwrap_or_default();
    let Ok(mut state) = lab.state.lock() else {
        return;
    };
    let owned: Vec<String> = state
        .list(PODS, Some(namespace), None)
        .into_iter()
        .filter(|(_, pod)| {
            pod["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|owner| owner["uid"] == uid)
        })
        .map(|((_, name), _)| name)
        .collect();
    for name in owned {
        state.delete(PODS, namespace, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_snapdoc_s_image_is_run() {
        assert!(is_snapdoc_image("snapdoc:0.1.0"));
        assert!(is_snapdoc_image("ghcr.io/acme/snapdoc@sha256:abc"));
        assert!(is_snapdoc_image("registry:5000/snapdoc"));
        assert!(!is_snapdoc_image("velero/velero:v1.16.0"));
        assert!(!is_snapdoc_image("snapdoc-other:1"));
    }
}
