//! Markdown that fits where it is pasted: GitHub refuses an issue body over 65,536 characters, and a
//! cluster with thousands of backups would list every one of them. The Markdown details what failed and folds
//! the rest to counts (each fold says how many and of what, and where the full text is); the HTML and JSON
//! keep everything. [`cap`] is the guarantee behind the folding: whatever the input, the text stays under the
//! limit.
use std::collections::BTreeMap;

use super::view::{Document, EvidenceView, FindingView, ReportView};

/// GitHub's limit for an issue or comment body, in characters.
pub const MARKDOWN_LIMIT: usize = 65_536;

/// Rows of a table kept besides those that failed: the newest, for context.
const NEWEST_SHOWN: usize = 10;
/// Failed rows of the Backups table detailed at most; more are counted with the rest.
const FAILED_SHOWN: usize = 25;
/// Of the readiness tables, which say again what the Backups table and the verdicts said.
const READINESS_FAILED_SHOWN: usize = 10;
/// Names in a list (same-cause backups, objects a finding concerns).
const NAMES_SHOWN: usize = 10;
/// Verdict groups (one per cause and phase) and timelines detailed.
const GROUPS_SHOWN: usize = 12;
const TIMELINES_SHOWN: usize = 3;
/// Timeline entries kept: the first and last few, and those that read as errors.
const TIMELINE_ENDS: usize = 6;
const TIMELINE_ALARMING: usize = 16;
/// Examples of a finding's evidence.
const EVIDENCE_SHOWN: usize = 8;
/// Characters of an evidence line or a timeline text kept.
const EXCERPT_CHARS: usize = 320;

/// Folds every report of the document for Markdown.
pub(super) fn fold(document: &mut Document) {
    for report in &mut document.reports {
        fold_report(report);
    }
}

fn fold_report(report: &mut ReportView) {
    let folded = &mut report.folded;
    folded.backups = keep(
        &mut report.backups,
        (NEWEST_SHOWN, FAILED_SHOWN),
        |b| b.tone != "ok",
        |b| b.phase.as_deref().unwrap_or("no phase").to_string(),
        "backups and restores",
    );
    folded.restorable = keep(
        &mut report.readiness.backups,
        (NEWEST_SHOWN, READINESS_FAILED_SHOWN),
        |b| b.tone != "ok",
        |b| b.label.to_string(),
        "backups",
    );
    folded.volumes = keep(
        &mut report.readiness.volumes,
        (0, READINESS_FAILED_SHOWN),
        |v| v.tone != "ok",
        |v| v.protection_label.to_string(),
        "volumes",
    );
    if let Some(volumes) = report.volumes_not_backed_up.as_array_mut() {
        folded.not_backed_up = keep(
            volumes,
            (0, FAILED_SHOWN),
            |_| true,
            |v| v["volumeType"].as_str().unwrap_or("other").to_string(),
            "volumes not backed up",
        );
    }
    folded.verdicts = truncate_counted(&mut report.verdicts, GROUPS_SHOWN, "verdicts (causes)");
    for verdict in &mut report.verdicts {
        let others = truncate_counted(&mut verdict.others, NAMES_SHOWN, "with the same cause");
        let lost = truncate_counted(&mut verdict.lost, NAMES_SHOWN, "lines of what was lost");
        verdict.folded = join_notes([others, lost]);
    }
    for finding in &mut report.findings {
        fold_finding(finding);
    }
    for group in &mut report.severity_groups {
        for finding in &mut group.findings {
            fold_finding(finding);
        }
    }
    // "backup logs of failed backups: a, b, c …" names every one of them.
    for line in &mut report.unavailable {
        *line = shorten(line);
    }
    folded.timelines = truncate_counted(&mut report.timelines, TIMELINES_SHOWN, "timelines");
    for timeline in &mut report.timelines {
        let total = timeline.entries.len();
        let mut alarming = 0;
        let mut index = 0;
        timeline.entries.retain(|entry| {
            let end = index < TIMELINE_ENDS || index + TIMELINE_ENDS >= total;
            index += 1;
            let keep = end || (entry.alarming && alarming < TIMELINE_ALARMING);
            if keep && !end {
                alarming += 1;
            }
            keep
        });
        for entry in &mut timeline.entries {
            entry.text = shorten(&entry.text);
        }
        let left_out = total - timeline.entries.len();
        timeline.folded = (left_out > 0).then(|| {
            format!("{left_out} ordinary entries in between are left out (the first and last {TIMELINE_ENDS} and those that read as errors are kept).")
        });
    }
    let anything = [
        &folded.backups,
        &folded.restorable,
        &folded.volumes,
        &folded.not_backed_up,
        &folded.verdicts,
        &folded.timelines,
    ]
    .iter()
    .any(|note| note.is_some())
        || report.verdicts.iter().any(|v| v.folded.is_some())
        || report.findings.iter().any(|f| f.folded.is_some())
        || report.timelines.iter().any(|t| t.folded.is_some());
    if anything {
        let path = report.bundle["path"].as_str().unwrap_or("BUNDLE");
        folded.full_text = Some(full_text(path));
    }
}

