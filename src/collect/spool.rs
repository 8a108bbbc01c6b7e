//! A log on its way into the bundle: fetched concurrently, redacted as it arrives and spooled to a temp
//! file, then copied into the zip when the writer is free (zip entries are written one at a time).
//!
//! Only the newest `limit` bytes are kept, with bounded disk and memory: data goes to a segment file; when
//! it reaches `limit`, the older segment is deleted and a new one begun. At the end the last two segments
//! hold at least the newest `limit` bytes; the copy starts at the first line boundary of that window.
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use super::windows::{LineTimes, LogWindows, MAX_LINE_HEAD};
use crate::bundle::{BundleError, BundleWriter, Deflate};
use crate::redact::{LineBuffer, RedactionCounts, Redactor};

/// Which lines of a log are kept besides its newest `limit` bytes: those in the windows of failed backups and
/// restores (kept up to `limit` bytes more), and, with a `--since` cutoff, which older lines are not kept.
#[derive(Debug, Clone)]
pub(super) struct LineFilter {
    pub(super) windows: Arc<LogWindows>,
    /// Lines older than this are dropped from the tail (the API was asked for more only to reach a window).
    pub(super) since_cutoff: Option<Timestamp>,
}

/// Where the current line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Route {
    tail: bool,
    window: bool,
}

/// The lines of a log kept for the windows: a file of them, and for those also in the tail the tail offset
/// they began at, so that at the end the ones the tail still holds are not kept twice.
struct WindowKeeper {
    filter: LineFilter,
    /// The start of the current line, until its route is decided.
    head: Vec<u8>,
    route: Option<Route>,
    /// The time of the last line that had one: a line without one goes with it.
    last_time: Option<Timestamp>,
    times: LineTimes,
    file: Option<(PathBuf, BufWriter<File>)>,
    written: u64,
    limit: u64,
    /// Window lines stopped at `limit`.
    full: bool,
    /// (window file position, tail offset) of each window line that went to the tail as well, from the
    /// oldest the tail may still hold (it holds at most two segments of `limit` bytes).
    in_tail: VecDeque<(u64, u64)>,
    /// Bytes of lines before the --since cutoff that no window holds.
    dropped_before_since: u64,
}

/// Window lines the tail may still hold are indexed up to this many (16 bytes each, 1 MiB a log): past it no
/// more window lines are kept (and the manifest says so), whatever the line lengths.
const MAX_INDEXED_LINES: usize = 1 << 16;

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
    keeper: Option<WindowKeeper>,
}

