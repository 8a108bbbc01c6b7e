//! Stage 4: what backups cover. The namespaces Velero's backups, schedules and restores name (the scope says
//! which: `backupNamespaces`) have their pods, persistent volume claims and events written: cluster-wide lists
//! split by namespace when backups take every namespace, else namespace by namespace (as when a cluster-wide
//! list is refused: at most [`MAX_NAMESPACE_FALLBACK`] namespaces). Restored pods that wait for Velero's
//! restore helper give that helper's log targets to the logs stage.
use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::bundle::layout::objects_path;
use crate::collect::CollectError;
use crate::collect::api::DEFAULT_CONCURRENCY;
use crate::collect::detect::{self, BackupScope, items};
use crate::collect::lists::{Keep, ListSpool};
use crate::collect::logs::{self, LogTarget};
use crate::collect::run::{Run, empty_list, resource_path, spool_list};
use crate::collect::stages::cluster::ClusterFacts;
use crate::collect::stages::workloads::Workloads;

/// When a cluster-wide list is forbidden, at most this many namespaces are listed one by one instead.
const MAX_NAMESPACE_FALLBACK: usize = 100;

impl Run<'_> {
    pub(in crate::collect) async fn backup_workloads_stage(
        &mut self,
        facts: &ClusterFacts,
        velero: &BTreeMap<String, Value>,
        workloads: &Workloads,
    ) -> Result<Vec<LogTarget>, CollectError> {
        let empty = empty_list();
        let mut restore_helpers: Vec<LogTarget> = Vec::new();
        // Of pods only the restored ones held by Velero's restore helper are kept (for its logs).
        let keep = |resource: &str| {
            if resource == "pods" {
                Keep::Matching(logs::awaits_restore)
            } else {
                Keep::Nothing
            }
        };
        let mut scope = detect::backup_scope(
            items(velero.get("backups").unwrap_or(&empty)),
            items(velero.get("schedules").unwrap_or(&empty)),
        );
        scope.add_restore_targets(items(velero.get("restores").unwrap_or(&empty)));
        self.scope
            .insert("backupNamespaces".into(), json!(scope.describe()));
        let resources = ["pods", "persistentvolumeclaims", "events"];
        let api = self.api.clone();
        let dir = self.spool_dir.path().to_path_buf();
        let already = |resource: &'static str, ns: &str| {
            workloads.lists.contains_key(&(resource, ns.to_string()))
        };
        let namespaces: Vec<String> = match &scope {
            BackupScope::Only(set) => set.iter().cloned().collect(),
            BackupScope::All { .. } => {
                self.progress.stage("backed-up workloads", resources.len());
                let results = futures::future::join_all(resources.iter().map(|resource| {
                    let path = resource_path(resource, None);
                    let scope = scope.clone();
                    let read_before: BTreeSet<String> = workloads
                        .lists
                        .keys()
                        .filter(|(r, _)| r == resource)
                        .map(|(_, ns)| ns.clone())
                        .collect();
                    let route = ListSpool::by_namespace(move |ns| {
                        scope.includes(ns) && !read_before.contains(ns)
                    });
                    let (api, dir) = (&api, &dir);
                    let keep = keep(resource);
                    async move { spool_list(api, dir, &path, route, keep).await }
                }))
                .await;
                let mut fallback = false;
                for (resource, result) in resources.iter().zip(results) {
                    match result {
                        Ok(list) => {
                            self.write_list_by_namespace(resource, &list)?;
                            restore_helpers
                                .extend(list.kept.iter().flat_map(logs::restore_helper_targets));
                        }
                        Err(f) => {
                            fallback |= f.is_forbidden();
                            self.record_failure("workloads", resource, None, &f);
                        }
                    }
                    self.progress.step(resource);
                }
                if !fallback {
                    return Ok(restore_helpers);
                }
                facts
                    .namespaces
                    .iter()
                    .filter(|ns| scope.includes(ns))
                    .take(MAX_NAMESPACE_FALLBACK)
                    .cloned()
                    .collect()
            }
        };
        let wanted: Vec<(&'static str, String)> = namespaces
            .iter()
            .flat_map(|ns| resources.iter().map(move |r| (*r, ns.clone())))
            .filter(|(r, ns)| !already(r, ns))
            .filter(|(r, ns)| !self.writer.contains(&objects_path(r, Some(ns))))
            .collect();
        self.progress.stage("backed-up workloads", wanted.len());
        let results: Vec<_> = futures::stream::iter(wanted)
            .map(|(resource, ns)| {
                let api = api.clone();
                let dir = dir.clone();
                let keep = keep(resource);
                async move {
                    let path = resource_path(resource, Some(&ns));
                    let result = spool_list(&api, &dir, &path, ListSpool::whole(), keep).await;
                    (resource, ns, result)
                }
            })
            .buffered(DEFAULT_CONCURRENCY)
            .collect()
            .await;
        for (resource, ns, result) in results {
            match result {
                Ok(list) => {
                    self.write_list(&objects_path(resource, Some(&ns)), &list)?;
                    restore_helpers.extend(list.kept.iter().flat_map(logs::restore_helper_targets));
                }
                Err(f) => self.record_failure("workloads", resource, Some(&ns), &f),
            }
            self.progress.step(resource);
        }
        Ok(restore_helpers)
    }
}
