//! `snapdoc analyze --summary jsonl DIR…` over a folder of generated bundles in mixed formats (snapdoc zips of
//! every lab scenario, troubleshoot support bundles of some, one damaged file): one line per bundle, in name
//! order whatever the threads, each line what the analysis of that bundle alone says, the damaged one named
//! (exit 2), and the fleet report counting causes and versions.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use snapdoc::analyze::RuleSet;
use snapdoc::analyze::{FleetLine, fleet_line};
use snapdoc::lab::Scenario;

#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;
#[path = "support/schema_defs.rs"]
mod schema_defs;

use foreign_fixtures::{TroubleshootStyle, snapdoc_bundle_from_scenario, troubleshoot_tree};

/// Bundles generated: every scenario several times, with Velero versions spread over the fleet.
const BUNDLES: usize = 48;

struct Fleet {
    _dir: tempfile::TempDir,
    root: PathBuf,
    bundles: Vec<PathBuf>,
}

/// `root/bundles/` holds the bundles, a damaged zip and a note that is no bundle; outputs go to `root`.
fn fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let folder = root.join("bundles");
    std::fs::create_dir(&folder).unwrap();
    let names = Scenario::builtin_names();
    let versions = ["v1.12.3", "v1.14.1", "v1.16.2"];
    let mut bundles = Vec::new();
    // The versions go round the scenarios that run v1.12.3, however many scenarios there are.
    let mut retagged = 0;
    for index in 0..BUNDLES {
        let name = &names[index % names.len()];
        let mut scenario = Scenario::builtin(name).unwrap();
        let version = versions[retagged % versions.len()];
        let mut changed = false;
        for object in &mut scenario.objects {
            changed |= retag(&mut object.value, "velero/velero:v1.12.3", version);
        }
        retagged += usize::from(changed);
        let zip = folder.join(format!("{index:03}-{name}.zip"));
        snapdoc_bundle_from_scenario(&scenario, &zip);
        if index % 4 == 3 {
            let tar = folder.join(format!("{index:03}-{name}.tar.gz"));
            let mut bundle = snapdoc::bundle::Bundle::open(&zip).unwrap();
            troubleshoot_tree(&mut bundle, TroubleshootStyle::Current).write_tar_gz(&tar);
            drop(bundle);
            std::fs::remove_file(&zip).unwrap();
            bundles.push(tar);
        } else {
            bundles.push(zip);
        }
    }
    let damaged = folder.join("999-damaged.zip");
    std::fs::write(&damaged, b"PK\x03\x04 not really a zip").unwrap();
    bundles.push(damaged);
    std::fs::write(
        folder.join("notes.txt"),
        "customer said it broke on Tuesday",
    )
    .unwrap();
    bundles.sort();
    Fleet {
        _dir: dir,
        root,
        bundles,
    }
}

/// Replaces the image `from` with its `to` tag wherever it appears; whether it appeared.
fn retag(value: &mut Value, from: &str, to: &str) -> bool {
    match value {
        Value::String(text) if text == from => {
            *text = from.replace("v1.12.3", to);
            true
        }
        // Every occurrence is replaced: no short-circuit.
        Value::Array(items) => items
            .iter_mut()
            .map(|i| retag(i, from, to))
            .fold(false, |a, b| a | b),
        Value::Object(map) => map
            .values_mut()
            .map(|v| retag(v, from, to))
            .fold(false, |a, b| a | b),
        _ => false,
    }
}

fn snapdoc(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(args)
        .output()
        .unwrap()
}

/// The lines of a JSONL text, each checked against `$defs/fleetLine`.
fn lines_of(text: &str) -> Vec<FleetLine> {
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            schema_defs::assert_matches_def("fleetLine", &value);
            serde_json::from_value(value).unwrap()
        })
        .collect()
}

