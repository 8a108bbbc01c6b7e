//! pods/log: the scenario's container logs with the kubelet's options (container, previous, sinceSeconds,
//! sinceTime, tailLines, timestamps, limitBytes, follow) and the dropped-stream fault.
use std::collections::HashMap;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::Value;

use super::server::{LogSource, SharedLab, format_time};
use super::status::ApiError;
use super::stream::{self, ChunkSink, LogReader, StreamedLog};
use super::timeshift::{log_line_time, parse_rfc3339};
use crate::bundle::Bundle;

/// Go's `%v` of a string slice: `[a b]`.
fn go_list(names: &[String]) -> String {
    format!("[{}]", names.join(" "))
}

fn names_at(pod: &Value, key: &str) -> Vec<String> {
    pod["spec"][key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| container["name"].as_str().map(str::to_string))
        .collect()
}

pub(super) async fn pod_log(
    lab: &SharedLab,
    namespace: &str,
    pod_name: &str,
    params: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let pods = lab
        .registry
        .find("", "v1", "pods")
        .ok_or_else(ApiError::no_such_path)?;
    let pod = lab
        .state
        .lock()
        .map_err(|_| ApiError::internal("the lab's state is unavailable"))?
        .get("pods", namespace, pod_name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(pods, pod_name))?;
    let containers = names_at(&pod, "containers");
    let init_containers = names_at(&pod, "initContainers");
    let container = match params.get("container").filter(|c| !c.is_empty()) {
        Some(container) => container.clone(),
        None if containers.len() == 1 && init_containers.is_empty() => containers[0].clone(),
        None => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: {}",
                go_list(&containers)
            );
            if !init_containers.is_empty() {
                message.push_str(&format!(
                    " or one of the init containers: {}",
                    go_list(&init_containers)
                ));
            }
            return Err(ApiError::bad_request(message));
        }
    };
    let all_names = [
        containers.clone(),
        init_containers,
        names_at(&pod, "ephemeralContainers"),
    ]
    .concat();
    if !all_names.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {pod_name}"
        )));
    }
    let previous = params
        .get("previous")
        .is_some_and(|value| value == "true" || value == "1");
    let key = (
        namespace.to_string(),
        pod_name.to_string(),
        container.clone(),
        previous,
    );
    let produced = lab
        .produced_logs
        .lock()
        .ok()
        .and_then(|logs| logs.get(&key).cloned());
    let source = match lab.logs.get(&key) {
        Some(source) => Some(source),
        None if produced.is_some() => None,
        None if previous => {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
        None => {
            if let Some(reason) = waiting_reason(&pod, &container) {
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
                )));
            }
            None
        }
    };
    let options = LogOptions::from_params(params)?;
    let fallback_time = container_started(&pod, &container).unwrap_or(lab.started);
    let dropped = lab
        .faults
        .dropped_log_streams
        .iter()
        .find(|drop| drop.applies_to(namespace, pod_name, &container));
    let follow = params
        .get("follow")
        .is_some_and(|value| value == "true" || value == "1");
    let streamed = match source {
        Some(LogSource::File(path)) => Some(Streamed::File(path.clone())),
        Some(LogSource::BundleEntry(entry)) => {
            Some(Streamed::BundleEntry(lab.clone(), entry.clone()))
        }
        Some(LogSource::Text(_)) | None => None,
    };
    if let Some(streamed) = streamed {
        let shift = lab.shift;
        let cut_after = dropped.map(|drop| drop.after_bytes);
        let sent = stream::produced_by(move |send| {
            let log = StreamedLog {
                options: &options,
                fallback: fallback_time,
                now: Timestamp::now(),
                shift,
                cut_after,
            };
            streamed.send(&log, send)
        });
        let body = if follow && cut_after.is_none() {
            Body::from_stream(futures::StreamExt::chain(sent, held_open(lab)))
        } else {
            Body::from_stream(sent)
        };
        return Ok(text_response(body));
    }
    let text = match source {
        Some(LogSource::Text(text)) => text.as_str(),
        _ => produced.as_deref().unwrap_or_default(),
    };
    let mut output = options.apply(text, fallback_time, Timestamp::now());
    let body = match dropped {
        Some(drop) if (output.len() as u64) > drop.after_bytes => {
            output.truncate(drop.after_bytes as usize);
            let cut = std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "the lab cut this log stream (droppedLogStreams)",
            );
            let first =
                futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(output))]);
            // The cut comes a moment after the first bytes, so they reach the client before the connection dies.
            let then_cut = futures::stream::once(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Err::<bytes::Bytes, _>(cut)
            });
            Body::from_stream(futures::StreamExt::chain(first, then_cut))
        }
        _ if follow => {
            let first =
                futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(output))]);
            Body::from_stream(futures::StreamExt::chain(first, held_open(lab)))
        }
        _ => Body::from(output),
    };
    Ok(text_response(body))
}

