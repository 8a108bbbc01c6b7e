//! Every command and flag of snapdoc, in one place (also the source of shell completions and the man page).
// A flag's doc comment is its --help text, written for a terminal: `<cluster>` there is a placeholder, not an
// HTML tag.
#![allow(rustdoc::invalid_html_tags)]
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::analyze::AnalysisOptions;
use crate::check::CheckOptions;
use crate::collect::{ClusterOptions, CollectOptions, Since};
use crate::lab::scale::parse_size;
use crate::pipeline::{DemoOptions, RunOptions};
use crate::report::ReportFormat;

/// The exit codes every command shares (`analyze::Exit`), as `--help` shows them.
pub(crate) const EXIT_CODES: &str = "Exit codes:
  0  the analysis is complete and nothing reaches --fail-on (verify: the bundle matches its manifest)
  1  findings at or above --fail-on, or a cluster that proves Velero is not installed (not under never)
  2  snapdoc could not see or could not run: an incomplete analysis (Velero's objects refused, whether
     Velero is installed unknown) with nothing at or above --fail-on, even under --fail-on never; no
     bundle content; the cluster unreachable or the credentials rejected; a bad flag value or rules; a bundle
     that does not match its manifest or has a newer format
  130/143  collect or run stopped by SIGINT (Ctrl-C) / SIGTERM: partial bundle and temporary files removed";

/// The command line: global flags and the subcommand (its help text is `about` and `after_help` below).
#[derive(Debug, Parser)]
#[command(
    name = "snapdoc",
    version,
    about = "Tells you why your Velero / KOTS snapshot backup failed and how to fix it",
    long_about = None,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour on the terminal: auto (when stdout is a terminal and NO_COLOR is unset or empty), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// How log lines on stderr look: text for a person, json (one object per line) for a log collector.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `--color`: when the terminal output is coloured.
// The values are undocumented on purpose: a doc comment on one would print a line per value in --help.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Decided once for the whole run: `auto` colours a terminal unless NO_COLOR is set (<https://no-color.org>).
    pub fn enabled(self, stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Gather Velero, KOTS and cluster state into one zip support bundle.
    Collect(CollectArgs),
    /// Analyse one or more bundles (snapdoc zip or directory) and report findings.
    Analyze(AnalyzeArgs),
    /// What changed between two bundles of one cluster (the last good day and today, before and after an
    /// upgrade), the likeliest to break backups first, each change linked to the rules it may explain.
    Diff(DiffArgs),
    /// Collect, analyse and write report.html and report.md beside the bundle: the one command after a failed snapshot.
    Run(RunArgs),
    /// Health check for a CronJob or a workstation: collect (no archive unless --bundle), analyse, print the JSON
    /// result or a summary, write Prometheus textfile metrics; exit 0 / 1 per --fail-on, 2 when it could not run.
    Check(CheckArgs),
    /// Run snapdoc against the built-in lab cluster scenario and write its reports.
    Demo(DemoArgs),
    /// Check a bundle's entries against its manifest (size and sha256).
    Verify(VerifyArgs),
    /// Inspect and test rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The lab cluster: a loopback Kubernetes API serving a scenario.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Print the completion script for a shell (e.g. `source <(snapdoc completions bash)`).
    Completions(CompletionsArgs),
    /// Write the man pages: snapdoc(1) and one per subcommand, such as snapdoc-check(1).
    Man(ManArgs),
    /// Prove a backup storage location works: list its prefix as Velero does, write, read back and delete a 1 KiB
    /// object, write with the AWS plugin's checksum headers, measure clock skew and latency; each failure named by
    /// its catalog rule. Exit 1 when a check fails.
    Probe(ProbeArgs),
}

