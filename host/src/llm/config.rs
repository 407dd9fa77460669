//! The `[llm]` section of the config: providers, the dream's budget, redaction,
//! and each rule's grant (`[rules.llm]`), resolved and checked at load.
//!
//! Owned here; it must not read any other section.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::budget;
use crate::units::{bounded, bounded_duration};

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

/// `[llm]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmFile {
    #[serde(default)]
    providers: BTreeMap<String, ProviderFile>,
    #[serde(default)]
    dream_budget: BudgetFile,
    #[serde(default)]
    redact: RedactFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    api: String,
    base_url: String,
    model: String,
    embedding_model: Option<String>,
    api_key_env: Option<String>,
    timeout: Option<String>,
    max_retries: Option<u32>,
    max_retry_wait: Option<String>,
    price_input_per_mtok: Option<f64>,
    price_output_per_mtok: Option<f64>,
}

/// A budget as written: `[llm.dream_budget]`, or the figures of `[rules.llm]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    calls: Option<u32>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactFile {
    emails: Option<bool>,
    phones: Option<bool>,
    cards: Option<bool>,
    #[serde(default)]
    patterns: Vec<String>,
}

/// `[rules.llm]` as written: the provider a rule may call, and its budget per dream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantFile {
    provider: String,
    calls: Option<u32>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    time: Option<String>,
}

/// What to take out of every text before it leaves the host.
#[derive(Debug, Clone, PartialEq)]
pub struct RedactConfig {
    pub emails: bool,
    pub phones: bool,
    pub cards: bool,
    pub patterns: Vec<String>,
}

/// The resolved `[llm]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub providers: Vec<ProviderConfig>,
    pub dream_budget: budget::Limits,
    pub redact: RedactConfig,
}

/// A rule's right to call a provider, with its budget per dream.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub provider: String,
    pub budget: budget::Limits,
}

/// A grant's budget when the config names none of its figures: enough for a
/// few hundred short calls, bounded in every dimension.
pub const DEFAULT_GRANT: budget::Limits = budget::Limits {
    calls: Some(200),
    input_tokens: Some(400_000),
    output_tokens: Some(60_000),
    time_ms: Some(15 * 60_000),
};

/// The dream's budget over all its rules, unless `[llm.dream_budget]` says otherwise.
pub const DEFAULT_DREAM_BUDGET: budget::Limits = budget::Limits {
    calls: Some(1_000),
    input_tokens: Some(2_000_000),
    output_tokens: Some(300_000),
    time_ms: Some(60 * 60_000),
};

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            providers: Vec::new(),
            dream_budget: DEFAULT_DREAM_BUDGET,
            redact: RedactConfig {
                emails: true,
                phones: true,
                cards: true,
                patterns: Vec::new(),
            },
        }
    }
}

impl LlmConfig {
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}

fn budget(at: &str, file: &BudgetFile, defaults: budget::Limits) -> Result<budget::Limits, String> {
    let time_ms = match &file.time {
        None => defaults.time_ms,
        Some(t) => Some(
            bounded_duration(
                &format!("{at}.time"),
                t,
                Duration::from_secs(1),
                Duration::from_secs(7 * 86_400),
            )?
            .as_millis() as u64,
        ),
    };
    Ok(budget::Limits {
        calls: match file.calls {
            None => defaults.calls,
            Some(n) => Some(bounded(&format!("{at}.calls"), n, 1..=1_000_000)?),
        },
        input_tokens: match file.input_tokens {
            None => defaults.input_tokens,
            Some(n) => Some(bounded(
                &format!("{at}.input_tokens"),
                n,
                1..=10_000_000_000,
            )?),
        },
        output_tokens: match file.output_tokens {
            None => defaults.output_tokens,
            Some(n) => Some(bounded(
                &format!("{at}.output_tokens"),
                n,
                1..=10_000_000_000,
            )?),
        },
        time_ms,
    })
}

/// A host is loopback if it is `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Scheme and host of a base URL, or why it is not one.
fn url_parts(url: &str) -> Result<(&str, &str), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not a URL like \"http://127.0.0.1:8080/v1\""))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("{url:?}: only http and https are supported"));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if authority.starts_with('[') {
        authority.split(']').next().map_or("", |h| &h[1..])
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    Ok((scheme, host))
}

