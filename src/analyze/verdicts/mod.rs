//! Verdicts: "backup X failed because …", from the findings on it, most specific first; what it lost, and what
//! is missing when no finding explains it.
//!
//! - `context`: the objects around each backup (volumes, nodes, repositories, containers), read once
//! - `links`: findings linked to a backup by what their evidence names
//! - `stuck`: backups and restores past the time Velero allows their phase
//! - `lost`: the volumes and namespaces a failure cost
pub(crate) mod context;
mod links;
mod lost;
mod stuck;

use std::cmp::Ordering;

use super::analysis::BackupSummary;
use super::engine::logs::LOCATION_KIND;
use super::environment::is_failed;
use super::findings::{Finding, ObjectRef, Role, Severity, TargetDetail, Verdict};
pub(crate) use context::VerdictContext;
use jiff::{SignedDuration, Timestamp};
use links::{Link, Subjects, Told};

/// How many failed or stuck backups / restores get a verdict: the most recent ones matter, older ones repeat them.
pub const MAX_VERDICTS: usize = 10;

/// The Kubernetes resource a summary's kind names.
pub(crate) fn resource_of(summary: &BackupSummary) -> &'static str {
    match &*summary.kind {
        "restore" => "restores.velero.io",
        _ => "backups.velero.io",
    }
}

/// The object a backup / restore summary stands for.
pub(crate) fn object_ref(summary: &BackupSummary) -> ObjectRef {
    ObjectRef {
        kind: resource_of(summary).to_string(),
        namespace: summary.namespace.as_deref().map(str::to_string),
        name: summary.name.clone(),
    }
}

/// How far before a backup's start and after its completion evidence that does not name the backup (its
/// storage location's, store-wide) still counts for it: Velero validates a location every minute and retries a
/// failing call for a few minutes, so the lines of one failure spread that far around the backup they broke.
pub(crate) const TIME_SLACK: SignedDuration = SignedDuration::from_mins(15);

/// One verdict per failed, partially failed or invalid backup / restore (the `MAX_VERDICTS` most recent),
/// newest first. `backups` is newest first, as [`super::facts::BundleFacts::backups`] is. Without the bundle's
/// time, evidence without a time of its own is taken as in every backup's window ([`verdicts_at`]).
pub fn verdicts(findings: &[Finding], backups: &[BackupSummary]) -> Vec<Verdict> {
    verdicts_in(findings, backups, None, &VerdictContext::default())
}

/// [`verdicts`], with `now` the bundle's creation time: evidence that does not name a backup counts for it only
/// inside [start − slack, completion + slack] (`TIME_SLACK`); an object's state without a time of its own
/// (a location Unavailable now) is the state at `now`. An error that began after a backup finished never explains
/// it.
pub fn verdicts_at(
    findings: &[Finding],
    backups: &[BackupSummary],
    now: Option<Timestamp>,
) -> Vec<Verdict> {
    verdicts_in(findings, backups, now, &VerdictContext::default())
}

/// [`verdicts_at`], with what the bundle says around each backup: evidence naming its volumes, their pods and
/// nodes, its repositories, or a velero / node-agent container that ran it in its window is linked to it;
/// backups and restores stuck past their phase's timeout at `now` get a verdict too; each verdict says what
/// was lost and, when nothing explains the failure, what is missing to know why.
pub(crate) fn verdicts_in(
    findings: &[Finding],
    backups: &[BackupSummary],
    now: Option<Timestamp>,
    context: &VerdictContext,
) -> Vec<Verdict> {
    backups
        .iter()
        .filter_map(|summary| {
            let stuck = now.and_then(|now| stuck::stuck(summary, context, now));
            (is_failed(summary.phase.as_deref()) || stuck.is_some()).then_some((summary, stuck))
        })
        .take(MAX_VERDICTS)
        .map(|(summary, stuck)| verdict(findings, backups, summary, now, context, stuck))
        .collect()
}

/// When a backup / restore ran, widened by [`TIME_SLACK`]; `None` when its start is unknown (nothing can be
/// ruled out by time then). One that never started (stuck New) has waited since it was created; one without a
/// completion time ran until `now` as far as the bundle knows.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Timestamp,
    to: Option<Timestamp>,
    now: Option<Timestamp>,
    /// Its start (or creation) and completion (or `now`), without slack.
    start: Timestamp,
    end: Option<Timestamp>,
}

/// How long before a backup's start a node's trouble still counts for it: a node under pressure for minutes
/// before the node agent picked up its volumes is the node it ran on.
pub(crate) const NODE_EVENT_LEAD: SignedDuration = SignedDuration::from_mins(5);

