//! The resources the lab serves: the built-in kinds snapdoc reads, plus one resource per served version of every
//! CustomResourceDefinition (Velero's and the scenario's), and the discovery documents describing them.
use serde_json::{Value, json};

/// The verbs the lab implements on every resource (discovery advertises exactly these).
pub(crate) const VERBS: [&str; 5] = ["create", "delete", "get", "list", "watch"];

/// A printer column of a CRD version (`additionalPrinterColumns`), served in Table answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrinterColumn {
    pub name: String,
    pub(crate) column_type: String,
    pub format: String,
    pub description: String,
    pub(crate) priority: i64,
    pub(crate) json_path: String,
}

/// One served resource at one group version.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub(crate) list_kind: String,
    pub namespaced: bool,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    /// Field paths a fieldSelector may use besides metadata.name and metadata.namespace.
    pub(crate) selectable_fields: Vec<String>,
    /// `Some` for custom resources (their printer columns, possibly none); `None` for built-in kinds.
    pub(crate) printer_columns: Option<Vec<PrinterColumn>>,
    pub(crate) subresources: Vec<String>,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods`, `deployments.apps`, `backups.velero.io`: the name RBAC messages and the lab's storage use.
    pub(crate) fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub(crate) fn is_custom(&self) -> bool {
        self.printer_columns.is_some()
    }

    /// The path prefix of this resource's group version: `/api/v1` or `/apis/<group>/<version>`.
    pub(crate) fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

struct Builtin {
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    fields: &'static [&'static str],
}

const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

const BUILTINS: &[Builtin] = &[
    Builtin {
        group: "",
        plural: "namespaces",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        fields: &["status.phase"],
    },
    Builtin {
        group: "",
        plural: "nodes",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
        fields: &["spec.unschedulable"],
    },
    Builtin {
        group: "",
        plural: "pods",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        fields: POD_FIELDS,
    },
    Builtin {
        group: "",
        plural: "events",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        fields: EVENT_FIELDS,
    },
    Builtin {
        group: "",
        plural: "configmaps",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        fields: &[],
    },
    Builtin {
        group: "",
        plural: "secrets",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        categories: &[],
        fields: &["type"],
    },
    Builtin {
        group: "",
        plural: "services",
        kind: "Service",
        namespaced: true,
        short_names: &["svc"],
        categories: &["all"],
        fields: &[],
    },
    Builtin {
        group: "",
        plural: "serviceaccounts",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        categories: &[],
        fields: &[],
    },
    Builtin {
        group: "",
        plural: "persistentvolumeclaims",
        kind: "PersistentVolumeClaim",
        namespaced: true,
        short_names: &["pvc"],
        categories: &[],
        fields: &[],
    },
    Builtin {
        group: "",
        plural: "persistentvolumes",
        kind: "PersistentVolume",
        namespaced: false,
        short_names: &["pv"],
        categories: &[],
        fields: &[],
    },
    Builtin {
        group: "apps",
        plural: "deployments",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        fields: &[],
    },
    Builtin {
        group: "apps",
        plural: "daemonsets",
        kind: "DaemonSet",
        namespaced: true,
        short_names: &["ds"],
        categories: &["all"],
        fields: &[],
    },
    Builtin {
        group: "apps",
        plural: "replicasets",
        kind: "ReplicaSet",
        namespaced: true,
        short_names: &["rs"],
        categories: &["all"],
        fields: &[],
    },
    Builtin {
        group: "apps",
        plural: "statefulsets",
        kind: "StatefulSet",
        namespaced: true,
        short_names: &["sts"],
        categories: &["all"],
        fields: &[],
    },
    Builtin {
        group: "batch",
        plural: "jobs",
        kind: "Job",
        namespaced: true,
        short_names: &[],
        categories: &["all"],
        fields: &[],
    },
    Builtin {
        group: "storage.k8s.io",
        plural: "storageclasses",
        kind: "StorageClass",
        namespaced: false,
        short_names: &["sc"],
        categories: &[],
        fields: &[],
    },
    Builtin {
        group: "apiextensions.k8s.io",
        plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition",
        namespaced: false,
        short_names: &["crd", "crds"],
        categories: &["api-extensions"],
        fields: &[],
    },
];

/// Every resource the lab serves.
#[derive(Debug, Clone)]
pub struct Registry {
    resources: Vec<ResourceDef>,
}

impl Registry {
    /// The built-in kinds plus the served versions of `crds` (CustomResourceDefinition objects). A CRD that
    /// cannot be read is an error naming it.
    pub fn new(crds: &[&Value]) -> Result<Registry, String> {
        let mut resources: Vec<ResourceDef> = BUILTINS
            .iter()
            .map(|builtin| ResourceDef {
                group: builtin.group.to_string(),
                version: "v1".to_string(),
                plural: builtin.plural.to_string(),
                singular: builtin.kind.to_ascii_lowercase(),
                kind: builtin.kind.to_string(),
                list_kind: format!("{}List", builtin.kind),
                namespaced: builtin.namespaced,
                short_names: builtin.short_names.iter().map(|s| s.to_string()).collect(),
                categories: builtin.categories.iter().map(|s| s.to_string()).collect(),
                selectable_fields: builtin.fields.iter().map(|s| s.to_string()).collect(),
                printer_columns: None,
                subresources: match builtin.plural {
                    "pods" => vec!["log".to_string(), "status".to_string()],
                    "namespaces"
                    | "nodes"
                    | "deployments"
                    | "daemonsets"
                    | "replicasets"
                    | "statefulsets"
                    | "jobs"
                    | "persistentvolumeclaims"
                    | "persistentvolumes"
                    | "services"
                    | "customresourcedefinitions" => vec!["status".to_string()],
                    _ => Vec::new(),
                },
            })
            .collect();
        for crd in crds {
            for def in resources_of_crd(crd)? {
                if resources.iter().any(|known| {
                    known.group_resource() == def.group_resource() && known.version == def.version
                }) {
                    return Err(format!(
                        "{} {} is defined twice",
                        def.group_resource(),
                        def.version
                    ));
                }
                resources.push(def);
            }
        }
        Ok(Registry { resources })
    }

    pub fn resources(&self) -> &[ResourceDef] {
        &self.resources
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.resources
            .iter()
            .find(|def| def.group == group && def.version == version && def.plural == plural)
    }

    /// The resource serving objects of `apiVersion` + `kind`.
    pub(crate) fn for_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceDef> {
        let (group, version) = split_api_version(api_version);
        self.resources
            .iter()
            .find(|def| def.group == group && def.version == version && def.kind == kind)
    }

    /// The versions served for a group/kind, for error messages.
    pub(crate) fn versions_of_kind(&self, group: &str, kind: &str) -> Vec<String> {
        self.resources
            .iter()
            .filter(|def| def.group == group && def.kind == kind)
            .map(|def| def.version.clone())
            .collect()
    }

    /// The first served version of a group resource (`pods`, `backups.velero.io`).
    pub fn by_group_resource(&self, group_resource: &str) -> Option<&ResourceDef> {
        let mut candidates: Vec<&ResourceDef> = self
            .resources
            .iter()
            .filter(|def| def.group_resource() == group_resource)
            .collect();
        candidates.sort_by(|a, b| compare_versions(&a.version, &b.version));
        candidates.first().copied()
    }

    /// API groups (not the core group) with their versions, preferred first; built-in groups first, then
    /// custom ones by name.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for def in self.resources.iter().filter(|def| !def.group.is_empty()) {
            match groups.iter_mut().find(|(name, _)| *name == def.group) {
                Some((_, versions)) => {
                    if !versions.contains(&def.version) {
                        versions.push(def.version.clone());
                    }
                }
                None => groups.push((def.group.clone(), vec![def.version.clone()])),
            }
        }
        let builtin_groups = BUILTINS.iter().map(|b| b.group).collect::<Vec<_>>();
        let (mut builtin, mut custom): (Vec<_>, Vec<_>) = groups
            .into_iter()
            .partition(|(name, _)| builtin_groups.contains(&name.as_str()));
        custom.sort_by(|a, b| a.0.cmp(&b.0));
        builtin.append(&mut custom);
        for (_, versions) in &mut builtin {
            versions.sort_by(|a, b| compare_versions(a, b));
        }
        builtin
    }

    pub(crate) fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.resources
            .iter()
            .any(|def| def.group == group && def.version == version)
    }

    /// The APIResourceList of one group version.
    pub(crate) fn resource_list(&self, group: &str, version: &str) -> Value {
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let mut resources = Vec::new();
        for def in self
            .resources
            .iter()
            .filter(|def| def.group == group && def.version == version)
        {
            let mut entry = json!({
                "name": def.plural,
                "singularName": def.singular,
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": VERBS,
            });
            if !def.short_names.is_empty() {
                entry["shortNames"] = json!(def.short_names);
            }
            if !def.categories.is_empty() {
                entry["categories"] = json!(def.categories);
            }
            resources.push(entry);
            for sub in &def.subresources {
                resources.push(json!({
                    "name": format!("{}/{sub}", def.plural),
                    "singularName": "",
                    "namespaced": def.namespaced,
                    "kind": def.kind,
                    "verbs": ["get"],
                }));
            }
        }
        json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        })
    }

    /// The APIGroup document of one group.
    pub(crate) fn group_document(&self, group: &str) -> Option<Value> {
        let (_, versions) = self.groups().into_iter().find(|(name, _)| name == group)?;
        Some(group_entry(group, &versions, true))
    }

    /// The APIGroupList of /apis.
    pub(crate) fn group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .iter()
            .map(|(name, versions)| group_entry(name, versions, false))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }
}

fn group_entry(group: &str, versions: &[String], with_type: bool) -> Value {
    let version_entries: Vec<Value> = versions
        .iter()
        .map(|version| json!({"groupVersion": format!("{group}/{version}"), "version": version}))
        .collect();
    let mut entry = json!({
        "name": group,
        "versions": version_entries,
        "preferredVersion": version_entries[0],
    });
    if with_type {
        entry["kind"] = json!("APIGroup");
        entry["apiVersion"] = json!("v1");
    }
    entry
}

/// `velero.io/v1` → (`velero.io`, `v1`); `v1` → (``, `v1`).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Kubernetes version priority: GA before beta before alpha, higher numbers first, others last by name.
pub(crate) fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn rank(version: &str) -> (u8, i64, i64, String) {
        let parsed = version.strip_prefix('v').and_then(|rest| {
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let major: i64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((0, major, 0));
            }
            for (stage, prefix) in [(1u8, "beta"), (2u8, "alpha")] {
                if let Some(n) = tail.strip_prefix(prefix) {
                    return Some((stage, major, n.parse().ok()?));
                }
            }
            None
        });
        match parsed {
            Some((stage, major, minor)) => (stage, -major, -minor, String::new()),
            None => (3, 0, 0, version.to_string()),
        }
    }
    rank(a).cmp(&rank(b))
}

fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |node, key| node.get(key))
        .and_then(Value::as_str)
}

fn strings_at(value: &Value, path: &[&str]) -> Vec<String> {
    path.iter()
        .try_fold(value, |node, key| node.get(key))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The served resources of one CustomResourceDefinition (apiextensions v1, or v1beta1's older shape).
pub(crate) fn resources_of_crd(crd: &Value) -> Result<Vec<ResourceDef>, String> {
    let name = text_at(crd, &["metadata", "name"]).unwrap_or("<unnamed>");
    let need = |path: &[&str]| {
        text_at(crd, path).map(str::to_string).ok_or_else(|| {
            format!(
                "CustomResourceDefinition {name}: {} is required",
                path.join(".")
            )
        })
    };
    let group = need(&["spec", "group"])?;
    let plural = need(&["spec", "names", "plural"])?;
    let kind = need(&["spec", "names", "kind"])?;
    let singular = text_at(crd, &["spec", "names", "singular"])
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let list_kind = text_at(crd, &["spec", "names", "listKind"])
        .map(str::to_string)
        .unwrap_or_else(|| format!("{kind}List"));
    let namespaced = match text_at(crd, &["spec", "scope"]).unwrap_or("Namespaced") {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err(format!(
                "CustomResourceDefinition {name}: spec.scope {other:?} is neither Namespaced nor Cluster"
            ));
        }
    };
    if format!("{plural}.{group}") != name {
        return Err(format!(
            "CustomResourceDefinition {name}: metadata.name must be {plural}.{group}"
        ));
    }
    let top_columns = crd["spec"].get("additionalPrinterColumns");
    let mut versions: Vec<(String, Option<&Value>, bool)> = Vec::new();
    if let Some(listed) = crd["spec"].get("versions").and_then(Value::as_array) {
        for version in listed {
            let version_name = text_at(version, &["name"]).ok_or_else(|| {
                format!("CustomResourceDefinition {name}: a spec.versions entry has no name")
            })?;
            let served = version
                .get("served")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let has_status = version
                .get("subresources")
                .or_else(|| crd["spec"].get("subresources"))
                .and_then(|sub| sub.get("status"))
                .is_some();
            if served {
                versions.push((
                    version_name.to_string(),
                    version.get("additionalPrinterColumns").or(top_columns),
                    has_status,
                ));
            }
        }
    } else if let Some(version) = text_at(crd, &["spec", "version"]) {
        let has_status = crd["spec"]
            .get("subresources")
            .and_then(|sub| sub.get("status"))
            .is_some();
        versions.push((version.to_string(), top_columns, has_status));
    }
    if versions.is_empty() {
        return Err(format!(
            "CustomResourceDefinition {name}: no served version in spec.versions"
        ));
    }
    versions
        .into_iter()
        .map(|(version, columns, has_status)| {
            Ok(ResourceDef {
                group: group.clone(),
                version,
                plural: plural.clone(),
                singular: singular.clone(),
                kind: kind.clone(),
                list_kind: list_kind.clone(),
                namespaced,
                short_names: strings_at(crd, &["spec", "names", "shortNames"]),
                categories: strings_at(crd, &["spec", "names", "categories"]),
                selectable_fields: Vec::new(),
                printer_columns: Some(printer_columns(name, columns)?),
                subresources: if has_status {
                    vec!["status".to_string()]
                } else {
                    Vec::new()
                },
            })
        })
        .collect()
}

fn printer_columns(crd: &str, columns: Option<&Value>) -> Result<Vec<PrinterColumn>, String> {
    let Some(columns) = columns.and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    columns
        .iter()
        .map(|column| {
            let field = |key: &str| text_at(column, &[key]).unwrap_or_default().to_string();
            let json_path = text_at(column, &["jsonPath"])
                .or_else(|| text_at(column, &["JSONPath"]))
                .ok_or_else(|| {
                    format!("CustomResourceDefinition {crd}: a printer column has no jsonPath")
                })?;
            Ok(PrinterColumn {
                name: field("name"),
                column_type: field("type"),
                format: field("format"),
                description: field("description"),
                priority: column.get("priority").and_then(Value::as_i64).unwrap_or(0),
                json_path: json_path.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_priority() {
        let mut versions = vec!["v1alpha1", "v2alpha1", "v1", "v1beta1", "foo", "v2"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            ["v2", "v1", "v1beta1", "v2alpha1", "v1alpha1", "foo"]
        );
    }
}
