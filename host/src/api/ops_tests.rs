//! What an operator sees of the API, driven through the router without a
//! socket: the request log line, `/metrics` in each access mode, and rate
//! limits per key.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::metrics_endpoint::MetricsEndpoint;
use super::openapi_check::assert_conforms;
use super::ratelimit::RateLimitConfig;
use super::*;
use crate::store::sqlite::SqliteStore;
use crate::telemetry::logs::{self, LogFormat, capture};
use crate::telemetry::metrics::sample;

struct Ops {
    _dir: tempfile::TempDir,
    state: AppState,
    admin: String,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    retry_after: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.status, self.text))
    }
}

impl Ops {
    fn new(metrics: MetricsEndpoint, rate_limit: Option<RateLimitConfig>) -> Ops {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
        let (key, admin) = auth::new_key("admin", None, 0).expect("random");
        store.create_api_key(&key, None).expect("admin key");
        let state = AppState::new(
            store,
            None,
            DEFAULT_BODY_LIMIT,
            crate::server::policy_of(&crate::config::SchedulerConfig::default()),
        )
        .with_metrics_endpoint(metrics)
        .with_rate_limit(rate_limit);
        Ops {
            _dir: dir,
            state,
            admin,
        }
    }

    fn key(&self, agent_id: Option<&str>) -> (String, String) {
        let (key, token) =
            auth::new_key("another", agent_id.map(str::to_string), 0).expect("random");
        self.state
            .store()
            .create_api_key(&key, None)
            .expect("store the key");
        (key.id, token)
    }

