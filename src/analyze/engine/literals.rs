//! The literal prefilter of the log scanner: for each pattern, a few strings of which every match must contain
//! one.
//!
//! With more than a handful of patterns, the multi-pattern automaton loses its own literal prefilter and runs its
//! DFA over every byte (BENCHMARKS.md, "Rule count"). Velero's error signatures are mostly long fixed phrases, so
//! a line that holds none of the phrases cannot match: an Aho-Corasick search for those phrases finds the few
//! lines worth checking, and on such a line only the regexes of the patterns whose phrases it holds run. Every
//! line reported is still one a pattern matches (each pattern's own regex says so); the prefilter only has to be
//! sure never to skip one, which the analysis below keeps by only ever narrowing to strings a match cannot avoid.
use regex_syntax::hir::{Class, Hir, HirKind};

/// Longest literal set kept for one pattern: cross products of alternations grow fast, and a long set is a slow
/// prefilter anyway.
const MAX_SET: usize = 64;

/// Shortest literal worth searching for: shorter ones hit on too many lines to save anything.
pub(crate) const MIN_USEFUL_LEN: usize = 3;

/// Strings (lowercased where `case_insensitive`) one of which occurs in every match of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Required {
    pub(crate) literals: Vec<Vec<u8>>,
    /// Some literal came from a case-insensitive part of the pattern: search for all of them ignoring ASCII case.
    pub(crate) case_insensitive: bool,
}

/// Words that fill healthy Velero, node-agent and plugin logs (every line of the backup-storage-location
/// controller names `BackupStorageLocation`): a phrase made of them hits on too many lines to filter anything.
/// Measured on the scale scenario's logs: `BackupStorageLocation` alone was on 7% of the lines, which made the
/// prefiltered scan slower than the automaton.
pub(crate) const COMMON_WORDS: &[&str] = &[
    "backupstoragelocation",
    "backup-storage-location",
    "backup",
    "restore",
    "velero",
    "controller",
    "logsource",
    "level=",
    "msg=",
    "time=",
    "error",
    "info",
    "warning",
    "debug",
    "namespace",
    "location",
    "storage",
    "repository",
    "node-agent",
    "plugin",
    "volume",
    "snapshot",
    "resource",
    "item",
    "pod",
    "available",
    "valid",
    "completed",
    "phase",
    "kopia",
    "restic",
    "upload",
    "download",
    // Velero's item backupper logs every item it backs up with its resource (`resource=configmaps`).
    "configmaps",
    "secrets",
    "services",
    "serviceaccounts",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "endpoints",
    "persistentvolumeclaims",
    "persistentvolumes",
];

/// Bytes of `literal` outside every common word: how much of it is specific to what the pattern looks for.
fn specific_bytes(literal: &[u8]) -> usize {
    let lower = literal.to_ascii_lowercase();
    let mut covered = vec![false; lower.len()];
    for word in COMMON_WORDS {
        let word = word.as_bytes();
        if word.len() > lower.len() {
            continue;
        }
        for start in 0..=lower.len() - word.len() {
            if &lower[start..start + word.len()] == word {
                covered[start..start + word.len()].fill(true);
            }
        }
    }
    covered.iter().filter(|&&c| !c).count()
}

impl Required {
    fn shortest(&self) -> usize {
        self.literals.iter().map(Vec::len).min().unwrap_or(0)
    }

    /// The least specific literal of the set decides how often the set hits.
    fn specificity(&self) -> usize {
        self.literals
            .iter()
            .map(|literal| specific_bytes(literal))
            .min()
            .unwrap_or(0)
    }

    /// More specific literals hit on fewer lines; fewer of them make a faster automaton.
    fn better_than(&self, other: &Required) -> bool {
        let (mine, theirs) = (self.specificity(), other.specificity());
        mine > theirs || (mine == theirs && self.literals.len() < other.literals.len())
    }
}

/// What every match of `hir` must contain, or `None` when nothing is certain (a pattern that can match an empty
/// string, or one made of classes and repetitions).
pub(crate) fn required(hir: &Hir) -> Option<Required> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(Required {
            literals: vec![literal.0.to_vec()],
            case_insensitive: false,
        }),
        HirKind::Class(class) => run_element(class).map(|(bytes, ci)| Required {
            literals: vec![bytes],
            case_insensitive: ci,
        }),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => required(&repetition.sub),
        HirKind::Alternation(branches) => {
            let mut union = Required {
                literals: Vec::new(),
                case_insensitive: false,
            };
            for branch in branches {
                let branch = required(branch)?;
                union.case_insensitive |= branch.case_insensitive;
                union.literals.extend(branch.literals);
            }
            union.literals.sort();
            union.literals.dedup();
            (union.literals.len() <= MAX_SET).then_some(union)
        }
        HirKind::Concat(parts) => concat(parts),
        HirKind::Empty | HirKind::Look(_) | HirKind::Repetition(_) => None,
    }
}

