//! The one HTTP error type: every failure leaves as `application/problem+json`
//! (RFC 9457), naming the field that was wrong when a field was.
//!
//! Internal errors are logged with their detail and reach the client only as
//! "internal error": a database message is for the operator, not the caller.
//!
//! It must not leak internals: a 500's cause goes to the log, never into the
//! body a client reads.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// One wrong field: `field` is a path into the request body (`interactions[3].messages[0].role`),
/// or a query parameter or header name.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldError {
    /// A path into the body (`interactions[3].messages[0].role`; `body` for the body as a
    /// whole), or a query parameter or header name.
    #[schema(examples("interactions[3].messages[0].role", "limit", "Idempotency-Key"))]
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The problem type's slug: `type` is `/problems/<slug>`, documented in the OpenAPI document.
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

/// Every error (RFC 9457 problem details, `application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Problem<'a> {
    /// `/problems/<slug>`; the slugs are listed in the API description.
    #[serde(rename = "type")]
    #[schema(pattern = "^/problems/[a-z-]+$")]
    kind: String,
    /// The same for every problem of a type.
    title: &'a str,
    /// The HTTP status, again.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// What went wrong with this request, for a person to read.
    detail: &'a str,
    /// Each wrong field, when fields were wrong; absent otherwise.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    #[schema(min_items = 1, max_items = 50)]
    errors: &'a [FieldError],
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 413: the body is over `[server] max_body_kib`.
    pub fn body_too_large() -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "The body is too large",
            "the request body is larger than the server accepts (see `[server] max_body_kib`); split the batch",
        )
    }

    /// 422: the request was well-formed JSON but these fields are wrong.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [] => "the request is invalid".to_string(),
            [one] => format!("{}: {}", one.field, one.message),
            [first, rest @ ..] => format!(
                "{}: {} (and {} more problem{})",
                first.field,
                first.message,
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
        };
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            slug: "invalid-request",
            title: "The request has invalid fields",
            detail,
            errors,
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::field(field, message);
        e.status = StatusCode::BAD_REQUEST;
        e.slug = "bad-request";
        e.title = "The request is malformed";
        e
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The body is not valid JSON",
            detail,
        )
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} {id} not found"),
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid API key is required",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This API key may not do that",
            detail,
        )
    }

    pub fn conflict(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail);
        e.errors = errors;
        e
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        // The cause is for the operator; the request's span says which request.
        tracing::error!(target: "reverie::http", context, error = %error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed to handle the request; the operator's log has the cause",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Not ready",
            detail,
        )
    }
}

/// A field path from a batch item's index and the field within it.
pub fn item_field(list: &str, index: usize, field: &str) -> String {
    if field.is_empty() {
        format!("{list}[{index}]")
    } else if field.starts_with('[') {
        format!("{list}[{index}]{field}")
    } else {
        format!("{list}[{index}].{field}")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, id } => ApiError::not_found(what, &id),
            StoreError::Conflict {
                index,
                field,
                message,
            } => {
                let field = match index {
                    Some(i) => item_field("interactions", i, field),
                    None => field.to_string(),
                };
                ApiError::conflict(
                    format!("{field}: {message}"),
                    vec![FieldError { field, message }],
                )
            }
            StoreError::Dangling {
                index,
                field,
                message,
            } => {
                let field = match index {
                    Some(i) => item_field("feedback", i, field),
                    None => field.to_string(),
                };
                ApiError::field(field, message)
            }
            StoreError::IdempotencyKeyTaken => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency-key-taken",
                "This Idempotency-Key was used by a request that finished first",
                "retry to receive that request's response",
            ),
            other => ApiError::internal("store", other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!("/problems/{}", self.slug),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"reverie\""),
            );
        }
        response
    }
}
