//! Retention against a real SQLite file, with time moved by hand.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;
use crate::store::sqlite::SqliteStore;
use crate::store::traits::*;
use crate::store::{
    Attempt, AttemptOutcome, DeliveryStatus, Dream, DreamOutcome, DreamSummary, Endpoint,
    IdempotencyRecord, OutboxEvent, PageRequest, contract,
};

const DAY_MS: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
const T0: i64 = 1_793_491_200_000;

fn parse(text: &str) -> Result<crate::config::Config, crate::config::ConfigError> {
    crate::config::Config::parse(
        text,
        Path::new("/etc/reverie/reverie.toml"),
        &["corrections"],
    )
}

#[test]
fn retention_is_configured_strictly_with_days_and_bounds() {
    let config =
        parse("[retention]\nidempotency = \"2h\"\nrun_logs = \"7d\"\nbatch = 50\n").expect("valid");
    assert_eq!(config.retention.idempotency, Duration::from_secs(7200));
    assert_eq!(config.retention.run_logs, 7 * DAY);
    assert_eq!(config.retention.batch, 50);
    assert_eq!(config.retention.deliveries, 30 * DAY, "default");
    for (text, names) in [
        (
            "idempotency = \"10m\"",
            "retention.idempotency must be between 1h and 3650d",
        ),
        (
            "run_logs = \"3651d\"",
            "retention.run_logs must be between 1h and 3650d",
        ),
        ("events = \"30\"", "retention.events"),
        (
            "every = \"5s\"",
            "retention.every must be between 1m and 1d",
        ),
        ("batch = 0", "retention.batch must be between 1 and 10000"),
        ("dead_letter = \"1d\"", "dead_letter"),
    ] {
        let err = parse(&format!("[retention]\n{text}\n")).expect_err(text);
        assert!(err.to_string().contains(names), "{text}: {err}");
    }
}

/// A report as a dream stores it, with two rules that logged and printed.
fn report_with_logs() -> String {
    let mut report: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/golden/support-bot.report.json"
    ))
    .expect("the golden report");
    for rule in report["rules"].as_array_mut().expect("rules") {
        rule["log"] = serde_json::json!([
            {"level": "info", "message": "scanned the window", "fields": [["chunks", "3"]]},
            {"level": "warn", "message": "a long line of raw detail"}
        ]);
        rule["log_lines_dropped"] = serde_json::json!(5);
        rule["output"] = serde_json::json!("stdout of the rule\n");
        // The golden file blanks digests out; a stored report has real ones.
        rule["digest"] = serde_json::json!("ab".repeat(32));
    }
    report.to_string()
}

