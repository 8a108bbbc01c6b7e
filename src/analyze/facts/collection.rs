//! `facts.collection`: what the collector could not read, one object per collector error in the bundle's
//! manifest, so rules can say which checks a bundle could not support (a role that may not list Backups leaves
//! every backup rule silent, which must not read as "healthy").
use serde_json::{Value, json};

use crate::bundle::manifest::CollectorError;

/// HTTP statuses that mean "not allowed", as opposed to "not there" or "failed".
const REFUSED_STATUSES: [u16; 2] = [401, 403];

/// One object per collector error: `source`, `target`, `namespace`, `status`, `message` as recorded; `name` (the
/// target, else the source) names it in evidence; `refused` is true when the API server refused the request
/// (401 / 403) or the collector did not try because an earlier request of the same kind was refused. A download
/// whose signed URL this machine did not reach (`urls`, the manifest's `scope.downloads.urls`) also has `url`
/// (its query redacted), `endpoint` and `reach` (dns, connect, tls, timeout) and `why`.
pub(crate) fn collection_facts(errors: &[CollectorError], urls: &[Value]) -> Vec<Value> {
    errors
        .iter()
        .map(|error| {
            let unreached = (error.source == "downloads")
                .then(|| {
                    urls.iter().find(|u| {
                        u["reached"] == false && u["target"].as_str() == error.target.as_deref()
                    })
                })
                .flatten();
            let refused = error
                .status
                .is_some_and(|status| REFUSED_STATUSES.contains(&status))
                || (error.status.is_none() && error.message.contains("forbidden"));
            let mut fact = json!({
                "name": error.target.as_deref().unwrap_or(&error.source),
                "source": error.source,
                "target": error.target,
                "namespace": error.namespace,
                "status": error.status,
                "message": error.message,
                "refused": refused,
            });
            if let Some(url) = unreached {
                for field in ["url", "endpoint", "reach", "why"] {
                    fact[field] = url[field].clone();
                }
            }
            fact
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(
        source: &str,
        target: Option<&str>,
        status: Option<u16>,
        message: &str,
    ) -> CollectorError {
        CollectorError {
            source: source.into(),
            target: target.map(str::to_string),
            namespace: Some("velero".into()),
            status,
            message: message.into(),
        }
    }

    #[test]
    fn refusals_are_told_apart_from_failures() {
        let facts = collection_facts(
            &[
                error(
                    "velero-objects",
                    Some("backups.velero.io"),
                    Some(403),
                    "backups.velero.io is forbidden",
                ),
                error(
                    "downloads",
                    Some("3 more backup/restore logs and results"),
                    None,
                    "not tried: creating DownloadRequests is forbidden",
                ),
                error(
                    "downloads",
                    Some("BackupLog b1"),
                    Some(404),
                    "the object store answered 404 Not Found",
                ),
                error("logs", None, None, "stream reset"),
            ],
            &[],
        );
        let refused: Vec<bool> = facts
            .iter()
            .map(|f| f["refused"].as_bool().unwrap())
            .collect();
        assert_eq!(refused, [true, true, false, false]);
        assert_eq!(facts[0]["name"], "backups.velero.io");
        assert_eq!(facts[0]["status"], 403);
        assert_eq!(facts[0]["namespace"], "velero");
        assert_eq!(facts[3]["name"], "logs", "no target: named by its source");
        assert_eq!(facts[3]["status"], Value::Null);
    }

    #[test]
    fn a_download_not_reached_carries_its_url_s_reach() {
        let message = "the signed URL http://minio.minio:9000/velero/backups/b1/b1-logs.gz?<signed query redacted> \
                       is not reachable from here: minio.minio does not resolve here (dns error: failed to lookup \
                       address information: Name or service not known)";
        let urls = [
            json!({"target": "BackupLog b1", "url": "http://minio.minio:9000/velero/backups/b1/b1-logs.gz?<signed query redacted>",
                   "endpoint": "http://minio.minio:9000", "reached": false, "reach": "dns",
                   "why": "minio.minio does not resolve here (dns error: failed to lookup address information: Name or service not known)"}),
            json!({"target": "BackupLog b2", "url": "http://minio.minio:9000/velero/backups/b2/b2-logs.gz",
                   "endpoint": "http://minio.minio:9000", "reached": true, "reach": "answered", "status": 200}),
        ];
        let facts = collection_facts(
            &[
                error("downloads", Some("BackupLog b1"), None, message),
                error("logs", Some("BackupLog b1"), None, "stream reset"),
            ],
            &urls,
        );
        assert_eq!(facts[0]["endpoint"], "http://minio.minio:9000");
        assert_eq!(facts[0]["reach"], "dns");
        assert!(
            facts[0]["url"]
                .as_str()
                .unwrap()
                .ends_with("?<signed query redacted>")
        );
        assert_eq!(
            facts[1]["reach"],
            Value::Null,
            "only downloads join their URL"
        );
    }
}
