//! The domain vocabulary (DESIGN §2) as plain Rust types.
//!
//! Everything outside `plugins` speaks these types: the input parser produces
//! them, the cycle feeds them to rules, the merge and the report consume them.
//! Generated WIT types are converted to and from these at the `plugins` edge.
//!
//! It must not know WIT, SQL or HTTP: those convert at their edges. (The
//! `ToSchema` beside `Serialize` on the wire enums describes their JSON for the
//! OpenAPI document; it knows no more of HTTP than `Serialize` does.)

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    pub tool_call_id: Option<String>,
}

/// A tool call joined with its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
    pub error: Option<String>,
    pub message_index: u32,
}

/// One exchange, or a whole session, of the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub id: String,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub timestamp_ms: i64,
    /// The runtime's own label for the config that served it, as logged. On
    /// the server a dream sees the metric key instead (`store::version_key`):
    /// `v3` for a server version, `client:<label>` for a label.
    pub config_version: Option<String>,
    /// The server's config version that served it (`agent_version: "v3"`),
    /// when the runtime got its config from reverie and says so.
    pub agent_version: Option<i64>,
    pub messages: Vec<Message>,
    pub tool_calls: Vec<ToolCall>,
    /// The runtime's free metadata, as JSON object text.
    pub metadata: String,
}

impl Interaction {
    /// The first system message, if any: the prompt that served this interaction.
    pub fn system_prompt(&self) -> Option<&str> {
        self.messages
            .iter()
            .find(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Positive,
    Negative,
    Neutral,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedbackSource {
    Explicit,
    /// Inferred by the named rule.
    Inferred(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub interaction_id: String,
    pub rating: Rating,
    pub comment: Option<String>,
    pub source: FeedbackSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Detect,
    Analyse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingSpec {
    pub name: String,
    pub description: String,
    pub default_value: Option<String>,
}

/// The parts of an interaction a rule reads; the host copies only these into the
/// sandbox (see `inputs` in wit/rules.wit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Inputs {
    pub messages: bool,
    pub system_messages: bool,
    pub tool_calls: bool,
    pub metadata: bool,
}

impl Inputs {
    pub const ALL: Inputs = Inputs {
        messages: true,
        system_messages: true,
        tool_calls: true,
        metadata: true,
    };
}

/// What a rule says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub stages: Vec<Stage>,
    pub inputs: Inputs,
    pub settings: Vec<SettingSpec>,
}

impl RuleInfo {
    pub fn takes_part_in(&self, stage: Stage) -> bool {
        self.stages.contains(&stage)
    }
}

/// What a rule is told when a cycle starts.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleContext {
    pub agent_id: String,
    pub agent_name: String,
    pub system_prompt: String,
    pub config_version: String,
    pub window_start_ms: Option<i64>,
    pub window_end_ms: Option<i64>,
    pub settings: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// A recurring problem, as one rule reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub key: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub occurrences: u32,
    pub evidence: Vec<String>,
}

/// A proposed change to the agent's config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Edit {
    AppendInstruction { text: String },
    ReplaceText { find: String, replacement: String },
    SetSystemPrompt { prompt: String },
    SetSetting { key: String, value: String },
    FlagForReview { note: String },
}

/// The edit as a person reads it, in one line.
impl std::fmt::Display for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Edit::AppendInstruction { text } => write!(f, "append: {text}"),
            Edit::ReplaceText { find, replacement } => {
                write!(f, "replace {find:?} with {replacement:?}")
            }
            Edit::SetSystemPrompt { prompt } => write!(f, "set the system prompt to: {prompt}"),
            Edit::SetSetting { key, value } => write!(f, "set {key} = {value}"),
            Edit::FlagForReview { note } => write!(f, "look at: {note}"),
        }
    }
}

impl Edit {
    /// The report's `action` for this edit: what a webhook receiver acts on.
    pub fn action(&self) -> &'static str {
        match self {
            Edit::AppendInstruction { .. }
            | Edit::ReplaceText { .. }
            | Edit::SetSystemPrompt { .. } => "update_system_prompt",
            Edit::SetSetting { .. } => "update_setting",
            Edit::FlagForReview { .. } => "flag_for_review",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub edit: Edit,
    pub rationale: String,
    pub confidence: f32,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub description: String,
}

/// A problem of the other rules, as a rule that reads them at `finish` sees it
/// (the contract's `window.problems`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProblemBrief {
    pub key: String,
    pub facet_keys: Vec<String>,
    pub title: String,
    pub description: String,
    pub occurrences: u32,
    /// At most [`ProblemBrief::MAX_EVIDENCE`] ids, in window order.
    pub evidence: Vec<String>,
    pub rules: Vec<String>,
    /// The edits proposed for it, as a person reads them.
    pub proposed_edits: Vec<String>,
}

impl ProblemBrief {
    pub const MAX_EVIDENCE: usize = 5_000;
}

/// Everything one rule found in one cycle.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Findings {
    pub patterns: Vec<Pattern>,
    pub suggestions: Vec<Suggestion>,
    pub metrics: Vec<Metric>,
}

/// Feedback a rule inferred during `detect`.
#[derive(Debug, Clone, PartialEq)]
pub struct InferredFeedback {
    pub interaction_id: String,
    pub rating: Rating,
    pub reason: String,
}
