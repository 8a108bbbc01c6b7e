//! Derived objects the rules read (docs/rules.md "Facts") and the component versions compat rules compare,
//! gathered once per bundle together with the environment and backups tables.
//!
//! Everything is read defensively: Velero 1.2 … 1.18 objects (v1 and v2alpha1, restic and node-agent eras)
//! differ, and a field of an unexpected type reads as absent.
//!
//! Fields beyond the docs/rules.md table, for rules that need them:
//! - `facts.cluster`: `veleroImage`, `veleroImageDigestOnly`, `veleroFeatures` (the `--features` flag),
//!   `veleroServerDefaultVolumesToFsBackup`, `serverUploaderType` (`--uploader-type`), `failedBackupCount`,
//!   `restoreCount`, `scheduleCount`, `storageLocationCount`, `snapshotLocationCount`, `podVolumeBackupCount`,
//!   `dataUploadCount`, `backupRepositoriesNotReady`, `nodeAgentDesired`, `nodeAgentReady`,
//!   `kubernetesGitVersion`, `readyNodeCount`, `serverSettings` (flag → value of the server's and node agent's
//!   timeouts, uploader type and maintenance frequency: facts/settings.rs). `nodeAgentInstalled` and `kotsInstalled` are null
//!   (unknown) when the bundle holds neither the workloads nor the pods to look in; `veleroInstalled` is false
//!   only when the cluster proved it, else null when unknown (facts/presence.rs).
//! - `facts.schedules`: `phase`, `validationErrors`, `parseError`, `lastCompletedBackupName`;
//!   `lastCompletedBackup` is the RFC 3339 time that backup finished (for `older_than`).
//! - `facts.volumes`: `method` (fs-backup | snapshot | null) and `reason` (why it is not backed up).
//! - `facts.components`: `init` (an init container), `waitingReason`, `terminatedReason`, `memoryLimitBytes`;
//!   the velero pod's init containers (its plugins) are component `velero-plugin`.
//! - `backupCount`, `completedBackupCount`, `failedBackupCount` are null when the bundle holds no backups list.
//! - `facts.cluster`, for the health rules (facts/health.rs): `instanceBackupCount`,
//!   `completedInstanceBackupCount`, `lastCompletedInstanceBackupName`, `lastCompletedInstanceBackupAgeSeconds`
//!   (KOTS full snapshots); `newestCompletedBackupName`, `newestCompletedBackupExpiration`,
//!   `newestCompletedBackupExpiresInSeconds` (negative once expired); `storageLocationsNotValidated`
//!   ([{name, namespace, phase, lastValidationTime, ageSeconds, validationFrequencySeconds, reason}]);
//!   `nodesWithoutNodeAgent` ([{node, pods, podList, untoleratedTaints, untoleratedTaintList}]: nodes running pods
//!   with file-system-backed-up volumes and no node-agent pod, and the node's taints the DaemonSet does not tolerate). Null where the bundle cannot tell.
//! - `facts.collection` (facts/collection.rs): one object per collector error of the manifest; a download whose
//!   signed URL was not reached from where snapdoc ran also carries `url`, `endpoint`, `reach` and `why`.
//! - `facts.scheduling` (facts/scheduling.rs): the node-agent DaemonSet and each data mover pod that timed out
//!   preparing or is Pending, with the nodes' taints it does not tolerate.
//! - `facts.restoreWaits` (facts/restore_waits.rs): each restored pod whose restore helper log shows it still
//!   waiting for a volume's done file, with that volume's PodVolumeRestore.
//! - `facts.nodeEvents` (facts/node_events.rs): each kubelet event telling of trouble (pressure, eviction,
//!   OOM, reboot, NotReady) on a node that ran a PodVolumeBackup or DataUpload, with when it was seen.
//! - `facts.kots` (facts/kots.rs): the KOTS snapshot settings (provider, full and partial schedules and TTLs,
//!   whether the license allows snapshots) and whether a KOTS schedule is overdue; none without them.
pub(crate) mod backups;
mod collection;
pub(crate) mod components;
mod cron;
mod health;
pub(crate) mod interned;
pub(crate) mod inventory;
pub(crate) mod json;
mod kots;
pub(crate) mod node_events;
pub(crate) mod picked;
pub(crate) mod pod_volume_backups;
mod presence;
pub(crate) mod projected;
pub(crate) mod restore_waits;
mod schedules;
pub(crate) mod scheduling;
pub(crate) mod settings;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::{Value, json};

