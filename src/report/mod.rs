//! Rendering of an analysis: HTML, Markdown, JSON, JUnit, terminal.
pub mod prometheus;