/// `snapdoc probe`.
#[derive(Debug, Args, Clone)]
/// Without --from-here, --dry-run or --agent: a Job in Velero's namespace probes --bsl with the location's own
/// credentials (the Role in deploy/manifests/snapdoc-probe-role.yaml), and is deleted afterwards. A host path / NFS
/// location (replicated.com/hostpath, replicated.com/nfs) is probed that way only: one Job per node that hosts it.
#[command(group(clap::ArgGroup::new("mode").args(["from_here", "dry_run", "agent"])))]
pub struct ProbeArgs {
    /// Run the checks from this machine with the credentials of --credentials-file (snapdoc never reads the
    /// location's secret).
    #[arg(long)]
    pub from_here: bool,
    /// Print the Job that would probe --bsl inside the cluster (in Velero's namespace, snapdoc's image, the
    /// location's credentials mounted as Velero mounts them) instead of probing.
    #[arg(long, requires = "bsl")]
    pub dry_run: bool,
    /// The image of that Job.
    #[arg(long, default_value = concat!("snapdoc:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// Run as the in-cluster agent: the result as one JSON line on stdout and in the termination message.
    #[arg(long, hide = true)]
    pub agent: bool,
    /// Take provider, bucket, prefix and config from this BackupStorageLocation (its spec only); the flags
    /// below override its s3Url, region, caCert and checksumAlgorithm, e.g. with an address reachable from here.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["bucket", "prefix", "provider"])]
    pub bsl: Option<String>,
    /// The location's provider: aws or velero.io/aws (S3 and S3-compatible stores), azure or velero.io/azure
    /// (Azure Blob), gcp or velero.io/gcp (Google Cloud Storage). Default aws. (replicated.com/hostpath and
    /// replicated.com/nfs locations are probed in the cluster only, with --bsl.)
    #[arg(long)]
    pub provider: Option<String>,
    /// A spec.config key of the location, as its plugin reads it, e.g. storageAccount=acct or
    /// storageAccountURI=https://acct.blob.core.windows.net (Azure), storeEndpoint=URL (GCP); with --bsl it
    /// overrides the location's own. Repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// The bucket (spec.objectStorage.bucket).
    #[arg(long, required_unless_present = "bsl")]
    pub bucket: Option<String>,
    /// The prefix (spec.objectStorage.prefix).
    #[arg(long)]
    pub prefix: Option<String>,
    /// config.region (default us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// config.s3Url: the endpoint of an S3-compatible store.
    #[arg(long, value_name = "URL")]
    pub s3_url: Option<String>,
    /// config.s3ForcePathStyle.
    #[arg(long)]
    pub s3_force_path_style: bool,
    /// config.insecureSkipTLSVerify: the store's certificate is not verified (the flags without `s3-` are the
    /// Kubernetes API's).
    #[arg(long)]
    pub s3_insecure_skip_tls_verify: bool,
    /// A PEM file to trust besides the system's roots for the store (the decoded spec.objectStorage.caCert; S3
    /// and Azure: the GCP plugin reads none).
    #[arg(long, value_name = "FILE")]
    pub s3_ca_cert: Option<PathBuf>,
    /// The same PEM, base64-encoded as spec.objectStorage.caCert holds it (how the in-cluster Job passes it).
    #[arg(
        long,
        value_name = "BASE64",
        hide = true,
        conflicts_with = "s3_ca_cert"
    )]
    pub s3_ca_cert_base64: Option<String>,
    /// config.checksumAlgorithm: absent means the plugin's default since 1.9.1 (CRC32); "" means none.
    #[arg(long, value_name = "ALGORITHM")]
    pub checksum_algorithm: Option<String>,
    /// The credentials file of the location's plugin, the format of the `cloud` key of Velero's credentials
    /// secret: an AWS shared credentials file, the Azure plugin's KEY=VALUE file, or a GCP service-account key
    /// (required with --from-here; a host path / NFS location takes none and is probed in the cluster only).
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,
    /// The profile (section) of the credentials file (default: the location's config.profile, then
    /// `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// terminal text or the JSON result.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    pub format: ProbeFormat,
    /// How to reach the cluster (for --bsl only).
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `probe --format`.
// The values are undocumented on purpose: a doc comment on one would print a line per value in --help.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProbeFormat {
    #[default]
    Text,
    Json,
}

