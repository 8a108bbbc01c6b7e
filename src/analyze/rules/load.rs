//! Reading and validating rule files. Every problem found is collected (a lint run reports them all), each with
//! the file and line it comes from.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use handlebars::Handlebars;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::predicate::{self, FieldPath, Predicate, Test};
use super::spec::{
    CompatSpec, LogSpec, ObjectSpec, PredicateSpec, RetiredKeyed, RetiredSpec, RuleSpec, TestsSpec,
};
use super::template;
use super::{
    CATEGORIES, COMPONENTS, CompatMatcher, CompatRow, FACT_KINDS, FieldFilter, LogMatcher, Matcher,
    ObjectMatcher, Rule, RuleError, RuleOrigin, RuleSet, RuleTests, Sample, SampleInput,
};
use crate::analyze::engine::scan::check_pattern_size;
use crate::analyze::findings::{Role, Severity};
use crate::bundle::LogSource;

const RETIRED_FILE: &str = "retired.yaml";
/// Compiled size limit of one rule's regex: generous for real signatures, small enough to refuse a blow-up.
pub(super) const REGEX_SIZE_LIMIT: usize = 2 << 20;
/// Log patterns of user rules in all (the built-in catalog's 68 are about 7 KiB).
const MAX_USER_PATTERNS_LEN: usize = 1 << 20;
/// Variables every message may use besides the rule's own.
const COMMON_VARIABLES: &[&str] = &["count"];
const OBJECT_VARIABLES: &[&str] = &["kind", "name", "namespace"];
const COMPAT_VARIABLES: &[&str] = &[
    "subject",
    "against",
    "subject_version",
    "against_version",
    "supported",
];

struct RuleFile {
    display: String,
    relative: String,
    text: String,
    builtin: bool,
}

