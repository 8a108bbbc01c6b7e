//! Backup and restore logs and results, fetched as `velero backup logs` does: create a DownloadRequest
//! in Velero's namespace, wait for the server to set status.phase Processed and a (pre-signed) download
//! URL, GET that URL from the object store with a plain HTTP(S) client, gunzip, redact, and delete the
//! DownloadRequest.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::api::ApiClient;
use super::detect::items;
use super::spool::{Spool, Spooled};
use super::url_reach::{self, Reach, UrlReach};
use crate::bundle::CollectorError;
use crate::bundle::layout;

/// The answer of the object store, headers included, must come within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A download silent this long is taken as dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Results are JSON: cut, they would not parse. They are small; this only bounds a broken store.
pub(super) const MAX_RESULTS_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum DownloadKind {
    BackupLog,
    BackupResults,
    BackupVolumeInfos,
    BackupItemOperations,
    BackupResourceList,
    BackupVolumeSnapshots,
    CSIBackupVolumeSnapshots,
    CSIBackupVolumeSnapshotContents,
    RestoreLog,
    RestoreResults,
    RestoreVolumeInfo,
    RestoreItemOperations,
    RestoreResourceList,
}

/// A Velero release as (major, minor).
pub(super) type Release = (u64, u64);

/// The kinds fetched besides logs and results, for the backups and restores a diagnosis looks at closely.
pub(super) const BACKUP_DETAILS: &[DownloadKind] = &[
    DownloadKind::BackupVolumeInfos,
    DownloadKind::BackupItemOperations,
    DownloadKind::BackupResourceList,
    DownloadKind::BackupVolumeSnapshots,
    DownloadKind::CSIBackupVolumeSnapshots,
    DownloadKind::CSIBackupVolumeSnapshotContents,
];
/// [`BACKUP_DETAILS`] for restores.
pub(super) const RESTORE_DETAILS: &[DownloadKind] = &[
    DownloadKind::RestoreVolumeInfo,
    DownloadKind::RestoreItemOperations,
    DownloadKind::RestoreResourceList,
];

impl DownloadKind {
    /// The DownloadRequest target kind.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            DownloadKind::BackupLog => "BackupLog",
            DownloadKind::BackupResults => "BackupResults",
            DownloadKind::BackupVolumeInfos => "BackupVolumeInfos",
            DownloadKind::BackupItemOperations => "BackupItemOperations",
            DownloadKind::BackupResourceList => "BackupResourceList",
            DownloadKind::BackupVolumeSnapshots => "BackupVolumeSnapshots",
            DownloadKind::CSIBackupVolumeSnapshots => "CSIBackupVolumeSnapshots",
            DownloadKind::CSIBackupVolumeSnapshotContents => "CSIBackupVolumeSnapshotContents",
            DownloadKind::RestoreLog => "RestoreLog",
            DownloadKind::RestoreResults => "RestoreResults",
            DownloadKind::RestoreVolumeInfo => "RestoreVolumeInfo",
            DownloadKind::RestoreItemOperations => "RestoreItemOperations",
            DownloadKind::RestoreResourceList => "RestoreResourceList",
        }
    }

    /// The file's name in the bundle, beside the backup's (restore's) log; also the DownloadRequest's
    /// name part.
    fn file(self) -> &'static str {
        match self {
            DownloadKind::BackupLog => "backup.log",
            DownloadKind::RestoreLog => "restore.log",
            DownloadKind::BackupResults | DownloadKind::RestoreResults => "results.json",
            DownloadKind::BackupVolumeInfos | DownloadKind::RestoreVolumeInfo => "volumeinfo.json",
            DownloadKind::BackupItemOperations | DownloadKind::RestoreItemOperations => {
                "itemoperations.json"
            }
            DownloadKind::BackupResourceList | DownloadKind::RestoreResourceList => {
                "resource-list.json"
            }
            DownloadKind::BackupVolumeSnapshots => "volumesnapshots.json",
            DownloadKind::CSIBackupVolumeSnapshots => "csi-volumesnapshots.json",
            DownloadKind::CSIBackupVolumeSnapshotContents => "csi-volumesnapshotcontents.json",
        }
    }

    fn short(self) -> &'static str {
        let file = self.file();
        match file.split_once('.') {
            Some(("backup" | "restore", _)) => "log",
            Some((stem, _)) => stem,
            None => file,
        }
    }

    pub(super) fn is_log(self) -> bool {
        matches!(self, DownloadKind::BackupLog | DownloadKind::RestoreLog)
    }

    /// Logs and results are asked for every backup chosen; without them there is no diagnosis, so a
    /// missing one is a failure to report. The other files are details, absent for many a backup.
    fn is_detail(self) -> bool {
        !matches!(
            self,
            DownloadKind::BackupLog
                | DownloadKind::BackupResults
                | DownloadKind::RestoreLog
                | DownloadKind::RestoreResults
        )
    }

    fn of_restore(self) -> bool {
        matches!(
            self,
            DownloadKind::RestoreLog
                | DownloadKind::RestoreResults
                | DownloadKind::RestoreVolumeInfo
                | DownloadKind::RestoreItemOperations
                | DownloadKind::RestoreResourceList
        )
    }

    pub(super) fn entry(self, name: &str) -> String {
        if self.of_restore() {
            layout::restore_file_path(name, self.file())
        } else {
            layout::backup_file_path(name, self.file())
        }
    }

    /// The first Velero release whose DownloadRequest CRD accepts the kind, and the last one that still
    /// writes its file, when it stopped. From vmware-tanzu/velero's history of
    /// pkg/apis/velero/v1/download_request_types.go and pkg/persistence/object_store.go: BackupResourceList
    /// 11bfe8234 (v1.6.0), CSI snapshots 735d506a7 (v1.10.0) until 8ce07eb94 removed them from the upload
    /// (v1.17.0), item operations 70b423801 and RestoreResourceList eb4ecd376 (v1.11.0), BackupVolumeInfos
    /// 7f5232177 (v1.13.0), RestoreVolumeInfo 0a280e578 (v1.14.0).
    fn releases(self) -> (Release, Option<Release>) {
        match self {
            DownloadKind::BackupResourceList => ((1, 6), None),
            DownloadKind::CSIBackupVolumeSnapshots
            | DownloadKind::CSIBackupVolumeSnapshotContents => ((1, 10), Some((1, 16))),
            DownloadKind::BackupItemOperations
            | DownloadKind::RestoreItemOperations
            | DownloadKind::RestoreResourceList => ((1, 11), None),
            DownloadKind::BackupVolumeInfos => ((1, 13), None),
            DownloadKind::RestoreVolumeInfo => ((1, 14), None),
            _ => ((0, 0), None),
        }
    }
}

