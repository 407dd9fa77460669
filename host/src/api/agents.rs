//! `/v1/agents`: create, read, list and update agents; their config versions.
//!
//! It parses, validates and renders; creating and updating an agent are
//! `service::agents`'s, and it must not write agents to the store around them.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, FieldError, Principal};
use crate::schedule::cron::{self, Schedule};
use crate::store::{Agent, AgentUpdate, ConfigVersion};

const MAX_NAME: usize = 200;
const MAX_PROMPT: usize = 256 << 10;
const MAX_URL: usize = 2048;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    name: String,
    model: String,
    #[serde(default)]
    system_prompt: String,
    dreaming_enabled: Option<bool>,
    dreaming_frequency: Option<String>,
    timezone: Option<String>,
    feedback_webhook: Option<String>,
    /// Absent: the server's default. `null` is refused: the document says
    /// integer, and a null here would silently mean the default too.
    #[serde(default, deserialize_with = "integer_not_null")]
    min_new_interactions: Option<u64>,
}

/// `Some(n)` for an integer; `null` is an error naming the field (by
/// serde_path_to_error's path) and saying what to do instead.
fn integer_not_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(d)? {
        Some(n) => Ok(Some(n)),
        None => Err(serde::de::Error::custom(
            "must be an integer, not null (leave the field out for the server default, [server] min_interactions)",
        )),
    }
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn explicit_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    name: Option<String>,
    model: Option<String>,
    system_prompt: Option<String>,
    dreaming_enabled: Option<bool>,
    dreaming_frequency: Option<String>,
    timezone: Option<String>,
    #[serde(default, deserialize_with = "explicit_null")]
    feedback_webhook: Option<Option<String>>,
    #[serde(default, deserialize_with = "explicit_null_number")]
    min_new_interactions: Option<Option<u64>>,
}

fn explicit_null_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[derive(Serialize)]
pub struct AgentView {
    object: &'static str,
    id: String,
    name: String,
    model: String,
    system_prompt: String,
    config_version: String,
    dreaming_enabled: bool,
    dreaming_frequency: String,
    timezone: String,
    /// When it next dreams by itself (jitter included); `null` when it does not.
    next_run_at: Option<String>,
    dreaming_paused: bool,
    /// `null`: the server's `[server] min_interactions`.
    min_new_interactions: Option<u64>,
    feedback_webhook: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Agent> for AgentView {
    fn from(a: Agent) -> Self {
        AgentView {
            object: "agent",
            id: a.id,
            name: a.name,
            model: a.model,
            system_prompt: a.system_prompt,
            config_version: format!("v{}", a.live_version),
            dreaming_enabled: a.dreaming_enabled,
            dreaming_frequency: a.dreaming_frequency,
            timezone: a.timezone,
            next_run_at: a.schedule.next_run_at_ms.map(time),
            dreaming_paused: a.schedule.paused,
            min_new_interactions: a.min_new_interactions,
            feedback_webhook: a.feedback_webhook,
            created_at: time(a.created_at_ms),
            updated_at: time(a.updated_at_ms),
        }
    }
}

#[derive(Serialize)]
struct VersionView {
    object: &'static str,
    version: String,
    system_prompt: String,
    live: bool,
    created_at: String,
}

impl From<ConfigVersion> for VersionView {
    fn from(v: ConfigVersion) -> Self {
        VersionView {
            object: "config_version",
            version: format!("v{}", v.version),
            system_prompt: v.system_prompt,
            live: v.live,
            created_at: time(v.created_at_ms),
        }
    }
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError {
            field: field.into(),
            message: "must not be empty".into(),
        });
    } else if value.len() > max {
        errors.push(FieldError {
            field: field.into(),
            message: format!("must be at most {max} bytes, got {}", value.len()),
        });
    }
}

/// A preset or a cron expression, checked strictly (the time zone apart).
pub fn check_frequency(value: &str) -> Result<(), String> {
    Schedule::parse(value, "UTC")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn check_timezone(value: &str) -> Result<(), String> {
    cron::parse_timezone(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

const MAX_MIN_NEW: u64 = 1_000_000_000;

fn check_min_new(value: u64) -> Result<(), String> {
    if value > MAX_MIN_NEW {
        Err(format!("must be at most {MAX_MIN_NEW}, got {value}"))
    } else {
        Ok(())
    }
}

fn check_webhook(value: &str) -> Result<(), String> {
    if value.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} bytes"));
    }
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(_) => Err(format!("must be an http or https URL, got {value:?}")),
        Err(e) => Err(format!("is not a URL ({e}): {value:?}")),
    }
}

