//! Backups as the analysis keeps them: typed projections of the fields its Rust readers read, not
//! `serde_json::Value`s (facts/projected.rs).
//!
//! A bundle may hold tens of thousands of Backups; the analysis keeps the newest 20,000. Kept as a `Value`, each
//! took about 4.5 KiB (a map slot per field, its key, its text), 85 MB of the 10× scale bundle's 254 MiB peak
//! (BENCHMARKS.md, "Analysis memory (#20)"). Their namespaces, phases, schedules, locations and KOTS
//! annotations repeat from one Backup to the next and are held once per list.
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use super::interned::Strings;
use super::json::{self, bool_at, i64_at, str_at, time_at};
use super::projected::{Projection, Projections};
use crate::bundle::list::Pick;

/// The resource.
pub(crate) const RESOURCE: &str = "backups.velero.io";

/// A bundle's Backups: the newest kept, in the bundle's order, shared by every reader (cloning is cheap).
pub(crate) type Backups = Projections<Backup>;

/// What facts, environment, verdicts and readiness read of a Backup (Velero v1.16
/// pkg/apis/velero/v1/backup_types.go; KOTS's annotations). Every text is as `json::str_at` reads it: absent
/// when the field is missing, not a string, or empty. Lists of texts are as `json::strings_at` reads them: the
/// string elements, empty ones included.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Backup {
    pub(crate) name: Option<Box<str>>,
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) created: Option<Timestamp>,
    /// `metadata.creationTimestamp` as written: the verdicts order owners by its text.
    pub(crate) created_text: Option<Box<str>>,
    /// Label `velero.io/schedule-name`: the Schedule that made it.
    pub(crate) schedule: Option<Arc<str>>,
    /// Label `velero.io/storage-location`.
    pub(crate) storage_location_label: Option<Arc<str>>,
    pub(crate) kots: KotsAnnotations,
    /// Whether it has a `spec` at all: one without says nothing of what is backed up.
    pub(crate) has_spec: bool,
    pub(crate) spec: BackupSpec,
    pub(crate) status: BackupStatus,
}

