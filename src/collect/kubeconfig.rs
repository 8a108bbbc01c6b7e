//! Reaching the cluster as kubectl does: `--kubeconfig` (or `KUBECONFIG`, a list of files merged in
//! order), else `~/.kube/config`, else the in-cluster service account; `--context` picks the context.
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::ClusterOptions;
use super::CollectError;
use crate::bundle::manifest::ClusterInfo;

fn read(path: &Path) -> Result<Kubeconfig, CollectError> {
    Kubeconfig::read_from(path).map_err(|e| CollectError::Kubeconfig {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The files a kubeconfig argument names: one path, or a `KUBECONFIG`-style list (`a:b` on Unix).
fn kubeconfig_files(arg: &Path) -> Vec<PathBuf> {
    if arg.exists() {
        return vec![arg.to_path_buf()];
    }
    let files: Vec<PathBuf> = std::env::split_paths(arg)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if files.len() > 1 {
        // As kubectl: in a list, missing files are skipped.
        let present: Vec<PathBuf> = files.iter().filter(|p| p.exists()).cloned().collect();
        if !present.is_empty() {
            return present;
        }
    }
    files
}

fn merged(files: &[PathBuf]) -> Result<Kubeconfig, CollectError> {
    let mut merged: Option<Kubeconfig> = None;
    for file in files {
        let next = read(file)?;
        merged = Some(match merged {
            None => next,
            Some(before) => before.merge(next).map_err(|e| CollectError::Kubeconfig {
                path: file.clone(),
                source: e,
            })?,
        });
    }
    merged.ok_or_else(|| CollectError::Config("an empty kubeconfig path was given".into()))
}

fn home_kubeconfig() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    let path = PathBuf::from(home).join(".kube").join("config");
    path.exists().then_some(path)
}

/// The kubeconfig to use and where it came from, or `None` for in-cluster.
fn locate(args: &ClusterOptions) -> Result<Option<(Kubeconfig, String)>, CollectError> {
    if let Some(arg) = &args.kubeconfig {
        let files = kubeconfig_files(arg);
        return Ok(Some((merged(&files)?, arg.display().to_string())));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let files = kubeconfig_files(Path::new(&list));
        return Ok(Some((
            merged(&files)?,
            format!("KUBECONFIG={}", list.to_string_lossy()),
        )));
    }
    match home_kubeconfig() {
        Some(path) => Ok(Some((read(&path)?, path.display().to_string()))),
        None => Ok(None),
    }
}

/// The API server's host and port, never a URL with credentials.
pub(super) fn server_host(uri: &http::Uri) -> Option<String> {
    uri.authority().map(|a| {
        let text = a.as_str();
        text.rsplit('@').next().unwrap_or(text).to_string()
    })
}

/// A Kubernetes client for the cluster `args` names (kubeconfig, context, timeouts), and what the manifest records of it.
pub async fn client_from(
    args: &ClusterOptions,
) -> Result<(kube::Client, ClusterInfo), CollectError> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..Default::default()
    };
    let (mut config, context) = match locate(args)? {
        Some((kubeconfig, origin)) => {
            let context = args
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone());
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| CollectError::Kubeconfig {
                    path: PathBuf::from(origin),
                    source: e,
                })?;
            (config, context)
        }
        // kubectl reaches `--server` without any kubeconfig; the other flags then apply to it alone.
        None if args.connection.server.is_some() => (kube::Config::new(http::Uri::default()), None),
        None => {
            if let Some(context) = &args.context {
                return Err(CollectError::Config(format!(
                    "--context {context} given but no kubeconfig was found (--kubeconfig, KUBECONFIG, ~/.kube/config)"
                )));
            }
            let config = kube::Config::incluster().map_err(|e| CollectError::NoCluster {
                kubeconfig: "none of --kubeconfig, KUBECONFIG, ~/.kube/config".into(),
                in_cluster: e,
            })?;
            (config, None)
        }
    };
    args.connection.apply(&mut config);
    // The collector retries 429/5xx itself, with a bound suited to a one-shot run.
    config.default_retry = false;
    let info = ClusterInfo {
        server: server_host(&config.cluster_url),
        context,
    };
    tracing::info!(
        server = info.server.as_deref().unwrap_or("(none)"),
        context = info.context.as_deref().unwrap_or("(in-cluster)"),
        "reaching the cluster"
    );
    let client = kube::Client::try_from(config).map_err(CollectError::Client)?;
    Ok((client, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
- name: other
  cluster: {server: "https://10.0.0.1:443", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: abc}
contexts:
- name: lab
  context: {cluster: lab, user: u}
- name: prod
  context: {cluster: other, user: u, namespace: x}
"#;

    #[tokio::test]
    async fn kubeconfig_and_context_are_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let args = ClusterOptions {
            kubeconfig: Some(path.clone()),
            ..Default::default()
        };
        let (_, info) = client_from(&args).await.unwrap();
        assert_eq!(info.server.as_deref(), Some("127.0.0.1:6443"));
        assert_eq!(info.context.as_deref(), Some("lab"));
        let args = ClusterOptions {
            kubeconfig: Some(path),
            context: Some("prod".into()),
            ..Default::default()
        };
        let (_, info) = client_from(&args).await.unwrap();
        assert_eq!(info.server.as_deref(), Some("10.0.0.1:443"));
        assert_eq!(info.context.as_deref(), Some("prod"));
    }

    #[tokio::test]
    async fn a_kubeconfig_list_is_merged_and_missing_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let list = std::env::join_paths([dir.path().join("missing"), path]).unwrap();
        let args = ClusterOptions {
            kubeconfig: Some(PathBuf::from(list)),
            ..Default::default()
        };
        let (_, info) = client_from(&args).await.unwrap();
        assert_eq!(info.context.as_deref(), Some("lab"));
    }

    #[tokio::test]
    async fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken");
        std::fs::write(&path, "clusters: [").unwrap();
        let args = ClusterOptions {
            kubeconfig: Some(path.clone()),
            ..Default::default()
        };
        let error = client_from(&args).await.err().unwrap().to_string();
        assert!(error.contains("broken"), "{error}");
        let args = ClusterOptions {
            kubeconfig: Some(dir.path().join("config")),
            context: Some("nope".into()),
            ..Default::default()
        };
        assert!(client_from(&args).await.is_err());
    }

    #[test]
    fn the_server_host_never_carries_credentials() {
        let uri: http::Uri = "https://user:pw@example.com:6443/path".parse().unwrap();
        assert_eq!(server_host(&uri).as_deref(), Some("example.com:6443"));
    }
}
