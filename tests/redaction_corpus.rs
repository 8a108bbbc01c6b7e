//! A corpus of credential shapes, one or more per class of leak issue #21 lists, each planted in the form a
//! log line or a collected object carries it. A shape passes only when the WHOLE secret is gone: the value,
//! its base64, and every 12-character piece of it are searched in what the collector writes to the bundle
//! (logs through the redacting writer in small writes, objects through structural redaction) and, for a
//! foreign bundle read as it came, in every report `analyze` renders from it. Every shape is composed here
//! (none comes from a real cluster): the `composed:` comment above each group names the format it imitates.
use std::io::Write;

use base64::Engine as _;
use serde_json::{Value, json};
use snapdoc::redact::{RedactingWriter, RedactionCounts, Redactor};

enum Planted {
    /// A log text, streamed through the redacting writer in small writes.
    Log(String),
    /// A collected object, redacted structurally.
    Object(Value),
}

struct Shape {
    class: &'static str,
    planted: Planted,
    secret: &'static str,
}

fn log(class: &'static str, secret: &'static str, text: String) -> Shape {
    Shape {
        class,
        planted: Planted::Log(text),
        secret,
    }
}

fn object(class: &'static str, secret: &'static str, value: Value) -> Shape {
    Shape {
        class,
        planted: Planted::Object(value),
        secret,
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn env_pod(env: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "app:1", "env": env}]}})
}

fn args_pod(command: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "namespace": "default",
            "annotations": {"pre.hook.backup.velero.io/command": command.to_string()}},
        "spec": {"containers": [{"name": "db", "image": "mysql:8", "args": command}]}})
}

/// A log line longer than the writer's internal cut (256 KiB) where `secret` starts `before_cut` bytes
/// before `cut`: the 256 KiB itself, or where the writer now cuts a piece when no credential is in the way
/// (16 KiB before it, see redact/stream.rs).
fn straddling(prefix: &str, secret: &'static str, at_piece: bool, before_cut: usize) -> Shape {
    const CUT: usize = 256 * 1024;
    const PIECE: usize = CUT - 16 * 1024;
    let cut = if at_piece { PIECE } else { CUT };
    let at = cut - before_cut;
    let mut line = String::from("{\"level\":\"info\",\"msg\":\"applied\",\"manifest\":\"");
    while line.len() + prefix.len() < CUT + 100 {
        line.push_str("kind: Deployment ");
    }
    line.truncate(at - prefix.len());
    line.push_str(prefix);
    line.push_str(secret);
    line.push_str("@db:5432 ");
    while line.len() < CUT + 4096 {
        line.push_str("kind: Deployment ");
    }
    line.push_str("end\"}\n");
    log("line-over-the-cut", secret, line)
}

