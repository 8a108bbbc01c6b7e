//! `snapdoc collect` against the lab cluster: every scenario yields a bundle holding what the bundle
//! format promises; forbidden sources are recorded, not fatal; no planted credential reaches the bundle.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use snapdoc::bundle::ClusterInfo;
use snapdoc::bundle::Manifest;
use snapdoc::collect::CollectOptions;
use snapdoc::collect::{CollectOutcome, collect};
use snapdoc::lab::{LabCluster, Scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn options() -> CollectOptions {
    CollectOptions {
        download_timeout: 10,
        ..CollectOptions::default()
    }
}

/// The bundle's entries, read whole (test bundles are small).
struct Unzipped {
    entries: BTreeMap<String, Vec<u8>>,
    manifest: Manifest,
}

impl Unzipped {
    fn open(path: &Path) -> Unzipped {
        let file = std::fs::File::open(path).unwrap();
        let mut archive = zip::ZipArchive::new(file).unwrap();
        let mut entries = BTreeMap::new();
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            entries.insert(entry.name().unwrap().to_string(), data);
        }
        let manifest = serde_json::from_slice(&entries["manifest.json"]).unwrap();
        Unzipped { entries, manifest }
    }

    fn json(&self, entry: &str) -> Value {
        let data = self
            .entries
            .get(entry)
            .unwrap_or_else(|| panic!("no {entry} in {:?}", self.entries.keys()));
        serde_json::from_slice(data).unwrap_or_else(|e| panic!("{entry}: {e}"))
    }

    fn text(&self, entry: &str) -> String {
        String::from_utf8_lossy(
            self.entries
                .get(entry)
                .unwrap_or_else(|| panic!("no {entry} in {:?}", self.entries.keys())),
        )
        .into_owned()
    }

    fn names(&self, entry: &str) -> Vec<String> {
        self.json(entry)["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{entry} is not a List"))
            .iter()
            .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    /// The item of a List entry with this name.
    fn item(&self, entry: &str, name: &str) -> Value {
        let list = self.json(entry);
        list["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{entry} is not a List"))
            .iter()
            .find(|i| i["metadata"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {entry}: {list}"))
    }

    fn has_error(&self, target_contains: &str, status: Option<u16>) -> bool {
        self.manifest.collector_errors.iter().any(|e| {
            e.target
                .as_deref()
                .is_some_and(|t| t.contains(target_contains))
                && (status.is_none() || e.status == status)
        })
    }
}

async fn run_against(
    scenario: Scenario,
    options: &CollectOptions,
) -> (LabCluster, CollectOutcome, Unzipped, tempfile::TempDir) {
    let lab = LabCluster::start(scenario).await.unwrap();
    let client = lab.client().await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("bundle.zip");
    let cluster = ClusterInfo {
        server: Some(lab.server_url()),
        context: Some("lab".into()),
    };
    let outcome = collect(client, cluster, options, &output).await.unwrap();
    let bundle = Unzipped::open(&outcome.path);
    (lab, outcome, bundle, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_basics_bundle_holds_every_source() {
    let scenario = Scenario::load(&scenarios_dir().join("lab-basics")).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;

    // Cluster.
    let server = outcome.manifest.cluster.server.as_deref().unwrap();
    assert!(
        server.starts_with("127.0.0.1:") && !server.contains('/'),
        "{server}"
    );
    assert_eq!(bundle.json("cluster/version.json")["gitVersion"], "v1.31.6");
    let nodes = bundle.json("cluster/nodes.json");
    assert!(
        nodes["items"][0]["status"]["nodeInfo"]["osImage"]
            .as_str()
            .is_some()
    );
    assert!(
        bundle
            .names("cluster/namespaces.json")
            .contains(&"velero".to_string())
    );
    let crds = bundle.names("cluster/crds.json");
    assert!(crds.contains(&"backups.velero.io".to_string()), "{crds:?}");

    // Velero: namespace detected, workloads, versions from images.
    let scope = &outcome.manifest.scope;
    assert_eq!(scope["veleroNamespace"], "velero");
    assert_eq!(scope["veleroNamespaceFrom"], "velero deployment");
    let components = scope["components"].as_array().unwrap();
    let version_of = |component: &str| {
        components
            .iter()
            .find(|c| c["component"] == component)
            .and_then(|c| c["version"].as_str())
            .map(str::to_string)
    };
    assert_eq!(version_of("velero").as_deref(), Some("v1.16.0"));
    assert_eq!(version_of("plugin").as_deref(), Some("v1.12.0"));
    assert!(version_of("node-agent").is_some());
    assert!(
        bundle
            .names("cluster-resources/deployments/velero.json")
            .contains(&"velero".to_string())
    );
    assert!(
        bundle
            .names("cluster-resources/daemonsets/velero.json")
            .contains(&"node-agent".to_string())
    );
    assert!(
        !bundle
            .names("cluster-resources/pods/velero.json")
            .is_empty()
    );
    assert!(
        bundle
            .entries
            .contains_key("cluster-resources/events/velero.json")
    );

    // Velero objects.
    let backups = bundle.names("cluster-resources/custom-resources/backups.velero.io/velero.json");
    assert!(
        backups.contains(&"daily-20261124020000".to_string()),
        "{backups:?}"
    );
    for resource in ["restores", "schedules", "backupstoragelocations"] {
        let entry = format!("cluster-resources/custom-resources/{resource}.velero.io/velero.json");
        assert!(!bundle.names(&entry).is_empty(), "{entry}");
    }
    assert!(
        !bundle
            .entries
            .keys()
            .any(|e| e.contains("downloadrequests")),
        "DownloadRequests are not collected"
    );

    // Logs: current, previous, the cut node-agent stream marked truncated.
    let velero_log = "velero/logs/velero-7d9f8c6b5d-x2x4z/velero.log";
    assert!(!bundle.text(velero_log).is_empty());
    assert!(
        !bundle
            .text("velero/logs/velero-7d9f8c6b5d-x2x4z/velero-previous.log")
            .is_empty()
    );
    // The scenario cuts the node-agent stream: what came is kept and marked truncated, or, when the cut
    // came before the answer's head, the failure is recorded.
    let node_agent_log = bundle
        .entries
        .keys()
        .find(|e| e.starts_with("velero/logs/node-agent-") && e.ends_with("/node-agent.log"))
        .cloned();
    match node_agent_log {
        Some(entry) => {
            let listed = bundle
                .manifest
                .files
                .iter()
                .find(|f| f.path == entry)
                .unwrap();
            assert!(listed.truncated.is_some(), "{entry} not marked truncated");
        }
        None => assert!(bundle.has_error("node-agent-", None)),
    }

    // Backup log and results through the DownloadRequest flow.
    assert!(
        bundle
            .text("velero/backups/daily-20261124020000/backup.log")
            .lines()
            .count()
            > 0
    );
    bundle.json("velero/backups/daily-20261124020000/results.json");
    assert!(
        !bundle
            .text("velero/restores/restore-daily-20261123/restore.log")
            .is_empty()
    );
    let requests = lab.request_log();
    let created = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/namespaces/velero/downloadrequests"))
        .count();
    assert!(created >= 2, "DownloadRequests created: {created}");
    // The read-only role has no delete: they are left for Velero to remove when they expire.
    assert!(
        !requests.iter().any(|r| r.method == "DELETE"),
        "a DownloadRequest was deleted by default"
    );
    assert_eq!(lab.objects("downloadrequests.velero.io").len(), created);

    // Forbidden sources are recorded, not fatal.
    assert!(bundle.has_error("podvolumebackups.velero.io", Some(403)));
    assert!(bundle.has_error("secrets/", Some(403)));

    // The manifest lists exactly what the zip holds.
    let listed: Vec<&str> = bundle
        .manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    let held: Vec<&str> = bundle
        .entries
        .keys()
        .map(String::as_str)
        .filter(|e| *e != "manifest.json")
        .collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(listed_sorted, held);
    let report = snapdoc::bundle::verify(&outcome.path).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_to_reads_a_kubeconfig_and_never_overwrites_without_force() {
    let scenario = Scenario::load(&scenarios_dir().join("lab-basics")).unwrap();
    let lab = LabCluster::start(scenario).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig).unwrap();
    let output = dir.path().join("out.zip");
    let mut options = options();
    options.cluster.kubeconfig = Some(kubeconfig);
    options.backups = vec!["daily-20261124020000".into()];
    let outcome = snapdoc::collect::collect_to(&options, Some(&output))
        .await
        .unwrap();
    assert_eq!(outcome.path, output);
    let bundle = Unzipped::open(&output);
    assert!(
        bundle
            .entries
            .contains_key("velero/backups/daily-20261124020000/backup.log")
    );
    // Focused on one backup: no other backup's log, no restore's.
    assert!(
        !bundle
            .entries
            .keys()
            .any(|e| e.starts_with("velero/backups/") && !e.contains("daily-20261124020000"))
    );
    assert_eq!(
        outcome.manifest.cluster.server.as_deref(),
        lab.server_url()
            .strip_prefix("https://")
            .map(|s| s.trim_end_matches('/'))
    );

    let error = snapdoc::collect::collect_to(&options, Some(&output))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");
    let forced = CollectOptions {
        force: true,
        ..options
    };
    snapdoc::collect::collect_to(&forced, Some(&output))
        .await
        .unwrap();
    lab.shutdown().await;
}

/// lab-basics with other faults.
fn lab_basics_with(edit: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut scenario = Scenario::load(&scenarios_dir().join("lab-basics")).unwrap();
    edit(&mut scenario);
    scenario
}

fn forbid(scenario: &mut Scenario, resource: &str, verbs: &[&str]) {
    let forbidden: snapdoc::lab::Forbidden = serde_json::from_value(serde_json::json!({
        "resource": resource, "verbs": verbs
    }))
    .unwrap();
    scenario.faults.forbidden.push(forbidden);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_backups_secrets_and_downloadrequests_still_yield_a_bundle() {
    let scenario = lab_basics_with(|s| {
        s.faults.forbidden.clear();
        forbid(s, "backups.velero.io", &["get", "list", "watch"]);
        forbid(s, "secrets", &[]);
        forbid(s, "downloadrequests.velero.io", &["create"]);
    });
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    assert!(bundle.has_error("backups.velero.io", Some(403)));
    assert!(bundle.has_error("secrets/cloud-credentials", Some(403)));
    // The restore is still listed, so its log is asked for: creating the DownloadRequest is refused.
    let refused: Vec<_> = outcome
        .manifest
        .collector_errors
        .iter()
        .filter(|e| e.source == "downloads" && e.status == Some(403))
        .collect();
    assert!(
        !refused.is_empty(),
        "{:?}",
        outcome.manifest.collector_errors
    );
    assert!(
        refused[0].message.contains("DownloadRequest"),
        "{}",
        refused[0].message
    );
    assert!(
        !bundle
            .entries
            .contains_key("cluster-resources/custom-resources/backups.velero.io/velero.json")
    );
    // Everything else is still there.
    assert_eq!(bundle.json("cluster/version.json")["gitVersion"], "v1.31.6");
    assert!(
        !bundle
            .names("cluster-resources/custom-resources/restores.velero.io/velero.json")
            .is_empty()
    );
    assert!(
        !bundle
            .text("velero/logs/velero-7d9f8c6b5d-x2x4z/velero.log")
            .is_empty()
    );
    assert!(lab.objects("downloadrequests.velero.io").is_empty());
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_request_never_processed_or_an_unreachable_url_is_recorded() {
    let mut quick = options();
    quick.download_timeout = 1;
    // Cleanup is tested where the role allows it: by default DownloadRequests are left to Velero.
    quick.delete_download_requests = true;
    quick.backups = vec!["daily-20261124020000".into()];
    quick.restores = vec!["restore-daily-20261123".into()];
    for (mode, expected) in [
        ("never-processed", "did not process DownloadRequest"),
        (
            "unreachable-url",
            "is not reachable from here: the connection to 127.0.0.1 failed (tcp connect error",
        ),
        (
            "unresolvable-url",
            "is not reachable from here: minio.minio.invalid does not resolve here (dns error",
        ),
    ] {
        let scenario = lab_basics_with(|s| {
            s.faults.download_requests =
                serde_json::from_value(Value::String(mode.into())).unwrap();
        });
        let (lab, outcome, bundle, _out) = run_against(scenario, &quick).await;
        let errors: Vec<_> = outcome
            .manifest
            .collector_errors
            .iter()
            .filter(|e| e.source == "downloads")
            .collect();
        assert!(
            errors.iter().any(|e| e.message.contains(expected)),
            "{mode}: {errors:?}"
        );
        // Every planned download is accounted for: failed with the cause, or skipped after giving up.
        assert!(
            errors
                .iter()
                .all(|e| e.message.contains(expected) || e.message.starts_with("not tried: ")),
            "{mode}: {errors:?}"
        );
        assert!(
            !bundle
                .entries
                .keys()
                .any(|e| e.starts_with("velero/backups/"))
        );
        // Deleted even so, when asked to.
        assert!(
            lab.objects("downloadrequests.velero.io").is_empty(),
            "{mode}"
        );
        if mode != "never-processed" {
            a_signed_url_not_reached_is_recorded_and_named(&outcome, mode);
        }
        lab.shutdown().await;
    }
}

/// Each signed URL followed is in the manifest's scope.downloads.urls, its query redacted, with how far this
/// machine got; the analysis names the endpoint not reached (SD865).
fn a_signed_url_not_reached_is_recorded_and_named(outcome: &CollectOutcome, mode: &str) {
    let urls = outcome.manifest.scope["downloads"]["urls"]
        .as_array()
        .unwrap();
    assert!(!urls.is_empty(), "{mode}");
    let (reach, endpoint) = match mode {
        "unreachable-url" => ("connect", "http://127.0.0.1:"),
        _ => ("dns", "http://minio.minio.invalid:9000"),
    };
    for url in urls {
        assert_eq!(url["reached"], false, "{mode}: {url}");
        assert_eq!(url["reach"], reach, "{mode}: {url}");
        assert!(
            url["endpoint"].as_str().unwrap().starts_with(endpoint),
            "{url}"
        );
        let text = url["url"].as_str().unwrap();
        assert!(
            text.ends_with("?<signed query redacted>") && !text.contains("X-Amz"),
            "{text}"
        );
    }
    // The first URL of the endpoint was tried; the rest were not, for the same reason.
    assert!(
        urls.iter()
            .filter(|u| u["why"].as_str().unwrap().contains("not tried again"))
            .count()
            < urls.len()
    );
    let analysis = snapdoc::analyze::analyze_bundle(
        &outcome.path,
        &snapdoc::analyze::AnalysisOptions::default(),
    )
    .unwrap();
    let finding = analysis
        .findings
        .iter()
        .find(|f| f.rule_id == "SD865")
        .unwrap_or_else(|| panic!("{mode}: no SD865"));
    assert!(
        finding
            .message
            .contains(&format!("Velero's signed URLs point at {endpoint}")),
        "{}",
        finding.message
    );
}

/// Credential shapes planted in logs, downloads and objects. Each value is unique so a leak is found
/// wherever it lands; each planted line has a marker that must reach the bundle (so the line was collected).
const PLANTED_LOG_LINES: &[(&str, &str)] = &[
    ("PLANTED-01", "using key AKIAPLANTEDKEY000001 for bucket"),
    (
        "PLANTED-02",
        "aws_secret_access_key=PlantedSecretAccessKey00000000000000001",
    ),
    (
        "PLANTED-03",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=PlantedAzureKey0001==;EndpointSuffix=core.windows.net",
    ),
    (
        "PLANTED-04",
        "GET https://acct.blob.core.windows.net/c/b?sv=2021-08-06&sr=b&sig=PlantedSasSig0001%3D failed",
    ),
    (
        "PLANTED-05",
        r#"creds={\"type\":\"service_account\",\"private_key_id\":\"plantedkeyid0001\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nPlantedPemBody0001\\n-----END PRIVATE KEY-----\\n\"}"#,
    ),
    ("PLANTED-06", "login password=PlantedPassword0001 rejected"),
    (
        "PLANTED-07",
        r#"config {"password": "PlantedPassword0002", "user": "admin"}"#,
    ),
    ("PLANTED-08", "refresh token=PlantedToken0001 expired"),
    (
        "PLANTED-09",
        "dial https://admin:PlantedUrlPass0001@minio.example:9000/velero",
    ),
    (
        "PLANTED-10",
        "header Authorization: Bearer PlantedBearer0001xyz",
    ),
    (
        "PLANTED-11",
        "url https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAPLANTEDKEY000002%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=PlantedAmzToken0001&X-Amz-Signature=PlantedAmzSig0001",
    ),
];

const PLANTED_SECRETS: &[&str] = &[
    "AKIAPLANTEDKEY000001",
    "AKIAPLANTEDKEY000002",
    "AKIAPLANTEDKEY000003",
    "PlantedSecretAccessKey",
    "PlantedAzureKey0001",
    "PlantedSasSig0001",
    "plantedkeyid0001",
    "PlantedPemBody0001",
    "PlantedPemLine0001",
    "PlantedPassword0001",
    "PlantedPassword0002",
    "PlantedPassword0003",
    "PlantedToken0001",
    "PlantedUrlPass0001",
    "PlantedUrlPass0002",
    "PlantedBearer0001xyz",
    "PlantedAmzToken0001",
    "PlantedAmzSig0001",
    "PlantedEnvSecret0001",
];

fn planted_log(time: &str) -> String {
    let mut text = String::new();
    for (marker, line) in PLANTED_LOG_LINES {
        text.push_str(&format!(
            "time=\"{time}\" level=error msg=\"{marker} {}\"\n",
            line.replace('"', "\\\"")
        ));
    }
    text.push_str(&format!(
        "time=\"{time}\" level=info msg=\"PLANTED-12 key follows\"\n-----BEGIN RSA PRIVATE KEY-----\nPlantedPemLine0001\n-----END RSA PRIVATE KEY-----\ntime=\"{time}\" level=info msg=\"PLANTED-13 after the key\"\n"
    ));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_planted_credential_reaches_the_bundle() {
    let scenario = lab_basics_with(|s| {
        s.faults = Default::default();
        for log in &mut s.logs {
            log.text.push_str(&planted_log("2026-11-25T11:30:00Z"));
        }
        for (path, text) in s.store.iter_mut() {
            if path.ends_with(".log") {
                text.push_str(&planted_log("2026-11-24T02:30:00Z"));
            } else if path.ends_with("results.json") {
                let mut results: Value = serde_json::from_str(text).unwrap();
                results["errors"]["velero"] = serde_json::json!([
                    "PLANTED-14 upload failed: https://admin:PlantedUrlPass0001@minio.example/x?X-Amz-Signature=PlantedAmzSig0001",
                    "PLANTED-15 aws_secret_access_key=PlantedSecretAccessKey00000000000000001"
                ]);
                *text = results.to_string();
            }
        }
        for object in &mut s.objects {
            let kind = object.kind().to_string();
            let value = &mut object.value;
            match kind.as_str() {
                "Deployment" | "Pod" | "DaemonSet" => {
                    value["metadata"]["annotations"]["snapdoc.test/notes"] = Value::String(
                        "PLANTED-16 password=PlantedPassword0003 key AKIAPLANTEDKEY000003".into(),
                    );
                    let containers = if kind == "Pod" {
                        value.pointer_mut("/spec/containers")
                    } else {
                        value.pointer_mut("/spec/template/spec/containers")
                    };
                    if let Some(Value::Array(containers)) = containers {
                        for container in containers {
                            container["env"] = serde_json::json!([
                                {"name": "AWS_SECRET_ACCESS_KEY", "value": "PlantedEnvSecret0001"},
                                {"name": "PLANTED_17_REGION", "value": "us-east-1"}
                            ]);
                        }
                    }
                }
                "BackupStorageLocation" => {
                    value["spec"]["config"]["s3Url"] =
                        Value::String("https://admin:PlantedUrlPass0002@minio.example:9000".into());
                }
                _ => {}
            }
        }
    });
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    for (entry, data) in &bundle.entries {
        let text = String::from_utf8_lossy(data);
        for secret in PLANTED_SECRETS {
            assert!(!text.contains(secret), "{secret} leaked into {entry}");
        }
    }
    // The planted lines were collected (redacted, not dropped), from pod logs and downloads alike.
    let everything: String = bundle
        .entries
        .values()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .collect();
    for marker in (1..=17)
        .map(|n| format!("PLANTED-{n:02}"))
        .chain(["PLANTED_17_REGION".into()])
    {
        if marker == "PLANTED-17" {
            continue;
        }
        assert!(
            everything.contains(&marker),
            "{marker} never reached the bundle"
        );
    }
    let backup_log = bundle.text("velero/backups/daily-20261124020000/backup.log");
    assert!(backup_log.contains("PLANTED-13 after the key"));
    assert!(backup_log.contains("***REDACTED***"));
    let redactions = &outcome.manifest.redactions;
    for rule in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "azure-storage-key",
        "azure-sas-signature",
        "gcp-service-account-key",
        "pem-private-key",
        "password",
        "token",
        "url-credentials",
        "bearer-token",
        "presigned-url-signature",
        "env-secret-value",
    ] {
        assert!(
            redactions.get(rule).copied().unwrap_or(0) > 0,
            "{rule} never counted: {redactions:?}"
        );
    }
    lab.shutdown().await;
}

/// Every file of a scenario folder, as `Scenario::from_files` takes them.
fn scenario_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

const KOTS_OBJECTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: kurl}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kurl-config, namespace: kube-system}
data: {kurl_url: "https://kurl.sh", installer_id: "abc123"}
---
# The kubelet's event when it starts evicting (kubernetes pkg/kubelet/eviction/eviction_manager.go:
# "Attempting to reclaim %s"), recorded in default about the node; and a pod's event there, which is not one.
apiVersion: v1
kind: Event
metadata: {name: worker-1.17a1b2c3d4e5f607, namespace: default}
involvedObject: {kind: Node, name: worker-1, uid: worker-1}
reason: EvictionThresholdMet
message: Attempting to reclaim ephemeral-storage
type: Warning
source: {component: kubelet, host: worker-1}
lastTimestamp: '2026-11-25T02:10:00Z'
---
apiVersion: v1
kind: Event
metadata: {name: kotsadm-6c9d8f7b5-abcde.17a1b2c3d4e5f608, namespace: default}
involvedObject: {kind: Pod, name: kotsadm-6c9d8f7b5-abcde, namespace: default}
reason: Pulled
message: Container image "kotsadm/kotsadm:v1.109.3" already present on machine
type: Normal
lastTimestamp: '2026-11-25T02:10:00Z'
---
# KOTS's host-path snapshot store (replicatedhq/kots pkg/snapshot/filesystem_lvp.go at 370ae903).
apiVersion: v1
kind: ConfigMap
metadata: {name: kotsadm-fs-lvp, namespace: default}
data: {HOSTPATH: /var/lib/snapshots}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kotsadm
  namespace: default
  labels: {app: kotsadm}
spec:
  selector: {matchLabels: {app: kotsadm}}
  template:
    metadata: {labels: {app: kotsadm}}
    spec:
      containers:
        - {name: kotsadm, image: "kotsadm/kotsadm:v1.109.3"}
---
apiVersion: v1
kind: Pod
metadata:
  name: kotsadm-6c9d8f7b5-abcde
  namespace: default
  labels: {app: kotsadm}
spec:
  containers:
    - {name: kotsadm, image: "kotsadm/kotsadm:v1.109.3"}
status:
  phase: Running
  containerStatuses:
    - {name: kotsadm, ready: true, restartCount: 0, image: "kotsadm/kotsadm:v1.109.3"}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: app
  annotations: {backup.velero.io/backup-volumes: data}
spec:
  containers:
    - {name: db, image: "postgres:16"}
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: data-db-0}
    - name: scratch
      emptyDir: {}
status:
  phase: Running
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-db-0, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: local-path
  resources: {requests: {storage: 1Gi}}
status: {phase: Bound}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kots_kurl_and_backed_up_workloads_are_collected() {
    let mut files = scenario_files(&scenarios_dir().join("lab-basics"));
    files.push(("objects/kots.yaml".into(), KOTS_OBJECTS.into()));
    files.push((
        "logs/default/kotsadm-6c9d8f7b5-abcde/kotsadm.log".into(),
        "{\"level\":\"info\",\"ts\":\"2026-11-25T11:00:00Z\",\"msg\":\"snapshot started\"}\n"
            .into(),
    ));
    let scenario = Scenario::from_files("kots-lab", "test:kots-lab", files).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let scope = &outcome.manifest.scope;
    assert_eq!(scope["kotsNamespace"], "default");
    assert_eq!(scope["install"]["kurl"], true);
    assert_eq!(
        scope["kotsSnapshotStore"]["data"]["HOSTPATH"],
        "/var/lib/snapshots"
    );
    assert_eq!(scope["install"]["kurlConfig"], true);
    assert_eq!(scope["backupNamespaces"], serde_json::json!(["*"]));
    let kotsadm = scope["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "kotsadm")
        .expect("kotsadm component");
    assert_eq!(kotsadm["version"], "v1.109.3");
    assert!(
        bundle
            .text("kots/logs/kotsadm-6c9d8f7b5-abcde/kotsadm.log")
            .contains("snapshot started")
    );
    assert!(
        bundle
            .names("cluster-resources/deployments/default.json")
            .contains(&"kotsadm".to_string())
    );
    assert_eq!(
        bundle.names("cluster-resources/configmaps/kube-system.json"),
        vec!["kurl-config"]
    );
    assert_eq!(
        bundle.names("cluster-resources/configmaps/default.json"),
        vec!["kotsadm-fs-lvp"]
    );
    // The node's event, not the pod's.
    let node_events = bundle.json("cluster/node-events.json");
    let reasons: Vec<&str> = node_events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["EvictionThresholdMet"]);
    // Backups include every namespace: the app's pods (volumes, annotations) and PVCs are there.
    let pods = bundle.json("cluster-resources/pods/app.json");
    let db = &pods["items"][0];
    assert_eq!(
        db["metadata"]["annotations"]["backup.velero.io/backup-volumes"],
        "data"
    );
    assert_eq!(
        db["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-db-0"
    );
    assert_eq!(
        bundle.names("cluster-resources/persistentvolumeclaims/app.json"),
        vec!["data-db-0"]
    );
    // Velero's namespace is written once, whichever stage read it.
    let velero_pods = outcome
        .manifest
        .files
        .iter()
        .filter(|f| f.path == "cluster-resources/pods/velero.json")
        .count();
    assert_eq!(velero_pods, 1);
    lab.shutdown().await;
}

/// Every scenario under tests/scenarios/: a bundle that verifies, with the cluster's answers, Velero found
/// where the scenario runs it, and every failure recorded with what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_yields_a_consistent_bundle() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("scenario.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    let mut quick = options();
    quick.download_timeout = 3;
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = Scenario::load(&dir).unwrap();
        let velero_deployments: Vec<String> = scenario
            .objects
            .iter()
            .filter(|o| o.kind() == "Deployment" && o.name() == "velero")
            .filter_map(|o| o.namespace().map(str::to_string))
            .collect();
        let forbidden: Vec<(String, Vec<String>)> = scenario
            .faults
            .forbidden
            .iter()
            .map(|f| (f.resource.clone(), f.verbs.clone()))
            .collect();
        let (lab, outcome, bundle, _out) = run_against(scenario, &quick).await;
        // What the scenario forbids is recorded with the API's 403.
        let downloads_planned = ["backups", "restores"].iter().any(|kind| {
            outcome.manifest.scope["downloads"][kind]
                .as_array()
                .is_some_and(|names| !names.is_empty())
        });
        for (resource, verbs) in &forbidden {
            let verb = |v: &str| verbs.is_empty() || verbs.iter().any(|x| x == v);
            match resource.as_str() {
                "secrets" if verb("get") => {
                    assert!(
                        bundle.has_error("secrets/", Some(403)),
                        "{name}: {resource}"
                    )
                }
                "downloadrequests.velero.io" if verb("create") && downloads_planned => assert!(
                    outcome
                        .manifest
                        .collector_errors
                        .iter()
                        .any(|e| e.source == "downloads" && e.status == Some(403)),
                    "{name}: {resource}"
                ),
                velero
                    if velero.ends_with(".velero.io")
                        && velero != "downloadrequests.velero.io"
                        && verb("list") =>
                {
                    assert!(bundle.has_error(velero, Some(403)), "{name}: {resource}")
                }
                _ => {}
            }
        }
        let report = snapdoc::bundle::verify(&outcome.path).unwrap();
        assert!(report.is_ok(), "{name}: {:?}", report.problems);
        assert!(
            bundle.entries.contains_key("cluster/version.json")
                || bundle.has_error("/version", None),
            "{name}"
        );
        if let Some(ns) = velero_deployments.first() {
            assert_eq!(
                outcome.manifest.scope["veleroNamespace"],
                ns.as_str(),
                "{name}"
            );
            let velero_logs = bundle
                .entries
                .iter()
                .filter(|(e, data)| e.starts_with("velero/logs/") && !data.is_empty())
                .count();
            assert!(
                velero_logs > 0 || bundle.has_error("/velero", None),
                "{name}: no velero log"
            );
        }
        for error in &outcome.manifest.collector_errors {
            assert!(!error.message.is_empty(), "{name}: {error:?}");
            assert!(error.target.is_some(), "{name}: {error:?}");
        }
        let deletes: Vec<String> = lab
            .request_log()
            .iter()
            .filter(|r| r.verb() == "delete")
            .map(ToString::to_string)
            .collect();
        assert!(
            deletes.is_empty(),
            "{name}: deleted by default: {deletes:?}"
        );
        lab.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forbidden_scenario_records_its_three_refusals() {
    let scenario = Scenario::load(&scenarios_dir().join("forbidden")).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let errors = &outcome.manifest.collector_errors;
    assert!(
        bundle.has_error("backups.velero.io", Some(403)),
        "{errors:?}"
    );
    assert!(bundle.has_error("secrets/", Some(403)), "{errors:?}");
    // Backups cannot be listed, but pod volume backups name them: their logs are asked for, and refused.
    assert_eq!(
        outcome.manifest.scope["backupsFrom"],
        "labels of pod volume backups / data uploads, schedules"
    );
    let refused: Vec<_> = errors
        .iter()
        .filter(|e| e.source == "downloads" && e.status == Some(403))
        .collect();
    assert!(!refused.is_empty(), "{errors:?}");
    assert!(
        refused[0]
            .message
            .contains("downloadrequests.velero.io is forbidden")
    );
    // Once refused, the rest are not tried one by one.
    assert!(refused.len() <= 4, "{refused:?}");
    assert!(errors.iter().any(|e| {
        e.source == "downloads"
            && e.message
                .starts_with("not tried: creating DownloadRequests is forbidden")
    }));
    // The rest of the bundle is whole.
    for entry in [
        "cluster/version.json",
        "cluster/nodes.json",
        "cluster-resources/deployments/velero.json",
        "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
        "cluster-resources/custom-resources/podvolumebackups.velero.io/velero.json",
    ] {
        assert!(bundle.entries.contains_key(entry), "{entry}");
    }
    assert!(bundle.entries.keys().any(|e| e.starts_with("velero/logs/")));
    assert!(bundle.entries.keys().any(|e| e.starts_with("kots/logs/")));
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_agents_and_old_restic_daemonsets_give_their_logs() {
    let scenario = Scenario::load(&scenarios_dir().join("partially-failed-fsb")).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    assert!(
        !bundle
            .text("velero/logs/node-agent-mqpl2/node-agent-previous.log")
            .is_empty()
    );
    let failed: Vec<&str> = outcome.manifest.scope["downloads"]["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!failed.is_empty());
    for backup in failed {
        bundle.json(&format!("velero/backups/{backup}/results.json"));
    }
    lab.shutdown().await;

    let scenario = Scenario::load(&scenarios_dir().join("old-velero-restic")).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let components = outcome.manifest.scope["components"].as_array().unwrap();
    assert!(
        components
            .iter()
            .any(|c| c["component"] == "restic" && c["version"] == "v1.6.3"),
        "{components:?}"
    );
    assert!(
        !bundle
            .text("velero/logs/restic-d2lpm/restic.log")
            .is_empty()
    );
    assert!(
        !bundle
            .names("cluster-resources/custom-resources/resticrepositories.velero.io/velero.json")
            .is_empty()
    );
    lab.shutdown().await;
}

/// The shipped CronJob's role reads no secret and may not delete DownloadRequests: with `--skip-secrets`,
/// the collector asks for neither, and still fetches backup logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_role_asks_for_no_secret_and_deletes_no_download_request() {
    let scenario = Scenario::load(&scenarios_dir().join("healthy")).unwrap();
    let options = CollectOptions {
        skip_secrets: true,
        ..options()
    };
    let (lab, outcome, bundle, _out) = run_against(scenario, &options).await;
    let requests = lab.request_log();
    assert!(
        !requests.iter().any(|r| r.path.contains("/secrets")),
        "secrets were requested"
    );
    assert!(
        !requests.iter().any(|r| r.method == "DELETE"),
        "a DownloadRequest was deleted"
    );
    assert!(requests.iter().any(|r| r.method == "POST"));
    assert!(
        bundle
            .entries
            .keys()
            .any(|e| e.starts_with("velero/backups/") && e.ends_with("backup.log"))
    );
    assert!(
        outcome.manifest.collector_errors.is_empty(),
        "{:?}",
        outcome.manifest.collector_errors
    );
}

/// (API group, resource, verb) of every rule of the ClusterRole and Role docs/rbac.md documents (the optional
/// secrets rule included; named resources compared by kind: tests/deploy.rs checks the names).
fn shipped_grants() -> std::collections::BTreeSet<(String, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rbac.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let yaml = text
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/rbac.md holds the roles as a yaml block");
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for doc in docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
    {
        for rule in doc["rules"].as_array().unwrap() {
            let list = |key: &str| -> Vec<String> {
                rule[key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for group in list("apiGroups") {
                for resource in list("resources") {
                    for verb in list("verbs") {
                        out.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
    }
    out
}

/// The (API group, resource[/subresource]) a request path addresses; None for discovery and /version.
fn group_resource(path: &str) -> Option<(String, String)> {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => return None,
    };
    let rest = match rest {
        ["namespaces", _ns, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    };
    match rest {
        [] => None,
        [resource] | [resource, _] => Some((group, resource.to_string())),
        [resource, _, sub, ..] => Some((group, format!("{resource}/{sub}"))),
    }
}

/// The lab's request log proves least privilege: no request could return a Secret's data (secrets are looked
/// up only as `PartialObjectMetadata`), and the only verbs used are get / list / watch and create on
/// downloadrequests, so the documented read-only role suffices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_shows_no_secret_data_read_and_only_read_verbs_and_one_create() {
    let scenario = Scenario::load(&scenarios_dir().join("healthy")).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let requests = lab.request_log();
    let data_reads: Vec<String> = requests
        .iter()
        .filter(|r| r.reads_secret_data())
        .map(ToString::to_string)
        .collect();
    assert!(
        data_reads.is_empty(),
        "secret data requested: {data_reads:?}"
    );
    let secret_lookups: Vec<_> = requests
        .iter()
        .filter(|r| r.path.contains("/secrets"))
        .collect();
    assert!(
        !secret_lookups.is_empty(),
        "the secrets' metadata was looked up"
    );
    for lookup in &secret_lookups {
        assert_eq!(lookup.verb(), "get", "{lookup}");
        assert!(
            lookup.accept.contains("as=PartialObjectMetadata"),
            "{lookup}"
        );
    }
    let mut verbs = BTreeMap::<&str, usize>::new();
    for request in &requests {
        *verbs.entry(request.verb()).or_default() += 1;
        match request.verb() {
            "get" | "list" | "watch" => {}
            "create" => assert!(request.path.ends_with("/downloadrequests"), "{request}"),
            other => panic!("{other}: {request}"),
        }
    }
    eprintln!(
        "{} requests by verb {verbs:?}; {} secret lookups, all metadata-only",
        requests.len(),
        secret_lookups.len()
    );
    assert!(verbs.get("create").copied().unwrap_or_default() >= 1);

    // Every resource request is one the documented roles grant (docs/rbac.md; tests/deploy.rs holds deploy/ and
    // the chart to the same grants, less the optional secrets rule): code, docs and deploy agree.
    let granted = shipped_grants();
    let mut outside = Vec::new();
    for request in &requests {
        if let Some((group, resource)) = group_resource(&request.path)
            && ![resource.as_str(), "*"].iter().any(|r| {
                granted.contains(&(group.clone(), r.to_string(), request.verb().to_string()))
            })
        {
            outside.push(format!("{} {group}/{resource} ({request})", request.verb()));
        }
    }
    assert!(
        outside.is_empty(),
        "requests the role does not grant: {outside:#?}"
    );

    // The bundle names the credentials secret with the key its references name, and holds nothing else of it.
    let cloud = bundle.item(
        "cluster-resources/secrets-metadata/velero.json",
        "cloud-credentials",
    );
    assert_eq!(cloud["exists"], true, "{cloud}");
    assert!(cloud.get("data").is_none() && cloud["metadata"].get("annotations").is_none());
    // What tells a rotation (`snapdoc diff`), from the metadata-only lookup.
    assert!(cloud["metadata"]["resourceVersion"].is_string(), "{cloud}");
    assert!(
        cloud["metadata"]["creationTimestamp"].is_string(),
        "{cloud}"
    );
    assert!(
        outcome.manifest.collector_errors.is_empty(),
        "{:?}",
        outcome.manifest.collector_errors
    );
}

/// maintenance-oom (#15): the repository maintenance Jobs of Velero's namespace, their OOMKilled pods, the
/// Jobs' BackoffLimitExceeded events, the pods' logs and the repository's recentMaintenance are all in the
/// bundle, each read for what it says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_oom_bundle_holds_the_maintenance_jobs_their_pods_events_and_logs() {
    let scenario = Scenario::load(&scenarios_dir().join("maintenance-oom")).unwrap();
    let (lab, _outcome, bundle, _out) = run_against(scenario, &options()).await;
    let repo = "app-default-kopia-qd7mt";
    let stamps = ["1795561200412", "1795564800538", "1795568400291"];

    let jobs = bundle.json("cluster-resources/jobs/velero.json");
    let jobs = jobs["items"].as_array().unwrap();
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    for (job, stamp) in jobs.iter().zip(stamps) {
        assert_eq!(
            job["metadata"]["name"],
            format!("{repo}-maintain-job-{stamp}")
        );
        assert_eq!(job["metadata"]["labels"]["velero.io/repo-name"], repo);
        assert_eq!(job["spec"]["backoffLimit"], 0);
        assert_eq!(job["status"]["failed"], 1);
        let failed = job["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Failed")
            .unwrap();
        assert_eq!(failed["reason"], "BackoffLimitExceeded");
    }

    let pods = bundle.json("cluster-resources/pods/velero.json");
    let maintenance: Vec<&Value> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["labels"]["velero.io/repo-name"] == repo)
        .collect();
    assert_eq!(maintenance.len(), 3);
    for pod in &maintenance {
        let terminated = &pod["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(terminated["reason"], "OOMKilled", "{pod}");
        assert_eq!(terminated["exitCode"], 137);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "512Mi"
        );
        let name = pod["metadata"]["name"].as_str().unwrap();
        let log = bundle.text(&format!(
            "velero/logs/{name}/velero-repo-maintenance-container.log"
        ));
        assert!(
            log.contains("Start to open repo for maintenance, allow index write on load")
                && log.contains("Succeeded to open repo for maintenance"),
            "{name}: {log}"
        );
        // Job pods never restart: no previous log was asked for.
        assert!(!bundle.entries.contains_key(&format!(
            "velero/logs/{name}/velero-repo-maintenance-container-previous.log"
        )));
    }

    let events = bundle.json("cluster-resources/events/velero.json");
    let backoff: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "BackoffLimitExceeded" && e["involvedObject"]["kind"] == "Job")
        .map(|e| {
            assert_eq!(e["message"], "Job has reached the specified backoff limit");
            e["involvedObject"]["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(backoff.len(), 3, "{backoff:?}");
    assert!(backoff.iter().all(|j| j.starts_with(repo)));

    let repositories =
        bundle.json("cluster-resources/custom-resources/backuprepositories.velero.io/velero.json");
    let recent = repositories["items"][0]["status"]["recentMaintenance"]
        .as_array()
        .unwrap();
    assert_eq!(recent.len(), 3);
    assert!(recent.iter().all(|m| m["result"] == "Failed"
        && m["message"] == "Repo maintenance failed but result is not retrieveable"));

    let server = bundle.text("velero/logs/velero-7d9f8c6b5d-m4n7p/velero.log");
    assert!(server.contains("Maintenance repo complete, succeeded 0, failed 1"));
    assert!(
        !bundle.has_error("jobs", None),
        "{:?}",
        bundle.manifest.collector_errors
    );
    lab.shutdown().await;
}

/// data-mover-pending (#15): what tells why a data mover pod never ran is all in the bundle, each read for what
/// it says: the Pending backup pods (no toleration for the nodes' taints) and their FailedScheduling events,
/// the nodes' taints, the node-agent DaemonSet's tolerations, the timed-out DataUploads and the node agent's
/// diagnosis of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_mover_pending_bundle_holds_the_pending_pods_their_events_the_taints_and_tolerations()
{
    let scenario = Scenario::load(&scenarios_dir().join("data-mover-pending")).unwrap();
    let (lab, _outcome, bundle, _out) = run_against(scenario, &options()).await;
    let scheduler_says = "0/3 nodes are available: 1 node(s) had untolerated taint \
        {node-role.kubernetes.io/control-plane: }, 2 node(s) had untolerated taint {dedicated: app}.";

    let pods = bundle.json("cluster-resources/pods/velero.json");
    let movers: Vec<&Value> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["labels"]["velero.io/exposer-pod-group"] == "snapshot-exposer")
        .collect();
    assert_eq!(movers.len(), 2, "{movers:?}");
    for pod in &movers {
        let name = pod["metadata"]["name"].as_str().unwrap();
        assert_eq!(pod["metadata"]["labels"]["velero.io/data-upload"], name);
        assert_eq!(pod["status"]["phase"], "Pending");
        let scheduled = &pod["status"]["conditions"][0];
        assert_eq!(
            (&scheduled["type"], &scheduled["reason"]),
            (&json!("PodScheduled"), &json!("Unschedulable"))
        );
        assert!(
            scheduled["message"]
                .as_str()
                .unwrap()
                .starts_with(scheduler_says)
        );
        // Only the API server's not-ready / unreachable tolerations: nothing for `dedicated`.
        let keys: Vec<&str> = pod["spec"]["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable"
            ]
        );
        // A pod that never started has no log to collect, and none was asked for.
        assert!(
            !bundle
                .entries
                .keys()
                .any(|e| e.starts_with(&format!("velero/logs/{name}/")))
        );
    }

    let events = bundle.json("cluster-resources/events/velero.json");
    let failed_scheduling: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "FailedScheduling")
        .collect();
    assert_eq!(failed_scheduling.len(), 2);
    for event in failed_scheduling {
        assert_eq!(event["involvedObject"]["kind"], "Pod");
        assert!(
            movers
                .iter()
                .any(|p| p["metadata"]["name"] == event["involvedObject"]["name"])
        );
        assert!(
            event["message"]
                .as_str()
                .unwrap()
                .starts_with(scheduler_says)
        );
        assert_eq!(event["source"]["component"], "default-scheduler");
    }

    let nodes = bundle.json("cluster/nodes.json");
    let taints: Vec<(String, String)> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| {
            n["spec"]["taints"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| {
                    (
                        n["metadata"]["name"].as_str().unwrap().to_string(),
                        format!(
                            "{}={}:{}",
                            t["key"].as_str().unwrap(),
                            t["value"].as_str().unwrap_or(""),
                            t["effect"].as_str().unwrap()
                        ),
                    )
                })
        })
        .collect();
    assert_eq!(
        taints,
        [
            (
                "cp-1".to_string(),
                "node-role.kubernetes.io/control-plane=:NoSchedule".to_string()
            ),
            (
                "worker-1".to_string(),
                "dedicated=app:NoSchedule".to_string()
            ),
            (
                "worker-2".to_string(),
                "dedicated=app:NoSchedule".to_string()
            ),
        ]
    );

    let daemonsets = bundle.json("cluster-resources/daemonsets/velero.json");
    let agent = &daemonsets["items"][0];
    assert_eq!(agent["metadata"]["name"], "node-agent");
    assert_eq!(
        agent["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "dedicated", "operator": "Equal", "value": "app", "effect": "NoSchedule"}])
    );

    let uploads =
        bundle.json("cluster-resources/custom-resources/datauploads.velero.io/velero.json");
    let timed_out: Vec<&str> = uploads["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"]["message"] == "timeout on preparing data upload")
        .map(|u| u["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        timed_out,
        ["daily-20261125020000-7x2kq", "daily-20261125020000-m4p9z"]
    );
    let agent_log = bundle.text("velero/logs/node-agent-h5k8q/node-agent.log");
    assert!(
        agent_log.contains("Timeout happened for preparing dataupload")
            && agent_log.contains(&format!(
                "[Diagnose DU expose]Pod condition PodScheduled, status False, reason Unschedulable, message {scheduler_says}"
            )),
        "{agent_log}"
    );
    lab.shutdown().await;
}

/// restore-wait-failed (#15): the restored namespace's Pod Security labels and the restore's own account of the
/// refused pod (its log and results) are in the bundle, each read for what it says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_wait_failed_bundle_holds_the_pod_security_labels_and_the_refusal() {
    let scenario = Scenario::load(&scenarios_dir().join("restore-wait-failed")).unwrap();
    let (lab, _outcome, bundle, _out) = run_against(scenario, &options()).await;
    let namespaces = bundle.json("cluster/namespaces.json");
    let restored = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["metadata"]["name"] == "app-restore")
        .expect("the restored namespace");
    let labels = &restored["metadata"]["labels"];
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
    assert_eq!(
        labels["pod-security.kubernetes.io/enforce-version"],
        "latest"
    );
    assert_eq!(
        labels["velero.io/restore-name"],
        "restore-app-20261125110000"
    );

    let refusal = "error restoring pods/app-restore/db-0: pods \"db-0\" is forbidden: violates PodSecurity \
        \"restricted:latest\": allowPrivilegeEscalation != false (container \"restore-wait\" must set \
        securityContext.allowPrivilegeEscalation=false)";
    let results = bundle.json("velero/restores/restore-app-20261125110000/results.json");
    let errors = results["errors"]["namespaces"]["app-restore"]
        .as_array()
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].as_str().unwrap().starts_with(refusal),
        "{errors:?}"
    );
    let log = bundle.text("velero/restores/restore-app-20261125110000/restore.log");
    assert!(
        log.contains(
            "Namespace app-restore, resource restore error: error restoring pods/app-restore/db-0"
        ) && log
            .contains("container \\\"restore-wait\\\" must set securityContext.runAsNonRoot=true"),
        "{log}"
    );
    // The pod the StatefulSet created instead, without restore-wait.
    let pods = bundle.json("cluster-resources/pods/app-restore.json");
    let db = &pods["items"][0];
    assert_eq!(db["metadata"]["name"], "db-0");
    assert!(db["spec"].get("initContainers").is_none());
    lab.shutdown().await;
}

/// #15: Velero's ConfigMaps (here the repository maintenance job's, as Velero 1.16's docs create it:
/// site/content/docs/v1.16/repository-maintenance.md at vmware-tanzu/velero d30d389b) are in the bundle, whole;
/// the CSI snapshot API, which this cluster does not serve (no snapshot CRDs), is skipped without an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn velero_s_configmaps_are_collected_and_unserved_snapshot_apis_skipped() {
    let mut scenario = Scenario::load(&scenarios_dir().join("healthy")).unwrap();
    let settings = r#"{"global": {"podResources": {"cpuRequest": "100m", "cpuLimit": "200m", "memoryRequest": "100Mi", "memoryLimit": "200Mi"}}}"#;
    scenario.objects.push(snapdoc::lab::ScenarioObject {
        file: "tests/collect.rs".into(),
        line: 0,
        value: serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "repo-maintenance-job-config", "namespace": "velero",
                         "creationTimestamp": "2026-11-20T10:00:00Z"},
            "data": {"repo-maintenance-job-config.json": settings},
        }),
    });
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let kept = bundle.item(
        "cluster-resources/configmaps/velero.json",
        "repo-maintenance-job-config",
    );
    assert_eq!(kept["data"]["repo-maintenance-job-config.json"], settings);
    let snapshot_lists: Vec<_> = lab
        .request_log()
        .into_iter()
        .filter(|r| r.path.starts_with("/apis/snapshot.storage.k8s.io/"))
        .collect();
    assert_eq!(snapshot_lists.len(), 3, "{snapshot_lists:?}");
    assert!(
        !bundle
            .entries
            .keys()
            .any(|e| e.contains("snapshot.storage.k8s.io")),
        "an API not served leaves no entry"
    );
    assert!(
        outcome.manifest.collector_errors.is_empty(),
        "{:?}",
        outcome.manifest.collector_errors
    );
}

