//! The top-level fields of a tool call's arguments, and a canonical form of
//! the arguments that ignores key order and whitespace.
//!
//! Agents send arguments as JSON text, and rules ask two things of it: which
//! value went into which field, and whether two calls sent the same thing.
//! Both only need the top-level object, so this is a small reader, not a JSON
//! library: a nested object or list is kept as its raw text (skipped without
//! recursion, so deep nesting costs no stack). Text longer than
//! [`MAX_JSON_BYTES`], or that is not a JSON object, has no fields; its
//! canonical form is the trimmed text itself.

use std::borrow::Cow;

/// Longest arguments text read as JSON; longer text is compared as it is.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Top-level fields read per object; an agent that sends more is unusual and
/// the rest are ignored (the canonical form then falls back to the text).
pub const MAX_FIELDS: usize = 64;

/// A top-level value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A string, unescaped.
    Text(Cow<'a, str>),
    /// A number, as written.
    Number(&'a str),
    /// `true`, `false`, `null`, a list or an object, as its raw text.
    Other(&'a str),
}

impl Value<'_> {
    /// The text of a string or a number; `None` for anything else.
    pub fn scalar(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            Value::Number(n) => Some(n),
            Value::Other(_) => None,
        }
    }
}

/// One top-level field: its name, its value, and the value's raw text.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'a> {
    pub name: Cow<'a, str>,
    pub value: Value<'a>,
    pub raw: &'a str,
}

/// The top-level fields of a JSON object text, in order, or `None` when the
/// text is not one, is longer than [`MAX_JSON_BYTES`] or has more than
/// [`MAX_FIELDS`] fields. A field given twice is kept twice.
pub fn object_fields(text: &str) -> Option<Vec<Field<'_>>> {
    if text.len() > MAX_JSON_BYTES {
        return None;
    }
    let mut r = Reader { text, pos: 0 };
    r.skip_space();
    r.expect(b'{')?;
    let mut out = Vec::with_capacity(4);
    r.skip_space();
    if r.eat(b'}') {
        return r.at_end().then_some(out);
    }
    loop {
        r.skip_space();
        let name = r.string()?;
        r.skip_space();
        r.expect(b':')?;
        r.skip_space();
        let start = r.pos;
        let value = r.value()?;
        let raw = &text[start..r.pos];
        if out.len() >= MAX_FIELDS {
            return None;
        }
        out.push(Field { name, value, raw });
        r.skip_space();
        if r.eat(b',') {
            continue;
        }
        r.expect(b'}')?;
        return r.at_end().then_some(out);
    }
}

/// Arguments in a form where two calls that sent the same thing are equal:
/// for a JSON object, its fields sorted by name, each `name=value` with the
/// value's whitespace outside strings removed; for any other text, the text
/// trimmed. `{"a": 1, "b": [1, 2]}` and `{"b":[1,2],"a":1}` are equal;
/// nested objects keep their key order (agents rarely reorder inside).
pub fn canonical(text: &str) -> Cow<'_, str> {
    let Some(mut fields) = object_fields(text) else {
        return Cow::Borrowed(text.trim());
    };
    fields.sort_by(|a, b| a.name.cmp(&b.name).then(a.raw.cmp(b.raw)));
    let mut out = String::with_capacity(text.len());
    out.push('{');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Names are written unescaped with a separator no name can end in
        // unnoticed: `"` is escaped in JSON text, so it cannot occur raw.
        out.push('"');
        out.push_str(&f.name);
        out.push_str("\":");
        compact_into(f.raw, &mut out);
    }
    out.push('}');
    Cow::Owned(out)
}

/// `raw` without whitespace outside strings.
fn compact_into(raw: &str, out: &mut String) {
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

/// The reader works on bytes: every byte JSON gives a meaning to is ASCII,
/// and no byte of a multi-byte UTF-8 character is, so the cursor stops only
/// on character boundaries where it slices.
impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    fn skip_space(&mut self) {
        while self
            .peek()
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_space();
        self.pos == self.text.len()
    }

    /// A string at the cursor (on its opening quote), unescaped. Invalid
    /// escapes become U+FFFD rather than failing.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        let rest = &self.text[self.pos..];
        // Most strings have no escape: borrow them.
        let end = rest.bytes().position(|b| b == b'"' || b == b'\\')?;
        if rest.as_bytes()[end] == b'"' {
            self.pos += end + 1;
            return Some(Cow::Borrowed(&rest[..end]));
        }
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Some(Cow::Owned(out));
                }
                '\\' => {
                    let (_, e) = chars.next()?;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let mut n = 0u32;
                            for _ in 0..4 {
                                let (_, h) = chars.next()?;
                                n = n * 16 + h.to_digit(16)?;
                            }
                            // A surrogate half on its own is no character.
                            out.push(char::from_u32(n).unwrap_or('\u{FFFD}'));
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        None
    }

    /// A value at the cursor.
    fn value(&mut self) -> Option<Value<'a>> {
        let start = self.pos;
        match self.peek()? {
            b'"' => self.string().map(Value::Text),
            b'{' | b'[' => {
                self.skip_nested()?;
                Some(Value::Other(&self.text[start..self.pos]))
            }
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.pos += 1;
                }
                let token = &self.text[start..self.pos];
                match token {
                    "" => None,
                    "true" | "false" | "null" => Some(Value::Other(token)),
                    t if t.parse::<f64>().is_ok() => Some(Value::Number(t)),
                    _ => None,
                }
            }
        }
    }

    /// Skip a nested object or list by counting brackets outside strings.
    fn skip_nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    loop {
                        match self.peek()? {
                            b'\\' => self.pos += 2,
                            b'"' => {
                                self.pos += 1;
                                break;
                            }
                            _ => self.pos += 1,
                        }
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.pos += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_level_fields_are_read_with_their_values() {
        let fields =
            object_fields(r#"{"id": "AB\u0031", "n": 42, "tags": ["x", {"y": "}"}], "ok": true}"#)
                .unwrap_or_default();
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["id", "n", "tags", "ok"]);
        assert_eq!(fields[0].value.scalar(), Some("AB1"));
        assert_eq!(fields[1].value.scalar(), Some("42"));
        assert_eq!(fields[2].value, Value::Other(r#"["x", {"y": "}"}]"#));
        assert_eq!(fields[3].value.scalar(), None);
    }

    #[test]
    fn text_that_is_not_one_object_has_no_fields() {
        for text in [
            "",
            "[1]",
            "\"x\"",
            "{\"a\":1} {}",
            "{\"a\":}",
            "{\"a\":1",
            "{\"a\":tru}",
        ] {
            assert_eq!(object_fields(text), None, "text {text:?}");
        }
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_canonical_form() {
        assert_eq!(
            canonical(r#"{"a": 1, "b": [1, 2], "c": "x y"}"#),
            canonical("{\"c\":\"x y\",\n \"b\":[1,2],\"a\":1}")
        );
        assert_ne!(canonical(r#"{"a": 1}"#), canonical(r#"{"a": 2}"#));
        assert_ne!(canonical(r#"{"a": "x y"}"#), canonical(r#"{"a": "xy"}"#));
        assert_eq!(canonical("  not json "), "not json");
    }
}
