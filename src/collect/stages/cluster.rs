//! Stage 1: the cluster. Its version, nodes, namespaces, Velero's CustomResourceDefinitions, storage classes
//! and persistent volumes go into the bundle; what later stages decide from ([`ClusterFacts`]: the namespaces,
//! the nodes' labels, the velero and kotsadm deployments of all namespaces, the velero.io kinds served and the
//! DownloadRequest kinds the installed CRD takes) is kept.
use std::collections::BTreeSet;

use serde_json::Value;

use super::velero_objects::VELERO_GROUP;
use crate::bundle::CollectorError;
use crate::bundle::layout::{self, objects_path};
use crate::collect::CollectError;
use crate::collect::api::{ApiClient, ApiFailure};
use crate::collect::detect;
use crate::collect::downloads;
use crate::collect::lists::{Keep, ListSpool, Route};
use crate::collect::run::{Run, resource_path, spool_list};

/// Velero's kinds, for when discovery cannot be read: (version, plural).
const KNOWN_VELERO_RESOURCES: &[(&str, &str)] = &[
    ("v1", "backups"),
    ("v1", "restores"),
    ("v1", "schedules"),
    ("v1", "backupstoragelocations"),
    ("v1", "volumesnapshotlocations"),
    ("v1", "podvolumebackups"),
    ("v1", "podvolumerestores"),
    ("v1", "backuprepositories"),
    ("v1", "resticrepositories"),
    ("v1", "deletebackuprequests"),
    ("v1", "serverstatusrequests"),
    ("v2alpha1", "datauploads"),
    ("v2alpha1", "datadownloads"),
];

/// A workload that may be Velero's or KOTS's: the only ones of all namespaces' deployments that are kept.
fn velero_or_kotsadm(deployment: &Value) -> bool {
    detect::is_velero_deployment(deployment) || detect::is_kotsadm_workload(deployment)
}

/// What the first stage read and later stages decide from.
#[derive(Default)]
pub(in crate::collect) struct ClusterFacts {
    pub(in crate::collect) namespaces: Vec<String>,
    /// The nodes' labels.
    pub(super) nodes: Value,
    /// The velero and kotsadm deployments of all namespaces.
    pub(super) deployments: Option<Value>,
    /// (version, plural) of every Velero kind served.
    pub(super) velero_resources: Vec<(String, String)>,
    /// The DownloadRequest target kinds the installed CRD takes, when it was read.
    pub(super) download_kinds: Option<BTreeSet<String>>,
}

/// The DownloadRequest CRD: its enum of target kinds says which files the server can hand out.
fn is_download_requests_crd(crd: &Value) -> bool {
    crd.pointer("/metadata/name").and_then(Value::as_str) == Some("downloadrequests.velero.io")
}

