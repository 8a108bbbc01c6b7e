//! Large scenario files (logs/ and store/ files over [`LARGE_FILE_BYTES`]) and a served bundle's logs, served
//! as they are read: a blocking thread reads blocks of whole lines, transforms them (time shift, the kubelet's log options,
//! gzip) and hands them to the response body through a small channel. The lab's memory stays a few blocks
//! whatever the file's size, which is what lets it serve the gigabyte scenarios of src/lab/scale.rs.
//!
//! [`LARGE_FILE_BYTES`]: super::scenario::LARGE_FILE_BYTES
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

use super::logs::{LogOptions, format_nano};
use super::timeshift;

/// Bytes of whole lines read (and sent) at a time.
const BLOCK_BYTES: usize = 256 << 10;
/// Blocks in flight between the reading thread and the connection.
const BLOCKS_IN_FLIGHT: usize = 4;

/// A callback taking the next chunk of a body; false once the client has gone.
pub(super) type ChunkSink<'a> = &'a mut dyn FnMut(Bytes) -> bool;

/// The body stream fed by `produce`, which runs on a blocking thread. An error it returns ends the stream
/// with that error (the connection is cut, as a broken kubelet stream is).
pub(super) fn produced_by<F>(produce: F) -> impl Stream<Item = io::Result<Bytes>> + Send
where
    F: FnOnce(ChunkSink<'_>) -> io::Result<()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(BLOCKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut send = |chunk: Bytes| sender.blocking_send(Ok(chunk)).is_ok();
        if let Err(error) = produce(&mut send) {
            let _ = sender.blocking_send(Err(error));
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

/// Where a streamed log's bytes come from. Opened once per pass: `tailLines` reads the log twice.
pub(super) trait LogReader {
    fn open(&mut self) -> io::Result<Box<dyn Read + '_>>;
}

impl LogReader for &Path {
    fn open(&mut self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(File::open(self)?))
    }
}

/// Reads a log in blocks of about [`BLOCK_BYTES`] that end at a line end (the log's last may not).
struct LineBlocks<'r> {
    reader: BufReader<Box<dyn Read + 'r>>,
}

impl<'r> LineBlocks<'r> {
    fn open(source: &'r mut dyn LogReader) -> io::Result<LineBlocks<'r>> {
        Ok(LineBlocks {
            reader: BufReader::with_capacity(BLOCK_BYTES, source.open()?),
        })
    }

    fn next_block(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut block = Vec::with_capacity(BLOCK_BYTES + 1024);
        while block.len() < BLOCK_BYTES {
            if self.reader.read_until(b'\n', &mut block)? == 0 {
                break;
            }
        }
        Ok((!block.is_empty()).then_some(block))
    }
}

/// The block with its log timestamps moved by `shift`.
fn shifted(block: &[u8], shift: SignedDuration) -> Cow<'_, [u8]> {
    if shift.is_zero() {
        return Cow::Borrowed(block);
    }
    Cow::Owned(timeshift::shift_log(&String::from_utf8_lossy(block), shift).into_bytes())
}

/// The line-by-line part of the kubelet's options, over a stream of blocks. Lines are taken to be in time
/// order, as a container log is: `since` drops the lines before the first one at or after the cutoff (a line
/// without its own time has the time of the line before it), and then passes the rest untouched.
struct LineFilter {
    cutoff: Option<Timestamp>,
    /// The time of the last line that had one.
    current: Timestamp,
    /// A line at or after the cutoff was seen.
    passed: bool,
    /// Lines still to drop for `tailLines`.
    skip: u64,
    timestamps: bool,
}

