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

use super::openapi;
use super::support::List;
use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, FieldError, Principal};
use crate::schedule::cron::{self, Schedule};
use crate::store::{Agent, AgentUpdate, ConfigVersion};
use utoipa::ToSchema;

const MAX_NAME: usize = 200;
const MAX_PROMPT: usize = 256 << 10;
const MAX_URL: usize = 2048;

/// A new agent. Unknown fields are refused (422).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// Not blank; at most 200 bytes. Stored trimmed.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The model the agent runs on; not blank; at most 200 bytes. Stored trimmed.
    #[schema(min_length = 1, max_length = 200, examples("gpt-4o"))]
    model: String,
    /// Config version `v1`'s prompt; at most 256 KiB.
    #[serde(default)]
    #[schema(max_length = 262144)]
    system_prompt: String,
    /// Default `true`.
    dreaming_enabled: Option<bool>,
    /// Default `daily`. A preset (`hourly` at minute 0, `daily` at 03:00, `weekly` on Monday at 03:00, all in the agent's time zone; also spelled `@hourly`, `@daily`, `@weekly`, and `@midnight`) or a cron expression: 5 fields (`minute hour day-of-month month day-of-week`), 6 with seconds first, or 7 with a year last. See `GET /v1/schedule/preview`. Checked strictly: a wrong field, value or name is 422 naming it.
    dreaming_frequency: Option<String>,
    /// IANA time zone name the schedule runs in, stored by name (never as an offset);
    /// default `UTC`. An unknown name is 422.
    timezone: Option<String>,
    /// An http or https URL with a host.
    #[schema(max_length = 2048)]
    feedback_webhook: Option<String>,
    /// Fewer new interactions than this since the last dream: the dream is skipped. Leave it
    /// out for the server default (`[server] min_interactions`); null is refused with 422 (on
    /// PATCH, null goes back to the default).
    // Absent: the server's default. `null` is refused: the document says
    // integer, and a null here would silently mean the default too.
    #[serde(default, deserialize_with = "integer_not_null")]
    #[schema(value_type = u64, maximum = 1000000000)]
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

/// Every field is optional; absent or null leaves it alone, except `feedback_webhook` and
/// `min_new_interactions`, where null clears it. The checks are those of `CreateAgent`.
/// Unknown fields are refused (422).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    model: Option<String>,
    /// A prompt different from the live one becomes a new config version, made live.
    #[schema(max_length = 262144)]
    system_prompt: Option<String>,
    dreaming_enabled: Option<bool>,
    /// A preset (`hourly` at minute 0, `daily` at 03:00, `weekly` on Monday at 03:00, all in the agent's time zone; also spelled `@hourly`, `@daily`, `@weekly`, and `@midnight`) or a cron expression: 5 fields (`minute hour day-of-month month day-of-week`), 6 with seconds first, or 7 with a year last. See `GET /v1/schedule/preview`.
    dreaming_frequency: Option<String>,
    /// IANA time zone name; an unknown name is 422.
    timezone: Option<String>,
    /// null clears it.
    #[serde(default, deserialize_with = "explicit_null")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    feedback_webhook: Option<Option<String>>,
    /// Fewer new interactions than this since the last dream: the dream is skipped. null goes
    /// back to the server default.
    #[serde(default, deserialize_with = "explicit_null_number")]
    #[schema(value_type = Option<u64>, maximum = 1000000000)]
    min_new_interactions: Option<Option<u64>>,
}

fn explicit_null_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

