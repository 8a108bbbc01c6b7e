//! `snapdoc collect` stopped by SIGINT / SIGTERM (issue #21): the real binary collects from the lab cluster,
//! a slow answer (`faults.slowAnswers`) holds it in a chosen stage, and the test sends the signal with
//! `kill`. Whatever the stage: exit 128 + the signal, no `.partial` zip, no spool left in TMPDIR. Once the
//! first stage is done, the bundle is finished with what was collected: `verify` accepts it, its manifest
//! says `interrupted` (signal and stage) and its analysis is incomplete, never healthy. DownloadRequests the
//! run created are deleted with `--delete-download-requests`, else left for Velero to expire (docs/rbac.md).
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use snapdoc::lab::Faults;
use snapdoc::lab::{LabCluster, RequestRecord, Scenario};

/// The built-in lab-basics scenario with only `faults`.
fn lab_basics(faults: Value) -> Scenario {
    let files: Vec<(String, String)> =
        snapdoc::embedded::files_under(snapdoc::embedded::SCENARIOS, "lab-basics/")
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect();
    let mut scenario = Scenario::from_files("lab-basics", "test:lab-basics", files).unwrap();
    scenario.faults = serde_json::from_value::<Faults>(faults).unwrap();
    scenario
}

/// A collection that was sent a signal.
struct Interrupted {
    output: Output,
    /// The working folder: kubeconfig, bundle.zip (if any) and nothing else.
    dir: tempfile::TempDir,
    /// The child's TMPDIR.
    tmp: tempfile::TempDir,
    lab: LabCluster,
}

impl Interrupted {
    fn bundle(&self) -> PathBuf {
        self.dir.path().join("bundle.zip")
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// What the run left behind: nothing in TMPDIR, no `.partial` beside the bundle.
    fn assert_clean(&self) {
        let left: Vec<String> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
        let partial: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("partial"))
            .collect();
        assert!(partial.is_empty(), "left beside the bundle: {partial:?}");
    }

    /// The finished bundle: verified by `snapdoc verify`, its manifest's `interrupted`.
    fn assert_verified_bundle_interrupted(&self, signal: &str, stage: &str) {
        let verify = snapdoc(&["verify"], &self.bundle());
        assert!(
            verify.status.success(),
            "{}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
        let manifest = snapdoc::bundle::Bundle::open(&self.bundle())
            .unwrap()
            .manifest()
            .cloned()
            .unwrap();
        let interrupted = manifest.interrupted.expect("marked interrupted");
        assert_eq!(interrupted.signal, signal);
        assert_eq!(interrupted.stage, stage);
        // Its analysis is incomplete, and says why.
        let analyze = snapdoc(&["analyze", "--format", "json"], &self.bundle());
        let report: Value = serde_json::from_slice(&analyze.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&analyze.stderr));
        });
        assert_ne!(report["status"], "healthy", "{report}");
        let not_seen = report["notSeen"].to_string();
        assert!(
            not_seen.contains(&format!("interrupted by {signal} during its {stage} stage")),
            "{not_seen}"
        );
        assert_ne!(analyze.status.code(), Some(0));
    }
}

