//! `check --bundle FILE` run by a CronJob: every run keeps its bundle, the newest at FILE and the earlier ones
//! shifted to `NAME.1.zip`, `NAME.2.zip` …, up to `--keep-bundles` in all, as logrotate numbers old logs (with
//! the number before the extension, so each stays a `.zip` a double-click opens). The oldest beyond the limit
//! is removed; nothing else in the directory is touched.
use std::path::{Path, PathBuf};

/// How many bundles `check --bundle` keeps by default: the newest and four before it.
pub(crate) const DEFAULT_KEEP_BUNDLES: usize = 5;

/// Moving the kept bundles one number up (or the new one into place) failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot rotate the kept bundles at {path}: {source}", path = path.display())]
pub struct RotateError {
    pub(super) path: PathBuf,
    #[source]
    pub(super) source: std::io::Error,
}

/// The directory a kept bundle lives in (`.` for a bare file name).
pub(super) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The name of the `n`-th older bundle: `check.zip` → `check.1.zip`, `check` → `check.1`.
pub(crate) fn rotated_name(path: &Path, n: usize) -> PathBuf {
    let name = match (path.file_stem(), path.extension()) {
        (Some(stem), Some(extension)) => format!(
            "{}.{n}.{}",
            stem.to_string_lossy(),
            extension.to_string_lossy()
        ),
        _ => format!(
            "{}.{n}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    };
    path.with_file_name(name)
}

/// Makes room at `path` for a new bundle: shifts `path` and its numbered predecessors one place older, and
/// removes the one that would exceed `keep` (counting the new bundle).
pub(super) fn rotate(path: &Path, keep: usize) -> Result<(), RotateError> {
    let keep = keep.max(1);
    let failed = |at: &Path| {
        let at = at.to_path_buf();
        move |source| RotateError { path: at, source }
    };
    let oldest = if keep == 1 {
        path.to_path_buf()
    } else {
        rotated_name(path, keep - 1)
    };
    match std::fs::remove_file(&oldest) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(failed(&oldest)(error));
        }
        _ => {}
    }
    for n in (1..keep.saturating_sub(1)).rev() {
        let from = rotated_name(path, n);
        if from.exists() {
            std::fs::rename(&from, rotated_name(path, n + 1)).map_err(failed(&from))?;
        }
    }
    if keep > 1 && path.exists() {
        std::fs::rename(path, rotated_name(path, 1)).map_err(failed(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_newest_keep_bundles_stay_and_the_oldest_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("check.zip");
        std::fs::write(dir.path().join("other.txt"), "not ours").unwrap();
        for run in 1..=5 {
            rotate(&path, 3).unwrap();
            std::fs::write(&path, format!("run {run}")).unwrap();
        }
        assert_eq!(
            names(dir.path()),
            ["check.1.zip", "check.2.zip", "check.zip", "other.txt"]
        );
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(read("check.zip"), "run 5");
        assert_eq!(read("check.1.zip"), "run 4");
        assert_eq!(read("check.2.zip"), "run 3");
    }

    #[test]
    fn keeping_one_replaces_the_previous_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("check.zip");
        std::fs::write(&path, "old").unwrap();
        rotate(&path, 1).unwrap();
        assert!(names(dir.path()).is_empty());
        rotate(&path, 0).unwrap();
    }

    #[test]
    fn names_keep_their_extension() {
        assert_eq!(
            rotated_name(Path::new("/b/check.zip"), 2),
            Path::new("/b/check.2.zip")
        );
        assert_eq!(rotated_name(Path::new("bundle"), 1), Path::new("bundle.1"));
    }
}
