//! Redaction of credentials in every text before it is written to a bundle.
//!
//! Logs are redacted line by line as they stream ([`LineBuffer`], [`RedactingWriter`]); objects are
//! redacted structurally ([`Redactor::redact_json`]): fields and env vars whose name says "secret", values
//! whose place says so (a ConfigMap key, the argument after a password flag), then every string value as
//! text. A line redactor keeps state across lines where YAML puts a secret's value on a later line than its
//! key. A redaction keeps the key and replaces only the value with [`PLACEHOLDER`], so a line stays
//! readable. Counts are kept per rule name, never the values. Foreign bundles are not redacted when read:
//! the analysis redacts what it quotes from them (analyze/run.rs).
mod json;
mod literals;
mod rules;
mod stream;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

pub use stream::{LineBuffer, RedactingWriter};

/// What a redacted value is replaced with.
pub const PLACEHOLDER: &str = "***REDACTED***";

/// Redactions made, by rule name (the shape `BundleWriter::count_redactions` takes).
pub type RedactionCounts = BTreeMap<String, u64>;

/// Adds `more` into `total`.
pub(crate) fn merge_counts(total: &mut RedactionCounts, more: &RedactionCounts) {
    for (rule, n) in more {
        *total.entry(rule.clone()).or_default() += n;
    }
}

/// The compiled redaction rules. Build once ([`Redactor::global`]) and share: compiling is the costly part.
pub struct Redactor {
    rules: rules::Rules,
}

static GLOBAL: LazyLock<Redactor> = LazyLock::new(Redactor::new);

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// Compiles the rules; costly, so prefer [`Redactor::global`].
    pub fn new() -> Self {
        Redactor {
            rules: rules::Rules::compile(),
        }
    }

    /// The rules with every line through their regexes, none let through by the cheap checks: what the
    /// fast path is compared with (the unit tests, `benches/scale.rs redact --without-fast-path`).
    #[doc(hidden)]
    pub fn without_fast_path() -> Self {
        Redactor {
            rules: rules::Rules::compile_without_fast_path(),
        }
    }

    /// The process-wide redactor.
    pub fn global() -> &'static Redactor {
        &GLOBAL
    }

    /// A line-by-line redactor for one stream: it remembers when a multi-line PEM key is open.
    pub fn lines(&self) -> LineRedactor<'_> {
        LineRedactor {
            rules: &self.rules,
            pem: None,
            yaml: YamlState::Plain,
            counts: RedactionCounts::new(),
            lowered: Vec::new(),
        }
    }

    /// Redacts a whole text (lines kept), adding to `counts`.
    pub fn redact_text<'t>(&self, text: &'t str, counts: &mut RedactionCounts) -> Cow<'t, str> {
        let mut lines = self.lines();
        let redacted = lines.redact_text(text);
        merge_counts(counts, &lines.counts);
        redacted
    }

    /// Redacts a value quoted from an object at `path` (`spec.containers[0].env[1].value`): replaced whole
    /// when the path's last name says secret, else redacted as text.
    pub(crate) fn redact_quoted_value(
        &self,
        path: &str,
        value: &str,
        counts: &mut RedactionCounts,
    ) -> String {
        if json::secret_path(path) && !value.is_empty() && value != PLACEHOLDER {
            bump(counts, "secret-field");
            return PLACEHOLDER.to_string();
        }
        self.redact_text(value, counts).into_owned()
    }

    /// Redacts an object in place: secret-named fields and env values, then every string as text.
    pub fn redact_json(&self, value: &mut serde_json::Value, counts: &mut RedactionCounts) {
        json::redact_value(self, value, counts);
    }
}

/// Redacts one stream line by line. Keeps state across lines (an open PEM block) and the counts.
pub struct LineRedactor<'r> {
    rules: &'r rules::Rules,
    /// Lines seen since a PEM private key began without its END marker on the same line.
    pem: Option<usize>,
    yaml: YamlState,
    counts: RedactionCounts,
    /// The block of lines being redacted, ASCII-lowered for the rules' strings to be found in it at once
    /// (kept between blocks so it is allocated once).
    lowered: Vec<u8>,
}

