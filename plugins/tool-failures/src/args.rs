//! The top-level fields of a tool call's arguments, and the *shape* of each
//! value: its JSON kind, which character classes and punctuation it contains,
//! a list's length, and its run signature ("digits", "uppercase letters then
//! `-` then digits").
//!
//! Agents send arguments as JSON text. Only the top-level object matters here
//! (which field the agent got wrong), so this is a small reader, not a JSON
//! library: nested objects and lists are skipped (a list's items counted),
//! without recursion, so deep nesting costs no stack. Arguments longer than
//! [`MAX_ARGUMENT_BYTES`], or that are not a JSON object, are not read: the
//! call still counts, its arguments are only left out of the comparison.
//!
//! Nothing here knows what a field means: a shape is made of character
//! classes, never of words.

use std::borrow::Cow;

/// Longest arguments text read; longer ones are counted as unreadable.
pub const MAX_ARGUMENT_BYTES: usize = 16 * 1024;
/// Top-level fields read per call; an agent that sends more is unusual and
/// the rest are ignored.
const MAX_FIELDS_PER_CALL: usize = 64;
/// Runs a signature keeps; a value with more runs has no signature
/// ([`COMPLEX`]): it is too varied to describe in a sentence.
const MAX_RUNS: usize = 6;
/// The signature of a value with more than [`MAX_RUNS`] runs, or of a kind
/// that has no characters (a list, an object, `true`, `null`).
pub const COMPLEX: Signature = Signature {
    runs: [0; MAX_RUNS],
    len: u8::MAX,
};

/// ASCII punctuation, each character its own feature: which one an agent adds
/// (`#`, `-`, `@`, ...) is what a fix names.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Features a value can have, as bit indices of a [`Features`] set.
pub mod feature {
    pub const TEXT: usize = 0;
    pub const NUMBER: usize = 1;
    pub const BOOL: usize = 2;
    pub const NULL: usize = 3;
    pub const LIST: usize = 4;
    pub const OBJECT: usize = 5;
    pub const EMPTY: usize = 6;
    pub const DIGIT: usize = 7;
    pub const LOWER: usize = 8;
    pub const UPPER: usize = 9;
    pub const SPACE: usize = 10;
    pub const OTHER_LETTER: usize = 11;
    pub const OTHER_SYMBOL: usize = 12;
    /// `PUNCT + i` is the `i`th character of [`super::PUNCTUATION`].
    pub const PUNCT: usize = 13;
    /// `LIST_LEN + n` is a list of `n` items, for `n` below [`LIST_LENS`];
    /// the last bucket holds every longer list.
    pub const LIST_LEN: usize = PUNCT + 32;
    pub const LIST_LENS: usize = 10;
    /// `LIST_MIN + n - 1` is a list of at least `n` items, `n` from 1 to
    /// `LIST_LENS - 1`: failing calls with three or four items, against
    /// successful ones with one or two, differ in no exact length as much as
    /// in "at least three".
    pub const LIST_MIN: usize = LIST_LEN + LIST_LENS;
    /// Number of features a value can have (all fit in a `u64`).
    pub const COUNT: usize = LIST_MIN + LIST_LENS - 1;
    /// Not a value's feature: the field is missing from the call. Counted
    /// from the number of calls, see `shapes`.
    pub const ABSENT: usize = COUNT;
}

const _: () = assert!(feature::COUNT <= 64, "features are bits of a u64");

/// The set of features of one value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features(u64);

impl Features {
    fn set(&mut self, feature: usize) {
        self.0 |= 1 << feature;
    }

    pub fn has(self, feature: usize) -> bool {
        feature < feature::COUNT && self.0 & (1 << feature) != 0
    }

    /// The features in the set, in order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let f = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(f)
        })
    }
}

