//! `rules test`: every rule's `tests.match` samples must fire and its `tests.no_match` samples must not. Log
//! samples go through the same scanner and aggregation as real logs, object samples through the predicate
//! evaluator, compat samples through the table; every fired sample's message is rendered too.
use std::fmt;
use std::io::Cursor;

use serde_json::Value;

use super::logs::LogRun;
use super::{compat_fires, object_finding};
use crate::analyze::rules::{Matcher, Rule, RuleSet, Sample, SampleInput};
use crate::bundle::{LogFile, LogSource};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFailure {
    pub rule_id: String,
    pub file: String,
    /// Line of the sample in the rule file.
    pub line: usize,
    /// `match` or `no_match`.
    pub list: &'static str,
    pub index: usize,
    pub problem: String,
}

impl fmt::Display for SampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} tests.{}[{}]: {}",
            self.file, self.line, self.rule_id, self.list, self.index, self.problem
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct SampleReport {
    pub rules: usize,
    pub samples: usize,
    pub failures: Vec<SampleFailure>,
    /// What each `match` sample renders, by rule id and sample index: the words a user reads for it
    /// (tests/pinned_text.rs keeps them as reviewed snapshots).
    pub messages: Vec<(String, usize, String)>,
}

impl SampleReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every rule's `tests:` samples (docs/rules.md): `snapdoc rules test` and the rule catalog's test.
pub fn run_samples(rules: &RuleSet) -> SampleReport {
    let mut report = SampleReport::default();
    for rule in rules.rules() {
        report.rules += 1;
        let now = rule.tests.now.unwrap_or_else(jiff::Timestamp::now);
        for (list, samples, must_fire) in [
            ("match", &rule.tests.matching, true),
            ("no_match", &rule.tests.no_match, false),
        ] {
            for (index, sample) in samples.iter().enumerate() {
                report.samples += 1;
                let outcome = run_sample(rules, rule, sample, now);
                if let (Ok(Some(message)), true) = (&outcome, must_fire) {
                    report
                        .messages
                        .push((rule.id.clone(), index, message.clone()));
                }
                let problem = match (outcome, must_fire) {
                    (Err(problem), _) => Some(problem),
                    (Ok(Some(_)), true) | (Ok(None), false) => None,
                    (Ok(None), true) => Some("expected the rule to fire; it did not".to_string()),
                    (Ok(Some(message)), false) => Some(format!(
                        "expected the rule not to fire; it fired: {message}"
                    )),
                };
                if let Some(problem) = problem {
                    report.failures.push(SampleFailure {
                        rule_id: rule.id.clone(),
                        file: rule.origin.file.clone(),
                        line: sample.line,
                        list,
                        index,
                        problem,
                    });
                }
            }
        }
    }
    report
}

/// Ok(Some(rendered message)) when the rule fires on the sample, Ok(None) when it does not.
fn run_sample(
    rules: &RuleSet,
    rule: &Rule,
    sample: &Sample,
    now: jiff::Timestamp,
) -> Result<Option<String>, String> {
    match (&rule.matcher, &sample.input) {
        (Matcher::Log(matcher), SampleInput::LogLine { text, source }) => {
            let in_log = log_sample_fires(rules, rule, text, *source)?;
            // The same text, written by Velero into each object field where error text lands, must give the
            // same answer there (docs/rules.md "Places"); only a line's `fields` filters (a level) have no
            // counterpart in a field, so a line they turn away proves nothing about the places.
            let filtered_out = in_log.is_none() && !matcher.fields.is_empty();
            for (kind, paths) in super::places::PLACES {
                for path in paths.iter().filter(|_| !filtered_out) {
                    let in_place = place_sample_fires(rule, kind, path, text);
                    if in_place != in_log.is_some() {
                        let (line, place) = if in_place {
                            ("does not fire", "fires")
                        } else {
                            ("fires", "does not fire")
                        };
                        return Err(format!(
                            "{line} on it as a log line but {place} on it as {kind} {path}"
                        ));
                    }
                }
            }
            Ok(in_log)
        }
        (Matcher::Object(matcher), SampleInput::Object(object)) => {
            let finding = object_finding(rules, rule, matcher, std::slice::from_ref(object), now);
            match finding {
                None => Ok(None),
                Some(_) => {
                    let reference = super::objects::object_ref(&matcher.kind, object);
                    let mut variables = super::objects::variables(matcher, object, &reference);
                    variables.insert("count".into(), Value::from(1));
                    rules
                        .try_render_message(rule, &Value::Object(variables))
                        .map(Some)
                        .map_err(|e| format!("fired, but the message does not render: {e}"))
                }
            }
        }
        (Matcher::Compat(matcher), SampleInput::Versions { subject, against }) => {
            match compat_fires(matcher, subject, against) {
                None => Ok(None),
                Some(variables) => rules
                    .try_render_message(rule, &Value::Object(variables))
                    .map(Some)
                    .map_err(|e| format!("fired, but the message does not render: {e}")),
            }
        }
        _ => Err("the sample does not fit the rule's match kind".into()),
    }
}

