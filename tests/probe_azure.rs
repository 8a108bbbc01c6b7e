//! `snapdoc probe` against a real Azure Blob API: Azurite's blob service (npm `azurite`, installed by
//! scripts/install-test-deps), started by each test on a free loopback port, in memory, with its well-known
//! development account. Each fault is Azurite's own answer: a wrong account key, a missing container
//! (ContainerNotFound), a directory Velero does not own. Azurite answers a signature made with the wrong key
//! AuthorizationFailure ("Server failed to authenticate the request. …"), where Azure itself answers
//! AuthenticationFailed with the same message; both are SD207's. tests/probe/azurite_setup.js fills the account
//! with a Shared Key signer of its own, so the probe's signer is tested against Azurite, not against itself.
//! From here (the library and the command) and in-cluster (the lab plays the node for snapdoc's Job), and through
//! `check --probe` into the JSON and the metrics.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use snapdoc::lab::Scenario;
use snapdoc::probe::{
    Agent, AzureCredentials, AzureLocation, Location, ProbeError, ProbeResult, Status, Step,
    StoreCredentials, probe,
};

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;
#[path = "support/probe_servers.rs"]
mod probe_servers;
use probe_servers::{Server, free_port, installed, nothing_left_in, wait_listening};
#[path = "support/probe_checks.rs"]
mod probe_checks;
use probe_checks::{
    all_passed, assert_reproduces, check_probe_reports, dry_run_args,
    missing_bucket_and_foreign_dir, probe_bsl, result_of, scenario_with,
};

/// Azurite's development account and key (its README, "Default Storage Account").
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Azurite's code for a Shared Key signature made with the wrong key (Azure's is AuthenticationFailed).
const WRONG_KEY_CODE: &str = "AuthorizationFailure";
/// The credentials file's key that config.storageAccountKeyEnvVar names, as in the plugin's README.
const KEY_VAR: &str = "AZURE_STORAGE_ACCOUNT_ACCESS_KEY";

/// An Azurite blob service, killed when dropped.
struct Azurite {
    _server: Server,
    port: u16,
    _workspace: tempfile::TempDir,
}

