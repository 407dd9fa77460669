//! API keys: how they look, how they are checked, and who a request is.
//!
//! A key is `rvk_<26 chars>_<64 hex>`: the middle part names the key's row
//! (`key_<26 chars>`), the last part is 256 random bits. Only the sha256 of the
//! secret is stored; a lookup finds the row by id and compares hashes in
//! constant time, so a dump of the database holds no usable key and response
//! times say nothing about how much of a guess was right. Plain sha256 is enough
//! here (no password hashing) because the secret is random, not chosen by a person.
//!
//! It must not make keys (`service::keys` does) or store them: it only checks
//! a token against `KeyStore`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::observe::KeySlot;
use super::{ApiError, AppState};
use crate::ids;

pub use crate::service::keys::{TOKEN_PREFIX, new_key};

/// Who is calling: the key, and the one agent it may see if it is scoped.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub key_id: String,
    pub agent_id: Option<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.agent_id.is_none()
    }

    /// Whether this caller may see `agent_id`. A scoped key asking about another
    /// agent gets 404, exactly as if it did not exist: it learns nothing.
    pub fn check_agent(&self, agent_id: &str) -> Result<(), ApiError> {
        match &self.agent_id {
            Some(own) if own != agent_id => Err(ApiError::not_found("agent", agent_id)),
            _ => Ok(()),
        }
    }

    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{what} needs an admin key; this key is scoped to agent {}",
                self.agent_id.as_deref().unwrap_or("?")
            )))
        }
    }
}

/// Split a token into its key id and secret, or `None` if it is not shaped like one.
fn parse_token(token: &str) -> Option<(String, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (body, secret) = rest.split_once('_')?;
    let id = format!("key_{body}");
    if !ids::has_prefix(&id, ids::API_KEY) || secret.len() != 64 {
        return None;
    }
    Some((id, secret))
}

/// Equal in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Check a token against the store: the principal, or why not.
pub fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let rejected = || ApiError::unauthorized("the API key is not valid");
    let (id, secret) = parse_token(token).ok_or_else(rejected)?;
    let hash = Sha256::digest(secret.as_bytes());
    let stored = state.store().get_api_key(&id)?;
    // Compare against a dummy when the id is unknown, so both paths cost the same.
    let dummy = [0u8; 32];
    let matches = constant_time_eq(
        &hash,
        stored.as_ref().map_or(&dummy[..], |k| k.hash.as_slice()),
    );
    match stored {
        Some(key) if matches => {
            if key.revoked_at_ms.is_some() {
                return Err(ApiError::unauthorized("the API key has been revoked"));
            }
            Ok(Principal {
                key_id: key.id,
                agent_id: key.agent_id,
            })
        }
        _ => Err(rejected()),
    }
}

/// Who sent `headers`: the `Authorization: Bearer <key>` checked against the store.
pub async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let Some(header) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::unauthorized(
            "send an API key as `Authorization: Bearer rvk_…`",
        ));
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer <key>`",
        ));
    };
    let token = token.trim().to_string();
    let state = state.clone();
    match tokio::task::spawn_blocking(move || authenticate(&state, &token)).await {
        Ok(result) => result,
        Err(e) => Err(ApiError::internal("authenticate", e)),
    }
}

/// Middleware: every `/v1` route but the OpenAPI document needs `Authorization: Bearer <key>`.
pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match principal(&state, request.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // The request line names the key by its id (never the secret).
    if let Some(slot) = request.extensions().get::<KeySlot>() {
        slot.set(&principal.key_id);
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_row_and_hash_to_what_is_stored() {
        let (key, token) = new_key("ci", None, 0).expect("random");
        let (id, secret) = parse_token(&token).expect("a fresh token parses");
        assert_eq!(id, key.id);
        assert_eq!(Sha256::digest(secret.as_bytes()).to_vec(), key.hash);
        assert!(
            !key.hash
                .windows(secret.len())
                .any(|w| w == secret.as_bytes())
        );
        assert!(parse_token("rvk_short_abc").is_none());
        assert!(parse_token(&token.replace("rvk_", "xyz_")).is_none());
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
