//! `/v1/agents/{id}/dreams` and `/v1/dreams/{id}`: ask for a dream now, follow it,
//! and read its report.
//!
//! It must not run a dream: it records one for the workers (`dreams`) and
//! reads what they stored.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::openapi;
use super::support::List;
use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, Principal};
use crate::store::Dream;
use utoipa::ToSchema;

/// The window of a dream asked for; both ends optional. Unknown fields are refused (422).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateDream {
    /// Start of the window (RFC 3339). Default: the end of the last completed dream's window.
    #[schema(format = DateTime)]
    since: Option<String>,
    /// End of the window, exclusive (RFC 3339). Default: now.
    #[schema(format = DateTime)]
    until: Option<String>,
}

/// The interactions a dream reviews: `[start, end)`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DreamWindow)]
struct WindowView {
    /// null: since the last completed dream.
    #[schema(required = true, format = DateTime)]
    start: Option<String>,
    #[schema(required = true, format = DateTime)]
    end: Option<String>,
}

/// What a dream found, in brief.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DreamSummary)]
struct SummaryView {
    text: String,
    interactions: u64,
    /// Problems found (one per root cause).
    problems: u64,
    suggestions: u64,
}

/// A dream: rules run over a window of an agent's interactions.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Dream)]
pub(super) struct DreamView {
    #[schema(schema_with = dream_object)]
    object: &'static str,
    #[schema(pattern = "^drm_[0-9a-z]{26}$")]
    id: String,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    agent_id: String,
    #[schema(schema_with = dream_status)]
    status: &'static str,
    /// Who asked: `api` (`POST …/dreams`), `run_now` (`POST …/schedule/run`), `schedule` (a
    /// slot on time), or `catch_up` (the latest slot missed while the server was down, run
    /// once).
    #[schema(pattern = "^(api|run_now|schedule|catch_up)$")]
    trigger: String,
    /// The schedule slot (nominal fire time) of a scheduled dream; null for dreams asked
    /// for. At most one dream per agent and slot.
    #[schema(required = true, format = DateTime)]
    slot: Option<String>,
    /// How many times a worker claimed it; more than 1 after a stalled worker's lease
    /// expired and another took over.
    attempts: u32,
    window: WindowView,
    #[schema(schema_with = openapi::timestamp)]
    created_at: String,
    #[schema(required = true, format = DateTime)]
    started_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    finished_at: Option<String>,
    /// Why it failed or was skipped: `not enough data: …`, `overlap: …` (the previous dream
    /// was still pending or running), `missed: …` (the slot passed while no scheduler ran,
    /// beyond the catch-up window), `abandoned: …`.
    #[schema(required = true)]
    error: Option<String>,
    /// What it found, in brief, once completed.
    #[schema(required = true)]
    summary: Option<SummaryView>,
    /// When retention (`[retention] run_logs`, default 90 days after the dream finished)
    /// removed the rules' raw run output from the report: each rule's `log` is then empty
    /// (its lines counted in `log_lines_dropped`) and `output` null. Everything else in the
    /// report stays. null: nothing was removed.
    #[schema(required = true, format = DateTime)]
    logs_swept_at: Option<String>,
    /// `reverie.report/v2` (see `host/schema/report.v2.json`). Only when getting one dream;
    /// null until it completes. Stored interactions that could not be read are left out,
    /// counted in `window.unreadable_interactions` and named (the first 20, with why) in
    /// `window.unreadable`; the summary says so too.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    report: Option<Option<Box<RawValue>>>,
}

openapi::constant_schema! {
    dream_object = "dream";
    dream_status = "pending" | "running" | "completed" | "failed" | "skipped";
}

