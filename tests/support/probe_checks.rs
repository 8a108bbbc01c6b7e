//! What the probe tests of the providers besides S3 (tests/probe_azure.rs, tests/probe_gcs.rs) assert alike: a
//! check failed with a rule and the store's code, the checks every provider runs all passed, a missing bucket and
//! a foreign directory from here, and the in-cluster
//! flow driven through the CLI against a lab whose "healthy" scenario has its location replaced (`probe --bsl`,
//! its `--dry-run` Job, `check --probe` into the JSON and the metrics).
use std::process::{Command, Output};

use snapdoc::lab::Scenario;
use snapdoc::probe::{Agent, Location, ProbeResult, Status, Step, StoreCredentials, probe};

use super::background_lab::BackgroundLab;
use super::probe_servers::nothing_left_in;

/// `step` failed with `rule`, and with the store's error `code` unless it is empty.
pub(crate) fn assert_reproduces(result: &ProbeResult, step: Step, rule: &str, code: &str) {
    let check = result
        .check(step)
        .unwrap_or_else(|| panic!("no {step:?} check: {result:#?}"));
    assert_eq!(check.status, Status::Failed, "{result:#?}");
    assert_eq!(check.rule.as_deref(), Some(rule), "{result:#?}");
    if !code.is_empty() {
        assert_eq!(check.error_code.as_deref(), Some(code), "{result:#?}");
    }
}

/// Every check the providers share passed.
pub(crate) fn all_passed(result: &ProbeResult) {
    for step in [
        Step::List,
        Step::TopLevelDirs,
        Step::Put,
        Step::Get,
        Step::Delete,
        Step::ClockSkew,
    ] {
        let check = result.check(step).unwrap();
        assert_eq!(check.status, Status::Passed, "{step:?}: {result:#?}");
    }
    assert!(result.passed());
}

/// From here, the two faults every store answers the same way: bucket `velero-typo` is missing (the store's
/// `missing_code`, SD101) and `velero` has a directory Velero does not own under `cluster-b` (SD102), where the
/// writes still run and clean up after themselves. `location(bucket, prefix)` is the store's location; the
/// foreign probe's result comes back for the store's own check that nothing was left.
pub(crate) async fn missing_bucket_and_foreign_dir(
    location: impl Fn(&str, &str) -> Location,
    credentials: &StoreCredentials,
    missing_code: &str,
) -> ProbeResult {
    let missing = probe(
        &location("velero-typo", "cluster-a"),
        credentials,
        Agent::FromHere,
    )
    .await
    .unwrap();
    assert_reproduces(&missing, Step::List, "SD101", missing_code);
    let foreign = probe(
        &location("velero", "cluster-b"),
        credentials,
        Agent::FromHere,
    )
    .await
    .unwrap();
    assert_reproduces(&foreign, Step::TopLevelDirs, "SD102", "");
    assert_eq!(
        foreign.top_level_dirs,
        vec!["cluster-b/foreign/".to_string()]
    );
    assert_eq!(
        foreign.check(Step::Delete).map(|c| c.status),
        Some(Status::Passed)
    );
    foreign
}

/// The "healthy" scenario with its location "default" replaced by `objects` (secrets and BSLs) that `test`
/// composed.
pub(crate) fn scenario_with(test: &str, objects: Vec<serde_json::Value>) -> Scenario {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    scenario
        .objects
        .retain(|o| !(o.kind() == "BackupStorageLocation" && o.name() == "default"));
    for value in objects {
        scenario.objects.push(snapdoc::lab::ScenarioObject {
            file: format!("composed by {test}"),
            line: 1,
            value,
        });
    }
    scenario
}

/// `snapdoc probe --bsl NAME --format json` against the lab.
pub(crate) fn probe_bsl(lab: &BackgroundLab, name: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["probe", "--bsl", name, "--format", "json"])
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .output()
        .unwrap()
}

/// The result a probe command printed, after checking its exit code.
pub(crate) fn result_of(output: Output, code: i32) -> ProbeResult {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The arguments of the agent container in the Job `snapdoc probe --dry-run --bsl NAME` prints.
pub(crate) fn dry_run_args(lab: &BackgroundLab, name: &str) -> Vec<String> {
    let dry = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["probe", "--dry-run", "--bsl", name])
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .output()
        .unwrap();
    let job: serde_json::Value =
        serde_saphyr::from_str(std::str::from_utf8(&dry.stdout).unwrap()).unwrap();
    job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// `check --probe` against a lab whose only location "default" (of `provider`) fails its listing with `rule` and
/// `code`: the failure in the JSON's probes and in the metrics; nothing left in the lab.
pub(crate) fn check_probe_reports(lab: &BackgroundLab, provider: &str, rule: &str, code: &str) {
    let textfile = lab.path("probe.prom");
    let tmp = lab.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .arg("check")
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(["--probe", "--prometheus-textfile"])
        .arg(&textfile)
        .env_remove("KUBECONFIG")
        .env("TMPDIR", tmp)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let probes = json["probes"].as_array().expect("a probes array");
    assert_eq!(probes.len(), 1, "{json:#}");
    let list = &probes[0]["result"]["checks"][0];
    assert_eq!(
        (&list["step"], &list["rule"], &list["errorCode"]),
        (
            &serde_json::json!("list"),
            &serde_json::json!(rule),
            &serde_json::json!(code)
        ),
        "{json:#}"
    );
    assert_eq!(probes[0]["result"]["location"]["provider"], provider);
    let metrics = std::fs::read_to_string(&textfile).unwrap();
    let has = |name: &str, labels: &[&str], value: &str| {
        metrics.lines().any(|line| {
            line.starts_with(name)
                && labels.iter().all(|l| line.contains(l))
                && line.ends_with(&format!(" {value}"))
        })
    };
    let at = ["namespace=\"velero\"", "location=\"default\""];
    assert!(has("snapdoc_probe_success{", &at, "0"), "{metrics}");
    let reproduced = format!("rule=\"{rule}\"");
    assert!(
        has(
            "snapdoc_probe_reproduced{",
            &[at[0], at[1], &reproduced],
            "1"
        ),
        "{metrics}"
    );
    nothing_left_in(lab);
}
