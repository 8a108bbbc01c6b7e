//! A list file larger than [`super::SLICE_LIMIT`] cut into its items as it streams, each item parsed from memory.
//!
//! serde_json reads from an `io::Read` a byte at a time through its own reader, several times slower than from
//! a slice; reading the whole file into memory first would make memory grow with the file (a PodVolumeBackup
//! list is 28 MB on the scale bundle, 280 MB at ten times the scale). Here only the envelope is read by hand (a
//! List's keys, the `items` array's commas and brackets), and each value's text is cut out by following its
//! strings and nesting and handed to serde_json as a slice: one item is held at a time, and serde_json still
//! reads every byte of it (an item the sink does not want is checked as `IgnoredAny`, as the other path does).
//!
//! An error names the line and column of the whole file, as serde_json's own would: an item's are its error's
//! moved by where the item starts.
use std::io::BufRead;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};

use super::{Keep, ListError, ListSink, Pick};

/// Where a byte of the file is: its line (from 1) and how many bytes of that line precede it.
#[derive(Debug, Clone, Copy)]
struct Place {
    line: usize,
    before: usize,
}

pub(super) struct Cutter<R> {
    reader: R,
    /// Where the next unread byte is.
    place: Place,
    /// The text of the value being cut.
    value: Vec<u8>,
}

impl<R: BufRead> Cutter<R> {
    pub(super) fn new(reader: R) -> Cutter<R> {
        Cutter {
            reader,
            place: Place { line: 1, before: 0 },
            value: Vec::new(),
        }
    }

    /// Reads the document into `sink`, as [`super::read_list`] does from a slice: a Kubernetes List (`items` may
    /// be null), a bare array, a single object, or null.
    pub(super) fn read(mut self, keep: Keep, sink: &mut dyn ListSink) -> Result<(), ListError> {
        match self.skip_space()? {
            None => return Err(self.eof("EOF while parsing a value")),
            Some(b'[') => self.items(keep, sink)?,
            Some(b'{') => self.list(keep, sink)?,
            Some(_) => {
                let value: Value = self.cut_and_parse()?;
                let found = match value {
                    Value::Null => None,
                    Value::Bool(_) => Some("a boolean"),
                    Value::Number(_) => Some("a number"),
                    _ => Some("a string"),
                };
                if let Some(found) = found {
                    return Err(ListError::Shape(format!(
                        "expected a Kubernetes List, found {found}"
                    )));
                }
            }
        }
        match self.skip_space()? {
            None => Ok(()),
            Some(_) => Err(self.syntax("trailing characters")),
        }
    }

    /// An object at the top: a List's `items` streamed, its other keys kept in case it is a single object.
    fn list(&mut self, keep: Keep, sink: &mut dyn ListSink) -> Result<(), ListError> {
        self.bump();
        let mut rest = Map::new();
        let mut listed = false;
        if self.skip_space()? == Some(b'}') {
            self.bump();
        } else {
            loop {
                match self.skip_space()? {
                    Some(b'"') => {}
                    None => return Err(self.eof("EOF while parsing an object")),
                    Some(_) => return Err(self.syntax("key must be a string")),
                }
                let key: String = self.cut_and_parse()?;
                match self.skip_space()? {
                    Some(b':') => self.bump(),
                    None => return Err(self.eof("EOF while parsing an object")),
                    Some(_) => return Err(self.syntax("expected `:`")),
                }
                if self.skip_space()?.is_none() {
                    return Err(self.eof("EOF while parsing a value"));
                }
                if key == "items" && !listed {
                    listed = true;
                    self.items_value(keep, sink)?;
                } else {
                    let value: Value = self.cut_and_parse()?;
                    rest.insert(key, value);
                }
                match self.skip_space()? {
                    Some(b',') => self.bump(),
                    Some(b'}') => {
                        self.bump();
                        break;
                    }
                    None => return Err(self.eof("EOF while parsing an object")),
                    Some(_) => return Err(self.syntax("expected `,` or `}`")),
                }
            }
        }
        if listed {
            return Ok(());
        }
        if rest.contains_key("kind") || rest.contains_key("metadata") {
            sink.push(keep, Value::Object(rest));
            return Ok(());
        }
        Err(ListError::Shape(
            "expected a Kubernetes List, an array or an object".into(),
        ))
    }

    /// The value of a List's `items`: an array, or null.
    fn items_value(&mut self, keep: Keep, sink: &mut dyn ListSink) -> Result<(), ListError> {
        if self.skip_space()? == Some(b'[') {
            return self.items(keep, sink);
        }
        // Read whole, so that the message is the shape's, not a syntax error's.
        let value: Value = self.cut_and_parse()?;
        let found = match value {
            Value::Null => return Ok(()),
            Value::Object(_) => "an object",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            _ => "a string",
        };
        Err(ListError::Shape(format!(
            "`items` is {found}, expected an array"
        )))
    }

