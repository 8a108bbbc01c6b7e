//! local-volume-provider locations (`replicated.com/hostpath`, `replicated.com/nfs`): a directory on the nodes or
//! an NFS export that the plugin mounts into the velero and node-agent pods, instead of a bucket. What can go wrong
//! is the directory itself: missing on a node, not writable by the uid Velero runs as, or full.
//!
//! The plugin (replicatedhq/local-volume-provider 2bd13eb, pkg/plugin): the BSL's config `path` (and `server` for
//! NFS) becomes a volume named after the bucket, a hostPath of type Directory or an nfs volume (volume.go
//! getHostPathVolumeSource / getNFSVolumeSource), mounted read-write at `/var/velero-local-volume-provider/<bucket>`
//! (util.go defaultRoot, plugin.go Init). Its Init refuses a directory that `isWriteable` (util.go) judges not
//! writable from the mode bits and the process's effective uid/gid ("directory is not writeable",
//! filesystem.go ensureFilesystem); the uid/gid are the pod's securityContext, which the plugin sets from its
//! ConfigMap's securityContextRunAsUser / RunAsGroup / FsGroup (kubernetes.go getPodSecurityContext).
//!
//! The agent here runs in a pod pinned to one node, mounting the volume as the plugin does and running as the
//! plugin's uid: it stats the directory, applies the plugin's own `isWriteable`, then writes, reads back and
//! deletes `snapdoc-probe-<uuid>` in it, and measures free space. snapdoc runs one such pod per node that hosts the
//! location (host_path_jobs.rs) and joins the nodes' results ([`join_nodes`]).

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::agent::{Agent, probe_body};
use super::error::ProbeError;
use super::outcome::{Check, ProbeResult, ProbedLocation, Status, Step};

/// The plugin's providers (cmd/local-volume-provider/main.go RegisterObjectStore). `replicated.com/pvc` is not
/// probed: its volume is a claim the plugin creates, not a directory someone prepared.
pub(crate) const HOSTPATH_PROVIDER: &str = "replicated.com/hostpath";
/// The NFS provider.
pub(crate) const NFS_PROVIDER: &str = "replicated.com/nfs";
/// Where the plugin mounts every location's volume, one directory per bucket (util.go defaultRoot).
pub const MOUNT_ROOT: &str = "/var/velero-local-volume-provider";

/// The directory or export is not writable by Velero's uid (the plugin's isWriteable, or a write refused).
pub(crate) const NOT_WRITABLE_RULE: &str = "SD703";
/// The host path does not exist on a node (the kubelet's hostPath type check), or the NFS export does not.
pub(crate) const PATH_MISSING_RULE: &str = "SD707";
/// The volume is full or almost full.
pub(crate) const FULL_RULE: &str = "SD708";

/// The checks of a local volume, in the order the agent runs them.
pub const LOCAL_VOLUME_STEPS: [Step; 6] = [
    Step::Stat,
    Step::Permissions,
    Step::Put,
    Step::Get,
    Step::Delete,
    Step::FreeSpace,
];

/// Below this much free space the volume counts as almost full: one backup tarball of a small application, or a
/// restic pack file's worth of headroom.
const LOW_SPACE_BYTES: u64 = 1 << 30;
/// Below this many free inodes likewise (restic writes a file per pack, Velero several per backup).
const LOW_INODES: u64 = 1000;

/// One local-volume-provider location, with the config keys the plugin reads (volume.go).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalVolumeLocation {
    /// spec.provider: `replicated.com/hostpath` or `replicated.com/nfs`.
    pub provider: String,
    /// spec.objectStorage.bucket: the volume's name and the directory under [`MOUNT_ROOT`].
    pub bucket: String,
    /// spec.objectStorage.prefix.
    pub prefix: String,
    /// config.path: the directory on the node, or the NFS export's path.
    pub path: String,
    /// config.server: the NFS server.
    pub server: Option<String>,
}

