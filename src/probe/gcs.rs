//! The probe's Google Cloud Storage client: the requests velero-plugin-for-gcp makes through
//! cloud.google.com/go/storage (v1.55.0, the version in the plugin's go.mod at 2cb9bfc32bf159602a230378124396107c9fa145),
//! on the probe's own hyper + rustls transport, signed in with the service-account key of the plugin's credentials
//! file (the OAuth 2.0 JWT bearer flow).
//!
//! The requests, as the plugin's object_store.go makes them (same commit):
//! - ListCommonPrefixes (Velero's IsValid): objects.list of the bucket with the prefix and delimiter `/`, every page
//!   (`GET <api>b/<bucket>/o?delimiter=/&prefix=…&pageToken=…`).
//! - PutObject: the storage Writer's upload to `/upload/storage/v1/b/<bucket>/o` of the API's host, with
//!   `kmsKeyName` when the location sets it. The Go writer sends a 1 KiB object as one multipart upload (object
//!   metadata + bytes); the probe sends `uploadType=media` (the bytes only): the same endpoint and the same
//!   permission (storage.objects.create), without metadata the probe has none of.
//! - GetObject: the storage Reader, which reads over the XML API by default (`GET https://<api host>/<bucket>/<key>`,
//!   http_client.go newRangeReaderXML; JSON reads only with WithJSONReads, which the plugin does not set).
//! - DeleteObject: objects.delete (`DELETE <api>b/<bucket>/o/<key>`).
//!
//! Why not `google-cloud-storage` or `object_store`'s GCS backend: the same reasons as for S3 and Azure
//! (src/probe/s3.rs, azure.rs). The SDK crates bring their own HTTP and auth stacks (reqwest, a second TLS
//! configuration, gRPC for some) for what is five requests and one token exchange here, hide the Date header the skew
//! check reads, and retry on their own; `object_store` folds `notFound`, `forbidden` and a refused token into
//! generic kinds, so a missing bucket, a missing role and a revoked key (three causes, three rules) could not be
//! told apart. The token exchange is an RS256 signature (`ring`, already a dependency through rustls) and one POST.
//!
//! Endpoint: config.storeEndpoint as the Go API client resolves WithEndpoint (google.golang.org/api internal
//! getEndpoint / mergeEndpoints): a value with `://` is the API's base URL verbatim (an emulator's
//! `http://127.0.0.1:9023/storage/v1/`); a bare `host[:port]` (the plugin README's `storage-example.p.googleapis.com`)
//! replaces the host of the default `https://storage.googleapis.com/storage/v1/`; config.universeDomain
//! (without storeEndpoint) makes it `https://storage.<universe>/storage/v1/`.
//!
//! Neither the private key nor the access token is ever logged or put in the result: the client has no Debug, a
//! refused token is reported by the token endpoint's `error` and `error_description` only.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;

use super::agent::Store;
use super::error::ProbeError;
use super::location::{GcpCredentials, GcsLocation};
use super::outcome::{Step, gcs_rule_for_code};
use super::transport::{Answer, Transport, Unanswered, percent_encode as encode};

/// The scope the plugin asks for: `storage.ScopeReadWrite` (object_store.go Init).
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
/// The Go client's default JSON API base (storage v1.55.0, raw storage-gen.go basePath).
const DEFAULT_API: &str = "https://storage.googleapis.com/storage/v1/";
/// How long the signed assertion is good for: golang.org/x/oauth2/jwt's one hour.
const ASSERTION_SECONDS: i64 = 3600;

/// A GCS client for one bucket, with the service account's token fetched once for the run.
pub(crate) struct GcsClient {
    transport: Transport,
    /// The JSON API's base URL, with a trailing slash: `https://storage.googleapis.com/storage/v1/`.
    api: String,
    /// `scheme://host[:port]` of `api`: where uploads (`/upload/storage/v1/…`) and XML reads go.
    origin: String,
    bucket: String,
    kms_key_name: Option<String>,
    signer: Signer,
    /// The access token, or how its exchange failed: asked once, on the first request.
    token: tokio::sync::OnceCell<Result<String, TokenFailure>>,
}

