//! Object lists read as they stream from the bundle, one item at a time, and kept within a bound.
//!
//! A List of a million Backups is 631 MB of JSON; parsed whole into `serde_json::Value`s it took 6.9 GiB
//! (BENCHMARKS.md, "Hostile inputs"). Here the text is never held whole (past [`SLICE_LIMIT`]), each item is
//! parsed on its own, stripped of what no analysis reads, and only the newest [`Keep::Newest`] of a resource are
//! kept: the rest are counted, and the report says how many were left out.
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

mod cut;

/// Entries up to this size are read whole and parsed from memory (serde_json parses a slice several times
/// faster than a reader); larger ones are cut into their items as they are read, each parsed from memory
/// (list/cut.rs), so their text is never held whole.
pub(crate) const SLICE_LIMIT: u64 = 8 << 20;

/// How many items of a list to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Every item, as written (diff, merge and the tests read lists whole).
    All,
    /// At most this many, the newest by creation time; items lose `metadata.managedFields`, which no analysis
    /// reads and which is often the larger part of an object.
    Newest(usize),
}

/// The items kept of one or more list files, and how many there were.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    newest: Newest<Value>,
    /// Items seen, kept or not.
    pub(crate) total: usize,
    /// The fields of each item kept, when not the whole item ([`Kept::picking`]).
    pick: Option<&'static Pick>,
}

/// Where the items of a list go as they are read, one at a time: [`Kept`] keeps them as values; the analysis
/// keeps typed projections of some resources instead, or evaluates rules on each and keeps only what matched.
pub(crate) trait ListSink {
    /// Whether the next item of the list is to be parsed and [`ListSink::push`]ed; one that is not is only
    /// read past ([`ListSink::skip`]), never built as a value.
    fn wants_next(&self) -> bool {
        true
    }
    /// The next item was read past.
    fn skip(&mut self) {}
    fn push(&mut self, keep: Keep, item: Value);
    /// What of each item the sink reads: [`ListSink::push`] is then given the item with only those fields,
    /// the rest read past as the item is parsed, never built as values.
    fn reads(&self) -> Option<&'static Pick> {
        None
    }
}

/// The fields of a value that a reader reads. Parsed with [`Pick::parse`], an object keeps only the fields
/// named, each picked in turn, and an array each element picked; any other value is kept as it is. The fields
/// left out are read past, as `serde::de::IgnoredAny`, never built: a PodVolumeBackup parsed whole into a
/// `Value` is some 90 allocations, most of them for fields no projection reads (facts/projected.rs).
#[derive(Debug)]
pub(crate) enum Pick {
    /// The value whole.
    Whole,
    /// These fields of an object, as picked by theirs.
    Fields(&'static [(&'static str, Pick)]),
    /// Every field of an object, in order: these as picked by theirs, any other as an empty object. For a
    /// reader that tells an object by which fields it has (a pod volume's type is its one field besides
    /// `name`: `projected`, `csi`, …) and reads inside only some.
    EveryField(&'static [(&'static str, Pick)]),
}

impl Pick {
    /// The next value of `de`, picked.
    pub(crate) fn parse<'de, D: Deserializer<'de>>(&self, de: D) -> Result<Value, D::Error> {
        match self {
            Pick::Whole => Value::deserialize(de),
            Pick::Fields(_) | Pick::EveryField(_) => de.deserialize_any(Picked(self)),
        }
    }
}

/// A value parsed as its [`Pick`] says; scalars as `Value` holds them.
#[derive(Clone, Copy)]
struct Picked<'p>(&'p Pick);

impl<'de> DeserializeSeed<'de> for Picked<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        self.0.parse(de)
    }
}

impl<'de> Visitor<'de> for Picked<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut picked = Map::new();
        while let Some(field) = map.next_key_seed(FieldOf(self.0))? {
            match field {
                // A key written twice: the later value, in the earlier's place, as `Value` keeps it.
                Field::Picked(key, pick) => {
                    let value = map.next_value_seed(Picked(pick))?;
                    picked.insert(key.to_string(), value);
                }
                Field::Named(key) => {
                    map.next_value::<IgnoredAny>()?;
                    picked.insert(key, Value::Object(Map::new()));
                }
                Field::Skipped => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(picked))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }
    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }
    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        self.0.parse(de)
    }
}

