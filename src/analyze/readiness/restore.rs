//! Restore readiness per backup. The KOTS rules come from the snapshot docs (../shared/seed/: only full backups
//! holding the Admin Console and the application restore to a new cluster; application-only backups are legacy
//! and restore only through the Admin Console; same OS and install method; no KOTS snapshots on Embedded
//! Cluster; in-cluster storage does not survive the cluster). The annotations are KOTS's own, read in
//! replicatedhq/kots@370ae9030f18fcf4136a71f00ce450d8ff1d9cf1:
//! - `kots.io/instance: "true"`, `replicated.com/disaster-recovery-version`: pkg/kotsadmsnapshot/types/types.go
//!   (`InstanceBackupAnnotation`, `InstanceBackupVersionAnnotation`, `IsInstanceBackup`);
//! - `kots.io/apps-versions`, `kots.io/is-airgap`, `kots.io/embedded-registry`, `kots.io/snapshot-trigger`:
//!   pkg/kotsadmsnapshot/backup.go (instance backups);
//! - `kots.io/app-id`, `kots.io/app-sequence` (application backups, label selector `kots.io/app-slug`):
//!   pkg/kotsadmsnapshot/backup.go `CreateApplicationBackup`;
//! - `kots.io/embedded-cluster: "true"`: pkg/kotsadmsnapshot/types/types.go `BackupIsECAnnotation`;
//! - storage providers `replicated.com/hostpath|nfs|pvc`: pkg/snapshot/store.go.
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{BackupReadiness, EXPIRY_WARNING_SECONDS, ReadinessInputs, Reason, Restorable, span};
use crate::analyze::facts::backups::{Backup, BackupOrRestore};
use crate::analyze::facts::interned::Strings;
use crate::analyze::facts::json::{self, array_at, str_at};
use crate::analyze::facts::pod_volume_backups::PodVolumeBackup;

const APPS_VERSIONS: &str = "kots.io/apps-versions";
const IS_AIRGAP: &str = "kots.io/is-airgap";
const BACKUP_VOLUMES: &str = "backup.velero.io/backup-volumes";

/// Every backup, newest first.
pub(super) fn backups(input: &ReadinessInputs<'_>) -> Vec<BackupReadiness> {
    let mut backups: Vec<&Backup> = input.inv.backups.iter().collect();
    backups.sort_by_key(|b| std::cmp::Reverse(b.started_or_created()));
    let operations = Operations {
        pod_volume_backups: pod_volume_backups_by_backup(&input.inv.pod_volume_backups),
        data_uploads: by_backup(&input.inv.data_uploads),
        missing_volumes: missing_volumes(input),
    };
    let mut strings = Strings::default();
    let mut readiness: Vec<BackupReadiness> = backups
        .into_iter()
        .filter_map(|b| backup_readiness(input, &operations, b, &mut strings))
        .collect();
    // Grown by doubling, and held to the end of the analysis.
    readiness.shrink_to_fit();
    readiness
}

/// A backup's volume operations, found by its name rather than searched for: searching every list for each
/// backup took 90 s for 5,000 backups and 20,000 PodVolumeBackups. The pods' opted-in volumes that do not exist
/// are found once, not once per backup (50,000 backups × 2,000 pods took 300 s).
struct Operations<'a> {
    pod_volume_backups: HashMap<&'a str, Vec<&'a PodVolumeBackup>>,
    data_uploads: HashMap<&'a str, Vec<&'a Value>>,
    missing_volumes: Vec<MissingVolume<'a>>,
}

/// A volume a pod opts in to file-system backup (`backup.velero.io/backup-volumes`) but does not have.
struct MissingVolume<'a> {
    namespace: &'a str,
    /// `namespace/pod volume`.
    text: String,
}

fn of_backup<'a, T>(by_backup: &HashMap<&str, Vec<&'a T>>, name: &str) -> Vec<&'a T> {
    by_backup.get(name).cloned().unwrap_or_default()
}

/// The pod volume backups of each backup (label `velero.io/backup-name`), in the list's order.
fn pod_volume_backups_by_backup(
    pod_volume_backups: &[PodVolumeBackup],
) -> HashMap<&str, Vec<&PodVolumeBackup>> {
    let mut by_backup: HashMap<&str, Vec<&PodVolumeBackup>> = HashMap::new();
    for pvb in pod_volume_backups {
        if let Some(name) = pvb.backup.as_deref() {
            by_backup.entry(name).or_default().push(pvb);
        }
    }
    by_backup
}

