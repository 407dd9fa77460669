//! `/v1/rules` (install, list, read and remove rules) and
//! `/v1/agents/{id}/rules` (the rule set an agent's dreams run).
//!
//! A rule is installed by POSTing its component (`application/wasm`); it is
//! checked, compiled and described before it is stored, under its sha256. An
//! agent's set names built-in rules (`builtin:NAME`) and installed ones (their
//! id) with settings and limits, checked against what each rule declares.
//! Installing, checking and resolving are [`crate::catalog`]'s; this module
//! parses and renders. Changing rules needs an admin key; any key reads them
//! (a scoped key only its own agent's set).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi;
use super::support::{self, List, blocking, now_ms, time};
use super::{ApiError, AppState, FieldError, Principal};
use crate::catalog::{Catalog, InstallError, SetRule};
use crate::domain::rules::{Limits, Metering};
use crate::store::{InstalledRule, LimitOverrides, RuleRef, RuleSet, RuleSetEntry, StoreError};

/// The largest component accepted: a Python rule is ~18 MB, a JavaScript one ~12 MB.
pub const MAX_RULE_BYTES: usize = 64 << 20;
/// Rules in one agent's set.
const MAX_SET: usize = 64;

/// A setting a rule accepts.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleSetting)]
struct SettingView {
    name: String,
    description: String,
    /// The value used when none is set.
    #[schema(required = true)]
    default: Option<String>,
}

/// An installed rule: what its `info()` said at install, and what it needs.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Rule)]
pub struct RuleView {
    #[schema(schema_with = rule_object)]
    object: &'static str,
    /// `sha256:` and the hex digest of the component: the same bytes are the same rule.
    #[schema(pattern = "^sha256:[0-9a-f]{64}$")]
    id: String,
    name: String,
    version: String,
    description: String,
    /// The `reverie:rules` contract version it was built against.
    #[schema(examples("0.1.1"))]
    contract: String,
    /// `detect` and/or `analyse`.
    stages: Vec<String>,
    /// The parts of an interaction it reads: `messages`, `system-messages`, `tool-calls`, `metadata`.
    inputs: Vec<String>,
    settings: Vec<SettingView>,
    /// Host interfaces it imports beyond logging: `llm` (needs a grant: such a rule runs
    /// only from the server config), `window.explicit-rating`, `window.problems`.
    capabilities: Vec<String>,
    size_bytes: u64,
    #[schema(schema_with = openapi::timestamp)]
    installed_at: String,
}

openapi::constant_schema! { rule_object = "rule"; }
openapi::constant_schema! { rule_set_object = "rule_set"; }

