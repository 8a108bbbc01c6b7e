//! The probe agent: what Velero does with a location, done once on purpose, each failure named.

use base64::Engine as _;
use bytes::Bytes;

use super::error::ProbeError;
use super::location::{Credentials, Location, S3Location, StoreCredentials};
use super::outcome::{
    CERTIFICATE_RULE, Check, FOREIGN_DIRS_RULE, ProbeResult, ProbedLocation, SKEW_RULE, Status,
    Step, VELERO_DIRS, rule_for_code,
};
use super::s3::{Answer, S3Client, Unanswered, error_code, query, xml_text};

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
    fn name(self) -> &'static str {
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
        (Location::Azure(_) | Location::Gcs(_), _) => {
            Err(ProbeError::Provider(location.provider().to_string()))
        }
        (_, _) => Err(ProbeError::Config(format!(
            "credentials of another provider than {}",
            location.provider()
        ))),
    }
}

/// Probes one S3 / S3-compatible location. Errors only for input it cannot use; every failing check is in the
/// result. The probe object is deleted whenever it was written.
pub async fn probe_s3(
    location: &S3Location,
    credentials: &Credentials,
    agent: Agent,
) -> Result<ProbeResult, ProbeError> {
    let never = std::future::pending::<std::convert::Infallible>();
    match probe_s3_until(location, credentials, agent, never).await? {
        Probed::Finished(result) => Ok(*result),
        Probed::Stopped { by, .. } => match by {},
    }
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
///
/// The probe object is `<prefix>backups/snapdoc-probe-<uuid>`: an object directly in Velero's `backups/`, where
/// Velero never sees it. Its validation lists only the top-level common prefixes under the prefix (`backups/` is
/// one of its own), the backup sync lists only the common prefixes under `backups/` (an object there is none),
/// and a backup's deletion lists `backups/<name>/` (velero pkg/persistence/object_store.go IsValid, ListBackups,
/// DeleteBackup and object_store_layout.go, d30d389b56068eebd675d9953492183cb7b58a78; the plugins'
/// ListCommonPrefixes return only prefixes, velero-plugin-for-aws object_store.go
/// 800bcfb14d8e446ddd9aff91a36e551cbf79414d). A `<prefix>snapdoc-probe/` key, as before, was a foreign top-level
/// directory to a validation that ran during the probe's milliseconds.
pub async fn probe_s3_until<T>(
    location: &S3Location,
    credentials: &Credentials,
    agent: Agent,
    stop: impl std::future::Future<Output = T>,
) -> Result<Probed<T>, ProbeError> {
    location.validate()?;
    let client = S3Client::new(location, credentials)?;
    let probe_key = format!(
        "{}backups/snapdoc-probe-{}",
        location.root_prefix(),
        uuid::Uuid::new_v4()
    );
    tokio::select! {
        result = checks(&client, location, &probe_key, agent) => Ok(Probed::Finished(Box::new(result))),
        by = stop => {
            let cleanup = remove_every_version(&client, &location.bucket, &probe_key);
            let removed = tokio::time::timeout(CLEANUP_TIMEOUT, cleanup).await.unwrap_or(false);
            Ok(Probed::Stopped { by, probe_key, removed })
        }
    }
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

async fn checks(
    client: &S3Client,
    location: &S3Location,
    probe_key: &str,
    agent: Agent,
) -> ProbeResult {
    let root = location.root_prefix();
    let mut run = Run {
        client,
        bucket: &location.bucket,
        checks: Vec::new(),
        latencies: Vec::new(),
        skew: None,
    };

    let listing = run.list(&root).await;
    let mut top_level_dirs = Vec::new();
    let mut settings = (None, None);
    let go_on = match listing {
        Ok(dirs) => {
            top_level_dirs = dirs;
            run.top_level_dirs(&root, &top_level_dirs);
            settings = run.bucket_settings().await;
            true
        }
        // Listing and writing are separate permissions: a denied list says nothing of PutObject.
        Err(Some(code)) if code == "AccessDenied" => {
            run.skip(Step::TopLevelDirs, "the listing was denied");
            true
        }
        Err(_) => false,
    };
    if go_on {
        run.write_read_delete(probe_key).await;
        run.put_with_checksum(probe_key, location.checksum_algorithm.as_deref())
            .await;
    } else {
        for step in [
            Step::TopLevelDirs,
            Step::Put,
            Step::Get,
            Step::Delete,
            Step::PutWithChecksum,
        ] {
            run.skip(
                step,
                "the listing failed: every request would fail the same way",
            );
        }
    }
    run.clock_skew();

    let endpoint = client.endpoint();
    let mut latencies = run.latencies.clone();
    latencies.sort_unstable();
    ProbeResult {
        agent: agent.name().to_string(),
        location: ProbedLocation {
            provider: location.provider.clone(),
            bucket: location.bucket.clone(),
            prefix: root,
            endpoint: endpoint.display(),
            region: location.signing_region().to_string(),
            path_style: location.s3_force_path_style,
            ca_cert: location.ca_cert.is_some(),
            insecure_skip_tls_verify: location.insecure_skip_tls_verify,
        },
        probe_key: probe_key.to_string(),
        checks: run.checks,
        top_level_dirs,
        clock_skew_seconds: run.skew,
        versioning: settings.0,
        object_lock: settings.1,
        round_trip_ms: latencies.get(latencies.len() / 2).copied(),
    }
}

struct Run<'a> {
    client: &'a S3Client,
    bucket: &'a str,
    checks: Vec<Check>,
    latencies: Vec<u64>,
    skew: Option<i64>,
}

/// A request's outcome as a check would record it: the answer, or the failed check.
type Sent = Result<Answer, Check>;

impl Run<'_> {
    async fn request(
        &mut self,
        step: Step,
        method: &str,
        key: Option<&str>,
        query: &str,
        body: Bytes,
        headers: &[(&str, String)],
    ) -> Sent {
        match self
            .client
            .send(method, self.bucket, key, query, body, headers)
            .await
        {
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
                    Err(failure(step, &answer))
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

    /// ListObjectsV2 with delimiter `/`, every page, as the plugin's ListCommonPrefixes does. `Err` carries
    /// the store's error code, if it answered with one.
    async fn list(&mut self, root: &str) -> Result<Vec<String>, Option<String>> {
        let mut dirs = Vec::new();
        let mut token: Option<String> = None;
        let mut first: Option<Answer> = None;
        loop {
            let mut pairs = vec![("list-type", "2"), ("prefix", root), ("delimiter", "/")];
            if let Some(token) = token.as_deref() {
                pairs.push(("continuation-token", token));
            }
            let answer = match self
                .request(Step::List, "GET", None, &query(&pairs), Bytes::new(), &[])
                .await
            {
                Ok(answer) => answer,
                Err(check) => {
                    let code = check.error_code.clone();
                    self.checks.push(check);
                    return Err(code);
                }
            };
            let prefixes = xml_text(&answer.body, "Prefix").unwrap_or_default();
            // <Prefix> is also the echoed request prefix; CommonPrefixes are the ones below it.
            dirs.extend(prefixes.into_iter().filter(|p| p.len() > root.len()));
            token = xml_text(&answer.body, "NextContinuationToken")
                .and_then(|t| t.into_iter().next())
                .filter(|t| !t.is_empty());
            first.get_or_insert(answer);
            if token.is_none() {
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
        let version = match self
            .request(Step::Put, "PUT", Some(key), "", body.clone(), &[])
            .await
        {
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
        match self
            .request(Step::Get, "GET", Some(key), "", Bytes::new(), &[])
            .await
        {
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

    /// DELETE of `key`, of the version the put created in a versioned bucket: a plain DELETE there only adds a
    /// delete marker and keeps the probe's bytes.
    async fn remove(&mut self, step: Step, key: &str, version: Option<&str>) -> Sent {
        let query = version
            .map(|v| query(&[("versionId", v)]))
            .unwrap_or_default();
        self.request(step, "DELETE", Some(key), &query, Bytes::new(), &[])
            .await
    }

    /// Versioning and object lock, as the bucket's sub-resources say; `None` where the store does not answer
    /// (the permissions Velero needs do not include reading them).
    async fn bucket_settings(&mut self) -> (Option<String>, Option<bool>) {
        let ask = |sub: &'static str| {
            self.client
                .send("GET", self.bucket, None, sub, Bytes::new(), &[])
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
        match self
            .request(Step::PutWithChecksum, "PUT", Some(key), "", body, &headers)
            .await
        {
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

fn removed(version: Option<&str>) -> String {
    match version {
        Some(version) => format!("removed, version {version} included"),
        None => "removed".to_string(),
    }
}

/// A failed check from an error answer: its code and the rule for it.
fn failure(step: Step, answer: &Answer) -> Check {
    let parsed = error_code(&answer.body);
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
            .and_then(|c| rule_for_code(step, c))
            .map(str::to_string),
        error_code: code,
        http_status: Some(answer.status),
        detail,
        latency_ms: Some(u64::try_from(answer.elapsed.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// 1 KiB that names itself, so an object left behind by an interrupted probe says what it is.
fn probe_body(key: &str) -> Bytes {
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
