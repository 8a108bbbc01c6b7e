//! What a failed or stuck backup cost: the volumes whose data it does not hold, and the namespaces that have no
//! restorable copy from it. Velero restores only Completed and PartiallyFailed backups, so a Failed, invalid or
//! unfinished backup loses every namespace it was to hold; any backup loses the volumes that failed (or, not
//! finished, never completed).
use super::context::{PVB_KIND, PVR_KIND, VerdictContext, VolumeInfo};
use crate::analyze::analysis::BackupSummary;
use crate::analyze::findings::{Lost, LostVolume};

/// Item errors listed per verdict; `item_count` says how many there were.
pub(super) const MAX_ITEMS: usize = 20;

/// Every namespace, when a backup names none (or `*`).
pub(super) const ALL_NAMESPACES: &str = "*";

/// The volumes Velero's own `volumeinfo.json` records as failed or skipped that no volume operation in the
/// bundle already names: CSI and native snapshots (no PodVolumeBackup / DataUpload of theirs), skipped volumes,
/// and pod volume backups whose objects are gone (a reinstall, a foreign bundle).
fn recorded_only(
    summary: &BackupSummary,
    context: &VerdictContext,
    known: &[LostVolume],
) -> Vec<LostVolume> {
    let Some(infos) = context
        .volume_infos
        .get(&format!("{}/{}", summary.kind, summary.name))
    else {
        return Vec::new();
    };
    let already = |info: &VolumeInfo| {
        known.iter().any(|v| {
            let same_claim = info.claim.is_some()
                && v.claim == info.claim
                && v.namespace == info.claim_namespace;
            let same_pod_volume = info.pod.is_some()
                && v.pod == info.pod
                && v.volume == info.volume
                && v.namespace == info.pod_namespace;
            same_claim || same_pod_volume
        })
    };
    // Successful volumes (and restores, which record no result) stay out; so does what is listed already.
    infos
        .iter()
        .filter(|info| info.skipped || info.result.as_deref() == Some("failed"))
        .filter(|info| !already(info))
        .map(|info| LostVolume {
            namespace: info
                .pod_namespace
                .clone()
                .or_else(|| info.claim_namespace.clone()),
            pod: info.pod.clone(),
            volume: info.volume.clone(),
            claim: info.claim.clone(),
            node: info.node.clone(),
            method: match (info.method.as_deref(), info.data_moved) {
                (Some("PodVolumeBackup" | "PodVolumeRestore"), _) => "fs-backup",
                (Some("CSISnapshot"), true) => "data-mover",
                (Some("CSISnapshot"), false) => "csi-snapshot",
                (Some("NativeSnapshot"), _) => "native-snapshot",
                _ => "none",
            }
            .to_string(),
            phase: if info.skipped {
                Some("Skipped".to_string())
            } else {
                info.phase.clone()
            },
            reason: if info.skipped {
                info.skipped_reason
                    .as_deref()
                    .map(|r| format!("Velero skipped it: {}", r.trim_end_matches(';')))
            } else {
                Some("Velero's volume info records it as failed".to_string())
            },
        })
        .collect()
}

pub(super) fn lost(summary: &BackupSummary, context: &VerdictContext) -> Lost {
    let kind = &*summary.kind;
    let whole = summary.phase.as_deref() != Some("PartiallyFailed");
    let namespaces = if whole {
        let included = context
            .spec(kind, &summary.name)
            .map(|s| s.included_namespaces.clone())
            .unwrap_or_default();
        if included.is_empty() || included.iter().any(|n| &**n == ALL_NAMESPACES) {
            vec![ALL_NAMESPACES.to_string()]
        } else {
            included.iter().map(|n| n.to_string()).collect()
        }
    } else {
        Vec::new()
    };
    let mut volumes: Vec<LostVolume> = context
        .volumes_of(kind, &summary.name)
        // A volume that completed is in the repository. Any other is not: a failed one, and one still
        // New / InProgress when its backup ended PartiallyFailed (the backup stopped waiting for it, so its
        // snapshot is not in the backup even if the upload finishes later).
        .filter(|v| v.phase.as_deref() != Some("Completed"))
        .map(|v| LostVolume {
            namespace: v.volume_namespace.as_deref().map(str::to_string),
            pod: v.pod.as_deref().map(str::to_string),
            volume: v.volume.as_deref().map(str::to_string),
            claim: v.claim.as_deref().map(str::to_string),
            node: v.node.as_deref().map(str::to_string),
            method: if v.kind == PVB_KIND || v.kind == PVR_KIND {
                "fs-backup"
            } else {
                "data-mover"
            }
            .to_string(),
            phase: v.phase.as_deref().map(str::to_string),
            reason: v.message.as_deref().map(str::to_string),
        })
        .collect();
    volumes.extend(recorded_only(summary, context, &volumes));
    let all_items = context
        .item_errors
        .get(&format!("{kind}/{}", summary.name))
        .map(Vec::as_slice)
        .unwrap_or_default();
    Lost {
        namespaces,
        volumes,
        items: all_items.iter().take(MAX_ITEMS).cloned().collect(),
        item_count: all_items.len(),
    }
}
