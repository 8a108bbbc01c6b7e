//! `snapdoc diff OLD NEW`: what changed between two bundles of one cluster (the last good backup's day and
//! today, before and after an upgrade), ranked by how often such a change breaks backups, each change linked
//! to the rules whose findings it may explain.
//!
//! Both bundles are analysed (any format `Bundle::open` reads), then `snapshot` flattens what is compared;
//! a source one bundle does not carry is listed as not compared rather than shown as removed.
mod snapshot;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analyze::rules::RuleSet;
use crate::analyze::{Analysis, AnalyzeError, Severity};
use crate::bundle::Bundle;
use snapshot::{Fields, Key, Snapshot};

/// Bumped on any incompatible change of the diff's JSON (docs/report-schema.json, `$defs/diff`).
pub(crate) const DIFF_SCHEMA_VERSION: u32 = 1;

/// What a change touches. The order is the ranking: Velero and plugin upgrades, then the storage location
/// and its credentials break backups most often in support cases; node and schedule edits least often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    /// Velero's own version (the server image).
    Velero,
    /// The plugins: added, removed or upgraded init containers.
    Plugins,
    /// A BackupStorageLocation: bucket, prefix, provider, config.
    StorageLocation,
    /// The Secrets' metadata (type, keys, version): what the bundle holds of them, never a value.
    Credentials,
    /// The node-agent DaemonSet (file-system backups, data movement).
    NodeAgent,
    /// A VolumeSnapshotLocation.
    SnapshotLocation,
    /// The Velero server's arguments and the ConfigMaps it reads.
    ServerConfig,
    /// KOTS and its snapshot settings.
    Kots,
    /// CSI drivers, VolumeSnapshotClasses and StorageClasses.
    Csi,
    /// Requests and limits of the Velero, node-agent and KOTS containers.
    Resources,
    /// The Kubernetes version.
    Kubernetes,
    /// Backup schedules.
    Schedules,
    /// The cluster's nodes.
    Nodes,
}

impl Area {
    /// The area in words, as the report's table heads it.
    pub fn label(self) -> &'static str {
        match self {
            Area::Velero => "Velero version",
            Area::Plugins => "Velero plugins",
            Area::StorageLocation => "backup storage location",
            Area::Credentials => "credentials",
            Area::NodeAgent => "node agent",
            Area::SnapshotLocation => "volume snapshot location",
            Area::ServerConfig => "server args and ConfigMaps",
            Area::Kots => "KOTS",
            Area::Csi => "CSI and storage classes",
            Area::Resources => "resources and limits",
            Area::Kubernetes => "Kubernetes",
            Area::Schedules => "schedules",
            Area::Nodes => "nodes",
        }
    }

    /// Rule categories and ids whose findings a change here can cause. Resolved against the loaded rules, so
    /// custom rules of these categories are linked too and a retired id never is.
    fn rule_links(self, field: &str) -> (&'static [&'static str], Vec<&'static str>) {
        let mut ids: Vec<&'static str> = match self {
            Area::Velero => vec!["SD912", "SD913", "SD316", "SD317", "SD810", "SD812"],
            Area::Plugins => vec![
                "SD902", "SD903", "SD904", "SD103", "SD507", "SD508", "SD114",
            ],
            Area::StorageLocation => vec![
                "SD106", "SD150", "SD831", "SD838", "SD839", "SD311", "SD312",
            ],
            Area::Credentials => vec!["SD863", "SD304", "SD301"],
            Area::NodeAgent => vec!["SD905", "SD910", "SD505", "SD550", "SD551"],
            Area::SnapshotLocation => vec!["SD404", "SD110"],
            Area::ServerConfig => vec!["SD909", "SD911", "SD506", "SD836", "SD501", "SD502"],
            Area::Kots => vec!["SD901"],
            Area::Csi => vec![],
            Area::Resources => vec!["SD812", "SD818", "SD810", "SD811"],
            Area::Kubernetes => vec!["SD913", "SD401", "SD912"],
            Area::Schedules => vec![
                "SD806", "SD815", "SD817", "SD830", "SD833", "SD834", "SD706", "SD837",
            ],
            Area::Nodes => vec!["SD832", "SD307", "SD305", "SD306", "SD210", "SD811"],
        };
        let categories: &'static [&'static str] = match self {
            Area::Velero => &["compatibility"],
            Area::Plugins => &["compatibility"],
            Area::StorageLocation => &["bucket-endpoint", "storage-location", "certificates"],
            Area::Credentials => &["credentials"],
            Area::NodeAgent => &["node-agent", "pod-volume"],
            Area::SnapshotLocation => &["csi-data-mover"],
            Area::ServerConfig => &["hooks-timeouts"],
            Area::Kots => &["kots"],
            Area::Csi => &["csi-data-mover"],
            Area::Resources => &["resources"],
            Area::Kubernetes => &[],
            Area::Schedules => &[],
            Area::Nodes => &["node-agent"],
        };
        // A change of the location's credential names the secret read from now on.
        if self == Area::StorageLocation && field.starts_with("credential") {
            ids.extend(["SD201", "SD202", "SD203", "SD205", "SD207", "SD208"]);
        }
        if self == Area::ServerConfig && field.contains("uploader") {
            ids.extend(["SD907", "SD908", "SD909", "SD911"]);
        }
        (categories, ids)
    }
}

