//! Whole runs across the stages: `snapdoc run` (collect → analyze → report, the one command after a failed
//! snapshot) and `snapdoc demo` (the same against the built-in lab cluster, reached through the network like a
//! real cluster). Each run writes into a new folder `snapdoc-<cluster>-<timestamp>/` holding the bundle,
//! report.html and report.md, so a second run never touches the first one's files.
use std::path::{Path, PathBuf};

use crate::analyze::rules::RuleSet;
use crate::analyze::run::analyze_open_bundle;
use crate::analyze::{Analysis, AnalysisOptions, AnalyzeError, Exit};
use crate::bundle::{Bundle, BundleError};
use crate::collect::{self, ClusterOptions, CollectError, CollectOptions};
use crate::lab::{LabCluster, Scenario};
use crate::report::{self, ReportError, ReportFormat};

/// Why `snapdoc run` or `snapdoc demo` stopped, by stage.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The collection stopped.
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// The analysis could not run.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// The bundle could not be read back.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The demo's lab cluster did not start.
    #[error("lab cluster: {0}")]
    Lab(#[from] crate::lab::LabError),
    /// The run's folder or a file in it could not be written.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// What `snapdoc run` does: collect, analyse, and write its folder under `out_dir`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// What to collect.
    pub collect: CollectOptions,
    /// Rules, templates and the exit code policy.
    pub analysis: AnalysisOptions,
    /// The directory under which the run makes its own folder; `None`: the current directory.
    pub out_dir: Option<PathBuf>,
    /// `--probe`: probe each storage location in the cluster with a Job of this image (snapdoc's).
    pub probe_image: Option<String>,
}

/// What `snapdoc demo` runs against and where it writes.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The built-in lab scenario (`snapdoc lab list` names them).
    pub scenario: String,
    /// The directory under which each demo run makes its own folder.
    pub out_dir: PathBuf,
}

/// What a run wrote, and what it found.
#[derive(Debug)]
pub struct RunOutcome {
    /// The folder this run made (`snapdoc-<cluster>-<time>/`), holding the rest.
    pub folder: PathBuf,
    /// The collected bundle inside it.
    pub bundle: PathBuf,
    /// `report.html`, the report to open in a browser: none when its format failed (said in `report_errors`).
    pub html_report: Option<PathBuf>,
    /// `report.md`, the report to paste into an issue: none when its format failed.
    pub markdown_report: Option<PathBuf>,
    /// Why a report was not written.
    pub report_errors: Vec<ReportError>,
    /// The analysis the reports render.
    pub analysis: Analysis,
    /// Per --fail-on, and 2 when the analysis is incomplete or a report could not be written.
    pub exit: Exit,
}

/// `snapdoc run`: the cluster of the kubeconfig → bundle, analysis, reports.
pub async fn run(args: &RunOptions) -> Result<RunOutcome, PipelineError> {
    let out_dir = args.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let rules = RuleSet::load(&args.analysis.rules_dirs)?;
    let (client, cluster) = collect::client_from(&args.collect.cluster).await?;
    let stem = collect::default_output_name(&cluster, jiff::Timestamp::now());
    let stem = stem.trim_end_matches(".zip").to_string();
    collect_and_report(
        client,
        cluster,
        &args.collect,
        &args.analysis,
        &rules,
        RunFolder {
            parent: &out_dir,
            stem: &stem,
        },
        args.probe_image.as_deref(),
    )
    .await
}

/// `snapdoc demo`: starts the lab cluster with a built-in scenario, then does exactly what `run` does,
/// through a kubeconfig on disk and the network, as against a real cluster.
pub async fn demo(args: &DemoOptions) -> Result<RunOutcome, PipelineError> {
    let scenario = Scenario::builtin(&args.scenario)?;
    let lab = LabCluster::start(scenario).await?;
    let kubeconfig_dir = tempfile::tempdir().map_err(|e| io_error(Path::new("kubeconfig"), e))?;
    let kubeconfig = kubeconfig_dir.path().join("kubeconfig");
    lab.write_kubeconfig(&kubeconfig)?;
    let collect_options = CollectOptions {
        cluster: ClusterOptions {
            kubeconfig: Some(kubeconfig),
            ..ClusterOptions::default()
        },
        ..CollectOptions::default()
    };
    let rules = RuleSet::load(&[])?;
    let (client, cluster) = collect::client_from(&collect_options.cluster).await?;
    let stem = format!(
        "snapdoc-{}-{}",
        args.scenario,
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
    );
    let outcome = collect_and_report(
        client,
        cluster,
        &collect_options,
        &AnalysisOptions::default(),
        &rules,
        RunFolder {
            parent: &args.out_dir,
            stem: &stem,
        },
        None,
    )
    .await;
    lab.shutdown().await;
    outcome
}