/// A finished spool: what to copy into the bundle.
pub(super) struct Spooled {
    /// Older lines kept for the windows of failed backups: (file, bytes), copied before the tail.
    windowed: Option<(PathBuf, u64)>,
    segments: Vec<(PathBuf, u64)>,
    /// Bytes of the segments before the kept tail, at a line boundary when older lines were dropped.
    skip: u64,
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
            keeper: None,
        }
    }

    /// Also keeps the lines in `filter`'s windows that the newest `limit` bytes do not hold, and drops those
    /// before its cutoff that no window holds.
    pub(super) fn keeping_windows(mut self, filter: Option<LineFilter>) -> Spool {
        self.keeper = filter.map(|filter| WindowKeeper {
            filter,
            head: Vec::new(),
            route: None,
            last_time: None,
            times: LineTimes::default(),
            file: None,
            written: 0,
            limit: self.limit,
            full: false,
            in_tail: VecDeque::new(),
            dropped_before_since: 0,
        });
        self
    }

    /// Redacts and stores a chunk of the raw stream.
    pub(super) fn push(&mut self, chunk: &[u8]) -> io::Result<()> {
        let mut redacted = std::mem::take(&mut self.scratch);
        redacted.clear();
        self.redaction.push(chunk, &mut redacted);
        let result = self.route(&redacted);
        self.scratch = redacted;
        result
    }

    /// Sends redacted bytes to the tail, and line by line to the windows when there are any.
    fn route(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(mut keeper) = self.keeper.take() else {
            return self.store(data);
        };
        let result = self.route_lines(&mut keeper, data);
        self.keeper = Some(keeper);
        result
    }

    fn route_lines(&mut self, keeper: &mut WindowKeeper, mut data: &[u8]) -> io::Result<()> {
        // First the line an earlier chunk began: its head still held, or its route decided.
        while !keeper.head.is_empty() || keeper.route.is_some() {
            if data.is_empty() {
                return Ok(());
            }
            let newline = memchr::memchr(b'\n', data);
            match keeper.route {
                Some(route) => {
                    let end = newline.map_or(data.len(), |at| at + 1);
                    self.emit(keeper, route, &data[..end])?;
                    data = &data[end..];
                    if newline.is_some() {
                        keeper.route = None;
                    }
                }
                None => {
                    let room = MAX_LINE_HEAD - keeper.head.len();
                    let take = match newline {
                        Some(at) if at < room => at + 1,
                        _ => room.min(data.len()),
                    };
                    keeper.head.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if keeper.head.ends_with(b"\n") || keeper.head.len() >= MAX_LINE_HEAD {
                        self.start_held_line(keeper)?;
                    }
                }
            }
        }
        // Then whole lines, read in place: consecutive lines of one route go out as one run.
        let mut run: Option<(Route, usize)> = None;
        let mut at = 0;
        while at < data.len() {
            let newline = memchr::memchr(b'\n', &data[at..]).map(|n| at + n);
            let head_end = newline
                .map_or(data.len(), |n| n + 1)
                .min(at + MAX_LINE_HEAD);
            if newline.is_none() && head_end - at < MAX_LINE_HEAD {
                // The head goes on in the next chunk.
                if let Some((route, start)) = run.take() {
                    self.emit(keeper, route, &data[start..at])?;
                }
                keeper.head.extend_from_slice(&data[at..]);
                return Ok(());
            }
            let pending = run.map(|(route, start)| (route, (at - start) as u64));
            let route = self.decide(keeper, &data[at..head_end], pending);
            match run {
                Some((current, _)) if current == route => {}
                _ => {
                    if let Some((current, start)) = run.take() {
                        self.emit(keeper, current, &data[start..at])?;
                    }
                    run = Some((route, at));
                }
            }
            match newline {
                Some(n) => at = n + 1,
                None => {
                    // The line goes on in the next chunk, on the route decided.
                    keeper.route = Some(route);
                    at = data.len();
                }
            }
        }
        if let Some((route, start)) = run {
            self.emit(keeper, route, &data[start..])?;
        }
        Ok(())
    }

    /// Decides the route of the line whose head was held across chunks, and sends the head.
    fn start_held_line(&mut self, keeper: &mut WindowKeeper) -> io::Result<()> {
        let head = std::mem::take(&mut keeper.head);
        let route = self.decide(keeper, &head, None);
        keeper.route = (!head.ends_with(b"\n")).then_some(route);
        self.emit(keeper, route, &head)
    }

    /// The route of the line that begins with `head`; `pending` is the run of earlier lines not yet sent
    /// (its route and length), which the offsets of this line's start count.
    fn decide(
        &mut self,
        keeper: &mut WindowKeeper,
        head: &[u8],
        pending: Option<(Route, u64)>,
    ) -> Route {
        if let Some(time) = keeper.times.time_of(head) {
            keeper.last_time = Some(time);
        }
        let time = keeper.last_time;
        let tail = match (keeper.filter.since_cutoff, time) {
            (Some(cutoff), Some(time)) => time >= cutoff,
            _ => true,
        };
        let (tail_pending, window_pending) = match pending {
            Some((route, bytes)) => (
                if route.tail { bytes } else { 0 },
                if route.window { bytes } else { 0 },
            ),
            None => (0, 0),
        };
        let written = keeper.written + window_pending;
        let window = !keeper.full && time.is_some_and(|t| keeper.filter.windows.contains(t));
        if window && (written >= keeper.limit || keeper.in_tail.len() >= MAX_INDEXED_LINES) {
            keeper.full = true;
        }
        let route = Route {
            tail,
            window: window && !keeper.full,
        };
        if route.window && route.tail {
            let offset = self.total + tail_pending;
            // What the tail no longer holds cannot be a duplicate: its index entry can go.
            let oldest_held = offset.saturating_sub(2 * self.limit);
            while keeper
                .in_tail
                .front()
                .is_some_and(|(_, at)| *at < oldest_held)
            {
                keeper.in_tail.pop_front();
            }
            keeper.in_tail.push_back((written, offset));
        }
        route
    }

    fn emit(&mut self, keeper: &mut WindowKeeper, route: Route, bytes: &[u8]) -> io::Result<()> {
        if route.window {
            if keeper.file.is_none() {
                let path = self.dir.join(format!("{}.windows", self.stem));
                let file = BufWriter::new(File::create(&path)?);
                keeper.file = Some((path, file));
            }
            if let Some((_, file)) = keeper.file.as_mut() {
                file.write_all(bytes)?;
                keeper.written += bytes.len() as u64;
            }
        } else if !route.tail {
            keeper.dropped_before_since += bytes.len() as u64;
        }
        if route.tail {
            self.store(bytes)?;
        }
        Ok(())
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
        self.route(&tail)?;
        if let Some(mut keeper) = self.keeper.take() {
            if !keeper.head.is_empty() {
                self.start_held_line(&mut keeper)?;
            }
            self.keeper = Some(keeper);
        }
        let mut segments = Vec::new();
        if let Some((path, len)) = self.previous.take() {
            segments.push((path, len));
        }
        if let Some(mut segment) = self.current.take() {
            segment.file.flush()?;
            segments.push((segment.path, segment.len));
        }
        let held: u64 = segments.iter().map(|(_, len)| len).sum();
        let mut skip = held.saturating_sub(self.limit);
        let dropped = self.dropped || skip > 0;
        if dropped {
            skip = aligned_to_line(&segments, skip)?;
        }
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
        let mut windowed = None;
        if let Some(keeper) = self.keeper.take() {
            // The tail begins at this offset of everything it was sent: window lines from there on are in it.
            let tail_start = self.total - (held - skip);
            let kept = keeper
                .in_tail
                .iter()
                .find(|(_, offset)| *offset >= tail_start)
                .map_or(keeper.written, |(position, _)| *position);
            if let Some((path, mut file)) = keeper.file {
                file.flush()?;
                drop(file);
                if kept > 0 {
                    windowed = Some((path, kept));
                    reasons.push(format!(
                        "and, before them, {kept} bytes of older lines in the windows of failed backups and \
                         restores (scope.logWindows){}",
                        if keeper.full {
                            "; more window lines were not kept"
                        } else {
                            ""
                        }
                    ));
                } else {
                    let _ = std::fs::remove_file(path);
                }
            }
            if keeper.dropped_before_since > 0 {
                reasons.push(format!(
                    "left out {} bytes of lines before --since that no window holds",
                    keeper.dropped_before_since
                ));
            }
        }
        Ok(Spooled {
            windowed,
            segments,
            skip,
            total: self.total,
            truncated: (!reasons.is_empty()).then(|| reasons.join("; ")),
            redactions: self.redaction.into_counts(),
        })
    }
}

