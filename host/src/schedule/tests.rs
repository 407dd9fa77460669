//! The scheduler against a real SQLite file, driven by a [`ManualClock`]: no
//! test waits for a real schedule interval.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};

use chrono::{NaiveDate, TimeZone};

use super::*;
use crate::clock::ManualClock;
use crate::store::contract;
use crate::store::sqlite::SqliteStore;
use crate::store::{DreamOutcome, PageRequest, ScheduleEvent};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn at(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .timestamp_millis()
}

fn policy(jitter_ms: i64, catch_up_ms: i64) -> Policy {
    Policy {
        jitter_max_ms: jitter_ms,
        catch_up_window_ms: catch_up_ms,
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: ManualClock,
    scheduler: Scheduler,
}

impl World {
    fn new(now: &str, policy: Policy) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
        let clock = ManualClock::new(at(now));
        let scheduler = Scheduler::new(store.clone(), policy, Arc::new(clock.clone()));
        World {
            _dir: dir,
            store,
            clock,
            scheduler,
        }
    }

    /// An agent created now, scheduled as the API would.
    fn agent(&self, frequency: &str, timezone: &str) -> String {
        let mut agent = contract::agent(frequency);
        agent.dreaming_frequency = frequency.into();
        agent.timezone = timezone.into();
        let next = self
            .scheduler
            .policy()
            .next_for(&agent, self.clock.now_ms());
        assert!(next.is_some(), "{frequency} in {timezone} is scheduled");
        self.store.create_agent(&agent, next, None).expect("create");
        agent.id
    }

    fn tick_at(&self, now: &str) -> Tick {
        self.clock.set(at(now));
        self.scheduler.tick().expect("tick")
    }

    fn dreams(&self, agent: &str) -> Vec<Dream> {
        let mut page = self
            .store
            .list_dreams(
                agent,
                &PageRequest {
                    limit: 100,
                    after: None,
                },
            )
            .expect("list")
            .items;
        page.reverse();
        page
    }

    /// Finish every claimable dream (as workers would), skipped for brevity.
    fn finish_all(&self, owner: &str) -> usize {
        let mut n = 0;
        while let Some(d) = self
            .store
            .claim_dream(owner, self.clock.now_ms(), HOUR, 3)
            .expect("claim")
        {
            let done = DreamOutcome::Skipped {
                reason: "test".into(),
            };
            assert!(
                self.store
                    .finish_dream(&d.id, owner, &done, &[], self.clock.now_ms())
                    .expect("finish")
            );
            n += 1;
        }
        n
    }
}

