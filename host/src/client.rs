//! A small blocking client for reverie's own API, for the CLI commands that talk
//! to a running server (`import`, `keys`, `rule install|list|remove`).
//!
//! Errors are for people: a problem+json response is shown as its `detail` and
//! field errors, not as a status code.
//!
//! It must not know the server's insides: it speaks HTTP and JSON only.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot reach the server at {url}: {message} (is `reverie serve` running? --url sets the address)"
    )]
    Unreachable { url: String, message: String },
    #[error("{status}: {detail}")]
    Problem {
        status: u16,
        detail: String,
        /// `(field, message)` pairs from the problem's `errors`.
        errors: Vec<(String, String)>,
    },
    #[error("the server answered with something that is not JSON: {0}")]
    Garbled(String),
}

impl ClientError {
    /// Server-side trouble worth retrying: unreachable, 5xx, or a key still in flight.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Problem { status, .. } => *status >= 500,
            ClientError::Garbled(_) => false,
        }
    }
}

pub struct Client {
    base: String,
    key: String,
    http: reqwest::blocking::Client,
}

impl Client {
    pub fn new(base: &str, key: &str) -> Result<Client, ClientError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.to_string(),
                message: e.to_string(),
            })?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            http,
        })
    }

    /// Send a request; `body` is JSON text.
    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        Self::answer(request, url)
    }

    /// POST a WebAssembly component (`application/wasm`).
    pub fn send_component(&self, path: &str, component: Vec<u8>) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let request = self
            .http
            .post(&url)
            .bearer_auth(&self.key)
            .header("content-type", "application/wasm")
            .body(component);
        Self::answer(request, url)
    }

    /// Send `request` and read its answer: the JSON of a success (`null` for
    /// an empty one, as a 204 is), or the problem.
    fn answer(
        request: reqwest::blocking::RequestBuilder,
        url: String,
    ) -> Result<Value, ClientError> {
        let response = request.send().map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response.text().map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            message: e.to_string(),
        })?;
        if (200..300).contains(&status) && text.is_empty() {
            return Ok(Value::Null);
        }
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            ClientError::Garbled(format!(
                "{status} {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let detail = value
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("(no detail)")
            .to_string();
        let errors = value
            .get("errors")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|e| {
                        (
                            e.get("field")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            e.get("message")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Err(ClientError::Problem {
            status,
            detail,
            errors,
        })
    }
}
