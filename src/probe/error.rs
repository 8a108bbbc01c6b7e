//! Why the probe could not start. A check that fails is not an error: it is part of the result.

use std::path::PathBuf;

/// The probe was given something it cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A provider whose plugin the probe does not know.
    #[error(
        "provider {0:?}: the probe handles the locations of the AWS (aws, velero.io/aws: S3 and S3-compatible), \
         Azure (azure, velero.io/azure) and GCP (gcp, velero.io/gcp) plugins, and local-volume-provider's host path \
         and NFS locations (replicated.com/hostpath, replicated.com/nfs)"
    )]
    Provider(String),
    /// A host path / NFS location asked to be probed from the user's machine.
    #[error(
        "provider {0:?}: a local-volume-provider location is a directory on the cluster's nodes (or an NFS export \
         they mount), which this machine does not see: probe it in the cluster (`snapdoc probe --bsl NAME`), \
         where a pod on each node mounts it as Velero does and writes as Velero's uid"
    )]
    LocalVolumeFromHere(String),
    /// A setting of the location is unusable.
    #[error("location config: {0}")]
    Config(String),
    /// The credentials file is missing or lacks the profile's keys.
    #[error("credentials file {path}: {message}")]
    CredentialsFile {
        /// The file given with --credentials-file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The caCert holds no certificate rustls accepts.
    #[error("caCert: {0}")]
    CaCert(String),
    /// Reading the BackupStorageLocation from the cluster failed.
    #[error("backup storage location {name}: {message}")]
    Location {
        /// The BSL's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// Creating, reading or deleting the probe Job failed, or its pod reported nothing.
    #[error("probe Job in namespace {namespace}: {message}")]
    Job {
        /// Velero's namespace.
        namespace: String,
        /// What went wrong.
        message: String,
    },
}
