//! Use cases: what reverie does for the HTTP API, the CLI and the server's
//! start-up, apart from any transport.
//!
//! A handler parses and validates its request, calls one use case, and renders
//! the result; the CLI calls the same functions, so `reverie keys create
//! --data-dir` and `POST /v1/api-keys` make a key the same way. A use case
//! decides and writes through the store's aggregate traits. It owns no state,
//! and must not touch HTTP types (axum, status codes), command-line parsing,
//! or the sandbox.

pub mod agents;
pub mod keys;
