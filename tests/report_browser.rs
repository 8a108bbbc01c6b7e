//! The HTML report of each fixture opened in real headless Chromium, driven over the DevTools protocol by the
//! `headless_chrome` crate (its typed protocol, built offline from the protocol files it ships): the verdict and
//! findings are visible, evidence expands on a real mouse click, printing keeps evidence folded and hides the navigation, nothing
//! is logged as an error, and the page makes no network request. A full-page screenshot of each is kept as
//! target/test-artifacts/report-<name>.png.
//!
//! Needs Debian's `chromium` (scripts/install-test-deps). Without it the test is skipped with a loud message,
//! except under CI (CI set), where a missing browser is a failure.
#[path = "support/report_fixtures.rs"]
mod report_fixtures;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::types::{Event, Method};
use headless_chrome::protocol::cdp::{Emulation, Log, Network, Page, Runtime};
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::{Value, json};
use snapdoc::analyze::Analysis;
use snapdoc::analyze::Severity;
use snapdoc::report::{ReportFormat, render};

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn html_reports_read_well_in_chromium() {
    let Some(chromium) = find_chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed and CI is set: run scripts/install-test-deps");
        }
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! SKIPPED html_reports_read_well_in_chromium: no chromium found.    !!\n\
             !! Install it with scripts/install-test-deps (or set CHROMIUM).      !!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return;
    };
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("create target/test-artifacts");
    let browser = launch(&chromium);
    for (name, analysis) in report_fixtures::all() {
        let html = render(&analysis, ReportFormat::Html, None).expect("render html");
        let page = artifacts.join(format!("report-{name}.html"));
        std::fs::write(&page, &html).expect("write the report");
        check_page(&browser, name, &analysis, &page, &artifacts);
    }
}

