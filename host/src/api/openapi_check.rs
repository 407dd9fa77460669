//! The OpenAPI document (`/v1/openapi.json`) held to what the server does.
//!
//! [`assert_conforms`] is for any handler test: it validates a response body
//! against the schema the document gives that operation and status, so a test
//! that drives a handler also proves the document right. The tests here check
//! the document generated from the handlers (`api::openapi`): it is OpenAPI 3.1
//! and every schema compiles; every operation it lists is routed, and no other
//! method on those paths; every operation, driven through the router, answers
//! with statuses and bodies the document allows; and the router serves the
//! document verbatim.
//!
//! Test-only: nothing here is compiled into the server.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AppState, DEFAULT_BODY_LIMIT, app, openapi};
use crate::store::sqlite::SqliteStore;
use crate::store::{DreamOutcome, DreamSummary, Store};

/// The operation keys of an OpenAPI path item.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document, parsed once.
pub(crate) fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(openapi::document()).expect("the document is JSON"))
}

/// Follow `$ref`s within the document (`#/components/responses/NotFound`) to the thing itself.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Result<&'a Value, String> {
    let mut value = value;
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        let pointer = reference.strip_prefix('#').ok_or_else(|| {
            format!("openapi.json: {reference:?} is not a reference into the document")
        })?;
        value = doc
            .pointer(pointer)
            .ok_or_else(|| format!("openapi.json: {reference:?} points at nothing"))?;
    }
    Err("openapi.json: a $ref chain longer than 16 (a loop?)".into())
}

/// The response object the document gives `method route` for `status`.
fn response<'a>(
    doc: &'a Value,
    method: &str,
    route: &str,
    status: u16,
) -> Result<&'a Value, String> {
    let method = method.to_ascii_lowercase();
    let item = doc["paths"]
        .get(route)
        .ok_or_else(|| format!("openapi.json has no path {route:?}"))?;
    let operation = item.get(&method).ok_or_else(|| {
        format!(
            "openapi.json has no operation {} {route}",
            method.to_uppercase()
        )
    })?;
    let responses = operation["responses"].as_object().ok_or_else(|| {
        format!(
            "openapi.json: {} {route} has no responses",
            method.to_uppercase()
        )
    })?;
    let found = responses.get(&status.to_string()).ok_or_else(|| {
        format!(
            "openapi.json: {} {route} does not document status {status} (it documents {})",
            method.to_uppercase(),
            responses.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    resolve(doc, found)
}

/// The one media type and schema of a response object.
fn media_and_schema(response: &Value) -> Result<(&str, &Value), String> {
    let content = response["content"]
        .as_object()
        .ok_or("the response has no content")?;
    match content.iter().next() {
        Some((media, object)) if content.len() == 1 => object
            .get("schema")
            .map(|schema| (media.as_str(), schema))
            .ok_or_else(|| format!("the {media} content has no schema")),
        _ => Err(format!(
            "the response has {} media types, not one",
            content.len()
        )),
    }
}

/// A 2020-12 validator for `schema`, with `#/components/...` resolving against the document's components.
fn validator(doc: &Value, schema: &Value) -> Result<jsonschema::Validator, String> {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": doc["components"],
    });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| e.to_string())
}

/// Panic, readably, unless the document has `method route` answering `status`
/// and `body` is valid against that response's schema.
///
/// `route` is the path template as the document writes it (`/v1/agents/{agent_id}`).
pub(crate) fn assert_conforms(method: &str, route: &str, status: u16, body: &Value) {
    if let Err(problem) = conforms(method, route, status, body) {
        panic!("{problem}");
    }
}

/// What [`assert_conforms`] checks, as a value: why `body` does not conform.
fn conforms(method: &str, route: &str, status: u16, body: &Value) -> Result<(), String> {
    let doc = document();
    let method = method.to_uppercase();
    let (_, schema) = response(doc, &method, route, status)
        .and_then(media_and_schema)
        .map_err(|e| format!("{method} {route} answered {status}: {e}"))?;
    let validator = validator(doc, schema).map_err(|e| {
        format!("openapi.json: the schema of {method} {route} {status} does not compile: {e}")
    })?;
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("  at {:?}: {e}", e.instance_path().to_string()))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let pretty = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
    Err(format!(
        "{method} {route} answered {status} with a body openapi.json does not allow:\n{}\nthe body:\n{pretty}",
        errors.join("\n")
    ))
}

/// Every `(METHOD, path)` the document lists.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// The documented path template that `path` (a concrete request path) is an
/// instance of, preferring literal segments over parameters as the router does.
fn template_of(doc: &Value, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.clone()))
        })
        .max()
        .map(|(_, template)| template)
}