/// added | removed | changed
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// In NEW only.
    Added,
    /// In OLD only.
    Removed,
    /// In both, with another value.
    Changed,
}

/// One bundle as the diff names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSide {
    /// The bundle's path as given.
    pub path: String,
    /// Its format (`snapdoc`, `troubleshoot` …).
    pub format: String,
    /// When it was collected (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The API server it was collected from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_server: Option<String>,
    /// The analysis' status of this bundle (failed … healthy).
    pub status: String,
    /// Rules with a warn or fail finding in this bundle.
    pub rules_fired: Vec<String>,
}

/// A rule a change may explain, and whether its finding is there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleLink {
    /// The rule's id (`SD106`).
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// A warn / fail finding of this rule is in NEW.
    pub(crate) fired_in_new: bool,
    /// … and was not in OLD: the change is a candidate cause of a new problem.
    pub new_since_old: bool,
}

/// One difference between the two bundles, with the rules it may explain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// 1 = the most likely to matter.
    pub rank: usize,
    /// What the change touches, the ranking's first key.
    pub area: Area,
    /// The area in words ([`Area::label`]), for the JSON's readers.
    pub(crate) area_label: String,
    /// What changed: "BackupStorageLocation velero/default", "plugin velero-plugin-for-aws".
    pub subject: String,
    /// The field within it (`objectStorage.bucket`); empty when the whole subject was added or removed.
    pub field: String,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The value in OLD (redacted), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// The value in NEW (redacted), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// Rules whose findings this change may explain: those that fired in NEW and not OLD first.
    pub explains: Vec<RuleLink>,
}

impl Change {
    fn explains_new_finding(&self) -> bool {
        self.explains.iter().any(|link| link.new_since_old)
    }
}

/// What `snapdoc diff` found: both bundles, the ranked changes, and what could not be compared.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDiff {
    /// The diff JSON's schema version, bumped on any incompatible change.
    pub schema_version: u32,
    /// The snapdoc version that made the diff.
    pub tool_version: String,
    /// When the diff was made (RFC 3339).
    pub generated: String,
    /// The earlier bundle.
    pub old: DiffSide,
    /// The later bundle.
    pub new: DiffSide,
    /// Ranked: changes that may explain a finding new in NEW first, then by area (see [`Area`]).
    pub changes: Vec<Change>,
    /// What was not compared because one bundle (or both) does not carry it, said rather than shown as
    /// removed or unchanged.
    pub not_compared: Vec<String>,
    /// Rules firing in NEW and not in OLD that no change links to: their cause is not in what was compared.
    pub(crate) unexplained_new_rules: Vec<String>,
}

