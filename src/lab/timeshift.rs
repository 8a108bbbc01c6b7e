//! Moves a scenario through time: every RFC 3339 timestamp in its objects and log lines is shifted by the same
//! whole number of seconds, so a scenario written on one day looks as fresh when the lab serves it later.
//! The text of a shifted timestamp keeps its shape (separator, fractional digits, offset), only the instant moves.
use std::sync::LazyLock;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use regex::{Captures, Regex};
use serde_json::Value;

/// `2026-11-25T12:00:00Z`, `2026-11-25t12:00:00.123456789+02:00`: date, time, optional fraction, offset.
const RFC3339: &str = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})";

static RFC3339_ANYWHERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(RFC3339).expect("the RFC 3339 pattern compiles"));

/// The timestamp forms a log line carries: a leading timestamp, logrus' `time="…"`, JSON `"time"`/`"ts"`/
/// `"timestamp"` string fields, and zap's `"ts":<epoch seconds>`.
static LOG_TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?m)^(?P<lead>{RFC3339})|time="(?P<logfmt>{RFC3339})"|"(?:time|ts|timestamp)"\s*:\s*"(?P<json>{RFC3339})"|"ts"\s*:\s*(?P<epoch>\d{{9,11}}(?:\.\d+)?)\b"#
    ))
    .expect("the log timestamp pattern compiles")
});

/// The whole seconds between a scenario's reference time and the moment it is served.
pub(crate) fn shift_between(reference: Timestamp, now: Timestamp) -> SignedDuration {
    SignedDuration::from_secs(now.duration_since(reference).as_secs())
}

