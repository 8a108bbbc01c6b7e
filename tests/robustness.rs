//! Hostile and broken input: archives, files inside them, and where output goes. Every case ends in a
//! clear error naming the file or entry (or a note in the analysis), never a panic and never a write
//! outside the chosen output.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use snapdoc::analyze::Analysis;
use snapdoc::analyze::AnalysisOptions;
use snapdoc::analyze::analyze_bundle;
use snapdoc::analyze::{Evidence, Finding};
use snapdoc::bundle::RunInfo;
use snapdoc::bundle::{ArchiveLimits, Bundle, BundleError, BundleWriter};
use zip::write::SimpleFileOptions;

/// Counts the bytes each thread holds, so a test can measure the peak memory of one call. Per thread:
/// other tests of this binary run in parallel, and the analysis is single-threaded.
struct ThreadCountingAllocator;

thread_local! {
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn track(delta: i64) {
    // try_with: allocations during thread teardown find the counters gone.
    let _ = LIVE_BYTES.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK_BYTES.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for ThreadCountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            track(layout.size() as i64);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            track(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: ThreadCountingAllocator = ThreadCountingAllocator;

/// Runs `f` and returns its result and the most memory this thread held above what it held before.
fn peak_memory_of<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let base = LIVE_BYTES.with(Cell::get);
    PEAK_BYTES.with(|peak| peak.set(base));
    let result = f();
    let peak = PEAK_BYTES.with(Cell::get);
    (result, (peak - base).max(0) as u64)
}

const VELERO_LOG: &str = "velero/logs/velero-7d9f8c6b5d-x2x4z/velero.log";
const BACKUPS_JSON: &str = "cluster-resources/custom-resources/backups.velero.io/velero.json";

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

/// A zip holding exactly `entries`, written with the zip crate (no checks of ours on the way).
fn raw_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        zip.start_file(*name, deflated()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

/// A valid snapdoc bundle with a backup list, a velero log and a backup log.
fn valid_bundle(path: &Path) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    writer
        .add_json(
            BACKUPS_JSON,
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "velero.io/v1", "kind": "Backup",
                 "metadata": {"name": "nightly", "namespace": "velero"},
                 "status": {"phase": "Failed"}}
            ]}),
        )
        .unwrap();
    writer
        .add_bytes(VELERO_LOG, varied_text(200_000).as_bytes())
        .unwrap();
    writer
        .add_bytes(
            "velero/backups/nightly/backup.log",
            b"time=\"2026-11-25T02:30:01Z\" level=error msg=\"boom\"\n",
        )
        .unwrap();
    writer.finish(RunInfo::default()).unwrap();
}

/// Log-like text that does not compress much (a bomb check must not refuse it).
fn varied_text(len: usize) -> String {
    let mut text = String::with_capacity(len + 200);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut line = 0u64;
    while text.len() < len {
        line += 1;
        text.push_str(&format!(
            "time=\"2026-11-25T02:{:02}:{:02}Z\" level=info msg=\"item {line} ",
            line / 60 % 60,
            line % 60
        ));
        for _ in 0..40 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push(char::from(b'a' + (state % 26) as u8));
        }
        text.push_str("\"\n");
    }
    text
}

/// Reads an entry whole; the error as text when it fails.
fn read_entry(bundle: &mut Bundle, entry: &str) -> Result<Vec<u8>, String> {
    let mut reader = bundle.open_entry(entry).map_err(|e| e.to_string())?;
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(|e| e.to_string())
        .map(|_| data)
}

fn open_error(path: &Path) -> String {
    match Bundle::open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(error) => error.to_string(),
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in std::fs::read_dir(&dir).unwrap() {
            let item = item.unwrap();
            if item.file_type().unwrap().is_dir() {
                stack.push(item.path());
            } else {
                found.push(item.path());
            }
        }
    }
    found.sort();
    found
}

// ---------------------------------------------------------------------------------------------
// Truncated and corrupt archives
// ---------------------------------------------------------------------------------------------

#[test]
fn a_truncated_zip_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.zip");
    valid_bundle(&whole);
    let bytes = std::fs::read(&whole).unwrap();
    for cut in [
        4,
        30,
        100,
        bytes.len() / 2,
        bytes.len() - 30,
        bytes.len() - 1,
    ] {
        let path = dir.path().join(format!("cut-{cut}.zip"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let message = open_error(&path);
        assert!(message.contains(&format!("cut-{cut}.zip")), "{message}");
    }
    let empty = dir.path().join("empty.zip");
    std::fs::write(&empty, b"").unwrap();
    assert!(open_error(&empty).contains("expected a snapdoc zip"));
}

#[test]
fn corrupt_entry_data_fails_when_read_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    valid_bundle(&path);
    let (start, len) = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let entry = archive.by_name(VELERO_LOG).unwrap();
        (
            entry.data_start().unwrap() as usize,
            entry.compressed_size() as usize,
        )
    };
    let mut bytes = std::fs::read(&path).unwrap();
    for byte in &mut bytes[start + len / 3..start + len / 3 + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();

    let mut bundle = Bundle::open(&path).unwrap();
    let error = read_entry(&mut bundle, VELERO_LOG).unwrap_err();
    assert!(error.contains(VELERO_LOG), "{error}");
    // The other entries are intact and still read.
    assert_eq!(
        bundle.objects("backups.velero.io").unwrap()[0]["metadata"]["name"],
        "nightly"
    );
    let report = snapdoc::bundle::verify(&path).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].starts_with(VELERO_LOG),
        "{:?}",
        report.problems
    );
}

