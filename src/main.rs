//! The `snapdoc` binary: parse arguments, call the library, map the outcome to an exit code.
//! Exit codes: 0 success / nothing at or above --fail-on, 1 findings at or above it, 2 could not run.
use std::process::ExitCode;

use anyhow::Context;
use std::io::{IsTerminal, Write as _};

use snapdoc::analyze::engine::samples::run_samples;
use snapdoc::analyze::rules::{RuleSet, explain};
use snapdoc::cli::{AnalyzeArgs, Cli, Command, LabCommand, LogFormat, RulesCommand};
use snapdoc::pipeline::{self, RunOutcome};
use snapdoc::report::{self, ReportFormat};

fn main() -> ExitCode {
    let cli = snapdoc::cli::parse_from(std::env::args_os().collect());
    init_tracing(cli.verbose, cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("snapdoc: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr: text with colours only when stderr is a terminal, or one JSON object per line for a
/// CronJob's log collector.
fn init_tracing(verbose: u8, format: LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNAPDOC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(kube_filter(level)));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::stderr().is_terminal() && no_color_unset())
            .init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// kube-rs logs every retried request at ERROR; the collector retries and records failures itself, so those
/// lines would only alarm a user. They come back with -vv.
fn kube_filter(level: &str) -> String {
    if matches!(level, "warn" | "info") {
        format!("snapdoc={level},kube_client=off,warn")
    } else {
        format!("snapdoc={level},warn")
    }
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
            tracing::info!(
                findings = outcome.analysis.findings.len(),
                exit_code = outcome.exit_code,
                seconds = outcome.duration.as_secs_f64(),
                "check finished"
            );
            print!("{}", outcome.output);
            Ok(outcome.exit_code)
        }
        Command::Lab(LabCommand::Scale(args)) => {
            let parse =
                |text: &str| snapdoc::lab::scale::parse_size(text).map_err(anyhow::Error::msg);
            let spec = snapdoc::lab::scale::ScaleSpec {
                backups: args.backups,
                pod_volume_backups: args.pod_volume_backups,
                pods: args.pods,
                nodes: args.nodes,
                log_bytes: parse(&args.log_size).context("--log-size")?,
                backup_logs: args.backup_logs,
                backup_log_bytes: parse(&args.backup_log_size).context("--backup-log-size")?,
                seed: args.seed,
            };
            let summary = snapdoc::lab::scale::generate(&spec, &args.out, jiff::Timestamp::now())?;
            println!(
                "{}: {} objects, {} container logs ({} bytes, {} lines), {} store files ({} bytes), {} signature lines planted (planted.json)",
                args.out.display(),
                summary.objects,
                summary.log_files,
                summary.log_bytes,
                summary.log_lines,
                summary.store_files,
                summary.store_bytes,
                summary.planted.len()
            );
            Ok(0)
        }
        Command::Run(args) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let outcome = runtime.block_on(pipeline::run(&args))?;
            print_run_outcome(&outcome);
            Ok(u8::from(outcome.fails))
        }
        Command::Completions(args) => {
            std::io::stdout()
                .write_all(&snapdoc::cli::completion_script(args.shell))
                .context("cannot write the completion script")?;
            Ok(0)
        }
        Command::Man(args) => {
            match &args.out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .and_then(|()| snapdoc::cli::write_man_pages(dir))
                        .with_context(|| {
                            format!("cannot write the man pages into {}", dir.display())
                        })?;
                    println!(
                        "{}: man pages written (read one with `man -l {}/snapdoc.1`)",
                        dir.display(),
                        dir.display()
                    );
                }
                None => snapdoc::cli::write_man_page(&args.page, &mut std::io::stdout().lock())
                    .context("cannot write the man page")?,
            }
            Ok(0)
        }
        Command::Demo(args) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let outcome = runtime.block_on(pipeline::demo(&args))?;
            print_run_outcome(&outcome);
            println!(
                "demo: scenario `{}` served by the lab cluster; open {} in a browser",
                args.scenario,
                outcome.html_report.display()
            );
            Ok(0)
        }
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
    if analyses.is_empty() {
        return Ok(2);
    }
    let color = args.output.is_none() && stdout_wants_color();
    let format = ReportFormat::from_output(args.format, color);
    let text = report::render_many(&analyses, format, args.analysis.templates.as_deref())?;
    match &args.output {
        Some(path) => report::write_report(path, &text, args.force)?,
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

/// Colour only for a person at a terminal, and never when NO_COLOR is set (https://no-color.org).
fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && no_color_unset()
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// After `run` / `demo`: the summary, then where everything is.
fn print_run_outcome(outcome: &RunOutcome) {
    let reports = [outcome.html_report.clone(), outcome.markdown_report.clone()];
    print!(
        "{}",
        report::terminal_summary(
            std::slice::from_ref(&outcome.analysis),
            stdout_wants_color(),
            &reports
        )
    );
    println!("bundle: {}", outcome.bundle.display());
}
