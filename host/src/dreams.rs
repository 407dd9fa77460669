//! Dreams on the server: the workers that claim and run them.
//!
//! A dream is stored `pending` (asked for over the API, or by the scheduler)
//! and a worker claims it with a lease: the dream becomes `running` under the
//! worker's name until the lease expires, and the worker renews the lease while
//! it works. The worker reads the window from the store a chunk at a time
//! through the same [`cycle::run`] that `reverie dream` uses, and stores the
//! outcome: `completed` with the report, `skipped` when the window holds too few
//! new interactions, or `failed` with the reason. Storing the outcome is fenced
//! on the lease: a worker that stalled past its lease, and whose dream another
//! worker took over, changes nothing when it wakes up.
//!
//! Execution is at least once: a worker that dies mid-dream leaves a lease that
//! expires, and the dream runs again elsewhere. That is harmless because a dream
//! writes nothing until its outcome, which is one transaction.
//!
//! This module owns that life cycle and nothing else: it does not know HTTP or
//! schedules, and it reaches the database only through [`Store`].

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::cycle::{self, CycleError, CycleInput, InteractionSource};
use crate::input::FeedbackIndex;
use crate::model::{CycleContext, Interaction};
use crate::report::{MAX_UNREADABLE_LISTED, PreviousReport, UnreadableInteraction};
use crate::store::{
    Dream, DreamOutcome, DreamSummary, OutboxEvent, Store, StoreError, Window, WindowCursor,
};
use crate::telemetry::metrics::{self, DreamEnd};

/// How a worker holds the dreams it runs.
#[derive(Debug, Clone)]
pub struct Leases {
    /// This process's name in the store (`host:pid:random`); each worker
    /// thread holds leases as `<owner>/<n>`.
    pub owner: String,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease_ms: i64,
    /// Claims of one dream before it is marked failed (a dream that kills its worker).
    pub max_attempts: u32,
}

/// Claims dreams and runs them.
pub struct Dreamer {
    store: Arc<dyn Store>,
    /// The config's rules, and those agents' own sets name.
    rules: Arc<Catalog>,
    /// Fewer new interactions than this (unless the agent says otherwise): `skipped`.
    min_interactions: u64,
    clock: Arc<dyn Clock>,
    leases: Leases,
}

/// How one claimed dream went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub id: String,
    /// `false`: the lease was lost before the end, and the outcome was discarded.
    pub stored: bool,
}

/// Wakes idle workers when a dream is queued (they also look by themselves
/// every poll interval, for dreams queued by other replicas).
#[derive(Clone, Default)]
pub struct Wakeup(Arc<(Mutex<bool>, Condvar)>);

impl Wakeup {
    pub fn notify(&self) {
        let (flag, cv) = &*self.0;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let (flag, cv) = &*self.0;
        let guard = flag.lock().unwrap_or_else(|p| p.into_inner());
        let (mut guard, _) = cv
            .wait_timeout_while(guard, timeout, |woken| !*woken)
            .unwrap_or_else(|p| p.into_inner());
        *guard = false;
    }
}

impl Dreamer {
    pub fn new(
        store: Arc<dyn Store>,
        rules: Arc<Catalog>,
        min_interactions: u64,
        clock: Arc<dyn Clock>,
        leases: Leases,
    ) -> Dreamer {
        Dreamer {
            store,
            rules,
            min_interactions,
            clock,
            leases,
        }
    }

    pub fn owner(&self) -> &str {
        &self.leases.owner
    }

    /// Claim the next dream this worker may run, if any.
    pub fn claim(&self) -> Result<Option<Dream>, StoreError> {
        self.claim_as(&self.leases.owner)
    }

    fn claim_as(&self, owner: &str) -> Result<Option<Dream>, StoreError> {
        self.store.claim_dream(
            owner,
            self.clock.now_ms(),
            self.leases.lease_ms,
            self.leases.max_attempts,
        )
    }

    /// Claim one dream and run it to its end; `None` when there was nothing to claim.
    pub fn run_next(&self) -> Result<Option<Ran>, StoreError> {
        match self.claim()? {
            Some(dream) => self.run(&dream).map(Some),
            None => Ok(None),
        }
    }

    /// Run a dream this worker has claimed, renewing the lease meanwhile, and
    /// store the outcome if the lease is still ours. An `Err` is a store
    /// failure; anything that goes wrong with the dream itself is stored as `failed`.
    pub fn run(&self, dream: &Dream) -> Result<Ran, StoreError> {
        self.run_as(dream, &self.leases.owner)
    }