/// A top-level value of the arguments object, borrowed from the arguments
/// text where it can be (a string without escapes).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A string, unescaped.
    Text(Cow<'a, str>),
    /// A number, as written (`-12.5e3`).
    Number(&'a str),
    Bool,
    Null,
    /// A list and its number of items.
    List(usize),
    Object,
}

/// The runs of a value's characters: one character per run of one
/// character class, `d` digits, `u` uppercase letters, `l` lowercase
/// letters, `s` whitespace, `o` other letters, `x` other symbols, and
/// punctuation as itself; [`COMPLEX`] when there are more runs than
/// [`MAX_RUNS`] or the kind has no text. A `Copy` value rather than a
/// string: every argument of every call has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signature {
    runs: [u8; MAX_RUNS],
    len: u8,
}

impl Signature {
    pub fn is_complex(self) -> bool {
        self == COMPLEX
    }

    /// The runs' classes, in order (none for [`COMPLEX`]).
    pub fn classes(self) -> impl Iterator<Item = char> {
        let len = if self.is_complex() {
            0
        } else {
            usize::from(self.len)
        };
        self.runs.into_iter().take(len).map(char::from)
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_complex() {
            return f.write_str("~");
        }
        self.classes().try_for_each(|c| write!(f, "{c}"))
    }
}

/// A value's features and its run signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub features: Features,
    pub signature: Signature,
    /// Bit `i` set when run `i` is a single character ("an uppercase letter"
    /// rather than "uppercase letters").
    pub single_runs: u8,
}

/// The index of an ASCII punctuation character in [`PUNCTUATION`] (which
/// lists them in ASCII order), without searching it.
fn punct_index(c: char) -> Option<usize> {
    let b = u8::try_from(c).ok()?;
    Some(match b {
        b'!'..=b'/' => usize::from(b - b'!'),
        b':'..=b'@' => 15 + usize::from(b - b':'),
        b'['..=b'`' => 22 + usize::from(b - b'['),
        b'{'..=b'~' => 28 + usize::from(b - b'{'),
        _ => return None,
    })
}

/// The character class of one character, as it appears in a signature.
fn run_class(c: char) -> char {
    if c.is_ascii_digit() {
        'd'
    } else if c.is_ascii_uppercase() {
        'u'
    } else if c.is_ascii_lowercase() {
        'l'
    } else if c.is_whitespace() {
        's'
    } else if c.is_alphabetic() {
        'o'
    } else if punct_index(c).is_some() {
        c
    } else {
        'x'
    }
}

impl Shape {
    pub fn of(value: &Value) -> Shape {
        use feature::*;
        let mut features = Features::default();
        let chars = match value {
            Value::Text(text) => {
                features.set(TEXT);
                text.as_ref()
            }
            Value::Number(literal) => {
                features.set(NUMBER);
                literal
            }
            Value::Bool => {
                features.set(BOOL);
                ""
            }
            Value::Null => {
                features.set(NULL);
                ""
            }
            Value::List(n) => {
                features.set(LIST);
                features.set(LIST_LEN + (*n).min(LIST_LENS - 1));
                for at_least in 1..=(*n).min(LIST_LENS - 1) {
                    features.set(LIST_MIN + at_least - 1);
                }
                ""
            }
            Value::Object => {
                features.set(OBJECT);
                ""
            }
        };
        if matches!(value, Value::Text(t) if t.is_empty()) {
            features.set(EMPTY);
        }
        let mut signature = Signature {
            runs: [0; MAX_RUNS],
            len: 0,
        };
        let mut single_runs = 0u8;
        let mut runs = 0usize;
        let mut last: Option<char> = None;
        let mut run_len = 0usize;
        for c in chars.chars() {
            let class = run_class(c);
            features.set(match class {
                'd' => DIGIT,
                'u' => UPPER,
                'l' => LOWER,
                's' => SPACE,
                'o' => OTHER_LETTER,
                'x' => OTHER_SYMBOL,
                p => PUNCT + punct_index(p).unwrap_or(0),
            });
            if last == Some(class) {
                run_len += 1;
                continue;
            }
            if run_len == 1 && runs <= MAX_RUNS {
                single_runs |= 1 << (runs - 1);
            }
            runs += 1;
            run_len = 1;
            last = Some(class);
            if runs <= MAX_RUNS {
                // Every class is ASCII: a letter code or ASCII punctuation.
                signature.runs[runs - 1] = u8::try_from(class).unwrap_or(b'x');
                signature.len += 1;
            }
        }
        if run_len == 1 && runs <= MAX_RUNS {
            single_runs |= 1 << (runs - 1);
        }
        if runs > MAX_RUNS || !matches!(value, Value::Text(_) | Value::Number(_)) {
            signature = COMPLEX;
            single_runs = 0;
        }
        Shape {
            features,
            signature,
            single_runs,
        }
    }
}

