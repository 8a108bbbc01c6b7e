//! Whether Velero is installed, as far as the bundle can prove it. "Not installed" is said only when the
//! cluster showed it: no velero.io CustomResourceDefinition served, and Velero's workloads looked for where
//! they could be (deployments listable in every namespace) with none found. A refused or narrowed read (a
//! namespace-scoped identity, a wrong `--velero-namespace`, a KOTS minimal-RBAC bundle that carries Velero's
//! logs but not its namespace's objects) leaves it unknown, with the reason, so no rule reads absence from a
//! view that could not see.
use serde_json::Value;

use super::inventory::Inventory;
use crate::bundle::layout::{self, LogSource};
use crate::bundle::{Bundle, CollectorError};

/// What the bundle shows of Velero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VeleroPresence {
    Installed,
    NotInstalled,
    /// Why the bundle cannot tell: one phrase, e.g. "the deployments list was refused".
    Unknown(String),
}

impl VeleroPresence {
    /// `facts.cluster.veleroInstalled`: true, false, or null when unknown.
    pub(crate) fn as_fact(&self) -> Value {
        match self {
            VeleroPresence::Installed => Value::Bool(true),
            VeleroPresence::NotInstalled => Value::Bool(false),
            VeleroPresence::Unknown(_) => Value::Null,
        }
    }
}

/// What of Velero the bundle does not show, with why: its presence when unknown, its backups when no list of
/// them is in the bundle (and Velero is not proved absent).
pub(crate) fn not_seen(presence: &VeleroPresence, inv: &Inventory) -> Vec<String> {
    let mut not_seen = Vec::new();
    if let VeleroPresence::Unknown(reason) = presence {
        not_seen.push(format!("whether Velero is installed ({reason})"));
    }
    if !inv.has_backups_file && *presence != VeleroPresence::NotInstalled {
        not_seen.push(format!("{BACKUPS} (the bundle holds no list of them)"));
    }
    not_seen
}

/// The resource whose list tells which backups exist and how they ended.
const BACKUPS: &str = "backups.velero.io";

pub(crate) fn velero_presence(
    bundle: &mut Bundle,
    inv: &Inventory,
    velero_workload_found: bool,
) -> VeleroPresence {
    let velero_objects_seen = !inv.backups.is_empty()
        || !inv.storage_locations.is_empty()
        || !inv.schedules.is_empty()
        || !inv.restores.is_empty();
    let velero_logs_seen = bundle
        .logs()
        .iter()
        .any(|log| matches!(log.source, LogSource::VeleroServer | LogSource::BackupLog));
    if velero_workload_found || velero_objects_seen || velero_logs_seen {
        return VeleroPresence::Installed;
    }
    let errors = bundle
        .manifest()
        .map(|m| m.collector_errors.clone())
        .unwrap_or_default();
    let crds = velero_crds_served(bundle, &errors);
    let workloads = workloads_listable(bundle, inv, &errors);
    match (crds, workloads) {
        (Ok(false), Ok(())) => VeleroPresence::NotInstalled,
        (Ok(true), Ok(())) => VeleroPresence::Unknown(
            "the cluster serves velero.io CustomResourceDefinitions, but no Velero deployment, object or log is \
             in the bundle"
                .into(),
        ),
        (Err(reason), _) | (_, Err(reason)) => VeleroPresence::Unknown(reason),
    }
}

/// Fails with the collector's message when the list of `resource` (a target starting with it) was not read.
fn unread_list(errors: &[CollectorError], resource: &str, words: &str) -> Result<(), String> {
    match errors
        .iter()
        .find(|e| e.target.as_deref().is_some_and(|t| t.starts_with(resource)))
    {
        Some(error) => Err(format!(
            "the {words} list could not be read ({})",
            error.message
        )),
        None => Ok(()),
    }
}

/// Whether the cluster serves velero.io kinds, from the CRD list (snapdoc's `cluster/crds.json`, a foreign
/// bundle's translated list) or the collector's 404 on the velero.io group.
fn velero_crds_served(bundle: &mut Bundle, errors: &[CollectorError]) -> Result<bool, String> {
    if errors
        .iter()
        .any(|e| e.target.as_deref() == Some("velero.io") && e.status == Some(404))
    {
        return Ok(false);
    }
    unread_list(
        errors,
        "customresourcedefinitions",
        "CustomResourceDefinitions",
    )?;
    if !bundle.has(layout::CLUSTER_CRDS) {
        return Err("the bundle holds no CustomResourceDefinitions list".into());
    }
    // The list holds Velero's CRDs only (snapdoc and the foreign readers keep those), so any item is one.
    match bundle.read_json(layout::CLUSTER_CRDS) {
        Ok(Some(list)) => Ok(list
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|items| !items.is_empty())),
        Ok(None) | Err(_) => Err("the CustomResourceDefinitions list could not be read".into()),
    }
}

/// Whether Velero's workloads could have been seen wherever they run: deployments listed in every namespace.
fn workloads_listable(
    bundle: &Bundle,
    inv: &Inventory,
    errors: &[CollectorError],
) -> Result<(), String> {
    let scope = bundle.manifest().map(|m| &m.scope);
    unread_list(errors, "deployments", "deployments")?;
    if let Some(namespace) = scope
        .and_then(|s| s.get("veleroNamespaceFrom"))
        .filter(|from| from.as_str() == Some("flag"))
        .and(scope.and_then(|s| s.get("veleroNamespace")))
        .and_then(Value::as_str)
    {
        return Err(format!(
            "nothing of Velero was found in namespace {namespace} given by --velero-namespace"
        ));
    }
    let collected_by_snapdoc = bundle.manifest().is_some_and(|m| m.tool.name == "snapdoc");
    if collected_by_snapdoc {
        // snapdoc lists deployments in all namespaces and records a refusal (checked above).
        return Ok(());
    }
    if !inv.has_deployments_file {
        return Err("the bundle holds no deployments list".into());
    }
    // A foreign bundle lists deployments per namespace: every namespace it knows must have its file.
    let namespaces: Vec<&str> = inv
        .namespaces
        .iter()
        .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    if namespaces.is_empty() {
        return Err("the bundle holds no namespaces list to tell its scope".into());
    }
    let missing: Vec<&str> = namespaces
        .into_iter()
        .filter(|ns| !bundle.has(&layout::objects_path("deployments", Some(ns))))
        .collect();
    if let Some(first) = missing.first() {
        return Err(format!(
            "the bundle's scope left namespace {first} out{}",
            match missing.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            }
        ));
    }
    Ok(())
}
