//! `snapdoc probe` against a GCS JSON API: gcp-storage-emulator (PyPI, installed by scripts/install-test-deps),
//! started by each test on a free loopback port, in memory, and a token endpoint served by the test that plays
//! Google's OAuth 2.0 token_uri: it verifies each assertion's RS256 signature with the public half of
//! tests/fixtures/probe-gcs/registered-key.pem and its claims (issuer, audience, the plugin's scope, expiry), and
//! answers an access token or, for any other key, Google's `invalid_grant` "Invalid JWT Signature.". The emulator
//! checks no token (it has no IAM), so the faults are: a key the token endpoint refuses (SD211), a missing bucket
//! (the JSON API's 404, SD101), a directory Velero does not own (SD102). From here (the library and the command)
//! and in-cluster (the lab plays the node for snapdoc's Job), and through `check --probe` into the JSON and the
//! metrics; after each run, and after a Ctrl-C, no probe object in the bucket, no Job or pod in the lab.
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use snapdoc::lab::Scenario;
use snapdoc::probe::{
    Agent, GcsLocation, Location, ProbeResult, Status, Step, StoreCredentials, probe,
};

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;
#[path = "support/probe_servers.rs"]
mod probe_servers;
use probe_servers::{
    Server, free_port, installed, interrupt_probe, nothing_left_in, wait_listening,
};
#[path = "support/probe_checks.rs"]
mod probe_checks;
use probe_checks::{
    all_passed, assert_reproduces, check_probe_reports, dry_run_args,
    missing_bucket_and_foreign_dir, probe_bsl, result_of, scenario_with,
};

/// The service account the test key belongs to.
const ACCOUNT: &str = "velero@snapdoc-test.iam.gserviceaccount.com";
/// velero-plugin-for-gcp's scope (`storage.ScopeReadWrite`).
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
/// Google's answer to an assertion signed with a key it does not know (googleapis/google-cloud-python#10004).
const REFUSED: &str = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/probe-gcs")
        .join(name)
}

/// A gcp-storage-emulator with bucket `velero`, killed when dropped.
struct Emulator {
    _server: Server,
    port: u16,
}

