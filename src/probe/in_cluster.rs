//! The in-cluster flow: create the probe Job in Velero's namespace, wait for its pod to end, read the agent's
//! result from the pod's termination message (its log when the message is empty), delete the Job. Only the verbs
//! of [`super::PROBE_ACCESS`]: no watch (polling `get`), and never a secret: the Job mounts it.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams, PropagationPolicy};

use super::bsl::BslLocation;
use super::error::ProbeError;
use super::job::{ACTIVE_DEADLINE_SECONDS, probe_job};
use super::outcome::{LocationProbe, ProbeResult};
use super::pod_start::{pending, stuck_in_events, stuck_in_status};

/// How often the Job is looked at: an agent run against a reachable store takes well under a second.
const POLL: Duration = Duration::from_millis(200);
/// Past the Job's activeDeadlineSeconds the cluster has failed it; this much more covers a slow API.
const WAIT_GRACE: Duration = Duration::from_secs(30);

/// How [`probe_in_cluster`] ended.
#[derive(Debug)]
pub enum InCluster<T> {
    /// The agent ran and reported.
    Finished(Box<ProbeResult>),
    /// `stop` came first; the Job was deleted (with its pod) unless `deleted` is false.
    Stopped {
        /// What `stop` gave (the signal).
        by: T,
        /// The Jobs' names (one per node for a host path), all in the location's namespace.
        jobs: Vec<String>,
        /// Whether the DELETE of the Job succeeded.
        deleted: bool,
    },
}

/// Runs the probe of `bsl` as a Job of `image` in the location's namespace and returns the agent's result. The
/// Job is deleted afterwards, propagation Background so its pod goes too, whether the agent finished, failed to
/// report, or `stop` (Ctrl-C) came first.
pub async fn probe_in_cluster<T>(
    client: kube::Client,
    bsl: &BslLocation,
    image: &str,
    stop: impl std::future::Future<Output = T>,
) -> Result<InCluster<T>, ProbeError> {
    bsl.location.validate()?;
    if let super::location::Location::LocalVolume(location) = &bsl.location {
        return super::host_path_jobs::probe_on_nodes(client, bsl, location, image, stop).await;
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let manifest = probe_job(bsl, image, &suffix);
    let failed = |message: String| ProbeError::Job {
        namespace: bsl.namespace.clone(),
        message,
    };
    let job: Job = serde_json::from_value(manifest).map_err(|e| failed(e.to_string()))?;
    let name = job.metadata.name.clone().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(client.clone(), &bsl.namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &bsl.namespace);
    let events: Api<Event> = Api::namespaced(client, &bsl.namespace);
    jobs.create(&PostParams::default(), &job)
        .await
        .map_err(|e| failed(format!("cannot create Job {name}: {e}")))?;
    let mut guard = JobGuard {
        jobs: jobs.clone(),
        name: name.clone(),
        armed: true,
    };
    let outcome = tokio::select! {
        result = wait_for_result(&jobs, &pods, &events, &name) => Ok(result),
        by = stop => Err(by),
    };
    let deleted = delete_job(&jobs, &name).await;
    guard.armed = false;
    match outcome {
        Ok(result) => {
            let result = result.map_err(|message| failed(format!("Job {name}: {message}")))?;
            if !deleted {
                tracing::warn!(job = %name, "the probe Job could not be deleted; its ttlSecondsAfterFinished removes it");
            }
            Ok(InCluster::Finished(Box::new(result)))
        }
        Err(by) => Ok(InCluster::Stopped {
            by,
            jobs: vec![name],
            deleted,
        }),
    }
}

/// DELETE of the Job, propagation Background so the garbage collector removes its pod too (batch/v1 Jobs
/// otherwise orphan it).
pub(super) async fn delete_job(jobs: &Api<Job>, name: &str) -> bool {
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    tokio::time::timeout(DROP_DELETE_TIMEOUT, jobs.delete(name, &params))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// How long the Job's DELETE may take (it is also what a dropped flow waits for).
const DROP_DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// Deletes the Job when the flow is dropped before it could (`run --probe` / `check --probe` interrupted by a
/// signal drop their whole future): nothing is left in the cluster for ttlSecondsAfterFinished to remove minutes
/// later.
pub(super) struct JobGuard {
    pub(super) jobs: Api<Job>,
    pub(super) name: String,
    pub(super) armed: bool,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // A spawned task would die with the runtime the caller is about to drop: wait here instead, which only a
        // multi-threaded runtime allows (snapdoc's is).
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            let (jobs, name) = (self.jobs.clone(), self.name.clone());
            tokio::task::block_in_place(|| handle.block_on(delete_job(&jobs, &name)));
        }
    }
}