/// `snapdoc completions SHELL`.
#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    // A doc comment here would become the argument's help text, which has none.
    #[allow(missing_docs)]
    pub shell: clap_complete::Shell,
}

/// `snapdoc man [SUBCOMMAND…]`.
#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// Write every page (snapdoc.1, snapdoc-check.1, …) into this directory instead of printing one page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// The page to print: a subcommand such as `check` or `lab serve` (default: the main page).
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "out_dir")]
    pub page: Vec<String>,
}

/// How to reach the cluster: as kubectl does.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster). Read by the
    /// collector, not as this flag's default, so `KUBECONFIG=` set but empty falls back as kubectl does.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace Velero runs in (default: found by the velero deployment's labels).
    #[arg(long, short = 'n', visible_alias = "namespace")]
    pub velero_namespace: Option<String>,
    /// Proxy, TLS and timeout flags of the connection.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

impl ClusterArgs {
    /// The collector's own description of how to reach the cluster.
    pub fn options(&self) -> ClusterOptions {
        ClusterOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            velero_namespace: self.velero_namespace.clone(),
            connection: self.connection.overrides(),
        }
    }
}

/// kubectl's connection flags, with kubectl's names and meanings.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// The address and port of the Kubernetes API server (overrides the kubeconfig's).
    #[arg(short = 's', long, value_name = "URL")]
    pub server: Option<http::Uri>,
    /// Bearer token for authentication to the API server (replaces the kubeconfig user's credentials).
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Username to impersonate for the operation.
    #[arg(long = "as", value_name = "USER")]
    pub(crate) impersonate_user: Option<String>,
    /// Group to impersonate for the operation (repeat for several groups).
    #[arg(long = "as-group", value_name = "GROUP")]
    pub(crate) impersonate_groups: Vec<String>,
    /// Do not check the server's certificate: the connection can then be intercepted.
    #[arg(long)]
    pub(crate) insecure_skip_tls_verify: bool,
    /// How long to wait for one server request (e.g. 30s, 2m; a bare number is seconds; 0: no limit).
    #[arg(long, value_name = "DURATION", value_parser = crate::collect::parse_request_timeout)]
    pub request_timeout: Option<std::time::Duration>,
}

impl ConnectionArgs {
    /// The overrides the collector lays over the kubeconfig.
    pub fn overrides(&self) -> crate::collect::ConnectionOverrides {
        crate::collect::ConnectionOverrides {
            server: self.server.clone(),
            token: self.token.clone(),
            impersonate_user: self.impersonate_user.clone(),
            impersonate_groups: self.impersonate_groups.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            request_timeout: crate::collect::request_timeout(self.request_timeout),
        }
    }
}

/// The collection flags `collect`, `run` and `check` share; their defaults are the collector's
/// ([`CollectOptions::default`]).
#[derive(Debug, Args, Clone)]
pub struct CollectFlags {
    /// How to reach the cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Only logs and backups newer than this (e.g. 24h, 7d, 1h30m); log lines of a failed backup's or
    /// restore's time window are kept even when older.
    #[arg(long, default_value = crate::collect::DEFAULT_SINCE)]
    pub since: Since,
    /// Most bytes kept of each container log (the newest are kept); the lines of failed backups' and
    /// restores' time windows are kept besides, up to as many bytes again.
    #[arg(long, default_value_t = crate::collect::DEFAULT_MAX_LOG_BYTES)]
    pub max_log_bytes: u64,
    /// Focus on these backups (their logs and results are always fetched).
    #[arg(long = "backup", value_name = "NAME")]
    pub backups: Vec<String>,
    /// Focus on these restores.
    #[arg(long = "restore", value_name = "NAME")]
    pub restores: Vec<String>,
    /// How many of the most recent backups / restores get their logs fetched (besides failed ones).
    #[arg(long, default_value_t = crate::collect::DEFAULT_RECENT)]
    pub recent: usize,
    /// Seconds to wait for Velero to process a DownloadRequest.
    #[arg(long, default_value_t = crate::collect::DEFAULT_DOWNLOAD_TIMEOUT_SECONDS)]
    pub download_timeout: u64,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Do not look Velero's credential secrets up at all, not even their metadata: for a role without `get`
    /// on secrets, such as the shipped CronJob's. Their key names still come from what references them.
    #[arg(long, alias = "skip-secret-key-names")]
    pub skip_secrets: bool,
    /// Delete each DownloadRequest once its log or results are read (the role needs `delete` on
    /// downloadrequests). By default they are left to Velero, which removes them when they expire.
    #[arg(long)]
    pub delete_download_requests: bool,
    /// Leave DownloadRequests to Velero: the default, accepted for earlier command lines.
    #[arg(long, hide = true, conflicts_with = "delete_download_requests")]
    pub(crate) keep_download_requests: bool,
}

