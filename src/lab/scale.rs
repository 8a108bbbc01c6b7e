//! A scale scenario for benchmarks: a cluster with thousands of Velero backups, tens of thousands of
//! PodVolumeBackups, hundreds of pods and gigabytes of Velero server / node-agent logs in which a few error
//! signatures hide among millions of ordinary lines (`snapdoc lab scale`, scripts/bench, BENCHMARKS.md).
//!
//! The scenario folder is written as it is generated, a log line at a time, so memory stays small whatever
//! the size; the lab streams its large logs from disk (src/lab/stream.rs). Objects go to JSON List files
//! (objects/*.json), which load much faster than YAML. There is no `referenceTime`: timestamps are written
//! relative to the moment of generation and served unshifted, so the lab streams logs untouched.
//!
//! Content is deterministic for a given spec, seed and generation time. `planted.json` lists every signature
//! line planted (file, line number, text) so a benchmark can check that a scan found them all.
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::error::LabError;

pub(crate) const VELERO_NAMESPACE: &str = "velero";
const VELERO_VERSION: &str = "v1.12.3";
const BUCKET: &str = "acme-prod-snapshots";
const REGION: &str = "us-east-2";
const APP_NAMESPACES: usize = 10;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSpec {
    /// Backups in the cluster, spread over schedules and phases.
    pub backups: usize,
    /// PodVolumeBackups, spread over the backups.
    pub pod_volume_backups: usize,
    /// Every pod of the cluster: the velero server, one node-agent per node, the rest application pods.
    pub pods: usize,
    /// Nodes, each with a node-agent pod.
    pub nodes: usize,
    /// Velero server and node-agent container logs, in all.
    pub log_bytes: u64,
    /// Backups (the newest) whose log and results are in the object store.
    pub backup_logs: usize,
    /// Size of each backup log.
    pub backup_log_bytes: u64,
    /// Seed of the generator: the same spec and seed give the same files.
    pub seed: u64,
}

impl Default for ScaleSpec {
    /// The figures of the benchmark issue: 5,000 backups, 20,000 PodVolumeBackups, 200 pods, 1 GiB of
    /// logs, 200 backup logs.
    fn default() -> Self {
        ScaleSpec {
            backups: 5_000,
            pod_volume_backups: 20_000,
            pods: 200,
            nodes: 20,
            log_bytes: 1 << 30,
            backup_logs: 200,
            backup_log_bytes: 256 << 10,
            seed: 7,
        }
    }
}

/// A signature line planted in a log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planted {
    /// Path under the scenario folder.
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub text: String,
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScaleSummary {
    pub objects: usize,
    pub log_files: usize,
    pub log_bytes: u64,
    pub log_lines: u64,
    pub store_files: usize,
    pub store_bytes: u64,
    pub planted: Vec<Planted>,
}

/// Parses a size: `1073741824`, `64MiB`, `1GiB`, `512KiB` (also KB/MB/GB, decimal).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("size {text:?}: expected a number and a unit, e.g. 256MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "size {text:?}: unknown unit {other:?} (B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

/// xorshift64*: deterministic names and numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Kubernetes' generated-name suffix alphabet (no vowels, no confusable digits).
    fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    /// A sha256 digest's 64 hex digits (image and container ids).
    fn digest(&mut self) -> String {
        (0..4).map(|_| format!("{:016x}", self.next())).collect()
    }

    fn uid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    fn hex(&mut self, len: usize) -> String {
        let mut text = String::new();
        while text.len() < len {
            text.push_str(&format!("{:016x}", self.next()));
        }
        text.truncate(len);
        text
    }
}