/// The best of: each run of adjacent literal-like parts joined into one string set, and each other part's own
/// requirement. A match of the concatenation holds every part's match in order, so each of these is certain.
fn concat(parts: &[Hir]) -> Option<Required> {
    let mut best: Option<Required> = None;
    let mut consider = |candidate: Required| {
        if best.as_ref().is_none_or(|b| candidate.better_than(b)) {
            best = Some(candidate);
        }
    };
    let mut run: Option<Required> = None;
    for part in parts {
        if let Some(extended) = extend_run(run.as_ref(), part) {
            run = Some(extended);
            continue;
        }
        if let Some(done) = run.take() {
            consider(done);
        }
        // The part may itself start a run (a literal after a too-wide cross product).
        run = extend_run(None, part);
        if run.is_none()
            && let Some(own) = required(part)
        {
            consider(own);
        }
    }
    if let Some(done) = run {
        consider(done);
    }
    best
}

/// `run` followed by `part`, when `part` is a literal, a one-character class (or an ASCII letter in both cases),
/// or a small alternation of literals; `None` when it is none of these or the product grows past [`MAX_SET`].
fn extend_run(run: Option<&Required>, part: &Hir) -> Option<Required> {
    let (suffixes, ci): (Vec<Vec<u8>>, bool) = match part.kind() {
        HirKind::Literal(literal) => (vec![literal.0.to_vec()], false),
        HirKind::Class(class) => run_element(class).map(|(bytes, ci)| (vec![bytes], ci))?,
        HirKind::Capture(capture) => return extend_run(run, &capture.sub),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            let mut ci = false;
            for branch in branches {
                let (bytes, branch_ci) = match branch.kind() {
                    HirKind::Literal(literal) => (literal.0.to_vec(), false),
                    HirKind::Class(class) => run_element(class)?,
                    _ => return None,
                };
                ci |= branch_ci;
                all.push(bytes);
            }
            (all, ci)
        }
        _ => return None,
    };
    let Some(run) = run else {
        return Some(Required {
            literals: suffixes,
            case_insensitive: ci,
        });
    };
    if run.literals.len() * suffixes.len() > MAX_SET {
        return None;
    }
    let literals = run
        .literals
        .iter()
        .flat_map(|prefix| {
            suffixes.iter().map(move |suffix| {
                let mut joined = prefix.clone();
                joined.extend_from_slice(suffix);
                joined
            })
        })
        .collect();
    Some(Required {
        literals,
        case_insensitive: run.case_insensitive || ci,
    })
}

/// A class that stands for one byte string: a single character, or an ASCII letter in both its cases (what
/// `(?i)` and `[Vv]` give), returned lowercased with `true`. A class with any other member (`(?i)k` also
/// matches the Kelvin sign) is not one: the prefilter could miss a line that holds it.
fn run_element(class: &Class) -> Option<(Vec<u8>, bool)> {
    // Both kinds of class as (first, last) pairs of code points; a byte class's bytes are code points < 256.
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(unicode) => unicode
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Bytes(bytes) => bytes
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    match ranges.as_slice() {
        [(start, end)] if start == end => match class {
            Class::Unicode(_) => {
                let mut buffer = [0u8; 4];
                let one = char::from_u32(*start)?;
                Some((one.encode_utf8(&mut buffer).as_bytes().to_vec(), false))
            }
            Class::Bytes(_) => Some((vec![u8::try_from(*start).ok()?], false)),
        },
        [(upper, upper_end), (lower, lower_end)]
            if upper == upper_end
                && lower == lower_end
                && u8::try_from(*upper).is_ok_and(|u| u.is_ascii_uppercase())
                && *lower == u32::from(u8::try_from(*upper).ok()?.to_ascii_lowercase()) =>
        {
            Some((vec![u8::try_from(*lower).ok()?], true))
        }
        _ => None,
    }
}

/// A phrase of the prefilter: lowercased when `case_insensitive` (it came from a case-insensitive part of its
/// pattern, and any ASCII case of it may be in the log).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Phrase {
    pub(crate) bytes: Vec<u8>,
    pub(crate) case_insensitive: bool,
}

