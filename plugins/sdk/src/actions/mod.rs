//! The behaviours themselves, one interaction at a time: which state-changing
//! calls were made without the user's confirmation, which repeated an action
//! already done, and which acted on something nobody named.
//!
//! [`Detector`] is pure (no counters, no log) so that rules count the same
//! behaviours their own way: the `unconfirmed-actions` rule tallies what
//! [`Detector::actions`] returns by tool, `outcome-drivers` relates it to
//! ratings. It is in the SDK, with its word tables ([`confirm`], [`tools`])
//! and argument reader ([`targets`](mod@targets)), because a rule crate cannot link
//! another rule crate into its component (both would export the contract).
//!
//! *Unconfirmed*: the user's previous turn (the last user message before the
//! assistant message that made the call, by `tool_call.message_index`) is not
//! a confirmation ([`self::confirm::is_confirmation`]), or, with
//! `require_agent_question`, the agent's turn just before that reply asked no
//! question a yes can answer ([`self::confirm::asks_for_yes`]): a "yes"
//! that answers nothing, or "sure, E-25793" given to "What's your employee
//! ID?", agrees to nothing the agent proposed.
//!
//! *Repeated*: the same tool with the same target values ([`targets`](mod@self::targets))
//! as an earlier call of the interaction that succeeded, unless the user
//! confirmed again in a later turn. A retry after a failure is not a repeat.
//!
//! *Unrequested*: a state-changing call that is not the first after the
//! user's turn, whose targets differ from that first call's and do not appear
//! in the agent's turn the user answered: one yes, then a second action on
//! something else. A target the user had mentioned does not cover it ("a
//! different thing from X, which is still open" asks nothing of X); the
//! proposal the user said yes to does. The same tool again after its first
//! call of the turn failed retries with other arguments: no second action.

pub mod confirm;
pub mod targets;
pub mod tools;

use crate::{CycleContext, Interaction, Message, Role, setting, setting_or};

use self::confirm::{asks_for_yes, is_confirmation};
use self::targets::{DEFAULT_TARGET_WORDS, Target, compact, targets};
use self::tools::{ToolTest, list_setting, words};

/// Earlier state-changing calls of one interaction compared with each new
/// one: past this many, later calls are still checked for confirmation but
/// not for repeats (an interaction with hundreds of actions is a batch job,
/// and comparing every pair would cost its square).
pub const MAX_COMPARED_CALLS: usize = 64;

/// What is wrong with a state-changing call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    /// Made without the user's explicit confirmation in their previous turn.
    Unconfirmed,
    /// Done again on the same target after it already succeeded.
    Repeated,
    /// A further action, after the user's turn, on a target nobody named.
    Unrequested,
}

impl ActionKind {
    pub const ALL: [ActionKind; 3] = [
        ActionKind::Unconfirmed,
        ActionKind::Repeated,
        ActionKind::Unrequested,
    ];

    /// The name used in the run log and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Unconfirmed => "unconfirmed",
            ActionKind::Repeated => "repeated",
            ActionKind::Unrequested => "unrequested",
        }
    }
}

/// One finding about one call of an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action<'a> {
    /// Index of the call in `interaction.tool_calls`.
    pub call_index: usize,
    /// The tool's name, as called.
    pub tool: &'a str,
    pub kind: ActionKind,
    /// For repeated and unrequested calls: the target field that tells which
    /// thing the call acted on (its first target field).
    pub target_field: Option<&'a str>,
}

/// Finds unconfirmed, repeated and unrequested state-changing calls.
#[derive(Debug, Clone)]
pub struct Detector {
    tools: ToolTest,
    target_words: Vec<String>,
    require_agent_question: bool,
}

impl Default for Detector {
    fn default() -> Self {
        Detector {
            tools: ToolTest::default(),
            target_words: DEFAULT_TARGET_WORDS.iter().map(|w| w.to_string()).collect(),
            require_agent_question: DEFAULT_REQUIRE_AGENT_QUESTION,
        }
    }
}

/// The agent must have asked before the user's yes: the policy most agents
/// have is "say what you will do, ask, then act", and a "yes" that answers no
/// question ("yes, I'm new here") confirms nothing.
pub const DEFAULT_REQUIRE_AGENT_QUESTION: bool = true;

/// The settings [`Detector::from_settings`] reads (a rule that embeds the
/// detector declares them with these names).
pub const SETTING_TOOLS: &str = "state_changing_tools";
pub const SETTING_VERBS: &str = "state_changing_verbs";
pub const SETTING_TARGETS: &str = "target_fields";
pub const SETTING_QUESTION: &str = "require_agent_question";

