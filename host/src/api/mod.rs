//! The HTTP API under `/v1` (DESIGN §9), as a function from state to router.
//!
//! [`app`] builds the whole router, so handlers are tested without a socket
//! (`tower::ServiceExt::oneshot`) and the binary only binds it to a port. This
//! module owns the HTTP shapes: it turns requests into store calls and store
//! records into JSON, and every failure into `application/problem+json`
//! ([`ApiError`]). It does not touch SQL or the sandbox: the store, the rule
//! catalog and the dream queue do that. The OpenAPI document served at
//! `/v1/openapi.json` is generated from these routes' handlers as they are
//! registered ([`openapi`]).

mod agents;
pub mod auth;
mod dreams;
mod error;
mod ingest;
mod keys;
pub mod metrics_endpoint;
pub mod observe;
pub mod openapi;
#[cfg(test)]
pub(crate) mod openapi_check;
#[cfg(test)]
mod ops_tests;
pub mod ratelimit;
mod rules;
mod schedule;
mod support;
#[cfg(test)]
mod test_client;
#[cfg(test)]
mod tests;
mod webhooks;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::Principal;
pub use error::{ApiError, FieldError};

use self::metrics_endpoint::MetricsEndpoint;
use self::ratelimit::RateLimitConfig;
use crate::catalog::Catalog;
use crate::dreams::Wakeup;
use crate::schedule::Policy;
use crate::store::Store;
use crate::webhooks::ssrf::Guard;

/// Default request body cap; `[server] max_body_kib` changes it.
pub const DEFAULT_BODY_LIMIT: usize = 8 << 20;
/// Default time to receive a request body; `[server] body_timeout` changes it.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Items in one batch of interactions or feedback.
pub const MAX_BATCH: usize = 1000;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    dreams: Option<Wakeup>,
    /// Jitter and catch-up, for the next slots the API computes.
    policy: Policy,
    /// Which webhook URLs may be registered (SSRF).
    webhook_guard: Guard,
    /// `(principal, Idempotency-Key)` of requests in flight: a concurrent
    /// duplicate gets 409 rather than racing the first.
    in_flight: Mutex<HashSet<(String, String)>>,
    body_limit: usize,
    /// Time to receive a whole body once the head arrived.
    body_timeout: Duration,
    /// Who may read `/metrics`.
    metrics: MetricsEndpoint,
    /// `None`: no rate limit.
    rate_limiter: Option<ratelimit::RateLimiter>,
    /// The rules this server runs, for installing rules and checking agents'
    /// sets; `None`: a process that runs no rules (API-only tests).
    catalog: Option<Arc<Catalog>>,
}

impl AppState {
    /// `dreams` wakes the workers when a dream is queued; `None` leaves them
    /// to find it by themselves (tests that check only the API have none).
    pub fn new(
        store: Arc<dyn Store>,
        dreams: Option<Wakeup>,
        body_limit: usize,
        policy: Policy,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                store,
                dreams,
                policy,
                webhook_guard: Guard::default(),
                in_flight: Mutex::new(HashSet::new()),
                body_limit,
                body_timeout: DEFAULT_BODY_TIMEOUT,
                metrics: MetricsEndpoint::default(),
                rate_limiter: None,
                catalog: None,
            }),
        }
    }

    /// Serve `/metrics` to whom `endpoint` says (built at start, like the guard).
    pub fn with_metrics_endpoint(mut self, endpoint: MetricsEndpoint) -> AppState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.metrics = endpoint;
        }
        self
    }

    /// Limit each API key's requests; `None` leaves them unlimited.
    pub fn with_rate_limit(mut self, limit: Option<RateLimitConfig>) -> AppState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.rate_limiter =
                limit.map(|l| ratelimit::RateLimiter::new(l, std::time::Instant::now()));
        }
        self
    }

    /// Install and check rules with this catalog (the dream workers' own).
    pub fn with_catalog(mut self, catalog: Arc<Catalog>) -> AppState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.catalog = Some(catalog);
        }
        self
    }

    pub fn catalog(&self) -> Option<&Arc<Catalog>> {
        self.inner.catalog.as_ref()
    }

    pub fn rate_limiter(&self) -> Option<&ratelimit::RateLimiter> {
        self.inner.rate_limiter.as_ref()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Let webhook URLs through this guard (it is built at start, before the
    /// state is shared).
    pub fn with_webhook_guard(mut self, guard: Guard) -> AppState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.webhook_guard = guard;
        }
        self
    }

    /// Give clients this long to send a whole request body (408 beyond).
    pub fn with_body_timeout(mut self, timeout: Duration) -> AppState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.body_timeout = timeout;
        }
        self
    }

    pub fn webhook_guard(&self) -> &Guard {
        &self.inner.webhook_guard
    }

    /// Tell the workers a dream is waiting.
    pub fn wake_workers(&self) {
        if let Some(wake) = &self.inner.dreams {
            wake.notify();
        }
    }
}