/// The phrases of every pattern (sorted, each once), with the patterns each was taken from (`owners[i]`, the
/// indexes of the patterns phrase `i` came from, ascending): a line holding none of a pattern's phrases cannot
/// match it. `None` when one pattern has no certain literal of [`MIN_USEFUL_LEN`] bytes (then every byte must go
/// through the automaton anyway, and the prefilter would only add work).
pub(crate) fn prefilter_literals(
    patterns: &[impl AsRef<str>],
    syntax: &regex_automata::util::syntax::Config,
) -> Option<(Vec<Phrase>, Vec<Vec<usize>>)> {
    let mut all = Vec::new();
    for (index, pattern) in patterns.iter().enumerate() {
        let hir = regex_automata::util::syntax::parse_with(pattern.as_ref(), syntax).ok()?;
        let own = required(&hir)?;
        if own.shortest() < MIN_USEFUL_LEN {
            return None;
        }
        all.extend(own.literals.into_iter().map(|mut bytes| {
            if own.case_insensitive {
                bytes.make_ascii_lowercase();
            }
            let phrase = Phrase {
                bytes,
                case_insensitive: own.case_insensitive,
            };
            (phrase, index)
        }));
    }
    all.sort();
    all.dedup();
    let mut phrases: Vec<Phrase> = Vec::new();
    let mut owners: Vec<Vec<usize>> = Vec::new();
    for (phrase, index) in all {
        if phrases.last() == Some(&phrase) {
            owners
                .last_mut()
                .expect("one owner list a phrase")
                .push(index);
        } else {
            phrases.push(phrase);
            owners.push(vec![index]);
        }
    }
    Some((phrases, owners))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals_of(pattern: &str) -> Option<Vec<String>> {
        let syntax = regex_automata::util::syntax::Config::new()
            .multi_line(true)
            .crlf(true);
        let hir = regex_automata::util::syntax::parse_with(pattern, &syntax).unwrap();
        required(&hir).map(|r| {
            r.literals
                .into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn a_phrase_around_a_capture_keeps_its_longest_part() {
        assert_eq!(
            literals_of(
                r"failed to get [Vv]olume[Ss]napshot[Cc]lass for provisioner (?P<p>[^\s,]+)"
            ),
            Some(vec![
                "failed to get volumesnapshotclass for provisioner ".to_string()
            ])
        );
    }

    #[test]
    fn an_alternation_needs_every_branch_to_have_a_literal() {
        assert_eq!(
            literals_of("SignatureDoesNotMatch|request signature we calculated"),
            Some(vec![
                "SignatureDoesNotMatch".to_string(),
                "request signature we calculated".to_string()
            ])
        );
        assert_eq!(literals_of(r"abc|\w+"), None);
        assert_eq!(literals_of(r"(?:abc)?"), None);
    }

    #[test]
    fn case_insensitive_letters_join_but_a_long_s_breaks_the_run() {
        // (?i)s also matches U+017F (ſ) and (?i)k the Kelvin sign U+212A: the certain parts end there.
        assert_eq!(
            literals_of("(?i)InvalidAccessKeyId"),
            Some(vec!["invalidacce".to_string()])
        );
    }

    #[test]
    fn a_phrase_of_common_log_words_loses_to_a_specific_one() {
        // Every line of Velero's location controller says BackupStorageLocation.
        assert_eq!(
            literals_of("BackupStorageLocations? (?:is invalid, )?marking as unavailable"),
            Some(vec!["marking as unavailable".to_string()])
        );
    }

    #[test]
    fn a_phrase_two_patterns_share_names_both_as_its_owners() {
        let syntax = regex_automata::util::syntax::Config::new()
            .multi_line(true)
            .crlf(true);
        let (phrases, owners) = prefilter_literals(
            &[
                "NoSuchBucket",
                "(?i)timed out waiting",
                "NoSuchBucket|AccessDenied",
            ],
            &syntax,
        )
        .unwrap();
        let named: Vec<(String, Vec<usize>)> = phrases
            .iter()
            .map(|p| String::from_utf8(p.bytes.clone()).unwrap())
            .zip(owners)
            .collect();
        assert_eq!(
            named,
            vec![
                ("AccessDenied".to_string(), vec![2]),
                ("NoSuchBucket".to_string(), vec![0, 2]),
                ("timed out waiting".to_string(), vec![1]),
            ]
        );
    }

    #[test]
    fn small_alternations_inside_a_phrase_multiply() {
        assert_eq!(
            literals_of("timed out waiting for fs (?:backup|restore) to complete"),
            Some(vec![
                "timed out waiting for fs backup to complete".to_string(),
                "timed out waiting for fs restore to complete".to_string()
            ])
        );
    }
}
