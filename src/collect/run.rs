//! One collection run: the stages, in order, each reading concurrently into spool files (object lists
//! redacted item by item, logs line by line) and writing them into the zip one entry at a time — object lists
//! once the stage's lists are read, logs as each finishes. What later stages decide from is kept as small
//! projections of the lists ([`Keep`]), never the lists themselves: memory stays flat however many objects
//! and however much log the cluster has.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Map, Value, json};

use super::CollectOptions;
use super::api::{ApiClient, ApiFailure, DEFAULT_CONCURRENCY};
use super::detect::{self, items};
use super::downloads::{self, DownloadContext, ObjectStoreClient, ServerKinds, VeleroObjects};
use super::in_cluster_store;
use super::interrupt::{Interrupt, Signal};
use super::kots_snapshots;
use super::lists::{Keep, ListSpool, Route, SpooledList};
use super::logs::{self, LogTarget};
use super::progress::Progress;
use super::spool::Spooled;
use super::stages::cluster::ClusterFacts;
use super::stages::workloads::Workloads;
use super::transient;
use super::windows::LogWindows;
use super::{CollectError, CollectOutcome};
use crate::bundle::layout::objects_path;
use crate::bundle::manifest::{ClusterInfo, Interruption};
use crate::bundle::writer::RunInfo;
use crate::bundle::{BundleError, BundleWriter, CollectorError};
use crate::redact::{RedactionCounts, Redactor};

/// DownloadRequests in progress at once. Each spends most of its time waiting for Velero to process it (polls
/// 100 ms apart and more), holding no API request slot meanwhile: [`DEFAULT_CONCURRENCY`] still bounds the
/// requests in flight. With 4, the 400 downloads of 200 backups were 10 s of waiting (BENCHMARKS.md).
const DOWNLOAD_CONCURRENCY: usize = 16;
/// How long an interrupted run spends deleting the DownloadRequests it created (`--delete-download-requests`).
const REQUEST_CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// One download of the plan: (bundle entry, what was spooled, errors).
async fn fetch_download(
    context: &DownloadContext<'_>,
    index: usize,
    download: &downloads::Download,
) -> (String, Option<Spooled>, Vec<CollectorError>) {
    let (spooled, errors) = context.fetch(download, &format!("download-{index}")).await;
    (download.kind.entry(&download.name), spooled, errors)
}

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