/// Shifts every RFC 3339 timestamp found in the strings of `value` (keys are left alone).
pub(crate) fn shift_json(value: &mut Value, shift: SignedDuration) {
    if shift.is_zero() {
        return;
    }
    match value {
        Value::String(text) => {
            if RFC3339_ANYWHERE.is_match(text) {
                *text = shift_all_in(text, shift);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| shift_json(item, shift)),
        Value::Object(fields) => fields.values_mut().for_each(|item| shift_json(item, shift)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn shift_all_in(text: &str, shift: SignedDuration) -> String {
    RFC3339_ANYWHERE
        .replace_all(text, |caps: &Captures| {
            shift_rfc3339(&caps[0], shift).unwrap_or_else(|| caps[0].to_string())
        })
        .into_owned()
}

/// Shifts the timestamps of log lines (see `LOG_TIMESTAMP` for the forms); other text is untouched.
pub fn shift_log(text: &str, shift: SignedDuration) -> String {
    if shift.is_zero() {
        return text.to_string();
    }
    LOG_TIMESTAMP
        .replace_all(text, |caps: &Captures| {
            let whole = caps.get(0).expect("group 0 always matches");
            let (inner, shifted) = if let Some(found) = caps
                .name("lead")
                .or_else(|| caps.name("logfmt"))
                .or_else(|| caps.name("json"))
            {
                (found, shift_rfc3339(found.as_str(), shift))
            } else {
                let epoch = caps.name("epoch").expect("one alternative matched");
                (epoch, shift_epoch(epoch.as_str(), shift))
            };
            match shifted {
                Some(new_text) => {
                    let start = inner.start() - whole.start();
                    let end = inner.end() - whole.start();
                    let original = whole.as_str();
                    format!("{}{new_text}{}", &original[..start], &original[end..])
                }
                None => whole.as_str().to_string(),
            }
        })
        .into_owned()
}

/// The instant a log line was written, when the line says so in one of the forms of [`LOG_TIMESTAMP`].
pub(crate) fn log_line_time(line: &str) -> Option<Timestamp> {
    let caps = LOG_TIMESTAMP.captures(line)?;
    if let Some(found) = caps
        .name("lead")
        .or_else(|| caps.name("logfmt"))
        .or_else(|| caps.name("json"))
    {
        return parse_rfc3339(found.as_str());
    }
    let epoch: f64 = caps.name("epoch")?.as_str().parse().ok()?;
    Timestamp::from_millisecond((epoch * 1000.0) as i64).ok()
}

/// Parses one RFC 3339 timestamp in any of the shapes [`RFC3339`] accepts.
pub(crate) fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let normalized = text.replacen([' ', 't'], "T", 1).replace('z', "Z");
    normalized.parse().ok()
}

fn shift_rfc3339(text: &str, shift: SignedDuration) -> Option<String> {
    let instant = parse_rfc3339(text)?;
    let shifted = instant.checked_add(shift).ok()?;
    // Split "<date><sep><hh:mm:ss>" from "<fraction><offset>": the tail is kept verbatim because the shift is
    // whole seconds in the timestamp's own offset.
    let separator = text.as_bytes()[10] as char;
    let tail = &text[19..];
    let offset = offset_of(tail)?;
    let civil = offset.to_datetime(shifted);
    Some(format!(
        "{}{separator}{}{tail}",
        civil.strftime("%Y-%m-%d"),
        civil.strftime("%H:%M:%S")
    ))
}

fn offset_of(tail: &str) -> Option<Offset> {
    let zone = tail.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if zone.eq_ignore_ascii_case("z") {
        return Some(Offset::UTC);
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let hours: i32 = zone.get(1..3)?.parse().ok()?;
    let minutes: i32 = zone.get(4..6)?.parse().ok()?;
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

fn shift_epoch(text: &str, shift: SignedDuration) -> Option<String> {
    let (seconds, fraction) = match text.split_once('.') {
        Some((seconds, fraction)) => (seconds, Some(fraction)),
        None => (text, None),
    };
    let seconds: i64 = seconds.parse().ok()?;
    let moved = seconds.checked_add(shift.as_secs())?;
    Some(match fraction {
        Some(fraction) => format!("{moved}.{fraction}"),
        None => moved.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day() -> SignedDuration {
        SignedDuration::from_secs(86_400)
    }

    #[test]
    fn shifts_every_shape_and_keeps_it() {
        let mut object = json!({
            "metadata": {"creationTimestamp": "2026-11-25T12:00:00Z", "name": "2026-11-25T12:00:00Z-not-a-key"},
            "status": {"completionTimestamp": "2026-11-25T23:59:59.123456+02:00", "progress": 3,
                       "message": "failed at 2026-11-25 10:00:00z, retried"},
        });
        shift_json(&mut object, day());
        assert_eq!(
            object["metadata"]["creationTimestamp"],
            "2026-11-26T12:00:00Z"
        );
        assert_eq!(object["metadata"]["name"], "2026-11-26T12:00:00Z-not-a-key");
        assert_eq!(
            object["status"]["completionTimestamp"],
            "2026-11-26T23:59:59.123456+02:00"
        );
        assert_eq!(
            object["status"]["message"],
            "failed at 2026-11-26 10:00:00z, retried"
        );
        assert_eq!(object["status"]["progress"], 3);
    }

    #[test]
    fn shifts_log_timestamps_in_their_places_only() {
        let log = concat!(
            "time=\"2026-11-25T12:00:00Z\" level=info msg=\"backup 2026-11-25T01:00:00Z done\"\n",
            "2026-11-25T12:00:01.5Z INFO started\n",
            "{\"level\":\"info\",\"ts\":\"2026-11-25T12:00:02Z\",\"msg\":\"x\"}\n",
            "{\"level\":\"info\",\"ts\":1795608000.25,\"msg\":\"zap\"}\n",
            "no time here 2026-11-25T12:00:00Z\n",
        );
        let shifted = shift_log(log, day());
        let lines: Vec<&str> = shifted.lines().collect();
        assert_eq!(
            lines[0],
            "time=\"2026-11-26T12:00:00Z\" level=info msg=\"backup 2026-11-25T01:00:00Z done\""
        );
        assert_eq!(lines[1], "2026-11-26T12:00:01.5Z INFO started");
        assert_eq!(
            lines[2],
            "{\"level\":\"info\",\"ts\":\"2026-11-26T12:00:02Z\",\"msg\":\"x\"}"
        );
        assert_eq!(
            lines[3],
            "{\"level\":\"info\",\"ts\":1795694400.25,\"msg\":\"zap\"}"
        );
        assert_eq!(lines[4], "no time here 2026-11-25T12:00:00Z");
    }

    #[test]
    fn reads_the_time_of_a_line() {
        let expected: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        assert_eq!(
            log_line_time("time=\"2026-11-25T12:00:00Z\" level=info"),
            Some(expected)
        );
        assert_eq!(log_line_time("{\"ts\":1795608000}"), Some(expected));
        assert_eq!(log_line_time("plain text"), None);
    }

    #[test]
    fn whole_second_shift() {
        let reference: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-11-26T12:00:00.900Z".parse().unwrap();
        assert_eq!(shift_between(reference, now), day());
    }
}
