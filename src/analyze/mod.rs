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
pub mod analysis;
pub mod engine;
pub mod environment;
pub mod error;
pub mod facts;
pub mod findings;
pub mod fleet;
mod options;
pub mod parallel;
pub mod readiness;
pub mod rules;
pub mod run;
pub mod status;
pub mod timeline;
pub mod verdicts;
pub mod versions;

pub use analysis::Analysis;
pub use error::AnalyzeError;
pub use findings::{Evidence, Finding, ObjectRef, Severity, Verdict};
pub use options::{AnalysisOptions, FailOn};
pub use run::{analyze_bundle, analyze_cases, analyze_open_bundle};
pub use status::{Exit, Status};
