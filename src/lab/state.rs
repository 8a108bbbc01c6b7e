//! The lab's objects: one ordered table per resource (the order etcd lists them in: namespace, then name),
//! a global resourceVersion, watch events, and list continue tokens.
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

/// A change of one object, as a watch stream sends it.
#[derive(Debug, Clone)]
pub(super) struct WatchEvent {
    /// The storage key of the object's resource (`pods`, `backups.velero.io`).
    pub resource: String,
    pub(crate) event_type: &'static str,
    pub object: Value,
}

/// (namespace or "" for cluster-scoped objects, name)
pub(super) type ObjectKey = (String, String);

/// Every object the lab serves.
pub(super) struct ObjectState {
    resource_version: u64,
    /// Continue tokens issued before this resourceVersion are expired (the lab's etcd compaction).
    compacted: u64,
    tables: HashMap<String, BTreeMap<ObjectKey, Value>>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    instance: String,
}

impl ObjectState {
    pub(super) fn new(instance: &str) -> ObjectState {
        let (events, _) = broadcast::channel(1024);
        ObjectState {
            resource_version: 1000,
            compacted: 0,
            tables: HashMap::new(),
            events,
            instance: instance.to_string(),
        }
    }

    pub(super) fn resource_version(&self) -> u64 {
        self.resource_version
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.events.subscribe()
    }

    fn next_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// A stable uid for an object of this lab instance.
    fn uid_for(&self, resource: &str, key: &ObjectKey) -> String {
        let digest = Sha256::digest(format!("{}/{resource}/{}/{}", self.instance, key.0, key.1));
        let hex = hex::encode(&digest[..16]);
        format!(
            "{}-{}-4{}-8{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    /// Stores an object as the API server would have it: uid, resourceVersion, creationTimestamp filled in.
    /// Returns the stored object, or the existing one when the key is taken.
    pub(super) fn create(
        &mut self,
        resource: &str,
        mut object: Value,
        now: &str,
    ) -> Result<Value, Value> {
        let key = object_key(&object);
        if let Some(existing) = self.tables.get(resource).and_then(|table| table.get(&key)) {
            return Err(existing.clone());
        }
        let uid = self.uid_for(resource, &key);
        let version = self.next_version();
        let metadata = object
            .as_object_mut()
            .expect("objects are mappings (checked on load and on create)")
            .entry("metadata")
            .or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.entry("uid").or_insert_with(|| json!(uid));
            metadata
                .entry("creationTimestamp")
                .or_insert_with(|| json!(now));
            metadata.insert("resourceVersion".to_string(), json!(version));
        }
        self.tables
            .entry(resource.to_string())
            .or_default()
            .insert(key, object.clone());
        self.publish(resource, "ADDED", &object);
        Ok(object)
    }

    pub(super) fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.tables
            .get(resource)?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// Objects of a resource, in one namespace or all, in key order, starting after `after`.
    pub(super) fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
        after: Option<&ObjectKey>,
    ) -> Vec<(ObjectKey, Value)> {
        self.list_page(resource, namespace, after, 0, |_| true).0
    }

