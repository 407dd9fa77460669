//! `/v1/agents/{id}/schedule` and `/v1/schedule/preview`: see where an agent's
//! schedule stands, pause and resume it, run it now, and try an expression
//! before saving it.
//!
//! Pause, resume and run-now are kept in an audit trail with the API key that
//! asked. Resuming starts from the next slot after now: the slots that passed
//! while paused are not replayed.
//!
//! It must not fire slots (the scheduler does); pause, resume and run-now go
//! through the store's audited methods.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::dreams::view as dream_view;
use super::openapi;
use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, Principal};
use crate::schedule::cron::{self, FireTime, Schedule};
use crate::store::{Agent, Dream, ScheduleEvent};
use utoipa::ToSchema;

/// Fire times listed by default, and at most.
const DEFAULT_COUNT: usize = 5;
const MAX_COUNT: usize = 100;
const EVENTS_SHOWN: u32 = 20;

/// A fire time, as an instant and on the schedule's wall clock.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FireTime)]
struct FireTimeView {
    /// The instant, UTC.
    #[schema(format = DateTime)]
    at: String,
    /// The same instant on the schedule's wall clock, RFC 3339 with its offset.
    #[schema(examples("2026-03-08T03:00:00-04:00"))]
    local: String,
}

impl From<FireTime> for FireTimeView {
    fn from(f: FireTime) -> Self {
        FireTimeView {
            at: time(f.at_ms),
            local: f.local,
        }
    }
}

/// A pause, resume or run-now, as audited.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ScheduleEvent)]
struct EventView {
    #[schema(pattern = "^(pause|resume|run_now)$")]
    action: String,
    /// The API key id that asked.
    actor: String,
    #[schema(format = DateTime)]
    at: String,
    /// For `run_now`, the dream id.
    #[schema(required = true)]
    detail: Option<String>,
}

/// Where an agent's schedule stands.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Schedule)]
struct ScheduleView {
    #[schema(schema_with = schedule_object)]
    object: &'static str,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    agent_id: String,
    dreaming_enabled: bool,
    /// `dreaming_frequency` as stored.
    expression: String,
    /// The expression as seven fields (seconds minutes hours day-of-month month day-of-week
    /// year), when it parses.
    #[schema(required = true)]
    cron: Option<String>,
    timezone: String,
    paused: bool,
    /// The next slot's nominal time; null while off or paused.
    #[schema(required = true, format = DateTime)]
    next_slot: Option<String>,
    /// When the next slot runs: the slot plus the agent's jitter.
    #[schema(required = true, format = DateTime)]
    next_run_at: Option<String>,
    /// The last slot the scheduler acted on.
    #[schema(required = true, format = DateTime)]
    last_slot: Option<String>,
    /// Slots skipped because a dream was still pending or running.
    overlap_skips: u64,
    /// Slots that passed while no scheduler ran and were not caught up.
    missed_slots: u64,
    /// The next five nominal fire times (without jitter), whatever the switches say.
    upcoming: Vec<FireTimeView>,
    /// Pause, resume and run-now, newest first (the last 20).
    events: Vec<EventView>,
}

openapi::constant_schema! {
    schedule_object = "schedule";
    preview_object = "schedule_preview";
}

fn schedule_view(agent: Agent, events: Vec<ScheduleEvent>, now: i64) -> ScheduleView {
    let parsed = Schedule::parse(&agent.dreaming_frequency, &agent.timezone).ok();
    ScheduleView {
        object: "schedule",
        agent_id: agent.id,
        dreaming_enabled: agent.dreaming_enabled,
        cron: parsed.as_ref().map(Schedule::canonical),
        upcoming: parsed
            .map(|s| {
                s.preview(now, DEFAULT_COUNT)
                    .into_iter()
                    .map(FireTimeView::from)
                    .collect()
            })
            .unwrap_or_default(),
        expression: agent.dreaming_frequency,
        timezone: agent.timezone,
        paused: agent.schedule.paused,
        next_slot: agent.schedule.next_slot_ms.map(time),
        next_run_at: agent.schedule.next_run_at_ms.map(time),
        last_slot: agent.schedule.last_slot_ms.map(time),
        overlap_skips: agent.schedule.overlap_skips,
        missed_slots: agent.schedule.missed_slots,
        events: events
            .into_iter()
            .map(|e| EventView {
                action: e.action,
                actor: e.actor,
                at: time(e.at_ms),
                detail: e.detail,
            })
            .collect(),
    }
}

async fn current(state: &AppState, agent_id: String) -> Result<Response, ApiError> {
    let id = agent_id.clone();
    let (agent, events) = blocking(state, move |s| {
        let agent = s.get_agent(&id)?;
        let events = match &agent {
            Some(_) => s.schedule_events(&id, EVENTS_SHOWN)?,
            None => Vec::new(),
        };
        Ok((agent, events))
    })
    .await?;
    let agent = agent.ok_or_else(|| ApiError::not_found("agent", &agent_id))?;
    Ok(support::json(StatusCode::OK, &schedule_view(agent, events, now_ms()))?.0)
}

/// Where the agent's schedule stands
///
/// The expression, its time zone, the next slot and run time, what happened to earlier slots,
/// the next five fire times, and the audit trail of pause, resume and run-now.
#[utoipa::path(
    get, path = "/agents/{agent_id}/schedule", tag = "schedule", operation_id = "getSchedule",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The schedule as it is now.", body = ScheduleView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    current(&state, agent_id).await
}

