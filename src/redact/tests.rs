use std::io::Write;

use serde_json::json;

use super::rules::RULE_NAMES;
use super::*;
use super::{literals, rules};

fn redact(line: &str) -> (String, RedactionCounts) {
    let mut counts = RedactionCounts::new();
    let out = Redactor::global()
        .redact_text(line, &mut counts)
        .into_owned();
    (out, counts)
}

/// Each case: input, the secret that must be gone, a part that must stay, the rule that must count it.
const CORPUS: &[(&str, &str, &str, &str)] = &[
    (
        r#"time="2024-01-02T03:04:05Z" level=info msg="using key AKIAIOSFODNN7EXAMPLE for bucket""#,
        "AKIAIOSFODNN7EXAMPLE",
        "for bucket",
        "aws-access-key-id",
    ),
    (
        "ASIAY34FZKBOKMUTVV7A was used",
        "ASIAY34FZKBOKMUTVV7A",
        "was used",
        "aws-access-key-id",
    ),
    (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG",
        "aws_secret_access_key=",
        "aws-secret-access-key",
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI",
        "aws_secret_access_key = ",
        "aws-secret-access-key",
    ),
    (
        r#"{"secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "region": "us-east-1"}"#,
        "wJalrXUtnFEMI",
        r#""region": "us-east-1""#,
        "aws-secret-access-key",
    ),
    (
        "AZURE_STORAGE_ACCOUNT_ACCESS_KEY=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0Cg==",
        "c2VjcmV0c2VjcmV0",
        "AZURE_STORAGE_ACCOUNT_ACCESS_KEY=",
        "azure-storage-key",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=velerobackups;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6",
        "EndpointSuffix=core.windows.net",
        "azure-storage-key",
    ),
    (
        "AZURE_CLIENT_SECRET=8Q~abcdefghijklmnopqrstuvwxyz0123456789",
        "8Q~abcdefghijklmnop",
        "AZURE_CLIENT_SECRET=",
        "azure-storage-key",
    ),
    (
        "GET https://acct.blob.core.windows.net/velero/backups/b1/b1-logs.gz?sv=2021-08-06&se=2024-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=abcDEF123%2Bxyz%3D failed",
        "abcDEF123",
        "sv=2021-08-06",
        "azure-sas-signature",
    ),
    (
        r#"{"type": "service_account", "project_id": "p", "private_key_id": "0123456789abcdef0123456789abcdef01234567", "client_email": "velero@p.iam.gserviceaccount.com"}"#,
        "0123456789abcdef0123456789abcdef01234567",
        "velero@p.iam.gserviceaccount.com",
        "gcp-service-account-key",
    ),
    (
        r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "client_id": "1"}"#,
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        r#""client_id": "1""#,
        "gcp-service-account-key",
    ),
    (
        // composed: the OAuth 2.0 token endpoint's answer to a service-account assertion (the GCS probe's
        // exchange, src/probe/gcs.rs), with a token of Google's ya29. shape.
        r#"{"access_token":"ya29.c.b0AXv0zTMtestonly0123456789abcdef","expires_in":3599,"token_type":"Bearer"}"#,
        "ya29.c.b0AXv0zTMtestonly0123456789abcdef",
        r#""expires_in":3599"#,
        "token",
    ),
    (
        // composed: the GCS JSON API request header the probe and the plugin send.
        "Authorization: Bearer ya29.c.b0AXv0zTMtestonly0123456789abcdef",
        "ya29.c.b0AXv0zTMtestonly0123456789abcdef",
        "Authorization: Bearer ",
        "bearer-token",
    ),
    (
        r#"cert: -----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA7bq-----END RSA PRIVATE KEY----- ok"#,
        "MIIEpAIBAAKCAQEA7bq",
        "-----END RSA PRIVATE KEY----- ok",
        "pem-private-key",
    ),
    (
        "password=hunter2-very-secret and more",
        "hunter2-very-secret",
        "and more",
        "password",
    ),
    (
        r#"{"password": "p@ss w0rd with spaces", "user": "admin"}"#,
        "p@ss w0rd",
        r#""user": "admin""#,
        "password",
    ),
    (
        r#"level=error msg="login failed" body="{\"password\":\"s3cr3t-in-escaped-json\",\"user\":\"a\"}""#,
        "s3cr3t-in-escaped-json",
        r#"\"user\":\"a\""#,
        "password",
    ),
    (
        r#"msg="creds={\\"private_key_id\\":\\"abcdef0123456789\\",\\"client_email\\":\\"x@y\\"}""#,
        "abcdef0123456789",
        r#"\\"client_email\\":\\"x@y\\""#,
        "gcp-service-account-key",
    ),
    (
        "MYSQL_ROOT_PASSWORD: 'root-pass-123'",
        "root-pass-123",
        "MYSQL_ROOT_PASSWORD: '",
        "password",
    ),
    (
        "token=ghp_abcdefghijklmnopqrstuvwxyz012345 next=1",
        "ghp_abcdefghijklmnopqrstuvwxyz012345",
        "next=1",
        "token",
    ),
    (
        "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
        "IQoJb3JpZ2luX2VjEJr",
        "AWS_SESSION_TOKEN=",
        "token",
    ),
    (
        r#"{"apiKey": "sk-live-1234567890abcdef"}"#,
        "sk-live-1234567890abcdef",
        r#""apiKey": ""#,
        "token",
    ),
    (
        "Failed to connect to s3://veleroadmin:minio-pass-42@minio.velero.svc:9000/velero",
        "minio-pass-42",
        "veleroadmin:",
        "url-credentials",
    ),
    (
        "proxy https://user:p4ssw0rd@proxy.corp.example:3128 refused",
        "p4ssw0rd",
        "proxy.corp.example:3128 refused",
        "url-credentials",
    ),
    (
        "Authorization: Bearer abcdef0123456789abcdef0123456789",
        "abcdef0123456789abcdef0123456789",
        "Authorization: Bearer ",
        "bearer-token",
    ),
    (
        "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==",
        "dXNlcjpwYXNzd29yZDEyMw==",
        "Authorization: Basic ",
        "basic-auth",
    ),
    (
        "sa token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlc2lnbmF0dXJl seen",
        "c2lnbmF0dXJlc2lnbmF0dXJl",
        " seen",
        "jwt",
    ),
    (
        "download https://bucket.s3.amazonaws.com/backups/b1/b1-logs.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=600&X-Amz-Security-Token=FwoGZXIvYXdzEJr&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef timed out",
        "0123456789abcdef0123456789abcdef",
        "X-Amz-Expires=600",
        "presigned-url-signature",
    ),
    (
        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=velero%40p.iam&X-Goog-Signature=deadbeefdeadbeef",
        "deadbeefdeadbeef",
        "X-Goog-Algorithm=GOOG4-RSA-SHA256",
        "presigned-url-signature",
    ),
];

