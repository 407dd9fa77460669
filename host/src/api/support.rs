//! What the handlers share: reading a JSON body with errors that name the field,
//! pagination parameters, `Idempotency-Key`, running store calls off the async
//! threads, and time formatting.
//!
//! It must not decide anything about the domain: it is plumbing shared by the
//! handlers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, FieldError, Principal};
use crate::store::{IdempotencyRecord, PageRequest, Store, StoreError};

/// Run a store call on the blocking pool: SQLite calls block, and the async
/// threads must keep serving.
pub async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::internal("store task", e))?
        .map_err(ApiError::from)
}

/// An RFC 3339 UTC time with milliseconds.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The body, or the problem with it: too large (413), not JSON (415).
pub fn body(body: Result<Bytes, BytesRejection>, headers: &HeaderMap) -> Result<Bytes, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::body_too_large()
        } else {
            ApiError::new(
                rejection.status(),
                "bad-request",
                "The body could not be read",
                rejection.body_text(),
            )
        }
    })?;
    if !bytes.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !(essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "The body must be JSON",
                format!("Content-Type is {content_type:?}; send application/json"),
            ));
        }
    }
    Ok(bytes)
}

/// Split the input module's "field `a.b`: message" into field and message.
pub fn split_problem(problem: &str) -> (String, String) {
    if let Some(rest) = problem.strip_prefix("field `")
        && let Some((field, message)) = rest.split_once("`: ")
    {
        return (field.to_string(), message.to_string());
    }
    if let Some(rest) = problem.strip_prefix("missing field `")
        && let Some(field) = rest.strip_suffix('`')
    {
        return (field.to_string(), "is required".to_string());
    }
    (String::new(), problem.to_string())
}

/// Parse `bytes` as `T`; a wrong field is 422 naming it, broken JSON is 400.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is an object; serde would otherwise read a struct from an array, by position.
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            return Err(ApiError::field("body", "must be a JSON object"));
        }
        _ => return Err(ApiError::malformed_json("the body is empty or not JSON")),
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    let value = result.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let mut message = inner.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        match inner.classify() {
            serde_json::error::Category::Data => {
                let base = if path == "." { String::new() } else { path };
                let join = |name: &str| {
                    // serde_path_to_error's path already ends at an unknown field, not at a missing one.
                    if base == name || base.ends_with(&format!(".{name}")) {
                        base.clone()
                    } else if base.is_empty() {
                        name.to_string()
                    } else {
                        format!("{base}.{name}")
                    }
                };
                // Name the missing or unknown field itself, not its parent.
                if let Some(rest) = message.strip_prefix("missing field `")
                    && let Some(name) = rest.split('`').next()
                {
                    return ApiError::field(join(name), "is required");
                }
                if let Some(rest) = message.strip_prefix("unknown field `")
                    && let Some(name) = rest.split('`').next()
                {
                    let name = name.to_string();
                    return ApiError::field(
                        join(&name),
                        format!("is not a known field ({message})"),
                    );
                }
                ApiError::field(if base.is_empty() { "body".into() } else { base }, message)
            }
            _ => ApiError::malformed_json(message),
        }
    })?;
    Ok(value)
}

/// `?limit=&cursor=` for a list whose cursors are ids with `prefix`.
pub fn page_of_ids(query: &HashMap<String, String>, prefix: &str) -> Result<PageRequest, ApiError> {
    let page = page(query)?;
    if let Some(cursor) = &page.after
        && !crate::ids::has_prefix(cursor, prefix)
    {
        return Err(ApiError::bad_request(
            "cursor",
            "is not a cursor this API gave out",
        ));
    }
    Ok(page)
}

/// `?limit=&cursor=`: limit 1–100 (default 20), cursor from the last page's `next_cursor`.
pub fn page(query: &HashMap<String, String>) -> Result<PageRequest, ApiError> {
    for key in query.keys() {
        if key != "limit" && key != "cursor" {
            return Err(ApiError::bad_request(
                key.clone(),
                "is not a known query parameter (known: limit, cursor)",
            ));
        }
    }
    let limit = match query.get("limit") {
        None => 20,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "limit",
                    format!("must be an integer from 1 to 100, got {text:?}"),
                ));
            }
        },
    };
    let after = match query.get("cursor") {
        Some(c) if c.is_empty() || c.len() > 512 => {
            return Err(ApiError::bad_request(
                "cursor",
                "is not a cursor this API gave out",
            ));
        }
        other => other.cloned(),
    };
    Ok(PageRequest { limit, after })
}

/// Every list: one page of `data`. When `has_more` is true, pass `next_cursor` as
/// `cursor` to get the next page; otherwise `next_cursor` is null.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct List<T> {
    #[schema(schema_with = list_object)]
    object: &'static str,
    #[schema(max_items = 100)]
    data: Vec<T>,
    has_more: bool,
    #[schema(required = true)]
    next_cursor: Option<String>,
}

super::openapi::constant_schema! { list_object = "list"; }

/// A list response: `{object: "list", data, has_more, next_cursor}`.
pub fn list<T: Serialize>(data: Vec<T>, has_more: bool, next_cursor: Option<String>) -> Response {
    axum::Json(List {
        object: "list",
        data,
        has_more,
        next_cursor: if has_more { next_cursor } else { None },
    })
    .into_response()
}

