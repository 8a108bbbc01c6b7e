//! An object list on its way into the bundle. Pages arrive from [`ApiClient::list_into`]; each item is
//! redacted on its own and appended to a spool file at once, so a list of any length costs one page and one
//! item of memory (a 20,000-item list held as `serde_json::Value` was ~150 MB). What the later stages decide
//! from is kept apart, as a projection of each item that the list's [`Keep`] chooses.
//!
//! Items are grouped as they come: all in one group (one bundle entry), or one group per namespace when a
//! cluster-wide list becomes one entry per namespace. The spool is one file whatever the grouping; an index
//! of (group, offset, length) per item lets each group's entry be written from it in the list's order.
//!
//! Entries are compact JSON with one item a line: `{"apiVersion":…,"kind":…,"metadata":{…},"items":[` then
//! the items, then `]}` — a Kubernetes List that any JSON reader reads as before.
//!
//! [`ApiClient::list_into`]: super::api::ApiClient::list_into
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value};

use super::api::ListSink;
use super::detect;
use crate::bundle::{BundleError, BundleWriter};
use crate::redact::{RedactionCounts, Redactor};

/// Which bundle entry an item goes to: `Some("")` for a list written whole, the namespace when split,
/// `None` when it is not written.
pub(super) type Route = Box<dyn for<'v> Fn(&'v Value) -> Option<&'v str> + Send + Sync>;

/// What of each item the later stages keep (taken before redaction: decisions see what the cluster holds).
#[derive(Clone, Copy)]
pub(super) enum Keep {
    Nothing,
    Whole,
    /// The item reduced to these JSON pointers (`/metadata/name`, …), nesting kept.
    Fields(&'static [&'static str]),
    /// Whole items for which this says yes.
    Matching(fn(&Value) -> bool),
    /// One projection (`fields`) per value of the `label`: the newest item's (by [`detect::created`]);
    /// items without the label are not kept. Tens of thousands of pod volume backups name a few thousand
    /// backups, and only the backup names and when they were last seen are read.
    NewestPerLabel {
        label: &'static str,
        fields: &'static [&'static str],
        /// At most this many label values (backups) are kept, the ones with the newest items: a million
        /// backups' pod volume backups kept one per backup were a million projections.
        limit: usize,
    },
    /// The `limit` newest items (by [`detect::created`], then name) as `fields`, and the distinct values of
    /// `distinct` over all items. A million backups kept as projections were gigabytes; the stages that
    /// decide read only the newest (which logs to fetch) and a fold that repeats do not change (which
    /// namespaces backups cover), so memory is bounded by `limit` and by how many distinct values there are.
    Newest {
        fields: &'static [&'static str],
        limit: usize,
        distinct: &'static [&'static str],
    },
}

impl Keep {
    fn apply(self, item: &Value) -> Option<Value> {
        match self {
            Keep::Nothing => None,
            Keep::Whole => Some(item.clone()),
            Keep::Fields(pointers) => Some(project(item, pointers)),
            Keep::Matching(wanted) => wanted(item).then(|| item.clone()),
            Keep::NewestPerLabel { fields, .. } | Keep::Newest { fields, .. } => {
                Some(project(item, fields))
            }
        }
    }
}

/// How many kept items trigger a trim back to `limit`: an eighth over it, so that memory stays near `limit`
/// projections (at twice the limit, 20,000 kept Backups were a third of the peak collecting 50,000) while each
/// trim's pass is spread over `limit / 8` items.
fn trim_at(limit: usize) -> usize {
    limit.saturating_add(limit / 8).max(1)
}

/// `item` reduced to the values at `pointers`, each at the same place (missing ones left out).
pub(super) fn project(item: &Value, pointers: &[&str]) -> Value {
    let mut out = Value::Object(Map::new());
    for pointer in pointers {
        let Some(value) = item.pointer(pointer) else {
            continue;
        };
        let mut at = &mut out;
        let mut keys = pointer.split('/').skip(1).peekable();
        while let Some(key) = keys.next() {
            // JSON pointer escapes: label keys hold `/` (`velero.io/backup-name` is `velero.io~1backup-name`).
            let key = key.replace("~1", "/").replace("~0", "~");
            let Value::Object(map) = at else { break };
            if keys.peek().is_none() {
                map.insert(key, value.clone());
                break;
            }
            at = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        }
    }
    out
}

