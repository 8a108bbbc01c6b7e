//! The Handlebars registries: the embedded templates (report-templates/), overridden file by file from
//! `--templates DIR`, and the helpers they use.
//!
//! HTML and Markdown get separate registries because each needs its own escape function: `{{value}}` is
//! HTML-escaped in one and Markdown-escaped in the other. Both run in strict mode, so a misspelled field is an
//! error rather than an empty string. Helpers that emit markup (`rich`, `link`, `code`, `codeblock`,
//! `cellcode`, `cellrich`) escape their input themselves; templates never use triple-stash.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, handlebars_helper,
};
use serde_json::Value;

use super::{ReportError, escape};
use crate::embedded::REPORT_TEMPLATES;

/// Which document a registry renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    Html,
    Markdown,
}

impl Flavor {
    /// The main template's file name, also its registered name without `.hbs`.
    pub(super) fn main_template(self) -> &'static str {
        match self {
            Flavor::Html => "report.html",
            Flavor::Markdown => "report.md",
        }
    }

    /// Partials for this flavor live in `partials/<dir>/`.
    fn partial_dir(self) -> &'static str {
        match self {
            Flavor::Html => "partials/html/",
            Flavor::Markdown => "partials/md/",
        }
    }
}

/// Template files by path relative to the templates folder: the embedded set with the files of `overrides`
/// replacing those of the same relative path (and adding new partials).
pub(super) fn template_files(
    overrides: Option<&Path>,
) -> Result<BTreeMap<String, (String, String)>, ReportError> {
    let mut files: BTreeMap<String, (String, String)> = REPORT_TEMPLATES
        .iter()
        .map(|(path, text)| {
            (
                path.to_string(),
                (format!("report-templates/{path}"), text.to_string()),
            )
        })
        .collect();
    if let Some(dir) = overrides {
        if !dir.is_dir() {
            return Err(ReportError::TemplatesDir {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let mut found = Vec::new();
        walk(dir, &mut found)?;
        for path in found {
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if !relative.ends_with(".hbs") {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|source| ReportError::TemplatesDir {
                    path: path.clone(),
                    source,
                })?;
            files.insert(relative, (path.display().to_string(), text));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ReportError::TemplatesDir {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ReportError::TemplatesDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

/// A registry for one flavor with its main template and partials registered.
pub(super) fn registry(
    flavor: Flavor,
    files: &BTreeMap<String, (String, String)>,
) -> Result<Handlebars<'static>, ReportError> {
    registry_for(flavor, flavor.main_template(), files)
}

/// A registry for one flavor whose main template is `main` (`diff.md`, `fleet.html` …): the same escaping,
/// helpers and partials as the report's.
pub(super) fn registry_for(
    flavor: Flavor,
    main: &str,
    files: &BTreeMap<String, (String, String)>,
) -> Result<Handlebars<'static>, ReportError> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    // Markdown is indentation-sensitive: a partial called from an indented line must not be re-indented
    // into a code block.
    registry.set_prevent_indent(true);
    match flavor {
        Flavor::Html => registry.register_escape_fn(escape::html),
        Flavor::Markdown => registry.register_escape_fn(escape::markdown),
    }
    register_common_helpers(&mut registry);
    match flavor {
        Flavor::Html => {
            registry.register_helper("rich", Box::new(RawHelper(html_rich)));
            registry.register_helper("steps", Box::new(RawHelper(html_steps)));
            registry.register_helper("link", Box::new(RawHelper(html_link)));
        }
        Flavor::Markdown => {
            registry.register_helper("rich", Box::new(RawHelper(md_rich)));
            registry.register_helper("cellrich", Box::new(RawHelper(md_cell_rich)));
            registry.register_helper("link", Box::new(RawHelper(md_link)));
            registry.register_helper("code", Box::new(RawHelper(md_code)));
            registry.register_helper("cellcode", Box::new(RawHelper(md_cell_code)));
            registry.register_helper("codeblock", Box::new(RawHelper(md_code_block)));
        }
    }

    let main_file = format!("{main}.hbs");
    let Some((origin, text)) = files.get(&main_file) else {
        return Err(ReportError::MissingTemplate(main_file));
    };
    registry
        .register_template_string(main, text)
        .map_err(|source| ReportError::Template {
            file: origin.clone(),
            source: Box::new(source),
        })?;
    for (relative, (origin, text)) in files {
        let Some(name) = relative
            .strip_prefix("partials/")
            .filter(|_| relative.starts_with(flavor.partial_dir()))
            .and_then(|rest| rest.strip_suffix(".hbs"))
        else {
            continue;
        };
        registry
            .register_partial(name, text)
            .map_err(|source| ReportError::Template {
                file: origin.clone(),
                source: Box::new(source),
            })?;
    }
    Ok(registry)
}

fn register_common_helpers(registry: &mut Handlebars<'static>) {
    registry.register_helper("time", Box::new(time));
    registry.register_helper("duration", Box::new(duration));
    registry.register_helper("join", Box::new(join));
    registry.register_helper("upper", Box::new(upper));
    registry.register_helper("severity_label", Box::new(severity_label));
    registry.register_helper("severity_icon", Box::new(severity_icon));
    registry.register_helper("plural", Box::new(plural));
    registry.register_helper("default", Box::new(default));
    registry.register_helper("concat", Box::new(concat));
}

handlebars_helper!(time: |value: Value| format_time(&value));
handlebars_helper!(duration: |value: Value| format_duration(&value));
handlebars_helper!(join: |list: Value, separator: str| match list {
    Value::Array(items) => items.iter().map(display_value).collect::<Vec<_>>().join(separator),
    other => display_value(&other),
});
handlebars_helper!(upper: |value: Value| display_value(&value).to_uppercase());
handlebars_helper!(severity_label: |value: str| match value {
    "fail" => "FAIL",
    "warn" => "WARN",
    "info" => "INFO",
    _ => "NOTE",
});
// A shape as well as a colour, so severity never depends on colour vision or a colour printer.
handlebars_helper!(severity_icon: |value: str| match value {
    "fail" => "✖",
    "warn" => "▲",
    "info" => "ℹ",
    _ => "•",
});
handlebars_helper!(plural: |count: i64, one: str, many: str| if count == 1 {
    format!("1 {one}")
} else {
    format!("{count} {many}")
});
// `{{default value "—"}}`: the value, or the fallback when it is null or empty.
handlebars_helper!(default: |value: Value, fallback: str| match &value {
    Value::Null => fallback.to_string(),
    Value::String(s) if s.is_empty() => fallback.to_string(),
    other => display_value(other),
});

handlebars_helper!(concat: |*parts| parts.iter().map(|part| display_value(part)).collect::<String>());

fn display_value(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// RFC 3339 → `2026-11-25 12:03:04 UTC`; text that is not a timestamp is shown as it is.
pub(super) fn format_time(value: &Value) -> String {
    let Value::String(text) = value else {
        return display_value(value);
    };
    match text.parse::<jiff::Timestamp>() {
        Ok(timestamp) => timestamp.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => text.clone(),
    }
}

/// Seconds → `1h 02m 03s`, `4m 10s`, `12s`.
pub(super) fn format_duration(value: &Value) -> String {
    let Some(seconds) = value.as_i64() else {
        return display_value(value);
    };
    let sign = if seconds < 0 { "-" } else { "" };
    let total = seconds.unsigned_abs();
    let (days, hours, minutes, secs) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if days > 0 {
        format!("{sign}{days}d {hours}h {minutes:02}m")
    } else if hours > 0 {
        format!("{sign}{hours}h {minutes:02}m {secs:02}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m {secs:02}s")
    } else {
        format!("{sign}{secs}s")
    }
}

/// A helper whose output is markup it builds itself from escaped input, so it is written unescaped.
struct RawHelper(fn(&[Value]) -> Result<String, String>);

impl HelperDef for RawHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        registry: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let mut params = Vec::with_capacity(helper.params().len());
        for (index, param) in helper.params().iter().enumerate() {
            if registry.strict_mode() && param.is_value_missing() {
                return Err(
                    RenderErrorReason::ParamNotFoundForIndex(helper_name(helper), index).into(),
                );
            }
            params.push(param.value().clone());
        }
        let text = (self.0)(&params).map_err(|message| {
            RenderError::from(RenderErrorReason::Other(format!(
                "helper {}: {message}",
                helper.name()
            )))
        })?;
        out.write(&text)?;
        Ok(())
    }
}

fn helper_name(helper: &Helper<'_>) -> &'static str {
    // RenderErrorReason wants a 'static name; the helpers are a closed set.
    match helper.name() {
        "rich" => "rich",
        "cellrich" => "cellrich",
        "link" => "link",
        "code" => "code",
        "cellcode" => "cellcode",
        "codeblock" => "codeblock",
        _ => "helper",
    }
}

fn text_param(params: &[Value], index: usize) -> Result<String, String> {
    params
        .get(index)
        .map(display_value)
        .ok_or_else(|| format!("parameter {} missing", index + 1))
}

fn html_rich(params: &[Value]) -> Result<String, String> {
    Ok(escape::html_rich(&text_param(params, 0)?))
}

/// `{{link url [text]}}`: an anchor for an http(s) URL, or the escaped text of anything else.
/// `{{steps fix}}`: numbered steps as an `<ol>`, anything else as `rich`.
fn html_steps(params: &[Value]) -> Result<String, String> {
    let text = text_param(params, 0)?;
    Ok(match escape::numbered_steps(&text) {
        Some(steps) => {
            let items: String = steps
                .iter()
                .map(|step| format!("<li>{}</li>", escape::html_rich(step)))
                .collect();
            format!("<ol class=\"steps\">{items}</ol>")
        }
        None => escape::html_rich(&text),
    })
}

fn html_link(params: &[Value]) -> Result<String, String> {
    let url = text_param(params, 0)?;
    let text = params
        .get(1)
        .map(display_value)
        .unwrap_or_else(|| url.clone());
    Ok(match escape::safe_link(&url) {
        Some(safe) => format!(
            "<a href=\"{}\" rel=\"noreferrer noopener\">{}</a>",
            escape::html(safe),
            escape::html(&text)
        ),
        None => escape::html(&text),
    })
}

fn md_rich(params: &[Value]) -> Result<String, String> {
    Ok(escape::markdown_rich(&text_param(params, 0)?, false))
}

fn md_cell_rich(params: &[Value]) -> Result<String, String> {
    Ok(escape::markdown_rich(&text_param(params, 0)?, true))
}

fn md_link(params: &[Value]) -> Result<String, String> {
    let url = text_param(params, 0)?;
    let text = params
        .get(1)
        .map(display_value)
        .unwrap_or_else(|| url.clone());
    Ok(match escape::safe_link(&url) {
        // Parentheses would end the link destination early; percent-encoding keeps the URL equivalent.
        // safe_link refuses spaces and angle brackets, so the URL can stand as an autolink.
        Some(safe) if text == url => format!("<{safe}>"),
        Some(safe) => format!(
            "[{}]({})",
            escape::markdown(&text),
            safe.replace('(', "%28").replace(')', "%29")
        ),
        None => escape::markdown(&text),
    })
}

fn md_code(params: &[Value]) -> Result<String, String> {
    Ok(escape::markdown_code_span(&text_param(params, 0)?, false))
}

fn md_cell_code(params: &[Value]) -> Result<String, String> {
    Ok(escape::markdown_code_span(&text_param(params, 0)?, true))
}

fn md_code_block(params: &[Value]) -> Result<String, String> {
    Ok(escape::markdown_code_block(&text_param(params, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(&json!(12)), "12s");
        assert_eq!(format_duration(&json!(250)), "4m 10s");
        assert_eq!(format_duration(&json!(3723)), "1h 02m 03s");
        assert_eq!(format_duration(&json!(90_061)), "1d 1h 01m");
        assert_eq!(format_duration(&json!(null)), "");
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(
            format_time(&json!("2026-11-25T13:03:04+01:00")),
            "2026-11-25 12:03:04 UTC"
        );
        assert_eq!(format_time(&json!("yesterday")), "yesterday");
        assert_eq!(format_time(&json!(null)), "");
    }

    #[test]
    fn strict_mode_turns_a_typo_into_an_error() {
        let files = template_files(None).expect("embedded templates");
        let mut registry = registry(Flavor::Html, &files).expect("registry");
        registry
            .register_template_string("typo", "{{nmae}}")
            .expect("parses");
        let error = registry
            .render("typo", &json!({"name": "x"}))
            .expect_err("typo must fail");
        assert!(error.to_string().contains("nmae"), "{error}");
    }

    #[test]
    fn markup_helpers_escape_their_input() {
        let files = template_files(None).expect("embedded templates");
        let registry = registry(Flavor::Html, &files).expect("registry");
        let out = registry
            .render_template(
                "{{link url}} {{rich text}}",
                &json!({"url": "javascript:alert(1)", "text": "<i>`x<y`</i>"}),
            )
            .expect("renders");
        assert_eq!(
            out,
            "javascript:alert(1) &lt;i&gt;<code>x&lt;y</code>&lt;/i&gt;"
        );
    }
}
