//! The timeline of a failed backup: its log, server lines naming it, PVB/DataUpload transitions, events.
//!
//! Logs are streamed line by line (a line longer than [`MAX_LINE_BYTES`] is cut), and what is kept is
//! bounded while reading: each class of entry keeps its first and last lines, so memory does not grow
//! with the log.
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};

use jiff::Timestamp;
use serde_json::Value;

use super::analysis::{BackupSummary, Timeline, TimelineEntry};
use super::engine::fields::LineFields;
use super::engine::scan::count_newlines;
use super::error::AnalyzeError;
use super::facts::components::component_of_pod;
use super::facts::json::{self, i64_at, str_at, time_at};
use super::facts::pod_volume_backups::{PodVolumeBackup, PodVolumeBackups};
use super::facts::{node_events, picked};
use super::verdicts::object_ref;
use crate::bundle::{Bundle, LogFile, LogSource, layout};

/// The events timelines show (besides the object lists the facts read).
pub(crate) const EVENTS: &str = "events";
/// Timelines are built for this many of the most recent failed / partially failed backups.
pub(crate) const MAX_TIMELINES: usize = 3;
/// Entries one timeline holds, including the note saying how many were left out.
pub const MAX_ENTRIES: usize = 200;
/// Longer log lines are cut to this many bytes.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;
/// Backup-log lines remembered to spot their copies in the server log; past this, copies may show twice.
const MAX_REMEMBERED_LINES: usize = 100_000;
/// Shown text is cut to this many characters.
const MAX_TEXT_CHARS: usize = 600;

/// Builds the timelines of the failed backups in `backups` (the first few), reading their logs from `bundle`.
pub fn timelines(
    bundle: &mut Bundle,
    backups: &[BackupSummary],
) -> Result<Vec<Timeline>, AnalyzeError> {
    let Some(mut plan) = TimelinePlan::new(bundle, backups) else {
        return Ok(Vec::new());
    };
    let logs = plan.pod_logs(bundle);
    for log in &logs {
        let scan = plan.scan_pod_log(bundle, log);
        plan.absorb(scan);
    }
    Ok(plan.finish())
}

/// Timelines being built: what the objects and the backups' own logs say is in; the server and node-agent
/// logs are read next, each on its own ([`TimelinePlan::scan_pod_log`], any thread), and added in the
/// bundle's log order ([`TimelinePlan::absorb`]), which gives what reading them in that order would.
pub(crate) struct TimelinePlan {
    builders: Vec<Builder>,
    /// Matches a line naming a target backup or one of its transfers; `None`: nothing to look for.
    named: Option<regex::bytes::Regex>,
}

/// What one server or node-agent log adds to each timeline.
pub(crate) struct PodLogScan {
    /// Per builder: its entries from this log, numbered from 1 in the order they were met.
    per_builder: Vec<[Bounded; 3]>,
}

impl PodLogScan {
    fn new(builders: usize) -> PodLogScan {
        PodLogScan {
            per_builder: (0..builders)
                .map(|_| std::array::from_fn(|_| Bounded::new(MAX_ENTRIES)))
                .collect(),
        }
    }
}

impl TimelinePlan {
    /// `None` when no backup failed (no timeline to build).
    pub(crate) fn new(bundle: &mut Bundle, backups: &[BackupSummary]) -> Option<TimelinePlan> {
        let targets: Vec<&BackupSummary> = backups
            .iter()
            .filter(|b| &*b.kind == "backup")
            .filter(|b| matches!(b.phase.as_deref(), Some("Failed" | "PartiallyFailed")))
            .take(MAX_TIMELINES)
            .collect();
        if targets.is_empty() {
            return None;
        }
        // Missing or unreadable object lists leave those entries out; the facts report them as unavailable.
        let pod_volume_backups = PodVolumeBackups::of(bundle).unwrap_or_default();
        let data_uploads = bundle
            .shared_objects("datauploads.velero.io")
            .unwrap_or_default();
        let events = bundle.shared_objects(EVENTS).unwrap_or_default();

        let mut builders: Vec<Builder> = targets
            .iter()
            .map(|summary| {
                let mut builder = Builder::new(summary);
                builder.add_backup_object(summary);
                builder
            })
            .collect();
        // Each transfer's backup is looked up once, not once per timeline (tens of thousands of them).
        let transfers = pod_volume_backups
            .iter()
            .map(Transfer::of_pod_volume_backup)
            .chain(data_uploads.iter().map(Transfer::of_data_upload));
        for transfer in transfers {
            for builder in builders.iter_mut().filter(|b| {
                transfer.backup == Some(b.name.as_str())
                    || transfer.owners.contains(&b.name.as_str())
            }) {
                builder.add_transfer(&transfer);
            }
        }
        for builder in &mut builders {
            for event in events.iter() {
                builder.add_event(event);
            }
        }
        // The storage location each backup wrote to becoming Unavailable, and velero / node-agent containers
        // that restarted around it: causes the objects tell, which logs often do not.
        let locations = bundle
            .shared_objects("backupstoragelocations.velero.io")
            .unwrap_or_default();
        let pods = picked::objects(bundle, "pods").unwrap_or_default();
        for (builder, summary) in builders.iter_mut().zip(&targets) {
            let location = summary.storage_location.as_deref().unwrap_or("default");
            for object in locations.iter().filter(|l| {
                json::name(l) == Some(location)
                    && (summary.namespace.is_none()
                        || json::namespace(l) == summary.namespace.as_deref())
            }) {
                builder.add_location_state(object);
            }
            let window = Window::of(summary);
            for pod in pods.iter() {
                builder.add_container_restarts(pod, &window);
            }
        }
        // The kubelets' events about the nodes that ran each backup's volumes (disk pressure, evictions, OOM,
        // reboots): a cause no Velero log names. Unreadable or absent (older bundles): none.
        if let Ok(Some(node_events)) = bundle.read_json(layout::CLUSTER_NODE_EVENTS) {
            for (builder, summary) in builders.iter_mut().zip(&targets) {
                let window = Window::of(summary);
                for event in json::array_at(&node_events, &["items"]) {
                    builder.add_node_event(event, &window);
                }
            }
        }

        for builder in &mut builders {
            let path = layout::backup_log_path(&builder.name);
            if bundle.has(&path) {
                scan_backup_log(bundle, &path, builder);
            }
        }
        let named = names_searched(&builders);
        Some(TimelinePlan { builders, named })
    }

