//! Rules → findings. `findings` and `analysis` are the result types every report renders.
//!
//! - `rules`: rule files (YAML) → validated rules (docs/rules.md)
//! - `engine`: runs a rule set over a bundle: one pass per log for all log rules, object predicates, compat tables
//! - `facts`: derived objects (facts.cluster, facts.schedules, facts.volumes, facts.components) and versions
//! - `environment`: the environment table, the backups/restores table, volumes not backed up
//! - `readiness`: can I restore, what is not protected, what will fail next (also `facts.readiness`)
//! - `verdicts`: "backup X failed because …", from the findings on it
//! - `timeline`: what happened to a failed backup, merged by time
//! - `status`: the conclusion as a whole (failed … incomplete, healthy) and the exit code it means
//! - `run`: the whole stage as one call, `analyze_bundle` / `analyze_open_bundle`
//! - `fleet`: many bundles in parallel, one summary line each (`analyze --summary jsonl`)
//! - `memory`: how the analysis uses glibc's allocator (large blocks mapped alone, freed pages given back)
pub(crate) mod analysis;
pub(crate) mod engine;
pub(crate) mod environment;
pub(crate) mod error;
pub(crate) mod facts;
pub(crate) mod findings;
pub(crate) mod fleet;
pub(crate) mod memory;
mod options;
pub(crate) mod parallel;
pub(crate) mod readiness;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod timeline;
pub(crate) mod verdicts;
pub(crate) mod versions;

pub use analysis::{
    ANALYSIS_SCHEMA_VERSION, Analysis, BackupSummary, BundleInfo, ComponentInfo, Environment,
    NodeInfo, RuleRef, ServerSetting, StorageLocationInfo, Timeline, TimelineEntry, VolumeRef,
};
pub use engine::samples::run_samples;
pub use engine::{
    BLOCK_SIZE, EngineContext, EngineOutput, LogRun, LogScanner, run as run_engine,
    run_with as run_engine_with, sort_findings,
};
pub use error::{AnalyzeError, causes_once};
pub use facts::{BundleFacts, Schedule, gather as gather_facts};
pub use findings::{
    Evidence, Finding, LostVolume, MatchSpan, ObjectRef, Role, Severity, TargetDetail, Verdict,
};
pub use fleet::{
    FleetLine, expand_inputs as expand_fleet_inputs, line_of as fleet_line,
    summarize as summarize_fleet,
};
pub use options::{AnalysisOptions, FailOn};
pub use readiness::{Prediction, Readiness, Restorable};
pub use rules::explain::{explain as explain_rule, list_table as rules_table};
pub use rules::{Matcher, RuleError, RuleSet, SampleInput};
pub use run::{analyze_bundle, analyze_cases, analyze_open_bundle};
pub use status::{Exit, Status, fails};
pub use timeline::{MAX_ENTRIES as MAX_TIMELINE_ENTRIES, timelines};
pub use verdicts::{MAX_VERDICTS, verdicts, verdicts_at};
