//! Before anything is written: can the API server be reached with these credentials, and do the backups and
//! restores named by `--backup` / `--restore` exist? A collection that cannot reach the cluster would write a
//! bundle of collector errors that reads as "nothing is wrong"; a backup name mistyped would wait for Velero
//! and drop every other backup's log. Both stop here, naming the server or the nearest names.
use std::time::Duration;

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::Value;

use super::CollectError;
use super::CollectOptions;
use super::detect::items;

/// The API server answers `/version` at once; longer means it is not there. A shorter `--request-timeout`
/// shortens it (kube-rs's own read timeout, 295 s, would otherwise let a server that accepts and never
/// answers hold the run for five minutes).
pub(super) const REACH_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `/version` may take: [`REACH_TIMEOUT`], or `--request-timeout` when shorter.
pub(super) fn reach_timeout(options: &CollectOptions) -> Duration {
    options
        .cluster
        .connection
        .request_timeout
        .map_or(REACH_TIMEOUT, |flag| flag.min(REACH_TIMEOUT))
}
/// Names offered for a name not found.
const NEAREST: usize = 3;

/// Fails unless `/version` answers: unreachable (refused, DNS, TLS, timeout) or 401 are errors naming
/// `server`. Any other answer (even 403) means the server is there and took the credentials.
pub(super) async fn reach(
    client: &kube::Client,
    server: &str,
    timeout: Duration,
) -> Result<(), CollectError> {
    let server = server.to_string();
    let no_answer = |server| CollectError::NoAnswer {
        server,
        millis: timeout.as_millis() as u64,
    };
    match get(client, "/version", timeout).await {
        Ok(_) => Ok(()),
        // kube-rs's read timeout (the same --request-timeout) may fire first: still no answer.
        Err(Failure::Transport(source)) if timed_out(&source) => Err(no_answer(server)),
        Err(Failure::Transport(source)) => Err(CollectError::Unreachable { server, source }),
        Err(Failure::TimedOut) => Err(no_answer(server)),
        Err(Failure::Status(StatusCode::UNAUTHORIZED, body)) => Err(CollectError::Unauthorized {
            server,
            message: status_message(&body),
        }),
        Err(Failure::Status(..)) => Ok(()),
    }
}

/// Fails when a backup given by `--backup` or a restore given by `--restore` does not exist in Velero's
/// namespace (`--velero-namespace`) or in any namespace. A list that cannot be read (refused, Velero's API
/// not served) is left for the collection to record.
pub(super) async fn named_objects_exist(
    client: &kube::Client,
    options: &CollectOptions,
) -> Result<(), CollectError> {
    let namespace = options.cluster.velero_namespace.as_deref();
    for (kind, plural, wanted) in [
        ("backup", "backups", &options.backups),
        ("restore", "restores", &options.restores),
    ] {
        if wanted.is_empty() {
            continue;
        }
        let path = match namespace {
            Some(ns) => format!("/apis/velero.io/v1/namespaces/{ns}/{plural}"),
            None => format!("/apis/velero.io/v1/{plural}"),
        };
        let Ok(list) = get(client, &path, reach_timeout(options)).await else {
            continue;
        };
        let existing: Vec<&str> = items(&list)
            .iter()
            .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
            .collect();
        if let Some(missing) = wanted
            .iter()
            .find(|name| !existing.contains(&name.as_str()))
        {
            return Err(CollectError::NotFound {
                kind,
                name: missing.clone(),
                place: namespace.map_or_else(
                    || "in any namespace".to_string(),
                    |ns| format!("in namespace {ns}"),
                ),
                nearest: nearest(missing, &existing),
            });
        }
    }
    Ok(())
}

/// `; the nearest: a, b, c` (by edit distance), or `; there are none` when the list is empty.
fn nearest(name: &str, existing: &[&str]) -> String {
    if existing.is_empty() {
        return "; there are none".to_string();
    }
    let mut ranked: Vec<(usize, &str)> = existing
        .iter()
        .map(|candidate| (strsim::levenshtein(name, candidate), *candidate))
        .collect();
    ranked.sort();
    let names: Vec<&str> = ranked.iter().take(NEAREST).map(|(_, n)| *n).collect();
    format!("; the nearest: {}", names.join(", "))
}

enum Failure {
    Transport(kube::Error),
    TimedOut,
    Status(StatusCode, Vec<u8>),
}

/// Whether a transport error is a read or connect timeout (an error of kind `TimedOut` among its causes).
fn timed_out(error: &kube::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// One GET without retries: the question is whether the server answers at all.
async fn get(client: &kube::Client, path: &str, timeout: Duration) -> Result<Value, Failure> {
    let request = Request::get(path)
        .header(http::header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("a GET of a path is a valid request");
    let response = tokio::time::timeout(timeout, client.send(request))
        .await
        .map_err(|_| Failure::TimedOut)?
        .map_err(Failure::Transport)?;
    let status = response.status();
    let body = tokio::time::timeout(timeout, response.into_body().collect())
        .await
        .map_err(|_| Failure::TimedOut)?
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    if !status.is_success() {
        return Err(Failure::Status(status, body));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A Kubernetes Status's `message`, else the body as text (bounded).
fn status_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|status| status["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_request_timeout_shortens_the_reach_timeout_never_a_longer_one() {
        let mut options = CollectOptions::default();
        assert_eq!(reach_timeout(&options), Duration::from_secs(20));
        options.cluster.connection.request_timeout = Some(Duration::from_secs(1));
        assert_eq!(reach_timeout(&options), Duration::from_secs(1));
        options.cluster.connection.request_timeout = Some(Duration::from_secs(600));
        assert_eq!(reach_timeout(&options), REACH_TIMEOUT);
    }

    #[test]
    fn nearest_names_come_by_edit_distance() {
        let existing = [
            "instance-7fq2x",
            "instance-q8rbx",
            "daily-20261124",
            "weekly",
        ];
        assert_eq!(
            nearest("instance-7fq2y", &existing),
            "; the nearest: instance-7fq2x, instance-q8rbx, weekly"
        );
        assert_eq!(nearest("x", &[]), "; there are none");
    }
}
