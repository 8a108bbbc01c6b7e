//! snapdoc: tells why a Velero / KOTS snapshot backup failed and how to fix it.
//!
//! The modules mirror the pipeline: `collect` (kube-rs → bundle), `bundle` (the archive model),
//! `analyze` (rules → findings), `report` (findings → HTML/Markdown/JSON/…); `lab` is the
//! loopback cluster the tests and the demo run against.
//!
//! An item is `pub` only when something outside the crate (the binary, the tests, the benchmarks) reaches it;
//! everything else is `pub(crate)`, and `unreachable_pub` keeps it so.
#![warn(unreachable_pub)]
#![warn(missing_docs)]
pub mod analyze;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod collect;
pub mod diff;
pub mod embedded;
pub mod lab;
pub mod pipeline;
pub mod probe;
pub mod redact;
pub mod report;
pub(crate) mod tls;
