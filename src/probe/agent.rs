//! The probe agent: what Velero does with a location, done once on purpose, each failure named.

use base64::Engine as _;
use bytes::Bytes;

use super::azure::AzureClient;
use super::error::ProbeError;
use super::gcs::GcsClient;
use super::location::{Credentials, Location, S3Location, StoreCredentials};
use super::outcome::{
    CERTIFICATE_RULE, Check, FOREIGN_DIRS_RULE, ProbeResult, ProbedLocation, SKEW_RULE, Status,
    Step, VELERO_DIRS,
};
use super::s3::{S3Client, error_code, query, xml_text};
use super::transport::{Answer, Unanswered};

/// The size of the probe object.
const PROBE_BYTES: usize = 1024;
/// AWS's limit (the MaxAllowedSkewMilliseconds of a RequestTimeTooSkewed answer: 900000).
const MAX_SKEW_SECONDS: i64 = 15 * 60;
/// The plugin's default since 1.9.1: `o.checksumAlg = string(types.ChecksumAlgorithmCrc32)` in
/// velero-plugin-for-aws/object_store.go (v1.9.1, cc4024b675b34661a5122dbb0c467486c6673872).
const PLUGIN_DEFAULT_CHECKSUM: &str = "CRC32";

/// Where the agent runs, as the result records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// The user's machine, with credentials passed explicitly.
    FromHere,
    /// A Job in Velero's namespace, with the location's secret mounted.
    InCluster,
}

impl Agent {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Agent::FromHere => "from-here",
            Agent::InCluster => "in-cluster",
        }
    }
}

/// Probes `location` with `credentials` (of its provider's format) until `stop` completes: the provider's checks,
/// the probe object deleted whenever it was written.
pub async fn probe_until<T>(
    location: &Location,
    credentials: &StoreCredentials,
    agent: Agent,
    stop: impl std::future::Future<Output = T>,
) -> Result<Probed<T>, ProbeError> {
    location.validate()?;
    match (location, credentials) {
        (Location::S3(location), StoreCredentials::Aws(credentials)) => {
            probe_s3_until(location, credentials, agent, stop).await
        }
        (Location::Azure(location), StoreCredentials::Azure(credentials)) => {
            let client = AzureClient::new(location, credentials)?;
            let probed = ProbedLocation {
                provider: location.provider.clone(),
                bucket: location.container.clone(),
                prefix: location.prefix.clone(),
                endpoint: client.endpoint(),
                region: String::new(),
                // The container is always in the path: https://<account>.blob.core.windows.net/<container>/<blob>.
                path_style: true,
                ca_cert: location.ca_cert.is_some(),
                insecure_skip_tls_verify: false,
            };
            probe_common(&client, probed, agent, stop).await
        }
        (Location::Gcs(location), StoreCredentials::Gcp(credentials)) => {
            let client = GcsClient::new(location, credentials)?;
            let probed = ProbedLocation {
                provider: location.provider.clone(),
                bucket: location.bucket.clone(),
                prefix: location.prefix.clone(),
                endpoint: client.endpoint(),
                region: String::new(),
                // The JSON API names the bucket in the path: <api>b/<bucket>/o.
                path_style: true,
                // velero-plugin-for-gcp reads no caCert and has no insecureSkipTLSVerify.
                ca_cert: false,
                insecure_skip_tls_verify: false,
            };
            probe_common(&client, probed, agent, stop).await
        }
        (Location::LocalVolume(l), _) => Err(ProbeError::LocalVolumeFromHere(l.provider.clone())),
        (_, _) => Err(ProbeError::Config(format!(
            "credentials of another provider than {}",
            location.provider()
        ))),
    }
}

/// [`probe_until`] to the end: every check runs.
pub async fn probe(
    location: &Location,
    credentials: &StoreCredentials,
    agent: Agent,
) -> Result<ProbeResult, ProbeError> {
    let never = std::future::pending::<std::convert::Infallible>();
    match probe_until(location, credentials, agent, never).await? {
        Probed::Finished(result) => Ok(*result),
        Probed::Stopped { by, .. } => match by {},
    }
}

