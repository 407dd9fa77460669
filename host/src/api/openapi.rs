//! The OpenAPI 3.1 document served at `/v1/openapi.json`, generated from the code.
//!
//! Nothing here is written twice. Each operation comes from the `#[utoipa::path]`
//! on its handler; `api::app` registers that handler and its operation in the
//! same `routes!` call (utoipa-axum), so a route cannot exist without being
//! documented. The schemas are derived (`ToSchema`) from the types the handlers
//! parse and send. This module holds what belongs to no single handler: the
//! document's frame (info, tags, security), the problem responses the handlers
//! share, and the common parameters.
//!
//! The types the server only sends carry `#[serde(deny_unknown_fields)]`: a no-op
//! for `Serialize`, it is how the document says such an object has no other
//! members (`additionalProperties: false`), which the conformance tests enforce.
//!
//! Why utoipa rather than aide: it is derive-based, so handlers keep axum's
//! plain signatures (aide wants its own routing and `OperationOutput` impls on
//! every response type); utoipa-axum registers a route and its operation in
//! one call; and it is the most used of the two, with OpenAPI 3.1 output.
//!
//! It describes the HTTP shapes only. It must not touch the store or the rules.

use std::sync::OnceLock;

use utoipa::openapi::RefOr;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

/// The media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The document's frame. The operations are added by `api::app`'s routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "reverie", description = include_str!("overview.md")),
    servers((url = "/")),
    security(("bearer" = [])),
    modifiers(&Bearer),
    tags(
        (name = "agents", description = "Agents and their config versions (system prompts)."),
        (name = "interactions", description = "Interaction logs, one at a time or in batches."),
        (name = "feedback", description = "Explicit feedback on interactions."),
        (name = "dreams", description = "Dreams: rules run over a window of interactions, and their reports."),
        (name = "schedule", description = "When agents dream by themselves: presets and cron expressions in IANA time zones, jitter, catch-up, pause, resume and run-now."),
        (name = "webhooks", description = "Report delivery: endpoints with their `whsec_` secrets, signed per Standard Webhooks v1, retried on a published schedule, with a dead letter and redelivery."),
        (name = "rules", description = "Rules installed on the server (WebAssembly components, by their sha256), and the rule set each agent's dreams run."),
        (name = "api-keys", description = "API keys (admin keys only)."),
        (name = "meta", description = "Health, readiness and this document; no key needed."),
    ),
    components(
        schemas(super::error::Problem, super::FieldError),
        responses(Unauthorized, Forbidden, NotFound, BadQuery, BodyTooLarge, UnsupportedMediaType, RateLimited, Internal),
    ),
)]
pub struct Frame;

/// Adds the `bearer` security scheme every keyed operation names.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key, `rvk_…`."))
                    .build(),
            ),
        );
    }
}

/// The document as served: pretty-printed JSON.
pub fn render(operations: utoipa::openapi::OpenApi) -> String {
    serde_json::to_string_pretty(&operations).unwrap_or_else(|e| {
        // The document is built from types, not from input: failing to
        // serialize it is a bug that every test would show.
        panic!("the OpenAPI document does not serialize: {e}")
    })
}

/// The document, built once per process (by `api::app`, at start, so that a
/// bug in it shows when the server starts rather than on a request).
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| render(super::operations()))
}

/// A problem response: `status`, and a `type` among `slugs`.
fn problem(status: u16, slugs: &[&str], description: &str) -> Response {
    let types: Vec<String> = slugs.iter().map(|s| format!("/problems/{s}")).collect();
    let narrowed = ObjectBuilder::new()
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(types)),
        )
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([status])),
        );
    let schema = AllOfBuilder::new()
        .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "Problem",
        )))
        .item(narrowed);
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// Problem responses, each a `ToResponse` the handlers name in `responses(...)`:
/// `response = NotFound` refers to the shared component, `response = inline(KeyInUse)`
/// writes it into the operation.
macro_rules! problems {
    ($($(#[$meta:meta])* $name:ident = $status:literal [$($slug:literal),+] $description:literal;)+) => {$(
        $(#[$meta])*
        pub struct $name;

        impl<'s> utoipa::ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), RefOr::T(problem($status, &[$($slug),+], $description)))
            }
        }
    )+};
}