impl Window {
    fn of(
        summary: &BackupSummary,
        created: Option<Timestamp>,
        now: Option<Timestamp>,
    ) -> Option<Window> {
        let parse = |t: &Option<String>| t.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
        let start = parse(&summary.started).or(created)?;
        let from = start.checked_sub(TIME_SLACK).ok()?;
        let end = parse(&summary.completed).or(now);
        let to = end.and_then(|t| t.checked_add(TIME_SLACK).ok());
        Some(Window {
            from,
            to,
            now,
            start,
            end,
        })
    }

    /// Whether a node's event seen from `first` to `last` happened while the backup ran: inside [start −
    /// `NODE_EVENT_LEAD`, completion], begun no later than the backup ended and still seen at or after that
    /// start. An event without a time cannot be placed and never counts.
    fn holds_node_event(&self, first: Option<&str>, last: Option<&str>) -> bool {
        let parse = |t: Option<&str>| t.and_then(|t| t.parse::<Timestamp>().ok());
        let (first, last) = match (parse(first), parse(last)) {
            (Some(first), Some(last)) => (first, last),
            (Some(one), None) | (None, Some(one)) => (one, one),
            (None, None) => return false,
        };
        let lead = self
            .start
            .checked_sub(NODE_EVENT_LEAD)
            .unwrap_or(self.start);
        self.end.is_none_or(|end| first <= end) && last >= lead
    }

    /// Whether evidence seen from `first` to `last` (none: an object's state at `now`) overlaps the window.
    fn holds(&self, first: Option<&str>, last: Option<&str>) -> bool {
        let parse = |t: Option<&str>| t.and_then(|t| t.parse::<Timestamp>().ok());
        let (first, last) = match (parse(first), parse(last)) {
            (Some(first), Some(last)) => (first, last),
            (Some(one), None) | (None, Some(one)) => (one, one),
            (None, None) => match self.now {
                Some(now) => (now, now),
                None => return true,
            },
        };
        last >= self.from && self.to.is_none_or(|to| first <= to)
    }

    /// Whether what a component finding tells counts: a container's last end inside the window (unknown
    /// when: it does not), its state at the bundle's time when the window reaches it.
    fn holds_container(&self, link: &Link) -> bool {
        match *link {
            // A node's time is its detail's, read once the detail is chosen (`holds_node_event`).
            Link::Named | Link::Node => true,
            Link::Component(Told::Ended(at)) => {
                at.is_some_and(|at| at >= self.from && self.to.is_none_or(|to| at <= to))
            }
            Link::Component(Told::Now) => self.holds(None, None),
        }
    }
}

/// Categories of findings that break every backup written through the affected store: a backup that Failed is
/// read against them even when their hits name no backup (a server log line, a storage location's state).
pub(crate) const BACKUP_BREAKING_CATEGORIES: [&str; 4] = [
    "storage-location",
    "bucket-endpoint",
    "credentials",
    "certificates",
];

/// How directly a finding concerns a verdict's target, closest first: the cause chain runs from the backup itself
/// to the storage location it writes to, then to cluster-wide store problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Own,
    /// Through its volumes, their pods and nodes, its repositories, or a container that ran it (links.rs).
    Linked,
    Location,
    Global,
}

/// A finding as it bears on one verdict: how it reaches the target and what it says about it.
struct Candidate<'f> {
    finding: &'f Finding,
    role: Role,
    reach: Reach,
    message: &'f str,
    count: u64,
    /// When the evidence concerning the target was seen (none: an object's state, at the bundle's time).
    first_seen: Option<&'f str>,
    last_seen: Option<&'f str>,
}

impl<'f> Candidate<'f> {
    fn of_detail(finding: &'f Finding, reach: Reach, detail: &'f TargetDetail) -> Candidate<'f> {
        Candidate {
            finding,
            role: finding.role,
            reach,
            message: &detail.message,
            count: detail.count,
            first_seen: detail.first_seen.as_deref(),
            last_seen: detail.last_seen.as_deref(),
        }
    }

    fn of_finding(finding: &'f Finding, reach: Reach) -> Candidate<'f> {
        Candidate {
            finding,
            role: finding.role,
            reach,
            message: &finding.message,
            count: finding.count,
            first_seen: finding.first_seen.as_deref(),
            last_seen: finding.last_seen.as_deref(),
        }
    }
}

