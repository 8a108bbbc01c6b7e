//! What the analysis produces: findings, verdicts and the environment they are read against.
//! These types are the JSON report's schema (`schemaVersion` in [`Analysis`]); change them only additively.
use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Warn < Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information: nothing to fix.
    Info,
    /// Worth fixing: backups may fail or lose data.
    Warn,
    /// Backups or restores fail.
    Fail,
}

impl Severity {
    /// `info`, `warn` or `fail`, as the JSON and `--fail-on` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }
}

/// What a finding is to a verdict: a specific cause, or a generic state ("a pod volume backup failed", "the
/// location is unavailable") that a specific cause linked to the same backup always leads over, whatever the
/// severities. A rule's `role` (docs/rules.md), `cause` unless it says otherwise.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A specific cause: the verdict names it.
    #[default]
    Cause,
    /// A generic state that a cause linked to the same backup leads over.
    Symptom,
}

impl Role {
    fn is_cause(&self) -> bool {
        *self == Role::Cause
    }
}

/// A Kubernetes object named by kind (resource plural, e.g. `backups.velero.io`), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// The resource plural (`backups.velero.io`, `pods`).
    pub kind: String,
    /// The namespace, for a namespaced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

/// Why a finding was raised: a log line or an object field in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Evidence {
    /// `file` is the bundle entry path, `line` 1-based; `excerpt` the line (a line over 2,000 characters is cut
    /// around the match, `…` marking each cut); `match` where the rule's pattern matched in `excerpt`.
    #[serde(rename_all = "camelCase")]
    LogLine {
        /// The bundle entry path.
        file: String,
        /// The 1-based line number.
        line: u64,
        /// The line, possibly shortened (redacted).
        excerpt: String,
        /// The line's own time, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<String>,
        /// Where the rule's pattern matched in `excerpt`.
        #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
        span: Option<MatchSpan>,
    },
    /// An object and, where the rule tested one, the path and the value found there.
    #[serde(rename_all = "camelCase")]
    Object {
        /// The object.
        object: ObjectRef,
        /// The field tested (`status.phase`), when the rule tested one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// The value found there (redacted).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    /// Versions compared by a compatibility rule.
    #[serde(rename_all = "camelCase")]
    Versions {
        /// The component checked (`velero-plugin-for-aws`).
        subject: String,
        /// Its version.
        subject_version: String,
        /// The component it is checked against (`velero`).
        against: String,
        /// That component's version.
        against_version: String,
        /// The versions the compatibility table supports, in words.
        supported: String,
    },
}

/// Where a rule's pattern matched in an excerpt: offsets in characters (Unicode scalar values), `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchSpan {
    /// The match's first character.
    pub start: usize,
    /// The character after the match's last.
    pub end: usize,
}

/// A window of a text around a match: `before` and `after` start / end with `…` where the text was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) before: String,
    pub(crate) matched: String,
    pub(crate) after: String,
}

impl Window {
    /// The window as one text, and where the match is in it.
    pub(crate) fn joined(&self) -> (String, MatchSpan) {
        let start = self.before.chars().count();
        let end = start + self.matched.chars().count();
        (
            format!("{}{}{}", self.before, self.matched, self.after),
            MatchSpan { start, end },
        )
    }
}

/// At most `max` characters of `text` (besides the `…` of each cut) around `span` (character offsets, clamped to
/// the text): the match always shown (its first `max` characters when it is longer), the context split evenly on
/// both sides and what one side does not use given to the other.
pub(crate) fn window(text: &str, span: MatchSpan, max: usize) -> Window {
    // Byte offset of every character boundary, the text's end included.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let n = bounds.len() - 1;
    let end = span.end.min(n);
    let start = span.start.min(end);
    let (from, to, match_to) = if n <= max {
        (0, n, end)
    } else if end - start >= max {
        (start, start + max, start + max)
    } else {
        let room = max - (end - start);
        let mut left = room / 2;
        let mut right = room - left;
        if start < left {
            right += left - start;
            left = start;
        }
        if n - end < right {
            left = (left + right - (n - end)).min(start);
            right = n - end;
        }
        (start - left, end + right, end)
    };
    let cut = |a: usize, b: usize| &text[bounds[a]..bounds[b]];
    Window {
        before: format!("{}{}", if from > 0 { "…" } else { "" }, cut(from, start)),
        matched: cut(start, match_to).to_string(),
        after: format!("{}{}", cut(match_to, to), if to < n { "…" } else { "" }),
    }
}

/// What one rule found in the bundle: its hits, what they mean and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule's id (`SD106`).
    pub rule_id: String,
    /// The rule's kebab-case name.
    pub rule_name: String,
    /// log | object | compat: the kind of evidence; a log signature names a cause more precisely than a phase.
    pub match_kind: String,
    /// How bad it is.
    pub severity: Severity,
    /// `symptom` for a generic state; absent for a cause.
    #[serde(default, skip_serializing_if = "Role::is_cause")]
    pub role: Role,
    /// The rule's category (`storage`, `node-agent` …).
    pub category: String,
    /// The rule's title.
    pub title: String,
    /// The rule's message rendered with the first hit's variables.
    pub message: String,
    /// Why this happens.
    pub cause: String,
    /// What to do about it.
    pub fix: String,
    /// Links to the Velero / KOTS documentation or issues on it.
    #[serde(default)]
    pub docs: Vec<String>,
    /// A few examples (the first ones found); `count` says how many hits there were in all.
    pub evidence: Vec<Evidence>,
    /// How many hits there were in all.
    pub count: u64,
    /// The earliest hit's time, when the hits have times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The latest hit's time, when the hits have times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Backups / restores this finding concerns.
    #[serde(default)]
    pub related: Vec<ObjectRef>,
    /// Per backup, restore, backup storage location, component container (`facts.components`) or repository the
    /// hits concern: the message rendered with the first hit concerning that object, and its own count and
    /// times. A verdict reads its target's detail (or the linked object's), not `message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetDetail>,
}

