//! The `snapdoc` binary: parse arguments, call the library, map the outcome to an exit code.
//! Exit codes: 0 success / nothing at or above --fail-on, 1 findings at or above it, 2 could not run.
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use snapdoc::analyze::engine::samples::run_samples;
use snapdoc::analyze::rules::{RuleSet, explain};
use snapdoc::cli::{Cli, Command, RulesCommand};

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