#[test]
fn corrupt_json_names_the_entry_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    raw_zip(
        &path,
        &[(
            BACKUPS_JSON,
            b"{\"kind\": \"List\",\n \"items\": [\n  {\"metadata\": }\n]}",
        )],
    );
    let mut bundle = Bundle::open(&path).unwrap();
    let message = bundle.objects("backups.velero.io").unwrap_err().to_string();
    assert!(message.contains(BACKUPS_JSON), "{message}");
    assert!(message.contains("line 3"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Zip bombs: ratio, per-entry and total size, sizes that lie
// ---------------------------------------------------------------------------------------------

#[test]
fn a_highly_compressed_entry_is_refused_as_a_zip_bomb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zip");
    let zeros = vec![0u8; 16 * 1024 * 1024];
    raw_zip(&path, &[(VELERO_LOG, &zeros), (BACKUPS_JSON, b"{}")]);
    assert!(std::fs::metadata(&path).unwrap().len() < 100 * 1024);
    let message = open_error(&path);
    assert!(message.contains(VELERO_LOG), "{message}");
    assert!(message.contains("zip bomb"), "{message}");
    assert!(message.contains("200:1"), "{message}");
}

#[test]
fn entry_and_total_size_limits_name_the_entry_that_crosses_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.zip");
    let text = varied_text(30_000);
    raw_zip(
        &path,
        &[
            ("velero/logs/a/velero.log", text.as_bytes()),
            ("velero/logs/b/velero.log", text.as_bytes()),
            ("velero/logs/c/velero.log", text.as_bytes()),
        ],
    );
    let size = text.len() as u64;
    let per_entry = ArchiveLimits {
        max_entry_bytes: size - 1,
        ..ArchiveLimits::default()
    };
    let message = Bundle::open_with_limits(&path, per_entry)
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("velero/logs/a/velero.log"), "{message}");
    assert!(message.contains("per-entry limit"), "{message}");

    let total = ArchiveLimits {
        max_total_bytes: 2 * size + 10,
        ..ArchiveLimits::default()
    };
    let message = Bundle::open_with_limits(&path, total)
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("velero/logs/c/velero.log"), "{message}");
    assert!(message.contains("in total"), "{message}");

    // Within the defaults it reads.
    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(
        read_entry(&mut bundle, "velero/logs/b/velero.log").unwrap(),
        text.as_bytes()
    );
}

