//! Reports rendered from realistic analyses: every format, the same facts in HTML and Markdown, escaping of
//! hostile text in every output, the JSON schema, JUnit structure, template overrides, and writing files.
#[path = "support/report_fixtures.rs"]
mod report_fixtures;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser};
use serde_json::Value;
use snapdoc::analyze::Severity;
use snapdoc::analyze::{Analysis, Evidence};
use snapdoc::report::{
    ReportError, ReportFormat, render, render_many, terminal_summary, write_report,
};

use report_fixtures::PAYLOAD;

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

fn html(analysis: &Analysis) -> String {
    render(analysis, ReportFormat::Html, None).expect("render html")
}

fn markdown(analysis: &Analysis) -> String {
    render(analysis, ReportFormat::Markdown, None).expect("render markdown")
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

// ---------- HTML and Markdown carry the same facts ----------

/// The text a reader sees: tags dropped, entities decoded, whitespace collapsed.
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut skip_until: Option<&str> = None;
    let mut rest = html;
    while let Some(ch) = rest.chars().next() {
        if let Some(end) = skip_until {
            match rest.find(end) {
                Some(at) => {
                    rest = &rest[at + end.len()..];
                    skip_until = None;
                }
                None => break,
            }
            continue;
        }
        if !in_tag && rest.starts_with("<style") {
            skip_until = Some("</style>");
            continue;
        }
        if !in_tag && rest.starts_with("<script") {
            skip_until = Some("</script>");
            continue;
        }
        match ch {
            '<' => {
                in_tag = true;
                // Block elements separate words; inline ones (code, a, span, strong) do not.
                let name: String = rest[1..]
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if !matches!(
                    name.as_str(),
                    "code" | "a" | "span" | "strong" | "em" | "time" | "sub"
                ) {
                    text.push(' ');
                }
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
        rest = &rest[ch.len_utf8()..];
    }
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#96;", "`")
        .replace("&#61;", "=")
        .replace("&amp;", "&");
    collapse(&decoded)
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn markdown_to_html(markdown: &str) -> String {
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    out
}

/// A fact as a reader would read it: code-span backticks are presentation, not content.
fn fact(text: &str) -> String {
    collapse(&text.replace('`', ""))
}

fn facts_of(analysis: &Analysis) -> Vec<String> {
    let mut facts = Vec::new();
    for verdict in &analysis.verdicts {
        facts.push(verdict.target.name.clone());
        facts.push(verdict.summary.clone());
        facts.extend(verdict.fix.clone());
    }
    for finding in &analysis.findings {
        facts.push(finding.title.clone());
        facts.push(finding.fix.clone());
        facts.push(finding.cause.clone());
        for evidence in &finding.evidence {
            match evidence {
                Evidence::LogLine { file, line, .. } => facts.push(format!("{file}:{line}")),
                Evidence::Object { object, .. } => facts.push(object.name.clone()),
                Evidence::Versions {
                    subject_version,
                    against_version,
                    ..
                } => {
                    facts.push(subject_version.clone());
                    facts.push(against_version.clone());
                }
            }
        }
    }
    let env = &analysis.environment;
    facts.extend(env.kubernetes_version.clone());
    for component in env
        .velero
        .iter()
        .chain(&env.plugins)
        .chain(&env.node_agent)
        .chain(&env.kots)
    {
        facts.extend(component.version.clone());
    }
    for node in &env.nodes {
        facts.extend(node.os_image.clone());
    }
    for location in &env.storage_locations {
        facts.extend(location.phase.clone());
    }
    for backup in &analysis.backups {
        facts.push(backup.name.clone());
    }
    facts.iter().map(|f| fact(f)).collect()
}

#[test]
fn html_and_markdown_tell_the_same_facts() {
    // The hostile fixture's text is checked by the escaping tests; code-span backticks make its facts ambiguous.
    for (name, analysis) in report_fixtures::all()
        .into_iter()
        .filter(|(name, _)| *name != "hostile")
    {
        let page = visible_text(&html(&analysis));
        let ticket = visible_text(&markdown_to_html(&markdown(&analysis)));
        for fact in facts_of(&analysis) {
            assert!(page.contains(&fact), "{name}: HTML misses {fact:?}");
            assert!(ticket.contains(&fact), "{name}: Markdown misses {fact:?}");
        }
    }
}

#[test]
fn healthy_analysis_says_so_plainly() {
    let analysis = report_fixtures::healthy();
    let page = html(&analysis);
    assert!(page.contains("class=\"block verdict status-healthy\""));
    assert!(visible_text(&page).contains("Healthy: no backup failed and no rule found a problem"));
    assert!(
        visible_text(&markdown_to_html(&markdown(&analysis)))
            .contains("✔ Verdict: Healthy: no backup failed")
    );
    let summary = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(summary.starts_with("✔ Healthy"), "{summary}");
}

/// A collection finding (SD86x) as the engine makes it: its evidence names what could not be read.
fn collection_finding(id: &str, severity: Severity, unread: &str) -> snapdoc::analyze::Finding {
    snapdoc::analyze::Finding {
        rule_id: id.to_string(),
        rule_name: format!("collection-{id}"),
        match_kind: "object".to_string(),
        severity,
        role: Default::default(),
        category: "collection".to_string(),
        title: format!("{unread} could not be read"),
        message: format!("snapdoc was not allowed to read {unread} (403)"),
        cause: "RBAC.".to_string(),
        fix: "Grant read access per docs/rbac.md.".to_string(),
        docs: vec![],
        evidence: vec![Evidence::Object {
            object: snapdoc::analyze::ObjectRef {
                kind: "facts.collection".to_string(),
                namespace: Some("velero".to_string()),
                name: unread.to_string(),
            },
            path: Some("message".to_string()),
            value: Some(format!("{unread} is forbidden")),
        }],
        count: 1,
        first_seen: None,
        last_seen: None,
        related: vec![],
        targets: vec![],
    }
}

#[test]
fn an_incomplete_collection_is_not_called_healthy() {
    let mut analysis = report_fixtures::healthy();
    analysis.backups.clear();
    analysis.findings = vec![
        collection_finding("SD860", Severity::Warn, "backups.velero.io"),
        collection_finding("SD863", Severity::Info, "secrets/cloud-credentials"),
    ];
    // As analyze/status.rs decides it from those findings.
    analysis.status = snapdoc::analyze::Status::Incomplete;
    analysis.not_seen = vec!["backups.velero.io".to_string()];
    let page = html(&analysis);
    assert!(page.contains("class=\"block verdict status-incomplete\""));
    let seen = visible_text(&page);
    assert!(
        seen.contains("Incomplete: no failure found, but snapdoc could not see backups.velero.io"),
        "{seen}"
    );
    assert!(!seen.contains("Healthy:"), "{seen}");
    let ticket = visible_text(&markdown_to_html(&markdown(&analysis)));
    assert!(
        ticket.contains(
            "▲ Verdict: Incomplete: no failure found, but snapdoc could not see backups.velero.io"
        ),
        "{ticket}"
    );
    assert!(ticket.contains("The analysis is incomplete"), "{ticket}");
    let summary = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(summary.starts_with("▲ Incomplete"), "{summary}");
    assert!(!summary.contains("Healthy"), "{summary}");

    // Only what no failure check needs was refused: healthy, and it says what was not read.
    analysis.findings.remove(0);
    analysis.status = snapdoc::analyze::Status::Healthy;
    analysis.not_seen.clear();
    let page = html(&analysis);
    assert!(page.contains("class=\"block verdict status-healthy\""));
    assert!(
        visible_text(&page).contains("not read: secrets/cloud-credentials"),
        "{page}"
    );
    let summary = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(
        summary.starts_with("✔ Healthy") && summary.contains("not read: secrets/cloud-credentials"),
        "{summary}"
    );

    // A failure found does not make the collection complete: the detail still says it.
    let mut failed = report_fixtures::failed_bsl();
    failed.findings.push(collection_finding(
        "SD860",
        Severity::Warn,
        "podvolumebackups.velero.io",
    ));
    failed.not_seen = vec!["podvolumebackups.velero.io".to_string()];
    assert!(
        visible_text(&html(&failed)).contains(
            "The analysis is incomplete: snapdoc could not see podvolumebackups.velero.io"
        )
    );
}

#[test]
fn verdict_comes_first_in_every_format() {
    let analysis = report_fixtures::failed_bsl();
    let page = html(&analysis);
    let verdict_at = page.find("id=\"r-verdict\"").expect("verdict section");
    let findings_at = page.find("id=\"r-findings\"").expect("findings section");
    assert!(verdict_at < findings_at);
    let ticket = markdown(&analysis);
    let verdict_at = ticket
        .find("Verdict: Backup instance-4bk2p failed")
        .expect("md verdict");
    assert!(verdict_at < ticket.find("## Findings").expect("md findings"));
    let summary = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(
        summary.starts_with("✖ Backup velero/instance-4bk2p Failed"),
        "{summary}"
    );
}

#[test]
fn html_is_self_contained_and_accessible() {
    for (name, analysis) in report_fixtures::all() {
        let page = html(&analysis);
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{name}"
        );
        assert!(page.contains("<title>snapdoc report"), "{name}");
        for forbidden in [
            "src=\"http",
            "href=\"//",
            "@import",
            "url(http",
            "<link",
            "<iframe",
        ] {
            assert!(!page.contains(forbidden), "{name}: {forbidden} in the page");
        }
        // Every anchor id is unique and every table has column headers.
        let ids: Vec<&str> = page
            .split(" id=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{name}: duplicate ids");
        assert_eq!(
            page.matches("<table>").count(),
            page.matches("<thead><tr><th scope=\"col\">").count(),
            "{name}: a table without column headers"
        );
        // The policy pins the page's one script by hash and allows no source of any other kind.
        let policy = page
            .split("http-equiv=\"Content-Security-Policy\" content=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a Content-Security-Policy");
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains("script-src 'sha256-"), "{policy}");
    }
}

// ---------- Hostile text stays text ----------

fn assert_no_raw_markup(what: &str, text: &str) {
    for raw in [
        "<script>alert",
        "<img",
        "onerror=alert(2)>",
        "\u{1b}",
        "\u{7}",
    ] {
        assert!(
            !text.contains(raw),
            "{what}: raw {raw:?} reached the output"
        );
    }
}

#[test]
fn hostile_text_is_escaped_in_html() {
    let page = html(&report_fixtures::hostile());
    assert_no_raw_markup("html", &page);
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    assert_eq!(
        page.matches("<details").count(),
        page.matches("</details>").count()
    );
    assert!(!page.contains("href=\"javascript"), "a javascript: link");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The text is all there, shown as text.
    assert!(
        visible_text(&page).contains(&collapse(
            &format!("Title {PAYLOAD}")
                .replace('\u{1b}', "\\u{1b}")
                .replace('\u{7}', "\\u{7}")
        ))
    );
}

/// Markdown whose rendering (as GitHub does, raw HTML passed through) holds no HTML but our own tags, whose
/// tables keep their column count, and whose text still says what the payload said.
#[test]
fn hostile_text_is_escaped_in_markdown() {
    let ticket = markdown(&report_fixtures::hostile());
    std::fs::write(artifacts().join("report-hostile.md"), &ticket).expect("write artifact");
    let allowed = [
        "<details><summary>",
        "</summary>",
        "</details>",
        "<br>",
        "<sub>",
        "</sub>",
    ];
    for event in Parser::new_ext(&ticket, Options::ENABLE_TABLES) {
        if let Event::Html(html) | Event::InlineHtml(html) = event {
            let html = html.trim();
            assert!(
                allowed
                    .iter()
                    .any(|tag| html.starts_with(tag) || html == *tag),
                "raw HTML from the data in the Markdown: {html:?}"
            );
        }
    }
    let rendered = markdown_to_html(&ticket);
    assert!(!rendered.contains("<script"), "script in rendered Markdown");
    assert!(!rendered.contains("<img"), "img in rendered Markdown");
    assert_eq!(
        rendered.matches("<details>").count(),
        rendered.matches("</details>").count()
    );
    assert_no_raw_markup("markdown (outside code)", &strip_code_spans(&ticket));
    assert_tables_keep_their_columns(&ticket);
    assert!(
        visible_text(&rendered).contains("alert(1)"),
        "payload text lost"
    );
}

/// The Markdown with code spans removed: inside them `<` is literal text, not markup.
fn strip_code_spans(markdown: &str) -> String {
    let mut out = String::new();
    for line in markdown.lines() {
        let mut rest = line;
        loop {
            let Some(open) = rest.find('`') else {
                out.push_str(rest);
                break;
            };
            out.push_str(&rest[..open]);
            let fence_len = rest[open..].chars().take_while(|&c| c == '`').count();
            let fence = "`".repeat(fence_len);
            let after = &rest[open + fence_len..];
            match find_closing_fence(after, fence_len) {
                Some(close) => rest = &after[close + fence.len()..],
                None => {
                    out.push_str(&fence);
                    rest = after;
                }
            }
        }
        out.push('\n');
    }
    out
}

fn find_closing_fence(text: &str, len: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
            if run == len {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// Every row of every GFM table has as many unescaped pipes as its header: a `|` from the data would add a
/// cell (GitHub splits cells on it even inside code spans).
fn assert_tables_keep_their_columns(markdown: &str) {
    let pipes = |line: &str| {
        let mut count = 0;
        let mut escaped = false;
        for ch in line.chars() {
            match ch {
                '\\' if !escaped => escaped = true,
                '|' if !escaped => count += 1,
                _ => escaped = false,
            }
            if ch != '\\' {
                escaped = false;
            }
        }
        count
    };
    let mut header: Option<usize> = None;
    for line in markdown.lines() {
        if line.starts_with('|') {
            match header {
                None => header = Some(pipes(line)),
                Some(expected) => assert_eq!(pipes(line), expected, "table row broken: {line}"),
            }
        } else {
            header = None;
        }
    }
}

#[test]
fn hostile_text_is_escaped_in_junit() {
    let xml = render(&report_fixtures::hostile(), ReportFormat::Junit, None).unwrap();
    assert_no_raw_markup("junit", &xml);
    assert!(!xml.contains("]]>"), "a raw CDATA end");
    assert_well_formed(&xml);
}

#[test]
fn hostile_text_cannot_drive_the_terminal() {
    let analysis = report_fixtures::hostile();
    let plain = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(!plain.contains('\u{1b}'), "escape in the plain summary");
    let colored = render(&analysis, ReportFormat::Terminal { color: true }, None).unwrap();
    // Only our own colour codes: ESC [ digits ; m.
    for (at, _) in colored.match_indices('\u{1b}') {
        let sgr: String = colored[at + 1..]
            .chars()
            .take_while(|c| *c != 'm')
            .collect();
        assert!(
            sgr.starts_with('[') && sgr[1..].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "foreign escape sequence: {sgr:?}"
        );
    }
    assert!(!colored.contains('\u{7}'));
}

#[test]
fn hostile_text_survives_json_unchanged() {
    let analysis = report_fixtures::hostile();
    let json = render(&analysis, ReportFormat::Json, None).unwrap();
    let back: Analysis = serde_json::from_str(&json).expect("the JSON report parses back");
    assert_eq!(back.findings[0].title, format!("Title {PAYLOAD}"));
    assert_eq!(
        back.environment.storage_locations[0].message.as_deref(),
        Some(PAYLOAD)
    );
}

// ---------- JSON ----------

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.json");
    let text = std::fs::read_to_string(&path).expect("read docs/report-schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema is a valid draft 2020-12 schema")
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn json_report_matches_its_schema() {
    let validator = schema();
    for (name, analysis) in report_fixtures::all() {
        let json = render(&analysis, ReportFormat::Json, None).unwrap();
        let value: Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["schemaVersion"], 1);
        assert_valid(&validator, name, &value);
    }
    let several: Vec<Analysis> = report_fixtures::all().into_iter().map(|(_, a)| a).collect();
    let json = render_many(&several, ReportFormat::Json, None).unwrap();
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_valid(&validator, "several bundles", &value);
    // One object: the worst state and severity on top, every analysis inside.
    assert_eq!(value["analyses"].as_array().unwrap().len(), several.len());
    assert_eq!(value["status"], "failed");
    assert_eq!(value["worstSeverity"], "fail");
}

#[test]
fn schema_rejects_what_the_report_never_holds() {
    let validator = schema();
    let good: Value = serde_json::from_str(
        &render(&report_fixtures::failed_bsl(), ReportFormat::Json, None).unwrap(),
    )
    .unwrap();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut value = good.clone();
        edit(&mut value);
        value
    };
    for (what, bad) in [
        (
            "unknown severity",
            broken(&|v| v["findings"][0]["severity"] = "critical".into()),
        ),
        (
            "unknown match kind",
            broken(&|v| v["findings"][0]["matchKind"] = "regex".into()),
        ),
        (
            "unknown evidence type",
            broken(&|v| v["findings"][0]["evidence"][0]["type"] = "line".into()),
        ),
        (
            "missing title",
            broken(&|v| {
                v["findings"][0].as_object_mut().unwrap().remove("title");
            }),
        ),
        (
            "wrong schema version",
            broken(&|v| v["schemaVersion"] = 2.into()),
        ),
        (
            "unknown backup kind",
            broken(&|v| v["backups"][0]["kind"] = "snapshot".into()),
        ),
        (
            "line zero",
            broken(&|v| v["findings"][0]["evidence"][0]["line"] = 0.into()),
        ),
    ] {
        assert!(!validator.is_valid(&bad), "the schema accepts {what}");
    }
}

// ---------- JUnit ----------

/// A small XML well-formedness check: every `<` opens a tag, tags nest, entities are known.
fn assert_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find(['<', '&']) {
        let text = &rest[..open];
        assert!(!text.contains('>'), "a raw > in text: {text}");
        rest = &rest[open..];
        if rest.starts_with('&') {
            let end = rest.find(';').expect("an entity ends with ;");
            let entity = &rest[..=end];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
                "unknown entity {entity}"
            );
            rest = &rest[end + 1..];
            continue;
        }
        let end = rest.find('>').expect("a tag ends with >");
        let tag = &rest[1..end];
        assert!(!tag.contains('<'), "< inside a tag: {tag}");
        let quotes = tag.matches('"').count();
        assert_eq!(quotes % 2, 0, "unbalanced quotes in {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().expect("a tag name");
            stack.push(name.to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
}

#[test]
fn junit_has_one_testcase_per_rule() {
    for (name, analysis) in report_fixtures::all() {
        let xml = render(&analysis, ReportFormat::Junit, None).unwrap();
        assert_well_formed(&xml);
        let rules = analysis.findings.len() + analysis.checks_passed.len();
        let fails = analysis
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Fail)
            .count();
        assert_eq!(xml.matches("<testcase ").count(), rules, "{name}");
        assert_eq!(xml.matches("<failure ").count(), fails, "{name}");
        assert!(
            xml.contains(&format!(
                "<testsuite name=\"snapdoc\" tests=\"{rules}\" skipped=\"0\" errors=\"0\" failures=\"{fails}\""
            )),
            "{name}"
        );
        for finding in &analysis.findings {
            let case = xml
                .split("<testcase ")
                .find(|case| case.contains(&format!("name=\"{} ", finding.rule_id)))
                .unwrap_or_else(|| panic!("{name}: no testcase for {}", finding.rule_id));
            match finding.severity {
                Severity::Fail => assert!(
                    case.contains("<failure message=\""),
                    "{name} {}",
                    finding.rule_id
                ),
                Severity::Warn | Severity::Info => {
                    assert!(
                        !case.contains("<failure"),
                        "{name}: {} fails the build",
                        finding.rule_id
                    );
                    assert!(
                        case.contains("<system-out>"),
                        "{name}: {} is silent",
                        finding.rule_id
                    );
                    assert!(case.contains(&format!(
                        "<property name=\"severity\" value=\"{}\"/>",
                        finding.severity.as_str()
                    )));
                }
            }
        }
    }
    let xml = render(&report_fixtures::failed_bsl(), ReportFormat::Junit, None).unwrap();
    assert!(
        xml.contains("velero/logs/velero-7d9c5b7c9-x2lqz/velero.log:1843"),
        "evidence in the failure body"
    );
}

/// Read back by a JUnit reader (quick-junit's deserializer, the reading half of the crate that writes it): the
/// shape CI consumers rely on, not just well-formed text.
#[test]
fn junit_reads_back_as_ci_systems_see_it() {
    use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
    let mut analysis = report_fixtures::partially_failed_fsb();
    analysis.not_seen = vec!["backups.velero.io".to_string()];
    analysis.bundle.not_redacted = true;
    let xml = render(&analysis, ReportFormat::Junit, None).unwrap();
    // The suite's timestamp is the JUnit XSD's (no zone, as Ant and Jenkins write it), which quick-junit's
    // reader refuses (it wants RFC 3339 with an offset): checked here, then left out of the read-back.
    let timestamp = r#" timestamp="2026-11-25T08:30:02""#;
    assert!(xml.contains(timestamp), "{xml}");
    let xml = xml.replace(timestamp, "");
    let read_back =
        |xml: &str| Report::deserialize_from_str(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let report = read_back(&xml);
    assert_eq!(report.name.as_ref().map(|n| n.as_str()), Some("snapdoc"));
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "snapdoc");
    let rules = analysis.findings.len() + analysis.checks_passed.len();
    // The incomplete analysis is one more testcase, an error.
    assert_eq!(suite.test_cases.len(), rules + 1);
    assert_eq!((suite.tests, suite.errors), (rules + 1, 1));
    let incomplete = &suite.test_cases[0];
    assert_eq!(incomplete.name.as_str(), "analysis is complete");
    match &incomplete.status {
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Error,
            message,
            ty,
            ..
        } => {
            assert!(
                message
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .contains("backups.velero.io")
            );
            assert_eq!(ty.as_ref().unwrap().as_str(), "incomplete");
        }
        other => panic!("{other:?}"),
    }
    let property = |name: &str| {
        suite
            .properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.value.as_str().to_string())
    };
    assert!(property("notRedacted").unwrap().starts_with("true"));
    assert_eq!(
        property("status").as_deref(),
        Some(analysis.status.as_str())
    );
    assert!(property("verdict").is_some());
    for finding in &analysis.findings {
        let case = suite
            .test_cases
            .iter()
            .find(|c| {
                c.name
                    .as_str()
                    .starts_with(&format!("{} ", finding.rule_id))
            })
            .unwrap();
        assert_eq!(
            case.classname.as_ref().unwrap().as_str(),
            format!("snapdoc.{}", finding.category)
        );
        match (&case.status, finding.severity) {
            (
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    description,
                    ..
                },
                Severity::Fail,
            ) => assert!(
                description
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .contains(&finding.fix)
            ),
            (TestCaseStatus::Success { .. }, Severity::Warn | Severity::Info) => {
                assert!(
                    case.system_out
                        .as_ref()
                        .unwrap()
                        .as_str()
                        .contains(&finding.message)
                );
                assert_eq!(case.properties[0].name.as_str(), "severity");
                assert_eq!(case.properties[0].value.as_str(), finding.severity.as_str());
            }
            (status, severity) => panic!("{}: {severity:?} as {status:?}", finding.rule_id),
        }
    }
    let system_err = suite.system_err.as_ref().unwrap().as_str();
    assert!(
        system_err.contains("collector logs node-agent-x7k2p/node-agent (previous) (HTTP 400)")
    );
    assert!(system_err.contains("not in the bundle: previous log of velero/node-agent-x7k2p"));
    // Totals are the suites' sums.
    assert_eq!(
        report.tests,
        report.test_suites.iter().map(|s| s.tests).sum::<usize>()
    );
    assert_eq!(
        report.failures,
        report.test_suites.iter().map(|s| s.failures).sum::<usize>()
    );

    // A control character planted in a log shows, escaped, rather than vanishing or breaking the XML.
    let hostile = render(&report_fixtures::hostile(), ReportFormat::Junit, None).unwrap();
    assert!(hostile.contains("\\u{1b}]0;pwned\\u{7}"), "{hostile}");
    let timestamp = regex::Regex::new(r#" timestamp="[^"]*""#).unwrap();
    read_back(&timestamp.replace_all(&hostile, ""));
}