/// The DownloadRequests left in the lab (snapdoc leaves them for Velero to expire), as (kind, name).
async fn download_request_targets(lab: &LabCluster) -> Vec<(String, String)> {
    let client = lab.client().await.unwrap();
    let resource = kube::api::ApiResource {
        group: "velero.io".into(),
        version: "v1".into(),
        api_version: "velero.io/v1".into(),
        kind: "DownloadRequest".into(),
        plural: "downloadrequests".into(),
    };
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client, "velero", &resource);
    let mut targets: Vec<(String, String)> = api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| {
            let target = &r.data["spec"]["target"];
            (
                target["kind"].as_str().unwrap_or_default().to_string(),
                target["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    targets.sort();
    targets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn velero_s_other_files_of_a_failed_backup_come_through_download_requests() {
    // lab-basics runs Velero 1.16; its store holds the partially failed backup's volume info and
    // resource list, as Velero writes them, and none of its other detail files.
    let scenario = Scenario::load(&scenarios_dir().join("lab-basics")).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let failed = "daily-20261124020000";
    let info = bundle.json(&format!("velero/backups/{failed}/volumeinfo.json"));
    assert_eq!(info[0]["result"], "failed");
    assert_eq!(info[0]["pvbInfo"]["podName"], "app-db-0");
    assert_eq!(
        info[1]["skippedReason"],
        "podvolume: opted out due to annotation in pod app-web-0;"
    );
    let resources = bundle.json(&format!("velero/backups/{failed}/resource-list.json"));
    assert_eq!(resources["v1/Pod"][0], "app/app-db-0");

    // What the store does not hold is noted, not counted as a failure to collect.
    let downloads = &outcome.manifest.scope["downloads"];
    let absent: Vec<(&str, &str)> = downloads["notInStore"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["name"].as_str().unwrap()))
        .collect();
    assert!(
        absent.contains(&("BackupItemOperations", failed)),
        "{absent:?}"
    );
    assert!(
        !absent.contains(&("BackupVolumeInfos", failed)),
        "{absent:?}"
    );
    assert!(
        !outcome.manifest.collector_errors.iter().any(|e| e
            .target
            .as_deref()
            .is_some_and(|t| t.starts_with("BackupItemOperations"))),
        "{:?}",
        outcome.manifest.collector_errors
    );
    // A 1.16 server still writes every kind: none was left out.
    assert_eq!(downloads["skippedKinds"], serde_json::json!([]));
    // Details are asked for the failed backups and the newest, not for every backup whose log is fetched.
    let targets = download_request_targets(&lab).await;
    let detailed: BTreeSet<&str> = targets
        .iter()
        .filter(|(kind, _)| kind == "BackupVolumeInfos")
        .map(|(_, name)| name.as_str())
        .collect();
    let logged: BTreeSet<&str> = targets
        .iter()
        .filter(|(kind, _)| kind == "BackupLog")
        .map(|(_, name)| name.as_str())
        .collect();
    assert!(detailed.contains(failed) && detailed.contains("daily-20261122020000"));
    assert!(detailed.len() < logged.len(), "{detailed:?} of {logged:?}");

    // The verdict of the partially failed backup names the volume Velero skipped, from its volume info.
    let analysis = snapdoc::analyze::analyze_bundle(
        &outcome.path,
        &snapdoc::analyze::AnalysisOptions::default(),
    )
    .unwrap();
    let verdict = analysis
        .verdicts
        .iter()
        .find(|v| v.target.name == failed)
        .unwrap();
    let skipped = verdict
        .lost
        .volumes
        .iter()
        .find(|v| v.claim.as_deref() == Some("cache-app-web-0"))
        .unwrap_or_else(|| panic!("{:?}", verdict.lost));
    assert_eq!(skipped.phase.as_deref(), Some("Skipped"));
    assert_eq!(
        skipped.reason.as_deref(),
        Some("Velero skipped it: podvolume: opted out due to annotation in pod app-web-0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_the_installed_crd_does_not_list_are_skipped_and_said() {
    // Helm does not upgrade CRDs: a 1.16 server whose DownloadRequest CRD is still v1.12's. The API server
    // refuses BackupVolumeInfos and RestoreVolumeInfo; snapdoc reads the CRD and does not ask.
    let old_crd = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/crds/velero-v1.12.0-downloadrequests.yaml"),
    )
    .unwrap();
    let mut files = scenario_files(&scenarios_dir().join("lab-basics"));
    files.push(("objects/zz-downloadrequests-crd.yaml".into(), old_crd));
    let scenario = Scenario::from_files("lab-basics", "test:old-crd", files).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let skipped = &outcome.manifest.scope["downloads"]["skippedKinds"];
    let skipped: Vec<(&str, &str)> = skipped
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["why"].as_str().unwrap()))
        .collect();
    let crd_why = "the server's DownloadRequest CRD does not list it";
    assert_eq!(
        skipped,
        [
            ("BackupVolumeInfos", crd_why),
            ("RestoreVolumeInfo", crd_why)
        ]
    );
    assert!(
        !bundle
            .entries
            .contains_key("velero/backups/daily-20261124020000/volumeinfo.json")
    );
    assert!(
        bundle
            .entries
            .contains_key("velero/backups/daily-20261124020000/resource-list.json")
    );
    let targets = download_request_targets(&lab).await;
    assert!(
        !targets
            .iter()
            .any(|(kind, _)| kind.ends_with("VolumeInfos"))
    );

    // The lab refuses the kind as the API server does, in its words.
    let client = lab.client().await.unwrap();
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("velero.io", "v1", "DownloadRequest"),
        "downloadrequests",
    );
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client, "velero", &resource);
    let mut request = kube::api::DynamicObject::new("by-hand", &resource);
    request.data =
        serde_json::json!({"spec": {"target": {"kind": "BackupVolumeInfos", "name": "x"}}});
    let refused = api.create(&Default::default(), &request).await.unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains(
            "spec.target.kind: Unsupported value: \"BackupVolumeInfos\": supported values: \"BackupLog\""
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_log_keeps_the_lines_of_the_failed_backups_windows() {
    // lab-basics' node agent, with a line a minute after the partially failed backup until the scenario's
    // present (composed filler in the node agent's wording): 8 KiB and one hour would keep only the last
    // minutes, and nothing of the failure at 2026-11-24T02:14.
    let mut files = scenario_files(&scenarios_dir().join("lab-basics"));
    let log = files
        .iter_mut()
        .find(|(path, _)| path.ends_with("node-agent-q8w2k/node-agent.log"))
        .unwrap();
    let start: jiff::Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
    for minute in 0..(33 * 60) {
        let at = start + jiff::SignedDuration::from_mins(minute);
        log.1.push_str(&format!(
            "time=\"{at}\" level=info msg=\"Reconciling PodVolumeBackup\" controller=podvolumebackup logSource=\"pkg/controller/pod_volume_backup_controller.go:95\"\n"
        ));
    }
    // Without lab-basics' dropped node-agent stream: this log is to come whole.
    let settings = files
        .iter_mut()
        .find(|(path, _)| path == "scenario.yaml")
        .unwrap();
    settings.1 = settings
        .1
        .lines()
        .filter(|l| !l.contains("droppedLogStreams") && !l.contains("afterBytes"))
        .map(|l| format!("{l}\n"))
        .collect();
    let scenario = Scenario::from_files("lab-basics", "test:long-node-agent-log", files).unwrap();
    let options = CollectOptions {
        max_log_bytes: 8192,
        since: "1h".parse().unwrap(),
        ..options()
    };
    let (_lab, outcome, bundle, _out) = run_against(scenario, &options).await;
    let entry = "velero/logs/node-agent-q8w2k/node-agent.log";
    let text = String::from_utf8(bundle.entries[entry].clone()).unwrap();
    let first_lines: Vec<&str> = text.lines().take(3).collect();
    assert!(
        first_lines[0].contains("PodVolumeBackup starting")
            && first_lines[1].contains("Error running kopia backup")
            && first_lines[2].contains("PodVolumeBackup finished"),
        "{first_lines:?}"
    );
    // Then the newest lines, within --since: nothing between.
    assert!(text.lines().nth(3).unwrap().contains("Reconciling"));
    assert!(text.len() < 2 * 8192 + 1024, "{}", text.len());
    let windows = &outcome.manifest.scope["logWindows"];
    assert!(
        windows
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["target"] == "backup/daily-20261124020000"),
        "{windows}"
    );
    let file = outcome
        .manifest
        .files
        .iter()
        .find(|f| f.path == entry)
        .unwrap();
    let why = file.truncated.as_deref().unwrap();
    assert!(why.contains("windows of failed backups"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_cluster_object_store_s_pods_claims_events_and_logs_are_collected() {
    // The healthy scenario with its location moved to kURL's in-cluster MinIO (`http://minio.minio`, as the
    // kURL velero add-on configures it): a MinIO Deployment's pod, its claim and an event in namespace minio.
    // The objects and the log line are composed for the collector; no rule reads them here.
    let mut files = scenario_files(&scenarios_dir().join("healthy"));
    let config = files
        .iter_mut()
        .find(|(path, _)| path.ends_with("20-velero-config.yaml"))
        .unwrap();
    config.1 = config.1.replacen(
        "    region: us-east-2\n",
        "    region: us-east-1\n    s3ForcePathStyle: 'true'\n    s3Url: http://minio.minio\n",
        1,
    );
    files.push((
        "objects/60-minio.yaml".into(),
        r#"---
apiVersion: v1
kind: Pod
metadata:
  name: minio-6b8f9c7d5-k2x9q
  namespace: minio
  labels: {app: minio}
spec:
  containers:
    - name: minio
      image: minio/minio:RELEASE.2023-05-04T21-44-30Z
      volumeMounts: [{name: data, mountPath: /data}]
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: minio-pv-claim}
status:
  phase: Running
  containerStatuses:
    - name: minio
      ready: true
      restartCount: 2
      lastState: {terminated: {reason: Error, exitCode: 1, finishedAt: '2026-11-25T02:00:40Z'}}
---
apiVersion: v1
kind: Pod
metadata:
  name: unrelated-0
  namespace: minio
spec:
  containers: [{name: sidecar, image: busybox}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: minio-pv-claim
  namespace: minio
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Gi}}
status:
  phase: Bound
  capacity: {storage: 10Gi}
---
apiVersion: v1
kind: Event
metadata:
  name: minio-6b8f9c7d5-k2x9q.17a1b2c3d4e5f607
  namespace: minio
involvedObject: {kind: Pod, namespace: minio, name: minio-6b8f9c7d5-k2x9q}
reason: BackOff
message: Back-off restarting failed container minio in pod minio-6b8f9c7d5-k2x9q_minio
type: Warning
lastTimestamp: '2026-11-25T02:00:41Z'
"#
        .into(),
    ));
    files.push((
        "logs/minio/minio-6b8f9c7d5-k2x9q/minio.log".into(),
        "Status:         1 Online, 0 Offline.\nAPI: http://10.32.0.12:9000  http://127.0.0.1:9000\n".into(),
    ));
    let scenario = Scenario::from_files("healthy", "test:kurl-minio", files).unwrap();
    let (_lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let log = String::from_utf8(
        bundle.entries["object-store/logs/minio-6b8f9c7d5-k2x9q/minio.log"].clone(),
    )
    .unwrap();
    assert!(log.starts_with("Status:         1 Online"), "{log}");
    // The restarted container's previous log was asked for too (the lab has none: recorded, not fatal).
    assert!(
        !bundle
            .entries
            .contains_key("object-store/logs/unrelated-0/sidecar.log")
    );
    let pods = bundle.json("cluster-resources/pods/minio.json");
    assert!(
        pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["metadata"]["name"] == "minio-6b8f9c7d5-k2x9q")
    );
    let claims = bundle.json("cluster-resources/persistentvolumeclaims/minio.json");
    assert_eq!(claims["items"][0]["status"]["capacity"]["storage"], "10Gi");
    let events = bundle.json("cluster-resources/events/minio.json");
    assert_eq!(events["items"][0]["reason"], "BackOff");
    assert_eq!(
        outcome.manifest.scope["inClusterObjectStores"],
        serde_json::json!([{"location": "default", "namespace": "minio", "service": "minio"}])
    );
    // The file name says which program wrote it: the analysis reads it as the object store's log.
    assert_eq!(
        snapdoc::bundle::classify_log("object-store/logs/minio-6b8f9c7d5-k2x9q/minio.log")
            .unwrap()
            .source,
        snapdoc::bundle::LogSource::ObjectStore
    );
}

/// restore-wait-looping (#15): the restored pod held by restore-wait, whose helper still waits for a volume's done
/// file, and the PodVolumeRestore that failed, are both in the bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_restore_helper_s_log_and_its_failed_volume_restore_are_collected() {
    let scenario = Scenario::load(&scenarios_dir().join("restore-wait-looping")).unwrap();
    let (_lab, _outcome, bundle, _out) = run_against(scenario, &options()).await;
    let log =
        String::from_utf8(bundle.entries["velero/logs/db-0/restore-wait.log"].clone()).unwrap();
    assert_eq!(log.lines().count(), 1191);
    assert!(log.ends_with(
        "The filesystem restore done file /restores/data/.velero/3f5b7d9b-8ec0-4cef-d7a3-1e3a5c7e9a11 is not \
         found yet. Retry later.\n"
    ));
    let restores: serde_json::Value = serde_json::from_slice(
        &bundle.entries
            [&snapdoc::bundle::objects_path("podvolumerestores.velero.io", Some("velero"))],
    )
    .unwrap();
    let pvr = &restores["items"][0];
    assert_eq!(pvr["spec"]["pod"]["name"], "db-0");
    assert_eq!(pvr["status"]["phase"], "Failed");
    // The node agent's log from before it was OOMKilled shows the restore it was running.
    let previous = String::from_utf8(
        bundle.entries["velero/logs/node-agent-x7v2d/node-agent-previous.log"].clone(),
    )
    .unwrap();
    assert!(
        previous.contains("restore-app-20261125110000-x8k2p"),
        "{previous}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_pod_held_by_restore_wait_gives_the_helper_s_logs() {
    // restore-wait-failed's restore maps app into app-restore. Here the restored pod was admitted and is
    // held by Velero's restore helper, which keeps failing (the pod is composed; the log line is the helper's
    // own, cmd/velero-restore-helper/velero-restore-helper.go:70 at d30d389b); the collector fetches the
    // helper's current and previous logs.
    let mut files = scenario_files(&scenarios_dir().join("restore-wait-failed"));
    files.push((
        "objects/zz-restored-pod.yaml".into(),
        r#"---
apiVersion: v1
kind: Pod
metadata:
  name: db-restored-0
  namespace: app-restore
spec:
  initContainers:
    - name: restore-wait
      image: velero/velero-restore-helper:v1.15.0
  containers:
    - name: db
      image: postgres:16
status:
  phase: Pending
  initContainerStatuses:
    - name: restore-wait
      ready: false
      restartCount: 3
      state: {waiting: {reason: CrashLoopBackOff}}
      lastState: {terminated: {reason: Error, exitCode: 1}}
"#
        .into(),
    ));
    files.push((
        "logs/app-restore/db-restored-0/restore-wait.log".into(),
        "The filesystem restore done file /restores/data/.velero/3f1c2a4b-0d5e-4c1f-9a8b-2e7d6c5b4a39 is not found yet. Retry later.\n".into(),
    ));
    let scenario = Scenario::from_files("restore-wait-failed", "test:restore-wait", files).unwrap();
    let (_lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let log =
        String::from_utf8(bundle.entries["velero/logs/db-restored-0/restore-wait.log"].clone())
            .unwrap();
    assert!(log.contains("is not found yet. Retry later."), "{log}");
    // The previous container's log was asked for: the lab has none, and says so as a kubelet would.
    assert!(
        outcome.manifest.collector_errors.iter().any(|e| e
            .target
            .as_deref()
            .is_some_and(|t| t == "db-restored-0/restore-wait (previous)")),
        "{:?}",
        outcome.manifest.collector_errors
    );
}

/// KOTS's snapshot settings as the API tells them (#15): the healthy scenario's full snapshots, eight scheduled
/// a day apart and one taken by hand, each with KOTS's 30-day TTL. The cron schedule is KOTS's database's, and
/// the scope says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kots_snapshot_ttl_and_interval_are_derived_from_its_backups() {
    let scenario = Scenario::load(&scenarios_dir().join("healthy")).unwrap();
    let (lab, outcome, _bundle, _out) = run_against(scenario, &options()).await;
    let kots = &outcome.manifest.scope["kotsSnapshots"];
    let instance = &kots["instance"];
    assert_eq!(instance["backups"], 9, "{kots}");
    assert_eq!(instance["scheduled"], 8);
    assert_eq!(instance["manual"], 1);
    assert_eq!(instance["ttl"], "720h0m0s");
    assert_eq!(instance["ttlFrom"], "instance-9wc4h");
    assert_eq!(instance["lastScheduled"], "instance-9wc4h");
    assert_eq!(instance["scheduledIntervalSeconds"], 86_400);
    assert!(kots["application"].is_null(), "{kots}");
    assert!(
        kots["from"]
            .as_str()
            .unwrap()
            .contains("KOTS keeps the cron schedule in its database"),
        "{kots}"
    );
    lab.shutdown().await;
}

/// composed: the CSI snapshot API (external-snapshotter's snapshot.storage.k8s.io/v1 kinds), CSIDrivers and
/// PriorityClasses, served to the lab as CustomResourceDefinitions of their real groups (the lab has no
/// built-in kinds for them), with one object of each: a VolumeSnapshot that failed, its content and the class
/// Velero selects by label, the class the node agent's priority setting names.
const CSI_OBJECTS: &str = r#"
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: ebs-snapclass
  labels: {velero.io/csi-volumesnapshot-class: "true"}
driver: ebs.csi.aws.com
deletionPolicy: Retain
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: snapcontent-6f1c2b7a-8d3f-4a6e-b1c9-7f2d4e6a8b01}
spec:
  deletionPolicy: Retain
  driver: ebs.csi.aws.com
  source: {volumeHandle: vol-0a1b2c3d4e5f67890}
  volumeSnapshotClassName: ebs-snapclass
  volumeSnapshotRef: {name: velero-data-db-0-x2k9p, namespace: velero}
