//! What the probe is told: one storage location's settings and the credentials to use with them.
//!
//! A location is one of the object-store plugins' ([`Location`]): each variant holds the config keys its plugin
//! reads, and its credentials ([`StoreCredentials`]) are in the format of the file that plugin reads.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ProbeError;
pub use super::host_path::LocalVolumeLocation;

/// The provider names a BackupStorageLocation gives the AWS plugin (`aws`, or the plugin's full name).
const AWS_PROVIDERS: [&str; 2] = ["aws", "velero.io/aws"];
/// The names of velero-plugin-for-microsoft-azure.
const AZURE_PROVIDERS: [&str; 2] = ["azure", "velero.io/azure"];
/// The names of velero-plugin-for-gcp.
const GCP_PROVIDERS: [&str; 2] = ["gcp", "velero.io/gcp"];

/// One BackupStorageLocation as the probe reads it: the plugin that serves it and that plugin's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// velero-plugin-for-aws: S3 and S3-compatible stores.
    S3(S3Location),
    /// velero-plugin-for-microsoft-azure: Azure Blob Storage.
    Azure(AzureLocation),
    /// velero-plugin-for-gcp: Google Cloud Storage.
    Gcs(GcsLocation),
    /// local-volume-provider: a host path on the nodes, or an NFS export (src/probe/host_path.rs).
    LocalVolume(LocalVolumeLocation),
}

impl Location {
    /// The location of `provider` from its bucket, prefix, spec.config and decoded caCert, reading the config keys
    /// as its plugin does; the AWS plugin's config.profile comes back beside it.
    pub fn from_config(
        provider: &str,
        bucket: &str,
        prefix: &str,
        config: &BTreeMap<String, String>,
        ca_cert: Option<Vec<u8>>,
    ) -> Result<(Location, Option<String>), ProbeError> {
        let (provider, bucket, prefix) =
            (provider.to_string(), bucket.to_string(), prefix.to_string());
        let mut location = if AWS_PROVIDERS.contains(&provider.as_str()) {
            Location::S3(S3Location {
                provider,
                bucket,
                prefix,
                ca_cert,
                ..S3Location::default()
            })
        } else if AZURE_PROVIDERS.contains(&provider.as_str()) {
            Location::Azure(AzureLocation {
                provider,
                container: bucket,
                prefix,
                ca_cert,
                ..AzureLocation::default()
            })
        } else if GCP_PROVIDERS.contains(&provider.as_str()) {
            Location::Gcs(GcsLocation {
                provider,
                bucket,
                prefix,
                ..GcsLocation::default()
            })
        } else if LocalVolumeLocation::handles(&provider) {
            Location::LocalVolume(LocalVolumeLocation {
                provider,
                bucket,
                prefix,
                ..LocalVolumeLocation::default()
            })
        } else {
            return Err(ProbeError::Provider(provider));
        };
        for (key, value) in config {
            location.set_config(key, value)?;
        }
        let profile = config.get("profile").filter(|p| !p.is_empty()).cloned();
        Ok((location, profile))
    }

    /// Sets config key `key` as the location's plugin reads it (keys it does not read are ignored, as the probe
    /// does not need them: encryption settings, block sizes, …).
    pub fn set_config(&mut self, key: &str, value: &str) -> Result<(), ProbeError> {
        let text = Some(value.to_string());
        let nonempty = Some(value.to_string()).filter(|v| !v.is_empty());
        match self {
            Location::S3(l) => match key {
                "region" => l.region = text,
                "s3Url" => l.s3_url = text,
                "s3ForcePathStyle" => l.s3_force_path_style = parse_bool(key, value)?,
                "insecureSkipTLSVerify" => l.insecure_skip_tls_verify = parse_bool(key, value)?,
                // Kept when empty: "" turns the plugin's checksums off.
                "checksumAlgorithm" => l.checksum_algorithm = text,
                _ => {}
            },
            Location::Azure(l) => match key {
                "storageAccount" => l.storage_account = value.to_string(),
                "storageAccountKeyEnvVar" => l.storage_account_key_env_var = nonempty,
                "storageAccountURI" => l.storage_account_uri = nonempty,
                "useAAD" => l.use_aad = parse_bool(key, value)?,
                "resourceGroup" => l.resource_group = nonempty,
                "subscriptionId" => l.subscription_id = nonempty,
                "activeDirectoryAuthorityURI" => l.active_directory_authority_uri = nonempty,
                _ => {}
            },
            Location::Gcs(l) => match key {
                "storeEndpoint" => l.store_endpoint = nonempty,
                "universeDomain" => l.universe_domain = nonempty,
                "kmsKeyName" => l.kms_key_name = nonempty,
                "serviceAccount" => l.service_account = nonempty,
                _ => {}
            },
            Location::LocalVolume(l) => l.set_config(key, value),
        }
        Ok(())
    }

