//! `snapdoc lab serve --bundle`: real kubectl reads a customer's bundle as a cluster, whatever its format
//! (snapdoc zip, troubleshoot support bundle, velero debug bundle, OADP must-gather), and cannot change it.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use snapdoc::lab::Scenario;

#[path = "support/background_lab.rs"]
#[allow(dead_code)] // shared with the scenario tests, which use the rest
mod background_lab;
#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;
use background_lab::BackgroundLab;

fn kubectl(lab: &BackgroundLab, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .arg("--cache-dir")
        .arg(lab.path("cache"))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs")
}

/// kubectl's stdout; panics with its stderr when it fails.
fn kubectl_ok(lab: &BackgroundLab, args: &[&str]) -> String {
    let output = kubectl(lab, args);
    assert!(
        output.status.success(),
        "kubectl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "\n!!!!!!!! kubectl is not on PATH: SKIPPING the kubectl tests of lab serve --bundle !!!!!!!!\n"
        );
    }
    found
}

fn real_bundle(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-bundles")
        .join(name)
}

/// What kubectl must see in one served bundle.
struct Expected<'a> {
    backups: Vec<String>,
    /// (pod, container, previous, a line of that log)
    log: (&'a str, &'a str, bool, &'a str),
}

/// get, describe and logs answer what the bundle holds; a delete is refused and changes nothing.
fn check_served(bundle: &Path, expected: Expected) {
    let lab = BackgroundLab::serve_bundle(bundle);
    let table = kubectl_ok(&lab, &["get", "backups.velero.io", "-A"]);
    assert!(table.starts_with("NAMESPACE "), "{table}");
    for name in &expected.backups {
        assert!(
            table.lines().any(|line| line.contains(name.as_str())),
            "backup {name} missing from kubectl get backups of {}:\n{table}",
            bundle.display()
        );
    }
    let short = kubectl_ok(&lab, &["get", "backups", "-n", "velero", "-o", "name"]);
    assert_eq!(short.lines().count(), expected.backups.len(), "{short}");

    // Short names come from the CRDs, built in where the bundle's are trimmed.
    let locations = kubectl_ok(&lab, &["get", "bsl", "-n", "velero", "-o", "name"]);
    assert!(
        locations.contains("backupstoragelocation.velero.io/default"),
        "{locations}"
    );

    let first = &expected.backups[0];
    let described = kubectl_ok(&lab, &["describe", "backup", first, "-n", "velero"]);
    assert!(
        described.contains(&format!("Name:         {first}")) && described.contains("Kind:"),
        "{described}"
    );

    let (pod, container, previous, line) = expected.log;
    let mut args = vec!["logs", "-n", "velero", pod, "-c", container];
    if previous {
        args.push("--previous");
    }
    let log = kubectl_ok(&lab, &args);
    assert!(
        log.contains(line),
        "kubectl {} of {} lacks {line:?}:\n{}",
        args.join(" "),
        bundle.display(),
        &log[..log.len().min(2000)]
    );
    let tail = kubectl_ok(&lab, &[&args[..], &["--tail", "1"]].concat());
    assert_eq!(tail.lines().count(), 1, "{tail}");

    let refused = kubectl(&lab, &["delete", "backup", first, "-n", "velero"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && stderr.contains("MethodNotAllowed")
            && stderr.contains("read-only"),
        "the delete was not refused: {stderr}"
    );
    let after = kubectl_ok(
        &lab,
        &["get", "backup", first, "-n", "velero", "-o", "name"],
    );
    assert_eq!(after.trim(), format!("backup.velero.io/{first}"));
}

#[test]
fn a_snapdoc_zip_is_served() {
    if !kubectl_available() {
        return;
    }
    let scenario = Scenario::builtin("failed-bsl").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bundle.zip");
    foreign_fixtures::snapdoc_bundle_from_scenario(&scenario, &zip);
    let backups: Vec<String> = scenario
        .objects_of("backups.velero.io")
        .iter()
        .map(|backup| backup["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let velero_log = scenario
        .logs
        .iter()
        .find(|log| log.container == "velero" && !log.previous)
        .expect("failed-bsl has a velero server log");
    let first_line = velero_log.text.lines().next().unwrap();
    assert!(!backups.is_empty());
    check_served(
        &zip,
        Expected {
            backups,
            log: (&velero_log.pod, "velero", false, first_line),
        },
    );
}

#[test]
fn a_troubleshoot_support_bundle_is_served() {
    if !kubectl_available() {
        return;
    }
    check_served(
        &real_bundle("ts-v0.107.2-velero-logs.tar.gz"),
        Expected {
            backups: ["instance-2k9dd", "instance-q8rbx", "instance-7fq2x"]
                .map(String::from)
                .to_vec(),
            // The PodVolumeBackup's error is only in the restarted node-agent's previous log.
            log: (
                "node-agent-t7v9m",
                "node-agent",
                true,
                "expected one matching path: /host_pods/",
            ),
        },
    );
}

#[test]
fn a_velero_debug_bundle_is_served() {
    if !kubectl_available() {
        return;
    }
    check_served(
        &real_bundle("velero-debug-v1.12.3-pvb-failed.tar.gz"),
        Expected {
            backups: ["instance-2k9dd", "instance-q8rbx"]
                .map(String::from)
                .to_vec(),
            log: (
                "velero-7d9c6b8f5-x2x9k",
                "velero",
                false,
                "Starting Velero server v1.12.3",
            ),
        },
    );
}

#[test]
fn an_oadp_must_gather_is_served() {
    if !kubectl_available() {
        return;
    }
    let scenario = Scenario::builtin("failed-bsl").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bundle.zip");
    foreign_fixtures::snapdoc_bundle_from_scenario(&scenario, &zip);
    let mut bundle = snapdoc::bundle::Bundle::open(&zip).unwrap();
    let gathered = dir.path().join("must-gather.tar.gz");
    foreign_fixtures::must_gather_tree(&mut bundle).write_tar_gz(&gathered);
    let backups: Vec<String> = scenario
        .objects_of("backups.velero.io")
        .iter()
        .map(|backup| backup["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let velero_log = scenario
        .logs
        .iter()
        .find(|log| log.container == "velero" && !log.previous)
        .expect("failed-bsl has a velero server log");
    check_served(
        &gathered,
        Expected {
            backups,
            log: (
                &velero_log.pod,
                "velero",
                false,
                velero_log.text.lines().next().unwrap(),
            ),
        },
    );
}

#[test]
fn a_file_that_is_not_a_bundle_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_bundle = dir.path().join("notes.txt");
    std::fs::write(&not_a_bundle, "not a bundle\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["lab", "serve", "--bundle"])
        .arg(&not_a_bundle)
        .output()
        .expect("snapdoc runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&not_a_bundle.display().to_string()),
        "{stderr}"
    );

    let both = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["lab", "serve", "--scenario", "healthy", "--bundle"])
        .arg(&not_a_bundle)
        .output()
        .expect("snapdoc runs");
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}