/// How many bytes of lines are lowered and searched for the rules' strings at once: a few pages, so the
/// copy stays in the cache while its lines are redacted.
const LOWERED_BLOCK: usize = 64 * 1024;

/// YAML printed over several lines, where a secret's key and its value are not on the same line.
#[derive(Clone, Copy)]
enum YamlState {
    Plain,
    /// A secret-named key opened a block scalar (`password: |`): lines indented past this column are its
    /// value.
    Block(usize),
    /// `- name: X_PASSWORD` was read at this column: a `value:` on the next line is the secret.
    NameSeen(usize),
}

const YAML_RULE: &str = "yaml-secret-value";

/// A key whose value is a secret, in YAML printed as text: the text rules' vocabulary, and a name ending
/// in `.key` / `_key` (`tls.key: |` holding a key's base64 lines, which no PEM marker announces).
const YAML_SECRET_KEY: &str = r"(?i)^[\w.-]*?(?:password|passwd|passphrase|pwd|token|secret|credentials?|api[-_]?key|private[-_]?key|access[-_]?key|encryption[-_]?key|signing[-_]?key|cert[-_]?key|key[-_]?data)[\w.-]*$|[._-]key$";

/// `key: |` / `- key: >-` (a block scalar's header, an optional comment after it).
static YAML_BLOCK_HEADER: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r#"^(?P<indent>[ \t]*(?:-[ \t]+)?)["']?(?P<key>[\w.-]+)["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*(?:#.*)?\r?\n?$"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
});
static YAML_SECRET_KEY_RE: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| regex::bytes::Regex::new(YAML_SECRET_KEY).unwrap_or_else(|e| panic!("{e}")));
/// `- name: X` alone on its line (an env entry, a list of name/value pairs).
static YAML_NAME: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r#"^(?P<indent>[ \t]*(?:-[ \t]+)?)["']?name["']?[ \t]*:[ \t]*["']?(?P<name>[\w.-]+)["']?[ \t]*\r?\n?$"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
});
/// `value: …` after such a name: the value, without its quotes.
static YAML_VALUE: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r#"^(?P<indent>[ \t]*)["']?value["']?[ \t]*:[ \t]*(?:"(?P<q>[^"\r\n]*)"|'(?P<s>[^'\r\n]*)'|(?P<u>[^\r\n]*?))[ \t]*\r?\n?$"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
});

