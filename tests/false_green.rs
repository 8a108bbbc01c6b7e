//! Never a false green (issue #13) and the binary's edge (#23): when snapdoc cannot see, it says so and exits 2;
//! a reader that stops early ends the run quietly.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use snapdoc::lab::Scenario;

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;

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
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-bundles")
        .join(name);
    path.exists().then(|| path.display().to_string())
}

fn analysis_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The healthy scenario as snapdoc's bundle, extracted into a directory a test may damage.
fn healthy_bundle_directory(dir: &Path) -> std::path::PathBuf {
    let zip = dir.join("healthy.zip");
    foreign_fixtures::snapdoc_bundle_from_scenario(&Scenario::builtin("healthy").unwrap(), &zip);
    let out = dir.join("healthy");
    zip::ZipArchive::new(std::fs::File::open(&zip).unwrap())
        .unwrap()
        .extract(&out)
        .unwrap();
    out
}

/// Extracts a troubleshoot .tar.gz into `dir` as `tar -m` does after a copy: every file time is the moment
/// of extraction, or `mtime` when given.
fn extract_with_times(bundle: &str, dir: &Path, mtime: Option<&str>) -> std::path::PathBuf {
    let status = Command::new("tar")
        .args(["-xzmf", bundle, "-C"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let root = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    if let Some(mtime) = mtime {
        let status = Command::new("find")
            .arg(&root)
            .args(["-exec", "touch", "-h", "-d", mtime, "{}", "+"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    root
}

#[test]
fn a_copied_foreign_bundle_is_dated_from_its_folder_name_not_the_copy() {
    let Some(bundle) = real_bundle("ts-v0.107.2-velero-logs.tar.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = extract_with_times(&bundle, dir.path(), None);
    let out = snapdoc(&["analyze", &root.display().to_string(), "--format", "json"]);
    let analysis = analysis_json(&out);
    assert_eq!(analysis["bundle"]["created"], "2024-11-20T10:42:13Z");
    let from = analysis["bundle"]["createdFrom"].as_str().unwrap();
    assert!(
        from.contains("support-bundle-2024-11-20T10_42_13"),
        "{from}"
    );
    let text = String::from_utf8_lossy(&snapdoc(&["analyze", &root.display().to_string()]).stdout)
        .to_string();
    assert!(
        text.contains(
            "Dated 2024-11-20T10:42:13Z from the name support-bundle-2024-11-20T10_42_13"
        ),
        "{text}"
    );
}

#[test]
fn a_renamed_foreign_bundle_is_never_dated_before_its_newest_object() {
    let Some(bundle) = real_bundle("ts-v0.107.2-velero-logs.tar.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Renamed (`-o case-4711`) and copied with file times from long before it was collected.
    let root = extract_with_times(&bundle, dir.path(), Some("2020-01-01T00:00:00Z"));
    let renamed = dir.path().join("case-4711");
    std::fs::rename(&root, &renamed).unwrap();
    let out = snapdoc(&[
        "analyze",
        &renamed.display().to_string(),
        "--format",
        "json",
    ]);
    let analysis = analysis_json(&out);
    let created = analysis["bundle"]["created"].as_str().unwrap();
    assert!(created.starts_with("2024-11-20T"), "{created}");
    let from = analysis["bundle"]["createdFrom"].as_str().unwrap();
    assert!(
        from.starts_with("the newest timestamp in its objects") && from.contains("2020-01-01"),
        "{from}"
    );
}

/// troubleshoot records what it did not collect in skipped-collectors.json, collector-errors/ and a logs
/// collector's errors.json (shapes from replicatedhq/troubleshoot 5bf008f7: pkg/collect/collector.go
/// `SkippedCollector`, pkg/supportbundle/collect.go, pkg/collect/logs.go); a bundle whose backups were never
/// collected is never "no backup failed".
#[test]
fn what_troubleshoot_skipped_or_failed_to_collect_is_never_green() {
    let Some(bundle) = real_bundle("ts-v0.133.0-json-only.tar.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = extract_with_times(&bundle, dir.path(), None);
    std::fs::remove_dir_all(root.join("cluster-resources")).unwrap();
    std::fs::remove_dir_all(root.join("velero")).unwrap();
    std::fs::write(
        root.join("skipped-collectors.json"),
        r#"[{"collector":"cluster-resources","reason":"excluded","errors":null,"timestamp":"2026-09-02T08:05:44Z"},{"collector":"logs/velero","reason":"insufficient RBAC permissions","errors":["pods is forbidden: User \"system:serviceaccount:app:sb\" cannot list resource \"pods\" in API group \"\" in the namespace \"velero\""],"timestamp":"2026-09-02T08:05:44Z"}]"#,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("collector-errors")).unwrap();
    std::fs::write(
        root.join("collector-errors/cluster-info-error.json"),
        r#"{"collector":"cluster-info","error":"Get \"https://10.96.0.1:443/version\": dial tcp 10.96.0.1:443: i/o timeout","timestamp":"2026-09-02T08:05:44Z"}"#,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("kots/velero")).unwrap();
    std::fs::write(
        root.join("kots/velero/errors.json"),
        r#"["pods is forbidden: User \"system:serviceaccount:app:sb\" cannot list resource \"pods\" in API group \"\" in the namespace \"velero\""]"#,
    )
    .unwrap();

    let out = snapdoc(&["analyze", &root.display().to_string(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let analysis = analysis_json(&out);
    assert_eq!(analysis["status"], "incomplete");
    let errors = analysis["collectorErrors"].as_array().unwrap();
    let error_of = |target: &str| {
        errors
            .iter()
            .find(|e| e["target"] == target)
            .unwrap_or_else(|| panic!("{target}: {errors:?}"))
    };
    assert!(
        error_of("cluster-resources")["message"]
            .as_str()
            .unwrap()
            .contains("excluded")
    );
    assert_eq!(error_of("logs/velero")["status"], 403);
    assert!(
        error_of("cluster-info")["message"]
            .as_str()
            .unwrap()
            .contains("i/o timeout")
    );
    assert_eq!(
        error_of("pods of the logs collector kots/velero")["status"],
        403
    );
    let text = String::from_utf8_lossy(&snapdoc(&["analyze", &root.display().to_string()]).stdout)
        .to_string();
    assert!(!text.contains("No backup or restore failed"), "{text}");
    assert!(text.contains("Incomplete"), "{text}");
}

#[test]
fn a_tampered_bundle_is_analysed_with_the_problem_in_its_header_and_never_green() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = healthy_bundle_directory(dir.path());
    let intact = snapdoc(&["analyze", &bundle.display().to_string(), "--format", "json"]);
    assert_eq!(analysis_json(&intact)["status"], "healthy");
    assert_eq!(intact.status.code(), Some(0));

    let entry = std::fs::read_dir(bundle.join("velero/logs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_dir(&entry)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&log, bytes).unwrap();

    let out = snapdoc(&["analyze", &bundle.display().to_string(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let analysis = analysis_json(&out);
    assert_eq!(analysis["status"], "incomplete");
    let problems = analysis["bundle"]["problems"].to_string();
    assert!(
        problems.contains("does not match its manifest"),
        "{problems}"
    );
    assert!(problems.contains("velero/logs/"), "{problems}");
    for format in ["md", "html", "text"] {
        let out = snapdoc(&["analyze", &bundle.display().to_string(), "--format", format]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Bundle problem"), "{format}: {text}");
        assert!(!text.contains("Healthy"), "{format}: {text}");
        assert!(text.contains("Incomplete"), "{format}: {text}");
    }
}

#[test]
fn a_bundle_of_a_newer_format_is_never_green() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = healthy_bundle_directory(dir.path());
    let manifest_path = bundle.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["formatVersion"] = 99.into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let out = snapdoc(&["analyze", &bundle.display().to_string(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let analysis = analysis_json(&out);
    assert_eq!(analysis["status"], "incomplete");
    let problems = analysis["bundle"]["problems"].to_string();
    assert!(
        problems.contains("format 99 is newer than this snapdoc reads"),
        "{problems}"
    );
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

/// The lab's kubeconfig with one line changed, as a user's broken kubeconfig would be.
fn broken_lab_kubeconfig(lab: &BackgroundLab, name: &str, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(lab.kubeconfig()).unwrap();
    let broken: String = text.lines().map(|l| edit(l) + "\n").collect();
    assert_ne!(broken, text, "{name}: the edit changed nothing");
    let path = lab.path(name);
    std::fs::write(&path, broken).unwrap();
    path.display().to_string()
}

/// 401 (an expired or wrong token), a certificate nobody trusts, a name that does not resolve: each stops
/// before anything is written, names the server and the cause, and gives no RBAC advice.
#[test]
fn rejected_credentials_untrusted_certificates_and_unknown_hosts_are_named() {
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let cases = [
        (
            "expired-token",
            broken_lab_kubeconfig(&lab, "expired-token", |line| {
                if line.trim_start().starts_with("token:") {
                    "    token: expired-0000".to_string()
                } else {
                    line.to_string()
                }
            }),
            "rejected the credentials (401 Unauthorized",
        ),
        (
            "untrusted-certificate",
            broken_lab_kubeconfig(&lab, "untrusted-certificate", |line| {
                if line.trim_start().starts_with("certificate-authority-data:") {
                    String::new()
                } else {
                    line.to_string()
                }
            }),
            "certificate",
        ),
        (
            "unknown-host",
            broken_lab_kubeconfig(&lab, "unknown-host", |line| {
                match line.split_once("server: https://") {
                    Some((indent, rest)) => format!(
                        "{indent}server: https://snapdoc-lab.invalid:{}",
                        rest.rsplit_once(':').unwrap().1
                    ),
                    None => line.to_string(),
                }
            }),
            "snapdoc-lab.invalid",
        ),
    ];
    for (name, kubeconfig, cause) in cases {
        let output = lab.path(&format!("{name}.zip"));
        let out = snapdoc(&[
            "collect",
            "--kubeconfig",
            &kubeconfig,
            "-o",
            &output.display().to_string(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("Kubernetes API server"), "{name}: {stderr}");
        assert!(stderr.contains(cause), "{name}: {stderr}");
        assert!(!stderr.to_lowercase().contains("rbac"), "{name}: {stderr}");
        assert!(!output.exists(), "{name}: no bundle presented as a result");
    }
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

/// Ctrl-C or SIGTERM (a CronJob's deadline) in the middle of a collection: it says what it stopped, leaves no
/// partial zip, no empty run folder, and exits 128 + the signal.
#[test]
fn an_interrupted_collection_cleans_up_and_exits_with_the_signal() {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    // Slow enough that the signal arrives while the bundle is being written.
    scenario.faults.latency_ms = 400;
    let lab = BackgroundLab::start(scenario);
    for (signal, code, command) in [("INT", 130, "collect"), ("TERM", 143, "run")] {
        let out_dir = tempfile::tempdir().unwrap();
        let target = out_dir.path().join("bundle.zip");
        let mut args = vec![
            command.to_string(),
            "--kubeconfig".into(),
            lab.kubeconfig().display().to_string(),
        ];
        match command {
            "collect" => args.extend(["-o".into(), target.display().to_string()]),
            _ => args.extend(["--out-dir".into(), out_dir.path().display().to_string()]),
        }
        let child = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(&args)
            .current_dir(out_dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the partial bundle exists: the collection is under way.
        let started = std::time::Instant::now();
        let partial = || {
            walk(out_dir.path())
                .into_iter()
                .any(|p| p.to_string_lossy().ends_with(".partial"))
        };
        while !partial() {
            assert!(
                started.elapsed().as_secs() < 60,
                "{command}: no partial bundle appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{command} {signal}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("interrupted by SIG{signal}")),
            "{command}: {stderr}"
        );
        let left = walk(out_dir.path());
        assert!(left.is_empty(), "{command} {signal}: left behind {left:?}");
    }
}

/// A cluster that proves Velero is not installed: no backup can run there, so a scheduled `run` fails rather
/// than reporting green forever.
#[test]
fn run_fails_where_velero_is_not_installed() {
    let lab = BackgroundLab::start(Scenario::builtin("no-velero").unwrap());
    let out_dir = tempfile::tempdir().unwrap();
    let kubeconfig = lab.kubeconfig().display().to_string();
    let out_path = out_dir.path().display().to_string();
    let out = snapdoc(&["run", "--kubeconfig", &kubeconfig, "--out-dir", &out_path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Velero is not installed"), "{stdout}");
    let out = snapdoc(&[
        "run",
        "--kubeconfig",
        &kubeconfig,
        "--out-dir",
        &out_path,
        "--fail-on",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

/// Every file and folder under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}
