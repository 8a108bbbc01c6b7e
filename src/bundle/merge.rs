//! Several bundles of one cluster read as one case. A support engineer often holds a KOTS or troubleshoot
//! bundle (objects, no backup logs) and a `velero debug --backup` bundle (the backup's log) of the same
//! cluster: read apart, each misses what the other holds. They are told to be the same cluster by content,
//! never by name: the `kube-system` namespace's uid (a cluster's identity as long as it lives), else a Backup
//! uid both hold. Merged, the most complete bundle leads (snapdoc's own, then troubleshoot, then `velero
//! debug`): every entry it holds is read from it, and only entries it lacks from the others.
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;

use super::manifest::Manifest;
use super::reader::{Bundle, BundleFormat, BundleSource};
use super::{BundleError, layout};

/// What tells a bundle's cluster apart, read once per bundle.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClusterIdentity {
    kube_system_uid: Option<String>,
    backup_uids: BTreeSet<String>,
}

impl ClusterIdentity {
    pub(crate) fn of(bundle: &mut Bundle) -> ClusterIdentity {
        let kube_system_uid = bundle
            .objects("namespaces")
            .ok()
            .into_iter()
            .flatten()
            .find(|ns| ns["metadata"]["name"] == "kube-system")
            .and_then(|ns| uid(&ns));
        // The newest backups, as the analysis keeps them: a million would otherwise be held here at once.
        let backup_uids = bundle
            .kept_objects(
                "backups.velero.io",
                super::list::Keep::Newest(super::reader::MAX_OBJECTS_OF_A_KIND),
            )
            .ok()
            .map(super::list::Kept::into_items)
            .into_iter()
            .flatten()
            .filter_map(|b| uid(&b))
            .collect();
        ClusterIdentity {
            kube_system_uid,
            backup_uids,
        }
    }

    /// Why `self` and `other` are the same cluster, in words; `None` when nothing shows it. Two different
    /// `kube-system` uids are two clusters, whatever else they share (a restore copies Backup objects).
    pub(crate) fn same_cluster(&self, other: &ClusterIdentity) -> Option<String> {
        match (&self.kube_system_uid, &other.kube_system_uid) {
            (Some(a), Some(b)) if a == b => return Some(format!("kube-system namespace uid {a}")),
            (Some(_), Some(_)) => return None,
            _ => {}
        }
        let shared = self.backup_uids.intersection(&other.backup_uids).count();
        (shared > 0).then(|| format!("{shared} Backup uid(s) in common"))
    }
}

fn uid(object: &Value) -> Option<String> {
    object["metadata"]["uid"].as_str().map(str::to_string)
}

/// Which of a case's bundles leads: the most complete format first.
pub(crate) fn completeness(format: BundleFormat) -> u8 {
    match format {
        BundleFormat::SnapdocZip | BundleFormat::Directory => 3,
        BundleFormat::Troubleshoot => 2,
        BundleFormat::MustGather => 2,
        BundleFormat::VeleroDebug => 1,
    }
}

/// Another bundle read into a case: its path, what made it, and why it is the same cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlsoRead {
    pub path: PathBuf,
    pub made_by: String,
    pub reason: String,
}

/// `lead` with the entries only `others` hold. The lead's manifest stands (its collector errors describe its
/// own reads; another bundle's refusals of what the lead did read would be false alarms), and a line of
/// "not available" stays only when no bundle of the case supplies what it is about.
pub(crate) fn merge(lead: Bundle, others: Vec<(Bundle, String)>) -> Result<Bundle, BundleError> {
    let path = lead.path().to_path_buf();
    let format = lead.format();
    let mut entries: BTreeSet<String> = lead.entries().iter().cloned().collect();
    let mut also = Vec::new();
    let mut parts = vec![lead];
    for (bundle, reason) in others {
        entries.extend(bundle.entries().iter().cloned());
        also.push(AlsoRead {
            path: bundle.path().to_path_buf(),
            made_by: made_by(&bundle),
            reason,
        });
        parts.push(bundle);
    }
    let entries: Vec<String> = entries.into_iter().collect();
    let mut unavailable = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        for line in part.unavailable() {
            let supplied = parts
                .iter()
                .enumerate()
                .any(|(other, bundle)| other != index && supplies(bundle, line));
            if !supplied && !unavailable.contains(line) {
                unavailable.push(line.clone());
            }
        }
    }
    let manifest = parts[0].manifest().cloned();
    let source = MergedSource {
        parts,
        entries,
        manifest,
        unavailable,
    };
    let mut bundle = Bundle::from_source(path, format, Box::new(source))?;
    bundle.set_also_read(also);
    Ok(bundle)
}

