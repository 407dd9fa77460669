//! `/v1/agents/{id}/interactions` and `/feedback`: one at a time or in batches.
//!
//! A batch is all-or-nothing: every item is checked before anything is written,
//! and the write is one transaction, so a rejected batch stores nothing and its
//! error names each bad item and field (`interactions[3].messages[0].role`).
//! Interactions use the same line format as `reverie dream` files, stored as
//! checked (the parsed object written out again, never the client's text
//! patched); `id` may be left out or null, and the server then makes one (`int_…`).

use std::collections::{HashMap, HashSet};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::item_field;
use super::openapi;
use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, FieldError, MAX_BATCH, Principal};
use crate::ids;
use crate::input::{self, RawFeedback, RawInteraction};
use crate::model::Rating;
use crate::store::{
    CURSOR, FeedbackRecord, InteractionRecord, StoreError, StoredInteraction, version_key,
};
use utoipa::ToSchema;

/// A stored interaction.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Interaction)]
struct InteractionView {
    #[schema(schema_with = interaction_object)]
    object: &'static str,
    id: String,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    agent_id: String,
    #[schema(schema_with = openapi::timestamp)]
    timestamp: String,
    /// The version it is counted under: `vN`, one of the agent's own versions (the
    /// `agent_version` it reported, else the live one when it arrived), or `client:<label>`
    /// for a runtime's own `config_version` label, kept apart so that it is never taken for
    /// a server version.
    #[schema(examples("v2", "client:v2"))]
    config_version: String,
    #[schema(schema_with = openapi::timestamp)]
    received_at: String,
    /// The interaction as it was sent, checked and written out again: members as sent (in no
    /// particular order) with `id` set to the id it is stored under (the one the server made
    /// up, if it had none). Only when getting one interaction, and only when it can be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RawInteraction>)]
    interaction: Option<Box<RawValue>>,
    /// Only for a stored row that cannot be read as an interaction (written by an older
    /// reverie or by hand): why. Dreams leave it out and name it; `DELETE` removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<String>,
}

openapi::constant_schema! {
    interaction_object = "interaction";
    feedback_object = "feedback";
    explicit_source = "explicit";
}

fn interaction_view(
    agent_id: &str,
    stored: StoredInteraction,
    whole: bool,
) -> Result<InteractionView, ApiError> {
    let StoredInteraction { record, unreadable } = stored;
    let mut view = record_view(agent_id, record, whole && unreadable.is_none())?;
    view.unreadable = unreadable;
    Ok(view)
}

fn record_view(
    agent_id: &str,
    r: InteractionRecord,
    whole: bool,
) -> Result<InteractionView, ApiError> {
    let interaction = if whole {
        Some(
            RawValue::from_string(r.body)
                .map_err(|e| ApiError::internal("stored interaction", e))?,
        )
    } else {
        None
    };
    Ok(InteractionView {
        object: "interaction",
        id: r.id,
        agent_id: agent_id.to_string(),
        timestamp: time(r.timestamp_ms),
        config_version: r.config_version,
        received_at: time(r.received_at_ms),
        interaction,
        unreadable: None,
    })
}

/// A stored batch: how many, and their ids in the order sent.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Batch)]
struct BatchView {
    /// `interaction_batch` or `feedback_batch`.
    #[schema(pattern = "^(interaction|feedback)_batch$")]
    object: &'static str,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    agent_id: String,
    #[schema(minimum = 1, maximum = 1000)]
    count: usize,
    /// The stored items' ids, in the order sent.
    #[schema(min_items = 1, max_items = 1000)]
    ids: Vec<String>,
}

/// Stored feedback.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Feedback)]
struct FeedbackView {
    #[schema(schema_with = feedback_object)]
    object: &'static str,
    #[schema(pattern = "^fb_[0-9a-z]{26}$")]
    id: String,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    agent_id: String,
    interaction_id: String,
    rating: Rating,
    #[schema(required = true)]
    comment: Option<String>,
    #[schema(schema_with = explicit_source)]
    source: &'static str,
    #[schema(schema_with = openapi::timestamp)]
    created_at: String,
}

