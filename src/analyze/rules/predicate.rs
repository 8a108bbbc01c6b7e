//! Object predicates (docs/rules.md "match.object"): field paths, tests, combinators, and the lenient value
//! readers (versions, durations, quantities) they need. Evaluation lives in `engine::objects`.
use std::fmt;

use serde_json::Value;

/// A dotted path into an object: `status.phase`, `spec.containers[*].image`,
/// `metadata.annotations["backup.velero.io/backup-volumes"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<PathSegment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
    /// `[*]` or `[]`: every element of an array.
    AnyElement,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let mut segments = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut key = String::new();
        // After `]`, a key must be introduced by a dot (`a[0].b`), never run on (`a[0]b`).
        let mut after_bracket = false;
        let flush = |key: &mut String, segments: &mut Vec<PathSegment>| {
            if !key.is_empty() {
                segments.push(PathSegment::Key(std::mem::take(key)));
            }
        };
        if text.trim().is_empty() {
            return Err("empty path".into());
        }
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if key.is_empty() && !after_bracket {
                        return Err(format!("path {text:?}: empty key at character {}", i + 1));
                    }
                    flush(&mut key, &mut segments);
                    after_bracket = false;
                    i += 1;
                    if i == chars.len() {
                        return Err(format!("path {text:?}: ends with a dot"));
                    }
                }
                '[' => {
                    flush(&mut key, &mut segments);
                    let (segment, next) = parse_bracket(text, &chars, i)?;
                    segments.push(segment);
                    after_bracket = true;
                    i = next;
                }
                ']' => {
                    return Err(format!(
                        "path {text:?}: unmatched ']' at character {}",
                        i + 1
                    ));
                }
                c if c.is_whitespace() => {
                    return Err(format!(
                        "path {text:?}: whitespace at character {} (quote keys with spaces: [\"a b\"])",
                        i + 1
                    ));
                }
                c => {
                    if after_bracket {
                        return Err(format!(
                            "path {text:?}: expected '.' or '[' after ']' at character {}",
                            i + 1
                        ));
                    }
                    key.push(c);
                    i += 1;
                }
            }
        }
        flush(&mut key, &mut segments);
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// Every value the path reaches (several through `[*]`); missing keys and nulls reach nothing.
    pub fn resolve<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![root];
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                match (segment, value) {
                    (PathSegment::Key(key), Value::Object(map)) => next.extend(map.get(key)),
                    (PathSegment::Index(index), Value::Array(items)) => {
                        next.extend(items.get(*index))
                    }
                    (PathSegment::AnyElement, Value::Array(items)) => next.extend(items.iter()),
                    _ => {}
                }
            }
            current = next;
        }
        current.retain(|v| !v.is_null());
        current
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_bracket(text: &str, chars: &[char], open: usize) -> Result<(PathSegment, usize), String> {
    let mut i = open + 1;
    match chars.get(i) {
        Some(']') => Ok((PathSegment::AnyElement, i + 1)),
        Some('*') if chars.get(i + 1) == Some(&']') => Ok((PathSegment::AnyElement, i + 2)),
        Some(&quote @ ('"' | '\'')) => {
            i += 1;
            let mut key = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(format!("path {text:?}: unterminated quoted key")),
                    Some('\\') if chars.get(i + 1).is_some() => {
                        key.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(&c) if c == quote => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        key.push(c);
                        i += 1;
                    }
                }
            }
            if chars.get(i) != Some(&']') {
                return Err(format!("path {text:?}: expected ']' after the quoted key"));
            }
            Ok((PathSegment::Key(key), i + 1))
        }
        Some(c) if c.is_ascii_digit() => {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            if chars.get(i) != Some(&']') {
                return Err(format!("path {text:?}: expected ']' after the index"));
            }
            let digits: String = chars[start..i].iter().collect();
            let index = digits
                .parse()
                .map_err(|_| format!("path {text:?}: index {digits} is too large"))?;
            Ok((PathSegment::Index(index), i + 1))
        }
        _ => Err(format!(
            "path {text:?}: expected [*], [N] or [\"key\"] at character {}",
            open + 1
        )),
    }
}

