//! Realistic `Analysis` values for the report tests: a backup failed on a deleted bucket, a file-system backup
//! partially failed because node-agent was OOMKilled, a healthy cluster, and a hostile one whose every text
//! field carries markup meant to break out of its context.
#![allow(dead_code)]

use snapdoc::analyze::{
    ANALYSIS_SCHEMA_VERSION, BackupSummary, BundleInfo, ComponentInfo, Environment, NodeInfo,
    RuleRef, ServerSetting, StorageLocationInfo, Timeline, TimelineEntry, VolumeRef,
};
use snapdoc::analyze::{Analysis, Status};
use snapdoc::analyze::{Evidence, Finding, MatchSpan, ObjectRef, Severity, Verdict};
use snapdoc::bundle::CollectorError;

/// Every fixture, by the name used for artifacts (report-<name>.png).
pub(crate) fn all() -> Vec<(&'static str, Analysis)> {
    vec![
        ("failed-bsl", failed_bsl()),
        ("partially-failed-fsb", partially_failed_fsb()),
        ("healthy", healthy()),
        ("hostile", hostile()),
    ]
}

/// Markup planted in the hostile fixture: a script, a `</details>` that would close the evidence early, a
/// table pipe, backticks, a CDATA end, an event-handler image, and a terminal escape that sets the title.
pub(crate) const PAYLOAD: &str = "<script>alert(1)</script> </details> | `tick` ``` ]]> <img src=x onerror=alert(2)> \u{1b}]0;pwned\u{7}";

pub(crate) fn object(kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.to_string(),
        namespace: Some(namespace.to_string()),
        name: name.to_string(),
    }
}

fn backup_ref(name: &str) -> ObjectRef {
    object("backups.velero.io", "velero", name)
}

fn log(file: &str, line: u64, excerpt: &str, time: Option<&str>) -> Evidence {
    Evidence::LogLine {
        file: file.to_string(),
        line,
        excerpt: excerpt.to_string(),
        time: time.map(str::to_string),
        span: None,
    }
}

/// A log line whose rule matched `matched` (its first occurrence in `excerpt`).
fn log_matching(
    file: &str,
    line: u64,
    excerpt: &str,
    matched: &str,
    time: Option<&str>,
) -> Evidence {
    let at = excerpt.find(matched).expect("the match is in the excerpt");
    let start = excerpt[..at].chars().count();
    Evidence::LogLine {
        file: file.to_string(),
        line,
        excerpt: excerpt.to_string(),
        time: time.map(str::to_string),
        span: Some(MatchSpan {
            start,
            end: start + matched.chars().count(),
        }),
    }
}

fn object_evidence(object: ObjectRef, path: &str, value: &str) -> Evidence {
    Evidence::Object {
        object,
        path: Some(path.to_string()),
        value: Some(value.to_string()),
    }
}

fn rule(id: &str, name: &str, category: &str, title: &str) -> RuleRef {
    RuleRef {
        id: id.to_string(),
        name: name.to_string(),
        title: title.to_string(),
        category: category.to_string(),
    }
}

