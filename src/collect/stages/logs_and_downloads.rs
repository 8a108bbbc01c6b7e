//! Stage 5: logs and backup/restore downloads. The container logs of Velero's server, node agents and the pods
//! it runs for one operation, of kotsadm, of an in-cluster object store and of restore helpers (each container
//! once), and the files Velero hands out through DownloadRequests (logs, results) for the backups and restores
//! chosen (`--backup`/`--restore`, else the newest `--recent` and the failed ones within `--since`). Logs are
//! written as they finish; downloads, and what the scope says of them (`downloads`), after.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use super::transient;
use crate::bundle::CollectorError;
use crate::collect::CollectError;
use crate::collect::api::DEFAULT_CONCURRENCY;
use crate::collect::detect::{self, items};
use crate::collect::downloads::{
    self, DownloadContext, ObjectStoreClient, ServerKinds, VeleroObjects,
};
use crate::collect::logs::{self, LogTarget};
use crate::collect::run::{Run, empty_list};
use crate::collect::spool::Spooled;
use crate::collect::stages::cluster::ClusterFacts;
use crate::collect::stages::workloads::Workloads;
use crate::collect::windows::LogWindows;

/// DownloadRequests in progress at once. Each spends most of its time waiting for Velero to process it (polls
/// 100 ms apart and more), holding no API request slot meanwhile: [`DEFAULT_CONCURRENCY`] still bounds the
/// requests in flight. With 4, the 400 downloads of 200 backups were 10 s of waiting (BENCHMARKS.md).
const DOWNLOAD_CONCURRENCY: usize = 16;

/// One download of the plan: (bundle entry, what was spooled, errors).
async fn fetch_download(
    context: &DownloadContext<'_>,
    index: usize,
    download: &downloads::Download,
) -> (String, Option<Spooled>, Vec<CollectorError>) {
    let (spooled, errors) = context.fetch(download, &format!("download-{index}")).await;
    (download.kind.entry(&download.name), spooled, errors)
}

impl Run<'_> {
    pub(in crate::collect) async fn logs_and_downloads_stage(
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
