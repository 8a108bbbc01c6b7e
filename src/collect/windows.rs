//! The time windows of failed backups and restores, whose log lines are kept even when `--max-log-bytes` or
//! `--since` would cut them: on a busy cluster the tail of the server's log is the last hour, and a backup that
//! failed last night would be diagnosed from nothing.
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// Lines this long before a backup started and after it ended still belong to it (the BSL validation before,
/// the item operations and the uploads finishing after).
pub(super) const SLACK: SignedDuration = SignedDuration::from_secs(5 * 60);

/// How much of a line's start is read for its time (and held until its route is decided).
pub(super) const MAX_LINE_HEAD: usize = 160;

/// One window: the backup or restore it is for, and its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Window {
    /// `backup/<name>` or `restore/<name>`.
    pub(super) target: String,
    pub(super) from: Timestamp,
    pub(super) to: Timestamp,
}

/// The windows of every failed backup and restore chosen, sorted by start.
#[derive(Debug, Clone, Default)]
pub(super) struct LogWindows {
    windows: Vec<Window>,
}

impl LogWindows {
    /// `[start − SLACK, completion + SLACK]` of each Failed / PartiallyFailed object among `objects` whose name
    /// is in `chosen` (`kind`: backup | restore); one without a completion runs to `now`.
    pub(super) fn add(&mut self, kind: &str, objects: &[Value], chosen: &[String], now: Timestamp) {
        for object in objects {
            let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) else {
                continue;
            };
            let failed = matches!(
                object.pointer("/status/phase").and_then(Value::as_str),
                Some("Failed" | "PartiallyFailed")
            );
            if !failed || !chosen.iter().any(|c| c == name) {
                continue;
            }
            let time = |field: &str| {
                object
                    .pointer(field)
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<Timestamp>().ok())
            };
            let Some(start) =
                time("/status/startTimestamp").or_else(|| time("/metadata/creationTimestamp"))
            else {
                continue;
            };
            let end = time("/status/completionTimestamp")
                .unwrap_or(now)
                .max(start);
            let (Ok(from), Ok(to)) = (start.checked_sub(SLACK), end.checked_add(SLACK)) else {
                continue;
            };
            self.windows.push(Window {
                target: format!("{kind}/{name}"),
                from,
                to,
            });
        }
        self.windows.sort_by_key(|w| (w.from, w.to));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether a line written at `time` falls in a window.
    pub(super) fn contains(&self, time: Timestamp) -> bool {
        self.windows
            .iter()
            .take_while(|w| w.from <= time)
            .any(|w| time <= w.to)
    }

    /// The start of the earliest window.
    pub(super) fn earliest(&self) -> Option<Timestamp> {
        self.windows.first().map(|w| w.from)
    }

    /// For the manifest's scope.
    pub(super) fn to_json(&self) -> Value {
        Value::Array(
            self.windows
                .iter()
                .map(|w| json!({"target": w.target, "from": w.from.to_string(), "to": w.to.to_string()}))
                .collect(),
        )
    }
}

/// The times of log lines, the last stamp remembered: a log writes many lines a second, and the same stamp
/// text is parsed once.
#[derive(Debug, Default)]
pub(super) struct LineTimes {
    last: Option<(Vec<u8>, Timestamp)>,
}

impl LineTimes {
    /// The first RFC 3339 time in the head of a log line: logrus' `time="…"` (Velero, its node agent, restic), a
    /// JSON log's `"time":"…"` / `"ts":"…"`, or a leading stamp. A line without one is `None` and goes with the
    /// line before it (a Go panic's stack, a multi-line message).
    pub(super) fn time_of(&mut self, head: &[u8]) -> Option<Timestamp> {
        let (start, end) = stamp_span(head)?;
        let stamp = &head[start..end];
        if let Some((text, time)) = &self.last
            && text.as_slice() == stamp
        {
            return Some(*time);
        }
        let time = parse_stamp(stamp)?;
        self.last = Some((stamp.to_vec(), time));
        Some(time)
    }
}

/// "YYYY-MM-DDTHH:MM:SS": digits and separators at fixed places.
const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";