/// A projection of a bounded kind ([`Keep::Newest`], [`Keep::NewestPerLabel`]) while its list streams: compact
/// JSON text and what choosing the newest reads of it. As a `serde_json::Value` a Backup's 13 fields were about
/// 2 KB (a map per object, a string per key and value); 11,250 of them while 50,000 Backups streamed were a
/// fifth of the peak. The stages that decide get them back as values ([`SpooledList::kept_list`]).
struct Slim {
    created: Option<jiff::Timestamp>,
    name: Option<Box<str>>,
    /// For [`Keep::NewestPerLabel`]: the label's value.
    label: Option<Box<str>>,
    json: Box<str>,
}

impl Slim {
    fn new(projection: &Value, label: Option<&str>) -> Slim {
        Slim {
            created: detect::created(projection),
            name: detect::name(projection).map(Box::from),
            label: label
                .and_then(|label| projection.pointer("/metadata/labels")?.get(label)?.as_str())
                .map(Box::from),
            json: projection.to_string().into_boxed_str(),
        }
    }
}

/// `choose_recent`'s order: the newest first, undated last, then by name.
fn newest_slim_first(a: &Slim, b: &Slim) -> std::cmp::Ordering {
    b.created.cmp(&a.created).then_with(|| a.name.cmp(&b.name))
}

static SPOOL_COUNTER: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, Copy)]
struct Stored {
    group: u32,
    offset: u64,
    len: u32,
}

pub(super) struct ListSpool {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    written: u64,
    route: Route,
    keep: Keep,
    groups: BTreeMap<String, u32>,
    stored: Vec<Stored>,
    kept: Vec<Value>,
    /// What [`Keep::Newest`] and [`Keep::NewestPerLabel`] keep (not `kept`).
    slim: Vec<Slim>,
    /// For [`Keep::NewestPerLabel`]: label value → its projection in `slim`.
    kept_by_label: HashMap<String, usize>,
    /// For [`Keep::Newest`]: the distinct projections (kept after `kept`), as JSON text and values.
    distinct_seen: HashSet<String>,
    distinct: Vec<Value>,
    /// For [`Keep::Newest`]: how many items were left out of `kept` as older than the newest `limit`.
    left_out: u64,
    redactions: RedactionCounts,
    scratch: Vec<u8>,
}

impl ListSpool {
    /// A spool in `dir` (its file is created with the first item written).
    pub(super) fn new(dir: &Path, route: Route, keep: Keep) -> ListSpool {
        let number = SPOOL_COUNTER.fetch_add(1, Ordering::Relaxed);
        ListSpool {
            path: dir.join(format!("list-{number}.json")),
            file: None,
            written: 0,
            route,
            keep,
            groups: BTreeMap::new(),
            stored: Vec::new(),
            kept: Vec::new(),
            slim: Vec::new(),
            kept_by_label: HashMap::new(),
            distinct_seen: HashSet::new(),
            distinct: Vec::new(),
            left_out: 0,
            redactions: RedactionCounts::new(),
            scratch: Vec::new(),
        }
    }

    /// Every item into one entry.
    pub(super) fn whole() -> Route {
        Box::new(|_| Some(""))
    }