/// Polls the Job until it has succeeded or failed, then reads the result its pod left; ends at once when its pod
/// cannot start (image not pulled, secret not mounted, no node: [`super::pod_start`]).
pub(super) async fn wait_for_result(
    jobs: &Api<Job>,
    pods: &Api<Pod>,
    events: &Api<Event>,
    name: &str,
) -> Result<ProbeResult, String> {
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(ACTIVE_DEADLINE_SECONDS.unsigned_abs())
        + WAIT_GRACE;
    loop {
        let job = jobs
            .get(name)
            .await
            .map_err(|e| format!("cannot read it: {e}"))?;
        let status = job.status.unwrap_or_default();
        let ended = status.succeeded.unwrap_or(0) > 0 || status.failed.unwrap_or(0) > 0;
        if ended {
            return read_result(pods, name).await;
        }
        if let Some(why) = cannot_start(pods, events, name).await? {
            return Err(why);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "its pod did not end within {ACTIVE_DEADLINE_SECONDS} s and gave no reason it cannot start (\
                 `kubectl describe pod -l job-name={name}`)"
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Why the pod of Job `job` cannot start, if it cannot: its status first, then, while it is Pending, the
/// kubelet's events about it.
async fn cannot_start(
    pods: &Api<Pod>,
    events: &Api<Event>,
    job: &str,
) -> Result<Option<String>, String> {
    let listed = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .map_err(|e| format!("cannot list its pods: {e}"))?;
    for pod in &listed.items {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let stuck = match stuck_in_status(pod) {
            Some(why) => Some(why),
            None if pending(pod) => {
                // A Role from before events were needed (or one that leaves them out) only loses the early
                // FailedMount: the wait goes on to the Job's deadline as it used to.
                let about_pod = format!("involvedObject.kind=Pod,involvedObject.name={pod_name}");
                match events.list(&ListParams::default().fields(&about_pod)).await {
                    Ok(listed) => stuck_in_events(&listed.items),
                    Err(error) => {
                        tracing::debug!(pod = %pod_name, %error, "cannot list the pod's events");
                        None
                    }
                }
            }
            None => None,
        };
        if let Some(why) = stuck {
            return Ok(Some(format!("its pod {pod_name} cannot start: {why}")));
        }
    }
    Ok(None)
}

/// The result of the Job's pod: the termination message, or the last line of its log.
async fn read_result(pods: &Api<Pod>, job: &str) -> Result<ProbeResult, String> {
    let listed = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .map_err(|e| format!("cannot list its pods: {e}"))?;
    let pod = listed
        .items
        .into_iter()
        .next()
        .ok_or("it ended without a pod")?;
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let terminated = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.clone());
    if let Some(message) = terminated.as_ref().and_then(|t| t.message.as_deref())
        && let Ok(result) = serde_json::from_str::<ProbeResult>(message.trim())
    {
        return Ok(result);
    }
    let log = pods
        .logs(&pod_name, &LogParams::default())
        .await
        .map_err(|e| format!("cannot read the log of pod {pod_name}: {e}"))?;
    match log.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => serde_json::from_str(line).map_err(|e| {
            format!("pod {pod_name} did not report a probe result ({e}); its log ends: {line}")
        }),
        None => {
            let why = terminated
                .and_then(|t| t.reason)
                .unwrap_or_else(|| "no reason given".to_string());
            Err(format!("pod {pod_name} ended ({why}) without a result"))
        }
    }
}

/// The in-cluster probe of each of `locations` (namespace, name), one after another, for a report: a location
/// that cannot be probed (another provider, a Job refused) carries why instead of a result.
pub async fn probe_locations(
    client: kube::Client,
    locations: &[(String, String)],
    image: &str,
) -> Vec<LocationProbe> {
    let mut probes = Vec::new();
    for (namespace, name) in locations {
        let never = std::future::pending::<std::convert::Infallible>();
        let outcome = match super::bsl::read_bsl(client.clone(), Some(namespace), name).await {
            Ok(bsl) => probe_in_cluster(client.clone(), &bsl, image, never).await,
            Err(error) => Err(error),
        };
        let (result, error) = match outcome {
            Ok(InCluster::Finished(result)) => (Some(*result), None),
            Ok(InCluster::Stopped { by, .. }) => match by {},
            Err(error) => (None, Some(error.to_string())),
        };
        probes.push(LocationProbe {
            namespace: namespace.clone(),
            name: name.clone(),
            result,
            error,
        });
    }
    probes
}

/// The storage locations an analysis found, as (namespace, name) for [`probe_locations`].
pub(crate) fn locations_of(analysis: &crate::analyze::Analysis) -> Vec<(String, String)> {
    analysis
        .environment
        .storage_locations
        .iter()
        .map(|l| {
            // Velero's default namespace, where a bundle did not record the location's own.
            let namespace = l.namespace.clone().unwrap_or_else(|| "velero".to_string());
            (namespace, l.name.clone())
        })
        .collect()
}
