//! Anchors of the literal prefilter: a few 4-byte lowercase strings, one of which every prefilter phrase
//! contains when lowercased.
//!
//! The prefilter's phrases (engine::literals, 225 for the built-in rules) are too many for aho-corasick's SIMD
//! searcher (Teddy, at most 64 patterns by its own heuristics), so it ran a DFA over every byte at about
//! 500 MB/s, little faster than the rules' automaton (BENCHMARKS.md, "Log-scan throughput"). A line that holds a
//! phrase holds every substring of it, so a set of short substrings covering every phrase finds every line worth
//! checking: Teddy searches for those, and only the lines it stops on are searched for the phrases themselves.
//! The scanner searches a lowercased copy of each block, so an anchor is one pattern whatever case the log
//! spells it in (spelled out in every case, the 78 anchors of the built-in rules were 126 patterns, two Teddy
//! searchers each reading every byte). The anchors are chosen to be rare in logs (no part of a word every
//! Velero line has, few spaces and common letters), and to be few: each may cover several phrases.
use std::collections::HashMap;

use super::literals::{COMMON_WORDS, Phrase};

/// Most anchors: one Teddy searcher takes 64 (past that one searcher slows down many times: engine::scan).
pub(crate) const MAX_ANCHORS: usize = 64;

/// Length of an anchor: Teddy tells candidates apart by up to 4 leading bytes, so a 4-byte anchor's hits are
/// exact up to bucket collisions. A phrase of 3 bytes is its own anchor.
pub(crate) const ANCHOR_LEN: usize = 4;

/// A lowercase substring of some phrases lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Candidate {
    bytes: Vec<u8>,
}

impl Candidate {
    /// Estimated share of log positions where the anchor starts: the product of its bytes' estimated
    /// frequencies, far more when it spans a word boundary, holds one of English's most common trigrams or is
    /// part of a word most Velero log lines hold.
    fn rate(&self, ordinary: &OrdinaryCounts) -> f64 {
        let mut rate: f64 = self
            .bytes
            .iter()
            .map(|&b| {
                if b.is_ascii_alphabetic() {
                    byte_frequency(b) + byte_frequency(b.to_ascii_uppercase())
                } else {
                    byte_frequency(b)
                }
            })
            .product();
        // Seen in ordinary log lines: as often as it was seen there, whatever the estimate says.
        rate += ordinary.share(self);
        let lower = &self.bytes;
        let within = |word: &[u8]| {
            word.len() >= lower.len() && word.windows(lower.len()).any(|w| w == lower)
        };
        let holds = |part: &[u8]| lower.windows(part.len()).any(|w| w == part);
        if COMMON_WORDS.iter().any(|word| within(word.as_bytes())) {
            rate *= 100.0;
        }
        if lower.contains(&b' ') {
            rate *= 30.0;
        }
        if COMMON_TRIGRAMS
            .iter()
            .any(|trigram| holds(trigram.as_bytes()))
        {
            rate *= 20.0;
        }
        rate
    }
}

/// Ordinary Velero server and node-agent lines, one of each message (composed: the messages the lab's scale
/// logs repeat, as Velero writes them, src/lab/scale.rs cites each `logSource`, and the healthy lines of the
/// real-layout fixture bundles, tests/fixtures/real-bundles): an anchor found in one of them would stop the
/// search on most lines of a healthy log.
const ORDINARY_LINES: &str = include_str!("ordinary-lines.log");

/// How many of [`ORDINARY_LINES`] hold each of their substrings of an anchor's length, lowercased (the scanner
/// searches the log lowercased). Counted once for all candidates: looking for each candidate in each line took
/// 0.2 s of every scanner's construction.
struct OrdinaryCounts {
    folded: HashMap<Vec<u8>, usize>,
    lines: usize,
}

impl OrdinaryCounts {
    fn new() -> OrdinaryCounts {
        let mut counts = OrdinaryCounts {
            folded: HashMap::new(),
            lines: 0,
        };
        let lines = ORDINARY_LINES
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(str::as_bytes);
        for line in lines {
            counts.lines += 1;
            let lower = line.to_ascii_lowercase();
            let mut folded = std::collections::HashSet::new();
            for len in [ANCHOR_LEN - 1, ANCHOR_LEN] {
                folded.extend(lower.windows(len).map(<[u8]>::to_vec));
            }
            for window in folded {
                *counts.folded.entry(window).or_default() += 1;
            }
        }
        counts
    }

