//! kubectl's connection flags, each against the lab cluster: `snapdoc check` reaches the lab only when the
//! flag does what kubectl's does, and fails (exit 2) without it. `-n/--namespace` names Velero's namespace.
use std::path::PathBuf;
use std::process::{Command, Output};

use snapdoc::lab::Scenario;

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;

/// Nothing listens on port 1 of the loopback: a server there cannot be reached.
const DEAD_SERVER: &str = "https://127.0.0.1:1";

/// `snapdoc check ARGS` with no KUBECONFIG and a HOME without a kubeconfig, so only the flags count.
fn check(lab: &BackgroundLab, args: &[&str]) -> Output {
    let home = lab.path("home");
    std::fs::create_dir_all(&home).expect("a HOME for snapdoc");
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .arg("check")
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", &home)
        .env("TMPDIR", &home)
        .env("NO_COLOR", "1")
        .output()
        .expect("snapdoc runs")
}

fn assert_exit(output: &Output, expected: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "{what}: stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The lab's healthy scenario exits 0 once reached; any failure to reach it exits 2.
fn healthy_lab() -> BackgroundLab {
    BackgroundLab::start(Scenario::builtin("healthy").expect("the healthy scenario"))
}

struct Kubeconfig<'a> {
    server: &'a str,
    ca: Option<&'a str>,
    token: &'a str,
}

/// A kubeconfig with contexts `main` (current, per `main`) and `lab` (the lab as it is).
fn write_kubeconfig(lab: &BackgroundLab, name: &str, main: Kubeconfig<'_>) -> PathBuf {
    use base64::Engine as _;
    let base64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let ca_line = |ca: Option<&str>| {
        ca.map(|pem| format!("    certificate-authority-data: {}\n", base64(pem)))
            .unwrap_or_default()
    };
    let the_lab = lab.lab();
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: main\nclusters:\n\
         - name: main\n  cluster:\n    server: {}\n{}\
         - name: lab\n  cluster:\n    server: {}\n{}\
         users:\n- name: main\n  user:\n    token: {}\n- name: lab\n  user:\n    token: {}\n\
         contexts:\n- name: main\n  context: {{cluster: main, user: main}}\n\
         - name: lab\n  context: {{cluster: lab, user: lab}}\n",
        main.server,
        ca_line(main.ca),
        the_lab.server_url(),
        ca_line(Some(the_lab.ca_pem())),
        main.token,
        the_lab.token(),
    );
    let path = lab.path(name);
    std::fs::write(&path, text).expect("the kubeconfig is written");
    path.to_str().expect("a UTF-8 temporary path").into()
}

#[test]
fn kubeconfig_and_context_pick_the_cluster() {
    let lab = healthy_lab();
    let dead = write_kubeconfig(
        &lab,
        "dead",
        Kubeconfig {
            server: DEAD_SERVER,
            ca: Some(lab.lab().ca_pem()),
            token: lab.lab().token(),
        },
    );
    let dead = dead.to_str().unwrap();
    assert_exit(
        &check(&lab, &["--kubeconfig", dead]),
        2,
        "current context unreachable",
    );
    assert_exit(
        &check(&lab, &["--kubeconfig", dead, "--context", "lab"]),
        0,
        "--context lab",
    );
    let reached = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["check", "--kubeconfig"])
        .arg(lab.kubeconfig())
        .env("KUBECONFIG", dead)
        .env("TMPDIR", lab.path("."))
        .output()
        .expect("snapdoc runs");
    assert_exit(&reached, 0, "--kubeconfig wins over KUBECONFIG");
}

#[test]
fn server_replaces_the_kubeconfigs_and_works_without_one() {
    let lab = healthy_lab();
    let the_lab = lab.lab();
    let dead = write_kubeconfig(
        &lab,
        "dead",
        Kubeconfig {
            server: DEAD_SERVER,
            ca: Some(the_lab.ca_pem()),
            token: the_lab.token(),
        },
    );
    let dead = dead.to_str().unwrap();
    let server = the_lab.server_url();
    assert_exit(
        &check(&lab, &["--kubeconfig", dead, "--server", &server]),
        0,
        "--server",
    );
    assert_exit(
        &check(&lab, &["--kubeconfig", dead, "-s", &server]),
        0,
        "-s",
    );
    // No kubeconfig at all, as `kubectl --server URL --token T --insecure-skip-tls-verify` works.
    assert_exit(
        &check(
            &lab,
            &[
                "--server",
                &server,
                "--token",
                the_lab.token(),
                "--insecure-skip-tls-verify",
            ],
        ),
        0,
        "--server, --token, --insecure-skip-tls-verify without a kubeconfig",
    );
}

