//! One collection run: the stages, in order, each reading concurrently into spool files (object lists
//! redacted item by item, logs line by line) and writing them into the zip one entry at a time — object lists
//! once the stage's lists are read, logs as each finishes. What later stages decide from is kept as small
//! projections of the lists ([`Keep`]), never the lists themselves: memory stays flat however many objects
//! and however much log the cluster has. The stages themselves are in `stages/`, one file each; here are the
//! order they run in, the errors they record and the writing of entries.
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::CollectOptions;
use super::api::{ApiClient, ApiFailure, DEFAULT_CONCURRENCY};
use super::interrupt::{Interrupt, Signal};
use super::kots_snapshots;
use super::lists::{Keep, ListSpool, Route, SpooledList};
use super::progress::Progress;
use super::spool::Spooled;
use super::stages::in_cluster_store;
use super::{CollectError, CollectOutcome};
use crate::bundle::layout::objects_path;
use crate::bundle::manifest::{ClusterInfo, Interruption};
use crate::bundle::writer::RunInfo;
use crate::bundle::{BundleError, BundleWriter, CollectorError};
use crate::redact::{RedactionCounts, Redactor};

/// How long an interrupted run spends deleting the DownloadRequests it created (`--delete-download-requests`).
const REQUEST_CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// `/api/v1/…` or `/apis/<group>/<version>/…` for a built-in resource (core, apps, batch, storage, scheduling)
/// or a CSI snapshot one.
pub(super) fn resource_path(resource: &str, namespace: Option<&str>) -> String {
    let prefix = match resource {
        "deployments" | "daemonsets" | "statefulsets" | "replicasets" => "/apis/apps/v1",
        "storageclasses" => "/apis/storage.k8s.io/v1",
        "jobs" => "/apis/batch/v1",
        "csidrivers" => "/apis/storage.k8s.io/v1",
        "priorityclasses" => "/apis/scheduling.k8s.io/v1",
        "volumesnapshotclasses" | "volumesnapshotcontents" | "volumesnapshots" => {
            "/apis/snapshot.storage.k8s.io/v1"
        }
        _ => "/api/v1",
    };
    match namespace {
        Some(ns) => format!("{prefix}/namespaces/{ns}/{resource}"),
        None => format!("{prefix}/{resource}"),
    }
}

/// Lists `path` into a spool in `dir`: items routed to their entries by `route`, projected by `keep`.
pub(super) async fn spool_list(
    api: &ApiClient,
    dir: &Path,
    path: &str,
    route: Route,
    keep: Keep,
) -> Result<SpooledList, ApiFailure> {
    let mut spool = ListSpool::new(dir, route, keep);
    let head = api.list_into(path, &mut spool).await?;
    spool
        .finish(head)
        .map_err(|e| ApiFailure::new(None, format!("{path}: cannot spool the list: {e}")))
}

pub(super) fn empty_list() -> Value {
    json!({"items": []})
}

/// Where a listed resource goes in the bundle.
pub(super) enum Entry<'a> {
    /// One entry, `objects_path(resource, namespace)`.
    One(&'a str),
    /// One entry per namespace of the items (`resource`'s entries).
    PerNamespace(&'a str),
}

pub(super) struct Run<'o> {
    pub(super) api: ApiClient,
    pub(super) options: &'o CollectOptions,
    pub(super) since: jiff::SignedDuration,
    pub(super) writer: BundleWriter,
    pub(super) spool_dir: tempfile::TempDir,
    pub(super) progress: Progress,
    pub(super) scope: Map<String, Value>,
    interrupt: Interrupt,
    /// Paths of the DownloadRequests created and not yet deleted.
    pub(super) created_requests: Arc<Mutex<BTreeSet<String>>>,
}

/// Removes the spool folder. A fetch aborted a moment ago may still be creating a file in it; a second try
/// removes that too.
fn remove_spool(dir: tempfile::TempDir) {
    let path = dir.path().to_path_buf();
    if dir.close().is_err() {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(20));
            if std::fs::remove_dir_all(&path).is_ok() || !path.exists() {
                return;
            }
        }
        tracing::warn!(path = %path.display(), "cannot remove the spool folder");
    }
}

impl<'o> Run<'o> {
    pub(super) fn start(
        client: kube::Client,
        options: &'o CollectOptions,
        output: &Path,
        interrupt: Interrupt,
    ) -> Result<Self, CollectError> {
        let since = options.since.duration();
        let writer = BundleWriter::create(output, options.force)?;
        let spool_dir = tempfile::Builder::new()
            .prefix("snapdoc-spool-")
            .tempdir()
            .map_err(CollectError::TempDir)?;
        Ok(Run {
            api: ApiClient::new(client, DEFAULT_CONCURRENCY),
            options,
            since,
            writer,
            spool_dir,
            progress: Progress::new(),
            scope: Map::new(),
            interrupt,
            created_requests: Arc::default(),
        })
    }

