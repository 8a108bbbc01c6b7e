//! Log rules: every log scanned once for all the rules of its source; hits aggregated per rule.
use std::collections::HashMap;
use std::io::Read;

use serde_json::{Map, Value};

use super::fields::LineFields;
use super::scan::{LogScanner, ScanStats, ScannedLine};
use crate::analyze::findings::{Evidence, ObjectRef};
use crate::analyze::rules::{FieldFilter, LogMatcher, Matcher, Rule};
use crate::bundle::{LogFile, LogSource};

/// Examples kept per finding; `count` says how many hits there were in all.
pub const MAX_EXAMPLES: usize = 5;
/// Longest excerpt of a line kept as evidence, in characters.
pub const MAX_EXCERPT_CHARS: usize = 2000;

pub const BACKUP_KIND: &str = "backups.velero.io";
pub const RESTORE_KIND: &str = "restores.velero.io";

/// What one log rule saw across every log.
#[derive(Debug, Default, Clone)]
pub struct LogAggregate {
    pub count: u64,
    pub first_seen: Option<jiff::Timestamp>,
    pub last_seen: Option<jiff::Timestamp>,
    pub examples: Vec<Evidence>,
    pub related: Vec<ObjectRef>,
    /// The first hit's message variables: the line's fields, then the regex's named captures.
    pub variables: Map<String, Value>,
    /// (file index, line) of the last hit counted: a long line seen in several windows counts once.
    last_counted: Option<(usize, u64)>,
}

/// Scans logs for a fixed list of log rules.
pub struct LogRun<'r> {
    rules: Vec<(&'r Rule, &'r LogMatcher)>,
    aggregates: Vec<LogAggregate>,
    /// Per source: the scanner over the patterns of the rules that apply to it, and those rules' indexes.
    scanners: HashMap<LogSource, Option<(LogScanner, Vec<usize>)>>,
    block_size: Option<usize>,
    velero_namespace: Option<String>,
    files_scanned: usize,
    /// Per rule: whether a log it applies to was scanned (otherwise it did not run).
    ran: Vec<bool>,
}

impl<'r> LogRun<'r> {
    /// `rules` may hold any rules; only the log rules are kept.
    pub fn new(
        rules: impl IntoIterator<Item = &'r Rule>,
        velero_namespace: Option<String>,
    ) -> LogRun<'r> {
        let rules: Vec<(&Rule, &LogMatcher)> = rules
            .into_iter()
            .filter_map(|rule| match &rule.matcher {
                Matcher::Log(log) => Some((rule, log)),
                _ => None,
            })
            .collect();
        let n = rules.len();
        LogRun {
            rules,
            aggregates: vec![LogAggregate::default(); n],
            scanners: HashMap::new(),
            block_size: None,
            velero_namespace,
            files_scanned: 0,
            ran: vec![false; n],
        }
    }

    pub fn with_block_size(mut self, block_size: usize) -> Self {
        self.block_size = Some(block_size);
        self
    }

    fn ensure_scanner(&mut self, source: LogSource) -> Result<(), String> {
        if self.scanners.contains_key(&source) {
            return Ok(());
        }
        let indexes: Vec<usize> = (0..self.rules.len())
            .filter(|&i| self.rules[i].1.applies_to(source))
            .collect();
        let built = if indexes.is_empty() {
            None
        } else {
            let patterns: Vec<&str> = indexes
                .iter()
                .map(|&i| self.rules[i].1.pattern.as_str())
                .collect();
            let mut scanner = LogScanner::new(&patterns)?;
            if let Some(size) = self.block_size {
                scanner = scanner.with_block_size(size);
            }
            Some((scanner, indexes))
        };
        self.scanners.insert(source, built);
        Ok(())
    }

    /// Scans one log. `Ok(None)`: no rule applies to its source.
    pub fn scan(&mut self, log: &LogFile, reader: impl Read) -> Result<Option<ScanStats>, String> {
        self.ensure_scanner(log.source)?;
        let Some((scanner, indexes)) = self.scanners.get(&log.source).and_then(Option::as_ref)
        else {
            return Ok(None);
        };
        let file_index = self.files_scanned;
        self.files_scanned += 1;
        for &i in indexes {
            self.ran[i] = true;
        }
        let rules = &self.rules;
        let aggregates = &mut self.aggregates;
        let velero_namespace = self.velero_namespace.as_deref();
        let mut on_line = |line: ScannedLine<'_>| {
            let text = String::from_utf8_lossy(line.text);
            let mut fields: Option<LineFields> = None;
            for &pattern in line.patterns {
                let rule_index = indexes[pattern];
                let matcher = rules[rule_index].1;
                let fields = fields.get_or_insert_with(|| LineFields::parse(&text));
                if !passes_filters(&matcher.fields, fields) {
                    continue;
                }
                let aggregate = &mut aggregates[rule_index];
                if aggregate.last_counted == Some((file_index, line.number)) {
                    continue;
                }
                aggregate.last_counted = Some((file_index, line.number));
                record(
                    aggregate,
                    matcher,
                    log,
                    &line,
                    &text,
                    fields,
                    velero_namespace,
                );
            }
        };
        scanner
            .scan(reader, &mut on_line)
            .map(Some)
            .map_err(|e| format!("{}: {e}", log.path))
    }

    /// The rules, each with what it saw and whether it ran (a log of one of its sources was scanned).
    pub fn finish(self) -> Vec<(&'r Rule, LogAggregate, bool)> {
        self.rules
            .into_iter()
            .zip(self.aggregates)
            .zip(self.ran)
            .map(|(((rule, _), aggregate), ran)| (rule, aggregate, ran))
            .collect()
    }
}

