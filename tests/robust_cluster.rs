//! Collecting from a cluster that misbehaves: throttling and server-error bursts, latency, a log stream
//! cut mid-way, continue tokens expiring between pages, and a cluster without Velero. Each run still
//! yields a bundle holding everything the cluster did give, with what went wrong in the manifest.
//!
//! Covered elsewhere and not repeated here: forbidden resources, a DownloadRequest never processed and an
//! unreachable download URL (tests/collect.rs), the lab's own fault behaviour (tests/lab.rs), retry and
//! restart logic against a mock server (src/collect/api.rs unit tests).
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use snapdoc::bundle::ClusterInfo;
use snapdoc::bundle::Manifest;
use snapdoc::collect::collect;
use snapdoc::collect::{ClusterOptions, CollectOptions};
use snapdoc::lab::Faults;
use snapdoc::lab::{LabCluster, RequestRecord, Scenario};

const VELERO_POD: &str = "velero-7d9f8c6b5d-x2x4z";

fn options() -> CollectOptions {
    CollectOptions {
        download_timeout: 10,
        ..CollectOptions::default()
    }
}

/// A bundle's entries read whole (lab bundles are small) and its manifest.
struct Collected {
    entries: BTreeMap<String, Vec<u8>>,
    manifest: Manifest,
    requests: Vec<RequestRecord>,
    elapsed: Duration,
    _dir: tempfile::TempDir,
}

impl Collected {
    fn names(&self) -> Vec<&str> {
        self.entries
            .keys()
            .map(String::as_str)
            .filter(|e| *e != "manifest.json")
            .collect()
    }

    fn json(&self, entry: &str) -> Value {
        serde_json::from_slice(
            self.entries
                .get(entry)
                .unwrap_or_else(|| panic!("no {entry} in {:?}", self.names())),
        )
        .unwrap()
    }

    fn item_names(&self, entry: &str) -> Vec<String> {
        self.json(entry)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Requests the lab answered whose path contains `path` (and whose query contains `query`).
    fn requests_to(&self, path: &str, query: &str) -> Vec<&RequestRecord> {
        self.requests
            .iter()
            .filter(|r| r.path.contains(path) && r.query.contains(query))
            .collect()
    }
}

async fn collect_from(scenario: Scenario) -> Collected {
    collect_with(scenario, &options()).await
}

async fn collect_with(scenario: Scenario, options: &CollectOptions) -> Collected {
    let lab = LabCluster::start(scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, cluster) = production_client(&lab, dir.path()).await;
    let started = Instant::now();
    let outcome = collect(client, cluster, options, &dir.path().join("bundle.zip"))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let requests = lab.request_log();
    lab.shutdown().await;
    let report = snapdoc::bundle::verify(&outcome.path).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&outcome.path).unwrap()).unwrap();
    let mut entries = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        entries.insert(entry.name().unwrap().to_string(), data);
    }
    Collected {
        entries,
        manifest: outcome.manifest,
        requests,
        elapsed,
        _dir: dir,
    }
}

/// A client made as `snapdoc collect` makes one, from a kubeconfig: its retry policy is the collector's,
/// not kube-rs's default (which retries 429/503/504 on its own for minutes).
async fn production_client(lab: &LabCluster, dir: &Path) -> (kube::Client, ClusterInfo) {
    let kubeconfig = dir.join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig).unwrap();
    let args = ClusterOptions {
        kubeconfig: Some(kubeconfig),
        ..ClusterOptions::default()
    };
    snapdoc::collect::client_from(&args).await.unwrap()
}

/// What the manifest records as not collected, comparable between runs.
fn error_targets(bundle: &Collected) -> Vec<(String, Option<String>, Option<u16>)> {
    let mut targets: Vec<_> = bundle
        .manifest
        .collector_errors
        .iter()
        .map(|e| (e.source.clone(), e.target.clone(), e.status))
        .collect();
    targets.sort();
    targets
}

