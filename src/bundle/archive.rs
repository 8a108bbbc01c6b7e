//! Foreign bundles as raw file trees, and the plumbing their readers share.
//!
//! A troubleshoot support bundle or a `velero debug` bundle arrives as a `.tar.gz` (or `.tar`), or
//! already extracted into a directory. [`open_tree`] indexes either once: a gzip stream cannot seek, so
//! it is decompressed a single time into an anonymous temporary file and every entry's data offset is
//! recorded; an entry is then read by seeking there. Memory stays bounded by the index, whatever the
//! bundle's size.
//!
//! Both formats link files: troubleshoot writes a pod's log once under
//! `cluster-resources/pods/logs/<ns>/<pod>/<container>.log` and points the log collector's own path at
//! it with a relative symlink (`velero/<pod>/<container>.log -> ../../cluster-resources/pods/logs/…`).
//! [`RawTree::resolve`] follows such links inside the tree only.
//!
//! A foreign reader builds a [`Translation`]: for every path of snapdoc's layout it offers, what
//! produces it (a raw file streamed as is, or Kubernetes objects merged from JSON/YAML files into one
//! `List`). [`ForeignSource`] serves the translation through [`BundleSource`].
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::BundleError;
use super::layout;
use super::limits::{ArchiveLimits, Budget, LimitedReader};
use super::manifest::Manifest;
use super::reader::BundleSource;

/// How many links are followed from one path before giving up (a loop, or a chain too long to be real).
const MAX_LINK_HOPS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawKind {
    File {
        size: u64,
    },
    /// A symbolic link; the target as stored (relative to the link's folder, or absolute).
    Symlink {
        target: String,
    },
    /// A tar hard link; the target is a path from the archive root.
    HardLink {
        target: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    /// `/`-separated, relative to the archive or directory root, without `./`.
    pub path: String,
    pub kind: RawKind,
    /// Modification time, seconds since the epoch, when the archive or file system recorded one.
    pub mtime: Option<i64>,
}

/// Files of an archive or a directory, indexed once.
pub(crate) struct RawTree {
    origin: PathBuf,
    /// Sorted by path.
    entries: Vec<RawEntry>,
    storage: Storage,
    /// Entries left out, with why (a name leaving the bundle, a device…): said in the report, never silent.
    skipped: Vec<String>,
}

/// Most skipped entries named in the report; the rest are counted.
const SKIPPED_NAMED: usize = 5;

/// A name as an entry of the tree: `Ok(None)` for the root itself (`./`), which is no entry at all, `Err` with
/// the name as found for a name the tree must not hold (absolute, `..`, control characters).
fn entry_name(name: &str) -> Result<Option<String>, String> {
    let name_slashed = name.replace('\\', "/");
    let mut trimmed = name_slashed.as_str();
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    let trimmed = trimmed.trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        return Ok(None);
    }
    match layout::check_entry_name(trimmed) {
        Ok(()) => Ok(Some(trimmed.to_string())),
        Err(_) => Err(name.to_string()),
    }
}

enum Storage {
    /// A decompressed tar (spooled) or a plain tar: entry path → (data offset, size).
    Tar {
        file: File,
        spans: HashMap<String, (u64, u64)>,
    },
    Directory {
        root: PathBuf,
    },
}

/// What kind of file `path` is, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Gzip,
    Tar,
    Other,
}

pub(crate) fn sniff(path: &Path) -> Result<Container, BundleError> {
    let mut file = File::open(path).map_err(|e| BundleError::io(path, e))?;
    let mut head = [0u8; 512];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BundleError::io(path, e)),
        }
    }
    if filled >= 2 && head[..2] == [0x1f, 0x8b] {
        return Ok(Container::Gzip);
    }
    // POSIX and GNU tar headers carry "ustar" at offset 257.
    if filled >= 262 && &head[257..262] == b"ustar" {
        return Ok(Container::Tar);
    }
    Ok(Container::Other)
}