#[test]
fn stripping_run_logs_keeps_every_other_field_and_a_valid_report() {
    let report = report_with_logs();
    let stripped = strip_run_logs(&report).expect("a report");
    let before: serde_json::Value = serde_json::from_str(&report).expect("json");
    let after: serde_json::Value = serde_json::from_str(&stripped).expect("json");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/report.v2.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&after)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the stripped report breaks its schema: {errors:?}"
    );
    for key in [
        "summary",
        "problems",
        "suggestions",
        "metrics",
        "candidate_prompt",
        "window",
    ] {
        assert_eq!(before[key], after[key], "{key} changed");
    }
    for rule in after["rules"].as_array().expect("rules") {
        assert_eq!(rule["log"], serde_json::json!([]));
        assert_eq!(rule["output"], serde_json::Value::Null);
        assert_eq!(rule["log_lines_dropped"], 7, "the swept lines are counted");
        assert!(rule["duration_ms"].is_number() && rule["status"] == "ok");
    }
    assert!(stripped.len() < report.len());
    assert_eq!(strip_run_logs("not json"), None);
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    clock: ManualClock,
    agent: String,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("open"));
        let agent = contract::agent("kept tidy");
        store.create_agent(&agent, None, None).expect("agent");
        store
            .create_endpoint(
                &Endpoint {
                    id: "whe_1".into(),
                    agent_id: agent.id.clone(),
                    url: "https://receiver.example.com/hook".into(),
                    secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0".into(),
                    previous_secret: None,
                    previous_expires_ms: None,
                    events: vec!["*".into()],
                    source: "api".into(),
                    created_at_ms: T0,
                    disabled_at_ms: None,
                    disabled_reason: None,
                    failing_since_ms: None,
                },
                None,
            )
            .expect("endpoint");
        World {
            _dir: dir,
            store,
            clock: ManualClock::new(T0),
            agent: agent.id,
        }
    }

    fn sweeper(&self) -> Sweeper {
        Sweeper::new(
            self.store.clone(),
            Arc::new(self.clock.clone()),
            RetentionConfig::default(),
        )
    }

    /// A dream that completes at `at` with a report holding run logs; its
    /// event's delivery is then sent once with `outcome`. The delivery's id.
    fn dream(&self, id: &str, at: i64, outcome: AttemptOutcome) -> String {
        let dream = Dream {
            id: id.into(),
            ..Dream::pending(&self.agent, "api", at, at)
        };
        self.store.create_dream(&dream, None, None).expect("dream");
        let claimed = self
            .store
            .claim_dream("worker", at, 60_000, 3)
            .expect("claim")
            .expect("a dream to claim");
        assert_eq!(claimed.id, id);
        let finished = self
            .store
            .finish_dream(
                id,
                "worker",
                &DreamOutcome::Completed {
                    summary: DreamSummary {
                        text: format!("summary of {id}"),
                        interactions: 12,
                        problems: 2,
                        suggestions: 1,
                    },
                    report: report_with_logs(),
                    window_start_ms: None,
                    window_end_ms: at,
                },
                &[OutboxEvent {
                    id: format!("evt_{id}"),
                    event_type: "dreaming_report".into(),
                    data: "{}".into(),
                }],
                at,
            )
            .expect("finish");
        assert!(finished);
        let due = self
            .store
            .claim_deliveries("sender", at, 60_000, 10)
            .expect("claim deliveries");
        assert_eq!(due.len(), 1);
        let delivery = due[0].delivery.id.clone();
        let recorded = self
            .store
            .record_attempt(
                &delivery,
                "sender",
                &Attempt {
                    n: 1,
                    at_ms: at,
                    status: Some(500),
                    error: None,
                    duration_ms: 12,
                },
                &outcome,
                None,
                &[],
            )
            .expect("attempt");
        assert!(recorded);
        delivery
    }

    fn idempotency(&self, key: &str, at: i64) {
        let agent = contract::agent(key);
        let record = IdempotencyRecord {
            principal: "key_admin".into(),
            key: key.into(),
            request_hash: vec![1, 2, 3],
            status: 201,
            body: "{}".into(),
            created_at_ms: at,
        };
        self.store
            .create_agent(&agent, None, Some(&record))
            .expect("agent with an idempotency key");
    }

    fn count(&self, sql: &str) -> i64 {
        rusqlite::Connection::open(self.store.path())
            .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
            .expect(sql)
    }
}