/// The annotations KOTS puts on its snapshots (kotsadm pkg/kotsadmsnapshot/backup.go) and Embedded Cluster on
/// its disaster-recovery backups.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct KotsAnnotations {
    /// `kots.io/instance`: "true" on a full (instance) snapshot.
    pub(crate) instance: Option<Arc<str>>,
    pub(crate) app_slug: Option<Arc<str>>,
    pub(crate) app_id: Option<Arc<str>>,
    pub(crate) app_sequence: Option<Arc<str>>,
    /// `kots.io/snapshot-trigger`: "schedule" or "manual".
    pub(crate) snapshot_trigger: Option<Arc<str>>,
    pub(crate) embedded_cluster: Option<Arc<str>>,
    /// `replicated.com/disaster-recovery-version`.
    pub(crate) disaster_recovery_version: Option<Arc<str>>,
    /// `kots.io/apps-versions`: a JSON object of the applications' versions.
    pub(crate) apps_versions: Option<Arc<str>>,
    pub(crate) is_airgap: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BackupSpec {
    pub(crate) included_namespaces: Box<[Arc<str>]>,
    pub(crate) excluded_namespaces: Box<[Arc<str>]>,
    /// `spec.labelSelector` as written (rarely set, and read as a map of labels).
    pub(crate) label_selector: Option<Box<Value>>,
    pub(crate) snapshot_volumes: Option<bool>,
    pub(crate) default_volumes_to_fs_backup: Option<bool>,
    /// Its name before Velero 1.10.
    pub(crate) default_volumes_to_restic: Option<bool>,
    pub(crate) snapshot_move_data: Option<bool>,
    pub(crate) storage_location: Option<Arc<str>>,
    /// A Go duration (`4h0m0s`).
    pub(crate) item_operation_timeout: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BackupStatus {
    pub(crate) phase: Option<Arc<str>>,
    pub(crate) started: Option<Timestamp>,
    pub(crate) completed: Option<Timestamp>,
    pub(crate) expiration: Option<Timestamp>,
    pub(crate) errors: Option<i64>,
    pub(crate) warnings: Option<i64>,
    pub(crate) failure_reason: Option<Box<str>>,
    pub(crate) validation_errors: Box<[Box<str>]>,
    /// `status.progress.itemsBackedUp`.
    pub(crate) items_backed_up: Option<i64>,
    pub(crate) volume_snapshots_attempted: Option<i64>,
    pub(crate) csi_volume_snapshots_attempted: Option<i64>,
}

impl Projection for Backup {
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
                        ("velero.io/schedule-name", Pick::Whole),
                        ("velero.io/storage-location", Pick::Whole),
                    ]),
                ),
                (
                    "annotations",
                    Pick::Fields(&[
                        ("kots.io/instance", Pick::Whole),
                        ("kots.io/app-slug", Pick::Whole),
                        ("kots.io/app-id", Pick::Whole),
                        ("kots.io/app-sequence", Pick::Whole),
                        ("kots.io/snapshot-trigger", Pick::Whole),
                        ("kots.io/embedded-cluster", Pick::Whole),
                        ("replicated.com/disaster-recovery-version", Pick::Whole),
                        ("kots.io/apps-versions", Pick::Whole),
                        ("kots.io/is-airgap", Pick::Whole),
                    ]),
                ),
            ]),
        ),
        (
            "spec",
            Pick::Fields(&[
                ("includedNamespaces", Pick::Whole),
                ("excludedNamespaces", Pick::Whole),
                ("labelSelector", Pick::Whole),
                ("snapshotVolumes", Pick::Whole),
                ("defaultVolumesToFsBackup", Pick::Whole),
                ("defaultVolumesToRestic", Pick::Whole),
                ("snapshotMoveData", Pick::Whole),
                ("storageLocation", Pick::Whole),
                ("itemOperationTimeout", Pick::Whole),
            ]),
        ),
        (
            "status",
            Pick::Fields(&[
                ("phase", Pick::Whole),
                ("startTimestamp", Pick::Whole),
                ("completionTimestamp", Pick::Whole),
                ("expiration", Pick::Whole),
                ("errors", Pick::Whole),
                ("warnings", Pick::Whole),
                ("failureReason", Pick::Whole),
                ("validationErrors", Pick::Whole),
                ("progress", Pick::Fields(&[("itemsBackedUp", Pick::Whole)])),
                ("volumeSnapshotsAttempted", Pick::Whole),
                ("csiVolumeSnapshotsAttempted", Pick::Whole),
            ]),
        ),
    ]);

    fn project(object: &Value, strings: &mut Strings) -> Backup {
        let mut shared = |path: &[&str]| str_at(object, path).map(|s| strings.share(s));
        fn annotation(key: &str) -> [&str; 3] {
            ["metadata", "annotations", key]
        }
        let kots = KotsAnnotations {
            instance: shared(&annotation("kots.io/instance")),
            app_slug: shared(&annotation("kots.io/app-slug")),
            app_id: shared(&annotation("kots.io/app-id")),
            app_sequence: shared(&annotation("kots.io/app-sequence")),
            snapshot_trigger: shared(&annotation("kots.io/snapshot-trigger")),
            embedded_cluster: shared(&annotation("kots.io/embedded-cluster")),
            disaster_recovery_version: shared(&annotation(
                "replicated.com/disaster-recovery-version",
            )),
            apps_versions: shared(&annotation("kots.io/apps-versions")),
            is_airgap: shared(&annotation("kots.io/is-airgap")),
        };
        let namespace = shared(&["metadata", "namespace"]);
        let schedule = shared(&["metadata", "labels", "velero.io/schedule-name"]);
        let storage_location_label = shared(&["metadata", "labels", "velero.io/storage-location"]);
        let phase = shared(&["status", "phase"]);
        let storage_location = shared(&["spec", "storageLocation"]);
        let item_operation_timeout = shared(&["spec", "itemOperationTimeout"]);
        let mut shared_texts = |path: &[&str]| -> Box<[Arc<str>]> {
            json::strings_at(object, path)
                .into_iter()
                .map(|s| strings.share(s))
                .collect()
        };
        let spec = BackupSpec {
            included_namespaces: shared_texts(&["spec", "includedNamespaces"]),
            excluded_namespaces: shared_texts(&["spec", "excludedNamespaces"]),
            label_selector: json::at(object, &["spec", "labelSelector"])
                .map(|selector| Box::new(selector.clone())),
            snapshot_volumes: bool_at(object, &["spec", "snapshotVolumes"]),
            default_volumes_to_fs_backup: bool_at(object, &["spec", "defaultVolumesToFsBackup"]),
            default_volumes_to_restic: bool_at(object, &["spec", "defaultVolumesToRestic"]),
            snapshot_move_data: bool_at(object, &["spec", "snapshotMoveData"]),
            storage_location,
            item_operation_timeout,
        };
        let status = BackupStatus {
            phase,
            started: time_at(object, &["status", "startTimestamp"]),
            completed: time_at(object, &["status", "completionTimestamp"]),
            expiration: time_at(object, &["status", "expiration"]),
            errors: i64_at(object, &["status", "errors"]),
            warnings: i64_at(object, &["status", "warnings"]),
            failure_reason: str_at(object, &["status", "failureReason"]).map(Box::from),
            validation_errors: json::strings_at(object, &["status", "validationErrors"])
                .into_iter()
                .map(Box::from)
                .collect(),
            items_backed_up: i64_at(object, &["status", "progress", "itemsBackedUp"]),
            volume_snapshots_attempted: i64_at(object, &["status", "volumeSnapshotsAttempted"]),
            csi_volume_snapshots_attempted: i64_at(
                object,
                &["status", "csiVolumeSnapshotsAttempted"],
            ),
        };
        Backup {
            name: json::name(object).map(Box::from),
            namespace,
            created: json::created(object),
            created_text: str_at(object, &["metadata", "creationTimestamp"]).map(Box::from),
            schedule,
            storage_location_label,
            kots,
            has_spec: json::at(object, &["spec"]).is_some(),
            spec,
            status,
        }
    }
}