/// A key of an object being picked, and what becomes of its value.
enum Field<'p> {
    /// One of the pick's fields: its value picked as its own pick says.
    Picked(&'static str, &'p Pick),
    /// Another field of a [`Pick::EveryField`]: kept, its value read past.
    Named(String),
    /// Left out (its text is not copied).
    Skipped,
}

struct FieldOf<'p>(&'p Pick);

impl<'de, 'p> DeserializeSeed<'de> for FieldOf<'p> {
    type Value = Field<'p>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, 'p> Visitor<'de> for FieldOf<'p> {
    type Value = Field<'p>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        let (Pick::Fields(fields) | Pick::EveryField(fields)) = self.0 else {
            return Ok(Field::Skipped);
        };
        Ok(match fields.iter().find(|(name, _)| *name == key) {
            Some((name, pick)) => Field::Picked(name, pick),
            None if matches!(self.0, Pick::EveryField(_)) => Field::Named(key.to_string()),
            None => Field::Skipped,
        })
    }
}

/// At most `max` items, the newest by [`created`] (then the later in the bundle), each remembered with its place
/// among every item offered.
#[derive(Debug)]
pub(crate) struct Newest<T> {
    /// What orders the items kept, each with its slot in `slots`: a list written oldest first replaces the
    /// oldest kept with every item, and the heap moves only these, not the items.
    order: BinaryHeap<Reverse<Aged<usize>>>,
    slots: Vec<T>,
}

impl<T> Default for Newest<T> {
    fn default() -> Newest<T> {
        Newest {
            order: BinaryHeap::new(),
            slots: Vec::new(),
        }
    }
}

impl<T> Newest<T> {
    /// Offers the item at `place` (places grow as items are offered), made by `make` only when it is kept.
    pub(crate) fn offer(
        &mut self,
        max: usize,
        created: Option<jiff::Timestamp>,
        place: usize,
        make: impl FnOnce() -> T,
    ) {
        if max == 0 {
            return;
        }
        if self.order.len() >= max {
            // Full: the item replaces the oldest kept, if it is newer.
            let Some(mut oldest) = self.order.peek_mut() else {
                return;
            };
            if (created, place) < (oldest.0.created, oldest.0.place) {
                return;
            }
            let slot = oldest.0.item;
            oldest.0 = Aged {
                created,
                place,
                item: slot,
            };
            // The heap is put back in order when `oldest` is dropped, before the item is made.
            drop(oldest);
            self.slots[slot] = make();
            return;
        }
        self.order.push(Reverse(Aged {
            created,
            place,
            item: self.slots.len(),
        }));
        self.slots.push(make());
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The items kept with their places, in the order the bundle holds them.
    pub(crate) fn into_placed(self) -> Vec<(usize, T)> {
        let mut aged: Vec<Aged<usize>> = self.order.into_iter().map(|Reverse(a)| a).collect();
        aged.sort_unstable_by_key(|a| a.place);
        let mut slots: Vec<Option<T>> = self.slots.into_iter().map(Some).collect();
        aged.into_iter()
            .filter_map(|a| Some((a.place, slots[a.item].take()?)))
            .collect()
    }
}

/// An item and what orders it: its creation time (none: oldest), then its place in the bundle (the later of
/// two equal times is kept).
#[derive(Debug)]
struct Aged<T> {
    created: Option<jiff::Timestamp>,
    place: usize,
    item: T,
}

impl<T> PartialEq for Aged<T> {
    fn eq(&self, other: &Aged<T>) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl<T> Eq for Aged<T> {}
impl<T> PartialOrd for Aged<T> {
    fn partial_cmp(&self, other: &Aged<T>) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Aged<T> {
    fn cmp(&self, other: &Aged<T>) -> std::cmp::Ordering {
        (self.created, self.place).cmp(&(other.created, other.place))
    }
}

impl Kept {
    /// Keeps only `pick`'s fields of each item. It must name the fields [`created`] reads, or
    /// [`Keep::Newest`] would take every item for as old as can be.
    pub(crate) fn picking(pick: &'static Pick) -> Kept {
        Kept {
            pick: Some(pick),
            ..Kept::default()
        }
    }

