//! `snapdoc diff` over pairs of bundles of one cluster, made from the lab's `healthy` scenario with the
//! objects a real change touches edited: an upgrade, a credential rotation, a BSL edit; and a pair in two
//! formats (snapdoc zip → troubleshoot bundle), where what one format lacks is said, not shown as removed.
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use snapdoc::analyze::RuleSet;
use snapdoc::diff::{Area, BundleDiff, Change, ChangeKind, diff_bundles};
use snapdoc::lab::Scenario;
use snapdoc::report::{ReportFormat, render_diff};

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;
#[path = "support/schema_defs.rs"]
mod schema_defs;

use foreign_fixtures::{
    TroubleshootStyle, snapdoc_bundle_with_secrets_metadata, troubleshoot_tree,
};

/// The healthy scenario's credentials (base64 in the Secret objects, and what they decode to): no output
/// of a diff may hold any of them.
const SECRET_VALUES: &[&str] = &[
    "W2RlZmF1bHRdCmF3c19hY2Nlc3Nfa2V5X2lk",
    "AKIAZ7QEXAMPLE4HM2QW",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "c3RhdGljLXBhc3N3MHJk",
    "static-passw0rd",
];

fn healthy() -> Scenario {
    Scenario::builtin("healthy").unwrap()
}

/// Replaces every string equal to `from` in every object (deployment, its replica set and pods alike).
fn replace_strings(scenario: &mut Scenario, from: &str, to: &str) -> usize {
    fn walk(value: &mut Value, from: &str, to: &str) -> usize {
        match value {
            Value::String(text) if text == from => {
                *text = to.to_string();
                1
            }
            Value::Array(items) => items.iter_mut().map(|i| walk(i, from, to)).sum(),
            Value::Object(map) => map.values_mut().map(|v| walk(v, from, to)).sum(),
            _ => 0,
        }
    }
    scenario
        .objects
        .iter_mut()
        .map(|o| walk(&mut o.value, from, to))
        .sum()
}

fn object_mut<'a>(scenario: &'a mut Scenario, kind: &str, name: &str) -> &'a mut Value {
    &mut scenario
        .objects
        .iter_mut()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the scenario"))
        .value
}

struct Pair {
    _dir: tempfile::TempDir,
    old: PathBuf,
    new: PathBuf,
}

fn pair(edit: impl FnOnce(&mut Scenario)) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.zip");
    let new = dir.path().join("new.zip");
    snapdoc_bundle_with_secrets_metadata(&healthy(), &old);
    let mut changed = healthy();
    edit(&mut changed);
    snapdoc_bundle_with_secrets_metadata(&changed, &new);
    Pair {
        _dir: dir,
        old,
        new,
    }
}

fn diff(pair: &Pair) -> BundleDiff {
    let rules = RuleSet::load(&[]).unwrap();
    diff_bundles(&pair.old, &pair.new, &rules).unwrap()
}

fn find<'a>(diff: &'a BundleDiff, area: Area, field: &str) -> &'a Change {
    diff.changes
        .iter()
        .find(|c| c.area == area && c.field == field)
        .unwrap_or_else(|| panic!("no {area:?} change of {field}: {:#?}", diff.changes))
}

fn linked(change: &Change) -> Vec<&str> {
    change.explains.iter().map(|l| l.id.as_str()).collect()
}

/// Every format of the diff, none holding a secret value.
fn render_all(diff: &BundleDiff) -> Vec<(&'static str, String)> {
    let formats = [
        ("text", ReportFormat::Terminal { color: false }),
        ("json", ReportFormat::Json),
        ("md", ReportFormat::Markdown),
        ("html", ReportFormat::Html),
    ];
    formats
        .into_iter()
        .map(|(name, format)| {
            let text = render_diff(diff, format, None).unwrap();
            for secret in SECRET_VALUES {
                assert!(
                    !text.contains(secret),
                    "{name} shows a secret value {secret}"
                );
            }
            (name, text)
        })
        .collect()
}

#[test]
fn identical_bundles_have_no_change() {
    let pair = pair(|_| {});
    let diff = diff(&pair);
    assert!(diff.changes.is_empty(), "{:#?}", diff.changes);
    assert!(diff.not_compared.is_empty(), "{:?}", diff.not_compared);
    let text = render_diff(&diff, ReportFormat::Terminal { color: false }, None).unwrap();
    assert!(text.contains("No change in what was compared."), "{text}");
}