impl LocalVolumeLocation {
    /// Whether `provider` is one of the plugin's that the probe handles.
    pub(crate) fn handles(provider: &str) -> bool {
        provider == HOSTPATH_PROVIDER || provider == NFS_PROVIDER
    }

    /// An NFS location (one mount serves every node) rather than a host path (one directory per node).
    pub fn is_nfs(&self) -> bool {
        self.provider == NFS_PROVIDER
    }

    /// Sets config key `key` as the plugin reads it.
    pub(crate) fn set_config(&mut self, key: &str, value: &str) {
        match key {
            "path" => self.path = value.to_string(),
            "server" => self.server = Some(value.to_string()).filter(|s| !s.is_empty()),
            _ => {}
        }
    }

    /// The config keys, for the agent's `--config` arguments.
    pub(crate) fn config_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("path", self.path.clone())];
        if let Some(server) = &self.server {
            pairs.push(("server", server.clone()));
        }
        pairs
    }

    /// What the plugin refuses before building the volume, in its words (volume.go).
    pub(crate) fn validate(&self) -> Result<(), ProbeError> {
        let kind = if self.is_nfs() { "nfs" } else { "hostpath" };
        if self.path.is_empty() {
            return Err(ProbeError::Config(format!("{kind} config missing path")));
        }
        if self.is_nfs() && self.server.is_none() {
            return Err(ProbeError::Config(
                "nfs config missing server address".to_string(),
            ));
        }
        Ok(())
    }

    /// Where the plugin mounts the volume in Velero's pods, and the probe in its own.
    pub fn mount_path(&self) -> String {
        format!("{MOUNT_ROOT}/{}", self.bucket)
    }

    /// The pod volume the plugin builds (volume.go buildVolume): named after the bucket, a hostPath that must
    /// already be a directory, or the NFS export.
    pub(crate) fn volume(&self) -> Value {
        match &self.server {
            Some(server) if self.is_nfs() => {
                json!({"name": self.bucket, "nfs": {"server": server, "path": self.path}})
            }
            _ => json!({"name": self.bucket, "hostPath": {"path": self.path, "type": "Directory"}}),
        }
    }

    /// `hostPath /srv/snapshots` or `nfs 10.0.0.1:/export`, for the reports.
    pub fn target(&self) -> String {
        match &self.server {
            Some(server) if self.is_nfs() => format!("nfs {server}:{}", self.path),
            _ => format!("hostPath {}", self.path),
        }
    }

    fn probed(&self) -> ProbedLocation {
        ProbedLocation {
            provider: self.provider.clone(),
            bucket: self.bucket.clone(),
            prefix: super::location::root_prefix(&self.prefix),
            endpoint: self.target(),
            region: String::new(),
            path_style: false,
            ca_cert: false,
            insecure_skip_tls_verify: false,
        }
    }
}

/// The uid, gid and fsGroup Velero's pods run as, and where they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunAs {
    /// runAsUser; `None`: the image's USER, which the API does not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// runAsGroup; `None`: the image's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// fsGroup: a supplementary group of the pod's processes (the plugin's isWriteable ignores it; writes do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<u32>,
    /// Where they came from: the plugin ConfigMap `namespace/name`, or the velero pod's securityContext.
    pub source: String,
}

/// The directory as one agent found it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFacts {
    /// The effective uid the agent ran as.
    pub uid: u32,
    /// Its effective gid.
    pub gid: u32,
    /// Its supplementary groups (the pod's fsGroup and supplementalGroups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<u32>,
    /// The directory's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_uid: Option<u32>,
    /// Its group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_gid: Option<u32>,
    /// Its permission bits, octal (`0755`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Bytes available to an unprivileged writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// The file system's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Inodes available, where the file system counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_inodes: Option<u64>,
}

