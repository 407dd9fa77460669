//! What the server tells its operator: logs and metrics.
//!
//! [`logs`] builds the process's `tracing` subscriber (human-readable lines by
//! default, JSON lines on request, both on stderr, filtered like `RUST_LOG`).
//! [`metrics`] owns the Prometheus registry: the rest of the server records
//! through its narrow functions (`metrics::dream_finished`, …) and `GET
//! /metrics` renders it. Neither knows HTTP routing, SQL or rules: callers hand
//! in plain values (a route template, an outcome's name, a duration), so what
//! is measured is decided where it happens and named in one place here.

pub mod logs;
pub mod metrics;
