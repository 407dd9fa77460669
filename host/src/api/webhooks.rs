//! `/v1/agents/{id}/webhooks`, `/v1/agents/{id}/deliveries` and
//! `/v1/deliveries/{id}/redeliver`: where an agent's events go, and what
//! became of each delivery.
//!
//! A URL is checked against the SSRF guard when it is registered (and again by
//! the sender at every connect). A secret is shown when the endpoint is made or
//! rotated, and on request at `…/secret`; it is a shared signing key, which the
//! server must keep to sign.
//!
//! It must not send anything: delivery is `webhooks::deliver`'s, from the
//! outbox the store keeps.

use std::collections::HashMap;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::openapi;
use super::support::List;
use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, Principal};
use crate::ids;
use crate::store::{Attempt, Delivery, DeliveryStatus, Endpoint, StoreError};
use crate::webhooks::payload::EVENT_TYPES;
use crate::webhooks::sign::Secret;
use crate::webhooks::ssrf::SsrfError;
use utoipa::ToSchema;

const MAX_URL: usize = 2048;

/// A new endpoint. Unknown fields are refused (422).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateWebhookEndpoint)]
struct CreateEndpoint {
    /// http(s). Refused if it resolves to a private, loopback, link-local, CGNAT or reserved
    /// address (unless `[webhooks] allow_networks` lets it through); checked again at every
    /// connect.
    #[schema(max_length = 2048)]
    url: String,
    /// Event types, or `["*"]` (the default) for all.
    #[schema(schema_with = event_list, min_items = 1)]
    events: Option<Vec<String>>,
}

/// A rotation. The body may be left out. Unknown fields are refused (422).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotateWebhookSecret)]
struct Rotate {
    /// How long the previous secret keeps signing beside the new one, e.g. `"24h"` (the
    /// default), up to `"7d"`; `"0s"` ends it at once.
    overlap: Option<String>,
}

/// A webhook endpoint: where an agent's events are delivered.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookEndpoint)]
struct EndpointView {
    #[schema(schema_with = endpoint_object)]
    object: &'static str,
    #[schema(pattern = "^whe_[0-9a-z]{26}$")]
    id: String,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    agent_id: String,
    url: String,
    #[schema(schema_with = event_list)]
    events: Vec<String>,
    /// `api`, or `feedback_webhook`: the agent's field, kept in step with it.
    #[schema(pattern = "^(api|feedback_webhook)$")]
    source: String,
    #[schema(schema_with = openapi::timestamp)]
    created_at: String,
    /// Set after a 410 Gone or an unbroken run of failures (`[webhooks] disable_after`);
    /// `POST …/enable` clears it.
    #[schema(required = true, format = DateTime)]
    disabled_at: Option<String>,
    #[schema(required = true)]
    disabled_reason: Option<String>,
    /// Start of the current unbroken run of failed attempts.
    #[schema(required = true, format = DateTime)]
    failing_since: Option<String>,
    /// After a rotation: until when the previous secret also signs.
    #[schema(required = true, format = DateTime)]
    previous_secret_expires_at: Option<String>,
    /// Only when made or rotated, and from `…/secret`. Verify with any Standard Webhooks
    /// library.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^whsec_")]
    secret: Option<String>,
}

/// An endpoint, deleted.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeletedWebhookEndpoint)]
struct DeletedView {
    #[schema(schema_with = endpoint_object)]
    object: &'static str,
    id: String,
    /// Always `true`.
    deleted: bool,
}

openapi::constant_schema! {
    endpoint_object = "webhook_endpoint";
    delivery_object = "delivery";
    delivery_status = "pending" | "delivered" | "dead" | "cancelled";
}

/// The event types an endpoint may ask for: `*` (all), or those the server sends.
fn event_list() -> utoipa::openapi::schema::Array {
    let mut types = vec!["*"];
    types.extend_from_slice(EVENT_TYPES);
    utoipa::openapi::schema::Array::new(openapi::one_of(&types))
}

fn endpoint_view(e: Endpoint, with_secret: bool) -> EndpointView {
    let now = now_ms();
    EndpointView {
        object: "webhook_endpoint",
        previous_secret_expires_at: e.previous_expires_ms.filter(|&until| until > now).map(time),
        secret: with_secret.then(|| e.secret.clone()),
        id: e.id,
        agent_id: e.agent_id,
        url: e.url,
        events: e.events,
        source: e.source,
        created_at: time(e.created_at_ms),
        disabled_at: e.disabled_at_ms.map(time),
        disabled_reason: e.disabled_reason,
        failing_since: e.failing_since_ms.map(time),
    }
}

