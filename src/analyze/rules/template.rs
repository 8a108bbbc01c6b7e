//! What a rule's Handlebars message refers to, so a rule that names a variable it can never provide, or a
//! helper that does not exist, is rejected on load instead of rendering a blank at analysis time.
use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};

/// Helpers handlebars registers by default.
const BUILTIN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// The names a template uses, outside `each` / `with` blocks (whose context is not the rule's variables).
#[derive(Debug, Default)]
pub(crate) struct TemplateUse {
    pub variables: Vec<String>,
    pub(crate) unknown_helpers: Vec<String>,
}

/// Compiles `source`; on error returns (line within the template, message).
pub(crate) fn compile(source: &str) -> Result<Template, (usize, String)> {
    Template::compile(source)
        .map_err(|e| (e.pos().map_or(1, |(line, _)| line), e.reason().to_string()))
}

pub(crate) fn uses(template: &Template) -> TemplateUse {
    let mut found = TemplateUse::default();
    walk(template, &mut found);
    found.variables.sort();
    found.variables.dedup();
    found.unknown_helpers.sort();
    found.unknown_helpers.dedup();
    found
}

fn walk(template: &Template, found: &mut TemplateUse) {
    for element in &template.elements {
        match element {
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                match &helper.name {
                    Parameter::Name(name) if helper.params.is_empty() && helper.hash.is_empty() => {
                        // `{{name}}` with no parameters is a variable unless a helper has that name.
                        if !BUILTIN_HELPERS.contains(&name.as_str()) {
                            found.variables.push(name.clone());
                        }
                    }
                    Parameter::Name(name) => {
                        check_helper(name, found);
                        params(&helper.params, found);
                    }
                    other => param(other, found),
                }
            }
            TemplateElement::HelperBlock(helper) => {
                if let Parameter::Name(name) = &helper.name {
                    check_helper(name, found);
                }
                params(&helper.params, found);
                let scoped =
                    matches!(&helper.name, Parameter::Name(n) if n == "each" || n == "with");
                if !scoped && let Some(inner) = &helper.template {
                    walk(inner, found);
                }
                if let Some(inverse) = &helper.inverse {
                    walk(inverse, found);
                }
            }
            _ => {}
        }
    }
}

fn check_helper(name: &str, found: &mut TemplateUse) {
    if !BUILTIN_HELPERS.contains(&name) {
        found.unknown_helpers.push(name.to_string());
    }
}

fn params(list: &[Parameter], found: &mut TemplateUse) {
    for p in list {
        param(p, found);
    }
}

fn param(p: &Parameter, found: &mut TemplateUse) {
    match p {
        Parameter::Path(Path::Relative((segments, _))) => {
            if let Some(PathSeg::Named(first)) = segments.first()
                && first != "this"
            {
                found.variables.push(first.clone());
            }
        }
        Parameter::Subexpression(sub) => {
            if let TemplateElement::Expression(helper) = sub.element.as_ref() {
                if let Parameter::Name(name) = &helper.name {
                    check_helper(name, found);
                }
                params(&helper.params, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variables_and_unknown_helpers() {
        let t = compile("{{bucket}} {{#if a}}{{b.c}}{{/if}} {{shout d}} {{#each xs}}{{inner}}{{/each}} {{eq e 1}}")
            .unwrap();
        let found = uses(&t);
        assert_eq!(found.variables, vec!["a", "b", "bucket", "d", "e", "xs"]);
        assert_eq!(found.unknown_helpers, vec!["shout"]);
        assert!(compile("{{#if a}}x").is_err());
    }
}