impl LineFilter {
    fn apply<'b>(&mut self, block: &'b [u8]) -> Cow<'b, [u8]> {
        if self.passed && self.skip == 0 && !self.timestamps {
            return Cow::Borrowed(block);
        }
        let mut out = Vec::with_capacity(block.len());
        for line in block.split_inclusive(|&byte| byte == b'\n') {
            if !self.passed || self.timestamps {
                let time = std::str::from_utf8(line)
                    .ok()
                    .and_then(timeshift::log_line_time);
                if let Some(time) = time {
                    self.current = time;
                }
            }
            if !self.passed {
                if self.cutoff.is_some_and(|cutoff| self.current < cutoff) {
                    continue;
                }
                self.passed = true;
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            if self.timestamps {
                out.extend_from_slice(format_nano(self.current).as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(line);
        }
        Cow::Owned(out)
    }
}

fn count_lines(text: &[u8]) -> u64 {
    let newlines = text.iter().filter(|&&byte| byte == b'\n').count() as u64;
    newlines + u64::from(text.last().is_some_and(|&byte| byte != b'\n'))
}

/// How a streamed log is served: the request's options, and the scenario's shift and dropped-stream fault.
pub(super) struct StreamedLog<'a> {
    pub options: &'a LogOptions,
    /// The time of lines before the first timed one.
    pub(crate) fallback: Timestamp,
    pub now: Timestamp,
    pub shift: SignedDuration,
    /// droppedLogStreams: the stream is cut (with an error) after this many bytes.
    pub(crate) cut_after: Option<u64>,
}

impl StreamedLog<'_> {
    fn filter(&self, skip: u64) -> LineFilter {
        LineFilter {
            cutoff: self
                .options
                .since
                .as_ref()
                .map(|since| since.cutoff(self.now)),
            current: self.fallback,
            passed: self.options.since.is_none(),
            skip,
            timestamps: self.options.timestamps,
        }
    }

    /// Lines the `since` filter keeps (a first pass, for `tailLines`).
    fn kept_lines(&self, source: &mut dyn LogReader) -> io::Result<u64> {
        let mut filter = self.filter(0);
        filter.timestamps = false;
        let mut blocks = LineBlocks::open(source)?;
        let mut lines = 0;
        while let Some(block) = blocks.next_block()? {
            lines += count_lines(&filter.apply(&shifted(&block, self.shift)));
        }
        Ok(lines)
    }

    /// Sends the log read from `source` through the options.
    pub(super) fn send(&self, source: &mut dyn LogReader, send: ChunkSink<'_>) -> io::Result<()> {
        let skip = match self.options.tail_lines {
            Some(tail) => self.kept_lines(source)?.saturating_sub(tail as u64),
            None => 0,
        };
        let limit_bytes = self.options.limit_bytes.map(|limit| limit as u64);
        let limit = limit_bytes.into_iter().chain(self.cut_after).min();
        // The fault cuts only a stream longer than it once limitBytes is applied.
        let cut_binds = self
            .cut_after
            .is_some_and(|cut| limit_bytes.is_none_or(|bytes| bytes > cut));
        let mut filter = self.filter(skip);
        let mut blocks = LineBlocks::open(source)?;
        let mut sent = 0u64;
        while let Some(block) = blocks.next_block()? {
            let shifted = shifted(&block, self.shift);
            let output = filter.apply(&shifted);
            let Some(limit) = limit.filter(|&limit| sent + output.len() as u64 > limit) else {
                sent += output.len() as u64;
                if !send(Bytes::copy_from_slice(&output)) {
                    return Ok(());
                }
                continue;
            };
            let mut take = (limit - sent) as usize;
            if !cut_binds {
                // limitBytes never splits a character.
                while take > 0 && (output[take] & 0b1100_0000) == 0b1000_0000 {
                    take -= 1;
                }
            }
            if take > 0 && !send(Bytes::copy_from_slice(&output[..take])) {
                return Ok(());
            }
            if cut_binds {
                // The cut comes a moment after the last bytes, so they reach the client before the
                // connection dies.
                std::thread::sleep(Duration::from_millis(50));
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the lab cut this log stream (droppedLogStreams)",
                ));
            }
            return Ok(());
        }
        Ok(())
    }
}

