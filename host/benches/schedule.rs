//! The scheduler over 100,000 agents: the cost of one tick, and the memory
//! each scheduled agent takes.
//!
//! Three SQLite stores (1k, 10k and 100k agents) are made in temporary data
//! directories by `SqliteStore::open` (schema, WAL, `synchronous=FULL`), and
//! the agents through `Store::create_agent`, as the API makes them (one
//! fsynced transaction each: ~0.13 ms on this machine's disk, so ~14 s for
//! 100k). Each agent's next slot comes from `Policy::next_for`, with the
//! server's default policy (jitter up to 5 min, catch-up window 6 h). The
//! mix: 70% `daily`, 20% `hourly`, 5% `*/15 * * * *`, 5% `0 9 * * MON-FRI`,
//! each in one of UTC, America/New_York, Europe/Berlin and Asia/Tokyo, from a
//! fixed seed. Agents are created at 02:50 UTC, so the first slots to come
//! due are the 03:00 UTC burst (hourly, daily in UTC, every 15 minutes).
//!
//! Measured:
//! 1. `Policy::next_for` per call, per expression and zone (and
//!    `Policy::next_slot` with the schedule parsed once).
//! 2. An idle tick (clock just before the earliest `next_run_at`), at 1k, 10k
//!    and 100k agents, interleaved in rounds.
//! 3. Ticks with N = 1, 100 and 1,000 slots due, at 10k and 100k agents:
//!    the clock is set to the N-th earliest `next_run_at` each time, so each
//!    tick fires the next N slots (ties can add one or two), and the fired
//!    agents move on to their next slot as they would in service. Wall and
//!    CPU time per slot, and bytes written to disk.
//! 4. Disk: each database's size after `PRAGMA wal_checkpoint(TRUNCATE)`, per
//!    agent, with the 100k database split by table and index (`dbstat`).
//! 5. Process memory over the ticks: the Rust heap (a counting global
//!    allocator: its peak during the ticks and what is still held after),
//!    SQLite's heap (`sqlite3_memory_used`) and VmRSS. The scheduler keeps
//!    nothing per agent between ticks, so what a tick holds is its due batch.
//!
//! `cargo bench -p reverie --bench schedule`; see docs/BENCHMARKS.md.

// This bench uses only the idle check.
#[allow(dead_code)]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use reverie::clock::ManualClock;
use reverie::schedule::cron::Schedule;
use reverie::schedule::{Policy, Scheduler, Tick};
use reverie::store::sqlite::SqliteStore;
use reverie::store::traits::*;
use reverie::store::{Agent, Store};
use rusqlite::{Connection, params};

/// Counts the bytes Rust code holds (SQLite allocates with libc's malloc, not
/// through this), to see what the scheduler keeps.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Counting;

static HELD: AtomicI64 = AtomicI64::new(0);
static HELD_PEAK: AtomicI64 = AtomicI64::new(0);

