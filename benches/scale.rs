//! In-process measurements for scripts/bench (the harness runs this as `cargo bench --bench scale -- …`):
//!
//! - `patterns OUT`: the log rules' regexes of the built-in catalog, one a line: ripgrep's `-f` file, so
//!   `rg` and snapdoc search for the same patterns. Named groups become plain groups: rg joins the patterns
//!   into one regex, where two rules' `(?P<location>…)` would collide; what matches is the same.
//! - `scan PATTERNS FILE…`: the engine's log scanner alone (one multi-pattern pass per file, one thread) over
//!   uncompressed files; prints bytes, seconds, MiB/s and the lines that matched. `scan-dfa` does the same
//!   without the literal prefilter (every byte through the automaton), for the comparison.
//! - `anchors PATTERNS [FILE…]`: the prefilter's anchors (engine::anchors), one a line, each with the lines of
//!   the files holding it: how well they were chosen.
//! - `rules N BUNDLE`: the whole analysis of a bundle (facts, engine, verdicts, timelines) with a catalog of
//!   exactly N rules: the built-in rules in id order, then generated log rules once those run out.
//!   Prints rules, log rules, seconds, findings.
//! - `redact [--without-fast-path] FILE…`: the log redaction alone (src/redact, as collection streams a log
//!   through it in 64 KiB chunks, one thread) over uncompressed files; prints bytes, seconds, MB/s and the
//!   redactions made. `--without-fast-path` runs every line through the rules' regexes, as before the
//!   literal prefilter.
//! - `deflate LEVEL FILE…`: deflate alone (flate2 with the backend the zip crate writes bundles with, zlib-rs)
//!   at LEVEL over uncompressed files, one thread; prints bytes in, bytes out, seconds, MB/s. `deflate sha256
//!   FILE…` hashes the files instead (what each bundle entry also costs); bytes out is then 32.
//!
//! Output is one tab-separated line, for the harness to collect.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use snapdoc::analyze::LogScanner;
use snapdoc::analyze::{Matcher, RuleSet};

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; the harness puts its own arguments after `--`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("patterns") if args.len() == 2 => write_patterns(&PathBuf::from(&args[1])),
        Some("scan") if args.len() >= 3 => scan(&PathBuf::from(&args[1]), &args[2..], true),
        Some("scan-dfa") if args.len() >= 3 => scan(&PathBuf::from(&args[1]), &args[2..], false),
        Some("redact") if args.len() >= 3 && args[1] == "--without-fast-path" => {
            redact(&snapdoc::redact::Redactor::without_fast_path(), &args[2..])
        }
        Some("redact") if args.len() >= 2 => {
            redact(snapdoc::redact::Redactor::global(), &args[1..])
        }
        Some("deflate") if args.len() >= 3 => deflate(&args[1], &args[2..]),
        Some("anchors") if args.len() >= 2 => anchors(&PathBuf::from(&args[1]), &args[2..]),
        Some("rules") if args.len() == 3 => match args[1].parse() {
            Ok(count) => analyse_with(count, &PathBuf::from(&args[2])),
            Err(_) => Err(format!("rules: {:?} is not a number of rules", args[1])),
        },
        // Plain `cargo bench` runs every bench target: nothing to do without arguments.
        None => {
            eprintln!(
                "usage: scale patterns OUT | scale scan[-dfa] PATTERNS FILE... | scale anchors PATTERNS [FILE...] | scale redact [--without-fast-path] FILE... | scale deflate LEVEL|sha256 FILE... | scale rules N BUNDLE (see scripts/bench)"
            );
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("unknown arguments {args:?} (see benches/scale.rs)")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scale bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn builtin_log_patterns() -> Result<Vec<String>, String> {
    let rules = RuleSet::builtin().map_err(|e| format!("built-in rules: {e}"))?;
    Ok(rules
        .rules()
        .iter()
        .filter_map(|rule| match &rule.matcher {
            Matcher::Log(log) => Some(log.pattern.clone()),
            _ => None,
        })
        .collect())
}

fn write_patterns(out: &std::path::Path) -> Result<(), String> {
    let named_group =
        regex::Regex::new(r"(^|[^\\])\(\?P?<[A-Za-z_][A-Za-z0-9_]*>").map_err(|e| e.to_string())?;
    let patterns: Vec<String> = builtin_log_patterns()?
        .iter()
        .map(|p| named_group.replace_all(p, "$1(?:").into_owned())
        .collect();
    if let Some(bad) = patterns.iter().find(|p| p.contains('\n')) {
        return Err(format!("pattern {bad:?} spans lines: rg -f cannot take it"));
    }
    let mut text = patterns.join("\n");
    text.push('\n');
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{}\t{}", patterns.len(), out.display());
    Ok(())
}

fn scan(patterns_file: &std::path::Path, files: &[String], prefilter: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(patterns_file)
        .map_err(|e| format!("{}: {e}", patterns_file.display()))?;
    let patterns: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let scanner = if prefilter {
        LogScanner::new(&patterns)?
    } else {
        LogScanner::without_prefilter(&patterns)?
    };
    let started = Instant::now();
    let (mut bytes, mut hits) = (0u64, 0u64);
    for file in files {
        let reader = std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?;
        let stats = scanner
            .scan(reader, &mut |_line| hits += 1)
            .map_err(|e| format!("{file}: {e}"))?;
        bytes += stats.bytes;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{bytes}\t{seconds:.3}\t{:.1}\t{hits}",
        bytes as f64 / 1048576.0 / seconds
    );
    Ok(())
}

/// Reads `file` in 64 KiB chunks, as collection receives a log, handing each to `each`; returns the bytes.
fn read_in_chunks(
    file: &str,
    mut each: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64, String> {
    use std::io::Read;
    let mut reader = std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut bytes = 0;
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| format!("{file}: {e}"))?;
        if n == 0 {
            return Ok(bytes);
        }
        bytes += n as u64;
        each(&chunk[..n]).map_err(|e| format!("{file}: {e}"))?;
    }
}

