//! The redaction rules: one regex each, the secret in a named group (`q` a double-quoted value, `e` an
//! escaped-quoted value `\"…\"`, `s` a single-quoted value, `u` a bare value). Only that group's text is
//! replaced; the key, the quotes and the rest of the line stay.
use regex::bytes::{CaptureLocations, Regex, RegexSet};

use super::literals::{self, RuleLiterals};
use super::{PLACEHOLDER, RedactionCounts};

pub(crate) const PEM_RULE: &str = "pem-private-key";
pub(crate) const BASE64_RULE: &str = "base64-credentials";

/// Where a credential may begin whose value a piece of an overlong line could cut: a secret-named key and
/// its separator, a URL's scheme.
const KEY_START: &str = r#"(?i)[\w.-]*(?:password|passwd|passphrase|pwd|token|secret|api[-_]?key|access[-_]?key|private[-_]?key|credentials|auth)[\w.-]*\\*["']?\s*[:=]|[a-z][a-z0-9+.-]*://"#;

/// A base64 run long enough to hold a credential worth decoding.
const BASE64_RUN: &str = r"[A-Za-z0-9+/]{20,}={0,2}";

/// A value after `key=` / `key: ` / `"key": `: double-quoted, escaped-quoted at any depth (JSON inside a
/// JSON string or a logfmt quoted field: `\"…\"`, `\\"…\\"`), single-quoted, or bare up to a delimiter.
const VALUE: &str = r#"(?:"(?P<q>(?:[^"\\\n]|\\.)*)"|\\+"(?P<e>(?:[^"\\\n]|\\+[^"\\\n])*)\\+"|'(?P<s>[^'\n]*)'|(?P<u>[^\s"'\\,;&{}\[\]()<>]+))"#;

/// [`VALUE`] whose bare form is at least 8 characters long (the token rule's, see there).
/// A short first segment followed by `,` / `;` counts too: `Tok3n,with;Delims` is one value (see
/// [`extend_bare`]).
const TOKEN_VALUE: &str = r#"(?:"(?P<q>(?:[^"\\\n]|\\.)*)"|\\+"(?P<e>(?:[^"\\\n]|\\+[^"\\\n])*)\\+"|'(?P<s>[^'\n]*)'|(?P<u>[^\s"'\\,;&{}\[\]()<>]{8,}|[^\s"'\\,;&{}\[\]()<>]+[,;][^\s"'\\,;&{}\[\]()<>=:]+))"#;

/// Separator between a key and its value, the key optionally quoted (also escaped: `\"key\"`).
const SEP: &str = r#"\\*["']?\s*[:=]\s*"#;

