//! Retention: what `reverie serve` forgets, and when (`[retention]`).
//!
//! Left alone, the database keeps every idempotency record, every webhook event,
//! delivery and attempt, and every rule's log lines in every report. The
//! [`Sweeper`] removes them once they are older than the configured retention,
//! at start and then periodically, in batches of `batch` rows, each its own
//! short transaction with a pause between, so a backlog of millions never holds
//! the writer for more than a moment.
//!
//! What it never touches: a delivery still pending (its first attempt or a retry
//! to come) or an event one refers to; an agent's latest event (the next event's
//! sequence number follows it); and what a user lists and reads — agents,
//! interactions, feedback, dreams with their summaries and reports. From a
//! report only the raw run output goes (each rule's `log` and `output`), and the
//! dream says so in `logs_swept_at`.
//!
//! It owns its config section; `config` only composes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

use crate::clock::Clock;
use crate::store::{Store, StoreError, Sweep};
use crate::units::{bounded, bounded_duration, humantime};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
/// The longest retention accepted: ten years is "keep".
const MAX_RETENTION: Duration = Duration::from_secs(3650 * 86_400);
/// Between two batches the writer is free for everyone else.
const PAUSE: Duration = Duration::from_millis(20);

/// `[retention]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionFile {
    enabled: Option<bool>,
    every: Option<String>,
    batch: Option<u32>,
    idempotency: Option<String>,
    deliveries: Option<String>,
    dead_letters: Option<String>,
    events: Option<String>,
    run_logs: Option<String>,
}

/// How long things are kept, and how the sweeper goes about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// `false`: nothing is ever swept.
    pub enabled: bool,
    /// How often the sweeper runs (it also runs at start).
    pub every: Duration,
    /// Rows per transaction.
    pub batch: u32,
    /// `Idempotency-Key` records: after this, the same key creates anew.
    pub idempotency: Duration,
    /// Delivered (and cancelled) deliveries with their attempts, from when they finished.
    pub deliveries: Duration,
    /// Dead letters with their attempts, from when they died (no redelivery after).
    pub dead_letters: Duration,
    /// Webhook events no delivery refers to any more, from when they were made.
    pub events: Duration,
    /// Rules' log lines and captured output in reports, from when the dream finished.
    pub run_logs: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: true,
            every: HOUR,
            batch: 500,
            idempotency: 24 * HOUR,
            deliveries: 30 * DAY,
            dead_letters: 30 * DAY,
            events: 30 * DAY,
            run_logs: 90 * DAY,
        }
    }
}

impl std::fmt::Display for RetentionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.enabled {
            return write!(f, "off ([retention] enabled = false): nothing is swept");
        }
        write!(
            f,
            "idempotency records {}, deliveries {}, dead letters {}, events {}, run logs {}; swept every {}",
            humantime(self.idempotency),
            humantime(self.deliveries),
            humantime(self.dead_letters),
            humantime(self.events),
            humantime(self.run_logs),
            humantime(self.every)
        )
    }
}

pub(crate) fn resolve(file: &RetentionFile) -> Result<RetentionConfig, String> {
    let mut out = RetentionConfig::default();
    let keep = |key: &str, value: &Option<String>, min: Duration, into: &mut Duration| {
        if let Some(text) = value {
            *into = bounded_duration(&format!("retention.{key}"), text, min, MAX_RETENTION)?;
        }
        Ok::<(), String>(())
    };
    // An hour at least: a retry of a request must still find its record.
    keep("idempotency", &file.idempotency, HOUR, &mut out.idempotency)?;
    keep("deliveries", &file.deliveries, HOUR, &mut out.deliveries)?;
    keep(
        "dead_letters",
        &file.dead_letters,
        HOUR,
        &mut out.dead_letters,
    )?;
    keep("events", &file.events, HOUR, &mut out.events)?;
    keep("run_logs", &file.run_logs, HOUR, &mut out.run_logs)?;
    if let Some(text) = &file.every {
        out.every = bounded_duration("retention.every", text, Duration::from_secs(60), DAY)?;
    }
    if let Some(n) = file.batch {
        out.batch = bounded("retention.batch", n, 1..=10_000)?;
    }
    if let Some(enabled) = file.enabled {
        out.enabled = enabled;
    }
    Ok(out)
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub idempotency: u64,
    pub deliveries: u64,
    pub dead_letters: u64,
    /// Attempts removed with their deliveries and dead letters.
    pub attempts: u64,
    pub events: u64,
    /// Dreams whose run logs were removed from their reports.
    pub run_logs: u64,
}