impl Backup {
    pub(crate) fn is_completed(&self) -> bool {
        self.status.phase.as_deref() == Some("Completed")
    }

    /// When it finished: its completion, else its start for a backup that recorded none.
    pub(crate) fn finished(&self) -> Option<Timestamp> {
        self.status.completed.or(self.status.started)
    }

    /// KOTS marks a full ("instance") snapshot with `kots.io/instance`; a partial (application) one has only the
    /// app slug.
    pub(crate) fn is_kots_instance(&self) -> bool {
        self.kots.instance.as_deref() == Some("true")
    }

    pub(crate) fn kots_snapshot_trigger(&self) -> Option<&str> {
        self.kots.snapshot_trigger.as_deref()
    }

    /// `spec.labelSelector.matchLabels`, when it is a map.
    pub(crate) fn match_labels(&self) -> Option<&serde_json::Map<String, Value>> {
        let selector = self.spec.label_selector.as_deref()?;
        json::at(selector, &["matchLabels"]).and_then(Value::as_object)
    }
}

/// What the readers that read Backups and Restores alike (their summaries, the verdicts' specs and owners)
/// read: a Backup's projection, or a Restore as a value. Each answer is as `json::str_at` and its siblings
/// read the value's field.
pub(crate) trait BackupOrRestore {
    fn name(&self) -> Option<&str>;
    fn namespace(&self) -> Option<&str>;
    fn created(&self) -> Option<Timestamp>;
    /// `metadata.creationTimestamp` as written.
    fn created_text(&self) -> Option<&str>;
    fn phase(&self) -> Option<&str>;
    fn started(&self) -> Option<Timestamp>;
    fn completed(&self) -> Option<Timestamp>;
    fn errors(&self) -> Option<i64>;
    fn warnings(&self) -> Option<i64>;
    fn failure_reason(&self) -> Option<&str>;
    fn validation_errors(&self) -> Vec<&str>;
    /// `spec.storageLocation`.
    fn storage_location(&self) -> Option<&str>;
    /// Label `velero.io/storage-location`.
    fn storage_location_label(&self) -> Option<&str>;
    /// Label `velero.io/schedule-name`.
    fn schedule_label(&self) -> Option<&str>;
    /// `spec.scheduleName` (a Restore's, from a schedule's newest backup).
    fn schedule_name(&self) -> Option<&str>;
    /// `spec.backupName` (a Restore's).
    fn backup_name(&self) -> Option<&str>;
    /// Annotation `kots.io/instance`.
    fn kots_instance(&self) -> Option<&str>;
    /// Annotation `kots.io/app-slug`.
    fn kots_app_slug(&self) -> Option<&str>;
    fn included_namespaces(&self) -> Vec<&str>;
    /// `spec.itemOperationTimeout`, a Go duration.
    fn item_operation_timeout(&self) -> Option<&str>;

