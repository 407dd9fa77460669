//! The JSONL records reverie reads, and a builder for conversations.
//!
//! These types mirror the input format documented in `examples/README.md`
//! field for field: optional fields are omitted, never written as `null`.
//! Strings that repeat on every line (the system prompt, roles) are borrowed,
//! so writing a million interactions allocates little.

use std::borrow::Cow;

use serde::Serialize;

/// One line of `interactions.jsonl`.
#[derive(Serialize)]
pub struct InteractionRecord<'a> {
    pub id: &'a str,
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub timestamp: &'a str,
    pub config_version: &'a str,
    pub messages: &'a [Message],
    pub metadata: Metadata,
}

/// Free metadata from the "runtime".
#[derive(Serialize)]
pub struct Metadata {
    pub channel: &'static str,
    pub locale: &'static str,
}

/// One line of `feedback.jsonl`.
#[derive(Serialize)]
pub struct FeedbackRecord<'a> {
    pub interaction_id: &'a str,
    pub rating: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<&'a str>,
    pub timestamp: &'a str,
}

/// A message, in the OpenAI chat shape.
#[derive(Serialize, Debug, Clone)]
pub struct Message {
    pub role: &'static str,
    pub content: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: Function,
}

#[derive(Serialize, Debug, Clone)]
pub struct Function {
    pub name: &'static str,
    /// JSON text, as OpenAI sends it.
    pub arguments: String,
}

/// Builds one conversation's messages in order.
#[derive(Debug, Default)]
pub struct Conversation {
    pub messages: Vec<Message>,
    calls: u32,
}

impl Conversation {
    pub fn new(system_prompt: &'static str) -> Self {
        let mut conversation = Self::default();
        conversation.push("system", Cow::Borrowed(system_prompt));
        conversation
    }

    fn push(&mut self, role: &'static str, content: Cow<'static, str>) {
        self.messages.push(Message {
            role,
            content,
            tool_calls: None,
            tool_call_id: None,
            is_error: None,
        });
    }

    pub fn user(&mut self, text: impl Into<String>) {
        self.push("user", Cow::Owned(text.into()));
    }

    pub fn assistant(&mut self, text: impl Into<String>) {
        self.push("assistant", Cow::Owned(text.into()));
    }

    /// The assistant calls `name` with `arguments` (a JSON value), optionally
    /// saying something first; returns the call id for the result.
    pub fn call(
        &mut self,
        preamble: &str,
        name: &'static str,
        arguments: serde_json::Value,
    ) -> String {
        self.calls += 1;
        let id = format!("call_{}", self.calls);
        self.messages.push(Message {
            role: "assistant",
            content: Cow::Owned(preamble.to_string()),
            tool_calls: Some(vec![ToolCall {
                id: id.clone(),
                kind: "function",
                function: Function {
                    name,
                    arguments: arguments.to_string(),
                },
            }]),
            tool_call_id: None,
            is_error: None,
        });
        id
    }

    /// A successful tool result (a JSON value, sent as text).
    pub fn tool_ok(&mut self, call_id: String, result: serde_json::Value) {
        self.messages.push(Message {
            role: "tool",
            content: Cow::Owned(result.to_string()),
            tool_calls: None,
            tool_call_id: Some(call_id),
            is_error: None,
        });
    }

    /// Whether any tool call in the conversation so far failed.
    pub fn has_failed_call(&self) -> bool {
        self.messages.iter().any(|m| m.is_error == Some(true))
    }

    /// A failed tool call: the content is the error text.
    pub fn tool_error(&mut self, call_id: String, error: String) {
        self.messages.push(Message {
            role: "tool",
            content: Cow::Owned(error),
            tool_calls: None,
            tool_call_id: Some(call_id),
            is_error: Some(true),
        });
    }
}