    /// One entry per namespace, for the namespaces `wanted` accepts; items without one are left out.
    pub(super) fn by_namespace(wanted: impl Fn(&str) -> bool + Send + Sync + 'static) -> Route {
        Box::new(move |item| {
            item.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|ns| !ns.is_empty() && wanted(ns))
        })
    }

    /// Not written, only kept.
    pub(super) fn nowhere() -> Route {
        Box::new(|_| None)
    }

    fn group_of(&mut self, name: &str) -> u32 {
        if let Some(index) = self.groups.get(name) {
            return *index;
        }
        let index = self.groups.len() as u32;
        self.groups.insert(name.to_string(), index);
        index
    }

    fn keep(&mut self, item: &Value) {
        if let Keep::NewestPerLabel { label, limit, .. } = self.keep {
            let Some(value) = item
                .pointer("/metadata/labels")
                .and_then(|labels| labels.get(label))
                .and_then(Value::as_str)
            else {
                return;
            };
            match self.kept_by_label.get(value) {
                Some(&index) => {
                    if detect::created(item) > self.slim[index].created
                        && let Some(projection) = self.keep.apply(item)
                    {
                        self.slim[index] = Slim::new(&projection, Some(label));
                    }
                }
                None => {
                    if let Some(projection) = self.keep.apply(item) {
                        self.kept_by_label
                            .insert(value.to_string(), self.slim.len());
                        self.slim.push(Slim::new(&projection, Some(label)));
                    }
                    if self.slim.len() >= trim_at(limit) {
                        self.drop_oldest(limit);
                        self.index_labels();
                    }
                }
            }
        } else if let Keep::Newest {
            limit, distinct, ..
        } = self.keep
        {
            let spec = project(item, distinct);
            if spec.as_object().is_some_and(|spec| !spec.is_empty()) {
                let text = spec.to_string();
                if !self.distinct_seen.contains(&text) {
                    self.distinct_seen.insert(text);
                    self.distinct.push(spec);
                }
            }
            if let Some(projection) = self.keep.apply(item) {
                self.slim.push(Slim::new(&projection, None));
            }
            if self.slim.len() >= trim_at(limit) {
                self.drop_oldest(limit);
            }
        } else if let Some(slim) = self.keep.apply(item) {
            self.kept.push(slim);
        }
    }

    /// [`Keep::NewestPerLabel`]'s `kept` reduced to the `limit` label values with the newest items; the
    /// labels dropped are counted in `left_out` (one dropped and seen again later may be counted twice).
    fn trim_labels_to_newest(&mut self, limit: usize) {
        self.trim_to_newest(limit);
        self.index_labels();
    }

    /// `kept_by_label` rebuilt after `slim` changed.
    fn index_labels(&mut self) {
        self.kept_by_label = self
            .slim
            .iter()
            .enumerate()
            .filter_map(|(index, slim)| Some((slim.label.as_deref()?.to_string(), index)))
            .collect();
    }

    /// `slim` reduced to its `limit` newest, newest first (undated last, then by name: `choose_recent`'s order).
    fn trim_to_newest(&mut self, limit: usize) {
        self.drop_oldest(limit);
        self.slim.sort_by(newest_slim_first);
    }

    /// `slim` reduced to its `limit` newest, in no order: selecting them costs a pass over `slim`, where
    /// sorting cost a sort, so the list can be trimmed often and held near `limit`.
    fn drop_oldest(&mut self, limit: usize) {
        if self.slim.len() > limit {
            if limit > 0 {
                self.slim
                    .select_nth_unstable_by(limit - 1, newest_slim_first);
            }
            self.left_out += (self.slim.len() - limit) as u64;
            self.slim.truncate(limit);
        }
    }

    fn store(&mut self, group: u32, mut item: Value) -> io::Result<()> {
        Redactor::global().redact_json(&mut item, &mut self.redactions);
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, &item).map_err(io::Error::other)?;
        let len = u32::try_from(self.scratch.len())
            .map_err(|_| io::Error::other("an object larger than 4 GiB"))?;
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(BufWriter::new(File::create(&self.path)?)),
        };
        file.write_all(&self.scratch)?;
        self.stored.push(Stored {
            group,
            offset: self.written,
            len,
        });
        self.written += u64::from(len);
        Ok(())
    }

    /// The list as read: `head` is the List's own fields ([`ApiClient::list_into`]'s answer).
    ///
    /// [`ApiClient::list_into`]: super::api::ApiClient::list_into
    pub(super) fn finish(mut self, head: Map<String, Value>) -> io::Result<SpooledList> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        if let Keep::Newest { limit, .. } = self.keep {
            self.trim_to_newest(limit);
            self.kept.append(&mut self.distinct);
        }
        if let Keep::NewestPerLabel { limit, .. } = self.keep
            && self.slim.len() > limit
        {
            self.trim_labels_to_newest(limit);
        }
        Ok(SpooledList {
            path: self.path,
            head,
            groups: self.groups,
            stored: self.stored,
            slim: self.slim.into_iter().map(|slim| slim.json).collect(),
            kept: self.kept,
            left_out: self.left_out,
            redactions: self.redactions,
        })
    }
}

