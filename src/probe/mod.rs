//! `snapdoc probe`: proves a backup storage location works by doing what Velero does with it (list the prefix,
//! write, read back, delete, and for S3 write with the AWS plugin's checksum headers) and naming each failure by
//! the catalog rule whose log signature describes the same cause. Providers: S3 and S3-compatible (src/probe/s3.rs),
//! Azure Blob (azure.rs), Google Cloud Storage (gcs.rs), each a [`agent::Store`] on the shared transport
//! (transport.rs); and local-volume-provider's host path / NFS directories (host_path.rs), probed by a pod on each
//! node that hosts them (host_path_jobs.rs).
//!
//! The agent is library code so that the same checks run from the user's machine (`--from-here`, credentials
//! passed explicitly) and inside a Job in Velero's namespace with the location's secret mounted (`--dry-run`
//! prints that Job; without it the Job is created, its result read from the pod, and the Job deleted).

mod agent;
mod azure;
mod bsl;
mod error;
mod gcs;
mod host_path;
mod host_path_jobs;
mod in_cluster;
mod job;
mod location;
mod outcome;
mod pod_start;
mod s3;
mod transport;

pub use agent::{Agent, Probed, probe, probe_s3, probe_s3_until, probe_until};
pub use bsl::{BslLocation, read_bsl};
pub use error::ProbeError;
pub use host_path::{
    LOCAL_VOLUME_STEPS, LocalVolumeReport, MOUNT_ROOT, NodeProbe, RunAs, VolumeFacts,
    probe_local_volume,
};
pub use host_path_jobs::node_jobs;
pub(crate) use in_cluster::locations_of;
pub use in_cluster::{InCluster, probe_in_cluster, probe_locations};
pub use job::{
    AgentInvocation, PROBE_ACCESS, SERVER_CREDENTIALS_SECRET, agent_args, parse_agent_args,
    probe_job,
};
pub use location::{
    AzureCredentials, AzureLocation, Credentials, GcpCredentials, GcsLocation, LocalVolumeLocation,
    Location, S3Location, StoreCredentials,
};
pub use outcome::{Check, LocationProbe, ProbeResult, ProbedLocation, Status, Step, rule_ids};
