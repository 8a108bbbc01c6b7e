//! The model built from bundles: facts, environment, backups table, verdicts and timelines, across Velero
//! eras (1.6 restic, 1.12 node-agent + kopia, 1.14 CSI data mover) and with malformed objects.
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use snapdoc::analyze::BackupSummary;
use snapdoc::analyze::BundleFacts;
use snapdoc::analyze::{Finding, ObjectRef, Severity};
use snapdoc::bundle::RunInfo;
use snapdoc::bundle::{Bundle, BundleWriter, CollectorError};

const CREATED: &str = "2026-11-26T04:00:00Z";

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

enum Content {
    Json(Value),
    Text(String),
}

fn write_zip(dir: &Path, files: Vec<(&str, Content)>, errors: Vec<CollectorError>) -> PathBuf {
    let path = dir.join("bundle.zip");
    let mut writer = BundleWriter::create(&path, false).unwrap();
    for (name, content) in files {
        match content {
            Content::Json(v) => writer.add_json(name, &v).unwrap(),
            Content::Text(t) => writer.add_bytes(name, t.as_bytes()).unwrap(),
        }
    }
    for e in errors {
        writer.record_error(e);
    }
    let mut scope = serde_json::Map::new();
    scope.insert("veleroNamespace".into(), json!("velero"));
    writer
        .finish(RunInfo {
            created: Some(CREATED.into()),
            scope,
            ..RunInfo::default()
        })
        .unwrap();
    path
}

/// A directory bundle with no manifest (an extracted or hand-made one).
fn write_dir(dir: &Path, files: Vec<(&str, Content)>) -> PathBuf {
    let root = dir.join("bundle");
    for (name, content) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match content {
            Content::Json(v) => std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()),
            Content::Text(t) => std::fs::write(&path, t),
        }
        .unwrap();
    }
    root
}

fn gather(path: &Path) -> (Bundle, BundleFacts) {
    let mut bundle = Bundle::open(path).unwrap();
    let facts = snapdoc::analyze::gather_facts(&mut bundle).unwrap();
    (bundle, facts)
}

fn node(name: &str, ready: bool, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": "2025-01-10T08:00:00Z"},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": "KubeletReady"}
            ],
            "nodeInfo": {
                "architecture": "amd64", "bootID": "5c1b", "containerRuntimeVersion": "containerd://1.6.21",
                "kernelVersion": "5.15.0-88-generic", "kubeProxyVersion": "v1.27.4", "kubeletVersion": "v1.27.4",
                "machineID": "ec2a", "operatingSystem": "linux", "osImage": "Ubuntu 22.04.3 LTS", "systemUUID": "ec2a"
            }
        }
    })
}

fn container_status(
    name: &str,
    image: &str,
    ready: bool,
    restarts: i64,
    last_terminated: Option<(&str, &str)>,
) -> Value {
    let mut status = json!({
        "name": name, "image": image, "imageID": format!("docker.io/{image}@sha256:0f0e"),
        "ready": ready, "restartCount": restarts, "started": ready,
        "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}
    });
    if let Some((reason, finished)) = last_terminated {
        status["lastState"] = json!({"terminated": {"exitCode": 137, "reason": reason,
            "startedAt": "2026-11-25T01:00:00Z", "finishedAt": finished}});
    }
    status
}

fn pod(
    namespace: &str,
    name: &str,
    spec: Value,
    status: Value,
    annotations: Value,
    labels: Value,
) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations, "labels": labels,
                     "creationTimestamp": "2026-11-20T08:59:00Z", "uid": format!("uid-{name}")},
        "spec": spec, "status": status
    })
}

fn running(container_statuses: Vec<Value>, init_statuses: Vec<Value>) -> Value {
    let all_ready = container_statuses.iter().all(|s| s["ready"] == json!(true));
    json!({
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": if all_ready { "True" } else { "False" }}],
        "containerStatuses": container_statuses,
        "initContainerStatuses": init_statuses
    })
}

fn velero_pod_spec(image: &str, plugins: &[(&str, &str)], args: Vec<&str>) -> Value {
    json!({
        "serviceAccountName": "velero",
        "containers": [{
            "name": "velero", "image": image, "command": ["/velero"], "args": args,
            "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}},
            "volumeMounts": [{"name": "plugins", "mountPath": "/plugins"}]
        }],
        "initContainers": plugins.iter().map(|(name, image)| json!({
            "name": name, "image": image, "volumeMounts": [{"name": "plugins", "mountPath": "/target"}]
        })).collect::<Vec<_>>(),
        "volumes": [{"name": "plugins", "emptyDir": {}}, {"name": "scratch", "emptyDir": {}}]
    })
}

fn deployment(namespace: &str, name: &str, pod_spec: Value, replicas: i64, ready: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"component": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"deploy": name}},
                 "template": {"metadata": {"labels": {"deploy": name}}, "spec": pod_spec}},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}
    })
}

fn daemonset(namespace: &str, name: &str, image: &str, desired: i64, ready: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"name": name}}, "template": {"metadata": {"labels": {"name": name}},
            "spec": {"containers": [{"name": name, "image": image, "command": ["/velero"],
                "args": ["node-agent", "server"], "resources": {"limits": {"memory": "1Gi"}}}],
                "volumes": [{"name": "host-pods", "hostPath": {"path": "/var/lib/kubelet/pods"}}]}}},
        "status": {"desiredNumberScheduled": desired, "numberReady": ready, "currentNumberScheduled": desired}
    })
}

struct BackupSpec<'a> {
    name: &'a str,
    phase: &'a str,
    started: &'a str,
    completed: Option<&'a str>,
    schedule: Option<&'a str>,
    extra_status: Value,
    spec: Value,
    annotations: Value,
}

fn backup(b: BackupSpec<'_>) -> Value {
    let mut labels = json!({"velero.io/storage-location": "default"});
    if let Some(s) = b.schedule {
        labels["velero.io/schedule-name"] = json!(s);
    }
    let mut status = json!({
        "phase": b.phase, "startTimestamp": b.started, "version": 1, "formatVersion": "1.1.0",
        "expiration": "2026-12-25T02:00:00Z"
    });
    if let Some(c) = b.completed {
        status["completionTimestamp"] = json!(c);
    }
    if let (Some(extra), Some(s)) = (b.extra_status.as_object(), status.as_object_mut()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    let mut spec = json!({"storageLocation": "default", "ttl": "720h0m0s", "includedNamespaces": ["app"],
                          "volumeSnapshotLocations": []});
    if let (Some(extra), Some(s)) = (b.spec.as_object(), spec.as_object_mut()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": b.name, "namespace": "velero", "labels": labels, "annotations": b.annotations,
                     "creationTimestamp": b.started, "uid": format!("uid-{}", b.name)},
        "spec": spec, "status": status
    })
}

fn schedule(name: &str, expr: &str, created: &str, last_backup: &str, template: Value) -> Value {
    json!({
        "apiVersion": "velero.io/v1", "kind": "Schedule",
        "metadata": {"name": name, "namespace": "velero", "creationTimestamp": created},
        "spec": {"schedule": expr, "template": template, "useOwnerReferencesInBackup": false},
        "status": {"phase": "Enabled", "lastBackup": last_backup}
    })
}

fn bsl(
    name: &str,
    provider: &str,
    bucket: &str,
    prefix: Option<&str>,
    default: Option<bool>,
    phase: &str,
    message: Option<&str>,
) -> Value {
    let mut spec = json!({"provider": provider, "objectStorage": {"bucket": bucket},
                          "config": {"region": "us-east-1", "s3Url": "https://s3.example.com"}});
    if let Some(p) = prefix {
        spec["objectStorage"]["prefix"] = json!(p);
    }
    if let Some(d) = default {
        spec["default"] = json!(d);
    }
    let mut status = json!({"phase": phase, "lastValidationTime": "2026-11-26T03:59:00Z"});
    if let Some(m) = message {
        status["message"] = json!(m);
    }
    json!({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
           "metadata": {"name": name, "namespace": "velero"}, "spec": spec, "status": status})
}

/// A PodVolumeBackup of `(pod, volume)` in namespace app, `(started, completed)`.
fn pvb(
    name: &str,
    backup: &str,
    (pod, volume): (&str, &str),
    phase: &str,
    (started, completed): (&str, Option<&str>),
    message: Option<&str>,
    uploader: Option<&str>,
) -> Value {
    let mut spec = json!({"backupStorageLocation": "default", "node": "node-1",
        "pod": {"kind": "Pod", "namespace": "app", "name": pod, "uid": format!("uid-{pod}")},
        "repoIdentifier": "s3:https://s3.example.com/snapshots/kots/restic/app", "volume": volume,
        "tags": {"backup": backup, "ns": "app", "pod": pod, "volume": volume}});
    if let Some(u) = uploader {
        spec["uploaderType"] = json!(u);
    }
    let mut status = json!({"phase": phase, "startTimestamp": started,
                            "progress": {"bytesDone": 1048576, "totalBytes": 4194304}});
    if let Some(c) = completed {
        status["completionTimestamp"] = json!(c);
    }
    if let Some(m) = message {
        status["message"] = json!(m);
    }
    json!({"apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
           "metadata": {"name": name, "namespace": "velero", "generateName": format!("{backup}-"),
                        "labels": {"velero.io/backup-name": backup, "velero.io/backup-uid": format!("uid-{backup}")},
                        "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": backup,
                                             "uid": format!("uid-{backup}"), "controller": true}]},
           "spec": spec, "status": status})
}

fn log_line(time: &str, level: &str, msg: &str, extra: &str) -> String {
    format!("time=\"{time}\" level={level} msg=\"{msg}\" {extra}\n")
}

