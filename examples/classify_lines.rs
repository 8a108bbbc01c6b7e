//! Which rules of a catalog fire on each log line: the engine the analysis uses (the same scanner, field filters
//! and sources), one line at a time. `scripts/velero-error-strings` feeds it Velero's instantiated format strings.
//!
//! Input (stdin), one JSON object a line: `{"key": "…", "line": "…", "sources": ["backup-log", …]}`.
//! Output (stdout), one a line: `{"key": "…", "rules": ["SD101", …]}` (a rule counts if it fires in any source).
//!
//! Usage: `cargo run --example classify_lines -- analyzers < lines.jsonl`
use std::io::{BufRead, Cursor, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use snapdoc::analyze::LogRun;
use snapdoc::analyze::RuleSet;
use snapdoc::bundle::{LogFile, LogSource};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: classify_lines <rules dir> < lines.jsonl");
        return ExitCode::from(2);
    };
    let rules = match RuleSet::lint_dir(&dir) {
        Ok(rules) => rules,
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            return ExitCode::FAILURE;
        }
    };
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for (number, line) in stdin.lines().enumerate() {
        let request = match line
            .map_err(|e| e.to_string())
            .and_then(|l| serde_json::from_str::<Value>(&l).map_err(|e| e.to_string()))
        {
            Ok(request) => request,
            Err(error) => {
                eprintln!("stdin:{}: {error}", number + 1);
                return ExitCode::FAILURE;
            }
        };
        let (Some(key), Some(text)) = (request["key"].as_str(), request["line"].as_str()) else {
            eprintln!("stdin:{}: needs \"key\" and \"line\" strings", number + 1);
            return ExitCode::FAILURE;
        };
        let mut fired: Vec<&str> = Vec::new();
        for source in request["sources"].as_array().into_iter().flatten() {
            let source: LogSource = match source.as_str().unwrap_or_default().parse() {
                Ok(source) => source,
                Err(error) => {
                    eprintln!("stdin:{}: {error}", number + 1);
                    return ExitCode::FAILURE;
                }
            };
            let mut run = LogRun::new(rules.rules(), Some("velero".to_string()));
            let log = stand_in_log(source);
            if let Err(error) = run.scan(&log, Cursor::new(format!("{text}\n"))) {
                eprintln!("stdin:{}: {error}", number + 1);
                return ExitCode::FAILURE;
            }
            for (rule, aggregate, _) in run.finish() {
                if aggregate.count > 0 && !fired.contains(&rule.id.as_str()) {
                    fired.push(&rule.id);
                }
            }
        }
        fired.sort_unstable();
        if writeln!(out, "{}", json!({"key": key, "rules": fired})).is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// A log of `source` named as a bundle names it (a backup / restore log belongs to one backup / restore).
fn stand_in_log(source: LogSource) -> LogFile {
    let (path, owner) = match source {
        LogSource::BackupLog => ("velero/backups/b/backup.log", Some("b")),
        LogSource::RestoreLog => ("velero/restores/r/restore.log", Some("r")),
        _ => ("velero/logs/pod/container.log", None),
    };
    LogFile {
        path: path.to_string(),
        source,
        pod: None,
        container: None,
        previous: false,
        owner: owner.map(str::to_string),
    }
}
