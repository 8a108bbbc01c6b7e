//! A minimal OpenAPI v3 index and per-group-version documents. kubectl (1.27+) reads them before `create`
//! to learn whether the server validates fields itself (a PATCH operation of the kind, tagged with
//! x-kubernetes-group-version-kind, accepting the `fieldValidation` parameter); with that answer it skips
//! client-side validation, which would need the protobuf OpenAPI v2 document the lab does not serve.
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::resources::Registry;

fn group_versions(registry: &Registry) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for def in registry.resources() {
        let entry = (def.group.clone(), def.version.clone());
        if !found.contains(&entry) {
            found.push(entry);
        }
    }
    found
}

fn path_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// /openapi/v3: where each group version's document is.
pub(super) fn index(registry: &Registry, instance: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for (group, version) in group_versions(registry) {
        let key = path_key(&group, &version);
        let hash = hex::encode(Sha256::digest(format!("{instance}/{key}")));
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", hash.to_uppercase())}),
        );
    }
    json!({"paths": paths})
}

fn parameter(name: &str, location: &str, description: &str) -> Value {
    json!({"name": name, "in": location, "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

/// /openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>: the operations of every resource of the group
/// version, with their kinds and query parameters (schemas are left open).
pub(super) fn group_version_document(
    registry: &Registry,
    key: &str,
    server_version: &str,
) -> Option<Value> {
    let (group, version) = group_versions(registry)
        .into_iter()
        .find(|(group, version)| path_key(group, version) == key)?;
    let field_validation = parameter(
        "fieldValidation",
        "query",
        "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
    );
    let dry_run = parameter(
        "dryRun",
        "query",
        "When present, indicates that modifications should not be persisted.",
    );
    let field_manager = parameter(
        "fieldManager",
        "query",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    );
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for def in registry
        .resources()
        .iter()
        .filter(|def| def.group == group && def.version == version)
    {
        let gvk = json!({"group": def.group, "version": def.version, "kind": def.kind});
        let schema_name = format!(
            "{}.{}.{}",
            if def.group.is_empty() {
                "io.k8s.api.core"
            } else {
                def.group.as_str()
            },
            def.version,
            def.kind
        );
        schemas.insert(
            schema_name.clone(),
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                   "x-kubernetes-group-version-kind": [gvk.clone()]}),
        );
        let reference = json!({"$ref": format!("#/components/schemas/{schema_name}")});
        let body =
            json!({"content": {"application/json": {"schema": reference}}, "required": true});
        let answer = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let operation = |action: &str, id: &str, parameters: Vec<Value>, with_body: bool| {
            let mut op = json!({
                "operationId": format!("{id}{}", def.kind),
                "parameters": parameters,
                "responses": answer,
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            });
            if with_body {
                op["requestBody"] = body.clone();
            }
            op
        };
        let base = def.group_version_path();
        let (collection, item) = if def.namespaced {
            (
                format!("{base}/namespaces/{{namespace}}/{}", def.plural),
                format!("{base}/namespaces/{{namespace}}/{}/{{name}}", def.plural),
            )
        } else {
            (
                format!("{base}/{}", def.plural),
                format!("{base}/{}/{{name}}", def.plural),
            )
        };
        paths.insert(
            collection,
            json!({
                "get": operation("list", "list", vec![], false),
                "post": operation("post", "create", vec![dry_run.clone(), field_manager.clone(), field_validation.clone()], true),
            }),
        );
        paths.insert(
            item,
            json!({
                "get": operation("get", "read", vec![], false),
                "delete": operation("delete", "delete", vec![dry_run.clone()], false),
                "patch": operation("patch", "patch", vec![dry_run.clone(), field_manager.clone(), field_validation.clone()], true),
                "put": operation("put", "replace", vec![dry_run.clone(), field_manager.clone(), field_validation.clone()], true),
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": server_version},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
