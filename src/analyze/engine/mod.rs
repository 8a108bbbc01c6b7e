//! Runs a rule set over a bundle.