impl CollectFlags {
    /// The collector's options, converted once where the flags enter.
    pub fn options(&self) -> CollectOptions {
        CollectOptions {
            cluster: self.cluster.options(),
            since: self.since.clone(),
            max_log_bytes: self.max_log_bytes,
            backups: self.backups.clone(),
            restores: self.restores.clone(),
            recent: self.recent,
            download_timeout: self.download_timeout,
            force: self.force,
            skip_secrets: self.skip_secrets,
            delete_download_requests: self.delete_download_requests,
        }
    }
}

/// `snapdoc collect`.
#[derive(Debug, Args, Clone)]
pub struct CollectArgs {
    /// The collection flags.
    #[command(flatten)]
    pub options: CollectFlags,
    /// Where to write the bundle (default: snapdoc-<cluster>-<timestamp>.zip in the current directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `--log-format`: how log lines on stderr look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines, coloured only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, message and fields).
    Json,
}

/// `analyze --format`: the report format.
// The values are undocumented on purpose: a doc comment on one would print a line per value in --help.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// The terminal summary (`summary` names it as `check --format` does).
    #[default]
    #[value(alias = "summary")]
    Text,
    Json,
    Md,
    Html,
    Junit,
}

impl OutputFormat {
    /// The report format for `--format`; `color` applies to the text format only.
    pub fn report_format(self, color: bool) -> ReportFormat {
        match self {
            OutputFormat::Text => ReportFormat::Terminal { color },
            OutputFormat::Json => ReportFormat::Json,
            OutputFormat::Md => ReportFormat::Markdown,
            OutputFormat::Html => ReportFormat::Html,
            OutputFormat::Junit => ReportFormat::Junit,
        }
    }
}

/// `--fail-on`: the severity from which findings fail the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FailOn {
    /// Exit 1 when any warn or fail finding is present.
    Warn,
    /// Exit 1 when any fail finding is present.
    #[default]
    Fail,
    /// Exit 0 whatever the findings; an incomplete analysis still exits 2.
    Never,
}

impl From<FailOn> for crate::analyze::FailOn {
    fn from(flag: FailOn) -> Self {
        match flag {
            FailOn::Warn => crate::analyze::FailOn::Warn,
            FailOn::Fail => crate::analyze::FailOn::Fail,
            FailOn::Never => crate::analyze::FailOn::Never,
        }
    }
}

/// The analysis flags `analyze`, `run` and `check` share.
#[derive(Debug, Args, Clone, Default)]
pub struct AnalysisFlags {
    /// Extra rules directory (added to the built-in rules; ids may not collide).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dirs: Vec<PathBuf>,
    /// Report templates directory overriding the built-in templates.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Exit code policy: 0 when no finding at or above this severity, 1 otherwise, 2 when the analysis could not
    /// run or is incomplete (snapdoc could not see what the checks need) with nothing at or above it.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
}

impl AnalysisFlags {
    /// The analysis's options, converted once where the flags enter.
    pub fn options(&self) -> AnalysisOptions {
        AnalysisOptions {
            rules_dirs: self.rules_dirs.clone(),
            templates: self.templates.clone(),
            fail_on: self.fail_on.into(),
        }
    }
}