fn count(delta: i64) {
    let held = HELD.fetch_add(delta, Ordering::Relaxed) + delta;
    if held > HELD_PEAK.load(Ordering::Relaxed) {
        HELD_PEAK.fetch_max(held, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counting touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Agent counts; the last is the one the due ticks and memory run on.
const SIZES: &[usize] = &[1_000, 10_000, 100_000];
/// The server's defaults (`[scheduler]` in the config).
const POLICY: Policy = Policy {
    jitter_max_ms: 300_000,
    catch_up_window_ms: 6 * 3_600_000,
};
/// When the agents are created (a Tuesday, ten minutes before 03:00 UTC).
const CREATED: &str = "2026-11-24T02:50:00Z";
const ZONES: &[&str] = &["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"];
const PROMPT: &str = "You are the support assistant of a small online shop. Answer briefly, \
                      cite the order number, and hand refunds to a person.";

/// Idle ticks: rounds (interleaved over the sizes) of this many ticks.
const IDLE_ROUNDS: usize = 5;
const IDLE_TICKS: usize = 200;
/// Due ticks at the largest size: (slots due, ticks).
const DUE: &[(usize, usize)] = &[(1, 30), (100, 10), (1_000, 3)];
/// Calls per `next_for` measurement.
const NEXT_CALLS: usize = 20_000;

fn main() {
    let created = chrono::DateTime::parse_from_rfc3339(CREATED)
        .expect("CREATED is RFC 3339")
        .timestamp_millis();
    let busy_start = common::machine_busy();
    let cpu_start = self_cpu();

    // 1. next_for, before anything else is in memory.
    eprintln!("timing Policy::next_for");
    let next_rows = time_next_for(created);

    // Set-up: one data directory per size, agents made through the Store.
    let dirs: Vec<tempfile::TempDir> = SIZES
        .iter()
        .map(|_| tempfile::tempdir().expect("a temporary data directory"))
        .collect();
    let mut disks = Vec::new();
    let mut peak_minute = 0;
    let mut create = Duration::ZERO;
    let mut setup_time = Duration::ZERO;
    for (&n, dir) in SIZES.iter().zip(&dirs) {
        eprintln!("creating {n} agents");
        let started = Instant::now();
        let (run_ats, median) = populate(dir.path(), n, created);
        if n == *SIZES.last().expect("SIZES is not empty") {
            peak_minute = busiest_minute(run_ats);
            create = median;
            setup_time = started.elapsed();
        }
        let disk = disk_use(dir.path(), n);
        eprintln!(
            "  {n} agents in {:.1} s; {:.1} MB on disk",
            started.elapsed().as_secs_f64(),
            disk.file_bytes as f64 / 1e6
        );
        disks.push(disk);
    }

    // The stores, each with its own clock and scheduler, as `serve` makes them.
    let rss_before_open = status_kb("VmRSS") * 1024;
    let setups: Vec<Setup> = dirs.iter().map(|d| Setup::open(d.path())).collect();
    // One idle tick each first: a store opens its reader connection on its
    // first read, once, and that is not what a tick holds.
    for s in &setups {
        s.clock.set(s.earliest() - 1);
        s.scheduler.tick().expect("warm-up tick");
    }
    let rss_open = status_kb("VmRSS") * 1024;
    reset_peak();
    let mut mem = Vec::new();

    // 2. Idle ticks, interleaved over the sizes.
    // Room for every sample up front, so the phase's heap is the scheduler's.
    let mut idle: Vec<Vec<Duration>> = setups
        .iter()
        .map(|_| Vec::with_capacity(IDLE_ROUNDS * IDLE_TICKS))
        .collect();
    mem.push(measure_memory("idle ticks, all three sizes", || {
        for round in 1..=IDLE_ROUNDS {
            eprintln!("idle ticks, round {round}/{IDLE_ROUNDS}");
            for (s, samples) in setups.iter().zip(idle.iter_mut()) {
                s.clock.set(s.earliest() - 1);
                for _ in 0..IDLE_TICKS {
                    let started = Instant::now();
                    let tick = s.scheduler.tick().expect("idle tick");
                    samples.push(started.elapsed());
                    assert_eq!(tick, Tick::default(), "an idle tick acted on something");
                }
            }
        }
    }));

    // 3. Due ticks at 10k and at 100k.
    let mut due_rows = Vec::new();
    for (&n, s) in SIZES.iter().zip(&setups).skip(1) {
        let mut rows = due_rows_for(n);
        mem.push(measure_memory(
            &format!("due ticks at {} agents", thousands(n)),
            || due_ticks(s, &mut rows),
        ));
        due_rows.extend(rows);
    }
    let rss_end = status_kb("VmRSS") * 1024;
    let peak = peak_rss();

    let fsync = time_fsync(dirs[0].path());
    let others = common::machine_busy()
        .zip(busy_start)
        .map(|(end, start)| (end - start).saturating_sub(self_cpu() - cpu_start));

    print_results(Results {
        next_rows,
        create,
        setup_time,
        disks,
        peak_minute,
        idle,
        due_rows,
        mem,
        rss: [rss_before_open, rss_open, rss_end],
        peak,
        fsync,
        others,
    });
    drop(setups);
}

/// Empty rows for the `DUE` ticks at `agents`, with room for their samples.
fn due_rows_for(agents: usize) -> Vec<DueRow> {
    DUE.iter()
        .map(|&(n, ticks)| DueRow {
            agents,
            n,
            planned: ticks,
            ticks: Vec::with_capacity(ticks),
            fired: 0,
            cpu: Duration::ZERO,
            disk: 0,
        })
        .collect()
}

/// The `DUE` ticks on one store: each sets the clock to the N-th earliest
/// `next_run_at` and fires what is due.
fn due_ticks(s: &Setup, rows: &mut [DueRow]) {
    for row in rows {
        let n = row.n;
        let ticks = row.planned;
        eprintln!(
            "{} agents: {ticks} ticks with {n} slots due",
            thousands(row.agents)
        );
        for _ in 0..ticks {
            let now = s.nth_run_at(n);
            s.clock.set(now);
            let (cpu, disk) = (self_cpu(), write_bytes());
            let started = Instant::now();
            let tick = s.scheduler.tick().expect("due tick");
            row.ticks.push(started.elapsed());
            row.cpu += self_cpu() - cpu;
            row.disk += write_bytes() - disk;
            let fired = (tick.queued + tick.overlaps + tick.skipped + tick.moved) as usize;
            assert!(fired >= n, "{n} due, {fired} fired: {tick:?}");
            assert_eq!(tick.moved, 0, "one scheduler, yet a slot moved");
            assert!(
                s.store
                    .due_schedules(now, 1)
                    .expect("due schedules")
                    .is_empty(),
                "slots still due after a tick"
            );
            row.fired += fired;
        }
    }
}

/// A store with its clock and scheduler, and a connection of the bench's own
/// to find the next slots with.
struct Setup {
    store: Arc<dyn Store>,
    clock: ManualClock,
    scheduler: Scheduler,
    peek: Connection,
}

impl Setup {
    fn open(dir: &Path) -> Setup {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).expect("open the store"));
        let clock = ManualClock::new(0);
        let scheduler = Scheduler::new(store.clone(), POLICY, Arc::new(clock.clone()));
        let peek = Connection::open(dir.join("reverie.db")).expect("open a peeking connection");
        // Keep the bench's own page cache small, out of the scheduler's figures.
        peek.pragma_update(None, "cache_size", -64)
            .expect("set the peeking connection's cache");
        Setup {
            store,
            clock,
            scheduler,
            peek,
        }
    }

    fn earliest(&self) -> i64 {
        self.nth_run_at(1)
    }

    /// The `n`-th earliest `next_run_at` (1 is the earliest).
    fn nth_run_at(&self, n: usize) -> i64 {
        self.peek
            .query_row(
                "SELECT next_run_at FROM schedules WHERE next_run_at IS NOT NULL
                 ORDER BY next_run_at LIMIT 1 OFFSET ?1",
                params![n as i64 - 1],
                |r| r.get(0),
            )
            .expect("a next_run_at")
    }
}

/// A deterministic generator (splitmix64), so every run has the same mix.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// An expression and a zone, in the mix's proportions.
    fn schedule(&mut self) -> (&'static str, &'static str) {
        let frequency = match self.next() % 100 {
            0..70 => "daily",
            70..90 => "hourly",
            90..95 => "*/15 * * * *",
            _ => "0 9 * * MON-FRI",
        };
        (
            frequency,
            ZONES[(self.next() % ZONES.len() as u64) as usize],
        )
    }
}

