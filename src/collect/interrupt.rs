//! Stopping a collection on SIGINT / SIGTERM without losing what it collected. The binary's signal handler
//! sets an [`Interrupter`]; the run watches the matching [`Interrupt`] between and during its stages. Stopped
//! in the first stage (nothing of use yet), it removes its partial zip; stopped later, it finishes the bundle
//! with what it has and marks it interrupted in the manifest (`interrupted: {signal, stage}`). Either way its
//! spool folder in TMPDIR is removed, and the DownloadRequests it created are deleted if
//! `--delete-download-requests` was given (else left for Velero to expire, as after a normal run).
use tokio::sync::watch;

/// A signal that stops the run: its number (for the exit code, 128 + it) and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    /// The signal's number (2, 15).
    pub number: u8,
    /// Its name as shells print it (`SIGINT`).
    pub name: &'static str,
}

impl Signal {
    /// Ctrl-C.
    pub const INT: Signal = Signal {
        number: 2,
        name: "SIGINT",
    };
    /// What Kubernetes sends a pod (a CronJob's check) that must stop.
    pub const TERM: Signal = Signal {
        number: 15,
        name: "SIGTERM",
    };

    /// The signal of this name (`SIGINT`, `SIGTERM`), as a bundle's manifest records it.
    pub fn named(name: &str) -> Option<Signal> {
        [Signal::INT, Signal::TERM]
            .into_iter()
            .find(|signal| signal.name == name)
    }
}

/// What a run watches: resolves once a signal has been delivered.
#[derive(Debug, Clone)]
pub struct Interrupt {
    receiver: Option<watch::Receiver<Option<Signal>>>,
}

/// What the signal handler holds: [`Interrupter::interrupt`] stops every run watching its [`Interrupt`].
#[derive(Debug)]
pub struct Interrupter {
    sender: watch::Sender<Option<Signal>>,
}

impl Interrupt {
    /// An interrupt that never comes (a library caller, a test).
    pub fn never() -> Interrupt {
        Interrupt { receiver: None }
    }

    /// A pair: the run watches the [`Interrupt`], the signal handler sets the [`Interrupter`].
    pub fn channel() -> (Interrupter, Interrupt) {
        let (sender, receiver) = watch::channel(None);
        (
            Interrupter { sender },
            Interrupt {
                receiver: Some(receiver),
            },
        )
    }

    /// The signal, once delivered; pending forever if none ever is.
    pub async fn wait(&self) -> Signal {
        if let Some(receiver) = &self.receiver {
            let mut receiver = receiver.clone();
            if let Ok(signal) = receiver.wait_for(Option::is_some).await
                && let Some(signal) = *signal
            {
                return signal;
            }
        }
        std::future::pending().await
    }

    /// The signal if one was delivered already.
    pub fn delivered(&self) -> Option<Signal> {
        self.receiver.as_ref().and_then(|r| *r.borrow())
    }
}

impl Interrupter {
    /// Stops the runs; the first signal is the one they report.
    pub fn interrupt(&self, signal: Signal) {
        self.sender.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(signal);
                true
            } else {
                false
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_signal_is_the_one_reported() {
        let (interrupter, interrupt) = Interrupt::channel();
        assert_eq!(interrupt.delivered(), None);
        interrupter.interrupt(Signal::TERM);
        interrupter.interrupt(Signal::INT);
        assert_eq!(interrupt.wait().await, Signal::TERM);
        assert_eq!(interrupt.clone().delivered(), Some(Signal::TERM));
        assert_eq!(Interrupt::never().delivered(), None);
    }
}
