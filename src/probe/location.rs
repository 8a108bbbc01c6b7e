//! What the probe is told: one storage location's settings and the credentials to use with them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ProbeError;

/// The provider names a BackupStorageLocation gives the AWS plugin (`aws`, or the plugin's full name).
const AWS_PROVIDERS: [&str; 2] = ["aws", "velero.io/aws"];

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

    /// Velero's layout root: the prefix with one trailing slash, or empty (pkg/persistence/object_store_layout.go).
    pub(crate) fn root_prefix(&self) -> String {
        let trimmed = self.prefix.trim_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        }
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
}
