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

use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, Principal};
use crate::store::Dream;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateDream {
    /// Start of the window (RFC 3339); default: the end of the last completed dream's window.
    since: Option<String>,
    /// End of the window (exclusive); default: now.
    until: Option<String>,
}

#[derive(Serialize)]
struct WindowView {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Serialize)]
struct SummaryView {
    text: String,
    interactions: u64,
    problems: u64,
    suggestions: u64,
}

#[derive(Serialize)]
pub(super) struct DreamView {
    object: &'static str,
    id: String,
    agent_id: String,
    status: &'static str,
    trigger: String,
    /// The schedule slot it is for (scheduled dreams only).
    slot: Option<String>,
    /// Times a worker claimed it (more than 1 after a takeover).
    attempts: u32,
    window: WindowView,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    /// Why it failed or was skipped.
    error: Option<String>,
    summary: Option<SummaryView>,
    /// When retention removed the rules' raw run output from the report.
    logs_swept_at: Option<String>,
    /// The whole report (`reverie.report/v2`): only when retrieving one dream.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<Option<Box<RawValue>>>,
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