/// `<prefix>backups/snapdoc-probe-<uuid>`: an object directly in Velero's `backups/`, where Velero never sees it.
/// Its validation lists only the top-level common prefixes under the prefix (`backups/` is one of its own), the
/// backup sync lists only the common prefixes under `backups/` (an object there is none), and a backup's deletion
/// lists `backups/<name>/` (velero pkg/persistence/object_store.go IsValid, ListBackups, DeleteBackup and
/// object_store_layout.go, d30d389b56068eebd675d9953492183cb7b58a78). Every plugin's ListCommonPrefixes returns
/// prefixes only: velero-plugin-for-aws object_store.go 800bcfb14d8e446ddd9aff91a36e551cbf79414d (CommonPrefixes),
/// -microsoft-azure 1b682ce13010adb7da68f185f8ae44fd678b1003 (BlobPrefixes), -gcp
/// 2cb9bfc32bf159602a230378124396107c9fa145 (`obj.Prefix`). A `<prefix>snapdoc-probe/` key, as before, was a
/// foreign top-level directory to a validation that ran during the probe's milliseconds.
fn new_probe_key(prefix: &str) -> String {
    format!(
        "{}backups/snapdoc-probe-{}",
        super::location::root_prefix(prefix),
        uuid::Uuid::new_v4()
    )
}

/// Runs `checks` until `stop`; on a stop, `cleanup` (bounded by [`CLEANUP_TIMEOUT`]) deletes the probe object.
async fn until<T>(
    checks: impl std::future::Future<Output = ProbeResult>,
    stop: impl std::future::Future<Output = T>,
    probe_key: String,
    cleanup: impl std::future::Future<Output = bool>,
) -> Result<Probed<T>, ProbeError> {
    tokio::select! {
        result = checks => Ok(Probed::Finished(Box::new(result))),
        by = stop => {
            let removed = tokio::time::timeout(CLEANUP_TIMEOUT, cleanup).await.unwrap_or(false);
            Ok(Probed::Stopped { by, probe_key, removed })
        }
    }
}

/// Probes one S3 / S3-compatible location. Errors only for input it cannot use; every failing check is in the
/// result. The probe object is deleted whenever it was written.
pub async fn probe_s3(
    location: &S3Location,
    credentials: &Credentials,
    agent: Agent,
) -> Result<ProbeResult, ProbeError> {
    probe(
        &Location::S3(location.clone()),
        &StoreCredentials::Aws(credentials.clone()),
        agent,
    )
    .await
}

/// How [`probe_s3_until`] ended.
#[derive(Debug)]
pub enum Probed<T> {
    /// Every check ran.
    Finished(Box<ProbeResult>),
    /// `stop` came first; the probe object was deleted unless `removed` is false.
    Stopped {
        /// What `stop` gave (the signal).
        by: T,
        /// The object the probe may have written.
        probe_key: String,
        /// Whether the DELETEs of `probe_key` (and of its versions) succeeded (S3 answers 204 for a key that
        /// was never written).
        removed: bool,
    },
}

/// Time for the cleanup after a stop: a Ctrl-C should end the command promptly.
const CLEANUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// [`probe_s3`] until `stop` completes (Ctrl-C): then the checks are abandoned and the probe object is deleted, so
/// nothing of snapdoc's is left in the bucket.
pub async fn probe_s3_until<T>(
    location: &S3Location,
    credentials: &Credentials,
    agent: Agent,
    stop: impl std::future::Future<Output = T>,
) -> Result<Probed<T>, ProbeError> {
    location.validate()?;
    let client = S3Client::new(location, credentials)?;
    let probe_key = new_probe_key(&location.prefix);
    let checks = s3_checks(&client, location, &probe_key, agent);
    let cleanup = remove_every_version(&client, &location.bucket, &probe_key);
    until(checks, stop, probe_key.clone(), cleanup).await
}