impl From<InstalledRule> for RuleView {
    fn from(r: InstalledRule) -> Self {
        let i = r.info.inputs;
        let inputs = [
            (i.messages, "messages"),
            (i.system_messages, "system-messages"),
            (i.tool_calls, "tool-calls"),
            (i.metadata, "metadata"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_string())
        .collect();
        RuleView {
            object: "rule",
            id: r.id,
            name: r.info.name,
            version: r.info.version,
            description: r.info.description,
            contract: r.contract,
            stages: r
                .info
                .stages
                .iter()
                .map(|s| {
                    serde_json::to_value(s)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect(),
            inputs,
            settings: r
                .info
                .settings
                .into_iter()
                .map(|s| SettingView {
                    name: s.name,
                    description: s.description,
                    default: s.default_value,
                })
                .collect(),
            capabilities: r.capabilities,
            size_bytes: r.size_bytes,
            installed_at: time(r.installed_at_ms),
        }
    }
}

/// The limits a rule runs under: the keys of the config's `[defaults]`.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleLimits)]
struct LimitsView {
    /// `epoch`: the wall-clock deadline alone bounds each call (the default); `fuel`: fuel
    /// too, a deterministic bound on the work of a call. Setting `fuel` alone means `fuel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(epoch|fuel)$")]
    metering: Option<Metering>,
    /// Fuel (roughly, wasm instructions) per call, under fuel metering.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    fuel: Option<u64>,
    /// Wall-clock budget per call, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    timeout_ms: Option<u64>,
    /// Linear memory of one rule instance, in MiB (at most 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4096)]
    memory_mib: Option<u64>,
    /// Largest findings the rule may return, in KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    max_findings_kib: Option<u64>,
    /// Log lines kept per dream.
    #[serde(skip_serializing_if = "Option::is_none")]
    max_log_lines: Option<usize>,
}

impl From<Limits> for LimitsView {
    fn from(l: Limits) -> Self {
        LimitsView {
            metering: Some(l.metering),
            fuel: Some(l.fuel),
            timeout_ms: Some(l.timeout_ms),
            memory_mib: Some(l.memory_bytes >> 20),
            max_findings_kib: Some(l.max_findings_bytes >> 10),
            max_log_lines: Some(l.max_log_lines),
        }
    }
}

/// One rule of a set, as a dream runs it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleSetRule)]
struct SetRuleView {
    /// `builtin:NAME`, an installed rule's id (`sha256:…`), or, in the server's default set,
    /// the path of a component the server config names.
    rule: String,
    /// The rule's own name (from its `info()`).
    name: String,
    settings: BTreeMap<String, String>,
    /// The limits it runs under: the server's `[defaults]` with the entry's own.
    limits: LimitsView,
}

/// The rules an agent's dreams run, in order.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RuleSet)]
struct RuleSetView {
    #[schema(schema_with = rule_set_object)]
    object: &'static str,
    agent_id: String,
    /// `true`: the agent has no set of its own and runs the server config's rules.
    default: bool,
    /// When the agent's own set was last stored; null for the default set.
    #[schema(required = true, format = DateTime)]
    updated_at: Option<String>,
    rules: Vec<SetRuleView>,
}

fn set_view(agent_id: String, rules: Vec<SetRule>, own: Option<&RuleSet>) -> RuleSetView {
    RuleSetView {
        object: "rule_set",
        agent_id,
        default: own.is_none(),
        updated_at: own.map(|s| time(s.updated_at_ms)),
        rules: rules
            .into_iter()
            .map(|r| SetRuleView {
                rule: r.rule,
                name: r.name,
                settings: r.settings.into_iter().collect(),
                limits: r.limits.into(),
            })
            .collect(),
    }
}

/// The rule set to store. Unknown fields are refused (422).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PutRuleSet)]
struct PutSet {
    /// In the order the rules run (the first rule's key names a problem several rules
    /// find). At most 64; an empty list runs no rule at all.
    #[schema(max_items = 64)]
    rules: Vec<PutEntry>,
}

/// One rule of a set to store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PutRuleSetRule)]
struct PutEntry {
    /// `builtin:NAME` or an installed rule's id (`sha256:…`).
    #[schema(examples("builtin:tool-failures"))]
    rule: String,
    /// Settings the rule declares (others are refused with 422); strings, numbers or booleans.
    #[serde(default)]
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    settings: BTreeMap<String, serde_json::Value>,
    /// Limits over the server's `[defaults]`, for this rule of this agent.
    #[serde(default)]
    limits: LimitsView,
}

fn catalog(state: &AppState) -> Result<Arc<Catalog>, ApiError> {
    state.catalog().cloned().ok_or_else(|| {
        ApiError::unavailable(
            "this server process runs no rules, so it cannot install or check them",
        )
    })
}

/// `sha256:…`, or a 404 that says what an id looks like.
fn rule_id(id: &str) -> Result<String, ApiError> {
    match RuleRef::parse(id) {
        Ok(RuleRef::Installed(id)) => Ok(id),
        _ => Err(ApiError::not_found("rule", id)),
    }
}

/// Install a rule (admin keys)
///
/// The body is the rule's WebAssembly component (`Content-Type: application/wasm`, at most
/// 64 MiB). It is checked (its imports and `reverie:rules` contract version), compiled and
/// asked for its `info()` before anything is stored; a rule refused there is 422 with the
/// reason. The rule's id is the sha256 of the bytes: installing the same bytes again returns
/// the installed rule with 200 and compiles nothing. Compiling a large component (a Python
/// or JavaScript runtime) takes tens of seconds; one install compiles at a time.
#[utoipa::path(
    post, path = "/rules", tag = "rules", operation_id = "installRule",
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "The component."),
    responses(
        (status = 200, description = "These bytes were installed already.", body = RuleView),
        (status = 201, description = "Installed.", body = RuleView),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::Invalid)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
        (status = 503, response = inline(openapi::Unavailable)),
    ),
)]
pub async fn install(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    principal.require_admin("installing rules")?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !(essence.eq_ignore_ascii_case("application/wasm")
        || essence.eq_ignore_ascii_case("application/octet-stream"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body must be a WebAssembly component",
            format!("Content-Type is {content_type:?}; send the component as application/wasm"),
        ));
    }
    // The body was read whole, within MAX_RULE_BYTES, before the handler ran.
    let bytes = axum::body::to_bytes(body, MAX_RULE_BYTES)
        .await
        .map_err(|_| ApiError::body_too_large())?;
    if bytes.is_empty() {
        return Err(ApiError::field(
            "body",
            "is empty: send the rule's component",
        ));
    }
    let catalog = catalog(&state)?;
    let store = state.store().clone();
    let (rule, new) =
        tokio::task::spawn_blocking(move || catalog.install(&*store, &bytes, now_ms()))
            .await
            .map_err(|e| ApiError::internal("install task", e))?
            .map_err(|e| match e {
                InstallError::Refused(failure) => ApiError::field("body", failure.message),
                InstallError::Store(e) => ApiError::from(e),
            })?;
    let status = if new {
        tracing::info!(rule = %rule.info.name, id = %rule.id, "rule installed");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(support::json(status, &RuleView::from(rule))?.0)
}