// ---------- Terminal ----------

#[test]
fn terminal_summary_lists_verdicts_findings_counts_and_reports() {
    let analysis = report_fixtures::partially_failed_fsb();
    let reports = [
        PathBuf::from("out/report.html"),
        PathBuf::from("out/report.md"),
    ];
    let plain = terminal_summary(std::slice::from_ref(&analysis), false, &reports);
    let lines: Vec<&str> = plain.lines().collect();
    assert!(
        lines[0].contains("Backup velero/instance-7lq8w PartiallyFailed"),
        "{plain}"
    );
    for finding in &analysis.findings {
        let line = lines
            .iter()
            .find(|l| l.contains(&finding.rule_id))
            .unwrap_or_else(|| panic!("no line for {}", finding.rule_id));
        assert!(
            line.contains(&finding.severity.as_str().to_uppercase()),
            "{line}"
        );
        assert!(line.contains(&finding.title), "{line}");
    }
    assert!(
        plain.contains("2 fail, 2 warn, 0 info; 16 rule(s) found nothing"),
        "{plain}"
    );
    assert!(plain.trim_end().ends_with("out/report.md"), "{plain}");
    assert!(!plain.contains('\u{1b}'));
    let colored = terminal_summary(std::slice::from_ref(&analysis), true, &reports);
    assert!(colored.contains("\u{1b}[1;31mFAIL\u{1b}[0m"));
}

