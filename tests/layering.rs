//! Layering, as ripgrep keeps it: only the command line (src/cli.rs) and the binary (src/main.rs) know clap
//! and the flag types; every other layer takes its own option types (`collect::CollectOptions`,
//! `analyze::AnalysisOptions`, `check::CheckOptions`, `pipeline::RunOptions`), so the library serves a
//! caller without the CLI. A source scan, because the compiler cannot forbid an import inside one crate.
use std::path::{Path, PathBuf};

const COMMAND_LINE: [&str; 2] = ["src/cli.rs", "src/main.rs"];

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn only_the_command_line_knows_clap_and_the_flags() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 50, "the scan found the sources");
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if COMMAND_LINE.contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("clap::") || code.contains("crate::cli") || code.contains("use clap") {
                offenders.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "outside the command line, these lines reach clap or the flag types:\n{}",
        offenders.join("\n")
    );
}

/// A caller without the CLI builds the options itself, and their defaults are the flags' defaults (the
/// CLI's unit test checks that side).
#[test]
fn the_library_options_stand_alone() {
    let collect = snapdoc::collect::CollectOptions::default();
    assert_eq!(collect.since.as_str(), snapdoc::collect::DEFAULT_SINCE);
    let analysis = snapdoc::analyze::AnalysisOptions::default();
    assert_eq!(analysis.fail_on, snapdoc::analyze::FailOn::Fail);
    let check = snapdoc::check::CheckOptions::default();
    assert_eq!(check.format, snapdoc::check::CheckFormat::Json);
}
