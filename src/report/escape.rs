//! Escaping of untrusted text (log lines, object messages, names) for each output language.
//!
//! Every function here takes text from a bundle and returns text that renders as that same text, never as
//! markup. Control characters other than tab and newline are shown as `\u{..}` escapes: terminal colour codes
//! in logs would otherwise be invalid XML and invisible noise in HTML.

/// Escapes for HTML text and attribute values (quoted with `"` or `'`).
pub(super) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            '=' => out.push_str("&#61;"),
            c if is_hidden_control(c) => push_control_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Text for a terminal: control characters (an ANSI escape planted in a log line could rewrite the screen)
/// shown as `\u{..}`, newlines and tabs as spaces so each item stays on its line.
pub(super) fn terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\r' => {}
            '\n' | '\t' => out.push(' '),
            c if is_hidden_control(c) => push_control_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Text for XML 1.0 (the JUnit report), before the XML writer escapes markup: characters XML 1.0 cannot carry
/// (most C0 controls, U+FFFE, U+FFFF) and other hidden controls become visible `\u{..}` escapes. The writer
/// (quick-junit) would drop ANSI escapes and C0 controls silently, but not U+FFFE / U+FFFF, and a planted
/// escape sequence is evidence worth seeing.
pub(super) fn xml_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\u{FFFE}' | '\u{FFFF}' => push_control_escape(&mut out, ch),
            c if is_hidden_control(c) => push_control_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Escapes for Markdown inline text (GitHub-flavoured, also inside table cells): the result renders as the
/// literal text, with no emphasis, link, HTML tag or table-cell break. Newlines become spaces because a value
/// never spans paragraphs in the report and a newline would end a table row.
pub(super) fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut at_start = true;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            // An underscore between two letters or digits can neither open nor close emphasis (CommonMark's
            // intraword rule), so `el9_4.x86_64` stays readable in the raw ticket.
            '_' if prev.is_some_and(char::is_alphanumeric)
                && chars.peek().copied().is_some_and(char::is_alphanumeric) =>
            {
                out.push('_');
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Only an `&` that would start an entity reference changes the rendering.
            '&' if starts_entity(chars.clone()) => out.push_str("&amp;"),
            '\r' => {}
            '\n' => out.push(' '),
            // Line-start markers (heading, list, quote, setext underline) matter only at the very start, since
            // newlines never survive: a value placed after "- " in a list would otherwise become a heading.
            '#' | '-' | '+' | '=' if at_start => {
                out.push('\\');
                out.push(ch);
            }
            c if c.is_ascii_digit() && at_start => {
                out.push(c);
                // "1." or "1)" at the start would open an ordered list.
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_digit() {
                        out.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                // Only "N." or "N)" followed by a space or the end is a list marker; "5.14" is not.
                let mut lookahead = chars.clone();
                if let Some(marker @ ('.' | ')')) = lookahead.next()
                    && lookahead.next().is_none_or(char::is_whitespace)
                {
                    out.push('\\');
                    out.push(marker);
                    chars.next();
                }
            }
            c if is_hidden_control(c) => push_control_escape(&mut out, c),
            c => out.push(c),
        }
        at_start = false;
        prev = Some(ch);
    }
    out
}

/// A Markdown code span showing `text` verbatim: the fence is one backtick longer than the longest run of
/// backticks inside, padded with spaces when the text starts or ends with a backtick (CommonMark strips one
/// space on each side). Inside a GFM table a `|` still ends the cell, even in a code span, so `in_table`
/// escapes it (GitHub removes that backslash when rendering).
pub(super) fn markdown_code_span(text: &str, in_table: bool) -> String {
    let mut body = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\r' => {}
            '\n' => body.push(' '),
            '|' if in_table => body.push_str("\\|"),
            c if is_hidden_control(c) => push_control_escape(&mut body, c),
            c => body.push(c),
        }
    }
    if body.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_backtick_run(&body) + 1);
    let pad = body.starts_with('`')
        || body.ends_with('`')
        || (body.starts_with(' ') && body.ends_with(' ') && !body.trim().is_empty());
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{body}{space}{fence}")
}