impl Detector {
    /// The detector the settings describe; an error names the bad setting.
    pub fn from_settings(context: &CycleContext) -> Result<Self, String> {
        let tools = match (
            setting(context, SETTING_TOOLS),
            setting(context, SETTING_VERBS),
        ) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "setting `{SETTING_VERBS}`: not used when `{SETTING_TOOLS}` is set; set one of them"
                ));
            }
            (Some(raw), None) => {
                let names = list_setting(raw);
                if names.is_empty() {
                    return Err(format!("setting `{SETTING_TOOLS}`: names no tool"));
                }
                ToolTest::Named(names)
            }
            (None, Some(raw)) => {
                let verbs = single_words(SETTING_VERBS, raw)?;
                ToolTest::verbs(verbs.iter().map(String::as_str))
            }
            (None, None) => ToolTest::default(),
        };
        let target_words = match setting(context, SETTING_TARGETS) {
            Some(raw) => {
                let fields = list_setting(raw);
                if fields.is_empty() {
                    return Err(format!("setting `{SETTING_TARGETS}`: names no field"));
                }
                fields
            }
            None => Detector::default().target_words,
        };
        let require_agent_question =
            setting_or(context, SETTING_QUESTION, DEFAULT_REQUIRE_AGENT_QUESTION)?;
        Ok(Detector {
            tools,
            target_words,
            require_agent_question,
        })
    }

    /// Does a call to `tool` change state?
    pub fn changes_state(&self, tool: &str) -> bool {
        self.tools.changes_state(tool)
    }

    /// The unconfirmed, repeated and unrequested state-changing calls of an
    /// interaction, in call order (a call may be unconfirmed and repeated).
    pub fn actions<'a>(&self, interaction: &'a Interaction) -> Vec<Action<'a>> {
        let mut out = Vec::new();
        let messages = &interaction.messages;
        let mut earlier: Vec<Earlier<'a>> = Vec::new();
        // The turn last judged, and whether it confirmed: calls after one
        // reply share it.
        let mut judged: Option<(Option<usize>, bool)> = None;
        for (call_index, call) in interaction.tool_calls.iter().enumerate() {
            let tool = call.name.as_str();
            if !self.changes_state(tool) {
                continue;
            }
            let at = (call.message_index as usize).min(messages.len());
            let turn = last_of(messages, at, Role::User);
            let confirmed = match judged {
                Some((t, c)) if t == turn => c,
                _ => {
                    let c = turn.is_some_and(|u| self.confirms(messages, u));
                    judged = Some((turn, c));
                    c
                }
            };
            if !confirmed {
                out.push(Action {
                    call_index,
                    tool,
                    kind: ActionKind::Unconfirmed,
                    target_field: None,
                });
            }
            let found = targets(&call.arguments, &self.target_words);
            let field = found.first().map(|t| t.field);
            let repeated = !found.is_empty()
                && earlier.iter().any(|e| {
                    e.tool == tool
                        && !e.failed
                        && same_values(&e.targets, &found)
                        && !(confirmed && e.turn != turn)
                });
            let first_of_turn = earlier.iter().find(|e| e.turn == turn);
            if repeated {
                out.push(Action {
                    call_index,
                    tool,
                    kind: ActionKind::Repeated,
                    target_field: field,
                });
            } else if let Some(first) = first_of_turn
                // The same tool again after its first call failed is a retry
                // with other arguments, not a second action.
                && !(first.tool == tool && first.failed)
                && !found.is_empty()
                && !found
                    .iter()
                    .any(|t| first.targets.iter().any(|f| f.value == t.value))
            {
                // Only what the user said yes to covers a second action: a
                // target the user mentioned in passing ("a different thing
                // from X, which is still open") was not handed over to act on.
                let answered = turn
                    .and_then(|u| agent_turn_before(messages, u))
                    .map(|a| compact(&messages[a].content))
                    .unwrap_or_default();
                let named = found.iter().any(|t| answered.contains(&t.value));
                if !named {
                    out.push(Action {
                        call_index,
                        tool,
                        kind: ActionKind::Unrequested,
                        target_field: field,
                    });
                }
            }
            if earlier.len() < MAX_COMPARED_CALLS {
                earlier.push(Earlier {
                    tool,
                    targets: found,
                    turn,
                    failed: call.error.is_some(),
                });
            }
        }
        out
    }

    /// Does the user's message at `user` confirm (and, if required, answer a
    /// question of the agent)?
    fn confirms(&self, messages: &[Message], user: usize) -> bool {
        is_confirmation(&messages[user].content)
            && (!self.require_agent_question
                || agent_turn_before(messages, user)
                    .is_some_and(|a| asks_for_yes(&messages[a].content)))
    }
}

/// An earlier state-changing call of the interaction.
struct Earlier<'a> {
    tool: &'a str,
    targets: Vec<Target<'a>>,
    /// The user turn it followed.
    turn: Option<usize>,
    failed: bool,
}

/// Do two calls name the same things (the same target values, whatever the
/// fields are called)?
fn same_values(a: &[Target<'_>], b: &[Target<'_>]) -> bool {
    a.len() == b.len() && b.iter().all(|t| a.iter().any(|s| s.value == t.value))
}

/// The index of the last message of `role` before `before`.
fn last_of(messages: &[Message], before: usize, role: Role) -> Option<usize> {
    messages[..before].iter().rposition(|m| m.role == role)
}

/// The agent's last message with text before the user's message at `user`,
/// within the agent's turn (not past the previous user message).
fn agent_turn_before(messages: &[Message], user: usize) -> Option<usize> {
    for (i, m) in messages[..user].iter().enumerate().rev() {
        match m.role {
            Role::User => return None,
            Role::Assistant if !m.content.trim().is_empty() => return Some(i),
            _ => {}
        }
    }
    None
}

/// A comma-separated list of single words, lowercase; an error names the setting.
fn single_words(name: &str, raw: &str) -> Result<Vec<String>, String> {
    let entries = list_setting(raw);
    if entries.is_empty() {
        return Err(format!("setting `{name}`: names no verb"));
    }
    for entry in &entries {
        if words(entry).count() != 1 || !entry.chars().all(char::is_alphanumeric) {
            return Err(format!(
                "setting `{name}`: {entry:?} is not one word (verbs are matched against the words of a tool's name)"
            ));
        }
    }
    Ok(entries.iter().map(|e| e.to_lowercase()).collect())
}
