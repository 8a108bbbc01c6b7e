//! Pods, PersistentVolumeClaims and Nodes as the analysis keeps them: values with only the fields its Rust
//! readers read (the facts, the readiness, the verdicts' context, the timelines), the rest read past as each
//! list streams from the bundle, never built. A pod parsed whole is a hundred values or more (its containers'
//! env, probes, mounts and statuses), and a cluster has thousands: held whole they were the larger part of the
//! analysis's peak memory once the Backups and PodVolumeBackups became projections (BENCHMARKS.md, #20).
//!
//! The object rules and the log rules' places read any path of these objects: they are evaluated on each whole
//! object as its list streams once more (engine/streamed.rs), as for the projected kinds.
//!
//! Each table below must name every field a reader reads, and `metadata.creationTimestamp`, which orders the
//! objects kept ([`crate::bundle::list::created`]; its fallback `status.startTimestamp` is no field of these
//! kinds). A field left out reads as absent: the tests gather every built-in scenario's and real-layout
//! bundle's facts from picked and from whole objects and require the same answers, and require each field of
//! the tables to change some bundle's answers when left out.
use crate::bundle::list::Pick;
use crate::bundle::reader::SharedObjects;
use crate::bundle::{Bundle, BundleError};

pub(crate) const PODS: &str = "pods";
pub(crate) const CLAIMS: &str = "persistentvolumeclaims";
pub(crate) const NODES: &str = "nodes";

use Pick::{EveryField, Fields, Whole};

/// What the readers read of a container's last run, in its status (why and when it ended).
const LAST_STATE: Pick = Fields(&[(
    "terminated",
    Fields(&[
        ("reason", Whole),
        ("finishedAt", Whole),
        ("exitCode", Whole),
    ]),
)]);

/// Every field of a pod the analysis's readers read.
static POD_READS: Pick = Fields(&[
    (
        "metadata",
        Fields(&[
            ("name", Whole),
            ("namespace", Whole),
            ("creationTimestamp", Whole),
            // Whole: any key of a backup's labelSelector.matchLabels (facts/volumes.rs selects_pod).
            ("labels", Whole),
            (
                "annotations",
                Fields(&[
                    ("backup.velero.io/backup-volumes", Whole),
                    ("backup.velero.io/backup-volumes-excludes", Whole),
                ]),
            ),
        ]),
    ),
    (
        "spec",
        Fields(&[
            ("nodeName", Whole),
            (
                "containers",
                Fields(&[
                    ("name", Whole),
                    ("image", Whole),
                    ("command", Whole),
                    ("args", Whole),
                    ("env", Fields(&[("name", Whole), ("value", Whole)])),
                    (
                        "volumeMounts",
                        Fields(&[("name", Whole), ("mountPath", Whole)]),
                    ),
                    (
                        "resources",
                        Fields(&[("limits", Fields(&[("memory", Whole)]))]),
                    ),
                ]),
            ),
            (
                "initContainers",
                Fields(&[
                    ("name", Whole),
                    ("image", Whole),
                    (
                        "resources",
                        Fields(&[("limits", Fields(&[("memory", Whole)]))]),
                    ),
                ]),
            ),
            // Every field: a volume's type is its first field other than `name` (facts/volumes.rs volume_type);
            // inside, only the claim's and the secret's names are read.
            (
                "volumes",
                EveryField(&[
                    ("name", Whole),
                    ("persistentVolumeClaim", Fields(&[("claimName", Whole)])),
                    ("secret", Fields(&[("secretName", Whole)])),
                ]),
            ),
            (
                "tolerations",
                Fields(&[
                    ("key", Whole),
                    ("operator", Whole),
                    ("value", Whole),
                    ("effect", Whole),
                ]),
            ),
        ]),
    ),
    (
        "status",
        Fields(&[
            ("phase", Whole),
            (
                "conditions",
                Fields(&[("type", Whole), ("status", Whole), ("message", Whole)]),
            ),
            (
                "containerStatuses",
                Fields(&[
                    ("name", Whole),
                    ("ready", Whole),
                    ("restartCount", Whole),
                    (
                        "state",
                        Fields(&[
                            ("waiting", Fields(&[("reason", Whole)])),
                            ("terminated", Fields(&[("reason", Whole)])),
                        ]),
                    ),
                    ("lastState", LAST_STATE),
                ]),
            ),
            (
                "initContainerStatuses",
                Fields(&[
                    ("name", Whole),
                    ("ready", Whole),
                    ("restartCount", Whole),
                    (
                        "state",
                        Fields(&[
                            ("waiting", Fields(&[("reason", Whole)])),
                            ("running", Fields(&[("startedAt", Whole)])),
                            ("terminated", Fields(&[("reason", Whole)])),
                        ]),
                    ),
                    ("lastState", LAST_STATE),
                ]),
            ),
        ]),
    ),
]);

