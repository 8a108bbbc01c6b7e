//! Opens a bundle and presents it in snapdoc's layout (docs/bundle-format.md), whatever its format.
//! Entries are streamed on demand: logs are never read whole into memory.
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::BundleError;
use super::layout::{self, LogSource};
use super::limits::{ArchiveLimits, Budget, LimitedReader};
use super::list::{self, Keep, Kept, ListError, ListSink, Pick};
use super::manifest::Manifest;
use super::{archive, dating, must_gather, troubleshoot, velero_debug};

/// What kind of bundle was opened (told by content, not by file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleFormat {
    /// snapdoc's own zip
    SnapdocZip,
    /// snapdoc's layout, extracted into a directory
    Directory,
    /// A Replicated troubleshoot support bundle (.tar.gz or extracted), translated (bundle/troubleshoot.rs)
    Troubleshoot,
    /// A `velero debug` bundle (.tar.gz or extracted), translated (bundle/velero_debug.rs)
    VeleroDebug,
    /// An OADP must-gather (OpenShift; .tar.gz or extracted), translated (bundle/must_gather.rs)
    MustGather,
}

impl BundleFormat {
    /// The name the report and `--summary jsonl` give the format (`snapdoc`, `troubleshoot` …).
    pub fn as_str(self) -> &'static str {
        match self {
            BundleFormat::SnapdocZip => "snapdoc",
            BundleFormat::Directory => "directory",
            BundleFormat::Troubleshoot => "troubleshoot",
            BundleFormat::VeleroDebug => "velero-debug",
            BundleFormat::MustGather => "must-gather",
        }
    }
}

/// Where entries come from. Every source answers in snapdoc's layout; a foreign format translates its paths.
pub(crate) trait BundleSource: Send {
    /// Every file entry, `/`-separated, relative to the bundle root, sorted.
    fn entries(&self) -> &[String];
    fn open(&mut self, entry: &str) -> Result<Box<dyn Read + '_>, BundleError>;
    /// For a bundle without manifest.json: what the foreign format says of its making (tool, time,
    /// collector errors). Never file checksums.
    fn manifest(&self) -> Option<Manifest> {
        None
    }
    /// What the format does not carry, in words for the report.
    fn unavailable(&self) -> Vec<String> {
        Vec::new()
    }
    /// The entry's size once decompressed, when the source knows it without reading the entry.
    fn entry_size(&self, _entry: &str) -> Option<u64> {
        None
    }
    /// A second, independent reader of the same bundle, for reading entries on another thread. `None` when
    /// the source cannot be read twice at once (a foreign archive is translated from one stream).
    fn reopen(&self) -> Option<Result<Box<dyn BundleSource>, BundleError>> {
        None
    }
}

/// A log in the bundle, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// The path inside the bundle.
    pub path: String,
    /// Which program wrote it: rules choose their logs by it.
    pub source: LogSource,
    /// The pod, for a pod log.
    pub pod: Option<String>,
    /// The container, for a pod log.
    pub container: Option<String>,
    /// The previous container's log (`kubectl logs --previous`): the run before a restart.
    pub previous: bool,
    /// For backup-log / restore-log: the backup or restore it belongs to.
    pub owner: Option<String>,
}

