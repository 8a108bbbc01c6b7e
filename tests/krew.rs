//! deploy/krew/snapdoc.yaml, as scripts/release-archive fills it, is a plugin manifest krew accepts, and
//! names what the archive holds. krew's rules are those of kubernetes-sigs/krew at
//! db921d5b457a5c1f2b3cfe0ea4fab9964450bb51: the fields of pkg/index/types.go (unknown fields refused here)
//! and the checks of internal/index/validation/validate.go (ValidatePlugin, validatePlatform,
//! validateFiles, validateSelector).
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;
use sha2::Digest as _;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Plugin {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: PluginSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PluginSpec {
    version: String,
    short_description: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    caveats: String,
    #[serde(default)]
    homepage: Option<String>,
    platforms: Vec<Platform>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Platform {
    uri: String,
    sha256: String,
    selector: Selector,
    files: Vec<FileOperation>,
    bin: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOperation {
    from: String,
    to: String,
}

/// krew's ValidatePlugin and what it calls, in its order and with its messages.
fn validate(name: &str, plugin: &Plugin) -> Result<(), String> {
    if plugin.api_version != "krew.googlecontainertools.github.com/v1alpha2" {
        return Err(format!("apiVersion={:?} not supported", plugin.api_version));
    }
    if plugin.kind != "Plugin" {
        return Err(format!(
            "kind={:?}, but only \"Plugin\" is supported",
            plugin.kind
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        || name.is_empty()
    {
        return Err(format!("the plugin name {name:?} is not allowed"));
    }
    if plugin.metadata.name != name {
        return Err(format!(
            "plugin should be named {name:?}, not {:?}",
            plugin.metadata.name
        ));
    }
    let spec = &plugin.spec;
    if spec.short_description.is_empty() {
        return Err("should have a short description".into());
    }
    if spec.short_description.contains('\n') {
        return Err("should not have line breaks in short description".into());
    }
    if spec.platforms.is_empty() {
        return Err("should have a platform specified".into());
    }
    // krew's semver.Parse: a leading v, then a semantic version.
    let version = spec
        .version
        .strip_prefix('v')
        .ok_or("version without its leading v")?;
    semver::Version::parse(version).map_err(|e| format!("failed to parse plugin version: {e}"))?;
    for platform in &spec.platforms {
        if platform.uri.is_empty() {
            return Err("`uri` has to be set".into());
        }
        let hex = |c: char| c.is_ascii_hexdigit() && !c.is_ascii_uppercase();
        if platform.sha256.len() != 64 || !platform.sha256.chars().all(hex) {
            return Err(format!("`sha256` value {} is not valid", platform.sha256));
        }
        if platform.bin.is_empty() {
            return Err("`bin` has to be set".into());
        }
        if platform.files.is_empty() {
            return Err("`files` has to be unspecified or non-empty".into());
        }
        for file in &platform.files {
            if file.from.is_empty() || file.to.is_empty() {
                return Err("`from` and `to` fields have to be set".into());
            }
        }
        let labels = &platform.selector.match_labels;
        if labels.is_empty() {
            return Err("`matchLabels` specified but empty".into());
        }
        if let Some(key) = labels.keys().find(|key| *key != "os" && *key != "arch") {
            return Err(format!("key {key:?} not supported"));
        }
    }
    Ok(())
}

fn archive_entries(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("the archive exists");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .expect("a tar.gz")
        .map(|entry| {
            entry
                .unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn the_release_archive_and_its_manifest_are_what_krew_installs() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/release-archive"
    ))
    .arg(env!("CARGO_BIN_EXE_snapdoc"))
    .arg(dir.path())
    .output()
    .expect("scripts/release-archive runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let text = std::fs::read_to_string(dir.path().join("snapdoc.yaml")).unwrap();
    assert!(!text.contains("${"), "a placeholder is left:\n{text}");
    let plugin: Plugin = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    validate("snapdoc", &plugin).unwrap_or_else(|e| panic!("krew would refuse it: {e}"));
    assert_eq!(plugin.spec.version, concat!("v", env!("CARGO_PKG_VERSION")));
    assert!(plugin.spec.homepage.is_none() && !plugin.spec.description.is_empty());
    assert!(!plugin.spec.caveats.is_empty());

    let platform = &plugin.spec.platforms[0];
    let archive = dir.path().join("snapdoc-linux-amd64.tar.gz");
    assert_eq!(platform.uri, format!("file://{}", archive.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(&archive)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(platform.sha256, hex::encode(sha2::Sha256::digest(&bytes)));

    let entries = archive_entries(&archive);
    for file in &platform.files {
        assert!(
            entries.contains(&file.from),
            "{} is not in the archive: {entries:?}",
            file.from
        );
    }
    assert!(
        entries.contains(&platform.bin),
        "bin {} is not in the archive",
        platform.bin
    );
}

#[test]
fn krews_rules_refuse_what_krew_refuses() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/krew/snapdoc.yaml"
    ))
    .unwrap()
    .replace("${VERSION}", "v0.1.0")
    .replace("${URI}", "https://example.invalid/snapdoc.tar.gz");
    let plugin: Plugin =
        serde_saphyr::from_str(&text.replace("${SHA256}", &"a".repeat(64))).unwrap();
    assert_eq!(validate("snapdoc", &plugin), Ok(()));
    let unfilled: Plugin = serde_saphyr::from_str(&text.replace("${SHA256}", "TODO")).unwrap();
    assert!(
        validate("snapdoc", &unfilled)
            .unwrap_err()
            .contains("sha256")
    );
    let unversioned: Plugin = serde_saphyr::from_str(
        &text
            .replace("${SHA256}", &"a".repeat(64))
            .replace("v0.1.0", "0.1.0"),
    )
    .unwrap();
    assert!(validate("snapdoc", &unversioned).is_err());
    assert!(
        validate("snap-doc", &plugin)
            .unwrap_err()
            .contains("should be named")
    );
}