impl RawTree {
    /// Indexes a `.tar.gz`, a `.tar` or a directory, refusing a gzip stream or tar entries beyond
    /// `limits` (bundle/limits.rs).
    pub(crate) fn open(path: &Path, limits: ArchiveLimits) -> Result<RawTree, BundleError> {
        let meta = std::fs::metadata(path).map_err(|e| BundleError::io(path, e))?;
        if meta.is_dir() {
            return Self::open_directory(path, limits);
        }
        match sniff(path)? {
            Container::Gzip => {
                let source = File::open(path).map_err(|e| BundleError::io(path, e))?;
                let mut spool = tempfile::tempfile().map_err(|e| BundleError::io(path, e))?;
                // The whole stream is one "entry" here: a gzip bomb would otherwise fill the disk.
                let stream_limits = ArchiveLimits {
                    max_entry_bytes: limits.max_spooled_bytes.min(limits.max_total_bytes),
                    ..limits
                };
                let mut gunzip = LimitedReader::new(
                    flate2::read::MultiGzDecoder::new(BufReader::new(source)),
                    "(the gzip stream)",
                    stream_limits,
                    meta.len(),
                    None,
                );
                io::copy(&mut gunzip, &mut spool).map_err(|e| {
                    BundleError::io(
                        path,
                        io::Error::new(e.kind(), format!("cannot decompress: {e}")),
                    )
                })?;
                Self::index_tar(path, spool, limits)
            }
            Container::Tar => {
                let file = File::open(path).map_err(|e| BundleError::io(path, e))?;
                Self::index_tar(path, file, limits)
            }
            Container::Other => Err(BundleError::UnknownFormat {
                path: path.to_path_buf(),
                message: "neither a gzip nor a tar archive".into(),
            }),
        }
    }