/// An opened bundle of any supported format (snapdoc's zip or directory, troubleshoot, velero debug, must-gather), read entry by entry.
pub struct Bundle {
    path: PathBuf,
    format: BundleFormat,
    source: Box<dyn BundleSource>,
    manifest: Option<Manifest>,
    unavailable: Vec<String>,
    /// Object lists already parsed by [`Bundle::shared_objects`], by resource.
    /// Each list with the fields it was read with (none: whole).
    shared: std::collections::HashMap<String, (Option<&'static Pick>, SharedObjects)>,
    /// Resources the analysis keeps as typed projections instead ([`Bundle::shared_projection`]).
    projections: std::collections::HashMap<String, Arc<dyn std::any::Any + Send + Sync>>,
    /// Resources whose lists held more than [`MAX_OBJECTS_OF_A_KIND`]: how many objects each had.
    left_out: std::collections::BTreeMap<String, usize>,
    /// The other bundles of the same cluster read into this one (bundle/merge.rs).
    also_read: Vec<super::merge::AlsoRead>,
}

/// Whether two readers ask for the same fields: the picks are static tables, told apart by address.
fn same_pick(a: Option<&'static Pick>, b: Option<&'static Pick>) -> bool {
    a.map(std::ptr::from_ref) == b.map(std::ptr::from_ref)
}

/// The most objects of one resource an analysis keeps (the newest by creation time): past it, memory would
/// grow with the list (a million Backups took 6.9 GiB). Those left out are counted, and the report says so.
pub(crate) const MAX_OBJECTS_OF_A_KIND: usize = 20_000;

/// An object list parsed once and read by several parts of the analysis (facts, rules, timelines).
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedObjects(Arc<PlacedObjects>);

#[derive(Debug, Default)]
struct PlacedObjects {
    items: Vec<Value>,
    /// The place of each item among all the list's items in the bundle (ascending): which were kept.
    places: Vec<usize>,
}

impl SharedObjects {
    /// Objects as written, every one kept.
    pub(crate) fn new(objects: Vec<Value>) -> SharedObjects {
        let places = (0..objects.len()).collect();
        SharedObjects(Arc::new(PlacedObjects {
            items: objects,
            places,
        }))
    }

    fn kept(kept: Kept) -> SharedObjects {
        let (places, items) = kept.into_placed();
        SharedObjects(Arc::new(PlacedObjects { items, places }))
    }

    /// The places, among all the list's objects in the bundle's order, of those kept (ascending): for a reader
    /// that streams the list again and must read the same objects (analyze/engine/streamed.rs).
    pub(crate) fn kept_places(&self) -> &[usize] {
        &self.0.places
    }
}

impl std::ops::Deref for SharedObjects {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0.items
    }
}

impl<'a> IntoIterator for &'a SharedObjects {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.items.iter()
    }
}

impl Bundle {
    /// Opens a bundle, its format told by content: a snapdoc zip, a snapdoc directory, or a troubleshoot
    /// support bundle / `velero debug` bundle as .tar.gz, .tar or extracted directory.
    pub fn open(path: &Path) -> Result<Bundle, BundleError> {
        Self::open_with_limits(path, ArchiveLimits::default())
    }