    /// The server and node-agent logs, in the order their entries are added.
    pub(crate) fn pod_logs(&self, bundle: &Bundle) -> Vec<LogFile> {
        if self.named.is_none() {
            return Vec::new();
        }
        bundle
            .logs()
            .into_iter()
            .filter(|l| matches!(l.source, LogSource::VeleroServer | LogSource::NodeAgent))
            .collect()
    }

    /// Reads one of [`TimelinePlan::pod_logs`] with `bundle` (the plan's bundle or a reopened reader of it).
    /// A log that cannot be read adds nothing; one that breaks off adds what was read before.
    pub(crate) fn scan_pod_log(&self, bundle: &mut Bundle, log: &LogFile) -> PodLogScan {
        let Some(mut lines) = PodLogLines::new(self, log) else {
            return PodLogScan::new(self.builders.len());
        };
        if let Ok(reader) = bundle.open_entry(&log.path) {
            let mut tee = TeeReader::new(reader, &mut lines);
            let mut buffer = vec![0u8; 64 * 1024];
            while let Ok(n) = tee.read(&mut buffer) {
                if n == 0 {
                    break;
                }
            }
        }
        lines.finish()
    }

    /// Adds one log's entries after those of the logs before it.
    pub(crate) fn absorb(&mut self, scan: PodLogScan) {
        for (builder, classes) in self.builders.iter_mut().zip(scan.per_builder) {
            let base = builder.seq;
            let mut met = 0;
            for (class, entries) in builder.classes.iter_mut().zip(classes) {
                met += entries.seen as u64;
                class.absorb(entries, base);
            }
            builder.seq = base + met;
        }
    }

    pub(crate) fn finish(self) -> Vec<Timeline> {
        self.builders
            .into_iter()
            .map(|b| {
                let target = b.target.clone();
                Timeline {
                    target,
                    entries: b.finish(),
                }
            })
            .collect()
    }
}

/// A volume transfer (a PodVolumeBackup or a DataUpload) as the timelines tell it.
struct Transfer<'a> {
    /// `PodVolumeBackup`, `DataUpload`.
    kind: &'static str,
    resource: &'static str,
    /// The entries' source: `podvolumebackup`, `dataupload`.
    source: &'static str,
    name: Option<&'a str>,
    namespace: Option<&'a str>,
    /// The backup it names in its `velero.io/backup-name` label, and the Backups owning it: it belongs to each.
    backup: Option<&'a str>,
    owners: Vec<&'a str>,
    /// What it moves: `volume <v> of pod <ns/pod>`, `PVC <ns/claim>`.
    subject: String,
    node: Option<&'a str>,
    uploader: Option<&'a str>,
    phase: Option<&'a str>,
    started: Option<Timestamp>,
    completed: Option<Timestamp>,
    /// Bytes done and in all.
    progress: (Option<i64>, Option<i64>),
    message: Option<&'a str>,
}

impl<'a> Transfer<'a> {
    fn of_pod_volume_backup(pvb: &'a PodVolumeBackup) -> Transfer<'a> {
        Transfer {
            kind: "PodVolumeBackup",
            resource: "podvolumebackups.velero.io",
            source: "podvolumebackup",
            name: pvb.name.as_deref(),
            namespace: pvb.namespace.as_deref(),
            backup: pvb.backup.as_deref(),
            owners: pvb.owning_backups.iter().map(|o| &**o).collect(),
            subject: format!(
                "volume {} of pod {}",
                pvb.volume.as_deref().unwrap_or("?"),
                qualified(
                    pvb.pod_namespace.as_deref(),
                    pvb.pod.as_deref().unwrap_or("?")
                )
            ),
            node: pvb.status_node.as_deref().or(pvb.node.as_deref()),
            uploader: pvb.uploader.as_deref(),
            phase: pvb.phase.as_deref(),
            started: pvb.started,
            completed: pvb.completed,
            progress: (pvb.bytes_done, pvb.total_bytes),
            message: pvb.message.as_deref(),
        }
    }

    fn of_data_upload(object: &'a Value) -> Transfer<'a> {
        Transfer {
            kind: "DataUpload",
            resource: "datauploads.velero.io",
            source: "dataupload",
            name: json::name(object),
            namespace: json::namespace(object),
            backup: json::label(object, "velero.io/backup-name"),
            owners: json::array_at(object, &["metadata", "ownerReferences"])
                .iter()
                .filter(|o| str_at(o, &["kind"]) == Some("Backup"))
                .filter_map(|o| str_at(o, &["name"]))
                .collect(),
            subject: format!(
                "PVC {}",
                qualified(
                    str_at(object, &["spec", "sourceNamespace"]),
                    str_at(object, &["spec", "sourcePVC"]).unwrap_or("?")
                )
            ),
            node: str_at(object, &["status", "node"]).or_else(|| str_at(object, &["spec", "node"])),
            uploader: str_at(object, &["spec", "uploaderType"]),
            phase: str_at(object, &["status", "phase"]),
            started: time_at(object, &["status", "startTimestamp"]),
            completed: time_at(object, &["status", "completionTimestamp"]),
            progress: (
                i64_at(object, &["status", "progress", "bytesDone"]),
                i64_at(object, &["status", "progress", "totalBytes"]),
            ),
            message: str_at(object, &["status", "message"]),
        }
    }
}

/// How telling an entry is; the least telling are dropped first when a timeline is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Errors, the backup's first and last log lines, volume transfers, events, the backup's own start/end.
    Key = 0,
    Warning = 1,
    /// Server lines naming the backup at info level or below, when its own log is not in the bundle.
    Context = 2,
}

#[derive(Debug, Clone)]
struct Pending {
    /// Where an untimed line sorts: the last time seen before it in the same file.
    sort_time: Option<Timestamp>,
    seq: u64,
    entry: TimelineEntry,
}

/// Keeps the first and last `capacity / 2` of what it is given, and counts the rest.
#[derive(Debug)]
struct Bounded {
    head: Vec<Pending>,
    tail: VecDeque<Pending>,
    half: usize,
    seen: usize,
}

impl Bounded {
    fn new(capacity: usize) -> Self {
        Bounded {
            head: Vec::new(),
            tail: VecDeque::new(),
            half: capacity / 2,
            seen: 0,
        }
    }
    fn push(&mut self, item: Pending) {
        self.seen += 1;
        if self.head.len() < self.half {
            self.head.push(item);
        } else {
            if self.tail.len() == self.half {
                self.tail.pop_front();
            }
            self.tail.push_back(item);
        }
    }
    fn kept(&self) -> usize {
        self.head.len() + self.tail.len()
    }
    /// Adds what `later` was given (numbered from 0) after what this was given, numbering it on from `base`:
    /// the same as having been given all of it. What `later` dropped lies between its head and tail; with a
    /// full head before it and a full tail after it, none of it would have been kept here either.
    fn absorb(&mut self, later: Bounded, base: u64) {
        let dropped = later.seen - later.kept();
        for mut item in later.head {
            item.seq += base;
            self.push(item);
        }
        self.seen += dropped;
        for mut item in later.tail {
            item.seq += base;
            self.push(item);
        }
    }
    /// Keeps at most `n`, half from each end.
    fn take(self, n: usize) -> Vec<Pending> {
        let all: Vec<Pending> = self.head.into_iter().chain(self.tail).collect();
        if all.len() <= n {
            return all;
        }
        let front = n.div_ceil(2);
        let back = n - front;
        let skip_to = all.len() - back;
        all.into_iter()
            .enumerate()
            .filter(|(i, _)| *i < front || *i >= skip_to)
            .map(|(_, p)| p)
            .collect()
    }
}

struct Builder {
    target: super::findings::ObjectRef,
    name: String,
    namespace: Option<String>,
    /// Names (and namespace/name) of its PodVolumeBackups and DataUploads, which node-agent lines name.
    transfers: HashSet<String>,
    /// The nodes its PodVolumeBackups and DataUploads ran on: the kubelet's events about them join its timeline.
    nodes: HashSet<String>,
    classes: [Bounded; 3],
    seq: u64,
    backup_log_read: bool,
    /// Hashes of (time, message) of backup-log warnings and errors, so the same line in the server log is not
    /// shown twice. Bounded by [`MAX_REMEMBERED_LINES`].
    seen_lines: HashSet<u64>,
}

impl Builder {
    fn new(summary: &BackupSummary) -> Self {
        Builder {
            target: object_ref(summary),
            name: summary.name.clone(),
            namespace: summary.namespace.as_deref().map(str::to_string),
            transfers: HashSet::new(),
            nodes: HashSet::new(),
            classes: [
                Bounded::new(MAX_ENTRIES),
                Bounded::new(MAX_ENTRIES),
                Bounded::new(MAX_ENTRIES),
            ],
            seq: 0,
            backup_log_read: false,
            seen_lines: HashSet::new(),
        }
    }

