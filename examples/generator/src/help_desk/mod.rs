//! The Halden & Rowe IT help desk: an engineering consultancy's help-desk
//! agent, Ivy, with tools that change things (resets, unlocks, tickets,
//! hardware orders) and a confirmation policy, with nine planted mistakes of
//! different kinds (see `examples/README.md`).
//!
//! An interaction is drawn in a fixed order: the employee, the scenario, the
//! conversation, the channel. The employee fixes the user id, the locale
//! (from their office and language) and the employee id they type.

mod assets;
mod directory;
mod handoff;
mod knowledge;
mod lang;
mod phrases;
mod prompt;
mod scenarios;
mod tickets;

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
    Problem {
        id: scenarios::REPEATED_FAILING_CALL,
        description: "get_ticket_status (an old portal reference: invalid ticket_id; a colleague's ticket: 403 forbidden) or order_hardware (an item IT does not sell: invalid item) fails, and the agent calls it again with exactly the same arguments, two or three times in all, before giving up.",
    },
    Problem {
        id: scenarios::MADE_UP_ASSET_TAG,
        description: "The employee gives a serial number and the agent calls lookup_asset with an asset_tag it built from the serial's last digits (LAP-4471, HR-04471), a value no message, tool result or the prompt contains. Most such tags are not found; an HR- one sometimes names someone else's device, and the call succeeds on the wrong item.",
    },
    Problem {
        id: scenarios::KB_MANY_FILTERS,
        description: "search_kb times out whenever it is called with 3 or more filters; with 1 or 2 filters (hundreds of calls) it always answers. The agent piles on filters in some searches.",
    },
    Problem {
        id: scenarios::UNREQUESTED_CLOSE,
        description: "The employee asks for a new ticket; the agent creates it (confirmed) and also calls close_ticket on the employee's other open ticket, which nobody asked to close. A few employees object.",
    },
    Problem {
        id: scenarios::NEEDLESS_TRANSFER,
        description: "The employee asks a question the prompt's policies answer (lockout length, temporary password validity, ticket response times...) and the agent calls transfer_to_human to the service-desk queue instead of answering. No error and mostly no reply; the explicit ratings are mostly negative, mostly without a comment.",
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
        locale: employee.locale(),
        verdict: played.verdict,
        planted: played.planted,
        feedback_delay,
    }
}
