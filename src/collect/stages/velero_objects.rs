//! Stage 3: Velero's objects, every kind the velero.io group serves (v1 first), in Velero's namespace or in all
//! of them. Each list is written whole; what the deciding stages read of it is kept as small projections
//! ([`velero_keep`]), the newest [`NEWEST_KEPT`] of the many kinds.
use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::bundle::layout::objects_path;
use crate::collect::CollectError;
use crate::collect::api::DEFAULT_CONCURRENCY;
use crate::collect::lists::{Keep, ListSpool};
use crate::collect::run::{Run, spool_list};
use crate::collect::stages::cluster::ClusterFacts;

pub(super) const VELERO_GROUP: &str = "velero.io";

/// Velero kinds not collected: DownloadRequests are transient and hold pre-signed URLs.
const SKIPPED_VELERO_RESOURCES: &[&str] = &["downloadrequests"];

fn velero_path(version: &str, plural: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("/apis/{VELERO_GROUP}/{version}/namespaces/{ns}/{plural}"),
        None => format!("/apis/{VELERO_GROUP}/{version}/{plural}"),
    }
}

/// What the deciding stages read of backups: `choose_recent`, `backup_scope`, the download plan.
const BACKUP_FIELDS: &[&str] = &[
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/creationTimestamp",
    "/spec/includedNamespaces",
    "/spec/excludedNamespaces",
    "/spec/storageLocation",
    "/status/phase",
    "/status/startTimestamp",
    "/status/completionTimestamp",
    // What tells KOTS's snapshot settings (kots_snapshots.rs).
    "/metadata/annotations/kots.io~1instance",
    "/metadata/annotations/kots.io~1snapshot-trigger",
    "/metadata/annotations/kots.io~1app-id",
    "/spec/ttl",
];
/// What `backup_scope` reads of every backup: kept once per distinct value, however many backups.
const BACKUP_SCOPE_FIELDS: &[&str] = &["/spec/includedNamespaces", "/spec/excludedNamespaces"];
/// How many of the newest backups (restores) the deciding stages see: `--recent` and failed ones among
/// them get their logs. Bounds memory whatever the count (1,000,000 backups as projections were 5.6 GiB;
/// 10,000 are about 30 MB); the manifest's scope says how many were left out.
pub(super) const NEWEST_KEPT: usize = 10_000;
/// Of restores: `choose_recent`, the backup each restores (the download plan) and the namespaces it maps
/// into (the workloads' scope).
const RESTORE_FIELDS: &[&str] = &[
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/creationTimestamp",
    "/spec/backupName",
    "/spec/namespaceMapping",
    "/status/phase",
    "/status/startTimestamp",
    "/status/completionTimestamp",
];
/// Of pod volume backups and data uploads: the backup they belong to and when (`names_seen_elsewhere`, which
/// reads only the newest of each backup's).
const BACKUP_PART_FIELDS: &[&str] = &[
    "/metadata/creationTimestamp",
    "/metadata/labels/velero.io~1backup-name",
    "/status/startTimestamp",
];
const RESTORE_PART_FIELDS: &[&str] = &[
    "/metadata/creationTimestamp",
    "/metadata/labels/velero.io~1restore-name",
    "/status/startTimestamp",
];

/// What is kept of each Velero kind for the stages that decide: the few, small kinds whole, the many
/// (thousands of backups, tens of thousands of pod volume backups) as the fields read.
fn velero_keep(plural: &str, recent: usize) -> Keep {
    let limit = NEWEST_KEPT.max(recent);
    match plural {
        "backups" => Keep::Newest {
            fields: BACKUP_FIELDS,
            limit,
            distinct: BACKUP_SCOPE_FIELDS,
        },
        "restores" => Keep::Newest {
            fields: RESTORE_FIELDS,
            limit,
            distinct: &[],
        },
        "podvolumebackups" | "datauploads" => Keep::NewestPerLabel {
            label: "velero.io/backup-name",
            fields: BACKUP_PART_FIELDS,
            limit,
        },
        "podvolumerestores" | "datadownloads" => Keep::NewestPerLabel {
            label: "velero.io/restore-name",
            fields: RESTORE_PART_FIELDS,
            limit,
        },
        "schedules" | "backupstoragelocations" | "volumesnapshotlocations" => Keep::Whole,
        _ => Keep::Nothing,
    }
}

