//! Rendering of an analysis: HTML, Markdown, JSON, JUnit, terminal.
//!
//! - `render` / `render_many`: one format, one or several analyses (several bundles analysed at once)
//! - `write_report`: temp file + rename beside the target, never overwriting without `force`
//! - `terminal_summary`: the short summary a person sees after `snapdoc run`, with where the reports went
//!
//! HTML and Markdown come from the Handlebars templates in report-templates/ (embedded; `--templates DIR`
//! overrides any of them by relative path). The data the templates see is described in `view`.
mod diff;
mod escape;
mod fit;
mod fleet;
mod junit;
pub(crate) mod prometheus;
mod readiness_view;
mod templates;
mod terminal;
mod view;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::analyze::Analysis;

pub use diff::render_diff;
pub use fit::MARKDOWN_LIMIT;
pub use fleet::render_fleet;
pub use terminal::terminal_summary;

/// An output format of `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained page: inline CSS and JS, no network request.
    Html,
    /// GitHub-flavoured Markdown for an issue or a support ticket.
    Markdown,
    /// The analysis itself, versioned by `schemaVersion` (docs/report-schema.json).
    Json,
    /// JUnit XML: one testcase per rule, for CI dashboards.
    Junit,
    /// A short summary for a terminal; `color` adds ANSI colours (decided by the caller: TTY, NO_COLOR).
    Terminal {
        /// ANSI colours on.
        color: bool,
    },
}

