//! The probe's Azure Blob client: Shared Key signing (HMAC-SHA256 from `ring`) on the probe's own hyper + rustls
//! transport, the requests velero-plugin-for-microsoft-azure makes (List Blobs with a delimiter, Put Block and Put
//! Block List, Get Blob, Delete Blob).
//!
//! Why not `azure_storage_blobs` or `object_store`'s Azure backend: the same reasons as for S3 (src/probe/s3.rs).
//! The SDK crate brings its own HTTP stack and retry policy, hides the Date header, and its API and crate names
//! have been replaced twice in two years; `object_store` folds the service's error codes into generic kinds, so
//! ContainerNotFound, AuthenticationFailed and AuthorizationPermissionMismatch (three different causes) could not
//! be told apart. Shared Key is about forty lines: the string to sign is the one the Go SDK the plugin uses builds
//! (azblob's shared_key_credential.go), so what the store accepts from the probe it accepts from the plugin.
//!
//! Authentication: the storage account key that config.storageAccountKeyEnvVar names in the credentials file, as
//! the plugin does. Azure AD (config.useAAD, or the plugin's key exchange through Resource Manager) is refused
//! before any request, by name.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;

use super::agent::Store;
use super::error::ProbeError;
use super::location::{AzureCredentials, AzureLocation};
use super::outcome::{Step, azure_rule_for_code};
use super::s3::error_code;
use super::transport::{Answer, Transport, Unanswered};

/// The x-ms-version the probe speaks: one every Azure region and Azurite 3.x accept.
const API_VERSION: &str = "2021-12-02";
/// The plugin's block id for its first block: `fmt.Sprintf("%08d", 0)` in PutObject (object_store.go).
const FIRST_BLOCK_ID: &str = "00000000";

/// A Shared Key client for one storage account and container.
pub(crate) struct AzureClient {
    transport: Transport,
    /// The account's blob endpoint without a trailing slash: `https://acct.blob.core.windows.net`, or an
    /// emulator's `http://127.0.0.1:10000/devstoreaccount1`.
    base: String,
    account: String,
    key: Vec<u8>,
    container: String,
}

impl AzureClient {
    pub(crate) fn new(
        location: &AzureLocation,
        credentials: &AzureCredentials,
    ) -> Result<Self, ProbeError> {
        let value = |name: &str| {
            credentials
                .values
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let Some(key_name) = location.storage_account_key_env_var.as_deref() else {
            return Err(ProbeError::Config(
                "the probe authenticates to Azure with the storage account key that config.storageAccountKeyEnvVar \
                 names in the credentials file; Azure AD (useAAD, or the plugin's key exchange through Resource \
                 Manager) is not probed"
                    .to_string(),
            ));
        };
        // Velero's GetStorageAccountCredentials, its wording.
        let encoded = value(key_name).ok_or_else(|| {
            ProbeError::Config(format!(
                "no storage account access key with key {key_name} found in credential"
            ))
        })?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| ProbeError::Config(format!("the key in {key_name} is not base64: {e}")))?;
        let base = match &location.storage_account_uri {
            Some(uri) => uri.trim_end_matches('/').to_string(),
            None => format!(
                "https://{}.blob.{}",
                location.storage_account,
                blob_suffix(value("AZURE_CLOUD_NAME").unwrap_or_default())?
            ),
        };
        let uri: http::Uri = base
            .parse()
            .map_err(|e| ProbeError::Config(format!("storageAccountURI {base:?}: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(ProbeError::Config(format!(
                "storageAccountURI {base:?} needs http(s):// and a host"
            )));
        }
        Ok(AzureClient {
            transport: Transport::new(location.ca_cert.as_deref(), false)?,
            base,
            account: location.storage_account.clone(),
            key,
            container: location.container.clone(),
        })
    }

    /// For the result: the account's endpoint.
    pub(crate) fn endpoint(&self) -> String {
        self.base.clone()
    }

    /// Sends one Shared Key request to the container (`blob` None) or a blob in it; `query` as (name, value)
    /// pairs, unencoded.
    async fn send(
        &self,
        method: &str,
        blob: Option<&str>,
        query: &[(&str, &str)],
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> Result<Answer, Unanswered> {
        let mut path = format!("/{}", encode(&self.container, false));
        if let Some(blob) = blob {
            path.push('/');
            path.push_str(&encode(blob, true));
        }
        let mut pairs = query.to_vec();
        pairs.sort();
        let query_text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v, false)))
            .collect::<Vec<_>>()
            .join("&");
        let url = if query_text.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query_text}", self.base)
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e| Unanswered::Transport(format!("request {url}: {e}")))?;
        let date = jiff::Timestamp::now()
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let mut ms_headers: Vec<(String, String)> = vec![
            ("x-ms-date".into(), date),
            ("x-ms-version".into(), API_VERSION.into()),
        ];
        let mut plain: Vec<(&str, &str)> = Vec::new();
        for (name, value) in headers {
            if name.starts_with("x-ms-") {
                ms_headers.push((name.to_string(), value.to_string()));
            } else {
                plain.push((name, value));
            }
        }
        ms_headers.sort();
        let header = |name: &str| {
            plain
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .unwrap_or_default()
        };
        let length = if body.is_empty() {
            String::new()
        } else {
            body.len().to_string()
        };
        // The string to sign of the Blob service's Shared Key scheme, field by field as azblob builds it.
        let canonical_headers = ms_headers
            .iter()
            .map(|(n, v)| format!("{n}:{v}"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut resource = format!("/{}{}", self.account, uri.path());
        for (name, value) in &pairs {
            resource.push_str(&format!("\n{}:{value}", name.to_ascii_lowercase()));
        }
        let to_sign = [
            method,
            header("content-encoding"),
            header("content-language"),
            &length,
            header("content-md5"),
            header("content-type"),
            "",
            header("if-modified-since"),
            header("if-match"),
            header("if-none-match"),
            header("if-unmodified-since"),
            header("range"),
            &canonical_headers,
            &resource,
        ]
        .join("\n");
        let signature = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.key),
            to_sign.as_bytes(),
        );
        let authorization = format!(
            "SharedKey {}:{}",
            self.account,
            base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
        );
        let mut request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", authorization)
            .header("content-length", body.len().to_string());
        for (name, value) in ms_headers.iter() {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in plain {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Unanswered::Transport(format!("request {url}: {e}")))?;
        self.transport.send(request).await
    }
}