fn feedback_view(agent_id: &str, f: FeedbackRecord) -> FeedbackView {
    FeedbackView {
        object: "feedback",
        id: f.id,
        agent_id: agent_id.to_string(),
        interaction_id: f.interaction_id,
        rating: f.rating,
        comment: f.comment,
        source: "explicit",
        created_at: time(f.created_at_ms),
    }
}

/// An agent's config versions as ingest needs them.
struct Versions {
    /// Live now: what an interaction that names no version is counted under.
    live: i64,
    /// The newest: an `agent_version` beyond it names nothing (versions are
    /// numbered from 1 and never removed).
    newest: i64,
}

/// The agent's versions, and 404 if there is no such agent for this caller.
async fn live_version(
    state: &AppState,
    principal: &Principal,
    agent_id: &str,
) -> Result<Versions, ApiError> {
    principal.check_agent(agent_id)?;
    let id = agent_id.to_string();
    let (agent, newest) = blocking(state, move |s| {
        let newest = s.list_versions(
            &id,
            &crate::store::PageRequest {
                limit: 1,
                after: None,
            },
        );
        Ok((s.get_agent(&id)?, newest))
    })
    .await?;
    let agent = agent.ok_or_else(|| ApiError::not_found("agent", agent_id))?;
    let newest = newest
        .map_err(ApiError::from)?
        .items
        .first()
        .map_or(agent.live_version, |v| v.version);
    Ok(Versions {
        live: agent.live_version,
        newest,
    })
}

/// Check one interaction's JSON; `field` prefixes the error's field path.
fn interaction_record(
    text: &str,
    versions: &Versions,
    now: i64,
    field: &dyn Fn(&str) -> String,
) -> Result<InteractionRecord, FieldError> {
    let generated = ids::new(ids::INTERACTION);
    let parsed = input::parse_interaction_with_id(text, &generated).map_err(|problem| {
        let (f, message) = support::split_problem(&problem);
        FieldError {
            field: field(&f),
            message,
        }
    })?;
    if parsed.id.len() > 256 {
        return Err(FieldError {
            field: field("id"),
            message: "must be at most 256 bytes".into(),
        });
    }
    if let Some(n) = parsed.agent_version
        && n > versions.newest
    {
        return Err(FieldError {
            field: field("agent_version"),
            message: format!(
                "the agent has no config version v{n} (its newest is v{}); a runtime's own label goes in `config_version`",
                versions.newest
            ),
        });
    }
    let body = stored_body(text, &parsed.id).map_err(|message| FieldError {
        field: field(""),
        message,
    })?;
    Ok(InteractionRecord {
        id: parsed.id,
        timestamp_ms: parsed.timestamp_ms,
        config_version: version_key(
            parsed.agent_version,
            parsed.config_version.as_deref(),
            &format!("v{}", versions.live),
        ),
        body,
        received_at_ms: now,
    })
}

/// The text to store for an interaction that passed the checks: the object
/// parsed and serialised again, with `id` set to the id it is stored under.
///
/// Never a splice of the client's text: `"id": null` (allowed, the server then
/// makes the id) once came out as a body with two `id` members, which every
/// later read refused. A serialised map holds each member once, so what is
/// stored always reads back as what was checked. Unknown members are kept
/// (logs carry framework extras); member order is not (JSON objects have
/// none), and numbers beyond 64 bits come back as floats.
fn stored_body(text: &str, id: &str) -> Result<String, String> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("must be a JSON object ({e})"))?;
    object.insert("id".into(), serde_json::Value::String(id.to_string()));
    serde_json::to_string(&object).map_err(|e| format!("cannot be stored ({e})"))
}

/// A store error about a single item names `id`, not `interactions[0].id`.
fn single(e: ApiError, list: &str) -> ApiError {
    let prefix = format!("{list}[0].");
    let mut e = e;
    for err in &mut e.errors {
        if let Some(rest) = err.field.strip_prefix(&prefix) {
            err.field = rest.to_string();
        }
    }
    if let Some(rest) = e.detail.strip_prefix(&prefix) {
        e.detail = rest.to_string();
    }
    e
}

