//! A BackupStorageLocation's spec as the probe's input. Only the spec is read: credentials come from the user
//! (`--credentials-file`), never from the secret the location names.

use base64::Engine as _;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

use super::error::ProbeError;
use super::location::S3Location;

/// A location read from the cluster: its settings and the credentials profile its config names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BslLocation {
    /// Where it is and how to reach it.
    pub location: S3Location,
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
    let (location, profile) = from_spec(&object.data).map_err(failed)?;
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

/// The probe's input from a BSL object's JSON (`spec.provider`, `spec.objectStorage`, `spec.config`).
pub(crate) fn from_spec(object: &Value) -> Result<(S3Location, Option<String>), String> {
    let spec = object.get("spec").ok_or("it has no spec")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let storage = spec
        .get("objectStorage")
        .ok_or("it has no spec.objectStorage")?;
    let config = spec.get("config");
    let key = |k: &str| text(config.and_then(|c| c.get(k)));
    let flag = |k: &str| -> Result<bool, String> {
        // The plugin parses these with strconv.ParseBool: 1, t, T, TRUE, true, True and their false forms.
        match key(k).as_deref() {
            None | Some("") => Ok(false),
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
            Some(other) => Err(format!("config.{k} is {other:?}, not a boolean")),
        }
    };
    let ca_cert = match text(storage.get("caCert")) {
        None => None,
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("spec.objectStorage.caCert is not base64: {e}"))?,
        ),
    };
    let location = S3Location {
        provider: text(spec.get("provider")).ok_or("it has no spec.provider")?,
        bucket: text(storage.get("bucket")).ok_or("it has no spec.objectStorage.bucket")?,
        prefix: text(storage.get("prefix")).unwrap_or_default(),
        region: key("region"),
        s3_url: key("s3Url"),
        s3_force_path_style: flag("s3ForcePathStyle")?,
        insecure_skip_tls_verify: flag("insecureSkipTLSVerify")?,
        ca_cert,
        checksum_algorithm: key("checksumAlgorithm"),
    };
    Ok((location, key("profile").filter(|p| !p.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(location.bucket, "velero");
        assert_eq!(location.root_prefix(), "cluster-a/");
        assert!(location.s3_force_path_style && !location.insecure_skip_tls_verify);
        assert_eq!(location.checksum_algorithm.as_deref(), Some(""));
        assert_eq!(location.ca_cert.as_deref(), Some(&b"-----BEGIN"[..]));
        assert_eq!(profile.as_deref(), Some("backups"));

        let bad = serde_json::json!({"spec": {"provider": "aws", "objectStorage": {"bucket": "b"},
                                               "config": {"s3ForcePathStyle": "yes"}}});
        assert!(from_spec(&bad).unwrap_err().contains("s3ForcePathStyle"));
    }
}
