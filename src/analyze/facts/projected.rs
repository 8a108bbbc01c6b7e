//! Resources the analysis keeps as typed projections of what its Rust readers read, not `serde_json::Value`s
//! (PodVolumeBackups, Backups): the most numerous objects of a bundle, whose values were the larger part of the
//! analysis's peak memory (BENCHMARKS.md, "Analysis memory (#20)"). A projection holds the same answers in a few
//! hundred bytes, and the strings that repeat from one object to the next once per list.
//!
//! The object rules and the log rules' places read any path of these objects: they are evaluated on each whole
//! object as its list streams (engine/streamed.rs), and only what matched is kept.
use std::sync::Arc;

use serde_json::Value;

use super::interned::Strings;
use crate::bundle::list::{self, Keep, ListSink, Newest, Pick};
use crate::bundle::reader::MAX_OBJECTS_OF_A_KIND;
use crate::bundle::{Bundle, BundleError};

/// A resource's object as the analysis keeps it.
pub(crate) trait Projection: Sized + Send + Sync + 'static {
    /// The resource whose objects these are.
    const RESOURCE: &'static str;
    /// Every field [`Projection::project`] reads, and those [`list::created`] orders the objects by: the
    /// objects are parsed with these alone.
    const READS: &'static Pick;
    /// The projection of one object, its repeated strings shared through `strings`.
    fn project(object: &Value, strings: &mut Strings) -> Self;
}

/// A bundle's objects of one resource as projections: the newest [`MAX_OBJECTS_OF_A_KIND`] in the bundle's
/// order, shared by every reader (cloning is cheap).
#[derive(Debug)]
pub(crate) struct Projections<T>(Arc<Kept<T>>);

impl<T> Clone for Projections<T> {
    fn clone(&self) -> Self {
        Projections(Arc::clone(&self.0))
    }
}

impl<T> Default for Projections<T> {
    fn default() -> Self {
        Projections(Arc::new(Kept {
            items: Vec::new(),
            places: Vec::new(),
        }))
    }
}

#[derive(Debug)]
struct Kept<T> {
    items: Vec<T>,
    /// The place of each list item kept (ascending), among all the list's items: which the analysis kept, for
    /// those that read the list again ([`Projections::kept_places`]). A kept item that is not an object has a
    /// place but no projection, as [`list::Kept`] keeps it and the inventory then drops it.
    places: Vec<usize>,
}

impl<T: Projection> Projections<T> {
    /// The bundle's, read once and shared (see [`Bundle::shared_projection`]).
    pub(crate) fn of(bundle: &mut Bundle) -> Result<Projections<T>, BundleError> {
        if let Some(shared) = bundle.shared_projection::<Projections<T>>(T::RESOURCE) {
            return Ok((*shared).clone());
        }
        let (projections, total) = Projections::read(bundle)?;
        projections.clone().share(bundle, total);
        Ok(projections)
    }

    /// Reads the list as it streams, without sharing it: with how many objects it held. For a reader of the
    /// bundle on another thread ([`Bundle::reopen`]); the result is shared with [`Projections::share`].
    pub(crate) fn read(bundle: &mut Bundle) -> Result<(Projections<T>, usize), BundleError> {
        let mut projector = Projector::default();
        bundle.stream_objects(
            T::RESOURCE,
            Keep::Newest(MAX_OBJECTS_OF_A_KIND),
            &mut projector,
        )?;
        let projections = projector.finish();
        Ok((projections, projector.total))
    }

    /// Shares what [`Projections::read`] read (of `total` objects) as `bundle`'s.
    pub(crate) fn share(self, bundle: &mut Bundle, total: usize) {
        // Items that are not objects count as kept, as they do for a list of values.
        let kept = self.kept_places().len();
        bundle.share_projection(T::RESOURCE, Arc::new(self), total, kept);
    }

    /// Projections of objects as written (tests).
    #[cfg(test)]
    pub(crate) fn from_objects(objects: &[Value]) -> Projections<T> {
        let mut strings = Strings::default();
        Projections(Arc::new(Kept {
            items: objects
                .iter()
                .filter(|o| o.is_object())
                .map(|o| T::project(o, &mut strings))
                .collect(),
            places: (0..objects.len()).collect(),
        }))
    }
}

impl<T> Projections<T> {
    /// The places, among all the list's objects in the bundle's order, of those kept (ascending).
    pub(crate) fn kept_places(&self) -> &[usize] {
        &self.0.places
    }

