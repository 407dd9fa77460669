//! Figures as people state them: a number, in digits or as a word ("5",
//! "five", "fünf", "cinq"), with the unit words written after it ("business
//! days", "Tagen", "working days").
//!
//! A correction that restores a figure compares the user's figure with the
//! agent's, and the agent's with the prompt's, by number and unit. People do
//! not repeat a unit word for word ("5 business days" is corrected with "five
//! days" or "5 working days"; German inflects "Tage" into "Tagen"), so a figure
//! keeps up to two unit words and units are compared loosely (see
//! [`same_unit`]). Currency signs and `%` stay units as [`text::figures`] reads
//! them, so "$75" still compares with "$50"; but only a unit *word* makes a
//! figure one a user can be said to restate (see [`Stated::has_unit_word`]).

use std::sync::OnceLock;

use reverie_rule_sdk::text::{self, WordMap};

use crate::markers;

/// Unit words kept after a number: "business days" is two.
const MAX_UNIT_WORDS: usize = 2;

/// A second unit word shorter than this is a function word ("of", "in"), not
/// part of the unit.
const MIN_SECOND_UNIT_CHARS: usize = 3;

/// Two unit words agree when one is the other with an ending ("day"/"days",
/// "dia"/"dias": the shorter has at least 3 letters) or they share a stem of at
/// least this many letters ("tage"/"tagen", "giorni"/"giorno").
const SHARED_STEM_CHARS: usize = 4;

/// A figure of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stated {
    /// The number in ASCII digits ("5", "1,299.50"); a number word as its value.
    pub number: String,
    /// Lowercase unit words without accents, or a sign (`$`, `%`): at most
    /// [`MAX_UNIT_WORDS`].
    pub units: Vec<String>,
    /// The figure as written, units included ("2 business days", "$50").
    pub text: String,
    /// The figure as written with its first unit only ("2 business", "30 Tagen").
    pub short: String,
}

impl Stated {
    /// Whether its unit is a word ("days"), not a sign or nothing.
    pub fn has_unit_word(&self) -> bool {
        self.units
            .first()
            .is_some_and(|u| u.chars().all(char::is_alphabetic))
    }

    /// The figure as written, with its second unit word only when that word
    /// is part of the unit `like` is given in: "2 business days" next to "5
    /// business days", but "30 Tagen", not "30 Tagen zurückschicken", next to
    /// "14 Tagen".
    pub fn shown_like(&self, like: &Stated) -> &str {
        match self.units.get(1) {
            Some(second) if like.units.iter().any(|u| units_agree(second, u)) => &self.text,
            _ => &self.short,
        }
    }
}

/// The figures of a text, in order: those [`text::figures`] reads (digits in
/// any script, currency and `%` units), and number words zero to twenty in
/// seven languages ([`text::number_word`]) followed by a unit word.
pub fn stated(message: &str) -> Vec<Stated> {
    let mut out: Vec<(usize, Stated)> = Vec::new();
    for figure in text::figures(message) {
        let start = figure.text.as_ptr() as usize - message.as_ptr() as usize;
        let mut end = start + figure.text.len();
        let mut units: Vec<String> = figure.unit.iter().map(|u| fold(u)).collect();
        let short = message[start..end].to_string();
        if figure.unit.as_deref().is_some_and(is_word)
            && let Some((word, after)) = word_at(message, end)
            && second_unit(word)
        {
            units.push(fold(word));
            end = after;
        }
        out.push((
            start,
            Stated {
                number: figure.number,
                units,
                text: message[start..end].to_string(),
                short,
            },
        ));
    }
    let mut at = 0;
    while at < message.len() {
        let Some((word, after)) = next_word(message, at) else {
            break;
        };
        let start = after - word.len();
        at = after;
        let Some(value) = number_value(word) else {
            continue;
        };
        let mut units = Vec::new();
        let mut end = after;
        let mut short = None;
        while units.len() < MAX_UNIT_WORDS
            && let Some((unit, unit_end)) = word_at(message, end)
        {
            if !units.is_empty() && !second_unit(unit) {
                break;
            }
            units.push(fold(unit));
            end = unit_end;
            short.get_or_insert(end);
        }
        // A number word alone ("two?") says nothing about what it counts.
        let Some(short) = short else {
            continue;
        };
        out.push((
            start,
            Stated {
                number: value.to_string(),
                units,
                text: message[start..end].to_string(),
                short: message[start..short].to_string(),
            },
        ));
    }
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, s)| s).collect()
}

/// Bytes of the longest number word [`number_value`] looks up without
/// allocating ("quattordici" has 11).
const MAX_NUMBER_WORD_BYTES: usize = 16;

/// The value of a number word ([`text::number_word`]), looked up in an index
/// keyed by integers ([`WordMap`]) and, for a plain ASCII word, without
/// allocating: every word of every message passes through here, and most are
/// not numbers.
pub fn number_value(word: &str) -> Option<u32> {
    static INDEX: OnceLock<WordMap<u32>> = OnceLock::new();
    if !word.is_ascii() {
        return text::number_word(word);
    }
    if word.len() > MAX_NUMBER_WORD_BYTES {
        return None;
    }
    let mut lower = [0u8; MAX_NUMBER_WORD_BYTES];
    for (to, from) in lower.iter_mut().zip(word.bytes()) {
        *to = from.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&lower[..word.len()]).ok()?;
    INDEX
        .get_or_init(|| WordMap::new(text::number_words().iter().copied()))
        .get(lower)
        .copied()
}

