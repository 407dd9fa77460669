//! The target of a call: the values of its id-like top-level arguments
//! (`reservation_id`, `bookingRef`, `ticket_number`), and whether a text
//! names one of them.
//!
//! Arguments are read with a small scanner of the top-level JSON object, not
//! a JSON library: only string and number values of top-level fields are
//! kept, nested objects and lists are skipped, and text that is not an object
//! has no target. A field is a target when its name's last word (split as
//! tool names are, see [`super::tools::words`]) or its whole name is one of
//! the target words, compared without case. Values are compared *compacted*:
//! letters and digits only, lowercase, so `E-44522` typed by a user names the
//! `E44522` the agent sent.

use super::tools::words;

/// The default target words: a field named `id` or ending in one of them.
pub const DEFAULT_TARGET_WORDS: &[&str] = &["id", "ref", "reference", "number", "code", "uuid"];

/// Arguments longer than this are not scanned (a target is a short field of
/// a short object; a huge payload is not worth the sandbox's time).
pub const MAX_ARGUMENT_BYTES: usize = 16 * 1024;
/// Targets kept per call; further id-like fields are ignored.
pub const MAX_TARGETS: usize = 8;
/// A compacted value shorter than this says too little to be a target ("1",
/// "a"): any text would seem to name it.
pub const MIN_TARGET_CHARS: usize = 2;

/// One target argument of a call: its field name as written and its value,
/// compacted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target<'a> {
    pub field: &'a str,
    pub value: String,
}

/// The target arguments of a call, in the order written (at most
/// [`MAX_TARGETS`]).
pub fn targets<'a>(arguments: &'a str, target_words: &[String]) -> Vec<Target<'a>> {
    let mut out = Vec::new();
    if arguments.len() > MAX_ARGUMENT_BYTES {
        return out;
    }
    let mut scan = Scanner {
        bytes: arguments.as_bytes(),
        text: arguments,
        at: 0,
    };
    scan.space();
    if !scan.eat(b'{') {
        return out;
    }
    loop {
        scan.space();
        if scan.eat(b'}') {
            break;
        }
        let Some(key) = scan.string() else {
            break;
        };
        scan.space();
        if !scan.eat(b':') {
            break;
        }
        scan.space();
        let Some(value) = scan.value() else {
            break;
        };
        if let Some(value) = value
            && out.len() < MAX_TARGETS
            && is_target_field(key, target_words)
        {
            let value = compact(value);
            if value.chars().count() >= MIN_TARGET_CHARS {
                out.push(Target { field: key, value });
            }
        }
        scan.space();
        if !scan.eat(b',') {
            break;
        }
    }
    out
}

/// Is `field` a target field: its whole name or its last word is one of `target_words`?
pub fn is_target_field(field: &str, target_words: &[String]) -> bool {
    let last = words(field).last().unwrap_or(field);
    target_words
        .iter()
        .any(|w| w.eq_ignore_ascii_case(last) || w.eq_ignore_ascii_case(field))
}

/// Letters and digits only, lowercase.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A JSON scanner over the arguments text: just enough for top-level fields.
struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// A string's raw contents (escapes left as written: a target with an
    /// escape is compacted like any other text).
    fn string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        while let Some(&b) = self.bytes.get(self.at) {
            match b {
                b'\\' => self.at += 2,
                b'"' => {
                    let raw = self.text.get(start..self.at);
                    self.at += 1;
                    return raw;
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// A value: `Some(Some(text))` for a string or a number, `Some(None)` for
    /// anything else (skipped), `None` for text that is not JSON.
    fn value(&mut self) -> Option<Option<&'a str>> {
        match self.bytes.get(self.at)? {
            b'"' => self.string().map(Some),
            b'{' | b'[' => self.skip_nested().then_some(None),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    self.at += 1;
                }
                self.text.get(start..self.at).map(Some)
            }
            _ => {
                // true, false, null
                while self.bytes.get(self.at).is_some_and(u8::is_ascii_alphabetic) {
                    self.at += 1;
                }
                Some(None)
            }
        }
    }

    /// Skip a nested object or list, strings included.
    fn skip_nested(&mut self) -> bool {
        let mut depth = 0usize;
        while let Some(&b) = self.bytes.get(self.at) {
            match b {
                b'"' => {
                    if self.string().is_none() {
                        return false;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.at += 1;
                        return true;
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_TARGET_WORDS.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn id_like_top_level_fields_are_targets() {
        let found = targets(
            r#"{"reservation_id": "ZFA-04Y", "reason": "change of plan", "nested": {"id": "x1"},
               "ticketNumber": 12345, "paid": true, "list": ["a", {"id": 3}], "bookingRef": "AB\"12"}"#,
            &defaults(),
        );
        let seen: Vec<(&str, &str)> = found.iter().map(|t| (t.field, t.value.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("reservation_id", "zfa04y"),
                ("ticketNumber", "12345"),
                ("bookingRef", "ab12")
            ]
        );
    }

    #[test]
    fn text_that_is_not_an_object_has_no_target() {
        for text in [
            "",
            "null",
            "[1,2]",
            "reservation_id=123",
            "{\"id\": ",
            "{\"id\" \"x\"}",
        ] {
            assert!(targets(text, &defaults()).is_empty(), "{text:?}");
        }
        assert!(
            targets(r#"{"id": "7"}"#, &defaults()).is_empty(),
            "one character is too short to be a target"
        );
    }

    #[test]
    fn custom_target_words_replace_the_defaults() {
        let words = vec!["sku".to_string(), "email".to_string()];
        let found = targets(
            r#"{"item_sku": "TX-1", "order_id": "9", "email": "a@b.c"}"#,
            &words,
        );
        let fields: Vec<&str> = found.iter().map(|t| t.field).collect();
        assert_eq!(fields, ["item_sku", "email"]);
    }
}