/// A log streamed on a blocking thread rather than held in memory.
enum Streamed {
    File(PathBuf),
    /// An entry of the lab's bundle.
    BundleEntry(SharedLab, String),
}

impl Streamed {
    fn send(&self, log: &StreamedLog, send: ChunkSink<'_>) -> std::io::Result<()> {
        match self {
            Streamed::File(path) => log.send(&mut path.as_path(), send),
            Streamed::BundleEntry(lab, entry) => {
                let shared = lab
                    .bundle
                    .as_ref()
                    .ok_or_else(|| std::io::Error::other("the lab serves no bundle"))?;
                let guard = shared
                    .lock()
                    .map_err(|_| std::io::Error::other("the bundle is unavailable"))?;
                // A zip or directory can be read by a second reader: the lock is let go, and other logs
                // are served while this one streams. A foreign archive has one reader, held meanwhile.
                let (mut held, mut reopened);
                let bundle: &mut Bundle = match guard.reopen().and_then(Result::ok) {
                    Some(bundle) => {
                        drop(guard);
                        reopened = bundle;
                        &mut reopened
                    }
                    None => {
                        held = guard;
                        &mut held
                    }
                };
                log.send(&mut BundleLog { bundle, entry }, send)
            }
        }
    }
}

struct BundleLog<'a> {
    bundle: &'a mut Bundle,
    entry: &'a str,
}

impl LogReader for BundleLog<'_> {
    fn open(&mut self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        self.bundle
            .open_entry(self.entry)
            .map_err(std::io::Error::other)
    }
}

/// The end of a followed log: it stays open, as the kubelet's does, until the client leaves or the lab stops.
fn held_open(
    lab: &SharedLab,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    let mut shutdown = lab.shutdown.clone();
    futures::stream::once(async move {
        let _ = shutdown.changed().await;
        Ok::<_, std::io::Error>(bytes::Bytes::new())
    })
}

fn text_response(body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|key| pod["status"][key].as_array())
        .flatten()
        .find(|status| status["name"] == container)
}

fn waiting_reason(pod: &Value, container: &str) -> Option<String> {
    let status = container_status(pod, container)?;
    let waiting = status["state"].get("waiting")?;
    Some(
        waiting["reason"]
            .as_str()
            .unwrap_or("ContainerCreating")
            .to_string(),
    )
}

fn container_started(pod: &Value, container: &str) -> Option<Timestamp> {
    let status = container_status(pod, container)?;
    let started = status["state"]["running"]["startedAt"]
        .as_str()
        .or_else(|| pod["status"]["startTime"].as_str())?;
    parse_rfc3339(started)
}

/// The kubelet's log options.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct LogOptions {
    pub tail_lines: Option<usize>,
    pub since: Option<SinceFilter>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum SinceFilter {
    Seconds(i64),
    Time(Timestamp),
}

impl SinceFilter {
    /// The time from which lines are kept.
    pub(super) fn cutoff(&self, now: Timestamp) -> Timestamp {
        match self {
            SinceFilter::Seconds(seconds) => now
                .checked_sub(jiff::SignedDuration::from_secs(*seconds))
                .unwrap_or(now),
            SinceFilter::Time(time) => *time,
        }
    }
}