/// Sends a store file gzipped, as Velero keeps it in the bucket; `.log` files with their timestamps shifted.
pub(super) fn send_gzipped(
    path: &Path,
    shift: SignedDuration,
    send: ChunkSink<'_>,
) -> io::Result<()> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut source = path;
    let mut blocks = LineBlocks::open(&mut source)?;
    while let Some(block) = blocks.next_block()? {
        encoder.write_all(&shifted(&block, shift))?;
        if encoder.get_ref().len() >= BLOCK_BYTES {
            let chunk = std::mem::take(encoder.get_mut());
            if !send(Bytes::from(chunk)) {
                return Ok(());
            }
        }
    }
    let rest = encoder.finish()?;
    if !rest.is_empty() {
        send(Bytes::from(rest));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::logs::SinceFilter;
    use super::*;

    const LOG: &str = "time=\"2026-11-25T10:00:00Z\" level=info msg=one\ncontinued\ntime=\"2026-11-25T11:00:00Z\" level=info msg=two\ntime=\"2026-11-25T11:59:00Z\" level=error msg=three\n";

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// What the file path serves, and what the in-memory path serves, for the same options.
    fn both(options: LogOptions, cut_after: Option<u64>) -> (String, String, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("velero.log");
        std::fs::write(&path, LOG.repeat(3)).unwrap();
        let now = at("2026-11-25T12:00:00Z");
        let fallback = at("2026-11-25T09:00:00Z");
        let file = StreamedLog {
            options: &options,
            fallback,
            now,
            shift: SignedDuration::ZERO,
            cut_after,
        };
        let mut streamed = Vec::new();
        let result = file.send(&mut path.as_path(), &mut |chunk| {
            streamed.extend_from_slice(&chunk);
            true
        });
        let mut expected = options.apply(&LOG.repeat(3), fallback, now);
        if let Some(cut) = cut_after.filter(|&cut| expected.len() as u64 > cut) {
            expected.truncate(cut as usize);
        }
        (
            String::from_utf8(streamed).unwrap(),
            expected,
            result.is_err(),
        )
    }

    #[test]
    fn a_file_log_is_served_as_the_same_text_in_memory() {
        let cases = [
            LogOptions::default(),
            LogOptions {
                tail_lines: Some(4),
                ..Default::default()
            },
            LogOptions {
                timestamps: true,
                limit_bytes: Some(100),
                ..Default::default()
            },
            LogOptions {
                since: Some(SinceFilter::Time(at("2026-11-25T11:00:00Z"))),
                tail_lines: Some(2),
                ..Default::default()
            },
        ];
        for options in cases {
            let (streamed, expected, failed) = both(options.clone(), None);
            assert!(!failed, "{options:?}");
            assert_eq!(streamed, expected, "{options:?}");
        }
    }

    #[test]
    fn since_keeps_everything_from_the_first_line_at_the_cutoff() {
        // The in-memory path filters every line; the file path takes the log to be in time order, so the
        // older lines of the later repeats are kept (a real container log has none).
        let options = LogOptions {
            since: Some(SinceFilter::Seconds(3600)),
            ..Default::default()
        };
        let (streamed, _, _) = both(options, None);
        assert!(
            streamed.starts_with("time=\"2026-11-25T11:00:00Z\" level=info msg=two\n"),
            "{streamed}"
        );
        assert_eq!(streamed.lines().count(), 2 + 4 * 2);
    }

    #[test]
    fn a_dropped_stream_is_cut_with_an_error_after_its_bytes() {
        let (streamed, expected, failed) = both(LogOptions::default(), Some(30));
        assert!(failed);
        assert_eq!(streamed, expected);
        assert_eq!(streamed.len(), 30);
        let longer_than_the_log = both(LogOptions::default(), Some(1 << 20));
        assert!(!longer_than_the_log.2);
    }

    #[test]
    fn gzipped_store_files_unzip_to_their_shifted_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.log");
        let text = LOG.repeat(20_000);
        std::fs::write(&path, &text).unwrap();
        let day = SignedDuration::from_hours(24);
        let mut gzipped = Vec::new();
        send_gzipped(&path, day, &mut |chunk| {
            gzipped.extend_from_slice(&chunk);
            true
        })
        .unwrap();
        let mut unzipped = String::new();
        io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&gzipped[..]),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, timeshift::shift_log(&text, day));
    }
}