status:
  readyToUse: false
  error: {message: "Failed to check and update snapshot content: SnapshotCreationPerVolumeRateExceeded", time: "2026-11-24T02:05:00Z"}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: velero-data-db-0-x2k9p, namespace: velero, labels: {velero.io/backup-name: daily-20261124020000}}
spec:
  source: {persistentVolumeClaimName: data-db-0}
  volumeSnapshotClassName: ebs-snapclass
status:
  boundVolumeSnapshotContentName: snapcontent-6f1c2b7a-8d3f-4a6e-b1c9-7f2d4e6a8b01
  readyToUse: false
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: ebs.csi.aws.com}
spec: {attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: [Persistent]}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: velero-critical}
value: 100000
globalDefault: false
description: Velero's node agent and data movers
"#;

/// A CustomResourceDefinition serving `plural.group` v1 with any fields, as the lab reads one.
fn open_crd(group: &str, plural: &str, kind: &str, scope: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: {plural}.{group}}}\n\
         spec:\n  group: {group}\n  names: {{plural: {plural}, singular: {singular}, kind: {kind}, listKind: {kind}List}}\n\
         \x20 scope: {scope}\n  versions:\n    - {{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: \
         {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}}}\n---\n",
        singular = kind.to_lowercase()
    )
}

/// The CSI side of snapshots, CSIDrivers and PriorityClasses (#15): each list is in the bundle whole, under
/// the entries bundle-format.md names, with what rules read (the class's Velero label, the snapshot's error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csi_snapshot_objects_csi_drivers_and_priority_classes_are_collected() {
    let mut files = scenario_files(&scenarios_dir().join("lab-basics"));
    let crds: String = [
        (
            "snapshot.storage.k8s.io",
            "volumesnapshotclasses",
            "VolumeSnapshotClass",
            "Cluster",
        ),
        (
            "snapshot.storage.k8s.io",
            "volumesnapshotcontents",
            "VolumeSnapshotContent",
            "Cluster",
        ),
        (
            "snapshot.storage.k8s.io",
            "volumesnapshots",
            "VolumeSnapshot",
            "Namespaced",
        ),
        ("storage.k8s.io", "csidrivers", "CSIDriver", "Cluster"),
        (
            "scheduling.k8s.io",
            "priorityclasses",
            "PriorityClass",
            "Cluster",
        ),
    ]
    .iter()
    .map(|(group, plural, kind, scope)| open_crd(group, plural, kind, scope))
    .collect();
    files.push(("objects/csi.yaml".into(), crds + CSI_OBJECTS));
    let scenario = Scenario::from_files("csi-lab", "test:csi-lab", files).unwrap();
    let (lab, outcome, bundle, _out) = run_against(scenario, &options()).await;
    let classes = bundle.json(
        "cluster-resources/custom-resources/volumesnapshotclasses.snapshot.storage.k8s.io/_cluster.json",
    );
    assert_eq!(
        classes["items"][0]["metadata"]["labels"]["velero.io/csi-volumesnapshot-class"],
        "true"
    );
    assert_eq!(classes["items"][0]["driver"], "ebs.csi.aws.com");
    let contents = bundle.json(
        "cluster-resources/custom-resources/volumesnapshotcontents.snapshot.storage.k8s.io/_cluster.json",
    );
    assert!(
        contents["items"][0]["status"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SnapshotCreationPerVolumeRateExceeded"),
        "{contents}"
    );
    let snapshots = bundle.json(
        "cluster-resources/custom-resources/volumesnapshots.snapshot.storage.k8s.io/velero.json",
    );
    assert_eq!(
        snapshots["items"][0]["spec"]["source"]["persistentVolumeClaimName"],
        "data-db-0"
    );
    assert_eq!(snapshots["items"][0]["status"]["readyToUse"], false);
    let drivers = bundle.json("cluster-resources/csidrivers/_cluster.json");
    assert_eq!(drivers["items"][0]["spec"]["attachRequired"], true);
    let priorities = bundle.json("cluster-resources/priorityclasses/_cluster.json");
    assert_eq!(
        priorities["items"][0]["metadata"]["name"],
        "velero-critical"
    );
    assert_eq!(priorities["items"][0]["value"], 100000);
    // lab-basics' own refusals and missing store files aside, none of these lists failed.
    assert!(
        !outcome.manifest.collector_errors.iter().any(|e| e
            .target
            .as_deref()
            .is_some_and(|t| t.contains("snapshot")
                || t == "csidrivers"
                || t == "priorityclasses")),
        "{:?}",
        outcome.manifest.collector_errors
    );
    lab.shutdown().await;
}

/// failed-bsl (#15, "record why a backup's log cannot be had"): the location is Unavailable (NoSuchBucket), so
/// the store has none of its backups' files; each download's error says the store's answer and the location's
/// state in Velero's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_not_had_from_an_unavailable_location_says_the_location_s_state() {
    let scenario = Scenario::load(&scenarios_dir().join("failed-bsl")).unwrap();
    let (lab, outcome, _bundle, _out) = run_against(scenario, &options()).await;
    let logs: Vec<&snapdoc::bundle::CollectorError> = outcome
        .manifest
        .collector_errors
        .iter()
        .filter(|e| {
            e.target
                .as_deref()
                .is_some_and(|t| t.starts_with("BackupLog "))
        })
        .collect();
    assert!(!logs.is_empty(), "{:?}", outcome.manifest.collector_errors);
    for error in logs {
        assert!(
            error
                .message
                .contains("its storage location default was Unavailable at its last validation")
                && error
                    .message
                    .contains("NoSuchBucket: The specified bucket does not exist"),
            "{error:?}"
        );
    }
    lab.shutdown().await;
}
