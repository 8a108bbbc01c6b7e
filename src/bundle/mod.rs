//! The bundle: one archive (or directory) holding everything collected, in the layout of
//! docs/bundle-format.md. `writer` streams entries into a zip; `reader` opens any supported bundle
//! and presents it in that same layout, so the analyzer reads every format alike.
pub(crate) mod archive;
pub(crate) mod dating;
pub(crate) mod layout;
pub(crate) mod limits;
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
pub use writer::{BundleWriter, RunInfo};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: already exists (use --force to overwrite)")]
    Exists { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{path}: entry {entry}: {message}")]
    Entry {
        path: PathBuf,
        entry: String,
        message: String,
    },
    #[error("{path}: not a bundle snapdoc can read: {message}")]
    UnknownFormat { path: PathBuf, message: String },
    /// A directory holding neither snapdoc's layout nor a foreign bundle (an empty folder, `/etc`, the folder
    /// `snapdoc run` wrote when it holds several bundles): `suggestion` names the bundles found inside.
    #[error("no bundle content found in {path}{suggestion}", path = path.display())]
    NoBundleContent { path: PathBuf, suggestion: String },
    #[error(
        "{path}: a {made_by} bundle cannot be verified: it carries no checksums (snapdoc reads it: `snapdoc analyze` \
         works on it)"
    )]
    Unverifiable { path: PathBuf, made_by: String },
    #[error("invalid entry name {entry:?}: {message}")]
    InvalidEntryName { entry: String, message: String },
}

impl BundleError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BundleError::Io {
            path: path.into(),
            source,
        }
    }
}
