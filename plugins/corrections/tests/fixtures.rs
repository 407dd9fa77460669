//! The translated fixture benchmark: the same short conversations, corrections
//! of every kind and replies that correct nothing, written naturally in each
//! language (`tests/fixtures/<language>.json`). The rule must find the
//! corrections as well in every language as in English, and mistake few
//! confirmations, answers or goodbyes for one.
//!
//! Each conversation is a list of turns: `{"user": text}`, `{"agent": text}`,
//! or `{"call": tool, "error": text}` (an agent turn that called a tool,
//! failing when `error` is given). A conversation is a correction when the
//! rule finds one in its last user message.

use std::path::Path;

use corrections::Corrections;
use reverie_rule_sdk::{Interaction, Message, Role, Rule, ToolCall};
use serde_json::Value;

/// The languages of the fixtures; English first, the reference.
const LANGUAGES: &[&str] = &["en", "de", "es", "fr", "it", "pt", "nl"];

/// A translated language must find at least this share of what English finds.
const MIN_RECALL_RATIO: f64 = 0.8;

/// English must find at least this share of its corrections.
const MIN_ENGLISH_RECALL: f64 = 0.8;

/// Replies that correct nothing but are taken for a correction, per language.
const MAX_FALSE_POSITIVES: usize = 2;

struct Conversation {
    id: String,
    correction: bool,
    interaction: Interaction,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn message(role: Role, content: String, tool_call_id: Option<String>) -> Message {
    Message {
        role,
        content,
        tool_call_id,
    }
}

fn conversation(value: &Value, language: &str) -> Conversation {
    let id = text(value, "id").unwrap_or_else(|| panic!("{language}: a conversation has no id"));
    let mut interaction = Interaction {
        id: format!("{language}/{id}"),
        session_id: None,
        user_id: None,
        timestamp_ms: 0,
        config_version: None,
        messages: vec![message(Role::System, String::new(), None)],
        tool_calls: Vec::new(),
        metadata: "{}".into(),
    };
    let turns = value
        .get("turns")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{language}/{id}: no turns"));
    for turn in turns {
        if let Some(content) = text(turn, "user") {
            interaction
                .messages
                .push(message(Role::User, content, None));
        } else if let Some(content) = text(turn, "agent") {
            interaction
                .messages
                .push(message(Role::Assistant, content, None));
        } else if let Some(name) = text(turn, "call") {
            let at = interaction.messages.len();
            let call_id = format!("call_{at}");
            let error = text(turn, "error");
            interaction
                .messages
                .push(message(Role::Assistant, String::new(), None));
            interaction.messages.push(message(
                Role::Tool,
                error.clone().unwrap_or_else(|| "{\"ok\":true}".into()),
                Some(call_id.clone()),
            ));
            interaction.tool_calls.push(ToolCall {
                id: call_id,
                name,
                arguments: "{}".into(),
                error,
                message_index: at as u32,
            });
        } else {
            panic!("{language}/{id}: a turn is neither user, agent nor call: {turn}");
        }
    }
    Conversation {
        id,
        correction: value.get("correction").and_then(Value::as_bool) == Some(true),
        interaction,
    }
}

fn read(language: &str) -> Option<Vec<Conversation>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{language}.json"));
    let raw = std::fs::read_to_string(&path).ok()?;
    let doc: Value =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let list = doc
        .get("conversations")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{}: no conversations", path.display()));
    Some(list.iter().map(|c| conversation(c, language)).collect())
}

/// What the rule made of one language's fixtures.
struct Score {
    language: &'static str,
    corrections: usize,
    found: usize,
    non_corrections: usize,
    false_positives: Vec<String>,
    missed: Vec<String>,
}

impl Score {
    fn recall(&self) -> f64 {
        self.found as f64 / self.corrections.max(1) as f64
    }
}

fn score(language: &'static str, conversations: &[Conversation]) -> Score {
    let rule = match Corrections::new(reverie_rule_sdk::test_context(
        "You help the customers of a company.",
        &[],
    )) {
        Ok(rule) => rule,
        Err(e) => panic!("default settings rejected: {e}"),
    };
    let mut score = Score {
        language,
        corrections: 0,
        found: 0,
        non_corrections: 0,
        false_positives: Vec::new(),
        missed: Vec::new(),
    };
    for c in conversations {
        let last_user = c
            .interaction
            .messages
            .iter()
            .rposition(|m| m.role == Role::User);
        let reason = rule
            .corrections_in(&c.interaction)
            .into_iter()
            .find(|f| Some(f.message) == last_user)
            .map(|f| f.correction.reason);
        let found = reason.is_some();
        match (c.correction, found) {
            (true, true) => {
                score.corrections += 1;
                score.found += 1;
            }
            (true, false) => {
                score.corrections += 1;
                score.missed.push(c.id.clone());
            }
            (false, _) => {
                score.non_corrections += 1;
                if let Some(reason) = reason {
                    score.false_positives.push(format!("{} ({reason})", c.id));
                }
            }
        }
    }
    score
}

#[test]
fn corrections_are_found_as_well_in_every_translated_language_as_in_english() {
    let scores: Vec<Score> = LANGUAGES
        .iter()
        .filter_map(|language| read(language).map(|c| score(language, &c)))
        .collect();
    for s in &scores {
        println!(
            "{}: recall {:.3} ({} of {} corrections), false positives {} of {} replies; missed {:?}; false {:?}",
            s.language,
            s.recall(),
            s.found,
            s.corrections,
            s.false_positives.len(),
            s.non_corrections,
            s.missed,
            s.false_positives
        );
    }
    let english = scores
        .iter()
        .find(|s| s.language == "en")
        .unwrap_or_else(|| panic!("no English fixtures"));
    assert!(
        english.corrections >= 40 && english.non_corrections >= 30,
        "the English fixtures hold too few conversations"
    );
    assert!(
        english.recall() >= MIN_ENGLISH_RECALL,
        "English recall {:.3}",
        english.recall()
    );
    assert!(
        scores.len() >= 3,
        "German and Spanish translations are expected"
    );
    for s in &scores {
        assert_eq!(
            (s.corrections, s.non_corrections),
            (english.corrections, english.non_corrections),
            "{}: not the same conversations as English",
            s.language
        );
        assert!(
            s.recall() >= MIN_RECALL_RATIO * english.recall(),
            "{}: recall {:.3} against English {:.3}",
            s.language,
            s.recall(),
            english.recall()
        );
        assert!(
            s.false_positives.len() <= MAX_FALSE_POSITIVES,
            "{}: false positives {:?}",
            s.language,
            s.false_positives
        );
    }
}
