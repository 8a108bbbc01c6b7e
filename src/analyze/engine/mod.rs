//! Runs a rule set over a bundle: one pass per log for all the log rules of its source, object predicates over
//! the bundle's objects and the fact kinds, compatibility tables over the component versions.
mod anchors;
pub(crate) mod fields;
mod literals;
pub(crate) mod logs;
pub(crate) mod objects;
pub(crate) mod places;
pub(crate) mod samples;
pub(crate) mod scan;
pub(crate) mod streamed;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::analysis::RuleRef;
use super::error::AnalyzeError;
use super::findings::{Evidence, Finding, ObjectRef, TargetDetail};
use super::rules::predicate::lenient_version;
use super::rules::{CompatMatcher, Matcher, ObjectMatcher, Rule, RuleSet};
use crate::bundle::reader::SharedObjects;
use crate::bundle::{Bundle, LogFile};
pub use logs::LogRun;
pub(crate) use logs::LogScan;
pub(crate) use logs::ScannerCache;
use objects::Seen;
pub use scan::{BLOCK_SIZE, LogScanner};

/// What the rules are read against besides the bundle's own objects and logs (from `facts::gather`).
#[derive(Debug, Clone, Copy)]
pub struct EngineContext<'a> {
    /// The bundle's creation time: `older_than` / `newer_than` are measured from it.
    pub now: jiff::Timestamp,
    /// Fact kinds (`facts.cluster`, …) → their objects.
    pub facts: &'a BTreeMap<String, Vec<Value>>,
    /// Component → version, for compat rules.
    pub versions: &'a BTreeMap<String, String>,
    /// Namespace for a backup named without one (a backup log's owner, `backup=name`).
    pub velero_namespace: Option<&'a str>,
}

/// What one run of the rules over a bundle gives.
#[derive(Debug, Clone, Default)]
pub struct EngineOutput {
    /// Sorted: severity (fail first), match kind (log, object, compat), count (most first), rule id.
    pub findings: Vec<Finding>,
    /// Rules that ran and found nothing.
    pub passed: Vec<RuleRef>,
    /// Rules that could not run: no log of their sources, no object of their kind, a version unknown.
    pub not_run: Vec<RuleRef>,
    /// Logs that could not be read to the end (a corrupt entry): said, never silent.
    pub problems: Vec<String>,
}

pub(crate) fn rule_ref(rule: &Rule) -> RuleRef {
    RuleRef {
        id: rule.id.clone(),
        name: rule.name.clone(),
        title: rule.title.clone(),
        category: rule.category.clone(),
    }
}

/// Runs every rule of `rules` over the bundle.
pub fn run(
    bundle: &mut Bundle,
    rules: &RuleSet,
    context: &EngineContext<'_>,
) -> Result<EngineOutput, AnalyzeError> {
    run_with(bundle, rules, context, None)
}

/// [`run`] with another log block size (tests put lines across block boundaries with small blocks).
pub fn run_with(
    bundle: &mut Bundle,
    rules: &RuleSet,
    context: &EngineContext<'_>,
    block_size: Option<usize>,
) -> Result<EngineOutput, AnalyzeError> {
    let logs = LogPass::new(bundle, rules, context, block_size);
    let jobs = logs.jobs(bundle);
    let (objects, scans) = super::parallel::map_jobs(
        bundle,
        &jobs,
        |(_, size)| *size,
        |bundle| ObjectPass::run(bundle, rules, context, &logs.locations),
        |bundle, (log, _)| logs.scan(bundle, log),
    );
    drop(jobs);
    Ok(finish(rules, logs, scans, objects))
}

/// The log rules' part: every log scanned once, each on its own ([`LogPass::scan`], any thread), the results
/// added in the bundle's log order ([`finish`]).
pub(crate) struct LogPass<'r> {
    log_run: LogRun<'r>,
    logs: Vec<LogFile>,
    locations: SharedObjects,
    /// What went wrong before the logs were read (the storage locations' list).
    problems: Vec<String>,
}

