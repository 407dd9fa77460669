//! Scheduling: when an agent dreams by itself.
//!
//! [`cron`] turns a schedule expression (a preset or a cron expression) and an
//! IANA time zone into fire times, with the DST rule documented there. This
//! module turns fire times into dreams: [`Policy`] adds each agent's jitter,
//! and [`Scheduler::tick`] finds the schedules that have come due, decides what
//! each slot gets (a dream, a skip, a catch-up), and applies that decision with
//! one compare-and-set write per slot through [`Store::fire_slot`].
//!
//! The scheduler keeps nothing in memory between ticks: the next slot of every
//! agent is in the store, so a restart, or a second scheduler on the same
//! database, picks up exactly where the last one left off. Two schedulers that
//! see the same due slot race on the compare-and-set; the loser writes nothing,
//! and the store's uniqueness of (agent, slot) is the backstop. The scheduler
//! only queues dreams; workers ([`crate::dreams`]) claim and run them.
//!
//! Rules, in order, for a due slot at time `now`:
//! - **Catch-up.** Slots that passed while no scheduler ran are not replayed.
//!   Of the slots in the catch-up window (`now - window`, `now`], only the
//!   latest runs, once (trigger `catch_up`); older ones are counted as missed.
//!   With no slot inside the window, one `skipped` dream records the miss.
//! - **No overlap.** A slot that comes due while a dream of the agent is still
//!   pending or running is recorded `skipped` and counted in `overlap_skips`.
//! - **Low traffic.** Fewer than `min_new_interactions` since the last dream is
//!   decided by the worker when it runs the dream (`skipped: not enough data`).
//!
//! It must not run dreams: it records them `pending` for the workers, and
//! decides by the [`crate::clock::Clock`] it is given, never the system clock.

pub mod config;
pub mod cron;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::store::{
    Agent, Dream, DreamStatus, DueSchedule, Fired, Slot, SlotFiring, Store, StoreError,
};
use crate::telemetry::metrics;
use cron::Schedule;

/// A slot run this much after its time counts as a catch-up (the server was down).
const LATE_MS: i64 = 60_000;
/// At most this many missed slots are counted one by one per catch-up.
const COUNT_CAP: u64 = 10_000;

/// How slots are timed, from `[scheduler]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The largest jitter added to a slot. Each agent gets a fixed fraction of
    /// it (from a hash of its id), capped at a quarter of the gap to the next
    /// slot so that jitter never reorders slots.
    pub jitter_max_ms: i64,
    /// How far back a missed slot may still be caught up; 0: never.
    pub catch_up_window_ms: i64,
}

impl Policy {
    /// The agent's next slot after `after_ms`, or `None` when it does not dream
    /// by itself (disabled, or an expression that never fires again).
    pub fn next_for(&self, agent: &Agent, after_ms: i64) -> Option<Slot> {
        if !agent.dreaming_enabled {
            return None;
        }
        let schedule = Schedule::parse(&agent.dreaming_frequency, &agent.timezone).ok()?;
        self.next_slot(&agent.id, &schedule, after_ms)
    }

    /// The first slot of `schedule` after `after_ms`, with `agent_id`'s jitter.
    pub fn next_slot(&self, agent_id: &str, schedule: &Schedule, after_ms: i64) -> Option<Slot> {
        let slot_ms = schedule.next_after(after_ms)?;
        Some(Slot {
            slot_ms,
            run_at_ms: slot_ms + self.jitter_ms(agent_id, schedule, slot_ms),
        })
    }

    /// The jitter for one slot: stable per agent, never more than a quarter of
    /// the gap to the following slot.
    pub fn jitter_ms(&self, agent_id: &str, schedule: &Schedule, slot_ms: i64) -> i64 {
        if self.jitter_max_ms <= 0 {
            return 0;
        }
        let gap = schedule
            .next_after(slot_ms)
            .map_or(self.jitter_max_ms, |n| (n - slot_ms) / 4);
        let cap = self.jitter_max_ms.min(gap).max(0);
        let digest = Sha256::digest(agent_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let fraction = u64::from_be_bytes(first) as f64 / u64::MAX as f64;
        (fraction * cap as f64) as i64
    }
}

/// What one [`Scheduler::tick`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Dreams queued for workers.
    pub queued: u32,
    /// Slots recorded skipped because a dream was still pending or running.
    pub overlaps: u32,
    /// Slots recorded skipped for another reason (missed beyond the catch-up
    /// window, an expression that no longer parses).
    pub skipped: u32,
    /// Slots another scheduler acted on first.
    pub moved: u32,
    /// Due slots that could not be acted on (a store error); retried next tick.
    pub errors: u32,
}