    fn push(
        &mut self,
        class: Class,
        time: Option<Timestamp>,
        sort_time: Option<Timestamp>,
        entry: TimelineEntry,
    ) {
        self.seq += 1;
        self.classes[class as usize].push(Pending {
            sort_time: time.or(sort_time),
            seq: self.seq,
            entry,
        });
    }

    fn add(
        &mut self,
        class: Class,
        time: Option<Timestamp>,
        source: &str,
        text: String,
        location: String,
    ) {
        let entry = TimelineEntry {
            time: time.map(|t| t.to_string()),
            source: source.to_string(),
            text: shorten(&text),
            location,
        };
        self.push(class, time, None, entry);
    }

    fn names_backup(&self, value: &str) -> bool {
        value == self.name
            || value.split_once('/').is_some_and(|(ns, name)| {
                name == self.name && self.namespace.as_deref().is_none_or(|n| n == ns)
            })
    }

    fn add_backup_object(&mut self, summary: &BackupSummary) {
        let location = format!(
            "{} {}",
            self.target.kind,
            qualified(self.namespace.as_deref(), &self.name)
        );
        if let Some(started) = summary.started.as_deref().and_then(json::parse_time) {
            self.add(
                Class::Key,
                Some(started),
                "backup",
                format!("Backup {} started", summary.name),
                location.clone(),
            );
        }
        let phase = summary.phase.as_deref().unwrap_or("an unknown phase");
        let mut text = format!("Backup {} ended {phase}", summary.name);
        let counts: Vec<String> = [("error", summary.errors), ("warning", summary.warnings)]
            .into_iter()
            .filter_map(|(what, n)| {
                n.filter(|n| *n > 0)
                    .map(|n| format!("{n} {what}{}", if n == 1 { "" } else { "s" }))
            })
            .collect();
        if !counts.is_empty() {
            text.push_str(&format!(" ({})", counts.join(", ")));
        }
        if let Some(reason) = &summary.failure_reason {
            text.push_str(&format!(": {reason}"));
        }
        let completed = summary.completed.as_deref().and_then(json::parse_time);
        self.add(Class::Key, completed, "backup", text, location);
    }

    /// A PodVolumeBackup or DataUpload: when it started and how it ended.
    fn add_transfer(&mut self, transfer: &Transfer<'_>) {
        let Some(name) = transfer.name else {
            return;
        };
        let Transfer {
            kind,
            resource,
            source,
            namespace,
            node,
            started,
            completed,
            ..
        } = *transfer;
        let subject = &transfer.subject;
        self.transfers.insert(name.to_string());
        self.transfers.insert(qualified(namespace, name));
        let location = format!("{resource} {}", qualified(namespace, name));
        if let Some(node) = node {
            self.nodes.insert(node.to_string());
        }
        if let Some(started) = started {
            let mut text = format!("{kind} {name} started for {subject}");
            if let Some(node) = node {
                text.push_str(&format!(" on node {node}"));
            }
            if let Some(uploader) = transfer.uploader {
                text.push_str(&format!(" ({uploader})"));
            }
            self.add(Class::Key, Some(started), source, text, location.clone());
        }
        let phase = transfer.phase.unwrap_or("no phase");
        let mut text = format!("{kind} {name} {phase}");
        if started.is_none() {
            text.push_str(&format!(" for {subject}"));
        }
        if let (Some(done), Some(total)) = transfer.progress {
            text.push_str(&format!(
                " after {} of {}",
                human_bytes(done),
                human_bytes(total)
            ));
        }
        if let Some(message) = transfer.message {
            text.push_str(&format!(": {message}"));
        }
        // A transfer still running or never started sorts at its start, else at the end.
        let time = completed.or(started);
        self.add(Class::Key, time, source, text, location);
    }

