//! deploy/: the CronJob manifest and the Helm chart.
//!
//! - RBAC: the shipped roles grant exactly get/list/watch on what `snapdoc check` reads, plus create on
//!   Velero's downloadrequests in Velero's namespace, and nothing on secrets.
//! - The CronJob: Forbid, Never, `--fail-on=never`, the restricted Pod Security Standard, a read-only root.
//! - Schema: every object deserializes into the Kubernetes API types of k8s-openapi (generated from the
//!   Kubernetes OpenAPI document) and serializes back without losing a field, so a misspelt or misplaced field
//!   fails here as it would fail `kubectl apply --validate=strict`.
//!
//! helm is not available here, so the chart is rendered by a small renderer of the template subset the chart
//! keeps to (value lookups, `if`/`else`/`end`, `quote`, `toYaml | nindent`, `required`); a construct outside
//! it fails the test rather than being skipped.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The non-empty YAML documents of a (multi-document) text, as JSON values.
fn documents(text: &str, origin: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text)
        .unwrap_or_else(|e| panic!("{origin}: not valid YAML: {e}\n{text}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn manifest_objects() -> Vec<Value> {
    let path = root().join("deploy/manifests/snapdoc-check.yaml");
    documents(&read(&path), "deploy/manifests/snapdoc-check.yaml")
}

// ---- a renderer of the chart's template subset -------------------------------------------------------

#[derive(Debug)]
enum Node {
    Text(String),
    Output(String),
    If {
        condition: String,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// Splits a template into text and actions, applying `{{-` / `-}}` whitespace trimming as Go templates do.
fn tokenize(template: &str) -> Vec<(bool, String)> {
    let mut tokens: Vec<(bool, String)> = Vec::new();
    let mut rest = template;
    let mut trim_next_text = false;
    loop {
        let Some(start) = rest.find("{{") else {
            let text = if trim_next_text {
                rest.trim_start()
            } else {
                rest
            };
            tokens.push((false, text.to_string()));
            break;
        };
        let mut text = &rest[..start];
        if trim_next_text {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed action in template near {:?}", &rest[start..]));
        let mut action = &after[..end];
        if let Some(stripped) = action.strip_prefix('-') {
            text = text.trim_end();
            action = stripped;
        }
        trim_next_text = false;
        if let Some(stripped) = action.strip_suffix('-') {
            trim_next_text = true;
            action = stripped;
        }
        tokens.push((false, text.to_string()));
        tokens.push((true, action.trim().to_string()));
        rest = &after[end + 2..];
    }
    tokens
}

fn parse_nodes(
    tokens: &mut std::vec::IntoIter<(bool, String)>,
    in_if: bool,
) -> (Vec<Node>, String) {
    let mut nodes = Vec::new();
    while let Some((is_action, content)) = tokens.next() {
        if !is_action {
            nodes.push(Node::Text(content));
            continue;
        }
        if let Some(condition) = content.strip_prefix("if ") {
            let (then, closing) = parse_nodes(tokens, true);
            let otherwise = if closing == "else" {
                let (otherwise, closing) = parse_nodes(tokens, true);
                assert_eq!(closing, "end", "`else` not closed by `end`");
                otherwise
            } else {
                Vec::new()
            };
            nodes.push(Node::If {
                condition: condition.trim().to_string(),
                then,
                otherwise,
            });
        } else if content == "end" || content == "else" {
            assert!(in_if, "`{content}` outside an `if`");
            return (nodes, content);
        } else if content.starts_with("/*") {
            continue;
        } else {
            nodes.push(Node::Output(content));
        }
    }
    assert!(!in_if, "`if` without `end`");
    (nodes, String::new())
}

struct Context {
    values: Value,
    release_name: String,
    release_namespace: String,
    chart: Value,
}

impl Context {
    fn lookup(&self, expression: &str) -> Value {
        let mut parts = expression
            .strip_prefix('.')
            .unwrap_or_else(|| panic!("unsupported expression {expression:?}"))
            .split('.');
        let base = match parts.next() {
            Some("Values") => &self.values,
            Some("Release") => {
                return match parts.next() {
                    Some("Name") => json!(self.release_name),
                    Some("Namespace") => json!(self.release_namespace),
                    other => panic!("unsupported .Release field {other:?}"),
                };
            }
            Some("Chart") => &self.chart,
            other => panic!("unsupported root {other:?} in {expression:?}"),
        };
        let mut value = base;
        for part in parts {
            value = value.get(part).unwrap_or(&Value::Null);
        }
        value.clone()
    }

    fn truthy(value: &Value) -> bool {
        match value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        }
    }

    fn scalar(value: &Value, expression: &str) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => panic!("{expression} is not a scalar; use toYaml"),
        }
    }

    fn evaluate(&self, pipeline: &str) -> Result<String, String> {
        let stages: Vec<&str> = pipeline.split('|').map(str::trim).collect();
        let first = stages[0];
        let mut text = if let Some(expression) = first.strip_prefix("toYaml ") {
            let value = self.lookup(expression.trim());
            let yaml = serde_saphyr::to_string(&value).expect("values serialize to YAML");
            yaml.trim_end().to_string()
        } else if let Some(arguments) = first.strip_prefix("required ") {
            let (message, expression) = arguments
                .trim()
                .strip_prefix('"')
                .and_then(|a| a.split_once('"'))
                .unwrap_or_else(|| panic!("required needs a quoted message: {first}"));
            let value = self.lookup(expression.trim());
            if !Self::truthy(&value) {
                return Err(message.to_string());
            }
            Self::scalar(&value, expression)
        } else {
            Self::scalar(&self.lookup(first), first)
        };
        for stage in &stages[1..] {
            if *stage == "quote" {
                text = serde_json::to_string(&text).unwrap();
            } else if let Some(width) = stage.strip_prefix("nindent ") {
                let width: usize = width.trim().parse().expect("nindent width");
                let pad = " ".repeat(width);
                let indented: Vec<String> =
                    text.lines().map(|line| format!("{pad}{line}")).collect();
                text = format!("\n{}", indented.join("\n"));
            } else {
                panic!("unsupported template function {stage:?} in {pipeline:?}");
            }
        }
        Ok(text)
    }

    fn render_nodes(&self, nodes: &[Node], out: &mut String) -> Result<(), String> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Output(pipeline) => out.push_str(&self.evaluate(pipeline)?),
                Node::If {
                    condition,
                    then,
                    otherwise,
                } => {
                    let branch = if Self::truthy(&self.lookup(condition)) {
                        then
                    } else {
                        otherwise
                    };
                    self.render_nodes(branch, out)?;
                }
            }
        }
        Ok(())
    }
}

