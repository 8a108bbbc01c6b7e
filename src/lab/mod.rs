//! The lab cluster: a loopback Kubernetes API serving a scenario (tests/scenarios/, docs/scenarios.md), with
//! Velero's DownloadRequest controller and an object store, for the tests, `snapdoc demo` and
//! `snapdoc lab serve`.
mod api;
mod blobs;
mod cluster;
mod error;
mod logs;
mod openapi;
pub mod resources;
pub mod scale;
pub mod scenario;
mod selectors;
mod serve;
mod server;
mod state;
mod status;
mod stream;
mod table;
pub mod timeshift;
mod tls;
mod velero;

pub use cluster::{LAB_USER, LabCluster, LabOptions};
pub use error::LabError;
pub use scenario::Scenario;
pub use serve::serve;
pub use server::RequestRecord;
