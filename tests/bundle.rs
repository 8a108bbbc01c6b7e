//! The bundle format: what the writer streams, the reader gives back, and `verify` checks.
use std::io::Read;
use std::path::Path;

use snapdoc::bundle::RunInfo;
use snapdoc::bundle::verify;
use snapdoc::bundle::{Bundle, BundleWriter, CollectorError, LogSource};

fn write_sample(path: &Path) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    writer
        .add_json(
            "cluster-resources/custom-resources/backups.velero.io/velero.json",
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "b1", "namespace": "velero"}}
            ]}),
        )
        .unwrap();
    writer
        .add_stream(
            "velero/logs/velero-7d9/velero.log",
            "time=\"2026-11-25T10:00:00Z\" level=info msg=\"ok\"\n"
                .repeat(1000)
                .as_bytes(),
        )
        .unwrap();
    writer
        .add_bytes("velero/backups/b1/backup.log", b"level=error msg=boom\n")
        .unwrap();
    writer.record_error(CollectorError {
        source: "velero-objects".into(),
        target: Some("restores.velero.io".into()),
        namespace: Some("velero".into()),
        status: Some(403),
        message: "forbidden".into(),
    });
    writer.finish(RunInfo::default()).unwrap();
}

#[test]
fn written_bundle_reads_back_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    write_sample(&path);
    let mut bundle = Bundle::open(&path).unwrap();
    let manifest = bundle.manifest().unwrap().clone();
    assert_eq!(manifest.files.len(), 3);
    assert_eq!(manifest.collector_errors[0].status, Some(403));
    let backups = bundle.objects("backups.velero.io").unwrap();
    assert_eq!(backups[0]["metadata"]["name"], "b1");
    let logs = bundle.logs();
    assert!(logs.iter().any(|l| l.source == LogSource::VeleroServer));
    assert!(
        logs.iter()
            .any(|l| l.source == LogSource::BackupLog && l.owner.as_deref() == Some("b1"))
    );
    let mut text = String::new();
    bundle
        .open_entry("velero/logs/velero-7d9/velero.log")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.lines().count(), 1000);
    let report = verify(&path).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.checked, 3);
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    std::fs::write(&path, b"precious").unwrap();
    assert!(BundleWriter::create(&path, false).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    // A writer dropped before finish leaves neither the target nor its temporary file.
    drop(BundleWriter::create(&dir.path().join("c.zip"), false).unwrap());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn verify_rejects_one_altered_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    write_sample(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    // The backup log is stored deflated; flip one byte inside its compressed data.
    let name = b"velero/backups/b1/backup.log";
    let name_at = bytes.windows(name.len()).position(|w| w == name).unwrap();
    // Local file header: 30 fixed bytes, then the name, then `extra length` bytes (offset 28) of extra fields.
    let header = name_at - 30;
    let extra_len = u16::from_le_bytes([bytes[header + 28], bytes[header + 29]]) as usize;
    let data_start = name_at + name.len() + extra_len;
    bytes[data_start + 2] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let report = verify(&path).unwrap();
    assert!(!report.is_ok());
    assert!(
        report.problems[0].starts_with("velero/backups/b1/backup.log"),
        "{:?}",
        report.problems
    );
}

#[test]
fn verify_rejects_an_altered_byte_in_a_directory_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    write_sample(&path);
    let out = dir.path().join("extracted");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    archive.extract(&out).unwrap();
    assert!(verify(&out).unwrap().is_ok());
    let log = out.join("velero/logs/velero-7d9/velero.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&log, bytes).unwrap();
    let report = verify(&out).unwrap();
    assert_eq!(
        report.problems,
        vec!["velero/logs/velero-7d9/velero.log: sha256 differs from the manifest"]
    );
}

#[test]
fn unreadable_inputs_get_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.zip");
    std::fs::write(&path, b"not a zip at all").unwrap();
    let err = Bundle::open(&path).err().unwrap().to_string();
    assert!(err.contains("garbage.zip"), "{err}");
    let bad_list = dir.path().join("bad");
    std::fs::create_dir_all(bad_list.join("cluster-resources/pods")).unwrap();
    std::fs::write(
        bad_list.join("cluster-resources/pods/app.json"),
        b"{\"items\": 3}",
    )
    .unwrap();
    let err = Bundle::open(&bad_list)
        .unwrap()
        .objects("pods")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cluster-resources/pods/app.json"), "{err}");
}

/// `analyze` checks with a hash budget: entries beyond it are checked by size, so a truncated log is still
/// caught while a large bundle is not read twice.
#[test]
fn a_hash_budget_still_catches_a_truncated_entry_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    write_sample(&path);
    let out = dir.path().join("extracted");
    zip::ZipArchive::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .extract(&out)
        .unwrap();
    let mut bundle = Bundle::open(&out).unwrap();
    let intact = snapdoc::bundle::verify_open(&mut bundle, 0);
    assert!(intact.is_ok(), "{:?}", intact.problems);
    assert_eq!(intact.checked, 0);
    assert!(intact.size_checked > 0);

    let log = out.join("velero/logs/velero-7d9/velero.log");
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&log, &bytes[..bytes.len() - 10]).unwrap();
    let mut bundle = Bundle::open(&out).unwrap();
    let report = snapdoc::bundle::verify_open(&mut bundle, 0);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].starts_with("velero/logs/velero-7d9/velero.log: size"),
        "{:?}",
        report.problems
    );
}
