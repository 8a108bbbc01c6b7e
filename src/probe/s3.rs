//! The probe's S3 client: SigV4 from `aws-sigv4`, requests on a hyper + rustls client of our own.
//!
//! Why not `aws-sdk-s3`: it computes and sends its own flexible checksums (the very behaviour being probed, and it
//! changes between SDK releases), hides the server's Date header and raw error code behind its retry layer, and
//! would add the largest dependency tree of the crate for four operations. Why not `object_store`: it cannot send
//! an arbitrary header such as `x-amz-sdk-checksum-algorithm`, maps S3 error codes to its own generic kinds
//! (losing InvalidAccessKeyId vs SignatureDoesNotMatch, which are two rules), and does not report the Date header.
//! With the signer alone every byte sent is the probe's choice, the answer is seen exactly as the store gave it,
//! and the TLS client is the rustls one the collector already uses (caCert added to the roots,
//! insecureSkipTLSVerify as Velero applies it).

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::Full;

use super::agent::Store;
use super::error::ProbeError;
use super::location::{Credentials, S3Location};
use super::outcome::{Step, rule_for_code};
use super::transport::Transport;
pub(crate) use super::transport::{Answer, Unanswered};

/// Where requests go: the scheme and authority, and whether the bucket is in the path or the host name.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    scheme: String,
    authority: String,
    path_style: bool,
}