#[test]
fn an_upgrade_ranks_the_velero_and_plugin_versions_first() {
    let pair = pair(|s| {
        assert!(replace_strings(s, "velero/velero:v1.12.3", "velero/velero:v1.16.2") > 0);
        assert!(
            replace_strings(
                s,
                "velero/velero-plugin-for-aws:v1.8.2",
                "velero/velero-plugin-for-aws:v1.12.2"
            ) > 0
        );
    });
    let diff = diff(&pair);
    let version = find(&diff, Area::Velero, "version");
    assert_eq!(version.kind, ChangeKind::Changed);
    assert!(
        version.old.as_deref().unwrap().contains("1.12.3"),
        "{version:?}"
    );
    assert!(
        version.new.as_deref().unwrap().contains("1.16.2"),
        "{version:?}"
    );
    assert!(linked(version).contains(&"SD913"), "{:?}", linked(version));
    assert!(
        linked(version).contains(&"SD901"),
        "compatibility rules: {:?}",
        linked(version)
    );
    let plugin = diff
        .changes
        .iter()
        .find(|c| c.area == Area::Plugins && c.field == "version")
        .expect("the plugin's version change");
    assert!(plugin.new.as_deref().unwrap().contains("1.12.2"));
    assert!(linked(plugin).contains(&"SD902"));
    // Nothing else in the cluster changed but the images (and args of the same containers).
    assert!(
        diff.changes
            .iter()
            .all(|c| matches!(c.area, Area::Velero | Area::Plugins | Area::NodeAgent)),
        "{:#?}",
        diff.changes
    );
    // Ranks follow the areas: the server's version before the plugin's.
    assert!(version.rank < plugin.rank);
    assert_eq!(diff.changes[0].rank, 1);
    for (name, text) in render_all(&diff) {
        assert!(
            text.contains("1.16.2"),
            "{name} does not show the new version"
        );
    }
}

#[test]
fn a_credential_rotation_shows_metadata_and_never_the_value() {
    let pair = pair(|s| {
        let secret = object_mut(s, "Secret", "cloud-credentials");
        secret["metadata"]["resourceVersion"] = "1999999".into();
        secret["metadata"]["creationTimestamp"] = "2026-11-24T08:00:00Z".into();
        // A new value: the diff may only tell that the version moved.
        secret["data"]["cloud"] = "bmV3LXZhbHVlLW5ldmVyLXNob3du".into();
    });
    let diff = diff(&pair);
    let version = find(&diff, Area::Credentials, "metadata.resourceVersion");
    assert_eq!(version.subject, "Secret velero/cloud-credentials");
    assert_eq!(
        (version.old.as_deref(), version.new.as_deref()),
        (Some("1482626"), Some("1999999"))
    );
    let created = find(&diff, Area::Credentials, "metadata.creationTimestamp");
    assert_eq!(created.new.as_deref(), Some("2026-11-24T08:00:00Z"));
    assert!(linked(version).contains(&"SD201"), "{:?}", linked(version));
    assert!(linked(version).contains(&"SD202"));
    assert_eq!(diff.changes.len(), 2, "{:#?}", diff.changes);
    for (name, text) in render_all(&diff) {
        assert!(!text.contains("bmV3LXZhbHVlLW5ldmVyLXNob3du"), "{name}");
        assert!(!text.contains("new-value-never-shown"), "{name}");
        assert!(
            text.contains("1999999"),
            "{name} does not show the rotation"
        );
    }
}

#[test]
fn a_bsl_edit_names_each_field_and_links_the_bucket_rules() {
    let pair = pair(|s| {
        let bsl = object_mut(s, "BackupStorageLocation", "default");
        bsl["spec"]["objectStorage"]["bucket"] = "acme-myapp-snapshots-new".into();
        bsl["spec"]["config"]["region"] = "eu-west-1".into();
        bsl["spec"]["config"]["checksumAlgorithm"] = "".into();
        bsl["spec"]["objectStorage"]["caCert"] = "LS0tLS1CRUdJTi".repeat(20).into();
    });
    let diff = diff(&pair);
    let bucket = find(&diff, Area::StorageLocation, "objectStorage.bucket");
    assert_eq!(bucket.subject, "BackupStorageLocation velero/default");
    assert_eq!(bucket.old.as_deref(), Some("acme-myapp-snapshots"));
    assert_eq!(bucket.new.as_deref(), Some("acme-myapp-snapshots-new"));
    for rule in ["SD101", "SD110", "SD111"] {
        assert!(
            linked(bucket).contains(&rule),
            "{rule}: {:?}",
            linked(bucket)
        );
    }
    let region = find(&diff, Area::StorageLocation, "config.region");
    assert_eq!(
        (region.old.as_deref(), region.new.as_deref()),
        (Some("us-east-2"), Some("eu-west-1"))
    );
    let checksum = find(&diff, Area::StorageLocation, "config.checksumAlgorithm");
    assert_eq!(checksum.kind, ChangeKind::Added);
    // The CA bundle is shown by digest, not as pages of base64.
    let ca = find(&diff, Area::StorageLocation, "objectStorage.caCert");
    assert!(ca.new.as_deref().unwrap().starts_with("sha256 "), "{ca:?}");
    assert!(linked(ca).contains(&"SD206"));
    let rendered = render_all(&diff);
    let (_, markdown) = rendered.iter().find(|(name, _)| *name == "md").unwrap();
    assert!(markdown.contains("acme-myapp-snapshots-new"), "{markdown}");
    assert!(markdown.contains("| 1 |"), "{markdown}");
    assert!(!markdown.contains("LS0tLS1CRUdJTi"), "{markdown}");
    let json: Value = serde_json::from_str(&rendered[1].1).unwrap();
    assert_eq!(json["changes"][0]["area"], "storage-location");
    assert_schema(&json);
}