/// A fenced Markdown code block showing `text` verbatim (multi-line). The fence is longer than any backtick run
/// in the text, so no line of the text can close it.
pub(super) fn markdown_code_block(text: &str) -> String {
    let mut body = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\r' => {}
            c if c != '\n' && is_hidden_control(c) => push_control_escape(&mut body, c),
            c => body.push(c),
        }
    }
    let fence = "`".repeat((longest_backtick_run(&body) + 1).max(3));
    format!("{fence}text\n{}\n{fence}", body.trim_end_matches('\n'))
}

/// Text with `code spans` (between single backticks, as rule authors write commands in `fix`) rendered as
/// code in HTML; everything escaped first, so only our own `<code>` tags are markup.
pub(super) fn html_rich(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for (is_code, part) in split_code_spans(text) {
        if is_code {
            out.push_str("<code>");
            out.push_str(&html(part));
            out.push_str("</code>");
        } else {
            out.push_str(&html(part));
        }
    }
    out
}

/// Text with `code spans` kept as Markdown code spans and everything else escaped as Markdown text.
pub(super) fn markdown_rich(text: &str, in_table: bool) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for (index, (is_code, part)) in split_code_spans(text).into_iter().enumerate() {
        if is_code {
            out.push_str(&markdown_code_span(part, in_table));
        } else if index == 0 {
            out.push_str(&markdown(part));
        } else {
            // Not at the start of the value: a leading `#` or `1.` here is mid-line and harmless, but the
            // escaper cannot know that, so prefix a character that is then dropped.
            let escaped = markdown(&format!("x{part}"));
            out.push_str(&escaped[1..]);
        }
    }
    out
}

/// An http(s) URL safe to put in an `href`; anything else (javascript:, data:, relative) is refused so a rule's
/// `docs` entry can never run script when clicked.
pub(super) fn safe_link(url: &str) -> Option<&str> {
    let trimmed = url.trim();
    let lower = trimmed.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !trimmed
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'));
    ok.then_some(trimmed)
}