fn verdict(
    findings: &[Finding],
    backups: &[BackupSummary],
    summary: &BackupSummary,
    now: Option<Timestamp>,
    context: &VerdictContext,
    stuck: Option<String>,
) -> Verdict {
    let target = object_ref(summary);
    let created = context
        .spec(&summary.kind, &summary.name)
        .and_then(|s| s.created);
    let window = Window::of(summary, created, now);
    let location = storage_location_of(summary, backups);
    let subjects = Subjects::of(summary, location.as_ref(), context);
    let failed_outright = matches!(
        summary.phase.as_deref(),
        Some("Failed" | "FailedValidation")
    );
    let in_window = |link: &Link| window.is_none_or(|w| w.holds_container(link));
    let mut candidates: Vec<Candidate<'_>> = findings
        .iter()
        .filter_map(|finding| {
            candidate(finding, &target, location.as_ref(), failed_outright).or_else(|| {
                let (link, object) = subjects.link(finding, in_window)?;
                if link == Link::Node {
                    // Of the node's details (one per event), one seen while the backup ran; none: it does
                    // not concern the backup, however bad it was.
                    let node = object?;
                    let detail = finding.targets.iter().find(|d| {
                        d.target == *node
                            && window.is_none_or(|w| {
                                w.holds_node_event(d.first_seen.as_deref(), d.last_seen.as_deref())
                            })
                    })?;
                    return Some(Candidate::of_detail(finding, Reach::Linked, detail));
                }
                let detail =
                    object.and_then(|object| finding.targets.iter().find(|d| d.target == *object));
                Some(match detail {
                    Some(detail) => Candidate::of_detail(finding, Reach::Linked, detail),
                    None => Candidate::of_finding(finding, Reach::Linked),
                })
            })
        })
        .filter(|c| {
            c.reach <= Reach::Linked || window.is_none_or(|w| w.holds(c.first_seen, c.last_seen))
        })
        .collect();
    candidates.sort_by(|a, b| specificity(a, b));
    let phase = summary.phase.as_deref().unwrap_or("New").to_string();
    let lost = lost::lost(summary, context);
    // Generic states say that it failed, not why: with nothing else, the cause is unknown.
    let cause_known = candidates.iter().any(|c| c.role == Role::Cause);
    let missing = if cause_known {
        Vec::new()
    } else {
        missing(summary, context, stuck.is_some())
    };
    match candidates.first() {
        Some(top) => Verdict {
            // A stuck one's phase alone does not say it is stuck: the verdict says so before its cause.
            summary: match &stuck {
                Some(stuck) => format!("{stuck} {}", top.message),
                None => top.message.to_string(),
            } + &timeout_told(top, context)
                + &store_told(top, location.as_ref(), context),
            fix: Some(with_store(
                with_names(&top.finding.fix, &target, location.as_ref(), context),
                top,
                location.as_ref(),
                context,
            ))
            .filter(|f| !f.trim().is_empty()),
            finding_ids: candidates
                .iter()
                .map(|c| c.finding.rule_id.clone())
                .collect(),
            target,
            phase,
            lost,
            missing,
        },
        None => Verdict {
            missing,
            summary: stuck.unwrap_or_else(|| own_reason(summary)),
            fix: None,
            finding_ids: Vec::new(),
            target,
            phase,
            lost,
        },
    }
}

/// Rules whose finding is a timeout, and the flag that set it: a verdict they lead says how long that was.
const TIMEOUT_FLAGS: [(&str, &str); 3] = [
    ("SD501", "--fs-backup-timeout"),
    ("SD502", "--fs-backup-timeout"),
    ("SD451", "--data-mover-prepare-timeout"),
];

/// " It timed out after the server's 4h --fs-backup-timeout.", when the leading finding is a timeout whose
/// flag the bundle tells (and its message does not already name it); else nothing.
fn timeout_told(top: &Candidate<'_>, context: &VerdictContext) -> String {
    let Some((_, flag)) = TIMEOUT_FLAGS
        .iter()
        .find(|(rule, _)| *rule == top.finding.rule_id)
    else {
        return String::new();
    };
    let Some(setting) = crate::analyze::facts::settings::setting(&context.settings, flag) else {
        return String::new();
    };
    let Some(value) = setting.value.as_deref() else {
        return String::new();
    };
    if top.message.contains(flag) {
        return String::new();
    }
    let whose = match setting.component.as_str() {
        "velero" => "the server's",
        _ => "the node-agent's",
    };
    let default = if setting.is_default {
        " (Velero's default)"
    } else {
        ""
    };
    format!(" It timed out after {whose} {value} {flag}{default}.")
}

/// Rules whose finding is an object store out of space: a verdict they lead names the in-cluster store and the
/// claim it fills, when the location's store runs in the cluster.
const STORE_FULL_RULES: [&str; 1] = ["SD118"];

