//! A comment's content words: normalised, without stopwords, filler or
//! identifiers, stemmed. What themes are compared by; this module knows
//! nothing of themes or of the window.

use reverie_rule_sdk::text;

/// Words that are not in the SDK's stopword list but say nothing about what
/// went wrong: negated auxiliaries ("didn't work" is about the work),
/// reporting verbs ("the bot told me") and pleasantries. Sorted for binary
/// search.
pub const FILLER: &[&str] = &[
    "actually",
    "aren't",
    "can't",
    "cannot",
    "couldn't",
    "didn't",
    "doesn't",
    "even",
    "gave",
    "give",
    "isn't",
    "really",
    "said",
    "say",
    "says",
    "shouldn't",
    "still",
    "thank",
    "thanks",
    "thing",
    "told",
    "user",
    "wasn't",
    "won't",
    "wouldn't",
];

fn is_filler(word: &str) -> bool {
    FILLER.binary_search(&word).is_ok()
}

/// Ids a person pastes into a comment (a ticket, a booking, an account): a
/// word with a digit and more than three characters. It must not become a
/// theme's word; "14 days" and "$150" keep their numbers.
fn is_identifier(word: &str) -> bool {
    word.chars().count() > 3 && word.chars().any(|c| c.is_ascii_digit())
}

/// A content word: its stem (what themes compare) and the word as first
/// written (what titles show: "recommended", not "recommend").
#[derive(Debug, Clone)]
pub struct Term {
    pub stem: String,
    pub surface: String,
}

/// The distinct content words of a comment, sorted by stem. The same steps as
/// `text::content_words`, keeping each word's surface form, dropping
/// [`FILLER`], identifiers ([`is_identifier`]) and a possessive `'s` (which
/// the SDK's stemmer would cut to `men'`).
pub fn comment_terms(comment: &str) -> Vec<Term> {
    let norm = text::normalise(comment);
    let mut terms: Vec<Term> = text::tokens(&norm)
        .filter(|w| !text::is_stopword(w) && !is_filler(w) && !is_identifier(w))
        .map(|w| {
            let surface = w.strip_suffix("'s").unwrap_or(w).trim_matches('\'');
            Term {
                stem: text::stem(surface),
                surface: surface.to_string(),
            }
        })
        .filter(|t| !t.stem.is_empty() && !text::is_stopword(&t.stem) && !is_filler(&t.stem))
        .collect();
    terms.sort_by(|a, b| a.stem.cmp(&b.stem));
    terms.dedup_by(|a, b| a.stem == b.stem);
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_reduced_to_stemmed_content_words() {
        let stems = |comment: &str| -> Vec<String> {
            comment_terms(comment).into_iter().map(|t| t.stem).collect()
        };
        assert_eq!(
            stems("I asked for WOMEN'S boots, it didn't work!"),
            ["asked", "boot", "women", "work"]
        );
        assert_eq!(
            stems("I already told you: \"It's PNR48213, under $150 for 14 days\""),
            ["14", "150", "already", "days", "under"]
        );
    }

    #[test]
    fn filler_is_sorted_for_binary_search() {
        assert!(FILLER.windows(2).all(|w| w[0] < w[1]));
    }
}