/// Whether two figures are given in the same unit: any unit word of one
/// agrees with one of the other ("five days" and "2 business days", "5 working
/// days" and "2 business days", "14 Tagen nach" and "30 Tagen zurück"). The
/// cost of so loose a test is that "3 business days" and "4 business hours"
/// agree too; a figure is only compared with the figures of the message it
/// answers, where that is rare.
pub fn same_unit(a: &Stated, b: &Stated) -> bool {
    a.units
        .iter()
        .any(|x| b.units.iter().any(|y| units_agree(x, y)))
}

/// Two unit words agree: equal, or one the other with an ending, or sharing
/// a stem of [`SHARED_STEM_CHARS`] letters.
pub(crate) fn units_agree(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if !short.chars().all(char::is_alphabetic) {
        return false;
    }
    let shared = short
        .chars()
        .zip(long.chars())
        .take_while(|(x, y)| x == y)
        .count();
    shared >= SHARED_STEM_CHARS || (shared == short.chars().count() && shared >= 3)
}

/// Whether a word after a unit word still belongs to the unit: not a short
/// function word ("of") nor a grammar word of one of the seven languages
/// ("from", "after", "nach").
fn second_unit(word: &str) -> bool {
    word.chars().count() >= MIN_SECOND_UNIT_CHARS && !markers::is_function_word(&fold(word))
}

fn fold(word: &str) -> String {
    text::fold_diacritics(&word.to_lowercase())
}

fn is_word(unit: &str) -> bool {
    unit.chars().all(char::is_alphabetic)
}

/// The word starting right after `at`, past at most one space: a unit follows
/// its number directly ("5 days", not "5, days" or "5. Days").
fn word_at(message: &str, at: usize) -> Option<(&str, usize)> {
    let rest = message.get(at..)?;
    let skipped = if rest.starts_with([' ', '\u{a0}']) {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        0
    };
    let rest = &rest[skipped..];
    let len: usize = rest
        .chars()
        .take_while(|c| c.is_alphabetic())
        .map(char::len_utf8)
        .sum();
    (len > 0).then(|| (&rest[..len], at + skipped + len))
}

/// The next word at or after `at` (letters, with inner hyphens: "dix-sept").
fn next_word(message: &str, at: usize) -> Option<(&str, usize)> {
    let rest = message.get(at..)?;
    let skip: usize = rest
        .chars()
        .take_while(|c| !c.is_alphabetic())
        .map(char::len_utf8)
        .sum();
    let start = at + skip;
    let word = &message[start..];
    let mut len = 0;
    let mut chars = word.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let inner_hyphen =
            c == '-' && len > 0 && chars.peek().is_some_and(|(_, n)| n.is_alphabetic());
        if c.is_alphabetic() || inner_hyphen {
            len = i + c.len_utf8();
        } else {
            break;
        }
    }
    (len > 0).then(|| (&word[..len], start + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(message: &str) -> Vec<(String, Vec<String>, String)> {
        stated(message)
            .into_iter()
            .map(|s| (s.number, s.units, s.text))
            .collect()
    }

    #[test]
    fn a_figure_is_shown_with_the_unit_words_it_shares() {
        let figure = |s: &str| stated(s).remove(0);
        let fact = figure("14 Tagen nach");
        assert_eq!(
            figure("30 Tagen zurückschicken").shown_like(&fact),
            "30 Tagen"
        );
        let fact = figure("5 business days");
        assert_eq!(
            figure("2 business days").shown_like(&fact),
            "2 business days"
        );
    }

    fn owned(number: &str, units: &[&str], text: &str) -> (String, Vec<String>, String) {
        (
            number.into(),
            units.iter().map(|u| u.to_string()).collect(),
            text.into(),
        )
    }

    #[test]
    fn figures_are_read_in_digits_and_in_words_with_their_unit_words() {
        assert_eq!(
            read("Two? I was told five business days, not 2 business days."),
            [
                owned("5", &["business", "days"], "five business days"),
                owned("2", &["business", "days"], "2 business days"),
            ]
        );
        assert_eq!(
            read("Nein, es sind fünf Werktage. Über $75"),
            [
                owned("5", &["werktage"], "fünf Werktage"),
                owned("75", &["$"], "$75"),
            ]
        );
        assert_eq!(
            read("Non, c'est cinq jours ouvrés"),
            [owned("5", &["jours", "ouvres"], "cinq jours ouvrés")]
        );
        // "one" is an article or a pronoun, never a figure.
        assert!(read("that one is fine").is_empty());
    }

    #[test]
    fn the_number_word_index_reads_what_the_sdk_reads() {
        let words = text::number_words()
            .iter()
            .map(|(w, _)| w.to_string())
            .chain(
                [
                    "Five",
                    "FÜNF",
                    "três",
                    "Zwölf",
                    "one",
                    "ein",
                    "days",
                    "quattordicissimo",
                ]
                .map(String::from),
            );
        for word in words {
            assert_eq!(number_value(&word), text::number_word(&word), "{word}");
        }
    }

    #[test]
    fn units_agree_across_endings_and_an_added_word() {
        let figure = |s: &str| stated(s).remove(0);
        assert!(same_unit(&figure("5 days"), &figure("2 business days")));
        assert!(same_unit(&figure("5 working days"), &figure("two days")));
        assert!(same_unit(
            &figure("5 working days"),
            &figure("2 business days")
        ));
        // "from" is a function word, not part of a unit.
        assert!(!same_unit(&figure("5 days from"), &figure("3 items from")));
        assert!(same_unit(&figure("14 Tage"), &figure("30 Tagen nach")));
        assert!(same_unit(&figure("cinque giorni"), &figure("2 giorno")));
        assert!(!same_unit(&figure("5 days"), &figure("5 minutes")));
        assert!(!same_unit(&figure("$75"), &figure("75 days")));
    }
}