impl Azurite {
    /// The account's URL: config.storageAccountURI for an emulator.
    fn account_uri(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// How many blobs `container` holds under `prefix`.
    fn blobs(&self, container: &str, prefix: &str) -> usize {
        let output = setup_script(&self.account_uri(), &["count", container, prefix]);
        String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

fn setup_script(endpoint: &str, args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe/azurite_setup.js");
    let output = Command::new("node")
        .arg(script)
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "azurite_setup.js {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Starts and fills Azurite; `None` (and a loud note) when it is not installed.
fn azurite() -> Option<Azurite> {
    if !installed("azurite-blob", &["--version"], "azurite") {
        return None;
    }
    let workspace = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("azurite-blob")
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        // In memory: nothing to clean up; the workspace is only the current directory (its debug log, if any).
        .args(["--inMemoryPersistence", "--silent", "--disableTelemetry"])
        .current_dir(workspace.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let azurite = Azurite {
        _server: Server(child),
        port,
        _workspace: workspace,
    };
    wait_listening(port, "azurite");
    setup_script(&azurite.account_uri(), &["setup"]);
    Some(azurite)
}

/// The container's location with Shared Key auth, as a BSL of the plugin's README would set it for Azurite.
fn location(azurite: &Azurite, container: &str, prefix: &str) -> Location {
    Location::Azure(AzureLocation {
        provider: "azure".into(),
        container: container.into(),
        prefix: prefix.into(),
        storage_account: ACCOUNT.into(),
        storage_account_key_env_var: Some(KEY_VAR.into()),
        storage_account_uri: Some(azurite.account_uri()),
        ..AzureLocation::default()
    })
}

/// The plugin's credentials file with `key` under [`KEY_VAR`].
fn credentials_text(key: &str) -> String {
    format!("AZURE_CLOUD_NAME=AzurePublicCloud\n{KEY_VAR}={key}\n")
}

fn credentials(key: &str) -> StoreCredentials {
    location_kind()
        .read_credentials(&credentials_text(key), None)
        .unwrap()
}

/// Any Azure location: the credentials format is the provider's.
fn location_kind() -> Location {
    Location::Azure(AzureLocation::default())
}

/// A key of the right shape that is not the account's.
fn wrong_key() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([7u8; 64])
}

/// From here, the library: the success path leaves nothing behind; a wrong key is SD207,
/// a missing container ContainerNotFound (SD101), a foreign directory SD102; Azure AD is refused by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azurite_s_own_faults_are_named_by_their_rules() {
    let Some(azurite) = azurite() else { return };
    let good = credentials(KEY);

    let result = probe(
        &location(&azurite, "velero", "cluster-a"),
        &good,
        Agent::FromHere,
    )
    .await
    .unwrap();
    all_passed(&result);
    assert!(
        result
            .probe_key
            .starts_with("cluster-a/backups/snapdoc-probe-")
    );
    assert_eq!(result.location.endpoint, azurite.account_uri());
    assert!(result.clock_skew_seconds.is_some_and(|s| s.abs() < 60));
    assert_eq!(
        azurite.blobs("velero", "cluster-a/"),
        0,
        "the probe blob is gone"
    );
    // The JSON has no region for Azure (the report schema's location.region is S3's).
    let json = serde_json::to_value(&result).unwrap();
    assert!(json["location"].get("region").is_none(), "{json:#}");

    let wrong = probe(
        &location(&azurite, "velero", "cluster-a"),
        &credentials(&wrong_key()),
        Agent::FromHere,
    )
    .await
    .unwrap();
    assert_reproduces(&wrong, Step::List, "SD207", WRONG_KEY_CODE);
    assert_eq!(
        wrong.check(Step::Put).map(|c| c.status),
        Some(Status::Skipped)
    );

    missing_bucket_and_foreign_dir(
        |bucket, prefix| location(&azurite, bucket, prefix),
        &good,
        "ContainerNotFound",
    )
    .await;
    assert_eq!(
        azurite.blobs("velero", "cluster-b/backups/snapdoc-probe-"),
        0
    );

    let Location::Azure(mut aad) = location(&azurite, "velero", "cluster-a") else {
        unreachable!()
    };
    aad.storage_account_key_env_var = None;
    aad.use_aad = true;
    let refused = probe(&Location::Azure(aad), &good, Agent::FromHere).await;
    assert!(
        matches!(&refused, Err(ProbeError::Config(m)) if m.contains("Azure AD")),
        "{refused:?}"
    );
    let absent_key = AzureCredentials {
        values: Default::default(),
    };
    let refused = probe(
        &location(&azurite, "velero", "cluster-a"),
        &StoreCredentials::Azure(absent_key),
        Agent::FromHere,
    )
    .await;
    assert!(
        matches!(&refused, Err(ProbeError::Config(m)) if m.contains("no storage account access key with key")),
        "{refused:?}"
    );
}

/// `snapdoc probe --from-here --provider azure --config …`: the command, JSON and text.
#[test]
fn the_command_probes_azure_from_here() {
    let Some(azurite) = azurite() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, key: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, credentials_text(key)).unwrap();
        path
    };
    let run = |credentials: &Path, format: &str| {
        Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(["probe", "--from-here", "--provider", "azure"])
            .args(["--bucket", "velero", "--prefix", "cluster-a"])
            .args(["--config", &format!("storageAccount={ACCOUNT}")])
            .args(["--config", &format!("storageAccountKeyEnvVar={KEY_VAR}")])
            .args([
                "--config",
                &format!("storageAccountURI={}", azurite.account_uri()),
            ])
            .arg("--credentials-file")
            .arg(credentials)
            .args(["--format", format])
            .output()
            .unwrap()
    };
    let ok = run(&file("good", KEY), "json");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let result: ProbeResult = serde_json::from_slice(&ok.stdout).unwrap();
    all_passed(&result);

    let denied = run(&file("wrong", &wrong_key()), "text");
    assert_eq!(denied.status.code(), Some(1));
    let text = String::from_utf8_lossy(&denied.stdout);
    assert!(
        text.starts_with("Probe of azure://velero/cluster-a/")
            && text.contains("FAIL list prefix")
            && text.contains("Server failed to authenticate the request")
            && text.contains("Reproduced: SD207"),
        "{text}"
    );

    // An S3 setting on an Azure location is a mistake said as such, not ignored.
    let mixed = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args([
            "probe",
            "--from-here",
            "--provider",
            "azure",
            "--bucket",
            "velero",
        ])
        .args(["--s3-url", "http://127.0.0.1:1"])
        .arg("--credentials-file")
        .arg(file("good2", KEY))
        .output()
        .unwrap();
    assert_eq!(mixed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("--config KEY=VALUE"));
}

/// The "healthy" scenario with its location "default" replaced by Azure locations at Azurite: per (name,
/// container, key), a BSL whose spec.credential names a secret of its own holding the plugin's credentials file
/// with that account key.
fn azure_scenario(azurite: &Azurite, locations: &[(&str, &str, String)]) -> Scenario {
    use base64::Engine as _;
    let mut objects = Vec::new();
    for (name, container, key) in locations {
        objects.push(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": format!("azure-{name}"), "namespace": "velero"},
            "data": {"cloud": base64::engine::general_purpose::STANDARD.encode(credentials_text(key))},
        }));
        // The plugin README's BSL, for Azurite: storageAccountURI instead of the resource group lookup.
        objects.push(serde_json::json!({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": "velero"},
            "spec": {
                "provider": "velero.io/azure",
                "objectStorage": {"bucket": container, "prefix": "cluster-a"},
                "config": {"storageAccount": ACCOUNT, "storageAccountKeyEnvVar": KEY_VAR,
                           "storageAccountURI": azurite.account_uri(), "resourceGroup": "velero-rg"},
                "credential": {"name": format!("azure-{name}"), "key": "cloud"},
            },
        }));
    }
    scenario_with("tests/probe_azure.rs", objects)
}

