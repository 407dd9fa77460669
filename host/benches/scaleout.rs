//! Scale-out on PostgreSQL: ingest over HTTP against raw inserts into the same
//! database (1 and 3 replicas), the scheduler's tick over 100,000 agents (1
//! and 3 schedulers at once), and dream throughput with 1 and 3 replicas.
//!
//! Needs PostgreSQL: `REVERIE_TEST_DATABASE_URL`, or the server on
//! 127.0.0.1:5432 (user `postgres`, database `test`). Every run gets a fresh
//! schema of its own (dropped after), so runs never see each other's rows.
//!
//! 1. **Ingest**: N interactions (default 20,000; `REVERIE_BENCH_N`), the
//!    support bot's 2,400 lines cycled with fresh ids, in batches of 500.
//!    *raw*: the `postgres` client from 4 connections at once (as many as the
//!    HTTP rows' client threads), one transaction and one prepared INSERT per
//!    batch, nothing else: the ceiling. *http*: real `reverie serve`
//!    processes on the same database (1, then 3), 4 client threads posting
//!    `…/interactions/batch` round-robin over the replicas, each 201 checked.
//!    Bodies are built before timing; the median of 3 runs is shown.
//! 2. **Scheduler tick**: 100,000 agents inserted by SQL, hourly, their next
//!    runs spread over 5 minutes. An idle tick (nothing due), then ticks that
//!    each fire the next 1,000 slots: one scheduler, then three schedulers
//!    (three pools, as three replicas) ticking at once over the same due set.
//! 3. **Dreams**: 40 agents with 500 of the support bot's interactions each;
//!    a dream asked for each at once; the time until the last completes, with
//!    1 replica and with 3 (2 workers each). On a 2-core machine the replicas
//!    share the same cores: the figure says what contention costs, not what
//!    three machines would give.
//!
//! `cargo bench -p reverie --bench scaleout`; see docs/BENCHMARKS.md.

#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reverie::clock::ManualClock;
use reverie::schedule::{Policy, Scheduler};
use reverie::store::postgres::scratch::Scratch;
use reverie::store::postgres::{PgOptions, PostgresStore};
use reverie::store::traits::*;
use reverie::store::{Agent, ScheduleState, Store};

const REVERIE: &str = env!("CARGO_BIN_EXE_reverie");
const BATCH: usize = 500;
const REPS: usize = 3;
const CLIENTS: usize = 4;
const DEFAULT_N: usize = 20_000;
const AGENTS_TICK: i64 = 100_000;
const DUE_PER_TICK: i64 = 1_000;
const DREAM_AGENTS: usize = 40;
const DREAM_INTERACTIONS: usize = 500;

/// 2026-01-01T00:00:00Z: the agents' next slot.
const SLOT: i64 = 1_767_225_600_000;

fn main() {
    let n = std::env::var("REVERIE_BENCH_N")
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_N);
    if Scratch::create("probe").is_none() {
        panic!(
            "no PostgreSQL: set REVERIE_TEST_DATABASE_URL to one this bench may create schemas in"
        );
    }
    let lines = support_bot();
    let bodies = batches(&lines, n);
    // `REVERIE_BENCH_ONLY=ingest|tick|dreams` runs one part.
    let only = std::env::var("REVERIE_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    if runs("ingest") {
        println!("## ingest: {n} interactions, batches of {BATCH}, median of {REPS}");
        let raw = median((0..REPS).map(|_| ingest_raw(&lines, n)).collect());
        let one = median((0..REPS).map(|_| ingest_http(&bodies, n, 1)).collect());
        let three = median((0..REPS).map(|_| ingest_http(&bodies, n, 3)).collect());
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        println!("| path | wall | interactions/s | of raw |");
        println!("|---|---:|---:|---:|");
        for (label, d) in [
            ("raw INSERTs (postgres client)", raw),
            ("HTTP, 1 replica", one),
            ("HTTP, 3 replicas", three),
        ] {
            println!(
                "| {label} | {:.2} s | {:.0} | {:.0}% |",
                d.as_secs_f64(),
                rate(d),
                100.0 * raw.as_secs_f64() / d.as_secs_f64()
            );
        }
    }
    if runs("tick") {
        println!("\n## scheduler tick: {AGENTS_TICK} agents");
        tick_bench();
    }
    if !runs("dreams") {
        return;
    }

    println!(
        "\n## dreams: {DREAM_AGENTS} agents × {DREAM_INTERACTIONS} interactions, one dream each"
    );
    println!("| replicas | wall | dreams/s |");
    println!("|---:|---:|---:|");
    for replicas in [1, 3] {
        let d = dream_bench(&lines, replicas);
        println!(
            "| {replicas} | {:.2} s | {:.1} |",
            d.as_secs_f64(),
            DREAM_AGENTS as f64 / d.as_secs_f64()
        );
    }
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// The support bot's interactions, as JSON objects.
fn support_bot() -> Vec<serde_json::Value> {
    let path = common::workspace().join("examples/support-bot/interactions.jsonl");
    let text = std::fs::read_to_string(&path).expect("the support bot's interactions");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Interaction `i` of a run: line `i % 2400` with a fresh id.
fn interaction(lines: &[serde_json::Value], i: usize) -> serde_json::Value {
    let mut line = lines[i % lines.len()].clone();
    line["id"] = serde_json::json!(format!("int_bench_{i}"));
    line
}

/// Request bodies of `BATCH` interactions each.
fn batches(lines: &[serde_json::Value], n: usize) -> Vec<String> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|chunk| {
            let items: Vec<_> = chunk.iter().map(|&i| interaction(lines, i)).collect();
            serde_json::json!({ "interactions": items }).to_string()
        })
        .collect()
}

