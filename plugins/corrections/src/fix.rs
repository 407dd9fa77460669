//! Turning a correction kind's anchors into one fix a prompt engineer would
//! paste as written.
//!
//! A fix names what the corrections stood on: the prompt sentence whose figure
//! the agent changed (quoted exactly, so the host can check it is in the live
//! prompt), or the tool most corrected answers relied on and the argument that
//! carried the user's value (in backticks). Those names come from the data and
//! the prompt; the sentences around them are generic and hold no domain word.
//! When nothing accounts for most of a kind's corrections, the fix is a
//! behavioural instruction with a confidence below the host's *ready* bar: it
//! may help, but a person should decide. No fix quotes a user or carries a count.

use crate::Kind;
use crate::anchor::{FactTally, PromptFacts, ToolTally};

/// A correction of the agent's answers is "after a failed call" when at least
/// this share of the calls it relied on failed.
const FAILED_SHARE: f64 = 0.5;

/// What a kind's fix is built on.
#[derive(Debug, Clone, PartialEq)]
pub enum Anchor {
    /// A prompt sentence stating a figure the agent gave differently.
    Fact {
        /// The sentence, exactly as in the prompt.
        sentence: String,
        /// The figure the agent gave most often instead, as written.
        wrong: String,
        /// Corrected interactions of the kind that restore it.
        support: u64,
    },
    /// The tool most corrected answers relied on.
    Tool {
        name: String,
        /// Corrected interactions of the kind whose answer relied on it.
        support: u64,
        /// Of those, how many had the call fail.
        failed: u64,
        /// The argument that carried a value the user had given, when it did
        /// in most of them.
        field: Option<String>,
        /// A second tool that shares the kind with it (rejected actions only),
        /// named in the same fix, with its interactions.
        also: Option<(String, u64)>,
    },
    /// Nothing accounts for most of the kind's corrections.
    None,
}

impl Anchor {
    /// Interactions the anchor accounts for.
    pub fn support(&self) -> u64 {
        match self {
            Anchor::Fact { support, .. } => *support,
            Anchor::Tool { support, also, .. } => support + also.as_ref().map_or(0, |(_, n)| *n),
            Anchor::None => 0,
        }
    }

    fn failed(&self) -> bool {
        match self {
            Anchor::Tool {
                support, failed, ..
            } => share(*failed, *support) >= FAILED_SHARE,
            _ => false,
        }
    }
}

/// The share `part / whole`, 0 for an empty whole.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The anchor of a kind with `interactions` corrected interactions: a prompt
/// fact (contradictions only) or a tool, whichever accounts for at least
/// `min_share` of them, the fact first because it is the more specific fix.
pub fn choose(
    kind: Kind,
    interactions: u64,
    tools: &ToolTally,
    facts: &FactTally,
    prompt: &PromptFacts,
    min_share: f64,
) -> Anchor {
    if kind == Kind::Contradicted
        && let Some(lead) = facts.leader()
        && share(lead.interactions, interactions) >= min_share
        && let Some(sentence) = prompt.sentence(lead.sentence)
    {
        return Anchor::Fact {
            sentence: sentence.to_string(),
            wrong: lead.wrong,
            support: lead.interactions,
        };
    }
    // A rejected action may be split between two tools that act alike
    // (resetting and unlocking): the runner-up is named with the leader when it
    // accounts for at least half the share a tool needs alone, and the pair
    // stands when together they reach it.
    let also = match (kind, tools.leader(), tools.runner_up()) {
        (Kind::UnwantedAction, Some((_, lead)), Some((name, second)))
            if share(second.interactions, interactions) >= min_share / 2.0
                && share(lead.interactions + second.interactions, interactions) >= min_share =>
        {
            Some((name.to_string(), second.interactions))
        }
        _ => None,
    };
    if let Some((name, stats)) = tools.leader()
        && (also.is_some() || share(stats.interactions, interactions) >= min_share)
    {
        let field = stats
            .leading_field()
            .filter(|(_, count)| share(*count, stats.interactions) >= min_share)
            .map(|(field, _)| field.to_string());
        return Anchor::Tool {
            name: name.to_string(),
            support: stats.interactions,
            failed: stats.failed,
            field,
            also,
        };
    }
    Anchor::None
}

/// The instruction to the agent, in the second person.
pub fn instruction(kind: Kind, anchor: &Anchor) -> String {
    let failed = anchor.failed();
    match anchor {
        Anchor::Fact {
            sentence, wrong, ..
        } => {
            let stop = if sentence.ends_with(['.', '!', '?', '。', '！', '？']) {
                ""
            } else {
                "."
            };
            format!(
                "The prompt says \"{sentence}\"{stop} When you state this, use exactly this \
                 figure; never {wrong}."
            )
        }
        Anchor::Tool {
            name, field, also, ..
        } => match (kind, also) {
            (Kind::UnwantedAction, Some((second, _))) => {
                confirm_first(&format!("`{name}` or `{second}`"))
            }
            _ => tool_instruction(kind, name, field.as_deref(), failed),
        },
        Anchor::None => generic_instruction(kind).to_string(),
    }
}

