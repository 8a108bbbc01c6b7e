//! Real kubectl against the lab cluster: what an engineer would type works, and answers what the scenario holds.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use snapdoc::lab::{Scenario, shift_log};

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;

/// Real kubectl against the lab, with a cache directory of its own.
trait Kubectl {
    fn kubectl(&self, args: &[&str]) -> Output;
    /// kubectl's stdout; panics with its stderr when it fails.
    fn ok(&self, args: &[&str]) -> String;
}

impl Kubectl for BackgroundLab {
    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.path("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("kubectl runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "\n!!!!!!!! kubectl is not on PATH: SKIPPING the kubectl tests of the lab cluster !!!!!!!!\n"
        );
    }
    found
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn basics() -> Scenario {
    Scenario::load(&scenarios_dir().join("lab-basics")).unwrap()
}

fn names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text.lines().map(str::to_string).collect();
    names.sort();
    names
}

#[test]
fn get_backups_as_json_for_every_scenario() {
    if !kubectl_available() {
        return;
    }
    let mut checked = 0;
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("scenario.yaml").is_file() {
            continue;
        }
        let scenario = Scenario::load(&dir).unwrap_or_else(|error| panic!("{error}"));
        let mut expected: Vec<String> = scenario
            .objects_of("backups.velero.io")
            .iter()
            .map(|b| {
                format!(
                    "{}/{}",
                    b["metadata"]["namespace"].as_str().unwrap_or("default"),
                    b["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        expected.sort();
        let served = scenario
            .registry()
            .by_group_resource("backups.velero.io")
            .is_some();
        let forbidden = scenario.faults.forbidden.iter().any(|rule| {
            rule.resource == "backups.velero.io"
                && (rule.verbs.is_empty() || rule.verbs.iter().any(|v| v == "list"))
        });
        // Error bursts on the path fail some attempts; an engineer runs the command again.
        let attempts = 1 + scenario
            .faults
            .error_bursts
            .iter()
            .map(|b| b.count as usize)
            .sum::<usize>();
        let name = scenario.name.clone();
        let lab = BackgroundLab::start(scenario);
        let mut output = lab.kubectl(&["get", "backups.velero.io", "-A", "-o", "json"]);
        for _ in 1..attempts {
            if output.status.success() || !served || forbidden {
                break;
            }
            output = lab.kubectl(&["get", "backups.velero.io", "-A", "-o", "json"]);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !served {
            assert!(
                !output.status.success() && stderr.contains("doesn't have a resource type"),
                "{name}: {stderr}"
            );
        } else if forbidden {
            assert!(
                !output.status.success(),
                "{name}: listing backups must be forbidden"
            );
            assert!(
                stderr.contains(
                    "Error from server (Forbidden): backups.velero.io is forbidden: User"
                ),
                "{name}: {stderr}"
            );
        } else {
            assert!(output.status.success(), "{name}: {stderr}");
            let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let mut returned: Vec<String> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    format!(
                        "{}/{}",
                        b["metadata"]["namespace"].as_str().unwrap(),
                        b["metadata"]["name"].as_str().unwrap()
                    )
                })
                .collect();
            returned.sort();
            assert_eq!(returned, expected, "{name}");
        }
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn get_bsl_selectors_and_chunked_paging() {
    if !kubectl_available() {
        return;
    }
    let lab = BackgroundLab::start(basics());
    let table = lab.ok(&["get", "bsl", "-n", "velero"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "PHASE", "LAST", "VALIDATED", "AGE", "DEFAULT"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        (row[0], row[1], row[4]),
        ("default", "Available", "true"),
        "{table}"
    );

    let daily = lab.ok(&[
        "get",
        "backups",
        "-n",
        "velero",
        "-l",
        "velero.io/schedule-name=daily",
        "-o",
        "name",
    ]);
    assert_eq!(daily.lines().count(), 5);
    let manual = lab.ok(&[
        "get",
        "backups",
        "-n",
        "velero",
        "-l",
        "!velero.io/schedule-name",
        "-o",
        "name",
    ]);
    assert_eq!(manual.trim(), "backup.velero.io/manual-before-upgrade");
    let set = lab.ok(&[
        "get",
        "backups",
        "-n",
        "velero",
        "-l",
        "velero.io/schedule-name in (daily,weekly),velero.io/storage-location notin (other)",
        "-o",
        "name",
    ]);
    assert_eq!(set.lines().count(), 5);
    let none = lab.ok(&[
        "get",
        "backups",
        "-n",
        "velero",
        "-l",
        "velero.io/schedule-name!=daily,velero.io/storage-location==default",
        "-o",
        "name",
    ]);
    assert_eq!(none.trim(), "backup.velero.io/manual-before-upgrade");

    let paged = lab.ok(&["get", "backups", "-A", "--chunk-size", "2", "-o", "name"]);
    let all = lab.ok(&["get", "backups", "-A", "--chunk-size", "0", "-o", "name"]);
    assert_eq!(names(&paged), names(&all));
    assert_eq!(paged.lines().count(), 6);
    let log = lab.lab().request_log();
    let chunked: Vec<_> = log
        .iter()
        .filter(|r| r.path == "/apis/velero.io/v1/backups" && r.query.contains("limit=2"))
        .collect();
    assert_eq!(chunked.len(), 3, "{chunked:?}");
    assert!(
        chunked
            .iter()
            .filter(|r| r.query.contains("continue="))
            .count()
            == 2
    );
}

#[test]
fn logs_of_the_velero_deployment_current_and_previous() {
    if !kubectl_available() {
        return;
    }
    let dir = scenarios_dir().join("lab-basics/logs/velero/velero-7d9f8c6b5d-x2x4z");
    let current = std::fs::read_to_string(dir.join("velero.log")).unwrap();
    let previous = std::fs::read_to_string(dir.join("velero.previous.log")).unwrap();
    let lab = BackgroundLab::start(basics());
    let shift = lab.lab().time_shift();
    assert_eq!(
        lab.ok(&["logs", "-n", "velero", "deploy/velero"]),
        shift_log(&current, shift)
    );
    assert_eq!(
        lab.ok(&["logs", "-n", "velero", "deploy/velero", "--previous"]),
        shift_log(&previous, shift)
    );
    let tail = lab.ok(&[
        "logs",
        "-n",
        "velero",
        "deploy/velero",
        "-c",
        "velero",
        "--tail",
        "1",
    ]);
    assert_eq!(
        tail,
        format!("{}\n", shift_log(&current, shift).lines().last().unwrap())
    );
    // kubectl found the pod through the deployment's selector.
    assert!(
        lab.lab()
            .request_log()
            .iter()
            .any(|r| r.path == "/api/v1/namespaces/velero/pods"
                && r.query.contains("labelSelector=deploy%3Dvelero"))
    );

    let missing = lab.kubectl(&["logs", "-n", "velero", "node-agent-q8w2k", "--previous"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains(
        "previous terminated container \"node-agent\" in pod \"node-agent-q8w2k\" not found"
    ));
}

#[test]
fn create_a_download_request_and_see_it_processed() {
    if !kubectl_available() {
        return;
    }
    let lab = BackgroundLab::start(basics());
    let manifest = lab.path("downloadrequest.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: velero.io/v1\nkind: DownloadRequest\nmetadata:\n  name: snapdoc-backuplog\n  namespace: velero\nspec:\n  target:\n    kind: BackupLog\n    name: daily-20261124020000\n",
    )
    .unwrap();
    let created = lab.ok(&["create", "-f", manifest.to_str().unwrap()]);
    assert_eq!(
        created.trim(),
        "downloadrequest.velero.io/snapdoc-backuplog created"
    );
    let mut phase = String::new();
    for _ in 0..40 {
        phase = lab.ok(&[
            "get",
            "downloadrequest",
            "-n",
            "velero",
            "snapdoc-backuplog",
            "-o",
            "jsonpath={.status.phase}",
        ]);
        if phase == "Processed" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(phase, "Processed");
    let url = lab.ok(&[
        "get",
        "downloadrequest",
        "-n",
        "velero",
        "snapdoc-backuplog",
        "-o",
        "jsonpath={.status.downloadURL}",
    ]);
    assert!(url.starts_with(&lab.lab().store_url()), "{url}");

    let again = lab.kubectl(&["create", "-f", manifest.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("Error from server (AlreadyExists): error when creating")
    );
    lab.ok(&[
        "delete",
        "downloadrequest",
        "-n",
        "velero",
        "snapdoc-backuplog",
    ]);
    assert!(lab.lab().objects("downloadrequests.velero.io").is_empty());
}

#[test]
fn get_pods_all_namespaces_prints_the_table() {
    if !kubectl_available() {
        return;
    }
    let lab = BackgroundLab::start(basics());
    let table = lab.ok(&["get", "pods", "-A"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert_eq!(
        &lines[1][..5],
        ["velero", "node-agent-q8w2k", "1/1", "Running", "0"]
    );
    assert_eq!(
        &lines[2][..4],
        ["velero", "velero-7d9f8c6b5d-x2x4z", "1/1", "Running"]
    );
    assert_eq!(
        lines[2][4], "1",
        "one restart, shown with how long ago: {table}"
    );
    assert!(
        lines[2][5].starts_with('(') && lines[2][6] == "ago)",
        "{table}"
    );
    assert_eq!(lines.len(), 3);

    let wide = lab.ok(&["get", "pods", "-n", "velero", "-o", "wide"]);
    assert!(
        wide.lines().next().unwrap().contains("NODE")
            && wide.contains("lab-node-1")
            && wide.contains("10.42.0.15"),
        "{wide}"
    );
    let forbidden = lab.kubectl(&["get", "secrets", "-n", "velero"]);
    assert!(String::from_utf8_lossy(&forbidden.stderr).contains(
        "Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:default:snapdoc\" cannot list resource \"secrets\" in API group \"\" in the namespace \"velero\""
    ));
    let version = lab.ok(&["version", "-o", "json"]);
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.31.6");
}
