//! Negative conversations that no problem of the report covers, read by the
//! model in one call: it sorts a sample of them into a fixed list of
//! categories ([`CATEGORIES`]) and, for each category holding at least
//! `min_group` of them, gives a root cause and an edit.
//!
//! The answer is checked part by part: an assignment naming a conversation
//! not sent, or a category not in the list, is dropped; a category whose root
//! cause is missing is dropped; a category whose edit fails
//! [`crate::edit::check`] keeps its pattern (the conversations and the cause
//! are still worth reporting) without a suggestion. Each dropped part is a
//! problem of the answer, logged and, once, sent back for repair.

use reverie_rule_sdk::Edit;
use serde::Deserialize;

use crate::edit::{RawEdit, Shown, check};
use crate::reflect::{confidence, root_cause};
use reverie_rule_sdk::llm::answer::json_text;

/// The categories, with what each means (as the model reads it).
pub const CATEGORIES: &[(&str, &str)] = &[
    (
        "wrong-fact",
        "stated something false or made up, or not backed by its tools or instructions",
    ),
    (
        "wrong-action",
        "did the wrong thing: a wrong tool, wrong arguments, or an action nobody asked for",
    ),
    (
        "ignored-instruction",
        "did not follow its system prompt or an explicit request of the user",
    ),
    (
        "wrong-language-or-format",
        "answered in the wrong language, tone, length or format",
    ),
    (
        "needless-handover",
        "handed over to a person, refused or gave up when it could have helped",
    ),
    (
        "incomplete-answer",
        "answered only part of the request, or stopped before the task was done",
    ),
    (
        "other",
        "made a mistake that fits none of the categories above",
    ),
];

/// The prompt (`prompts/unexplained.md`).
pub const PROMPT: &str = include_str!("../prompts/unexplained.md");
/// The answer's schema (`prompts/unexplained.schema.json`).
pub const SCHEMA: &str = include_str!("../prompts/unexplained.schema.json");
/// Where in [`SCHEMA`] the ids sent are listed as the only ones an assignment may name.
pub const ID_POINTER: &str = "/properties/assignments/items/properties/id";

#[derive(Debug, Deserialize)]
struct Raw {
    assignments: Vec<RawAssignment>,
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
struct RawAssignment {
    id: String,
    category: String,
}

#[derive(Debug, Deserialize)]
struct RawGroup {
    category: String,
    root_cause: String,
    edit: RawEdit,
    confidence: f64,
}

/// One category of the answer, with enough conversations.
#[derive(Debug, Clone)]
pub struct Group {
    pub category: &'static str,
    /// The labels assigned to it, in the order sent.
    pub labels: Vec<String>,
    pub root_cause: String,
    pub confidence: f32,
    /// The edit, or why it was rejected.
    pub edit: Result<Edit, String>,
}

/// A read answer: the groups that stand, and what was wrong with the rest.
#[derive(Debug, Clone)]
pub struct Reading {
    pub groups: Vec<Group>,
    pub problems: Vec<String>,
}

impl Reading {
    /// Groups with an edit that passed.
    pub fn edits(&self) -> usize {
        self.groups.iter().filter(|g| g.edit.is_ok()).count()
    }
}

/// The category list as the prompt shows it, one per line.
pub fn category_list() -> String {
    CATEGORIES
        .iter()
        .map(|(name, meaning)| format!("- {name}: {meaning}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "wrong-language-or-format" → "Wrong language or format".
pub fn label(category: &str) -> String {
    let words = category.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// The groups in an answer's `text`, or why the whole answer is rejected.
pub fn read(
    text: &str,
    truncated: bool,
    shown: &Shown<'_>,
    min_group: usize,
) -> Result<Reading, String> {
    if truncated {
        return Err("cut off at the output token limit".to_string());
    }
    let raw: Raw = serde_json::from_str(json_text(text))
        .map_err(|e| format!("not the JSON asked for: {e}"))?;
    let mut problems = Vec::new();
    // Each conversation sent, with the category it was first given.
    let mut assigned: Vec<Option<&'static str>> = vec![None; shown.labels.len()];
    for a in &raw.assignments {
        let Some(i) = shown.labels.iter().position(|l| l == a.id.trim()) else {
            problems.push(format!(
                "assignment names {:?}, which was not sent",
                reverie_rule_sdk::text::truncate(&a.id, 40)
            ));
            continue;
        };
        let Some(category) = category(&a.category) else {
            problems.push(format!(
                "category {:?} is not in the list",
                reverie_rule_sdk::text::truncate(&a.category, 40)
            ));
            continue;
        };
        if assigned[i].is_none() {
            assigned[i] = Some(category);
        }
    }
    if assigned.iter().all(Option::is_none) {
        return Err(match problems.first() {
            Some(p) => format!("no valid assignment ({p})"),
            None => "no conversation was given a category".to_string(),
        });
    }
    let mut groups = Vec::new();
    for (name, _) in CATEGORIES {
        let labels: Vec<String> = shown
            .labels
            .iter()
            .zip(&assigned)
            .filter(|(_, c)| **c == Some(*name))
            .map(|(l, _)| l.clone())
            .collect();
        if labels.len() < min_group {
            continue;
        }
        let Some(g) = raw
            .groups
            .iter()
            .find(|g| category(&g.category) == Some(*name))
        else {
            problems.push(format!(
                "{name}: {} conversations but no root cause and edit",
                labels.len()
            ));
            continue;
        };
        let (root_cause, confidence) = match (root_cause(&g.root_cause), confidence(g.confidence)) {
            (Ok(r), Ok(c)) => (r, c),
            (Err(e), _) | (_, Err(e)) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let edit = check(&g.edit, shown);
        if let Err(e) = &edit {
            problems.push(format!("{name}: {e}"));
        }
        groups.push(Group {
            category: name,
            labels,
            root_cause,
            confidence,
            edit,
        });
    }
    Ok(Reading { groups, problems })
}

/// The listed category `text` names, if any.
fn category(text: &str) -> Option<&'static str> {
    let t = text.trim();
    CATEGORIES.iter().map(|(n, _)| *n).find(|n| *n == t)
}
