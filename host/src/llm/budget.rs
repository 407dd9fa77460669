//! Budgets, enforced by the host: a rule's grant and the dream's, each a cap
//! on calls, input tokens, output tokens and time spent waiting for the
//! provider.
//!
//! A call is admitted only if what it may cost fits in both budgets: the
//! host *reserves* one call, the input tokens it estimates for the request
//! (one token per three bytes, more than any tokenizer counts for text in a
//! Latin script, about right for CJK), and the output tokens it allows the
//! provider to generate (the request's `max_tokens` is capped to what is
//! left). Reservations are held under the dream's lock, so rules calling at
//! the same time cannot both take the last of it. When the answer arrives the
//! reservation is replaced by what the provider reported. A provider that
//! ignores `max_tokens` can still overshoot once: the overrun is recorded and
//! every later call is refused.
//!
//! It must not call providers: it only reserves and settles.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Usage;

/// Caps of one budget; `None` is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
}

/// What a budget has paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Spent {
    pub calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub time_ms: u64,
}

/// What is left, the smaller of the rule's and the dream's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    pub calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub time_ms: u64,
}

impl Left {
    /// Nothing: what a rule without a grant is told.
    pub const NONE: Left = Left {
        calls: 0,
        input_tokens: 0,
        output_tokens: 0,
        time_ms: 0,
    };

    fn min(self, o: Left) -> Left {
        Left {
            calls: self.calls.min(o.calls),
            input_tokens: self.input_tokens.min(o.input_tokens),
            output_tokens: self.output_tokens.min(o.output_tokens),
            time_ms: self.time_ms.min(o.time_ms),
        }
    }
}

#[derive(Debug, Default)]
struct Ledger {
    spent: Spent,
    /// Held by calls in flight.
    held: Spent,
}

/// One budget: a rule's grant for one dream, or the dream's.
#[derive(Debug)]
pub struct Account {
    /// `rule "llm-judge"` or `dream`, for messages.
    name: String,
    limits: Limits,
    ledger: Mutex<Ledger>,
}

