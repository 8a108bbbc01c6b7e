//! The velero server's and node agent's flags that decide how long work may take and how it is done, read
//! once from their container args; unset, Velero's default for the version (vmware-tanzu/velero v1.16.0,
//! 8f31599f: pkg/cmd/server/config/config.go `defaultPodVolumeOperationTimeout` 240m and
//! `defaultItemOperationTimeout` 4h; pkg/cmd/cli/nodeagent/server.go `defaultDataMoverPrepareTimeout` 30m).
//! The repository maintenance frequency has no single default (each repository type suggests its own,
//! pkg/controller/backup_repository_controller.go), nor has the uploader type across versions: unset, they
//! have no value here.
use super::components::Workload;
use crate::analyze::analysis::ServerSetting;
use crate::analyze::versions;

/// (component, flag, the Velero version that introduced it, its default since then).
const FLAGS: &[(&str, &str, &str, Option<&str>)] = &[
    ("velero", "--uploader-type", "1.10.0", None),
    ("velero", "--fs-backup-timeout", "1.10.0", Some("4h0m0s")),
    (
        "velero",
        "--default-item-operation-timeout",
        "1.11.0",
        Some("4h0m0s"),
    ),
    (
        "velero",
        "--default-repo-maintain-frequency",
        "1.10.0",
        None,
    ),
    (
        "node-agent",
        "--data-mover-prepare-timeout",
        "1.12.0",
        Some("30m0s"),
    ),
];

/// Each flag of [`FLAGS`] the component's args set, or that its version has (with the default, if one).
/// `--restic-timeout` stands in for `--fs-backup-timeout` before 1.10. A flag of a version that cannot be
/// told is listed only when set.
pub(crate) fn server_settings(
    velero: Option<&Workload<'_>>,
    node_agent: Option<&Workload<'_>>,
) -> Vec<ServerSetting> {
    let version = velero
        .and_then(Workload::version)
        .or_else(|| node_agent.and_then(Workload::version));
    let has = |since: &str| {
        version
            .as_deref()
            .and_then(|v| versions::compare(v, since))
            .map(|o| o.is_ge())
    };
    let mut out = Vec::new();
    for (component, flag, since, default) in FLAGS {
        let Some(workload) = (match *component {
            "velero" => velero,
            _ => node_agent,
        }) else {
            continue;
        };
        let (flag, set) = match workload.flag(flag) {
            Some(value) => (*flag, Some(value)),
            None if *flag == "--fs-backup-timeout" && has(since) == Some(false) => {
                ("--restic-timeout", workload.flag("--restic-timeout"))
            }
            None => (*flag, None),
        };
        let setting = match set {
            Some(value) => ServerSetting {
                component: component.to_string(),
                flag: flag.to_string(),
                value: Some(value),
                is_default: false,
            },
            None if has(since) == Some(true) => ServerSetting {
                component: component.to_string(),
                flag: flag.to_string(),
                value: default.map(str::to_string),
                is_default: true,
            },
            None => continue,
        };
        out.push(setting);
    }
    out
}

/// The setting of `flag`, if known.
pub(crate) fn setting<'s>(settings: &'s [ServerSetting], flag: &str) -> Option<&'s ServerSetting> {
    settings.iter().find(|s| s.flag == flag)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn workload<'a>(spec: &'a serde_json::Value) -> Workload<'a> {
        Workload {
            name: "velero".into(),
            namespace: Some("velero".into()),
            pod_spec: spec,
            container: &spec["containers"][0],
            controller: None,
        }
    }

    #[test]
    fn set_flags_win_and_unset_ones_get_the_version_s_default() {
        let server = json!({"containers": [{"name": "velero", "image": "velero/velero:v1.16.0",
            "args": ["server", "--uploader-type=kopia", "--fs-backup-timeout", "8h"]}]});
        let agent = json!({"containers": [{"name": "node-agent", "image": "velero/velero:v1.16.0",
            "args": ["node-agent", "server"]}]});
        let settings = server_settings(Some(&workload(&server)), Some(&workload(&agent)));
        let shown: Vec<(&str, Option<&str>, bool)> = settings
            .iter()
            .map(|s| (s.flag.as_str(), s.value.as_deref(), s.is_default))
            .collect();
        assert_eq!(
            shown,
            [
                ("--uploader-type", Some("kopia"), false),
                ("--fs-backup-timeout", Some("8h"), false),
                ("--default-item-operation-timeout", Some("4h0m0s"), true),
                ("--default-repo-maintain-frequency", None, true),
                ("--data-mover-prepare-timeout", Some("30m0s"), true),
            ]
        );
        assert_eq!(
            setting(&settings, "--data-mover-prepare-timeout")
                .unwrap()
                .component,
            "node-agent"
        );
    }

    #[test]
    fn velero_before_1_10_has_its_restic_timeout_and_no_later_flag() {
        let server = json!({"containers": [{"name": "velero", "image": "velero/velero:v1.6.3",
            "args": ["server", "--restic-timeout=2h"]}]});
        let settings = server_settings(Some(&workload(&server)), None);
        assert_eq!(
            settings,
            [ServerSetting {
                component: "velero".into(),
                flag: "--restic-timeout".into(),
                value: Some("2h".into()),
                is_default: false,
            }]
        );
    }
}