fn entry(time: &str, source: &str, text: &str, location: &str) -> TimelineEntry {
    TimelineEntry {
        time: Some(time.to_string()),
        source: source.to_string(),
        text: text.to_string(),
        location: location.to_string(),
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn shared(text: &str) -> Option<std::sync::Arc<str>> {
    Some(text.into())
}

fn component(name: &str, version: &str, image: &str, status: &str) -> ComponentInfo {
    ComponentInfo {
        name: name.to_string(),
        version: some(version),
        image: some(image),
        namespace: some("velero"),
        status: some(status),
    }
}

fn node(name: &str, os: &str, kernel: &str, runtime: &str, kubelet: &str) -> NodeInfo {
    NodeInfo {
        name: name.to_string(),
        os_image: some(os),
        kernel_version: some(kernel),
        container_runtime: some(runtime),
        kubelet_version: some(kubelet),
        architecture: some("amd64"),
        ready: Some(true),
    }
}

#[allow(clippy::too_many_arguments)]
fn backup(
    name: &str,
    phase: &str,
    started: &str,
    completed: Option<&str>,
    duration: Option<i64>,
    errors: i64,
    warnings: i64,
    kots: &str,
    log_available: bool,
) -> BackupSummary {
    BackupSummary {
        kind: "backup".into(),
        name: name.to_string(),
        namespace: shared("velero"),
        phase: shared(phase),
        started: some(started),
        completed: completed.map(str::to_string),
        duration_seconds: duration,
        errors: Some(errors),
        warnings: Some(warnings),
        storage_location: shared("default"),
        backup_name: None,
        schedule: None,
        kots_backup_type: shared(kots),
        failure_reason: None,
        log_available,
    }
}

/// The rules every fixture ran; each fixture moves the ones that fired into its findings.
fn rules_that_ran() -> Vec<RuleRef> {
    vec![
        rule(
            "SD101",
            "bucket-not-found",
            "bucket-endpoint",
            "The backup bucket does not exist",
        ),
        rule(
            "SD102",
            "bsl-unavailable",
            "storage-location",
            "A backup storage location is Unavailable",
        ),
        rule(
            "SD103",
            "bsl-invalid-top-level-directories",
            "storage-location",
            "The bucket or prefix holds data Velero does not own",
        ),
        rule(
            "SD110",
            "s3-invalid-access-key-id",
            "credentials",
            "The object store does not know the access key",
        ),
        rule(
            "SD111",
            "s3-signature-does-not-match",
            "credentials",
            "The secret access key is wrong",
        ),
        rule(
            "SD120",
            "tls-x509-unknown-authority",
            "certificates",
            "The object store's certificate is not trusted",
        ),
        rule(
            "SD130",
            "objectstore-unreachable",
            "bucket-endpoint",
            "The object store cannot be reached",
        ),
        rule(
            "SD201",
            "node-agent-not-running-on-node",
            "node-agent",
            "No running node-agent pod on the workload's node",
        ),
        rule(
            "SD202",
            "fsb-podvolumebackups-timeout",
            "pod-volume",
            "Timed out waiting for PodVolumeBackups",
        ),
        rule(
            "SD203",
            "fsb-uploader-killed",
            "resources",
            "The Kopia/Restic uploader was killed",
        ),
        rule(
            "SD204",
            "component-oomkilled",
            "resources",
            "A Velero component was OOMKilled",
        ),
        rule(
            "SD205",
            "node-agent-memory-limit-low",
            "resources",
            "node-agent runs with a low memory limit",
        ),
        rule(
            "SD301",
            "kopia-repo-not-initialized",
            "repository",
            "The Kopia repository is not initialized",
        ),
        rule(
            "SD302",
            "restic-repo-locked",
            "repository",
            "The Restic repository is locked",
        ),
        rule(
            "SD401",
            "schedule-overdue",
            "health",
            "A schedule has no recent completed backup",
        ),
        rule(
            "SD402",
            "velero-restarted-during-operation",
            "health",
            "Velero restarted while a backup ran",
        ),
        rule(
            "SD501",
            "kots-velero-compat",
            "compatibility",
            "KOTS does not support this Velero version",
        ),
        rule(
            "SD502",
            "velero-aws-plugin-compat",
            "compatibility",
            "The AWS plugin does not fit this Velero version",
        ),
        rule(
            "SD601",
            "kots-instance-snapshots",
            "kots",
            "Instance snapshots are configured",
        ),
        rule(
            "SD602",
            "volumes-not-opted-in",
            "pod-volume",
            "Volumes in backed-up namespaces are not backed up",
        ),
    ]
}

fn passed_except(fired: &[&str]) -> Vec<RuleRef> {
    rules_that_ran()
        .into_iter()
        .filter(|rule| !fired.contains(&rule.id.as_str()))
        .collect()
}

const VELERO_LOG_BSL: &str = "velero/logs/velero-7d9c5b7c9-x2lqz/velero.log";

/// KOTS on kURL, Velero 1.12 with the AWS plugin; the bucket behind the default location was deleted, so the
/// location is Unavailable and the nightly instance snapshot failed.
pub(crate) fn failed_bsl() -> Analysis {
    let no_such_bucket = "rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\n\tstatus code: 404, request id: 17F3A6B1C2D3E4F5, host id: dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8";
    let mut failed = backup(
        "instance-4bk2p",
        "Failed",
        "2026-11-25T11:00:01Z",
        Some("2026-11-25T11:00:03Z"),
        Some(2),
        0,
        0,
        "instance",
        false,
    );
    failed.failure_reason = Some(format!(
        "error checking if backup already exists in object storage: {}",
        no_such_bucket.lines().next().unwrap_or_default()
    ));
    Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        status: Status::Failed,
        not_seen: Vec::new(),
        tool_version: "0.1.0".to_string(),
        generated: "2026-11-25T12:05:40Z".to_string(),
        bundle: BundleInfo {
            path: "/home/ana/snapdoc-prod-east-20261125T120412Z.zip".to_string(),
            format: "snapdoc".to_string(),
            created: some("2026-11-25T12:04:12Z"),
            created_from: some("its manifest (the collector\'s clock)"),
            cluster_server: some("10.0.0.12:6443"),
            cluster_context: some("prod-east"),
            made_by: None,
            problems: Vec::new(),
            also_read: Vec::new(),
            not_redacted: false,
        },
        environment: Environment {
            kubernetes_version: some("v1.29.4"),
            nodes: vec![
                node("prod-east-cp-1", "Ubuntu 22.04.4 LTS", "5.15.0-119-generic", "containerd://1.7.20", "v1.29.4"),
                node("prod-east-w-1", "Ubuntu 22.04.4 LTS", "5.15.0-119-generic", "containerd://1.7.20", "v1.29.4"),
                node("prod-east-w-2", "Ubuntu 22.04.4 LTS", "5.15.0-119-generic", "containerd://1.7.20", "v1.29.4"),
            ],
            velero: Some(component("velero", "v1.12.3", "velero/velero:v1.12.3", "1/1 ready, 0 restarts")),
            plugins: vec![component(
                "velero-plugin-for-aws",
                "v1.8.2",
                "velero/velero-plugin-for-aws:v1.8.2",
                "init container completed",
            )],
            node_agent: Some(component("node-agent", "v1.12.3", "velero/velero:v1.12.3", "3/3 ready, 0 restarts")),
            kots: Some(ComponentInfo {
                name: "kotsadm".to_string(),
                version: some("1.109.3"),
                image: some("kotsadm/kotsadm:v1.109.3"),
                namespace: some("default"),
                status: some("1/1 ready"),
            }),
            install_kind: some("kurl"),
            storage_locations: vec![StorageLocationInfo {
                name: "default".to_string(),
                namespace: some("velero"),
                provider: some("aws"),
                bucket: some("acme-kots-snapshots"),
                prefix: some("prod-east"),
                phase: some("Unavailable"),
                last_validation: some("2026-11-25T12:03:30Z"),
                message: Some(format!(
                    "BackupStorageLocation \"default\" is unavailable: {no_such_bucket}"
                )),
                default: true,
            }],
            uploaders: Vec::new(),
            server_uploader_type: None,
            settings: vec![],
        },
        backups: vec![
            failed,
            backup("instance-9zqrt", "Completed", "2026-11-24T11:00:01Z", Some("2026-11-24T11:12:35Z"), Some(754), 0, 2, "instance", true),
            backup("instance-7xhtm", "Completed", "2026-11-23T11:00:00Z", Some("2026-11-23T11:11:58Z"), Some(718), 0, 2, "instance", true),
        ],
        verdicts: vec![Verdict {
            target: backup_ref("instance-4bk2p"),
            phase: "Failed".to_string(),
            summary: "Velero cannot find bucket acme-kots-snapshots behind storage location default: it was deleted, or the name or region is wrong.".to_string(),
            finding_ids: vec!["SD101".to_string(), "SD102".to_string()],
            fix: some("Recreate the bucket `acme-kots-snapshots` (with the same region and credentials), or point the storage location at an existing bucket in the KOTS admin console under Snapshots → Settings, then take a new snapshot."),
            lost: Default::default(),
            missing: vec![],
        }],
        findings: vec![
            Finding {
                rule_id: "SD101".to_string(),
                rule_name: "bucket-not-found".to_string(),
                match_kind: "log".to_string(),
                severity: Severity::Fail,
                role: Default::default(),
                category: "bucket-endpoint".to_string(),
                title: "The backup bucket does not exist".to_string(),
                message: "Velero cannot find bucket acme-kots-snapshots at storage location default (S3 answered 404 NoSuchBucket).".to_string(),
                cause: "The bucket named in the BackupStorageLocation was deleted, renamed, or lives in another region or account than the credentials reach. Velero validates the location every minute and refuses to store backups until the bucket answers.".to_string(),
                fix: "Check the bucket with `aws s3 ls s3://acme-kots-snapshots --region <region>`; recreate it or correct the bucket name in the KOTS admin console (Snapshots → Settings). `velero backup-location get` shows Available once it is reachable.".to_string(),
                docs: vec![
                    "https://velero.io/docs/v1.12/troubleshooting/".to_string(),
                    "https://docs.replicated.com/enterprise/snapshots-troubleshooting-backup-restore".to_string(),
                ],
                evidence: vec![
                    log_matching(VELERO_LOG_BSL, 1843, "time=\"2026-11-25T11:00:02Z\" level=error msg=\"Error checking if backup already exists in object storage\" backup=velero/instance-4bk2p error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" logSource=\"pkg/controller/backup_controller.go:693\"", "NoSuchBucket: The specified bucket does not exist", Some("2026-11-25T11:00:02Z")),
                    log(VELERO_LOG_BSL, 2210, "time=\"2026-11-25T12:03:30Z\" level=error msg=\"Error getting backup store for this location\" backupLocation=velero/default controller=backup-sync error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" logSource=\"pkg/controller/backup_sync_controller.go:104\"", Some("2026-11-25T12:03:30Z")),
                ],
                count: 58,
                first_seen: some("2026-11-25T09:14:30Z"),
                last_seen: some("2026-11-25T12:03:30Z"),
                related: vec![backup_ref("instance-4bk2p")],
                targets: vec![],
            },
            Finding {
                rule_id: "SD102".to_string(),
                rule_name: "bsl-unavailable".to_string(),
                match_kind: "object".to_string(),
                severity: Severity::Fail,
                role: Default::default(),
                category: "storage-location".to_string(),
                title: "A backup storage location is Unavailable".to_string(),
                message: "Storage location default is Unavailable since its last validation at 2026-11-25T12:03:30Z.".to_string(),
                cause: "Velero validates each location periodically; any object-store error marks it Unavailable and every backup to it fails.".to_string(),
                fix: "Fix the error in the location's message (here: the missing bucket); `velero backup-location get` then shows Available.".to_string(),
                docs: vec!["https://velero.io/docs/v1.12/locations/".to_string()],
                evidence: vec![object_evidence(
                    object("backupstoragelocations.velero.io", "velero", "default"),
                    "status.phase",
                    "Unavailable",
                )],
                count: 1,
                first_seen: None,
                last_seen: None,
                related: vec![backup_ref("instance-4bk2p")],
                targets: vec![],
            },
            Finding {
                rule_id: "SD501".to_string(),
                rule_name: "kots-velero-compat".to_string(),
                match_kind: "compat".to_string(),
                severity: Severity::Warn,
                role: Default::default(),
                category: "compatibility".to_string(),
                title: "KOTS does not support this Velero version".to_string(),
                message: "KOTS 1.109.3 supports Velero >=1.10.0, <1.12.0; this cluster runs Velero 1.12.3.".to_string(),
                cause: "Each KOTS release is tested against a range of Velero versions; outside it, snapshots may be listed or restored wrongly.".to_string(),
                fix: "Upgrade KOTS (`kubectl kots admin-console upgrade`) or install a Velero version in the supported range.".to_string(),
                docs: vec!["https://docs.replicated.com/enterprise/snapshots-velero-installing-config".to_string()],
                evidence: vec![Evidence::Versions {
                    subject: "kots".to_string(),
                    subject_version: "1.109.3".to_string(),
                    against: "velero".to_string(),
                    against_version: "1.12.3".to_string(),
                    supported: ">=1.10.0, <1.12.0".to_string(),
                }],
                count: 1,
                first_seen: None,
                last_seen: None,
                related: vec![],
                targets: vec![],
            },
            Finding {
                rule_id: "SD601".to_string(),
                rule_name: "kots-instance-snapshots".to_string(),
                match_kind: "object".to_string(),
                severity: Severity::Info,
                role: Default::default(),
                category: "kots".to_string(),
                title: "Instance snapshots are configured".to_string(),
                message: "KOTS takes full instance snapshots (admin console and application) every day at 11:00.".to_string(),
                cause: "An instance snapshot restores the admin console together with the application; partial application snapshots restore only the application.".to_string(),
                fix: "Nothing to do; restore with `kubectl kots restore --from-backup <name>`.".to_string(),
                docs: vec!["https://docs.replicated.com/enterprise/snapshots-understanding".to_string()],
                evidence: vec![object_evidence(
                    object("schedules.velero.io", "velero", "instance-schedule"),
                    "metadata.labels[\"kots.io/instance\"]",
                    "true",
                )],
                count: 1,
                first_seen: None,
                last_seen: None,
                related: vec![],
                targets: vec![],
            },
        ],
        checks_passed: passed_except(&["SD101", "SD102", "SD501", "SD601"]),
        readiness: Default::default(),
        volumes_not_backed_up: vec![],
        timelines: vec![Timeline {
            target: backup_ref("instance-4bk2p"),
            entries: vec![
                entry("2026-11-25T11:00:01Z", "velero-server", "Backup instance-4bk2p created by schedule instance-schedule", &format!("{VELERO_LOG_BSL}:1838")),
                entry("2026-11-25T11:00:01Z", "velero-server", "Setting up backup store to check for backup existence", &format!("{VELERO_LOG_BSL}:1841")),
                entry("2026-11-25T11:00:02Z", "velero-server", "Error checking if backup already exists in object storage: NoSuchBucket: The specified bucket does not exist", &format!("{VELERO_LOG_BSL}:1843")),
                entry("2026-11-25T11:00:03Z", "event", "Backup instance-4bk2p phase Failed", "events velero/instance-4bk2p.1879a0c3"),
            ],
        }],
        collector_errors: vec![],
        unavailable: vec![
            "backup log of instance-4bk2p: Velero never uploaded it (the bucket does not exist)".to_string(),
        ],
        probes: vec![],
    }
}

const BACKUP_LOG_FSB: &str = "velero/backups/instance-7lq8w/backup.log";
const NODE_AGENT_POD: &str = "node-agent-x7k2p";

/// Embedded Cluster with KOTS 1.117 and Velero 1.13 (Kopia file-system backup): node-agent hit its 1Gi memory
/// limit while uploading the postgres volume, so the instance snapshot is PartiallyFailed.
pub(crate) fn partially_failed_fsb() -> Analysis {
    let oom_excerpt = "time=\"2026-11-25T03:41:17Z\" level=error msg=\"Error backing up item\" backup=velero/instance-7lq8w error=\"pod volume backup failed: data path backup failed: error running kopia backup: signal: killed\" logSource=\"pkg/backup/backup.go:448\" name=postgres-0";
    let mut partial = backup(
        "instance-7lq8w",
        "PartiallyFailed",
        "2026-11-25T02:00:00Z",
        Some("2026-11-25T05:12:44Z"),
        Some(11_564),
        2,
        5,
        "instance",
        true,
    );
    partial.failure_reason = None;
    let restore = BackupSummary {
        kind: "restore".into(),
        name: "instance-6pd2m-20261120".to_string(),
        namespace: shared("velero"),
        phase: shared("Completed"),
        started: some("2026-11-20T15:02:11Z"),
        completed: some("2026-11-20T15:09:40Z"),
        duration_seconds: Some(449),
        errors: Some(0),
        warnings: Some(14),
        storage_location: None,
        backup_name: some("instance-6pd2m"),
        schedule: None,
        kots_backup_type: shared("instance"),
        failure_reason: None,
        log_available: true,
    };
    let node_agent_pod = object("pods", "velero", NODE_AGENT_POD);
    Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        status: Status::Partial,
        not_seen: Vec::new(),
        tool_version: "0.1.0".to_string(),
        generated: "2026-11-25T08:30:02Z".to_string(),
        bundle: BundleInfo {
            path: "snapdoc-ec-plant-7-20261125T082911Z.zip".to_string(),
            format: "snapdoc".to_string(),
            created: some("2026-11-25T08:29:11Z"),
            created_from: some("its manifest (the collector\'s clock)"),
            cluster_server: some("kubernetes.default.svc:443"),
            cluster_context: None,
            made_by: None,
            problems: Vec::new(),
            also_read: Vec::new(),
            not_redacted: false,
        },
        environment: Environment {
            kubernetes_version: some("v1.30.5+k0s"),
            nodes: vec![
                node("plant7-node1", "Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.13.1.el9_4.x86_64", "containerd://1.7.22", "v1.30.5+k0s"),
                node("plant7-node2", "Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.13.1.el9_4.x86_64", "containerd://1.7.22", "v1.30.5+k0s"),
            ],
            velero: Some(component("velero", "v1.13.2", "proxy.replicated.com/anonymous/velero/velero:v1.13.2", "1/1 ready, 0 restarts")),
            plugins: vec![component(
                "velero-plugin-for-aws",
                "v1.9.2",
                "proxy.replicated.com/anonymous/velero/velero-plugin-for-aws:v1.9.2",
                "init container completed",
            )],
            node_agent: Some(component(
                "node-agent",
                "v1.13.2",
                "proxy.replicated.com/anonymous/velero/velero:v1.13.2",
                "2/2 ready, 3 restarts, last terminated OOMKilled",
            )),
            kots: Some(ComponentInfo {
                name: "kotsadm".to_string(),
                version: some("1.117.3"),
                image: some("proxy.replicated.com/anonymous/kotsadm/kotsadm:v1.117.3"),
                namespace: some("kotsadm"),
                status: some("1/1 ready"),
            }),
            install_kind: some("embedded-cluster"),
            storage_locations: vec![StorageLocationInfo {
                name: "default".to_string(),
                namespace: some("velero"),
                provider: some("aws"),
                bucket: some("snapshots"),
                prefix: some("plant-7"),
                phase: some("Available"),
                last_validation: some("2026-11-25T08:28:40Z"),
                message: None,
                default: true,
            }],
            uploaders: vec!["kopia".to_string()],
            server_uploader_type: some("kopia"),
            settings: vec![
                ServerSetting {
                    component: "velero".to_string(),
                    flag: "--uploader-type".to_string(),
                    value: some("kopia"),
                    is_default: false,
                },
                ServerSetting {
                    component: "velero".to_string(),
                    flag: "--fs-backup-timeout".to_string(),
                    value: some("4h0m0s"),
                    is_default: true,
                },
            ],
        },
        backups: vec![
            partial,
            backup("instance-2wq9c", "Completed", "2026-11-24T02:00:00Z", Some("2026-11-24T03:58:10Z"), Some(7_090), 0, 4, "instance", true),
            backup("app-ledger-hh4s1", "Completed", "2026-11-23T16:20:31Z", Some("2026-11-23T16:24:02Z"), Some(211), 0, 0, "app", true),
            restore,
        ],
        verdicts: vec![Verdict {
            target: backup_ref("instance-7lq8w"),
            phase: "PartiallyFailed".to_string(),
            summary: "node-agent on plant7-node2 was OOMKilled while Kopia uploaded volume pgdata of ledger/postgres-0, so 2 pod volume backups failed.".to_string(),
            finding_ids: vec!["SD203".to_string(), "SD204".to_string(), "SD205".to_string()],
            fix: some("Raise the node-agent memory limit to 2Gi or more: `kubectl -n velero patch daemonset node-agent --type merge -p '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"node-agent\",\"resources\":{\"limits\":{\"memory\":\"2Gi\"}}}]}}}}'`, then take a new snapshot."),
            lost: Default::default(),
            missing: vec![],
        }],
        findings: vec![
            Finding {
                rule_id: "SD203".to_string(),
                rule_name: "fsb-uploader-killed".to_string(),
                match_kind: "log".to_string(),
                severity: Severity::Fail,
                role: Default::default(),
                category: "resources".to_string(),
                title: "The Kopia/Restic uploader was killed".to_string(),
                message: "The file-system backup of ledger/postgres-0 stopped with `signal: killed`: the uploader ran out of memory.".to_string(),
                cause: "The node-agent container reached its memory limit while Kopia hashed and uploaded a large volume; the kernel killed the process and the PodVolumeBackup failed.".to_string(),
                fix: "Raise the node-agent memory limit (`kubectl -n velero edit daemonset node-agent`), or set `GOGC=50` on it to trade CPU for memory.".to_string(),
                docs: vec![
                    "https://velero.io/docs/v1.13/customize-installation/#customize-resource-requests-and-limits".to_string(),
                    "https://docs.replicated.com/enterprise/snapshots-troubleshooting-backup-restore".to_string(),
                ],
                evidence: vec![
                    log(BACKUP_LOG_FSB, 4127, oom_excerpt, Some("2026-11-25T03:41:17Z")),
                    log_matching(BACKUP_LOG_FSB, 5310, "time=\"2026-11-25T04:57:03Z\" level=error msg=\"Error backing up item\" backup=velero/instance-7lq8w error=\"pod volume backup failed: data path backup failed: error running kopia backup: signal: killed\" logSource=\"pkg/backup/backup.go:448\" name=postgres-0", "signal: killed", Some("2026-11-25T04:57:03Z")),
                ],
                count: 2,
                first_seen: some("2026-11-25T03:41:17Z"),
                last_seen: some("2026-11-25T04:57:03Z"),
                related: vec![backup_ref("instance-7lq8w")],
                targets: vec![],
            },
            Finding {
                rule_id: "SD204".to_string(),
                rule_name: "component-oomkilled".to_string(),
                match_kind: "object".to_string(),
                severity: Severity::Fail,
                role: Default::default(),
                category: "resources".to_string(),
                title: "A Velero component was OOMKilled".to_string(),
                message: "Container node-agent of pod velero/node-agent-x7k2p was last terminated OOMKilled (3 restarts).".to_string(),
                cause: "The container used more memory than its limit allows.".to_string(),
                fix: "Raise the memory limit of the node-agent DaemonSet; KOTS keeps a limit you set unless it reinstalls Velero.".to_string(),
                docs: vec!["https://github.com/vmware-tanzu/velero/issues/6698".to_string()],
                evidence: vec![object_evidence(
                    node_agent_pod.clone(),
                    "status.containerStatuses[0].lastState.terminated.reason",
                    "OOMKilled",
                )],
                count: 1,
                first_seen: some("2026-11-25T04:57:01Z"),
                last_seen: some("2026-11-25T04:57:01Z"),
                related: vec![backup_ref("instance-7lq8w")],
                targets: vec![],
            },
            Finding {
                rule_id: "SD205".to_string(),
                rule_name: "node-agent-memory-limit-low".to_string(),
                match_kind: "object".to_string(),
                severity: Severity::Warn,
                role: Default::default(),
                category: "resources".to_string(),
                title: "node-agent runs with a low memory limit".to_string(),
                message: "DaemonSet velero/node-agent limits memory to 1Gi; volumes of 50Gi and more usually need 2Gi with Kopia.".to_string(),
                cause: "`velero install` before 1.14 set a 1Gi limit on node-agent by default; KOTS and Embedded Cluster kept it.".to_string(),
                fix: "Set the limit to 2Gi or remove it.".to_string(),
                docs: vec![],
                evidence: vec![object_evidence(
                    object("daemonsets", "velero", "node-agent"),
                    "spec.template.spec.containers[0].resources.limits.memory",
                    "1Gi",
                )],
                count: 1,
                first_seen: None,
                last_seen: None,
                related: vec![],
                targets: vec![],
            },
            Finding {
                rule_id: "SD602".to_string(),
                rule_name: "volumes-not-opted-in".to_string(),
                match_kind: "object".to_string(),
                severity: Severity::Warn,
                role: Default::default(),
                category: "pod-volume".to_string(),
                title: "Volumes in backed-up namespaces are not backed up".to_string(),
                message: "2 volumes in namespace ledger are in no backup: their pods do not name them in backup.velero.io/backup-volumes.".to_string(),
                cause: "With opt-in file-system backup, only the volumes a pod lists in its `backup.velero.io/backup-volumes` annotation are copied.".to_string(),
                fix: "Add the volume names to the annotation in the application's manifests, or exclude them knowingly with `backup.velero.io/backup-volumes-excludes`.".to_string(),
                docs: vec!["https://velero.io/docs/v1.13/file-system-backup/#using-opt-in-pod-volume-backup".to_string()],
                evidence: vec![
                    object_evidence(object("pods", "ledger", "redis-0"), "spec.volumes[0].name", "redis-data"),
                    object_evidence(object("pods", "ledger", "ledger-api-6c9f7b-kq2xw"), "spec.volumes[1].name", "uploads"),
                ],
                count: 2,
                first_seen: None,
                last_seen: None,
                related: vec![],
                targets: vec![],
            },
        ],
        checks_passed: passed_except(&["SD203", "SD204", "SD205", "SD602"]),
        readiness: Default::default(),
        volumes_not_backed_up: vec![
            VolumeRef {
                namespace: "ledger".to_string(),
                pod: "redis-0".to_string(),
                volume: "redis-data".to_string(),
                volume_type: "persistentVolumeClaim".to_string(),
                claim_name: some("redis-data-redis-0"),
                reason: "not listed in backup.velero.io/backup-volumes".to_string(),
            },
            VolumeRef {
                namespace: "ledger".to_string(),
                pod: "ledger-api-6c9f7b-kq2xw".to_string(),
                volume: "uploads".to_string(),
                volume_type: "persistentVolumeClaim".to_string(),
                claim_name: some("ledger-uploads"),
                reason: "not listed in backup.velero.io/backup-volumes".to_string(),
            },
        ],
        timelines: vec![Timeline {
            target: backup_ref("instance-7lq8w"),
            entries: vec![
                entry("2026-11-25T02:00:00Z", "backup-log", "Setting up backup log", &format!("{BACKUP_LOG_FSB}:1")),
                entry("2026-11-25T02:00:41Z", "podvolumebackup", "PodVolumeBackup instance-7lq8w-8d2xk (ledger/postgres-0, volume pgdata) InProgress on plant7-node2", "podvolumebackups velero/instance-7lq8w-8d2xk"),
                entry("2026-11-25T03:41:15Z", "event", "Container node-agent in pod node-agent-x7k2p OOMKilled", "events velero/node-agent-x7k2p.187a9b1f"),
                entry("2026-11-25T03:41:17Z", "backup-log", oom_excerpt, &format!("{BACKUP_LOG_FSB}:4127")),
                entry("2026-11-25T03:41:17Z", "podvolumebackup", "PodVolumeBackup instance-7lq8w-8d2xk Failed: data path backup failed: signal: killed", "podvolumebackups velero/instance-7lq8w-8d2xk"),
                entry("2026-11-25T05:12:44Z", "backup-log", "Backup completed with 2 errors and 5 warnings", &format!("{BACKUP_LOG_FSB}:6021")),
            ],
        }],
        collector_errors: vec![CollectorError {
            source: "logs".to_string(),
            target: some("node-agent-x7k2p/node-agent (previous)"),
            namespace: some("velero"),
            status: Some(400),
            message: "previous terminated container \"node-agent\" in pod \"node-agent-x7k2p\" not found".to_string(),
        }],
        unavailable: vec![
            "previous log of velero/node-agent-x7k2p: the kubelet no longer holds it".to_string(),
        ],
        probes: vec![],
    }
}

