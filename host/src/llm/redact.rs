//! Redaction of personal data from every text a rule sends to a model, before
//! it leaves the host: e-mail addresses become `[email]`, payment card numbers
//! `[card]`, phone numbers `[phone]`, and whatever the operator's own patterns
//! match `[redacted]`.
//!
//! One regular expression holds every enabled kind, so a text is scanned once;
//! a candidate that fails its kind's check (Luhn, digit count, separators) is
//! offered to the other kinds at the same place before the scan moves on.
//!
//! What each kind catches, and what it lets through:
//!
//! - **E-mail**: `local@domain.tld` with Unicode letters and digits, `.`, `_`,
//!   `%`, `+`, `-`, `'` in the local part and a top-level domain of two or more
//!   letters. Misses addresses without a dot in the domain (`root@localhost`)
//!   and quoted local parts.
//! - **Card**: 13 to 19 digits, optionally grouped by single spaces or dashes
//!   (one kind of separator), starting with 2 to 6 (the ranges of Visa,
//!   Mastercard, American Express, Discover, JCB, Diners, UnionPay and
//!   Maestro) and passing the Luhn check. The first-digit rule keeps epoch
//!   timestamps in milliseconds (`17…`) and ISBNs (`978…`) out; the Luhn check
//!   lets through nine in ten other long numbers, so about one order number in
//!   ten of that shape is still taken for a card. A longer run of digits is cut
//!   at a group boundary when a prefix is a card (`4111 1111 1111 1111 123`).
//!   Misses cards starting with 1, 7, 8 or 9 (none are issued widely) and card
//!   numbers split across lines.
//! - **Phone**: three shapes, none of which is a bare run of digits, so ids
//!   (`ORD-12345678`, `#4821`), epoch times and amounts are left alone:
//!   - international: `+` and 8 to 15 digits, single spaces, dots, dashes or a
//!     parenthesised group between them (`+49 30 1234567`, `+1 (555) 123-4567`,
//!     `+44 (0)20 7946 0958`, `+7 (495) 123-45-67`, `+4930123456`);
//!   - national with a trunk `0` (or a `00` international prefix) and at least
//!     one separator, all separators alike, 9 to 12 digits (10 to 15 after
//!     `00`): `030 1234567`, `030/1234567`, `06 12 34 56 78`,
//!     `01.23.45.67.89`, `020 7946 0958`, `03-1234-5678`, `010-1234-5678`,
//!     `0049 30 1234567`; an area code in parentheses: `(555) 123-4567`,
//!     `(030) 1234567`, `(11) 91234-5678`;
//!   - North American `NXX-NXX-XXXX` with dashes, dots or spaces
//!     (`555-123-4567`, `555.123.4567`).
//!
//!   Dates and times are not hit: `01.02.2024` has too few digits, and
//!   `01.02.2024 10` mixes separators. Missed: national numbers written without
//!   separators (`0612345678`), or without a trunk `0` outside North America
//!   (`912 345 678` in Spain, `98765 43210` in India, `138 0013 8000` in
//!   China), vanity numbers (`1-800-FLOWERS`), and extensions (`x123` stays).
//!   Some zero-led ids written like phone numbers (`0001-2345-6789`) are taken.
//! - **Patterns**: the operator's regular expressions (Rust `regex` syntax),
//!   tried after the built-in kinds at any one place. A pattern that matches
//!   the empty text is refused at load.
//!
//! It must not log or keep what it redacts.

use std::borrow::Cow;

use regex::Regex;

/// What the built-in kinds and the operator's patterns are, in the order they
/// are preferred when two match at the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Email,
    Card,
    PhoneInternational,
    PhoneParenthesised,
    PhoneTrunk,
    PhoneNorthAmerican,
    Pattern,
}

/// An ASCII word boundary: Unicode ones would stop the fast (DFA) engines on
/// non-ASCII text, and digits are ASCII anyway.
macro_rules! b {
    () => {
        r"(?-u:\b)"
    };
}