impl VolumeFacts {
    /// `owner 4242:4242 mode 0755, 12.0 GiB free of 50.0 GiB, written as 1001:1001`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if let (Some(uid), Some(gid), Some(mode)) = (self.owner_uid, self.owner_gid, &self.mode) {
            let _ = write!(out, "owner {uid}:{gid} mode {mode}, ");
        }
        if let (Some(free), Some(total)) = (self.free_bytes, self.total_bytes) {
            let _ = write!(out, "{} free of {}, ", size(free), size(total));
        }
        let _ = write!(out, "probed as uid {} gid {}", self.uid, self.gid);
        if !self.groups.is_empty() {
            let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
            let _ = write!(out, " groups {}", groups.join(","));
        }
        out
    }
}

/// One node's pod: its checks and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeProbe {
    /// The node the pod was pinned to.
    pub node: String,
    /// Its checks.
    pub checks: Vec<Check>,
    /// The directory as it found it (absent when its pod could not mount it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeFacts>,
}

/// What a local-volume-provider probe adds to a [`ProbeResult`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalVolumeReport {
    /// Who Velero runs as (in-cluster: read from the plugin's ConfigMap or the velero pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<RunAs>,
    /// The directory as this agent found it (one agent's result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeFacts>,
    /// Each node's result (the joined result of the in-cluster probe).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeProbe>,
}

/// The checks of `location`'s directory, found at `at` (the mount point in a pod; the lab's directory standing in
/// for it), named in the details by the mount point Velero's pods see. Runs as the calling thread's effective
/// uid/gid and groups, which is what a pod's securityContext sets.
pub fn probe_local_volume(location: &LocalVolumeLocation, at: &Path, agent: Agent) -> ProbeResult {
    let shown = location.mount_path();
    let mut facts = VolumeFacts {
        uid: rustix::process::geteuid().as_raw(),
        gid: rustix::process::getegid().as_raw(),
        groups: rustix::process::getgroups()
            .map(|g| g.iter().map(|g| g.as_raw()).collect())
            .unwrap_or_default(),
        ..VolumeFacts::default()
    };
    let probe_name = format!("snapdoc-probe-{}", uuid::Uuid::new_v4());
    let probe_key = format!("{shown}/{probe_name}");
    let mut checks = Vec::new();
    let stat = std::fs::metadata(at);
    match &stat {
        Ok(meta) if meta.is_dir() => {
            facts.owner_uid = Some(meta.uid());
            facts.owner_gid = Some(meta.gid());
            facts.mode = Some(format!("{:04o}", meta.mode() & 0o7777));
            checks.push(passed(
                Step::Stat,
                format!(
                    "{shown}: a directory, owner {}:{} mode {:04o}",
                    meta.uid(),
                    meta.gid(),
                    meta.mode() & 0o7777
                ),
            ));
        }
        Ok(_) => checks.push(failed(
            Step::Stat,
            Some(PATH_MISSING_RULE),
            format!("{shown} is not a directory"),
        )),
        Err(error) => checks.push(failed(
            Step::Stat,
            Some(PATH_MISSING_RULE),
            format!("stat {shown}: {}", go_error_text(error)),
        )),
    }
    let directory = stat.as_ref().ok().filter(|m| m.is_dir());
    let Some(meta) = directory else {
        for step in &LOCAL_VOLUME_STEPS[1..] {
            checks.push(skipped(*step, "the directory is not there"));
        }
        return result(location, agent, probe_key, checks, facts);
    };
    checks.push(permissions(&shown, meta, facts.uid, facts.gid));
    write_read_delete(&at.join(&probe_name), &probe_key, &mut checks);
    checks.push(free_space(at, &mut facts));
    result(location, agent, probe_key, checks, facts)
}

fn result(
    location: &LocalVolumeLocation,
    agent: Agent,
    probe_key: String,
    checks: Vec<Check>,
    facts: VolumeFacts,
) -> ProbeResult {
    ProbeResult {
        agent: agent.name().to_string(),
        location: location.probed(),
        probe_key,
        checks,
        top_level_dirs: Vec::new(),
        clock_skew_seconds: None,
        versioning: None,
        object_lock: None,
        round_trip_ms: None,
        local_volume: Some(LocalVolumeReport {
            volume: Some(facts),
            ..LocalVolumeReport::default()
        }),
    }
}

