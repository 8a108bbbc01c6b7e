//! Stage 3e: object stores that run in the cluster. A storage location whose `s3Url` names a cluster Service
//! (kURL's MinIO `http://minio.minio`, Rook's Ceph RGW `http://rook-ceph-rgw-rook-ceph-store.rook-ceph`, KOTS's
//! `kotsadm-minio`) fails with that store: a full volume, a crashing pod. Its namespace's pods, events and
//! claims go into the bundle as any other namespace's (`cluster-resources/…`), and the logs of the store's pods
//! under `object-store/logs/` (a Role granting `pods/log` there is optional; a refusal is recorded).
//!
//! Services are not read (snapdoc is granted none): the store's pods are those of the Service's namespace
//! named after it (`minio-…`, `rook-ceph-rgw-rook-ceph-store-a-…`, `kotsadm-minio-0`) or labelled with its name
//! (`app`, `app.kubernetes.io/name`).
use serde_json::{Value, json};

use crate::bundle::layout::OBJECT_STORE_LOGS;
use crate::bundle::objects_path;
use crate::collect::detect::items;
use crate::collect::error::CollectError;
use crate::collect::logs::{LogTarget, targets_of};
use crate::collect::run::{Entry, Run, resource_path};

/// A cluster Service a storage location's `s3Url` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreService {
    /// The BackupStorageLocation.
    pub(crate) location: String,
    pub(crate) namespace: String,
    pub(crate) service: String,
}

/// The Services the locations' `s3Url`s name, in namespaces that exist: `svc` (Velero's namespace), `svc.ns`,
/// `svc.ns.svc` and `svc.ns.svc.<cluster domain>`. A public host (`s3.amazonaws.com`) names no namespace.
pub(crate) fn store_services(
    locations: &Value,
    velero_namespace: &str,
    namespaces: &[String],
) -> Vec<StoreService> {
    let mut found: Vec<StoreService> = Vec::new();
    for location in items(locations) {
        let Some(name) = location.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        let Some(host) = location
            .pointer("/spec/config/s3Url")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u.trim()).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        else {
            continue;
        };
        let labels: Vec<&str> = host.split('.').collect();
        let (service, namespace) = match labels.as_slice() {
            [service] => (*service, velero_namespace),
            [service, namespace] => (*service, *namespace),
            [service, namespace, "svc", ..] => (*service, *namespace),
            _ => continue,
        };
        if service.parse::<u8>().is_ok() || !namespaces.iter().any(|n| n == namespace) {
            continue;
        }
        let store = StoreService {
            location: name.to_string(),
            namespace: namespace.to_string(),
            service: service.to_string(),
        };
        if !found
            .iter()
            .any(|f| f.namespace == store.namespace && f.service == store.service)
        {
            found.push(store);
        }
    }
    found
}

/// Whether a pod serves the Service: named after it, or labelled with its name.
pub(crate) fn serves(pod: &Value, service: &str) -> bool {
    let named = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with(&format!("{service}-")));
    let labelled = [
        "/metadata/labels/app",
        "/metadata/labels/app.kubernetes.io~1name",
    ]
    .iter()
    .any(|p| pod.pointer(p).and_then(Value::as_str) == Some(service));
    named || labelled
}

impl Run<'_> {
    /// Reads the namespaces of in-cluster object stores into the bundle and returns the store pods' log
    /// targets, fetched with the other logs.
    pub(in crate::collect) async fn in_cluster_store_stage(
        &mut self,
        stores: &[StoreService],
    ) -> Result<Vec<LogTarget>, CollectError> {
        let mut targets = Vec::new();
        if stores.is_empty() {
            return Ok(targets);
        }
        self.progress.stage("in-cluster object store", stores.len());
        let mut seen_namespaces: Vec<&str> = Vec::new();
        let mut noted = Vec::new();
        for store in stores {
            let namespace = store.namespace.as_str();
            match self.api.get(&resource_path("pods", Some(namespace))).await {
                Ok(pods) => {
                    for pod in items(&pods).iter().filter(|p| serves(p, &store.service)) {
                        targets_of(pod, OBJECT_STORE_LOGS, "object-store", &mut targets);
                    }
                    let list = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items(&pods)});
                    self.write_json(&objects_path("pods", Some(namespace)), list)?;
                }
                Err(failure) => {
                    self.record_failure("object-store", "pods", Some(namespace), &failure)
                }
            }
            if !seen_namespaces.contains(&namespace) {
                seen_namespaces.push(namespace);
                for resource in ["events", "persistentvolumeclaims"] {
                    self.list_into_bundle(
                        "object-store",
                        resource,
                        Some(namespace),
                        Entry::One(resource),
                    )
                    .await?;
                }
            }
            noted.push(json!({"location": store.location, "namespace": namespace, "service": store.service}));
            self.progress
                .step(&format!("{}/{}", namespace, store.service));
        }
        self.scope
            .insert("inClusterObjectStores".into(), Value::Array(noted));
        targets.dedup();
        Ok(targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_of_kurl_rook_and_kots_stores_and_no_public_host() {
        let locations = json!({"items": [
            {"metadata": {"name": "kurl"}, "spec": {"config": {"s3Url": "http://minio.minio"}}},
            {"metadata": {"name": "rook"}, "spec": {"config": {"s3Url": "http://rook-ceph-rgw-rook-ceph-store.rook-ceph.svc.cluster.local:80"}}},
            {"metadata": {"name": "kots"}, "spec": {"config": {"s3Url": "http://kotsadm-minio:9000"}}},
            {"metadata": {"name": "aws"}, "spec": {"config": {"region": "us-east-1"}}},
            {"metadata": {"name": "public"}, "spec": {"config": {"s3Url": "https://s3.amazonaws.com"}}},
            {"metadata": {"name": "two-labels"}, "spec": {"config": {"s3Url": "https://example.com"}}},
            {"metadata": {"name": "ip"}, "spec": {"config": {"s3Url": "http://10.0.0.5:9000"}}}
        ]});
        let namespaces: Vec<String> = ["minio", "rook-ceph", "velero", "default"]
            .map(String::from)
            .to_vec();
        let found: Vec<(String, String, String)> =
            store_services(&locations, "velero", &namespaces)
                .into_iter()
                .map(|s| (s.location, s.namespace, s.service))
                .collect();
        assert_eq!(
            found,
            [
                ("kurl".into(), "minio".into(), "minio".into()),
                (
                    "rook".into(),
                    "rook-ceph".into(),
                    "rook-ceph-rgw-rook-ceph-store".into()
                ),
                ("kots".into(), "velero".into(), "kotsadm-minio".into()),
            ]
        );
    }

    #[test]
    fn the_store_s_pods_are_named_or_labelled_after_its_service() {
        let rgw = json!({"metadata": {"name": "rook-ceph-rgw-rook-ceph-store-a-5d7c9b8f4-x2x4z",
            "labels": {"app": "rook-ceph-rgw"}}});
        assert!(serves(&rgw, "rook-ceph-rgw-rook-ceph-store"));
        let minio = json!({"metadata": {"name": "ha-minio-0", "labels": {"app": "minio"}}});
        assert!(serves(&minio, "minio"));
        let operator = json!({"metadata": {"name": "rook-ceph-operator-7b8f", "labels": {"app": "rook-ceph-operator"}}});
        assert!(!serves(&operator, "rook-ceph-rgw-rook-ceph-store"));
    }
}