/// The storage locations' list, read once for the log rules (which name them) and the object rules on storage
/// locations: a list that cannot be read is one problem, said once.
pub(crate) struct Locations {
    objects: SharedObjects,
    problems: Vec<String>,
}

impl Locations {
    pub(crate) fn read(bundle: &mut Bundle) -> Locations {
        let mut problems = Vec::new();
        let objects = read_objects(bundle, logs::LOCATION_KIND, &mut problems);
        Locations { objects, problems }
    }

    pub(crate) fn objects(&self) -> &SharedObjects {
        &self.objects
    }
}

impl<'r> LogPass<'r> {
    /// Reads the storage locations (the log rules name them) and builds the scanners of the bundle's logs.
    pub(crate) fn new(
        bundle: &mut Bundle,
        rules: &'r RuleSet,
        context: &EngineContext<'_>,
        block_size: Option<usize>,
    ) -> LogPass<'r> {
        let locations = Locations::read(bundle);
        Self::with_locations(bundle, rules, context, block_size, locations)
    }

    /// [`LogPass::new`] with the storage locations already read.
    pub(crate) fn with_locations(
        bundle: &mut Bundle,
        rules: &'r RuleSet,
        context: &EngineContext<'_>,
        block_size: Option<usize>,
        locations: Locations,
    ) -> LogPass<'r> {
        let Locations {
            objects: locations,
            problems,
        } = locations;
        let mut log_run = LogRun::new(rules.rules(), context.velero_namespace.map(str::to_string))
            .with_storage_locations(&locations);
        if let Some(cache) = rules.scanner_cache() {
            log_run = log_run.with_scanner_cache(cache);
        }
        if let Some(size) = block_size {
            log_run = log_run.with_block_size(size);
        }
        let logs = bundle.logs();
        log_run.prepare(&logs);
        LogPass {
            log_run,
            logs,
            locations,
            problems,
        }
    }

    /// The logs to scan, in the order their results are added.
    pub(crate) fn logs(&self) -> &[LogFile] {
        &self.logs
    }

    /// The logs with their sizes, largest scanned first (unknown sizes count as 0).
    pub(crate) fn jobs(&self, bundle: &Bundle) -> Vec<(&LogFile, u64)> {
        self.logs
            .iter()
            .map(|log| (log, bundle.entry_size(&log.path).unwrap_or(0)))
            .collect()
    }

    /// Scans one of [`LogPass::logs`] with `bundle` (this pass's bundle or a reopened reader of it).
    pub(crate) fn scan(&self, bundle: &mut Bundle, log: &LogFile) -> LogScan {
        match bundle.open_entry(&log.path) {
            Ok(reader) => self.scan_reader(log, reader),
            Err(e) => LogScan::failed(e.to_string()),
        }
    }

    /// Scans one of [`LogPass::logs`], read from `reader`.
    pub(crate) fn scan_reader(&self, log: &LogFile, reader: impl std::io::Read) -> LogScan {
        self.log_run.scan_alone(log, reader)
    }

    /// Whether [`LogPass::scan`] reads this log (some rule applies to its source).
    pub(crate) fn reads(&self, log: &LogFile) -> bool {
        self.log_run.reads(log.source)
    }
}

/// The object and compatibility rules' part; reads only the bundle's object lists.
pub(crate) struct ObjectPass<'r> {
    outcomes: Vec<(&'r Rule, Option<Finding>, bool)>,
    /// Error text in object fields, for the log rules ([`places`]).
    places: Vec<places::PlaceText>,
    problems: Vec<String>,
}

