//! The Trailhead Outfitters support bot: an online outdoor-gear shop's
//! customer-support assistant, with four planted mistakes (see
//! `examples/README.md`).
//!
//! This module draws one interaction in the order the committed dataset was
//! first generated in (scenario, conversation, user, channel, locale): any
//! change to the order or to the number of random draws changes every byte
//! after it, so the committed files would no longer regenerate.

mod catalog;
mod phrases;
mod prompt;
mod scenarios;

use rand::Rng;
use rand::rngs::StdRng;

use crate::domain::{FeedbackWords, Generated, Problem, Profile, Slot};
use crate::text::pick;

use scenarios::Scenario;

/// The planted mistakes, in the order `examples/README.md` numbers them.
pub const PROBLEMS: &[Problem] = &[
    Problem {
        id: "wrong-return-window",
        description: "The bot says returns are accepted within 30 days; the policy says 14.",
    },
    Problem {
        id: "order-id-with-hash",
        description: "lookup_order is called with the order id as the customer typed it (#48213) and fails: invalid order id, expected digits only. The bot often asks for the number again.",
    },
    Problem {
        id: "recommendation-ignores-requirement",
        description: "The product search drops the customer's requirement (waterproof, women's, a budget, ultralight) and the bot recommends a product that misses it.",
    },
    Problem {
        id: "carrier-timeout",
        description: "track_shipment times out at the carrier; half the time the bot invents a delivery date anyway.",
    },
];

/// Traffic by hour of day (UTC), relative: quiet at night, busy in the day.
const HOURLY_TRAFFIC: [f64; 24] = [
    1.0, 0.7, 0.5, 0.4, 0.4, 0.6, 1.2, 2.5, 4.0, 5.5, 6.0, 6.0, 6.2, 6.0, 5.8, 5.6, 5.5, 5.8, 6.0,
    5.5, 4.5, 3.5, 2.5, 1.6,
];

pub const PROFILE: Profile = Profile {
    name: "support-bot",
    interaction_prefix: "int",
    session_prefix: "ses",
    default_interactions: 2400,
    default_start: "2026-10-26",
    hourly_traffic: &HOURLY_TRAFFIC,
    // A web shop is as busy at the weekend as during the week.
    weekday_weight: 1,
    weekend_weight: 1,
    problems: PROBLEMS,
    feedback: FeedbackWords {
        positive: phrases::POSITIVE_COMMENTS,
        neutral: phrases::NEUTRAL_COMMENTS,
        unrelated_negative: phrases::UNRELATED_NEGATIVE,
    },
};

const CHANNELS: &[&str] = &[
    "web",
    "web",
    "web",
    "web",
    "web",
    "web",
    "mobile_app",
    "mobile_app",
    "mobile_app",
    "email",
];
const LOCALES: &[&str] = &[
    "en-US", "en-US", "en-US", "en-US", "en-US", "en-US", "en-US", "en-US", "en-CA", "en-GB",
];

/// One support-bot interaction.
pub fn generate(rng: &mut StdRng, slot: &Slot) -> Generated {
    let scenario = Scenario::draw(rng, slot.v2);
    let played = scenarios::generate(rng, scenario, slot.day, slot.v2);
    let user_id = format!("usr_{:04}", rng.random_range(0..slot.users));
    Generated {
        messages: played.conversation.messages,
        user_id,
        channel: pick(rng, CHANNELS),
        locale: pick(rng, LOCALES),
        verdict: played.verdict,
        planted: played.planted,
        feedback_delay: 30..5_400,
    }
}
