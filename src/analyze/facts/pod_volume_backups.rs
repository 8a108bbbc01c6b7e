//! PodVolumeBackups as the analysis keeps them: typed projections of the fields its Rust readers read, not
//! `serde_json::Value`s.
//!
//! A PodVolumeBackup is one per pod volume per backup, so the most numerous object of a bundle (20,000 on the
//! 1 GiB scale bundle, 28.4 MB of its 33.5 MB of object JSON). Kept as a `Value`, even stripped of the fields no
//! reader reads, each took about 3 KiB (a 112-byte map slot per field, its key, its text): the larger part of the
//! analysis's peak memory (BENCHMARKS.md, "Analysis memory (#20)"). A projection holds the same answers in a few
//! hundred bytes, and the strings that repeat from one to the next (namespaces, backup and node names, phases,
//! uploaders, volume names) once per list.
//!
//! The object rules and the log rules' places read any path of a PodVolumeBackup: they are evaluated on each
//! whole object as its list streams (engine/streamed.rs), and only what matched is kept (facts/projected.rs).
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use super::interned::Strings;
use super::json::{self, i64_at, str_at, time_at};
use super::projected::{Projection, Projections};
use crate::bundle::list::Pick;

/// The resource.
pub(crate) const RESOURCE: &str = "podvolumebackups.velero.io";

/// What facts, verdicts, readiness and timelines read of a PodVolumeBackup (Velero v1.16
/// pkg/apis/velero/v1/pod_volume_backup_types.go). Every text is as `json::str_at` reads it: absent when the
/// field is missing, not a string, or empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodVolumeBackup {
    /// Shared with the verdicts' volume operations, which are held through the log scan.
    pub(crate) name: Option<Arc<str>>,
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) created: Option<Timestamp>,
    /// Label `velero.io/backup-name`: the backup it belongs to.
    pub(crate) backup: Option<Arc<str>>,
    /// Label `velero.io/pvc-uid`: the claim behind the volume, which outlives the pod.
    pub(crate) claim_uid: Option<Box<str>>,
    /// The names of the Backups among its owner references.
    pub(crate) owning_backups: Box<[Arc<str>]>,
    /// `spec.pod.namespace`, `spec.pod.name`.
    pub(crate) pod_namespace: Option<Arc<str>>,
    /// A pod's volumes are backed up by every backup that includes it: the name repeats.
    pub(crate) pod: Option<Arc<str>>,
    pub(crate) volume: Option<Arc<str>>,
    /// `spec.node`: the node whose agent moves the data.
    pub(crate) node: Option<Arc<str>>,
    /// `status.node`, which some writers set instead (the timelines read it first).
    pub(crate) status_node: Option<Arc<str>>,
    /// `spec.uploaderType` (absent before Velero 1.10: restic).
    pub(crate) uploader: Option<Arc<str>>,
    pub(crate) phase: Option<Arc<str>>,
    pub(crate) started: Option<Timestamp>,
    pub(crate) completed: Option<Timestamp>,
    /// `status.progress.bytesDone`, `status.progress.totalBytes`.
    pub(crate) bytes_done: Option<i64>,
    pub(crate) total_bytes: Option<i64>,
    pub(crate) message: Option<Box<str>>,
}