impl LogOptions {
    pub(super) fn from_params(params: &HashMap<String, String>) -> Result<LogOptions, ApiError> {
        fn number<T: std::str::FromStr>(
            params: &HashMap<String, String>,
            key: &str,
        ) -> Result<Option<T>, ApiError> {
            params
                .get(key)
                .filter(|text| !text.is_empty())
                .map(|text| {
                    text.parse::<T>().map_err(|_| {
                        ApiError::bad_request(format!("invalid value {text:?} for {key}"))
                    })
                })
                .transpose()
        }
        let since_seconds: Option<i64> = number(params, "sinceSeconds")?;
        if since_seconds.is_some_and(|seconds| seconds < 1) {
            return Err(ApiError::bad_request(
                "PodLogOptions \"\" is invalid: sinceSeconds: Invalid value: must be greater than 0",
            ));
        }
        let since_time = params
            .get("sinceTime")
            .filter(|text| !text.is_empty())
            .map(|text| {
                parse_rfc3339(text)
                    .ok_or_else(|| ApiError::bad_request(format!("invalid sinceTime {text:?}")))
            })
            .transpose()?;
        let since = match (since_seconds, since_time) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "PodLogOptions \"\" is invalid: sinceSeconds: Forbidden: at most one of sinceTime or sinceSeconds may be specified",
                ));
            }
            (Some(seconds), None) => Some(SinceFilter::Seconds(seconds)),
            (None, Some(time)) => Some(SinceFilter::Time(time)),
            (None, None) => None,
        };
        let tail_lines: Option<i64> = number(params, "tailLines")?;
        let limit_bytes: Option<i64> = number(params, "limitBytes")?;
        if limit_bytes.is_some_and(|limit| limit < 1) {
            return Err(ApiError::bad_request(
                "PodLogOptions \"\" is invalid: limitBytes: Invalid value: must be greater than 0",
            ));
        }
        Ok(LogOptions {
            tail_lines: tail_lines.map(|n| n.max(0) as usize),
            since,
            timestamps: params
                .get("timestamps")
                .is_some_and(|value| value == "true" || value == "1"),
            limit_bytes: limit_bytes.map(|n| n as usize),
        })
    }

    /// The log text after the options; a line without its own time has the time of the line before it
    /// (`fallback` for the first lines).
    pub(super) fn apply(&self, text: &str, fallback: Timestamp, now: Timestamp) -> String {
        let mut current = fallback;
        let mut lines: Vec<(Timestamp, &str)> = Vec::new();
        for line in text.split_inclusive('\n') {
            if let Some(time) = log_line_time(line) {
                current = time;
            }
            lines.push((current, line));
        }
        if let Some(since) = &self.since {
            let cutoff = since.cutoff(now);
            lines.retain(|(time, _)| *time >= cutoff);
        }
        if let Some(tail) = self.tail_lines {
            let skip = lines.len().saturating_sub(tail);
            lines.drain(..skip);
        }
        let mut output = String::new();
        for (time, line) in lines {
            if self.timestamps {
                output.push_str(&format_nano(time));
                output.push(' ');
            }
            output.push_str(line);
        }
        if let Some(limit) = self.limit_bytes
            && output.len() > limit
        {
            let mut cut = limit;
            while !output.is_char_boundary(cut) {
                cut -= 1;
            }
            output.truncate(cut);
        }
        output
    }
}

/// RFC 3339 with nine fractional digits, as the kubelet prefixes lines with `timestamps=true`.
pub(super) fn format_nano(time: Timestamp) -> String {
    let whole = format_time(time);
    format!(
        "{}.{:09}Z",
        whole.trim_end_matches('Z'),
        time.subsec_nanosecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "time=\"2026-11-25T10:00:00Z\" level=info msg=one\ncontinued\ntime=\"2026-11-25T11:00:00Z\" level=info msg=two\ntime=\"2026-11-25T11:59:00Z\" level=error msg=three\n";

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn tail_since_limit_and_timestamps() {
        let now = at("2026-11-25T12:00:00Z");
        let fallback = at("2026-11-25T09:00:00Z");
        let tail = LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        };
        assert_eq!(tail.apply(LOG, fallback, now).lines().count(), 2);
        let since = LogOptions {
            since: Some(SinceFilter::Seconds(3600)),
            ..Default::default()
        };
        assert_eq!(
            since.apply(LOG, fallback, now),
            "time=\"2026-11-25T11:00:00Z\" level=info msg=two\ntime=\"2026-11-25T11:59:00Z\" level=error msg=three\n"
        );
        let limit = LogOptions {
            limit_bytes: Some(10),
            ..Default::default()
        };
        assert_eq!(limit.apply(LOG, fallback, now), "time=\"2026");
        let stamped = LogOptions {
            timestamps: true,
            tail_lines: Some(3),
            ..Default::default()
        };
        let out = stamped.apply(LOG, fallback, now);
        assert!(
            out.starts_with("2026-11-25T10:00:00.000000000Z continued\n"),
            "{out}"
        );
    }
}