/// Store one interaction
///
/// The body is one interaction in the `reverie dream` line format (see `InteractionInput`),
/// stored as sent. Without `id` the server makes one (`int_…`); without `config_version` the
/// agent's live version is recorded. The interaction body is not echoed. Idempotent with
/// `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/interactions", tag = "interactions",
    operation_id = "createInteraction",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    request_body(content = RawInteraction, description = "One interaction. Unknown fields are ignored (logs carry framework-specific extras)."),
    responses(
        (status = 201, description = "Stored (or, with a repeated `Idempotency-Key`, the stored response again).", body = InteractionView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = inline(openapi::Conflict)),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::InvalidOrReused)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn create_interaction(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let versions = live_version(&state, &principal, &agent_id).await?;
    let bytes = support::body(body, &headers)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::malformed_json("the body is not UTF-8"))?;
    // Syntax first, so broken JSON is 400 like everywhere else.
    let raw: Box<RawValue> = support::parse_json(text.as_bytes())?;
    let record = interaction_record(raw.get(), &versions, now_ms(), &|f| {
        if f.is_empty() {
            "body".into()
        } else {
            f.to_string()
        }
    })
    .map_err(|e| ApiError::invalid(vec![e]))?;

    let view = record_view(&agent_id, record.clone(), false)?;
    let route = format!("POST /v1/agents/{agent_id}/interactions");
    let created = support::create(
        &state,
        &principal,
        &headers,
        &route,
        &bytes,
        StatusCode::CREATED,
        &view,
        move |s, idem| s.insert_interactions(&agent_id, std::slice::from_ref(&record), idem),
    )
    .await
    .map_err(|e| single(e, "interactions"))?;
    Ok(created.response)
}

/// Up to 1000 interactions. Unknown fields are refused at the top level and ignored
/// inside items.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractionBatchInput)]
struct InteractionBatch {
    #[schema(value_type = Vec<RawInteraction>, min_items = 1, max_items = 1000)]
    interactions: Vec<Box<RawValue>>,
}

/// Store up to 1000 interactions at once
///
/// All or nothing: every item is checked before anything is written, and the write is one
/// transaction, so a rejected batch stores nothing and its error names each bad item and field
/// (`interactions[3].messages[0].role`, up to 50). Ids must be unique within the batch and new
/// to the agent. Idempotent with `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/interactions/batch", tag = "interactions",
    operation_id = "createInteractionBatch",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    request_body = InteractionBatch,
    responses(
        (status = 201, description = "Stored, all of them (or, with a repeated `Idempotency-Key`, the stored response again).", body = BatchView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = inline(openapi::Conflict)),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::InvalidOrReused)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn create_interactions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let versions = live_version(&state, &principal, &agent_id).await?;
    let bytes = support::body(body, &headers)?;
    let batch: InteractionBatch = support::parse_json(&bytes)?;
    check_batch_size("interactions", batch.interactions.len())?;
    let now = now_ms();
    let mut records = Vec::with_capacity(batch.interactions.len());
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (index, raw) in batch.interactions.iter().enumerate() {
        match interaction_record(raw.get(), &versions, now, &|f| {
            item_field("interactions", index, f)
        }) {
            Ok(record) => {
                if !seen.insert(record.id.clone()) {
                    errors.push(FieldError {
                        field: item_field("interactions", index, "id"),
                        message: format!("{:?} appears earlier in this batch", record.id),
                    });
                }
                records.push(record);
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(support::capped(errors)));
    }

    let view = BatchView {
        object: "interaction_batch",
        agent_id: agent_id.clone(),
        count: records.len(),
        ids: records.iter().map(|r| r.id.clone()).collect(),
    };
    let route = format!("POST /v1/agents/{agent_id}/interactions/batch");
    let created = support::create(
        &state,
        &principal,
        &headers,
        &route,
        &bytes,
        StatusCode::CREATED,
        &view,
        move |s, idem| s.insert_interactions(&agent_id, &records, idem),
    )
    .await?;
    Ok(created.response)
}

fn check_batch_size(list: &str, n: usize) -> Result<(), ApiError> {
    if n == 0 {
        return Err(ApiError::field(list, "must hold at least one item"));
    }
    if n > MAX_BATCH {
        return Err(ApiError::field(
            list,
            format!("holds {n} items; a batch holds at most {MAX_BATCH}"),
        ));
    }
    Ok(())
}