impl<'r> ObjectPass<'r> {
    /// Evaluates every object and compat rule; `locations` are the storage locations the log rules read.
    pub(crate) fn run(
        bundle: &mut Bundle,
        rules: &'r RuleSet,
        context: &EngineContext<'_>,
        locations: &SharedObjects,
    ) -> ObjectPass<'r> {
        let pending = ObjectPass::start(bundle, rules, context, locations);
        let kept = streamed::KeptPlaces::of(bundle);
        pending.complete(streamed::StreamedKinds::read(
            bundle,
            &kept,
            rules,
            context.now,
        ))
    }

    /// [`ObjectPass::run`] but for the kinds read as they stream: their rules and places wait for
    /// [`PendingObjectPass::complete`].
    pub(crate) fn start(
        bundle: &mut Bundle,
        rules: &'r RuleSet,
        context: &EngineContext<'_>,
        locations: &SharedObjects,
    ) -> PendingObjectPass<'r> {
        let mut outcomes = Vec::new();
        let mut problems = Vec::new();
        // Where the streamed kinds' outcomes go, and where their list's problem would have been said.
        let mut streamed_outcomes = Vec::new();
        let mut streamed_problems = Vec::new();
        // Object rules read objects once per kind.
        let mut objects_by_kind: HashMap<String, SharedObjects> = HashMap::new();
        objects_by_kind.insert(logs::LOCATION_KIND.to_string(), locations.clone());
        for rule in rules.rules() {
            let Matcher::Object(matcher) = &rule.matcher else {
                continue;
            };
            if streamed::STREAMED_KINDS.contains(&matcher.kind.as_str()) {
                streamed_outcomes.push(outcomes.len());
                streamed_problems.push((matcher.kind.clone(), problems.len()));
                outcomes.push((rule, None, false));
                continue;
            }
            let objects: &[Value] = if matcher.kind.starts_with("facts.") {
                context.facts.get(&matcher.kind).map_or(&[], Vec::as_slice)
            } else {
                if !objects_by_kind.contains_key(&matcher.kind) {
                    let objects = read_objects(bundle, &matcher.kind, &mut problems);
                    objects_by_kind.insert(matcher.kind.clone(), objects);
                }
                &objects_by_kind[&matcher.kind]
            };
            let finding = object_finding(rules, rule, matcher, objects, context.now);
            outcomes.push((rule, finding, !objects.is_empty()));
        }

        // Each kind's texts in the order of the places; a streamed kind's come with its objects.
        let mut place_texts = Vec::new();
        for (kind, paths) in places::PLACES {
            if streamed::STREAMED_KINDS.contains(kind) {
                streamed_problems.push((kind.to_string(), problems.len()));
                place_texts.push(PlaceTexts::Streamed(kind));
                continue;
            }
            let objects = match objects_by_kind.get(*kind) {
                Some(objects) => objects.clone(),
                None => read_objects(bundle, kind, &mut problems),
            };
            place_texts.push(PlaceTexts::Read(places::texts(kind, paths, &objects)));
        }

        // Compat rules.
        for rule in rules.rules() {
            let Matcher::Compat(matcher) = &rule.matcher else {
                continue;
            };
            let subject = context.versions.get(&matcher.subject);
            let against = context.versions.get(&matcher.against);
            let (Some(subject), Some(against)) = (subject, against) else {
                outcomes.push((rule, None, false));
                continue;
            };
            let finding = compat_finding(rules, rule, matcher, subject, against);
            let ran = lenient_version(subject).is_some() && lenient_version(against).is_some();
            outcomes.push((rule, finding, ran));
        }
        PendingObjectPass {
            outcomes,
            streamed_outcomes,
            place_texts,
            problems,
            streamed_problems,
        }
    }
}

/// An [`ObjectPass`] waiting for what the rules and places found in the streamed kinds.
pub(crate) struct PendingObjectPass<'r> {
    outcomes: Vec<(&'r Rule, Option<Finding>, bool)>,
    /// Which of `outcomes` are a streamed kind's rule's, in the rules' order.
    streamed_outcomes: Vec<usize>,
    place_texts: Vec<PlaceTexts>,
    problems: Vec<String>,
    /// Each use of a streamed kind, in order, with how many problems were said before it.
    streamed_problems: Vec<(String, usize)>,
}

