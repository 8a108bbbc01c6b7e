//! `snapdoc check` as a CronJob runs it: the binary against the lab cluster through a kubeconfig.
//!
//! - every lab scenario gives the exit code deploy/README.md documents, for each `--fail-on`, and its JSON
//!   names the findings that make it so;
//! - the `--prometheus-textfile` file parses with a strict Prometheus text-format parser and `promtool check
//!   metrics`, agrees with the JSON, and node-exporter's textfile collector serves it (when installed);
//! - the health rules (SD830–SD834) fire end to end on scenarios changed the way a cluster drifts: an aged
//!   cluster, a storage location no longer validated, a node without its node-agent pod;
//! - a check that cannot reach a cluster exits 2, and its JSON result and metrics say so (`snapdoc_check_success 0`,
//!   `snapdoc_check_failure{reason="unreachable"}`), replacing a previous run's metrics;
//! - nothing is left behind unless `--bundle FILE` asks for the bundle, which then verifies.
use std::path::Path;
use std::process::{Command, Output};

use prom_text_format_parser::{Metric, Scrape};
use serde_json::Value;
use snapdoc::lab::Scenario;

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;

/// `snapdoc check` against the lab, as the CronJob runs it.
trait CheckCommand {
    /// Runs `snapdoc check --kubeconfig <lab> ARGS` with TMPDIR in the lab's temporary folder.
    fn check(&self, args: &[&str]) -> Output;
}

