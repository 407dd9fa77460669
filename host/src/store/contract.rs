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
        min_new_interactions: None,
        schedule: ScheduleState::default(),
    }
}

/// No reschedule: for updates that do not touch timing.
fn unscheduled(_: &Agent) -> Option<Slot> {
    None
}

pub fn dream(agent_id: &str, id: &str) -> Dream {
    Dream {
        id: id.into(),
        ..Dream::pending(agent_id, "api", 100, 100)
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
    store.create_agent(&a, None, None).expect("create");
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
            &unscheduled,
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
            &unscheduled,
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
        store.update_agent("agt_missing", &AgentUpdate::default(), 1, &unscheduled),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn pages_cover_every_row_once(store: &dyn Store) {
    let ids: Vec<String> = (0..7)
        .map(|i| {
            let a = agent(&format!("agent {i}"));
            store.create_agent(&a, None, None).expect("create");
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
    store.create_agent(&a, None, None).expect("create");
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
        original.record.timestamp_ms, 10,
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
    store.create_agent(&b, None, None).expect("create");
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
        .create_agent(&first, None, Some(&record("k1")))
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
        store.create_agent(&second, None, Some(&record("k1"))),
        Err(StoreError::IdempotencyKeyTaken)
    ));
    assert_eq!(store.get_agent(&second.id).expect("get"), None);
}

pub fn windows_stream_in_time_order_with_their_feedback(store: &dyn Store) {
    let a = agent("window");
    store.create_agent(&a, None, None).expect("create");
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
        for (_, row) in rows {
            let i = row.expect("every row is readable");
            seen.push((i.id, i.timestamp_ms));
        }
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
    store.create_agent(&a, None, None).expect("create");
    let (d1, d2, d3) = (
        ids::new(ids::DREAM),
        ids::new(ids::DREAM),
        ids::new(ids::DREAM),
    );
    for id in [&d1, &d2, &d3] {
        store
            .create_dream(&dream(&a.id, id), None, None)
            .expect("create");
    }
    let claimed = store.claim_dream("w1", 110, 1_000, 3).expect("claim");
    assert_eq!(
        claimed.as_ref().map(|d| d.id.clone()),
        Some(d1.clone()),
        "oldest first"
    );
    let claimed = claimed.expect("claimed");
    assert_eq!(claimed.status, DreamStatus::Running);
    assert_eq!(claimed.lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed.lease_expires_ms, Some(1_110));
    assert_eq!(claimed.attempts, 1);
    assert_eq!(
        store.claim_dream("w2", 111, 1_000, 3).expect("claim"),
        None,
        "the agent's other dreams wait while one runs under a live lease"
    );
    let done = DreamOutcome::Completed {
        summary: DreamSummary {
            text: "fine".into(),
            interactions: 3,
            problems: 1,
            suggestions: 0,
        },
        report: "{\"schema\":\"reverie.report/v1\"}".into(),
        window_start_ms: None,
        window_end_ms: 100,
    };
    assert!(
        !store
            .finish_dream(&d1, "w2", &done, &[], 115)
            .expect("finish"),
        "only the lease holder finishes a dream"
    );
    assert!(
        store
            .finish_dream(&d1, "w1", &done, &[], 120)
            .expect("finish")
    );
    assert!(
        !store
            .finish_dream(
                &d1,
                "w1",
                &DreamOutcome::Failed {
                    reason: "late".into()
                },
                &[],
                130
            )
            .expect("finish"),
        "a finished dream is not finished again"
    );
    let got = store.get_dream(&d1).expect("get").expect("exists");
    assert_eq!(got.status, DreamStatus::Completed);
    assert_eq!(got.lease_owner, None, "the lease ends with the dream");
    assert_eq!(
        got.report.as_deref(),
        Some("{\"schema\":\"reverie.report/v1\"}")
    );
    assert_eq!(got.summary.as_ref().map(|s| s.problems), Some(1));
    assert_eq!(
        store
            .last_completed_dream(&a.id)
            .expect("last")
            .map(|d| d.id),
        Some(d1.clone())
    );

    // d2 is left running (a crash); releasing every lease makes it pending again.
    let claimed = store.claim_dream("w1", 140, 1_000, 3).expect("claim");
    assert_eq!(claimed.map(|d| d.id), Some(d2.clone()));
    assert_eq!(store.release_all_leases().expect("release"), 1);
    let got = store.get_dream(&d2).expect("get").expect("exists");
    assert_eq!(
        (got.status, got.attempts),
        (DreamStatus::Pending, 1),
        "a crash's attempt counts"
    );

    // A graceful release is fenced on the owner too.
    let claimed = store.claim_dream("w1", 141, 1_000, 3).expect("claim");
    assert_eq!(claimed.map(|d| d.id), Some(d2.clone()));
    assert!(!store.release_dream(&d2, "w2").expect("release"));
    assert!(store.release_dream(&d2, "w1").expect("release"));
    let got = store.get_dream(&d2).expect("get").expect("exists");
    assert_eq!(
        got.attempts, 1,
        "a graceful release does not count as an attempt"
    );

    let claimed = store.claim_dream("w1", 150, 1_000, 3).expect("claim");
    assert_eq!(claimed.map(|d| d.id), Some(d2.clone()));
    let skipped = DreamOutcome::Skipped {
        reason: "not enough data".into(),
    };
    assert!(
        store
            .finish_dream(&d2, "w1", &skipped, &[], 160)
            .expect("finish")
    );
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
    assert_eq!(list.items[1].error.as_deref(), Some("not enough data"));
}

/// RELIABILITY 18: a stalled worker's lease expires, another worker takes the
/// dream over, and the stalled worker's late completion changes nothing.
pub fn a_stalled_lease_is_taken_over_and_the_late_finish_is_refused(store: &dyn Store) {
    let a = agent("stall");
    store.create_agent(&a, None, None).expect("create");
    let id = ids::new(ids::DREAM);
    store
        .create_dream(&dream(&a.id, &id), None, None)
        .expect("create");
    assert!(
        store
            .claim_dream("slow", 1_000, 500, 3)
            .expect("claim")
            .is_some()
    );
    assert!(
        store.renew_lease(&id, "slow", 1_400, 500).expect("renew"),
        "renewed to 1900"
    );
    assert_eq!(
        store.claim_dream("fast", 1_899, 500, 3).expect("claim"),
        None,
        "a live lease is not taken"
    );
    let taken = store
        .claim_dream("fast", 1_900, 500, 3)
        .expect("claim")
        .expect("expired");
    assert_eq!((taken.id.as_str(), taken.attempts), (id.as_str(), 2));
    assert!(
        !store.renew_lease(&id, "slow", 1_950, 500).expect("renew"),
        "the stalled worker learns it lost the lease"
    );
    let theirs = DreamOutcome::Failed {
        reason: "stale result".into(),
    };
    assert!(
        !store
            .finish_dream(&id, "slow", &theirs, &[], 1_960)
            .expect("finish")
    );
    let ours = DreamOutcome::Skipped {
        reason: "taken over and finished".into(),
    };
    assert!(
        store
            .finish_dream(&id, "fast", &ours, &[], 1_970)
            .expect("finish")
    );
    let got = store.get_dream(&id).expect("get").expect("exists");
    assert_eq!(got.status, DreamStatus::Skipped);
    assert_eq!(got.error.as_deref(), Some("taken over and finished"));

    // A dream that keeps losing its worker is failed after max_attempts claims.
    let doomed = ids::new(ids::DREAM);
    store
        .create_dream(&dream(&a.id, &doomed), None, None)
        .expect("create");
    for (attempt, now) in [(1, 3_000), (2, 4_000)] {
        let d = store
            .claim_dream("w", now, 100, 2)
            .expect("claim")
            .expect("claimable");
        assert_eq!(d.attempts, attempt);
    }
    assert_eq!(store.claim_dream("w", 5_000, 100, 2).expect("claim"), None);
    let got = store.get_dream(&doomed).expect("get").expect("exists");
    assert_eq!(got.status, DreamStatus::Failed);
    assert!(
        got.error
            .as_deref()
            .is_some_and(|e| e.contains("abandoned")),
        "{got:?}"
    );
}

/// RELIABILITY 14: a slot is fired once. The compare-and-set on the schedule
/// turns away a second scheduler, and (agent, slot) is unique in any case.
pub fn a_slot_is_fired_once_and_overlaps_are_counted(store: &dyn Store) {
    let a = agent("slots");
    let first = Slot {
        slot_ms: 10_000,
        run_at_ms: 10_500,
    };
    store.create_agent(&a, Some(first), None).expect("create");
    let due = store.due_schedules(10_499, 10).expect("due");
    assert!(
        due.iter().all(|d| d.agent_id != a.id),
        "not before its run_at"
    );
    let due = store.due_schedules(10_500, 10).expect("due");
    assert_eq!(due.iter().filter(|d| d.agent_id == a.id).count(), 1);

    let scheduled = |id: &str, slot: i64| Dream {
        trigger: "schedule".into(),
        slot_ms: Some(slot),
        ..dream(&a.id, id)
    };
    let second = Slot {
        slot_ms: 20_000,
        run_at_ms: 20_500,
    };
    let firing = |id: &str| SlotFiring {
        agent_id: a.id.clone(),
        expected_slot_ms: 10_000,
        dream: Some(scheduled(id, 10_000)),
        next: Some(second),
        missed: 0,
    };
    let d1 = ids::new(ids::DREAM);
    assert_eq!(store.fire_slot(&firing(&d1)).expect("fire"), Fired::Queued);
    assert_eq!(
        store
            .fire_slot(&firing(&ids::new(ids::DREAM)))
            .expect("fire"),
        Fired::Moved,
        "a second scheduler with the same read writes nothing"
    );
    let state = store
        .get_agent(&a.id)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(state.next_slot_ms, Some(20_000));
    assert_eq!(state.last_slot_ms, Some(10_000));

    // The next slot comes due while d1 is still pending: skipped, counted.
    let d2 = ids::new(ids::DREAM);
    let fired = store
        .fire_slot(&SlotFiring {
            agent_id: a.id.clone(),
            expected_slot_ms: 20_000,
            dream: Some(scheduled(&d2, 20_000)),
            next: Some(Slot {
                slot_ms: 30_000,
                run_at_ms: 30_500,
            }),
            missed: 2,
        })
        .expect("fire");
    assert_eq!(fired, Fired::Overlap { active: d1.clone() });
    let got = store.get_dream(&d2).expect("get").expect("recorded");
    assert_eq!(got.status, DreamStatus::Skipped);
    assert!(
        got.error
            .as_deref()
            .is_some_and(|e| e.starts_with("overlap:") && e.contains(&d1))
    );
    let state = store
        .get_agent(&a.id)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!((state.overlap_skips, state.missed_slots), (1, 2));

    // However the schedule is set, a slot already recorded is not recorded twice.
    store
        .set_paused(
            &a.id,
            false,
            &|_| {
                Some(Slot {
                    slot_ms: 10_000,
                    run_at_ms: 10_000,
                })
            },
            &ScheduleEvent {
                agent_id: a.id.clone(),
                at_ms: 21_000,
                action: "resume".into(),
                actor: "key_test".into(),
                detail: None,
            },
        )
        .expect("resume");
    let again = store.fire_slot(&firing(&ids::new(ids::DREAM)));
    assert!(
        matches!(again, Err(StoreError::Conflict { field: "slot", .. })),
        "{again:?}"
    );

    // Pausing clears the slot and is audited; nothing is due while paused.
    let paused = store
        .set_paused(
            &a.id,
            true,
            &|_| {
                Some(Slot {
                    slot_ms: 1,
                    run_at_ms: 1,
                })
            },
            &ScheduleEvent {
                agent_id: a.id.clone(),
                at_ms: 22_000,
                action: "pause".into(),
                actor: "key_test".into(),
                detail: None,
            },
        )
        .expect("pause");
    assert!(paused.paused && paused.next_slot_ms.is_none());
    assert!(
        store
            .due_schedules(i64::MAX, 10)
            .expect("due")
            .iter()
            .all(|d| d.agent_id != a.id)
    );
    let events = store.schedule_events(&a.id, 10).expect("events");
    assert_eq!(
        events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["pause", "resume"],
        "newest first"
    );
    // An update that changes timing leaves a paused schedule paused.
    let updated = store
        .update_agent(
            &a.id,
            &AgentUpdate {
                timezone: Some("Europe/Berlin".into()),
                ..AgentUpdate::default()
            },
            23_000,
            &|_| {
                Some(Slot {
                    slot_ms: 99_000,
                    run_at_ms: 99_000,
                })
            },
        )
        .expect("update");
    assert!(updated.schedule.paused && updated.schedule.next_slot_ms.is_none());
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

fn installed(name: &str, digit: char) -> InstalledRule {
    InstalledRule {
        id: format!("{INSTALLED_PREFIX}{}", digit.to_string().repeat(64)),
        info: crate::model::RuleInfo {
            name: name.into(),
            version: "1.0.0".into(),
            description: "finds things".into(),
            stages: vec![crate::model::Stage::Analyse],
            inputs: crate::model::Inputs::ALL,
            settings: vec![crate::model::SettingSpec {
                name: "threshold".into(),
                description: "how many".into(),
                default_value: Some("3".into()),
            }],
        },
        contract: "0.1.1".into(),
        capabilities: vec!["window.problems".into()],
        size_bytes: 4,
        installed_at_ms: 10,
    }
}

pub fn installed_rules_are_kept_once_and_removed_only_when_unused(store: &dyn Store) {
    let rule = installed("refunds", 'a');
    assert!(store.install_rule(&rule, b"\0asm").expect("install"));
    assert!(
        !store.install_rule(&rule, b"\0asm").expect("install again"),
        "the same bytes are one rule"
    );
    assert_eq!(store.get_rule(&rule.id).expect("get"), Some(rule.clone()));
    assert_eq!(
        store.rule_component(&rule.id).expect("bytes"),
        Some(b"\0asm".to_vec())
    );
    let other = installed("carriers", 'b');
    store.install_rule(&other, b"\0asm").expect("install");
    let first = store.list_rules(&page(1, None)).expect("list");
    assert_eq!(first.items, vec![rule.clone()]);
    assert!(first.has_more);
    let second = store
        .list_rules(&page(1, Some(rule.id.clone())))
        .expect("list");
    assert_eq!(second.items, vec![other.clone()]);
    assert!(!second.has_more);

    let a = agent("uses it");
    store.create_agent(&a, None, None).expect("agent");
    let b = agent("does not");
    store.create_agent(&b, None, None).expect("agent");
    assert_eq!(store.get_rule_set(&a.id).expect("set"), None, "default set");
    let set = RuleSet {
        rules: vec![
            RuleSetEntry {
                rule: RuleRef::Builtin("tool-failures".into()),
                settings: Vec::new(),
                limits: LimitOverrides::default(),
            },
            RuleSetEntry {
                rule: RuleRef::Installed(rule.id.clone()),
                settings: vec![("threshold".into(), "5".into())],
                limits: LimitOverrides {
                    fuel: Some(1_000),
                    ..LimitOverrides::default()
                },
            },
        ],
        updated_at_ms: 20,
    };
    store.put_rule_set(&a.id, Some(&set)).expect("put");
    assert_eq!(store.get_rule_set(&a.id).expect("set"), Some(set.clone()));
    assert_eq!(store.get_rule_set(&b.id).expect("set"), None);

    match store.delete_rule(&rule.id) {
        Err(StoreError::Conflict { message, .. }) => {
            assert!(message.contains(&a.id), "{message}")
        }
        other => panic!("a rule in use was removed: {other:?}"),
    }
    // A set naming a rule that is not installed is refused whole, naming the entry.
    let missing = RuleSet {
        rules: vec![set.rules[0].clone(), installed_entry("c")],
        updated_at_ms: 30,
    };
    assert!(matches!(
        store.put_rule_set(&b.id, Some(&missing)),
        Err(StoreError::Dangling { index: Some(1), .. })
    ));
    assert_eq!(store.get_rule_set(&b.id).expect("set"), None);
    assert!(matches!(
        store.put_rule_set("agt_missing", Some(&set)),
        Err(StoreError::NotFound { .. })
    ));

    // Back to the default set: the rule is free to go.
    store.put_rule_set(&a.id, None).expect("reset");
    assert_eq!(store.get_rule_set(&a.id).expect("set"), None);
    store.delete_rule(&rule.id).expect("delete");
    assert_eq!(store.get_rule(&rule.id).expect("get"), None);
    assert!(matches!(
        store.delete_rule(&rule.id),
        Err(StoreError::NotFound { .. })
    ));
}

fn installed_entry(digit: &str) -> RuleSetEntry {
    RuleSetEntry {
        rule: RuleRef::Installed(format!("{INSTALLED_PREFIX}{}", digit.repeat(64))),
        settings: Vec::new(),
        limits: LimitOverrides::default(),
    }
}

/// Every contract check, each on a fresh store from `fresh`.
pub fn deleting_an_interaction_takes_its_feedback(store: &dyn Store) {
    let a = agent("erase");
    store.create_agent(&a, None, None).expect("create");
    store
        .insert_interactions(
            &a.id,
            &[interaction("i-1", 10), interaction("i-2", 20)],
            None,
        )
        .expect("insert");
    store
        .insert_feedback(
            &a.id,
            &[
                feedback("i-1", Rating::Negative),
                feedback("i-1", Rating::Neutral),
                feedback("i-2", Rating::Positive),
            ],
            None,
        )
        .expect("feedback");
    assert_eq!(store.delete_interaction(&a.id, "i-1").expect("delete"), 2);
    assert_eq!(store.get_interaction(&a.id, "i-1").expect("get"), None);
    assert!(
        store
            .feedback_for(&a.id, "i-1")
            .expect("feedback")
            .is_empty()
    );
    let window = Window {
        agent_id: &a.id,
        since_ms: None,
        until_ms: i64::MAX,
    };
    assert_eq!(store.count_window(window).expect("count"), 1);
    let mut left = Vec::new();
    store
        .window_feedback(window, &mut |f| left.push(f.interaction_id))
        .expect("window feedback");
    assert_eq!(left, ["i-2"], "the other interaction keeps its feedback");
    assert!(matches!(
        store.delete_interaction(&a.id, "i-1"),
        Err(StoreError::NotFound {
            what: "interaction",
            ..
        })
    ));
    assert!(matches!(
        store.delete_interaction("agt_missing", "i-2"),
        Err(StoreError::NotFound { what: "agent", .. })
    ));
    // Another agent's interaction of the same id is not touched.
    let b = agent("other");
    store.create_agent(&b, None, None).expect("create");
    assert!(matches!(
        store.delete_interaction(&b.id, "i-2"),
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.get_interaction(&a.id, "i-2").expect("get").is_some());
    // The id is free again.
    store
        .insert_interactions(&a.id, &[interaction("i-1", 30)], None)
        .expect("the id can be used again");
}

/// RELIABILITY 27: a reader paging through agents while a writer adds more
/// sees no row twice and skips none that was there before it started.
pub fn pages_are_stable_under_concurrent_inserts(store: &dyn Store) {
    let before: Vec<String> = (0..60)
        .map(|i| {
            let a = agent(&format!("before {i}"));
            store.create_agent(&a, None, None).expect("create");
            a.id
        })
        .collect();
    let mut seen: Vec<String> = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..60 {
                store
                    .create_agent(&agent(&format!("during {i}")), None, None)
                    .expect("create");
            }
        });
        let mut after = None;
        loop {
            let page = store
                .list_agents(
                    None,
                    &PageRequest {
                        limit: 7,
                        after: after.clone(),
                    },
                )
                .expect("list");
            after = page.items.last().map(|a| a.id.clone());
            seen.extend(page.items.into_iter().map(|a| a.id));
            if !page.has_more {
                break;
            }
        }
    });
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no row twice");
    for id in &before {
        assert!(seen.contains(id), "{id} was skipped");
    }
}

