//! Log rules: every log scanned once for all the rules of its source; hits aggregated per rule.
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::fields::LineFields;
use super::scan::{LogScanner, ScanStats, ScannedLine};
use crate::analyze::findings::{Evidence, MatchSpan, ObjectRef, window};
use crate::analyze::rules::{FieldFilter, LogMatcher, Matcher, Rule};
use crate::bundle::{LogFile, LogSource};

/// Examples kept per finding; `count` says how many hits there were in all.
pub(crate) const MAX_EXAMPLES: usize = 5;
/// Longest excerpt of a line kept as evidence, in characters.
pub(crate) const MAX_EXCERPT_CHARS: usize = 2000;

pub(crate) const BACKUP_KIND: &str = "backups.velero.io";
pub(crate) const RESTORE_KIND: &str = "restores.velero.io";
pub(crate) const LOCATION_KIND: &str = "backupstoragelocations.velero.io";

/// Fields (and named captures) that name a backup storage location in Velero's logs: `backupLocation` (backup
/// sync, repository ensurer, BSL validation before 1.6), `backup-storage-location` (the BSL controller since 1.6),
/// and `location` (a rule's capture of `BackupStorageLocation "default" is unavailable`).
pub(crate) const LOCATION_FIELDS: [&str; 3] =
    ["backupLocation", "backup-storage-location", "location"];

/// What one log rule saw concerning one backup, restore or storage location.
#[derive(Debug, Clone)]
pub struct TargetAggregate {
    pub target: ObjectRef,
    pub count: u64,
    pub first_seen: Option<jiff::Timestamp>,
    pub last_seen: Option<jiff::Timestamp>,
    /// The first hit concerning this target's variables, with the target's own name and (for a storage
    /// location) its bucket, prefix and provider where the line lacks them.
    pub variables: Map<String, Value>,
}

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
    /// Per backup / restore / storage location the hits concern, in the order first seen.
    pub targets: Vec<TargetAggregate>,
    /// Line of the last hit counted in the log being scanned: a long line seen in several windows counts once.
    last_counted: Option<u64>,
}

/// The scanner over the patterns of the rules that apply to one source, and those rules' indexes.
type SourceScanner = (Arc<LogScanner>, Vec<usize>);

/// Scanners built for one rule set, by their patterns and block size: a fleet analyses hundreds of bundles
/// with the same rules, and building a source's scanner (its regex NFA, the phrases' Aho-Corasick DFA, the
/// Teddy searchers) for each bundle was most of a small bundle's analysis (BENCHMARKS.md, #20's wall-time
/// pass). A scanner is immutable once built; what its scans change (lazy-DFA caches) it keeps per scan.
#[derive(Default)]
pub(crate) struct ScannerCache {
    built: Mutex<HashMap<ScannerKey, Result<Arc<LogScanner>, String>>>,
}

/// A scanner's patterns and block size.
type ScannerKey = (Vec<String>, Option<usize>);

impl ScannerCache {
    /// The scanner of `patterns`, built now if no earlier bundle needed it. Built outside the lock, so that
    /// threads building different sources' scanners do not wait for each other (two building the same one
    /// both build it; the first kept wins).
    fn get_or_build(
        &self,
        patterns: &[&str],
        regexes: &[&regex::bytes::Regex],
        block_size: Option<usize>,
    ) -> Result<Arc<LogScanner>, String> {
        let key: ScannerKey = (patterns.iter().map(|p| p.to_string()).collect(), block_size);
        if let Some(known) = self.built.lock().ok().and_then(|b| b.get(&key).cloned()) {
            return known;
        }
        let built = build_scanner(patterns, regexes, block_size);
        match self.built.lock() {
            Ok(mut cache) => cache.entry(key).or_insert(built).clone(),
            Err(_) => built,
        }
    }
}

impl std::fmt::Debug for ScannerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built = self.built.lock().map_or(0, |b| b.len());
        f.debug_struct("ScannerCache")
            .field("built", &built)
            .finish()
    }
}

/// A copy of a rule set starts with no scanners of its own (they are rebuilt as needed, never shared by two
/// sets that might then differ).
impl Clone for ScannerCache {
    fn clone(&self) -> Self {
        ScannerCache::default()
    }
}

