use std::path::PathBuf;

/// Errors of the lab cluster: a scenario that does not load, or a server that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A scenario file that does not load: `file:line: message` (line 0 when not known).
    #[error("{file}:{line}: {message}")]
    Scenario {
        /// The scenario file.
        file: String,
        /// The line in it (0 when not known).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `--scenario NAME` that is not built in.
    #[error("no built-in scenario named {name:?} (built-in: {available})")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The built-in names, comma-separated.
        available: String,
    },
    /// A scenario file or the kubeconfig could not be read or written.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A listening socket could not be opened (the port in use).
    #[error("cannot bind {what} on 127.0.0.1:{port}: {source}")]
    Bind {
        /// Which server could not listen.
        what: &'static str,
        /// The port asked for (0: any).
        port: u16,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The lab's self-signed CA or serving certificate could not be made.
    #[error("cannot make the lab's TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The TLS server configuration was refused.
    #[error("cannot configure the lab's TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// A bundle `lab serve --bundle` cannot open (its message names the file).
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    /// The lab's own URL did not parse (a bug, not an input error).
    #[error("the lab's URL {url} does not parse: {source}")]
    ServerUrl {
        /// The URL.
        url: String,
        /// Why it did not parse.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The kube-rs client for the lab could not be built.
    #[error("cannot build a kube client for the lab: {0}")]
    Client(#[source] kube::Error),
}

impl LabError {
    pub(crate) fn scenario(
        file: impl Into<String>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        LabError::Scenario {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}