/// The objects of each backup (label `velero.io/backup-name`), in the list's order.
fn by_backup(objects: &[Value]) -> HashMap<&str, Vec<&Value>> {
    let mut by_backup: HashMap<&str, Vec<&Value>> = HashMap::new();
    for object in objects {
        if let Some(name) = json::label(object, "velero.io/backup-name") {
            by_backup.entry(name).or_default().push(object);
        }
    }
    by_backup
}

pub(super) fn kind_of(backup: &Backup) -> &'static str {
    let kots = &backup.kots;
    if kots.embedded_cluster.as_deref() == Some("true") {
        "embedded-cluster"
    } else if kots.instance.as_deref() == Some("true") || kots.disaster_recovery_version.is_some() {
        "kots-instance"
    } else if kots.app_id.is_some() || kots.app_sequence.is_some() || kots.app_slug.is_some() {
        "kots-app"
    } else {
        "velero"
    }
}

struct Reasons(Vec<Reason>);

impl Reasons {
    fn limit(&mut self, to: Restorable, text: String) {
        self.0.push(Reason {
            limits: Some(to),
            text,
        });
    }
    fn note(&mut self, text: String) {
        self.0.push(Reason { limits: None, text });
    }
}

fn backup_readiness(
    input: &ReadinessInputs<'_>,
    operations: &Operations<'_>,
    backup: &Backup,
    strings: &mut Strings,
) -> Option<BackupReadiness> {
    let name = backup.name.as_deref()?;
    let phase = backup.status.phase.as_deref();
    let kind = kind_of(backup);
    let mut reasons = Reasons(Vec::new());

    phase_reasons(&mut reasons, backup, phase);
    let items = backup.status.items_backed_up;
    if items == Some(0) {
        reasons.limit(
            Restorable::Not,
            "it holds no item (0 items backed up)".into(),
        );
    }
    let expires_in = backup.status.expiration.map(|t| -input.age(t));
    match expires_in {
        Some(left) if left <= 0 => reasons.limit(
            Restorable::Not,
            format!(
                "its TTL ran out {} ago: Velero deletes expired backups",
                span(left)
            ),
        ),
        Some(left) if left < EXPIRY_WARNING_SECONDS => reasons.note(format!(
            "expires in {} (TTL): restore from it before then or take a newer one",
            span(left)
        )),
        _ => {}
    }
    volume_reasons(input, operations, &mut reasons, backup, name);
    location_reasons(input, &mut reasons, backup);
    kots_reasons(input, &mut reasons, backup, kind);

    let restorable = reasons
        .0
        .iter()
        .filter_map(|r| r.limits)
        .min()
        .unwrap_or(Restorable::NewCluster);
    // The reason that limits most first, then the other limits, then the notes.
    reasons
        .0
        .sort_by_key(|r| r.limits.map_or(u8::MAX, |l| l as u8));
    Some(BackupReadiness {
        name: name.to_string(),
        namespace: backup.namespace.as_ref().map(|n| strings.adopt(n)),
        phase: backup.status.phase.as_ref().map(|p| strings.adopt(p)),
        kind: strings.share(kind),
        completed: backup.status.completed.map(|t| t.to_string()),
        restorable,
        label: strings.share(restorable.label()),
        reasons: reasons.0,
        expires_in_seconds: expires_in,
        items_backed_up: items,
    })
}

fn phase_reasons(reasons: &mut Reasons, backup: &Backup, phase: Option<&str>) {
    match phase {
        Some("Completed") => {}
        Some("PartiallyFailed") => {
            let errors = backup.status.errors.unwrap_or(0);
            reasons.limit(
                Restorable::Partial,
                format!("it PartiallyFailed with {errors} error(s): some items or volumes are missing from it"),
            );
        }
        Some(failed @ ("Failed" | "FailedValidation")) => {
            let why = backup
                .status
                .failure_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .or_else(|| {
                    backup
                        .status
                        .validation_errors
                        .first()
                        .map(|e| format!(": {e}"))
                })
                .unwrap_or_default();
            reasons.limit(Restorable::Not, format!("it {failed}{why}"));
        }
        Some(other) => reasons.limit(
            Restorable::Not,
            format!("it has not finished (phase {other})"),
        ),
        None => reasons.limit(Restorable::Not, "it records no phase".into()),
    }
}