impl Projection for PodVolumeBackup {
    const RESOURCE: &'static str = RESOURCE;
    const READS: &'static Pick = &Pick::Fields(&[
        (
            "metadata",
            Pick::Fields(&[
                ("name", Pick::Whole),
                ("namespace", Pick::Whole),
                ("creationTimestamp", Pick::Whole),
                (
                    "labels",
                    Pick::Fields(&[
                        ("velero.io/backup-name", Pick::Whole),
                        ("velero.io/pvc-uid", Pick::Whole),
                    ]),
                ),
                (
                    "ownerReferences",
                    Pick::Fields(&[("kind", Pick::Whole), ("name", Pick::Whole)]),
                ),
            ]),
        ),
        (
            "spec",
            Pick::Fields(&[
                (
                    "pod",
                    Pick::Fields(&[("namespace", Pick::Whole), ("name", Pick::Whole)]),
                ),
                ("volume", Pick::Whole),
                ("node", Pick::Whole),
                ("uploaderType", Pick::Whole),
            ]),
        ),
        (
            "status",
            Pick::Fields(&[
                ("node", Pick::Whole),
                ("phase", Pick::Whole),
                ("message", Pick::Whole),
                ("startTimestamp", Pick::Whole),
                ("completionTimestamp", Pick::Whole),
                (
                    "progress",
                    Pick::Fields(&[("bytesDone", Pick::Whole), ("totalBytes", Pick::Whole)]),
                ),
            ]),
        ),
    ]);

    fn project(object: &Value, strings: &mut Strings) -> PodVolumeBackup {
        let text = |path: &[&str]| str_at(object, path).map(Box::from);
        let mut shared = |path: &[&str]| str_at(object, path).map(|s| strings.share(s));
        PodVolumeBackup {
            namespace: shared(&["metadata", "namespace"]),
            backup: shared(&["metadata", "labels", "velero.io/backup-name"]),
            pod_namespace: shared(&["spec", "pod", "namespace"]),
            volume: shared(&["spec", "volume"]),
            node: shared(&["spec", "node"]),
            status_node: shared(&["status", "node"]),
            uploader: shared(&["spec", "uploaderType"]),
            phase: shared(&["status", "phase"]),
            pod: shared(&["spec", "pod", "name"]),
            owning_backups: json::array_at(object, &["metadata", "ownerReferences"])
                .iter()
                .filter(|o| str_at(o, &["kind"]) == Some("Backup"))
                .filter_map(|o| str_at(o, &["name"]))
                .map(|name| strings.share(name))
                .collect(),
            name: str_at(object, &["metadata", "name"]).map(Arc::from),
            claim_uid: text(&["metadata", "labels", "velero.io/pvc-uid"]),
            message: text(&["status", "message"]),
            created: json::created(object),
            started: time_at(object, &["status", "startTimestamp"]),
            completed: time_at(object, &["status", "completionTimestamp"]),
            bytes_done: i64_at(object, &["status", "progress", "bytesDone"]),
            total_bytes: i64_at(object, &["status", "progress", "totalBytes"]),
        }
    }
}