/// The in-cluster store of the verdict's location, when the leading finding says a store is full.
fn full_store<'c>(
    top: &Candidate<'_>,
    location: Option<&ObjectRef>,
    context: &'c VerdictContext,
) -> Option<&'c context::InClusterStore> {
    if !STORE_FULL_RULES.contains(&top.finding.rule_id.as_str()) {
        return None;
    }
    context.locations.get(&location?.name)?.store.as_ref()
}

/// " The location's object store runs in the cluster: Service minio in namespace minio, on claim
/// minio/minio-pv-claim (10Gi, storage class local).", when the leading finding is a full store and the
/// location's store is one of the cluster's; else nothing.
fn store_told(
    top: &Candidate<'_>,
    location: Option<&ObjectRef>,
    context: &VerdictContext,
) -> String {
    let (Some(store), Some(location)) = (full_store(top, location, context), location) else {
        return String::new();
    };
    format!(
        " The object store of location {} runs in the cluster: {}.",
        location.name,
        store.describe()
    )
}

/// The fix with the in-cluster store's namespace for `<ns>`, when [`full_store`] knows it.
fn with_store(
    fix: String,
    top: &Candidate<'_>,
    location: Option<&ObjectRef>,
    context: &VerdictContext,
) -> String {
    match full_store(top, location, context) {
        Some(store) => fix.replace("<ns>", &store.namespace),
        None => fix,
    }
}

/// What snapdoc would need to tell why a backup / restore that no cause explains failed.
fn missing(summary: &BackupSummary, context: &VerdictContext, stuck: bool) -> Vec<String> {
    let kind = &*summary.kind;
    let name = &summary.name;
    let mut missing = Vec::new();
    let validated_only = summary.phase.as_deref() == Some("FailedValidation");
    // Velero uploads a backup's log when it ends: a stuck one has none yet.
    if !summary.log_available && !validated_only && !stuck {
        let how = format!("`velero {kind} logs {name}` prints it");
        missing.push(
            match (
                context.log_errors.get(&format!("{kind}/{name}")),
                &context.logs_not_tried,
            ) {
                (Some(reason), _) => {
                    format!("its {kind} log: the collector could not download it ({reason}); {how}")
                }
                (None, Some(reason)) => {
                    format!("its {kind} log: the collector did not download it ({reason}); {how}")
                }
                (None, None) => match context.bundle_format.as_deref() {
                    Some(format @ ("troubleshoot" | "velero-debug")) => {
                        format!("its {kind} log: this {format} bundle does not hold it; {how}")
                    }
                    _ => format!("its {kind} log: it is not in the bundle; {how}"),
                },
            },
        );
    } else if summary.log_available && !stuck {
        missing.push(format!(
            "a rule for what its log says: no rule names a cause in it; read `velero {kind} logs {name}` and \
             `velero {kind} describe {name} --details`"
        ));
    }
    if stuck && !context.containers.iter().any(|c| c.component == "velero") {
        missing.push(
            "the velero server's pod status: the bundle holds no velero pod, so whether it restarted or hangs \
             is unknown"
                .to_string(),
        );
    }
    missing
}

/// The storage location a backup writes to, or a restore reads from (its backup's). Velero fills in
/// `spec.storageLocation` with the default location when a backup is created; an object without one is read as
/// written to the location Velero installs by default, `default`.
fn storage_location_of(summary: &BackupSummary, backups: &[BackupSummary]) -> Option<ObjectRef> {
    let name = if &*summary.kind == "restore" {
        summary.storage_location.as_deref().or_else(|| {
            let backup = summary.backup_name.as_deref()?;
            backups
                .iter()
                .find(|b| &*b.kind != "restore" && b.name == backup)
                .and_then(|b| b.storage_location.as_deref())
        })?
    } else {
        summary.storage_location.as_deref().unwrap_or("default")
    }
    .to_string();
    Some(ObjectRef {
        kind: LOCATION_KIND.to_string(),
        namespace: summary.namespace.as_deref().map(str::to_string),
        name,
    })
}

fn candidate<'f>(
    finding: &'f Finding,
    target: &ObjectRef,
    location: Option<&ObjectRef>,
    failed_outright: bool,
) -> Option<Candidate<'f>> {
    let detail = |object: &ObjectRef| finding.targets.iter().find(|d| concerns(&d.target, object));
    if let Some(detail) = detail(target) {
        return Some(Candidate::of_detail(finding, Reach::Own, detail));
    }
    // A finding from before per-target details (an older analysis.json) names its backups only in `related`.
    if finding.related.iter().any(|r| concerns(r, target)) {
        return Some(Candidate::of_finding(finding, Reach::Own));
    }
    if let Some(detail) = location.and_then(detail) {
        return Some(Candidate::of_detail(finding, Reach::Location, detail));
    }
    let names_nothing = finding.targets.is_empty() && finding.related.is_empty();
    let breaks_every_backup = finding.severity == Severity::Fail
        && BACKUP_BREAKING_CATEGORIES.contains(&finding.category.as_str());
    (failed_outright && names_nothing && breaks_every_backup)
        .then(|| Candidate::of_finding(finding, Reach::Global))
}