/// Deletes `key` after an interruption, when it is unknown which puts completed: the object, and in a versioned
/// bucket every version and delete marker of it (ListObjectVersions of the key itself, then DELETE by versionId).
async fn remove_every_version(client: &S3Client, bucket: &str, key: &str) -> bool {
    let delete = |query: String| async move {
        client
            .send("DELETE", bucket, Some(key), &query, Bytes::new(), &[])
            .await
            .is_ok_and(|answer| answer.is_success())
    };
    if !delete(String::new()).await {
        return false;
    }
    let listing = client
        .send(
            "GET",
            bucket,
            None,
            &query(&[("versions", ""), ("prefix", key)]),
            Bytes::new(),
            &[],
        )
        .await;
    let versions = match listing {
        Ok(answer) if answer.is_success() => {
            xml_text(&answer.body, "VersionId").unwrap_or_default()
        }
        // A store without versioning support: the plain DELETE was all there was to do.
        _ => Vec::new(),
    };
    let mut removed = true;
    for version in versions.iter().filter(|v| v.as_str() != "null") {
        removed &= delete(query(&[("versionId", version)])).await;
    }
    removed
}

/// How the listing went, which decides what the checks after it can tell.
enum Listing {
    /// The directories under the prefix.
    Listed(Vec<String>),
    /// Refused, but writing is a separate permission: worth trying.
    Denied,
    /// Failed: every other request would fail the same way.
    Failed,
}

/// The checks every provider runs, in order: list the prefix as Velero's validation does, its top-level
/// directories, then put, read back and delete the probe object.
async fn common_checks<S: Store>(run: &mut Run<'_, S>, root: &str, probe_key: &str) -> Listing {
    let listing = match run.list(root).await {
        Ok(dirs) => {
            run.top_level_dirs(root, &dirs);
            Listing::Listed(dirs)
        }
        // Listing and writing are separate permissions: a denied list says nothing of a write.
        Err(Some(code)) if run.store.listing_denied(&code) => {
            run.skip(Step::TopLevelDirs, "the listing was denied");
            Listing::Denied
        }
        Err(_) => Listing::Failed,
    };
    if matches!(listing, Listing::Failed) {
        for step in [Step::TopLevelDirs, Step::Put, Step::Get, Step::Delete] {
            run.skip(step, LISTING_FAILED);
        }
    } else {
        run.write_read_delete(probe_key).await;
    }
    listing
}

/// Why a check after a failed listing did not run.
const LISTING_FAILED: &str = "the listing failed: every request would fail the same way";

async fn s3_checks(
    client: &S3Client,
    location: &S3Location,
    probe_key: &str,
    agent: Agent,
) -> ProbeResult {
    let root = location.root_prefix();
    let mut run = Run::new(client);
    let listing = common_checks(&mut run, &root, probe_key).await;
    let mut settings = (None, None);
    if let Listing::Listed(_) = &listing {
        settings = run.bucket_settings().await;
    }
    if matches!(listing, Listing::Failed) {
        run.skip(Step::PutWithChecksum, LISTING_FAILED);
    } else {
        run.put_with_checksum(probe_key, location.checksum_algorithm.as_deref())
            .await;
    }
    let probed = ProbedLocation {
        provider: location.provider.clone(),
        bucket: location.bucket.clone(),
        prefix: root,
        endpoint: client.endpoint().display(),
        region: location.signing_region().to_string(),
        path_style: location.s3_force_path_style,
        ca_cert: location.ca_cert.is_some(),
        insecure_skip_tls_verify: location.insecure_skip_tls_verify,
    };
    run.finish(agent, probed, probe_key, listing, settings)
}

/// The probe of a provider that has only the common checks (Azure, GCS), of the location `probed` describes (its
/// prefix as given): the probe object deleted on a stop.
async fn probe_common<S: Store, T>(
    client: &S,
    probed: ProbedLocation,
    agent: Agent,
    stop: impl std::future::Future<Output = T>,
) -> Result<Probed<T>, ProbeError> {
    let probe_key = new_probe_key(&probed.prefix);
    let checks = async {
        let root = super::location::root_prefix(&probed.prefix);
        let mut run = Run::new(client);
        let listing = common_checks(&mut run, &root, &probe_key).await;
        let probed = ProbedLocation {
            prefix: root,
            ..probed
        };
        run.finish(agent, probed, &probe_key, listing, (None, None))
    };
    let cleanup = async {
        client
            .delete(&probe_key, None)
            .await
            .is_ok_and(|answer| answer.is_success() || answer.status == 404)
    };
    until(checks, stop, probe_key.clone(), cleanup).await
}