fn assert_schema(instance: &Value) {
    schema_defs::assert_matches_def("diff", instance);
}

#[test]
fn a_finding_new_in_new_puts_the_change_it_may_explain_first() {
    // The bucket edit comes with the location turning Unavailable: the BSL change explains SD106/SD150,
    // so it leads the node edit and even a version change that links nothing that fired.
    let pair = pair(|s| {
        let bsl = object_mut(s, "BackupStorageLocation", "default");
        bsl["spec"]["objectStorage"]["bucket"] = "gone".into();
        bsl["status"]["phase"] = "Unavailable".into();
        bsl["status"]["message"] = "NoSuchBucket: The specified bucket does not exist".into();
        replace_strings(s, "velero/velero:v1.12.3", "velero/velero:v1.12.4");
    });
    let diff = diff(&pair);
    assert_schema(&serde_json::to_value(&diff).unwrap());
    let first = &diff.changes[0];
    assert_eq!(first.area, Area::StorageLocation, "{:#?}", diff.changes);
    assert!(
        first.explains.iter().any(|l| l.new_since_old),
        "{:#?}",
        first.explains
    );
    assert!(!diff.new.rules_fired.is_empty());
    assert_ne!(diff.old.status, diff.new.status);
}

#[test]
fn a_source_one_format_lacks_is_not_compared_rather_than_removed() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.zip");
    let zip = dir.path().join("new.zip");
    snapdoc_bundle_with_secrets_metadata(&healthy(), &old);
    let mut changed = healthy();
    object_mut(&mut changed, "BackupStorageLocation", "default")["spec"]["objectStorage"]["prefix"] =
        "prod2".into();
    snapdoc_bundle_with_secrets_metadata(&changed, &zip);
    let new = dir.path().join("support-bundle.tar.gz");
    let mut bundle = snapdoc::bundle::Bundle::open(&zip).unwrap();
    troubleshoot_tree(&mut bundle, TroubleshootStyle::Current).write_tar_gz(&new);
    let rules = RuleSet::load(&[]).unwrap();
    let diff = diff_bundles(&old, &new, &rules).unwrap();
    assert!(
        diff.not_compared
            .iter()
            .any(|n| n.starts_with("credential secrets' metadata: the NEW bundle")),
        "{:?}",
        diff.not_compared
    );
    assert!(
        diff.changes.iter().all(|c| c.area != Area::Credentials),
        "{:#?}",
        diff.changes
    );
    let prefix = find(&diff, Area::StorageLocation, "objectStorage.prefix");
    assert_eq!(prefix.new.as_deref(), Some("prod2"));
}

fn snapdoc(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_command_names_an_unreadable_bundle_and_exits_2() {
    let pair = pair(|_| {});
    let missing = pair.old.with_file_name("missing.zip");
    let output = snapdoc(&["diff".as_ref(), pair.old.as_os_str(), missing.as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("NEW bundle") && stderr.contains("missing.zip"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let not_a_bundle = pair.old.with_file_name("notes.txt");
    std::fs::write(&not_a_bundle, "hello").unwrap();
    let output = snapdoc(&[
        "diff".as_ref(),
        not_a_bundle.as_os_str(),
        pair.new.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("OLD bundle") && stderr.contains("notes.txt"),
        "{stderr}"
    );
}

#[test]
fn the_command_writes_a_report_and_never_overwrites_without_force() {
    let pair = pair(|s| {
        object_mut(s, "BackupStorageLocation", "default")["spec"]["objectStorage"]["bucket"] =
            "other".into();
    });
    let out: &Path = &pair.old.with_file_name("diff.html");
    let args = |force: bool| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "diff".as_ref(),
            pair.old.as_os_str(),
            pair.new.as_os_str(),
            "--format".as_ref(),
            "html".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ];
        if force {
            args.push("--force".as_ref());
        }
        args
    };
    let output = snapdoc(&args(false));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let html = std::fs::read_to_string(out).unwrap();
    assert!(html.contains("other") && html.contains("script-src 'none'"));
    std::fs::write(out, "mine").unwrap();
    let output = snapdoc(&args(false));
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(out).unwrap(), "mine");
    assert_eq!(snapdoc(&args(true)).status.code(), Some(0));
    assert_ne!(std::fs::read_to_string(out).unwrap(), "mine");
}
