//! What a corrected answer stood on: the tool call it relied on, the argument
//! that carried a value the user gave, and the fact of the live prompt that the
//! user's correction restores.
//!
//! These are the structural anchors a fix can name: a tool in backticks, an
//! argument in backticks, a prompt sentence in quotes. They come from the data
//! and the prompt, never from words in this code, so a fix fits whatever domain
//! the agent works in. Tallies are bounded: at most [`MAX_TOOLS`] tool names per
//! correction kind, [`MAX_VALUES`] fields per tool and wrong figures per prompt
//! sentence; past that, new names are counted under no name (they weaken a
//! dominance share, never strengthen one).

use std::collections::BTreeMap;

use reverie_rule_sdk::{Interaction, Role, ToolCall, text};

use crate::figure::{self, Stated};

/// Distinct tool names tallied per correction kind.
pub const MAX_TOOLS: usize = 256;

/// Distinct argument fields per tool, or wrong figures per prompt sentence.
pub const MAX_VALUES: usize = 32;

/// An argument value shorter than this (after normalising) is not matched with
/// what the user wrote: a `1` or `en` would be found in almost any message.
const MIN_VALUE_CHARS: usize = 3;

/// The call the corrected answer relied on: the last tool call of the agent's
/// turn, made at or before the corrected message. Calls from earlier turns are
/// left out: the user reacted to this turn's answer, and a lookup three turns
/// back says little about it.
pub fn relied_on(interaction: &Interaction, answer: usize) -> Option<&ToolCall> {
    let turn_start = interaction.messages[..answer.min(interaction.messages.len())]
        .iter()
        .rposition(|m| m.role == Role::User);
    interaction.tool_calls.iter().rfind(|call| {
        let at = call.message_index as usize;
        at <= answer && turn_start.is_none_or(|user| at > user)
    })
}

/// The argument of `call` whose value the user had written before the call
/// (`"order_id": "#48213"` after "my order is 48213"), if any: the field a fix
/// can name when the agent asks for a value it already had.
pub fn user_given_field(interaction: &Interaction, call: &ToolCall) -> Option<String> {
    let said: Vec<String> = interaction
        .messages
        .iter()
        .take(call.message_index as usize)
        .filter(|m| m.role == Role::User)
        .map(|m| format!(" {} ", text::normalise(&m.content)))
        .collect();
    top_level_fields(&call.arguments)
        .into_iter()
        .find(|(_, value)| {
            let value = text::normalise(value);
            value.chars().count() >= MIN_VALUE_CHARS
                && said.iter().any(|m| m.contains(&format!(" {value} ")))
        })
        .map(|(key, _)| key)
}

/// The top-level `"key": value` pairs of a JSON object's text, values as text
/// (strings unescaped, numbers and literals as written; objects and arrays are
/// skipped). Tool arguments are model output: anything that is not an object
/// gives no fields rather than an error.
pub fn top_level_fields(json: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut chars = json.trim().chars().peekable();
    if chars.next() != Some('{') {
        return fields;
    }
    loop {
        skip_space(&mut chars);
        match chars.next() {
            Some('"') => {}
            _ => return fields,
        }
        let Some(key) = string_body(&mut chars) else {
            return fields;
        };
        skip_space(&mut chars);
        if chars.next() != Some(':') {
            return fields;
        }
        skip_space(&mut chars);
        match chars.peek() {
            Some('"') => {
                chars.next();
                let Some(value) = string_body(&mut chars) else {
                    return fields;
                };
                fields.push((key, value));
            }
            Some('{') | Some('[') => skip_nested(&mut chars),
            Some(_) => {
                let mut value = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '}' || c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                fields.push((key, value));
            }
            None => return fields,
        }
        skip_space(&mut chars);
        match chars.next() {
            Some(',') => continue,
            _ => return fields,
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_space(chars: &mut Chars) {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
}

/// The rest of a JSON string after its opening quote, unescaped; `None` if it never closes.
fn string_body(chars: &mut Chars) -> Option<String> {
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).ok()?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Skip one object or array, strings inside included.
fn skip_nested(chars: &mut Chars) {
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
            '"' if string_body(chars).is_none() => return,
            _ => {}
        }
    }
}

/// The live prompt's sentences that state figures with a unit.
pub struct PromptFacts {
    sentences: Vec<(String, Vec<Stated>)>,
}

/// What a contradicted answer got wrong about the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactAtStake {
    /// Index of the prompt sentence, in [`PromptFacts::sentence`].
    pub sentence: usize,
    /// The figure the agent gave instead, as it wrote it (`"30 days"`).
    pub wrong: String,
}

