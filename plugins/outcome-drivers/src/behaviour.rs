//! Behaviours: what an interaction shows that can be set against how it was
//! rated. Each is a yes/no per interaction, read from structure only (which
//! tool was called, which call failed and how, which tool hands the user
//! over, who corrected whom), never from words of a domain.
//!
//! One function per family ([`tools`], [`errors`], [`retries`],
//! [`escalations`], [`corrected`], [`unconfirmed_actions`]), all called from
//! [`observe`]: a family that another rule's detector does better is swapped
//! in by changing that one function's body. Conversation length is not a
//! family here: its threshold depends on the whole window, so the rule keeps
//! a histogram of [`user_turns`] and decides at the end.
//!
//! This module neither counts nor keeps anything: it fills the caller's list.

use reverie_rule_sdk::finding::key_part;
use reverie_rule_sdk::{Interaction, Role, text};

use crate::classify::{ErrorClass, classify};
use reverie_rule_sdk::actions::{ActionKind, Detector};

use crate::outcome::Ratings;

/// Longest tool name kept (longer names are cut, so a hostile name cannot grow memory).
pub const MAX_NAME_CHARS: usize = 100;

/// Words of a tool's name that mark a hand-over to a person or another
/// team, when the operator names no `escalation_tools`. Tool names are
/// identifiers, written in English whatever language the users speak.
const ESCALATION_WORDS: &[&str] = &[
    "transfer",
    "escalate",
    "escalation",
    "handoff",
    "handover",
    "human",
    "agent",
    "operator",
];
/// Two adjacent words of a name that mean the same (`hand_off`, `HandOver`).
const ESCALATION_PAIRS: &[(&str, &str)] = &[("hand", "off"), ("hand", "over")];

/// One behaviour an interaction can show. The order (derived) is the
/// order of the rule's tables and of ties in its report.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Behaviour {
    /// The agent called this tool.
    Tool(String),
    /// A call of this tool failed with this class of error.
    Error(String, ErrorClass),
    /// The agent called this tool again with the same arguments after it failed.
    Retry(String),
    /// The agent called a tool that hands the user over (see [`Escalation`]).
    Escalation,
    /// The `corrections` rule inferred that the user corrected the agent.
    Corrected,
    /// The agent made this state-changing call without the user's yes.
    Unconfirmed(String),
    /// The user took at least this many turns. Decided at the end of the
    /// window (see the crate docs), never by [`observe`].
    LongConversation(u32),
}

impl Behaviour {
    /// The part of the pattern key after `outcome-drivers/`.
    pub fn key(&self) -> String {
        match self {
            Behaviour::Tool(tool) => format!("tool/{}", key_part(tool)),
            Behaviour::Error(tool, class) => {
                format!("error/{}/{}", key_part(tool), class.as_str())
            }
            Behaviour::Retry(tool) => format!("retry/{}", key_part(tool)),
            Behaviour::Escalation => "escalation".into(),
            Behaviour::Corrected => "corrected".into(),
            Behaviour::Unconfirmed(tool) => format!("unconfirmed/{}", key_part(tool)),
            Behaviour::LongConversation(_) => "long-conversation".into(),
        }
    }

    /// How narrow the behaviour is, for dropping a broad behaviour that a
    /// narrower one explains: a failure class or a retry of a tool is
    /// narrower than calling it; calling one tool narrower than a length.
    pub fn specificity(&self) -> u8 {
        match self {
            Behaviour::Error(..) => 5,
            Behaviour::Retry(_) | Behaviour::Unconfirmed(_) => 4,
            Behaviour::Escalation => 3,
            Behaviour::Corrected => 2,
            Behaviour::Tool(_) => 1,
            Behaviour::LongConversation(_) => 0,
        }
    }

    /// The behaviour as the end of "interactions where …", for titles and
    /// flags. `escalation_tools` names the hand-over tools seen.
    pub fn phrase(&self, escalation_tools: &[String]) -> String {
        match self {
            Behaviour::Tool(tool) => format!("`{tool}` is called"),
            Behaviour::Error(tool, class) => format!("`{tool}` fails with {}", class.as_str()),
            Behaviour::Retry(tool) => {
                format!("`{tool}` is called again with the same arguments after failing")
            }
            Behaviour::Escalation => {
                let names: Vec<String> =
                    escalation_tools.iter().map(|t| format!("`{t}`")).collect();
                if names.is_empty() {
                    "the agent hands the user over".into()
                } else {
                    format!("the agent hands the user over ({})", names.join(", "))
                }
            }
            Behaviour::Corrected => "the user corrects the agent".into(),
            Behaviour::Unconfirmed(tool) => {
                format!("`{tool}` is called before the user said yes")
            }
            Behaviour::LongConversation(turns) => {
                format!("the user needs {turns} or more turns")
            }
        }
    }
}

