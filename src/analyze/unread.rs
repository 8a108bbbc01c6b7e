//! Fields of object lists that no part of the analysis reads, dropped from each object as its list is read.
//!
//! The objects are kept as `serde_json::Value`s, in which every field costs a map slot of 112 bytes, its key
//! and its text: a PodVolumeBackup of 2 KB of JSON took about 8 KiB, and the 20,000 of the scale bundle were
//! the larger part of the analysis's memory (BENCHMARKS.md, "Analysis memory"). Of a PodVolumeBackup the
//! facts, verdicts, readiness and timelines read its name, namespace, time, labels, owner's kind and name, pod,
//! volume, node, uploader, phase, times, progress and message; its tags, repository, path, snapshot id and the
//! rest of its metadata reach no output. A field a loaded rule names (a condition or a capture, built-in or
//! `--rules`) is kept whatever this list says: rules read any path.
use std::sync::Arc;

use crate::analyze::engine::places::PLACES;
use crate::analyze::rules::predicate::{FieldPath, PathSegment};
use crate::analyze::rules::{Matcher, Predicate, RuleSet};
use crate::bundle::list::Unread;

/// Per resource, the fields no Rust reader of the analysis reads (paths as rules write them; arrays are walked
/// through). Before reading one of these in facts, verdicts, readiness or timelines, take it off this list.
const UNREAD: &[(&str, &[&str])] = &[(
    "podvolumebackups.velero.io",
    &[
        // Velero v1.16 pkg/apis/velero/v1/pod_volume_backup_types.go: what identifies the repository and
        // the snapshot inside it, read by restores, not by a diagnosis.
        "spec.tags",
        "spec.repoIdentifier",
        "spec.backupStorageLocation",
        "spec.uploaderSettings",
        "spec.pod.kind",
        "spec.pod.uid",
        "spec.pod.apiVersion",
        "spec.pod.resourceVersion",
        "spec.pod.fieldPath",
        "status.path",
        "status.snapshotID",
        "metadata.generateName",
        "metadata.uid",
        "metadata.resourceVersion",
        "metadata.generation",
        // The owning Backup is told by its kind and name (timeline.rs `owning_backups`).
        "metadata.ownerReferences[*].apiVersion",
        "metadata.ownerReferences[*].uid",
        "metadata.ownerReferences[*].controller",
        "metadata.ownerReferences[*].blockOwnerDeletion",
    ],
)];

/// What may be dropped of `resource`'s objects with `rules` loaded: [`UNREAD`] less every field a rule over
/// that resource names, or a field the log rules read from objects ([`PLACES`]) lies on or under. `None`:
/// keep the objects whole.
pub(crate) fn unread_fields(resource: &str, rules: &RuleSet) -> Option<Arc<Unread>> {
    let (_, unread) = UNREAD.iter().find(|(kind, _)| *kind == resource)?;
    let mut read: Vec<Vec<String>> = Vec::new();
    for rule in rules.rules() {
        if let Matcher::Object(matcher) = &rule.matcher
            && matcher.kind == resource
        {
            predicate_paths(&matcher.when, &mut read);
            read.extend(matcher.capture.iter().map(|(_, path)| keys(path)));
        }
    }
    for (kind, paths) in PLACES {
        if *kind == resource {
            read.extend(
                paths
                    .iter()
                    .filter_map(|p| FieldPath::parse(p).ok())
                    .map(|p| keys(&p)),
            );
        }
    }
    let mut fields = Unread::default();
    for path in *unread {
        let path = FieldPath::parse(path).expect("UNREAD holds valid paths");
        let path = keys(&path);
        if !read.iter().any(|read| overlaps(read, &path)) {
            fields.add(&path);
        }
    }
    (!fields.is_empty()).then(|| Arc::new(fields))
}

/// A path's keys: indexes and `[*]` are left out, as [`Unread`] walks through arrays.
fn keys(path: &FieldPath) -> Vec<String> {
    path.segments()
        .iter()
        .filter_map(|segment| match segment {
            PathSegment::Key(key) => Some(key.clone()),
            PathSegment::Index(_) | PathSegment::AnyElement => None,
        })
        .collect()
}

fn predicate_paths(predicate: &Predicate, out: &mut Vec<Vec<String>>) {
    match predicate {
        Predicate::All(items) | Predicate::Any(items) => {
            items.iter().for_each(|p| predicate_paths(p, out));
        }
        Predicate::Not(inner) => predicate_paths(inner, out),
        Predicate::Test { path, .. } => out.push(keys(path)),
    }
}