fn passes_filters(filters: &[FieldFilter], fields: &LineFields) -> bool {
    filters.iter().all(|filter| {
        fields.get(&filter.field).is_some_and(|value| {
            filter
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value.trim()))
        })
    })
}

/// `velero/instance-abc` → (Some(velero), instance-abc); a bare name takes the Velero namespace if known.
fn object_ref(kind: &str, value: &str, default_namespace: Option<&str>) -> Option<ObjectRef> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let (namespace, name) = match value.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            (Some(ns.to_string()), name.to_string())
        }
        Some(_) => return None,
        None => (default_namespace.map(str::to_string), value.to_string()),
    };
    Some(ObjectRef {
        kind: kind.to_string(),
        namespace,
        name,
    })
}

/// Cuts an over-long excerpt on a character boundary.
pub fn excerpt(text: &str) -> String {
    excerpt_chars(text, MAX_EXCERPT_CHARS)
}

pub fn excerpt_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn record(
    aggregate: &mut LogAggregate,
    matcher: &LogMatcher,
    log: &LogFile,
    line: &ScannedLine<'_>,
    text: &str,
    fields: &LineFields,
    velero_namespace: Option<&str>,
) {
    aggregate.count += 1;
    let time = fields.time(text);
    if let Some(t) = time {
        if aggregate.first_seen.is_none_or(|first| t < first) {
            aggregate.first_seen = Some(t);
        }
        if aggregate.last_seen.is_none_or(|last| t > last) {
            aggregate.last_seen = Some(t);
        }
    }
    if aggregate.examples.len() < MAX_EXAMPLES {
        aggregate.examples.push(Evidence::LogLine {
            file: log.path.clone(),
            line: line.number,
            excerpt: excerpt(text),
            time: time.map(|t| t.to_string()),
        });
    }
    let mut related = Vec::new();
    match (log.source, &log.owner) {
        (LogSource::BackupLog, Some(owner)) => {
            related.extend(object_ref(BACKUP_KIND, owner, velero_namespace))
        }
        (LogSource::RestoreLog, Some(owner)) => {
            related.extend(object_ref(RESTORE_KIND, owner, velero_namespace))
        }
        _ => {}
    }
    if let Some(backup) = fields.get("backup") {
        related.extend(object_ref(BACKUP_KIND, backup, velero_namespace));
    }
    if let Some(restore) = fields.get("restore") {
        related.extend(object_ref(RESTORE_KIND, restore, velero_namespace));
    }
    for r in related {
        if !aggregate.related.contains(&r) {
            aggregate.related.push(r);
        }
    }
    if aggregate.count == 1 {
        aggregate.variables = line_variables(matcher, line.text, fields, log, line.number);
    }
}

/// A hit's message variables: every field of the line, then the named captures (which win), then where it is.
pub fn line_variables(
    matcher: &LogMatcher,
    line: &[u8],
    fields: &LineFields,
    log: &LogFile,
    number: u64,
) -> Map<String, Value> {
    let mut variables = Map::new();
    for (key, value) in fields.iter() {
        variables
            .entry(key.to_string())
            .or_insert_with(|| Value::String(value.to_string()));
    }
    if let Some(captures) = matcher.regex.captures(line) {
        for name in matcher.capture_names() {
            if let Some(m) = captures.name(name) {
                variables.insert(
                    name.to_string(),
                    Value::String(String::from_utf8_lossy(m.as_bytes()).into_owned()),
                );
            }
        }
    }
    variables.insert("file".into(), Value::String(log.path.clone()));
    variables.insert("line".into(), Value::from(number));
    variables.insert(
        "source".into(),
        Value::String(log.source.as_str().to_string()),
    );
    if let Some(owner) = &log.owner {
        variables
            .entry("owner")
            .or_insert_with(|| Value::String(owner.clone()));
    }
    variables
}
