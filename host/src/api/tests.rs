//! Handler tests without a socket: the router from [`app`] driven with
//! `oneshot`, on a real SQLite store in a temporary directory.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::store::sqlite::SqliteStore;

struct Api {
    _dir: tempfile::TempDir,
    /// The scratch schema of an API on PostgreSQL, dropped with it.
    _scratch: Option<crate::store::postgres::scratch::Scratch>,
    state: AppState,
    admin: String,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    replayed: bool,
    body: Value,
}

impl Api {
    fn new() -> Api {
        Self::with_limit(DEFAULT_BODY_LIMIT)
    }

    fn with_limit(limit: usize) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
        let (key, admin) = auth::new_key("admin", None, 0).expect("random");
        store.create_api_key(&key, None).expect("admin key");
        Api {
            _dir: dir,
            _scratch: None,
            state: AppState::new(
                store,
                None,
                limit,
                crate::server::policy_of(&crate::config::SchedulerConfig::default()),
            ),
            admin,
        }
    }

    /// The same API on a scratch PostgreSQL schema, or `None` (said) without a
    /// server. Call it outside any async runtime: the PostgreSQL client blocks.
    fn on_postgres() -> Option<Api> {
        let scratch = crate::store::postgres::scratch::Scratch::create("api")?;
        let store: Arc<dyn Store> = Arc::new(scratch.store(4).expect("connect"));
        let (key, admin) = auth::new_key("admin", None, 0).expect("random");
        store.create_api_key(&key, None).expect("admin key");
        Some(Api {
            _dir: tempfile::tempdir().expect("tempdir"),
            _scratch: Some(scratch),
            state: AppState::new(
                store,
                None,
                DEFAULT_BODY_LIMIT,
                crate::server::policy_of(&crate::config::SchedulerConfig::default()),
            ),
            admin,
        })
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let raw = super::test_client::send(&self.state, method, uri, key, body, headers).await;
        let status = raw.status;
        let content_type = raw.header("content-type").unwrap_or_default();
        let replayed = raw.headers.contains_key("idempotent-replayed");
        let bytes = raw.bytes;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("every response is JSON")
        };
        Reply {
            status,
            content_type,
            replayed,
            body,
        }
    }

    async fn admin(&self, method: &str, uri: &str, body: Option<Value>) -> Reply {
        self.call(method, uri, Some(&self.admin.clone()), body, &[])
            .await
    }

    async fn agent(&self, name: &str) -> String {
        let r = self
            .admin(
                "POST",
                "/v1/agents",
                Some(json!({"name": name, "model": "gpt-5", "system_prompt": "You help."})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }
}

/// Run `test` against the API on a scratch PostgreSQL schema (skipped, saying
/// so, without a server). The store is made and dropped outside the runtime,
/// because the PostgreSQL client blocks; inside, the handlers reach it from
/// the blocking pool as in `serve`.
fn on_postgres(
    test: impl for<'a> FnOnce(&'a Api) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>,
) {
    let Some(api) = Api::on_postgres() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(test(&api));
    drop(runtime);
    drop(api);
}

fn interaction(id: &str, ts: &str) -> Value {
    json!({
        "id": id,
        "timestamp": ts,
        "messages": [
            {"role": "user", "content": "Where is my order?"},
            {"role": "assistant", "content": "It ships tomorrow."}
        ]
    })
}