/// A bundle's PodVolumeBackups: the newest [`MAX_OBJECTS_OF_A_KIND`] in the bundle's order, shared by every
/// reader (cloning is cheap).
///
/// [`MAX_OBJECTS_OF_A_KIND`]: crate::bundle::reader::MAX_OBJECTS_OF_A_KIND
pub(crate) type PodVolumeBackups = Projections<PodVolumeBackup>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::facts::projected::{self, Projector};
    use crate::bundle::Bundle;
    use crate::bundle::list::{Keep, ListSink};
    use serde_json::json;

    /// A PodVolumeBackup as Velero v1.16 writes one (composed, fields of pod_volume_backup_types.go).
    fn pod_volume_backup(name: &str, created: &str) -> Value {
        json!({
            "apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
            "metadata": {"name": name, "namespace": "velero", "generateName": "b1-", "uid": "u-1",
                         "creationTimestamp": created,
                         "labels": {"velero.io/backup-name": "b1", "velero.io/pvc-uid": "c-1"},
                         "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": "b1",
                                              "uid": "u-b1", "controller": true}]},
            "spec": {"backupStorageLocation": "default", "node": "worker-1", "uploaderType": "kopia",
                     "pod": {"kind": "Pod", "name": "db-0", "namespace": "app", "uid": "p-1"},
                     "volume": "data", "tags": {"backup": "b1", "ns": "app", "pod": "db-0", "volume": "data"}},
            "status": {"phase": "Failed", "path": "/host_pods/p-1/volumes/data", "snapshotID": "ab12",
                       "startTimestamp": "2026-11-20T12:00:01Z", "completionTimestamp": "2026-11-20T12:00:42Z",
                       "progress": {"bytesDone": 10, "totalBytes": 20.0}, "message": ""}
        })
    }

    #[test]
    fn a_projection_reads_what_the_value_readers_read() {
        let object = pod_volume_backup("b1-x7k2p", "2026-11-20T12:00:00Z");
        let pvb = &PodVolumeBackups::from_objects(std::slice::from_ref(&object))[0];
        assert_eq!(pvb.name.as_deref(), json::name(&object));
        assert_eq!(pvb.namespace.as_deref(), Some("velero"));
        assert_eq!(pvb.created, json::created(&object));
        assert_eq!(pvb.backup.as_deref(), Some("b1"));
        assert_eq!(pvb.claim_uid.as_deref(), Some("c-1"));
        assert_eq!(&*pvb.owning_backups, [Arc::from("b1")]);
        assert_eq!(
            (pvb.pod_namespace.as_deref(), pvb.pod.as_deref()),
            (Some("app"), Some("db-0"))
        );
        assert_eq!(
            (
                pvb.volume.as_deref(),
                pvb.node.as_deref(),
                pvb.status_node.as_deref()
            ),
            (Some("data"), Some("worker-1"), None)
        );
        assert_eq!(
            (pvb.uploader.as_deref(), pvb.phase.as_deref()),
            (Some("kopia"), Some("Failed"))
        );
        assert_eq!(pvb.started, time_at(&object, &["status", "startTimestamp"]));
        assert!(pvb.completed.is_some());
        // A float without a fraction is an integer, as `i64_at` reads it; an empty message is none.
        assert_eq!((pvb.bytes_done, pvb.total_bytes), (Some(10), Some(20)));
        assert_eq!(pvb.message, None);
    }

    #[test]
    fn every_field_of_velero_s_pod_volume_backup_schema_that_is_projected_is_parsed() {
        let crd = include_str!("../../../tests/fixtures/crds/velero-v1.18.1-podvolumebackups.yaml");
        let object = projected::every_field_of(crd, projected::velero_metadata());
        assert_eq!(object["spec"]["pod"]["name"], json!("spec.pod.name"));
        projected::assert_every_field_read_is_parsed::<PodVolumeBackup>(&object);
    }

    #[test]
    fn the_fields_parsed_are_every_field_projected() {
        let mut object = pod_volume_backup("b1-x7k2p", "2026-11-20T12:00:00Z");
        object["status"]["node"] = json!("worker-2");
        object["status"]["message"] = json!("volume busy");
        crate::analyze::facts::projected::assert_reads_cover_the_projection::<PodVolumeBackup>(
            &object,
        );
    }

    #[test]
    fn a_list_read_whole_says_none_was_left_out_even_with_items_that_are_not_objects() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir
            .path()
            .join(crate::bundle::layout::objects_dir(RESOURCE));
        std::fs::create_dir_all(&folder).unwrap();
        let list = json!({"kind": "List", "items": [
            pod_volume_backup("a", "2026-11-20T12:00:01Z"), null, pod_volume_backup("b", "2026-11-20T12:00:02Z")]});
        std::fs::write(folder.join("velero.json"), list.to_string()).unwrap();
        let mut bundle = Bundle::open(dir.path()).unwrap();
        let kept = PodVolumeBackups::of(&mut bundle).unwrap();
        assert_eq!((kept.len(), kept.kept_places()), (2, &[0, 1, 2][..]));
        assert!(bundle.objects_left_out().is_empty());
        // Read once: the second call is the shared list.
        let again = PodVolumeBackups::of(&mut bundle).unwrap();
        assert!(kept.same_list(&again));
    }

    #[test]
    fn the_newest_are_kept_in_the_bundle_order_with_their_places_and_strings_shared() {
        let items = [
            pod_volume_backup("c", "2026-11-20T12:00:03Z"),
            json!("not an object"),
            pod_volume_backup("a", "2026-11-20T12:00:01Z"),
            pod_volume_backup("b", "2026-11-20T12:00:02Z"),
        ];
        let mut projector = Projector::<PodVolumeBackup>::default();
        for item in items {
            projector.push(Keep::Newest(2), item);
        }
        assert_eq!(projector.total, 4);
        let kept = projector.into_placed();
        let names: Vec<(usize, Option<&str>)> = kept
            .iter()
            .map(|(place, p)| (*place, p.as_ref().and_then(|p| p.name.as_deref())))
            .collect();
        assert_eq!(names, [(0, Some("c")), (3, Some("b"))]);
        let phase = |i: usize| kept[i].1.as_ref().and_then(|p| p.phase.clone()).unwrap();
        assert!(Arc::ptr_eq(&phase(0), &phase(1)));
    }
}
