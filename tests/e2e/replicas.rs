//! Replicas on one PostgreSQL database, proven across processes: three real
//! `reverie serve` processes share 500 agents on a 20-second schedule and a
//! loopback receiver. Every slot fires once, every dream finishes once and
//! sends one event, every event reaches the receiver under one `webhook-id`;
//! a replica killed with SIGKILL in the middle of a delivery, and another in
//! the middle of a dream, lose nothing: once their leases expire another
//! replica finishes both. Then SIGTERM drains each one.
//!
//! Needs PostgreSQL: `REVERIE_TEST_DATABASE_URL`, or the server on
//! 127.0.0.1:5432 (user `postgres`, database `test`); without one the test
//! says so and passes, unless `REVERIE_REQUIRE_POSTGRES=1` (CI sets it).

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::{Duration, Instant};

use reverie::store::postgres::scratch::Scratch;
use serde_json::json;

use crate::common::server::{Server, run};
use crate::common::{REVERIE, workspace_root};
use crate::webhooks::Receiver;

const AGENTS: usize = 500;
/// The schedule: a slot every 20 s (a 6-field cron with seconds).
const EVERY: &str = "*/20 * * * * *";
const EVERY_MS: i64 = 20_000;

const CONFIG: &str = r#"
[server]
min_interactions = 0

[scheduler]
tick = "250ms"
jitter = "0s"
lease = "3s"
workers = 2
shutdown_grace = "20s"

[webhooks]
allow_networks = ["127.0.0.0/8"]
timeout = "5s"
retry_schedule = ["1s", "1s", "1s", "1s"]
senders = 2
"#;

fn db(scratch: &Scratch) -> postgres::Client {
    scratch
        .url()
        .parse::<postgres::Config>()
        .expect("the scratch URL")
        .connect(postgres::NoTls)
        .expect("connect to the test database")
}

/// The process id in a lease owner (`host:pid:tag`, `…/webhooks` for senders).
fn owner_pid(owner: &str) -> Option<u32> {
    owner.split(':').nth(1)?.parse().ok()
}

fn replica_with_pid(replicas: &mut [Server], pid: u32) -> Option<&mut Server> {
    replicas.iter_mut().find(|r| r.pid() == Some(pid))
}