/// Every field of a PersistentVolumeClaim the analysis's readers read.
static CLAIM_READS: Pick = Fields(&[
    (
        "metadata",
        Fields(&[
            ("name", Whole),
            ("namespace", Whole),
            ("uid", Whole),
            ("creationTimestamp", Whole),
        ]),
    ),
    (
        "spec",
        Fields(&[
            ("volumeName", Whole),
            ("storageClassName", Whole),
            (
                "resources",
                Fields(&[("requests", Fields(&[("storage", Whole)]))]),
            ),
        ]),
    ),
    (
        "status",
        Fields(&[("capacity", Fields(&[("storage", Whole)]))]),
    ),
]);

/// Every field of a Node the analysis's readers read.
static NODE_READS: Pick = Fields(&[
    (
        "metadata",
        Fields(&[
            ("name", Whole),
            ("creationTimestamp", Whole),
            ("labels", Fields(&[("kurl.sh/cluster", Whole)])),
        ]),
    ),
    (
        "spec",
        Fields(&[
            (
                "taints",
                Fields(&[("key", Whole), ("value", Whole), ("effect", Whole)]),
            ),
            ("unschedulable", Whole),
        ]),
    ),
    (
        "status",
        Fields(&[
            (
                "nodeInfo",
                Fields(&[
                    ("osImage", Whole),
                    ("kernelVersion", Whole),
                    ("containerRuntimeVersion", Whole),
                    ("kubeletVersion", Whole),
                    ("architecture", Whole),
                ]),
            ),
            ("conditions", Fields(&[("type", Whole), ("status", Whole)])),
        ]),
    ),
]);

/// The fields the analysis reads of `resource`'s objects, when not all of them.
pub(crate) fn fields_read(resource: &str) -> Option<&'static Pick> {
    #[cfg(test)]
    if let Some(read) = tests::read_instead(resource) {
        return read;
    }
    match resource {
        PODS => Some(&POD_READS),
        CLAIMS => Some(&CLAIM_READS),
        NODES => Some(&NODE_READS),
        _ => None,
    }
}

