//! Rendering of `snapdoc diff`: terminal, JSON, and the diff.md / diff.html templates.
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::escape::terminal as clean;
use super::templates::{self, Flavor};
use super::{ReportError, ReportFormat};
use crate::diff::{BundleDiff, Change, ChangeKind, counts_by_area};

/// Rules named per change in the Markdown, HTML and terminal views (those that fired first); the JSON
/// carries them all.
const RULES_SHOWN: usize = 6;
/// Changes detailed in Markdown and on the terminal: the ranking puts what matters first, and a ticket body
/// has a size limit. The rest are counted, and the JSON has them all.
const CHANGES_SHOWN: usize = 60;

/// Renders a diff. JUnit has no meaning for a diff and is refused.
pub fn render_diff(
    diff: &BundleDiff,
    format: ReportFormat,
    overrides: Option<&Path>,
) -> Result<String, ReportError> {
    match format {
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(diff).map_err(ReportError::Json)?;
            text.push('\n');
            Ok(text)
        }
        ReportFormat::Terminal { color } => Ok(terminal(diff, color)),
        ReportFormat::Html => render(diff, Flavor::Html, "diff.html", overrides),
        ReportFormat::Markdown => render(diff, Flavor::Markdown, "diff.md", overrides),
        ReportFormat::Junit => Err(ReportError::Unsupported("a diff has no JUnit form")),
    }
}

fn render(
    diff: &BundleDiff,
    flavor: Flavor,
    main: &str,
    overrides: Option<&Path>,
) -> Result<String, ReportError> {
    let files = templates::template_files(overrides)?;
    let registry = templates::registry_for(flavor, main, &files)?;
    let shown = match flavor {
        Flavor::Markdown => CHANGES_SHOWN,
        Flavor::Html => usize::MAX,
    };
    registry
        .render(main, &view(diff, shown))
        .map_err(|source| ReportError::Render {
            template: format!("{main}.hbs"),
            source: Box::new(source),
        })
}

/// What the templates see: the diff's sides and notes as in the JSON, the changes with their rule links
/// split into those that fired and the others.
fn view(diff: &BundleDiff, shown: usize) -> Value {
    let changes: Vec<Value> = diff.changes.iter().take(shown).map(change_view).collect();
    let areas: Vec<Value> = counts_by_area(diff)
        .into_iter()
        .map(|(area, count)| json!({"label": area.label(), "count": count}))
        .collect();
    json!({
        "toolVersion": diff.tool_version,
        "old": diff.old,
        "new": diff.new,
        "total": diff.changes.len(),
        "areas": areas,
        "changes": changes,
        "notShown": diff.changes.len().saturating_sub(shown),
        "notCompared": diff.not_compared,
        "unexplainedNewRules": diff.unexplained_new_rules,
    })
}

fn change_view(change: &Change) -> Value {
    let (fired, other) = rule_lists(change);
    json!({
        "rank": change.rank,
        "area": change.area_label,
        "subject": change.subject,
        "field": change.field,
        "kind": kind_word(change.kind),
        "old": change.old.as_deref().map(shown),
        "new": change.new.as_deref().map(shown),
        "firedRules": fired,
        "otherRules": other,
    })
}

/// (rules that fired in NEW, marked `new` when not in OLD; up to [`RULES_SHOWN`] others, the rest counted).
fn rule_lists(change: &Change) -> (Vec<String>, String) {
    let fired: Vec<String> = change
        .explains
        .iter()
        .filter(|l| l.fired_in_new)
        .map(|l| {
            if l.new_since_old {
                format!("{} (new)", l.id)
            } else {
                l.id.clone()
            }
        })
        .collect();
    let others: Vec<&str> = change
        .explains
        .iter()
        .filter(|l| !l.fired_in_new)
        .map(|l| l.id.as_str())
        .collect();
    let mut other = others
        .iter()
        .take(RULES_SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if others.len() > RULES_SHOWN {
        let _ = write!(other, " +{} more", others.len() - RULES_SHOWN);
    }
    (fired, other)
}

fn kind_word(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

/// An empty value (`--features=`) is a value, not an absence.
fn shown(value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_string()
    } else {
        value.to_string()
    }
}

fn value_text(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "—".to_string(), |v| clean(&shown(v)))
}

fn terminal(diff: &BundleDiff, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let side = |label: &str, side: &crate::diff::DiffSide| {
        format!(
            "{label} {} ({}, {}, {})",
            clean(&side.path),
            clean(&side.format),
            side.created.as_deref().map_or("date unknown".into(), clean),
            side.status
        )
    };
    let _ = writeln!(out, "{}", paint("1", "snapdoc diff"));
    let _ = writeln!(out, "  {}", side("OLD", &diff.old));
    let _ = writeln!(out, "  {}", side("NEW", &diff.new));
    if diff.changes.is_empty() {
        let _ = writeln!(out, "\nNo change in what was compared.");
    } else {
        let _ = writeln!(
            out,
            "\n{} change(s), the likeliest to break backups first:",
            diff.changes.len()
        );
    }
    for change in diff.changes.iter().take(CHANGES_SHOWN) {
        let what = if change.field.is_empty() {
            clean(&change.subject)
        } else {
            format!("{} {}", clean(&change.subject), clean(&change.field))
        };
        let values = match change.kind {
            ChangeKind::Changed => {
                format!("{} → {}", value_text(&change.old), value_text(&change.new))
            }
            ChangeKind::Added => format!("added: {}", value_text(&change.new)),
            ChangeKind::Removed => format!("removed: {}", value_text(&change.old)),
        };
        let _ = writeln!(
            out,
            "{:>3}. [{}] {}: {}",
            change.rank,
            change.area_label,
            paint("1", &what),
            values
        );
        let (fired, other) = rule_lists(change);
        if !fired.is_empty() {
            let _ = writeln!(
                out,
                "     {} {}",
                paint("1;31", "may explain findings:"),
                fired.join(", ")
            );
        }
        if !other.is_empty() {
            let _ = writeln!(
                out,
                "     {}",
                paint("2", &format!("related rules: {other}"))
            );
        }
    }
    if diff.changes.len() > CHANGES_SHOWN {
        let _ = writeln!(
            out,
            "… and {} more (all of them: --format json, md or html)",
            diff.changes.len() - CHANGES_SHOWN
        );
    }
    if !diff.unexplained_new_rules.is_empty() {
        let _ = writeln!(
            out,
            "\nNew in NEW with no compared change linked: {}",
            diff.unexplained_new_rules.join(", ")
        );
    }
    for note in &diff.not_compared {
        let _ = writeln!(out, "not compared: {}", clean(note));
    }
    out
}