/// One path lies on or under the other: dropping one would take what the other reads.
fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(a, b)| a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::list::{Keep, Kept, read_list};
    use serde_json::{Value, json};

    const PVB: &str = "podvolumebackups.velero.io";

    /// A PodVolumeBackup as Velero v1.16 writes one (composed, fields of pod_volume_backup_types.go).
    fn pod_volume_backup() -> Value {
        json!({
            "apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
            "metadata": {"name": "b1-x7k2p", "namespace": "velero", "generateName": "b1-", "uid": "u-1",
                         "resourceVersion": "88", "generation": 4, "creationTimestamp": "2026-11-20T12:00:00Z",
                         "labels": {"velero.io/backup-name": "b1", "velero.io/pvc-uid": "c-1"},
                         "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": "b1",
                                              "uid": "u-b1", "controller": true}]},
            "spec": {"backupStorageLocation": "default", "node": "worker-1", "uploaderType": "kopia",
                     "pod": {"kind": "Pod", "name": "db-0", "namespace": "app", "uid": "p-1"},
                     "repoIdentifier": "s3:s3-us-east-1.amazonaws.com/bucket/velero/restic/app",
                     "volume": "data", "tags": {"backup": "b1", "ns": "app", "pod": "db-0", "volume": "data"}},
            "status": {"phase": "Failed", "path": "/host_pods/p-1/volumes/data", "snapshotID": "ab12",
                       "startTimestamp": "2026-11-20T12:00:01Z", "completionTimestamp": "2026-11-20T12:00:42Z",
                       "progress": {"bytesDone": 10, "totalBytes": 20}, "message": "signal: killed"}
        })
    }

    fn kept(object: &Value, unread: Option<Arc<Unread>>) -> Value {
        let text = json!({"kind": "List", "items": [object]}).to_string();
        let mut kept = Kept::without(unread);
        read_list(text.as_bytes(), None, Keep::Newest(10), &mut kept).unwrap();
        kept.into_items().remove(0)
    }

    #[test]
    fn a_pod_volume_backup_keeps_what_the_analysis_reads_and_loses_the_rest() {
        let rules = RuleSet::builtin().unwrap();
        let slim = kept(&pod_volume_backup(), unread_fields(PVB, &rules));
        assert_eq!(
            slim,
            json!({
                "apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
                "metadata": {"name": "b1-x7k2p", "namespace": "velero", "creationTimestamp": "2026-11-20T12:00:00Z",
                             "labels": {"velero.io/backup-name": "b1", "velero.io/pvc-uid": "c-1"},
                             "ownerReferences": [{"kind": "Backup", "name": "b1"}]},
                "spec": {"node": "worker-1", "uploaderType": "kopia", "pod": {"name": "db-0", "namespace": "app"},
                         "volume": "data"},
                "status": {"phase": "Failed", "startTimestamp": "2026-11-20T12:00:01Z",
                           "completionTimestamp": "2026-11-20T12:00:42Z",
                           "progress": {"bytesDone": 10, "totalBytes": 20}, "message": "signal: killed"}
            })
        );
        // Other resources are kept whole.
        assert!(unread_fields("backups.velero.io", &rules).is_none());
    }

    #[test]
    fn a_field_a_loaded_rule_names_is_kept() {
        // A user rule reading one tag, another the pod's uid in a capture.
        let rule = |id: &str, name: &str, object: &str| {
            format!(
                "id: {id}\nname: {name}\nseverity: warn\ncategory: pod-volume\ntitle: T\nmessage: 'm'\ncause: C.\n\
                 fix: F.\nmatch:\n  object:\n    kind: {PVB}\n{object}\ntests:\n  match:\n    - {{metadata: {{name: a}}, \
                 spec: {{tags: {{ns: app}}, pod: {{uid: p-1}}}}, status: {{phase: Failed}}}}\n  no_match:\n    - {{metadata: {{name: b}}}}\n"
            )
        };
        let files = [
            (
                "SD991-tagged.yaml".to_string(),
                rule(
                    "SD991",
                    "tagged",
                    "    when:\n      path: spec.tags.ns\n      equals: app",
                ),
            ),
            (
                "SD992-pod-uid.yaml".to_string(),
                rule(
                    "SD992",
                    "pod-uid",
                    "    when:\n      path: status.phase\n      equals: Failed\n    capture:\n      uid: spec.pod.uid",
                ),
            ),
        ];
        let rules = RuleSet::from_files(&files).unwrap();
        let slim = kept(&pod_volume_backup(), unread_fields(PVB, &rules));
        assert_eq!(
            slim["spec"]["tags"],
            json!({"backup": "b1", "ns": "app", "pod": "db-0", "volume": "data"})
        );
        assert_eq!(slim["spec"]["pod"]["uid"], "p-1");
        assert!(slim["spec"].get("repoIdentifier").is_none());
        assert!(slim["status"].get("snapshotID").is_none());
    }

    #[test]
    fn whole_fields_are_dropped_and_paths_overlap_on_or_under_each_other() {
        let mut unread = Unread::default();
        unread.add(&["spec".into(), "tags".into()]);
        unread.add(&["spec".into(), "tags".into(), "ns".into()]);
        unread.add(&["status".into()]);
        let slim = kept(&pod_volume_backup(), Some(Arc::new(unread)));
        assert!(slim.get("status").is_none());
        assert!(slim["spec"].get("tags").is_none());
        assert_eq!(slim["spec"]["volume"], "data");
        let path = |p: &str| keys(&FieldPath::parse(p).unwrap());
        assert!(overlaps(&path("spec"), &path("spec.tags")));
        assert!(overlaps(
            &path("metadata.ownerReferences[0].uid"),
            &path("metadata.ownerReferences[*].uid")
        ));
        assert!(!overlaps(&path("spec.pod.name"), &path("spec.pod.uid")));
    }
}