/// Whether a finding's object is the target. Rules may name the kind loosely (`Backup`, `backup`, `backups`)
/// and leave the namespace out; the name must match.
fn concerns(related: &ObjectRef, target: &ObjectRef) -> bool {
    let kind_of = |kind: &str| -> String {
        let plural = kind.split('.').next().unwrap_or(kind).to_ascii_lowercase();
        plural.strip_suffix('s').unwrap_or(&plural).to_string()
    };
    related.name == target.name
        && kind_of(&related.kind) == kind_of(&target.kind)
        && match (&related.namespace, &target.namespace) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// Most specific first. A cause leads over a generic state (a rule's `role: symptom`: "a pod volume backup
/// failed", "the location is unavailable"), whatever their severities: a rule's severity says how bad the finding
/// is on its own, not whether it explains this backup, and every candidate here is already linked to it. Among
/// causes (and among states) the more severe leads; then the finding closest to the target (the backup's own,
/// its volumes' / nodes' / repositories' / containers', its storage location's, cluster-wide); then a log signature over an object's state over a version table; then
/// the one seen most often there, then overall (a root cause recurs beyond the lines its consequences share with
/// it: a wrong restic password shows in every repository command, "repository not ready" only where a backup met
/// it); the rule id keeps the order stable.
fn specificity(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    let kind_rank = |c: &Candidate<'_>| match c.finding.match_kind.as_str() {
        "log" => 0,
        "object" => 1,
        "compat" => 2,
        _ => 3,
    };
    a.role
        .cmp(&b.role)
        .then_with(|| b.finding.severity.cmp(&a.finding.severity))
        .then_with(|| a.reach.cmp(&b.reach))
        .then_with(|| kind_rank(a).cmp(&kind_rank(b)))
        .then_with(|| b.count.cmp(&a.count))
        .then_with(|| b.finding.count.cmp(&a.finding.count))
        .then_with(|| a.finding.rule_id.cmp(&b.finding.rule_id))
}

/// The object's own account when no finding concerns it.
fn own_reason(summary: &BackupSummary) -> String {
    let what = if &*summary.kind == "restore" {
        "Restore"
    } else {
        "Backup"
    };
    let name = &summary.name;
    let reason = summary
        .failure_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let log_hint = if summary.log_available {
        "its log is in the bundle"
    } else {
        "its log is not in the bundle"
    };
    match (summary.phase.as_deref(), reason) {
        (Some("FailedValidation"), Some(reason)) => {
            format!("{what} {name} failed validation: {}", sentence(reason))
        }
        (Some("FailedValidation"), None) => {
            format!("{what} {name} failed validation; Velero recorded no validation errors.")
        }
        (Some("PartiallyFailed"), reason) => {
            let errors = summary.errors.unwrap_or(0);
            let mut text = format!(
                "{what} {name} is PartiallyFailed with {errors} error{}",
                if errors == 1 { "" } else { "s" }
            );
            if let Some(warnings) = summary.warnings.filter(|w| *w > 0) {
                text.push_str(&format!(
                    " and {warnings} warning{}",
                    if warnings == 1 { "" } else { "s" }
                ));
            }
            match reason {
                Some(reason) => text.push_str(&format!(": {}", sentence(reason))),
                None => text.push_str(&format!("; no rule matched them ({log_hint}).")),
            }
            text
        }
        (_, Some(reason)) => format!("{what} {name} failed: {}", sentence(reason)),
        (_, None) => format!(
            "{what} {name} failed and Velero recorded no reason; no rule matched ({log_hint})."
        ),
    }
}

fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// A rule's fix for this verdict, its commands filled with what the bundle knows so that they can be run as they
/// are: the `<backup>` / `<restore>` placeholders with the target's name; `<location>`, `<bucket>`, `<prefix>`,
/// `<region>` and `<s3Url>` / `<url>` with its storage location's; `bsl default` with the location's name;
/// `kubectl -n velero` with Velero's namespace; and the `cloud-credentials` secret and its `cloud` key with the
/// secret the location reads (its `spec.credential`, else the velero server's `cloud-credentials` volume).
/// What the bundle does not know keeps its placeholder.
fn with_names(
    fix: &str,
    target: &ObjectRef,
    location: Option<&ObjectRef>,
    context: &VerdictContext,
) -> String {
    let mut text = fix.to_string();
    let placeholder = match target.kind.as_str() {
        "backups.velero.io" => Some("<backup>"),
        "restores.velero.io" => Some("<restore>"),
        _ => None,
    };
    if let Some(placeholder) = placeholder {
        text = text.replace(placeholder, &target.name);
    }
    if let Some(namespace) = target.namespace.as_deref().filter(|ns| *ns != "velero") {
        text = text.replace("kubectl -n velero ", &format!("kubectl -n {namespace} "));
    }
    // Only a location the bundle holds: a backup that names none is taken as on `default`, which may not exist.
    let facts = location.and_then(|l| Some((l, context.locations.get(&l.name)?)));
    if let Some((location, facts)) = facts {
        text = text
            .replace("<location>", &location.name)
            .replace("bsl default", &format!("bsl {}", location.name));
        for (placeholder, value) in [
            ("<bucket>", &facts.bucket),
            ("<prefix>", &facts.prefix),
            ("<region>", &facts.region),
            ("<s3Url>", &facts.s3_url),
            ("<url>", &facts.s3_url),
        ] {
            if let Some(value) = value {
                text = text.replace(placeholder, value);
            }
        }
    }
    let secret = facts
        .and_then(|(_, f)| f.credential.as_ref())
        .or(context.server_credentials.as_ref());
    if let Some(secret) = secret {
        for (default, real) in [
            (
                "secret cloud-credentials",
                format!("secret {}", secret.name),
            ),
            (
                "`cloud-credentials` secret",
                format!("`{}` secret", secret.name),
            ),
            (
                "cloud-credentials secret",
                format!("{} secret", secret.name),
            ),
        ] {
            text = text.replace(default, &real);
        }
        if let Some(key) = &secret.key {
            text = text.replace("{.data.cloud}", &format!("{{.data.{key}}}"));
        }
    }
    text
}

#[cfg(test)]
mod fix_tests {
    use super::context::{LocationFacts, SecretKey};
    use super::*;