/// In-cluster: the lab plays the node for snapdoc's Job, running the agent with the secret the Job mounts (the
/// Azure plugin's KEY=VALUE file); the same faults with the same rules; nothing left in the lab or the container.
#[test]
fn in_cluster_probe_of_azure_locations() {
    let Some(azurite) = azurite() else { return };
    let lab = BackgroundLab::start(azure_scenario(
        &azurite,
        &[
            ("azure", "velero", KEY.to_string()),
            ("azure-typo", "velero-typo", KEY.to_string()),
            ("azure-wrong-key", "velero", wrong_key()),
        ],
    ));
    let ok = result_of(probe_bsl(&lab, "azure"), 0);
    assert_eq!(ok.agent, "in-cluster");
    all_passed(&ok);
    nothing_left_in(&lab);
    assert_eq!(azurite.blobs("velero", "cluster-a/"), 0);

    let typo = result_of(probe_bsl(&lab, "azure-typo"), 1);
    assert_reproduces(&typo, Step::List, "SD101", "ContainerNotFound");
    let wrong = result_of(probe_bsl(&lab, "azure-wrong-key"), 1);
    assert_reproduces(&wrong, Step::List, "SD207", WRONG_KEY_CODE);
    nothing_left_in(&lab);

    // The Job mounted the location's own secret where Velero writes it, and passed the config as --config.
    let args = dry_run_args(&lab, "azure");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(args.contains(&"--provider=velero.io/azure"), "{args:?}");
    assert!(
        args.contains(&"--config=storageAccountKeyEnvVar=AZURE_STORAGE_ACCOUNT_ACCESS_KEY"),
        "{args:?}"
    );
    assert!(
        args.contains(&"--credentials-file=/tmp/credentials/velero/azure-azure-cloud"),
        "{args:?}"
    );
    // The CLI parses what the Job passes.
    let argv: Vec<std::ffi::OsString> = std::iter::once("snapdoc".into())
        .chain(args.iter().map(|a| (*a).into()))
        .collect();
    let snapdoc::cli::Command::Probe(parsed) = snapdoc::cli::parse_from(argv).command else {
        panic!("not a probe command: {args:?}");
    };
    assert!(parsed.agent);
    assert_eq!(parsed.config.len(), 4, "{:?}", parsed.config);
}

/// `check --probe`: an Azure location's failure in the JSON's probes and in the metrics, as S3's are.
#[test]
fn check_probe_reports_an_azure_failure_in_json_and_metrics() {
    let Some(azurite) = azurite() else { return };
    let lab = BackgroundLab::start(azure_scenario(
        &azurite,
        &[("default", "velero", wrong_key())],
    ));
    check_probe_reports(&lab, "velero.io/azure", "SD207", WRONG_KEY_CODE);
}
