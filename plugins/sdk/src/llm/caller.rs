//! Calls to the model under the rule's budget, with one policy for every
//! failure, so that each rule only decides what to ask and how to read the
//! answer.
//!
//! Before each call the budget left is asked ([`llm::remaining`]); none left,
//! or a call refused with `budget-exhausted`, stops all further calls: the
//! rule finishes with what it has and its run log says so. A provider error
//! or timeout skips the item it was for; [`MAX_FAILURES_IN_A_ROW`] of them in
//! a row stop the calls too (the provider is down, and every further call
//! would wait for its timeout). An answer the host could not read
//! (`malformed-answer`) is an invalid answer, not a provider failure.

use super::journal::Journal;
use crate::llm::{self, ChatRequest, ChatResponse, LlmError};

/// Provider failures in a row after which no more calls are made.
pub const MAX_FAILURES_IN_A_ROW: u32 = 3;

/// Why calls stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The budget is spent (the host's words, or which figure is at zero).
    Budget(String),
    /// The provider failed [`MAX_FAILURES_IN_A_ROW`] times in a row.
    Provider(String),
}

impl Stop {
    /// One line a person reads.
    pub fn describe(&self) -> String {
        match self {
            Stop::Budget(m) => format!("budget exhausted ({m})"),
            Stop::Provider(m) => {
                format!("{MAX_FAILURES_IN_A_ROW} provider failures in a row (last: {m})")
            }
        }
    }
}

/// What became of one call.
#[derive(Debug)]
pub enum Outcome {
    /// The model answered (the answer is still to be validated).
    Answer(ChatResponse),
    /// The host could not read the answer: treat as an invalid answer.
    Unreadable(String),
    /// No answer for this item; the rule moves on to the next.
    Failed(String),
    /// No more calls: see [`Caller::stopped`].
    Stopped,
}

/// The calls one rule makes in one cycle.
#[derive(Debug, Default)]
pub struct Caller {
    calls: u32,
    input_tokens: u64,
    output_tokens: u64,
    failures_in_a_row: u32,
    stop: Option<Stop>,
}

impl Caller {
    /// Calls attempted so far (answered or not).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Tokens the provider reported, in and out.
    pub fn tokens(&self) -> (u64, u64) {
        (self.input_tokens, self.output_tokens)
    }

    /// Why calls stopped, if they did.
    pub fn stopped(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// Whether a call may still be made: calls have not stopped and the
    /// budget has something of each kind left. Stops the calls (and logs
    /// why) when it has not.
    pub fn can_call(&mut self, journal: &mut Journal) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let left = llm::remaining();
        let spent = [
            ("calls", left.calls == 0),
            ("input tokens", left.input_tokens == 0),
            ("output tokens", left.output_tokens == 0),
            ("time", left.time_ms == 0),
        ]
        .into_iter()
        .find(|(_, zero)| *zero);
        match spent {
            None => true,
            Some((what, _)) => {
                self.halt(Stop::Budget(format!("no {what} left")), journal);
                false
            }
        }
    }

    /// Send `request` for `what` (an item name for the run log).
    pub fn call(&mut self, what: &str, request: &ChatRequest, journal: &mut Journal) -> Outcome {
        if !self.can_call(journal) {
            return Outcome::Stopped;
        }
        self.calls += 1;
        match llm::chat(request) {
            Ok(answer) => {
                self.failures_in_a_row = 0;
                self.input_tokens += u64::from(answer.usage.input_tokens);
                self.output_tokens += u64::from(answer.usage.output_tokens);
                Outcome::Answer(answer)
            }
            Err(LlmError::BudgetExhausted(m)) => {
                self.halt(Stop::Budget(m), journal);
                Outcome::Stopped
            }
            Err(LlmError::MalformedAnswer(m)) => Outcome::Unreadable(m),
            Err(e @ (LlmError::Provider(_) | LlmError::Timeout(_))) => {
                let why = llm::describe(&e);
                journal.failed(what, &why);
                self.failures_in_a_row += 1;
                if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW {
                    self.halt(Stop::Provider(why.clone()), journal);
                }
                Outcome::Failed(why)
            }
            Err(e @ LlmError::InvalidRequest(_)) => {
                let why = llm::describe(&e);
                journal.failed(what, &why);
                Outcome::Failed(why)
            }
        }
    }

    fn halt(&mut self, stop: Stop, journal: &mut Journal) {
        journal.warn(
            "stopped calling the model",
            &[
                ("why", stop.describe()),
                ("calls_made", self.calls.to_string()),
            ],
        );
        self.stop = Some(stop);
    }
}