    /// Its start, else its creation.
    fn started_or_created(&self) -> Option<Timestamp> {
        self.started().or_else(|| self.created())
    }
}

impl BackupOrRestore for Value {
    fn name(&self) -> Option<&str> {
        json::name(self)
    }
    fn namespace(&self) -> Option<&str> {
        json::namespace(self)
    }
    fn created(&self) -> Option<Timestamp> {
        json::created(self)
    }
    fn created_text(&self) -> Option<&str> {
        str_at(self, &["metadata", "creationTimestamp"])
    }
    fn phase(&self) -> Option<&str> {
        str_at(self, &["status", "phase"])
    }
    fn started(&self) -> Option<Timestamp> {
        time_at(self, &["status", "startTimestamp"])
    }
    fn completed(&self) -> Option<Timestamp> {
        time_at(self, &["status", "completionTimestamp"])
    }
    fn errors(&self) -> Option<i64> {
        i64_at(self, &["status", "errors"])
    }
    fn warnings(&self) -> Option<i64> {
        i64_at(self, &["status", "warnings"])
    }
    fn failure_reason(&self) -> Option<&str> {
        str_at(self, &["status", "failureReason"])
    }
    fn validation_errors(&self) -> Vec<&str> {
        json::strings_at(self, &["status", "validationErrors"])
    }
    fn storage_location(&self) -> Option<&str> {
        str_at(self, &["spec", "storageLocation"])
    }
    fn storage_location_label(&self) -> Option<&str> {
        json::label(self, "velero.io/storage-location")
    }
    fn schedule_label(&self) -> Option<&str> {
        json::label(self, "velero.io/schedule-name")
    }
    fn schedule_name(&self) -> Option<&str> {
        str_at(self, &["spec", "scheduleName"])
    }
    fn backup_name(&self) -> Option<&str> {
        str_at(self, &["spec", "backupName"])
    }
    fn kots_instance(&self) -> Option<&str> {
        json::annotation(self, "kots.io/instance")
    }
    fn kots_app_slug(&self) -> Option<&str> {
        json::annotation(self, "kots.io/app-slug")
    }
    fn included_namespaces(&self) -> Vec<&str> {
        json::strings_at(self, &["spec", "includedNamespaces"])
    }
    fn item_operation_timeout(&self) -> Option<&str> {
        str_at(self, &["spec", "itemOperationTimeout"])
    }
}

