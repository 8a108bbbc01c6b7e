//! Bounds on what reading an archive may decompress, so a hostile or broken bundle (a zip bomb, a
//! gzip stream that inflates without end, an entry lying about its size) fails with an error naming
//! the entry instead of filling the memory or the disk.
//!
//! Two layers: [`Budget::admit`] checks what an archive *declares* (sizes in a zip's central
//! directory) before anything is read, and [`LimitedReader`] counts what decompression actually
//! *produces*, because declared sizes can lie.
use std::io::{self, Read};
use std::path::Path;

use super::BundleError;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// What one entry read whole (a JSON document, a foreign bundle's object list or version file) may hold: it is in
/// memory at once. Logs are streamed and bounded by [`ArchiveLimits`] alone.
pub(crate) const MAX_WHOLE_ENTRY_BYTES: u64 = 2 * GIB;

/// Reads `reader` to its end into `out`, refusing past [`MAX_WHOLE_ENTRY_BYTES`] (an `InvalidData` error).
pub(crate) fn read_whole(reader: impl Read, out: &mut Vec<u8>) -> io::Result<()> {
    read_whole_up_to(reader, out, MAX_WHOLE_ENTRY_BYTES)
}

fn read_whole_up_to(reader: impl Read, out: &mut Vec<u8>, limit: u64) -> io::Result<()> {
    reader.take(limit + 1).read_to_end(out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than {limit} bytes: too large to read whole"),
        ));
    }
    Ok(())
}

/// How much an archive may decompress to. The defaults are far above any real support bundle
/// (a busy cluster's bundle is tens to hundreds of MiB) and far below what a bomb produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// All entries together, decompressed. Entries are streamed, never held or extracted, so this bounds the
    /// reading time only: what bounds a bomb is the ratio. snapdoc's own bundle of a large cluster collected
    /// with a raised `--max-log-bytes` holds more than 4 GiB of logs (10 GiB at #20's ten-times scale) and must
    /// still be read.
    pub max_total_bytes: u64,
    /// What a gzip stream (a `.tar.gz` bundle) may decompress to: unlike a zip's entries it is spooled into a
    /// temporary file, so this bounds the disk it takes.
    pub max_spooled_bytes: u64,
    /// One entry, decompressed. A log entry is streamed, so like the total this bounds reading time (a log
    /// collected with a raised `--max-log-bytes` may pass 2 GiB); an entry read whole is also held to
    /// [`MAX_WHOLE_ENTRY_BYTES`].
    pub max_entry_bytes: u64,
    /// Decompressed size / compressed size. Real logs and JSON deflate 5–40:1; bombs 1000:1.
    pub max_ratio: u64,
    /// The ratio is enforced only beyond this many decompressed bytes: a small, very repetitive
    /// file (an empty List, a log of one repeated line) is harmless whatever its ratio.
    pub ratio_floor_bytes: u64,
    /// Entries in the archive. Each costs bookkeeping however small it is (a name, an index row, a log's
    /// scan waiting to be added in order: about 1 KiB), so a count is refused rather than trusted: a
    /// snapdoc bundle holds about a hundred, a troubleshoot bundle of a large cluster a few thousand.
    pub max_entries: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_total_bytes: 64 * GIB,
            max_spooled_bytes: 4 * GIB,
            max_entry_bytes: 64 * GIB,
            max_ratio: 200,
            ratio_floor_bytes: 8 * MIB,
            max_entries: 100_000,
        }
    }
}

/// Why an archive or one of its entries was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitError {
    #[error("decompresses to more than {limit} bytes (the per-entry limit)")]
    EntryTooLarge { limit: u64 },
    #[error(
        "the archive decompresses to more than {limit} bytes in total (the bundle limit); reached at this entry"
    )]
    TotalTooLarge { limit: u64 },
    #[error(
        "{decompressed} bytes from {compressed} compressed: a ratio above {max_ratio}:1, refused as a likely zip bomb"
    )]
    RatioTooHigh {
        decompressed: u64,
        compressed: u64,
        max_ratio: u64,
    },
    #[error(
        "the archive holds more than {limit} entries (the entry-count limit); reached at this entry"
    )]
    TooManyEntries { limit: u64 },
    #[error(
        "the folder holds more than {limit} files (the entry-count limit, as for an archive); reached at this file"
    )]
    TooManyFiles { limit: u64 },
    #[error("decompresses to more than the {declared} bytes its header declares")]
    LargerThanDeclared { declared: u64 },
    #[error(
        "the archive's entries add up to {decompressed} bytes from a {archive} byte file: a ratio above {max_ratio}:1, refused as a likely zip bomb (entries sharing compressed data); reached at this entry"
    )]
    ArchiveRatioTooHigh {
        decompressed: u64,
        archive: u64,
        max_ratio: u64,
    },
}