/// The service account's key, ready to sign assertions.
struct Signer {
    email: String,
    key_id: Option<String>,
    token_uri: String,
    key: ring::rsa::KeyPair,
}

/// Why there is no token: the token endpoint's answer (kept to report as the step's answer), or none.
enum TokenFailure {
    Refused(Answer),
    Unanswered(Unanswered),
}

impl GcsClient {
    pub(crate) fn new(
        location: &GcsLocation,
        credentials: &GcpCredentials,
    ) -> Result<Self, ProbeError> {
        let api = api_base(
            location.store_endpoint.as_deref(),
            location.universe_domain.as_deref(),
        )?;
        let uri: http::Uri = api
            .parse()
            .map_err(|e| ProbeError::Config(format!("storeEndpoint {api:?}: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ProbeError::Config(format!(
                "storeEndpoint {api:?} needs http(s):// and a host"
            )));
        };
        let origin = format!("{scheme}://{authority}");
        let der = PrivatePkcs8KeyDer::from_pem_slice(credentials.private_key.as_bytes()).map_err(
            |e| {
                ProbeError::Config(format!(
                    "the credentials file's private_key is not a PEM PKCS#8 key: {e}"
                ))
            },
        )?;
        let key = ring::rsa::KeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|e| {
            ProbeError::Config(format!(
                "the credentials file's private_key is not an RSA key ring accepts: {e}"
            ))
        })?;
        Ok(GcsClient {
            // The plugin reads no caCert: the system's roots only.
            transport: Transport::new(None, false)?,
            api,
            origin,
            bucket: location.bucket.clone(),
            kms_key_name: location.kms_key_name.clone(),
            signer: Signer {
                email: credentials.client_email.clone(),
                key_id: credentials.private_key_id.clone(),
                token_uri: credentials.token_uri.clone(),
                key,
            },
            token: tokio::sync::OnceCell::new(),
        })
    }

    /// For the result: the JSON API's base URL.
    pub(crate) fn endpoint(&self) -> String {
        self.api.clone()
    }

    /// The access token, fetched on the first call; a refusal comes back as the token endpoint's answer.
    async fn token(&self) -> Result<String, Result<Answer, Unanswered>> {
        let outcome = self.token.get_or_init(|| self.fetch_token()).await;
        match outcome {
            Ok(token) => Ok(token.clone()),
            Err(TokenFailure::Refused(answer)) => Err(Ok(answer.clone())),
            Err(TokenFailure::Unanswered(Unanswered::Certificate(c))) => {
                Err(Err(Unanswered::Certificate(c.clone())))
            }
            Err(TokenFailure::Unanswered(Unanswered::Transport(t))) => {
                Err(Err(Unanswered::Transport(t.clone())))
            }
        }
    }

    /// RFC 7523's JWT bearer grant, as golang.org/x/oauth2/jwt makes it for a service-account key: an RS256
    /// assertion (iss the account, aud the token_uri, the plugin's scope) POSTed to the key file's token_uri.
    async fn fetch_token(&self) -> Result<String, TokenFailure> {
        let assertion = self
            .signer
            .assertion(jiff::Timestamp::now().as_second())
            .map_err(|e| TokenFailure::Unanswered(Unanswered::Transport(e)))?;
        let form = format!(
            "grant_type={}&assertion={assertion}",
            encode("urn:ietf:params:oauth:grant-type:jwt-bearer", false)
        );
        let unanswered = |e: String| TokenFailure::Unanswered(Unanswered::Transport(e));
        let request = http::Request::builder()
            .method("POST")
            .uri(self.signer.token_uri.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", form.len().to_string())
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| unanswered(format!("token_uri {}: {e}", self.signer.token_uri)))?;
        let answer = match self.transport.send(request).await {
            Ok(answer) => answer,
            Err(Unanswered::Transport(t)) => {
                return Err(unanswered(format!(
                    "fetching a token from {}: {t}",
                    self.signer.token_uri
                )));
            }
            Err(certificate) => return Err(TokenFailure::Unanswered(certificate)),
        };
        if !answer.is_success() {
            return Err(TokenFailure::Refused(answer));
        }
        serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unanswered(format!(
                    "{} answered HTTP {} without an access_token",
                    self.signer.token_uri, answer.status
                ))
            })
    }

    /// Sends one authorized request to `url`.
    async fn send(
        &self,
        method: &str,
        url: String,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<Answer, Unanswered> {
        let token = match self.token().await {
            Ok(token) => token,
            Err(refusal) => return refusal,
        };
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("authorization", format!("Bearer {token}"))
            .header("content-length", body.len().to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Unanswered::Transport(format!("request {url}: {e}")))?;
        self.transport.send(request).await
    }

    /// `<api>b/<bucket>/o`: the bucket's objects collection.
    fn objects(&self) -> String {
        format!("{}b/{}/o", self.api, encode(&self.bucket, false))
    }
}

