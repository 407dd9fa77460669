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
use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, Principal};
use crate::schedule::cron::{self, FireTime, Schedule};
use crate::store::{Agent, Dream, ScheduleEvent};

/// Fire times listed by default, and at most.
const DEFAULT_COUNT: usize = 5;
const MAX_COUNT: usize = 100;
const EVENTS_SHOWN: u32 = 20;

#[derive(Serialize)]
struct FireTimeView {
    /// The instant, UTC.
    at: String,
    /// The same instant on the wall clock of the schedule's time zone.
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

#[derive(Serialize)]
struct EventView {
    action: String,
    actor: String,
    at: String,
    detail: Option<String>,
}

#[derive(Serialize)]
struct ScheduleView {
    object: &'static str,
    agent_id: String,
    dreaming_enabled: bool,
    expression: String,
    /// The expression as seven cron fields (seconds … year), when it parses.
    cron: Option<String>,
    timezone: String,
    paused: bool,
    /// The next slot's nominal time, and when it runs (jitter added).
    next_slot: Option<String>,
    next_run_at: Option<String>,
    last_slot: Option<String>,
    overlap_skips: u64,
    missed_slots: u64,
    /// The next nominal fire times (without jitter), whatever the switches say.
    upcoming: Vec<FireTimeView>,
    /// Pause, resume and run-now, newest first.
    events: Vec<EventView>,
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

pub async fn pause(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    set_paused(state, principal, agent_id, true).await
}

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

/// A dream now, over the window since the last one, whatever the schedule
/// says (a paused schedule too). Audited as `run_now`.
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

#[derive(Serialize)]
struct PreviewView {
    object: &'static str,
    expression: String,
    cron: String,
    timezone: String,
    fire_times: Vec<FireTimeView>,
}

/// `?expression=…&timezone=…&count=…&after=…`: the next fire times, before
/// saving a schedule. Nominal times: an agent's jitter comes on top.
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
