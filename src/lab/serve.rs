//! `snapdoc lab serve`: the lab on a port until Ctrl-C, with a kubeconfig for kubectl.
use std::path::Path;

use super::cluster::{LabCluster, LabOptions};
use super::error::LabError;
use super::scenario::Scenario;
use crate::bundle::Bundle;

/// Serves `scenario` (a directory, or a built-in scenario's name) on 127.0.0.1:`port` until Ctrl-C. The
/// kubeconfig goes to `kubeconfig_out`, or to stdout when none is given.
pub async fn serve(
    scenario: &str,
    kubeconfig_out: Option<&Path>,
    port: u16,
) -> Result<(), LabError> {
    let scenario = Scenario::from_spec(scenario)?;
    let description = scenario.description.clone();
    let lab = LabCluster::start_with(scenario, LabOptions { api_port: port }).await?;
    announce(&lab, kubeconfig_out)?;
    eprintln!(
        "lab cluster for scenario {:?} ({description})",
        lab.scenario_name()
    );
    eprintln!("API server:   {}", lab.server_url());
    eprintln!("object store: {}", lab.store_url());
    until_interrupted(lab).await
}

/// Serves the bundle at `path` (snapdoc zip or directory, troubleshoot support bundle, velero debug bundle)
/// read-only on 127.0.0.1:`port` until Ctrl-C; the kubeconfig as for [`serve`].
pub async fn serve_bundle(
    path: &Path,
    kubeconfig_out: Option<&Path>,
    port: u16,
) -> Result<(), LabError> {
    let bundle = Bundle::open(path)?;
    let format = bundle.format();
    let lab = LabCluster::serve_bundle(bundle, LabOptions { api_port: port }).await?;
    announce(&lab, kubeconfig_out)?;
    eprintln!(
        "serving the {} bundle {} read-only (writes are refused)",
        format.as_str(),
        path.display()
    );
    eprintln!("API server:   {}", lab.server_url());
    until_interrupted(lab).await
}

/// Writes or prints the kubeconfig, and says how to use it.
fn announce(lab: &LabCluster, kubeconfig_out: Option<&Path>) -> Result<(), LabError> {
    match kubeconfig_out {
        Some(path) => {
            lab.write_kubeconfig(path)?;
            eprintln!("kubeconfig written to {}", path.display());
            eprintln!(
                "  try: KUBECONFIG={} kubectl get backups -A",
                path.display()
            );
        }
        None => print!("{}", lab.kubeconfig_yaml()),
    }
    Ok(())
}

async fn until_interrupted(lab: LabCluster) -> Result<(), LabError> {
    eprintln!("serving until Ctrl-C");
    let interrupted = tokio::signal::ctrl_c().await;
    lab.shutdown().await;
    interrupted.map_err(|source| LabError::Io {
        path: "<ctrl-c handler>".into(),
        source,
    })
}
