//! Inputs sized to exhaust memory (issue #21): each ends in success or in a clear error naming what was too
//! large, never in gigabytes. The peak RSS of the full-size cases is measured by hand with `/usr/bin/time -v`
//! (BENCHMARKS.md, "Hostile inputs"); these tests check the outcome at sizes that run in a moment, and one
//! compares the peak RSS of the debug binary at two object counts.
use std::path::Path;

use snapdoc::analyze::RuleSet;

/// A log rule whose regex is `pattern`, firing on `sample`, as `dir/<id>-<name>.yaml`.
fn write_log_rule(dir: &Path, id: &str, name: &str, pattern: &str, sample: &str) {
    let text = format!(
        "id: {id}\nname: {name}\nseverity: warn\ncategory: bucket-endpoint\ntitle: Title of {name}\n\
         message: 'it fired'\ncause: Because.\nfix: Do this.\nmatch:\n  log:\n    sources: [velero-server]\n    \
         regex: '{pattern}'\ntests:\n  match:\n    - '{sample}'\n  no_match:\n    - 'nothing here'\n"
    );
    std::fs::write(dir.join(format!("{id}-{name}.yaml")), text).unwrap();
}

/// What `rules lint DIR` and loading DIR for analysis (`--rules DIR`) say, as text.
fn lint_and_load(dir: &Path) -> (String, String) {
    let lint = match RuleSet::lint_dir(dir) {
        Ok(set) => format!("ok: {} rules", set.len()),
        Err(errors) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let load = match RuleSet::load(&[dir.to_path_buf()]) {
        Ok(set) => format!("ok: {} rules", set.len()),
        Err(error) => error.to_string(),
    };
    (lint, load)
}

/// 200,000 literal alternatives passed `rules lint` (the regex crate searches a literal alternation with
/// Aho-Corasick and never builds the automaton its size limit applies to) and then took 6 GiB when the
/// scanner compiled it with the other rules. Lint and analysis now refuse it alike, naming file and id.
#[test]
fn a_rule_of_200000_literal_alternatives_is_refused_by_lint_and_by_analysis_alike() {
    let dir = tempfile::tempdir().unwrap();
    let alternatives: Vec<String> = (0..200_000)
        .map(|i| format!("stalled-upload-{i:06}"))
        .collect();
    let pattern = format!("(?:{})", alternatives.join("|"));
    write_log_rule(
        dir.path(),
        "SD990",
        "many-literals",
        &pattern,
        "x stalled-upload-000001 y",
    );
    let (lint, load) = lint_and_load(dir.path());
    for said in [&lint, &load] {
        assert!(said.contains("SD990-many-literals.yaml:"), "{said}");
        assert!(said.contains("rule SD990"), "{said}");
        assert!(said.contains("at most 64 KiB"), "{said}");
    }
}

/// Under the length limit, a literal alternation still large once compiled is refused by the regex crate's
/// own size limit, which lint and analysis both apply.
#[test]
fn a_shorter_alternation_too_large_compiled_is_refused_alike() {
    let dir = tempfile::tempdir().unwrap();
    let alternatives: Vec<String> = (0..2_200)
        .map(|i| format!("stalled-upload-{i:06}-{:x}", i * 7_919))
        .collect();
    let pattern = format!("(?:{})", alternatives.join("|"));
    assert!(pattern.len() < 64 << 10);
    write_log_rule(
        dir.path(),
        "SD990",
        "many-literals",
        &pattern,
        "x stalled-upload-000001-1eef y",
    );
    let (lint, load) = lint_and_load(dir.path());
    for said in [&lint, &load] {
        assert!(said.contains("SD990-many-literals.yaml:"), "{said}");
        assert!(said.contains("size limit"), "{said}");
    }
}

/// Rules each within the limits may not add up past the total the scanner compiles together (1 MiB of user
/// patterns): the rule that crosses it is named, by lint and by analysis.
#[test]
fn user_rules_adding_up_past_the_total_are_refused_alike() {
    let dir = tempfile::tempdir().unwrap();
    // Long in text, tiny compiled: a verbose-mode comment.
    let pattern = format!("(?x)stalled\\ upload \\d+ #{}", "c".repeat(60_000));
    for i in 0..18 {
        write_log_rule(
            dir.path(),
            &format!("SD{:03}", 950 + i),
            &format!("long-rule-{i}"),
            &pattern,
            "stalled upload 7",
        );
    }
    let (lint, load) = lint_and_load(dir.path());
    for said in [&lint, &load] {
        assert!(said.contains("SD967-long-rule-17.yaml:"), "{said}");
        assert!(said.contains("rule SD967"), "{said}");
        assert!(said.contains("at most 1024 KiB in all"), "{said}");
    }
    // One fewer is within the total: every rule loads.
    std::fs::remove_file(dir.path().join("SD967-long-rule-17.yaml")).unwrap();
    let (lint, load) = lint_and_load(dir.path());
    assert_eq!(lint, "ok: 17 rules");
    assert!(load.starts_with("ok: "), "{load}");
}

/// A zip of `count` tiny logs (no manifest: a foreign-looking archive), written with the zip crate.
fn zip_of_tiny_logs(path: &Path, count: usize) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..count {
        zip.start_file(format!("velero/logs/pod-{i:06}/velero.log"), options)
            .unwrap();
        zip.write_all(b"x\n").unwrap();
    }
    zip.finish().unwrap();
}