/// Pause or resume; `paused` says which.
async fn set_paused(
    state: AppState,
    principal: Principal,
    agent_id: String,
    paused: bool,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let policy = *state.policy();
    let id = agent_id.clone();
    blocking(&state, move |s| {
        let now = now_ms();
        s.set_paused(
            &id,
            paused,
            &|agent| policy.next_for(agent, now),
            &ScheduleEvent {
                agent_id: id.clone(),
                at_ms: now,
                action: if paused { "pause" } else { "resume" }.into(),
                actor: principal.key_id.clone(),
                detail: None,
            },
        )
    })
    .await?;
    current(&state, agent_id).await
}

/// Pause the schedule
///
/// No slot comes due while paused; dreams asked for still run. Takes no body. Audited.
#[utoipa::path(
    post, path = "/agents/{agent_id}/schedule/pause", tag = "schedule", operation_id = "pauseSchedule",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The schedule as it is now.", body = ScheduleView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn pause(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    set_paused(state, principal, agent_id, true).await
}

/// Resume the schedule
///
/// Starts from the next slot after now: slots that passed while paused are not replayed.
/// Takes no body. Audited.
#[utoipa::path(
    post, path = "/agents/{agent_id}/schedule/resume", tag = "schedule", operation_id = "resumeSchedule",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The schedule as it is now.", body = ScheduleView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn resume(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    set_paused(state, principal, agent_id, false).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunNow {}

/// Run a dream now
///
/// Queues a dream (trigger `run_now`) over the window since the last completed dream, whatever
/// the schedule says (paused too), and answers at once with it `pending`. The body may be left
/// out or be `{}`. Audited. Idempotent with `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents/{agent_id}/schedule/run", tag = "schedule", operation_id = "runScheduleNow",
    params(openapi::AgentPath, openapi::IdempotencyKey),
    responses(
        (status = 202, description = "Queued (or, with a repeated `Idempotency-Key`, the stored response again).", body = super::dreams::DreamView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
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
pub async fn run_now(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let bytes = support::body(body, &headers)?;
    if !bytes.is_empty() {
        // Nothing to say yet; `{}` is accepted, anything more is refused.
        let _: RunNow = support::parse_json(&bytes)?;
    }
    let now = now_ms();
    let dream = Dream::pending(&agent_id, "run_now", now, now);
    let event = ScheduleEvent {
        agent_id: agent_id.clone(),
        at_ms: now,
        action: "run_now".into(),
        actor: principal.key_id.clone(),
        detail: Some(dream.id.clone()),
    };
    let created = support::create(
        &state,
        &principal,
        &headers,
        &format!("POST /v1/agents/{agent_id}/schedule/run"),
        &bytes,
        StatusCode::ACCEPTED,
        &dream_view(dream.clone(), false)?,
        move |s, idem| s.create_dream(&dream, Some(&event), idem),
    )
    .await?;
    if created.fresh {
        state.wake_workers();
    }
    Ok(created.response)
}

/// The next fire times of an expression in a time zone.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SchedulePreview)]
struct PreviewView {
    #[schema(schema_with = preview_object)]
    object: &'static str,
    expression: String,
    cron: String,
    timezone: String,
    fire_times: Vec<FireTimeView>,
}

/// Try a schedule before saving it
///
/// The next fire times of an expression in a time zone, as instants and as local times,
/// following the DST rule: a time in a skipped hour runs once, at the jump; a fixed time in a
/// repeated hour runs once, at its first occurrence; schedules that run every hour run at
/// both. Nominal times: an agent's jitter comes on top.
#[utoipa::path(
    get, path = "/schedule/preview", tag = "schedule", operation_id = "previewSchedule",
    params(
        ("expression" = String, Query, description = "A preset or a cron expression, as in `dreaming_frequency`.", example = "0 3 * * *"),
        ("timezone" = Option<String>, Query, description = "IANA time zone name; default `UTC`.", example = "America/New_York"),
        ("count" = Option<u32>, Query, description = "How many fire times, 1–100; default 5.", minimum = 1, maximum = 100),
        ("after" = Option<String>, Query, description = "List fire times after this RFC 3339 time; default now.", format = DateTime),
    ),
    responses(
        (status = 200, description = "The next fire times.", body = PreviewView),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn preview(
    Extension(_principal): Extension<Principal>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    for key in query.keys() {
        if !matches!(key.as_str(), "expression" | "timezone" | "count" | "after") {
            return Err(ApiError::bad_request(
                key.clone(),
                "is not a parameter here (expression, timezone, count, after)",
            ));
        }
    }
    let expression = query
        .get("expression")
        .ok_or_else(|| ApiError::bad_request("expression", "is required, e.g. `0 3 * * *`"))?;
    let timezone = query.get("timezone").map_or("UTC", String::as_str);
    cron::parse_timezone(timezone).map_err(|e| ApiError::bad_request("timezone", e.to_string()))?;
    let schedule = Schedule::parse(expression, timezone)
        .map_err(|e| ApiError::bad_request("expression", e.to_string()))?;
    let count = match query.get("count") {
        None => DEFAULT_COUNT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "count",
                    format!("must be a whole number from 1 to {MAX_COUNT}, got {text:?}"),
                )
            })?,
    };
    let after = match query.get("after") {
        None => now_ms(),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                ApiError::bad_request(
                    "after",
                    format!("must be an RFC 3339 time like 2026-11-01T00:00:00Z, got {text:?}"),
                )
            })?,
    };
    let view = PreviewView {
        object: "schedule_preview",
        expression: schedule.expression().to_string(),
        cron: schedule.canonical(),
        timezone: timezone.to_string(),
        fire_times: schedule
            .preview(after, count)
            .into_iter()
            .map(FireTimeView::from)
            .collect(),
    };
    Ok(support::json(StatusCode::OK, &view)?.0)
}