struct Collected {
    rules: Vec<RuleFile>,
    retired: Vec<RuleFile>,
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

fn builtin_files() -> Collected {
    let mut collected = Collected {
        rules: Vec::new(),
        retired: Vec::new(),
    };
    for (relative, text) in crate::embedded::ANALYZERS {
        if !is_yaml(relative) {
            continue;
        }
        let file = RuleFile {
            display: format!("analyzers/{relative}"),
            relative: relative.to_string(),
            text: text.to_string(),
            builtin: true,
        };
        if *relative == RETIRED_FILE {
            collected.retired.push(file);
        } else {
            collected.rules.push(file);
        }
    }
    collected
}

fn dir_files(dir: &Path) -> Result<Collected, RuleError> {
    let dir_error = |message: String| RuleError {
        file: dir.display().to_string(),
        line: 0,
        message,
    };
    if !dir.is_dir() {
        return Err(dir_error("not a directory of rules".into()));
    }
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let read = std::fs::read_dir(&current).map_err(|e| RuleError {
            file: current.display().to_string(),
            line: 0,
            message: e.to_string(),
        })?;
        for entry in read.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if is_yaml(&entry.file_name().to_string_lossy()) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut collected = Collected {
        rules: Vec::new(),
        retired: Vec::new(),
    };
    for path in paths {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| RuleError {
            file: display.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        let relative = path
            .strip_prefix(dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| display.clone());
        let file = RuleFile {
            display,
            relative: relative.clone(),
            text,
            builtin: false,
        };
        if relative == RETIRED_FILE {
            collected.retired.push(file);
        } else {
            collected.rules.push(file);
        }
    }
    Ok(collected)
}

pub(super) fn load_all(dirs: &[std::path::PathBuf]) -> Result<RuleSet, Vec<RuleError>> {
    let mut collected = builtin_files();
    let mut errors = Vec::new();
    for dir in dirs {
        match dir_files(dir) {
            Ok(more) => {
                collected.rules.extend(more.rules);
                collected.retired.extend(more.retired);
            }
            Err(e) => errors.push(e),
        }
    }
    build(collected, errors, &[])
}

pub(super) fn lint_dir(dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
    let mut collected = dir_files(dir).map_err(|e| vec![e])?;
    let builtin = builtin_files();
    // Built-in rules the directory must not collide with: parsed for their ids and names only.
    let mut taken = Vec::new();
    for file in &builtin.rules {
        if let Ok(spec) = serde_saphyr::from_str::<RuleSpec>(&file.text) {
            taken.push(Taken {
                id: spec.id.value.trim().to_string(),
                name: spec.name.value.trim().to_string(),
                display: file.display.clone(),
                relative: file.relative.clone(),
            });
        }
    }
    collected.retired.extend(builtin.retired);
    build(collected, Vec::new(), &taken)
}

pub(super) fn from_files(files: &[(String, String)]) -> Result<RuleSet, Vec<RuleError>> {
    let mut collected = Collected {
        rules: Vec::new(),
        retired: Vec::new(),
    };
    for (path, text) in files {
        let relative = path.rsplit('/').next().unwrap_or(path).to_string();
        let file = RuleFile {
            display: path.clone(),
            relative: relative.clone(),
            text: text.clone(),
            builtin: false,
        };
        if relative == RETIRED_FILE {
            collected.retired.push(file);
        } else {
            collected.rules.push(file);
        }
    }
    build(collected, Vec::new(), &[])
}

/// A built-in rule's id and name, which a linted directory may not reuse.
struct Taken {
    id: String,
    name: String,
    display: String,
    relative: String,
}

struct Retired {
    reason: String,
    file: String,
    line: usize,
}

fn build(
    collected: Collected,
    mut errors: Vec<RuleError>,
    taken: &[Taken],
) -> Result<RuleSet, Vec<RuleError>> {
    let mut retired: HashMap<String, Retired> = HashMap::new();
    for file in &collected.retired {
        for (entry, line) in parse_retired(file, &mut errors) {
            retired.entry(entry.id.clone()).or_insert(Retired {
                reason: entry.reason,
                file: file.display.clone(),
                line,
            });
        }
    }

    let mut rules = Vec::new();
    for file in &collected.rules {
        let mut file_errors = Vec::new();
        if let Some(rule) = parse_rule(file, &mut file_errors) {
            rules.push(rule);
        }
        errors.extend(file_errors);
    }

    // Ids and names: unique across everything loaded, never a retired id, never a built-in's for a user rule.
    let mut ids: BTreeMap<String, (String, usize, bool)> = BTreeMap::new();
    let mut names: BTreeMap<String, (String, usize, bool)> = BTreeMap::new();
    let mut keep = Vec::new();
    for rule in rules {
        let err = |message: String| RuleError {
            file: rule.origin.file.clone(),
            line: rule.line,
            message,
        };
        let mut ok = true;
        if let Some(r) = retired.get(&rule.id) {
            errors.push(err(format!(
                "id {} is retired ({}:{}: {}); ids are never reused: take a new one",
                rule.id, r.file, r.line, r.reason
            )));
            ok = false;
        }
        for t in taken {
            let same_rule = t.relative == rule.origin.relative;
            if t.id == rule.id && !same_rule {
                errors.push(err(format!(
                    "id {} is the built-in rule {}'s; user rules need their own ids",
                    rule.id, t.display
                )));
                ok = false;
            }
            if t.name == rule.name && !same_rule {
                errors.push(err(format!(
                    "name {} is the built-in rule {}'s; user rules need their own names",
                    rule.name, t.display
                )));
                ok = false;
            }
        }
        if let Some((file, line, builtin)) = ids.get(&rule.id) {
            let whose = if *builtin && !rule.origin.builtin {
                "a built-in rule's id: user rules need their own ids"
            } else {
                "a duplicate id"
            };
            errors.push(err(format!(
                "id {} is {whose} (also {file}:{line})",
                rule.id
            )));
            ok = false;
        } else {
            ids.insert(
                rule.id.clone(),
                (rule.origin.file.clone(), rule.line, rule.origin.builtin),
            );
        }
        if let Some((file, line, _)) = names.get(&rule.name) {
            errors.push(err(format!(
                "name {} is a duplicate (also {file}:{line})",
                rule.name
            )));
            ok = false;
        } else {
            names.insert(
                rule.name.clone(),
                (rule.origin.file.clone(), rule.line, rule.origin.builtin),
            );
        }
        if ok {
            keep.push(rule);
        }
    }

    // The scanner compiles every log rule of a source into one automaton: bounded per pattern above, and in
    // all here, so that many rules just under the per-pattern limit cannot add up to gigabytes either.
    let mut total = 0;
    for rule in keep.iter().filter(|r| !r.origin.builtin) {
        if let Matcher::Log(log) = &rule.matcher {
            total += log.pattern.len();
            if total > MAX_USER_PATTERNS_LEN {
                errors.push(RuleError {
                    file: rule.origin.file.clone(),
                    line: rule.line,
                    message: format!(
                        "match.log.regex of rule {} brings the log patterns of user rules to {total} bytes; at most {} KiB in all",
                        rule.id,
                        MAX_USER_PATTERNS_LEN >> 10
                    ),
                });
                break;
            }
        }
    }

    let mut templates = Handlebars::new();
    templates.register_escape_fn(handlebars::no_escape);
    for rule in &keep {
        if let Err(e) = templates.register_template_string(&rule.id, &rule.message) {
            errors.push(RuleError {
                file: rule.origin.file.clone(),
                line: rule.line,
                message: format!("message: {e}"),
            });
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        return Err(errors);
    }
    keep.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(RuleSet {
        rules: keep,
        templates,
        scanners: crate::analyze::engine::ScannerCache::default(),
        keep_scanners: true,
    })
}

fn line_of<T>(spanned: &Spanned<T>) -> usize {
    usize::try_from(spanned.referenced.line()).unwrap_or(usize::MAX)
}

fn yaml_error(file: &RuleFile, error: &serde_saphyr::Error) -> RuleError {
    let line = error
        .location()
        .map(|l| usize::try_from(l.line()).unwrap_or(0))
        .unwrap_or(0);
    let column = error.location().map(|l| l.column()).unwrap_or(0);
    let mut message = error.without_snippet().to_string();
    // The location is carried separately; drop the library's own " at line X, column Y" tail.
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    if column > 0 {
        message = format!("column {column}: {message}");
    }
    RuleError {
        file: file.display.clone(),
        line,
        message,
    }
}

fn parse_retired(file: &RuleFile, errors: &mut Vec<RuleError>) -> Vec<(RetiredSpec, usize)> {
    let keyed = file
        .text
        .lines()
        .any(|l| l.trim_start().starts_with("retired:"));
    let parsed = if keyed {
        serde_saphyr::from_str::<RetiredKeyed>(&file.text).map(|k| k.retired)
    } else if file
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        Ok(Vec::new())
    } else {
        serde_saphyr::from_str::<Vec<Spanned<RetiredSpec>>>(&file.text)
    };
    match parsed {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|entry| {
                let line = line_of(&entry);
                if !valid_id(&entry.value.id) {
                    errors.push(RuleError {
                        file: file.display.clone(),
                        line,
                        message: format!(
                            "retired id {:?} is not SD followed by 3 digits",
                            entry.value.id
                        ),
                    });
                    return None;
                }
                if entry.value.reason.trim().is_empty() {
                    errors.push(RuleError {
                        file: file.display.clone(),
                        line,
                        message: format!("retired id {} needs a reason", entry.value.id),
                    });
                }
                Some((entry.value, line))
            })
            .collect(),
        Err(e) => {
            errors.push(yaml_error(file, &e));
            Vec::new()
        }
    }
}

fn valid_id(id: &str) -> bool {
    id.len() == 5 && id.starts_with("SD") && id[2..].bytes().all(|b| b.is_ascii_digit())
}

fn valid_kebab(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Collects the errors of one file.
struct FileCheck<'a> {
    file: &'a RuleFile,
    errors: &'a mut Vec<RuleError>,
}

impl FileCheck<'_> {
    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(RuleError {
            file: self.file.display.clone(),
            line,
            message: message.into(),
        });
    }

    fn required_text(&mut self, field: &str, value: &Spanned<String>) -> String {
        let text = value.value.trim();
        if text.is_empty() {
            self.error(line_of(value), format!("{field} is empty"));
        }
        text.to_string()
    }
}

