//! What the probe tests (tests/probe.rs against moto, tests/probe_azure.rs against Azurite) share: the store's
//! process killed when the test ends, a free loopback port for it, waiting until it listens, and the lab checked
//! for anything the in-cluster flow left behind.
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use super::background_lab::BackgroundLab;

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
