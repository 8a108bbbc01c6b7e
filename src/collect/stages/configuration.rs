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
use crate::bundle::layout::CLUSTER_NODE_EVENTS;
use crate::collect::error::CollectError;
use crate::collect::lists::{Keep, ListSpool};
use crate::collect::run::{Entry, Run, resource_path, spool_list};

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

    pub(in crate::collect) async fn configuration_stage(
        &mut self,
        velero_ns: Option<&str>,
    ) -> Result<(), CollectError> {
        self.progress
            .stage("configuration", CLUSTER_LISTS.len() + 3);
        if let Some(ns) = velero_ns {
            self.list_into_bundle("velero", "configmaps", Some(ns), Entry::One("configmaps"))
                .await?;
        }
        self.progress.step("configmaps");
        for (resource, entry) in CLUSTER_LISTS {
            self.list_into_bundle("cluster", resource, None, Entry::One(entry))
                .await?;
            self.progress.step(resource);
        }
        // VolumeSnapshots live in the applications' namespaces: one entry per namespace, as pods are kept.
        self.list_into_bundle(
            "cluster",
            "volumesnapshots",
            None,
            Entry::PerNamespace("volumesnapshots.snapshot.storage.k8s.io"),
        )
        .await?;
        self.progress.step("volumesnapshots");
        self.node_events().await?;
        self.progress.step("node events");
        Ok(())
    }

    /// The kubelets' events about their nodes (disk or memory pressure, evictions, image garbage collection
    /// failing), which kill or refuse the node agent and data mover pods: recorded in the `default` namespace,
    /// which no other stage reads unless backups include it.
    async fn node_events(&mut self) -> Result<(), CollectError> {
        let path = format!(
            "{}?fieldSelector=involvedObject.kind%3DNode",
            resource_path("events", None)
        );
        let listed = spool_list(
            &self.api,
            self.spool_dir.path(),
            &path,
            ListSpool::whole(),
            Keep::Nothing,
        )
        .await;
        match listed {
            Ok(list) => self.write_list(CLUSTER_NODE_EVENTS, &list),
            Err(f) => {
                self.record_failure("cluster", "events (involvedObject.kind=Node)", None, &f);
                Ok(())
            }
        }
    }
}
