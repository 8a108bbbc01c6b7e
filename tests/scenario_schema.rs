//! The lab scenarios are the ground truth snapdoc is tested and demoed on, so they are checked like a cluster
//! would check them. Every scenario folder: scenario.yaml against docs/scenarios.md, every Velero object against
//! the real CRD schema of its kind and version (unknown fields are errors: the API server would prune them), every
//! log file against a pod and container that exist, every object-store file against its Backup or Restore, every
//! ownerReference against its owner. The scenarios written to look like real clusters (REALISTIC) also: what a
//! real cluster always has (uids, creation times, namespaces, consistent pod statuses, logs in time order, nothing
//! later than the reference time, results that agree with the Backup's counts). Further tests pin what each one
//! is meant to show.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use support::openapi::{validate, validate_resource};
use support::scenario::{Object, Scenario, crd_schemas, scenario_dirs};

const CLUSTER_SCOPED: &[&str] = &[
    "Node",
    "Namespace",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
];
const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
];
/// The scenarios written to look like real clusters (the lab's own self-test scenario is not one of them).
const REALISTIC: &[&str] = &[
    "healthy",
    "failed-bsl",
    "partially-failed-fsb",
    "old-velero-restic",
    "forbidden",
    "no-velero",
    "kurl-app-only",
    "embedded-cluster",
    "velero-119-restic",
    "maintenance-oom",
    "data-mover-pending",
    "restore-wait-failed",
    "restore-wait-looping",
    "kurl-minio-full",
    "kots-velero-117-upgrade",
    "node-disk-pressure",
    "maintenance-oom-115",
];
/// What the lab serves from store/ (docs/scenarios.md).
const STORE_FILES_BACKUP: &[&str] = &[
    "backup.log",
    "results.json",
    "resource-list.json",
    "volumesnapshots.json",
    "itemoperations.json",
    "csi-volumesnapshots.json",
    "csi-volumesnapshotcontents.json",
    "volumeinfo.json",
];
const STORE_FILES_RESTORE: &[&str] = &[
    "restore.log",
    "results.json",
    "resource-list.json",
    "itemoperations.json",
    "volumeinfo.json",
];
const FAULT_KEYS: &[&str] = &[
    "forbidden",
    "latencyMs",
    "errorBursts",
    "droppedLogStreams",
    "downloadRequests",
];
const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

fn load_all() -> Vec<Scenario> {
    let dirs = scenario_dirs();
    assert!(!dirs.is_empty(), "no scenario under tests/scenarios");
    dirs.iter()
        .map(|d| {
            Scenario::load(d)
                .unwrap_or_else(|e| panic!("scenario {} does not load: {e}", d.display()))
        })
        .collect()
}

fn report(scenario: &str, problems: &[String]) -> String {
    let mut text = format!("scenario `{scenario}`: {} problem(s)\n", problems.len());
    for p in problems.iter().take(60) {
        text.push_str("  - ");
        text.push_str(p);
        text.push('\n');
    }
    text
}