/// The rules' regexes are the patterns' own, compiled as the rules loaded (a clone shares them).
fn build_scanner(
    patterns: &[&str],
    regexes: &[&regex::bytes::Regex],
    block_size: Option<usize>,
) -> Result<Arc<LogScanner>, String> {
    let regexes = regexes.iter().map(|&regex| regex.clone()).collect();
    LogScanner::with_regexes(patterns, regexes).map(|scanner| {
        Arc::new(match block_size {
            Some(size) => scanner.with_block_size(size),
            None => scanner,
        })
    })
}

/// Scans logs for a fixed list of log rules.
pub struct LogRun<'r> {
    rules: Vec<(&'r Rule, &'r LogMatcher)>,
    aggregates: Vec<LogAggregate>,
    /// Per source: the scanner over the patterns of the rules that apply to it, and those rules' indexes.
    /// A source whose patterns do not compile together keeps the error, said for each of its logs.
    scanners: HashMap<LogSource, Result<Option<SourceScanner>, String>>,
    block_size: Option<usize>,
    velero_namespace: Option<String>,
    /// Storage locations of the bundle: a hit naming one gets its bucket, prefix and provider as variables.
    locations: Vec<(ObjectRef, Map<String, Value>)>,
    /// Per rule: whether a log it applies to was scanned (otherwise it did not run).
    ran: Vec<bool>,
    /// Where scanners built for the same rules are kept across bundles; `None`: built for this run alone.
    cache: Option<&'r ScannerCache>,
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
            locations: Vec::new(),
            ran: vec![false; n],
            cache: None,
        }
    }

    /// Takes the scanners from `cache` (the rule set's, [`crate::analyze::RuleSet`]) and keeps those it
    /// builds there.
    pub(crate) fn with_scanner_cache(mut self, cache: &'r ScannerCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Another block size for the log scan (tests put lines across block boundaries with small ones).
    pub fn with_block_size(mut self, block_size: usize) -> Self {
        self.block_size = Some(block_size);
        self
    }

    /// The bundle's BackupStorageLocation objects, for the variables of hits that name one.
    pub(crate) fn with_storage_locations(mut self, locations: &[Value]) -> Self {
        self.locations = locations
            .iter()
            .filter_map(|object| {
                let name = object.pointer("/metadata/name")?.as_str()?;
                let namespace = object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str);
                let reference = ObjectRef {
                    kind: LOCATION_KIND.to_string(),
                    namespace: namespace.map(str::to_string),
                    name: name.to_string(),
                };
                Some((reference, location_variables(object)))
            })
            .collect();
        self
    }

    fn ensure_scanner(&mut self, source: LogSource) {
        if self.scanners.contains_key(&source) {
            return;
        }
        let indexes: Vec<usize> = (0..self.rules.len())
            .filter(|&i| self.rules[i].1.applies_to(source))
            .collect();
        let built = if indexes.is_empty() {
            Ok(None)
        } else {
            let patterns: Vec<&str> = indexes
                .iter()
                .map(|&i| self.rules[i].1.pattern.as_str())
                .collect();
            let regexes: Vec<&regex::bytes::Regex> =
                indexes.iter().map(|&i| self.rules[i].1.regex()).collect();
            match self.cache {
                Some(cache) => cache.get_or_build(&patterns, &regexes, self.block_size),
                None => build_scanner(&patterns, &regexes, self.block_size),
            }
            .map(|scanner| Some((scanner, indexes)))
        };
        self.scanners.insert(source, built);
    }

    /// Builds the scanners of these logs' sources now, so that [`LogRun::scan_alone`] can scan them from
    /// several threads.
    pub fn prepare<'a>(&mut self, logs: impl IntoIterator<Item = &'a LogFile>) {
        for log in logs {
            self.ensure_scanner(log.source);
        }
    }

    /// Whether logs of `source` are read at all: some rule applies to it (the scanners must be prepared).
    pub fn reads(&self, source: LogSource) -> bool {
        matches!(self.scanners.get(&source), Some(Ok(Some(_))))
    }

    /// Scans one log. `Ok(None)`: no rule applies to its source.
    pub fn scan(&mut self, log: &LogFile, reader: impl Read) -> Result<Option<ScanStats>, String> {
        self.ensure_scanner(log.source);
        let scanned = self.scan_alone(log, reader);
        self.absorb(scanned)
    }

    /// Scans one log on its own, without touching what earlier logs gave: [`LogRun::absorb`] adds it. Logs
    /// scanned apart and absorbed in order aggregate exactly as if [`LogRun::scan`] had read them in that order.
    /// The scanners of the log's source must be built ([`LogRun::prepare`]).
    pub fn scan_alone(&self, log: &LogFile, reader: impl Read) -> LogScan {
        let (scanner, indexes) = match self.scanners.get(&log.source) {
            Some(Ok(Some(scanner))) => scanner,
            Some(Ok(None)) => {
                return LogScan {
                    aggregates: Vec::new(),
                    ran_for: None,
                    result: Ok(None),
                };
            }
            Some(Err(e)) => return LogScan::failed(e.clone()),
            None => {
                return LogScan::failed(format!(
                    "{}: no scanner prepared for its source",
                    log.path
                ));
            }
        };
        let rules = &self.rules;
        let mut aggregates = vec![LogAggregate::default(); indexes.len()];
        let context = HitContext {
            log,
            velero_namespace: self.velero_namespace.as_deref(),
            locations: &self.locations,
        };
        let mut on_line = |line: ScannedLine<'_>| {
            let text = String::from_utf8_lossy(line.text);
            let mut fields: Option<LineFields> = None;
            for &pattern in line.patterns {
                let matcher = rules[indexes[pattern]].1;
                let fields = fields.get_or_insert_with(|| LineFields::parse(&text));
                if !passes_filters(&matcher.fields, fields) {
                    continue;
                }
                let aggregate = &mut aggregates[pattern];
                // One log at a time: the line number alone tells a line seen in several windows.
                if aggregate.last_counted == Some(line.number) {
                    continue;
                }
                aggregate.last_counted = Some(line.number);
                record(aggregate, matcher, &context, &line, &text, fields);
            }
        };
        let result = scanner
            .scan(reader, &mut on_line)
            .map(Some)
            .map_err(|e| format!("{}: {e}", log.path));
        LogScan {
            aggregates: indexes
                .iter()
                .copied()
                .zip(aggregates)
                .filter(|(_, aggregate)| aggregate.count > 0)
                .collect(),
            ran_for: Some(log.source),
            result,
        }
    }

    /// Adds what one log gave to what the logs before it gave, as [`LogRun::scan`] would have recorded it.
    pub fn absorb(&mut self, scan: LogScan) -> Result<Option<ScanStats>, String> {
        if let Some(Some(Ok(Some((_, indexes))))) = scan.ran_for.map(|s| self.scanners.get(&s)) {
            for &i in indexes {
                self.ran[i] = true;
            }
        }
        for (i, part) in scan.aggregates {
            merge(&mut self.aggregates[i], part);
        }
        scan.result
    }

    /// Tries every rule's regex on the error text of object fields (`engine/places.rs`). A rule's `fields` filters
    /// are for log lines (an object field has no level); every other part of the rule applies as to a line.
    pub(crate) fn absorb_places(&mut self, places: &[super::places::PlaceText]) {
        for (i, (_, matcher)) in self.rules.iter().enumerate() {
            let aggregate = &mut self.aggregates[i];
            for place in places {
                let Some(captures) = matcher.regex().captures(place.text.as_bytes()) else {
                    continue;
                };
                self.ran[i] = true;
                let mut variables = Map::new();
                for name in matcher.capture_names() {
                    if let Some(m) = captures.name(name) {
                        variables.insert(
                            name.to_string(),
                            Value::String(String::from_utf8_lossy(m.as_bytes()).into_owned()),
                        );
                    }
                }
                variables.insert("kind".into(), Value::String(place.object.kind.clone()));
                variables.insert("name".into(), Value::String(place.object.name.clone()));
                if let Some(namespace) = &place.object.namespace {
                    variables.insert("namespace".into(), Value::String(namespace.clone()));
                }
                variables.insert("place".into(), Value::String(place.path.clone()));
                if let Some(location) = &place.location {
                    add_location_variables(&mut variables, location, &self.locations);
                }
                if aggregate.count == 0 {
                    aggregate.variables = variables.clone();
                }
                aggregate.count += 1;
                if aggregate.examples.len() < MAX_EXAMPLES {
                    aggregate.examples.push(place.evidence());
                }
                for target in &place.concerns {
                    if target.kind != LOCATION_KIND && !aggregate.related.contains(target) {
                        aggregate.related.push(target.clone());
                    }
                    match aggregate.targets.iter_mut().find(|t| t.target == *target) {
                        Some(known) => known.count += 1,
                        None => {
                            let mut own = variables.clone();
                            add_target_variables(&mut own, target, &self.locations);
                            aggregate.targets.push(TargetAggregate {
                                target: target.clone(),
                                count: 1,
                                first_seen: None,
                                last_seen: None,
                                variables: own,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Lets go of the scanners once every log's scan is absorbed: a scanner not kept by the rule set for a
    /// next bundle ([`crate::analyze::RuleSet::for_one_bundle`]) is freed before the findings are built.
    pub(crate) fn forget_scanners(&mut self) {
        self.scanners.clear();
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

/// What one log gave its rules, before it is added to the rest ([`LogRun::absorb`]).
#[derive(Debug)]
pub struct LogScan {
    /// (rule index, what it saw in this log), for the rules that saw something: scans wait in memory to be
    /// absorbed in order, and 200,000 tiny logs each holding every rule's empty aggregate were gigabytes.
    aggregates: Vec<(usize, LogAggregate)>,
    /// The source whose rules ran on this log (they are the scanner's).
    ran_for: Option<LogSource>,
    result: Result<Option<ScanStats>, String>,
}

impl LogScan {
    /// A log that could not be opened.
    pub fn failed(problem: String) -> LogScan {
        LogScan {
            aggregates: Vec::new(),
            ran_for: None,
            result: Err(problem),
        }
    }
}

/// `later` (one log's hits) after `total` (every earlier log's): counts add, times widen, examples and related
/// objects fill up in order, and the first hit's variables and each target's first variables stay the earliest.
fn merge(total: &mut LogAggregate, later: LogAggregate) {
    if total.count == 0 {
        total.variables = later.variables;
    }
    total.count += later.count;
    for t in [later.first_seen, later.last_seen].into_iter().flatten() {
        widen(&mut total.first_seen, &mut total.last_seen, t);
    }
    let room = MAX_EXAMPLES.saturating_sub(total.examples.len());
    total.examples.extend(later.examples.into_iter().take(room));
    for r in later.related {
        if !total.related.contains(&r) {
            total.related.push(r);
        }
    }
    for target in later.targets {
        match total.targets.iter_mut().find(|t| t.target == target.target) {
            Some(known) => {
                known.count += target.count;
                for t in [target.first_seen, target.last_seen].into_iter().flatten() {
                    widen(&mut known.first_seen, &mut known.last_seen, t);
                }
            }
            None => total.targets.push(target),
        }
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
pub(crate) fn excerpt(text: &str) -> String {
    excerpt_chars(text, MAX_EXCERPT_CHARS)
}

pub(crate) fn excerpt_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The excerpt kept of a hit's line and where `regex` matched in it: the line itself up to
/// [`MAX_EXCERPT_CHARS`], a longer one cut around the match (so that a match past the first 2,000 characters is
/// still shown). A line the regex does not match again (a window of a very long line) is cut at the start and
/// has no span.
pub(crate) fn excerpt_around_match(
    text: &str,
    regex: &regex::bytes::Regex,
) -> (String, Option<MatchSpan>) {
    let Some(found) = regex.find(text.as_bytes()) else {
        return (excerpt(text), None);
    };
    // A byte-oriented pattern may match inside a character: widen the match to whole characters.
    let mut start = found.start();
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = found.end();
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let start_chars = text[..start].chars().count();
    let span = MatchSpan {
        start: start_chars,
        end: start_chars + text[start..end].chars().count(),
    };
    let (excerpt, span) = window(text, span, MAX_EXCERPT_CHARS).joined();
    (excerpt, Some(span))
}

/// What every hit in one log is read against.
struct HitContext<'a> {
    log: &'a LogFile,
    velero_namespace: Option<&'a str>,
    locations: &'a [(ObjectRef, Map<String, Value>)],
}

fn record(
    aggregate: &mut LogAggregate,
    matcher: &LogMatcher,
    context: &HitContext<'_>,
    line: &ScannedLine<'_>,
    text: &str,
    fields: &LineFields,
) {
    let log = context.log;
    let velero_namespace = context.velero_namespace;
    aggregate.count += 1;
    let time = fields.time(text);
    if let Some(t) = time {
        widen(&mut aggregate.first_seen, &mut aggregate.last_seen, t);
    }
    if aggregate.examples.len() < MAX_EXAMPLES {
        let (excerpt, span) = excerpt_around_match(text, matcher.regex());
        aggregate.examples.push(Evidence::LogLine {
            file: log.path.clone(),
            line: line.number,
            excerpt,
            time: time.map(|t| t.to_string()),
            span,
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
    // Not `backuprequest=` (the backup controller's "backup failed" line): linked by it, the hit would render the
    // backup's detail without its storage location's bucket (a log line's variables do not know the backup's
    // location), and the Backup's own status.failureReason already carries the same text with them.
    if let Some(backup) = fields.get("backup") {
        related.extend(object_ref(BACKUP_KIND, backup, velero_namespace));
    }
    if let Some(restore) = fields.get("restore") {
        related.extend(object_ref(RESTORE_KIND, restore, velero_namespace));
    }
    related.dedup();
    let locations = storage_locations_named(matcher, line.text, fields, velero_namespace);
    for r in &related {
        if !aggregate.related.contains(r) {
            aggregate.related.push(r.clone());
        }
    }

    // Variables are computed once per hit, and only for a hit that is the first of the rule or of a target.
    let mut variables: Option<Map<String, Value>> = None;
    let mut hit_variables = || {
        variables
            .get_or_insert_with(|| line_variables(matcher, line.text, fields, log, line.number))
            .clone()
    };
    if aggregate.count == 1 {
        let mut first = hit_variables();
        if let Some(location) = locations.first() {
            add_location_variables(&mut first, location, context.locations);
        }
        aggregate.variables = first;
    }
    for target in related.iter().chain(&locations) {
        let index = match aggregate.targets.iter().position(|t| &t.target == target) {
            Some(index) => index,
            None => {
                let mut own = hit_variables();
                add_target_variables(&mut own, target, context.locations);
                aggregate.targets.push(TargetAggregate {
                    target: target.clone(),
                    count: 0,
                    first_seen: None,
                    last_seen: None,
                    variables: own,
                });
                aggregate.targets.len() - 1
            }
        };
        let detail = &mut aggregate.targets[index];
        detail.count += 1;
        if let Some(t) = time {
            widen(&mut detail.first_seen, &mut detail.last_seen, t);
        }
    }
}

fn widen(
    first: &mut Option<jiff::Timestamp>,
    last: &mut Option<jiff::Timestamp>,
    time: jiff::Timestamp,
) {
    if first.is_none_or(|f| time < f) {
        *first = Some(time);
    }
    if last.is_none_or(|l| time > l) {
        *last = Some(time);
    }
}

/// The storage locations a hit names: in its fields, else in the rule's named captures.
fn storage_locations_named(
    matcher: &LogMatcher,
    line: &[u8],
    fields: &LineFields,
    velero_namespace: Option<&str>,
) -> Vec<ObjectRef> {
    let mut found: Vec<ObjectRef> = Vec::new();
    let push = |found: &mut Vec<ObjectRef>, value: &str| {
        if let Some(r) = location_ref(value, velero_namespace)
            && !found.contains(&r)
        {
            found.push(r);
        }
    };
    for field in LOCATION_FIELDS {
        if let Some(value) = fields.get(field) {
            push(&mut found, value);
        }
    }
    let captures_location = matcher
        .capture_names()
        .any(|name| LOCATION_FIELDS.contains(&name));
    if found.is_empty()
        && captures_location
        && let Some(captures) = matcher.regex().captures(line)
    {
        for field in LOCATION_FIELDS {
            if let Some(m) = captures.name(field) {
                push(&mut found, &String::from_utf8_lossy(m.as_bytes()));
            }
        }
    }
    found
}

/// A storage location named in a log: `velero/default` or `default`. Only a valid Kubernetes object name is
/// taken, so a field that happens to be called `location` but holds something else names nothing.
fn location_ref(value: &str, velero_namespace: Option<&str>) -> Option<ObjectRef> {
    let reference = object_ref(LOCATION_KIND, value, velero_namespace)?;
    let valid = |name: &str| {
        !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    (valid(&reference.name) && reference.namespace.as_deref().is_none_or(valid))
        .then_some(reference)
}

/// A target's own name where the hit did not give it (a backup log's lines do not repeat `backup=`), and a storage
/// location's bucket, prefix and provider.
fn add_target_variables(
    variables: &mut Map<String, Value>,
    target: &ObjectRef,
    locations: &[(ObjectRef, Map<String, Value>)],
) {
    let qualified = match &target.namespace {
        Some(namespace) => format!("{namespace}/{}", target.name),
        None => target.name.clone(),
    };
    match target.kind.as_str() {
        BACKUP_KIND => {
            variables
                .entry("backup")
                .or_insert_with(|| Value::String(qualified));
        }
        RESTORE_KIND => {
            variables
                .entry("restore")
                .or_insert_with(|| Value::String(qualified));
        }
        LOCATION_KIND => add_location_variables(variables, target, locations),
        _ => {}
    }
}

fn add_location_variables(
    variables: &mut Map<String, Value>,
    location: &ObjectRef,
    locations: &[(ObjectRef, Map<String, Value>)],
) {
    variables
        .entry("location")
        .or_insert_with(|| Value::String(location.name.clone()));
    let known = locations.iter().find(|(r, _)| {
        r.name == location.name
            && match (&r.namespace, &location.namespace) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    });
    if let Some((_, spec)) = known {
        for (key, value) in spec {
            variables
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
    }
}

/// The variables a storage location object lends a hit naming it.
pub(crate) fn location_variables(object: &Value) -> Map<String, Value> {
    let mut variables = Map::new();
    for (key, pointer) in [
        ("bucket", "/spec/objectStorage/bucket"),
        ("prefix", "/spec/objectStorage/prefix"),
        ("provider", "/spec/provider"),
    ] {
        if let Some(value) = object
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            variables.insert(key.to_string(), Value::String(value.to_string()));
        }
    }
    variables
}

/// A hit's message variables: every field of the line, then the named captures (which win), then where it is.
pub(crate) fn line_variables(
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
    if let Some(captures) = matcher.regex().captures(line) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::RuleSet;

    fn server_scanner(run: &LogRun<'_>) -> Arc<LogScanner> {
        match run.scanners.get(&LogSource::VeleroServer) {
            Some(Ok(Some((scanner, _)))) => Arc::clone(scanner),
            other => panic!("no server scanner built: {other:?}"),
        }
    }

    /// A fleet's second bundle takes the scanner the first built; another block size or a copy of the rules
    /// builds its own.
    #[test]
    fn runs_over_one_rule_set_share_its_scanners() {
        let rules = RuleSet::builtin().unwrap();
        let cache = rules.scanner_cache().unwrap();
        assert!(rules.clone().for_one_bundle().scanner_cache().is_none());
        let mut first = LogRun::new(rules.rules(), None).with_scanner_cache(cache);
        first.ensure_scanner(LogSource::VeleroServer);
        let mut second = LogRun::new(rules.rules(), None).with_scanner_cache(cache);
        second.ensure_scanner(LogSource::VeleroServer);
        assert!(Arc::ptr_eq(
            &server_scanner(&first),
            &server_scanner(&second)
        ));

        let mut small_blocks = LogRun::new(rules.rules(), None)
            .with_scanner_cache(cache)
            .with_block_size(64);
        small_blocks.ensure_scanner(LogSource::VeleroServer);
        assert!(!Arc::ptr_eq(
            &server_scanner(&first),
            &server_scanner(&small_blocks)
        ));

        let copy = rules.clone();
        let mut of_copy =
            LogRun::new(copy.rules(), None).with_scanner_cache(copy.scanner_cache().unwrap());
        of_copy.ensure_scanner(LogSource::VeleroServer);
        assert!(!Arc::ptr_eq(
            &server_scanner(&first),
            &server_scanner(&of_copy)
        ));
    }
}