fn merge(base: &mut Value, overrides: &Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, overrides) => *base = overrides.clone(),
    }
}

fn chart_dir() -> PathBuf {
    root().join("deploy/chart/snapdoc")
}

/// Renders every template of the chart (sorted by file name) with values.yaml merged with `overrides`.
/// Returns the rendered text of each file, or the first `required` failure.
fn render_chart(overrides: Value, namespace: &str) -> Result<Vec<(String, String)>, String> {
    let dir = chart_dir();
    let mut values: Value = serde_saphyr::from_str(&read(&dir.join("values.yaml"))).unwrap();
    merge(&mut values, &overrides);
    let chart_meta: Value = serde_saphyr::from_str(&read(&dir.join("Chart.yaml"))).unwrap();
    let chart = json!({
        "Name": chart_meta["name"],
        "Version": chart_meta["version"],
        "AppVersion": chart_meta["appVersion"],
    });
    let context = Context {
        values,
        release_name: "snapdoc".into(),
        release_namespace: namespace.into(),
        chart,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut rendered = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let tokens = tokenize(&read(&file));
        let (nodes, _) = parse_nodes(&mut tokens.into_iter(), false);
        let mut out = String::new();
        context.render_nodes(&nodes, &mut out)?;
        rendered.push((name, out));
    }
    Ok(rendered)
}

fn chart_objects(overrides: Value) -> Vec<Value> {
    let rendered = render_chart(overrides, "monitoring").unwrap_or_else(|e| panic!("{e}"));
    rendered
        .iter()
        .filter(|(name, _)| name.ends_with(".yaml"))
        .flat_map(|(name, text)| documents(text, name))
        .collect()
}

