//! Checks JSON against one definition of docs/report-schema.json (`$defs/diff`, `$defs/fleetLine`): the
//! shapes printed by commands other than `analyze --format json`, whose root the schema describes.
use std::path::Path;

use serde_json::Value;

pub(crate) fn assert_matches_def(def: &str, instance: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let root = schema.as_object_mut().unwrap();
    root.remove("oneOf");
    root.insert("$ref".into(), format!("#/$defs/{def}").into());
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not a {def}:\n{}", errors.join("\n"));
}
