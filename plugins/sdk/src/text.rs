//! Text helpers every rule needs: normalisation, tokenising, similarity.
//!
//! All functions are allocation-light and deterministic, so that a rule gives
//! the same findings natively and in the sandbox.

/// Lowercase, map curly quotes to straight ones, collapse whitespace, and drop
/// punctuation other than apostrophes. `"No,  that’s WRONG!"` → `"no that's wrong"`.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            c => c,
        };
        if c.is_alphanumeric() || c == '\'' {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            pending_space = true;
        }
    }
    out
}

/// Words of normalised text (apostrophes kept inside words).
pub fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|t| t.trim_matches('\''))
        .filter(|t| !t.is_empty())
}

/// Common English words that carry no topic.
pub const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "agent", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "bot", "but", "by", "can", "could", "did", "do",
    "does", "don't", "for", "from", "get", "got", "had", "has", "have", "he", "her", "here", "him",
    "his", "how", "i", "i'm", "if", "in", "into", "is", "it", "it's", "its", "just", "me", "my",
    "no", "not", "now", "of", "ok", "okay", "on", "one", "or", "our", "out", "please", "she", "so",
    "some", "than", "that", "that's", "the", "their", "them", "then", "there", "these", "they",
    "this", "to", "too", "up", "us", "very", "was", "we", "were", "what", "when", "which", "who",
    "why", "will", "with", "would", "yes", "you", "your",
];

/// Is `word` (already lowercase) a stopword?
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok() || word.len() < 2
}

/// Content words of `text`: normalised, without stopwords, crudely stemmed
/// (plural `s`, `ing`, `ed`) so that "recommended"/"recommendation" stay close.
pub fn content_words(text: &str) -> Vec<String> {
    let norm = normalise(text);
    tokens(&norm)
        .filter(|w| !is_stopword(w))
        .map(stem)
        .collect()
}

/// A crude suffix-stripping stemmer: enough for grouping comments, not linguistics.
pub fn stem(word: &str) -> String {
    for suffix in ["ations", "ation", "ings", "ing", "edly", "ed", "es", "s"] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 4
        {
            return base.to_string();
        }
    }
    word.to_string()
}

/// Jaccard similarity of two word sets, 0.0 to 1.0 (1.0 for two empty sets).
pub fn jaccard<S: AsRef<str> + Ord>(a: &[S], b: &[S]) -> f64 {
    let mut a: Vec<&str> = a.iter().map(AsRef::as_ref).collect();
    let mut b: Vec<&str> = b.iter().map(AsRef::as_ref).collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// Cut `text` to at most `max` characters on a char boundary, adding `…` if cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((i, _)) => format!("{}…", &text[..i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_case_quotes_and_punctuation() {
        assert_eq!(normalise("No,  that’s WRONG!"), "no that's wrong");
        assert_eq!(
            normalise("  Actually... I said 'blue'  "),
            "actually i said 'blue'"
        );
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = STOPWORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted, STOPWORDS,
            "sorted and unique, or binary_search misses words"
        );
    }

    #[test]
    fn content_words_drop_stopwords_and_stem() {
        assert_eq!(
            content_words("You recommended the wrong products to me"),
            vec!["recommend", "wrong", "product"]
        );
    }

    #[test]
    fn jaccard_of_overlapping_sets() {
        assert_eq!(jaccard(&["a", "b"], &["b", "c"]), 1.0 / 3.0);
        assert_eq!(jaccard::<&str>(&[], &[]), 1.0);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