problems! {
    BadQuery = 400 ["bad-request"]
        "A query parameter, path segment or header is wrong, or another query parameter was sent; `errors` names it.";
    BadBody = 400 ["malformed-json", "bad-request"]
        "The body is not JSON (`malformed-json`), or the `Idempotency-Key` header is not 1–255 visible ASCII characters, or the body could not be read (`bad-request`).";
    Forbidden = 403 ["forbidden"]
        "The route is for admin keys; this key is scoped to one agent.";
    NotFound = 404 ["not-found"]
        "No such thing, or it belongs to an agent this key does not see.";
    KeyInUse = 409 ["idempotency-key-in-use"]
        "A request with this `Idempotency-Key` is still running.";
    Conflict = 409 ["conflict", "idempotency-key-in-use"]
        "The agent already has an interaction with this `id` (`conflict`; `errors` names the field), or a request with this `Idempotency-Key` is still running.";
    BodyTooLarge = 413 ["body-too-large"]
        "The body is larger than the server accepts (`[server] max_body_kib`).";
    UnsupportedMediaType = 415 ["unsupported-media-type"]
        "The body is not sent as JSON.";
    Invalid = 422 ["invalid-request"]
        "A field is wrong (`invalid-request`); `errors` names each one.";
    InvalidOrReused = 422 ["invalid-request", "idempotency-key-reused"]
        "A field is wrong (`invalid-request`; `errors` names each one, e.g. `interactions[3].messages[0].role`), or the `Idempotency-Key` was used for a different request (`idempotency-key-reused`).";
    Internal = 500 ["internal"]
        "The server failed; the operator's log has the cause.";
    Unavailable = 503 ["unavailable"]
        "The database does not answer.";
}

/// `response` with a header it always carries.
fn with_header(
    mut response: Response,
    name: &str,
    schema: ObjectBuilder,
    description: &str,
) -> Response {
    response.headers.insert(
        name.into(),
        HeaderBuilder::new()
            .schema(Some(schema))
            .description(Some(description))
            .build()
            .into(),
    );
    response
}

/// 401, with the challenge header.
pub struct Unauthorized;

impl<'s> utoipa::ToResponse<'s> for Unauthorized {
    fn response() -> (&'s str, RefOr<Response>) {
        let response = with_header(
            problem(401, &["unauthorized"], "No valid API key (`unauthorized`)."),
            "WWW-Authenticate",
            ObjectBuilder::new().schema_type(Type::String),
            "`Bearer realm=\"reverie\"`",
        );
        ("Unauthorized", RefOr::T(response))
    }
}

/// 429, with how long to wait.
pub struct RateLimited;

impl<'s> utoipa::ToResponse<'s> for RateLimited {
    fn response() -> (&'s str, RefOr<Response>) {
        let response = with_header(
            problem(
                429,
                &["rate-limited"],
                "This API key sent more than `[rate_limit]` allows (`rate-limited`); wait `Retry-After` seconds.",
            ),
            "Retry-After",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
            "Whole seconds until the key may send again (at least 1).",
        );
        ("RateLimited", RefOr::T(response))
    }
}

/// `{agent_id}` in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct AgentPath {
    /// The agent's id (`agt_…`). A key scoped to another agent gets 404.
    #[param(example = "agt_01jdq3v6k8m2n4p6r8s0t2v4w6")]
    agent_id: String,
}

/// `limit` and `cursor`, on every list (parsed by `support::page`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(min_length = 1, max_length = 512)]
    cursor: Option<String>,
}

/// The `Idempotency-Key` header of the creating POSTs (parsed by `support::Idempotency`).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKey {
    /// 1 to 255 visible ASCII characters (a UUID is a good choice), per API key. The same key
    /// with the same method, path and body gets the stored response again (with
    /// `idempotent-replayed: true`); with a different request, 422 `idempotency-key-reused`;
    /// while the first request is still running, 409 `idempotency-key-in-use`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    idempotency_key: Option<String>,
}

/// The description of the `idempotent-replayed` response header.
pub const REPLAYED: &str = "`true` when this is the stored response to an earlier request with the same `Idempotency-Key`; absent otherwise.";

/// A string that is one of `values` (with one value, a constant: the `object`
/// member of every resource).
pub fn one_of(values: &[&'static str]) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .build(),
    )
}

/// Defines `fn $name() -> Schema` for `#[schema(schema_with = $name)]`: a string
/// that is always `"value"`, or one of `["a", "b"]`.
macro_rules! constant_schema {
    ($($name:ident = $($value:literal)|+;)+) => {$(
        pub fn $name() -> utoipa::openapi::schema::Schema {
            $crate::api::openapi::one_of(&[$($value),+])
        }
    )+};
}
pub(crate) use constant_schema;

/// A time as the API writes it: RFC 3339, UTC, with milliseconds.
pub fn timestamp() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339, UTC, with milliseconds."))
            .examples(["2026-10-27T09:14:03.000Z"])
            .build(),
    )
}

/// A time, or `null`.
pub fn timestamp_or_null() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Null,
            ]))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .build(),
    )
}
