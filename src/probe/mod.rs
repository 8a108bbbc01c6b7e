//! `snapdoc probe`: proves a backup storage location works by doing what Velero does with it (list the prefix,
//! write, read back, delete, write with the AWS plugin's checksum headers) and naming each failure by the catalog
//! rule whose log signature describes the same cause.
//!
//! The agent is library code so that the same checks run from the user's machine (`--from-here`, credentials
//! passed explicitly) and inside a Job in Velero's namespace with the location's secret mounted (`--dry-run`
//! prints that Job; creating it and reading its result is not done yet).

mod agent;
mod bsl;
mod error;
mod job;
mod location;
mod outcome;
mod s3;

pub use agent::{Agent, Probed, probe_s3, probe_s3_until};
pub use bsl::{BslLocation, read_bsl};
pub use error::ProbeError;
pub use job::{PROBE_ACCESS, SERVER_CREDENTIALS_SECRET, agent_args, probe_job};
pub use location::{Credentials, S3Location};
pub use outcome::{Check, ProbeResult, ProbedLocation, Status, Step, rule_ids};
