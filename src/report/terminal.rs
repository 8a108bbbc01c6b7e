//! The terminal summary: verdicts first, then one line per finding with a severity badge, then counts, then
//! where the full reports are. Colour is the caller's decision (TTY and NO_COLOR are known in main); the
//! badges carry the severity in words, so nothing is lost without colour.
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::analyze::Analysis;
use crate::analyze::findings::{Evidence, Finding, Severity, window};
use crate::analyze::readiness::Restorable;

use super::escape::terminal as clean;
use super::view::{
    kind_label, list_of, lost_lines, object_label, object_name, same_cause_groups, status_of,
};

/// Longest fix shown in the terminal; the reports carry the full text.
const FIX_CHARS: usize = 240;
/// Characters of a finding's log line shown around its match.
const EVIDENCE_CHARS: usize = 120;
/// Lines of what a verdict lost shown in the terminal; the rest are counted.
const LOST_LINES: usize = 3;

/// Names listed for verdicts with the same cause; the rest are counted.
const GROUP_NAMES: usize = 5;

struct Style {
    color: bool,
}

/// Where the full text of what the summary shortens is: the reports written beside it, else the command that
/// writes one (nothing points to a report that was not written).
fn full_text_in(analysis: &Analysis, reports: &[PathBuf]) -> String {
    if reports.is_empty() {
        format!(
            "`snapdoc analyze {} --format html`",
            shell_word(&clean(&analysis.bundle.path))
        )
    } else {
        IN_THE_REPORT.to_string()
    }
}

const IN_THE_REPORT: &str = "the report";

/// A path as one shell word: as it is when it holds only safe characters, else in single quotes.
fn shell_word(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "._-/:@%+=,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    fn badge(&self, severity: Severity) -> String {
        match severity {
            Severity::Fail => self.paint("1;31", "FAIL"),
            Severity::Warn => self.paint("1;33", "WARN"),
            Severity::Info => self.paint("1;36", "INFO"),
        }
    }
}

/// The summary of one or several analyses; `reports` are the files written (listed last).
pub fn terminal_summary(analyses: &[Analysis], color: bool, reports: &[PathBuf]) -> String {
    let style = Style { color };
    let mut out = String::new();
    for (index, analysis) in analyses.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        if analyses.len() > 1 {
            let _ = writeln!(
                out,
                "{}",
                style.bold(&format!("== {}", clean(&analysis.bundle.path)))
            );
        }
        write_one(&mut out, analysis, &style, &full_text_in(analysis, reports));
    }
    if !reports.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", style.bold("Reports:"));
        for path in reports {
            let _ = writeln!(out, "  {}", clean(&path.display().to_string()));
        }
    }
    out
}