    fn add_event(&mut self, event: &Value) {
        let kind = str_at(event, &["involvedObject", "kind"]);
        let Some(name) = str_at(event, &["involvedObject", "name"]) else {
            return;
        };
        let about_it = match kind {
            Some("Backup") => name == self.name,
            Some("PodVolumeBackup" | "DataUpload") => self.transfers.contains(name),
            _ => false,
        };
        if !about_it {
            return;
        }
        let time = time_at(event, &["lastTimestamp"])
            .or_else(|| time_at(event, &["eventTime"]))
            .or_else(|| time_at(event, &["firstTimestamp"]))
            .or_else(|| json::created(event));
        let mut text = format!(
            "{} event {}: {}",
            str_at(event, &["type"]).unwrap_or("Normal"),
            str_at(event, &["reason"]).unwrap_or("?"),
            str_at(event, &["message"]).unwrap_or("")
        );
        if let Some(count) = i64_at(event, &["count"]).filter(|c| *c > 1) {
            text.push_str(&format!(" (×{count})"));
        }
        let location = format!(
            "events {}",
            qualified(json::namespace(event), json::name(event).unwrap_or("?"))
        );
        self.add(Class::Key, time, "event", text, location);
    }

    /// A storage location whose last validation found it Unavailable, at that validation's time.
    fn add_location_state(&mut self, object: &Value) {
        let Some(name) = json::name(object) else {
            return;
        };
        if str_at(object, &["status", "phase"]) != Some("Unavailable") {
            return;
        }
        let time = time_at(object, &["status", "lastValidationTime"]);
        let mut text = format!("BackupStorageLocation {name} Unavailable at its last validation");
        if let Some(message) = str_at(object, &["status", "message"]).filter(|m| !m.is_empty()) {
            text.push_str(&format!(": {message}"));
        }
        let location = format!(
            "backupstoragelocations.velero.io {}",
            qualified(json::namespace(object), name)
        );
        self.add(Class::Key, time, "storage-location", text, location);
    }

    /// The velero and node-agent containers of `pod` whose last run ended (`lastState.terminated`) inside the
    /// backup's window: a restart, at the time the run ended, with why.
    /// A kubelet event about a node that ran one of the backup's volumes, when it tells of a node in trouble and
    /// concerns the backup's time: it began before the backup ended and lasted until at least the window's start.
    /// One that began after the backup ended cannot have caused it and is left out.
    fn add_node_event(&mut self, event: &Value, window: &Window) {
        let Some((node, reason)) = node_events::node_trouble(event) else {
            return;
        };
        if !self.nodes.contains(node) {
            return;
        }
        let Some((began, last)) = node_events::event_span(event) else {
            return;
        };
        if !window.began_in_time(began, last) {
            return;
        }
        let mut text = format!(
            "{} event {} on node {node}: {}",
            str_at(event, &["type"]).unwrap_or("Normal"),
            reason,
            str_at(event, &["message"]).unwrap_or("")
        );
        if let Some(count) = i64_at(event, &["count"]).filter(|c| *c > 1) {
            text.push_str(&format!(" (×{count}, last at {last})"));
        }
        let location = format!(
            "{} {}",
            layout::CLUSTER_NODE_EVENTS,
            qualified(json::namespace(event), json::name(event).unwrap_or("?"))
        );
        self.add(Class::Key, Some(began), "node-event", text, location);
    }

    fn add_container_restarts(&mut self, pod: &Value, window: &Window) {
        let Some(component) = component_of_pod(pod).filter(|c| *c != "kotsadm") else {
            return;
        };
        let Some(pod_name) = json::name(pod) else {
            return;
        };
        for status in json::array_at(pod, &["status", "containerStatuses"]) {
            let Some(ended) = time_at(status, &["lastState", "terminated", "finishedAt"]) else {
                continue;
            };
            if !window.holds(ended) {
                continue;
            }
            let container = str_at(status, &["name"]).unwrap_or(component);
            let reason = str_at(status, &["lastState", "terminated", "reason"]).unwrap_or("ended");
            let mut text = format!(
                "Container {container} of {component} pod {} restarted: its last run ended {reason}",
                qualified(json::namespace(pod), pod_name)
            );
            if let Some(code) = i64_at(status, &["lastState", "terminated", "exitCode"]) {
                text.push_str(&format!(" (exit code {code})"));
            }
            if let Some(restarts) = i64_at(status, &["restartCount"]).filter(|n| *n > 0) {
                text.push_str(&format!(
                    "; {restarts} restart{} in all",
                    if restarts == 1 { "" } else { "s" }
                ));
            }
            if let Some(node) = str_at(pod, &["spec", "nodeName"]) {
                text.push_str(&format!(", node {node}"));
            }
            let location = format!("pods {}", qualified(json::namespace(pod), pod_name));
            self.add(Class::Key, Some(ended), "container", text, location);
        }
    }

