//! Object rules: a predicate tree evaluated over each object of a kind (docs/rules.md "match.object").
use serde_json::{Map, Value};

use super::logs::{BACKUP_KIND, RESTORE_KIND};
use crate::analyze::facts::FACTS_NODE_EVENTS;
use crate::analyze::findings::{Evidence, ObjectRef};
use crate::analyze::rules::predicate::{lenient_version, numeric_value, scalar_text};
use crate::analyze::rules::{ObjectMatcher, Predicate, Test};

const MAX_VALUE_CHARS: usize = 300;
/// The kind of the node a node's event concerns.
pub(crate) const NODES_KIND: &str = "nodes";

pub(crate) fn evaluate(predicate: &Predicate, object: &Value, now: jiff::Timestamp) -> bool {
    match predicate {
        Predicate::All(items) => items.iter().all(|p| evaluate(p, object, now)),
        Predicate::Any(items) => items.iter().any(|p| evaluate(p, object, now)),
        Predicate::Not(inner) => !evaluate(inner, object, now),
        Predicate::Test { path, test } => {
            let values = path.resolve(object);
            match test {
                Test::Exists(expected) => values.is_empty() != *expected,
                _ => values.iter().any(|value| holds(test, value, now)),
            }
        }
    }
}

fn holds(test: &Test, value: &Value, now: jiff::Timestamp) -> bool {
    match test {
        Test::Equals(expected) => equal(expected, value),
        Test::In(options) => options.iter().any(|expected| equal(expected, value)),
        Test::Matches(regex) => scalar_text(value).is_some_and(|text| regex.is_match(&text)),
        Test::Exists(expected) => *expected,
        Test::OlderThan(limit) => age_seconds(value, now).is_some_and(|age| age > limit.0),
        Test::NewerThan(limit) => age_seconds(value, now).is_some_and(|age| age < limit.0),
        Test::Semver(range) => scalar_text(value)
            .and_then(|text| lenient_version(&text))
            .is_some_and(|version| range.matches(&version)),
        Test::GreaterThan(limit) => numeric_value(value).is_some_and(|n| n > *limit),
        Test::LessThan(limit) => numeric_value(value).is_some_and(|n| n < *limit),
    }
}

/// Numbers compare as numbers; a string written in the rule also equals a number or boolean with that text
/// (`equals: "true"` holds for `true`), and a number in the rule equals a string holding that number.
fn equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::Number(_) | Value::Bool(_)) => {
            scalar_text(actual).is_some_and(|b| &b == a)
        }
        (Value::Number(a), Value::String(_)) => numeric_value(actual) == a.as_f64(),
        (Value::Bool(a), Value::String(b)) => a.to_string() == *b,
        _ => expected == actual,
    }
}

fn age_seconds(value: &Value, now: jiff::Timestamp) -> Option<i64> {
    let text = value.as_str()?;
    let time = text.trim().parse::<jiff::Timestamp>().ok()?;
    Some(now.as_second() - time.as_second())
}

/// An object's name for evidence: metadata for Kubernetes objects; for fact objects their own fields.
pub(crate) fn object_ref(kind: &str, object: &Value) -> ObjectRef {
    let text = |path: &[&str]| -> Option<String> {
        let mut v = object;
        for key in path {
            v = v.get(key)?;
        }
        v.as_str().map(str::to_string)
    };
    let namespace = text(&["metadata", "namespace"]).or_else(|| text(&["namespace"]));
    let name = text(&["metadata", "name"])
        .or_else(|| text(&["name"]))
        .or_else(|| {
            let pod = text(&["pod"])?;
            match text(&["volume"]).or_else(|| text(&["container"])) {
                Some(part) => Some(format!("{pod}/{part}")),
                None => Some(pod),
            }
        })
        .unwrap_or_else(|| kind.strip_prefix("facts.").unwrap_or(kind).to_string());
    ObjectRef {
        kind: kind.to_string(),
        namespace,
        name,
    }
}

