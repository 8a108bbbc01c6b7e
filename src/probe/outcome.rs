//! The probe's result: one entry per check, each failure joined to the catalog rule whose log signature names the
//! same cause, so a report can say "the probe reproduced SD101".

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The steps, in the order the agent runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// ListObjectsV2 of the prefix with delimiter `/`: Velero's own validation.
    List,
    /// The top-level directories under the prefix are all Velero's.
    TopLevelDirs,
    /// PutObject of 1 KiB without checksum headers.
    Put,
    /// GetObject of it, compared byte for byte.
    Get,
    /// DeleteObject of it.
    Delete,
    /// PutObject with the flexible-checksum headers of velero-plugin-for-aws 1.9.1+, then its DeleteObject.
    PutWithChecksum,
    /// The server's Date against this machine's clock.
    ClockSkew,
    /// A local volume's directory exists (host_path.rs): its owner and mode.
    Stat,
    /// The owner and mode against the uid/gid Velero runs as, as the local-volume-provider plugin judges them.
    Permissions,
    /// The local volume's free space and inodes.
    FreeSpace,
}

impl Step {
    /// The name the JSON result and the metrics' `check` label use (`put-with-checksum`).
    pub fn id(self) -> &'static str {
        match self {
            Step::List => "list",
            Step::TopLevelDirs => "top-level-dirs",
            Step::Put => "put",
            Step::Get => "get",
            Step::Delete => "delete",
            Step::PutWithChecksum => "put-with-checksum",
            Step::ClockSkew => "clock-skew",
            Step::Stat => "stat",
            Step::Permissions => "permissions",
            Step::FreeSpace => "free-space",
        }
    }

    /// The name the terminal output uses.
    pub fn label(self) -> &'static str {
        match self {
            Step::List => "list prefix",
            Step::TopLevelDirs => "top-level dirs",
            Step::Put => "put object",
            Step::Get => "read back",
            Step::Delete => "delete object",
            Step::PutWithChecksum => "put with checksum",
            Step::ClockSkew => "clock skew",
            Step::Stat => "directory",
            Step::Permissions => "owner and mode",
            Step::FreeSpace => "free space",
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It worked.
    Passed,
    /// It did not; `rule` says which catalog rule describes the cause, when one does.
    Failed,
    /// Not run; `detail` says why (an earlier failure, or the location's config).
    Skipped,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Which step.
    pub step: Step,
    /// Its outcome.
    pub status: Status,
    /// The catalog rule (analyzers/*.yaml) whose signature matches this failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The store's error code (`NoSuchBucket`, `AccessDenied`, …) when it answered with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The HTTP status of the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What happened, in words.
    pub detail: String,
    /// Round trip of the step's request(s), in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// The location as probed (no credentials, no CA bundle: only whether one was given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbedLocation {
    /// spec.provider.
    pub provider: String,
    /// The bucket.
    pub bucket: String,
    /// The prefix, as Velero's layout uses it (with a trailing slash, or empty).
    pub prefix: String,
    /// The endpoint requests went to.
    pub endpoint: String,
    /// The region requests were signed for (S3 only: empty, and absent from the JSON, for other providers).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Whether the bucket was in the path.
    pub path_style: bool,
    /// Whether a caCert was trusted besides the system's roots.
    pub ca_cert: bool,
    /// Whether certificate verification was off (insecureSkipTLSVerify).
    #[serde(rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
}

/// Everything the probe found for one location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// Where the probe ran: `from-here` (the user's machine) or `in-cluster`.
    pub agent: String,
    /// The location.
    pub location: ProbedLocation,
    /// The key the probe wrote (and deleted): `<prefix>backups/snapdoc-probe-<uuid>` (where Velero never lists).
    pub probe_key: String,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The directories the listing found under the prefix.
    pub top_level_dirs: Vec<String>,
    /// Server clock minus this machine's, in seconds (1 s resolution: the Date header's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew_seconds: Option<i64>,
    /// The bucket's versioning (`Enabled`, `Suspended`, `Disabled`: never enabled), when the store says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// Whether the bucket has object lock (immutable backups), when the store says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<bool>,
    /// The median round trip of the probe's requests, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_ms: Option<u64>,
    /// A host path / NFS location's findings: who Velero runs as, and each node's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_volume: Option<super::host_path::LocalVolumeReport>,
}

