//! Label and field selectors, as the API server parses and applies them.
use std::collections::BTreeSet;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed `labelSelector`: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` (`==` is `=`). The error is the API server's wording.
    pub(super) fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(LabelSelector { requirements })
    }

    pub(super) fn matches(&self, labels: &Value) -> bool {
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                LabelRequirement::Equals(key, value) => label(key) == Some(value.as_str()),
                LabelRequirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
                LabelRequirement::In(key, values) => label(key).is_some_and(|v| values.contains(v)),
                LabelRequirement::NotIn(key, values) => {
                    !label(key).is_some_and(|v| values.contains(v))
                }
                LabelRequirement::Exists(key) => label(key).is_some(),
                LabelRequirement::DoesNotExist(key) => label(key).is_none(),
            })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<LabelRequirement, String> {
    let invalid = |why: &str| format!("unable to parse requirement: {why}");
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        check_key(key).map_err(|why| invalid(&why))?;
        return Ok(LabelRequirement::DoesNotExist(key.to_string()));
    }
    for (operator, negated) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = part.split_once(operator) {
            let (key, value) = (key.trim(), value.trim());
            check_key(key).map_err(|why| invalid(&why))?;
            check_value(value).map_err(|why| invalid(&why))?;
            return Ok(if negated {
                LabelRequirement::NotEquals(key.to_string(), value.to_string())
            } else {
                LabelRequirement::Equals(key.to_string(), value.to_string())
            });
        }
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let key = words[0];
        let rest = words[1].trim_start();
        for (operator, negated) in [("notin", true), ("in", false)] {
            if let Some(set) = rest.strip_prefix(operator) {
                let set = set.trim();
                let inner = set
                    .strip_prefix('(')
                    .and_then(|s| s.strip_suffix(')'))
                    .ok_or_else(|| invalid(&format!("found '{set}', expected: '('")))?;
                check_key(key).map_err(|why| invalid(&why))?;
                let mut values = BTreeSet::new();
                for value in inner.split(',') {
                    let value = value.trim();
                    check_value(value).map_err(|why| invalid(&why))?;
                    values.insert(value.to_string());
                }
                return Ok(if negated {
                    LabelRequirement::NotIn(key.to_string(), values)
                } else {
                    LabelRequirement::In(key.to_string(), values)
                });
            }
        }
        return Err(invalid(&format!(
            "found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
        )));
    }
    check_key(part).map_err(|why| invalid(&why))?;
    Ok(LabelRequirement::Exists(part.to_string()))
}

fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
    });
    if name_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!("{key:?}: invalid label key"))
    }
}

fn check_value(value: &str) -> Result<(), String> {
    let ok = value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!("{value:?}: invalid label value"))
    }
}

/// A parsed `fieldSelector`: `path=value`, `path==value`, `path!=value`, comma-separated.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct FieldSelector {
    requirements: Vec<(String, String, bool)>,
}

impl FieldSelector {
    /// Parses a field selector, accepting metadata.name, metadata.namespace and `allowed` paths only;
    /// other paths get the API server's "field label not supported" error.
    pub(super) fn parse(text: &str, allowed: &[String]) -> Result<FieldSelector, String> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, false)
            } else {
                return Err(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                ));
            };
            let field = field.trim();
            let known = field == "metadata.name"
                || field == "metadata.namespace"
                || allowed.iter().any(|a| a == field);
            if !known {
                return Err(format!("field label not supported: {field}"));
            }
            requirements.push((field.to_string(), value.trim().to_string(), negated));
        }
        Ok(FieldSelector { requirements })
    }

    pub(super) fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|(field, value, negated)| {
            let actual = field_value(object, field);
            (actual == *value) != *negated
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The string a field selector compares: missing fields are "", booleans "true"/"false".
fn field_value(object: &Value, field: &str) -> String {
    // Events select on `source`, which is the reporting component.
    let path = if field == "source" {
        "source.component"
    } else {
        field
    };
    let node = path.split('.').try_fold(object, |node, key| node.get(key));
    match node {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_follow_kubernetes_semantics() {
        let labels = json!({"app": "velero", "component": "server", "tier": "backup"});
        let none = json!({});
        let yes = |s: &str| LabelSelector::parse(s).unwrap().matches(&labels);
        assert!(yes("app=velero"));
        assert!(yes("app==velero,component=server"));
        assert!(!yes("app!=velero"));
        assert!(yes("app in (kots, velero)"));
        assert!(!yes("app notin (velero)"));
        assert!(yes("tier"));
        assert!(!yes("!tier"));
        assert!(yes("missing notin (x),!missing"));
        assert!(LabelSelector::parse("app!=velero").unwrap().matches(&none));
        assert!(
            !LabelSelector::parse("app in (velero)")
                .unwrap()
                .matches(&none)
        );
        assert!(
            LabelSelector::parse("app in velero")
                .unwrap_err()
                .starts_with("unable to parse requirement")
        );
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn field_selectors_check_their_fields() {
        let pod = json!({"metadata": {"name": "p", "namespace": "velero"}, "status": {"phase": "Running"}});
        let allowed = vec!["status.phase".to_string()];
        let yes = |s: &str| FieldSelector::parse(s, &allowed).unwrap().matches(&pod);
        assert!(yes("metadata.name=p,status.phase==Running"));
        assert!(yes("status.phase!=Failed"));
        assert!(!yes("metadata.namespace=default"));
        assert_eq!(
            FieldSelector::parse("spec.foo=bar", &allowed).unwrap_err(),
            "field label not supported: spec.foo"
        );
    }
}
