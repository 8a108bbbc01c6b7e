//! Rules → findings. `findings` and `analysis` are the result types every report renders.
pub mod analysis;
pub mod findings;

pub use analysis::Analysis;
pub use findings::{Evidence, Finding, ObjectRef, Severity, Verdict};