impl Kind {
    fn group(self) -> &'static str {
        match self {
            Kind::Email => "redact_email",
            Kind::Card => "redact_card",
            Kind::PhoneInternational => "redact_phone_intl",
            Kind::PhoneParenthesised => "redact_phone_paren",
            Kind::PhoneTrunk => "redact_phone_trunk",
            Kind::PhoneNorthAmerican => "redact_phone_nanp",
            Kind::Pattern => "redact_patterns",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Email => "[email]",
            Kind::Card => "[card]",
            Kind::PhoneInternational
            | Kind::PhoneParenthesised
            | Kind::PhoneTrunk
            | Kind::PhoneNorthAmerican => "[phone]",
            Kind::Pattern => "[redacted]",
        }
    }

    /// The built-in kinds' expressions (the operator's are given).
    fn expression(self) -> &'static str {
        match self {
            Kind::Email => r"[\p{L}\p{N}._%+'\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}",
            Kind::Card => concat!(b!(), r"[0-9](?:[ \-]?[0-9]){12,18}", b!()),
            Kind::PhoneInternational => concat!(
                r"\+[0-9](?:[ .\-]?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]){7,14}",
                b!()
            ),
            Kind::PhoneParenthesised => concat!(
                r"\((?:0[0-9]{1,4}|[0-9]{2,3})\)[ .\-]?[0-9]{2,8}(?:[ .\-][0-9]{2,8}){0,3}",
                b!()
            ),
            Kind::PhoneTrunk => concat!(b!(), r"0[0-9]{1,4}(?:[ /.\-][0-9]{2,8}){1,4}", b!()),
            Kind::PhoneNorthAmerican => {
                concat!(b!(), r"[2-9][0-9]{2}[ .\-][0-9]{3}[ .\-][0-9]{4}", b!())
            }
            Kind::Pattern => "",
        }
    }
}

/// The redaction the operator configured; cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Every enabled kind, each in its named group; `None` when nothing is on.
    combined: Option<Regex>,
    /// The same kinds, each alone and anchored at the start, for a second try
    /// at a place where the first candidate failed its check.
    anchored: Vec<(Kind, Regex)>,
}

