//! The in-cluster probe: the Job that runs the agent in Velero's namespace with the location's credentials mounted
//! the way Velero mounts them, and the API access the flow around it needs (the Role in
//! deploy/manifests/snapdoc-probe-role.yaml, tested against [`PROBE_ACCESS`]).

use base64::Engine as _;
use serde_json::{Value, json};

use super::bsl::BslLocation;
use super::error::ProbeError;
use std::collections::BTreeMap;

use super::location::Location;

/// The secret `velero install` and KOTS create and the server mounts at /credentials (pkg/install/deployment.go,
/// velero d30d389b56068eebd675d9953492183cb7b58a78): what a location without spec.credential uses. The server's
/// AWS_SHARED_CREDENTIALS_FILE, AZURE_CREDENTIALS_FILE and GOOGLE_APPLICATION_CREDENTIALS all name its `cloud`
/// key, /credentials/cloud, so one mount serves every provider; the agent is given that path explicitly.
pub const SERVER_CREDENTIALS_SECRET: &str = "cloud-credentials";
/// Where the server's deployment mounts it, and the file AWS_SHARED_CREDENTIALS_FILE names.
const SERVER_CREDENTIALS_DIR: &str = "/credentials";
/// Velero writes a location's spec.credential key to `<TMPDIR>/credentials/<namespace>/<secret>-<key>`
/// (internal/credentials/file_store.go, local.go) and hands that path to the plugin as config credentialsFile
/// (pkg/persistence/object_store.go), which the AWS, Azure (pkg/util/azure/util.go LoadCredentials) and GCP
/// (object_store.go Init) plugins each prefer to the server's file.
const LOCATION_CREDENTIALS_ROOT: &str = "/tmp/credentials";
/// How long the agent may run: seven requests with a 15 s budget each, and the pod's start.
pub(crate) const ACTIVE_DEADLINE_SECONDS: i64 = 180;
/// The cluster removes a finished Job after this even if snapdoc, interrupted, could not.
const TTL_AFTER_FINISHED_SECONDS: i64 = 600;

/// What the in-cluster flow does with the Kubernetes API, in Velero's namespace only: create the Job, wait on it,
/// find its pod (by the job-name label, hence list), read the kubelet's events about a pod that does not start
/// (FailedMount), read the result from the pod's log, delete the Job (its pod goes with it through the garbage
/// collector). For a host path / NFS location (host_path_jobs.rs) also the local-volume-provider plugin's
/// ConfigMap, listed by its label as the plugin finds it, for the uid Velero runs as; its nodes come from the
/// pods' list. (API group, resource, verbs.)
pub const PROBE_ACCESS: [(&str, &str, &[&str]); 5] = [
    ("batch", "jobs", &["create", "get", "delete"]),
    ("", "pods", &["get", "list"]),
    ("", "pods/log", &["get"]),
    ("", "events", &["list"]),
    ("", "configmaps", &["list"]),
];

/// The agent's arguments for `location`: `snapdoc probe --agent` with the location's config as flags (the AWS
/// plugin's keys by their own flags, Azure's and GCP's as `--config=KEY=VALUE`).
pub fn agent_args(
    location: &Location,
    profile: Option<&str>,
    credentials_file: &str,
) -> Vec<String> {
    let mut args: Vec<String> = vec!["probe".into(), "--agent".into()];
    let mut flag = |name: &str, value: &str| {
        args.push(format!("--{name}={value}"));
    };
    flag("provider", location.provider());
    flag("bucket", location.bucket());
    if !location.prefix().is_empty() {
        flag("prefix", location.prefix());
    }
    if let Location::S3(s3) = location {
        if let Some(region) = s3.region.as_deref().filter(|r| !r.is_empty()) {
            flag("region", region);
        }
        if let Some(url) = s3.s3_url.as_deref().filter(|u| !u.is_empty()) {
            flag("s3-url", url);
        }
        if let Some(algorithm) = &s3.checksum_algorithm {
            flag("checksum-algorithm", algorithm);
        }
    }
    for (key, value) in location.config_pairs() {
        flag("config", &format!("{key}={value}"));
    }
    if let Some(pem) = location.ca_cert() {
        flag(
            "s3-ca-cert-base64",
            &base64::engine::general_purpose::STANDARD.encode(pem),
        );
    }
    flag("credentials-file", credentials_file);
    if let Some(profile) = profile {
        flag("profile", profile);
    }
    if let Location::S3(s3) = location {
        if s3.s3_force_path_style {
            args.push("--s3-force-path-style".into());
        }
        if s3.insecure_skip_tls_verify {
            args.push("--s3-insecure-skip-tls-verify".into());
        }
    }
    args
}