/// Ok(Some(rendered message)) when the rule fires on the sample as a line of a `source` log.
fn log_sample_fires(
    rules: &RuleSet,
    rule: &Rule,
    text: &str,
    source: LogSource,
) -> Result<Option<String>, String> {
    let log = sample_log(source);
    let mut run = LogRun::new([rule], Some("velero".to_string()));
    run.scan(&log, Cursor::new(format!("{text}\n").into_bytes()))?;
    let (_, aggregate, _) = run.finish().pop().ok_or("the rule is not a log rule")?;
    if aggregate.count == 0 {
        return Ok(None);
    }
    let mut variables = aggregate.variables;
    variables.insert("count".into(), Value::from(aggregate.count));
    rules
        .try_render_message(rule, &Value::Object(variables))
        .map(Some)
        .map_err(|e| format!("fired, but the message does not render: {e}"))
}

/// Whether the rule fires on `text` written at `path` of an object of `kind` (a Backup's failureReason, …).
fn place_sample_fires(rule: &Rule, kind: &str, path: &str, text: &str) -> bool {
    let mut object = serde_json::json!({"metadata": {
        "name": "sample-object",
        "namespace": "velero",
        "labels": {"velero.io/backup-name": "sample-backup"},
    }});
    set_at(&mut object, path, Value::String(text.to_string()));
    let places = super::places::texts(kind, &[path], std::slice::from_ref(&object));
    let mut run = LogRun::new([rule], Some("velero".to_string()));
    run.absorb_places(&places);
    run.finish()
        .pop()
        .is_some_and(|(_, aggregate, _)| aggregate.count > 0)
}

/// Writes `value` at a place's path (`status.message`, `status.errors[*]`: one element).
fn set_at(object: &mut Value, path: &str, value: Value) {
    let mut here = object;
    for key in path.split('.') {
        let (key, array) = match key.strip_suffix("[*]") {
            Some(key) => (key, true),
            None => (key, false),
        };
        if !here.is_object() {
            *here = Value::Object(serde_json::Map::new());
        }
        here = here
            .as_object_mut()
            .map(|map| map.entry(key).or_insert(Value::Null))
            .expect("an object was just made");
        if array {
            *here = Value::Array(vec![Value::Null]);
            here = &mut here[0];
        }
    }
    *here = value;
}

/// A stand-in log of the sample's source, named as the bundle would name it.
fn sample_log(source: LogSource) -> LogFile {
    let (path, owner, pod, container) = match source {
        LogSource::BackupLog => (
            "velero/backups/sample-backup/backup.log",
            Some("sample-backup"),
            None,
            None,
        ),
        LogSource::RestoreLog => (
            "velero/restores/sample-restore/restore.log",
            Some("sample-restore"),
            None,
            None,
        ),
        LogSource::VeleroServer => (
            "velero/logs/velero-sample/velero.log",
            None,
            Some("velero-sample"),
            Some("velero"),
        ),
        LogSource::NodeAgent => (
            "velero/logs/node-agent-sample/node-agent.log",
            None,
            Some("node-agent-sample"),
            Some("node-agent"),
        ),
        LogSource::Kotsadm => (
            "kots/logs/kotsadm-sample/kotsadm.log",
            None,
            Some("kotsadm-sample"),
            Some("kotsadm"),
        ),
        LogSource::ObjectStore => (
            "object-store/logs/minio-sample/minio.log",
            None,
            Some("minio-sample"),
            Some("minio"),
        ),
        LogSource::RestoreHelper => (
            "velero/logs/db-sample-0/restore-wait.log",
            None,
            Some("db-sample-0"),
            Some("restore-wait"),
        ),
        LogSource::Other => (
            "velero/logs/velero-sample/other.log",
            None,
            Some("velero-sample"),
            Some("other"),
        ),
    };
    LogFile {
        path: path.to_string(),
        source,
        pod: pod.map(str::to_string),
        container: container.map(str::to_string),
        previous: false,
        owner: owner.map(str::to_string),
    }
}
