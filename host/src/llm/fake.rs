//! A loopback model provider for tests: it speaks the OpenAI-compatible or the
//! Anthropic Messages protocol over real HTTP on 127.0.0.1, answers from a script,
//! and records every request it received.
//!
//! Every request is first checked against the documented shape of its endpoint
//! (required fields and their types, the roles each API allows, `max_tokens` and
//! the `anthropic-version` and `x-api-key` headers for Anthropic, no `system`
//! role inside Anthropic's `messages`, fields the API does not know, the strict
//! JSON-schema rules of OpenAI's structured outputs). A request that fails the
//! check is answered 400 (401 for a missing Anthropic key) in the provider's own
//! error JSON, naming the problem, and is recorded but consumes no step.
//!
//! The server is small on purpose: `std::net` and one thread per connection, one
//! request per connection (`Connection: close`), `Content-Length` bodies only.
//! Compiled into the library (not only under `cfg(test)`) so the end-to-end tests
//! of the real binary can point a provider at it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::config::Api;

/// The longest request head (request line and headers) the fake reads.
const MAX_HEAD: usize = 64 * 1024;
/// The largest request body the fake reads.
const MAX_BODY: usize = 64 << 20;

/// What the fake does with the next well-formed request. Steps are consumed in
/// order; the last one repeats forever.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A complete answer in the protocol's shape. For a schema request on
    /// Anthropic (a forced tool), `text` is parsed as JSON and sent as the
    /// `tool_use` block's `input` (as a JSON string if it does not parse).
    Reply {
        text: String,
        input_tokens: u64,
        output_tokens: u64,
    },
    /// An error status, with an optional `Retry-After` header. An empty `body`
    /// becomes the provider's error JSON saying `fake status CODE`.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// A redirect (`code` is 301, 302, 307 or 308) to `location`.
    Redirect { code: u16, location: String },
    /// Sleep this long, then close the connection without answering.
    Hang(Duration),
    /// This raw body with status 200.
    Malformed(String),
    /// An answer cut at the token limit (`finish_reason: "length"`,
    /// `stop_reason: "max_tokens"`).
    Truncated,
    /// Embeddings of `dim` numbers per input text (OpenAI only). Element 0 of a
    /// text's vector is its length in characters, element `j` is `j / 1000`.
    /// The `data` list is sent last index first, as the protocol allows, so a
    /// client that ignores `index` is caught.
    Embed { dim: usize },
}

impl Step {
    /// A reply of `text` that used 10 input and 5 output tokens.
    pub fn reply(text: &str) -> Step {
        Step::Reply {
            text: text.to_string(),
            input_tokens: 10,
            output_tokens: 5,
        }
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as JSON; a body that is not JSON is kept as a JSON string.
    pub body: Value,
}

impl RecordedRequest {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running fake provider; it stops when dropped.
pub struct FakeProvider {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

struct State {
    api: Api,
    script: Mutex<Script>,
    requests: Mutex<Vec<RecordedRequest>>,
    stop: AtomicBool,
    ids: AtomicU64,
}

struct Script {
    steps: Vec<Step>,
    next: usize,
}

impl FakeProvider {
    /// Listen on 127.0.0.1 (a free port) and answer with `script`.
    ///
    /// Panics when no loopback port can be bound or `script` is empty: this is a
    /// test fixture, and either means the test cannot run.
    pub fn start(api: Api, script: Vec<Step>) -> FakeProvider {
        assert!(
            !script.is_empty(),
            "a fake provider needs at least one step"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let state = Arc::new(State {
            api,
            script: Mutex::new(Script {
                steps: script,
                next: 0,
            }),
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            ids: AtomicU64::new(1),
        });
        let accept_state = Arc::clone(&state);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&accept_state);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeProvider {
            addr,
            state,
            accept: Some(accept),
        }
    }