/// Which tools hand the user over.
#[derive(Debug, Clone, PartialEq)]
pub enum Escalation {
    /// Exactly these tool names (the `escalation_tools` setting).
    Named(Vec<String>),
    /// Tools whose name has one of [`ESCALATION_WORDS`] as a word of its
    /// snake_case or camelCase spelling.
    ByWords,
}

impl Escalation {
    pub fn is_escalation(&self, tool: &str) -> bool {
        match self {
            Escalation::Named(names) => names.iter().any(|n| n == tool),
            Escalation::ByWords => {
                // A name is read as far as it is kept (a hostile one costs no more).
                let end = tool
                    .char_indices()
                    .nth(MAX_NAME_CHARS)
                    .map_or(tool.len(), |(i, _)| i);
                let words = name_words(&tool[..end]);
                words.iter().any(|w| ESCALATION_WORDS.contains(&w.as_str()))
                    || words.windows(2).any(|pair| {
                        ESCALATION_PAIRS
                            .iter()
                            .any(|(a, b)| pair[0] == *a && pair[1] == *b)
                    })
            }
        }
    }
}

/// The lowercase words of an identifier: split at anything not a letter or
/// digit and where a lowercase letter meets an uppercase one
/// (`transferToHuman`, `transfer_to_human`, `TRANSFER-TO-HUMAN` → transfer, to, human).
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Every behaviour of one interaction, into `out` (unsorted, maybe repeated).
pub fn observe(
    interaction: &Interaction,
    ratings: &Ratings,
    escalation: &Escalation,
    actions: &Detector,
    out: &mut Vec<Behaviour>,
) {
    tools(interaction, out);
    errors(interaction, out);
    retries(interaction, out);
    escalations(interaction, escalation, out);
    corrected(ratings, out);
    unconfirmed_actions(interaction, actions, out);
}

/// `tool:<name>`: each tool the agent called.
pub fn tools(interaction: &Interaction, out: &mut Vec<Behaviour>) {
    for call in &interaction.tool_calls {
        out.push(Behaviour::Tool(tool_name(&call.name)));
    }
}

/// `error:<tool>/<class>`: each class of failure, as the `tool-failures`
/// rule classifies it (the same code), so both rules' keys name one class.
pub fn errors(interaction: &Interaction, out: &mut Vec<Behaviour>) {
    for call in &interaction.tool_calls {
        if let Some(error) = &call.error {
            out.push(Behaviour::Error(tool_name(&call.name), classify(error)));
        }
    }
}

/// `retry:<tool>`: the same failing call made again, as the `retry-loops`
/// rule counts it ([`reverie_rule_sdk::retries`]).
pub fn retries(interaction: &Interaction, out: &mut Vec<Behaviour>) {
    for found in reverie_rule_sdk::retries::loops(interaction) {
        let behaviour = Behaviour::Retry(tool_name(&found.tool));
        if !out.contains(&behaviour) {
            out.push(behaviour);
        }
    }
}

/// `escalation`: a call to a tool that hands the user over.
pub fn escalations(interaction: &Interaction, escalation: &Escalation, out: &mut Vec<Behaviour>) {
    if interaction
        .tool_calls
        .iter()
        .any(|call| escalation.is_escalation(&call.name))
    {
        out.push(Behaviour::Escalation);
    }
}

/// `corrected`: the `corrections` rule inferred negative feedback on it.
pub fn corrected(ratings: &Ratings, out: &mut Vec<Behaviour>) {
    if ratings.corrected {
        out.push(Behaviour::Corrected);
    }
}

/// `unconfirmed/<tool>`: a state-changing call made without the user's yes
/// in the turn before, as the `unconfirmed-actions` rule sees it with its
/// default settings ([`reverie_rule_sdk::actions::Detector`]).
pub fn unconfirmed_actions(
    interaction: &Interaction,
    actions: &Detector,
    out: &mut Vec<Behaviour>,
) {
    for action in actions.actions(interaction) {
        if action.kind != ActionKind::Unconfirmed {
            continue;
        }
        let behaviour = Behaviour::Unconfirmed(tool_name(action.tool));
        if !out.contains(&behaviour) {
            out.push(behaviour);
        }
    }
}

/// User turns of the interaction: its `user` messages.
pub fn user_turns(interaction: &Interaction) -> u32 {
    let turns = interaction
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .count();
    u32::try_from(turns).unwrap_or(u32::MAX)
}

/// Tool names as kept: cut to [`MAX_NAME_CHARS`].
fn tool_name(name: &str) -> String {
    if name.len() <= MAX_NAME_CHARS {
        name.to_string()
    } else {
        text::truncate(name, MAX_NAME_CHARS)
    }
}