/// Every rule, in the order they apply: the most specific first, so a generic rule never counts a value a
/// specific one already replaced.
fn rule_sources() -> Vec<(&'static str, String)> {
    let key_value = |keys: &str| format!(r#"(?i)\b(?:{keys}){SEP}{VALUE}"#);
    vec![
        (
            "gcp-service-account-key",
            format!(r#"(?:\\*"|\b)(?:private_key_id|private_key){SEP}{VALUE}"#),
        ),
        (
            PEM_RULE,
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?P<u>.*?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
                .into(),
        ),
        (
            "presigned-url-signature",
            r#"(?i)\b(?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|AWSAccessKeyId|Signature)=(?P<u>[^&\s"'#\\<>]+)"#.into(),
        ),
        (
            "azure-sas-signature",
            r#"\bsig=(?P<u>[^&\s"'#\\<>;]+)"#.into(),
        ),
        (
            "azure-storage-key",
            key_value(
                r"[\w.-]*?(?:AccountKey|AZURE_STORAGE_ACCOUNT_ACCESS_KEY|AZURE_STORAGE_KEY|storage_?account_?key|AZURE_CLIENT_SECRET|client_?secret)",
            ),
        ),
        (
            "aws-secret-access-key",
            key_value(r"[\w.-]*?(?:secret[-_]?access[-_]?key|aws[-_]?secret[-_]?key)"),
        ),
        (
            "aws-access-key-id",
            r"\b(?P<u>(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16})\b".into(),
        ),
        (
            // The password runs to the last `@` before the host, so it may hold `/` and `@`; the user may be
            // empty (`redis://:pw@host`) or an e-mail address (`https://me@example.com:pw@host`).
            "url-credentials",
            r#"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:"'<>\\]*:(?P<u>[^\s"'<>\\]+)@[A-Za-z0-9\[]"#.into(),
        ),
        (
            // kubectl's and Velero's name/value pairs printed as JSON: `{"name": "DB_PASSWORD", "value": "…"}`.
            "env-secret-value",
            format!(
                r#"(?i)\\*"name\\*"\s*:\s*\\*"[\w.-]*?(?:password|passwd|passphrase|pwd|pass|secret|token|key|credentials?)\\*"\s*,\s*\\*"value{SEP}{VALUE}"#
            ),
        ),
        (
            "docker-auth",
            r#"(?:\\*"|\b)auth\\*"?\s*:\s*\\*"?(?P<u>[A-Za-z0-9+/]{8,}={0,2})"#.into(),
        ),
        (
            // A flag and its value as separate words: `--password VALUE`, `--secret-access-key VALUE`, or
            // as items of a command printed as a JSON array (a hook annotation: `"--password","VALUE"`).
            "command-line-password",
            r#"(?i)(?:^|[\s"'\[,])--?(?:[\w-]*(?:password|passwd|passphrase|pwd|secret|token|api-key|access-key|secret-key|encryption-key|certificate-key|cert-key|signing-key)|(?:[\w-]*[-_])?pass)(?:\s+|\\*"\s*,\s*\\*")(?P<u>[^\s"'\\,\]\-][^\s"'\\,\]]*)"#.into(),
        ),
        (
            // MySQL's `-pPASSWORD` (no space), in a mysql / mysqldump command line, also printed as a JSON
            // array (a hook annotation: `["mysqldump","-uroot","-pPASSWORD"]`).
            "mysql-password-flag",
            r#"\b(?:mysql|mysqldump|mysqladmin|mysqlsh|mariadb|mariadb-dump)\b[^\n]*?(?:\s|\\*"\s*,\s*\\*")-p(?P<u>[^\s"'\\;|&,\]]+)"#.into(),
        ),
        (
            // redis-cli's `-a PASSWORD` (a Redis backup hook's `redis-cli -a … BGSAVE`).
            "redis-cli-password",
            r#"\bredis-cli\b[^\n]*?(?:\s|\\*"\s*,\s*\\*")-a(?:\s+|\\*"\s*,\s*\\*")(?P<u>[^\s"'\\;|&,\]\-][^\s"'\\;|&,\]]*)"#.into(),
        ),
        (
            // A password quoted in prose: `invalid repository password "…"`, `wrong password '…'`.
            "quoted-password",
            r#"(?i)\b(?:password|passwd|passphrase)(?:\s+[a-z]+){0,3}:?\s+\\*["'](?P<u>[^"'\\\n]+)\\*["']"#.into(),
        ),
        (
            "bearer-token",
            r"(?i)\bbearer\s+(?P<u>[A-Za-z0-9\-._~+/]{8,}=*)".into(),
        ),
        (
            "basic-auth",
            r"(?i)\bbasic\s+(?P<u>[A-Za-z0-9+/]{12,}={0,2})".into(),
        ),
        (
            "jwt",
            r"\b(?P<u>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})".into(),
        ),
        (
            // A YAML plain scalar runs to the end of its line, spaces included (`password: two words here`),
            // less a trailing comment; the generic rules below stop at the first space.
            "yaml-secret-value",
            r#"(?imR)^[ \t]*(?:-[ \t]+)?[\w.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|encryption[-_]?key|signing[-_]?key|credentials)[\w.-]*[ \t]*:[ \t]+(?P<u>[^\s"'|>{\[&*!%@`#][^\n]*?)(?:[ \t]+#[^\n]*)?[ \t]*$"#.into(),
        ),
        (
            "password",
            key_value(r"[\w.-]*?(?:password|passwd|passphrase|pwd)"),
        ),
        (
            // A bare token of under 8 characters is a word of the error text around it, not a credential:
            // Go's `oauth2: cannot fetch token: Post https://…/token: dial tcp …` must stay readable for the
            // rules (SD104's GCS sample), while every real token, key or secret is longer.
            "token",
            format!(
                r#"(?i)\b(?:[\w.-]*?(?:token|secret|api[-_]?key|private[-_]?key|access[-_]?key|secret[-_]?key|encryption[-_]?key|signing[-_]?key|cert(?:ificate)?[-_]?key|key[-_]?data|credentials)){SEP}{}"#,
                TOKEN_VALUE
            ),
        ),
    ]
}

/// Strings one of which every match of the rule holds, ASCII case aside: a line holding none of them
/// cannot match the rule (see [`super::literals`]). Derived from the sources above, word by word:
/// a `(?i)` rule's keywords are matched ASCII-case-insensitively, and the two non-ASCII letters that
/// Unicode simple case folding equates with ASCII ones (the Kelvin sign with `k`, the long s with `s`)
/// send a line to the rules whatever it holds. `None` for a name that is no text rule.
fn rule_needs(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        // `private_key_id` holds `private_key`.
        "gcp-service-account-key" => &["private_key"],
        PEM_RULE => &["-----BEGIN "],
        // Every name of the alternation is followed by `=`; `AWSAccessKeyId` holds `key`, the security
        // token `token`.
        "presigned-url-signature" => &["signature=", "credential=", "token=", "key"],
        "azure-sas-signature" => &["sig="],
        // Every key name ends in `key` (AccountKey, …_KEY, storage_account_key) or `secret`.
        "azure-storage-key" => &["key", "secret"],
        // `secret_access_key`, `aws_secret_key`.
        "aws-secret-access-key" => &["secret"],
        "aws-access-key-id" => &[
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA",
        ],
        "url-credentials" => &["://"],
        // `\\*"value` then the separator: a quote right before `value`.
        "env-secret-value" => &["\"value"],
        "docker-auth" => &["auth"],
        // password, passwd, passphrase and `…pass` hold `pass`; api-key, access-key, secret-key,
        // encryption-key, certificate-key, cert-key, signing-key hold `key`.
        "command-line-password" => &["pass", "pwd", "secret", "token", "key"],
        "mysql-password-flag" => &["mysql", "mariadb"],
        "redis-cli-password" => &["redis-cli"],
        // password, passwd, passphrase.
        "quoted-password" => &["pass"],
        "bearer-token" => &["bearer"],
        "basic-auth" => &["basic"],
        "jwt" => &["eyJ"],
        // api/access/private/encryption/signing keys hold `key`.
        "yaml-secret-value" => &["pass", "pwd", "secret", "token", "key", "credentials"],
        // password, passwd, passphrase, pwd.
        "password" => &["pass", "pwd"],
        // Every other alternative holds `key` (api_key, private_key, …, cert_key, key_data).
        "token" => &["token", "secret", "key", "credentials"],
        _ => return None,
    })
}