#[test]
fn every_scenario_fits_the_spec() {
    let mut failures = String::new();
    for s in load_all() {
        let mut problems = Vec::new();
        check_manifest(&s, &mut problems);
        check_velero_schemas(&s, &mut problems);
        check_owner_references(&s, &mut problems);
        check_logs(&s, false, &mut problems);
        check_store(&s, false, &mut problems);
        if !problems.is_empty() {
            failures.push_str(&report(&s.name, &problems));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn realistic_scenarios_look_like_real_clusters() {
    let all = load_all();
    let mut failures = String::new();
    for name in REALISTIC {
        let Some(s) = all.iter().find(|s| s.name == *name) else {
            failures.push_str(&format!("scenario `{name}` is missing\n"));
            continue;
        };
        let mut problems = Vec::new();
        check_objects(s, &mut problems);
        check_pods(s, &mut problems);
        check_velero_references(s, &mut problems);
        check_logs(s, true, &mut problems);
        check_store(s, true, &mut problems);
        check_timestamps(s, &mut problems);
        if !problems.is_empty() {
            failures.push_str(&report(&s.name, &problems));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

// ------------------------------------------------------------------------------------------- scenario.yaml

fn check_manifest(s: &Scenario, problems: &mut Vec<String>) {
    let Some(m) = s.manifest.as_object() else {
        problems.push("scenario.yaml is not a mapping".into());
        return;
    };
    for key in m.keys() {
        if ![
            "description",
            "kubernetes",
            "referenceTime",
            "faults",
            "veleroCrds",
        ]
        .contains(&key.as_str())
        {
            problems.push(format!("scenario.yaml: unknown key `{key}`"));
        }
    }
    if m.get("veleroCrds").is_some_and(|v| !v.is_boolean()) {
        problems.push("scenario.yaml: veleroCrds is a boolean".into());
    }
    match m.get("description").and_then(Value::as_str) {
        Some(d) if !d.trim().is_empty() => {}
        _ => problems.push("scenario.yaml: `description` (a non-empty string) is required".into()),
    }
    if let Some(k) = m.get("kubernetes") {
        let major = k.get("major").and_then(Value::as_str);
        let minor = k.get("minor").and_then(Value::as_str);
        let git = k.get("gitVersion").and_then(Value::as_str);
        match (major, minor, git) {
            (Some(ma), Some(mi), Some(g)) if g.starts_with(&format!("v{ma}.{mi}.")) => {}
            _ => problems.push(format!(
                "scenario.yaml: kubernetes needs string major, minor and a gitVersion v<major>.<minor>.<patch>, found {k}"
            )),
        }
        let nodes: Vec<&str> = s
            .of_kind("Node")
            .filter_map(|n| n.str_at("/status/nodeInfo/kubeletVersion"))
            .collect();
        if let Some(g) = git
            && nodes.iter().any(|v| *v != g)
        {
            problems.push(format!(
                "scenario.yaml: gitVersion {g} differs from the kubelets' {nodes:?}"
            ));
        }
    }
    if let Some(t) = m.get("referenceTime")
        && t.as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_none()
    {
        problems.push(format!(
            "scenario.yaml: referenceTime {t} is not an RFC 3339 time"
        ));
    }
    let Some(faults) = m.get("faults") else {
        return;
    };
    let Some(faults) = faults.as_object() else {
        problems.push("scenario.yaml: faults is not a mapping".into());
        return;
    };
    for (key, value) in faults {
        match key.as_str() {
            "forbidden" => check_forbidden(value, problems),
            "latencyMs" => {
                if value.as_u64().is_none() {
                    problems.push(format!(
                        "scenario.yaml: faults.latencyMs {value} is not a non-negative integer"
                    ));
                }
            }
            "errorBursts" => {
                for burst in value.as_array().into_iter().flatten() {
                    let ok = burst.get("pathContains").and_then(Value::as_str).is_some()
                        && burst
                            .get("status")
                            .and_then(Value::as_u64)
                            .is_some_and(|c| {
                                [401, 403, 404, 409, 410, 429, 500, 502, 503, 504].contains(&c)
                            })
                        && burst
                            .get("count")
                            .and_then(Value::as_u64)
                            .is_some_and(|c| c > 0);
                    if !ok {
                        problems.push(format!("scenario.yaml: errorBursts entry {burst} needs pathContains, a status and a count"));
                    }
                }
            }
            "droppedLogStreams" => {
                for drop in value.as_array().into_iter().flatten() {
                    let field = |k: &str| drop.get(k).and_then(Value::as_str);
                    // `pod` may end in `*` (a name prefix); no `container` means all of the pod's.
                    let pod_matches = |pod: &str| match field("pod") {
                        Some(p) => p
                            .strip_suffix('*')
                            .map_or(pod == p, |prefix| pod.starts_with(prefix)),
                        None => false,
                    };
                    let known = s.logs.iter().any(|l| {
                        Some(l.namespace.as_str()) == field("namespace")
                            && pod_matches(&l.pod)
                            && field("container").is_none_or(|c| c == l.container)
                    });
                    if !known || drop.get("afterBytes").and_then(Value::as_u64).is_none() {
                        problems.push(format!("scenario.yaml: droppedLogStreams entry {drop} names no log of the scenario or lacks afterBytes"));
                    }
                }
            }
            "downloadRequests" => {
                if ![
                    "processed",
                    "never-processed",
                    "unreachable-url",
                    "unresolvable-url",
                ]
                .contains(&value.as_str().unwrap_or(""))
                {
                    problems.push(format!("scenario.yaml: faults.downloadRequests {value} is not processed | never-processed | unreachable-url | unresolvable-url"));
                }
            }
            other => problems.push(format!(
                "scenario.yaml: unknown fault `{other}` (known: {FAULT_KEYS:?})"
            )),
        }
    }
}

fn check_forbidden(value: &Value, problems: &mut Vec<String>) {
    let Some(rules) = value.as_array() else {
        problems.push("scenario.yaml: faults.forbidden is not a list".into());
        return;
    };
    for rule in rules {
        if rule
            .get("resource")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            problems.push(format!(
                "scenario.yaml: forbidden entry {rule} has no resource"
            ));
        }
        if let Some(verbs) = rule.get("verbs") {
            let ok = verbs.as_array().is_some_and(|v| {
                !v.is_empty() && v.iter().all(|v| VERBS.contains(&v.as_str().unwrap_or("")))
            });
            if !ok {
                problems.push(format!(
                    "scenario.yaml: forbidden entry {rule}: verbs must be a list of {VERBS:?}"
                ));
            }
        }
        if let Some(obj) = rule.as_object() {
            for key in obj
                .keys()
                .filter(|k| !["resource", "verbs"].contains(&k.as_str()))
            {
                problems.push(format!(
                    "scenario.yaml: forbidden entry has unknown key `{key}`"
                ));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------- objects

fn check_objects(s: &Scenario, problems: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    let mut uids = BTreeMap::new();
    let namespaces: BTreeSet<&str> = s.of_kind("Namespace").map(Object::name).collect();
    for o in &s.objects {
        if o.api_version().is_empty() || o.kind().is_empty() || o.name().is_empty() {
            problems.push(format!(
                "{}: apiVersion, kind and metadata.name are required",
                o.at()
            ));
            continue;
        }
        let (group, _) = o.group_version();
        if !seen.insert((
            group.to_string(),
            o.kind().to_string(),
            o.namespace().map(str::to_string),
            o.name().to_string(),
        )) {
            problems.push(format!("{}: defined twice", o.at()));
        }
        if o.uid().is_empty() {
            problems.push(format!("{}: metadata.uid is missing", o.at()));
        } else if let Some(other) = uids.insert(o.uid().to_string(), o.at()) {
            problems.push(format!("{}: uid {} also used by {other}", o.at(), o.uid()));
        }
        if o.value
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .is_none()
        {
            problems.push(format!("{}: metadata.creationTimestamp is missing", o.at()));
        }
        let cluster_scoped = CLUSTER_SCOPED.contains(&o.kind());
        match (cluster_scoped, o.namespace()) {
            (true, Some(ns)) => problems.push(format!(
                "{}: a cluster-scoped {} has namespace {ns}",
                o.at(),
                o.kind()
            )),
            (false, None) => problems.push(format!(
                "{}: a namespaced object without metadata.namespace",
                o.at()
            )),
            (false, Some(ns)) if !namespaces.contains(ns) => problems.push(format!(
                "{}: namespace {ns} is not among the scenario's Namespaces",
                o.at()
            )),
            _ => {}
        }
        if o.kind() == "Secret" {
            use base64::Engine as _;
            for (key, v) in o
                .value
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let decoded = v
                    .as_str()
                    .map(|t| base64::engine::general_purpose::STANDARD.decode(t));
                if !matches!(decoded, Some(Ok(_))) {
                    problems.push(format!("{}: data.{key} is not base64", o.at()));
                }
            }
        }
    }
}

fn check_velero_schemas(s: &Scenario, problems: &mut Vec<String>) {
    let scenario_crds: Vec<&Object> = s.of_kind("CustomResourceDefinition").collect();
    let velero_crds = s.manifest.get("veleroCrds").and_then(Value::as_bool) != Some(false);
    let schemas = match crd_schemas(&scenario_crds, velero_crds) {
        Ok(m) => m,
        Err(e) => {
            problems.push(e);
            return;
        }
    };
    let crd_groups: BTreeSet<&str> = schemas.keys().map(|(g, _, _)| g.as_str()).collect();
    for o in &s.objects {
        let (group, version) = o.group_version();
        if !crd_groups.contains(group) {
            continue;
        }
        let key = (group.to_string(), o.kind().to_string(), version.to_string());
        let Some(schema) = schemas.get(&key) else {
            problems.push(format!(
                "{}: no CRD serves {}/{} kind {}",
                o.at(),
                group,
                version,
                o.kind()
            ));
            continue;
        };
        for v in validate_resource(schema, &o.value) {
            problems.push(format!("{}: {v}", o.at()));
        }
        for key in o
            .value
            .get("metadata")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if !OBJECT_META_FIELDS.contains(&key.as_str()) {
                problems.push(format!(
                    "{}: metadata.{key} is not an ObjectMeta field",
                    o.at()
                ));
            }
        }
    }
}

fn check_owner_references(s: &Scenario, problems: &mut Vec<String>) {
    for o in &s.objects {
        for r in o
            .value
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
            let owner = s.objects.iter().find(|c| {
                c.kind() == field("kind")
                    && c.name() == field("name")
                    && c.api_version() == field("apiVersion")
                    && (c.namespace().is_none() || c.namespace() == o.namespace())
            });
            match owner {
                None => problems.push(format!(
                    "{}: owner {} {} not found",
                    o.at(),
                    field("kind"),
                    field("name")
                )),
                Some(c)
                    if !c.uid().is_empty()
                        && !field("uid").is_empty()
                        && c.uid() != field("uid") =>
                {
                    problems.push(format!(
                        "{}: owner {} has uid {}, the reference says {}",
                        o.at(),
                        c.at(),
                        c.uid(),
                        field("uid")
                    ))
                }
                _ => {}
            }
        }
    }
}

fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn check_pods(s: &Scenario, problems: &mut Vec<String>) {
    for p in s.of_kind("Pod") {
        let spec_names = names(p.value.pointer("/spec/containers"));
        let status_names = names(p.value.pointer("/status/containerStatuses"));
        // The kubelet writes container statuses once the pod is bound to its node: a pod the scheduler could
        // not place (PodScheduled False) has none.
        let unscheduled = p.value["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "PodScheduled" && c["status"] == "False");
        if spec_names != status_names && !(unscheduled && status_names.is_empty()) {
            problems.push(format!(
                "{}: containerStatuses {status_names:?} do not match containers {spec_names:?}",
                p.at()
            ));
        }
        let init_spec = names(p.value.pointer("/spec/initContainers"));
        let init_status = names(p.value.pointer("/status/initContainerStatuses"));
        if init_spec != init_status {
            problems.push(format!("{}: initContainerStatuses {init_status:?} do not match initContainers {init_spec:?}", p.at()));
        }
        if let Some(node) = p.str_at("/spec/nodeName")
            && s.find("Node", None, node).is_none()
        {
            problems.push(format!(
                "{}: runs on node {node}, which does not exist",
                p.at()
            ));
        }
        for vol in p
            .value
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(claim) = vol
                .pointer("/persistentVolumeClaim/claimName")
                .and_then(Value::as_str)
                && s.find("PersistentVolumeClaim", p.namespace(), claim)
                    .is_none()
            {
                problems.push(format!(
                    "{}: volume claims {claim}, which does not exist",
                    p.at()
                ));
            }
        }
        for st in p
            .value
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let restarts = st.get("restartCount").and_then(Value::as_u64).unwrap_or(0);
            let has_last = st.pointer("/lastState/terminated").is_some();
            if (restarts > 0) != has_last {
                problems.push(format!(
                    "{}: container {} has restartCount {restarts} but lastState {}",
                    p.at(),
                    st.get("name").and_then(Value::as_str).unwrap_or("?"),
                    st.get("lastState").unwrap_or(&json!(null))
                ));
            }
        }
    }
    for claim in s.of_kind("PersistentVolumeClaim") {
        if let Some(pv) = claim.str_at("/spec/volumeName") {
            match s.find("PersistentVolume", None, pv) {
                None => problems.push(format!(
                    "{}: bound to {pv}, which does not exist",
                    claim.at()
                )),
                Some(v) if v.str_at("/spec/claimRef/uid") != Some(claim.uid()) => {
                    problems.push(format!("{}: {pv} is bound to another claim", claim.at()))
                }
                _ => {}
            }
        }
    }
}

fn check_velero_references(s: &Scenario, problems: &mut Vec<String>) {
    for pvb in s.of_kind("PodVolumeBackup") {
        let label = |k: &str| {
            pvb.value
                .pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
        };
        match label("velero.io/backup-name").and_then(|b| s.find("Backup", pvb.namespace(), b)) {
            None => problems.push(format!(
                "{}: velero.io/backup-name names no Backup",
                pvb.at()
            )),
            Some(b) if label("velero.io/backup-uid") != Some(b.uid()) => problems.push(format!(
                "{}: velero.io/backup-uid is not {}'s uid",
                pvb.at(),
                b.at()
            )),
            _ => {}
        }
        if let Some(node) = pvb.str_at("/spec/node")
            && s.find("Node", None, node).is_none()
        {
            problems.push(format!("{}: spec.node {node} does not exist", pvb.at()));
        }
        if let Some(pvc_uid) = label("velero.io/pvc-uid")
            && !s
                .of_kind("PersistentVolumeClaim")
                .any(|c| c.uid() == pvc_uid)
        {
            problems.push(format!(
                "{}: velero.io/pvc-uid {pvc_uid} is no claim's uid",
                pvb.at()
            ));
        }
    }
    for b in s.of_kind("Backup") {
        if let Some(loc) = b.str_at("/spec/storageLocation")
            && s.find("BackupStorageLocation", b.namespace(), loc)
                .is_none()
        {
            problems.push(format!("{}: storage location {loc} does not exist", b.at()));
        }
    }
}

// ------------------------------------------------------------------------------------------- logs and store

/// The first RFC 3339 time of a log line: logfmt `time="…"` or JSON `"ts":"…"`.
fn line_time(line: &str) -> Option<jiff::Timestamp> {
    let start = line
        .find("time=\"")
        .map(|i| i + 6)
        .or_else(|| line.find("\"ts\":\"").map(|i| i + 6))?;
    let end = line[start..].find('"')? + start;
    line[start..end].parse().ok()
}

/// Log files name pods and containers of objects/. Realistic scenarios also: a previous log only for a container
/// that restarted, lines in time order and not later than the reference time, a log for every Velero, node-agent /
/// restic and kotsadm container.
fn check_logs(s: &Scenario, realistic: bool, problems: &mut Vec<String>) {
    let reference = s.reference_time();
    for log in &s.logs {
        let at = format!("logs/{}/{}/{}", log.namespace, log.pod, log.container);
        let Some(pod) = s.find("Pod", Some(&log.namespace), &log.pod) else {
            problems.push(format!(
                "{at}: no pod {}/{} in objects",
                log.namespace, log.pod
            ));
            continue;
        };
        let containers = [
            names(pod.value.pointer("/spec/containers")),
            names(pod.value.pointer("/spec/initContainers")),
        ]
        .concat();
        if !containers.contains(&log.container) {
            problems.push(format!(
                "{at}: pod {} has no container {} ({containers:?})",
                log.pod, log.container
            ));
        }
        if !realistic {
            continue;
        }
        if log.previous {
            let restarted = named(&pod.value, "/status/containerStatuses", &log.container)
                .and_then(|c| c.get("restartCount"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
                > 0;
            if !restarted {
                problems.push(format!(
                    "{at}.previous.log: the container never restarted, so it has no previous log"
                ));
            }
        }
        let text = match std::fs::read_to_string(&log.path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{at}: {e}"));
                continue;
            }
        };
        // MinIO's console lines carry no time of their own (minio/minio@22d2dbc4, RELEASE.2023-09-30T07-02-29Z,
        // internal/logger/console.go infoMsg.pretty prints the message alone).
        let untimed = named(&pod.value, "/spec/containers", &log.container)
            .and_then(|c| c.get("image"))
            .and_then(Value::as_str)
            .is_some_and(|i| i.starts_with("minio/minio:"))
            // Velero's restore helper prints with fmt, no time (cmd/velero-restore-helper/velero-restore-helper.go,
            // vmware-tanzu/velero v1.15.2 804d73c4).
            || (named(&pod.value, "/spec/initContainers", &log.container).is_some()
                && matches!(log.container.as_str(), "restore-wait" | "restic-wait"));
        if !untimed {
            check_log_times(&at, &text, reference, problems);
        }
    }
    if !realistic {
        return;
    }
    for pod in s.of_kind("Pod") {
        let component = pod
            .value
            .pointer("/metadata/labels/component")
            .and_then(Value::as_str)
            == Some("velero")
            || pod
                .value
                .pointer("/metadata/labels/app")
                .and_then(Value::as_str)
                == Some("kotsadm");
        if !component {
            continue;
        }
        for c in names(pod.value.pointer("/spec/containers")) {
            let ns = pod.namespace().unwrap_or("");
            if !s.logs.iter().any(|l| {
                l.namespace == ns && l.pod == pod.name() && l.container == c && !l.previous
            }) {
                problems.push(format!(
                    "{}: container {c} has no log under logs/{ns}/{}/",
                    pod.at(),
                    pod.name()
                ));
            }
        }
    }
}

/// The entry named `name` of the list at `pointer` (a pod's containers or container statuses).
fn named<'v>(pod: &'v Value, pointer: &str, name: &str) -> Option<&'v Value> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
}

fn check_log_times(
    at: &str,
    text: &str,
    reference: Option<jiff::Timestamp>,
    problems: &mut Vec<String>,
) {
    let mut last: Option<jiff::Timestamp> = None;
    for (i, line) in text.lines().enumerate() {
        // A Velero command that fails prints its error to stderr without a time (vmware-tanzu/velero@7013a409
        // pkg/cmd/errors.go CheckError), as its last line.
        if line.starts_with("An error occurred: ") {
            continue;
        }
        let Some(t) = line_time(line) else {
            problems.push(format!("{at}:{}: no time=\"…\" or \"ts\" field", i + 1));
            continue;
        };
        if last.is_some_and(|l| t < l) {
            problems.push(format!("{at}:{}: goes back in time", i + 1));
        }
        if reference.is_some_and(|r| t > r) {
            problems.push(format!("{at}:{}: later than referenceTime", i + 1));
        }
        last = Some(t);
    }
}

/// store/ files are ones the lab serves and belong to a Backup or Restore; results.json has Velero's shape.
/// Realistic scenarios also: results agree with the owner's error and warning counts, every log line names its
/// backup or restore, lines in time order.
fn check_store(s: &Scenario, realistic: bool, problems: &mut Vec<String>) {
    for rel in &s.store {
        let parts: Vec<&str> = rel.split('/').collect();
        let (kind, allowed) = match parts.first() {
            Some(&"backups") => ("Backup", STORE_FILES_BACKUP),
            Some(&"restores") => ("Restore", STORE_FILES_RESTORE),
            _ => {
                problems.push(format!(
                    "store/{rel}: only backups/ and restores/ are served"
                ));
                continue;
            }
        };
        if parts.len() != 3 || !allowed.contains(&parts[2]) {
            problems.push(format!(
                "store/{rel}: expected {}/<name>/{{{}}}",
                parts[0],
                allowed.join(",")
            ));
            continue;
        }
        let Some(owner) = s.find(kind, Some("velero"), parts[1]) else {
            problems.push(format!(
                "store/{rel}: no {kind} velero/{} in objects",
                parts[1]
            ));
            continue;
        };
        let text = match s.read_store(rel) {
            Ok(t) => t,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if parts[2] == "results.json" {
            check_results(rel, &text, owner, realistic, problems);
        } else if parts[2].ends_with(".json") {
            if let Err(e) = serde_json::from_str::<Value>(&text) {
                problems.push(format!("store/{rel}: not JSON: {e}"));
            }
        } else if realistic {
            let field = format!("{}=velero/{}", kind.to_lowercase(), parts[1]);
            for (i, line) in text.lines().enumerate() {
                if !line.contains(&field) {
                    problems.push(format!("store/{rel}:{}: a line without {field}", i + 1));
                }
            }
            check_log_times(&format!("store/{rel}"), &text, s.reference_time(), problems);
        }
    }
}

fn check_results(
    rel: &str,
    text: &str,
    owner: &Object,
    realistic: bool,
    problems: &mut Vec<String>,
) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("store/{rel}: not JSON: {e}"));
            return;
        }
    };
    let Some(map) = value.as_object() else {
        problems.push(format!("store/{rel}: not an object"));
        return;
    };
    for (level, status_field) in [("errors", "errors"), ("warnings", "warnings")] {
        let mut count = 0u64;
        for (scope, entries) in map
            .get(level)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match scope.as_str() {
                "velero" | "cluster" => count += entries.as_array().map_or(0, |a| a.len() as u64),
                "namespaces" => {
                    for list in entries.as_object().into_iter().flatten().map(|(_, l)| l) {
                        count += list.as_array().map_or(0, |a| a.len() as u64);
                    }
                }
                other => problems.push(format!(
                    "store/{rel}: {level}.{other} is not velero, cluster or namespaces"
                )),
            }
        }
        let in_status = owner
            .value
            .pointer(&format!("/status/{status_field}"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        // results.json is uploaded when initial processing ends; an asynchronous operation (a DataUpload) that
        // fails later adds one error to the Backup's status only (v1.16.0 pkg/controller/
        // backup_operations_controller.go `backup.Status.Errors += len(operations.ErrsSinceUpdate)`).
        let after_upload = match level {
            "errors" => owner
                .value
                .pointer("/status/backupItemOperationsFailed")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            _ => 0,
        };
        if realistic && in_status != count + after_upload {
            problems.push(format!(
                "store/{rel}: {count} {level} but {} says {in_status}",
                owner.at()
            ));
        }
    }
    for key in map
        .keys()
        .filter(|k| !["errors", "warnings"].contains(&k.as_str()))
    {
        problems.push(format!("store/{rel}: unknown key {key}"));
    }
}

/// Times in objects are in the past of referenceTime, except a backup's expiration.
fn check_timestamps(s: &Scenario, problems: &mut Vec<String>) {
    let Some(reference) = s.reference_time() else {
        return;
    };
    fn walk(
        v: &Value,
        path: &str,
        reference: jiff::Timestamp,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    if k != "expiration" {
                        walk(c, &format!("{path}.{k}"), reference, at, problems);
                    }
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    walk(c, &format!("{path}[{i}]"), reference, at, problems);
                }
            }
            Value::String(t) if t.len() == 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z') => {
                if let Ok(time) = t.parse::<jiff::Timestamp>()
                    && time > reference
                {
                    problems.push(format!("{at}: {path} = {t} is later than referenceTime"));
                }
            }
            _ => {}
        }
    }
    for o in &s.objects {
        walk(&o.value, "", reference, &o.at(), problems);
    }
}