#[test]
fn every_credential_shape_is_redacted_keeping_its_key() {
    for (input, secret, kept, rule) in CORPUS {
        let (out, counts) = redact(input);
        assert!(
            !out.contains(secret),
            "{rule}: secret {secret:?} survived in {out:?}"
        );
        assert!(out.contains(kept), "{rule}: lost {kept:?}: {out:?}");
        assert!(out.contains(PLACEHOLDER), "{rule}: no placeholder: {out:?}");
        assert!(
            counts.get(*rule).copied().unwrap_or(0) >= 1,
            "{rule}: not counted for {input:?}: {counts:?}"
        );
    }
}

#[test]
fn the_presigned_credential_is_counted_once_by_the_url_rule() {
    let (out, counts) = redact("u?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101&x=1");
    assert_eq!(out, format!("u?X-Amz-Credential={PLACEHOLDER}&x=1"));
    assert_eq!(counts.get("presigned-url-signature"), Some(&1));
    assert_eq!(counts.get("aws-access-key-id"), None);
}

#[test]
fn ordinary_velero_lines_are_left_alone() {
    for line in [
        r#"time="2024-05-01T10:00:00Z" level=info msg="Backup completed" backup=velero/daily-20240501 logSource="pkg/controller/backup_controller.go:700""#,
        r#"level=error msg="Error getting backup store for this location" backupLocation=velero/default controller=backup-sync error="rpc error: code = Unknown desc = NoSuchBucket: The specified bucket does not exist\n\tstatus code: 404""#,
        r#"level=warning msg="secret \"cloud-credentials\" not found" logSource="pkg/cmd/server/server.go:1""#,
        "automountServiceAccountToken=false credentialsFile=/credentials/cloud",
        r#"{"secretName": "cloud-credentials", "secretKeyRef": {"key": "cloud"}}"#,
        "-----BEGIN CERTIFICATE-----MIIBszCCAVmgAwIBAgIU-----END CERTIFICATE-----",
        "a bearer token is required",
        // Flags that name a file or a Secret, not a value; a volume list; a name/value pair naming a Secret.
        "restic backup --password-file /tmp/credentials/velero/repo-password --repo s3:s3.amazonaws.com/b/restic/ns",
        "velero install --secret-file ./credentials-velero --use-node-agent --bypass-cache x",
        "  - name: VELERO_SECRET_NAME\n    value: cloud-credentials\n  - name: cloud-credentials\n    secret:\n",
        "Fatal: wrong password or no key found",
        // An image reference by digest behind a port: no `user:password@` here.
        "pulling oci://registry.example.com:5000/velero/velero-plugin@sha256:0a1b2c3d4e5f",
        "",
    ] {
        let (out, counts) = redact(line);
        assert_eq!(out, line, "changed: {counts:?}");
        assert!(counts.is_empty(), "{line}: {counts:?}");
    }
}

