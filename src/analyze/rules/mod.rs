//! Rule files (YAML, docs/rules.md) → validated rules.
//!
//! Built-in rules come from `crate::embedded::ANALYZERS` (every file under analyzers/); `--rules DIR` adds a
//! user's. Loading validates everything it can before any bundle is read, and reports every problem with the
//! file and line it comes from.
pub(crate) mod explain;
mod load;
pub(crate) mod predicate;
mod spec;
pub(crate) mod template;

use std::fmt;
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde_json::Value;

use super::engine::ScannerCache;
use super::error::AnalyzeError;
use super::findings::{Role, Severity};
use crate::bundle::LogSource;
pub(crate) use predicate::{FieldPath, Predicate, Test};

/// Closed list of categories (docs/rules.md).
pub(crate) const CATEGORIES: &[&str] = &[
    "storage-location",
    "credentials",
    "certificates",
    "bucket-endpoint",
    "repository",
    "node-agent",
    "pod-volume",
    "csi-data-mover",
    "hooks-timeouts",
    "resources",
    "restore",
    "kots",
    "health",
    "compatibility",
    "installation",
    "collection",
];

/// Fact kinds the engine computes (docs/rules.md "Facts").
pub(crate) const FACT_KINDS: &[&str] = &[
    "facts.cluster",
    "facts.schedules",
    "facts.volumes",
    "facts.components",
    "facts.collection",
    "facts.kots",
    "facts.readiness",
    "facts.scheduling",
    "facts.restoreWaits",
    "facts.nodeEvents",
];

/// Components a compat rule may compare (the keys of `BundleFacts::versions`).
pub(crate) const COMPONENTS: &[&str] = &[
    "kubernetes",
    "velero",
    "node-agent",
    "kots",
    "velero-plugin-for-aws",
    "velero-plugin-for-gcp",
    "velero-plugin-for-microsoft-azure",
    "velero-plugin-for-csi",
    "velero-plugin-for-vsphere",
    "local-volume-provider",
];

/// The file a rule was read from, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOrigin {
    /// As shown to people: `analyzers/storage/SD101-bucket-not-found.yaml` for a built-in, the path for a user's.
    pub file: String,
    /// Relative to its rules directory.
    pub relative: String,
    pub builtin: bool,
}

/// One problem in one rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file.
    pub file: String,
    /// The line in it (0 when not known).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl From<Vec<RuleError>> for AnalyzeError {
    fn from(errors: Vec<RuleError>) -> Self {
        if let [single] = errors.as_slice() {
            return AnalyzeError::Rule {
                file: PathBuf::from(&single.file),
                line: single.line,
                message: single.message.clone(),
            };
        }
        AnalyzeError::Rules(errors.iter().map(ToString::to_string).collect())
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    /// Whether the rule names a cause or a generic state (docs/rules.md "role").
    pub role: Role,
    pub category: String,
    pub title: String,
    /// The Handlebars source; rendered through [`RuleSet::render_message`].
    pub message: String,
    pub cause: String,
    pub fix: String,
    pub docs: Vec<String>,
    pub matcher: Matcher,
    pub tests: RuleTests,
    pub origin: RuleOrigin,
    /// Line of `id:` in the file.
    pub line: usize,
}

impl Rule {
    /// log | object | compat
    pub fn match_kind(&self) -> &'static str {
        match self.matcher {
            Matcher::Log(_) => "log",
            Matcher::Object(_) => "object",
            Matcher::Compat(_) => "compat",
        }
    }
}

/// What a rule matches: log lines, objects, or versions against a compatibility table.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Patterns over log lines.
    Log(LogMatcher),
    /// A predicate over objects of one kind.
    Object(ObjectMatcher),
    /// A compatibility table of versions.
    Compat(CompatMatcher),
}

#[derive(Debug, Clone)]
pub struct LogMatcher {
    /// Empty when `any`.
    pub sources: Vec<LogSource>,
    pub(crate) any_source: bool,
    /// The pattern as written.
    pub pattern: String,
    /// [`LogMatcher::regex`], once compiled.
    compiled: std::sync::OnceLock<regex::bytes::Regex>,
    pub fields: Vec<FieldFilter>,
}

impl LogMatcher {
    /// A matcher for `pattern`, which [`compile`] compiled when the rule was loaded.
    pub(crate) fn new(
        sources: Vec<LogSource>,
        any_source: bool,
        pattern: String,
        fields: Vec<FieldFilter>,
    ) -> LogMatcher {
        LogMatcher {
            sources,
            any_source,
            pattern,
            compiled: std::sync::OnceLock::new(),
            fields,
        }
    }

    /// The pattern compiled for one line (bytes: a log need not be valid UTF-8). Compiled when first read, in
    /// the log pass: loading a rule compiles its pattern to check it, then drops it, so that the automata of
    /// every log rule (13 MB for the built-in ones, most of it the one-pass DFAs the regex crate builds for
    /// capture groups) are not held while the objects and the facts are (BENCHMARKS.md, #20).
    pub fn regex(&self) -> &regex::bytes::Regex {
        self.compiled.get_or_init(|| {
            // Compiled once already, when the rule was loaded: the same pattern and limits compile again.
            compile(&self.pattern)
                .unwrap_or_else(|e| unreachable!("a loaded pattern compiles again: {e}"))
        })
    }

    pub(crate) fn applies_to(&self, source: LogSource) -> bool {
        self.any_source || self.sources.contains(&source)
    }