/// A compiled predicate tree.
#[derive(Debug, Clone)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    Test { path: FieldPath, test: Test },
}

#[derive(Debug, Clone)]
pub enum Test {
    Equals(Value),
    In(Vec<Value>),
    Matches(regex::Regex),
    /// `exists: true` / `absent: false` → true; `exists: false` / `absent: true` → false.
    Exists(bool),
    OlderThan(Seconds),
    NewerThan(Seconds),
    Semver(semver::VersionReq),
    GreaterThan(f64),
    LessThan(f64),
}

/// A duration in whole seconds, as written in a rule (`48h`, `7d`, `1h30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub i64);

impl Predicate {
    /// The first path tested, depth first: its value is what an object's evidence shows.
    pub(crate) fn first_path(&self) -> Option<&FieldPath> {
        match self {
            Predicate::Test { path, .. } => Some(path),
            Predicate::Not(inner) => inner.first_path(),
            Predicate::All(items) | Predicate::Any(items) => {
                items.iter().find_map(|p| p.first_path())
            }
        }
    }
}

impl fmt::Display for Predicate {
    /// One line, in the rule syntax's flow style: `all: [{path: status.phase, equals: "Failed"}, …]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, items: &[Predicate]| -> fmt::Result {
            write!(f, "{name}: [")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{{{item}}}")?;
            }
            f.write_str("]")
        };
        match self {
            Predicate::All(items) => list(f, "all", items),
            Predicate::Any(items) => list(f, "any", items),
            Predicate::Not(inner) => write!(f, "not: {{{inner}}}"),
            Predicate::Test { path, test } => {
                write!(f, "path: {path}, ")?;
                match test {
                    Test::Equals(v) => write!(f, "equals: {v}"),
                    Test::In(values) => write!(f, "in: {}", Value::Array(values.clone())),
                    Test::Matches(r) => write!(f, "matches: {:?}", r.as_str()),
                    Test::Exists(true) => f.write_str("exists: true"),
                    Test::Exists(false) => f.write_str("absent: true"),
                    Test::OlderThan(s) => write!(f, "older_than: {}s", s.0),
                    Test::NewerThan(s) => write!(f, "newer_than: {}s", s.0),
                    Test::Semver(r) => write!(f, "semver: \"{r}\""),
                    Test::GreaterThan(n) => write!(f, "greater_than: {n}"),
                    Test::LessThan(n) => write!(f, "less_than: {n}"),
                }
            }
        }
    }
}

/// `48h`, `30m`, `7d`, `2w`, `90s`, `1h30m`: a sum of numbers with units.
pub(crate) fn parse_duration(text: &str) -> Result<Seconds, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "duration {text:?}: unknown unit {c:?} (use s, m, h, d, w: e.g. 48h, 7d, 1h30m)"
                ));
            }
        };
        if number.is_empty() {
            return Err(format!("duration {text:?}: unit {c:?} without a number"));
        }
        let n: i64 = number
            .parse()
            .map_err(|_| format!("duration {text:?}: number too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("duration {text:?}: too long"))?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!(
            "duration {text:?}: number {number} without a unit (s, m, h, d, w)"
        ));
    }
    Ok(Seconds(total))
}

/// Reads a version leniently: a leading `v`, a `-suffix` and `+build` are ignored, missing minor / patch are 0
/// (`v1.12.3-rc.1` → 1.12.3, `1.29` → 1.29.0). An image reference's tag is read too (`velero/velero:v1.12.3`).
pub(crate) fn lenient_version(text: &str) -> Option<semver::Version> {
    let mut s = text.trim();
    if let Some((repo, tag)) = s.rsplit_once(':')
        && !tag.contains('/')
        && !repo.is_empty()
    {
        s = tag;
    }
    let s = s
        .strip_prefix('v')
        .or_else(|| s.strip_prefix('V'))
        .unwrap_or(s);
    let core = s.split(['-', '+']).next().unwrap_or("");
    let mut parts = core.split('.');
    let mut next = |required: bool| -> Option<u64> {
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            None if !required => Some(0),
            _ => None,
        }
    };
    let major = next(true)?;
    let minor = next(false)?;
    let patch = next(false)?;
    if parts.next().is_some() {
        return None;
    }
    Some(semver::Version::new(major, minor, patch))
}

