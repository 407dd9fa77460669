//! Error classes: why a tool call failed, as far as its error text tells, and
//! the *shape* of an error message (its ids and numbers masked) so that
//! failures that differ only in the value they name are one message.
//!
//! This module reads error text only; it knows nothing of tools, arguments or
//! settings. It lives in the SDK because several rules sort failures the same
//! way (`tool-failures` groups by class, `outcome-drivers` relates classes to
//! ratings), and a rule crate cannot link another rule crate into its
//! component: both would export the contract.

use crate::text;

/// Longest masked error message kept.
pub const MAX_SAMPLE_CHARS: usize = 200;

/// Why a tool call failed, as far as its error text tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    Timeout,
    RateLimited,
    NotFound,
    InvalidArgument,
    PermissionDenied,
    Unavailable,
    Other,
}

impl ErrorClass {
    /// Every class, in the order the run log lists them.
    pub const ALL: [ErrorClass; 7] = [
        ErrorClass::Timeout,
        ErrorClass::RateLimited,
        ErrorClass::NotFound,
        ErrorClass::InvalidArgument,
        ErrorClass::PermissionDenied,
        ErrorClass::Unavailable,
        ErrorClass::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Timeout => "timeout",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::NotFound => "not_found",
            ErrorClass::InvalidArgument => "invalid_argument",
            ErrorClass::PermissionDenied => "permission_denied",
            ErrorClass::Unavailable => "unavailable",
            ErrorClass::Other => "other",
        }
    }

    /// Failures the agent cannot fix by calling the tool differently.
    pub fn is_operational(self) -> bool {
        matches!(
            self,
            ErrorClass::Timeout | ErrorClass::RateLimited | ErrorClass::Unavailable
        )
    }
}