/// Which DownloadRequest kinds the Velero server takes: its CRD's enum of `spec.target.kind` when the
/// CRD was read (the API server refuses any other), else what its release is known to take.
#[derive(Debug, Default, Clone)]
pub(super) struct ServerKinds {
    /// The enum of the installed DownloadRequest CRD.
    pub(super) accepted: Option<BTreeSet<String>>,
    /// The server's release, from its image tag.
    pub(super) release: Option<Release>,
}

impl ServerKinds {
    /// Why the kind is not asked for, if it is not.
    fn refuses(&self, kind: DownloadKind) -> Option<String> {
        if let Some(accepted) = &self.accepted
            && !accepted.contains(kind.as_str())
        {
            return Some("the server's DownloadRequest CRD does not list it".into());
        }
        let release = self.release?;
        let ((major, minor), last) = kind.releases();
        // Checked even when the CRD lists the kind: CRDs upgraded ahead of the server take requests its
        // controller cannot process, which would wait out the timeout.
        if release < (major, minor) {
            return Some(format!("Velero v{major}.{minor} added it"));
        }
        match last {
            Some(last) if release > last => Some(format!(
                "Velero stopped writing it after v{}.{}",
                last.0, last.1
            )),
            _ => None,
        }
    }
}

/// A kind left out of the plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(super) struct SkippedKind {
    pub kind: &'static str,
    pub why: String,
}

/// "v1.14.2" → (1, 14).
pub(super) fn release_of(version: &str) -> Option<Release> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.split(['-', '+']).next()?.parse().ok()?;
    Some((major, minor))
}