/// A bundle that could not be read or analysed, named.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the {which} bundle {path}: {source}", path = path.display())]
pub struct DiffError {
    /// `old` or `new`: which of the two bundles.
    pub which: &'static str,
    /// The bundle's path as given.
    pub path: PathBuf,
    /// Why it could not be read or analysed.
    #[source]
    pub source: Box<AnalyzeError>,
}

struct Read {
    analysis: Analysis,
    snapshot: Snapshot,
}

fn read(which: &'static str, path: &Path, rules: &RuleSet) -> Result<Read, DiffError> {
    let error = |source: AnalyzeError| DiffError {
        which,
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let mut bundle = Bundle::open(path).map_err(|e| error(e.into()))?;
    let analysis = crate::analyze::analyze_open_bundle(&mut bundle, rules).map_err(error)?;
    let snapshot = snapshot::snapshot(&mut bundle, &analysis).map_err(|e| error(e.into()))?;
    Ok(Read { analysis, snapshot })
}

/// Reads both bundles and compares them. One is read after the other, so at most one bundle is open.
pub fn diff_bundles(old: &Path, new: &Path, rules: &RuleSet) -> Result<BundleDiff, DiffError> {
    let old = read("OLD", old, rules)?;
    let new = read("NEW", new, rules)?;
    Ok(compare(&old, &new, rules))
}

fn side(analysis: &Analysis) -> DiffSide {
    DiffSide {
        path: analysis.bundle.path.clone(),
        format: analysis
            .bundle
            .made_by
            .clone()
            .unwrap_or_else(|| analysis.bundle.format.clone()),
        created: analysis.bundle.created.clone(),
        cluster_server: analysis.bundle.cluster_server.clone(),
        status: analysis.status.as_str().to_string(),
        rules_fired: fired(analysis).into_iter().collect(),
    }
}

fn fired(analysis: &Analysis) -> BTreeSet<String> {
    analysis
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warn)
        .map(|f| f.rule_id.clone())
        .collect()
}

fn compare(old: &Read, new: &Read, rules: &RuleSet) -> BundleDiff {
    let fired_old = fired(&old.analysis);
    let fired_new = fired(&new.analysis);
    let (a, b) = (&old.snapshot, &new.snapshot);
    let compared = |source| a.held.contains(&source) && b.held.contains(&source);
    let mut not_compared: BTreeSet<String> = BTreeSet::new();
    for source in a.held.symmetric_difference(&b.held) {
        let missing_in = if a.held.contains(source) {
            "NEW"
        } else {
            "OLD"
        };
        not_compared.insert(format!(
            "{}: the {missing_in} bundle does not hold them",
            source.describe()
        ));
    }

    let keys: BTreeSet<&Key> = a.items.keys().chain(b.items.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let before = a.items.get(key);
        let after = b.items.get(key);
        let source = before
            .or(after)
            .map(|(s, _)| *s)
            .expect("a key of either side");
        if !compared(source) {
            continue;
        }
        let mut push = |field: String, kind, old: Option<String>, new: Option<String>| {
            changes.push(Change {
                rank: 0,
                area: key.area,
                area_label: key.area.label().to_string(),
                subject: key.subject.clone(),
                explains: links(rules, key.area, &field, &fired_old, &fired_new),
                field,
                kind,
                old,
                new,
            });
        };
        match (before, after) {
            (Some((_, fields)), None) => push(
                String::new(),
                ChangeKind::Removed,
                Some(summary(fields)),
                None,
            ),
            (None, Some((_, fields))) => push(
                String::new(),
                ChangeKind::Added,
                None,
                Some(summary(fields)),
            ),
            (Some((_, was)), Some((_, is))) => {
                let names: BTreeSet<&String> = was.keys().chain(is.keys()).collect();
                for name in names {
                    match (was.get(name), is.get(name)) {
                        (Some(x), Some(y)) if x == y => {}
                        (x, y) => {
                            let kind = match (x, y) {
                                (None, _) => ChangeKind::Added,
                                (_, None) => ChangeKind::Removed,
                                _ => ChangeKind::Changed,
                            };
                            push(name.clone(), kind, x.cloned(), y.cloned());
                        }
                    }
                }
            }
            (None, None) => {}
        }
    }
    // A change that may explain a finding new in NEW is the first thing a reader wants; among the rest the
    // area's ranking, then the subject's own order keeps the output stable.
    changes.sort_by(|x, y| {
        y.explains_new_finding()
            .cmp(&x.explains_new_finding())
            .then(x.area.cmp(&y.area))
            .then(x.subject.cmp(&y.subject))
            .then(x.field.cmp(&y.field))
    });
    for (index, change) in changes.iter_mut().enumerate() {
        change.rank = index + 1;
    }
    let linked: BTreeSet<&str> = changes
        .iter()
        .flat_map(|c| c.explains.iter().map(|l| l.id.as_str()))
        .collect();
    let unexplained_new_rules = fired_new
        .difference(&fired_old)
        .filter(|id| !linked.contains(id.as_str()))
        .cloned()
        .collect();
    BundleDiff {
        schema_version: DIFF_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated: jiff::Timestamp::now().to_string(),
        old: side(&old.analysis),
        new: side(&new.analysis),
        changes,
        not_compared: not_compared.into_iter().collect(),
        unexplained_new_rules,
    }
}