async fn collect_and_report(
    client: kube::Client,
    cluster: crate::bundle::manifest::ClusterInfo,
    collect_options: &CollectOptions,
    analysis_options: &AnalysisOptions,
    rules: &RuleSet,
    folder: RunFolder<'_>,
    probe_image: Option<&str>,
) -> Result<RunOutcome, PipelineError> {
    let RunFolder {
        parent: out_dir,
        stem,
    } = folder;
    // Before the folder: a cluster that cannot be reached leaves nothing behind.
    collect::check_before_collecting(&client, &cluster, collect_options).await?;
    let folder = new_run_folder(out_dir, stem)?;
    let unfinished = RemoveIfEmpty(Some(folder.clone()));
    let bundle_path = folder.join(format!("{stem}.zip"));
    let collected =
        collect::collect(client.clone(), cluster, collect_options, &bundle_path).await?;
    unfinished.keep();
    let mut analysis = {
        let mut bundle = Bundle::open(&collected.path)?;
        analyze_open_bundle(&mut bundle, rules)?
    };
    if let Some(image) = probe_image {
        analysis.probes =
            crate::probe::probe_locations(client, &crate::probe::locations_of(&analysis), image)
                .await;
    }
    crate::bundle::writer::append_analysis(&collected.path, &analysis)?;
    let templates = analysis_options.templates.as_deref();
    // Each format on its own: one that fails (a broken template override, a full disk) leaves the other, and
    // the summary lists only what was written.
    let written = |format: ReportFormat, name: &str| {
        let path = folder.join(name);
        report::render(&analysis, format, templates)
            .and_then(|text| report::write_report(&path, &text, false))
            .map(|()| path)
    };
    let html_report = written(ReportFormat::Html, "report.html");
    let markdown_report = written(ReportFormat::Markdown, "report.md");
    let mut report_errors = Vec::new();
    let mut ok = |result: Result<PathBuf, ReportError>| match result {
        Ok(path) => Some(path),
        Err(error) => {
            report_errors.push(error);
            None
        }
    };
    let html_report = ok(html_report);
    let markdown_report = ok(markdown_report);
    let exit = if report_errors.is_empty() {
        Exit::of_analysis(&analysis, analysis_options.fail_on)
    } else {
        Exit::Error
    };
    Ok(RunOutcome {
        folder,
        bundle: collected.path,
        html_report,
        markdown_report,
        report_errors,
        analysis,
        exit,
    })
}

/// Where a run makes its folder: `parent/stem/`, holding `stem.zip`.
struct RunFolder<'a> {
    parent: &'a Path,
    stem: &'a str,
}

/// A new folder for one run. Two runs in the same second get `-2`, `-3` … rather than sharing a folder.
/// A run folder that a failed or interrupted collection left empty is removed, so no empty result is left
/// behind; one holding anything is never touched.
struct RemoveIfEmpty(Option<PathBuf>);

impl RemoveIfEmpty {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveIfEmpty {
    fn drop(&mut self) {
        if let Some(folder) = &self.0 {
            let _ = std::fs::remove_dir(folder);
        }
    }
}

fn new_run_folder(out_dir: &Path, stem: &str) -> Result<PathBuf, PipelineError> {
    std::fs::create_dir_all(out_dir).map_err(|e| io_error(out_dir, e))?;
    for attempt in 1..1000 {
        let name = if attempt == 1 {
            stem.to_string()
        } else {
            format!("{stem}-{attempt}")
        };
        let folder = out_dir.join(name);
        match std::fs::create_dir(&folder) {
            Ok(()) => return Ok(folder),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(&folder, e)),
        }
    }
    Err(io_error(
        out_dir,
        std::io::Error::other(format!("no free folder name for {stem}")),
    ))
}

fn io_error(path: &Path, source: std::io::Error) -> PipelineError {
    PipelineError::Io {
        path: path.to_path_buf(),
        source,
    }
}
