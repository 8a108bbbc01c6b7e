//! `snapdoc probe` against a real S3 server: moto's server mode (PyPI `moto[server]`, installed by
//! scripts/install-test-deps), started by each test on a free loopback port with IAM authentication on
//! (tests/probe/moto_setup.py). Each fault is produced by the server itself where moto can (unknown key, wrong
//! secret, missing bucket, a user allowed to list but not to put, a foreign top-level directory), and by a small
//! proxy in front of it where moto cannot: moto accepts the flexible-checksum headers and never rejects a skewed
//! clock, and serves plain HTTP here. Every failure must carry the catalog rule whose log signature matches the
//! line Velero's AWS plugin would log for the same answer.
use std::convert::Infallible;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use snapdoc::analyze::{Matcher, RuleSet};
use snapdoc::lab::Scenario;
use snapdoc::probe::{Agent, Credentials, ProbeResult, S3Location, Status, Step, probe_s3};

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;
#[path = "support/probe_servers.rs"]
mod probe_servers;
use probe_servers::{
    Server, free_port, installed, interrupt_probe, job_pods, nothing_left_in, result_of,
    wait_listening,
};

/// A moto server, killed when dropped.
struct Moto {
    _server: Server,
    port: u16,
    /// user name → (access key, secret), from moto_setup.py.
    keys: serde_json::Value,
}

