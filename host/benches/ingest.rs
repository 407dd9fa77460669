//! Batch ingest over HTTP against raw inserts into the same SQLite in one
//! process: what the API costs over the database it writes to.
//!
//! Every row inserts the same N interactions (default 100,000; `REVERIE_BENCH_N`
//! sets another) into a fresh database made by `SqliteStore::open` (so the same
//! schema, WAL and `synchronous=FULL`), in transactions of 500:
//!
//! - **raw**: rusqlite directly, one `BEGIN IMMEDIATE` per batch and one prepared
//!   `INSERT`; nothing else. The ceiling.
//! - **store**: `Store::insert_interactions`, in process: what the store adds
//!   (the agent check, error mapping, the mutex).
//! - **http**: the real `reverie serve` on 127.0.0.1:0, K client threads
//!   (reqwest, blocking) posting `{"interactions":[...]}` batches of 500 to
//!   `/v1/agents/{id}/interactions/batch` and checking each 201. K = 1 and 4.
//!
//! The interactions are the 2,400 lines of `examples/support-bot/interactions.jsonl`
//! (~2.8 KB each) cycled with fresh ids; records and request bodies are built
//! before timing, so neither side pays for making its input. Each row is run 3
//! times, interleaved, on a fresh database each time; the run with the median
//! wall time is shown. Every run ends by counting the rows in the database.
//! The timer stops when the last batch has committed (raw, store) or when its
//! 201 has arrived (http); server start-up and agent creation are not timed.
//!
//! Besides throughput, each run records CPU time (the bench process; the
//! server process for http), bytes the runs sent to the disk
//! (`/proc/<pid>/io` `write_bytes`), and the CPU time other processes took
//! meanwhile: on a two-core machine a busy neighbour skews everything. A last
//! line times the handler's per-interaction parse alone over the same bodies,
//! the part of the HTTP path that the in-process rows do not have.
//!
//! `cargo bench -p reverie --bench ingest`; see docs/BENCHMARKS.md.

// This bench uses only the workspace path, throughput and the idle check.
#[allow(dead_code)]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reverie::store::sqlite::SqliteStore;
use reverie::store::traits::*;
use reverie::store::{Agent, InteractionRecord};
use rusqlite::{Connection, TransactionBehavior, params};

/// Built by cargo from the current source with the bench profile, beside this bench.
const REVERIE: &str = env!("CARGO_BIN_EXE_reverie");

/// Interactions per transaction (raw, store) and per request (http).
const BATCH: usize = 500;
/// Runs of each row; the median is shown.
const REPS: usize = 3;
/// Client threads for the http rows.
const CLIENTS: &[usize] = &[1, 4];
const DEFAULT_N: usize = 100_000;
/// The agent of the in-process rows (http makes its own through the API).
const AGENT_ID: &str = "agt_ingestbench";

const INSERT: &str =
    "INSERT INTO interactions (agent_id, id, timestamp_ms, config_version, body, received_at)
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// What is inserted, prepared once for every run.
struct Data {
    records: Vec<InteractionRecord>,
    /// `{"interactions":[...]}` of each batch, the same records' bodies.
    requests: Vec<String>,
    body_bytes: u64,
}

/// One timed run.
#[derive(Clone, Copy, Default)]
struct Run {
    wall: Duration,
    /// CPU time of this process (the inserting code; the clients for http).
    bench_cpu: Duration,
    /// CPU time of the server process (http only).
    server_cpu: Option<Duration>,
    /// Bytes sent to storage by this process and the server.
    disk_bytes: u64,
    /// CPU time other processes took meanwhile.
    others: Duration,
}

#[derive(Clone, Copy, PartialEq)]
enum Row {
    Raw,
    Store,
    Http { clients: usize },
}

impl Row {
    fn label(self) -> String {
        match self {
            Row::Raw => "raw".into(),
            Row::Store => "store".into(),
            Row::Http { clients } => format!("http K={clients}"),
        }
    }
}

