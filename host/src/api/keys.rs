//! `/v1/api-keys`: make, list and revoke keys (admin keys only).
//!
//! A new key's secret is in the creation response and nowhere else. For that
//! reason this POST refuses `Idempotency-Key`: replaying the response would
//! mean storing the secret.
//!
//! Making a key is `service::keys`'s; this module parses and renders, and must
//! not build keys itself.

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
use super::{ApiError, AppState, Principal};
use crate::store::ApiKey;
use utoipa::ToSchema;

/// The key's name, and the agent to scope it to. Unknown fields are refused (422).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateApiKey)]
struct CreateKey {
    /// Not blank; at most 200 bytes. Stored trimmed.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Scope the key to this agent (422 if there is none); absent or null for an admin key.
    agent_id: Option<String>,
}

/// An API key, never with its secret but in the response that made it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApiKey)]
pub struct KeyView {
    #[schema(schema_with = key_object)]
    object: &'static str,
    #[schema(pattern = "^key_[0-9a-z]{26}$")]
    id: String,
    name: String,
    /// The one agent the key sees; null for an admin key.
    #[schema(required = true)]
    agent_id: Option<String>,
    #[schema(schema_with = openapi::timestamp)]
    created_at: String,
    #[schema(required = true, format = DateTime)]
    revoked_at: Option<String>,
    /// The key itself, for `Authorization: Bearer …`. Only in the creation response.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^rvk_[0-9a-z]{26}_[0-9a-f]{64}$")]
    key: Option<String>,
}

openapi::constant_schema! { key_object = "api_key"; }

pub fn key_view(k: ApiKey, token: Option<String>) -> KeyView {
    KeyView {
        object: "api_key",
        id: k.id,
        name: k.name,
        agent_id: k.agent_id,
        created_at: time(k.created_at_ms),
        revoked_at: k.revoked_at_ms.map(time),
        key: token,
    }
}

/// Make an API key (admin keys)
///
/// The response holds the key itself (`key`), and nothing ever shows it again: the server
/// stores only its hash. For that reason this POST refuses `Idempotency-Key` (400): replaying
/// the response would mean storing the secret. 422 when a field is wrong or `agent_id` names
/// no agent.
#[utoipa::path(
    post, path = "/api-keys", tag = "api-keys", operation_id = "createApiKey",
    request_body = CreateKey,
    responses(
        (status = 201, description = "Created; `key` is shown this once.", body = KeyView),
        (status = 400, response = inline(openapi::BadBody)),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 413, response = openapi::BodyTooLarge),
        (status = 415, response = openapi::UnsupportedMediaType),
        (status = 422, response = inline(openapi::Invalid)),
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
    principal.require_admin("managing API keys")?;
    if headers.contains_key("idempotency-key") {
        return Err(ApiError::bad_request(
            "Idempotency-Key",
            "is not accepted here: a key's secret is shown once and never stored, so the response cannot be replayed",
        ));
    }
    let bytes = support::body(body, &headers)?;
    let input: CreateKey = support::parse_json(&bytes)?;
    if input.name.trim().is_empty() || input.name.len() > 200 {
        return Err(ApiError::field("name", "must be 1 to 200 bytes, not blank"));
    }
    let name = input.name.trim().to_string();
    let (key, token) = blocking(&state, move |s| {
        crate::service::keys::create(s, &name, input.agent_id, None, now_ms()).map_err(
            |e| match e {
                crate::service::keys::KeyError::Store(e) => e,
                e => crate::store::StoreError::Backend(e.to_string()),
            },
        )
    })
    .await
    .map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::field("agent_id", e.detail)
        } else {
            e
        }
    })?;
    Ok(support::json(StatusCode::CREATED, &key_view(key, Some(token)))?.0)
}

/// List API keys (admin keys)
///
/// In creation order, revoked ones included; never with their secrets.
#[utoipa::path(
    get, path = "/api-keys", tag = "api-keys", operation_id = "listApiKeys",
    params(openapi::PageQuery),
    responses(
        (status = 200, description = "A page of API keys.", body = List<KeyView>),
        (status = 400, response = openapi::BadQuery),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require_admin("managing API keys")?;
    let page = support::page_of_ids(&query, crate::ids::API_KEY)?;
    let result = blocking(&state, move |s| s.list_api_keys(&page)).await?;
    let cursor = result.items.last().map(|k| k.id.clone());
    let data: Vec<KeyView> = result
        .items
        .into_iter()
        .map(|k| key_view(k, None))
        .collect();
    Ok(support::list(data, result.has_more, cursor))
}

/// Revoke an API key (admin keys)
///
/// The key stops working at once; its row stays, with `revoked_at`. Revoking a revoked key
/// again changes nothing and answers the same.
#[utoipa::path(
    delete, path = "/api-keys/{key_id}", tag = "api-keys", operation_id = "revokeApiKey",
    params(("key_id" = String, Path, description = "The key's id (`key_…`).")),
    responses(
        (status = 200, description = "The key, revoked.", body = KeyView),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 429, response = openapi::RateLimited),
        (status = 500, response = openapi::Internal),
    ),
)]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require_admin("managing API keys")?;
    let key = blocking(&state, move |s| s.revoke_api_key(&key_id, now_ms())).await?;
    Ok(support::json(StatusCode::OK, &key_view(key, None))?.0)
}
