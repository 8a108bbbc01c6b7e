//! Log scan throughput: `cargo bench --bench scan`.
//!
//! Writes a bundle holding ~200 MiB of Velero server log lines (a few signature lines among them), then times
//! the engine's scan (one multi-pattern automaton pass per block) with 10, 60 and 200 log rules, and the same
//! scan done naively: a per-line loop over a `regex::bytes::RegexSet`. Plain std::time, no harness.
//! SNAPDOC_BENCH_MIB sets the log size.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use snapdoc::analyze::{EngineContext, run_engine};
use snapdoc::analyze::{Matcher, RuleSet};
use snapdoc::bundle::RunInfo;
use snapdoc::bundle::{Bundle, BundleWriter};

/// Error signatures of real Velero / plugin / kopia log lines (from public issue reports), used as rule regexes.
const SIGNATURES: &[&str] = &[
    r"[Bb]ackup store contains (\d+ )?invalid top-level directories",
    r"unable to locate ObjectStore plugin named \S+",
    r"(?i)InvalidAccessKeyId|access key id you provided does not exist in our records",
    r"SignatureDoesNotMatch|request signature we calculated does not match",
    r"AccessDenied: Access Denied|api error AccessDenied|<Code>AccessDenied</Code>|AllAccessDisabled",
    r"NoCredentialProviders: no valid providers in chain|open /?credentials/cloud: no such file or directory",
    r"x509: (certificate signed by unknown authority|certificate is valid for|certificate has expired)",
    r#"dial tcp [^\s"\\]+: (i/o timeout|connect: connection refused|connect: no route to host)"#,
    r"dial tcp: lookup \S+( on \S+)?: no such host",
    r"An error occurred: some backup storage locations are invalid",
    r"No backup storage locations found, at least one is required",
    r"There is no existing BackupStorageLocation set as default",
    r"AuthorizationPermissionMismatch|<Code>AuthorizationFailure</Code>|ERROR CODE: AuthorizationFailed",
    r"googleapi: Error 403: \S+ does not have storage\.\w+\.\w+ access",
    r"config has invalid keys \[[^\]]*\]",
    r"XAmzContentSHA256Mismatch|Unsupported header 'x-amz-sdk-checksum-algorithm'",
    r"aws-chunked is not supported",
    r"BucketRegionError: incorrect region|missing region in aws configuration",
    r"timed out waiting for all PodVolumeBackups to complete",
    r"timed out waiting for all PodVolumeRestores to complete",
    r"Fatal: unable to open config file: .*|Is there a repository at the following location\?",
    r"(restic|backup) repository is not ready",
    r"unable to create lock in backend: repository is already locked( exclusively)? by PID \d+",
    r"Fatal: wrong password or no key found",
    r"expected one matching path(: \S+)?, got 0|error identifying unique volume path on host",
    r"daemonset pod not found in running state in node \S+|node-agent pod is not running in node",
    r"at least one source file could not be read|failed to read all source data during backup",
    r"is a hostPath volume which is not supported for pod volume backup",
    r"repository not initialized in the provided storage",
    r"found existing data in storage location",
    r"unable to create config directory: mkdir \S+: (read-only file system|permission denied)",
    r"Unable to load snapshot \S+: snapshot not found",
    r"invalid uploader type '[^']*', valid (type: 'kopia'|upload types are)",
    r"Timed out awaiting reconciliation of volumesnapshot|fail to wait VolumeSnapshot change to Ready",
    r"Unrecognized remote plugin message",
    r"client rate limiter Wait returned an error",
    r"provided port is already allocated",
    r"NoSuchBucket: The specified bucket does not exist",
    r"error getting volume info: rpc error: code = NotFound",
    r"Error uploading log file to backup storage",
];

/// Lines the generated log is made of: what a busy Velero server writes while backing up.
fn ordinary_line(i: usize, out: &mut String) {
    use std::fmt::Write as _;
    let (h, m, s) = ((i / 3600) % 24, (i / 60) % 60, i % 60);
    let ns = ["app", "kotsadm", "monitoring", "default", "db"][i % 5];
    let _ = match i % 8 {
        0..=3 => writeln!(
            out,
            "time=\"2026-11-25T{h:02}:{m:02}:{s:02}Z\" level=info msg=\"Backing up item\" backup=velero/instance-{} \
             logSource=\"pkg/backup/item_backupper.go:179\" name=pod-{i:x} namespace={ns} resource=pods",
            i / 50_000
        ),
        4 => writeln!(
            out,
            "time=\"2026-11-25T{h:02}:{m:02}:{s:02}Z\" level=info msg=\"Executing custom action\" backup=velero/instance-{} \
             logSource=\"pkg/backup/item_backupper.go:336\" name=pvc-{i:x} namespace={ns} resource=persistentvolumeclaims",
            i / 50_000
        ),
        5 => writeln!(
            out,
            "time=\"2026-11-25T{h:02}:{m:02}:{s:02}Z\" level=debug msg=\"Skipping action because it does not apply to this resource\" \
             backup=velero/instance-{} logSource=\"pkg/backup/item_backupper.go:409\" name=cm-{i:x} namespace={ns} resource=configmaps",
            i / 50_000
        ),
        6 => writeln!(
            out,
            "time=\"2026-11-25T{h:02}:{m:02}:{s:02}Z\" level=info msg=\"Checking for expired DeleteBackupRequests\" \
             controller=backup-deletion logSource=\"pkg/controller/backup_deletion_controller.go:551\""
        ),
        _ => writeln!(
            out,
            "time=\"2026-11-25T{h:02}:{m:02}:{s:02}Z\" level=info msg=\"Validating BackupStorageLocation\" \
             backup-storage-location=velero/default controller=backup-storage-location \
             logSource=\"pkg/controller/backup_storage_location_controller.go:152\""
        ),
    };
}

