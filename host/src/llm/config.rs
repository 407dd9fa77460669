//! The `[llm]` section of the config: providers, the dream's budget, redaction,
//! and each rule's grant (`[rules.llm]`), resolved and checked at load.

use std::time::Duration;

/// Which wire protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST {base_url}/chat/completions` and `/embeddings` (OpenAI, vLLM,
    /// Ollama, llama.cpp's server, LM Studio, most gateways).
    OpenAi,
    /// `POST {base_url}/messages` (Anthropic Messages API, version 2023-06-01).
    Anthropic,
}

/// One `[llm.providers.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    pub name: String,
    pub api: Api,
    /// Without a trailing slash, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub model: String,
    /// The model for `/embeddings`; `None`: embeddings are refused.
    pub embedding_model: Option<String>,
    /// The environment variable holding the API key (read at start, never stored).
    pub api_key_env: Option<String>,
    /// One HTTP request's time limit.
    pub timeout: Duration,
    /// Retries on 429, 5xx and connection failures (0: none).
    pub max_retries: u32,
    /// The longest `Retry-After` the host waits; longer ones end the call.
    pub max_retry_wait: Duration,
    /// Price in the configured currency per million input / output tokens, for the cost figure.
    pub price_input_per_mtok: Option<f64>,
    pub price_output_per_mtok: Option<f64>,
}

impl ProviderConfig {
    /// A provider with the defaults for everything but its address.
    pub fn new(name: &str, api: Api, base_url: &str, model: &str) -> ProviderConfig {
        ProviderConfig {
            name: name.to_string(),
            api,
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            embedding_model: None,
            api_key_env: None,
            timeout: Duration::from_secs(60),
            max_retries: 2,
            max_retry_wait: Duration::from_secs(30),
            price_input_per_mtok: None,
            price_output_per_mtok: None,
        }
    }
}