#[test]
fn a_multi_line_pem_block_is_redacted_to_its_end_marker() {
    let text = "before\nkey: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oG\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY----- after\nlast password=x1\n";
    let (out, counts) = redact(text);
    assert!(
        !out.contains("MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oG"),
        "{out}"
    );
    assert!(!out.contains("AwEHoUQDQgAE"), "{out}");
    assert!(out.starts_with("before\nkey: -----BEGIN EC PRIVATE KEY-----"));
    assert!(
        out.contains("-----END EC PRIVATE KEY----- after\n"),
        "{out}"
    );
    assert!(
        out.ends_with(&format!("last password={PLACEHOLDER}\n")),
        "{out}"
    );
    assert_eq!(out.lines().count(), text.lines().count());
    assert_eq!(counts.get("pem-private-key"), Some(&1));
    assert_eq!(counts.get("password"), Some(&1));
}

#[test]
fn a_pem_block_without_end_stops_being_redacted_after_a_bound() {
    let mut text = String::from("-----BEGIN PRIVATE KEY-----\n");
    for _ in 0..(MAX_PEM_LINES + 10) {
        text.push_str("body\n");
    }
    text.push_str("visible again\n");
    let (out, _) = redact(&text);
    assert!(out.ends_with("visible again\n"), "{out}");
}

#[test]
fn streaming_in_tiny_chunks_gives_the_same_result_as_whole_lines() {
    let text: String = CORPUS
        .iter()
        .map(|(input, ..)| format!("{input}\n"))
        .collect::<String>()
        + "-----BEGIN PRIVATE KEY-----\nabcdefgh\n-----END PRIVATE KEY-----\ntrailing password=nonewline";
    let (whole, whole_counts) = redact(&text);
    for chunk_size in [1, 3, 7, 64, 4096] {
        let mut writer = RedactingWriter::new(Redactor::global(), Vec::new());
        for chunk in text.as_bytes().chunks(chunk_size) {
            writer.write_all(chunk).unwrap();
        }
        let (out, counts) = writer.finish().unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), whole, "chunk {chunk_size}");
        assert_eq!(counts, whole_counts, "chunk {chunk_size}");
    }
}

#[test]
fn overlong_lines_are_passed_on_in_bounded_pieces() {
    let mut buffer = LineBuffer::new(Redactor::global());
    let mut out = Vec::new();
    let big = vec![b'x'; stream::MAX_LINE * 2 + 10];
    buffer.push(&big, &mut out);
    // What is held back is under one piece: memory stays bounded whatever the line's length.
    assert!(big.len() - out.len() < stream::MAX_LINE, "{}", out.len());
    assert!(out.len() >= 2 * (stream::MAX_LINE - stream::OVERLAP));
    buffer.push(b"\n", &mut out);
    buffer.finish(&mut out);
    assert_eq!(out.len(), big.len() + 1);
}