fn rfc3339(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A pod of the cluster, as far as logs and volumes need it.
struct PodInfo {
    name: String,
    namespace: String,
    uid: String,
    node: String,
}

/// Writes the scale scenario into `dir` (created; must be empty or absent).
pub fn generate(spec: &ScaleSpec, dir: &Path, now: Timestamp) -> Result<ScaleSummary, LabError> {
    if spec.nodes == 0 || spec.pods < spec.nodes + 2 {
        return Err(LabError::scenario(
            dir.display().to_string(),
            0,
            format!(
                "a scale scenario needs at least one node and pods for the velero server, one node-agent per node and one application ({} pods, {} nodes)",
                spec.pods, spec.nodes
            ),
        ));
    }
    if dir.exists() && fs::read_dir(dir).map_err(io_error(dir))?.next().is_some() {
        return Err(LabError::scenario(
            dir.display().to_string(),
            0,
            "the scale scenario folder must be empty or not exist yet",
        ));
    }
    fs::create_dir_all(dir.join("objects")).map_err(io_error(dir))?;
    let mut generator = Generator {
        spec: spec.clone(),
        dir: dir.to_path_buf(),
        now,
        rng: Rng::new(spec.seed),
        summary: ScaleSummary {
            objects: 0,
            log_files: 0,
            log_bytes: 0,
            log_lines: 0,
            store_files: 0,
            store_bytes: 0,
            planted: Vec::new(),
        },
    };
    generator.run()?;
    let planted = serde_json::to_string_pretty(&generator.summary)
        .map_err(|error| LabError::scenario("planted.json", 0, error.to_string()))?;
    let planted_path = dir.join("planted.json");
    fs::write(&planted_path, planted).map_err(io_error(&planted_path))?;
    Ok(generator.summary)
}

struct Generator {
    spec: ScaleSpec,
    dir: PathBuf,
    now: Timestamp,
    rng: Rng,
    summary: ScaleSummary,
}

/// A backup's place in the generated history.
struct BackupInfo {
    name: String,
    uid: String,
    created: Timestamp,
    phase: &'static str,
    /// Indexes into the application pods of its pod volume backups.
    volumes: Vec<usize>,
}

impl Generator {
    fn run(&mut self) -> Result<(), LabError> {
        fs::write(
            self.dir.join("scenario.yaml"),
            format!(
                "description: \"Scale benchmark: {} backups, {} pod volume backups, {} pods on {} nodes, {} bytes of Velero {} server and node-agent logs, {} backup logs (generated by snapdoc lab scale)\"\nkubernetes: {{major: \"1\", minor: \"29\", gitVersion: v1.29.4}}\n",
                self.spec.backups,
                self.spec.pod_volume_backups,
                self.spec.pods,
                self.spec.nodes,
                self.spec.log_bytes,
                VELERO_VERSION,
                self.spec.backup_logs,
            ),
        )
        .map_err(io_error(&self.dir))?;
        let nodes: Vec<String> = (0..self.spec.nodes)
            .map(|i| {
                format!(
                    "ip-10-0-{}-{}.{REGION}.compute.internal",
                    i / 250,
                    i % 250 + 4
                )
            })
            .collect();
        let node_objects = self.nodes(&nodes);
        self.write_list("00-nodes.json", "NodeList", "v1", node_objects)?;

        let (velero_objects, velero_pod, node_agents) = self.velero(&nodes);
        self.write_list("10-velero.json", "List", "v1", velero_objects)?;

        let app_count = self.spec.pods - 1 - self.spec.nodes;
        let (app_objects, apps) = self.applications(app_count, &nodes);
        self.write_list("20-applications.json", "List", "v1", app_objects)?;

        let backups = self.backup_history(apps.len());
        let backup_objects: Vec<Value> = backups
            .iter()
            .map(|backup| self.backup_object(backup))
            .collect();
        self.write_list(
            "30-backups.json",
            "BackupList",
            "velero.io/v1",
            backup_objects,
        )?;
        let pvbs: Vec<Value> = backups
            .iter()
            .flat_map(|backup| {
                backup
                    .volumes
                    .iter()
                    .enumerate()
                    .map(move |(index, &app)| (backup, index, app))
            })
            .map(|(backup, index, app)| self.pod_volume_backup(backup, index, &apps[app]))
            .collect();
        self.write_list(
            "40-podvolumebackups.json",
            "PodVolumeBackupList",
            "velero.io/v1",
            pvbs,
        )?;

        self.container_logs(&velero_pod, &node_agents, &backups)?;
        for backup in backups.iter().take(self.spec.backup_logs) {
            self.store_files(backup, &apps)?;
        }
        Ok(())
    }

    fn write_list(
        &mut self,
        file: &str,
        kind: &str,
        api_version: &str,
        items: Vec<Value>,
    ) -> Result<(), LabError> {
        self.summary.objects += items.len();
        let path = self.dir.join("objects").join(file);
        let list = json!({"apiVersion": api_version, "kind": kind, "metadata": {}, "items": items});
        let out = File::create(&path).map_err(io_error(&path))?;
        let mut out = BufWriter::new(out);
        serde_json::to_writer(&mut out, &list).map_err(|error| {
            LabError::scenario(path.display().to_string(), 0, error.to_string())
        })?;
        out.flush().map_err(io_error(&path))
    }

    fn nodes(&mut self, names: &[String]) -> Vec<Value> {
        let created = rfc3339(self.now - SignedDuration::from_hours(24 * 400));
        names
            .iter()
            .map(|name| {
                json!({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "uid": self.rng.uid(), "creationTimestamp": created,
                        "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                   "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "m5.2xlarge",
                                   "topology.kubernetes.io/region": REGION}},
                    "spec": {"providerID": format!("aws:///{REGION}a/i-0{}", self.rng.hex(16))},
                    "status": {
                        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                        "message": "kubelet is posting ready status",
                                        "lastHeartbeatTime": rfc3339(self.now), "lastTransitionTime": created}],
                        "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.13",
                                     "kernelVersion": "5.15.0-1056-aws", "kubeProxyVersion": "v1.29.4",
                                     "kubeletVersion": "v1.29.4", "operatingSystem": "linux",
                                     "osImage": "Ubuntu 22.04.4 LTS"},
                        "capacity": {"cpu": "8", "memory": "32386544Ki", "pods": "110"},
                        "allocatable": {"cpu": "7910m", "memory": "31371760Ki", "pods": "110"}
                    }
                })
            })
            .collect()
    }

    /// The Velero install: namespace, deployment, server pod (restarted once), node-agent daemonset and pods,
    /// storage location, repositories, schedule. Returns (objects, velero pod, node-agent pods).
    fn velero(&mut self, nodes: &[String]) -> (Vec<Value>, PodInfo, Vec<PodInfo>) {
        let installed = rfc3339(self.now - SignedDuration::from_hours(24 * 300));
        let started = self.now - SignedDuration::from_hours(48);
        let hash = self.rng.suffix(10);
        let deployment_uid = self.rng.uid();
        let server_container = json!({
            "name": "velero", "image": format!("velero/velero:{VELERO_VERSION}"),
            "command": ["/velero"], "args": ["server", "--features=", "--uploader-type=restic"],
            "ports": [{"containerPort": 8085, "name": "metrics", "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}},
            "env": [{"name": "VELERO_SCRATCH_DIR", "value": "/scratch"},
                    {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/credentials/cloud"}],
            "volumeMounts": [{"mountPath": "/plugins", "name": "plugins"},
                             {"mountPath": "/credentials", "name": "cloud-credentials"},
                             {"mountPath": "/scratch", "name": "scratch"}]
        });
        let plugin = json!({"name": "velero-velero-plugin-for-aws", "image": "velero/velero-plugin-for-aws:v1.8.2",
                            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}]});
        let volumes = json!([{"name": "plugins", "emptyDir": {}},
                             {"name": "cloud-credentials", "secret": {"secretName": "cloud-credentials", "defaultMode": 420}},
                             {"name": "scratch", "emptyDir": {}}]);
        let mut objects = vec![
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": VELERO_NAMESPACE, "uid": self.rng.uid(), "creationTimestamp": installed,
                                "labels": {"kubernetes.io/metadata.name": VELERO_NAMESPACE}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "velero", "namespace": VELERO_NAMESPACE, "uid": deployment_uid,
                                "creationTimestamp": installed, "generation": 1, "labels": {"component": "velero"}},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"deploy": "velero"}},
                            "template": {"metadata": {"labels": {"component": "velero", "deploy": "velero"}},
                                         "spec": {"containers": [server_container.clone()], "initContainers": [plugin.clone()],
                                                  "serviceAccountName": "velero", "volumes": volumes.clone()}}},
                   "status": {"availableReplicas": 1, "readyReplicas": 1, "replicas": 1, "updatedReplicas": 1,
                              "observedGeneration": 1}}),
        ];
        let velero_pod = PodInfo {
            name: format!("velero-{hash}-{}", self.rng.suffix(5)),
            namespace: VELERO_NAMESPACE.to_string(),
            uid: self.rng.uid(),
            node: nodes[0].clone(),
        };
        objects.push(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": velero_pod.name, "namespace": VELERO_NAMESPACE, "uid": velero_pod.uid,
                         "creationTimestamp": installed,
                         "labels": {"component": "velero", "deploy": "velero", "pod-template-hash": hash},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("velero-{hash}"),
                                              "uid": self.rng.uid(), "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"containers": [server_container], "initContainers": [plugin], "nodeName": velero_pod.node,
                     "serviceAccountName": "velero", "volumes": volumes, "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIP": "10.244.0.12", "startTime": installed,
                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(started)}],
                       "containerStatuses": [{"name": "velero", "ready": true, "started": true, "restartCount": 1,
                           "image": format!("docker.io/velero/velero:{VELERO_VERSION}"),
                           "state": {"running": {"startedAt": rfc3339(started)}},
                           "lastState": {"terminated": {"exitCode": 2, "reason": "Error",
                               "startedAt": rfc3339(started - SignedDuration::from_hours(48)),
                               "finishedAt": rfc3339(started - SignedDuration::from_secs(5))}}}]}
        }));

        let agent_container = json!({
            "name": "node-agent", "image": format!("velero/velero:{VELERO_VERSION}"),
            "command": ["/velero"], "args": ["node-agent", "server"],
            "volumeMounts": [{"mountPath": "/host_pods", "mountPropagation": "HostToContainer", "name": "host-pods"},
                             {"mountPath": "/scratch", "name": "scratch"}]
        });
        let agent_volumes = json!([{"name": "host-pods", "hostPath": {"path": "/var/lib/kubelet/pods", "type": ""}},
                                   {"name": "scratch", "emptyDir": {}}]);
        let daemonset_uid = self.rng.uid();
        objects.push(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "node-agent", "namespace": VELERO_NAMESPACE, "uid": daemonset_uid,
                         "creationTimestamp": installed, "generation": 1, "labels": {"component": "velero"}},
            "spec": {"selector": {"matchLabels": {"name": "node-agent"}},
                     "template": {"metadata": {"labels": {"component": "velero", "name": "node-agent", "role": "node-agent"}},
                                  "spec": {"containers": [agent_container.clone()], "serviceAccountName": "velero",
                                           "volumes": agent_volumes.clone()}}},
            "status": {"currentNumberScheduled": nodes.len(), "desiredNumberScheduled": nodes.len(),
                       "numberAvailable": nodes.len(), "numberReady": nodes.len(), "numberMisscheduled": 0,
                       "observedGeneration": 1, "updatedNumberScheduled": nodes.len()}
        }));
        let mut node_agents = Vec::new();
        for node in nodes {
            let pod = PodInfo {
                name: format!("node-agent-{}", self.rng.suffix(5)),
                namespace: VELERO_NAMESPACE.to_string(),
                uid: self.rng.uid(),
                node: node.clone(),
            };
            objects.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod.name, "namespace": VELERO_NAMESPACE, "uid": pod.uid, "creationTimestamp": installed,
                             "labels": {"component": "velero", "name": "node-agent", "role": "node-agent"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-agent",
                                                  "uid": daemonset_uid, "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"containers": [agent_container.clone()], "nodeName": node, "serviceAccountName": "velero",
                         "volumes": agent_volumes.clone()},
                "status": {"phase": "Running", "startTime": installed,
                           "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": installed}],
                           "containerStatuses": [{"name": "node-agent", "ready": true, "started": true, "restartCount": 0,
                               "image": format!("docker.io/velero/velero:{VELERO_VERSION}"),
                               "state": {"running": {"startedAt": installed}}}]}
            }));
            node_agents.push(pod);
        }
        // The credentials the server mounts; the collector records only its key names.
        objects.push(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "cloud-credentials", "namespace": VELERO_NAMESPACE, "uid": self.rng.uid(),
                         "creationTimestamp": installed},
            "data": {"cloud": "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lkID0gQUtJQUlPU0ZPRE5ON0VYQU1QTEUK"}
        }));
        objects.push(json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": "default", "namespace": VELERO_NAMESPACE, "uid": self.rng.uid(),
                         "creationTimestamp": installed, "generation": 1, "labels": {"component": "velero"}},
            "spec": {"provider": "aws", "default": true, "config": {"region": REGION},
                     "objectStorage": {"bucket": BUCKET, "prefix": "velero"}},
            "status": {"phase": "Available", "lastSyncedTime": rfc3339(self.now - SignedDuration::from_secs(20)),
                       "lastValidationTime": rfc3339(self.now - SignedDuration::from_secs(40))}
        }));
        for index in 0..APP_NAMESPACES {
            let namespace = format!("app-{index}");
            objects.push(json!({
                "apiVersion": "velero.io/v1", "kind": "BackupRepository",
                "metadata": {"name": format!("{namespace}-default-restic-{}", self.rng.suffix(5)),
                             "namespace": VELERO_NAMESPACE, "uid": self.rng.uid(), "creationTimestamp": installed,
                             "generateName": format!("{namespace}-default-restic-"),
                             "labels": {"velero.io/repository-type": "restic", "velero.io/storage-location": "default",
                                        "velero.io/volume-namespace": namespace}},
                "spec": {"backupStorageLocation": "default", "maintenanceFrequency": "168h0m0s",
                         "repositoryType": "restic", "volumeNamespace": namespace,
                         "resticIdentifier": format!("s3:s3-{REGION}.amazonaws.com/{BUCKET}/velero/restic/{namespace}")},
                "status": {"phase": "Ready", "lastMaintenanceTime": rfc3339(self.now - SignedDuration::from_hours(30))}
            }));
        }
        let namespaces: Vec<String> = (0..APP_NAMESPACES).map(|i| format!("app-{i}")).collect();
        objects.push(json!({
            "apiVersion": "velero.io/v1", "kind": "Schedule",
            "metadata": {"name": "hourly", "namespace": VELERO_NAMESPACE, "uid": self.rng.uid(),
                         "creationTimestamp": installed, "generation": 1},
            "spec": {"schedule": "0 * * * *", "useOwnerReferencesInBackup": false,
                     "template": {"includedNamespaces": namespaces, "storageLocation": "default", "ttl": "8760h0m0s",
                                  "defaultVolumesToFsBackup": false}},
            "status": {"phase": "Enabled", "lastBackup": rfc3339(self.now - SignedDuration::from_mins(20)),
                       "lastSkipped": null}
        }));
        (objects, velero_pod, node_agents)
    }

    /// Application pods (one PVC-backed volume each, opted in to file system backup) and their PVCs.
    fn applications(&mut self, count: usize, nodes: &[String]) -> (Vec<Value>, Vec<PodInfo>) {
        let created = rfc3339(self.now - SignedDuration::from_hours(24 * 30));
        let mut objects = Vec::new();
        for index in 0..APP_NAMESPACES {
            objects.push(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": format!("app-{index}"), "uid": self.rng.uid(), "creationTimestamp": created,
                             "labels": {"kubernetes.io/metadata.name": format!("app-{index}")}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}));
        }
        let mut apps = Vec::new();
        for index in 0..count {
            let namespace = format!("app-{}", index % APP_NAMESPACES);
            let workload = format!("svc-{}", index / APP_NAMESPACES);
            let pod = PodInfo {
                name: format!("{workload}-{}-{}", self.rng.suffix(10), self.rng.suffix(5)),
                namespace: namespace.clone(),
                uid: self.rng.uid(),
                node: nodes[index % nodes.len()].clone(),
            };
            let claim = format!("{workload}-data");
            objects.push(json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": namespace, "uid": self.rng.uid(), "creationTimestamp": created},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                         "resources": {"requests": {"storage": "20Gi"}}, "volumeName": format!("pvc-{}", self.rng.uid())},
                "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"]}
            }));
            // As the API server writes a StatefulSet's pod: the defaults it fills in, the service account token
            // volume, the scheduler's and kubelet's status (a real pod is mostly these; the analysis reads few).
            let token = format!("kube-api-access-{}", self.rng.suffix(5));
            let image = format!("registry.acme.example/{workload}:2.14.{}", index % 7);
            let pod_ip = format!("10.42.{}.{}", index / 250 % 250, index % 250 + 2);
            let condition = |kind: &str| json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": created});
            objects.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod.name, "generateName": format!("{workload}-"), "namespace": namespace,
                             "uid": pod.uid, "resourceVersion": format!("{}", 48_213_000 + index), "creationTimestamp": created,
                             "labels": {"app": workload, "app.kubernetes.io/name": workload,
                                        "controller-revision-hash": format!("{workload}-{}", self.rng.suffix(10)),
                                        "statefulset.kubernetes.io/pod-name": pod.name},
                             "annotations": {"backup.velero.io/backup-volumes": "data",
                                             "kubectl.kubernetes.io/restartedAt": created},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": workload,
                                                  "uid": self.rng.uid(), "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                                         "args": ["--config=/etc/app/config.yaml", "--data-dir=/var/lib/app"],
                                         "env": [{"name": "APP_ENV", "value": "production"},
                                                 {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                                                 {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}],
                                         "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                                         "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                                                            "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                                         "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "512Mi"}},
                                         "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true,
                                                             "capabilities": {"drop": ["ALL"]}},
                                         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                                         "volumeMounts": [{"mountPath": "/var/lib/app", "name": "data"},
                                                          {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                                           "name": token, "readOnly": true}]}],
                         "dnsPolicy": "ClusterFirst", "enableServiceLinks": true, "hostname": pod.name,
                         "nodeName": pod.node, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
                         "restartPolicy": "Always", "schedulerName": "default-scheduler",
                         "securityContext": {"fsGroup": 1000, "runAsUser": 1000},
                         "serviceAccount": "default", "serviceAccountName": "default", "subdomain": workload,
                         "terminationGracePeriodSeconds": 30,
                         "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                                         {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}],
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}},
                                     {"name": token, "projected": {"defaultMode": 420, "sources": [
                                         {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                                         {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                                         {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]},
                "status": {"phase": "Running", "startTime": created, "qosClass": "Burstable",
                           "hostIP": format!("10.0.{}.{}", index % nodes.len() / 250, index % nodes.len() % 250 + 10),
                           "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                           "conditions": [condition("PodReadyToStartContainers"), condition("Initialized"),
                                          condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
                           "containerStatuses": [{"name": "app", "ready": true, "started": true, "restartCount": 0,
                               "image": image, "imageID": format!("registry.acme.example/{workload}@sha256:{}", self.rng.digest()),
                               "containerID": format!("containerd://{}", self.rng.digest()),
                               "lastState": {}, "state": {"running": {"startedAt": created}}}]}
            }));
            apps.push(pod);
        }
        (objects, apps)
    }

    /// The hourly schedule's backups, newest first. Among the newest (those with logs in the store) some
    /// PartiallyFailed (a restic uploader killed) and a few Failed (pod volume backups timed out).
    fn backup_history(&mut self, apps: usize) -> Vec<BackupInfo> {
        let per_backup = self.spec.pod_volume_backups / self.spec.backups.max(1);
        let extra = self.spec.pod_volume_backups % self.spec.backups.max(1);
        let newest = self.now - SignedDuration::from_mins(20);
        (0..self.spec.backups)
            .map(|index| {
                let created = newest - SignedDuration::from_hours(index as i64);
                let phase = if index < self.spec.backup_logs && index % 25 == 7 {
                    "PartiallyFailed"
                } else if index < self.spec.backup_logs && index % 97 == 13 {
                    "Failed"
                } else {
                    "Completed"
                };
                let count = per_backup + usize::from(index < extra);
                let first = self.rng.below(apps as u64) as usize;
                BackupInfo {
                    name: format!("hourly-{}", created.strftime("%Y%m%d%H%M%S")),
                    uid: self.rng.uid(),
                    created,
                    phase,
                    volumes: (0..count).map(|k| (first + k) % apps).collect(),
                }
            })
            .collect()
    }

    fn backup_object(&self, backup: &BackupInfo) -> Value {
        let namespaces: Vec<String> = (0..APP_NAMESPACES).map(|i| format!("app-{i}")).collect();
        let mut status = json!({
            "phase": backup.phase, "version": 1, "formatVersion": "1.1.0",
            "startTimestamp": rfc3339(backup.created + SignedDuration::from_secs(1)),
            "completionTimestamp": rfc3339(backup.created + SignedDuration::from_secs(431)),
            "expiration": rfc3339(backup.created + SignedDuration::from_hours(8760)),
            "progress": {"itemsBackedUp": 1240, "totalItems": 1240},
        });
        match backup.phase {
            "PartiallyFailed" => status["errors"] = json!(1),
            "Failed" => {
                status["failureReason"] =
                    json!("timed out waiting for all PodVolumeBackups to complete");
                status["progress"] = json!({"itemsBackedUp": 877, "totalItems": 1240});
            }
            _ => {}
        }
        json!({
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": backup.name, "namespace": VELERO_NAMESPACE, "uid": backup.uid,
                         "creationTimestamp": rfc3339(backup.created), "generation": 7,
                         "labels": {"velero.io/schedule-name": "hourly", "velero.io/storage-location": "default"},
                         "annotations": {"velero.io/source-cluster-k8s-gitversion": "v1.29.4",
                                         "velero.io/source-cluster-k8s-major-version": "1",
                                         "velero.io/source-cluster-k8s-minor-version": "29"}},
            "spec": {"includedNamespaces": namespaces, "storageLocation": "default", "ttl": "8760h0m0s",
                     "defaultVolumesToFsBackup": false, "hooks": {}, "metadata": {},
                     "csiSnapshotTimeout": "10m0s", "itemOperationTimeout": "4h0m0s"},
            "status": status
        })
    }

    fn pod_volume_backup(&mut self, backup: &BackupInfo, index: usize, pod: &PodInfo) -> Value {
        let failed = index == 0 && backup.phase != "Completed";
        let started = backup.created + SignedDuration::from_secs(30 + 60 * index as i64);
        let mut status = json!({
            "phase": if failed { "Failed" } else { "Completed" },
            "path": format!("/host_pods/{}/volumes/kubernetes.io~csi/pvc-{}/mount", pod.uid, &backup.uid[..8]),
            "startTimestamp": rfc3339(started),
            "completionTimestamp": rfc3339(started + SignedDuration::from_secs(41)),
            "progress": {"bytesDone": 3_221_225_472u64 + self.rng.below(1 << 30), "totalBytes": 4_294_967_296u64},
        });
        if failed {
            status["message"] = json!(
                "running Restic backup, stderr=: signal: killed: error running restic backup command"
            );
        } else {
            status["snapshotID"] = json!(self.rng.hex(8));
        }
        json!({
            "apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
            "metadata": {"name": format!("{}-{}", backup.name, self.rng.suffix(5)), "namespace": VELERO_NAMESPACE,
                         "generateName": format!("{}-", backup.name), "uid": self.rng.uid(),
                         "creationTimestamp": rfc3339(started), "generation": 4,
                         "labels": {"velero.io/backup-name": backup.name, "velero.io/backup-uid": backup.uid},
                         "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": backup.name,
                                              "uid": backup.uid, "controller": true}]},
            "spec": {"backupStorageLocation": "default", "node": pod.node, "uploaderType": "restic",
                     "pod": {"kind": "Pod", "name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                     "repoIdentifier": format!("s3:s3-{REGION}.amazonaws.com/{BUCKET}/velero/restic/{}", pod.namespace),
                     "volume": "data",
                     "tags": {"backup": backup.name, "backup-uid": backup.uid, "ns": pod.namespace,
                              "pod": pod.name, "pod-uid": pod.uid, "volume": "data"}},
            "status": status
        })
    }

    /// The velero server's current and previous container logs and each node-agent's log.
    fn container_logs(
        &mut self,
        velero: &PodInfo,
        agents: &[PodInfo],
        backups: &[BackupInfo],
    ) -> Result<(), LabError> {
        let total = self.spec.log_bytes;
        let started = self.now - SignedDuration::from_hours(48);
        let names: Vec<String> = backups.iter().map(|b| b.name.clone()).collect();
        let schedule = BackupAt::Schedule {
            newest: backups.first().map_or(self.now, |b| b.created),
            names: &names,
        };
        let server_log = |previous: bool| {
            format!(
                "logs/{}/{}/velero{}",
                velero.namespace,
                velero.name,
                if previous { ".previous.log" } else { ".log" }
            )
        };
        // The server writes most: 30% current, 10% before its restart; node-agents share the rest.
        self.container_log(
            &server_log(true),
            total / 10,
            (started - SignedDuration::from_hours(48), started),
            &LogKind::Server {
                backups: schedule,
            },
            &[(
                0.97,
                "time=\"{time}\" level=error msg=\"Error backing up item\" backup=velero/{backup} error=\"failed to list daemonset pods: client rate limiter Wait returned an error: context deadline exceeded\" logSource=\"pkg/backup/backup.go:448\" name=svc-3-data",
            )],
        )?;
        self.container_log(
            &server_log(false),
            total * 3 / 10,
            (started, self.now),
            &LogKind::Server {
                backups: schedule,
            },
            &[
                (
                    0.25,
                    "time=\"{time}\" level=error msg=\"Error backing up item\" backup=velero/{backup} error=\"timed out waiting for all PodVolumeBackups to complete\" logSource=\"pkg/backup/backup.go:417\" name=svc-1-data",
                ),
                (
                    0.61,
                    "time=\"{time}\" level=error msg=\"Error listing backups in backup store\" backupLocation=velero/default controller=backup-sync error=\"rpc error: code = Unknown desc = RequestError: send request failed\\ncaused by: Get \\\"https://s3.us-east-2.amazonaws.com/acme-prod-snapshots?list-type=2&prefix=velero%2Fbackups%2F\\\": dial tcp 52.219.100.4:443: i/o timeout\" logSource=\"pkg/controller/backup_sync_controller.go:110\"",
                ),
            ],
        )?;
        let per_agent = (total - total / 10 - total * 3 / 10) / agents.len().max(1) as u64;
        for (index, agent) in agents.iter().enumerate() {
            let planted: &[(f64, &str)] = match index {
                1 => &[(
                    0.42,
                    "time=\"{time}\" level=error msg=\"Error backing up pod volume\" backup=velero/{backup} controller=podvolumebackup error=\"running Restic backup, stderr=: signal: killed: error running restic backup command\" logSource=\"pkg/controller/pod_volume_backup_controller.go:221\"",
                )],
                4 => &[(
                    0.78,
                    "time=\"{time}\" level=error msg=\"Error backing up pod volume\" backup=velero/{backup} controller=podvolumebackup error=\"running Restic backup, stderr=unable to create lock in backend: repository is already locked exclusively by PID 4211 on node-agent-x2x4z by root (UID 0, GID 0)\\nlock was created at 2026-11-24 02:00:31 (2m4.1s ago)\\n: exit status 1\" logSource=\"pkg/controller/pod_volume_backup_controller.go:221\"",
                )],
                _ => &[],
            };
            self.container_log(
                &format!("logs/{}/{}/node-agent.log", agent.namespace, agent.name),
                per_agent,
                (self.now - SignedDuration::from_hours(24 * 7), self.now),
                &LogKind::NodeAgent {
                    backups: schedule,
                    node: &agent.node,
                },
                planted,
            )?;
        }
        Ok(())
    }

    /// Writes `bytes` of ordinary lines spread over `span`, with each `planted` template (`{time}`,
    /// `{backup}`) written once at its fraction of the file. Returns (bytes, lines) written.
    fn write_log(
        &mut self,
        relative: &str,
        bytes: u64,
        span: (Timestamp, Timestamp),
        kind: &LogKind<'_>,
        planted: &[(f64, &str)],
    ) -> Result<(u64, u64), LabError> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let file = File::create(&path).map_err(io_error(&path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let span_seconds = span.1.duration_since(span.0).as_secs().max(1);
        let mut clock = LineClock::default();
        let mut written = 0u64;
        let mut lines = 0u64;
        let mut pending: Vec<(u64, &str)> = planted
            .iter()
            .map(|(fraction, template)| ((bytes as f64 * fraction) as u64, *template))
            .collect();
        pending.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        let mut line = String::with_capacity(512);
        while written < bytes {
            let elapsed = (span_seconds as u128 * written as u128 / bytes.max(1) as u128) as i64;
            let time = clock.text(span.0 + SignedDuration::from_secs(elapsed));
            line.clear();
            let backup = kind
                .backups()
                .at(span.0 + SignedDuration::from_secs(elapsed));
            if pending.last().is_some_and(|(at, _)| written >= *at) {
                let (_, template) = pending.pop().unwrap_or_default();
                line.push_str(&template.replace("{time}", time).replace("{backup}", backup));
                line.push('\n');
                self.summary.planted.push(Planted {
                    file: relative.to_string(),
                    line: lines + 1,
                    text: line.trim_end().to_string(),
                });
            } else {
                kind.ordinary_line(&mut self.rng, time, backup, &mut line);
            }
            out.write_all(line.as_bytes()).map_err(io_error(&path))?;
            written += line.len() as u64;
            lines += 1;
        }
        out.flush().map_err(io_error(&path))?;
        Ok((written, lines))
    }

    /// A container log: [`Generator::write_log`], counted in the summary.
    fn container_log(
        &mut self,
        relative: &str,
        bytes: u64,
        span: (Timestamp, Timestamp),
        kind: &LogKind<'_>,
        planted: &[(f64, &str)],
    ) -> Result<(), LabError> {
        let (written, lines) = self.write_log(relative, bytes, span, kind, planted)?;
        self.summary.log_files += 1;
        self.summary.log_bytes += written;
        self.summary.log_lines += lines;
        Ok(())
    }

    /// backup.log (the server's lines about one backup) and results.json in the object store.
    fn store_files(&mut self, backup: &BackupInfo, apps: &[PodInfo]) -> Result<(), LabError> {
        let folder = format!("store/backups/{}", backup.name);
        let planted: Vec<(f64, &str)> = match backup.phase {
            "PartiallyFailed" => vec![(
                0.6,
                "time=\"{time}\" level=error msg=\"Error backing up item\" backup=velero/{backup} error=\"pod volume backup failed: running Restic backup, stderr=: signal: killed: error running restic backup command\" logSource=\"pkg/backup/backup.go:417\" name=svc-0-data",
            )],
            "Failed" => vec![(
                0.8,
                "time=\"{time}\" level=error msg=\"Error backing up item\" backup=velero/{backup} error=\"timed out waiting for all PodVolumeBackups to complete\" logSource=\"pkg/backup/backup.go:417\" name=svc-0-data",
            )],
            _ => Vec::new(),
        };
        let (written, _) = self.write_log(
            &format!("{folder}/backup.log"),
            self.spec.backup_log_bytes,
            (
                backup.created,
                backup.created + SignedDuration::from_secs(431),
            ),
            &LogKind::Server {
                backups: BackupAt::One(&backup.name),
            },
            &planted,
        )?;
        self.summary.store_bytes += written;
        let results = match backup.phase {
            "PartiallyFailed" => {
                let pod = &apps[backup.volumes.first().copied().unwrap_or(0)];
                json!({"errors": {"velero": [format!(
                    " name: /{} error: /pod volume backup failed: running Restic backup, stderr=: signal: killed: error running restic backup command",
                    pod.name
                )]}, "warnings": {}})
            }
            "Failed" => {
                json!({"errors": {"velero": ["timed out waiting for all PodVolumeBackups to complete"]}, "warnings": {}})
            }
            _ => json!({"errors": {}, "warnings": {}}),
        };
        let path = self.dir.join(format!("{folder}/results.json"));
        let text = results.to_string();
        fs::write(&path, &text).map_err(io_error(&path))?;
        self.summary.store_files += 2;
        self.summary.store_bytes += text.len() as u64;
        Ok(())
    }
}