/// What a probe Job's container arguments ask the agent to do: the inverse of [`agent_args`], for the lab, which
/// runs the agent in-process for the Jobs it plays the kubelet of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInvocation {
    /// The location the arguments name.
    pub location: Location,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--credentials-file`: where the mounted secret's key is in the pod (empty for a local-volume-provider
    /// location, which takes none).
    pub credentials_file: String,
}

/// Reads the arguments [`agent_args`] writes (`probe --agent --name=value …`).
pub fn parse_agent_args(args: &[String]) -> Result<AgentInvocation, ProbeError> {
    let bad = |message: String| ProbeError::Config(format!("the agent's arguments: {message}"));
    let rest = match args {
        [probe, agent, rest @ ..] if probe == "probe" && agent == "--agent" => rest,
        _ => return Err(bad(format!("{args:?} does not start with probe --agent"))),
    };
    // The flags back into the config map they came from, read as the BSL's would be.
    let (mut provider, mut bucket, mut prefix) = (String::new(), String::new(), String::new());
    let mut config = BTreeMap::new();
    let mut ca_cert = None;
    let (mut profile, mut credentials_file) = (None, None);
    for arg in rest {
        let (name, value) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        let value = value.to_string();
        let mut set = |key: &str, value: String| config.insert(key.to_string(), value);
        match name {
            "--provider" => provider = value,
            "--bucket" => bucket = value,
            "--prefix" => prefix = value,
            "--region" => _ = set("region", value),
            "--s3-url" => _ = set("s3Url", value),
            "--checksum-algorithm" => _ = set("checksumAlgorithm", value),
            "--s3-force-path-style" => _ = set("s3ForcePathStyle", "true".into()),
            "--s3-insecure-skip-tls-verify" => _ = set("insecureSkipTLSVerify", "true".into()),
            "--config" => {
                let (key, value) = value
                    .split_once('=')
                    .ok_or_else(|| bad(format!("--config={value} is not KEY=VALUE")))?;
                set(key, value.to_string());
            }
            "--s3-ca-cert-base64" => {
                ca_cert = Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(value.trim())
                        .map_err(|e| bad(format!("--s3-ca-cert-base64: {e}")))?,
                );
            }
            "--credentials-file" => credentials_file = Some(value),
            "--profile" => profile = Some(value),
            other => return Err(bad(format!("unknown argument {other}"))),
        }
    }
    let (location, _) = Location::from_config(&provider, &bucket, &prefix, &config, ca_cert)?;
    let credentials_file = match (&location, credentials_file) {
        (Location::LocalVolume(_), file) => file.unwrap_or_default(),
        (_, file) => file.ok_or_else(|| bad("no --credentials-file".into()))?,
    };
    Ok(AgentInvocation {
        location,
        profile,
        credentials_file,
    })
}

/// The Job probing `bsl` with snapdoc's `image`; `suffix` makes its name unique.
pub fn probe_job(bsl: &BslLocation, image: &str, suffix: &str) -> Value {
    let (volume, mount_path, credentials_file) = match &bsl.credential {
        None => (
            json!({"name": "credentials", "secret": {"secretName": SERVER_CREDENTIALS_SECRET, "defaultMode": 0o444}}),
            SERVER_CREDENTIALS_DIR.to_string(),
            format!("{SERVER_CREDENTIALS_DIR}/cloud"),
        ),
        Some((secret, key)) => {
            let dir = format!("{LOCATION_CREDENTIALS_ROOT}/{}", bsl.namespace);
            let file = format!("{secret}-{key}");
            (
                json!({"name": "credentials", "secret": {"secretName": secret, "defaultMode": 0o444,
                        "items": [{"key": key, "path": file}]}}),
                dir.clone(),
                format!("{dir}/{file}"),
            )
        }
    };
    let labels = json!({
        "app.kubernetes.io/name": "snapdoc",
        "app.kubernetes.io/component": "probe",
    });
    let restricted = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
    });
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(&bsl.name, suffix),
            "namespace": bsl.namespace,
            "labels": labels,
            "annotations": {"snapdoc.io/backup-storage-location": bsl.name},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_SECONDS,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    // The agent talks to the object store only.
                    "automountServiceAccountToken": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": "probe",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": agent_args(&bsl.location, bsl.profile.as_deref(), &credentials_file),
                        // The result is also the termination message: readable from the pod's status.
                        "terminationMessagePolicy": "File",
                        "resources": {
                            "requests": {"cpu": "10m", "memory": "32Mi"},
                            "limits": {"memory": "128Mi"},
                        },
                        "securityContext": restricted,
                        "volumeMounts": [{"name": "credentials", "mountPath": mount_path, "readOnly": true}],
                    }],
                    "volumes": [volume],
                },
            },
        },
    })
}

/// `snapdoc-probe-<bsl>-<suffix>`, cut to the 63 characters of a label value (the pods' job-name label).
fn job_name(bsl: &str, suffix: &str) -> String {
    let room = 63 - "snapdoc-probe--".len() - suffix.len();
    let bsl: String = bsl.chars().take(room).collect();
    format!(
        "snapdoc-probe-{}-{suffix}",
        bsl.trim_end_matches(['-', '.'])
    )
}

#[cfg(test)]
mod tests {
    use super::super::location::{AzureLocation, S3Location};
    use super::*;

    #[test]
    fn job_names_fit_a_label_value() {
        assert_eq!(
            job_name("default", "1a2b3c4d"),
            "snapdoc-probe-default-1a2b3c4d"
        );
        let long = job_name(&"a".repeat(100), "1a2b3c4d");
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn a_location_s_own_credential_is_mounted_where_velero_writes_it() {
        let bsl = BslLocation {
            location: Location::S3(S3Location {
                provider: "aws".into(),
                bucket: "b".into(),
                ca_cert: Some(b"PEM".to_vec()),
                ..Default::default()
            }),
            profile: Some("backups".into()),
            namespace: "velero".into(),
            name: "secondary".into(),
            credential: Some(("bsl-secondary".into(), "cloud".into())),
        };
        let job = probe_job(&bsl, "snapdoc:test", "00000000");
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(
            pod["volumes"][0]["secret"]["items"],
            json!([{"key": "cloud", "path": "bsl-secondary-cloud"}])
        );
        assert_eq!(
            pod["containers"][0]["volumeMounts"][0]["mountPath"],
            "/tmp/credentials/velero"
        );
        let args: Vec<&str> = pod["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(args.contains(&"--credentials-file=/tmp/credentials/velero/bsl-secondary-cloud"));
        assert!(args.contains(&"--profile=backups"));
        assert!(args.contains(&"--s3-ca-cert-base64=UEVN"));
        let strings: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let parsed = parse_agent_args(&strings).unwrap();
        assert_eq!(parsed.location, bsl.location);
        assert_eq!(parsed.profile.as_deref(), Some("backups"));
        assert_eq!(
            parsed.credentials_file,
            "/tmp/credentials/velero/bsl-secondary-cloud"
        );
        assert!(parse_agent_args(&strings[1..]).is_err());
    }

    #[test]
    fn an_azure_location_s_config_goes_to_the_agent_as_config_pairs() {
        let location = Location::Azure(AzureLocation {
            provider: "azure".into(),
            container: "velero".into(),
            prefix: "cluster-a".into(),
            storage_account: "devstoreaccount1".into(),
            storage_account_key_env_var: Some("AZURE_STORAGE_ACCOUNT_ACCESS_KEY".into()),
            storage_account_uri: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
            ca_cert: Some(b"PEM".to_vec()),
            ..Default::default()
        });
        let args = agent_args(&location, None, "/credentials/cloud");
        assert!(
            args.contains(
                &"--config=storageAccountURI=http://127.0.0.1:10000/devstoreaccount1".to_string()
            ),
            "{args:?}"
        );
        let parsed = parse_agent_args(&args).unwrap();
        assert_eq!(parsed.location, location);
        assert_eq!(parsed.credentials_file, "/credentials/cloud");
    }
}
