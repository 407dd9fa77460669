//! API keys (stored as hashes) and the idempotency records of creating requests.
//! Plain records: no I/O, no HTTP, no SQL; the store and the API convert
//! at their edges.

/// The response to replay for a repeated `Idempotency-Key`, written in the same
/// transaction as the thing it created: a crash can never leave one without the other.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    /// The API key that used it: keys are per caller.
    pub principal: String,
    pub key: String,
    /// sha256 of method, path and body: the same key with another request is refused.
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub body: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// `None`: an admin key. `Some(agent)`: a key that sees only that agent.
    pub agent_id: Option<String>,
    /// sha256 of the secret; the secret itself is never stored.
    pub hash: Vec<u8>,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}
