//! A log on its way into the bundle: fetched concurrently, redacted as it arrives and spooled to a temp
//! file, then copied into the zip when the writer is free (zip entries are written one at a time).
//!
//! Only the newest `limit` bytes are kept, with bounded disk and memory: data goes to a segment file; when
//! it reaches `limit`, the older segment is deleted and a new one begun. At the end the last two segments
//! hold at least the newest `limit` bytes; the copy starts at the first line boundary of that window.
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::bundle::{BundleError, BundleWriter};
use crate::redact::{LineBuffer, RedactionCounts, Redactor};

struct Segment {
    path: PathBuf,
    file: BufWriter<File>,
    len: u64,
}

pub(super) struct Spool {
    dir: PathBuf,
    stem: String,
    limit: u64,
    previous: Option<(PathBuf, u64)>,
    current: Option<Segment>,
    next_segment: u32,
    /// Bytes received after redaction, kept or not.
    total: u64,
    dropped: bool,
    cut_reason: Option<String>,
    redaction: LineBuffer<'static>,
    scratch: Vec<u8>,
}

/// A finished spool: what to copy into the bundle.
pub(super) struct Spooled {
    segments: Vec<(PathBuf, u64)>,
    /// Bytes of the first segment before the kept window.
    skip: u64,
    /// Whether the copy starts at a line boundary found after `skip` (older lines were dropped).
    align_to_line: bool,
    pub total: u64,
    pub truncated: Option<String>,
    pub redactions: RedactionCounts,
}

impl Spool {
    /// A spool writing `dir/<stem>.<n>` segment files, keeping the newest `limit` bytes.
    pub(super) fn new(dir: &Path, stem: &str, limit: u64) -> Spool {
        Spool {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            limit,
            previous: None,
            current: None,
            next_segment: 0,
            total: 0,
            dropped: false,
            cut_reason: None,
            redaction: LineBuffer::new(Redactor::global()),
            scratch: Vec::new(),
        }
    }

    /// Redacts and stores a chunk of the raw stream.
    pub(super) fn push(&mut self, chunk: &[u8]) -> io::Result<()> {
        let mut redacted = std::mem::take(&mut self.scratch);
        redacted.clear();
        self.redaction.push(chunk, &mut redacted);
        let result = self.store(&redacted);
        self.scratch = redacted;
        result
    }

    /// The stream ended before its end (dropped connection, timeout): keep what came, say why.
    pub(super) fn cut(&mut self, reason: impl Into<String>) {
        self.cut_reason = Some(reason.into());
    }

    fn store(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.total += data.len() as u64;
        if self.limit == 0 {
            self.dropped |= !data.is_empty();
            return Ok(());
        }
        while !data.is_empty() {
            if self.current.is_none() {
                let segment = self.open_segment()?;
                self.current = Some(segment);
            }
            let Some(segment) = self.current.as_mut() else {
                return Err(io::Error::other("no spool segment"));
            };
            let room = self.limit.saturating_sub(segment.len).max(1);
            let take = (data.len() as u64).min(room) as usize;
            segment.file.write_all(&data[..take])?;
            segment.len += take as u64;
            data = &data[take..];
            if segment.len >= self.limit {
                self.rotate()?;
            }
        }
        Ok(())
    }

    fn open_segment(&mut self) -> io::Result<Segment> {
        let path = self
            .dir
            .join(format!("{}.{}", self.stem, self.next_segment));
        self.next_segment += 1;
        let file = File::create(&path)?;
        Ok(Segment {
            path,
            file: BufWriter::new(file),
            len: 0,
        })
    }