fn slots(dreams: &[Dream]) -> Vec<String> {
    dreams
        .iter()
        .filter_map(|d| d.slot_ms)
        .map(|ms| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .collect()
}

#[test]
fn an_hourly_agent_gets_one_dream_per_slot_on_time() {
    let w = World::new("2026-11-24T09:30:00Z", policy(0, 6 * HOUR));
    let agent = w.agent("hourly", "UTC");
    assert_eq!(
        w.tick_at("2026-11-24T09:59:59Z"),
        Tick::default(),
        "not due yet"
    );
    let tick = w.tick_at("2026-11-24T10:00:00Z");
    assert_eq!(tick.queued, 1);
    assert_eq!(
        w.tick_at("2026-11-24T10:00:01Z"),
        Tick::default(),
        "fired once"
    );
    w.finish_all("worker");
    assert_eq!(w.tick_at("2026-11-24T11:00:00Z").queued, 1);
    let dreams = w.dreams(&agent);
    assert_eq!(
        slots(&dreams),
        ["2026-11-24T10:00:00.000Z", "2026-11-24T11:00:00.000Z"]
    );
    assert!(dreams.iter().all(|d| d.trigger == "schedule"));
    assert_eq!(
        dreams[1].window_end_ms,
        Some(at("2026-11-24T11:00:00Z")),
        "a scheduled dream covers the time up to its slot"
    );
    let agent = w.store.get_agent(&agent).expect("get").expect("exists");
    assert_eq!(
        agent.schedule.next_slot_ms,
        Some(at("2026-11-24T12:00:00Z"))
    );
}

/// RELIABILITY 16: down 3 h on an hourly schedule → one run.
#[test]
fn three_hours_down_on_an_hourly_schedule_means_one_catch_up_run() {
    let w = World::new("2026-11-24T09:30:00Z", policy(0, HOUR));
    let agent = w.agent("hourly", "UTC");
    // The server was down from 09:30 to 13:20: slots 10:00, 11:00, 12:00, 13:00 passed.
    let tick = w.tick_at("2026-11-24T13:20:00Z");
    assert_eq!(tick.queued, 1, "{tick:?}");
    assert_eq!(w.tick_at("2026-11-24T13:20:01Z"), Tick::default());
    let dreams = w.dreams(&agent);
    assert_eq!(
        slots(&dreams),
        ["2026-11-24T13:00:00.000Z"],
        "only the latest"
    );
    assert_eq!(dreams[0].trigger, "catch_up");
    let state = w
        .store
        .get_agent(&agent)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(state.missed_slots, 3, "10:00, 11:00 and 12:00");
    assert_eq!(state.next_slot_ms, Some(at("2026-11-24T14:00:00Z")));
}

#[test]
fn a_slot_older_than_the_catch_up_window_is_recorded_as_missed_not_run() {
    let w = World::new("2026-11-24T01:00:00Z", policy(0, HOUR));
    let agent = w.agent("daily", "UTC");
    // Down over 03:00; back at 06:00, beyond the one-hour window.
    let tick = w.tick_at("2026-11-24T06:00:00Z");
    assert_eq!((tick.queued, tick.skipped), (0, 1));
    let dreams = w.dreams(&agent);
    assert_eq!(dreams.len(), 1);
    assert_eq!(dreams[0].status, DreamStatus::Skipped);
    let reason = dreams[0].error.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("missed:") && reason.contains("catch-up window"),
        "{reason}"
    );
    let state = w
        .store
        .get_agent(&agent)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(state.next_slot_ms, Some(at("2026-11-25T03:00:00Z")));
    assert_eq!(state.missed_slots, 1);

    // With catch-up off, the same gap is a miss too, never a run.
    let w = World::new("2026-11-24T01:00:00Z", policy(0, 0));
    let agent = w.agent("daily", "UTC");
    assert_eq!(w.tick_at("2026-11-24T03:00:30Z").queued, 0);
    assert_eq!(w.dreams(&agent)[0].status, DreamStatus::Skipped);
}

/// RELIABILITY 15: a slot that comes due while the last dream is still going
/// is skipped, and counted.
#[test]
fn a_slot_due_while_a_dream_is_still_pending_is_skipped_and_counted() {
    let w = World::new("2026-11-24T09:30:00Z", policy(0, HOUR));
    let agent = w.agent("hourly", "UTC");
    assert_eq!(w.tick_at("2026-11-24T10:00:00Z").queued, 1);
    // No worker ran it: at 11:00 it is still pending.
    let tick = w.tick_at("2026-11-24T11:00:00Z");
    assert_eq!((tick.queued, tick.overlaps), (0, 1));
    let dreams = w.dreams(&agent);
    assert_eq!(dreams[1].status, DreamStatus::Skipped);
    assert!(
        dreams[1]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("overlap:") && e.contains(&dreams[0].id)),
        "{:?}",
        dreams[1].error
    );
    let state = w
        .store
        .get_agent(&agent)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(state.overlap_skips, 1);
    w.finish_all("worker");
    assert_eq!(
        w.tick_at("2026-11-24T12:00:00Z").queued,
        1,
        "back to normal"
    );
}

/// RELIABILITY 17: resume starts from the next slot; the paused ones are not replayed.
#[test]
fn resuming_replays_no_backlog() {
    let w = World::new("2026-11-24T09:30:00Z", policy(0, 6 * HOUR));
    let agent = w.agent("hourly", "UTC");
    let event = |action: &str| ScheduleEvent {
        agent_id: agent.clone(),
        at_ms: w.clock.now_ms(),
        action: action.into(),
        actor: "key_test".into(),
        detail: None,
    };
    let policy = *w.scheduler.policy();
    w.store
        .set_paused(&agent, true, &|_| None, &event("pause"))
        .expect("pause");
    assert_eq!(w.tick_at("2026-11-24T15:30:00Z"), Tick::default());
    let now = w.clock.now_ms();
    w.store
        .set_paused(
            &agent,
            false,
            &|a| policy.next_for(a, now),
            &event("resume"),
        )
        .expect("resume");
    assert_eq!(
        w.tick_at("2026-11-24T15:59:59Z"),
        Tick::default(),
        "no backlog"
    );
    assert_eq!(w.tick_at("2026-11-24T16:00:00Z").queued, 1);
    assert_eq!(slots(&w.dreams(&agent)), ["2026-11-24T16:00:00.000Z"]);
}

