//! What a dataset's domain hands the shared writer in `main`: one generated
//! interaction at a time ([`Generated`]), the problems planted in it
//! ([`Planted`], named in the domain's [`Profile`]), its traffic shape and
//! the wording of its explicit feedback.
//!
//! A domain owns its conversations, phrases and prompts. It never writes
//! files, numbers interactions or stamps times: `main` does that the same way
//! for every domain, so the two datasets share one format and one streaming
//! writer.

use std::ops::Range;

use rand::Rng;
use rand::rngs::StdRng;

use crate::record::Message;
use crate::{help_desk, support_bot};

/// The datasets the generator can write.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Trailhead Outfitters, an online outdoor-gear shop's customer-support bot.
    SupportBot,
    /// Halden & Rowe, an engineering firm's IT help-desk agent with tools that change things.
    HelpDesk,
}

/// A mistake planted in a dataset, as the truth file names it.
#[derive(Debug)]
pub struct Problem {
    /// Stable, lowercase, `-`-separated: what the truth file and the docs call it.
    pub id: &'static str,
    pub description: &'static str,
}

/// How an interaction went, which decides its explicit feedback.
#[derive(Debug, Clone, Copy)]
pub enum Verdict {
    Good,
    /// Not wrong, but not satisfying: some negative feedback with these comments.
    Meh(&'static [&'static str]),
    /// A mistake: much negative feedback with these comments.
    Bad(&'static [&'static str]),
    /// A mistake nobody says anything about in the conversation, which
    /// people rate down afterwards: much negative feedback, mostly without a
    /// comment (these when there is one).
    Disliked(&'static [&'static str]),
}

/// A planted mistake in one interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planted {
    /// The [`Problem::id`].
    pub problem: &'static str,
    /// Whether the conversation itself shows a trace a rule could find: the
    /// user corrects or objects, or a tool call fails. (Explicit feedback
    /// about the mistake is the other kind of trace; `main` adds it.)
    pub visible: bool,
    /// Whether any negative explicit rating of the interaction, with or
    /// without a comment, is this mistake's trace: for a mistake that shows
    /// in no error and no reply, only ratings compared with what the agent
    /// did can find it.
    pub rated: bool,
}

/// Where in the window an interaction falls, and who can be talking.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// Day number (days since 1970-01-01).
    pub day: i64,
    /// Day from the window's start (0 on its first day).
    pub window_day: u64,
    /// Whether config `v2` is live.
    pub v2: bool,
    /// How many distinct users the dataset has.
    pub users: u64,
}

/// One interaction, ready to be written.
pub struct Generated {
    pub messages: Vec<Message>,
    pub user_id: String,
    pub channel: &'static str,
    pub locale: &'static str,
    pub verdict: Verdict,
    pub planted: Option<Planted>,
    /// Seconds after the interaction within which its feedback, if any, comes.
    pub feedback_delay: Range<i64>,
}

/// Comments on interactions that went as they should.
pub struct FeedbackWords {
    pub positive: &'static [&'static str],
    pub neutral: &'static [&'static str],
    /// Negative comments about something else than the agent's answer: the
    /// noise every deployment gets, which must not look like a problem.
    pub unrelated_negative: &'static [&'static str],
}

/// A domain's fixed shape.
pub struct Profile {
    /// The dataset's name in the truth file (and its folder under `examples/`).
    pub name: &'static str,
    /// Interaction ids are `{prefix}_000123`, sessions `{session_prefix}_000123`.
    pub interaction_prefix: &'static str,
    pub session_prefix: &'static str,
    pub default_interactions: u64,
    pub default_start: &'static str,
    /// Relative traffic by hour of day (UTC).
    pub hourly_traffic: &'static [f64; 24],
    /// Relative traffic of a weekday and of a Saturday or Sunday.
    pub weekday_weight: u64,
    pub weekend_weight: u64,
    pub problems: &'static [Problem],
    pub feedback: FeedbackWords,
}

impl Domain {
    pub fn profile(self) -> &'static Profile {
        match self {
            Domain::SupportBot => &support_bot::PROFILE,
            Domain::HelpDesk => &help_desk::PROFILE,
        }
    }

    /// How many distinct users `interactions` interactions come from.
    pub fn users(self, interactions: u64) -> u64 {
        match self {
            Domain::SupportBot => (interactions / 4).max(1),
            Domain::HelpDesk => help_desk::users(interactions),
        }
    }

    /// Generate one interaction, drawing everything from `rng`.
    pub fn generate(self, rng: &mut StdRng, slot: &Slot) -> Generated {
        match self {
            Domain::SupportBot => support_bot::generate(rng, slot),
            Domain::HelpDesk => help_desk::generate(rng, slot),
        }
    }
}

/// One scenario drawn from a mixture of (scenario, weight), or `fallback` if
/// the weights sum to nothing. Under `v2` a mistake scenario is its
/// well-handled counterpart (`fixed`) one time in ten: the later config makes
/// each mistake a little rarer.
pub fn draw_scenario<S: Copy + PartialEq>(
    rng: &mut StdRng,
    mixture: &[(S, u32)],
    fallback: S,
    v2: bool,
    fixed: impl Fn(S) -> S,
) -> S {
    let total: u32 = mixture.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return fallback;
    }
    let mut x = rng.random_range(0..total);
    let mut chosen = fallback;
    for &(scenario, weight) in mixture {
        if x < weight {
            chosen = scenario;
            break;
        }
        x -= weight;
    }
    if v2 && fixed(chosen) != chosen && rng.random_bool(0.1) {
        fixed(chosen)
    } else {
        chosen
    }
}