fn main() {
    let n = match std::env::var("REVERIE_BENCH_N") {
        Ok(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("REVERIE_BENCH_N must be a positive integer, got {text:?}")),
        Err(_) => DEFAULT_N,
    };
    if !Path::new(REVERIE).is_file() {
        panic!(
            "the reverie binary is missing at {REVERIE}; run this through \
             `cargo bench -p reverie --bench ingest`, which builds it"
        );
    }
    let data = prepare(n);
    eprintln!(
        "{n} interactions, {:.1} MB of bodies ({:.0} B each), batches of {BATCH}",
        data.body_bytes as f64 / 1e6,
        data.body_bytes as f64 / n as f64
    );

    let mut rows: Vec<Row> = vec![Row::Raw, Row::Store];
    rows.extend(CLIENTS.iter().map(|&clients| Row::Http { clients }));
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); rows.len()];
    for rep in 1..=REPS {
        for (row, path) in rows.iter().enumerate() {
            eprintln!("run {rep}/{REPS}: {}", path.label());
            let run = match *path {
                Row::Raw => raw(&data),
                Row::Store => store(&data),
                Row::Http { clients } => http(&data, clients),
            };
            eprintln!(
                "  {:.2} s, {:.0} interactions/s, others {:.2} CPU-s",
                run.wall.as_secs_f64(),
                n as f64 / run.wall.as_secs_f64(),
                run.others.as_secs_f64()
            );
            runs[row].push(run);
        }
    }
    let medians: Vec<Run> = runs.iter().map(|r| median(r)).collect();
    eprintln!("parsing alone");
    let mut parses: Vec<Duration> = (0..REPS).map(|_| parse_alone(&data)).collect();
    parses.sort();
    print(&data, &rows, &medians, parses[REPS / 2]);
}

/// What the handler does to each interaction before the store sees it, alone:
/// the typed parse that validates it (`input::parse_interaction_with_id`).
fn parse_alone(data: &Data) -> Duration {
    let started = Instant::now();
    for r in &data.records {
        let parsed = reverie::input::parse_interaction_with_id(&r.body, "int_unused")
            .unwrap_or_else(|e| panic!("{}: {e}", r.id));
        std::hint::black_box(parsed);
    }
    started.elapsed()
}

/// The example interactions cycled to `n`, each with a fresh id.
fn prepare(n: usize) -> Data {
    let file = common::workspace().join("examples/support-bot/interactions.jsonl");
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    // Each line opens with its id; keep what follows it, and what it says
    // about its time and version (the columns the store fills).
    let templates: Vec<(String, i64, String)> = text
        .lines()
        .map(|line| {
            let parsed = reverie::input::parse_interaction(line)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let rest = line
                .strip_prefix("{\"id\":\"")
                .and_then(|rest| rest.split_once('"'))
                .map(|(_, tail)| tail.to_string())
                .unwrap_or_else(|| panic!("{}: a line not opening with its id", file.display()));
            let version = parsed.config_version.unwrap_or_else(|| "v1".into());
            (rest, parsed.timestamp_ms, version)
        })
        .collect();
    let received = chrono::Utc::now().timestamp_millis();
    let records: Vec<InteractionRecord> = (0..n)
        .map(|i| {
            let (tail, timestamp_ms, version) = &templates[i % templates.len()];
            let id = format!("int_bench{i:08}");
            InteractionRecord {
                body: format!("{{\"id\":\"{id}\"{tail}"),
                id,
                timestamp_ms: *timestamp_ms,
                config_version: version.clone(),
                received_at_ms: received,
            }
        })
        .collect();
    let requests = records
        .chunks(BATCH)
        .map(|batch| {
            let mut body = String::from("{\"interactions\":[");
            for (i, r) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&r.body);
            }
            body.push_str("]}");
            body
        })
        .collect();
    let body_bytes = records.iter().map(|r| r.body.len() as u64).sum();
    Data {
        records,
        requests,
        body_bytes,
    }
}

fn bench_agent() -> Agent {
    let now = chrono::Utc::now().timestamp_millis();
    Agent {
        id: AGENT_ID.into(),
        name: "ingest bench".into(),
        model: "bench".into(),
        dreaming_enabled: false,
        dreaming_frequency: "daily".into(),
        timezone: "UTC".into(),
        feedback_webhook: None,
        live_version: 1,
        system_prompt: String::new(),
        created_at_ms: now,
        updated_at_ms: now,
        min_new_interactions: None,
        schedule: Default::default(),
    }
}

/// A fresh data directory with the store's database and the bench agent in it.
fn fresh_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let store = SqliteStore::open(dir.path()).expect("open the store");
    store
        .create_agent(&bench_agent(), None, None)
        .expect("create the bench agent");
    (dir, store)
}

/// rusqlite straight into the store's database: the ceiling.
fn raw(data: &Data) -> Run {
    let (dir, store) = fresh_store();
    drop(store);
    let mut conn = Connection::open(dir.path().join("reverie.db")).expect("open the database");
    // What the store sets on every connection (journal_mode=WAL is in the file).
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("foreign_keys");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy_timeout");
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal", "the store's database is in WAL mode");
    let run = measure(None, || {
        for batch in data.records.chunks(BATCH) {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .expect("begin");
            {
                let mut insert = tx.prepare_cached(INSERT).expect("prepare");
                for r in batch {
                    insert
                        .execute(params![
                            AGENT_ID,
                            r.id,
                            r.timestamp_ms,
                            r.config_version,
                            r.body,
                            r.received_at_ms
                        ])
                        .expect("insert");
                }
            }
            tx.commit().expect("commit");
        }
    });
    drop(conn);
    check_count(dir.path(), data.records.len());
    run
}