    /// Whether both are the one list read (tests).
    #[cfg(test)]
    pub(crate) fn same_list(&self, other: &Projections<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Projections<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0.items
    }
}

impl<'a, T> IntoIterator for &'a Projections<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.items.iter()
    }
}

/// Projects each object of the list as it is read, keeping the newest as [`list::Kept`] would keep values: the
/// same items, so that the analysis reads the same ones whichever way a list is kept.
pub(crate) struct Projector<T> {
    /// `None`: an item that is not an object.
    newest: Newest<Option<T>>,
    strings: Strings,
    /// Items seen, kept or not.
    pub(crate) total: usize,
}

impl<T> Default for Projector<T> {
    fn default() -> Self {
        Projector {
            newest: Newest::default(),
            strings: Strings::default(),
            total: 0,
        }
    }
}

impl<T> Projector<T> {
    /// The items kept with their places, in the bundle's order (`None`: not an object; tests).
    #[cfg(test)]
    pub(crate) fn into_placed(self) -> Vec<(usize, Option<T>)> {
        self.newest.into_placed()
    }

    fn finish(&mut self) -> Projections<T> {
        let (places, items): (Vec<usize>, Vec<Option<T>>) = std::mem::take(&mut self.newest)
            .into_placed()
            .into_iter()
            .unzip();
        // Collected from a flattening iterator, which gives no length: grown by doubling, a vector of 20,000
        // projections held room for 32,768 (11 MB of a bundle of 20,000 Backups) through the facts.
        let mut kept = Vec::with_capacity(items.iter().flatten().count());
        kept.extend(items.into_iter().flatten());
        Projections(Arc::new(Kept {
            items: kept,
            places,
        }))
    }
}

impl<T: Projection> ListSink for Projector<T> {
    fn push(&mut self, keep: Keep, item: Value) {
        let place = self.total;
        self.total += 1;
        let max = match keep {
            Keep::All => usize::MAX,
            Keep::Newest(max) => max,
        };
        let strings = &mut self.strings;
        self.newest.offer(max, list::created(&item), place, || {
            item.is_object().then(|| T::project(&item, strings))
        });
    }

    fn reads(&self) -> Option<&'static Pick> {
        Some(T::READS)
    }
}

/// Asserts that `object`, read from a list as the analysis reads it (parsed with [`Projection::READS`] alone,
/// from memory and cut from a stream), projects as the object parsed whole does: that `READS` names every
/// field `project` reads of it.
#[cfg(test)]
pub(crate) fn assert_reads_cover_the_projection<T: Projection + PartialEq + std::fmt::Debug>(
    object: &Value,
) {
    let text = serde_json::json!({"kind": "List", "items": [object]}).to_string();
    let whole = T::project(object, &mut Strings::default());
    for size in [Some(text.len() as u64), None] {
        let mut projector = Projector::<T>::default();
        list::read_list(text.as_bytes(), size, Keep::Newest(10), &mut projector).unwrap();
        let kept = projector.into_placed();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].1.as_ref(), Some(&whole), "read with size {size:?}");
    }
}

/// An object with every field the CRD's schema defines for `spec` and `status` set, each to a value of its
/// own (a string naming its path, a time for a date-time, 7, true, one item in each list and map), under
/// `metadata`: what a projection is tested against, so that a field `project` reads but
/// [`Projection::READS`] leaves out is found whichever field it is. `crd` is the CRD as Velero ships it.
#[cfg(test)]
pub(crate) fn every_field_of(crd: &str, metadata: Value) -> Value {
    fn fill(schema: &Value, path: &str) -> Value {
        let own = |key: &str| serde_json::json!(format!("{path}.{key}"));
        match schema["type"].as_str() {
            Some("object") => {
                let mut object = serde_json::Map::new();
                if let Some(properties) = schema["properties"].as_object() {
                    for (key, property) in properties {
                        object.insert(key.clone(), fill(property, &format!("{path}.{key}")));
                    }
                } else if schema["additionalProperties"].is_object() {
                    let key = format!("{path}-key");
                    object.insert(key.clone(), fill(&schema["additionalProperties"], &key));
                } else {
                    object.insert("field".into(), own("field"));
                }
                Value::Object(object)
            }
            Some("array") => Value::Array(vec![fill(&schema["items"], &format!("{path}[0]"))]),
            Some("string") if schema["format"] == "date-time" => {
                serde_json::json!("2026-01-02T03:04:05Z")
            }
            Some("integer" | "number") => serde_json::json!(7),
            Some("boolean") => Value::Bool(true),
            _ => serde_json::json!(path),
        }
    }
    let crd: Value = serde_saphyr::from_str(crd).expect("the CRD is YAML");
    let version = &crd["spec"]["versions"][0];
    let properties = &version["schema"]["openAPIV3Schema"]["properties"];
    let mut object = serde_json::json!({
        "apiVersion": format!("{}/{}", crd["spec"]["group"].as_str().unwrap(), version["name"].as_str().unwrap()),
        "kind": crd["spec"]["names"]["kind"],
        "metadata": metadata,
    });
    for part in ["spec", "status"] {
        assert!(properties[part].is_object(), "the CRD defines {part}");
        object[part] = fill(&properties[part], part);
    }
    object
}

