//! When a foreign bundle was made. Troubleshoot and `velero debug` write no manifest, so the time comes from
//! what they do write, most trustworthy first: the time the tool put in a name (troubleshoot's
//! `support-bundle-2006-01-02T15_04_05` folder and archive, crashd's capture stamps, `velero debug`'s
//! `bundle-2006-01-02-15-04-05.tar.gz`), and only then the files' modification times, which copying resets
//! (`tar -m`, `scp -r` without `-p`) to the day of the copy. The analysis later keeps it no earlier than the
//! newest timestamp in the bundle's objects (analyze/facts.rs). Every choice is recorded in words
//! (`Manifest::created_from`) so the report can say what the bundle's age was told from.

use std::path::Path;

use super::archive::{self, RawTree, Translation};

/// A bundle time and what told it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dated {
    /// RFC 3339.
    pub at: String,
    pub from: String,
}

/// Dates a foreign bundle's stand-in manifest: from the times its format wrote (`own_dates`, most trustworthy
/// first), else the time in the name it was opened by, else its files' newest time.
pub(crate) fn date(translation: &mut Translation, tree: &RawTree, path: &Path) {
    let mut candidates = std::mem::take(&mut translation.own_dates);
    candidates.push((
        time_in_name(&path.to_string_lossy()),
        format!("the name {} (local time, read as UTC)", file_name(path)),
    ));
    candidates.push((
        tree.newest_mtime().and_then(archive::rfc3339),
        "the newest file time in the bundle (a copy may have reset it)".to_string(),
    ));
    if let (Some(manifest), Some(dated)) = (translation.manifest.as_mut(), first_known(candidates))
    {
        manifest.created = dated.at;
        manifest.created_from = Some(dated.from);
    }
}

/// The first candidate that holds a time, in the order given (most trustworthy first).
fn first_known(candidates: Vec<(Option<String>, String)>) -> Option<Dated> {
    candidates
        .into_iter()
        .find_map(|(at, from)| at.map(|at| Dated { at, from }))
}

/// The time a tool wrote into a file or folder name: troubleshoot's `support-bundle-2024-03-12T05_13_27`
/// (`pkg/supportbundle`: `time.Now().Format("2006-01-02T15_04_05")`) and `velero debug`'s
/// `bundle-2024-03-12-05-13-27.tar.gz` (velero `pkg/cmd/cli/debug/debug.go`:
/// `time.Now().Format("2006-01-02-15-04-05")`). Both are the collecting machine's local time with no zone:
/// read as UTC, good to a few hours.
pub(crate) fn time_in_name(name: &str) -> Option<String> {
    let name = name.trim_end_matches('/').rsplit('/').next()?;
    let stem = [".tar.gz", ".tgz", ".tar", ".zip"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    let (stamp, format) = if let Some(stamp) = stem.strip_prefix("support-bundle-") {
        (stamp, "%Y-%m-%dT%H_%M_%S")
    } else {
        (stem.strip_prefix("bundle-")?, "%Y-%m-%d-%H-%M-%S")
    };
    let parsed = jiff::civil::DateTime::strptime(format, stamp).ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(parsed)
        .ok()
        .map(|t| t.to_string())
}

/// The last component of `path`, for saying which name a time came from.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn troubleshoot_and_velero_debug_names_carry_their_time() {
        assert_eq!(
            time_in_name("support-bundle-2024-03-12T05_13_27/").as_deref(),
            Some("2024-03-12T05:13:27Z")
        );
        assert_eq!(
            time_in_name("/tmp/cases/support-bundle-2024-11-20T10_44_02.tar.gz").as_deref(),
            Some("2024-11-20T10:44:02Z")
        );
        assert_eq!(
            time_in_name("bundle-2024-11-20-10-42-13.tar.gz").as_deref(),
            Some("2024-11-20T10:42:13Z")
        );
        for other in [
            "bundle/",
            "",
            "velero-bundle",
            "support-bundle-latest.tar.gz",
            "my.zip",
        ] {
            assert_eq!(time_in_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_first_candidate_with_a_time_wins() {
        let dated = first_known(vec![
            (None, "the folder name".into()),
            (
                Some("2024-11-20T10:42:00Z".into()),
                "crashd's capture stamps".into(),
            ),
            (Some("2026-12-05T00:00:00Z".into()), "file times".into()),
        ]);
        assert_eq!(
            dated,
            Some(Dated {
                at: "2024-11-20T10:42:00Z".into(),
                from: "crashd's capture stamps".into()
            })
        );
    }
}
