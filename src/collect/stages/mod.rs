//! The collection stages, one file each, named for the source it reads: each is an `impl Run<'_>` block with
//! the stage and the helpers only it uses. `Run` (../run.rs) runs them in this order, records what could not be
//! read and writes the bundle's entries:
//!
//! - [`cluster`]: version, nodes, namespaces, Velero's CRDs, storage classes, persistent volumes, velero.io
//!   discovery;
//! - [`velero_and_kots_namespaces`]: where Velero and KOTS run;
//! - [`velero_objects`]: every Velero kind served;
//! - [`workloads`]: deployments, daemonsets, pods and events of the Velero and KOTS namespaces, and the
//!   components they run;
//! - [`transient`]: the Jobs of Velero's namespace (repository maintenance);
//! - [`configuration`]: Velero's ConfigMaps, PriorityClasses, the CSI snapshot objects, the nodes' events;
//! - [`install`]: kURL, embedded cluster, KOTS's file-system snapshot store;
//! - [`in_cluster_store`]: an object store that runs in the cluster (MinIO, Ceph RGW);
//! - [`backed_up_workloads`]: pods, claims and events of the namespaces backups cover;
//! - [`secrets`]: the names and keys of the secrets Velero references, never their data;
//! - [`logs_and_downloads`]: container logs, and backup / restore logs and results through DownloadRequests.
pub(super) mod backed_up_workloads;
pub(super) mod cluster;
pub(super) mod configuration;
pub(super) mod in_cluster_store;
pub(super) mod install;
pub(super) mod logs_and_downloads;
pub(super) mod secrets;
pub(super) mod transient;
pub(super) mod velero_and_kots_namespaces;
pub(super) mod velero_objects;
pub(super) mod workloads;