/// Sets the uncompressed size an entry declares, in its local header and its central directory record.
fn patch_declared_size(path: &Path, entry: &str, size: u32) {
    let (local, central_start) = {
        let archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let index = archive.index_for_name(entry).unwrap();
        let data = archive.by_index_data(index).unwrap();
        (
            data.header_start() as usize,
            archive.central_directory_start() as usize,
        )
    };
    let mut bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[local..local + 4], b"PK\x03\x04");
    bytes[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
    // Walk the central directory to the entry's record.
    let mut at = central_start;
    loop {
        assert_eq!(&bytes[at..at + 4], b"PK\x01\x02");
        let field = |o: usize| u16::from_le_bytes([bytes[at + o], bytes[at + o + 1]]) as usize;
        let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
        if &bytes[at + 46..at + 46 + name_len] == entry.as_bytes() {
            bytes[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
            break;
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_entry_inflating_beyond_its_declared_size_is_stopped_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liar.zip");
    let text = varied_text(300_000);
    raw_zip(&path, &[(VELERO_LOG, text.as_bytes())]);
    patch_declared_size(&path, VELERO_LOG, 1000);
    let mut bundle = Bundle::open(&path).unwrap();
    let error = read_entry(&mut bundle, VELERO_LOG).unwrap_err();
    assert!(error.contains(VELERO_LOG), "{error}");
    // The zip crate or our own count stops it, whichever sees it first.
    assert!(error.to_lowercase().contains("declare"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Names that leave the bundle, links, duplicates
// ---------------------------------------------------------------------------------------------

#[test]
fn entry_names_leaving_the_bundle_are_refused_and_nothing_is_written() {
    for name in [
        "../escape.json",
        "velero/../../escape.log",
        "/etc/cron.d/escape",
        "C:\\Windows\\escape.log",
        "velero\\logs\\p\\velero.log",
        "velero//logs/p/velero.log",
        "./velero/logs/p/velero.log",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("in");
        std::fs::create_dir(&inner).unwrap();
        let path = inner.join("bundle.zip");
        raw_zip(&path, &[(BACKUPS_JSON, b"{}"), (name, b"payload\n")]);
        let message = open_error(&path);
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains("bundle.zip"), "{name}: {message}");
        assert_eq!(files_in(dir.path()), vec![path], "{name}");
    }
}

#[test]
fn a_symlink_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.add_symlink(
        VELERO_LOG,
        "../../../../etc/passwd",
        SimpleFileOptions::default(),
    )
    .unwrap();
    zip.finish().unwrap();
    let message = open_error(&path);
    assert!(message.contains(VELERO_LOG), "{message}");
    assert!(message.contains("symbolic link"), "{message}");
}

#[test]
fn duplicate_entries_are_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.zip");
    // The zip crate refuses to write a name twice: write two names of one length, then rename one.
    let twin = "velero/logs/velero-7d9f8c6b5d-x2x4z/velerX.log";
    raw_zip(&path, &[(VELERO_LOG, b"first\n"), (twin, b"second\n")]);
    let bytes = std::fs::read(&path).unwrap();
    let renamed = replace_all(&bytes, twin.as_bytes(), VELERO_LOG.as_bytes());
    std::fs::write(&path, renamed).unwrap();
    let message = open_error(&path);
    assert!(message.contains(VELERO_LOG), "{message}");
    assert!(message.contains("more than once"), "{message}");
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut at = 0;
    while let Some(pos) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + pos..at + pos + to.len()].copy_from_slice(to);
        at += pos + to.len();
    }
    out
}

#[cfg(unix)]
#[test]
fn a_directory_bundle_never_follows_links_out_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.log"), "SECRET-OUTSIDE\n").unwrap();
    let root = dir.path().join("bundle");
    let logs = root.join("velero/logs/velero-1");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("node-agent.log"), "inside\n").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.log"), logs.join("velero.log")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("kots")).unwrap();

    let mut bundle = Bundle::open(&root).unwrap();
    assert_eq!(bundle.entries(), ["velero/logs/velero-1/node-agent.log"]);
    let logs: Vec<String> = bundle.logs().into_iter().map(|l| l.path).collect();
    assert_eq!(logs, ["velero/logs/velero-1/node-agent.log"]);
    for through_link in ["velero/logs/velero-1/velero.log", "kots/secret.log"] {
        let error = read_entry(&mut bundle, through_link).unwrap_err();
        assert!(error.contains(through_link), "{error}");
        assert!(!error.contains("SECRET"), "{error}");
    }
}

// ---------------------------------------------------------------------------------------------
// Odd content: empty files, JSON that is not a List, non-UTF-8 logs
// ---------------------------------------------------------------------------------------------

