//! The rule engine end to end: small bundles written with BundleWriter, rules from YAML, exact findings.
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use snapdoc::analyze::{
    BLOCK_SIZE, EngineContext, EngineOutput, LogScanner, run_engine_with, run_samples,
    sort_findings,
};
use snapdoc::analyze::{Evidence, Finding, ObjectRef, Severity};
use snapdoc::analyze::{Matcher, RuleError, RuleSet, SampleInput};
use snapdoc::bundle::RunInfo;
use snapdoc::bundle::{Bundle, BundleWriter};

const CREATED: &str = "2026-11-25T12:00:00Z";

/// A complete rule file; `body` holds `match:` and `tests:`, and may override message / severity.
fn rule_yaml(id: &str, name: &str, severity: &str, message: &str, body: &str) -> (String, String) {
    let text = format!(
        "id: {id}\nname: {name}\nseverity: {severity}\ncategory: bucket-endpoint\ntitle: Title of {name}\n\
         message: '{message}'\ncause: Because.\nfix: Do this.\ndocs:\n  - https://velero.io/docs/main/troubleshooting/\n{body}"
    );
    (format!("rules/{id}-{name}.yaml"), text)
}

fn bucket_rule() -> (String, String) {
    rule_yaml(
        "SD901",
        "bucket-missing",
        "fail",
        "bucket {{bucket}} is missing ({{count}} hits, level {{level}})",
        r#"match:
  log:
    sources: [velero-server, backup-log]
    regex: 'NoSuchBucket: The specified bucket does not exist(?:.*?bucket=(?P<bucket>[\w.-]+))?'
tests:
  match:
    - 'level=error msg="x" error="NoSuchBucket: The specified bucket does not exist" bucket=b1'
  no_match:
    - 'level=error msg="NoSuchKey: The specified key does not exist"'
"#,
    )
}

fn timeout_rule() -> (String, String) {
    rule_yaml(
        "SD902",
        "pvb-timeout",
        "warn",
        "{{msg}}",
        r#"match:
  log:
    sources: [node-agent, backup-log]
    regex: 'timed out waiting for'
    fields:
      level: [error, fatal]
tests:
  match:
    - {line: 'level=error msg="timed out waiting for all PodVolumeBackups"', source: backup-log}
  no_match:
    - 'level=info msg="timed out waiting for all PodVolumeBackups"'
"#,
    )
}

fn bsl_rule() -> (String, String) {
    rule_yaml(
        "SD903",
        "bsl-unavailable",
        "fail",
        "location {{location}} is unavailable ({{count}} of them)",
        r#"match:
  object:
    kind: backupstoragelocations.velero.io
    when:
      all:
        - {path: status.phase, equals: Unavailable}
        - not: {path: spec.accessMode, equals: ReadOnly}
    capture:
      location: metadata.name
tests:
  match:
    - {metadata: {name: default}, status: {phase: Unavailable}}
  no_match:
    - {metadata: {name: default}, status: {phase: Available}}
"#,
    )
}

fn pvb_rule() -> (String, String) {
    rule_yaml(
        "SD904",
        "pvb-failed",
        "warn",
        "pod volume backup {{name}} failed: {{reason}}",
        r#"match:
  object:
    kind: podvolumebackups.velero.io
    when: {path: status.phase, equals: Failed}
    capture:
      reason: status.message
tests:
  match:
    - {metadata: {name: p}, status: {phase: Failed, message: boom}}
  no_match:
    - {metadata: {name: p}, status: {phase: Completed}}
"#,
    )
}

fn stale_schedule_rule() -> (String, String) {
    rule_yaml(
        "SD905",
        "schedule-stale",
        "info",
        "schedule {{name}} last completed {{last}}",
        r#"match:
  object:
    kind: facts.schedules
    when:
      all:
        - {path: paused, equals: false}
        - {path: lastCompletedBackup, older_than: 48h}
    capture:
      last: lastCompletedBackup
tests:
  now: "2026-11-25T12:00:00Z"
  match:
    - {name: daily, paused: false, lastCompletedBackup: "2026-11-20T00:00:00Z"}
  no_match:
    - {name: daily, paused: false, lastCompletedBackup: "2026-11-25T00:00:00Z"}
"#,
    )
}

fn compat_rule() -> (String, String) {
    rule_yaml(
        "SD906",
        "kots-velero-unsupported",
        "warn",
        "KOTS {{subject_version}} supports Velero {{supported}}, not {{against_version}}",
        r#"match:
  compat:
    subject: kots
    against: velero
    table:
      - subject: ">=1.15.0, <1.20.3"
        supported: ">=1.2.0, <1.3.0"
      - subject: ">=1.20.3, <1.94.1"
        supported: ">=1.5.1, <1.10.0"
tests:
  match:
    - {subject: "1.50.0", against: "1.12.0"}
  no_match:
    - {subject: "1.50.0", against: "1.6.2"}
"#,
    )
}

fn all_rules() -> RuleSet {
    RuleSet::from_files(&[
        bucket_rule(),
        timeout_rule(),
        bsl_rule(),
        pvb_rule(),
        stale_schedule_rule(),
        compat_rule(),
    ])
    .unwrap_or_else(|e| panic!("{e:?}"))
}

