//! The judge's question and how its answer is read: the prompt and schema
//! files, and the validation every answer passes before it becomes feedback.
//!
//! An answer is never trusted: it must be complete (not cut at the token
//! limit), parse as the schema's JSON, name one of the two ratings, and give a
//! reason, which is squeezed to one line, bounded in length, and must not
//! quote the conversation (the reason is shown in reports, and the prompt
//! asks for none).

use reverie_rule_sdk::llm::ChatResponse;
use reverie_rule_sdk::llm::answer::{copied_run, json_text, one_line};
use reverie_rule_sdk::{Rating, json};

/// The prompt (`prompts/judge.md`).
pub const PROMPT: &str = include_str!("../prompts/judge.md");
/// The JSON schema of the answer (`prompts/judge.schema.json`).
pub const SCHEMA: &str = include_str!("../prompts/judge.schema.json");
/// Longest reason kept, in characters: one sentence.
pub const MAX_REASON_CHARS: usize = 200;

/// A validated verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub rating: Rating,
    /// One line, at most [`MAX_REASON_CHARS`] characters.
    pub reason: String,
}

/// The verdict in `answer` to a question about `transcript`, or why it is rejected.
pub fn read(answer: &ChatResponse, transcript: &str) -> Result<Verdict, String> {
    if answer.truncated {
        return Err("cut off at the output token limit".to_string());
    }
    // The two fields are flat strings: the SDK's reader of top-level JSON
    // fields is enough, and keeps a JSON library out of the component.
    let fields = json::object_fields(json_text(&answer.text))
        .ok_or_else(|| "not the JSON asked for: not one JSON object".to_string())?;
    let text_of = |name: &str| -> Result<String, String> {
        match fields.iter().find(|f| f.name == name).map(|f| &f.value) {
            Some(json::Value::Text(t)) => Ok(t.to_string()),
            Some(_) => Err(format!("not the JSON asked for: `{name}` is not a string")),
            None => Err(format!("not the JSON asked for: no `{name}`")),
        }
    };
    let rating_text = text_of("rating")?;
    let reason_text = text_of("reason")?;
    let rating = match rating_text.trim() {
        "positive" => Rating::Positive,
        "negative" => Rating::Negative,
        other => {
            return Err(format!(
                "rating {:?} is neither \"positive\" nor \"negative\"",
                reverie_rule_sdk::text::truncate(other, 40)
            ));
        }
    };
    let reason = one_line(&reason_text);
    if reason.is_empty() {
        return Err("empty reason".to_string());
    }
    if let Some(run) = copied_run(&reason, &[transcript], "") {
        return Err(format!("the reason quotes the conversation: {run:?}"));
    }
    Ok(Verdict {
        rating,
        reason: reverie_rule_sdk::text::truncate(&reason, MAX_REASON_CHARS),
    })
}