// ---- what the objects must be -------------------------------------------------------------------------

fn kind_of(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| kind_of(o) == kind).collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    v.as_str()
                        .unwrap_or_else(|| panic!("not a string: {v}"))
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One (apiGroup, resource, resourceName or "", verb) per grant, from a role's rules.
fn grants(role: &Value) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    let rules = role["rules"].as_array().expect("a role has rules");
    for rule in rules {
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "{}: nonResourceURLs granted",
            role["metadata"]["name"]
        );
        let names = strings(&rule["resourceNames"]);
        let names = if names.is_empty() {
            vec![String::new()]
        } else {
            names
        };
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for name in &names {
                    for verb in strings(&rule["verbs"]) {
                        out.insert((group.clone(), resource.clone(), name.clone(), verb));
                    }
                }
            }
        }
    }
    out
}

const READ: [&str; 3] = ["get", "list", "watch"];

fn expected_cluster_grants() -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    let mut read = |group: &str, resources: &[&str]| {
        for resource in resources {
            for verb in READ {
                out.insert((group.into(), (*resource).into(), String::new(), verb.into()));
            }
        }
    };
    read(
        "",
        &[
            "nodes",
            "namespaces",
            "persistentvolumes",
            "pods",
            "events",
            "persistentvolumeclaims",
        ],
    );
    read("apps", &["deployments", "daemonsets"]);
    read("batch", &["jobs"]);
    read("storage.k8s.io", &["storageclasses", "csidrivers"]);
    read("scheduling.k8s.io", &["priorityclasses"]);
    read(
        "snapshot.storage.k8s.io",
        &[
            "volumesnapshotclasses",
            "volumesnapshotcontents",
            "volumesnapshots",
        ],
    );
    read("apiextensions.k8s.io", &["customresourcedefinitions"]);
    out.insert(("".into(), "pods/log".into(), String::new(), "get".into()));
    for name in ["kurl-config", "kotsadm-fs-lvp"] {
        out.insert(("".into(), "configmaps".into(), name.into(), "get".into()));
    }
    out
}

const VELERO_RESOURCES: [&str; 14] = [
    "backups",
    "restores",
    "schedules",
    "backupstoragelocations",
    "volumesnapshotlocations",
    "podvolumebackups",
    "podvolumerestores",
    "backuprepositories",
    "resticrepositories",
    "datauploads",
    "datadownloads",
    "deletebackuprequests",
    "serverstatusrequests",
    "downloadrequests",
];

fn expected_velero_grants() -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for resource in VELERO_RESOURCES {
        for verb in READ {
            out.insert((
                "velero.io".into(),
                resource.into(),
                String::new(),
                verb.into(),
            ));
        }
    }
    out.insert((
        "velero.io".into(),
        "downloadrequests".into(),
        String::new(),
        "create".into(),
    ));
    // Velero's ConfigMaps (node-agent, maintenance, repository and backup PVC settings).
    for verb in READ {
        out.insert(("".into(), "configmaps".into(), String::new(), verb.into()));
    }
    out
}