#[test]
fn terminal_summary_gives_one_cause_once_for_several_backups() {
    let mut analysis = report_fixtures::partially_failed_fsb();
    let first = analysis.verdicts[0].clone();
    // Six more backups failed the same way, and one of them for another reason.
    for index in 0..6 {
        let mut same = first.clone();
        same.target.name = format!("instance-same{index}");
        analysis.verdicts.push(same);
    }
    let mut other = first.clone();
    other.target.name = "instance-other".into();
    other.finding_ids = vec!["SD999".into()];
    other.summary = "Something else entirely.".into();
    analysis.verdicts.push(other);

    let plain = terminal_summary(std::slice::from_ref(&analysis), false, &[]);
    let headings: Vec<&str> = plain.lines().filter(|l| l.starts_with('✖')).collect();
    assert_eq!(headings.len(), 2, "{plain}");
    assert!(
        headings[0].starts_with(&format!(
            "✖ 7 Backups velero/{}, velero/instance-same0, velero/instance-same1, velero/instance-same2, \
             velero/instance-same3 and 2 more PartiallyFailed",
            first.target.name
        )),
        "{plain}"
    );
    assert!(plain.contains("The same cause in the other 6"), "{plain}");
    assert_eq!(plain.matches("Fix:").count(), 2, "{plain}");
    assert!(
        headings[1].starts_with("✖ Backup velero/instance-other PartiallyFailed"),
        "{plain}"
    );
    assert!(plain.contains("Something else entirely."), "{plain}");

    // The reports fold them the same way: one verdict naming the other six, the fix written once per cause.
    let ticket = render(&analysis, ReportFormat::Markdown, None).unwrap();
    assert_eq!(ticket.matches("- **Why:**").count(), 2, "{ticket}");
    assert!(
        ticket.contains(
            "- **The same cause in 6 more:** `velero/instance-same0`, `velero/instance-same1`, "
        ),
        "{ticket}"
    );
    let page = render(&analysis, ReportFormat::Html, None).unwrap();
    assert_eq!(page.matches("<div class=\"verdict-item").count(), 2);
    assert!(page.contains("<span class=\"label\">Same cause</span> <span>6 more: "));
}

