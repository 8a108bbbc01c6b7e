//! Redaction over a chunked stream: chunks are cut into lines, each line redacted whole, so a secret split
//! across two chunks is still found. Memory stays bounded by one piece of a line ([`MAX_LINE`]).
use std::io::{self, Write};

use super::{LineRedactor, RedactionCounts, Redactor};

/// A line longer than this is redacted and passed on in pieces of at most this size. A piece is cut
/// before any credential the rules see crossing the cut, and the last [`OVERLAP`] bytes at least are
/// carried into the next piece, so a secret of under [`OVERLAP`] bytes straddling the cut is found whole
/// while memory stays bounded by one piece.
pub(super) const MAX_LINE: usize = 256 * 1024;

/// How much of an overlong line's piece is held back for the next one.
pub(super) const OVERLAP: usize = 16 * 1024;

/// Push-style redaction: feed chunks, take redacted bytes out. Usable from sync and async code alike.
pub struct LineBuffer<'r> {
    lines: LineRedactor<'r>,
    pending: Vec<u8>,
}

impl<'r> LineBuffer<'r> {
    /// An empty buffer redacting with `redactor`'s rules.
    pub fn new(redactor: &'r Redactor) -> Self {
        LineBuffer {
            lines: redactor.lines(),
            pending: Vec::new(),
        }
    }

    /// Redacts every complete line of `chunk` (with what was pending) into `out`; keeps the partial tail.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            // The line begun in an earlier chunk, once its end is here.
            let Some(newline) = memchr::memchr(b'\n', chunk) else {
                self.pending.extend_from_slice(chunk);
                self.cut_overlong(out);
                return;
            };
            let (line_end, rest) = chunk.split_at(newline + 1);
            self.pending.extend_from_slice(line_end);
            let whole = std::mem::take(&mut self.pending);
            out.extend_from_slice(&self.lines.redact_line(&whole));
            chunk = rest;
        }
        // Every complete line at once, so the fast path searches them as blocks.
        let complete = memchr::memrchr(b'\n', chunk).map_or(0, |i| i + 1);
        let (lines, tail) = chunk.split_at(complete);
        self.lines
            .redact_lines(lines, |_, redacted| out.extend_from_slice(&redacted));
        chunk = tail;
        self.pending.extend_from_slice(chunk);
        self.cut_overlong(out);
    }

    /// Passes on a pending line grown to [`MAX_LINE`] in pieces, each cut where no credential crosses.
    fn cut_overlong(&mut self, out: &mut Vec<u8>) {
        while self.pending.len() >= MAX_LINE {
            let cut = self
                .lines
                .safe_cut(&self.pending[..MAX_LINE], MAX_LINE - OVERLAP);
            let rest = self.pending.split_off(cut);
            let piece = std::mem::replace(&mut self.pending, rest);
            out.extend_from_slice(&self.lines.redact_line(&piece));
        }
    }

    /// Redacts the last, unterminated line into `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            out.extend_from_slice(&self.lines.redact_line(&last));
        }
    }

    /// Redactions made so far, by rule name.
    pub fn counts(&self) -> &RedactionCounts {
        self.lines.counts()
    }

    /// The redactions made, by rule name, when the stream is done.
    pub(crate) fn into_counts(self) -> RedactionCounts {
        self.lines.into_counts()
    }
}

/// A `Write` that redacts what passes through it, line by line, into `inner`.
/// Call [`RedactingWriter::finish`] to flush the last line and get the counts.
pub struct RedactingWriter<'r, W: Write> {
    inner: W,
    buffer: LineBuffer<'r>,
    out: Vec<u8>,
}

impl<'r, W: Write> RedactingWriter<'r, W> {
    /// A writer redacting into `inner` with `redactor`'s rules.
    pub fn new(redactor: &'r Redactor, inner: W) -> Self {
        RedactingWriter {
            inner,
            buffer: LineBuffer::new(redactor),
            out: Vec::new(),
        }
    }

    /// Writes the last line and returns the inner writer and the redactions made.
    pub fn finish(mut self) -> io::Result<(W, RedactionCounts)> {
        self.out.clear();
        self.buffer.finish(&mut self.out);
        self.inner.write_all(&self.out)?;
        self.inner.flush()?;
        Ok((self.inner, self.buffer.into_counts()))
    }
}

impl<W: Write> Write for RedactingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.clear();
        self.buffer.push(buf, &mut self.out);
        self.inner.write_all(&self.out)?;
        Ok(buf.len())
    }

    /// Flushes what is complete; a partial line stays until its newline or `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