fn push(errors: &mut Vec<FieldError>, field: &str, result: Result<(), String>) {
    if let Err(message) = result {
        errors.push(FieldError {
            field: field.into(),
            message,
        });
    }
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    principal.require_admin("creating an agent")?;
    let bytes = support::body(body, &headers)?;
    let input: CreateAgent = support::parse_json(&bytes)?;
    let mut errors = Vec::new();
    check_text(&mut errors, "name", &input.name, MAX_NAME);
    check_text(&mut errors, "model", &input.model, MAX_NAME);
    if input.system_prompt.len() > MAX_PROMPT {
        errors.push(FieldError {
            field: "system_prompt".into(),
            message: format!("must be at most {MAX_PROMPT} bytes"),
        });
    }
    let frequency = input.dreaming_frequency.unwrap_or_else(|| "daily".into());
    push(
        &mut errors,
        "dreaming_frequency",
        check_frequency(&frequency),
    );
    let timezone = input.timezone.unwrap_or_else(|| "UTC".into());
    push(&mut errors, "timezone", check_timezone(&timezone));
    if let Some(url) = &input.feedback_webhook {
        push(&mut errors, "feedback_webhook", check_webhook(url));
    }
    if let Some(n) = input.min_new_interactions {
        push(&mut errors, "min_new_interactions", check_min_new(n));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if let Some(url) = &input.feedback_webhook {
        super::webhooks::check_url(&state, "feedback_webhook", url).await?;
    }

    let agent = crate::service::agents::prepare(
        crate::service::agents::NewAgent {
            name: input.name,
            model: input.model,
            system_prompt: input.system_prompt,
            dreaming_enabled: input.dreaming_enabled.unwrap_or(true),
            dreaming_frequency: frequency,
            timezone,
            feedback_webhook: input.feedback_webhook,
            min_new_interactions: input.min_new_interactions,
        },
        state.policy(),
        now_ms(),
    );
    let view = AgentView::from(agent.clone());
    let created = support::create(
        &state,
        &principal,
        &headers,
        "POST /v1/agents",
        &bytes,
        StatusCode::CREATED,
        &view,
        move |s, idem| crate::service::agents::create(s, &agent, idem),
    )
    .await?;
    Ok(created.response)
}

pub async fn get(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let id = agent_id.clone();
    let agent = blocking(&state, move |s| s.get_agent(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("agent", &agent_id))?;
    Ok(support::json(StatusCode::OK, &AgentView::from(agent))?.0)
}

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = support::page_of_ids(&query, crate::ids::AGENT)?;
    let only = principal.agent_id.clone();
    let result = blocking(&state, move |s| s.list_agents(only.as_deref(), &page)).await?;
    let cursor = result.items.last().map(|a| a.id.clone());
    let data: Vec<AgentView> = result.items.into_iter().map(AgentView::from).collect();
    Ok(support::list(data, result.has_more, cursor))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let bytes = support::body(body, &headers)?;
    let input: UpdateAgent = support::parse_json(&bytes)?;
    let mut errors = Vec::new();
    if let Some(name) = &input.name {
        check_text(&mut errors, "name", name, MAX_NAME);
    }
    if let Some(model) = &input.model {
        check_text(&mut errors, "model", model, MAX_NAME);
    }
    if let Some(prompt) = &input.system_prompt
        && prompt.len() > MAX_PROMPT
    {
        errors.push(FieldError {
            field: "system_prompt".into(),
            message: format!("must be at most {MAX_PROMPT} bytes"),
        });
    }
    if let Some(f) = &input.dreaming_frequency {
        push(&mut errors, "dreaming_frequency", check_frequency(f));
    }
    if let Some(tz) = &input.timezone {
        push(&mut errors, "timezone", check_timezone(tz));
    }
    if let Some(Some(url)) = &input.feedback_webhook {
        push(&mut errors, "feedback_webhook", check_webhook(url));
    }
    if let Some(Some(n)) = input.min_new_interactions {
        push(&mut errors, "min_new_interactions", check_min_new(n));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if let Some(Some(url)) = &input.feedback_webhook {
        super::webhooks::check_url(&state, "feedback_webhook", url).await?;
    }
    let update = AgentUpdate {
        name: input.name.map(|n| n.trim().to_string()),
        model: input.model.map(|m| m.trim().to_string()),
        dreaming_enabled: input.dreaming_enabled,
        dreaming_frequency: input.dreaming_frequency,
        timezone: input.timezone,
        feedback_webhook: input.feedback_webhook,
        min_new_interactions: input.min_new_interactions,
        system_prompt: input.system_prompt,
    };
    let policy = *state.policy();
    let agent = blocking(&state, move |s| {
        crate::service::agents::update(s, &agent_id, &update, &policy, now_ms())
    })
    .await?;
    Ok(support::json(StatusCode::OK, &AgentView::from(agent))?.0)
}

pub async fn versions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let page = support::page(&query)?;
    if let Some(cursor) = &page.after
        && parse_version(cursor).is_none()
    {
        return Err(ApiError::bad_request(
            "cursor",
            "is not a cursor this API gave out",
        ));
    }
    let result = blocking(&state, move |s| s.list_versions(&agent_id, &page)).await?;
    let cursor = result.items.last().map(|v| format!("v{}", v.version));
    let data: Vec<VersionView> = result.items.into_iter().map(VersionView::from).collect();
    Ok(support::list(data, result.has_more, cursor))
}

/// `v1`, `v2`, …: digits only, no sign, no leading zero.
fn parse_version(text: &str) -> Option<i64> {
    crate::input::version_number(text)
}

pub async fn activate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((agent_id, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    let number = parse_version(&version).ok_or_else(|| {
        ApiError::bad_request("version", format!("must look like `v2`, got {version:?}"))
    })?;
    let agent = blocking(&state, move |s| {
        s.activate_version(&agent_id, number, now_ms())
    })
    .await?;
    Ok(support::json(StatusCode::OK, &AgentView::from(agent))?.0)
}
