//! Reports rendered from realistic analyses: every format, escaping of hostile text, template overrides,
//! the JSON schema, and writing files.
#[path = "support/report_fixtures.rs"]
mod report_fixtures;

use std::path::PathBuf;

use snapdoc::report::{ReportFormat, render};

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

#[test]
fn every_fixture_renders_in_every_format() {
    for (name, analysis) in report_fixtures::all() {
        for (format, extension) in [
            (ReportFormat::Html, "html"),
            (ReportFormat::Markdown, "md"),
            (ReportFormat::Json, "json"),
            (ReportFormat::Junit, "xml"),
            (ReportFormat::Terminal { color: false }, "txt"),
        ] {
            let text = render(&analysis, format, None)
                .unwrap_or_else(|e| panic!("{name} as {format:?}: {e}"));
            assert!(!text.trim().is_empty(), "{name} as {format:?} is empty");
            std::fs::write(
                artifacts().join(format!("report-{name}.{extension}")),
                &text,
            )
            .expect("write artifact");
        }
    }
}