/// One provider's requests, as the checks make them; every answer comes back as the store gave it.
pub(crate) trait Store {
    /// One page of the listing of `prefix` with delimiter `/`, from `marker` on.
    async fn list_page(&self, prefix: &str, marker: Option<&str>) -> Result<Answer, Unanswered>;
    /// The directories (common prefixes) of a listing page, and the marker of the next page.
    fn listed(&self, prefix: &str, body: &[u8]) -> (Vec<String>, Option<String>);
    /// Writes `body` to `key` as the provider's plugin writes an object.
    async fn put(&self, key: &str, body: Bytes) -> Result<Answer, Unanswered>;
    /// Reads `key`.
    async fn get(&self, key: &str) -> Result<Answer, Unanswered>;
    /// Deletes `key`, and `version` of it in a versioned bucket.
    async fn delete(&self, key: &str, version: Option<&str>) -> Result<Answer, Unanswered>;
    /// The store's error code and message in a failed answer.
    fn error(&self, answer: &Answer) -> Option<(String, String)>;
    /// The catalog rule whose log signature names error `code` answered to `step`.
    fn rule(&self, step: Step, code: &str) -> Option<&'static str>;
    /// Whether a listing refused with `code` still leaves the writes worth trying.
    fn listing_denied(&self, code: &str) -> bool;
}

struct Run<'a, S> {
    store: &'a S,
    checks: Vec<Check>,
    latencies: Vec<u64>,
    skew: Option<i64>,
}

/// A request's outcome as a check would record it: the answer, or the failed check.
type Sent = Result<Answer, Check>;

impl<'a, S: Store> Run<'a, S> {
    fn new(store: &'a S) -> Self {
        Run {
            store,
            checks: Vec::new(),
            latencies: Vec::new(),
            skew: None,
        }
    }

    /// The result: the checks so far and the clock skew's, the median latency.
    fn finish(
        mut self,
        agent: Agent,
        location: ProbedLocation,
        probe_key: &str,
        listing: Listing,
        settings: (Option<String>, Option<bool>),
    ) -> ProbeResult {
        self.clock_skew();
        let mut latencies = self.latencies.clone();
        latencies.sort_unstable();
        ProbeResult {
            agent: agent.name().to_string(),
            location,
            probe_key: probe_key.to_string(),
            checks: self.checks,
            top_level_dirs: match listing {
                Listing::Listed(dirs) => dirs,
                Listing::Denied | Listing::Failed => Vec::new(),
            },
            clock_skew_seconds: self.skew,
            versioning: settings.0,
            object_lock: settings.1,
            round_trip_ms: latencies.get(latencies.len() / 2).copied(),
            local_volume: None,
        }
    }

    /// Records one request's latency and the store's clock, and turns an error answer into a failed check.
    fn record(&mut self, step: Step, sent: Result<Answer, Unanswered>) -> Sent {
        match sent {
            Ok(answer) => {
                let ms = u64::try_from(answer.elapsed.as_millis()).unwrap_or(u64::MAX);
                self.latencies.push(ms);
                if self.skew.is_none()
                    && let Some(date) = answer.date
                {
                    self.skew = Some(date.duration_since(answer.local_midpoint).as_secs());
                }
                if answer.is_success() {
                    Ok(answer)
                } else {
                    Err(failure(step, &answer, self.store))
                }
            }
            Err(Unanswered::Certificate(problem)) => Err(Check {
                step,
                status: Status::Failed,
                rule: Some(CERTIFICATE_RULE.to_string()),
                error_code: None,
                http_status: None,
                detail: format!("x509: {problem}"),
                latency_ms: None,
            }),
            Err(Unanswered::Transport(message)) => Err(Check {
                step,
                status: Status::Failed,
                rule: None,
                error_code: None,
                http_status: None,
                detail: message,
                latency_ms: None,
            }),
        }
    }

