//! Reading the model's answers: the JSON text of an answer (some models wrap
//! it in a Markdown fence even when a schema was asked for), text squeezed
//! to one line, and whether a text the model wrote copies the conversations
//! it was shown (a quote of a user has no place in a report or a prompt).
//! Answers are still validated by each rule: not every provider enforces a
//! schema, and none enforces sense.

/// The JSON of an answer, without the Markdown code fence some models put
/// around it even when a schema was asked for.
pub fn json_text(text: &str) -> &str {
    let t = text.trim();
    match t.strip_prefix("```") {
        Some(rest) => {
            let rest = rest.strip_prefix("json").unwrap_or(rest);
            rest.strip_suffix("```").unwrap_or(rest).trim()
        }
        None => t,
    }
}

/// Runs of whitespace as one space, trimmed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words in a row that, found in a conversation the model was shown (and not
/// in `allowed`), make its text a quote of that conversation.
pub const QUOTE_WORDS: usize = 8;
/// ... provided they make at least this many characters.
pub const QUOTE_CHARS: usize = 30;

/// A run of [`QUOTE_WORDS`] words of `text` (already [`one_line`]) that one
/// of `sources` holds and `allowed` (text the model may repeat, such as the
/// live prompt) does not.
pub fn copied_run(text: &str, sources: &[&str], allowed: &str) -> Option<String> {
    let words: Vec<&str> = text.split(' ').collect();
    if words.len() < QUOTE_WORDS {
        return None;
    }
    let allowed = one_line(allowed);
    let sources: Vec<String> = sources.iter().map(|t| one_line(t)).collect();
    words.windows(QUOTE_WORDS).find_map(|w| {
        let run = w.join(" ");
        (run.chars().count() >= QUOTE_CHARS
            && !allowed.contains(&run)
            && sources.iter().any(|t| t.contains(&run)))
        .then_some(run)
    })
}