pub(super) struct Run<'o> {
    pub(super) api: ApiClient,
    pub(super) options: &'o CollectOptions,
    since: jiff::SignedDuration,
    pub(super) writer: BundleWriter,
    pub(super) spool_dir: tempfile::TempDir,
    pub(super) progress: Progress,
    pub(super) scope: Map<String, Value>,
    interrupt: Interrupt,
    /// Paths of the DownloadRequests created and not yet deleted.
    created_requests: Arc<Mutex<BTreeSet<String>>>,
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

    fn write_spooled(&mut self, entry: &str, spooled: Spooled) -> Result<(), CollectError> {
        self.writer.count_redactions(&spooled.redactions);
        tracing::debug!(entry, received = spooled.total, "writing");
        let result = spooled.copy_into(&mut self.writer, entry).map(drop);
        spooled.remove();
        self.bundle_result(result)
    }

    // ---- stage 5: logs and backup/restore downloads ----

    async fn logs_and_downloads_stage(
        &mut self,
        velero_ns: Option<&str>,
        velero: &BTreeMap<String, Value>,
        workloads: &Workloads,
        facts: &ClusterFacts,
        more_logs: Vec<LogTarget>,
        now: jiff::Timestamp,
    ) -> Result<(), CollectError> {
        let mut targets: Vec<LogTarget> = Vec::new();
        if let Some(ns) = &workloads.velero_ns
            && let Some(pods) = workloads.lists.get(&("pods", ns.clone()))
        {
            targets.extend(logs::velero_targets(pods));
            let transient: Vec<LogTarget> = transient::log_targets(pods)
                .into_iter()
                .filter(|t| !targets.contains(t))
                .collect();
            targets.extend(transient);
        }
        if let Some(ns) = &workloads.kots_ns
            && let Some(pods) = workloads.lists.get(&("pods", ns.clone()))
        {
            // A kotsadm pod in Velero's namespace is already under velero/logs if it matched there.
            add_new_containers(&mut targets, logs::kots_targets(pods));
        }
        // An object store's pods, restored pods' restore helpers: a pod is never fetched twice.
        add_new_containers(&mut targets, more_logs);
        let empty = empty_list();
        let backups = velero.get("backups").unwrap_or(&empty);
        let restores = velero.get("restores").unwrap_or(&empty);
        let locations = velero.get("backupstoragelocations").unwrap_or(&empty);
        let mut chosen_backups = detect::choose_recent(
            items(backups),
            &self.options.backups,
            self.options.recent,
            self.since,
            now,
        );
        let mut chosen_restores = detect::choose_recent(
            items(restores),
            &self.options.restores,
            self.options.recent,
            self.since,
            now,
        );
        // Backups (restores) that could not be listed may still have logs Velero can hand out: ask for the
        // ones other objects name.
        let lists = |plurals: &[&str]| -> Vec<&Value> {
            plurals.iter().filter_map(|p| velero.get(*p)).collect()
        };
        if velero_ns.is_some() && !velero.contains_key("backups") && self.options.backups.is_empty()
        {
            chosen_backups = detect::names_seen_elsewhere(
                &lists(&["podvolumebackups", "datauploads"]),
                "velero.io/backup-name",
                items(velero.get("schedules").unwrap_or(&empty)),
                self.options.recent,
            );
            self.scope.insert(
                "backupsFrom".into(),
                json!("labels of pod volume backups / data uploads, schedules"),
            );
        }
        if velero_ns.is_some()
            && !velero.contains_key("restores")
            && self.options.restores.is_empty()
        {
            chosen_restores = detect::names_seen_elsewhere(
                &lists(&["podvolumerestores", "datadownloads"]),
                "velero.io/restore-name",
                &[],
                self.options.recent,
            );
        }
        let server = ServerKinds {
            accepted: facts.download_kinds.clone(),
            release: workloads.velero_release(),
        };
        let velero_objects = VeleroObjects::new(backups, restores, locations);
        let (download_plan, mut skipped_kinds) = match velero_ns {
            Some(_) => downloads::plan(&chosen_backups, &chosen_restores, &velero_objects, &server),
            None => (Vec::new(), Vec::new()),
        };
        // Written now as well: an interrupted run still says what was chosen.
        self.scope.insert(
            "downloads".into(),
            json!({"backups": chosen_backups, "restores": chosen_restores, "skippedKinds": skipped_kinds}),
        );
        let store = if download_plan.is_empty() {
            None
        } else {
            match ObjectStoreClient::new(&velero_objects.ca_certs) {
                Ok(store) => Some(store),
                Err(message) => {
                    self.record(CollectorError {
                        source: "downloads".into(),
                        target: Some("object store client".into()),
                        namespace: None,
                        status: None,
                        message: format!("cannot set up the HTTPS client: {message}"),
                    });
                    None
                }
            }
        };

        self.progress
            .stage("logs and downloads", targets.len() + download_plan.len());
        let since_seconds = u64::try_from(self.since.as_secs()).ok();
        let limit = self.options.max_log_bytes;
        let mut windows = LogWindows::default();
        windows.add("backup", items(backups), &chosen_backups, now);
        windows.add("restore", items(restores), &chosen_restores, now);
        if !windows.is_empty() {
            self.scope.insert("logWindows".into(), windows.to_json());
        }
        let selection = logs::LogSelection {
            since_seconds,
            windows: Arc::new(windows),
            now,
            limit,
        };
        let download_timeout = Duration::from_secs(self.options.download_timeout);
        let keep_requests = !self.options.delete_download_requests;
        let created_requests = self.created_requests.clone();
        let dir = self.spool_dir.path().to_path_buf();
        let api = self.api.clone();
        let mut log_results = futures::stream::iter(targets.into_iter().enumerate())
            .map(|(index, target)| {
                let api = api.clone();
                let dir = dir.clone();
                let entry = target.entry.clone();
                // Spawned: logs keep streaming on the runtime's workers while this task compresses the
                // finished ones into the zip (the writer takes one entry at a time).
                let selection = selection.clone();
                let fetch = AbortOnDrop(tokio::spawn(async move {
                    let stem = format!("log-{index}");
                    logs::fetch(&api, &target, &selection, &dir, &stem).await
                }));
                async move { (entry, fetch.await) }
            })
            .buffer_unordered(DEFAULT_CONCURRENCY);
        let download_jobs = async {
            let (Some(store), Some(ns)) = (store.as_ref(), velero_ns) else {
                return (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            };
            let context = DownloadContext::new(&api, store, ns, download_timeout, limit, &dir)
                .keeping_requests(keep_requests)
                .tracking(created_requests);
            let mut plan = download_plan.iter().enumerate();
            // The first goes alone: when creating DownloadRequests is refused, or Velero processes none, the
            // rest are skipped before they start instead of failing many at once.
            let mut results = Vec::new();
            if let Some((index, download)) = plan.next() {
                results.push(fetch_download(&context, index, download).await);
            }
            results.extend(
                futures::stream::iter(plan)
                    .map(|(index, download)| fetch_download(&context, index, download))
                    .buffer_unordered(DOWNLOAD_CONCURRENCY)
                    .collect::<Vec<_>>()
                    .await,
            );
            if let Some(summary) = context.skipped_summary() {
                results.push((String::new(), None, vec![summary]));
            }
            (
                results,
                context.refused_kinds(),
                context.absent(),
                context.urls(),
            )
        };
        // Logs are written as they finish, in the order they finish.
        let write_logs = async {
            while let Some((entry, fetched)) = log_results.next().await {
                match fetched {
                    Ok(Ok(spooled)) => self.write_spooled(&entry, spooled)?,
                    Ok(Err(error)) => self.record(error),
                    Err(failure) => self.record(CollectorError {
                        source: "logs".into(),
                        target: Some(entry.clone()),
                        namespace: None,
                        status: None,
                        message: format!("the log could not be fetched: {failure}"),
                    }),
                }
                self.progress.step(&entry);
            }
            Ok::<(), CollectError>(())
        };
        let (written, (mut download_results, refused_kinds, absent, urls)) =
            futures::join!(write_logs, download_jobs);
        written?;
        skipped_kinds.extend(refused_kinds);
        let absent: Vec<Value> = absent
            .into_iter()
            .map(|(kind, name)| json!({"kind": kind, "name": name}))
            .collect();
        self.scope.insert(
            "downloads".into(),
            json!({
                "backups": chosen_backups,
                "restores": chosen_restores,
                "skippedKinds": skipped_kinds,
                "notInStore": absent,
                "urls": urls.iter().map(|u| u.to_json()).collect::<Vec<_>>(),
            }),
        );
        download_results.sort_by(|a, b| a.0.cmp(&b.0));
        for (entry, spooled, errors) in download_results {
            if let Some(spooled) = spooled {
                self.write_spooled(&entry, spooled)?;
            }
            for error in errors {
                self.record(error);
            }
            self.progress.step(&entry);
        }
        Ok(())
    }
}

/// Adds the targets whose container log (current or previous) no target already names.
fn add_new_containers(targets: &mut Vec<LogTarget>, more: Vec<LogTarget>) {
    for target in more {
        if !targets.iter().any(|t| {
            t.pod == target.pod && t.container == target.container && t.previous == target.previous
        }) {
            targets.push(target);
        }
    }
}

/// A spawned task aborted when its handle is dropped: an interrupted run stops its log fetches rather than
/// leaving them writing into a spool folder being removed.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
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