impl ListSink for ListSpool {
    fn item(&mut self, item: Value) -> io::Result<()> {
        self.keep(&item);
        let Some(name) = (self.route)(&item) else {
            return Ok(());
        };
        let group = self.group_of(name);
        self.store(group, item)
    }

    fn restart(&mut self) -> io::Result<()> {
        // The next item recreates (truncates) the file.
        self.file = None;
        self.written = 0;
        self.groups.clear();
        self.stored.clear();
        self.kept.clear();
        self.slim.clear();
        self.kept_by_label.clear();
        self.distinct_seen.clear();
        self.distinct.clear();
        self.left_out = 0;
        self.redactions.clear();
        Ok(())
    }
}

/// A list spooled whole: its entries can be written into the bundle.
pub(super) struct SpooledList {
    path: PathBuf,
    head: Map<String, Value>,
    groups: BTreeMap<String, u32>,
    stored: Vec<Stored>,
    /// What [`Keep::Newest`] (the newest first) and [`Keep::NewestPerLabel`] kept, as compact JSON text;
    /// they come before `kept` in [`SpooledList::kept_list`].
    slim: Vec<Box<str>>,
    /// What the other [`Keep`]s kept of each item, in the list's order ([`Keep::Newest`]: the distinct
    /// projections).
    pub kept: Vec<Value>,
    /// Items [`Keep::Newest`] left out as older than its limit; for [`Keep::NewestPerLabel`], label values
    /// (backups, restores) left out.
    pub(crate) left_out: u64,
    pub redactions: RedactionCounts,
}

impl SpooledList {
    /// The groups that hold items, in name order (namespaces, or `""` for a list written whole).
    pub(super) fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// How many projections were kept.
    pub(super) fn kept_count(&self) -> usize {
        self.slim.len() + self.kept.len()
    }

    /// The kept projections as a List (`{"items": […]}`), the shape the deciding stages read.
    pub(super) fn kept_list(&mut self) -> Value {
        let mut items = Vec::with_capacity(self.kept_count());
        for text in std::mem::take(&mut self.slim) {
            // Text serde_json wrote from a value a moment ago.
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("a kept projection does not read back: {e}"));
            items.push(value);
        }
        items.append(&mut self.kept);
        let mut list = Map::new();
        list.insert("items".into(), Value::Array(items));
        Value::Object(list)
    }

    /// Writes the list whole (its own apiVersion, kind and metadata) as `entry`. A list with no item is
    /// written too: an empty list says there was nothing, unlike a missing entry.
    pub(super) fn copy_whole_into(
        &self,
        writer: &mut BundleWriter,
        entry: &str,
    ) -> Result<(), BundleError> {
        let group = self.groups.get("").copied();
        self.copy_into(writer, entry, &self.head, group)
    }

    /// Writes one namespace's items as `entry`, a List of the same apiVersion and kind.
    pub(super) fn copy_group_into(
        &self,
        writer: &mut BundleWriter,
        entry: &str,
        group: &str,
    ) -> Result<(), BundleError> {
        let mut head = Map::new();
        for key in ["apiVersion", "kind"] {
            if let Some(v) = self.head.get(key) {
                head.insert(key.into(), v.clone());
            }
        }
        head.insert("metadata".into(), Value::Object(Map::new()));
        self.copy_into(writer, entry, &head, self.groups.get(group).copied())
    }

    fn copy_into(
        &self,
        writer: &mut BundleWriter,
        entry: &str,
        head: &Map<String, Value>,
        group: Option<u32>,
    ) -> Result<(), BundleError> {
        let io_error = |e: io::Error| BundleError::io(entry, e);
        let mut out = writer.entry(entry)?;
        let mut opening = serde_json::to_vec(head).map_err(|e| io_error(io::Error::other(e)))?;
        // `{…}` becomes `{…,"items":[`: the items follow, one a line.
        opening.pop();
        if !head.is_empty() {
            opening.push(b',');
        }
        opening.extend_from_slice(b"\"items\":[");
        out.write_all(&opening).map_err(io_error)?;
        let mut first = true;
        if let Some(group) = group {
            let mut file = BufReader::new(File::open(&self.path).map_err(io_error)?);
            let mut position = 0u64;
            let mut item = Vec::new();
            for stored in self.stored.iter().filter(|s| s.group == group) {
                if stored.offset != position {
                    file.seek(SeekFrom::Start(stored.offset))
                        .map_err(io_error)?;
                }
                item.resize(stored.len as usize, 0);
                file.read_exact(&mut item).map_err(io_error)?;
                position = stored.offset + u64::from(stored.len);
                out.write_all(if first { b"\n" } else { b",\n" })
                    .map_err(io_error)?;
                out.write_all(&item).map_err(io_error)?;
                first = false;
            }
        }
        out.write_all(if first { b"]}\n" } else { b"\n]}\n" })
            .map_err(io_error)?;
        out.finish();
        Ok(())
    }
}

