//! A BackupStorageLocation's spec as the probe's input. Only the spec is read: credentials come from the user
//! (`--credentials-file`), never from the secret the location names.

use base64::Engine as _;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

use super::error::ProbeError;
use std::collections::BTreeMap;

use super::location::Location;

/// A location read from the cluster: its settings and the credentials profile its config names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BslLocation {
    /// Where it is and how to reach it.
    pub location: Location,
    /// config.profile: the section of the credentials file the plugin reads (default `default`).
    pub profile: Option<String>,
    /// The namespace the location lives in (Velero's).
    pub namespace: String,
    /// The BSL's own name.
    pub name: String,
    /// spec.credential (secret name, key); `None`: the server's cloud credentials.
    pub credential: Option<(String, String)>,
}

/// Reads BackupStorageLocation `name` from `namespace`, or, without one, from whichever namespace holds the only
/// location of that name.
pub async fn read_bsl(
    client: kube::Client,
    namespace: Option<&str>,
    name: &str,
) -> Result<BslLocation, ProbeError> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("velero.io", "v1", "BackupStorageLocation"),
        "backupstoragelocations",
    );
    let failed = |message: String| ProbeError::Location {
        name: name.to_string(),
        message,
    };
    let object = match namespace {
        Some(ns) => Api::<DynamicObject>::namespaced_with(client, ns, &resource)
            .get(name)
            .await
            .map_err(|e| failed(format!("in namespace {ns}: {e}")))?,
        None => {
            let all = Api::<DynamicObject>::all_with(client, &resource)
                .list(&ListParams::default().fields(&format!("metadata.name={name}")))
                .await
                .map_err(|e| failed(e.to_string()))?;
            let mut found = all.items;
            match found.len() {
                1 => found.remove(0),
                0 => {
                    return Err(failed(
                        "no BackupStorageLocation of that name in any namespace".into(),
                    ));
                }
                _ => {
                    let namespaces: Vec<String> = found
                        .iter()
                        .filter_map(|o| o.metadata.namespace.clone())
                        .collect();
                    return Err(failed(format!(
                        "one in each of {}: choose with --velero-namespace",
                        namespaces.join(", ")
                    )));
                }
            }
        }
    };
    let namespace = object.metadata.namespace.clone().unwrap_or_default();
    let (location, profile) = from_spec(&object.data).map_err(|e| failed(e.to_string()))?;
    let credential = object.data.pointer("/spec/credential").and_then(|c| {
        Some((
            c.get("name")?.as_str()?.to_string(),
            c.get("key")?.as_str()?.to_string(),
        ))
    });
    Ok(BslLocation {
        location,
        profile,
        namespace,
        name: name.to_string(),
        credential,
    })
}

