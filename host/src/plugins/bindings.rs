//! The one `bindgen!` for the `reverie:rules` world, and the conversions between
//! its generated types and the domain types of [`crate::model`].
//!
//! Nothing outside `plugins` sees a generated type: everything crossing this file
//! is converted here, in one direction or the other.
//!
//! It must not hold logic beyond the conversions.

use crate::model;

/// The generated code, in a module of its own: `bindgen!` names a module after the
/// WIT package (`reverie`), which would otherwise clash with this crate's own name
/// wherever both are in scope (rustdoc's doctests, for one).
pub mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        // The superset world: the host offers the model to every rule, and
        // links it only for those with a grant (`plugins::check_grant`).
        world: "llm-rule-world",
    });
}

use crate::llm;
pub use generated::reverie::rules::llm as wit_llm;
pub use generated::reverie::rules::log::Level;
pub use generated::reverie::rules::types as wit;
pub use generated::reverie::rules::window::ProblemBrief as WitProblemBrief;
pub use generated::{LlmRuleWorld as RuleWorld, LlmRuleWorldPre as RuleWorldPre};

// ---- host → guest ---------------------------------------------------------------------

fn role(r: model::Role) -> wit::Role {
    match r {
        model::Role::System => wit::Role::System,
        model::Role::User => wit::Role::User,
        model::Role::Assistant => wit::Role::Assistant,
        model::Role::Tool => wit::Role::Tool,
    }
}

pub fn rating(r: model::Rating) -> wit::Rating {
    match r {
        model::Rating::Positive => wit::Rating::Positive,
        model::Rating::Negative => wit::Rating::Negative,
        model::Rating::Neutral => wit::Rating::Neutral,
    }
}