    /// The provider's base URL, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far, in order (rejected ones included).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag. Connections still hanging
        // finish on their own; nothing waits for them.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A parsed HTTP/1.1 request.
struct Incoming {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What to send back.
enum Outcome {
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    Hang(Duration),
}

fn serve(stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(&stream);
    let outcome = match read_request(&mut reader) {
        Ok(incoming) => state.answer(incoming),
        Err(problem) => Outcome::Answer {
            status: 400,
            headers: Vec::new(),
            body: error_body(state.api, 400, &problem),
        },
    };
    match outcome {
        Outcome::Answer {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let mut writer = &stream;
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(body.as_bytes());
            let _ = writer.flush();
        }
        Outcome::Hang(pause) => std::thread::sleep(pause),
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn read_request(reader: &mut BufReader<&TcpStream>) -> Result<Incoming, String> {
    let mut head_len = 0;
    let mut line = String::new();
    let mut next_line = |reader: &mut BufReader<&TcpStream>| -> Result<String, String> {
        line.clear();
        let read = reader
            .by_ref()
            .take((MAX_HEAD - head_len) as u64)
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the request: {e}"))?;
        head_len += read;
        if !line.ends_with('\n') {
            return Err("the request head is incomplete or too large".to_string());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    let request_line = next_line(reader)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line: {request_line}"));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(format!("unsupported HTTP version {version}"));
    }
    let (method, path) = (method.to_string(), path.to_string());
    let mut headers = Vec::new();
    loop {
        let header = next_line(reader)?;
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(format!("bad header line: {header}"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if find("transfer-encoding").is_some() {
        return Err("the fake reads Content-Length bodies only".to_string());
    }
    let length = match find("content-length") {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| format!("bad Content-Length: {text}"))?,
    };
    if length > MAX_BODY {
        return Err(format!("the body is larger than {MAX_BODY} bytes"));
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("the body ended early: {e}"))?;
    Ok(Incoming {
        method,
        path,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// The provider's error JSON.
fn error_body(api: Api, status: u16, message: &str) -> String {
    match api {
        Api::OpenAi => {
            let kind = match status {
                401 => "invalid_api_key",
                429 => "rate_limit_exceeded",
                500..=599 => "server_error",
                _ => "invalid_request_error",
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        Api::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                500..=599 => "api_error",
                _ => "invalid_request_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
    }
    .to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    ChatCompletions,
    Embeddings,
    Messages,
}

impl State {
    fn answer(&self, incoming: Incoming) -> Outcome {
        let raw = String::from_utf8_lossy(&incoming.body).into_owned();
        let parsed: Option<Value> = serde_json::from_str(&raw).ok();
        lock(&self.requests).push(RecordedRequest {
            method: incoming.method.clone(),
            path: incoming.path.clone(),
            headers: incoming.headers.clone(),
            body: parsed.clone().unwrap_or(Value::String(raw)),
        });
        let reject = |status: u16, message: String| Outcome::Answer {
            status,
            headers: Vec::new(),
            body: error_body(self.api, status, &message),
        };
        let endpoint = match (self.api, incoming.path.as_str()) {
            (Api::OpenAi, "/v1/chat/completions") => Endpoint::ChatCompletions,
            (Api::OpenAi, "/v1/embeddings") => Endpoint::Embeddings,
            (Api::Anthropic, "/v1/messages") => Endpoint::Messages,
            (_, path) => return reject(404, format!("Invalid URL (POST {path})")),
        };
        if incoming.method != "POST" {
            return reject(
                405,
                format!("{} is not allowed on {}", incoming.method, incoming.path),
            );
        }
        let header = |name: &str| {
            incoming
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if endpoint == Endpoint::Messages {
            if header("x-api-key").is_none_or(str::is_empty) {
                return reject(401, "x-api-key header is required".to_string());
            }
            if header("anthropic-version").is_none() {
                return reject(400, "anthropic-version: header is required".to_string());
            }
        }
        if let Some(auth) = header("authorization")
            && !auth.starts_with("Bearer ")
        {
            return reject(401, "Authorization must be `Bearer KEY`".to_string());
        }
        if !header("content-type").is_some_and(|t| t.starts_with("application/json")) {
            return reject(400, "Content-Type must be application/json".to_string());
        }
        let Some(body) = parsed else {
            return reject(
                400,
                "We could not parse the JSON body of your request.".to_string(),
            );
        };
        let checked = match endpoint {
            Endpoint::ChatCompletions => check_openai_chat(&body),
            Endpoint::Embeddings => check_openai_embeddings(&body),
            Endpoint::Messages => check_anthropic_messages(&body),
        };
        if let Err(problem) = checked {
            return reject(400, problem);
        }
        let step = {
            let mut script = lock(&self.script);
            let index = script.next.min(script.steps.len() - 1);
            script.next += 1;
            script.steps[index].clone()
        };
        self.play(step, endpoint, &body)
    }

    fn play(&self, step: Step, endpoint: Endpoint, body: &Value) -> Outcome {
        let ok = |body: Value| Outcome::Answer {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
        };
        let id = self.ids.fetch_add(1, Ordering::SeqCst);
        let model = body.get("model").cloned().unwrap_or(Value::Null);
        let forced_tool = body
            .get("tool_choice")
            .filter(|choice| choice.get("type").and_then(Value::as_str) == Some("tool"))
            .and_then(|choice| choice.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let schema_asked = body
            .pointer("/response_format/type")
            .and_then(Value::as_str)
            == Some("json_schema");
        let mismatch = |what: &str| Outcome::Answer {
            status: 400,
            headers: Vec::new(),
            body: error_body(
                self.api,
                400,
                &format!("the fake's script has {what} for a request to this endpoint"),
            ),
        };
        match step {
            Step::Status {
                code,
                retry_after,
                body,
            } => Outcome::Answer {
                status: code,
                headers: retry_after
                    .map(|value| vec![("retry-after", value)])
                    .unwrap_or_default(),
                body: if body.is_empty() {
                    error_body(self.api, code, &format!("fake status {code}"))
                } else {
                    body
                },
            },
            Step::Redirect { code, location } => Outcome::Answer {
                status: code,
                headers: vec![("location", location)],
                body: String::new(),
            },
            Step::Hang(pause) => Outcome::Hang(pause),
            Step::Malformed(raw) => Outcome::Answer {
                status: 200,
                headers: Vec::new(),
                body: raw,
            },
            Step::Embed { dim } => {
                if endpoint != Endpoint::Embeddings {
                    return mismatch("Embed");
                }
                let inputs: Vec<String> = match body.get("input") {
                    Some(Value::String(one)) => vec![one.clone()],
                    Some(Value::Array(many)) => many
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                };
                let tokens: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
                let data: Vec<Value> = inputs
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(index, text)| {
                        let vector: Vec<f64> = (0..dim)
                            .map(|j| {
                                if j == 0 {
                                    text.chars().count() as f64
                                } else {
                                    j as f64 / 1000.0
                                }
                            })
                            .collect();
                        json!({"object": "embedding", "index": index, "embedding": vector})
                    })
                    .collect();
                ok(json!({
                    "object": "list",
                    "data": data,
                    "model": model,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                }))
            }
            Step::Reply {
                text,
                input_tokens,
                output_tokens,
            } => match endpoint {
                Endpoint::Embeddings => mismatch("Reply"),
                Endpoint::ChatCompletions => ok(openai_completion(
                    id,
                    &model,
                    &text,
                    "stop",
                    input_tokens,
                    output_tokens,
                )),
                Endpoint::Messages => {
                    let (content, stop) = match forced_tool {
                        Some(name) => {
                            let input =
                                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                            (
                                json!([{"type": "tool_use", "id": format!("toolu_fake_{id}"), "name": name, "input": input}]),
                                "tool_use",
                            )
                        }
                        None => (json!([{"type": "text", "text": text}]), "end_turn"),
                    };
                    ok(anthropic_message(
                        id,
                        &model,
                        content,
                        stop,
                        input_tokens,
                        output_tokens,
                    ))
                }
            },
            Step::Truncated => {
                let limit = body.get("max_tokens").and_then(Value::as_u64).unwrap_or(16);
                match endpoint {
                    Endpoint::Embeddings => mismatch("Truncated"),
                    Endpoint::ChatCompletions => {
                        let text = if schema_asked {
                            r#"{"answer": "the sentence was cut"#
                        } else {
                            "The answer was cut"
                        };
                        ok(openai_completion(id, &model, text, "length", 12, limit))
                    }
                    Endpoint::Messages => {
                        let content = match forced_tool {
                            Some(name) => {
                                json!([{"type": "tool_use", "id": format!("toolu_fake_{id}"), "name": name, "input": {}}])
                            }
                            None => json!([{"type": "text", "text": "The answer was cut"}]),
                        };
                        ok(anthropic_message(
                            id,
                            &model,
                            content,
                            "max_tokens",
                            12,
                            limit,
                        ))
                    }
                }
            }
        }
    }
}

fn openai_completion(
    id: u64,
    model: &Value,
    text: &str,
    finish_reason: &str,
    input_tokens: u64,
    output_tokens: u64,
) -> Value {
    json!({
        "id": format!("chatcmpl-fake-{id}"),
        "object": "chat.completion",
        "created": 1_700_000_000u64 + id,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    })
}

fn anthropic_message(
    id: u64,
    model: &Value,
    content: Value,
    stop_reason: &str,
    input_tokens: u64,
    output_tokens: u64,
) -> Value {
    json!({
        "id": format!("msg_fake_{id}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    })
}

// ---- request shapes -------------------------------------------------------

const OPENAI_CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "n",
    "stream",
    "stream_options",
    "stop",
    "response_format",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "store",
    "metadata",
    "reasoning_effort",
    "service_tier",
    "modalities",
    "prediction",
    "audio",
    "web_search_options",
];

const OPENAI_EMBEDDING_FIELDS: &[&str] =
    &["model", "input", "encoding_format", "dimensions", "user"];

const ANTHROPIC_FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "stream",
    "metadata",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
];

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{what}: Input should be an object"))
}

fn known_fields(
    fields: &Map<String, Value>,
    known: &[&str],
    unknown: impl Fn(&str) -> String,
) -> Result<(), String> {
    match fields.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(unknown(key)),
        None => Ok(()),
    }
}

fn non_empty_string(fields: &Map<String, Value>, key: &str) -> Result<(), String> {
    match fields.get(key) {
        None => Err(format!("{key}: Field required")),
        Some(Value::String(text)) if !text.is_empty() => Ok(()),
        Some(_) => Err(format!("{key}: Input should be a non-empty string")),
    }
}

fn positive_integer(fields: &Map<String, Value>, key: &str) -> Result<(), String> {
    match fields.get(key) {
        None => Ok(()),
        Some(value) if value.as_u64().is_some_and(|n| n >= 1) => Ok(()),
        Some(_) => Err(format!("{key}: Input should be an integer of at least 1")),
    }
}

fn number_within(
    fields: &Map<String, Value>,
    key: &str,
    low: f64,
    high: f64,
) -> Result<(), String> {
    match fields.get(key) {
        None => Ok(()),
        Some(value) if value.as_f64().is_some_and(|n| (low..=high).contains(&n)) => Ok(()),
        Some(_) => Err(format!(
            "{key}: Input should be a number from {low} to {high}"
        )),
    }
}

fn not_streaming(fields: &Map<String, Value>) -> Result<(), String> {
    match fields.get("stream") {
        None | Some(Value::Bool(false)) => Ok(()),
        Some(_) => Err("stream: the fake provider does not stream".to_string()),
    }
}

/// A name as both APIs accept it for a schema or a tool.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_openai_chat(body: &Value) -> Result<(), String> {
    let fields = object(body, "body")?;
    known_fields(fields, OPENAI_CHAT_FIELDS, |key| {
        format!("Unrecognized request argument supplied: {key}")
    })?;
    non_empty_string(fields, "model")?;
    let messages = fields
        .get("messages")
        .ok_or("Missing required parameter: 'messages'.")?
        .as_array()
        .ok_or("Invalid type for 'messages': expected an array.")?;
    if messages.is_empty() {
        return Err(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.".to_string(),
        );
    }
    for (i, message) in messages.iter().enumerate() {
        let message = object(message, &format!("messages[{i}]"))?;
        match message.get("role").and_then(Value::as_str) {
            Some("system" | "developer" | "user" | "assistant") => {}
            Some(other) => {
                return Err(format!(
                    "Invalid value: '{other}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'. (messages[{i}].role)"
                ));
            }
            None => return Err(format!("Missing required parameter: 'messages[{i}].role'.")),
        }
        match message.get("content") {
            Some(Value::String(_) | Value::Array(_)) => {}
            None => {
                return Err(format!(
                    "Missing required parameter: 'messages[{i}].content'."
                ));
            }
            Some(_) => {
                return Err(format!(
                    "Invalid type for 'messages[{i}].content': expected a string or an array."
                ));
            }
        }
    }
    positive_integer(fields, "max_tokens")?;
    positive_integer(fields, "max_completion_tokens")?;
    number_within(fields, "temperature", 0.0, 2.0)?;
    not_streaming(fields)?;
    if let Some(format) = fields.get("response_format") {
        let format = object(format, "response_format")?;
        match format.get("type").and_then(Value::as_str) {
            Some("text" | "json_object") => {}
            Some("json_schema") => {
                let spec = object(
                    format
                        .get("json_schema")
                        .ok_or("Missing required parameter: 'response_format.json_schema'.")?,
                    "response_format.json_schema",
                )?;
                let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
                if !valid_name(name) {
                    return Err(format!(
                        "Invalid 'response_format.json_schema.name': '{name}' must match ^[a-zA-Z0-9_-]{{1,64}}$."
                    ));
                }
                let strict = match spec.get("strict") {
                    None => false,
                    Some(Value::Bool(strict)) => *strict,
                    Some(_) => {
                        return Err(
                            "Invalid type for 'response_format.json_schema.strict': expected a boolean."
                                .to_string(),
                        );
                    }
                };
                if let Some(schema) = spec.get("schema") {
                    object(schema, "response_format.json_schema.schema")?;
                    if strict {
                        check_strict_schema(schema, "schema")?;
                    }
                }
            }
            _ => {
                return Err(
                    "Invalid 'response_format.type': expected 'text', 'json_object' or 'json_schema'."
                        .to_string(),
                );
            }
        }
    }
    Ok(())
}

/// OpenAI's strict structured outputs: every object schema lists all its
/// properties as required and sets `additionalProperties: false`.
fn check_strict_schema(schema: &Value, at: &str) -> Result<(), String> {
    let invalid = |why: &str| {
        Err(format!(
            "Invalid schema for response_format 'answer': In context=('{at}'), {why}"
        ))
    };
    match schema {
        Value::Object(fields) => {
            let is_object = match fields.get("type") {
                Some(Value::String(kind)) => kind == "object",
                Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "object"),
                _ => fields.contains_key("properties"),
            };
            if is_object {
                if fields.get("additionalProperties") != Some(&Value::Bool(false)) {
                    return invalid(
                        "'additionalProperties' is required to be supplied and to be false.",
                    );
                }
                let required: Vec<&str> = fields
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|list| list.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(properties) = fields.get("properties").and_then(Value::as_object)
                    && let Some(missing) = properties
                        .keys()
                        .find(|key| !required.contains(&key.as_str()))
                {
                    return invalid(&format!(
                        "'required' is required to be supplied and to be an array including every key in properties. Missing '{missing}'."
                    ));
                }
            }
            for (key, inner) in fields {
                check_strict_schema(inner, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                check_strict_schema(inner, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_openai_embeddings(body: &Value) -> Result<(), String> {
    let fields = object(body, "body")?;
    known_fields(fields, OPENAI_EMBEDDING_FIELDS, |key| {
        format!("Unrecognized request argument supplied: {key}")
    })?;
    non_empty_string(fields, "model")?;
    match fields.get("input") {
        None => Err("Missing required parameter: 'input'.".to_string()),
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items))
            if !items.is_empty() && items.iter().all(|item| item.is_string()) =>
        {
            Ok(())
        }
        Some(_) => {
            Err("Invalid 'input': expected a string or a non-empty array of strings.".to_string())
        }
    }?;
    if let Some(format) = fields.get("encoding_format")
        && format != "float"
        && format != "base64"
    {
        return Err("Invalid 'encoding_format': expected 'float' or 'base64'.".to_string());
    }
    positive_integer(fields, "dimensions")
}

fn check_anthropic_messages(body: &Value) -> Result<(), String> {
    let fields = object(body, "body")?;
    known_fields(fields, ANTHROPIC_FIELDS, |key| {
        format!("{key}: Extra inputs are not permitted")
    })?;
    non_empty_string(fields, "model")?;
    if !fields.contains_key("max_tokens") {
        return Err("max_tokens: Field required".to_string());
    }
    positive_integer(fields, "max_tokens")?;
    let messages = fields
        .get("messages")
        .ok_or("messages: Field required")?
        .as_array()
        .ok_or("messages: Input should be a valid list")?;
    if messages.is_empty() {
        return Err("messages: at least one message is required".to_string());
    }
    let last = messages.len() - 1;
    for (i, message) in messages.iter().enumerate() {
        let message = object(message, &format!("messages.{i}"))?;
        let role = message.get("role").and_then(Value::as_str);
        match role {
            Some("user" | "assistant") => {}
            Some("system") => {
                return Err(format!(
                    "messages.{i}: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."
                ));
            }
            Some(other) => {
                return Err(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant', not '{other}'"
                ));
            }
            None => return Err(format!("messages.{i}.role: Field required")),
        }
        let empty = match message.get("content") {
            Some(Value::String(text)) => text.is_empty(),
            Some(Value::Array(blocks)) => {
                for (j, block) in blocks.iter().enumerate() {
                    let block = object(block, &format!("messages.{i}.content.{j}"))?;
                    if block.get("type").and_then(Value::as_str).is_none() {
                        return Err(format!("messages.{i}.content.{j}.type: Field required"));
                    }
                }
                blocks.is_empty()
            }
            None => return Err(format!("messages.{i}.content: Field required")),
            Some(_) => {
                return Err(format!(
                    "messages.{i}.content: Input should be a valid string or list"
                ));
            }
        };
        if empty && !(i == last && role == Some("assistant")) {
            return Err(
                "messages: all messages must have non-empty content except for the optional final assistant message"
                    .to_string(),
            );
        }
    }
    match fields.get("system") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(blocks))
            if blocks.iter().all(|b| {
                b.get("type").and_then(Value::as_str) == Some("text")
                    && b.get("text").is_some_and(Value::is_string)
            }) => {}
        Some(_) => {
            return Err(
                "system: Input should be a valid string or a list of text blocks".to_string(),
            );
        }
    }
    number_within(fields, "temperature", 0.0, 1.0)?;
    not_streaming(fields)?;
    let mut tool_names = Vec::new();
    if let Some(tools) = fields.get("tools") {
        let tools = tools
            .as_array()
            .ok_or("tools: Input should be a valid list")?;
        for (i, tool) in tools.iter().enumerate() {
            let tool = object(tool, &format!("tools.{i}"))?;
            let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
            if !valid_name(name) {
                return Err(format!(
                    "tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                ));
            }
            if tool.get("description").is_some_and(|d| !d.is_string()) {
                return Err(format!(
                    "tools.{i}.description: Input should be a valid string"
                ));
            }
            let schema = object(
                tool.get("input_schema")
                    .ok_or_else(|| format!("tools.{i}.input_schema: Field required"))?,
                &format!("tools.{i}.input_schema"),
            )?;
            if schema.get("type").and_then(Value::as_str) != Some("object") {
                return Err(format!(
                    "tools.{i}.input_schema.type: Input should be 'object'"
                ));
            }
            tool_names.push(name.to_string());
        }
    }
    if let Some(choice) = fields.get("tool_choice") {
        let choice = object(choice, "tool_choice")?;
        match choice.get("type").and_then(Value::as_str) {
            Some("auto" | "any" | "none") => {}
            Some("tool") => {
                let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
                if !tool_names.iter().any(|known| known == name) {
                    return Err(format!(
                        "tool_choice.name: Tool '{name}' not found in provided tools"
                    ));
                }
            }
            _ => {
                return Err(
                    "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'".to_string(),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(fake: &FakeProvider, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let client = reqwest::blocking::Client::new();
        let mut request = client
            .post(format!("{}{path}", fake.base_url()))
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().expect("the fake answers");
        let status = response.status().as_u16();
        let body = response.json().expect("the fake answers JSON");
        (status, body)
    }

    const ANTHROPIC_HEADERS: &[(&str, &str)] = &[
        ("x-api-key", "k"),
        ("anthropic-version", "2023-06-01"),
        ("content-type", "application/json"),
    ];

    #[test]
    fn anthropic_fake_refuses_a_system_role_inside_messages_and_names_it() {
        let fake = FakeProvider::start(Api::Anthropic, vec![Step::reply("hi")]);
        let (status, body) = post(
            &fake,
            "/messages",
            ANTHROPIC_HEADERS,
            r#"{"model":"m","max_tokens":10,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}"#,
        );
        assert_eq!(status, 400);
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.contains("Unexpected role \"system\""), "{message}");
        // Recorded, but the script's step is still there for the next request.
        assert_eq!(fake.requests().len(), 1);
        let (status, body) = post(
            &fake,
            "/messages",
            ANTHROPIC_HEADERS,
            r#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#,
        );
        assert_eq!(status, 200);
        assert_eq!(body["content"][0]["text"], "hi");
    }

    #[test]
    fn anthropic_fake_requires_max_tokens_the_version_header_and_a_key() {
        let fake = FakeProvider::start(Api::Anthropic, vec![Step::reply("hi")]);
        let no_max = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        let (status, body) = post(&fake, "/messages", ANTHROPIC_HEADERS, no_max);
        assert_eq!(status, 400);
        assert_eq!(body["error"]["message"], "max_tokens: Field required");

        let good = r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
        let no_version = &[("x-api-key", "k"), ("content-type", "application/json")];
        let (status, body) = post(&fake, "/messages", no_version, good);
        assert_eq!(status, 400);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("anthropic-version"))
        );

        let no_key = &[
            ("anthropic-version", "2023-06-01"),
            ("content-type", "application/json"),
        ];
        let (status, body) = post(&fake, "/messages", no_key, good);
        assert_eq!(status, 401);
        assert_eq!(body["error"]["type"], "authentication_error");
    }

    #[test]
    fn openai_fake_refuses_unknown_fields_and_non_strict_schemas() {
        let fake = FakeProvider::start(Api::OpenAi, vec![Step::reply("{}")]);
        let json = &[("content-type", "application/json")];
        let (status, body) = post(
            &fake,
            "/chat/completions",
            json,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_output_tokens":5}"#,
        );
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            "Unrecognized request argument supplied: max_output_tokens"
        );
        let (status, body) = post(
            &fake,
            "/chat/completions",
            json,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],
                "response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,
                "schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}}}}"#,
        );
        assert_eq!(status, 400);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("additionalProperties")),
            "{body}"
        );
    }

    #[test]
    fn the_script_is_played_in_order_and_its_last_step_repeats() {
        let fake = FakeProvider::start(
            Api::OpenAi,
            vec![
                Step::Status {
                    code: 503,
                    retry_after: Some("2".to_string()),
                    body: String::new(),
                },
                Step::reply("first"),
            ],
        );
        let json = &[("content-type", "application/json")];
        let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        let (status, error) = post(&fake, "/chat/completions", json, body);
        assert_eq!(status, 503);
        assert_eq!(error["error"]["message"], "fake status 503");
        for _ in 0..2 {
            let (status, answer) = post(&fake, "/chat/completions", json, body);
            assert_eq!(status, 200);
            assert_eq!(answer["choices"][0]["message"]["content"], "first");
        }
        assert_eq!(fake.requests().len(), 3);
    }
}
