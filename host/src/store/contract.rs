//! The store contract: behaviour every [`Store`] backend must show, written
//! against `&dyn Store` so the PostgreSQL backend runs the very same checks.
//! Backend-specific checks (pragmas, file locks) live beside each backend.

use super::*;
use crate::ids;
use crate::model::Rating;

pub fn agent(name: &str) -> Agent {
    Agent {
        id: ids::new(ids::AGENT),
        name: name.into(),
        model: "gpt-5".into(),
        dreaming_enabled: true,
        dreaming_frequency: "daily".into(),
        timezone: "UTC".into(),
        feedback_webhook: None,
        live_version: 1,
        system_prompt: "You are helpful.".into(),
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
    }
}

pub fn interaction(id: &str, ts: i64) -> InteractionRecord {
    InteractionRecord {
        id: id.into(),
        timestamp_ms: ts,
        config_version: "v1".into(),
        body: format!(
            r#"{{"id":"{id}","timestamp":"{}","messages":[{{"role":"user","content":"where is my order {id}?"}},{{"role":"assistant","content":"Let me check."}}]}}"#,
            chrono::DateTime::from_timestamp_millis(ts)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        received_at_ms: ts,
    }
}

pub fn feedback(interaction_id: &str, rating: Rating) -> FeedbackRecord {
    FeedbackRecord {
        id: ids::new(ids::FEEDBACK),
        interaction_id: interaction_id.into(),
        rating,
        comment: Some("it was wrong".into()),
        created_at_ms: 5,
    }
}

fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest { limit, after }
}