    fn passed(&mut self, step: Step, detail: String, answer: Option<&Answer>) {
        self.checks.push(Check {
            step,
            status: Status::Passed,
            rule: None,
            error_code: None,
            http_status: answer.map(|a| a.status),
            detail,
            latency_ms: answer.map(|a| u64::try_from(a.elapsed.as_millis()).unwrap_or(u64::MAX)),
        });
    }

    fn skip(&mut self, step: Step, why: &str) {
        self.checks.push(Check {
            step,
            status: Status::Skipped,
            rule: None,
            error_code: None,
            http_status: None,
            detail: why.to_string(),
            latency_ms: None,
        });
    }

    /// The listing with delimiter `/`, every page, as the plugins' ListCommonPrefixes does. `Err` carries the
    /// store's error code, if it answered with one.
    async fn list(&mut self, root: &str) -> Result<Vec<String>, Option<String>> {
        let mut dirs = Vec::new();
        let mut marker: Option<String> = None;
        let mut first: Option<Answer> = None;
        loop {
            let sent = self.store.list_page(root, marker.as_deref()).await;
            let answer = match self.record(Step::List, sent) {
                Ok(answer) => answer,
                Err(check) => {
                    let code = check.error_code.clone();
                    self.checks.push(check);
                    return Err(code);
                }
            };
            let (found, next) = self.store.listed(root, &answer.body);
            dirs.extend(found);
            marker = next.filter(|m| !m.is_empty());
            first.get_or_insert(answer);
            if marker.is_none() {
                break;
            }
        }
        let detail = format!(
            "{} director{} under the prefix",
            dirs.len(),
            if dirs.len() == 1 { "y" } else { "ies" }
        );
        self.passed(Step::List, detail, first.as_ref());
        Ok(dirs)
    }

    /// Velero's IsValid: every top-level directory must be one of its own.
    fn top_level_dirs(&mut self, root: &str, dirs: &[String]) {
        let foreign: Vec<&str> = dirs
            .iter()
            .map(|d| d.strip_prefix(root).unwrap_or(d).trim_end_matches('/'))
            .filter(|d| !VELERO_DIRS.contains(d))
            .collect();
        if foreign.is_empty() {
            self.passed(
                Step::TopLevelDirs,
                "only Velero's directories".to_string(),
                None,
            );
        } else {
            self.checks.push(Check {
                step: Step::TopLevelDirs,
                status: Status::Failed,
                rule: Some(FOREIGN_DIRS_RULE.to_string()),
                error_code: None,
                http_status: None,
                detail: format!(
                    "Backup store contains invalid top-level directories: {foreign:?} (Velero marks the location Unavailable)"
                ),
                latency_ms: None,
            });
        }
    }

    async fn write_read_delete(&mut self, key: &str) {
        let body = probe_body(key);
        let sent = self.store.put(key, body.clone()).await;
        let version = match self.record(Step::Put, sent) {
            Ok(answer) => {
                self.passed(
                    Step::Put,
                    format!("{PROBE_BYTES} bytes to {key}"),
                    Some(&answer),
                );
                answer.version_id
            }
            Err(check) => {
                self.checks.push(check);
                self.skip(Step::Get, "nothing was written");
                self.skip(Step::Delete, "nothing was written");
                return;
            }
        };
        let sent = self.store.get(key).await;
        match self.record(Step::Get, sent) {
            Ok(answer) if answer.body == body => self.passed(
                Step::Get,
                "the same bytes came back".to_string(),
                Some(&answer),
            ),
            Ok(answer) => {
                let detail = format!(
                    "{} bytes came back, not the {PROBE_BYTES} written (a proxy or the store altered the object)",
                    answer.body.len()
                );
                self.checks.push(Check {
                    step: Step::Get,
                    status: Status::Failed,
                    rule: None,
                    error_code: None,
                    http_status: Some(answer.status),
                    detail,
                    latency_ms: Some(u64::try_from(answer.elapsed.as_millis()).unwrap_or(u64::MAX)),
                });
            }
            Err(check) => self.checks.push(check),
        }
        // Always after a successful put: a probe directory left behind would itself make the location invalid.
        match self.remove(Step::Delete, key, version.as_deref()).await {
            Ok(answer) => self.passed(Step::Delete, removed(version.as_deref()), Some(&answer)),
            Err(check) => self.checks.push(check),
        }
    }

