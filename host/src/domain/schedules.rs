//! Schedules: an agent's next slot, a due schedule, what a scheduler decided and did, and the audit trail.
//! Plain records: no I/O, no HTTP, no SQL; the store and the API convert
//! at their edges.

use super::dreams::Dream;

/// An agent's schedule: the next slot and what happened to earlier ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleState {
    /// The next nominal fire time; `None` while dreaming is off or paused.
    pub next_slot_ms: Option<i64>,
    /// When the scheduler acts on it: the slot plus the agent's jitter.
    pub next_run_at_ms: Option<i64>,
    pub paused: bool,
    /// The last slot the scheduler acted on.
    pub last_slot_ms: Option<i64>,
    /// Slots skipped because a dream of the agent was still pending or running.
    pub overlap_skips: u64,
    /// Slots that passed while no scheduler ran and were not caught up.
    pub missed_slots: u64,
}

/// A slot to schedule: its nominal time and when to act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub slot_ms: i64,
    pub run_at_ms: i64,
}

/// A schedule that has come due, with what the scheduler needs to move it on.
#[derive(Debug, Clone, PartialEq)]
pub struct DueSchedule {
    pub agent_id: String,
    pub slot: Slot,
    pub dreaming_frequency: String,
    pub timezone: String,
}

/// What the scheduler decided for a due slot; [`Store::fire_slot`] applies it
/// in one transaction, if the schedule still stands at `expected_slot_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotFiring {
    pub agent_id: String,
    /// The slot the scheduler read (compare-and-set against other schedulers).
    pub expected_slot_ms: i64,
    /// The dream to record: `pending` to run, or `skipped` with its reason;
    /// its `slot_ms` is set. A `pending` dream that meets a dream of the same
    /// agent still pending or running is recorded `skipped` (overlap) instead.
    /// `None`: only move the schedule.
    pub dream: Option<Dream>,
    /// Where the schedule goes next.
    pub next: Option<Slot>,
    /// Slots passed over without a dream of their own.
    pub missed: u64,
}

/// What [`Store::fire_slot`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// The dream is pending: a worker will run it.
    Queued,
    /// The dream was recorded skipped, as the firing asked.
    Skipped,
    /// Another dream of the agent (this id) was still pending or running.
    Overlap { active: String },
    /// The schedule had moved on (another scheduler fired this slot): nothing written.
    Moved,
    /// No dream was asked for: the schedule was moved on.
    Rescheduled,
}

/// Pause, resume and run-now, as kept in the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEvent {
    pub agent_id: String,
    pub at_ms: i64,
    /// `pause`, `resume`, `run_now`, or `unschedulable`.
    pub action: String,
    /// The API key that asked, or `scheduler`.
    pub actor: String,
    pub detail: Option<String>,
}
