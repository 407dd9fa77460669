//! Webhooks: reports delivered to the agent's endpoints, signed per Standard
//! Webhooks v1, from a durable outbox.
//!
//! [`sign`] signs and verifies; [`ssrf`] decides which addresses a webhook may
//! reach; [`payload`] is what receivers get; [`deliver`] sends the outbox.
//!
//! It must not touch HTTP routing or rules: the API registers endpoints, the
//! store keeps the outbox, and this sends it.

pub mod config;
pub mod deliver;
pub mod payload;
pub mod sign;
pub mod ssrf;

use crate::store::Endpoint;

/// A fresh endpoint for an agent's `feedback_webhook`, all events, with a new
/// secret (the URL is set by [`crate::store::WebhookStore::sync_feedback_endpoint`]).
pub fn feedback_endpoint(agent_id: &str, now_ms: i64) -> Result<Endpoint, sign::SecretError> {
    Ok(Endpoint {
        id: crate::ids::new(crate::ids::ENDPOINT),
        agent_id: agent_id.to_string(),
        url: String::new(),
        secret: sign::Secret::generate()?.to_text(),
        previous_secret: None,
        previous_expires_ms: None,
        events: vec!["*".into()],
        source: "feedback_webhook".into(),
        created_at_ms: now_ms,
        disabled_at_ms: None,
        disabled_reason: None,
        failing_since_ms: None,
    })
}
