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

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use budget::{Account, Meter};
use config::{Grant, LlmConfig};
use provider::Provider;
use redact::Redactor;

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

/// Most messages, texts and bytes one call may carry: far above what a rule
/// needs, low enough that a runaway rule cannot post megabytes.
const MAX_MESSAGES: usize = 256;
const MAX_TEXTS: usize = 256;
const MAX_REQUEST_BYTES: usize = 1 << 20;
/// A time budget of "none" still gives a call a deadline.
const LONGEST_CALL: Duration = Duration::from_secs(24 * 3600);

/// The providers and the dream's budget for one dream. Built at the start of
/// each dream, so a key rotated in the environment is taken at the next one.
pub struct Session {
    providers: Vec<Result<Arc<Provider>, String>>,
    config: LlmConfig,
    redactor: Arc<Redactor>,
    dream: Arc<Account>,
}

impl Session {
    /// Read each provider's key from its environment variable and build its
    /// client. A provider that cannot be built fails only the rules granted it.
    pub fn new(config: &LlmConfig) -> Result<Session, String> {
        let r = &config.redact;
        let redactor = Redactor::new(r.emails, r.phones, r.cards, &r.patterns)
            .map_err(|e| format!("llm.redact: {e}"))?;
        let providers = config
            .providers
            .iter()
            .map(|p| {
                let key = match &p.api_key_env {
                    None => None,
                    Some(var) => Some(std::env::var(var).map_err(|_| {
                        format!(
                            "provider {:?}: the environment variable {var} (llm.providers.{}.api_key_env) is not set",
                            p.name, p.name
                        )
                    })?),
                };
                Provider::new(p.clone(), key)
                    .map(Arc::new)
                    .map_err(|e| format!("provider {:?}: {e}", p.name))
            })
            .collect();
        Ok(Session {
            providers,
            config: config.clone(),
            redactor: Arc::new(redactor),
            dream: Arc::new(Account::new("dream", config.dream_budget)),
        })
    }

    /// The gateway `rule` calls through, under `grant`.
    pub fn gateway(&self, rule: &str, grant: &Grant) -> Result<Gateway, String> {
        let at = self
            .config
            .providers
            .iter()
            .position(|p| p.name == grant.provider)
            .ok_or_else(|| format!("no provider named {:?}", grant.provider))?;
        let provider = self.providers[at].clone()?;
        Ok(Gateway {
            provider,
            redactor: self.redactor.clone(),
            meter: Meter {
                rule: Arc::new(Account::new(format!("rule {rule:?}"), grant.budget)),
                dream: self.dream.clone(),
            },
            answered: 0,
            failed: 0,
            refused: 0,
            redactions: 0,
            exhausted: None,
            last_error: None,
        })
    }
}

/// One rule's use of the model in one dream, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    pub provider: String,
    pub model: String,
    /// Calls the provider answered usably.
    pub answered: u32,
    /// Calls that reached the provider and failed (after retries) or answered unusably.
    pub failed: u32,
    /// Calls refused before sending: over a budget, or invalid.
    pub refused: u32,
    /// What the provider reported and the time spent waiting for it.
    pub spent: budget::Spent,
    /// The grant's budget for this dream.
    pub budget: budget::Limits,
    /// At the configured prices per million tokens, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Texts replaced by redaction before they left the host.
    pub redactions: u64,
    /// Set when a call was refused for a budget: which one, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_exhausted: Option<String>,
    /// The last provider failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl UsageReport {
    /// One sentence for the text report and the run log.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "model {} ({}): {} calls answered, {} failed, {} refused; {} input and {} output tokens; {:.1} s waiting",
            self.model,
            self.provider,
            self.answered,
            self.failed,
            self.refused,
            self.spent.input_tokens,
            self.spent.output_tokens,
            self.spent.time_ms as f64 / 1000.0
        );
        if let Some(cost) = self.cost {
            s.push_str(&format!("; cost {cost:.4}"));
        }
        if self.redactions > 0 {
            s.push_str(&format!("; {} redactions", self.redactions));
        }
        match &self.budget_exhausted {
            Some(why) => s.push_str(&format!(". Ran on a budget and ran out: {why}")),
            None => s.push_str(". Within its budget"),
        }
        if let Some(e) = &self.last_error {
            s.push_str(&format!(". Last provider error: {e}"));
        }
        s
    }
}

/// A rule's access to its granted provider for one dream: redacts what the
/// rule sends, holds the budget, and counts what happened.
pub struct Gateway {
    provider: Arc<Provider>,
    redactor: Arc<Redactor>,
    meter: Meter,
    answered: u32,
    failed: u32,
    refused: u32,
    redactions: u64,
    exhausted: Option<String>,
    last_error: Option<String>,
}

impl Gateway {
    pub fn left(&self) -> budget::Left {
        self.meter.left()
    }