/// The enum of `spec.target.kind` in a DownloadRequest CRD (any served version).
pub(super) fn accepted_kinds(crd: &Value) -> Option<BTreeSet<String>> {
    let versions = crd.pointer("/spec/versions")?.as_array()?;
    let kinds: BTreeSet<String> = versions
        .iter()
        .filter_map(|v| {
            v.pointer(
                "/schema/openAPIV3Schema/properties/spec/properties/target/properties/kind/enum",
            )
        })
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    (!kinds.is_empty()).then_some(kinds)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Download {
    pub kind: DownloadKind,
    /// The backup or restore.
    pub name: String,
    /// The object store's certificate is not checked (its location says insecureSkipTLSVerify).
    pub insecure: bool,
    /// Why its storage location may not serve it: Unavailable at its last validation, in the location's words.
    /// Added to the reason a download failed, so the report says the location, not only the symptom.
    pub location_note: Option<String>,
}

/// At most this many backups (and as many restores) get the detail files: the failed ones, newest first,
/// and the newest of all. Each is up to six more requests; a fleet of failed backups would otherwise
/// multiply the collection's time.
pub(super) const MAX_DETAILED: usize = 10;

/// Log and results of each backup and restore, with the TLS setting of the location each is stored in;
/// the detail files ([`BACKUP_DETAILS`], [`RESTORE_DETAILS`]) of the failed ones and of the newest, in the
/// kinds the server takes. `backups` and `restores` are newest first. Returns the plan and the kinds left
/// out.
pub(super) fn plan(
    backups: &[String],
    restores: &[String],
    velero_objects: &VeleroObjects,
    server: &ServerKinds,
) -> (Vec<Download>, Vec<SkippedKind>) {
    let mut out = Vec::new();
    let mut skipped: Vec<SkippedKind> = Vec::new();
    let mut details = |all: &[DownloadKind]| -> Vec<DownloadKind> {
        all.iter()
            .copied()
            .filter(|kind| match server.refuses(*kind) {
                Some(why) => {
                    skipped.push(SkippedKind {
                        kind: kind.as_str(),
                        why,
                    });
                    false
                }
                None => true,
            })
            .collect()
    };
    let backup_details = details(BACKUP_DETAILS);
    let restore_details = details(RESTORE_DETAILS);
    let detailed = |names: &[String], phases: &BTreeMap<String, String>| -> BTreeSet<String> {
        let failed = names.iter().filter(|n| {
            matches!(
                phases.get(*n).map(String::as_str),
                Some("Failed" | "PartiallyFailed")
            )
        });
        names
            .first()
            .into_iter()
            .chain(failed)
            .take(MAX_DETAILED)
            .cloned()
            .collect()
    };
    let detailed_backups = detailed(backups, &velero_objects.backup_phase);
    let detailed_restores = detailed(restores, &velero_objects.restore_phase);
    // Details go last: logs and results matter most, and come first when time runs short.
    let mut details_planned = Vec::new();
    let push = |into: &mut Vec<Download>,
                kinds: &[DownloadKind],
                name: &String,
                (insecure, note): (bool, &Option<String>)| {
        into.extend(kinds.iter().map(|kind| Download {
            kind: *kind,
            name: name.clone(),
            insecure,
            location_note: note.clone(),
        }));
    };
    for name in backups {
        let insecure = velero_objects.backup_insecure(name);
        let note = velero_objects.backup_location_note(name);
        let essential = [DownloadKind::BackupLog, DownloadKind::BackupResults];
        push(&mut out, &essential, name, (insecure, &note));
        if detailed_backups.contains(name) {
            push(
                &mut details_planned,
                &backup_details,
                name,
                (insecure, &note),
            );
        }
    }
    for name in restores {
        let backup = velero_objects.restore_backup(name);
        let insecure = backup.is_some_and(|b| velero_objects.backup_insecure(b));
        let note = backup.and_then(|b| velero_objects.backup_location_note(b));
        let essential = [DownloadKind::RestoreLog, DownloadKind::RestoreResults];
        push(&mut out, &essential, name, (insecure, &note));
        if detailed_restores.contains(name) {
            push(
                &mut details_planned,
                &restore_details,
                name,
                (insecure, &note),
            );
        }
    }
    out.extend(details_planned);
    (out, skipped)
}

/// What the download plan needs to know of the Velero objects read.
#[derive(Debug, Default)]
pub(super) struct VeleroObjects {
    /// backup → its storage location
    backup_location: BTreeMap<String, String>,
    /// restore → its backup
    restore_backup: BTreeMap<String, String>,
    /// backup → status.phase
    backup_phase: BTreeMap<String, String>,
    /// restore → status.phase
    restore_phase: BTreeMap<String, String>,
    /// location → insecureSkipTLSVerify
    location_insecure: BTreeMap<String, bool>,
    /// location → what its status says when its phase is Unavailable
    location_unavailable: BTreeMap<String, String>,
    /// caCert of every location (PEM), to trust the object store's certificate.
    pub(crate) ca_certs: Vec<Vec<u8>>,
}

impl VeleroObjects {
    pub(super) fn new(backups: &Value, restores: &Value, locations: &Value) -> Self {
        let name = |o: &Value| {
            o.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut objects = VeleroObjects::default();
        let phase = |o: &Value| {
            o.pointer("/status/phase")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        for backup in items(backups) {
            if let (Some(n), Some(phase)) = (name(backup), phase(backup)) {
                objects.backup_phase.insert(n, phase);
            }
            if let (Some(n), Some(location)) = (
                name(backup),
                backup
                    .pointer("/spec/storageLocation")
                    .and_then(Value::as_str),
            ) {
                objects.backup_location.insert(n, location.to_string());
            }
        }
        for restore in items(restores) {
            if let (Some(n), Some(phase)) = (name(restore), phase(restore)) {
                objects.restore_phase.insert(n, phase);
            }
            if let (Some(n), Some(backup)) = (
                name(restore),
                restore.pointer("/spec/backupName").and_then(Value::as_str),
            ) {
                objects.restore_backup.insert(n, backup.to_string());
            }
        }
        for location in items(locations) {
            let Some(n) = name(location) else { continue };
            let insecure = location
                .pointer("/spec/config/insecureSkipTLSVerify")
                .is_some_and(|v| v.as_str() == Some("true") || v.as_bool() == Some(true));
            if location.pointer("/status/phase").and_then(Value::as_str) == Some("Unavailable") {
                let mut note =
                    format!("its storage location {n} was Unavailable at its last validation");
                if let Some(at) = location
                    .pointer("/status/lastValidationTime")
                    .and_then(Value::as_str)
                {
                    note.push_str(&format!(" ({at})"));
                }
                if let Some(message) = location
                    .pointer("/status/message")
                    .and_then(Value::as_str)
                    .filter(|m| !m.trim().is_empty())
                {
                    note.push_str(&format!(": {}", message.trim()));
                }
                objects.location_unavailable.insert(n.clone(), note);
            }
            objects.location_insecure.insert(n, insecure);
            if let Some(ca) = location
                .pointer("/spec/objectStorage/caCert")
                .and_then(Value::as_str)
                && let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(ca.trim())
            {
                objects.ca_certs.push(pem);
            }
        }
        objects
    }

    fn backup_insecure(&self, backup: &str) -> bool {
        self.backup_location
            .get(backup)
            .and_then(|l| self.location_insecure.get(l))
            .copied()
            .unwrap_or(false)
    }

    /// What makes the location of `backup` unlikely to serve its files (the default location when it names
    /// none, as Velero does).
    fn backup_location_note(&self, backup: &str) -> Option<String> {
        let location = self
            .backup_location
            .get(backup)
            .map_or("default", String::as_str);
        self.location_unavailable.get(location).cloned()
    }

    fn restore_backup(&self, restore: &str) -> Option<&str> {
        self.restore_backup.get(restore).map(String::as_str)
    }
}

type Https = HttpClient<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The plain HTTP(S) client for download URLs (object stores, not the API server).
pub(super) struct ObjectStoreClient {
    verified: Https,
    insecure: Https,
}

fn https_client(config: rustls::ClientConfig) -> Https {
    crate::tls::object_store_client(config, CONNECT_TIMEOUT)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ObjectStoreClient {
    /// Trusts the system's roots and the storage locations' caCerts (as Velero does).
    pub(super) fn new(extra_ca_pems: &[Vec<u8>]) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A system certificate rustls cannot use is skipped, as every client does.
            let _ = roots.add(cert);
        }
        for pem in extra_ca_pems {
            for cert in CertificateDer::pem_slice_iter(pem).flatten() {
                let _ = roots.add(cert);
            }
        }
        let verified = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let insecure = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::tls::SkipVerify::new(provider())))
            .with_no_client_auth();
        Ok(ObjectStoreClient {
            verified: https_client(verified),
            insecure: https_client(insecure),
        })
    }
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A DownloadRequest name: `snapdoc-<name>-<log|results>-<unique>`, a valid DNS subdomain.
pub(super) fn request_name(download: &Download) -> String {
    let unique = jiff::Timestamp::now().as_nanosecond() as u64
        ^ (u64::from(std::process::id()) << 32)
        ^ REQUEST_COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut base: String = download
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(200)
        .collect();
    base = base.trim_matches(|c| c == '-' || c == '.').to_string();
    format!(
        "snapdoc-{base}-{}-{:08x}",
        download.kind.short(),
        unique & 0xffff_ffff
    )
}

fn request_object(name: &str, namespace: &str, download: &Download) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "DownloadRequest",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/created-by": "snapdoc"}
        },
        "spec": {"target": {"kind": download.kind.as_str(), "name": download.name}}
    })
}

