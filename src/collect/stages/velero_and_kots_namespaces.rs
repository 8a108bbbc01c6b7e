//! Stage 2: where Velero and KOTS run. Velero's namespace is `--velero-namespace`, else the one its deployment
//! runs in, else a namespace named `velero`; KOTS's is the kotsadm workload's. The manifest's scope says which
//! and why (`veleroNamespace`, `veleroNamespaceFrom`, `veleroNamespaceCandidates`, `kotsNamespace`).
use serde_json::{Value, json};

use crate::bundle::CollectorError;
use crate::collect::detect::{self, items};
use crate::collect::run::{Run, resource_path};
use crate::collect::stages::cluster::ClusterFacts;

/// Where the Velero namespace came from (recorded in the manifest's scope).
#[derive(Debug, Clone, Copy)]
enum NamespaceOrigin {
    Flag,
    Deployment,
    NamespaceName,
}

impl NamespaceOrigin {
    fn as_str(self) -> &'static str {
        match self {
            NamespaceOrigin::Flag => "--velero-namespace",
            NamespaceOrigin::Deployment => "velero deployment",
            NamespaceOrigin::NamespaceName => "namespace named velero",
        }
    }
}

impl Run<'_> {
    pub(in crate::collect) async fn velero_namespace(
        &mut self,
        facts: &ClusterFacts,
    ) -> Option<String> {
        let chosen = if let Some(ns) = &self.options.cluster.velero_namespace {
            Some((ns.clone(), NamespaceOrigin::Flag))
        } else {
            let from_deployments = match &facts.deployments {
                Some(list) => {
                    let (ns, candidates) =
                        detect::pick_namespace(items(list), detect::is_velero_deployment, "velero");
                    if candidates.len() > 1 {
                        self.scope
                            .insert("veleroNamespaceCandidates".into(), json!(candidates));
                    }
                    ns
                }
                // Cluster-wide deployments are not readable: try where `velero install` puts it.
                None => match self
                    .api
                    .get(&format!(
                        "{}/velero",
                        resource_path("deployments", Some("velero"))
                    ))
                    .await
                {
                    Ok(d) if detect::is_velero_deployment(&d) => Some("velero".to_string()),
                    _ => None,
                },
            };
            match from_deployments {
                Some(ns) => Some((ns, NamespaceOrigin::Deployment)),
                None if facts.namespaces.iter().any(|n| n == "velero") => {
                    Some(("velero".to_string(), NamespaceOrigin::NamespaceName))
                }
                None => None,
            }
        };
        match &chosen {
            Some((ns, origin)) => {
                self.scope.insert("veleroNamespace".into(), json!(ns));
                self.scope
                    .insert("veleroNamespaceFrom".into(), json!(origin.as_str()));
            }
            None => {
                self.scope.insert("veleroNamespace".into(), Value::Null);
                self.record(CollectorError {
                    source: "velero".into(),
                    target: Some("deployment".into()),
                    namespace: None,
                    status: None,
                    message: "no Velero deployment found in any namespace (labels component=velero or app.kubernetes.io/name=velero, or a deployment named velero running velero/velero); give --velero-namespace if it runs elsewhere".into(),
                });
            }
        }
        chosen.map(|(ns, _)| ns)
    }

    pub(in crate::collect) fn kots_namespace(&mut self, facts: &ClusterFacts) -> Option<String> {
        let list = facts.deployments.as_ref()?;
        let (ns, _) = detect::pick_namespace(items(list), detect::is_kotsadm_workload, "kotsadm");
        if let Some(ns) = &ns {
            self.scope.insert("kotsNamespace".into(), json!(ns));
        }
        ns
    }
}
