//! The `snapdoc` binary: parse arguments, call the library, map the outcome to an exit code.
//! Exit codes: 0 success / nothing at or above --fail-on, 1 findings at or above it, 2 could not run.
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use snapdoc::analyze::Analysis;
use snapdoc::analyze::engine::samples::run_samples;
use snapdoc::analyze::findings::Evidence;
use snapdoc::analyze::rules::{RuleSet, explain};
use snapdoc::cli::{AnalyzeArgs, Cli, Command, LabCommand, OutputFormat, RulesCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("snapdoc: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNAPDOC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("snapdoc={level},warn")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Verify(args) => {
            let report = snapdoc::bundle::verify::verify(&args.bundle)
                .with_context(|| format!("cannot verify {}", args.bundle.display()))?;
            for problem in &report.problems {
                println!("{problem}");
            }
            if report.is_ok() {
                println!(
                    "{}: {} entries match the manifest",
                    args.bundle.display(),
                    report.checked
                );
                Ok(0)
            } else {
                println!(
                    "{}: {} problem(s)",
                    args.bundle.display(),
                    report.problems.len()
                );
                Ok(1)
            }
        }
        Command::Rules(command) => rules_command(command),
        Command::Analyze(args) => analyze_command(&args),
        Command::Collect(args) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let outcome = runtime.block_on(snapdoc::collect::collect_cli(&args))?;
            let manifest = &outcome.manifest;
            for error in &manifest.collector_errors {
                eprintln!(
                    "snapdoc: could not collect {}{}{}: {}",
                    error.target.as_deref().unwrap_or(&error.source),
                    error
                        .namespace
                        .as_deref()
                        .map(|ns| format!(" in {ns}"))
                        .unwrap_or_default(),
                    error.status.map(|s| format!(" ({s})")).unwrap_or_default(),
                    error.message
                );
            }
            let redactions: u64 = manifest.redactions.values().sum();
            println!(
                "{}: {} files, {} sources not collected, {} values redacted",
                outcome.path.display(),
                manifest.files.len(),
                manifest.collector_errors.len(),
                redactions
            );
            Ok(0)
        }
        Command::Lab(LabCommand::Serve(args)) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(snapdoc::lab::serve(
                &args.scenario,
                args.kubeconfig_out.as_deref(),
                args.port,
            ))?;
            Ok(0)
        }
        Command::Check(args) => {
            use std::io::IsTerminal as _;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let outcome = runtime
                .block_on(snapdoc::check::run(&args, color))
                .context("the check could not run")?;
            print!("{}", outcome.output);
            Ok(outcome.exit_code)
        }
        other => anyhow::bail!("{other:?}: not built yet"),
    }
}

fn rules_command(command: RulesCommand) -> anyhow::Result<u8> {
    match command {
        RulesCommand::List { rules_dirs } => {
            let rules = RuleSet::load(&rules_dirs).context("cannot load the rules")?;
            print!("{}", explain::list_table(rules.rules()));
            Ok(0)
        }
        RulesCommand::Explain { id, rules_dirs } => {
            let rules = RuleSet::load(&rules_dirs).context("cannot load the rules")?;
            let rule = rules
                .get(&id)
                .with_context(|| format!("no rule {id} (`snapdoc rules list` shows them all)"))?;
            print!("{}", explain::explain(rule));
            Ok(0)
        }
        RulesCommand::Lint { dir } => match RuleSet::lint_dir(&dir) {
            Ok(rules) => {
                println!("{}: {} rule(s), no problem", dir.display(), rules.len());
                Ok(0)
            }
            Err(errors) => {
                for error in &errors {
                    println!("{error}");
                }
                println!("{}: {} problem(s)", dir.display(), errors.len());
                Ok(1)
            }
        },
        RulesCommand::Test { dir } => {
            let rules = match RuleSet::lint_dir(&dir) {
                Ok(rules) => rules,
                Err(errors) => {
                    for error in &errors {
                        println!("{error}");
                    }
                    println!(
                        "{}: {} problem(s); no sample was run",
                        dir.display(),
                        errors.len()
                    );
                    return Ok(1);
                }
            };
            let report = run_samples(&rules);
            for failure in &report.failures {
                println!("{failure}");
            }
            println!(
                "{}: {} rule(s), {} sample(s): {} passed, {} failed",
                dir.display(),
                report.rules,
                report.samples,
                report.samples - report.failures.len(),
                report.failures.len()
            );
            Ok(if report.passed() { 0 } else { 1 })
        }
    }
}