    fn index_tar(
        origin: &Path,
        mut file: File,
        limits: ArchiveLimits,
    ) -> Result<RawTree, BundleError> {
        let tar_error = |e: io::Error| {
            BundleError::io(
                origin,
                io::Error::new(e.kind(), format!("not a readable tar archive: {e}")),
            )
        };
        file.seek(SeekFrom::Start(0)).map_err(tar_error)?;
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        let mut spans = HashMap::new();
        let archive_bytes = file.metadata().map_err(tar_error)?.len();
        let mut budget = Budget::new(limits, archive_bytes);
        {
            let mut archive = tar::Archive::new(&file);
            for entry in archive.entries_with_seek().map_err(tar_error)? {
                let entry = entry.map_err(tar_error)?;
                let raw_name = entry
                    .path()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let path = match entry_name(&raw_name) {
                    Ok(Some(path)) => path,
                    Ok(None) => continue,
                    Err(name) => {
                        skipped.push(format!(
                            "`{}` (a name outside the bundle)",
                            name.escape_debug()
                        ));
                        continue;
                    }
                };
                let header = entry.header();
                let mtime = header.mtime().ok().and_then(|t| i64::try_from(t).ok());
                let link = || {
                    entry
                        .link_name()
                        .ok()
                        .flatten()
                        .map(|l| l.to_string_lossy().replace('\\', "/"))
                };
                let kind = match header.entry_type() {
                    tar::EntryType::Regular
                    | tar::EntryType::Continuous
                    | tar::EntryType::GNUSparse => {
                        // A sparse entry may declare far more than it stores.
                        budget.admit(entry.size(), entry.size()).map_err(|limit| {
                            BundleError::Entry {
                                path: origin.to_path_buf(),
                                entry: path.clone(),
                                message: limit.to_string(),
                            }
                        })?;
                        spans.insert(path.clone(), (entry.raw_file_position(), entry.size()));
                        RawKind::File { size: entry.size() }
                    }
                    tar::EntryType::Symlink => match link() {
                        Some(target) => RawKind::Symlink { target },
                        None => {
                            skipped.push(format!("`{path}` (a link without a target)"));
                            continue;
                        }
                    },
                    tar::EntryType::Link => match link().and_then(|l| normalize_name(&l)) {
                        Some(target) => RawKind::HardLink { target },
                        None => {
                            skipped.push(format!("`{path}` (a hard link outside the bundle)"));
                            continue;
                        }
                    },
                    tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                        skipped.push(format!("`{path}` (a device or pipe)"));
                        continue;
                    }
                    // Folders, and the headers tar itself interprets (long names, pax records).
                    _ => continue,
                };
                entries.push(RawEntry { path, kind, mtime });
            }
        }
        // A name written twice in a tar means the later copy wins, as when extracting.
        entries.reverse();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        Ok(RawTree {
            origin: origin.to_path_buf(),
            entries,
            storage: Storage::Tar { file, spans },
            skipped,
        })
    }

    fn open_directory(root: &Path, limits: ArchiveLimits) -> Result<RawTree, BundleError> {
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let read = std::fs::read_dir(&dir).map_err(|e| BundleError::io(&dir, e))?;
            for item in read {
                let item = item.map_err(|e| BundleError::io(&dir, e))?;
                let item_path = item.path();
                // DirEntry::metadata does not follow symlinks: a link is recorded, never walked into.
                let meta = item
                    .metadata()
                    .map_err(|e| BundleError::io(&item_path, e))?;
                let Some(relative) = item_path.strip_prefix(root).ok() else {
                    continue;
                };
                let rel = match entry_name(&relative.to_string_lossy()) {
                    Ok(Some(rel)) => rel,
                    Ok(None) => continue,
                    Err(name) => {
                        skipped.push(format!(
                            "`{}` (a name snapdoc cannot hold)",
                            name.escape_debug()
                        ));
                        continue;
                    }
                };
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .and_then(|d| i64::try_from(d.as_secs()).ok());
                let kind = if meta.is_dir() {
                    stack.push(item_path);
                    continue;
                } else if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&item_path)
                        .map_err(|e| BundleError::io(&item_path, e))?;
                    RawKind::Symlink {
                        target: target.to_string_lossy().replace('\\', "/"),
                    }
                } else if meta.is_file() {
                    RawKind::File { size: meta.len() }
                } else {
                    skipped.push(format!("`{rel}` (a device, pipe or socket)"));
                    continue;
                };
                limits.check_folder_files(entries.len() as u64 + 1, root, &rel)?;
                entries.push(RawEntry {
                    path: rel,
                    kind,
                    mtime,
                });
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(RawTree {
            origin: root.to_path_buf(),
            entries,
            storage: Storage::Directory {
                root: root.to_path_buf(),
            },
            skipped,
        })
    }

    pub(crate) fn origin(&self) -> &Path {
        &self.origin
    }

    /// The entries left out, in a sentence for the report's "not in this bundle" list; `None` when none were.
    pub(crate) fn skipped_summary(&self) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let named: Vec<&str> = self
            .skipped
            .iter()
            .take(SKIPPED_NAMED)
            .map(String::as_str)
            .collect();
        let more = match self.skipped.len().saturating_sub(SKIPPED_NAMED) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        Some(format!(
            "{} entr{} of {} not read: {}{more}",
            self.skipped.len(),
            if self.skipped.len() == 1 { "y" } else { "ies" },
            self.origin.display(),
            named.join(", ")
        ))
    }

    pub(crate) fn entries(&self) -> &[RawEntry] {
        &self.entries
    }

    pub(crate) fn entry(&self, path: &str) -> Option<&RawEntry> {
        self.entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The regular file `path` stands for, following links that stay inside the tree.
    /// `None` for a missing path, a dangling link, a link leaving the tree, or a loop.
    pub(crate) fn resolve(&self, path: &str) -> Option<String> {
        let mut current = path.to_string();
        for _ in 0..=MAX_LINK_HOPS {
            let entry = self.entry(&current)?;
            current = match &entry.kind {
                RawKind::File { .. } => return Some(current),
                RawKind::HardLink { target } => target.clone(),
                RawKind::Symlink { target } if target.starts_with('/') => {
                    self.absolute_target(target)?
                }
                RawKind::Symlink { target } => {
                    let folder = current.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    join_inside(folder, target)?
                }
            };
        }
        None
    }

    /// An absolute link target names the machine that wrote the bundle; its longest tail that is a path
    /// of this tree is what it meant (troubleshoot links absolutely inside its own working directory).
    fn absolute_target(&self, target: &str) -> Option<String> {
        let segments: Vec<&str> = target.split('/').filter(|s| !s.is_empty()).collect();
        (0..segments.len())
            .map(|start| segments[start..].join("/"))
            .find(|tail| self.entry(tail).is_some())
    }

    /// Streams a regular file (resolve links first).
    pub(crate) fn open_file(&mut self, path: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        match &mut self.storage {
            Storage::Tar { file, spans } => {
                let Some(&(offset, size)) = spans.get(path) else {
                    return Err(BundleError::Entry {
                        path: self.origin.clone(),
                        entry: path.to_string(),
                        message: "no such file in the archive".into(),
                    });
                };
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| BundleError::io(&self.origin, e))?;
                Ok(Box::new(BufReader::new(Read::take(&*file, size))))
            }
            Storage::Directory { root } => {
                layout::check_entry_name(path).map_err(|message| {
                    BundleError::InvalidEntryName {
                        entry: path.to_string(),
                        message,
                    }
                })?;
                let full = root.join(path);
                let file = File::open(&full).map_err(|e| BundleError::io(&full, e))?;
                Ok(Box::new(BufReader::new(file)))
            }
        }
    }

    /// Reads a small file whole (object lists, version files), as text.
    pub(crate) fn read_text(&mut self, path: &str) -> Result<String, BundleError> {
        let origin = self.origin.clone();
        let unreadable = |e: io::Error| BundleError::Entry {
            path: origin.clone(),
            entry: path.to_string(),
            message: format!("unreadable: {e}"),
        };
        let mut bytes = Vec::new();
        super::limits::read_whole(self.open_file(path)?, &mut bytes).map_err(unreadable)?;
        String::from_utf8(bytes).map_err(|_| {
            unreadable(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })
    }

    /// The newest modification time of the tree's files: when the bundle was made. Links are left out:
    /// extracting an archive gives them the time of extraction.
    /// Every entry under `root`, as (its path relative to `root`, the regular file holding it with links
    /// resolved); entries whose links lead nowhere inside the bundle are left out.
    pub(crate) fn files_under(&self, root: &str) -> Vec<(String, String)> {
        self.entries
            .iter()
            .filter_map(|e| e.path.strip_prefix(root))
            .filter_map(|rel| {
                self.resolve(&format!("{root}{rel}"))
                    .map(|raw| (rel.to_string(), raw))
            })
            .collect()
    }

    pub(crate) fn newest_mtime(&self) -> Option<i64> {
        // Archivers that do not record times write 0; such a date says nothing.
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, RawKind::File { .. }))
            .filter_map(|e| e.mtime)
            .filter(|t| *t > 0)
            .max()
    }
}

