//! A language model for rules that the operator granted one (feature `llm`).
//!
//! The host holds the provider, the key and the budget: a rule only sends
//! messages and reads answers. Every call is counted against the rule's grant
//! and the dream's budget by the host; a call past either returns
//! [`LlmError::BudgetExhausted`], and the rule decides what to do without it
//! (usually: finish with what it has, and say so in its run log). Ask
//! [`remaining`] before sampling, so that a rule spreads its budget over the
//! window instead of spending it on the first chunk.
//!
//! Natively (a rule's unit tests) there is no host: [`testing`] installs a
//! stand-in model for the current thread, and records what the rule sent.
//!
//! Besides the calls, what rules that read conversations with a model share:
//! a compact transcript of an interaction ([`transcript`]), prompt templates
//! kept in Markdown files ([`template`]), the reading of answers
//! ([`answer`]), calls that respect the budget and stop on repeated provider
//! failures ([`caller`]), the run log such a rule keeps ([`journal`]) and
//! deterministic sampling by interaction id ([`sample`]). Nothing there names
//! a rule, a domain or a language.

pub mod answer;
pub mod caller;
pub mod journal;
pub mod sample;
pub mod template;
pub mod transcript;

pub use crate::bindings::reverie::rules::llm::{
    BudgetLeft, ChatMessage, ChatRequest, ChatResponse, ChatRole, Embeddings, LlmError, Usage,
};

/// A system message.
pub fn system(content: impl Into<String>) -> ChatMessage {
    ChatMessage {
        role: ChatRole::System,
        content: content.into(),
    }
}

/// A user message.
pub fn user(content: impl Into<String>) -> ChatMessage {
    ChatMessage {
        role: ChatRole::User,
        content: content.into(),
    }
}

/// A request for a JSON answer following `schema` (JSON Schema text), at
/// temperature 0, with at most `max_output_tokens` tokens of answer.
pub fn structured(messages: Vec<ChatMessage>, schema: &str, max_output_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages,
        json_schema: Some(schema.to_string()),
        max_output_tokens: Some(max_output_tokens),
        temperature: Some(0.0),
    }
}

/// One line a person reads, for a run log.
pub fn describe(error: &LlmError) -> String {
    match error {
        LlmError::BudgetExhausted(m) => format!("budget exhausted: {m}"),
        LlmError::Provider(m) => format!("provider failed: {m}"),
        LlmError::Timeout(m) => format!("provider timed out: {m}"),
        LlmError::MalformedAnswer(m) => format!("malformed answer: {m}"),
        LlmError::InvalidRequest(m) => format!("invalid request: {m}"),
    }
}

/// Ask the model.
pub fn chat(request: &ChatRequest) -> Result<ChatResponse, LlmError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::reverie::rules::llm::chat(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::chat(request)
    }
}

/// Most texts one [`embed`] call takes (the host refuses more).
pub const MAX_EMBED_TEXTS: usize = 256;

/// The host's estimate of the input tokens of one text, by which it reserves
/// budget before a call (a third of its bytes, plus 4): a call whose texts'
/// estimates exceed [`remaining`]`().input_tokens` is refused unsent. The
/// provider's count, which is what the budget is charged, is usually lower.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(3) + 4
}

/// Embed texts (at most [`MAX_EMBED_TEXTS`] per call), one vector per text, in order.
pub fn embed(texts: &[String]) -> Result<Embeddings, LlmError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::reverie::rules::llm::embed(texts)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::embed(texts)
    }
}

/// What is left of the budget (the smaller of the rule's and the dream's).
pub fn remaining() -> BudgetLeft {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::reverie::rules::llm::remaining()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::remaining()
    }
}