fn check_page(browser: &Browser, name: &str, analysis: &Analysis, page: &Path, artifacts: &Path) {
    let url = format!("file://{}", page.display());
    let tab = browser.new_tab().expect("open a tab");
    tab.set_default_timeout(TIMEOUT);
    // Everything the page does on its own, recorded from before it loads.
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let recorder = Arc::clone(&events);
    tab.add_event_listener(Arc::new(move |event: &Event| {
        recorder.lock().unwrap().push(event.clone());
    }))
    .expect("listen to the tab's events");
    call::<Page::Enable>(&tab, json!({}));
    call::<Runtime::Enable>(&tab, json!(null));
    call::<Log::Enable>(&tab, json!(null));
    call::<Network::Enable>(&tab, json!({}));
    call::<Emulation::SetDeviceMetricsOverride>(
        &tab,
        json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );
    tab.navigate_to(&url)
        .and_then(|tab| tab.wait_until_navigated())
        .unwrap_or_else(|e| panic!("{name}: page did not load: {e}"));

    // The verdict comes first and says what happened.
    let verdict = eval(
        &tab,
        r#"(() => {
            const v = document.querySelector('section.verdict');
            const first = document.querySelector('main section');
            const h = v.querySelector('h2');
            return { first: first === v, visible: h.checkVisibility(), text: v.innerText,
                     top: h.getBoundingClientRect().top, color: getComputedStyle(h).color,
                     status: v.className };
        })()"#,
    );
    assert_eq!(
        verdict["first"], true,
        "{name}: the verdict is not the first section"
    );
    assert_eq!(
        verdict["visible"], true,
        "{name}: verdict heading not visible"
    );
    assert!(
        verdict["top"].as_f64().unwrap_or(f64::MAX) < 400.0,
        "{name}: the verdict is not at the top of the page: {verdict}"
    );
    let verdict_text = verdict["text"].as_str().unwrap_or_default();
    if analysis.verdicts.is_empty()
        && !analysis
            .findings
            .iter()
            .any(|f| f.severity == Severity::Fail)
    {
        assert!(
            verdict_text.contains("Healthy"),
            "{name}: healthy not said: {verdict_text}"
        );
        assert_eq!(
            verdict["color"], "rgb(6, 118, 71)",
            "{name}: healthy verdict is not green"
        );
    }
    for item in &analysis.verdicts {
        assert!(
            verdict_text.contains(&shown(&item.target.name)),
            "{name}: verdict misses {}",
            item.target.name
        );
        assert!(
            verdict_text.contains(&item.phase),
            "{name}: verdict misses phase {}",
            item.phase
        );
    }

    // Every finding's title is on screen (once scrolled to), with its severity in words.
    for finding in &analysis.findings {
        let state = eval(
            &tab,
            &format!(
                r#"(() => {{
                    const f = document.getElementById({anchor});
                    f.scrollIntoView();
                    const h = f.querySelector('h4');
                    return {{ visible: h.checkVisibility(), title: h.textContent,
                              badge: f.querySelector('.badge').textContent }};
                }})()"#,
                anchor = js_string(&format!("r-{}", finding.rule_id))
            ),
        );
        assert_eq!(
            state["visible"], true,
            "{name}: finding {} not visible",
            finding.rule_id
        );
        assert_eq!(
            state["title"],
            shown(&finding.title),
            "{name}: title of {}",
            finding.rule_id
        );
        let badge = state["badge"].as_str().unwrap_or_default();
        assert!(
            badge.contains(&finding.severity.as_str().to_uppercase()),
            "{name}: badge of {} says {badge}",
            finding.rule_id
        );
    }

    // Evidence is collapsed, and a real click on its summary opens it.
    if let Some(finding) = analysis.findings.iter().find(|f| !f.evidence.is_empty()) {
        let anchor = js_string(&format!("r-{}", finding.rule_id));
        let before = eval(
            &tab,
            &format!(
                r#"(() => {{
                    const d = document.getElementById({anchor}).querySelector('details.evidence');
                    const s = d.querySelector('summary');
                    s.scrollIntoView({{block: 'center'}});
                    const r = s.getBoundingClientRect();
                    return {{ open: d.open, shown: d.querySelector('ol').checkVisibility(),
                              x: r.left + 20, y: r.top + r.height / 2 }};
                }})()"#
            ),
        );
        assert_eq!(before["open"], false, "{name}: evidence starts open");
        assert_eq!(before["shown"], false, "{name}: closed evidence is visible");
        let (x, y) = (before["x"].as_f64().unwrap(), before["y"].as_f64().unwrap());
        tab.click_point(Point { x, y }).expect("click the summary");
        let after = eval(
            &tab,
            &format!(
                r#"(() => {{
                    const d = document.getElementById({anchor}).querySelector('details.evidence');
                    return {{ open: d.open, shown: d.querySelector('ol').checkVisibility(),
                              text: d.querySelector('ol').innerText }};
                }})()"#
            ),
        );
        assert_eq!(
            after["open"], true,
            "{name}: click did not open the evidence"
        );
        assert_eq!(after["shown"], true, "{name}: opened evidence not visible");
        let text = after["text"].as_str().unwrap_or_default();
        if let Some(snapdoc::analyze::Evidence::LogLine { file, line, .. }) =
            finding.evidence.first()
        {
            assert!(
                text.contains(&shown(&format!("{file}:{line}"))),
                "{name}: evidence location missing: {text}"
            );
        }
    }

    // Printed: no navigation, folded evidence stays folded (its summary line printed), per-object lists shown.
    call::<Emulation::SetEmulatedMedia>(&tab, json!({"media": "print"}));
    let print = eval(
        &tab,
        r#"(() => ({
            nav: document.querySelector('nav').checkVisibility(),
            folded: document.querySelectorAll('details.evidence:not([open]) ol').length,
            hidden: [...document.querySelectorAll('details.evidence:not([open]) ol')]
                .filter(ol => !ol.checkVisibility()).length,
            summaries: [...document.querySelectorAll('details.evidence > summary')]
                .filter(s => !s.checkVisibility()).length,
            lists: [...document.querySelectorAll('details.per-target:not([open]) ul')]
                .filter(ul => !ul.checkVisibility()).length
        }))()"#,
    );
    assert_eq!(print["nav"], false, "{name}: navigation printed");
    assert_eq!(
        print["hidden"], print["folded"],
        "{name}: folded evidence expanded in print"
    );
    assert_eq!(
        print["summaries"], 0,
        "{name}: evidence summary not printed"
    );
    assert_eq!(print["lists"], 0, "{name}: per-object list hidden in print");
    call::<Emulation::SetEmulatedMedia>(&tab, json!({"media": ""}));

    // Untrusted text stayed text: no element came from it.
    let elements = eval(
        &tab,
        r#"(() => ({ scripts: document.scripts.length, images: document.images.length }))()"#,
    );
    assert_eq!(
        elements["scripts"], 1,
        "{name}: unexpected <script> elements"
    );
    assert_eq!(elements["images"], 0, "{name}: unexpected <img> elements");

    // A full-page screenshot as the artifact.
    eval(&tab, "window.scrollTo(0, 0)");
    let metrics = tab
        .call_method(Page::GetLayoutMetrics(None))
        .expect("layout metrics");
    let height = metrics.css_content_size.height.ceil();
    let png = screenshot(&tab, (0.0, 0.0, 1280.0, height));
    std::fs::write(artifacts.join(format!("report-{name}.png")), png).expect("write screenshot");

    // One image per section too, when asked (SNAPDOC_SECTION_SHOTS=1): easier to review than one tall page.
    if std::env::var_os("SNAPDOC_SECTION_SHOTS").is_some() {
        let sections = eval(
            &tab,
            r#"[...document.querySelectorAll('section.block')].map(s => {
                const r = s.getBoundingClientRect();
                return { id: s.id, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height };
            })"#,
        );
        for section in sections.as_array().into_iter().flatten() {
            let number = |key: &str| section[key].as_f64().unwrap_or_default();
            let png = screenshot(&tab, (number("x"), number("y"), number("w"), number("h")));
            let id = section["id"].as_str().unwrap_or("section");
            std::fs::write(artifacts.join(format!("report-{name}-{id}.png")), png)
                .expect("write screenshot");
        }
    }

    // At a phone's width and a laptop's, nothing is clipped: the page never scrolls sideways, and a table wider
    // than its section scrolls inside its own wrapper instead of being cut off.
    for width in [390, 1366] {
        call::<Emulation::SetDeviceMetricsOverride>(
            &tab,
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}),
        );
        let layout = eval(
            &tab,
            r#"(() => {
                const page = document.documentElement.scrollWidth;
                const clipped = [...document.querySelectorAll('table')].filter(t => {
                    const box = t.parentElement;
                    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
                    return t.getBoundingClientRect().width > box.clientWidth + 1 && !scrolls;
                }).map(t => (t.closest('section') || {}).id || t.outerHTML.slice(0, 80));
                const tables = document.querySelectorAll('table').length;
                return { page, viewport: innerWidth, clipped, tables };
            })()"#,
        );
        assert!(
            layout["page"].as_f64() <= layout["viewport"].as_f64(),
            "{name} at {width} px: the page scrolls sideways: {layout}"
        );
        assert_eq!(
            layout["clipped"],
            json!([]),
            "{name} at {width} px: tables clipped: {layout}"
        );
        assert!(
            layout["tables"].as_u64() > Some(0),
            "{name}: no table checked"
        );
    }

    // Dark mode follows the system setting: dark paper, light ink, still readable severity colours.
    call::<Emulation::SetEmulatedMedia>(
        &tab,
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    let dark = eval(
        &tab,
        r#"(() => {
            const luminance = c => {
                const [r, g, b] = c.match(/[\d.]+/g).map(Number).map(v => v / 255)
                    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const contrast = (a, b) => {
                const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
                return (x + 0.05) / (y + 0.05);
            };
            const body = getComputedStyle(document.body);
            const block = getComputedStyle(document.querySelector('section.block'));
            return { dark: matchMedia('(prefers-color-scheme: dark)').matches,
                     canvas: luminance(body.backgroundColor), paper: luminance(block.backgroundColor),
                     text: contrast(block.color, block.backgroundColor) };
        })()"#,
    );
    assert_eq!(dark["dark"], true, "{name}: dark mode not emulated: {dark}");
    assert!(
        dark["canvas"].as_f64() < Some(0.05) && dark["paper"].as_f64() < Some(0.05),
        "{name}: dark mode leaves the page light: {dark}"
    );
    assert!(
        dark["text"].as_f64() > Some(7.0),
        "{name}: text in dark mode is hard to read: {dark}"
    );
    call::<Emulation::SetEmulatedMedia>(
        &tab,
        json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
    );

    // What the page did on its own: requests, console errors, exceptions, dialogs.
    let events = events.lock().unwrap().clone();
    let requests: Vec<&str> = events
        .iter()
        .filter_map(|event| match event {
            Event::NetworkRequestWillBeSent(sent) => Some(sent.params.request.url.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        !requests.is_empty(),
        "{name}: the page load itself was not recorded"
    );
    for request in &requests {
        assert_eq!(
            *request,
            url.as_str(),
            "{name}: the page requested {request}"
        );
    }
    let problems: Vec<String> = events
        .iter()
        .filter(|event| match event {
            Event::RuntimeConsoleAPICalled(called) => matches!(
                called.params.Type,
                Runtime::ConsoleAPICalledEventTypeOption::Error
                    | Runtime::ConsoleAPICalledEventTypeOption::Assert
                    | Runtime::ConsoleAPICalledEventTypeOption::Warning
            ),
            Event::RuntimeExceptionThrown(_) | Event::PageJavascriptDialogOpening(_) => true,
            Event::LogEntryAdded(added) => matches!(
                added.params.entry.level,
                Log::LogEntryLevel::Error | Log::LogEntryLevel::Warning
            ),
            _ => false,
        })
        .map(|event| format!("{event:?}"))
        .collect();
    assert!(
        problems.is_empty(),
        "{name}: the page reported problems:\n{}",
        problems.join("\n")
    );
    tab.close(false).expect("close the tab");
}

/// A DevTools command given as JSON (as the protocol documents it), sent through the crate's typed client.
fn call<C>(tab: &Tab, params: Value) -> C::ReturnObject
where
    C: Method + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let method: C = serde_json::from_value(params)
        .unwrap_or_else(|e| panic!("{}: bad parameters: {e}", std::any::type_name::<C>()));
    tab.call_method(method)
        .unwrap_or_else(|e| panic!("{}: {e}", std::any::type_name::<C>()))
}