/// The built-in lab-basics scenario with only `faults` (its own are replaced) and `extra` files.
fn lab_basics(faults: Value, extra: &[(&str, String)]) -> Scenario {
    let mut files: Vec<(String, String)> =
        snapdoc::embedded::files_under(snapdoc::embedded::SCENARIOS, "lab-basics/")
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect();
    files.extend(
        extra
            .iter()
            .map(|(path, text)| (path.to_string(), text.clone())),
    );
    let mut scenario = Scenario::from_files("lab-basics", "test:lab-basics", files).unwrap();
    scenario.faults = serde_json::from_value::<Faults>(faults).unwrap();
    scenario
}

fn no_faults() -> Value {
    json!({})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_429_and_5xx_are_retried_and_the_bundle_is_the_same() {
    // lab-basics keeps no store files for its older backups: those downloads fail in every run (404).
    let baseline = collect_from(lab_basics(no_faults(), &[])).await;
    assert!(
        error_targets(&baseline)
            .iter()
            .all(|(source, _, status)| source == "downloads" && *status == Some(404)),
        "{:?}",
        baseline.manifest.collector_errors
    );

    let bursts = json!({"errorBursts": [
        {"pathContains": "/api/v1/nodes", "status": 429, "count": 2, "retryAfterSeconds": 0},
        {"pathContains": "/apis/apps/v1/namespaces/velero/deployments", "status": 500, "count": 2},
        {"pathContains": "/apis/velero.io/v1/namespaces/velero/backups", "status": 502, "count": 1},
        {"pathContains": "/api/v1/namespaces/velero/pods", "status": 503, "count": 3},
        {"pathContains": "/version", "status": 504, "count": 1},
    ]});
    let bundle = collect_from(lab_basics(bursts, &[])).await;
    assert_eq!(error_targets(&bundle), error_targets(&baseline));
    // Every retry came back with the same content: the same entries, the same objects.
    assert_eq!(bundle.names(), baseline.names());
    for entry in [
        "cluster/nodes.json",
        "cluster-resources/deployments/velero.json",
        "cluster-resources/pods/velero.json",
        "cluster-resources/custom-resources/backups.velero.io/velero.json",
    ] {
        assert_eq!(
            bundle.item_names(entry),
            baseline.item_names(entry),
            "{entry}"
        );
    }
    assert_eq!(bundle.json("cluster/version.json")["gitVersion"], "v1.31.6");
    // The lab saw the failures, then the successes.
    for (path, status, failures) in [
        ("/api/v1/nodes", 429, 2),
        ("/apis/apps/v1/namespaces/velero/deployments", 500, 2),
        ("/apis/velero.io/v1/namespaces/velero/backups", 502, 1),
        ("/version", 504, 1),
    ] {
        let seen: Vec<u16> = bundle
            .requests_to(path, "")
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(
            seen.iter().filter(|s| **s == status).count(),
            failures,
            "{path}: {seen:?}"
        );
        assert!(seen.contains(&200), "{path}: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_longer_than_the_retries_is_given_up_and_recorded() {
    let endless = json!({"errorBursts": [
        {"pathContains": "/apis/velero.io/v1/namespaces/velero/schedules", "status": 503, "count": 1000},
    ]});
    let bundle = collect_from(lab_basics(endless, &[])).await;
    let errors: Vec<_> = bundle
        .manifest
        .collector_errors
        .iter()
        .filter(|e| e.target.as_deref().is_some_and(|t| t.contains("schedules")))
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", bundle.manifest.collector_errors);
    assert_eq!(errors[0].status, Some(503));
    // Bounded: a handful of attempts, a few seconds of backoff, not a thousand requests.
    let attempts = bundle.requests_to("/namespaces/velero/schedules", "").len();
    assert!((2..=6).contains(&attempts), "{attempts} attempts");
    assert!(
        bundle.elapsed < Duration::from_secs(30),
        "{:?}",
        bundle.elapsed
    );
    // Everything else is there.
    assert!(
        !bundle
            .entries
            .keys()
            .any(|e| e.contains("schedules.velero.io"))
    );
    assert!(
        !bundle
            .item_names("cluster-resources/custom-resources/backups.velero.io/velero.json")
            .is_empty()
    );
    assert!(
        bundle
            .entries
            .contains_key(&format!("velero/logs/{VELERO_POD}/velero.log"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_on_every_answer_slows_collection_but_loses_nothing() {
    let baseline = collect_from(lab_basics(no_faults(), &[])).await;
    let slow = collect_from(lab_basics(json!({"latencyMs": 40}), &[])).await;
    assert_eq!(error_targets(&slow), error_targets(&baseline));
    assert_eq!(slow.names(), baseline.names());
    // The collector asks in parallel: far less than one latency per request, one after the other.
    let api_requests = slow
        .requests
        .iter()
        .filter(|r| !r.path.contains("/store/"))
        .count();
    assert!(api_requests > 20, "{api_requests}");
    assert!(
        slow.elapsed < Duration::from_millis(40) * api_requests as u32,
        "{:?} for {api_requests} requests",
        slow.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_stream_cut_mid_way_is_kept_and_marked_truncated() {
    let cut = json!({"droppedLogStreams": [
        {"namespace": "velero", "pod": VELERO_POD, "container": "velero", "afterBytes": 600}
    ]});
    let bundle = collect_from(lab_basics(cut, &[])).await;
    let entry = format!("velero/logs/{VELERO_POD}/velero.log");
    let partial = String::from_utf8(bundle.entries[&entry].clone()).unwrap();
    assert!(
        !partial.is_empty() && partial.len() <= 600,
        "{}",
        partial.len()
    );
    assert!(partial.starts_with("time="), "{partial}");
    let listed = bundle
        .manifest
        .files
        .iter()
        .find(|f| f.path == entry)
        .unwrap();
    let reason = listed.truncated.as_deref().expect("marked truncated");
    assert!(reason.contains("dropped"), "{reason}");
    // Logs of other pods are whole and unmarked.
    let others: Vec<_> = bundle
        .manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("velero/logs/node-agent-"))
        .collect();
    assert!(!others.is_empty());
    assert!(others.iter().all(|f| f.truncated.is_none()), "{others:?}");

    // Not only the manifest: the analysis is incomplete (the rules never read the rest of the log) and every
    // report names the log and why it is short.
    let analysis = snapdoc::analyze::analyze_bundle(
        &bundle._dir.path().join("bundle.zip"),
        &snapdoc::analyze::AnalysisOptions::default(),
    )
    .unwrap();
    let said = analysis
        .not_seen
        .iter()
        .find(|what| what.starts_with(&entry))
        .unwrap_or_else(|| panic!("{:?}", analysis.not_seen));
    assert!(said.contains("log stream dropped"), "{said}");
    // (The lab-basics scenario has failed backups: the status stays `failed`, never `healthy`.)
    assert_ne!(analysis.status, snapdoc::analyze::Status::Healthy);
    use snapdoc::report::{ReportFormat, render};
    for format in [
        ReportFormat::Html,
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Terminal { color: false },
    ] {
        let report = render(&analysis, format, None).unwrap();
        assert!(
            report.contains(&entry) && report.contains("log stream dropped"),
            "{format:?}: {report}"
        );
    }
}

/// `count` Events in the velero namespace: more than one page of the collector's lists.
fn many_events(count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Event\nmetadata:\n  name: velero-7d9f8c6b5d-x2x4z.{i:016x}\n  namespace: velero\n\
             involvedObject: {{apiVersion: v1, kind: Pod, name: {VELERO_POD}, namespace: velero}}\n\
             reason: BackOff\nmessage: Back-off pulling image \"velero/velero:v1.16.1\"\ntype: Warning\ncount: 1\n\
             firstTimestamp: \"2026-11-25T11:00:00Z\"\nlastTimestamp: \"2026-11-25T11:00:00Z\"\n\
             source: {{component: kubelet, host: node-1}}\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continue_token_expiring_between_pages_restarts_the_list() {
    let events = [("objects/zz-events.yaml", many_events(1200))];
    let expired_once = collect_from(lab_basics(json!({"expiredContinueTokens": 1}), &events)).await;
    assert!(
        !expired_once
            .manifest
            .collector_errors
            .iter()
            .any(|e| e.target.as_deref().is_some_and(|t| t.contains("events"))),
        "{:?}",
        expired_once.manifest.collector_errors
    );
    let names = expired_once.item_names("cluster-resources/events/velero.json");
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "no event twice after the restart"
    );
    assert!(names.len() >= 1200, "{}", names.len());
    // The lab answered 410 to a continued request, and the list started over.
    let event_lists = expired_once.requests_to("/namespaces/velero/events", "");
    let expired = event_lists
        .iter()
        .position(|r| r.status == 410 && r.query.contains("continue="))
        .unwrap_or_else(|| panic!("{event_lists:?}"));
    assert!(
        event_lists[expired + 1..]
            .iter()
            .any(|r| r.status == 200 && !r.query.contains("continue=")),
        "{event_lists:?}"
    );

    // A list that keeps expiring is given up after a bounded number of restarts, and recorded.
    let always = collect_from(lab_basics(json!({"expiredContinueTokens": 1000}), &events)).await;
    let error = always
        .manifest
        .collector_errors
        .iter()
        .find(|e| e.target.as_deref().is_some_and(|t| t.contains("events")))
        .unwrap_or_else(|| panic!("{:?}", always.manifest.collector_errors));
    assert_eq!(error.status, Some(410));
    assert!(error.message.contains("gave up"), "{}", error.message);
    let expired_requests = always.requests.iter().filter(|r| r.status == 410).count();
    assert!(expired_requests <= 10, "{expired_requests}");
    // The rest of the bundle is there.
    assert!(
        !always
            .item_names("cluster-resources/pods/velero.json")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_velero_the_bundle_has_the_cluster_and_a_finding_says_so() {
    let scenario =
        Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/no-velero"))
            .unwrap();
    let lab = LabCluster::start(scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (client, cluster) = production_client(&lab, dir.path()).await;
    let outcome = collect(client, cluster, &options(), &dir.path().join("bundle.zip"))
        .await
        .unwrap();
    lab.shutdown().await;
    let mut bundle = snapdoc::bundle::Bundle::open(&outcome.path).unwrap();
    // Cluster information is all there.
    assert_eq!(
        bundle.read_json("cluster/version.json").unwrap().unwrap()["gitVersion"],
        "v1.29.4"
    );
    assert_eq!(bundle.objects("nodes").unwrap().len(), 3);
    let namespaces = bundle.objects("namespaces").unwrap();
    assert!(
        namespaces
            .iter()
            .any(|n| n["metadata"]["name"] == "default")
    );
    assert!(!bundle.objects("pods").unwrap().is_empty());
    // Nothing of Velero, and no pretence of it.
    assert!(bundle.objects("backups.velero.io").unwrap().is_empty());
    assert!(!bundle.entries().iter().any(|e| e.starts_with("velero/")));

    let analysis = snapdoc::analyze::analyze_bundle(&outcome.path, &Default::default()).unwrap();
    let finding = analysis
        .findings
        .iter()
        .find(|f| f.rule_id == "SD813")
        .unwrap_or_else(|| panic!("{:?}", analysis.findings));
    assert!(
        finding.message.contains("KOTS is installed"),
        "{}",
        finding.message
    );
    assert_eq!(
        analysis.environment.kubernetes_version.as_deref(),
        Some("v1.29.4")
    );
    assert_eq!(analysis.environment.nodes.len(), 3);
    assert!(analysis.environment.velero.is_none());
}

/// A server that accepts connections and never says a word (not even the TLS handshake): kube-rs alone would
/// wait its 295 s read timeout. `collect` gives up after 20 s, or `--request-timeout` when shorter, with exit 2
/// and an error naming the server, before writing anything.
#[test]
fn a_server_that_never_answers_times_out_with_exit_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{port}', \
             insecure-skip-tls-verify: true}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\n\
             contexts: [{{name: x, context: {{cluster: c, user: u}}}}]\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .current_dir(dir.path())
        .args(["collect", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--request-timeout", "1s", "-o", "bundle.zip"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A guard against hanging, not a measurement: the run is expected to end after about a second.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("collect still waiting for a server that never answers");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port} did not answer within 1s")),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the kubeconfig: {left:?}");
}