/// The formatted time of the current second, reformatted only when the second changes.
#[derive(Default)]
struct LineClock {
    second: Option<Timestamp>,
    text: String,
}

impl LineClock {
    fn text(&mut self, time: Timestamp) -> &str {
        if self.second != Some(time) {
            self.second = Some(time);
            self.text = rfc3339(time);
        }
        &self.text
    }
}

/// Which backup a log line is about.
#[derive(Clone, Copy)]
enum BackupAt<'a> {
    /// The hourly schedule's backup running at the line's time: `names[k]` was created `k` hours before
    /// `newest`.
    Schedule {
        newest: Timestamp,
        names: &'a [String],
    },
    One(&'a str),
}

impl<'a> BackupAt<'a> {
    fn at(&self, time: Timestamp) -> &'a str {
        match *self {
            BackupAt::One(name) => name,
            BackupAt::Schedule { newest, names } => {
                let before = newest.duration_since(time).as_secs().max(0);
                let index = ((before + 3599) / 3600) as usize;
                names
                    .get(index.min(names.len().saturating_sub(1)))
                    .map_or("hourly", String::as_str)
            }
        }
    }
}

enum LogKind<'a> {
    Server {
        backups: BackupAt<'a>,
    },
    NodeAgent {
        backups: BackupAt<'a>,
        node: &'a str,
    },
}