/// `full`: where the full text is ("the report", or the command that writes it).
fn write_one(out: &mut String, analysis: &Analysis, style: &Style, full: &str) {
    if let Some(made_by) = &analysis.bundle.made_by {
        let dated = match (&analysis.bundle.created, &analysis.bundle.created_from) {
            (Some(created), Some(from)) => {
                format!(" Dated {} from {}.", clean(created), clean(from))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "Read a {} bundle made by {}.{dated}",
                clean(&analysis.bundle.format),
                clean(made_by)
            ))
        );
    }
    for also in &analysis.bundle.also_read {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "Also read {} ({}), the same cluster: {}.",
                clean(&also.path),
                clean(&also.made_by),
                clean(&also.reason)
            ))
        );
    }
    for problem in &analysis.bundle.problems {
        let _ = writeln!(
            out,
            "{}",
            style.paint("1;33", &format!("▲ Bundle problem: {}", clean(problem)))
        );
    }
    if analysis.bundle.not_redacted {
        let _ = writeln!(
            out,
            "{}",
            style.dim(
                "Not redacted by snapdoc: what is quoted here was redacted when analysed; the bundle itself may hold credentials."
            )
        );
    }
    let fails = count(analysis, Severity::Fail);
    let warns = count(analysis, Severity::Warn);
    let infos = count(analysis, Severity::Info);

    if analysis.verdicts.is_empty() {
        // The same headline as the reports'.
        let wording = status_of(analysis);
        let headline = clean(&wording.headline);
        let line = match wording.status {
            "healthy" => style.paint("1;32", &format!("✔ {headline}.")),
            "incomplete" => style.paint("1;33", &format!("▲ {headline}.")),
            _ => style.paint("1;31", &format!("{headline}.")),
        };
        let _ = writeln!(out, "{line}");
        if wording.status == "incomplete" {
            let _ = writeln!(
                out,
                "  Rules that needed it found nothing because they saw nothing: grant read access per \
                 docs/rbac.md and collect again."
            );
        }
    } else if !analysis.not_seen.is_empty() {
        // A failure found does not make the rest complete: what was not seen is said here too, as in the
        // other formats' status detail.
        let line = format!(
            "▲ Incomplete as well: snapdoc could not see {}.",
            clean(&list_of(&analysis.not_seen))
        );
        let _ = writeln!(out, "{}", style.paint("1;33", &line));
    }
    for group in same_cause_groups(&analysis.verdicts) {
        let first = group[0];
        let tone = if first.phase == "PartiallyFailed" {
            "1;33"
        } else {
            "1;31"
        };
        let heading = if group.len() == 1 {
            clean(&object_label(&first.target))
        } else {
            let names: Vec<String> = group
                .iter()
                .take(GROUP_NAMES)
                .map(|v| clean(&object_name(&v.target)))
                .collect();
            let more = match group.len().saturating_sub(GROUP_NAMES) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            format!(
                "{} {}s {}{more}",
                group.len(),
                clean(&kind_label(&first.target.kind)),
                names.join(", ")
            )
        };
        let _ = writeln!(
            out,
            "{} {} {}",
            style.paint(tone, "✖"),
            style.bold(&heading),
            style.paint(tone, &clean(&first.phase))
        );
        let _ = writeln!(out, "  {}", clean(&first.summary));
        // The terminal names the first few losses of one backup; the report lists every one of the group.
        let lost = lost_lines(first);
        for line in lost.iter().take(LOST_LINES) {
            let _ = writeln!(
                out,
                "  {} {}",
                style.bold("Lost:"),
                shorten(&clean(line), full)
            );
        }
        if lost.len() > LOST_LINES {
            let more = lost.len() - LOST_LINES;
            let _ = writeln!(
                out,
                "  {}",
                style.dim(&format!("{more} more lost: see {full}."))
            );
        }
        for line in &first.missing {
            let _ = writeln!(
                out,
                "  {} {}",
                style.bold("Missing:"),
                shorten(&clean(line), full)
            );
        }
        if group.len() > 1 {
            let others = group.len() - 1;
            let _ = writeln!(
                out,
                "  {}",
                style.dim(&format!(
                    "The same cause in the other {others}: see {full} for each."
                ))
            );
        }
        if let Some(fix) = &first.fix {
            let _ = writeln!(
                out,
                "  {} {}",
                style.bold("Fix:"),
                shorten(&clean(fix), full)
            );
        }
    }

    write_readiness(out, analysis, style);
    write_probes(out, analysis, style);
    if !analysis.findings.is_empty() {
        out.push('\n');
        for finding in &analysis.findings {
            let times = if finding.count > 1 {
                style.dim(&format!(" ({}×)", finding.count))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {} {}{times}",
                style.badge(finding.severity),
                style.dim(&clean(&finding.rule_id)),
                clean(&finding.title)
            );
            if let Some(line) = matched_line(finding, style) {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out.push('\n');
    let backups = analysis.backups.len();
    let _ = writeln!(
        out,
        "{} fail, {} warn, {} info; {} rule(s) found nothing; {} backup(s)/restore(s), {} failed",
        if fails > 0 {
            style.paint("1;31", &fails.to_string())
        } else {
            fails.to_string()
        },
        if warns > 0 {
            style.paint("1;33", &warns.to_string())
        } else {
            warns.to_string()
        },
        infos,
        analysis.checks_passed.len(),
        backups,
        analysis.verdicts.len()
    );
    if !analysis.collector_errors.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                "33",
                &format!(
                    "{} source(s) could not be collected: see {full}",
                    analysis.collector_errors.len()
                )
            )
        );
    }
    for related in analysis.verdicts.iter().flat_map(|v| v.finding_ids.iter()) {
        // Verdicts name findings by rule id; a dangling id means the analysis is inconsistent, and saying so
        // beats silently dropping it.
        if !analysis.findings.iter().any(|f| &f.rule_id == related) {
            let _ = writeln!(
                out,
                "{}",
                style.dim(&format!(
                    "(verdict refers to unknown finding {})",
                    clean(related)
                ))
            );
        }
    }
}