#[test]
fn invalid_utf8_passes_through_and_secrets_around_it_are_still_found() {
    let mut writer = RedactingWriter::new(Redactor::global(), Vec::new());
    writer
        .write_all(b"\xff\xfe token=abcdefgh123 \xc3\n")
        .unwrap();
    let (out, counts) = writer.finish().unwrap();
    assert_eq!(out, b"\xff\xfe token=***REDACTED*** \xc3\n");
    assert_eq!(counts.get("token"), Some(&1));
}

#[test]
fn objects_lose_secret_fields_and_env_values_but_keep_names() {
    let mut pod = json!({
        "metadata": {"name": "velero-1", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"env\":[{\"name\":\"X\",\"value\":\"password=inner-secret\"}]}"
        }},
        "spec": {
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "velero",
                "image": "velero/velero:v1.12.0",
                "env": [
                    {"name": "AWS_SECRET_ACCESS_KEY", "value": "plain-env-secret"},
                    {"name": "MINIO_ROOT_PASSWORD", "value": "minio123"},
                    {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/credentials/cloud"},
                    {"name": "VELERO_SCRATCH_DIR", "value": "/scratch"},
                    {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "{\"private_key_id\": \"abc123def\"}"},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "cloud-credentials", "key": "cloud"}}}
                ]
            }],
            "volumes": [{"name": "cloud-credentials", "secret": {"secretName": "cloud-credentials"}}]
        },
        "data": {"token": "dG9rZW4tdmFsdWU=", "caBundle": "LS0tLS1CRUdJTg=="}
    });
    let mut counts = RedactionCounts::new();
    Redactor::global().redact_json(&mut pod, &mut counts);
    let text = pod.to_string();
    for gone in [
        "plain-env-secret",
        "minio123",
        "inner-secret",
        "abc123def",
        "dG9rZW4tdmFsdWU=",
    ] {
        assert!(!text.contains(gone), "{gone} survived: {text}");
    }
    for kept in [
        "/credentials/cloud",
        "/scratch",
        "cloud-credentials",
        "velero/velero:v1.12.0",
        "LS0tLS1CRUdJTg==",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(text.contains(kept), "{kept} lost: {text}");
    }
    assert_eq!(pod["spec"]["automountServiceAccountToken"], json!(false));
    // The env entry inside last-applied-configuration is read as the env entry it is: its value is replaced
    // whole (`X=password=…` reads as a credential), not only the text after `password=`.
    assert_eq!(counts.get("env-secret-value"), Some(&4));
    assert_eq!(counts.get("secret-field"), Some(&1));
    assert_eq!(counts.get("password"), None);
    let last_applied: serde_json::Value = serde_json::from_str(
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last_applied["env"][0]["value"], json!(PLACEHOLDER));
}

#[test]
fn every_rule_name_is_known() {
    let (_, counts) = redact(
        &CORPUS
            .iter()
            .map(|(i, ..)| *i)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    for rule in counts.keys() {
        assert!(RULE_NAMES.contains(&rule.as_str()), "{rule}");
    }
}

#[test]
fn a_secret_straddling_an_overlong_lines_cut_is_found_whole() {
    // The secret starts a few bytes before the cut a fixed-size piece would make, and ends after it.
    for before_cut in [1, 9, 20, 300] {
        let mut line = "k=v ".repeat((stream::MAX_LINE - before_cut) / 4);
        line.push_str("password=StraddlingSecret-0123456789 tail\n");
        let mut writer = RedactingWriter::new(Redactor::global(), Vec::new());
        for chunk in line.as_bytes().chunks(4096) {
            writer.write_all(chunk).unwrap();
        }
        let (out, counts) = writer.finish().unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            !out.contains("StraddlingSecret"),
            "{before_cut}: {}",
            &out[out.len() - 200..]
        );
        assert!(!out.contains("0123456789"), "{before_cut}");
        assert_eq!(
            out.len(),
            line.len() - "StraddlingSecret-0123456789".len() + PLACEHOLDER.len()
        );
        assert_eq!(counts.get("password"), Some(&1));
    }
}

