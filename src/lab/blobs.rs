//! The lab's object store: plain HTTP on loopback, answering the "pre-signed" URLs the lab's Velero hands out
//! (X-Amz-* query parameters, checked with the lab's key: a changed path or parameter gets 403), serving the
//! scenario's store/ files gzipped, as Velero keeps them in the bucket.
use std::collections::BTreeMap;
use std::io::Write as _;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::server::{RequestRecord, SharedLab, header_text};
use super::stream;
use super::velero::TARGET_KINDS;

const SIGNATURE: &str = "X-Amz-Signature";

fn signature(key: &str, path: &str, params: &BTreeMap<String, String>) -> String {
    let canonical: Vec<String> = params
        .iter()
        .filter(|(name, _)| name.as_str() != SIGNATURE)
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let mut digest = Sha256::new();
    digest.update(key.as_bytes());
    digest.update(b"\n");
    digest.update(path.as_bytes());
    digest.update(b"\n");
    digest.update(canonical.join("&").as_bytes());
    hex::encode(digest.finalize())
}

/// A URL for `path` (`/<bucket>/<key>`) on `base`, valid `expires_seconds` from `now`.
pub(super) fn presign(
    base: &str,
    key: &str,
    path: &str,
    region: &str,
    now: Timestamp,
    expires_seconds: i64,
) -> String {
    let mut params = BTreeMap::new();
    params.insert(
        "X-Amz-Algorithm".to_string(),
        "AWS4-HMAC-SHA256".to_string(),
    );
    params.insert(
        "X-Amz-Credential".to_string(),
        format!(
            "SNAPDOCLABACCESSKEY/{}/{region}/s3/aws4_request",
            now.strftime("%Y%m%d")
        ),
    );
    params.insert(
        "X-Amz-Date".to_string(),
        now.strftime("%Y%m%dT%H%M%SZ").to_string(),
    );
    params.insert("X-Amz-Expires".to_string(), expires_seconds.to_string());
    params.insert("X-Amz-SignedHeaders".to_string(), "host".to_string());
    let signed = signature(key, path, &params);
    params.insert(SIGNATURE.to_string(), signed);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    format!("{base}{path}?{query}")
}

fn s3_error(status: StatusCode, code: &str, message: &str, key: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><Key>{key}</Key><RequestId>snapdoc-lab</RequestId></Error>"
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// The scenario store path of a bucket key `.../<backups|restores>/<name>/<velero file name>`.
pub(super) fn scenario_path_of_key(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let [.., folder, name, file] = parts.as_slice() else {
        return None;
    };
    TARGET_KINDS
        .iter()
        .find(|target| target.folder == *folder && target.bucket_file.replace("{}", name) == *file)
        .map(|target| format!("{folder}/{name}/{}", target.scenario_file))
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// The axum entry point of the object store listener.
pub(super) async fn handle(State(lab): State<SharedLab>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let response = answer(&lab, &path, &query);
    let accept = header_text(request.headers(), axum::http::header::ACCEPT);
    lab.record(RequestRecord {
        method: request.method().to_string(),
        path,
        query,
        accept,
        status: response.status().as_u16(),
        impersonation: Vec::new(),
    });
    response
}

fn answer(lab: &SharedLab, path: &str, query: &str) -> Response {
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let key = path.trim_start_matches('/');
    let Some(given) = params.get(SIGNATURE) else {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied", key);
    };
    if *given != signature(&lab.signing_key, path, &params) {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            key,
        );
    }
    let issued = params
        .get("X-Amz-Date")
        .and_then(|date| jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", date).ok())
        .and_then(|date| jiff::tz::Offset::UTC.to_timestamp(date).ok());
    let lifetime: i64 = params
        .get("X-Amz-Expires")
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or(0);
    let expired =
        issued.is_none_or(|issued| Timestamp::now().duration_since(issued).as_secs() > lifetime);
    if expired {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
            key,
        );
    }
    let store_path = scenario_path_of_key(key);
    let body = match store_path.as_ref().map(|path| (path, lab.store.get(path))) {
        Some((_, Some(text))) => axum::body::Body::from(gzip(text)),
        Some((path, None)) if lab.store_files.contains_key(path) => {
            let file = lab.store_files[path].clone();
            let shift = if path.ends_with(".log") {
                lab.shift
            } else {
                jiff::SignedDuration::ZERO
            };
            axum::body::Body::from_stream(stream::produced_by(move |send| {
                stream::send_gzipped(&file, shift, send)
            }))
        }
        _ => {
            return s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                key,
            );
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_back_to_scenario_files() {
        assert_eq!(
            scenario_path_of_key("velero/prefix/backups/daily-1/daily-1-logs.gz").as_deref(),
            Some("backups/daily-1/backup.log")
        );
        assert_eq!(
            scenario_path_of_key("velero/restores/r1/restore-r1-results.gz").as_deref(),
            Some("restores/r1/results.json")
        );
        assert_eq!(scenario_path_of_key("velero/backups/b/other.gz"), None);
    }

    #[test]
    fn signatures_cover_path_and_parameters() {
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let url = presign(
            "http://127.0.0.1:1",
            "k",
            "/velero/backups/b/b-logs.gz",
            "us-east-1",
            now,
            600,
        );
        let parsed = url::Url::parse(&url).unwrap();
        let params: BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
        assert_eq!(params[SIGNATURE], signature("k", parsed.path(), &params));
        assert_ne!(
            params[SIGNATURE],
            signature("k", "/velero/backups/c/c-logs.gz", &params)
        );
        assert_ne!(
            params[SIGNATURE],
            signature("other", parsed.path(), &params)
        );
    }
}