fn indentation(line: &[u8]) -> usize {
    line.iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A PEM block longer than this many lines is assumed to have lost its END line; redaction resumes.
const MAX_PEM_LINES: usize = 200;

impl LineRedactor<'_> {
    /// Redacts one line (without or with its trailing newline).
    pub(crate) fn redact_line<'l>(&mut self, line: &'l [u8]) -> Cow<'l, [u8]> {
        self.redact_line_knowing(line, false)
    }

    /// Redacts one line; `literal_free`: the fast path's search of the line's block found none of the
    /// rules' strings in it (never set without the fast path).
    fn redact_line_knowing<'l>(&mut self, line: &'l [u8], literal_free: bool) -> Cow<'l, [u8]> {
        let (line, pem_done) = self.redact_open_pem(line);
        if !pem_done {
            return line;
        }
        let line = match self.redact_yaml(line) {
            Ok(done) => return done,
            Err(line) => line,
        };
        // What the block's search said holds for the line as it came, not for one a PEM block's end
        // has rewritten.
        let literal_free = literal_free && matches!(line, Cow::Borrowed(_));
        match self.rules.redact(&line, &mut self.counts, literal_free) {
            Some(changed) => Cow::Owned(self.open_pem_if_started(&changed).unwrap_or(changed)),
            // A clean line is passed on as it came, not copied. A BEGIN marker is one of the rules'
            // strings, so a line holding none of them opens no PEM block.
            None if literal_free => line,
            None => match self.open_pem_if_started(&line) {
                Some(cut) => Cow::Owned(cut),
                None => line,
            },
        }
    }

    /// Redacts `text`'s lines in order, handing `emit` each line as it came and as redacted; the last
    /// line may lack its newline. With the fast path, the rules' strings are searched for in blocks of
    /// lines lowered to ASCII lower case, so the lines between two hits (nearly all) are known to hold
    /// none without a search of their own.
    pub(crate) fn redact_lines<'t>(
        &mut self,
        text: &'t [u8],
        mut emit: impl FnMut(&'t [u8], Cow<'t, [u8]>),
    ) {
        let line_end =
            |from: usize, to: usize| memchr_newline(&text[from..to]).map_or(to, |i| from + i + 1);
        let rules = self.rules;
        let Some(literals) = rules.fast_literals() else {
            let mut start = 0;
            while start < text.len() {
                let end = line_end(start, text.len());
                emit(&text[start..end], self.redact_line(&text[start..end]));
                start = end;
            }
            return;
        };
        let mut lowered = std::mem::take(&mut self.lowered);
        let mut block_start = 0;
        while block_start < text.len() {
            let limit = text.len().min(block_start + LOWERED_BLOCK);
            let block_end = if limit == text.len() {
                limit
            } else {
                match memchr::memrchr(b'\n', &text[block_start..limit]) {
                    Some(i) => block_start + i + 1,
                    None => {
                        // One line longer than a block: searched on its own.
                        let end = line_end(block_start, text.len());
                        emit(
                            &text[block_start..end],
                            self.redact_line(&text[block_start..end]),
                        );
                        block_start = end;
                        continue;
                    }
                }
            };
            lowered.clear();
            lowered.extend_from_slice(&text[block_start..block_end]);
            lowered.make_ascii_lowercase();
            let mut next_hit = literals.next_in_lowered(&lowered, 0);
            let mut start = block_start;
            while start < block_end {
                let end = line_end(start, block_end);
                let literal_free = next_hit.is_none_or(|hit| block_start + hit >= end);
                emit(
                    &text[start..end],
                    self.redact_line_knowing(&text[start..end], literal_free),
                );
                if !literal_free {
                    next_hit = literals.next_in_lowered(&lowered, end - block_start);
                }
                start = end;
            }
            block_start = block_end;
        }
        self.lowered = lowered;
    }

    /// Redacts a text made of lines, keeping the line structure.
    pub fn redact_text<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let mut out: Option<Vec<u8>> = None;
        let bytes = text.as_bytes();
        let mut start = 0;
        self.redact_lines(bytes, |line, redacted| {
            match redacted {
                Cow::Borrowed(_) => {
                    if let Some(out) = out.as_mut() {
                        out.extend_from_slice(line);
                    }
                }
                Cow::Owned(changed) => {
                    let out = out.get_or_insert_with(|| bytes[..start].to_vec());
                    out.extend_from_slice(&changed);
                }
            }
            start += line.len();
        });
        match out {
            None => Cow::Borrowed(text),
            // Every replacement is ASCII placed at ASCII boundaries, so the text stays UTF-8.
            Some(out) => Cow::Owned(
                String::from_utf8(out)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// Redactions made so far, by rule name.
    pub fn counts(&self) -> &RedactionCounts {
        &self.counts
    }

    /// Where to cut an overlong line's piece at or before `cut` so that no credential crosses the cut.
    pub(crate) fn safe_cut(&self, piece: &[u8], cut: usize) -> usize {
        self.rules.safe_cut(piece, cut)
    }

    /// The redactions made, by rule name, when the stream is done.
    pub(crate) fn into_counts(self) -> RedactionCounts {
        self.counts
    }

    /// YAML whose secret is on a later line than its key: `Ok` with the line when it is decided here (a
    /// block scalar's header or body, the `value:` after a secret `name:`), `Err` to let the rules see it.
    fn redact_yaml<'l>(&mut self, line: Cow<'l, [u8]>) -> Result<Cow<'l, [u8]>, Cow<'l, [u8]>> {
        match self.yaml {
            YamlState::Block(column) => {
                if is_blank(&line) {
                    return Ok(line);
                }
                let indent = indentation(&line);
                if indent > column {
                    let mut out = line[..indent].to_vec();
                    out.extend_from_slice(PLACEHOLDER.as_bytes());
                    out.extend_from_slice(line_ending(&line));
                    return Ok(Cow::Owned(out));
                }
                self.yaml = YamlState::Plain;
            }
            YamlState::NameSeen(column) => {
                if is_blank(&line) {
                    return Ok(line);
                }
                self.yaml = YamlState::Plain;
                if let Some(caps) = YAML_VALUE.captures(&line)
                    && indentation(&line) >= column
                {
                    let value = ["q", "s", "u"].iter().find_map(|g| caps.name(g));
                    if let Some(value) = value {
                        let text = value.as_bytes();
                        if text.starts_with(b"|") || text.starts_with(b">") {
                            self.yaml = YamlState::Block(indentation(&line));
                            bump(&mut self.counts, YAML_RULE);
                            return Ok(line);
                        }
                        if !text.is_empty() && !text.starts_with(PLACEHOLDER.as_bytes()) {
                            let mut out = line[..value.start()].to_vec();
                            out.extend_from_slice(PLACEHOLDER.as_bytes());
                            out.extend_from_slice(&line[value.end()..]);
                            bump(&mut self.counts, YAML_RULE);
                            return Ok(Cow::Owned(out));
                        }
                    }
                    return Ok(line);
                }
            }
            YamlState::Plain => {}
        }
        let fast = self.rules.has_fast_path();
        if (!fast || literals::may_open_yaml_block(&line))
            && let Some(caps) = YAML_BLOCK_HEADER.captures(&line)
            && let (Some(indent), Some(key)) = (caps.name("indent"), caps.name("key"))
            && YAML_SECRET_KEY_RE.is_match(key.as_bytes())
        {
            self.yaml = YamlState::Block(indent.end());
            bump(&mut self.counts, YAML_RULE);
            return Ok(line);
        }
        if (!fast || literals::may_be_yaml_name(&line))
            && let Some(caps) = YAML_NAME.captures(&line)
            && let (Some(indent), Some(name)) = (caps.name("indent"), caps.name("name"))
            && json::secret_env(&String::from_utf8_lossy(name.as_bytes()))
        {
            self.yaml = YamlState::NameSeen(indent.end());
        }
        Err(line)
    }

    /// Inside a PEM block: redact until its END marker. Returns the line and whether the block is closed
    /// (so the rest of the line still gets the other rules).
    fn redact_open_pem<'l>(&mut self, line: &'l [u8]) -> (Cow<'l, [u8]>, bool) {
        let Some(seen) = self.pem else {
            return (Cow::Borrowed(line), true);
        };
        if let Some(end) = self.rules.pem_end_at(line) {
            self.pem = None;
            let mut out = PLACEHOLDER.as_bytes().to_vec();
            out.extend_from_slice(&line[end..]);
            return (Cow::Owned(out), true);
        }
        if seen + 1 >= MAX_PEM_LINES {
            self.pem = None;
        } else {
            self.pem = Some(seen + 1);
        }
        let mut out = PLACEHOLDER.as_bytes().to_vec();
        out.extend_from_slice(line_ending(line));
        (Cow::Owned(out), false)
    }

    /// A BEGIN … PRIVATE KEY marker whose END is not on this line: cut the line after the marker and
    /// redact the following lines. Returns the cut line, `None` when the line stays as it is.
    fn open_pem_if_started(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        let body_start = self.rules.unterminated_pem_begin(line)?;
        self.pem = Some(0);
        *self.counts.entry(rules::PEM_RULE.into()).or_default() += 1;
        let mut out = line[..body_start].to_vec();
        out.extend_from_slice(PLACEHOLDER.as_bytes());
        out.extend_from_slice(line_ending(line));
        Some(out)
    }
}

fn bump(counts: &mut RedactionCounts, rule: &str) {
    *counts.entry(rule.to_string()).or_default() += 1;
}

fn line_ending(line: &[u8]) -> &[u8] {
    if line.ends_with(b"\r\n") {
        b"\r\n"
    } else if line.ends_with(b"\n") {
        b"\n"
    } else {
        b""
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

#[cfg(test)]
mod tests;