/// `snapdoc analyze BUNDLE...`: every bundle is analysed even when one fails (exit 2 then).
fn analyze_command(args: &AnalyzeArgs) -> anyhow::Result<u8> {
    let rules = RuleSet::load(&args.analysis.rules_dirs).context("cannot load the rules")?;
    let mut analyses = Vec::new();
    let mut could_not_run = false;
    for path in &args.bundles {
        let analysed = snapdoc::bundle::Bundle::open(path)
            .map_err(snapdoc::analyze::AnalyzeError::from)
            .and_then(|mut bundle| snapdoc::analyze::analyze_open_bundle(&mut bundle, &rules));
        match analysed {
            Ok(analysis) => analyses.push(analysis),
            Err(error) => {
                eprintln!("snapdoc: error: cannot analyse {}: {error}", path.display());
                could_not_run = true;
            }
        }
    }
    let text = match args.format {
        OutputFormat::Json => {
            let mut json = if let [single] = analyses.as_slice() {
                serde_json::to_string_pretty(single)?
            } else {
                serde_json::to_string_pretty(&analyses)?
            };
            json.push('\n');
            json
        }
        // md / html / junit come with the report stage; until then they print the text summary.
        _ => analyses
            .iter()
            .map(text_summary)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    match &args.output {
        Some(path) => {
            if path.exists() && !args.force {
                anyhow::bail!(
                    "{}: already exists (use --force to overwrite)",
                    path.display()
                );
            }
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => print!("{text}"),
    }
    if could_not_run {
        return Ok(2);
    }
    let failing = analyses
        .iter()
        .any(|a| snapdoc::analyze::run::fails(&a.findings, args.analysis.fail_on));
    Ok(u8::from(failing))
}

fn text_summary(analysis: &Analysis) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", analysis.bundle.path, analysis.bundle.format);
    for verdict in &analysis.verdicts {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            verdict.target.kind.split('.').next().unwrap_or_default(),
            verdict.target.name,
            verdict.phase,
            verdict.summary
        );
    }
    if analysis.findings.is_empty() {
        let _ = writeln!(out, "  no finding");
    }
    for finding in &analysis.findings {
        let _ = writeln!(
            out,
            "  {:<4} {} {} ({}×): {}",
            finding.severity.as_str().to_uppercase(),
            finding.rule_id,
            finding.title,
            finding.count,
            finding.message
        );
        for evidence in finding.evidence.iter().take(3) {
            let place = match evidence {
                Evidence::LogLine { file, line, .. } => format!("{file}:{line}"),
                Evidence::Object {
                    object,
                    path,
                    value,
                } => format!(
                    "{} {}{}{}",
                    object.kind,
                    object
                        .namespace
                        .as_deref()
                        .map(|n| format!("{n}/"))
                        .unwrap_or_default(),
                    object.name,
                    match (path, value) {
                        (Some(p), Some(v)) => format!(" {p}={v}"),
                        _ => String::new(),
                    }
                ),
                Evidence::Versions {
                    subject,
                    subject_version,
                    against,
                    against_version,
                    ..
                } => {
                    format!("{subject} {subject_version}, {against} {against_version}")
                }
            };
            let _ = writeln!(out, "         {place}");
        }
    }
    let _ = writeln!(out, "  {} check(s) passed", analysis.checks_passed.len());
    for error in &analysis.collector_errors {
        let _ = writeln!(
            out,
            "  collector error ({}): {}",
            error.source, error.message
        );
    }
    for missing in &analysis.unavailable {
        let _ = writeln!(out, "  unavailable: {missing}");
    }
    out
}