const SIGNATURE_LINES: &[&str] = &[
    "time=\"2026-11-25T10:01:12Z\" level=error msg=\"Error listing backups in backup store\" backupLocation=velero/default controller=backup-sync error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" logSource=\"pkg/controller/backup_sync_controller.go:175\"",
    "time=\"2026-11-25T10:02:00Z\" level=error msg=\"Error backing up item\" backup=velero/instance-3 error=\"timed out waiting for all PodVolumeBackups to complete\" logSource=\"pkg/backup/backup.go:435\"",
    "time=\"2026-11-25T10:03:00Z\" level=error msg=\"Error getting backup store for this location\" backupLocation=velero/minio controller=backup-sync error=\"unable to locate ObjectStore plugin named velero.io/aws\" logSource=\"pkg/controller/backup_sync_controller.go:100\"",
];

fn rule_file(index: usize, pattern: &str) -> (String, String) {
    let id = format!("SD{:03}", index % 1000);
    let name = format!("bench-rule-{index}");
    let text = format!(
        "id: {id}\nname: {name}\nseverity: warn\ncategory: health\ntitle: bench rule {index}\n\
         message: '{{{{count}}}} hits'\ncause: bench\nfix: bench\nmatch:\n  log:\n    sources: [velero-server]\n    \
         regex: '{}'\ntests:\n  match: ['a line with the signature']\n  no_match: ['an ordinary line']\n",
        pattern.replace('\'', "''")
    );
    (format!("bench/{id}-{name}.yaml"), text)
}

/// `count` log rule patterns: the built-in catalog's log rules first, then the signatures, then variants of them
/// (each a distinct pattern, as a bigger catalog would have).
fn patterns(count: usize) -> Vec<String> {
    let mut out: Vec<String> = RuleSet::builtin()
        .map(|set| {
            set.rules()
                .iter()
                .filter_map(|r| match &r.matcher {
                    Matcher::Log(log) => Some(log.pattern.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    out.extend(SIGNATURES.iter().map(|s| s.to_string()));
    let mut variant = 0;
    while out.len() < count {
        let base = SIGNATURES[variant % SIGNATURES.len()];
        out.push(format!(
            "(?:{base}).*?(?:code|status)[ =:]+{}",
            400 + variant
        ));
        variant += 1;
    }
    out.truncate(count);
    out
}

fn mib(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
}

fn main() {
    let target_mib: u64 = std::env::var("SNAPDOC_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().expect("temp dir");
    let zip_path = dir.path().join("bench.zip");
    let log_entry = "velero/logs/velero-7d9f/velero.log";

    let started = Instant::now();
    let mut writer = BundleWriter::create(&zip_path, false).expect("bundle");
    let mut written = 0u64;
    {
        let mut entry = writer.entry(log_entry).expect("entry");
        let mut chunk = String::with_capacity(1 << 20);
        let mut i = 0usize;
        while written < target_mib << 20 {
            chunk.clear();
            while chunk.len() < (1 << 20) - 512 {
                if i.is_multiple_of(97_331) {
                    chunk.push_str(SIGNATURE_LINES[(i / 97_331) % SIGNATURE_LINES.len()]);
                    chunk.push('\n');
                }
                ordinary_line(i, &mut chunk);
                i += 1;
            }
            entry.write_all(chunk.as_bytes()).expect("write");
            written += chunk.len() as u64;
        }
        entry.finish();
    }
    writer.finish(RunInfo::default()).expect("finish");
    // The same bundle as a directory: the scan without inflating.
    let extracted = dir.path().join("bench");
    zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("zip"))
        .expect("zip")
        .extract(&extracted)
        .expect("extract");
    println!(
        "generated {:.0} MiB of log in a bundle in {:.1}s",
        written as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );

    let facts = BTreeMap::new();
    let versions = BTreeMap::new();
    let context = EngineContext {
        now: "2026-11-25T12:00:00Z".parse().expect("time"),
        facts: &facts,
        versions: &versions,
        velero_namespace: Some("velero"),
    };
    println!(
        "{:>6}  {:>22}  {:>22}  {:>26}",
        "rules", "engine, dir (MiB/s)", "engine, zip (MiB/s)", "per-line RegexSet (MiB/s)"
    );
    for count in [10, 60, 200] {
        let patterns = patterns(count);
        let files: Vec<(String, String)> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| rule_file(i, p))
            .collect();
        let rules = RuleSet::from_files(&files).unwrap_or_else(|e| panic!("bench rules: {e:?}"));

        let time_engine = |path: &std::path::Path| {
            let mut bundle = Bundle::open(path).expect("open");
            let start = Instant::now();
            let output = run_engine(&mut bundle, &rules, &context).expect("run");
            let elapsed = start.elapsed();
            let hits: u64 = output.findings.iter().map(|f| f.count).sum();
            (elapsed, hits)
        };
        let (dir_time, dir_hits) = time_engine(&extracted);
        let (zip_time, zip_hits) = time_engine(&zip_path);
        assert_eq!(dir_hits, zip_hits);

        let set = regex::bytes::RegexSet::new(&patterns).expect("set");
        let start = Instant::now();
        let mut reader = BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(extracted.join(log_entry)).expect("log"),
        );
        let mut line = Vec::new();
        let mut naive_hits = 0u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).expect("read") == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let matches = set.matches(&line);
            naive_hits += matches.iter().count() as u64;
        }
        let naive_time = start.elapsed();
        println!(
            "{count:>6}  {:>22.0}  {:>22.0}  {:>26.0}   (hits: engine {dir_hits}, per-line {naive_hits})",
            mib(written, dir_time),
            mib(written, zip_time),
            mib(written, naive_time)
        );
    }
}