/// Parses a semver range as rules write it: `">=1.10, <1.12"`, `"<1.9"`, `"=1.2.3"`, `"*"`.
pub(crate) fn parse_range(text: &str) -> Result<semver::VersionReq, String> {
    semver::VersionReq::parse(text.trim())
        .map_err(|e| format!("semver range {text:?}: {e} (write e.g. \">=1.10.0, <1.12.0\")"))
}

/// A number from a JSON value: a number, or a string holding a number or a Kubernetes quantity
/// (`512Mi`, `1Gi`, `500m`, `2k`).
pub(crate) fn numeric_value(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_quantity(s),
        _ => None,
    }
}

fn parse_quantity(text: &str) -> Option<f64> {
    let s = text.trim();
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Pi", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("m", 0.001),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = s.strip_suffix(suffix) {
            return number.trim().parse::<f64>().ok().map(|n| n * factor);
        }
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A scalar as text, for `matches` and for evidence: strings as they are, numbers and booleans as JSON writes them.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_keys_indexes_wildcards_and_quoted_keys() {
        let path =
            FieldPath::parse(r#"metadata.annotations["backup.velero.io/backup-volumes"]"#).unwrap();
        assert_eq!(
            path.segments(),
            &[
                PathSegment::Key("metadata".into()),
                PathSegment::Key("annotations".into()),
                PathSegment::Key("backup.velero.io/backup-volumes".into())
            ]
        );
        let path = FieldPath::parse("status.containerStatuses[*].lastState[0].x[]").unwrap();
        assert_eq!(path.segments().len(), 7);
        for bad in [
            "", "a..b", "a.", "a[", "a[x]", "a[0]b", "a b", "a]", "[\"x]",
        ] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resolve_fans_out_over_arrays_and_skips_nulls() {
        let object =
            json!({"s": {"c": [{"r": "OOMKilled"}, {"r": null}, {"r": "Error"}]}, "n": null});
        let path = FieldPath::parse("s.c[*].r").unwrap();
        assert_eq!(
            path.resolve(&object),
            vec![&json!("OOMKilled"), &json!("Error")]
        );
        assert_eq!(
            FieldPath::parse("s.c[2].r").unwrap().resolve(&object),
            vec![&json!("Error")]
        );
        assert!(FieldPath::parse("n").unwrap().resolve(&object).is_empty());
        assert!(
            FieldPath::parse("s.c.r")
                .unwrap()
                .resolve(&object)
                .is_empty()
        );
    }

    #[test]
    fn durations_versions_quantities() {
        assert_eq!(parse_duration("48h").unwrap(), Seconds(172_800));
        assert_eq!(parse_duration("1h30m").unwrap(), Seconds(5_400));
        assert_eq!(parse_duration("2w").unwrap(), Seconds(1_209_600));
        for bad in ["", "h", "10", "3y", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            lenient_version("v1.12.3-rc.1"),
            Some(semver::Version::new(1, 12, 3))
        );
        assert_eq!(
            lenient_version("1.29"),
            Some(semver::Version::new(1, 29, 0))
        );
        assert_eq!(
            lenient_version("velero/velero:v1.12.3"),
            Some(semver::Version::new(1, 12, 3))
        );
        assert_eq!(lenient_version("latest"), None);
        assert_eq!(lenient_version("1.2.3.4"), None);
        assert_eq!(numeric_value(&json!("512Mi")), Some(536_870_912.0));
        assert_eq!(numeric_value(&json!("500m")), Some(0.5));
        assert_eq!(numeric_value(&json!(3)), Some(3.0));
        assert_eq!(numeric_value(&json!("abc")), None);
    }
}