/// An endpoint of `agent_id` that wants every event.
pub fn fresh_endpoint(agent_id: &str) -> Endpoint {
    endpoint(agent_id, &ids::new(ids::ENDPOINT))
}

fn endpoint(agent_id: &str, id: &str) -> Endpoint {
    Endpoint {
        id: id.into(),
        agent_id: agent_id.into(),
        url: "https://hooks.example.com/reverie".into(),
        secret: "whsec_c2VjcmV0".into(),
        previous_secret: None,
        previous_expires_ms: None,
        events: vec!["*".into()],
        source: "api".into(),
        created_at_ms: 1,
        disabled_at_ms: None,
        disabled_reason: None,
        failing_since_ms: None,
    }
}

fn attempt(n: u32, at_ms: i64, status: Option<u16>) -> Attempt {
    Attempt {
        n,
        at_ms,
        status,
        error: status.filter(|s| *s >= 400).map(|s| format!("HTTP {s}")),
        duration_ms: 5,
    }
}

/// An event for each finished dream, numbered per agent; a delivery is held
/// by one sender at a time, only its holder's attempt counts, an expired lease
/// passes to another sender, and a redelivery keeps the event (its `webhook-id`).
pub fn deliveries_are_claimed_once_and_fenced_on_their_owner(store: &dyn Store) {
    let a = agent("hooks");
    store.create_agent(&a, None, None).expect("agent");
    store
        .create_endpoint(&endpoint(&a.id, "wep_1"), None)
        .expect("endpoint");
    for (n, id) in ["drm_1", "drm_2"].iter().enumerate() {
        store
            .create_dream(&dream(&a.id, id), None, None)
            .expect("dream");
        let claimed = store
            .claim_dream("worker", 10, 60_000, 3)
            .expect("claim")
            .expect("a dream");
        let event = OutboxEvent {
            id: format!("evt_{n}"),
            event_type: "dream.failed".into(),
            data: format!(r#"{{"dream_id":"{id}"}}"#),
        };
        assert!(
            store
                .finish_dream(
                    &claimed.id,
                    "worker",
                    &DreamOutcome::Failed { reason: "x".into() },
                    &[event],
                    20
                )
                .expect("finish")
        );
    }

    let due = store.claim_deliveries("s1", 30, 10_000, 1).expect("claim");
    assert_eq!(due.len(), 1, "one asked for, one given");
    let first = &due[0];
    assert_eq!((first.event.id.as_str(), first.event.seq), ("evt_0", 1));
    assert_eq!(first.endpoint.id, "wep_1");
    let due = store.claim_deliveries("s2", 31, 10_000, 10).expect("claim");
    assert_eq!(due.len(), 1, "the other sender gets only the unleased one");
    assert_eq!((due[0].event.id.as_str(), due[0].event.seq), ("evt_1", 2));
    assert!(
        store
            .claim_deliveries("s3", 32, 10_000, 10)
            .expect("claim")
            .is_empty(),
        "both are held"
    );

    // Only the holder's attempt is recorded.
    let id = first.delivery.id.clone();
    let retry = AttemptOutcome::Retry { at_ms: 100 };
    assert!(
        !store
            .record_attempt(&id, "s2", &attempt(1, 40, Some(500)), &retry, None, &[])
            .expect("record"),
        "not s2's lease"
    );
    assert!(
        store
            .record_attempt(&id, "s1", &attempt(1, 40, Some(500)), &retry, None, &[])
            .expect("record")
    );
    let d = store.get_delivery(&id).expect("get").expect("there");
    assert_eq!(
        (d.status, d.attempts, d.last_status),
        (DeliveryStatus::Pending, 1, Some(500))
    );
    assert!(
        store
            .claim_deliveries("s1", 99, 10_000, 10)
            .expect("claim")
            .is_empty(),
        "not due before its retry"
    );
    // s1 takes it at its retry time and stalls; after the lease, s2 takes over.
    assert_eq!(
        store
            .claim_deliveries("s1", 100, 50, 10)
            .expect("claim")
            .len(),
        1
    );
    assert!(
        store
            .claim_deliveries("s2", 149, 10_000, 10)
            .expect("claim")
            .is_empty()
    );
    let taken = store
        .claim_deliveries("s2", 150, 10_000, 10)
        .expect("claim");
    assert_eq!(taken.len(), 1);
    assert!(
        !store
            .record_attempt(
                &id,
                "s1",
                &attempt(2, 160, Some(200)),
                &AttemptOutcome::Delivered,
                None,
                &[]
            )
            .expect("record"),
        "the stalled sender's late answer is refused"
    );
    assert!(
        store
            .record_attempt(
                &id,
                "s2",
                &attempt(2, 160, Some(200)),
                &AttemptOutcome::Delivered,
                None,
                &[]
            )
            .expect("record")
    );
    let d = store.get_delivery(&id).expect("get").expect("there");
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 2));
    let attempts = store.delivery_attempts(&id).expect("attempts");
    assert_eq!(
        attempts.iter().map(|a| (a.n, a.status)).collect::<Vec<_>>(),
        [(1, Some(500)), (2, Some(200))]
    );

    // A redelivery is a new delivery of the same event.
    let again = store.redeliver(&id, "whd_again", 200).expect("redeliver");
    assert_eq!(
        (again.event_id.as_str(), again.status),
        ("evt_0", DeliveryStatus::Pending)
    );
    let page = PageRequest {
        limit: 10,
        after: None,
    };
    let delivered = store
        .list_deliveries(&a.id, None, Some(DeliveryStatus::Delivered), &page)
        .expect("list");
    assert_eq!(delivered.items.len(), 1);
    assert_eq!(
        store
            .list_deliveries(&a.id, None, None, &page)
            .expect("list")
            .items
            .len(),
        3
    );

    // Deleting the endpoint cancels what is still pending.
    store.delete_endpoint("wep_1", 300).expect("delete");
    let again = store
        .get_delivery("whd_again")
        .expect("get")
        .expect("there");
    assert_eq!(again.status, DeliveryStatus::Cancelled);
    assert!(
        store
            .claim_deliveries("s1", 400, 10_000, 10)
            .expect("claim")
            .is_empty()
    );
    assert_eq!(
        store.queue_depths().expect("depths").deliveries_pending,
        0,
        "evt_1's, though leased, is cancelled too"
    );
}