    /// spec.provider as written.
    pub fn provider(&self) -> &str {
        match self {
            Location::S3(l) => &l.provider,
            Location::Azure(l) => &l.provider,
            Location::Gcs(l) => &l.provider,
            Location::LocalVolume(l) => &l.provider,
        }
    }

    /// spec.objectStorage.bucket (Azure's container).
    pub fn bucket(&self) -> &str {
        match self {
            Location::S3(l) => &l.bucket,
            Location::Azure(l) => &l.container,
            Location::Gcs(l) => &l.bucket,
            Location::LocalVolume(l) => &l.bucket,
        }
    }

    /// spec.objectStorage.prefix as given.
    pub fn prefix(&self) -> &str {
        match self {
            Location::S3(l) => &l.prefix,
            Location::Azure(l) => &l.prefix,
            Location::Gcs(l) => &l.prefix,
            Location::LocalVolume(l) => &l.prefix,
        }
    }

    /// The decoded caCert the location's plugin trusts besides the system's roots (the GCP plugin reads none).
    pub fn ca_cert(&self) -> Option<&[u8]> {
        match self {
            Location::S3(l) => l.ca_cert.as_deref(),
            Location::Azure(l) => l.ca_cert.as_deref(),
            Location::Gcs(_) | Location::LocalVolume(_) => None,
        }
    }

    /// Replaces the caCert, for a provider whose plugin reads one.
    pub fn set_ca_cert(&mut self, pem: Vec<u8>) -> Result<(), ProbeError> {
        match self {
            Location::S3(l) => l.ca_cert = Some(pem),
            Location::Azure(l) => l.ca_cert = Some(pem),
            Location::Gcs(_) => {
                return Err(ProbeError::Config(
                    "velero-plugin-for-gcp reads no caCert: it trusts the system's roots only"
                        .to_string(),
                ));
            }
            Location::LocalVolume(_) => {
                return Err(ProbeError::Config(
                    "local-volume-provider reads no caCert: its location is a directory"
                        .to_string(),
                ));
            }
        }
        Ok(())
    }

    /// Refuses what the plugin would refuse before any request.
    pub(crate) fn validate(&self) -> Result<(), ProbeError> {
        if self.bucket().is_empty() {
            return Err(ProbeError::Config("the bucket is empty".to_string()));
        }
        match self {
            Location::S3(l) => l.validate(),
            Location::Azure(l) => l.validate(),
            // The plugin's Init refuses nothing else before a request: the key file is checked when read.
            Location::Gcs(_) => Ok(()),
            Location::LocalVolume(l) => l.validate(),
        }
    }