impl ArchiveLimits {
    /// Checks one entry's sizes (declared or counted so far) against the per-entry limit and ratio.
    pub(crate) fn check_entry(&self, decompressed: u64, compressed: u64) -> Result<(), LimitError> {
        if decompressed > self.max_entry_bytes {
            return Err(LimitError::EntryTooLarge {
                limit: self.max_entry_bytes,
            });
        }
        self.check_ratio(decompressed, compressed)
    }

    /// A folder read as a bundle (an extracted zip or support bundle) may hold as many files as an archive
    /// entries: `files` is the count so far, checked as each is found, so a walk stops at the limit. The
    /// error names the folder and `file`, the one that crossed it.
    pub(crate) fn check_folder_files(
        &self,
        files: u64,
        folder: &Path,
        file: &str,
    ) -> Result<(), BundleError> {
        if files > self.max_entries {
            return Err(BundleError::Entry {
                path: folder.to_path_buf(),
                entry: file.to_string(),
                message: LimitError::TooManyFiles {
                    limit: self.max_entries,
                }
                .to_string(),
            });
        }
        Ok(())
    }

    fn check_ratio(&self, decompressed: u64, compressed: u64) -> Result<(), LimitError> {
        if decompressed > self.ratio_floor_bytes
            && decompressed > compressed.saturating_mul(self.max_ratio)
        {
            return Err(LimitError::RatioTooHigh {
                decompressed,
                compressed,
                max_ratio: self.max_ratio,
            });
        }
        Ok(())
    }
}

/// The running total of an archive's declared sizes, checked entry by entry as it is indexed.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    limits: ArchiveLimits,
    archive_bytes: u64,
    declared_total: u64,
    entries: u64,
}

impl Budget {
    /// `archive_bytes`: the size of the archive file. Entries whose compressed data overlap (a
    /// non-recursive zip bomb) each look modest; only the total against the file size tells.
    pub(crate) fn new(limits: ArchiveLimits, archive_bytes: u64) -> Self {
        Budget {
            limits,
            archive_bytes,
            declared_total: 0,
            entries: 0,
        }
    }

    /// Admits an entry declaring `size` decompressed bytes stored in `compressed` bytes.
    pub(crate) fn admit(&mut self, size: u64, compressed: u64) -> Result<(), LimitError> {
        self.limits.check_entry(size, compressed)?;
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(LimitError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        self.declared_total = self.declared_total.saturating_add(size);
        if self.declared_total > self.limits.max_total_bytes {
            return Err(LimitError::TotalTooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        if self.declared_total > self.limits.ratio_floor_bytes
            && self.declared_total > self.archive_bytes.saturating_mul(self.limits.max_ratio)
        {
            return Err(LimitError::ArchiveRatioTooHigh {
                decompressed: self.declared_total,
                archive: self.archive_bytes,
                max_ratio: self.limits.max_ratio,
            });
        }
        Ok(())
    }
}

/// Counts the bytes a decompressing reader produces and fails (an `InvalidData` error whose message
/// names the entry) once they exceed the declared size, the per-entry limit or the ratio.
pub(crate) struct LimitedReader<R> {
    inner: R,
    entry: String,
    limits: ArchiveLimits,
    compressed: u64,
    declared: Option<u64>,
    produced: u64,
}

impl<R: Read> LimitedReader<R> {
    /// `compressed`: the bytes the data occupies in the archive; `declared`: the decompressed size
    /// the archive announced, when it did (a zip does, a gzip stream does not reliably).
    pub(crate) fn new(
        inner: R,
        entry: impl Into<String>,
        limits: ArchiveLimits,
        compressed: u64,
        declared: Option<u64>,
    ) -> Self {
        LimitedReader {
            inner,
            entry: entry.into(),
            limits,
            compressed,
            declared,
            produced: 0,
        }
    }

    /// Bytes produced so far.
    #[cfg(test)]
    pub(crate) fn produced(&self) -> u64 {
        self.produced
    }

    fn check(&self) -> Result<(), LimitError> {
        if let Some(declared) = self.declared
            && self.produced > declared
        {
            return Err(LimitError::LargerThanDeclared { declared });
        }
        self.limits.check_entry(self.produced, self.compressed)
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The decompressor's own errors (bad data, CRC mismatch) do not say which entry they are about.
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("entry {}: {e}", self.entry)))?;
        self.produced = self.produced.saturating_add(n as u64);
        self.check().map_err(|limit| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("entry {}: {limit}", self.entry),
            )
        })?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ArchiveLimits {
        ArchiveLimits {
            max_total_bytes: 1000,
            max_spooled_bytes: 1000,
            max_entry_bytes: 600,
            max_ratio: 10,
            ratio_floor_bytes: 100,
            max_entries: 10,
        }
    }