    /// One page of a list: the first `limit` (0: no limit) objects after `after` that `keep` accepts, in key
    /// order, and how many more it accepts. Only the page is copied, so paging through a large table costs
    /// what the pages hold, as an etcd range read does.
    pub(super) fn list_page(
        &self,
        resource: &str,
        namespace: Option<&str>,
        after: Option<&ObjectKey>,
        limit: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> (Vec<(ObjectKey, Value)>, usize) {
        let Some(table) = self.tables.get(resource) else {
            return (Vec::new(), 0);
        };
        let start = match after {
            Some(after) => std::ops::Bound::Excluded(after.clone()),
            None => std::ops::Bound::Unbounded,
        };
        let mut matching = table
            .range((start, std::ops::Bound::Unbounded))
            .filter(|(key, _)| namespace.is_none_or(|ns| key.0 == ns))
            .filter(|(_, value)| keep(value));
        let page: Vec<(ObjectKey, Value)> = matching
            .by_ref()
            .take(if limit == 0 { usize::MAX } else { limit })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        (page, matching.count())
    }

    /// Applies `change` to an object, bumps its resourceVersion and tells watchers.
    pub(super) fn update(
        &mut self,
        resource: &str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let version = self.next_version();
        let table = self.tables.get_mut(resource)?;
        let object = table.get_mut(&(namespace.to_string(), name.to_string()))?;
        change(object);
        object["metadata"]["resourceVersion"] = json!(version);
        let updated = object.clone();
        self.publish(resource, "MODIFIED", &updated);
        Some(updated)
    }

    pub(super) fn delete(&mut self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let mut removed = self
            .tables
            .get_mut(resource)?
            .remove(&(namespace.to_string(), name.to_string()))?;
        let version = self.next_version();
        removed["metadata"]["resourceVersion"] = json!(version);
        self.publish(resource, "DELETED", &removed);
        Some(removed)
    }

    /// Expires every continue token issued so far, as an etcd compaction does.
    pub(super) fn compact(&mut self) {
        self.compacted = self.resource_version;
        self.next_version();
    }

    fn publish(&self, resource: &str, event_type: &'static str, object: &Value) {
        // No receiver is fine: nobody watches.
        let _ = self.events.send(Arc::new(WatchEvent {
            resource: resource.to_string(),
            event_type,
            object: object.clone(),
        }));
    }

    /// An opaque continue token for a list of `resource` that stopped at `last`.
    pub(super) fn continue_token(&self, resource: &str, last: &ObjectKey) -> String {
        let token = json!({
            "v": "meta.k8s.io/v1",
            "rv": self.resource_version,
            "start": format!("{}/{}\u{0}", last.0, last.1),
            "resource": resource,
            "lab": self.instance,
        });
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
    }

    /// Where a continued list of `resource` resumes; `Err(true)` when the token is stale or belongs to
    /// another lab or resource (410), `Err(false)` when it is not a token at all (400).
    pub(super) fn resume_after(&self, resource: &str, token: &str) -> Result<ObjectKey, bool> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| false)?;
        let parsed: Value = serde_json::from_slice(&bytes).map_err(|_| false)?;
        if parsed["v"] != "meta.k8s.io/v1" {
            return Err(false);
        }
        let rv = parsed["rv"].as_u64().ok_or(false)?;
        if parsed["lab"] != self.instance.as_str()
            || parsed["resource"] != resource
            || rv <= self.compacted
        {
            return Err(true);
        }
        let start = parsed["start"].as_str().ok_or(false)?;
        let start = start.strip_suffix('\u{0}').unwrap_or(start);
        let (namespace, name) = start.split_once('/').ok_or(false)?;
        Ok((namespace.to_string(), name.to_string()))
    }
}

fn object_key(object: &Value) -> ObjectKey {
    let metadata = &object["metadata"];
    (
        metadata["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        metadata["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// A random hex string (no rand crate: the std hasher is randomly keyed per process and per instance).
pub(super) fn random_hex(bytes: usize) -> String {
    let mut out = String::new();
    let mut counter = 0u64;
    while out.len() < bytes * 2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(counter);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        out.push_str(&format!("{:016x}", hasher.finish()));
        counter += 1;
    }
    out.truncate(bytes * 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(namespace: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": namespace, "name": name}})
    }

    #[test]
    fn lists_in_key_order_and_resumes() {
        let mut state = ObjectState::new("lab-a");
        for (ns, name) in [("velero", "b"), ("default", "z"), ("velero", "a")] {
            state
                .create(
                    "backups.velero.io",
                    object(ns, name),
                    "2026-01-01T00:00:00Z",
                )
                .unwrap();
        }
        let names: Vec<String> = state
            .list("backups.velero.io", None, None)
            .into_iter()
            .map(|(key, _)| format!("{}/{}", key.0, key.1))
            .collect();
        assert_eq!(names, ["default/z", "velero/a", "velero/b"]);
        let token = state.continue_token("backups.velero.io", &("velero".into(), "a".into()));
        let after = state.resume_after("backups.velero.io", &token).unwrap();
        assert_eq!(state.list("backups.velero.io", None, Some(&after)).len(), 1);
        assert_eq!(state.resume_after("pods", &token), Err(true));
        assert_eq!(
            ObjectState::new("lab-b").resume_after("backups.velero.io", &token),
            Err(true)
        );
        assert_eq!(state.resume_after("backups.velero.io", "%%%"), Err(false));
        state.compact();
        assert_eq!(state.resume_after("backups.velero.io", &token), Err(true));
    }

    #[test]
    fn create_fills_metadata_and_refuses_duplicates() {
        let mut state = ObjectState::new("lab");
        let created = state
            .create("pods", object("velero", "p"), "2026-01-01T00:00:00Z")
            .unwrap();
        assert_eq!(created["metadata"]["resourceVersion"], "1001");
        assert_eq!(created["metadata"]["uid"].as_str().unwrap().len(), 36);
        assert!(state.create("pods", object("velero", "p"), "x").is_err());
        let updated = state
            .update("pods", "velero", "p", |pod| {
                pod["status"] = json!({"phase": "Running"})
            })
            .unwrap();
        assert_eq!(updated["metadata"]["resourceVersion"], "1002");
        assert!(state.delete("pods", "velero", "p").is_some());
        assert!(state.get("pods", "velero", "p").is_none());
    }
}
