//! One pass over a log for every rule that applies to it.
//!
//! The log is read in blocks of whole lines (a block is cut after its last newline; the rest is carried into the
//! next). When every pattern has phrases one of which each of its matches must hold (engine::literals), an
//! Aho-Corasick search for those phrases finds the next line worth checking, and on that line only the regexes
//! of the patterns whose phrases it holds run. Otherwise one multi-pattern automaton (`meta::Regex::new_many`,
//! multi-line mode) searches the whole block for the leftmost match of any pattern, and a `RegexSet` of the same
//! patterns says which of them match the line around it. Either way the search resumes at the next line.
//! Because either search is leftmost, no line holding a match can be skipped: a hit that spans lines (a pattern
//! with `\s`) only costs one line's check. Memory is one block, whatever the log's size; a line longer than a
//! block is scanned in overlapping windows, all reported under its one line number.
use std::io::{self, Read};

use regex_automata::Input;
use regex_automata::meta;
use regex_automata::util::syntax;

/// Bytes read per block.
pub const BLOCK_SIZE: usize = 1 << 20;
/// How much of a window of an over-long line is searched again with the next window, so that a match across the
/// cut is still seen (a signature longer than this, inside a line longer than a block, could be missed).
const MAX_OVERLAP: usize = 8 << 10;

/// Largest literal prefilter kept (its DFA's memory); a larger one is dropped for the automaton alone.
const MAX_PREFILTER_BYTES: usize = 32 << 20;

/// Longest pattern text a rule may have (the 68 built-in log rules' longest is under 1 KiB).
pub(crate) const MAX_PATTERN_LEN: usize = 64 << 10;
/// Compiled size (Thompson NFA, the scanner's own syntax) one pattern may have.
pub(crate) const PATTERN_SIZE_LIMIT: usize = 2 << 20;

/// Whether `pattern` fits the limits the scanner compiles it under. Rules are checked with it as they load,
/// for `rules lint` and for analysis alike (one loader), so a rule lint passes is one analysis compiles. The
/// regex crate's own `size_limit` does not refuse a huge alternation of literals (it searches one with
/// Aho-Corasick and never builds the automaton the limit applies to), but the scanner's multi-pattern
/// automaton and `RegexSet` do build it: a rule of 200,000 literals passed and then took 6 GiB.
pub(crate) fn check_pattern_size(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "is {} bytes long; a pattern may be at most {} KiB",
            pattern.len(),
            MAX_PATTERN_LEN >> 10
        ));
    }
    match regex_automata::nfa::thompson::Compiler::new()
        .syntax(scanner_syntax())
        .configure(
            regex_automata::nfa::thompson::Config::new()
                .nfa_size_limit(Some(PATTERN_SIZE_LIMIT))
                .shrink(false),
        )
        .build(pattern)
    {
        Err(e) if e.size_limit().is_some() => Err(format!(
            "exceeds the log scanner's size limit ({} MiB per pattern, compiled)",
            PATTERN_SIZE_LIMIT >> 20
        )),
        // Other problems (syntax, look-around) are the regex crate's to name, as before.
        _ => Ok(()),
    }
}

fn scanner_syntax() -> syntax::Config {
    syntax::Config::new().multi_line(true).crlf(true)
}

/// A line in which at least one pattern matched.
#[derive(Debug)]
pub struct ScannedLine<'a> {
    /// 1-based.
    pub number: u64,
    /// Without its newline (and without a `\r` before it).
    pub text: &'a [u8],
    /// Indexes of the patterns that match this line.
    pub patterns: &'a [usize],
    /// True when `text` is a window of a line longer than a block.
    pub partial: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub bytes: u64,
    pub lines: u64,
}

/// All log rules' patterns, searched for together, so each log is read once for every rule.
#[derive(Debug)]
pub struct LogScanner {
    search: Search,
    block_size: usize,
}

/// How a scan finds the lines to check, and which patterns match each.
#[derive(Debug)]
enum Search {
    /// Every pattern has phrases one of which each of its matches holds (engine::literals): the blocks are
    /// searched for the phrases, and on a line holding some only the regexes of the patterns they came from run.
    Phrases {
        prefilter: Prefilter,
        /// Per phrase of `prefilter`, the patterns it came from (ascending).
        owners: Vec<Vec<usize>>,
        /// Per pattern, its own regex (a rule's, as it loaded): most lines need one or two of them, not a
        /// `RegexSet` of every pattern with its own automaton and caches.
        regexes: Vec<regex::bytes::Regex>,
    },
    /// Some pattern has no phrase: one multi-pattern automaton searches every byte.
    Automaton(Box<Automaton>),
}

