//! Outcomes: whether an interaction went badly, from the feedback a chunk
//! carries on it, on either basis.
//!
//! *Explicit*: rated if anyone rated it; negative if any explicit rating is
//! negative. *Inferred*: the same over the feedback detect rules inferred.
//! The rule keeps both per interaction and picks one basis for the whole
//! window at the end (explicit when there are enough explicit ratings): an
//! interaction unrated on the chosen basis takes no part in the comparison.
//! This module reads feedback only.

use std::collections::HashMap;

use reverie_rule_sdk::{Feedback, FeedbackSource, Rating};

/// The detect rule whose inferred negatives are the `corrected` behaviour.
pub const CORRECTIONS_RULE: &str = "corrections";

/// Which feedback decides an interaction's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Explicit,
    Inferred,
}

impl Basis {
    pub const BOTH: [Basis; 2] = [Basis::Explicit, Basis::Inferred];

    /// Index into per-basis tables.
    pub fn index(self) -> usize {
        match self {
            Basis::Explicit => 0,
            Basis::Inferred => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Explicit => "explicit",
            Basis::Inferred => "inferred",
        }
    }
}

/// The feedback on one interaction, reduced to what the rule needs.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Ratings {
    pub explicit_rated: bool,
    pub explicit_negative: bool,
    pub inferred_rated: bool,
    pub inferred_negative: bool,
    /// The `corrections` rule inferred a negative rating.
    pub corrected: bool,
}

impl Ratings {
    /// `Some(true)` if negative, `Some(false)` if rated otherwise, `None` if unrated on `basis`.
    pub fn outcome(&self, basis: Basis) -> Option<bool> {
        match basis {
            Basis::Explicit => self.explicit_rated.then_some(self.explicit_negative),
            Basis::Inferred => self.inferred_rated.then_some(self.inferred_negative),
        }
    }

    pub fn any_rated(&self) -> bool {
        self.explicit_rated || self.inferred_rated
    }
}

/// The ratings of each rated interaction of a chunk, by id. Interactions
/// without feedback are absent. `sources` receives each inferring rule's
/// name the first time it is seen (at most `max_sources`).
pub fn by_interaction<'a>(
    feedback: &'a [Feedback],
    sources: &mut Vec<String>,
    max_sources: usize,
) -> HashMap<&'a str, Ratings> {
    let mut map: HashMap<&str, Ratings> = HashMap::with_capacity(feedback.len());
    for item in feedback {
        let negative = item.rating == Rating::Negative;
        let entry = map.entry(item.interaction_id.as_str()).or_default();
        match &item.source {
            FeedbackSource::Explicit => {
                entry.explicit_rated = true;
                entry.explicit_negative |= negative;
            }
            FeedbackSource::Inferred(rule) => {
                entry.inferred_rated = true;
                entry.inferred_negative |= negative;
                entry.corrected |= negative && rule == CORRECTIONS_RULE;
                if sources.len() < max_sources && !sources.iter().any(|s| s == rule) {
                    sources.push(rule.clone());
                }
            }
        }
    }
    map
}