    /// The delete of `key`, of the version the put created in a versioned bucket: a plain delete there only keeps
    /// the probe's bytes as an older version.
    async fn remove(&mut self, step: Step, key: &str, version: Option<&str>) -> Sent {
        let sent = self.store.delete(key, version).await;
        self.record(step, sent)
    }

    fn clock_skew(&mut self) {
        match self.skew {
            None => self.skip(Step::ClockSkew, "no answer carried a Date header"),
            Some(seconds) if seconds.abs() > MAX_SKEW_SECONDS => self.checks.push(Check {
                step: Step::ClockSkew,
                status: Status::Failed,
                rule: Some(SKEW_RULE.to_string()),
                error_code: None,
                http_status: None,
                detail: format!(
                    "the store's clock is {seconds:+} s from this machine's (signed requests allow {MAX_SKEW_SECONDS} s)"
                ),
                latency_ms: None,
            }),
            Some(seconds) => self.passed(
                Step::ClockSkew,
                format!("{seconds:+} s from the store's Date"),
                None,
            ),
        }
    }
}

/// What only S3 has: the bucket's versioning and object lock, and the AWS plugin's checksum headers.
impl Run<'_, S3Client> {
    /// Versioning and object lock, as the bucket's sub-resources say; `None` where the store does not answer
    /// (the permissions Velero needs do not include reading them).
    async fn bucket_settings(&mut self) -> (Option<String>, Option<bool>) {
        let ask = |sub: &'static str| {
            self.store
                .send("GET", self.store.bucket(), None, sub, Bytes::new(), &[])
        };
        let versioning = match ask("versioning=").await {
            Ok(answer) if answer.is_success() => Some(
                xml_text(&answer.body, "Status")
                    .and_then(|s| s.into_iter().next())
                    .unwrap_or_else(|| "Disabled".to_string()),
            ),
            _ => None,
        };
        let object_lock = match ask("object-lock=").await {
            Ok(answer) if answer.is_success() => Some(
                xml_text(&answer.body, "ObjectLockEnabled")
                    .and_then(|s| s.into_iter().next())
                    .is_some_and(|s| s == "Enabled"),
            ),
            Ok(answer)
                if error_code(&answer.body)
                    .is_some_and(|(code, _)| code == "ObjectLockConfigurationNotFoundError") =>
            {
                Some(false)
            }
            _ => None,
        };
        (versioning, object_lock)
    }

    async fn put_with_checksum(&mut self, key: &str, configured: Option<&str>) {
        if self
            .checks
            .iter()
            .any(|c| c.step == Step::Put && c.status == Status::Failed)
        {
            self.skip(Step::PutWithChecksum, "the plain put already failed");
            return;
        }
        let algorithm = match configured {
            None => PLUGIN_DEFAULT_CHECKSUM,
            Some("") => {
                self.skip(
                    Step::PutWithChecksum,
                    "checksumAlgorithm is \"\": the plugin (1.9.2+) sends no checksum header",
                );
                return;
            }
            Some(other) => other,
        };
        let body = probe_body(key);
        let Some((header, value)) = checksum_header(algorithm, &body) else {
            // velero-plugin-for-aws's validChecksumAlg (object_store.go, v1.9.2) accepts CRC32, CRC32C, SHA1,
            // SHA256 and "": any other value fails its Init, so no upload can work.
            self.checks.push(Check {
                step: Step::PutWithChecksum,
                status: Status::Failed,
                rule: None,
                error_code: None,
                http_status: None,
                detail: format!(
                    "checksumAlgorithm {algorithm:?} is not one the plugin accepts (CRC32, CRC32C, SHA1, SHA256 or \"\"): \
                     it fails with \"invalid checksum algorithm\""
                ),
                latency_ms: None,
            });
            return;
        };
        let headers = [
            ("x-amz-sdk-checksum-algorithm", algorithm.to_string()),
            (header, value),
        ];
        let sent = self.store.put_with(key, body, &headers).await;
        match self.record(Step::PutWithChecksum, sent) {
            Ok(answer) => {
                let version = answer.version_id.as_deref();
                match self.remove(Step::PutWithChecksum, key, version).await {
                    Ok(_) => self.passed(
                        Step::PutWithChecksum,
                        format!("accepted x-amz-sdk-checksum-algorithm: {algorithm}"),
                        Some(&answer),
                    ),
                    Err(mut check) => {
                        check.detail = format!("put accepted, delete failed: {}", check.detail);
                        self.checks.push(check);
                    }
                }
            }
            Err(check) => self.checks.push(check),
        }
    }
}