    pub(super) async fn collect(
        mut self,
        cluster: ClusterInfo,
    ) -> Result<CollectOutcome, CollectError> {
        let started = jiff::Timestamp::now();
        self.scope
            .insert("since".into(), json!(self.options.since.as_str()));
        self.scope
            .insert("maxLogBytes".into(), json!(self.options.max_log_bytes));
        self.scope
            .insert("recent".into(), json!(self.options.recent));
        let interrupt = self.interrupt.clone();
        let mut run = RunInfo {
            created: Some(started.to_string()),
            cluster,
            ..RunInfo::default()
        };

        // Each later stage races the signal: when it comes, the stage's future is dropped (its requests
        // cancelled, its spawned log fetches aborted) and the bundle is finished with what came before.
        macro_rules! stage {
            ($name:expr, $work:expr) => {
                tokio::select! {
                    biased;
                    signal = interrupt.wait() => {
                        return self.finish_interrupted(run, signal, $name).await;
                    }
                    result = $work => result,
                }
            };
        }

        // Stopped in the first stage, there is nothing worth a bundle: the partial zip and the spool go.
        let facts = tokio::select! {
            biased;
            signal = interrupt.wait() => {
                self.delete_created_requests().await;
                return Err(CollectError::Interrupted { signal, stage: "cluster" });
            }
            facts = self.cluster_stage() => facts?,
        };
        let velero_ns = stage!("velero namespace", self.velero_namespace(&facts));
        let kots_ns = self.kots_namespace(&facts);
        let velero = stage!(
            "velero objects",
            self.velero_stage(&facts, velero_ns.as_deref())
        )?;
        let workloads = stage!(
            "workloads",
            self.namespace_stage(velero_ns.as_deref(), kots_ns.as_deref())
        )?;
        stage!("jobs", self.jobs_stage(velero_ns.as_deref()))?;
        stage!(
            "configuration",
            self.configuration_stage(velero_ns.as_deref())
        )?;
        stage!("install", self.install_stage(&facts, kots_ns.as_deref()))?;
        if let Some(kots) = velero
            .get("backups")
            .and_then(kots_snapshots::kots_snapshots)
        {
            self.scope.insert("kotsSnapshots".into(), kots);
        }
        self.components(&workloads);
        let stores = match velero_ns.as_deref() {
            Some(ns) => in_cluster_store::store_services(
                velero
                    .get("backupstoragelocations")
                    .unwrap_or(&empty_list()),
                ns,
                &facts.namespaces,
            ),
            None => Vec::new(),
        };
        let store_logs = stage!(
            "in-cluster object store",
            self.in_cluster_store_stage(&stores)
        )?;
        let restore_helper_logs = stage!(
            "backed-up workloads",
            self.backup_workloads_stage(&facts, &velero, &workloads)
        )?;
        if let Some(ns) = velero_ns.as_deref() {
            stage!("secrets", self.secrets_stage(ns, &velero, &workloads))?;
        }
        stage!(
            "logs and downloads",
            self.logs_and_downloads_stage(
                velero_ns.as_deref(),
                &velero,
                &workloads,
                &facts,
                [store_logs, restore_helper_logs].concat(),
                started
            )
        )?;

        self.progress.finish();
        run.scope = std::mem::take(&mut self.scope);
        let (path, manifest) = self.writer.finish(run)?;
        Ok(CollectOutcome { path, manifest })
    }

    /// A signal stopped the run after the first stage: DownloadRequests are cleaned up as after a normal run,
    /// the bundle is finished with what was collected and marked interrupted, and the spool is removed.
    async fn finish_interrupted(
        mut self,
        mut run: RunInfo,
        signal: Signal,
        stage: &'static str,
    ) -> Result<CollectOutcome, CollectError> {
        tracing::warn!(signal = signal.name, stage, "collection interrupted");
        self.delete_created_requests().await;
        self.progress.finish();
        run.scope = std::mem::take(&mut self.scope);
        run.interrupted = Some(Interruption {
            signal: signal.name.to_string(),
            stage: stage.to_string(),
        });
        let (path, manifest) = self.writer.finish(run)?;
        remove_spool(self.spool_dir);
        Ok(CollectOutcome { path, manifest })
    }

    /// The DownloadRequests created and not yet deleted when the run stopped: deleted (for a bounded time)
    /// with `--delete-download-requests`, else left for Velero to expire as after a normal run.
    async fn delete_created_requests(&mut self) {
        let created: Vec<String> = match self.created_requests.lock() {
            Ok(mut created) => std::mem::take(&mut *created).into_iter().collect(),
            Err(_) => return,
        };
        if created.is_empty() || !self.options.delete_download_requests {
            return;
        }
        let api = self.api.clone();
        let deletions = futures::future::join_all(created.iter().map(|path| api.delete(path)));
        match tokio::time::timeout(REQUEST_CLEANUP_TIMEOUT, deletions).await {
            Ok(results) => {
                for (path, result) in created.iter().zip(results) {
                    if let Err(failure) = result
                        && !failure.is_not_found()
                    {
                        tracing::warn!(
                            request = path,
                            "cannot delete the DownloadRequest (Velero removes it when it expires): {}",
                            failure.message
                        );
                    }
                }
            }
            Err(_) => tracing::warn!(
                requests = created.len(),
                "the DownloadRequests were not all deleted in time (Velero removes them when they expire)"
            ),
        }
    }