/// Resolve `[llm]`. Errors name the key (`llm.providers.local.base_url: ...`).
pub fn resolve(file: &LlmFile) -> Result<LlmConfig, String> {
    let mut out = LlmConfig::default();
    for (name, p) in &file.providers {
        let at = format!("llm.providers.{name}");
        let api = match p.api.as_str() {
            "openai" => Api::OpenAi,
            "anthropic" => Api::Anthropic,
            other => {
                return Err(format!(
                    "{at}.api must be \"openai\" (any OpenAI-compatible server) or \"anthropic\", got {other:?}"
                ));
            }
        };
        let (scheme, host) = url_parts(&p.base_url).map_err(|e| format!("{at}.base_url: {e}"))?;
        // Provider URLs come from this file, which only the operator writes;
        // a rule never names one. The one thing refused is a key sent in clear
        // text to another machine.
        if p.api_key_env.is_some() && scheme == "http" && !is_loopback(host) {
            return Err(format!(
                "{at}.base_url: {:?} is plain http to another machine, which would send the API key in clear text; use https",
                p.base_url
            ));
        }
        if let Some(var) = &p.api_key_env
            && (var.is_empty() || var.contains('='))
        {
            return Err(format!(
                "{at}.api_key_env must name an environment variable, got {var:?}"
            ));
        }
        if p.model.trim().is_empty() {
            return Err(format!("{at}.model must not be empty"));
        }
        if api == Api::Anthropic && p.embedding_model.is_some() {
            return Err(format!(
                "{at}.embedding_model: the Anthropic API has no embeddings; declare an OpenAI-compatible provider for them"
            ));
        }
        let mut provider = ProviderConfig::new(name, api, &p.base_url, &p.model);
        provider.embedding_model = p.embedding_model.clone();
        provider.api_key_env = p.api_key_env.clone();
        if let Some(t) = &p.timeout {
            provider.timeout = bounded_duration(
                &format!("{at}.timeout"),
                t,
                Duration::from_secs(1),
                Duration::from_secs(3_600),
            )?;
        }
        if let Some(n) = p.max_retries {
            provider.max_retries = bounded(&format!("{at}.max_retries"), n, 0..=10)?;
        }
        if let Some(t) = &p.max_retry_wait {
            provider.max_retry_wait = bounded_duration(
                &format!("{at}.max_retry_wait"),
                t,
                Duration::ZERO,
                Duration::from_secs(600),
            )?;
        }
        for (key, price) in [
            ("price_input_per_mtok", p.price_input_per_mtok),
            ("price_output_per_mtok", p.price_output_per_mtok),
        ] {
            if let Some(x) = price
                && (!x.is_finite() || x < 0.0)
            {
                return Err(format!("{at}.{key} must be a price of 0 or more, got {x}"));
            }
        }
        provider.price_input_per_mtok = p.price_input_per_mtok;
        provider.price_output_per_mtok = p.price_output_per_mtok;
        out.providers.push(provider);
    }
    out.dream_budget = budget("llm.dream_budget", &file.dream_budget, DEFAULT_DREAM_BUDGET)?;
    let r = &file.redact;
    out.redact = RedactConfig {
        emails: r.emails.unwrap_or(true),
        phones: r.phones.unwrap_or(true),
        cards: r.cards.unwrap_or(true),
        patterns: r.patterns.clone(),
    };
    Ok(out)
}

/// Resolve a rule's `[rules.llm]` against the declared providers. `at` is the
/// rule's place in the file (`rules[3]`).
pub fn grant(at: &str, file: &GrantFile, llm: &LlmConfig) -> Result<Grant, String> {
    if llm.provider(&file.provider).is_none() {
        let known: Vec<&str> = llm.providers.iter().map(|p| p.name.as_str()).collect();
        return Err(format!(
            "{at}.llm.provider: no provider named {:?} under [llm.providers] (declared: {})",
            file.provider,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    }
    let figures = BudgetFile {
        calls: file.calls,
        input_tokens: file.input_tokens,
        output_tokens: file.output_tokens,
        time: file.time.clone(),
    };
    Ok(Grant {
        provider: file.provider.clone(),
        budget: budget(&format!("{at}.llm"), &figures, DEFAULT_GRANT)?,
    })
}