/// The plugin's `isWriteable` (util.go, 2bd13eb) as Velero's process would evaluate it: writable by others, or by
/// the owner when the effective uid is the owner's, or by the group when the effective gid is the group's.
/// Supplementary groups (fsGroup) do not count there, though the kernel honours them for the writes themselves.
pub(crate) fn plugin_is_writeable(
    mode: u32,
    owner_uid: u32,
    owner_gid: u32,
    uid: u32,
    gid: u32,
) -> bool {
    mode & 0o002 != 0
        || (mode & 0o200 != 0 && uid == owner_uid)
        || (mode & 0o020 != 0 && gid == owner_gid)
}

fn permissions(shown: &str, meta: &std::fs::Metadata, uid: u32, gid: u32) -> Check {
    let mode = meta.mode() & 0o7777;
    let (owner_uid, owner_gid) = (meta.uid(), meta.gid());
    let seen = format!(
        "{shown} is owned by {owner_uid}:{owner_gid} with mode {mode:04o}; Velero runs as uid {uid} gid {gid}"
    );
    if plugin_is_writeable(mode, owner_uid, owner_gid, uid, gid) {
        passed(
            Step::Permissions,
            format!("{seen}: the plugin's isWriteable accepts it"),
        )
    } else {
        // The error the plugin's Init returns for it (filesystem.go ensureFilesystem, wrapped by plugin.go Init).
        failed(
            Step::Permissions,
            Some(NOT_WRITABLE_RULE),
            format!("failed to ensure filesystem: directory is not writeable ({seen})"),
        )
    }
}

/// Creates `path` (shown as `key`), writes the probe's 1 KiB, reads it back and removes it.
fn write_read_delete(path: &Path, key: &str, checks: &mut Vec<Check>) {
    let body = probe_body(key);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| ("open", e))
        .and_then(|mut file| {
            file.write_all(&body)
                .and_then(|()| file.sync_all())
                .map_err(|e| ("write", e))
        });
    match written {
        Ok(()) => checks.push(passed(Step::Put, format!("{} bytes to {key}", body.len()))),
        Err((op, error)) => {
            let created = path.exists();
            checks.push(io_failure(Step::Put, op, key, &error));
            if !created {
                checks.push(skipped(Step::Get, "nothing was written"));
                checks.push(skipped(Step::Delete, "nothing was written"));
                return;
            }
        }
    }
    let mut back = Vec::new();
    match std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut back)) {
        Ok(_) if back == body => {
            checks.push(passed(Step::Get, "the same bytes came back".to_string()))
        }
        Ok(_) => checks.push(failed(
            Step::Get,
            None,
            format!(
                "{} bytes came back, not the {} written",
                back.len(),
                body.len()
            ),
        )),
        Err(error) => checks.push(io_failure(Step::Get, "open", key, &error)),
    }
    match std::fs::remove_file(path) {
        Ok(()) => checks.push(passed(Step::Delete, "removed".to_string())),
        Err(error) => checks.push(io_failure(Step::Delete, "remove", key, &error)),
    }
}

/// A failed file operation in Go's wording (`open <path>: permission denied`, an *os.PathError), which is how the
/// plugin's errors reach Velero's log, and the rule for its errno.
fn io_failure(step: Step, op: &str, key: &str, error: &std::io::Error) -> Check {
    let rule = match error.raw_os_error() {
        Some(code)
            if [
                rustix::io::Errno::ACCESS,
                rustix::io::Errno::PERM,
                rustix::io::Errno::ROFS,
            ]
            .iter()
            .any(|e| e.raw_os_error() == code) =>
        {
            Some(NOT_WRITABLE_RULE)
        }
        Some(code)
            if [rustix::io::Errno::NOSPC, rustix::io::Errno::DQUOT]
                .iter()
                .any(|e| e.raw_os_error() == code) =>
        {
            Some(FULL_RULE)
        }
        _ => None,
    };
    failed(step, rule, format!("{op} {key}: {}", go_error_text(error)))
}