impl Endpoint {
    /// config.s3Url, else AWS's regional endpoint (what the AWS SDK resolves for the region).
    pub(crate) fn of(location: &S3Location) -> Result<Self, ProbeError> {
        let url = match location.s3_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => format!("https://s3.{}.amazonaws.com", location.signing_region()),
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e| ProbeError::Config(format!("s3Url {url:?}: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ProbeError::Config(format!(
                "s3Url {url:?} needs a scheme and a host, such as https://minio.example:9000"
            )));
        };
        if scheme != "http" && scheme != "https" {
            return Err(ProbeError::Config(format!(
                "s3Url {url:?}: scheme {scheme} is not http or https"
            )));
        }
        Ok(Endpoint {
            scheme: scheme.to_string(),
            authority: authority.to_string(),
            path_style: location.s3_force_path_style,
        })
    }

    /// The URL of `key` in `bucket` (the bucket itself when `key` is `None`), query already encoded.
    fn url(&self, bucket: &str, key: Option<&str>, query: &str) -> (String, String) {
        let key = key.map(uri_encode_path).unwrap_or_default();
        let (host, path) = if self.path_style {
            (self.authority.clone(), format!("/{bucket}/{key}"))
        } else {
            (format!("{bucket}.{}", self.authority), format!("/{key}"))
        };
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        (format!("{}://{host}{path}{query}", self.scheme), host)
    }

    /// For the result: the endpoint as a URL.
    pub(crate) fn display(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// S3's URI encoding: everything but the unreserved characters, and `/` in a path.
fn uri_encode(text: &str, keep_slash: bool) -> String {
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

fn uri_encode_path(key: &str) -> String {
    uri_encode(key, true)
}

/// `pairs` as a query string, sorted as SigV4's canonical form wants it.
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut pairs: Vec<_> = pairs.to_vec();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A signed-request client for one location.
pub(crate) struct S3Client {
    transport: Transport,
    bucket: String,
    endpoint: Endpoint,
    region: String,
    identity: aws_smithy_runtime_api::client::identity::Identity,
}

impl S3Client {
    pub(crate) fn new(
        location: &S3Location,
        credentials: &Credentials,
    ) -> Result<Self, ProbeError> {
        let endpoint = Endpoint::of(location)?;
        let transport = Transport::new(
            location.ca_cert.as_deref(),
            location.insecure_skip_tls_verify,
        )?;
        let identity = aws_credential_types::Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            credentials.session_token.clone(),
            None,
            "snapdoc-probe",
        )
        .into();
        Ok(S3Client {
            transport,
            bucket: location.bucket.clone(),
            endpoint,
            region: location.signing_region().to_string(),
            identity,
        })
    }

    /// The location's bucket.
    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// PutObject of `key` with `headers` besides the signature's.
    pub(crate) async fn put_with(
        &self,
        key: &str,
        body: Bytes,
        headers: &[(&str, String)],
    ) -> Result<Answer, Unanswered> {
        self.send("PUT", &self.bucket, Some(key), "", body, headers)
            .await
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one signed request and reads the whole answer.
    pub(crate) async fn send(
        &self,
        method: &str,
        bucket: &str,
        key: Option<&str>,
        query: &str,
        body: Bytes,
        headers: &[(&str, String)],
    ) -> Result<Answer, Unanswered> {
        let (url, host) = self.endpoint.url(bucket, key, query);
        let mut request = http::Request::builder().method(method).uri(&url);
        request = request.header("host", &host);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut request = request
            .header("content-length", body.len().to_string())
            .body(Full::new(body.clone()))
            .map_err(|e| Unanswered::Transport(format!("request {url}: {e}")))?;
        self.sign(&mut request, &body)?;
        self.transport.send(request).await
    }

    fn sign(
        &self,
        request: &mut http::Request<Full<Bytes>>,
        body: &[u8],
    ) -> Result<(), Unanswered> {
        let mut settings = SigningSettings::default();
        // S3 wants x-amz-content-sha256, keys encoded once and paths taken literally (`a//b` is a key).
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| Unanswered::Transport(format!("signing: {e}")))?
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.uri().to_string(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| Unanswered::Transport(format!("signing: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| Unanswered::Transport(format!("signing: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

impl Store for S3Client {
    /// ListObjectsV2 (list-type=2), as the plugin's ListCommonPrefixes.
    async fn list_page(&self, prefix: &str, marker: Option<&str>) -> Result<Answer, Unanswered> {
        let mut pairs = vec![("list-type", "2"), ("prefix", prefix), ("delimiter", "/")];
        if let Some(token) = marker {
            pairs.push(("continuation-token", token));
        }
        self.send("GET", &self.bucket, None, &query(&pairs), Bytes::new(), &[])
            .await
    }

    fn listed(&self, prefix: &str, body: &[u8]) -> (Vec<String>, Option<String>) {
        // <Prefix> is also the echoed request prefix; CommonPrefixes are the ones below it.
        let dirs = xml_text(body, "Prefix")
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.len() > prefix.len())
            .collect();
        let next = xml_text(body, "NextContinuationToken").and_then(|t| t.into_iter().next());
        (dirs, next)
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<Answer, Unanswered> {
        self.put_with(key, body, &[]).await
    }

    async fn get(&self, key: &str) -> Result<Answer, Unanswered> {
        self.send("GET", &self.bucket, Some(key), "", Bytes::new(), &[])
            .await
    }

    async fn delete(&self, key: &str, version: Option<&str>) -> Result<Answer, Unanswered> {
        let query = version
            .map(|v| query(&[("versionId", v)]))
            .unwrap_or_default();
        self.send("DELETE", &self.bucket, Some(key), &query, Bytes::new(), &[])
            .await
    }

    fn error(&self, answer: &Answer) -> Option<(String, String)> {
        error_code(&answer.body)
    }

    fn rule(&self, step: Step, code: &str) -> Option<&'static str> {
        rule_for_code(step, code)
    }

    fn listing_denied(&self, code: &str) -> bool {
        code == "AccessDenied"
    }
}

/// The `<Code>` and `<Message>` of an S3 error body.
pub(crate) fn error_code(body: &[u8]) -> Option<(String, String)> {
    let code = xml_text(body, "Code")?.into_iter().next()?;
    let message = xml_text(body, "Message")
        .and_then(|m| m.into_iter().next())
        .unwrap_or_default();
    Some((code, message))
}

/// The text of every `<tag>` element, in order; `None` when the body is not XML.
pub(crate) fn xml_text(body: &[u8], tag: &str) -> Option<Vec<String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut inside = false;
    let mut found = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) if e.name().as_ref() == tag.as_bytes() => {
                inside = true;
                found.push(String::new());
            }
            Event::End(e) if e.name().as_ref() == tag.as_bytes() => inside = false,
            Event::Text(t) if inside => {
                let text = t.decode().ok()?;
                let text = quick_xml::escape::unescape(&text).ok()?;
                if let Some(last) = found.last_mut() {
                    last.push_str(&text);
                }
            }
            Event::GeneralRef(r) if inside => {
                let name = r.decode().ok()?;
                let entity = format!("&{name};");
                let text = quick_xml::escape::unescape(&entity).ok()?;
                if let Some(last) = found.last_mut() {
                    last.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_path_or_virtual_host_style() {
        let mut location = S3Location {
            provider: "aws".into(),
            bucket: "b".into(),
            s3_url: Some("http://127.0.0.1:9000/".into()),
            s3_force_path_style: true,
            ..Default::default()
        };
        let endpoint = Endpoint::of(&location).unwrap();
        assert_eq!(
            endpoint.url("b", Some("p/snapdoc probe/x"), "list-type=2"),
            (
                "http://127.0.0.1:9000/b/p/snapdoc%20probe/x?list-type=2".to_string(),
                "127.0.0.1:9000".to_string()
            )
        );
        location.s3_url = None;
        location.s3_force_path_style = false;
        location.region = Some("eu-west-3".into());
        let aws = Endpoint::of(&location).unwrap();
        assert_eq!(
            aws.url("b", None, "").0,
            "https://b.s3.eu-west-3.amazonaws.com/"
        );
        location.s3_url = Some("minio:9000".into());
        assert!(Endpoint::of(&location).is_err());
    }

    #[test]
    fn query_is_sorted_and_encoded() {
        assert_eq!(
            query(&[("prefix", "a b/"), ("delimiter", "/"), ("list-type", "2")]),
            "delimiter=%2F&list-type=2&prefix=a%20b%2F"
        );
    }

    #[test]
    fn reads_the_code_of_an_s3_error() {
        // velero#7534: Backblaze B2's answer to the 1.9.1 plugin's PutObject.
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidArgument</Code>\
            <Message>Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.</Message></Error>";
        assert_eq!(
            error_code(body),
            Some((
                "InvalidArgument".to_string(),
                "Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call."
                    .to_string()
            ))
        );
        assert_eq!(error_code(b"not xml <at all"), None);
    }
}