/// Wait for `what` (polled every 20 ms) for at most `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn three_replicas_share_500_agents_and_lose_nothing_when_two_are_killed() {
    let Some(scratch) = Scratch::create("replicas") else {
        return;
    };
    // The first request is held unanswered: its sender is killed while it waits.
    let receiver = Receiver::start(vec![None]);
    let first = Server::start_replica(Some(CONFIG), &scratch.url(), None);
    let key = first.admin_key().to_string();
    let mut replicas = vec![
        first,
        Server::start_replica(Some(CONFIG), &scratch.url(), Some(&key)),
        Server::start_replica(Some(CONFIG), &scratch.url(), Some(&key)),
    ];
    for r in &replicas {
        assert!(
            r.startup_lines()
                .iter()
                .any(|l| l.starts_with("reverie: data in PostgreSQL at postgres://")),
            "{:?}",
            r.startup_lines()
        );
    }

    // 500 agents, created through all three replicas.
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let created = replicas[i % 3]
            .post(
                "/v1/agents",
                &json!({"name": format!("agent {i}"), "model": "m", "system_prompt": "You help.",
                        "dreaming_enabled": true, "dreaming_frequency": EVERY,
                        "feedback_webhook": receiver.url}),
            )
            .expect(201);
        agents.push(created["id"].as_str().expect("an id").to_string());
    }
    let mut pg = db(&scratch);

    // Mid-delivery: the sender of the held request is killed while it waits.
    let held = receiver.wait_for(1, &replicas[0])[0].header("webhook-id");
    let owner: String = pg
        .query_one(
            "SELECT lease_owner FROM webhook_deliveries WHERE event_id = $1 AND lease_owner IS NOT NULL",
            &[&held],
        )
        .expect("the held delivery is leased")
        .get(0);
    let pid = owner_pid(&owner).expect("a pid in the lease owner");
    replica_with_pid(&mut replicas, pid)
        .expect("a replica sent it")
        .kill_9();

    // Mid-dream: an agent with the support bot's 2,400 interactions dreams
    // long enough to be caught running; its replica is killed then.
    let live = replicas
        .iter()
        .position(|r| r.pid().is_some())
        .expect("a live replica");
    let big = replicas[live].create_agent("big");
    let data = workspace_root().join("examples/support-bot");
    run(Command::new(REVERIE)
        .args(["import", "--agent", &big, "--no-progress"])
        .arg("--interactions")
        .arg(data.join("interactions.jsonl"))
        .args(["--url", replicas[live].url(), "--api-key", &key]))
    .success();
    let mut killed_dream = None;
    for _ in 0..5 {
        let dream = replicas[live]
            .post(&format!("/v1/agents/{big}/dreams"), &json!({}))
            .expect(202)["id"]
            .as_str()
            .expect("a dream id")
            .to_string();
        let mut owner = None;
        wait_until(Duration::from_secs(120), "the big dream ends", || {
            let row = pg
                .query_one(
                    "SELECT status, lease_owner FROM dreams WHERE id = $1",
                    &[&dream],
                )
                .expect("the dream");
            let (status, lease): (String, Option<String>) = (row.get(0), row.get(1));
            owner = lease.filter(|_| status == "running");
            owner.is_some() || status != "pending"
        });
        if let Some(pid) = owner.as_deref().and_then(owner_pid)
            && let Some(replica) = replica_with_pid(&mut replicas, pid)
        {
            replica.kill_9();
            killed_dream = Some(dream);
            break;
        }
    }
    let killed_dream = killed_dream.expect("the big dream was caught running in one of 5 tries");

    // The killed replicas come back (new processes, new worker names).
    for r in &mut replicas {
        if !r.is_running() {
            r.start_again();
        }
    }
    // Let two more slots pass, then stop scheduling and let the work drain:
    // the killed delivery's lease (timeout + 30 s) expires meanwhile.
    std::thread::sleep(Duration::from_millis(2 * EVERY_MS as u64));
    for (i, agent) in agents.iter().enumerate() {
        replicas[i % 3]
            .post(&format!("/v1/agents/{agent}/schedule/pause"), &json!({}))
            .expect(200);
    }
    wait_until(
        Duration::from_secs(180),
        "the dreams and deliveries drain",
        || {
            let row = pg
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM dreams WHERE status IN ('pending', 'running')),
                        (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')",
                    &[],
                )
                .expect("queues");
            let (dreams, deliveries): (i64, i64) = (row.get(0), row.get(1));
            dreams == 0 && deliveries == 0
        },
    );

    // Every slot fired once: per agent, the slots are consecutive, none missed.
    let mut slots: HashMap<String, Vec<i64>> = HashMap::new();
    for row in pg
        .query(
            "SELECT agent_id, slot FROM dreams WHERE slot IS NOT NULL ORDER BY slot",
            &[],
        )
        .expect("slots")
    {
        slots.entry(row.get(0)).or_default().push(row.get(1));
    }
    let mut fired = 0;
    for agent in &agents {
        let mine = slots.get(agent).map(Vec::as_slice).unwrap_or_default();
        assert!(
            mine.len() >= 2,
            "agent {agent} fired {} slot(s)",
            mine.len()
        );
        assert!(
            mine.windows(2).all(|w| w[1] - w[0] == EVERY_MS),
            "agent {agent}: a slot fired twice or was missed: {mine:?}"
        );
        fired += mine.len();
    }
    let missed: i64 = pg
        .query_one(
            "SELECT COALESCE(SUM(missed_slots), 0)::BIGINT FROM schedules",
            &[],
        )
        .expect("missed")
        .get(0);
    assert_eq!(missed, 0, "no slot was passed over");

    // Every dream finished once, and sent one event.
    let statuses: BTreeMap<String, i64> = pg
        .query("SELECT status, COUNT(*) FROM dreams GROUP BY status", &[])
        .expect("statuses")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        statuses.keys().all(|s| s == "completed" || s == "skipped"),
        "{statuses:?}"
    );
    let per_dream: Vec<(String, i64)> = pg
        .query(
            "SELECT d.id, COUNT(e.id) FROM dreams d
             LEFT JOIN webhook_events e ON e.data::json->>'dream_id' = d.id
             GROUP BY d.id HAVING COUNT(e.id) <> 1",
            &[],
        )
        .expect("events per dream")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        per_dream.is_empty(),
        "dreams without exactly one event: {per_dream:?}"
    );
    let row = pg
        .query_one(
            "SELECT status, attempts FROM dreams WHERE id = $1",
            &[&killed_dream],
        )
        .expect("the killed dream");
    let (status, attempts): (String, i64) = (row.get(0), row.get(1));
    assert_eq!(
        status, "completed",
        "another replica finished the killed dream"
    );
    assert!(
        attempts >= 2,
        "claimed again after the lease expired: {attempts}"
    );

    // Every delivery reached the receiver under its event's id; the killed one again.
    let delivered: Vec<(String, String)> = pg
        .query("SELECT event_id, status FROM webhook_deliveries", &[])
        .expect("deliveries")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        delivered.iter().all(|(_, s)| s == "delivered"),
        "{:?}",
        delivered
            .iter()
            .filter(|(_, s)| s != "delivered")
            .take(5)
            .collect::<Vec<_>>()
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in receiver.requests() {
        *seen.entry(r.header("webhook-id")).or_default() += 1;
    }
    for (event, _) in &delivered {
        assert!(
            seen.contains_key(event),
            "event {event} never reached the receiver"
        );
    }
    assert!(
        seen[&held] >= 2,
        "the held delivery was sent again by another replica"
    );
    eprintln!(
        "replicas: {} agents, {fired} slots fired, {statuses:?}, {} deliveries, {} requests",
        agents.len(),
        delivered.len(),
        seen.values().sum::<usize>()
    );

    // SIGTERM drains each replica: it exits cleanly and leaves nothing running.
    for r in &mut replicas {
        let (status, took) = r.sigterm(Duration::from_secs(60));
        assert!(
            status.success(),
            "exit {status:?} after {took:?}: {}",
            r.stderr()
        );
    }
    let running: i64 = pg
        .query_one("SELECT COUNT(*) FROM dreams WHERE status = 'running'", &[])
        .expect("running")
        .get(0);
    assert_eq!(running, 0);
}