/// The text Go's syscall.Errno gives an error (Linux's strerror, lower case), for the errors the probe maps.
fn go_error_text(error: &std::io::Error) -> String {
    let known = [
        (rustix::io::Errno::ACCESS, "permission denied"),
        (rustix::io::Errno::PERM, "operation not permitted"),
        (rustix::io::Errno::ROFS, "read-only file system"),
        (rustix::io::Errno::NOSPC, "no space left on device"),
        (rustix::io::Errno::DQUOT, "disk quota exceeded"),
        (rustix::io::Errno::NOENT, "no such file or directory"),
    ];
    error
        .raw_os_error()
        .and_then(|code| known.iter().find(|(e, _)| e.raw_os_error() == code))
        .map_or_else(|| error.to_string(), |(_, text)| (*text).to_string())
}

/// statvfs of the directory: failed when almost full.
fn free_space(at: &Path, facts: &mut VolumeFacts) -> Check {
    let stats = match rustix::fs::statvfs(at) {
        Ok(stats) => stats,
        Err(error) => {
            return skipped(Step::FreeSpace, &format!("statvfs: {error}"));
        }
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    let total = stats.f_blocks.saturating_mul(stats.f_frsize);
    // A file system without inode accounting (NFS may say 0 of 0) has no inode limit to report.
    let inodes = (stats.f_files > 0).then_some(stats.f_favail);
    facts.free_bytes = Some(free);
    facts.total_bytes = Some(total);
    facts.free_inodes = inodes;
    space_check(free, total, inodes)
}

/// The free-space check of `free` of `total` bytes and `inodes` free inodes.
fn space_check(free: u64, total: u64, inodes: Option<u64>) -> Check {
    let measured = format!("{} free of {}", size(free), size(total));
    if free < LOW_SPACE_BYTES {
        return failed(
            Step::FreeSpace,
            Some(FULL_RULE),
            format!(
                "almost full: {measured} (below {}): the next backup fails with \"no space left on device\"",
                size(LOW_SPACE_BYTES)
            ),
        );
    }
    if let Some(inodes) = inodes.filter(|n| *n < LOW_INODES) {
        return failed(
            Step::FreeSpace,
            Some(FULL_RULE),
            format!(
                "out of inodes: {inodes} free ({measured}): the next backup fails with \"no space left on device\""
            ),
        );
    }
    passed(Step::FreeSpace, measured)
}

/// Bytes in binary units, one decimal.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn passed(step: Step, detail: String) -> Check {
    check(step, Status::Passed, None, detail)
}

fn failed(step: Step, rule: Option<&str>, detail: String) -> Check {
    check(step, Status::Failed, rule, detail)
}

fn skipped(step: Step, why: &str) -> Check {
    check(step, Status::Skipped, None, why.to_string())
}

fn check(step: Step, status: Status, rule: Option<&str>, detail: String) -> Check {
    Check {
        step,
        status,
        rule: rule.map(str::to_string),
        error_code: None,
        http_status: None,
        detail,
        latency_ms: None,
    }
}

/// The node's result when its pod could not mount the volume: the kubelet's FailedMount message, the rule when it
/// says the path is missing (the hostPath type check of pkg/volume/hostpath/host_path.go, `hostPath type check
/// failed: %s is not a directory`; mount.nfs's `reason given by server: No such file or directory`).
pub(crate) fn unmountable(node: &str, message: &str) -> NodeProbe {
    let missing = message.contains("hostPath type check failed")
        || message.contains("reason given by server: No such file or directory");
    let mut checks = vec![failed(
        Step::Stat,
        missing.then_some(PATH_MISSING_RULE),
        message.to_string(),
    )];
    for step in &LOCAL_VOLUME_STEPS[1..] {
        checks.push(skipped(*step, "the volume could not be mounted"));
    }
    NodeProbe {
        node: node.to_string(),
        checks,
        volume: None,
    }
}