/// The spool file goes as soon as the list is written (or given up): a run holds one stage's lists on disk
/// at a time, not the whole cluster's.
impl Drop for SpooledList {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read_entry(path: &Path, entry: &str) -> Value {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        let mut text = String::new();
        archive
            .by_name(entry)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn pod(name: &str, ns: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}})
    }

    #[test]
    fn projections_keep_the_pointed_fields_in_place() {
        let backup = json!({
            "metadata": {"name": "b", "labels": {"velero.io/backup-name": "x", "other": "y"}},
            "spec": {"storageLocation": "default", "ttl": "720h"},
            "status": {"phase": "Failed"}
        });
        let slim = project(
            &backup,
            &[
                "/metadata/name",
                "/metadata/labels/velero.io~1backup-name",
                "/spec/storageLocation",
                "/status/missing",
            ],
        );
        assert_eq!(
            slim,
            json!({"metadata": {"name": "b", "labels": {"velero.io/backup-name": "x"}},
                "spec": {"storageLocation": "default"}})
        );
    }

    #[test]
    fn a_list_is_written_whole_or_per_namespace_in_its_order_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("b.zip");
        let mut writer = BundleWriter::create(&zip_path, false).unwrap();
        let head =
            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9"}});
        let head = head.as_object().unwrap().clone();

        let mut whole = ListSpool::new(
            dir.path(),
            ListSpool::whole(),
            Keep::Fields(&["/metadata/name"]),
        );
        let mut split = ListSpool::new(
            dir.path(),
            ListSpool::by_namespace(|ns| ns != "skipped"),
            Keep::Nothing,
        );
        let mut secret = pod("c", "x");
        secret["spec"] = json!({"env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}]});
        for item in [
            pod("a", "x"),
            pod("b", "y"),
            secret,
            pod("d", "skipped"),
            pod("e", ""),
        ] {
            whole.item(item.clone()).unwrap();
            split.item(item).unwrap();
        }
        let mut whole = whole.finish(head.clone()).unwrap();
        let split = split.finish(head).unwrap();
        assert_eq!(split.groups().collect::<Vec<_>>(), vec!["x", "y"]);
        whole.copy_whole_into(&mut writer, "all.json").unwrap();
        for ns in split.groups() {
            split
                .copy_group_into(&mut writer, &format!("{ns}.json"), ns)
                .unwrap();
        }
        assert_eq!(
            whole.kept_list(),
            json!({"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}},
                {"metadata": {"name": "c"}}, {"metadata": {"name": "d"}}, {"metadata": {"name": "e"}}]})
        );
        assert!(!whole.redactions.is_empty());
        writer.finish(Default::default()).unwrap();

        let all = read_entry(&zip_path, "all.json");
        assert_eq!(all["kind"], "PodList");
        assert_eq!(all["metadata"]["resourceVersion"], "9");
        let names: Vec<&str> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["a", "b", "c", "d", "e"]);
        assert!(!all.to_string().contains("wJalrXUtnFEMI"));
        let x = read_entry(&zip_path, "x.json");
        assert_eq!(x["kind"], "PodList");
        assert_eq!(x["metadata"], json!({}));
        assert_eq!(x["items"].as_array().unwrap().len(), 2);
        assert_eq!(x["items"][1]["metadata"]["name"], "c");
        assert!(!x.to_string().contains("wJalrXUtnFEMI"));
    }

    #[test]
    fn a_restart_forgets_what_was_taken_and_an_empty_list_is_still_a_list() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("b.zip");
        let mut writer = BundleWriter::create(&zip_path, false).unwrap();
        let mut spool = ListSpool::new(dir.path(), ListSpool::whole(), Keep::Whole);
        spool.item(pod("old", "x")).unwrap();
        spool.restart().unwrap();
        spool.item(pod("new", "x")).unwrap();
        let mut list = spool.finish(Map::new()).unwrap();
        assert_eq!(items_named(&list.kept_list()), vec!["new"]);
        list.copy_whole_into(&mut writer, "l.json").unwrap();
        let empty = ListSpool::new(dir.path(), ListSpool::whole(), Keep::Nothing)
            .finish(Map::new())
            .unwrap();
        empty.copy_whole_into(&mut writer, "e.json").unwrap();
        writer.finish(Default::default()).unwrap();
        assert_eq!(items_named(&read_entry(&zip_path, "l.json")), vec!["new"]);
        assert_eq!(read_entry(&zip_path, "e.json"), json!({"items": []}));
    }

    #[test]
    fn parts_of_backups_are_kept_once_per_backup_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let keep = Keep::NewestPerLabel {
            label: "velero.io/backup-name",
            fields: &[
                "/metadata/labels/velero.io~1backup-name",
                "/metadata/creationTimestamp",
            ],
            limit: 10,
        };
        let mut spool = ListSpool::new(dir.path(), ListSpool::nowhere(), keep);
        for (backup, created) in [
            ("b1", "2026-05-01T10:00:00Z"),
            ("b2", "2026-05-01T11:00:00Z"),
            ("b1", "2026-05-01T12:00:00Z"),
            ("b1", "2026-05-01T09:00:00Z"),
        ] {
            spool
                .item(
                    json!({"metadata": {"name": "pvb", "creationTimestamp": created,
                    "labels": {"velero.io/backup-name": backup, "other": "x"}}}),
                )
                .unwrap();
        }
        spool
            .item(json!({"metadata": {"name": "unlabelled"}}))
            .unwrap();
        let mut list = spool.finish(Map::new()).unwrap();
        assert_eq!(list.groups().count(), 0);
        assert_eq!(
            list.kept_list(),
            json!({"items": [
                {"metadata": {"labels": {"velero.io/backup-name": "b1"}, "creationTimestamp": "2026-05-01T12:00:00Z"}},
                {"metadata": {"labels": {"velero.io/backup-name": "b2"}, "creationTimestamp": "2026-05-01T11:00:00Z"}}
            ]})
        );
    }

    #[test]
    fn of_many_backups_only_the_newest_and_the_distinct_scopes_are_kept_and_the_choice_is_the_same()
    {
        // The mechanism that bounds a list of a million backups, at a size a test runs in a moment: what
        // `choose_recent` and `backup_scope` decide from the bounded projections is what they decide from all.
        let dir = tempfile::tempdir().unwrap();
        let fields: &[&str] = &[
            "/metadata/name",
            "/metadata/creationTimestamp",
            "/spec/includedNamespaces",
            "/status/phase",
        ];
        let keep = Keep::Newest {
            fields,
            limit: 50,
            distinct: &["/spec/includedNamespaces"],
        };
        let mut bounded = ListSpool::new(dir.path(), ListSpool::nowhere(), keep);
        let mut all = ListSpool::new(dir.path(), ListSpool::nowhere(), Keep::Fields(fields));
        let start: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        // Not in time order: every 7th failed, every 1000th covering namespace ns-<i>.
        for i in (0..5_000u32).map(|i| (i * 2_237) % 5_000) {
            let created = start + jiff::SignedDuration::from_secs(i64::from(i) * 60);
            let namespaces = if i % 1_000 == 0 {
                json!([format!("ns-{i}")])
            } else {
                json!(["app"])
            };
            let backup = json!({"metadata": {"name": format!("b-{i:05}"), "creationTimestamp": created.to_string()},
                "spec": {"includedNamespaces": namespaces},
                "status": {"phase": if i % 7 == 0 { "Failed" } else { "Completed" }}});
            bounded.item(backup.clone()).unwrap();
            all.item(backup).unwrap();
        }
        let mut bounded = bounded.finish(Map::new()).unwrap();
        let mut all = all.finish(Map::new()).unwrap();
        assert_eq!(bounded.left_out, 4_950);
        // 50 newest and the 6 distinct namespace selections.
        assert_eq!(bounded.kept_count(), 56);
        let (bounded, all) = (bounded.kept_list(), all.kept_list());
        let now = start + jiff::SignedDuration::from_mins(5_000);
        let since = jiff::SignedDuration::from_mins(40);
        let choose = |list: &Value| {
            detect::choose_recent(list["items"].as_array().unwrap(), &[], 10, since, now)
        };
        assert_eq!(choose(&bounded), choose(&all));
        // The 10 newest and the 4 failed older than them within 40 minutes (4963, 4970, 4977, 4984).
        assert_eq!(choose(&bounded).len(), 10 + 4);
        let scope = |list: &Value| {
            format!(
                "{:?}",
                detect::backup_scope(list["items"].as_array().unwrap(), &[])
            )
        };
        assert_eq!(scope(&bounded), scope(&all));
        assert!(scope(&bounded).contains("ns-4000"), "{}", scope(&bounded));
    }

    #[test]
    fn parts_of_many_backups_are_kept_for_the_newest_backups_only_and_the_rest_counted() {
        // The bound on a million backups' pod volume backups, at a size a test runs in a moment: one
        // projection for each of the `limit` backups with the newest parts, the others counted.
        let dir = tempfile::tempdir().unwrap();
        let fields: &[&str] = &[
            "/metadata/labels/velero.io~1backup-name",
            "/metadata/creationTimestamp",
        ];
        let label = "velero.io/backup-name";
        let keep = Keep::NewestPerLabel {
            label,
            fields,
            limit: 50,
        };
        let mut bounded = ListSpool::new(dir.path(), ListSpool::nowhere(), keep);
        let start: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        // Two parts a backup, in name order as the API lists them (not time order).
        for i in (0..5_000u32).map(|i| (i * 2_237) % 5_000) {
            for part in 0..2 {
                let created = start + jiff::SignedDuration::from_secs(i64::from(i) * 60 + part);
                bounded
                    .item(json!({"metadata": {"name": format!("b-{i:05}-{part}"),
                        "labels": {label: format!("b-{i:05}")},
                        "creationTimestamp": created.to_string()}}))
                    .unwrap();
            }
        }
        let mut bounded = bounded.finish(Map::new()).unwrap();
        assert_eq!(bounded.kept_count(), 50);
        assert!(bounded.left_out >= 4_950, "{}", bounded.left_out);
        let list = bounded.kept_list();
        let newest = detect::names_seen_elsewhere(&[&list], label, &[], 10);
        let expected: Vec<String> = (4_990..5_000).rev().map(|i| format!("b-{i:05}")).collect();
        let mut sorted = newest.clone();
        sorted.sort();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(sorted, expected_sorted);
        // Each kept projection is its backup's newest part.
        assert!(list["items"].as_array().unwrap().iter().all(|p| {
            p["metadata"]["creationTimestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with(":01Z"))
        }));
    }

    fn items_named(list: &Value) -> Vec<&str> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect()
    }
}