    fn run_as(&self, dream: &Dream, owner: &str) -> Result<Ran, StoreError> {
        // Every event of this dream (rule failures, the outcome) names it.
        let _span = tracing::info_span!(
            "dream",
            dream_id = %dream.id,
            agent_id = %dream.agent_id
        )
        .entered();
        tracing::info!(
            target: "reverie::dreams",
            trigger = %dream.trigger,
            attempt = dream.attempts,
            "dream claimed"
        );
        let started = Instant::now();
        let lost = AtomicBool::new(false);
        let (done, beats) = mpsc::channel::<()>();
        let every = Duration::from_millis((self.leases.lease_ms / 3).max(1) as u64);
        let (outcome, event) = std::thread::scope(|scope| {
            let lost = &lost;
            scope.spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = beats.recv_timeout(every) {
                    let renewed = self.store.renew_lease(
                        &dream.id,
                        owner,
                        self.clock.now_ms(),
                        self.leases.lease_ms,
                    );
                    if !matches!(renewed, Ok(true)) {
                        // Taken over, released, or the store is failing: the
                        // outcome will be refused by the fence either way.
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
            let (outcome, event) = match self.dream(dream) {
                Ok(ended) => ended,
                Err(reason) => {
                    let outcome = DreamOutcome::Failed { reason };
                    let event = crate::webhooks::payload::dream_event(dream, &outcome);
                    (outcome, event)
                }
            };
            let _ = done.send(());
            (outcome, event)
        });
        let stored =
            self.store
                .finish_dream(&dream.id, owner, &outcome, &[event], self.clock.now_ms())?;
        record_outcome(
            &outcome,
            stored,
            lost.load(Ordering::SeqCst),
            started.elapsed(),
        );
        Ok(Ran {
            id: dream.id.clone(),
            stored,
        })
    }

    /// Run one dream: its outcome, and the event that tells the webhooks.
    fn dream(&self, dream: &Dream) -> Result<(DreamOutcome, OutboxEvent), String> {
        let store_error = |e: StoreError| format!("the store failed: {e}");
        let agent = self
            .store
            .get_agent(&dream.agent_id)
            .map_err(store_error)?
            .ok_or_else(|| format!("agent {} no longer exists", dream.agent_id))?;
        let previous_dream = self
            .store
            .last_completed_dream(&agent.id)
            .map_err(store_error)?;
        // An earlier report this reverie cannot read costs the comparison, not the dream.
        let previous: Option<PreviousReport> = previous_dream
            .as_ref()
            .and_then(|d| d.report.as_deref())
            .and_then(|text| match PreviousReport::from_json(text) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(
                        target: "reverie::dreams",
                        "the previous dream's report cannot be read ({e}); this report compares with nothing"
                    );
                    None
                }
            });

        // The window: as asked, else everything since the last completed dream.
        let since_ms = dream
            .window_start_ms
            .or_else(|| previous_dream.as_ref().and_then(|d| d.window_end_ms));
        let until_ms = dream.window_end_ms.unwrap_or(dream.created_at_ms);
        let window = Window {
            agent_id: &agent.id,
            since_ms,
            until_ms,
        };
        let count = self.store.count_window(window).map_err(store_error)?;
        let min_interactions = agent.min_new_interactions.unwrap_or(self.min_interactions);
        if count < min_interactions {
            let outcome = DreamOutcome::Skipped {
                reason: format!(
                    "not enough data: {count} new interaction{} since the last dream, and a dream needs at least {min_interactions}",
                    if count == 1 { "" } else { "s" },
                ),
            };
            let event = crate::webhooks::payload::dream_event(dream, &outcome);
            return Ok((outcome, event));
        }

        let mut feedback = FeedbackIndex::default();
        let mut overflow = None;
        self.store
            .window_feedback(window, &mut |f| {
                if overflow.is_none()
                    && let Err(e) = feedback.insert(&f)
                {
                    overflow = Some(e);
                }
            })
            .map_err(store_error)?;
        if let Some(e) = overflow {
            return Err(format!("the window's feedback is too large: {e}"));
        }
        feedback.sort();

        let mut config = self.rules.config().clone();
        config.agent.id = agent.id.clone();
        config.agent.name = agent.name.clone();
        config.agent.system_prompt = Some(agent.system_prompt.clone());
        config.agent.config_version = Some(format!("v{}", agent.live_version));
        // The agent's own rule set, or the config's.
        let slots = self
            .rules
            .slots(&*self.store, &agent.id)
            .map_err(store_error)?;
        let source = StoreSource {
            store: self.store.clone(),
            agent_id: agent.id.clone(),
            since_ms,
            until_ms,
            after: None,
            buffer: VecDeque::new(),
            page: config.chunk_size.clamp(1, 10_000) as u32,
            read: 0,
            done: false,
            unreadable: 0,
            unreadable_listed: Vec::new(),
        };
        let report = cycle::run(
            self.rules.runtime(),
            slots,
            source,
            CycleInput {
                context: CycleContext {
                    agent_id: agent.id.clone(),
                    agent_name: agent.name.clone(),
                    system_prompt: agent.system_prompt.clone(),
                    config_version: format!("v{}", agent.live_version),
                    window_start_ms: since_ms,
                    window_end_ms: Some(until_ms),
                    settings: Vec::new(),
                },
                config: &config,
                feedback: &feedback,
                previous: previous.as_ref(),
                all_evidence: false,
                since_ms,
                until_ms: Some(until_ms),
                generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
            &|_| {},
        )
        .map_err(|e| format!("the cycle stopped: {e}"))?;
        for rule in &report.rules {
            if let Some(usage) = &rule.llm {
                metrics::llm_used(&rule.name, usage);
            }
            if let Some(failure) = &rule.failure {
                let kind = serde_json::to_value(failure.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "unknown".into());
                metrics::rule_failed(&kind);
                tracing::warn!(
                    target: "reverie::dreams",
                    rule = %rule.name,
                    kind = %kind,
                    error = %failure.message,
                    "rule failed"
                );
            }
        }
        if report.window.unreadable_interactions > 0 {
            let ids: Vec<&str> = report
                .window
                .unreadable
                .iter()
                .map(|u| u.id.as_str())
                .collect();
            tracing::warn!(
                target: "reverie::dreams",
                unreadable = report.window.unreadable_interactions,
                ids = %ids.join(", "),
                "left out stored interaction(s) that cannot be read (delete them with DELETE /v1/agents/{{agent_id}}/interactions/{{interaction_id}})"
            );
        }
        let text = serde_json::to_string(&report)
            .map_err(|e| format!("the report cannot be serialised: {e}"))?;
        let event = crate::webhooks::payload::report_event(dream, &report);
        let outcome = DreamOutcome::Completed {
            summary: DreamSummary {
                text: report.summary.clone(),
                interactions: report.window.interactions,
                problems: report.problems.iter().filter(|p| p.affected > 0).count() as u64,
                suggestions: report.suggestions.len() as u64,
            },
            report: text,
            window_start_ms: since_ms,
            window_end_ms: until_ms,
        };
        Ok((outcome, event))
    }
}

/// Count and log how a dream ended (inside its span, which names it).
fn record_outcome(outcome: &DreamOutcome, stored: bool, lost_while_running: bool, took: Duration) {
    let duration_ms = took.as_micros() as f64 / 1000.0;
    if !stored {
        metrics::dream_finished(DreamEnd::Discarded, took);
        tracing::warn!(
            target: "reverie::dreams",
            outcome = "discarded",
            duration_ms,
            lost_while_running,
            "dream discarded: the lease was lost; another worker runs it"
        );
        return;
    }
    match outcome {
        DreamOutcome::Completed { summary, .. } => {
            metrics::dream_finished(DreamEnd::Completed, took);
            tracing::info!(
                target: "reverie::dreams",
                outcome = "completed",
                duration_ms,
                interactions = summary.interactions,
                problems = summary.problems,
                suggestions = summary.suggestions,
                "dream completed"
            );
        }
        DreamOutcome::Skipped { reason } => {
            metrics::dream_finished(DreamEnd::Skipped, took);
            tracing::info!(
                target: "reverie::dreams",
                outcome = "skipped",
                duration_ms,
                reason = %reason,
                "dream skipped"
            );
        }
        DreamOutcome::Failed { reason } => {
            metrics::dream_finished(DreamEnd::Failed, took);
            tracing::warn!(
                target: "reverie::dreams",
                outcome = "failed",
                duration_ms,
                reason = %reason,
                "dream failed"
            );
        }
    }
}

/// A window of the store, read a page at a time for [`cycle::run`].
struct StoreSource {
    store: Arc<dyn Store>,
    agent_id: String,
    since_ms: Option<i64>,
    until_ms: i64,
    after: Option<WindowCursor>,
    buffer: VecDeque<Interaction>,
    page: u32,
    read: u64,
    done: bool,
    /// Rows left out because they could not be read, and the first of them.
    unreadable: u64,
    unreadable_listed: Vec<UnreadableInteraction>,
}

impl InteractionSource for StoreSource {
    fn next_interaction(&mut self) -> Result<Option<Interaction>, CycleError> {
        // A loop, not one read: a page may hold nothing but unreadable rows.
        while self.buffer.is_empty() && !self.done {
            let rows = self
                .store
                .read_window(
                    Window {
                        agent_id: &self.agent_id,
                        since_ms: self.since_ms,
                        until_ms: self.until_ms,
                    },
                    self.after,
                    self.page,
                )
                .map_err(|e| CycleError::Source(e.to_string()))?;
            self.done = rows.len() < self.page as usize;
            if let Some((cursor, _)) = rows.last() {
                self.after = Some(*cursor);
            }
            for (_, row) in rows {
                match row {
                    Ok(interaction) => self.buffer.push_back(interaction),
                    // Left out, counted and named in the report: one bad row
                    // must not fail the agent's every dream (RELIABILITY 31).
                    Err(bad) => {
                        self.unreadable += 1;
                        if self.unreadable_listed.len() < MAX_UNREADABLE_LISTED {
                            self.unreadable_listed.push(UnreadableInteraction {
                                id: bad.id,
                                reason: bad.reason,
                            });
                        }
                    }
                }
            }
        }
        let next = self.buffer.pop_front();
        if next.is_some() {
            self.read += 1;
        }
        Ok(next)
    }

