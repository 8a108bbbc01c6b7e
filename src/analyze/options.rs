//! What an analysis is asked to do, as the library's own types: the command line fills them once from its
//! flags (src/cli.rs), any other caller builds them directly.
use std::path::PathBuf;

/// The exit code policy: which findings make a command end with 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Exit 1 when any warn or fail finding is present.
    Warn,
    /// Exit 1 when any fail finding is present.
    #[default]
    Fail,
    /// Exit 0 whatever the findings; an incomplete analysis still exits 2.
    Never,
}

/// Where the rules and templates come from, and the exit code policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalysisOptions {
    /// Extra rules directories, added to the built-in rules (ids may not collide).
    pub rules_dirs: Vec<PathBuf>,
    /// A report templates directory overriding the built-in templates.
    pub templates: Option<PathBuf>,
    /// Which findings make the exit code 1.
    pub fail_on: FailOn,
}