    /// An array of items, at its `[`: each cut, parsed and handed to `sink` before the next is read.
    fn items(&mut self, keep: Keep, sink: &mut dyn ListSink) -> Result<(), ListError> {
        self.bump();
        match self.skip_space()? {
            Some(b']') => {
                self.bump();
                return Ok(());
            }
            None => return Err(self.eof("EOF while parsing a list")),
            Some(_) => {}
        }
        loop {
            if sink.wants_next() {
                let item = match sink.reads() {
                    Some(pick) => self.cut_and_pick(pick)?,
                    None => self.cut_and_parse()?,
                };
                sink.push(keep, item);
            } else {
                let IgnoredAny = self.cut_and_parse()?;
                sink.skip();
            }
            match self.skip_space()? {
                Some(b',') => {
                    self.bump();
                    match self.skip_space()? {
                        Some(b']') => return Err(self.syntax("trailing comma")),
                        None => return Err(self.eof("EOF while parsing a value")),
                        Some(_) => {}
                    }
                }
                Some(b']') => {
                    self.bump();
                    return Ok(());
                }
                None => return Err(self.eof("EOF while parsing a list")),
                Some(_) => return Err(self.syntax("expected `,` or `]`")),
            }
        }
    }

    /// The value that starts at the next byte, cut and parsed.
    fn cut_and_parse<T: DeserializeOwned>(&mut self) -> Result<T, ListError> {
        let start = self.place;
        self.cut()?;
        serde_json::from_slice(&self.value).map_err(|e| moved(&e, start))
    }

    /// The value that starts at the next byte, cut and parsed as `pick` says.
    fn cut_and_pick(&mut self, pick: &Pick) -> Result<Value, ListError> {
        let start = self.place;
        self.cut()?;
        let mut de = serde_json::Deserializer::from_slice(&self.value);
        pick.parse(&mut de)
            .and_then(|value| de.end().map(|()| value))
            .map_err(|e| moved(&e, start))
    }

    /// Copies the text of the value that starts at the next byte into `self.value`: a string to its closing
    /// quote, an object or array to the bracket that closes it (strings followed, so that a bracket in one
    /// does not count), anything else up to the next space, comma or bracket. At the end of the file the text
    /// is what there was, and serde_json says what is missing.
    fn cut(&mut self) -> Result<(), ListError> {
        self.value.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut first = true;
        loop {
            let chunk = self.reader.fill_buf().map_err(ListError::Read)?;
            if chunk.is_empty() {
                return Ok(());
            }
            let mut end = None;
            let mut at = 0;
            while at < chunk.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        at += 1;
                        continue;
                    }
                    // Most of a Kubernetes object's text is in strings: jump to what ends or escapes one.
                    match memchr::memchr2(b'"', b'\\', &chunk[at..]) {
                        None => at = chunk.len(),
                        Some(offset) => {
                            at += offset;
                            if chunk[at] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                                if depth == 0 {
                                    end = Some(at + 1);
                                    break;
                                }
                            }
                            at += 1;
                        }
                    }
                    first = false;
                    continue;
                }
                let byte = chunk[at];
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(at + 1);
                            break;
                        }
                    }
                    b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'}' | b']' if depth == 0 => {
                        // A scalar ends before it; a value that starts with it is none, and serde_json, given
                        // the byte, says what it expected there.
                        end = Some(if first { at + 1 } else { at });
                        break;
                    }
                    _ => {}
                }
                first = false;
                at += 1;
            }
            let taken = end.unwrap_or(chunk.len());
            self.value.extend_from_slice(&chunk[..taken]);
            self.consume(taken);
            if end.is_some() {
                return Ok(());
            }
        }
    }

    /// The next byte that is not JSON whitespace, not consumed (`None` at the end of the file).
    fn skip_space(&mut self) -> Result<Option<u8>, ListError> {
        loop {
            let chunk = self.reader.fill_buf().map_err(ListError::Read)?;
            if chunk.is_empty() {
                return Ok(None);
            }
            match chunk
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(at) => {
                    let byte = chunk[at];
                    self.consume(at);
                    return Ok(Some(byte));
                }
                None => {
                    let len = chunk.len();
                    self.consume(len);
                }
            }
        }
    }

    /// Past the byte [`Cutter::skip_space`] returned.
    fn bump(&mut self) {
        self.consume(1);
    }

    /// Past `count` bytes of the buffer, keeping count of lines.
    fn consume(&mut self, count: usize) {
        if let Ok(chunk) = self.reader.fill_buf() {
            let taken = &chunk[..count.min(chunk.len())];
            match memchr::memrchr(b'\n', taken) {
                Some(last) => {
                    self.place.line += memchr::memchr_iter(b'\n', taken).count();
                    self.place.before = taken.len() - last - 1;
                }
                None => self.place.before += taken.len(),
            }
        }
        self.reader.consume(count);
    }

    /// An error of the envelope at the next byte, placed as serde_json places its own (the column of the byte
    /// at fault, from 1).
    fn syntax(&self, message: &str) -> ListError {
        ListError::Syntax {
            line: self.place.line,
            column: self.place.before + 1,
            message: message.to_string(),
        }
    }

    /// The file ended where the envelope needed more: placed, as serde_json places it, at its last byte.
    fn eof(&self, message: &str) -> ListError {
        ListError::Syntax {
            line: self.place.line,
            column: self.place.before,
            message: message.to_string(),
        }
    }
}

