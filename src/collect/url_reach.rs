//! Whether this machine reached the pre-signed URL a DownloadRequest handed out, and if not, at which step: the
//! host's name did not resolve, the connection was refused or timed out, TLS failed, or the store answered. Velero
//! signs the URL for the location's s3Url (or publicUrl), which is often an in-cluster name such as
//! `http://minio.minio:9000`: reachable from the velero pod, not from a laptop. That is why `velero backup logs`
//! fails there while Velero itself works, and the same URL is what snapdoc follows.
//!
//! Each record names the URL with its query (the signature, the access key id, the expiry) replaced, so a bundle
//! never holds a usable link.

use serde_json::{Value, json};

/// Where the URL's query was.
const REDACTED_QUERY: &str = "<signed query redacted>";

/// How far a request to a signed URL got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// The host's name does not resolve here.
    Dns,
    /// The name resolved; the TCP connection was refused or could not be made.
    Connect,
    /// The connection was made; the TLS handshake failed (an unknown CA, a name mismatch, plain HTTP on a TLS
    /// port).
    Tls,
    /// Nothing answered in time.
    Timeout,
    /// The store answered with an HTTP status (a success or an error of its own).
    Answered,
}

impl Reach {
    /// The word the bundle and rules use.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Reach::Dns => "dns",
            Reach::Connect => "connect",
            Reach::Tls => "tls",
            Reach::Timeout => "timeout",
            Reach::Answered => "answered",
        }
    }

    /// Whether this machine reached the store at all.
    pub(super) fn reached(self) -> bool {
        self == Reach::Answered
    }
}

/// One signed URL as this machine saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UrlReach {
    /// The download: `BackupLog b1`.
    pub target: String,
    /// The URL without its query.
    pub url: String,
    /// `scheme://host:port`: what the URL points at.
    pub endpoint: String,
    pub reach: Reach,
    /// The HTTP status, when the store answered.
    pub status: Option<u16>,
    /// What failed, in words, when it was not reached.
    pub why: Option<String>,
}

impl UrlReach {
    /// The record in the manifest's `scope.downloads.urls`.
    pub(super) fn to_json(&self) -> Value {
        let mut record = json!({
            "target": self.target,
            "url": self.url,
            "endpoint": self.endpoint,
            "reached": self.reach.reached(),
            "reach": self.reach.as_str(),
        });
        if let Some(status) = self.status {
            record["status"] = json!(status);
        }
        if let Some(why) = &self.why {
            record["why"] = json!(why);
        }
        record
    }

    /// The collector error's message for a URL not reached.
    pub(super) fn message(&self) -> String {
        format!(
            "the signed URL {} is not reachable from here: {}",
            self.url,
            self.why.as_deref().unwrap_or("no answer")
        )
    }
}

/// `uri` with its query replaced by [`REDACTED_QUERY`].
pub(super) fn redacted(uri: &http::Uri) -> String {
    let path = uri.path();
    let base = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{path}"),
        _ => path.to_string(),
    };
    match uri.query() {
        Some(_) => format!("{base}?{REDACTED_QUERY}"),
        None => base,
    }
}

/// `scheme://host:port` of `uri`, the port made explicit.
pub(super) fn endpoint(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("?");
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    format!("{scheme}://{host}:{port}")
}

/// How far a request that failed before any answer got, and why in words, from the client's error chain:
/// hyper-util's connector names the step ("dns error", "tcp connect error"), rustls its own errors.
pub(super) fn classify(error: &(dyn std::error::Error + 'static), host: &str) -> (Reach, String) {
    let mut chain = Vec::new();
    let mut tls = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        tls |= e.downcast_ref::<rustls::Error>().is_some();
        chain.push(e.to_string());
        source = e.source();
    }
    // The connector's step and the system's words; the legacy client's own "client error (Connect)" says less.
    let detail = chain
        .iter()
        .skip_while(|text| text.starts_with("client error"))
        .cloned()
        .collect::<Vec<_>>()
        .join(": ");
    let has = |needle: &str| chain.iter().any(|text| text.contains(needle));
    if has("dns error") {
        (
            Reach::Dns,
            format!("{host} does not resolve here ({detail})"),
        )
    } else if tls || has("certificate") || has("InvalidContentType") || has("tls handshake") {
        (
            Reach::Tls,
            format!("the TLS handshake with {host} failed ({detail})"),
        )
    } else if has("timed out") {
        (
            Reach::Timeout,
            format!("connecting to {host} timed out ({detail})"),
        )
    } else {
        (
            Reach::Connect,
            format!("the connection to {host} failed ({detail})"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_query_is_never_kept() {
        // A pre-signed GET as the AWS plugin makes it (SigV4 query parameters), composed.
        let uri: http::Uri = "http://minio.minio:9000/velero/backups/b1/b1-logs.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                              &X-Amz-Credential=AKIAEXAMPLE%2F20261206%2Fus-east-1%2Fs3%2Faws4_request\
                              &X-Amz-Expires=600&X-Amz-Signature=abcdef"
            .parse()
            .unwrap();
        let url = redacted(&uri);
        assert_eq!(
            url,
            "http://minio.minio:9000/velero/backups/b1/b1-logs.gz?<signed query redacted>"
        );
        assert!(!url.contains("AKIA") && !url.contains("Signature"));
        assert_eq!(endpoint(&uri), "http://minio.minio:9000");
        let https: http::Uri = "https://s3.amazonaws.com/bucket/key".parse().unwrap();
        assert_eq!(endpoint(&https), "https://s3.amazonaws.com:443");
        assert_eq!(redacted(&https), "https://s3.amazonaws.com/bucket/key");
    }

    #[tokio::test]
    async fn each_step_that_fails_is_named() {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
        // `.invalid` never resolves (RFC 6761).
        let error = client
            .get("http://minio.minio.invalid:9000/k".parse().unwrap())
            .await
            .unwrap_err();
        let (reach, why) = classify(&error, "minio.minio.invalid");
        assert_eq!(reach, Reach::Dns, "{why}");
        assert!(
            why.starts_with("minio.minio.invalid does not resolve here (dns error"),
            "{why}"
        );

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let error = client
            .get(format!("http://127.0.0.1:{port}/k").parse().unwrap())
            .await
            .unwrap_err();
        let (reach, why) = classify(&error, "127.0.0.1");
        assert_eq!(reach, Reach::Connect, "{why}");
        assert!(why.contains("tcp connect error"), "{why}");
    }
}