/// The backup / restore an object concerns: itself, or the one its `velero.io/backup-name` /
/// `velero.io/restore-name` label names (PodVolumeBackup, DataUpload, …); and the Velero object an operation
/// pod's label names (its DataUpload / DataDownload / PodVolumeBackup / PodVolumeRestore / BackupRepository).
pub(crate) fn related(kind: &str, object: &Value, reference: &ObjectRef) -> Vec<ObjectRef> {
    if kind == BACKUP_KIND || kind == RESTORE_KIND {
        return vec![reference.clone()];
    }
    let labels = object.pointer("/metadata/labels");
    // A fact about an object outside Velero's namespace (a restored pod) names the namespace its labels'
    // Velero objects live in.
    let namespace = object
        .get("veleroNamespace")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| reference.namespace.clone());
    let mut out = Vec::new();
    // Velero labels the pods (and Jobs) it creates for one operation with the object they serve (v1.16.0
    // pkg/apis/velero/v1/labels_annotations.go, pkg/repository/maintenance/maintenance.go): a finding about
    // a data mover pod concerns its DataUpload, one about a maintenance Job's pod its BackupRepository
    // (whose name the Job's name carries only when it fits: `repo-maintain-job-<ms>` otherwise).
    for (label, target) in [
        ("velero.io/backup-name", BACKUP_KIND),
        ("velero.io/restore-name", RESTORE_KIND),
        ("velero.io/data-upload", "datauploads.velero.io"),
        ("velero.io/data-download", "datadownloads.velero.io"),
        ("velero.io/pod-volume-backup", "podvolumebackups.velero.io"),
        (
            "velero.io/pod-volume-restore",
            "podvolumerestores.velero.io",
        ),
        ("velero.io/repo-name", "backuprepositories.velero.io"),
    ] {
        if let Some(name) = labels.and_then(|l| l.get(label)).and_then(Value::as_str) {
            out.push(ObjectRef {
                kind: target.to_string(),
                namespace: namespace.clone(),
                name: name.to_string(),
            });
        }
    }
    // A node's event concerns the node (verdicts join it to the backups whose volumes that node moved, in their
    // time: verdicts/links.rs).
    if kind == FACTS_NODE_EVENTS
        && let Some(node) = object.get("node").and_then(Value::as_str)
    {
        out.push(ObjectRef {
            kind: NODES_KIND.to_string(),
            namespace: None,
            name: node.to_string(),
        });
    }
    if let Some(repository) = maintained_repository(object).filter(|_| out.is_empty()) {
        out.push(ObjectRef {
            kind: "backuprepositories.velero.io".to_string(),
            namespace,
            name: repository.to_string(),
        });
    }
    out
}

/// The repository a Velero 1.15 maintenance pod serves, told by its Job's name (`<repository>-maintain-job-<ms>`,
/// pkg/repository/maintenance.go GenerateJobName at v1.15.2) when the pod lost its `velero.io/repo-name` label:
/// 1.15 replaces the pod's labels with the velero server pod's whenever those have any
/// (pkg/repository/manager/manager.go:461-463 at v1.15.2, 804d73c4). A name too long for that form
/// (`repo-maintain-job-<ms>`) names no repository.
fn maintained_repository(pod: &Value) -> Option<&str> {
    let maintenance_container = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .any(|c| {
            c.get("name").and_then(Value::as_str) == Some("velero-repo-maintenance-container")
        });
    let job = pod.pointer("/metadata/labels/job-name")?.as_str()?;
    let (repository, ms) = job.rsplit_once("-maintain-job-")?;
    (maintenance_container
        && !repository.is_empty()
        && repository != "repo"
        && !ms.is_empty()
        && ms.bytes().all(|b| b.is_ascii_digit()))
    .then_some(repository)
}

/// When a fact object says it was first and last seen (`firstSeen` / `lastSeen`: a node's event); none for
/// objects, whose state is the bundle's.
pub(crate) type Seen = (Option<String>, Option<String>);

pub(crate) fn seen(object: &Value) -> Seen {
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
    (text("firstSeen"), text("lastSeen"))
}