/// Every rule name, as counted in the manifest.
pub(crate) const RULE_NAMES: &[&str] = &[
    "gcp-service-account-key",
    PEM_RULE,
    "presigned-url-signature",
    "azure-sas-signature",
    "azure-storage-key",
    "aws-secret-access-key",
    "aws-access-key-id",
    "url-credentials",
    "env-secret-value",
    "docker-auth",
    "command-line-password",
    "mysql-password-flag",
    "redis-cli-password",
    "quoted-password",
    "bearer-token",
    "basic-auth",
    "jwt",
    "password",
    "token",
    // Decoded base64 that holds a credential (a credentials file, a PEM key): see `Rules::redact`.
    BASE64_RULE,
    // Multi-line YAML (a block scalar, a `name:` / `value:` pair): see mod.rs.
    "yaml-secret-value",
    // Structural rules (objects): see json.rs.
    "secret-field",
    "configmap-secret-key",
    "secret-argument",
];

/// Group names holding the secret, in the order tried.
const SECRET_GROUPS: [&str; 4] = ["q", "e", "s", "u"];

/// Values that are never secrets, whatever their key says (`automountServiceAccountToken=false`).
fn is_inert(value: &[u8]) -> bool {
    // A port and a path (`oci://registry:5000/app@sha256:…`) is where a URL's `user:password@` would be.
    let port_then_path = value.iter().take_while(|b| b.is_ascii_digit()).count();
    value.is_empty()
        || value.starts_with(PLACEHOLDER.as_bytes())
        || ((1..=5).contains(&port_then_path) && value.get(port_then_path) == Some(&b'/'))
        || matches!(
            value.to_ascii_lowercase().as_slice(),
            b"true" | b"false" | b"null" | b"nil" | b"<nil>" | b"none" | b"\\n"
        )
}