fn removed(version: Option<&str>) -> String {
    match version {
        Some(version) => format!("removed, version {version} included"),
        None => "removed".to_string(),
    }
}

/// A failed check from an error answer: its code and the rule for it.
fn failure(step: Step, answer: &Answer, store: &impl Store) -> Check {
    let parsed = store.error(answer);
    let (code, message) = match &parsed {
        Some((code, message)) => (Some(code.clone()), message.clone()),
        None => (
            None,
            String::from_utf8_lossy(&answer.body)
                .chars()
                .take(200)
                .collect(),
        ),
    };
    let detail = match &code {
        Some(code) if message.is_empty() => format!("{code} (HTTP {})", answer.status),
        Some(code) => format!("{code}: {message} (HTTP {})", answer.status),
        None => format!("HTTP {}: {message}", answer.status),
    };
    Check {
        step,
        status: Status::Failed,
        rule: code
            .as_deref()
            .and_then(|c| store.rule(step, c))
            .map(str::to_string),
        error_code: code,
        http_status: Some(answer.status),
        detail,
        latency_ms: Some(u64::try_from(answer.elapsed.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// 1 KiB that names itself, so an object left behind by an interrupted probe says what it is.
pub(super) fn probe_body(key: &str) -> Bytes {
    let line = format!("snapdoc probe object {key}; safe to delete\n");
    let bytes: Vec<u8> = line.bytes().cycle().take(PROBE_BYTES).collect();
    Bytes::from(bytes)
}

/// The flexible-checksum header for `algorithm` (base64 of the big-endian digest, as S3 defines it).
fn checksum_header(algorithm: &str, body: &[u8]) -> Option<(&'static str, String)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    // Exact names: the plugin compares them as written ("crc32" is invalid there).
    match algorithm {
        "CRC32" => Some((
            "x-amz-checksum-crc32",
            b64.encode(crc32fast::hash(body).to_be_bytes()),
        )),
        "CRC32C" => Some((
            "x-amz-checksum-crc32c",
            b64.encode(crc32c::crc32c(body).to_be_bytes()),
        )),
        "SHA1" => {
            use sha1::Digest as _;
            Some(("x-amz-checksum-sha1", b64.encode(sha1::Sha1::digest(body))))
        }
        "SHA256" => {
            use sha2::Digest as _;
            Some((
                "x-amz-checksum-sha256",
                b64.encode(sha2::Sha256::digest(body)),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_header_is_s3_s_encoding() {
        // The CRC32 (IEEE) of "hello world" is 0x0D4A1185; S3 wants its 4 big-endian bytes in base64.
        assert_eq!(
            checksum_header("CRC32", b"hello world"),
            Some(("x-amz-checksum-crc32", "DUoRhQ==".to_string()))
        );
        // Computed independently for "hello world" (Python's hashlib, and a bitwise CRC32C).
        assert_eq!(
            checksum_header("CRC32C", b"hello world"),
            Some(("x-amz-checksum-crc32c", "yZRlqg==".to_string()))
        );
        assert_eq!(
            checksum_header("SHA1", b"hello world"),
            Some((
                "x-amz-checksum-sha1",
                "Kq5sNclPz7QV2+lfQIuc6R7oRu0=".to_string()
            ))
        );
        assert_eq!(checksum_header("MD5", b"x"), None);
    }

    #[test]
    fn probe_body_is_one_kib_naming_its_key() {
        let body = probe_body("p/backups/snapdoc-probe-1");
        assert_eq!(body.len(), PROBE_BYTES);
        assert!(body.starts_with(b"snapdoc probe object p/backups/snapdoc-probe-1;"));
    }
}