impl Swept {
    pub fn is_empty(&self) -> bool {
        *self == Swept::default()
    }
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} idempotency record(s), {} delivered or cancelled deliveries and {} dead letter(s) \
             (with {} attempt(s)), {} event(s), the run logs of {} dream(s)",
            self.idempotency,
            self.deliveries,
            self.dead_letters,
            self.attempts,
            self.events,
            self.run_logs
        )
    }
}

/// Sweeps the store by the clock.
pub struct Sweeper {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: RetentionConfig,
}

impl Sweeper {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: RetentionConfig) -> Self {
        Sweeper {
            store,
            clock,
            config,
        }
    }

    /// Sweep everything that is due, a batch at a time, until nothing is left
    /// or `stop` says so (checked between batches).
    pub fn sweep(&self, stop: &dyn Fn() -> bool) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        if !self.config.enabled {
            return Ok(swept);
        }
        let now = self.clock.now_ms();
        let before = |keep: Duration| now.saturating_sub(keep.as_millis() as i64);
        let c = self.config;
        // Deliveries first, so that the events they held go in the same sweep.
        for (what, keep) in [
            (Sweep::Deliveries, c.deliveries),
            (Sweep::DeadLetters, c.dead_letters),
            (Sweep::Events, c.events),
            (Sweep::Idempotency, c.idempotency),
        ] {
            loop {
                if stop() {
                    return Ok(swept);
                }
                let batch = self.store.sweep(what, before(keep), c.batch)?;
                swept.attempts += batch.attempts;
                *match what {
                    Sweep::Deliveries => &mut swept.deliveries,
                    Sweep::DeadLetters => &mut swept.dead_letters,
                    Sweep::Events => &mut swept.events,
                    Sweep::Idempotency => &mut swept.idempotency,
                } += batch.rows;
                if batch.rows < u64::from(c.batch) {
                    break;
                }
                std::thread::sleep(PAUSE);
            }
        }
        // Reports are rewritten whole, so they go a few at a time.
        let reports = c.batch.clamp(1, 50);
        loop {
            if stop() {
                return Ok(swept);
            }
            let n = self
                .store
                .sweep_run_logs(before(c.run_logs), now, reports, &strip_run_logs)?;
            swept.run_logs += n;
            if n < u64::from(reports) {
                return Ok(swept);
            }
            std::thread::sleep(PAUSE);
        }
    }
}

/// A report without its rules' raw run output: each rule's `log` emptied (its
/// lines counted in `log_lines_dropped`) and `output` cleared. Everything else,
/// fields this version does not know included, stays as it was. `None` if the
/// report is not a JSON object with a `rules` list.
pub fn strip_run_logs(report: &str) -> Option<String> {
    use serde_json::Value;
    let mut value: Value = serde_json::from_str(report).ok()?;
    let rules = value.get_mut("rules")?.as_array_mut()?;
    for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
        let lines = rule
            .get("log")
            .and_then(Value::as_array)
            .map_or(0, |l| l.len() as u64);
        let dropped = rule
            .get("log_lines_dropped")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        rule.insert("log".into(), Value::Array(Vec::new()));
        rule.insert("log_lines_dropped".into(), Value::from(dropped + lines));
        rule.insert("output".into(), Value::Null);
    }
    serde_json::to_string(&value).ok()
}

/// The sweeper's thread, started by `reverie serve`.
pub struct Running {
    stop: Arc<AtomicBool>,
    wake: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// Stop (between two batches at the latest) and wait for the thread.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.send(());
        let _ = self.thread.join();
    }
}

/// Sweep now and then every `[retention] every`, logging what went.
pub fn spawn(sweeper: Sweeper) -> std::io::Result<Running> {
    let stop = Arc::new(AtomicBool::new(false));
    let (wake, woken) = mpsc::channel::<()>();
    let every = sweeper.config.every;
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("reverie-retention".into())
        .spawn(move || {
            loop {
                match sweeper.sweep(&|| stopping.load(Ordering::SeqCst)) {
                    Ok(swept) if !swept.is_empty() => tracing::info!(
                        target: "reverie::retention",
                        idempotency = swept.idempotency,
                        deliveries = swept.deliveries,
                        dead_letters = swept.dead_letters,
                        attempts = swept.attempts,
                        events = swept.events,
                        run_logs = swept.run_logs,
                        "retention: swept {swept}"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(
                        target: "reverie::retention",
                        error = %e,
                        "retention: the sweep stopped; it runs again at the next period"
                    ),
                }
                match woken.recv_timeout(every) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
            }
        })?;
    Ok(Running { stop, wake, thread })
}

#[cfg(test)]
mod tests;