/// Velero 1.12 (node-agent, kopia) under KOTS 1.109 on kURL: the common KOTS snapshots install.
fn kots_kurl_bundle(dir: &Path) -> PathBuf {
    let velero_image = "velero/velero:v1.12.3";
    let app_backup_template =
        json!({"includedNamespaces": ["app"], "storageLocation": "default", "ttl": "720h0m0s"});
    let failed_pvb_message = "error running restic backup command restic backup --repo=s3:... with error: exit status 3 stderr: unable to open config file: Stat: The Access Key Id you provided does not exist in our records.";
    let mut backup_log = String::new();
    backup_log += &log_line(
        "2026-11-25T02:00:01Z",
        "info",
        "Setting up backup temp file",
        "backup=velero/nightly-20261125020000 logSource=\"pkg/controller/backup_controller.go:604\"",
    );
    for i in 0..50 {
        backup_log += &log_line(
            "2026-11-25T02:00:02Z",
            "info",
            "Processing item",
            &format!(
                "backup=velero/nightly-20261125020000 logSource=\"pkg/backup/backup.go:383\" name=item-{i} namespace=app resource=configmaps"
            ),
        );
    }
    backup_log += &log_line(
        "2026-11-25T02:00:05Z",
        "warning",
        "Volume data is not backed up: emptyDir not opted in",
        "backup=velero/nightly-20261125020000 name=web-7c9 namespace=app",
    );
    backup_log += &log_line(
        "2026-11-25T02:03:10Z",
        "error",
        "pod volume backup failed",
        &format!(
            "backup=velero/nightly-20261125020000 error=\"{failed_pvb_message}\" logSource=\"pkg/podvolume/backupper.go:305\""
        ),
    );
    backup_log += &log_line(
        "2026-11-25T02:03:11Z",
        "info",
        "Backup completed",
        "backup=velero/nightly-20261125020000 logSource=\"pkg/controller/backup_controller.go:740\"",
    );

    let mut server_log = String::new();
    server_log += &log_line(
        "2026-11-25T02:00:00Z",
        "info",
        "Setting up backup log",
        "backup=velero/nightly-20261125020000 controller=backup logSource=\"pkg/controller/backup_controller.go:595\"",
    );
    server_log += &log_line(
        "2026-11-25T02:03:10Z",
        "error",
        "pod volume backup failed",
        &format!(
            "backup=velero/nightly-20261125020000 error=\"{failed_pvb_message}\" logSource=\"pkg/podvolume/backupper.go:305\""
        ),
    );
    server_log += &log_line(
        "2026-11-25T02:03:12Z",
        "error",
        "Error uploading log file",
        "backup=velero/nightly-20261125020000 bucket=snapshots error=\"rpc error: code = Unknown desc = AccessDenied\" logSource=\"pkg/persistence/object_store.go:252\"",
    );
    server_log += &log_line(
        "2026-11-25T02:03:12Z",
        "info",
        "unrelated",
        "backup=velero/other-backup",
    );

    let node_agent_log = log_line(
        "2026-11-25T02:03:09Z",
        "error",
        "Error backing up volume",
        "controller=podvolumebackup podvolumebackup=velero/nightly-20261125020000-x7k2p error=\"exit status 3\"",
    );

    let files = vec![
        ("cluster/version.json", Content::Json(json!({"major": "1", "minor": "27", "gitVersion": "v1.27.4", "platform": "linux/amd64"}))),
        ("cluster/nodes.json", Content::Json(list(vec![
            node("node-1", true, json!({"kurl.sh/cluster": "true", "kubernetes.io/hostname": "node-1"})),
            node("node-2", false, json!({"kubernetes.io/hostname": "node-2"})),
        ]))),
        ("cluster/namespaces.json", Content::Json(list(["default", "kube-system", "kurl", "velero", "app"].iter()
            .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})).collect()))),
        ("cluster-resources/deployments/velero.json", Content::Json(list(vec![deployment("velero", "velero",
            velero_pod_spec(velero_image, &[("velero-velero-plugin-for-aws", "velero/velero-plugin-for-aws:v1.8.2"),
                                            ("replicated-local-volume-provider", "replicated/local-volume-provider:v0.5.4")],
                            vec!["server", "--features=", "--uploader-type=kopia", "--fs-backup-timeout=4h"]), 1, 1)]))),
        ("cluster-resources/deployments/default.json", Content::Json(list(vec![deployment("default", "kotsadm",
            json!({"containers": [{"name": "kotsadm", "image": "kotsadm/kotsadm:v1.109.3",
                                   "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}]}), 1, 1)]))),
        ("cluster-resources/daemonsets/velero.json", Content::Json(list(vec![daemonset("velero", "node-agent", velero_image, 2, 1)]))),
        ("cluster-resources/pods/velero.json", Content::Json(list(vec![
            pod("velero", "velero-6d8f7b9c4-x2x9k", velero_pod_spec(velero_image, &[("velero-velero-plugin-for-aws", "velero/velero-plugin-for-aws:v1.8.2"), ("replicated-local-volume-provider", "replicated/local-volume-provider:v0.5.4")], vec!["server"]),
                running(vec![container_status("velero", velero_image, true, 0, None)],
                        vec![json!({"name": "velero-velero-plugin-for-aws", "ready": true, "restartCount": 0, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}),
                             json!({"name": "replicated-local-volume-provider", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}})]),
                json!({}), json!({"component": "velero", "deploy": "velero"})),
            pod("velero", "node-agent-4xq7z", json!({"containers": [{"name": "node-agent", "image": velero_image, "resources": {"limits": {"memory": "1Gi"}}}]}),
                running(vec![container_status("node-agent", velero_image, false, 4, Some(("OOMKilled", "2026-11-25T02:03:08Z")))], vec![]),
                json!({}), json!({"name": "node-agent"})),
            pod("velero", "node-agent-9ppl2", json!({"containers": [{"name": "node-agent", "image": velero_image}]}),
                running(vec![container_status("node-agent", velero_image, true, 0, Some(("Error", "2026-11-21T00:00:00Z")))], vec![]),
                json!({}), json!({"name": "node-agent"})),
        ]))),
        ("cluster-resources/pods/default.json", Content::Json(list(vec![
            pod("default", "kotsadm-5f7b8c-abcde", json!({"containers": [{"name": "kotsadm", "image": "kotsadm/kotsadm:v1.109.3"}]}),
                running(vec![container_status("kotsadm", "kotsadm/kotsadm:v1.109.3", true, 1, Some(("Error", "2026-11-22T00:00:00Z")))], vec![]),
                json!({}), json!({"app": "kotsadm"})),
        ]))),
        ("cluster-resources/pods/app.json", Content::Json(list(vec![
            pod("app", "db-0", json!({"containers": [{"name": "postgres", "image": "postgres:15"}],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
                                {"name": "kube-api-access-abcde", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
                                {"name": "config", "configMap": {"name": "db-config"}}]}),
                running(vec![container_status("postgres", "postgres:15", true, 0, None)], vec![]),
                json!({"backup.velero.io/backup-volumes": "data"}), json!({"app": "db"})),
            pod("app", "web-7c9", json!({"containers": [{"name": "web", "image": "nginx:1.25"}],
                    "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "uploads", "persistentVolumeClaim": {"claimName": "uploads"}},
                                {"name": "tls", "secret": {"secretName": "web-tls"}}]}),
                running(vec![container_status("web", "nginx:1.25", true, 0, None)], vec![]),
                json!({}), json!({"app": "web"})),
            pod("app", "worker-pending", json!({"containers": [{"name": "w", "image": "busybox"}],
                    "volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": "work"}}]}),
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}),
                json!({"backup.velero.io/backup-volumes": "work"}), json!({})),
            pod("app", "migrate-28abc", json!({"containers": [{"name": "m", "image": "busybox"}],
                    "volumes": [{"name": "scratch", "persistentVolumeClaim": {"claimName": "scratch"}}]}),
                json!({"phase": "Succeeded"}), json!({}), json!({})),
        ]))),
        ("cluster-resources/configmaps/kube-system.json", Content::Json(list(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kurl-config", "namespace": "kube-system"}, "data": {}})
        ]))),
        ("cluster-resources/events/velero.json", Content::Json(list(vec![
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "nightly-20261125020000.17a", "namespace": "velero"},
                   "involvedObject": {"kind": "PodVolumeBackup", "name": "nightly-20261125020000-x7k2p", "namespace": "velero"},
                   "reason": "Failed", "message": "restic exited with status 3", "type": "Warning", "count": 2,
                   "firstTimestamp": "2026-11-25T02:03:09Z", "lastTimestamp": "2026-11-25T02:03:10Z"}),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "other.17b", "namespace": "velero"},
                   "involvedObject": {"kind": "Backup", "name": "unrelated"}, "reason": "X", "message": "no", "type": "Normal",
                   "lastTimestamp": "2026-11-25T02:03:10Z"}),
        ]))),
        ("cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json", Content::Json(list(vec![
            bsl("default", "aws", "snapshots", Some("kots"), Some(true), "Available", None),
            bsl("secondary", "velero.io/gcp", "dr-bucket", None, Some(false), "Unavailable",
                Some("BackupStorageLocation \"secondary\" is unavailable: rpc error: code = Unknown desc = storage: bucket doesn't exist")),
        ]))),
        ("cluster-resources/custom-resources/schedules.velero.io/velero.json", Content::Json(list(vec![
            schedule("nightly", "0 2 * * *", "2026-01-01T00:00:00Z", "2026-11-25T02:00:00Z", app_backup_template.clone()),
            schedule("weekly", "@every 168h", "2026-01-01T00:00:00Z", "2026-11-25T03:00:00Z", app_backup_template.clone()),
            schedule("broken", "61 * * * *", "2026-01-01T00:00:00Z", "", app_backup_template.clone()),
            {
                let mut s = schedule("paused", "@hourly", "2026-01-01T00:00:00Z", "2026-10-01T00:00:00Z", app_backup_template.clone());
                s["spec"]["paused"] = json!(true);
                s
            },
        ]))),
        ("cluster-resources/custom-resources/backups.velero.io/velero.json", Content::Json(list(vec![
            backup(BackupSpec { name: "nightly-20261125020000", phase: "PartiallyFailed", started: "2026-11-25T02:00:00Z",
                completed: Some("2026-11-25T02:03:11Z"), schedule: Some("nightly"),
                extra_status: json!({"errors": 2, "warnings": 1, "progress": {"totalItems": 120, "itemsBackedUp": 120}}),
                spec: json!({}), annotations: json!({}) }),
            backup(BackupSpec { name: "nightly-20261124020000", phase: "Failed", started: "2026-11-24T02:00:00Z",
                completed: Some("2026-11-24T02:00:05Z"), schedule: Some("nightly"),
                extra_status: json!({"failureReason": "get a backup store: backup storage location \"default\" is unavailable"}),
                spec: json!({}), annotations: json!({}) }),
            backup(BackupSpec { name: "nightly-20261122020000", phase: "Completed", started: "2026-11-22T02:00:00Z",
                completed: Some("2026-11-22T02:10:00Z"), schedule: Some("nightly"), extra_status: json!({}),
                spec: json!({}), annotations: json!({}) }),
            backup(BackupSpec { name: "weekly-20261125030000", phase: "Completed", started: "2026-11-25T03:00:00Z",
                completed: Some("2026-11-25T03:20:00Z"), schedule: Some("weekly"), extra_status: json!({}),
                spec: json!({}), annotations: json!({}) }),
            backup(BackupSpec { name: "instance-xk2l9", phase: "Completed", started: "2026-11-20T12:00:00Z",
                completed: Some("2026-11-20T12:30:00Z"), schedule: None, extra_status: json!({"errors": 0, "warnings": 0}),
                spec: json!({"includedNamespaces": ["default", "app"], "defaultVolumesToFsBackup": false}),
                annotations: json!({"kots.io/instance": "true", "kots.io/kotsadm-image": "kotsadm/kotsadm:v1.109.3"}) }),
            backup(BackupSpec { name: "myapp-abc12", phase: "FailedValidation", started: "2026-11-26T01:00:00Z",
                completed: None, schedule: None,
                extra_status: json!({"validationErrors": ["an existing backup storage location wasn't specified at backup creation time and the default 'default' wasn't found. Please address this issue (see `velero backup-location -h` for options) and create a new backup."]}),
                spec: json!({"storageLocation": null}), annotations: json!({"kots.io/app-slug": "myapp"}) }),
        ]))),
        ("cluster-resources/custom-resources/restores.velero.io/velero.json", Content::Json(list(vec![
            json!({"apiVersion": "velero.io/v1", "kind": "Restore",
                   "metadata": {"name": "instance-xk2l9-20261121", "namespace": "velero", "creationTimestamp": "2026-11-21T10:00:00Z"},
                   "spec": {"backupName": "instance-xk2l9", "includedNamespaces": ["*"]},
                   "status": {"phase": "PartiallyFailed", "startTimestamp": "2026-11-21T10:00:00Z",
                              "completionTimestamp": "2026-11-21T10:05:00Z", "errors": 1, "warnings": 12}})
        ]))),
        ("cluster-resources/custom-resources/podvolumebackups.velero.io/velero.json", Content::Json(list(vec![
            pvb("nightly-20261125020000-x7k2p", "nightly-20261125020000", ("db-0", "data"), "Failed",
                ("2026-11-25T02:01:00Z", Some("2026-11-25T02:03:10Z")), Some(failed_pvb_message), Some("kopia")),
            pvb("nightly-20261124020000-q8w2e", "nightly-20261124020000", ("db-0", "data"), "Completed",
                ("2026-11-24T02:01:00Z", Some("2026-11-24T02:02:00Z")), None, Some("kopia")),
        ]))),
        ("cluster-resources/custom-resources/backuprepositories.velero.io/velero.json", Content::Json(list(vec![
            json!({"apiVersion": "velero.io/v1", "kind": "BackupRepository",
                   "metadata": {"name": "app-default-kopia-8b2s", "namespace": "velero"},
                   "spec": {"backupStorageLocation": "default", "maintenanceFrequency": "1h0m0s", "repositoryType": "kopia",
                            "resticIdentifier": "s3:https://s3.example.com/snapshots/kots/restic/app", "volumeNamespace": "app"},
                   "status": {"phase": "Ready", "lastMaintenanceTime": "2026-11-26T03:00:00Z"}})
        ]))),
        ("velero/backups/nightly-20261125020000/backup.log", Content::Text(backup_log)),
        ("velero/logs/velero-6d8f7b9c4-x2x9k/velero.log", Content::Text(server_log)),
        ("velero/logs/node-agent-4xq7z/node-agent.log", Content::Text(node_agent_log)),
    ];
    write_zip(
        dir,
        files,
        vec![CollectorError {
            source: "workloads".into(),
            target: Some("persistentvolumeclaims".into()),
            namespace: Some("app".into()),
            status: Some(403),
            message: "persistentvolumeclaims is forbidden: User \"snapdoc\" cannot list resource"
                .into(),
        }],
    )
}