enum PlaceTexts {
    Read(Vec<places::PlaceText>),
    Streamed(&'static str),
}

impl<'r> PendingObjectPass<'r> {
    /// The pass as one reading every list in turn would have made it: the streamed kinds' findings, texts and
    /// problems where they would have been.
    pub(crate) fn complete(self, mut streamed: streamed::StreamedKinds<'r>) -> ObjectPass<'r> {
        let PendingObjectPass {
            mut outcomes,
            streamed_outcomes,
            place_texts,
            problems: read_problems,
            streamed_problems,
        } = self;
        let mut problems = Vec::new();
        let mut said = 0;
        for (kind, before) in &streamed_problems {
            problems.extend(read_problems[said..*before].iter().cloned());
            said = *before;
            streamed.say_problem(kind, &mut problems);
        }
        problems.extend(read_problems[said..].iter().cloned());
        for index in streamed_outcomes {
            let (rule, finding, ran) = &mut outcomes[index];
            let Matcher::Object(matcher) = &rule.matcher else {
                continue;
            };
            if let Some(found) = streamed.found(&matcher.kind) {
                *finding = found.take_finding(rule);
                *ran = found.ran;
            }
        }
        let mut places = Vec::new();
        for texts in place_texts {
            match texts {
                PlaceTexts::Read(mut texts) => places.append(&mut texts),
                PlaceTexts::Streamed(kind) => {
                    if let Some(found) = streamed.found(kind) {
                        places.append(&mut found.places);
                    }
                }
            }
        }
        ObjectPass {
            outcomes,
            places,
            problems,
        }
    }
}

/// The engine's output from the log pass (with `scans`, one a log, in the order of [`LogPass::logs`]) and
/// the object pass.
pub(crate) fn finish<'r>(
    rules: &'r RuleSet,
    pass: LogPass<'r>,
    scans: Vec<LogScan>,
    objects: ObjectPass<'r>,
) -> EngineOutput {
    let mut output = EngineOutput {
        problems: pass.problems,
        ..EngineOutput::default()
    };
    let mut log_run = pass.log_run;
    for scan in scans {
        if let Err(problem) = log_run.absorb(scan) {
            tracing::warn!(%problem, "log not fully scanned");
            output
                .problems
                .push(format!("log not fully scanned: {problem}"));
        }
    }
    log_run.forget_scanners();
    // Freed only when the rule set keeps no scanners for a next bundle (one bundle): their pages given back,
    // the places' regex caches and the findings are built in them. A fleet's bundles skip the trim.
    if rules.scanner_cache().is_none() {
        crate::analyze::memory::return_freed_memory();
    }
    log_run.absorb_places(&objects.places);
    let mut outcomes: Vec<(&Rule, Option<Finding>, bool)> = Vec::new();
    for (rule, aggregate, ran) in log_run.finish() {
        let finding = (aggregate.count > 0).then(|| {
            let mut variables = aggregate.variables.clone();
            variables.insert("count".into(), Value::from(aggregate.count));
            let mut finding = new_finding(rules, rule, &Value::Object(variables));
            finding.evidence = aggregate.examples;
            finding.count = aggregate.count;
            finding.first_seen = aggregate.first_seen.map(|t| t.to_string());
            finding.last_seen = aggregate.last_seen.map(|t| t.to_string());
            finding.related = aggregate.related;
            finding.targets = aggregate
                .targets
                .into_iter()
                .map(|target| {
                    let mut variables = target.variables;
                    variables.insert("count".into(), Value::from(target.count));
                    TargetDetail {
                        message: rules.render_message(rule, &Value::Object(variables)),
                        target: target.target,
                        count: target.count,
                        first_seen: target.first_seen.map(|t| t.to_string()),
                        last_seen: target.last_seen.map(|t| t.to_string()),
                    }
                })
                .collect();
            finding
        });
        outcomes.push((rule, finding, ran));
    }
    outcomes.extend(objects.outcomes);
    output.problems.extend(objects.problems);

    for (rule, finding, ran) in outcomes {
        match finding {
            Some(finding) => output.findings.push(finding),
            None if ran => output.passed.push(rule_ref(rule)),
            None => output.not_run.push(rule_ref(rule)),
        }
    }
    sort_findings(&mut output.findings);
    output.passed.sort_by(|a, b| a.id.cmp(&b.id));
    output.not_run.sort_by(|a, b| a.id.cmp(&b.id));
    output
}

/// A resource file that does not parse leaves its rules unrun, said in `problems`; the rest goes on.
fn read_objects(bundle: &mut Bundle, kind: &str, problems: &mut Vec<String>) -> SharedObjects {
    bundle.shared_objects(kind).unwrap_or_else(|e| {
        problems.push(format!("{kind} not read: {e}"));
        SharedObjects::default()
    })
}

/// Severity (fail first), then match kind (log, object, compat: a log signature names a cause most precisely),
/// then count (most first), then rule id.
pub fn sort_findings(findings: &mut [Finding]) {
    fn kind_rank(kind: &str) -> u8 {
        match kind {
            "log" => 0,
            "object" => 1,
            "compat" => 2,
            _ => 3,
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| kind_rank(&a.match_kind).cmp(&kind_rank(&b.match_kind)))
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
}

fn new_finding(rules: &RuleSet, rule: &Rule, variables: &Value) -> Finding {
    Finding {
        rule_id: rule.id.clone(),
        rule_name: rule.name.clone(),
        match_kind: rule.match_kind().to_string(),
        severity: rule.severity,
        role: rule.role,
        category: rule.category.clone(),
        title: rule.title.clone(),
        message: rules.render_message(rule, variables),
        cause: rule.cause.clone(),
        fix: rule.fix.clone(),
        docs: rule.docs.clone(),
        evidence: Vec::new(),
        count: 0,
        first_seen: None,
        last_seen: None,
        related: Vec::new(),
        targets: Vec::new(),
    }
}

/// Objects that get a detail of their own besides a location: few per bundle, and a verdict linked to one of
/// them (verdicts/links.rs) must read that one's message, not the first hit's (another pod's, another
/// repository's).
const OWN_DETAIL_KINDS: [&str; 3] = [
    "facts.components",
    "backuprepositories.velero.io",
    "resticrepositories.velero.io",
];

/// One finding listing every matching object, or None. Each backup, restore or storage location a matching
/// object concerns gets its own detail, rendered with the captures of the first matching object concerning it.
pub(crate) fn object_finding(
    rules: &RuleSet,
    rule: &Rule,
    matcher: &ObjectMatcher,
    objects: &[Value],
    now: jiff::Timestamp,
) -> Option<Finding> {
    let mut matches = ObjectMatches::new(matcher, now);
    for object in objects {
        matches.offer(object);
    }
    matches.finish(rules, rule)
}

/// What [`object_finding`] makes of the objects offered so far, one at a time: an object rule can read a list
/// as it streams and keep only what its matches add, not the objects (engine/streamed.rs).
pub(crate) struct ObjectMatches<'m> {
    matcher: &'m ObjectMatcher,
    now: jiff::Timestamp,
    evidence: Vec<Evidence>,
    related: Vec<ObjectRef>,
    variables: Option<Map<String, Value>>,
    targets: Vec<(ObjectRef, u64, Map<String, Value>, Seen)>,
}

impl<'m> ObjectMatches<'m> {
    pub(crate) fn new(matcher: &'m ObjectMatcher, now: jiff::Timestamp) -> ObjectMatches<'m> {
        ObjectMatches {
            matcher,
            now,
            evidence: Vec::new(),
            related: Vec::new(),
            variables: None,
            targets: Vec::new(),
        }
    }

    /// The next object of the matcher's kind, in the bundle's order.
    pub(crate) fn offer(&mut self, object: &Value) {
        let matcher = self.matcher;
        if !objects::evaluate(&matcher.when, object, self.now) {
            return;
        }
        let reference = objects::object_ref(&matcher.kind, object);
        let own_variables = objects::variables(matcher, object, &reference);
        if self.variables.is_none() {
            self.variables = Some(own_variables.clone());
        }
        let concerned = objects::related(&matcher.kind, object, &reference);
        for r in &concerned {
            if !self.related.contains(r) {
                self.related.push(r.clone());
            }
        }
        let own_detail = (matcher.kind == logs::LOCATION_KIND
            || OWN_DETAIL_KINDS.contains(&matcher.kind.as_str()))
        .then(|| reference.clone());
        // A fact that tells when it happened (a node's event) keeps its own detail per time, so that a verdict
        // reads the one inside its backup's window, not a span joined from others.
        let seen = objects::seen(object);
        for target in concerned.into_iter().chain(own_detail) {
            match self
                .targets
                .iter_mut()
                .find(|(t, _, _, s)| *t == target && *s == seen)
            {
                Some((_, count, _, _)) => *count += 1,
                None => self
                    .targets
                    .push((target, 1, own_variables.clone(), seen.clone())),
            }
        }
        self.evidence
            .push(objects::evidence(matcher, object, &reference));
    }

    /// The finding, if an object matched.
    pub(crate) fn finish(self, rules: &RuleSet, rule: &Rule) -> Option<Finding> {
        let mut variables = self.variables?;
        let evidence = self.evidence;
        variables.insert("count".into(), Value::from(evidence.len()));
        let mut finding = new_finding(rules, rule, &Value::Object(variables));
        finding.count = evidence.len() as u64;
        finding.evidence = evidence;
        finding.related = self.related;
        finding.targets = self
            .targets
            .into_iter()
            .map(|(target, count, mut variables, (first_seen, last_seen))| {
                variables.insert("count".into(), Value::from(count));
                TargetDetail {
                    message: rules.render_message(rule, &Value::Object(variables)),
                    target,
                    count,
                    first_seen,
                    last_seen,
                }
            })
            .collect();
        Some(finding)
    }
}

/// The compat verdict on two versions: Some(variables) when the rule fires.
pub(crate) fn compat_fires(
    matcher: &CompatMatcher,
    subject: &str,
    against: &str,
) -> Option<Map<String, Value>> {
    let subject_version = lenient_version(subject)?;
    let against_version = lenient_version(against)?;
    let (row, fires) = matcher.check(&subject_version, &against_version)?;
    if !fires {
        return None;
    }
    let mut variables = Map::new();
    variables.insert("subject".into(), Value::String(matcher.subject.clone()));
    variables.insert("against".into(), Value::String(matcher.against.clone()));
    variables.insert("subject_version".into(), Value::String(subject.to_string()));
    variables.insert("against_version".into(), Value::String(against.to_string()));
    variables.insert(
        "supported".into(),
        Value::String(row.supported_text.clone()),
    );
    variables.insert("count".into(), Value::from(1));
    Some(variables)
}

fn compat_finding(
    rules: &RuleSet,
    rule: &Rule,
    matcher: &CompatMatcher,
    subject: &str,
    against: &str,
) -> Option<Finding> {
    let variables = compat_fires(matcher, subject, against)?;
    let supported = variables["supported"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut finding = new_finding(rules, rule, &Value::Object(variables));
    finding.count = 1;
    finding.evidence = vec![Evidence::Versions {
        subject: matcher.subject.clone(),
        subject_version: subject.to_string(),
        against: matcher.against.clone(),
        against_version: against.to_string(),
        supported,
    }];
    Some(finding)
}
