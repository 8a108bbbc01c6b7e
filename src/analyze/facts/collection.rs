//! `facts.collection`: what the collector could not read, one object per collector error in the bundle's
//! manifest, so rules can say which checks a bundle could not support (a role that may not list Backups leaves
//! every backup rule silent, which must not read as "healthy").
use serde_json::{Value, json};

use crate::bundle::manifest::CollectorError;

/// HTTP statuses that mean "not allowed", as opposed to "not there" or "failed".
const REFUSED_STATUSES: [u16; 2] = [401, 403];

/// One object per collector error: `source`, `target`, `namespace`, `status`, `message` as recorded; `name` (the
/// target, else the source) names it in evidence; `refused` is true when the API server refused the request
/// (401 / 403) or the collector did not try because an earlier request of the same kind was refused.
pub(crate) fn collection_facts(errors: &[CollectorError]) -> Vec<Value> {
    errors
        .iter()
        .map(|error| {
            let refused = error
                .status
                .is_some_and(|status| REFUSED_STATUSES.contains(&status))
                || (error.status.is_none() && error.message.contains("forbidden"));
            json!({
                "name": error.target.as_deref().unwrap_or(&error.source),
                "source": error.source,
                "target": error.target,
                "namespace": error.namespace,
                "status": error.status,
                "message": error.message,
                "refused": refused,
            })
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
        let facts = collection_facts(&[
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
        ]);
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
}