const RESOURCES: &[&str] = &[
    "pods",
    "persistentvolumeclaims",
    "configmaps",
    "services",
    "deployments.apps",
    "replicasets.apps",
    "serviceaccounts",
    "endpoints",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
];

impl LogKind<'_> {
    fn backups(&self) -> BackupAt<'_> {
        match self {
            LogKind::Server { backups } | LogKind::NodeAgent { backups, .. } => *backups,
        }
    }

    /// A line of what a busy Velero server or node-agent writes while backing up (info and debug levels).
    fn ordinary_line(&self, rng: &mut Rng, time: &str, backup: &str, out: &mut String) {
        use std::fmt::Write as _;
        let namespace = format!("app-{}", rng.below(APP_NAMESPACES as u64));
        let item = format!("svc-{}-{}", rng.below(20), rng.suffix(5));
        let _ = match self {
            LogKind::Server { .. } => match rng.below(16) {
                0..=6 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Backing up item\" backup=velero/{backup} logSource=\"pkg/backup/item_backupper.go:179\" name={item} namespace={namespace} resource={}",
                    RESOURCES[rng.below(RESOURCES.len() as u64) as usize]
                ),
                7..=9 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Executing custom action\" backup=velero/{backup} logSource=\"pkg/backup/item_backupper.go:336\" name={item} namespace={namespace} resource=persistentvolumeclaims"
                ),
                10 | 11 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Backed up {} items out of an estimated total of 1240 (estimate will change throughout the backup)\" backup=velero/{backup} logSource=\"pkg/backup/backup.go:499\" name={item} namespace={namespace} progress= resource=pods",
                    rng.below(1240)
                ),
                12 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Skipping item because it's already been backed up.\" backup=velero/{backup} logSource=\"pkg/backup/item_backupper.go:159\" name={item} namespace={namespace} resource=persistentvolumes"
                ),
                13 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Waiting for all PodVolumeBackups to complete\" backup=velero/{backup} logSource=\"pkg/podvolume/backupper.go:280\""
                ),
                14 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Validating BackupStorageLocation\" backup-storage-location=velero/default controller=backup-storage-location logSource=\"pkg/controller/backup_storage_location_controller.go:141\""
                ),
                _ => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"BackupStorageLocations is valid, marking as available\" backup-storage-location=velero/default controller=backup-storage-location logSource=\"pkg/controller/backup_storage_location_controller.go:126\""
                ),
            },
            LogKind::NodeAgent { node, .. } => match rng.below(8) {
                0 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"PodVolumeBackup starting\" backup=velero/{backup} controller=podvolumebackup logSource=\"pkg/controller/pod_volume_backup_controller.go:108\" podvolumebackup=velero/{backup}-{}",
                    rng.suffix(5)
                ),
                1 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Looking for most recent completed PodVolumeBackup for this PVC\" backup=velero/{backup} controller=podvolumebackup logSource=\"pkg/controller/pod_volume_backup_controller.go:312\" pvcUID={}",
                    rng.uid()
                ),
                2 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Founding existing repo\" backupLocation=default logSource=\"pkg/repository/ensurer.go:86\" repositoryType=restic volumeNamespace={namespace}"
                ),
                3..=5 => writeln!(
                    out,
                    "time=\"{time}\" level=debug msg=\"Ran command=restic backup --repo=s3:s3-{REGION}.amazonaws.com/{BUCKET}/velero/restic/{namespace} --password-file=/tmp/credentials/velero/velero-repo-credentials-repository-password --cache-dir=/scratch/.cache/restic . --tag=backup={backup} --tag=ns={namespace} --tag=pod={item} --tag=volume=data --host=velero --json, stdout={{\\\"message_type\\\":\\\"status\\\",\\\"percent_done\\\":0.{},\\\"total_files\\\":{},\\\"bytes_done\\\":{}}}, stderr=\" backup=velero/{backup} controller=podvolumebackup logSource=\"pkg/uploader/restic/restic.go:118\" node={node}",
                    rng.below(1000),
                    rng.below(90_000),
                    rng.below(1 << 34)
                ),
                6 => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"PodVolumeBackup completed\" backup=velero/{backup} controller=podvolumebackup logSource=\"pkg/controller/pod_volume_backup_controller.go:305\" podvolumebackup=velero/{backup}-{}",
                    rng.suffix(5)
                ),
                _ => writeln!(
                    out,
                    "time=\"{time}\" level=info msg=\"Reconciling\" controller=podvolumebackup controllerGroup=velero.io controllerKind=PodVolumeBackup logSource=\"/go/pkg/mod/github.com/bombsimon/logrusr/v3@v3.0.0/logrusr.go:108\" name={backup}-{} namespace=velero reconcileID={}",
                    rng.suffix(5),
                    rng.uid()
                ),
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::Scenario;

    fn small() -> ScaleSpec {
        ScaleSpec {
            backups: 40,
            pod_volume_backups: 130,
            pods: 30,
            nodes: 6,
            log_bytes: 2 << 20,
            backup_logs: 30,
            backup_log_bytes: 16 << 10,
            seed: 3,
        }
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert!(parse_size("1TiB").unwrap_err().contains("unknown unit"));
        assert!(parse_size("GiB").is_err());
    }

    #[test]
    fn the_generated_scenario_loads_with_the_counts_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let spec = small();
        let summary = generate(&spec, dir.path(), now).unwrap();
        let scenario = Scenario::load(dir.path()).unwrap();
        assert_eq!(scenario.objects_of("backups.velero.io").len(), 40);
        assert_eq!(scenario.objects_of("podvolumebackups.velero.io").len(), 130);
        assert_eq!(scenario.objects_of("pods").len(), 30);
        assert_eq!(scenario.objects_of("nodes").len(), 6);
        // velero current + previous, one node-agent per node
        assert_eq!(scenario.logs.len(), 2 + 6);
        assert!(summary.log_bytes >= spec.log_bytes);
        assert!(summary.log_bytes < spec.log_bytes + 8 * 4096);
        assert_eq!(
            scenario
                .store
                .keys()
                .filter(|k| k.ends_with("backup.log"))
                .count(),
            30
        );
        // Every planted line is where planted.json says.
        assert!(summary.planted.len() >= 5, "{:?}", summary.planted);
        for planted in &summary.planted {
            let text = std::fs::read_to_string(dir.path().join(&planted.file)).unwrap();
            let line = text.lines().nth(planted.line as usize - 1).unwrap();
            assert_eq!(line, planted.text);
        }
        // Failed backups and their pod volume backups agree.
        let failed = scenario
            .objects_of("backups.velero.io")
            .into_iter()
            .filter(|b| b["status"]["phase"] != "Completed")
            .count();
        assert!(failed >= 1);
        assert_eq!(
            scenario
                .objects_of("podvolumebackups.velero.io")
                .into_iter()
                .filter(|p| p["status"]["phase"] == "Failed")
                .count(),
            failed
        );
    }

    #[test]
    fn generation_is_deterministic_and_refuses_a_used_folder() {
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        generate(&small(), a.path(), now).unwrap();
        generate(&small(), b.path(), now).unwrap();
        for file in [
            "objects/30-backups.json",
            "objects/40-podvolumebackups.json",
        ] {
            assert_eq!(
                std::fs::read(a.path().join(file)).unwrap(),
                std::fs::read(b.path().join(file)).unwrap()
            );
        }
        let error = generate(&small(), a.path(), now).unwrap_err().to_string();
        assert!(error.contains("must be empty"), "{error}");
    }
}