#[test]
fn the_backups_table_names_the_schedule_of_a_backup() {
    let mut analysis = report_fixtures::partially_failed_fsb();
    analysis.backups[0].schedule = Some("nightly".into());
    let name = analysis.backups[0].name.clone();
    let ticket = render(&analysis, ReportFormat::Markdown, None).unwrap();
    let row = ticket
        .lines()
        .find(|l| l.starts_with("| ") && l.contains(&format!("velero/{name}`")))
        .expect("the backup's row");
    assert!(row.contains("(schedule `nightly`)"), "{row}");
    let page = render(&analysis, ReportFormat::Html, None).unwrap();
    assert!(
        page.contains("<span class=\"note\">schedule <span class=\"mono\">nightly</span></span>")
    );
    assert_eq!(page.matches("<span class=\"note\">schedule ").count(), 1);
}

#[test]
fn the_environment_names_the_file_system_backup_uploader() {
    let analysis = report_fixtures::partially_failed_fsb();
    let ticket = render(&analysis, ReportFormat::Markdown, None).unwrap();
    assert!(
        ticket.contains(
            "File-system backups: `kopia` in use; new ones use `kopia` (the server's `--uploader-type`)."
        ),
        "{ticket}"
    );
    let page = render(&analysis, ReportFormat::Html, None).unwrap();
    assert!(page.contains(
        "<p class=\"uploaders\">File-system backups: <span class=\"mono\">kopia</span> in use"
    ));
    // Nothing is said when the bundle shows no file-system backups.
    let healthy = render(&report_fixtures::healthy(), ReportFormat::Markdown, None).unwrap();
    assert!(!healthy.contains("File-system backups:"));
}