/// GKE with Velero 1.14 and the GCP plugin, KOTS 1.121 on an existing cluster: every backup completed.
pub(crate) fn healthy() -> Analysis {
    Analysis {
        schema_version: ANALYSIS_SCHEMA_VERSION,
        status: Status::Healthy,
        not_seen: Vec::new(),
        tool_version: "0.1.0".to_string(),
        generated: "2026-11-25T09:00:00Z".to_string(),
        bundle: BundleInfo {
            path: "snapdoc-gke-prod-20261125T085912Z.zip".to_string(),
            format: "snapdoc".to_string(),
            created: some("2026-11-25T08:59:12Z"),
            created_from: some("its manifest (the collector\'s clock)"),
            cluster_server: some("34.118.10.2:443"),
            cluster_context: some("gke_acme_europe-west1_prod"),
            made_by: None,
            problems: Vec::new(),
            also_read: Vec::new(),
            not_redacted: false,
        },
        environment: Environment {
            kubernetes_version: some("v1.30.4-gke.1348000"),
            nodes: vec![
                node(
                    "gke-prod-pool-1-a1b2",
                    "Container-Optimized OS from Google",
                    "6.1.85+",
                    "containerd://1.7.22",
                    "v1.30.4-gke.1348000",
                ),
                node(
                    "gke-prod-pool-1-c3d4",
                    "Container-Optimized OS from Google",
                    "6.1.85+",
                    "containerd://1.7.22",
                    "v1.30.4-gke.1348000",
                ),
            ],
            velero: Some(component(
                "velero",
                "v1.14.1",
                "velero/velero:v1.14.1",
                "1/1 ready, 0 restarts",
            )),
            plugins: vec![component(
                "velero-plugin-for-gcp",
                "v1.10.1",
                "velero/velero-plugin-for-gcp:v1.10.1",
                "init container completed",
            )],
            node_agent: None,
            kots: Some(ComponentInfo {
                name: "kotsadm".to_string(),
                version: some("1.121.0"),
                image: some("kotsadm/kotsadm:v1.121.0"),
                namespace: some("kots"),
                status: some("1/1 ready"),
            }),
            install_kind: some("existing"),
            storage_locations: vec![StorageLocationInfo {
                name: "default".to_string(),
                namespace: some("velero"),
                provider: some("gcp"),
                bucket: some("acme-prod-velero"),
                prefix: None,
                phase: some("Available"),
                last_validation: some("2026-11-25T08:58:50Z"),
                message: None,
                default: true,
            }],
            uploaders: Vec::new(),
            server_uploader_type: None,
            settings: vec![],
        },
        backups: vec![
            backup(
                "app-nightly-20261125",
                "Completed",
                "2026-11-25T01:00:00Z",
                Some("2026-11-25T01:03:12Z"),
                Some(192),
                0,
                0,
                "app",
                true,
            ),
            backup(
                "app-nightly-20261124",
                "Completed",
                "2026-11-24T01:00:00Z",
                Some("2026-11-24T01:03:05Z"),
                Some(185),
                0,
                0,
                "app",
                true,
            ),
            backup(
                "app-nightly-20261123",
                "Completed",
                "2026-11-23T01:00:00Z",
                Some("2026-11-23T01:02:58Z"),
                Some(178),
                0,
                0,
                "app",
                true,
            ),
        ],
        verdicts: vec![],
        findings: vec![],
        checks_passed: rules_that_ran(),
        readiness: Default::default(),
        volumes_not_backed_up: vec![],
        timelines: vec![],
        collector_errors: vec![],
        unavailable: vec![],
        probes: vec![],
    }
}