pub fn agents_have_versions_and_one_is_live(store: &dyn Store) {
    let a = agent("support");
    store.create_agent(&a, None).expect("create");
    assert_eq!(store.get_agent(&a.id).expect("get"), Some(a.clone()));

    let updated = store
        .update_agent(
            &a.id,
            &AgentUpdate {
                system_prompt: Some("You are terse.".into()),
                feedback_webhook: Some(Some("https://example.com/hook".into())),
                ..AgentUpdate::default()
            },
            2_000,
        )
        .expect("update");
    assert_eq!(updated.live_version, 2, "a new prompt is a new version");
    assert_eq!(updated.system_prompt, "You are terse.");
    assert_eq!(
        updated.feedback_webhook.as_deref(),
        Some("https://example.com/hook")
    );

    // The same prompt again is not a new version.
    let same = store
        .update_agent(
            &a.id,
            &AgentUpdate {
                system_prompt: Some("You are terse.".into()),
                name: Some("support-2".into()),
                ..AgentUpdate::default()
            },
            3_000,
        )
        .expect("update");
    assert_eq!(same.live_version, 2);
    assert_eq!(same.name, "support-2");

    let versions = store
        .list_versions(&a.id, &page(10, None))
        .expect("versions");
    let listed: Vec<(i64, bool)> = versions.items.iter().map(|v| (v.version, v.live)).collect();
    assert_eq!(listed, vec![(2, true), (1, false)], "newest first, v2 live");

    let back = store.activate_version(&a.id, 1, 4_000).expect("activate");
    assert_eq!(back.live_version, 1);
    assert_eq!(back.system_prompt, "You are helpful.");
    assert!(matches!(
        store.activate_version(&a.id, 9, 5_000),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.update_agent("agt_missing", &AgentUpdate::default(), 1),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn pages_cover_every_row_once(store: &dyn Store) {
    let ids: Vec<String> = (0..7)
        .map(|i| {
            let a = agent(&format!("agent {i}"));
            store.create_agent(&a, None).expect("create");
            a.id
        })
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let p = store
            .list_agents(None, &page(3, after.clone()))
            .expect("list");
        pages += 1;
        after = p.items.last().map(|a| a.id.clone());
        seen.extend(p.items.into_iter().map(|a| a.id));
        if !p.has_more {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every agent once, in creation order");
    let only = store
        .list_agents(Some(&ids[4]), &page(10, None))
        .expect("scoped");
    assert_eq!(only.items.len(), 1);
    assert_eq!(only.items[0].id, ids[4]);
}

pub fn a_batch_is_all_or_nothing(store: &dyn Store) {
    let a = agent("batch");
    store.create_agent(&a, None).expect("create");
    store
        .insert_interactions(&a.id, &[interaction("i-1", 10)], None)
        .expect("first");
    let batch = [
        interaction("i-2", 20),
        interaction("i-3", 30),
        interaction("i-1", 40),
    ];
    match store.insert_interactions(&a.id, &batch, None) {
        Err(StoreError::Conflict { index, field, .. }) => {
            assert_eq!(index, Some(2), "the duplicate is the third item");
            assert_eq!(field, "id");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    for id in ["i-2", "i-3"] {
        assert_eq!(
            store.get_interaction(&a.id, id).expect("get"),
            None,
            "{id} of the rejected batch must not be stored"
        );
    }
    let original = store
        .get_interaction(&a.id, "i-1")
        .expect("get")
        .expect("kept");
    assert_eq!(
        original.timestamp_ms, 10,
        "the earlier interaction is untouched"
    );

    // Feedback: an unknown interaction rejects the whole batch.
    let fb = [
        feedback("i-1", Rating::Negative),
        feedback("nope", Rating::Positive),
    ];
    match store.insert_feedback(&a.id, &fb, None) {
        Err(StoreError::Dangling { index, field, .. }) => {
            assert_eq!(index, Some(1));
            assert_eq!(field, "interaction_id");
        }
        other => panic!("expected a dangling reference, got {other:?}"),
    }
    assert!(
        store
            .feedback_for(&a.id, "i-1")
            .expect("feedback")
            .is_empty()
    );

    // Interactions of one agent are not another's.
    let b = agent("other");
    store.create_agent(&b, None).expect("create");
    assert!(matches!(
        store.insert_feedback(&b.id, &[feedback("i-1", Rating::Neutral)], None),
        Err(StoreError::Dangling { .. })
    ));
    store
        .insert_interactions(&b.id, &[interaction("i-1", 10)], None)
        .expect("the same id under another agent is fine");
    assert!(matches!(
        store.insert_interactions("agt_missing", &[interaction("x", 1)], None),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn idempotency_records_commit_with_what_they_describe(store: &dyn Store) {
    let record = |key: &str| IdempotencyRecord {
        principal: "key_a".into(),
        key: key.into(),
        request_hash: vec![1, 2, 3],
        status: 201,
        body: "{\"id\":\"x\"}".into(),
        created_at_ms: 1,
    };
    let first = agent("idem");
    store
        .create_agent(&first, Some(&record("k1")))
        .expect("create");
    let stored = store
        .get_idempotency("key_a", "k1")
        .expect("get")
        .expect("stored");
    assert_eq!(stored, record("k1"));
    assert_eq!(
        store.get_idempotency("key_b", "k1").expect("get"),
        None,
        "keys are per caller"
    );

    // The same key again: refused, and the second agent is not created either.
    let second = agent("idem 2");
    assert!(matches!(
        store.create_agent(&second, Some(&record("k1"))),
        Err(StoreError::IdempotencyKeyTaken)
    ));
    assert_eq!(store.get_agent(&second.id).expect("get"), None);
}

pub fn windows_stream_in_time_order_with_their_feedback(store: &dyn Store) {
    let a = agent("window");
    store.create_agent(&a, None).expect("create");
    // Arrival order differs from time order on purpose.
    let records: Vec<InteractionRecord> = [50, 10, 40, 20, 30, 60, 5]
        .iter()
        .map(|ts| interaction(&format!("t{ts}"), *ts))
        .collect();
    store
        .insert_interactions(&a.id, &records, None)
        .expect("insert");
    store
        .insert_feedback(
            &a.id,
            &[
                feedback("t20", Rating::Negative),
                feedback("t60", Rating::Positive),
            ],
            None,
        )
        .expect("feedback");
    let window = Window {
        agent_id: &a.id,
        since_ms: Some(10),
        until_ms: 60,
    };
    assert_eq!(store.count_window(window).expect("count"), 5);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let rows = store.read_window(window, after, 2).expect("read");
        if rows.is_empty() {
            break;
        }
        after = rows.last().map(|(c, _)| *c);
        seen.extend(rows.into_iter().map(|(_, i)| (i.id, i.timestamp_ms)));
    }
    assert_eq!(
        seen,
        vec![
            ("t10".to_string(), 10),
            ("t20".into(), 20),
            ("t30".into(), 30),
            ("t40".into(), 40),
            ("t50".into(), 50)
        ],
        "[since, until), in time order, each once"
    );
    let mut fb = Vec::new();
    store
        .window_feedback(window, &mut |f| fb.push(f.interaction_id))
        .expect("feedback");
    assert_eq!(
        fb,
        vec!["t20".to_string()],
        "only feedback on the window's interactions"
    );
    let all = Window {
        agent_id: &a.id,
        since_ms: None,
        until_ms: i64::MAX,
    };
    assert_eq!(store.count_window(all).expect("count"), 7);
}

pub fn dreams_move_through_their_states_once(store: &dyn Store) {
    let a = agent("dreamer");
    store.create_agent(&a, None).expect("create");
    let dream = |id: &str| Dream {
        id: id.into(),
        agent_id: a.id.clone(),
        status: DreamStatus::Pending,
        trigger: "api".into(),
        window_start_ms: None,
        window_end_ms: Some(100),
        created_at_ms: 100,
        started_at_ms: None,
        finished_at_ms: None,
        error: None,
        summary: None,
        report: None,
    };
    let (d1, d2, d3) = (
        ids::new(ids::DREAM),
        ids::new(ids::DREAM),
        ids::new(ids::DREAM),
    );
    for id in [&d1, &d2, &d3] {
        store.create_dream(&dream(id), None).expect("create");
    }
    assert!(store.start_dream(&d1, 110).expect("start"));
    assert!(
        !store.start_dream(&d1, 111).expect("start"),
        "only a pending dream starts"
    );
    let done = DreamOutcome::Completed {
        summary: DreamSummary {
            text: "fine".into(),
            interactions: 3,
            patterns: 1,
            suggestions: 0,
        },
        report: "{\"schema\":\"reverie.report/v1\"}".into(),
        window_start_ms: None,
        window_end_ms: 100,
    };
    assert!(store.finish_dream(&d1, &done, 120).expect("finish"));
    assert!(
        !store
            .finish_dream(
                &d1,
                &DreamOutcome::Failed {
                    reason: "late".into()
                },
                130
            )
            .expect("finish"),
        "a finished dream is not finished again"
    );
    let got = store.get_dream(&d1).expect("get").expect("exists");
    assert_eq!(got.status, DreamStatus::Completed);
    assert_eq!(
        got.report.as_deref(),
        Some("{\"schema\":\"reverie.report/v1\"}")
    );
    assert_eq!(got.summary.as_ref().map(|s| s.patterns), Some(1));
    assert_eq!(
        store
            .last_completed_dream(&a.id)
            .expect("last")
            .map(|d| d.id),
        Some(d1.clone())
    );

    // d2 is left running (a crash); after a restart it is pending again, as is d3.
    assert!(store.start_dream(&d2, 140).expect("start"));
    assert_eq!(
        store.requeue_dreams().expect("requeue"),
        vec![d2.clone(), d3.clone()]
    );
    assert_eq!(
        store.get_dream(&d2).expect("get").map(|d| d.status),
        Some(DreamStatus::Pending)
    );

    assert!(store.start_dream(&d3, 150).expect("start"));
    let skipped = DreamOutcome::Skipped {
        reason: "not enough data".into(),
    };
    assert!(store.finish_dream(&d3, &skipped, 160).expect("finish"));
    let list = store.list_dreams(&a.id, &page(2, None)).expect("list");
    assert_eq!(
        list.items.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![d3.clone(), d2.clone()],
        "newest first"
    );
    assert!(list.has_more);
    assert!(
        list.items.iter().all(|d| d.report.is_none()),
        "lists leave reports out"
    );
    assert_eq!(list.items[0].error.as_deref(), Some("not enough data"));
}

pub fn api_keys_are_stored_hashed_and_revocable(store: &dyn Store) {
    assert_eq!(store.count_api_keys().expect("count"), 0);
    let key = ApiKey {
        id: ids::new(ids::API_KEY),
        name: "ci".into(),
        agent_id: None,
        hash: vec![7; 32],
        created_at_ms: 1,
        revoked_at_ms: None,
    };
    store.create_api_key(&key, None).expect("create");
    assert_eq!(store.get_api_key(&key.id).expect("get"), Some(key.clone()));
    let revoked = store.revoke_api_key(&key.id, 50).expect("revoke");
    assert_eq!(revoked.revoked_at_ms, Some(50));
    let again = store.revoke_api_key(&key.id, 60).expect("revoke twice");
    assert_eq!(
        again.revoked_at_ms,
        Some(50),
        "the first revocation time stays"
    );
    assert_eq!(store.count_api_keys().expect("count"), 1);
    let scoped = ApiKey {
        id: ids::new(ids::API_KEY),
        agent_id: Some("agt_missing".into()),
        ..key.clone()
    };
    assert!(matches!(
        store.create_api_key(&scoped, None),
        Err(StoreError::NotFound { .. })
    ));
}

/// Every contract check, each on a fresh store from `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Box<dyn Store>) {
    agents_have_versions_and_one_is_live(&*fresh());
    pages_cover_every_row_once(&*fresh());
    a_batch_is_all_or_nothing(&*fresh());
    idempotency_records_commit_with_what_they_describe(&*fresh());
    windows_stream_in_time_order_with_their_feedback(&*fresh());
    dreams_move_through_their_states_once(&*fresh());
    api_keys_are_stored_hashed_and_revocable(&*fresh());
}
