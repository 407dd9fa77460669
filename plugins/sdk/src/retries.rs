//! The loops of one interaction: the same failing call made again.
//!
//! A *loop* is a run of calls to one tool with the same arguments (compared
//! in [`crate::json::canonical`] form, so key order and
//! whitespace do not matter) that all failed with the same error *shape*
//! ([`error_shape`]). Calls to other tools, or to the same tool with other
//! arguments, may come between the attempts; a call with the same arguments
//! that succeeds, or fails in another way, ends the run: the agent then got
//! something new to act on. A run of one call is no loop; a run ended by
//! a success is a retry that worked, counted in [`Scan::recovered`].
//!
//! This module reads tool calls only and keeps nothing between interactions.
//! It owns what counts as "the same"; what is reported is each rule's: the
//! `retry-loops` rule groups loops by tool, `outcome-drivers` relates them to
//! ratings. It is in the SDK because a rule crate cannot link another rule
//! crate into its component (both would export the contract).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::{Interaction, ToolCall, json, text};

/// Calls of one interaction that are read; later calls are ignored, so a
/// runaway interaction costs no more than this many.
pub const MAX_CALLS: usize = 2_000;
/// Longest error shape kept: two errors alike this far are the same error.
pub const MAX_SHAPE_CHARS: usize = 200;

/// The same failing call, made again.
#[derive(Debug, Clone, PartialEq)]
pub struct Loop {
    /// The tool called.
    pub tool: String,
    /// Identical failing calls in the run (at least 2).
    pub attempts: u32,
    /// Index in `interaction.tool_calls` of the first attempt.
    pub first_call: usize,
    /// Whether the attempts were made by different assistant messages
    /// (another step of the agent, not one message calling twice).
    pub across_messages: bool,
    /// Whether some message that is neither a tool result nor an assistant
    /// message making a call lies between two attempts: in a logged
    /// conversation, a user's message (or the reply that ended the agent's
    /// turn). Inferred from `message_index` alone, assuming one tool message
    /// per call; when results are missing from the log it errs towards
    /// `false`.
    pub across_turns: bool,
    /// The error's shape, as [`error_shape`] gives it.
    pub error_shape: String,
}

/// The shape of an error message: every word that holds a digit (a number,
/// an id, a timestamp) becomes `#`, letters are lowercased and whitespace
/// is folded. "Timeout after 30012 ms (req a81f3)" and "timeout after 30000
/// ms (req 77c2e)" have one shape; "not found" and "timeout" do not.
///
/// Masking rather than exact text: the same failure names a new request id,
/// duration or timestamp on every attempt, and exact text would hide almost
/// every loop behind them. Words without digits are kept, so a different
/// reason is a different error.
pub fn error_shape(error: &str) -> String {
    let mut out = String::with_capacity(error.len().min(MAX_SHAPE_CHARS));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().any(|c| c.is_ascii_digit()) {
            out.push('#');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in error.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, &mut out);
            if c.is_whitespace() {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    text::truncate(&out, MAX_SHAPE_CHARS)
}

/// A run being followed.
struct Run {
    first_call: usize,
    attempts: u32,
    shape: String,
    first_message: u32,
    last_message: u32,
    across_turns: bool,
}

impl Run {
    fn into_loop(self, tool: &str) -> Option<Loop> {
        (self.attempts >= 2).then(|| Loop {
            tool: tool.to_string(),
            attempts: self.attempts,
            first_call: self.first_call,
            across_messages: self.last_message != self.first_message,
            across_turns: self.across_turns,
            error_shape: self.shape,
        })
    }
}

/// Every loop of the interaction, in the order of their first attempts.
pub fn loops(interaction: &Interaction) -> Vec<Loop> {
    scan(interaction).loops
}

/// What one interaction shows of repeated calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// Every loop, in the order of their first attempts.
    pub loops: Vec<Loop>,
    /// Retries that worked: a failed call followed by the same call, which
    /// succeeded, as (tool, count). A tool whose retries often work fails
    /// for passing reasons, and one more attempt is worth it.
    pub recovered: Vec<(String, u32)>,
}

/// The loops of the interaction and the retries that worked.
pub fn scan(interaction: &Interaction) -> Scan {
    let calls = &interaction.tool_calls[..interaction.tool_calls.len().min(MAX_CALLS)];
    // Most interactions have no failure, and those cost one pass and nothing more.
    if calls.iter().all(|c| c.error.is_none()) {
        return Scan::default();
    }
    let mut recovered: Vec<(String, u32)> = Vec::new();
    let mut open: BTreeMap<(&str, Cow<'_, str>), Run> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        // A successful call matters only if a run of its tool is open.
        if call.error.is_none() && !open.keys().any(|(tool, _)| *tool == call.name) {
            continue;
        }
        let key = (call.name.as_str(), json::canonical(&call.arguments));
        let shape = call.error.as_deref().map(error_shape);
        match (open.get_mut(&key), shape) {
            (Some(run), Some(shape)) if run.shape == shape => {
                run.attempts = run.attempts.saturating_add(1);
                if !run.across_turns {
                    run.across_turns =
                        other_messages_between(calls, run.last_message, call.message_index);
                }
                run.last_message = call.message_index;
            }
            (_, shape) => {
                // Something new: the run, if any, ends here.
                if let Some(run) = open.remove(&key) {
                    if shape.is_none() {
                        match recovered.iter_mut().find(|(t, _)| t == key.0) {
                            Some((_, n)) => *n += 1,
                            None => recovered.push((key.0.to_string(), 1)),
                        }
                    }
                    out.extend(run.into_loop(key.0));
                }
                if let Some(shape) = shape {
                    let run = Run {
                        first_call: i,
                        attempts: 1,
                        shape,
                        first_message: call.message_index,
                        last_message: call.message_index,
                        across_turns: false,
                    };
                    open.insert(key, run);
                }
            }
        }
    }
    out.extend(
        open.into_iter()
            .filter_map(|((tool, _), run)| run.into_loop(tool)),
    );
    out.sort_by_key(|l| l.first_call);
    Scan {
        loops: out,
        recovered,
    }
}

/// Whether messages `from`..`to` (exclusive) hold a message that is neither
/// a tool result nor an assistant message that made a call: the messages
/// between, less one result per call made from `from` up to `to`, less the
/// assistant messages that made those calls.
fn other_messages_between(calls: &[ToolCall], from: u32, to: u32) -> bool {
    if to <= from + 1 {
        return false;
    }
    let between = u64::from(to - from - 1);
    let mut results = 0u64;
    let mut callers = 0u64;
    let mut last_caller = from;
    for call in calls {
        let m = call.message_index;
        if m >= from && m < to {
            results += 1;
            if m != last_caller && m > from {
                callers += 1;
                last_caller = m;
            }
        }
    }
    between > results + callers
}
