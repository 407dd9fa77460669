//! The domain: the types every layer speaks, in one place.
//!
//! `model` is the rules' vocabulary (interactions, messages, tool calls,
//! feedback, findings); the other modules are the server's records (agents,
//! interactions as stored, dreams, schedules, webhooks, keys, installed rules
//! and rule sets), the ids it hands out and the clock it asks. Nothing here does I/O or knows HTTP, SQL,
//! clap or wasmtime: the store, the API, the CLI and the sandbox convert at
//! their edges and depend on this, never the other way round.

pub mod agents;
pub mod clock;
pub mod dreams;
pub mod findings;
pub mod ids;
pub mod interactions;
pub mod keys;
pub mod model;
pub mod rules;
pub mod schedules;
pub mod webhooks;