/// `snapdoc ARGS PATH`.
fn snapdoc(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

/// Runs `snapdoc collect -o bundle.zip ARGS` against the lab playing `faults`; once `ready` holds for the
/// lab's request log, sends `signal` (`INT`, `TERM`) and waits for the end.
async fn collect_and_signal(
    faults: Value,
    args: &[&str],
    ready: impl Fn(&[RequestRecord]) -> bool,
    signal: &str,
) -> Interrupted {
    let lab = LabCluster::start(lab_basics(faults)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .current_dir(dir.path())
        .env("TMPDIR", tmp.path())
        .args(["collect", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["-o", "bundle.zip"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Waiting for a stage, not for a time: the slow answer holds the run there for a minute.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&lab.request_log()) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("snapdoc ended before the signal: {status}");
        }
        assert!(Instant::now() < deadline, "the run never reached the stage");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    Interrupted {
        output,
        dir,
        tmp,
        lab,
    }
}

fn answered(log: &[RequestRecord], method: &str, path_ends: &str) -> bool {
    log.iter()
        .any(|r| r.method == method && r.path.ends_with(path_ends) && r.status < 300)
}

/// The DownloadRequests' GETs wait a minute: the run is caught in its last stage, a request created.
fn slow_download_requests() -> Value {
    json!({"slowAnswers": [{"pathContains": "/downloadrequests/", "method": "GET", "ms": 60_000}]})
}

fn download_request_created(log: &[RequestRecord]) -> bool {
    answered(log, "POST", "/namespaces/velero/downloadrequests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_in_the_velero_objects_stage_leaves_a_verified_bundle_marked_interrupted() {
    let run = collect_and_signal(
        json!({"slowAnswers": [{"pathContains": "/podvolumebackups", "ms": 60_000}]}),
        &[],
        |log| answered(log, "GET", "/namespaces/velero/backups"),
        "INT",
    )
    .await;
    assert_eq!(run.output.status.code(), Some(130), "{}", run.stderr());
    assert!(
        run.stderr().contains("interrupted by SIGINT"),
        "{}",
        run.stderr()
    );
    run.assert_clean();
    run.assert_verified_bundle_interrupted("SIGINT", "velero objects");
    // What the first stage read is there.
    let bundle = snapdoc::bundle::Bundle::open(&run.bundle()).unwrap();
    let files: Vec<&str> = bundle
        .manifest()
        .unwrap()
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert!(files.contains(&"cluster/nodes.json"), "{files:?}");
    run.lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_downloading_deletes_the_download_requests_with_the_flag() {
    let run = collect_and_signal(
        slow_download_requests(),
        &["--delete-download-requests"],
        download_request_created,
        "TERM",
    )
    .await;
    assert_eq!(run.output.status.code(), Some(143), "{}", run.stderr());
    run.assert_clean();
    run.assert_verified_bundle_interrupted("SIGTERM", "logs and downloads");
    assert!(run.stderr().contains("were deleted"), "{}", run.stderr());
    assert_eq!(
        run.lab.objects("downloadrequests.velero.io"),
        Vec::<Value>::new()
    );
    run.lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_downloading_keeps_the_download_requests_without_the_flag() {
    let run = collect_and_signal(
        slow_download_requests(),
        &[],
        download_request_created,
        "INT",
    )
    .await;
    assert_eq!(run.output.status.code(), Some(130), "{}", run.stderr());
    run.assert_clean();
    run.assert_verified_bundle_interrupted("SIGINT", "logs and downloads");
    assert!(
        run.stderr().contains("left for Velero to expire"),
        "{}",
        run.stderr()
    );
    let left = run.lab.objects("downloadrequests.velero.io");
    assert!(!left.is_empty());
    assert!(left.iter().all(|r| {
        r.pointer("/metadata/labels/app.kubernetes.io~1created-by") == Some(&json!("snapdoc"))
    }));
    assert!(
        !run.lab.request_log().iter().any(|r| r.method == "DELETE"),
        "nothing deleted without --delete-download-requests"
    );
    run.lab.shutdown().await;
}

/// Stopped in the first stage there is nothing worth a bundle: none is written, nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_in_the_first_stage_writes_no_bundle_and_leaves_nothing() {
    let run = collect_and_signal(
        json!({"slowAnswers": [{"pathContains": "/persistentvolumes", "ms": 60_000}]}),
        &[],
        |log| answered(log, "GET", "/api/v1/nodes"),
        "TERM",
    )
    .await;
    assert_eq!(run.output.status.code(), Some(143), "{}", run.stderr());
    assert!(
        run.stderr().contains("nothing was written") || run.stderr().contains("were removed"),
        "{}",
        run.stderr()
    );
    assert!(!run.bundle().exists());
    run.assert_clean();
    run.lab.shutdown().await;
}

/// A cleanup that hangs (here the DownloadRequests' DELETEs wait a minute) does not hold the user hostage: a
/// second signal ends the process at once with its own code, and says what may be left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_during_the_cleanup_ends_the_process_at_once() {
    let faults = json!({"slowAnswers": [
        {"pathContains": "/downloadrequests/", "method": "GET", "ms": 60_000},
        {"pathContains": "/downloadrequests", "method": "DELETE", "ms": 60_000},
    ]});
    let lab = LabCluster::start(lab_basics(faults)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .current_dir(dir.path())
        .args(["collect", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["-o", "bundle.zip", "--delete-download-requests"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !download_request_created(&lab.request_log()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before the signal"
        );
        assert!(Instant::now() < deadline, "the run never reached the stage");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kill = |signal: &str| {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
    };
    kill("TERM");
    // The cleanup is under way once it asked to delete; the DELETE is answered only after a minute, so the
    // process is still cleaning up when the second signal comes (and a signal that came earlier ends it the
    // same way).
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill("INT");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("SIGINT again: stopping without cleaning up"),
        "{stderr}"
    );
    assert!(
        !lab.request_log().iter().any(|r| r.method == "DELETE"),
        "no DELETE was answered: the process did not wait for its cleanup"
    );
    lab.shutdown().await;
}