fn ordinary_line(i: usize) -> String {
    format!(
        "time=\"2026-11-25T10:{:02}:{:02}Z\" level=info msg=\"Processing item\" backup=velero/daily-{} \
         logSource=\"pkg/backup/item_backupper.go:{}\" resource=pods name=app-{i}\n",
        (i / 60) % 60,
        i % 60,
        i % 7,
        100 + i % 400
    )
}

/// A velero server log of `total` lines; `signature_at` lines (1-based) carry the bucket error.
fn server_log(total: usize, signature_at: &[usize]) -> String {
    let mut log = String::new();
    for n in 1..=total {
        if signature_at.contains(&n) {
            log.push_str(&format!(
                "time=\"2026-11-25T11:{:02}:00Z\" level=error msg=\"Error listing backups\" backup=velero/nightly-{n} \
                 error=\"rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\" \
                 bucket=snap-bucket-{n}\n",
                n % 60
            ));
        } else {
            log.push_str(&ordinary_line(n));
        }
    }
    log
}

fn write_bundle(path: &Path, logs: &[(&str, &[u8])], objects: &[(&str, Value)]) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    for (entry, text) in logs {
        writer.add_stream(entry, *text).unwrap();
    }
    for (entry, value) in objects {
        writer.add_json(entry, value).unwrap();
    }
    writer
        .finish(RunInfo {
            created: Some(CREATED.into()),
            ..RunInfo::default()
        })
        .unwrap();
}

struct Facts {
    facts: BTreeMap<String, Vec<Value>>,
    versions: BTreeMap<String, String>,
}

impl Facts {
    fn none() -> Facts {
        Facts {
            facts: BTreeMap::new(),
            versions: BTreeMap::new(),
        }
    }
    fn context(&self) -> EngineContext<'_> {
        EngineContext {
            now: CREATED.parse().unwrap(),
            facts: &self.facts,
            versions: &self.versions,
            velero_namespace: Some("velero"),
        }
    }
}

fn run(path: &Path, rules: &RuleSet, facts: &Facts, block: Option<usize>) -> EngineOutput {
    let mut bundle = Bundle::open(path).unwrap();
    run_engine_with(&mut bundle, rules, &facts.context(), block).unwrap()
}

fn finding<'a>(output: &'a EngineOutput, id: &str) -> &'a Finding {
    output
        .findings
        .iter()
        .find(|f| f.rule_id == id)
        .unwrap_or_else(|| panic!("no finding {id} in {:#?}", output.findings))
}

fn lines_of(finding: &Finding) -> Vec<(String, u64)> {
    finding
        .evidence
        .iter()
        .map(|e| match e {
            Evidence::LogLine { file, line, .. } => (file.clone(), *line),
            other => panic!("not a log line: {other:?}"),
        })
        .collect()
}

fn backup(name: &str) -> ObjectRef {
    ObjectRef {
        kind: "backups.velero.io".into(),
        namespace: Some("velero".into()),
        name: name.into(),
    }
}

#[test]
fn signature_lines_among_thousands_are_found_with_exact_lines_at_any_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    let hits = [17, 2500, 4999, 5000];
    let log = server_log(5000, &hits);
    write_bundle(
        &path,
        &[("velero/logs/velero-6d4/velero.log", log.as_bytes())],
        &[],
    );
    let rules = all_rules();
    let facts = Facts::none();
    let reference = run(&path, &rules, &facts, None);
    let found = finding(&reference, "SD901");
    assert_eq!(found.count, 4);
    assert_eq!(found.severity, Severity::Fail);
    assert_eq!(found.match_kind, "log");
    assert_eq!(
        lines_of(found),
        hits.iter()
            .map(|&n| ("velero/logs/velero-6d4/velero.log".to_string(), n as u64))
            .collect::<Vec<_>>()
    );
    // The message takes the first hit's captures and fields, and the total count.
    assert_eq!(
        found.message,
        "bucket snap-bucket-17 is missing (4 hits, level error)"
    );
    assert_eq!(
        found.related,
        vec![
            backup("nightly-17"),
            backup("nightly-2500"),
            backup("nightly-4999"),
            backup("nightly-5000")
        ]
    );
    assert_eq!(found.first_seen.as_deref(), Some("2026-11-25T11:17:00Z"));
    assert_eq!(found.last_seen.as_deref(), Some("2026-11-25T11:40:00Z"));
    let Evidence::LogLine { excerpt, time, .. } = &found.evidence[0] else {
        unreachable!()
    };
    assert!(excerpt.contains("bucket=snap-bucket-17"));
    assert_eq!(time.as_deref(), Some("2026-11-25T11:17:00Z"));
    // Lines cut by every kind of block boundary give the same findings (each block holds a few whole lines).
    for block in [300, 397, 1000, 4096, 65_536] {
        let output = run(&path, &rules, &facts, Some(block));
        assert_eq!(output.findings, reference.findings, "block size {block}");
    }
}

