use std::path::PathBuf;

use crate::bundle::BundleError;

/// Errors of the analyze stage: a bundle that cannot be read, or rules that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The bundle could not be opened or an entry read.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A rule file that does not load: `file:line: message`.
    #[error("{file}:{line}: {message}", file = file.display())]
    Rule {
        /// The rule file.
        file: PathBuf,
        /// The line in it.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Several rule files failed; each line is one `file:line: message`.
    #[error("{} rule error(s):\n{}", .0.len(), .0.join("\n"))]
    Rules(Vec<String>),
}

/// The error and its causes joined by `: `, each said once: a cause its parent's message already quotes
/// (`{path}: {source}` errors) is not repeated. For messages written where stderr's are (a JSON field, a
/// fleet's summary line).
pub fn causes_once(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let message = current.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = current.source();
    }
    text
}
