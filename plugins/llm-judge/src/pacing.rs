//! How the judge spreads its calls over the window.
//!
//! A bounded window (the cycle context gives its start and end) is paced by
//! time: the n-th call is made only if n ≤ A × f + 1, where A is the calls the
//! budget had when the judge first needed one and f the share of the window's
//! time elapsed at the interaction's timestamp. Chunks arrive in window order,
//! so without pacing a small budget would be spent on the first hours of a
//! day and the sample would describe only them. An unbounded window has no
//! time to spread over: first come, first served.

use reverie_rule_sdk::CycleContext;

/// The judge's pacing for one cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Spread over `[start_ms, end_ms)` by the interactions' timestamps.
    Window { start_ms: i64, end_ms: i64 },
    /// Call while the budget lasts.
    FirstComeFirstServed,
}

impl Pacing {
    /// The pacing the cycle's window allows.
    pub fn from_context(context: &CycleContext) -> Self {
        match (context.window_start_ms, context.window_end_ms) {
            (Some(start_ms), Some(end_ms)) if end_ms > start_ms => {
                Pacing::Window { start_ms, end_ms }
            }
            _ => Pacing::FirstComeFirstServed,
        }
    }

    /// Whether call number `nth` (counting from 1) may be made for an
    /// interaction at `timestamp_ms`, with `calls_at_start` calls in the
    /// budget when the judge began.
    pub fn allows(&self, nth: u32, calls_at_start: u32, timestamp_ms: i64) -> bool {
        match *self {
            Pacing::FirstComeFirstServed => true,
            Pacing::Window { start_ms, end_ms } => {
                let elapsed = (timestamp_ms.saturating_sub(start_ms)) as f64
                    / (end_ms.saturating_sub(start_ms)) as f64;
                let f = elapsed.clamp(0.0, 1.0);
                f64::from(nth) <= f64::from(calls_at_start) * f + 1.0
            }
        }
    }

    /// For the run log.
    pub fn describe(&self) -> &'static str {
        match self {
            Pacing::Window { .. } => "spread over the window's time",
            Pacing::FirstComeFirstServed => "first come, first served (unbounded window)",
        }
    }
}