/// The checks every shipped set of objects must pass; `namespace` is where the CronJob runs.
fn check_rbac(objects: &[Value], namespace: &str, velero_namespace: &str, origin: &str) {
    // Every grant anywhere: nothing on secrets, no wildcard, nothing beyond reads and that one create.
    for role in of_kind(objects, "ClusterRole")
        .into_iter()
        .chain(of_kind(objects, "Role"))
    {
        assert!(
            role.get("aggregationRule").is_none(),
            "{origin}: aggregated role"
        );
        for (group, resource, _, verb) in grants(role) {
            let what = format!(
                "{origin}: {} grants {verb} on {group}/{resource}",
                kind_of(role)
            );
            assert!(resource != "secrets", "{what}");
            assert!(
                !group.contains('*') && !resource.contains('*') && verb != "*",
                "{what}"
            );
            let create_download =
                group == "velero.io" && resource == "downloadrequests" && verb == "create";
            assert!(READ.contains(&verb.as_str()) || create_download, "{what}");
        }
    }

    let cluster_roles = of_kind(objects, "ClusterRole");
    assert_eq!(cluster_roles.len(), 1, "{origin}: one ClusterRole");
    assert_eq!(
        grants(cluster_roles[0]),
        expected_cluster_grants(),
        "{origin}: ClusterRole rules"
    );
    let roles = of_kind(objects, "Role");
    assert_eq!(roles.len(), 1, "{origin}: one Role");
    assert_eq!(
        roles[0]["metadata"]["namespace"], velero_namespace,
        "{origin}: the Role is in Velero's namespace"
    );
    assert_eq!(
        grants(roles[0]),
        expected_velero_grants(),
        "{origin}: Role rules"
    );

    let accounts = of_kind(objects, "ServiceAccount");
    assert_eq!(accounts.len(), 1, "{origin}: one ServiceAccount");
    let account = accounts[0];
    assert_eq!(account["metadata"]["namespace"], namespace, "{origin}");
    let subject = json!([{
        "kind": "ServiceAccount",
        "name": account["metadata"]["name"],
        "namespace": namespace,
    }]);
    for (binding_kind, role) in [
        ("ClusterRoleBinding", cluster_roles[0]),
        ("RoleBinding", roles[0]),
    ] {
        let bindings = of_kind(objects, binding_kind);
        assert_eq!(bindings.len(), 1, "{origin}: one {binding_kind}");
        let binding = bindings[0];
        assert_eq!(
            binding["subjects"], subject,
            "{origin}: {binding_kind} subjects"
        );
        assert_eq!(
            binding["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role["kind"], "name": role["metadata"]["name"]}),
            "{origin}: {binding_kind} roleRef"
        );
        if binding_kind == "RoleBinding" {
            assert_eq!(
                binding["metadata"]["namespace"], velero_namespace,
                "{origin}"
            );
        }
    }
}

/// What the restricted Pod Security Standard and the brief ask of the CronJob.
fn check_cronjob(objects: &[Value], namespace: &str, origin: &str) -> Value {
    let jobs = of_kind(objects, "CronJob");
    assert_eq!(jobs.len(), 1, "{origin}: one CronJob");
    let job = jobs[0];
    assert_eq!(job["metadata"]["namespace"], namespace, "{origin}");
    assert_eq!(job["spec"]["concurrencyPolicy"], "Forbid", "{origin}");
    let schedule = job["spec"]["schedule"].as_str().expect("a schedule");
    assert!(
        snapdoc::analyze::Schedule::parse(schedule).is_ok(),
        "{origin}: schedule {schedule:?} does not parse"
    );
    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never", "{origin}");
    let account = of_kind(objects, "ServiceAccount")[0]["metadata"]["name"].clone();
    assert_eq!(pod["serviceAccountName"], account, "{origin}");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{origin}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{origin}"
    );
    assert!(
        pod.get("hostNetwork").is_none() && pod.get("hostPID").is_none(),
        "{origin}"
    );
    for volume in pod["volumes"].as_array().expect("volumes") {
        let kinds: Vec<&String> = volume
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "name")
            .collect();
        assert!(
            kinds.iter().all(|k| {
                [
                    "emptyDir",
                    "persistentVolumeClaim",
                    "configMap",
                    "projected",
                    "secret",
                    "downwardAPI",
                    "ephemeral",
                    "csi",
                ]
                .contains(&k.as_str())
            }),
            "{origin}: volume {volume} not allowed under the restricted standard"
        );
    }
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{origin}");
    let container = &containers[0];
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false, "{origin}");
    assert_eq!(security["readOnlyRootFilesystem"], true, "{origin}");
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]), "{origin}");
    assert!(security["capabilities"].get("add").is_none(), "{origin}");
    assert!(
        security.get("privileged").is_none_or(|p| p == false),
        "{origin}"
    );
    let args = strings(&container["args"]);
    assert_eq!(args.first().map(String::as_str), Some("check"), "{origin}");
    assert!(
        args.contains(&"--fail-on=never".to_string()),
        "{origin}: findings must not fail the Job: {args:?}"
    );
    let mounts = container["volumeMounts"].as_array().expect("volumeMounts");
    assert!(
        mounts.iter().any(|m| m["mountPath"] == "/tmp"),
        "{origin}: the read-only root needs a writable /tmp"
    );
    container.clone()
}