impl Emulator {
    /// The JSON API's base URL: config.storeEndpoint for an emulator.
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/storage/v1/", self.port)
    }

    fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        http(self.port, method, path, body)
    }

    fn put(&self, key: &str) {
        let (status, _) = self.http(
            "POST",
            &format!(
                "/upload/storage/v1/b/velero/o?uploadType=media&name={}",
                key.replace('/', "%2F")
            ),
            b"fixture",
        );
        assert_eq!(status, 200, "upload of {key}");
    }

    /// The names of the objects in `velero` under `prefix`.
    fn objects(&self, prefix: &str) -> Vec<String> {
        let (status, body) = self.http(
            "GET",
            &format!(
                "/storage/v1/b/velero/o?prefix={}",
                prefix.replace('/', "%2F")
            ),
            b"",
        );
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        json["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One HTTP/1.0 request to the emulator on `port`: its status and body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let status = String::from_utf8_lossy(&answer[..split])
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (status, answer[split + 4..].to_vec())
}

/// Starts the emulator with Velero's layout under `cluster-a/` and a foreign directory under `cluster-b/`;
/// `None` (and a loud note) when it is not installed.
fn emulator() -> Option<Emulator> {
    if !installed("gcp-storage-emulator", &["--help"], "gcp-storage-emulator") {
        return None;
    }
    let port = free_port();
    let child = Command::new("gcp-storage-emulator")
        .args(["start", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--default-bucket", "velero", "--in-memory", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let emulator = Emulator {
        _server: Server(child),
        port,
    };
    wait_listening(port, "gcp-storage-emulator");
    emulator.put("cluster-a/backups/b1/velero-backup.json");
    emulator.put("cluster-b/foreign/notes.txt");
    Some(emulator)
}

/// A token endpoint that knows one key, on a thread of its own (the command tests run snapdoc as a process).
struct TokenEndpoint {
    port: u16,
    /// Assertions received, accepted or not.
    requests: Arc<AtomicUsize>,
}

impl TokenEndpoint {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let public_key = std::fs::read(fixture("registered-public.der")).unwrap();
        let audience = format!("http://127.0.0.1:{port}/token");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().route(
                    "/token",
                    axum::routing::post(move |body: String| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let answer = exchange(&body, &public_key, &audience);
                        async move { answer }
                    }),
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        TokenEndpoint { port, requests }
    }

    fn token_uri(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The token endpoint's answer to a form body: an access token for a valid assertion of the registered key, else
/// `invalid_grant`.
fn exchange(form: &str, public_key: &[u8], audience: &str) -> (axum::http::StatusCode, String) {
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
    let refused = (axum::http::StatusCode::BAD_REQUEST, REFUSED.to_string());
    if fields.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            r#"{"error":"unsupported_grant_type"}"#.to_string(),
        );
    }
    let Some(assertion) = fields.get("assertion") else {
        return refused;
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let [header, claims, signature] = parts[..] else {
        return refused;
    };
    let Ok(signature) = b64.decode(signature) else {
        return refused;
    };
    let verified = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(format!("{header}.{claims}").as_bytes(), &signature);
    if verified.is_err() {
        return refused;
    }
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(claims).unwrap()).unwrap();
    let now = jiff::Timestamp::now().as_second();
    let valid = claims["iss"] == ACCOUNT
        && claims["aud"] == audience
        && claims["scope"] == SCOPE
        && claims["exp"].as_i64().is_some_and(|exp| exp > now)
        && claims["iat"].as_i64().is_some_and(|iat| iat <= now);
    if !valid {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            format!(r#"{{"error":"invalid_grant","error_description":"claims {claims}"}}"#),
        );
    }
    (
        axum::http::StatusCode::OK,
        r#"{"access_token":"ya29.snapdoc-test-token","expires_in":3599,"token_type":"Bearer"}"#
            .to_string(),
    )
}

/// The service-account key file (the layout `gcloud iam service-accounts keys create` writes) with `key`'s PEM.
fn key_file(key: &str, token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "snapdoc-test",
        "private_key_id": "0123456789abcdef",
        "private_key": std::fs::read_to_string(fixture(key)).unwrap(),
        "client_email": ACCOUNT,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}

fn credentials(key: &str, tokens: &TokenEndpoint) -> StoreCredentials {
    Location::Gcs(GcsLocation::default())
        .read_credentials(&key_file(key, &tokens.token_uri()), None)
        .unwrap()
}

fn location(emulator: &Emulator, bucket: &str, prefix: &str) -> Location {
    Location::Gcs(GcsLocation {
        provider: "velero.io/gcp".into(),
        bucket: bucket.into(),
        prefix: prefix.into(),
        store_endpoint: Some(emulator.endpoint()),
        ..GcsLocation::default()
    })
}

/// From here, the library: the success path (one token for the whole run) leaves nothing behind; a key the token
/// endpoint refuses is invalid_grant (SD211), a missing bucket notFound (SD101), a foreign directory SD102.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_s_and_the_token_endpoint_s_faults_are_named_by_their_rules() {
    let Some(emulator) = emulator() else { return };
    let tokens = TokenEndpoint::start();
    let good = credentials("registered-key.pem", &tokens);

    let result = probe(
        &location(&emulator, "velero", "cluster-a"),
        &good,
        Agent::FromHere,
    )
    .await
    .unwrap();
    all_passed(&result);
    assert_eq!(
        tokens.requests(),
        1,
        "one token for the run's five requests"
    );
    assert!(
        result
            .probe_key
            .starts_with("cluster-a/backups/snapdoc-probe-")
    );
    assert_eq!(result.location.endpoint, emulator.endpoint());
    assert_eq!(
        result.top_level_dirs,
        vec!["cluster-a/backups/".to_string()]
    );
    assert!(result.clock_skew_seconds.is_some_and(|s| s.abs() < 60));
    assert_eq!(
        emulator.objects("cluster-a/"),
        vec!["cluster-a/backups/b1/velero-backup.json".to_string()],
        "the probe object is gone"
    );
    let json = serde_json::to_string(&result).unwrap();
    assert!(
        !json.contains("ya29") && !json.contains("PRIVATE KEY"),
        "{json}"
    );

    let wrong = probe(
        &location(&emulator, "velero", "cluster-a"),
        &credentials("unregistered-key.pem", &tokens),
        Agent::FromHere,
    )
    .await
    .unwrap();
    assert_reproduces(&wrong, Step::List, "SD211", "invalid_grant");
    let list = wrong.check(Step::List).unwrap();
    assert_eq!(list.http_status, Some(400));
    assert!(list.detail.contains("Invalid JWT Signature."), "{list:#?}");
    for step in [Step::Put, Step::Get, Step::Delete] {
        assert_eq!(wrong.check(step).map(|c| c.status), Some(Status::Skipped));
    }

    missing_bucket_and_foreign_dir(
        |bucket, prefix| location(&emulator, bucket, prefix),
        &good,
        "notFound",
    )
    .await;
    assert_eq!(
        emulator.objects("cluster-b/"),
        vec!["cluster-b/foreign/notes.txt".to_string()]
    );
}