    /// The spec.config keys of an Azure or GCP location, for the agent's `--config` arguments (the AWS plugin's
    /// keys have flags of their own).
    pub(crate) fn config_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut add = |key: &'static str, value: &Option<String>| {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        };
        match self {
            Location::S3(_) => {}
            Location::Azure(l) => {
                add(
                    "storageAccount",
                    &Some(l.storage_account.clone()).filter(|a| !a.is_empty()),
                );
                add("storageAccountKeyEnvVar", &l.storage_account_key_env_var);
                add("storageAccountURI", &l.storage_account_uri);
                add("useAAD", &l.use_aad.then(|| "true".to_string()));
                add("resourceGroup", &l.resource_group);
                add("subscriptionId", &l.subscription_id);
                add(
                    "activeDirectoryAuthorityURI",
                    &l.active_directory_authority_uri,
                );
            }
            Location::Gcs(l) => {
                add("storeEndpoint", &l.store_endpoint);
                add("universeDomain", &l.universe_domain);
                add("kmsKeyName", &l.kms_key_name);
                add("serviceAccount", &l.service_account);
            }
            Location::LocalVolume(l) => pairs = l.config_pairs(),
        }
        pairs
    }

    /// The credentials in `text`, the file the location's plugin reads: an AWS shared credentials file (section
    /// `profile`), the Azure plugin's KEY=VALUE file, or a GCP service-account key.
    pub fn read_credentials(
        &self,
        text: &str,
        profile: Option<&str>,
    ) -> Result<StoreCredentials, String> {
        Ok(match self {
            Location::S3(_) => StoreCredentials::Aws(Credentials::parse(text, profile)?),
            Location::Azure(_) => StoreCredentials::Azure(AzureCredentials::parse(text)),
            Location::Gcs(_) => StoreCredentials::Gcp(GcpCredentials::parse(text)?),
            Location::LocalVolume(l) => {
                return Err(format!(
                    "{}: a directory, reached without credentials",
                    l.provider
                ));
            }
        })
    }

    /// [`Location::read_credentials`] of the file at `path`.
    pub fn credentials_from_file(
        &self,
        path: &Path,
        profile: Option<&str>,
    ) -> Result<StoreCredentials, ProbeError> {
        let failed = |message: String| ProbeError::CredentialsFile {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        self.read_credentials(&text, profile).map_err(failed)
    }
}

/// A boolean config value as the plugins parse it (Go's strconv.ParseBool); empty is false.
fn parse_bool(key: &str, value: &str) -> Result<bool, ProbeError> {
    match value {
        "" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(ProbeError::Config(format!(
            "config.{key} is {other:?}, not a boolean"
        ))),
    }
}

/// Velero's layout root: the prefix with one trailing slash, or empty (pkg/persistence/object_store_layout.go).
pub(crate) fn root_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// One S3 or S3-compatible BackupStorageLocation, with the config keys velero-plugin-for-aws reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Location {
    /// spec.provider: `aws` or `velero.io/aws`.
    pub provider: String,
    /// spec.objectStorage.bucket.
    pub bucket: String,
    /// spec.objectStorage.prefix; empty for the bucket's root.
    #[serde(default)]
    pub prefix: String,
    /// config.region; signing falls back to us-east-1, as S3-compatible stores expect.
    #[serde(default)]
    pub region: Option<String>,
    /// config.s3Url: the endpoint of an S3-compatible store; `None` for AWS itself.
    #[serde(default)]
    pub s3_url: Option<String>,
    /// config.s3ForcePathStyle: `https://host/bucket/key` instead of `https://bucket.host/key`.
    #[serde(default)]
    pub s3_force_path_style: bool,
    /// config.insecureSkipTLSVerify.
    #[serde(default)]
    #[serde(rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
    /// spec.objectStorage.caCert, decoded: the PEM bundle trusted besides the system's roots. Not part of the
    /// result (it says only whether one was given).
    #[serde(skip)]
    pub ca_cert: Option<Vec<u8>>,
    /// config.checksumAlgorithm: `None` when the key is absent (plugin 1.9.1+ then sends CRC32), `Some("")` when
    /// the location turned checksums off.
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
}

impl S3Location {
    /// Refuses what the AWS plugin would refuse before any request: another provider, no bucket.
    pub(crate) fn validate(&self) -> Result<(), ProbeError> {
        if !AWS_PROVIDERS.contains(&self.provider.as_str()) {
            return Err(ProbeError::Provider(self.provider.clone()));
        }
        if self.bucket.is_empty() {
            return Err(ProbeError::Config("the bucket is empty".to_string()));
        }
        Ok(())
    }

    /// The region requests are signed for.
    pub(crate) fn signing_region(&self) -> &str {
        self.region
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
    }

    /// Velero's layout root (see [`root_prefix`]).
    pub(crate) fn root_prefix(&self) -> String {
        root_prefix(&self.prefix)
    }
}

