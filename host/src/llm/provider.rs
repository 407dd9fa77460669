//! The clients that send a rule's chat and embedding requests to a model
//! provider, over the OpenAI-compatible API (`/chat/completions`,
//! `/embeddings`) or the Anthropic Messages API (`/messages`, version
//! 2023-06-01), and turn what comes back into [`Attempted`] results.
//!
//! Each call runs on the caller's thread (blocking HTTP) and never outlives its
//! deadline: every request's timeout is the smaller of the provider's `timeout`
//! and the time left, and no retry wait runs past the deadline. 429, 5xx and
//! failed connections are retried up to `max_retries` times, honouring
//! `Retry-After` (seconds or an HTTP date) up to `max_retry_wait`, else after
//! 0.5 s, 1 s, 2 s, ... A request that timed out is not retried: the model that
//! took the whole timeout once will likely take it again, and the provider may
//! have billed it. Redirects are never followed (a 3xx names its `Location`),
//! so a provider's address cannot send the key elsewhere. The API key is sent
//! only in its header and never appears in an error or in `Debug` output.
//!
//! This module does not redact, count budgets or know about rules: the caller
//! redacts texts before they get here and charges the returned usage.

use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use serde_json::{Map, Value, json};

use super::config::{Api, ProviderConfig};
use super::{Attempted, CallError, ChatAnswer, ChatRequest, EmbedAnswer, Role, Usage};

/// The Anthropic API version this client speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; this is sent when the rule set none.
const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 1024;
/// The schema's name (OpenAI) and the forced tool's name (Anthropic).
const ANSWER_NAME: &str = "answer";
/// Answers larger than this are refused: a batch of embeddings is the largest
/// legitimate answer (1,000 texts of 3,072 numbers is about 60 MiB of JSON).
const MAX_ANSWER_BYTES: u64 = 96 << 20;
/// How much of an unreadable answer or an error body an error message quotes.
const EXCERPT_CHARS: usize = 300;
/// The first wait between retries without `Retry-After`; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// A model provider's client, shared by every rule granted that provider.
pub struct Provider {
    config: ProviderConfig,
    api_key: Option<String>,
    http: reqwest::blocking::Client,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.config.name)
            .field("api", &self.config.api)
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .field(
                "api_key",
                &if self.api_key.is_some() {
                    "(set)"
                } else {
                    "(none)"
                },
            )
            .finish()
    }
}

/// How one HTTP exchange ended.
enum Exchange {
    /// 2xx, with the body.
    Answer(Vec<u8>),
    /// Worth another attempt: 429, 5xx, or the connection failed.
    Retry {
        /// The status (and `Retry-After`) and the provider's message.
        what: String,
        /// `Retry-After`, as sent and as a wait.
        retry_after: Option<(String, Option<Duration>)>,
    },
    /// The call ends with this error.
    Fail(CallError),
}