/// What an added or removed subject was: its first fields, enough to recognise it.
fn summary(fields: &Fields) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = fields
        .iter()
        .take(SHOWN)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if fields.len() > SHOWN {
        parts.push(format!("… {} more", fields.len() - SHOWN));
    }
    parts.join(" ")
}

fn links(
    rules: &RuleSet,
    area: Area,
    field: &str,
    fired_old: &BTreeSet<String>,
    fired_new: &BTreeSet<String>,
) -> Vec<RuleLink> {
    let (categories, ids) = area.rule_links(field);
    let mut links: Vec<RuleLink> = rules
        .rules()
        .iter()
        .filter(|r| categories.contains(&r.category.as_str()) || ids.contains(&r.id.as_str()))
        .map(|rule| {
            let fired_in_new = fired_new.contains(&rule.id);
            RuleLink {
                id: rule.id.clone(),
                title: rule.title.clone(),
                fired_in_new,
                new_since_old: fired_in_new && !fired_old.contains(&rule.id),
            }
        })
        .collect();
    links.sort_by(|x, y| {
        (y.new_since_old, y.fired_in_new, &x.id).cmp(&(x.new_since_old, x.fired_in_new, &y.id))
    });
    links
}

/// Counts of changes by area, in ranking order, for the reports' overview.
pub(crate) fn counts_by_area(diff: &BundleDiff) -> Vec<(Area, usize)> {
    let mut counts: BTreeMap<Area, usize> = BTreeMap::new();
    for change in &diff.changes {
        *counts.entry(change.area).or_default() += 1;
    }
    counts.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_link_only_rules_that_exist() {
        let rules = RuleSet::load(&[]).unwrap();
        let none = BTreeSet::new();
        for area in [
            Area::Velero,
            Area::StorageLocation,
            Area::Credentials,
            Area::Csi,
        ] {
            let linked = links(&rules, area, "", &none, &none);
            assert!(!linked.is_empty(), "{area:?} links no rule");
            assert!(linked.iter().all(|l| rules.get(&l.id).is_some()));
        }
    }

    #[test]
    fn a_credential_change_of_a_location_links_the_credential_rules() {
        let rules = RuleSet::load(&[]).unwrap();
        let none = BTreeSet::new();
        let fired: BTreeSet<String> = ["SD201".to_string()].into();
        let linked = links(
            &rules,
            Area::StorageLocation,
            "credential.name",
            &none,
            &fired,
        );
        assert_eq!(linked[0].id, "SD201");
        assert!(linked[0].new_since_old);
    }
}
