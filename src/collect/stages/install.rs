//! How the cluster was installed: kURL's ConfigMap (kube-system/kurl-config) and KOTS's file-system snapshot
//! store into the bundle; kURL and embedded-cluster hints (namespaces, node labels) into the manifest's scope.
use serde_json::{Map, Value, json};

use crate::bundle::layout::objects_path;
use crate::collect::CollectError;
use crate::collect::detect::items;
use crate::collect::run::Run;
use crate::collect::stages::cluster::ClusterFacts;

/// KOTS's file-system (host path / NFS) snapshot store settings.
const KOTS_FS_CONFIGMAP: &str = "kotsadm-fs-lvp";

impl Run<'_> {
    /// kURL's configmap (kube-system/kurl-config); kURL and embedded-cluster hints in the scope.
    pub(in crate::collect) async fn install_stage(
        &mut self,
        facts: &ClusterFacts,
        kots_ns: Option<&str>,
    ) -> Result<(), CollectError> {
        if let Some(namespace) = kots_ns {
            self.kots_snapshot_store(namespace).await?;
        }
        let kurl_config = match self
            .api
            .get("/api/v1/namespaces/kube-system/configmaps/kurl-config")
            .await
        {
            Ok(configmap) => {
                let list = json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": [configmap]});
                self.write_json(&objects_path("configmaps", Some("kube-system")), list)?;
                true
            }
            Err(f) if f.is_not_found() => false,
            Err(f) => {
                self.record_failure("kots", "configmaps/kurl-config", Some("kube-system"), &f);
                false
            }
        };
        let node_labels: Vec<&Map<String, Value>> = items(&facts.nodes)
            .iter()
            .filter_map(|n| n.pointer("/metadata/labels").and_then(Value::as_object))
            .collect();
        let kurl = kurl_config
            || facts.namespaces.iter().any(|n| n == "kurl")
            || node_labels
                .iter()
                .any(|l| l.contains_key("kurl.sh/cluster"));
        let embedded = facts.namespaces.iter().any(|n| n == "embedded-cluster")
            || node_labels.iter().any(|l| {
                l.keys().any(|k| {
                    k.starts_with("kots.io/embedded-cluster")
                        || k.starts_with("node.k0sproject.io/")
                })
            });
        self.scope.insert(
            "install".into(),
            json!({"kurl": kurl, "kurlConfig": kurl_config, "embeddedCluster": embedded}),
        );
        Ok(())
    }

    /// KOTS's file-system snapshot store, the one snapshot setting KOTS keeps in the API rather than in its
    /// database: the `kotsadm-fs-lvp` ConfigMap in kotsadm's namespace (replicatedhq/kots
    /// pkg/snapshot/filesystem_lvp.go at 370ae903: `HOSTPATH`, or `NFS_PATH` and `NFS_SERVER`), which KOTS
    /// writes when a host path or NFS share is chosen as the snapshot destination. Absent otherwise.
    async fn kots_snapshot_store(&mut self, namespace: &str) -> Result<(), CollectError> {
        let path = format!("/api/v1/namespaces/{namespace}/configmaps/{KOTS_FS_CONFIGMAP}");
        match self.api.get(&path).await {
            Ok(configmap) => {
                self.scope.insert(
                    "kotsSnapshotStore".into(),
                    json!({"configMap": format!("{namespace}/{KOTS_FS_CONFIGMAP}"), "data": configmap.get("data")}),
                );
                let list = json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {}, "items": [configmap]});
                self.write_json(&objects_path("configmaps", Some(namespace)), list)
            }
            Err(f) if f.is_not_found() => Ok(()),
            Err(f) => {
                let target = format!("configmaps/{KOTS_FS_CONFIGMAP}");
                self.record_failure("kots", &target, Some(namespace), &f);
                Ok(())
            }
        }
    }
}