/// Where what was folded can be read in full.
fn full_text(path: &str) -> String {
    format!(
        "This report details what failed and folds the rest to counts, to fit a GitHub issue ({} characters). \
         Everything is in the HTML report (report.html beside this file when `snapdoc run` wrote it) and in \
         `snapdoc analyze {path} --format html` or `--format json`.",
        thousands(MARKDOWN_LIMIT)
    )
}

fn fold_finding(finding: &mut FindingView) {
    let related = truncate_counted(&mut finding.related, NAMES_SHOWN, "objects");
    let targets = truncate_counted(&mut finding.per_target, NAMES_SHOWN, "per-object messages");
    finding.folded = join_notes([related, targets]);
    // Counted with the hits "not shown" the template already names.
    if finding.evidence.len() > EVIDENCE_SHOWN {
        finding.more += (finding.evidence.len() - EVIDENCE_SHOWN) as u64;
        finding.evidence.truncate(EVIDENCE_SHOWN);
    }
    for evidence in &mut finding.evidence {
        shorten_evidence(evidence);
    }
}

fn shorten_evidence(evidence: &mut EvidenceView) {
    // A log line is cut around its match, which stays in view; other excerpts keep their start.
    if evidence.narrow(EXCERPT_CHARS) {
        return;
    }
    if let Some(excerpt) = &mut evidence.excerpt {
        *excerpt = shorten(excerpt);
    }
}

/// The first [`EXCERPT_CHARS`] characters and how many more there are.
fn shorten(text: &str) -> String {
    let count = text.chars().count();
    if count <= EXCERPT_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(EXCERPT_CHARS).collect();
    format!("{head} … ({} more characters)", count - EXCERPT_CHARS)
}

/// Keeps the first `newest` rows and the first `important_max` `important` ones, in order; the rest are
/// counted by `label`: "290 more backups not listed: 288 Completed, 2 Deleting".
fn keep<T>(
    rows: &mut Vec<T>,
    (newest, important_max): (usize, usize),
    important: impl Fn(&T) -> bool,
    label: impl Fn(&T) -> String,
    what: &str,
) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept_important = 0;
    let mut index = 0;
    rows.retain(|row| {
        let keep = if index < newest {
            true
        } else if important(row) && kept_important < important_max {
            kept_important += 1;
            true
        } else {
            false
        };
        index += 1;
        if !keep {
            *counts.entry(label(row)).or_default() += 1;
        }
        keep
    });
    let total: usize = counts.values().sum();
    if total == 0 {
        return None;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = counts
        .iter()
        .map(|(label, count)| format!("{} {label}", thousands(*count)))
        .collect();
    let more = if rows.is_empty() { "" } else { "more " };
    Some(format!(
        "{} {more}{what} not listed: {}.",
        thousands(total),
        parts.join(", ")
    ))
}