#[test]
fn yaml_values_on_the_line_after_their_key_are_redacted() {
    let text = "spec:\n  - name: DB_PASSWORD\n    value: \"hunter2-long\"\n  - name: LOG_LEVEL\n    value: debug\nconfig:\n  password: |\n    first-line-secret\n\n    second-line-secret\n  user: admin\n";
    let (out, counts) = redact(text);
    for gone in ["hunter2-long", "first-line-secret", "second-line-secret"] {
        assert!(!out.contains(gone), "{gone}: {out}");
    }
    for kept in [
        "value: debug",
        "user: admin",
        "password: |",
        "name: DB_PASSWORD",
    ] {
        assert!(out.contains(kept), "{kept}: {out}");
    }
    assert_eq!(out.lines().count(), text.lines().count());
    assert_eq!(counts.get("yaml-secret-value"), Some(&2));
}

#[test]
fn a_configmaps_key_named_like_a_key_and_a_password_flags_next_argument_are_replaced() {
    // composed: kURL's kube-system/kurl-config ConfigMap, whose cert_key is kubeadm's certificate key.
    let mut objects = json!([
        {"kind": "ConfigMap", "metadata": {"name": "kurl-config", "namespace": "kube-system"},
         "data": {"cert_key": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "kurl_install_directory": "/var/lib/kurl",
                  "token_ttl": "24h", "tls_enabled": "true"}},
        {"kind": "Pod", "spec": {"containers": [{"name": "db",
         "args": ["--user", "root", "--password", "argsPw-0001", "--port", "3306"],
         "env": [{"name": "MYSQL_PWD", "value": "envPw-0002"}, {"name": "REPLICAS", "value": "3"}]}]}}
    ]);
    let mut counts = RedactionCounts::new();
    Redactor::global().redact_json(&mut objects, &mut counts);
    let text = objects.to_string();
    for gone in ["0a1b2c3d4e5f", "argsPw-0001", "envPw-0002"] {
        assert!(!text.contains(gone), "{gone}: {text}");
    }
    for kept in [
        "/var/lib/kurl",
        "24h",
        "\"true\"",
        "\"root\"",
        "\"3306\"",
        "\"3\"",
    ] {
        assert!(text.contains(kept), "{kept}: {text}");
    }
    assert_eq!(counts.get("configmap-secret-key"), Some(&1));
    // Items of a List as the API returns them, without `kind`.
    let mut list = json!({"kind": "ConfigMapList", "items": [{"metadata": {"name": "kurl-config"},
        "data": {"cert_key": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}]});
    Redactor::global().redact_json(&mut list, &mut counts);
    assert!(!list.to_string().contains("0a1b2c3d4e5f"), "{list}");
    assert_eq!(counts.get("secret-argument"), Some(&1));
    assert_eq!(counts.get("env-secret-value"), Some(&1));
}

#[test]
fn a_value_quoted_from_an_object_is_judged_by_its_path_and_its_text() {
    let redactor = Redactor::global();
    let mut counts = RedactionCounts::new();
    for (path, value) in [
        ("data.cert_key", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
        ("spec.config.secretAccessKey", "abcdEFGH1234"),
        ("status.message", "dial postgres://app:pw-in-url-77@db:5432"),
    ] {
        let out = redactor.redact_quoted_value(path, value, &mut counts);
        assert!(out.contains(PLACEHOLDER), "{path}: {out}");
        assert!(
            !out.contains("0a1b2c3d") && !out.contains("abcdEFGH") && !out.contains("pw-in-url")
        );
    }
    for (path, value) in [
        ("spec.config.region", "us-east-1"),
        ("data.kurl_install_directory", "/var/lib/kurl"),
    ] {
        assert_eq!(
            redactor.redact_quoted_value(path, value, &mut counts),
            value
        );
    }
}

/// A bare value goes on over `,` / `;` inside it, but the next field after one stays readable.
#[test]
fn bare_values_hold_commas_and_semicolons_but_the_next_field_stays() {
    for (line, kept) in [
        ("password=SemiPw;part2-77,part3-x host=db", " host=db"),
        ("Server=db;Password=ConnPw;Database=app;", ";Database=app;"),
        ("password=abc123, user=bob", ", user=bob"),
        ("api_token=Tok3n,with;Delims-0099 next=1", " next=1"),
    ] {
        let (out, _) = redact(line);
        assert!(out.ends_with(kept), "{line} → {out}");
        assert!(out.contains(PLACEHOLDER), "{line} → {out}");
        for piece in ["part3-x", "ConnPw", "abc123", "Delims-0099"] {
            assert!(!out.contains(piece), "{line} → {out}");
        }
    }
}

/// A YAML plain scalar is the rest of its line, spaces included; a trailing comment stays.
#[test]
fn yaml_plain_scalars_are_redacted_to_the_end_of_the_line() {
    let (out, counts) = redact("  password: two words here   # rotated\n  user: admin\n");
    assert_eq!(
        out,
        format!("  password: {PLACEHOLDER}   # rotated\n  user: admin\n")
    );
    assert_eq!(counts.get("yaml-secret-value"), Some(&1));
    // Not a YAML line: prose keeps its words after the redacted value.
    let (out, _) = redact("level=error msg=\"login failed\" password=hunter22 for user x");
    assert!(out.ends_with(" for user x"), "{out}");
}

// ---- The fast path (literals.rs) against every line through the regexes -------------------------------

/// The rules with no line let through by the cheap checks, compiled once for the tests below.
static WITHOUT_FAST_PATH: std::sync::LazyLock<Redactor> =
    std::sync::LazyLock::new(Redactor::without_fast_path);

/// Redacts `text` as one stream (so the PEM and YAML states carry across its lines) with and without the
/// fast path, and asserts the same bytes and the same counts; returns the counts.
fn same_with_and_without_fast_path(text: &str) -> RedactionCounts {
    let (mut fast_counts, mut slow_counts) = (RedactionCounts::new(), RedactionCounts::new());
    let fast = Redactor::global().redact_text(text, &mut fast_counts);
    let slow = WITHOUT_FAST_PATH.redact_text(text, &mut slow_counts);
    if let Some((fast_line, slow_line)) = fast.lines().zip(slow.lines()).find(|(f, s)| f != s) {
        panic!("the fast path redacted otherwise:\n fast: {fast_line}\n rules: {slow_line}");
    }
    assert_eq!(fast, slow, "the fast path redacted otherwise");
    assert_eq!(fast_counts, slow_counts, "the fast path counted otherwise");
    // As a collection streams a log: in chunks of any size, a line cut between two of them, the fast path
    // searching the chunks' complete lines as blocks.
    let mut random = Random(text.len() as u64 | 1);
    let mut writer = RedactingWriter::new(Redactor::global(), Vec::new());
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        let size = rest.len().min(1 + random.below(96 * 1024));
        writer.write_all(&rest[..size]).unwrap();
        rest = &rest[size..];
    }
    let (streamed, streamed_counts) = writer.finish().unwrap();
    assert!(
        streamed == slow.as_bytes(),
        "the fast path redacted otherwise when streamed"
    );
    assert_eq!(
        streamed_counts, slow_counts,
        "the fast path counted otherwise when streamed"
    );
    fast_counts
}

#[test]
fn only_the_kelvin_sign_and_the_long_s_fold_to_ascii() {
    // The set of what `(?i)` matches for any ASCII character, as the regex crate builds it.
    let hir = regex_syntax::Parser::new()
        .parse(r"(?i)[\x00-\x7F]")
        .unwrap();
    let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) = hir.kind()
    else {
        panic!("not a Unicode class: {hir:?}");
    };
    let folded: Vec<char> = class
        .iter()
        .flat_map(|range| range.start()..=range.end())
        .filter(|c| !c.is_ascii())
        .collect();
    let expected: Vec<char> = literals::FOLDS_TO_ASCII
        .iter()
        .flat_map(|s| s.chars())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(folded, expected);
}