/// [`assert_reads_cover_the_projection`] on `object`, and again with each of its fields changed in turn (a
/// string made longer, a time later, a number and a boolean other): a field read and not parsed changes the
/// projection of the whole object and not the other.
#[cfg(test)]
pub(crate) fn assert_every_field_read_is_parsed<T: Projection + PartialEq + std::fmt::Debug>(
    object: &Value,
) {
    fn leaves(value: &Value, pointer: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    leaves(item, format!("{pointer}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    leaves(item, format!("{pointer}/{i}"), out);
                }
            }
            _ => out.push(pointer),
        }
    }
    assert_reads_cover_the_projection::<T>(object);
    let mut pointers = Vec::new();
    leaves(object, String::new(), &mut pointers);
    for pointer in pointers {
        let mut changed = object.clone();
        let leaf = changed.pointer_mut(&pointer).expect("a leaf of the object");
        *leaf = match &*leaf {
            Value::String(text) if text.parse::<jiff::Timestamp>().is_ok() => {
                serde_json::json!("2026-02-03T04:05:06Z")
            }
            Value::String(text) => Value::String(format!("{text}-changed")),
            Value::Number(_) => serde_json::json!(8),
            Value::Bool(flag) => Value::Bool(!flag),
            other => other.clone(),
        };
        assert_reads_cover_the_projection::<T>(&changed);
    }
}

/// Metadata with the labels and annotations Velero and KOTS put on their objects, for [`every_field_of`]. Names
/// as the sources write them (values composed): Velero's from pkg/apis/velero/v1/labels_annotations.go
/// (vmware-tanzu/velero d30d389b), KOTS's and Embedded Cluster's disaster-recovery ones from
/// pkg/kotsadmsnapshot/backup.go and pkg/kotsadmsnapshot/types/types.go (replicatedhq/kots 370ae903).
#[cfg(test)]
pub(crate) fn velero_metadata() -> Value {
    const LABELS: &[&str] = &[
        "velero.io/backup-name",
        "velero.io/backup-uid",
        "velero.io/restore-name",
        "velero.io/restore-uid",
        "velero.io/schedule-name",
        "velero.io/pod-uid",
        "velero.io/pvc-uid",
        "velero.io/storage-location",
        "velero.io/volume-namespace",
        "velero.io/exclude-from-backup",
        "velero.io/pod-volume-backup",
    ];
    const ANNOTATIONS: &[&str] = &[
        "velero.io/source-cluster-k8s-gitversion",
        "velero.io/resource-timeout",
        "velero.io/pod-volume-timeout",
        "kots.io/instance",
        "kots.io/snapshot-trigger",
        "kots.io/app-id",
        "kots.io/app-sequence",
        "kots.io/app-slug",
        "kots.io/apps-sequences",
        "kots.io/apps-versions",
        "kots.io/snapshot-requested",
        "kots.io/kotsadm-image",
        "kots.io/kotsadm-deploy-namespace",
        "kots.io/is-airgap",
        "kots.io/embedded-cluster",
        "kots.io/embedded-registry",
        "replicated.com/disaster-recovery",
        "replicated.com/disaster-recovery-version",
        "replicated.com/backup-name",
        "replicated.com/backup-type",
        "replicated.com/backup-count",
    ];
    let texts = |keys: &[&str]| -> serde_json::Map<String, Value> {
        keys.iter()
            .map(|key| (key.to_string(), serde_json::json!(format!("{key}-value"))))
            .collect()
    };
    serde_json::json!({
        "name": "object-name", "namespace": "velero", "uid": "object-uid", "generation": 3,
        "resourceVersion": "1234", "creationTimestamp": "2026-01-01T00:00:00Z",
        "labels": texts(LABELS), "annotations": texts(ANNOTATIONS),
        "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": "owner-backup",
                             "uid": "owner-uid", "controller": true}],
        "finalizers": ["velero.io/finalizer"],
    })
}