impl Moto {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `user`'s keys as an AWS credentials file in `dir`, the format of Velero's cloud-credentials.
    fn credentials_file(&self, dir: &Path, user: &str) -> std::path::PathBuf {
        let path = dir.join(format!("credentials-{user}"));
        let c = self.credentials(user);
        std::fs::write(
            &path,
            format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                c.access_key_id, c.secret_access_key
            ),
        )
        .unwrap();
        path
    }

    /// How many versions and delete markers `bucket` holds under `prefix` (boto3's ListObjectVersions).
    fn versions(&self, bucket: &str, prefix: &str) -> usize {
        let velero = self.credentials("velero");
        let script = "import boto3, sys\n\
            c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                             aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])\n\
            r = c.list_object_versions(Bucket=sys.argv[4], Prefix=sys.argv[5])\n\
            print(len(r.get('Versions', [])) + len(r.get('DeleteMarkers', [])))\n";
        let output = Command::new("python3")
            .args(["-c", script, &self.endpoint()])
            .args([
                &velero.access_key_id,
                &velero.secret_access_key,
                bucket,
                prefix,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    fn credentials(&self, user: &str) -> Credentials {
        Credentials {
            access_key_id: self.keys[user][0].as_str().unwrap().to_string(),
            secret_access_key: self.keys[user][1].as_str().unwrap().to_string(),
            session_token: None,
        }
    }
}

/// `snapdoc probe --from-here` of `bucket`/cluster-a at `endpoint` (path style) with `credentials`.
fn probe_from_here(endpoint: &str, bucket: &str, credentials: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapdoc"));
    command
        .args(["probe", "--from-here", "--bucket", bucket])
        .args(["--prefix", "cluster-a", "--s3-url", endpoint])
        .arg("--s3-force-path-style")
        .arg("--credentials-file")
        .arg(credentials);
    command
}

/// Starts and fills a moto server; `None` (and a loud note) when moto is not installed.
fn moto() -> Option<Moto> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe");
    if !installed(
        "python3",
        &["-c", "import moto.server, boto3, flask"],
        "moto[server]",
    ) {
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .arg(here.join("moto_server.py"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut moto = Moto {
        _server: Server(child),
        port,
        keys: serde_json::Value::Null,
    };
    wait_listening(port, "moto");
    let setup = Command::new("python3")
        .arg(here.join("moto_setup.py"))
        .arg(moto.endpoint())
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "moto_setup.py: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    moto.keys = serde_json::from_slice(&setup.stdout).unwrap();
    Some(moto)
}

fn location(endpoint: &str, bucket: &str, prefix: &str) -> S3Location {
    S3Location {
        provider: "aws".to_string(),
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        region: Some("us-east-1".to_string()),
        s3_url: Some(endpoint.to_string()),
        s3_force_path_style: true,
        ..S3Location::default()
    }
}

async fn probe(location: &S3Location, credentials: &Credentials) -> ProbeResult {
    probe_s3(location, credentials, Agent::FromHere)
        .await
        .unwrap()
}

/// The check of `step` failed with `rule`, the rule is in the catalog, and its log signature matches the line
/// velero-plugin-for-aws (aws-sdk-go-v2) logs for the same answer: "operation error S3: <op>, https response
/// error StatusCode: <status>, RequestID: , HostID: , api error <code>: <message>" (the SD101 and SD111 samples).
fn assert_reproduces(result: &ProbeResult, step: Step, rule: &str) {
    let check = result
        .check(step)
        .unwrap_or_else(|| panic!("no {step:?} check: {result:#?}"));
    assert_eq!(check.status, Status::Failed, "{result:#?}");
    assert_eq!(check.rule.as_deref(), Some(rule), "{result:#?}");
    assert!(!result.passed());
    let rules = RuleSet::builtin().unwrap();
    let catalog = rules
        .get(rule)
        .unwrap_or_else(|| panic!("{rule} is not in the catalog"));
    let line = match (&check.error_code, check.http_status) {
        (Some(_), Some(status)) => format!(
            "operation error S3: PutObject, https response error StatusCode: {status}, RequestID: , HostID: , api error {}",
            check.detail
        ),
        _ => check.detail.clone(),
    };
    if let Matcher::Log(log) = &catalog.matcher
        && check.step != Step::ClockSkew
        && check.step != Step::TopLevelDirs
    {
        assert!(
            log.regex().is_match(line.as_bytes()),
            "{rule}'s signature {:?} does not match the probe's {line:?}",
            log.pattern
        );
    }
}

fn all_passed(result: &ProbeResult) {
    let failed: Vec<_> = result
        .checks
        .iter()
        .filter(|c| c.status != Status::Passed)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The happy path, the probe object gone afterwards, and every fault moto itself produces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_s_own_faults_are_named_by_their_rules() {
    let Some(moto) = moto() else { return };
    let endpoint = moto.endpoint();
    let velero = moto.credentials("velero");

    let good = location(&endpoint, "velero", "cluster-a");
    let result = probe(&good, &velero).await;
    all_passed(&result);
    assert_eq!(
        result.top_level_dirs,
        ["cluster-a/backups/", "cluster-a/kopia/"]
    );
    assert!(
        result
            .probe_key
            .starts_with("cluster-a/backups/snapdoc-probe-")
    );
    assert_eq!(
        result.clock_skew_seconds.map(i64::abs).map(|s| s <= 2),
        Some(true)
    );
    assert!(result.round_trip_ms.is_some());
    assert_eq!(
        (result.versioning.as_deref(), result.object_lock),
        (Some("Disabled"), Some(false))
    );
    // Nothing left behind: no probe object in backups/, and a second probe lists only Velero's directories.
    assert_eq!(
        moto.versions("velero", "cluster-a/backups/snapdoc-probe-"),
        0
    );
    let again = probe(&good, &velero).await;
    assert_eq!(again.top_level_dirs, result.top_level_dirs);
    assert_ne!(again.probe_key, result.probe_key);

    // Object lock, so versioning: the probe deletes the versions it created, not only the current object.
    let locked = probe(&location(&endpoint, "velero-locked", "cluster-a"), &velero).await;
    all_passed(&locked);
    assert_eq!(
        (locked.versioning.as_deref(), locked.object_lock),
        (Some("Enabled"), Some(true))
    );
    assert_eq!(
        moto.versions("velero-locked", "cluster-a/backups/snapdoc-probe-"),
        0
    );

    // The other algorithms the plugin accepts (moto 5.2 stores the value without checking it: the values are
    // checked by the unit test in src/probe/agent.rs); and one the plugin refuses.
    for algorithm in ["CRC32C", "SHA1", "SHA256"] {
        let mut store = good.clone();
        store.checksum_algorithm = Some(algorithm.to_string());
        let result = probe(&store, &velero).await;
        all_passed(&result);
        let detail = &result.check(Step::PutWithChecksum).unwrap().detail;
        assert!(detail.ends_with(algorithm), "{detail}");
    }
    let mut store = good.clone();
    store.checksum_algorithm = Some("crc32".to_string());
    let result = probe(&store, &velero).await;
    let check = result.check(Step::PutWithChecksum).unwrap();
    assert_eq!(
        (check.status, check.rule.as_deref()),
        (Status::Failed, None)
    );
    assert!(
        check.detail.contains("invalid checksum algorithm"),
        "{check:?}"
    );

    // A key the store does not know, and a known key with the wrong secret.
    let unknown = Credentials {
        access_key_id: "AKIAUNKNOWNKEY000000".to_string(),
        ..velero.clone()
    };
    let result = probe(&good, &unknown).await;
    assert_reproduces(&result, Step::List, "SD201");
    assert_eq!(result.check(Step::Put).unwrap().status, Status::Skipped);
    let wrong_secret = Credentials {
        secret_access_key: "not-the-secret".to_string(),
        ..velero.clone()
    };
    assert_reproduces(&probe(&good, &wrong_secret).await, Step::List, "SD202");

    // A bucket that does not exist.
    let missing = location(&endpoint, "velero-backups-typo", "cluster-a");
    assert_reproduces(&probe(&missing, &velero).await, Step::List, "SD101");

    // Listing allowed, writing denied: Velero shows the location Available, every backup fails.
    let result = probe(&good, &moto.credentials("lister")).await;
    assert_eq!(result.check(Step::List).unwrap().status, Status::Passed);
    assert_reproduces(&result, Step::Put, "SD203");

    // A directory Velero does not own under the prefix: Velero's IsValid fails.
    let result = probe(&location(&endpoint, "velero", "cluster-b"), &velero).await;
    assert_reproduces(&result, Step::TopLevelDirs, "SD102");
    assert!(
        result
            .check(Step::TopLevelDirs)
            .unwrap()
            .detail
            .contains("old-app-dumps"),
        "{result:#?}"
    );
    assert_eq!(result.check(Step::Put).unwrap().status, Status::Passed);
}

/// What the proxy does besides forwarding.
#[derive(Clone)]
enum Fault {
    None,
    /// Holds the read-back of the probe object for a minute, after saying so: a probe to interrupt.
    StallReadBack(Arc<tokio::sync::Notify>),
    /// Answers a PutObject carrying x-amz-sdk-checksum-algorithm as Backblaze B2 did (velero#7534).
    RejectChecksum,
    /// Rewrites the Date header: a store whose clock is this many seconds ahead.
    ShiftDate(i64),
}

/// B2's answer to velero-plugin-for-aws 1.9.1's PutObject, as velero#7534 logs it ("api error InvalidArgument:
/// Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.", HTTP 400); the XML envelope
/// is S3's error format.
const B2_CHECKSUM_REJECTION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidArgument</Code>\
<Message>Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.</Message></Error>";

/// A forwarding proxy to moto on `upstream`, with `fault`, over TLS when `tls` is given. Returns its port.
async fn proxy(upstream: u16, fault: Fault, tls: Option<tokio_rustls::TlsAcceptor>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let client = client.clone();
            let tls = tls.clone();
            let fault = fault.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    forward(client.clone(), upstream, fault.clone(), request)
                });
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    port
}

async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: u16,
    fault: Fault,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if matches!(fault, Fault::RejectChecksum)
        && request
            .headers()
            .contains_key("x-amz-sdk-checksum-algorithm")
    {
        return Ok(Response::builder()
            .status(400)
            .header("content-type", "application/xml")
            .body(Full::new(Bytes::from_static(
                B2_CHECKSUM_REJECTION.as_bytes(),
            )))
            .unwrap());
    }
    if let Fault::StallReadBack(reached) = &fault
        && request.method() == hyper::Method::GET
        && request.uri().path().contains("/snapdoc-probe-")
    {
        reached.notify_one();
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    // The Host header goes through unchanged: moto checks the signature the client computed over it.
    let mut forwarded = Request::builder()
        .method(parts.method)
        .uri(format!("http://127.0.0.1:{upstream}{path}"));
    for (name, value) in &parts.headers {
        forwarded = forwarded.header(name, value);
    }
    let response = client
        .request(forwarded.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    if let Fault::ShiftDate(seconds) = fault {
        let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&ahead)
            .unwrap();
        parts
            .headers
            .insert(http::header::DATE, date.parse().unwrap());
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// A certificate for 127.0.0.1 from a CA of its own (a self-signed MinIO's situation): the acceptor and the CA's
/// PEM.
fn private_ca_tls() -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    )
}

/// The faults moto cannot produce, made by a proxy in front of it: a store that rejects the checksum headers,
/// a store whose clock is 20 minutes ahead, a certificate from a CA the location does not trust.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxied_faults_are_named_by_their_rules() {
    let Some(moto) = moto() else { return };
    let velero = moto.credentials("velero");

    let rejecting = proxy(moto.port, Fault::RejectChecksum, None).await;
    let mut store = location(
        &format!("http://127.0.0.1:{rejecting}"),
        "velero",
        "cluster-a",
    );
    let result = probe(&store, &velero).await;
    // Listing and plain writes work: the location looks Available, yet every plugin 1.9.1+ upload fails.
    assert_eq!(result.check(Step::Put).unwrap().status, Status::Passed);
    assert_eq!(result.check(Step::Delete).unwrap().status, Status::Passed);
    assert_reproduces(&result, Step::PutWithChecksum, "SD111");
    assert_eq!(
        result
            .check(Step::PutWithChecksum)
            .unwrap()
            .error_code
            .as_deref(),
        Some("InvalidArgument")
    );
    // The fix SD111 gives (checksumAlgorithm: ""): the plugin sends no checksum, and the probe says so.
    store.checksum_algorithm = Some(String::new());
    let fixed = probe(&store, &velero).await;
    assert!(fixed.passed(), "{fixed:#?}");
    assert_eq!(
        fixed.check(Step::PutWithChecksum).unwrap().status,
        Status::Skipped
    );

    let skewed = proxy(moto.port, Fault::ShiftDate(20 * 60), None).await;
    let result = probe(
        &location(&format!("http://127.0.0.1:{skewed}"), "velero", "cluster-a"),
        &velero,
    )
    .await;
    assert_reproduces(&result, Step::ClockSkew, "SD210");
    let skew = result.clock_skew_seconds.unwrap();
    assert!((1195..=1205).contains(&skew), "{skew}");

    let plain = proxy(moto.port, Fault::None, None).await;
    all_passed(
        &probe(
            &location(&format!("http://127.0.0.1:{plain}"), "velero", "cluster-a"),
            &velero,
        )
        .await,
    );

    let (acceptor, ca_pem) = private_ca_tls();
    let tls = proxy(moto.port, Fault::None, Some(acceptor)).await;
    let mut store = location(&format!("https://127.0.0.1:{tls}"), "velero", "cluster-a");
    let result = probe(&store, &velero).await;
    assert_reproduces(&result, Step::List, "SD206");
    assert_eq!(
        result.check(Step::List).unwrap().detail,
        "x509: certificate signed by unknown authority"
    );
    // The location's caCert makes it trusted; insecureSkipTLSVerify skips the check (as Velero does).
    store.ca_cert = Some(ca_pem.into_bytes());
    all_passed(&probe(&store, &velero).await);
    store.ca_cert = None;
    store.insecure_skip_tls_verify = true;
    all_passed(&probe(&store, &velero).await);
}

/// The ids the probe names are all in the catalog.
#[test]
fn every_rule_the_probe_names_is_in_the_catalog() {
    let rules = RuleSet::builtin().unwrap();
    for id in snapdoc::probe::rule_ids() {
        assert!(rules.get(id).is_some(), "{id} is not in the catalog");
    }
}

/// The command: credentials from an AWS credentials file, the JSON result, exit 1 on a failed check.
#[test]
fn the_command_probes_from_here_with_a_credentials_file() {
    let Some(moto) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = |user: &str, format: &str| {
        probe_from_here(
            &moto.endpoint(),
            "velero",
            &moto.credentials_file(dir.path(), user),
        )
        .args(["--format", format])
        .output()
        .unwrap()
    };
    let result = result_of(&run("velero", "json"), 0);
    all_passed(&result);
    assert_eq!(result.agent, "from-here");

    let denied = run("lister", "text");
    assert_eq!(denied.status.code(), Some(1));
    let text = String::from_utf8_lossy(&denied.stdout);
    assert!(
        text.contains("FAIL put object") && text.contains("[SD203]"),
        "{text}"
    );
    assert!(text.contains("Reproduced: SD203"), "{text}");

    // The in-cluster agent's arguments, as the Job passes them (only the credentials file is local): one JSON
    // line, agent "in-cluster".
    let agent_args = snapdoc::probe::agent_args(
        &snapdoc::probe::Location::S3(location(&moto.endpoint(), "velero", "cluster-a")),
        None,
        moto.credentials_file(dir.path(), "velero")
            .to_str()
            .unwrap(),
    );
    let agent = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(&agent_args)
        .output()
        .unwrap();
    let result = result_of(&agent, 0);
    assert_eq!(
        agent.stdout.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line"
    );
    assert_eq!(result.agent, "in-cluster");
    all_passed(&result);

    // --bsl: bucket, prefix and region from the lab's BackupStorageLocation "default" (bucket
    // acme-myapp-snapshots, which moto does not have), the endpoint overridden with one reachable from here.
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let from_bsl = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args([
            "probe",
            "--from-here",
            "--bsl",
            "default",
            "--format",
            "json",
        ])
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(["--s3-url", &moto.endpoint(), "--s3-force-path-style"])
        .arg("--credentials-file")
        .arg(moto.credentials_file(dir.path(), "velero"))
        .output()
        .unwrap();
    let result = result_of(&from_bsl, 1);
    assert_eq!(
        (
            result.location.bucket.as_str(),
            result.location.prefix.as_str(),
            result.location.region.as_str()
        ),
        ("acme-myapp-snapshots", "prod/", "us-east-2")
    );
    assert_reproduces(&result, Step::List, "SD101");

    let missing = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["probe", "--from-here", "--bucket", "velero"])
        .arg("--credentials-file")
        .arg(dir.path().join("absent"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("credentials file") && stderr.contains("absent"),
        "{stderr}"
    );
}

/// One (apiGroup, resource, verb) per grant of a Role's rules.
fn grants(rules: &serde_json::Value) -> std::collections::BTreeSet<(String, String, String)> {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut out = std::collections::BTreeSet::new();
    for rule in rules.as_array().unwrap() {
        assert!(rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none());
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    out.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    out
}

/// The shipped Role and the one docs/rbac.md shows grant exactly what the in-cluster flow does with the API
/// (snapdoc::probe::PROBE_ACCESS), in Velero's namespace, and nothing on secrets.
#[test]
fn the_probe_role_grants_exactly_what_the_job_flow_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("deploy/manifests/snapdoc-probe-role.yaml")).unwrap();
    let role: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let typed: k8s_openapi::api::rbac::v1::Role = serde_json::from_value(role.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        role,
        "a field the Role type does not know"
    );
    assert_eq!(role["metadata"]["namespace"], "velero");
    let needed: std::collections::BTreeSet<(String, String, String)> = snapdoc::probe::PROBE_ACCESS
        .iter()
        .flat_map(|(group, resource, verbs)| {
            verbs
                .iter()
                .map(|verb| (group.to_string(), resource.to_string(), verb.to_string()))
        })
        .collect();
    assert_eq!(grants(&role["rules"]), needed);

    let docs = std::fs::read_to_string(root.join("docs/rbac.md")).unwrap();
    let section = &docs[docs
        .find("## The probe")
        .expect("docs/rbac.md has a probe section")..];
    let block = section
        .split("```yaml")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let shown: serde_json::Value = serde_saphyr::from_str(block).unwrap();
    assert_eq!(
        grants(&shown["rules"]),
        needed,
        "docs/rbac.md shows other rules"
    );
}

/// `--dry-run --bsl default` against the lab: the Job in Velero's namespace, snapdoc's image, the server's
/// cloud-credentials mounted where Velero mounts them, the location's config as arguments the agent accepts.
#[test]
fn dry_run_prints_the_job_that_would_probe_the_location() {
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["probe", "--dry-run", "--bsl", "default"])
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let job: serde_json::Value =
        serde_saphyr::from_str(std::str::from_utf8(&output.stdout).unwrap()).unwrap();
    let typed: k8s_openapi::api::batch::v1::Job = serde_json::from_value(job.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        job,
        "a field the Job type does not know"
    );
    assert_eq!(job["metadata"]["namespace"], "velero");
    assert!(
        job["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("snapdoc-probe-default-")
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "cloud-credentials"
    );
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        concat!("snapdoc:", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/credentials");
    let args: Vec<std::ffi::OsString> = std::iter::once("snapdoc".into())
        .chain(
            container["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().into()),
        )
        .collect();
    let snapdoc::cli::Command::Probe(probe) = snapdoc::cli::parse_from(args).command else {
        panic!("the Job's args are not a probe command: {container}");
    };
    assert!(probe.agent && !probe.from_here && !probe.dry_run);
    assert_eq!(
        (
            probe.bucket.as_deref(),
            probe.prefix.as_deref(),
            probe.region.as_deref()
        ),
        (
            Some("acme-myapp-snapshots"),
            Some("prod"),
            Some("us-east-2")
        )
    );
    assert_eq!(
        probe.credentials_file.as_deref(),
        Some(Path::new("/credentials/cloud"))
    );
}

/// Ctrl-C while the probe object exists (written, its read-back held by the proxy): the command ends with 130 at
/// once and deletes the object, so nothing of snapdoc's is left in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_removes_the_probe_object() {
    let Some(moto) = moto() else { return };
    let reached = Arc::new(tokio::sync::Notify::new());
    let stalling = proxy(moto.port, Fault::StallReadBack(reached.clone()), None).await;
    let dir = tempfile::tempdir().unwrap();
    let credentials = moto.credentials_file(dir.path(), "velero");
    let velero = moto.credentials("velero");
    // The second bucket is versioned: the interrupted probe's versions must go too.
    for bucket in ["velero", "velero-locked"] {
        let child = probe_from_here(
            &format!("http://127.0.0.1:{stalling}"),
            bucket,
            &credentials,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        tokio::time::timeout(Duration::from_secs(30), reached.notified())
            .await
            .expect("the probe reads its object back");
        interrupt_probe(child, "cluster-a/backups/snapdoc-probe-").await;
        let after = probe(&location(&moto.endpoint(), bucket, "cluster-a"), &velero).await;
        assert!(
            !after
                .top_level_dirs
                .iter()
                .any(|d| d.contains("snapdoc-probe")),
            "{after:#?}"
        );
        assert_eq!(
            moto.versions(bucket, "cluster-a/backups/snapdoc-probe-"),
            0,
            "{bucket}"
        );
    }
}

/// The "healthy" scenario plus, per (name, bucket, endpoint, credentials), a BackupStorageLocation in velero at
/// that endpoint whose spec.credential names a secret of its own holding `credentials` as an AWS credentials file.
fn scenario_with_locations(locations: &[(&str, &str, String, Credentials)]) -> Scenario {
    use base64::Engine as _;
    let mut scenario = Scenario::builtin("healthy").unwrap();
    for (name, bucket, endpoint, credentials) in locations {
        let file = format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            credentials.access_key_id, credentials.secret_access_key
        );
        let secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": format!("probe-{name}"), "namespace": "velero"},
            "data": {"cloud": base64::engine::general_purpose::STANDARD.encode(file)},
        });
        let bsl = serde_json::json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero"},
            "spec": {
                "provider": "aws",
                "objectStorage": {"bucket": bucket, "prefix": "cluster-a"},
                "config": {"region": "us-east-1", "s3Url": endpoint, "s3ForcePathStyle": "true"},
                "credential": {"name": format!("probe-{name}"), "key": "cloud"},
            },
        });
        for value in [secret, bsl] {
            scenario.objects.push(snapdoc::lab::ScenarioObject {
                file: "composed by tests/probe.rs".to_string(),
                line: 1,
                value,
            });
        }
    }
    scenario
}