fn volume_reasons(
    input: &ReadinessInputs<'_>,
    operations: &Operations<'_>,
    reasons: &mut Reasons,
    backup: &Backup,
    name: &str,
) {
    let pvbs = of_backup(&operations.pod_volume_backups, name);
    let unfinished: Vec<String> = pvbs
        .iter()
        .filter(|p| p.phase.as_deref() != Some("Completed"))
        .map(|p| {
            format!(
                "{}/{} volume {} ({})",
                p.pod_namespace.as_deref().unwrap_or("?"),
                p.pod.as_deref().unwrap_or("?"),
                p.volume.as_deref().unwrap_or("?"),
                p.phase.as_deref().unwrap_or("no phase")
            )
        })
        .collect();
    if !unfinished.is_empty() {
        reasons.limit(
            Restorable::Partial,
            format!(
                "pod volume backups not Completed: {}",
                unfinished.join(", ")
            ),
        );
    }
    let uploads: Vec<String> = of_backup(&operations.data_uploads, name)
        .iter()
        .filter(|d| str_at(d, &["status", "phase"]) != Some("Completed"))
        .map(|d| {
            format!(
                "{}/{} ({})",
                str_at(d, &["spec", "sourceNamespace"]).unwrap_or("?"),
                str_at(d, &["spec", "sourcePVC"]).unwrap_or("?"),
                str_at(d, &["status", "phase"]).unwrap_or("no phase")
            )
        })
        .collect();
    if !uploads.is_empty() {
        reasons.limit(
            Restorable::Partial,
            format!("data uploads not Completed: {}", uploads.join(", ")),
        );
    }
    let skipped = skipped_volumes(operations, backup);
    if !skipped.is_empty() {
        reasons.limit(
            Restorable::Partial,
            format!(
                "volumes named in {BACKUP_VOLUMES} that their pod lacks were skipped: {}",
                skipped.join(", ")
            ),
        );
    }
    // Before Velero 1.10 restic was the only uploader and the field did not exist.
    let restic = pvbs
        .iter()
        .any(|p| p.uploader.as_deref().is_none_or(|u| u == "restic"));
    if restic {
        match input.velero_at_least("1.19.0") {
            Some(true) => reasons.limit(
                Restorable::Not,
                "its pod volume data was written by restic, which Velero 1.19+ cannot restore (restores fail \
                 validation); restore it with Velero 1.18"
                    .into(),
            ),
            _ if input.velero_at_least("1.17.0") == Some(true) => reasons.note(
                "its pod volume data was written by restic: restorable until Velero is upgraded to 1.19".into(),
            ),
            _ => {}
        }
    }
}

/// `pod/volume` for every volume a pod in the backup's namespaces opts in but does not have: Velero skips it.
fn skipped_volumes(operations: &Operations<'_>, backup: &Backup) -> Vec<String> {
    let included = &backup.spec.included_namespaces;
    let selects =
        |ns: &str| included.is_empty() || included.iter().any(|p| &**p == "*" || &**p == ns);
    operations
        .missing_volumes
        .iter()
        .filter(|m| selects(m.namespace))
        .map(|m| m.text.clone())
        .collect()
}

/// Every volume a pod opts in to but does not have, in the pods' order.
fn missing_volumes<'a>(input: &ReadinessInputs<'a>) -> Vec<MissingVolume<'a>> {
    let mut missing = Vec::new();
    for pod in &input.inv.pods {
        let (Some(namespace), Some(pod_name)) = (json::namespace(pod), json::name(pod)) else {
            continue;
        };
        let Some(opted) = json::annotation(pod, BACKUP_VOLUMES) else {
            continue;
        };
        let has: BTreeSet<&str> = array_at(pod, &["spec", "volumes"])
            .iter()
            .filter_map(|v| str_at(v, &["name"]))
            .collect();
        for volume in json::comma_list(opted) {
            if !has.contains(volume) {
                missing.push(MissingVolume {
                    namespace,
                    text: format!("{namespace}/{pod_name} {volume}"),
                });
            }
        }
    }
    missing
}

