//! What a rule's run leaves besides its findings: why it failed, the lines it
//! logged, and the bounds the host keeps them to. The sandbox makes these and
//! the merge and the report read them; living here, the analysis does not
//! depend on the sandbox.

use serde::Serialize;

/// Interaction ids the host keeps per pattern for the merge (patterns whose
/// evidence overlaps are one problem, `merge`); a report shows
/// [`crate::report::EXAMPLES_SHOWN`] of them.
pub const MAX_EVIDENCE: usize = 5_000;

/// Why a rule failed, as the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    OutOfFuel,
    Timeout,
    MemoryLimit,
    Panic,
    StackOverflow,
    Trap,
    RuleError,
    FindingsTooLarge,
    MalformedFindings,
    IncompatibleContract,
    LoadError,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RuleFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl RuleFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        RuleFailure {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

/// One line a rule logged.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LogLine {
    pub level: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub fields: Vec<(String, String)>,
}

/// Cut `text` to at most `max` bytes on a char boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The calls into one rule in one cycle, and the costliest of them: the limits
/// (fuel, deadline) bound each call, so the worst call is what nears them.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallStats {
    /// Calls made: `new`, then `detect`/`analyse` per chunk, then `finish`.
    pub count: u32,
    /// The most fuel one call burnt.
    pub max_fuel: u64,
    /// The longest one call took, in milliseconds.
    pub max_ms: f64,
    /// The size of the findings `finish` returned, as the findings cap counts it.
    pub findings_bytes: u64,
}

impl CallStats {
    /// Count one call that burnt `fuel` in `elapsed`.
    pub fn record(&mut self, fuel: u64, elapsed: std::time::Duration) {
        self.count += 1;
        self.max_fuel = self.max_fuel.max(fuel);
        let ms = (elapsed.as_secs_f64() * 1e4).round() / 10.0;
        if ms > self.max_ms {
            self.max_ms = ms;
        }
    }
}