    /// The items kept, in the order the bundle holds them.
    pub(crate) fn into_items(self) -> Vec<Value> {
        self.into_placed().1
    }

    /// The places of the items kept among all the items read (ascending), and the items in that order.
    pub(crate) fn into_placed(self) -> (Vec<usize>, Vec<Value>) {
        self.newest.into_placed().into_iter().unzip()
    }

    /// Items seen but not kept.
    pub(crate) fn left_out(&self) -> usize {
        self.total - self.newest.len()
    }
}

impl ListSink for Kept {
    fn reads(&self) -> Option<&'static Pick> {
        self.pick
    }

    fn push(&mut self, keep: Keep, mut item: Value) {
        let place = self.total;
        self.total += 1;
        match keep {
            // Every item, in order: its place orders it.
            Keep::All => self.newest.offer(usize::MAX, None, place, || item),
            Keep::Newest(max) => {
                if max == 0 {
                    return;
                }
                slim(&mut item);
                let created = created(&item);
                self.newest.offer(max, created, place, || item);
            }
        }
    }
}

/// `metadata.creationTimestamp`, else `status.startTimestamp`: what [`Keep::Newest`] orders items by.
pub(crate) fn created(item: &Value) -> Option<jiff::Timestamp> {
    let text = item
        .get("metadata")
        .and_then(|m| m.get("creationTimestamp"))
        .or_else(|| item.get("status")?.get("startTimestamp"))?
        .as_str()?;
    text.parse().ok()
}

/// The item without `metadata.managedFields`, as [`Keep::Newest`] keeps it.
pub(crate) fn drop_managed_fields(item: &mut Value) {
    if let Some(metadata) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.shift_remove("managedFields");
    }
}

fn slim(item: &mut Value) {
    drop_managed_fields(item);
    *item = compact(std::mem::take(item));
}

/// The value with every map and array at its exact size. Parsing grows them by doubling: a kept
/// PodVolumeBackup's ~45 fields held a third more than they need.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut exact = Map::with_capacity(map.len());
            for (key, value) in map {
                exact.insert(key, compact(value));
            }
            Value::Object(exact)
        }
        Value::Array(items) => {
            // Not `collect`: collected in place, the vector would keep its grown allocation.
            let mut exact = Vec::with_capacity(items.len());
            exact.extend(items.into_iter().map(compact));
            Value::Array(exact)
        }
        other => other,
    }
}

/// Why a list file could not be read: invalid JSON (with its place), or JSON of the wrong shape.
#[derive(Debug)]
pub(crate) enum ListError {
    Read(std::io::Error),
    Json(serde_json::Error),
    /// Invalid JSON in a file cut into items as it streams: where in the file, and serde_json's words.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    Shape(String),
}

/// Reads one list file's items into `kept`: a Kubernetes List (`items` may be null), a bare array, a single
/// object, or null.
pub(crate) fn read_list(
    mut reader: impl Read,
    size: Option<u64>,
    keep: Keep,
    kept: &mut dyn ListSink,
) -> Result<(), ListError> {
    if size.is_none_or(|size| size > SLICE_LIMIT) {
        return cut::Cutter::new(std::io::BufReader::with_capacity(256 << 10, reader))
            .read(keep, kept);
    }
    let mut text = Vec::with_capacity(size.unwrap_or(0) as usize);
    reader.read_to_end(&mut text).map_err(ListError::Read)?;
    let mut shape = None;
    let seed = Document {
        keep,
        kept,
        shape: &mut shape,
    };
    let mut de = serde_json::Deserializer::from_slice(&text);
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    match (result, shape) {
        (_, Some(shape)) => Err(ListError::Shape(shape)),
        (Err(e), None) => Err(ListError::Json(e)),
        (Ok(()), None) => Ok(()),
    }
}