impl CheckCommand for BackgroundLab {
    fn check(&self, args: &[&str]) -> Output {
        let tmp = self.path("tmp");
        std::fs::create_dir_all(&tmp).expect("TMPDIR for snapdoc");
        Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .arg("check")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .env_remove("KUBECONFIG")
            .env("TMPDIR", tmp)
            .env("NO_COLOR", "1")
            .output()
            .expect("snapdoc runs")
    }
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn rule_ids(analysis: &Value) -> Vec<String> {
    analysis["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["ruleId"].as_str().unwrap().to_string())
        .collect()
}

fn count_of(analysis: &Value, severity: &str) -> usize {
    analysis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .count()
}

/// The metrics file, parsed by the Rust parser and, when it is installed (scripts/install-test-deps), checked by
/// `promtool check metrics`: Prometheus's own text parser (the one node-exporter's textfile collector uses) and
/// its naming lints.
fn metrics(path: &Path) -> Vec<Metric> {
    let text = std::fs::read_to_string(path).expect("the metrics file is written");
    promtool_accepts(&text);
    match Scrape::parse(&text) {
        Ok(scrape) => scrape.metrics,
        Err(e) => panic!("not valid Prometheus text format: {e:?}\n{text}"),
    }
}

fn promtool_accepts(text: &str) {
    use std::io::Write as _;
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!(
            "\n!!!!!!!! promtool is not on PATH: SKIPPING `promtool check metrics` !!!!!!!!\n"
        );
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics refused the file:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sample(metrics: &[Metric], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    metrics
        .iter()
        .find(|m| m.name == name)?
        .samples
        .iter()
        .find(|s| label.is_none_or(|(k, v)| s.labels.iter().any(|l| l.key == k && l.value == v)))
        .map(|s| s.value.value.as_f64())
}

/// One built-in scenario with some of its files' text replaced (each replacement must apply).
fn edited(name: &str, edits: &[(&str, &str, &str)]) -> Scenario {
    let prefix = format!("{name}/");
    let mut files: Vec<(String, String)> =
        snapdoc::embedded::files_under(snapdoc::embedded::SCENARIOS, &prefix)
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect();
    for (file, from, to) in edits {
        let (_, text) = files
            .iter_mut()
            .find(|(path, _)| path == file)
            .unwrap_or_else(|| panic!("{name} has no {file}"));
        assert_eq!(
            text.matches(from).count(),
            1,
            "{file}: {from:?} not found once"
        );
        *text = text.replace(from, to);
    }
    Scenario::from_files(name, &format!("edited:{name}"), files).unwrap_or_else(|e| panic!("{e}"))
}

/// The exit codes and findings deploy/README.md documents for each lab scenario.
struct Expected {
    scenario: &'static str,
    /// With the default `--fail-on fail`, with `--fail-on warn` and with `--fail-on never`.
    exit_fail: i32,
    exit_warn: i32,
    exit_never: i32,
    rules: &'static [&'static str],
    /// A collector error on this target must be in the JSON (and the metrics count it).
    collector_error: Option<&'static str>,
}

const SCENARIOS: &[Expected] = &[
    Expected {
        scenario: "healthy",
        exit_fail: 0,
        exit_warn: 0,
        exit_never: 0,
        rules: &[],
        collector_error: None,
    },
    Expected {
        scenario: "failed-bsl",
        exit_fail: 1,
        exit_warn: 1,
        exit_never: 0,
        rules: &["SD101", "SD150", "SD801"],
        collector_error: None,
    },
    Expected {
        scenario: "partially-failed-fsb",
        exit_fail: 1,
        exit_warn: 1,
        exit_never: 0,
        rules: &["SD352", "SD802"],
        collector_error: None,
    },
    Expected {
        scenario: "old-velero-restic",
        exit_fail: 1,
        exit_warn: 1,
        exit_never: 0,
        rules: &["SD302", "SD802", "SD901"],
        collector_error: None,
    },
    // Nothing failed that snapdoc could see, but Backups could not be listed: the check could not see (2),
    // whatever --fail-on says, never a clean bill.
    Expected {
        scenario: "forbidden",
        exit_fail: 2,
        exit_warn: 2,
        exit_never: 2,
        rules: &["SD860", "SD863", "SD864"],
        collector_error: Some("backups.velero.io"),
    },
];

#[test]
fn every_lab_scenario_gives_its_documented_exit_code_json_and_metrics() {
    for expected in SCENARIOS {
        let name = expected.scenario;
        let lab = BackgroundLab::start(Scenario::builtin(name).unwrap());
        let textfile = lab.path("snapdoc.prom");
        let textfile_arg = textfile.display().to_string();
        let output = lab.check(&["--prometheus-textfile", &textfile_arg]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(exit_code(&output), expected.exit_fail, "{name}: {stderr}");
        let analysis = json_of(&output);

        assert_eq!(analysis["schemaVersion"], 1, "{name}");
        assert_eq!(
            analysis["bundle"]["path"],
            snapdoc::check::BUNDLE_NOT_KEPT,
            "{name}"
        );
        assert_eq!(analysis["bundle"]["format"], "snapdoc", "{name}");
        let ids = rule_ids(&analysis);
        for rule in expected.rules {
            assert!(
                ids.iter().any(|id| id == rule),
                "{name}: no {rule} in {ids:?}"
            );
        }
        if expected.exit_fail == 0 {
            assert_eq!(count_of(&analysis, "fail"), 0, "{name}: {ids:?}");
        }
        if expected.exit_warn == 0 {
            assert_eq!(count_of(&analysis, "warn"), 0, "{name}: {ids:?}");
        }
        let collector_errors = analysis["collectorErrors"].as_array().unwrap();
        match expected.collector_error {
            Some(target) => assert!(
                collector_errors
                    .iter()
                    .any(|e| e["target"] == target && e["status"] == 403),
                "{name}: {collector_errors:?}"
            ),
            None => assert!(
                collector_errors.iter().all(|e| e["status"] != 403),
                "{name}: {collector_errors:?}"
            ),
        }

        let metrics = metrics(&textfile);
        assert_eq!(sample(&metrics, "snapdoc_check_success", None), Some(1.0));
        // The check ran; what it could not see is in the analysis' status and not_seen, as in the JSON (an
        // exit 2 from Velero's objects unread is an incomplete analysis, not a check that failed).
        let status = analysis["status"].as_str().unwrap();
        assert_eq!(
            sample(
                &metrics,
                "snapdoc_analysis_status",
                Some(("status", status))
            ),
            Some(1.0),
            "{name}"
        );
        let not_seen = analysis["notSeen"].as_array().map_or(0, Vec::len);
        assert_eq!(
            sample(&metrics, "snapdoc_not_seen", None),
            Some(not_seen as f64),
            "{name}"
        );
        if expected.exit_fail == 2 {
            assert!(not_seen > 0, "{name}: exit 2 without anything unseen");
        }
        for severity in ["fail", "warn", "info"] {
            assert_eq!(
                sample(&metrics, "snapdoc_findings", Some(("severity", severity))),
                Some(count_of(&analysis, severity) as f64),
                "{name}: {severity}"
            );
        }
        for id in &ids {
            assert!(
                sample(&metrics, "snapdoc_finding_hits", Some(("rule", id))).is_some(),
                "{name}: no metric for {id}"
            );
        }
        assert_eq!(
            sample(&metrics, "snapdoc_collector_errors", None),
            Some(collector_errors.len() as f64),
            "{name}"
        );
        let locations = analysis["environment"]["storageLocations"]
            .as_array()
            .unwrap();
        for location in locations {
            let location_name = location["name"].as_str().unwrap();
            assert_eq!(
                sample(
                    &metrics,
                    "snapdoc_backup_storage_location_available",
                    Some(("location", location_name))
                ),
                Some(if location["phase"] == "Available" {
                    1.0
                } else {
                    0.0
                }),
                "{name}: {location_name}"
            );
        }

        let warn = lab.check(&["--fail-on", "warn"]);
        assert_eq!(
            exit_code(&warn),
            expected.exit_warn,
            "{name} --fail-on warn"
        );
        let never = lab.check(&["--fail-on", "never"]);
        assert_eq!(
            exit_code(&never),
            expected.exit_never,
            "{name} --fail-on never"
        );
        assert_eq!(rule_ids(&json_of(&never)), ids, "{name}: same findings");

        let leftovers: Vec<_> = std::fs::read_dir(lab.path("tmp")).unwrap().collect();
        assert!(
            leftovers.is_empty(),
            "{name}: left in TMPDIR: {leftovers:?}"
        );
    }
}

#[test]
fn an_aged_cluster_reports_old_full_snapshots_and_the_last_backup_expiring() {
    // Every timestamp of the scenario is shifted so that "now" is 2026-12-23 12:00: the newest backup finished
    // 28 days ago and expires (30-day TTL) within two days.
    let aged = edited(
        "healthy",
        &[(
            "scenario.yaml",
            r#"referenceTime: "2026-11-25T12:00:00Z""#,
            r#"referenceTime: "2026-12-23T12:00:00Z""#,
        )],
    );
    let lab = BackgroundLab::start(aged);
    let output = lab.check(&["--fail-on", "warn"]);
    assert_eq!(exit_code(&output), 1);
    let analysis = json_of(&output);
    let ids = rule_ids(&analysis);
    for rule in ["SD830", "SD833", "SD809", "SD831"] {
        assert!(ids.iter().any(|id| id == rule), "no {rule} in {ids:?}");
    }
    assert!(!ids.iter().any(|id| id == "SD834"), "{ids:?}");
    let expiring = analysis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "SD833")
        .unwrap();
    assert!(
        expiring["message"].as_str().unwrap().contains("instance-"),
        "{expiring}"
    );

    let expired = edited(
        "healthy",
        &[(
            "scenario.yaml",
            r#"referenceTime: "2026-11-25T12:00:00Z""#,
            r#"referenceTime: "2027-01-10T00:00:00Z""#,
        )],
    );
    let lab = BackgroundLab::start(expired);
    let output = lab.check(&[]);
    assert_eq!(exit_code(&output), 1, "an expired last backup is a failure");
    let ids = rule_ids(&json_of(&output));
    assert!(ids.iter().any(|id| id == "SD834"), "{ids:?}");
    assert!(!ids.iter().any(|id| id == "SD833"), "{ids:?}");
}

#[test]
fn a_storage_location_validated_a_day_ago_is_reported() {
    let stale = edited(
        "healthy",
        &[(
            "objects/20-velero-config.yaml",
            "lastValidationTime: '2026-11-25T11:59:23Z'",
            "lastValidationTime: '2026-11-24T09:00:00Z'",
        )],
    );
    let lab = BackgroundLab::start(stale);
    let output = lab.check(&[]);
    assert_eq!(exit_code(&output), 0, "a warning does not fail by default");
    let analysis = json_of(&output);
    let finding = analysis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "SD831")
        .unwrap_or_else(|| panic!("no SD831: {:?}", rule_ids(&analysis)));
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("default") && message.contains("every 60 seconds"),
        "{message}"
    );
    assert_eq!(exit_code(&lab.check(&["--fail-on", "warn"])), 1);
}