/// `snapdoc probe --bsl NAME` (in-cluster) against `lab`, with `extra` arguments.
fn probe_in_cluster(lab: &BackgroundLab, bsl: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapdoc"));
    command
        .args(["probe", "--bsl", bsl, "--format", "json"])
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(extra);
    command
}

/// A proxy to moto that holds the read-back of the probe object (notifying `reached`), on a runtime of its own
/// that the caller keeps: (runtime, reached, port).
fn stalling_proxy(moto: &Moto) -> (tokio::runtime::Runtime, Arc<tokio::sync::Notify>, u16) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reached = Arc::new(tokio::sync::Notify::new());
    let port = runtime.block_on(proxy(
        moto.port,
        Fault::StallReadBack(reached.clone()),
        None,
    ));
    (runtime, reached, port)
}

/// Starts `command` and returns once the in-cluster agent it set off is held in its read-back by the stalling
/// proxy (which notifies `reached`), its probe object written.
fn spawn_until_stalled(
    mut command: Command,
    runtime: &tokio::runtime::Runtime,
    reached: &tokio::sync::Notify,
) -> std::process::Child {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), reached.notified()).await })
        .expect("the agent reads its object back");
    child
}

/// Sends `signal` (INT, TERM) to `child` and waits for it to exit with `code`.
fn stop_with(child: std::process::Child, signal: &str, code: i32) -> std::process::Output {
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    output
}