/// 200,000 tiny entries took 2.7 GiB to analyse (every log's scan held every rule's empty aggregate until it
/// was added in order). Scans now hold only what they saw, and an archive beyond the entry-count limit is
/// refused before anything is read, naming the entry that crossed it. The limit is the default's
/// mechanism, shown here at 1,000 so that the test writes a small zip.
#[test]
fn an_archive_of_more_entries_than_the_limit_is_refused_naming_the_entry() {
    use snapdoc::bundle::ArchiveLimits;
    use snapdoc::bundle::Bundle;

    assert_eq!(ArchiveLimits::default().max_entries, 100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.zip");
    zip_of_tiny_logs(&path, 1_001);
    let limits = ArchiveLimits {
        max_entries: 1_000,
        ..ArchiveLimits::default()
    };
    let message = Bundle::open_with_limits(&path, limits)
        .err()
        .expect("refused")
        .to_string();
    assert!(message.contains("many.zip"), "{message}");
    assert!(message.contains("more than 1000 entries"), "{message}");
    assert!(
        message.contains("velero/logs/pod-001000/velero.log"),
        "{message}"
    );
    // At the limit it opens.
    zip_of_tiny_logs(&path, 1_000);
    Bundle::open_with_limits(&path, limits).expect("1,000 entries open");
}

/// Under the limit, thousands of tiny logs are analysed to the end: a report, not an error.
#[test]
fn thousands_of_tiny_logs_are_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.zip");
    zip_of_tiny_logs(&path, 5_000);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .arg(&path)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert!(report.get("status").is_some(), "{report}");
}