/// A keyword: a whole word or phrase (`W`), or a substring of any word (`S`),
/// for names run together like `ReadTimeoutError` or `PermissionError`.
enum Key {
    W(&'static str),
    S(&'static str),
}

/// Status codes: the most reliable signal, so they are checked first.
const CODES: &[(&str, ErrorClass)] = &[
    ("408", ErrorClass::Timeout),
    ("504", ErrorClass::Timeout),
    ("429", ErrorClass::RateLimited),
    ("404", ErrorClass::NotFound),
    ("410", ErrorClass::NotFound),
    ("400", ErrorClass::InvalidArgument),
    ("422", ErrorClass::InvalidArgument),
    ("401", ErrorClass::PermissionDenied),
    ("403", ErrorClass::PermissionDenied),
    ("500", ErrorClass::Unavailable),
    ("502", ErrorClass::Unavailable),
    ("503", ErrorClass::Unavailable),
];

/// Keywords by class, in the order classes are tried: the more specific
/// operational words before the generic "invalid"/"expected".
const KEYWORDS: &[(ErrorClass, &[Key])] = {
    use Key::{S, W};
    &[
        (
            ErrorClass::Timeout,
            &[
                S("timeout"),
                W("timed out"),
                W("time out"),
                W("deadline exceeded"),
            ],
        ),
        (
            ErrorClass::RateLimited,
            &[
                W("rate limit"),
                W("rate limited"),
                S("ratelimit"),
                W("too many requests"),
                W("quota exceeded"),
            ],
        ),
        (
            ErrorClass::PermissionDenied,
            &[
                S("unauthori"),
                S("forbidden"),
                S("permission"),
                W("access denied"),
                W("not allowed"),
            ],
        ),
        (
            ErrorClass::Unavailable,
            &[
                S("unavailable"),
                W("internal error"),
                W("internal server error"),
                W("server error"),
                W("connection refused"),
                W("connection reset"),
                W("reset by peer"),
                W("bad gateway"),
                // A backend behind the tool failed, or the tool says to come back.
                W("upstream error"),
                W("upstream connect error"),
                W("try again later"),
                W("retry later"),
                W("temporarily"),
                S("overloaded"),
            ],
        ),
        (
            ErrorClass::NotFound,
            &[
                W("not found"),
                S("notfound"),
                W("no such"),
                W("unknown id"),
                W("does not exist"),
                W("doesn't exist"),
            ],
        ),
        (
            ErrorClass::InvalidArgument,
            &[
                S("invalid"),
                W("malformed"),
                W("expected"),
                W("must be"),
                S("validation"),
                W("bad request"),
                W("missing required"),
            ],
        ),
    ]
};

/// Sort an error message into a class.
pub fn classify(error: &str) -> ErrorClass {
    let norm = text::normalise(error);
    let padded = format!(" {norm} ");
    if let Some(class) = text::tokens(&norm).find_map(|token| {
        CODES
            .iter()
            .find(|(code, _)| *code == token)
            .map(|(_, class)| *class)
    }) {
        return class;
    }
    for (class, keys) in KEYWORDS {
        let hit = keys.iter().any(|key| match key {
            Key::W(phrase) => padded.contains(&format!(" {phrase} ")),
            Key::S(part) => norm.contains(part),
        });
        if hit {
            return *class;
        }
    }
    ErrorClass::Other
}

/// The shape of an error message: quoted strings become `<…>` (quotes kept),
/// digit runs become `<n>`, case and whitespace are folded. Two failures that
/// differ only in the id or number they name get the same shape.
///
/// `invalid employee id 'e-1234': expected format A9999` →
/// `invalid employee id '<…>': expected format a<n>`.
pub fn mask(error: &str) -> String {
    let chars: Vec<char> = error.chars().collect();
    let mut out = String::with_capacity(error.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens_quote = matches!(c, '\'' | '"' | '`' | '\u{2018}' | '\u{201C}')
            && (i == 0 || !chars[i - 1].is_alphanumeric());
        if opens_quote {
            let close = match c {
                '\u{2018}' => '\u{2019}',
                '\u{201C}' => '\u{201D}',
                c => c,
            };
            // The closing quote must end a word, so "can't" inside is no end.
            let end = (i + 1..chars.len()).find(|&j| {
                chars[j] == close && chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric())
            });
            if let Some(end) = end {
                out.push(c);
                out.push_str("<…>");
                out.push(close);
                i = end + 1;
                continue;
            }
        }
        if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            out.push_str("<n>");
            continue;
        }
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.extend(c.to_lowercase());
        }
        i += 1;
    }
    let trimmed = out.trim_end();
    text::truncate(trimmed, MAX_SAMPLE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_sorted_into_classes() {
        let cases = [
            ("request timed out after 30s", ErrorClass::Timeout),
            ("ReadTimeoutError: read timeout", ErrorClass::Timeout),
            ("context deadline exceeded", ErrorClass::Timeout),
            ("HTTP 429", ErrorClass::RateLimited),
            ("Too Many Requests", ErrorClass::RateLimited),
            ("rate limit reached, slow down", ErrorClass::RateLimited),
            ("404: record not found", ErrorClass::NotFound),
            ("no such employee", ErrorClass::NotFound),
            (
                "upstream error (inventory provider), please retry later",
                ErrorClass::Unavailable,
            ),
            ("Service temporarily overloaded", ErrorClass::Unavailable),
            ("unknown id 'x1'", ErrorClass::NotFound),
            (
                "invalid employee id 'e-1234': expected format A9999",
                ErrorClass::InvalidArgument,
            ),
            (
                "field `email` must be a string",
                ErrorClass::InvalidArgument,
            ),
            ("Bad Request (400)", ErrorClass::InvalidArgument),
            ("malformed JSON", ErrorClass::InvalidArgument),
            ("401 Unauthorized", ErrorClass::PermissionDenied),
            (
                "forbidden: invalid token scope",
                ErrorClass::PermissionDenied,
            ),
            ("permission denied", ErrorClass::PermissionDenied),
            ("503 Service Unavailable", ErrorClass::Unavailable),
            ("connection refused", ErrorClass::Unavailable),
            ("internal error", ErrorClass::Unavailable),
            ("unexpected end of stream", ErrorClass::Other),
            ("", ErrorClass::Other),
        ];
        for (error, class) in cases {
            assert_eq!(classify(error), class, "error {error:?}");
        }
    }

    #[test]
    fn masking_folds_ids_numbers_and_quoted_values() {
        assert_eq!(
            mask("invalid employee id 'e-1234': expected 'A' and digits"),
            "invalid employee id '<…>': expected '<…>' and digits"
        );
        assert_eq!(mask("Timed out after  30000 ms"), "timed out after <n> ms");
        assert_eq!(
            mask("can't parse \"abc\" as date"),
            "can't parse \"<…>\" as date"
        );
        assert_eq!(mask("don't stop"), "don't stop");
    }
}