impl Provider {
    /// A client for `config`. `api_key` is the key itself (read from the
    /// environment by the caller); an empty key counts as none.
    pub fn new(config: ProviderConfig, api_key: Option<String>) -> Result<Provider, String> {
        let api_key = api_key.filter(|key| !key.is_empty());
        if let Some(key) = &api_key
            && reqwest::header::HeaderValue::from_str(key).is_err()
        {
            return Err(format!(
                "provider {}: the API key holds characters a header cannot carry",
                config.name
            ));
        }
        match reqwest::Url::parse(&config.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err(format!(
                    "provider {}: base_url {:?} is not an http(s) URL",
                    config.name, config.base_url
                ));
            }
        }
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                format!(
                    "provider {}: cannot build the HTTP client: {e}",
                    config.name
                )
            })?;
        Ok(Provider {
            config,
            api_key,
            http,
        })
    }

    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Send a chat request; retries and waits never pass `deadline`.
    pub fn chat(&self, request: &ChatRequest, deadline: Instant) -> Attempted<ChatAnswer> {
        let body = match self.chat_body(request) {
            Ok(body) => body,
            Err(why) => return refused(CallError::Invalid(why)),
        };
        let schema_asked = request.json_schema.is_some();
        match self.config.api {
            Api::OpenAi => self.call("/chat/completions", &body, deadline, |bytes| {
                read_openai_chat(bytes, schema_asked)
            }),
            Api::Anthropic => self.call("/messages", &body, deadline, |bytes| {
                read_anthropic_message(bytes, schema_asked)
            }),
        }
    }

    /// Embed `texts` with the provider's `embedding_model`: one vector per
    /// text, in the order given.
    pub fn embed(&self, texts: &[String], deadline: Instant) -> Attempted<EmbedAnswer> {
        if self.config.api == Api::Anthropic {
            return refused(CallError::Invalid(format!(
                "provider {} speaks the Anthropic API, which has no embeddings",
                self.config.name
            )));
        }
        let Some(model) = &self.config.embedding_model else {
            return refused(CallError::Invalid(format!(
                "provider {} has no embedding_model",
                self.config.name
            )));
        };
        if texts.is_empty() {
            return Attempted {
                result: Ok(EmbedAnswer {
                    vectors: Vec::new(),
                    usage: Usage::default(),
                }),
                usage: Usage::default(),
                attempts: 0,
            };
        }
        let body = json!({"model": model, "input": texts});
        let count = texts.len();
        self.call("/embeddings", &body, deadline, |bytes| {
            read_openai_embeddings(bytes, count)
        })
    }

    /// The request body in the provider's protocol, or why it cannot be sent.
    fn chat_body(&self, request: &ChatRequest) -> Result<Value, String> {
        if request.messages.is_empty() {
            return Err("a chat request needs at least one message".to_string());
        }
        if request.max_output_tokens == Some(0) {
            return Err("max_output_tokens must be at least 1".to_string());
        }
        let highest = match self.config.api {
            Api::OpenAi => 2.0,
            Api::Anthropic => 1.0,
        };
        let temperature = request.temperature.unwrap_or(0.0);
        if !(0.0..=highest).contains(&temperature) {
            return Err(format!(
                "temperature {temperature} is outside 0 to {highest}, what this provider accepts"
            ));
        }
        // f32 → f64 through its shortest decimal form, so 0.2 is sent as 0.2,
        // not 0.20000000298023224.
        let temperature: f64 = temperature.to_string().parse().unwrap_or(0.0);
        let schema = match &request.json_schema {
            None => None,
            Some(text) => Some(parse_schema(text)?),
        };
        let mut body = Map::new();
        body.insert("model".into(), json!(self.config.model));
        match self.config.api {
            Api::OpenAi => {
                let messages: Vec<Value> = request
                    .messages
                    .iter()
                    .map(|m| json!({"role": role_name(m.role), "content": m.content}))
                    .collect();
                body.insert("messages".into(), Value::Array(messages));
                if let Some(max) = request.max_output_tokens {
                    body.insert("max_tokens".into(), json!(max));
                }
                body.insert("temperature".into(), json!(temperature));
                if let Some(schema) = schema {
                    body.insert(
                        "response_format".into(),
                        json!({
                            "type": "json_schema",
                            "json_schema": {"name": ANSWER_NAME, "schema": schema, "strict": true},
                        }),
                    );
                }
            }
            Api::Anthropic => {
                let system: Vec<&str> = request
                    .messages
                    .iter()
                    .filter(|m| m.role == Role::System)
                    .map(|m| m.content.as_str())
                    .collect();
                let messages: Vec<Value> = request
                    .messages
                    .iter()
                    .filter(|m| m.role != Role::System)
                    .map(|m| json!({"role": role_name(m.role), "content": m.content}))
                    .collect();
                if messages.is_empty() {
                    return Err(
                        "a chat request needs a user or assistant message besides the system ones"
                            .to_string(),
                    );
                }
                body.insert(
                    "max_tokens".into(),
                    json!(
                        request
                            .max_output_tokens
                            .unwrap_or(ANTHROPIC_DEFAULT_MAX_TOKENS)
                    ),
                );
                if !system.is_empty() {
                    body.insert("system".into(), json!(system.join("\n\n")));
                }
                body.insert("messages".into(), Value::Array(messages));
                body.insert("temperature".into(), json!(temperature));
                if let Some(schema) = schema {
                    body.insert(
                        "tools".into(),
                        json!([{
                            "name": ANSWER_NAME,
                            "description": "Give the answer.",
                            "input_schema": schema,
                        }]),
                    );
                    body.insert(
                        "tool_choice".into(),
                        json!({"type": "tool", "name": ANSWER_NAME}),
                    );
                }
            }
        }
        Ok(Value::Object(body))
    }

    /// POST `body` to `path` until an answer, a final error, the retries run
    /// out or the deadline comes; `read` turns a 2xx body into the result and
    /// the usage it reports.
    fn call<T>(
        &self,
        path: &str,
        body: &Value,
        deadline: Instant,
        read: impl Fn(&[u8]) -> (Result<T, CallError>, Usage),
    ) -> Attempted<T> {
        let url = format!("{}{path}", self.config.base_url);
        let body = body.to_string().into_bytes();
        let mut usage = Usage::default();
        let mut attempts = 0;
        let result = loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                break Err(CallError::Timeout(format!(
                    "the call's deadline passed before {} ({url})",
                    if attempts == 0 {
                        "the first request"
                    } else {
                        "another attempt"
                    }
                )));
            }
            let timeout = self.config.timeout.min(left);
            attempts += 1;
            let (what, retry_after) = match self.exchange(&url, &body, timeout) {
                Exchange::Answer(bytes) => {
                    let (result, used) = read(&bytes);
                    usage += used;
                    break result;
                }
                Exchange::Fail(error) => break Err(error),
                Exchange::Retry { what, retry_after } => (what, retry_after),
            };
            if attempts > self.config.max_retries {
                break Err(CallError::Provider(format!(
                    "{what} (gave up after {attempts} attempts)"
                )));
            }
            let wait = match retry_after {
                Some((text, Some(asked))) if asked > self.config.max_retry_wait => {
                    break Err(CallError::Provider(format!(
                        "{what}; Retry-After {text} is longer than this provider's max_retry_wait ({} s)",
                        self.config.max_retry_wait.as_secs_f64()
                    )));
                }
                Some((_, Some(asked))) => asked,
                // A Retry-After nobody can read: back off as without one.
                Some((_, None)) | None => backoff(attempts, self.config.max_retry_wait),
            };
            if Instant::now() + wait >= deadline {
                break Err(CallError::Provider(format!(
                    "{what}; waiting {:.1} s to retry would pass the call's deadline",
                    wait.as_secs_f64()
                )));
            }
            std::thread::sleep(wait);
        };
        Attempted {
            result: result.map_err(|error| self.scrub(error)),
            usage,
            attempts,
        }
    }

    /// One HTTP request.
    fn exchange(&self, url: &str, body: &[u8], timeout: Duration) -> Exchange {
        let mut request = self
            .http
            .post(url)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        request = match (self.config.api, &self.api_key) {
            (Api::OpenAi, Some(key)) => request.bearer_auth(key),
            (Api::OpenAi, None) => request,
            (Api::Anthropic, key) => {
                let request = request.header("anthropic-version", ANTHROPIC_VERSION);
                match key {
                    Some(key) => request.header("x-api-key", key),
                    None => request,
                }
            }
        };
        let timed_out = || {
            Exchange::Fail(CallError::Timeout(format!(
                "no answer within {:.1} s ({url})",
                timeout.as_secs_f64()
            )))
        };
        let response = match request.send() {
            Ok(response) => response,
            Err(error) if error.is_timeout() => return timed_out(),
            Err(error) => {
                return Exchange::Retry {
                    what: format!("cannot reach {url}: {}", error_chain(&error)),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header(RETRY_AFTER);
        let location = header(LOCATION);
        let mut bytes = Vec::new();
        if let Err(error) = response.take(MAX_ANSWER_BYTES + 1).read_to_end(&mut bytes) {
            if error.kind() == std::io::ErrorKind::TimedOut || is_timeout(&error) {
                return timed_out();
            }
            return Exchange::Retry {
                what: format!("{status}: the connection broke while reading the answer: {error}"),
                retry_after: None,
            };
        }
        if bytes.len() as u64 > MAX_ANSWER_BYTES {
            return Exchange::Fail(CallError::Malformed(format!(
                "the answer is larger than {} MiB",
                MAX_ANSWER_BYTES >> 20
            )));
        }
        if status.is_success() {
            return Exchange::Answer(bytes);
        }
        if status.is_redirection() {
            return Exchange::Fail(CallError::Provider(format!(
                "{status}: redirects are not followed (Location: {})",
                location.as_deref().unwrap_or("none")
            )));
        }
        let waited = retry_after
            .as_deref()
            .map(|text| format!(" (Retry-After: {text})"))
            .unwrap_or_default();
        let what = format!("{status}{waited}: {}", error_message(&bytes));
        if status.as_u16() == 429 || status.is_server_error() {
            Exchange::Retry {
                what,
                retry_after: retry_after.map(|text| {
                    let wait = parse_retry_after(&text, chrono::Utc::now());
                    (text, wait)
                }),
            }
        } else {
            Exchange::Fail(CallError::Provider(what))
        }
    }

    /// The error with the API key, should a provider echo it, blanked out.
    fn scrub(&self, error: CallError) -> CallError {
        let Some(key) = &self.api_key else {
            return error;
        };
        let clean = |text: String| text.replace(key.as_str(), "[api key]");
        match error {
            CallError::BudgetExhausted(t) => CallError::BudgetExhausted(clean(t)),
            CallError::Provider(t) => CallError::Provider(clean(t)),
            CallError::Timeout(t) => CallError::Timeout(clean(t)),
            CallError::Malformed(t) => CallError::Malformed(clean(t)),
            CallError::Invalid(t) => CallError::Invalid(clean(t)),
        }
    }
}

/// A call refused before any request.
fn refused<T>(error: CallError) -> Attempted<T> {
    Attempted {
        result: Err(error),
        usage: Usage::default(),
        attempts: 0,
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The rule's JSON Schema, which both APIs want rooted at an object.
fn parse_schema(text: &str) -> Result<Value, String> {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("the JSON schema is not JSON: {e}"))?;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(
            "the JSON schema's root must be an object schema (\"type\": \"object\"), as both the OpenAI and the Anthropic APIs require"
                .to_string(),
        );
    }
    Ok(schema)
}

/// The wait before retry `attempt` (1-based) without `Retry-After`.
fn backoff(attempt: u32, cap: Duration) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(cap)
}

/// `Retry-After` as seconds or an HTTP date; a date in the past is no wait.
fn parse_retry_after(text: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let millis = (when.timestamp_millis() - now.timestamp_millis()).max(0);
    Some(Duration::from_millis(millis as u64))
}

fn is_timeout(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        .is_some_and(reqwest::Error::is_timeout)
}

/// An error and its causes, one line (reqwest's own text stops at the first).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        source = cause.source();
    }
    text
}