fn parse_rule(file: &RuleFile, errors: &mut Vec<RuleError>) -> Option<Rule> {
    let spec: RuleSpec = match serde_saphyr::from_str(&file.text) {
        Ok(spec) => spec,
        Err(e) => {
            errors.push(yaml_error(file, &e));
            return None;
        }
    };
    let before = errors.len();
    let mut check = FileCheck { file, errors };
    let id_line = line_of(&spec.id);
    let id = spec.id.value.trim().to_string();
    if !valid_id(&id) {
        check.error(
            id_line,
            format!("id {id:?} must be SD followed by 3 digits (SD101)"),
        );
    }
    let name = spec.name.value.trim().to_string();
    if !valid_kebab(&name) {
        check.error(
            line_of(&spec.name),
            format!("name {name:?} must be kebab-case (bucket-not-found)"),
        );
    }
    let stem = file
        .relative
        .rsplit('/')
        .next()
        .unwrap_or("")
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml");
    if valid_id(&id) && valid_kebab(&name) && stem != format!("{id}-{name}") {
        check.error(
            id_line,
            format!("the file must be named {id}-{name}.yaml (id-name), not {stem}.yaml"),
        );
    }
    let severity = match spec.severity.value.trim() {
        "fail" => Severity::Fail,
        "warn" => Severity::Warn,
        "info" => Severity::Info,
        other => {
            check.error(
                line_of(&spec.severity),
                format!("severity {other:?} is not one of fail, warn, info"),
            );
            Severity::Info
        }
    };
    let role = match spec.role.as_ref().map(|r| (r, r.value.trim())) {
        None | Some((_, "cause")) => Role::Cause,
        Some((_, "symptom")) => Role::Symptom,
        Some((spanned, other)) => {
            check.error(
                line_of(spanned),
                format!("role {other:?} is not one of cause, symptom"),
            );
            Role::Cause
        }
    };
    let category = spec.category.value.trim().to_string();
    if !CATEGORIES.contains(&category.as_str()) {
        check.error(
            line_of(&spec.category),
            format!(
                "category {category:?} is not one of {}",
                CATEGORIES.join(", ")
            ),
        );
    }
    let title = check.required_text("title", &spec.title);
    let message = check.required_text("message", &spec.message);
    let cause = check.required_text("cause", &spec.cause);
    let fix = check.required_text("fix", &spec.fix);
    let mut docs = Vec::new();
    for doc in &spec.docs {
        let link = doc.value.trim();
        if !(link.starts_with("https://") || link.starts_with("http://")) {
            check.error(
                line_of(doc),
                format!("docs: {link:?} is not an http(s) link"),
            );
        }
        docs.push(link.to_string());
    }

    let match_line = line_of(&spec.matcher);
    let m = &spec.matcher.value;
    let kinds = [m.log.is_some(), m.object.is_some(), m.compat.is_some()]
        .iter()
        .filter(|k| **k)
        .count();
    let matcher = if kinds != 1 {
        check.error(
            match_line,
            format!("match must have exactly one of log, object, compat (it has {kinds})"),
        );
        None
    } else if let Some(log) = &m.log {
        log_matcher(&mut check, log, &id)
    } else if let Some(object) = &m.object {
        object_matcher(&mut check, object)
    } else if let Some(compat) = &m.compat {
        compat_matcher(&mut check, compat)
    } else {
        None
    };

    // Sample lists and the message template are checked even when the match is invalid: one lint run reports all.
    let tests = match &matcher {
        Some(matcher) => samples(&mut check, &spec.tests, matcher),
        None => {
            require_samples(&mut check, &spec.tests);
            RuleTests::default()
        }
    };
    check_message(&mut check, &spec.message, matcher.as_ref());

    if check.errors.len() > before {
        return None;
    }
    Some(Rule {
        id,
        name,
        severity,
        role,
        category,
        title,
        message,
        cause,
        fix,
        docs,
        matcher: matcher?,
        tests,
        origin: RuleOrigin {
            file: file.display.clone(),
            relative: file.relative.clone(),
            builtin: file.builtin,
        },
        line: id_line,
    })
}