    fn backup(namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: "backups.velero.io".into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    fn location(name: &str) -> ObjectRef {
        ObjectRef {
            kind: LOCATION_KIND.into(),
            namespace: Some("velero".into()),
            name: name.into(),
        }
    }

    #[test]
    fn a_verdicts_fix_names_its_backup() {
        assert_eq!(
            with_names(
                "`velero backup logs <backup>`; restore with `<restore>`",
                &backup("velero", "daily-1"),
                None,
                &VerdictContext::default()
            ),
            "`velero backup logs daily-1`; restore with `<restore>`"
        );
    }

    const FIX: &str = "`kubectl -n velero patch bsl default -p '{\"region\":\"<region>\"}'`, \
        `aws s3api get-bucket-location --bucket <bucket>`, `curl -sv <s3Url>`, `--endpoint <url>`, \
        `velero backup-location set <location>`, under <prefix>, \
        `kubectl -n velero get secret cloud-credentials -o jsonpath='{.data.cloud}'`, the `cloud-credentials` secret";

    #[test]
    fn a_fix_uses_the_location_and_secret_the_bundle_knows() {
        let mut context = VerdictContext::default();
        context.locations.insert(
            "aws-east".into(),
            LocationFacts {
                bucket: Some("acme-backups".into()),
                prefix: Some("prod".into()),
                region: Some("us-east-1".into()),
                s3_url: Some("https://minio.acme.internal:9000".into()),
                credential: Some(SecretKey {
                    name: "bsl-creds".into(),
                    key: Some("aws".into()),
                }),
                store: None,
            },
        );
        let fix = with_names(
            FIX,
            &backup("kots-velero", "daily-1"),
            Some(&location("aws-east")),
            &context,
        );
        assert_eq!(
            fix,
            "`kubectl -n kots-velero patch bsl aws-east -p '{\"region\":\"us-east-1\"}'`, \
             `aws s3api get-bucket-location --bucket acme-backups`, `curl -sv https://minio.acme.internal:9000`, \
             `--endpoint https://minio.acme.internal:9000`, `velero backup-location set aws-east`, under prod, \
             `kubectl -n kots-velero get secret bsl-creds -o jsonpath='{.data.aws}'`, the `bsl-creds` secret"
        );
    }

    #[test]
    fn what_the_bundle_does_not_know_keeps_its_placeholder() {
        let mut context = VerdictContext::default();
        context.locations.insert(
            "default".into(),
            LocationFacts {
                bucket: Some("acme-backups".into()),
                ..LocationFacts::default()
            },
        );
        // The server's secret, its key unknown.
        context.server_credentials = Some(SecretKey {
            name: "velero-creds".into(),
            key: None,
        });
        let fix = with_names(
            FIX,
            &backup("velero", "b"),
            Some(&location("default")),
            &context,
        );
        assert!(fix.contains("--bucket acme-backups"), "{fix}");
        assert!(
            fix.contains("<region>") && fix.contains("<s3Url>") && fix.contains("<url>"),
            "{fix}"
        );
        assert!(
            fix.contains("<prefix>") && fix.contains("bsl default"),
            "{fix}"
        );
        assert!(
            fix.contains("secret velero-creds -o jsonpath='{.data.cloud}'"),
            "{fix}"
        );
        // A location the bundle does not hold is not guessed.
        let fix = with_names(
            FIX,
            &backup("velero", "b"),
            Some(&location("gone")),
            &context,
        );
        assert!(
            fix.contains("bsl default") && fix.contains("<location>"),
            "{fix}"
        );
        // No location known: the backup's name and the server's secret.
        let fix = with_names(FIX, &backup("velero", "b"), None, &context);
        assert!(
            fix.contains("<bucket>") && fix.contains("secret velero-creds"),
            "{fix}"
        );
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;
    use crate::analyze::analysis::ServerSetting;

    /// composed: SD501's finding on one PartiallyFailed backup (its message as the rule renders it).
    fn timed_out(rule: &str, message: &str) -> (Finding, BackupSummary) {
        let target = ObjectRef {
            kind: "backups.velero.io".into(),
            namespace: Some("velero".into()),
            name: "daily-1".into(),
        };
        let finding = Finding {
            rule_id: rule.into(),
            rule_name: "timeout".into(),
            match_kind: "log".into(),
            severity: Severity::Fail,
            role: Role::Cause,
            category: "hooks-timeouts".into(),
            title: "t".into(),
            message: message.into(),
            cause: "c".into(),
            fix: "f".into(),
            docs: vec![],
            evidence: vec![],
            count: 1,
            first_seen: None,
            last_seen: None,
            related: vec![target.clone()],
            targets: vec![TargetDetail {
                target,
                message: message.into(),
                count: 1,
                first_seen: None,
                last_seen: None,
            }],
        };
        let summary = BackupSummary {
            kind: "backup".into(),
            name: "daily-1".into(),
            namespace: Some("velero".into()),
            phase: Some("PartiallyFailed".into()),
            ..BackupSummary::default()
        };
        (finding, summary)
    }

    fn setting(component: &str, flag: &str, value: &str, is_default: bool) -> ServerSetting {
        ServerSetting {
            component: component.into(),
            flag: flag.into(),
            value: Some(value.into()),
            is_default,
        }
    }

    #[test]
    fn a_timeout_verdict_says_which_flag_and_how_long() {
        let (finding, summary) = timed_out(
            "SD501",
            "Backup daily-1 gave up waiting for its pod volume backups.",
        );
        let one = |context: &VerdictContext| {
            verdicts_in(
                std::slice::from_ref(&finding),
                std::slice::from_ref(&summary),
                None,
                context,
            )
        };
        let context = VerdictContext {
            settings: vec![setting("velero", "--fs-backup-timeout", "4h", false)],
            ..VerdictContext::default()
        };
        let verdicts = one(&context);
        assert_eq!(
            verdicts[0].summary,
            "Backup daily-1 gave up waiting for its pod volume backups. It timed out after the server's 4h \
             --fs-backup-timeout."
        );
        let context = VerdictContext {
            settings: vec![setting("velero", "--fs-backup-timeout", "4h0m0s", true)],
            ..VerdictContext::default()
        };
        let verdicts = one(&context);
        assert!(
            verdicts[0]
                .summary
                .ends_with("after the server's 4h0m0s --fs-backup-timeout (Velero's default)."),
            "{}",
            verdicts[0].summary
        );
        // Unknown: nothing is guessed.
        let verdicts = one(&VerdictContext::default());
        assert!(!verdicts[0].summary.contains("timed out after"));
    }

    #[test]
    fn a_message_that_names_its_flag_is_not_told_it_again() {
        let (finding, summary) = timed_out(
            "SD451",
            "DataUpload d timed out preparing after the node-agent's 30m0s --data-mover-prepare-timeout.",
        );
        let context = VerdictContext {
            settings: vec![setting(
                "node-agent",
                "--data-mover-prepare-timeout",
                "30m0s",
                true,
            )],
            ..VerdictContext::default()
        };
        let verdicts = verdicts_in(std::slice::from_ref(&finding), &[summary], None, &context);
        assert_eq!(verdicts[0].summary, finding.message);
    }
}

#[cfg(test)]
mod node_event_tests {
    use super::context::{PVB_KIND, VolumeOperation};
    use super::*;

    fn node(name: &str) -> ObjectRef {
        ObjectRef {
            kind: "nodes".into(),
            namespace: None,
            name: name.into(),
        }
    }

    /// composed: a node-events finding with one detail per event on worker-2, each with its own time.
    fn node_finding(events: &[(&str, &str)]) -> Finding {
        let targets = events
            .iter()
            .map(|(first, last)| TargetDetail {
                target: node("worker-2"),
                message: format!(
                    "Node worker-2 reported NodeHasDiskPressure from {first} to {last}."
                ),
                count: 1,
                first_seen: Some((*first).into()),
                last_seen: Some((*last).into()),
            })
            .collect();
        Finding {
            rule_id: "SD552".into(),
            rule_name: "node-trouble-during-volume-backup".into(),
            match_kind: "object".into(),
            severity: Severity::Fail,
            role: Role::Cause,
            category: "resources".into(),
            title: "t".into(),
            message: "m".into(),
            cause: "c".into(),
            fix: "f".into(),
            docs: vec![],
            evidence: vec![],
            count: events.len() as u64,
            first_seen: None,
            last_seen: None,
            related: vec![node("worker-2")],
            targets,
        }
    }

    /// A backup that ran 02:00–02:40 with one pod volume backup on worker-2.
    fn backup_on_worker_2() -> (BackupSummary, VerdictContext) {
        let summary = BackupSummary {
            kind: "backup".into(),
            name: "daily-1".into(),
            namespace: Some("velero".into()),
            phase: Some("PartiallyFailed".into()),
            started: Some("2026-11-25T02:00:00Z".into()),
            completed: Some("2026-11-25T02:40:00Z".into()),
            ..BackupSummary::default()
        };
        let context = VerdictContext {
            volume_operations: vec![VolumeOperation {
                kind: PVB_KIND,
                namespace: Some("velero".into()),
                name: "daily-1-x7k2p".into(),
                owner: "backup/daily-1".into(),
                node: Some("worker-2".into()),
                ..VolumeOperation::default()
            }],
            ..VerdictContext::default()
        };
        (summary, context)
    }

    fn lead(events: &[(&str, &str)]) -> Option<String> {
        let (summary, context) = backup_on_worker_2();
        let now = "2026-11-25T12:00:00Z".parse().ok();
        let verdicts = verdicts_in(
            &[node_finding(events)],
            std::slice::from_ref(&summary),
            now,
            &context,
        );
        verdicts[0].finding_ids.first().cloned()
    }

    #[test]
    fn a_node_event_after_the_backup_ended_never_leads() {
        // Began a minute after completion, however long it lasted.
        assert_eq!(
            lead(&[("2026-11-25T02:41:00Z", "2026-11-25T05:00:00Z")]),
            None
        );
        // Over more than five minutes before the backup started.
        assert_eq!(
            lead(&[("2026-11-25T01:00:00Z", "2026-11-25T01:54:59Z")]),
            None
        );
    }

    #[test]
    fn a_node_event_while_the_backup_ran_leads() {
        assert_eq!(
            lead(&[("2026-11-25T02:20:00Z", "2026-11-25T02:25:00Z")]).as_deref(),
            Some("SD552")
        );
        // Begun before the start and still seen within five minutes of it.
        assert_eq!(
            lead(&[("2026-11-25T01:30:00Z", "2026-11-25T01:56:00Z")]).as_deref(),
            Some("SD552")
        );
        // The detail read is the one in the window, not the first of the node's.
        let (summary, context) = backup_on_worker_2();
        let verdicts = verdicts_in(
            &[node_finding(&[
                ("2026-11-25T06:00:00Z", "2026-11-25T06:10:00Z"),
                ("2026-11-25T02:20:00Z", "2026-11-25T02:25:00Z"),
            ])],
            std::slice::from_ref(&summary),
            "2026-11-25T12:00:00Z".parse().ok(),
            &context,
        );
        assert!(
            verdicts[0].summary.contains("from 2026-11-25T02:20:00Z"),
            "{}",
            verdicts[0].summary
        );
    }

    #[test]
    fn a_node_that_ran_none_of_the_backup_s_volumes_does_not_lead() {
        let (summary, mut context) = backup_on_worker_2();
        context.volume_operations[0].node = Some("worker-1".into());
        let verdicts = verdicts_in(
            &[node_finding(&[(
                "2026-11-25T02:20:00Z",
                "2026-11-25T02:25:00Z",
            )])],
            std::slice::from_ref(&summary),
            "2026-11-25T12:00:00Z".parse().ok(),
            &context,
        );
        assert!(verdicts[0].finding_ids.is_empty(), "{:?}", verdicts[0]);
    }
}