// ---------- Several bundles ----------

#[test]
fn several_bundles_render_as_one_document() {
    let analyses = vec![
        report_fixtures::failed_bsl(),
        report_fixtures::partially_failed_fsb(),
    ];
    let page = render_many(&analyses, ReportFormat::Html, None).unwrap();
    for analysis in &analyses {
        assert!(page.contains(&analysis.bundle.path));
    }
    assert!(page.contains("id=\"r1-SD101\"") && page.contains("id=\"r2-SD203\""));
    let ticket = render_many(&analyses, ReportFormat::Markdown, None).unwrap();
    assert!(ticket.starts_with("# snapdoc report: 2 bundles"));
    let xml = render_many(&analyses, ReportFormat::Junit, None).unwrap();
    assert_well_formed(&xml);
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert!(matches!(
        render_many(&[], ReportFormat::Html, None),
        Err(ReportError::Empty)
    ));
}

// ---------- Templates ----------

#[test]
fn templates_dir_overrides_a_file_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("partials/html")).unwrap();
    std::fs::write(
        dir.path().join("partials/html/finding.hbs"),
        "<p class=\"custom\">CUSTOM {{ruleId}}: {{title}}</p>\n",
    )
    .unwrap();
    let page = render(
        &report_fixtures::hostile(),
        ReportFormat::Html,
        Some(dir.path()),
    )
    .unwrap();
    assert!(
        page.contains("<p class=\"custom\">CUSTOM SD101: Title &lt;script&gt;"),
        "override not used or not escaped"
    );
    assert!(
        page.contains("id=\"r-verdict\""),
        "the other templates stay built in"
    );
}