// ------------------------------------------------------------------------------------------- the validator

#[test]
fn validator_rejects_unknown_fields_and_accepts_preserved_ones() {
    let schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}});
    let bad = validate(&schema, &json!({"spec": {"a": "x", "b": 1}}));
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].path, ".spec.b");
    assert!(bad[0].message.contains("unknown field"));
    assert!(
        validate(
            &schema,
            &json!({"free": {"anything": [1, 2]}, "labels": {"k": "v"}})
        )
        .is_empty()
    );
    let wrong_value = validate(&schema, &json!({"labels": {"k": 3}}));
    assert_eq!(wrong_value[0].path, ".labels.k");
}

#[test]
fn validator_checks_types_enums_required_and_nullability() {
    let schema = json!({"type": "object", "required": ["phase"], "properties": {
        "phase": {"type": "string", "enum": ["New", "Ready"]},
        "count": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "when": {"type": "string", "format": "date-time", "nullable": true},
        "port": {"x-kubernetes-int-or-string": true},
        "items": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z]+$"}}}});
    assert!(
        validate(
            &schema,
            &json!({"phase": "Ready", "count": 3, "ratio": 0.5, "flag": true, "when": null,
        "port": "http", "items": ["abc"]})
        )
        .is_empty()
    );
    let messages: Vec<String> = validate(
        &schema,
        &json!({"count": 11, "ratio": "x", "flag": "true",
        "when": "yesterday", "port": 1.5, "items": ["ABC"]}),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    for expected in [
        ".: required field `phase` is missing",
        ".count: 11 is above the maximum 10",
        ".ratio: expected number",
        ".flag: expected boolean",
        ".when: \"yesterday\" is not an RFC 3339 date-time",
        ".port: expected an integer or a string",
        ".items[0]: \"ABC\" does not match pattern",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(expected)),
            "missing {expected:?} in {messages:#?}"
        );
    }
    assert!(
        validate(&schema, &json!({"phase": "Gone"}))[0]
            .message
            .contains("is not one of")
    );
    assert!(
        validate(&schema, &json!({"phase": "New", "ratio": null}))[0]
            .message
            .contains("not nullable")
    );
    assert!(
        validate(&schema, &json!({"phase": "New", "count": 1.5}))[0]
            .message
            .contains("expected integer")
    );
}

#[test]
fn validator_reports_schema_keywords_it_does_not_know() {
    let schema = json!({"type": "string", "x-kubernetes-validations": [{"rule": "self != ''"}]});
    let v = validate(&schema, &json!("a"));
    assert_eq!(v.len(), 1);
    assert!(v[0].message.contains("x-kubernetes-validations"));
}

#[test]
fn validator_checks_velero_backup_against_the_real_crd() {
    let schemas = crd_schemas(&[], true).expect("crds/velero loads");
    let backup = &schemas[&(
        "velero.io".to_string(),
        "Backup".to_string(),
        "v1".to_string(),
    )];
    let good = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "b", "namespace": "velero"},
        "spec": {"storageLocation": "default", "ttl": "720h0m0s", "includedNamespaces": ["default"]},
        "status": {"phase": "Completed", "startTimestamp": "2026-11-25T02:30:04Z", "progress": {"totalItems": 3, "itemsBackedUp": 3}}});
    assert_eq!(validate_resource(backup, &good), vec![]);
    let mut pruned = good.clone();
    pruned["spec"]["storageLocations"] = json!("default");
    pruned["status"]["phase"] = json!("Done");
    let mut found: Vec<String> = validate_resource(backup, &pruned)
        .iter()
        .map(|v| v.path.clone())
        .collect();
    found.sort();
    assert_eq!(found, vec![".spec.storageLocations", ".status.phase"]);
}