impl ProbeResult {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Failed)
    }

    /// The rule ids of the failed checks, each once, in check order.
    pub fn failed_rules(&self) -> Vec<&str> {
        let mut rules: Vec<&str> = Vec::new();
        for rule in self.checks.iter().filter_map(|c| c.rule.as_deref()) {
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
        rules
    }

    /// The check of `step`, if it was recorded.
    pub fn check(&self, step: Step) -> Option<&Check> {
        self.checks.iter().find(|c| c.step == step)
    }

    /// `s3://bucket/prefix at endpoint`; a local volume's `hostPath /srv/snapshots (bucket b)`.
    pub fn target(&self) -> String {
        let l = &self.location;
        let scheme = match l.provider.as_str() {
            "azure" | "velero.io/azure" => "azure",
            "gcp" | "velero.io/gcp" => "gs",
            _ if self.local_volume.is_some() => {
                return format!("{} (bucket {})", l.endpoint, l.bucket);
            }
            _ => "s3",
        };
        format!("{scheme}://{}/{} at {}", l.bucket, l.prefix, l.endpoint)
    }

    /// Lines about a local volume: who Velero runs as and where that was read, each node's directory.
    pub fn local_volume_lines(&self) -> Vec<String> {
        let Some(local) = &self.local_volume else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        if let Some(run_as) = &local.run_as {
            let id =
                |v: Option<u32>, unknown: &str| v.map_or(unknown.to_string(), |v| v.to_string());
            lines.push(format!(
                "Velero runs as uid {} gid {}{} ({})",
                id(run_as.uid, "of its image (not in the API)"),
                id(run_as.gid, "of its image"),
                run_as
                    .fs_group
                    .map(|g| format!(" fsGroup {g}"))
                    .unwrap_or_default(),
                run_as.source
            ));
        }
        if let Some(volume) = &local.volume {
            lines.push(volume.summary());
        }
        for node in &local.nodes {
            match &node.volume {
                Some(volume) => lines.push(format!("node {}: {}", node.node, volume.summary())),
                None => lines.push(format!(
                    "node {}: the volume could not be mounted",
                    node.node
                )),
            }
        }
        lines
    }

    /// The terminal rendering: one line per check, the failures' rules named.
    pub fn to_terminal(&self) -> String {
        let mut out = String::new();
        let l = &self.location;
        let region = if l.region.is_empty() {
            String::new()
        } else {
            format!(", region {}", l.region)
        };
        let _ = writeln!(
            out,
            "Probe of {} ({}{region}{})",
            self.target(),
            self.agent,
            if l.path_style && self.target().starts_with("s3:") {
                ", path style"
            } else {
                ""
            }
        );
        for check in &self.checks {
            let mark = match check.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::Skipped => "skip",
            };
            let latency = check
                .latency_ms
                .map(|ms| format!(" ({ms} ms)"))
                .unwrap_or_default();
            let rule = check
                .rule
                .as_deref()
                .map(|r| format!(" [{r}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {mark} {:<18} {}{latency}{rule}",
                check.step.label(),
                check.detail
            );
        }
        if let Some(versioning) = &self.versioning {
            let lock = match self.object_lock {
                Some(true) => ", object lock on",
                Some(false) => ", object lock off",
                None => "",
            };
            let _ = writeln!(out, "  bucket versioning: {versioning}{lock}");
        }
        if let Some(ms) = self.round_trip_ms {
            let _ = writeln!(out, "  round trip (median): {ms} ms");
        }
        for line in self.local_volume_lines() {
            let _ = writeln!(out, "  {line}");
        }
        let rules = self.failed_rules();
        if rules.is_empty()
            && self.passed()
            && let Some(local) = &self.local_volume
        {
            let unknown_uid = local.run_as.as_ref().is_some_and(|r| r.uid.is_none());
            let _ = writeln!(
                out,
                "{}",
                if unknown_uid {
                    "The directory exists and takes writes, but only as snapdoc's uid: Velero's own is unknown."
                } else {
                    "The directory works for Velero: it exists, the plugin accepts its owner and mode, and the probe wrote, read and deleted a file as Velero's uid."
                }
            );
        } else if rules.is_empty() && self.passed() {
            let _ = writeln!(
                out,
                "The location works from here: Velero can list, write, read and delete."
            );
        } else if !rules.is_empty() {
            let _ = writeln!(
                out,
                "Reproduced: {} (`snapdoc rules explain ID` for cause and fix).",
                rules.join(", ")
            );
        }
        out
    }
}

/// The catalog rule for an S3 error `code` answered to `step`. The ids are those whose log signatures match
/// the same code in Velero's logs (tests/probe.rs checks each against the catalog).
pub(crate) fn rule_for_code(step: Step, code: &str) -> Option<&'static str> {
    match code {
        "NoSuchBucket" => Some("SD101"),
        "InvalidAccessKeyId" => Some("SD201"),
        "SignatureDoesNotMatch" => Some("SD202"),
        "AccessDenied" | "AllAccessDisabled" => Some("SD203"),
        "RequestTimeTooSkewed" => Some("SD210"),
        // What stores answered the 1.9.1 plugin's checksum headers (velero#7534, #8152, #8203, #9804). The same
        // codes on a plain PutObject have other causes, so only the checksum step maps them.
        "XAmzContentSHA256Mismatch" | "InvalidArgument" | "NotImplemented"
            if step == Step::PutWithChecksum =>
        {
            Some("SD111")
        }
        _ => None,
    }
}