impl Redactor {
    /// A redactor for the enabled kinds and the operator's `patterns`.
    /// A pattern that does not compile, or matches the empty text, is an
    /// error naming it.
    pub fn new(
        emails: bool,
        phones: bool,
        cards: bool,
        patterns: &[String],
    ) -> Result<Redactor, String> {
        for pattern in patterns {
            let compiled = Regex::new(pattern)
                .map_err(|e| format!("redaction pattern {pattern:?} is not a valid regex: {e}"))?;
            if compiled.is_match("") {
                return Err(format!(
                    "redaction pattern {pattern:?} matches the empty text, so it would match everywhere"
                ));
            }
        }
        let mut kinds: Vec<(Kind, String)> = Vec::new();
        let enabled = [
            (emails, Kind::Email),
            (cards, Kind::Card),
            (phones, Kind::PhoneInternational),
            (phones, Kind::PhoneParenthesised),
            (phones, Kind::PhoneTrunk),
            (phones, Kind::PhoneNorthAmerican),
        ];
        for (on, kind) in enabled {
            if on {
                kinds.push((kind, kind.expression().to_string()));
            }
        }
        if !patterns.is_empty() {
            let any: Vec<String> = patterns.iter().map(|p| format!("(?:{p})")).collect();
            kinds.push((Kind::Pattern, any.join("|")));
        }
        if kinds.is_empty() {
            return Ok(Redactor {
                combined: None,
                anchored: Vec::new(),
            });
        }
        let combined: Vec<String> = kinds
            .iter()
            .map(|(kind, expression)| format!("(?P<{}>{expression})", kind.group()))
            .collect();
        let combined = Regex::new(&combined.join("|")).map_err(|e| {
            format!(
                "the redaction patterns cannot be combined (a group name used twice? (?:...) needs none): {e}"
            )
        })?;
        let anchored = kinds
            .iter()
            .map(|(kind, expression)| {
                Regex::new(&format!("^(?:{expression})"))
                    .map(|regex| (*kind, regex))
                    .map_err(|e| format!("redaction expression for {kind:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Redactor {
            combined: Some(combined),
            anchored,
        })
    }

    /// `text` with what is to be redacted replaced, and how many replacements
    /// were made. Borrows `text` when nothing was replaced.
    pub fn redact<'t>(&self, text: &'t str) -> (Cow<'t, str>, u32) {
        let Some(combined) = &self.combined else {
            return (Cow::Borrowed(text), 0);
        };
        let mut out = String::new();
        let mut copied = 0;
        let mut count = 0;
        let mut at = 0;
        while at < text.len() {
            let Some(captures) = combined.captures_at(text, at) else {
                break;
            };
            let Some(whole) = captures.get(0) else {
                break;
            };
            let start = whole.start();
            let first = self
                .anchored
                .iter()
                .map(|(kind, _)| *kind)
                .find(|kind| captures.name(kind.group()).is_some());
            let hit = first
                .and_then(|kind| accept(kind, text, start, whole.end()).map(|end| (kind, end)))
                .or_else(|| self.second_try(text, start, first));
            match hit {
                Some((kind, end)) if end > start => {
                    out.push_str(&text[copied..start]);
                    out.push_str(kind.label());
                    copied = end;
                    at = end;
                    count += 1;
                }
                _ => at = start + text[start..].chars().next().map_or(1, char::len_utf8),
            }
        }
        if count == 0 {
            return (Cow::Borrowed(text), 0);
        }
        out.push_str(&text[copied..]);
        (Cow::Owned(out), count)
    }

    /// The first kind other than `tried` that matches at `start` and passes
    /// its check.
    fn second_try(&self, text: &str, start: usize, tried: Option<Kind>) -> Option<(Kind, usize)> {
        self.anchored
            .iter()
            .filter(|(kind, _)| Some(*kind) != tried)
            .find_map(|(kind, regex)| {
                let found = regex.find(&text[start..])?;
                accept(*kind, text, start, start + found.end()).map(|end| (*kind, end))
            })
    }
}

/// Where the candidate `text[start..end]` of `kind` really ends, if it is one.
fn accept(kind: Kind, text: &str, start: usize, end: usize) -> Option<usize> {
    match kind {
        Kind::Email | Kind::Pattern => Some(end),
        Kind::Card => card_end(text, start, end),
        Kind::PhoneInternational
        | Kind::PhoneParenthesised
        | Kind::PhoneTrunk
        | Kind::PhoneNorthAmerican => phone_ok(kind, text, start, end).then_some(end),
    }
}

/// The number goes on before `start`: a letter or digit, or a `.`, `,`, `-`,
/// `/` or `:` right after a digit (a decimal, a date, an id's part).
fn continues_before(text: &str, start: usize) -> bool {
    let mut before = text[..start].chars().rev();
    match before.next() {
        Some(c) if c.is_alphanumeric() => true,
        Some('.' | ',' | '-' | '/' | ':') => before.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// The number goes on after `end` (the mirror of [`continues_before`]).
fn continues_after(text: &str, end: usize) -> bool {
    let mut after = text[end..].chars();
    match after.next() {
        Some(c) if c.is_alphanumeric() => true,
        Some('.' | ',' | '-' | '/' | ':') => after.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// The end of the longest card number starting the candidate: the whole of
/// it or a prefix ending at a group boundary.
fn card_end(text: &str, start: usize, end: usize) -> Option<usize> {
    if continues_before(text, start) {
        return None;
    }
    let candidate = &text[start..end];
    if !matches!(candidate.as_bytes().first(), Some(b'2'..=b'6')) {
        return None;
    }
    let mut separators = candidate.bytes().filter(|b| !b.is_ascii_digit());
    if let Some(first) = separators.next()
        && separators.any(|other| other != first)
    {
        return None;
    }
    // Ends to try, longest first: the candidate's end, then every group's end.
    let mut ends: Vec<usize> = candidate
        .bytes()
        .enumerate()
        .filter(|(_, b)| !b.is_ascii_digit())
        .map(|(i, _)| start + i)
        .collect();
    ends.push(end);
    ends.into_iter().rev().find(|&stop| {
        let digits: Vec<u8> = text[start..stop]
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        (13..=19).contains(&digits.len()) && luhn(&digits) && !continues_after(text, stop)
    })
}

/// The Luhn checksum of card numbers.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn phone_ok(kind: Kind, text: &str, start: usize, end: usize) -> bool {
    if continues_before(text, start) || continues_after(text, end) {
        return false;
    }
    let candidate = &text[start..end];
    let digits = candidate.bytes().filter(u8::is_ascii_digit).count();
    match kind {
        Kind::PhoneInternational => {
            // A trunk digit in parentheses (`+44 (0)20`) is not dialled.
            let dialled = digits - usize::from(candidate.contains("(0)"));
            (8..=15).contains(&dialled)
        }
        Kind::PhoneParenthesised => (9..=12).contains(&digits),
        Kind::PhoneTrunk => {
            let mut separators = candidate.bytes().filter(|b| !b.is_ascii_digit());
            let alike = match separators.next() {
                Some(first) => separators.all(|other| other == first),
                None => false,
            };
            let range = if candidate.starts_with("00") {
                10..=15
            } else {
                9..=12
            };
            alike && range.contains(&digits)
        }
        Kind::PhoneNorthAmerican => true,
        Kind::Email | Kind::Card | Kind::Pattern => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Redactor {
        Redactor::new(true, true, true, &[]).expect("the built-in redactor")
    }

    fn redacted(text: &str) -> String {
        all().redact(text).0.into_owned()
    }

    #[test]
    fn email_addresses_are_replaced_in_any_script() {
        let redactor = all();
        for address in [
            "jane.doe@example.com",
            "j.o'brien+support@mail.example.co.uk",
            "jürgen.müller@beispiel.de",
            "ゆうこ@例え.jp",
            "user_42@sub-domain.example.io",
        ] {
            let text = format!("Please write to {address}, thanks.");
            let (out, count) = redactor.redact(&text);
            assert_eq!(out, "Please write to [email], thanks.", "{address}");
            assert_eq!(count, 1);
        }
        assert_eq!(redacted("root@localhost"), "root@localhost");
    }

    #[test]
    fn card_numbers_that_pass_luhn_are_replaced() {
        for card in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "5555 5555 5555 4444",
            "378282246310005",
            "3782 822463 10005",
            "6011 1111 1111 1117",
            "4222222222222",
            "2223 0000 4841 0010",
        ] {
            assert_eq!(
                redacted(&format!("my card is {card}.")),
                "my card is [card].",
                "{card}"
            );
        }
    }

    #[test]
    fn a_card_followed_by_more_digits_is_cut_at_its_group() {
        assert_eq!(
            redacted("card 4111 1111 1111 1111 123 exp"),
            "card [card] 123 exp"
        );
    }

    #[test]
    fn long_numbers_that_are_not_cards_stay() {
        for text in [
            "4111 1111 1111 1112",
            "order 4539 1488 0343 6468 1",
            "event at 1712345678901 ms",
            "ISBN 978-3-16-148410-0",
            "ref 0123456789012345",
            "IMEI-like 1234 5678 9012 3456",
            "4111 1111-1111 1111",
            "pi is 3.14159265358979",
        ] {
            let (out, count) = all().redact(text);
            assert_eq!((out.as_ref(), count), (text, 0), "{text}");
        }
    }

    #[test]
    fn phone_numbers_in_many_countries_formats_are_replaced() {
        let redactor = all();
        for phone in [
            // North America
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "+1 555 123 4567",
            "+1-555-123-4567",
            "+1 (555) 123-4567",
            // United Kingdom
            "+44 20 7946 0958",
            "020 7946 0958",
            "+44 (0)20 7946 0958",
            // Germany
            "030 1234567",
            "030/1234567",
            "0171 1234567",
            "+49 30 1234567",
            "0049 30 1234567",
            "+4930123456",
            // France
            "06 12 34 56 78",
            "01.23.45.67.89",
            "+33 6 12 34 56 78",
            // Japan, Korea
            "03-1234-5678",
            "090-1234-5678",
            "010-1234-5678",
            "+81 3-1234-5678",
            // Italy, Netherlands, Australia
            "06 1234 5678",
            "06-12345678",
            "(02) 9876 5432",
            "0412 345 678",
            // Brazil, Russia, India
            "(11) 91234-5678",
            "+55 11 91234-5678",
            "+7 (495) 123-45-67",
            "+91 98765 43210",
        ] {
            let text = format!("Call me at {phone} tomorrow.");
            let (out, count) = redactor.redact(&text);
            assert_eq!(out, "Call me at [phone] tomorrow.", "{phone}");
            assert_eq!(count, 1, "{phone}");
        }
    }

    #[test]
    fn ids_dates_times_prices_and_versions_are_left_alone() {
        let redactor = all();
        for text in [
            "ORD-12345678",
            "order #4821 shipped",
            "ticket 12345678 closed",
            "2024-01-15",
            "15/01/2024",
            "01.02.2024",
            "01.02.2024 10 people",
            "01/15/2024 1030",
            "2024-01-15T10:30:00Z",
            "10:30:00",
            "UTC+05:30",
            "2024年1月15日 10時30分",
            "$1,299.99",
            "1 299,99 €",
            "1.234.567,00 EUR",
            "v2.10.3",
            "version 1.2.3-rc.1",
            "192.168.0.1",
            "75008 Paris",
            "550e8400-e29b-41d4-a716-446655440000",
            "1712345678",
            "invoice 2024-000123",
            "build 20240115.3",
            "tracking 1Z999AA10123456784",
            "+3 points",
            "page 12 of 345",
            "5+12345678",
            "call 5 times",
        ] {
            let (out, count) = redactor.redact(text);
            assert!(matches!(out, Cow::Borrowed(_)), "{text} became {out}");
            assert_eq!(count, 0, "{text}");
        }
    }

    #[test]
    fn every_replacement_is_counted() {
        let (out, count) = all().redact(
            "From ana@example.org to bo@example.net: call (555) 123-4567 or +33 6 12 34 56 78, card 4111111111111111.",
        );
        assert_eq!(
            out,
            "From [email] to [email]: call [phone] or [phone], card [card]."
        );
        assert_eq!(count, 5);
    }

    #[test]
    fn only_the_enabled_kinds_are_replaced() {
        let text = "ana@example.org, (555) 123-4567, 4111 1111 1111 1111";
        let emails = Redactor::new(true, false, false, &[]).expect("redactor");
        assert_eq!(
            emails.redact(text).0,
            "[email], (555) 123-4567, 4111 1111 1111 1111"
        );
        let phones = Redactor::new(false, true, false, &[]).expect("redactor");
        assert_eq!(
            phones.redact(text).0,
            "ana@example.org, [phone], 4111 1111 1111 1111"
        );
        let none = Redactor::new(false, false, false, &[]).expect("redactor");
        assert!(matches!(none.redact(text), (Cow::Borrowed(_), 0)));
    }

    #[test]
    fn the_operators_patterns_are_replaced_too() {
        let redactor = Redactor::new(
            true,
            true,
            true,
            &[
                r"CUST-\d{6}".to_string(),
                r"(?i)secret project \w+".to_string(),
            ],
        )
        .expect("redactor");
        let (out, count) =
            redactor.redact("CUST-004211 asked about Secret Project Falcon, mail ana@example.org");
        assert_eq!(out, "[redacted] asked about [redacted], mail [email]");
        assert_eq!(count, 3);
    }

    #[test]
    fn a_pattern_that_cannot_work_is_refused_by_name() {
        let error = Redactor::new(
            true,
            true,
            true,
            &["ok".to_string(), "(unclosed".to_string()],
        )
        .expect_err("a bad pattern");
        assert!(error.contains("\"(unclosed\""), "{error}");
        let error =
            Redactor::new(true, true, true, &[r"\d*".to_string()]).expect_err("an empty match");
        assert!(
            error.contains(r#""\\d*""#) && error.contains("empty"),
            "{error}"
        );
    }

    #[test]
    fn a_rejected_card_candidate_still_lets_a_phone_through() {
        // 14 digits from the start, not a card: the phone inside is still found.
        assert_eq!(redacted("555-123-4567 1234 pages"), "[phone] 1234 pages");
    }
}