/// A stand-in model for native tests, per thread: what it answers, the
/// budget it reports, and every request the rule sent.
///
/// Like the host, it counts each call against the budget's `calls` and
/// refuses with [`LlmError::BudgetExhausted`] when none is left. Embedding
/// calls are also held to the host's other limits: 1 to [`MAX_EMBED_TEXTS`]
/// texts, refused when the host's estimate of their tokens exceeds the
/// budget's `input_tokens`, which then lose the tokens the answer reports.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing {
    use super::*;
    use std::cell::RefCell;

    type ChatFn = Box<dyn FnMut(&ChatRequest) -> Result<ChatResponse, LlmError>>;
    type EmbedFn = Box<dyn FnMut(&[String]) -> Result<Embeddings, LlmError>>;

    struct Model {
        chat: Option<ChatFn>,
        embed: Option<EmbedFn>,
        budget: BudgetLeft,
        sent: Vec<ChatRequest>,
        embedded: Vec<Vec<String>>,
    }

    thread_local! {
        static MODEL: RefCell<Model> = RefCell::new(Model {
            chat: None,
            embed: None,
            budget: unlimited(),
            sent: Vec::new(),
            embedded: Vec::new(),
        });
    }

    fn unlimited() -> BudgetLeft {
        BudgetLeft {
            calls: u32::MAX,
            input_tokens: u64::MAX,
            output_tokens: u64::MAX,
            time_ms: u64::MAX,
        }
    }

    /// Answer every chat request with `f` (and forget earlier requests).
    pub fn answer_with(f: impl FnMut(&ChatRequest) -> Result<ChatResponse, LlmError> + 'static) {
        MODEL.with(|m| {
            let mut m = m.borrow_mut();
            m.chat = Some(Box::new(f));
            m.sent.clear();
        });
    }

    /// Answer every embedding request with `f` (and forget earlier requests).
    pub fn embed_with(f: impl FnMut(&[String]) -> Result<Embeddings, LlmError> + 'static) {
        MODEL.with(|m| {
            let mut m = m.borrow_mut();
            m.embed = Some(Box::new(f));
            m.embedded.clear();
        });
    }

    /// Report this budget from [`remaining`](super::remaining) (unlimited by default).
    pub fn set_budget(budget: BudgetLeft) {
        MODEL.with(|m| m.borrow_mut().budget = budget);
    }

    /// The chat requests sent since the model was installed, in order.
    pub fn sent() -> Vec<ChatRequest> {
        MODEL.with(|m| m.borrow().sent.clone())
    }

    /// The texts of each embedding request since the model was installed, in
    /// order (refused requests too).
    pub fn embedded() -> Vec<Vec<String>> {
        MODEL.with(|m| m.borrow().embedded.clone())
    }

    /// An answer with `text` and a plausible token count.
    pub fn reply(text: &str) -> ChatResponse {
        ChatResponse {
            text: text.to_string(),
            usage: Usage {
                input_tokens: 100,
                output_tokens: (text.len() / 4) as u32 + 1,
            },
            truncated: false,
        }
    }

    pub(super) fn chat(request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        MODEL.with(|m| {
            let mut m = m.borrow_mut();
            m.sent.push(request.clone());
            if m.budget.calls == 0 {
                return Err(LlmError::BudgetExhausted("calls: 0 left".into()));
            }
            if m.budget.calls != u32::MAX {
                m.budget.calls -= 1;
            }
            match m.chat.as_mut() {
                Some(f) => f(request),
                None => Err(LlmError::InvalidRequest(
                    "no test model installed: call llm::testing::answer_with".into(),
                )),
            }
        })
    }

    pub(super) fn embed(texts: &[String]) -> Result<Embeddings, LlmError> {
        MODEL.with(|m| {
            let mut m = m.borrow_mut();
            m.embedded.push(texts.to_vec());
            if texts.is_empty() || texts.len() > MAX_EMBED_TEXTS {
                return Err(LlmError::InvalidRequest(format!(
                    "{} texts: 1 to {MAX_EMBED_TEXTS} per call",
                    texts.len()
                )));
            }
            if m.budget.calls == 0 {
                return Err(LlmError::BudgetExhausted("calls: 0 left".into()));
            }
            let estimate: u64 = texts.iter().map(|t| estimate_tokens(t)).sum();
            if m.budget.input_tokens < estimate {
                return Err(LlmError::BudgetExhausted(format!(
                    "input tokens: {} left, {estimate} needed",
                    m.budget.input_tokens
                )));
            }
            if m.budget.calls != u32::MAX {
                m.budget.calls -= 1;
            }
            let answer = match m.embed.as_mut() {
                Some(f) => f(texts),
                None => Err(LlmError::InvalidRequest(
                    "no embedding model configured".into(),
                )),
            };
            if let Ok(e) = &answer
                && m.budget.input_tokens != u64::MAX
            {
                m.budget.input_tokens = m
                    .budget
                    .input_tokens
                    .saturating_sub(u64::from(e.usage.input_tokens));
            }
            answer
        })
    }

    pub(super) fn remaining() -> BudgetLeft {
        MODEL.with(|m| m.borrow().budget)
    }
}