#[test]
fn base64_runs_are_found_where_the_regex_finds_them() {
    let regex = regex::bytes::Regex::new(r"[A-Za-z0-9+/]{20,}={0,2}").unwrap();
    let pieces: [&[u8]; 10] = [
        b"A",
        b"z",
        b"0",
        b"+",
        b"/",
        b"=",
        b" ",
        b".",
        "é".as_bytes(),
        b"Zm9v",
    ];
    let mut random = Random(0x5eed_cafe);
    for _ in 0..5_000 {
        let mut text = Vec::new();
        for _ in 0..random.below(60) {
            text.extend_from_slice(pieces[random.below(pieces.len())]);
        }
        let by_regex: Vec<_> = regex.find_iter(&text).map(|m| m.range()).collect();
        let by_table: Vec<_> = literals::base64_runs(&text).collect();
        assert_eq!(by_table, by_regex, "{:?}", String::from_utf8_lossy(&text));
    }
}

#[test]
fn every_redaction_sample_is_redacted_the_same_with_the_fast_path() {
    for (input, ..) in CORPUS {
        assert!(
            !same_with_and_without_fast_path(input).is_empty(),
            "{input}: nothing redacted"
        );
    }
    // The samples of the analysis rules: error lines as Velero, restic, kopia and the cloud SDKs write
    // them, which must reach the rules as they were (and any credential in them redacted alike).
    let rules = crate::analyze::RuleSet::builtin().unwrap();
    let mut lines = 0;
    for rule in rules.rules() {
        for sample in rule.tests.matching.iter().chain(&rule.tests.no_match) {
            if let crate::analyze::SampleInput::LogLine { text, .. } = &sample.input {
                same_with_and_without_fast_path(text);
                lines += 1;
            }
        }
    }
    assert!(lines > 100, "only {lines} log samples");
}

