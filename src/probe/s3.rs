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

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::error::ProbeError;
use super::location::{Credentials, S3Location};

/// One request's budget: a store that answers slower than this is not usable for backups either.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

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

/// What the store answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The Date header, parsed.
    pub(crate) date: Option<jiff::Timestamp>,
    /// Our clock halfway through the request, to compare `date` with.
    pub(crate) local_midpoint: jiff::Timestamp,
    pub(crate) body: Bytes,
    /// x-amz-version-id: the version a PUT created in a versioned bucket.
    pub(crate) version_id: Option<String>,
    pub(crate) elapsed: Duration,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The request did not get an answer.
#[derive(Debug)]
pub(crate) enum Unanswered {
    /// TLS verification failed; the text is Go's x509 wording, as Velero would log it.
    Certificate(String),
    /// Connection refused, DNS, timeout, TLS handshake other than the certificate.
    Transport(String),
}

/// A signed-request client for one location.
pub(crate) struct S3Client {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: Endpoint,
    region: String,
    identity: aws_smithy_runtime_api::client::identity::Identity,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl S3Client {
    pub(crate) fn new(
        location: &S3Location,
        credentials: &Credentials,
    ) -> Result<Self, ProbeError> {
        let endpoint = Endpoint::of(location)?;
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ProbeError::Config(e.to_string()))?;
        let tls = if location.insecure_skip_tls_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(crate::tls::SkipVerify::new(provider())))
                .with_no_client_auth()
        } else {
            builder
                .with_root_certificates(roots(location.ca_cert.as_deref())?)
                .with_no_client_auth()
        };
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(REQUEST_TIMEOUT));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let identity = aws_credential_types::Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            credentials.session_token.clone(),
            None,
            "snapdoc-probe",
        )
        .into();
        Ok(S3Client {
            http: Client::builder(TokioExecutor::new()).build(connector),
            endpoint,
            region: location.signing_region().to_string(),
            identity,
        })
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
        let started = Instant::now();
        let sent_at = jiff::Timestamp::now();
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self.http.request(request).await.map_err(describe)?;
            let status = response.status().as_u16();
            let date = response
                .headers()
                .get(http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
                .map(|z| z.timestamp());
            let version_id = response
                .headers()
                .get("x-amz-version-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && *v != "null")
                .map(str::to_string);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Unanswered::Transport(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, date, body, version_id))
        })
        .await
        .map_err(|_| {
            Unanswered::Transport(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))
        })?;
        let (status, date, body, version_id) = answer?;
        let elapsed = started.elapsed();
        let half = jiff::SignedDuration::try_from(elapsed / 2).unwrap_or_default();
        Ok(Answer {
            status,
            date,
            local_midpoint: sent_at.checked_add(half).unwrap_or(sent_at),
            body,
            version_id,
            elapsed,
        })
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

/// The system's roots plus the location's caCert, as the AWS plugin builds its pool.
fn roots(ca_cert: Option<&[u8]>) -> Result<rustls::RootCertStore, ProbeError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as every client does.
        let _ = roots.add(cert);
    }
    if let Some(pem) = ca_cert {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ProbeError::CaCert(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| ProbeError::CaCert(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(ProbeError::CaCert("no PEM certificate in it".to_string()));
        }
    }
    Ok(roots)
}

/// Names the failure the way Go's crypto/x509 does, so the text is the one the catalog's signatures know.
fn describe(error: hyper_util::client::legacy::Error) -> Unanswered {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(rustls::Error::InvalidCertificate(problem)) = tls_error(current) {
            return Unanswered::Certificate(x509_wording(problem));
        }
        source = current.source();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    Unanswered::Transport(text)
}

/// The rustls error inside `error`: hyper-rustls wraps tokio-rustls's io::Error (which holds rustls's) in another
/// io::Error, and io::Error's `source()` skips what it holds, so walking `source()` alone never reaches it.
fn tls_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        return io.get_ref().and_then(|inner| tls_error(inner));
    }
    None
}

fn x509_wording(problem: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match problem {
        E::UnknownIssuer => "certificate signed by unknown authority".to_string(),
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            format!("certificate has expired or is not yet valid ({problem:?})")
        }
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            format!("certificate is valid for other names, not this host ({problem:?})")
        }
        other => format!("certificate rejected ({other:?})"),
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
