//! What an operator sees of a real `reverie serve`: its log lines on stderr (JSON with
//! `--log-format json`, text by default), `/metrics` scraped over HTTP, and rate limits.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::server::Server;
use crate::common::{fixture_rule, interaction};

/// How long a dream of the standard dataset may take on the server.
const DREAM_LIMIT: Duration = Duration::from_secs(120);

fn key_id(token: &str) -> String {
    let body = token
        .strip_prefix("rvk_")
        .and_then(|t| t.split('_').next())
        .expect("a token");
    format!("key_{body}")
}

/// The value of the sample `name{labels}` in a scrape, if there is one.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// Wait until stderr has a line for which `found` holds; every line so far, parsed.
fn json_lines_until(server: &Server, what: &str, found: impl Fn(&Value) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let text = server.stderr();
        let lines: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}\nall:\n{text}"))
            })
            .collect();
        if lines.iter().any(&found) {
            return lines;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no log line {what} within 10 s; stderr:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn json_logs_and_metrics_follow_requests_and_a_dream_with_a_failing_rule() {
    let config = format!(
        "[metrics]\nendpoint = \"open\"\n\n{}[[rules]]\nbuiltin = \"tool-failures\"\n",
        fixture_rule("loop-forever", "fuel = 1_000_000")
    );
    let server = Server::start_with_args(Some(&config), &["--log-format", "json"]);
    let agent = server.create_agent("ops-bot");
    let items: Vec<Value> = (1..=36).map(interaction).collect();
    server
        .post(
            &format!("/v1/agents/{agent}/interactions/batch"),
            &json!({ "interactions": items }),
        )
        .expect(201);
    let dream = server
        .request("POST", &format!("/v1/agents/{agent}/dreams"))
        .send()
        .expect(202)["id"]
        .as_str()
        .expect("a dream id")
        .to_string();
    let started = Instant::now();
    loop {
        let body = server.get(&format!("/v1/dreams/{dream}")).expect(200);
        match body["status"].as_str() {
            Some("pending" | "running") => {}
            Some("completed") => break,
            other => panic!("the dream ended {other:?}:\n{body:#}"),
        }
        assert!(started.elapsed() < DREAM_LIMIT, "the dream did not finish");
        std::thread::sleep(Duration::from_millis(200));
    }

    // ---- /metrics, scraped without a key (`open`)
    let scrape = server.request("GET", "/metrics").no_key().send();
    assert_eq!(scrape.status, 200, "{}", scrape.text);
    assert!(
        scrape
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        scrape.header("content-type")
    );
    let text = &scrape.text;
    for (name, labels, want) in [
        ("reverie_dreams_total", "outcome=\"completed\"", 1.0),
        ("reverie_dreams_total", "outcome=\"failed\"", 0.0),
        (
            "reverie_dream_duration_seconds_count",
            "outcome=\"completed\"",
            1.0,
        ),
        ("reverie_rule_failures_total", "kind=\"out_of_fuel\"", 1.0),
        (
            "reverie_http_requests_total",
            "method=\"POST\",route=\"/v1/agents/{agent_id}/dreams\",status=\"202\"",
            1.0,
        ),
        (
            "reverie_http_requests_total",
            "method=\"POST\",route=\"/v1/agents/{agent_id}/interactions/batch\",status=\"201\"",
            1.0,
        ),
        (
            "reverie_http_request_duration_seconds_count",
            "method=\"POST\",route=\"/v1/agents\",status=\"201\"",
            1.0,
        ),
        ("reverie_dreams_pending", "", 0.0),
        ("reverie_dreams_running", "", 0.0),
        ("reverie_webhook_deliveries_pending", "", 0.0),
    ] {
        assert_eq!(
            sample(text, name, labels),
            Some(want),
            "{name}{{{labels}}} in:\n{text}"
        );
    }
    let polled = sample(
        text,
        "reverie_http_requests_total",
        "method=\"GET\",route=\"/v1/dreams/{dream_id}\",status=\"200\"",
    )
    .expect("the polls of the dream are counted");
    assert!(polled >= 1.0);
    assert!(
        !text.contains(&dream) && !text.contains(&agent),
        "an id became a label"
    );

    // ---- the log: one JSON object per line
    let lines = json_lines_until(&server, "\"dream completed\"", |l| {
        l["message"] == "dream completed"
    });
    let asked = lines
        .iter()
        .find(|l| {
            l["message"] == "request"
                && l["method"] == "POST"
                && l["route"] == "/v1/agents/{agent_id}/dreams"
        })
        .expect("a request line for the dream");
    assert_eq!(asked["status"], 202);
    assert_eq!(asked["target"], "reverie::http");
    assert_eq!(asked["key_id"], key_id(server.admin_key()).as_str());
    assert!(asked["duration_ms"].is_number(), "{asked}");
    let scraped = lines
        .iter()
        .find(|l| l["message"] == "request" && l["route"] == "/metrics")
        .expect("the scrape is a request too");
    assert_eq!(scraped["status"], 200);
    assert!(scraped.get("key_id").is_none(), "open: no key: {scraped}");

    let completed = lines
        .iter()
        .find(|l| l["message"] == "dream completed")
        .expect("checked above");
    assert_eq!(completed["span"]["dream_id"], dream.as_str(), "{completed}");
    assert_eq!(completed["span"]["agent_id"], agent.as_str());
    assert_eq!(completed["outcome"], "completed");
    assert_eq!(completed["interactions"], 36);
    assert!(completed["duration_ms"].is_number());
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "dream claimed" && l["span"]["dream_id"] == dream.as_str()),
        "no claim line"
    );
    let failed = lines
        .iter()
        .find(|l| l["message"] == "rule failed")
        .expect("a line for the rule that ran out of fuel");
    assert_eq!(failed["kind"], "out_of_fuel");
    assert_eq!(failed["rule"], "loop-forever");

    let stderr = server.stderr();
    let secret = server.admin_key().rsplit('_').next().expect("a secret");
    assert!(
        !stderr.contains(secret),
        "the admin key's secret is in the log"
    );
    assert!(
        server
            .startup_lines()
            .iter()
            .any(|l| l.starts_with("reverie: listening on http://")),
        "the address is still announced on stdout"
    );
}