    #[test]
    fn declared_sizes_are_checked_per_entry_and_in_total() {
        let mut budget = Budget::new(small(), 1000);
        budget.admit(500, 400).unwrap();
        assert_eq!(
            budget.admit(601, 601),
            Err(LimitError::EntryTooLarge { limit: 600 })
        );
        budget.admit(400, 400).unwrap();
        assert_eq!(
            budget.admit(200, 200),
            Err(LimitError::TotalTooLarge { limit: 1000 })
        );
    }

    /// The logs of #20's ten-times scale as snapdoc collects them with `--max-log-bytes 4GiB`: 10.7 GB of
    /// logs in 202 entries of a 614 MB zip (scripts/bench, BENCHMARKS.md "Ten times the scale"). They were refused
    /// at 4 GiB in total; only the ratio bounds a bomb, and this zip's is 18:1.
    #[test]
    fn a_large_real_bundle_of_logs_is_admitted_by_default() {
        let mut budget = Budget::new(ArchiveLimits::default(), 614_316_230);
        for _ in 0..202 {
            budget
                .admit(10_737_465_109 / 202, 614_316_230 / 202)
                .unwrap();
        }
        // Its server log alone is 3.2 GB: an entry is streamed, so only the ratio and the total bound it.
        Budget::new(ArchiveLimits::default(), 614_316_230)
            .admit(3_221_225_542, 144_083_110)
            .unwrap();
        // Past 64 GiB (a minute or more of reading) it stops, whatever the ratio.
        let mut budget = Budget::new(ArchiveLimits::default(), 64 * GIB);
        for _ in 0..64 {
            budget.admit(GIB, GIB / 10).unwrap();
        }
        assert_eq!(
            budget.admit(GIB, GIB / 10),
            Err(LimitError::TotalTooLarge { limit: 64 * GIB })
        );
    }

    #[test]
    fn an_entry_read_whole_is_refused_past_its_own_bound() {
        let mut out = Vec::new();
        let error = read_whole_up_to(io::repeat(b' '), &mut out, 1000).expect_err("refused");
        assert!(
            error.to_string().contains("more than 1000 bytes"),
            "{error}"
        );
        assert_eq!(out.len(), 1001, "it stops one byte past the bound");
        let mut out = Vec::new();
        read_whole_up_to(&b"{}"[..], &mut out, 1000).unwrap();
        assert_eq!(out, b"{}");
    }

    #[test]
    fn entries_sharing_compressed_bytes_are_caught_by_the_archive_ratio() {
        // Each entry declares 90 bytes from 10: within the ratio; six of them in a 50-byte file are not.
        let mut budget = Budget::new(small(), 50);
        for _ in 0..5 {
            budget.admit(90, 10).unwrap();
        }
        assert!(matches!(
            budget.admit(90, 10),
            Err(LimitError::ArchiveRatioTooHigh { archive: 50, .. })
        ));
    }

    #[test]
    fn entries_beyond_the_count_are_refused_however_small() {
        let mut budget = Budget::new(small(), 1000);
        for _ in 0..10 {
            budget.admit(0, 0).unwrap();
        }
        assert_eq!(
            budget.admit(0, 0),
            Err(LimitError::TooManyEntries { limit: 10 })
        );
    }

    #[test]
    fn the_ratio_applies_only_beyond_the_floor() {
        let limits = small();
        limits.check_entry(100, 1).unwrap();
        assert_eq!(
            limits.check_entry(101, 10),
            Err(LimitError::RatioTooHigh {
                decompressed: 101,
                compressed: 10,
                max_ratio: 10
            })
        );
        limits.check_entry(500, 50).unwrap();
    }

    #[test]
    fn a_reader_producing_more_than_declared_fails_naming_the_entry() {
        let data = vec![b'x'; 300];
        let mut reader = LimitedReader::new(&data[..], "velero/x.log", small(), 300, Some(200));
        let mut out = Vec::new();
        let error = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            error.to_string().starts_with("entry velero/x.log:"),
            "{error}"
        );
        assert!(error.to_string().contains("200 bytes"), "{error}");
    }

    #[test]
    fn a_reader_within_its_limits_passes_everything_through() {
        let data = vec![b'x'; 500];
        let mut reader = LimitedReader::new(&data[..], "a", small(), 500, Some(500));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(reader.produced(), 500);
    }
}