#[test]
fn template_typo_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("partials/md")).unwrap();
    std::fs::write(
        dir.path().join("partials/md/finding.hbs"),
        "### {{titel}}\n",
    )
    .unwrap();
    let error = render(
        &report_fixtures::failed_bsl(),
        ReportFormat::Markdown,
        Some(dir.path()),
    )
    .expect_err("a misspelled field must fail");
    assert!(matches!(error, ReportError::Render { .. }), "{error}");
    assert!(error.to_string().contains("titel"), "{error}");
}

#[test]
fn broken_template_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("report.html.hbs"),
        "<html>{{#if multiple}}\n",
    )
    .unwrap();
    let error = render(
        &report_fixtures::healthy(),
        ReportFormat::Html,
        Some(dir.path()),
    )
    .expect_err("an unclosed block must fail");
    assert!(matches!(error, ReportError::Template { .. }), "{error}");
    assert!(error.to_string().contains("report.html.hbs"), "{error}");
    let missing = render(
        &report_fixtures::healthy(),
        ReportFormat::Html,
        Some(&dir.path().join("nope")),
    )
    .expect_err("a missing directory must fail");
    assert!(missing.to_string().contains("nope"), "{missing}");
}

// ---------- Writing ----------

#[test]
fn write_report_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    write_report(&path, "first", false).expect("first write");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
    let error = write_report(&path, "second", false).expect_err("must not overwrite");
    assert!(matches!(error, ReportError::Exists { .. }), "{error}");
    assert!(error.to_string().contains("--force"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
    write_report(&path, "third", true).expect("forced write");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "third");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.html"], "a temporary file was left behind");
    let error = write_report(&dir.path().join("no/such/dir/report.md"), "x", false)
        .expect_err("missing directory");
    assert!(error.to_string().contains("no/such/dir"), "{error}");
}

// ---------- Evidence cut around the match, the match highlighted ----------