fn kind<'a>(facts: &'a BundleFacts, kind: &str) -> &'a [Value] {
    facts.kinds.get(kind).map(Vec::as_slice).unwrap_or(&[])
}

fn find<'a>(objects: &'a [Value], key: &str, value: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o[key] == json!(value))
        .unwrap_or_else(|| panic!("no {key}={value} in {objects:#?}"))
}

#[test]
fn kots_on_kurl_with_velero_1_12_environment_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (_, facts) = gather(&kots_kurl_bundle(dir.path()));
    assert_eq!(facts.now.to_string(), CREATED);
    assert_eq!(facts.velero_namespace.as_deref(), Some("velero"));

    let env = &facts.environment;
    assert_eq!(env.kubernetes_version.as_deref(), Some("v1.27.4"));
    assert_eq!(env.install_kind.as_deref(), Some("kurl"));
    assert_eq!(env.nodes.len(), 2);
    let n1 = &env.nodes[0];
    assert_eq!(
        (
            n1.name.as_str(),
            n1.os_image.as_deref(),
            n1.kernel_version.as_deref(),
            n1.container_runtime.as_deref(),
            n1.kubelet_version.as_deref(),
            n1.architecture.as_deref(),
            n1.ready
        ),
        (
            "node-1",
            Some("Ubuntu 22.04.3 LTS"),
            Some("5.15.0-88-generic"),
            Some("containerd://1.6.21"),
            Some("v1.27.4"),
            Some("amd64"),
            Some(true)
        )
    );
    assert_eq!(env.nodes[1].ready, Some(false));

    let velero = env.velero.as_ref().unwrap();
    assert_eq!(
        (
            velero.name.as_str(),
            velero.version.as_deref(),
            velero.image.as_deref(),
            velero.namespace.as_deref()
        ),
        (
            "velero",
            Some("1.12.3"),
            Some("velero/velero:v1.12.3"),
            Some("velero")
        )
    );
    assert_eq!(velero.status.as_deref(), Some("1/1 ready, 0 restarts"));

    let plugins: Vec<(&str, Option<&str>, Option<&str>)> = env
        .plugins
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_deref(), p.status.as_deref()))
        .collect();
    assert_eq!(
        plugins,
        vec![
            (
                "velero-plugin-for-aws",
                Some("1.8.2"),
                Some("copied into the velero pod")
            ),
            (
                "local-volume-provider",
                Some("0.5.4"),
                Some("waiting: ImagePullBackOff")
            ),
        ]
    );

    let agent = env.node_agent.as_ref().unwrap();
    assert_eq!(
        (agent.name.as_str(), agent.version.as_deref()),
        ("node-agent", Some("1.12.3"))
    );
    assert_eq!(
        agent.status.as_deref(),
        Some("1/2 ready, 4 restarts, last terminated OOMKilled")
    );

    let kots = env.kots.as_ref().unwrap();
    assert_eq!(
        (
            kots.name.as_str(),
            kots.version.as_deref(),
            kots.namespace.as_deref()
        ),
        ("kots", Some("1.109.3"), Some("default"))
    );
    assert_eq!(
        kots.status.as_deref(),
        Some("1/1 ready, 1 restart, last terminated Error")
    );

    assert_eq!(env.storage_locations.len(), 2);
    let default = &env.storage_locations[0];
    assert_eq!(
        (
            default.name.as_str(),
            default.provider.as_deref(),
            default.bucket.as_deref(),
            default.prefix.as_deref(),
            default.phase.as_deref(),
            default.last_validation.as_deref(),
            default.default
        ),
        (
            "default",
            Some("aws"),
            Some("snapshots"),
            Some("kots"),
            Some("Available"),
            Some("2026-11-26T03:59:00Z"),
            true
        )
    );
    let secondary = &env.storage_locations[1];
    assert!(!secondary.default);
    assert_eq!(secondary.phase.as_deref(), Some("Unavailable"));
    assert!(
        secondary
            .message
            .as_deref()
            .unwrap()
            .contains("bucket doesn't exist")
    );

    let versions: Vec<(&str, &str)> = facts
        .versions
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        versions,
        vec![
            ("kots", "1.109.3"),
            ("kubernetes", "1.27.4"),
            ("local-volume-provider", "0.5.4"),
            ("node-agent", "1.12.3"),
            ("velero", "1.12.3"),
            ("velero-plugin-for-aws", "1.8.2"),
        ]
    );
}