/// `snapdoc probe --from-here --provider velero.io/gcp --config storeEndpoint=…`: the command, JSON and text.
#[test]
fn the_command_probes_gcs_from_here() {
    let Some(emulator) = emulator() else { return };
    let tokens = TokenEndpoint::start();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, key: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, key_file(key, &tokens.token_uri())).unwrap();
        path
    };
    let run = |bucket: &str, credentials: &Path, format: &str| {
        Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(["probe", "--from-here", "--provider", "velero.io/gcp"])
            .args(["--bucket", bucket, "--prefix", "cluster-a"])
            .args([
                "--config",
                &format!("storeEndpoint={}", emulator.endpoint()),
            ])
            .arg("--credentials-file")
            .arg(credentials)
            .args(["--format", format])
            .output()
            .unwrap()
    };
    let good = file("good.json", "registered-key.pem");
    let ok = run("velero", &good, "json");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let result: ProbeResult = serde_json::from_slice(&ok.stdout).unwrap();
    all_passed(&result);
    assert_eq!(result.location.provider, "velero.io/gcp");

    let refused = run(
        "velero",
        &file("wrong.json", "unregistered-key.pem"),
        "text",
    );
    assert_eq!(refused.status.code(), Some(1));
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(
        text.starts_with("Probe of gs://velero/cluster-a/")
            && text.contains("FAIL list prefix")
            && text.contains("Invalid JWT Signature.")
            && text.contains("Reproduced: SD211"),
        "{text}"
    );
    // Neither the key nor a token reaches the output.
    for output in [&ok, &refused] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !all.contains("PRIVATE KEY") && !all.contains("ya29"),
            "{all}"
        );
    }

    let missing = run("velero-typo", &good, "text");
    assert_eq!(missing.status.code(), Some(1));
    let text = String::from_utf8_lossy(&missing.stdout);
    assert!(text.contains("Reproduced: SD101"), "{text}");
    assert_eq!(
        emulator.objects("cluster-a/"),
        vec!["cluster-a/backups/b1/velero-backup.json".to_string()]
    );
}

/// The "healthy" scenario with its location "default" replaced by GCS locations at the emulator: per (name,
/// bucket, prefix, key), a BSL whose spec.credential names a secret of its own holding the service-account key.
fn gcs_scenario(
    emulator: &Emulator,
    tokens: &TokenEndpoint,
    locations: &[(&str, &str, &str, &str)],
) -> Scenario {
    let mut objects = Vec::new();
    for (name, bucket, prefix, key) in locations {
        objects.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": format!("gcp-{name}"), "namespace": "velero"},
            "data": {"cloud": base64::engine::general_purpose::STANDARD.encode(key_file(key, &tokens.token_uri()))},
        }));
        // The plugin's backupstoragelocation.md, with storeEndpoint at the emulator.
        objects.push(serde_json::json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero"},
            "spec": {
                "provider": "velero.io/gcp",
                "objectStorage": {"bucket": bucket, "prefix": prefix},
                "config": {"storeEndpoint": emulator.endpoint()},
                "credential": {"name": format!("gcp-{name}"), "key": "cloud"},
            },
        }));
    }
    scenario_with("tests/probe_gcs.rs", objects)
}

