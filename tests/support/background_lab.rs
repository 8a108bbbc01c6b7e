//! A lab cluster on a tokio runtime of its own, for tests that run a program against it (snapdoc, kubectl)
//! and wait for it on the test thread: the runtime's workers keep serving while the test thread blocks.
use std::path::PathBuf;

use snapdoc::lab::{LabCluster, Scenario};

pub(crate) struct BackgroundLab {
    lab: Option<LabCluster>,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl BackgroundLab {
    /// Starts `scenario` and writes its kubeconfig into a fresh temporary folder (see [`Self::path`]).
    pub(crate) fn start(scenario: Scenario) -> BackgroundLab {
        BackgroundLab::start_lab(LabCluster::start(scenario))
    }

    /// Serves the bundle at `path` read-only (`snapdoc lab serve --bundle`), as [`Self::start`] does a scenario.
    #[allow(dead_code)] // only the test crates serving bundles use it
    pub(crate) fn serve_bundle(path: &std::path::Path) -> BackgroundLab {
        let bundle = snapdoc::bundle::Bundle::open(path).expect("the bundle opens");
        BackgroundLab::start_lab(LabCluster::serve_bundle(bundle, Default::default()))
    }

    fn start_lab(
        start: impl std::future::Future<Output = Result<LabCluster, snapdoc::lab::LabError>>,
    ) -> BackgroundLab {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the lab");
        let lab = runtime.block_on(start).expect("the lab starts");
        let dir = tempfile::tempdir().expect("a temporary folder");
        lab.write_kubeconfig(&dir.path().join("kubeconfig"))
            .expect("the kubeconfig is written");
        BackgroundLab {
            lab: Some(lab),
            runtime,
            dir,
        }
    }

    /// `name` in the lab's temporary folder (`kubeconfig` is there).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn kubeconfig(&self) -> PathBuf {
        self.path("kubeconfig")
    }

    #[allow(dead_code)] // only the test crates that inspect the lab's state use it
    pub(crate) fn lab(&self) -> &LabCluster {
        self.lab.as_ref().expect("the lab runs until stopped")
    }

    /// Shuts the server down; the kubeconfig stays, pointing at a port nobody answers.
    pub(crate) fn stop(&mut self) {
        if let Some(lab) = self.lab.take() {
            self.runtime.block_on(lab.shutdown());
        }
    }
}

impl Drop for BackgroundLab {
    fn drop(&mut self) {
        self.stop();
    }
}