impl Account {
    pub fn new(name: impl Into<String>, limits: Limits) -> Account {
        Account {
            name: name.into(),
            limits,
            ledger: Mutex::new(Ledger::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves plain counters: still usable.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn spent(&self) -> Spent {
        self.lock().spent
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn left(&self, l: &Ledger) -> Left {
        let used = |s: u64, h: u64| s.saturating_add(h);
        Left {
            calls: self.limits.calls.map_or(u32::MAX, |c| {
                c.saturating_sub(l.spent.calls.saturating_add(l.held.calls))
            }),
            input_tokens: self.limits.input_tokens.map_or(u64::MAX, |c| {
                c.saturating_sub(used(l.spent.input_tokens, l.held.input_tokens))
            }),
            output_tokens: self.limits.output_tokens.map_or(u64::MAX, |c| {
                c.saturating_sub(used(l.spent.output_tokens, l.held.output_tokens))
            }),
            time_ms: self.limits.time_ms.map_or(u64::MAX, |c| {
                c.saturating_sub(used(l.spent.time_ms, l.held.time_ms))
            }),
        }
    }

    /// The first cap that `want` does not fit in, as a sentence; `None` if it fits.
    fn refusal(&self, l: &Ledger, want: &Spent) -> Option<String> {
        let left = self.left(l);
        let lim = self.limits;
        let over = |what: &str, cap: Option<u64>, spent: u64| {
            format!(
                "the {} budget of {} {what} is spent ({spent} used)",
                self.name,
                cap.unwrap_or(0)
            )
        };
        if left.calls < want.calls {
            return Some(over(
                "calls",
                lim.calls.map(u64::from),
                u64::from(l.spent.calls),
            ));
        }
        if left.input_tokens < want.input_tokens {
            return Some(over("input tokens", lim.input_tokens, l.spent.input_tokens));
        }
        if left.output_tokens < want.output_tokens {
            return Some(over(
                "output tokens",
                lim.output_tokens,
                l.spent.output_tokens,
            ));
        }
        if left.time_ms < want.time_ms.max(1) {
            return Some(over("ms of provider time", lim.time_ms, l.spent.time_ms));
        }
        None
    }
}

/// A rule's view of its two budgets in one dream.
#[derive(Debug, Clone)]
pub struct Meter {
    pub rule: Arc<Account>,
    pub dream: Arc<Account>,
}

/// What a call holds while it is in flight.
#[derive(Debug)]
#[must_use = "settle a reservation with what the provider reported"]
pub struct Reservation {
    held: Spent,
    /// The most output tokens the provider may generate.
    pub max_output_tokens: u32,
    /// How long the call may take, from both time budgets.
    pub time_allowed: Duration,
}

/// The fewest output tokens worth asking for: below this a call is refused.
const MIN_OUTPUT: u64 = 16;
/// Output tokens asked for when the rule names no maximum.
pub const DEFAULT_OUTPUT: u32 = 1024;

/// Input tokens a request may cost, overestimated: a token per three bytes.
pub fn estimate_tokens(texts: &[&str]) -> u64 {
    texts.iter().map(|t| (t.len() as u64).div_ceil(3) + 4).sum()
}

impl Meter {
    pub fn left(&self) -> Left {
        // Lock order is always rule, then dream.
        let r = self.rule.lock();
        let d = self.dream.lock();
        self.rule.left(&r).min(self.dream.left(&d))
    }

    /// Reserve a call of about `input_tokens` asking for up to `max_output`
    /// tokens, or say which budget refuses it.
    pub fn reserve(&self, input_tokens: u64, max_output: u32) -> Result<Reservation, String> {
        let mut r = self.rule.lock();
        let mut d = self.dream.lock();
        let left = self.rule.left(&r).min(self.dream.left(&d));
        let output = u64::from(max_output).min(left.output_tokens);
        // An embedding asks for no output; a chat call needs room for an answer.
        let floor = if max_output == 0 { 0 } else { MIN_OUTPUT };
        let want = Spent {
            calls: 1,
            input_tokens,
            output_tokens: output.max(floor),
            time_ms: 1,
        };
        if let Some(why) = self
            .rule
            .refusal(&r, &want)
            .or_else(|| self.dream.refusal(&d, &want))
        {
            return Err(why);
        }
        let held = Spent {
            calls: 1,
            input_tokens,
            output_tokens: output,
            time_ms: 0,
        };
        for l in [&mut *r, &mut *d] {
            l.held.calls += 1;
            l.held.input_tokens += held.input_tokens;
            l.held.output_tokens += held.output_tokens;
        }
        Ok(Reservation {
            held,
            max_output_tokens: u32::try_from(output).unwrap_or(u32::MAX),
            time_allowed: Duration::from_millis(left.time_ms),
        })
    }

    /// Replace a reservation by what the call cost. `made_request`: whether
    /// anything reached the provider (a call refused before sending costs no call).
    pub fn settle(
        &self,
        reservation: Reservation,
        usage: Usage,
        took: Duration,
        made_request: bool,
    ) {
        let mut r = self.rule.lock();
        let mut d = self.dream.lock();
        let held = reservation.held;
        for l in [&mut *r, &mut *d] {
            l.held.calls -= held.calls;
            l.held.input_tokens -= held.input_tokens;
            l.held.output_tokens -= held.output_tokens;
            if made_request {
                l.spent.calls += 1;
            }
            l.spent.input_tokens += usage.input_tokens;
            l.spent.output_tokens += usage.output_tokens;
            l.spent.time_ms += u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(rule: Limits, dream: Limits) -> Meter {
        Meter {
            rule: Arc::new(Account::new("rule \"judge\"", rule)),
            dream: Arc::new(Account::new("dream", dream)),
        }
    }

    fn usage(i: u64, o: u64) -> Usage {
        Usage {
            input_tokens: i,
            output_tokens: o,
        }
    }

    #[test]
    fn the_third_call_of_a_two_call_grant_is_refused_naming_the_budget() {
        let m = meter(
            Limits {
                calls: Some(2),
                ..Limits::default()
            },
            Limits::default(),
        );
        for _ in 0..2 {
            let r = m.reserve(100, 50).expect("fits");
            m.settle(r, usage(90, 20), Duration::from_millis(5), true);
        }
        let why = m.reserve(100, 50).expect_err("spent");
        assert!(why.contains("rule \"judge\" budget of 2 calls"), "{why}");
        assert_eq!(m.rule.spent().calls, 2);
        assert_eq!(m.dream.spent().input_tokens, 180);
    }

    #[test]
    fn output_is_capped_to_what_is_left_and_a_call_that_cannot_say_anything_is_refused() {
        let m = meter(
            Limits {
                output_tokens: Some(100),
                ..Limits::default()
            },
            Limits::default(),
        );
        let r = m.reserve(10, 1000).expect("fits");
        assert_eq!(r.max_output_tokens, 100, "capped to the budget");
        m.settle(r, usage(10, 95), Duration::ZERO, true);
        let why = m.reserve(10, 1000).expect_err("5 tokens left");
        assert!(why.contains("output tokens"), "{why}");
    }

    #[test]
    fn two_rules_share_the_dream_budget_and_cannot_both_take_its_last_call() {
        let dream = Arc::new(Account::new(
            "dream",
            Limits {
                calls: Some(1),
                ..Limits::default()
            },
        ));
        let a = Meter {
            rule: Arc::new(Account::new("rule \"a\"", Limits::default())),
            dream: dream.clone(),
        };
        let b = Meter {
            rule: Arc::new(Account::new("rule \"b\"", Limits::default())),
            dream,
        };
        let held = a.reserve(10, 10).expect("first");
        let why = b.reserve(10, 10).expect_err("the dream's one call is held");
        assert!(why.starts_with("the dream budget"), "{why}");
        a.settle(held, usage(1, 1), Duration::ZERO, true);
        assert_eq!(b.left().calls, 0);
    }

    #[test]
    fn an_overrun_is_recorded_and_ends_the_budget() {
        let m = meter(
            Limits {
                output_tokens: Some(50),
                ..Limits::default()
            },
            Limits::default(),
        );
        let r = m.reserve(10, 50).expect("fits");
        // The provider ignored max_tokens.
        m.settle(r, usage(10, 400), Duration::ZERO, true);
        assert_eq!(m.rule.spent().output_tokens, 400);
        assert_eq!(m.left().output_tokens, 0);
        assert!(m.reserve(10, 50).is_err());
    }

    #[test]
    fn time_waiting_for_the_provider_counts() {
        let m = meter(
            Limits {
                time_ms: Some(1_000),
                ..Limits::default()
            },
            Limits::default(),
        );
        let r = m.reserve(1, 16).expect("fits");
        assert_eq!(r.time_allowed, Duration::from_millis(1_000));
        m.settle(r, usage(1, 1), Duration::from_millis(1_200), true);
        let why = m.reserve(1, 16).expect_err("time spent");
        assert!(why.contains("ms of provider time"), "{why}");
    }

    #[test]
    fn input_is_overestimated_for_every_script() {
        // 12 ASCII bytes: a tokenizer counts about 3; 4 Japanese characters (12 bytes) about 4.
        assert!(estimate_tokens(&["hello world!"]) >= 4);
        assert!(estimate_tokens(&["こんにちは"]) >= 5);
    }
}
