//! `facts.volumes`: every data volume of the pods in namespaces the backups include, and whether a
//! backup covers it (file-system backup by opt-in or by default, or a volume snapshot of its PVC).
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::backups::Backup;
use super::components::Workload;
use super::inventory::Inventory;
use super::json::{self, array_at, bool_at, str_at};

const BACKUP_VOLUMES: &str = "backup.velero.io/backup-volumes";
const BACKUP_VOLUMES_EXCLUDES: &str = "backup.velero.io/backup-volumes-excludes";
const EXCLUDE_FROM_BACKUP: &str = "velero.io/exclude-from-backup";

/// What one schedule or backup selects: its namespaces and how it treats volumes.
#[derive(Debug)]
struct Scope<'a> {
    included: Vec<&'a str>,
    excluded: Vec<&'a str>,
    match_labels: Option<&'a Map<String, Value>>,
    default_fs_backup: bool,
    snapshot_volumes: bool,
}

impl Scope<'_> {
    fn selects_namespace(&self, namespace: &str) -> bool {
        let included =
            self.included.is_empty() || self.included.iter().any(|p| glob_match(p, namespace));
        included && !self.excluded.iter().any(|p| glob_match(p, namespace))
    }

    /// Names the namespace itself (not by `*`): a hostPath volume there is the user's data, not infrastructure.
    fn names_namespace(&self, namespace: &str) -> bool {
        self.included.contains(&namespace)
    }

    fn selects_pod(&self, pod: &Value) -> bool {
        let Some(wanted) = self.match_labels else {
            return true;
        };
        wanted.iter().all(|(key, value)| {
            value
                .as_str()
                .is_some_and(|v| json::label(pod, key) == Some(v))
        })
    }
}

/// `*` and `?` wildcards, as Velero ≥ 1.11 accepts in namespace lists.
fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

fn scope_of<'a>(spec: &'a Value, server_default_fs: bool) -> Scope<'a> {
    Scope {
        included: json::strings_at(spec, &["includedNamespaces"]),
        excluded: json::strings_at(spec, &["excludedNamespaces"]),
        match_labels: json::at(spec, &["labelSelector", "matchLabels"]).and_then(Value::as_object),
        // A backup that leaves the field unset takes the server's --default-volumes-to-fs-backup.
        default_fs_backup: bool_at(spec, &["defaultVolumesToFsBackup"])
            .or_else(|| bool_at(spec, &["defaultVolumesToRestic"]))
            .unwrap_or(server_default_fs),
        snapshot_volumes: bool_at(spec, &["snapshotVolumes"]) != Some(false),
    }
}

/// [`scope_of`] a backup's spec.
fn scope_of_backup(backup: &Backup, server_default_fs: bool) -> Scope<'_> {
    let spec = &backup.spec;
    Scope {
        included: spec.included_namespaces.iter().map(|n| &**n).collect(),
        excluded: spec.excluded_namespaces.iter().map(|n| &**n).collect(),
        match_labels: backup.match_labels(),
        default_fs_backup: spec
            .default_volumes_to_fs_backup
            .or(spec.default_volumes_to_restic)
            .unwrap_or(server_default_fs),
        snapshot_volumes: spec.snapshot_volumes != Some(false),
    }
}

/// The backups that say what is being backed up now: every schedule's template, and the newest backup of
/// every other series (KOTS instance backups, each KOTS app, manual backups).
fn scopes<'a>(inv: &'a Inventory, server_default_fs: bool) -> Vec<Scope<'a>> {
    let mut scopes: Vec<Scope<'a>> = inv
        .schedules
        .iter()
        .filter_map(|s| json::at(s, &["spec", "template"]))
        .map(|template| scope_of(template, server_default_fs))
        .collect();
    let schedule_names: Vec<&str> = inv.schedules.iter().filter_map(json::name).collect();
    let mut newest: BTreeMap<String, &'a Backup> = BTreeMap::new();
    for backup in &inv.backups {
        let series = if let Some(schedule) = backup.schedule.as_deref() {
            if schedule_names.contains(&schedule) {
                continue;
            }
            format!("schedule:{schedule}")
        } else if backup.is_kots_instance() {
            "kots-instance".to_string()
        } else if let Some(slug) = backup.kots.app_slug.as_deref() {
            format!("kots-app:{slug}")
        } else {
            "manual".to_string()
        };
        let slot = newest.entry(series).or_insert(backup);
        if backup.created > slot.created {
            *slot = backup;
        }
    }
    scopes.extend(
        newest
            .into_values()
            .filter(|b| b.has_spec)
            .map(|b| scope_of_backup(b, server_default_fs)),
    );
    scopes
}