fn corpus() -> Vec<Shape> {
    let dockerconfig =
        |auth: &str| json!({"auths": {"registry.example.com": {"auth": auth}}}).to_string();
    vec![
        // composed: kURL's kube-system/kurl-config ConfigMap (cert_key: kubeadm's certificate key, 64 hex),
        // and ConfigMaps holding keys named like a key / cert / token.
        object("configmap-key", "f3b9c0d2e1a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kurl-config", "namespace": "kube-system"},
                "data": {"cert_key": "f3b9c0d2e1a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0",
                    "kurl_install_directory": "/var/lib/kurl"}})),
        object("configmap-key", "qZr8Tm2LwXv9PkYd3HsJ", json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": "default"},
            "data": {"bootstrap-token": "qZr8Tm2LwXv9PkYd3HsJ", "signing.key": "qZr8Tm2LwXv9PkYd3HsJ"}})),
        object("configmap-key", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "tls", "namespace": "default"},
            "data": {"tls.key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "client_cert": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}})),
        // composed: kubectl's last-applied-configuration annotation, a manifest printed in a log (kubectl
        // apply --dry-run -o yaml), a MySQL server's args.
        object("last-applied", "Ll4stApplied-Pw-77x", json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "spec": {"template": {"spec": {"containers": [{"name": "web",
                        "env": [{"name": "DB_PASSWORD", "value": "Ll4stApplied-Pw-77x"}]}]}}}}).to_string()}}})),
        object("last-applied", "la-Encrypt-K3y-99zz", json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json!({"spec": {"containers": [{"name": "c",
                    "env": [{"name": "API_ENCRYPTION_KEY", "value": "la-Encrypt-K3y-99zz"}]}]}}).to_string()}}})),
        log("yaml-env-pair-in-log", "yamlPairPw-5521x",
            "Applying manifest:\n  containers:\n  - env:\n    - name: POSTGRES_PASSWORD\n      value: yamlPairPw-5521x\n    - name: LOG_LEVEL\n      value: debug\n".into()),
        log("yaml-env-pair-in-log", "quotedYamlPw-8823",
            "    - name: \"MYSQL_ROOT_PASSWORD\"\n      value: \"quotedYamlPw-8823\"\n".into()),
        object("password-args-item", "ArgsItemPw-4410q", args_pod(json!(["mysqld", "--user", "root", "--password", "ArgsItemPw-4410q"]))),
        object("password-args-item", "ArgsSecretKey-93aa", args_pod(json!(["aws", "configure", "set", "--secret-access-key", "ArgsSecretKey-93aa"]))),
        // composed: Pod env of the official mysql / redis images, an app's encryption and signing keys, a
        // logfmt line (Velero / logrus) printing an env var.
        object("env-name-vocabulary", "mysqlPwdValue-1209", env_pod(json!([{"name": "MYSQL_PWD", "value": "mysqlPwdValue-1209"}]))),
        object("env-name-vocabulary", "encKeyValue-44z9Q", env_pod(json!([{"name": "API_ENCRYPTION_KEY", "value": "encKeyValue-44z9Q"}]))),
        object("env-name-vocabulary", "RedisPassValue-77", env_pod(json!([{"name": "REDIS_PASS", "value": "RedisPassValue-77"}]))),
        object("env-name-vocabulary", "SigningKeyValue-3x", env_pod(json!([{"name": "JWT_SIGNING_KEY", "value": "SigningKeyValue-3x"}]))),
        log("env-name-vocabulary", "logfmtPwd-83jj2", "time=\"2026-01-01T00:00:00Z\" level=info msg=\"env\" MYSQL_PWD=logfmtPwd-83jj2\n".into()),
        // composed: Go's net/url and driver errors (lib/pq, mongo-driver, go-redis) quoting their DSN.
        log("url-credentials", "pa/ss-w0rd-slash", "dial failed: postgres://admin:pa/ss-w0rd-slash@db.internal:5432/app\n".into()),
        log("url-credentials", "p@ssw0rd-at-sign", "connecting to mongodb://root:p@ssw0rd-at-sign@mongo:27017/admin failed\n".into()),
        log("url-credentials", "emptyUserRedisPw9", "redis: cannot connect to redis://:emptyUserRedisPw9@redis-master:6379/0\n".into()),
        log("url-credentials", "urlPw-quoted-3344", "error=\"Get \\\"https://user:urlPw-quoted-3344@minio.local:9000/velero\\\": EOF\"\n".into()),
        // composed: Velero backup hook commands (pre.hook.backup.velero.io/command) and their error lines,
        // MySQL client flags, the AWS CLI.
        log("command-line", "SpacedFlagPw-6621", "exec hook command: mysqldump --all-databases --password SpacedFlagPw-6621 --single-transaction\n".into()),
        log("command-line", "EqFlagSecret-0918z", "running: aws s3 ls --secret-access-key=EqFlagSecret-0918z --region us-east-1\n".into()),
        log("command-line", "ShortFlagPw5531", "hook command [/bin/sh -c mysqldump -uroot -pShortFlagPw5531 app > /backup/app.sql] failed\n".into()),
        object("command-line", "HookFlagPw-2281", args_pod(json!(["/bin/sh", "-c", "mysqldump -uroot --password=HookFlagPw-2281 app > /b.sql"]))),
        object("command-line", "HookShortPw7719", args_pod(json!(["/bin/sh", "-c", "mysql -u root -pHookShortPw7719 -e 'FLUSH TABLES'"]))),
        // composed: docker config.json (auths.*.auth = base64 of user:password), a Velero cloud credentials
        // file base64-encoded, a kubeconfig's users (client-key-data, token).
        log("docker-auth", "dockerUser:dockerPw-5510", format!("registry config: {}\n", dockerconfig(&b64("dockerUser:dockerPw-5510")))),
        object("docker-auth", "dockerUser:dockerPw-6620", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "registry"},
            "data": {"config.json": dockerconfig(&b64("dockerUser:dockerPw-6620"))}})),
        log("base64-credentials-file", "CredFileSecretKey-7Hq2Lm9Zx4Vb8Nc3Rt6Wy1",
            format!("volume cloud: {}\n", b64("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = CredFileSecretKey-7Hq2Lm9Zx4Vb8Nc3Rt6Wy1\n"))),
        object("base64-credentials-file", "CredFileSecretKey-5Jk8Pd3Gs7Fa2Qe9Uo4Ih0", json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "creds-copy"}, "data": {"cloud": b64("[default]\naws_secret_access_key=CredFileSecretKey-5Jk8Pd3Gs7Fa2Qe9Uo4Ih0\n")}})),
        log("kubeconfig", "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB",
            "users:\n- name: admin\n  user:\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB\n".into()),
        log("kubeconfig", "kubeconfigUserToken-aa01bb02cc03", "- name: sa\n  user:\n    token: kubeconfigUserToken-aa01bb02cc03\n".into()),
        object("kubeconfig", "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVF", json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kubeconfig"}, "data": {"kubeconfig": "apiVersion: v1\nusers:\n- name: a\n  user:\n    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVF\n"}})),
        // composed: YAML block scalars (`|`, `>-`, `|-`) as Helm values and app configs write them.
        log("yaml-block-scalar", "BlockScalarPw-8812", "config:\n  password: |\n    BlockScalarPw-8812\n  user: admin\n".into()),
        log("yaml-block-scalar", "FoldedSecretLine-2-9911", "  secretKey: >-\n    FoldedSecretLine-1-9911\n    FoldedSecretLine-2-9911\nnext: value\n".into()),
        object("yaml-block-scalar", "BlockInCmPw-3390", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"},
            "data": {"app.yaml": "db:\n  password: |-\n    BlockInCmPw-3390\n  host: db\n"}})),
        // composed: restic / Kopia error text quoting the repository password, a human message.
        log("quoted-in-text", "FreeTextRepoPw-7781", "time=\"2026-01-01T00:00:00Z\" level=error msg=\"invalid repository password \\\"FreeTextRepoPw-7781\\\"\"\n".into()),
        log("quoted-in-text", "SingleQuotedPw-6623", "Fatal: wrong password 'SingleQuotedPw-6623' for user backup\n".into()),
        log("quoted-in-text", "PwIsQuoted-5517", "the password is \"PwIsQuoted-5517\", please rotate it\n".into()),
        // composed: shapes redacted before #21 (AWS credentials file, Velero pod env), kept so the corpus
        // covers them too.
        log("known", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n".into()),
        log("known", "AKIAIOSFODNN7EXAMPLE", "using key AKIAIOSFODNN7EXAMPLE for bucket\n".into()),
        log("known", "repoPw-plain-url-11", "s3://user:repoPw-plain-url-11@bucket\n".into()),
        object("known", "EnvSecretValue-0001", env_pod(json!([{"name": "AWS_SECRET_ACCESS_KEY", "value": "EnvSecretValue-0001"}]))),
        // composed: kubectl's last-applied-configuration of a ConfigMap and of a Pod whose args hold a
        // password.
        object("configmap-key", "LastAppliedTlsKey-4Fh8Kd2Lm6", json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "edge-tls", "namespace": "default", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "edge-tls"}, "data": {"tls.key": "LastAppliedTlsKey-4Fh8Kd2Lm6",
                    "client_cert": "LastAppliedTlsKey-4Fh8Kd2Lm6"}}).to_string()}},
            "data": {"note": "rotated"}})),
        object("last-applied", "LastAppliedArgPw-9Tz3", json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json!({"kind": "Pod", "spec": {"containers": [
                    {"name": "db", "command": ["mysqld"], "args": ["--user", "root", "--db-pass", "LastAppliedArgPw-9Tz3"]}]}}).to_string()}}})),
        // composed: more of the same classes in the other carrier (object vs log).
        object("command-line", "ArgsShortPw-5561", args_pod(json!(["mysqldump", "-uroot", "-pArgsShortPw-5561", "app"]))),
        object("url-credentials", "ObjRedisPw-0091x", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cache"},
            "data": {"REDIS_URL": "redis://:ObjRedisPw-0091x@redis-master:6379/0"}})),
        object("kubeconfig", "kubeconfigObjToken-dd04ee05ff06", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kc"},
            "data": {"config": "users:\n- name: sa\n  user:\n    token: kubeconfigObjToken-dd04ee05ff06\n"}})),
        log("yaml-env-pair-in-log", "ListedPairPw-7781", "env:\n- name: API_ENCRYPTION_KEY\n  value: ListedPairPw-7781\n".into()),
        log("yaml-block-scalar", "JsonBlockLine-0042", "  token: |-\n    JsonBlockLine-0042\n  ttl: 24h\n".into()),
        object("env-name-vocabulary", "ObjPassValue-1177", json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
            "spec": {"template": {"spec": {"initContainers": [{"name": "init", "env": [{"name": "DB_PASS", "value": "ObjPassValue-1177"}]}]}}}})),
        log("command-line", "LogArgsJsonPw-3321", "hook command: [\"mysqld\",\"--password\",\"LogArgsJsonPw-3321\"]\n".into()),
        log("command-line", "RedisCliPw-6612", "exec hook: redis-cli -h redis-master -a RedisCliPw-6612 BGSAVE failed: exit 1\n".into()),
        object("command-line", "RedisArgsPw-7723", args_pod(json!(["redis-cli", "-a", "RedisArgsPw-7723", "--no-auth-warning", "BGSAVE"]))),
        object("password-args-item", "DbPassArg-8834", args_pod(json!(["app", "--db-pass", "DbPassArg-8834"]))),
        // composed: env of the official rabbitmq image and an app's Redis auth.
        object("env-name-vocabulary", "ErlangCookieValue-99", env_pod(json!([{"name": "RABBITMQ_ERLANG_COOKIE", "value": "ErlangCookieValue-99"}]))),
        object("env-name-vocabulary", "RedisAuthValue-0110", env_pod(json!([{"name": "REDIS_AUTH", "value": "RedisAuthValue-0110"}]))),
        // composed: kubeadm's join command as `kubeadm token create --print-join-command` prints it, with
        // --certificate-key from `kubeadm init phase upload-certs --upload-certs` (kURL logs it).
        log("command-line", "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "kubeadm join 10.0.0.5:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:1a2b3c --control-plane --certificate-key 9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0\n".into()),
        log("command-line", "0123456789abcdef", "kubeadm join 10.0.0.5:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:1a2b3c\n".into()),
        // composed: a Git / registry URL whose user is an e-mail address.
        log("url-credentials", "EmailUserPw-3345", "fetch https://ops@example.com:EmailUserPw-3345@git.example.com/app.git: 403\n".into()),
        // composed: a TLS key's DER base64 under a `tls.key: |` block (no PEM marker), a restic-style message.
        log("yaml-block-scalar", "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQ",
            "data:\n  tls.key: |\n    MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQ\n    C7VJTUt9Us8cKjMzEfYyjiWA4R4\n  tls.crt: x\n".into()),
        log("quoted-in-text", "RepoPwWrong-4456", "Fatal: the repository password is wrong: \"RepoPwWrong-4456\"\n".into()),
        // composed: bare values holding `;` or `,` (a generated password, an ADO.NET / JDBC connection
        // string whose fields are `;`-separated, a logfmt line).
        log("bare-value-delimiters", "SemiPw;part2-77,part3-x", "connect failed: password=SemiPw;part2-77,part3-x host=db\n".into()),
        log("bare-value-delimiters", "ConnStrPw;TailSegment-4471", "Server=db;Database=app;Password=ConnStrPw;TailSegment-4471;User Id=app;\n".into()),
        log("bare-value-delimiters", "Tok3n,with;Delims-0099", "time=\"2026-01-01T00:00:00Z\" level=info msg=\"cfg\" api_token=Tok3n,with;Delims-0099\n".into()),
        object("bare-value-delimiters", "ObjSemiPw;segmentTwo-5512", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db"},
            "data": {"DSN": "host=db user=app password=ObjSemiPw;segmentTwo-5512 dbname=app"}})),
        // composed: YAML plain scalars with spaces (a passphrase of words), in a log and in a ConfigMap.
        log("yaml-plain-spaces", "correct horse battery staple", "config:\n  password: correct horse battery staple\n  user: admin\n".into()),
        log("yaml-plain-spaces", "two words here", "password: two words here\n".into()),
        log("yaml-plain-spaces", "open sesame now please", "  - name: db\n    secret_key: open sesame now please   # rotated monthly\n".into()),
        object("yaml-plain-spaces", "four plain secret words", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"},
            "data": {"settings.yaml": "db:\n  passphrase: four plain secret words\n  host: db\n"}})),
        // composed: a single log line over the stream's 256 KiB internal cut (a JSON log of a whole manifest)
        // with the secret crossing the cut, at several offsets.
        straddling("password=", "StraddlePw-A1b2C3d4E5", false, 3),
        straddling("\"token\":\"", "StraddleTok-F6g7H8i9J0", false, 11),
        straddling("postgres://app:", "StraddleUrlPw-K1l2M3n4", false, 6),
        straddling("aws_secret_access_key = ", "StraddleAwsKey-P5q6R7s8T9u0", false, 15),
        straddling("password=", "StraddlePiecePw-V1w2X3y4", true, 5),
        straddling("\"token\":\"", "StraddlePieceTok-Z5a6B7c8", true, 12),
        straddling("redis://:", "StraddlePieceUrl-D9e0F1g2", true, 2),
    ]
}