// ---- schema: the objects are what the Kubernetes API types say -----------------------------------------

/// Paths present in `original` that the typed round trip dropped or changed.
fn lost_fields(original: &Value, round_trip: &Value, path: &str, out: &mut Vec<String>) {
    match (original, round_trip) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = format!("{path}.{key}");
                match b.get(key) {
                    Some(other) => lost_fields(value, other, &here, out),
                    None => out.push(format!("{here} (unknown field)")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path} (length changed)"));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                lost_fields(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} became {b}")),
    }
}

fn schema_check(object: &Value, origin: &str) {
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
        object: &Value,
    ) -> Result<Value, String> {
        let typed: T = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(typed).unwrap())
    }
    let what = format!(
        "{origin}: {} {}",
        kind_of(object),
        object["metadata"]["name"]
    );
    let result = match (object["apiVersion"].as_str(), kind_of(object)) {
        (Some("v1"), "Namespace") => round_trip::<Namespace>(object),
        (Some("v1"), "ServiceAccount") => round_trip::<ServiceAccount>(object),
        (Some("rbac.authorization.k8s.io/v1"), "ClusterRole") => round_trip::<ClusterRole>(object),
        (Some("rbac.authorization.k8s.io/v1"), "ClusterRoleBinding") => {
            round_trip::<ClusterRoleBinding>(object)
        }
        (Some("rbac.authorization.k8s.io/v1"), "Role") => round_trip::<Role>(object),
        (Some("rbac.authorization.k8s.io/v1"), "RoleBinding") => round_trip::<RoleBinding>(object),
        (Some("batch/v1"), "CronJob") => round_trip::<CronJob>(object),
        (version, kind) => panic!("{what}: unexpected {version:?} {kind}"),
    };
    let round = result.unwrap_or_else(|e| panic!("{what}: does not fit the API type: {e}"));
    let mut lost = Vec::new();
    lost_fields(object, &round, "", &mut lost);
    assert!(lost.is_empty(), "{what}: {lost:#?}");
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    assert!(
        !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-'),
        "{what}: not a DNS-1123 label"
    );
}

// ---- tests ------------------------------------------------------------------------------------------

#[test]
fn the_manifest_grants_only_reads_and_downloadrequest_creation() {
    let objects = manifest_objects();
    check_rbac(&objects, "snapdoc", "velero", "manifest");
}

