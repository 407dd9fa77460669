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
pub const COMPLEX: &str = "~";

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
}

/// A top-level value of the arguments object.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, unescaped.
    Text(String),
    /// A number, as written (`-12.5e3`).
    Number(String),
    Bool,
    Null,
    /// A list and its number of items.
    List(usize),
    Object,
}

/// A value's features and its run signature.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub features: Features,
    /// One character per run of one character class: `d` digits, `u`
    /// uppercase letters, `l` lowercase letters, `s` whitespace, `o` other
    /// letters, `x` other symbols, and punctuation as itself; [`COMPLEX`]
    /// when there are more runs than [`MAX_RUNS`] or the kind has no text.
    pub signature: String,
    /// Bit `i` set when run `i` is a single character ("an uppercase letter"
    /// rather than "uppercase letters").
    pub single_runs: u8,
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
    } else if PUNCTUATION.contains(c) {
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
                text.as_str()
            }
            Value::Number(literal) => {
                features.set(NUMBER);
                literal.as_str()
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
        let mut signature = String::new();
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
                p => PUNCT + PUNCTUATION.find(p).unwrap_or(0),
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
                signature.push(class);
            }
        }
        if run_len == 1 && runs <= MAX_RUNS {
            single_runs |= 1 << (runs - 1);
        }
        if runs > MAX_RUNS || !matches!(value, Value::Text(_) | Value::Number(_)) {
            signature = COMPLEX.to_string();
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
pub fn fields(json: &str) -> Option<Vec<(String, Value)>> {
    if json.len() > MAX_ARGUMENT_BYTES {
        return None;
    }
    let mut reader = Reader { text: json, pos: 0 };
    reader.skip_space();
    reader.expect('{')?;
    let mut out = Vec::new();
    reader.skip_space();
    if reader.eat('}') {
        return reader.at_end().then_some(out);
    }
    loop {
        reader.skip_space();
        let name = reader.string()?;
        reader.skip_space();
        reader.expect(':')?;
        reader.skip_space();
        let value = reader.value()?;
        if out.len() < MAX_FIELDS_PER_CALL {
            out.push((name, value));
        }
        reader.skip_space();
        if reader.eat(',') {
            continue;
        }
        reader.expect('}')?;
        return reader.at_end().then_some(out);
    }
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn skip_space(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
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
    fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => match self.bump()? {
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
    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            '"' => self.string().map(Value::Text),
            '{' => {
                self.skip_nested()?;
                Some(Value::Object)
            }
            '[' => {
                self.bump();
                self.skip_space();
                if self.eat(']') {
                    return Some(Value::List(0));
                }
                let mut items = 0;
                loop {
                    self.skip_space();
                    match self.peek()? {
                        '[' | '{' => self.skip_nested()?,
                        _ => {
                            self.value()?;
                        }
                    }
                    items += 1;
                    self.skip_space();
                    if self.eat(',') {
                        continue;
                    }
                    self.expect(']')?;
                    return Some(Value::List(items));
                }
            }
            't' => self.word("true", Value::Bool),
            'f' => self.word("false", Value::Bool),
            'n' => self.word("null", Value::Null),
            c if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.pos += 1;
                }
                Some(Value::Number(self.text[start..self.pos].to_string()))
            }
            _ => None,
        }
    }

    fn word(&mut self, word: &str, value: Value) -> Option<Value> {
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
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(());
                    }
                }
                '"' => {
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
                ("passenger_count".to_string(), Value::Number("3".into())),
                ("names".to_string(), Value::List(3)),
                ("to".to_string(), Value::Text("LHR".into())),
                ("note".to_string(), Value::Text("a \"quoted\" é".into())),
                ("window".to_string(), Value::Bool),
                ("meal".to_string(), Value::Null),
                ("extra".to_string(), Value::Object),
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
        assert_eq!(fields(&deep), Some(vec![("a".to_string(), Value::List(1))]));
    }

    #[test]
    fn a_shape_is_made_of_character_classes_and_punctuation() {
        let shape = |v: Value| Shape::of(&v);
        let id = shape(Value::Text("#48213".into()));
        assert_eq!(id.signature, "#d");
        assert!(id.features.has(feature::TEXT) && id.features.has(feature::DIGIT));
        assert!(
            id.features
                .has(feature::PUNCT + PUNCTUATION.find('#').unwrap_or(99))
        );
        assert!(!id.features.has(feature::LOWER));
        // "an uppercase letter followed by digits"
        let employee = shape(Value::Text("E1234".into()));
        assert_eq!(
            (employee.signature.as_str(), employee.single_runs),
            ("ud", 0b01)
        );
        let spaced = shape(Value::Text("e 12-34".into()));
        assert_eq!(spaced.signature, "lsd-d");
        assert!(spaced.features.has(feature::SPACE));
        let count = shape(Value::Number("-2".into()));
        assert_eq!(count.signature, "-d");
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
        assert!(
            shape(Value::Text(String::new()))
                .features
                .has(feature::EMPTY)
        );
    }
}