    /// Opens a bundle, refusing archives that decompress beyond `limits` (see bundle/limits.rs).
    pub fn open_with_limits(path: &Path, limits: ArchiveLimits) -> Result<Bundle, BundleError> {
        let meta = std::fs::metadata(path).map_err(|e| BundleError::io(path, e))?;
        if meta.is_dir() {
            // A directory with manifest.json is ours; one a foreign reader recognises is theirs;
            // any other is read as snapdoc's layout (a partial or hand-made bundle).
            if !path.join(layout::MANIFEST).is_file()
                && let Some(bundle) = open_foreign(path, limits)?
            {
                return Ok(bundle);
            }
            if !has_snapdoc_layout(path) {
                return match bundles_inside(path)[..] {
                    // The folder `snapdoc run` wrote: its bundle is the zip inside.
                    [ref only] => Self::open_with_limits(only, limits),
                    ref found => Err(BundleError::NoBundleContent {
                        path: path.to_path_buf(),
                        suggestion: match found {
                            [] => String::new(),
                            [first, ..] => format!(
                                "; did you mean {}{}?",
                                first.display(),
                                match found.len() {
                                    1 => String::new(),
                                    n => format!(" (or one of the {} others beside it)", n - 1),
                                }
                            ),
                        },
                    }),
                };
            }
            return Self::from_source(
                path.to_path_buf(),
                BundleFormat::Directory,
                Box::new(DirectorySource::open(path, limits)?),
            );
        }
        let mut magic = [0u8; 4];
        let mut file = File::open(path).map_err(|e| BundleError::io(path, e))?;
        let n = read_up_to(&mut file, &mut magic).map_err(|e| BundleError::io(path, e))?;
        if n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06") {
            return Self::from_source(
                path.to_path_buf(),
                BundleFormat::SnapdocZip,
                Box::new(ZipSource::open(path, limits)?),
            );
        }
        if archive::sniff(path)? != archive::Container::Other {
            return open_foreign(path, limits)?.ok_or_else(|| BundleError::UnknownFormat {
                path: path.to_path_buf(),
                message: format!(
                    "a tar archive that is not a troubleshoot support bundle ({}), a velero debug bundle \
                     ({}) or {}; expected one of those, or a snapdoc zip",
                    troubleshoot::EXPECTED,
                    velero_debug::EXPECTED,
                    must_gather::EXPECTED
                ),
            });
        }
        Err(BundleError::UnknownFormat {
            path: path.to_path_buf(),
            message: "expected a snapdoc zip (.zip), a troubleshoot support bundle or velero debug bundle \
                      (.tar.gz), or a bundle directory"
                .into(),
        })
    }

    /// Wraps a source (used by readers of foreign formats, which translate into snapdoc's layout).
    pub(crate) fn from_source(
        path: PathBuf,
        format: BundleFormat,
        source: Box<dyn BundleSource>,
    ) -> Result<Bundle, BundleError> {
        let unavailable = source.unavailable();
        let mut bundle = Bundle {
            path,
            format,
            source,
            manifest: None,
            unavailable,
            shared: Default::default(),
            projections: Default::default(),
            left_out: Default::default(),
            also_read: Vec::new(),
        };
        if bundle.has(layout::MANIFEST) {
            let manifest: Manifest = bundle.read_json_as(layout::MANIFEST)?;
            bundle.manifest = Some(manifest);
        } else {
            bundle.manifest = bundle.source.manifest();
        }
        Ok(bundle)
    }

    /// The other bundles of the same cluster merged into this one, with why they are the same cluster.
    pub fn also_read(&self) -> &[super::merge::AlsoRead] {
        &self.also_read
    }

    pub(crate) fn set_also_read(&mut self, also: Vec<super::merge::AlsoRead>) {
        self.also_read = also;
    }

    /// Where the bundle was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// What kind of bundle it is.
    pub fn format(&self) -> BundleFormat {
        self.format
    }
    /// The manifest; for a foreign bundle, the one made up while translating it.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }
    /// What the bundle's format does not carry (e.g. backup logs in a troubleshoot bundle), in words.
    pub fn unavailable(&self) -> &[String] {
        &self.unavailable
    }
    /// Every entry path, sorted.
    pub fn entries(&self) -> &[String] {
        self.source.entries()
    }
    /// Whether the bundle holds entry `entry` (a path, not a folder).
    pub fn has(&self, entry: &str) -> bool {
        self.source
            .entries()
            .binary_search_by(|e| e.as_str().cmp(entry))
            .is_ok()
    }

    /// The entry's decompressed size, when known without reading it.
    pub(crate) fn entry_size(&self, entry: &str) -> Option<u64> {
        self.source.entry_size(entry)
    }

    /// A second reader of the same bundle, independent of this one (another thread may read with it).
    /// `None` when the bundle's format cannot be read twice at once.
    pub(crate) fn reopen(&self) -> Option<Result<Bundle, BundleError>> {
        let source = match self.source.reopen()? {
            Ok(source) => source,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(Bundle {
            path: self.path.clone(),
            format: self.format,
            source,
            manifest: self.manifest.clone(),
            unavailable: self.unavailable.clone(),
            shared: Default::default(),
            projections: Default::default(),
            left_out: Default::default(),
            also_read: self.also_read.clone(),
        }))
    }

    /// Streams one entry.
    pub fn open_entry(&mut self, entry: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        self.source.open(entry)
    }

    fn entry_error(&self, entry: &str, message: impl Into<String>) -> BundleError {
        BundleError::Entry {
            path: self.path.clone(),
            entry: entry.to_string(),
            message: message.into(),
        }
    }

    /// Reads a JSON entry; `None` when the bundle has no such entry.
    pub fn read_json(&mut self, entry: &str) -> Result<Option<Value>, BundleError> {
        if !self.has(entry) {
            return Ok(None);
        }
        self.read_json_as(entry).map(Some)
    }

    fn read_json_as<T: serde::de::DeserializeOwned>(
        &mut self,
        entry: &str,
    ) -> Result<T, BundleError> {
        // Read whole, then parsed from memory: serde_json parses a slice several times faster than a reader,
        // which it reads a byte at a time. The text is dropped once parsed.
        // The declared size only sizes the buffer, up to a bound: a forged header must not reserve gigabytes.
        const MAX_RESERVED: u64 = 256 << 20;
        let expected = self.source.entry_size(entry).unwrap_or(0).min(MAX_RESERVED);
        let mut text = Vec::with_capacity(expected as usize);
        let read = super::limits::read_whole(self.source.open(entry)?, &mut text);
        read.map_err(|e| self.entry_error(entry, format!("could not be read: {e}")))?;
        serde_json::from_slice(&text).map_err(|e| {
            self.entry_error(
                entry,
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// A resource's objects for the analysis, parsed once: later calls for the same resource share the first
    /// one's list until [`Bundle::release_shared_objects`]. At most [`MAX_OBJECTS_OF_A_KIND`], the newest; the
    /// rest are counted ([`Bundle::objects_left_out`]). A list that cannot be read is not kept (each call says
    /// why).
    pub(crate) fn shared_objects(&mut self, resource: &str) -> Result<SharedObjects, BundleError> {
        self.shared_picked_objects(resource, None)
    }

    /// [`Bundle::shared_objects`] with only `pick`'s fields of each object (all when none). A list is shared
    /// only with readers asking for the same fields; one asking for others reads its own.
    pub(crate) fn shared_picked_objects(
        &mut self,
        resource: &str,
        pick: Option<&'static Pick>,
    ) -> Result<SharedObjects, BundleError> {
        let shared_with_other_fields = match self.shared.get(resource) {
            Some((picked, objects)) if same_pick(*picked, pick) => return Ok(objects.clone()),
            shared => shared.is_some(),
        };
        let kept = self.kept_picked_objects(resource, pick)?;
        Ok(if shared_with_other_fields {
            SharedObjects::kept(kept)
        } else {
            self.share_objects(resource, pick, kept)
        })
    }

    /// The newest [`MAX_OBJECTS_OF_A_KIND`] objects of a resource, with only `pick`'s fields (all when none).
    pub(crate) fn kept_picked_objects(
        &mut self,
        resource: &str,
        pick: Option<&'static Pick>,
    ) -> Result<Kept, BundleError> {
        let mut kept = pick.map_or_else(Kept::default, Kept::picking);
        self.stream_objects(resource, Keep::Newest(MAX_OBJECTS_OF_A_KIND), &mut kept)?;
        Ok(kept)
    }

    /// Keeps `kept`, read by another reader of this bundle ([`Bundle::reopen`]) with
    /// [`Bundle::kept_picked_objects`] and `pick`, as the resource's list for [`Bundle::shared_picked_objects`].
    pub(crate) fn share_objects(
        &mut self,
        resource: &str,
        pick: Option<&'static Pick>,
        kept: Kept,
    ) -> SharedObjects {
        if kept.left_out() > 0 {
            self.left_out.insert(resource.to_string(), kept.total);
        }
        let objects = SharedObjects::kept(kept);
        self.shared
            .insert(resource.to_string(), (pick, objects.clone()));
        objects
    }

    /// The resources whose lists the analysis did not keep whole, with how many objects each had: it kept the
    /// newest [`MAX_OBJECTS_OF_A_KIND`].
    pub(crate) fn objects_left_out(&self) -> &std::collections::BTreeMap<String, usize> {
        &self.left_out
    }

    /// Forgets the lists [`Bundle::shared_objects`] kept (their memory is freed once no one holds them).
    pub(crate) fn release_shared_objects(&mut self) {
        self.shared.clear();
        self.projections.clear();
    }

    /// Forgets the projections [`Bundle::shared_projection`] kept, and not the lists of values: once the facts are
    /// gathered from them, the projections of the most numerous kinds need not be held while the other kinds'
    /// rules run (a reader asking again reads the list again).
    pub(crate) fn release_shared_projections(&mut self) {
        self.projections.clear();
    }

    /// The entries holding a resource's objects.
    pub(crate) fn object_files(&self, resource: &str) -> Vec<String> {
        match resource {
            "nodes" => vec![layout::CLUSTER_NODES.to_string()],
            "namespaces" => vec![layout::CLUSTER_NAMESPACES.to_string()],
            "customresourcedefinitions" | "customresourcedefinitions.apiextensions.k8s.io" => {
                vec![layout::CLUSTER_CRDS.to_string()]
            }
            _ => {
                let dir = layout::objects_dir(resource);
                self.entries()
                    .iter()
                    .filter(|e| {
                        e.starts_with(&dir) && e.ends_with(".json") && !e[dir.len()..].contains('/')
                    })
                    .cloned()
                    .collect()
            }
        }
    }

    /// Every object of a resource, all namespaces: `pods`, `deployments`, `backups.velero.io`, `nodes` …
    /// Accepts a Kubernetes List (`items` may be null), a bare array, or a single object.
    pub fn objects(&mut self, resource: &str) -> Result<Vec<Value>, BundleError> {
        Ok(self.kept_objects(resource, Keep::All)?.into_items())
    }

    /// A resource's objects as they stream from the bundle, one at a time, kept as `keep` says.
    pub(crate) fn kept_objects(&mut self, resource: &str, keep: Keep) -> Result<Kept, BundleError> {
        let mut kept = Kept::default();
        self.stream_objects(resource, keep, &mut kept)?;
        Ok(kept)
    }

    /// Every object of a resource, handed to `sink` one at a time as its list files stream from the bundle.
    pub(crate) fn stream_objects(
        &mut self,
        resource: &str,
        keep: Keep,
        sink: &mut dyn ListSink,
    ) -> Result<(), BundleError> {
        for file in self.object_files(resource) {
            if !self.has(&file) {
                continue;
            }
            let size = self.source.entry_size(&file);
            let read = list::read_list(self.source.open(&file)?, size, keep, sink);
            read.map_err(|e| {
                let message = match e {
                    ListError::Read(e) => format!("could not be read: {e}"),
                    ListError::Json(e) if e.is_io() => format!("could not be read: {e}"),
                    ListError::Json(e) => format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                    ListError::Syntax {
                        line,
                        column,
                        message,
                    } => format!("invalid JSON at line {line} column {column}: {message}"),
                    ListError::Shape(message) => message,
                };
                self.entry_error(&file, message)
            })?;
        }
        Ok(())
    }

    /// A resource the analysis keeps as its own projection rather than [`SharedObjects`] (the analysis's
    /// type `T`), read once and shared like them; `None` until [`Bundle::share_projection`].
    pub(crate) fn shared_projection<T: std::any::Any + Send + Sync>(
        &self,
        resource: &str,
    ) -> Option<Arc<T>> {
        self.projections
            .get(resource)
            .and_then(|p| Arc::clone(p).downcast::<T>().ok())
    }

    /// Keeps a projection of `resource`'s objects for [`Bundle::shared_projection`]: `total` objects were read,
    /// `kept` of them projected (the newest [`MAX_OBJECTS_OF_A_KIND`]).
    pub(crate) fn share_projection<T: std::any::Any + Send + Sync>(
        &mut self,
        resource: &str,
        projection: Arc<T>,
        total: usize,
        kept: usize,
    ) {
        if total > kept {
            self.left_out.insert(resource.to_string(), total);
        }
        self.projections.insert(resource.to_string(), projection);
    }

    /// Every log in the bundle: pod logs, backup and restore logs.
    pub fn logs(&self) -> Vec<LogFile> {
        self.entries()
            .iter()
            .filter_map(|e| classify_log(e))
            .collect()
    }
}

/// Top-level names of snapdoc's layout (docs/bundle-format.md): a directory with none of them is not a bundle.
const LAYOUT_ROOTS: [&str; 5] = [
    layout::MANIFEST,
    "cluster",
    layout::CLUSTER_RESOURCES,
    "velero",
    "kots",
];

fn has_snapdoc_layout(dir: &Path) -> bool {
    LAYOUT_ROOTS.iter().any(|name| dir.join(name).exists())
}

/// Bundles directly inside `dir` (snapdoc zips, support bundle and velero debug archives), sorted by name.
fn bundles_inside(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            path.is_file()
                && [".zip", ".tar.gz", ".tgz", ".tar"]
                    .iter()
                    .any(|ext| name.ends_with(ext))
        })
        .collect();
    found.sort();
    found
}

/// A troubleshoot or velero debug bundle at `path` (archive or directory), if it is one.
fn open_foreign(path: &Path, limits: ArchiveLimits) -> Result<Option<Bundle>, BundleError> {
    let mut tree = archive::RawTree::open(path, limits)?;
    let (format, mut translation) = if let Some(root) = troubleshoot::recognize(&mut tree) {
        (
            BundleFormat::Troubleshoot,
            troubleshoot::translate(&mut tree, &root)?,
        )
    } else if let Some(root) = velero_debug::recognize(&mut tree) {
        (
            BundleFormat::VeleroDebug,
            velero_debug::translate(&mut tree, &root)?,
        )
    } else if let Some(root) = must_gather::recognize(&mut tree) {
        (
            BundleFormat::MustGather,
            must_gather::translate(&mut tree, &root)?,
        )
    } else {
        return Ok(None);
    };
    dating::date(&mut translation, &tree, path);
    let source = archive::ForeignSource::new(tree, translation);
    Bundle::from_source(path.to_path_buf(), format, Box::new(source)).map(Some)
}

/// Tells what a bundle path holds if it is a log in snapdoc's layout.
pub fn classify_log(path: &str) -> Option<LogFile> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["velero", "backups", name, "backup.log"] => Some(LogFile {
            path: path.to_string(),
            source: LogSource::BackupLog,
            pod: None,
            container: None,
            previous: false,
            owner: Some(name.to_string()),
        }),
        ["velero", "restores", name, "restore.log"] => Some(LogFile {
            path: path.to_string(),
            source: LogSource::RestoreLog,
            pod: None,
            container: None,
            previous: false,
            owner: Some(name.to_string()),
        }),
        [
            root @ ("velero" | "kots" | "object-store"),
            "logs",
            pod,
            file,
        ] if file.ends_with(".log") => {
            let stem = &file[..file.len() - 4];
            let (container, previous) = match stem.strip_suffix("-previous") {
                Some(c) => (c, true),
                None => (stem, false),
            };
            let mut source = LogSource::of_container(container);
            if *root == "kots" && source == LogSource::Other && container.starts_with("kotsadm") {
                source = LogSource::Kotsadm;
            }
            if *root == "object-store" {
                source = LogSource::ObjectStore;
            }
            Some(LogFile {
                path: path.to_string(),
                source,
                pod: Some(pod.to_string()),
                container: Some(container.to_string()),
                previous,
                owner: None,
            })
        }
        _ => None,
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

struct ZipSource {
    path: PathBuf,
    archive: zip::ZipArchive<BufReader<File>>,
    entries: Vec<String>,
    /// Declared decompressed sizes, in the order of `entries`.
    sizes: Vec<u64>,
    limits: ArchiveLimits,
}

impl ZipSource {
    /// Indexes the central directory, refusing what a bundle never holds: names leaving the bundle,
    /// links, encrypted or duplicate entries, sizes beyond `limits`. Nothing is decompressed yet.
    fn open(path: &Path, limits: ArchiveLimits) -> Result<Self, BundleError> {
        let file = File::open(path).map_err(|e| BundleError::io(path, e))?;
        let archive_bytes = file.metadata().map_err(|e| BundleError::io(path, e))?.len();
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| BundleError::Zip {
            path: path.to_path_buf(),
            source: e,
        })?;
        let entry_error = |entry: &str, message: String| BundleError::Entry {
            path: path.to_path_buf(),
            entry: entry.to_string(),
            message,
        };
        if archive.has_duplicate_names() {
            let name = first_duplicate_name(path, archive.central_directory_start())
                .unwrap_or_else(|| "(unnamed)".into());
            return Err(entry_error(
                &name,
                "appears more than once in the archive: which copy is meant cannot be told".into(),
            ));
        }
        let mut budget = Budget::new(limits, archive_bytes);
        let mut entries = Vec::new();
        for index in 0..archive.len() {
            let data = archive.by_index_data(index).map_err(|e| BundleError::Zip {
                path: path.to_path_buf(),
                source: e,
            })?;
            let name = data.name().map_err(|e| BundleError::Zip {
                path: path.to_path_buf(),
                source: e,
            })?;
            if data.is_dir() {
                continue;
            }
            layout::check_entry_name(&name).map_err(|message| entry_error(&name, message))?;
            if data.is_symlink() {
                return Err(entry_error(
                    &name,
                    "a symbolic link: a snapdoc bundle holds regular files only".into(),
                ));
            }
            if data.encrypted() {
                return Err(entry_error(
                    &name,
                    "encrypted: snapdoc bundles are never encrypted".into(),
                ));
            }
            budget
                .admit(data.size(), data.compressed_size())
                .map_err(|limit| entry_error(&name, limit.to_string()))?;
            entries.push((name.into_owned(), data.size()));
        }
        entries.sort();
        // Names the zip crate keeps apart (raw bytes differ) may still read as one path.
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(entry_error(
                &pair[0].0,
                "appears more than once in the archive: which copy is meant cannot be told".into(),
            ));
        }
        let (entries, sizes) = entries.into_iter().unzip();
        Ok(ZipSource {
            path: path.to_path_buf(),
            archive,
            entries,
            sizes,
            limits,
        })
    }

    /// The same archive through another file handle. Its entries were checked when first opened; a file
    /// changed since then is refused rather than read as something else.
    fn reopen_archive(&self) -> Result<ZipSource, BundleError> {
        let file = File::open(&self.path).map_err(|e| BundleError::io(&self.path, e))?;
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| BundleError::Zip {
            path: self.path.clone(),
            source: e,
        })?;
        if archive.len() != self.archive.len()
            || archive.central_directory_start() != self.archive.central_directory_start()
        {
            return Err(BundleError::UnknownFormat {
                path: self.path.clone(),
                message: "the archive changed while it was being read".into(),
            });
        }
        Ok(ZipSource {
            path: self.path.clone(),
            archive,
            entries: self.entries.clone(),
            sizes: self.sizes.clone(),
            limits: self.limits,
        })
    }
}

