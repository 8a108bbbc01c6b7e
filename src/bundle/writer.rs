//! Streaming zip writer: entries go to disk as they are produced (never the whole bundle in memory),
//! each hashed on the way; manifest.json is written last. The archive is built under a temporary name
//! beside the target and renamed into place only when complete, so a failed run leaves nothing half-made
//! and an existing file is replaced only with `force`.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::BundleError;
use super::layout::{self, MANIFEST};
use super::manifest::{
    ClusterInfo, CollectorError, FORMAT_VERSION, FileEntry, Interruption, Manifest, ToolInfo,
};

/// Writes a snapdoc bundle: entries into a temporary zip, then the manifest, then renamed into place by [`BundleWriter::finish`].
pub struct BundleWriter {
    // Some until finished: `finish` takes it to close the archive.
    zip: Option<ZipWriter<BufWriter<File>>>,
    temp_path: PathBuf,
    final_path: PathBuf,
    force: bool,
    files: Vec<FileEntry>,
    errors: Vec<CollectorError>,
    redactions: BTreeMap<String, u64>,
    finished: bool,
}

/// What the manifest says about the run, given at [`BundleWriter::finish`].
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// RFC 3339 time of the collection; `None`: now.
    pub created: Option<String>,
    /// The cluster collected from.
    pub cluster: ClusterInfo,
    /// What was asked for (namespaces, `--since` …), the manifest's `scope`.
    pub scope: serde_json::Map<String, serde_json::Value>,
    /// Set when a signal stopped the run: the bundle is finished with what was collected.
    pub interrupted: Option<Interruption>,
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true)
}

/// How hard an entry is deflated. Either way it is plain deflate, which every zip reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deflate {
    /// zlib's default level (6): objects, reports, the manifest — small next to the logs.
    Default,
    /// [`FAST_LEVEL`]: logs (and the downloads among them), nearly all of a large bundle's bytes, whose
    /// deflate at level 6 took as much CPU as their redaction.
    Fast,
}

/// The level of [`Deflate::Fast`]. Over the 1 GiB scale scenario's logs (zlib-rs, BENCHMARKS.md "Deflate
/// levels and the redaction's block search"), user CPU and output against level 6's 3.9–4.3 s and
/// 60.0 MB: level 1 1.0 s and 98.6 MB (+64%), level 2 1.5 s and 74.8 MB (+25%), level 3 1.8–2.0 s and
/// 70.2 MB (+17%). Level 2 takes most of the time off for a quarter more bytes.
const FAST_LEVEL: i64 = 2;

impl Deflate {
    fn options(self) -> SimpleFileOptions {
        match self {
            Deflate::Default => options(),
            Deflate::Fast => options().compression_level(Some(FAST_LEVEL)),
        }
    }
}

impl BundleWriter {
    /// Starts a bundle that will be `path` once finished. Fails if `path` exists and `force` is false.
    pub fn create(path: &Path, force: bool) -> Result<Self, BundleError> {
        // symlink_metadata: a dangling link counts as existing, so nothing is written through it.
        if !force && std::fs::symlink_metadata(path).is_ok() {
            return Err(BundleError::Exists {
                path: path.to_path_buf(),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bundle.zip".into());
        let temp_path = dir.join(format!(".{file_name}.{}.partial", std::process::id()));
        // create_new: a file or link already at the temporary name (planted in a shared folder) is
        // neither followed nor truncated.
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|e| BundleError::io(&temp_path, e))?;
        Ok(BundleWriter {
            zip: Some(ZipWriter::new(BufWriter::new(file))),
            temp_path,
            final_path: path.to_path_buf(),
            force,
            files: Vec::new(),
            errors: Vec::new(),
            redactions: BTreeMap::new(),
            finished: false,
        })
    }

    fn zip_mut(&mut self) -> &mut ZipWriter<BufWriter<File>> {
        self.zip.as_mut().expect("bundle writer used after finish")
    }

    /// The bundle's final path (where [`BundleWriter::finish`] puts it).
    pub fn path(&self) -> &Path {
        &self.final_path
    }

    /// Paths written so far.
    pub fn contains(&self, entry: &str) -> bool {
        self.files.iter().any(|f| f.path == entry)
    }

    /// Opens an entry for streaming; write to it, then call its `finish`.
    pub fn entry(&mut self, name: &str) -> Result<EntryWriter<'_>, BundleError> {
        self.entry_deflated(name, Deflate::Default)
    }

    /// Opens an entry deflated as `deflate` says; write to it, then call its `finish`.
    pub fn entry_deflated(
        &mut self,
        name: &str,
        deflate: Deflate,
    ) -> Result<EntryWriter<'_>, BundleError> {
        layout::check_entry_name(name).map_err(|message| BundleError::InvalidEntryName {
            entry: name.to_string(),
            message,
        })?;
        if name == MANIFEST || self.contains(name) {
            return Err(BundleError::InvalidEntryName {
                entry: name.to_string(),
                message: "written twice".into(),
            });
        }
        self.zip_mut()
            .start_file(name, deflate.options())
            .map_err(|e| BundleError::Zip {
                path: self.temp_path.clone(),
                source: e,
            })?;
        Ok(EntryWriter {
            writer: self,
            name: name.to_string(),
            hasher: Sha256::new(),
            size: 0,
            truncated: None,
        })
    }