use backups::Backup;
pub use cron::Schedule;
pub(crate) use health::go_duration_seconds;
pub(crate) use kots::KotsSnapshotSettings;

use super::analysis::{BackupSummary, Environment, VolumeRef};
use super::environment;
use super::error::AnalyzeError;
use super::readiness::{self, Readiness};
use super::verdicts::VerdictContext;
use super::versions::{self, ImageRef};
use crate::bundle::Bundle;
use inventory::Inventory;
use json::{i64_at, str_at};

pub(crate) const FACTS_CLUSTER: &str = "facts.cluster";
pub(crate) const FACTS_SCHEDULES: &str = "facts.schedules";
pub(crate) const FACTS_VOLUMES: &str = "facts.volumes";
pub(crate) const FACTS_COMPONENTS: &str = "facts.components";
pub(crate) const FACTS_COLLECTION: &str = "facts.collection";
pub(crate) const FACTS_KOTS: &str = "facts.kots";
pub(crate) const FACTS_SCHEDULING: &str = "facts.scheduling";
pub(crate) const FACTS_RESTORE_WAITS: &str = "facts.restoreWaits";
pub(crate) const FACTS_NODE_EVENTS: &str = "facts.nodeEvents";

/// What the analysis derives from a bundle before the rules run: its age, facts, versions, backups.
#[derive(Debug, Clone)]
pub struct BundleFacts {
    /// The bundle's creation time (manifest.created), else the latest timestamp in its objects, else now.
    pub now: Timestamp,
    /// What `now` was told from, in words, for the report ("the folder name support-bundle-…").
    pub(crate) dated_from: String,
    /// `facts.cluster` (exactly one object), `facts.schedules`, `facts.volumes`, `facts.components`.
    pub kinds: BTreeMap<String, Vec<Value>>,
    /// Component → version core (`1.12.3`), for compat rules; only components whose version is known.
    pub versions: BTreeMap<String, String>,
    /// The environment table of the report.
    pub environment: Environment,
    /// Where Velero runs: the collector's scope, else the velero Deployment's namespace, else the namespace of
    /// its storage locations / backups. For backups named without a namespace (`backup=name`, a log's owner).
    pub velero_namespace: Option<String>,
    /// Backups and restores, newest first.
    pub backups: Vec<BackupSummary>,
    /// Volumes of pods in backed-up namespaces that no backup covers.
    pub volumes_not_backed_up: Vec<VolumeRef>,
    /// The KOTS Admin Console's snapshot settings and license, when the bundle carries them (a KOTS support
    /// bundle); `facts.kots` is derived from them.
    pub kots_snapshots: Option<KotsSnapshotSettings>,
    /// Disaster-recovery readiness (analyze/readiness), also `facts.readiness` for the rules.
    pub readiness: Readiness,
    /// The objects around each backup the verdicts link findings through (analyze/verdicts/context.rs).
    pub(crate) verdict_context: VerdictContext,
    /// What this bundle lacks, in words.
    pub unavailable: Vec<String>,
    /// What the bundle does not let snapdoc see that the checks need (whether Velero is installed, its
    /// backups), each with the reason: an analysis with any is incomplete (analyze/status.rs).
    pub not_seen: Vec<String>,
}

impl BundleFacts {
    /// What the rules are read against, from these facts.
    pub(crate) fn engine_context(&self) -> super::engine::EngineContext<'_> {
        super::engine::EngineContext {
            now: self.now,
            facts: &self.kinds,
            versions: &self.versions,
            velero_namespace: self.velero_namespace.as_deref(),
        }
    }
}