impl ReportFormat {
    /// The document format a file name asks for by its extension (`.md`, `.html`, `.json`, `.xml`).
    pub fn from_extension(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "md" | "markdown" => ReportFormat::Markdown,
            "html" | "htm" => ReportFormat::Html,
            "json" => ReportFormat::Json,
            "xml" => ReportFormat::Junit,
            _ => return None,
        })
    }

    /// The usual file extension of a report in this format.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Markdown => "md",
            ReportFormat::Json => "json",
            ReportFormat::Junit => "xml",
            ReportFormat::Terminal { .. } => "txt",
        }
    }
}

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A template that does not parse; `file` is where it came from (embedded path or the override file).
    #[error("template {file}: {source}")]
    Template {
        /// The template's path (embedded or under `--templates`).
        file: String,
        /// What the template parser said.
        #[source]
        source: Box<handlebars::TemplateError>,
    },
    /// A template that parses but fails on this analysis (a missing helper, a bad path).
    #[error("rendering {template}: {source}")]
    Render {
        /// The template's name.
        template: String,
        /// What handlebars said.
        #[source]
        source: Box<handlebars::RenderError>,
    },
    /// A template name that is neither embedded nor in `--templates`.
    #[error("no template {0} (neither built in nor in --templates)")]
    MissingTemplate(String),
    /// The `--templates` directory could not be read.
    #[error("templates directory {path}: {source}", path = path.display())]
    TemplatesDir {
        /// The directory given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The analysis could not be serialized as JSON.
    #[error("serializing the analysis: {0}")]
    Json(#[source] serde_json::Error),
    /// The report could not be written as it was made (to stdout; to a file it is [`ReportError::Write`]).
    /// The I/O error is the source itself, so that a closed pipe (`| head`) is told apart.
    #[error("writing the report: {0}")]
    Output(#[source] std::io::Error),
    /// The report file exists and `--force` was not given.
    #[error("{path} already exists (use --force to overwrite it)", path = path.display())]
    Exists {
        /// The report's path.
        path: PathBuf,
    },
    /// A report file could not be written.
    #[error("writing {path}: {source}", path = path.display())]
    Write {
        /// The report's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No analysis to render (an empty list of bundles).
    #[error("nothing to render: no analysis given")]
    Empty,
    /// A format the document has no form in (a diff or a fleet as JUnit): what was asked, in words.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// Renders one analysis in `format`. `templates` overrides the built-in HTML / Markdown templates by file name.
pub fn render(
    analysis: &Analysis,
    format: ReportFormat,
    templates: Option<&Path>,
) -> Result<String, ReportError> {
    render_many(std::slice::from_ref(analysis), format, templates)
}

/// Renders several analyses (one per bundle) as one document: one page / ticket with a section per bundle,
/// a JSON array of analyses, one JUnit testsuite per bundle. With one analysis this is `render`.
pub fn render_many(
    analyses: &[Analysis],
    format: ReportFormat,
    templates: Option<&Path>,
) -> Result<String, ReportError> {
    if analyses.is_empty() {
        return Err(ReportError::Empty);
    }
    match format {
        ReportFormat::Html => render_template(analyses, templates::Flavor::Html, templates),
        ReportFormat::Markdown => render_template(analyses, templates::Flavor::Markdown, templates),
        ReportFormat::Json => {
            let mut text = Vec::new();
            write_json(analyses, &mut text)?;
            Ok(String::from_utf8(text).expect("serde_json writes UTF-8"))
        }
        ReportFormat::Junit => Ok(junit::render(analyses)),
        ReportFormat::Terminal { color } => Ok(terminal_summary(analyses, color, &[])),
    }
}

/// Writes the JSON form of [`render_many`] to `out` as it is serialised: the report of a large bundle (4.4 MB on
/// the 1 GiB scale bundle, 19 MB at ten times) is never held as a whole text beside the analyses, which the
/// analysis's peak memory would otherwise include (BENCHMARKS.md, "Analysis memory (#20)").
pub fn write_json(analyses: &[Analysis], out: &mut dyn Write) -> Result<(), ReportError> {
    if analyses.is_empty() {
        return Err(ReportError::Empty);
    }
    let mut out = std::io::BufWriter::new(out);
    // Always one object, so a reader finds `status` at the top whatever the number of bundles.
    if let [single] = analyses {
        serde_json::to_writer_pretty(&mut out, single)
    } else {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "schemaVersion": analyses[0].schema_version,
                "status": crate::analyze::Status::worst(analyses.iter().map(|a| a.status)),
                "worstSeverity": analyses
                    .iter()
                    .flat_map(|a| a.findings.iter().map(|f| f.severity))
                    .max(),
                "analyses": analyses,
            }),
        )
    }
    .map_err(|e| {
        if e.is_io() {
            ReportError::Output(e.into())
        } else {
            ReportError::Json(e)
        }
    })?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .map_err(ReportError::Output)
}

fn render_template(
    analyses: &[Analysis],
    flavor: templates::Flavor,
    overrides: Option<&Path>,
) -> Result<String, ReportError> {
    let files = templates::template_files(overrides)?;
    let registry = templates::registry(flavor, &files)?;
    let mut document = view::document(analyses)?;
    if flavor == templates::Flavor::Markdown {
        fit::fold(&mut document);
    }
    let rendered = registry
        .render(flavor.main_template(), &document)
        .map_err(|source| ReportError::Render {
            template: format!("{}.hbs", flavor.main_template()),
            source: Box::new(source),
        })?;
    Ok(match flavor {
        templates::Flavor::Html => pin_scripts(rendered),
        templates::Flavor::Markdown => {
            let paths: Vec<&str> = analyses.iter().map(|a| a.bundle.path.as_str()).collect();
            fit::cap(rendered, &paths)
        }
    })
}

/// The HTML template's Content-Security-Policy names its scripts by hash (`CSP_SCRIPT_MARKER`), filled in
/// here from the rendered page: only the template's own `<script>` blocks can run, even if some text escaped
/// escaping. Untrusted text cannot open a `<script>` block since `<` is always escaped.
fn pin_scripts(mut html: String) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    const OPEN: &str = "<script>";
    const CLOSE: &str = "</script>";
    let Some(marker_at) = html.find(CSP_SCRIPT_MARKER) else {
        return html;
    };
    let mut sources = Vec::new();
    let mut rest = &html[marker_at..];
    while let Some(open) = rest.find(OPEN) {
        let body_start = open + OPEN.len();
        let Some(close) = rest[body_start..].find(CLOSE) else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        let digest = sha2::Sha256::digest(body.as_bytes());
        sources.push(format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
        rest = &rest[body_start + close + CLOSE.len()..];
    }
    let policy = if sources.is_empty() {
        "'none'".to_string()
    } else {
        sources.join(" ")
    };
    html.replace_range(marker_at..marker_at + CSP_SCRIPT_MARKER.len(), &policy);
    html
}

/// Placeholder in report.html.hbs for the script hashes of its Content-Security-Policy.
pub(crate) const CSP_SCRIPT_MARKER: &str = "__SNAPDOC_SCRIPT_HASHES__";

/// Writes a report atomically: a temporary file in the target's directory, then a rename. Without `force` an
/// existing file is never replaced (the final step fails instead, even if the file appeared meanwhile).
pub fn write_report(path: &Path, content: &str, force: bool) -> Result<(), ReportError> {
    write_report_with(path, force, |out| {
        out.write_all(content.as_bytes())
            .map_err(|source| ReportError::Write {
                path: path.to_path_buf(),
                source,
            })
    })
}

/// [`write_report`] of what `write` writes as it goes (a JSON report: [`write_json`]).
pub fn write_report_with(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let write_error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if !force && path.exists() {
        return Err(ReportError::Exists {
            path: path.to_path_buf(),
        });
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".snapdoc-report-")
        .tempfile_in(dir)
        .map_err(write_error)?;
    write(temp.as_file_mut()).map_err(|e| match e {
        ReportError::Output(source) => write_error(source),
        other => other,
    })?;
    temp.as_file().sync_all().map_err(write_error)?;
    #[cfg(unix)]
    {
        // A report is meant to be read and shared like any file the user writes, not kept private.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(write_error)?;
    }
    if force {
        temp.persist(path).map_err(|e| write_error(e.error))?;
    } else {
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                ReportError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                write_error(e.error)
            }
        })?;
    }
    Ok(())
}
