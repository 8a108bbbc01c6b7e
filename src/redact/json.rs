//! Structural redaction of Kubernetes objects: string fields whose name says "secret", env entries
//! (`{name, value}`) whose name or `NAME=value` does, ConfigMap keys named like a key / cert / token, the
//! argument after a password flag, then every remaining string as text. A string holding JSON
//! (last-applied-configuration, a hook's command) is redacted as the object it is.
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{PLACEHOLDER, RedactionCounts, Redactor, merge_counts};

/// A field or variable name that holds a secret value when its value is a string.
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:password|passwd|passphrase|token|secret|api_?key|apikey|private_?key|access_?key|secret_?key|account_?key|credentials?|connection_?string|sas|^auth)$",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// Env var names that say "secret" but hold a location or a name, which diagnosis needs
/// (`AWS_SHARED_CREDENTIALS_FILE`, `VELERO_SECRET_NAME`). `_KEY`, `PWD` and `PASS` at the end cover what
/// images name their secrets (`API_ENCRYPTION_KEY`, `MYSQL_PWD`, `REDIS_PASS`) beyond the words above.
static SECRET_ENV_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:password|passwd|passphrase|pwd|token|secret|api_?key|private_?key|access_?key|account_?key|credentials?|connection_?string|sas_?token|cookie|(?:^|_)pass$|(?:^|_)key$|(?:^|_)auth$)",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});
static NOT_SECRET_ENV_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)_(?:file|path|dir|name|ref|region|location|endpoint|url|id|enabled|type)$")
        .unwrap_or_else(|e| panic!("{e}"))
});

/// A ConfigMap key whose value is a key, certificate, token or password (kURL's `kurl-config` keeps
/// kubeadm's `cert_key` there): ConfigMaps are collected whole, Secrets never, so this is where a secret
/// put in the wrong kind of object shows up.
static SECRET_CONFIGMAP_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:key|cert|certificate|token|password|passwd|passphrase|pwd|secret|credentials?)$",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

/// A command-line flag whose next argument is its value (`--password VALUE`): in `args` / `command` the
/// value is its own item, with nothing on it saying what it is.
static SECRET_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^--?(?:[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|api-?key|access-?key|secret-?key|encryption-?key|private-?key|certificate-?key|cert-?key|signing-?key)|(?:[\w.-]*[-_])?pass)$",
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

fn secret_field(name: &str) -> bool {
    SECRET_NAME.is_match(name)
}

/// Also decides YAML `- name: X` / `value: …` pairs printed as text (mod.rs).
pub(super) fn secret_env(name: &str) -> bool {
    SECRET_ENV_NAME.is_match(name) && !NOT_SECRET_ENV_SUFFIX.is_match(name)
}

/// Whether the value at this path of an object (`data.cert_key`, `spec.config.secretAccessKey`) is secret by
/// its field's name. An env entry's `value` is not told by its path: its name is a sibling field.
pub(super) fn secret_path(path: &str) -> bool {
    let last = path
        .trim_end_matches(|c: char| c == ']' || c.is_ascii_digit() || c == '[')
        .rsplit(['.', '/', '['])
        .next()
        .unwrap_or(path)
        .trim_matches(|c| c == '"' || c == '\'');
    secret_field(last)
        || (path.trim_start_matches('.').starts_with("data") && secret_configmap_key(last))
}

fn secret_configmap_key(key: &str) -> bool {
    SECRET_CONFIGMAP_KEY.is_match(key)
}

fn secret_flag(item: &str) -> bool {
    SECRET_FLAG.is_match(item)
}