#[test]
fn json_that_is_not_a_list_names_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    for (content, expected) in [
        (&b"\"backups\""[..], "found a string"),
        (b"42", "found a number"),
        (
            b"{\"kind\": \"List\", \"items\": {\"a\": 1}}",
            "`items` is an object",
        ),
        (b"{\"items\": \"none\"}", "`items` is a string"),
        (b"{\"hello\": \"world\"}", "expected a Kubernetes List"),
        (b"", "invalid JSON at line 1"),
        (b"   \n", "invalid JSON at line 2"),
        (b"{\"kind\": \"List\", \"items\": [", "invalid JSON"),
    ] {
        let path = dir.path().join("odd.zip");
        let _ = std::fs::remove_file(&path);
        raw_zip(&path, &[(BACKUPS_JSON, content)]);
        let mut bundle = Bundle::open(&path).unwrap();
        let message = bundle.objects("backups.velero.io").unwrap_err().to_string();
        assert!(message.contains(BACKUPS_JSON), "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // null, an empty List, `items: null` and a bare array are all fine.
    for content in [
        &b"null"[..],
        b"{\"kind\": \"List\", \"items\": null}",
        b"{\"kind\": \"List\", \"items\": []}",
        b"[{\"metadata\": {\"name\": \"a\"}}]",
    ] {
        let path = dir.path().join("fine.zip");
        let _ = std::fs::remove_file(&path);
        raw_zip(&path, &[(BACKUPS_JSON, content)]);
        Bundle::open(&path)
            .unwrap()
            .objects("backups.velero.io")
            .unwrap();
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.zip");
    let deep = format!(
        "{{\"items\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    raw_zip(&path, &[(BACKUPS_JSON, deep.as_bytes())]);
    let mut bundle = Bundle::open(&path).unwrap();
    let message = bundle.objects("backups.velero.io").unwrap_err().to_string();
    assert!(message.contains(BACKUPS_JSON), "{message}");
    assert!(message.contains("recursion limit"), "{message}");
}

#[test]
fn an_empty_or_broken_manifest_names_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    for content in [
        &b""[..],
        b"[]",
        b"{\"formatVersion\": \"one\"}",
        b"\xff\xfe",
    ] {
        let path = dir.path().join("manifest.zip");
        let _ = std::fs::remove_file(&path);
        raw_zip(&path, &[("manifest.json", content)]);
        let message = open_error(&path);
        assert!(message.contains("manifest.json"), "{message}");
    }
}

#[test]
fn empty_and_non_utf8_logs_are_read_as_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.zip");
    let latin1 =
        b"time=\"2026-11-25T02:30:01Z\" level=error msg=\"caf\xe9 \xff\xfe backup failed\"\n";
    raw_zip(
        &path,
        &[
            (VELERO_LOG, latin1),
            ("velero/logs/node-agent-1/node-agent.log", b""),
        ],
    );
    let mut bundle = Bundle::open(&path).unwrap();
    assert_eq!(bundle.logs().len(), 2);
    assert_eq!(read_entry(&mut bundle, VELERO_LOG).unwrap(), latin1);
    assert!(
        read_entry(&mut bundle, "velero/logs/node-agent-1/node-agent.log")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_error_of_every_kind_says_which_file() {
    // BundleError's messages carry the path: what the CLI prints is enough to find the culprit.
    let missing = Path::new("/nonexistent/snapdoc/bundle.zip");
    let error = Bundle::open(missing).err().unwrap();
    assert!(matches!(error, BundleError::Io { .. }));
    assert!(
        error
            .to_string()
            .contains("/nonexistent/snapdoc/bundle.zip")
    );
}

// ---------------------------------------------------------------------------------------------
// Output safety: nothing existing is replaced without --force; outputs appear whole or not at all
// ---------------------------------------------------------------------------------------------

fn finished_bundle(writer: BundleWriter) -> Result<PathBuf, BundleError> {
    writer.finish(RunInfo::default()).map(|(path, _)| path)
}

#[test]
fn a_bundle_never_replaces_a_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("bundle.zip");
    std::fs::write(&target, b"precious").unwrap();
    let error = BundleWriter::create(&target, false).err().unwrap();
    assert!(matches!(error, BundleError::Exists { .. }), "{error}");
    assert!(error.to_string().contains("--force"), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");

    // With --force the old file is replaced by a complete bundle, and no temporary file stays.
    let mut writer = BundleWriter::create(&target, true).unwrap();
    writer.add_bytes(VELERO_LOG, b"line\n").unwrap();
    finished_bundle(writer).unwrap();
    assert!(snapdoc::bundle::verify(&target).unwrap().is_ok());
    assert_eq!(files_in(dir.path()), vec![target]);
}

#[test]
fn a_file_appearing_during_the_run_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("bundle.zip");
    let mut writer = BundleWriter::create(&target, false).unwrap();
    writer.add_bytes(VELERO_LOG, b"line\n").unwrap();
    // Another run (or the user) wrote the same name meanwhile.
    std::fs::write(&target, b"written meanwhile").unwrap();
    let error = finished_bundle(writer).unwrap_err();
    assert!(matches!(error, BundleError::Exists { .. }), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), b"written meanwhile");
    assert_eq!(files_in(dir.path()), vec![target]);
}

#[cfg(unix)]
#[test]
fn links_at_the_output_or_temporary_name_are_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"do not touch").unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();

    // A dangling link as the output: `exists()` says no, but it is a name in use.
    let dangling = out.join("dangling.zip");
    std::os::unix::fs::symlink(dir.path().join("nowhere.zip"), &dangling).unwrap();
    assert!(matches!(
        BundleWriter::create(&dangling, false),
        Err(BundleError::Exists { .. })
    ));
    assert!(!dir.path().join("nowhere.zip").exists());

    // A link planted at the temporary name the writer will use.
    let target = out.join("bundle.zip");
    let planted = out.join(format!(".bundle.zip.{}.partial", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let error = BundleWriter::create(&target, false).err().unwrap();
    assert!(error.to_string().contains(".partial"), "{error}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"do not touch");
    assert!(!target.exists());

    // Reports: the same for a dangling link at the report's name.
    let report = out.join("report.html");
    std::os::unix::fs::symlink(dir.path().join("elsewhere.html"), &report).unwrap();
    let error = snapdoc::report::write_report(&report, "<html></html>", false).unwrap_err();
    assert!(error.to_string().contains("report.html"), "{error}");
    assert!(!dir.path().join("elsewhere.html").exists());
}

#[test]
fn a_report_never_replaces_a_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.md");
    std::fs::write(&target, b"precious").unwrap();
    let error = snapdoc::report::write_report(&target, "# new", false).unwrap_err();
    assert!(error.to_string().contains("report.md"), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    snapdoc::report::write_report(&target, "# new", true).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"# new");
    assert_eq!(files_in(dir.path()), vec![target]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_cli_refuses_an_existing_output_with_exit_code_2() {
    let scenario = snapdoc::lab::Scenario::builtin("lab-basics").unwrap();
    let lab = snapdoc::lab::LabCluster::start(scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig).unwrap();
    let output = dir.path().join("existing.zip");
    std::fs::write(&output, b"an earlier bundle").unwrap();
    // The lab serves on this runtime: the child runs on a blocking thread meanwhile.
    let args = (kubeconfig.clone(), output.clone());
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(["collect", "--kubeconfig"])
            .arg(&args.0)
            .arg("-o")
            .arg(&args.1)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("existing.zip"), "{stderr}");
    assert_eq!(std::fs::read(&output).unwrap(), b"an earlier bundle");
    assert_eq!(files_in(dir.path()).len(), 2);
    lab.shutdown().await;
}

/// The existing report is refused before any bundle is read: a long analysis is not run only to be thrown
/// away. The bundle named does not even exist, so an error about it would mean it was read first.
#[test]
fn analyze_cli_refuses_an_existing_report_before_reading_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(&report, b"an earlier report").unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["analyze", "--format", "json", "-o"])
        .arg(&report)
        .arg(dir.path().join("no-such-bundle.zip"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("report.json already exists"), "{stderr}");
    assert!(!stderr.contains("no-such-bundle"), "{stderr}");
    assert_eq!(std::fs::read(&report).unwrap(), b"an earlier report");
}

// ---------------------------------------------------------------------------------------------
// Through the whole analysis: huge lines, odd bytes, unreadable entries
// ---------------------------------------------------------------------------------------------

const SIGNATURE: &str = "NoSuchBucket: The specified bucket does not exist";

fn analyze(path: &Path) -> Analysis {
    analyze_bundle(path, &AnalysisOptions::default()).unwrap()
}

fn finding<'a>(analysis: &'a Analysis, id: &str) -> &'a Finding {
    analysis
        .findings
        .iter()
        .find(|f| f.rule_id == id)
        .unwrap_or_else(|| {
            let ids: Vec<&str> = analysis
                .findings
                .iter()
                .map(|f| f.rule_id.as_str())
                .collect();
            panic!("no {id} among {ids:?}")
        })
}

