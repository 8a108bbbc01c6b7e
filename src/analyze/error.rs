use std::path::PathBuf;

use crate::bundle::BundleError;

/// Errors of the analyze stage: a bundle that cannot be read, or rules that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A rule file that does not load: `file:line: message`.
    #[error("{file}:{line}: {message}", file = file.display())]
    Rule {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// Several rule files failed; each line is one `file:line: message`.
    #[error("{} rule error(s):\n{}", .0.len(), .0.join("\n"))]
    Rules(Vec<String>),
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}