/// The in-cluster agent, stopped by its pod's deletion (a 50 ms poll, then a DELETE to moto), removes its object
/// from the bucket "velero" within seconds.
fn no_probe_object_left(moto: &Moto) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = moto.versions("velero", "cluster-a/backups/snapdoc-probe-");
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} probe object(s) left");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The in-cluster flow: the lab plays the node for snapdoc's Job, running the agent in-process with the secret
/// the Job mounts; each fault the from-here test covers is found with the same rule; the Job and its pod are
/// gone afterwards; snapdoc used only the probe Role's verbs and never read a secret.
#[test]
fn in_cluster_probe_runs_a_job_and_finds_each_fault() {
    let Some(moto) = moto() else { return };
    let endpoint = moto.endpoint();
    let velero = moto.credentials("velero");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rejecting = runtime.block_on(proxy(moto.port, Fault::RejectChecksum, None));
    let wrong_secret = Credentials {
        secret_access_key: "not-the-secret".to_string(),
        ..velero.clone()
    };
    let lab = BackgroundLab::start(scenario_with_locations(&[
        ("moto", "velero", endpoint.clone(), velero.clone()),
        (
            "typo",
            "velero-backups-typo",
            endpoint.clone(),
            velero.clone(),
        ),
        (
            "lister",
            "velero",
            endpoint.clone(),
            moto.credentials("lister"),
        ),
        ("wrong-secret", "velero", endpoint.clone(), wrong_secret),
        (
            "b2",
            "velero",
            format!("http://127.0.0.1:{rejecting}"),
            velero.clone(),
        ),
    ]));

    let result = result_of(&probe_in_cluster(&lab, "moto", &[]).output().unwrap(), 0);
    all_passed(&result);
    assert_eq!(result.agent, "in-cluster");
    assert_eq!(
        result.top_level_dirs,
        ["cluster-a/backups/", "cluster-a/kopia/"]
    );
    nothing_left_in(&lab);

    // "default" mounts the server's cloud-credentials, whose key moto does not know.
    let unknown_key = probe_in_cluster(&lab, "default", &["--s3-url", &endpoint])
        .arg("--s3-force-path-style")
        .output()
        .unwrap();
    assert_reproduces(&result_of(&unknown_key, 1), Step::List, "SD201");
    for (bsl, step, rule) in [
        ("wrong-secret", Step::List, "SD202"),
        ("typo", Step::List, "SD101"),
        ("lister", Step::Put, "SD203"),
        ("b2", Step::PutWithChecksum, "SD111"),
    ] {
        let output = probe_in_cluster(&lab, bsl, &[]).output().unwrap();
        let result = result_of(&output, 1);
        assert_eq!(result.agent, "in-cluster", "{bsl}");
        assert_reproduces(&result, step, rule);
        nothing_left_in(&lab);
    }
    // The probe object of every run is gone from the bucket.
    let after = runtime.block_on(probe(&location(&endpoint, "velero", "cluster-a"), &velero));
    assert_eq!(after.top_level_dirs, result.top_level_dirs);

    // Beyond reading the location (the reader roles), only the probe Role's verbs, and no secret read.
    let log = lab.lab().request_log();
    assert!(
        log.iter().all(|r| !r.reads_secret_data()),
        "a secret was read"
    );
    let mut used = std::collections::BTreeSet::new();
    for record in log.iter().filter(|r| r.path.starts_with("/api")) {
        let segments: Vec<&str> = record.path.split('/').collect();
        let Some(at) = segments.iter().position(|s| *s == "namespaces") else {
            continue;
        };
        let resource = segments[at + 2..]
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
            .join("/");
        if resource != "backupstoragelocations" {
            used.insert((resource, record.verb()));
        }
    }
    let granted: std::collections::BTreeSet<(String, &str)> = snapdoc::probe::PROBE_ACCESS
        .iter()
        .flat_map(|(_, resource, verbs)| verbs.iter().map(|v| (resource.to_string(), *v)))
        .collect();
    assert!(used.is_subset(&granted), "{used:?} ⊄ {granted:?}");
    assert!(
        used.contains(&("jobs".to_string(), "create"))
            && used.contains(&("jobs".to_string(), "delete"))
    );
}