#[test]
fn the_scale_scenarios_logs_are_redacted_the_same_with_the_fast_path() {
    let dir = tempfile::tempdir().unwrap();
    let spec = crate::lab::scale::ScaleSpec {
        backups: 40,
        pod_volume_backups: 160,
        pods: 30,
        nodes: 3,
        log_bytes: 3 << 20,
        backup_logs: 4,
        backup_log_bytes: 16 << 10,
        seed: 11,
    };
    crate::lab::scale::generate(&spec, &dir.path().join("scenario"), jiff::Timestamp::now())
        .unwrap();
    let mut logs = Vec::new();
    let mut folders = vec![dir.path().join("scenario/logs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                logs.push(path);
            }
        }
    }
    assert!(logs.len() >= 4, "{logs:?}");
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap();
        same_with_and_without_fast_path(&text);
    }
}

/// Keywords of the rules (and near misses) in the cases and spellings a log may hold them in.
const KEYWORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "token",
    "api_key",
    "apiKey",
    "api-key",
    "access_key",
    "secretAccessKey",
    "aws_secret_key",
    "private_key",
    "private_key_id",
    "privateKey",
    "AccountKey",
    "AZURE_CLIENT_SECRET",
    "client_secret",
    "storage_account_key",
    "credentials",
    "credential",
    "auth",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Goog-Signature",
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "bearer",
    "basic",
    "encryption_key",
    "signing-key",
    "cert_key",
    "certificate-key",
    "key_data",
    "tls.key",
    "DB_PASSWORD",
    "REPO_PASS",
    "key",
    "name",
    "value",
];

const VALUES: &[&str] = &[
    "hunter2hunter2",
    "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
    "short",
    "x",
    "pa;ss,word",
    "two words here",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAIOSFODNN7EXAMPLE",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "ünïcödé-wert",
    "false",
    "|",
];

/// Templates: `{k}` is a keyword, `{v}` a value.
const TEMPLATES: &[&str] = &[
    "{k}={v}",
    "{k}: {v}",
    "\"{k}\": \"{v}\"",
    "\\\"{k}\\\":\\\"{v}\\\"",
    "--{k} {v}",
    "-{k} {v}",
    "[\"--{k}\",\"{v}\"]",
    "  {k}: {v}",
    "- {k}: {v} # comment",
    "{k}: |",
    "  - name: {k}",
    "    value: {v}",
    "invalid {k} '{v}'",
    "Authorization: {k} {v}",
    "https://user:{v}@host.example.com/{k}",
    "{\"name\": \"X_{k}\", \"value\": \"{v}\"}",
    "mysql -uroot -p{v} {k}",
    "redis-cli -a {v} BGSAVE",
    "-----BEGIN {k} PRIVATE KEY-----{v}-----END {k} PRIVATE KEY-----",
    "{k}",
    "time=\"2026-12-04T20:23:33Z\" level=info msg=\"{k} {v}\" logSource=\"pkg/{k}.go:1\"",
];