/// Where the first stamp of the head's first [`MAX_LINE_HEAD`] bytes is, to the first character no RFC 3339
/// time holds.
fn stamp_span(head: &[u8]) -> Option<(usize, usize)> {
    let head = &head[..head.len().min(MAX_LINE_HEAD)];
    let fits = |at: usize| {
        SHAPE
            .iter()
            .enumerate()
            .all(|(i, want)| match head.get(at + i) {
                Some(b) if *want == b'd' => b.is_ascii_digit(),
                Some(b) => b == want,
                None => false,
            })
    };
    let start = (0..head.len().saturating_sub(SHAPE.len() - 1)).find(|&at| fits(at))?;
    let end = head[start..]
        .iter()
        .position(|b| !(b.is_ascii_digit() || b".:-+TZ".contains(b)))
        .map_or(head.len(), |n| start + n);
    Some((start, end))
}

fn parse_stamp(stamp: &[u8]) -> Option<Timestamp> {
    let text = std::str::from_utf8(stamp).ok()?;
    text.parse::<Timestamp>().ok().or_else(|| {
        // A stamp without a zone (klog's, kubectl's --timestamps without Z) is taken as UTC.
        format!("{}Z", &text[..SHAPE.len()])
            .parse::<Timestamp>()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_time(head: &[u8]) -> Option<Timestamp> {
        LineTimes::default().time_of(head)
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn line_times_of_the_formats_velero_and_kots_write() {
        // pkg/cmd/server: logrus TextFormatter, and --log-format=json.
        let logrus = br#"time="2026-11-24T02:14:30Z" level=error msg="Error backing up item" backup=velero/b"#;
        assert_eq!(line_time(logrus), Some(at("2026-11-24T02:14:30Z")));
        let json =
            br#"{"level":"info","msg":"Backup completed","time":"2026-11-24T02:14:37.123+01:00"}"#;
        assert_eq!(line_time(json), Some(at("2026-11-24T01:14:37.123Z")));
        let leading = b"2026-11-24T02:00:00.000Z\tINFO\tsnapshot started";
        assert_eq!(line_time(leading), Some(at("2026-11-24T02:00:00Z")));
        let zoneless = b"2026-11-24T02:00:00 starting";
        assert_eq!(line_time(zoneless), Some(at("2026-11-24T02:00:00Z")));
        assert_eq!(line_time(b"goroutine 1 [running]:"), None);
        assert_eq!(line_time(b""), None);
    }

    #[test]
    fn windows_are_those_of_the_chosen_failed_objects_with_slack() {
        let objects = vec![
            json!({"metadata": {"name": "bad"}, "status": {"phase": "PartiallyFailed",
                "startTimestamp": "2026-11-24T02:00:00Z", "completionTimestamp": "2026-11-24T02:30:00Z"}}),
            json!({"metadata": {"name": "good"}, "status": {"phase": "Completed",
                "startTimestamp": "2026-11-24T03:00:00Z", "completionTimestamp": "2026-11-24T03:30:00Z"}}),
            json!({"metadata": {"name": "not-chosen"}, "status": {"phase": "Failed",
                "startTimestamp": "2026-11-20T02:00:00Z"}}),
            json!({"metadata": {"name": "running-failed", "creationTimestamp": "2026-11-24T05:00:00Z"},
                "status": {"phase": "Failed"}}),
        ];
        let chosen: Vec<String> = ["bad", "good", "running-failed"].map(String::from).to_vec();
        let mut windows = LogWindows::default();
        windows.add("backup", &objects, &chosen, at("2026-11-24T06:00:00Z"));
        assert_eq!(
            windows.to_json(),
            json!([
                {"target": "backup/bad", "from": "2026-11-24T01:55:00Z", "to": "2026-11-24T02:35:00Z"},
                {"target": "backup/running-failed", "from": "2026-11-24T04:55:00Z", "to": "2026-11-24T06:05:00Z"}
            ])
        );
        assert!(windows.contains(at("2026-11-24T01:56:00Z")));
        assert!(!windows.contains(at("2026-11-24T03:10:00Z")));
        assert_eq!(windows.earliest(), Some(at("2026-11-24T01:55:00Z")));
    }
}