/// Strips `./` and trailing `/`, turns `\` into `/`; `None` for names that could leave the root.
fn normalize_name(name: &str) -> Option<String> {
    entry_name(name).ok().flatten()
}

/// `folder` joined with a relative `target`, `..` applied; `None` if it climbs above the root.
fn join_inside(folder: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// Where a raw file's text is Kubernetes objects: a List (`items` may be null), a bare array, one
/// object, or several YAML documents of any of these.
pub(crate) fn parse_objects(
    origin: &Path,
    raw_path: &str,
    text: &str,
) -> Result<Vec<Value>, BundleError> {
    let entry_error = |message: String| BundleError::Entry {
        path: origin.to_path_buf(),
        entry: raw_path.to_string(),
        message,
    };
    let lower = raw_path.to_ascii_lowercase();
    let is_yaml = lower.ends_with(".yaml") || lower.ends_with(".yml");
    let documents: Vec<Value> = if is_yaml {
        parse_yaml_documents(text).map_err(entry_error)?
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => vec![value],
            Err(e) if text.trim().is_empty() => {
                // An empty file is an empty answer, not a broken one.
                let _ = e;
                Vec::new()
            }
            Err(e) => {
                return Err(entry_error(format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                )));
            }
        }
    };
    let mut objects = Vec::new();
    for document in documents {
        match document {
            Value::Null => {}
            Value::Array(items) => objects.extend(items),
            Value::Object(mut map) => match map.remove("items") {
                Some(Value::Array(items)) => objects.extend(items),
                Some(Value::Null) => {}
                Some(_) => {
                    return Err(entry_error("`items` is not an array".into()));
                }
                None if map.contains_key("metadata") || map.contains_key("kind") => {
                    let is_empty_list = map
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k.ends_with("List"))
                        && !map.contains_key("metadata");
                    if !is_empty_list {
                        objects.push(Value::Object(map));
                    }
                }
                None => {
                    return Err(entry_error(
                        "expected a Kubernetes List, an array or an object".into(),
                    ));
                }
            },
            _ => {
                return Err(entry_error(
                    "expected a Kubernetes List, an array or an object".into(),
                ));
            }
        }
    }
    Ok(objects)
}

