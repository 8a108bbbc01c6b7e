//! Protection coverage: every pod volume of `facts.volumes` and every PVC no such volume names, with how it is
//! protected and the newest Completed backup that holds it. Unprotected first.
use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::{ReadinessInputs, VolumeProtection};
use crate::analyze::facts::json::{self, array_at, str_at};
use crate::analyze::facts::pod_volume_backups::PodVolumeBackup;

pub(super) fn volumes(input: &ReadinessInputs<'_>) -> Vec<VolumeProtection> {
    let snapshot_kind = snapshot_kind(input);
    let holders = Holders::new(input);
    let mut rows: Vec<VolumeProtection> = input
        .volume_facts
        .iter()
        .filter_map(|fact| {
            let namespace = fact["namespace"].as_str()?;
            let pod = fact["pod"].as_str()?;
            let volume = fact["volume"].as_str()?;
            let claim = fact["claimName"].as_str();
            let protection = match fact["method"].as_str() {
                Some("fs-backup") if fact["optedIn"] == Value::Bool(true) => "fs-backup-opt-in",
                Some("fs-backup") => "fs-backup-default",
                Some("snapshot") => snapshot_kind,
                _ => "none",
            };
            // What holds it, and whether the bundle could tell: without any pod volume backup (data upload) in
            // it (a bundle that did not collect them), a volume is not said to be in no Completed backup.
            let (newest_backup, could_tell) = match protection {
                "fs-backup-opt-in" | "fs-backup-default" => (
                    newest_pod_volume_backup(&holders, namespace, pod, volume, claim),
                    !input.inv.pod_volume_backups.is_empty(),
                ),
                "data-mover" => (
                    claim.and_then(|c| newest_data_upload(&holders, namespace, c)),
                    !input.inv.data_uploads.is_empty(),
                ),
                _ => (None, false),
            };
            Some(VolumeProtection {
                namespace: namespace.to_string(),
                pod: Some(pod.to_string()),
                volume: Some(volume.to_string()),
                claim_name: claim.map(str::to_string),
                volume_type: fact["type"].as_str().map(str::to_string),
                protection: protection.to_string(),
                protected: protection != "none",
                in_no_completed_backup: could_tell && newest_backup.is_none(),
                newest_backup,
                reason: fact["reason"].as_str().map(str::to_string),
            })
        })
        .collect();
    let named: BTreeSet<(String, String)> = rows
        .iter()
        .filter_map(|r| Some((r.namespace.clone(), r.claim_name.clone()?)))
        .collect();
    for claim in &input.inv.persistent_volume_claims {
        let (Some(namespace), Some(name)) = (json::namespace(claim), json::name(claim)) else {
            continue;
        };
        if named.contains(&(namespace.to_string(), name.to_string())) {
            continue;
        }
        rows.push(VolumeProtection {
            namespace: namespace.to_string(),
            pod: None,
            volume: None,
            claim_name: Some(name.to_string()),
            volume_type: Some("persistentVolumeClaim".into()),
            protection: "none".into(),
            protected: false,
            newest_backup: None,
            in_no_completed_backup: false,
            reason: Some(unlisted_claim_reason(input, namespace, name)),
        });
    }
    rows.sort_by(|a, b| {
        (a.protected, &a.namespace, &a.pod, &a.volume, &a.claim_name).cmp(&(
            b.protected,
            &b.namespace,
            &b.pod,
            &b.volume,
            &b.claim_name,
        ))
    });
    rows
}

/// Why a PVC has no row of its own in `facts.volumes`: the live pod that mounts it is selected by no backup (its
/// namespace or labels), or no live pod mounts it (file-system backup reads only mounted volumes).
fn unlisted_claim_reason(input: &ReadinessInputs<'_>, namespace: &str, claim: &str) -> String {
    let mounted = input.inv.pods.iter().any(|pod| {
        json::namespace(pod) == Some(namespace)
            && !matches!(
                str_at(pod, &["status", "phase"]),
                Some("Succeeded" | "Failed")
            )
            && array_at(pod, &["spec", "volumes"])
                .iter()
                .any(|v| str_at(v, &["persistentVolumeClaim", "claimName"]) == Some(claim))
    });
    if mounted {
        "no backup or schedule selects the pod that mounts it (by namespace or label selector)"
            .into()
    } else {
        "no running pod mounts it, so file-system backup cannot read it, and no volume snapshot covers it".into()
    }
}