/// The failed-BSL fixture with its first evidence line made 6,000 characters long, the match in the middle.
fn long_evidence_line() -> (Analysis, String) {
    let mut analysis = report_fixtures::failed_bsl();
    let matched = "NoSuchBucket: The specified bucket does not exist <b>";
    let excerpt = format!(
        "level=error msg=\"{}{matched}{}\"",
        "a".repeat(3000),
        "z".repeat(3000)
    );
    let start = excerpt.find(matched).unwrap();
    let finding = analysis
        .findings
        .iter_mut()
        .find(|f| {
            f.evidence
                .iter()
                .any(|e| matches!(e, Evidence::LogLine { span: Some(_), .. }))
        })
        .expect("a finding with a located match");
    finding.evidence[0] = Evidence::LogLine {
        file: "velero/logs/velero/velero.log".to_string(),
        line: 9,
        excerpt: excerpt.clone(),
        time: None,
        span: Some(snapdoc::analyze::MatchSpan {
            start,
            end: start + matched.len(),
        }),
    };
    (analysis, matched.to_string())
}

#[test]
fn html_marks_the_match_in_a_window_of_a_long_line() {
    let (analysis, _) = long_evidence_line();
    let page = html(&analysis);
    let marked = "<mark>NoSuchBucket: The specified bucket does not exist &lt;b&gt;</mark>";
    let at = page
        .find(marked)
        .expect("the match is marked, escaped inside <mark>");
    let pre_start = page[..at].rfind("<pre>").unwrap();
    let pre_end = at + page[at..].find("</pre>").unwrap();
    let pre = &page[pre_start + 5..pre_end];
    assert!(
        pre.starts_with('…') && pre.ends_with('…'),
        "cut on both sides: {pre}"
    );
    assert!(
        pre.contains("aaa") && pre.contains("zzz"),
        "context on both sides"
    );
    assert!(
        pre.chars().count() < 1000,
        "a window, not the 6,000 characters"
    );
    assert!(!page.contains("<b>"), "the match is escaped too");
}

#[test]
fn markdown_keeps_the_match_of_a_long_line_in_view() {
    let (analysis, matched) = long_evidence_line();
    let text = markdown(&analysis);
    let line = text
        .lines()
        .find(|l| l.contains("velero/velero.log:9"))
        .expect("the evidence line");
    assert!(
        line.contains("NoSuchBucket: The specified bucket does not exist"),
        "{line}"
    );
    assert!(line.contains("…aaa") && line.contains("zzz…"), "{line}");
    assert!(line.chars().count() < 600, "{line}");
    // In a code span, where `<b>` is text.
    let code = line
        .split("<br>")
        .nth(1)
        .expect("the excerpt after the location");
    assert!(
        code.trim().starts_with('`') && code.contains(&matched),
        "{line}"
    );
}

#[test]
fn terminal_shows_the_match_in_bold_when_colour_is_on() {
    let (analysis, _) = long_evidence_line();
    let plain = terminal_summary(std::slice::from_ref(&analysis), false, &[]);
    let line = plain
        .lines()
        .find(|l| l.contains("velero.log:9"))
        .expect("the evidence line under its finding");
    assert!(
        line.contains("…aaa") && line.contains("NoSuchBucket"),
        "{line}"
    );
    assert!(line.trim_end().ends_with('…'), "{line}");
    assert!(line.chars().count() < 200, "{line}");
    let colored = terminal_summary(std::slice::from_ref(&analysis), true, &[]);
    assert!(
        colored
            .contains("\u{1b}[1;33mNoSuchBucket: The specified bucket does not exist <b>\u{1b}[0m"),
        "{colored}"
    );
}

#[test]
fn a_summary_without_reports_points_to_the_command_that_writes_one() {
    let analysis = report_fixtures::partially_failed_fsb();
    // `snapdoc analyze` on the terminal writes no report: nothing may send the reader to one.
    let alone = terminal_summary(std::slice::from_ref(&analysis), false, &[]);
    assert!(!alone.contains("the report"), "{alone}");
    assert!(!alone.contains("Reports:"), "{alone}");
    assert!(
        alone.contains("`snapdoc analyze snapdoc-ec-plant-7-20261125T082911Z.zip --format html`"),
        "{alone}"
    );
    // With the reports `run` wrote, they are where the rest is.
    let reports = [PathBuf::from("out/report.html")];
    let with = terminal_summary(std::slice::from_ref(&analysis), false, &reports);
    assert!(with.contains("see the report"), "{with}");
    assert!(!with.contains("--format html`"), "{with}");
    // A path that is not one shell word is quoted.
    let mut spaced = analysis.clone();
    spaced.bundle.path = "my bundles/it's.zip".into();
    let text = terminal_summary(std::slice::from_ref(&spaced), false, &[]);
    assert!(
        text.contains(r"`snapdoc analyze 'my bundles/it'\''s.zip' --format html`"),
        "{text}"
    );
}

#[test]
fn the_collection_section_gives_byte_counts_as_sizes() {
    let mut analysis = report_fixtures::failed_bsl();
    analysis
        .collector_errors
        .push(snapdoc::bundle::CollectorError {
            source: "logs".to_string(),
            target: Some("velero-6d4/velero".to_string()),
            namespace: Some("velero".to_string()),
            status: None,
            message: "kept the newest 52428800 of 98765432 bytes".to_string(),
        });
    analysis
        .unavailable
        .push("velero/logs/x.log: decompresses to more than 1288490189 bytes".to_string());
    for text in [html(&analysis), markdown(&analysis)] {
        assert!(
            text.contains("kept the newest 50.0 MiB of 94.2 MiB"),
            "{text}"
        );
        assert!(text.contains("more than 1.2 GiB"));
        assert!(!text.contains("52428800"));
    }
    // The JSON keeps the exact counts.
    let json = render(&analysis, ReportFormat::Json, None).unwrap();
    assert!(json.contains("52428800 of 98765432 bytes"));
}