/// Keeps the first `shown` items; "and 12 more {what}" for the rest.
fn truncate_counted<T>(items: &mut Vec<T>, shown: usize, what: &str) -> Option<String> {
    let more = items.len().checked_sub(shown).filter(|more| *more > 0)?;
    items.truncate(shown);
    Some(format!("…and {} more {what}.", thousands(more)))
}

fn join_notes<const N: usize>(notes: [Option<String>; N]) -> Option<String> {
    let notes: Vec<String> = notes.into_iter().flatten().collect();
    (!notes.is_empty()).then(|| notes.join(" "))
}

fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The guarantee: Markdown over [`MARKDOWN_LIMIT`] characters is cut at the last line that fits, with a note
/// saying so and where the rest is. The folding above keeps real reports far below it; this holds whatever
/// the bundle holds (a thousand findings of custom rules, a very long message).
pub(super) fn cap(text: String, paths: &[&str]) -> String {
    if text.chars().count() < MARKDOWN_LIMIT {
        return text;
    }
    let where_ = match paths {
        [path] => format!("`snapdoc analyze {path} --format html`"),
        _ => "the HTML report (`--format html`)".to_string(),
    };
    let note = format!(
        "\n\n---\n**This report was cut here to fit a GitHub issue ({} characters).** The whole report: {where_}, \
         or `--format json`.\n",
        thousands(MARKDOWN_LIMIT)
    );
    let budget = MARKDOWN_LIMIT - 1 - note.chars().count();
    let mut used = 0;
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        let chars = line.chars().count();
        if used + chars > budget {
            break;
        }
        used += chars;
        end += line.len();
    }
    let mut cut = text[..end].to_string();
    // An open <details> would fold the note away.
    if cut.matches("<details>").count() > cut.matches("</details>").count() {
        cut.push_str("\n</details>\n");
    }
    let cut = if cut.chars().count() + note.chars().count() >= MARKDOWN_LIMIT {
        // The closing tag pushed it over: drop lines until it fits.
        let mut shorter = cut;
        while shorter.chars().count() + note.chars().count() >= MARKDOWN_LIMIT {
            let at = shorter.trim_end().rfind('\n').unwrap_or(0);
            shorter.truncate(at);
        }
        shorter
    } else {
        cut
    };
    cut + &note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_details_the_newest_and_the_failed_and_counts_the_rest() {
        let mut rows: Vec<(usize, &str)> = (0..100)
            .map(|i| (i, if i % 30 == 29 { "Failed" } else { "Completed" }))
            .collect();
        let note = keep(
            &mut rows,
            (5, 2),
            |r| r.1 == "Failed",
            |r| r.1.to_string(),
            "backups",
        );
        // Failed rows are 29, 59, 89: two detailed, the third counted with the rest.
        assert_eq!(rows.len(), 5 + 2);
        assert_eq!(rows.iter().filter(|r| r.1 == "Failed").count(), 2);
        assert_eq!(
            note.as_deref(),
            Some("93 more backups not listed: 92 Completed, 1 Failed.")
        );
    }

    #[test]
    fn cap_cuts_at_a_line_and_says_where_the_rest_is() {
        let text = "<details>\n".to_string() + &"a line of the report\n".repeat(10_000);
        let cut = cap(text, &["b.zip"]);
        assert!(cut.chars().count() < MARKDOWN_LIMIT);
        assert!(cut.contains("</details>"));
        assert!(cut.ends_with("or `--format json`.\n"));
        assert!(cut.contains("`snapdoc analyze b.zip --format html`"));
        let short = "short\n".to_string();
        assert_eq!(cap(short.clone(), &[]), short);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(5_000), "5,000");
        assert_eq!(thousands(65_536), "65,536");
        assert_eq!(thousands(12), "12");
    }
}