    fn finish(self) -> Vec<TimelineEntry> {
        let seen: usize = self.classes.iter().map(|c| c.seen).sum();
        let mut kept: Vec<Pending> = Vec::new();
        let mut room = MAX_ENTRIES;
        let total_kept: usize = self.classes.iter().map(Bounded::kept).sum();
        if seen > MAX_ENTRIES || total_kept > MAX_ENTRIES {
            // One place goes to the note saying what was left out.
            room -= 1;
        }
        for class in self.classes {
            let n = room.min(class.kept());
            room -= n;
            kept.extend(class.take(n));
        }
        kept.sort_by(|a, b| {
            // Untimed entries (no time in file order either) go last. Within one second (object times have
            // no finer precision) the cause comes first and the backup's end last.
            let key = |p: &Pending| {
                (
                    p.sort_time.is_none(),
                    p.sort_time.map(|t| t.as_second()),
                    cause_rank(&p.entry),
                    p.sort_time,
                    p.seq,
                )
            };
            key(a).cmp(&key(b))
        });
        let dropped = seen - kept.len();
        let mut entries: Vec<TimelineEntry> = kept.into_iter().map(|p| p.entry).collect();
        if dropped > 0 {
            entries.push(TimelineEntry {
                time: None,
                source: "snapdoc".into(),
                text: format!(
                    "{dropped} more entr{} not shown: a timeline keeps {MAX_ENTRIES}, errors, volume \
                     transfers and events first, then the first and last of the rest",
                    if dropped == 1 { "y" } else { "ies" }
                ),
                location: String::new(),
            });
        }
        entries
    }
}

/// Where an entry sorts among those of the same second: 0 a cause (an error, a kill, a restart, a location
/// Unavailable, a failed transfer), 2 the backup's own end, 1 the rest.
fn cause_rank(entry: &TimelineEntry) -> u8 {
    if entry.source == "backup" && entry.text.contains(" ended ") {
        return 2;
    }
    let cause = matches!(entry.source.as_str(), "container" | "storage-location")
        || is_alarming(&entry.text);
    if cause { 0 } else { 1 }
}

/// Whether an entry's text tells of a failure (an error or fatal line, a failed step, a kill): the timeline puts
/// it first within its second and the report marks it.
pub(crate) fn is_alarming(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "level=error",
        "level=fatal",
        "\"level\":\"error\"",
        "failed",
        "oomkilled",
        "signal: killed",
        "error:",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// The time around a backup in which what happened can concern it: its start to its completion, widened by
/// the verdicts' slack (a validation or a restart a few minutes off still explains it); open-ended where a
/// time is unknown.
struct Window {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    /// The backup's completion itself, without slack.
    ended: Option<Timestamp>,
}

impl Window {
    fn of(summary: &BackupSummary) -> Window {
        let slack = super::verdicts::TIME_SLACK;
        Window {
            from: summary
                .started
                .as_deref()
                .and_then(json::parse_time)
                .and_then(|t| t.checked_sub(slack).ok()),
            to: summary
                .completed
                .as_deref()
                .and_then(json::parse_time)
                .and_then(|t| t.checked_add(slack).ok()),
            ended: summary.completed.as_deref().and_then(json::parse_time),
        }
    }

    /// Whether something seen from `began` to `last` was under way while the backup ran: it began no later
    /// than the backup ended, and was still seen at or after the window's start.
    fn began_in_time(&self, began: Timestamp, last: Timestamp) -> bool {
        self.ended.is_none_or(|ended| began <= ended) && self.from.is_none_or(|from| last >= from)
    }

    fn holds(&self, time: Timestamp) -> bool {
        self.from.is_none_or(|from| time >= from) && self.to.is_none_or(|to| time <= to)
    }
}

fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Reads lines of at most `max` bytes (the rest of a longer line is skipped), without the line ending.
struct LineReader<R> {
    reader: BufReader<R>,
    max: usize,
}

impl<R: Read> LineReader<R> {
    fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader: BufReader::with_capacity(64 * 1024, reader),
            max,
        }
    }

    /// `Ok(None)` at the end of the stream.
    fn next_line(&mut self, line: &mut Vec<u8>) -> std::io::Result<Option<()>> {
        line.clear();
        let mut any = false;
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                return Ok(any.then_some(()));
            }
            any = true;
            let (chunk, consumed, done) = match buffer.iter().position(|b| *b == b'\n') {
                Some(i) => (&buffer[..i], i + 1, true),
                None => (buffer, buffer.len(), false),
            };
            let room = self.max.saturating_sub(line.len());
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.reader.consume(consumed);
            if done {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(()));
            }
        }
    }
}

/// Identifies a log line by its time and message, the same in the backup log and the server log.
fn line_key(time: Option<Timestamp>, fields: &LineFields, raw: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    time.hash(&mut hasher);
    fields.get("msg").unwrap_or(raw).hash(&mut hasher);
    hasher.finish()
}

fn is_error_level(level: Option<&str>) -> bool {
    matches!(level, Some("error" | "fatal" | "panic" | "critical"))
}

fn is_warning_level(level: Option<&str>) -> bool {
    matches!(level, Some("warning" | "warn"))
}

/// What a log line says: level, message and error, or the line itself when it has no fields.
fn describe(fields: &LineFields, raw: &str) -> String {
    let Some(msg) = fields.get("msg").or_else(|| fields.get("message")) else {
        return raw.trim().to_string();
    };
    let mut text = String::new();
    if let Some(level) = fields.level() {
        text.push_str(&level);
        text.push_str(": ");
    }
    text.push_str(msg);
    if let Some(error) = fields.get("error").or_else(|| fields.get("err")) {
        text.push_str(": ");
        text.push_str(error);
    }
    for context in ["resource", "namespace", "name", "pod", "volume"] {
        if let Some(value) = fields.get(context) {
            text.push_str(&format!(" {context}={value}"));
        }
    }
    text
}

fn open_lines<'a>(
    bundle: &'a mut Bundle,
    path: &str,
) -> Result<LineReader<Box<dyn Read + 'a>>, String> {
    bundle
        .open_entry(path)
        .map(|reader| LineReader::new(reader, MAX_LINE_BYTES))
        .map_err(|e| e.to_string())
}

/// The backup's own log: warnings and errors, and its first and last lines.
fn scan_backup_log(bundle: &mut Bundle, path: &str, builder: &mut Builder) {
    builder.backup_log_read = true;
    let mut lines = match open_lines(bundle, path) {
        Ok(lines) => lines,
        Err(e) => {
            builder.add(
                Class::Key,
                None,
                "backup-log",
                format!("the backup log could not be read: {e}"),
                path.to_string(),
            );
            return;
        }
    };
    let mut buffer = Vec::new();
    let mut number = 0u64;
    let mut last_time: Option<Timestamp> = None;
    // The last line is known only at the end; it is held until then unless already kept.
    let mut held_last: Option<(Option<Timestamp>, Option<Timestamp>, TimelineEntry)> = None;
    loop {
        match lines.next_line(&mut buffer) {
            Ok(Some(())) => {}
            Ok(None) => break,
            Err(e) => {
                builder.add(
                    Class::Key,
                    last_time,
                    "backup-log",
                    format!("the backup log could not be read past line {number}: {e}"),
                    format!("{path}:{}", number + 1),
                );
                break;
            }
        }
        number += 1;
        let raw = String::from_utf8_lossy(&buffer);
        if raw.trim().is_empty() {
            continue;
        }
        let fields = LineFields::parse(&raw);
        let time = fields.time(&raw);
        if time.is_some() {
            last_time = time;
        }
        let level = fields.level();
        let class = if is_error_level(level.as_deref()) {
            Some(Class::Key)
        } else if is_warning_level(level.as_deref()) {
            Some(Class::Warning)
        } else if number == 1 {
            Some(Class::Key)
        } else {
            None
        };
        let entry = TimelineEntry {
            time: time.map(|t| t.to_string()),
            source: "backup-log".into(),
            text: shorten(&describe(&fields, &raw)),
            location: format!("{path}:{number}"),
        };
        match class {
            Some(class) => {
                if builder.seen_lines.len() < MAX_REMEMBERED_LINES {
                    builder.seen_lines.insert(line_key(time, &fields, &raw));
                }
                builder.push(class, time, last_time, entry);
                held_last = None;
            }
            None => held_last = Some((time, last_time, entry)),
        }
    }
    if let Some((time, sort_time, entry)) = held_last {
        builder.push(Class::Key, time, sort_time, entry);
    }
}