/// Every document of a YAML stream, as JSON values. Booleans only as `true`/`false` and numbers with
/// leading zeros kept as text, so values read as Kubernetes wrote them.
pub(crate) fn parse_yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    serde_saphyr::from_multiple_with_options::<Value>(text, options).map_err(|e| {
        match e.location() {
            Some(at) => format!("invalid YAML at line {}: {e}", at.line()),
            None => format!("invalid YAML: {e}"),
        }
    })
}

/// What produces one entry of the translated bundle.
#[derive(Debug, Clone)]
pub(crate) enum Produce {
    /// A raw regular file, streamed as is.
    Raw(String),
    /// Objects gathered from raw files into one Kubernetes `List`; `keep` filters them.
    Objects {
        sources: Vec<String>,
        keep: Option<fn(&Value) -> bool>,
    },
    /// One JSON document reshaped (e.g. troubleshoot's `{"info": …, "string": …}` → the version info).
    Reshaped {
        source: String,
        reshape: fn(Value) -> Option<Value>,
    },
}

/// A foreign bundle mapped onto snapdoc's layout.
#[derive(Debug, Default)]
pub(crate) struct Translation {
    pub(crate) produce: BTreeMap<String, Produce>,
    /// The times the format itself wrote (a folder name, capture stamps), most trustworthy first, each with
    /// what it is in words; bundle/dating.rs dates the manifest from them, then from names and file times.
    pub(crate) own_dates: Vec<(Option<String>, String)>,
    /// Stands in for manifest.json: who made the bundle, when, what its collectors could not read.
    pub manifest: Option<Manifest>,
    /// What this format does not carry, in words for the report.
    pub unavailable: Vec<String>,
}

impl Translation {
    /// Adds a source file to the List behind `entry` (creating it).
    pub(crate) fn add_objects(&mut self, entry: String, source: String) {
        match self
            .produce
            .entry(entry)
            .or_insert_with(|| Produce::Objects {
                sources: Vec::new(),
                keep: None,
            }) {
            Produce::Objects { sources, .. } => {
                if !sources.contains(&source) {
                    sources.push(source);
                }
            }
            other => {
                *other = Produce::Objects {
                    sources: vec![source],
                    keep: None,
                }
            }
        }
    }
}

/// Serves a [`Translation`] over a [`RawTree`].
pub(crate) struct ForeignSource {
    tree: RawTree,
    produce: BTreeMap<String, Produce>,
    entries: Vec<String>,
    manifest: Option<Manifest>,
    unavailable: Vec<String>,
}

impl ForeignSource {
    pub(crate) fn new(tree: RawTree, translation: Translation) -> ForeignSource {
        let entries = translation.produce.keys().cloned().collect();
        let mut unavailable = translation.unavailable;
        unavailable.extend(tree.skipped_summary());
        ForeignSource {
            tree,
            produce: translation.produce,
            entries,
            manifest: translation.manifest,
            unavailable,
        }
    }
}

impl BundleSource for ForeignSource {
    fn entries(&self) -> &[String] {
        &self.entries
    }