/// A JSON response with a status.
pub fn json(status: StatusCode, body: &impl Serialize) -> Result<(Response, String), ApiError> {
    let text = serde_json::to_string(body).map_err(|e| ApiError::internal("serialise", e))?;
    Ok((respond(status, text.clone(), false), text))
}

fn respond(status: StatusCode, text: String, replayed: bool) -> Response {
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// A creating POST's `Idempotency-Key`, while the request runs.
pub struct Idempotency {
    state: AppState,
    principal: String,
    key: String,
    hash: Vec<u8>,
}

impl Drop for Idempotency {
    fn drop(&mut self) {
        let mut in_flight = self
            .state
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        in_flight.remove(&(self.principal.clone(), self.key.clone()));
    }
}

/// What to do with a creating POST.
enum Begin {
    /// No key: just do it.
    Plain,
    /// A key not seen before: do it, and store the response with this record.
    Fresh(Idempotency),
    /// A key seen before with the same request: send this stored response.
    Replay(Response),
}

impl Idempotency {
    /// The record to store with the created thing, in the same transaction.
    fn record(&self, status: StatusCode, body: &str) -> IdempotencyRecord {
        IdempotencyRecord {
            principal: self.principal.clone(),
            key: self.key.clone(),
            request_hash: self.hash.clone(),
            status: status.as_u16(),
            body: body.to_string(),
            created_at_ms: now_ms(),
        }
    }
}

/// Look at `Idempotency-Key` (RELIABILITY 25): same key and body → the first
/// response again; same key, different request → 422; the same key while the
/// first request is still running → 409.
async fn idempotency(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    method_and_path: &str,
    body: &[u8],
) -> Result<Begin, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(Begin::Plain);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..0x7f).contains(&b)))
        .ok_or_else(|| {
            ApiError::bad_request(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters (a UUID is a good choice)",
            )
        })?
        .to_string();
    let mut hasher = Sha256::new();
    hasher.update(method_and_path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    let hash = hasher.finalize().to_vec();

    {
        let mut in_flight = state
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !in_flight.insert((principal.key_id.clone(), key.clone())) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-use",
                "A request with this Idempotency-Key is still running",
                "retry after the first request with this key has finished",
            ));
        }
    }
    let ticket = Idempotency {
        state: state.clone(),
        principal: principal.key_id.clone(),
        key,
        hash,
    };
    match stored_response(state, &ticket).await? {
        Some(replay) => Ok(Begin::Replay(replay)),
        None => Ok(Begin::Fresh(ticket)),
    }
}

/// The response stored for the ticket's key, if there is one; 422 if it was for another request.
async fn stored_response(
    state: &AppState,
    ticket: &Idempotency,
) -> Result<Option<Response>, ApiError> {
    let (principal, key) = (ticket.principal.clone(), ticket.key.clone());
    let stored = blocking(state, move |s| s.get_idempotency(&principal, &key)).await?;
    match stored {
        None => Ok(None),
        Some(record) if record.request_hash == ticket.hash => {
            let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
            Ok(Some(respond(status, record.body, true)))
        }
        Some(_) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "This Idempotency-Key was used for a different request",
            "an Idempotency-Key names one request: the same method, path and body; use a new key for a new request",
        )),
    }
}

/// What a creating POST answered: the response, and whether this request made
/// something (false for a replay of an earlier one).
pub struct Created {
    pub response: Response,
    pub fresh: bool,
}

/// The shared tail of every creating POST: honour `Idempotency-Key`, then call
/// `write` with the idempotency record to store in the same transaction as
/// what it creates, and answer `status` with `view`.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    route: &str,
    bytes: &[u8],
    status: StatusCode,
    view: &impl Serialize,
    write: impl FnOnce(&dyn Store, Option<&IdempotencyRecord>) -> Result<(), StoreError>
    + Send
    + 'static,
) -> Result<Created, ApiError> {
    let begin = idempotency(state, principal, headers, route, bytes).await?;
    let ticket = match begin {
        Begin::Replay(response) => {
            return Ok(Created {
                response,
                fresh: false,
            });
        }
        Begin::Plain => None,
        Begin::Fresh(ticket) => Some(ticket),
    };
    let (response, text) = json(status, view)?;
    let record = ticket.as_ref().map(|t| t.record(status, &text));
    let result = blocking(state, move |s| write(s, record.as_ref())).await;
    let fresh = result.is_ok();
    let response = finish(state, ticket.as_ref(), result, response).await?;
    Ok(Created { response, fresh })
}

/// Finish a creating POST: on success send the response; if another request
/// with the key committed first (another replica), send what it stored.
async fn finish(
    state: &AppState,
    ticket: Option<&Idempotency>,
    result: Result<(), ApiError>,
    response: Response,
) -> Result<Response, ApiError> {
    match result {
        Ok(()) => Ok(response),
        Err(e) if e.slug == "idempotency-key-taken" => match ticket {
            Some(ticket) => stored_response(state, ticket)
                .await?
                .ok_or_else(|| ApiError::internal("idempotency", "key taken but not stored")),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Field errors for a batch, capped so one bad batch cannot make a huge response.
pub fn capped(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    errors.truncate(50);
    errors
}