    // ---- writing ----

    pub(super) fn record(&mut self, mut error: CollectorError) {
        // Messages may quote what failed (a URL with its signature): redact them like everything else.
        let mut counts = RedactionCounts::new();
        error.message = Redactor::global()
            .redact_text(&error.message, &mut counts)
            .into_owned();
        self.writer.count_redactions(&counts);
        tracing::info!(
            source = %error.source,
            target = error.target.as_deref().unwrap_or(""),
            status = error.status,
            "{}",
            error.message
        );
        self.writer.record_error(error);
    }

    pub(super) fn record_failure(
        &mut self,
        source: &str,
        target: &str,
        namespace: Option<&str>,
        failure: &ApiFailure,
    ) {
        self.record(failure.record(source, target, namespace));
    }

    /// A bundle problem stops the run unless it is only this entry's name.
    pub(super) fn bundle_result(
        &mut self,
        result: Result<(), BundleError>,
    ) -> Result<(), CollectError> {
        match result {
            Ok(()) => Ok(()),
            Err(BundleError::InvalidEntryName { entry, message }) => {
                self.record(CollectorError {
                    source: "bundle".into(),
                    target: Some(entry),
                    namespace: None,
                    status: None,
                    message: format!("not written: {message}"),
                });
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    pub(super) fn write_json(&mut self, entry: &str, mut value: Value) -> Result<(), CollectError> {
        if self.writer.contains(entry) {
            return Ok(());
        }
        let mut counts = RedactionCounts::new();
        Redactor::global().redact_json(&mut value, &mut counts);
        self.writer.count_redactions(&counts);
        let result = self.writer.add_json(entry, &value);
        self.bundle_result(result)
    }

    /// Writes a spooled list as one entry.
    pub(super) fn write_list(
        &mut self,
        entry: &str,
        list: &SpooledList,
    ) -> Result<(), CollectError> {
        if self.writer.contains(entry) {
            return Ok(());
        }
        self.writer.count_redactions(&list.redactions);
        let result = list.copy_whole_into(&mut self.writer, entry);
        self.bundle_result(result)
    }

    /// Writes a spooled list as one entry per namespace (`resource`'s entries), as the list's route grouped
    /// it. Entries already written (another stage's) are left as they are.
    pub(super) fn write_list_by_namespace(
        &mut self,
        resource: &str,
        list: &SpooledList,
    ) -> Result<(), CollectError> {
        self.writer.count_redactions(&list.redactions);
        for ns in list.groups() {
            let entry = objects_path(resource, Some(ns));
            if self.writer.contains(&entry) {
                continue;
            }
            let result = list.copy_group_into(&mut self.writer, &entry, ns);
            self.bundle_result(result)?;
        }
        Ok(())
    }

    /// Lists `api_resource` (in `namespace`, or cluster-wide) into the bundle. An API the cluster does not
    /// serve (404) leaves no entry; any other failure is recorded under `source`.
    pub(super) async fn list_into_bundle(
        &mut self,
        source: &str,
        api_resource: &str,
        namespace: Option<&str>,
        entry: Entry<'_>,
    ) -> Result<(), CollectError> {
        let route = match entry {
            Entry::One(_) => ListSpool::whole(),
            Entry::PerNamespace(_) => ListSpool::by_namespace(|_| true),
        };
        let path = resource_path(api_resource, namespace);
        let result = spool_list(
            &self.api,
            self.spool_dir.path(),
            &path,
            route,
            Keep::Nothing,
        )
        .await;
        match (result, entry) {
            (Ok(list), Entry::One(resource)) => {
                self.write_list(&objects_path(resource, namespace), &list)
            }
            (Ok(list), Entry::PerNamespace(resource)) => {
                self.write_list_by_namespace(resource, &list)
            }
            (Err(f), _) if f.is_not_found() => Ok(()),
            (Err(f), _) => {
                self.record_failure(source, api_resource, namespace, &f);
                Ok(())
            }
        }
    }

    pub(super) fn write_spooled(
        &mut self,
        entry: &str,
        spooled: Spooled,
    ) -> Result<(), CollectError> {
        self.writer.count_redactions(&spooled.redactions);
        tracing::debug!(entry, received = spooled.total, "writing");
        let result = spooled.copy_into(&mut self.writer, entry).map(drop);
        spooled.remove();
        self.bundle_result(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_resources() {
        assert_eq!(
            resource_path("deployments", Some("velero")),
            "/apis/apps/v1/namespaces/velero/deployments"
        );
        assert_eq!(resource_path("pods", None), "/api/v1/pods");
    }
}