/// The first name the central directory lists twice (the zip crate keeps only one of them). `None`
/// when the directory cannot be walked; the caller still refuses the archive.
fn first_duplicate_name(path: &Path, directory_start: u64) -> Option<String> {
    use std::io::{Seek, SeekFrom};
    const CENTRAL_HEADER: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    let mut reader = BufReader::new(File::open(path).ok()?);
    reader.seek(SeekFrom::Start(directory_start)).ok()?;
    let mut seen = std::collections::HashSet::new();
    let mut header = [0u8; 46];
    loop {
        reader.read_exact(&mut header).ok()?;
        if header[..4] != CENTRAL_HEADER {
            return None;
        }
        let field = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]) as i64;
        let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
        let mut name = vec![0u8; name_len as usize];
        reader.read_exact(&mut name).ok()?;
        reader.seek_relative(extra_len + comment_len).ok()?;
        if !seen.insert(name.clone()) {
            return Some(String::from_utf8_lossy(&name).into_owned());
        }
    }
}

impl BundleSource for ZipSource {
    fn entries(&self) -> &[String] {
        &self.entries
    }
    fn entry_size(&self, entry: &str) -> Option<u64> {
        let index = self
            .entries
            .binary_search_by(|e| e.as_str().cmp(entry))
            .ok()?;
        Some(self.sizes[index])
    }
    fn reopen(&self) -> Option<Result<Box<dyn BundleSource>, BundleError>> {
        Some(
            self.reopen_archive()
                .map(|source| Box::new(source) as Box<dyn BundleSource>),
        )
    }
    fn open(&mut self, entry: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        let file = self
            .archive
            .by_name(entry)
            .map_err(|e| BundleError::Entry {
                path: self.path.clone(),
                entry: entry.to_string(),
                message: e.to_string(),
            })?;
        let (declared, compressed) = (file.size(), file.compressed_size());
        Ok(Box::new(LimitedReader::new(
            file,
            entry,
            self.limits,
            compressed,
            Some(declared),
        )))
    }
}