/// `route` with each `{param}` replaced by a dummy value.
fn filled(route: &str) -> String {
    route
        .split('/')
        .map(
            |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some("version") => "v1".to_string(),
                Some(name) => format!("{name}-1"),
                None => part.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

// ---- a server to talk to --------------------------------------------------------------

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Bytes,
    json: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn problem_type(&self) -> &str {
        self.json["type"].as_str().unwrap_or("")
    }

    fn str(&self, pointer: &str) -> String {
        self.json
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the reply has no string at {pointer}: {}", self.json))
            .to_string()
    }
}

/// The router over a fresh SQLite store in a temporary directory.
struct Server {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    router: Router,
}

impl Server {
    fn new() -> Server {
        Server::with_body_limit(DEFAULT_BODY_LIMIT)
    }

    fn with_body_limit(limit: usize) -> Server {
        Server::made(limit, None)
    }

    /// A server that runs rules: `config`'s are the default set.
    fn with_rules(config: crate::config::Config) -> Server {
        let runtime = crate::plugins::Runtime::new(None).expect("a runtime");
        Server::made(
            DEFAULT_BODY_LIMIT,
            Some(Arc::new(crate::catalog::Catalog::new(runtime, config))),
        )
    }

    fn made(limit: usize, catalog: Option<Arc<crate::catalog::Catalog>>) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path()).expect("a store in a fresh directory"));
        let mut state = AppState::new(
            store.clone(),
            None,
            limit,
            crate::server::policy_of(&crate::config::SchedulerConfig::default()),
        );
        if let Some(catalog) = catalog {
            state = state.with_catalog(catalog);
        }
        let router = app(state);
        Server {
            _dir: dir,
            store,
            router,
        }
    }

    /// A new key straight into the store (the API needs a key to make one).
    fn key(&self, agent_id: Option<&str>) -> String {
        let (key, token) =
            super::auth::new_key("test", agent_id.map(str::to_string), 0).expect("random bytes");
        self.store
            .create_api_key(&key, None)
            .expect("store the key");
        token
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("read the body")
            .to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{status}: the body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Reply {
            status,
            headers,
            bytes,
            json,
        }
    }

    /// Send a request and check the reply against the document, whatever its status.
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        self.call_bytes(
            method,
            uri,
            token,
            headers,
            body.map(|b| b.as_bytes().to_vec()),
        )
        .await
    }

    /// [`Server::call`] with a body of any bytes (a rule's component).
    async fn call_bytes(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let typed = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !typed {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, Body::from);
        let reply = self
            .send(request.body(body).expect("a well-formed request"))
            .await;

        let doc = document();
        let path = uri.split('?').next().unwrap_or(uri);
        let route = template_of(doc, path)
            .unwrap_or_else(|| panic!("{method} {uri}: openapi.json has no path for it"));
        if reply.status == StatusCode::NO_CONTENT {
            // 204 has no body and the document gives it no content.
            let documented = response(doc, method, &route, 204)
                .unwrap_or_else(|e| panic!("{method} {uri} answered 204: {e}"));
            assert!(
                documented.get("content").is_none(),
                "{method} {route}: openapi.json gives 204 a content"
            );
            assert!(reply.bytes.is_empty(), "{method} {uri}: 204 with a body");
            return reply;
        }
        assert_conforms(method, &route, reply.status.as_u16(), &reply.json);
        let (media, _) = response(doc, method, &route, reply.status.as_u16())
            .and_then(media_and_schema)
            .expect("assert_conforms found it");
        let content_type = reply.header("content-type").unwrap_or("");
        assert_eq!(
            content_type, media,
            "{method} {uri} answered {} as {content_type:?}; openapi.json says {media}",
            reply.status
        );
        reply
    }

    async fn json(&self, method: &str, uri: &str, token: &str, body: &Value) -> Reply {
        self.call(method, uri, Some(token), &[], Some(&body.to_string()))
            .await
    }

    async fn get(&self, uri: &str, token: &str) -> Reply {
        self.call("GET", uri, Some(token), &[], None).await
    }
}

fn interaction(id: Option<&str>) -> Value {
    let mut value = json!({
        "timestamp": "2026-10-27T09:14:03Z",
        "session_id": "s1",
        "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "where is order 12?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"id\":12}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "no such order", "is_error": true},
            {"role": "assistant", "content": [{"type": "text", "text": "Sorry."}]}
        ],
        "metadata": {"channel": "web"},
        "framework_extra": 1
    });
    if let Some(id) = id {
        value["id"] = json!(id);
    }
    value
}

// ---- the tests ------------------------------------------------------------------------

