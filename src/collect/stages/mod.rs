//! The collection stages, one file each, named for the source it reads; each is an `impl Run<'_>` block with the
//! stage and the helpers only it uses. `Run` (../run.rs) runs them in order, records what could not be read
//! and writes the bundle's entries.
pub(super) mod backed_up_workloads;
pub(super) mod cluster;
pub(super) mod install;
pub(super) mod logs_and_downloads;
pub(super) mod secrets;
pub(super) mod velero_and_kots_namespaces;
pub(super) mod velero_objects;
pub(super) mod workloads;
