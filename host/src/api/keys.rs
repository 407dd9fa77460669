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

use super::support::{self, blocking, now_ms, time};
use super::{ApiError, AppState, Principal};
use crate::store::ApiKey;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    /// Scope the key to this agent; absent for an admin key.
    agent_id: Option<String>,
}

#[derive(Serialize)]
pub struct KeyView {
    object: &'static str,
    id: String,
    name: String,
    agent_id: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
    /// The key itself: in the creation response only.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

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

pub async fn revoke(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require_admin("managing API keys")?;
    let key = blocking(&state, move |s| s.revoke_api_key(&key_id, now_ms())).await?;
    Ok(support::json(StatusCode::OK, &key_view(key, None))?.0)
}
