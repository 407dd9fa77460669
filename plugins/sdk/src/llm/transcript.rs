//! A compact transcript of one interaction, for a model to read: one line per
//! message with its role, each tool call on its own line after the agent's
//! message that made it (name, arguments, error), bounded in length.
//!
//! Text is passed as it was written, in whatever language: only runs of
//! whitespace are collapsed, so a line break inside a message does not look
//! like a new speaker. System messages are left out (the live prompt is sent
//! apart where a rule needs it). A transcript longer than its bound keeps its
//! start (what was asked) and its end (how it ended) and says how much was
//! left out between them.

use crate::{Interaction, Role, ToolCall};

/// Fewest characters a transcript is given, whatever the settings say.
pub const MIN_CHARS: usize = 200;
/// Longest tool argument text shown.
const ARGUMENT_CHARS: usize = 200;
/// Longest tool error shown.
const ERROR_CHARS: usize = 200;
/// Longest tool result shown: results are often long records, and the agent's
/// next message says what it made of them.
const RESULT_CHARS: usize = 300;

/// Whether an interaction has anything to read: a message with text or a tool call.
pub fn has_content(interaction: &Interaction) -> bool {
    !interaction.tool_calls.is_empty()
        || interaction
            .messages
            .iter()
            .any(|m| m.role != Role::System && !m.content.trim().is_empty())
}

/// The transcript of `interaction`, at most about `max_chars` characters.
pub fn compact(interaction: &Interaction, max_chars: usize) -> String {
    let max_chars = max_chars.max(MIN_CHARS);
    // No single message may take more than a third of the transcript.
    let message_chars = max_chars / 3;
    let mut out = String::new();
    let mut placed = vec![false; interaction.tool_calls.len()];
    for (index, message) in interaction.messages.iter().enumerate() {
        let (label, cap) = match message.role {
            Role::System => continue,
            Role::User => ("User", message_chars),
            Role::Assistant => ("Agent", message_chars),
            Role::Tool => ("Tool result", RESULT_CHARS.min(message_chars)),
        };
        let text = squeeze(&message.content);
        if !text.is_empty() {
            push_line(&mut out, &format!("{label}: {}", head(&text, cap)));
        }
        for (i, call) in interaction.tool_calls.iter().enumerate() {
            if !placed[i] && call.message_index as usize == index {
                placed[i] = true;
                push_line(&mut out, &call_line(call));
            }
        }
    }
    // Calls whose message is not in the list (messages not passed, or an
    // index past the end) go last, in order.
    for (i, call) in interaction.tool_calls.iter().enumerate() {
        if !placed[i] {
            push_line(&mut out, &call_line(call));
        }
    }
    cut(&out, max_chars)
}

/// `text` cut to about `max_chars` characters, keeping its start and its
/// end and naming how many characters were left out between them.
pub fn cut(text: &str, max_chars: usize) -> String {
    let total = text.chars().count();
    if total <= max_chars {
        return text.to_string();
    }
    // Room for the marker, at most 40 characters.
    let keep = max_chars.saturating_sub(40);
    let head_chars = keep / 2;
    let tail_chars = keep - head_chars;
    let omitted = total - head_chars - tail_chars;
    let head: String = text.chars().take(head_chars).collect();
    let tail: String = text.chars().skip(total - tail_chars).collect();
    format!("{head}\n[… {omitted} characters left out …]\n{tail}")
}

fn call_line(call: &ToolCall) -> String {
    let arguments = head(&squeeze(&call.arguments), ARGUMENT_CHARS);
    match &call.error {
        Some(error) => format!(
            "Agent called tool `{}` with {arguments} -> error: {}",
            call.name,
            head(&squeeze(error), ERROR_CHARS)
        ),
        None => format!("Agent called tool `{}` with {arguments} -> ok", call.name),
    }
}

fn push_line(out: &mut String, line: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(line);
}

/// Runs of whitespace as one space, trimmed.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `max` characters of `text`, with `…` if cut.
fn head(text: &str, max: usize) -> String {
    crate::text::truncate(text, max)
}
