//! Signature text outside the logs: the same error lands in object fields (a Backup's `status.failureReason`, a
//! PodVolumeBackup's `status.message`, a storage location's `status.message`, …). A bundle whose logs rotated,
//! and every troubleshoot bundle (no backup logs), keep only those. Each log rule's regex is tried on each field.
use serde_json::Value;

use super::objects;
use crate::analyze::findings::{Evidence, ObjectRef};
use crate::analyze::rules::FieldPath;

/// The object fields where Velero writes error text, per kind (docs/rules.md "Places").
pub(crate) const PLACES: &[(&str, &[&str])] = &[
    (
        "backups.velero.io",
        &["status.failureReason", "status.validationErrors[*]"],
    ),
    (
        "restores.velero.io",
        &["status.failureReason", "status.validationErrors[*]"],
    ),
    ("backupstoragelocations.velero.io", &["status.message"]),
    ("podvolumebackups.velero.io", &["status.message"]),
    ("podvolumerestores.velero.io", &["status.message"]),
    ("datauploads.velero.io", &["status.message"]),
    ("datadownloads.velero.io", &["status.message"]),
    (
        "backuprepositories.velero.io",
        &["status.message", "status.recentMaintenance[*].message"],
    ),
    ("deletebackuprequests.velero.io", &["status.errors[*]"]),
    ("events", &["message"]),
    (
        "pods",
        &[
            "status.containerStatuses[*].state.terminated.message",
            "status.containerStatuses[*].lastState.terminated.message",
        ],
    ),
];

/// One field's text: where it is, and the backups / restores / storage location it concerns.
#[derive(Debug, Clone)]
pub(crate) struct PlaceText {
    pub object: ObjectRef,
    pub path: String,
    pub text: String,
    pub concerns: Vec<ObjectRef>,
    /// The storage location a Backup's text concerns (its `spec.storageLocation`): the hit gets its bucket,
    /// prefix and provider as variables, as a log line naming the location does.
    pub location: Option<ObjectRef>,
}

/// Every non-empty text of `kind`'s places in `objects`.
pub(crate) fn texts(kind: &str, paths: &[&str], objects: &[Value]) -> Vec<PlaceText> {
    let places = Places::parse(kind, paths);
    let mut out = Vec::new();
    for object in objects {
        places.texts_of(object, &mut out);
    }
    out
}

/// A kind's places, parsed once for all its objects.
pub(crate) struct Places<'p> {
    kind: &'p str,
    parsed: Vec<(FieldPath, &'p str)>,
}

impl<'p> Places<'p> {
    pub(crate) fn parse(kind: &'p str, paths: &[&'p str]) -> Places<'p> {
        let parsed = paths
            .iter()
            .filter_map(|p| FieldPath::parse(p).ok().map(|parsed| (parsed, *p)))
            .collect();
        Places { kind, parsed }
    }

    /// The non-empty texts of one object's places, added to `out`.
    pub(crate) fn texts_of(&self, object: &Value, out: &mut Vec<PlaceText>) {
        let kind = self.kind;
        let reference = objects::object_ref(kind, object);
        let mut concerns = objects::related(kind, object, &reference);
        if kind == super::logs::LOCATION_KIND {
            concerns.push(reference.clone());
        }
        if kind == "deletebackuprequests.velero.io"
            && let Some(backup) = object.pointer("/spec/backupName").and_then(Value::as_str)
        {
            concerns.push(ObjectRef {
                kind: super::logs::BACKUP_KIND.to_string(),
                namespace: reference.namespace.clone(),
                name: backup.to_string(),
            });
        }
        let location = (kind == super::logs::BACKUP_KIND).then(|| ObjectRef {
            kind: super::logs::LOCATION_KIND.to_string(),
            namespace: reference.namespace.clone(),
            name: object
                .pointer("/spec/storageLocation")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string(),
        });
        for (path, written) in &self.parsed {
            for value in path.resolve(object) {
                let Some(text) = value.as_str().filter(|t| !t.trim().is_empty()) else {
                    continue;
                };
                out.push(PlaceText {
                    object: reference.clone(),
                    path: (*written).to_string(),
                    text: text.to_string(),
                    concerns: concerns.clone(),
                    location: location.clone(),
                });
            }
        }
    }
}

impl PlaceText {
    /// The evidence a hit in this text shows: the object and its field.
    pub(crate) fn evidence(&self) -> Evidence {
        Evidence::Object {
            object: self.object.clone(),
            path: Some(self.path.clone()),
            value: Some(super::logs::excerpt(&self.text)),
        }
    }
}