fn agent(id: &str) -> Agent {
    Agent {
        id: id.into(),
        name: id.into(),
        model: "m".into(),
        dreaming_enabled: false,
        dreaming_frequency: "daily".into(),
        timezone: "UTC".into(),
        feedback_webhook: None,
        live_version: 1,
        system_prompt: "You help.".into(),
        created_at_ms: 0,
        updated_at_ms: 0,
        min_new_interactions: Some(1),
        schedule: ScheduleState::default(),
    }
}

fn client(scratch: &Scratch) -> postgres::Client {
    scratch
        .url()
        .parse::<postgres::Config>()
        .expect("url")
        .connect(postgres::NoTls)
        .expect("connect")
}

/// `(id, timestamp, body)` of interactions `0..n`, as the server stores them.
fn rows(lines: &[serde_json::Value], n: usize) -> Vec<(String, i64, String)> {
    (0..n)
        .map(|i| {
            let line = interaction(lines, i);
            let id = line["id"].as_str().expect("id").to_string();
            (id, i as i64, line.to_string())
        })
        .collect()
}

/// Raw inserts of `n` interactions (rows as the server stores them) for `agent_id`.
fn insert_raw(pg: &mut postgres::Client, lines: &[serde_json::Value], agent_id: &str, n: usize) {
    let rows = rows(lines, n);
    let insert = pg
        .prepare(
            "INSERT INTO interactions (agent_id, id, timestamp_ms, config_version, body, received_at)
             VALUES ($1, $2, $3, 'v1', $4, $3)",
        )
        .expect("prepare");
    for chunk in rows.chunks(BATCH) {
        let mut tx = pg.transaction().expect("begin");
        for (id, ts, body) in chunk {
            tx.execute(&insert, &[&agent_id, id, ts, body])
                .expect("insert");
        }
        tx.commit().expect("commit");
    }
}

/// Raw inserts from `CLIENTS` connections at once, as many as the HTTP rows'
/// client threads: each takes the next batch, one transaction per batch.
fn ingest_raw(lines: &[serde_json::Value], n: usize) -> Duration {
    let scratch = Scratch::create("bench_raw").expect("a scratch schema");
    let store = scratch.store(2).expect("migrate");
    store
        .create_agent(&agent("agt_raw"), None, None)
        .expect("agent");
    let rows = rows(lines, n);
    let chunks: Vec<&[(String, i64, String)]> = rows.chunks(BATCH).collect();
    let mut clients: Vec<postgres::Client> = (0..CLIENTS).map(|_| client(&scratch)).collect();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for pg in &mut clients {
            let (next, chunks) = (&next, &chunks);
            scope.spawn(move || {
                let insert = pg
                    .prepare(
                        "INSERT INTO interactions (agent_id, id, timestamp_ms, config_version, body, received_at)
                         VALUES ($1, $2, $3, 'v1', $4, $3)",
                    )
                    .expect("prepare");
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(chunk) = chunks.get(i) else { break };
                    let mut tx = pg.transaction().expect("begin");
                    for (id, ts, body) in chunk.iter() {
                        tx.execute(&insert, &[&"agt_raw", id, ts, body])
                            .expect("insert");
                    }
                    tx.commit().expect("commit");
                }
            });
        }
    });
    let took = started.elapsed();
    let count: i64 = clients[0]
        .query_one("SELECT COUNT(*) FROM interactions", &[])
        .expect("count")
        .get(0);
    assert_eq!(count as usize, n);
    took
}