/// A bundle with one Failed backup `nightly` whose backup log is `backup_log`, streamed from a reader.
fn failed_backup_bundle(path: &Path, backup_log: impl Read) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    writer
        .add_json(
            BACKUPS_JSON,
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "velero.io/v1", "kind": "Backup",
                 "metadata": {"name": "nightly", "namespace": "velero",
                              "creationTimestamp": "2026-11-25T02:30:00Z"},
                 "spec": {"storageLocation": "default"},
                 "status": {"phase": "Failed", "startTimestamp": "2026-11-25T02:30:00Z",
                            "completionTimestamp": "2026-11-25T02:31:00Z",
                            "failureReason": "error checking if backup already exists in object storage"}}
            ]}),
        )
        .unwrap();
    writer
        .add_stream("velero/backups/nightly/backup.log", backup_log)
        .unwrap();
    writer.finish(RunInfo::default()).unwrap();
}

/// `len` bytes of letters that deflate about 1.6:1, produced on demand (never held whole).
struct VariedBytes {
    remaining: usize,
    state: u64,
}

impl Read for VariedBytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.remaining);
        for byte in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = b'a' + (self.state % 26) as u8;
        }
        self.remaining -= n;
        Ok(n)
    }
}

#[test]
fn a_50_mib_single_line_log_is_scanned_whole_in_bounded_memory() {
    const LINE: usize = 50 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-line.zip");
    let head = "time=\"2026-11-25T02:30:01Z\" level=info msg=\"backup started\"\n\
                time=\"2026-11-25T02:30:02Z\" level=error msg=\"";
    let tail = format!(
        " {SIGNATURE}\" backup=velero/nightly\n\
                        time=\"2026-11-25T02:31:00Z\" level=error msg=\"{SIGNATURE}\" backup=velero/nightly\n"
    );
    let log = head
        .as_bytes()
        .chain(VariedBytes {
            remaining: LINE,
            state: 0x2545_f491_4f6c_dd1d,
        })
        .chain(tail.as_bytes());
    failed_backup_bundle(&path, log);

    let (analysis, peak) = peak_memory_of(|| analyze(&path));
    // The line is 50 MiB: holding it (or a copy of it) would show here. The figure also holds the built-in
    // catalog's compiled regexes and their caches, which grow with the catalog (23 MiB at 170 rules).
    assert!(
        peak < 32 * 1024 * 1024,
        "the analysis held {} MiB at its peak",
        peak / (1024 * 1024)
    );
    let found = finding(&analysis, "SD101");
    assert_eq!(
        found.count, 2,
        "the signature at the end of the long line and on the next"
    );
    let lines: Vec<u64> = found
        .evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::LogLine { line, excerpt, .. } => {
                // 2,000 characters around the match and a `…` for each cut.
                assert!(excerpt.chars().count() <= 2002, "excerpt is bounded");
                Some(*line)
            }
            _ => None,
        })
        .collect();
    assert_eq!(lines, vec![2, 3]);
    for timeline in &analysis.timelines {
        for entry in &timeline.entries {
            assert!(entry.text.chars().count() <= 1000, "{}", entry.text.len());
        }
    }
}