/// One result for the location from its nodes': each step once, failed when it failed on any node (the first
/// failing node's rule), each node's detail named.
pub(crate) fn join_nodes(
    location: &LocalVolumeLocation,
    run_as: RunAs,
    nodes: Vec<NodeProbe>,
    probe_key: String,
) -> ProbeResult {
    let mut checks = Vec::new();
    for step in LOCAL_VOLUME_STEPS {
        let per_node: Vec<(&str, &Check)> = nodes
            .iter()
            .filter_map(|n| Some((n.node.as_str(), n.checks.iter().find(|c| c.step == step)?)))
            .collect();
        if per_node.is_empty() {
            continue;
        }
        let status = if per_node.iter().any(|(_, c)| c.status == Status::Failed) {
            Status::Failed
        } else if per_node.iter().all(|(_, c)| c.status == Status::Passed) {
            Status::Passed
        } else {
            Status::Skipped
        };
        let rule = per_node
            .iter()
            .filter(|(_, c)| c.status == Status::Failed)
            .find_map(|(_, c)| c.rule.clone());
        // The failures first: they are what the reader acts on.
        let mut ordered: Vec<&(&str, &Check)> = per_node
            .iter()
            .filter(|(_, c)| c.status == Status::Failed)
            .collect();
        ordered.extend(per_node.iter().filter(|(_, c)| c.status != Status::Failed));
        let detail = ordered
            .iter()
            .map(|(node, c)| match c.status {
                Status::Passed if status != Status::Passed => format!("node {node}: passed"),
                _ => format!("node {node}: {}", c.detail),
            })
            .collect::<Vec<_>>()
            .join("; ");
        checks.push(check(step, status, rule.as_deref(), detail));
    }
    if run_as.uid.is_none() {
        // The pods ran as snapdoc's image's user, not Velero's: the plugin's judgement of Velero's uid is unknown,
        // and a pass here would say so falsely.
        for check in checks.iter_mut().filter(|c| c.step == Step::Permissions) {
            *check = skipped(
                Step::Permissions,
                "Velero runs as its image's USER, which the API does not show (no plugin ConfigMap or pod \
                 securityContext sets it): set securityContextRunAsUser in the plugin's ConfigMap to probe as it",
            );
        }
    }
    ProbeResult {
        agent: Agent::InCluster.name().to_string(),
        location: location.probed(),
        probe_key,
        checks,
        top_level_dirs: Vec::new(),
        clock_skew_seconds: None,
        versioning: None,
        object_lock: None,
        round_trip_ms: None,
        local_volume: Some(LocalVolumeReport {
            run_as: Some(run_as),
            volume: None,
            nodes,
        }),
    }
}