/// `snapdoc analyze BUNDLE…`.
#[derive(Debug, Args, Clone)]
pub struct AnalyzeArgs {
    /// Bundle files or directories.
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
    // A doc comment here would become `--format`'s help text, which has none (the values say it).
    #[allow(missing_docs)]
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the report here instead of stdout (never overwrites without --force).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// One analysis per bundle, even for bundles of the same cluster (by default those are read as one case:
    /// the backup log of a velero debug bundle serves the verdicts of a KOTS bundle).
    #[arg(long)]
    pub separate: bool,
    /// A fleet: one summary line per bundle (cluster, versions, status, top cause, rule ids) instead of a
    /// report, each bundle analysed on its own. A folder that is not a bundle is read as a folder of bundles.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with_all = ["format", "separate"])]
    pub summary: Option<SummaryFormat>,
    /// With --summary: also write the fleet report (top causes, versions against the compatibility rules)
    /// to FILE, Markdown or HTML by its extension (.md, .html); never overwritten without --force.
    #[arg(long, value_name = "FILE", requires = "summary")]
    pub fleet_report: Option<PathBuf>,
    /// With --summary: bundles analysed at once (0: one per core; never more than the cores).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "summary")]
    pub jobs: usize,
    /// The rules, templates and `--fail-on`.
    #[command(flatten)]
    pub analysis: AnalysisFlags,
}

/// `analyze --summary`: the fleet summary's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// JSON Lines: one JSON object per bundle and line (docs/report-schema.json `$defs/fleetLine`).
    Jsonl,
}

/// `diff --format`: the diff's format.
// The values are undocumented on purpose: a doc comment on one would print a line per value in --help.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    #[default]
    Text,
    Json,
    Md,
    Html,
}

impl DiffFormat {
    /// The report format of the same name (`text` is the terminal's).
    pub fn output(self) -> OutputFormat {
        match self {
            DiffFormat::Text => OutputFormat::Text,
            DiffFormat::Json => OutputFormat::Json,
            DiffFormat::Md => OutputFormat::Md,
            DiffFormat::Html => OutputFormat::Html,
        }
    }
}

/// `snapdoc diff OLD NEW`.
#[derive(Debug, Args, Clone)]
pub struct DiffArgs {
    /// The earlier bundle (any format `analyze` reads).
    pub old: PathBuf,
    /// The later bundle of the same cluster.
    pub new: PathBuf,
    // A doc comment here would become `--format`'s help text, which has none (the values say it).
    #[allow(missing_docs)]
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Write the diff here instead of stdout (never overwrites without --force).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Extra rules directory (its rules are linked to changes too).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dirs: Vec<PathBuf>,
    /// Report templates directory overriding the built-in diff.md / diff.html templates.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

/// `snapdoc run`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The collection flags.
    #[command(flatten)]
    pub collect: CollectFlags,
    /// The rules, templates and `--fail-on`.
    #[command(flatten)]
    pub analysis: AnalysisFlags,
    /// Directory under which the run makes its own folder: bundle, report.html, report.md (default: current directory).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// The storage locations' probe.
    #[command(flatten)]
    pub probe: ProbeFlags,
}

/// `--probe` of `run` and `check`.
#[derive(Debug, Args, Clone)]
pub struct ProbeFlags {
    /// Also probe each storage location from inside the cluster (`snapdoc probe --bsl NAME` for each: a Job in
    /// Velero's namespace, deleted afterwards; the Role in deploy/manifests/snapdoc-probe-role.yaml) and put
    /// the results in the reports and metrics.
    #[arg(long)]
    pub probe: bool,
    /// The image of the probe's Jobs.
    #[arg(long, value_name = "IMAGE", default_value = concat!("snapdoc:", env!("CARGO_PKG_VERSION")), requires = "probe")]
    pub probe_image: String,
}