impl Signer {
    /// The signed JWT for `now` (seconds): iat ten seconds back, as golang.org/x/oauth2/jws does against skew.
    fn assertion(&self, now: i64) -> Result<String, String> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = serde_json::json!(kid);
        }
        let iat = now - 10;
        let claims = serde_json::json!({
            "iss": self.email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + ASSERTION_SECONDS,
        });
        let signing_input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                "signing the token request with the service-account key failed".to_string()
            })?;
        Ok(format!("{signing_input}.{}", b64.encode(signature)))
    }
}

/// The JSON API's base URL for config.storeEndpoint and config.universeDomain (see the module doc).
fn api_base(
    store_endpoint: Option<&str>,
    universe_domain: Option<&str>,
) -> Result<String, ProbeError> {
    let default = match universe_domain {
        Some(universe) => format!("https://storage.{universe}/storage/v1/"),
        None => DEFAULT_API.to_string(),
    };
    let mut base = match store_endpoint {
        None => default,
        Some(endpoint) if endpoint.contains("://") => endpoint.to_string(),
        Some(host) => {
            if host.contains('/') {
                return Err(ProbeError::Config(format!(
                    "storeEndpoint {host:?}: a host[:port], or a URL with its scheme"
                )));
            }
            let rest = default
                .strip_prefix("https://")
                .and_then(|r| r.split_once('/'))
                .map(|(_, path)| path)
                .unwrap_or_default();
            format!("https://{host}/{rest}")
        }
    };
    // googleapi.ResolveRelative resolves `b/{bucket}/o` against the base: without the slash its last segment
    // would be replaced.
    if !base.ends_with('/') {
        base.push('/');
    }
    Ok(base)
}

impl Store for GcsClient {
    async fn list_page(&self, prefix: &str, marker: Option<&str>) -> Result<Answer, Unanswered> {
        // The query the Go client's Objects.List sends (alt, projection and versions as it sets them).
        let mut url = format!(
            "{}?alt=json&delimiter=%2F&pageToken={}&prefix={}&prettyPrint=false&projection=full&versions=false",
            self.objects(),
            encode(marker.unwrap_or_default(), false),
            encode(prefix, false)
        );
        if marker.is_none() {
            url = url.replace("pageToken=&", "");
        }
        self.send("GET", url, Bytes::new(), None).await
    }

    fn listed(&self, _prefix: &str, body: &[u8]) -> (Vec<String>, Option<String>) {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return (Vec::new(), None);
        };
        let prefixes = json["prefixes"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let next = json["nextPageToken"].as_str().map(str::to_string);
        (prefixes, next)
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<Answer, Unanswered> {
        let mut url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            self.origin,
            encode(&self.bucket, false),
            encode(key, false)
        );
        if let Some(kms) = &self.kms_key_name {
            url.push_str(&format!("&kmsKeyName={}", encode(kms, false)));
        }
        self.send("POST", url, body, Some("application/octet-stream"))
            .await
    }

    /// The XML API's object URL, the key escaped whole as Go's url.PathEscape does (`/` as %2F).
    async fn get(&self, key: &str) -> Result<Answer, Unanswered> {
        let url = format!(
            "{}/{}/{}",
            self.origin,
            encode(&self.bucket, false),
            encode(key, false)
        );
        self.send("GET", url, Bytes::new(), None).await
    }