#[test]
fn jitter_is_stable_per_agent_bounded_and_spreads_daily_agents() {
    let p = policy(5 * MIN, HOUR);
    let daily = Schedule::parse("daily", "UTC").expect("daily");
    let day1 = at("2026-11-24T03:00:00Z");
    let day2 = at("2026-11-25T03:00:00Z");
    let mut seconds = BTreeSet::new();
    for i in 0..2_000 {
        let id = format!("agt_{i:026}");
        let j1 = p.jitter_ms(&id, &daily, day1);
        assert_eq!(j1, p.jitter_ms(&id, &daily, day2), "stable per agent");
        assert!((0..5 * MIN).contains(&j1), "{j1}");
        seconds.insert(j1 / 1000);
    }
    assert!(
        seconds.len() > 250,
        "2,000 daily agents spread over the 300 s window: {} distinct seconds",
        seconds.len()
    );
    // A schedule faster than the jitter gets at most a quarter of its gap.
    let every_minute = Schedule::parse("* * * * *", "UTC").expect("cron");
    for i in 0..100 {
        let j = p.jitter_ms(&format!("agt_{i}"), &every_minute, day1);
        assert!(j < 15_000, "{j}");
    }
}

/// RELIABILITY 14: two schedulers (standing in for replicas, each with its own
/// connections) on one database, ticking at the same moments, with two workers
/// claiming: every slot gets exactly one dream and every dream runs once.
#[test]
fn two_schedulers_on_one_database_fire_each_slot_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = at("2026-11-24T00:00:30Z");
    let clock = ManualClock::new(start);
    let p = policy(2 * MIN, HOUR);
    let replicas: Vec<(Arc<dyn Store>, Scheduler)> = (0..2)
        .map(|_| {
            let store: Arc<dyn Store> =
                Arc::new(SqliteStore::open_shared(dir.path()).expect("open"));
            let scheduler = Scheduler::new(store.clone(), p, Arc::new(clock.clone()));
            (store, scheduler)
        })
        .collect();
    let store = replicas[0].0.clone();
    let frequencies = [
        "hourly",
        "*/15 * * * *",
        "0 */2 * * *",
        "daily",
        "30 1-23/3 * * *",
    ];
    let mut agents = Vec::new();
    for i in 0..20 {
        let mut agent = contract::agent(&format!("agent {i}"));
        agent.dreaming_frequency = frequencies[i % frequencies.len()].into();
        let next = p.next_for(&agent, start);
        store.create_agent(&agent, next, None).expect("create");
        agents.push(agent);
    }

    // One simulated day in 20 s steps; at each step both replicas tick at
    // once, then both claim and finish what they can.
    let end = start + 24 * HOUR;
    let mut moved = 0;
    while clock.now_ms() < end {
        clock.advance(20_000);
        let barrier = Barrier::new(2);
        let ticks: Vec<Tick> = std::thread::scope(|scope| {
            let handles: Vec<_> = replicas
                .iter()
                .enumerate()
                .map(|(n, (store, scheduler))| {
                    let barrier = &barrier;
                    let clock = &clock;
                    scope.spawn(move || {
                        barrier.wait();
                        let tick = scheduler.tick().expect("tick");
                        let owner = format!("replica-{n}");
                        while let Some(d) = store
                            .claim_dream(&owner, clock.now_ms(), HOUR, 3)
                            .expect("claim")
                        {
                            let done = DreamOutcome::Skipped {
                                reason: owner.clone(),
                            };
                            assert!(
                                store
                                    .finish_dream(&d.id, &owner, &done, &[], clock.now_ms())
                                    .expect("finish"),
                                "the claimer finishes"
                            );
                        }
                        tick
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("replica thread"))
                .collect()
        });
        moved += ticks.iter().map(|t| t.moved).sum::<u32>();
    }

    let mut total = 0;
    for agent in &agents {
        let schedule = Schedule::parse(&agent.dreaming_frequency, &agent.timezone).expect("parse");
        let mut expected = Vec::new();
        let mut t = start;
        while let Some(slot) = schedule.next_after(t) {
            // Slots whose run time (jitter included) fell inside the simulated day.
            if slot + p.jitter_ms(&agent.id, &schedule, slot) > end {
                break;
            }
            expected.push(slot);
            t = slot;
        }
        let mut dreams = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_dreams(&agent.id, &PageRequest { limit: 100, after })
                .expect("list");
            after = page.items.last().map(|d| d.id.clone());
            dreams.extend(page.items);
            if !page.has_more {
                break;
            }
        }
        let mut per_slot: BTreeMap<i64, u32> = BTreeMap::new();
        for d in &dreams {
            *per_slot.entry(d.slot_ms.expect("scheduled")).or_default() += 1;
            assert_eq!(d.attempts, 1, "claimed once: {d:?}");
            assert_eq!(
                d.status,
                DreamStatus::Skipped,
                "finished by its claimer: {d:?}"
            );
            assert!(
                d.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("replica-")),
                "{d:?}"
            );
        }
        assert!(
            per_slot.values().all(|&n| n == 1),
            "{}: {per_slot:?}",
            agent.dreaming_frequency
        );
        assert_eq!(
            per_slot.keys().copied().collect::<Vec<_>>(),
            expected,
            "{}: every slot of the day, once",
            agent.dreaming_frequency
        );
        total += dreams.len();
    }
    // 4 agents each of hourly, quarter-hourly, two-hourly, daily and every
    // third hour: about 140 slots a day each, less the last ones whose jitter
    // carried them past the end.
    assert!(total >= 4 * (23 + 95 + 11 + 1 + 7), "{total}");
    eprintln!("two schedulers: {total} dreams, {moved} slots lost to the other replica (Moved)");
    // The replicas did race: the loser of a slot wrote nothing (`Moved`).
    assert!(
        moved > 0,
        "no slot was contested; the test did not test the race"
    );
}