/// An interaction with only the parts in `inputs` (the others empty, per the contract).
pub fn interaction(i: &model::Interaction, inputs: model::Inputs) -> wit::Interaction {
    let messages = if inputs.messages {
        i.messages
            .iter()
            .map(|m| wit::Message {
                role: role(m.role),
                content: if m.role == model::Role::System && !inputs.system_messages {
                    String::new()
                } else {
                    m.content.clone()
                },
                tool_call_id: m.tool_call_id.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let tool_calls = if inputs.tool_calls {
        i.tool_calls
            .iter()
            .map(|c| wit::ToolCall {
                id: c.id.clone(),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
                error: c.error.clone(),
                message_index: c.message_index,
            })
            .collect()
    } else {
        Vec::new()
    };
    wit::Interaction {
        id: i.id.clone(),
        session_id: i.session_id.clone(),
        user_id: i.user_id.clone(),
        timestamp_ms: i.timestamp_ms,
        config_version: i.config_version.clone(),
        messages,
        tool_calls,
        metadata: if inputs.metadata {
            i.metadata.clone()
        } else {
            "{}".to_string()
        },
    }
}

pub fn feedback(f: &model::Feedback) -> wit::Feedback {
    wit::Feedback {
        interaction_id: f.interaction_id.clone(),
        rating: rating(f.rating),
        comment: f.comment.clone(),
        source: match &f.source {
            model::FeedbackSource::Explicit => wit::FeedbackSource::Explicit,
            model::FeedbackSource::Inferred(rule) => wit::FeedbackSource::Inferred(rule.clone()),
        },
    }
}

pub fn context(c: &model::CycleContext) -> wit::CycleContext {
    wit::CycleContext {
        agent_id: c.agent_id.clone(),
        agent_name: c.agent_name.clone(),
        system_prompt: c.system_prompt.clone(),
        config_version: c.config_version.clone(),
        window_start_ms: c.window_start_ms,
        window_end_ms: c.window_end_ms,
        settings: c.settings.clone(),
    }
}

pub fn problem_brief(p: &model::ProblemBrief) -> WitProblemBrief {
    WitProblemBrief {
        key: p.key.clone(),
        facet_keys: p.facet_keys.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        occurrences: p.occurrences,
        evidence: p.evidence.clone(),
        rules: p.rules.clone(),
        proposed_edits: p.proposed_edits.clone(),
    }
}

pub fn chat_answer(a: llm::ChatAnswer) -> wit_llm::ChatResponse {
    wit_llm::ChatResponse {
        text: a.text,
        usage: usage(a.usage),
        truncated: a.truncated,
    }
}

pub fn embed_answer(a: llm::EmbedAnswer) -> wit_llm::Embeddings {
    wit_llm::Embeddings {
        vectors: a.vectors,
        usage: usage(a.usage),
    }
}

fn usage(u: llm::Usage) -> wit_llm::Usage {
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    wit_llm::Usage {
        input_tokens: clamp(u.input_tokens),
        output_tokens: clamp(u.output_tokens),
    }
}

pub fn llm_error(e: llm::CallError) -> wit_llm::LlmError {
    match e {
        llm::CallError::BudgetExhausted(m) => wit_llm::LlmError::BudgetExhausted(m),
        llm::CallError::Provider(m) => wit_llm::LlmError::Provider(m),
        llm::CallError::Timeout(m) => wit_llm::LlmError::Timeout(m),
        llm::CallError::Malformed(m) => wit_llm::LlmError::MalformedAnswer(m),
        llm::CallError::Invalid(m) => wit_llm::LlmError::InvalidRequest(m),
    }
}

pub fn budget_left(l: llm::budget::Left) -> wit_llm::BudgetLeft {
    wit_llm::BudgetLeft {
        calls: l.calls,
        input_tokens: l.input_tokens,
        output_tokens: l.output_tokens,
        time_ms: l.time_ms,
    }
}

// ---- guest → host ---------------------------------------------------------------------

pub fn chat_request(r: wit_llm::ChatRequest) -> llm::ChatRequest {
    llm::ChatRequest {
        messages: r
            .messages
            .into_iter()
            .map(|m| llm::Message {
                role: match m.role {
                    wit_llm::ChatRole::System => llm::Role::System,
                    wit_llm::ChatRole::User => llm::Role::User,
                    wit_llm::ChatRole::Assistant => llm::Role::Assistant,
                },
                content: m.content,
            })
            .collect(),
        json_schema: r.json_schema,
        max_output_tokens: r.max_output_tokens,
        temperature: r.temperature,
    }
}

fn rating_back(r: wit::Rating) -> model::Rating {
    match r {
        wit::Rating::Positive => model::Rating::Positive,
        wit::Rating::Negative => model::Rating::Negative,
        wit::Rating::Neutral => model::Rating::Neutral,
    }
}

impl From<wit::InferredFeedback> for model::InferredFeedback {
    fn from(f: wit::InferredFeedback) -> Self {
        model::InferredFeedback {
            interaction_id: f.interaction_id,
            rating: rating_back(f.rating),
            reason: f.reason,
        }
    }
}

impl From<wit::RuleInfo> for model::RuleInfo {
    fn from(i: wit::RuleInfo) -> Self {
        model::RuleInfo {
            name: i.name,
            version: i.version,
            description: i.description,
            stages: i
                .stages
                .into_iter()
                .map(|s| match s {
                    wit::Stage::Detect => model::Stage::Detect,
                    wit::Stage::Analyse => model::Stage::Analyse,
                })
                .collect(),
            inputs: model::Inputs {
                messages: i.inputs.contains(wit::Inputs::MESSAGES),
                system_messages: i.inputs.contains(wit::Inputs::SYSTEM_MESSAGES),
                tool_calls: i.inputs.contains(wit::Inputs::TOOL_CALLS),
                metadata: i.inputs.contains(wit::Inputs::METADATA),
            },
            settings: i
                .settings
                .into_iter()
                .map(|s| model::SettingSpec {
                    name: s.name,
                    description: s.description,
                    default_value: s.default_value,
                })
                .collect(),
        }
    }
}

impl From<wit::Findings> for model::Findings {
    fn from(f: wit::Findings) -> Self {
        model::Findings {
            patterns: f
                .patterns
                .into_iter()
                .map(|p| model::Pattern {
                    key: p.key,
                    title: p.title,
                    description: p.description,
                    severity: match p.severity {
                        wit::Severity::Low => model::Severity::Low,
                        wit::Severity::Medium => model::Severity::Medium,
                        wit::Severity::High => model::Severity::High,
                        wit::Severity::Critical => model::Severity::Critical,
                    },
                    occurrences: p.occurrences,
                    evidence: p.evidence,
                })
                .collect(),
            suggestions: f
                .suggestions
                .into_iter()
                .map(|s| model::Suggestion {
                    edit: match s.edit {
                        wit::Edit::AppendInstruction(text) => {
                            model::Edit::AppendInstruction { text }
                        }
                        wit::Edit::ReplaceText(r) => model::Edit::ReplaceText {
                            find: r.find,
                            replacement: r.replacement,
                        },
                        wit::Edit::SetSystemPrompt(prompt) => {
                            model::Edit::SetSystemPrompt { prompt }
                        }
                        wit::Edit::SetSetting(s) => model::Edit::SetSetting {
                            key: s.key,
                            value: s.value,
                        },
                        wit::Edit::FlagForReview(note) => model::Edit::FlagForReview { note },
                    },
                    rationale: s.rationale,
                    confidence: s.confidence,
                    addresses: s.addresses,
                })
                .collect(),
            metrics: f
                .metrics
                .into_iter()
                .map(|m| model::Metric {
                    name: m.name,
                    value: m.value,
                    description: m.description,
                })
                .collect(),
        }
    }
}

pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}