/// Get one interaction, with its body
///
/// With `interaction`: the body as stored; or, for a stored row that cannot be read,
/// `unreadable` (why) in its place.
#[utoipa::path(
    get, path = "/agents/{agent_id}/interactions/{interaction_id}", tag = "interactions",
    operation_id = "getInteraction",
    params(openapi::AgentPath, ("interaction_id" = String, Path, description = "The interaction's id.")),
    responses(
        (status = 200, description = "The interaction.", body = InteractionView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn get_interaction(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((agent_id, interaction_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let (a, i) = (agent_id.clone(), interaction_id.clone());
    let (record, agent) = blocking(&state, move |s| {
        Ok((s.get_interaction(&a, &i)?, s.get_agent(&a)?))
    })
    .await?;
    if agent.is_none() {
        return Err(ApiError::not_found("agent", &agent_id));
    }
    let record = record.ok_or_else(|| ApiError::not_found("interaction", &interaction_id))?;
    let view = interaction_view(&agent_id, record, true)?;
    Ok(support::json(StatusCode::OK, &view)?.0)
}

/// Delete an interaction and its feedback
///
/// Removes the interaction and every feedback on it, in one transaction; later dreams no longer
/// see it (reports that already named it keep the id). The way to remove a row that cannot be
/// read (`unreadable` in a listing or a report), or a conversation that must go. Admin keys,
/// and the agent's own scoped key (it writes the agent's interactions and feedback already);
/// another agent's key gets 404.
// A scoped key already writes this agent's interactions and feedback, and the
// service that logs an agent's conversations is the one asked to erase one.
#[utoipa::path(
    delete, path = "/agents/{agent_id}/interactions/{interaction_id}", tag = "interactions",
    operation_id = "deleteInteraction",
    params(openapi::AgentPath, ("interaction_id" = String, Path, description = "The interaction's id.")),
    responses(
        (status = 204, description = "Deleted, with its feedback. No body."),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn delete_interaction(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((agent_id, interaction_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let (a, i) = (agent_id.clone(), interaction_id.clone());
    blocking(&state, move |s| s.delete_interaction(&a, &i)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// List an agent's interactions
///
/// In arrival order, without their bodies (get one to read it). `next_cursor` is an
/// interaction id; a cursor naming no interaction of this agent is 400.
#[utoipa::path(
    get, path = "/agents/{agent_id}/interactions", tag = "interactions",
    operation_id = "listInteractions",
    params(openapi::AgentPath, openapi::PageQuery),
    responses(
        (status = 200, description = "A page of interactions.", body = InteractionPage),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn list_interactions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let page = support::page(&query)?;
    let a = agent_id.clone();
    let result = blocking(&state, move |s| match s.list_interactions(&a, &page) {
        Err(StoreError::NotFound { what, .. }) if what == CURSOR => Ok(None),
        other => other.map(Some),
    })
    .await?
    .ok_or_else(|| ApiError::bad_request("cursor", "is not a cursor this API gave out"))?;
    // The cursor is the last row of the page, readable or not, so that the
    // next page starts after it either way.
    let cursor = result.items.last().map(|r| r.record.id.clone());
    let mut data = Vec::with_capacity(result.items.len());
    let mut unreadable = Vec::new();
    for stored in result.items {
        match stored.unreadable {
            None => data.push(record_view(&agent_id, stored.record, false)?),
            Some(reason) => unreadable.push(UnreadableView {
                id: stored.record.id,
                reason,
            }),
        }
    }
    let has_more = result.has_more;
    let page = InteractionPage {
        object: "list",
        data,
        has_more,
        next_cursor: if has_more { cursor } else { None },
        unreadable,
    };
    Ok(support::json(StatusCode::OK, &page)?.0)
}

/// A page of interactions: a list, and the rows of this page left out of
/// `data` because they cannot be read (RELIABILITY 31: one bad row never
/// fails a listing, and it is not hidden either).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractionList)]
struct InteractionPage {
    #[schema(schema_with = super::support::list_object)]
    object: &'static str,
    /// The interactions, without their bodies.
    #[schema(max_items = 100)]
    data: Vec<InteractionView>,
    has_more: bool,
    #[schema(required = true)]
    next_cursor: Option<String>,
    /// Rows of this page left out of `data` because they cannot be read (written by an
    /// older reverie or by hand), each with why; absent when there are none. A page is never
    /// refused for a bad row, and the cursor moves past them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unreadable: Vec<UnreadableView>,
}

/// A row that cannot be read, and why.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UnreadableInteraction)]
struct UnreadableView {
    id: String,
    reason: String,
}

fn feedback_record(
    text: &str,
    now: i64,
    field: &dyn Fn(&str) -> String,
) -> Result<FeedbackRecord, FieldError> {
    let parsed = input::parse_feedback(text).map_err(|problem| {
        let (f, message) = support::split_problem(&problem);
        FieldError {
            field: field(&f),
            message,
        }
    })?;
    if parsed.comment.as_ref().is_some_and(|c| c.len() > 64 << 10) {
        return Err(FieldError {
            field: field("comment"),
            message: "must be at most 65536 bytes".into(),
        });
    }
    Ok(FeedbackRecord {
        id: ids::new(ids::FEEDBACK),
        interaction_id: parsed.interaction_id,
        rating: parsed.rating,
        comment: parsed.comment,
        created_at_ms: now,
    })
}

/// Store feedback on one interaction
///
/// The body is one feedback line (see `FeedbackInput`). Idempotent with `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/feedback", tag = "feedback",
    operation_id = "createFeedback",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    request_body(content = RawFeedback, description = "One piece of feedback. Unknown fields are ignored."),
    responses(
        (status = 201, description = "Stored (or, with a repeated `Idempotency-Key`, the stored response again).", body = FeedbackView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
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
pub async fn create_feedback(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    live_version(&state, &principal, &agent_id).await?;
    let bytes = support::body(body, &headers)?;
    let raw: Box<RawValue> = support::parse_json(&bytes)?;
    let record = feedback_record(raw.get(), now_ms(), &|f| {
        if f.is_empty() {
            "body".into()
        } else {
            f.to_string()
        }
    })
    .map_err(|e| ApiError::invalid(vec![e]))?;

    let view = feedback_view(&agent_id, record.clone());
    let route = format!("POST /v1/agents/{agent_id}/feedback");
    let created = support::create(
        &state,
        &principal,
        &headers,
        &route,
        &bytes,
        StatusCode::CREATED,
        &view,
        move |s, idem| s.insert_feedback(&agent_id, std::slice::from_ref(&record), idem),
    )
    .await
    .map_err(|e| single(e, "feedback"))?;
    Ok(created.response)
}

/// Up to 1000 pieces of feedback. Unknown fields are refused at the top level and ignored
/// inside items.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FeedbackBatchInput)]
struct FeedbackBatch {
    #[schema(value_type = Vec<RawFeedback>, min_items = 1, max_items = 1000)]
    feedback: Vec<Box<RawValue>>,
}

/// Store up to 1000 pieces of feedback at once
///
/// All or nothing, like interaction batches: a rejected batch stores nothing and its error
/// names each bad item and field (`feedback[2].rating`, up to 50). Idempotent with
/// `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/feedback/batch", tag = "feedback",
    operation_id = "createFeedbackBatch",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    request_body = FeedbackBatch,
    responses(
        (status = 201, description = "Stored, all of them (or, with a repeated `Idempotency-Key`, the stored response again).", body = BatchView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
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
pub async fn create_feedback_batch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    live_version(&state, &principal, &agent_id).await?;
    let bytes = support::body(body, &headers)?;
    let batch: FeedbackBatch = support::parse_json(&bytes)?;
    check_batch_size("feedback", batch.feedback.len())?;
    let now = now_ms();
    let mut records = Vec::with_capacity(batch.feedback.len());
    let mut errors = Vec::new();
    for (index, raw) in batch.feedback.iter().enumerate() {
        match feedback_record(raw.get(), now, &|f| item_field("feedback", index, f)) {
            Ok(r) => records.push(r),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(support::capped(errors)));
    }
    let view = BatchView {
        object: "feedback_batch",
        agent_id: agent_id.clone(),
        count: records.len(),
        ids: records.iter().map(|r| r.id.clone()).collect(),
    };
    let route = format!("POST /v1/agents/{agent_id}/feedback/batch");
    let created = support::create(
        &state,
        &principal,
        &headers,
        &route,
        &bytes,
        StatusCode::CREATED,
        &view,
        move |s, idem| s.insert_feedback(&agent_id, &records, idem),
    )
    .await?;
    Ok(created.response)
}