    fn progress(&self) -> u64 {
        self.read
    }

    fn skipped(&self) -> u64 {
        0
    }

    fn unreadable(&self) -> (u64, Vec<UnreadableInteraction>) {
        (self.unreadable, self.unreadable_listed.clone())
    }
}

/// Worker threads that claim and run dreams until told to stop.
pub struct Workers {
    shared: Arc<Shared>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

struct Shared {
    dreamer: Dreamer,
    stop: AtomicBool,
    wake: Wakeup,
    /// Dreams a worker is running now, with the worker's lease name (to
    /// release at shutdown).
    active: Mutex<HashSet<(String, String)>>,
}

/// What [`Workers::shutdown`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// Dreams still running when the grace period ended, released to `pending`.
    pub released: Vec<String>,
}

impl Workers {
    /// Start `count` workers. Each looks for work when woken and at least every `poll`.
    pub fn spawn(dreamer: Dreamer, count: usize, poll: Duration) -> std::io::Result<Workers> {
        let shared = Arc::new(Shared {
            dreamer,
            stop: AtomicBool::new(false),
            wake: Wakeup::default(),
            active: Mutex::new(HashSet::new()),
        });
        let mut handles = Vec::new();
        for n in 0..count.max(1) {
            let shared = shared.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("reverie-dreams-{n}"))
                    .spawn(move || shared.work(n, poll))?,
            );
        }
        Ok(Workers { shared, handles })
    }

    /// The handle to wake workers with when a dream is queued.
    pub fn wakeup(&self) -> Wakeup {
        self.shared.wake.clone()
    }

    /// A handle that stops the workers claiming (they finish what they run).
    pub fn stopper(&self) -> StopClaiming {
        StopClaiming(self.shared.clone())
    }

    /// Stop claiming, give running dreams until `grace` to finish, then release
    /// the ones still running back to `pending` so that nothing is left
    /// `running` (the next start, or another replica, runs them again).
    pub fn shutdown(self, grace: Duration) -> Shutdown {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify();
        let deadline = Instant::now() + grace;
        while self.handles.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let active: Vec<(String, String)> = self
            .shared
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let mut released = Vec::new();
        for (id, owner) in active {
            match self.shared.dreamer.store.release_dream(&id, &owner) {
                Ok(true) => released.push(id),
                Ok(false) => {} // finished in the meantime
                Err(e) => {
                    tracing::error!(target: "reverie::dreams", dream_id = %id, error = %e, "cannot release a dream at shutdown")
                }
            }
        }
        // Workers still inside a dream are left to the process's exit: their
        // outcome would be refused by the fence now that the lease is gone.
        Shutdown { released }
    }
}

