//! The probe's HTTP client, shared by the providers: hyper + rustls with the location's trust (the system's roots
//! plus its caCert, or none with insecureSkipTLSVerify), one request at a time with a budget, and the answer as the
//! store gave it: status, raw body, Date (for the clock skew) and the version a write created.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::error::ProbeError;

/// One request's budget: a store that answers slower than this is not usable for backups either.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The headers that carry the version a write created in a versioned bucket: S3's and Azure Blob's.
const VERSION_HEADERS: [&str; 2] = ["x-amz-version-id", "x-ms-version-id"];

/// What the store answered.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The Date header, parsed.
    pub(crate) date: Option<jiff::Timestamp>,
    /// Our clock halfway through the request, to compare `date` with.
    pub(crate) local_midpoint: jiff::Timestamp,
    pub(crate) body: Bytes,
    /// x-amz-version-id / x-ms-version-id: the version a write created in a versioned bucket.
    pub(crate) version_id: Option<String>,
    /// x-ms-error-code: Azure's error code, also on answers without a body (HEAD, some 403s).
    pub(crate) error_code: Option<String>,
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

/// A client for one location's store.
pub(crate) struct Transport {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Transport {
    /// Trusts the system's roots plus `ca_cert`, or nothing at all with `insecure_skip_tls_verify`.
    pub(crate) fn new(
        ca_cert: Option<&[u8]>,
        insecure_skip_tls_verify: bool,
    ) -> Result<Self, ProbeError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ProbeError::Config(e.to_string()))?;
        let tls = if insecure_skip_tls_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(crate::tls::SkipVerify::new(provider())))
                .with_no_client_auth()
        } else {
            builder
                .with_root_certificates(roots(ca_cert)?)
                .with_no_client_auth()
        };
        Ok(Transport {
            http: crate::tls::object_store_client(tls, REQUEST_TIMEOUT),
        })
    }

    /// Sends `request` (already signed) and reads the whole answer.
    pub(crate) async fn send(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Answer, Unanswered> {
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
            let version_id = VERSION_HEADERS
                .iter()
                .find_map(|name| response.headers().get(*name))
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && *v != "null")
                .map(str::to_string);
            let error_code = response
                .headers()
                .get("x-ms-error-code")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Unanswered::Transport(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, date, body, version_id, error_code))
        })
        .await
        .map_err(|_| {
            Unanswered::Transport(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))
        })?;
        let (status, date, body, version_id, error_code) = answer?;
        let elapsed = started.elapsed();
        let half = jiff::SignedDuration::try_from(elapsed / 2).unwrap_or_default();
        Ok(Answer {
            status,
            date,
            local_midpoint: sent_at.checked_add(half).unwrap_or(sent_at),
            body,
            version_id,
            error_code,
            elapsed,
        })
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

/// The URI encoding S3's SigV4 and Azure's Shared Key both sign: everything but the unreserved characters
/// percent-encoded, and `/` kept in a path.
pub(crate) fn percent_encode(text: &str, keep_slash: bool) -> String {
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