/// Turns due schedules into dreams.
pub struct Scheduler {
    store: Arc<dyn Store>,
    policy: Policy,
    clock: Arc<dyn Clock>,
    /// Due schedules read per store query.
    batch: u32,
}

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, policy: Policy, clock: Arc<dyn Clock>) -> Scheduler {
        Scheduler {
            store,
            policy,
            clock,
            batch: 500,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Give every enabled, unpaused agent without a next slot one (after an
    /// upgrade from a reverie that had no scheduler). Returns how many.
    pub fn reconcile(&self) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let mut done = 0;
        loop {
            let agents = self.store.unscheduled_agents(self.batch)?;
            let mut progressed = false;
            for agent in &agents {
                let next = self.policy.next_for(agent, now);
                // An agent whose expression never fires again stays unscheduled.
                if next.is_some() && self.store.init_schedule(&agent.id, next)? {
                    done += 1;
                    progressed = true;
                }
            }
            if agents.len() < self.batch as usize || !progressed {
                return Ok(done);
            }
        }
    }

    /// Act on every schedule due now. One slot that cannot be acted on does
    /// not hold up the others: it is counted in [`Tick::errors`], the first
    /// error is logged, and it is tried again at the next tick. An `Err` means
    /// the due schedules could not even be read.
    pub fn tick(&self) -> Result<Tick, StoreError> {
        let now = self.clock.now_ms();
        let mut tick = Tick::default();
        loop {
            let due = self.store.due_schedules(now, self.batch)?;
            let mut failed = 0;
            for schedule in &due {
                let agent_id = schedule.agent_id.as_str();
                let slot = rfc3339(schedule.slot.slot_ms);
                match self.fire(schedule, now) {
                    // Logged by `fire`, which knows the trigger and the lag.
                    Ok(Fired::Queued) => {
                        metrics::scheduler_slot("queued");
                        tick.queued += 1;
                    }
                    Ok(Fired::Overlap { active }) => {
                        metrics::scheduler_slot("overlap");
                        tracing::info!(target: "reverie::scheduler", agent_id, slot = %slot, active_dream = %active, "slot skipped: a dream of the agent is still pending or running");
                        tick.overlaps += 1;
                    }
                    Ok(Fired::Skipped) => {
                        metrics::scheduler_slot("skipped");
                        tracing::info!(target: "reverie::scheduler", agent_id, slot = %slot, "slot skipped: missed, or the schedule no longer parses (the dream says why)");
                        tick.skipped += 1;
                    }
                    Ok(Fired::Moved) => {
                        metrics::scheduler_slot("moved");
                        tracing::debug!(target: "reverie::scheduler", agent_id, slot = %slot, "slot taken by another scheduler");
                        tick.moved += 1;
                    }
                    Ok(Fired::Rescheduled) => {}
                    Err(e) => {
                        metrics::scheduler_slot("error");
                        // One line per tick: a failing store would repeat it for every due slot.
                        if tick.errors == 0 {
                            tracing::error!(target: "reverie::scheduler", agent_id, slot = %slot, error = %e, "cannot act on a due slot; it is tried again at the next tick");
                        }
                        tick.errors += 1;
                        failed += 1;
                    }
                }
            }
            // A short batch was the last; a batch that failed whole would be
            // read again unchanged, so it waits for the next tick.
            if due.len() < self.batch as usize || failed == due.len() {
                return Ok(tick);
            }
        }
    }

    /// Decide and record what one due slot gets. `Rescheduled`: the schedule
    /// only moved (to a caught-up slot whose jitter has not yet passed).
    fn fire(&self, due: &DueSchedule, now: i64) -> Result<Fired, StoreError> {
        let expected = due.slot.slot_ms;
        let schedule = match Schedule::parse(&due.dreaming_frequency, &due.timezone) {
            Ok(schedule) => schedule,
            Err(e) => {
                // Stored before expressions were checked strictly: record why it
                // stopped, and leave it unscheduled until the agent is updated.
                let dream = self.skipped(
                    due,
                    expected,
                    now,
                    format!("unschedulable: dreaming_frequency or timezone: {e}"),
                );
                return self.apply(due, Some(dream), None, 0);
            }
        };

        // The latest slot inside the catch-up window, if any.
        let window_start = now - self.policy.catch_up_window_ms;
        let mut latest = None;
        let mut cursor = (expected - 1).max(window_start);
        while let Some(slot) = schedule.next_after(cursor) {
            if slot > now {
                break;
            }
            latest = Some(slot);
            cursor = slot;
        }
        let next = self.policy.next_slot(&due.agent_id, &schedule, now);

        let Some(run) = latest else {
            // Every slot since `expected` is older than the window.
            let missed = count_slots(&schedule, expected, window_start);
            let dream = self.skipped(
                due,
                expected,
                now,
                format!(
                    "missed: this slot{} passed while no scheduler was running, and {} older than the catch-up window",
                    if missed > 1 {
                        format!(" and {} later one{}", missed - 1, if missed > 2 { "s" } else { "" })
                    } else {
                        String::new()
                    },
                    if missed > 1 { "they are" } else { "it is" }
                ),
            );
            return self.apply(due, Some(dream), next, missed);
        };

        let missed = if run == expected {
            0
        } else {
            count_slots(&schedule, expected, run)
        };
        let run_at = run + self.policy.jitter_ms(&due.agent_id, &schedule, run);
        if run_at > now {
            // A caught-up slot whose jitter has not passed: point the schedule
            // at it, and it fires at its own time like any other.
            return self.apply(
                due,
                None,
                Some(Slot {
                    slot_ms: run,
                    run_at_ms: run_at,
                }),
                missed,
            );
        }
        let trigger = if missed > 0 || now - run_at > LATE_MS {
            "catch_up"
        } else {
            "schedule"
        };
        let dream = Dream {
            slot_ms: Some(run),
            ..Dream::pending(&due.agent_id, trigger, now, run)
        };
        let fired = self.apply(due, Some(dream), next, missed)?;
        if fired == Fired::Queued {
            let late = Duration::from_millis((now - run_at).max(0) as u64);
            metrics::scheduler_lag(late);
            tracing::info!(
                target: "reverie::scheduler",
                agent_id = %due.agent_id,
                slot = %rfc3339(run),
                trigger,
                missed,
                lag_ms = late.as_millis() as u64,
                "scheduled dream queued"
            );
        }
        Ok(fired)
    }

    fn skipped(&self, due: &DueSchedule, slot: i64, now: i64, reason: String) -> Dream {
        Dream {
            status: DreamStatus::Skipped,
            slot_ms: Some(slot),
            window_end_ms: None,
            finished_at_ms: Some(now),
            error: Some(reason),
            ..Dream::pending(&due.agent_id, "schedule", now, now)
        }
    }

    fn apply(
        &self,
        due: &DueSchedule,
        dream: Option<Dream>,
        next: Option<Slot>,
        missed: u64,
    ) -> Result<Fired, StoreError> {
        let firing = SlotFiring {
            agent_id: due.agent_id.clone(),
            expected_slot_ms: due.slot.slot_ms,
            dream,
            next,
            missed,
        };
        match self.store.fire_slot(&firing) {
            // Another scheduler recorded this slot between our read and write.
            Err(StoreError::Conflict { field: "slot", .. }) => Ok(Fired::Moved),
            other => other,
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Slots in [`from`, `until`), counted up to [`COUNT_CAP`].
fn count_slots(schedule: &Schedule, from: i64, until: i64) -> u64 {
    let mut n = 0;
    let mut cursor = from - 1;
    while let Some(slot) = schedule.next_after(cursor) {
        if slot >= until || n >= COUNT_CAP {
            break;
        }
        n += 1;
        cursor = slot;
    }
    n
}

#[cfg(test)]
mod tests;