    /// Adds an entry holding `data`; a name already written is an error.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<(), BundleError> {
        let mut entry = self.entry(name)?;
        entry
            .write_all(data)
            .map_err(|e| BundleError::io(name, e))?;
        entry.finish();
        Ok(())
    }

    /// Adds an entry holding `value` as pretty-printed JSON.
    pub fn add_json<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), BundleError> {
        let mut entry = self.entry(name)?;
        serde_json::to_writer_pretty(&mut entry, value)
            .map_err(|e| BundleError::io(name, io::Error::other(e)))?;
        entry
            .write_all(b"\n")
            .map_err(|e| BundleError::io(name, e))?;
        entry.finish();
        Ok(())
    }

    /// Copies `reader` into a new entry in bounded chunks; returns the bytes written.
    pub fn add_stream(&mut self, name: &str, mut reader: impl Read) -> Result<u64, BundleError> {
        let mut entry = self.entry(name)?;
        io::copy(&mut reader, &mut entry).map_err(|e| BundleError::io(name, e))?;
        Ok(entry.finish())
    }

    /// Records a source the collector could not read, for the manifest's `collectorErrors`.
    pub fn record_error(&mut self, error: CollectorError) {
        self.errors.push(error);
    }

    /// The collector errors recorded so far.
    pub fn errors(&self) -> &[CollectorError] {
        &self.errors
    }

    /// Adds redaction counts (by rule name) to the manifest's `redactions`.
    pub(crate) fn count_redactions(&mut self, counts: &BTreeMap<String, u64>) {
        for (rule, n) in counts {
            *self.redactions.entry(rule.clone()).or_default() += n;
        }
    }

    /// Writes manifest.json, closes the archive and moves it into place. Returns the final path.
    pub fn finish(mut self, run: RunInfo) -> Result<(PathBuf, Manifest), BundleError> {
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            tool: ToolInfo::default(),
            created: run
                .created
                .unwrap_or_else(|| jiff::Timestamp::now().to_string()),
            created_from: None,
            cluster: run.cluster,
            scope: run.scope,
            files: std::mem::take(&mut self.files),
            collector_errors: std::mem::take(&mut self.errors),
            redactions: std::mem::take(&mut self.redactions),
            interrupted: run.interrupted,
        };
        let zip_err = |path: &Path, e| BundleError::Zip {
            path: path.to_path_buf(),
            source: e,
        };
        let mut zip = self.zip.take().expect("bundle writer used after finish");
        zip.start_file(MANIFEST, options())
            .map_err(|e| zip_err(&self.temp_path, e))?;
        serde_json::to_writer_pretty(&mut zip, &manifest)
            .map_err(|e| BundleError::io(&self.temp_path, io::Error::other(e)))?;
        let buffered = zip.finish().map_err(|e| zip_err(&self.temp_path, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| BundleError::io(&self.temp_path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| BundleError::io(&self.temp_path, e))?;
        drop(file);
        self.move_into_place()?;
        self.finished = true;
        Ok((self.final_path.clone(), manifest))
    }
}