impl PromptFacts {
    pub fn new(prompt: &str) -> Self {
        let sentences = text::sentences(prompt)
            .into_iter()
            .filter_map(|sentence| {
                // A figure without a unit (a date, a list number) is too weak to
                // tie a user's number to: "19" could be anything.
                let facts: Vec<Stated> = figure::stated(sentence)
                    .into_iter()
                    .filter(|f| !f.units.is_empty())
                    .collect();
                (!facts.is_empty()).then(|| (sentence.to_string(), facts))
            })
            .collect();
        PromptFacts { sentences }
    }

    /// The sentence, exactly as the prompt has it.
    pub fn sentence(&self, index: usize) -> Option<&str> {
        self.sentences.get(index).map(|(s, _)| s.as_str())
    }

    /// Each sentence with its index and the figures with a unit it states.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &str, &[Stated])> {
        self.sentences
            .iter()
            .enumerate()
            .map(|(index, (sentence, facts))| (index, sentence.as_str(), facts.as_slice()))
    }

    /// How many sentences state a figure with a unit.
    pub fn len(&self) -> usize {
        self.sentences.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// The prompt fact a correction restores: the user's message gives a
    /// figure (in digits or words) that a prompt sentence states (same number;
    /// same unit, see [`figure::same_unit`], or the user gave none), and the
    /// corrected answer stated a different number in that unit. `None` when the
    /// correction is not about a figure of the prompt.
    pub fn at_stake(&self, correcting: &str, corrected: &str) -> Option<FactAtStake> {
        let given = figure::stated(correcting);
        let answered = figure::stated(corrected);
        for user in &given {
            for (index, (_, facts)) in self.sentences.iter().enumerate() {
                for fact in facts {
                    if user.number != fact.number
                        || (!user.units.is_empty() && !figure::same_unit(user, fact))
                    {
                        continue;
                    }
                    let wrong = answered
                        .iter()
                        .find(|a| a.number != fact.number && figure::same_unit(a, fact));
                    if let Some(wrong) = wrong {
                        return Some(FactAtStake {
                            sentence: index,
                            wrong: wrong.shown_like(fact).to_string(),
                        });
                    }
                }
            }
        }
        None
    }
}

/// How often each tool was the one a correction kind's answers relied on.
#[derive(Default)]
pub struct ToolTally {
    tools: BTreeMap<String, ToolStats>,
    /// Corrections whose tool could not be tallied (past [`MAX_TOOLS`]).
    untallied: u64,
}

/// One tool's share of a correction kind.
#[derive(Default, Clone, Debug, PartialEq)]
pub struct ToolStats {
    /// Corrected interactions whose answer relied on this tool.
    pub interactions: u64,
    /// Of those, how many had the call fail.
    pub failed: u64,
    /// Argument field → interactions where it carried a value the user gave.
    pub fields: BTreeMap<String, u64>,
}

impl ToolTally {
    pub fn record(&mut self, call: &ToolCall, field: Option<String>) {
        if !self.tools.contains_key(&call.name) && self.tools.len() >= MAX_TOOLS {
            self.untallied += 1;
            return;
        }
        let stats = self.tools.entry(call.name.clone()).or_default();
        stats.interactions += 1;
        if call.error.is_some() {
            stats.failed += 1;
        }
        if let Some(field) = field
            && (stats.fields.contains_key(&field) || stats.fields.len() < MAX_VALUES)
        {
            *stats.fields.entry(field).or_default() += 1;
        }
    }

    /// Corrections whose tool was not tallied because [`MAX_TOOLS`] names were.
    pub fn untallied(&self) -> u64 {
        self.untallied
    }

    /// The tool most answers relied on (ties to the first name), with its stats.
    pub fn leader(&self) -> Option<(&str, &ToolStats)> {
        self.ranked().into_iter().next()
    }

    /// The tool second to the [`leader`](Self::leader), with its stats.
    pub fn runner_up(&self) -> Option<(&str, &ToolStats)> {
        self.ranked().into_iter().nth(1)
    }

    /// Tools by interactions, most first; ties in name order.
    fn ranked(&self) -> Vec<(&str, &ToolStats)> {
        let mut ranked: Vec<(&str, &ToolStats)> =
            self.tools.iter().map(|(n, s)| (n.as_str(), s)).collect();
        ranked.sort_by(|a, b| b.1.interactions.cmp(&a.1.interactions).then(a.0.cmp(b.0)));
        ranked
    }
}