/// Static credentials, as the AWS credentials file Velero mounts carries them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// aws_access_key_id.
    pub access_key_id: String,
    /// aws_secret_access_key.
    pub secret_access_key: String,
    /// aws_session_token, for temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    // The secret and the token never reach a log or a panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Reads `profile` (default `default`) of an AWS shared credentials file: the format of the `cloud` key of
    /// Velero's credentials secret.
    pub fn from_file(path: &Path, profile: Option<&str>) -> Result<Self, ProbeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProbeError::CredentialsFile {
            path: path.to_path_buf(),
            message: source.to_string(),
        })?;
        Self::parse(&text, profile).map_err(|message| ProbeError::CredentialsFile {
            path: PathBuf::from(path),
            message,
        })
    }

    /// The credentials of `profile` in the text of a credentials file.
    pub(crate) fn parse(text: &str, profile: Option<&str>) -> Result<Self, String> {
        let wanted = profile.unwrap_or("default");
        let mut section: Option<String> = None;
        let (mut key, mut secret, mut token) = (None, None, None);
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name.trim().to_string());
                continue;
            }
            if section.as_deref() != Some(wanted) {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            let value = Some(value.trim().to_string());
            match name.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => key = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
        match (key, secret) {
            (Some(access_key_id), Some(secret_access_key))
                if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
            {
                Ok(Credentials {
                    access_key_id,
                    secret_access_key,
                    session_token: token.filter(|t| !t.is_empty()),
                })
            }
            _ => Err(format!(
                "profile [{wanted}] has no aws_access_key_id and aws_secret_access_key"
            )),
        }
    }
}

/// One Azure Blob location, with the config keys velero-plugin-for-microsoft-azure reads (its object_store.go Init
/// and Velero's pkg/util/azure/storage.go, velero d30d389b56068eebd675d9953492183cb7b58a78).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AzureLocation {
    /// spec.provider: `azure` or `velero.io/azure`.
    pub provider: String,
    /// spec.objectStorage.bucket: the blob container.
    pub container: String,
    /// spec.objectStorage.prefix.
    pub prefix: String,
    /// config.storageAccount (required: "storageAccount is required in BSL").
    pub storage_account: String,
    /// config.storageAccountKeyEnvVar: the name of the credentials file's key holding the account's access key
    /// (shared-key auth).
    pub storage_account_key_env_var: Option<String>,
    /// config.storageAccountURI: the blob endpoint, else `https://<account>.blob.<cloud's suffix>`.
    pub storage_account_uri: Option<String>,
    /// config.useAAD: authenticate with Azure AD instead of an account key.
    pub use_aad: bool,
    /// config.resourceGroup (the key exchange through Azure Resource Manager needs it).
    pub resource_group: Option<String>,
    /// config.subscriptionId (likewise).
    pub subscription_id: Option<String>,
    /// config.activeDirectoryAuthorityURI.
    pub active_directory_authority_uri: Option<String>,
    /// spec.objectStorage.caCert, decoded (Velero passes it to the plugin as config caCert).
    pub ca_cert: Option<Vec<u8>>,
}

impl AzureLocation {
    fn validate(&self) -> Result<(), ProbeError> {
        if self.storage_account.is_empty() {
            // Velero's NewStorageClient: "storageAccount is required in BSL".
            return Err(ProbeError::Config(
                "storageAccount is required in BSL".to_string(),
            ));
        }
        Ok(())
    }
}

/// One Google Cloud Storage location, with the config keys velero-plugin-for-gcp reads (object_store.go Init,
/// velero-plugin-for-gcp 2cb9bfc32bf159602a230378124396107c9fa145).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcsLocation {
    /// spec.provider: `gcp` or `velero.io/gcp`.
    pub provider: String,
    /// spec.objectStorage.bucket.
    pub bucket: String,
    /// spec.objectStorage.prefix.
    pub prefix: String,
    /// config.storeEndpoint: another endpoint for the storage API (a private one, or an emulator).
    pub store_endpoint: Option<String>,
    /// config.universeDomain: a universe other than googleapis.com.
    pub universe_domain: Option<String>,
    /// config.kmsKeyName: the key the plugin's writer encrypts every object with.
    pub kms_key_name: Option<String>,
    /// config.serviceAccount: the account that signs URLs under workload identity.
    pub service_account: Option<String>,
}

