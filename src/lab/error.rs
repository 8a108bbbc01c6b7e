use std::path::PathBuf;

/// Errors of the lab cluster: a scenario that does not load, or a server that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A scenario file that does not load: `file:line: message` (line 0 when not known).
    #[error("{file}:{line}: {message}")]
    Scenario {
        file: String,
        line: usize,
        message: String,
    },
    #[error("no built-in scenario named {name:?} (built-in: {available})")]
    UnknownScenario { name: String, available: String },
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bind {what} on 127.0.0.1:{port}: {source}")]
    Bind {
        what: &'static str,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make the lab's TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot configure the lab's TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// A bundle `lab serve --bundle` cannot open (its message names the file).
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("the lab's URL {url} does not parse: {source}")]
    ServerUrl {
        url: String,
        #[source]
        source: http::uri::InvalidUri,
    },
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