#[test]
fn the_document_is_openapi_3_1_and_every_schema_compiles() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(
        version.starts_with("3.1."),
        "openapi is {version}, not 3.1.x"
    );
    assert_eq!(doc["info"]["title"], "reverie");
    assert_eq!(
        doc["info"]["version"],
        env!("CARGO_PKG_VERSION"),
        "info.version is the crate's version"
    );

    // Every reference points at something.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for reference in all {
        resolve(doc, &json!({ "$ref": reference })).unwrap_or_else(|e| panic!("{e}"));
    }

    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas")
    {
        validator(doc, schema)
            .unwrap_or_else(|e| panic!("components.schemas.{name} does not compile: {e}"));
    }

    let mut operation_ids = HashSet::new();
    let operations = documented_operations(doc);
    assert!(!operations.is_empty());
    for (method, route) in &operations {
        let item = &doc["paths"][route];
        let operation = &item[method.to_lowercase()];
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {route} has no operationId"));
        assert!(operation_ids.insert(id), "operationId {id} is used twice");

        // Each `{param}` of the path is a required path parameter, and no other is declared.
        let in_template: BTreeSet<&str> = route
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .collect();
        let mut declared = BTreeSet::new();
        for parameter in item["parameters"]
            .as_array()
            .into_iter()
            .chain(operation["parameters"].as_array())
            .flatten()
        {
            let parameter = resolve(doc, parameter).unwrap_or_else(|e| panic!("{e}"));
            if parameter["in"] == "path" {
                assert_eq!(
                    parameter["required"], true,
                    "{method} {route}: path parameters are required"
                );
                declared.insert(parameter["name"].as_str().expect("a parameter has a name"));
            }
        }
        assert_eq!(in_template, declared, "{method} {route}: path parameters");

        let responses = operation["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {route} has no responses"));
        assert!(!responses.is_empty(), "{method} {route} has no responses");
        for status in responses.keys() {
            let code: u16 = status
                .parse()
                .unwrap_or_else(|_| panic!("{method} {route}: {status:?} is not a status"));
            if code == 204 {
                let documented = response(doc, method, route, code)
                    .unwrap_or_else(|e| panic!("{method} {route} {status}: {e}"));
                assert!(
                    documented.get("content").is_none(),
                    "{method} {route} 204 has a content"
                );
                continue;
            }
            let (media, schema) = response(doc, method, route, code)
                .and_then(media_and_schema)
                .unwrap_or_else(|e| panic!("{method} {route} {status}: {e}"));
            let expected = if code >= 400 {
                "application/problem+json"
            } else if route == "/metrics" {
                // Prometheus text, for a scraper rather than an API client.
                "application/openmetrics-text"
            } else {
                "application/json"
            };
            assert_eq!(media, expected, "{method} {route} {status}");
            validator(doc, schema).unwrap_or_else(|e| {
                panic!("{method} {route} {status}: the schema does not compile: {e}")
            });
        }
    }
}