/// A problem+json reply with `status`, naming `field` if given.
fn assert_problem(r: &Reply, status: StatusCode, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["status"], status.as_u16());
    assert!(
        r.body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/"))
    );
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    if let Some(field) = field {
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&field),
            "expected field {field}, got {fields:?}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn every_error_is_problem_json_naming_what_was_wrong() {
    let api = Api::new();
    assert_problem(
        &api.call("GET", "/v1/agents", None, None, &[]).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert_problem(
        &api.call("GET", "/v1/agents", Some("rvk_nonsense"), None, &[])
            .await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert_problem(
        &api.admin("GET", "/v1/nowhere", None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &api.admin("PUT", "/v1/agents", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        None,
    );
    assert_problem(
        &api.admin("GET", "/v1/agents/agt_01jdq0000000000000000000000", None)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &api.admin("POST", "/v1/agents", Some(json!({"name": "x"})))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("model"),
    );
    assert_problem(
        &api.admin(
            "POST",
            "/v1/agents",
            Some(json!({"name": "x", "model": "m", "colour": "red"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("colour"),
    );
    // The document says integer: null is refused, naming the field, and
    // creates nothing (leaving it out means the server default).
    let r = api
        .admin(
            "POST",
            "/v1/agents",
            Some(json!({"name": "x", "model": "m", "min_new_interactions": null})),
        )
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("min_new_interactions"),
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not null")),
        "{}",
        r.body
    );
    let r = api.admin("GET", "/v1/agents", None).await;
    assert_eq!(r.body["data"], json!([]), "nothing was created");
    for bad in [json!(-1), json!(1.5), json!("10")] {
        assert_problem(
            &api.admin(
                "POST",
                "/v1/agents",
                Some(json!({"name": "x", "model": "m", "min_new_interactions": bad})),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("min_new_interactions"),
        );
    }
    let r = api
        .admin(
            "POST",
            "/v1/agents",
            Some(json!({"name": " ", "model": "m", "timezone": "Mars/Olympus", "dreaming_frequency": "sometimes", "feedback_webhook": "ftp://x"})),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("name"));
    for field in ["timezone", "dreaming_frequency", "feedback_webhook"] {
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    assert_problem(
        &api.admin("GET", "/v1/agents?limit=0", None).await,
        StatusCode::BAD_REQUEST,
        Some("limit"),
    );
    assert_problem(
        &api.admin("GET", "/v1/agents?limit=101", None).await,
        StatusCode::BAD_REQUEST,
        Some("limit"),
    );

    // A cursor this API did not give out is refused on every list, not read as a position.
    let agent = api.agent("cursors").await;
    for uri in [
        "/v1/agents?cursor=abc".to_string(),
        "/v1/api-keys?cursor=abc".to_string(),
        format!("/v1/agents/{agent}/dreams?cursor=abc"),
        format!("/v1/agents/{agent}/versions?cursor=abc"),
        format!("/v1/agents/{agent}/interactions?cursor=zzz"),
    ] {
        assert_problem(
            &api.admin("GET", &uri, None).await,
            StatusCode::BAD_REQUEST,
            Some("cursor"),
        );
    }

    // Even axum's own rejections leave as problem+json: a path segment that is not UTF-8.
    assert_problem(
        &api.admin("GET", "/v1/agents/%FF", None).await,
        StatusCode::BAD_REQUEST,
        None,
    );
    // A body must be an object: an array is not read as a struct by position.
    assert_problem(
        &api.admin("POST", "/v1/agents", Some(json!(["name", "model"])))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("body"),
    );
    // Version names are `v` and a number, nothing looser.
    for version in ["v02", "v+2", "v-1", "2"] {
        assert_problem(
            &api.admin(
                "POST",
                &format!("/v1/agents/{agent}/versions/{version}/activate"),
                None,
            )
            .await,
            StatusCode::BAD_REQUEST,
            Some("version"),
        );
    }

    // Broken JSON is 400, a body that is not JSON at all 415.
    let admin = api.admin.clone();
    let request = Request::post("/v1/agents")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .expect("request");
    let response = app(api.state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let request = Request::post("/v1/agents")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "text/plain")
        .body(Body::from("name=x"))
        .expect("request");
    let response = app(api.state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_stores_nothing() {
    let api = Api::with_limit(4096);
    let agent = api.agent("limits").await;
    let big: Vec<Value> = (0..50)
        .map(|i| interaction(&format!("i{i}"), "2026-11-01T10:00:00Z"))
        .collect();
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": big})),
        )
        .await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, None);
    let list = api
        .admin("GET", &format!("/v1/agents/{agent}/interactions"), None)
        .await;
    assert_eq!(list.body["data"], json!([]));
}

#[tokio::test]
async fn agents_keep_their_config_versions() {
    let api = Api::new();
    let r = api
        .admin(
            "POST",
            "/v1/agents",
            Some(json!({
                "name": "support", "model": "claude", "system_prompt": "v1 prompt",
                "dreaming_enabled": false, "dreaming_frequency": "0 3 * * *",
                "timezone": "Europe/Berlin", "feedback_webhook": "https://hooks.example.com/r"
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    assert!(crate::ids::has_prefix(&id, crate::ids::AGENT), "{id}");
    assert_eq!(r.body["config_version"], "v1");
    assert_eq!(r.body["timezone"], "Europe/Berlin");
    assert_eq!(r.body["dreaming_enabled"], false);

    let r = api
        .admin(
            "PATCH",
            &format!("/v1/agents/{id}"),
            Some(json!({"system_prompt": "v2 prompt", "feedback_webhook": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["config_version"], "v2");
    assert_eq!(r.body["feedback_webhook"], Value::Null, "null clears it");
    assert_eq!(r.body["timezone"], "Europe/Berlin", "untouched fields stay");

    let versions = api
        .admin("GET", &format!("/v1/agents/{id}/versions"), None)
        .await;
    let listed: Vec<(String, bool)> = versions.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap_or("").to_string(),
                v["live"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![("v2".to_string(), true), ("v1".to_string(), false)]
    );

    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{id}/versions/v1/activate"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["system_prompt"], "v1 prompt");
    assert_eq!(r.body["config_version"], "v1");
    assert_problem(
        &api.admin(
            "POST",
            &format!("/v1/agents/{id}/versions/v7/activate"),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &api.admin(
            "POST",
            &format!("/v1/agents/{id}/versions/seven/activate"),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        Some("version"),
    );
}

#[tokio::test]
async fn a_rejected_batch_names_the_item_and_field_and_stores_nothing() {
    let api = Api::new();
    let agent = api.agent("batches").await;
    let mut items: Vec<Value> = (0..5)
        .map(|i| interaction(&format!("b{i}"), "2026-11-01T10:00:00Z"))
        .collect();
    items[3]["messages"][0]["role"] = json!("narrator");
    items[4]["timestamp"] = json!("yesterday");
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": items})),
        )
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("interactions[3].messages[0].role"),
    );
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("interactions[4].timestamp"),
    );
    for i in 0..5 {
        let got = api
            .admin(
                "GET",
                &format!("/v1/agents/{agent}/interactions/b{i}"),
                None,
            )
            .await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "b{i} must not be stored");
    }

    // A good batch, then one that repeats an id: 409 naming the item, nothing of it stored.
    let good: Vec<Value> = (0..3)
        .map(|i| interaction(&format!("g{i}"), "2026-11-01T10:00:00Z"))
        .collect();
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": good})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["count"], 3);
    let again = vec![
        interaction("n0", "2026-11-01T10:00:00Z"),
        interaction("g1", "2026-11-01T10:00:00Z"),
    ];
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": again})),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT, Some("interactions[1].id"));
    let got = api
        .admin("GET", &format!("/v1/agents/{agent}/interactions/n0"), None)
        .await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);

    // One at a time: the field is the interaction's own, and a missing id is made up.
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions"),
            Some(interaction("g0", "2026-11-01T10:00:00Z")),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT, Some("id"));
    let mut anonymous = interaction("x", "2026-11-02T10:00:00Z");
    anonymous.as_object_mut().expect("object").remove("id");
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions"),
            Some(anonymous),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let made_up = r.body["id"].as_str().expect("id");
    assert!(
        crate::ids::has_prefix(made_up, crate::ids::INTERACTION),
        "{made_up}"
    );
    assert_eq!(r.body["config_version"], "v1", "the live version served it");
    let got = api
        .admin(
            "GET",
            &format!("/v1/agents/{agent}/interactions/{made_up}"),
            None,
        )
        .await;
    assert_eq!(
        got.body["interaction"]["id"], made_up,
        "the made-up id is part of what is stored"
    );
    assert_eq!(
        got.body["interaction"]["messages"][1]["content"],
        "It ships tomorrow."
    );

    // Feedback: on an unknown interaction, the batch names it and stores nothing.
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/feedback/batch"),
            Some(json!({"feedback": [
                {"interaction_id": "g0", "rating": "negative", "comment": "wrong date"},
                {"interaction_id": "ghost", "rating": "positive"}
            ]})),
        )
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("feedback[1].interaction_id"),
    );
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/feedback"),
            Some(json!({"interaction_id": "g0", "rating": "great"})),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("rating"));
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/feedback"),
            Some(json!({"interaction_id": "g0", "rating": "negative", "comment": "wrong date"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(
        r.body["id"]
            .as_str()
            .is_some_and(|id| crate::ids::has_prefix(id, crate::ids::FEEDBACK))
    );
    let stored = api
        .state
        .store()
        .feedback_for(&agent, "g0")
        .expect("feedback");
    assert_eq!(stored.len(), 1, "only the accepted feedback is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_refuse_and_guard() {
    idempotency_keys_replay_refuse_and_guard_on(&Api::new()).await;
}

/// RELIABILITY 25 on PostgreSQL, through the same handlers.
#[test]
fn idempotency_keys_replay_refuse_and_guard_on_postgres() {
    on_postgres(|api| Box::pin(idempotency_keys_replay_refuse_and_guard_on(api)));
}

async fn idempotency_keys_replay_refuse_and_guard_on(api: &Api) {
    let admin = api.admin.clone();
    let body = json!({"name": "once", "model": "m"});
    let first = api
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(!first.replayed);
    let second = api
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert!(second.replayed, "the second answer says it is a replay");
    assert_eq!(
        second.body, first.body,
        "same key and body: the same response"
    );
    let list = api.admin("GET", "/v1/agents", None).await;
    assert_eq!(
        list.body["data"].as_array().map(Vec::len),
        Some(1),
        "one agent, not two"
    );

    let other = api
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            Some(json!({"name": "twice", "model": "m"})),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_problem(&other, StatusCode::UNPROCESSABLE_ENTITY, None);
    assert_eq!(other.body["type"], "/problems/idempotency-key-reused");

    // A duplicate while the first is still running: 409.
    let key_id = tokio::task::block_in_place(|| {
        crate::store::KeyStore::list_api_keys(
            &**api.state.store(),
            &crate::store::PageRequest {
                limit: 1,
                after: None,
            },
        )
    })
    .expect("keys")
    .items[0]
        .id
        .clone();
    api.state
        .inner
        .in_flight
        .lock()
        .expect("lock")
        .insert((key_id, "k-2".into()));
    let busy = api
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            Some(body),
            &[("idempotency-key", "k-2")],
        )
        .await;
    assert_problem(&busy, StatusCode::CONFLICT, None);
    assert_eq!(busy.body["type"], "/problems/idempotency-key-in-use");

    let refused = api
        .call(
            "POST",
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "x"})),
            &[("idempotency-key", "k-3")],
        )
        .await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, Some("Idempotency-Key"));
}

#[tokio::test]
async fn a_scoped_key_sees_only_its_agent_and_a_revoked_key_nothing() {
    let api = Api::new();
    let mine = api.agent("mine").await;
    let theirs = api.agent("theirs").await;
    let r = api
        .admin(
            "POST",
            "/v1/api-keys",
            Some(json!({"name": "team", "agent_id": mine})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let scoped = r.body["key"].as_str().expect("key shown once").to_string();
    let scoped_id = r.body["id"].as_str().expect("id").to_string();
    let listed = api.admin("GET", "/v1/api-keys", None).await;
    assert!(
        listed.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|k| k.get("key").is_none()),
        "never listed again"
    );

    let get = |uri: String| {
        let api = &api;
        let scoped = scoped.clone();
        async move { api.call("GET", &uri, Some(&scoped), None, &[]).await }
    };
    assert_eq!(
        get(format!("/v1/agents/{mine}")).await.status,
        StatusCode::OK
    );
    for uri in [
        format!("/v1/agents/{theirs}"),
        format!("/v1/agents/{theirs}/versions"),
        format!("/v1/agents/{theirs}/interactions"),
        format!("/v1/agents/{theirs}/dreams"),
    ] {
        assert_problem(&get(uri).await, StatusCode::NOT_FOUND, None);
    }
    let r = api
        .call(
            "POST",
            &format!("/v1/agents/{theirs}/interactions"),
            Some(&scoped),
            Some(interaction("x", "2026-11-01T10:00:00Z")),
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND, None);
    let agents = get("/v1/agents".into()).await;
    assert_eq!(agents.body["data"].as_array().map(Vec::len), Some(1));
    let r = api
        .call(
            "POST",
            "/v1/agents",
            Some(&scoped),
            Some(json!({"name": "n", "model": "m"})),
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, None);
    assert_problem(
        &get("/v1/api-keys".into()).await,
        StatusCode::FORBIDDEN,
        None,
    );

    let r = api
        .admin("DELETE", &format!("/v1/api-keys/{scoped_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["revoked_at"].is_string());
    let r = get(format!("/v1/agents/{mine}")).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, None);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("revoked"))
    );
}

#[tokio::test]
async fn health_and_readiness_need_no_key() {
    let api = Api::new();
    let r = api.call("GET", "/healthz", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api.call("GET", "/readyz", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ready");
}

/// A dream worker on the API's store with the built-in rules; a window with
/// fewer than `min_interactions` new interactions is skipped.
fn dreamer(api: &Api, min_interactions: u64) -> crate::dreams::Dreamer {
    let builtins = crate::builtin::names();
    let config = crate::config::Config::default_with(&builtins);
    let runtime = crate::plugins::Runtime::new(None).expect("runtime");
    crate::dreams::Dreamer::new(
        api.state.store().clone(),
        std::sync::Arc::new(crate::catalog::Catalog::new(runtime, config)),
        min_interactions,
        std::sync::Arc::new(crate::clock::SystemClock),
        crate::dreams::Leases {
            owner: "test-worker".into(),
            lease_ms: 60_000,
            max_attempts: 3,
        },
    )
}

/// Ask for a dream of `agent` over everything stored, run it on `dreamer`,
/// and return the dream as `GET /v1/dreams/{id}` shows it.
async fn dream_now(
    api: &Api,
    dreamer: crate::dreams::Dreamer,
    agent: &str,
) -> (crate::dreams::Dreamer, Value) {
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/dreams"),
            Some(json!({"since": "1970-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    let dreamer = tokio::task::spawn_blocking(move || {
        let ran = dreamer.run_next().expect("store").expect("a dream to run");
        assert!(ran.stored, "{ran:?}");
        dreamer
    })
    .await
    .expect("join");
    let r = api.admin("GET", &format!("/v1/dreams/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (dreamer, r.body)
}

/// Defect: `"id": null` (the document allows it) was stored as the client's
/// text with a second `id` spliced in, and every later dream of the agent
/// failed on that row. What is stored now is the checked object, with the id
/// the server made, and dreams read it.
#[tokio::test]
async fn an_interaction_with_a_null_id_is_stored_whole_and_dreams_read_it() {
    let api = Api::new();
    let agent = api.agent("null-ids").await;
    let mut one = interaction("ignored", "2026-11-01T10:00:00Z");
    one["id"] = Value::Null;
    one["trace"] = json!({"span": 7});
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions"),
            Some(one),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let made = r.body["id"].as_str().expect("id").to_string();
    assert!(made.starts_with("int_"), "{made}");
    let mut batch: Vec<Value> = (0..3)
        .map(|n| interaction("x", &format!("2026-11-01T11:0{n}:00Z")))
        .collect();
    batch[0]["id"] = Value::Null;
    batch[1].as_object_mut().expect("object").remove("id");
    batch[2]["id"] = json!("mine");
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": batch})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Read back: one `id`, the one it is stored under; extras kept.
    let r = api
        .admin(
            "GET",
            &format!("/v1/agents/{agent}/interactions/{made}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["interaction"]["id"], made.as_str());
    assert_eq!(r.body["interaction"]["trace"], json!({"span": 7}));

    let (_, dream) = dream_now(&api, dreamer(&api, 1), &agent).await;
    assert_eq!(dream["status"], "completed", "{}", dream["error"]);
    assert_eq!(dream["report"]["window"]["interactions"], 4);
}

/// RELIABILITY 31, and the way out: rows an older reverie (or a hand) wrote
/// into the database that cannot be read never fail a dream or a listing;
/// they are left out, counted and named, and DELETE removes them with their
/// feedback.
#[tokio::test]
async fn unreadable_rows_are_left_out_named_and_can_be_deleted() {
    use crate::store::sqlite::tests::{BAD_ROWS, write_raw_rows};
    let api = Api::new();
    let agent = api.agent("poisoned").await;
    let good: Vec<Value> = (0..4)
        .map(|n| interaction(&format!("good-{n}"), &format!("1970-01-01T00:00:1{n}Z")))
        .collect();
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": good})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let raw: Vec<(&str, i64, &str)> = BAD_ROWS.iter().map(|(i, t, b, _)| (*i, *t, *b)).collect();
    write_raw_rows(api._dir.path(), &agent, &raw);
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/feedback"),
            Some(json!({"interaction_id": "dup", "rating": "negative"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // The dream completes over the readable rows and names the others.
    let (dreamer, dream) = dream_now(&api, dreamer(&api, 1), &agent).await;
    assert_eq!(dream["status"], "completed", "{}", dream["error"]);
    let window = &dream["report"]["window"];
    assert_eq!(window["interactions"], 4);
    assert_eq!(window["unreadable_interactions"], 3);
    for (id, _, _, says) in BAD_ROWS {
        let named = window["unreadable"]
            .as_array()
            .expect("unreadable")
            .iter()
            .find(|u| u["id"] == id)
            .unwrap_or_else(|| panic!("{id} is named: {window}"));
        assert!(
            named["reason"].as_str().is_some_and(|r| r.contains(says)),
            "{named}"
        );
    }
    let summary = dream["summary"]["text"].as_str().expect("summary");
    assert!(
        summary.contains("3 stored interactions could not be read"),
        "{summary}"
    );

    // A listing pages through every row and says which it left out.
    let (mut listed, mut unreadable, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let uri = match &cursor {
            None => format!("/v1/agents/{agent}/interactions?limit=2"),
            Some(c) => format!("/v1/agents/{agent}/interactions?limit=2&cursor={c}"),
        };
        let page = api.admin("GET", &uri, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for item in page.body["data"].as_array().expect("data") {
            listed.push(item["id"].as_str().expect("id").to_string());
        }
        for item in page.body["unreadable"].as_array().into_iter().flatten() {
            unreadable.push(item["id"].as_str().expect("id").to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(listed, ["good-0", "good-1", "good-2", "good-3"]);
    assert_eq!(unreadable, ["dup", "not-json", "bytes"]);
    let r = api
        .admin("GET", &format!("/v1/agents/{agent}/interactions/dup"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("interaction").is_none(), "{}", r.body);
    assert!(
        r.body["unreadable"]
            .as_str()
            .is_some_and(|u| u.contains("duplicate field `id`")),
        "{}",
        r.body
    );

    // DELETE: 204, the row and its feedback gone, then 404.
    let uri = format!("/v1/agents/{agent}/interactions/dup");
    let r = api.admin("DELETE", &uri, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(r.body, Value::Null, "no body");
    assert!(
        api.state
            .store()
            .feedback_for(&agent, "dup")
            .expect("feedback")
            .is_empty()
    );
    assert_problem(
        &api.admin("GET", &uri, None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &api.admin("DELETE", &uri, None).await,
        StatusCode::NOT_FOUND,
        None,
    );
    // An agent's own key may delete its rows; another agent's key sees nothing.
    let (own, own_secret) = auth::new_key("own", Some(agent.clone()), 0).expect("random");
    let other_agent = api.agent("other").await;
    let (other, other_secret) =
        auth::new_key("other", Some(other_agent.clone()), 0).expect("random");
    api.state.store().create_api_key(&own, None).expect("key");
    api.state.store().create_api_key(&other, None).expect("key");
    let uri = format!("/v1/agents/{agent}/interactions/not-json");
    assert_problem(
        &api.call("DELETE", &uri, Some(&other_secret), None, &[])
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    let r = api.call("DELETE", &uri, Some(&own_secret), None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = api
        .admin(
            "DELETE",
            &format!("/v1/agents/{agent}/interactions/bytes"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // A good row goes the same way, and the next dream no longer sees it.
    let r = api
        .admin(
            "DELETE",
            &format!("/v1/agents/{agent}/interactions/good-0"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let (_, dream) = dream_now(&api, dreamer, &agent).await;
    assert_eq!(dream["status"], "completed", "{}", dream["error"]);
    assert_eq!(dream["report"]["window"]["interactions"], 3);
    assert!(
        dream["report"]["window"]
            .get("unreadable_interactions")
            .is_none(),
        "{}",
        dream["report"]["window"]
    );
}

/// Defect: labels a runtime logs (`config_version: "v2"`) were counted as the
/// server's own versions, so after loading the example, "v2" in the metrics
/// and v2 in the versions list were different prompts. A label is now
/// `client:<label>`; a server version the runtime reports is `agent_version`.
#[tokio::test]
async fn client_labels_and_server_versions_never_share_a_name() {
    let api = Api::new();
    let agent = api.agent("labels").await;
    // The server has v1 and v2 of its own.
    let r = api
        .admin(
            "PATCH",
            &format!("/v1/agents/{agent}"),
            Some(json!({"system_prompt": "You help, briefly."})),
        )
        .await;
    assert_eq!(r.body["config_version"], "v2", "{}", r.body);

    // The example's history, labelled v1 and v2 by its runtime.
    let lines = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/support-bot/interactions.jsonl"
    ))
    .expect("example data");
    let all: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("example line"))
        .collect();
    let mut items: Vec<Value> = ["v1", "v2"]
        .iter()
        .flat_map(|label| {
            all.iter()
                .filter(move |i| i["config_version"] == *label)
                .take(100)
                .cloned()
        })
        .collect();
    let labels: std::collections::BTreeSet<String> = items
        .iter()
        .filter_map(|i| i["config_version"].as_str().map(str::to_string))
        .collect();
    assert_eq!(labels.len(), 2, "the sample holds both labels: {labels:?}");
    // One reported back after resolving its config from the server, one with
    // no version at all (served by the live one), one naming a version the
    // server never had.
    let mut reported = interaction("reported", "2026-11-20T10:00:00Z");
    reported["agent_version"] = json!("v1");
    reported["config_version"] = json!("runtime-7");
    items.push(reported);
    items.push(interaction("unversioned", "2026-11-20T11:00:00Z"));
    let mut wrong = interaction("wrong", "2026-11-20T12:00:00Z");
    wrong["agent_version"] = json!("v9");
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions"),
            Some(wrong),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some("agent_version"));
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": [{"timestamp": "2026-11-20T12:00:00Z", "messages": [], "agent_version": "2"}]})),
        )
        .await;
    assert_problem(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("interactions[0].agent_version"),
    );
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": items})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let first = items[0]["id"].as_str().expect("id");
    let label = items[0]["config_version"].as_str().expect("label");
    let r = api
        .admin(
            "GET",
            &format!("/v1/agents/{agent}/interactions/{first}"),
            None,
        )
        .await;
    assert_eq!(r.body["config_version"], format!("client:{label}"));
    assert_eq!(
        r.body["interaction"]["config_version"], label,
        "the body keeps the label as sent"
    );
    for (id, version) in [("reported", "v1"), ("unversioned", "v2")] {
        let r = api
            .admin(
                "GET",
                &format!("/v1/agents/{agent}/interactions/{id}"),
                None,
            )
            .await;
        assert_eq!(r.body["config_version"], version, "{id}");
    }

    let (_, dream) = dream_now(&api, dreamer(&api, 1), &agent).await;
    assert_eq!(dream["status"], "completed", "{}", dream["error"]);
    let versions: Vec<&str> = dream["report"]["metrics"]["by_config_version"]
        .as_array()
        .expect("by_config_version")
        .iter()
        .filter_map(|v| v["version"].as_str())
        .collect();
    let mut expected: Vec<String> = labels.iter().map(|l| format!("client:{l}")).collect();
    expected.extend(["v1".to_string(), "v2".to_string()]);
    let mut sorted = versions.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "{versions:?}");
}

/// A dream asked for over the API runs the same cycle as `reverie dream`, over
/// the store's window; too little data is `skipped`, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dream_runs_over_the_stored_window_and_reports() {
    a_dream_runs_over_the_stored_window_and_reports_on(&Api::new()).await;
}

/// The same dreams, their windows and reports, on PostgreSQL.
#[test]
fn a_dream_runs_over_the_stored_window_and_reports_on_postgres() {
    on_postgres(|api| Box::pin(a_dream_runs_over_the_stored_window_and_reports_on(api)));
}

async fn a_dream_runs_over_the_stored_window_and_reports_on(api: &Api) {
    let agent = api.agent("dreamer").await;
    let lines = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/support-bot/interactions.jsonl"
    ))
    .expect("example data");
    let items: Vec<Value> = lines
        .lines()
        .take(400)
        .map(|l| serde_json::from_str(l).expect("example line"))
        .collect();
    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/interactions/batch"),
            Some(json!({"interactions": items})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let r = api
        .admin(
            "POST",
            &format!("/v1/agents/{agent}/dreams"),
            Some(json!({"since": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let dream_id = r.body["id"].as_str().expect("id").to_string();

    let dreamer = dreamer(api, 10);
    let run = |dreamer: crate::dreams::Dreamer, id: String| {
        tokio::task::spawn_blocking(move || {
            let ran = dreamer.run_next().expect("store").expect("a dream to run");
            assert_eq!(ran, crate::dreams::Ran { id, stored: true });
            dreamer
        })
    };
    let dreamer = run(dreamer, dream_id.clone()).await.expect("join");
    let r = api
        .admin("GET", &format!("/v1/dreams/{dream_id}"), None)
        .await;
    assert_eq!(r.body["status"], "completed", "{}", r.body["error"]);
    assert_eq!(r.body["report"]["schema"], "reverie.report/v2");
    assert_eq!(r.body["report"]["window"]["interactions"], 400);
    assert!(
        !r.body["report"]["problems"]
            .as_array()
            .expect("problems")
            .is_empty()
    );
    assert!(
        r.body["report"]["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .all(|rule| rule["status"] == "ok"),
        "{}",
        r.body["report"]["rules"]
    );
    assert_eq!(r.body["summary"]["interactions"], 400);

    // Nothing new since: the next dream is skipped, and says why.
    let r = api
        .admin("POST", &format!("/v1/agents/{agent}/dreams"), None)
        .await;
    let next = r.body["id"].as_str().expect("id").to_string();
    run(dreamer, next.clone()).await.expect("join");
    let r = api.admin("GET", &format!("/v1/dreams/{next}"), None).await;
    assert_eq!(r.body["status"], "skipped");
    assert!(
        r.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not enough data")),
        "{}",
        r.body
    );
    let list = api
        .admin("GET", &format!("/v1/agents/{agent}/dreams?limit=1"), None)
        .await;
    assert_eq!(list.body["data"][0]["id"], next.as_str(), "newest first");
    assert_eq!(list.body["has_more"], true);
}

/// The agent shows when it next dreams, and that follows its switch, frequency
/// and time zone; schedules are checked strictly.
#[tokio::test]
async fn an_agent_shows_its_next_run_and_it_follows_its_schedule() {
    let api = Api::new();
    let r = api
        .admin(
            "POST",
            "/v1/agents",
            Some(json!({
                "name": "weekly", "model": "m", "dreaming_frequency": "weekly",
                "timezone": "Europe/Berlin", "min_new_interactions": 25
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    assert_eq!(r.body["min_new_interactions"], 25);
    let next = |body: &Value| {
        body["next_run_at"].as_str().map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .expect("a time")
                .with_timezone(&chrono_tz::Europe::Berlin)
        })
    };
    let first = next(&r.body).expect("a weekly agent has a next run");
    assert_eq!(first.format("%a %H").to_string(), "Mon 03", "{first}");
    assert!(
        chrono::Timelike::minute(&first) < 5,
        "jitter under 5 min: {first}"
    );
    let got = api.admin("GET", &format!("/v1/agents/{id}"), None).await;
    assert_eq!(
        got.body["next_run_at"], r.body["next_run_at"],
        "stored as shown"
    );

    let path = format!("/v1/agents/{id}");
    let off = api
        .admin("PATCH", &path, Some(json!({"dreaming_enabled": false})))
        .await;
    assert_eq!(off.body["next_run_at"], Value::Null);
    let on = api
        .admin(
            "PATCH",
            &path,
            Some(json!({"dreaming_enabled": true, "dreaming_frequency": "0 9 * * MON-FRI", "min_new_interactions": null})),
        )
        .await;
    let weekday = next(&on.body).expect("scheduled again");
    assert_eq!(weekday.format("%H").to_string(), "09");
    assert!(!matches!(
        weekday.format("%a").to_string().as_str(),
        "Sat" | "Sun"
    ));
    assert_eq!(
        on.body["min_new_interactions"],
        Value::Null,
        "back to the server default"
    );

    for (body, field, says) in [
        (
            json!({"dreaming_frequency": "0 3 * *"}),
            "dreaming_frequency",
            "expected 5, 6 or 7 fields",
        ),
        (
            json!({"dreaming_frequency": "0 3 * * FUN"}),
            "dreaming_frequency",
            "FUN",
        ),
        (
            json!({"dreaming_frequency": "0 0 0 L * ?"}),
            "dreaming_frequency",
            "not supported",
        ),
        (json!({"timezone": "GMT+2"}), "timezone", "IANA"),
        (
            json!({"min_new_interactions": -1}),
            "min_new_interactions",
            "",
        ),
    ] {
        let r = api.admin("PATCH", &path, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        let text = r.body.to_string();
        assert!(
            text.contains(field) && text.contains(says),
            "{body}: {text}"
        );
    }
}