/// The top-level fields of a JSON object text, in order, or `None` when the
/// text is not one (or longer than [`MAX_ARGUMENT_BYTES`]). A field given
/// twice is kept twice, as the agent sent it.
pub fn fields(json: &str) -> Option<Vec<(Cow<'_, str>, Value<'_>)>> {
    if json.len() > MAX_ARGUMENT_BYTES {
        return None;
    }
    let mut reader = Reader { text: json, pos: 0 };
    reader.skip_space();
    reader.expect(b'{')?;
    let mut out = Vec::with_capacity(4);
    reader.skip_space();
    if reader.eat(b'}') {
        return reader.at_end().then_some(out);
    }
    loop {
        reader.skip_space();
        let name = reader.string()?;
        reader.skip_space();
        reader.expect(b':')?;
        reader.skip_space();
        let value = reader.value()?;
        if out.len() < MAX_FIELDS_PER_CALL {
            out.push((name, value));
        }
        reader.skip_space();
        if reader.eat(b',') {
            continue;
        }
        reader.expect(b'}')?;
        return reader.at_end().then_some(out);
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

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// The character at the cursor, for the slow path of escaped strings.
    fn bump_char(&mut self) -> Option<char> {
        let c = self.text[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
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

    /// A string at the cursor (which is on its opening quote), unescaped.
    /// Invalid escapes and lone surrogates become U+FFFD rather than failing:
    /// the shape of the rest is still worth knowing.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        // Most strings have no escape: borrow them.
        let rest = &self.text[self.pos..];
        if let Some(end) = rest.bytes().position(|b| b == b'"' || b == b'\\')
            && rest.as_bytes()[end] == b'"'
        {
            self.pos += end + 1;
            return Some(Cow::Borrowed(&rest[..end]));
        }
        let mut out = String::new();
        loop {
            match self.bump_char()? {
                '"' => return Some(Cow::Owned(out)),
                '\\' => match self.bump_char()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let high = self.hex4()?;
                        let c = if (0xD800..0xDC00).contains(&high)
                            && self.text[self.pos..].starts_with("\\u")
                        {
                            self.pos += 2;
                            let low = self.hex4()?;
                            char::from_u32(
                                0x10000
                                    + ((high - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3FF),
                            )
                        } else {
                            char::from_u32(high)
                        };
                        out.push(c.unwrap_or('\u{FFFD}'));
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let n = u32::from_str_radix(digits, 16).ok()?;
        self.pos += 4;
        Some(n)
    }

    /// A value at the cursor. Nested lists and objects are skipped, a list's
    /// items counted.
    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Value::Text),
            b'{' => {
                self.skip_nested()?;
                Some(Value::Object)
            }
            b'[' => {
                self.bump();
                self.skip_space();
                if self.eat(b']') {
                    return Some(Value::List(0));
                }
                let mut items = 0;
                loop {
                    self.skip_space();
                    match self.peek()? {
                        b'[' | b'{' => self.skip_nested()?,
                        _ => {
                            self.value()?;
                        }
                    }
                    items += 1;
                    self.skip_space();
                    if self.eat(b',') {
                        continue;
                    }
                    self.expect(b']')?;
                    return Some(Value::List(items));
                }
            }
            b't' => self.word("true", Value::Bool),
            b'f' => self.word("false", Value::Bool),
            b'n' => self.word("null", Value::Null),
            b if b == b'-' || b.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    self.pos += 1;
                }
                Some(Value::Number(&self.text[start..self.pos]))
            }
            _ => None,
        }
    }

    fn word(&mut self, word: &str, value: Value<'a>) -> Option<Value<'a>> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(value)
        } else {
            None
        }
    }

    /// Skip a list or object at the cursor by counting brackets outside
    /// strings: iterative, so nesting depth costs no stack.
    fn skip_nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.bump()? {
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(());
                    }
                }
                b'"' => {
                    self.pos -= 1;
                    self.string()?;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_level_fields_of_an_arguments_object_are_read_with_their_kinds() {
        let read = fields(
            r#" {"passenger_count": 3, "names": ["Ann", {"x": "]"}, [1,2]], "to": "LHR",
                "note": "a \"quoted\" \u00e9", "window": true, "meal": null, "extra": {"a": [1]}} "#,
        );
        assert_eq!(
            read,
            Some(vec![
                ("passenger_count".into(), Value::Number("3")),
                ("names".into(), Value::List(3)),
                ("to".into(), Value::Text("LHR".into())),
                ("note".into(), Value::Text("a \"quoted\" é".into())),
                ("window".into(), Value::Bool),
                ("meal".into(), Value::Null),
                ("extra".into(), Value::Object),
            ])
        );
        assert_eq!(fields("{}"), Some(vec![]));
    }

    #[test]
    fn text_that_is_not_an_arguments_object_is_not_read() {
        for text in [
            "",
            "[1, 2]",
            "employee_id=E1234",
            "{\"a\": 1",
            "{\"a\": 1} trailing",
            "{\"a\" 1}",
            "{\"a\": [1, 2}",
        ] {
            assert_eq!(fields(text), None, "{text:?}");
        }
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_ARGUMENT_BYTES));
        assert_eq!(fields(&long), None);
    }

    #[test]
    fn deeply_nested_arguments_cost_no_stack() {
        // 5,000 levels: recursion would need a frame per level.
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(5_000), "]".repeat(5_000));
        assert_eq!(fields(&deep), Some(vec![("a".into(), Value::List(1))]));
    }

    #[test]
    fn punctuation_is_indexed_in_the_order_it_is_listed() {
        for (i, c) in PUNCTUATION.chars().enumerate() {
            assert_eq!(punct_index(c), Some(i), "{c:?}");
        }
        assert_eq!(PUNCTUATION.len(), 32);
        assert_eq!(punct_index('a'), None);
        assert_eq!(punct_index('é'), None);
    }

    #[test]
    fn a_shape_is_made_of_character_classes_and_punctuation() {
        let shape = |v: Value| Shape::of(&v);
        let id = shape(Value::Text("#48213".into()));
        assert_eq!(id.signature.to_string(), "#d");
        assert!(id.features.has(feature::TEXT) && id.features.has(feature::DIGIT));
        assert!(
            id.features
                .has(feature::PUNCT + PUNCTUATION.find('#').unwrap_or(99))
        );
        assert!(!id.features.has(feature::LOWER));
        // "an uppercase letter followed by digits"
        let employee = shape(Value::Text("E1234".into()));
        assert_eq!(
            (
                employee.signature.to_string().as_str(),
                employee.single_runs
            ),
            ("ud", 0b01)
        );
        let spaced = shape(Value::Text("e 12-34".into()));
        assert_eq!(spaced.signature.to_string(), "lsd-d");
        assert!(spaced.features.has(feature::SPACE));
        let count = shape(Value::Number("-2"));
        assert_eq!(count.signature.to_string(), "-d");
        assert!(count.features.has(feature::NUMBER));
        let list = shape(Value::List(3));
        assert!(list.features.has(feature::LIST_LEN + 3));
        assert!(list.features.has(feature::LIST_MIN + 2), "at least three");
        assert!(
            !list.features.has(feature::LIST_MIN + 3),
            "not at least four"
        );
        assert_eq!(list.signature, COMPLEX);
        let long = shape(Value::List(40));
        assert!(
            long.features
                .has(feature::LIST_LEN + feature::LIST_LENS - 1)
        );
        assert_eq!(shape(Value::Text("a-b-c-d-e".into())).signature, COMPLEX);
        assert!(shape(Value::Text("".into())).features.has(feature::EMPTY));
    }
}