    /// The full current segment becomes the previous one; the one before is deleted.
    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut segment) = self.current.take() {
            segment.file.flush()?;
            if let Some((old, _)) = self.previous.replace((segment.path, segment.len)) {
                self.dropped = true;
                std::fs::remove_file(old)?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> io::Result<Spooled> {
        let mut tail = Vec::new();
        self.redaction.finish(&mut tail);
        self.store(&tail)?;
        let mut segments = Vec::new();
        if let Some((path, len)) = self.previous.take() {
            segments.push((path, len));
        }
        if let Some(mut segment) = self.current.take() {
            segment.file.flush()?;
            segments.push((segment.path, segment.len));
        }
        let held: u64 = segments.iter().map(|(_, len)| len).sum();
        let skip = held.saturating_sub(self.limit);
        let dropped = self.dropped || skip > 0;
        let mut reasons = Vec::new();
        if let Some(reason) = self.cut_reason.take() {
            reasons.push(reason);
        }
        if dropped {
            reasons.push(format!(
                "kept the newest {} of {} bytes (--max-log-bytes)",
                self.limit.min(self.total),
                self.total
            ));
        }
        Ok(Spooled {
            segments,
            skip,
            align_to_line: dropped,
            total: self.total,
            truncated: (!reasons.is_empty()).then(|| reasons.join("; ")),
            redactions: self.redaction.into_counts(),
        })
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Spooled {
    /// A reader over the kept bytes, starting at a line boundary when older lines were dropped.
    pub(super) fn reader(&self) -> io::Result<impl Read + use<>> {
        let mut skip = self.skip;
        if self.align_to_line {
            // Drop the partial line the window begins in, unless the whole window is one line.
            let window: u64 = self.segments.iter().map(|(_, len)| len).sum::<u64>() - skip;
            let mut partial = Vec::new();
            let read = io::BufRead::read_until(
                &mut BufReader::new(self.window(skip)?),
                b'\n',
                &mut partial,
            )? as u64;
            if partial.ends_with(b"\n") && read < window {
                skip += read;
            }
        }
        self.window(skip)
    }

    /// The kept bytes from `skip` on, across segments.
    fn window(&self, mut skip: u64) -> io::Result<Box<dyn Read>> {
        let mut chain: Box<dyn Read> = Box::new(io::empty());
        for (path, len) in &self.segments {
            if skip >= *len {
                skip -= len;
                continue;
            }
            let mut file = File::open(path)?;
            file.seek(SeekFrom::Start(skip))?;
            chain = Box::new(chain.chain(BufReader::new(file).take(len - skip)));
            skip = 0;
        }
        Ok(chain)
    }

    /// Copies the kept bytes into a new bundle entry, marking it truncated when it is.
    pub(super) fn copy_into(
        &self,
        writer: &mut BundleWriter,
        entry: &str,
    ) -> Result<u64, BundleError> {
        let mut reader = self.reader().map_err(|e| BundleError::Io {
            path: entry.into(),
            source: e,
        })?;
        let mut out = writer.entry(entry)?;
        if let Some(reason) = &self.truncated {
            out.mark_truncated(reason.clone());
        }
        io::copy(&mut reader, &mut out).map_err(|e| BundleError::Io {
            path: entry.into(),
            source: e,
        })?;
        Ok(out.finish())
    }

    /// Deletes the segment files (also done when the temp dir goes).
    pub(super) fn remove(self) {
        for (path, _) in self.segments {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spooled_text(limit: u64, chunks: &[&[u8]]) -> (String, Spooled) {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path(), "log", limit);
        for chunk in chunks {
            spool.push(chunk).unwrap();
        }
        let spooled = spool.finish().unwrap();
        let mut text = String::new();
        spooled.reader().unwrap().read_to_string(&mut text).unwrap();
        // Keep the dir alive until read.
        drop(dir);
        (text, spooled)
    }

    #[test]
    fn a_log_under_the_limit_is_kept_whole() {
        let (text, spooled) = spooled_text(1000, &[b"one\ntw", b"o\nthree"]);
        assert_eq!(text, "one\ntwo\nthree");
        assert_eq!(spooled.truncated, None);
        assert_eq!(spooled.total, 13);
    }

    #[test]
    fn only_the_newest_lines_within_the_limit_are_kept() {
        let lines: Vec<String> = (0..1000).map(|i| format!("line {i:04}\n")).collect();
        let chunks: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let (text, spooled) = spooled_text(100, &chunks);
        assert!(text.len() <= 100, "{}", text.len());
        assert!(text.starts_with("line "), "{text:?}");
        assert!(text.ends_with("line 0999\n"));
        assert!(spooled.truncated.as_deref().unwrap().contains("newest"));
        assert_eq!(spooled.total, 10_000);
    }

    #[test]
    fn redaction_happens_before_spooling_and_is_counted() {
        let (text, spooled) = spooled_text(1 << 20, &[b"pass", b"word=hunter2 x\n"]);
        assert_eq!(text, "password=***REDACTED*** x\n");
        assert_eq!(spooled.redactions.get("password"), Some(&1));
    }

    #[test]
    fn a_cut_stream_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path(), "log", 100);
        spool.push(b"partial line").unwrap();
        spool.cut("stream dropped: connection reset");
        let spooled = spool.finish().unwrap();
        assert_eq!(
            spooled.truncated.as_deref(),
            Some("stream dropped: connection reset")
        );
    }

    #[test]
    fn a_zero_limit_keeps_nothing_and_says_so() {
        let (text, spooled) = spooled_text(0, &[b"abc\n"]);
        assert_eq!(text, "");
        assert!(spooled.truncated.is_some());
    }
}