/// A folder of `count` tiny logs laid out as in a snapdoc bundle, with a manifest.json or without one.
fn folder_of_tiny_logs(root: &Path, count: usize, manifest: bool) {
    for i in 0..count {
        let dir = root.join(format!("velero/logs/pod-{i:06}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("velero.log"), "x\n").unwrap();
    }
    if manifest {
        std::fs::write(root.join("manifest.json"), "{}").unwrap();
    }
}

/// An extracted bundle (a folder) is held to the archive's entry-count limit too: refused while it is
/// listed, naming the folder and the file that crossed the limit, whether it has a manifest (read as
/// snapdoc's folder) or not (tried as a foreign bundle first).
#[test]
fn a_folder_of_more_files_than_the_entry_limit_is_refused_naming_the_folder() {
    use snapdoc::bundle::ArchiveLimits;
    use snapdoc::bundle::Bundle;

    let limits = ArchiveLimits {
        max_entries: 1_000,
        ..ArchiveLimits::default()
    };
    for manifest in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("extracted-bundle");
        // 1,001 files with the manifest, 1,001 logs without.
        folder_of_tiny_logs(&root, if manifest { 1_000 } else { 1_001 }, manifest);
        let message = Bundle::open_with_limits(&root, limits)
            .err()
            .expect("refused")
            .to_string();
        assert!(message.contains("extracted-bundle"), "{message}");
        assert!(
            message.contains("the folder holds more than 1000 files"),
            "{message}"
        );
        assert!(message.contains("entry-count limit"), "{message}");
    }
    // At the limit it opens.
    let dir = tempfile::tempdir().unwrap();
    folder_of_tiny_logs(dir.path(), 1_000, false);
    Bundle::open_with_limits(dir.path(), limits).expect("1,000 files open");
}

/// A snapdoc folder bundle whose only object list is `count` Velero Backups, one a minute (every 1,000th
/// Failed), the shape scripts/bench-backups-server.py serves (composed); the newest is `hourly-{count - 1}`.
fn folder_of_backups(root: &Path, count: usize) {
    use std::io::Write;
    let file = root.join(snapdoc::bundle::objects_path(
        "backups.velero.io",
        Some("velero"),
    ));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    write!(
        out,
        r#"{{"apiVersion":"velero.io/v1","kind":"BackupList","items":["#
    )
    .unwrap();
    let start = jiff::Timestamp::from_second(1_577_836_800).unwrap(); // 2020-01-01
    for i in 0..count {
        let created = start
            .checked_add(jiff::SignedDuration::from_mins(i as i64))
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%SZ");
        let phase = if i % 1000 == 999 {
            "Failed"
        } else {
            "Completed"
        };
        write!(
            out,
            r#"{}{{"apiVersion":"velero.io/v1","kind":"Backup","metadata":{{"name":"hourly-{i:07}","namespace":"velero","creationTimestamp":"{created}","labels":{{"velero.io/schedule-name":"hourly"}},"managedFields":[{{"manager":"velero-server","operation":"Update","fieldsV1":{{"f:status":{{"f:phase":{{}}}}}}}}]}},"spec":{{"includedNamespaces":["app"],"storageLocation":"default","ttl":"720h0m0s"}},"status":{{"phase":"{phase}","startTimestamp":"{created}","completionTimestamp":"{created}","expiration":"{created}","progress":{{"itemsBackedUp":120,"totalItems":120}}}}}}"#,
            if i == 0 { "" } else { "," }
        )
        .unwrap();
    }
    write!(out, "]}}").unwrap();
    out.flush().unwrap();
}

/// `snapdoc analyze --format json` of `bundle`: the report, and the process's peak RSS in KiB (VmHWM, read
/// from /proc until it exits: the high-water mark only grows, so the last reading is the peak within the
/// polling interval).
fn analyze_measured(bundle: &Path) -> (serde_json::Value, u64) {
    let out_file = bundle.with_extension("json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["analyze", "--format", "json", "--fail-on", "never", "-o"])
        .arg(&out_file)
        .arg(bundle)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak_kib = peak_kib.max(hwm.unwrap_or(0));
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    (report, peak_kib)
}

/// A List of a million Backups took 6.9 GiB to analyse: every object was kept as a `serde_json::Value`, and the
/// 631 MB of text was read whole first. Lists now stream item by item and the analysis keeps the newest
/// 20,000 objects of a kind, counting the rest and saying so. Shown at 25,000 and 100,000 backups (4× the
/// objects): the same 20,000 are analysed, the newest, and the peak RSS stays within 30 MiB (keeping them all,
/// the release build went from 172 MiB at 20,000 backups to 735 MiB at 100,000).
#[cfg(target_os = "linux")]
#[test]
fn backups_past_the_bound_are_counted_not_kept_and_memory_stays_flat() {
    let dir = tempfile::tempdir().unwrap();
    let mut measured = Vec::new();
    for count in [25_000, 100_000] {
        let bundle = dir.path().join(format!("backups-{count}"));
        folder_of_backups(&bundle, count);
        let (report, peak_kib) = analyze_measured(&bundle);
        let backups = report["backups"].as_array().unwrap();
        assert_eq!(backups.len(), 20_000, "{count}");
        let names: Vec<&str> = backups.iter().filter_map(|b| b["name"].as_str()).collect();
        // The newest are kept, the oldest left out.
        assert!(names.contains(&format!("hourly-{:07}", count - 1).as_str()));
        assert!(names.contains(&format!("hourly-{:07}", count - 20_000).as_str()));
        assert!(!names.contains(&format!("hourly-{:07}", count - 20_001).as_str()));
        let said = report["unavailable"].to_string();
        assert!(
            said.contains(&format!(
                "backups.velero.io: 20000 of {count} analysed, the newest by creation time; the {} oldest \
                 were left out",
                count - 20_000
            )),
            "{said}"
        );
        // The Schedule `hourly` their label names is not in the bundle: what remains of it is counted from
        // the backups kept, a lower bound.
        let schedules = report["readiness"]["schedules"].to_string();
        assert!(
            schedules
                .contains("the Schedule no longer exists; at least 20000 of its backups remain"),
            "{schedules}"
        );
        measured.push(peak_kib);
    }
    let (small, large) = (measured[0], measured[1]);
    eprintln!("peak RSS: {small} KiB at 25,000 backups, {large} KiB at 100,000");
    assert!(small > 0, "no VmHWM read");
    assert!(
        large < small + 30 * 1024,
        "peak RSS {small} KiB at 25,000 backups, {large} KiB at 100,000"
    );
}