impl ProbeFlags {
    fn image(&self) -> Option<String> {
        self.probe.then(|| self.probe_image.clone())
    }
}

impl RunArgs {
    /// The run's options, converted once where the flags enter.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            collect: self.collect.options(),
            analysis: self.analysis.options(),
            out_dir: self.out_dir.clone(),
            probe_image: self.probe.image(),
        }
    }
}

/// `check --format`: what a check prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum CheckFormat {
    /// The whole analysis as JSON (the report's versioned schema): for a CronJob's log and for automation.
    #[default]
    Json,
    /// One screen for a person: verdicts and findings (`text` names it as `analyze --format` does).
    #[value(alias = "text")]
    Summary,
}

impl From<CheckFormat> for crate::check::CheckFormat {
    fn from(flag: CheckFormat) -> Self {
        match flag {
            CheckFormat::Json => crate::check::CheckFormat::Json,
            CheckFormat::Summary => crate::check::CheckFormat::Summary,
        }
    }
}

/// `snapdoc check`.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// The collection flags.
    #[command(flatten)]
    pub collect: CollectFlags,
    /// The rules, templates and `--fail-on`.
    #[command(flatten)]
    pub analysis: AnalysisFlags,
    /// Keep the collected bundle at FILE (default: a temporary file, removed after the analysis). A bundle
    /// already there is rotated to NAME.1.zip, NAME.2.zip …, up to --keep-bundles.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// With --bundle: how many bundles to keep, the newest included (1: each run replaces the last).
    #[arg(long, value_name = "N", default_value_t = crate::check::DEFAULT_KEEP_BUNDLES, requires = "bundle")]
    pub(crate) keep_bundles: usize,
    // A doc comment here would become `--format`'s help text, which has none (the values say it).
    #[allow(missing_docs)]
    #[arg(long, value_enum, default_value_t = CheckFormat::Json)]
    pub format: CheckFormat,
    /// Write Prometheus text-format metrics to FILE (replaced atomically; for node-exporter's textfile
    /// collector, name it *.prom in its directory).
    #[arg(long, value_name = "FILE")]
    pub(crate) prometheus_textfile: Option<PathBuf>,
    /// Push the same metrics to a Prometheus Pushgateway (its base URL, e.g. http://pushgateway:9091), as the
    /// group job="snapdoc", cluster="<--cluster-name>"; each push replaces that cluster's last one.
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
    /// The cluster's name in the metrics (snapdoc_info's cluster label, the Pushgateway group) (default: the
    /// kubeconfig context, else the API server's host). Set it in-cluster and in fleets.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster_name: Option<String>,
    /// The storage locations' probe.
    #[command(flatten)]
    pub probe: ProbeFlags,
}

impl CheckArgs {
    /// The check's options, converted once where the flags enter.
    pub fn options(&self) -> CheckOptions {
        CheckOptions {
            collect: self.collect.options(),
            analysis: self.analysis.options(),
            bundle: self.bundle.clone(),
            keep_bundles: self.keep_bundles,
            format: self.format.into(),
            prometheus_textfile: self.prometheus_textfile.clone(),
            pushgateway: self.pushgateway.clone(),
            cluster_name: self.cluster_name.clone(),
            probe_image: self.probe.image(),
        }
    }
}

/// `snapdoc demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Built-in scenario to run against.
    #[arg(long, default_value = "partially-failed-fsb")]
    pub scenario: String,
    /// Directory under which each demo run makes its own folder (bundle, report.html, report.md).
    #[arg(long, value_name = "DIR", default_value = "snapdoc-demo")]
    pub out_dir: PathBuf,
}

impl DemoArgs {
    /// The demo's options, converted once where the flags enter.
    pub fn options(&self) -> DemoOptions {
        DemoOptions {
            scenario: self.scenario.clone(),
            out_dir: self.out_dir.clone(),
        }
    }
}

/// `snapdoc verify BUNDLE`.
#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    // A doc comment here would become the argument's help text, which has none.
    #[allow(missing_docs)]
    pub bundle: PathBuf,
}