#[test]
fn kots_on_kurl_cluster_fact() {
    let dir = tempfile::tempdir().unwrap();
    let (_, facts) = gather(&kots_kurl_bundle(dir.path()));
    let cluster = kind(&facts, "facts.cluster");
    assert_eq!(cluster.len(), 1);
    let c = &cluster[0];
    assert_eq!(c["veleroInstalled"], json!(true));
    assert_eq!(c["veleroNamespace"], json!("velero"));
    assert_eq!(c["veleroVersion"], json!("1.12.3"));
    assert_eq!(c["nodeAgentInstalled"], json!(true));
    assert_eq!(c["nodeAgentKind"], json!("node-agent"));
    assert_eq!(c["nodeAgentVersion"], json!("1.12.3"));
    assert_eq!(c["nodeAgentDesired"], json!(2));
    assert_eq!(c["nodeAgentReady"], json!(1));
    assert_eq!(c["resticRepositoriesPresent"], json!(false));
    assert_eq!(c["fsBackupUsed"], json!(true));
    assert_eq!(c["uploaderTypes"], json!(["kopia"]));
    assert_eq!(c["serverUploaderType"], json!("kopia"));
    // The environment table says the same.
    assert_eq!(facts.environment.uploaders, ["kopia"]);
    assert_eq!(
        facts.environment.server_uploader_type.as_deref(),
        Some("kopia")
    );
    assert_eq!(c["backupCount"], json!(6));
    assert_eq!(c["completedBackupCount"], json!(3));
    assert_eq!(c["failedBackupCount"], json!(3));
    assert_eq!(c["restoreCount"], json!(1));
    // weekly-20261125030000 completed 2026-11-25T03:20:00Z, 24h40m before the bundle.
    assert_eq!(
        c["lastCompletedBackupAgeSeconds"],
        json!(24 * 3600 + 40 * 60)
    );
    assert_eq!(c["kotsInstalled"], json!(true));
    assert_eq!(c["kotsVersion"], json!("1.109.3"));
    assert_eq!(c["installKind"], json!("kurl"));
    assert_eq!(c["storageProviders"], json!(["aws", "gcp"]));
    assert_eq!(
        c["plugins"],
        json!([
            {"name": "velero-plugin-for-aws", "image": "velero/velero-plugin-for-aws:v1.8.2", "version": "1.8.2"},
            {"name": "local-volume-provider", "image": "replicated/local-volume-provider:v0.5.4", "version": "0.5.4"},
        ])
    );
    assert_eq!(c["kubernetesVersion"], json!("1.27.4"));
    assert_eq!(c["nodeCount"], json!(2));
    assert_eq!(c["readyNodeCount"], json!(1));
    assert_eq!(c["nodeOsImages"], json!(["Ubuntu 22.04.3 LTS"]));
    assert_eq!(c["veleroImageDigestOnly"], json!(false));
}

#[test]
fn kots_on_kurl_schedules_and_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let (_, facts) = gather(&kots_kurl_bundle(dir.path()));
    let schedules = kind(&facts, "facts.schedules");
    assert_eq!(schedules.len(), 4);

    let nightly = find(schedules, "name", "nightly");
    assert_eq!(nightly["namespace"], json!("velero"));
    assert_eq!(nightly["schedule"], json!("0 2 * * *"));
    assert_eq!(nightly["paused"], json!(false));
    assert_eq!(nightly["periodSeconds"], json!(86400));
    assert_eq!(nightly["lastBackup"], json!("2026-11-25T02:00:00Z"));
    assert_eq!(
        nightly["lastCompletedBackup"],
        json!("2026-11-22T02:10:00Z")
    );
    assert_eq!(
        nightly["lastCompletedBackupName"],
        json!("nightly-20261122020000")
    );
    assert_eq!(
        nightly["lastCompletedAgeSeconds"],
        json!(4 * 86400 + 110 * 60)
    );
    // Last completed 4 days ago, period one day: overdue.
    assert_eq!(nightly["overdue"], json!(true));

    let weekly = find(schedules, "name", "weekly");
    assert_eq!(weekly["periodSeconds"], json!(168 * 3600));
    assert_eq!(weekly["overdue"], json!(false));

    let broken = find(schedules, "name", "broken");
    assert_eq!(broken["periodSeconds"], Value::Null);
    assert_eq!(broken["overdue"], json!(false));
    assert!(
        broken["parseError"]
            .as_str()
            .unwrap()
            .contains("minute field: 61")
    );

    let paused = find(schedules, "name", "paused");
    assert_eq!(paused["paused"], json!(true));
    assert_eq!(paused["periodSeconds"], json!(3600));
    assert_eq!(paused["overdue"], json!(false));
    assert_eq!(paused["lastCompletedBackup"], Value::Null);
}

#[test]
fn kots_on_kurl_volumes_and_components() {
    let dir = tempfile::tempdir().unwrap();
    let (_, facts) = gather(&kots_kurl_bundle(dir.path()));
    let volumes = kind(&facts, "facts.volumes");
    // db-0/data, web-7c9/uploads, worker-pending/work. Projected, configMap, secret and not-opted-in emptyDir
    // volumes are no data; the Succeeded Job pod holds no live data.
    let names: Vec<String> = volumes
        .iter()
        .map(|v| {
            format!(
                "{}/{}",
                v["pod"].as_str().unwrap(),
                v["volume"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        vec!["db-0/data", "web-7c9/uploads", "worker-pending/work"]
    );

    let data = find(volumes, "volume", "data");
    assert_eq!(data["namespace"], json!("app"));
    assert_eq!(data["type"], json!("persistentVolumeClaim"));
    assert_eq!(data["claimName"], json!("data-db-0"));
    assert_eq!(data["optedIn"], json!(true));
    assert_eq!(data["excluded"], json!(false));
    assert_eq!(data["defaultFsBackup"], json!(false));
    assert_eq!(data["backedUp"], json!(true));
    assert_eq!(data["method"], json!("fs-backup"));

    let uploads = find(volumes, "volume", "uploads");
    assert_eq!(uploads["optedIn"], json!(false));
    assert_eq!(uploads["backedUp"], json!(false));

    let work = find(volumes, "volume", "work");
    assert_eq!(work["optedIn"], json!(true));
    assert_eq!(work["backedUp"], json!(false));

    assert_eq!(facts.volumes_not_backed_up.len(), 2);
    let not_uploads = &facts.volumes_not_backed_up[0];
    assert_eq!(
        (
            not_uploads.namespace.as_str(),
            not_uploads.pod.as_str(),
            not_uploads.volume.as_str(),
            not_uploads.volume_type.as_str(),
            not_uploads.claim_name.as_deref()
        ),
        (
            "app",
            "web-7c9",
            "uploads",
            "persistentVolumeClaim",
            Some("uploads")
        )
    );
    assert!(
        not_uploads
            .reason
            .contains("not opted in via backup.velero.io/backup-volumes"),
        "{}",
        not_uploads.reason
    );
    assert!(
        facts.volumes_not_backed_up[1]
            .reason
            .contains("the pod is Pending"),
        "{}",
        facts.volumes_not_backed_up[1].reason
    );

    let components = kind(&facts, "facts.components");
    let agent = components
        .iter()
        .find(|c| c["pod"] == json!("node-agent-4xq7z"))
        .unwrap();
    assert_eq!(agent["component"], json!("node-agent"));
    assert_eq!(agent["namespace"], json!("velero"));
    assert_eq!(agent["container"], json!("node-agent"));
    assert_eq!(agent["ready"], json!(false));
    assert_eq!(agent["restartCount"], json!(4));
    assert_eq!(agent["lastTerminationReason"], json!("OOMKilled"));
    assert_eq!(agent["memoryLimit"], json!("1Gi"));
    assert_eq!(agent["memoryLimitBytes"], json!(1024 * 1024 * 1024));
    assert_eq!(agent["image"], json!("velero/velero:v1.12.3"));
    assert_eq!(agent["version"], json!("1.12.3"));
    let velero = components
        .iter()
        .find(|c| c["container"] == json!("velero"))
        .unwrap();
    assert_eq!(velero["component"], json!("velero"));
    assert_eq!(velero["memoryLimit"], json!("512Mi"));
    assert_eq!(velero["init"], json!(false));
    let lvp = components
        .iter()
        .find(|c| c["container"] == json!("replicated-local-volume-provider"))
        .unwrap();
    assert_eq!(lvp["init"], json!(true));
    assert_eq!(lvp["component"], json!("velero-plugin"));
    assert_eq!(lvp["waitingReason"], json!("ImagePullBackOff"));
    assert_eq!(lvp["version"], json!("0.5.4"));
    let kotsadm = components
        .iter()
        .find(|c| c["component"] == json!("kotsadm"))
        .unwrap();
    assert_eq!(kotsadm["version"], json!("1.109.3"));
    assert_eq!(kotsadm["memoryLimit"], Value::Null);
    // velero (2 init + 1), two node-agents, kotsadm; the app pods are not components.
    assert_eq!(components.len(), 6);
}

#[test]
fn kots_on_kurl_backups_table_and_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let (_, facts) = gather(&kots_kurl_bundle(dir.path()));
    let order: Vec<(&str, &str)> = facts
        .backups
        .iter()
        .map(|b| (&*b.kind, b.name.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("backup", "myapp-abc12"),
            ("backup", "weekly-20261125030000"),
            ("backup", "nightly-20261125020000"),
            ("backup", "nightly-20261124020000"),
            ("backup", "nightly-20261122020000"),
            ("restore", "instance-xk2l9-20261121"),
            ("backup", "instance-xk2l9"),
        ]
    );
    let partial = &facts.backups[2];
    assert_eq!(partial.namespace.as_deref(), Some("velero"));
    assert_eq!(partial.phase.as_deref(), Some("PartiallyFailed"));
    assert_eq!(partial.started.as_deref(), Some("2026-11-25T02:00:00Z"));
    assert_eq!(partial.completed.as_deref(), Some("2026-11-25T02:03:11Z"));
    assert_eq!(partial.duration_seconds, Some(191));
    assert_eq!((partial.errors, partial.warnings), (Some(2), Some(1)));
    assert_eq!(partial.storage_location.as_deref(), Some("default"));
    assert_eq!(partial.backup_name, None);
    assert_eq!(partial.schedule.as_deref(), Some("nightly"));
    assert_eq!(partial.kots_backup_type.as_deref(), Some("none"));
    assert_eq!(partial.failure_reason, None);
    assert!(partial.log_available);

    let failed = &facts.backups[3];
    assert_eq!(
        failed.failure_reason.as_deref(),
        Some("get a backup store: backup storage location \"default\" is unavailable")
    );
    assert!(!failed.log_available);

    let invalid = &facts.backups[0];
    assert_eq!(invalid.phase.as_deref(), Some("FailedValidation"));
    assert_eq!(invalid.kots_backup_type.as_deref(), Some("app"));
    assert_eq!(invalid.schedule, None);
    assert!(
        invalid
            .failure_reason
            .as_deref()
            .unwrap()
            .starts_with("an existing backup storage location wasn't specified")
    );
    // storageLocation null in spec: the label stands in.
    assert_eq!(invalid.storage_location.as_deref(), Some("default"));
    assert_eq!(
        (invalid.completed.as_deref(), invalid.duration_seconds),
        (None, None)
    );

    let restore = &facts.backups[5];
    assert_eq!(restore.backup_name.as_deref(), Some("instance-xk2l9"));
    assert_eq!(restore.schedule, None);
    assert_eq!(restore.kots_backup_type.as_deref(), Some("instance"));
    assert_eq!(restore.storage_location, None);
    assert_eq!(
        (restore.errors, restore.warnings, restore.duration_seconds),
        (Some(1), Some(12), Some(300))
    );
    assert!(!restore.log_available);
    assert_eq!(
        facts.backups[6].kots_backup_type.as_deref(),
        Some("instance")
    );

    assert_eq!(facts.unavailable, vec![
        "backup logs of failed backups: nightly-20261124020000 (not in the bundle)".to_string(),
        "persistentvolumeclaims in namespace app: not collected (HTTP 403: persistentvolumeclaims is forbidden: User \"snapdoc\" cannot list resource)".to_string(),
    ]);
}

#[test]
fn kots_on_kurl_timeline_merges_log_server_transfers_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bundle, facts) = gather(&kots_kurl_bundle(dir.path()));
    let timelines = snapdoc::analyze::timelines(&mut bundle, &facts.backups).unwrap();
    // Failed / PartiallyFailed backups only (FailedValidation never ran), newest first.
    let targets: Vec<&str> = timelines.iter().map(|t| t.target.name.as_str()).collect();
    assert_eq!(
        targets,
        vec!["nightly-20261125020000", "nightly-20261124020000"]
    );
    assert_eq!(timelines[0].target.kind, "backups.velero.io");

    let entries = &timelines[0].entries;
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.time.as_deref().unwrap_or("-"),
                e.source,
                e.text
            )
        })
        .collect();
    let expected_prefixes = [
        "2026-11-25T02:00:00Z backup Backup nightly-20261125020000 started",
        "2026-11-25T02:00:01Z backup-log info: Setting up backup temp file",
        "2026-11-25T02:00:05Z backup-log warning: Volume data is not backed up: emptyDir not opted in namespace=app name=web-7c9",
        "2026-11-25T02:01:00Z podvolumebackup PodVolumeBackup nightly-20261125020000-x7k2p started for volume data of pod app/db-0 on node node-1 (kopia)",
        // The pod's lastState.terminated: node-agent OOMKilled inside the backup's window.
        "2026-11-25T02:03:08Z container Container node-agent of node-agent pod velero/node-agent-4xq7z restarted: its last run ended OOMKilled (exit code 137); 4 restarts in all",
        "2026-11-25T02:03:09Z node-agent error: Error backing up volume: exit status 3",
        "2026-11-25T02:03:10Z podvolumebackup PodVolumeBackup nightly-20261125020000-x7k2p Failed after 1.0 MiB of 4.0 MiB: error running restic",
        "2026-11-25T02:03:10Z event Warning event Failed: restic exited with status 3 (×2)",
        "2026-11-25T02:03:10Z backup-log error: pod volume backup failed: error running restic backup",
        // Within one second the backup's own end comes last.
        "2026-11-25T02:03:11Z backup-log info: Backup completed",
        "2026-11-25T02:03:11Z backup Backup nightly-20261125020000 ended PartiallyFailed (2 errors, 1 warning)",
        "2026-11-25T02:03:12Z velero-server error: Error uploading log file: rpc error: code = Unknown desc = AccessDenied",
    ];
    assert_eq!(lines.len(), expected_prefixes.len(), "{lines:#?}");
    for (line, prefix) in lines.iter().zip(expected_prefixes) {
        assert!(
            line.starts_with(prefix),
            "{line:?} should start with {prefix:?}"
        );
    }
    // The server's copy of a backup-log error is not shown twice; the location says where each line is.
    let located = entries
        .iter()
        .find(|e| e.source == "backup-log" && e.text.starts_with("error"))
        .unwrap();
    assert_eq!(
        located.location,
        "velero/backups/nightly-20261125020000/backup.log:53"
    );
    let server = entries
        .iter()
        .find(|e| e.source == "velero-server")
        .unwrap();
    assert_eq!(
        server.location,
        "velero/logs/velero-6d8f7b9c4-x2x9k/velero.log:3"
    );

    // Without its own log, the older failure shows the server's view only.
    let older = &timelines[1].entries;
    assert!(
        older
            .iter()
            .any(|e| e.text.contains("ended Failed: get a backup store"))
    );
    assert!(
        older
            .iter()
            .any(|e| e.source == "podvolumebackup" && e.text.contains("Completed"))
    );
}

