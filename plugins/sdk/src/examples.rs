//! The workspace's labelled example datasets (`examples/<name>/`) as a rule
//! receives them, for the built-in rules' native tests: each interaction's
//! messages (system messages with their text), each tool call joined with the
//! `tool` message that answers it (an answer with `"is_error": true` is the
//! call's error), the live prompt, and the interactions the truth file lists
//! for a planted mistake.
//!
//! Behind the `examples` feature, which only rules' dev-dependencies turn
//! on: it reads files and parses JSON, which no rule component needs.

use serde_json::Value as Json;

use crate::{Interaction, Message, Role, ToolCall};

fn path(dataset: &str, file: &str) -> String {
    format!(
        "{}/../../examples/{dataset}/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn records(dataset: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(path(dataset, "interactions.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Json>(line).ok())
        .collect()
}

/// Every interaction of `examples/<dataset>`, in file order (empty when the
/// dataset is missing: a test should assert it has what it needs).
pub fn interactions(dataset: &str) -> Vec<Interaction> {
    records(dataset).iter().map(interaction).collect()
}

/// One logged record as the host hands it to a rule that reads everything.
fn interaction(record: &Json) -> Interaction {
    let logged = record["messages"].as_array().cloned().unwrap_or_default();
    let mut messages = Vec::new();
    let mut tool_calls = Vec::new();
    for (i, m) in logged.iter().enumerate() {
        let role = match m["role"].as_str() {
            Some("system") => Role::System,
            Some("user") => Role::User,
            Some("tool") => Role::Tool,
            _ => Role::Assistant,
        };
        messages.push(Message {
            role,
            content: m["content"].as_str().unwrap_or_default().into(),
            tool_call_id: m["tool_call_id"].as_str().map(str::to_string),
        });
        for call in m["tool_calls"].as_array().into_iter().flatten() {
            let id = call["id"].as_str().unwrap_or_default();
            let error = logged
                .iter()
                .find(|r| r["tool_call_id"].as_str() == Some(id))
                .filter(|r| r["is_error"].as_bool() == Some(true))
                .and_then(|r| r["content"].as_str())
                .map(str::to_string);
            tool_calls.push(ToolCall {
                id: id.to_string(),
                name: call["function"]["name"].as_str().unwrap_or_default().into(),
                arguments: call["function"]["arguments"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                error,
                message_index: i as u32,
            });
        }
    }
    Interaction {
        id: record["id"].as_str().unwrap_or_default().into(),
        session_id: record["session_id"].as_str().map(str::to_string),
        user_id: record["user_id"].as_str().map(str::to_string),
        timestamp_ms: 0,
        config_version: record["config_version"].as_str().map(str::to_string),
        messages,
        tool_calls,
        metadata: "{}".into(),
    }
}

/// The live prompt: the system message of the dataset's first interaction.
pub fn prompt(dataset: &str) -> String {
    records(dataset)
        .first()
        .and_then(|r| r["messages"][0]["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The interactions the dataset's truth file lists for one planted mistake
/// (all of them, traced or not).
pub fn planted(dataset: &str, problem: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path(dataset, "truth.json")).unwrap_or_default();
    let truth: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
    truth["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["id"].as_str() == Some(problem))
        .flat_map(|p| p["interactions"].as_array().cloned().unwrap_or_default())
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect()
}