/// One attempt to deliver.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeliveryAttempt)]
struct AttemptView {
    n: u32,
    #[schema(format = DateTime)]
    at: String,
    /// The receiver's HTTP status; `null` when there was no response.
    #[schema(required = true)]
    status: Option<u16>,
    #[schema(required = true)]
    error: Option<String>,
    duration_ms: i64,
}

/// One event on its way to one endpoint, with its attempts.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Delivery)]
struct DeliveryView {
    #[schema(schema_with = delivery_object)]
    object: &'static str,
    #[schema(pattern = "^dlv_[0-9a-z]{26}$")]
    id: String,
    /// The `webhook-id` of every attempt, and of redeliveries.
    #[schema(pattern = "^msg_[0-9a-z]{26}$")]
    event_id: String,
    event_type: String,
    endpoint_id: String,
    agent_id: String,
    /// `dead`: every attempt of the schedule failed (the dead letter); `cancelled`: its
    /// endpoint was deleted.
    #[schema(schema_with = delivery_status)]
    status: &'static str,
    attempts: u32,
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    #[schema(required = true)]
    last_status: Option<u16>,
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(required = true, format = DateTime)]
    finished_at: Option<String>,
    attempt_log: Vec<AttemptView>,
}

fn delivery_view(d: Delivery, log: Vec<Attempt>) -> DeliveryView {
    DeliveryView {
        object: "delivery",
        id: d.id,
        event_id: d.event_id,
        event_type: d.event_type,
        endpoint_id: d.endpoint_id,
        agent_id: d.agent_id,
        status: d.status.as_str(),
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at_ms.map(time),
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: time(d.created_at_ms),
        finished_at: d.finished_at_ms.map(time),
        attempt_log: log
            .into_iter()
            .map(|a| AttemptView {
                n: a.n,
                at: time(a.at_ms),
                status: a.status,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
    }
}

/// Check a webhook URL: its length here; its scheme, host and addresses with
/// the guard.
pub(super) async fn check_url(state: &AppState, field: &str, url: &str) -> Result<(), ApiError> {
    if url.len() > MAX_URL {
        return Err(ApiError::field(
            field,
            format!("must be at most {MAX_URL} bytes"),
        ));
    }
    match state.webhook_guard().check_url_async(url).await {
        // A name that does not resolve yet may later: it is accepted, and the
        // sender's resolver checks whatever it resolves to at every connect.
        Ok(()) | Err(SsrfError::Unresolvable { .. }) => Ok(()),
        Err(e) => Err(ApiError::field(field, e.to_string())),
    }
}

/// The endpoint, if it is this agent's (another agent's is 404 as well).
async fn endpoint_of(
    state: &AppState,
    agent_id: &str,
    endpoint_id: &str,
) -> Result<Endpoint, ApiError> {
    let id = endpoint_id.to_string();
    blocking(state, move |s| s.get_endpoint(&id))
        .await?
        .filter(|e| e.agent_id == agent_id)
        .ok_or_else(|| ApiError::not_found("webhook endpoint", endpoint_id))
}

/// Register a webhook endpoint
///
/// Answers with the endpoint and its `whsec_` secret. 422 when `url` is not http(s) or
/// resolves to an address the guard refuses, or `events` names an unknown type. Idempotent
/// with `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/webhooks", tag = "webhooks", operation_id = "createWebhookEndpoint",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    request_body = CreateEndpoint,
    responses(
        (status = 201, description = "Registered (or, with a repeated `Idempotency-Key`, the stored response again).", body = EndpointView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = inline(openapi::KeyInUse)),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::InvalidOrReused)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let bytes = support::body(body, &headers)?;
    let input: CreateEndpoint = support::parse_json(&bytes)?;
    let events = input.events.unwrap_or_else(|| vec!["*".into()]);
    if events.is_empty() {
        return Err(ApiError::field(
            "events",
            "must name at least one event type, or `*`",
        ));
    }
    for (i, e) in events.iter().enumerate() {
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            return Err(ApiError::field(
                format!("events[{i}]"),
                format!(
                    "{e:?} is not an event type ({}, or `*`)",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    check_url(&state, "url", &input.url).await?;
    let secret = Secret::generate().map_err(|e| ApiError::internal("webhook secret", e))?;
    let endpoint = Endpoint {
        id: ids::new(ids::ENDPOINT),
        agent_id: agent_id.clone(),
        url: input.url,
        secret: secret.to_text(),
        previous_secret: None,
        previous_expires_ms: None,
        events,
        source: "api".into(),
        created_at_ms: now_ms(),
        disabled_at_ms: None,
        disabled_reason: None,
        failing_since_ms: None,
    };
    let view = endpoint_view(endpoint.clone(), true);
    let created = support::create(
        &state,
        &principal,
        &headers,
        &format!("POST /v1/agents/{agent_id}/webhooks"),
        &bytes,
        StatusCode::CREATED,
        &view,
        move |s, idem| s.create_endpoint(&endpoint, idem),
    )
    .await?;
    Ok(created.response)
}

/// List an agent's webhook endpoints
///
/// Oldest first, without secrets; the agent's `feedback_webhook` is one of them.
#[utoipa::path(
    get, path = "/agents/{agent_id}/webhooks", tag = "webhooks", operation_id = "listWebhookEndpoints",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The endpoints.", body = List<EndpointView>),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let endpoints = blocking(&state, move |s| s.list_endpoints(&agent_id)).await?;
    let data: Vec<EndpointView> = endpoints
        .into_iter()
        .map(|e| endpoint_view(e, false))
        .collect();
    Ok(support::list(data, false, None))
}

async fn show(
    state: AppState,
    principal: Principal,
    (agent_id, endpoint_id): (String, String),
    with_secret: bool,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let e = endpoint_of(&state, &agent_id, &endpoint_id).await?;
    Ok(support::json(StatusCode::OK, &endpoint_view(e, with_secret))?.0)
}

/// One endpoint
#[utoipa::path(
    get, path = "/agents/{agent_id}/webhooks/{endpoint_id}", tag = "webhooks", operation_id = "getWebhookEndpoint",
    params(openapi::AgentPath, ("endpoint_id" = String, Path, description = "The endpoint's id (`whe_…`).")),
    responses(
        (status = 200, description = "The endpoint, without its secret.", body = EndpointView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(ids): Path<(String, String)>,
) -> Result<Response, ApiError> {
    show(state, principal, ids, false).await
}

/// The endpoint's signing secret
#[utoipa::path(
    get, path = "/agents/{agent_id}/webhooks/{endpoint_id}/secret", tag = "webhooks", operation_id = "getWebhookSecret",
    params(openapi::AgentPath, ("endpoint_id" = String, Path, description = "The endpoint's id (`whe_…`).")),
    responses(
        (status = 200, description = "The endpoint with `secret`.", body = EndpointView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn secret(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(ids): Path<(String, String)>,
) -> Result<Response, ApiError> {
    show(state, principal, ids, true).await
}

/// Delete an endpoint
///
/// Its pending deliveries are cancelled.
#[utoipa::path(
    delete, path = "/agents/{agent_id}/webhooks/{endpoint_id}", tag = "webhooks", operation_id = "deleteWebhookEndpoint",
    params(openapi::AgentPath, ("endpoint_id" = String, Path, description = "The endpoint's id (`whe_…`).")),
    responses(
        (status = 200, description = "Deleted.", body = DeletedView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((agent_id, endpoint_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let e = endpoint_of(&state, &agent_id, &endpoint_id).await?;
    let id = e.id.clone();
    blocking(&state, move |s| s.delete_endpoint(&id, now_ms())).await?;
    Ok(support::json(
        StatusCode::OK,
        &DeletedView {
            object: "webhook_endpoint",
            id: e.id,
            deleted: true,
        },
    )?
    .0)
}

/// Rotate the signing secret
///
/// A new secret signs from now on; the previous one also signs (a second `v1,` signature)
/// until `previous_secret_expires_at`, so receivers can switch without downtime. The body may
/// be left out; 422 when `overlap` is not a duration up to 7d.
#[utoipa::path(
    post, path = "/agents/{agent_id}/webhooks/{endpoint_id}/rotate", tag = "webhooks", operation_id = "rotateWebhookSecret",
    params(openapi::AgentPath, ("endpoint_id" = String, Path, description = "The endpoint's id (`whe_…`).")),
    request_body = Option<Rotate>,
    responses(
        (status = 200, description = "The endpoint with its new `secret`.", body = EndpointView),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::Invalid)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn rotate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((agent_id, endpoint_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let bytes = support::body(body, &headers)?;
    let input: Rotate = if bytes.is_empty() {
        Rotate::default()
    } else {
        support::parse_json(&bytes)?
    };
    let overlap = match &input.overlap {
        None => Duration::from_secs(24 * 3600),
        Some(text) => crate::units::parse_duration(text)
            .ok()
            .filter(|d| *d <= Duration::from_secs(7 * 86_400))
            .ok_or_else(|| {
                ApiError::field(
                    "overlap",
                    format!("must be a duration up to 7d like \"24h\" or \"0s\", got {text:?}"),
                )
            })?,
    };
    endpoint_of(&state, &agent_id, &endpoint_id).await?;
    let secret = Secret::generate().map_err(|e| ApiError::internal("webhook secret", e))?;
    let until = now_ms() + overlap.as_millis() as i64;
    let e = blocking(&state, move |s| {
        s.rotate_secret(&endpoint_id, &secret.to_text(), until)
    })
    .await?;
    Ok(support::json(StatusCode::OK, &endpoint_view(e, true))?.0)
}

/// Enable a disabled endpoint
///
/// Its pending deliveries resume.
#[utoipa::path(
    post, path = "/agents/{agent_id}/webhooks/{endpoint_id}/enable", tag = "webhooks", operation_id = "enableWebhookEndpoint",
    params(openapi::AgentPath, ("endpoint_id" = String, Path, description = "The endpoint's id (`whe_…`).")),
    responses(
        (status = 200, description = "The endpoint.", body = EndpointView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn enable(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((agent_id, endpoint_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    endpoint_of(&state, &agent_id, &endpoint_id).await?;
    let e = blocking(&state, move |s| s.enable_endpoint(&endpoint_id)).await?;
    Ok(support::json(StatusCode::OK, &endpoint_view(e, false))?.0)
}

/// An agent's deliveries, with their attempts
///
/// Newest first; `endpoint_id` narrows to one endpoint, `status` to one status (`dead`: the
/// dead letters). Each carries its attempts with status, error and duration.
#[utoipa::path(
    get, path = "/agents/{agent_id}/deliveries", tag = "webhooks", operation_id = "listDeliveries",
    params(
        openapi::AgentPath, openapi::PageQuery,
        ("endpoint_id" = Option<String>, Query, description = "Only this endpoint's deliveries."),
        ("status" = Option<String>, Query, description = "Only deliveries in this status (`pending`, `delivered`, `dead`, `cancelled`); `dead` lists the dead letters.", pattern = "^(pending|delivered|dead|cancelled)$"),
    ),
    responses(
        (status = 200, description = "A page of deliveries.", body = List<DeliveryView>),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    Query(mut query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let endpoint = query.remove("endpoint_id");
    let status = match query.remove("status") {
        None => None,
        Some(text) => Some(DeliveryStatus::parse(&text).ok_or_else(|| {
            ApiError::bad_request(
                "status",
                format!("must be pending, delivered, dead or cancelled, got {text:?}"),
            )
        })?),
    };
    let page = support::page_of_ids(&query, ids::DELIVERY)?;
    let (result, logs) = blocking(&state, move |s| {
        let page = s.list_deliveries(&agent_id, endpoint.as_deref(), status, &page)?;
        let logs = page
            .items
            .iter()
            .map(|d| s.delivery_attempts(&d.id))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((page, logs))
    })
    .await?;
    let cursor = result.items.last().map(|d| d.id.clone());
    let data: Vec<DeliveryView> = result
        .items
        .into_iter()
        .zip(logs)
        .map(|(d, log)| delivery_view(d, log))
        .collect();
    Ok(support::list(data, result.has_more, cursor))
}

/// Send a delivery's event again
///
/// A new delivery of the same event (the same `webhook-id`) to the same endpoint, due now.
/// Takes no body.
#[utoipa::path(
    post, path = "/deliveries/{delivery_id}/redeliver", tag = "webhooks", operation_id = "redeliver",
    params(("delivery_id" = String, Path, description = "The delivery's id (`dlv_…`).")),
    responses(
        (status = 202, description = "Queued.", body = DeliveryView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn redeliver(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(delivery_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = delivery_id.clone();
    let old = blocking(&state, move |s| s.get_delivery(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("delivery", &delivery_id))?;
    if principal.check_agent(&old.agent_id).is_err() {
        return Err(ApiError::not_found("delivery", &delivery_id));
    }
    let new_id = ids::new(ids::DELIVERY);
    let d = blocking(&state, move |s| s.redeliver(&old.id, &new_id, now_ms())).await?;
    Ok(support::json(StatusCode::ACCEPTED, &delivery_view(d, Vec::new()))?.0)
}