/// `snapdoc rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules (built-in and --rules).
    List {
        // A doc comment here would become `--rules`' help text, which has none.
        #[allow(missing_docs)]
        #[arg(long = "rules", value_name = "DIR")]
        rules_dirs: Vec<PathBuf>,
    },
    /// Show one rule in full.
    Explain {
        // A doc comment here would become the argument's help text, which has none.
        #[allow(missing_docs)]
        id: String,
        // A doc comment here would become `--rules`' help text, which has none.
        #[allow(missing_docs)]
        #[arg(long = "rules", value_name = "DIR")]
        rules_dirs: Vec<PathBuf>,
    },
    /// Validate a rules directory (schema, regexes, unique ids).
    // `dir`: a doc comment would become the argument's help text, which has none.
    #[allow(missing_docs)]
    Lint { dir: PathBuf },
    /// Run the match / no_match samples of every rule in a directory.
    // `dir`: a doc comment would become the argument's help text, which has none.
    #[allow(missing_docs)]
    Test { dir: PathBuf },
}

/// `snapdoc lab …`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Serve a scenario, or a bundle read-only, on loopback and write a kubeconfig for kubectl.
    Serve(LabServeArgs),
    /// Write a scale scenario for benchmarks (thousands of backups, gigabytes of logs) into a new folder.
    Scale(LabScaleArgs),
}

/// `snapdoc lab scale`.
#[derive(Debug, Args, Clone)]
pub struct LabScaleArgs {
    /// The scenario folder to create (must be empty or absent); serve it with `lab serve --scenario DIR`.
    #[arg(long)]
    pub out: PathBuf,
    /// Velero server and node-agent logs in all (e.g. 64MiB, 256MiB, 1GiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub log_size: u64,
    // A doc comment here would become `--backups`' help text, which has none.
    #[allow(missing_docs)]
    #[arg(long, default_value_t = 5_000)]
    pub backups: usize,
    // A doc comment here would become `--pod-volume-backups`' help text, which has none.
    #[allow(missing_docs)]
    #[arg(long, default_value_t = 20_000)]
    pub pod_volume_backups: usize,
    /// Pods in the cluster: the velero server, one node-agent per node, the rest applications.
    #[arg(long, default_value_t = 200)]
    pub pods: usize,
    // A doc comment here would become `--nodes`' help text, which has none.
    #[allow(missing_docs)]
    #[arg(long, default_value_t = 20)]
    pub nodes: usize,
    /// Backups (the newest) with a log and results in the object store.
    #[arg(long, default_value_t = 200)]
    pub backup_logs: usize,
    /// Size of each backup log.
    #[arg(long, default_value = "256KiB", value_parser = parse_size)]
    pub backup_log_size: u64,
    /// Seed of the generated names and numbers.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// `snapdoc lab serve`.
#[derive(Debug, Args, Clone)]
#[command(group(clap::ArgGroup::new("source").required(true)))]
pub struct LabServeArgs {
    /// Scenario directory (tests/scenarios/<name>) or the name of a built-in scenario.
    #[arg(long, group = "source")]
    pub scenario: Option<String>,
    /// A bundle to serve read-only instead (snapdoc zip or directory, troubleshoot support bundle,
    /// velero debug bundle): kubectl get, describe and logs read what it holds.
    #[arg(long, group = "source")]
    pub bundle: Option<PathBuf>,
    /// Where to write the kubeconfig (default: print it on stdout).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// API port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

/// The file name kubectl looks for on PATH to run `kubectl snapdoc`.
pub(crate) const KUBECTL_PLUGIN_NAME: &str = "kubectl-snapdoc";

/// How the program names itself in usage, help and completions: `kubectl snapdoc` when run as the kubectl
/// plugin (a binary or link named `kubectl-snapdoc`), `snapdoc` otherwise.
pub(crate) fn program_name(argv0: Option<&OsString>) -> &'static str {
    let stem = argv0.and_then(|arg| Path::new(arg).file_stem());
    if stem.is_some_and(|stem| stem == KUBECTL_PLUGIN_NAME) {
        "kubectl snapdoc"
    } else {
        "snapdoc"
    }
}

/// `-V`: the version and the commit.
pub(crate) const SHORT_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SNAPDOC_COMMIT"),
    ")"
);

