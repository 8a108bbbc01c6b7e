//! TLS as Velero's object store clients do it, and the HTTP client over it, shared by the clients snapdoc
//! opens to object stores (the download URLs of DownloadRequests, the storage probe).
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// A location's `insecureSkipTLSVerify`: any certificate is accepted, its signatures still checked (what Go's
/// `InsecureSkipVerify` does).
#[derive(Debug)]
pub(crate) struct SkipVerify(Arc<rustls::crypto::CryptoProvider>);

impl SkipVerify {
    pub(crate) fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> SkipVerify {
        SkipVerify(provider)
    }
}

impl rustls::client::danger::ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// An HTTP/1 client over `config` that also speaks plain `http://` (S3-compatible stores inside a cluster often
/// do), giving up a connection after `connect_timeout`: the object store clients of collect and the probe, and
/// the Pushgateway push of `check`.
pub(crate) fn object_store_client<B>(
    config: rustls::ClientConfig,
    connect_timeout: std::time::Duration,
) -> hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    B,
>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector)
}