/// A `reverie serve` on the scratch database; its URL and the key it printed.
struct Replica {
    child: Child,
    url: String,
    key: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(scratch: &Scratch, config: &str) -> Replica {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("reverie.toml");
    std::fs::write(&config_path, config).expect("config");
    let mut child = Command::new(REVERIE)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &scratch.url(),
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reverie serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut url, mut key) = (None, None);
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if line.trim().starts_with("rvk_") {
            key = Some(line.trim().to_string());
        }
        if let Some(addr) = line.strip_prefix("reverie: listening on ") {
            url = Some(addr.trim().to_string());
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Replica {
        child,
        url: url.expect("the server said where it listens"),
        key,
        _dir: dir,
    }
}

fn start_replicas(scratch: &Scratch, config: &str, count: usize) -> (Vec<Replica>, String) {
    let first = start_replica(scratch, config);
    let key = first.key.clone().expect("the first replica printed a key");
    let mut replicas = vec![first];
    replicas.extend((1..count).map(|_| start_replica(scratch, config)));
    (replicas, key)
}

fn ingest_http(bodies: &[String], n: usize, replicas: usize) -> Duration {
    let scratch = Scratch::create("bench_http").expect("a scratch schema");
    let (replicas, key) = start_replicas(&scratch, "[scheduler]\nenabled = false\n", replicas);
    let http = reqwest::blocking::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/v1/agents", replicas[0].url))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "bench", "model": "m", "dreaming_enabled": false}))
        .send()
        .expect("create an agent")
        .json()
        .expect("json");
    let agent = created["id"].as_str().expect("an id").to_string();
    let urls: Vec<String> = replicas
        .iter()
        .map(|r| format!("{}/v1/agents/{agent}/interactions/batch", r.url))
        .collect();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            let (next, urls, key, http) = (&next, &urls, &key, &http);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(body) = bodies.get(i) else { break };
                    let reply = http
                        .post(&urls[i % urls.len()])
                        .bearer_auth(key)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .expect("post a batch");
                    assert_eq!(
                        reply.status().as_u16(),
                        201,
                        "{}",
                        reply.text().unwrap_or_default()
                    );
                }
            });
        }
    });
    let took = started.elapsed();
    let count: i64 = client(&scratch)
        .query_one("SELECT COUNT(*) FROM interactions", &[])
        .expect("count")
        .get(0);
    assert_eq!(count as usize, n);
    drop(replicas);
    took
}