/// Whether volume snapshots can happen at all: a VolumeSnapshotLocation, the CSI plugin or feature, data
/// uploads, or a backup that attempted snapshots.
fn snapshots_possible(inv: &Inventory, velero: Option<&Workload<'_>>) -> bool {
    let csi_enabled = velero.is_some_and(|v| {
        v.flag("--features")
            .is_some_and(|f| f.contains("EnableCSI"))
            || array_at(v.pod_spec, &["initContainers"])
                .iter()
                .any(|c| str_at(c, &["image"]).is_some_and(|i| i.contains("velero-plugin-for-csi")))
    });
    let attempted = inv.backups.iter().any(|b| {
        b.status.volume_snapshots_attempted.unwrap_or(0) > 0
            || b.status.csi_volume_snapshots_attempted.unwrap_or(0) > 0
    });
    !inv.snapshot_locations.is_empty() || !inv.data_uploads.is_empty() || csi_enabled || attempted
}

/// The volume source kind: the pod volume's one key besides `name`.
fn volume_type(volume: &Value) -> Option<&str> {
    volume
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|k| *k != "name")
}

/// Volume kinds that hold no data of their own.
const NOT_DATA: [&str; 4] = ["configMap", "secret", "projected", "downwardAPI"];

pub(crate) fn volume_facts(inv: &Inventory, velero: Option<&Workload<'_>>) -> Vec<Value> {
    let server_default_fs = velero.is_some_and(|v| {
        v.flag("--default-volumes-to-fs-backup")
            .or_else(|| v.flag("--default-volumes-to-restic"))
            .is_some_and(|value| value == "true")
    });
    let scopes = scopes(inv, server_default_fs);
    if scopes.is_empty() {
        return Vec::new();
    }
    let snapshots = snapshots_possible(inv, velero);
    let mut facts = Vec::new();
    for pod in &inv.pods {
        let (Some(namespace), Some(pod_name)) = (json::namespace(pod), json::name(pod)) else {
            continue;
        };
        let phase = str_at(pod, &["status", "phase"]);
        // A finished pod's volumes are no live data (Job pods).
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        let covering: Vec<&Scope> = scopes
            .iter()
            .filter(|s| s.selects_namespace(namespace) && s.selects_pod(pod))
            .collect();
        if covering.is_empty() {
            continue;
        }
        let opted_in = json::annotation(pod, BACKUP_VOLUMES)
            .map(json::comma_list)
            .unwrap_or_default();
        let excludes = json::annotation(pod, BACKUP_VOLUMES_EXCLUDES)
            .map(json::comma_list)
            .unwrap_or_default();
        let pod_excluded = json::label(pod, EXCLUDE_FROM_BACKUP) == Some("true");
        let default_fs = covering.iter().any(|s| s.default_fs_backup);
        let named_explicitly = covering.iter().any(|s| s.names_namespace(namespace));
        for volume in array_at(pod, &["spec", "volumes"]) {
            let (Some(volume_name), Some(kind)) = (str_at(volume, &["name"]), volume_type(volume))
            else {
                continue;
            };
            if NOT_DATA.contains(&kind) {
                continue;
            }
            let is_opted_in = opted_in.contains(&volume_name);
            let is_excluded = excludes.contains(&volume_name);
            let fs_by_default = default_fs && !is_excluded;
            // Scratch space and node paths count only where someone asked for them: an emptyDir opted in or
            // backed up by default, a hostPath opted in or in a namespace a backup names.
            match kind {
                "emptyDir" if !(is_opted_in || fs_by_default) => continue,
                "hostPath" if !(is_opted_in || named_explicitly) => continue,
                _ => {}
            }
            let claim_name = match kind {
                "persistentVolumeClaim" => {
                    str_at(volume, &["persistentVolumeClaim", "claimName"]).map(str::to_string)
                }
                // A generic ephemeral volume's PVC is named <pod>-<volume>.
                "ephemeral" => Some(format!("{pod_name}-{volume_name}")),
                _ => None,
            };
            let coverage = Coverage {
                kind,
                pod_phase: phase,
                pod_excluded,
                opted_in: is_opted_in,
                excluded: is_excluded,
                fs_by_default,
                snapshot: snapshots
                    && covering.iter().any(|s| s.snapshot_volumes)
                    && claim_name
                        .as_deref()
                        .is_some_and(|c| claim_snapshottable(inv, namespace, c)),
            }
            .decide();
            facts.push(json!({
                "namespace": namespace,
                "pod": pod_name,
                "volume": volume_name,
                "type": kind,
                "claimName": claim_name,
                "optedIn": is_opted_in,
                "excluded": is_excluded || pod_excluded,
                "defaultFsBackup": default_fs,
                "backedUp": coverage.method.is_some(),
                "method": coverage.method,
                "reason": coverage.reason,
            }));
        }
    }
    facts
}