/// The catalog rule for an Azure Blob error `code` (the Blob service's error codes, as the plugin's SDK logs them:
/// `ERROR CODE: <code>`, or `ErrorCode=<code>` in the older SDK).
pub(crate) fn azure_rule_for_code(_step: Step, code: &str) -> Option<&'static str> {
    match code {
        "ContainerNotFound" => Some("SD101"),
        // A wrong account key (the signature does not verify), and a principal without the data-plane role.
        "AuthenticationFailed" | "AuthorizationPermissionMismatch" | "AuthorizationFailure" => {
            Some("SD207")
        }
        _ => None,
    }
}

/// The catalog rule for a Google Cloud Storage error: the JSON API's `reason` (googleapi logs it last: "Error 403:
/// <message>, forbidden") or the token endpoint's OAuth error.
pub(crate) fn gcs_rule_for_code(step: Step, code: &str) -> Option<&'static str> {
    match code {
        // The list and the upload address the bucket (b/<bucket>/o): their 404 is the bucket's. The Go client
        // turns it into ErrBucketNotExist ("storage: bucket doesn't exist"); a read's or delete's 404 is the object's.
        "notFound" if matches!(step, Step::List | Step::Put) => Some("SD101"),
        // "<account> does not have storage.objects.<action> access to …".
        "forbidden" => Some("SD208"),
        // The token endpoint refused the key's signed assertion: a deleted or disabled key, or another account's.
        "invalid_grant" => Some("SD211"),
        _ => None,
    }
}

/// Velero's own top-level directories (pkg/persistence/object_store_layout.go); anything else makes
/// `IsValid` fail and the location Unavailable.
pub(crate) const VELERO_DIRS: [&str; 6] = [
    "backups", "restores", "restic", "metadata", "plugins", "kopia",
];

/// The rule for directories Velero does not own under the prefix.
pub(crate) const FOREIGN_DIRS_RULE: &str = "SD102";
/// The rule for a TLS certificate the location does not trust.
pub(crate) const CERTIFICATE_RULE: &str = "SD206";
/// The rule for a clock too far from the store's.
pub(crate) const SKEW_RULE: &str = "SD210";

/// All ids the probe can name, for the test that each exists in the catalog.
pub fn rule_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = [
        "NoSuchBucket",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "RequestTimeTooSkewed",
        "XAmzContentSHA256Mismatch",
    ]
    .iter()
    .filter_map(|code| rule_for_code(Step::PutWithChecksum, code))
    .collect();
    ids.extend(
        ["ContainerNotFound", "AuthenticationFailed"]
            .iter()
            .filter_map(|code| azure_rule_for_code(Step::List, code)),
    );
    ids.extend(
        ["notFound", "forbidden", "invalid_grant"]
            .iter()
            .filter_map(|code| gcs_rule_for_code(Step::List, code)),
    );
    ids.extend([FOREIGN_DIRS_RULE, CERTIFICATE_RULE, SKEW_RULE]);
    ids.extend(super::host_path::rule_ids());
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// One location's in-cluster probe as a report carries it (`run --probe`, `check --probe`): the result, or why
/// the probe could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationProbe {
    /// The BackupStorageLocation's namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// What the agent found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ProbeResult>,
    /// Why there is no result (a provider the probe does not handle, a Job that could not be created …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LocationProbe {
    /// `namespace/name`.
    pub fn location(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// One sentence per failed check that a catalog rule describes: "the probe reproduced NoSuchBucket on list
    /// prefix (SD101)"; the step's detail where the store gave no error code (skew, certificate, directories).
    pub fn reproduced(&self) -> Vec<String> {
        let Some(result) = &self.result else {
            return Vec::new();
        };
        result
            .checks
            .iter()
            .filter(|c| c.status == Status::Failed)
            .filter_map(|check| {
                let rule = check.rule.as_deref()?;
                Some(match &check.error_code {
                    Some(code) => format!(
                        "the probe reproduced {code} on {} ({rule})",
                        check.step.label()
                    ),
                    None => format!(
                        "the probe reproduced it on {}: {} ({rule})",
                        check.step.label(),
                        check.detail
                    ),
                })
            })
            .collect()
    }

    /// Every check passed.
    pub fn passed(&self) -> bool {
        self.result.as_ref().is_some_and(ProbeResult::passed)
    }
}
