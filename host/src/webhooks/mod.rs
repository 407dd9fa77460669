//! Webhooks: reports delivered to the agent's endpoints, signed per Standard
//! Webhooks v1, from a durable outbox.
//!
//! [`sign`] signs and verifies; [`ssrf`] decides which addresses a webhook may
//! reach.

pub mod deliver;
pub mod payload;
pub mod sign;
pub mod ssrf;