/// `skip` moved past the partial line it falls in, unless the rest is that one line.
fn aligned_to_line(segments: &[(PathBuf, u64)], skip: u64) -> io::Result<u64> {
    let window: u64 = segments.iter().map(|(_, len)| len).sum::<u64>() - skip;
    let mut partial = Vec::new();
    let read = io::BufRead::read_until(
        &mut BufReader::new(window_of(segments, skip)?),
        b'\n',
        &mut partial,
    )? as u64;
    Ok(if partial.ends_with(b"\n") && read < window {
        skip + read
    } else {
        skip
    })
}

/// The bytes of `segments` from `skip` on.
fn window_of(segments: &[(PathBuf, u64)], mut skip: u64) -> io::Result<Box<dyn Read>> {
    let mut chain: Box<dyn Read> = Box::new(io::empty());
    for (path, len) in segments {
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
    /// A reader over the kept bytes: the window lines, then the tail from a line boundary.
    pub(super) fn reader(&self) -> io::Result<impl Read + use<>> {
        let windowed: Box<dyn Read> = match &self.windowed {
            Some((path, len)) => Box::new(BufReader::new(File::open(path)?).take(*len)),
            None => Box::new(io::empty()),
        };
        Ok(windowed.chain(window_of(&self.segments, self.skip)?))
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
        // Logs are deflated fast: they are most of a bundle's bytes. So are the small JSON downloads
        // (a backup's results) written between a backup's logs: the zip crate keeps one encoder, for one
        // level, and a level changed at every other entry made glibc keep ~60 MiB of freed encoder
        // states (peak RSS 65 -> 125-130 MiB collecting the 1 GiB scale scenario; 65 MiB with
        // MALLOC_MMAP_THRESHOLD_ fixed, BENCHMARKS.md).
        let mut out = writer.entry_deflated(entry, Deflate::Fast)?;
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
        for (path, _) in self.segments.into_iter().chain(self.windowed) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::windows::LogWindows;

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

    fn windowed_text(
        limit: u64,
        since_cutoff: Option<&str>,
        chunk: usize,
        log: &str,
    ) -> (String, Spooled) {
        let mut windows = LogWindows::default();
        let failed = serde_json::json!({"metadata": {"name": "bad"}, "status": {"phase": "Failed",
            "startTimestamp": "2026-11-24T02:10:00Z", "completionTimestamp": "2026-11-24T02:20:00Z"}});
        windows.add(
            "backup",
            &[failed],
            &["bad".to_string()],
            "2026-11-25T00:00:00Z".parse().unwrap(),
        );
        let filter = LineFilter {
            windows: Arc::new(windows),
            since_cutoff: since_cutoff.map(|c| c.parse().unwrap()),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path(), "log", limit).keeping_windows(Some(filter));
        for piece in log.as_bytes().chunks(chunk) {
            spool.push(piece).unwrap();
        }
        let spooled = spool.finish().unwrap();
        let mut text = String::new();
        spooled.reader().unwrap().read_to_string(&mut text).unwrap();
        (text, spooled)
    }

    /// One logrus line a minute from 02:00 to 03:59, a stack trace (no time) after 02:15's.
    fn hours_of_log() -> String {
        let mut log = String::new();
        for minute in 0..120 {
            log.push_str(&format!(
                "time=\"2026-11-24T{:02}:{:02}:00Z\" level=info msg=\"tick {minute:03}\"\n",
                2 + minute / 60,
                minute % 60
            ));
            if minute == 15 {
                log.push_str("goroutine 1 [running]:\n");
            }
        }
        log
    }

    #[test]
    fn lines_in_a_failed_backup_s_window_are_kept_before_the_tail_once() {
        let log = hours_of_log();
        for chunk in [1, 7, 4096] {
            let (text, spooled) = windowed_text(1400, None, chunk, &log);
            let lines: Vec<&str> = text.lines().collect();
            // 02:05 to 02:25 (the window with its five minutes' slack), the untimed line with its own, then
            // the newest lines.
            assert!(lines[0].contains("tick 005"), "{chunk}: {lines:?}");
            assert_eq!(lines[11], "goroutine 1 [running]:");
            assert!(lines[21].contains("tick 025"), "{chunk}: {lines:?}");
            assert!(lines[22].contains("tick 09"), "{chunk}: {lines:?}");
            assert!(text.ends_with("tick 119\"\n"));
            assert_eq!(text.matches("tick 010").count(), 1);
            let reason = spooled.truncated.unwrap();
            assert!(reason.contains("kept the newest"), "{reason}");
            assert!(reason.contains("windows of failed backups"), "{reason}");
        }
    }

    #[test]
    fn window_lines_the_tail_holds_are_not_repeated() {
        let (text, spooled) = windowed_text(1 << 20, None, 64, &hours_of_log());
        assert_eq!(text, hours_of_log());
        assert_eq!(spooled.truncated, None);
    }

    #[test]
    fn lines_before_since_are_left_out_unless_a_window_holds_them() {
        let (text, spooled) =
            windowed_text(1 << 20, Some("2026-11-24T03:30:00Z"), 13, &hours_of_log());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("tick 005"), "{lines:?}");
        assert!(lines[21].contains("tick 025"), "{lines:?}");
        assert!(lines[22].contains("tick 090"), "{lines:?}");
        assert_eq!(lines.len(), 22 + 30);
        let reason = spooled.truncated.unwrap();
        assert!(reason.contains("before --since"), "{reason}");
    }

    #[test]
    fn window_lines_stop_at_the_limit_and_say_so() {
        let (text, spooled) = windowed_text(400, None, 4096, &hours_of_log());
        // As many bytes as the tail, whole lines: the window's first ones.
        let window: Vec<&str> = text.lines().take_while(|l| !l.contains("tick 1")).collect();
        assert!(window[0].contains("tick 005"), "{window:?}");
        assert!(window.iter().map(|l| l.len() + 1).sum::<usize>() <= 400 + 60);
        assert!(
            spooled
                .truncated
                .unwrap()
                .contains("more window lines were not kept")
        );
    }
}