impl ToolStats {
    /// The field that most often carried a value the user gave, with its count.
    pub fn leading_field(&self) -> Option<(&str, u64)> {
        let mut best: Option<(&str, u64)> = None;
        for (field, count) in &self.fields {
            if best.is_none_or(|(_, b)| *count > b) {
                best = Some((field, *count));
            }
        }
        best
    }
}

/// How often each prompt sentence was the fact a contradiction restored.
#[derive(Default)]
pub struct FactTally {
    sentences: BTreeMap<usize, SentenceTally>,
}

/// One prompt sentence's contradictions.
#[derive(Default)]
struct SentenceTally {
    interactions: u64,
    /// Wrong figure, lowercase → (times given, as first written).
    wrong: BTreeMap<String, (u64, String)>,
}

/// The best-supported prompt sentence of a kind.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadingFact {
    pub sentence: usize,
    pub interactions: u64,
    /// The wrong figure the agent gave most often, as it wrote it.
    pub wrong: String,
}

impl FactTally {
    pub fn record(&mut self, at_stake: FactAtStake) {
        let tally = self.sentences.entry(at_stake.sentence).or_default();
        tally.interactions += 1;
        let key = at_stake.wrong.to_lowercase();
        if let Some((n, _)) = tally.wrong.get_mut(&key) {
            *n += 1;
        } else if tally.wrong.len() < MAX_VALUES {
            tally.wrong.insert(key, (1, at_stake.wrong));
        }
    }

