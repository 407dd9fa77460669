//! The run log a model-reading rule keeps: each line is emitted to the host
//! when it happens (so a rule that is stopped mid-window has said how far it
//! got) and a bounded copy is kept, so that the rule's tests read what an
//! operator will read.
//!
//! Rejected answers and failed calls are logged one line each up to
//! [`REJECTION_LINES`] of each, then only counted: a model that breaks every
//! answer must not push the rest of the run log out of the host's bounded log.

use crate::log::{self, Line, line};

/// Rejected answers (and, apart, failed calls) logged one by one; the rest
/// are counted in the summary.
pub const REJECTION_LINES: usize = 20;
/// Lines kept for reading back.
const KEPT_LINES: usize = 200;

/// How much a line matters to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// What the rule did.
    Info,
    /// Something odd: a failed call, a stop, a fallback.
    Warn,
}

/// The rule's run log.
#[derive(Debug, Default)]
pub struct Journal {
    lines: Vec<(Level, Line)>,
    rejections: usize,
    failures: usize,
}

impl Journal {
    /// Log what the rule did.
    pub fn info(&mut self, message: &str, fields: &[(&str, String)]) {
        self.push(Level::Info, line(message, fields));
    }

    /// Log something odd: a failed call, a stop.
    pub fn warn(&mut self, message: &str, fields: &[(&str, String)]) {
        self.push(Level::Warn, line(message, fields));
    }

    /// Log a rejected answer of the model: `what` it was for and `why`.
    pub fn rejected(&mut self, what: &str, why: &str) {
        self.rejections += 1;
        if self.rejections <= REJECTION_LINES {
            self.push(
                Level::Warn,
                line(
                    "answer rejected",
                    &[("for", what.to_string()), ("why", why.to_string())],
                ),
            );
        }
    }

    /// Log a call that brought no answer: `what` it was for and `why`.
    pub fn failed(&mut self, what: &str, why: &str) {
        self.failures += 1;
        if self.failures <= REJECTION_LINES {
            self.push(
                Level::Warn,
                line(
                    "model call failed",
                    &[("for", what.to_string()), ("why", why.to_string())],
                ),
            );
        }
    }

    /// Calls that failed so far (logged or not).
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// Answers rejected so far (logged or not).
    pub fn rejections(&self) -> usize {
        self.rejections
    }

    /// The lines kept, in order.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().map(|(_, l)| l)
    }

    fn push(&mut self, level: Level, l: Line) {
        let fields: Vec<(&str, &str)> = l
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match level {
            Level::Info => log::info(&l.message, &fields),
            Level::Warn => log::warn(&l.message, &fields),
        }
        if self.lines.len() < KEPT_LINES {
            self.lines.push((level, l));
        }
    }
}
