//! Links from a finding to a backup through what the finding's evidence names: the backup's pod volume backups
//! and data uploads, their pods and volumes, the nodes that ran them, the repositories of its volume namespaces,
//! and the velero / node-agent containers that ran it. A finding about a node-agent pod says nothing about a
//! backup by name; it concerns the backups whose volumes that pod moved.
use std::collections::BTreeSet;

use jiff::Timestamp;

use super::context::{
    ContainerState, DATA_DOWNLOAD_KIND, DATA_UPLOAD_KIND, PVB_KIND, PVR_KIND, Repository,
    VerdictContext, VolumeOperation,
};
use crate::analyze::analysis::BackupSummary;
use crate::analyze::findings::{Evidence, Finding, ObjectRef};
use crate::bundle::layout::VELERO_LOGS;

const COMPONENTS_KIND: &str = "facts.components";

/// Fields of `facts.components` that tell how a container's last run ended: a finding testing one of them is
/// an event at that end (`lastState.terminated.finishedAt`).
const TERMINATION_FIELDS: [&str; 4] = [
    "lastTerminationReason",
    "lastTerminatedAt",
    "lastExitCode",
    "restartCount",
];

/// Fields that tell what a container is doing at the bundle's time (not ready, crash-looping, terminated).
/// A finding testing neither kind (a memory limit) tells a risk, not an event, and joins no backup by time.
const CURRENT_FIELDS: [&str; 3] = ["ready", "waitingReason", "terminatedReason"];
const VOLUMES_KIND: &str = "facts.volumes";

/// The objects around one backup that findings may name.
pub(super) struct Subjects<'c> {
    volumes: Vec<&'c VolumeOperation>,
    /// (namespace, pod) of its volumes.
    pods: BTreeSet<(&'c str, &'c str)>,
    nodes: BTreeSet<&'c str>,
    repositories: Vec<&'c Repository>,
    containers: &'c [ContainerState],
}

/// How a finding reaches a backup through its subjects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Link {
    /// It names one of the backup's volumes, their pods or nodes, or its repositories: the backup's own
    /// objects, whenever the evidence was seen.
    Named,
    /// It names a velero container, or a node-agent container on a node that ran the backup's volumes: it
    /// counts only when what it says happened inside the backup's window.
    Component(Told),
    /// It names a node that ran the backup's volumes (a node's event): it counts only through a detail of that
    /// node seen while the backup ran (verdicts/mod.rs `Window::holds_node_event`), never whenever.
    Node,
}

/// When what a component finding tells of its container happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Told {
    /// Its last run ended then (unknown: the pod status has no `finishedAt`).
    Ended(Option<Timestamp>),
    /// Its state at the bundle's time.
    Now,
}