impl Run<'_> {
    pub(in crate::collect) async fn cluster_stage(&mut self) -> Result<ClusterFacts, CollectError> {
        self.progress.stage("cluster", 8);
        let api = self.api.clone();
        let dir = self.spool_dir.path().to_path_buf();
        let storage_classes_path = resource_path("storageclasses", None);
        let volumes_path = resource_path("persistentvolumes", None);
        let velero_crds: Route = Box::new(|crd| {
            (crd.pointer("/spec/group").and_then(Value::as_str) == Some(VELERO_GROUP)).then_some("")
        });
        let (version, nodes, namespaces, crds, deployments, storage_classes, volumes, discovery) = futures::join!(
            api.get("/version"),
            spool_list(
                &api,
                &dir,
                "/api/v1/nodes",
                ListSpool::whole(),
                Keep::Fields(&["/metadata/labels"])
            ),
            spool_list(
                &api,
                &dir,
                "/api/v1/namespaces",
                ListSpool::whole(),
                Keep::Fields(&["/metadata/name"])
            ),
            spool_list(
                &api,
                &dir,
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                velero_crds,
                Keep::Matching(is_download_requests_crd)
            ),
            spool_list(
                &api,
                &dir,
                "/apis/apps/v1/deployments",
                ListSpool::nowhere(),
                Keep::Matching(velero_or_kotsadm)
            ),
            spool_list(
                &api,
                &dir,
                &storage_classes_path,
                ListSpool::whole(),
                Keep::Nothing
            ),
            spool_list(&api, &dir, &volumes_path, ListSpool::whole(), Keep::Nothing),
            velero_discovery(&api),
        );
        let mut facts = ClusterFacts::default();
        match version {
            Ok(v) => self.write_json(layout::CLUSTER_VERSION, v)?,
            Err(f) => self.record_failure("cluster", "/version", None, &f),
        }
        self.progress.step("version");
        match nodes {
            Ok(mut list) => {
                self.write_list(layout::CLUSTER_NODES, &list)?;
                facts.nodes = list.kept_list();
            }
            Err(f) => self.record_failure("cluster", "nodes", None, &f),
        }
        self.progress.step("nodes");
        match namespaces {
            Ok(list) => {
                self.write_list(layout::CLUSTER_NAMESPACES, &list)?;
                facts.namespaces = list
                    .kept
                    .iter()
                    .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect();
            }
            Err(f) => self.record_failure("cluster", "namespaces", None, &f),
        }
        self.progress.step("namespaces");
        match crds {
            Ok(list) => {
                // Written with an empty List's metadata, like the lists split by namespace: it is a
                // selection of what the API answered.
                self.writer.count_redactions(&list.redactions);
                facts.download_kinds = list.kept.iter().find_map(downloads::accepted_kinds);
                let result = list.copy_group_into(&mut self.writer, layout::CLUSTER_CRDS, "");
                self.bundle_result(result)?;
            }
            Err(f) => self.record_failure(
                "cluster",
                "customresourcedefinitions.apiextensions.k8s.io",
                None,
                &f,
            ),
        }
        self.progress.step("crds");
        match deployments {
            Ok(mut list) => facts.deployments = Some(list.kept_list()),
            Err(f) => self.record_failure("velero", "deployments (all namespaces)", None, &f),
        }
        self.progress.step("deployments");
        for (resource, result) in [
            ("storageclasses", storage_classes),
            ("persistentvolumes", volumes),
        ] {
            match result {
                Ok(list) => {
                    self.write_list(&objects_path(resource, None), &list)?;
                }
                Err(f) => self.record_failure("cluster", resource, None, &f),
            }
            self.progress.step(resource);
        }
        match discovery {
            Ok(resources) => facts.velero_resources = resources,
            Err(f) => {
                if f.is_not_found() {
                    self.record(CollectorError {
                        source: "velero-objects".into(),
                        target: Some(VELERO_GROUP.into()),
                        namespace: None,
                        status: f.status,
                        message: "the cluster serves no velero.io API: Velero's CustomResourceDefinitions are not installed".into(),
                    });
                } else {
                    self.record_failure("velero-objects", "velero.io discovery", None, &f);
                    facts.velero_resources = KNOWN_VELERO_RESOURCES
                        .iter()
                        .map(|(v, p)| (v.to_string(), p.to_string()))
                        .collect();
                }
            }
        }
        self.progress.step("velero.io discovery");
        Ok(facts)
    }
}

/// Discovery of the velero.io group: (version, plural) of every kind it serves (no subresources).
async fn velero_discovery(api: &ApiClient) -> Result<Vec<(String, String)>, ApiFailure> {
    let group = api.get(&format!("/apis/{VELERO_GROUP}")).await?;
    let versions: Vec<String> = group
        .get("versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.get("version").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for version in versions {
        let list = api.get(&format!("/apis/{VELERO_GROUP}/{version}")).await?;
        for resource in list
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = resource.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !name.contains('/') {
                out.push((version.clone(), name.to_string()));
            }
        }
    }
    Ok(out)
}
