//! The rule file as written (docs/rules.md), before validation. Every struct rejects unknown fields, and the
//! values validation needs to point at are `Spanned`, so an error names the line of the offending value.
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub severity: Spanned<String>,
    /// `cause` (default) or `symptom`: a generic state that a linked specific cause must lead over.
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    pub category: Spanned<String>,
    pub title: Spanned<String>,
    pub message: Spanned<String>,
    pub cause: Spanned<String>,
    pub fix: Spanned<String>,
    #[serde(default)]
    pub docs: Vec<Spanned<String>>,
    #[serde(rename = "match")]
    pub matcher: Spanned<MatchSpec>,
    pub tests: Spanned<TestsSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MatchSpec {
    pub log: Option<Spanned<LogSpec>>,
    pub object: Option<Spanned<ObjectSpec>>,
    pub compat: Option<Spanned<CompatSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogSpec {
    pub sources: Spanned<OneOrMany<String>>,
    pub regex: Spanned<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, Spanned<OneOrMany<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ObjectSpec {
    pub kind: Spanned<String>,
    pub when: Spanned<PredicateSpec>,
    #[serde(default)]
    pub capture: BTreeMap<String, Spanned<String>>,
}

/// One node of a predicate tree: either a test (`path` + exactly one test) or exactly one combinator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PredicateSpec {
    pub path: Option<String>,
    // `equals: null` is a test for null, not a missing test: keep it apart from an absent key.
    #[serde(default, deserialize_with = "present")]
    pub equals: Option<Value>,
    #[serde(rename = "in")]
    pub(crate) in_values: Option<Vec<Value>>,
    pub matches: Option<String>,
    pub exists: Option<bool>,
    pub(crate) absent: Option<bool>,
    pub older_than: Option<String>,
    pub(crate) newer_than: Option<String>,
    pub semver: Option<String>,
    pub(crate) greater_than: Option<f64>,
    pub(crate) less_than: Option<f64>,
    pub all: Option<Vec<Spanned<PredicateSpec>>>,
    pub any: Option<Vec<Spanned<PredicateSpec>>>,
    pub not: Option<Box<Spanned<PredicateSpec>>>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompatSpec {
    pub subject: Spanned<String>,
    pub against: Spanned<String>,
    pub table: Vec<Spanned<CompatRowSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompatRowSpec {
    pub subject: String,
    pub supported: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TestsSpec {
    /// Pins "now" for the samples' `older_than` / `newer_than` tests (RFC 3339); default: the current time.
    pub now: Option<Spanned<String>>,
    #[serde(rename = "match", default)]
    pub matching: Vec<Spanned<Value>>,
    #[serde(default)]
    pub no_match: Vec<Spanned<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    pub(super) fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// analyzers/retired.yaml: ids that once existed and are never given to another rule. The file is a list of
/// entries, or a map with one key `retired` holding that list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetiredKeyed {
    pub retired: Vec<Spanned<RetiredSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetiredSpec {
    pub id: String,
    pub reason: String,
}