/// Every rule the local-volume checks name.
pub(crate) fn rule_ids() -> [&'static str; 3] {
    [NOT_WRITABLE_RULE, PATH_MISSING_RULE, FULL_RULE]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_writeable_is_the_plugin_s() {
        // Others may write: anyone.
        assert!(plugin_is_writeable(0o777, 0, 0, 1001, 1001));
        // The owner's bit counts for the owner only.
        assert!(plugin_is_writeable(0o755, 1001, 0, 1001, 0));
        assert!(!plugin_is_writeable(0o755, 4242, 4242, 1001, 1001));
        // The group's bit for the effective gid only.
        assert!(plugin_is_writeable(0o775, 4242, 1001, 1001, 1001));
        assert!(!plugin_is_writeable(0o775, 4242, 4242, 1001, 1001));
        // Root is not special to it: a 0755 directory of another owner is "not writeable" even for uid 0.
        assert!(!plugin_is_writeable(0o755, 4242, 4242, 0, 0));
    }

    #[test]
    fn an_almost_full_volume_is_named_by_the_full_disk_rule() {
        let full = space_check(100 << 20, 20 << 30, Some(1_000_000));
        assert_eq!(
            (full.status, full.rule.as_deref()),
            (Status::Failed, Some(FULL_RULE))
        );
        assert!(
            full.detail
                .starts_with("almost full: 100.0 MiB free of 20.0 GiB"),
            "{}",
            full.detail
        );
        let no_inodes = space_check(10 << 30, 20 << 30, Some(12));
        assert_eq!(no_inodes.rule.as_deref(), Some(FULL_RULE));
        let fine = space_check(10 << 30, 20 << 30, None);
        assert_eq!(
            (fine.status, fine.detail.as_str()),
            (Status::Passed, "10.0 GiB free of 20.0 GiB")
        );
    }

    #[test]
    fn file_errors_read_as_go_s_and_carry_their_rule() {
        let denied = std::io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error());
        let check = io_failure(
            Step::Put,
            "open",
            "/var/velero-local-volume-provider/b/snapdoc-probe-1",
            &denied,
        );
        assert_eq!(
            check.detail,
            "open /var/velero-local-volume-provider/b/snapdoc-probe-1: permission denied"
        );
        assert_eq!(check.rule.as_deref(), Some(NOT_WRITABLE_RULE));
        let full = std::io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error());
        assert_eq!(
            io_failure(Step::Put, "write", "k", &full).rule.as_deref(),
            Some(FULL_RULE)
        );
    }

    #[test]
    fn without_velero_s_uid_the_permission_check_is_no_pass() {
        let location = LocalVolumeLocation {
            provider: HOSTPATH_PROVIDER.to_string(),
            bucket: "b".to_string(),
            path: "/srv/snapshots".to_string(),
            ..LocalVolumeLocation::default()
        };
        let node = NodeProbe {
            node: "n1".to_string(),
            checks: vec![
                passed(Step::Stat, "a directory".to_string()),
                passed(Step::Permissions, "accepted".to_string()),
            ],
            volume: None,
        };
        let unknown = RunAs {
            source: "nothing sets it".to_string(),
            ..RunAs::default()
        };
        let result = join_nodes(&location, unknown, vec![node.clone()], String::new());
        assert_eq!(
            result.check(Step::Permissions).unwrap().status,
            Status::Skipped
        );
        assert!(
            result.to_terminal().contains("Velero's own is unknown"),
            "{}",
            result.to_terminal()
        );
        let known = RunAs {
            uid: Some(1001),
            ..RunAs::default()
        };
        let result = join_nodes(&location, known, vec![node], String::new());
        let permissions = result.check(Step::Permissions).unwrap();
        assert_eq!(
            (permissions.status, permissions.detail.as_str()),
            (Status::Passed, "node n1: accepted")
        );
    }

    #[test]
    fn the_volume_is_the_plugin_s() {
        let mut location = LocalVolumeLocation {
            provider: NFS_PROVIDER.to_string(),
            bucket: "nfs-snapshots".to_string(),
            ..LocalVolumeLocation::default()
        };
        location.set_config("path", "/export");
        assert!(
            location
                .validate()
                .unwrap_err()
                .to_string()
                .contains("nfs config missing server address")
        );
        location.set_config("server", "10.0.0.1");
        assert_eq!(
            location.volume(),
            json!({"name": "nfs-snapshots", "nfs": {"server": "10.0.0.1", "path": "/export"}})
        );
        assert_eq!(
            location.mount_path(),
            "/var/velero-local-volume-provider/nfs-snapshots"
        );
        let host = LocalVolumeLocation {
            provider: HOSTPATH_PROVIDER.to_string(),
            bucket: "hostpath-snapshots".to_string(),
            path: "/tmp/hostpath-snaps".to_string(),
            ..LocalVolumeLocation::default()
        };
        assert_eq!(host.volume()["hostPath"]["type"], "Directory");
    }
}
