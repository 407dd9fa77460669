//! The phrase rule of the peer benchmark, written once and run three ways:
//! natively, inside a reverie component and inside an Extism plugin.
//!
//! It reads messages one at a time (interaction id, role, text) and counts, for
//! each phrase of its list, the user messages that contain it, ignoring ASCII
//! case, with the ids of the first interactions that show it as evidence. The
//! searcher is built once, in [`PhraseRule::new`]: one Aho-Corasick automaton
//! over all phrases, one pass over each user message whatever the number of
//! phrases, and no allocation per message.
//!
//! It owns no I/O and knows nothing of either host: each side converts its own
//! message type into the arguments of [`PhraseRule::message`], so the three
//! runs differ only in how the messages reach this code.

use aho_corasick::{AhoCorasick, MatchKind};

/// The phrases all three sides look for: things users of the generated support bot
/// say (`examples/generator`, `support_bot::phrases`): corrections of the agent,
/// and a closing that is no correction. Lowercase ASCII; matching ignores case.
pub const PHRASES: &[&str] = &[
    "that's wrong",
    "that's not right",
    "not what i asked",
    "i already told you",
    "i just said",
    "no thanks",
];

/// Evidence kept per phrase: enough to check that the sides agree on order, not
/// only on counts.
pub const MAX_EVIDENCE: usize = 50;

/// Who wrote a message; only user messages are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// What the rule found for one phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PhraseCount {
    pub phrase: String,
    /// User messages containing the phrase (a message counts once however often it says it).
    pub messages: u32,
    /// Ids of the first [`MAX_EVIDENCE`] interactions showing it, in the order seen, each once.
    pub evidence: Vec<String>,
}

/// The rule's state over one window.
pub struct PhraseRule {
    searcher: AhoCorasick,
    found: Vec<PhraseCount>,
    max_evidence: usize,
    /// Per phrase, the number of the last message it was counted in: a phrase said
    /// twice in one message counts once, without clearing a set per message.
    last_counted: Vec<u64>,
    messages_seen: u64,
}

impl PhraseRule {
    /// Build the searcher once. Fails only if the automaton cannot be built (a
    /// phrase list far beyond what this rule is for).
    pub fn new(phrases: &[&str], max_evidence: usize) -> Result<Self, String> {
        let searcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            // Standard semantics: the only kind that reports overlapping matches,
            // so a phrase inside another ("i just said" in "no, i just said") is found too.
            .match_kind(MatchKind::Standard)
            .build(phrases)
            .map_err(|e| format!("cannot build the phrase searcher: {e}"))?;
        Ok(PhraseRule {
            searcher,
            found: phrases
                .iter()
                .map(|p| PhraseCount {
                    phrase: (*p).to_string(),
                    messages: 0,
                    evidence: Vec::new(),
                })
                .collect(),
            max_evidence,
            last_counted: vec![0; phrases.len()],
            messages_seen: 0,
        })
    }

    /// Read one message of interaction `interaction_id`.
    pub fn message(&mut self, interaction_id: &str, role: Role, text: &str) {
        if role != Role::User {
            return;
        }
        self.messages_seen += 1;
        for m in self.searcher.find_overlapping_iter(text) {
            let i = m.pattern().as_usize();
            if self.last_counted[i] == self.messages_seen {
                continue;
            }
            self.last_counted[i] = self.messages_seen;
            let found = &mut self.found[i];
            found.messages += 1;
            // Interactions arrive in order, so a repeat can only be the last one kept.
            if found.evidence.len() < self.max_evidence
                && found.evidence.last().is_none_or(|id| id != interaction_id)
            {
                found.evidence.push(interaction_id.to_string());
            }
        }
    }

    /// The counts of every phrase, in the order of the list (zero counts included).
    pub fn finish(self) -> Vec<PhraseCount> {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_user_messages_once_per_phrase_ignoring_case() {
        let mut rule = PhraseRule::new(&["that's wrong", "wrong"], 2).expect("rule");
        rule.message("a", Role::User, "No, THAT'S WRONG. That's wrong!");
        rule.message("a", Role::Assistant, "that's wrong");
        rule.message("b", Role::User, "wrong again");
        rule.message("c", Role::User, "still wrong");
        let found = rule.finish();
        assert_eq!(found[0].messages, 1);
        assert_eq!(found[0].evidence, ["a"]);
        // The shorter phrase inside the longer one is found too; evidence stops at 2.
        assert_eq!(found[1].messages, 3);
        assert_eq!(found[1].evidence, ["a", "b"]);
    }
}