/// In-cluster: the lab plays the node for snapdoc's Job, running the agent with the secret the Job mounts (the
/// service-account key); the same faults with the same rules; nothing left in the lab or the bucket.
#[test]
fn in_cluster_probe_of_gcs_locations() {
    let Some(emulator) = emulator() else { return };
    let tokens = TokenEndpoint::start();
    let lab = BackgroundLab::start(gcs_scenario(
        &emulator,
        &tokens,
        &[
            ("gcp", "velero", "cluster-a", "registered-key.pem"),
            ("gcp-typo", "velero-typo", "cluster-a", "registered-key.pem"),
            ("gcp-foreign", "velero", "cluster-b", "registered-key.pem"),
            (
                "gcp-wrong-key",
                "velero",
                "cluster-a",
                "unregistered-key.pem",
            ),
        ],
    ));
    let ok = result_of(probe_bsl(&lab, "gcp"), 0);
    assert_eq!(ok.agent, "in-cluster");
    all_passed(&ok);
    nothing_left_in(&lab);
    assert_eq!(
        emulator.objects("cluster-a/"),
        vec!["cluster-a/backups/b1/velero-backup.json".to_string()]
    );

    let typo = result_of(probe_bsl(&lab, "gcp-typo"), 1);
    assert_reproduces(&typo, Step::List, "SD101", "notFound");
    let foreign = result_of(probe_bsl(&lab, "gcp-foreign"), 1);
    assert_reproduces(&foreign, Step::TopLevelDirs, "SD102", "");
    let wrong = result_of(probe_bsl(&lab, "gcp-wrong-key"), 1);
    assert_reproduces(&wrong, Step::List, "SD211", "invalid_grant");
    nothing_left_in(&lab);
    assert_eq!(
        emulator.objects("cluster-b/"),
        vec!["cluster-b/foreign/notes.txt".to_string()]
    );

    // The Job mounted the location's own secret where Velero writes it, and passed the config as --config.
    let args = dry_run_args(&lab, "gcp");
    assert!(
        args.iter().any(|a| a == "--provider=velero.io/gcp"),
        "{args:?}"
    );
    let endpoint = format!("--config=storeEndpoint={}", emulator.endpoint());
    assert!(args.contains(&endpoint), "{args:?}");
    assert!(
        args.iter()
            .any(|a| a == "--credentials-file=/tmp/credentials/velero/gcp-gcp-cloud"),
        "{args:?}"
    );
}

/// `check --probe`: a GCS location's failure in the JSON's probes and in the metrics, as S3's and Azure's are.
#[test]
fn check_probe_reports_a_gcs_failure_in_json_and_metrics() {
    let Some(emulator) = emulator() else { return };
    let tokens = TokenEndpoint::start();
    let lab = BackgroundLab::start(gcs_scenario(
        &emulator,
        &tokens,
        &[("default", "velero", "cluster-a", "unregistered-key.pem")],
    ));
    check_probe_reports(&lab, "velero.io/gcp", "SD211", "invalid_grant");
}

/// A proxy to the emulator on `upstream` that holds the read-back of the probe object for a minute, after saying
/// so through `reached`: a probe to interrupt. Returns the JSON API's base URL through it.
async fn stalling_proxy(upstream: u16, reached: Arc<tokio::sync::Notify>) -> String {
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let reached = reached.clone();
        async move {
            let method = request.method().to_string();
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            if method == "GET" && path.contains("snapdoc-probe-") {
                reached.notify_one();
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let (status, answer) =
                tokio::task::spawn_blocking(move || http(upstream, &method, &path, &body))
                    .await
                    .unwrap();
            (axum::http::StatusCode::from_u16(status).unwrap(), answer)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/storage/v1/")
}

/// Ctrl-C while the probe object exists (written, its read-back held by the proxy): the command ends with 130 at
/// once and deletes the object, so nothing of snapdoc's is left in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_removes_the_gcs_probe_object() {
    let Some(emulator) = emulator() else { return };
    let tokens = TokenEndpoint::start();
    let reached = Arc::new(tokio::sync::Notify::new());
    let endpoint = stalling_proxy(emulator.port, reached.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, key_file("registered-key.pem", &tokens.token_uri())).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["probe", "--from-here", "--provider", "gcp"])
        .args(["--bucket", "velero", "--prefix", "cluster-a"])
        .args(["--config", &format!("storeEndpoint={endpoint}")])
        .arg("--credentials-file")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(30), reached.notified())
        .await
        .expect("the probe reads its object back");
    assert_eq!(
        emulator.objects("cluster-a/backups/snapdoc-probe-").len(),
        1,
        "the probe object exists while its read-back is held"
    );
    interrupt_probe(child, "cluster-a/backups/snapdoc-probe-").await;
    assert_eq!(
        emulator.objects("cluster-a/"),
        vec!["cluster-a/backups/b1/velero-backup.json".to_string()]
    );
}