    async fn call(&self, method: &str, uri: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let raw = super::test_client::send(&self.state, method, uri, key, body, &[]).await;
        let (status, bytes) = (raw.status, raw.bytes.clone());
        let content_type = raw.header("content-type").unwrap_or_default();
        let retry_after = raw.header("retry-after");
        Reply {
            status,
            content_type,
            retry_after,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn agent(&self) -> String {
        let r = self
            .call(
                "POST",
                "/v1/agents",
                Some(&self.admin),
                Some(json!({"name": "bot", "model": "m", "dreaming_enabled": false})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().expect("id").to_string()
    }

    async fn metrics(&self) -> String {
        let r = self.call("GET", "/metrics", Some(&self.admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.text
    }
}

fn key_id(token: &str) -> String {
    let body = token
        .strip_prefix("rvk_")
        .and_then(|t| t.split('_').next())
        .expect("a token");
    format!("key_{body}")
}

#[tokio::test]
async fn a_request_line_names_the_route_template_status_and_key_never_the_secret() {
    let ops = Ops::new(MetricsEndpoint::Key, None);
    let agent = ops.agent().await;
    let json_lines = capture::Buffer::default();
    let text_lines = capture::Buffer::default();
    for (format, buffer) in [
        (LogFormat::Json, &json_lines),
        (LogFormat::Text, &text_lines),
    ] {
        let subscriber = logs::subscriber(
            format,
            tracing_subscriber::EnvFilter::new("info"),
            buffer.clone(),
            false,
        );
        // This test's thread only: the router runs here (a current-thread runtime).
        let _guard = capture::scoped(subscriber);
        let r = ops
            .call(
                "GET",
                &format!("/v1/agents/{agent}"),
                Some(&ops.admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = ops
            .call("GET", "/v1/agents/agt_nobody", Some(&ops.admin), None)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = ops
            .call("GET", "/v1/agents", Some("rvk_forged"), None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }

    let secret = ops.admin.rsplit('_').next().expect("the secret part");
    for text in [json_lines.text(), text_lines.text()] {
        assert!(
            !text.contains(secret) && !text.contains(&ops.admin),
            "a log holds the key's secret:\n{text}"
        );
        assert!(
            !text.to_ascii_lowercase().contains("bearer"),
            "a log holds the Authorization header:\n{text}"
        );
        assert!(!text.contains(&agent), "ids stay out of the route:\n{text}");
    }

    let lines: Vec<Value> = json_lines
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|l: &Value| l["message"] == "request")
        .collect();
    assert_eq!(lines.len(), 3, "one line per request: {lines:?}");
    let (ok, missing, refused) = (&lines[0], &lines[1], &lines[2]);
    assert_eq!(ok["target"], "reverie::http");
    assert_eq!(ok["level"], "INFO");
    assert_eq!(ok["method"], "GET");
    assert_eq!(ok["route"], "/v1/agents/{agent_id}");
    assert_eq!(ok["status"], 200);
    assert!(
        ok["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{ok}"
    );
    assert_eq!(ok["key_id"], key_id(&ops.admin).as_str());
    assert_eq!(missing["route"], "/v1/agents/{agent_id}");
    assert_eq!(missing["status"], 404);
    assert_eq!(refused["route"], "/v1/agents");
    assert_eq!(refused["status"], 401);
    assert!(
        refused.get("key_id").is_none(),
        "no key was proven: {refused}"
    );

    let text = text_lines.text();
    let line = text
        .lines()
        .find(|l| l.contains("status=200"))
        .unwrap_or_else(|| panic!("no text request line:\n{text}"));
    for needle in [
        " INFO ",
        "reverie::http",
        "route=/v1/agents/{agent_id}",
        "method=GET",
        "duration_ms=",
        &format!("key_id={}", key_id(&ops.admin)),
    ] {
        assert!(line.contains(needle), "{needle:?} missing from {line}");
    }
}

#[tokio::test]
async fn unknown_paths_are_one_route_in_logs_and_metrics() {
    let ops = Ops::new(MetricsEndpoint::Key, None);
    let before = ops.metrics().await;
    for n in 0..3 {
        let r = ops.call("GET", &format!("/nowhere/{n}"), None, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let after = ops.metrics().await;
    let unmatched = "method=\"GET\",route=\"unmatched\",status=\"404\"";
    assert!(
        sample::value(&after, "reverie_http_requests_total", unmatched)
            - sample::value(&before, "reverie_http_requests_total", unmatched)
            >= 3.0
    );
    assert!(!after.contains("/nowhere/"), "a raw path became a series");
}

#[tokio::test]
async fn metrics_count_requests_and_dreams_and_read_the_queues() {
    let ops = Ops::new(MetricsEndpoint::Open, None);
    let agent = ops.agent().await;
    let before = ops.metrics().await;

    // Two dreams asked for; one is run (and skipped: the agent has no data).
    let dreams = format!("/v1/agents/{agent}/dreams");
    for _ in 0..2 {
        let r = ops.call("POST", &dreams, Some(&ops.admin), None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let page = ops.call("GET", &dreams, Some(&ops.admin), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = ops.call("GET", "/metrics", None, None).await.text;
    assert_eq!(sample::value(&text, "reverie_dreams_pending", ""), 2.0);
    assert_eq!(sample::value(&text, "reverie_dreams_running", ""), 0.0);
    assert_eq!(
        sample::value(&text, "reverie_webhook_deliveries_pending", ""),
        0.0
    );

    let dreamer = crate::dreams::Dreamer::new(
        ops.state.store().clone(),
        Arc::new(crate::catalog::Catalog::new(
            crate::plugins::Runtime::new(None).expect("runtime"),
            crate::config::Config::default_with(&[]),
        )),
        10,
        Arc::new(crate::clock::SystemClock),
        crate::dreams::Leases {
            owner: "test-worker".into(),
            lease_ms: 60_000,
            max_attempts: 3,
        },
    );
    tokio::task::spawn_blocking(move || dreamer.run_next().expect("store").expect("a dream"))
        .await
        .expect("join");

    let after = ops.call("GET", "/metrics", None, None).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(
        after.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let after = after.text;
    let moved = |name: &str, labels: &str| {
        sample::value(&after, name, labels) - sample::value(&before, name, labels)
    };
    // The registry is the process's: other tests add to it, so "at least".
    let created = "method=\"POST\",route=\"/v1/agents/{agent_id}/dreams\",status=\"202\"";
    assert!(
        moved("reverie_http_requests_total", created) >= 2.0,
        "{after}"
    );
    assert!(moved("reverie_http_request_duration_seconds_count", created) >= 2.0);
    let listed = "method=\"GET\",route=\"/v1/agents/{agent_id}/dreams\",status=\"200\"";
    assert!(moved("reverie_http_requests_total", listed) >= 1.0);
    assert!(moved("reverie_dreams_total", "outcome=\"skipped\"") >= 1.0);
    assert!(
        moved(
            "reverie_dream_duration_seconds_count",
            "outcome=\"skipped\""
        ) >= 1.0
    );
    // This store's queues exactly: one dream run, one still waiting.
    assert_eq!(sample::value(&after, "reverie_dreams_pending", ""), 1.0);
    assert!(after.contains("reverie_build_info{version=\""), "{after}");
}

#[tokio::test]
async fn the_metrics_endpoint_is_off_open_or_behind_an_admin_key() {
    // off: as if there were no such route.
    let off = Ops::new(MetricsEndpoint::Off, None);
    let r = off.call("GET", "/metrics", Some(&off.admin), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let unknown = off.call("GET", "/nothing-here", None, None).await;
    assert_eq!(r.json()["type"], unknown.json()["type"]);
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("no route"))
    );
    assert_conforms("GET", "/metrics", 404, &r.json());

    // open: no key needed.
    let open = Ops::new(MetricsEndpoint::Open, None);
    let r = open.call("GET", "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("# TYPE reverie_http_requests counter"),
        "{}",
        r.text
    );
    assert!(r.text.ends_with("# EOF\n"));

    // key (the default): an admin key, and nothing less.
    let key = Ops::new(MetricsEndpoint::default(), None);
    let r = key.call("GET", "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_conforms("GET", "/metrics", 401, &r.json());
    let r = key.call("GET", "/metrics", Some("rvk_forged"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let agent = key.agent().await;
    let (_, scoped) = key.key(Some(&agent));
    let r = key.call("GET", "/metrics", Some(&scoped), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_conforms("GET", "/metrics", 403, &r.json());
    let r = key.call("GET", "/metrics", Some(&key.admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("reverie_dreams_pending 0"), "{}", r.text);
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_others_are_not_held_up() {
    let ops = Ops::new(
        MetricsEndpoint::Key,
        Some(RateLimitConfig {
            requests_per_second: 1.0,
            burst: 3,
        }),
    );
    let (other_id, other) = ops.key(None);
    let admin = ops.admin.clone();

    // Forged secrets for the admin key's id are refused before any token is taken.
    let forged = format!(
        "{}_{}",
        admin.rsplit_once('_').expect("token").0,
        "0".repeat(64)
    );
    for _ in 0..10 {
        let r = ops.call("GET", "/v1/agents", Some(&forged), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }

    for n in 0..3 {
        let r = ops.call("GET", "/v1/agents", Some(&admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "request {n} of the burst");
    }
    let limited = ops.call("GET", "/v1/agents", Some(&admin), None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.content_type, "application/problem+json");
    assert_eq!(limited.retry_after.as_deref(), Some("1"));
    let problem = limited.json();
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_conforms("GET", "/v1/agents", 429, &problem);
    // Any route of the key, including writes.
    let r = ops
        .call(
            "POST",
            "/v1/agents",
            Some(&admin),
            Some(json!({"name": "x", "model": "m"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // Another key has its own bucket; open routes and /metrics are not limited.
    let r = ops.call("GET", "/v1/agents", Some(&other), None).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{other_id} is held up by another key"
    );
    assert_eq!(
        ops.call("GET", "/healthz", None, None).await.status,
        StatusCode::OK
    );
    assert!(!ops.metrics().await.is_empty());

    // After the wait Retry-After gave, the key gets through again.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let r = ops.call("GET", "/v1/agents", Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn without_a_rate_limit_a_key_is_never_refused() {
    let ops = Ops::new(MetricsEndpoint::Key, None);
    for _ in 0..200 {
        let r = ops.call("GET", "/healthz", None, None).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = ops.call("GET", "/v1/agents", Some(&ops.admin), None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
}