/// A daily schedule in New York through the spring-forward night runs once per
/// local date, the night of the jump included, at the times of the DST rule.
#[test]
fn a_daily_agent_in_new_york_dreams_once_per_local_date_across_the_jump() {
    let w = World::new("2026-03-06T12:00:00Z", policy(0, HOUR));
    let agent = w.agent("30 2 * * *", "America/New_York");
    let end = at("2026-03-11T12:00:00Z");
    while w.clock.now_ms() < end {
        w.clock.advance(5 * MIN);
        w.scheduler.tick().expect("tick");
        w.finish_all("worker");
    }
    assert_eq!(
        slots(&w.dreams(&agent)),
        [
            "2026-03-07T07:30:00.000Z", // 02:30 EST
            "2026-03-08T07:00:00.000Z", // 02:30 does not exist: 03:00 EDT, at the jump
            "2026-03-09T06:30:00.000Z", // 02:30 EDT
            "2026-03-10T06:30:00.000Z",
            "2026-03-11T06:30:00.000Z",
        ]
    );
    let tz: chrono_tz::Tz = "America/New_York".parse().expect("tz");
    let dates: BTreeSet<NaiveDate> = w
        .dreams(&agent)
        .iter()
        .filter_map(|d| d.slot_ms)
        .filter_map(|ms| tz.timestamp_millis_opt(ms).single())
        .map(|t| t.date_naive())
        .collect();
    assert_eq!(dates.len(), 5, "one per local date");
}

/// A caught-up slot whose jitter has not yet passed is not run early: the
/// schedule points at it, and it fires at its own time, once.
#[test]
fn a_caught_up_slot_still_waits_for_its_jitter() {
    let w = World::new("2026-11-24T09:30:00Z", policy(5 * MIN, HOUR));
    let agent = w.agent("hourly", "UTC");
    let hourly = Schedule::parse("hourly", "UTC").expect("hourly");
    let jitter = w
        .scheduler
        .policy()
        .jitter_ms(&agent, &hourly, at("2026-11-24T13:00:00Z"));
    assert!(jitter > 1_000, "this agent's jitter is {jitter} ms");
    // Back at 13:00:00.5, before 13:00 + jitter.
    w.clock.set(at("2026-11-24T13:00:00Z") + 500);
    assert_eq!(w.scheduler.tick().expect("tick").queued, 0);
    let state = w
        .store
        .get_agent(&agent)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(state.next_slot_ms, Some(at("2026-11-24T13:00:00Z")));
    assert_eq!(state.missed_slots, 3);
    w.clock.set(at("2026-11-24T13:00:00Z") + jitter);
    assert_eq!(w.scheduler.tick().expect("tick").queued, 1);
    assert_eq!(slots(&w.dreams(&agent)), ["2026-11-24T13:00:00.000Z"]);
}