/// `resource`'s objects as the analysis reads them (with only [`fields_read`]), shared by every reader.
pub(crate) fn objects(bundle: &mut Bundle, resource: &str) -> Result<SharedObjects, BundleError> {
    bundle.shared_picked_objects(resource, fields_read(resource))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;
    use crate::analyze::facts;
    use crate::analyze::timeline::TimelinePlan;
    use crate::bundle::layout;
    use crate::lab::scenario::Scenario;

    /// How a test has these kinds read instead of by the tables.
    #[derive(Clone, Copy)]
    enum Instead {
        Tables,
        /// Whole, as before they were picked.
        Whole,
        /// One kind with another table.
        Pick(&'static str, &'static Pick),
    }

    thread_local! {
        static INSTEAD: Cell<Instead> = const { Cell::new(Instead::Tables) };
    }

    pub(super) fn read_instead(resource: &str) -> Option<Option<&'static Pick>> {
        match INSTEAD.get() {
            Instead::Tables => None,
            Instead::Whole => Some(None),
            Instead::Pick(kind, pick) => (kind == resource).then_some(Some(pick)),
        }
    }

    /// What the facts and the timelines say of a bundle, in words, its objects read as `instead` says.
    fn what_the_analysis_reads(path: &Path, instead: Instead) -> String {
        INSTEAD.set(instead);
        let mut bundle = Bundle::open(path).unwrap();
        let facts = facts::gather(&mut bundle).unwrap();
        let plan = TimelinePlan::new(&mut bundle, &facts.backups).map(TimelinePlan::finish);
        INSTEAD.set(Instead::Tables);
        format!("{facts:#?}\n{plan:#?}")
    }

    fn assert_picked_reads_as_whole(path: &Path, what: &str) {
        let whole = what_the_analysis_reads(path, Instead::Whole);
        let picked = what_the_analysis_reads(path, Instead::Tables);
        if whole != picked {
            let line = whole
                .lines()
                .zip(picked.lines())
                .position(|(w, p)| w != p)
                .unwrap_or(0);
            let context = |text: &str| {
                text.lines()
                    .skip(line.saturating_sub(8))
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "{what}: the facts differ read from picked objects (a field a reader reads is missing from \
                 facts/picked.rs)\n--- whole:\n{}\n--- picked:\n{}",
                context(&whole),
                context(&picked)
            );
        }
    }

    /// A built-in scenario's objects written as a bundle folder of snapdoc's layout.
    fn write_scenario(scenario: &Scenario, dir: &Path) {
        let mut resources: Vec<&str> = facts::inventory::RESOURCES.to_vec();
        resources.push(crate::analyze::timeline::EVENTS);
        for resource in resources {
            let objects: Vec<&Value> = scenario.objects_of(resource);
            if !objects.is_empty() {
                write_list(dir, resource, &objects);
            }
        }
    }

    /// Every built-in scenario written as a bundle folder, every real-layout bundle and the uncommon objects'
    /// bundle, each with its name; the folders are kept while the `TempDir`s are.
    fn every_bundle() -> (Vec<tempfile::TempDir>, Vec<(String, std::path::PathBuf)>) {
        let mut dirs = Vec::new();
        let mut bundles = Vec::new();
        let mut write = |name: String, write: &dyn Fn(&Path)| {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path());
            bundles.push((name, dir.path().to_path_buf()));
            dirs.push(dir);
        };
        for name in Scenario::builtin_names() {
            let scenario = Scenario::builtin(&name).unwrap();
            write(name, &|dir| write_scenario(&scenario, dir));
        }
        write("uncommon objects".to_string(), &|dir| {
            write_objects(&uncommon_objects(), dir)
        });
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-bundles");
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".tar.gz") {
                bundles.push((path.display().to_string(), path));
            }
        }
        (dirs, bundles)
    }

    /// Objects whose answers depend on fields no scenario's objects make matter (composed here, fields as
    /// Kubernetes and Velero write them): a Velero and a node agent found from their pods alone (no
    /// Deployment or DaemonSet in the bundle), the server's flags in `command` rather than `args`, a plugin
    /// crash-looping after an OOM kill; a volume left out by `backup-volumes-excludes`; a cordoned node; a
    /// kURL cluster told by its nodes' label alone.
    fn uncommon_objects() -> Vec<Value> {
        let created = "2026-11-20T10:00:00Z";
        let node = |name: &str, extra: Value| {
            let mut node = json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "creationTimestamp": created,
                             "labels": {"kurl.sh/cluster": "true", "kubernetes.io/hostname": name}},
                "spec": {},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                           "nodeInfo": {"osImage": "Ubuntu 22.04.4 LTS", "kubeletVersion": "v1.29.4",
                                        "kernelVersion": "5.15.0-1056-aws", "architecture": "amd64",
                                        "containerRuntimeVersion": "containerd://1.7.13"}}
            });
            if let (Some(spec), Some(extra)) = (node["spec"].as_object_mut(), extra.as_object()) {
                spec.extend(extra.clone());
            }
            node
        };
        vec![
            node("worker-1", json!({})),
            node("worker-2", json!({"unschedulable": true})),
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "velero-6f8d9b7c5-x2x4q", "namespace": "velero", "creationTimestamp": created,
                             "labels": {"deploy": "velero"}},
                "spec": {
                    "nodeName": "worker-1",
                    "containers": [{"name": "velero", "image": "velero/velero:v1.14.1",
                                    "command": ["/velero", "server", "--uploader-type=kopia",
                                                "--features=EnableCSI", "--fs-backup-timeout=2h"],
                                    "env": [{"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/credentials/cloud"}],
                                    "volumeMounts": [{"name": "cloud-credentials", "mountPath": "/credentials"}],
                                    "resources": {"limits": {"memory": "512Mi"}}}],
                    "initContainers": [{"name": "velero-plugin-for-aws",
                                        "image": "velero/velero-plugin-for-aws:v1.10.1",
                                        "resources": {"limits": {"memory": "64Mi"}}}],
                    "volumes": [{"name": "cloud-credentials", "secret": {"secretName": "cloud-credentials"}}]
                },
                "status": {
                    "phase": "Pending",
                    "conditions": [{"type": "Ready", "status": "False", "message": "containers with incomplete status: [velero-plugin-for-aws]"}],
                    "initContainerStatuses": [{"name": "velero-plugin-for-aws", "ready": false, "restartCount": 4,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                     "finishedAt": "2026-11-20T10:05:00Z"}}}],
                    "containerStatuses": [{"name": "velero", "ready": false, "restartCount": 0,
                        "state": {"waiting": {"reason": "PodInitializing"}}}]
                }
            }),
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "node-agent-7kq2d", "namespace": "velero", "creationTimestamp": created,
                             "labels": {"name": "node-agent"}},
                "spec": {"nodeName": "worker-1",
                         "containers": [{"name": "node-agent", "image": "velero/velero:v1.14.1",
                                         "command": ["/velero", "node-agent", "server"]}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": "node-agent", "ready": true, "restartCount": 0,
                                                  "state": {"running": {"startedAt": created}}}]}
            }),
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "db-0", "namespace": "app", "creationTimestamp": created,
                             "annotations": {"backup.velero.io/backup-volumes-excludes": "cache"}},
                "spec": {"nodeName": "worker-1",
                         "containers": [{"name": "db", "image": "postgres:16"}],
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
                                     {"name": "cache", "emptyDir": {}}]},
                "status": {"phase": "Running"}
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data-db-0", "namespace": "app", "uid": "5b0c3d1e-2f4a-4b6c-8d9e-0a1b2c3d4e5f",
                             "creationTimestamp": created},
                "spec": {"storageClassName": "longhorn", "volumeName": "pvc-5b0c3d1e",
                         "resources": {"requests": {"storage": "10Gi"}}},
                "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "pvc-5b0c3d1e", "creationTimestamp": created},
                "spec": {"hostPath": {"path": "/var/lib/longhorn/pvc-5b0c3d1e"},
                         "claimRef": {"name": "data-db-0", "namespace": "app"}}
            }),
            json!({
                "apiVersion": "velero.io/v1", "kind": "Schedule",
                "metadata": {"name": "daily", "namespace": "velero", "creationTimestamp": created},
                "spec": {"schedule": "0 2 * * *",
                         "template": {"includedNamespaces": ["app"], "defaultVolumesToFsBackup": true}},
                "status": {"phase": "Enabled"}
            }),
            json!({
                "apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": {"name": "daily-20261120020000", "namespace": "velero", "creationTimestamp": created,
                             "labels": {"velero.io/schedule-name": "daily", "velero.io/storage-location": "default"}},
                "spec": {"includedNamespaces": ["app"], "storageLocation": "default",
                         "defaultVolumesToFsBackup": true},
                "status": {"phase": "Completed", "startTimestamp": created,
                           "completionTimestamp": "2026-11-20T10:02:00Z", "expiration": "2026-12-20T10:00:00Z"}
            }),
            // Snapshotted, its claim bound to a node-local volume.
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0", "namespace": "web", "creationTimestamp": created},
                "spec": {"nodeName": "worker-1", "containers": [{"name": "web", "image": "nginx:1.27"}],
                         "volumes": [{"name": "html", "persistentVolumeClaim": {"claimName": "html-web-0"}}]},
                "status": {"phase": "Running"}
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "html-web-0", "namespace": "web", "creationTimestamp": created},
                "spec": {"volumeName": "pvc-7c1d2e3f"},
                "status": {"phase": "Bound"}
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "pvc-7c1d2e3f", "creationTimestamp": created},
                "spec": {"hostPath": {"path": "/var/lib/web/pvc-7c1d2e3f"},
                         "claimRef": {"name": "html-web-0", "namespace": "web"}}
            }),
            json!({
                "apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": {"name": "web-1", "namespace": "velero", "creationTimestamp": created},
                "spec": {"includedNamespaces": ["web"], "storageLocation": "default"},
                "status": {"phase": "Completed", "startTimestamp": created,
                           "completionTimestamp": "2026-11-20T10:01:00Z"}
            }),
            // The location's store runs in the cluster (kURL's MinIO), on two claims: one says its capacity,
            // the other only what it requested.
            json!({
                "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
                "metadata": {"name": "default", "namespace": "velero", "creationTimestamp": created},
                "spec": {"provider": "aws", "objectStorage": {"bucket": "velero"},
                         "config": {"region": "us-east-1", "s3Url": "http://minio.minio", "s3ForcePathStyle": "true"}},
                "status": {"phase": "Available"}
            }),
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "minio-5d8c7b6f9-q7w2e", "namespace": "minio", "creationTimestamp": created,
                             "labels": {"app": "minio"}},
                "spec": {"nodeName": "worker-1", "containers": [{"name": "minio", "image": "minio/minio:RELEASE.2024-01-16T16-07-38Z"}],
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "minio-data"}},
                                     {"name": "config", "persistentVolumeClaim": {"claimName": "minio-config"}}]},
                "status": {"phase": "Running"}
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "minio-data", "namespace": "minio", "creationTimestamp": created},
                "spec": {"storageClassName": "openebs-localpv", "resources": {"requests": {"storage": "10Gi"}}},
                "status": {"phase": "Bound", "capacity": {"storage": "12Gi"}}
            }),
            json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "minio-config", "namespace": "minio", "creationTimestamp": created},
                "spec": {"resources": {"requests": {"storage": "1Gi"}}},
                "status": {"phase": "Pending"}
            }),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "minio"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero"}}),
        ]
    }

    /// Objects written as a bundle folder of snapdoc's layout, one list per resource.
    fn write_objects(objects: &[Value], dir: &Path) {
        let resource = |object: &Value| match object["kind"].as_str().unwrap() {
            "Node" => NODES,
            "Pod" => PODS,
            "PersistentVolumeClaim" => CLAIMS,
            "PersistentVolume" => "persistentvolumes",
            "Schedule" => "schedules.velero.io",
            "Backup" => "backups.velero.io",
            "BackupStorageLocation" => "backupstoragelocations.velero.io",
            "Namespace" => "namespaces",
            kind => unreachable!("no resource for {kind}"),
        };
        let mut lists: std::collections::BTreeMap<&str, Vec<&Value>> = Default::default();
        for object in objects {
            lists.entry(resource(object)).or_default().push(object);
        }
        for (resource, objects) in lists {
            write_list(dir, resource, &objects);
        }
    }

    fn write_list(dir: &Path, resource: &str, objects: &[&Value]) {
        let file = match resource {
            NODES => dir.join(layout::CLUSTER_NODES),
            "namespaces" => dir.join(layout::CLUSTER_NAMESPACES),
            _ => dir.join(layout::objects_dir(resource)).join("all.json"),
        };
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        std::fs::write(&file, list.to_string()).unwrap();
    }

    /// Each field of `pick` it keeps whole, as a path.
    fn leaves(pick: &'static Pick) -> Vec<Vec<&'static str>> {
        match pick {
            Whole => vec![Vec::new()],
            Fields(fields) | EveryField(fields) => fields
                .iter()
                .flat_map(|(name, field)| {
                    leaves(field).into_iter().map(move |mut path| {
                        path.insert(0, *name);
                        path
                    })
                })
                .collect(),
        }
    }

    /// `pick` without the field at `path` (leaked: a test's tables live as long as the tables they stand for).
    fn without(pick: &'static Pick, path: &[&'static str]) -> &'static Pick {
        let (Fields(fields) | EveryField(fields)) = pick else {
            unreachable!("a path leads through fields")
        };
        let same = |field: &'static Pick| match field {
            Whole => Whole,
            Fields(fields) => Fields(fields),
            EveryField(fields) => EveryField(fields),
        };
        let kept: Vec<(&'static str, Pick)> = fields
            .iter()
            .filter_map(|(name, field)| match path {
                [first] if first == name => None,
                [first, rest @ ..] if first == name => Some((*name, same(without(field, rest)))),
                _ => Some((*name, same(field))),
            })
            .collect();
        let kept = Box::leak(kept.into_boxed_slice());
        Box::leak(Box::new(match pick {
            EveryField(_) => EveryField(kept),
            _ => Fields(kept),
        }))
    }

    /// The fields of the tables no bundle of the tests needs: each is read by a reader, but no scenario or
    /// real-layout bundle has an object whose answer changes without it. Kept for what real objects hold.
    const NEEDED_BY_NO_TEST_BUNDLE: &[&str] = &[
        // Since when a restored pod's restore helper has waited: told with the helper's log, which the bundles
        // written here from the scenarios do not hold (tests/verdicts.rs reads the restore-wait scenarios whole).
        "pods status.initContainerStatuses.state.running.startedAt",
        // What orders the objects kept past 20,000 and dates a bundle without a manifest by its newest object:
        // no test bundle has that many claims or nodes, or a claim or node newer than all else.
        "persistentvolumeclaims metadata.creationTimestamp",
        "nodes metadata.creationTimestamp",
    ];

    /// The tables hold no field the readers do not read, and the tests above would notice any field left out
    /// but those [`NEEDED_BY_NO_TEST_BUNDLE`] names: each field is left out in turn, and some bundle must then
    /// read differently.
    #[test]
    fn each_field_picked_is_needed_by_some_bundle() {
        let (_dirs, bundles) = every_bundle();
        let whole: Vec<String> = bundles
            .iter()
            .map(|(_, path)| what_the_analysis_reads(path, Instead::Whole))
            .collect();
        let mut not_needed = Vec::new();
        for (kind, pick) in [
            (PODS, &POD_READS),
            (CLAIMS, &CLAIM_READS),
            (NODES, &NODE_READS),
        ] {
            for leaf in leaves(pick) {
                let fewer = without(pick, &leaf);
                let needed = bundles.iter().zip(&whole).any(|((_, path), whole)| {
                    what_the_analysis_reads(path, Instead::Pick(kind, fewer)) != *whole
                });
                if !needed {
                    not_needed.push(format!("{kind} {}", leaf.join(".")));
                }
            }
        }
        assert_eq!(not_needed, NEEDED_BY_NO_TEST_BUNDLE);
    }

    /// A pod rule reading a field no reader picks (its service account), and a log rule whose text lands in a
    /// pod's termination message, one of the log rules' places (composed rules).
    fn rules_reading_any_pod_field() -> crate::analyze::rules::RuleSet {
        let object_rule = "id: SD991\nname: sa\nseverity: warn\ncategory: health\ntitle: T\n\
             message: 'pod {{pod}}'\ncause: C.\nfix: F.\nmatch:\n  object:\n    kind: pods\n    when:\n      \
             path: spec.serviceAccountName\n      equals: backup-runner\n    capture:\n      pod: metadata.name\n\
             tests:\n  match:\n    - {metadata: {name: a}, spec: {serviceAccountName: backup-runner}}\n  \
             no_match:\n    - {metadata: {name: b}}\n";
        let log_rule = "id: SD992\nname: killed\nseverity: warn\ncategory: health\ntitle: T\nmessage: m\n\
             cause: C.\nfix: F.\nmatch:\n  log:\n    sources: [velero-server]\n    regex: 'uploader killed: signal: killed'\n\
             tests:\n  match:\n    - 'uploader killed: signal: killed'\n  no_match:\n    - 'uploader done'\n";
        crate::analyze::rules::RuleSet::from_files(&[
            ("SD991-sa.yaml".to_string(), object_rule.to_string()),
            ("SD992-killed.yaml".to_string(), log_rule.to_string()),
        ])
        .unwrap()
    }

    #[test]
    fn rules_and_places_read_every_field_of_the_pods_kept_picked() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "backup-runner-0", "namespace": "velero", "creationTimestamp": "2026-11-20T10:00:00Z"},
            "spec": {"serviceAccountName": "backup-runner", "containers": [{"name": "runner", "image": "busybox"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "runner", "ready": true, "restartCount": 1,
                "lastState": {"terminated": {"reason": "Error", "exitCode": 137,
                                             "message": "uploader killed: signal: killed"}}}]}
        });
        let dir = tempfile::tempdir().unwrap();
        write_objects(&[pod], dir.path());
        let mut bundle = Bundle::open(dir.path()).unwrap();
        let analysis =
            crate::analyze::run::analyze_open_bundle(&mut bundle, &rules_reading_any_pod_field())
                .unwrap();
        let found = |id: &str| analysis.findings.iter().find(|f| f.rule_id == id);
        let by_account = found("SD991").expect("the rule over the service account found nothing");
        assert_eq!(by_account.message, "pod backup-runner-0");
        assert!(
            found("SD992").is_some(),
            "the termination message was not read: {:#?}",
            analysis.findings
        );
        // The facts read the same pod picked: no service account, no message.
        let picked = objects(&mut Bundle::open(dir.path()).unwrap(), PODS).unwrap();
        assert!(picked[0]["spec"].get("serviceAccountName").is_none());
        assert!(
            picked[0]["status"]["containerStatuses"][0]["lastState"]["terminated"]
                .get("message")
                .is_none()
        );
    }

    #[test]
    fn a_reader_asking_for_other_fields_reads_its_own_list() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "runner-0", "namespace": "velero", "creationTimestamp": "2026-11-20T10:00:00Z"},
            "spec": {"serviceAccountName": "backup-runner"}});
        let dir = tempfile::tempdir().unwrap();
        write_objects(&[pod], dir.path());
        let mut bundle = Bundle::open(dir.path()).unwrap();
        let picked = objects(&mut bundle, PODS).unwrap();
        assert!(picked[0]["spec"].get("serviceAccountName").is_none());
        let whole = bundle.shared_objects(PODS).unwrap();
        assert_eq!(whole[0]["spec"]["serviceAccountName"], "backup-runner");
        // The list shared stays the picked one.
        let again = objects(&mut bundle, PODS).unwrap();
        assert!(again[0]["spec"].get("serviceAccountName").is_none());
    }

    #[test]
    fn every_bundle_reads_the_same_from_picked_objects() {
        let names = Scenario::builtin_names();
        assert!(names.len() > 10, "built-in scenarios: {names:?}");
        let pods: usize = names
            .iter()
            .map(|name| Scenario::builtin(name).unwrap().objects_of(PODS).len())
            .sum();
        assert!(pods > 50, "the scenarios hold {pods} pods");
        let (_dirs, bundles) = every_bundle();
        let real = bundles
            .iter()
            .filter(|(_, path)| path.to_string_lossy().ends_with(".tar.gz"))
            .count();
        assert!(real >= 6, "{real} real-layout bundles");
        for (name, path) in &bundles {
            assert_picked_reads_as_whole(path, name);
        }
    }
}
