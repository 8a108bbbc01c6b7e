//! The lab cluster driven by kube-rs, as snapdoc's collector drives a real cluster.
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, LogParams, PostParams,
    WatchEvent, WatchParams,
};
use serde_json::json;
use snapdoc::lab::DownloadRequestMode;
use snapdoc::lab::{LabCluster, Scenario, shift_log};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const VELERO_POD: &str = "velero-7d9f8c6b5d-x2x4z";

fn scenario_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

fn basics() -> Scenario {
    Scenario::load(&scenario_dir("lab-basics")).expect("lab-basics loads")
}

fn velero_api(client: kube::Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("velero.io", "v1", kind), plural);
    Api::namespaced_with(client, "velero", &resource)
}

fn api_status(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected a Status answer, got {other:?}"),
    }
}

/// GET of an http:// URL over a plain socket (the object store speaks HTTP/1.1): (status, body).
async fn http_get(url: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let parsed = url::Url::parse(url).expect("a URL");
    let address = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let mut stream = tokio::net::TcpStream::connect(&address).await?;
    let target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_string(),
    };
    stream
        .write_all(
            format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    Ok((status, raw[split + 4..].to_vec()))
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("gzip data");
    text
}

async fn create_download_request(api: &Api<DynamicObject>, kind: &str, target: &str) -> String {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("velero.io", "v1", "DownloadRequest"),
        "downloadrequests",
    );
    let mut request = DynamicObject::new("", &resource)
        .data(json!({"spec": {"target": {"kind": kind, "name": target}}}));
    request.metadata.name = None;
    request.metadata.generate_name = Some(format!("{target}-"));
    let created = api
        .create(&PostParams::default(), &request)
        .await
        .expect("create DownloadRequest");
    created.metadata.name.expect("a generated name")
}