/// The whole document: what it is decides where the items are.
struct Document<'k> {
    keep: Keep,
    kept: &'k mut dyn ListSink,
    /// Set when the JSON is valid but not a list: the error then says so in words, not serde's.
    shape: &'k mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes List")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Items {
            keep: self.keep,
            kept: self.kept,
            shape: self.shape,
        }
        .visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = Map::new();
        let mut listed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" && !listed {
                listed = true;
                map.next_value_seed(Items {
                    keep: self.keep,
                    kept: self.kept,
                    shape: self.shape,
                })?;
            } else {
                let value: Value = map.next_value()?;
                rest.insert(key, value);
            }
        }
        if listed {
            return Ok(());
        }
        if rest.contains_key("kind") || rest.contains_key("metadata") {
            self.kept.push(self.keep, Value::Object(rest));
            return Ok(());
        }
        Err(self.shape_error("expected a Kubernetes List, an array or an object".into()))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.found("a boolean"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.found("a number"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.found("a number"))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.found("a number"))
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.found("a string"))
    }
}

impl Document<'_> {
    fn found<E: serde::de::Error>(self, what: &str) -> E {
        self.shape_error(format!("expected a Kubernetes List, found {what}"))
    }
    fn shape_error<E: serde::de::Error>(self, message: String) -> E {
        *self.shape = Some(message.clone());
        E::custom(message)
    }
}

/// The `items` of a List (or a bare array): each parsed, then kept or counted, before the next is read.
struct Items<'k> {
    keep: Keep,
    kept: &'k mut dyn ListSink,
    shape: &'k mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            if self.kept.wants_next() {
                let item = match self.kept.reads() {
                    Some(pick) => seq.next_element_seed(Picked(pick))?,
                    None => seq.next_element::<Value>()?,
                };
                let Some(item) = item else {
                    return Ok(());
                };
                self.kept.push(self.keep, item);
            } else {
                let Some(serde::de::IgnoredAny) = seq.next_element()? else {
                    return Ok(());
                };
                self.kept.skip();
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Read to its end so that the message is the shape's, not a syntax error's.
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Err(self.not_an_array("an object"))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.not_an_array("a boolean"))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.not_an_array("a number"))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.not_an_array("a number"))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.not_an_array("a number"))
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.not_an_array("a string"))
    }
}