#[test]
fn the_manifest_cronjob_is_forbid_never_restricted_and_does_not_fail_on_findings() {
    let objects = manifest_objects();
    let container = check_cronjob(&objects, "snapdoc", "manifest");
    assert!(strings(&container["args"]).contains(&"--velero-namespace=velero".to_string()));
    // The role reads no secret and deletes nothing: the job must ask for neither.
    let args = strings(&container["args"]);
    assert!(args.contains(&"--skip-secrets".to_string()), "{args:?}");
    assert!(
        !args.contains(&"--delete-download-requests".to_string()),
        "{args:?}"
    );
    let namespace = of_kind(&objects, "Namespace");
    assert_eq!(
        namespace[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn the_manifest_objects_fit_the_kubernetes_api_types() {
    for object in manifest_objects() {
        schema_check(&object, "manifest");
    }
}

#[test]
fn the_chart_with_default_values_renders_the_same_permissions_and_job() {
    let objects = chart_objects(json!({}));
    check_rbac(&objects, "monitoring", "velero", "chart (defaults)");
    let container = check_cronjob(&objects, "monitoring", "chart (defaults)");
    assert_eq!(container["image"], "snapdoc:0.1.0");
    let args = strings(&container["args"]);
    assert!(
        !args.iter().any(|a| a.starts_with("--prometheus-textfile")),
        "{args:?}"
    );
    for object in &objects {
        schema_check(object, "chart (defaults)");
    }
    // The chart and the plain manifest grant the same.
    let manifest = manifest_objects();
    for kind in ["ClusterRole", "Role"] {
        assert_eq!(
            grants(of_kind(&objects, kind)[0]),
            grants(of_kind(&manifest, kind)[0]),
            "{kind}"
        );
    }
}

#[test]
fn the_chart_renders_every_option() {
    let overrides = json!({
        "veleroNamespace": "backup-system",
        "failOn": "warn",
        "timeZone": "Europe/Paris",
        "extraArgs": ["--since=24h", "--recent=5"],
        "clusterName": "prod-eu",
        "metrics": {"enabled": true, "existingClaim": "textfiles", "pushgateway": "http://pushgateway.monitoring:9091"},
        "imagePullSecrets": [{"name": "registry"}],
        "podLabels": {"team": "platform"},
        "podAnnotations": {"example.com/owner": "platform"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]
        }}},
    });
    let objects = chart_objects(overrides);
    for object in &objects {
        schema_check(object, "chart (all options)");
    }
    check_rbac(
        &objects,
        "monitoring",
        "backup-system",
        "chart (all options)",
    );
    let job = of_kind(&objects, "CronJob")[0];
    assert_eq!(job["spec"]["timeZone"], "Europe/Paris");
    let template = &job["spec"]["jobTemplate"]["spec"]["template"];
    assert_eq!(template["metadata"]["labels"]["team"], "platform");
    assert_eq!(
        template["spec"]["nodeSelector"]["kubernetes.io/os"],
        "linux"
    );
    assert_eq!(template["spec"]["imagePullSecrets"][0]["name"], "registry");
    let container = &template["spec"]["containers"][0];
    assert_eq!(
        strings(&container["args"]),
        [
            "check",
            "--velero-namespace=backup-system",
            "--fail-on=warn",
            "--format=json",
            "--skip-secrets",
            "--cluster-name=prod-eu",
            "--prometheus-textfile=/metrics/snapdoc.prom",
            "--pushgateway=http://pushgateway.monitoring:9091",
            "--since=24h",
            "--recent=5",
        ]
    );
    assert!(
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "metrics" && m["mountPath"] == "/metrics")
    );
    let volumes = template["spec"]["volumes"].as_array().unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "textfiles")
    );
}

/// Whether `object` belongs to the in-cluster probe (its component label).
fn is_probe(object: &Value) -> bool {
    object["metadata"]["labels"]["app.kubernetes.io/component"] == "probe"
}

/// The probe Role's grants as the flow needs them (snapdoc::probe::PROBE_ACCESS).
fn probe_access() -> BTreeSet<(String, String, String, String)> {
    snapdoc::probe::PROBE_ACCESS
        .iter()
        .flat_map(|(group, resource, verbs)| {
            verbs.iter().map(|verb| {
                (
                    group.to_string(),
                    resource.to_string(),
                    String::new(),
                    verb.to_string(),
                )
            })
        })
        .collect()
}

/// `binding` binds `role` (a Role in the same namespace) to `subject`.
fn binds(binding: &Value, role: &Value, subject: &Value, origin: &str) {
    assert_eq!(
        binding["metadata"]["namespace"], role["metadata"]["namespace"],
        "{origin}"
    );
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}),
        "{origin}"
    );
    assert_eq!(binding["subjects"], json!([subject]), "{origin}");
}