/// SIGINT while the in-cluster agent holds its probe object (the read-back stalled by the proxy): snapdoc ends
/// with 130, deletes the Job with its pod, and the agent, stopped by its pod's deletion, deletes the object.
#[test]
fn ctrl_c_removes_the_probe_job_and_its_object() {
    let Some(moto) = moto() else { return };
    let velero = moto.credentials("velero");
    let (runtime, reached, stalling) = stalling_proxy(&moto);
    let lab = BackgroundLab::start(scenario_with_locations(&[(
        "stalled",
        "velero",
        format!("http://127.0.0.1:{stalling}"),
        velero.clone(),
    )]));
    let child = spawn_until_stalled(probe_in_cluster(&lab, "stalled", &[]), &runtime, &reached);
    assert_eq!(lab.lab().objects("jobs.batch").len(), 1);
    assert_eq!(
        moto.versions("velero", "cluster-a/backups/snapdoc-probe-"),
        1,
        "the probe object exists while the agent runs"
    );
    let started = Instant::now();
    let output = stop_with(child, "INT", 130);
    assert!(started.elapsed() < Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("probe Job velero/snapdoc-probe-stalled-") && stderr.contains("deleted"),
        "{stderr}"
    );
    nothing_left_in(&lab);
    no_probe_object_left(&moto);
}