/// Agents stored before expressions were checked strictly, or left without a
/// next slot by an upgrade, are dealt with rather than forgotten.
#[test]
fn unscheduled_and_unparsable_schedules_are_put_right_or_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(at("2026-11-24T09:30:00Z"));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
    let scheduler = Scheduler::new(store.clone(), policy(0, HOUR), Arc::new(clock.clone()));
    let mut fresh = contract::agent("upgraded");
    fresh.dreaming_frequency = "hourly".into();
    store.create_agent(&fresh, None, None).expect("create");
    let mut off = contract::agent("off");
    off.dreaming_enabled = false;
    store.create_agent(&off, None, None).expect("create");
    assert_eq!(
        scheduler.reconcile().expect("reconcile"),
        1,
        "only the enabled one"
    );
    let state = store
        .get_agent(&fresh.id)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(state.next_slot_ms, Some(at("2026-11-24T10:00:00Z")));

    // A frequency the old, syntactic check let through.
    let conn = rusqlite::Connection::open(dir.path().join("reverie.db")).expect("open");
    conn.execute(
        "UPDATE agents SET dreaming_frequency = '0 0 31 2 *' WHERE id = ?1",
        [&fresh.id],
    )
    .expect("update");
    clock.set(at("2026-11-24T10:00:00Z"));
    assert_eq!(scheduler.tick().expect("tick").skipped, 1);
    let dreams = store
        .list_dreams(
            &fresh.id,
            &PageRequest {
                limit: 10,
                after: None,
            },
        )
        .expect("list")
        .items;
    let reason = dreams[0].error.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("unschedulable:") && reason.contains("never fires"),
        "{reason}"
    );
    let state = store
        .get_agent(&fresh.id)
        .expect("get")
        .expect("exists")
        .schedule;
    assert_eq!(
        state.next_slot_ms, None,
        "left alone until the agent is fixed"
    );
}

/// The operator sees each queued slot (its lag included) in the log and in the
/// metrics, and an overlapping slot as such.
#[test]
fn queued_and_overlapping_slots_are_logged_and_counted_with_their_lag() {
    use crate::telemetry::logs::capture;
    use crate::telemetry::metrics::{self, sample};

    let before = metrics::render(None).expect("render");
    let w = World::new("2026-11-24T09:30:00Z", policy(0, 6 * HOUR));
    let agent = w.agent("hourly", "UTC");
    let lines = capture::json_lines(|| {
        // 10:00 fires 90 s late; 11:00 comes while that dream is still pending.
        assert_eq!(w.tick_at("2026-11-24T10:01:30Z").queued, 1);
        assert_eq!(w.tick_at("2026-11-24T11:00:00Z").overlaps, 1);
    });
    let queued = lines
        .iter()
        .find(|l| l["message"] == "scheduled dream queued")
        .unwrap_or_else(|| panic!("no queued line: {lines:?}"));
    assert_eq!(queued["target"], "reverie::scheduler");
    assert_eq!(queued["agent_id"], agent.as_str());
    assert_eq!(queued["slot"], "2026-11-24T10:00:00Z");
    assert_eq!(queued["lag_ms"], 90_000);
    assert_eq!(queued["trigger"], "catch_up");
    let overlap = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("still pending"))
        })
        .unwrap_or_else(|| panic!("no overlap line: {lines:?}"));
    assert_eq!(overlap["slot"], "2026-11-24T11:00:00Z");

    let after = metrics::render(None).expect("render");
    let moved = |labels: &str| {
        sample::value(&after, "reverie_scheduler_slots_total", labels)
            - sample::value(&before, "reverie_scheduler_slots_total", labels)
    };
    // Other tests of this process tick too: at least ours.
    assert!(moved("outcome=\"queued\"") >= 1.0);
    assert!(moved("outcome=\"overlap\"") >= 1.0);
}
