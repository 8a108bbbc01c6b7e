//! Never a false green (issue #13) and the binary's edge (#23): when snapdoc cannot see, it says so and exits 2;
//! a reader that stops early ends the run quietly.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use snapdoc::lab::Scenario;

#[path = "support/background_lab.rs"]
#[allow(dead_code)]
mod background_lab;
use background_lab::BackgroundLab;

fn snapdoc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("snapdoc runs")
}

/// A kubeconfig for port 1 on loopback, where nothing listens.
const CLOSED_PORT_KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: abc}\n";

fn real_bundle(name: &str) -> Option<String> {
    let path = Path::new("/work/shared/real-bundles").join(name);
    path.exists().then(|| path.display().to_string())
}

#[test]
fn a_folder_without_bundle_content_is_an_error_not_healthy() {
    let empty = tempfile::tempdir().unwrap();
    let out = snapdoc(&["analyze", &empty.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no bundle content found in"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing reported as a result");

    // Two bundles in a folder: which one is meant is not guessed, both are named.
    std::fs::write(empty.path().join("a.zip"), b"PK\x05\x06").unwrap();
    std::fs::write(empty.path().join("b.zip"), b"PK\x05\x06").unwrap();
    let out = snapdoc(&["analyze", &empty.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean"), "{stderr}");
    assert!(stderr.contains("a.zip"), "{stderr}");
}

#[test]
fn the_folder_snapdoc_run_wrote_is_read_through_its_zip() {
    let Some(bundle) = real_bundle("ts-v0.133.0-json-only.tar.gz") else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(&bundle, folder.path().join("bundle.tar.gz")).unwrap();
    std::fs::write(folder.path().join("report.md"), "# report").unwrap();
    let out = snapdoc(&["analyze", &folder.path().display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("instance-7fq2x"), "{stdout}");
}

#[test]
fn an_unreachable_api_server_is_named_and_no_bundle_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, CLOSED_PORT_KUBECONFIG).unwrap();
    let output = dir.path().join("out.zip");
    let out = snapdoc(&[
        "collect",
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "-o",
        &output.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the Kubernetes API server 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(!stderr.contains("rbac"), "no RBAC advice: {stderr}");
    assert!(!output.exists(), "no empty bundle presented as a result");
}

#[test]
fn a_bad_since_fails_before_any_connection() {
    let out = snapdoc(&["collect", "--kubeconfig", "/nonexistent", "--since", "5y"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--since \"5y\": unknown unit"), "{stderr}");
    assert!(!stderr.contains("kubeconfig"), "{stderr}");
}

#[test]
fn each_cause_is_printed_once() {
    let out = snapdoc(&["verify", "/nonexistent/bundle.zip"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly_in_every_format() {
    let Some(bundle) = real_bundle("kots-v1.121.0-kurl.tar.gz") else {
        return;
    };
    for format in ["text", "json", "md", "html", "junit"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(["analyze", &bundle, "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // As `| head -c 100`: read a little, then close the pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{format}: {:?} {stderr}",
            out.status
        );
    }
}

/// The six real-layout bundles: none says "not installed", none is green.
#[test]
fn real_bundles_are_never_green_nor_falsely_not_installed() {
    for name in [
        "kots-v1.121.0-admin-console.tar.gz",
        "kots-v1.121.0-kurl.tar.gz",
        "ts-v0.107.2-velero-logs.tar.gz",
        "ts-v0.133.0-json-only.tar.gz",
        "ts-v0.50.0-kots-restic.tar.gz",
        "velero-debug-v1.12.3-pvb-failed.tar.gz",
    ] {
        let Some(bundle) = real_bundle(name) else {
            return;
        };
        let out = snapdoc(&["analyze", &bundle, "--format", "json"]);
        assert_ne!(out.status.code(), Some(0), "{name}");
        let analysis: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_ne!(analysis["status"], "healthy", "{name}");
        let ids: Vec<&str> = analysis["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["ruleId"].as_str())
            .collect();
        assert!(!ids.contains(&"SD813"), "{name}: Velero not installed");
    }
}

#[test]
fn an_empty_kubeconfig_variable_falls_back_to_the_home_config() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".kube")).unwrap();
    std::fs::write(home.path().join(".kube/config"), CLOSED_PORT_KUBECONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["collect", "-o"])
        .arg(home.path().join("out.zip"))
        .env("HOME", home.path())
        .env("KUBECONFIG", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // ~/.kube/config was used: its server is the one that could not be reached.
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_backup_that_does_not_exist_fails_before_collecting_with_the_nearest_names() {
    let lab = BackgroundLab::start(Scenario::builtin("failed-bsl").unwrap());
    let output = lab.path("out.zip");
    let out = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["collect", "--backup", "no-such-backup", "-o"])
        .arg(&output)
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("backup no-such-backup not found in any namespace; the nearest: "),
        "{stderr}"
    );
    assert!(!output.exists(), "nothing collected");
}