impl BundleWriter {
    /// Renames the finished archive to its final name. Without `force`, a file that appeared at that
    /// name during the run (or a dangling link, which `exists` does not see) is not replaced: a hard
    /// link fails when the name is taken, where a rename would silently overwrite.
    fn move_into_place(&self) -> Result<(), BundleError> {
        if self.force {
            return std::fs::rename(&self.temp_path, &self.final_path)
                .map_err(|e| BundleError::io(&self.final_path, e));
        }
        match std::fs::hard_link(&self.temp_path, &self.final_path) {
            Ok(()) => {
                let _ = std::fs::remove_file(&self.temp_path);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(BundleError::Exists {
                path: self.final_path.clone(),
            }),
            // File systems without hard links: the check at `create` is all there is.
            Err(_) if !self.final_path.exists() => {
                std::fs::rename(&self.temp_path, &self.final_path)
                    .map_err(|e| BundleError::io(&self.final_path, e))
            }
            Err(e) => Err(BundleError::io(&self.final_path, e)),
        }
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// One entry being written. Hashes and counts what passes through.
pub struct EntryWriter<'a> {
    writer: &'a mut BundleWriter,
    name: String,
    hasher: Sha256,
    size: u64,
    truncated: Option<String>,
}

impl EntryWriter<'_> {
    /// Marks the content as incomplete, with the reason (recorded in the manifest).
    pub(crate) fn mark_truncated(&mut self, reason: impl Into<String>) {
        self.truncated = Some(reason.into());
    }

    pub fn written(&self) -> u64 {
        self.size
    }

    /// Ends the entry; returns its size. (Dropping it ends it too: the manifest always lists what the zip holds.)
    pub fn finish(self) -> u64 {
        self.size
    }
}

impl Drop for EntryWriter<'_> {
    fn drop(&mut self) {
        let hasher = std::mem::take(&mut self.hasher);
        self.writer.files.push(FileEntry {
            path: std::mem::take(&mut self.name),
            size: self.size,
            sha256: hex::encode(hasher.finalize()),
            truncated: self.truncated.take(),
        });
    }
}

impl Write for EntryWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.zip_mut().write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.zip_mut().flush()
    }
}

/// Stores `analysis.json` in a finished bundle (replacing an earlier one). The archive is rebuilt under a
/// temporary name — entries copied as they are stored, without recompression — and renamed over the
/// original, so an interruption leaves the original bundle intact.
pub(crate) fn append_analysis<T: Serialize + ?Sized>(
    path: &Path,
    analysis: &T,
) -> Result<(), BundleError> {
    let zip_err = |e| BundleError::Zip {
        path: path.to_path_buf(),
        source: e,
    };
    let source = File::open(path).map_err(|e| BundleError::io(path, e))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(source)).map_err(zip_err)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".snapdoc-analysis")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| BundleError::io(dir, e))?;
    let mut zip = ZipWriter::new(BufWriter::new(
        temp.reopen().map_err(|e| BundleError::io(temp.path(), e))?,
    ));
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(zip_err)?;
        if entry.name().map_err(zip_err)? == layout::ANALYSIS {
            continue;
        }
        zip.raw_copy_file(entry).map_err(zip_err)?;
    }
    zip.start_file(layout::ANALYSIS, options())
        .map_err(zip_err)?;
    serde_json::to_writer_pretty(&mut zip, analysis)
        .map_err(|e| BundleError::io(path, io::Error::other(e)))?;
    let file = zip
        .finish()
        .map_err(zip_err)?
        .into_inner()
        .map_err(|e| BundleError::io(temp.path(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| BundleError::io(temp.path(), e))?;
    temp.persist(path)
        .map_err(|e| BundleError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_deflated_fast_reads_back_as_written_beside_default_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.zip");
        let log: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("time=\"2026-12-07T05:{:02}:00Z\" level=info msg=\"Backed up item {i}\" backup=velero/daily\n", i % 60).into_bytes())
            .collect();
        let mut writer = BundleWriter::create(&path, false).unwrap();
        let mut entry = writer
            .entry_deflated("velero/logs/velero-1/velero.log", Deflate::Fast)
            .unwrap();
        entry.write_all(&log).unwrap();
        entry.finish();
        writer
            .add_json("velero/backups.json", &serde_json::json!({"items": []}))
            .unwrap();
        writer.finish(RunInfo::default()).unwrap();

        let mut archive = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        let mut read = Vec::new();
        let mut stored = archive.by_name("velero/logs/velero-1/velero.log").unwrap();
        // Plain deflate, as every other entry: what unzip and troubleshoot's readers take.
        assert_eq!(stored.compression(), zip::CompressionMethod::Deflated);
        assert!(
            stored.compressed_size() * 10 < stored.size(),
            "{}",
            stored.compressed_size()
        );
        stored.read_to_end(&mut read).unwrap();
        drop(stored);
        assert!(read == log);
        assert_eq!(
            archive
                .by_name("velero/backups.json")
                .unwrap()
                .compression(),
            zip::CompressionMethod::Deflated
        );
    }
}