/// Evaluates an expression in the page and returns its value (JSON).
fn eval(tab: &Tab, expression: &str) -> Value {
    let result = call::<Runtime::Evaluate>(
        tab,
        json!({"expression": expression, "returnByValue": true}),
    );
    if let Some(exception) = result.exception_details {
        panic!("script failed: {exception:?}\n{expression}");
    }
    result.result.value.unwrap_or(Value::Null)
}

/// A PNG of the page area (x, y, width, height), beyond the viewport if need be (the crate's own
/// `capture_screenshot` leaves `captureBeyondViewport` unset, which cuts a tall page at the window).
fn screenshot(tab: &Tab, (x, y, width, height): (f64, f64, f64, f64)) -> Vec<u8> {
    use base64::Engine as _;
    let shot = call::<Page::CaptureScreenshot>(
        tab,
        json!({"format": "png", "captureBeyondViewport": true,
               "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}}),
    );
    base64::engine::general_purpose::STANDARD
        .decode(shot.data)
        .expect("screenshot is base64")
}

/// Text as the report shows it: control characters as visible `\u{..}` escapes.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn js_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Debian's chromium, headless, with a throwaway profile; the crate finds a free DevTools port and closes the
/// browser when dropped.
fn launch(chromium: &Path) -> Browser {
    let options = LaunchOptions::default_builder()
        .path(Some(chromium.to_path_buf()))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1280, 900)))
        .idle_browser_timeout(Duration::from_secs(300))
        .args(
            [
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
            ]
            .map(std::ffi::OsStr::new)
            .to_vec(),
        )
        .build()
        .expect("launch options");
    Browser::new(options).unwrap_or_else(|e| panic!("{}: {e}", chromium.display()))
}