    /// GCS keeps a deleted object's bytes only in a bucket with object versioning or soft delete, by the
    /// bucket's policy: the plugin deletes the live object, as the probe does.
    async fn delete(&self, key: &str, _version: Option<&str>) -> Result<Answer, Unanswered> {
        let url = format!("{}/{}", self.objects(), encode(key, false));
        self.send("DELETE", url, Bytes::new(), None).await
    }

    /// The JSON API's `error.errors[0].reason` and `error.message` (googleapi's "Error 403: <message>, <reason>"),
    /// the token endpoint's `error` and `error_description`, the XML API's `<Code>`, or, for an answer without a
    /// body, the reason the JSON API gives that status.
    fn error(&self, answer: &Answer) -> Option<(String, String)> {
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&answer.body) {
            let error = &json["error"];
            if let Some(reason) = error["errors"][0]["reason"].as_str() {
                let message = error["message"].as_str().unwrap_or_default();
                return Some((reason.to_string(), message.to_string()));
            }
            if let Some(code) = error.as_str() {
                let description = json["error_description"].as_str().unwrap_or_default();
                return Some((
                    code.to_string(),
                    format!(
                        "the token endpoint ({}) refused the service-account key's assertion: {description}",
                        self.signer.token_uri
                    ),
                ));
            }
        }
        if let Some(parsed) = super::s3::error_code(&answer.body) {
            return Some(parsed);
        }
        if !answer.body.is_empty() {
            return None;
        }
        let reason = match answer.status {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "notFound",
            _ => return None,
        };
        Some((reason.to_string(), String::new()))
    }

    fn rule(&self, step: Step, code: &str) -> Option<&'static str> {
        gcs_rule_for_code(step, code)
    }

    /// An IAM role with storage.objects.create but not storage.objects.list (roles/storage.objectCreator).
    fn listing_denied(&self, code: &str) -> bool {
        code == "forbidden"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_endpoint_resolves_as_the_go_client_s_with_endpoint() {
        assert_eq!(api_base(None, None).unwrap(), DEFAULT_API);
        // The plugin README's example: a host, merged into the default base URL.
        assert_eq!(
            api_base(Some("storage-example.p.googleapis.com"), None).unwrap(),
            "https://storage-example.p.googleapis.com/storage/v1/"
        );
        assert_eq!(
            api_base(Some("http://127.0.0.1:9023/storage/v1"), None).unwrap(),
            "http://127.0.0.1:9023/storage/v1/"
        );
        assert_eq!(
            api_base(None, Some("example-universe.com")).unwrap(),
            "https://storage.example-universe.com/storage/v1/"
        );
        assert!(api_base(Some("host/path"), None).is_err());
    }

    fn answer(status: u16, body: &str) -> Answer {
        let now = jiff::Timestamp::now();
        Answer {
            status,
            date: None,
            local_midpoint: now,
            body: Bytes::from(body.to_string()),
            version_id: None,
            error_code: None,
            elapsed: std::time::Duration::ZERO,
        }
    }

    fn client() -> GcsClient {
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/probe-gcs/registered-key.pem"
        ))
        .unwrap();
        let credentials = GcpCredentials {
            client_email: "velero@p.iam.gserviceaccount.com".into(),
            private_key: pem,
            private_key_id: Some("k1".into()),
            token_uri: "https://oauth2.googleapis.com/token".into(),
        };
        GcsClient::new(
            &GcsLocation {
                bucket: "b".into(),
                ..GcsLocation::default()
            },
            &credentials,
        )
        .unwrap()
    }

    #[test]
    fn reads_the_json_api_s_and_the_token_endpoint_s_errors() {
        let client = client();
        // composed: the JSON API's error layout (googleapi.Error) around the message of SD208's sample
        // (velero-plugin-for-gcp#26), for an upload.
        let denied = r#"{"error":{"code":403,"message":"velero@p.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object.","errors":[{"message":"velero@p.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object.","domain":"global","reason":"forbidden"}]}}"#;
        let (code, message) = client.error(&answer(403, denied)).unwrap();
        assert_eq!(code, "forbidden");
        assert!(message.contains("storage.objects.create"), "{message}");
        assert_eq!(client.rule(Step::Put, &code), Some("SD208"));
        // The body of the token endpoint's refusal in googleapis/google-cloud-python#10004 and
        // kubernetes-sigs/secrets-store-csi-driver#640.
        let refused = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        let (code, message) = client.error(&answer(400, refused)).unwrap();
        assert_eq!(code, "invalid_grant");
        assert!(message.ends_with("Invalid JWT Signature."), "{message}");
        assert_eq!(client.rule(Step::List, &code), Some("SD211"));
        // A 404 without a body (gcp-storage-emulator's for a missing bucket) is the JSON API's notFound.
        let (code, _) = client.error(&answer(404, "")).unwrap();
        assert_eq!(client.rule(Step::List, &code), Some("SD101"));
        // …but on a read it is the object's, not the bucket's.
        assert_eq!(client.rule(Step::Get, &code), None);
    }

    /// Every request as a server sees it: method, path and query, Authorization.
    type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

    /// A server that answers any token request with a token and records every request.
    async fn recording_server() -> (String, Seen) {
        let seen: Seen = Default::default();
        let recorded = seen.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let recorded = recorded.clone();
            async move {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                recorded.lock().unwrap().push((
                    request.method().to_string(),
                    request.uri().to_string(),
                    header("authorization"),
                ));
                if request.uri().path() == "/token" {
                    r#"{"access_token":"tok-1","expires_in":3599,"token_type":"Bearer"}"#
                } else {
                    r#"{"kind":"storage#objects","prefixes":["p/backups/"]}"#
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (origin, seen)
    }

    #[tokio::test]
    async fn one_token_signs_every_request_to_the_plugin_s_urls() {
        let (origin, seen) = recording_server().await;
        let mut client = client();
        client.api = format!("{origin}/storage/v1/");
        client.origin = origin.clone();
        client.signer.token_uri = format!("{origin}/token");
        client.kms_key_name = Some("projects/p/locations/l/keyRings/r/cryptoKeys/k".into());
        let key = "p/backups/snapdoc-probe-1";
        client.list_page("p/", None).await.unwrap();
        client.put(key, Bytes::from_static(b"x")).await.unwrap();
        client.get(key).await.unwrap();
        client.delete(key, None).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        let requests: Vec<(&str, &str)> = seen
            .iter()
            .map(|(method, uri, _)| (method.as_str(), uri.as_str()))
            .collect();
        assert_eq!(
            requests,
            [
                ("POST", "/token"),
                (
                    "GET",
                    "/storage/v1/b/b/o?alt=json&delimiter=%2F&prefix=p%2F&prettyPrint=false&projection=full&versions=false"
                ),
                (
                    "POST",
                    "/upload/storage/v1/b/b/o?uploadType=media&name=p%2Fbackups%2Fsnapdoc-probe-1&kmsKeyName=projects%2Fp%2Flocations%2Fl%2FkeyRings%2Fr%2FcryptoKeys%2Fk"
                ),
                ("GET", "/b/p%2Fbackups%2Fsnapdoc-probe-1"),
                ("DELETE", "/storage/v1/b/b/o/p%2Fbackups%2Fsnapdoc-probe-1"),
            ]
        );
        assert_eq!(seen[0].2, "", "the token request carries no token");
        assert!(
            seen[1..].iter().all(|(_, _, auth)| auth == "Bearer tok-1"),
            "{seen:?}"
        );
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_of_the_plugin_s_scope() {
        let client = client();
        let jwt = client.signer.assertion(1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            (header["alg"].as_str(), header["kid"].as_str()),
            (Some("RS256"), Some("k1"))
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["scope"], SCOPE);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        // Verified with the public half openssl wrote beside the key (tests/fixtures/probe-gcs/README.md).
        let public = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/probe-gcs/registered-public.der"
        ))
        .unwrap();
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            public,
        )
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64.decode(parts[2]).unwrap(),
        )
        .unwrap();
    }
}
