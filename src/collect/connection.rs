//! kubectl's connection flags (`--server`, `--token`, `--as`, `--as-group`, `--insecure-skip-tls-verify`,
//! `--request-timeout`) laid over the kubeconfig's settings as kubectl lays them: a flag wins over the file.
use std::time::Duration;

use kube::config::AuthInfo;

/// What the command line overrides in the cluster configuration; a field left unset keeps what the
/// kubeconfig says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionOverrides {
    /// The API server's URL (`--server`).
    pub server: Option<http::Uri>,
    /// A bearer token used instead of the kubeconfig user's credentials (`--token`).
    pub token: Option<String>,
    /// The user to act as (`--as`).
    pub(crate) impersonate_user: Option<String>,
    /// The groups to act as (`--as-group`, repeatable).
    pub(crate) impersonate_groups: Vec<String>,
    /// Accept any server certificate (`--insecure-skip-tls-verify`).
    pub(crate) insecure_skip_tls_verify: bool,
    /// How long one request may take (`--request-timeout`); `None` keeps the client's own timeouts.
    pub request_timeout: Option<Duration>,
}

impl ConnectionOverrides {
    /// Lays the overrides over `config`.
    pub fn apply(&self, config: &mut kube::Config) {
        if let Some(server) = &self.server {
            config.cluster_url = server.clone();
        }
        if let Some(token) = &self.token {
            // As kubectl: the token replaces every other way the user had of authenticating.
            config.auth_info = AuthInfo {
                token: Some(token.clone().into()),
                impersonate: config.auth_info.impersonate.take(),
                impersonate_groups: config.auth_info.impersonate_groups.take(),
                ..AuthInfo::default()
            };
        }
        if let Some(user) = &self.impersonate_user {
            config.auth_info.impersonate = Some(user.clone());
        }
        if !self.impersonate_groups.is_empty() {
            config.auth_info.impersonate_groups = Some(self.impersonate_groups.clone());
        }
        if self.insecure_skip_tls_verify {
            // kubectl refuses a CA together with this flag; here the flag simply wins.
            config.accept_invalid_certs = true;
            config.root_cert = None;
        }
        if let Some(timeout) = self.request_timeout {
            config.connect_timeout = Some(timeout);
            config.read_timeout = Some(timeout);
            config.write_timeout = Some(timeout);
        }
    }
}

/// Parses kubectl's `--request-timeout`: a bare number of seconds or a duration with units (`1s`, `2m`,
/// `1h30m`). Zero means no timeout, as in kubectl: see [`request_timeout`].
pub(crate) fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = text
            .parse()
            .map_err(|_| format!("{text:?} is too large a number of seconds"))?;
        Duration::from_secs(seconds)
    } else {
        let signed: jiff::SignedDuration = text
            .parse()
            .map_err(|e| format!("{text:?} is not a duration such as 30s, 2m or 1h ({e})"))?;
        Duration::try_from(signed).map_err(|_| format!("{text:?} is negative"))?
    };
    Ok(duration)
}

/// kubectl's `--request-timeout` value as an override: zero is no limit.
pub(crate) fn request_timeout(flag: Option<Duration>) -> Option<Duration> {
    flag.filter(|timeout| !timeout.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_read_as_kubectl_reads_them() {
        assert_eq!(request_timeout(parse_request_timeout("0").ok()), None);
        assert_eq!(parse_request_timeout("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_request_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            parse_request_timeout("500ms"),
            Ok(Duration::from_millis(500))
        );
        let error = parse_request_timeout("soon").unwrap_err();
        assert!(error.contains("30s"), "{error}");
        assert!(parse_request_timeout("-5s").is_err());
    }

    #[test]
    fn a_token_replaces_the_users_credentials_and_keeps_impersonation() {
        let mut config = kube::Config::new("https://127.0.0.1:6443".parse().unwrap());
        config.auth_info.username = Some("admin".into());
        config.auth_info.token_file = Some("/var/run/token".into());
        config.root_cert = Some(vec![b"ca".to_vec()]);
        let overrides = ConnectionOverrides {
            server: Some("https://10.0.0.9:443".parse().unwrap()),
            token: Some("abc".into()),
            impersonate_user: Some("jane".into()),
            impersonate_groups: vec!["ops".into(), "audit".into()],
            insecure_skip_tls_verify: true,
            request_timeout: Some(Duration::from_secs(5)),
        };
        overrides.apply(&mut config);
        assert_eq!(config.cluster_url.to_string(), "https://10.0.0.9:443/");
        assert!(config.auth_info.username.is_none() && config.auth_info.token_file.is_none());
        assert!(config.auth_info.token.is_some());
        assert_eq!(config.auth_info.impersonate.as_deref(), Some("jane"));
        assert_eq!(
            config.auth_info.impersonate_groups,
            Some(vec!["ops".to_string(), "audit".to_string()])
        );
        assert!(config.accept_invalid_certs && config.root_cert.is_none());
        assert_eq!(config.read_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn no_override_leaves_the_configuration_alone() {
        let mut config = kube::Config::new("https://127.0.0.1:6443".parse().unwrap());
        config.auth_info.username = Some("admin".into());
        let before = format!("{config:?}");
        ConnectionOverrides::default().apply(&mut config);
        assert_eq!(format!("{config:?}"), before);
    }
}
