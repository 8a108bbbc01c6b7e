//! Backups and restores that have not finished and no longer will: Velero bounds each stage with a timeout, so
//! one still in that stage past it lost the server or the node agent that was running it.
use jiff::{SignedDuration, Timestamp};

use super::context::VerdictContext;
use crate::analyze::analysis::BackupSummary;

/// How long a backup may stay New before the server is taken as not processing it (SD804 says the same).
pub(super) const NEW_FOR_TOO_LONG: SignedDuration = SignedDuration::from_mins(30);

/// Why `summary` is stuck at `now`, in words, or `None` when it finished or may still be within its time.
pub(super) fn stuck(
    summary: &BackupSummary,
    context: &VerdictContext,
    now: Timestamp,
) -> Option<String> {
    let kind = &*summary.kind;
    let spec = context.spec(kind, &summary.name);
    let created = spec.and_then(|s| s.created);
    let started = summary
        .started
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    let fs_timeout = context.fs_backup_timeout;
    let operations_timeout = spec
        .map(|s| s.item_operation_timeout)
        .unwrap_or(super::context::DEFAULT_OPERATION_TIMEOUT);
    let phase = summary.phase.as_deref().unwrap_or("New");
    let (since, limit, bound) = match phase {
        "New" | "" => (
            created?,
            NEW_FOR_TOO_LONG,
            "Velero picks a new one up within seconds",
        ),
        // Velero 1.17+ runs a limited number at once; a queued one waits for those ahead, each bounded by the
        // file-system backup timeout.
        "Queued" | "ReadyToStart" => (
            created?,
            fs_timeout,
            "the backups ahead of it are each bounded by the file-system backup timeout",
        ),
        "InProgress" => (
            started.or(created)?,
            fs_timeout,
            "its pod volume backups time out after the server's --fs-backup-timeout",
        ),
        "WaitingForPluginOperations"
        | "WaitingForPluginOperationsPartiallyFailed"
        | "Finalizing"
        | "FinalizingPartiallyFailed" => (
            started.or(created)?,
            fs_timeout + operations_timeout,
            "its async operations time out after spec.itemOperationTimeout",
        ),
        _ => return None,
    };
    let waited = now.duration_since(since);
    (waited > limit).then(|| {
        let what = if kind == "restore" { "Restore" } else { "Backup" };
        format!(
            "{what} {} has been {phase} for {}, longer than the {} it may take ({bound}): the velero server or \
             node agent that was running it is gone or hangs.",
            summary.name,
            words(waited),
            words(limit)
        )
    })
}

fn words(duration: SignedDuration) -> String {
    let minutes = duration.as_mins();
    match minutes {
        ..120 => format!("{minutes} minutes"),
        120..2880 => format!("{} hours", minutes / 60),
        _ => format!("{} days", minutes / 1440),
    }
}