fn agent(i: usize, frequency: &str, timezone: &str, created: i64) -> Agent {
    Agent {
        id: reverie::ids::new(reverie::ids::AGENT),
        name: format!("bench agent {i}"),
        model: "bench".into(),
        dreaming_enabled: true,
        dreaming_frequency: frequency.into(),
        timezone: timezone.into(),
        feedback_webhook: None,
        live_version: 1,
        system_prompt: PROMPT.into(),
        created_at_ms: created,
        updated_at_ms: created,
        min_new_interactions: None,
        schedule: Default::default(),
    }
}

/// Make the store in `dir` and create `n` scheduled agents through
/// `Store::create_agent`, as the API does (one transaction each). Returns every
/// `next_run_at`, and the median time of a `create_agent` call.
fn populate(dir: &Path, n: usize, created: i64) -> (Vec<i64>, Duration) {
    let store = SqliteStore::open(dir).expect("create the store");
    let mut run_ats = Vec::with_capacity(n);
    let mut samples = Vec::with_capacity(n);
    let mut mix = Mix(n as u64);
    for i in 0..n {
        let (frequency, timezone) = mix.schedule();
        let a = agent(i, frequency, timezone, created);
        let next = POLICY
            .next_for(&a, created)
            .expect("every expression in the mix fires again");
        run_ats.push(next.run_at_ms);
        let started = Instant::now();
        store
            .create_agent(&a, Some(next), None)
            .expect("create an agent");
        samples.push(started.elapsed());
        if (i + 1).is_multiple_of(25_000) {
            eprintln!("  {} / {n}", i + 1);
        }
    }
    samples.sort_unstable();
    (run_ats, quantile(&samples, 0.5))
}