/// A PVC whose volume is not node-local storage (hostPath / local PVs cannot be snapshotted).
fn claim_snapshottable(inv: &Inventory, namespace: &str, claim: &str) -> bool {
    let Some(volume_name) = inv
        .persistent_volume_claims
        .iter()
        .find(|c| json::namespace(c) == Some(namespace) && json::name(c) == Some(claim))
        .and_then(|c| str_at(c, &["spec", "volumeName"]))
    else {
        return true;
    };
    let Some(pv) = inv
        .persistent_volumes
        .iter()
        .find(|pv| json::name(pv) == Some(volume_name))
    else {
        return true;
    };
    json::at(pv, &["spec", "hostPath"]).is_none() && json::at(pv, &["spec", "local"]).is_none()
}

struct Coverage<'a> {
    kind: &'a str,
    pod_phase: Option<&'a str>,
    pod_excluded: bool,
    opted_in: bool,
    excluded: bool,
    fs_by_default: bool,
    snapshot: bool,
}

struct Decision {
    method: Option<&'static str>,
    reason: Option<String>,
}

impl Coverage<'_> {
    fn decide(&self) -> Decision {
        let covered = |method| Decision {
            method: Some(method),
            reason: None,
        };
        let not = |reason: String| Decision {
            method: None,
            reason: Some(reason),
        };
        if self.pod_excluded {
            return not(format!("the pod is labelled {EXCLUDE_FROM_BACKUP}=true"));
        }
        let fs_wanted = self.opted_in || self.fs_by_default;
        let running = self.pod_phase.is_none_or(|p| p == "Running");
        if fs_wanted && self.kind != "hostPath" && running {
            return covered("fs-backup");
        }
        if self.snapshot {
            return covered("snapshot");
        }
        if self.kind == "hostPath" {
            return not(
                "a hostPath volume: file-system backup skips hostPath volumes and they cannot be snapshotted"
                    .to_string(),
            );
        }
        if fs_wanted && !running {
            return not(format!(
                "the pod is {} and file-system backup reads volumes of running pods only",
                self.pod_phase.unwrap_or("not running")
            ));
        }
        if self.excluded {
            return not(format!(
                "excluded via the {BACKUP_VOLUMES_EXCLUDES} annotation"
            ));
        }
        let is_claim = matches!(self.kind, "persistentVolumeClaim" | "ephemeral");
        not(if is_claim {
            format!(
                "not opted in via {BACKUP_VOLUMES}, file-system backup is not the default, and no volume \
                 snapshot covers its PVC"
            )
        } else {
            format!(
                "a {} volume not opted in via {BACKUP_VOLUMES} while file-system backup is not the default",
                self.kind
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("app-*", "app-prod"));
        assert!(!glob_match("app-*", "web"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("abc", "abcd"));
    }
}
