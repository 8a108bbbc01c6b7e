//! The cheap checks that let an ordinary log line through without running the redaction regexes: nearly
//! no line holds a credential, and the rules' `RegexSet` (Unicode `\b` and `\w`, its lazy DFA giving up
//! to the PikeVM) was a third of a collection's CPU. Each check only ever says "no rule can match";
//! whenever it cannot say so, the rules decide as before, so the fast path never redacts less.
use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

/// Non-ASCII letters that a `(?i)` rule matches in place of an ASCII letter. Rust's regex folds case by
/// Unicode simple case folding, under which only these two equal ASCII letters: KELVIN SIGN (U+212A) is
/// `k`, LATIN SMALL LETTER LONG S (U+017F) is `s` (the unit tests check this over every `char`).
pub(super) const FOLDS_TO_ASCII: [&str; 2] = ["\u{212A}", "\u{17F}"];

/// Every string some rule's match must hold, searched for in one line or in a block of lines.
pub(super) struct RuleLiterals {
    /// One line as it is: the automaton folds ASCII case itself, byte at a time.
    line: AhoCorasick,
    /// A block of many lines lowered to ASCII lower case first ([`lower_ascii`]): matched case-sensitively,
    /// which lets the search use SIMD (Teddy) over the block instead of a DFA step per byte (ASCII case
    /// folding rules SIMD out), and skip every line between two hits at once.
    lowered: LoweredSearch,
}

/// A case-sensitive search for the lowered strings: Teddy when this CPU has it, else an automaton.
enum LoweredSearch {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl RuleLiterals {
    /// `needs`: each rule's strings, one of which every match of it holds (ASCII case aside).
    pub(super) fn new<'a>(needs: impl IntoIterator<Item = &'a str>) -> RuleLiterals {
        let mut literals: Vec<&str> = needs.into_iter().collect();
        literals.extend(FOLDS_TO_ASCII);
        literals.sort_unstable();
        literals.dedup();
        // A string holding a line end could span two lines, and a block's hit would then fall in the
        // wrong one.
        assert!(literals.iter().all(|l| !l.is_empty() && !l.contains('\n')));
        let line = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&literals)
            .unwrap_or_else(|e| panic!("redaction literals do not build: {e}"));
        let mut lowered: Vec<Vec<u8>> =
            literals.iter().map(|l| lower_ascii(l.as_bytes())).collect();
        lowered.sort_unstable();
        lowered.dedup();
        let lowered = match packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&lowered)
            .build()
        {
            Some(searcher) => LoweredSearch::Packed(searcher),
            None => LoweredSearch::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&lowered)
                    .unwrap_or_else(|e| panic!("redaction literals do not build: {e}")),
            ),
        };
        RuleLiterals { line, lowered }
    }

    /// Whether some rule could match `text`: false only when `text` holds none of the strings.
    pub(super) fn may_match(&self, text: &[u8]) -> bool {
        self.line.is_match(text)
    }

    /// Where the first string at or after `from` starts in `lowered` (a text lowered by [`lower_ascii`]):
    /// no string starts in `lowered[from..hit]`, and none at all after `from` when `None`. No string holds a
    /// line end, so a line wholly inside `lowered[from..hit]` holds none.
    pub(super) fn next_in_lowered(&self, lowered: &[u8], from: usize) -> Option<usize> {
        match &self.lowered {
            LoweredSearch::Packed(searcher) => searcher
                .find_in(lowered, aho_corasick::Span::from(from..lowered.len()))
                .map(|hit| hit.start()),
            LoweredSearch::Automaton(automaton) => automaton
                .find(Input::new(lowered).range(from..))
                .map(|hit| hit.start()),
        }
    }
}

/// `text` with ASCII upper case lowered and every other byte as it was: a string occurs in it exactly
/// where the string lowered occurs ASCII-case-insensitively in `text`.
pub(super) fn lower_ascii(text: &[u8]) -> Vec<u8> {
    let mut lowered = text.to_vec();
    lowered.make_ascii_lowercase();
    lowered
}

/// How long a run of base64 is before it is decoded and checked (`BASE64_RUN` in rules.rs).
pub(super) const BASE64_MIN_RUN: usize = 20;

const fn base64_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
        b += 1;
    }
    table
}

static IS_BASE64: [bool; 256] = base64_table();

/// The runs `[A-Za-z0-9+/]{20,}={0,2}` finds, left to right, as `find_iter` would (a run is maximal,
/// so the leftmost match starts where the run does and takes all of it and up to two `=`), found by a
/// table lookup per byte instead of the regex's automaton.
pub(super) fn base64_runs(text: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < text.len() {
            if !IS_BASE64[usize::from(text[at])] {
                at += 1;
                continue;
            }
            let start = at;
            while at < text.len() && IS_BASE64[usize::from(text[at])] {
                at += 1;
            }
            if at - start >= BASE64_MIN_RUN {
                let mut end = at;
                while end < text.len() && end - at < 2 && text[end] == b'=' {
                    end += 1;
                }
                at = end;
                return Some(start..end);
            }
        }
        None
    })
}

/// Whether a line may be a YAML block scalar's header (`YAML_BLOCK_HEADER` in mod.rs): that regex needs
/// a `|` or a `>`.
pub(super) fn may_open_yaml_block(line: &[u8]) -> bool {
    memchr::memchr2(b'|', b'>', line).is_some()
}

/// Whether a line may be `- name: X` (`YAML_NAME` in mod.rs): the regex's start, `^[ \t]*(?:-[ \t]+)?["']?name`,
/// read by hand.
pub(super) fn may_be_yaml_name(line: &[u8]) -> bool {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let skip_blanks = |text: &[u8]| -> usize { text.iter().take_while(|b| blank(b)).count() };
    let mut rest = &line[skip_blanks(line)..];
    if let Some(after_dash) = rest.strip_prefix(b"-") {
        if !after_dash.first().is_some_and(blank) {
            return false;
        }
        rest = &after_dash[skip_blanks(after_dash)..];
    }
    if let Some(unquoted) = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")) {
        rest = unquoted;
    }
    rest.starts_with(b"name")
}
