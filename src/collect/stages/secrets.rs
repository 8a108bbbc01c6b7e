//! Stage 4, after what backups cover: Velero's secrets. The credentials secrets Velero's storage locations and
//! pods reference, written as the key names those references give and whether each exists; never a secret's
//! data.
use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::bundle::CollectorError;
use crate::bundle::layout;
use crate::collect::CollectError;
use crate::collect::api::DEFAULT_CONCURRENCY;
use crate::collect::detect::{self, items};
use crate::collect::run::Run;
use crate::collect::stages::workloads::Workloads;

impl Run<'_> {
    /// The secrets Velero's locations and pods reference, with the key names those references give. A
    /// secret's data is never asked for: whether it exists is learnt from its metadata alone
    /// (`PartialObjectMetadata`), and not at all with `--skip-secrets`.
    pub(in crate::collect) async fn secrets_stage(
        &mut self,
        namespace: &str,
        velero: &BTreeMap<String, Value>,
        workloads: &Workloads,
    ) -> Result<(), CollectError> {
        let locations: Vec<Value> = ["backupstoragelocations", "volumesnapshotlocations"]
            .iter()
            .filter_map(|p| velero.get(*p))
            .flat_map(|list| items(list).to_vec())
            .collect();
        let pod_templates: Vec<Value> = ["deployments", "daemonsets"]
            .iter()
            .filter_map(|r| workloads.lists.get(&(*r, namespace.to_string())))
            .flat_map(|list| items(list).to_vec())
            .filter(|w| {
                detect::is_velero_deployment(w)
                    || matches!(
                        w.pointer("/metadata/name").and_then(Value::as_str),
                        Some("node-agent" | "restic")
                    )
            })
            .collect();
        let mut references = detect::secret_references(&locations, &pod_templates);
        let look_up = !self.options.skip_secrets;
        // `velero install`'s default, looked up even when nothing names it: its absence explains a lot.
        let implicit = look_up && !references.contains_key("cloud-credentials");
        if implicit {
            references.entry("cloud-credentials".into()).or_default();
        }
        self.progress.stage("secrets (metadata)", references.len());
        let api = self.api.clone();
        let results: Vec<_> = futures::stream::iter(references)
            .map(|(name, reference)| {
                let api = api.clone();
                async move {
                    let path = format!("/api/v1/namespaces/{namespace}/secrets/{name}");
                    let found = if look_up {
                        Some(api.get_metadata(&path).await)
                    } else {
                        None
                    };
                    (name, reference, found)
                }
            })
            .buffered(DEFAULT_CONCURRENCY)
            .collect()
            .await;
        let mut found = Vec::new();
        for (name, reference, lookup) in results {
            let mut metadata = None;
            let exists = match lookup {
                None => None,
                Some(Ok(found)) => {
                    metadata = Some(found);
                    Some(true)
                }
                Some(Err(f)) if f.is_not_found() && implicit && name == "cloud-credentials" => {
                    continue;
                }
                Some(Err(f)) if f.is_not_found() => {
                    self.record(CollectorError {
                        source: "secrets".into(),
                        target: Some(format!("secrets/{name}")),
                        namespace: Some(namespace.to_string()),
                        status: f.status,
                        message: format!(
                            "secret {name} does not exist; referenced by {}",
                            reference
                                .referenced_by
                                .iter()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                    Some(false)
                }
                Some(Err(f)) => {
                    self.record_failure("secrets", &format!("secrets/{name}"), Some(namespace), &f);
                    None
                }
            };
            found.push(secret_entry(
                namespace,
                &name,
                &reference,
                exists,
                metadata.as_ref(),
            ));
            self.progress.step("secret");
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": found});
        self.write_json(
            &format!("{}/{namespace}.json", layout::SECRETS_METADATA),
            list,
        )
    }
}

/// What the bundle says of one credentials secret: its name, the keys its references name, who references
/// it, and whether it exists (null when not looked up or refused). Nothing of the secret's own content.
fn secret_entry(
    namespace: &str,
    name: &str,
    reference: &detect::SecretReference,
    exists: Option<bool>,
    found: Option<&Value>,
) -> Value {
    // What tells a rotation (`snapdoc diff`): the metadata-only answer's version, creation time and uid.
    let mut metadata = json!({"name": name, "namespace": namespace});
    for field in ["resourceVersion", "creationTimestamp", "uid"] {
        if let Some(value) = found.and_then(|f| f.pointer(&format!("/metadata/{field}"))) {
            metadata[field] = value.clone();
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "keys": reference.keys,
        "referencedBy": reference.referenced_by,
        "exists": exists,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_entry_holds_what_references_say_and_nothing_of_the_secret() {
        let reference = detect::SecretReference {
            referenced_by: ["BackupStorageLocation/default spec.credential".to_string()].into(),
            keys: ["cloud".to_string()].into(),
        };
        // The metadata-only answer: its version, time and uid are kept, never its data (it has none, and
        // anything else in it is dropped).
        let found = json!({"metadata": {"name": "cloud-credentials", "resourceVersion": "42",
            "creationTimestamp": "2026-01-01T00:00:00Z", "uid": "u1", "annotations": {"a": "b"}},
            "data": {"cloud": "c2VjcmV0"}});
        assert_eq!(
            secret_entry(
                "velero",
                "cloud-credentials",
                &reference,
                Some(true),
                Some(&found)
            ),
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "cloud-credentials", "namespace": "velero", "resourceVersion": "42",
                    "creationTimestamp": "2026-01-01T00:00:00Z", "uid": "u1"},
                "keys": ["cloud"],
                "referencedBy": ["BackupStorageLocation/default spec.credential"],
                "exists": true})
        );
        assert_eq!(
            secret_entry(
                "velero",
                "x",
                &detect::SecretReference::default(),
                None,
                None
            )["exists"],
            Value::Null
        );
    }
}
