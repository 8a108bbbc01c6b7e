//! The environment table, the backups/restores table, volumes no backup covers, and what the bundle lacks.
use jiff::Timestamp;
use serde_json::Value;

use super::analysis::{
    BackupSummary, ComponentInfo, Environment, NodeInfo, StorageLocationInfo, VolumeRef,
};
use super::facts::backups::BackupOrRestore;
use super::facts::components::{self, Workload};
use super::facts::interned::Strings;
use super::facts::inventory::Inventory;
use super::facts::json::{self, array_at, str_at, string_at, time_at};
use crate::bundle::{Bundle, layout};

pub(crate) fn environment(
    inv: &Inventory,
    velero: Option<&Workload<'_>>,
    node_agent: Option<&Workload<'_>>,
    kotsadm: Option<&Workload<'_>>,
) -> Environment {
    let velero_namespace = velero.and_then(|v| v.namespace.as_deref());
    let velero_pods = components::pods_of(inv, &["velero"], velero_namespace);
    let plugins = velero
        .map(|v| {
            components::plugins(v)
                .into_iter()
                .map(|p| ComponentInfo {
                    status: components::plugin_status(&velero_pods, &p.container),
                    name: p.name,
                    version: p.version,
                    image: p.image,
                    namespace: v.namespace.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let super::facts::Uploaders {
        in_use: uploaders,
        server: server_uploader_type,
    } = super::facts::uploaders(inv, velero);
    Environment {
        kubernetes_version: inv
            .version
            .as_ref()
            .and_then(|v| string_at(v, &["gitVersion"])),
        nodes: inv.nodes.iter().filter_map(node_info).collect(),
        velero: velero.map(|v| {
            let mut info = components::component_info("velero", v, &velero_pods);
            // A digest-pinned or `latest` image names no version; the server says its own when asked.
            if info.version.is_none() {
                info.version = server_reported_version(inv);
            }
            info
        }),
        plugins,
        node_agent: node_agent.map(|w| {
            let kind = str_at(w.container, &["name"]).unwrap_or("node-agent");
            let pods = components::pods_of(inv, &[kind], w.namespace.as_deref());
            components::component_info(kind, w, &pods)
        }),
        kots: kotsadm.map(|w| {
            let pods = components::pods_of(inv, &["kotsadm"], w.namespace.as_deref());
            components::component_info("kots", w, &pods)
        }),
        install_kind: install_kind(inv, kotsadm),
        storage_locations: storage_locations(inv),
        uploaders,
        server_uploader_type,
        settings: super::facts::settings::server_settings(velero, node_agent),
    }
}

/// The newest `status.serverVersion` a ServerStatusRequest recorded (`v1.12.3` → `1.12.3`).
fn server_reported_version(inv: &Inventory) -> Option<String> {
    inv.server_status_requests
        .iter()
        .filter_map(|r| {
            let version = str_at(r, &["status", "serverVersion"])?;
            let version = version.strip_prefix('v').unwrap_or(version);
            Some((
                time_at(r, &["status", "processedTimestamp"]),
                version.to_string(),
            ))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v)
}

fn node_info(node: &Value) -> Option<NodeInfo> {
    let info = |key: &str| string_at(node, &["status", "nodeInfo", key]);
    let ready = array_at(node, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == Some("Ready"))
        .and_then(|c| str_at(c, &["status"]))
        .map(|s| s == "True");
    Some(NodeInfo {
        name: json::name(node)?.to_string(),
        os_image: info("osImage"),
        kernel_version: info("kernelVersion"),
        container_runtime: info("containerRuntimeVersion"),
        kubelet_version: info("kubeletVersion"),
        architecture: info("architecture"),
        ready,
    })
}

/// kURL (kurl namespace, kube-system/kurl-config, `kurl.sh/cluster` node label), Replicated Embedded Cluster
/// (embedded-cluster namespace, embedded-cluster/embedded-cluster-config, kotsadm's EMBEDDED_CLUSTER_ID):
/// the markers KOTS itself checks. Otherwise an existing cluster, when there was anything to look at.
fn install_kind(inv: &Inventory, kotsadm: Option<&Workload<'_>>) -> Option<String> {
    let has_namespace = |name: &str| inv.namespaces.iter().any(|n| json::name(n) == Some(name));
    let has_configmap = |namespace: &str, name: &str| {
        inv.configmaps
            .iter()
            .any(|c| json::namespace(c) == Some(namespace) && json::name(c) == Some(name))
    };
    let node_labelled = |label: &str| inv.nodes.iter().any(|n| json::label(n, label).is_some());
    if has_namespace("kurl")
        || has_configmap("kube-system", "kurl-config")
        || node_labelled("kurl.sh/cluster")
    {
        return Some("kurl".into());
    }
    if has_namespace("embedded-cluster")
        || has_configmap("embedded-cluster", "embedded-cluster-config")
        || kotsadm.is_some_and(|k| {
            k.env("EMBEDDED_CLUSTER_ID")
                .is_some_and(|id| !id.is_empty())
        })
    {
        return Some("embedded-cluster".into());
    }
    let looked = !inv.namespaces.is_empty() || !inv.nodes.is_empty() || !inv.configmaps.is_empty();
    looked.then(|| "existing".into())
}

fn storage_locations(inv: &Inventory) -> Vec<StorageLocationInfo> {
    // Before Velero 1.6 there was no spec.default: the server's default location was named "default".
    let any_marked = inv
        .storage_locations
        .iter()
        .any(|l| json::bool_at(l, &["spec", "default"]).is_some());
    inv.storage_locations
        .iter()
        .filter_map(|location| {
            let name = json::name(location)?.to_string();
            let default = match json::bool_at(location, &["spec", "default"]) {
                Some(d) => d,
                None => !any_marked && name == "default",
            };
            Some(StorageLocationInfo {
                namespace: json::namespace(location).map(str::to_string),
                provider: string_at(location, &["spec", "provider"]),
                bucket: string_at(location, &["spec", "objectStorage", "bucket"]),
                prefix: string_at(location, &["spec", "objectStorage", "prefix"]),
                phase: string_at(location, &["status", "phase"]),
                last_validation: string_at(location, &["status", "lastValidationTime"]),
                message: string_at(location, &["status", "message"]),
                default,
                name,
            })
        })
        .collect()
}

/// Every backup and restore, newest first (by start, else creation).
pub(crate) fn backup_summaries(inv: &Inventory, bundle: &Bundle) -> Vec<BackupSummary> {
    let mut rows: Vec<(Option<Timestamp>, BackupSummary)> =
        Vec::with_capacity(inv.backups.len() + inv.restores.len());
    let mut strings = Strings::default();
    for backup in &inv.backups {
        if let Some(summary) = summarize(backup, "backup", bundle, None, &mut strings) {
            rows.push((sort_time(backup), summary));
        }
    }
    for restore in &inv.restores {
        // A restore's KOTS type is its backup's.
        let of_backup = str_at(restore, &["spec", "backupName"]).and_then(|name| {
            inv.backups
                .iter()
                .find(|b| b.name.as_deref() == Some(name))
                .map(kots_backup_type)
        });
        if let Some(summary) = summarize(restore, "restore", bundle, of_backup, &mut strings) {
            rows.push((sort_time(restore), summary));
        }
    }
    rows.sort_by(|(ta, a), (tb, b)| {
        tb.cmp(ta)
            .then_with(|| b.name.cmp(&a.name))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    // Held to the end of the analysis: not in the rows' buffer, which held the times beside them.
    let mut summaries = Vec::with_capacity(rows.len());
    summaries.extend(rows.into_iter().map(|(_, s)| s));
    summaries
}

fn sort_time(object: &impl BackupOrRestore) -> Option<Timestamp> {
    object.started_or_created()
}

/// instance (KOTS full backup) | app (KOTS partial backup) | none.
fn kots_backup_type(object: &impl BackupOrRestore) -> &'static str {
    if object.kots_instance() == Some("true") {
        "instance"
    } else if object.kots_app_slug().is_some() {
        "app"
    } else {
        "none"
    }
}

fn summarize(
    object: &impl BackupOrRestore,
    kind: &str,
    bundle: &Bundle,
    kots_type_of_backup: Option<&'static str>,
    strings: &mut Strings,
) -> Option<BackupSummary> {
    let name = object.name()?.to_string();
    let started = object.started();
    let completed = object.completed();
    let validation_errors = object.validation_errors();
    let failure_reason = object
        .failure_reason()
        .map(str::to_string)
        .or_else(|| (!validation_errors.is_empty()).then(|| validation_errors.join("; ")));
    let log_path = match kind {
        "restore" => layout::restore_log_path(&name),
        _ => layout::backup_log_path(&name),
    };
    let own_type = kots_backup_type(object);
    Some(BackupSummary {
        kind: strings.share(kind),
        namespace: object.namespace().map(|n| strings.share(n)),
        phase: object.phase().map(|p| strings.share(p)),
        started: started.map(|t| t.to_string()),
        completed: completed.map(|t| t.to_string()),
        duration_seconds: match (started, completed) {
            (Some(s), Some(c)) if c >= s => Some(c.duration_since(s).as_secs()),
            _ => None,
        },
        errors: object.errors(),
        warnings: object.warnings(),
        storage_location: object
            .storage_location()
            .or_else(|| object.storage_location_label())
            .map(|l| strings.share(l)),
        backup_name: object.backup_name().map(str::to_string),
        schedule: object
            .schedule_label()
            .or_else(|| object.schedule_name())
            .map(|s| strings.share(s)),
        kots_backup_type: Some(strings.share(match (own_type, kots_type_of_backup) {
            ("none", Some(of_backup)) => of_backup,
            (own, _) => own,
        })),
        failure_reason,
        log_available: bundle.has(&log_path),
        name,
    })
}

pub(crate) fn volumes_not_backed_up(volume_facts: &[Value]) -> Vec<VolumeRef> {
    volume_facts
        .iter()
        .filter(|v| v["backedUp"] == Value::Bool(false))
        .filter_map(|v| {
            Some(VolumeRef {
                namespace: v["namespace"].as_str()?.to_string(),
                pod: v["pod"].as_str()?.to_string(),
                volume: v["volume"].as_str()?.to_string(),
                volume_type: v["type"].as_str()?.to_string(),
                claim_name: v["claimName"].as_str().map(str::to_string),
                reason: v["reason"]
                    .as_str()
                    .unwrap_or("no backup covers it")
                    .to_string(),
            })
        })
        .collect()
}

/// What the bundle does not hold, said in words so a report never stays silent about it.
pub(crate) fn unavailable(
    bundle: &Bundle,
    inv: &Inventory,
    backups: &[BackupSummary],
) -> Vec<String> {
    let mut missing = Vec::new();
    if inv.version.is_none() {
        missing.push(format!(
            "Kubernetes version: the bundle has no {}",
            layout::CLUSTER_VERSION
        ));
    }
    if !inv.has_nodes_file {
        missing.push(format!(
            "node OS info: the bundle has no {} (OS images, kernels and runtimes unknown)",
            layout::CLUSTER_NODES
        ));
    }
    if !inv.has_pods_file {
        missing.push(
            "pod status: the bundle holds no pods (component health, restarts and pod volumes unknown)".into(),
        );
    }
    if !inv.has_backups_file {
        missing.push("backups: the bundle holds no Velero Backup objects list".into());
    }
    let backup_rows: Vec<&BackupSummary> =
        backups.iter().filter(|b| &*b.kind == "backup").collect();
    let any_backup_log = bundle
        .logs()
        .iter()
        .any(|l| l.source == crate::bundle::LogSource::BackupLog);
    if !backup_rows.is_empty() && !any_backup_log {
        missing.push(
            "backup logs: the bundle holds none (collected without DownloadRequest access, or a foreign bundle)"
                .into(),
        );
    } else {
        let failed_without_log: Vec<&str> = backup_rows
            .iter()
            .filter(|b| is_failed(b.phase.as_deref()) && !b.log_available)
            .filter(|b| b.phase.as_deref() != Some("FailedValidation"))
            .map(|b| b.name.as_str())
            .collect();
        if !failed_without_log.is_empty() {
            missing.push(format!(
                "backup logs of failed backups: {} (not in the bundle)",
                failed_without_log.join(", ")
            ));
        }
    }
    missing.extend(inv.unreadable.iter().map(|u| format!("unreadable: {u}")));
    missing.extend(bundle.unavailable().iter().cloned());
    if let Some(manifest) = bundle.manifest() {
        for error in &manifest.collector_errors {
            let target = error.target.as_deref().unwrap_or(&error.source);
            let place = error
                .namespace
                .as_deref()
                .map(|ns| format!(" in namespace {ns}"))
                .unwrap_or_default();
            let status = error
                .status
                .map(|s| format!("HTTP {s}: "))
                .unwrap_or_default();
            missing.push(format!(
                "{target}{place}: not collected ({status}{})",
                error.message
            ));
        }
    }
    missing
}

/// Terminal phases a verdict explains.
pub(crate) fn is_failed(phase: Option<&str>) -> bool {
    matches!(
        phase,
        Some("Failed" | "PartiallyFailed" | "FailedValidation")
    )
}