fn tick_bench() {
    let scratch = Scratch::create("bench_tick").expect("a scratch schema");
    drop(scratch.store(1).expect("migrate"));
    let mut pg = client(&scratch);
    let started = Instant::now();
    pg.batch_execute(&format!(
        "INSERT INTO agents (id, name, model, dreaming_enabled, dreaming_frequency, timezone,
                             live_version, created_at, updated_at)
           SELECT 'agt_' || g, 'agent ' || g, 'm', TRUE, 'hourly', 'UTC', 1, 0, 0
           FROM generate_series(1, {AGENTS_TICK}) g;
         INSERT INTO config_versions (agent_id, version, system_prompt, created_at)
           SELECT 'agt_' || g, 1, 'You help.', 0 FROM generate_series(1, {AGENTS_TICK}) g;
         ANALYZE;"
    ))
    .expect("populate");
    let policy = Policy {
        jitter_max_ms: 300_000,
        catch_up_window_ms: 6 * 3_600_000,
    };
    // Each agent's next slot and run time as the server computes them (its
    // share of the jitter), so that a tick finds them due exactly then.
    let mut due: Vec<(String, i64, i64)> = (1..=AGENTS_TICK)
        .map(|g| {
            let mut a = agent(&format!("agt_{g}"));
            a.dreaming_enabled = true;
            a.dreaming_frequency = "hourly".into();
            let next = policy.next_for(&a, SLOT - 1).expect("an hourly slot");
            (a.id, next.slot_ms, next.run_at_ms)
        })
        .collect();
    for chunk in due.chunks(5_000) {
        let ids: Vec<&str> = chunk.iter().map(|d| d.0.as_str()).collect();
        let slots: Vec<i64> = chunk.iter().map(|d| d.1).collect();
        let runs: Vec<i64> = chunk.iter().map(|d| d.2).collect();
        pg.execute(
            "INSERT INTO schedules (agent_id, next_slot, next_run_at)
             SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[])",
            &[&ids, &slots, &runs],
        )
        .expect("schedules");
    }
    pg.batch_execute("ANALYZE").expect("analyze");
    due.sort_by_key(|d| d.2);
    println!("populated in {:.1} s", started.elapsed().as_secs_f64());
    let stores: Vec<Arc<dyn Store>> = (0..3)
        .map(|_| {
            Arc::new(
                PostgresStore::connect(&PgOptions {
                    url: scratch.url(),
                    pool_size: 2,
                })
                .expect("connect"),
            ) as Arc<dyn Store>
        })
        .collect();
    let clock = ManualClock::new(due[0].2 - 1);
    let schedulers: Vec<Scheduler> = stores
        .iter()
        .map(|s| Scheduler::new(s.clone(), policy, Arc::new(clock.clone())))
        .collect();

    let idle: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let tick = schedulers[0].tick().expect("idle tick");
            assert_eq!(tick.queued, 0);
            t.elapsed()
        })
        .collect();
    println!("| tick | schedulers | slots fired | wall | per slot |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| idle (nothing due) | 1 | 0 | {:.2} ms | - |",
        median(idle).as_secs_f64() * 1e3
    );
    let mut fired_so_far = 0usize;
    for (label, concurrent) in [("1,000 due", 1usize), ("1,000 due", 3)] {
        for _ in 0..3 {
            fired_so_far += DUE_PER_TICK as usize;
            clock.set(due[fired_so_far - 1].2);
            let t = Instant::now();
            let fired: u32 = std::thread::scope(|scope| {
                let handles: Vec<_> = schedulers[..concurrent]
                    .iter()
                    .map(|s| scope.spawn(move || s.tick().expect("due tick")))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        let tick = h.join().expect("a scheduler");
                        tick.queued + tick.overlaps
                    })
                    .sum()
            });
            let took = t.elapsed();
            println!(
                "| {label} | {concurrent} | {fired} | {:.0} ms | {:.2} ms |",
                took.as_secs_f64() * 1e3,
                took.as_secs_f64() * 1e3 / f64::from(fired.max(1))
            );
        }
    }
    let dreams: i64 = pg
        .query_one("SELECT COUNT(*) FROM dreams", &[])
        .expect("count")
        .get(0);
    let slots: i64 = pg
        .query_one("SELECT COUNT(DISTINCT (agent_id, slot)) FROM dreams", &[])
        .expect("count")
        .get(0);
    assert_eq!(dreams, slots, "no slot fired twice");
}

fn dream_bench(lines: &[serde_json::Value], replicas: usize) -> Duration {
    let scratch = Scratch::create("bench_dreams").expect("a scratch schema");
    let store = scratch.store(2).expect("migrate");
    let mut pg = client(&scratch);
    let ids: Vec<String> = (0..DREAM_AGENTS)
        .map(|i| format!("agt_dream_{i}"))
        .collect();
    for id in &ids {
        store.create_agent(&agent(id), None, None).expect("agent");
        insert_raw(&mut pg, lines, id, DREAM_INTERACTIONS);
    }
    let config = "[scheduler]\nenabled = false\nworkers = 2\n";
    let (running, key) = start_replicas(&scratch, config, replicas);
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let reply = http
            .post(format!(
                "{}/v1/agents/{id}/dreams",
                running[i % running.len()].url
            ))
            .bearer_auth(&key)
            .json(&serde_json::json!({}))
            .send()
            .expect("ask for a dream");
        assert_eq!(reply.status().as_u16(), 202);
    }
    loop {
        let row = pg
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE status = 'completed'),
                        COUNT(*) FILTER (WHERE status IN ('failed', 'skipped'))
                 FROM dreams",
                &[],
            )
            .expect("count");
        let (done, bad): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(bad, 0, "a dream failed or was skipped");
        if done as usize == DREAM_AGENTS {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    drop(running);
    took
}