/// Splits text on single-backtick code spans: `(true, code)` for spans, `(false, text)` between them. An
/// unmatched backtick is ordinary text.
fn split_code_spans(text: &str) -> Vec<(bool, &str)> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        if close == 0 {
            // "``" is not a span opener here; keep it as text.
            parts.push((false, &rest[..open + 2]));
            rest = &rest[open + 2..];
            continue;
        }
        if open > 0 {
            parts.push((false, &rest[..open]));
        }
        parts.push((true, &after[..close]));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push((false, rest));
    }
    parts
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for ch in text.chars() {
        if ch == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

fn starts_entity(rest: impl Iterator<Item = char>) -> bool {
    for (len, ch) in rest.take(32).enumerate() {
        if ch == ';' {
            return len > 0;
        }
        if !(ch.is_ascii_alphanumeric() || ch == '#') {
            return false;
        }
    }
    false
}

fn is_hidden_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

fn push_control_escape(out: &mut String, c: char) {
    out.push_str(&format!("\\u{{{:x}}}", c as u32));
}

/// A fix written as numbered steps ("1. Check … 2. Create …", as the rules' folded YAML gives them) as an
/// ordered list, each step rich text; `None` when the text is not numbered from 1 on. Only the numbers in
/// sequence start a step, so "Velero 1.17. Then" stays inside its step.
pub(super) fn numbered_steps(text: &str) -> Option<Vec<&str>> {
    let mut starts = Vec::new();
    let mut from = 0;
    for number in 1.. {
        let marker = format!("{number}. ");
        let found = text[from..]
            .match_indices(&marker)
            .map(|(i, _)| from + i)
            .find(|&at| at == 0 || text[..at].ends_with(char::is_whitespace));
        match found {
            Some(at) if number > 1 || text[..at].trim().is_empty() => {
                starts.push((at, at + marker.len()));
                from = at + marker.len();
            }
            _ => break,
        }
    }
    if starts.len() < 2 {
        return None;
    }
    let steps = starts
        .iter()
        .enumerate()
        .map(|(index, &(_, body))| {
            let end = starts.get(index + 1).map_or(text.len(), |&(next, _)| next);
            text[body..end].trim()
        })
        .collect();
    Some(steps)
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_fix_steps_are_found_in_sequence_only() {
        let fix = "1. Check the location (Velero 1.17. or later). 2. Create the bucket. 3. Run `velero get`.";
        assert_eq!(
            numbered_steps(fix).unwrap(),
            vec![
                "Check the location (Velero 1.17. or later).",
                "Create the bucket.",
                "Run `velero get`."
            ]
        );
        assert_eq!(numbered_steps("Restart velero. 2. is not a list"), None);
        assert_eq!(numbered_steps("1. only one step"), None);
    }

    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(html("\u{1b}[31mred"), "\\u{1b}[31mred");
    }

    #[test]
    fn xml_chars_shows_what_xml_cannot_carry() {
        assert_eq!(xml_chars("a]]>b<c\u{0}\u{FFFE}"), "a]]>b<c\\u{0}\\u{fffe}");
        assert_eq!(xml_chars("tab\tnl\n"), "tab\tnl\n");
    }

    #[test]
    fn markdown_escapes_pipes_tags_and_line_starts() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("<b>x</b>"), "&lt;b&gt;x&lt;/b&gt;");
        assert_eq!(markdown("# not a heading"), "\\# not a heading");
        assert_eq!(markdown("12. not a list"), "12\\. not a list");
        assert_eq!(
            markdown("5.14.0-427.el9_4.x86_64"),
            "5.14.0-427.el9_4.x86_64"
        );
        assert_eq!(markdown("_emph_ a_b"), "\\_emph\\_ a_b");
        assert_eq!(markdown("version 1.2"), "version 1.2");
        assert_eq!(markdown("AT&T &amp;"), "AT&T &amp;amp;");
        assert_eq!(markdown("two\nlines"), "two lines");
        assert_eq!(markdown("*bold* [link](x)"), "\\*bold\\* \\[link\\](x)");
    }

    #[test]
    fn code_span_fence_outgrows_inner_backticks() {
        assert_eq!(markdown_code_span("plain", false), "`plain`");
        assert_eq!(markdown_code_span("a `b` c", false), "``a `b` c``");
        assert_eq!(markdown_code_span("`edge", false), "`` `edge ``");
        assert_eq!(markdown_code_span("x ``` y", false), "````x ``` y````");
        assert_eq!(markdown_code_span("a|b", true), "`a\\|b`");
        assert_eq!(markdown_code_span("a|b", false), "`a|b`");
    }

    #[test]
    fn code_block_fence_cannot_be_closed_by_content() {
        let block = markdown_code_block("line ```\n````");
        assert!(block.starts_with("`````text\n"));
        assert!(block.ends_with("\n`````"));
    }

    #[test]
    fn rich_text_keeps_code_spans_only() {
        assert_eq!(
            html_rich("run `kubectl get <x>` then <b>"),
            "run <code>kubectl get &lt;x&gt;</code> then &lt;b&gt;"
        );
        assert_eq!(
            markdown_rich("run `a|b` then #1", true),
            "run `a\\|b` then #1"
        );
        assert_eq!(html_rich("odd ` tick"), "odd &#96; tick");
    }

    #[test]
    fn only_http_links_are_links() {
        assert_eq!(
            safe_link("https://velero.io/docs/"),
            Some("https://velero.io/docs/")
        );
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("JaVaScRiPt:alert(1)"), None);
        assert_eq!(safe_link("https://x\" onclick=\"y"), None);
        assert_eq!(safe_link("data:text/html,<script>"), None);
    }
}