#[test]
fn a_node_without_its_node_agent_pod_is_reported_with_the_pods_it_leaves_uncovered() {
    // The node agent of acme-prod-2 moves to acme-prod-1 (as when the DaemonSet stops tolerating a node):
    // postgres-0 and kotsadm-rqlite-0 run on acme-prod-2 with volumes opted in to file-system backup.
    let moved = edited(
        "healthy",
        &[(
            "objects/10-velero.yaml",
            "  nodeName: acme-prod-2",
            "  nodeName: acme-prod-1",
        )],
    );
    let lab = BackgroundLab::start(moved);
    let output = lab.check(&[]);
    assert_eq!(exit_code(&output), 1);
    let analysis = json_of(&output);
    let finding = analysis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "SD832")
        .unwrap_or_else(|| panic!("no SD832: {:?}", rule_ids(&analysis)));
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("acme-prod-2"), "{message}");
    assert!(message.contains("postgres-0"), "{message}");
    assert!(message.contains("kotsadm-rqlite-0"), "{message}");
}

#[test]
fn a_check_that_cannot_reach_the_cluster_exits_2_and_its_json_and_metrics_say_so() {
    let mut lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    lab.stop();
    let dir = lab.path("textfiles");
    std::fs::create_dir(&dir).unwrap();
    let textfile = dir.join("snapdoc.prom");
    // A previous run's metrics: left in place they would tell the monitoring all is well.
    std::fs::write(
        &textfile,
        "snapdoc_check_success 1\nsnapdoc_findings{severity=\"fail\"} 0\n",
    )
    .unwrap();
    let textfile_arg = textfile.display().to_string();
    let output = lab.check(&["--prometheus-textfile", &textfile_arg]);
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the check could not run"), "{stderr}");

    // The JSON result says so too, and cannot be taken for an analysis.
    let result = json_of(&output);
    assert_eq!(result["check"]["success"], false, "{result}");
    assert_eq!(result["check"]["reason"], "unreachable", "{result}");
    let error = result["check"]["error"].as_str().unwrap();
    assert!(error.contains("cannot reach"), "{error}");
    assert!(result["check"]["finished"].is_string(), "{result}");
    assert!(result.get("schemaVersion").is_none() && result.get("findings").is_none());

    let written = metrics(&textfile);
    assert_eq!(sample(&written, "snapdoc_check_success", None), Some(0.0));
    assert_eq!(
        sample(
            &written,
            "snapdoc_check_failure",
            Some(("reason", "unreachable"))
        ),
        Some(1.0)
    );
    assert!(sample(&written, "snapdoc_check_timestamp_seconds", None).is_some());
    assert!(sample(&written, "snapdoc_findings", Some(("severity", "fail"))).is_none());
    // Replaced by a rename: nothing else in the directory node-exporter reads.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["snapdoc.prom"]);

    // The one-screen summary is for people: the error on stderr, nothing on stdout.
    let summary = lab.check(&[
        "--format",
        "summary",
        "--prometheus-textfile",
        &textfile_arg,
    ]);
    assert_eq!(exit_code(&summary), 2);
    assert!(summary.stdout.is_empty());
    assert_eq!(
        sample(&metrics(&textfile), "snapdoc_check_success", None),
        Some(0.0)
    );
}