/// `probe.enabled` adds the probe Role (the same rules as deploy/manifests/snapdoc-probe-role.yaml, exactly what
/// the flow needs) bound to the CronJob's account in Velero's namespace, and `--probe` with the chart's own image
/// for the probe's Jobs; by default neither. The plain manifest's opt-in binding binds the same Role to the plain
/// manifest's account.
#[test]
fn the_probe_is_opt_in_and_binds_exactly_the_probe_role() {
    let defaults = chart_objects(json!({}));
    assert!(!defaults.iter().any(is_probe), "probe objects by default");
    let args = strings(&check_cronjob(&defaults, "monitoring", "chart (defaults)")["args"]);
    assert!(!args.iter().any(|a| a.starts_with("--probe")), "{args:?}");

    let objects = chart_objects(json!({
        "probe": {"enabled": true},
        "veleroNamespace": "backup-system",
        "image": {"repository": "registry.example/snapdoc", "tag": "1.2.3"},
    }));
    for object in &objects {
        schema_check(object, "chart (probe)");
    }
    let (probe, rest): (Vec<Value>, Vec<Value>) = objects.into_iter().partition(is_probe);
    // Everything else is as without the probe.
    check_rbac(&rest, "monitoring", "backup-system", "chart (probe)");
    let container = check_cronjob(&rest, "monitoring", "chart (probe)");
    let args = strings(&container["args"]);
    assert!(
        args.contains(&"--probe".to_string())
            && args.contains(&"--probe-image=registry.example/snapdoc:1.2.3".to_string()),
        "{args:?}"
    );
    let role = of_kind(&probe, "Role")[0];
    assert_eq!(role["metadata"]["namespace"], "backup-system");
    assert_eq!(grants(role), probe_access(), "chart probe Role");
    let account = json!({"kind": "ServiceAccount", "name": of_kind(&rest, "ServiceAccount")[0]["metadata"]["name"],
                         "namespace": "monitoring"});
    binds(
        of_kind(&probe, "RoleBinding")[0],
        role,
        &account,
        "chart probe RoleBinding",
    );
    assert_eq!(probe.len(), 2, "{probe:#?}");

    // The plain manifests: the probe Role as the chart's, bound by the opt-in binding to snapdoc-check.yaml's account.
    let path = "deploy/manifests/snapdoc-probe-role.yaml";
    let manifest_role = documents(&read(&root().join(path)), path).remove(0);
    assert_eq!(grants(&manifest_role), probe_access(), "{path}");
    let path = "deploy/manifests/snapdoc-check-probe.yaml";
    let binding = documents(&read(&root().join(path)), path);
    assert_eq!(binding.len(), 1, "{path}");
    schema_check(&binding[0], path);
    let check = manifest_objects();
    let account = of_kind(&check, "ServiceAccount")[0];
    let subject = json!({"kind": "ServiceAccount", "name": account["metadata"]["name"],
                         "namespace": account["metadata"]["namespace"]});
    binds(&binding[0], &manifest_role, &subject, path);
    assert_eq!(
        manifest_role["metadata"]["namespace"],
        of_kind(&check, "Role")[0]["metadata"]["namespace"],
        "the probe Role is in Velero's namespace, as the readers' Role"
    );
}

#[test]
fn metrics_without_a_claim_are_refused_at_render_time() {
    let error = render_chart(json!({"metrics": {"enabled": true}}), "monitoring").unwrap_err();
    assert!(error.contains("metrics.existingClaim"), "{error}");
}

#[test]
fn the_chart_notes_render() {
    let rendered = render_chart(json!({}), "monitoring").unwrap();
    let notes = &rendered
        .iter()
        .find(|(name, _)| name == "NOTES.txt")
        .expect("NOTES.txt")
        .1;
    assert!(
        notes.contains("kubectl -n monitoring create job --from=cronjob/snapdoc"),
        "{notes}"
    );
}

#[test]
fn the_template_renderer_trims_and_branches_like_go_templates() {
    let context = Context {
        values: json!({"on": true, "off": false, "list": ["a", "b"], "name": "x"}),
        release_name: "r".into(),
        release_namespace: "ns".into(),
        chart: json!({}),
    };
    let render = |template: &str| {
        let (nodes, _) = parse_nodes(&mut tokenize(template).into_iter(), false);
        let mut out = String::new();
        context.render_nodes(&nodes, &mut out).unwrap();
        out
    };
    assert_eq!(
        render("a:\n  {{- if .Values.on }}\n  b: 1\n  {{- end }}\n"),
        "a:\n  b: 1\n"
    );
    assert_eq!(
        render("a:\n  {{- if .Values.off }}\n  b: 1\n  {{- end }}\n"),
        "a:\n"
    );
    assert_eq!(
        render("l:\n  {{- toYaml .Values.list | nindent 2 }}\n"),
        "l:\n  - a\n  - b\n"
    );
    assert_eq!(
        render("n: {{ .Values.name | quote }} {{ .Release.Namespace }}"),
        "n: \"x\" ns"
    );
    assert_eq!(render("{{ if .Values.off }}yes{{ else }}no{{ end }}"), "no");
}