fn kubelet(mut node: Value, version: &str) -> Value {
    node["status"]["nodeInfo"]["kubeletVersion"] = json!(version);
    node
}

fn created_at(mut object: Value, time: &str) -> Value {
    object["metadata"]["creationTimestamp"] = json!(time);
    object
}

fn validated_at(mut location: Value, time: &str) -> Value {
    location["status"]["lastValidationTime"] = json!(time);
    location
}

/// Velero 1.6 with restic, no manifest, no nodes and no backup logs: a directory bundle.
fn velero_1_6_restic_bundle(dir: &Path) -> PathBuf {
    let image = "velero/velero:v1.6.3";
    write_dir(
        dir,
        vec![
            (
                "cluster/version.json",
                Content::Json(json!({"gitVersion": "v1.21.14+k3s1"})),
            ),
            (
                "cluster-resources/deployments/velero.json",
                Content::Json(list(vec![deployment(
                    "velero",
                    "velero",
                    velero_pod_spec(
                        image,
                        &[(
                            "velero-plugin-for-aws",
                            "velero/velero-plugin-for-aws:v1.2.1",
                        )],
                        vec!["server", "--default-volumes-to-restic=true"],
                    ),
                    1,
                    1,
                )])),
            ),
            (
                "cluster-resources/daemonsets/velero.json",
                Content::Json(list(vec![daemonset("velero", "restic", image, 3, 3)])),
            ),
            (
                "cluster-resources/pods/app.json",
                Content::Json(list(vec![created_at(
                    pod(
                        "app",
                        "api-1",
                        json!({"containers": [{"name": "api", "image": "api:1"}],
                    "volumes": [{"name": "state", "persistentVolumeClaim": {"claimName": "state"}},
                                {"name": "tmp", "emptyDir": {"medium": "Memory"}},
                                {"name": "logs", "persistentVolumeClaim": {"claimName": "logs"}},
                                {"name": "cache", "emptyDir": {}}]}),
                        running(
                            vec![container_status("api", "api:1", true, 0, None)],
                            vec![],
                        ),
                        json!({"backup.velero.io/backup-volumes-excludes": "logs,cache"}),
                        json!({}),
                    ),
                    "2021-05-01T00:00:00Z",
                )])),
            ),
            (
                "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
                Content::Json(list(vec![
                    validated_at(
                        bsl("default", "aws", "velero", None, None, "Available", None),
                        "2021-06-01T00:31:00Z",
                    ),
                    validated_at(
                        bsl(
                            "archive",
                            "aws",
                            "velero-archive",
                            None,
                            None,
                            "Available",
                            None,
                        ),
                        "2021-06-01T00:31:00Z",
                    ),
                ])),
            ),
            (
                "cluster-resources/custom-resources/backups.velero.io/velero.json",
                Content::Json(list(vec![backup(BackupSpec {
                    name: "daily-20210601",
                    phase: "PartiallyFailed",
                    started: "2021-06-01T00:00:00Z",
                    completed: Some("2021-06-01T00:30:00Z"),
                    schedule: None,
                    extra_status: json!({"errors": 1}),
                    spec: json!({"defaultVolumesToRestic": true}),
                    annotations: json!(null),
                })])),
            ),
            (
                "cluster-resources/custom-resources/podvolumebackups.velero.io/velero.json",
                Content::Json(list(vec![pvb(
                    "daily-20210601-abcde",
                    "daily-20210601",
                    ("api-1", "state"),
                    "Failed",
                    ("2021-06-01T00:01:00Z", Some("2021-06-01T00:29:00Z")),
                    Some("timed out waiting for all PodVolumeBackups to complete"),
                    None,
                )])),
            ),
            (
                "cluster-resources/custom-resources/resticrepositories.velero.io/velero.json",
                Content::Json(list(vec![
                    json!({"apiVersion": "velero.io/v1", "kind": "ResticRepository", "metadata": {"name": "app-default-x", "namespace": "velero"},
                   "spec": {"backupStorageLocation": "default", "maintenanceFrequency": "168h0m0s", "volumeNamespace": "app",
                            "resticIdentifier": "s3:s3.amazonaws.com/velero/restic/app"},
                   "status": {"phase": "NotReady", "message": "error running command=restic init"}}),
                ])),
            ),
        ],
    )
}