struct Rule {
    name: &'static str,
    regex: Regex,
    /// Capture-group indexes of the secret groups this regex has.
    secret_groups: Vec<usize>,
    /// The index of the bare-value group `u`, if the regex has one.
    bare_group: Option<usize>,
}

/// Bytes that end a bare value.
fn ends_bare(b: u8) -> bool {
    b.is_ascii_whitespace() || b"\"'\\,;&{}[]()<>".contains(&b)
}

/// Where a bare value found as `text[start..end]` really ends. The rules stop a bare value at `,` and `;`,
/// which separate fields (`Password=x;Database=app`) but also occur inside passwords (`pa;ss,word`): the
/// value goes on over each `,` / `;` followed by a run that is not the next field (no `=` or `:` in or
/// right after it), and a run the regex took that is the next field's name is given back.
fn extend_bare(text: &[u8], start: usize, mut end: usize) -> usize {
    let is_key_end = |at: usize| matches!(text.get(at), Some(b'=' | b':'));
    if is_key_end(end)
        && let Some(cut) = text[start..end]
            .iter()
            .rposition(|&b| b == b',' || b == b';')
        && cut > 0
    {
        end = start + cut;
    }
    while matches!(text.get(end), Some(b',' | b';')) {
        let run_end = (end + 1..text.len())
            .find(|&i| ends_bare(text[i]))
            .unwrap_or(text.len());
        let run = &text[end + 1..run_end];
        if run.is_empty() || run.contains(&b'=') || run.contains(&b':') || is_key_end(run_end) {
            break;
        }
        end = run_end;
    }
    end
}

pub(crate) struct Rules {
    rules: Vec<Rule>,
    /// Tells in one pass which rules can match a line, so a clean line costs one scan.
    prefilter: RegexSet,
    /// Cheaper still: a line without any string the rules' matches hold skips the `RegexSet`, and base64
    /// runs are found by a table. `None` runs every line through the regexes (the tests compare both).
    fast_path: Option<RuleLiterals>,
    pem_begin: Regex,
    pem_end: Regex,
    base64_run: Regex,
    key_start: Regex,
}

impl Rules {
    pub(crate) fn compile() -> Rules {
        let mut rules = Rules::compile_without_fast_path();
        rules.fast_path = Some(RuleLiterals::new(rule_sources().iter().flat_map(
            |(name, _)| {
                rule_needs(name)
                    .unwrap_or_else(|| panic!("redaction rule {name} says no strings it needs"))
                    .iter()
                    .copied()
            },
        )));
        rules
    }