impl<'c> Subjects<'c> {
    pub(super) fn of(
        summary: &BackupSummary,
        location: Option<&ObjectRef>,
        context: &'c VerdictContext,
    ) -> Subjects<'c> {
        let volumes: Vec<&VolumeOperation> =
            context.volumes_of(&summary.kind, &summary.name).collect();
        let pods = volumes
            .iter()
            .filter_map(|v| Some((v.volume_namespace.as_deref()?, v.pod.as_deref()?)))
            .collect();
        let nodes = volumes.iter().filter_map(|v| v.node.as_deref()).collect();
        let volume_namespaces: BTreeSet<&str> = volumes
            .iter()
            .filter_map(|v| v.volume_namespace.as_deref())
            .collect();
        // A backup's volumes in namespace N go to the repository for N on the backup's location (one per
        // uploader type; both are its).
        let repositories = context
            .repositories
            .iter()
            .filter(|r| {
                r.volume_namespace
                    .as_deref()
                    .is_some_and(|ns| volume_namespaces.contains(ns))
                    && match (r.location.as_deref(), location) {
                        (Some(own), Some(location)) => own == location.name,
                        _ => true,
                    }
            })
            .collect();
        Subjects {
            volumes,
            pods,
            nodes,
            repositories,
            containers: &context.containers,
        }
    }

    /// The strongest link from a finding to the backup and the object it goes through (none: a node named in a
    /// value): a name of its own objects leads over a component's state, which counts only when `in_window`
    /// says it happened while the backup ran.
    pub(super) fn link<'f>(
        &self,
        finding: &'f Finding,
        in_window: impl Fn(&Link) -> bool,
    ) -> Option<(Link, Option<&'f ObjectRef>)> {
        let named = finding
            .targets
            .iter()
            .map(|t| &t.target)
            .chain(&finding.related)
            .chain(finding.evidence.iter().filter_map(|e| match e {
                Evidence::Object { object, .. } => Some(object),
                _ => None,
            }));
        let tested = finding.evidence.iter().find_map(|e| match e {
            Evidence::Object {
                path: Some(path), ..
            } => Some(path.as_str()),
            _ => None,
        });
        let told = match tested {
            Some(path) if TERMINATION_FIELDS.contains(&path) => Some(Kind::Termination),
            Some(path) if CURRENT_FIELDS.contains(&path) => Some(Kind::Current),
            _ => None,
        };
        let mut component = None;
        for object in named {
            match self.object_link(object, told) {
                Some(Link::Named) => return Some((Link::Named, Some(object))),
                Some(link) if component.is_none() && in_window(&link) => {
                    component = Some((link, Some(object)))
                }
                _ => {}
            }
        }
        if finding.evidence.iter().any(|e| self.names_a_node(e)) {
            return Some((Link::Named, None));
        }
        if component.is_none()
            && finding
                .evidence
                .iter()
                .any(|e| self.is_from_a_down_server(e))
        {
            let link = Link::Component(Told::Now);
            if in_window(&link) {
                return Some((link, None));
            }
        }
        component
    }

    /// A line of the log of a velero server container that is not ready now (crash-looping, refusing to start):
    /// it tells why no backup is processed, whichever backup it names or not.
    fn is_from_a_down_server(&self, evidence: &Evidence) -> bool {
        let Evidence::LogLine { file, .. } = evidence else {
            return false;
        };
        let Some((pod, container)) = file
            .strip_prefix(VELERO_LOGS)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('/'))
        else {
            return false;
        };
        let container = container
            .strip_suffix("-previous.log")
            .or_else(|| container.strip_suffix(".log"))
            .unwrap_or(container);
        self.containers.iter().any(|c| {
            c.component == "velero" && !c.ready && c.pod == pod && c.container == container
        })
    }

    fn object_link(&self, object: &ObjectRef, told: Option<Kind>) -> Option<Link> {
        let namespace = object.namespace.as_deref();
        let same_namespace = |ns: Option<&str>| namespace.is_none() || ns == namespace;
        match object.kind.as_str() {
            kind @ (PVB_KIND | DATA_UPLOAD_KIND | PVR_KIND | DATA_DOWNLOAD_KIND) => self
                .volumes
                .iter()
                .any(|v| {
                    v.kind == kind
                        && *v.name == *object.name
                        && same_namespace(v.namespace.as_deref())
                })
                .then_some(Link::Named),
            "pods" => namespace
                .is_some_and(|ns| self.pods.contains(&(ns, object.name.as_str())))
                .then_some(Link::Named),
            "nodes" => self
                .nodes
                .contains(object.name.as_str())
                .then_some(Link::Node),
            "backuprepositories.velero.io" | "resticrepositories.velero.io" => self
                .repositories
                .iter()
                .any(|r| {
                    r.kind == object.kind
                        && r.name == object.name
                        && same_namespace(r.namespace.as_deref())
                })
                .then_some(Link::Named),
            // Fact objects are named `pod/volume`, `pod/container` (engine/objects.rs `object_ref`).
            VOLUMES_KIND => {
                let (pod, _) = object.name.split_once('/')?;
                namespace
                    .is_some_and(|ns| self.pods.contains(&(ns, pod)))
                    .then_some(Link::Named)
            }
            COMPONENTS_KIND => {
                let (pod, container) = object.name.split_once('/')?;
                let state = self.containers.iter().find(|c| {
                    c.pod == pod
                        && c.container == container
                        && same_namespace(c.namespace.as_deref())
                })?;
                let told = match told? {
                    Kind::Termination => Told::Ended(state.last_terminated_at),
                    Kind::Current => Told::Now,
                };
                self.ran_it(state).then_some(Link::Component(told))
            }
            _ => None,
        }
    }

    /// The velero server runs every backup; a node-agent pod only the volumes on its node.
    fn ran_it(&self, state: &ContainerState) -> bool {
        match state.component.as_str() {
            "velero" => true,
            "node-agent" | "restic" => state
                .node
                .as_deref()
                .is_some_and(|node| self.nodes.contains(node)),
            _ => false,
        }
    }

    /// Evidence whose tested path is a node field (`nodesWithoutNodeAgent[*].node`) names the nodes in its value.
    fn names_a_node(&self, evidence: &Evidence) -> bool {
        let Evidence::Object {
            path: Some(path),
            value: Some(value),
            ..
        } = evidence
        else {
            return false;
        };
        let field = path.rsplit('.').next().unwrap_or(path);
        let field = field.split('[').next().unwrap_or(field);
        matches!(field, "node" | "nodeName")
            && value
                .split(',')
                .map(str::trim)
                .any(|node| self.nodes.contains(node))
    }
}

/// What a component finding's tested field is about.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Termination,
    Current,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(ready: bool) -> ContainerState {
        ContainerState {
            component: "velero".into(),
            namespace: Some("velero".into()),
            pod: "velero-6d9c7b5f48-x4k7p".into(),
            container: "velero".into(),
            node: None,
            last_terminated_at: None,
            ready,
        }
    }

    fn line(file: &str) -> Evidence {
        Evidence::LogLine {
            file: file.into(),
            line: 4,
            excerpt: "An error occurred: invalid uploader type 'restic', valid type: 'kopia'"
                .into(),
            time: None,
            span: None,
        }
    }

    #[test]
    fn a_line_of_a_server_that_is_not_ready_concerns_every_backup() {
        for (ready, file, expected) in [
            (
                false,
                "velero/logs/velero-6d9c7b5f48-x4k7p/velero.log",
                true,
            ),
            (
                false,
                "velero/logs/velero-6d9c7b5f48-x4k7p/velero-previous.log",
                true,
            ),
            // A running server's lines say nothing of a backup they do not name.
            (
                true,
                "velero/logs/velero-6d9c7b5f48-x4k7p/velero.log",
                false,
            ),
            (false, "velero/logs/node-agent-k8d2w/node-agent.log", false),
            (false, "kots/logs/velero-6d9c7b5f48-x4k7p/velero.log", false),
        ] {
            let containers = [server(ready)];
            let subjects = Subjects {
                volumes: Vec::new(),
                pods: BTreeSet::new(),
                nodes: BTreeSet::new(),
                repositories: Vec::new(),
                containers: &containers,
            };
            assert_eq!(
                subjects.is_from_a_down_server(&line(file)),
                expected,
                "{ready} {file}"
            );
        }
    }
}