/// How volume snapshots are taken here: the data mover moves CSI snapshots' data (data uploads, or backups with
/// `snapshotMoveData`), a VolumeSnapshotLocation means the provider's native snapshots, else CSI snapshots.
fn snapshot_kind(input: &ReadinessInputs<'_>) -> &'static str {
    let moves_data = !input.inv.data_uploads.is_empty()
        || input
            .inv
            .backups
            .iter()
            .any(|b| b.spec.snapshot_move_data == Some(true));
    if moves_data {
        "data-mover"
    } else if !input.inv.snapshot_locations.is_empty() {
        "native-snapshot"
    } else {
        "csi-snapshot"
    }
}

/// The per-volume objects by what a volume is looked up with, and the Completed backups' names: built once,
/// as every volume is looked up (a lookup that went through every PodVolumeBackup and every Backup for each
/// volume took most of the analysis of 20,000 PodVolumeBackups).
struct Holders<'a> {
    completed_backups: HashSet<&'a str>,
    /// Pod volume backups by their `velero.io/pvc-uid` label.
    by_claim_uid: HashMap<&'a str, Vec<Holding<'a>>>,
    /// Pod volume backups by (pod namespace, pod, volume).
    by_pod_volume: HashMap<(&'a str, &'a str, &'a str), Vec<Holding<'a>>>,
    /// Data uploads by (source namespace, source PVC).
    uploads_by_claim: HashMap<(&'a str, &'a str), Vec<Holding<'a>>>,
    /// The PVCs by namespace and name.
    claims: json::ByName<'a>,
}

/// What tells whether a per-volume object (a pod volume backup, a data upload) holds its volume's data.
#[derive(Clone, Copy)]
struct Holding<'a> {
    completed: bool,
    created: Option<jiff::Timestamp>,
    /// Its `velero.io/backup-name` label.
    backup: Option<&'a str>,
}

impl<'a> Holding<'a> {
    fn of_pod_volume_backup(pvb: &'a PodVolumeBackup) -> Holding<'a> {
        Holding {
            completed: pvb.phase.as_deref() == Some("Completed"),
            created: pvb.created,
            backup: pvb.backup.as_deref(),
        }
    }

    fn of_object(object: &'a Value) -> Holding<'a> {
        Holding {
            completed: str_at(object, &["status", "phase"]) == Some("Completed"),
            created: json::created(object),
            backup: json::label(object, "velero.io/backup-name"),
        }
    }
}

impl<'a> Holders<'a> {
    fn new(input: &'a ReadinessInputs<'_>) -> Holders<'a> {
        let completed_backups = input
            .inv
            .backups
            .iter()
            .filter(|b| b.is_completed())
            .filter_map(|b| b.name.as_deref())
            .collect();
        let mut by_claim_uid: HashMap<&str, Vec<Holding>> = HashMap::new();
        let mut by_pod_volume: HashMap<(&str, &str, &str), Vec<Holding>> = HashMap::new();
        for pvb in &input.inv.pod_volume_backups {
            let holding = Holding::of_pod_volume_backup(pvb);
            if let Some(uid) = pvb.claim_uid.as_deref() {
                by_claim_uid.entry(uid).or_default().push(holding);
            }
            if let (Some(namespace), Some(pod), Some(volume)) = (
                pvb.pod_namespace.as_deref(),
                pvb.pod.as_deref(),
                pvb.volume.as_deref(),
            ) {
                by_pod_volume
                    .entry((namespace, pod, volume))
                    .or_default()
                    .push(holding);
            }
        }
        let mut uploads_by_claim: HashMap<(&str, &str), Vec<Holding>> = HashMap::new();
        for upload in &input.inv.data_uploads {
            if let (Some(namespace), Some(claim)) = (
                str_at(upload, &["spec", "sourceNamespace"]),
                str_at(upload, &["spec", "sourcePVC"]),
            ) {
                uploads_by_claim
                    .entry((namespace, claim))
                    .or_default()
                    .push(Holding::of_object(upload));
            }
        }
        let claims = json::ByName::index(input.inv.persistent_volume_claims.iter());
        Holders {
            claims,
            completed_backups,
            by_claim_uid,
            by_pod_volume,
            uploads_by_claim,
        }
    }
}

/// The newest Completed backup whose Completed pod volume backup holds this pod's volume: by its PVC's uid (the
/// `velero.io/pvc-uid` label), which survives the pod being replaced, else by pod and volume name.
fn newest_pod_volume_backup(
    holders: &Holders<'_>,
    namespace: &str,
    pod: &str,
    volume: &str,
    claim: Option<&str>,
) -> Option<String> {
    let claim_uid = claim
        .and_then(|claim| holders.claims.get(Some(namespace), Some(claim)))
        .and_then(|c| str_at(c, &["metadata", "uid"]));
    // A claim uid no pod volume backup names (labels written by a Velero that did not set it, or a bundle whose
    // PVC list was taken apart from its backups) is not proof that none holds the volume: then by pod and volume.
    claim_uid
        .and_then(|uid| newest_holding(holders, holders.by_claim_uid.get(uid)))
        .or_else(|| {
            newest_holding(
                holders,
                holders.by_pod_volume.get(&(namespace, pod, volume)),
            )
        })
}

/// The newest Completed backup whose Completed data upload moved this PVC's snapshot.
fn newest_data_upload(holders: &Holders<'_>, namespace: &str, claim: &str) -> Option<String> {
    newest_holding(holders, holders.uploads_by_claim.get(&(namespace, claim)))
}

/// Of the Completed per-volume objects (pod volume backups, data uploads) that hold the volume, the newest whose
/// own backup (its `velero.io/backup-name` label) Completed too.
fn newest_holding(holders: &Holders<'_>, objects: Option<&Vec<Holding>>) -> Option<String> {
    objects?
        .iter()
        .filter(|o| o.completed)
        .filter_map(|o| Some((o.created?, o.backup?)))
        .filter(|(_, backup)| holders.completed_backups.contains(backup))
        .max_by_key(|(time, _)| *time)
        .map(|(_, backup)| backup.to_string())
}