/// The value shown as evidence for a path: a scalar's text, or compact JSON; several values joined.
pub(crate) fn display_values(values: &[&Value]) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let joined = values
        .iter()
        .map(|v| scalar_text(v).unwrap_or_else(|| v.to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    Some(super::logs::excerpt_chars(&joined, MAX_VALUE_CHARS))
}

pub(crate) fn evidence(matcher: &ObjectMatcher, object: &Value, reference: &ObjectRef) -> Evidence {
    let path = matcher.when.first_path();
    Evidence::Object {
        object: reference.clone(),
        path: path.map(|p| p.as_str().to_string()),
        value: path.and_then(|p| display_values(&p.resolve(object))),
    }
}

/// The message variables of a matching object: its captures, then kind / name / namespace.
pub(crate) fn variables(
    matcher: &ObjectMatcher,
    object: &Value,
    reference: &ObjectRef,
) -> Map<String, Value> {
    let mut variables = Map::new();
    for (name, path) in &matcher.capture {
        let values = path.resolve(object);
        let value = match values.as_slice() {
            [] => continue,
            [one] => (*one).clone(),
            many => Value::String(display_values(many).unwrap_or_default()),
        };
        variables.insert(name.clone(), value);
    }
    variables
        .entry("kind")
        .or_insert_with(|| Value::String(reference.kind.clone()));
    variables
        .entry("name")
        .or_insert_with(|| Value::String(reference.name.clone()));
    if let Some(namespace) = &reference.namespace {
        variables
            .entry("namespace")
            .or_insert_with(|| Value::String(namespace.clone()));
    }
    variables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rules::predicate::{FieldPath, Seconds, parse_range};
    use serde_json::json;

    fn test(path: &str, test: Test) -> Predicate {
        Predicate::Test {
            path: FieldPath::parse(path).unwrap(),
            test,
        }
    }

    #[test]
    fn predicates_follow_the_spec() {
        let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let object = json!({
            "metadata": {"name": "b1", "annotations": {"backup.velero.io/backup-volumes": "data"}},
            "status": {"phase": "PartiallyFailed", "errors": 3, "completionTimestamp": "2026-11-20T12:00:00Z",
                       "containers": [{"ready": false, "restarts": "2"}, {"ready": true}], "version": "v1.12.3"},
        });
        let holds = |p: Predicate| evaluate(&p, &object, now);
        assert!(holds(test(
            "status.phase",
            Test::Equals(json!("PartiallyFailed"))
        )));
        assert!(!holds(test("status.phase", Test::Equals(json!("Failed")))));
        assert!(holds(test("status.errors", Test::Equals(json!(3.0)))));
        assert!(holds(test(
            "status.containers[*].ready",
            Test::Equals(json!("true"))
        )));
        assert!(holds(test(
            "status.containers[0].restarts",
            Test::GreaterThan(1.0)
        )));
        assert!(holds(test(
            "status.phase",
            Test::In(vec![json!("Failed"), json!("PartiallyFailed")])
        )));
        assert!(holds(test(
            r#"metadata.annotations["backup.velero.io/backup-volumes"]"#,
            Test::Exists(true)
        )));
        assert!(holds(test("spec.ttl", Test::Exists(false))));
        assert!(holds(test(
            "status.completionTimestamp",
            Test::OlderThan(Seconds(4 * 86_400))
        )));
        assert!(!holds(test(
            "status.completionTimestamp",
            Test::NewerThan(Seconds(4 * 86_400))
        )));
        assert!(holds(test(
            "status.version",
            Test::Semver(parse_range(">=1.12, <1.13").unwrap())
        )));
        assert!(!holds(test(
            "status.version",
            Test::Semver(parse_range("<1.12").unwrap())
        )));
        assert!(holds(Predicate::Not(Box::new(test(
            "status.phase",
            Test::Equals(json!("Completed"))
        )))));
        assert!(holds(Predicate::All(vec![
            test("status.errors", Test::LessThan(4.0)),
            Predicate::Any(vec![
                test("x", Test::Exists(true)),
                test(
                    "metadata.name",
                    Test::Matches(regex::Regex::new("^b").unwrap())
                )
            ]),
        ])));
        // A missing value satisfies no test but `absent` (and `not`).
        assert!(!holds(test("spec.missing", Test::Equals(json!(null)))));
        assert!(!holds(test("spec.missing", Test::LessThan(1.0))));
    }

    #[test]
    fn a_velero_115_maintenance_pod_concerns_the_repository_its_job_names() {
        let pod = |job: &str, container: &str| {
            json!({"metadata": {"name": format!("{job}-x7k2p"), "namespace": "velero",
                                "labels": {"component": "velero", "job-name": job}},
                   "spec": {"containers": [{"name": container}]}})
        };
        let related_of = |pod: &Value| {
            let reference = object_ref("pods", pod);
            related("pods", pod, &reference)
        };
        let found = related_of(&pod(
            "app-default-kopia-qd7mt-maintain-job-1795561200412",
            "velero-repo-maintenance-container",
        ));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "backuprepositories.velero.io");
        assert_eq!(found[0].name, "app-default-kopia-qd7mt");
        assert_eq!(found[0].namespace.as_deref(), Some("velero"));
        // The fallback name of a too long repository, and a Job that is not Velero's, name none.
        assert!(
            related_of(&pod(
                "repo-maintain-job-1732665120000",
                "velero-repo-maintenance-container"
            ))
            .is_empty()
        );
        assert!(related_of(&pod("db-maintain-job-17", "postgres")).is_empty());
    }

    #[test]
    fn related_backup_from_labels() {
        let pvb = json!({"metadata": {"name": "p", "namespace": "velero", "labels": {"velero.io/backup-name": "b1"}}});
        let reference = object_ref("podvolumebackups.velero.io", &pvb);
        let related = related("podvolumebackups.velero.io", &pvb, &reference);
        assert_eq!(related[0].name, "b1");
        assert_eq!(related[0].kind, BACKUP_KIND);
        let volume = json!({"namespace": "app", "pod": "db-0", "volume": "data"});
        assert_eq!(object_ref("facts.volumes", &volume).name, "db-0/data");
        assert_eq!(object_ref("facts.cluster", &json!({})).name, "cluster");
    }
}