#[test]
fn non_utf8_log_lines_are_matched_and_shown_lossily() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.zip");
    let mut log = b"time=\"2026-11-25T02:30:02Z\" level=error msg=\"caf\xe9 \xff\xfe ".to_vec();
    log.extend_from_slice(SIGNATURE.as_bytes());
    log.extend_from_slice(b"\" backup=velero/nightly\n\xc3\x28 not UTF-8 either\n");
    failed_backup_bundle(&path, &log[..]);
    let analysis = analyze(&path);
    let found = finding(&analysis, "SD101");
    let Evidence::LogLine { excerpt, line, .. } = &found.evidence[0] else {
        panic!("{:?}", found.evidence)
    };
    assert_eq!(*line, 1);
    assert!(excerpt.contains(SIGNATURE), "{excerpt}");
    assert!(excerpt.contains('\u{fffd}'), "{excerpt}");
    // The match is located in the lossy text, in characters.
    let Evidence::LogLine {
        span: Some(span), ..
    } = &found.evidence[0]
    else {
        panic!("no match span: {:?}", found.evidence)
    };
    let matched: String = excerpt
        .chars()
        .skip(span.start)
        .take(span.end - span.start)
        .collect();
    assert!(matched.contains(SIGNATURE), "{matched}");
}

#[test]
fn an_empty_log_and_an_unreadable_log_leave_the_rest_of_the_analysis() {
    let dir = tempfile::tempdir().unwrap();
    // Empty backup log: no finding from it, no error.
    let empty = dir.path().join("empty.zip");
    failed_backup_bundle(&empty, &b""[..]);
    let analysis = analyze(&empty);
    assert!(!analysis.findings.iter().any(|f| f.rule_id == "SD101"));

    // A backup log whose compressed data is damaged: the analysis still runs, and says which file it lost.
    let damaged = dir.path().join("damaged.zip");
    let entry = "velero/backups/nightly/backup.log";
    failed_backup_bundle(
        &damaged,
        VariedBytes {
            remaining: 400_000,
            state: 7,
        },
    );
    let (start, len) = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&damaged).unwrap()).unwrap();
        let file = archive.by_name(entry).unwrap();
        (
            file.data_start().unwrap() as usize,
            file.compressed_size() as usize,
        )
    };
    let mut bytes = std::fs::read(&damaged).unwrap();
    for byte in &mut bytes[start + len / 2..start + len / 2 + 256] {
        *byte = !*byte;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let analysis = analyze(&damaged);
    assert!(
        analysis.unavailable.iter().any(|note| note.contains(entry)),
        "{:?}",
        analysis.unavailable
    );
    // The backup itself is still reported.
    assert!(analysis.backups.iter().any(|b| b.name == "nightly"));
}

#[test]
fn a_resource_file_that_is_not_a_list_is_a_note_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.zip");
    let mut writer = BundleWriter::create(&path, false).unwrap();
    writer
        .add_bytes(BACKUPS_JSON, b"\"this is not a list\"")
        .unwrap();
    writer
        .add_bytes("cluster-resources/pods/velero.json", b"")
        .unwrap();
    writer
        .add_bytes(
            VELERO_LOG,
            format!("level=error msg=\"{SIGNATURE}\"\n").as_bytes(),
        )
        .unwrap();
    writer.finish(RunInfo::default()).unwrap();
    let analysis = analyze(&path);
    for entry in [BACKUPS_JSON, "cluster-resources/pods/velero.json"] {
        assert!(
            analysis.unavailable.iter().any(|note| note.contains(entry)),
            "{entry}: {:?}",
            analysis.unavailable
        );
    }
    // Log rules still ran.
    finding(&analysis, "SD101");
}

// ---------------------------------------------------------------------------------------------
// Rule files: broken YAML, hostile regexes, resource bombs; errors say file:line
// ---------------------------------------------------------------------------------------------

/// A user rule with a log match; `regex`, `matching` and `not_matching` go into single-quoted YAML.
fn log_rule(id: &str, name: &str, regex: &str, matching: &str, not_matching: &str) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    format!(
        "id: {id}\nname: {name}\nseverity: warn\ncategory: resources\ntitle: Test rule {name}\n\
         message: 'matched {{{{count}}}} lines'\ncause: Because.\nfix: Do this.\n\
         match:\n  log:\n    sources: [velero-server]\n    regex: {}\n\
         tests:\n  match:\n    - {}\n  no_match:\n    - {}\n",
        quote(regex),
        quote(matching),
        quote(not_matching)
    )
}