    /// The rules with every line going through the regexes: what the fast path must equal.
    pub(crate) fn compile_without_fast_path() -> Rules {
        let sources = rule_sources();
        debug_assert!(sources.iter().all(|(name, _)| RULE_NAMES.contains(name)));
        let rules: Vec<Rule> = sources
            .iter()
            .map(|(name, source)| {
                // The rule sources are constants of this file; the unit tests compile every one of them.
                let regex = Regex::new(source)
                    .unwrap_or_else(|e| panic!("redaction rule {name} does not compile: {e}"));
                let secret_groups = regex
                    .capture_names()
                    .enumerate()
                    .filter(|(_, n)| n.is_some_and(|n| SECRET_GROUPS.contains(&n)))
                    .map(|(i, _)| i)
                    .collect();
                let bare_group = regex.capture_names().position(|n| n == Some("u"));
                Rule {
                    name,
                    regex,
                    secret_groups,
                    bare_group,
                }
            })
            .collect();
        let prefilter = RegexSet::new(sources.iter().map(|(_, s)| s.as_str()))
            .unwrap_or_else(|e| panic!("redaction prefilter does not compile: {e}"));
        Rules {
            rules,
            prefilter,
            fast_path: None,
            pem_begin: Regex::new(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
                .unwrap_or_else(|e| panic!("{e}")),
            pem_end: Regex::new(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")
                .unwrap_or_else(|e| panic!("{e}")),
            base64_run: Regex::new(BASE64_RUN).unwrap_or_else(|e| panic!("{e}")),
            key_start: Regex::new(KEY_START).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    /// Applies every rule to a line, then replaces whole any base64 run whose decoded text holds a
    /// credential. `None` when nothing was redacted. `literal_free`: the fast path already found none of
    /// the rules' strings in the line (in its block), so no text rule can match it.
    pub(crate) fn redact(
        &self,
        line: &[u8],
        counts: &mut RedactionCounts,
        literal_free: bool,
    ) -> Option<Vec<u8>> {
        debug_assert!(!literal_free || self.fast_path.is_some());
        let plain = if literal_free {
            None
        } else {
            self.redact_plain(line, counts)
        };
        let text = plain.as_deref().unwrap_or(line);
        match self.redact_encoded(text, counts) {
            Some(changed) => Some(changed),
            None => plain,
        }
    }

    /// Base64 runs that decode to text holding a credential (a credentials file, a PEM private key, a
    /// kubeconfig) are replaced whole: their content cannot be redacted in place.
    fn redact_encoded(&self, line: &[u8], counts: &mut RedactionCounts) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let by_regex = self
            .fast_path
            .is_none()
            .then(|| self.base64_run.find_iter(line).map(|run| run.range()));
        let by_table = self.fast_path.is_some().then(|| {
            // The standard engine requires canonical padding: a run whose length is no multiple of 4
            // cannot decode (base64 0.23.1, src/engine/general_purpose/decode_suffix.rs,
            // `DecodePaddingMode::RequireCanonical`), so it is not even tried.
            literals::base64_runs(line).filter(|run| run.len() % 4 == 0)
        });
        for run in by_regex
            .into_iter()
            .flatten()
            .chain(by_table.into_iter().flatten())
        {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&line[run.clone()])
            else {
                continue;
            };
            let holds_credential = self.pem_begin.is_match(&decoded)
                || self
                    .redact_plain(&decoded, &mut RedactionCounts::new())
                    .is_some();
            if holds_credential {
                let out = out.get_or_insert_with(Vec::new);
                out.extend_from_slice(&line[copied..run.start]);
                out.extend_from_slice(PLACEHOLDER.as_bytes());
                copied = run.end;
                *counts.entry(BASE64_RULE.to_string()).or_default() += 1;
            }
        }
        let mut out = out?;
        out.extend_from_slice(&line[copied..]);
        Some(out)
    }

    /// Applies every text rule to a line. `None` when nothing was redacted.
    fn redact_plain(&self, line: &[u8], counts: &mut RedactionCounts) -> Option<Vec<u8>> {
        // Nearly every line holds no credential. `is_match` stops at the first hit and runs the lazy DFA
        // without overlapping states; `matches` (which rules hit) needs an overlapping search to the end of the
        // line, and fell back to the PikeVM often enough to be a third of a collection's CPU.
        if let Some(literals) = &self.fast_path
            && !literals.may_match(line)
        {
            return None;
        }
        if !self.prefilter.is_match(line) {
            return None;
        }
        let hits = self.prefilter.matches(line);
        if !hits.matched_any() {
            return None;
        }
        let mut current: Option<Vec<u8>> = None;
        for index in hits.iter() {
            let rule = &self.rules[index];
            let text = current.as_deref().unwrap_or(line);
            if let Some((changed, n)) = rule.apply(text) {
                *counts.entry(rule.name.to_string()).or_default() += n;
                current = Some(changed);
            }
        }
        current
    }

    /// `cut`, moved back to the start of any match (of a rule, or a base64 run) that crosses it, so the
    /// match goes whole into the next piece. A match as long as the piece cannot move it to 0: the cut
    /// then stays where it was asked (the piece must shrink the line).
    pub(crate) fn safe_cut(&self, piece: &[u8], cut: usize) -> usize {
        let hits = self.prefilter.matches(piece);
        // A value quoted to past the piece's end matches no rule inside the piece: a key that starts
        // shortly before the cut (as far back as the piece reaches past it) goes into the next piece
        // with all it says.
        let window = cut.saturating_sub(piece.len().saturating_sub(cut));
        let mut safe = self
            .key_start
            .find_iter(&piece[window..cut])
            .next()
            .map_or(cut, |found| window + found.start());
        // A cut moved back for one rule may now fall inside another's match: again until none crosses.
        loop {
            let before = safe;
            let regexes = hits
                .iter()
                .map(|i| &self.rules[i].regex)
                .chain(std::iter::once(&self.base64_run));
            for regex in regexes {
                for found in regex.find_iter(piece) {
                    if found.start() >= safe {
                        break;
                    }
                    if found.end() > safe {
                        safe = found.start();
                        break;
                    }
                }
            }
            if safe == before || safe == 0 {
                break;
            }
        }
        if safe == 0 { cut } else { safe }
    }

    /// Whether the cheap checks may let lines through without the regexes.
    pub(crate) fn has_fast_path(&self) -> bool {
        self.fast_path.is_some()
    }

    /// The strings the fast path searches for, `None` without the fast path.
    pub(super) fn fast_literals(&self) -> Option<&RuleLiterals> {
        self.fast_path.as_ref()
    }

    /// Where the line's last BEGIN … PRIVATE KEY marker ends, if no END marker follows it.
    pub(crate) fn unterminated_pem_begin(&self, line: &[u8]) -> Option<usize> {
        let last_begin = self.pem_begin.find_iter(line).last()?;
        match self.pem_end.find_at(line, last_begin.end()) {
            Some(_) => None,
            None => Some(last_begin.end()),
        }
    }

    /// Where an END … PRIVATE KEY marker starts on the line.
    pub(crate) fn pem_end_at(&self, line: &[u8]) -> Option<usize> {
        self.pem_end.find(line).map(|m| m.start())
    }
}

impl Rule {
    /// Replaces the secret group of every match. Returns the new text and how many values were replaced.
    fn apply(&self, text: &[u8]) -> Option<(Vec<u8>, u64)> {
        let mut locations: CaptureLocations = self.regex.capture_locations();
        let mut out: Vec<u8> = Vec::new();
        let mut copied = 0;
        let mut count = 0;
        let mut at = 0;
        while at <= text.len() {
            let Some(found) = self.regex.captures_read_at(&mut locations, text, at) else {
                break;
            };
            let secret = self
                .secret_groups
                .iter()
                .find_map(|&g| Some((g, locations.get(g)?)))
                .filter(|&(_, (start, end))| !is_inert(&text[start..end]));
            if let Some((group, (start, end))) = secret {
                let end = if Some(group) == self.bare_group {
                    extend_bare(text, start, end)
                } else {
                    end
                };
                out.extend_from_slice(&text[copied..start]);
                out.extend_from_slice(PLACEHOLDER.as_bytes());
                copied = end;
                count += 1;
            }
            // An empty match cannot happen (every rule has a literal part), but never loop on one.
            at = if found.end() > found.start() {
                found.end().max(copied)
            } else {
                found.end() + 1
            };
        }
        if count == 0 {
            return None;
        }
        out.extend_from_slice(&text[copied..]);
        Some((out, count))
    }
}