/// The provider's message in an error body: `error.message` in both APIs'
/// error JSON, else the start of the body.
fn error_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|value| {
            value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            let text = excerpt(bytes);
            if text.is_empty() {
                "(no message)".to_string()
            } else {
                text
            }
        })
}

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim()
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
}

fn not_json(bytes: &[u8]) -> CallError {
    CallError::Malformed(format!("the answer is not JSON: {:?}", excerpt(bytes)))
}

fn tokens(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// The answer's text, checked against what was asked.
fn finish(
    text: String,
    usage: Usage,
    truncated: bool,
    schema_asked: bool,
) -> Result<ChatAnswer, CallError> {
    if schema_asked {
        if truncated {
            return Err(CallError::Malformed(
                "the answer stopped at the token limit before its JSON was complete".to_string(),
            ));
        }
        if let Err(e) = serde_json::from_str::<Value>(&text) {
            return Err(CallError::Malformed(format!(
                "a JSON schema was asked but the answer is not JSON ({e}): {:?}",
                excerpt(text.as_bytes())
            )));
        }
    }
    Ok(ChatAnswer {
        text,
        usage,
        truncated,
    })
}

fn read_openai_chat(bytes: &[u8], schema_asked: bool) -> (Result<ChatAnswer, CallError>, Usage) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return (Err(not_json(bytes)), Usage::default());
    };
    let usage = Usage {
        input_tokens: tokens(&value, "/usage/prompt_tokens"),
        output_tokens: tokens(&value, "/usage/completion_tokens"),
    };
    let Some(choice) = value.pointer("/choices/0") else {
        return (
            Err(CallError::Malformed(
                "the answer has no choices".to_string(),
            )),
            usage,
        );
    };
    let Some(text) = choice.pointer("/message/content").and_then(Value::as_str) else {
        let why = match choice.pointer("/message/refusal").and_then(Value::as_str) {
            Some(refusal) => format!("the model refused: {refusal}"),
            None => "the answer's first choice has no text content".to_string(),
        };
        return (Err(CallError::Malformed(why)), usage);
    };
    let truncated = choice.get("finish_reason").and_then(Value::as_str) == Some("length");
    (
        finish(text.to_string(), usage, truncated, schema_asked),
        usage,
    )
}