pub(super) fn view(d: Dream, whole: bool) -> Result<DreamView, ApiError> {
    let report = if whole {
        Some(match d.report {
            Some(text) => Some(
                RawValue::from_string(text).map_err(|e| ApiError::internal("stored report", e))?,
            ),
            None => None,
        })
    } else {
        None
    };
    Ok(DreamView {
        object: "dream",
        id: d.id,
        agent_id: d.agent_id,
        status: d.status.as_str(),
        trigger: d.trigger,
        slot: d.slot_ms.map(time),
        attempts: d.attempts,
        window: WindowView {
            start: d.window_start_ms.map(time),
            end: d.window_end_ms.map(time),
        },
        created_at: time(d.created_at_ms),
        started_at: d.started_at_ms.map(time),
        finished_at: d.finished_at_ms.map(time),
        error: d.error,
        summary: d.summary.map(|s| SummaryView {
            text: s.text,
            interactions: s.interactions,
            problems: s.problems,
            suggestions: s.suggestions,
        }),
        logs_swept_at: d.logs_swept_at_ms.map(time),
        report,
    })
}

fn parse_time(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ApiError::field(
                        field,
                        format!("must be an RFC 3339 time like 2026-11-01T00:00:00Z, got {v:?}"),
                    )
                })
        })
        .transpose()
}

/// Ask for a dream now
///
/// Queues a dream over `[since, until)` and answers at once with it `pending` (without
/// `report`); follow it at `GET /v1/dreams/{dream_id}`. The body may be left out.
/// Idempotent with `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/dreams", tag = "dreams", operation_id = "createDream",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    request_body = Option<CreateDream>,
    responses(
        (status = 202, description = "Queued (or, with a repeated `Idempotency-Key`, the stored response again).", body = DreamView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
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
    let input: CreateDream = if bytes.is_empty() {
        CreateDream::default()
    } else {
        support::parse_json(&bytes)?
    };
    let now = now_ms();
    let since = parse_time("since", input.since.as_deref())?;
    let until = parse_time("until", input.until.as_deref())?.unwrap_or(now);
    if let Some(since) = since
        && since >= until
    {
        return Err(ApiError::field("since", "must be before `until` (or now)"));
    }

    let dream = Dream {
        window_start_ms: since,
        ..Dream::pending(&agent_id, "api", now, until)
    };
    let created = support::create(
        &state,
        &principal,
        &headers,
        &format!("POST /v1/agents/{agent_id}/dreams"),
        &bytes,
        StatusCode::ACCEPTED,
        &view(dream.clone(), false)?,
        move |s, idem| s.create_dream(&dream, None, idem),
    )
    .await?;
    if created.fresh {
        state.wake_workers();
    }
    Ok(created.response)
}

/// List an agent's dreams
///
/// Newest first, without their reports. `next_cursor` is a dream id.
#[utoipa::path(
    get, path = "/agents/{agent_id}/dreams", tag = "dreams", operation_id = "listDreams",
    params(openapi::AgentPath, openapi::PageQuery),
    responses(
        (status = 200, description = "A page of dreams.", body = List<DreamView>),
        (status = 400, response = openapi::BadQuery),
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
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let page = support::page_of_ids(&query, crate::ids::DREAM)?;
    let result = blocking(&state, move |s| s.list_dreams(&agent_id, &page)).await?;
    let cursor = result.items.last().map(|d| d.id.clone());
    let data = result
        .items
        .into_iter()
        .map(|d| view(d, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(support::list(data, result.has_more, cursor))
}

/// Get a dream, with its report
///
/// `report` is null until it completes. A key scoped to another agent gets 404, as if the
/// dream did not exist.
#[utoipa::path(
    get, path = "/dreams/{dream_id}", tag = "dreams", operation_id = "getDream",
    params(("dream_id" = String, Path, description = "The dream's id (`drm_…`).")),
    responses(
        (status = 200, description = "The dream, with `report`.", body = DreamView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(dream_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = dream_id.clone();
    let dream = blocking(&state, move |s| s.get_dream(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("dream", &dream_id))?;
    // A scoped key sees another agent's dream as missing, not forbidden.
    if principal.check_agent(&dream.agent_id).is_err() {
        return Err(ApiError::not_found("dream", &dream_id));
    }
    Ok(support::json(StatusCode::OK, &view(dream, true)?)?.0)
}
