//! The lab's Velero server, for the part snapdoc needs: the DownloadRequest controller. It behaves as Velero's
//! download_request_controller does: a new request is processed when its Backup (for restore targets, the
//! Restore and then its Backup) and that backup's BackupStorageLocation exist; it then gets phase Processed,
//! a signed URL on the object store and an expiration 10 minutes ahead. When a lookup fails Velero only writes
//! the expiration and leaves the phase empty, retrying; the request is deleted once expired.
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::blobs;
use super::scenario::DownloadRequestMode;
use super::server::{SharedLab, format_time};

const DOWNLOAD_REQUESTS: &str = "downloadrequests.velero.io";
/// Velero's persistence.DownloadURLTTL.
const DOWNLOAD_URL_TTL: SignedDuration = SignedDuration::from_secs(600);
/// How long the lab's Velero takes to notice a new request.
const PROCESSING_DELAY: Duration = Duration::from_millis(100);

/// What a DownloadRequest target kind reads: the folder under store/, the file a scenario stores it in,
/// and the file name Velero gives the object in the bucket (`{}` is the backup or restore name).
pub(super) struct TargetKind {
    pub kind: &'static str,
    pub folder: &'static str,
    pub(crate) scenario_file: &'static str,
    pub(crate) bucket_file: &'static str,
}

pub(super) const TARGET_KINDS: &[TargetKind] = &[
    TargetKind {
        kind: "BackupLog",
        folder: "backups",
        scenario_file: "backup.log",
        bucket_file: "{}-logs.gz",
    },
    TargetKind {
        kind: "BackupResults",
        folder: "backups",
        scenario_file: "results.json",
        bucket_file: "{}-results.gz",
    },
    TargetKind {
        kind: "BackupContents",
        folder: "backups",
        scenario_file: "contents.tar.gz",
        bucket_file: "{}.tar.gz",
    },
    TargetKind {
        kind: "BackupResourceList",
        folder: "backups",
        scenario_file: "resource-list.json",
        bucket_file: "{}-resource-list.json.gz",
    },
    TargetKind {
        kind: "BackupVolumeSnapshots",
        folder: "backups",
        scenario_file: "volumesnapshots.json",
        bucket_file: "{}-volumesnapshots.json.gz",
    },
    TargetKind {
        kind: "BackupItemOperations",
        folder: "backups",
        scenario_file: "itemoperations.json",
        bucket_file: "{}-itemoperations.json.gz",
    },
    TargetKind {
        kind: "CSIBackupVolumeSnapshots",
        folder: "backups",
        scenario_file: "csi-volumesnapshots.json",
        bucket_file: "{}-csi-volumesnapshots.json.gz",
    },
    TargetKind {
        kind: "CSIBackupVolumeSnapshotContents",
        folder: "backups",
        scenario_file: "csi-volumesnapshotcontents.json",
        bucket_file: "{}-csi-volumesnapshotcontents.json.gz",
    },
    TargetKind {
        kind: "BackupVolumeInfos",
        folder: "backups",
        scenario_file: "volumeinfo.json",
        bucket_file: "{}-volumeinfo.json.gz",
    },
    TargetKind {
        kind: "RestoreLog",
        folder: "restores",
        scenario_file: "restore.log",
        bucket_file: "restore-{}-logs.gz",
    },
    TargetKind {
        kind: "RestoreResults",
        folder: "restores",
        scenario_file: "results.json",
        bucket_file: "restore-{}-results.gz",
    },
    TargetKind {
        kind: "RestoreResourceList",
        folder: "restores",
        scenario_file: "resource-list.json",
        bucket_file: "restore-{}-resource-list.json.gz",
    },
    TargetKind {
        kind: "RestoreItemOperations",
        folder: "restores",
        scenario_file: "itemoperations.json",
        bucket_file: "restore-{}-itemoperations.json.gz",
    },
    TargetKind {
        kind: "RestoreVolumeInfo",
        folder: "restores",
        scenario_file: "volumeinfo.json",
        bucket_file: "restore-{}-volumeinfo.json.gz",
    },
];