#[test]
fn bad_rules_stop_the_check_before_it_touches_the_cluster() {
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let rules = lab.path("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("SD999-broken.yaml"),
        "id: SD999\nname: [not, a, name]\n",
    )
    .unwrap();
    let rules_arg = rules.display().to_string();
    let output = lab.check(&["--rules", &rules_arg]);
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SD999-broken.yaml"), "{stderr}");
    let requests = lab.lab().request_log();
    assert!(requests.is_empty(), "the cluster was asked: {requests:?}");
}

#[test]
fn the_bundle_is_kept_only_when_asked_and_then_verifies() {
    let lab = BackgroundLab::start(Scenario::builtin("partially-failed-fsb").unwrap());
    let bundle = lab.path("kept.zip");
    let bundle_arg = bundle.display().to_string();
    let output = lab.check(&["--bundle", &bundle_arg, "--format", "summary"]);
    assert_eq!(exit_code(&output), 1);
    let summary = String::from_utf8(output.stdout).unwrap();
    assert!(summary.contains("SD802"), "{summary}");
    assert!(!summary.contains('\u{1b}'), "NO_COLOR: {summary:?}");
    assert!(
        summary.lines().count() <= 60,
        "more than a screen:\n{summary}"
    );
    let verify = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // Later runs rotate: the newest at FILE, the one before at kept.1.zip, none older than --keep-bundles.
    let first_created = std::fs::read(&bundle).unwrap();
    for _ in 0..2 {
        let again = lab.check(&["--bundle", &bundle_arg, "--keep-bundles", "2"]);
        assert_eq!(exit_code(&again), 1);
        assert_eq!(json_of(&again)["bundle"]["path"], bundle_arg);
    }
    let mut names: Vec<String> = std::fs::read_dir(bundle.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("kept") || name.starts_with(".snapdoc"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["kept.1.zip", "kept.zip"],
        "no scratch left, two kept"
    );
    assert_ne!(
        std::fs::read(lab.path("kept.1.zip")).unwrap(),
        first_created
    );
    for kept in [bundle.clone(), lab.path("kept.1.zip")] {
        let verify = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .arg("verify")
            .arg(&kept)
            .output()
            .unwrap();
        assert!(verify.status.success(), "{}", kept.display());
    }
}

#[test]
fn what_the_shipped_rbac_refuses_does_not_change_the_verdict() {
    // deploy/ grants no access to secrets and no delete on DownloadRequests (tests/deploy.rs holds it to that).
    // With exactly those refused, the check finds what it finds with full access, plus SD863 (info: the secrets'
    // key names were not read); the refusals are listed. A refused clean-up of a DownloadRequest loses nothing and
    // is no finding.
    for name in ["healthy", "partially-failed-fsb"] {
        let full = BackgroundLab::start(Scenario::builtin(name).unwrap());
        let expected = rule_ids(&json_of(&full.check(&[])));
        drop(full);
        let restricted = edited(
            name,
            &[(
                "scenario.yaml",
                "referenceTime: \"2026-11-25T12:00:00Z\"\n",
                "referenceTime: \"2026-11-25T12:00:00Z\"\nfaults:\n  forbidden:\n    - {resource: secrets}\n    - {resource: downloadrequests.velero.io, verbs: [delete]}\n",
            )],
        );
        let lab = BackgroundLab::start(restricted);
        let output = lab.check(&[]);
        let analysis = json_of(&output);
        let mut with_secrets_unread = expected.clone();
        with_secrets_unread.push("SD863".to_string());
        with_secrets_unread.sort();
        let mut ids = rule_ids(&analysis);
        ids.sort();
        assert_eq!(ids, with_secrets_unread, "{name}");
        let unread = analysis["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["ruleId"] == "SD863")
            .unwrap();
        assert_eq!(unread["severity"], "info", "{name}");
        let refused: Vec<&Value> = analysis["collectorErrors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] == 403)
            .collect();
        assert!(!refused.is_empty(), "{name}: nothing was refused");
        for error in refused {
            let target = error["target"].as_str().unwrap_or_default();
            let message = error["message"].as_str().unwrap_or_default();
            assert!(
                target.starts_with("secrets/") || message.contains("cannot delete DownloadRequest"),
                "{name}: refused beyond what deploy/ leaves out: {error}"
            );
        }
    }
}

/// Whether this process may give a child a mount namespace of its own (root, as in CI); said loudly when not.
fn private_mounts_available() -> bool {
    let works = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        eprintln!(
            "\n!!!!!!!! `unshare --mount` is not permitted here: SKIPPING the in-cluster service-account test !!!!!!!!\n"
        );
    }
    works
}

#[test]
fn in_cluster_the_service_account_is_used_when_there_is_no_kubeconfig() {
    if !private_mounts_available() {
        return;
    }
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    // What the kubelet mounts into the CronJob's pod, at the fixed path kube-rs (like client-go) reads; the
    // mount exists only in the child's mount namespace, so the machine's /run is untouched.
    let account = lab.path("serviceaccount");
    std::fs::create_dir(&account).unwrap();
    std::fs::write(account.join("token"), lab.lab().token()).unwrap();
    std::fs::write(account.join("ca.crt"), lab.lab().ca_pem()).unwrap();
    std::fs::write(account.join("namespace"), "velero").unwrap();
    let home = lab.path("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::create_dir_all(lab.path("tmp")).unwrap();
    let address = lab
        .lab()
        .server_url()
        .trim_start_matches("https://")
        .to_string();
    let (host, port) = address.rsplit_once(':').unwrap();
    let script = r#"set -e
mount -t tmpfs snapdoc-test /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
mount --bind "$ACCOUNT" /run/secrets/kubernetes.io/serviceaccount
exec "$SNAPDOC" check --format json"#;
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("ACCOUNT", &account)
        .env("SNAPDOC", env!("CARGO_BIN_EXE_snapdoc"))
        .env("KUBERNETES_SERVICE_HOST", host)
        .env("KUBERNETES_SERVICE_PORT", port)
        .env_remove("KUBECONFIG")
        .env("HOME", &home)
        .env("TMPDIR", lab.path("tmp"))
        .env("NO_COLOR", "1")
        .output()
        .expect("unshare runs");
    assert_eq!(
        exit_code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json_of(&output);
    assert_eq!(report["environment"]["velero"]["version"], "1.12.3");
    assert_eq!(report["collectorErrors"], serde_json::json!([]));
    assert_eq!(report["findings"], serde_json::json!([]));
    // It really went through the API with the service account's token (the lab refuses any other).
    let requests = lab.lab().request_log();
    assert!(
        requests
            .iter()
            .any(|r| r.path.starts_with("/apis/velero.io/") && r.status == 200),
        "{requests:?}"
    );
}

/// node-exporter's textfile collector, the consumer the file is for, reads it: started on the textfile directory
/// (when installed: Debian's prometheus-node-exporter or `node_exporter`), scraped once, it reports no textfile
/// error and serves snapdoc's samples. `prometheus-client` writes OpenMetrics text (`# EOF` last); this is the
/// measurement that the collector's classic parser takes it.
#[test]
fn node_exporter_serves_the_textfile() {
    let Some(binary) = ["prometheus-node-exporter", "node_exporter"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
    else {
        eprintln!("\n!!!!!!!! node-exporter is not on PATH: SKIPPING its textfile test !!!!!!!!\n");
        return;
    };
    let lab = BackgroundLab::start(Scenario::builtin("failed-bsl").unwrap());
    let dir = lab.path("textfiles");
    std::fs::create_dir(&dir).unwrap();
    let textfile_arg = dir.join("snapdoc.prom").display().to_string();
    let output = lab.check(&["--prometheus-textfile", &textfile_arg]);
    assert_eq!(exit_code(&output), 1);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut exporter = Command::new(binary)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(["--collector.disable-defaults", "--collector.textfile"])
        .arg(format!("--collector.textfile.directory={}", dir.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let scraped = scrape(port);
    exporter.kill().unwrap();
    exporter.wait().unwrap();
    let body = scraped.expect("node-exporter answers");
    assert!(body.contains("\nnode_textfile_scrape_error 0\n"), "{body}");
    assert!(body.contains("\nsnapdoc_check_success 1\n"), "{body}");
    assert!(
        body.contains("\nsnapdoc_findings{severity=\"fail\"} "),
        "{body}"
    );
}

/// `GET /metrics` on a local exporter, retried while it starts (5 s at most).
fn scrape(port: u16) -> std::io::Result<String> {
    use std::io::{Read as _, Write as _};
    let once = || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut body = String::new();
        stream.read_to_string(&mut body)?;
        Ok(body)
    };
    let mut scraped = Err(std::io::Error::other("not scraped"));
    for _ in 0..50 {
        scraped = once();
        if scraped.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    scraped
}

/// `snapdoc check ARGS` through a kubeconfig (written in `dir`) whose API server never answers: a closed port.
fn check_unreachable(dir: &Path, args: &[&str]) -> Output {
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n\
         current-context: x\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["check", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

/// The first sample of `name` the Pushgateway holds for `cluster`.
fn pushed_line(pushed: &str, name: &str, cluster: &str) -> Option<String> {
    pushed
        .lines()
        .find(|l| l.starts_with(name) && l.contains(&format!("cluster=\"{cluster}\"")))
        .map(str::to_string)
}

/// `--pushgateway`: a real Pushgateway (Debian's prometheus-pushgateway, scripts/install-test-deps) holds the
/// check's metrics under job="snapdoc" and the cluster's name (slashes and all); a later check of the same
/// cluster that could not run replaces them, so no stale finding stays behind.
#[test]
fn the_pushgateway_holds_the_last_check_of_each_cluster() {
    if Command::new("prometheus-pushgateway")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("\n!!!!!!!! prometheus-pushgateway is not on PATH: SKIPPING its test !!!!!!!!\n");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut gateway = Command::new("prometheus-pushgateway")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    scrape(port).expect("the Pushgateway answers");
    let url = format!("http://127.0.0.1:{port}");
    let lab = BackgroundLab::start(Scenario::builtin("failed-bsl").unwrap());
    let output = lab.check(&["--pushgateway", &url, "--cluster-name", "prod/eu-1"]);
    assert_eq!(
        exit_code(&output),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let other = lab.check(&["--pushgateway", &url, "--cluster-name", "staging"]);
    assert_eq!(exit_code(&other), 1);
    let pushed = scrape(port).unwrap();
    let line = |name: &str, cluster: &str| pushed_line(&pushed, name, cluster);
    let findings = line("snapdoc_findings{", "prod/eu-1").expect("pushed findings");
    assert!(findings.contains("job=\"snapdoc\""), "{findings}");
    assert!(
        line("snapdoc_check_success", "prod/eu-1")
            .unwrap()
            .ends_with(" 1")
    );
    assert!(line("snapdoc_info", "staging").is_some(), "{pushed}");

    // The same cluster, unreachable now: its group is replaced whole.
    let dir = tempfile::tempdir().unwrap();
    let failed = check_unreachable(
        dir.path(),
        &["--pushgateway", &url, "--cluster-name", "prod/eu-1"],
    );
    assert_eq!(exit_code(&failed), 2);
    let pushed = scrape(port).unwrap();
    gateway.kill().unwrap();
    gateway.wait().unwrap();
    let line = |name: &str, cluster: &str| pushed_line(&pushed, name, cluster);
    assert!(
        line("snapdoc_check_success", "prod/eu-1")
            .unwrap()
            .ends_with(" 0")
    );
    assert!(
        line("snapdoc_findings{", "prod/eu-1").is_none(),
        "stale findings: {pushed}"
    );
    assert!(
        line("snapdoc_findings{", "staging").is_some(),
        "the other cluster's group stays"
    );

    // A Pushgateway that is not there: the check says so and exits 2, its JSON still printed.
    let closed = lab.check(&["--pushgateway", "http://127.0.0.1:1", "--cluster-name", "x"]);
    assert_eq!(exit_code(&closed), 2);
    assert!(
        String::from_utf8_lossy(&closed.stderr).contains("cannot push the metrics"),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );
    assert_eq!(json_of(&closed)["schemaVersion"], 1);
}

/// The metric families deploy/README.md documents (its table's first column).
fn documented_metrics() -> std::collections::BTreeSet<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/README.md"))
            .unwrap();
    readme
        .lines()
        .filter(|line| line.starts_with("| `snapdoc_"))
        .flat_map(|line| {
            let first_cell = line.split('|').nth(1).unwrap_or_default();
            first_cell
                .split(',')
                .map(|name| name.trim().trim_matches('`').to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every family the check writes is documented, and every documented one is written: the families a check
/// always writes by the healthy scenario's check, the per-schedule ones where Velero Schedules exist
/// (lab-basics), the failure reason by a check that cannot reach its cluster.
#[test]
fn every_documented_series_is_written_and_every_written_one_documented() {
    let documented = documented_metrics();
    assert!(documented.len() > 20, "{documented:?}");
    let families = |textfile: &Path| -> std::collections::BTreeSet<String> {
        metrics(textfile).into_iter().map(|m| m.name).collect()
    };
    let healthy = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let textfile = healthy.path("healthy.prom");
    healthy.check(&["--prometheus-textfile", &textfile.display().to_string()]);
    let written_healthy = families(&textfile);
    let with_schedules = BackgroundLab::start(
        Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/lab-basics"))
            .unwrap(),
    );
    let textfile = with_schedules.path("lab-basics.prom");
    with_schedules.check(&["--prometheus-textfile", &textfile.display().to_string()]);
    let written_schedules = families(&textfile);
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("failed.prom");
    check_unreachable(
        dir.path(),
        &["--prometheus-textfile", &textfile.display().to_string()],
    );
    let written_failed = families(&textfile);

    let (_probed, textfile, _) = check_probe_metrics();
    let written_probed = families(&textfile);

    let written: std::collections::BTreeSet<String> = written_healthy
        .iter()
        .chain(&written_schedules)
        .chain(&written_failed)
        .chain(&written_probed)
        .cloned()
        .collect();
    assert_eq!(
        written, documented,
        "written (left) against deploy/README.md (right)"
    );
    // What a healthy cluster's check always writes, so absence alerts never mistake health for silence.
    for family in &documented {
        let conditional = family.starts_with("snapdoc_schedule_")
            || family.starts_with("snapdoc_probe_")
            || family == "snapdoc_check_failure"
            || family == "snapdoc_finding_hits";
        if !conditional {
            assert!(
                written_healthy.contains(family),
                "healthy check did not write {family}"
            );
        }
    }
}

/// The healthy scenario with its location "default" pointed at the lab's own object store (s3Url, path style):
/// there the probe's header-signed requests are answered 403 AccessDenied, as the lab's store accepts only its
/// pre-signed URLs, so `--probe` stays on loopback and finds a location that lists and writes nothing.
fn lab_probing_its_own_store(scenario: Scenario) -> BackgroundLab {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
    let lab = BackgroundLab::start(scenario);
    let store = lab.lab().store_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = lab.lab().client().await.unwrap();
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("velero.io", "v1", "BackupStorageLocation"),
            "backupstoragelocations",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client, "velero", &resource);
        let mut bsl = api.get("default").await.unwrap();
        api.delete("default", &Default::default()).await.unwrap();
        bsl.metadata.resource_version = None;
        bsl.metadata.uid = None;
        bsl.data["spec"]["config"]["s3Url"] = Value::String(store);
        bsl.data["spec"]["config"]["s3ForcePathStyle"] = Value::String("true".into());
        api.create(&PostParams::default(), &bsl).await.unwrap();
    });
    lab
}

/// `check --probe --prometheus-textfile` on [`lab_probing_its_own_store`]: the lab (kept running) and the file.
fn check_probe_metrics() -> (BackgroundLab, std::path::PathBuf, Output) {
    let lab = lab_probing_its_own_store(Scenario::builtin("healthy").unwrap());
    let textfile = lab.path("probed.prom");
    let output = lab.check(&[
        "--probe",
        "--prometheus-textfile",
        &textfile.display().to_string(),
    ]);
    (lab, textfile, output)
}

/// `check --probe`: the location's probe in the JSON (the report schema's `probes`), the rule it reproduced,
/// and the probe's metrics; the Job and its pod gone afterwards.
#[test]
fn check_probe_reports_each_location_s_probe() {
    let (lab, textfile, output) = check_probe_metrics();
    let json = json_of(&output);
    let probes = json["probes"].as_array().expect("a probes array");
    assert_eq!(probes.len(), 1, "{probes:#?}");
    assert_eq!(probes[0]["name"], "default");
    let result = &probes[0]["result"];
    assert_eq!(result["agent"], "in-cluster");
    let list = &result["checks"][0];
    assert_eq!(
        (
            &list["step"],
            &list["status"],
            &list["rule"],
            &list["errorCode"]
        ),
        (
            &Value::from("list"),
            &Value::from("failed"),
            &Value::from("SD203"),
            &Value::from("AccessDenied")
        ),
        "{result:#}"
    );
    let metrics = metrics(&textfile);
    let sample = |name: &str, labels: &[(&str, &str)]| {
        metrics
            .iter()
            .find(|m| m.name == name)?
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
            })
            .map(|s| s.value.value.as_f64())
    };
    let at = [("namespace", "velero"), ("location", "default")];
    assert_eq!(sample("snapdoc_probe_success", &at), Some(0.0));
    assert_eq!(
        sample(
            "snapdoc_probe_reproduced",
            &[at[0], at[1], ("rule", "SD203")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample("snapdoc_probe_check", &[at[0], at[1], ("check", "put")]),
        Some(0.0)
    );
    assert!(lab.lab().objects("jobs.batch").is_empty());
    assert!(
        lab.lab()
            .objects("pods")
            .iter()
            .all(|p| p["metadata"]["labels"]["job-name"].is_null())
    );
}

/// `check --probe` by someone without the probe Role: each location says why it was not probed, and the check
/// is otherwise the same (its exit code, its findings).
#[test]
fn check_probe_without_the_probe_role_says_so() {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    scenario.faults.forbidden.push(snapdoc::lab::Forbidden {
        resource: "jobs.batch".to_string(),
        verbs: vec!["create".to_string()],
    });
    let lab = lab_probing_its_own_store(scenario);
    let with_probe = lab.check(&["--probe"]);
    let without = lab.check(&[]);
    assert_eq!(exit_code(&with_probe), exit_code(&without));
    let json = json_of(&with_probe);
    let error = json["probes"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cannot create Job snapdoc-probe-default-") && error.contains("forbidden"),
        "{json:#}"
    );
    assert_eq!(json["findings"], json_of(&without)["findings"]);
}

/// An alert the shipped rules must raise for one series of the check's metrics.
struct Firing {
    alert: &'static str,
    metric: &'static str,
    /// Picks the series (all of the metric's samples carrying these labels).
    labels: &'static [(&'static str, &'static str)],
}

/// deploy/prometheus/snapdoc-alerts.yaml, tested by `promtool test rules` against the metrics `snapdoc check`
/// wrote for a lab scenario: held constant for 5 hours of samples, `snapdoc_check_timestamp_seconds` advancing
/// with the clock (`fresh`) or stuck at 0, every alert of the file evaluated at `eval_time`, firing exactly for
/// the series in `firing` and nowhere else. Returns promtool's output when it refuses.
fn promtool_alerts(textfile: &Path, fresh: bool, eval_time: &str, firing: &[Firing]) {
    if Command::new("promtool").arg("--version").output().is_err() {
        eprintln!("\n!!!!!!!! promtool is not on PATH: SKIPPING `promtool test rules` !!!!!!!!\n");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules_file = root.join("deploy/prometheus/snapdoc-alerts.yaml");
    let rules: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&rules_file).unwrap()).unwrap();
    let rules = rules["groups"][0]["rules"].as_array().unwrap().clone();
    let metrics = metrics(textfile);
    let mut input_series = Vec::new();
    for metric in &metrics {
        for sample in &metric.samples {
            let labels: Vec<String> = sample
                .labels
                .iter()
                .map(|l| format!("{}={:?}", l.key, l.value))
                .collect();
            let series = format!("{}{{{}}}", metric.name, labels.join(","));
            let values = if metric.name == "snapdoc_check_timestamp_seconds" {
                if fresh { "0+60x300" } else { "0x300" }.to_string()
            } else {
                format!("{}x300", sample.value.value.as_f64())
            };
            input_series.push(serde_json::json!({"series": series, "values": values}));
        }
    }
    let mut tests = Vec::new();
    for rule in &rules {
        let alert = rule["alert"].as_str().unwrap();
        let mut expected = Vec::new();
        for firing in firing.iter().filter(|f| f.alert == alert) {
            let metric = metrics
                .iter()
                .find(|m| m.name == firing.metric)
                .unwrap_or_else(|| panic!("{alert}: no {} in the textfile", firing.metric));
            let matching: Vec<_> = metric
                .samples
                .iter()
                .filter(|s| {
                    firing
                        .labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
                })
                .collect();
            assert!(
                !matching.is_empty(),
                "{alert}: no {} series {:?}",
                firing.metric,
                firing.labels
            );
            for sample in matching {
                let mut labels = serde_json::Map::new();
                for label in sample.labels.iter() {
                    labels.insert(label.key.clone(), Value::from(label.value.clone()));
                }
                for (key, value) in rule["labels"].as_object().unwrap() {
                    labels.insert(key.clone(), value.clone());
                }
                expected.push(serde_json::json!({
                    "exp_labels": labels,
                    "exp_annotations": rule["annotations"],
                }));
            }
        }
        tests.push(serde_json::json!({
            "eval_time": eval_time,
            "alertname": alert,
            "exp_alerts": expected,
        }));
    }
    let document = serde_json::json!({
        "rule_files": [rules_file.display().to_string()],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "alert_rule_test": tests}],
    });
    // YAML is a superset of JSON: promtool reads the test as written.
    let test_file = textfile.with_extension("alerts-test.yaml");
    std::fs::write(&test_file, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let output = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&test_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "promtool test rules on {}:\n{}{}",
        textfile.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The shipped alerts on the metrics of each kind of trouble: broken backups, a location down, a check that
/// cannot see, no recent backup, overdue schedules, a check that cannot run, a check that stopped running;
/// and none on a healthy cluster.
#[test]
fn the_shipped_alerts_fire_on_the_metrics_of_each_kind_of_trouble() {
    const BROKEN: Firing = Firing {
        alert: "SnapdocSnapshotsBroken",
        metric: "snapdoc_findings",
        labels: &[("severity", "fail")],
    };
    const NO_RECENT: Firing = Firing {
        alert: "SnapdocNoRecentBackup",
        metric: "snapdoc_last_completed_backup_age_seconds",
        labels: &[],
    };
    let cases: Vec<(&str, Scenario, Vec<Firing>)> = vec![
        ("healthy", Scenario::builtin("healthy").unwrap(), vec![]),
        (
            "failed-bsl",
            Scenario::builtin("failed-bsl").unwrap(),
            vec![
                BROKEN,
                NO_RECENT,
                Firing {
                    alert: "SnapdocStorageLocationUnavailable",
                    metric: "snapdoc_backup_storage_location_available",
                    labels: &[("location", "default")],
                },
            ],
        ),
        (
            "forbidden",
            Scenario::builtin("forbidden").unwrap(),
            vec![Firing {
                alert: "SnapdocCannotSee",
                metric: "snapdoc_not_seen",
                labels: &[],
            }],
        ),
        // Velero Schedules (the built-in scenarios are KOTS-scheduled), one overdue; a forbidden resource too.
        (
            "lab-basics",
            Scenario::load(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/lab-basics"),
            )
            .unwrap(),
            vec![
                BROKEN,
                NO_RECENT,
                Firing {
                    alert: "SnapdocScheduleOverdue",
                    metric: "snapdoc_schedule_overdue",
                    labels: &[("schedule", "daily")],
                },
                Firing {
                    alert: "SnapdocCannotSee",
                    metric: "snapdoc_not_seen",
                    labels: &[],
                },
            ],
        ),
    ];
    for (name, scenario, firing) in cases {
        let lab = BackgroundLab::start(scenario);
        let textfile = lab.path(&format!("{name}.prom"));
        lab.check(&["--prometheus-textfile", &textfile.display().to_string()]);
        promtool_alerts(&textfile, true, "30m", &firing);
        if name == "healthy" {
            // The same metrics, no longer refreshed: only the check's silence is news.
            promtool_alerts(
                &textfile,
                false,
                "4h",
                &[Firing {
                    alert: "SnapdocCheckNotRunning",
                    metric: "snapdoc_check_timestamp_seconds",
                    labels: &[],
                }],
            );
        }
    }
    // `check --probe` at a location that answers AccessDenied to everything.
    let (_probed, textfile, _) = check_probe_metrics();
    promtool_alerts(
        &textfile,
        true,
        "30m",
        &[Firing {
            alert: "SnapdocStorageProbeFailing",
            metric: "snapdoc_probe_success",
            labels: &[("location", "default")],
        }],
    );
    // A check that cannot reach its cluster.
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("unreachable.prom");
    let output = check_unreachable(
        dir.path(),
        &["--prometheus-textfile", &textfile.display().to_string()],
    );
    assert_eq!(exit_code(&output), 2);
    promtool_alerts(
        &textfile,
        true,
        "30m",
        &[Firing {
            alert: "SnapdocCheckFailing",
            metric: "snapdoc_check_success",
            labels: &[],
        }],
    );
}