#[test]
fn old_records_go_newer_ones_and_pending_deliveries_stay_and_reports_stay_listed() {
    let w = World::new();
    let delivered = w.dream("drm_1", T0, AttemptOutcome::Delivered);
    let dead = w.dream("drm_2", T0 + 1, AttemptOutcome::Dead);
    // A retry still to come, of an event as old as the others.
    let retrying = w.dream(
        "drm_3",
        T0 + 2,
        AttemptOutcome::Retry {
            at_ms: T0 + 400 * DAY_MS,
        },
    );
    let recent = w.dream("drm_4", T0 + 60 * DAY_MS, AttemptOutcome::Delivered);
    w.idempotency("old-key", T0);
    w.idempotency("new-key", T0 + 31 * DAY_MS - 3_600_000);

    // 31 days on: deliveries, dead letters, their attempts and events past 30 days go.
    w.clock.set(T0 + 31 * DAY_MS);
    let swept = w.sweeper().sweep(&|| false).expect("sweep");
    assert_eq!(
        swept,
        Swept {
            idempotency: 1,
            deliveries: 1,
            dead_letters: 1,
            attempts: 2,
            events: 2,
            run_logs: 0,
        },
        "{swept}"
    );
    for gone in [&delivered, &dead] {
        assert!(
            w.store.get_delivery(gone).expect("get").is_none(),
            "{gone} stayed"
        );
        assert!(
            w.store
                .delivery_attempts(gone)
                .expect("attempts")
                .is_empty()
        );
    }
    let pending = w
        .store
        .get_delivery(&retrying)
        .expect("get")
        .expect("a pending delivery stays");
    assert_eq!(pending.status, DeliveryStatus::Pending);
    assert_eq!(
        w.store
            .delivery_attempts(&retrying)
            .expect("attempts")
            .len(),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_drm_3'"),
        1,
        "the event a pending delivery needs stays"
    );
    assert!(w.store.get_delivery(&recent).expect("get").is_some());
    assert!(
        w.store
            .get_idempotency("key_admin", "old-key")
            .expect("get")
            .is_none()
    );
    assert!(
        w.store
            .get_idempotency("key_admin", "new-key")
            .expect("get")
            .is_some()
    );
    assert_eq!(
        w.sweeper().sweep(&|| false).expect("again"),
        Swept::default(),
        "a second sweep finds nothing"
    );

    // 91 days on: the run logs of the three old dreams go; their reports stay listed.
    w.clock.set(T0 + 91 * DAY_MS);
    let swept = w.sweeper().sweep(&|| false).expect("sweep");
    assert_eq!(swept.run_logs, 3, "{swept}");
    assert!(
        w.store.get_delivery(&retrying).expect("get").is_some(),
        "still pending"
    );
    let page = w
        .store
        .list_dreams(
            &w.agent,
            &PageRequest {
                limit: 10,
                after: None,
            },
        )
        .expect("list");
    assert_eq!(page.items.len(), 4, "every dream is still listed");
    for listed in &page.items {
        assert_eq!(
            listed.summary.as_ref().map(|s| s.text.as_str()),
            Some(format!("summary of {}", listed.id).as_str())
        );
    }
    let swept_dream = w.store.get_dream("drm_1").expect("get").expect("drm_1");
    assert_eq!(swept_dream.logs_swept_at_ms, Some(T0 + 91 * DAY_MS));
    let report: serde_json::Value =
        serde_json::from_str(swept_dream.report.as_deref().expect("the report stays"))
            .expect("json");
    assert!(report["problems"].as_array().is_some_and(|p| !p.is_empty()));
    assert!(
        report["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .all(|r| r["log"] == serde_json::json!([]))
    );
    let kept = w.store.get_dream("drm_4").expect("get").expect("drm_4");
    assert_eq!(
        kept.logs_swept_at_ms, None,
        "a dream of 31 days keeps its logs"
    );
    assert!(
        kept.report
            .as_deref()
            .is_some_and(|r| r.contains("scanned the window"))
    );
}

#[test]
fn an_agents_latest_event_stays_so_its_sequence_carries_on() {
    let w = World::new();
    w.dream("drm_1", T0, AttemptOutcome::Delivered);
    w.dream("drm_2", T0 + 1, AttemptOutcome::Delivered);
    w.clock.set(T0 + 365 * DAY_MS);
    let swept = w.sweeper().sweep(&|| false).expect("sweep");
    assert_eq!((swept.deliveries, swept.events), (2, 1), "{swept}");
    w.dream("drm_3", T0 + 365 * DAY_MS, AttemptOutcome::Delivered);
    assert_eq!(
        w.count("SELECT seq FROM webhook_events WHERE id = 'evt_drm_3'"),
        3,
        "the sequence started over after a sweep"
    );
}

#[test]
fn a_backlog_goes_in_batches_and_a_stop_ends_the_sweep_between_two() {
    let w = World::new();
    for i in 0..25 {
        w.idempotency(&format!("k{i}"), T0);
    }
    w.clock.set(T0 + 2 * DAY_MS);
    let small = RetentionConfig {
        batch: 10,
        ..RetentionConfig::default()
    };
    let sweeper = Sweeper::new(w.store.clone(), Arc::new(w.clock.clone()), small);
    let batches = std::sync::atomic::AtomicU32::new(0);
    // Stop after the first batch of idempotency records (three other kinds are asked first).
    let swept = sweeper
        .sweep(&|| batches.fetch_add(1, Ordering::SeqCst) >= 4)
        .expect("sweep");
    assert_eq!(swept.idempotency, 10, "one batch, then the stop");
    let swept = sweeper.sweep(&|| false).expect("the rest");
    assert_eq!(swept.idempotency, 15);
    let off = Sweeper::new(
        w.store.clone(),
        Arc::new(w.clock.clone()),
        RetentionConfig {
            enabled: false,
            ..RetentionConfig::default()
        },
    );
    w.idempotency("late", T0);
    assert_eq!(off.sweep(&|| false).expect("off"), Swept::default());
}
