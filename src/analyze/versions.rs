//! Component versions read from container image references and the API server's `gitVersion`.
//!
//! Images seen in the field: `velero/velero:v1.12.3`, `docker.io/velero/velero:v1.12.3`,
//! `registry.example.com:5000/app/velero:v1.12.3` (KOTS air-gap rewrite), `bitnami/velero:1.12.3-debian-11-r5`,
//! `velero/velero@sha256:…` (no version known), `velero/velero:v1.12.3@sha256:…` (the tag wins).

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageRef {
    pub registry: Option<String>,
    /// Path without registry, tag or digest: `velero/velero`, `replicated/local-volume-provider`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `[registry/]path[:tag][@digest]`. `None` for an empty or whitespace-holding reference.
    pub(crate) fn parse(image: &str) -> Option<ImageRef> {
        let image = image.trim();
        if image.is_empty() || image.contains(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_string())),
            None => (image, None),
        };
        // A tag's colon comes after the last slash; a colon before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        let (registry, repository) = match path.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), remainder.to_string())
            }
            _ => (None, path.to_string()),
        };
        if repository.is_empty() {
            return None;
        }
        Some(ImageRef {
            registry,
            repository,
            tag: tag.filter(|t| !t.is_empty()),
            digest,
        })
    }

    /// The last path segment: `velero`, `velero-plugin-for-aws`, `local-volume-provider`, `kotsadm`.
    pub(crate) fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// The version the tag names (`v1.12.3` → `1.12.3`), if it names one.
    pub(crate) fn version(&self) -> Option<String> {
        self.tag.as_deref().and_then(version_from_tag)
    }
}

/// Plugins compat tables know, by the name their images carry upstream.
const KNOWN_PLUGINS: [&str; 6] = [
    "velero-plugin-for-aws",
    "velero-plugin-for-gcp",
    "velero-plugin-for-microsoft-azure",
    "velero-plugin-for-csi",
    "velero-plugin-for-vsphere",
    "local-volume-provider",
];

/// A plugin image's name as compat tables know it: mirrors and vendor builds prefix it
/// (`ec-velero-plugin-for-aws`, `bitnami-velero-plugin-for-aws`); other names pass through.
pub(crate) fn canonical_plugin_name(image_name: &str) -> &str {
    KNOWN_PLUGINS
        .into_iter()
        .find(|known| image_name.ends_with(known))
        .unwrap_or(image_name)
}

/// `v1.12.3` → `1.12.3`; `1.12.3-debian-11-r5` stays; `latest`, `main`, `sha-abc` → `None`.
pub(crate) fn version_from_tag(tag: &str) -> Option<String> {
    let trimmed = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    let core_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let core = &trimmed[..core_end];
    let rest = &trimmed[core_end..];
    let parts: Vec<&str> = core.split('.').collect();
    let well_formed = !core.is_empty()
        && parts.len() <= 3
        && parts.iter().all(|p| !p.is_empty())
        && (rest.is_empty() || rest.starts_with('-') || rest.starts_with('+'));
    well_formed.then(|| trimmed.to_string())
}

/// The `major.minor.patch` core of a version, padded (`1.12` → `1.12.0`): what compat tables compare.
pub(crate) fn core_version(version: &str) -> Option<String> {
    let version = version_from_tag(version.trim())?;
    let core_end = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let mut parts: Vec<u64> = Vec::with_capacity(3);
    for part in version[..core_end].split('.') {
        parts.push(part.parse().ok()?);
    }
    parts.resize(3, 0);
    Some(format!("{}.{}.{}", parts[0], parts[1], parts[2]))
}

/// The Kubernetes version of a `gitVersion`: `v1.27.4+k3s1` → `1.27.4`, `v1.28.3-eks-4f4795d` → `1.28.3`.
pub(crate) fn kubernetes_version(git_version: &str) -> Option<String> {
    core_version(git_version)
}

/// Compares two versions by their numeric core; `None` when either is not a version.
pub(crate) fn compare(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parse = |v: &str| -> Option<semver::Version> { core_version(v)?.parse().ok() };
    Some(parse(a)?.cmp(&parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn images_parse_with_registries_ports_tags_and_digests() {
        let i = image("velero/velero:v1.12.3");
        assert_eq!(
            (i.registry.as_deref(), i.repository.as_str(), i.name()),
            (None, "velero/velero", "velero")
        );
        assert_eq!(i.version().as_deref(), Some("1.12.3"));

        let i = image("registry.example.com:5000/app/velero-plugin-for-aws:v1.8.2");
        assert_eq!(i.registry.as_deref(), Some("registry.example.com:5000"));
        assert_eq!(i.name(), "velero-plugin-for-aws");
        assert_eq!(i.version().as_deref(), Some("1.8.2"));

        let i = image("localhost:5000/velero/velero");
        assert_eq!(i.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(i.tag, None);
        assert_eq!(i.version(), None);

        let i = image("velero/velero@sha256:0123abcd");
        assert_eq!(i.version(), None);
        assert_eq!(i.digest.as_deref(), Some("sha256:0123abcd"));

        let i = image("docker.io/velero/velero:v1.14.1@sha256:0123abcd");
        assert_eq!(i.version().as_deref(), Some("1.14.1"));

        assert_eq!(
            image("bitnami/velero:1.12.3-debian-11-r5")
                .version()
                .as_deref(),
            Some("1.12.3-debian-11-r5")
        );
        assert_eq!(image("kotsadm/kotsadm:latest").version(), None);
        assert_eq!(
            image("replicated/local-volume-provider:v0.5.4").name(),
            "local-volume-provider"
        );
        assert!(ImageRef::parse("").is_none());
        assert!(ImageRef::parse("velero/velero :v1").is_none());
    }

    #[test]
    fn plugin_names_are_canonical() {
        assert_eq!(
            canonical_plugin_name("ec-velero-plugin-for-aws"),
            "velero-plugin-for-aws"
        );
        assert_eq!(
            canonical_plugin_name("local-volume-provider"),
            "local-volume-provider"
        );
        assert_eq!(canonical_plugin_name("my-plugin"), "my-plugin");
    }

    #[test]
    fn versions_normalise_to_their_core() {
        assert_eq!(
            kubernetes_version("v1.27.4+k3s1").as_deref(),
            Some("1.27.4")
        );
        assert_eq!(
            kubernetes_version("v1.28.3-eks-4f4795d").as_deref(),
            Some("1.28.3")
        );
        assert_eq!(core_version("1.12").as_deref(), Some("1.12.0"));
        assert_eq!(core_version("v1.12.3-rc.1").as_deref(), Some("1.12.3"));
        assert_eq!(core_version("main"), None);
        assert_eq!(core_version("1.2.3.4"), None);
        assert_eq!(
            compare("1.10.0", "v1.9.3"),
            Some(std::cmp::Ordering::Greater)
        );
    }
}