/// Values that say nothing secret whatever their key (`"true"`, a number of seconds).
fn inert(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "none" | "yes" | "no" | "on" | "off"
    ) || value.parse::<f64>().is_ok()
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
            // An env entry: {name: X, value: "…"} (pods, deployments, daemonsets). Its value is secret when
            // the name says so, or when `NAME=value` reads as a credential to the text rules (a name the
            // vocabulary above lacks but the text rules know, or a value that is a credential by its shape).
            let env_name = map
                .get("name")
                .and_then(Value::as_str)
                .filter(|_| map.get("value").is_some_and(Value::is_string));
            let env_value_is_secret = env_name.is_some_and(|name| {
                secret_env(name)
                    || map.get("value").and_then(Value::as_str).is_some_and(|v| {
                        matches!(
                            redactor
                                .redact_text(&format!("{name}={v}"), &mut RedactionCounts::new()),
                            std::borrow::Cow::Owned(_)
                        )
                    })
            });
            let kind = map.get("kind").and_then(Value::as_str);
            let is_configmap = kind == Some("ConfigMap");
            // The API leaves `kind` out of a List's items: a ConfigMapList's items are ConfigMaps all the same.
            if kind == Some("ConfigMapList")
                && let Some(Value::Array(items)) = map.get_mut("items")
            {
                for item in items.iter_mut() {
                    if let Value::Object(item) = item
                        && let Some(Value::Object(data)) = item.get_mut("data")
                    {
                        redact_configmap_data(redactor, data, counts);
                    }
                }
            }
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text) if key == "value" && env_value_is_secret => {
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
                    Value::Object(data)
                        if is_configmap && (key == "data" || key == "binaryData") =>
                    {
                        redact_configmap_data(redactor, data, counts);
                    }
                    other => redact_value(redactor, other, counts),
                }
            }
        }
        Value::Array(items) => {
            // `["mysqldump", "-uroot", "-pPASSWORD"]`: MySQL's clients take the password glued to `-p`;
            // redis-cli takes it as `-a PASSWORD`.
            let program = items
                .first()
                .and_then(Value::as_str)
                .map(|first| first.rsplit('/').next().unwrap_or(first))
                .unwrap_or_default();
            let mysql_command = program.starts_with("mysql") || program.starts_with("mariadb");
            let redis_cli = program == "redis-cli";
            let mut after_secret_flag = false;
            for item in items {
                match item {
                    Value::String(text)
                        if mysql_command
                            && text.len() > 2
                            && text.starts_with("-p")
                            && !text.ends_with(PLACEHOLDER) =>
                    {
                        *text = format!("-p{PLACEHOLDER}");
                        bump(counts, "secret-argument");
                        after_secret_flag = false;
                    }
                    Value::String(text) if after_secret_flag => {
                        after_secret_flag = false;
                        if placeholder_worthy(text) && !text.starts_with('-') {
                            *text = PLACEHOLDER.to_string();
                            bump(counts, "secret-argument");
                            continue;
                        }
                        after_secret_flag = secret_flag(text) || (redis_cli && text == "-a");
                        redact_value(redactor, item, counts);
                    }
                    Value::String(text) => {
                        after_secret_flag = secret_flag(text) || (redis_cli && text == "-a");
                        redact_value(redactor, item, counts);
                    }
                    other => {
                        after_secret_flag = false;
                        redact_value(redactor, other, counts);
                    }
                }
            }
        }
        Value::String(text) => {
            // A manifest kept as a JSON string (kubectl's last-applied-configuration, a hook's command
            // array) is redacted as the object it is, so env names, args and ConfigMap keys decide in it too.
            // Nothing found inside it: the text rules still read it whole, as before (they know shapes, like
            // docker's `"auth": "…"`, that no field name tells).
            if let Some(mut inner) = embedded_json(text) {
                let mut found = RedactionCounts::new();
                redact_value(redactor, &mut inner, &mut found);
                if !found.is_empty()
                    && let Ok(changed) = serde_json::to_string(&inner)
                {
                    *text = changed;
                    merge_counts(counts, &found);
                    return;
                }
            }
            let mut found = RedactionCounts::new();
            if let std::borrow::Cow::Owned(changed) = redactor.redact_text(text, &mut found) {
                *text = changed;
            }
            merge_counts(counts, &found);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn embedded_json(text: &str) -> Option<Value> {
    let start = text.trim_start();
    if !(start.starts_with('{') || start.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// A ConfigMap's data: a value under a key named like a key, cert, token or password is replaced whole
/// (`cert_key`'s hex has no shape a text rule could know); every other value is redacted as text (a
/// config file held in a ConfigMap).
fn redact_configmap_data(
    redactor: &Redactor,
    data: &mut serde_json::Map<String, Value>,
    counts: &mut RedactionCounts,
) {
    for (key, field) in data.iter_mut() {
        match field {
            Value::String(text) if secret_configmap_key(key) && !inert(text) => {
                if placeholder_worthy(text) {
                    *text = PLACEHOLDER.to_string();
                    bump(counts, "configmap-secret-key");
                }
            }
            other => redact_value(redactor, other, counts),
        }
    }
}
