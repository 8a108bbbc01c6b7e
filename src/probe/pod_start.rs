//! Why a probe Job's pod cannot start, read while the flow polls the Job: a pod that will not run ends the wait at
//! once with the node's or the scheduler's own reason, instead of at the Job's activeDeadlineSeconds (180 s, plus
//! the flow's grace).
//!
//! The reasons are the kubelet's and the scheduler's (kubernetes v1.31):
//! - the container's waiting reason: `ErrImagePull`, `ImagePullBackOff` (pkg/kubelet/images/types.go), the
//!   `InvalidImageName` and `ErrImageNeverPull` of a reference no pull can fix, and `CreateContainerConfigError`
//!   (pkg/kubelet/kuberuntime/kuberuntime_container.go: a secret or config map the environment names is missing);
//! - the pod's `PodScheduled` condition `False` with reason `Unschedulable` (pkg/scheduler/schedule_one.go);
//! - the kubelet's `FailedMount` Warning event (pkg/kubelet/volumemanager): a secret volume whose secret does not
//!   exist keeps the container `ContainerCreating`, and only the event says why.
//!
//! Each is final for the probe: the kubelet retries a pull or a mount, but nothing in the probe's short life will
//! create the missing image, secret or node.

use k8s_openapi::api::core::v1::{Event, Pod};

/// Waiting reasons of a container that will not start without someone changing the cluster.
const STUCK_WAITING: [&str; 6] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Why `pod` cannot start, from its own status: a container waiting for a reason of [`STUCK_WAITING`], or the
/// scheduler finding no node. `None` while it may still start.
pub(crate) fn stuck_in_status(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in containers {
        let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = waiting.reason.as_deref().unwrap_or_default();
        if STUCK_WAITING.contains(&reason) {
            return Some(with_message(
                &format!("container {} is waiting: {reason}", container.name),
                waiting.message.as_deref(),
            ));
        }
    }
    let unschedulable = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    })?;
    Some(with_message(
        "the scheduler finds no node for it (Unschedulable)",
        unschedulable.message.as_deref(),
    ))
}

/// Why the pod cannot start, from the kubelet's events about it: the latest `FailedMount`.
pub(crate) fn stuck_in_events(events: &[Event]) -> Option<String> {
    let failed_mount = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("FailedMount"))
        .max_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0))?;
    Some(with_message(
        "a volume cannot be mounted (FailedMount)",
        failed_mount.message.as_deref(),
    ))
}

/// Whether the pod is still before its container ran (phase Pending), when the kubelet's events may say why.
pub(crate) fn pending(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_none_or(|phase| phase == "Pending")
}

fn with_message(what: &str, message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(message) => format!("{what}: {message}"),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    #[test]
    fn an_image_that_cannot_be_pulled_stops_the_wait() {
        // The kubelet's back-off wording (pkg/kubelet/images/image_manager.go, `Back-off pulling image %q`).
        let backoff = pod(json!({"phase": "Pending", "containerStatuses": [{
            "name": "probe", "ready": false, "restartCount": 0, "image": "snapdoc:does-not-exist", "imageID": "",
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": "Back-off pulling image \"snapdoc:does-not-exist\""}}}]}));
        assert_eq!(
            stuck_in_status(&backoff).as_deref(),
            Some(
                "container probe is waiting: ImagePullBackOff: Back-off pulling image \"snapdoc:does-not-exist\""
            )
        );
    }

    #[test]
    fn a_container_still_being_created_may_yet_start() {
        let creating = pod(json!({"phase": "Pending", "containerStatuses": [{
            "name": "probe", "ready": false, "restartCount": 0, "image": "snapdoc:0.1.0", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(stuck_in_status(&creating), None);
        assert!(pending(&creating));
    }

    #[test]
    fn no_node_for_the_pod_stops_the_wait() {
        // Composed in the scheduler's FitError wording (pkg/scheduler/framework/types.go).
        let unschedulable = pod(json!({"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: \
                        3 No preemption victims found for incoming pod."}]}));
        let why = stuck_in_status(&unschedulable).unwrap();
        assert!(
            why.starts_with("the scheduler finds no node for it (Unschedulable): 0/3 nodes"),
            "{why}"
        );
    }

    #[test]
    fn the_latest_failed_mount_event_says_why() {
        let event = |message: &str, at: &str| -> Event {
            serde_json::from_value(json!({"metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "FailedMount", "type": "Warning",
                "message": message, "lastTimestamp": at}))
            .unwrap()
        };
        let scheduled: Event = serde_json::from_value(json!({"metadata": {"name": "s"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Scheduled", "type": "Normal",
            "message": "Successfully assigned velero/p to node-1"}))
        .unwrap();
        let events = [
            event(
                "MountVolume.SetUp failed for volume \"credentials\" : older",
                "2026-12-06T10:00:00Z",
            ),
            scheduled,
            event(
                "MountVolume.SetUp failed for volume \"credentials\" : secret \"cloud-credentials\" not found",
                "2026-12-06T10:00:04Z",
            ),
        ];
        assert_eq!(
            stuck_in_events(&events).as_deref(),
            Some(
                "a volume cannot be mounted (FailedMount): MountVolume.SetUp failed for volume \"credentials\" : \
                 secret \"cloud-credentials\" not found"
            )
        );
        assert_eq!(stuck_in_events(&events[1..2]), None);
    }
}
