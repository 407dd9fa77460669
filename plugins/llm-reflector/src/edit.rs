//! How an edit the model proposes is checked before it becomes a suggestion.
//!
//! The model's edit is a proposal, never trusted: its text is squeezed to one
//! paragraph and must be 20 to 600 characters, say something the prompt does
//! not already say, name no conversation it was shown, and copy no run of
//! conversation text; a `replace` must quote a passage that occurs exactly
//! once in the live prompt (the host replaces every occurrence, and a short,
//! common `find` would rewrite the prompt all over).

use reverie_rule_sdk::{Edit, ReplaceText};
use serde::Deserialize;

use reverie_rule_sdk::llm::answer::{copied_run, one_line};

/// Shortest edit text, in characters.
pub const MIN_TEXT_CHARS: usize = 20;
/// Longest edit text, in characters: one paragraph.
pub const MAX_TEXT_CHARS: usize = 600;

/// An edit as the schema shapes it.
#[derive(Debug, Clone, Deserialize)]
pub struct RawEdit {
    pub kind: String,
    #[serde(default)]
    pub find: String,
    pub text: String,
}

/// What the model was shown, to check an answer against.
#[derive(Debug, Clone)]
pub struct Shown<'a> {
    /// The live system prompt (whole, though the model may have seen it cut).
    pub prompt: &'a str,
    /// The labels the conversations were sent under (`c1`, `c2`, ...).
    pub labels: Vec<String>,
    /// The interaction ids behind them.
    pub ids: Vec<&'a str>,
    /// The conversations as sent (transcripts and feedback), which an edit must not copy.
    pub texts: Vec<&'a str>,
}

/// The edit, or why it is rejected.
pub fn check(raw: &RawEdit, shown: &Shown<'_>) -> Result<Edit, String> {
    let text = one_line(&raw.text);
    let n = text.chars().count();
    if !(MIN_TEXT_CHARS..=MAX_TEXT_CHARS).contains(&n) {
        return Err(format!(
            "edit text is {n} characters; {MIN_TEXT_CHARS} to {MAX_TEXT_CHARS} are allowed"
        ));
    }
    if one_line(shown.prompt).contains(&text) {
        return Err("the system prompt already says the edit's text".to_string());
    }
    if let Some(label) = shown
        .labels
        .iter()
        .map(String::as_str)
        // Ids shorter than this are too likely to be an ordinary word.
        .chain(
            shown
                .ids
                .iter()
                .copied()
                .filter(|id| id.chars().count() >= 4),
        )
        .find(|l| contains_word(&text, l))
    {
        return Err(format!("edit text names conversation {label:?}"));
    }
    if let Some(run) = copied_run(&text, &shown.texts, shown.prompt) {
        return Err(format!("edit text copies conversation text: {run:?}"));
    }
    match raw.kind.trim() {
        "append" => Ok(Edit::AppendInstruction(text)),
        "replace" => {
            let find = raw.find.as_str();
            if find.trim().is_empty() {
                return Err("a replace edit needs `find`".to_string());
            }
            match shown.prompt.matches(find).count() {
                0 => Err(format!(
                    "`find` is not text of the system prompt: {:?}",
                    reverie_rule_sdk::text::truncate(find, 80)
                )),
                1 => Ok(Edit::ReplaceText(ReplaceText {
                    find: find.to_string(),
                    replacement: text,
                })),
                k => Err(format!(
                    "`find` occurs {k} times in the system prompt; quote a passage that occurs once"
                )),
            }
        }
        other => Err(format!(
            "edit kind {:?} is neither \"append\" nor \"replace\"",
            reverie_rule_sdk::text::truncate(other, 40)
        )),
    }
}

/// Whether `word` occurs in `text` not as part of a longer word.
pub fn contains_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}