/// Matches any line holding the name of a timeline's backup or of one of its transfers; `None` when there is
/// nothing to look for.
fn names_searched(builders: &[Builder]) -> Option<regex::bytes::Regex> {
    let mut names: Vec<String> = builders
        .iter()
        .flat_map(|b| std::iter::once(&b.name).chain(b.transfers.iter()))
        .filter(|name| !name.is_empty())
        .map(|name| regex::escape(name))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return None;
    }
    regex::bytes::Regex::new(&names.join("|")).ok()
}

/// Reads a velero server or node-agent log as it streams by, in pieces of any size, for the lines naming one of
/// the targets (or, for the node agent, one of their PodVolumeBackups / DataUploads). Lines are those
/// [`LineReader`] gives (cut to [`MAX_LINE_BYTES`], without their ending), so the entries are the same whoever
/// reads the log: this plan alone ([`TimelinePlan::scan_pod_log`]) or the log rules' scan ([`TeeReader`]).
pub(crate) struct PodLogLines<'p> {
    builders: &'p [Builder],
    named: &'p regex::bytes::Regex,
    path: &'p str,
    source: LogSource,
    scan: PodLogScan,
    /// Entries met so far, per builder (their numbering).
    met: Vec<u64>,
    last_time: Option<Timestamp>,
    /// Number of the line being read (1-based).
    number: u64,
    /// The start of a line the piece read so far ended in (at most [`MAX_LINE_BYTES`] of it).
    carry: Vec<u8>,
    /// Whether a line is begun and not ended (its text so far is in `carry`, possibly cut).
    in_line: bool,
}

impl<'p> PodLogLines<'p> {
    /// Reads for `plan`; `None` when the plan looks for nothing.
    pub(crate) fn new(plan: &'p TimelinePlan, log: &'p LogFile) -> Option<PodLogLines<'p>> {
        Some(PodLogLines {
            builders: &plan.builders,
            named: plan.named.as_ref()?,
            path: &log.path,
            source: log.source,
            scan: PodLogScan::new(plan.builders.len()),
            met: vec![0; plan.builders.len()],
            last_time: None,
            number: 1,
            carry: Vec::new(),
            in_line: false,
        })
    }

    /// The next piece of the log.
    pub(crate) fn feed(&mut self, mut piece: &[u8]) {
        if self.in_line {
            // The line begun in an earlier piece: a match may straddle the cut, so it is checked whole.
            let Some(newline) = piece.iter().position(|&b| b == b'\n') else {
                self.keep(piece);
                return;
            };
            self.keep(&piece[..newline]);
            let mut line = std::mem::take(&mut self.carry);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.named.is_match(&line) {
                self.line(&line);
            }
            self.carry = line;
            self.carry.clear();
            self.in_line = false;
            self.number += 1;
            piece = &piece[newline + 1..];
        }
        // Whole lines are found from a match of a name: one search over the piece instead of one a line.
        let mut cursor = 0;
        while cursor < piece.len() {
            let Some(hit) = self.named.find_at(piece, cursor) else {
                break;
            };
            let start = piece[cursor..hit.start()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(cursor, |i| cursor + i + 1);
            self.number += count_newlines(&piece[cursor..start]);
            let Some(end) = piece[hit.start()..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| hit.start() + i)
            else {
                // The line goes on in the next piece.
                self.keep(&piece[start..]);
                self.in_line = true;
                return;
            };
            let mut line = &piece[start..end];
            line = &line[..line.len().min(MAX_LINE_BYTES)];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            // A name past the cut is not in the line as read.
            if end - start <= MAX_LINE_BYTES || self.named.is_match(line) {
                self.line(line);
            }
            self.number += 1;
            cursor = end + 1;
        }
        let rest = &piece[cursor.min(piece.len())..];
        match rest.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.number += count_newlines(&rest[..=last]);
                let tail = &rest[last + 1..];
                if !tail.is_empty() {
                    self.keep(tail);
                    self.in_line = true;
                }
            }
            None if !rest.is_empty() => {
                self.keep(rest);
                self.in_line = true;
            }
            None => {}
        }
    }

    /// The log ended (not cut short by an error): its last line, if it has no newline, is a line too.
    pub(crate) fn end(&mut self) {
        if self.in_line {
            let line = std::mem::take(&mut self.carry);
            if self.named.is_match(&line) {
                self.line(&line);
            }
            self.in_line = false;
            self.number += 1;
        }
    }

    pub(crate) fn finish(self) -> PodLogScan {
        self.scan
    }

    fn keep(&mut self, text: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.carry.len());
        self.carry.extend_from_slice(&text[..text.len().min(room)]);
    }

    /// A line naming some target's backup or transfer.
    fn line(&mut self, line: &[u8]) {
        let raw = String::from_utf8_lossy(line);
        let fields = LineFields::parse(&raw);
        let time = fields.time(&raw);
        if time.is_some() {
            self.last_time = time;
        }
        let level = fields.level();
        for (index, builder) in self.builders.iter().enumerate() {
            // `backuprequest`: the backup controller's own lines (Velero 1.12+).
            let names_it = ["backup", "backuprequest"]
                .iter()
                .any(|key| fields.get(key).is_some_and(|b| builder.names_backup(b)))
                || ["podvolumebackup", "dataupload", "pvb", "du"]
                    .iter()
                    .any(|key| {
                        fields
                            .get(key)
                            .is_some_and(|v| builder.transfers.contains(v))
                    });
            if !names_it {
                continue;
            }
            let class = if is_error_level(level.as_deref()) {
                Class::Key
            } else if is_warning_level(level.as_deref()) {
                Class::Warning
            } else if self.source == LogSource::VeleroServer && !builder.backup_log_read {
                Class::Context
            } else {
                continue;
            };
            if builder.seen_lines.contains(&line_key(time, &fields, &raw)) {
                continue;
            }
            let entry = TimelineEntry {
                time: time.map(|t| t.to_string()),
                source: self.source.as_str().to_string(),
                text: shorten(&describe(&fields, &raw)),
                location: format!("{}:{}", self.path, self.number),
            };
            // Numbered as Builder::push numbers, from this log's start; TimelinePlan::absorb numbers on.
            self.met[index] += 1;
            self.scan.per_builder[index][class as usize].push(Pending {
                sort_time: time.or(self.last_time),
                seq: self.met[index],
                entry,
            });
        }
    }
}