/// The probe's input from a BSL object's JSON (`spec.provider`, `spec.objectStorage`, `spec.config`), the config
/// read as the provider's plugin reads it ([`Location::from_config`]).
pub(crate) fn from_spec(object: &Value) -> Result<(Location, Option<String>), ProbeError> {
    let bad = |message: &str| ProbeError::Config(message.to_string());
    let spec = object.get("spec").ok_or_else(|| bad("it has no spec"))?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let storage = spec
        .get("objectStorage")
        .ok_or_else(|| bad("it has no spec.objectStorage"))?;
    // Velero hands the plugin spec.config as a map of strings.
    let config: BTreeMap<String, String> = spec
        .get("config")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    let ca_cert = match text(storage.get("caCert")) {
        // Newer Velero may take the CA from a Secret (caCertRef, in ../shared/velero-crds). snapdoc never reads a Secret, and without that
        // CA every TLS check would fail as an unknown CA where Velero succeeds: refused, not misjudged.
        None if storage.get("caCertRef").is_some_and(|r| !r.is_null()) => {
            return Err(ProbeError::Config(
                "spec.objectStorage.caCertRef names a Secret holding the CA, which snapdoc does not read: \
                 probe this location from here with --s3-ca-cert FILE (the CA's PEM)"
                    .into(),
            ));
        }
        None => None,
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| {
                    ProbeError::Config(format!("spec.objectStorage.caCert is not base64: {e}"))
                })?,
        ),
    };
    let provider = text(spec.get("provider")).ok_or_else(|| bad("it has no spec.provider"))?;
    let bucket =
        text(storage.get("bucket")).ok_or_else(|| bad("it has no spec.objectStorage.bucket"))?;
    let prefix = text(storage.get("prefix")).unwrap_or_default();
    Location::from_config(&provider, &bucket, &prefix, &config, ca_cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_taken_from_a_secret_is_refused_by_name_not_misjudged() {
        let bsl = serde_json::json!({"spec": {"provider": "aws",
            "objectStorage": {"bucket": "velero", "caCertRef": {"name": "store-ca", "key": "ca.crt"}},
            "config": {"region": "minio", "s3Url": "https://minio.example:9000"}}});
        let refused = from_spec(&bsl).unwrap_err().to_string();
        assert!(refused.contains("caCertRef"), "{refused}");
        assert!(refused.contains("--s3-ca-cert"), "{refused}");
    }

    #[test]
    fn reads_a_bsl_spec_as_the_plugin_does() {
        // composed: a MinIO location with the config keys velero-plugin-for-aws reads (object_store.go Init),
        // checksumAlgorithm turned off as the plugin's 1.9.2 release notes describe.
        let object = serde_json::json!({
            "spec": {
                "provider": "aws",
                "objectStorage": {"bucket": "velero", "prefix": "cluster-a", "caCert": "LS0tLS1CRUdJTg=="},
                "config": {"region": "minio", "s3ForcePathStyle": "true", "s3Url": "http://minio.velero.svc:9000",
                           "checksumAlgorithm": "", "profile": "backups"}
            }
        });
        let (location, profile) = from_spec(&object).unwrap();
        let Location::S3(location) = location else {
            panic!("{location:?}")
        };
        assert_eq!(location.bucket, "velero");
        assert_eq!(location.root_prefix(), "cluster-a/");
        assert!(location.s3_force_path_style && !location.insecure_skip_tls_verify);
        assert_eq!(location.checksum_algorithm.as_deref(), Some(""));
        assert_eq!(location.ca_cert.as_deref(), Some(&b"-----BEGIN"[..]));
        assert_eq!(profile.as_deref(), Some("backups"));

        let bad = serde_json::json!({"spec": {"provider": "aws", "objectStorage": {"bucket": "b"},
                                               "config": {"s3ForcePathStyle": "yes"}}});
        assert!(
            from_spec(&bad)
                .unwrap_err()
                .to_string()
                .contains("s3ForcePathStyle")
        );
    }

    #[test]
    fn reads_azure_and_gcp_specs_as_their_plugins_do() {
        // The sample of velero-plugin-for-microsoft-azure's backupstoragelocation.md
        // (1b682ce13010adb7da68f185f8ae44fd678b1003), its config keys as written there.
        let azure = serde_json::json!({"spec": {
            "provider": "velero.io/azure",
            "objectStorage": {"bucket": "my-bucket", "prefix": "my-prefix"},
            "config": {"resourceGroup": "my-backup-resource-group", "storageAccount": "my-backup-storage-account",
                       "storageAccountKeyEnvVar": "MY_BACKUP_STORAGE_ACCOUNT_KEY_ENV_VAR",
                       "subscriptionId": "my-subscription", "storageAccountURI": "https://my-sa.blob.core.windows.net",
                       "useAAD": "true", "blockSizeInBytes": "1048576"}
        }});
        let (Location::Azure(location), None) = from_spec(&azure).unwrap() else {
            panic!("not an Azure location")
        };
        assert_eq!(
            (
                location.container.as_str(),
                location.storage_account.as_str()
            ),
            ("my-bucket", "my-backup-storage-account")
        );
        assert_eq!(
            location.storage_account_key_env_var.as_deref(),
            Some("MY_BACKUP_STORAGE_ACCOUNT_KEY_ENV_VAR")
        );
        assert!(location.use_aad);

        // composed: the keys velero-plugin-for-gcp's object_store.go Init accepts (2cb9bfc3).
        let gcp = serde_json::json!({"spec": {
            "provider": "gcp",
            "objectStorage": {"bucket": "velero-backups"},
            "config": {"kmsKeyName": "projects/p/locations/global/keyRings/r/cryptoKeys/k",
                       "storeEndpoint": "http://127.0.0.1:9023"}
        }});
        let (Location::Gcs(location), None) = from_spec(&gcp).unwrap() else {
            panic!("not a GCS location")
        };
        assert_eq!(
            location.store_endpoint.as_deref(),
            Some("http://127.0.0.1:9023")
        );
        assert!(location.kms_key_name.is_some());

        let other = serde_json::json!({"spec": {"provider": "velero.io/alibabacloud",
                                                 "objectStorage": {"bucket": "b"}}});
        assert!(
            matches!(from_spec(&other), Err(ProbeError::Provider(p)) if p == "velero.io/alibabacloud")
        );
    }
}