/// A keyword's spellings: as written, lower and upper case, and with the non-ASCII letters `(?i)`
/// equates with `k` and `s` (the Kelvin sign, the long s).
fn spellings(keyword: &str) -> Vec<String> {
    let unicode = |from: &[char], to: char| -> String {
        keyword
            .chars()
            .map(|c| if from.contains(&c) { to } else { c })
            .collect()
    };
    let mut spellings = vec![
        keyword.to_string(),
        keyword.to_lowercase(),
        keyword.to_uppercase(),
        unicode(&['k', 'K'], '\u{212A}'),
        unicode(&['s', 'S'], '\u{17F}'),
        unicode(&['k', 'K'], '\u{212A}').replace(['s', 'S'], "\u{17F}"),
    ];
    spellings.sort();
    spellings.dedup();
    spellings
}

#[test]
fn keyword_lines_in_every_case_are_redacted_the_same_with_the_fast_path() {
    use base64::Engine as _;
    let mut text = String::new();
    for keyword in KEYWORDS {
        for spelling in spellings(keyword) {
            for value in VALUES {
                for template in TEMPLATES {
                    let line = template.replace("{k}", &spelling).replace("{v}", value);
                    text.push_str(&line);
                    text.push('\n');
                    // The same line base64-encoded, whole and cut short (a run that cannot decode).
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&line);
                    text.push_str(&format!(
                        "data={encoded} cut={}\n",
                        &encoded[..encoded.len() - 1]
                    ));
                }
            }
        }
    }
    // A PEM key over lines, and one whose END is lost, last (its lines are redacted up to a bound).
    text.push_str(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    );
    text.push_str("x -----BEGIN PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\npassword=hunter2\n");
    let counts = same_with_and_without_fast_path(&text);
    // The Unicode spellings are redacted, not only let through alike.
    let mut kelvin = RedactionCounts::new();
    Redactor::global().redact_text("api_\u{212A}ey=0123456789abcdef", &mut kelvin);
    assert_eq!(kelvin.get("token"), Some(&1), "{kelvin:?}");
    let mut long_s = RedactionCounts::new();
    Redactor::global().redact_text("pa\u{17F}\u{17F}word=hunter2hunter2", &mut long_s);
    assert_eq!(long_s.get("password"), Some(&1), "{long_s:?}");
    for rule in rules::RULE_NAMES {
        if !["secret-field", "configmap-secret-key", "secret-argument"].contains(rule) {
            assert!(
                counts.contains_key(*rule),
                "no line redacted by {rule}: {counts:?}"
            );
        }
    }
}

#[test]
fn random_lines_are_redacted_the_same_with_the_fast_path() {
    let mut pieces: Vec<String> = KEYWORDS.iter().flat_map(|k| spellings(k)).collect();
    pieces.extend(VALUES.iter().map(|v| v.to_string()));
    pieces.extend(
        [
            "=",
            ": ",
            ":",
            "\"",
            "'",
            "\\\"",
            " ",
            "  ",
            ",",
            ";",
            "&",
            "://",
            "@",
            "/",
            "-",
            "--",
            "\t",
            "|",
            ">",
            "{",
            "}",
            "[",
            "]",
            "é",
            "İ",
            "ı",
            "\u{a0}",
            "\u{212A}",
            "\u{17F}",
            "\n",
            "\n  ",
            "- ",
            "Zm9vYmFy",
            "QUJD",
            "==",
            "AKIA",
            "eyJ",
            "mysql",
            "redis-cli",
            "-----BEGIN ",
            "-----END ",
            "PRIVATE KEY",
            "RSA ",
            "msg=",
            "level=error",
            "s3://bucket/path",
        ]
        .map(String::from),
    );
    let mut random = Random(0xfa57_9a7b);
    let mut text = String::new();
    for _ in 0..20_000 {
        for _ in 0..1 + random.below(12) {
            text.push_str(&pieces[random.below(pieces.len())]);
        }
        text.push('\n');
    }
    same_with_and_without_fast_path(&text);
}

/// xorshift64: the same lines on every run, no dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