#[test]
fn velero_1_6_restic_era() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bundle, facts) = gather(&velero_1_6_restic_bundle(dir.path()));
    // No manifest: the latest timestamp in the objects.
    assert_eq!(facts.now.to_string(), "2021-06-01T00:31:00Z");
    // No manifest scope: the velero Deployment's namespace.
    assert_eq!(facts.velero_namespace.as_deref(), Some("velero"));

    let env = &facts.environment;
    assert_eq!(env.kubernetes_version.as_deref(), Some("v1.21.14+k3s1"));
    assert_eq!(
        env.velero.as_ref().unwrap().version.as_deref(),
        Some("1.6.3")
    );
    let agent = env.node_agent.as_ref().unwrap();
    assert_eq!(
        (agent.name.as_str(), agent.version.as_deref()),
        ("restic", Some("1.6.3"))
    );
    assert_eq!(
        agent.status.as_deref(),
        Some("3/3 ready (no pod status in the bundle)")
    );
    assert_eq!(
        env.velero.as_ref().unwrap().status.as_deref(),
        Some("1/1 ready (no pod status in the bundle)")
    );
    // Before 1.6's spec.default, the location named "default" is the default.
    let defaults: Vec<(&str, bool)> = env
        .storage_locations
        .iter()
        .map(|l| (l.name.as_str(), l.default))
        .collect();
    assert_eq!(defaults, vec![("default", true), ("archive", false)]);
    // Nothing to tell the install kind from.
    assert_eq!(env.install_kind, None);
    assert!(env.nodes.is_empty());
    assert!(env.kots.is_none());

    let c = &kind(&facts, "facts.cluster")[0];
    assert_eq!(c["nodeAgentKind"], json!("restic"));
    assert_eq!(c["resticRepositoriesPresent"], json!(true));
    assert_eq!(c["uploaderTypes"], json!(["restic"]));
    assert_eq!(facts.environment.uploaders, ["restic"]);
    assert_eq!(facts.environment.server_uploader_type, None);
    assert_eq!(c["fsBackupUsed"], json!(true));
    assert_eq!(c["veleroServerDefaultVolumesToFsBackup"], json!(true));
    assert_eq!(c["backupRepositoriesNotReady"], json!(1));
    assert_eq!(c["kubernetesVersion"], json!("1.21.14"));
    assert_eq!(c["kotsInstalled"], json!(false));
    assert_eq!(c["installKind"], Value::Null);
    assert_eq!(c["lastCompletedBackupAgeSeconds"], Value::Null);
    assert_eq!(
        facts.versions.get("kubernetes").map(String::as_str),
        Some("1.21.14")
    );
    assert_eq!(
        facts.versions.get("node-agent").map(String::as_str),
        Some("1.6.3")
    );
    assert_eq!(
        facts
            .versions
            .get("velero-plugin-for-aws")
            .map(String::as_str),
        Some("1.2.1")
    );

    // defaultVolumesToRestic: the PVC and the memory emptyDir are backed up; the excluded PVC is not,
    // and the excluded emptyDir is scratch space, no data.
    let volumes = kind(&facts, "facts.volumes");
    let summary: Vec<(&str, bool, bool)> = volumes
        .iter()
        .map(|v| {
            (
                v["volume"].as_str().unwrap(),
                v["defaultFsBackup"].as_bool().unwrap(),
                v["backedUp"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("state", true, true),
            ("tmp", true, true),
            ("logs", true, false)
        ]
    );
    assert_eq!(facts.volumes_not_backed_up.len(), 1);
    assert_eq!(
        facts.volumes_not_backed_up[0].reason,
        "excluded via the backup.velero.io/backup-volumes-excludes annotation"
    );
    assert_eq!(facts.backups[0].kots_backup_type.as_deref(), Some("none"));

    assert_eq!(facts.unavailable, vec![
        "node OS info: the bundle has no cluster/nodes.json (OS images, kernels and runtimes unknown)".to_string(),
        "backup logs: the bundle holds none (collected without DownloadRequest access, or a foreign bundle)".to_string(),
    ]);

    let timelines = snapdoc::analyze::timelines(&mut bundle, &facts.backups).unwrap();
    assert_eq!(timelines.len(), 1);
    let texts: Vec<&str> = timelines[0]
        .entries
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        texts,
        vec![
            "Backup daily-20210601 started",
            "PodVolumeBackup daily-20210601-abcde started for volume state of pod app/api-1 on node node-1",
            "PodVolumeBackup daily-20210601-abcde Failed after 1.0 MiB of 4.0 MiB: timed out waiting for all PodVolumeBackups to complete",
            "Backup daily-20210601 ended PartiallyFailed (1 error)",
        ]
    );
}

