//! `snapdoc lab serve`: the lab on a port until Ctrl-C, with a kubeconfig for kubectl.
use std::path::Path;

use super::cluster::{LabCluster, LabOptions};
use super::error::LabError;
use super::scenario::Scenario;

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
    match kubeconfig_out {
        Some(path) => {
            lab.write_kubeconfig(path)?;
            eprintln!("kubeconfig written to {}", path.display());
            eprintln!(
                "  try: kubectl --kubeconfig {} get backups -A",
                path.display()
            );
        }
        None => print!("{}", lab.kubeconfig_yaml()),
    }
    eprintln!(
        "lab cluster for scenario {:?} ({description})",
        lab.scenario_name()
    );
    eprintln!("API server:   {}", lab.server_url());
    eprintln!("object store: {}", lab.store_url());
    eprintln!("serving until Ctrl-C");
    let interrupted = tokio::signal::ctrl_c().await;
    lab.shutdown().await;
    interrupted.map_err(|source| LabError::Io {
        path: "<ctrl-c handler>".into(),
        source,
    })
}