    fn open(&mut self, entry: &str) -> Result<Box<dyn Read + '_>, BundleError> {
        let Some(produce) = self.produce.get(entry).cloned() else {
            return Err(BundleError::Entry {
                path: self.tree.origin().to_path_buf(),
                entry: entry.to_string(),
                message: "no such entry".into(),
            });
        };
        match produce {
            Produce::Raw(raw) => self.tree.open_file(&raw),
            Produce::Objects { sources, keep } => {
                let mut items = Vec::new();
                for source in &sources {
                    let text = self.tree.read_text(source)?;
                    let objects = parse_objects(self.tree.origin(), source, &text)?;
                    items.extend(objects.into_iter().filter(|o| keep.is_none_or(|k| k(o))));
                }
                let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
                let bytes = serde_json::to_vec(&list).map_err(|e| BundleError::Entry {
                    path: self.tree.origin().to_path_buf(),
                    entry: entry.to_string(),
                    message: e.to_string(),
                })?;
                Ok(Box::new(Cursor::new(bytes)))
            }
            Produce::Reshaped { source, reshape } => {
                let text = self.tree.read_text(&source)?;
                let origin = self.tree.origin().to_path_buf();
                let value: Value = serde_json::from_str(&text).map_err(|e| BundleError::Entry {
                    path: origin.clone(),
                    entry: source.clone(),
                    message: format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                })?;
                let shaped = reshape(value).ok_or_else(|| BundleError::Entry {
                    path: origin,
                    entry: source.clone(),
                    message: "not the shape this file has in its format".into(),
                })?;
                Ok(Box::new(Cursor::new(shaped.to_string().into_bytes())))
            }
        }
    }

    fn manifest(&self) -> Option<Manifest> {
        self.manifest.clone()
    }

    fn unavailable(&self) -> Vec<String> {
        self.unavailable.clone()
    }
}

/// One pod log found in a foreign bundle.
#[derive(Debug, Clone)]
pub(crate) struct FoundLog {
    pub pod: String,
    pub container: String,
    pub previous: bool,
    /// The regular file holding it (links resolved).
    pub raw: String,
    /// Found under a folder a Velero logs collector writes to (`velero/`, `kots/velero/`, `velero/logs/`).
    pub(crate) velero_folder: bool,
}

/// Pod logs gathered from a foreign bundle, placed where snapdoc's layout keeps them: pods running a
/// `velero`, `node-agent` or `restic` container (every container of them, as the collector does) under
/// velero/logs, pods running `kotsadm` under kots/logs. Logs of other pods have no place and are left out.
#[derive(Debug, Default)]
pub(crate) struct PodLogs {
    found: Vec<FoundLog>,
    /// Raw file → index in `found`, and (pod, container, previous) → index: a support bundle can hold
    /// thousands of logs, each reachable through several links.
    by_raw: HashMap<String, usize>,
    by_name: HashMap<(String, String, bool), usize>,
}

impl PodLogs {
    /// Adds a log unless the same file (through another link) or the same pod/container is known.
    pub(crate) fn add(&mut self, log: FoundLog) {
        let name = (log.pod.clone(), log.container.clone(), log.previous);
        let known = self
            .by_raw
            .get(&log.raw)
            .or_else(|| self.by_name.get(&name))
            .copied();
        if let Some(index) = known {
            self.found[index].velero_folder |= log.velero_folder;
            return;
        }
        self.by_raw.insert(log.raw.clone(), self.found.len());
        self.by_name.insert(name, self.found.len());
        self.found.push(log);
    }