impl BackupOrRestore for Backup {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    fn created(&self) -> Option<Timestamp> {
        self.created
    }
    fn created_text(&self) -> Option<&str> {
        self.created_text.as_deref()
    }
    fn phase(&self) -> Option<&str> {
        self.status.phase.as_deref()
    }
    fn started(&self) -> Option<Timestamp> {
        self.status.started
    }
    fn completed(&self) -> Option<Timestamp> {
        self.status.completed
    }
    fn errors(&self) -> Option<i64> {
        self.status.errors
    }
    fn warnings(&self) -> Option<i64> {
        self.status.warnings
    }
    fn failure_reason(&self) -> Option<&str> {
        self.status.failure_reason.as_deref()
    }
    fn validation_errors(&self) -> Vec<&str> {
        self.status.validation_errors.iter().map(|e| &**e).collect()
    }
    fn storage_location(&self) -> Option<&str> {
        self.spec.storage_location.as_deref()
    }
    fn storage_location_label(&self) -> Option<&str> {
        self.storage_location_label.as_deref()
    }
    fn schedule_label(&self) -> Option<&str> {
        self.schedule.as_deref()
    }
    /// Not a field of a Backup's spec.
    fn schedule_name(&self) -> Option<&str> {
        None
    }
    /// Not a field of a Backup's spec.
    fn backup_name(&self) -> Option<&str> {
        None
    }
    fn kots_instance(&self) -> Option<&str> {
        self.kots.instance.as_deref()
    }
    fn kots_app_slug(&self) -> Option<&str> {
        self.kots.app_slug.as_deref()
    }
    fn included_namespaces(&self) -> Vec<&str> {
        self.spec.included_namespaces.iter().map(|n| &**n).collect()
    }
    fn item_operation_timeout(&self) -> Option<&str> {
        self.spec.item_operation_timeout.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::facts::projected;
    use serde_json::json;

    /// A KOTS instance Backup as Velero v1.16 writes one (composed, fields of backup_types.go), with some fields
    /// of the wrong type or empty.
    fn backup() -> Value {
        json!({
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": "instance-abc12", "namespace": "velero",
                         "creationTimestamp": "2026-11-20T02:00:00Z",
                         "labels": {"velero.io/schedule-name": "nightly", "velero.io/storage-location": ""},
                         "annotations": {"kots.io/instance": "true", "kots.io/snapshot-trigger": "schedule",
                                         "kots.io/apps-versions": "{\"app\":\"1.2.0\"}", "kots.io/is-airgap": 7}},
            "spec": {"includedNamespaces": ["app", "", 3, "kotsadm"], "excludedNamespaces": "not a list",
                     "labelSelector": {"matchLabels": {"app": "db"}}, "snapshotVolumes": false,
                     "defaultVolumesToFsBackup": "true", "snapshotMoveData": true, "storageLocation": "default",
                     "itemOperationTimeout": "4h0m0s", "ttl": "720h0m0s"},
            "status": {"phase": "PartiallyFailed", "startTimestamp": "2026-11-20T02:00:01Z",
                       "completionTimestamp": "2026-11-20T02:10:00Z", "expiration": "not a time",
                       "errors": 2.0, "warnings": "3", "failureReason": "",
                       "validationErrors": ["bad", ""], "progress": {"itemsBackedUp": 120},
                       "volumeSnapshotsAttempted": 1}
        })
    }

