//! Progress on stderr, only when stderr is a terminal (never in pipes, CI logs or tests).
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(super) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub(super) fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix:.bold} [{pos}/{len}] {wide_msg}")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    /// A new stage of `steps` steps.
    pub(super) fn stage(&self, name: &str, steps: usize) {
        self.bar.set_prefix(name.to_string());
        self.bar.set_position(0);
        self.bar.set_length(steps as u64);
        self.bar.set_message("");
    }

    /// One step of the stage done.
    pub(super) fn step(&self, what: &str) {
        self.bar.inc(1);
        self.bar.set_message(what.to_string());
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
