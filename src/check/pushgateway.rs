//! `--pushgateway URL`: the check's metrics pushed to a Prometheus Pushgateway, for checks that run where no
//! node-exporter reads a textfile (a laptop, a CI job, a fleet of clusters reporting to one Prometheus).
//!
//! The push is a PUT of the whole group `job="snapdoc", cluster="<name>"`: it replaces what the last check of
//! that cluster pushed, so a check that could not run leaves no stale finding behind (as the textfile does). The
//! grouping key's value is sent base64url-encoded (`cluster@base64/…`), which the Pushgateway accepts for any
//! value, slashes and empty names included.
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use crate::report::prometheus::MetricsError;

/// How long one push may take: a check must not hang on a monitoring endpoint.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// The URL of the group this cluster's metrics go to, below the Pushgateway's base URL.
pub(crate) fn group_url(base: &str, cluster: &str) -> String {
    let encoded = if cluster.is_empty() {
        // The Pushgateway's spelling of an empty value in base64 form.
        "=".to_string()
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cluster)
    };
    format!(
        "{}/metrics/job/snapdoc/cluster@base64/{encoded}",
        base.trim_end_matches('/')
    )
}

/// PUTs `text` (the textfile's exposition text) as the group of `cluster`.
pub(super) async fn push(base: &str, cluster: &str, text: &str) -> Result<(), MetricsError> {
    let url = group_url(base, cluster);
    let failed = |message: String| MetricsError::Push {
        url: base.to_string(),
        message,
    };
    let uri: hyper::Uri = url.parse().map_err(|e| failed(format!("not a URL: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as every client does.
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| failed(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    // The object stores' client serves any HTTPS endpoint; its connect timeout is the push's, so a Pushgateway
    // that drops SYNs fails as fast as one that does not answer.
    let client = crate::tls::object_store_client::<Full<Bytes>>(tls, PUSH_TIMEOUT);
    let request = hyper::Request::put(uri)
        // The classic text format: the Pushgateway parses it (the trailing `# EOF` is a comment there).
        .header(hyper::header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(Full::new(Bytes::from(text.to_string())))
        .map_err(|e| failed(e.to_string()))?;
    let response = tokio::time::timeout(PUSH_TIMEOUT, client.request(request))
        .await
        .map_err(|_| failed(format!("no answer within {}s", PUSH_TIMEOUT.as_secs())))?
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = tokio::time::timeout(PUSH_TIMEOUT, response.into_body().collect())
        .await
        .ok()
        .and_then(Result::ok)
        .map(|body| String::from_utf8_lossy(&body.to_bytes()).trim().to_string())
        .unwrap_or_default();
    Err(failed(format!("{status}: {body}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_names_the_cluster_in_base64() {
        assert_eq!(
            group_url("http://pg:9091/", "prod/eu"),
            "http://pg:9091/metrics/job/snapdoc/cluster@base64/cHJvZC9ldQ"
        );
        assert_eq!(
            group_url("http://pg:9091", ""),
            "http://pg:9091/metrics/job/snapdoc/cluster@base64/="
        );
    }
}