/// The credentials of one location, in its plugin's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreCredentials {
    /// An AWS shared credentials file's profile.
    Aws(Credentials),
    /// The Azure plugin's KEY=VALUE file.
    Azure(AzureCredentials),
    /// A GCP service-account key.
    Gcp(GcpCredentials),
}

/// The Azure plugin's credentials file: KEY=VALUE lines, read with godotenv (Velero's pkg/util/azure/util.go
/// LoadCredentials): AZURE_STORAGE_ACCOUNT_ACCESS_KEY (the key config.storageAccountKeyEnvVar names),
/// AZURE_CLOUD_NAME, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, ….
#[derive(Clone, PartialEq, Eq)]
pub struct AzureCredentials {
    /// Every key of the file.
    pub values: BTreeMap<String, String>,
}

impl fmt::Debug for AzureCredentials {
    // Only the names: values are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureCredentials")
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AzureCredentials {
    /// The file as godotenv reads it: `KEY=VALUE` or `KEY: VALUE`, an optional `export `, `#` comments, values in
    /// single or double quotes (double-quoted ones with `\n` escapes).
    pub(crate) fn parse(text: &str) -> Self {
        let mut values = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some(split) = line.find(['=', ':']) else {
                continue;
            };
            let (name, value) = (line[..split].trim(), line[split + 1..].trim());
            let value = if let Some(inner) = value
                .strip_prefix('"')
                .and_then(|v| v.rfind('"').map(|end| &v[..end]))
            {
                inner.replace("\\n", "\n").replace("\\\"", "\"")
            } else if let Some(inner) = value
                .strip_prefix('\'')
                .and_then(|v| v.rfind('\'').map(|end| &v[..end]))
            {
                inner.to_string()
            } else {
                // An unquoted value ends at a comment.
                value
                    .split(" #")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            values.insert(name.to_string(), value);
        }
        AzureCredentials { values }
    }
}

/// A GCP service-account key file (`"type": "service_account"`), what velero-plugin-for-gcp's initFromKeyFile
/// reads: the account's email and private key, and where to trade a signed JWT for an access token.
#[derive(Clone, PartialEq, Eq)]
pub struct GcpCredentials {
    /// client_email.
    pub client_email: String,
    /// private_key: PEM (PKCS#8) RSA key.
    pub private_key: String,
    /// private_key_id, the JWT's `kid`.
    pub private_key_id: Option<String>,
    /// token_uri (default https://oauth2.googleapis.com/token).
    pub token_uri: String,
}

impl fmt::Debug for GcpCredentials {
    // The private key never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpCredentials")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl GcpCredentials {
    /// A service-account key's JSON; other kinds (external_account, authorized_user) are refused by name.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let field = |k: &str| {
            json.get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
        };
        match field("type") {
            Some("service_account") => {}
            Some(other) => {
                return Err(format!(
                    "a {other:?} credential: the probe signs in with service-account keys (\"type\": \"service_account\") only"
                ));
            }
            None => return Err("no \"type\": not a Google credentials file".to_string()),
        }
        // initFromKeyFile's checks, its wording.
        let client_email = field("client_email")
            .ok_or("the credentials file does not contain an email")?
            .to_string();
        let private_key = field("private_key")
            .ok_or("the credentials file does not contain a private key")?
            .to_string();
        Ok(GcpCredentials {
            client_email,
            private_key,
            private_key_id: field("private_key_id").map(str::to_string),
            token_uri: field("token_uri")
                .unwrap_or("https://oauth2.googleapis.com/token")
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_profile_of_a_credentials_file() {
        // composed: the layout of velero-plugin-for-aws's README "credentials-velero" file, two profiles.
        let text = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n\
                    [backup]\naws_access_key_id=AKIABACKUP\naws_secret_access_key=s2\naws_session_token=t\n";
        let default = Credentials::parse(text, None).unwrap();
        assert_eq!(default.access_key_id, "AKIADEFAULT");
        assert_eq!(default.session_token, None);
        let backup = Credentials::parse(text, Some("backup")).unwrap();
        assert_eq!(
            (
                backup.secret_access_key.as_str(),
                backup.session_token.as_deref()
            ),
            ("s2", Some("t"))
        );
        let missing = Credentials::parse(text, Some("other")).unwrap_err();
        assert!(missing.contains("[other]"), "{missing}");
        assert!(!format!("{default:?}").contains("s1"));
    }

    #[test]
    fn root_prefix_is_velero_s() {
        let mut location = S3Location {
            prefix: "/cluster-a/".to_string(),
            ..Default::default()
        };
        assert_eq!(location.root_prefix(), "cluster-a/");
        location.prefix.clear();
        assert_eq!(location.root_prefix(), "");
    }

    #[test]
    fn reads_the_azure_plugin_s_credentials_file_as_godotenv_does() {
        // The layout of the credentials-velero file in velero-plugin-for-microsoft-azure's README
        // (1b682ce13010adb7da68f185f8ae44fd678b1003), with the quoting and comments godotenv accepts.
        let text = "AZURE_SUBSCRIPTION_ID=sub\n# the key\nAZURE_STORAGE_ACCOUNT_ACCESS_KEY=\"a2V5==\"\n\
                    export AZURE_CLOUD_NAME=AzurePublicCloud # public\nAZURE_CLIENT_SECRET='s#1'\n";
        let credentials = AzureCredentials::parse(text);
        assert_eq!(
            credentials
                .values
                .get("AZURE_STORAGE_ACCOUNT_ACCESS_KEY")
                .map(String::as_str),
            Some("a2V5==")
        );
        assert_eq!(
            credentials
                .values
                .get("AZURE_CLOUD_NAME")
                .map(String::as_str),
            Some("AzurePublicCloud")
        );
        assert_eq!(
            credentials
                .values
                .get("AZURE_CLIENT_SECRET")
                .map(String::as_str),
            Some("s#1")
        );
        assert!(!format!("{credentials:?}").contains("a2V5"));
    }

    #[test]
    fn reads_a_gcp_service_account_key_and_refuses_other_kinds() {
        // composed: the fields of a service-account key file as `gcloud iam service-accounts keys create` writes
        // it (values shortened).
        let key = r#"{"type": "service_account", "project_id": "p", "private_key_id": "abc",
                      "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n",
                      "client_email": "velero@p.iam.gserviceaccount.com",
                      "token_uri": "https://oauth2.googleapis.com/token"}"#;
        let credentials = GcpCredentials::parse(key).unwrap();
        assert_eq!(credentials.client_email, "velero@p.iam.gserviceaccount.com");
        assert!(!format!("{credentials:?}").contains("PRIVATE"));
        let external = GcpCredentials::parse(r#"{"type": "external_account"}"#).unwrap_err();
        assert!(external.contains("external_account"), "{external}");
        let no_email = GcpCredentials::parse(r#"{"type": "service_account", "private_key": "k"}"#);
        assert!(no_email.unwrap_err().contains("email"));
    }

    #[test]
    fn a_gcs_location_is_probed_with_its_plugin_s_config_keys() {
        let (location, _) = Location::from_config(
            "velero.io/gcp",
            "b",
            "",
            &BTreeMap::from([
                (
                    "storeEndpoint".to_string(),
                    "http://127.0.0.1:1/storage/v1/".to_string(),
                ),
                (
                    "kmsKeyName".to_string(),
                    "projects/p/locations/l/keyRings/r/cryptoKeys/k".to_string(),
                ),
            ]),
            None,
        )
        .unwrap();
        location.validate().unwrap();
        let Location::Gcs(gcs) = &location else {
            panic!("{location:?}")
        };
        assert_eq!(
            gcs.store_endpoint.as_deref(),
            Some("http://127.0.0.1:1/storage/v1/")
        );
        assert_eq!(location.config_pairs().len(), 2);
        // The plugin reads no caCert: one given is a mistake said as such.
        let mut location = location;
        assert!(location.set_ca_cert(b"pem".to_vec()).is_err());
    }
}