/// `Store::insert_interactions`, in process.
fn store(data: &Data) -> Run {
    let (dir, store) = fresh_store();
    let run = measure(None, || {
        for batch in data.records.chunks(BATCH) {
            store
                .insert_interactions(AGENT_ID, batch, None)
                .expect("insert a batch");
        }
    });
    drop(store);
    check_count(dir.path(), data.records.len());
    run
}

/// The real server, `clients` threads posting the batches.
fn http(data: &Data, clients: usize) -> Run {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let server = Server::start(dir.path());
    let agent = server.create_agent();
    let url = format!("{}/v1/agents/{agent}/interactions/batch", server.url);
    // One connection per client, opened before timing.
    let clients: Vec<reqwest::blocking::Client> = (0..clients)
        .map(|_| {
            let client = http_client();
            let health = client
                .get(format!("{}/healthz", server.url))
                .send()
                .expect("GET /healthz");
            assert!(
                health.status().is_success(),
                "GET /healthz: {}",
                health.status()
            );
            client
        })
        .collect();
    let next = AtomicUsize::new(0);
    let run = measure(Some(server.child.id()), || {
        std::thread::scope(|scope| {
            for client in &clients {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = data.requests.get(i) else {
                            break;
                        };
                        let response = client
                            .post(&url)
                            .bearer_auth(&server.key)
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body.clone())
                            .send()
                            .unwrap_or_else(|e| panic!("POST batch {i}: {e}"));
                        let status = response.status();
                        // Read the whole response, so the connection is reused.
                        let text = response.text().unwrap_or_default();
                        assert_eq!(status.as_u16(), 201, "POST batch {i}: {text}");
                    }
                });
            }
        });
    });
    drop(server);
    check_count(dir.path(), data.records.len());
    run
}

fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("an HTTP client")
}