impl Store for AzureClient {
    /// List Blobs with delimiter `/`: the plugin's ListCommonPrefixes (NewListBlobsHierarchyPager).
    async fn list_page(&self, prefix: &str, marker: Option<&str>) -> Result<Answer, Unanswered> {
        let mut query = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("delimiter", "/"),
        ];
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if let Some(marker) = marker {
            query.push(("marker", marker));
        }
        self.send("GET", None, &query, Bytes::new(), &[]).await
    }

    fn listed(&self, _prefix: &str, body: &[u8]) -> (Vec<String>, Option<String>) {
        (blob_prefixes(body), xml_first(body, "NextMarker"))
    }

    /// Put Block then Put Block List, as the plugin's PutObject writes every object (one block here: the probe
    /// object is smaller than the plugin's 1 MiB default block). The answer is the block list's, its latency both.
    async fn put(&self, key: &str, body: Bytes) -> Result<Answer, Unanswered> {
        let block = self
            .send(
                "PUT",
                Some(key),
                &[("comp", "block"), ("blockid", FIRST_BLOCK_ID)],
                body,
                &[],
            )
            .await?;
        if !block.is_success() {
            return Ok(block);
        }
        let list = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>{FIRST_BLOCK_ID}</Latest></BlockList>"
        );
        let mut committed = self
            .send(
                "PUT",
                Some(key),
                &[("comp", "blocklist")],
                Bytes::from(list),
                &[("content-type", "application/xml")],
            )
            .await?;
        committed.elapsed += block.elapsed;
        Ok(committed)
    }

    async fn get(&self, key: &str) -> Result<Answer, Unanswered> {
        self.send("GET", Some(key), &[], Bytes::new(), &[]).await
    }

    /// Delete Blob; in an account with blob versioning the write's version too (deleting the current version
    /// keeps it as a previous one).
    async fn delete(&self, key: &str, version: Option<&str>) -> Result<Answer, Unanswered> {
        let answer = self
            .send("DELETE", Some(key), &[], Bytes::new(), &[])
            .await?;
        match version {
            Some(version) if answer.is_success() => {
                self.send(
                    "DELETE",
                    Some(key),
                    &[("versionid", version)],
                    Bytes::new(),
                    &[],
                )
                .await
            }
            _ => Ok(answer),
        }
    }

    /// The `<Code>` and first line of `<Message>` of the error body, else the x-ms-error-code header (answers
    /// to HEAD, and some 403s, have no body).
    fn error(&self, answer: &Answer) -> Option<(String, String)> {
        match error_code(&answer.body) {
            Some((code, message)) => {
                // The message's second and third lines are a RequestId and a Time: noise in a report.
                let first = message.lines().next().unwrap_or_default().to_string();
                Some((code, first))
            }
            None => answer.error_code.clone().map(|code| (code, String::new())),
        }
    }

    fn rule(&self, step: Step, code: &str) -> Option<&'static str> {
        azure_rule_for_code(step, code)
    }

    /// A role that may write but not list (Storage Blob Data roles are per action).
    fn listing_denied(&self, code: &str) -> bool {
        code == "AuthorizationPermissionMismatch"
    }
}

