//! What the probe tests (tests/probe.rs against moto, tests/probe_azure.rs against Azurite, tests/probe_gcs.rs
//! against gcp-storage-emulator) share: whether the store is installed (a test fails in CI without it), the store's
//! process killed when the test ends, a free loopback port for it, waiting until it listens, and the lab checked
//! for anything the in-cluster flow left behind.
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::background_lab::BackgroundLab;

/// Whether `program args` runs and succeeds: the store `name` is installed. Without it the test is skipped with a
/// loud note, except in CI, where .ci/run installs it (scripts/install-test-deps): missing there is a broken
/// setup, not a reason to pass.
pub(crate) fn installed(program: &str, args: &[&str], name: &str) -> bool {
    let installed = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed: scripts/install-test-deps installs it"
        );
        eprintln!(
            "\n!!!!!!!! {name} is not installed (scripts/install-test-deps): SKIPPING this probe test !!!!!!!!\n"
        );
    }
    installed
}

/// A server process, killed when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `name` listens on loopback `port` (30 s at most).
pub(crate) fn wait_listening(port: u16, name: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGINT to a `snapdoc probe` whose probe object exists under `key_prefix` and waits for it: it must end
/// with 130 within 10 s and say it deleted the object.
#[allow(dead_code)] // only the test crates with a Ctrl-C test use it
pub(crate) async fn interrupt_probe(child: std::process::Child, key_prefix: &str) {
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(key_prefix) && stderr.contains("was deleted"),
        "{stderr}"
    );
}

/// The pods of Jobs in the lab.
pub(crate) fn job_pods(lab: &BackgroundLab) -> Vec<serde_json::Value> {
    lab.lab()
        .objects("pods")
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["job-name"].is_string())
        .collect()
}

/// No probe Job and no pod of one is left in the lab.
pub(crate) fn nothing_left_in(lab: &BackgroundLab) {
    let jobs = lab.lab().objects("jobs.batch");
    assert!(jobs.is_empty(), "{jobs:#?}");
    let pods = job_pods(lab);
    assert!(pods.is_empty(), "{pods:#?}");
}

/// The JSON result of a probe command that exited with `code`.
#[allow(dead_code)] // tests/probe_azure.rs reads its results with a closure of its own
pub(crate) fn result_of(output: &std::process::Output, code: i32) -> snapdoc::probe::ProbeResult {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not a probe result ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