#[test]
fn a_line_longer_than_the_block_is_scanned_whole_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    let block = BLOCK_SIZE;
    let mut log = server_log(3, &[]);
    // Line 4: 2.5 blocks long, the signature at its very end and again in the middle (one hit for the line).
    let filler = "x".repeat(block + block / 4);
    log.push_str(&format!(
        "level=error msg=\"{filler} NoSuchBucket: The specified bucket does not exist {filler} \
         NoSuchBucket: The specified bucket does not exist bucket=huge\"\n"
    ));
    log.push_str(&server_log(2, &[2]));
    // The last line has no newline.
    log.push_str(
        "level=error msg=\"NoSuchBucket: The specified bucket does not exist\" bucket=tail",
    );
    write_bundle(
        &path,
        &[("velero/logs/velero-6d4/velero.log", log.as_bytes())],
        &[],
    );
    let output = run(&path, &all_rules(), &Facts::none(), None);
    let found = finding(&output, "SD901");
    let lines: Vec<u64> = lines_of(found).into_iter().map(|(_, n)| n).collect();
    assert_eq!(lines, vec![4, 6, 7]);
    assert_eq!(found.count, 3);
    let Evidence::LogLine { excerpt, span, .. } = &found.evidence[0] else {
        unreachable!()
    };
    // Two cuts (`…` each) around 2,000 characters; the match past the first 2,000 characters is kept.
    assert!(excerpt.chars().count() <= 2002, "excerpt is bounded");
    assert!(
        excerpt.starts_with('…') && excerpt.ends_with('…'),
        "cut on both sides"
    );
    let span = span.expect("the match is located");
    let matched: String = excerpt
        .chars()
        .skip(span.start)
        .take(span.end - span.start)
        .collect();
    assert!(matched.contains("NoSuchBucket"), "{matched}");
}

#[test]
fn scanner_reports_lines_across_tiny_blocks() {
    let scanner = LogScanner::new(&["b+c", "^start", "end$"])
        .unwrap()
        .with_block_size(64);
    let text = format!(
        "start here\r\n{}\nxx bbbc yy\n{} the end\n{}end\nno",
        "a".repeat(200),
        "z".repeat(70),
        "q".repeat(10)
    );
    let mut seen = Vec::new();
    let stats = scanner
        .scan(text.as_bytes(), &mut |line| {
            seen.push((
                line.number,
                line.patterns.to_vec(),
                line.partial,
                String::from_utf8_lossy(line.text).into_owned(),
            ))
        })
        .unwrap();
    assert_eq!(stats.lines, 6);
    assert_eq!(stats.bytes, text.len() as u64);
    assert_eq!(seen[0], (1, vec![1], false, "start here".to_string()));
    assert_eq!(seen[1], (3, vec![0], false, "xx bbbc yy".to_string()));
    // Line 4 is longer than the block: reported from its last window, as partial.
    assert_eq!((seen[2].0, &seen[2].1, seen[2].2), (4, &vec![2], true));
    assert_eq!(
        seen[3],
        (5, vec![2], false, format!("{}end", "q".repeat(10)))
    );
    assert_eq!(seen.len(), 4);
}

#[test]
fn field_filters_owners_and_sources() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    let backup_log = "time=\"2026-11-25T09:00:00Z\" level=info msg=\"timed out waiting for nothing\"\n\
                      time=\"2026-11-25T09:05:00Z\" level=error msg=\"timed out waiting for all PodVolumeBackups to complete\"\n";
    let node_agent = "{\"level\":\"fatal\",\"ts\":\"2026-11-25T09:06:00Z\",\"msg\":\"timed out waiting for cache sync\",\"restore\":\"velero/r1\"}\n";
    // A velero-server log is not one of the timeout rule's sources.
    let server = "level=error msg=\"timed out waiting for all PodVolumeBackups to complete\"\n";
    write_bundle(
        &path,
        &[
            ("velero/backups/weekly-1/backup.log", backup_log.as_bytes()),
            (
                "velero/logs/node-agent-x1/node-agent.log",
                node_agent.as_bytes(),
            ),
            ("velero/logs/velero-6d4/velero.log", server.as_bytes()),
        ],
        &[],
    );
    let output = run(&path, &all_rules(), &Facts::none(), None);
    let found = finding(&output, "SD902");
    assert_eq!(found.count, 2);
    assert_eq!(
        lines_of(found),
        vec![
            ("velero/backups/weekly-1/backup.log".to_string(), 2),
            ("velero/logs/node-agent-x1/node-agent.log".to_string(), 1)
        ]
    );
    assert_eq!(
        found.message,
        "timed out waiting for all PodVolumeBackups to complete"
    );
    assert_eq!(
        found.related,
        vec![
            backup("weekly-1"),
            ObjectRef {
                kind: "restores.velero.io".into(),
                namespace: Some("velero".into()),
                name: "r1".into()
            }
        ]
    );
    assert_eq!(found.first_seen.as_deref(), Some("2026-11-25T09:05:00Z"));
    assert_eq!(found.last_seen.as_deref(), Some("2026-11-25T09:06:00Z"));
    // The bucket rule scanned logs and found nothing: it passed.
    assert!(output.passed.iter().any(|r| r.id == "SD901"));
}