#[test]
fn token_replaces_the_users_credentials() {
    let lab = healthy_lab();
    let the_lab = lab.lab();
    let wrong = write_kubeconfig(
        &lab,
        "wrong-token",
        Kubeconfig {
            server: &the_lab.server_url(),
            ca: Some(the_lab.ca_pem()),
            token: "not-the-labs-token",
        },
    );
    let wrong = wrong.to_str().unwrap();
    let refused = check(&lab, &["--kubeconfig", wrong]);
    assert_exit(&refused, 2, "the kubeconfig's wrong token");
    assert_exit(
        &check(&lab, &["--kubeconfig", wrong, "--token", the_lab.token()]),
        0,
        "--token",
    );
}

#[test]
fn insecure_skip_tls_verify_accepts_an_unknown_certificate() {
    let lab = healthy_lab();
    let the_lab = lab.lab();
    let no_ca = write_kubeconfig(
        &lab,
        "no-ca",
        Kubeconfig {
            server: &the_lab.server_url(),
            ca: None,
            token: the_lab.token(),
        },
    );
    let no_ca = no_ca.to_str().unwrap();
    assert_exit(
        &check(&lab, &["--kubeconfig", no_ca]),
        2,
        "the lab's certificate is unknown",
    );
    assert_exit(
        &check(&lab, &["--kubeconfig", no_ca, "--insecure-skip-tls-verify"]),
        0,
        "--insecure-skip-tls-verify",
    );
}

#[test]
fn as_and_as_group_reach_every_request_as_impersonation_headers() {
    let lab = healthy_lab();
    let kubeconfig = lab.kubeconfig();
    let output = check(
        &lab,
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--as",
            "jane",
            "--as-group",
            "ops",
            "--as-group",
            "audit",
        ],
    );
    assert_exit(&output, 0, "--as / --as-group");
    let requests = lab.lab().request_log();
    let api: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api"))
        .collect();
    assert!(!api.is_empty(), "the check made API requests");
    let expected = [
        "impersonate-user: jane",
        "impersonate-group: ops",
        "impersonate-group: audit",
    ];
    for request in api {
        assert_eq!(request.impersonation, expected, "{request}");
    }
}

#[test]
fn request_timeout_gives_up_on_a_slow_server() {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    scenario.faults.latency_ms = 5_000;
    let lab = BackgroundLab::start(scenario);
    let kubeconfig = lab.kubeconfig();
    let output = check(
        &lab,
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--request-timeout",
            "300ms",
        ],
    );
    assert_exit(&output, 2, "every request timed out");
    // Without the flag, kube-rs waits 295 s for an answer and the collector 60 s, so 5 s would be answered;
    // with it, the preflight's first request is given up on, and the error names the server and the wait.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the Kubernetes API server 127.0.0.1:")
            && stderr.contains("did not answer within 300ms"),
        "{stderr}"
    );
}

#[test]
fn namespace_and_n_name_veleros_namespace() {
    let lab = healthy_lab();
    let kubeconfig = lab.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    for flag in ["-n", "--namespace", "--velero-namespace"] {
        let output = check(&lab, &["--kubeconfig", kubeconfig, flag, "velero"]);
        assert_exit(&output, 0, flag);
    }
    check(&lab, &["--kubeconfig", kubeconfig, "-n", "elsewhere"]);
    let asked_elsewhere = lab
        .lab()
        .request_log()
        .iter()
        .any(|r| r.path.contains("/namespaces/elsewhere/"));
    assert!(
        asked_elsewhere,
        "-n elsewhere reads Velero's objects in elsewhere"
    );
}
