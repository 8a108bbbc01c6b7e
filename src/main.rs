//! The `snapdoc` binary: parse arguments, call the library, map the outcome to an exit code
//! ([`Exit`], `snapdoc --help` lists them). Everything it prints goes through one stdout handle, so a reader
//! that stops early (`snapdoc analyze B | head`) ends the run quietly with 0, as `rg | head` does.
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use snapdoc::analyze::Exit;
use snapdoc::analyze::run_samples;
use snapdoc::analyze::{RuleSet, explain_rule, rules_table};
use snapdoc::cli::{
    AnalyzeArgs, Cli, Command, DiffArgs, LabCommand, LogFormat, ProbeArgs, ProbeFormat,
    RulesCommand,
};
use snapdoc::pipeline::{self, RunOutcome};
use snapdoc::report::{self, ReportFormat};

fn main() -> ExitCode {
    let cli = snapdoc::cli::parse_from(std::env::args_os().collect());
    let stderr_color = cli.color.enabled(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    init_tracing(cli.verbose, cli.log_format, stderr_color);
    let color = cli.color.enabled(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let mut out = std::io::stdout().lock();
    let result = run(cli, color, &mut out).and_then(|exit| {
        out.flush().context("cannot write to stdout")?;
        Ok(exit)
    });
    match result {
        Ok(exit) => exit.into(),
        Err(error) if is_broken_pipe(&error) => Exit::Clean.into(),
        Err(error) => {
            eprintln!("snapdoc: error: {}", causes_once(&error));
            Exit::Error.into()
        }
    }
}

/// The reader of stdout went away (`| head`): what it wanted, it has.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes joined by `: `, each said once (`snapdoc::analyze::causes_once`).
fn causes_once(error: &anyhow::Error) -> String {
    snapdoc::analyze::causes_once(error.as_ref())
}

/// One async runtime for every command that talks to a cluster.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

/// Runs `work` until it ends or SIGINT / SIGTERM arrives. Without this the process would die at once and leave
/// its `.partial` bundle behind; here the future is dropped instead, so every writer cleans up after itself
/// (BundleWriter removes its partial zip, spooled list pages live in unnamed files, an empty run folder is
/// removed), and the caller ends with 128 + the signal.
fn until_interrupted<T>(
    runtime: &tokio::runtime::Runtime,
    what: &str,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Result<T, Exit>> {
    runtime.block_on(async {
        let interrupt = interrupt_on_signals()?;
        let signal = tokio::select! {
            result = work => return result.map(Ok),
            signal = interrupt.wait() => signal,
        };
        eprintln!(
            "snapdoc: interrupted by {}: {what} stopped; its partial bundle and temporary files were removed \
             (DownloadRequests it created are left for Velero to garbage-collect)",
            signal.name
        );
        Ok(Err(Exit::Interrupted {
            signal: signal.number,
        }))
    })
}

/// Listens for SIGINT / SIGTERM for the rest of the process: the first one interrupts what watches the
/// returned [`snapdoc::collect::Interrupt`], which finishes (or removes) its bundle and ends with 128 + it; a
/// second one ends the process at once.
fn interrupt_on_signals() -> anyhow::Result<snapdoc::collect::Interrupt> {
    use snapdoc::collect::{Interrupt, Signal};
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot listen for SIGINT")?;
    let (interrupter, watched) = Interrupt::channel();
    tokio::spawn(async move {
        let mut next = async || {
            tokio::select! {
                _ = interrupt.recv() => Signal::INT,
                _ = terminate.recv() => Signal::TERM,
            }
        };
        interrupter.interrupt(next().await);
        // Once a handler is installed the default action never comes back, so a second signal would be lost
        // while the cleanup runs (a probe deleting its Job from an API server that stopped answering): the
        // second one ends the process at once, as users who press Ctrl-C twice expect. The sender stays alive
        // until then: a dropped one would read as "no signal will come".
        let second = next().await;
        eprintln!(
            "snapdoc: {} again: stopping without cleaning up (a .partial file or a snapdoc-probe Job may be left)",
            second.name
        );
        drop(interrupter);
        std::process::exit(128 + i32::from(second.number));
    });
    Ok(watched)
}

/// Logs go to stderr: text (coloured as --color decides for stderr), or one JSON object per line for a
/// CronJob's log collector.
fn init_tracing(verbose: u8, format: LogFormat, color: bool) {
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
        LogFormat::Text => logs.with_ansi(color).init(),
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

fn run(cli: Cli, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let runtime = runtime()?;
    match cli.command {
        Command::Verify(args) => {
            let report = snapdoc::bundle::verify(&args.bundle)
                .with_context(|| format!("cannot verify {}", args.bundle.display()))?;
            for problem in &report.problems {
                writeln!(out, "{problem}")?;
            }
            if report.is_ok() {
                writeln!(
                    out,
                    "{}: {} entries match the manifest",
                    args.bundle.display(),
                    report.checked
                )?;
                Ok(Exit::Clean)
            } else {
                writeln!(
                    out,
                    "{}: {} problem(s)",
                    args.bundle.display(),
                    report.problems.len()
                )?;
                Ok(Exit::Findings)
            }
        }
        Command::Rules(command) => rules_command(command, out),
        Command::Analyze(args) => analyze_command(&args, color, out),
        Command::Diff(args) => diff_command(&args, color, out),
        Command::Collect(args) => {
            let options = args.options.options();
            let collected = runtime.block_on(async {
                let interrupt = interrupt_on_signals()?;
                Ok::<_, anyhow::Error>(
                    snapdoc::collect::collect_to_until(&options, args.output.as_deref(), interrupt)
                        .await,
                )
            })?;
            let outcome = match collected {
                Ok(outcome) => outcome,
                Err(snapdoc::collect::CollectError::Interrupted { signal, stage }) => {
                    eprintln!(
                        "snapdoc: interrupted by {}: the collection stopped in its {stage} stage; its partial \
                         bundle and temporary files were removed",
                        signal.name
                    );
                    return Ok(Exit::Interrupted {
                        signal: signal.number,
                    });
                }
                Err(error) => return Err(error.into()),
            };
            let manifest = &outcome.manifest;
            if let Some(interrupted) = &manifest.interrupted {
                eprintln!(
                    "snapdoc: interrupted by {}: the collection stopped in its {} stage; {} holds what was \
                     collected before and is marked interrupted (`snapdoc verify` checks it; its analysis is \
                     incomplete); temporary files were removed; {}",
                    interrupted.signal,
                    interrupted.stage,
                    outcome.path.display(),
                    if options.delete_download_requests {
                        "the DownloadRequests it created were deleted"
                    } else {
                        "DownloadRequests it created are left for Velero to expire (--delete-download-requests deletes them)"
                    }
                );
                let signal = snapdoc::collect::Signal::named(&interrupted.signal)
                    .unwrap_or(snapdoc::collect::Signal::INT);
                return Ok(Exit::Interrupted {
                    signal: signal.number,
                });
            }
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
            writeln!(
                out,
                "{}: {} files, {} sources not collected, {} values redacted",
                outcome.path.display(),
                manifest.files.len(),
                manifest.collector_errors.len(),
                redactions
            )?;
            Ok(Exit::Clean)
        }
        Command::Lab(LabCommand::Serve(args)) => {
            let kubeconfig_out = args.kubeconfig_out.as_deref();
            match &args.bundle {
                Some(bundle) => runtime.block_on(snapdoc::lab::serve_bundle(
                    bundle,
                    kubeconfig_out,
                    args.port,
                ))?,
                None => {
                    let scenario = args
                        .scenario
                        .as_deref()
                        .context("lab serve needs --scenario or --bundle")?;
                    runtime.block_on(snapdoc::lab::serve(scenario, kubeconfig_out, args.port))?
                }
            }
            Ok(Exit::Clean)
        }
        Command::Check(args) => {
            let outcome = match runtime.block_on(snapdoc::check::run(&args.options(), color)) {
                Ok(outcome) => outcome,
                Err(failure) => {
                    if let Some(output) = &failure.output {
                        write!(out, "{output}")?;
                    }
                    return Err(
                        anyhow::Error::new(failure.error).context("the check could not run")
                    );
                }
            };
            tracing::info!(
                findings = outcome.analysis.findings.len(),
                exit_code = outcome.exit.code(),
                seconds = outcome.duration.as_secs_f64(),
                "check finished"
            );
            write!(out, "{}", outcome.output)?;
            Ok(outcome.exit)
        }
        Command::Lab(LabCommand::Scale(args)) => {
            let spec = snapdoc::lab::ScaleSpec {
                backups: args.backups,
                pod_volume_backups: args.pod_volume_backups,
                pods: args.pods,
                nodes: args.nodes,
                log_bytes: args.log_size,
                backup_logs: args.backup_logs,
                backup_log_bytes: args.backup_log_size,
                seed: args.seed,
            };
            let summary = snapdoc::lab::generate_scale(&spec, &args.out, jiff::Timestamp::now())?;
            writeln!(
                out,
                "{}: {} objects, {} container logs ({} bytes, {} lines), {} store files ({} bytes), {} signature lines planted (planted.json)",
                args.out.display(),
                summary.objects,
                summary.log_files,
                summary.log_bytes,
                summary.log_lines,
                summary.store_files,
                summary.store_bytes,
                summary.planted.len()
            )?;
            Ok(Exit::Clean)
        }
        Command::Run(args) => {
            let outcome = match until_interrupted(&runtime, "the run", async {
                Ok(pipeline::run(&args.options()).await?)
            })? {
                Ok(outcome) => outcome,
                Err(interrupted) => return Ok(interrupted),
            };
            print_run_outcome(&outcome, color, out)?;
            Ok(outcome.exit)
        }
        Command::Completions(args) => {
            out.write_all(&snapdoc::cli::completion_script(args.shell))
                .context("cannot write the completion script")?;
            Ok(Exit::Clean)
        }
        Command::Man(args) => {
            match &args.out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .and_then(|()| snapdoc::cli::write_man_pages(dir))
                        .with_context(|| {
                            format!("cannot write the man pages into {}", dir.display())
                        })?;
                    writeln!(
                        out,
                        "{}: man pages written (read one with `man -l {}/snapdoc.1`)",
                        dir.display(),
                        dir.display()
                    )?;
                }
                None => snapdoc::cli::write_man_page(&args.page, out)
                    .context("cannot write the man page")?,
            }
            Ok(Exit::Clean)
        }
        Command::Probe(args) => probe_command(&runtime, &args, out),
        Command::Demo(args) => {
            let outcome = runtime.block_on(pipeline::demo(&args.options()))?;
            print_run_outcome(&outcome, color, out)?;
            match &outcome.html_report {
                Some(html) => writeln!(
                    out,
                    "demo: scenario `{}` served by the lab cluster; open {} in a browser",
                    args.scenario,
                    html.display()
                )?,
                None => writeln!(
                    out,
                    "demo: scenario `{}` served by the lab cluster; no HTML report was written",
                    args.scenario
                )?,
            }
            Ok(if outcome.report_errors.is_empty() {
                Exit::Clean
            } else {
                Exit::Error
            })
        }
    }
}

fn rules_command(command: RulesCommand, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match command {
        RulesCommand::List { rules_dirs } => {
            let rules = RuleSet::load(&rules_dirs).context("cannot load the rules")?;
            write!(out, "{}", rules_table(rules.rules()))?;
            Ok(Exit::Clean)
        }
        RulesCommand::Explain { id, rules_dirs } => {
            let rules = RuleSet::load(&rules_dirs).context("cannot load the rules")?;
            let rule = rules
                .get(&id)
                .with_context(|| format!("no rule {id} (`snapdoc rules list` shows them all)"))?;
            write!(out, "{}", explain_rule(rule))?;
            Ok(Exit::Clean)
        }
        RulesCommand::Lint { dir } => match RuleSet::lint_dir(&dir) {
            Ok(rules) => {
                writeln!(
                    out,
                    "{}: {} rule(s), no problem",
                    dir.display(),
                    rules.len()
                )?;
                Ok(Exit::Clean)
            }
            Err(errors) => {
                for error in &errors {
                    writeln!(out, "{error}")?;
                }
                writeln!(out, "{}: {} problem(s)", dir.display(), errors.len())?;
                Ok(Exit::Findings)
            }
        },
        RulesCommand::Test { dir } => {
            let rules = match RuleSet::lint_dir(&dir) {
                Ok(rules) => rules,
                Err(errors) => {
                    for error in &errors {
                        writeln!(out, "{error}")?;
                    }
                    writeln!(
                        out,
                        "{}: {} problem(s); no sample was run",
                        dir.display(),
                        errors.len()
                    )?;
                    return Ok(Exit::Findings);
                }
            };
            let report = run_samples(&rules);
            for failure in &report.failures {
                writeln!(out, "{failure}")?;
            }
            writeln!(
                out,
                "{}: {} rule(s), {} sample(s): {} passed, {} failed",
                dir.display(),
                report.rules,
                report.samples,
                report.samples - report.failures.len(),
                report.failures.len()
            )?;
            Ok(if report.passed() {
                Exit::Clean
            } else {
                Exit::Findings
            })
        }
    }
}

/// `snapdoc analyze BUNDLE...`: every bundle is analysed even when one fails (exit 2 then).
fn analyze_command(args: &AnalyzeArgs, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let rules = RuleSet::load(&args.analysis.rules_dirs).context("cannot load the rules")?;
    if args.summary.is_some() {
        return fleet_command(args, &rules, out);
    }
    let rules = if args.bundles.len() == 1 {
        rules.for_one_bundle()
    } else {
        rules
    };
    refuse_existing_outputs(args.output.iter(), args.force)?;
    let mut analyses = Vec::new();
    let mut could_not_run = false;
    let mut report_error = |path: &std::path::Path, error: snapdoc::analyze::AnalyzeError| {
        let error = anyhow::Error::from(error);
        eprintln!(
            "snapdoc: error: cannot analyse {}: {}",
            path.display(),
            causes_once(&error)
        );
        could_not_run = true;
    };
    // Cases need every bundle open at once; past a handful (a fleet), each is read and closed in turn.
    const MAX_CASE_BUNDLES: usize = 16;
    if args.separate || args.bundles.len() == 1 || args.bundles.len() > MAX_CASE_BUNDLES {
        for path in &args.bundles {
            let analysed = snapdoc::bundle::Bundle::open(path)
                .map_err(snapdoc::analyze::AnalyzeError::from)
                .and_then(|mut bundle| snapdoc::analyze::analyze_open_bundle(&mut bundle, &rules));
            match analysed {
                Ok(analysis) => analyses.push(analysis),
                Err(error) => report_error(path, error),
            }
        }
    } else {
        let mut opened = Vec::new();
        for path in &args.bundles {
            match snapdoc::bundle::Bundle::open(path) {
                Ok(bundle) => opened.push(bundle),
                Err(error) => report_error(path, error.into()),
            }
        }
        for (path, analysed) in snapdoc::analyze::analyze_cases(opened, &rules) {
            match analysed {
                Ok(analysis) => analyses.push(analysis),
                Err(error) => report_error(&path, error),
            }
        }
    }
    if analyses.is_empty() {
        return Ok(Exit::Error);
    }
    let color = args.output.is_none() && color;
    let format = args.format.report_format(color);
    if matches!(format, report::ReportFormat::Json) {
        // Written as serialised, not held as one text beside the analyses (report::write_json).
        match &args.output {
            Some(path) => report::write_report_with(path, args.force, |file| {
                report::write_json(&analyses, file)
            })?,
            None => report::write_json(&analyses, out)?,
        }
    } else {
        let text = report::render_many(&analyses, format, args.analysis.templates.as_deref())?;
        match &args.output {
            Some(path) => report::write_report(path, &text, args.force)?,
            None => out.write_all(text.as_bytes())?,
        }
    }
    let exits = analyses
        .iter()
        .map(|a| Exit::of_analysis(a, args.analysis.fail_on.into()));
    Ok(if could_not_run {
        Exit::Error
    } else {
        Exit::worst(exits)
    })
}

/// An output that exists fails at once, before any bundle is read, not after a long analysis. Writing the
/// report still refuses to overwrite (a file made meanwhile is not clobbered either).
fn refuse_existing_outputs<'p>(
    mut outputs: impl Iterator<Item = &'p std::path::PathBuf>,
    force: bool,
) -> anyhow::Result<()> {
    match outputs.find(|path| !force && path.exists()) {
        Some(path) => anyhow::bail!(
            "{} already exists (use --force to overwrite it)",
            path.display()
        ),
        None => Ok(()),
    }
}

/// `snapdoc analyze --summary jsonl DIR…`: one line per bundle, on stdout or `-o`, and the fleet report.
/// Outputs are checked before any bundle is read, so an existing file fails at once, not after the fleet.
fn fleet_command(args: &AnalyzeArgs, rules: &RuleSet, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let report_format = match &args.fleet_report {
        Some(path) => match ReportFormat::from_extension(path) {
            Some(format @ (ReportFormat::Markdown | ReportFormat::Html)) => Some((path, format)),
            _ => anyhow::bail!(
                "--fleet-report {}: name a .md or .html file (the format is told by the extension)",
                path.display()
            ),
        },
        None => None,
    };
    refuse_existing_outputs(
        args.output.iter().chain(args.fleet_report.iter()),
        args.force,
    )?;
    let bundles = snapdoc::analyze::expand_fleet_inputs(&args.bundles);
    let exits = std::sync::Mutex::new(Vec::new());
    let record = |analysis: &snapdoc::analyze::Analysis| {
        let exit = Exit::of_analysis(analysis, args.analysis.fail_on.into());
        exits.lock().expect("no panic while recording").push(exit);
    };
    let started = std::time::Instant::now();
    let lines = snapdoc::analyze::summarize_fleet(&bundles, rules, args.jobs, &record);
    let mut text = String::new();
    for line in &lines {
        text.push_str(&serde_json::to_string(line).context("cannot write a summary line")?);
        text.push('\n');
        if let Some(error) = &line.error {
            eprintln!("snapdoc: error: cannot analyse {}: {error}", line.bundle);
        }
    }
    let unreadable = lines.iter().filter(|l| l.error.is_some()).count();
    match &args.output {
        Some(path) => report::write_report(path, &text, args.force)?,
        None => out.write_all(text.as_bytes())?,
    }
    if let Some((path, format)) = report_format {
        let compat: std::collections::BTreeSet<String> = rules
            .rules()
            .iter()
            .filter(|r| r.category == "compatibility")
            .map(|r| r.id.clone())
            .collect();
        let report =
            report::render_fleet(&lines, &compat, format, args.analysis.templates.as_deref())?;
        report::write_report(path, &report, args.force)?;
    }
    eprintln!(
        "snapdoc: {} bundle(s) summarised in {:.1}s, {unreadable} unreadable{}{}",
        lines.len(),
        started.elapsed().as_secs_f64(),
        args.output
            .as_ref()
            .map(|p| format!("; lines in {}", p.display()))
            .unwrap_or_default(),
        args.fleet_report
            .as_ref()
            .map(|p| format!("; fleet report in {}", p.display()))
            .unwrap_or_default(),
    );
    let exits = exits.into_inner().expect("no panic while recording");
    Ok(if unreadable > 0 || lines.is_empty() {
        Exit::Error
    } else {
        Exit::worst(exits)
    })
}

/// `snapdoc diff OLD NEW`: 0 when both bundles were read and compared (whatever changed), 2 when either
/// could not be read (named in the error).
fn diff_command(args: &DiffArgs, color: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let rules = RuleSet::load(&args.rules_dirs).context("cannot load the rules")?;
    let diff = snapdoc::diff::diff_bundles(&args.old, &args.new, &rules)?;
    let color = args.output.is_none() && color;
    let format = args.format.output().report_format(color);
    let text = report::render_diff(&diff, format, args.templates.as_deref())?;
    match &args.output {
        Some(path) => report::write_report(path, &text, args.force)?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(Exit::Clean)
}

/// After `run` / `demo`: the summary, then where everything is.
fn print_run_outcome(outcome: &RunOutcome, color: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    for error in &outcome.report_errors {
        eprintln!("snapdoc: error: a report was not written: {error}");
    }
    // Only the reports written: a format that failed is not listed.
    let reports: Vec<std::path::PathBuf> = [&outcome.html_report, &outcome.markdown_report]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    write!(
        out,
        "{}",
        report::terminal_summary(std::slice::from_ref(&outcome.analysis), color, &reports)
    )?;
    writeln!(out, "bundle: {}", outcome.bundle.display())?;
    Ok(())
}

/// `snapdoc probe`: the location from the flags or from a BSL's spec; `--dry-run` prints the in-cluster Job,
/// `--from-here` and `--agent` probe with the credentials file given; exit 1 when a check fails.
fn probe_command(
    runtime: &tokio::runtime::Runtime,
    args: &ProbeArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    use base64::Engine as _;
    use snapdoc::probe::{Agent, BslLocation, Location};
    let bsl: Option<BslLocation> = match &args.bsl {
        Some(name) => Some(runtime.block_on(async {
            let (client, _) = snapdoc::collect::client_from(&args.cluster.options()).await?;
            let found =
                snapdoc::probe::read_bsl(client, args.cluster.velero_namespace.as_deref(), name)
                    .await?;
            Ok::<_, anyhow::Error>(found)
        })?),
        None => None,
    };
    let mut config = std::collections::BTreeMap::new();
    for pair in &args.config {
        let Some((key, value)) = pair.split_once('=') else {
            anyhow::bail!("--config {pair:?} is not KEY=VALUE");
        };
        config.insert(key.to_string(), value.to_string());
    }
    let mut location = match &bsl {
        Some(found) => {
            let mut location = found.location.clone();
            for (key, value) in &config {
                location.set_config(key, value)?;
            }
            location
        }
        None => {
            let provider = args.provider.as_deref().unwrap_or("aws");
            let bucket = args.bucket.as_deref().unwrap_or_default();
            let prefix = args.prefix.as_deref().unwrap_or_default();
            Location::from_config(provider, bucket, prefix, &config, None)?.0
        }
    };
    if let Location::S3(s3) = &mut location {
        if let Some(url) = &args.s3_url {
            s3.s3_url = Some(url.clone());
        }
        if let Some(region) = &args.region {
            s3.region = Some(region.clone());
        }
        if let Some(algorithm) = &args.checksum_algorithm {
            s3.checksum_algorithm = Some(algorithm.clone());
        }
        s3.s3_force_path_style |= args.s3_force_path_style;
        s3.insecure_skip_tls_verify |= args.s3_insecure_skip_tls_verify;
    } else if args.s3_url.is_some()
        || args.region.is_some()
        || args.checksum_algorithm.is_some()
        || args.s3_force_path_style
        || args.s3_insecure_skip_tls_verify
    {
        anyhow::bail!(
            "--s3-url, --region, --checksum-algorithm, --s3-force-path-style and --s3-insecure-skip-tls-verify \
             are the AWS plugin's settings; provider {} takes its own with --config KEY=VALUE",
            location.provider()
        );
    }
    if let Some(path) = &args.s3_ca_cert {
        location.set_ca_cert(
            std::fs::read(path)
                .with_context(|| format!("cannot read --s3-ca-cert {}", path.display()))?,
        )?;
    }
    if let Some(b64) = &args.s3_ca_cert_base64 {
        location.set_ca_cert(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .context("--s3-ca-cert-base64 is not base64")?,
        )?;
    }
    if args.dry_run || (!args.from_here && !args.agent) {
        // The Job's location: the BSL's spec with the flags' overrides.
        let Some(mut found) = bsl else {
            anyhow::bail!(
                "the in-cluster probe needs --bsl NAME (or probe from this machine with --from-here)"
            );
        };
        if args.credentials_file.is_some() {
            anyhow::bail!(
                "--credentials-file is for --from-here: in the cluster the Job mounts the location's own secret"
            );
        }
        found.location = location;
        if let Some(profile) = &args.profile {
            found.profile = Some(profile.clone());
        }
        if !args.dry_run {
            return probe_in_cluster(runtime, args, &found, out);
        }
        // A host path / NFS location's Jobs depend on its nodes and Velero's uid, read from the cluster.
        let jobs = runtime.block_on(async {
            let (client, _) = snapdoc::collect::client_from(&args.cluster.options()).await?;
            Ok::<_, anyhow::Error>(snapdoc::probe::node_jobs(client, &found, &args.image).await?)
        })?;
        for (index, job) in jobs.iter().enumerate() {
            if index > 0 {
                writeln!(out, "---")?;
            }
            write!(out, "{}", serde_saphyr::to_string(job)?)?;
        }
        return Ok(Exit::Clean);
    }
    if let Location::LocalVolume(local) = &location {
        if !args.agent {
            return Err(
                snapdoc::probe::ProbeError::LocalVolumeFromHere(local.provider.clone()).into(),
            );
        }
        // In the probe's pod: the volume is mounted where the plugin mounts it in Velero's.
        let mount = local.mount_path();
        let result = snapdoc::probe::probe_local_volume(
            local,
            std::path::Path::new(&mount),
            Agent::InCluster,
        );
        return report_agent_result(&result, out);
    }
    let Some(credentials_file) = &args.credentials_file else {
        anyhow::bail!("--credentials-file is required to probe");
    };
    let profile = args
        .profile
        .as_deref()
        .or(bsl.as_ref().and_then(|b| b.profile.as_deref()));
    let credentials = location.credentials_from_file(credentials_file, profile)?;
    let agent = if args.agent {
        Agent::InCluster
    } else {
        Agent::FromHere
    };
    let probed = runtime.block_on(async {
        let interrupt = interrupt_on_signals()?;
        let stop = interrupt.wait();
        Ok::<_, anyhow::Error>(
            snapdoc::probe::probe_until(&location, &credentials, agent, stop).await?,
        )
    })?;
    let result = match probed {
        snapdoc::probe::Probed::Finished(result) => *result,
        snapdoc::probe::Probed::Stopped {
            by,
            probe_key,
            removed,
        } => {
            if removed {
                eprintln!(
                    "snapdoc: interrupted by {}: probe stopped; its object {probe_key} was deleted",
                    by.name
                );
            } else {
                eprintln!(
                    "snapdoc: interrupted by {}: probe stopped, and deleting its object {probe_key} failed: \
                     delete it, or Velero will find a foreign top-level directory",
                    by.name
                );
            }
            return Ok(Exit::Interrupted { signal: by.number });
        }
    };
    if args.agent {
        report_agent_result(&result, out)
    } else {
        print_probe(args.format, &result, out)
    }
}

/// The in-cluster agent's report: one JSON line on stdout and in the termination message.
fn report_agent_result(
    result: &snapdoc::probe::ProbeResult,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let line = serde_json::to_string(result)?;
    writeln!(out, "{line}")?;
    // Kubernetes' default terminationMessagePath; absent outside a pod, where there is nothing to write.
    let termination = std::path::Path::new("/dev/termination-log");
    if termination.exists() {
        std::fs::write(termination, &line)
            .with_context(|| format!("cannot write {}", termination.display()))?;
    }
    Ok(probe_exit(result))
}

fn probe_exit(result: &snapdoc::probe::ProbeResult) -> Exit {
    if result.passed() {
        Exit::Clean
    } else {
        Exit::Findings
    }
}

fn print_probe(
    format: ProbeFormat,
    result: &snapdoc::probe::ProbeResult,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match format {
        ProbeFormat::Text => write!(out, "{}", result.to_terminal())?,
        ProbeFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(result)?)?,
    }
    Ok(probe_exit(result))
}

/// `snapdoc probe --bsl NAME`: the Job in Velero's namespace, its result, the Job deleted (also on Ctrl-C).
fn probe_in_cluster(
    runtime: &tokio::runtime::Runtime,
    args: &ProbeArgs,
    bsl: &snapdoc::probe::BslLocation,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    use snapdoc::probe::InCluster;
    let ran = runtime.block_on(async {
        let (client, _) = snapdoc::collect::client_from(&args.cluster.options()).await?;
        let interrupt = interrupt_on_signals()?;
        let stop = interrupt.wait();
        Ok::<_, anyhow::Error>(
            snapdoc::probe::probe_in_cluster(client, bsl, &args.image, stop).await?,
        )
    })?;
    match ran {
        InCluster::Finished(result) => print_probe(args.format, &result, out),
        InCluster::Stopped { by, jobs, deleted } => {
            let namespace = &bsl.namespace;
            let named: Vec<String> = jobs
                .iter()
                .map(|job| format!("{namespace}/{job}"))
                .collect();
            let (noun, pods) = match jobs.len() {
                1 => ("Job", "its pod"),
                _ => ("Jobs", "their pods"),
            };
            if deleted {
                eprintln!(
                    "snapdoc: interrupted by {}: probe {noun} {} deleted with {pods} (the agent deletes its \
                     object when stopped)",
                    by.name,
                    named.join(", ")
                );
            } else {
                eprintln!(
                    "snapdoc: interrupted by {}: deleting probe {noun} {} failed: their ttlSecondsAfterFinished \
                     removes them once they end, or `kubectl delete job -n {namespace} {}`",
                    by.name,
                    named.join(", "),
                    jobs.join(" ")
                );
            }
            Ok(Exit::Interrupted { signal: by.number })
        }
    }
}