/// `--version`: the commit, the built-in rules and the bundle format.
pub(crate) fn long_version() -> String {
    let rules = crate::analyze::rules::RuleSet::load(&[])
        .map(|rules| rules.rules().len().to_string())
        .unwrap_or_else(|error| format!("cannot be loaded ({error})"));
    format!(
        "{SHORT_VERSION}\nbuilt-in rules: {rules}\nbundle format version: {}",
        crate::bundle::manifest::FORMAT_VERSION
    )
}

/// The clap command as this process presents itself (see [`program_name`]); the version text, which loads
/// the rules, only when `--version` is asked for.
pub(crate) fn command_for(args: &[OsString]) -> clap::Command {
    let name = program_name(args.first());
    let command = Cli::command()
        .bin_name(name)
        .display_name(name)
        .version(SHORT_VERSION);
    if args.iter().skip(1).any(|arg| arg == "--version") {
        command.long_version(long_version())
    } else {
        command
    }
}

/// Parses the arguments; on a usage error, `--help` or `--version`, prints and exits as clap does.
pub fn parse_from(args: Vec<OsString>) -> Cli {
    let matches = command_for(&args).get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

/// `shell`'s completion script. Built in memory: clap_complete panics on a write error, and stdout may be
/// a closed pipe.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "snapdoc", &mut script);
    script
}

/// The man page of one (sub)command, named by its path below `snapdoc` (empty: the main page).
pub fn write_man_page(path: &[String], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    // Built, every subcommand knows its page name (snapdoc-lab-serve), as in `generate_to`.
    let mut page = Cli::command().disable_help_subcommand(true);
    page.build();
    for part in path {
        let parent = page.get_display_name().unwrap_or("snapdoc").to_string();
        page = page.find_subcommand(part).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{parent} has no subcommand `{part}`"),
            )
        })?;
    }
    clap_mangen::Man::new(page).render(out)
}

/// Writes snapdoc.1 and a page per subcommand (snapdoc-check.1, snapdoc-lab-serve.1, …) into `dir`.
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(Cli::command(), dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No flag given, the command line asks for exactly what the library does by default.
    #[test]
    fn flag_defaults_are_the_librarys() {
        let Command::Collect(collect) = Cli::parse_from(["snapdoc", "collect"]).command else {
            panic!("collect parses as collect");
        };
        assert_eq!(collect.options.options(), CollectOptions::default());
        let Command::Check(check) = Cli::parse_from(["snapdoc", "check"]).command else {
            panic!("check parses as check");
        };
        let options = check.options();
        assert_eq!(options.analysis, AnalysisOptions::default());
        assert_eq!(options.format, crate::check::CheckFormat::default());
        let defaults = CollectOptions::default();
        assert_eq!(defaults.since.as_str(), "72h");
        assert_eq!(defaults.max_log_bytes, 20 * 1024 * 1024);
        assert_eq!((defaults.recent, defaults.download_timeout), (10, 30));
    }

    #[test]
    fn summary_and_text_name_the_same_format_in_every_command() {
        let analyze = Cli::try_parse_from(["snapdoc", "analyze", "b.zip", "--format", "summary"]);
        assert!(matches!(
            analyze.unwrap().command,
            Command::Analyze(AnalyzeArgs {
                format: OutputFormat::Text,
                ..
            })
        ));
        let check = Cli::try_parse_from(["snapdoc", "check", "--format", "text"]);
        assert!(matches!(
            check.unwrap().command,
            Command::Check(CheckArgs {
                format: CheckFormat::Summary,
                ..
            })
        ));
    }
}
