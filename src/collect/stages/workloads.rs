//! Stage 3b: the workloads of the Velero and KOTS namespaces: deployments, daemonsets, pods and events, each
//! list written whole and all but the events kept ([`Workloads`]) to find logs, components and secrets; the
//! components their deployments and daemonsets run go into the manifest's scope.
use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::bundle::layout::objects_path;
use crate::collect::CollectError;
use crate::collect::api::DEFAULT_CONCURRENCY;
use crate::collect::detect::{self, items};
use crate::collect::downloads;
use crate::collect::lists::{Keep, ListSpool};
use crate::collect::run::{Run, resource_path, spool_list};

impl Run<'_> {
    pub(in crate::collect) async fn namespace_stage(
        &mut self,
        velero_ns: Option<&str>,
        kots_ns: Option<&str>,
    ) -> Result<Workloads, CollectError> {
        let mut wanted: Vec<(&'static str, String, &'static str)> = Vec::new();
        for (ns, source) in [(velero_ns, "velero"), (kots_ns, "kots")] {
            let Some(ns) = ns else { continue };
            for resource in ["deployments", "daemonsets", "pods", "events"] {
                if !wanted.iter().any(|(r, n, _)| *r == resource && n == ns) {
                    wanted.push((resource, ns.to_string(), source));
                }
            }
        }
        self.progress.stage("workloads", wanted.len());
        let api = self.api.clone();
        let dir = self.spool_dir.path().to_path_buf();
        let results: Vec<_> = futures::stream::iter(wanted)
            .map(|(resource, ns, source)| {
                let api = api.clone();
                let dir = dir.clone();
                async move {
                    // Events are only written; the rest is read again to find logs, components and secrets.
                    let keep = match resource {
                        "events" => Keep::Nothing,
                        _ => Keep::Whole,
                    };
                    let path = resource_path(resource, Some(&ns));
                    let result = spool_list(&api, &dir, &path, ListSpool::whole(), keep).await;
                    (resource, ns, source, result)
                }
            })
            .buffered(DEFAULT_CONCURRENCY)
            .collect()
            .await;
        let mut workloads = Workloads {
            velero_ns: velero_ns.map(str::to_string),
            kots_ns: kots_ns.map(str::to_string),
            ..Default::default()
        };
        for (resource, ns, source, result) in results {
            match result {
                Ok(mut list) => {
                    self.write_list(&objects_path(resource, Some(&ns)), &list)?;
                    workloads.lists.insert((resource, ns), list.kept_list());
                }
                Err(f) => self.record_failure(source, resource, Some(&ns), &f),
            }
            self.progress.step(resource);
        }
        Ok(workloads)
    }

    pub(in crate::collect) fn components(&mut self, workloads: &Workloads) {
        let components = detect::components(&workloads.deployments_and_daemonsets());
        self.scope.insert("components".into(), json!(components));
    }
}

/// Lists read from the Velero and KOTS namespaces, by (resource, namespace).
#[derive(Default)]
pub(in crate::collect) struct Workloads {
    pub(super) velero_ns: Option<String>,
    pub(super) kots_ns: Option<String>,
    pub(super) lists: BTreeMap<(&'static str, String), Value>,
}

impl Workloads {
    pub(super) fn deployments_and_daemonsets(&self) -> Vec<Value> {
        self.lists
            .iter()
            .filter(|((resource, _), _)| matches!(*resource, "deployments" | "daemonsets"))
            .flat_map(|(_, list)| items(list).to_vec())
            .collect()
    }

    /// The Velero server's release, from its image tag.
    pub(super) fn velero_release(&self) -> Option<downloads::Release> {
        detect::components(&self.deployments_and_daemonsets())
            .into_iter()
            .find(|c| c.component == "velero")?
            .version
            .as_deref()
            .and_then(downloads::release_of)
    }
}