/// An agent.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Agent)]
pub struct AgentView {
    #[schema(schema_with = agent_object)]
    object: &'static str,
    #[schema(pattern = "^agt_[0-9a-z]{26}$")]
    id: String,
    name: String,
    model: String,
    /// The live config version's system prompt.
    system_prompt: String,
    /// The live config version.
    #[schema(pattern = "^v[1-9][0-9]*$", examples("v1"))]
    config_version: String,
    dreaming_enabled: bool,
    /// A preset (`hourly` at minute 0, `daily` at 03:00, `weekly` on Monday at 03:00, all in the agent's time zone; also spelled `@hourly`, `@daily`, `@weekly`, and `@midnight`) or a cron expression: 5 fields (`minute hour day-of-month month day-of-week`), 6 with seconds first, or 7 with a year last. See `GET /v1/schedule/preview`.
    #[schema(examples("daily", "0 3 * * *"))]
    dreaming_frequency: String,
    /// IANA time zone name the schedule runs in, stored by name (never as an offset); default `UTC`.
    #[schema(examples("UTC", "Europe/Berlin"))]
    timezone: String,
    /// When the agent next dreams by itself: the next slot plus its jitter. null while dreaming
    /// is off or paused.
    #[schema(required = true, format = DateTime)]
    next_run_at: Option<String>,
    /// Paused with `POST /v1/agents/{agent_id}/schedule/pause`.
    dreaming_paused: bool,
    /// A dream with fewer new interactions since the last one is recorded `skipped: not
    /// enough data`. null: the server default (`[server] min_interactions`, 10).
    #[schema(required = true)]
    min_new_interactions: Option<u64>,
    #[schema(required = true)]
    feedback_webhook: Option<String>,
    #[schema(schema_with = openapi::timestamp)]
    created_at: String,
    #[schema(schema_with = openapi::timestamp)]
    updated_at: String,
}

openapi::constant_schema! {
    agent_object = "agent";
    version_object = "config_version";
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

/// A config version: a system prompt the agent had, or has.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ConfigVersion)]
struct VersionView {
    #[schema(schema_with = version_object)]
    object: &'static str,
    #[schema(pattern = "^v[1-9][0-9]*$", examples("v2"))]
    version: String,
    system_prompt: String,
    /// Whether this is the agent's live version.
    live: bool,
    #[schema(schema_with = openapi::timestamp)]
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

/// Create an agent (admin keys)
///
/// Creates the agent with config version `v1` live, holding `system_prompt`. Idempotent with
/// `Idempotency-Key`.
#[utoipa::path(
    post, path = "/agents", tag = "agents", operation_id = "createAgent",
    params(openapi::IdempotencyKey),
    request_body = CreateAgent,
    responses(
        (status = 201, description = "Created (or, with a repeated `Idempotency-Key`, the stored response again).", body = AgentView, headers(("idempotent-replayed" = String, description = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise."))),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
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

/// Get an agent
#[utoipa::path(
    get, path = "/agents/{agent_id}", tag = "agents", operation_id = "getAgent",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The agent.", body = AgentView),
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
    let id = agent_id.clone();
    let agent = blocking(&state, move |s| s.get_agent(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("agent", &agent_id))?;
    Ok(support::json(StatusCode::OK, &AgentView::from(agent))?.0)
}

/// List agents
///
/// In creation order. A key scoped to an agent sees only that agent.
#[utoipa::path(
    get, path = "/agents", tag = "agents", operation_id = "listAgents",
    params(openapi::PageQuery),
    responses(
        (status = 200, description = "A page of agents.", body = List<AgentView>),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
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

/// Update an agent
///
/// Changes the fields given; absent or `null` fields are left alone, except `feedback_webhook`
/// and `min_new_interactions`, where `null` clears it. A `system_prompt` different from the
/// live one becomes a new config version and is made live.
#[utoipa::path(
    patch, path = "/agents/{agent_id}", tag = "agents", operation_id = "updateAgent",
    params(openapi::AgentPath),
    request_body = UpdateAgent,
    responses(
        (status = 200, description = "The agent as it is now.", body = AgentView),
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

/// List an agent's config versions
///
/// Newest first. `next_cursor` is a version name (`v3`).
#[utoipa::path(
    get, path = "/agents/{agent_id}/versions", tag = "agents", operation_id = "listConfigVersions",
    params(openapi::AgentPath, openapi::PageQuery),
    responses(
        (status = 200, description = "A page of config versions.", body = List<VersionView>),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
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

/// Make an earlier config version live again
///
/// Takes no body. Answers with the agent, whose `config_version` and `system_prompt` are now
/// this version's. 404 when the agent has no such version.
#[utoipa::path(
    post, path = "/agents/{agent_id}/versions/{version}/activate", tag = "agents",
    operation_id = "activateConfigVersion",
    params(openapi::AgentPath, ("version" = String, Path, description = "A version name: `v` and its number.", pattern = "^v[1-9][0-9]*$", example = "v2")),
    responses(
        (status = 200, description = "The agent as it is now.", body = AgentView),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
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