#[test]
fn metrics_need_an_admin_key_by_default_and_a_key_over_its_rate_is_told_when_to_retry() {
    let server = Server::start_with(Some("[rate_limit]\nrequests_per_second = 1\nburst = 2\n"));

    // `key`, the default: no key, 401; the admin key, the scrape.
    let refused = server.request("GET", "/metrics").no_key().send();
    refused.problem(401);
    let scrape = server.get("/metrics");
    assert_eq!(scrape.status, 200, "{}", scrape.text);
    assert_eq!(
        sample(
            &scrape.text,
            "reverie_http_requests_total",
            "method=\"GET\",route=\"/metrics\",status=\"401\""
        ),
        Some(1.0),
        "{}",
        scrape.text
    );

    // The admin key's burst of 2 (the scrape is not limited): a second key, one list.
    let other = server
        .post("/v1/api-keys", &json!({"name": "ci"}))
        .expect(201)["key"]
        .as_str()
        .expect("the new key")
        .to_string();
    server.get("/v1/agents").expect(200);
    let limited = server.get("/v1/agents");
    let problem = limited.problem(429);
    assert_eq!(problem["type"], "/problems/rate-limited");
    let wait: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    // The other key is not held up.
    server
        .request("GET", "/v1/agents")
        .key(&other)
        .send()
        .expect(200);
    std::thread::sleep(Duration::from_secs(wait) + Duration::from_millis(50));
    server.get("/v1/agents").expect(200);

    // The default log format is text for people, one line per request.
    let stderr = server.stderr();
    assert!(
        stderr.lines().any(|l| l.contains("reverie::http")
            && l.contains("route=/v1/agents")
            && l.contains("status=429")),
        "no text request line for the 429:\n{stderr}"
    );
}
