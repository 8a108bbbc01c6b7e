//! The lab cluster: a loopback Kubernetes API serving a scenario (tests/scenarios/, docs/scenarios.md), with
//! Velero's DownloadRequest controller and an object store, for the tests, `snapdoc demo` and
//! `snapdoc lab serve`; or serving a bundle read-only (`snapdoc lab serve --bundle`, bundle_source.rs).
mod api;
mod blobs;
mod bundle_source;
mod cluster;
mod error;
mod kubelet;
mod logs;
mod openapi;
pub(crate) mod resources;
pub(crate) mod scale;
pub(crate) mod scenario;
mod selectors;
mod serve;
mod server;
mod state;
mod status;
mod stream;
mod table;
pub(crate) mod timeshift;
mod tls;
mod velero;

pub use cluster::{LabCluster, LabOptions};
pub use error::LabError;
pub use scale::{ScaleSpec, generate as generate_scale};
pub use scenario::{DownloadRequestMode, Faults, Forbidden, Scenario, ScenarioObject};
pub use serve::{serve, serve_bundle};
pub use server::RequestRecord;
pub use timeshift::shift_log;