async fn wait_for_status(
    api: &Api<DynamicObject>,
    name: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..50 {
        let current = api.get(name).await.expect("get DownloadRequest");
        if done(&current.data["status"]) {
            return current.data["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("DownloadRequest {name} never reached the expected status");
}

#[tokio::test]
async fn paged_list_returns_every_backup_once() {
    let scenario = basics();
    let mut expected: Vec<String> = scenario
        .objects_of("backups.velero.io")
        .iter()
        .map(|backup| backup["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    expected.sort();
    let lab = LabCluster::start(scenario).await.unwrap();
    let backups = velero_api(lab.client().await.unwrap(), "Backup", "backups");
    let mut names = Vec::new();
    let mut pages = 0;
    let mut params = ListParams::default().limit(2);
    loop {
        let page = backups.list(&params).await.expect("list a page");
        pages += 1;
        assert!(page.items.len() <= 2);
        names.extend(page.items.iter().map(|b| b.metadata.name.clone().unwrap()));
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = ListParams::default().limit(2).continue_token(&token),
            None => break,
        }
    }
    assert_eq!(names, expected);
    assert_eq!(pages, expected.len().div_ceil(2));
    let log = lab.request_log();
    assert!(
        log.iter()
            .any(|r| r.path == "/apis/velero.io/v1/namespaces/velero/backups"
                && r.query.contains("limit=2")
                && r.query.contains("continue="))
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn stale_or_foreign_continue_tokens_get_410_expired() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let other = LabCluster::start(basics()).await.unwrap();
    let backups = velero_api(lab.client().await.unwrap(), "Backup", "backups");
    let first = backups.list(&ListParams::default().limit(2)).await.unwrap();
    let token = first.metadata.continue_.expect("a continue token");
    assert!(first.metadata.remaining_item_count.is_some_and(|n| n > 0));

    let foreign = velero_api(other.client().await.unwrap(), "Backup", "backups");
    let status = api_status(
        foreign
            .list(&ListParams::default().limit(2).continue_token(&token))
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));

    lab.compact();
    let status = api_status(
        backups
            .list(&ListParams::default().limit(2).continue_token(&token))
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert!(
        status
            .message
            .starts_with("The provided continue parameter is too old")
    );

    let status = api_status(
        backups
            .list(&ListParams::default().limit(2).continue_token("not-a-token"))
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 400);
    lab.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn forbidden_resources_answer_403_in_rbac_words() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let client = lab.client().await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "velero");
    let status = api_status(secrets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "secrets is forbidden: User \"system:serviceaccount:default:snapdoc\" cannot list resource \"secrets\" in API group \"\" in the namespace \"velero\""
    );
    let all_secrets: Api<Secret> = Api::all(client.clone());
    let status = api_status(all_secrets.list(&ListParams::default()).await.unwrap_err());
    assert!(
        status.message.ends_with("at the cluster scope"),
        "{}",
        status.message
    );

    // podvolumebackups: list is forbidden, get is not (it answers 404 for a missing object).
    let volume_backups = velero_api(client, "PodVolumeBackup", "podvolumebackups");
    let status = api_status(
        volume_backups
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 403);
    assert!(
        status
            .message
            .contains("cannot list resource \"podvolumebackups\" in API group \"velero.io\"")
    );
    let status = api_status(volume_backups.get("missing").await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(
        status.message,
        "podvolumebackups.velero.io \"missing\" not found"
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn no_token_gets_401() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let mut config = lab.kube_config().unwrap();
    config.auth_info = kube::config::AuthInfo::default();
    let anonymous = kube::Client::try_from(config).unwrap();
    let pods: Api<Pod> = Api::all(anonymous);
    let status = api_status(pods.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
    lab.shutdown().await;
}

#[tokio::test]
async fn pod_logs_follow_the_kubelet_options() {
    let scenario = basics();
    let current = std::fs::read_to_string(
        scenario_dir("lab-basics").join(format!("logs/velero/{VELERO_POD}/velero.log")),
    )
    .unwrap();
    let previous = std::fs::read_to_string(
        scenario_dir("lab-basics").join(format!("logs/velero/{VELERO_POD}/velero.previous.log")),
    )
    .unwrap();
    let lab = LabCluster::start(scenario).await.unwrap();
    let shift_of_lab = |text: &str| shift_log(text, lab.time_shift());
    let pods: Api<Pod> = Api::namespaced(lab.client().await.unwrap(), "velero");
    let velero = |extra: LogParams| LogParams {
        container: Some("velero".to_string()),
        ..extra
    };

    let whole = pods
        .logs(VELERO_POD, &velero(LogParams::default()))
        .await
        .unwrap();
    assert_eq!(whole, shift_of_lab(&current));
    let tail = pods
        .logs(
            VELERO_POD,
            &velero(LogParams {
                tail_lines: Some(2),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let last_two: Vec<&str> = whole
        .lines()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(tail.lines().collect::<Vec<_>>(), last_two);
    let old = pods
        .logs(
            VELERO_POD,
            &velero(LogParams {
                previous: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(old, shift_of_lab(&previous));
    let limited = pods
        .logs(
            VELERO_POD,
            &velero(LogParams {
                limit_bytes: Some(30),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(limited, whole[..30]);
    // The scenario's last line is 30 s before the reference time, the one before it 10 minutes before.
    let recent = pods
        .logs(
            VELERO_POD,
            &velero(LogParams {
                since_seconds: Some(300),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(recent.lines().count(), 1, "{recent}");
    let stamped = pods
        .logs(
            VELERO_POD,
            &velero(LogParams {
                timestamps: true,
                tail_lines: Some(1),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let (stamp, rest) = stamped.split_once(' ').unwrap();
    assert!(stamp.ends_with('Z') && stamp.contains('.'), "{stamp}");
    assert_eq!(rest.trim_end(), last_two[1]);

    let status = api_status(
        pods.logs(
            VELERO_POD,
            &LogParams {
                container: Some("nope".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (
            400,
            format!("container nope is not valid for pod {VELERO_POD}").as_str()
        )
    );
    let status = api_status(
        pods.logs(VELERO_POD, &LogParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        status.message,
        format!(
            "a container name must be specified for pod {VELERO_POD}, choose one of: [velero] or one of the init containers: [velero-plugin-for-aws]"
        )
    );
    let status = api_status(
        pods.logs(
            "node-agent-q8w2k",
            &LogParams {
                previous: true,
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        status.message,
        "previous terminated container \"node-agent\" in pod \"node-agent-q8w2k\" not found"
    );
    let status = api_status(pods.logs("gone", &LogParams::default()).await.unwrap_err());
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "pods \"gone\" not found")
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn dropped_log_stream_is_cut_after_its_bytes() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(lab.client().await.unwrap(), "velero");
    let stream = pods
        .log_stream("node-agent-q8w2k", &LogParams::default())
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut reader = futures::io::AsyncReadExt::take(stream, 1 << 20);
    let outcome = futures::io::AsyncReadExt::read_to_end(&mut reader, &mut received).await;
    assert!(
        outcome.is_err(),
        "the stream must end in an error, got {} bytes cleanly",
        received.len()
    );
    assert_eq!(received.len(), 200);
    lab.shutdown().await;
}

#[tokio::test]
async fn download_request_flow_end_to_end() {
    let scenario = basics();
    let store_log = scenario.store["backups/daily-20261124020000/backup.log"].clone();
    let store_results = scenario.store["backups/daily-20261124020000/results.json"].clone();
    let restore_log = scenario.store["restores/restore-daily-20261123/restore.log"].clone();
    let lab = LabCluster::start(scenario).await.unwrap();
    let requests = velero_api(
        lab.client().await.unwrap(),
        "DownloadRequest",
        "downloadrequests",
    );
    let processed = |status: &serde_json::Value| status["phase"] == "Processed";

    for (kind, target, expected) in [
        (
            "BackupLog",
            "daily-20261124020000",
            shift_log(&store_log, lab.time_shift()),
        ),
        ("BackupResults", "daily-20261124020000", store_results),
        (
            "RestoreLog",
            "restore-daily-20261123",
            shift_log(&restore_log, lab.time_shift()),
        ),
    ] {
        let name = create_download_request(&requests, kind, target).await;
        let status = wait_for_status(&requests, &name, processed).await;
        assert!(status["expiration"].is_string());
        let url = status["downloadURL"].as_str().unwrap();
        assert!(
            url.starts_with(&lab.store_url()) && url.contains("X-Amz-Signature="),
            "{url}"
        );
        let (code, body) = http_get(url).await.unwrap();
        assert_eq!(code, 200);
        assert_eq!(gunzip(&body), expected, "{kind} {target}");
    }

    // A backup whose files the store lacks: processed (Velero signs without looking), the object is missing.
    let name = create_download_request(&requests, "BackupLog", "daily-20261120020000").await;
    let status = wait_for_status(&requests, &name, processed).await;
    let (code, body) = http_get(status["downloadURL"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("<Code>NoSuchKey</Code>"));

    // A backup that does not exist: Velero writes the expiration only and leaves the phase empty.
    let name = create_download_request(&requests, "BackupLog", "no-such-backup").await;
    let status = wait_for_status(&requests, &name, |status| status["expiration"].is_string()).await;
    assert!(
        status.get("phase").is_none() && status.get("downloadURL").is_none(),
        "{status}"
    );

    // Deleting a request.
    requests.delete(&name, &Default::default()).await.unwrap();
    let status = api_status(requests.get(&name).await.unwrap_err());
    assert_eq!(status.code, 404);
    lab.shutdown().await;
}

#[tokio::test]
async fn tampered_download_url_gets_403() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let requests = velero_api(
        lab.client().await.unwrap(),
        "DownloadRequest",
        "downloadrequests",
    );
    let name = create_download_request(&requests, "BackupLog", "daily-20261124020000").await;
    let status = wait_for_status(&requests, &name, |status| status["phase"] == "Processed").await;
    let url = status["downloadURL"].as_str().unwrap();
    for tampered in [
        url.replace(
            "daily-20261124020000/daily-20261124020000-logs.gz",
            "daily-20261123020000/daily-20261123020000-logs.gz",
        ),
        url.replace("X-Amz-Expires=600", "X-Amz-Expires=86400"),
        url.split("&X-Amz-Signature=").next().unwrap().to_string(),
    ] {
        let (code, body) = http_get(&tampered).await.unwrap();
        assert_eq!(code, 403, "{tampered}");
        assert!(String::from_utf8_lossy(&body).contains("<Error><Code>"));
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn download_request_faults() {
    let mut scenario = basics();
    scenario.faults.download_requests = DownloadRequestMode::NeverProcessed;
    let lab = LabCluster::start(scenario.clone()).await.unwrap();
    let requests = velero_api(
        lab.client().await.unwrap(),
        "DownloadRequest",
        "downloadrequests",
    );
    let name = create_download_request(&requests, "BackupLog", "daily-20261124020000").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let current = requests.get(&name).await.unwrap();
    assert!(
        current
            .data
            .get("status")
            .is_none_or(|status| status.is_null()),
        "{:?}",
        current.data
    );
    lab.shutdown().await;

    scenario.faults.download_requests = DownloadRequestMode::UnreachableUrl;
    let lab = LabCluster::start(scenario).await.unwrap();
    let requests = velero_api(
        lab.client().await.unwrap(),
        "DownloadRequest",
        "downloadrequests",
    );
    let name = create_download_request(&requests, "BackupLog", "daily-20261124020000").await;
    let status = wait_for_status(&requests, &name, |status| status["phase"] == "Processed").await;
    let url = status["downloadURL"].as_str().unwrap();
    assert!(!url.starts_with(&lab.store_url()));
    let error = http_get(url).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    lab.shutdown().await;
}

#[tokio::test]
async fn watch_sends_current_objects_then_changes() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let requests = velero_api(
        lab.client().await.unwrap(),
        "DownloadRequest",
        "downloadrequests",
    );
    let backups = velero_api(lab.client().await.unwrap(), "Backup", "backups");
    let initial: Vec<_> = backups
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        initial
            .iter()
            .filter(|event| matches!(event, WatchEvent::Added(_)))
            .count(),
        6
    );

    let mut stream = requests
        .watch(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    let name = create_download_request(&requests, "BackupLog", "daily-20261124020000").await;
    let mut saw_added = false;
    while let Some(event) = stream.try_next().await.unwrap() {
        match event {
            WatchEvent::Added(object) if object.metadata.name.as_deref() == Some(name.as_str()) => {
                saw_added = true
            }
            WatchEvent::Modified(object) if object.data["status"]["phase"] == "Processed" => break,
            _ => {}
        }
    }
    assert!(saw_added);
    lab.shutdown().await;
}

#[tokio::test]
async fn error_bursts_fail_the_first_requests_then_recover() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let schedules = velero_api(lab.client().await.unwrap(), "Schedule", "schedules");
    // The lab's client does not retry (as the CLI's): the burst reaches the caller as a Status, then ends.
    match schedules.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 503, "{status:?}"),
        other => panic!("expected the injected 503, got {other:?}"),
    }
    let listed = schedules.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    let statuses: Vec<u16> = lab
        .request_log()
        .iter()
        .filter(|r| r.path == "/apis/velero.io/v1/namespaces/velero/schedules")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 200]);
    lab.shutdown().await;
}

#[tokio::test]
async fn every_scenario_on_disk_loads_and_matches_the_built_in_copy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.join("scenario.yaml").is_file() {
            let loaded = Scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
            let builtin = Scenario::builtin(&loaded.name).unwrap();
            assert_eq!(loaded.objects.len(), builtin.objects.len());
            names.push(loaded.name);
        }
    }
    names.sort();
    assert_eq!(names, Scenario::builtin_names());
    let error = Scenario::builtin("no-such-scenario")
        .unwrap_err()
        .to_string();
    assert!(error.contains("lab-basics"), "{error}");
}

#[tokio::test]
async fn discovery_and_metadata_lists_work_with_kube_rs() {
    let lab = LabCluster::start(basics()).await.unwrap();
    let client = lab.client().await.unwrap();
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let velero = discovery.get("velero.io").expect("the velero.io group");
    assert_eq!(velero.preferred_version_or_latest(), "v1");
    let (backups, capabilities) = velero.recommended_kind("Backup").expect("Backup is served");
    assert_eq!(backups.plural, "backups");
    assert_eq!(capabilities.scope, kube::discovery::Scope::Namespaced);
    assert!(velero.versions().any(|version| version == "v2alpha1"));
    assert!(discovery.get("apps").is_some() && discovery.get("storage.k8s.io").is_some());

    let server = client.apiserver_version().await.unwrap();
    assert_eq!(server.git_version, "v1.31.6");

    let pods: Api<Pod> = Api::namespaced(client, "velero");
    let metadata = pods
        .list_metadata(&ListParams::default().labels("deploy=velero"))
        .await
        .unwrap();
    let names: Vec<_> = metadata
        .items
        .iter()
        .map(|pod| pod.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, [VELERO_POD]);
    let phase = pods
        .list(&ListParams::default().fields("status.phase=Running,metadata.name=node-agent-q8w2k"))
        .await
        .unwrap();
    assert_eq!(phase.items.len(), 1);
    let status = api_status(
        pods.list(&ListParams::default().fields("spec.containers=x"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (400, "field label not supported: spec.containers")
    );
    lab.shutdown().await;
}
