//! A structural OpenAPI v3 validator for the subset CustomResourceDefinitions use, strict the way the API server is:
//! a field the schema does not know is an error here, because the API server would prune it and the object a
//! client reads back would not be the one the fixture shows.

use serde_json::Value;

/// One way a value breaks its schema, at a JSON path such as `.spec.objectStorage.bucket`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() {
            "."
        } else {
            &self.path
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Schema keywords this validator understands; any other keyword in a schema is reported, so a CRD that starts
/// using one is noticed instead of silently passing.
const KNOWN_KEYWORDS: &[&str] = &[
    "description",
    "title",
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "format",
    "nullable",
    "additionalProperties",
    "default",
    "example",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
];

/// Validates `value` against `schema`; returns every violation found (empty when the value fits).
pub(crate) fn validate(schema: &Value, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check(schema, value, "", &mut out);
    out
}

/// Validates a whole resource against its CRD's openAPIV3Schema. `metadata` is left out: it is ObjectMeta, which the
/// API server validates itself whatever the CRD says about it.
pub(crate) fn validate_resource(schema: &Value, resource: &Value) -> Vec<Violation> {
    let mut without_meta = resource.clone();
    if let Some(map) = without_meta.as_object_mut() {
        map.remove("metadata");
    }
    validate(schema, &without_meta)
}

fn push(out: &mut Vec<Violation>, path: &str, message: impl Into<String>) {
    out.push(Violation {
        path: path.to_string(),
        message: message.into(),
    });
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let Some(schema) = schema.as_object() else {
        push(out, path, "schema is not an object");
        return;
    };
    for key in schema.keys() {
        if !KNOWN_KEYWORDS.contains(&key.as_str()) {
            push(
                out,
                path,
                format!("schema keyword `{key}` is not supported by this validator"),
            );
        }
    }
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true) {
            push(
                out,
                path,
                "null where the schema is not nullable (the API server would drop the field)",
            );
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    if int_or_string {
        if !(is_integer(value) || value.is_string()) {
            push(
                out,
                path,
                format!("expected an integer or a string, found {}", kind_of(value)),
            );
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_matches(ty, value)
    {
        push(
            out,
            path,
            format!("expected {ty}, found {}", kind_of(value)),
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        push(
            out,
            path,
            format!("{value} is not one of [{}]", list.join(", ")),
        );
    }
    match value {
        Value::Object(map) => check_object(schema, map, path, out),
        Value::Array(items) => check_array(schema, items, path, out),
        Value::String(text) => check_string(schema, text, path, out),
        Value::Number(_) => check_number(schema, value, path, out),
        _ => {}
    }
    check_combinators(schema, value, path, out);
}

fn check_object(
    schema: &serde_json::Map<String, Value>,
    map: &serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                push(out, path, format!("required field `{name}` is missing"));
            }
        }
    }
    for (key, child) in map {
        let child_path = format!("{path}.{key}");
        if let Some(sub) = properties.and_then(|p| p.get(key)) {
            check(sub, child, &child_path, out);
            continue;
        }
        match additional {
            Some(sub @ Value::Object(_)) => check(sub, child, &child_path, out),
            Some(Value::Bool(true)) => {}
            _ if preserve => {}
            _ => push(
                out,
                &child_path,
                "unknown field (the API server would prune it)",
            ),
        }
    }
}

fn check_array(
    schema: &serde_json::Map<String, Value>,
    items: &[Value],
    path: &str,
    out: &mut Vec<Violation>,
) {
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        push(
            out,
            path,
            format!("{} items, fewer than minItems {min}", items.len()),
        );
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        push(
            out,
            path,
            format!("{} items, more than maxItems {max}", items.len()),
        );
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"), out);
        }
    }
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    push(
                        out,
                        &format!("{path}[{i}]"),
                        format!("duplicate {item} in a list of type set"),
                    );
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |item: &Value| -> Vec<Value> {
                keys.iter()
                    .map(|k| item.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            };
            for (i, item) in items.iter().enumerate() {
                if items[..i]
                    .iter()
                    .any(|earlier| key_of(earlier) == key_of(item))
                {
                    push(
                        out,
                        &format!("{path}[{i}]"),
                        "duplicate key in a list of type map",
                    );
                }
            }
        }
        _ => {}
    }
}

fn check_string(
    schema: &serde_json::Map<String, Value>,
    text: &str,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let length = text.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        push(
            out,
            path,
            format!("length {length} is below minLength {min}"),
        );
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        push(
            out,
            path,
            format!("length {length} is above maxLength {max}"),
        );
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(text) => push(
                out,
                path,
                format!("{text:?} does not match pattern {pattern:?}"),
            ),
            Ok(_) => {}
            Err(e) => push(
                out,
                path,
                format!("schema pattern {pattern:?} does not compile: {e}"),
            ),
        }
    }
    match schema.get("format").and_then(Value::as_str) {
        Some("date-time") if text.parse::<jiff::Timestamp>().is_err() => {
            push(out, path, format!("{text:?} is not an RFC 3339 date-time"));
        }
        Some("byte") => {
            use base64::Engine as _;
            if base64::engine::general_purpose::STANDARD
                .decode(text)
                .is_err()
            {
                push(out, path, "not base64 (format byte)");
            }
        }
        _ => {}
    }
}

fn check_number(
    schema: &serde_json::Map<String, Value>,
    value: &Value,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let Some(n) = value.as_f64() else { return };
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
    if let Some(min) = bound("minimum")
        && (n < min || (exclusive("exclusiveMinimum") && n == min))
    {
        push(out, path, format!("{n} is below the minimum {min}"));
    }
    if let Some(max) = bound("maximum")
        && (n > max || (exclusive("exclusiveMaximum") && n == max))
    {
        push(out, path, format!("{n} is above the maximum {max}"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("int32") {
        let fits = value.as_i64().is_some_and(|i| i32::try_from(i).is_ok());
        if !fits {
            push(out, path, format!("{value} does not fit format int32"));
        }
    }
}

fn check_combinators(
    schema: &serde_json::Map<String, Value>,
    value: &Value,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let fits = |s: &Value| validate(s, value).is_empty();
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(s, value, path, out);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(fits)
    {
        push(out, path, "fits none of the anyOf schemas");
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let n = one.iter().filter(|s| fits(s)).count();
        if n != 1 {
            push(
                out,
                path,
                format!("fits {n} of the oneOf schemas, not exactly one"),
            );
        }
    }
    if let Some(not) = schema.get("not")
        && fits(not)
    {
        push(out, path, "fits the schema under `not`");
    }
}

fn is_integer(value: &Value) -> bool {
    value.as_i64().is_some() || value.as_u64().is_some()
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => is_integer(value),
        "number" => value.is_number(),
        _ => false,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a non-integer number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