    /// The share of the ordinary lines holding `candidate`.
    fn share(&self, candidate: &Candidate) -> f64 {
        self.folded
            .get(&candidate.bytes)
            .map_or(0.0, |&n| n as f64 / self.lines.max(1) as f64)
    }
}

/// The most frequent letter trigrams of English text (and so of log messages), lowercase: an anchor holding one
/// hits on many lines whatever its other byte.
const COMMON_TRIGRAMS: &[&str] = &[
    "the", "and", "ing", "ion", "tio", "ent", "ati", "for", "her", "ter", "hat", "tha", "ere",
    "ate", "his", "con", "res", "ver", "all", "ons", "nce", "men", "ith", "ted", "ers", "pro",
    "thi", "wit", "are", "ess", "not", "ive", "was", "ect", "rea", "com", "eve", "per", "int",
    "est", "sta", "cti", "ica", "ist", "ear", "ain", "one", "our", "iti", "rat", "ed ", "to ",
    "or ", "in ", "is ", "of ", "ot ", "ng ", "er ", "es ",
];

/// Rough frequency of a byte in Velero's logfmt lines (`time="…" level=info msg="…" logSource="…"`): spaces
/// and the common letters of English text most, digits and logfmt's punctuation next, capitals and other
/// punctuation rarely. Only the order matters: the anchors' real hit rates are measured (BENCHMARKS.md).
fn byte_frequency(byte: u8) -> f64 {
    match byte {
        b' ' => 0.12,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'l' | b'c' | b'u' | b'd' => 0.05,
        b'a'..=b'z' => 0.015,
        b'0'..=b'9' => 0.04,
        b'"' | b'=' | b'/' | b'-' | b'.' | b':' => 0.02,
        b'A'..=b'Z' => 0.006,
        0x21..=0x7e => 0.004,
        _ => 0.001,
    }
}

/// The anchors (lowercase) for `phrases`, at most [`MAX_ANCHORS`], or `None` when no such set covers every
/// phrase (then the phrases are searched for directly).
pub(crate) fn anchors(phrases: &[Phrase]) -> Option<Vec<Vec<u8>>> {
    // Every analysis builds a scanner for each log source, a fleet one for each bundle, from the same few
    // phrase sets: choosing them once per set saves the choice (measured: 10-15% of a fleet's CPU).
    type Chosen = HashMap<Vec<Phrase>, Option<Vec<Vec<u8>>>>;
    static CHOSEN: std::sync::OnceLock<std::sync::Mutex<Chosen>> = std::sync::OnceLock::new();
    let chosen = CHOSEN.get_or_init(Default::default);
    if let Some(known) = chosen.lock().ok().and_then(|c| c.get(phrases).cloned()) {
        return known;
    }
    let anchors = choose(phrases);
    if let Ok(mut chosen) = chosen.lock()
        && chosen.len() < 64
    {
        chosen.insert(phrases.to_vec(), anchors.clone());
    }
    anchors
}

fn choose(phrases: &[Phrase]) -> Option<Vec<Vec<u8>>> {
    if phrases.is_empty() {
        return None;
    }
    // Which phrases each candidate covers: a substring of the phrase lowercased, as the scanner searches the
    // log lowercased (an exact phrase's line holds it lowercased too; the phrases themselves then tell).
    let mut covers: HashMap<Candidate, Vec<usize>> = HashMap::new();
    for (index, phrase) in phrases.iter().enumerate() {
        let len = ANCHOR_LEN.min(phrase.bytes.len());
        for window in phrase.bytes.windows(len) {
            let candidate = Candidate {
                bytes: window.to_ascii_lowercase(),
            };
            let covered = covers.entry(candidate).or_default();
            if covered.last() != Some(&index) {
                covered.push(index);
            }
        }
    }
    let ordinary = OrdinaryCounts::new();
    let mut candidates: Vec<(Candidate, Vec<usize>, f64)> = covers
        .into_iter()
        .map(|(candidate, covered)| {
            let rate = candidate.rate(&ordinary);
            (candidate, covered, rate)
        })
        .collect();
    // Ties broken the same way every run.
    candidates.sort_by(|a, b| a.0.bytes.cmp(&b.0.bytes));
    // Greedy set cover, each anchor costing its rate plus `weight`: the lightest weight whose cover fits in
    // MAX_ANCHORS gives the rarest anchors that fit.
    for weight in [
        0.0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0,
    ] {
        if let Some(chosen) = cover(phrases.len(), &candidates, weight) {
            return Some(chosen.into_iter().map(|c| c.bytes).collect());
        }
    }
    None
}

