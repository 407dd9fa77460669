//! One log line and one metrics sample per request.
//!
//! [`observe`] wraps every route (and the fallbacks), so it sees the status
//! the client finally gets, problem+json rewrites included. It names the route
//! by its template (`/v1/agents/{agent_id}`, from axum's [`MatchedPath`]),
//! never by the raw path, so ids never become log fields worth grouping by or
//! metric series; a path no route matches is `unmatched`. The caller is named
//! by its API key's id, which authentication writes into the request's
//! [`KeySlot`]: never the secret, never the `Authorization` header.
//!
//! The line goes out at `info` (`warn` for a 5xx) under the target
//! `reverie::http`, so `RUST_LOG=warn,reverie::http=info` keeps request lines
//! and quiets the rest.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::telemetry::metrics;

/// Where authentication leaves the caller's key id for the request line.
#[derive(Debug, Clone, Default)]
pub struct KeySlot(Arc<OnceLock<String>>);

impl KeySlot {
    /// Record the authenticated key's id (the first one set wins).
    pub fn set(&self, key_id: &str) {
        let _ = self.0.set(key_id.to_string());
    }

    fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Middleware: time the request, then log it and count it.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = metrics::method_label(request.method().as_str());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let key = KeySlot::default();
    request.extensions_mut().insert(key.clone());
    // Events inside the handler (an internal error's cause) carry the request.
    let span = tracing::info_span!("request", method = %method, route = %route);
    let response = next.run(request).instrument(span).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics::http_request(method, &route, status, elapsed);
    let duration_ms = elapsed.as_micros() as f64 / 1000.0;
    // Display, not Debug: `key_id=key_…` in text lines, a string in JSON.
    let key_id = key.get().map(tracing::field::display);
    if status >= 500 {
        tracing::warn!(target: "reverie::http", method = %method, route = %route, status, duration_ms, key_id, "request");
    } else {
        tracing::info!(target: "reverie::http", method = %method, route = %route, status, duration_ms, key_id, "request");
    }
    response
}