fn read_anthropic_message(
    bytes: &[u8],
    schema_asked: bool,
) -> (Result<ChatAnswer, CallError>, Usage) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return (Err(not_json(bytes)), Usage::default());
    };
    let usage = Usage {
        input_tokens: tokens(&value, "/usage/input_tokens"),
        output_tokens: tokens(&value, "/usage/output_tokens"),
    };
    let Some(blocks) = value.get("content").and_then(Value::as_array) else {
        return (
            Err(CallError::Malformed(
                "the answer has no content list".to_string(),
            )),
            usage,
        );
    };
    let truncated = value.get("stop_reason").and_then(Value::as_str) == Some("max_tokens");
    let kind = |block: &Value| {
        block
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let text = if schema_asked {
        let tool = blocks.iter().find(|block| {
            kind(block).as_deref() == Some("tool_use")
                && block.get("name").and_then(Value::as_str) == Some(ANSWER_NAME)
        });
        match tool.and_then(|block| block.get("input")) {
            Some(input) if input.is_object() => input.to_string(),
            Some(_) if !truncated => {
                return (
                    Err(CallError::Malformed(
                        "the answer tool's input is not a JSON object".to_string(),
                    )),
                    usage,
                );
            }
            _ if truncated => String::new(),
            _ => {
                return (
                    Err(CallError::Malformed(format!(
                        "a JSON schema was asked but the answer has no `{ANSWER_NAME}` tool_use block"
                    ))),
                    usage,
                );
            }
        }
    } else {
        let texts: Vec<&str> = blocks
            .iter()
            .filter(|block| kind(block).as_deref() == Some("text"))
            .filter_map(|block| block.get("text").and_then(Value::as_str))
            .collect();
        if texts.is_empty() && !truncated {
            return (
                Err(CallError::Malformed(
                    "the answer has no text block".to_string(),
                )),
                usage,
            );
        }
        texts.concat()
    };
    (finish(text, usage, truncated, schema_asked), usage)
}