/// The most slots due within any one minute.
fn busiest_minute(mut run_ats: Vec<i64>) -> usize {
    run_ats.sort_unstable();
    let mut best = 0;
    let mut start = 0;
    for end in 0..run_ats.len() {
        while run_ats[end] - run_ats[start] >= 60_000 {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

struct Disk {
    agents: usize,
    file_bytes: u64,
    /// Bytes per table, its indexes included, from `dbstat` (if compiled in).
    tables: Option<Vec<(String, u64)>>,
    /// Bytes of the schedules table, its primary key, and `schedules_due`.
    schedule_objects: Option<Vec<(String, u64)>>,
}

/// The database's size once the WAL is checkpointed into it, and what each
/// table takes.
fn disk_use(dir: &Path, agents: usize) -> Disk {
    let path = dir.join("reverie.db");
    let conn = Connection::open(&path).expect("open the database");
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("checkpoint");
    assert_eq!(busy, 0, "the checkpoint was blocked");
    let file_bytes = std::fs::metadata(&path).expect("database file").len();
    let tables = conn
        .prepare(
            "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name
             GROUP BY m.tbl_name ORDER BY 2 DESC",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .ok();
    let schedule_objects = conn
        .prepare(
            "SELECT d.name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name
             WHERE m.tbl_name = 'schedules' GROUP BY d.name ORDER BY 2 DESC",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .ok();
    Disk {
        agents,
        file_bytes,
        tables,
        schedule_objects,
    }
}

struct NextRow {
    frequency: &'static str,
    timezone: &'static str,
    next_for: Duration,
    next_slot: Duration,
}

/// `Policy::next_for` (parse, next slot, jitter) per call, and
/// `Policy::next_slot` with the schedule parsed once, over `NEXT_CALLS` times
/// spread over a year.
fn time_next_for(created: i64) -> Vec<NextRow> {
    let mut rows = Vec::new();
    for frequency in ["daily", "hourly", "*/15 * * * *", "0 9 * * MON-FRI"] {
        for timezone in ["America/New_York", "Europe/Berlin", "Asia/Tokyo"] {
            let a = agent(0, frequency, timezone, created);
            let schedule = Schedule::parse(frequency, timezone).expect("a valid schedule");
            // ~26 minutes apart, so the calls cover a year and both DST changes.
            let after = |j: usize| created + j as i64 * 1_577_003;
            let mut best = [Duration::MAX; 2];
            for _ in 0..3 {
                let started = Instant::now();
                for j in 0..NEXT_CALLS {
                    std::hint::black_box(POLICY.next_for(std::hint::black_box(&a), after(j)));
                }
                best[0] = best[0].min(started.elapsed());
                let started = Instant::now();
                for j in 0..NEXT_CALLS {
                    std::hint::black_box(POLICY.next_slot(&a.id, &schedule, after(j)));
                }
                best[1] = best[1].min(started.elapsed());
            }
            rows.push(NextRow {
                frequency,
                timezone,
                next_for: best[0] / NEXT_CALLS as u32,
                next_slot: best[1] / NEXT_CALLS as u32,
            });
        }
    }
    rows
}

/// Median ms of appending 4 KiB to a file and `fdatasync`ing it: the floor
/// under a commit with `synchronous=FULL` on this disk.
fn time_fsync(dir: &Path) -> f64 {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).expect("create the probe file");
    let page = [7u8; 4096];
    let mut samples: Vec<Duration> = (0..100)
        .map(|_| {
            let started = Instant::now();
            file.write_all(&page).expect("write the probe");
            file.sync_data().expect("fdatasync the probe");
            started.elapsed()
        })
        .collect();
    drop(file);
    std::fs::remove_file(&path).expect("remove the probe file");
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

struct DueRow {
    agents: usize,
    n: usize,
    /// Ticks to run.
    planned: usize,
    ticks: Vec<Duration>,
    fired: usize,
    cpu: Duration,
    disk: u64,
}

/// What one phase of ticks did to the process's memory.
struct MemPhase {
    label: String,
    /// Rust heap at its highest during the phase, above where it started.
    rust_peak: i64,
    /// Rust heap after the phase, less before it.
    rust_kept: i64,
    /// SQLite's heap (page caches, statements) after, less before.
    sqlite_kept: i64,
    /// VmRSS after, less before.
    rss_kept: i64,
}

fn measure_memory(label: &str, phase: impl FnOnce()) -> MemPhase {
    let (held, sqlite, rss) = (
        HELD.load(Ordering::Relaxed),
        sqlite_used(),
        status_kb("VmRSS") as i64 * 1024,
    );
    HELD_PEAK.store(held, Ordering::Relaxed);
    phase();
    MemPhase {
        label: label.into(),
        rust_peak: HELD_PEAK.load(Ordering::Relaxed) - held,
        rust_kept: HELD.load(Ordering::Relaxed) - held,
        sqlite_kept: sqlite_used() - sqlite,
        rss_kept: status_kb("VmRSS") as i64 * 1024 - rss,
    }
}

/// Bytes SQLite has allocated, all connections.
fn sqlite_used() -> i64 {
    // SAFETY: reads a counter; no arguments, no memory handed over.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

/// The process's peak RSS since the last `reset_peak`, bytes.
fn peak_rss() -> u64 {
    status_kb("VmHWM") * 1024
}

/// Reset VmHWM to the current RSS (Linux ≥ 4.0), so the peak is the ticks'.
fn reset_peak() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("cannot reset the peak RSS ({e}); the peak is the whole run's");
    }
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Bytes this process has sent to storage (`/proc/self/io`).
fn write_bytes() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("write_bytes in /proc/self/io")
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

/// The value at quantile `q` of sorted samples.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn thousands(n: usize) -> String {
    let text = n.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Results {
    next_rows: Vec<NextRow>,
    /// Median `create_agent` at the largest size, and the whole set-up there.
    create: Duration,
    setup_time: Duration,
    disks: Vec<Disk>,
    peak_minute: usize,
    idle: Vec<Vec<Duration>>,
    due_rows: Vec<DueRow>,
    mem: Vec<MemPhase>,
    /// VmRSS before the stores are opened, once open, at the end (bytes).
    rss: [u64; 3],
    /// VmHWM over the ticks (bytes).
    peak: u64,
    fsync: f64,
    others: Option<Duration>,
}

fn print_results(mut r: Results) {
    let big = *SIZES.last().expect("SIZES is not empty");
    println!();
    println!(
        "Policy::next_for, {} calls each (best of 3), µs per call",
        thousands(NEXT_CALLS)
    );
    println!("| expression | zone | next_for µs | next_slot µs (parsed once) |");
    println!("|---|---|---:|---:|");
    for row in &r.next_rows {
        println!(
            "| `{}` | {} | {:.2} | {:.2} |",
            row.frequency,
            row.timezone,
            us(row.next_for),
            us(row.next_slot)
        );
    }

    println!();
    println!(
        "Idle tick (nothing due), {IDLE_ROUNDS} interleaved rounds × {IDLE_TICKS} ticks per size"
    );
    println!("| agents | ticks | median µs | p99 µs | max µs | median vs 1k |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for samples in &mut r.idle {
        samples.sort();
    }
    let base = quantile(&r.idle[0], 0.5);
    for (&n, samples) in SIZES.iter().zip(&r.idle) {
        let median = quantile(samples, 0.5);
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2}× |",
            thousands(n),
            samples.len(),
            us(median),
            us(quantile(samples, 0.99)),
            us(quantile(samples, 1.0)),
            median.as_secs_f64() / base.as_secs_f64()
        );
    }

    println!();
    println!(
        "Ticks with N slots due (each fires the next N slots; wall time, CPU time and disk writes of this process)"
    );
    println!(
        "| agents | N due | ticks | slots fired | median ms/tick | max ms/tick | ms/slot | CPU ms/slot | KB written/slot | slots/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &mut r.due_rows {
        row.ticks.sort();
        let total: Duration = row.ticks.iter().sum();
        let per_slot = ms(total) / row.fired as f64;
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} | {:.0} |",
            thousands(row.agents),
            thousands(row.n),
            row.ticks.len(),
            thousands(row.fired),
            ms(quantile(&row.ticks, 0.5)),
            ms(quantile(&row.ticks, 1.0)),
            per_slot,
            ms(row.cpu) / row.fired as f64,
            row.disk as f64 / 1e3 / row.fired as f64,
            1e3 / per_slot
        );
    }
    println!(
        "fdatasync of a 4 KiB append on the same disk: {:.3} ms median (100 calls)",
        r.fsync
    );
    println!(
        "busiest minute of this mix at {} agents: {} slots due",
        thousands(big),
        thousands(r.peak_minute)
    );
    println!(
        "set-up at {} agents: {:.1} s; Store::create_agent {:.3} ms median",
        thousands(big),
        r.setup_time.as_secs_f64(),
        ms(r.create)
    );

    println!();
    println!("On disk, after PRAGMA wal_checkpoint(TRUNCATE)");
    println!("| agents | file MB | B/agent | schedules + its indexes, B/agent |");
    println!("|---:|---:|---:|---:|");
    for d in &r.disks {
        let schedules = d.tables.as_ref().and_then(|t| {
            t.iter()
                .find(|(name, _)| name == "schedules")
                .map(|(_, b)| *b)
        });
        println!(
            "| {} | {:.2} | {:.0} | {} |",
            thousands(d.agents),
            d.file_bytes as f64 / 1e6,
            d.file_bytes as f64 / d.agents as f64,
            schedules.map_or("(no dbstat)".into(), |b| format!(
                "{:.0}",
                b as f64 / d.agents as f64
            ))
        );
    }
    let last = r.disks.last().expect("SIZES is not empty");
    if let (Some(tables), Some(objects)) = (&last.tables, &last.schedule_objects) {
        println!();
        println!(
            "{} agents by table (dbstat, indexes included), and the schedules table's parts",
            thousands(last.agents)
        );
        println!("| table or index | MB | B/agent |");
        println!("|---|---:|---:|");
        for (name, bytes) in tables.iter().filter(|(_, b)| *b > 64 * 1024) {
            println!(
                "| {name} | {:.2} | {:.1} |",
                *bytes as f64 / 1e6,
                *bytes as f64 / last.agents as f64
            );
        }
        let small: u64 = tables
            .iter()
            .filter(|(_, b)| *b <= 64 * 1024)
            .map(|(_, b)| b)
            .sum();
        println!(
            "| the other {} tables (empty) | {:.2} | {:.1} |",
            tables.iter().filter(|(_, b)| *b <= 64 * 1024).count(),
            small as f64 / 1e6,
            small as f64 / last.agents as f64
        );
        for (name, bytes) in objects {
            println!(
                "| schedules: {name} | {:.2} | {:.1} |",
                *bytes as f64 / 1e6,
                *bytes as f64 / last.agents as f64
            );
        }
    }

    println!();
    println!(
        "Process memory over the ticks (Rust heap counted by the allocator; SQLite's from sqlite3_memory_used)"
    );
    println!(
        "| phase | Rust heap peak above start KiB | Rust heap kept KiB | SQLite heap kept KiB | VmRSS kept KiB |"
    );
    println!("|---|---:|---:|---:|---:|");
    for m in &r.mem {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            m.label,
            m.rust_peak as f64 / 1024.0,
            m.rust_kept as f64 / 1024.0,
            m.sqlite_kept as f64 / 1024.0,
            m.rss_kept as f64 / 1024.0
        );
    }
    println!(
        "VmRSS: {:.1} MiB before the stores were opened, {:.1} MiB with all three open (one tick each), {:.1} MiB at the end; peak over the ticks (VmHWM) {:.1} MiB",
        mib(r.rss[0]),
        mib(r.rss[1]),
        mib(r.rss[2]),
        mib(r.peak)
    );
    if let Some(m) = r.mem.last() {
        println!(
            "kept per agent over the ticks at {} agents: Rust heap {:.2} B, VmRSS {:.1} B",
            thousands(big),
            m.rust_kept as f64 / big as f64,
            m.rss_kept as f64 / big as f64
        );
    }
    match r.others {
        Some(others) => println!(
            "CPU time other processes took during the run: {:.2} s",
            others.as_secs_f64()
        ),
        None => println!("CPU time other processes took: unknown (no /proc/stat)"),
    }
}