fn log_matcher(check: &mut FileCheck<'_>, log: &Spanned<LogSpec>, id: &str) -> Option<Matcher> {
    let spec = &log.value;
    let before = check.errors.len();
    let sources_line = line_of(&spec.sources);
    let mut sources = Vec::new();
    let mut any_source = false;
    let listed = spec.sources.value.to_vec();
    if listed.is_empty() {
        check.error(sources_line, "match.log.sources is empty");
    }
    for source in listed {
        let source = source.trim();
        if source == "any" {
            any_source = true;
            continue;
        }
        match source.parse::<LogSource>() {
            Ok(s) => {
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
            Err(_) => check.error(
                sources_line,
                format!(
                    "match.log.sources: {source:?} is not one of velero-server, node-agent, backup-log, restore-log, kotsadm, other, any"
                ),
            ),
        }
    }
    if any_source {
        sources.clear();
    }
    let regex_line = line_of(&spec.regex);
    let pattern = spec.regex.value.clone();
    let regex = match check_pattern_size(&pattern) {
        Err(e) => {
            check.error(regex_line, format!("match.log.regex of rule {id} {e}"));
            None
        }
        Ok(()) => match super::compile(&pattern) {
            Ok(regex) => Some(regex),
            Err(e) => {
                check.error(regex_line, format!("match.log.regex does not compile: {e}"));
                None
            }
        },
    };
    if let Some(regex) = &regex {
        if regex.is_match(b"") {
            check.error(
                regex_line,
                "match.log.regex matches an empty line, so it would fire on every line",
            );
        }
        // The scanner searches whole blocks of lines: `\A` / `\z` would mean the block's ends, not the line's.
        if pattern.contains("\\A") || pattern.contains("\\z") {
            check.error(
                regex_line,
                "match.log.regex: use ^ and $ (a line's ends), not \\A or \\z",
            );
        }
    }
    let mut fields = Vec::new();
    for (field, values) in &spec.fields {
        let values = values.value.to_vec();
        if field.trim().is_empty() || values.is_empty() {
            check.error(
                line_of(&spec.fields[field]),
                format!("match.log.fields.{field}: needs a field name and at least one value"),
            );
        }
        fields.push(FieldFilter {
            field: field.trim().to_string(),
            values: values.iter().map(|v| v.trim().to_lowercase()).collect(),
        });
    }
    if check.errors.len() > before {
        return None;
    }
    // Checked, then dropped: compiled again when the log pass reads it (LogMatcher::regex).
    regex?;
    Some(Matcher::Log(LogMatcher::new(
        sources, any_source, pattern, fields,
    )))
}

fn valid_kind(kind: &str) -> bool {
    let mut parts = kind.split('.');
    let first_ok = parts.next().is_some_and(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    first_ok
        && parts.all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn object_matcher(check: &mut FileCheck<'_>, object: &Spanned<ObjectSpec>) -> Option<Matcher> {
    let spec = &object.value;
    let before = check.errors.len();
    let kind = spec.kind.value.trim().to_string();
    if kind.starts_with("facts.") {
        if !FACT_KINDS.contains(&kind.as_str()) {
            check.error(
                line_of(&spec.kind),
                format!(
                    "match.object.kind: {kind:?} is not one of {}",
                    FACT_KINDS.join(", ")
                ),
            );
        }
    } else if !valid_kind(&kind) {
        check.error(
            line_of(&spec.kind),
            format!(
                "match.object.kind: {kind:?} is not a resource (a core plural like pods, or <plural>.<group> like backups.velero.io)"
            ),
        );
    }
    let when = compile_predicate(check, &spec.when);
    let mut capture = Vec::new();
    for (variable, path) in &spec.capture {
        // The engine sets `count` (how many objects matched) after the captures: a capture of that name would
        // be silently replaced, and its message would say "1 backups" of nine.
        if variable == "count" {
            check.error(
                line_of(path),
                "match.object.capture.count: `count` is the engine's own variable (objects matched); name the capture otherwise".to_string(),
            );
            continue;
        }
        match FieldPath::parse(path.value.trim()) {
            Ok(p) => capture.push((variable.clone(), p)),
            Err(e) => check.error(
                line_of(path),
                format!("match.object.capture.{variable}: {e}"),
            ),
        }
    }
    if check.errors.len() > before {
        return None;
    }
    Some(Matcher::Object(ObjectMatcher {
        kind,
        when: when?,
        capture,
    }))
}

fn compile_predicate(
    check: &mut FileCheck<'_>,
    node: &Spanned<PredicateSpec>,
) -> Option<Predicate> {
    let line = line_of(node);
    let p = &node.value;
    let combinators = [p.all.is_some(), p.any.is_some(), p.not.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    let mut tests: Vec<Result<Test, String>> = Vec::new();
    if let Some(v) = &p.equals {
        tests.push(Ok(Test::Equals(v.clone())));
    }
    if let Some(v) = &p.in_values {
        tests.push(if v.is_empty() {
            Err("`in` needs at least one value".into())
        } else {
            Ok(Test::In(v.clone()))
        });
    }
    if let Some(v) = &p.matches {
        tests.push(
            check_pattern_size(v)
                .map_err(|e| format!("`matches` regex {e}"))
                .and_then(|()| {
                    regex::RegexBuilder::new(v)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| format!("`matches` regex does not compile: {e}"))
                })
                .map(Test::Matches),
        );
    }
    if let Some(v) = p.exists {
        tests.push(Ok(Test::Exists(v)));
    }
    if let Some(v) = p.absent {
        tests.push(Ok(Test::Exists(!v)));
    }
    if let Some(v) = &p.older_than {
        tests.push(
            predicate::parse_duration(v)
                .map(Test::OlderThan)
                .map_err(|e| format!("older_than: {e}")),
        );
    }
    if let Some(v) = &p.newer_than {
        tests.push(
            predicate::parse_duration(v)
                .map(Test::NewerThan)
                .map_err(|e| format!("newer_than: {e}")),
        );
    }
    if let Some(v) = &p.semver {
        tests.push(predicate::parse_range(v).map(Test::Semver));
    }
    if let Some(v) = p.greater_than {
        tests.push(Ok(Test::GreaterThan(v)));
    }
    if let Some(v) = p.less_than {
        tests.push(Ok(Test::LessThan(v)));
    }

    if combinators == 1 && tests.is_empty() && p.path.is_none() {
        if let Some(items) = p.all.as_ref().or(p.any.as_ref()) {
            if items.is_empty() {
                check.error(line, "all / any needs at least one predicate");
                return None;
            }
            let compiled: Vec<Option<Predicate>> = items
                .iter()
                .map(|item| compile_predicate(check, item))
                .collect();
            let compiled: Option<Vec<Predicate>> = compiled.into_iter().collect();
            let compiled = compiled?;
            return Some(if p.all.is_some() {
                Predicate::All(compiled)
            } else {
                Predicate::Any(compiled)
            });
        }
        let inner = p.not.as_ref()?;
        return compile_predicate(check, inner).map(|x| Predicate::Not(Box::new(x)));
    }
    if combinators == 0 && tests.len() == 1 {
        let Some(path_text) = &p.path else {
            check.error(line, "a test needs a `path`");
            return None;
        };
        let path = match FieldPath::parse(path_text.trim()) {
            Ok(path) => path,
            Err(e) => {
                check.error(line, e);
                return None;
            }
        };
        return match tests.pop() {
            Some(Ok(test)) => Some(Predicate::Test { path, test }),
            Some(Err(e)) => {
                check.error(line, format!("path {path}: {e}"));
                None
            }
            None => None,
        };
    }
    check.error(
        line,
        format!(
            "a predicate is `path` with exactly one test (equals, in, matches, exists, absent, older_than, newer_than, semver, greater_than, less_than), or exactly one of all / any / not; this one has {} test(s) and {combinators} combinator(s){}",
            tests.len(),
            if combinators > 0 && p.path.is_some() { " and a path" } else { "" }
        ),
    );
    None
}

fn compat_matcher(check: &mut FileCheck<'_>, compat: &Spanned<CompatSpec>) -> Option<Matcher> {
    let spec = &compat.value;
    let before = check.errors.len();
    for (field, value) in [("subject", &spec.subject), ("against", &spec.against)] {
        if !COMPONENTS.contains(&value.value.trim()) {
            check.error(
                line_of(value),
                format!(
                    "match.compat.{field}: {:?} is not one of {}",
                    value.value,
                    COMPONENTS.join(", ")
                ),
            );
        }
    }
    if spec.subject.value.trim() == spec.against.value.trim() {
        check.error(
            line_of(&spec.against),
            "match.compat: subject and against are the same component",
        );
    }
    if spec.table.is_empty() {
        check.error(line_of(compat), "match.compat.table is empty");
    }
    let mut table = Vec::new();
    for row in &spec.table {
        let line = line_of(row);
        let subject = predicate::parse_range(&row.value.subject);
        let supported = predicate::parse_range(&row.value.supported);
        match (subject, supported) {
            (Ok(subject), Ok(supported)) => table.push(CompatRow {
                subject,
                supported,
                supported_text: row.value.supported.trim().to_string(),
            }),
            (Err(e), _) | (_, Err(e)) => check.error(line, format!("match.compat.table: {e}")),
        }
    }
    if check.errors.len() > before {
        return None;
    }
    Some(Matcher::Compat(CompatMatcher {
        subject: spec.subject.value.trim().to_string(),
        against: spec.against.value.trim().to_string(),
        table,
    }))
}

fn samples(check: &mut FileCheck<'_>, tests: &Spanned<TestsSpec>, matcher: &Matcher) -> RuleTests {
    require_samples(check, tests);
    let spec = &tests.value;
    let now = spec
        .now
        .as_ref()
        .and_then(|now| match now.value.trim().parse::<jiff::Timestamp>() {
            Ok(t) => Some(t),
            Err(e) => {
                check.error(
                    line_of(now),
                    format!("tests.now: not an RFC 3339 time: {e}"),
                );
                None
            }
        });
    let mut convert = |list: &[Spanned<Value>], which: &str| -> Vec<Sample> {
        list.iter()
            .enumerate()
            .filter_map(|(index, sample)| {
                let line = line_of(sample);
                match sample_input(&sample.value, matcher) {
                    Ok(input) => Some(Sample { line, input }),
                    Err(e) => {
                        check.error(line, format!("tests.{which}[{index}]: {e}"));
                        None
                    }
                }
            })
            .collect()
    };
    let matching = convert(&spec.matching, "match");
    let no_match = convert(&spec.no_match, "no_match");
    RuleTests {
        now,
        matching,
        no_match,
    }
}

fn require_samples(check: &mut FileCheck<'_>, tests: &Spanned<TestsSpec>) {
    let line = line_of(tests);
    if tests.value.matching.is_empty() {
        check.error(line, "tests.match needs at least one sample that must fire");
    }
    if tests.value.no_match.is_empty() {
        check.error(
            line,
            "tests.no_match needs at least one sample that must not fire",
        );
    }
}

fn sample_input(value: &Value, matcher: &Matcher) -> Result<SampleInput, String> {
    match matcher {
        Matcher::Log(log) => {
            let (text, source) = match value {
                Value::String(s) => (s.clone(), log.default_source()),
                Value::Object(map) => {
                    for key in map.keys() {
                        if key != "line" && key != "source" {
                            return Err(format!(
                                "unknown key {key:?} (a log sample is a string or {{line, source}})"
                            ));
                        }
                    }
                    let Some(Value::String(text)) = map.get("line") else {
                        return Err("a log sample object needs `line: \"...\"`".into());
                    };
                    let source = match map.get("source") {
                        None => log.default_source(),
                        Some(Value::String(s)) => s.parse::<LogSource>()?,
                        Some(_) => return Err("`source` must be a string".into()),
                    };
                    if !log.applies_to(source) {
                        return Err(format!(
                            "source {} is not one the rule scans",
                            source.as_str()
                        ));
                    }
                    (text.clone(), source)
                }
                _ => return Err("a log sample is a string (one log line) or {line, source}".into()),
            };
            let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
            if text.contains('\n') {
                return Err(
                    "a log sample is one line (use a YAML single-line string, or `>-`)".into(),
                );
            }
            Ok(SampleInput::LogLine { text, source })
        }
        Matcher::Object(_) => match value {
            Value::Object(_) => Ok(SampleInput::Object(value.clone())),
            _ => Err("an object rule's sample is an object (a YAML map)".into()),
        },
        Matcher::Compat(_) => {
            let Value::Object(map) = value else {
                return Err("a compat sample is {subject: \"1.50.0\", against: \"1.6.2\"}".into());
            };
            let get = |key: &str| -> Result<String, String> {
                match map.get(key) {
                    Some(Value::String(s)) => {
                        predicate::lenient_version(s)
                            .ok_or_else(|| format!("{key}: {s:?} is not a version"))?;
                        Ok(s.clone())
                    }
                    Some(Value::Number(n)) => Err(format!(
                        "{key}: {n} reads as a number; quote versions (\"{n}\")"
                    )),
                    _ => Err(format!("needs `{key}: \"<version>\"`")),
                }
            };
            let subject = get("subject")?;
            let against = get("against")?;
            if let Some(key) = map.keys().find(|k| *k != "subject" && *k != "against") {
                return Err(format!(
                    "unknown key {key:?} (a compat sample has subject and against)"
                ));
            }
            Ok(SampleInput::Versions { subject, against })
        }
    }
}

fn check_message(check: &mut FileCheck<'_>, message: &Spanned<String>, matcher: Option<&Matcher>) {
    let line = line_of(message);
    let template = match template::compile(&message.value) {
        Ok(t) => t,
        Err((offset, e)) => {
            check.error(
                line + offset.saturating_sub(1),
                format!("message is not a valid template: {e}"),
            );
            return;
        }
    };
    let used = template::uses(&template);
    for helper in &used.unknown_helpers {
        check.error(line, format!("message uses the unknown helper {helper:?}"));
    }
    // A log rule's variables include any field of the line, so only object and compat messages are checkable.
    let allowed: Vec<String> = match matcher {
        None | Some(Matcher::Log(_)) => return,
        Some(Matcher::Object(object)) => object
            .capture
            .iter()
            .map(|(name, _)| name.clone())
            .chain(OBJECT_VARIABLES.iter().map(|s| s.to_string()))
            .collect(),
        Some(Matcher::Compat(_)) => COMPAT_VARIABLES.iter().map(|s| s.to_string()).collect(),
    };
    for variable in used.variables {
        if !allowed.contains(&variable) && !COMMON_VARIABLES.contains(&variable.as_str()) {
            check.error(
                line,
                format!(
                    "message uses {{{{{variable}}}}}, which this rule never provides (it provides: {})",
                    allowed
                        .iter()
                        .map(String::as_str)
                        .chain(COMMON_VARIABLES.iter().copied())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}