/// The routes behind API keys, under `/v1`. Each `routes!` registers its
/// handlers and their documented operations together (one path per call).
fn keyed() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agents::create, agents::list))
        .routes(routes!(agents::get, agents::update))
        .routes(routes!(agents::versions))
        .routes(routes!(agents::activate))
        .routes(routes!(
            ingest::create_interaction,
            ingest::list_interactions
        ))
        .routes(routes!(ingest::create_interactions))
        .routes(routes!(ingest::get_interaction, ingest::delete_interaction))
        .routes(routes!(ingest::create_feedback))
        .routes(routes!(ingest::create_feedback_batch))
        .routes(routes!(dreams::create, dreams::list))
        .routes(routes!(schedule::get))
        .routes(routes!(schedule::pause))
        .routes(routes!(schedule::resume))
        .routes(routes!(schedule::run_now))
        .routes(routes!(schedule::preview))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::delete))
        .routes(routes!(webhooks::secret))
        .routes(routes!(webhooks::rotate))
        .routes(routes!(webhooks::enable))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(dreams::get))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(rules::install, rules::list))
        .routes(routes!(rules::get, rules::delete))
        .routes(routes!(rules::get_set, rules::put_set, rules::delete_set))
}

/// The whole API: `keyed` (with its layers, when serving) beside the open
/// routes. Serving and documenting both go through here, so the document
/// lists exactly the routes the server has.
fn assemble(keyed: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let v1 = keyed.routes(routes!(openapi_document));
    OpenApiRouter::with_openapi(openapi::Frame::openapi())
        .nest("/v1", v1)
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The OpenAPI document of [`app`]'s routes.
pub fn operations() -> utoipa::openapi::OpenApi {
    assemble(keyed()).into_openapi()
}

/// The whole router: `/healthz`, `/readyz`, `/v1/openapi.json` open; `/metrics`
/// as `[metrics] endpoint` says; the rest behind API keys.
pub fn app(state: AppState) -> Router {
    openapi::document();
    let keyed = keyed()
        // Layers run last-added first: the key is checked, then its rate, and
        // only then is the body read.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_body,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ));
    let (router, _) = assemble(keyed).split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(problems_only))
        // `read_body` holds each keyed route to its own cap (a rule's component
        // may be far larger than any JSON body); this one only bounds what an
        // extractor would read beyond it.
        .layer(DefaultBodyLimit::max(
            state.inner.body_limit.max(rules::MAX_RULE_BYTES),
        ))
        // Outermost: it logs and counts the status the client finally gets.
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state)
}