/// Reads the bundle's objects once and derives everything the rules and the report need from them.
/// Fails only when the bundle itself cannot be read; a broken resource file becomes an `unavailable` line.
pub fn gather(bundle: &mut Bundle) -> Result<BundleFacts, AnalyzeError> {
    let (inv, reference) = ReferenceTime::read(bundle);
    gather_from(bundle, inv, reference)
}

/// The time a bundle is read at, told before its facts are gathered: the object rules that read as objects
/// stream need it (engine/streamed.rs), and read on another thread while the facts are gathered.
pub(crate) struct ReferenceTime {
    pub(crate) now: Timestamp,
    dated_from: String,
}

impl ReferenceTime {
    /// The bundle's inventory and the time it is read at.
    pub(crate) fn read(bundle: &mut Bundle) -> (Inventory, ReferenceTime) {
        let inv = Inventory::load(bundle);
        let (now, dated_from) = reference_time(bundle, &inv);
        (inv, ReferenceTime { now, dated_from })
    }
}

/// [`gather`] with the inventory and time [`ReferenceTime::read`] gave.
pub(crate) fn gather_from(
    bundle: &mut Bundle,
    mut inv: Inventory,
    reference: ReferenceTime,
) -> Result<BundleFacts, AnalyzeError> {
    let ReferenceTime { now, dated_from } = reference;
    let kots_snapshots = KotsSnapshotSettings::read(bundle, &mut inv.unreadable);
    let velero_namespace_hint = bundle
        .manifest()
        .and_then(|m| m.scope.get("veleroNamespace"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let velero = components::velero(&inv, velero_namespace_hint.as_deref());
    let velero_namespace = velero_namespace_hint
        .or_else(|| velero.as_ref().and_then(|v| v.namespace.clone()))
        .or_else(|| {
            inv.storage_locations
                .iter()
                .find_map(|o| json::namespace(o).map(str::to_string))
                .or_else(|| {
                    inv.backups
                        .iter()
                        .find_map(|b| b.namespace.as_deref().map(str::to_string))
                })
        });
    let node_agent = components::node_agent(&inv, velero_namespace.as_deref());
    let kotsadm = components::kotsadm(&inv);

    let environment =
        environment::environment(&inv, velero.as_ref(), node_agent.as_ref(), kotsadm.as_ref());
    let backups = environment::backup_summaries(&inv, bundle);
    let schedule_facts = schedules::schedule_facts(&inv, now);
    let volume_facts = volumes::volume_facts(&inv, velero.as_ref());
    let volumes_not_backed_up = environment::volumes_not_backed_up(&volume_facts);

    let mut versions = BTreeMap::new();
    let mut record = |component: &str, version: Option<&str>| {
        if let Some(core) = version.and_then(versions::core_version) {
            versions.insert(component.to_string(), core);
        }
    };
    record(
        "kubernetes",
        environment
            .kubernetes_version
            .as_deref()
            .or_else(|| kubelet_version(&environment)),
    );
    record(
        "velero",
        environment
            .velero
            .as_ref()
            .and_then(|c| c.version.as_deref()),
    );
    record(
        "node-agent",
        environment
            .node_agent
            .as_ref()
            .and_then(|c| c.version.as_deref()),
    );
    record(
        "kots",
        environment.kots.as_ref().and_then(|c| c.version.as_deref()),
    );
    for plugin in &environment.plugins {
        record(&plugin.name, plugin.version.as_deref());
    }

    let presence = presence::velero_presence(bundle, &inv, velero.is_some());
    let mut cluster = cluster_fact(ClusterInputs {
        inv: &inv,
        now,
        environment: &environment,
        velero: velero.as_ref(),
        velero_namespace: velero_namespace.as_deref(),
        node_agent: node_agent.as_ref(),
        volume_facts: &volume_facts,
        presence: &presence,
    });
    // The flags as rules read them: `serverSettings["--fs-backup-timeout"]` (null: a default that depends on
    // more than the version).
    cluster["serverSettings"] = Value::Object(
        environment
            .settings
            .iter()
            .map(|s| (s.flag.clone(), json!(s.value)))
            .collect(),
    );
    health::extend_cluster_fact(
        &mut cluster,
        &health::HealthInputs {
            inv: &inv,
            now,
            velero: velero.as_ref(),
            velero_namespace: velero_namespace.as_deref(),
            node_agent: node_agent.as_ref(),
            volume_facts: &volume_facts,
        },
    );
    let readiness = readiness::assess(&readiness::ReadinessInputs {
        inv: &inv,
        now,
        environment: &environment,
        velero: velero.as_ref(),
        node_agent: node_agent.as_ref(),
        volume_facts: &volume_facts,
        schedule_facts: &schedule_facts,
        cluster: &cluster,
        kots_settings: kots_snapshots.as_ref(),
    });
    let mut kinds = BTreeMap::new();
    kinds.insert(
        readiness::FACTS_READINESS.to_string(),
        vec![readiness::fact(&readiness, kots_snapshots.as_ref())],
    );
    kinds.insert(FACTS_CLUSTER.to_string(), vec![cluster]);
    kinds.insert(FACTS_SCHEDULES.to_string(), schedule_facts);
    kinds.insert(FACTS_VOLUMES.to_string(), volume_facts);
    kinds.insert(
        FACTS_COMPONENTS.to_string(),
        components::component_facts(&inv),
    );
    kinds.insert(
        FACTS_COLLECTION.to_string(),
        collection::collection_facts(
            bundle
                .manifest()
                .map_or(&[][..], |m| m.collector_errors.as_slice()),
            bundle
                .manifest()
                .and_then(|m| m.scope.get("downloads")?.get("urls")?.as_array())
                .map_or(&[][..], Vec::as_slice),
        ),
    );

    kinds.insert(
        FACTS_KOTS.to_string(),
        kots::kots_facts(kots_snapshots.as_ref(), &inv, now),
    );
    // Events are read here and by the timelines (one parse, shared); a broken events file only leaves the
    // scheduler's message out.
    let (events, events_unreadable) = match bundle.shared_objects(crate::analyze::timeline::EVENTS)
    {
        Ok(events) => (events, None),
        Err(e) => (Default::default(), Some(format!("events: {e}"))),
    };
    kinds.insert(
        FACTS_SCHEDULING.to_string(),
        scheduling::scheduling_facts(&scheduling::SchedulingInputs {
            inv: &inv,
            events: &events,
            velero: velero.as_ref(),
            node_agent: node_agent.as_ref(),
            settings: &environment.settings,
        }),
    );
    kinds.insert(
        FACTS_RESTORE_WAITS.to_string(),
        restore_waits::restore_wait_facts(&inv, &restore_waits::helper_logs(bundle)),
    );
    // Unreadable or absent (bundles before node events were collected): none.
    let node_events = bundle
        .read_json(crate::bundle::layout::CLUSTER_NODE_EVENTS)
        .ok()
        .flatten()
        .unwrap_or(Value::Null);
    kinds.insert(
        FACTS_NODE_EVENTS.to_string(),
        node_events::node_event_facts(&inv, json::array_at(&node_events, &["items"])),
    );

    let mut unavailable = environment::unavailable(bundle, &inv, &backups);
    unavailable.extend(events_unreadable);
    let mut verdict_context = VerdictContext::from_inventory(
        &inv,
        velero.as_ref(),
        bundle
            .manifest()
            .map_or(&[][..], |m| m.collector_errors.as_slice()),
        bundle.format().as_str(),
    );
    verdict_context.settings = environment.settings.clone();
    verdict_context.item_errors =
        crate::analyze::verdicts::context::read_item_errors(bundle, &backups);
    verdict_context.volume_infos =
        crate::analyze::verdicts::context::read_volume_infos(bundle, &backups);
    if verdict_context.volume_operations_left_out > 0 {
        unavailable.push(format!(
            "the pod volume backups / restores and data uploads / downloads of completed backups and restores \
             beyond the first {}: {} of them were counted but not kept for the verdicts (only failed, partially \
             failed or running ones get a verdict)",
            crate::analyze::verdicts::context::MAX_VOLUME_OPERATIONS,
            verdict_context.volume_operations_left_out
        ));
    }
    unavailable.extend(objects_left_out(bundle));
    Ok(BundleFacts {
        verdict_context,
        now,
        dated_from,
        kinds,
        versions,
        environment,
        velero_namespace,
        backups,
        volumes_not_backed_up,
        kots_snapshots,
        readiness,
        unavailable,
        not_seen: presence::not_seen(&presence, &inv),
    })
}

/// The lists kept only in part ([`crate::bundle::reader::MAX_OBJECTS_OF_A_KIND`]), in words: counts, findings
/// and verdicts read only the newest objects of those kinds.
fn objects_left_out(bundle: &Bundle) -> Vec<String> {
    let max = crate::bundle::reader::MAX_OBJECTS_OF_A_KIND;
    bundle
        .objects_left_out()
        .iter()
        .map(|(resource, total)| {
            format!(
                "{resource}: {max} of {total} analysed, the newest by creation time; the {} oldest were left \
                 out (at most {max} objects of a kind are kept, so that memory stays bounded)",
                total - max
            )
        })
        .collect()
}

/// Without the API server's version, the kubelets' (the lowest, as upgrades go control plane first).
fn kubelet_version(environment: &Environment) -> Option<&str> {
    environment
        .nodes
        .iter()
        .filter_map(|n| n.kubelet_version.as_deref())
        .min_by(|a, b| versions::compare(a, b).unwrap_or(std::cmp::Ordering::Equal))
}

/// manifest.created, else the latest timestamp the objects carry, else the clock: a bundle reads the same
/// every day it is analysed.
fn reference_time(bundle: &Bundle, inv: &Inventory) -> (Timestamp, String) {
    let stamped = [
        &inv.restores,
        &inv.schedules,
        &inv.storage_locations,
        &inv.data_uploads,
        &inv.pods,
        &inv.deployments,
        &inv.daemonsets,
    ];
    let pod_volume_backups = inv
        .pod_volume_backups
        .iter()
        .flat_map(|pvb| [pvb.created, pvb.started, pvb.completed]);
    // A Backup's status has no lastValidationTime or lastBackup (a location's and a schedule's).
    let backups = inv
        .backups
        .iter()
        .flat_map(|b| [b.created, b.status.started, b.status.completed]);
    let newest_in_objects = stamped
        .into_iter()
        .flatten()
        .flat_map(|o| {
            [
                json::created(o),
                json::time_at(o, &["status", "startTimestamp"]),
                json::time_at(o, &["status", "completionTimestamp"]),
                json::time_at(o, &["status", "lastValidationTime"]),
                json::time_at(o, &["status", "lastBackup"]),
            ]
        })
        .chain(backups)
        .chain(pod_volume_backups)
        .flatten()
        .max();
    const IN_OBJECTS: &str = "the newest timestamp in its objects";
    let manifest = bundle.manifest();
    match manifest.and_then(|m| json::parse_time(&m.created)) {
        // snapdoc's collector wrote its own clock: that is when it was made.
        Some(created) if manifest.is_some_and(|m| m.created_from.is_none()) => {
            (created, "its manifest (the collector's clock)".to_string())
        }
        // A foreign bundle's time is told from names or file times (bundle/dating.rs); it cannot be earlier
        // than what its objects record, whatever a zone-less name or a reset file time says.
        Some(created) => {
            let from = manifest
                .and_then(|m| m.created_from.clone())
                .unwrap_or_default();
            match newest_in_objects {
                Some(newest) if newest > created => (
                    newest,
                    format!("{IN_OBJECTS} ({from} gave an earlier time, {created})"),
                ),
                _ => (created, from),
            }
        }
        None => match newest_in_objects {
            Some(newest) => (newest, IN_OBJECTS.to_string()),
            None => (
                Timestamp::now(),
                "the time of the analysis: the bundle holds no time".to_string(),
            ),
        },
    }
}

/// `found`, or null when there was nothing to look in: a rule must not call a component missing because
/// the collector could not list workloads.
fn known(found: bool, looked: bool) -> Value {
    if found || looked {
        Value::Bool(found)
    } else {
        Value::Null
    }
}

/// The file-system backup uploaders (restic, kopia) the bundle shows in use, and the server's default.
pub(crate) struct Uploaders {
    /// Sorted, restic and kopia only.
    pub(crate) in_use: Vec<String>,
    /// The server's `--uploader-type`: what new file-system backups use.
    pub server: Option<String>,
}

/// From pod volume backups, repositories, data uploads and the server's `--uploader-type`.
pub(crate) fn uploaders(inv: &Inventory, velero: Option<&components::Workload<'_>>) -> Uploaders {
    let mut uploader_types = BTreeSet::new();
    for pvb in &inv.pod_volume_backups {
        // Before 1.10 restic was the only uploader and the field did not exist.
        uploader_types.insert(pvb.uploader.as_deref().unwrap_or("restic"));
    }
    for repo in &inv.backup_repositories {
        uploader_types.insert(str_at(repo, &["spec", "repositoryType"]).unwrap_or("restic"));
    }
    if !inv.restic_repositories.is_empty() {
        uploader_types.insert("restic");
    }
    if !inv.data_uploads.is_empty() {
        // The built-in data mover moves CSI snapshot data with kopia.
        uploader_types.insert("kopia");
    }
    let server_uploader = velero.and_then(|v| v.flag("--uploader-type"));
    if let Some(u) = server_uploader.as_deref() {
        uploader_types.insert(u);
    }
    let in_use: Vec<String> = uploader_types
        .into_iter()
        .filter(|u| matches!(*u, "restic" | "kopia"))
        .map(str::to_string)
        .collect();

    Uploaders {
        in_use,
        server: server_uploader,
    }
}

struct ClusterInputs<'a> {
    inv: &'a Inventory,
    now: Timestamp,
    environment: &'a Environment,
    velero: Option<&'a components::Workload<'a>>,
    velero_namespace: Option<&'a str>,
    node_agent: Option<&'a components::Workload<'a>>,
    volume_facts: &'a [Value],
    presence: &'a presence::VeleroPresence,
}

fn cluster_fact(input: ClusterInputs<'_>) -> Value {
    let ClusterInputs {
        inv,
        now,
        environment,
        velero,
        velero_namespace,
        node_agent,
        volume_facts,
        presence,
    } = input;
    let node_agent_kind = node_agent.and_then(|w| str_at(w.container, &["name"]));

    let Uploaders {
        in_use: uploader_types,
        server: server_uploader,
    } = uploaders(inv, velero);

    let fs_backup_used = !inv.pod_volume_backups.is_empty()
        || inv.backups.iter().any(|b| {
            b.spec.default_volumes_to_fs_backup == Some(true)
                || b.spec.default_volumes_to_restic == Some(true)
        })
        || inv.schedules.iter().any(|o| {
            let spec = json::at(o, &["spec", "template"])
                .or_else(|| json::at(o, &["spec"]))
                .unwrap_or(&Value::Null);
            json::bool_at(spec, &["defaultVolumesToFsBackup"]) == Some(true)
                || json::bool_at(spec, &["defaultVolumesToRestic"]) == Some(true)
        })
        || inv
            .pods
            .iter()
            .any(|p| json::annotation(p, "backup.velero.io/backup-volumes").is_some())
        || volume_facts
            .iter()
            .any(|v| v["defaultFsBackup"] == Value::Bool(true));

    let restic_repositories_present = !inv.restic_repositories.is_empty()
        || inv
            .backup_repositories
            .iter()
            .any(|r| str_at(r, &["spec", "repositoryType"]).is_none_or(|t| t == "restic"));

    let backups_known = inv.has_backups_file;
    let completed: Vec<&Backup> = inv.backups.iter().filter(|b| b.is_completed()).collect();
    let last_completed_age = completed
        .iter()
        .filter_map(|b| b.finished())
        .max()
        .map(|t| now.duration_since(t).as_secs());

    let storage_providers: BTreeSet<String> = inv
        .storage_locations
        .iter()
        .filter_map(|l| str_at(l, &["spec", "provider"]))
        .map(|p| p.strip_prefix("velero.io/").unwrap_or(p).to_string())
        .collect();
    let plugins: Vec<Value> = environment
        .plugins
        .iter()
        .map(|p| json!({"name": p.name, "image": p.image, "version": p.version}))
        .collect();
    let os_images: BTreeSet<&str> = environment
        .nodes
        .iter()
        .filter_map(|n| n.os_image.as_deref())
        .collect();
    let ready_nodes = environment
        .nodes
        .iter()
        .filter(|n| n.ready == Some(true))
        .count();

    json!({
        // False only when the cluster proved it (facts/presence.rs); null when the bundle cannot tell.
        "veleroInstalled": presence.as_fact(),
        "veleroNamespace": velero_namespace,
        "veleroVersion": environment.velero.as_ref().and_then(|c| c.version.clone()),
        "veleroImage": environment.velero.as_ref().and_then(|c| c.image.clone()),
        "nodeAgentInstalled": known(node_agent.is_some(), inv.has_daemonsets_file || inv.has_pods_file),
        "nodeAgentKind": node_agent_kind,
        "nodeAgentVersion": environment.node_agent.as_ref().and_then(|c| c.version.clone()),
        "resticRepositoriesPresent": restic_repositories_present,
        "fsBackupUsed": fs_backup_used,
        "uploaderTypes": uploader_types,
        "serverUploaderType": server_uploader,
        // Null when the backups list is not in the bundle: "no backups" must not be read from a forbidden list.
        "backupCount": backups_known.then_some(inv.backups.len()),
        "completedBackupCount": backups_known.then_some(completed.len()),
        "failedBackupCount": backups_known.then(|| inv.backups.iter().filter(|b| matches!(
            b.status.phase.as_deref(),
            Some("Failed" | "PartiallyFailed" | "FailedValidation")
        )).count()),
        "restoreCount": inv.restores.len(),
        "lastCompletedBackupAgeSeconds": last_completed_age,
        "scheduleCount": inv.schedules.len(),
        "storageLocationCount": inv.storage_locations.len(),
        "snapshotLocationCount": inv.snapshot_locations.len(),
        "podVolumeBackupCount": inv.pod_volume_backups.len(),
        "dataUploadCount": inv.data_uploads.len(),
        "kotsInstalled": known(environment.kots.is_some(), inv.has_deployments_file || inv.has_pods_file),
        "kotsVersion": environment.kots.as_ref().and_then(|c| c.version.clone()),
        "installKind": environment.install_kind,
        "storageProviders": storage_providers,
        "plugins": plugins,
        "kubernetesVersion": environment.kubernetes_version.as_deref()
            .or_else(|| kubelet_version(environment))
            .and_then(versions::kubernetes_version),
        "kubernetesGitVersion": environment.kubernetes_version,
        "nodeCount": environment.nodes.len(),
        "readyNodeCount": ready_nodes,
        "nodeOsImages": os_images,
        "veleroServerDefaultVolumesToFsBackup": velero.and_then(|v| {
            v.flag("--default-volumes-to-fs-backup").or_else(|| v.flag("--default-volumes-to-restic"))
        }).map(|v| v == "true"),
        "veleroFeatures": velero.and_then(|v| v.flag("--features")),
        "veleroImageDigestOnly": environment.velero.as_ref()
            .and_then(|c| c.image.as_deref())
            .and_then(ImageRef::parse)
            .is_some_and(|i| i.tag.is_none() && i.digest.is_some()),
        "backupRepositoriesNotReady": inv.backup_repositories.iter().chain(&inv.restic_repositories)
            .filter(|r| str_at(r, &["status", "phase"]) == Some("NotReady")).count(),
        "nodeAgentDesired": node_agent.and_then(|w| w.controller)
            .and_then(|c| i64_at(c, &["status", "desiredNumberScheduled"])),
        "nodeAgentReady": node_agent.and_then(|w| w.controller)
            .and_then(|c| i64_at(c, &["status", "numberReady"])),
    })
}