/// Stops [`Workers`] claiming new dreams, from wherever the signal arrives.
pub struct StopClaiming(Arc<Shared>);

impl StopClaiming {
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::SeqCst);
        self.0.wake.notify();
    }
}

impl Shared {
    fn work(&self, n: usize, poll: Duration) {
        // Each worker holds leases under its own name, so that the fence tells
        // apart two workers of one process as well as two processes.
        let owner = format!("{}/{n}", self.dreamer.owner());
        loop {
            // Claim under the `active` lock, so that shutdown never misses a
            // dream between its claim and its registration here.
            let claimed = {
                let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                let claimed = self.dreamer.claim_as(&owner);
                if let Ok(Some(dream)) = &claimed {
                    active.insert((dream.id.clone(), owner.clone()));
                }
                claimed
            };
            let dream = match claimed {
                Ok(Some(dream)) => dream,
                Ok(None) => {
                    self.wake.wait(poll);
                    continue;
                }
                Err(e) => {
                    tracing::error!(target: "reverie::dreams", error = %e, "cannot claim a dream");
                    self.wake.wait(poll);
                    continue;
                }
            };
            if let Err(e) = self.dreamer.run_as(&dream, &owner) {
                tracing::error!(target: "reverie::dreams", dream_id = %dream.id, error = %e, "cannot store a dream's outcome");
            }
            self.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(dream.id.clone(), owner.clone()));
        }
    }
}
