//! Stage 3d: what configures Velero's work beyond its own objects. The ConfigMaps of Velero's namespace (the
//! node agent's, the repository maintenance job's, the backup repository's and the backup PVC's settings, named
//! by the server's and node agent's flags), the PriorityClasses those settings may name, and the CSI side of
//! snapshots: CSIDrivers, VolumeSnapshotClasses (which one carries `velero.io/csi-volumesnapshot-class`),
//! VolumeSnapshotContents and VolumeSnapshots. Rules read them (SD509, SD324's causes) and `snapdoc diff`
//! compares them between two days.
//!
//! An API the cluster does not serve (no snapshot CRDs installed: 404) is not a failure: the bundle simply has
//! no such entry. A refused list (403) is recorded, as every other stage does, so the report says what it could
//! not see.
use super::lists::{Keep, ListSpool};
use super::run::{Run, resource_path, spool_list};
use crate::bundle::objects_path;
use crate::collect::error::CollectError;

/// The cluster-scoped lists of this stage: (resource as the API names it, bundle resource name).
const CLUSTER_LISTS: &[(&str, &str)] = &[
    ("priorityclasses", "priorityclasses"),
    ("csidrivers", "csidrivers"),
    (
        "volumesnapshotclasses",
        "volumesnapshotclasses.snapshot.storage.k8s.io",
    ),
    (
        "volumesnapshotcontents",
        "volumesnapshotcontents.snapshot.storage.k8s.io",
    ),
];

impl Run<'_> {
    // ---- stage 3d: Velero's configuration and the CSI snapshot objects ----

    pub(super) async fn configuration_stage(
        &mut self,
        velero_ns: Option<&str>,
    ) -> Result<(), CollectError> {
        self.progress
            .stage("configuration", CLUSTER_LISTS.len() + 2);
        if let Some(ns) = velero_ns {
            let path = resource_path("configmaps", Some(ns));
            let result = spool_list(
                &self.api,
                self.spool_dir.path(),
                &path,
                ListSpool::whole(),
                Keep::Nothing,
            )
            .await;
            match result {
                Ok(list) => self.write_list(&objects_path("configmaps", Some(ns)), &list)?,
                Err(f) if f.is_not_found() => {}
                Err(f) => self.record_failure("velero", "configmaps", Some(ns), &f),
            }
        }
        self.progress.step("configmaps");
        for (resource, entry) in CLUSTER_LISTS {
            let path = resource_path(resource, None);
            let result = spool_list(
                &self.api,
                self.spool_dir.path(),
                &path,
                ListSpool::whole(),
                Keep::Nothing,
            )
            .await;
            match result {
                Ok(list) => self.write_list(&objects_path(entry, None), &list)?,
                Err(f) if f.is_not_found() => {}
                Err(f) => self.record_failure("cluster", resource, None, &f),
            }
            self.progress.step(resource);
        }
        // VolumeSnapshots live in the applications' namespaces: one entry per namespace, as pods are kept.
        let path = resource_path("volumesnapshots", None);
        let result = spool_list(
            &self.api,
            self.spool_dir.path(),
            &path,
            ListSpool::by_namespace(|_| true),
            Keep::Nothing,
        )
        .await;
        match result {
            Ok(list) => {
                self.write_list_by_namespace("volumesnapshots.snapshot.storage.k8s.io", &list)?
            }
            Err(f) if f.is_not_found() => {}
            Err(f) => self.record_failure("cluster", "volumesnapshots", None, &f),
        }
        self.progress.step("volumesnapshots");
        Ok(())
    }
}
