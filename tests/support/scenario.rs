//! Reads a lab scenario folder (docs/scenarios.md) the way the tests need it: every object with the file and
//! document it came from, the pod log files, the object-store files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario folder under tests/scenarios, sorted by name.
pub(crate) fn scenario_dirs() -> Vec<PathBuf> {
    let root = repo_root().join("tests/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// One object of a scenario and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub file: String,
    pub doc: usize,
    pub value: Value,
}

impl Object {
    pub(crate) fn str_at(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Value::as_str)
    }
    pub(crate) fn api_version(&self) -> &str {
        self.str_at("/apiVersion").unwrap_or("")
    }
    pub(crate) fn kind(&self) -> &str {
        self.str_at("/kind").unwrap_or("")
    }
    pub(crate) fn name(&self) -> &str {
        self.str_at("/metadata/name").unwrap_or("")
    }
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.str_at("/metadata/namespace")
    }
    pub(crate) fn uid(&self) -> &str {
        self.str_at("/metadata/uid").unwrap_or("")
    }
    /// API group ("" for the core group) and version of `apiVersion`.
    pub(crate) fn group_version(&self) -> (&str, &str) {
        match self.api_version().split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version()),
        }
    }
    /// Where the object is, for messages: `objects/30-backups.yaml#4 Backup velero/instance-x`.
    pub(crate) fn at(&self) -> String {
        let ns = self
            .namespace()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!(
            "objects/{}#{} {} {ns}{}",
            self.file,
            self.doc,
            self.kind(),
            self.name()
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub path: PathBuf,
}

#[derive(Debug)]
pub(crate) struct Scenario {
    pub name: String,
    pub dir: PathBuf,
    pub manifest: Value,
    pub objects: Vec<Object>,
    pub logs: Vec<LogFile>,
    /// Paths under store/, relative to it, with `/` separators.
    pub store: Vec<String>,
}

impl Scenario {
    pub(crate) fn load(dir: &Path) -> Result<Scenario, String> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{}: no folder name", dir.display()))?;
        let manifest_path = dir.join("scenario.yaml");
        let text = read(&manifest_path)?;
        let manifest: Value = serde_saphyr::from_str(&text)
            .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let mut objects = Vec::new();
        let mut files: Vec<PathBuf> = list(&dir.join("objects"))?;
        files.sort();
        for file in files {
            let file_name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !file_name.ends_with(".yaml") {
                return Err(format!(
                    "{}: objects/ holds only .yaml files",
                    file.display()
                ));
            }
            let text = read(&file)?;
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            for (i, value) in docs.into_iter().enumerate() {
                if value.is_null() {
                    continue;
                }
                objects.push(Object {
                    file: file_name.clone(),
                    doc: i + 1,
                    value,
                });
            }
        }
        let mut logs = Vec::new();
        let logs_dir = dir.join("logs");
        if logs_dir.is_dir() {
            for ns_dir in list(&logs_dir)? {
                for pod_dir in list(&ns_dir)? {
                    for file in list(&pod_dir)? {
                        let fname = file
                            .file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned();
                        let (container, previous) =
                            if let Some(c) = fname.strip_suffix(".previous.log") {
                                (c.to_string(), true)
                            } else if let Some(c) = fname.strip_suffix(".log") {
                                (c.to_string(), false)
                            } else {
                                return Err(format!(
                                    "{}: a pod log file ends with .log or .previous.log",
                                    file.display()
                                ));
                            };
                        logs.push(LogFile {
                            namespace: base(&ns_dir),
                            pod: base(&pod_dir),
                            container,
                            previous,
                            path: file,
                        });
                    }
                }
            }
        }
        let mut store = Vec::new();
        let store_dir = dir.join("store");
        if store_dir.is_dir() {
            walk(&store_dir, &store_dir, &mut store)?;
        }
        store.sort();
        Ok(Scenario {
            name,
            dir: dir.to_path_buf(),
            manifest,
            objects,
            logs,
            store,
        })
    }

    pub(crate) fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    pub(crate) fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.kind() == kind && o.namespace() == namespace && o.name() == name)
    }

    pub(crate) fn reference_time(&self) -> Option<jiff::Timestamp> {
        self.manifest.get("referenceTime")?.as_str()?.parse().ok()
    }

    pub(crate) fn read_store(&self, rel: &str) -> Result<String, String> {
        read(&self.dir.join("store").join(rel))
    }
}

/// CRD schemas by (group, kind, version): the Velero CRDs under crds/velero, then the scenario's own CRDs (a
/// scenario's CRD replaces the shipped one for the same kind, as an older Velero's would).
/// `velero_crds` false (scenario.yaml `veleroCrds: false`) leaves the shipped ones out.
pub(crate) fn crd_schemas(
    scenario_crds: &[&Object],
    velero_crds: bool,
) -> Result<BTreeMap<(String, String, String), Value>, String> {
    let mut out = BTreeMap::new();
    let dir = repo_root().join("crds/velero");
    let mut files = if velero_crds { list(&dir)? } else { Vec::new() };
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let text = read(file)?;
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        for crd in docs.iter().filter(|d| !d.is_null()) {
            add_crd(crd, &file.display().to_string(), &mut out)?;
        }
    }
    let mut replaced = Vec::new();
    for crd in scenario_crds {
        let group = crd.str_at("/spec/group").unwrap_or_default().to_string();
        let kind = crd
            .str_at("/spec/names/kind")
            .unwrap_or_default()
            .to_string();
        if !replaced.contains(&(group.clone(), kind.clone())) {
            out.retain(|(g, k, _), _| !(g == &group && k == &kind));
            replaced.push((group, kind));
        }
        add_crd(&crd.value, &crd.at(), &mut out)?;
    }
    Ok(out)
}

fn add_crd(
    crd: &Value,
    origin: &str,
    out: &mut BTreeMap<(String, String, String), Value>,
) -> Result<(), String> {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{origin}: CRD without spec.group"))?;
    let kind = crd
        .pointer("/spec/names/kind")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{origin}: CRD without spec.names.kind"))?;
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{origin}: CRD without spec.versions"))?;
    for v in versions {
        let version = v
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{origin}: CRD version without a name"))?;
        let schema = v
            .pointer("/schema/openAPIV3Schema")
            .ok_or_else(|| format!("{origin}: {kind} {version} has no openAPIV3Schema"))?;
        out.insert(
            (group.to_string(), kind.to_string(), version.to_string()),
            schema.clone(),
        );
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    for path in list(dir)? {
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn base(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}