/// The healthy scenario with its one location "default" (AWS itself, unreachable from a test) replaced by one
/// at `endpoint` in `bucket`.
fn only_location(bucket: &str, endpoint: String, credentials: Credentials) -> Scenario {
    let mut scenario = scenario_with_locations(&[("default", bucket, endpoint, credentials)]);
    let scenario_s_own = scenario
        .objects
        .iter()
        .position(|o| o.kind() == "BackupStorageLocation" && o.name() == "default")
        .unwrap();
    scenario.objects.remove(scenario_s_own);
    scenario
}

/// `snapdoc run --probe` against `lab`, its folder made under `out`.
fn run_probe(lab: &BackgroundLab, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapdoc"));
    command
        .args(["run", "--probe", "--kubeconfig"])
        .arg(lab.kubeconfig())
        .arg("--out-dir")
        .arg(out);
    command
}

/// `snapdoc run --probe`: each storage location probed in-cluster and the result in the reports it writes. The
/// scenario's own location (AWS itself, unreachable from a test) is replaced by one at moto whose bucket is
/// missing.
#[test]
fn run_probe_puts_each_location_s_probe_in_the_reports() {
    let Some(moto) = moto() else { return };
    let lab = BackgroundLab::start(only_location(
        "velero-backups-typo",
        moto.endpoint(),
        moto.credentials("velero"),
    ));
    let out = tempfile::tempdir().unwrap();
    let output = run_probe(&lab, out.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reproduced = "the probe reproduced NoSuchBucket on list prefix (SD101)";
    assert!(stdout.contains(reproduced), "{stdout}\n{stderr}");
    let folder = std::fs::read_dir(out.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let md = std::fs::read_to_string(folder.join("report.md")).unwrap();
    assert!(
        md.contains("## Storage probe") && md.contains(reproduced),
        "{md}"
    );
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains(reproduced));
    nothing_left_in(&lab);
}

/// `snapdoc probe --bsl default` against `lab`, expected to fail at once because the Job's pod cannot start: the
/// error it prints, after checking it came well before the Job's deadline and left nothing behind.
fn probe_fails_at_once(lab: &BackgroundLab, extra: &[&str]) -> String {
    let started = Instant::now();
    let output = probe_in_cluster(lab, "default", extra).output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    nothing_left_in(lab);
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A location whose credential secret does not exist: the pod cannot mount it and stays ContainerCreating, the
/// lab's node says why in a FailedMount event, and the probe ends at once with that reason, its Job deleted.
#[test]
fn a_secret_that_cannot_be_mounted_ends_the_probe_at_once() {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    scenario
        .objects
        .retain(|o| o.kind() != "Secret" || o.name() != "cloud-credentials");
    let lab = BackgroundLab::start(scenario);
    let stderr = probe_fails_at_once(&lab, &[]);
    assert!(
        stderr.contains(
            "cannot start: a volume cannot be mounted (FailedMount): MountVolume.SetUp failed for volume \
             \"credentials\" : secret \"cloud-credentials\" not found"
        ),
        "{stderr}"
    );
}

/// A probe Role from before events were listed: the same unmountable secret gives no early reason, and the flow
/// waits as it used to (rather than failing on the refused list) until SIGTERM ends it and removes the Job.
#[test]
fn without_events_the_wait_goes_on_until_stopped() {
    let mut scenario = Scenario::builtin("healthy").unwrap();
    scenario
        .objects
        .retain(|o| o.kind() != "Secret" || o.name() != "cloud-credentials");
    scenario.faults.forbidden.push(snapdoc::lab::Forbidden {
        resource: "events".to_string(),
        verbs: vec!["list".to_string()],
    });
    let lab = BackgroundLab::start(scenario);
    let mut child = probe_in_cluster(&lab, "default", &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while job_pods(&lab).is_empty() {
        assert!(Instant::now() < deadline, "no pod");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(child.try_wait().unwrap().is_none(), "the probe ended early");
    let refused = lab
        .lab()
        .request_log()
        .iter()
        .any(|r| r.path.contains("/events") && r.status == 403);
    assert!(refused, "the flow asked for the pod's events");
    stop_with(child, "TERM", 143);
    nothing_left_in(&lab);
}

/// An image the node cannot pull (the lab fails any reference containing `does-not-exist`): the probe ends at
/// once with the container's ErrImagePull and the runtime's error, its Job deleted.
#[test]
fn an_image_that_cannot_be_pulled_ends_the_probe_at_once() {
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let stderr = probe_fails_at_once(
        &lab,
        &["--image", "registry.example/snapdoc:does-not-exist"],
    );
    assert!(
        stderr.contains(
            "cannot start: container probe is waiting: ErrImagePull: rpc error: code = NotFound desc = failed to \
             pull and unpack image \"registry.example/snapdoc:does-not-exist\""
        ),
        "{stderr}"
    );
}

/// A Job whose pod nobody creates (the lab's node runs only snapdoc's image): no reason to stop early, so the
/// flow waits; SIGTERM ends the wait with 143 and removes the Job.
#[test]
fn sigterm_while_the_pod_does_not_start_removes_the_job() {
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let child = probe_in_cluster(&lab, "default", &["--image", "velero/velero:v1.16.0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab.lab().objects("jobs.batch").is_empty() {
        assert!(Instant::now() < deadline, "no Job created");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A few polls of the Job, none of which finds a reason to stop.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lab.lab().objects("jobs.batch").len(), 1);
    stop_with(child, "TERM", 143);
    nothing_left_in(&lab);
}

/// `run --probe` interrupted while a location's probe runs (its read-back stalled): the run's whole future is
/// dropped on SIGINT, and dropping the flow deletes its Job with the pod, whose agent then deletes its object.
#[test]
fn ctrl_c_during_run_probe_leaves_no_job() {
    let Some(moto) = moto() else { return };
    let (runtime, reached, stalling) = stalling_proxy(&moto);
    let lab = BackgroundLab::start(only_location(
        "velero",
        format!("http://127.0.0.1:{stalling}"),
        moto.credentials("velero"),
    ));
    let out = tempfile::tempdir().unwrap();
    let child = spawn_until_stalled(run_probe(&lab, out.path()), &runtime, &reached);
    assert_eq!(lab.lab().objects("jobs.batch").len(), 1);
    stop_with(child, "INT", 130);
    nothing_left_in(&lab);
    no_probe_object_left(&moto);
}