impl Items<'_> {
    fn not_an_array<E: serde::de::Error>(self, what: &str) -> E {
        let message = format!("`items` is {what}, expected an array");
        *self.shape = Some(message.clone());
        E::custom(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, keep: Keep) -> Kept {
        let mut kept = Kept::default();
        read_list(text.as_bytes(), Some(text.len() as u64), keep, &mut kept).unwrap();
        kept
    }

    fn names(kept: Kept) -> Vec<String> {
        kept.into_items()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap_or("-").to_string())
            .collect()
    }

    #[test]
    fn past_the_bound_the_newest_are_kept_in_the_bundle_order_and_the_rest_counted() {
        // Times out of order, one with fractions of a second (later than the whole second before it), one
        // without a time (the oldest), two equal (the later in the file wins).
        let list = r#"{"kind": "List", "items": [
            {"metadata": {"name": "c", "creationTimestamp": "2024-01-03T00:00:00Z"}},
            {"metadata": {"name": "none"}},
            {"metadata": {"name": "a", "creationTimestamp": "2024-01-01T00:00:00Z"}},
            {"metadata": {"name": "b2", "creationTimestamp": "2024-01-02T00:00:00.5Z"}},
            {"metadata": {"name": "b", "creationTimestamp": "2024-01-02T00:00:00Z",
                          "managedFields": [{"manager": "velero-server"}]}},
            {"metadata": {"name": "b-again", "creationTimestamp": "2024-01-02T00:00:00Z"}}
        ]}"#;
        let kept = read(list, Keep::Newest(3));
        assert_eq!((kept.total, kept.left_out()), (6, 3));
        assert_eq!(names(kept), ["c", "b2", "b-again"]);
        let kept = read(list, Keep::Newest(5));
        assert_eq!(kept.left_out(), 1);
        let items = kept.into_items();
        assert_eq!(items[3]["metadata"]["name"], "b");
        assert!(items[3]["metadata"].get("managedFields").is_none());
        let all = read(list, Keep::All);
        assert_eq!(all.left_out(), 0);
        assert_eq!(names(all), ["c", "none", "a", "b2", "b", "b-again"]);
    }

    /// Keeps the values it is given, parsed with its pick.
    struct Picking(Vec<Value>);

    impl ListSink for Picking {
        fn push(&mut self, _: Keep, item: Value) {
            self.0.push(item);
        }
        fn reads(&self) -> Option<&'static Pick> {
            Some(&Pick::Fields(&[
                ("metadata", Pick::Fields(&[("name", Pick::Whole)])),
                ("spec", Pick::Whole),
                ("refs", Pick::Fields(&[("kind", Pick::Whole)])),
                (
                    "volumes",
                    Pick::EveryField(&[("claim", Pick::Fields(&[("name", Pick::Whole)]))]),
                ),
            ]))
        }
    }

    #[test]
    fn a_sink_that_reads_some_fields_is_given_those_alone() {
        let text = r#"{"items": [
            {"kind": "X", "metadata": {"name": "a", "uid": "u", "name": "a2", "labels": {"k": "v"}},
             "spec": {"deep": [1, {"x": null}]}, "status": {"phase": "Done"},
             "refs": [{"kind": "Backup", "name": "b"}, "text", 2.5], "metadata": {"name": "last"},
             "volumes": [{"name": "v", "projected": {"sources": [{"a": 1}]}, "claim": {"name": "c", "ro": true}}, 7]},
            null,
            {"m\u0065tadata": {"n\u0061me": "escaped", "other": true}, "spec": 1e2}
        ]}"#;
        let want = [
            serde_json::json!({"metadata": {"name": "last"}, "spec": {"deep": [1, {"x": null}]},
                               "refs": [{"kind": "Backup"}, "text", 2.5],
                               "volumes": [{"name": {}, "projected": {}, "claim": {"name": "c"}}, 7]}),
            Value::Null,
            serde_json::json!({"metadata": {"name": "escaped"}, "spec": 100.0}),
        ];
        for size in [Some(text.len() as u64), None] {
            let mut picking = Picking(Vec::new());
            read_list(text.as_bytes(), size, Keep::All, &mut picking).unwrap();
            assert_eq!(picking.0, want);
            // A key written twice keeps its first place, as a value parsed whole does.
            let keys: Vec<&String> = picking.0[0].as_object().unwrap().keys().collect();
            assert_eq!(keys, ["metadata", "spec", "refs", "volumes"]);
            // Every field of a volume, in order: those not named are kept as empty objects.
            let volume_keys: Vec<&String> = picking.0[0]["volumes"][0]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            assert_eq!(volume_keys, ["name", "projected", "claim"]);
        }
        let mut picking = Picking(Vec::new());
        let broken = r#"{"items": [{"status": {"phase": tru}}]}"#;
        assert!(read_list(broken.as_bytes(), None, Keep::All, &mut picking).is_err());
    }

    #[test]
    fn a_large_entry_is_parsed_as_it_is_read_with_the_same_result() {
        let items: Vec<String> = (0..2_000)
            .map(|i| format!(r#"{{"metadata": {{"name": "n{i}", "creationTimestamp": "2024-01-01T00:{:02}:{:02}Z"}}}}"#, i / 60 % 60, i % 60))
            .collect();
        let text = format!(r#"{{"items": [{}]}}"#, items.join(","));
        let from_slice = read(&text, Keep::Newest(10));
        let mut streamed = Kept::default();
        read_list(text.as_bytes(), None, Keep::Newest(10), &mut streamed).unwrap();
        assert_eq!(streamed.total, 2_000);
        assert_eq!(names(streamed), names(from_slice));
    }
}