/// `reverie serve` on a fresh data directory; killed when dropped, panics included.
struct Server {
    child: Child,
    url: String,
    /// The admin key it printed on its first start.
    key: String,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(REVERIE)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("REVERIE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {REVERIE}: {e}"));
        let stdout = child.stdout.take().expect("the server's stdout");
        // Guard the child before anything can panic.
        let mut server = Server {
            child,
            url: String::new(),
            key: String::new(),
        };
        // Read the start-up lines, then keep draining so the server never blocks on a full pipe.
        let (lines, announced) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The receiver is gone once start-up is read; keep draining.
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        while server.url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = announced
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("reverie serve did not say where it listens: {e}"));
            let line = line.trim();
            if line.starts_with(reverie::api::auth::TOKEN_PREFIX) {
                server.key = line.to_string();
            } else if let Some(url) = line.strip_prefix("reverie: listening on ") {
                server.url = url.to_string();
            }
        }
        assert!(!server.key.is_empty(), "reverie serve printed no admin key");
        server
    }

    /// An agent that never dreams (nothing else may run during the bench).
    fn create_agent(&self) -> String {
        let response = http_client()
            .post(format!("{}/v1/agents", self.url))
            .bearer_auth(&self.key)
            .json(&serde_json::json!({
                "name": "ingest bench",
                "model": "bench",
                "dreaming_enabled": false,
            }))
            .send()
            .expect("POST /v1/agents");
        let status = response.status();
        let text = response.text().expect("the agent response");
        assert_eq!(status.as_u16(), 201, "POST /v1/agents: {text}");
        let agent: serde_json::Value = serde_json::from_str(&text).expect("agent JSON");
        agent["id"].as_str().expect("an agent id").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every interaction is in the database.
fn check_count(data_dir: &Path, expected: usize) {
    let conn = Connection::open(data_dir.join("reverie.db")).expect("open the database");
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM interactions", [], |r| r.get(0))
        .expect("count interactions");
    assert_eq!(count as usize, expected, "interactions in the database");
}

/// Time `work`, with CPU and disk use of this process and of `server`.
fn measure(server: Option<u32>, work: impl FnOnce()) -> Run {
    let busy = common::machine_busy();
    let own = (self_cpu(), write_bytes("self"));
    let theirs = server.map(|pid| (process_cpu(pid), write_bytes(&pid.to_string())));
    let started = Instant::now();
    work();
    let wall = started.elapsed();
    let bench_cpu = self_cpu() - own.0;
    let mut disk_bytes = write_bytes("self") - own.1;
    let server_cpu = server.zip(theirs).map(|(pid, (cpu, disk))| {
        disk_bytes += write_bytes(&pid.to_string()) - disk;
        process_cpu(pid) - cpu
    });
    let busy = common::machine_busy()
        .zip(busy)
        .map(|(after, before)| after - before);
    Run {
        wall,
        bench_cpu,
        server_cpu,
        disk_bytes,
        others: busy
            .unwrap_or_default()
            .saturating_sub(bench_cpu + server_cpu.unwrap_or_default()),
    }
}

/// User and system CPU time of this process, all threads.
fn self_cpu() -> Duration {
    // SAFETY: rusage is plain old data, so all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a pointer to a live local of the right type.
    let done = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(done, 0, "getrusage: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// User and system CPU time of process `pid`, from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The command name is in parentheses and may hold spaces; fields follow it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the name: state is field 3, utime 14 and stime 15 (proc(5)).
    let ticks = |field: usize| -> u64 {
        fields
            .get(field - 3)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros((ticks(14) + ticks(15)) * 1_000_000 / hz)
}

/// Bytes process `pid` ("self" for this one) has caused to be sent to storage.
fn write_bytes(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The run with the median wall time.
fn median(runs: &[Run]) -> Run {
    let mut sorted = runs.to_vec();
    sorted.sort_by_key(|r| r.wall);
    sorted[sorted.len() / 2]
}

fn print(data: &Data, rows: &[Row], medians: &[Run], parse: Duration) {
    let n = data.records.len();
    let rate = |r: &Run| n as f64 / r.wall.as_secs_f64();
    let of = |path: Row| {
        rows.iter()
            .position(|&p| p == path)
            .map(|i| rate(&medians[i]))
            .unwrap_or(f64::NAN)
    };
    let (raw, store) = (of(Row::Raw), of(Row::Store));
    let commits = n.div_ceil(BATCH);
    println!(
        "\ningest: {n} interactions ({:.0} B each on average), batches of {BATCH}, \
         {commits} commits per run; median of {REPS} runs\n",
        data.body_bytes as f64 / n as f64
    );
    println!(
        "{:<10} {:>7} {:>14} {:>7} {:>8} {:>9} {:>9} {:>8} {:>7} {:>9} {:>9}",
        "path",
        "s",
        "interactions/s",
        "MB/s",
        "ms/batch",
        "bench cpu",
        "srv cpu",
        "disk MB",
        "vs raw",
        "vs store",
        "others s"
    );
    for (path, r) in rows.iter().zip(medians) {
        println!(
            "{:<10} {:>7.2} {:>14.0} {:>7.1} {:>8.1} {:>9.2} {:>9} {:>8.0} {:>6.0}% {:>8.0}% {:>9.2}",
            path.label(),
            r.wall.as_secs_f64(),
            rate(r),
            common::mb_per_s(data.body_bytes, r.wall),
            r.wall.as_secs_f64() * 1e3 / commits as f64,
            r.bench_cpu.as_secs_f64(),
            r.server_cpu
                .map_or("-".to_string(), |c| format!("{:.2}", c.as_secs_f64())),
            r.disk_bytes as f64 / 1e6,
            rate(r) / raw * 100.0,
            rate(r) / store * 100.0,
            r.others.as_secs_f64(),
        );
    }
    println!(
        "\nbench cpu: CPU s of the bench process (the inserts; for http the clients); \
         srv cpu: of the server; disk MB: written to storage by both (/proc/<pid>/io); \
         others s: CPU s other processes took meanwhile (more than a few tenths: the machine was shared)"
    );
    for (path, r) in rows.iter().zip(medians) {
        if let Row::Http { clients } = path {
            println!(
                "target http/raw >= 50%: K={clients} {:.0}% ({}); http/store {:.0}%",
                rate(r) / raw * 100.0,
                if rate(r) / raw >= 0.5 {
                    "met"
                } else {
                    "missed"
                },
                rate(r) / store * 100.0
            );
        }
    }
    println!(
        "\nthe handler's per-interaction parse alone (input::parse_interaction_with_id, \
         one thread, median of {REPS}): {:.2} s, {:.1} us per interaction, {:.1} ms per batch",
        parse.as_secs_f64(),
        parse.as_secs_f64() * 1e6 / n as f64,
        parse.as_secs_f64() * 1e3 / commits as f64
    );
    println!("\nreproduce: cargo bench -p reverie --bench ingest   (REVERIE_BENCH_N={n})");
}