/// Readiness in a few lines: the summary (unless the headline already was it), how far the backups restore, and
/// the predictions that are not mere information.
/// One line per probed location (`--probe`), then what it reproduced, each with its rule.
fn write_probes(out: &mut String, analysis: &Analysis, style: &Style) {
    for probe in &analysis.probes {
        let location = clean(&probe.location());
        if let Some(error) = &probe.error {
            let _ = writeln!(
                out,
                "{} probe of {location} could not run: {}",
                style.badge(Severity::Warn),
                clean(error)
            );
        } else if probe.passed() {
            let _ = writeln!(
                out,
                "{} probe of {location}: Velero can list, write, read and delete",
                style.paint("1;32", "OK  ")
            );
        } else {
            let view = super::view::probe_view(probe);
            let failed: Vec<String> = view
                .checks
                .iter()
                .filter(|c| c.status == "failed")
                .map(|c| c.label.to_string())
                .collect();
            let _ = writeln!(
                out,
                "{} probe of {location}: {} failed",
                style.badge(Severity::Fail),
                failed.join(", ")
            );
            for sentence in view.reproduced {
                let _ = writeln!(out, "     {}", clean(&sentence));
            }
        }
    }
}

fn write_readiness(out: &mut String, analysis: &Analysis, style: &Style) {
    let readiness = &analysis.readiness;
    let headline_was_it =
        analysis.verdicts.is_empty() && status_of(analysis).headline.ends_with(&readiness.summary);
    if !readiness.known {
        let _ = writeln!(out, "{}", style.dim(&clean(&readiness.summary)));
        return;
    }
    if !headline_was_it {
        let _ = writeln!(
            out,
            "{} {}",
            style.bold("Readiness:"),
            clean(&readiness.summary)
        );
    }
    let count = |level: Restorable| {
        readiness
            .backups
            .iter()
            .filter(|b| b.restorable == level)
            .count()
    };
    let _ = writeln!(
        out,
        "  backups: {} restorable to a new cluster, {} in place only, {} partial, {} not restorable",
        count(Restorable::NewCluster),
        count(Restorable::InPlace),
        count(Restorable::Partial),
        count(Restorable::Not)
    );
    for prediction in readiness
        .predictions
        .iter()
        .filter(|p| p.severity != "info")
    {
        let (tone, mark) = if prediction.severity == "fail" {
            ("1;31", "✖")
        } else {
            ("1;33", "▲")
        };
        let _ = writeln!(
            out,
            "  {} {}",
            style.paint(tone, mark),
            clean(&prediction.text)
        );
    }
}

/// The first log line of a finding whose match is known, cut around the match, the match in bold when colour is on:
/// `      velero.log:1843  …NoSuchBucket: The specified bucket does not exist…`.
fn matched_line(finding: &Finding, style: &Style) -> Option<String> {
    finding.evidence.iter().find_map(|evidence| {
        let Evidence::LogLine {
            file,
            line,
            excerpt,
            span: Some(span),
            ..
        } = evidence
        else {
            return None;
        };
        let cut = window(excerpt, *span, EVIDENCE_CHARS);
        let file = file.rsplit('/').next().unwrap_or(file);
        Some(format!(
            "      {}  {}{}{}",
            style.dim(&clean(&format!("{file}:{line}"))),
            clean(&cut.before),
            style.paint("1;33", &clean(&cut.matched)),
            clean(&cut.after)
        ))
    })
}

fn count(analysis: &Analysis, severity: Severity) -> usize {
    analysis
        .findings
        .iter()
        .filter(|f| f.severity == severity)
        .count()
}

fn shorten(text: &str, full: &str) -> String {
    if text.chars().count() <= FIX_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(FIX_CHARS).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > FIX_CHARS / 2 => cut[..space].to_string(),
        _ => cut,
    };
    if full == IN_THE_REPORT {
        format!("{cut}… (full text in the report)")
    } else {
        format!("{cut}… (full text: {full})")
    }
}