/// A fresh, empty store for one check, and what must outlive it (a
/// temporary directory, a scratch schema to drop).
pub struct Fresh {
    pub store: Box<dyn Store>,
    pub _keep: Box<dyn std::any::Any>,
}

/// One `#[test]` per contract check, in a module per aggregate, for the
/// backend whose fresh, empty store `$fresh()` returns (a [`Fresh`], or `None` to
/// skip, having said why). Each backend's tests invoke it once.
macro_rules! contract_tests {
    ($fresh:path) => {
        mod agents {
            use $crate::store::contract as c;
            #[test]
            fn have_versions_and_one_is_live() {
                if let Some(f) = $fresh() {
                    c::agents_have_versions_and_one_is_live(&*f.store)
                }
            }
            #[test]
            fn pages_are_stable_under_concurrent_inserts() {
                if let Some(f) = $fresh() {
                    c::pages_are_stable_under_concurrent_inserts(&*f.store)
                }
            }
            #[test]
            fn pages_cover_every_row_once() {
                if let Some(f) = $fresh() {
                    c::pages_cover_every_row_once(&*f.store)
                }
            }
        }
        mod rules {
            use $crate::store::contract as c;
            #[test]
            fn are_kept_once_and_removed_only_when_unused() {
                if let Some(f) = $fresh() {
                    c::installed_rules_are_kept_once_and_removed_only_when_unused(&*f.store)
                }
            }
        }
        mod interactions {
            use $crate::store::contract as c;
            #[test]
            fn a_batch_is_all_or_nothing() {
                if let Some(f) = $fresh() {
                    c::a_batch_is_all_or_nothing(&*f.store)
                }
            }
            #[test]
            fn idempotency_records_commit_with_what_they_describe() {
                if let Some(f) = $fresh() {
                    c::idempotency_records_commit_with_what_they_describe(&*f.store)
                }
            }
            #[test]
            fn windows_stream_in_time_order_with_their_feedback() {
                if let Some(f) = $fresh() {
                    c::windows_stream_in_time_order_with_their_feedback(&*f.store)
                }
            }
            #[test]
            fn deleting_an_interaction_takes_its_feedback() {
                if let Some(f) = $fresh() {
                    c::deleting_an_interaction_takes_its_feedback(&*f.store)
                }
            }
        }
        mod dreams {
            use $crate::store::contract as c;
            #[test]
            fn move_through_their_states_once() {
                if let Some(f) = $fresh() {
                    c::dreams_move_through_their_states_once(&*f.store)
                }
            }
            #[test]
            fn a_stalled_lease_is_taken_over_and_the_late_finish_is_refused() {
                if let Some(f) = $fresh() {
                    c::a_stalled_lease_is_taken_over_and_the_late_finish_is_refused(&*f.store)
                }
            }
        }
        mod schedules {
            use $crate::store::contract as c;
            #[test]
            fn a_slot_is_fired_once_and_overlaps_are_counted() {
                if let Some(f) = $fresh() {
                    c::a_slot_is_fired_once_and_overlaps_are_counted(&*f.store)
                }
            }
        }
        mod webhooks {
            use $crate::store::contract as c;
            #[test]
            fn deliveries_are_claimed_once_and_fenced_on_their_owner() {
                if let Some(f) = $fresh() {
                    c::deliveries_are_claimed_once_and_fenced_on_their_owner(&*f.store)
                }
            }
        }
        mod keys {
            use $crate::store::contract as c;
            #[test]
            fn are_stored_hashed_and_revocable() {
                if let Some(f) = $fresh() {
                    c::api_keys_are_stored_hashed_and_revocable(&*f.store)
                }
            }
        }
    };
}
pub(crate) use contract_tests;