#[test]
fn a_fleet_gives_one_line_per_bundle_and_a_report_of_causes_and_versions() {
    let fleet = fleet();
    let folder = fleet.root.join("bundles");
    let jsonl = fleet.root.join("fleet.jsonl");
    let report = fleet.root.join("fleet.md");
    let into_jsonl = [
        "analyze".as_ref(),
        "--summary".as_ref(),
        "jsonl".as_ref(),
        folder.as_os_str(),
        "-o".as_ref(),
        jsonl.as_os_str(),
    ];
    let mut args = into_jsonl.to_vec();
    args.extend(["--fleet-report".as_ref(), report.as_os_str()]);
    let output = snapdoc(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The damaged bundle makes it "could not run" (2), and is named.
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot analyse") && stderr.contains("999-damaged.zip"),
        "{stderr}"
    );
    assert!(!stderr.contains("notes.txt"), "{stderr}");

    let lines = lines_of(&std::fs::read_to_string(&jsonl).unwrap());
    assert_eq!(lines.len(), BUNDLES + 1);
    let paths: Vec<PathBuf> = lines.iter().map(|l| PathBuf::from(&l.bundle)).collect();
    assert_eq!(paths, fleet.bundles, "one line per bundle, in name order");
    let damaged = lines.last().unwrap();
    assert_eq!(damaged.status, "unreadable");
    assert!(
        damaged
            .error
            .as_deref()
            .unwrap()
            .contains("999-damaged.zip")
    );

    // Each line is what analysing that bundle alone says.
    let rules = RuleSet::load(&[]).unwrap();
    for line in lines.iter().take(BUNDLES) {
        let mut bundle = snapdoc::bundle::Bundle::open(Path::new(&line.bundle)).unwrap();
        let analysis = snapdoc::analyze::analyze_open_bundle(&mut bundle, &rules).unwrap();
        let alone = fleet_line(
            &analysis,
            line.cluster.context.clone(),
            line.cluster.uid.clone(),
        );
        assert_eq!(
            serde_json::to_value(line).unwrap(),
            serde_json::to_value(&alone).unwrap(),
            "{}",
            line.bundle
        );
    }
    let formats: BTreeMap<&str, usize> =
        lines
            .iter()
            .take(BUNDLES)
            .fold(BTreeMap::new(), |mut counts, line| {
                let format = line.format.as_deref().unwrap();
                *counts
                    .entry(if format.starts_with("troubleshoot") {
                        "troubleshoot"
                    } else {
                        format
                    })
                    .or_default() += 1;
                counts
            });
    assert_eq!(
        formats.get("troubleshoot"),
        Some(&(BUNDLES / 4)),
        "{formats:?}"
    );
    assert!(
        formats.get("snapdoc").is_some_and(|n| *n > 0),
        "{formats:?}"
    );
    // The failed-bsl bundles name their cause; healthy ones none.
    let failed_bsl: Vec<&FleetLine> = lines
        .iter()
        .filter(|l| l.bundle.contains("-failed-bsl."))
        .collect();
    assert!(!failed_bsl.is_empty());
    for line in &failed_bsl {
        assert_eq!(line.status, "failed", "{line:?}");
        let cause = line
            .top_cause
            .as_ref()
            .expect("a failed bundle names its cause");
        assert!(line.rule_ids.contains(&cause.rule_id));
    }
    for line in lines.iter().filter(|l| l.status == "healthy") {
        assert!(line.top_cause.is_none(), "{line:?}");
    }
    let velero_versions: BTreeMap<String, usize> = lines
        .iter()
        .filter_map(|l| l.versions.velero.clone())
        .fold(BTreeMap::new(), |mut counts, v| {
            *counts.entry(v).or_default() += 1;
            counts
        });
    assert!(
        velero_versions.keys().any(|v| v.contains("1.16.2")),
        "{velero_versions:?}"
    );

    let markdown = std::fs::read_to_string(&report).unwrap();
    assert!(markdown.len() < 65_536, "{} characters", markdown.len());
    assert!(markdown.starts_with(&format!("# snapdoc fleet report: {} bundles", BUNDLES + 1)));
    let top = &failed_bsl[0].top_cause.as_ref().unwrap().rule_id;
    assert!(markdown.contains(&format!("| {top} |")), "{markdown}");
    assert!(markdown.contains("**unreadable** 1"), "{markdown}");
    assert!(markdown.contains("999-damaged.zip"), "{markdown}");
    assert!(markdown.contains("1.16.2"), "{markdown}");
    assert!(markdown.contains("## Versions in the fleet"), "{markdown}");

    // Outputs are never overwritten without --force, and that is known before any bundle is read.
    let again = snapdoc(&into_jsonl);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn lines_are_in_input_order_whatever_the_threads_and_html_is_written_too() {
    let fleet = fleet();
    // Given one by one (no folder): the same bundles, the damaged one left out, on one thread and on all.
    let readable: Vec<&PathBuf> = fleet
        .bundles
        .iter()
        .filter(|p| !p.ends_with("999-damaged.zip"))
        .collect();
    let run = |jobs: &str, report: Option<&Path>| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "analyze".as_ref(),
            "--summary".as_ref(),
            "jsonl".as_ref(),
            "--jobs".as_ref(),
            jobs.as_ref(),
            "--fail-on".as_ref(),
            "never".as_ref(),
        ];
        args.extend(readable.iter().map(|p| p.as_os_str()));
        if let Some(report) = report {
            args.extend(["--fleet-report".as_ref(), report.as_os_str()]);
        }
        snapdoc(&args)
    };
    let html = fleet.root.join("fleet.html");
    let one = run("1", None);
    let all = run("0", Some(&html));
    assert_eq!(one.stdout, all.stdout);
    // Every bundle was read; some analyses are incomplete (forbidden, no-velero): 2 even under never.
    let lines = lines_of(&String::from_utf8_lossy(&all.stdout));
    assert_eq!(lines.len(), BUNDLES);
    assert!(lines.iter().all(|l| l.error.is_none()));
    let expected = if lines.iter().any(|l| !l.not_seen.is_empty()) {
        2
    } else {
        0
    };
    assert_eq!(all.status.code(), Some(expected));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Top causes</h2>") && page.contains("script-src 'none'"));
    assert!(!page.contains("<script"), "the fleet page runs no script");

    let bad = snapdoc(&[
        "analyze".as_ref(),
        "--summary".as_ref(),
        "jsonl".as_ref(),
        readable[0].as_os_str(),
        "--fleet-report".as_ref(),
        fleet.root.join("fleet.txt").as_os_str(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(".md or .html"));
}
