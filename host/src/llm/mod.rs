//! The language-model capability: providers, grants, budgets and redaction.
//!
//! A rule reaches a model only through the `llm` interface of the contract,
//! and only if the operator granted it a provider in the config. This module
//! owns everything behind that interface: the provider clients that speak the
//! OpenAI-compatible and Anthropic APIs ([`provider`]), the redaction applied to
//! every text before it leaves the host ([`redact`]), and the accounting that
//! enforces each grant's and each dream's budget ([`budget`]). It knows nothing
//! of WebAssembly: `plugins` converts the contract's types into these.

pub mod budget;
pub mod config;
#[doc(hidden)]
pub mod fake;
pub mod provider;
pub mod redact;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// A chat completion request, as a rule sends it (the model is the provider's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// JSON Schema text the answer must follow.
    pub json_schema: Option<String>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f32>,
}

/// Tokens as the provider reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// The model's answer to a chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAnswer {
    /// The text; the JSON text when a schema was given.
    pub text: String,
    pub usage: Usage,
    /// The provider stopped at the token limit.
    pub truncated: bool,
}

/// One vector per text, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedAnswer {
    pub vectors: Vec<Vec<f32>>,
    pub usage: Usage,
}

/// Why a call returned no answer. Shown to the rule, and in its run log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("budget exhausted: {0}")]
    BudgetExhausted(String),
    #[error("provider failed: {0}")]
    Provider(String),
    #[error("provider timed out: {0}")]
    Timeout(String),
    #[error("malformed answer: {0}")]
    Malformed(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// What one call did, whatever its result: the provider's reported usage
/// counts against the budget even when the answer was unusable.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempted<T> {
    pub result: Result<T, CallError>,
    /// Tokens over every attempt (retries included), as the provider reported them.
    pub usage: Usage,
    /// HTTP requests made (1 + retries).
    pub attempts: u32,
}