/// Schedules the processing of a DownloadRequest just created in the lab.
pub(super) fn on_download_request_created(lab: SharedLab, namespace: String, name: String) {
    if lab.download_mode == DownloadRequestMode::NeverProcessed {
        return;
    }
    tokio::spawn(async move {
        let mut shutdown = lab.shutdown.clone();
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(PROCESSING_DELAY) => {}
        }
        let Some(expiration) = process(&lab, &namespace, &name) else {
            return;
        };
        let wait = expiration.duration_since(Timestamp::now()).as_secs().max(0) as u64;
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(wait)) => {
                if let Ok(mut state) = lab.state.lock() {
                    state.delete(DOWNLOAD_REQUESTS, &namespace, &name);
                }
            }
        }
    });
}

/// One reconcile of a new request; returns its expiration when it was new.
fn process(lab: &SharedLab, namespace: &str, name: &str) -> Option<Timestamp> {
    let Ok(mut state) = lab.state.lock() else {
        return None;
    };
    let request = state.get(DOWNLOAD_REQUESTS, namespace, name)?.clone();
    let phase = request["status"]["phase"].as_str().unwrap_or_default();
    if !(phase.is_empty() || phase == "New") {
        return None;
    }
    let now = Timestamp::now();
    let expiration = now.checked_add(DOWNLOAD_URL_TTL).ok()?;
    let kind = request["spec"]["target"]["kind"]
        .as_str()
        .unwrap_or_default();
    let target = request["spec"]["target"]["name"]
        .as_str()
        .unwrap_or_default();
    let lookup = |resource: &str, object: &str| {
        state
            .get(&format!("{resource}.velero.io"), namespace, object)
            .cloned()
    };
    let url = TARGET_KINDS
        .iter()
        .find(|t| t.kind == kind)
        .and_then(|target_kind| {
            let backup_name = if target_kind.folder == "restores" {
                lookup("restores", target)?["spec"]["backupName"]
                    .as_str()?
                    .to_string()
            } else {
                target.to_string()
            };
            let backup = lookup("backups", &backup_name)?;
            let location_name = backup["spec"]["storageLocation"]
                .as_str()
                .unwrap_or("default");
            let location = lookup("backupstoragelocations", location_name)?;
            Some(signed_url(lab, &location, target_kind, target, now))
        });
    state.update(DOWNLOAD_REQUESTS, namespace, name, |request| {
        let status = match url {
            Some(url) => json!({
                "phase": "Processed",
                "downloadURL": url,
                "expiration": format_time(expiration),
            }),
            None => json!({"expiration": format_time(expiration)}),
        };
        request["status"] = status;
    });
    Some(expiration)
}

/// The in-cluster name of a MinIO Service, under `.invalid` (RFC 6761), which no resolver answers for.
const UNRESOLVABLE_BASE_URL: &str = "http://minio.minio.invalid:9000";

fn signed_url(
    lab: &SharedLab,
    location: &Value,
    target: &TargetKind,
    name: &str,
    now: Timestamp,
) -> String {
    let storage = &location["spec"]["objectStorage"];
    let bucket = storage["bucket"].as_str().unwrap_or("velero");
    let prefix = storage["prefix"]
        .as_str()
        .unwrap_or_default()
        .trim_matches('/');
    let region = location["spec"]["config"]["region"]
        .as_str()
        .unwrap_or("us-east-1");
    let file = target.bucket_file.replace("{}", name);
    let key = if prefix.is_empty() {
        format!("{}/{name}/{file}", target.folder)
    } else {
        format!("{prefix}/{}/{name}/{file}", target.folder)
    };
    let base = match lab.download_mode {
        DownloadRequestMode::UnreachableUrl => &lab.unreachable_base_url,
        DownloadRequestMode::UnresolvableUrl => UNRESOLVABLE_BASE_URL,
        _ => &lab.store_base_url,
    };
    blobs::presign(
        base,
        &lab.signing_key,
        &format!("/{bucket}/{key}"),
        region,
        now,
        DOWNLOAD_URL_TTL.as_secs(),
    )
}