/// The failed-bsl case with markup planted in every kind of text a bundle supplies.
pub(crate) fn hostile() -> Analysis {
    let mut analysis = failed_bsl();
    let name = format!("evil{PAYLOAD}");
    analysis.bundle.path = format!("/tmp/{PAYLOAD}.zip");
    analysis.bundle.cluster_context = Some(format!("ctx {PAYLOAD}"));
    analysis.verdicts[0].target.name = name.clone();
    analysis.verdicts[0].summary = format!("Summary {PAYLOAD}");
    analysis.verdicts[0].fix = Some(format!("Fix `{PAYLOAD}` and {PAYLOAD}"));
    analysis.backups[0].name = name.clone();
    analysis.backups[0].failure_reason = Some(PAYLOAD.to_string());
    let finding = &mut analysis.findings[0];
    finding.title = format!("Title {PAYLOAD}");
    finding.message = format!("Message {PAYLOAD}");
    finding.cause = format!("Cause {PAYLOAD}");
    finding.fix = format!("Run `{PAYLOAD}` then {PAYLOAD}");
    finding.docs = vec![
        "javascript:alert(3)".to_string(),
        format!("https://example.com/{PAYLOAD}"),
    ];
    finding.related = vec![backup_ref(&name)];
    finding.evidence = vec![
        log_matching(
            &format!("velero/logs/{PAYLOAD}/velero.log"),
            7,
            &format!("level=error msg=\"{PAYLOAD}\"\n| second | line |"),
            "<script>alert(1)</script> </details>",
            Some("2026-11-25T11:00:02Z"),
        ),
        object_evidence(object("pods", "velero", &name), "metadata.name", PAYLOAD),
    ];
    analysis.environment.storage_locations[0].message = Some(PAYLOAD.to_string());
    analysis.environment.nodes[0].os_image = Some(PAYLOAD.to_string());
    analysis.timelines[0].target.name = name.clone();
    analysis.timelines[0].entries[0].text = PAYLOAD.to_string();
    analysis.collector_errors.push(CollectorError {
        source: "logs".to_string(),
        target: Some(name.clone()),
        namespace: some("velero"),
        status: Some(500),
        message: PAYLOAD.to_string(),
    });
    analysis.unavailable.push(PAYLOAD.to_string());
    analysis.checks_passed[0].title = PAYLOAD.to_string();
    analysis.volumes_not_backed_up.push(VolumeRef {
        namespace: "ledger".to_string(),
        pod: name,
        volume: PAYLOAD.to_string(),
        volume_type: "emptyDir".to_string(),
        claim_name: None,
        reason: PAYLOAD.to_string(),
    });
    analysis
}