    #[test]
    fn a_projection_reads_what_the_value_readers_read() {
        let object = backup();
        let projected = &Backups::from_objects(std::slice::from_ref(&object))[0];
        // The fields the readers share with Restores read as the value's.
        fn shared_fields(b: &dyn BackupOrRestore) -> String {
            format!(
                "{:?}",
                (
                    (
                        b.name(),
                        b.namespace(),
                        b.created(),
                        b.created_text(),
                        b.phase()
                    ),
                    (b.started(), b.completed(), b.errors(), b.warnings()),
                    (
                        b.failure_reason(),
                        b.validation_errors(),
                        b.storage_location()
                    ),
                    (
                        b.storage_location_label(),
                        b.schedule_label(),
                        b.kots_instance()
                    ),
                    (
                        b.kots_app_slug(),
                        b.included_namespaces(),
                        b.item_operation_timeout()
                    ),
                    b.started_or_created(),
                )
            )
        }
        assert_eq!(shared_fields(projected), shared_fields(&object));
        assert_eq!(projected.name(), Some("instance-abc12"));
        // An integer written as a float counts, a number as a string does not; an empty text is absent; the
        // string elements of a list are kept, empty ones too.
        assert_eq!((projected.errors(), projected.warnings()), (Some(2), None));
        assert_eq!(projected.failure_reason(), None);
        assert_eq!(projected.storage_location_label(), None);
        assert_eq!(projected.included_namespaces(), ["app", "", "kotsadm"]);
        assert_eq!(projected.validation_errors(), ["bad", ""]);
        assert!(projected.spec.excluded_namespaces.is_empty());
        // Fields only a Backup's readers read.
        assert!(projected.is_kots_instance() && !projected.is_completed());
        assert_eq!(projected.kots_snapshot_trigger(), Some("schedule"));
        assert_eq!(projected.kots.is_airgap, None);
        assert_eq!(
            projected.kots.apps_versions.as_deref(),
            json::annotation(&object, "kots.io/apps-versions")
        );
        assert_eq!(
            projected.match_labels(),
            json::at(&object, &["spec", "labelSelector", "matchLabels"]).and_then(Value::as_object)
        );
        assert_eq!(
            (
                projected.spec.snapshot_volumes,
                projected.spec.default_volumes_to_fs_backup,
                projected.spec.snapshot_move_data
            ),
            (Some(false), None, Some(true))
        );
        assert_eq!(projected.status.expiration, None);
        assert_eq!(
            projected.finished(),
            time_at(&object, &["status", "completionTimestamp"])
        );
        assert_eq!(
            (
                projected.status.items_backed_up,
                projected.status.volume_snapshots_attempted,
                projected.status.csi_volume_snapshots_attempted
            ),
            (Some(120), Some(1), None)
        );
        assert!(projected.has_spec);
    }

    #[test]
    fn the_fields_parsed_are_every_field_projected() {
        let mut object = backup();
        for (key, value) in [
            ("kots.io/app-slug", "app"),
            ("kots.io/app-id", "id-1"),
            ("kots.io/app-sequence", "4"),
            ("kots.io/embedded-cluster", "true"),
            ("replicated.com/disaster-recovery-version", "2"),
        ] {
            object["metadata"]["annotations"][key] = json!(value);
        }
        object["metadata"]["labels"]["velero.io/storage-location"] = json!("default");
        object["spec"]["excludedNamespaces"] = json!(["kube-system"]);
        object["spec"]["defaultVolumesToRestic"] = json!(true);
        object["status"]["failureReason"] = json!("timed out");
        object["status"]["warnings"] = json!(3);
        object["status"]["csiVolumeSnapshotsAttempted"] = json!(2);
        crate::analyze::facts::projected::assert_reads_cover_the_projection::<Backup>(&object);
    }

    #[test]
    fn every_field_of_velero_s_backup_schema_that_is_projected_is_parsed() {
        let crd = include_str!("../../../tests/fixtures/crds/velero-v1.18.1-backups.yaml");
        let object = projected::every_field_of(crd, projected::velero_metadata());
        assert_eq!(object["status"]["progress"]["itemsBackedUp"], json!(7));
        projected::assert_every_field_read_is_parsed::<Backup>(&object);
    }

    #[test]
    fn repeated_texts_are_shared_and_a_backup_without_fields_reads_as_absent() {
        let bare = json!({"metadata": {"name": ""}, "status": {"phase": ["Completed"]}});
        let kept = Backups::from_objects(&[backup(), json!(null), backup(), bare.clone()]);
        assert_eq!(kept.len(), 3);
        assert!(Arc::ptr_eq(
            kept[0].status.phase.as_ref().unwrap(),
            kept[1].status.phase.as_ref().unwrap()
        ));
        assert!(Arc::ptr_eq(
            &kept[0].spec.included_namespaces[0],
            &kept[1].spec.included_namespaces[0]
        ));
        let absent = &kept[2];
        assert_eq!(
            (absent.name(), absent.phase(), absent.created()),
            (None, None, None)
        );
        assert_eq!(
            absent,
            &Backup {
                has_spec: false,
                ..Backup::default()
            }
        );
        assert_eq!(
            absent.finished(),
            json::time_at(&bare, &["status", "startTimestamp"])
        );
    }
}
