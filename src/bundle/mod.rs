//! The bundle: one archive (or directory) holding everything collected, in the layout of
//! docs/bundle-format.md. `writer` streams entries into a zip; `reader` opens any supported bundle
//! and presents it in that same layout, so the analyzer reads every format alike.
pub(crate) mod archive;
pub(crate) mod dating;
pub(crate) mod layout;
pub(crate) mod limits;
pub(crate) mod list;
pub(crate) mod manifest;
pub(crate) mod merge;
pub(crate) mod must_gather;
pub(crate) mod reader;
pub(crate) mod troubleshoot;
pub(crate) mod velero_debug;
pub(crate) mod verify;
pub(crate) mod writer;

pub use layout::{
    LogSource, SECRETS_METADATA, backup_log_path, backup_results_path, objects_path, pod_log_path,
    restore_log_path, restore_results_path,
};
pub use limits::ArchiveLimits;
pub use manifest::{ClusterInfo, CollectorError, FileEntry, Manifest};
pub use reader::{Bundle, BundleFormat, LogFile, classify_log};
pub use verify::{verify, verify_open};
pub use writer::{BundleWriter, Deflate, RunInfo};

use std::path::PathBuf;

/// Why a bundle could not be written, opened or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The output exists and `--force` was not given.
    #[error("{path}: already exists (use --force to overwrite)")]
    Exists {
        /// The output path.
        path: PathBuf,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a zip archive, or a damaged one.
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What the zip reader said.
        #[source]
        source: zip::result::ZipError,
    },
    /// One entry of the bundle could not be read (missing, over a size limit, unreadable).
    #[error("{path}: entry {entry}: {message}")]
    Entry {
        /// The bundle.
        path: PathBuf,
        /// The entry's path inside the bundle.
        entry: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file or directory that is none of the bundle formats snapdoc reads.
    #[error("{path}: not a bundle snapdoc can read: {message}")]
    UnknownFormat {
        /// What was given.
        path: PathBuf,
        /// What was looked for and not found.
        message: String,
    },
    /// A directory holding neither snapdoc's layout nor a foreign bundle (an empty folder, `/etc`, the folder
    /// `snapdoc run` wrote when it holds several bundles): `suggestion` names the bundles found inside.
    #[error("no bundle content found in {path}{suggestion}", path = path.display())]
    NoBundleContent {
        /// The directory given.
        path: PathBuf,
        /// The bundles found inside, as a hint to name one (empty when none).
        suggestion: String,
    },
    /// `snapdoc verify` on a foreign bundle, which has no manifest of checksums.
    #[error(
        "{path}: a {made_by} bundle cannot be verified: it carries no checksums (snapdoc reads it: `snapdoc analyze` \
         works on it)"
    )]
    Unverifiable {
        /// The bundle given.
        path: PathBuf,
        /// The tool that made it (`troubleshoot`, `velero debug` …).
        made_by: String,
    },
    /// An entry name that is empty, absolute, has a `.` or `..` segment, or was written twice.
    #[error("invalid entry name {entry:?}: {message}")]
    InvalidEntryName {
        /// The name.
        entry: String,
        /// Why it is refused.
        message: String,
    },
}

impl BundleError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BundleError::Io {
            path: path.into(),
            source,
        }
    }
}
