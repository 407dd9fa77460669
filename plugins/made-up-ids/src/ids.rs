//! Which argument fields hold ids, which values look like ids, and the
//! *shape* of a value that a description may show instead of the value.
//!
//! Nothing here knows a domain: a field is an id by its name's form
//! (`id`, `*_id`, `*Id`, ...; the operator lists others), a value by its
//! characters.

/// One entry of the `id_fields` setting.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldName {
    /// `booking_ref`: a field with exactly this name (ASCII case ignored).
    Exact(String),
    /// `*_id`: a field whose name ends with this (case kept, so `*Id` does
    /// not take `paid`).
    Suffix(String),
}

/// The default `id_fields`.
pub const DEFAULT_ID_FIELDS: &str =
    "id,*_id,*Id,*ID,*_ref,*Ref,*_number,*Number,*_code,*Code,*_key,*Key,*_tag,*Tag";

/// Parse `id_fields`: names and `*suffix`es separated by commas.
pub fn parse_id_fields(raw: &str) -> Result<Vec<FieldName>, String> {
    let mut out = Vec::new();
    for entry in raw.split(',').map(str::trim) {
        let bad = |why: &str| format!("setting `id_fields`: entry {entry:?} {why}");
        if entry.is_empty() {
            return Err(bad("is empty"));
        }
        let (suffix, name) = match entry.strip_prefix('*') {
            Some(rest) => (true, rest),
            None => (false, entry),
        };
        if name.is_empty() || name.contains('*') {
            return Err(bad(
                "must be a field name or `*` followed by the end of a name, like `*_id`",
            ));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(bad("holds a space"));
        }
        out.push(if suffix {
            FieldName::Suffix(name.to_string())
        } else {
            FieldName::Exact(name.to_ascii_lowercase())
        });
    }
    Ok(out)
}

/// Whether a field with this name holds ids.
pub fn is_id_field(name: &str, fields: &[FieldName]) -> bool {
    fields.iter().any(|f| match f {
        FieldName::Exact(n) => name.eq_ignore_ascii_case(n),
        FieldName::Suffix(s) => name.len() > s.len() && name.ends_with(s.as_str()),
    })
}

/// Which values count as ids (the `id_pattern` setting). Every pattern
/// needs at least [`MIN_ID_CHARS`] characters and no whitespace (a value
/// with spaces is a name, an address or a sentence), and never takes a
/// date, a time, an amount or a phone number: a value made only of digits
/// and `-/:.,+` with at least one of those.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IdPattern {
    /// `with-digit` (default): at least one digit (`E44522`, `7334`,
    /// `credit_card_7334`). `yes`, `economy` and `2027-03-02` are not ids.
    WithDigit,
    /// `with-digit-or-underscore`: a digit, or letters joined by `_`
    /// (`credit_card_visa`).
    WithDigitOrUnderscore,
    /// `any`: every value that passes the common checks.
    Any,
}

/// Shortest id: shorter values (`12`, `A1`) are too easily found by chance
/// in any text and too easily made up in good faith.
pub const MIN_ID_CHARS: usize = 4;

impl IdPattern {
    pub fn parse(raw: &str) -> Result<IdPattern, String> {
        match raw.trim() {
            "with-digit" => Ok(IdPattern::WithDigit),
            "with-digit-or-underscore" => Ok(IdPattern::WithDigitOrUnderscore),
            "any" => Ok(IdPattern::Any),
            other => Err(format!(
                "setting `id_pattern`: {other:?} is not one of `with-digit`, \
                 `with-digit-or-underscore`, `any`"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IdPattern::WithDigit => "with-digit",
            IdPattern::WithDigitOrUnderscore => "with-digit-or-underscore",
            IdPattern::Any => "any",
        }
    }

    /// Whether `value` is an id.
    pub fn matches(self, value: &str) -> bool {
        if value.chars().count() < MIN_ID_CHARS || value.chars().any(char::is_whitespace) {
            return false;
        }
        let digit = value.chars().any(|c| c.is_ascii_digit());
        let figure = value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '/' | ':' | '.' | ',' | '+'));
        if figure && !value.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        match self {
            IdPattern::WithDigit => digit,
            IdPattern::WithDigitOrUnderscore => {
                digit || (value.contains('_') && value.chars().any(char::is_alphabetic))
            }
            IdPattern::Any => value.chars().any(char::is_alphanumeric),
        }
    }
}

/// Runs a shape describes; a value with more is `complex`.
const MAX_RUNS: usize = 8;

/// A value's shape, with no character of the value: letter runs become
/// `letters`, digit runs `digits`, punctuation stays. `credit_card_7334` →
/// `letters_letters_digits`; `E44522` → `letters then digits`.
pub fn shape(value: &str) -> String {
    let mut out = String::new();
    let mut runs = 0;
    // What the last character was: 0 nothing, 1 letter, 2 digit, 3 other.
    let mut last = 0u8;
    for c in value.chars() {
        let kind = if c.is_alphabetic() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        if kind == last && kind != 3 {
            continue;
        }
        runs += 1;
        if runs > MAX_RUNS {
            return "complex".into();
        }
        if kind != 3 && matches!(last, 1 | 2) {
            out.push_str(" then ");
        }
        match kind {
            1 => out.push_str("letters"),
            2 => out.push_str("digits"),
            _ if c.is_ascii_punctuation() => out.push(c),
            _ => out.push('?'),
        }
        last = kind;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_fields_are_ids_by_the_form_of_their_names() {
        let fields = parse_id_fields(DEFAULT_ID_FIELDS).unwrap_or_default();
        for name in [
            "id",
            "ID",
            "payment_id",
            "userId",
            "booking_ref",
            "card_number",
            "promo_code",
            "asset_tag",
        ] {
            assert!(is_id_field(name, &fields), "{name}");
        }
        for name in ["paid", "valid", "reason", "_id_of", "query", "number"] {
            assert!(!is_id_field(name, &fields), "{name}");
        }
    }

    #[test]
    fn ids_hold_a_digit_and_dates_amounts_and_words_do_not_count() {
        let p = IdPattern::WithDigit;
        for v in ["E44522", "7334", "credit_card_7334", "QX7R2P", "TCK-00912"] {
            assert!(p.matches(v), "{v}");
        }
        for v in [
            "yes",
            "economy",
            "2027-03-02",
            "10:30",
            "12.50",
            "+447700900123",
            "A12",
            "E 44522",
            "credit_card_visa",
        ] {
            assert!(!p.matches(v), "{v}");
        }
        assert!(IdPattern::WithDigitOrUnderscore.matches("credit_card_visa"));
        assert!(!IdPattern::WithDigitOrUnderscore.matches("economy"));
        assert!(IdPattern::Any.matches("economy"));
        assert!(!IdPattern::Any.matches("2027-03-02"));
    }

    #[test]
    fn a_shape_shows_no_character_of_the_value() {
        assert_eq!(shape("credit_card_7334"), "letters_letters_digits");
        assert_eq!(shape("E44522"), "letters then digits");
        assert_eq!(shape("TCK-00912"), "letters-digits");
        assert_eq!(shape("a1b2c3d4e5"), "complex");
    }
}