/// `3.8 GiB`, `512 bytes`: a transfer's progress as a person reads it (binary units, as kubectl shows sizes).
pub(crate) fn human_bytes(bytes: impl Into<i128>) -> String {
    let bytes: i128 = bytes.into();
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes.abs() < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Passes a reader's bytes through, showing each piece read to a [`PodLogLines`] on the way: the log rules'
/// scan and a timeline read a log with one decompression.
pub(crate) struct TeeReader<'l, 'p, R> {
    inner: R,
    lines: &'l mut PodLogLines<'p>,
}

impl<'l, 'p, R: Read> TeeReader<'l, 'p, R> {
    pub(crate) fn new(inner: R, lines: &'l mut PodLogLines<'p>) -> Self {
        TeeReader { inner, lines }
    }
}

impl<R: Read> Read for TeeReader<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.lines.end();
        } else {
            self.lines.feed(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_counts_read_as_sizes() {
        assert_eq!(super::human_bytes(512), "512 bytes");
        assert_eq!(super::human_bytes(1_048_576), "1.0 MiB");
        assert_eq!(super::human_bytes(4_109_864_135_i64), "3.8 GiB");
    }

    use super::*;

    #[test]
    fn within_one_second_the_cause_comes_first_and_the_backups_end_last() {
        let summary = BackupSummary {
            kind: "backup".into(),
            name: "b".into(),
            namespace: Some("velero".into()),
            ..BackupSummary::default()
        };
        let mut builder = Builder::new(&summary);
        let second: Timestamp = "2026-11-25T02:03:11Z".parse().unwrap();
        let later: Timestamp = "2026-11-25T02:03:11.500Z".parse().unwrap();
        let at = |time: Timestamp, source: &str, text: &str| {
            (time, source.to_string(), text.to_string())
        };
        for (time, source, text) in [
            at(second, "backup", "Backup b ended Failed"),
            at(second, "backup-log", "info: Backup completed"),
            at(later, "velero-server", "info: later in the same second"),
            at(
                second,
                "container",
                "Container velero of velero pod velero/v restarted",
            ),
            at(later, "backup-log", "level=error msg=\"the cause\""),
        ] {
            builder.add(Class::Key, Some(time), &source, text, String::new());
        }
        let texts: Vec<String> = builder.finish().into_iter().map(|e| e.text).collect();
        assert_eq!(
            texts,
            vec![
                "Container velero of velero pod velero/v restarted",
                "level=error msg=\"the cause\"",
                "info: Backup completed",
                "info: later in the same second",
                "Backup b ended Failed",
            ]
        );
    }

    #[test]
    fn node_events_join_only_when_the_node_ran_the_backup_s_volumes_in_its_time() {
        let summary = BackupSummary {
            kind: "backup".into(),
            name: "b".into(),
            namespace: Some("velero".into()),
            started: Some("2026-11-25T02:00:00Z".into()),
            completed: Some("2026-11-25T02:10:00Z".into()),
            ..BackupSummary::default()
        };
        let mut builder = Builder::new(&summary);
        let pod_volume_backups = PodVolumeBackups::from_objects(&[serde_json::json!({
            "metadata": {"name": "b-x1", "namespace": "velero"},
            "spec": {"node": "node-1", "volume": "data", "pod": {"namespace": "app", "name": "db-0"}},
            "status": {"phase": "Failed"}})]);
        builder.add_transfer(&Transfer::of_pod_volume_backup(&pod_volume_backups[0]));
        let window = Window::of(&summary);
        // composed: the kubelet's eviction event (reason and wording of pkg/kubelet/eviction/eviction_manager.go)
        let event = |node: &str, reason: &str, first: &str, last: &str| {
            serde_json::json!({"metadata": {"name": format!("{node}.x"), "namespace": "default"},
                   "involvedObject": {"kind": "Node", "name": node},
                   "reason": reason, "type": "Warning",
                   "message": "Attempting to reclaim ephemeral-storage",
                   "firstTimestamp": first, "lastTimestamp": last, "count": 3})
        };
        for e in [
            // during the backup, on its node: kept
            event(
                "node-1",
                "EvictionThresholdMet",
                "2026-11-25T02:04:00Z",
                "2026-11-25T02:06:00Z",
            ),
            // began after the backup ended: left out, even within the slack
            event(
                "node-1",
                "NodeHasDiskPressure",
                "2026-11-25T02:12:00Z",
                "2026-11-25T02:20:00Z",
            ),
            // another node
            event(
                "node-2",
                "EvictionThresholdMet",
                "2026-11-25T02:04:00Z",
                "2026-11-25T02:06:00Z",
            ),
            // not a node in trouble
            event(
                "node-1",
                "NodeReady",
                "2026-11-25T02:04:00Z",
                "2026-11-25T02:04:00Z",
            ),
            // over long before the backup
            event(
                "node-1",
                "Rebooted",
                "2026-11-24T20:00:00Z",
                "2026-11-24T20:00:00Z",
            ),
        ] {
            builder.add_node_event(&e, &window);
        }
        let entries: Vec<TimelineEntry> = builder
            .finish()
            .into_iter()
            .filter(|e| e.source == "node-event")
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(
            entries[0].text,
            "Warning event EvictionThresholdMet on node node-1: Attempting to reclaim ephemeral-storage (×3, last \
             at 2026-11-25T02:06:00Z)"
        );
        assert_eq!(entries[0].time.as_deref(), Some("2026-11-25T02:04:00Z"));
    }

    #[test]
    fn an_unavailable_location_and_restarts_in_the_window_are_entries() {
        let summary = BackupSummary {
            kind: "backup".into(),
            name: "b".into(),
            started: Some("2026-11-25T02:00:00Z".into()),
            completed: Some("2026-11-25T02:10:00Z".into()),
            ..BackupSummary::default()
        };
        let mut builder = Builder::new(&summary);
        builder.add_location_state(&serde_json::json!({
            "metadata": {"name": "default", "namespace": "velero"},
            "status": {"phase": "Unavailable", "lastValidationTime": "2026-11-25T02:09:00Z",
                       "message": "NoSuchBucket"}}));
        // Available: nothing to say.
        builder.add_location_state(&serde_json::json!({
            "metadata": {"name": "other"}, "status": {"phase": "Available"}}));
        let pod = |name: &str, ended: &str| {
            serde_json::json!({
                "metadata": {"name": name, "namespace": "velero"},
                "spec": {"nodeName": "n1", "containers": [{"name": "velero"}]},
                "status": {"containerStatuses": [{"name": "velero", "restartCount": 1,
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": ended}}}]}})
        };
        let window = Window::of(&summary);
        builder.add_container_restarts(&pod("velero-in", "2026-11-25T02:05:00Z"), &window);
        // An hour after the backup: not about it.
        builder.add_container_restarts(&pod("velero-out", "2026-11-25T03:10:00Z"), &window);
        let entries = builder.finish();
        let texts: Vec<&str> = entries.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Container velero of velero pod velero/velero-in restarted: its last run ended Error (exit code 1); 1 restart in all, node n1",
                "BackupStorageLocation default Unavailable at its last validation: NoSuchBucket",
            ]
        );
        assert_eq!(entries[0].source, "container");
        assert_eq!(entries[1].source, "storage-location");
    }

    #[test]
    fn long_lines_are_cut_not_loaded() {
        let data = format!("{}\nshort\r\nlast", "x".repeat(100_000));
        let mut reader = LineReader::new(data.as_bytes(), 1000);
        let mut line = Vec::new();
        assert!(reader.next_line(&mut line).unwrap().is_some());
        assert_eq!(line.len(), 1000);
        reader.next_line(&mut line).unwrap();
        assert_eq!(line, b"short");
        reader.next_line(&mut line).unwrap();
        assert_eq!(line, b"last");
        assert!(reader.next_line(&mut line).unwrap().is_none());
    }

    /// The entries a pod log gives, as (class, number, location, text).
    fn entries_of(scan: PodLogScan) -> Vec<(usize, u64, String, String)> {
        scan.per_builder
            .into_iter()
            .flat_map(|classes| {
                classes
                    .into_iter()
                    .enumerate()
                    .flat_map(|(class, bounded)| {
                        bounded
                            .head
                            .into_iter()
                            .chain(bounded.tail)
                            .map(move |p| (class, p.seq, p.entry.location, p.entry.text))
                    })
            })
            .collect()
    }

    #[test]
    fn pod_log_lines_in_any_pieces_are_the_line_readers_lines() {
        let summary = BackupSummary {
            kind: "backup".into(),
            name: "nightly-1".into(),
            namespace: Some("velero".into()),
            phase: Some("Failed".into()),
            ..Default::default()
        };
        let mut builder = Builder::new(&summary);
        builder.transfers.insert("nightly-1-pvb".into());
        let builders = vec![builder];
        let named = names_searched(&builders);
        let plan = TimelinePlan { builders, named };
        let log = LogFile {
            path: "velero/logs/velero-0/velero.log".into(),
            source: LogSource::VeleroServer,
            pod: Some("velero-0".into()),
            container: Some("velero".into()),
            previous: false,
            owner: None,
        };
        let padding = "x".repeat(MAX_LINE_BYTES);
        let mut text = String::new();
        text.push_str("level=info msg=\"other\" backup=velero/nightly-2\n");
        text.push_str("level=error msg=\"first\" backup=velero/nightly-1\r\n\n\r\n");
        // Named early in a line longer than a line is kept: kept, cut.
        text.push_str(&format!(
            "level=warning msg=\"long\" backup=nightly-1 pad={padding}\n"
        ));
        // Named only past the cut: not a line naming it, as read.
        text.push_str(&format!(
            "level=error msg=\"hidden\" pad={padding} backup=nightly-1\n"
        ));
        text.push_str("level=error msg=\"transfer\" podvolumebackup=nightly-1-pvb\n");
        text.push_str("level=info msg=\"context\" backup=velero/nightly-1\n");
        text.push_str("level=error msg=\"last, unterminated\" backup=nightly-1");
        let data = text.as_bytes();

        let mut reference = PodLogLines::new(&plan, &log).unwrap();
        let mut reader = LineReader::new(data, MAX_LINE_BYTES);
        let mut line = Vec::new();
        let mut number = 0;
        while reader.next_line(&mut line).unwrap().is_some() {
            number += 1;
            if plan.named.as_ref().unwrap().is_match(&line) {
                reference.number = number;
                reference.line(&line);
            }
        }
        let expected = entries_of(reference.finish());
        assert_eq!(expected.len(), 5, "{expected:?}");
        assert!(expected.iter().any(|e| e.2.ends_with(":8")));

        for piece in [1, 2, 3, 7, 64, 1000, MAX_LINE_BYTES + 5, data.len()] {
            let mut lines = PodLogLines::new(&plan, &log).unwrap();
            for chunk in data.chunks(piece) {
                lines.feed(chunk);
            }
            lines.end();
            assert_eq!(
                entries_of(lines.finish()),
                expected,
                "pieces of {piece} bytes"
            );
        }
    }

    #[test]
    fn bounded_parts_absorbed_in_order_keep_what_one_bounded_keeps() {
        let pending = |seq: u64| Pending {
            sort_time: None,
            seq,
            entry: TimelineEntry {
                time: None,
                source: String::new(),
                text: String::new(),
                location: String::new(),
            },
        };
        let kept =
            |b: &Bounded| -> Vec<u64> { b.head.iter().chain(&b.tail).map(|p| p.seq).collect() };
        for parts in [
            vec![3, 0, 250, 2],
            vec![99, 101, 1],
            vec![500],
            vec![1; 230],
            vec![0, 0],
        ] {
            let mut whole = Bounded::new(MAX_ENTRIES);
            let mut absorbed = Bounded::new(MAX_ENTRIES);
            let mut seq = 0;
            for len in parts {
                let mut part = Bounded::new(MAX_ENTRIES);
                for local in 1..=len {
                    whole.push(pending(seq + local));
                    part.push(pending(local));
                }
                absorbed.absorb(part, seq);
                seq += len;
            }
            assert_eq!(kept(&absorbed), kept(&whole));
            assert_eq!(absorbed.seen, whole.seen);
        }
    }

    #[test]
    fn bounded_keeps_both_ends() {
        let mut b = Bounded::new(4);
        for i in 0..10u64 {
            b.push(Pending {
                sort_time: None,
                seq: i,
                entry: TimelineEntry {
                    time: None,
                    source: String::new(),
                    text: i.to_string(),
                    location: String::new(),
                },
            });
        }
        assert_eq!(b.seen, 10);
        let kept: Vec<u64> = b.take(3).into_iter().map(|p| p.seq).collect();
        assert_eq!(kept, vec![0, 1, 9]);
    }
}
