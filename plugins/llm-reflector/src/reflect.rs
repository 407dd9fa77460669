//! One problem of the report, read by the model: the request (the live
//! prompt, the problem, the worst kept conversations that show it) and the
//! checks its answer passes before it becomes a suggestion.
//!
//! The answer must be complete JSON of `prompts/reflect.schema.json`, give a
//! root cause, a confidence between 0 and 1, evidence among the conversations
//! sent (at least one), and an edit that passes [`crate::edit::check`].

use reverie_rule_sdk::Edit;
use serde::Deserialize;

use crate::edit::{RawEdit, Shown, check};
use reverie_rule_sdk::llm::answer::{json_text, one_line};

/// The prompt (`prompts/reflect.md`).
pub const PROMPT: &str = include_str!("../prompts/reflect.md");
/// The answer's schema (`prompts/reflect.schema.json`).
pub const SCHEMA: &str = include_str!("../prompts/reflect.schema.json");
/// Where in [`SCHEMA`] the ids sent are listed as the only evidence allowed.
pub const EVIDENCE_POINTER: &str = "/properties/evidence/items";
/// Longest root cause kept, in characters: one or two sentences.
pub const MAX_ROOT_CAUSE_CHARS: usize = 400;

/// The answer as the schema shapes it.
#[derive(Debug, Deserialize)]
struct Raw {
    root_cause: String,
    edit: RawEdit,
    confidence: f64,
    evidence: Vec<String>,
}

/// A validated answer.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub root_cause: String,
    pub edit: Edit,
    /// The model's, in [0, 1].
    pub confidence: f32,
    /// The labels of the conversations it named, each once, as sent.
    pub evidence: Vec<String>,
}

/// The diagnosis in an answer's `text`, or why it is rejected.
pub fn read(text: &str, truncated: bool, shown: &Shown<'_>) -> Result<Diagnosis, String> {
    if truncated {
        return Err("cut off at the output token limit".to_string());
    }
    let raw: Raw = serde_json::from_str(json_text(text))
        .map_err(|e| format!("not the JSON asked for: {e}"))?;
    let root_cause = root_cause(&raw.root_cause)?;
    let confidence = confidence(raw.confidence)?;
    let evidence = evidence(&raw.evidence, &shown.labels)?;
    let edit = check(&raw.edit, shown)?;
    Ok(Diagnosis {
        root_cause,
        edit,
        confidence,
        evidence,
    })
}

/// A root cause squeezed to one line, bounded; empty is an error.
pub fn root_cause(text: &str) -> Result<String, String> {
    let line = one_line(text);
    if line.is_empty() {
        return Err("empty root cause".to_string());
    }
    Ok(reverie_rule_sdk::text::truncate(
        &line,
        MAX_ROOT_CAUSE_CHARS,
    ))
}

/// A confidence, which must be a number from 0 to 1.
pub fn confidence(value: f64) -> Result<f32, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value as f32)
    } else {
        Err(format!("confidence {value} is not between 0 and 1"))
    }
}

/// The evidence labels, each once, all among `sent`, at least one.
fn evidence(named: &[String], sent: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for label in named {
        let label = label.trim();
        if !sent.iter().any(|s| s == label) {
            return Err(format!(
                "evidence names {:?}, which was not sent (sent: {})",
                reverie_rule_sdk::text::truncate(label, 40),
                sent.join(", ")
            ));
        }
        if !out.iter().any(|o| o == label) {
            out.push(label.to_string());
        }
    }
    if out.is_empty() {
        return Err("no evidence: name the conversations that show the cause".to_string());
    }
    Ok(out)
}