/// The routes and the document come from one registration: `app()` adds every
/// route with `routes!`, which adds its operation to the document too, so
/// there is no list of routes to compare by hand. What the document cannot
/// know is whether the router really answers each operation, and refuses the
/// other methods: this drives every documented path with every method.
#[tokio::test]
async fn every_documented_route_is_routed_and_no_other_method_is() {
    let server = Server::new();
    let doc = document();
    let operations = documented_operations(doc);
    let paths: BTreeSet<&String> = operations.iter().map(|(_, path)| path).collect();
    let mut get_status = BTreeMap::new();

    for (method, route) in &operations {
        let reply = server
            .send(
                Request::builder()
                    .method(method.as_str())
                    .uri(filled(route))
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await;
        let operation = &doc["paths"][route][method.to_lowercase()];
        // No key needed: no requirement, or only the empty one.
        let open = operation["security"]
            .as_array()
            .is_some_and(|all| all.iter().all(|r| r == &json!({})));
        assert_ne!(
            reply.problem_type(),
            "/problems/method-not-allowed",
            "{method} {route} is documented but the router does not have it: {}",
            reply.json
        );
        let fallback = reply.status == StatusCode::NOT_FOUND
            && reply.json["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("no route"));
        assert!(
            !fallback,
            "{method} {route} is documented but the router does not have it: {}",
            reply.json
        );
        if open {
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{method} {route} is open (security: [{{}}]) but answered {}: {}",
                reply.status,
                reply.json
            );
        } else {
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {route} needs a key, yet without one it answered {}: {}",
                reply.status,
                reply.json
            );
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"reverie\"")
            );
        }
        assert_conforms(method, route, reply.status.as_u16(), &reply.json);
        if method == "GET" {
            get_status.insert(route.clone(), reply.status);
        }
    }

    for route in paths {
        for method in METHODS {
            let upper = method.to_uppercase();
            if operations.contains(&(upper.clone(), route.clone())) {
                continue;
            }
            let reply = server
                .send(
                    Request::builder()
                        .method(upper.as_str())
                        .uri(filled(route))
                        .body(Body::empty())
                        .expect("a request"),
                )
                .await;
            match (method, get_status.get(route)) {
                // HEAD is answered by GET's handler, without the body.
                ("head", Some(status)) => {
                    assert_eq!(reply.status, *status, "HEAD {route} answers as GET does");
                    assert!(reply.bytes.is_empty(), "HEAD {route} has no body");
                }
                _ => {
                    assert_eq!(
                        reply.status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{upper} {route} is not documented, yet it answered {}: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.bytes)
                    );
                    if method != "head" {
                        assert_eq!(reply.problem_type(), "/problems/method-not-allowed");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn the_router_serves_this_document() {
    let server = Server::new();
    let reply = server
        .call("GET", "/v1/openapi.json", None, &[], None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(&reply.json, document());
    assert_eq!(
        reply.bytes,
        openapi::document().as_bytes(),
        "served verbatim"
    );
}

#[test]
fn assert_conforms_refuses_what_the_document_does_not_allow() {
    let refuses = |method: &str, route: &str, status: u16, body: Value| {
        let result = conforms(method, route, status, &body);
        assert!(result.is_err(), "{method} {route} {status} accepted {body}");
    };
    let agent = json!({
        "object": "agent", "id": "agt_01jdq3v6k8m2n4p6r8s0t2v4w6", "name": "a", "model": "m",
        "system_prompt": "", "config_version": "v1", "dreaming_enabled": true,
        "dreaming_frequency": "daily", "timezone": "UTC", "feedback_webhook": null,
        "next_run_at": "2026-10-28T03:02:11.000Z", "dreaming_paused": false,
        "min_new_interactions": null,
        "created_at": "2026-10-27T09:14:03.000Z", "updated_at": "2026-10-27T09:14:03.000Z"
    });
    let list = |data: Value| json!({"object": "list", "data": data, "has_more": false, "next_cursor": null});
    assert_conforms("GET", "/v1/agents", 200, &list(json!([agent.clone()])));
    assert_conforms("get", "/v1/agents/{agent_id}", 200, &agent);

    // A status, operation or path the document does not have.
    refuses("GET", "/v1/agents", 418, list(json!([])));
    refuses("PUT", "/v1/agents", 200, list(json!([])));
    refuses("GET", "/v1/agent", 200, list(json!([])));
    // Through `$ref`s: a list item missing a field, with an extra one, with a bad time.
    let mut missing = agent.clone();
    missing.as_object_mut().expect("an object").remove("model");
    refuses("GET", "/v1/agents", 200, list(json!([missing])));
    let mut extra = agent.clone();
    extra["colour"] = json!("red");
    refuses("GET", "/v1/agents/{agent_id}", 200, extra);
    let mut late = agent.clone();
    late["created_at"] = json!("yesterday");
    refuses("GET", "/v1/agents/{agent_id}", 200, late);
    // A problem of a type that status does not have.
    refuses(
        "GET",
        "/v1/agents/{agent_id}",
        404,
        json!({"type": "/problems/conflict", "title": "t", "status": 404, "detail": "d"}),
    );
}

/// Every operation driven through the router with real keys: each reply is
/// checked against the document by `Server::call`, and the statuses are the
/// ones a client is promised.
#[tokio::test]
async fn every_operation_answers_as_the_document_says() {
    let server = Server::new();
    let admin = server.key(None);
    let s = &server;

    // ---- agents
    let create = json!({"name": "support bot", "model": "gpt-4o", "system_prompt": "Be kind."});
    let reply = s.json("POST", "/v1/agents", &admin, &create).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let agent = reply.str("/id");

    let idem = [("idempotency-key", "agent-1")];
    let body = json!({"name": "other", "model": "m"}).to_string();
    let first = s
        .call("POST", "/v1/agents", Some(&admin), &idem, Some(&body))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), None);
    let other = first.str("/id");
    let again = s
        .call("POST", "/v1/agents", Some(&admin), &idem, Some(&body))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json, first.json);
    let reused = s
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            &idem,
            Some(r#"{"name":"x","model":"m"}"#),
        )
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.problem_type(), "/problems/idempotency-key-reused");
    let bad_key = s
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            &[("idempotency-key", "a b")],
            Some(&body),
        )
        .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);

    let reply = s
        .json(
            "POST",
            "/v1/agents",
            &admin,
            &json!({"name": "x", "model": "m", "colour": "red"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"][0]["field"], "colour");
    let reply = s
        .json(
            "POST",
            "/v1/agents",
            &admin,
            &json!({"name": " ", "model": "m", "timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"].as_array().map(Vec::len), Some(2));
    let reply = s
        .call("POST", "/v1/agents", Some(&admin), &[], Some("{"))
        .await;
    assert_eq!(reply.problem_type(), "/problems/malformed-json");
    let reply = s
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            &[("content-type", "text/plain")],
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let reply = s.get("/v1/agents?limit=1", &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["has_more"], true);
    let next = reply.str("/next_cursor");
    let reply = s
        .get(&format!("/v1/agents?limit=1&cursor={next}"), &admin)
        .await;
    assert_eq!(reply.json["data"][0]["id"], json!(other));
    assert_eq!(reply.json["next_cursor"], Value::Null);
    for query in ["limit=0", "limit=101", "limit=x", "colour=red"] {
        let reply = s.get(&format!("/v1/agents?{query}"), &admin).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
    }
    assert_eq!(
        s.get(&format!("/v1/agents/{agent}"), &admin).await.status,
        StatusCode::OK
    );
    let reply = s
        .get("/v1/agents/agt_01jdq3v6k8m2n4p6r8s0t2v4w6", &admin)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let update =
        json!({"system_prompt": "Be brief.", "feedback_webhook": "https://example.com/hook"});
    let reply = s
        .json("PATCH", &format!("/v1/agents/{agent}"), &admin, &update)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["config_version"], "v2");
    let reply = s
        .json(
            "PATCH",
            &format!("/v1/agents/{agent}"),
            &admin,
            &json!({"feedback_webhook": null, "name": null}),
        )
        .await;
    assert_eq!(reply.json["feedback_webhook"], Value::Null);
    let reply = s
        .json(
            "PATCH",
            &format!("/v1/agents/{agent}"),
            &admin,
            &json!({"dreaming_frequency": "sometimes"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = s
        .json(
            "PATCH",
            "/v1/agents/agt_01jdq3v6k8m2n4p6r8s0t2v4w6",
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let reply = s
        .get(&format!("/v1/agents/{agent}/versions?limit=1"), &admin)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"][0]["version"], "v2");
    assert_eq!(reply.json["next_cursor"], "v2");
    let reply = s
        .get(&format!("/v1/agents/{agent}/versions?cursor=v2"), &admin)
        .await;
    assert_eq!(reply.json["data"][0]["version"], "v1");
    let reply = s
        .get(&format!("/v1/agents/{agent}/versions?cursor=x"), &admin)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = s
        .get("/v1/agents/agt_01jdq3v6k8m2n4p6r8s0t2v4w6/versions", &admin)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let activate = |version: &str| format!("/v1/agents/{agent}/versions/{version}/activate");
    let reply = s
        .call("POST", &activate("v1"), Some(&admin), &[], None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["system_prompt"], "Be kind.");
    let reply = s
        .call("POST", &activate("one"), Some(&admin), &[], None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = s
        .call("POST", &activate("v9"), Some(&admin), &[], None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // ---- interactions
    let interactions = format!("/v1/agents/{agent}/interactions");
    let reply = s
        .json("POST", &interactions, &admin, &interaction(None))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.str("/id").starts_with("int_"));
    assert_eq!(reply.json["config_version"], "v1");
    let reply = s
        .json("POST", &interactions, &admin, &interaction(Some("int-a")))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = s
        .json("POST", &interactions, &admin, &interaction(Some("int-a")))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.json["errors"][0]["field"], "id");
    let mut bad = interaction(None);
    bad["messages"][1]["role"] = json!("human");
    let reply = s.json("POST", &interactions, &admin, &bad).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"][0]["field"], "messages[1].role");
    let reply = s.json("POST", &interactions, &admin, &json!([1])).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = s
        .json(
            "POST",
            "/v1/agents/agt_01jdq3v6k8m2n4p6r8s0t2v4w6/interactions",
            &admin,
            &interaction(None),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let batch = json!({"interactions": [interaction(Some("int-b")), interaction(Some("int-c"))]});
    let reply = s
        .json("POST", &format!("{interactions}/batch"), &admin, &batch)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["ids"], json!(["int-b", "int-c"]));
    let mut bad = batch.clone();
    bad["interactions"][1]["timestamp"] = json!(42);
    bad["interactions"][0]["id"] = json!("int-d");
    let reply = s
        .json("POST", &format!("{interactions}/batch"), &admin, &bad)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.json["errors"][0]["field"],
        "interactions[1].timestamp"
    );
    for body in [
        json!({"interactions": []}),
        json!({"interactions": [], "more": 1}),
    ] {
        let reply = s
            .json("POST", &format!("{interactions}/batch"), &admin, &body)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let reply = s
        .json(
            "POST",
            &format!("{interactions}/batch"),
            &admin,
            &json!({"interactions": [interaction(Some("int-a"))]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.json["errors"][0]["field"], "interactions[0].id");

    let reply = s.get(&format!("{interactions}?limit=2"), &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["has_more"], true);
    let reply = s
        .get(&format!("{interactions}?cursor=int-nope"), &admin)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = s.get(&format!("{interactions}/int-a"), &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json["interaction"]["framework_extra"], 1,
        "stored as sent"
    );
    let reply = s.get(&format!("{interactions}/int-nope"), &admin).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = s
        .json(
            "POST",
            &interactions,
            &admin,
            &interaction(Some("int-gone")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let reply = s
            .call(
                "DELETE",
                &format!("{interactions}/int-gone"),
                Some(&admin),
                &[],
                None,
            )
            .await;
        assert_eq!(reply.status, status);
    }

    // ---- feedback
    let feedback = format!("/v1/agents/{agent}/feedback");
    let one = json!({"interaction_id": "int-a", "rating": "negative", "comment": "wrong order", "extra": 1});
    let reply = s.json("POST", &feedback, &admin, &one).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = s
        .json(
            "POST",
            &feedback,
            &admin,
            &json!({"interaction_id": "int-a", "rating": "positive", "comment": "  "}),
        )
        .await;
    assert_eq!(reply.json["comment"], Value::Null);
    let reply = s
        .json(
            "POST",
            &feedback,
            &admin,
            &json!({"interaction_id": "int-nope", "rating": "positive"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"][0]["field"], "interaction_id");
    let batch = json!({"feedback": [one, {"interaction_id": "int-b", "rating": "neutral"}]});
    let reply = s
        .json("POST", &format!("{feedback}/batch"), &admin, &batch)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["count"], 2);
    let reply = s
        .json(
            "POST",
            &format!("{feedback}/batch"),
            &admin,
            &json!({"feedback": [{"interaction_id": "int-a", "rating": "great"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"][0]["field"], "feedback[0].rating");

    // ---- dreams
    let dreams = format!("/v1/agents/{agent}/dreams");
    let reply = s.call("POST", &dreams, Some(&admin), &[], None).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.json["status"], "pending");
    let dream = reply.str("/id");
    let window = json!({"since": "2026-10-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"});
    let reply = s.json("POST", &dreams, &admin, &window).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    for body in [
        json!({"since": "last week"}),
        json!({"since": "2026-11-01T00:00:00Z", "until": "2026-10-01T00:00:00Z"}),
    ] {
        let reply = s.json("POST", &dreams, &admin, &body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let reply = s.get(&dreams, &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(2));
    let reply = s.get(&format!("/v1/dreams/{dream}"), &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["report"], Value::Null);
    let claimed = s.store.claim_dream("worker", 1, 60_000, 3).expect("claim");
    assert_eq!(claimed.map(|d| d.id), Some(dream.clone()));
    let done = DreamOutcome::Completed {
        summary: DreamSummary {
            text: "1 pattern".into(),
            interactions: 4,
            problems: 1,
            suggestions: 0,
        },
        report: json!({"schema": "reverie.report/v2"}).to_string(),
        window_start_ms: None,
        window_end_ms: 2,
    };
    assert!(
        s.store
            .finish_dream(&dream, "worker", &done, &[], 3)
            .expect("finish")
    );
    let reply = s.get(&format!("/v1/dreams/{dream}"), &admin).await;
    assert_eq!(reply.json["status"], "completed");
    assert_eq!(reply.json["report"]["schema"], "reverie.report/v2");
    assert_eq!(reply.json["summary"]["interactions"], 4);
    let reply = s
        .get("/v1/dreams/drm_01jdq3v6k8m2n4p6r8s0t2v4w6", &admin)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // ---- schedules: see, pause, resume, run now, preview
    let schedule = format!("/v1/agents/{agent}/schedule");
    let reply = s.get(&schedule, &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["expression"], "daily", "the default frequency");
    assert!(reply.json["next_run_at"].is_string(), "{}", reply.json);
    assert_eq!(reply.json["upcoming"].as_array().map(Vec::len), Some(5));
    let reply = s
        .call(
            "POST",
            &format!("{schedule}/pause"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        (
            reply.json["paused"].clone(),
            reply.json["next_run_at"].clone()
        ),
        (json!(true), Value::Null)
    );
    let reply = s.get(&format!("/v1/agents/{agent}"), &admin).await;
    assert_eq!(reply.json["dreaming_paused"], true);
    assert_eq!(reply.json["next_run_at"], Value::Null);
    let reply = s
        .call(
            "POST",
            &format!("{schedule}/resume"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json["next_run_at"].is_string());
    let reply = s
        .call(
            "POST",
            &format!("{schedule}/run"),
            Some(&admin),
            &[],
            Some("{}"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.json["trigger"], "run_now");
    let run_now = reply.str("/id");
    let reply = s
        .call(
            "POST",
            &format!("{schedule}/run"),
            Some(&admin),
            &[],
            Some(r#"{"x":1}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = s.get(&schedule, &admin).await;
    let actions: Vec<&str> = reply.json["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["run_now", "resume", "pause"],
        "audited, newest first"
    );
    assert_eq!(reply.json["events"][0]["detail"], run_now.as_str());
    let reply = s
        .get("/v1/schedule/preview?expression=0%202%20*%20*%20*&timezone=America/New_York&count=3&after=2026-03-07T12:00:00Z", &admin)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json["fire_times"],
        json!([
            {"at": "2026-03-08T07:00:00.000Z", "local": "2026-03-08T03:00:00-04:00"},
            {"at": "2026-03-09T06:00:00.000Z", "local": "2026-03-09T02:00:00-04:00"},
            {"at": "2026-03-10T06:00:00.000Z", "local": "2026-03-10T02:00:00-04:00"}
        ]),
        "02:00 does not exist on the 8th: it runs once, at the jump"
    );
    for (query, field) in [
        ("expression=61%20*%20*%20*%20*", "expression"),
        ("expression=daily&timezone=Mars/Olympus", "timezone"),
        ("expression=daily&count=0", "count"),
        ("timezone=UTC", "expression"),
        ("expression=daily&tz=UTC", "tz"),
    ] {
        let reply = s
            .get(&format!("/v1/schedule/preview?{query}"), &admin)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.json["errors"][0]["field"], field, "{query}");
    }
    let reply = s
        .json(
            "PATCH",
            &format!("/v1/agents/{agent}"),
            &admin,
            &json!({"dreaming_frequency": "0 25 * * *", "timezone": "Europe/Berln"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = reply.json["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["dreaming_frequency", "timezone"]);

    // ---- webhooks: endpoints, secrets, deliveries, redelivery
    let hooks = format!("/v1/agents/{agent}/webhooks");
    let reply = s
        .json(
            "PATCH",
            &format!("/v1/agents/{agent}"),
            &admin,
            &json!({"feedback_webhook": "https://hooks.example.com/r"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = s.get(&hooks, &admin).await;
    assert_eq!(reply.json["data"][0]["source"], "feedback_webhook");
    assert!(
        reply.json["data"][0].get("secret").is_none(),
        "lists hold no secrets"
    );
    let reply = s
        .json(
            "POST",
            &hooks,
            &admin,
            &json!({"url": "https://receiver.example.com/in", "events": ["dreaming_report"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(reply.str("/secret").starts_with("whsec_"));
    let endpoint = reply.str("/id");
    for body in [
        json!({"url": "http://127.0.0.1:9/in"}),
        json!({"url": "https://receiver.example.com/in", "events": ["nope"]}),
        json!({"url": "ftp://receiver.example.com/in"}),
    ] {
        let reply = s.json("POST", &hooks, &admin, &body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let one = format!("{hooks}/{endpoint}");
    assert!(s.get(&one, &admin).await.json.get("secret").is_none());
    let secret = s.get(&format!("{one}/secret"), &admin).await.str("/secret");
    let reply = s
        .json(
            "POST",
            &format!("{one}/rotate"),
            &admin,
            &json!({"overlap": "1h"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(reply.str("/secret"), secret, "a new secret");
    assert!(reply.json["previous_secret_expires_at"].is_string());
    let reply = s
        .json(
            "POST",
            &format!("{one}/rotate"),
            &admin,
            &json!({"overlap": "9d"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = s
        .call("POST", &format!("{one}/enable"), Some(&admin), &[], None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // A dream finishes: its report goes to both endpoints.
    s.call(
        "POST",
        &format!("/v1/agents/{agent}/dreams"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    let claimed = s
        .store
        .claim_dream("worker", 10, 60_000, 3)
        .expect("claim")
        .expect("a dream");
    let outcome = DreamOutcome::Completed {
        summary: DreamSummary::default(),
        report: serde_json::to_string(&crate::webhooks::payload::sample_report()).expect("json"),
        window_start_ms: None,
        window_end_ms: 2,
    };
    let event = crate::webhooks::payload::dream_event(&claimed, &outcome);
    assert!(
        s.store
            .finish_dream(&claimed.id, "worker", &outcome, &[event], 11)
            .expect("finish")
    );
    let deliveries = format!("/v1/agents/{agent}/deliveries");
    let reply = s.get(&deliveries, &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(2));
    let reply = s
        .get(
            &format!("{deliveries}?endpoint_id={endpoint}&limit=5"),
            &admin,
        )
        .await;
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(reply.json["data"][0]["status"], "pending");
    let delivery = reply.str("/data/0/id");
    let reply = s.get(&format!("{deliveries}?colour=red"), &admin).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = s.get(&format!("{deliveries}?status=lost"), &admin).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["errors"][0]["field"], "status");
    let reply = s.get(&format!("{deliveries}?status=dead"), &admin).await;
    assert_eq!(reply.json["data"], json!([]), "nothing has died yet");
    let reply = s
        .call(
            "POST",
            &format!("/v1/deliveries/{delivery}/redeliver"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(
        reply.json["event_id"],
        s.get(&format!("{deliveries}?endpoint_id={endpoint}"), &admin)
            .await
            .json["data"][1]["event_id"]
    );
    let reply = s
        .call(
            "POST",
            "/v1/deliveries/dlv_01jdq3v6k8m2n4p6r8s0t2v4w6/redeliver",
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = s.call("DELETE", &one, Some(&admin), &[], None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(s.get(&one, &admin).await.status, StatusCode::NOT_FOUND);
    let reply = s
        .get(&format!("{deliveries}?endpoint_id={endpoint}"), &admin)
        .await;
    assert!(
        reply.json["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|d| d["status"] == "cancelled"),
        "a deleted endpoint's pending deliveries are cancelled: {}",
        reply.json
    );

    // ---- API keys, and what a scoped key may see
    let reply = s
        .json(
            "POST",
            "/v1/api-keys",
            &admin,
            &json!({"name": "ci", "agent_id": agent}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let scoped = reply.str("/key");
    let scoped_id = reply.str("/id");
    let reply = s
        .json(
            "POST",
            "/v1/api-keys",
            &admin,
            &json!({"name": "ci", "agent_id": "agt_01jdq3v6k8m2n4p6r8s0t2v4w6"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"][0]["field"], "agent_id");
    let reply = s
        .call(
            "POST",
            "/v1/api-keys",
            Some(&admin),
            &[("idempotency-key", "k")],
            Some(r#"{"name":"ci"}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = s.get("/v1/api-keys", &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(2));

    let reply = s.get("/v1/agents", &scoped).await;
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        s.get(&format!("/v1/agents/{agent}"), &scoped).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.get(&format!("/v1/agents/{other}"), &scoped).await.status,
        StatusCode::NOT_FOUND
    );
    let reply = s.json("POST", "/v1/agents", &scoped, &create).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.get("/v1/api-keys", &scoped).await.status,
        StatusCode::FORBIDDEN
    );
    let other_dream = s
        .call(
            "POST",
            &format!("/v1/agents/{other}/dreams"),
            Some(&admin),
            &[],
            None,
        )
        .await
        .str("/id");
    let reply = s.get(&format!("/v1/dreams/{other_dream}"), &scoped).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = s
        .call(
            "DELETE",
            &format!("/v1/api-keys/{scoped_id}"),
            Some(&scoped),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let reply = s
        .call(
            "DELETE",
            &format!("/v1/api-keys/{scoped_id}"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json["revoked_at"].is_string());
    let reply = s.get("/v1/agents", &scoped).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = s
        .call(
            "DELETE",
            "/v1/api-keys/key_01jdq3v6k8m2n4p6r8s0t2v4w6",
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = s.get("/v1/agents", "rvk_not_a_key").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // ---- open routes, and a body over the limit
    assert_eq!(
        s.call("GET", "/healthz", None, &[], None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.call("GET", "/readyz", None, &[], None).await.status,
        StatusCode::OK
    );
    let small = Server::with_body_limit(1024);
    let token = small.key(None);
    let big = json!({"name": "x".repeat(4096), "model": "m"});
    let reply = small.json("POST", "/v1/agents", &token, &big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installing_rules_and_agents_rule_sets_answer_as_the_document_says() {
    let s = &Server::with_rules(crate::config::Config::default_with(&["tool-failures"]));
    let admin = s.key(None);
    let wasm = [("content-type", "application/wasm")];
    let component = crate::builtin::bytes("retry-loops", false)
        .expect("a built-in component")
        .to_vec();

    let reply = s
        .call_bytes(
            "POST",
            "/v1/rules",
            Some(&admin),
            &wasm,
            Some(component.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.str("/id");
    assert_eq!(reply.json["name"], "retry-loops");
    assert_eq!(reply.json["contract"], crate::plugins::CONTRACT_VERSION);
    let reply = s
        .call_bytes(
            "POST",
            "/v1/rules",
            Some(&admin),
            &wasm,
            Some(component.clone()),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the same bytes are the same rule"
    );
    assert_eq!(reply.str("/id"), id);
    let reply = s
        .call_bytes(
            "POST",
            "/v1/rules",
            Some(&admin),
            &wasm,
            Some(b"\0asm junk".to_vec()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json["errors"][0]["field"], "body");
    // A component may be far larger than a JSON body: the rule's own cap applies.
    let large = vec![0u8; DEFAULT_BODY_LIMIT + 1];
    let reply = s
        .call_bytes("POST", "/v1/rules", Some(&admin), &wasm, Some(large))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "read whole, then refused"
    );
    let huge = vec![0u8; super::rules::MAX_RULE_BYTES + 1];
    let reply = s
        .call_bytes("POST", "/v1/rules", Some(&admin), &wasm, Some(huge))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = s
        .call_bytes(
            "POST",
            "/v1/rules",
            Some(&admin),
            &[("content-type", "text/plain")],
            Some(component.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let reply = s.get("/v1/rules", &admin).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(1));
    let reply = s.get("/v1/rules?cursor=nonsense", &admin).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        s.get(&format!("/v1/rules/{id}"), &admin).await.status,
        StatusCode::OK
    );
    let missing = format!("sha256:{}", "0".repeat(64));
    for uri in [
        format!("/v1/rules/{missing}"),
        "/v1/rules/rule-1".to_string(),
    ] {
        assert_eq!(s.get(&uri, &admin).await.status, StatusCode::NOT_FOUND);
    }

    let agent = s
        .json(
            "POST",
            "/v1/agents",
            &admin,
            &json!({"name": "a", "model": "m"}),
        )
        .await
        .str("/id");
    let scoped = s.key(Some(&agent));
    let rules = format!("/v1/agents/{agent}/rules");
    let reply = s.get(&rules, &scoped).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["default"], true);
    assert_eq!(reply.json["rules"][0]["rule"], "builtin:tool-failures");
    assert_eq!(reply.json["rules"][0]["limits"]["memory_mib"], 128);

    let set = json!({"rules": [
        {"rule": id, "settings": {"min_occurrences": 2}, "limits": {"timeout_ms": 500, "metering": "fuel"}},
        {"rule": "builtin:tool-failures"}
    ]});
    let reply = s.json("PUT", &rules, &scoped, &set).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = s.json("PUT", &rules, &admin, &set).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.json);
    assert_eq!(reply.json["default"], false);
    assert_eq!(reply.json["rules"][0]["name"], "retry-loops");
    assert_eq!(reply.json["rules"][0]["limits"]["timeout_ms"], 500);
    assert_eq!(reply.json["rules"][0]["limits"]["metering"], "fuel");
    assert_eq!(
        reply.json["rules"][1]["limits"]["metering"], "epoch",
        "the default"
    );
    let reply = s
        .json(
            "PUT",
            &rules,
            &admin,
            &json!({"rules": [{"rule": id, "limits": {"metering": "instructions"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = s
        .json(
            "PUT",
            &rules,
            &admin,
            &json!({"rules": [{"rule": id, "settings": {"colour": "red"}}], "x": 1}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = s
        .json(
            "PUT",
            &rules,
            &admin,
            &json!({"rules": [{"rule": id, "settings": {"colour": ["red"]}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = reply.json["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["rules[0].settings.colour"]);
    let reply = s
        .json(
            "PUT",
            "/v1/agents/agt_01jdq3v6k8m2n4p6r8s0t2v4w6/rules",
            &admin,
            &set,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let reply = s
        .call(
            "DELETE",
            &format!("/v1/rules/{id}"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(
        reply.json["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&agent))
    );
    let reply = s.call("DELETE", &rules, Some(&admin), &[], None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["default"], true);
    let reply = s
        .call(
            "DELETE",
            &format!("/v1/rules/{id}"),
            Some(&scoped),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = s
        .call(
            "DELETE",
            &format!("/v1/rules/{id}"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // A process that runs no rules says so rather than guessing.
    let bare = Server::new();
    let token = bare.key(None);
    let agent = bare
        .json(
            "POST",
            "/v1/agents",
            &token,
            &json!({"name": "a", "model": "m"}),
        )
        .await
        .str("/id");
    let reply = bare.get(&format!("/v1/agents/{agent}/rules"), &token).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}
