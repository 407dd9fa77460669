//! Where an id could have come from, and whether it did.
//!
//! An id is *known* at a call when its folded form ([`fold`]) is part of
//! something the agent had read by then: the live system prompt, the
//! runtime's user and session ids, an earlier user or system message, or an
//! earlier tool result of a call that succeeded. The agent's own words and
//! its own earlier arguments are no source: an invented id repeated is still
//! invented. A tool message that answers a failed call is no source either:
//! an error that echoes the invented id ("card credit_card_7334 not found")
//! does not make it real.
//!
//! Folding keeps letters and digits only, lowercased, so an id the user typed
//! as `e-44522` is known when the agent sends `E44522`. Each source is folded
//! apart and joined with a space, which no folded id holds, so an id never
//! matches across two messages.

use reverie_rule_sdk::{Interaction, Role};

/// Letters and digits of `text`, lowercased, appended to `out`.
pub fn fold_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
}

/// [`fold_into`] a new string.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// The folded sources of one interaction, in message order, folded only as
/// far as a call asks: most calls come early in a conversation, and folding
/// the rest would be most of this rule's work.
pub struct Sources<'a> {
    interaction: &'a Interaction,
    /// Ids of the calls that failed: their results are no source.
    failed: Vec<&'a str>,
    /// Every source message folded so far, each followed by a space.
    text: String,
    /// `ends[i]`: the length of `text` once messages before `i` are in.
    ends: Vec<usize>,
    /// The runtime's ids, folded, space-separated.
    runtime: String,
}

impl<'a> Sources<'a> {
    pub fn of(interaction: &'a Interaction) -> Sources<'a> {
        // Usually empty: most interactions have no failed call.
        let failed: Vec<&str> = interaction
            .tool_calls
            .iter()
            .filter(|c| c.error.is_some())
            .map(|c| c.id.as_str())
            .collect();
        let mut runtime = String::new();
        for id in [&interaction.user_id, &interaction.session_id]
            .into_iter()
            .flatten()
        {
            fold_into(id, &mut runtime);
            runtime.push(' ');
        }
        Sources {
            interaction,
            failed,
            text: String::new(),
            ends: vec![0],
            runtime,
        }
    }

    /// Fold the messages before `index` that are not folded yet.
    fn fold_up_to(&mut self, index: usize) {
        let messages = &self.interaction.messages;
        let upto = index.min(messages.len());
        while self.ends.len() <= upto {
            let message = &messages[self.ends.len() - 1];
            let source = match message.role {
                Role::User | Role::System => true,
                Role::Assistant => false,
                // A result is a source unless it answers a call that failed.
                Role::Tool => message
                    .tool_call_id
                    .as_deref()
                    .is_none_or(|id| !self.failed.contains(&id)),
            };
            if source && !message.content.is_empty() {
                fold_into(&message.content, &mut self.text);
                self.text.push(' ');
            }
            self.ends.push(self.text.len());
        }
    }

    /// Whether the folded id was in a source before message `index`, or is
    /// one of the runtime's ids. Past the last message, every message counts.
    pub fn knows(&mut self, folded: &str, index: u32) -> bool {
        if self.runtime.contains(folded) {
            return true;
        }
        let index = (index as usize).min(self.interaction.messages.len());
        self.fold_up_to(index);
        self.text[..self.ends[index]].contains(folded)
    }
}
