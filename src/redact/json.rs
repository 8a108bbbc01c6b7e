//! Structural redaction of Kubernetes objects: string fields whose name says "secret", env entries
//! (`{name, value}`) whose name does, then every remaining string as text (annotations such as
//! last-applied-configuration carry whole manifests).
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{PLACEHOLDER, RedactionCounts, Redactor, merge_counts};

/// A field or variable name that holds a secret value when its value is a string.
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:password|passwd|passphrase|token|secret|api_?key|apikey|private_?key|access_?key|secret_?key|account_?key|credentials?|connection_?string|sas)$",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// Env var names that say "secret" but hold a location or a name, which diagnosis needs
/// (`AWS_SHARED_CREDENTIALS_FILE`, `VELERO_SECRET_NAME`).
static SECRET_ENV_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:password|passwd|passphrase|token|secret|api_?key|private_?key|access_?key|account_?key|credentials?|connection_?string|sas_?token)",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});
static NOT_SECRET_ENV_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)_(?:file|path|dir|name|ref|region|location|endpoint|url|id|enabled|type)$")
        .unwrap_or_else(|e| panic!("{e}"))
});

fn secret_field(name: &str) -> bool {
    SECRET_NAME.is_match(name)
}

fn secret_env(name: &str) -> bool {
    SECRET_ENV_NAME.is_match(name) && !NOT_SECRET_ENV_SUFFIX.is_match(name)
}

fn bump(counts: &mut RedactionCounts, rule: &str) {
    *counts.entry(rule.to_string()).or_default() += 1;
}

fn placeholder_worthy(value: &str) -> bool {
    !value.is_empty() && value != PLACEHOLDER
}

pub(super) fn redact_value(redactor: &Redactor, value: &mut Value, counts: &mut RedactionCounts) {
    match value {
        Value::Object(map) => {
            // An env entry: {name: X, value: "…"} (pods, deployments, daemonsets).
            let env_name_is_secret = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(secret_env)
                && map.get("value").is_some_and(Value::is_string);
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text) if key == "value" && env_name_is_secret => {
                        if placeholder_worthy(text) {
                            *text = PLACEHOLDER.to_string();
                            bump(counts, "env-secret-value");
                        }
                    }
                    Value::String(text) if secret_field(key) => {
                        if placeholder_worthy(text) {
                            *text = PLACEHOLDER.to_string();
                            bump(counts, "secret-field");
                        }
                    }
                    other => redact_value(redactor, other, counts),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                redact_value(redactor, item, counts);
            }
        }
        Value::String(text) => {
            let mut found = RedactionCounts::new();
            if let std::borrow::Cow::Owned(changed) = redactor.redact_text(text, &mut found) {
                *text = changed;
            }
            merge_counts(counts, &found);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