// ---- kubectl apply --dry-run=client against the lab ----------------------------------------------------

/// The lab serves the kinds snapdoc reads; the kinds deploy/ creates that it does not serve natively (batch
/// CronJobs, RBAC) are declared as CustomResourceDefinitions so that kubectl's discovery can map them.
/// Field-level validation is not the lab's (its OpenAPI schemas are open): the k8s-openapi round trip above
/// does that.
fn deploy_kinds_scenario() -> snapdoc::lab::Scenario {
    let kinds = [
        ("batch", "cronjobs", "CronJob", "Namespaced"),
        (
            "rbac.authorization.k8s.io",
            "clusterroles",
            "ClusterRole",
            "Cluster",
        ),
        (
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "ClusterRoleBinding",
            "Cluster",
        ),
        ("rbac.authorization.k8s.io", "roles", "Role", "Namespaced"),
        (
            "rbac.authorization.k8s.io",
            "rolebindings",
            "RoleBinding",
            "Namespaced",
        ),
    ];
    let crds: Vec<String> = kinds
        .iter()
        .map(|(group, plural, kind, scope)| {
            format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\n\
                 spec:\n  group: {group}\n  names: {{plural: {plural}, singular: {singular}, kind: {kind}, listKind: {kind}List}}\n\
                 \x20 scope: {scope}\n  versions:\n    - name: v1\n      served: true\n      storage: true\n\
                 \x20     schema:\n        openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n",
                singular = kind.to_lowercase()
            )
        })
        .collect();
    let files = vec![
        (
            "scenario.yaml".to_string(),
            "description: the kinds deploy/ creates, declared for kubectl's discovery\nveleroCrds: false\n"
                .to_string(),
        ),
        ("objects/kinds.yaml".to_string(), crds.join("---\n")),
    ];
    snapdoc::lab::Scenario::from_files("deploy-kinds", "tests/deploy.rs", files)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn kubectl_available() -> bool {
    let found = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "\n!!!!!!!! kubectl is not on PATH: SKIPPING kubectl apply --dry-run of deploy/ !!!!!!!!\n"
        );
    }
    found
}

#[test]
fn kubectl_apply_dry_run_accepts_the_manifest_and_the_rendered_chart() {
    if !kubectl_available() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = runtime
        .block_on(snapdoc::lab::LabCluster::start(deploy_kinds_scenario()))
        .expect("the lab starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig).unwrap();

    let chart_file = |name: &str, overrides: Value| {
        let rendered = render_chart(overrides, "monitoring").unwrap();
        let text: Vec<String> = rendered
            .into_iter()
            .filter(|(file, _)| file.ends_with(".yaml"))
            .map(|(_, text)| text)
            .collect();
        let path = dir.path().join(name);
        std::fs::write(&path, text.join("\n---\n")).unwrap();
        path
    };
    let inputs = [
        root().join("deploy/manifests/snapdoc-check.yaml"),
        chart_file("chart-defaults.yaml", json!({})),
        chart_file(
            "chart-metrics.yaml",
            json!({"metrics": {"enabled": true, "existingClaim": "textfiles"}, "extraArgs": ["--since=24h"]}),
        ),
        chart_file("chart-probe.yaml", json!({"probe": {"enabled": true}})),
        root().join("deploy/manifests/snapdoc-probe-role.yaml"),
        root().join("deploy/manifests/snapdoc-check-probe.yaml"),
    ];
    for input in &inputs {
        let expected = documents(&read(input), &input.display().to_string()).len();
        let output = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(["apply", "--dry-run=client", "-f"])
            .arg(input)
            .env_remove("KUBECONFIG")
            .output()
            .expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}: {}{stdout}",
            input.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            stdout.matches("created (dry run)").count(),
            expected,
            "{}: {stdout}",
            input.display()
        );
    }
    runtime.block_on(lab.shutdown());
}