#[derive(Debug)]
struct Automaton {
    automaton: meta::Regex,
    /// Which patterns match the line the automaton stopped on.
    per_line: regex::bytes::RegexSet,
    /// Lazy-DFA caches of earlier scans. The automaton's DFA states are built as the text needs them and live
    /// in its cache: a fresh cache for every log would build them again for each file (measured: 2.4x slower
    /// over the 222 logs of a scale bundle, BENCHMARKS.md).
    caches: std::sync::Mutex<Vec<meta::Cache>>,
}

impl Automaton {
    fn new<P: AsRef<str>>(patterns: &[P]) -> Result<Automaton, String> {
        let automaton = meta::Builder::new()
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(256 << 20))
                    .hybrid_cache_capacity(16 << 20),
            )
            .syntax(scanner_syntax())
            .build_many(patterns)
            .map_err(|e| format!("log patterns do not compile together: {e}"))?;
        let per_line = regex::bytes::RegexSetBuilder::new(patterns)
            .size_limit(256 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .map_err(|e| format!("log patterns do not compile together: {e}"))?;
        Ok(Automaton {
            automaton,
            per_line,
            caches: std::sync::Mutex::new(Vec::new()),
        })
    }
}

impl LogScanner {
    /// Compiles the patterns (rule regexes, already validated one by one).
    pub fn new<P: AsRef<str>>(patterns: &[P]) -> Result<LogScanner, String> {
        let regexes = patterns
            .iter()
            .map(|pattern| {
                regex::bytes::RegexBuilder::new(pattern.as_ref())
                    .size_limit(256 << 20)
                    .build()
                    .map_err(|e| format!("log pattern does not compile: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        LogScanner::with_regexes(patterns, regexes)
    }

    /// The scanner of `patterns`, whose regexes are compiled already (`regexes[i]` is `patterns[i]`'s, with
    /// the regex crate's default syntax, as rules compile theirs): the analysis passes its rules' own.
    pub(crate) fn with_regexes<P: AsRef<str>>(
        patterns: &[P],
        regexes: Vec<regex::bytes::Regex>,
    ) -> Result<LogScanner, String> {
        let prefilter = super::literals::prefilter_literals(patterns, &scanner_syntax())
            .and_then(|(phrases, owners)| Some((Prefilter::new(&phrases)?, owners)));
        let search = match prefilter {
            Some((prefilter, owners)) if regexes.len() == patterns.len() => Search::Phrases {
                prefilter,
                owners,
                regexes,
            },
            _ => Search::Automaton(Box::new(Automaton::new(patterns)?)),
        };
        Ok(LogScanner {
            search,
            block_size: BLOCK_SIZE,
        })
    }

    /// The scanner of `patterns` searching every byte with the multi-pattern automaton (benchmarks and tests
    /// compare the two).
    pub fn without_prefilter<P: AsRef<str>>(patterns: &[P]) -> Result<LogScanner, String> {
        Ok(LogScanner {
            search: Search::Automaton(Box::new(Automaton::new(patterns)?)),
            block_size: BLOCK_SIZE,
        })
    }

    /// Whether the literal prefilter is in use (every pattern has a phrase its matches must hold).
    pub fn has_prefilter(&self) -> bool {
        matches!(self.search, Search::Phrases { .. })
    }

    /// The anchors the prefilter searches for with Teddy (engine::anchors), if it does (rather than for its
    /// phrases).
    pub fn anchors(&self) -> Option<&[Vec<u8>]> {
        match &self.search {
            Search::Phrases {
                prefilter: Prefilter::Anchored { anchor_bytes, .. },
                ..
            } => Some(anchor_bytes),
            _ => None,
        }
    }

    /// Another block size (tests use small ones to put lines across block boundaries). At least 64 bytes.
    pub fn with_block_size(mut self, block_size: usize) -> LogScanner {
        self.block_size = block_size.max(64);
        self
    }

    /// Reads `reader` to its end and calls `on_line` for every line some pattern matches, in order.
    pub fn scan(
        &self,
        mut reader: impl Read,
        on_line: &mut dyn FnMut(ScannedLine<'_>),
    ) -> io::Result<ScanStats> {
        let Search::Automaton(automaton) = &self.search else {
            return self.scan_with(&mut reader, None, on_line);
        };
        let mut cache = automaton
            .caches
            .lock()
            .ok()
            .and_then(|mut caches| caches.pop())
            .unwrap_or_else(|| automaton.automaton.create_cache());
        let result = self.scan_with(&mut reader, Some(&mut cache), on_line);
        if let Ok(mut caches) = automaton.caches.lock() {
            caches.push(cache);
        }
        result
    }

    fn scan_with(
        &self,
        reader: &mut impl Read,
        mut cache: Option<&mut meta::Cache>,
        on_line: &mut dyn FnMut(ScannedLine<'_>),
    ) -> io::Result<ScanStats> {
        let overlap = MAX_OVERLAP.min(self.block_size / 4);
        let mut buffer = vec![0u8; self.block_size];
        let mut candidates = Vec::new();
        let mut matched = Vec::new();
        let mut folded = Folded::default();
        let mut filled = 0;
        // Number of the line that starts at buffer[0].
        let mut line = 1u64;
        // buffer[0] is inside a line begun in an earlier block (a line longer than a block).
        let mut continuing = false;
        let mut stats = ScanStats::default();
        let mut last_byte = None;
        loop {
            let (read, eof) = fill(reader, &mut buffer[filled..])?;
            stats.bytes += read as u64;
            filled += read;
            if read > 0 {
                last_byte = Some(buffer[filled - 1]);
            }
            if filled == 0 {
                break;
            }
            let cut = if eof {
                filled
            } else {
                match memchr::memrchr(b'\n', &buffer[..filled]) {
                    Some(newline) => newline + 1,
                    None => 0,
                }
            };
            let mut block = Block {
                search: &self.search,
                cache: cache.as_deref_mut(),
                candidates: &mut candidates,
                matched: &mut matched,
                folded: &mut folded,
                line,
                first_partial: continuing,
            };
            if cut == 0 {
                // A full block without a newline: one window of an over-long line.
                block.first_partial = true;
                block.search(&buffer[..filled], on_line);
                buffer.copy_within(filled - overlap..filled, 0);
                filled = overlap;
                continuing = true;
                continue;
            }
            let newlines = block.search(&buffer[..cut], on_line);
            line += newlines;
            stats.lines += newlines;
            continuing = false;
            buffer.copy_within(cut..filled, 0);
            filled -= cut;
            if eof {
                break;
            }
        }
        if last_byte.is_some_and(|b| b != b'\n') {
            stats.lines += 1;
        }
        Ok(stats)
    }
}

/// How the scanner finds the lines worth checking without running the automaton over every byte.
#[derive(Debug)]
enum Prefilter {
    /// Teddy (SIMD) over a few short lowercase anchors covering every phrase (engine::anchors), searching
    /// each block lowercased; a line it stops on is then searched for the phrases themselves, as written.
    Anchored {
        anchors: aho_corasick::packed::Searcher,
        /// What `anchors` searches for (benchmarks print them).
        anchor_bytes: Vec<Vec<u8>>,
        phrases: aho_corasick::AhoCorasick,
    },
    /// The phrases alone, when no small anchor set covers them (Aho-Corasick's DFA over every byte).
    Phrases(aho_corasick::AhoCorasick),
}

impl Prefilter {
    fn new(phrases: &[super::literals::Phrase]) -> Option<Prefilter> {
        // A full DFA: the default (a contiguous NFA for this many phrases) searched the scale logs at 280 MB/s,
        // slower than the multi-pattern automaton; the DFA at 500 MB/s (3.7 MB for the built-in phrases).
        // `MatchKind::Standard` (the default), which the search for every phrase of a line needs.
        let automaton = aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .ascii_case_insensitive(phrases.iter().any(|p| p.case_insensitive))
            .build(phrases.iter().map(|p| &p.bytes))
            .ok()
            // Thousands of user rules could make the DFA large: past this, the automaton alone.
            .filter(|phrases| phrases.memory_usage() <= MAX_PREFILTER_BYTES)?;
        let anchors = super::anchors::anchors(phrases).and_then(|anchor_bytes| {
            let mut config = aho_corasick::packed::Config::new();
            config.only_teddy(true);
            let searcher = config.builder().extend(&anchor_bytes).build()?;
            Some((searcher, anchor_bytes))
        });
        Some(match anchors {
            Some((anchors, anchor_bytes)) => Prefilter::Anchored {
                anchors,
                anchor_bytes,
                phrases: automaton,
            },
            None => Prefilter::Phrases(automaton),
        })
    }

    fn phrases(&self) -> &aho_corasick::AhoCorasick {
        match self {
            Prefilter::Anchored { phrases, .. } | Prefilter::Phrases(phrases) => phrases,
        }
    }

    /// Where, at or after `cursor`, the next line holding a phrase has one (an anchor's start, with anchors);
    /// `candidates` then holds the patterns whose phrases that line holds, ascending. The anchors are searched
    /// for in `text` lowercased, a window at a time (`folded`).
    fn next_candidate(
        &self,
        text: &[u8],
        folded: &mut Folded,
        owners: &[Vec<usize>],
        candidates: &mut Vec<usize>,
        mut cursor: usize,
    ) -> Option<usize> {
        loop {
            let hit = match self {
                Prefilter::Phrases(phrases) => phrases
                    .find(aho_corasick::Input::new(text).span(cursor..text.len()))?
                    .start(),
                Prefilter::Anchored { anchors, .. } => folded.find(anchors, text, cursor)?,
            };
            let start =
                memchr::memrchr(b'\n', &text[cursor..hit]).map_or(cursor, |i| cursor + i + 1);
            let end = memchr::memchr(b'\n', &text[hit..]).map_or(text.len(), |i| hit + i);
            self.owners_in(&text[start..end], owners, candidates);
            if !candidates.is_empty() {
                return Some(hit);
            }
            if end == text.len() {
                return None;
            }
            cursor = end + 1;
        }
    }

    /// The patterns owning a phrase `line` holds, ascending, into `candidates`.
    fn owners_in(&self, line: &[u8], owners: &[Vec<usize>], candidates: &mut Vec<usize>) {
        candidates.clear();
        match self.phrases().try_find_overlapping_iter(line) {
            Ok(hits) => {
                for hit in hits {
                    candidates.extend_from_slice(&owners[hit.pattern().as_usize()]);
                }
                candidates.sort_unstable();
                candidates.dedup();
            }
            // Not reached (the automaton is built for overlapping search): every pattern is then checked.
            Err(_) => candidates.extend(0..owners.iter().flatten().max().map_or(0, |m| m + 1)),
        }
    }
}

/// Bytes of a block lowercased at a time for the anchors' search: a window, not the block, so that the copy
/// stays in the CPU's cache and each scanning thread holds 64 KiB more, not a block more.
const FOLD_WINDOW: usize = 64 << 10;

/// A window of a block's text, lowercased: the anchors are lowercase, so one Teddy pattern finds an anchor
/// in any case (engine::anchors).
#[derive(Debug, Default)]
struct Folded {
    text: Vec<u8>,
    /// Where in the block `text` starts.
    start: usize,
}

impl Folded {
    /// The window belongs to another block's text.
    fn forget(&mut self) {
        self.text.clear();
        self.start = 0;
    }

    /// Where the first anchor at or after `from` starts in `block`.
    fn find(
        &mut self,
        anchors: &aho_corasick::packed::Searcher,
        block: &[u8],
        mut from: usize,
    ) -> Option<usize> {
        let overlap = super::anchors::ANCHOR_LEN - 1;
        loop {
            if from >= block.len() {
                return None;
            }
            let end = self.start + self.text.len();
            // Refolded at `from` when it lies outside the window, or so near its end (before the block's end)
            // that an anchor starting there would not fit.
            if from < self.start || from >= end || (end < block.len() && end - from <= overlap) {
                let window = &block[from..(from + FOLD_WINDOW).min(block.len())];
                self.text.clear();
                self.text.extend_from_slice(window);
                self.text.make_ascii_lowercase();
                self.start = from;
            }
            let end = self.start + self.text.len();
            let span = aho_corasick::Span::from(from - self.start..self.text.len());
            if let Some(hit) = anchors.find_in(&self.text, span) {
                return Some(self.start + hit.start());
            }
            if end == block.len() {
                return None;
            }
            // An anchor that starts in the window's last bytes ends past it: searched again in the next.
            from = end - overlap;
        }
    }
}

struct Block<'s, 'c> {
    search: &'s Search,
    /// The automaton's cache, when it searches.
    cache: Option<&'c mut meta::Cache>,
    /// The patterns whose phrases the line being checked holds.
    candidates: &'c mut Vec<usize>,
    matched: &'c mut Vec<usize>,
    /// A window of the block's text lowercased, when the anchors are searched for.
    folded: &'c mut Folded,
    /// Number of the line starting at the block's first byte.
    line: u64,
    /// The block starts inside a line (the tail of an over-long line, or a window of one).
    first_partial: bool,
}

impl Block<'_, '_> {
    /// Where the next line worth checking has something: a prefilter phrase (and `candidates` the patterns
    /// owning the line's phrases), or the start of the automaton's leftmost match.
    fn next_candidate(&mut self, text: &[u8], cursor: usize) -> Option<usize> {
        match self.search {
            Search::Phrases {
                prefilter, owners, ..
            } => prefilter.next_candidate(text, self.folded, owners, self.candidates, cursor),
            Search::Automaton(automaton) => {
                let input = Input::new(text).span(cursor..text.len());
                let cache = self.cache.as_deref_mut()?;
                automaton
                    .automaton
                    .search_with(cache, &input)
                    .map(|hit| hit.start())
            }
        }
    }

    /// Which patterns match `body`, the line `next_candidate` stopped on, ascending, into `matched`.
    fn check_line(&mut self, body: &[u8]) {
        self.matched.clear();
        match self.search {
            Search::Phrases { regexes, .. } => self.matched.extend(
                self.candidates
                    .iter()
                    .copied()
                    .filter(|&pattern| regexes[pattern].is_match(body)),
            ),
            Search::Automaton(automaton) => {
                self.matched.extend(automaton.per_line.matches(body).iter());
            }
        }
    }

    /// Searches `text` (whole lines, the last possibly without a newline); returns the newlines it holds.
    fn search(&mut self, text: &[u8], on_line: &mut dyn FnMut(ScannedLine<'_>)) -> u64 {
        if let Search::Phrases {
            prefilter: Prefilter::Anchored { .. },
            ..
        } = self.search
        {
            self.folded.forget();
        }
        let mut cursor = 0;
        let mut line = self.line;
        while cursor < text.len() {
            let Some(hit_start) = self.next_candidate(text, cursor) else {
                break;
            };
            let start =
                memchr::memrchr(b'\n', &text[cursor..hit_start]).map_or(cursor, |i| cursor + i + 1);
            line += count_newlines(&text[cursor..start]);
            let end =
                memchr::memchr(b'\n', &text[hit_start..]).map_or(text.len(), |i| hit_start + i);
            let mut body = &text[start..end];
            if let Some(stripped) = body.strip_suffix(b"\r") {
                body = stripped;
            }
            self.check_line(body);
            if !self.matched.is_empty() {
                on_line(ScannedLine {
                    number: line,
                    text: body,
                    patterns: self.matched,
                    partial: self.first_partial && start == 0,
                });
            }
            if end == text.len() {
                return line - self.line;
            }
            cursor = end + 1;
            line += 1;
        }
        line - self.line + count_newlines(&text[cursor.min(text.len())..])
    }
}

/// Newlines in `bytes` (the timeline counts its lines with it too).
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Reads until `buffer` is full or the reader ends; returns (bytes read, reached the end).
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut read = 0;
    while read < buffer.len() {
        match reader.read(&mut buffer[read..]) {
            Ok(0) => return Ok((read, true)),
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((read, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_across_the_folded_windows_are_all_found_in_any_case() {
        let anchors: Vec<&[u8]> = vec![b"xq9z", b"kw7"];
        let mut config = aho_corasick::packed::Config::new();
        config.only_teddy(true);
        let searcher = config.builder().extend(&anchors).build().unwrap();
        // Filler without an anchor, with anchors in mixed case placed across and beside every window's end.
        let mut block = vec![b'.'; 3 * FOLD_WINDOW + 100];
        let mut placed = Vec::new();
        // Starting 1, 2 and 3 bytes before a window's end (across it), 4 before (its last whole anchor).
        for (window, back) in [(1, 1), (2, 2), (3, 3), (2, 40), (1, FOLD_WINDOW / 2)] {
            let at = window * FOLD_WINDOW - back;
            block[at..at + 4].copy_from_slice(b"XQ9z");
            placed.push(at);
        }
        let at = 3 * FOLD_WINDOW - 4 - 20;
        block[at..at + 4].copy_from_slice(b"xQ9Z");
        placed.push(at);
        let tail = block.len() - 3;
        block[tail..].copy_from_slice(b"Kw7");
        placed.push(tail);
        placed.sort_unstable();
        let mut folded = Folded::default();
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = folded.find(&searcher, &block, from) {
            found.push(at);
            from = at + 1;
        }
        assert_eq!(found, placed);
    }
}