/// Redacts a shape as the collector would, and returns the text written to the bundle.
fn redacted(shape: &Shape) -> String {
    let redactor = Redactor::global();
    match &shape.planted {
        Planted::Log(text) => {
            let mut writer = RedactingWriter::new(redactor, Vec::new());
            for piece in text.as_bytes().chunks(7) {
                writer.write_all(piece).unwrap();
            }
            let (out, _) = writer.finish().unwrap();
            String::from_utf8(out).unwrap()
        }
        Planted::Object(value) => {
            let mut value = value.clone();
            redactor.redact_json(&mut value, &mut RedactionCounts::new());
            serde_json::to_string_pretty(&value).unwrap()
        }
    }
}

/// What of `secret` shows in `text`: the whole, its base64, or a 12-character piece.
fn leak(secret: &str, text: &str) -> Option<String> {
    if text.contains(secret) {
        return Some("the whole value".into());
    }
    if text.contains(&b64(secret)) {
        return Some("its base64".into());
    }
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(12.min(chars.len())).find_map(|window| {
        let piece: String = window.iter().collect();
        text.contains(&piece)
            .then(|| format!("the piece {piece:?}"))
    })
}

#[test]
fn every_shape_of_the_corpus_is_gone_whole() {
    let shapes = corpus();
    let mut leaks = Vec::new();
    for shape in &shapes {
        let out = redacted(shape);
        if let Some(what) = leak(shape.secret, &out) {
            let shown: String = out.chars().take(2000).collect();
            leaks.push(format!(
                "{}: {what} of {:?} in\n{shown}",
                shape.class, shape.secret
            ));
        }
    }
    let classes: std::collections::BTreeSet<_> = shapes.iter().map(|s| s.class).collect();
    eprintln!(
        "{} leaks / {} shapes in {} classes",
        leaks.len(),
        shapes.len(),
        classes.len()
    );
    assert!(
        leaks.is_empty(),
        "{} leaks / {} shapes:\n{}",
        leaks.len(),
        shapes.len(),
        leaks.join("\n---\n")
    );
}