/// Deflate (or sha256) throughput over files read in 64 KiB chunks, as a bundle entry is written.
fn deflate(level: &str, files: &[String]) -> Result<(), String> {
    use sha2::Digest as _;
    use std::io::Write;
    /// Counts what the encoder writes.
    struct Counted(u64);
    impl Write for Counted {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let hash_only = level == "sha256";
    let level: u32 = if hash_only {
        0
    } else {
        level
            .parse()
            .map_err(|_| format!("deflate: {level:?} is not a level (0-9) nor sha256"))?
    };
    let started = Instant::now();
    let (mut bytes, mut written) = (0u64, 0u64);
    for file in files {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Counted(0), flate2::Compression::new(level));
        let mut hasher = sha2::Sha256::new();
        bytes += read_in_chunks(file, |chunk| {
            if hash_only {
                hasher.update(chunk);
                Ok(())
            } else {
                encoder.write_all(chunk)
            }
        })?;
        if hash_only {
            written += hasher.finalize().len() as u64;
        } else {
            written += encoder.finish().map_err(|e| format!("{file}: {e}"))?.0;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{bytes}\t{written}\t{seconds:.3}\t{:.1}",
        bytes as f64 / 1e6 / seconds
    );
    Ok(())
}

fn redact(redactor: &snapdoc::redact::Redactor, files: &[String]) -> Result<(), String> {
    use std::io::Write;
    let started = Instant::now();
    let (mut bytes, mut redactions) = (0u64, 0u64);
    for file in files {
        let mut writer = snapdoc::redact::RedactingWriter::new(redactor, std::io::sink());
        bytes += read_in_chunks(file, |chunk| writer.write_all(chunk))?;
        let (_, counts) = writer.finish().map_err(|e| format!("{file}: {e}"))?;
        redactions += counts.values().sum::<u64>();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{bytes}\t{seconds:.3}\t{:.1}\t{redactions}",
        bytes as f64 / 1e6 / seconds
    );
    Ok(())
}

fn anchors(patterns_file: &std::path::Path, files: &[String]) -> Result<(), String> {
    let text = std::fs::read_to_string(patterns_file)
        .map_err(|e| format!("{}: {e}", patterns_file.display()))?;
    let patterns: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let scanner = LogScanner::new(&patterns)?;
    let Some(anchors) = scanner.anchors() else {
        println!("no anchors ({} patterns)", patterns.len());
        return Ok(());
    };
    let mut lines_holding = vec![0u64; anchors.len()];
    let (mut lines, mut lines_with_any) = (0u64, 0u64);
    for file in files {
        let content = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        for line in content.split(|&b| b == b'\n') {
            lines += 1;
            let mut any = false;
            // The scanner searches the log lowercased.
            let line = line.to_ascii_lowercase();
            for (anchor, count) in anchors.iter().zip(&mut lines_holding) {
                if memchr::memmem::find(&line, anchor).is_some() {
                    *count += 1;
                    any = true;
                }
            }
            lines_with_any += u64::from(any);
        }
    }
    for (anchor, count) in anchors.iter().zip(&lines_holding) {
        println!("{:?}\t{count}", String::from_utf8_lossy(anchor));
    }
    println!(
        "{} anchors for {} patterns\t{lines_with_any} of {lines} lines hold one",
        anchors.len(),
        patterns.len()
    );
    Ok(())
}

/// What the generated rules match: Kubernetes API errors as Velero logs them, one (verb, resource, reason)
/// combination a rule, so each is a distinct signature with its own literals, as a larger catalog has.
const VERBS: &[&str] = &["get", "list", "create", "patch", "update", "delete"];
const RESOURCES: &[&str] = &[
    "backups.velero.io",
    "restores.velero.io",
    "podvolumebackups.velero.io",
    "podvolumerestores.velero.io",
    "backuprepositories.velero.io",
    "datauploads.velero.io",
    "volumesnapshots.snapshot.storage.k8s.io",
    "persistentvolumeclaims",
    "persistentvolumes",
    "namespaces",
    "customresourcedefinitions.apiextensions.k8s.io",
    "serviceaccounts",
];
/// (pattern, a text it matches)
const REASONS: &[(&str, &str)] = &[
    (
        r"etcdserver: request timed out",
        "etcdserver: request timed out",
    ),
    (
        r"the server was unable to return a response in the time allotted",
        "the server was unable to return a response in the time allotted, but may still be processing the request",
    ),
    (
        r"Internal error occurred: resource quota evaluation timed out",
        "Internal error occurred: resource quota evaluation timed out",
    ),
    (
        r"conversion webhook for \S+ failed",
        "conversion webhook for velero.io/v2alpha1, Kind=DataUpload failed",
    ),
];

fn generated_rule(index: usize, id: &str) -> (String, String) {
    let verb = VERBS[index % VERBS.len()];
    let resource = RESOURCES[(index / VERBS.len()) % RESOURCES.len()];
    let (reason, reason_text) = REASONS[(index / (VERBS.len() * RESOURCES.len())) % REASONS.len()];
    let pattern = format!(
        r"(?:error|failed) (?:to )?{verb}(?:ting|ing)? {}(?: \S+)?: {reason}",
        regex::escape(resource)
    );
    let text = format!(
        "id: {id}\nname: generated-api-error-{index}\nseverity: warn\ncategory: installation\n\
         title: Kubernetes API error {index}\nmessage: The Kubernetes API failed a {verb} of {resource}.\n\
         cause: Generated for the rule-count benchmark.\nfix: None.\n\
         match:\n  log:\n    sources: [velero-server, node-agent, backup-log]\n    regex: '{}'\n\
         tests:\n  match:\n    - 'level=error msg=\"Error backing up item\" error=\"failed to {verb} {resource} x: {}\"'\n\
         \x20 no_match:\n    - 'level=info msg=\"Backing up item\" resource={resource}'\n",
        pattern.replace('\'', "''"),
        reason_text.replace('\'', "''")
    );
    (
        format!("generated/{id}-generated-api-error-{index}.yaml"),
        text,
    )
}

/// Exactly `count` rules: built-in ones (all kinds, id order) first, then generated log rules.
fn rule_set(count: usize) -> Result<RuleSet, String> {
    let mut files: Vec<(String, String)> = snapdoc::embedded::ANALYZERS
        .iter()
        .filter(|(path, _)| {
            path.rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with("SD") && name.ends_with(".yaml"))
        })
        .map(|(path, text)| (format!("analyzers/{path}"), text.to_string()))
        .collect();
    files.sort_by(|a, b| {
        let id = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
        id(&a.0).cmp(&id(&b.0))
    });
    files.truncate(count);
    // Generated rules take the ids the catalog leaves free (ids are SD and three digits).
    let taken: Vec<String> = files
        .iter()
        .filter_map(|(path, _)| path.rsplit('/').next()?.get(..5).map(str::to_string))
        .collect();
    let mut free_ids = (1..1000)
        .map(|n| format!("SD{n:03}"))
        .filter(|id| !taken.contains(id));
    let mut generated = 0;
    while files.len() < count {
        let id = free_ids
            .next()
            .ok_or_else(|| format!("no free rule id left for {count} rules"))?;
        files.push(generated_rule(generated, &id));
        generated += 1;
    }
    RuleSet::from_files(&files).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn analyse_with(count: usize, bundle_path: &std::path::Path) -> Result<(), String> {
    let rules = rule_set(count)?;
    let log_rules = rules
        .rules()
        .iter()
        .filter(|r| matches!(r.matcher, Matcher::Log(_)))
        .count();
    let started = Instant::now();
    let mut bundle = snapdoc::bundle::Bundle::open(bundle_path)
        .map_err(|e| format!("{}: {e}", bundle_path.display()))?;
    let analysis = snapdoc::analyze::analyze_open_bundle(&mut bundle, &rules)
        .map_err(|e| format!("{}: {e}", bundle_path.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}\t{log_rules}\t{seconds:.3}\t{}",
        rules.len(),
        analysis.findings.len()
    );
    Ok(())
}