/// Everything one download needs besides the download itself.
pub(super) struct DownloadContext<'a> {
    pub api: &'a ApiClient,
    pub store: &'a ObjectStoreClient,
    pub namespace: &'a str,
    pub timeout: Duration,
    pub(crate) log_limit: u64,
    pub dir: &'a Path,
    /// Leave each DownloadRequest for Velero to expire rather than deleting it.
    keep_requests: bool,
    /// Set when no later download can succeed (creation forbidden, Velero not processing requests):
    /// the rest are skipped rather than each failing alike.
    gave_up: Mutex<Option<String>>,
    skipped: AtomicUsize,
    /// Kinds the API server refused to create a DownloadRequest for (its CRD does not list them), and its
    /// words: later requests of the kind are not tried.
    refused_kinds: Mutex<BTreeMap<&'static str, String>>,
    /// Detail files the object store does not hold (Velero writes several only when there is something in
    /// them, or only since some release): (kind, backup or restore).
    absent: Mutex<Vec<(&'static str, String)>>,
    /// Paths of the DownloadRequests created (or being created) and not yet deleted, for a run that is
    /// interrupted to delete them (`--delete-download-requests`).
    created: Arc<Mutex<BTreeSet<String>>>,
    /// Each signed URL followed, and how far this machine got with it.
    urls: Mutex<Vec<UrlReach>>,
}

impl<'a> DownloadContext<'a> {
    pub(super) fn new(
        api: &'a ApiClient,
        store: &'a ObjectStoreClient,
        namespace: &'a str,
        timeout: Duration,
        log_limit: u64,
        dir: &'a Path,
    ) -> Self {
        DownloadContext {
            api,
            store,
            namespace,
            timeout,
            log_limit,
            dir,
            keep_requests: false,
            gave_up: Mutex::new(None),
            skipped: AtomicUsize::new(0),
            refused_kinds: Mutex::default(),
            absent: Mutex::default(),
            created: Arc::default(),
            urls: Mutex::default(),
        }
    }

    /// Records the DownloadRequests created and not yet deleted in `created`.
    pub(super) fn tracking(mut self, created: Arc<Mutex<BTreeSet<String>>>) -> Self {
        self.created = created;
        self
    }

    fn track(&self, path: &str, present: bool) {
        if let Ok(mut created) = self.created.lock() {
            if present {
                created.insert(path.to_string());
            } else {
                created.remove(path);
            }
        }
    }

    pub(super) fn keeping_requests(mut self, keep: bool) -> Self {
        self.keep_requests = keep;
        self
    }

    fn give_up(&self, why: String) {
        if let Ok(mut gave_up) = self.gave_up.lock() {
            gave_up.get_or_insert(why);
        }
    }