fn read_openai_embeddings(bytes: &[u8], count: usize) -> (Result<EmbedAnswer, CallError>, Usage) {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return (Err(not_json(bytes)), Usage::default());
    };
    // Some servers omit usage for embeddings: then nothing is counted.
    let usage = Usage {
        input_tokens: tokens(&value, "/usage/prompt_tokens"),
        output_tokens: 0,
    };
    let malformed = |why: String| (Err(CallError::Malformed(why)), usage);
    let Some(data) = value.get("data").and_then(Value::as_array) else {
        return malformed("the answer has no data list".to_string());
    };
    if data.len() != count {
        return malformed(format!(
            "{count} texts were sent but {} embeddings came back",
            data.len()
        ));
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; count];
    for (position, item) in data.iter().enumerate() {
        let index = match item.get("index").and_then(Value::as_u64) {
            Some(index) if (index as usize) < count => index as usize,
            _ => return malformed(format!("data[{position}] has no valid index")),
        };
        let Some(numbers) = item.get("embedding").and_then(Value::as_array) else {
            return malformed(format!(
                "data[{position}].embedding is not a list of numbers (base64 is not read)"
            ));
        };
        let mut vector = Vec::with_capacity(numbers.len());
        for number in numbers {
            match number.as_f64() {
                Some(n) => vector.push(n as f32),
                None => {
                    return malformed(format!("data[{position}].embedding holds a non-number"));
                }
            }
        }
        if vectors[index].replace(vector).is_some() {
            return malformed(format!("index {index} appears twice in data"));
        }
    }
    // Every slot is filled: `count` items, each a distinct index below `count`.
    let vectors = vectors.into_iter().flatten().collect();
    (Ok(EmbedAnswer { vectors, usage }), usage)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;
    use crate::llm::Message;
    use crate::llm::fake::{FakeProvider, Step};

    const KEY: &str = "sk-test-7f3a9c2e51";

    fn config(fake: &FakeProvider, api: Api) -> ProviderConfig {
        let mut config = ProviderConfig::new("test", api, &fake.base_url(), "test-model");
        config.timeout = Duration::from_secs(10);
        config.max_retries = 2;
        config.max_retry_wait = Duration::from_secs(5);
        config
    }

    fn provider(fake: &FakeProvider, api: Api) -> Provider {
        Provider::new(config(fake, api), Some(KEY.to_string())).expect("a provider")
    }

    fn in_30s() -> Instant {
        Instant::now() + Duration::from_secs(30)
    }

    fn message(role: Role, content: &str) -> Message {
        Message {
            role,
            content: content.to_string(),
        }
    }

    /// A rule's usual request: instructions, then the material.
    fn review(text: &str) -> ChatRequest {
        ChatRequest {
            messages: vec![
                message(Role::System, "You review an agent's conversations."),
                message(Role::System, "Answer in one sentence."),
                message(Role::User, text),
            ],
            ..ChatRequest::default()
        }
    }

    const SCHEMA: &str = r#"{"type":"object","properties":{"theme":{"type":"string"}},"required":["theme"],"additionalProperties":false}"#;

    fn error_text<T: std::fmt::Debug>(attempted: &Attempted<T>) -> String {
        match &attempted.result {
            Err(error) => error.to_string(),
            Ok(answer) => panic!("expected an error, got {answer:?}"),
        }
    }

    #[test]
    fn openai_chat_sends_the_documented_request_and_reads_the_answer() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![Step::Reply {
                text: "Users ask for refunds twice.".to_string(),
                input_tokens: 42,
                output_tokens: 7,
            }],
        );
        let mut request = review("user: refund please");
        request.max_output_tokens = Some(200);
        let done = provider(&fake, Api::OpenAi).chat(&request, in_30s());

        let answer = done.result.expect("an answer");
        assert_eq!(answer.text, "Users ask for refunds twice.");
        assert!(!answer.truncated);
        let usage = Usage {
            input_tokens: 42,
            output_tokens: 7,
        };
        assert_eq!((answer.usage, done.usage, done.attempts), (usage, usage, 1));

        let sent = &fake.requests()[0];
        assert_eq!(sent.path, "/v1/chat/completions");
        assert_eq!(
            sent.header("authorization"),
            Some(&*format!("Bearer {KEY}"))
        );
        assert_eq!(
            sent.body,
            json!({
                "model": "test-model",
                "messages": [
                    {"role": "system", "content": "You review an agent's conversations."},
                    {"role": "system", "content": "Answer in one sentence."},
                    {"role": "user", "content": "user: refund please"},
                ],
                "max_tokens": 200,
                "temperature": 0.0,
            })
        );
    }

    #[test]
    fn openai_without_a_key_sends_no_authorization_header() {
        let fake = FakeProvider::start(Api::OpenAi, vec![Step::reply("ok")]);
        let local = Provider::new(config(&fake, Api::OpenAi), None).expect("a provider");
        let mut request = review("hi");
        request.temperature = Some(0.2);
        assert!(local.chat(&request, in_30s()).result.is_ok());
        let sent = &fake.requests()[0];
        assert_eq!(sent.header("authorization"), None);
        assert_eq!(sent.body["temperature"], json!(0.2));
        assert!(sent.body.get("max_tokens").is_none());
    }

    #[test]
    fn openai_schema_request_asks_for_strict_json_and_gets_json_text() {
        let fake = FakeProvider::start(Api::OpenAi, vec![Step::reply(r#"{"theme":"refunds"}"#)]);
        let mut request = review("user: refund please");
        request.json_schema = Some(SCHEMA.to_string());
        let done = provider(&fake, Api::OpenAi).chat(&request, in_30s());
        assert_eq!(
            done.result.expect("an answer").text,
            r#"{"theme":"refunds"}"#
        );
        let sent = &fake.requests()[0];
        assert_eq!(
            sent.body["response_format"],
            json!({
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "schema": serde_json::from_str::<Value>(SCHEMA).expect("schema"),
                    "strict": true,
                },
            })
        );
    }

    #[test]
    fn anthropic_chat_moves_system_messages_to_the_top_and_joins_text_blocks() {
        let fake = FakeProvider::start(
            Api::Anthropic,
            vec![Step::Reply {
                text: "Users ask for refunds twice.".to_string(),
                input_tokens: 30,
                output_tokens: 9,
            }],
        );
        let mut request = review("user: refund please");
        request.messages.push(message(Role::Assistant, "Noted."));
        request.messages.push(message(Role::User, "And the tone?"));
        let done = provider(&fake, Api::Anthropic).chat(&request, in_30s());

        let answer = done.result.expect("an answer");
        assert_eq!(answer.text, "Users ask for refunds twice.");
        assert_eq!(
            done.usage,
            Usage {
                input_tokens: 30,
                output_tokens: 9
            }
        );
        let sent = &fake.requests()[0];
        assert_eq!(sent.path, "/v1/messages");
        assert_eq!(sent.header("x-api-key"), Some(KEY));
        assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(sent.header("authorization"), None);
        assert_eq!(
            sent.body,
            json!({
                "model": "test-model",
                "max_tokens": 1024,
                "system": "You review an agent's conversations.\n\nAnswer in one sentence.",
                "messages": [
                    {"role": "user", "content": "user: refund please"},
                    {"role": "assistant", "content": "Noted."},
                    {"role": "user", "content": "And the tone?"},
                ],
                "temperature": 0.0,
            })
        );
    }

    #[test]
    fn anthropic_schema_request_forces_the_answer_tool_and_returns_its_input() {
        let fake =
            FakeProvider::start(Api::Anthropic, vec![Step::reply(r#"{"theme": "refunds"}"#)]);
        let request = ChatRequest {
            messages: vec![message(Role::User, "user: refund please")],
            json_schema: Some(SCHEMA.to_string()),
            max_output_tokens: Some(300),
            temperature: None,
        };
        let done = provider(&fake, Api::Anthropic).chat(&request, in_30s());
        let text = done.result.expect("an answer").text;
        assert_eq!(
            serde_json::from_str::<Value>(&text).expect("JSON text"),
            json!({"theme": "refunds"})
        );
        let sent = &fake.requests()[0];
        assert!(sent.body.get("system").is_none());
        assert_eq!(sent.body["max_tokens"], 300);
        assert_eq!(
            sent.body["tools"],
            json!([{
                "name": "answer",
                "description": "Give the answer.",
                "input_schema": serde_json::from_str::<Value>(SCHEMA).expect("schema"),
            }])
        );
        assert_eq!(
            sent.body["tool_choice"],
            json!({"type": "tool", "name": "answer"})
        );
    }

    #[test]
    fn an_answer_cut_at_the_token_limit_is_marked_truncated_in_both_protocols() {
        for api in [Api::OpenAi, Api::Anthropic] {
            let fake = FakeProvider::start(api, vec![Step::Truncated]);
            let mut request = review("summarise");
            request.max_output_tokens = Some(64);
            let done = provider(&fake, api).chat(&request, in_30s());
            let answer = done.result.expect("an answer");
            assert!(answer.truncated, "{api:?}");
            assert_eq!(answer.text, "The answer was cut");
            assert_eq!(done.usage.output_tokens, 64, "{api:?}");
        }
    }

    #[test]
    fn a_schema_answer_cut_at_the_token_limit_is_malformed_but_its_tokens_count() {
        for api in [Api::OpenAi, Api::Anthropic] {
            let fake = FakeProvider::start(api, vec![Step::Truncated]);
            let mut request = review("summarise");
            request.json_schema = Some(SCHEMA.to_string());
            request.max_output_tokens = Some(64);
            let done = provider(&fake, api).chat(&request, in_30s());
            assert!(
                matches!(&done.result, Err(CallError::Malformed(m)) if m.contains("token limit")),
                "{api:?}: {:?}",
                done.result
            );
            assert_eq!(done.usage.output_tokens, 64, "{api:?}");
        }
    }

    #[test]
    fn a_429_with_retry_after_is_waited_out_then_answered() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![
                Step::Status {
                    code: 429,
                    retry_after: Some("1".to_string()),
                    body: String::new(),
                },
                Step::reply("ok"),
            ],
        );
        let started = Instant::now();
        let done = provider(&fake, Api::OpenAi).chat(&review("hi"), in_30s());
        assert_eq!(done.result.expect("an answer").text, "ok");
        assert_eq!(done.attempts, 2);
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "retried after {:?}",
            started.elapsed()
        );
        assert_eq!(fake.requests().len(), 2);
    }

    #[test]
    fn a_server_error_then_success_counts_two_attempts_and_the_usage() {
        let fake = FakeProvider::start(
            Api::Anthropic,
            vec![
                Step::Status {
                    code: 529,
                    retry_after: None,
                    body: String::new(),
                },
                Step::Reply {
                    text: "ok".to_string(),
                    input_tokens: 11,
                    output_tokens: 3,
                },
            ],
        );
        let done = provider(&fake, Api::Anthropic).chat(&review("hi"), in_30s());
        assert_eq!(done.result.expect("an answer").text, "ok");
        assert_eq!(done.attempts, 2);
        assert_eq!(
            done.usage,
            Usage {
                input_tokens: 11,
                output_tokens: 3
            }
        );
    }

    #[test]
    fn retries_run_out_and_the_error_names_the_status() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![Step::Status {
                code: 503,
                retry_after: None,
                body: r#"{"error":{"message":"The engine is overloaded","type":"server_error"}}"#
                    .to_string(),
            }],
        );
        let mut config = config(&fake, Api::OpenAi);
        config.max_retries = 1;
        let done = Provider::new(config, None)
            .expect("a provider")
            .chat(&review("hi"), in_30s());
        let error = error_text(&done);
        assert!(matches!(done.result, Err(CallError::Provider(_))));
        assert!(error.contains("503"), "{error}");
        assert!(error.contains("The engine is overloaded"), "{error}");
        assert!(error.contains("gave up after 2 attempts"), "{error}");
        assert_eq!((done.attempts, fake.requests().len()), (2, 2));
    }

    #[test]
    fn a_retry_after_past_the_deadline_ends_the_call_at_once() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![
                Step::Status {
                    code: 429,
                    retry_after: Some("4".to_string()),
                    body: String::new(),
                },
                Step::reply("too late"),
            ],
        );
        let started = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(2);
        let done = provider(&fake, Api::OpenAi).chat(&review("hi"), deadline);
        let error = error_text(&done);
        assert!(matches!(done.result, Err(CallError::Provider(_))));
        assert!(error.contains("429"), "{error}");
        assert!(error.contains("Retry-After: 4"), "{error}");
        assert!(error.contains("deadline"), "{error}");
        assert_eq!(done.attempts, 1);
        // It did not sit out the wait it could not finish.
        assert!(Instant::now() < deadline, "{:?}", started.elapsed());
    }

    #[test]
    fn a_retry_after_longer_than_max_retry_wait_ends_the_call() {
        let fake = FakeProvider::start(
            Api::Anthropic,
            vec![Step::Status {
                code: 429,
                retry_after: Some("120".to_string()),
                body: String::new(),
            }],
        );
        let done = provider(&fake, Api::Anthropic).chat(&review("hi"), in_30s());
        let error = error_text(&done);
        assert!(error.contains("Retry-After 120"), "{error}");
        assert!(error.contains("max_retry_wait"), "{error}");
        assert_eq!(done.attempts, 1);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 12:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn a_provider_that_does_not_answer_times_out_without_a_retry() {
        let fake = FakeProvider::start(Api::OpenAi, vec![Step::Hang(Duration::from_secs(5))]);
        let mut config = config(&fake, Api::OpenAi);
        config.timeout = Duration::from_millis(300);
        let done = Provider::new(config, None)
            .expect("a provider")
            .chat(&review("hi"), in_30s());
        assert!(
            matches!(&done.result, Err(CallError::Timeout(_))),
            "{:?}",
            done.result
        );
        assert_eq!(done.attempts, 1);
    }

    #[test]
    fn a_deadline_nearer_than_the_timeout_cuts_the_request_short() {
        let fake = FakeProvider::start(Api::Anthropic, vec![Step::Hang(Duration::from_secs(5))]);
        let deadline = Instant::now() + Duration::from_millis(300);
        let done = provider(&fake, Api::Anthropic).chat(&review("hi"), deadline);
        assert!(
            matches!(&done.result, Err(CallError::Timeout(_))),
            "{:?}",
            done.result
        );
        assert!(Instant::now() < deadline + Duration::from_secs(3));
    }

    #[test]
    fn an_answer_that_is_not_json_is_malformed() {
        for api in [Api::OpenAi, Api::Anthropic] {
            let fake =
                FakeProvider::start(api, vec![Step::Malformed("<html>gateway</html>".into())]);
            let done = provider(&fake, api).chat(&review("hi"), in_30s());
            let error = error_text(&done);
            assert!(
                matches!(done.result, Err(CallError::Malformed(_))),
                "{api:?}"
            );
            assert!(error.contains("<html>gateway</html>"), "{error}");
            assert_eq!(done.attempts, 1);
        }
    }

    #[test]
    fn an_answer_without_choices_is_malformed_but_its_usage_counts() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![Step::Malformed(
                r#"{"choices":[],"usage":{"prompt_tokens":17,"completion_tokens":0}}"#.into(),
            )],
        );
        let done = provider(&fake, Api::OpenAi).chat(&review("hi"), in_30s());
        assert!(matches!(&done.result, Err(CallError::Malformed(m)) if m.contains("no choices")));
        assert_eq!(done.usage.input_tokens, 17);
    }

    #[test]
    fn a_schema_answer_that_is_not_json_is_malformed() {
        for api in [Api::OpenAi, Api::Anthropic] {
            let fake = FakeProvider::start(
                api,
                vec![Step::Reply {
                    text: "Sure! The theme is refunds.".to_string(),
                    input_tokens: 20,
                    output_tokens: 8,
                }],
            );
            let mut request = review("hi");
            request.json_schema = Some(SCHEMA.to_string());
            let done = provider(&fake, api).chat(&request, in_30s());
            assert!(
                matches!(&done.result, Err(CallError::Malformed(_))),
                "{api:?}: {:?}",
                done.result
            );
            assert_eq!(done.usage.output_tokens, 8, "{api:?}");
        }
    }

    #[test]
    fn a_401_is_not_retried_and_the_key_never_shows() {
        // Some providers quote the key they refused.
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![Step::Status {
                code: 401,
                retry_after: None,
                body: json!({"error": {
                    "message": format!("Incorrect API key provided: {KEY}."),
                    "type": "invalid_request_error",
                }})
                .to_string(),
            }],
        );
        let client = provider(&fake, Api::OpenAi);
        let done = client.chat(&review("hi"), in_30s());
        let error = error_text(&done);
        assert!(matches!(done.result, Err(CallError::Provider(_))));
        assert!(error.contains("401"), "{error}");
        assert!(error.contains("Incorrect API key provided"), "{error}");
        assert!(!error.contains(KEY), "{error}");
        assert!(!format!("{done:?}").contains(KEY));
        assert!(!format!("{client:?}").contains(KEY));
        assert_eq!((done.attempts, fake.requests().len()), (1, 1));
    }

    #[test]
    fn a_400_shows_the_providers_message_without_a_retry() {
        let fake = FakeProvider::start(Api::Anthropic, vec![Step::reply("unused")]);
        // A message with empty content: the fake answers as Anthropic does.
        let request = ChatRequest {
            messages: vec![message(Role::User, "")],
            ..ChatRequest::default()
        };
        let done = provider(&fake, Api::Anthropic).chat(&request, in_30s());
        let error = error_text(&done);
        assert!(error.contains("400"), "{error}");
        assert!(error.contains("non-empty content"), "{error}");
        assert_eq!(done.attempts, 1);
    }

    #[test]
    fn a_redirect_is_not_followed_and_names_its_location() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![Step::Redirect {
                code: 307,
                location: "http://169.254.169.254/latest/meta-data".to_string(),
            }],
        );
        let done = provider(&fake, Api::OpenAi).chat(&review("hi"), in_30s());
        let error = error_text(&done);
        assert!(error.contains("307"), "{error}");
        assert!(
            error.contains("Location: http://169.254.169.254/latest/meta-data"),
            "{error}"
        );
        assert_eq!((done.attempts, fake.requests().len()), (1, 1));
    }

    #[test]
    fn a_provider_nobody_listens_on_is_retried_then_reported() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut config = ProviderConfig::new(
            "gone",
            Api::OpenAi,
            &format!("http://127.0.0.1:{port}/v1"),
            "m",
        );
        config.max_retries = 1;
        let done = Provider::new(config, Some(KEY.to_string()))
            .expect("a provider")
            .chat(&review("hi"), in_30s());
        let error = error_text(&done);
        assert!(error.contains("cannot reach"), "{error}");
        assert_eq!(done.attempts, 2);
    }

    #[test]
    fn embeddings_come_back_in_the_order_of_the_texts() {
        let fake = FakeProvider::start(Api::OpenAi, vec![Step::Embed { dim: 3 }]);
        let mut config = config(&fake, Api::OpenAi);
        config.embedding_model = Some("embed-small".to_string());
        let texts: Vec<String> = ["a", "refund", "where is my order"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let done = Provider::new(config, None)
            .expect("a provider")
            .embed(&texts, in_30s());
        let answer = done.result.expect("embeddings");
        // The fake lists the last text first; element 0 is each text's length.
        let lengths: Vec<f32> = answer.vectors.iter().map(|v| v[0]).collect();
        assert_eq!(lengths, vec![1.0, 6.0, 17.0]);
        assert!(answer.vectors.iter().all(|v| v.len() == 3));
        assert_eq!(done.usage.input_tokens, 6);
        let sent = &fake.requests()[0];
        assert_eq!(sent.path, "/v1/embeddings");
        assert_eq!(
            sent.body,
            json!({"model": "embed-small", "input": ["a", "refund", "where is my order"]})
        );
    }

    #[test]
    fn embeddings_without_usage_count_nothing() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![Step::Malformed(
                r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}]}"#
                    .into(),
            )],
        );
        let mut config = config(&fake, Api::OpenAi);
        config.embedding_model = Some("nomic-embed-text".to_string());
        let done = Provider::new(config, None)
            .expect("a provider")
            .embed(&["hello".to_string()], in_30s());
        assert_eq!(
            done.result.expect("embeddings").vectors,
            vec![vec![0.5, 0.25]]
        );
        assert_eq!(done.usage, Usage::default());
    }

    #[test]
    fn embeddings_are_refused_without_a_request_where_there_is_no_embedding_model() {
        let openai = FakeProvider::start(Api::OpenAi, vec![Step::Embed { dim: 2 }]);
        let done = provider(&openai, Api::OpenAi).embed(&["x".to_string()], in_30s());
        assert!(
            matches!(&done.result, Err(CallError::Invalid(m)) if m.contains("embedding_model"))
        );
        assert_eq!(done.attempts, 0);

        let anthropic = FakeProvider::start(Api::Anthropic, vec![Step::reply("x")]);
        let mut config = config(&anthropic, Api::Anthropic);
        config.embedding_model = Some("voyage".to_string());
        let done = Provider::new(config, Some(KEY.to_string()))
            .expect("a provider")
            .embed(&["x".to_string()], in_30s());
        assert!(matches!(&done.result, Err(CallError::Invalid(m)) if m.contains("no embeddings")));
        assert!(openai.requests().is_empty() && anthropic.requests().is_empty());
    }

    #[test]
    fn requests_that_cannot_be_sent_are_refused_before_any_request() {
        let fake = FakeProvider::start(Api::Anthropic, vec![Step::reply("unused")]);
        let client = provider(&fake, Api::Anthropic);
        let refused = |request: ChatRequest| {
            let done = client.chat(&request, in_30s());
            assert_eq!(done.attempts, 0);
            error_text(&done)
        };
        assert!(refused(ChatRequest::default()).contains("at least one message"));
        assert!(
            refused(ChatRequest {
                messages: vec![message(Role::System, "only instructions")],
                ..ChatRequest::default()
            })
            .contains("user or assistant message")
        );
        let mut hot = review("hi");
        hot.temperature = Some(1.5);
        assert!(refused(hot).contains("temperature 1.5"));
        let mut not_json = review("hi");
        not_json.json_schema = Some("{type: object".to_string());
        assert!(refused(not_json).contains("not JSON"));
        let mut a_list = review("hi");
        a_list.json_schema = Some(r#"{"type":"array","items":{"type":"string"}}"#.to_string());
        assert!(refused(a_list).contains("root must be an object"));
        assert!(fake.requests().is_empty());
    }

    #[test]
    fn a_deadline_already_past_sends_nothing() {
        let fake = FakeProvider::start(Api::OpenAi, vec![Step::reply("unused")]);
        let done = provider(&fake, Api::OpenAi).chat(&review("hi"), Instant::now());
        assert!(matches!(done.result, Err(CallError::Timeout(_))));
        assert_eq!(done.attempts, 0);
        assert!(fake.requests().is_empty());
    }
}
