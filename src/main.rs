//! The `snapdoc` binary: parse arguments, call the library, map the outcome to an exit code.
//! Exit codes: 0 success / nothing at or above --fail-on, 1 findings at or above it, 2 could not run.
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use snapdoc::cli::{Cli, Command, LabCommand};

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
        other => anyhow::bail!("{other:?}: not built yet"),
    }
}
