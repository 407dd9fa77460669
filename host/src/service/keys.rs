//! API keys: making one (shown once, stored as a hash), and the first admin
//! key of an empty database. How a key is checked is the API's (`api::auth`).
//!
//! It must not know HTTP or the command line (see [`crate::service`]).

use sha2::{Digest, Sha256};

use crate::ids;
use crate::store::{ApiKey, IdempotencyRecord, Store, StoreError};

/// Every token starts so: `rvk_<the key id's 26 chars>_<64 hex>`.
pub const TOKEN_PREFIX: &str = "rvk_";

/// A new key: the row to store, and the token to show once. Fails only without
/// an OS random source, when no safe key can be made.
pub fn new_key(
    name: &str,
    agent_id: Option<String>,
    now_ms: i64,
) -> Result<(ApiKey, String), getrandom::Error> {
    let id = ids::new(ids::API_KEY);
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let secret = hex(&secret);
    let body = id.trim_start_matches("key_");
    let token = format!("{TOKEN_PREFIX}{body}_{secret}");
    let key = ApiKey {
        id,
        name: name.to_string(),
        agent_id,
        hash: Sha256::digest(secret.as_bytes()).to_vec(),
        created_at_ms: now_ms,
        revoked_at_ms: None,
    };
    Ok((key, token))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot make a key: the operating system gave no random bytes ({0})")]
    Random(String),
}

/// Make a key named `name` (an admin key, or one scoped to `agent_id`) and
/// store it; the token is returned this once and never stored.
pub fn create(
    store: &dyn Store,
    name: &str,
    agent_id: Option<String>,
    idem: Option<&IdempotencyRecord>,
    now_ms: i64,
) -> Result<(ApiKey, String), KeyError> {
    let (key, token) = new(name, agent_id, now_ms)?;
    store.create_api_key(&key, idem)?;
    Ok((key, token))
}

/// A key and its token, not stored yet.
fn new(name: &str, agent_id: Option<String>, now_ms: i64) -> Result<(ApiKey, String), KeyError> {
    new_key(name, agent_id, now_ms).map_err(|e| KeyError::Random(e.to_string()))
}

/// The first admin key, if the database has no key at all: its token, to be
/// shown once. Of servers starting together on an empty database one makes
/// it; the others get `None`.
pub fn bootstrap_admin(store: &dyn Store, now_ms: i64) -> Result<Option<String>, KeyError> {
    if store.count_api_keys()? > 0 {
        return Ok(None);
    }
    let (key, token) = new("admin (first start)", None, now_ms)?;
    Ok(store.create_first_api_key(&key)?.then_some(token))
}
