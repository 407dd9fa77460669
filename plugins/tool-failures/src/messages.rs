//! The message shape of an unclassified error, and its sub-key: how one
//! tool's `other` failures are told apart.
//!
//! An error that fits no class (`payment method credit_card_7 not found in
//! profile`, `flight HAT123 is not available on 2024-05-01`) still says
//! *which* failure it is. Its shape is the masked message
//! ([`crate::classify::mask`]) with every identifier-like word (one holding
//! a masked value, a digit, `_`, `@`, `/`, `#` or an inner `.`/`-`) replaced
//! by `<…>`, so that `credit_card_7` and `gift_card_3` give one shape. The
//! sub-key is a short hash of that shape: the same message shape gives the
//! same key in every window, and a key never spells a word of a message
//! (only the title quotes the shape, which holds no value).
//!
//! This module reads error text only; it knows nothing of tools, arguments
//! or settings.

/// Longest shape kept (in characters): a title quotes it.
pub const MAX_SHAPE_CHARS: usize = 120;

/// The shape of a masked error message: identifier-like words become `<…>`,
/// runs of them one `<…>`.
///
/// `payment method credit_card_<n> not found` → `payment method <…> not found`.
pub fn shape(masked: &str) -> String {
    let mut out = String::with_capacity(masked.len());
    let mut last_was_value = false;
    for word in masked.split_whitespace() {
        // Punctuation around a word ("id: 'x',") is kept outside the mask.
        let core = word.trim_matches(|c: char| {
            matches!(c, ',' | ';' | ':' | '.' | '!' | '?' | '(' | ')' | '[' | ']')
        });
        let value = is_value(core);
        if value && last_was_value {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if value {
            let start = word.find(core).unwrap_or(0);
            out.push_str(&word[..start]);
            out.push_str("<…>");
            out.push_str(&word[start + core.len()..]);
        } else {
            out.push_str(word);
        }
        last_was_value = value;
    }
    reverie_rule_sdk::text::truncate(&out, MAX_SHAPE_CHARS)
}

/// Whether a word names a value rather than says something: it holds a
/// masked part, a digit, or characters identifiers use inside them.
fn is_value(word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    if word.contains('<') || word.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    if word
        .chars()
        .any(|c| matches!(c, '_' | '@' | '/' | '#' | '\\' | '='))
    {
        return true;
    }
    // `a.b` or `x-y` inside a word: a path, a host, a code. A hyphenated
    // word of language ("re-try") is rare in error text and costs only a
    // merged shape.
    let inner = &word[word.char_indices().nth(1).map_or(word.len(), |(i, _)| i)..];
    inner.trim_end_matches(['.', '-']).contains(['.', '-'])
}

/// The sub-key of a shape: eight hex digits of its 32-bit FNV-1a hash.
/// Stable across windows, builds and platforms.
pub fn subkey(shape: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in shape.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::mask;

    fn of(error: &str) -> String {
        shape(&mask(error))
    }

    #[test]
    fn identifiers_and_numbers_become_one_placeholder() {
        assert_eq!(
            of("Payment method credit_card_7 not found in profile"),
            "payment method <…> not found in profile"
        );
        assert_eq!(
            of("payment method gift_card_3391 not found in profile"),
            of("Payment method credit_card_7 not found in profile")
        );
        assert_eq!(
            of("flight HAT123 is not available on 2024-05-01"),
            "flight <…> is not available on <…>"
        );
        assert_eq!(
            of("user 'mia.garcia@example.com' (id: usr-991) is suspended."),
            "user <…> (id: <…>) is suspended."
        );
        assert_eq!(of("cannot parse response"), "cannot parse response");
    }

    #[test]
    fn a_shape_has_one_key_and_different_shapes_have_different_keys() {
        let a = subkey(&of("payment method credit_card_7 not found"));
        assert_eq!(a, subkey(&of("payment method paypal_12 not found")));
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, subkey(&of("reservation ABC123 is already cancelled")));
        // The hash is fixed: a key seen last week is the same key today.
        assert_eq!(subkey(""), "811c9dc5");
    }
}