// ---------- the storage probe (`--probe`) ----------

/// failed_bsl's location as `run --probe` would find it: the bucket missing (the list answered NoSuchBucket, the
/// wording moto's server gives, composed here), and a second location the probe cannot handle.
fn probed_failed_bsl() -> Analysis {
    use snapdoc::probe::{
        Check, LocationProbe, ProbeResult, ProbedLocation, Status as CheckStatus, Step,
    };
    let mut analysis = report_fixtures::failed_bsl();
    let skipped = |step| Check {
        step,
        status: CheckStatus::Skipped,
        rule: None,
        error_code: None,
        http_status: None,
        detail: "the listing failed: every request would fail the same way".to_string(),
        latency_ms: None,
    };
    let result = ProbeResult {
        agent: "in-cluster".to_string(),
        location: ProbedLocation {
            provider: "aws".to_string(),
            bucket: "acme-myapp-snapshots".to_string(),
            prefix: "prod/".to_string(),
            endpoint: "https://s3.us-east-2.amazonaws.com".to_string(),
            region: "us-east-2".to_string(),
            path_style: false,
            ca_cert: false,
            insecure_skip_tls_verify: false,
        },
        probe_key: "prod/backups/snapdoc-probe-6f1c2a4e-0d3b-4c55-9a57-2f4b1d9e8c10".to_string(),
        checks: vec![
            Check {
                step: Step::List,
                status: CheckStatus::Failed,
                rule: Some("SD101".to_string()),
                error_code: Some("NoSuchBucket".to_string()),
                http_status: Some(404),
                detail: "NoSuchBucket: The specified bucket does not exist (HTTP 404)".to_string(),
                latency_ms: Some(41),
            },
            skipped(Step::TopLevelDirs),
            skipped(Step::Put),
            skipped(Step::Get),
            skipped(Step::Delete),
            skipped(Step::PutWithChecksum),
            Check {
                step: Step::ClockSkew,
                status: CheckStatus::Passed,
                rule: None,
                error_code: None,
                http_status: None,
                detail: "+0 s from the store's Date".to_string(),
                latency_ms: None,
            },
        ],
        top_level_dirs: vec![],
        clock_skew_seconds: Some(0),
        versioning: None,
        object_lock: None,
        round_trip_ms: Some(41),
        local_volume: None,
    };
    analysis.probes = vec![
        LocationProbe {
            namespace: "velero".to_string(),
            name: "default".to_string(),
            result: Some(result),
            error: None,
        },
        LocationProbe {
            namespace: "velero".to_string(),
            name: "azure-dr".to_string(),
            result: None,
            error: Some(
                "provider \"azure\": the probe handles S3 and S3-compatible locations (provider aws or velero.io/aws)"
                    .to_string(),
            ),
        },
    ];
    analysis
}

const REPRODUCED: &str = "the probe reproduced NoSuchBucket on list prefix (SD101)";

#[test]
fn the_probe_s_result_is_in_every_format() {
    let analysis = probed_failed_bsl();
    let page = visible_text(&html(&analysis));
    assert!(page.contains("Storage probe"), "{page}");
    assert!(page.contains(REPRODUCED), "{page}");
    assert!(
        page.contains("The probe could not run: provider \"azure\""),
        "{page}"
    );

    let md = markdown(&analysis);
    assert!(md.contains("## Storage probe"), "{md}");
    assert!(md.contains(&format!("- **{REPRODUCED}**")), "{md}");
    assert!(md.contains("| list prefix | ✖ failed |"), "{md}");

    let terminal = render(&analysis, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(
        terminal.contains("FAIL probe of velero/default: list prefix failed"),
        "{terminal}"
    );
    assert!(terminal.contains(REPRODUCED), "{terminal}");
    assert!(
        terminal.contains("WARN probe of velero/azure-dr could not run"),
        "{terminal}"
    );

    let json: Value =
        serde_json::from_str(&render(&analysis, ReportFormat::Json, None).unwrap()).unwrap();
    assert_valid(&schema(), "probed failed-bsl", &json);
    assert_eq!(json["probes"][0]["result"]["checks"][0]["rule"], "SD101");
    // Without --probe the key is absent, as the schema says.
    let plain: Value = serde_json::from_str(
        &render(&report_fixtures::failed_bsl(), ReportFormat::Json, None).unwrap(),
    )
    .unwrap();
    assert!(plain.get("probes").is_none());

    let xml = render(&analysis, ReportFormat::Junit, None).unwrap();
    // quick-junit's reader refuses the XSD's zone-less suite timestamp (see junit_reads_back_as_ci_systems_see_it).
    let xml = xml.replace(r#" timestamp="2026-11-25T12:05:40""#, "");
    let report =
        quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let suite = report
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "probe")
        .expect("a probe suite");
    assert_eq!(suite.test_cases.len(), 2);
    let case = &suite.test_cases[0];
    assert_eq!(
        case.name.as_str(),
        "storage location velero/default works from the cluster"
    );
    match &case.status {
        quick_junit::TestCaseStatus::NonSuccess { description, .. } => {
            assert_eq!(description.as_ref().map(|d| d.as_str()), Some(REPRODUCED));
        }
        other => panic!("{other:?}"),
    }
}