/// Every single-line log shape, as (secret, line without its newline).
fn single_line_log_shapes() -> Vec<(&'static str, String)> {
    corpus()
        .into_iter()
        .filter_map(|shape| match shape.planted {
            Planted::Log(text) if text.trim_end().lines().count() == 1 && text.len() < 1000 => {
                Some((shape.secret, text.trim_end().to_string()))
            }
            _ => None,
        })
        .collect()
}

/// `status.message` of every item of a List file, with `extra` appended.
fn append_to_messages(path: &std::path::Path, extra: &str) {
    let mut list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for item in list["items"].as_array_mut().unwrap() {
        let message = item["status"]["message"].as_str().unwrap_or_default();
        item["status"]["message"] = Value::String(format!("{message} {extra}"));
    }
    std::fs::write(path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
}

#[test]
fn a_foreign_bundles_raw_secrets_are_gone_from_every_report() {
    use snapdoc::report::{ReportFormat, render};
    // The real-layout `velero debug` bundle (tests/fixtures/real-bundles/README.md), its logs' error lines
    // and its PodVolumeBackup / BackupStorageLocation messages each repeated with one planted shape:
    // velero debug does not redact, so the bundle carries them raw and only `analyze` can keep them out
    // of the reports.
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real-bundles/velero-debug-v1.12.3-pvb-failed.tar.gz");
    tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(fixture).unwrap(),
    ))
    .unpack(dir.path())
    .unwrap();
    let root = dir.path().join("velero-bundle");
    let shapes = single_line_log_shapes();
    let marker = |i: usize| format!("planted-shape-{i}:");
    for log in [
        root.join("backup_instance-q8rbx.log"),
        root.join("kubecapture/core_v1/velero/velero-7d9c6b8f5-x2x9k/velero/velero.log"),
    ] {
        let text = std::fs::read_to_string(&log).unwrap();
        let mut planted = String::new();
        for line in text.lines() {
            planted.push_str(line);
            planted.push('\n');
            if line.contains("level=error") {
                for (i, (_, shape)) in shapes.iter().enumerate() {
                    planted.push_str(&format!("{line} {} {shape}\n", marker(i)));
                }
            }
        }
        std::fs::write(&log, planted).unwrap();
    }
    let all: String = shapes
        .iter()
        .enumerate()
        .map(|(i, (_, shape))| format!("{} {shape}", marker(i)))
        .collect::<Vec<_>>()
        .join(" ");
    for list in ["podvolumebackups", "backupstoragelocations"] {
        let file = std::fs::read_dir(root.join("kubecapture/velero.io_v1/velero"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(list))
            .unwrap();
        append_to_messages(&file, &all);
    }

    let analysis =
        snapdoc::analyze::analyze_bundle(&root, &snapdoc::analyze::AnalysisOptions::default())
            .unwrap();
    assert_eq!(analysis.bundle.format, "velero-debug");
    assert!(analysis.bundle.not_redacted);
    let mut leaks = Vec::new();
    let mut quoted = std::collections::BTreeSet::new();
    for format in [
        ReportFormat::Html,
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Junit,
        ReportFormat::Terminal { color: false },
    ] {
        let report = render(&analysis, format, None).unwrap();
        assert!(
            report.to_lowercase().contains("not redacted")
                || report.contains("\"notRedacted\": true")
                || report.contains("<property name=\"notRedacted\" value=\"true"),
            "{format:?} does not say the bundle was not redacted"
        );
        for (i, (secret, _)) in shapes.iter().enumerate() {
            if report.contains(&marker(i)) {
                quoted.insert(i);
            }
            if let Some(what) = leak(secret, &report) {
                leaks.push(format!("{format:?}: {what} of {secret:?}"));
            }
        }
    }
    let leaked: std::collections::BTreeSet<_> = leaks
        .iter()
        .filter_map(|l| {
            shapes
                .iter()
                .find(|(secret, _)| l.contains(&format!("{secret:?}")))
        })
        .map(|(secret, _)| secret)
        .collect();
    eprintln!(
        "foreign bundle: {} leaks / {} shapes ({} of them quoted in some report)",
        leaked.len(),
        shapes.len(),
        quoted.len()
    );
    // The reports must quote what was planted, else no leak would prove nothing.
    assert_eq!(quoted.len(), shapes.len(), "quoted only {quoted:?}");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// Every report `analyze` renders, in every format.
fn every_report(analysis: &snapdoc::analyze::Analysis) -> Vec<(String, String)> {
    use snapdoc::report::{ReportFormat, render};
    [
        ReportFormat::Html,
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Junit,
        ReportFormat::Terminal { color: false },
    ]
    .into_iter()
    .map(|format| {
        (
            format!("{format:?} report"),
            render(analysis, format, None).unwrap(),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collected_through_the_lab_no_shape_reaches_the_bundle_or_a_report() {
    use snapdoc::bundle::ClusterInfo;
    use snapdoc::lab::ScenarioObject;
    use snapdoc::lab::{LabCluster, Scenario};
    use std::io::Read;

    // lab-basics (tests/scenarios) with every shape planted where the collector reads it: log shapes in the
    // velero server's log and in a backup log the collector downloads, ConfigMap shapes' data in
    // kube-system/kurl-config (the one ConfigMap collected), other objects as objects of the velero namespace.
    let mut scenario = Scenario::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/lab-basics"),
    )
    .unwrap();
    scenario.faults = Default::default();
    let shapes = corpus();
    let mut planted_logs =
        String::from("time=\"2026-11-25T11:30:00Z\" level=info msg=\"corpus follows\"\n");
    let mut kurl_config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kurl-config", "namespace": "kube-system"}, "data": {}});
    let mut object_names = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        match &shape.planted {
            Planted::Log(text) => planted_logs.push_str(text),
            Planted::Object(value) if value["kind"] == "ConfigMap" => {
                for (key, data) in value["data"].as_object().unwrap() {
                    let previous = kurl_config["data"]
                        .as_object_mut()
                        .unwrap()
                        .insert(key.clone(), data.clone());
                    assert!(previous.is_none(), "two ConfigMap shapes use the key {key}");
                }
            }
            Planted::Object(value) => {
                let mut value = value.clone();
                let name = format!("corpus-shape-{i}");
                value["metadata"]["name"] = Value::String(name.clone());
                value["metadata"]["namespace"] = Value::String("velero".into());
                object_names.push(name);
                scenario.objects.push(ScenarioObject {
                    file: "tests/redaction_corpus.rs".into(),
                    line: 0,
                    value,
                });
            }
        }
    }
    scenario.objects.push(ScenarioObject {
        file: "tests/redaction_corpus.rs".into(),
        line: 0,
        value: kurl_config,
    });
    for log in &mut scenario.logs {
        if log.namespace == "velero" && log.container == "velero" && !log.previous {
            log.text.push_str(&planted_logs);
        }
    }
    for (path, text) in scenario.store.iter_mut() {
        if path.ends_with("backup.log") {
            text.push_str(&planted_logs);
        }
    }

    let lab = LabCluster::start(scenario).await.unwrap();
    let client = lab.client().await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let cluster = ClusterInfo {
        server: Some(lab.server_url()),
        context: Some("lab".into()),
    };
    let options = snapdoc::collect::CollectOptions {
        download_timeout: 10,
        ..Default::default()
    };
    let outcome = snapdoc::collect::collect(client, cluster, &options, &out.path().join("b.zip"))
        .await
        .unwrap();
    lab.shutdown().await;

    let mut searched: Vec<(String, String)> = Vec::new();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&outcome.path).unwrap()).unwrap();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        searched.push((
            entry.name().unwrap().to_string(),
            String::from_utf8_lossy(&data).into_owned(),
        ));
    }
    // The shapes were collected (redacted, not dropped): the corpus' marker line, the objects, kurl-config.
    let bundle: String = searched.iter().map(|(_, text)| text.as_str()).collect();
    assert!(bundle.contains("corpus follows"));
    assert!(bundle.contains("kurl_install_directory") && bundle.contains("cert_key"));
    assert!(
        bundle.contains("kind: Deployment kind: Deployment"),
        "the lines over the cut were not collected"
    );
    for name in &object_names {
        assert!(bundle.contains(name.as_str()), "{name} was not collected");
    }
    let analysis = snapdoc::analyze::analyze_bundle(
        &outcome.path,
        &snapdoc::analyze::AnalysisOptions::default(),
    )
    .unwrap();
    assert!(!analysis.bundle.not_redacted);
    searched.extend(every_report(&analysis));

    let mut leaks = Vec::new();
    for shape in &shapes {
        for (place, text) in &searched {
            if let Some(what) = leak(shape.secret, text) {
                leaks.push(format!(
                    "{}: {what} of {:?} in {place}",
                    shape.class, shape.secret
                ));
            }
        }
    }
    let leaked: std::collections::BTreeSet<_> = shapes
        .iter()
        .filter(|s| leaks.iter().any(|l| l.contains(&format!("{:?}", s.secret))))
        .map(|s| s.secret)
        .collect();
    eprintln!(
        "lab bundle and its reports: {} leaks / {} shapes, {} places searched",
        leaked.len(),
        shapes.len(),
        searched.len()
    );
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