    pub fn leader(&self) -> Option<LeadingFact> {
        let mut best: Option<LeadingFact> = None;
        for (sentence, tally) in &self.sentences {
            if best
                .as_ref()
                .is_some_and(|b| tally.interactions <= b.interactions)
            {
                continue;
            }
            let mut top: Option<&(u64, String)> = None;
            for candidate in tally.wrong.values() {
                if top.is_none_or(|t| candidate.0 > t.0) {
                    top = Some(candidate);
                }
            }
            if let Some((_, written)) = top {
                best = Some(LeadingFact {
                    sentence: *sentence,
                    interactions: tally.interactions,
                    wrong: written.clone(),
                });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reverie_rule_sdk::Message;

    fn message(role: Role, content: &str) -> Message {
        Message {
            role,
            content: content.into(),
            tool_call_id: None,
        }
    }

    fn call(name: &str, arguments: &str, error: Option<&str>, at: u32) -> ToolCall {
        ToolCall {
            id: format!("call_{at}"),
            name: name.into(),
            arguments: arguments.into(),
            error: error.map(str::to_string),
            message_index: at,
        }
    }

    #[test]
    fn the_call_an_answer_relied_on_is_the_last_of_its_turn() {
        let interaction = Interaction {
            id: "i".into(),
            session_id: None,
            user_id: None,
            timestamp_ms: 0,
            config_version: None,
            messages: vec![
                message(Role::System, ""),
                message(Role::User, "Is seat 12A free on flight LX 318?"),
                message(Role::Assistant, ""),
                message(Role::Tool, "{\"free\":true}"),
                message(Role::Assistant, "Yes, 12A is free."),
                message(Role::User, "And the return flight, reference QX7P2?"),
                message(Role::Assistant, ""),
                message(Role::Tool, "bad reference"),
                message(Role::Assistant, "Could you give me your booking reference?"),
                message(Role::User, "Thanks"),
                message(Role::Assistant, "Anything else?"),
            ],
            tool_calls: vec![
                call("seat_map", "{\"flight\":\"LX 318\"}", None, 2),
                call(
                    "find_booking",
                    "{\"reference\": \"qx7p2\", \"passengers\": [1, 2], \"strict\": true}",
                    Some("bad reference"),
                    6,
                ),
            ],
            metadata: "{}".into(),
        };
        let first = relied_on(&interaction, 4).map(|c| c.name.as_str());
        assert_eq!(first, Some("seat_map"));
        let second = relied_on(&interaction, 8);
        assert_eq!(second.map(|c| c.name.as_str()), Some("find_booking"));
        // The last answer's turn made no call: the earlier turns' calls do not count.
        assert!(relied_on(&interaction, 10).is_none());
        // The user gave the reference the tool was called with.
        let field = second.and_then(|c| user_given_field(&interaction, c));
        assert_eq!(field.as_deref(), Some("reference"));
        assert_eq!(
            relied_on(&interaction, 4).and_then(|c| user_given_field(&interaction, c)),
            Some("flight".to_string())
        );
    }

    #[test]
    fn argument_text_that_is_not_a_json_object_gives_no_fields() {
        assert!(top_level_fields("not json").is_empty());
        assert!(top_level_fields("[1, 2]").is_empty());
        assert_eq!(
            top_level_fields(r#"{"q": "say \"hi\"\u00e9", "n": 3, "f": {"a": "}"}, "z": null}"#),
            [
                ("q".to_string(), "say \"hi\"é".to_string()),
                ("n".to_string(), "3".to_string()),
                ("z".to_string(), "null".to_string()),
            ]
        );
        // Cut off mid-way: what was read before still counts.
        assert_eq!(top_level_fields(r#"{"a": "b", "c": "#).len(), 1);
    }

    #[test]
    fn a_correction_restoring_a_prompt_figure_points_at_its_sentence() {
        let facts = PromptFacts::new(
            "You are Trail.\n- Returns are accepted within 14 days of delivery. Shipping is free over $75.\n- Refunds take 5-7 business days.",
        );
        assert_eq!(facts.len(), 3);
        let found = facts.at_stake(
            "No, that's wrong, your site says 14 days",
            "You can return it within 30 days, order 48213 shipped on October 19.",
        );
        assert_eq!(
            found,
            Some(FactAtStake {
                sentence: 0,
                wrong: "30 days".into()
            })
        );
        assert_eq!(
            facts.sentence(0),
            Some("Returns are accepted within 14 days of delivery.")
        );
        // A bare number counts when the answer used the prompt's unit.
        assert!(facts.at_stake("it's 14!", "Returns: 30 days.").is_some());
        // A currency figure.
        let shipping = facts.at_stake("that's wrong, it's free over $75", "Free over $50.");
        assert_eq!(shipping.map(|f| f.wrong), Some("$50".to_string()));
        // The answer gave the same figure, or none in that unit: nothing at stake.
        assert_eq!(facts.at_stake("it's 14 days", "It is 14 days."), None);
        assert_eq!(facts.at_stake("it's 14 days", "Call us at 30."), None);
        // The user's figure is not the prompt's.
        assert_eq!(facts.at_stake("it's 21 days", "It is 30 days."), None);
    }

    #[test]
    fn the_prompt_fact_is_found_in_german_with_inflected_units() {
        let facts = PromptFacts::new(
            "Du bist der Kundendienst.\n- Rücksendungen werden innerhalb von 14 Tagen nach Lieferung angenommen.",
        );
        let found = facts.at_stake(
            "Nein, das stimmt nicht, es sind 14 Tage!",
            "Sie können den Artikel innerhalb von 30 Tagen zurückschicken.",
        );
        assert_eq!(
            found,
            Some(FactAtStake {
                sentence: 0,
                wrong: "30 Tagen".into()
            })
        );
        assert_eq!(
            facts.sentence(0),
            Some("Rücksendungen werden innerhalb von 14 Tagen nach Lieferung angenommen.")
        );
    }

    #[test]
    fn tallies_lead_with_the_most_supported_tool_and_sentence() {
        let mut tools = ToolTally::default();
        for i in 0..5 {
            let error = (i < 4).then_some("rejected");
            tools.record(
                &call("find_booking", "{}", error, 1),
                Some("reference".into()),
            );
        }
        tools.record(&call("seat_map", "{}", None, 1), None);
        let (name, stats) = match tools.leader() {
            Some(leader) => leader,
            None => panic!("no leader"),
        };
        assert_eq!(name, "find_booking");
        assert_eq!((stats.interactions, stats.failed), (5, 4));
        assert_eq!(stats.leading_field(), Some(("reference", 5)));

        let mut facts = FactTally::default();
        for wrong in ["30 days", "30 Days", "60 days"] {
            facts.record(FactAtStake {
                sentence: 3,
                wrong: wrong.into(),
            });
        }
        facts.record(FactAtStake {
            sentence: 1,
            wrong: "$50".into(),
        });
        assert_eq!(
            facts.leader(),
            Some(LeadingFact {
                sentence: 3,
                interactions: 3,
                wrong: "30 days".into()
            })
        );
    }

    #[test]
    fn tool_names_past_the_cap_are_not_tallied() {
        let mut tools = ToolTally::default();
        for i in 0..MAX_TOOLS + 10 {
            tools.record(&call(&format!("tool_{i}"), "{}", None, 1), None);
        }
        assert_eq!(tools.tools.len(), MAX_TOOLS);
        assert_eq!(tools.untallied, 10);
    }
}