/// The fix for actions users did not ask for: confirm before the call.
fn confirm_first(tools: &str) -> String {
    format!(
        "Before you call {tools}, say what you will do and ask the user to confirm; call it \
         only after a clear yes."
    )
}

fn tool_instruction(kind: Kind, tool: &str, field: Option<&str>, failed: bool) -> String {
    let value = field.map_or("a value".to_string(), |f| format!("the `{f}`"));
    match (kind, failed) {
        (Kind::UnwantedAction, _) => confirm_first(&format!("`{tool}`")),
        (Kind::IgnoredContext, true) => format!(
            "When `{tool}` rejects {value} the user gave you, do not ask the user for it again: \
             tell them what the tool expected, correct the format yourself if you can, and call \
             it again."
        ),
        (Kind::IgnoredContext, false) => match field {
            Some(f) => format!(
                "Before you call `{tool}`, take the `{f}` from what the user already wrote; ask \
                 for it only if they have not given it."
            ),
            None => format!(
                "Before you call `{tool}`, take its arguments from what the user already wrote; \
                 ask only for what they have not given."
            ),
        },
        (Kind::Misunderstood, false) => format!(
            "When you call `{tool}`, carry every requirement the user stated into its arguments, \
             and check each result against them before you recommend it."
        ),
        (Kind::Misunderstood, true) => format!(
            "When `{tool}` fails, tell the user what you could not do and ask how to go on; do \
             not answer a different request instead."
        ),
        (Kind::Contradicted, false) => format!(
            "When you answer from what `{tool}` returned, state its values as it returned them, \
             and take any rule or figure from this prompt; do not fill gaps with your own."
        ),
        (Kind::Contradicted, true) => format!(
            "When `{tool}` fails, say that you could not check; never answer with a figure or \
             date the tool did not return."
        ),
        (Kind::RepeatedQuestion, false) => format!(
            "When you answer from what `{tool}` returned, answer the user's question itself in \
             your first sentence; if the result does not answer it, say so."
        ),
        (Kind::RepeatedQuestion, true) => format!(
            "When `{tool}` fails, tell the user plainly that you could not get the answer and \
             what you will do instead, so they do not have to ask again."
        ),
    }
}

/// The fix when nothing structural anchors it: a behaviour, not a name.
fn generic_instruction(kind: Kind) -> &'static str {
    match kind {
        Kind::Contradicted => {
            "When you state a fact, figure or rule, take it from this prompt or from a tool \
             result; if neither gives it, say you are not sure instead of guessing."
        }
        Kind::Misunderstood => {
            "Before you answer, check your answer against every requirement the user stated; if \
             the request could mean two things, ask one short question instead of guessing."
        }
        Kind::IgnoredContext => {
            "Before you ask the user for anything, re-read the conversation: never ask again for \
             something the user already gave."
        }
        Kind::UnwantedAction => {
            "Before you use a tool that changes something for the user, say what you will do \
             and ask them to confirm; act only after a clear yes."
        }
        Kind::RepeatedQuestion => {
            "If the user asks the same question again, your previous answer did not address it: \
             answer the question directly in your first sentence, and ask what is missing if you \
             are unsure."
        }
    }
}

/// How sure the rule is that the fix helps. An anchored fix starts at 0.4 and
/// grows with the share of the kind it accounts for and with the evidence,
/// towards 0.9; an unanchored one stays below 0.5, so the host's gate leaves it
/// for a person.
pub fn confidence(anchor: &Anchor, interactions: u64) -> f32 {
    let n = interactions as f64;
    let evidence = n / (n + 10.0);
    let c = match anchor {
        Anchor::None => 0.2 + 0.25 * evidence,
        anchored => 0.4 + 0.5 * share(anchored.support(), interactions).min(1.0) * evidence,
    };
    ((c * 100.0).round() / 100.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_fix_quotes_the_sentence_and_names_the_wrong_figure() {
        let with_stop = Anchor::Fact {
            sentence: "Returns are accepted within 14 days of delivery.".into(),
            wrong: "30 days".into(),
            support: 80,
        };
        assert_eq!(
            instruction(Kind::Contradicted, &with_stop),
            "The prompt says \"Returns are accepted within 14 days of delivery.\" When you state \
             this, use exactly this figure; never 30 days."
        );
        let without = Anchor::Fact {
            sentence: "Check-in closes 45 minutes before departure".into(),
            wrong: "20 minutes".into(),
            support: 12,
        };
        assert!(
            instruction(Kind::Contradicted, &without)
                .starts_with("The prompt says \"Check-in closes 45 minutes before departure\". ")
        );
    }

    #[test]
    fn confidence_stays_below_the_ready_bar_without_an_anchor() {
        assert!(confidence(&Anchor::None, 1_000_000) < 0.5);
        let tool = Anchor::Tool {
            name: "find_booking".into(),
            support: 95,
            failed: 95,
            field: None,
            also: None,
        };
        let strong = confidence(&tool, 100);
        assert!((0.8..=0.9).contains(&strong), "{strong}");
        let weak = Anchor::Tool {
            name: "find_booking".into(),
            support: 6,
            failed: 0,
            field: None,
            also: None,
        };
        assert!(confidence(&weak, 12) < strong);
    }
}