/// List installed rules
///
/// In id order.
#[utoipa::path(
    get, path = "/rules", tag = "rules", operation_id = "listRules",
    params(openapi::PageQuery),
    responses(
        (status = 200, description = "A page of installed rules.", body = List<RuleView>),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let page = support::page(&query)?;
    if let Some(cursor) = &page.after
        && RuleRef::parse(cursor).is_err()
    {
        return Err(ApiError::bad_request(
            "cursor",
            "is not a cursor this API gave out",
        ));
    }
    let result = blocking(&state, move |s| s.list_rules(&page)).await?;
    let cursor = result.items.last().map(|r| r.id.clone());
    let data: Vec<RuleView> = result.items.into_iter().map(RuleView::from).collect();
    Ok(support::list(data, result.has_more, cursor))
}

/// The id of an installed rule.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct RulePath {
    /// `sha256:` and 64 hex digits.
    #[param(example = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    rule_id: String,
}

/// Get an installed rule
#[utoipa::path(
    get, path = "/rules/{rule_id}", tag = "rules", operation_id = "getRule",
    params(RulePath),
    responses(
        (status = 200, description = "The rule.", body = RuleView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Path(rule_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = self::rule_id(&rule_id)?;
    let rule = blocking(&state, move |s| s.get_rule(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("rule", &rule_id))?;
    Ok(support::json(StatusCode::OK, &RuleView::from(rule))?.0)
}

/// Remove an installed rule (admin keys)
///
/// Refused with 409, naming the agents, while an agent's rule set names the rule.
#[utoipa::path(
    delete, path = "/rules/{rule_id}", tag = "rules", operation_id = "deleteRule",
    params(RulePath),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = inline(openapi::Conflict)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(rule_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require_admin("removing rules")?;
    let id = self::rule_id(&rule_id)?;
    let removed = id.clone();
    blocking(&state, move |s| s.delete_rule(&id)).await?;
    if let Some(catalog) = state.catalog() {
        catalog.forget(&removed);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The agent's rule set as a dream would run it now.
async fn current_set(state: &AppState, agent_id: String) -> Result<Response, ApiError> {
    let catalog = catalog(state)?;
    let id = agent_id.clone();
    let (rules, own) = blocking(state, move |s| catalog.describe(s, &id)).await?;
    Ok(support::json(StatusCode::OK, &set_view(agent_id, rules, own.as_ref()))?.0)
}

/// Get an agent's rule set
///
/// The rules the agent's dreams run, with the settings and limits each runs under: the
/// agent's own set, or (`default: true`) the server config's rules.
#[utoipa::path(
    get, path = "/agents/{agent_id}/rules", tag = "rules", operation_id = "getAgentRules",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The rule set.", body = RuleSetView),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
        (status = 503, response = inline(openapi::Unavailable)),
    ),
)]
pub async fn get_set(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.check_agent(&agent_id)?;
    current_set(&state, agent_id).await
}

/// Set an agent's rule set (admin keys)
///
/// From the next dream on, the agent runs these rules, in this order, instead of the server
/// config's. Each entry names a built-in rule (`builtin:NAME`) or an installed one (its id),
/// with settings the rule declares and limits over the server's `[defaults]`. Every problem
/// is reported at once (422, each with its field, e.g. `rules[1].settings.threshold`), and
/// nothing is stored unless all is well. A rule that calls a language model runs only with a
/// grant: a built-in one takes the grant the server config gives it; an installed one cannot
/// have one.
#[utoipa::path(
    put, path = "/agents/{agent_id}/rules", tag = "rules", operation_id = "putAgentRules",
    params(openapi::AgentPath),
    request_body = PutSet,
    responses(
        (status = 200, description = "The rule set as stored.", body = RuleSetView),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::Invalid)),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
        (status = 503, response = inline(openapi::Unavailable)),
    ),
)]
pub async fn put_set(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    principal.require_admin("changing an agent's rules")?;
    let bytes = support::body(body, &headers)?;
    let input: PutSet = support::parse_json(&bytes)?;
    if input.rules.len() > MAX_SET {
        return Err(ApiError::field(
            "rules",
            format!("has {} rules; at most {MAX_SET}", input.rules.len()),
        ));
    }
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    for (i, entry) in input.rules.into_iter().enumerate() {
        let rule = match RuleRef::parse(&entry.rule) {
            Ok(rule) => rule,
            Err(message) => {
                errors.push(FieldError {
                    field: format!("rules[{i}].rule"),
                    message,
                });
                continue;
            }
        };
        let mut settings = Vec::new();
        for (key, value) in entry.settings {
            match value {
                serde_json::Value::String(s) => settings.push((key, s)),
                serde_json::Value::Number(n) => settings.push((key, n.to_string())),
                serde_json::Value::Bool(b) => settings.push((key, b.to_string())),
                _ => errors.push(FieldError {
                    field: format!("rules[{i}].settings.{key}"),
                    message: "must be a string, a number or a boolean".into(),
                }),
            }
        }
        let l = entry.limits;
        entries.push((
            i,
            RuleSetEntry {
                rule,
                settings,
                limits: LimitOverrides {
                    metering: l.metering,
                    fuel: l.fuel,
                    timeout_ms: l.timeout_ms,
                    memory_mib: l.memory_mib,
                    max_findings_kib: l.max_findings_kib,
                    max_log_lines: l.max_log_lines,
                },
            },
        ));
    }
    let catalog = catalog(&state)?;
    let id = agent_id.clone();
    let checker = catalog.clone();
    let positions: Vec<usize> = entries.iter().map(|(i, _)| *i).collect();
    let rules: Vec<RuleSetEntry> = entries.into_iter().map(|(_, e)| e).collect();
    let set = RuleSet {
        rules,
        updated_at_ms: now_ms(),
    };
    // The agent must exist before its set is judged (404, not a list of 422s).
    let exists = id.clone();
    blocking(&state, move |s| {
        s.get_agent(&exists)?
            .map(|_| ())
            .ok_or_else(|| StoreError::NotFound {
                what: "agent",
                id: exists.clone(),
            })
    })
    .await?;
    let to_check = set.rules.clone();
    let found = blocking(&state, move |s| Ok(checker.check_set(s, &to_check))).await?;
    // `check_set` counts the entries it was given; name them as the client sent them.
    errors.extend(found.into_iter().map(|(field, message)| FieldError {
        field: renumber(&field, &positions),
        message,
    }));
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let stored = set.clone();
    blocking(&state, move |s| {
        s.put_rule_set(&id, Some(&stored)).map_err(|e| match e {
            // A rule removed between the check and the write: the message names it.
            StoreError::Dangling { message, .. } => StoreError::Dangling {
                index: None,
                field: "rules",
                message,
            },
            e => e,
        })
    })
    .await?;
    tracing::info!(agent_id = %agent_id, rules = set.rules.len(), "rule set stored");
    current_set(&state, agent_id).await
}

/// `rules[k].…` of the k-th checked entry, as `rules[i].…` of the request.
fn renumber(field: &str, positions: &[usize]) -> String {
    if let Some(rest) = field.strip_prefix("rules[")
        && let Some((k, tail)) = rest.split_once(']')
        && let Ok(k) = k.parse::<usize>()
        && let Some(i) = positions.get(k)
    {
        return format!("rules[{i}]{tail}");
    }
    field.to_string()
}

/// Send an agent back to the default rule set (admin keys)
///
/// From the next dream on, the agent runs the server config's rules. The installed rules its
/// set named stay installed.
#[utoipa::path(
    delete, path = "/agents/{agent_id}/rules", tag = "rules", operation_id = "deleteAgentRules",
    params(openapi::AgentPath),
    responses(
        (status = 200, description = "The default rule set the agent runs now.", body = RuleSetView),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
        (status = 503, response = inline(openapi::Unavailable)),
    ),
)]
pub async fn delete_set(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(agent_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require_admin("changing an agent's rules")?;
    let id = agent_id.clone();
    blocking(&state, move |s| s.put_rule_set(&id, None)).await?;
    current_set(&state, agent_id).await
}