struct DirectorySource {
    root: PathBuf,
    entries: Vec<String>,
}

impl DirectorySource {
    /// Lists the folder's files, refusing more than the archive entry-count limit (`limits.max_entries`).
    fn open(root: &Path, limits: ArchiveLimits) -> Result<Self, BundleError> {
        let mut entries = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let read = std::fs::read_dir(&dir).map_err(|e| BundleError::io(&dir, e))?;
            for item in read {
                let item = item.map_err(|e| BundleError::io(&dir, e))?;
                // symlink_metadata: a link is not followed, so nothing outside the bundle is read.
                let meta = item
                    .metadata()
                    .map_err(|e| BundleError::io(item.path(), e))?;
                if meta.is_dir() {
                    stack.push(item.path());
                } else if meta.is_file() {
                    let rel = item
                        .path()
                        .strip_prefix(root)
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    if !rel.is_empty() {
                        limits.check_folder_files(entries.len() as u64 + 1, root, &rel)?;
                        entries.push(rel);
                    }
                }
            }
        }
        entries.sort();
        Ok(DirectorySource {
            root: root.to_path_buf(),
            entries,
        })
    }
}

impl BundleSource for DirectorySource {
    fn entries(&self) -> &[String] {
        &self.entries
    }
    fn entry_size(&self, entry: &str) -> Option<u64> {
        self.entries
            .binary_search_by(|e| e.as_str().cmp(entry))
            .ok()?;
        std::fs::symlink_metadata(self.root.join(entry))
            .ok()
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
    }
    fn reopen(&self) -> Option<Result<Box<dyn BundleSource>, BundleError>> {
        Some(Ok(Box::new(DirectorySource {
            root: self.root.clone(),
            entries: self.entries.clone(),
        })))
    }
    fn open(&mut self, entry: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        layout::check_entry_name(entry).map_err(|message| BundleError::InvalidEntryName {
            entry: entry.to_string(),
            message,
        })?;
        // Only files found by the walk, which never follows links: a name through a linked folder
        // (`velero -> /etc`) would otherwise be read from outside the bundle.
        if self
            .entries
            .binary_search_by(|e| e.as_str().cmp(entry))
            .is_err()
        {
            return Err(BundleError::Entry {
                path: self.root.clone(),
                entry: entry.to_string(),
                message: "no such file in the bundle".into(),
            });
        }
        let path = self.root.join(entry);
        let file = File::open(&path).map_err(|e| BundleError::io(&path, e))?;
        Ok(Box::new(BufReader::new(file)))
    }
}