    fn given_up(&self) -> bool {
        self.gave_up.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    /// One record for the downloads skipped after giving up, if any were.
    pub(super) fn skipped_summary(&self) -> Option<CollectorError> {
        let skipped = self.skipped.load(Ordering::Relaxed);
        let why = self.gave_up.lock().ok()?.clone()?;
        (skipped > 0).then(|| CollectorError {
            source: "downloads".into(),
            target: Some(format!("{skipped} more backup/restore logs and results")),
            namespace: Some(self.namespace.to_string()),
            status: None,
            message: format!("not tried: {why}"),
        })
    }

    /// The kinds the API server refused, with its words.
    pub(super) fn refused_kinds(&self) -> Vec<SkippedKind> {
        self.refused_kinds
            .lock()
            .map(|refused| {
                refused
                    .iter()
                    .map(|(kind, why)| SkippedKind {
                        kind,
                        why: why.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The detail files the object store does not hold: (kind, backup or restore).
    pub(super) fn absent(&self) -> Vec<(&'static str, String)> {
        let mut absent = self.absent.lock().map(|a| a.clone()).unwrap_or_default();
        absent.sort();
        absent
    }

    /// Each signed URL followed and how far this machine got with it, in the order of their targets.
    pub(super) fn urls(&self) -> Vec<UrlReach> {
        let mut urls = self.urls.lock().map(|u| u.clone()).unwrap_or_default();
        urls.sort_by(|a, b| a.target.cmp(&b.target));
        urls
    }

    /// The first URL of `endpoint` this machine did not reach, if one was not.
    fn unreachable(&self, endpoint: &str) -> Option<UrlReach> {
        let urls = self.urls.lock().ok()?;
        urls.iter()
            .find(|u| u.endpoint == endpoint && !u.reach.reached())
            .cloned()
    }

    fn record_url(&self, reach: UrlReach) {
        if let Ok(mut urls) = self.urls.lock() {
            urls.push(reach);
        }
    }

    fn kind_refused(&self, kind: DownloadKind) -> bool {
        self.refused_kinds
            .lock()
            .map(|r| r.contains_key(kind.as_str()))
            .unwrap_or(false)
    }

    fn error(&self, download: &Download, status: Option<u16>, message: String) -> CollectorError {
        CollectorError {
            source: "downloads".into(),
            target: Some(format!("{} {}", download.kind.as_str(), download.name)),
            namespace: Some(self.namespace.to_string()),
            status,
            message,
        }
    }

    /// Fetches one log or results file. Errors (cleanup included) are returned for the manifest.
    pub(super) async fn fetch(
        &self,
        download: &Download,
        stem: &str,
    ) -> (Option<Spooled>, Vec<CollectorError>) {
        let collection = format!(
            "/apis/velero.io/v1/namespaces/{}/downloadrequests",
            self.namespace
        );
        if self.given_up() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return (None, Vec::new());
        }
        if self.kind_refused(download.kind) {
            return (None, Vec::new());
        }
        let name = request_name(download);
        let path = format!("{collection}/{name}");
        // Tracked before it exists: a run interrupted while the create is on its way still deletes it.
        self.track(&path, true);
        if let Err(failure) = self
            .api
            .create(
                &collection,
                &request_object(&name, self.namespace, download),
            )
            .await
        {
            self.track(&path, false);
            if failure.status == Some(422) {
                // The CRD's enum of target kinds is older than this kind: the server's release does not
                // know it, and no other request of the kind can succeed.
                if let Ok(mut refused) = self.refused_kinds.lock() {
                    refused
                        .entry(download.kind.as_str())
                        .or_insert_with(|| failure.message.clone());
                }
                return (None, Vec::new());
            }
            if failure.is_forbidden() {
                self.give_up("creating DownloadRequests is forbidden".into());
            } else if failure.is_not_found() {
                self.give_up("the cluster serves no DownloadRequests".into());
            }
            let message = format!("cannot create a DownloadRequest: {}", failure.message);
            return (None, vec![self.error(download, failure.status, message)]);
        }
        let mut errors = Vec::new();
        let fetched = match self.wait_for_url(&collection, &name, download.kind).await {
            Ok(url) => self.download(download, &url, stem).await,
            Err(error) => Err(error),
        };
        let spooled = match fetched {
            Ok(spooled) => Some(spooled),
            Err((Some(404), _)) if download.kind.is_detail() => {
                if let Ok(mut absent) = self.absent.lock() {
                    absent.push((download.kind.as_str(), download.name.clone()));
                }
                None
            }
            Err((status, message)) => {
                let message = match &download.location_note {
                    Some(note) => format!("{message}; {note}"),
                    None => message,
                };
                errors.push(self.error(download, status, message));
                None
            }
        };
        if self.keep_requests {
            return (spooled, errors);
        }
        let deleted = self.api.delete(&path).await;
        self.track(&path, false);
        if let Err(failure) = deleted
            && !failure.is_not_found()
        {
            errors.push(self.error(
                download,
                failure.status,
                format!(
                    "cannot delete DownloadRequest {name} (Velero removes it when it expires): {}",
                    failure.message
                ),
            ));
        }
        (spooled, errors)
    }

    async fn wait_for_url(
        &self,
        collection: &str,
        name: &str,
        kind: DownloadKind,
    ) -> Result<String, (Option<u16>, String)> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.api.get(&format!("{collection}/{name}")).await {
                Ok(request) => {
                    let phase = request.pointer("/status/phase").and_then(Value::as_str);
                    let url = request
                        .pointer("/status/downloadURL")
                        .and_then(Value::as_str)
                        .filter(|u| !u.is_empty());
                    if let (Some("Processed"), Some(url)) = (phase, url) {
                        return Ok(url.to_string());
                    }
                }
                Err(failure) if failure.is_forbidden() || failure.is_not_found() => {
                    return Err((
                        failure.status,
                        format!("cannot read DownloadRequest {name}: {}", failure.message),
                    ));
                }
                Err(failure) => {
                    tracing::debug!(%name, %failure, "polling the DownloadRequest");
                }
            }
            // A detail file left unprocessed says little of Velero: the server may not know the kind.
            if tokio::time::Instant::now() + pause > deadline && kind.is_detail() {
                return Err((
                    None,
                    format!(
                        "Velero did not process DownloadRequest {name} within {}s (its release may not hand out {} files)",
                        self.timeout.as_secs(),
                        kind.as_str()
                    ),
                ));
            }
            if tokio::time::Instant::now() + pause > deadline {
                self.give_up(format!(
                    "Velero processed no DownloadRequest within {}s",
                    self.timeout.as_secs()
                ));
                return Err((
                    None,
                    format!(
                        "Velero did not process DownloadRequest {name} within {}s (is the velero server running and its storage location available?)",
                        self.timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn download(
        &self,
        download: &Download,
        url: &str,
        stem: &str,
    ) -> Result<Spooled, (Option<u16>, String)> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| (None, format!("the download URL is not a URL: {e}")))?;
        let host = uri.host().unwrap_or("?").to_string();
        let mut reach = UrlReach {
            target: format!("{} {}", download.kind.as_str(), download.name),
            url: url_reach::redacted(&uri),
            endpoint: url_reach::endpoint(&uri),
            reach: Reach::Answered,
            status: None,
            why: None,
        };
        // An endpoint already found unreachable from here is not tried again: each try could wait out the
        // timeout, and every URL Velero signs for a location points at the same endpoint.
        if let Some(earlier) = self.unreachable(&reach.endpoint) {
            reach.reach = earlier.reach;
            reach.why = Some(format!(
                "{} (found with {}; not tried again)",
                earlier.why.as_deref().unwrap_or("not reached"),
                earlier.target
            ));
            let message = reach.message();
            self.record_url(reach);
            return Err((None, message));
        }
        let client = if download.insecure {
            &self.store.insecure
        } else {
            &self.store.verified
        };
        let not_reached = |mut reach: UrlReach, how: Reach, why: String| {
            reach.reach = how;
            reach.why = Some(why);
            let message = reach.message();
            self.record_url(reach);
            (None, message)
        };
        let response = match tokio::time::timeout(CONNECT_TIMEOUT, client.get(uri)).await {
            Err(_) => {
                let why = format!(
                    "the object store at {host} did not answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                );
                return Err(not_reached(reach, Reach::Timeout, why));
            }
            Ok(Err(e)) => {
                let (how, why) = url_reach::classify(&e, &host);
                return Err(not_reached(reach, how, why));
            }
            Ok(Ok(response)) => response,
        };
        reach.status = Some(response.status().as_u16());
        self.record_url(reach);
        let status = response.status();
        let mut body = response.into_body();
        if !status.is_success() {
            let mut text = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    text.extend_from_slice(&data);
                }
                if text.len() > 4096 {
                    break;
                }
            }
            return Err((
                Some(status.as_u16()),
                format!(
                    "the object store at {host} answered {status}: {}",
                    object_store_error(&String::from_utf8_lossy(&text))
                ),
            ));
        }
        let limit = if download.kind.is_log() {
            self.log_limit
        } else {
            MAX_RESULTS_BYTES
        };
        let mut spool = Spool::new(self.dir, stem, limit);
        let io_error = |e: io::Error| (None, format!("cannot spool the download: {e}"));
        let mut decoder = Gunzip::new(&mut spool);
        let mut cut = None;
        loop {
            match tokio::time::timeout(IDLE_TIMEOUT, body.frame()).await {
                Err(_) => {
                    cut = Some(format!(
                        "download silent for {}s: kept what came",
                        IDLE_TIMEOUT.as_secs()
                    ));
                    break;
                }
                Ok(None) => break,
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        decoder.push(&data).map_err(io_error)?;
                    }
                }
                Ok(Some(Err(e))) => {
                    cut = Some(format!("download dropped: {e}"));
                    break;
                }
            }
        }
        if let Err(e) = decoder.finish() {
            cut = Some(match cut {
                Some(before) => format!("{before}; the gzip data ends early: {e}"),
                None => format!("the gzip data is damaged: {e}"),
            });
        }
        if let Some(reason) = cut {
            spool.cut(reason);
        }
        spool.finish().map_err(io_error)
    }
}

/// The gist of an object store's error body: S3-style `<Code>` / `<Message>` / `<Key>`, else the text.
fn object_store_error(body: &str) -> String {
    let element = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&close)? + start;
        Some(body[start..end].trim().to_string())
    };
    match (element("Code"), element("Message")) {
        (Some(code), message) => {
            let mut text = code;
            if let Some(message) = message {
                text.push_str(": ");
                text.push_str(&message);
            }
            if let Some(key) = element("Key") {
                text.push_str(&format!(" (key {key})"));
            }
            text
        }
        (None, _) => body.trim().chars().take(500).collect(),
    }
}

/// Gunzips what is gzip (Velero stores logs and results as .gz), passes anything else as it is.
enum Gunzip<W: Write> {
    Undecided(Vec<u8>, Option<W>),
    Gzip(Box<flate2::write::MultiGzDecoder<W>>),
    Plain(W),
}

impl<W: Write> Gunzip<W> {
    fn new(out: W) -> Self {
        Gunzip::Undecided(Vec::new(), Some(out))
    }

    fn push(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Gunzip::Gzip(decoder) => decoder.write_all(data),
            Gunzip::Plain(out) => out.write_all(data),
            Gunzip::Undecided(head, out) => {
                head.extend_from_slice(data);
                if head.len() < 2 {
                    return Ok(());
                }
                let head = std::mem::take(head);
                let Some(out) = out.take() else {
                    return Err(io::Error::other("download sink already used"));
                };
                *self = if head.starts_with(&[0x1f, 0x8b]) {
                    Gunzip::Gzip(Box::new(flate2::write::MultiGzDecoder::new(out)))
                } else {
                    Gunzip::Plain(out)
                };
                self.push(&head)
            }
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Gunzip::Gzip(decoder) => decoder.finish().map(drop),
            Gunzip::Plain(mut out) => out.flush(),
            Gunzip::Undecided(head, Some(mut out)) => out.write_all(&head),
            Gunzip::Undecided(_, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn gunzip_in_chunks(data: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut decoder = Gunzip::new(&mut out);
        for piece in data.chunks(chunk) {
            decoder.push(piece)?;
        }
        decoder.finish()?;
        Ok(out)
    }

    #[test]
    fn gzip_is_decompressed_in_any_chunking_and_plain_passes() {
        let text = b"level=info msg=\"Backup completed\"\n".repeat(100);
        for chunk in [1, 2, 5, 4096] {
            assert_eq!(gunzip_in_chunks(&gzip(&text), chunk).unwrap(), text);
        }
        assert_eq!(gunzip_in_chunks(b"{}", 1).unwrap(), b"{}");
        assert_eq!(gunzip_in_chunks(b"x", 1).unwrap(), b"x");
        let mut damaged = gzip(&text);
        damaged.truncate(damaged.len() / 2);
        assert!(gunzip_in_chunks(&damaged, 7).is_err());
    }

    #[test]
    fn object_store_errors_are_summarised() {
        let s3 = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>b/backups/x/x-logs.gz</Key></Error>"#;
        assert_eq!(
            object_store_error(s3),
            "NoSuchKey: The specified key does not exist. (key b/backups/x/x-logs.gz)"
        );
        assert_eq!(object_store_error("  denied \n"), "denied");
    }

    #[test]
    fn request_names_are_dns_subdomains_and_unique() {
        let download = Download {
            kind: DownloadKind::BackupLog,
            name: "Daily_Backup-20240101".repeat(20),
            insecure: false,
            location_note: None,
        };
        let a = request_name(&download);
        let b = request_name(&download);
        assert_ne!(a, b);
        assert!(a.len() <= 253);
        assert!(a.starts_with("snapdoc-daily-backup-20240101"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        );
    }

    #[test]
    fn plans_use_the_tls_setting_of_each_backup_location() {
        let ca = base64::engine::general_purpose::STANDARD.encode("-----BEGIN CERTIFICATE-----\n");
        let objects = VeleroObjects::new(
            &json!({"items": [
                {"metadata": {"name": "b1"}, "spec": {"storageLocation": "minio"}},
                {"metadata": {"name": "b2"}, "spec": {"storageLocation": "default"}}
            ]}),
            &json!({"items": [{"metadata": {"name": "r1"}, "spec": {"backupName": "b1"}}]}),
            &json!({"items": [
                {"metadata": {"name": "minio"}, "spec": {"config": {"insecureSkipTLSVerify": "true"}}},
                {"metadata": {"name": "default"}, "spec": {"objectStorage": {"caCert": ca}}}
            ]}),
        );
        let server = ServerKinds {
            accepted: None,
            release: Some((1, 12)),
        };
        let (plan, skipped) = plan(
            &["b1".into(), "b2".into()],
            &["r1".into()],
            &objects,
            &server,
        );
        let summary: Vec<(&str, &str, bool)> = plan
            .iter()
            .map(|d| (d.kind.as_str(), d.name.as_str(), d.insecure))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("BackupLog", "b1", true),
                ("BackupResults", "b1", true),
                ("BackupLog", "b2", false),
                ("BackupResults", "b2", false),
                ("RestoreLog", "r1", true),
                ("RestoreResults", "r1", true),
                // Details of the newest only (none failed), in the kinds a v1.12 server knows.
                ("BackupItemOperations", "b1", true),
                ("BackupResourceList", "b1", true),
                ("BackupVolumeSnapshots", "b1", true),
                ("CSIBackupVolumeSnapshots", "b1", true),
                ("CSIBackupVolumeSnapshotContents", "b1", true),
                ("RestoreItemOperations", "r1", true),
                ("RestoreResourceList", "r1", true),
            ]
        );
        let skipped: Vec<&str> = skipped.iter().map(|s| s.kind).collect();
        assert_eq!(skipped, ["BackupVolumeInfos", "RestoreVolumeInfo"]);
        assert_eq!(objects.ca_certs.len(), 1);
        assert_eq!(
            DownloadKind::RestoreResults.entry("r1"),
            "velero/restores/r1/results.json"
        );
        let mut pem = String::new();
        objects.ca_certs[0]
            .as_slice()
            .read_to_string(&mut pem)
            .unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }

    /// The failed-bsl scenario's location (Velero's status.message for NoSuchBucket): every download of a
    /// backup stored there, and of a restore of one, carries why the location may not serve it.
    #[test]
    fn downloads_of_a_backup_on_an_unavailable_location_say_so() {
        let objects = VeleroObjects::new(
            &json!({"items": [
                {"metadata": {"name": "b1"}, "spec": {}},
                {"metadata": {"name": "b2"}, "spec": {"storageLocation": "secondary"}}
            ]}),
            &json!({"items": [{"metadata": {"name": "r1"}, "spec": {"backupName": "b1"}}]}),
            &json!({"items": [
                {"metadata": {"name": "default"},
                 "status": {"phase": "Unavailable", "lastValidationTime": "2026-11-25T11:59:19Z",
                            "message": "BackupStorageLocation \"default\" is unavailable: rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist"}},
                {"metadata": {"name": "secondary"}, "status": {"phase": "Available"}}
            ]}),
        );
        let server = ServerKinds {
            accepted: None,
            release: Some((1, 12)),
        };
        let (plan, _) = plan(
            &["b1".into(), "b2".into()],
            &["r1".into()],
            &objects,
            &server,
        );
        let note = |kind: DownloadKind, name: &str| {
            plan.iter()
                .find(|d| d.kind == kind && d.name == name)
                .and_then(|d| d.location_note.clone())
        };
        assert_eq!(
            note(DownloadKind::BackupLog, "b1").as_deref(),
            Some(
                "its storage location default was Unavailable at its last validation (2026-11-25T11:59:19Z): \
                 BackupStorageLocation \"default\" is unavailable: rpc error: code = Unknown desc = NoSuchBucket: \
                 The specified bucket does not exist"
            )
        );
        assert!(note(DownloadKind::RestoreLog, "r1").is_some());
        assert_eq!(note(DownloadKind::BackupLog, "b2"), None);
    }

    #[test]
    fn details_go_to_failed_backups_and_the_newest_within_the_bound() {
        let names: Vec<String> = (0..30).map(|i| format!("b{i:02}")).collect();
        let backups: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let phase = if i % 2 == 1 {
                    "PartiallyFailed"
                } else {
                    "Completed"
                };
                json!({"metadata": {"name": n}, "status": {"phase": phase}})
            })
            .collect();
        let objects = VeleroObjects::new(
            &json!({"items": backups}),
            &json!({"items": []}),
            &json!({"items": []}),
        );
        let server = ServerKinds {
            accepted: None,
            release: Some((1, 18)),
        };
        let (plan, skipped) = plan(&names, &[], &objects, &server);
        let detailed: BTreeSet<&str> = plan
            .iter()
            .filter(|d| d.kind == DownloadKind::BackupVolumeInfos)
            .map(|d| d.name.as_str())
            .collect();
        // The newest (b00, Completed) and the nine newest failed ones.
        let expected: BTreeSet<&str> = [
            "b00", "b01", "b03", "b05", "b07", "b09", "b11", "b13", "b15", "b17",
        ]
        .into_iter()
        .collect();
        assert_eq!(detailed, expected);
        // A v1.18 server no longer writes the CSI snapshot lists.
        let skipped: Vec<(&str, &str)> = skipped.iter().map(|s| (s.kind, s.why.as_str())).collect();
        assert_eq!(
            skipped,
            [
                (
                    "CSIBackupVolumeSnapshots",
                    "Velero stopped writing it after v1.16"
                ),
                (
                    "CSIBackupVolumeSnapshotContents",
                    "Velero stopped writing it after v1.16"
                )
            ]
        );
    }

    #[test]
    fn the_crd_enum_and_the_release_each_rule_out_kinds() {
        let crd = json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"properties": {
            "spec": {"properties": {"target": {"properties": {"kind": {"enum": [
                "BackupLog", "BackupResults", "RestoreLog", "RestoreResults", "BackupResourceList"
            ]}}}}}
        }}}}]}});
        let accepted = accepted_kinds(&crd).unwrap();
        assert!(accepted.contains("BackupResourceList"));
        let by_crd = ServerKinds {
            accepted: Some(accepted),
            release: None,
        };
        assert_eq!(by_crd.refuses(DownloadKind::BackupResourceList), None);
        assert!(
            by_crd
                .refuses(DownloadKind::BackupVolumeInfos)
                .unwrap()
                .contains("CRD")
        );
        // CRDs upgraded ahead of a v1.12 server: the server's release still rules.
        let ahead = ServerKinds {
            accepted: accepted_kinds(
                &json!({"spec": {"versions": [{"schema": {"openAPIV3Schema": {"properties": {
                    "spec": {"properties": {"target": {"properties": {"kind": {"enum": ["BackupVolumeInfos"]}}}}}
                }}}}]}}),
            ),
            release: release_of("v1.12.3"),
        };
        assert_eq!(
            ahead.refuses(DownloadKind::BackupVolumeInfos).as_deref(),
            Some("Velero v1.13 added it")
        );
        assert_eq!(release_of("v1.14.0-rc.1"), Some((1, 14)));
        assert_eq!(release_of("latest"), None);
        assert_eq!(accepted_kinds(&json!({})), None);
    }
}