/// The blob endpoint's suffix for AZURE_CLOUD_NAME, as Velero's getCloudConfiguration maps it
/// (pkg/util/azure/util.go and storage.go, velero d30d389b56068eebd675d9953492183cb7b58a78).
fn blob_suffix(cloud: &str) -> Result<&'static str, ProbeError> {
    match cloud.to_ascii_uppercase().as_str() {
        "" | "AZURECLOUD" | "AZUREPUBLICCLOUD" => Ok("core.windows.net"),
        "AZURECHINACLOUD" => Ok("core.chinacloudapi.cn"),
        "AZUREUSGOVERNMENT" | "AZUREUSGOVERNMENTCLOUD" => Ok("core.usgovcloudapi.net"),
        _ => Err(ProbeError::Config(format!("unknown cloud: {cloud}"))),
    }
}

/// Percent-encoding of a container or blob name in the URL path (`/` kept in a blob name), or of a query value.
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && byte == b'/')
        {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The `<Name>` of every `<BlobPrefix>` in a List Blobs answer (a `<Blob>` has a `<Name>` too: not a directory).
fn blob_prefixes(body: &[u8]) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let (mut in_prefix, mut in_name) = (false, false);
    let mut found = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == b"BlobPrefix" => in_prefix = true,
            Ok(Event::End(e)) if e.name().as_ref() == b"BlobPrefix" => in_prefix = false,
            Ok(Event::Start(e)) if in_prefix && e.name().as_ref() == b"Name" => {
                in_name = true;
                found.push(String::new());
            }
            Ok(Event::End(e)) if e.name().as_ref() == b"Name" => in_name = false,
            Ok(Event::Text(t)) if in_name => {
                let text = t.decode().map(|t| t.into_owned()).unwrap_or_default();
                if let Some(last) = found.last_mut() {
                    last.push_str(&quick_xml::escape::unescape(&text).unwrap_or_default());
                }
            }
            Ok(Event::GeneralRef(r)) if in_name => {
                let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                let entity = format!("&{name};");
                if let Some(last) = found.last_mut() {
                    last.push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    found
}

/// The first `<tag>`'s text, if not empty.
fn xml_first(body: &[u8], tag: &str) -> Option<String> {
    super::s3::xml_text(body, tag)?
        .into_iter()
        .next()
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_directories_of_a_list_blobs_answer() {
        // composed: the shape of a List Blobs answer with a delimiter (Blob service REST reference, "List
        // Blobs"), one blob beside two prefixes.
        let body = br#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="velero"><Prefix>cluster-a/</Prefix><Delimiter>/</Delimiter><Blobs><Blob><Name>cluster-a/stray.txt</Name></Blob><BlobPrefix><Name>cluster-a/backups/</Name></BlobPrefix><BlobPrefix><Name>cluster-a/a&amp;b/</Name></BlobPrefix></Blobs><NextMarker /></EnumerationResults>"#;
        assert_eq!(
            blob_prefixes(body),
            vec![
                "cluster-a/backups/".to_string(),
                "cluster-a/a&b/".to_string()
            ]
        );
        assert_eq!(xml_first(body, "NextMarker"), None);
    }

    #[test]
    fn the_cloud_name_picks_the_blob_endpoint() {
        assert_eq!(blob_suffix("AzurePublicCloud").unwrap(), "core.windows.net");
        assert_eq!(
            blob_suffix("AzureUSGovernmentCloud").unwrap(),
            "core.usgovcloudapi.net"
        );
        assert!(blob_suffix("Mars").is_err());
    }
}