// ------------------------------------------------------------------------------------------- what each shows

fn get<'a>(s: &'a Scenario, kind: &'a str) -> Vec<&'a Object> {
    s.of_kind(kind).collect()
}

fn newest_backup(s: &Scenario) -> &Object {
    get(s, "Backup")
        .into_iter()
        .max_by_key(|b| {
            b.str_at("/metadata/creationTimestamp")
                .unwrap_or("")
                .to_string()
        })
        .expect("the scenario has backups")
}

fn age_hours(s: &Scenario, t: &str) -> f64 {
    let reference = s.reference_time().expect("referenceTime");
    let t: jiff::Timestamp = t.parse().expect("an RFC 3339 time");
    (reference.as_second() - t.as_second()) as f64 / 3600.0
}

fn all_logs(s: &Scenario) -> String {
    s.logs
        .iter()
        .map(|l| std::fs::read_to_string(&l.path).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("")
}

fn scenario(name: &str) -> Scenario {
    let dir = support::scenario::repo_root()
        .join("tests/scenarios")
        .join(name);
    Scenario::load(&dir).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn healthy_has_nothing_worth_a_warning() {
    let s = scenario("healthy");
    let backups = get(&s, "Backup");
    assert!(backups.len() >= 8, "a week of nightly backups");
    for b in &backups {
        assert_eq!(b.str_at("/status/phase"), Some("Completed"), "{}", b.at());
    }
    assert!(
        age_hours(
            &s,
            newest_backup(&s)
                .str_at("/status/completionTimestamp")
                .unwrap()
        ) < 24.0
    );
    let bsl = s
        .find("BackupStorageLocation", Some("velero"), "default")
        .expect("BSL default");
    assert_eq!(bsl.str_at("/status/phase"), Some("Available"));
    assert!(age_hours(&s, bsl.str_at("/status/lastValidationTime").unwrap()) < 0.1);
    assert!(
        get(&s, "PodVolumeBackup")
            .iter()
            .all(|p| p.str_at("/status/phase") == Some("Completed"))
    );
    assert!(
        get(&s, "BackupRepository")
            .iter()
            .all(|r| r.str_at("/status/phase") == Some("Ready"))
    );
    for pod in get(&s, "Pod") {
        for c in pod
            .value
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .unwrap()
        {
            assert_eq!(c["ready"], json!(true), "{}", pod.at());
            assert_eq!(c["restartCount"], json!(0), "{}", pod.at());
        }
    }
    let logs = all_logs(&s);
    for bad in [
        "level=error",
        "level=warning",
        "level=fatal",
        "\"level\":\"error\"",
        "\"level\":\"warn\"",
    ] {
        assert!(!logs.contains(bad), "healthy logs contain {bad}");
    }
    assert!(
        !s.of_kind("Event")
            .any(|e| e.str_at("/type") == Some("Warning"))
    );
}

#[test]
fn failed_bsl_shows_a_missing_bucket() {
    let s = scenario("failed-bsl");
    let bsl = s
        .find("BackupStorageLocation", Some("velero"), "default")
        .expect("BSL default");
    assert_eq!(bsl.str_at("/status/phase"), Some("Unavailable"));
    assert!(
        bsl.str_at("/status/message")
            .unwrap()
            .contains("NoSuchBucket: The specified bucket does not exist")
    );
    let newest = newest_backup(&s);
    assert_eq!(newest.str_at("/status/phase"), Some("Failed"));
    assert!(
        newest
            .str_at("/status/failureReason")
            .unwrap()
            .contains("NoSuchBucket")
    );
    let failed_scheduled = get(&s, "Backup")
        .iter()
        .filter(|b| {
            b.str_at("/status/phase") == Some("Failed")
                && b.str_at("/metadata/annotations/kots.io~1snapshot-trigger") == Some("schedule")
        })
        .count();
    assert!(
        failed_scheduled >= 2,
        "the schedule keeps producing failed backups"
    );
    let logs = all_logs(&s);
    assert!(logs.lines().any(|l| l.contains("level=error")
        && l.contains("NoSuchBucket: The specified bucket does not exist")));
    assert!(
        s.store.is_empty(),
        "the bucket is gone: nothing can be read back from the object store"
    );
}

#[test]
fn partially_failed_fsb_shows_killed_uploads_and_an_oom_killed_node_agent() {
    let s = scenario("partially-failed-fsb");
    assert_eq!(
        newest_backup(&s).str_at("/status/phase"),
        Some("PartiallyFailed")
    );
    let failed: Vec<&Object> = get(&s, "PodVolumeBackup")
        .into_iter()
        .filter(|p| p.str_at("/status/phase") == Some("Failed"))
        .collect();
    assert!(failed.iter().any(|p| {
        p.str_at("/status/message")
            .unwrap_or("")
            .contains("signal: killed")
    }));
    let oom = get(&s, "Pod").into_iter().find(|p| {
        p.value
            .pointer("/status/containerStatuses/0/lastState/terminated/reason")
            .and_then(Value::as_str)
            == Some("OOMKilled")
    });
    let oom = oom.expect("a node-agent pod restarted after OOMKilled");
    assert_eq!(
        oom.value
            .pointer("/status/containerStatuses/0/lastState/terminated/exitCode"),
        Some(&json!(137))
    );
    assert_eq!(
        oom.str_at("/spec/containers/0/resources/limits/memory"),
        Some("1Gi")
    );
    assert!(s.logs.iter().any(|l| l.pod == oom.name() && l.previous));
    let results: Vec<&String> = s
        .store
        .iter()
        .filter(|r| r.ends_with("results.json"))
        .collect();
    assert!(results.iter().any(|r| {
        s.read_store(r)
            .unwrap()
            .contains("pod volume backup failed")
    }));
    assert!(
        s.store
            .iter()
            .filter(|r| r.ends_with("backup.log"))
            .any(|r| s.read_store(r).unwrap().contains("signal: killed"))
    );
    // A pod mounts a claim its backup-volumes annotation does not name.
    let not_opted = get(&s, "Pod").into_iter().any(|p| {
        let opted = p
            .str_at("/metadata/annotations/backup.velero.io~1backup-volumes")
            .unwrap_or("");
        p.value
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|v| {
                v.get("persistentVolumeClaim").is_some()
                    && !opted
                        .split(',')
                        .any(|o| Some(o) == v.get("name").and_then(Value::as_str))
            })
    });
    assert!(not_opted);
}

#[test]
fn old_velero_restic_shows_a_restic_repository_not_ready() {
    let s = scenario("old-velero-restic");
    let velero = s
        .find("Deployment", Some("velero"), "velero")
        .expect("velero Deployment");
    assert_eq!(
        velero.str_at("/spec/template/spec/containers/0/image"),
        Some("velero/velero:v1.6.3")
    );
    let restic = s
        .find("DaemonSet", Some("velero"), "restic")
        .expect("restic DaemonSet");
    assert_eq!(
        restic.str_at("/spec/template/spec/containers/0/name"),
        Some("restic")
    );
    assert!(
        s.of_kind("CustomResourceDefinition")
            .any(|c| c.name() == "resticrepositories.velero.io")
    );
    assert!(
        get(&s, "ResticRepository")
            .iter()
            .any(|r| r.str_at("/status/phase") == Some("NotReady"))
    );
    assert!(all_logs(&s).contains("Fatal: wrong password or no key found"));
}

#[test]
fn forbidden_denies_backups_secrets_and_download_requests() {
    let s = scenario("forbidden");
    let rules = s
        .manifest
        .pointer("/faults/forbidden")
        .and_then(Value::as_array)
        .expect("faults.forbidden");
    let denies = |resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r["resource"] == json!(resource)
                && r.get("verbs")
                    .and_then(Value::as_array)
                    .is_none_or(|v| v.contains(&json!(verb)))
        })
    };
    for verb in ["get", "list", "watch"] {
        assert!(denies("backups.velero.io", verb));
        assert!(denies("secrets", verb));
    }
    assert!(denies("downloadrequests.velero.io", "create"));
}

#[test]
fn the_lab_loads_every_realistic_scenario_from_disk_and_from_the_binary() {
    for name in REALISTIC {
        let dir = support::scenario::repo_root()
            .join("tests/scenarios")
            .join(name);
        if let Err(e) = snapdoc::lab::Scenario::load(&dir) {
            panic!("the lab cannot load {name} from {}: {e}", dir.display());
        }
        if let Err(e) = snapdoc::lab::Scenario::builtin(name) {
            panic!("the lab cannot load the built-in {name}: {e}");
        }
    }
}
