//! The Halden & Rowe IT help desk: an engineering consultancy's help-desk
//! agent, Ivy, with tools that change things (resets, unlocks, tickets,
//! hardware orders) and a confirmation policy, with four planted mistakes of
//! different kinds (see `examples/README.md`).
//!
//! An interaction is drawn in a fixed order: the employee, the scenario, the
//! conversation, the channel. The employee fixes the user id, the locale
//! (from their office) and the employee id they type.

mod directory;
mod phrases;
mod prompt;
mod scenarios;

use rand::Rng;
use rand::rngs::StdRng;

use crate::domain::{FeedbackWords, Generated, Problem, Profile, Slot, Verdict};
use crate::text::pick;

use scenarios::Scenario;

/// The planted mistakes, in the order `examples/README.md` letters them.
pub const PROBLEMS: &[Problem] = &[
    Problem {
        id: scenarios::ID_AS_TYPED,
        description: "lookup_employee is called with the employee id as the user typed it (e-10442, E 10442, an email address) and fails: invalid employee_id, expected E followed by 5 digits. The agent often asks for the id again.",
    },
    Problem {
        id: scenarios::WRONG_LAPTOP_TIME,
        description: "The agent says replacement laptops ship within 2 business days; the policy says 5.",
    },
    Problem {
        id: scenarios::NO_CONFIRMATION,
        description: "The user only asks how something works, and the agent calls reset_password or unlock_account at once, without saying what it will do or asking the user to confirm.",
    },
    Problem {
        id: scenarios::TICKET_OUTAGE,
        description: "create_ticket fails (503 Service Unavailable or a timeout) while the ticketing backend is down, and the agent tells the user the ticket was created, with a made-up number.",
    },
];

/// Traffic by hour of day (UTC): the Leeds and Rotterdam offices from 7 to
/// 17, Toronto (UTC-5) from 13 to 22, hardly anyone at night.
const HOURLY_TRAFFIC: [f64; 24] = [
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2.5, 5.0, 6.0, 5.8, 5.5, 4.5, 5.5, 7.0, 7.2, 6.5, 4.5, 3.0,
    2.6, 2.2, 1.5, 0.8, 0.4,
];

pub const PROFILE: Profile = Profile {
    name: "help-desk",
    interaction_prefix: "hd",
    session_prefix: "hds",
    default_interactions: 2000,
    default_start: "2027-02-01",
    hourly_traffic: &HOURLY_TRAFFIC,
    // Office staff: a weekend day sees a sixth of a weekday's traffic.
    weekday_weight: 6,
    weekend_weight: 1,
    problems: PROBLEMS,
    feedback: FeedbackWords {
        positive: phrases::POSITIVE_COMMENTS,
        neutral: phrases::NEUTRAL_COMMENTS,
        unrelated_negative: phrases::UNRELATED_NEGATIVE,
    },
};

const CHANNELS: &[&str] = &[
    "teams", "teams", "teams", "teams", "teams", "portal", "portal", "portal", "email", "email",
];

/// About four interactions per employee, within the ids that exist.
pub fn users(interactions: u64) -> u64 {
    (interactions / 4).clamp(1, directory::MAX_EMPLOYEES)
}

/// One help-desk interaction.
pub fn generate(rng: &mut StdRng, slot: &Slot) -> Generated {
    let k = rng.random_range(0..slot.users.clamp(1, directory::MAX_EMPLOYEES));
    let employee = directory::employee(k);
    let scenario = Scenario::draw(rng, slot.v2);
    let played = scenarios::play(rng, scenario, &employee, slot);
    // Someone whose ticket never existed finds out hours or days later.
    let feedback_delay = match (played.planted, played.verdict) {
        (Some(p), Verdict::Bad(_)) if p.problem == scenarios::TICKET_OUTAGE => 7_200..3 * 86_400,
        _ => 30..5_400,
    };
    Generated {
        messages: played.conversation.messages,
        user_id: format!("emp_{k:05}"),
        channel: pick(rng, CHANNELS),
        locale: employee.office.locale(),
        verdict: played.verdict,
        planted: played.planted,
        feedback_delay,
    }
}
