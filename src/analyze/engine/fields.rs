//! The fields of one log line: logfmt (`key=value key="quoted \"value\""`, as Velero's logrus writes) or a
//! JSON object line (kotsadm, zap). The one parser of log fields: the rules (for lines a pattern already hit)
//! and the timeline read lines through it, so both see the same fields (issue #23: two parsers disagreed on
//! `\u00e9`, `\r` and tabs).
use serde_json::Value;

/// The parsed fields of a line, in the order written; the first occurrence of a key wins on lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LineFields {
    pairs: Vec<(String, String)>,
}

impl LineFields {
    pub(crate) fn parse(line: &str) -> LineFields {
        let trimmed = line.trim_start();
        if trimmed.starts_with('{')
            && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed.trim_end())
        {
            let pairs = map
                .into_iter()
                .filter_map(|(key, value)| {
                    // A null field holds no value: not the text "null".
                    let text = match value {
                        Value::String(s) => s,
                        Value::Null => return None,
                        other => other.to_string(),
                    };
                    Some((key, text))
                })
                .collect();
            return LineFields { pairs };
        }
        LineFields {
            pairs: parse_logfmt(line),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `level` field, lowercased.
    pub(crate) fn level(&self) -> Option<String> {
        self.get("level").map(str::to_ascii_lowercase)
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The line's time: its `time` / `ts` / `timestamp` field, else a leading RFC 3339 token (kubectl
    /// `--timestamps`). Numbers (zap's epoch seconds) are read too.
    pub(crate) fn time(&self, line: &str) -> Option<jiff::Timestamp> {
        for key in ["time", "ts", "timestamp", "@timestamp"] {
            if let Some(value) = self.get(key) {
                if let Ok(t) = value.parse::<jiff::Timestamp>() {
                    return Some(t);
                }
                if let Ok(seconds) = value.parse::<f64>()
                    && seconds.is_finite()
                    && let Ok(t) = jiff::Timestamp::from_millisecond((seconds * 1000.0) as i64)
                {
                    return Some(t);
                }
            }
        }
        let first = line.split_ascii_whitespace().next()?;
        first.parse::<jiff::Timestamp>().ok()
    }
}

/// logfmt as logrus writes it: `key=bare`, `key="quoted with \" and \\ escapes"`; bare words are skipped.
fn parse_logfmt(line: &str) -> Vec<(String, String)> {
    let bytes = line.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'='
            && bytes[i] != b'"'
        {
            i += 1;
        }
        let key = &line[key_start..i];
        if i >= bytes.len() || bytes[i] != b'=' || key.is_empty() {
            // A bare word, or a stray quote: skip to the next space (through a quoted run as a whole).
            if i < bytes.len() && bytes[i] == b'"' {
                let (_, next) = quoted(line, i);
                i = next;
            }
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            continue;
        }
        i += 1; // '='
        let value = if i < bytes.len() && bytes[i] == b'"' {
            let (value, next) = quoted(line, i);
            i = next;
            value
        } else {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            line[start..i].to_string()
        };
        pairs.push((key.to_string(), value));
    }
    pairs
}

/// Reads a Go-quoted string starting at the `"` at `start`; returns the value and the index after the closing
/// quote (or the end of the line when unterminated: a cut log line still yields what it has).
fn quoted(line: &str, start: usize) -> (String, usize) {
    let mut value = String::new();
    let mut chars = line[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '"' => return (value, start + 1 + offset + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 'u')) => {
                    let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(decoded) => value.push(decoded),
                        None => {
                            value.push_str("\\u");
                            value.push_str(&hex);
                        }
                    }
                }
                Some((_, c @ ('"' | '\\'))) => value.push(c),
                // Not an escape Go's strconv.Quote writes: the text as it stands.
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            other => value.push(other),
        }
    }
    (value, line.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_with_quotes_and_escapes() {
        let line = r#"time="2023-08-22T15:31:11Z" level=error msg="Error getting backup store" backupLocation=velero/minio error="unable to \"locate\" plugin\n\tx \\ y" logSource="pkg/controller/backup_sync_controller.go:100" bare"#;
        let f = LineFields::parse(line);
        assert_eq!(f.get("level"), Some("error"));
        assert_eq!(f.get("msg"), Some("Error getting backup store"));
        assert_eq!(f.get("backupLocation"), Some("velero/minio"));
        assert_eq!(
            f.get("error"),
            Some("unable to \"locate\" plugin\n\tx \\ y")
        );
        assert_eq!(
            f.get("logSource"),
            Some("pkg/controller/backup_sync_controller.go:100")
        );
        assert_eq!(f.get("bare"), None);
        assert_eq!(f.time(line).unwrap().to_string(), "2023-08-22T15:31:11Z");
    }

    #[test]
    fn json_lines_and_odd_input() {
        let f = LineFields::parse(
            r#"{"level":"error","ts":1700000000.5,"msg":"failed","backup":"velero/b1"}"#,
        );
        assert_eq!(f.get("level"), Some("error"));
        assert_eq!(f.get("backup"), Some("velero/b1"));
        assert!(f.time("").is_some());
        let f = LineFields::parse(r#"level=info msg="unterminated \"quote"#);
        assert_eq!(f.get("msg"), Some("unterminated \"quote"));
        assert!(LineFields::parse("= == =x \"\" plain words").is_empty());
        let f = LineFields::parse("2024-01-02T03:04:05.123456789Z level=warn");
        assert_eq!(f.get("level"), Some("warn"));
        assert!(
            f.time("2024-01-02T03:04:05.123456789Z level=warn")
                .is_some()
        );
        assert_eq!(
            LineFields::parse(r#"k="\u00e9t\u00e9""#).get("k"),
            Some("été")
        );
    }

    #[test]
    fn the_timelines_cases_read_the_same() {
        let f = LineFields::parse(
            r#"time="2026-11-25T10:00:00Z" level=error msg="Error backing up item" backup=velero/nightly error="rpc error: \"quoted\"" logSource="pkg/backup/backup.go:435""#,
        );
        assert_eq!(f.get("level"), Some("error"));
        assert_eq!(f.get("msg"), Some("Error backing up item"));
        assert_eq!(f.get("backup"), Some("velero/nightly"));
        assert_eq!(f.get("error"), Some("rpc error: \"quoted\""));
        assert_eq!(f.time(""), Some("2026-11-25T10:00:00Z".parse().unwrap()));
        let j = LineFields::parse(
            r#"{"level":"warning","msg":"slow","backup":"velero/b1","time":"2026-11-25T10:00:01Z","count":3}"#,
        );
        assert_eq!(j.level().as_deref(), Some("warning"));
        assert_eq!(j.get("count"), Some("3"));
        assert!(
            LineFields::parse("plain text, no fields")
                .get("msg")
                .is_none()
        );
        // Malformed lines end, and multi-byte characters survive escapes.
        assert_eq!(
            LineFields::parse("=x =y level=info").get("level"),
            Some("info")
        );
        assert_eq!(
            LineFields::parse(r#"msg="caf\é ok" a="#).get("msg"),
            Some("caf\\é ok")
        );
        assert_eq!(
            LineFields::parse(r#"msg="trailing\"#).get("msg"),
            Some("trailing\\")
        );
        assert_eq!(
            LineFields::parse(r#"msg="unterminated"#).get("msg"),
            Some("unterminated")
        );
        assert_eq!(LineFields::parse("msg=é=ü").get("msg"), Some("é=ü"));
    }

    /// The cases the rules' and the timeline's parsers disagreed on, before there was one (issue #23).
    #[test]
    fn cases_the_two_parsers_disagreed_on() {
        // `\uXXXX` is decoded (the timeline kept `\u00e9` as written).
        assert_eq!(
            LineFields::parse(r#"k="\u00e9t\u00e9""#).get("k"),
            Some("été")
        );
        // `\r` is a carriage return (the timeline kept `\r`).
        assert_eq!(LineFields::parse(r#"k="a\rb""#).get("k"), Some("a\rb"));
        // A tab separates fields as a space does (the timeline read `level=error\tmsg=x` as one value).
        let f = LineFields::parse("level=error\tmsg=x");
        assert_eq!((f.get("level"), f.get("msg")), (Some("error"), Some("x")));
        // A JSON null is no value (the rules read the text "null").
        assert_eq!(
            LineFields::parse(r#"{"error":null,"msg":"m"}"#).get("error"),
            None
        );
    }
}