/// The kind whose items a kind's items are parts of (`velero.io/backup-name`, `velero.io/restore-name`).
fn parts_of(plural: &str) -> Option<&'static str> {
    match plural {
        "podvolumebackups" | "datauploads" => Some("backups"),
        "podvolumerestores" | "datadownloads" => Some("restores"),
        _ => None,
    }
}

impl Run<'_> {
    pub(in crate::collect) async fn velero_stage(
        &mut self,
        facts: &ClusterFacts,
        namespace: Option<&str>,
    ) -> Result<BTreeMap<String, Value>, CollectError> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        let mut seen = BTreeSet::new();
        // v1 first: a kind served in two versions is read in v1.
        let mut resources = facts.velero_resources.clone();
        resources.sort_by_key(|(v, _)| v != "v1");
        for (version, plural) in resources {
            if SKIPPED_VELERO_RESOURCES.contains(&plural.as_str()) || !seen.insert(plural.clone()) {
                continue;
            }
            wanted.push((version, plural));
        }
        self.progress.stage("velero objects", wanted.len());
        let api = self.api.clone();
        let dir = self.spool_dir.path().to_path_buf();
        let recent = self.options.recent;
        let results: Vec<_> = futures::stream::iter(wanted.iter().cloned())
            .map(|(version, plural)| {
                let api = api.clone();
                let dir = dir.clone();
                async move {
                    let route = match namespace {
                        Some(_) => ListSpool::whole(),
                        None => ListSpool::by_namespace(|_| true),
                    };
                    let path = velero_path(&version, &plural, namespace);
                    let result =
                        spool_list(&api, &dir, &path, route, velero_keep(&plural, recent)).await;
                    (plural, result)
                }
            })
            .buffered(DEFAULT_CONCURRENCY)
            .collect()
            .await;
        let mut objects = BTreeMap::new();
        // Pod volume backups, data uploads and their restore counterparts are read only when the backups
        // (restores) they name could not be listed (`names_seen_elsewhere`): their 10,000 projections each
        // are read back as values only then (at 10× scale they were a third of the peak heap otherwise).
        let mut parts = Vec::new();
        for (plural, result) in results {
            let resource = format!("{plural}.{VELERO_GROUP}");
            match result {
                Ok(mut list) => {
                    match namespace {
                        Some(ns) => self.write_list(&objects_path(&resource, Some(ns)), &list)?,
                        None => self.write_list_by_namespace(&resource, &list)?,
                    }
                    if list.left_out > 0 {
                        let kept = NEWEST_KEPT.max(self.options.recent);
                        let note = match plural.as_str() {
                            "backups" | "restores" => format!(
                                "{} older {plural} (only the newest {kept} are considered for logs)",
                                list.left_out
                            ),
                            // Pod volume backups / data uploads (restores / downloads): one kept per backup.
                            _ => format!(
                                "{plural} of about {} older backups or restores (only those of the newest {kept} are \
                                 considered for logs; all are in the bundle)",
                                list.left_out
                            ),
                        };
                        self.scope
                            .insert(format!("{plural}NotConsidered"), json!(note));
                    }
                    match parts_of(&plural) {
                        Some(whole) => parts.push((plural.clone(), whole, list)),
                        None => {
                            objects.insert(plural.clone(), list.kept_list());
                        }
                    }
                }
                Err(f) => self.record_failure("velero-objects", &resource, namespace, &f),
            }
            self.progress.step(&resource);
        }
        for (plural, whole, mut list) in parts {
            if !objects.contains_key(whole) {
                objects.insert(plural, list.kept_list());
            }
        }
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_velero_kinds() {
        assert_eq!(
            velero_path("v2alpha1", "datauploads", Some("velero")),
            "/apis/velero.io/v2alpha1/namespaces/velero/datauploads"
        );
    }
}
