//! What a failed or stuck backup cost: the volumes whose data it does not hold, and the namespaces that have no
//! restorable copy from it. Velero restores only Completed and PartiallyFailed backups, so a Failed, invalid or
//! unfinished backup loses every namespace it was to hold; any backup loses the volumes that failed (or, not
//! finished, never completed).
use super::context::{PVB_KIND, PVR_KIND, VerdictContext};
use crate::analyze::analysis::BackupSummary;
use crate::analyze::findings::{Lost, LostVolume};

/// Item errors listed per verdict; `item_count` says how many there were.
pub(super) const MAX_ITEMS: usize = 20;

/// Every namespace, when a backup names none (or `*`).
pub(super) const ALL_NAMESPACES: &str = "*";

pub(super) fn lost(summary: &BackupSummary, context: &VerdictContext) -> Lost {
    let kind = summary.kind.as_str();
    let whole = summary.phase.as_deref() != Some("PartiallyFailed");
    let namespaces = if whole {
        let included = context
            .spec(kind, &summary.name)
            .map(|s| s.included_namespaces.clone())
            .unwrap_or_default();
        if included.is_empty() || included.iter().any(|n| n == ALL_NAMESPACES) {
            vec![ALL_NAMESPACES.to_string()]
        } else {
            included
        }
    } else {
        Vec::new()
    };
    let volumes = context
        .volumes_of(kind, &summary.name)
        // A volume that completed is in the repository. Any other is not: a failed one, and one still
        // New / InProgress when its backup ended PartiallyFailed (the backup stopped waiting for it, so its
        // snapshot is not in the backup even if the upload finishes later).
        .filter(|v| v.phase.as_deref() != Some("Completed"))
        .map(|v| LostVolume {
            namespace: v.volume_namespace.clone(),
            pod: v.pod.clone(),
            volume: v.volume.clone(),
            claim: v.claim.clone(),
            node: v.node.clone(),
            method: if v.kind == PVB_KIND || v.kind == PVR_KIND {
                "fs-backup"
            } else {
                "data-mover"
            }
            .to_string(),
            phase: v.phase.clone(),
            reason: v.message.clone(),
        })
        .collect();
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