fn rule_errors(file: &str, text: &str) -> Vec<String> {
    match snapdoc::analyze::RuleSet::from_files(&[(file.to_string(), text.to_string())]) {
        Ok(_) => panic!("{file} loaded"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_backtracking_shaped_regex_runs_in_linear_time() {
    // Exponential for a backtracking engine on a few dozen characters; the regex crate is linear.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for (id, name, regex, matching) in [
        ("SD971", "nested-plus", "^(a+)+$", "aaaa"),
        ("SD972", "overlapping-plus", "(x+x+)+y", "xxy"),
        ("SD973", "alternation-star", "^(a|aa)*b$", "aab"),
    ] {
        std::fs::write(
            rules.join(format!("{id}-{name}.yaml")),
            log_rule(id, name, regex, matching, &"a".repeat(40)),
        )
        .unwrap();
    }
    let path = dir.path().join("bundle.zip");
    let mut writer = BundleWriter::create(&path, false).unwrap();
    let mut log = String::new();
    for _ in 0..20 {
        log.push_str(&"a".repeat(50_000));
        log.push_str("!\n");
        log.push_str(&"x".repeat(50_000));
        log.push('\n');
    }
    writer.add_bytes(VELERO_LOG, log.as_bytes()).unwrap();
    writer.finish(RunInfo::default()).unwrap();

    let options = AnalysisOptions {
        rules_dirs: vec![rules],
        ..AnalysisOptions::default()
    };
    let started = std::time::Instant::now();
    let analysis = analyze_bundle(&path, &options).unwrap();
    let elapsed = started.elapsed();
    // 2 MB of adversarial text: a backtracking engine would not finish in a lifetime.
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
    for id in ["SD971", "SD972", "SD973"] {
        assert!(
            !analysis.findings.iter().any(|f| f.rule_id == id),
            "{id} matched"
        );
        assert!(
            analysis.checks_passed.iter().any(|r| r.id == id),
            "{id} did not run"
        );
    }
}

#[test]
fn regexes_beyond_the_engine_name_the_file_and_line() {
    for (regex, expected) in [
        (r"\w{2000}{2000}", "size limit"),
        (r"(?=NoSuchBucket)No", "look-around"),
        (r"(bucket)\1", "backreference"),
        (r"NoSuchBucket(?<!x)", "look-around"),
    ] {
        let errors = rule_errors(
            "rules/SD974-odd-regex.yaml",
            &log_rule("SD974", "odd-regex", regex, "NoSuchBucket", "other"),
        );
        assert!(
            errors[0].starts_with("rules/SD974-odd-regex.yaml:12:"),
            "{regex}: {errors:?}"
        );
        assert!(
            errors[0].to_lowercase().contains(expected),
            "{regex}: {errors:?}"
        );
    }
}

/// An object rule whose one `tests.match` sample is `sample` (a YAML flow map): samples take any value.
fn object_rule_with_sample(sample: &str) -> String {
    format!(
        "id: SD975\nname: bomb\nseverity: warn\ncategory: resources\ntitle: Bomb\nmessage: 'x'\n\
         cause: Because.\nfix: Do this.\nmatch:\n  object:\n    kind: backupstoragelocations.velero.io\n\
         \x20   when: {{path: status.phase, equals: Unavailable}}\ntests:\n  match:\n\
         \x20   - {sample}\n  no_match:\n\
         \x20   - {{status: {{phase: Available}}}}\n"
    )
}

#[test]
fn yaml_bombs_and_odd_files_are_refused_naming_the_file() {
    let file = "rules/SD975-bomb.yaml";
    // Billion laughs inside an object rule's sample (a sample is any map, so nothing stops the
    // parser before it has to expand 9^9 strings).
    let mut laughs = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]");
    for level in 1..9 {
        let refs = vec![format!("*l{}", level - 1); 9].join(", ");
        laughs.push_str(&format!(", l{level}: &l{level} [{refs}]"));
    }
    let bomb = object_rule_with_sample(&format!("{{status: {{phase: Unavailable}}, {laughs}}}"));
    let started = std::time::Instant::now();
    let (result, peak) = peak_memory_of(|| {
        snapdoc::analyze::RuleSet::from_files(&[(file.to_string(), bomb.clone())])
    });
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert!(peak < 256 * 1024 * 1024, "{} MiB", peak >> 20);
    let errors: Vec<String> = result
        .err()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(errors[0].starts_with(&format!("{file}:")), "{errors:?}");

    // Nesting deep enough to overflow a recursive parser's stack, where any value is accepted.
    let deep = object_rule_with_sample(&format!(
        "{{status: {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    let errors = rule_errors(file, &deep);
    assert!(errors[0].starts_with(&format!("{file}:")), "{errors:?}");

    // A key given twice.
    let twice = log_rule("SD975", "bomb", "NoSuchBucket", "NoSuchBucket", "x")
        .replace("severity: warn\n", "severity: warn\nseverity: fail\n");
    let errors = rule_errors(file, &twice);
    assert!(errors[0].starts_with(&format!("{file}:4:")), "{errors:?}");
    assert!(errors[0].contains("severity"), "{errors:?}");

    // Empty, a bare scalar, a list.
    for text in ["", "just a string\n", "- id: SD975\n"] {
        let errors = rule_errors(file, text);
        assert!(
            errors[0].starts_with(&format!("{file}:")),
            "{text:?}: {errors:?}"
        );
    }
}

#[test]
fn unreadable_rule_files_and_directories_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("SD976-latin1.yaml");
    std::fs::write(&file, b"id: SD976\nname: caf\xe9\n").unwrap();
    let error = snapdoc::analyze::RuleSet::load(&[dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(error.contains("SD976-latin1.yaml"), "{error}");

    let missing = dir.path().join("no-such-rules");
    let error = snapdoc::analyze::RuleSet::load(std::slice::from_ref(&missing))
        .unwrap_err()
        .to_string();
    assert!(error.contains("no-such-rules"), "{error}");
}

#[test]
fn analyze_cli_refuses_an_existing_report_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.zip");
    valid_bundle(&bundle);
    let report = dir.path().join("report.md");
    std::fs::write(&report, b"an earlier report").unwrap();
    let analyze = |force: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"));
        command
            .args(["analyze", "--format", "md", "--fail-on", "never", "-o"])
            .arg(&report)
            .arg(&bundle);
        if force {
            command.arg("--force");
        }
        command.output().unwrap()
    };
    let refused = analyze(false);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("report.md"), "{stderr}");
    assert_eq!(std::fs::read(&report).unwrap(), b"an earlier report");

    let forced = analyze(true);
    assert_eq!(
        forced.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("nightly")
    );
    assert_eq!(files_in(dir.path()), vec![bundle, report]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_demo_run_never_touches_the_first_runs_files() {
    let dir = tempfile::tempdir().unwrap();
    let args = snapdoc::pipeline::DemoOptions {
        scenario: "healthy".into(),
        out_dir: dir.path().to_path_buf(),
    };
    let first = snapdoc::pipeline::demo(&args).await.unwrap();
    let before: Vec<(PathBuf, Vec<u8>)> = files_in(&first.folder)
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    assert_eq!(before.len(), 3, "{before:?}");
    let second = snapdoc::pipeline::demo(&args).await.unwrap();
    assert_ne!(second.folder, first.folder);
    for (path, data) in &before {
        assert_eq!(&std::fs::read(path).unwrap(), data, "{}", path.display());
    }
    // Nothing but the two run folders, and no temporary file left in either.
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    let mut expected = vec![first.folder.clone(), second.folder.clone()];
    expected.sort();
    assert_eq!(folders, expected);
    assert_eq!(files_in(&second.folder).len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Foreign bundles (.tar.gz): truncated, gzip bombs, oversized entries
// (hostile names, links leaving the tree, garbage gzip: tests/foreign_bundles.rs)
// ---------------------------------------------------------------------------------------------

const TROUBLESHOOT_VERSION: &str =
    "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: v0.62.1\n";

/// A troubleshoot-shaped `.tar.gz` holding `files` (paths under `support-bundle/`).
fn troubleshoot_tar_gz(path: &Path, files: &[(&str, &[u8])]) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    let mut builder = tar::Builder::new(gz);
    let mut all: Vec<(&str, &[u8])> = vec![("version.yaml", TROUBLESHOOT_VERSION.as_bytes())];
    all.extend_from_slice(files);
    for (name, data) in all {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_764_072_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, format!("support-bundle/{name}"), data)
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_truncated_tar_gz_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.tar.gz");
    let log = varied_text(200_000);
    troubleshoot_tar_gz(
        &whole,
        &[
            ("cluster-resources/pods/velero.json", b"{\"items\": []}"),
            (
                "cluster-resources/pods/logs/velero/velero-1/velero.log",
                log.as_bytes(),
            ),
        ],
    );
    assert!(Bundle::open(&whole).is_ok());
    let bytes = std::fs::read(&whole).unwrap();
    for cut in [20, bytes.len() / 3, bytes.len() - 12] {
        let path = dir.path().join(format!("cut-{cut}.tar.gz"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let message = open_error(&path);
        assert!(message.contains(&format!("cut-{cut}.tar.gz")), "{message}");
    }
}

#[test]
fn a_gzip_bomb_is_stopped_before_it_fills_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.tar.gz");
    let zeros = vec![0u8; 24 * 1024 * 1024];
    troubleshoot_tar_gz(
        &path,
        &[(
            "cluster-resources/pods/logs/velero/velero-1/velero.log",
            &zeros,
        )],
    );
    assert!(std::fs::metadata(&path).unwrap().len() < 200 * 1024);
    let message = open_error(&path);
    assert!(message.contains("bomb.tar.gz"), "{message}");
    assert!(message.contains("zip bomb"), "{message}");
}

#[test]
fn a_tar_entry_beyond_the_entry_limit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tar.gz");
    let log = varied_text(100_000);
    let entry = "support-bundle/cluster-resources/pods/logs/velero/velero-1/velero.log";
    troubleshoot_tar_gz(
        &path,
        &[(
            "cluster-resources/pods/logs/velero/velero-1/velero.log",
            log.as_bytes(),
        )],
    );
    let limits = ArchiveLimits {
        max_entry_bytes: 50_000,
        ..ArchiveLimits::default()
    };
    let message = Bundle::open_with_limits(&path, limits)
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains(entry), "{message}");
    assert!(message.contains("per-entry limit"), "{message}");
    assert!(Bundle::open(&path).is_ok());
}