    fn redact(&mut self, text: &mut String) {
        let (clean, n) = self.redactor.redact(text);
        if n > 0 {
            self.redactions += u64::from(n);
            *text = clean.into_owned();
        }
    }

    fn refuse(&mut self, error: CallError) -> CallError {
        self.refused += 1;
        if let CallError::BudgetExhausted(why) = &error {
            self.exhausted = Some(why.clone());
        }
        error
    }

    /// Account for a call that was made.
    fn settle<T>(
        &mut self,
        reservation: budget::Reservation,
        attempted: Attempted<T>,
        started: Instant,
    ) -> Result<T, CallError> {
        self.meter.settle(
            reservation,
            attempted.usage,
            started.elapsed(),
            attempted.attempts > 0,
        );
        match &attempted.result {
            Ok(_) => self.answered += 1,
            Err(e) => {
                self.failed += 1;
                self.last_error = Some(e.to_string());
            }
        }
        attempted.result
    }

    /// Send a chat request, redacted and within budget.
    pub fn chat(&mut self, mut request: ChatRequest) -> Result<ChatAnswer, CallError> {
        if !request.messages.iter().any(|m| m.role == Role::User) {
            return Err(self.refuse(CallError::Invalid(
                "a chat request needs at least one user message".into(),
            )));
        }
        let bytes: usize = request
            .messages
            .iter()
            .map(|m| m.content.len())
            .sum::<usize>()
            + request.json_schema.as_ref().map_or(0, String::len);
        if request.messages.len() > MAX_MESSAGES || bytes > MAX_REQUEST_BYTES {
            return Err(self.refuse(CallError::Invalid(format!(
                "{} messages of {bytes} bytes: at most {MAX_MESSAGES} messages and {MAX_REQUEST_BYTES} bytes per call",
                request.messages.len()
            ))));
        }
        if let Some(schema) = &request.json_schema
            && serde_json::from_str::<serde_json::Value>(schema).is_err()
        {
            return Err(self.refuse(CallError::Invalid("json_schema is not JSON text".into())));
        }
        for m in &mut request.messages {
            let mut text = std::mem::take(&mut m.content);
            self.redact(&mut text);
            m.content = text;
        }
        let mut texts: Vec<&str> = request
            .messages
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        if let Some(schema) = &request.json_schema {
            texts.push(schema);
        }
        let estimate = budget::estimate_tokens(&texts);
        let wanted = request.max_output_tokens.unwrap_or(budget::DEFAULT_OUTPUT);
        let reservation = match self.meter.reserve(estimate, wanted) {
            Ok(r) => r,
            Err(why) => return Err(self.refuse(CallError::BudgetExhausted(why))),
        };
        request.max_output_tokens = Some(reservation.max_output_tokens);
        request.temperature = Some(request.temperature.unwrap_or(0.0));
        let started = Instant::now();
        let deadline = started + reservation.time_allowed.min(LONGEST_CALL);
        let attempted = self.provider.chat(&request, deadline);
        self.settle(reservation, attempted, started)
    }

    /// Embed texts, redacted and within budget.
    pub fn embed(&mut self, mut texts: Vec<String>) -> Result<EmbedAnswer, CallError> {
        let bytes: usize = texts.iter().map(String::len).sum();
        if texts.is_empty() || texts.len() > MAX_TEXTS || bytes > MAX_REQUEST_BYTES {
            return Err(self.refuse(CallError::Invalid(format!(
                "{} texts of {bytes} bytes: 1 to {MAX_TEXTS} texts and at most {MAX_REQUEST_BYTES} bytes per call",
                texts.len()
            ))));
        }
        for t in &mut texts {
            self.redact(t);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let reservation = match self.meter.reserve(budget::estimate_tokens(&refs), 0) {
            Ok(r) => r,
            Err(why) => return Err(self.refuse(CallError::BudgetExhausted(why))),
        };
        let started = Instant::now();
        let deadline = started + reservation.time_allowed.min(LONGEST_CALL);
        let attempted = self.provider.embed(&texts, deadline);
        self.settle(reservation, attempted, started)
    }

    /// What the rule used, for the report and `/metrics`.
    pub fn report(&self) -> UsageReport {
        let spent = self.meter.rule.spent();
        let config = self.provider.config();
        let cost = match (config.price_input_per_mtok, config.price_output_per_mtok) {
            (None, None) => None,
            (i, o) => Some(
                (spent.input_tokens as f64 * i.unwrap_or(0.0)
                    + spent.output_tokens as f64 * o.unwrap_or(0.0))
                    / 1e6,
            ),
        };
        UsageReport {
            provider: config.name.clone(),
            model: config.model.clone(),
            answered: self.answered,
            failed: self.failed,
            refused: self.refused,
            spent,
            budget: self.meter.rule.limits(),
            cost,
            redactions: self.redactions,
            budget_exhausted: self.exhausted.clone(),
            last_error: self.last_error.clone(),
        }
    }
}