#[test]
fn object_fact_and_compat_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.zip");
    let bsls = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"metadata": {"name": "default", "namespace": "velero"}, "spec": {}, "status": {"phase": "Unavailable"}},
        {"metadata": {"name": "archive", "namespace": "velero"}, "spec": {"accessMode": "ReadOnly"}, "status": {"phase": "Unavailable"}},
        {"metadata": {"name": "dr", "namespace": "velero"}, "status": {"phase": "Available"}},
        {"metadata": {"name": "second", "namespace": "velero"}, "status": {"phase": "Unavailable"}}
    ]});
    let pvbs = json!({"items": [
        {"metadata": {"name": "daily-1-x7", "namespace": "velero", "labels": {"velero.io/backup-name": "daily-1"}},
         "status": {"phase": "Failed", "message": "pod volume backup failed: error to initialize data path"}},
        {"metadata": {"name": "daily-1-x8", "namespace": "velero", "labels": {"velero.io/backup-name": "daily-1"}},
         "status": {"phase": "Completed"}}
    ]});
    write_bundle(
        &path,
        &[],
        &[
            (
                "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
                bsls,
            ),
            (
                "cluster-resources/custom-resources/podvolumebackups.velero.io/velero.json",
                pvbs,
            ),
        ],
    );
    let mut facts = Facts::none();
    facts.facts.insert(
        "facts.schedules".into(),
        vec![
            json!({"name": "daily", "namespace": "velero", "paused": false, "lastCompletedBackup": "2026-11-20T00:00:00Z"}),
            json!({"name": "paused", "namespace": "velero", "paused": true, "lastCompletedBackup": "2026-11-01T00:00:00Z"}),
            json!({"name": "fresh", "namespace": "velero", "paused": false, "lastCompletedBackup": "2026-11-25T06:00:00Z"}),
        ],
    );
    facts.versions.insert("kots".into(), "v1.109.3".into());
    facts.versions.insert("velero".into(), "1.12.3".into());
    let output = run(&path, &all_rules(), &facts, None);

    let bsl = finding(&output, "SD903");
    assert_eq!(bsl.count, 2);
    assert_eq!(bsl.message, "location default is unavailable (2 of them)");
    let names: Vec<_> = bsl
        .evidence
        .iter()
        .map(|e| match e {
            Evidence::Object {
                object,
                path,
                value,
            } => (
                object.name.clone(),
                path.clone().unwrap(),
                value.clone().unwrap(),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "default".into(),
                "status.phase".into(),
                "Unavailable".into()
            ),
            ("second".into(), "status.phase".into(), "Unavailable".into())
        ]
    );
    assert!(bsl.related.is_empty());

    let pvb = finding(&output, "SD904");
    assert_eq!(pvb.count, 1);
    assert_eq!(pvb.related, vec![backup("daily-1")]);
    assert_eq!(
        pvb.message,
        "pod volume backup daily-1-x7 failed: pod volume backup failed: error to initialize data path"
    );

    let stale = finding(&output, "SD905");
    assert_eq!(stale.count, 1);
    assert_eq!(
        stale.message,
        "schedule daily last completed 2026-11-20T00:00:00Z"
    );

    // KOTS 1.109.3 is past the table's last row: no row, no finding; the rule ran (both versions known).
    assert!(output.findings.iter().all(|f| f.rule_id != "SD906"));
    assert!(output.passed.iter().any(|r| r.id == "SD906"));
    facts.versions.insert("kots".into(), "1.50.0".into());
    let output = run(&path, &all_rules(), &facts, None);
    let compat = finding(&output, "SD906");
    assert_eq!(
        compat.message,
        "KOTS 1.50.0 supports Velero >=1.5.1, <1.10.0, not 1.12.3"
    );
    assert_eq!(
        compat.evidence,
        vec![Evidence::Versions {
            subject: "kots".into(),
            subject_version: "1.50.0".into(),
            against: "velero".into(),
            against_version: "1.12.3".into(),
            supported: ">=1.5.1, <1.10.0".into()
        }]
    );
    // No log in the bundle: the log rules did not run.
    assert!(output.not_run.iter().any(|r| r.id == "SD901"));

    // Sorted: fail before warn before info; log before object before compat; then count.
    let order: Vec<_> = output.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(order, vec!["SD903", "SD904", "SD906", "SD905"]);
}

#[test]
fn every_sample_of_the_test_rules_behaves() {
    let report = run_samples(&all_rules());
    assert_eq!(report.rules, 6);
    assert_eq!(report.samples, 12);
    assert!(report.passed(), "{:#?}", report.failures);
}

#[test]
fn a_sample_that_misbehaves_is_reported_with_file_and_index() {
    let (path, text) = bucket_rule();
    let text = text.replace(
        "  no_match:\n",
        "  no_match:\n    - 'error=\"NoSuchBucket: The specified bucket does not exist\"'\n",
    );
    let rules = RuleSet::from_files(&[(path, text)]).unwrap();
    let report = run_samples(&rules);
    assert_eq!(report.failures.len(), 1);
    let failure = report.failures[0].to_string();
    assert!(
        failure.starts_with("rules/SD901-bucket-missing.yaml:19: SD901 tests.no_match[0]: expected the rule not to fire"),
        "{failure}"
    );
}

fn load_errors(files: &[(String, String)]) -> Vec<String> {
    RuleSet::from_files(files)
        .err()
        .unwrap_or_else(|| panic!("expected the rules to be refused"))
        .iter()
        .map(RuleError::to_string)
        .collect()
}