pub(crate) fn made_by(bundle: &Bundle) -> String {
    match bundle.manifest() {
        Some(m) => format!("{} {}", m.tool.name, m.tool.version),
        None => bundle.format().as_str().to_string(),
    }
}

/// Whether `bundle` holds what a "not available" line of another format is about (the lines say their topic
/// before the first `:`, bundle/troubleshoot.rs and bundle/velero_debug.rs).
fn supplies(bundle: &Bundle, line: &str) -> bool {
    let topic = line.split(':').next().unwrap_or_default();
    let logs = bundle.logs();
    if topic.starts_with("Velero server and node-agent logs") {
        logs.iter().any(|l| l.path.starts_with("velero/logs/"))
    } else if topic.starts_with("previous container logs") {
        logs.iter().any(|l| l.previous)
    } else if topic.starts_with("backup and restore results") {
        bundle
            .entries()
            .iter()
            .any(|e| e.ends_with("/results.json"))
    } else if topic.starts_with("credential secret key names") {
        bundle
            .entries()
            .iter()
            .any(|e| e.contains("secrets-metadata"))
    } else if topic.starts_with("KOTS") {
        bundle.entries().iter().any(|e| e.starts_with("kots/"))
    } else if let Some(rest) = topic.strip_prefix("backup log of ") {
        // "backup log of NAME: velero could not download it (…)"
        bundle.has(&layout::backup_log_path(rest.trim()))
    } else {
        false
    }
}

struct MergedSource {
    parts: Vec<Bundle>,
    entries: Vec<String>,
    manifest: Option<Manifest>,
    unavailable: Vec<String>,
}

impl BundleSource for MergedSource {
    fn entries(&self) -> &[String] {
        &self.entries
    }

    fn open(&mut self, entry: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        let index = self
            .parts
            .iter()
            .position(|part| part.has(entry))
            .unwrap_or(0);
        self.parts[index].open_entry(entry)
    }

    fn manifest(&self) -> Option<Manifest> {
        self.manifest.clone()
    }

    fn unavailable(&self) -> Vec<String> {
        self.unavailable.clone()
    }

    fn entry_size(&self, entry: &str) -> Option<u64> {
        self.parts
            .iter()
            .find(|part| part.has(entry))
            .and_then(|part| part.entry_size(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(kube_system: Option<&str>, backups: &[&str]) -> ClusterIdentity {
        ClusterIdentity {
            kube_system_uid: kube_system.map(str::to_string),
            backup_uids: backups.iter().map(|b| b.to_string()).collect(),
        }
    }

    #[test]
    fn the_cluster_is_told_by_kube_system_first_then_shared_backups() {
        let a = identity(Some("ks-1"), &["b1", "b2"]);
        assert_eq!(
            a.same_cluster(&identity(Some("ks-1"), &[])).as_deref(),
            Some("kube-system namespace uid ks-1")
        );
        // A restored cluster holds copies of another's Backups: its own kube-system says it is another.
        assert_eq!(a.same_cluster(&identity(Some("ks-2"), &["b1"])), None);
        // A velero debug bundle has no namespaces list: shared Backup uids tell it.
        assert_eq!(
            a.same_cluster(&identity(None, &["b2", "b9"])).as_deref(),
            Some("1 Backup uid(s) in common")
        );
        assert_eq!(a.same_cluster(&identity(None, &["b9"])), None);
    }
}