    /// `<container>.log` / `<container>-previous.log` → (container, previous).
    pub(crate) fn split_file_name(file: &str) -> Option<(String, bool)> {
        let stem = file.strip_suffix(".log")?;
        if stem.is_empty() || stem.ends_with("-logs-errors") {
            return None;
        }
        Some(match stem.strip_suffix("-previous") {
            Some(container) if !container.is_empty() => (container.to_string(), true),
            _ => (stem.to_string(), false),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Writes the entries into the translation; returns how many velero and kots pods were placed.
    pub(crate) fn place(self, translation: &mut Translation) -> (usize, usize) {
        let mut by_pod: BTreeMap<&str, Vec<&FoundLog>> = BTreeMap::new();
        for log in &self.found {
            by_pod.entry(log.pod.as_str()).or_default().push(log);
        }
        let (mut velero_pods, mut kots_pods) = (0, 0);
        for (pod, logs) in by_pod {
            let runs = |names: &[&str]| logs.iter().any(|l| names.contains(&l.container.as_str()));
            let root = if runs(&["velero", "node-agent", "restic"]) {
                velero_pods += 1;
                layout::VELERO_LOGS
            } else if runs(&["kotsadm"]) {
                kots_pods += 1;
                layout::KOTS_LOGS
            } else if logs.iter().any(|l| l.velero_folder) {
                velero_pods += 1;
                layout::VELERO_LOGS
            } else {
                continue;
            };
            for log in logs {
                let entry = layout::pod_log_path(root, pod, &log.container, log.previous);
                if layout::check_entry_name(&entry).is_ok() {
                    translation
                        .produce
                        .insert(entry, Produce::Raw(log.raw.clone()));
                }
            }
        }
        (velero_pods, kots_pods)
    }
}

/// `name.json` / `name.yaml` / `name.yml` → (name, is JSON).
pub(crate) fn object_file_stem(file: &str) -> Option<(&str, bool)> {
    if let Some(stem) = file.strip_suffix(".json") {
        return Some((stem, true));
    }
    file.strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"))
        .map(|stem| (stem, false))
}

/// Seconds since the epoch → RFC 3339.
pub(crate) fn rfc3339(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds)
        .ok()
        .map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_resolve_inside_the_tree_only() {
        assert_eq!(
            join_inside("b/velero/logs/pod", "../../../cluster-resources/x.log").as_deref(),
            Some("b/cluster-resources/x.log")
        );
        assert_eq!(join_inside("a", "../../etc/passwd"), None);
        assert_eq!(join_inside("", "./x/./y"), Some("x/y".into()));
    }

    #[test]
    fn names_are_normalized_and_escapes_refused() {
        assert_eq!(normalize_name("./a/b/").as_deref(), Some("a/b"));
        assert_eq!(normalize_name("a\\b").as_deref(), Some("a/b"));
        assert_eq!(normalize_name("../x"), None);
        assert_eq!(normalize_name("/etc/passwd"), None);
        assert_eq!(normalize_name("./"), None);
    }

    #[test]
    fn object_files_of_every_shape_parse() {
        let origin = Path::new("b.tar.gz");
        let list = r#"{"kind":"List","items":[{"metadata":{"name":"a"}}]}"#;
        assert_eq!(parse_objects(origin, "x.json", list).unwrap().len(), 1);
        let array = r#"[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]"#;
        assert_eq!(parse_objects(origin, "x.json", array).unwrap().len(), 2);
        let null_items = "apiVersion: v1\nkind: List\nitems: null\n";
        assert!(
            parse_objects(origin, "x.yaml", null_items)
                .unwrap()
                .is_empty()
        );
        let yaml_seq = "- metadata:\n    name: a\n  spec:\n    ttl: 720h0m0s\n";
        let parsed = parse_objects(origin, "x.yaml", yaml_seq).unwrap();
        assert_eq!(parsed[0]["spec"]["ttl"], "720h0m0s");
        let docs = "metadata: {name: a}\n---\nmetadata: {name: b}\n";
        assert_eq!(parse_objects(origin, "x.yml", docs).unwrap().len(), 2);
        assert!(parse_objects(origin, "x.json", "").unwrap().is_empty());
        let broken = parse_objects(origin, "x.json", "{\n\"items\": [}").unwrap_err();
        assert!(broken.to_string().contains("x.json"), "{broken}");
        assert!(broken.to_string().contains("line 2"), "{broken}");
        let broken = parse_objects(origin, "x.yaml", "a: [\n").unwrap_err();
        assert!(broken.to_string().contains("x.yaml"), "{broken}");
        assert!(parse_objects(origin, "x.json", "42").is_err());
    }
}