    /// The source a sample line is scanned as when it names none.
    pub(crate) fn default_source(&self) -> LogSource {
        self.sources
            .first()
            .copied()
            .unwrap_or(LogSource::VeleroServer)
    }

    pub(crate) fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.regex().capture_names().flatten()
    }
}

/// A log rule's pattern compiled as the rules and the log pass read it.
pub(crate) fn compile(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(load::REGEX_SIZE_LIMIT)
        .build()
}

/// A filter on a parsed field of a log line: the field's value must be one of `values` (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFilter {
    pub field: String,
    /// Lowercased.
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ObjectMatcher {
    pub kind: String,
    pub when: Predicate,
    /// Message variable → path in the matched object.
    pub capture: Vec<(String, FieldPath)>,
}

#[derive(Debug, Clone)]
pub struct CompatMatcher {
    pub subject: String,
    pub against: String,
    pub table: Vec<CompatRow>,
}

#[derive(Debug, Clone)]
pub struct CompatRow {
    pub subject: semver::VersionReq,
    pub supported: semver::VersionReq,
    /// `supported` as written, for messages and evidence.
    pub(crate) supported_text: String,
}

impl CompatMatcher {
    /// The row the subject's version falls in and whether `against` is outside it: `Some((row, true))` fires.
    pub fn check(
        &self,
        subject: &semver::Version,
        against: &semver::Version,
    ) -> Option<(&CompatRow, bool)> {
        let row = self.table.iter().find(|row| row.subject.matches(subject))?;
        Some((row, !row.supported.matches(against)))
    }
}

#[derive(Debug, Clone, Default)]
pub struct RuleTests {
    /// "now" for the samples' age tests (`tests.now`); None: the time the samples run.
    pub now: Option<jiff::Timestamp>,
    pub matching: Vec<Sample>,
    pub no_match: Vec<Sample>,
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// Line of the sample in the rule file.
    pub line: usize,
    pub input: SampleInput,
}

/// What one rule sample gives the rule to match.
#[derive(Debug, Clone)]
pub enum SampleInput {
    /// A log line, as read from a log of `source`.
    LogLine {
        /// The line, without its newline.
        text: String,
        /// The log it is read from: the sample's `source`, or the rule's default source.
        source: LogSource,
    },
    /// An object of the rule's kind.
    Object(Value),
    /// A version pair for a compatibility rule.
    Versions {
        /// The version the table's rows are looked up by.
        subject: String,
        /// The version checked against the row.
        against: String,
    },
}

/// A validated set of rules with their compiled messages.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    templates: Handlebars<'static>,
    /// The log scanners built for these rules, kept for the next bundle a fleet analyses with them.
    scanners: ScannerCache,
    /// Whether scanners are kept in `scanners` at all (see [`RuleSet::for_one_bundle`]).
    keep_scanners: bool,
}

impl RuleSet {
    /// The built-in catalog.
    pub fn builtin() -> Result<RuleSet, AnalyzeError> {
        Self::load(&[])
    }

    /// The built-in catalog plus every rule under `dirs` (user rules may not reuse a built-in id or name).
    pub fn load(dirs: &[PathBuf]) -> Result<RuleSet, AnalyzeError> {
        load::load_all(dirs).map_err(AnalyzeError::from)
    }

    /// Only the rules under `dir`, checked as user rules are (against the built-in ids and the retired ids),
    /// except that a file at the same relative path as a built-in one is taken as that rule's own source
    /// (so `rules lint analyzers/` works on the catalog itself). Every problem is returned.
    pub fn lint_dir(dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
        load::lint_dir(dir)
    }

    /// Rules from in-memory files `(path as shown, YAML)`, without the built-in catalog: for tests and benches.
    pub fn from_files(files: &[(String, String)]) -> Result<RuleSet, Vec<RuleError>> {
        load::from_files(files)
    }

    /// The rules, in id order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The log scanners built for these rules so far (engine::logs), when they are kept.
    pub(crate) fn scanner_cache(&self) -> Option<&ScannerCache> {
        self.keep_scanners.then_some(&self.scanners)
    }

    /// The rules for analysing one bundle: its log scanners (their automata and lazy DFAs' caches, some 40 MB
    /// on the scale bundle) are freed once its logs are scanned rather than kept for a next bundle, so that the
    /// report is built in memory they held (BENCHMARKS.md, "Analysis memory").
    pub fn for_one_bundle(mut self) -> RuleSet {
        self.keep_scanners = false;
        self
    }

    /// The rule with id `id`, case-insensitive.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Renders a rule's message. Variables a hit does not provide render empty. A template that fails at
    /// render time (a helper given the wrong type) falls back to the message as written: a finding is never lost.
    pub(crate) fn render_message(&self, rule: &Rule, variables: &Value) -> String {
        match self.templates.render(&rule.id, variables) {
            Ok(text) => text.trim().to_string(),
            Err(error) => {
                tracing::warn!(rule = %rule.id, %error, "message did not render");
                rule.message.trim().to_string()
            }
        }
    }

    /// Like [`render_message`](Self::render_message) but reporting the render error (for `rules test`).
    pub(crate) fn try_render_message(
        &self,
        rule: &Rule,
        variables: &Value,
    ) -> Result<String, String> {
        self.templates
            .render(&rule.id, variables)
            .map(|t| t.trim().to_string())
            .map_err(|e| e.to_string())
    }
}