/// serde_json's error in a value that starts at `start`, placed in the whole file.
fn moved(error: &serde_json::Error, start: Place) -> ListError {
    let text = error.to_string();
    // serde_json's message ends with where it is in the slice, which is not where it is in the file.
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(message, _)| message);
    let (line, column) = if error.line() <= 1 {
        (start.line, start.before + error.column())
    } else {
        (start.line + error.line() - 1, error.column())
    };
    ListError::Syntax {
        line,
        column,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Kept, read_list};
    use super::*;

    /// The document read both ways: from memory as a whole, and cut as it streams (no size given).
    fn both(text: &str) -> (Result<Kept, ListError>, Result<Kept, ListError>) {
        let read = |size| {
            let mut kept = Kept::default();
            read_list(text.as_bytes(), size, Keep::Newest(10), &mut kept).map(|()| kept)
        };
        (read(Some(text.len() as u64)), read(None))
    }

    fn names(kept: Kept) -> Vec<Value> {
        kept.into_items()
            .into_iter()
            .map(|o| o["metadata"]["name"].clone())
            .collect()
    }

    #[test]
    fn every_shape_of_list_reads_the_same_cut_as_whole() {
        let documents = [
            r#"{"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": [
                {"metadata": {"name": "a", "annotations": {"x": "a \"quoted\" ] } [ {"}}},
                {"metadata": {"name": "b\\", "labels": {}}, "spec": [1, 2.5, -3e2, true, null, "]"]}
            ]}"#,
            r#"{"items": [{"metadata": {"name": "a"}}], "kind": "List", "items": [{"metadata": {"name": "late"}}]}"#,
            r#"  [ {"metadata": {"name": "bare"}} , {"metadata": {"name": "ü \u00fc"}} ]  "#,
            r#"{"kind": "Backup", "metadata": {"name": "single"}}"#,
            r#"{"items": null}"#,
            "null",
            "[]",
            r#"{"items": []}"#,
            r#"{"items": [null, 1, "text", [], {"metadata": {"name": "after"}}]}"#,
        ];
        for text in documents {
            let (whole, cut) = both(text);
            let (whole, cut) = (
                whole.unwrap(),
                cut.unwrap_or_else(|e| panic!("{text}: {e:?}")),
            );
            assert_eq!(whole.total, cut.total, "{text}");
            assert_eq!(names(whole), names(cut), "{text}");
        }
    }

    #[test]
    fn invalid_json_is_placed_in_the_file_as_serde_json_places_it() {
        let documents = [
            "{\"items\": [\n  {\"metadata\": {\"name\": \"a\"}},\n  {\"metadata\": {\"name\": \"b\",}}\n]}",
            "{\"items\": [\n  {\"metadata\": {\"name\": \"a\"}}\n  {\"metadata\": {}}\n]}",
            "{\"items\": [{\"metadata\": {\"name\": tru}}]}",
            "{\"items\": [1,]}",
            "{\"items\": [,1]}",
            "{\"kind\" \"List\"}",
            "{\"kind\": \"List\" \"items\": []}",
            "{\"items\": [{\"metadata\": {\"name\": \"a\"}}]} trailing",
            "{\"items\": [{\"metadata\": {\"name\": \"cut short",
            "{\"items\": [{\"metadata\": {\"name\": \"a\"}}",
            "\n\n   ",
        ];
        for text in documents {
            let (whole, cut) = both(text);
            let Err(ListError::Json(whole)) = whole else {
                panic!("{text}: read whole: {whole:?}")
            };
            let Err(ListError::Syntax {
                line,
                column,
                message,
            }) = cut
            else {
                panic!("{text}: cut: {cut:?}")
            };
            assert_eq!(
                (line, column),
                (whole.line(), whole.column()),
                "{text}: {message}"
            );
            assert!(
                whole.to_string().starts_with(&message),
                "{text}: {whole} / {message}"
            );
        }
    }

    #[test]
    fn a_document_of_the_wrong_shape_says_so_cut_as_whole() {
        for text in [
            "true",
            "3",
            r#""text""#,
            r#"{"items": {"a": 1}}"#,
            r#"{"items": "x"}"#,
            r#"{"apiVersion": "v1"}"#,
            "{}",
        ] {
            let (whole, cut) = both(text);
            match (whole, cut) {
                (Err(ListError::Shape(whole)), Err(ListError::Shape(cut))) => {
                    assert_eq!(whole, cut, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_item_across_buffer_refills_is_cut_whole() {
        // A buffer of 7 bytes: every value, string and escape crosses a refill somewhere.
        let text = r#"{"items": [{"metadata": {"name": "a\"b\\"}, "s": "]]}}"}, {"metadata": {"name": "c"}}]}"#;
        let mut kept = Kept::default();
        Cutter::new(std::io::BufReader::with_capacity(7, text.as_bytes()))
            .read(Keep::All, &mut kept)
            .unwrap();
        assert_eq!(names(kept), ["a\"b\\", "c"]);
    }
}