/// Velero 1.14 with the CSI data mover (v2alpha1 DataUploads) on EKS, an existing cluster.
fn velero_1_14_data_mover_bundle(dir: &Path) -> PathBuf {
    let image = "public.ecr.aws/example/velero/velero:v1.14.1@sha256:3c5b";
    let data_upload = |name: &str, pvc: &str, phase: &str, message: Option<&str>| {
        let mut status = json!({"phase": phase, "startTimestamp": "2026-11-25T05:00:10Z", "node": "ip-10-0-1-12",
                                "completionTimestamp": "2026-11-25T05:40:10Z"});
        if let Some(m) = message {
            status["message"] = json!(m);
        }
        json!({"apiVersion": "velero.io/v2alpha1", "kind": "DataUpload",
               "metadata": {"name": name, "namespace": "velero", "generateName": "daily-20261125-",
                            "labels": {"velero.io/async-operation-id": "du-1", "velero.io/backup-name": "daily-20261125",
                                       "velero.io/backup-uid": "uid-daily", "velero.io/pvc-uid": "pvc-uid"}},
               "spec": {"backupStorageLocation": "default", "csiSnapshot": {"snapshotClass": "ebs-vsc", "storageClass": "gp3",
                        "volumeSnapshot": format!("velero-{pvc}-abcde")}, "datamover": "velero", "operationTimeout": "10m0s",
                        "snapshotType": "CSI", "sourceNamespace": "shop", "sourcePVC": pvc},
               "status": status})
    };
    let mut noisy_log = String::new();
    for i in 0..400 {
        noisy_log += &log_line(
            "2026-11-25T05:01:00Z",
            "warning",
            &format!("slow item {i}"),
            "backup=velero/daily-20261125",
        );
    }
    for i in 0..300 {
        noisy_log += &log_line(
            "2026-11-25T05:02:00Z",
            "info",
            &format!("info {i}"),
            "backup=velero/daily-20261125",
        );
    }
    noisy_log += &log_line(
        "2026-11-25T05:40:11Z",
        "error",
        "data path failed",
        "backup=velero/daily-20261125 error=\"context deadline exceeded\"",
    );
    let pv = |name: &str, host_path: bool| {
        let mut spec = json!({"capacity": {"storage": "10Gi"}, "claimRef": {"namespace": "shop"}});
        if host_path {
            spec["hostPath"] = json!({"path": "/mnt/data"});
        } else {
            spec["csi"] = json!({"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc"});
        }
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec})
    };
    let pvc = |name: &str, volume: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "shop"}, "spec": {"volumeName": volume}, "status": {"phase": "Bound"}})
    };
    write_zip(
        dir,
        vec![
            (
                "cluster/version.json",
                Content::Json(json!({"gitVersion": "v1.30.4-eks-a737599"})),
            ),
            (
                "cluster/nodes.json",
                Content::Json(list(vec![node(
                    "ip-10-0-1-12",
                    true,
                    json!({"eks.amazonaws.com/nodegroup": "ng"}),
                )])),
            ),
            (
                "cluster/namespaces.json",
                Content::Json(list(
                    ["velero", "shop", "kube-system"]
                        .iter()
                        .map(|n| json!({"kind": "Namespace", "metadata": {"name": n}}))
                        .collect(),
                )),
            ),
            (
                "cluster-resources/deployments/velero.json",
                Content::Json(list(vec![deployment(
                    "velero",
                    "velero",
                    velero_pod_spec(
                        image,
                        &[(
                            "velero-plugin-for-aws",
                            "velero/velero-plugin-for-aws:v1.10.1",
                        )],
                        vec!["server", "--uploader-type=kopia"],
                    ),
                    1,
                    1,
                )])),
            ),
            (
                "cluster-resources/daemonsets/velero.json",
                Content::Json(list(vec![daemonset("velero", "node-agent", image, 1, 1)])),
            ),
            (
                "cluster-resources/pods/shop.json",
                Content::Json(list(vec![
                    pod(
                        "shop",
                        "orders-0",
                        json!({"containers": [{"name": "orders", "image": "orders:2"}],
                    "volumes": [{"name": "orders", "persistentVolumeClaim": {"claimName": "orders-0"}},
                                {"name": "local", "persistentVolumeClaim": {"claimName": "local-cache"}},
                                {"name": "node-data", "hostPath": {"path": "/srv", "type": "Directory"}},
                                {"name": "ephemeral-scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]}),
                        running(
                            vec![container_status("orders", "orders:2", true, 0, None)],
                            vec![],
                        ),
                        json!({}),
                        json!({"app": "orders"}),
                    ),
                    pod(
                        "shop",
                        "excluded-pod",
                        json!({"containers": [{"name": "x", "image": "x"}],
                    "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "v"}}]}),
                        running(vec![], vec![]),
                        json!({}),
                        json!({"velero.io/exclude-from-backup": "true"}),
                    ),
                ])),
            ),
            (
                "cluster-resources/persistentvolumeclaims/shop.json",
                Content::Json(list(vec![
                    pvc("orders-0", "pvc-111"),
                    pvc("local-cache", "pvc-222"),
                ])),
            ),
            (
                "cluster-resources/persistentvolumes/_cluster.json",
                Content::Json(list(vec![pv("pvc-111", false), pv("pvc-222", true)])),
            ),
            (
                "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
                Content::Json(list(vec![bsl(
                    "default",
                    "velero.io/aws",
                    "eks-backups",
                    Some("prod"),
                    Some(true),
                    "Available",
                    None,
                )])),
            ),
            (
                "cluster-resources/custom-resources/backups.velero.io/velero.json",
                Content::Json(list(vec![backup(BackupSpec {
                    name: "daily-20261125",
                    phase: "PartiallyFailed",
                    started: "2026-11-25T05:00:00Z",
                    completed: Some("2026-11-25T05:41:00Z"),
                    schedule: None,
                    extra_status: json!({"errors": 1, "csiVolumeSnapshotsAttempted": 2, "backupItemOperationsAttempted": 2,
                                     "backupItemOperationsFailed": 1}),
                    spec: json!({"includedNamespaces": ["shop"], "snapshotMoveData": true, "defaultVolumesToFsBackup": false}),
                    annotations: json!({}),
                })])),
            ),
            (
                "cluster-resources/custom-resources/datauploads.velero.io/velero.json",
                Content::Json(list(vec![
                    data_upload("daily-20261125-7hx2k", "orders-0", "Completed", None),
                    data_upload(
                        "daily-20261125-9mm4p",
                        "local-cache",
                        "Failed",
                        Some("data path for orders failed: context deadline exceeded"),
                    ),
                ])),
            ),
            (
                "velero/backups/daily-20261125/backup.log",
                Content::Text(noisy_log),
            ),
        ],
        vec![],
    )
}

#[test]
fn velero_1_14_data_mover_era() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bundle, facts) = gather(&velero_1_14_data_mover_bundle(dir.path()));
    let env = &facts.environment;
    assert_eq!(env.install_kind.as_deref(), Some("existing"));
    let velero = env.velero.as_ref().unwrap();
    // Tag and digest: the tag names the version.
    assert_eq!(velero.version.as_deref(), Some("1.14.1"));
    assert_eq!(
        facts.versions.get("kubernetes").map(String::as_str),
        Some("1.30.4")
    );
    assert_eq!(
        facts
            .versions
            .get("velero-plugin-for-aws")
            .map(String::as_str),
        Some("1.10.1")
    );

    let c = &kind(&facts, "facts.cluster")[0];
    assert_eq!(c["storageProviders"], json!(["aws"]));
    assert_eq!(c["uploaderTypes"], json!(["kopia"]));
    assert_eq!(c["fsBackupUsed"], json!(false));
    assert_eq!(c["dataUploadCount"], json!(2));
    assert_eq!(c["resticRepositoriesPresent"], json!(false));

    let volumes = kind(&facts, "facts.volumes");
    let summary: Vec<(&str, &str, Option<&str>)> = volumes
        .iter()
        .map(|v| {
            (
                v["volume"].as_str().unwrap(),
                v["type"].as_str().unwrap(),
                v["method"].as_str(),
            )
        })
        .collect();
    // Snapshots cover CSI-backed PVCs; a hostPath PV and a hostPath volume cannot be snapshotted.
    assert_eq!(
        summary,
        vec![
            ("orders", "persistentVolumeClaim", Some("snapshot")),
            ("local", "persistentVolumeClaim", None),
            ("node-data", "hostPath", None),
            ("ephemeral-scratch", "ephemeral", Some("snapshot")),
            ("v", "persistentVolumeClaim", None),
        ]
    );
    assert_eq!(
        find(volumes, "volume", "ephemeral-scratch")["claimName"],
        json!("orders-0-ephemeral-scratch")
    );
    let excluded = find(volumes, "pod", "excluded-pod");
    assert_eq!(excluded["excluded"], json!(true));
    assert_eq!(
        excluded["reason"],
        json!("the pod is labelled velero.io/exclude-from-backup=true")
    );
    assert!(
        find(volumes, "volume", "node-data")["reason"]
            .as_str()
            .unwrap()
            .contains("hostPath")
    );

    let timelines = snapdoc::analyze::timelines(&mut bundle, &facts.backups).unwrap();
    let entries = &timelines[0].entries;
    assert_eq!(entries.len(), snapdoc::analyze::MAX_TIMELINE_ENTRIES);
    let note = entries.last().unwrap();
    assert_eq!(note.source, "snapdoc");
    // 1 start + 1 end + 2×2 DataUpload + 400 warnings + 1 error + first/last lines (first is a warning, last
    // the error): 407 seen, 199 kept.
    assert!(
        note.text.starts_with("208 more entries not shown"),
        "{}",
        note.text
    );
    let key: Vec<&str> = entries
        .iter()
        .filter(|e| e.source == "dataupload")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(key.len(), 4);
    assert!(key.iter().any(
        |t| t.contains("DataUpload daily-20261125-9mm4p Failed after 1048576")
            || t.contains("DataUpload daily-20261125-9mm4p Failed")
    ));
    assert!(key.iter().any(|t| t.starts_with(
        "DataUpload daily-20261125-7hx2k started for PVC shop/orders-0 on node ip-10-0-1-12"
    )));
    assert!(
        entries
            .iter()
            .any(|e| e.text == "error: data path failed: context deadline exceeded")
    );
    // Sorted by time, the note last.
    let times: Vec<&str> = entries[..entries.len() - 1]
        .iter()
        .map(|e| e.time.as_deref().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // Warnings kept from both ends.
    assert!(entries.iter().any(|e| e.text == "warning: slow item 0"));
    assert!(entries.iter().any(|e| e.text == "warning: slow item 399"));
}

#[test]
fn embedded_cluster_is_told_by_its_config_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_zip(
        dir.path(),
        vec![
            (
                "cluster/namespaces.json",
                Content::Json(list(vec![json!({"metadata": {"name": "kotsadm"}})])),
            ),
            (
                "cluster-resources/configmaps/embedded-cluster.json",
                Content::Json(list(vec![
                    json!({"kind": "ConfigMap", "metadata": {"name": "embedded-cluster-config", "namespace": "embedded-cluster"}}),
                ])),
            ),
            (
                "cluster/nodes.json",
                Content::Json(list(vec![
                    kubelet(node("ec-1", true, json!({})), "v1.29.5+k0s"),
                    kubelet(node("ec-2", true, json!({})), "v1.28.9+k0s"),
                ])),
            ),
            (
                "cluster-resources/deployments/kotsadm.json",
                Content::Json(list(vec![])),
            ),
        ],
        vec![],
    );
    let (_, facts) = gather(&path);
    assert_eq!(
        facts.environment.install_kind.as_deref(),
        Some("embedded-cluster")
    );
    let c = &kind(&facts, "facts.cluster")[0];
    // Deployments were listed but no CRD list is in the bundle: "not installed" is not proved, so unknown
    // (facts/presence.rs); DaemonSets and pods were not listed: unknown.
    assert_eq!(c["veleroInstalled"], Value::Null);
    assert_eq!(c["nodeAgentInstalled"], Value::Null);
    // No backups list in the bundle: unknown, not zero.
    assert_eq!(c["backupCount"], Value::Null);
    assert_eq!(c["completedBackupCount"], Value::Null);
    // No API server version: the lowest kubelet's.
    assert_eq!(c["kubernetesVersion"], json!("1.28.9"));
    assert_eq!(
        facts.versions.get("kubernetes").map(String::as_str),
        Some("1.28.9")
    );
    assert!(kind(&facts, "facts.volumes").is_empty());
    assert!(
        facts
            .unavailable
            .iter()
            .any(|u| u.starts_with("Kubernetes version"))
    );
    assert!(
        facts
            .unavailable
            .iter()
            .any(|u| u.starts_with("pod status"))
    );
    assert!(facts.unavailable.iter().any(|u| u.starts_with("backups:")));
}

#[test]
fn wrong_typed_fields_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let garbage_backup = json!({"apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": "weird", "namespace": "velero", "labels": ["not", "a", "map"], "annotations": "x",
                     "creationTimestamp": 12},
        "spec": {"includedNamespaces": "app", "defaultVolumesToFsBackup": "yes", "labelSelector": {"matchLabels": {"a": 1}},
                 "storageLocation": 7},
        "status": {"phase": 5, "errors": "two", "warnings": -1.5, "startTimestamp": "yesterday", "validationErrors": [1, null, "real error"],
                   "failureReason": {"nested": true}, "completionTimestamp": ["2026-01-01T00:00:00Z"]}});
    let path = write_zip(dir.path(), vec![
        ("cluster/version.json", Content::Json(json!({"gitVersion": 1.27}))),
        ("cluster/nodes.json", Content::Json(json!({"kind": "List", "items": [
            "not an object", {"metadata": {"name": "n1", "labels": null}, "status": {"nodeInfo": "x", "conditions": {"type": "Ready"}}},
            {"metadata": {"name": 5}}
        ]}))),
        ("cluster-resources/pods/app.json", Content::Json(list(vec![
            json!({"metadata": {"name": "p", "namespace": "app", "annotations": {"backup.velero.io/backup-volumes": 3}},
                   "spec": {"containers": [{"name": "velero", "image": 5, "args": "server", "resources": {"limits": {"memory": 512}}}],
                            "volumes": [{"name": "v"}, "x", {"name": 3, "emptyDir": {}}, {"name": "d", "persistentVolumeClaim": "c"}]},
                   "status": {"containerStatuses": [{"name": "velero", "restartCount": "many", "lastState": {"terminated": "yes"}}],
                              "conditions": "Ready"}}),
            json!({"metadata": {"name": "q", "namespace": "app"}, "spec": null, "status": null}),
        ]))),
        ("cluster-resources/deployments/velero.json", Content::Json(list(vec![
            json!({"metadata": {"name": "velero", "namespace": "velero"}, "spec": {"template": {"spec": {"containers": {"name": "velero"}}}}}),
            json!({"metadata": {"name": "velero2", "namespace": "velero"}, "spec": {"template": {"spec": {
                "containers": [{"name": "velero", "image": "velero/velero@sha256:abc", "args": [1, "--features", 2]}],
                "initContainers": [{"image": "no-name"}, {"name": "p", "image": ""}]}}},
                "status": {"replicas": "1"}}),
        ]))),
        ("cluster-resources/custom-resources/serverstatusrequests.velero.io/velero.json", Content::Json(list(vec![
            json!({"metadata": {"name": "velero-cli-old"}, "status": {"phase": "Processed", "processedTimestamp": "2026-01-01T00:00:00Z", "serverVersion": "v1.12.0"}}),
            json!({"metadata": {"name": "velero-cli-new"}, "status": {"phase": "Processed", "processedTimestamp": "2026-02-01T00:00:00Z", "serverVersion": "v1.13.2"}}),
            json!({"metadata": {"name": "garbage"}, "status": {"serverVersion": ["v9"]}}),
        ]))),
        ("cluster-resources/custom-resources/schedules.velero.io/velero.json", Content::Json(list(vec![
            json!({"metadata": {"name": "s"}, "spec": {"schedule": 5, "paused": "no", "template": "x"}, "status": {"lastBackup": 3}}),
        ]))),
        ("cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json", Content::Json(list(vec![
            json!({"metadata": {"name": "default"}, "spec": {"provider": ["aws"], "objectStorage": "bucket", "default": "true"}, "status": []}),
        ]))),
        ("cluster-resources/custom-resources/backups.velero.io/velero.json", Content::Json(list(vec![garbage_backup]))),
        ("cluster-resources/custom-resources/restores.velero.io/velero.json", Content::Json(json!({"kind": "List", "items": "nope"}))),
        ("cluster-resources/custom-resources/podvolumebackups.velero.io/velero.json", Content::Json(list(vec![
            json!({"metadata": {"name": "x", "labels": {"velero.io/backup-name": "weird"}}, "spec": {"uploaderType": 3}, "status": {"phase": []}})]))),
        ("cluster-resources/events/velero.json", Content::Json(list(vec![json!({"involvedObject": "Backup"}), json!(null)]))),
        ("velero/backups/weird/backup.log", Content::Text("\u{0}\u{ff}garbage level=error msg=\"unterminated\n\n{\"level\": 5}\nlevel=error\n".into())),
    ], vec![]);
    let (mut bundle, facts) = gather(&path);
    assert_eq!(facts.environment.kubernetes_version, None);
    assert_eq!(facts.environment.nodes.len(), 1);
    assert_eq!(facts.environment.nodes[0].os_image, None);
    let velero = facts.environment.velero.as_ref().unwrap();
    // The image is pinned by digest only; the server's own answer names the version.
    assert_eq!(velero.version.as_deref(), Some("1.13.2"));
    assert_eq!(facts.backups.len(), 1);
    let weird = &facts.backups[0];
    assert_eq!(
        (
            weird.phase.as_deref(),
            weird.errors,
            weird.started.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(weird.failure_reason.as_deref(), Some("real error"));
    assert!(
        facts
            .unavailable
            .iter()
            .any(|u| u.starts_with("unreadable: restores.velero.io:")),
        "{:?}",
        facts.unavailable
    );
    let c = &kind(&facts, "facts.cluster")[0];
    assert_eq!(c["veleroImageDigestOnly"], json!(true));
    let schedules = kind(&facts, "facts.schedules");
    assert_eq!(schedules[0]["periodSeconds"], Value::Null);
    assert_eq!(schedules[0]["parseError"], json!("no spec.schedule"));
    // Nothing failed by phase, so no verdicts and no timelines, but the log is still safe to read.
    assert!(snapdoc::analyze::verdicts(&[], &facts.backups).is_empty());
    let mut failed = facts.backups.clone();
    failed[0].phase = Some("Failed".into());
    let timelines = snapdoc::analyze::timelines(&mut bundle, &failed).unwrap();
    assert_eq!(timelines.len(), 1);
    assert!(
        timelines[0]
            .entries
            .iter()
            .any(|e| e.source == "backup-log" && e.location.ends_with(":1"))
    );
}

fn finding(
    id: &str,
    severity: Severity,
    match_kind: &str,
    count: u64,
    related: Vec<ObjectRef>,
) -> Finding {
    Finding {
        rule_id: id.into(),
        rule_name: format!("rule-{id}"),
        match_kind: match_kind.into(),
        severity,
        role: Default::default(),
        category: "storage-location".into(),
        title: format!("title {id}"),
        message: format!("message {id}"),
        cause: String::new(),
        fix: format!("fix {id}"),
        docs: vec![],
        evidence: vec![],
        count,
        first_seen: None,
        last_seen: None,
        related,
        targets: vec![],
    }
}

fn summary(kind: &str, name: &str, phase: &str) -> BackupSummary {
    BackupSummary {
        kind: kind.into(),
        name: name.into(),
        namespace: Some("velero".into()),
        phase: Some(phase.into()),
        ..BackupSummary::default()
    }
}

fn backup_ref(kind: &str, name: &str, namespace: Option<&str>) -> ObjectRef {
    ObjectRef {
        kind: kind.into(),
        namespace: namespace.map(str::to_string),
        name: name.into(),
    }
}

#[test]
fn verdicts_pick_the_most_specific_finding() {
    let b1 = backup_ref("backups.velero.io", "b1", Some("velero"));
    let findings = vec![
        finding("SD300", Severity::Warn, "log", 50, vec![b1.clone()]),
        finding("SD200", Severity::Fail, "compat", 1, vec![b1.clone()]),
        finding("SD101", Severity::Fail, "object", 1, vec![b1.clone()]),
        finding(
            "SD102",
            Severity::Fail,
            "log",
            2,
            vec![backup_ref("Backup", "b1", None)],
        ),
        finding("SD103", Severity::Fail, "log", 9, vec![b1.clone()]),
        // Another namespace's b1, and a restore named b1: not about this backup.
        finding(
            "SD104",
            Severity::Fail,
            "log",
            99,
            vec![backup_ref("backups.velero.io", "b1", Some("other"))],
        ),
        finding(
            "SD105",
            Severity::Fail,
            "log",
            99,
            vec![backup_ref("restores.velero.io", "b1", Some("velero"))],
        ),
        finding("SD106", Severity::Fail, "log", 99, vec![]),
    ];
    let backups = vec![
        summary("backup", "b1", "PartiallyFailed"),
        summary("backup", "ok", "Completed"),
    ];
    let verdicts = snapdoc::analyze::verdicts(&findings, &backups);
    assert_eq!(verdicts.len(), 1);
    let v = &verdicts[0];
    assert_eq!(v.target, b1);
    assert_eq!(v.phase, "PartiallyFailed");
    assert_eq!(
        v.finding_ids,
        vec!["SD103", "SD102", "SD101", "SD200", "SD300"]
    );
    assert_eq!(v.summary, "message SD103");
    assert_eq!(v.fix.as_deref(), Some("fix SD103"));
}

#[test]
fn verdicts_fall_back_to_the_objects_own_account() {
    let mut failed = summary("backup", "f", "Failed");
    failed.failure_reason =
        Some("get a backup store: backup storage location \"default\" is unavailable".into());
    let mut invalid = summary("backup", "v", "FailedValidation");
    invalid.failure_reason = Some("invalid included namespace".into());
    let mut partial = summary("restore", "r", "PartiallyFailed");
    partial.errors = Some(3);
    partial.warnings = Some(1);
    partial.log_available = true;
    let silent = summary("backup", "s", "Failed");
    let verdicts = snapdoc::analyze::verdicts(&[], &[failed, invalid, partial, silent]);
    let summaries: Vec<&str> = verdicts.iter().map(|v| v.summary.as_str()).collect();
    assert_eq!(
        summaries,
        vec![
            "Backup f failed: get a backup store: backup storage location \"default\" is unavailable.",
            "Backup v failed validation: invalid included namespace.",
            "Restore r is PartiallyFailed with 3 errors and 1 warning; no rule matched them (its log is in the bundle).",
            "Backup s failed and Velero recorded no reason; no rule matched (its log is not in the bundle).",
        ]
    );
    assert!(
        verdicts
            .iter()
            .all(|v| v.finding_ids.is_empty() && v.fix.is_none())
    );
    assert_eq!(verdicts[2].target.kind, "restores.velero.io");
}

#[test]
fn verdicts_cover_the_ten_most_recent_failures() {
    let backups: Vec<BackupSummary> = (0..15)
        .map(|i| {
            summary(
                "backup",
                &format!("b{i:02}"),
                if i % 5 == 4 { "Completed" } else { "Failed" },
            )
        })
        .collect();
    let verdicts = snapdoc::analyze::verdicts(&[], &backups);
    let names: Vec<&str> = verdicts.iter().map(|v| v.target.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "b00", "b01", "b02", "b03", "b05", "b06", "b07", "b08", "b10", "b11"
        ]
    );
}

/// Replaces every `stride`-th node (in document order, from `offset`) with a value of another type.
fn mutate(value: &mut Value, counter: &mut usize, stride: usize, offset: usize) {
    *counter += 1;
    if *counter % stride == offset {
        let replacements = [
            json!(null),
            json!(7),
            json!("x"),
            json!([]),
            json!({}),
            json!(-1.5),
            json!(true),
        ];
        *value = replacements[(*counter / stride) % replacements.len()].clone();
        return;
    }
    match value {
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| mutate(v, counter, stride, offset)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| mutate(v, counter, stride, offset)),
        _ => {}
    }
}

#[test]
fn every_field_of_a_real_bundle_may_have_the_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let source = kots_kurl_bundle(dir.path());
    let mut original = Bundle::open(&source).unwrap();
    let entries: Vec<String> = original.entries().to_vec();
    let stride = 7;
    for offset in 0..stride {
        let root = dir.path().join(format!("mutated-{offset}"));
        for entry in &entries {
            let path = root.join(entry);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            if entry.ends_with(".json") && entry != "manifest.json" {
                let mut value = original.read_json(entry).unwrap().unwrap();
                // Keep the List wrapper so the objects are read; mutate inside it.
                let mut counter = 0;
                match value.get_mut("items") {
                    Some(items) => mutate(items, &mut counter, stride, offset),
                    None => mutate(&mut value, &mut counter, stride, offset),
                }
                std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
            } else {
                let mut reader = original.open_entry(entry).unwrap();
                let mut file = std::fs::File::create(&path).unwrap();
                std::io::copy(&mut reader, &mut file).unwrap();
            }
        }
        let mut bundle = Bundle::open(&root).unwrap();
        let facts = snapdoc::analyze::gather_facts(&mut bundle).unwrap();
        assert_eq!(kind(&facts, "facts.cluster").len(), 1);
        let mut backups = facts.backups.clone();
        for b in &mut backups {
            b.phase = Some("Failed".into());
        }
        let verdicts = snapdoc::analyze::verdicts(&[], &backups);
        assert_eq!(
            verdicts.len(),
            backups.len().min(snapdoc::analyze::MAX_VERDICTS)
        );
        let timelines = snapdoc::analyze::timelines(&mut bundle, &backups).unwrap();
        assert!(
            timelines
                .iter()
                .all(|t| t.entries.len() <= snapdoc::analyze::MAX_TIMELINE_ENTRIES)
        );
    }
}