#[test]
fn loader_errors_name_file_and_line() {
    let (path, text) = bucket_rule();
    // Invalid YAML.
    let broken = text.replace("severity: fail", "severity: [fail");
    let errors = load_errors(&[(path.clone(), broken)]);
    assert!(
        errors[0].starts_with("rules/SD901-bucket-missing.yaml:3:"),
        "{errors:?}"
    );
    // Unknown field.
    let unknown = text.replace("title:", "titel: x\ntitle:");
    let errors = load_errors(&[(path.clone(), unknown)]);
    assert!(
        errors[0].starts_with("rules/SD901-bucket-missing.yaml:5:"),
        "{errors:?}"
    );
    assert!(errors[0].contains("unknown field `titel`"), "{errors:?}");
    // A regex that does not compile: the regex's line, and which field.
    let bad_regex = text.replace("regex: 'NoSuchBucket", "regex: '(NoSuchBucket");
    let errors = load_errors(&[(path.clone(), bad_regex)]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .starts_with("rules/SD901-bucket-missing.yaml:14: match.log.regex does not compile"),
        "{errors:?}"
    );
    // Values outside the closed lists, a missing sample list, a message variable an object rule never provides.
    let (bsl_path, bsl) = bsl_rule();
    let wrong = bsl
        .replace("severity: fail", "severity: critical")
        .replace("category: bucket-endpoint", "category: buckets")
        .replace("{{location}}", "{{bucket}}")
        .replace(
            "  no_match:\n    - {metadata: {name: default}, status: {phase: Available}}\n",
            "",
        );
    let errors = load_errors(&[(bsl_path, wrong)]);
    let joined = errors.join("\n");
    assert!(
        joined.contains("SD903-bsl-unavailable.yaml:3: severity \"critical\""),
        "{joined}"
    );
    assert!(
        joined.contains("SD903-bsl-unavailable.yaml:4: category \"buckets\""),
        "{joined}"
    );
    assert!(joined.contains(":6: message uses {{bucket}}"), "{joined}");
    assert!(
        joined.contains("tests.no_match needs at least one sample"),
        "{joined}"
    );
    // Two kinds of match at once.
    let (compat_path, compat) = compat_rule();
    let two = compat.replacen("match:\n", "match:\n  log: {sources: any, regex: x}\n", 1);
    let errors = load_errors(&[(compat_path, two)]);
    assert!(
        errors[0].contains(":12: match must have exactly one of log, object, compat"),
        "{errors:?}"
    );
}

#[test]
fn ids_are_unique_and_never_reused() {
    let (path, text) = bucket_rule();
    let copy = text.replace("name: bucket-missing", "name: bucket-gone");
    let errors = load_errors(&[
        (path.clone(), text.clone()),
        ("rules/SD901-bucket-gone.yaml".into(), copy),
    ]);
    assert_eq!(
        errors,
        vec![
            "rules/SD901-bucket-gone.yaml:1: id SD901 is a duplicate id (also rules/SD901-bucket-missing.yaml:1)"
        ]
    );
    let retired = "retired:\n  - id: SD901\n    reason: split into SD911 and SD912\n";
    let errors = load_errors(&[
        (path.clone(), text.clone()),
        ("rules/retired.yaml".into(), retired.into()),
    ]);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("rules/SD901-bucket-missing.yaml:1: id SD901 is retired (rules/retired.yaml:2: split into SD911"),
        "{errors:?}"
    );
    // The file name must be id-name.
    let errors = load_errors(&[("rules/bucket.yaml".into(), text)]);
    assert!(
        errors[0].contains("must be named SD901-bucket-missing.yaml"),
        "{errors:?}"
    );
}

#[test]
fn user_rules_may_not_take_a_builtin_id() {
    let builtin = RuleSet::builtin().unwrap();
    let taken = builtin
        .rules()
        .first()
        .expect("the built-in catalog has rules");
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = bucket_rule();
    let text = text.replace("SD901", &taken.id);
    let file = dir.path().join(format!("{}-bucket-missing.yaml", taken.id));
    std::fs::write(&file, text).unwrap();
    let error = RuleSet::load(&[dir.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(error.contains(&format!("{}:1:", file.display())), "{error}");
    assert!(error.contains("built-in"), "{error}");
    let lint = RuleSet::lint_dir(dir.path()).unwrap_err();
    assert!(lint[0].message.contains("built-in"), "{lint:?}");
}

fn realistic_bundle(path: &Path) {
    let mut writer = BundleWriter::create(path, false).unwrap();
    let backups = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "velero.io/v1", "kind": "Backup",
         "metadata": {"name": "daily-1", "namespace": "velero", "creationTimestamp": "2026-11-25T02:00:00Z"},
         "spec": {"storageLocation": "default", "defaultVolumesToFsBackup": true},
         "status": {"phase": "PartiallyFailed", "errors": 1, "startTimestamp": "2026-11-25T02:00:01Z",
                    "completionTimestamp": "2026-11-25T06:00:01Z"}},
        {"apiVersion": "velero.io/v1", "kind": "Backup",
         "metadata": {"name": "daily-0", "namespace": "velero", "creationTimestamp": "2026-11-24T02:00:00Z"},
         "spec": {"storageLocation": "default"},
         "status": {"phase": "Completed", "startTimestamp": "2026-11-24T02:00:01Z",
                    "completionTimestamp": "2026-11-24T02:10:00Z"}}
    ]});
    let bsls = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
         "metadata": {"name": "default", "namespace": "velero"},
         "spec": {"provider": "aws", "objectStorage": {"bucket": "snapshots"}, "default": true},
         "status": {"phase": "Unavailable", "lastValidationTime": "2026-11-25T11:59:00Z",
                    "message": "BackupStorageLocation \"default\" is unavailable: NoSuchBucket: The specified bucket does not exist"}}
    ]});
    writer
        .add_json(
            "cluster-resources/custom-resources/backups.velero.io/velero.json",
            &backups,
        )
        .unwrap();
    writer
        .add_json(
            "cluster-resources/custom-resources/backupstoragelocations.velero.io/velero.json",
            &bsls,
        )
        .unwrap();
    let mut backup_log = String::new();
    for i in 0..300 {
        backup_log.push_str(&ordinary_line(i).replace(&format!("daily-{}", i % 7), "daily-1"));
    }
    backup_log.push_str(
        "time=\"2026-11-25T06:00:00Z\" level=error msg=\"Error backing up item\" backup=velero/daily-1 \
         error=\"timed out waiting for all PodVolumeBackups to complete\" logSource=\"pkg/backup/backup.go:417\" name=db-0\n",
    );
    writer
        .add_stream("velero/backups/daily-1/backup.log", backup_log.as_bytes())
        .unwrap();
    writer
        .add_stream(
            "velero/logs/velero-6d4/velero.log",
            server_log(400, &[]).as_bytes(),
        )
        .unwrap();
    writer.record_error(snapdoc::bundle::CollectorError {
        source: "workloads".into(),
        target: Some("pods".into()),
        namespace: Some("app".into()),
        status: Some(403),
        message: "pods is forbidden".into(),
    });
    writer
        .finish(RunInfo {
            created: Some(CREATED.into()),
            ..RunInfo::default()
        })
        .unwrap();
}