/// Receive the whole body within the body timeout and the body cap, before
/// any handler runs: a client that stops sending halfway gets 408 and its
/// connection closed instead of holding a request open indefinitely (the
/// listener's head timeout covers the head; this covers the rest).
async fn read_body(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    // A rule's component is far larger than any JSON body. (Under `/v1`'s
    // nest the URI has lost its prefix; the original has it.)
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |original| original.0.path());
    let limit = if parts.method == axum::http::Method::POST && path == "/v1/rules" {
        rules::MAX_RULE_BYTES
    } else {
        state.inner.body_limit
    };
    let timeout = state.inner.body_timeout;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Ok(Err(e)) if is_length_limit(&e) => ApiError::body_too_large().into_response(),
        Ok(Err(e)) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
            format!("the request body could not be read: {e}"),
        )
        .into_response(),
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "The body took too long",
                format!(
                    "the request body did not arrive within {} ([server] body_timeout)",
                    crate::units::humantime(timeout)
                ),
            )
            .into_response();
            // What is left of the body would be read as the next request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// This document
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", operation_id = "getOpenApiDocument",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document, served as `application/json`.", body = serde_json::Value)),
)]
async fn openapi_document() -> Response {
    let mut response = openapi::document().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Health {
    #[schema(pattern = "^(ok|ready)$")]
    status: &'static str,
}

/// Liveness: the process answers
#[utoipa::path(
    get, path = "/healthz", tag = "meta", operation_id = "getHealth",
    security(()),
    responses((status = 200, description = "Alive: `ok`.", body = Health)),
)]
async fn healthz() -> Response {
    axum::Json(Health { status: "ok" }).into_response()
}

/// Readiness: the database answers
#[utoipa::path(
    get, path = "/readyz", tag = "meta", operation_id = "getReadiness",
    security(()),
    responses(
        (status = 200, description = "Ready to serve: `ready`.", body = Health),
        (status = 500, response = openapi::Internal),
        (status = 503, response = inline(openapi::Unavailable)),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.ping())
        .await
        .map_err(|e| ApiError::internal("readyz", e))?
        .map_err(|e| ApiError::unavailable(format!("the database does not answer: {e}")))?;
    Ok(axum::Json(Health { status: "ready" }).into_response())
}

/// Prometheus metrics of this server
///
/// The server's metrics in the OpenMetrics text format, for Prometheus to scrape: requests by
/// method, route template and status (count and latency), dreams by outcome (count and
/// duration), rule failures by kind, webhook attempts by outcome, scheduler slots and lag, and
/// the queues of pending dreams and deliveries (the README's "Metrics" lists them). Who may read
/// it is `[metrics] endpoint`: `key` (the default) needs an admin key, as documented here; `open`
/// needs none; `off` answers 404 as for any unknown path. Not rate limited.
#[utoipa::path(
    get, path = "/metrics", tag = "meta", operation_id = "getMetrics",
    responses(
        (status = 200, description = "The metrics.", body = String, content_type = "application/openmetrics-text"),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 500, response = openapi::Internal),
    ),
)]
async fn metrics(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    slot: Option<axum::Extension<observe::KeySlot>>,
) -> Result<Response, ApiError> {
    match state.inner.metrics {
        MetricsEndpoint::Off => return Err(not_found(uri).await),
        MetricsEndpoint::Open => {}
        MetricsEndpoint::Key => {
            let principal = auth::principal(&state, &headers).await?;
            if let Some(axum::Extension(slot)) = slot {
                slot.set(&principal.key_id);
            }
            principal.require_admin("reading /metrics")?;
        }
    }
    let store = state.store().clone();
    let queues = match tokio::task::spawn_blocking(move || store.queue_depths()).await {
        Ok(Ok(q)) => Some(crate::telemetry::metrics::Queues {
            dreams_pending: q.dreams_pending,
            dreams_running: q.dreams_running,
            deliveries_pending: q.deliveries_pending,
        }),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: queue depths left out, the store did not answer");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: queue depths left out");
            None
        }
    };
    let text = crate::telemetry::metrics::render(queues)
        .map_err(|e| ApiError::internal("render metrics", e))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::telemetry::metrics::CONTENT_TYPE),
    );
    Ok(response)
}

/// The last word on errors: a rejection that axum itself produced (a path
/// segment that is not UTF-8, say) is plain text; turn it into problem+json like
/// every other error.
async fn problems_only(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).trim().to_string();
    let (slug, title) = match status {
        StatusCode::BAD_REQUEST => ("bad-request", "The request is malformed"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "The body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "The body must be JSON"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-request", "The request has invalid fields"),
        _ => ("internal", "Internal error"),
    };
    let detail = if detail.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        detail
    };
    ApiError::new(status, slug, title, detail).into_response()
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!(
            "no route {}; the routes are listed at /v1/openapi.json",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