fn location_reasons(input: &ReadinessInputs<'_>, reasons: &mut Reasons, backup: &Backup) {
    let location_name = backup.spec.storage_location.as_deref().unwrap_or("default");
    let Some(location) = input.inv.storage_locations.iter().find(|l| {
        json::name(l) == Some(location_name) && json::namespace(l) == backup.namespace.as_deref()
    }) else {
        if !input.inv.storage_locations.is_empty() {
            reasons.limit(
                Restorable::Not,
                format!(
                    "its storage location {location_name} no longer exists: Velero cannot read it"
                ),
            );
        }
        return;
    };
    if str_at(location, &["status", "phase"]) == Some("Unavailable") {
        reasons.limit(
            Restorable::Not,
            format!("its storage location {location_name} is Unavailable now: Velero cannot read it back"),
        );
    }
    let provider = str_at(location, &["spec", "provider"]).unwrap_or_default();
    if provider.starts_with("replicated.com/") && input.velero_at_least("1.17.0") == Some(true) {
        reasons.limit(
            Restorable::Not,
            format!(
                "its location uses local-volume-provider ({provider}), which does not work from Velero 1.17"
            ),
        );
    }
    if let Some(store) = in_cluster_store(input, location) {
        reasons.limit(
            Restorable::InPlace,
            format!("it is stored in {store}, which does not survive the loss of the cluster"),
        );
    }
}

/// Where a location keeps backups inside the cluster itself, in words: KOTS's host path and PVC providers, or an
/// S3 endpoint that is a Service of the cluster (kURL's in-cluster object store, `http://<service>.<namespace>`).
pub(super) fn in_cluster_store(input: &ReadinessInputs<'_>, location: &Value) -> Option<String> {
    let provider = str_at(location, &["spec", "provider"]).unwrap_or_default();
    match provider {
        "replicated.com/hostpath" => {
            return Some("a host path on the cluster's nodes (replicated.com/hostpath)".into());
        }
        "replicated.com/pvc" => {
            return Some("kURL's in-cluster storage (replicated.com/pvc)".into());
        }
        _ => {}
    }
    let endpoint = str_at(location, &["spec", "config", "s3Url"])?;
    let host = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .split(['/', ':'])
        .next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let namespaces: Vec<&str> = input.inv.namespaces.iter().filter_map(json::name).collect();
    let service = labels.len() == 1
        || host.ends_with(".svc")
        || host.ends_with(".cluster.local")
        || (labels.len() == 2 && namespaces.contains(&labels[1]));
    service.then(|| format!("an object store inside the cluster ({endpoint})"))
}

fn kots_reasons(input: &ReadinessInputs<'_>, reasons: &mut Reasons, backup: &Backup, kind: &str) {
    let embedded_install = input.install_kind() == Some("embedded-cluster");
    match kind {
        "embedded-cluster" => reasons.note(
            "an Embedded Cluster disaster-recovery backup: restore it with the Embedded Cluster installer's \
             restore, not KOTS snapshots"
                .into(),
        ),
        "kots-instance" | "kots-app" if embedded_install => reasons.limit(
            Restorable::Not,
            "this is an Embedded Cluster install, which does not use KOTS snapshots: use Embedded Cluster's \
             disaster recovery"
                .into(),
        ),
        "kots-app" => reasons.limit(
            Restorable::InPlace,
            "an application-only (partial, legacy) snapshot: without the Admin Console it cannot restore to a \
             new cluster, and only the Admin Console restores it"
                .into(),
        ),
        "kots-instance" => {
            let apps = backup
                .kots
                .apps_versions
                .as_deref()
                .and_then(|text| serde_json::from_str::<Value>(text).ok());
            if apps
                .as_ref()
                .and_then(Value::as_object)
                .is_some_and(|a| a.is_empty())
            {
                reasons.limit(
                    Restorable::Partial,
                    format!("it holds the Admin Console but no application ({APPS_VERSIONS} is empty)"),
                );
            }
            let os: BTreeSet<&str> = input
                .environment
                .nodes
                .iter()
                .filter_map(|n| n.os_image.as_deref())
                .collect();
            if !os.is_empty() {
                reasons.note(format!(
                    "restore onto the same operating system ({})",
                    os.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            match backup.kots.is_airgap.as_deref() {
                Some("true") => {
                    reasons.note(format!("restore with an air-gap install ({IS_AIRGAP}: true)"))
                }
                Some("false") => {
                    reasons.note(format!("restore with an online install ({IS_AIRGAP}: false)"))
                }
                _ => {}
            }
        }
        _ => {}
    }
}
