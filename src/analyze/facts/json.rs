//! Defensive reads of raw Kubernetes JSON. Velero's schemas changed across 1.2 … 1.18 and bundles come from
//! many clusters, so a field that is missing, null or of another type reads as absent instead of failing.
use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value;

/// The value at a path of object keys, if every step is an object holding the key.
pub(crate) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |current, key| current.as_object()?.get(*key))
}

/// A non-empty string at `path`.
pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path)?.as_str().filter(|s| !s.is_empty())
}

pub(crate) fn string_at(value: &Value, path: &[&str]) -> Option<String> {
    str_at(value, path).map(str::to_string)
}

/// An integer at `path`. A float with no fraction counts (some serializers write `3.0`); a string does not.
pub(crate) fn i64_at(value: &Value, path: &[&str]) -> Option<i64> {
    let v = at(value, path)?;
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

pub(crate) fn bool_at(value: &Value, path: &[&str]) -> Option<bool> {
    at(value, path)?.as_bool()
}

/// The elements of an array at `path`; empty when absent or not an array.
pub(crate) fn array_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The string elements of an array at `path` (other elements skipped).
pub(crate) fn strings_at<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a str> {
    array_at(value, path)
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// An RFC 3339 timestamp at `path`.
pub(crate) fn time_at(value: &Value, path: &[&str]) -> Option<Timestamp> {
    str_at(value, path).and_then(parse_time)
}

pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    text.trim().parse::<Timestamp>().ok()
}

pub(crate) fn name(object: &Value) -> Option<&str> {
    str_at(object, &["metadata", "name"])
}

pub(crate) fn namespace(object: &Value) -> Option<&str> {
    str_at(object, &["metadata", "namespace"])
}

/// Objects by namespace and name, the first of each kept (as a search through the list finds it): built once
/// where every one of many records looks up its object, which a search through every object for each made
/// quadratic (200,000 PodVolumeBackups' pods, 4,000 volumes' pods and claims).
pub(crate) struct ByName<'a>(HashMap<(Option<&'a str>, Option<&'a str>), &'a Value>);

impl<'a> ByName<'a> {
    pub(crate) fn index(objects: impl IntoIterator<Item = &'a Value>) -> ByName<'a> {
        let mut by_name = HashMap::new();
        for object in objects {
            by_name
                .entry((namespace(object), name(object)))
                .or_insert(object);
        }
        ByName(by_name)
    }

    /// The first object whose namespace and name are these (both absent matching an object without them).
    pub(crate) fn get(&self, namespace: Option<&str>, name: Option<&str>) -> Option<&'a Value> {
        self.0.get(&(namespace, name)).copied()
    }
}

pub(crate) fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    str_at(object, &["metadata", "labels", key])
}

pub(crate) fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    str_at(object, &["metadata", "annotations", key])
}

pub(crate) fn created(object: &Value) -> Option<Timestamp> {
    time_at(object, &["metadata", "creationTimestamp"])
}

/// A comma-separated annotation value as trimmed, non-empty items.
pub(crate) fn comma_list(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether a pod spec or status container list names a container, read defensively.
pub(crate) fn container_names<'a>(pod_or_template_spec: &'a Value, key: &str) -> Vec<&'a str> {
    array_at(pod_or_template_spec, &[key])
        .iter()
        .filter_map(|c| str_at(c, &["name"]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_read_as_absent() {
        let v = json!({"status": {"phase": 3, "errors": "7", "warnings": 2.0, "validationErrors": "x",
                       "startTimestamp": "not a time"}, "spec": {"paused": "true"}});
        assert_eq!(str_at(&v, &["status", "phase"]), None);
        assert_eq!(i64_at(&v, &["status", "errors"]), None);
        assert_eq!(i64_at(&v, &["status", "warnings"]), Some(2));
        assert!(array_at(&v, &["status", "validationErrors"]).is_empty());
        assert_eq!(time_at(&v, &["status", "startTimestamp"]), None);
        assert_eq!(bool_at(&v, &["spec", "paused"]), None);
        assert_eq!(str_at(&v, &["status", "phase", "deeper"]), None);
    }

    #[test]
    fn comma_lists_ignore_blanks() {
        assert_eq!(comma_list(" data, ,logs,"), vec!["data", "logs"]);
    }
}