/// What a finding says about one object it concerns (see [`Finding::targets`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetDetail {
    /// The backup, restore, location, container or repository.
    pub target: ObjectRef,
    /// The rule's message rendered with the first hit concerning it.
    pub message: String,
    /// How many hits concern it.
    pub count: u64,
    /// The earliest of those hits' times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The latest of those hits' times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// "Backup X failed because …": one per failed, partially failed, invalid or stuck backup / restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The backup or restore.
    pub target: ObjectRef,
    /// Its phase (`Failed`, `PartiallyFailed`, `InProgress` for a stuck one …).
    pub phase: String,
    /// One sentence: the most specific finding's message, or the object's own failure reason.
    pub summary: String,
    /// Findings that concern the target, most specific first.
    pub finding_ids: Vec<String>,
    /// The leading finding's fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What the failure cost: volumes and namespaces without a restorable copy from this backup.
    #[serde(default, skip_serializing_if = "Lost::is_empty")]
    pub lost: Lost,
    /// When no finding explains the failure: what snapdoc would need to tell the cause (a log it could not
    /// download, and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// What a failed, partially failed or stuck backup does not hold (verdicts/lost.rs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lost {
    /// Namespaces with no restorable copy from this backup, or that a failed restore did not restore (`*`:
    /// every namespace); empty for a partially failed one, which holds (restored) the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Volumes whose data the backup does not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<LostVolume>,
    /// Items Velero recorded errors for in the results (`namespace: error`, `cluster: error`), the first few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// How many item errors the results hold in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub item_count: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Lost {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.volumes.is_empty() && self.items.is_empty()
    }
}

/// A volume a backup or restore failed to move: its pod volume backup / restore's or data mover's pod, claim,
/// volume and node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LostVolume {
    /// The pod's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The pod whose volume it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The volume's name in the pod spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// The PersistentVolumeClaim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// The node the transfer ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// fs-backup (a PodVolumeBackup / PodVolumeRestore) | data-mover (a DataUpload / DataDownload) |
    /// csi-snapshot | native-snapshot | none (skipped), the last three from Velero's volume info.
    pub method: String,
    /// The PodVolumeBackup / DataUpload's phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Its status.message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize) -> MatchSpan {
        MatchSpan { start, end }
    }

    #[test]
    fn a_short_text_is_not_cut() {
        let cut = window("abc MATCH def", span(4, 9), 100);
        assert_eq!(
            (
                cut.before.as_str(),
                cut.matched.as_str(),
                cut.after.as_str()
            ),
            ("abc ", "MATCH", " def")
        );
    }

    #[test]
    fn a_long_text_is_cut_on_both_sides_around_the_match() {
        let text = format!("{}MATCH{}", "a".repeat(100), "z".repeat(100));
        let cut = window(&text, span(100, 105), 25);
        assert_eq!(cut.before, format!("…{}", "a".repeat(10)));
        assert_eq!(cut.matched, "MATCH");
        assert_eq!(cut.after, format!("{}…", "z".repeat(10)));
        let (joined, at) = cut.joined();
        assert_eq!(
            joined
                .chars()
                .skip(at.start)
                .take(at.end - at.start)
                .collect::<String>(),
            "MATCH"
        );
    }

    #[test]
    fn context_one_side_lacks_goes_to_the_other() {
        let text = format!("ab MATCH{}", "z".repeat(100));
        let cut = window(&text, span(3, 8), 25);
        assert_eq!(cut.before, "ab ");
        assert_eq!(cut.after, format!("{}…", "z".repeat(17)));
        let text = format!("{}MATCH z", "a".repeat(100));
        let cut = window(&text, span(100, 105), 25);
        assert_eq!(cut.before, format!("…{}", "a".repeat(18)));
        assert_eq!(cut.after, " z");
    }

    #[test]
    fn a_match_longer_than_the_window_shows_its_start_and_multibyte_text_is_cut_on_characters() {
        let text = format!("ééé{}ééé", "M".repeat(50));
        let cut = window(&text, span(3, 53), 10);
        assert_eq!(cut.before, "…");
        assert_eq!(cut.matched, "M".repeat(10));
        assert_eq!(cut.after, "…");
        let cut = window("éé→ü←éé", span(3, 4), 3);
        assert_eq!(
            (
                cut.before.as_str(),
                cut.matched.as_str(),
                cut.after.as_str()
            ),
            ("…→", "ü", "←…")
        );
        // Offsets past the end are clamped.
        let cut = window("abc", span(2, 99), 10);
        assert_eq!(cut.matched, "c");
    }
}