fn fixture_rules() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

#[test]
fn analyze_bundle_assembles_findings_verdicts_and_passed_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    realistic_bundle(&path);
    let options = snapdoc::analyze::AnalysisOptions {
        rules_dirs: vec![fixture_rules()],
        ..Default::default()
    };
    let analysis = snapdoc::analyze::analyze_bundle(&path, &options).unwrap();
    assert_eq!(analysis.bundle.format, "snapdoc");
    assert_eq!(analysis.bundle.created.as_deref(), Some(CREATED));
    assert_eq!(analysis.collector_errors.len(), 1);

    // The backup log's signature, with its line and the backup it concerns.
    let timeout = analysis
        .findings
        .iter()
        .find(|f| f.match_kind == "log" && f.message.contains("PodVolumeBackups"))
        .unwrap_or_else(|| panic!("{:#?}", analysis.findings));
    assert_eq!(timeout.count, 1);
    assert_eq!(
        lines_of(timeout),
        vec![("velero/backups/daily-1/backup.log".to_string(), 301)]
    );
    assert_eq!(timeout.related, vec![backup("daily-1")]);
    // The user rule directory's object rule ran alongside the built-in ones.
    let location = finding_in(&analysis.findings, "SD991");
    assert!(
        location
            .message
            .starts_with("Location default is Unavailable: BackupStorageLocation"),
        "{}",
        location.message
    );

    // The verdict on the partially failed backup names the log finding.
    let verdict = analysis
        .verdicts
        .iter()
        .find(|v| v.target.name == "daily-1")
        .unwrap_or_else(|| panic!("{:#?}", analysis.verdicts));
    assert!(
        verdict.finding_ids.contains(&timeout.rule_id),
        "{verdict:#?}"
    );

    // Every rule either found something, passed, or could not run; passed ones are listed.
    assert!(analysis.checks_passed.iter().any(|r| r.id == "SD990"));
    assert!(
        analysis
            .findings
            .iter()
            .all(|f| analysis.checks_passed.iter().all(|r| r.id != f.rule_id))
    );
    let mut sorted = analysis.findings.clone();
    sort_findings(&mut sorted);
    assert_eq!(sorted, analysis.findings);
    assert!(snapdoc::analyze::fails(
        &analysis.findings,
        snapdoc::analyze::FailOn::Fail
    ));
    assert!(!snapdoc::analyze::fails(
        &analysis.findings,
        snapdoc::analyze::FailOn::Never
    ));
}

fn finding_in<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.rule_id == id)
        .unwrap_or_else(|| panic!("no finding {id} in {findings:#?}"))
}