/// The candidates a greedy cover of every phrase takes (fewest-cost per phrase newly covered first, then
/// those left redundant dropped), or `None` past [`MAX_ANCHORS`].
fn cover(
    phrase_count: usize,
    candidates: &[(Candidate, Vec<usize>, f64)],
    weight: f64,
) -> Option<Vec<Candidate>> {
    let mut covered = vec![false; phrase_count];
    let mut left = phrase_count;
    let mut chosen: Vec<usize> = Vec::new();
    // Phrases each candidate would newly cover, kept up to date as phrases are covered.
    let mut new: Vec<usize> = candidates
        .iter()
        .map(|(_, phrases, _)| phrases.len())
        .collect();
    let mut covering: Vec<Vec<usize>> = vec![Vec::new(); phrase_count];
    for (index, (_, phrases, _)) in candidates.iter().enumerate() {
        for &phrase in phrases {
            covering[phrase].push(index);
        }
    }
    let cost: Vec<f64> = candidates
        .iter()
        .map(|(_, _, rate)| rate + weight)
        .collect();
    while left > 0 {
        let best = (0..candidates.len())
            .filter(|&index| new[index] > 0)
            .map(|index| (index, cost[index] / new[index] as f64))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        let (_, phrases, _) = &candidates[best.0];
        for &phrase in phrases {
            if !covered[phrase] {
                covered[phrase] = true;
                left -= 1;
                for &other in &covering[phrase] {
                    new[other] -= 1;
                }
            }
        }
        chosen.push(best.0);
    }
    // An anchor taken early may be left covering only phrases later ones cover too.
    let mut counts = vec![0usize; phrase_count];
    for &index in &chosen {
        for &phrase in &candidates[index].1 {
            counts[phrase] += 1;
        }
    }
    let mut kept = Vec::new();
    for &index in chosen.iter().rev() {
        let phrases = &candidates[index].1;
        if phrases.iter().all(|&p| counts[p] > 1) {
            phrases.iter().for_each(|&p| counts[p] -= 1);
        } else {
            kept.push(candidates[index].0.clone());
        }
    }
    (kept.len() <= MAX_ANCHORS).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(text: &str, case_insensitive: bool) -> Phrase {
        Phrase {
            bytes: text.as_bytes().to_vec(),
            case_insensitive,
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn every_phrase_in_every_case_it_may_take_holds_an_anchor_once_lowercased() {
        let phrases = [
            phrase("NoSuchBucket", false),
            phrase("no such host", false),
            phrase("invalidacce", true),
            phrase("signal: killed", false),
            phrase("abc", false),
        ];
        let anchors = anchors(&phrases).unwrap();
        assert!(anchors.len() <= MAX_ANCHORS);
        assert!(anchors.iter().all(|a| a.to_ascii_lowercase() == *a));
        for phrase in &phrases {
            let spellings = if phrase.case_insensitive {
                vec![phrase.bytes.clone(), phrase.bytes.to_ascii_uppercase()]
            } else {
                vec![phrase.bytes.clone()]
            };
            for spelling in spellings {
                let searched = spelling.to_ascii_lowercase();
                assert!(
                    anchors.iter().any(|a| contains(&searched, a)),
                    "{:?} holds none of {anchors:?}",
                    String::from_utf8_lossy(&spelling)
                );
            }
        }
    }

    #[test]
    fn an_anchor_shared_by_phrases_is_taken_once_and_common_words_are_avoided() {
        let phrases = [
            phrase("backup failed: Xq9z one", false),
            phrase("restore failed: Xq9z two", false),
        ];
        // "xq9z" is in both, rare (a digit, uncommon letters) and in no common word.
        assert_eq!(anchors(&phrases).unwrap(), vec![b"xq9z".to_vec()]);
    }

    #[test]
    fn past_the_most_anchors_one_searcher_takes_there_are_none() {
        // Four-digit phrases: each is its own only anchor.
        let phrases: Vec<Phrase> = (0..=MAX_ANCHORS)
            .map(|i| phrase(&format!("{i:04}"), false))
            .collect();
        assert!(anchors(&phrases).is_none());
        assert_eq!(anchors(&phrases[..MAX_ANCHORS]).unwrap().len(), MAX_ANCHORS);
    }
}