#[test]
fn the_analyze_command_prints_json_and_exits_per_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.zip");
    realistic_bundle(&path);
    let snapdoc = env!("CARGO_BIN_EXE_snapdoc");
    let run = |args: &[&str]| {
        std::process::Command::new(snapdoc)
            .arg("analyze")
            .args(args)
            .output()
            .unwrap()
    };
    let rules = fixture_rules();
    let out = run(&[
        path.to_str().unwrap(),
        "--format",
        "json",
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["ruleId"] == "SD991")
    );
    let out = run(&[path.to_str().unwrap(), "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("FAIL"), "{text}");
    let out = run(&[dir.path().join("missing.zip").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.zip"));
    // -o never overwrites without --force.
    let report = dir.path().join("report.json");
    std::fs::write(&report, "keep").unwrap();
    let out = run(&[
        path.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "keep");
}

#[test]
fn the_rules_commands_lint_and_test_a_directory() {
    let snapdoc = env!("CARGO_BIN_EXE_snapdoc");
    let rules = fixture_rules();
    let run = |args: &[&str]| {
        std::process::Command::new(snapdoc)
            .arg("rules")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["test", rules.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("10 sample(s): 10 passed, 0 failed"));
    let out = run(&["explain", "SD991", "--rules", rules.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kind: backupstoragelocations.velero.io"),
        "{text}"
    );
    assert!(text.contains("SAMPLES THAT FIRE"), "{text}");
    let out = run(&["list", "--rules", rules.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("SD992  warn"))
    );
    // A broken directory: every problem with file:line, exit 1.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("SD993-broken.yaml"),
        "id: SD993\nname: broken\nseverity: [\n",
    )
    .unwrap();
    let out = run(&["lint", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SD993-broken.yaml:4:") || text.contains("SD993-broken.yaml:3:"),
        "{text}"
    );
}

#[test]
fn a_resource_file_that_does_not_parse_leaves_only_its_rules_unrun() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bundle");
    let custom = root.join("cluster-resources/custom-resources");
    std::fs::create_dir_all(custom.join("podvolumebackups.velero.io")).unwrap();
    std::fs::create_dir_all(custom.join("backupstoragelocations.velero.io")).unwrap();
    std::fs::write(
        custom.join("podvolumebackups.velero.io/velero.json"),
        "{\"items\": [",
    )
    .unwrap();
    std::fs::write(
        custom.join("backupstoragelocations.velero.io/velero.json"),
        json!({"items": [{"metadata": {"name": "default", "namespace": "velero"}, "status": {"phase": "Unavailable"}}]})
            .to_string(),
    )
    .unwrap();
    let output = run(&root, &all_rules(), &Facts::none(), None);
    assert_eq!(finding(&output, "SD903").count, 1);
    assert!(output.not_run.iter().any(|r| r.id == "SD904"));
    assert_eq!(output.problems.len(), 1, "{:?}", output.problems);
    assert!(
        output.problems[0].contains("podvolumebackups.velero.io/velero.json"),
        "{:?}",
        output.problems
    );
}

/// Logs scanned apart (on any thread, in any order) and added in the bundle's order aggregate exactly as one
/// scan reading them in that order: counts, first and last times, the examples kept, the first hit's variables,
/// each backup's own details.
#[test]
fn logs_scanned_apart_and_added_in_order_aggregate_as_one_scan() {
    use snapdoc::analyze::LogRun;
    use snapdoc::bundle::classify_log;

    let rules = all_rules();
    let logs: Vec<(snapdoc::bundle::LogFile, String)> = [
        ("velero/logs/velero-1/velero-previous.log", server_log(300, &[7, 8, 250])),
        ("velero/backups/nightly-3/backup.log", server_log(40, &[3, 39])),
        ("velero/logs/velero-1/velero.log", server_log(500, &[2, 100, 101, 102, 499])),
        ("velero/logs/node-agent-a/node-agent.log", {
            let mut log = server_log(20, &[]);
            log.push_str("time=\"2026-11-25T09:00:00Z\" level=error msg=\"timed out waiting for all PodVolumeBackups\" backup=velero/nightly-8\n");
            log
        }),
        ("velero/backups/nightly-9/backup.log", server_log(10, &[1, 2, 3, 4, 5, 6])),
    ]
    .into_iter()
    .map(|(path, text)| (classify_log(path).unwrap(), text))
    .collect();

    let mut one_scan = LogRun::new(rules.rules(), Some("velero".into()));
    for (log, text) in &logs {
        one_scan.scan(log, text.as_bytes()).unwrap();
    }

    let mut apart = LogRun::new(rules.rules(), Some("velero".into()));
    apart.prepare(logs.iter().map(|(log, _)| log));
    let mut scans: Vec<_> = logs
        .iter()
        .rev()
        .map(|(log, text)| apart.scan_alone(log, text.as_bytes()))
        .collect();
    scans.reverse();
    for scan in scans {
        apart.absorb(scan).unwrap();
    }

    let one_scan = format!("{:?}", one_scan.finish());
    assert!(one_scan.contains("count: 16"), "{one_scan}");
    assert_eq!(format!("{:?}", apart.finish()), one_scan);
}

/// `count` is set by the engine (objects matched) after a rule's captures: a capture of that name would be
/// replaced without a word, as SD808's once was ("The cluster has 1 backups" of nine).
#[test]
fn a_capture_may_not_be_named_count() {
    let dir = tempfile::tempdir().unwrap();
    let sd808 = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("analyzers/health/SD808-no-completed-backup.yaml"),
    )
    .unwrap()
    .replace("SD808", "SD901")
    .replace("{{backups}}", "{{count}}")
    .replace("backups: backupCount", "count: backupCount");
    std::fs::write(dir.path().join("SD901-no-completed-backup.yaml"), sd808).unwrap();
    let lint = RuleSet::lint_dir(dir.path()).unwrap_err();
    assert!(
        lint.iter()
            .any(|e| e.message.contains("`count` is the engine's own variable")),
        "{lint:?}"
    );
}

/// Every sample line of the built-in log rules, each between lines of ordinary server output, and a line longer
/// than the block: the literal prefilter (its anchors, then its phrases) must report exactly the lines (and
/// patterns) the automaton does, at every block size.
#[test]
fn the_literal_prefilter_reports_what_the_automaton_reports() {
    let rules = RuleSet::builtin().unwrap();
    let patterns: Vec<String> = rules
        .rules()
        .iter()
        .filter_map(|rule| match &rule.matcher {
            Matcher::Log(log) => Some(log.pattern.clone()),
            _ => None,
        })
        .collect();
    let mut log = String::new();
    let samples = rules.rules().iter().flat_map(|rule| {
        rule.tests
            .matching
            .iter()
            .chain(&rule.tests.no_match)
            .filter_map(|sample| match &sample.input {
                SampleInput::LogLine { text, .. } => Some(text.clone()),
                _ => None,
            })
    });
    for (n, sample) in samples.enumerate() {
        log.push_str(&format!(
            "time=\"2026-11-25T09:00:{:02}Z\" level=info msg=\"Backed up {n} items\" backup=velero/daily-{n}\n",
            n % 60
        ));
        // Samples hold `\n` escapes, not newlines; a real newline would make two lines of both scans alike.
        log.push_str(&sample);
        log.push('\n');
        if n % 37 == 0 {
            log.push_str(&format!("{} {sample}\n", "x".repeat(5000)));
        }
    }
    let with = LogScanner::new(&patterns).unwrap();
    assert!(
        with.has_prefilter(),
        "every built-in log rule has a certain phrase of 3 bytes or more"
    );
    // The phrases are covered by few enough anchors for one Teddy searcher: the path the scan of real logs
    // takes.
    assert!(with.anchors().is_some_and(|anchors| anchors.len() <= 64));
    let scan = |scanner: &LogScanner| {
        let mut seen = Vec::new();
        let stats = scanner
            .scan(log.as_bytes(), &mut |line| {
                seen.push((
                    line.number,
                    line.patterns.to_vec(),
                    line.partial,
                    line.text.to_vec(),
                ))
            })
            .unwrap();
        (stats, seen)
    };
    for block in [64, 257, 4096, 1 << 20] {
        let fast = scan(&LogScanner::new(&patterns).unwrap().with_block_size(block));
        let slow = scan(
            &LogScanner::without_prefilter(&patterns)
                .unwrap()
                .with_block_size(block),
        );
        assert!(!slow.1.is_empty());
        assert_eq!(fast, slow, "block size {block}");
    }
}

#[test]
fn a_pattern_without_a_certain_phrase_turns_the_prefilter_off() {
    assert!(
        LogScanner::new(&["NoSuchBucket", "timed out"])
            .unwrap()
            .has_prefilter()
    );
    // `\w+` holds no literal (`\w+ failed` does: " failed"); `ab` is too short to be worth searching for.
    assert!(
        LogScanner::new(&["NoSuchBucket", r"\w+ failed"])
            .unwrap()
            .has_prefilter()
    );
    assert!(
        !LogScanner::new(&["NoSuchBucket", r"\w+"])
            .unwrap()
            .has_prefilter()
    );
    assert!(
        !LogScanner::new(&["NoSuchBucket", "ab"])
            .unwrap()
            .has_prefilter()
    );
}

/// Each line `scanner` reports in `log`: its number and the patterns that match it.
fn matched_lines(scanner: &LogScanner, log: &str) -> Vec<(u64, Vec<usize>)> {
    let mut seen = Vec::new();
    scanner
        .scan(log.as_bytes(), &mut |line| {
            seen.push((line.number, line.patterns.to_vec()))
        })
        .unwrap();
    seen
}

/// On a line holding phrases, only the patterns those phrases came from are checked, each by its own regex: a
/// phrase two patterns share makes both candidates, and a candidate whose regex fails on the line is not
/// reported. The automaton, checking every pattern on every line it stops on, reports the same.
#[test]
fn a_line_is_checked_against_the_patterns_whose_phrases_it_holds() {
    let patterns = [
        r"NoSuchBucket: bucket (?P<bucket>\S+)",
        "NoSuchBucket|AccessDenied",
        r"(?i)timed out waiting for \w+",
    ];
    let log = "NoSuchBucket: bucket b1\n\
               AccessDenied here\n\
               no phrase at all\n\
               NoSuchBucket alone\n\
               TIMED OUT WAITING for cache and AccessDenied\n\
               NoSuchBucket: bucket\n\
               timed out waiting for\n";
    let scan = |scanner: LogScanner| matched_lines(&scanner, log);
    let expected = vec![
        (1, vec![0, 1]),
        (2, vec![1]),
        (4, vec![1]),
        (5, vec![1, 2]),
        (6, vec![1]),
    ];
    let phrased = LogScanner::new(&patterns).unwrap();
    assert!(phrased.has_prefilter());
    assert_eq!(scan(phrased), expected);
    assert_eq!(
        scan(LogScanner::without_prefilter(&patterns).unwrap()),
        expected
    );
}

/// A case-insensitive pattern's line in capitals or mixed case is found through the anchors (searched in every
/// ASCII case), as the automaton finds it.
#[test]
fn anchors_find_a_case_insensitive_phrase_in_any_case() {
    let patterns = ["(?i)InvalidAccessKeyId", "NoSuchBucket"];
    let log = "time=\"2026-11-25T09:00:00Z\" level=info msg=\"Backed up 3 items\"\n\
               level=error msg=\"INVALIDACCESSKEYID: key not found\"\n\
               level=error msg=\"nosuchbucket in lower case is another bucket\"\n\
               level=error msg=\"invalidAccessKEYid again\" then NoSuchBucket\n";
    let scan = |scanner: LogScanner| matched_lines(&scanner, log);
    let anchored = LogScanner::new(&patterns).unwrap();
    assert!(anchored.anchors().is_some());
    let expected = vec![(2, vec![0]), (4, vec![0, 1])];
    assert_eq!(scan(anchored), expected);
    assert_eq!(
        scan(LogScanner::without_prefilter(&patterns).unwrap()),
        expected
    );
}
