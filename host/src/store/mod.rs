//! Persistence: one trait per aggregate (together, [`Store`]), and two
//! backends: SQLite ([`sqlite`], the embedded default) and PostgreSQL
//! ([`postgres`], shared by replicas).
//!
//! The store owns every durable fact: agents and their config versions,
//! interactions, feedback, dreams with their reports, API keys and idempotency
//! records. It knows nothing of HTTP or of rules: the API and the dream runner
//! speak to it in the plain records below, and it never sees a request or a WIT
//! type.
//!
//! The interface is synchronous, and callers on the async side run it on the
//! blocking pool. Both backends implement it with the same behaviour (the
//! contract suite runs on each): every write that must be atomic is one method
//! (a batch of interactions, a creation with its idempotency record), so each
//! backend can make it one transaction; pagination is keyset ("after this id"),
//! never OFFSET; times are integer milliseconds; and the SQL sticks to what
//! both engines share.
//!
//! When a method returns `Ok`, what it wrote is on disk (see
//! [`sqlite::SqliteStore`] for how).

pub mod backup;
#[cfg(test)]
pub(crate) mod contract;
pub mod postgres;
pub mod sqlite;

use crate::model::{Feedback, Interaction, Rating};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A write that names something already there (e.g. an interaction id).
    #[error("{message}")]
    Conflict {
        /// Position in a batch, when the write was one.
        index: Option<usize>,
        field: &'static str,
        message: String,
    },
    /// A write that names something that is not there (feedback on an unknown interaction).
    #[error("{message}")]
    Dangling {
        index: Option<usize>,
        field: &'static str,
        message: String,
    },
    /// The idempotency key was taken by a write that committed first.
    #[error("idempotency key already used")]
    IdempotencyKeyTaken,
    #[error(
        "{} is in use by another reverie process (only one may open it; lock file {})",
        path.display(),
        lock.display()
    )]
    Locked {
        path: std::path::PathBuf,
        lock: std::path::PathBuf,
    },
    #[error("the database {} has schema version {found}, newer than this reverie knows ({known}); upgrade reverie", path.display())]
    SchemaTooNew {
        path: std::path::PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the database is not set up safely: {0}")]
    Unsafe(String),
    #[error("cannot use the data directory {}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page of a list, newest or oldest first depending on the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// `NotFound::what` when a page's cursor names nothing (a cursor not given out by us).
pub const CURSOR: &str = "cursor";

/// Where a page starts: after the item with this id (exclusive), at most `limit` items.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

/// The response to replay for a repeated `Idempotency-Key`, written in the same
/// transaction as the thing it created: a crash can never leave one without the other.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    /// The API key that used it: keys are per caller.
    pub principal: String,
    pub key: String,
    /// sha256 of method, path and body: the same key with another request is refused.
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub body: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub model: String,
    pub dreaming_enabled: bool,
    pub dreaming_frequency: String,
    pub timezone: String,
    pub feedback_webhook: Option<String>,
    /// Fewer new interactions than this since the last dream: the dream is
    /// skipped. `None`: the server's `[server] min_interactions`.
    pub min_new_interactions: Option<u64>,
    /// Where its schedule stands (all empty until the scheduler or the API set it).
    pub schedule: ScheduleState,
    /// The live config version (1 is `v1`).
    pub live_version: i64,
    /// The live version's system prompt.
    pub system_prompt: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The fields an update may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub model: Option<String>,
    pub dreaming_enabled: Option<bool>,
    pub dreaming_frequency: Option<String>,
    pub timezone: Option<String>,
    /// `Some(None)` clears it.
    pub feedback_webhook: Option<Option<String>>,
    /// `Some(None)` goes back to the server default.
    pub min_new_interactions: Option<Option<u64>>,
    /// A different prompt creates a new config version and makes it live.
    pub system_prompt: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigVersion {
    pub version: i64,
    pub system_prompt: String,
    pub created_at_ms: i64,
    pub live: bool,
}

/// An interaction as stored: its JSON as received, and the columns the store filters on.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionRecord {
    pub id: String,
    pub timestamp_ms: i64,
    /// The version it is counted under: see [`version_key`].
    pub config_version: String,
    /// The interaction object as checked at ingest, with its id (the JSONL line format).
    pub body: String,
    pub received_at_ms: i64,
}

/// What a client's own `config_version` label is stored and reported as.
pub const CLIENT_LABEL: &str = "client:";

/// The config version an interaction is counted under on the server, in the
/// `config_version` column, the API's views and a dream's metrics.
///
/// Two namespaces meet here and must never be confused: the versions the
/// server mints when a prompt changes (`v1`, `v2`, … in `GET …/versions`),
/// and the labels a runtime writes in its own logs (often also `v1`, `v2`,
/// meaning other prompts). So: a server version the runtime reports
/// (`agent_version`) is itself, `v3`; a label alone is `client:<label>`, so
/// that a metric never shows a label as a server version; with neither, the
/// interaction is counted under `fallback`, the version live when it arrived.
/// Computed from the body on every read too, so rows stored before this rule
/// are counted the same way.
pub fn version_key(agent_version: Option<i64>, label: Option<&str>, fallback: &str) -> String {
    match (agent_version, label) {
        (Some(n), _) => format!("v{n}"),
        (None, Some(label)) => format!("{CLIENT_LABEL}{label}"),
        (None, None) => fallback.to_string(),
    }
}

/// An interaction row as read back for the API: the record, and why its body
/// cannot be read as an interaction, if it cannot (see [`Unreadable`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInteraction {
    /// When unreadable, `body` is the stored text as far as it is text.
    pub record: InteractionRecord,
    pub unreadable: Option<String>,
}

/// A stored interaction that cannot be read back (its body is not an
/// interaction, not JSON, or not text), and why. Readers leave such a row out
/// and say so, naming it: one bad row never fails a dream or a listing
/// (RELIABILITY 31), and `DELETE …/interactions/{id}` removes it. Rows are
/// checked on the way in, so this is for rows written by an older reverie or
/// by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub id: String,
    /// At most [`Unreadable::MAX_REASON`] bytes.
    pub reason: String,
}

impl Unreadable {
    /// Reasons are parse errors, but a body can be anything: bound what a
    /// report or a page repeats of it.
    pub const MAX_REASON: usize = 300;

    pub fn new(id: impl Into<String>, reason: &str) -> Unreadable {
        let mut reason = reason.to_string();
        if reason.len() > Self::MAX_REASON {
            let mut end = Self::MAX_REASON - 3;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
            reason.push_str("...");
        }
        Unreadable {
            id: id.into(),
            reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRecord {
    pub id: String,
    pub interaction_id: String,
    pub rating: Rating,
    pub comment: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DreamStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Skipped,
}

impl DreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DreamStatus::Pending => "pending",
            DreamStatus::Running => "running",
            DreamStatus::Completed => "completed",
            DreamStatus::Failed => "failed",
            DreamStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<DreamStatus> {
        Some(match text {
            "pending" => DreamStatus::Pending,
            "running" => DreamStatus::Running,
            "completed" => DreamStatus::Completed,
            "failed" => DreamStatus::Failed,
            "skipped" => DreamStatus::Skipped,
            _ => return None,
        })
    }
}

/// What a finished dream found, in brief (the list view).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DreamSummary {
    pub text: String,
    pub interactions: u64,
    /// Problems found (stored in the `n_patterns` column, from before problems).
    pub problems: u64,
    pub suggestions: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dream {
    pub id: String,
    pub agent_id: String,
    pub status: DreamStatus,
    /// Who asked: `api` (a person, now), `schedule`, or `catch_up` (a slot
    /// run late, after the server was down).
    pub trigger: String,
    /// The schedule slot it is for (the nominal fire time), for scheduled dreams.
    pub slot_ms: Option<i64>,
    /// How many times a worker claimed it (more than one after a takeover).
    pub attempts: u32,
    /// The worker holding it while `running`, and until when.
    pub lease_owner: Option<String>,
    pub lease_expires_ms: Option<i64>,
    /// The window asked for; `None` at the start means "since the last completed dream".
    pub window_start_ms: Option<i64>,
    pub window_end_ms: Option<i64>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    pub summary: Option<DreamSummary>,
    /// The whole `reverie.report/v2` JSON, once completed (only from [`Store::get_dream`]).
    pub report: Option<String>,
    /// When retention removed the rules' raw run output (log lines and
    /// captured output) from the report; the rest of the report stays.
    pub logs_swept_at_ms: Option<i64>,
}

impl Dream {
    /// A new `pending` dream of `agent_id` asked for by `trigger`, over the
    /// window since the last completed dream up to `until_ms`.
    pub fn pending(agent_id: &str, trigger: &str, now_ms: i64, until_ms: i64) -> Dream {
        Dream {
            id: crate::ids::new(crate::ids::DREAM),
            agent_id: agent_id.to_string(),
            status: DreamStatus::Pending,
            trigger: trigger.to_string(),
            slot_ms: None,
            window_start_ms: None,
            window_end_ms: Some(until_ms),
            created_at_ms: now_ms,
            started_at_ms: None,
            finished_at_ms: None,
            error: None,
            summary: None,
            report: None,
            attempts: 0,
            lease_owner: None,
            lease_expires_ms: None,
            logs_swept_at_ms: None,
        }
    }
}

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

/// Where an agent's webhook events go.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub agent_id: String,
    pub url: String,
    /// `whsec_…`: signs every event sent here.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_expires_ms`.
    pub previous_secret: Option<String>,
    pub previous_expires_ms: Option<i64>,
    /// Event types sent here; `*` for all.
    pub events: Vec<String>,
    /// `api` (registered) or `feedback_webhook` (the agent's field).
    pub source: String,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
    pub disabled_reason: Option<String>,
    /// Start of the current unbroken run of failed attempts.
    pub failing_since_ms: Option<i64>,
}

impl Endpoint {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

/// An event to put in the outbox with the write that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: String,
    pub event_type: String,
    /// The event's fields, a JSON object (the envelope is added when sent).
    pub data: String,
}

/// An event as stored, with its per-agent sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub agent_id: String,
    pub event_type: String,
    pub seq: i64,
    pub data: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (the first, or a retry).
    Pending,
    Delivered,
    /// Every attempt failed: the dead letter, redeliverable.
    Dead,
    /// Its endpoint was deleted first.
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        Some(match text {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "dead" => DeliveryStatus::Dead,
            "cancelled" => DeliveryStatus::Cancelled,
            _ => return None,
        })
    }
}

/// One event bound for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub agent_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at_ms: Option<i64>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub n: u32,
    pub at_ms: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery claimed for sending, with what sending it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub event: WebhookEvent,
    pub endpoint: Endpoint,
}

/// What an attempt means for its delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at this time.
    Retry {
        at_ms: i64,
    },
    /// The last attempt failed: the dead letter.
    Dead,
}

/// Rows the retention sweeper removes, one kind at a time (see [`Store::sweep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Idempotency records created before the cutoff.
    Idempotency,
    /// Deliveries that were delivered, or cancelled with their endpoint, before
    /// the cutoff, with their attempts.
    Deliveries,
    /// Dead letters (every attempt failed) that died before the cutoff, with
    /// their attempts.
    DeadLetters,
    /// Events created before the cutoff that no delivery refers to any more.
    /// An agent's latest event always stays: the next one's sequence number
    /// follows it.
    Events,
}

/// What one sweep batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub rows: u64,
    /// Delivery attempts removed with their deliveries.
    pub attempts: u64,
}

/// How a running dream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DreamOutcome {
    Completed {
        summary: DreamSummary,
        report: String,
        window_start_ms: Option<i64>,
        window_end_ms: i64,
    },
    Skipped {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// `None`: an admin key. `Some(agent)`: a key that sees only that agent.
    pub agent_id: Option<String>,
    /// sha256 of the secret; the secret itself is never stored.
    pub hash: Vec<u8>,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// Interactions to read, for a dream: one agent, `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window<'a> {
    pub agent_id: &'a str,
    pub since_ms: Option<i64>,
    pub until_ms: i64,
}

/// Where a window read left off: `(timestamp_ms, seq)` of the last row.
pub type WindowCursor = (i64, i64);

/// The store: every aggregate's trait, which a backend implements all of.
/// Every method is one transaction (or one consistent read). Callers hold a
/// `dyn Store` and call any aggregate's methods on it; a backend test runs the
/// contract suite of each aggregate ([`contract`]).
pub trait Store:
    AgentStore + InteractionStore + DreamStore + ScheduleStore + WebhookStore + KeyStore + OpsStore
{
}

impl<T> Store for T where
    T: AgentStore
        + InteractionStore
        + DreamStore
        + ScheduleStore
        + WebhookStore
        + KeyStore
        + OpsStore
{
}

/// Agents and their config versions.
pub trait AgentStore: Send + Sync {
    /// Create an agent with config version 1 live, and its schedule at `next`.
    fn create_agent(
        &self,
        agent: &Agent,
        next: Option<Slot>,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    fn get_agent(&self, id: &str) -> Result<Option<Agent>>;
    /// Agents in creation order; only `only` when given (a scoped key's agent).
    fn list_agents(&self, only: Option<&str>, page: &PageRequest) -> Result<Page<Agent>>;
    /// Apply `update`; a new system prompt becomes a new live version. When
    /// dreaming, its frequency or time zone change, `reschedule` is called with
    /// the updated agent, in the same transaction, for its next slot (`None`:
    /// not scheduled). A paused schedule stays paused.
    fn update_agent(
        &self,
        id: &str,
        update: &AgentUpdate,
        now_ms: i64,
        reschedule: &dyn Fn(&Agent) -> Option<Slot>,
    ) -> Result<Agent>;
    /// Versions, newest first.
    fn list_versions(&self, agent_id: &str, page: &PageRequest) -> Result<Page<ConfigVersion>>;
    /// Make an existing version live again.
    fn activate_version(&self, agent_id: &str, version: i64, now_ms: i64) -> Result<Agent>;
}

/// Interactions and the feedback on them, and the windows dreams read.
pub trait InteractionStore: Send + Sync {
    /// Store a batch: all of it or none of it. A duplicate id is a `Conflict`
    /// naming its index.
    fn insert_interactions(
        &self,
        agent_id: &str,
        items: &[InteractionRecord],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// The interaction, readable or not (then with why).
    fn get_interaction(&self, agent_id: &str, id: &str) -> Result<Option<StoredInteraction>>;
    /// Interactions in arrival order, unreadable ones included (with why), so
    /// that a page is never refused for one bad row.
    fn list_interactions(
        &self,
        agent_id: &str,
        page: &PageRequest,
    ) -> Result<Page<StoredInteraction>>;
    /// Store a batch of feedback: all or none. Feedback on an interaction the
    /// agent does not have is `Dangling`, naming its index.
    fn insert_feedback(
        &self,
        agent_id: &str,
        items: &[FeedbackRecord],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// Delete an interaction and the feedback on it, in one transaction (the
    /// way to remove a bad row, or a conversation that must go). Returns how
    /// much feedback went with it; `NotFound` when the agent, or the agent's
    /// interaction, is not there. Reports that named it as evidence keep the id.
    fn delete_interaction(&self, agent_id: &str, id: &str) -> Result<u64>;
    /// Feedback on one interaction, oldest first.
    fn feedback_for(&self, agent_id: &str, interaction_id: &str) -> Result<Vec<FeedbackRecord>>;

    /// The next `limit` interactions of a window after `after`, in time order,
    /// with the cursor to continue from. Dreams read windows this way, a chunk at
    /// a time, so a window of any size is never held whole. A row that cannot
    /// be read is `Err(Unreadable)` in its place, never an error of the read.
    fn read_window(
        &self,
        window: Window<'_>,
        after: Option<WindowCursor>,
        limit: u32,
    ) -> Result<Vec<(WindowCursor, Result<Interaction, Unreadable>)>>;
    /// Feedback on the window's interactions, to `sink` one at a time.
    fn window_feedback(&self, window: Window<'_>, sink: &mut dyn FnMut(Feedback)) -> Result<()>;
    fn count_window(&self, window: Window<'_>) -> Result<u64>;
}

/// Dreams: created, claimed under a lease, finished once by the lease owner.
pub trait DreamStore: Send + Sync {
    /// Record a dream; `event` (a run-now) goes into the audit trail with it.
    fn create_dream(
        &self,
        dream: &Dream,
        event: Option<&ScheduleEvent>,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// The dream, report included.
    fn get_dream(&self, id: &str) -> Result<Option<Dream>>;
    /// An agent's dreams, newest first, without their reports.
    fn list_dreams(&self, agent_id: &str, page: &PageRequest) -> Result<Page<Dream>>;
    /// Claim the oldest dream a worker may run, for `lease_ms`: a `pending` one
    /// whose agent has no other dream running, or a `running` one whose lease
    /// expired (its worker stalled or died). A dream claimed `max_attempts`
    /// times without finishing is marked `failed` instead of claimed again.
    fn claim_dream(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        max_attempts: u32,
    ) -> Result<Option<Dream>>;
    /// Extend `owner`'s lease. `false`: the lease is gone (taken over or released).
    fn renew_lease(&self, id: &str, owner: &str, now_ms: i64, lease_ms: i64) -> Result<bool>;
    /// running → completed | skipped | failed, only while `owner` holds the
    /// lease: a worker that lost it changes nothing. `false` if it did not hold
    /// it. `events` go into the outbox in the same transaction, with a delivery
    /// for each of the agent's enabled endpoints that wants them: a report is
    /// never stored without its deliveries, nor the other way round.
    fn finish_dream(
        &self,
        id: &str,
        owner: &str,
        outcome: &DreamOutcome,
        events: &[OutboxEvent],
        now_ms: i64,
    ) -> Result<bool>;
    /// running → pending, giving up `owner`'s lease (graceful shutdown). `false`
    /// if it did not hold it.
    fn release_dream(&self, id: &str, owner: &str) -> Result<bool>;
    /// The agent's latest completed dream, report included: the previous one for a new dream.
    fn last_completed_dream(&self, agent_id: &str) -> Result<Option<Dream>>;
    /// Release every lease: all `running` dreams go back to `pending`, and
    /// deliveries in flight are due again. Only for
    /// a process that knows no other worker shares the database (SQLite's
    /// `serve` holds the directory lock); replicas wait for leases to expire.
    /// The claims still count as attempts (the crash may have been the dream's
    /// doing). Returns how many were released.
    fn release_all_leases(&self) -> Result<u64>;
}

/// Schedules: due slots, each fired once, and the audit trail.
pub trait ScheduleStore: Send + Sync {
    /// Schedules due at `now_ms` (not paused, `next_run_at <= now`), earliest first.
    fn due_schedules(&self, now_ms: i64, limit: u32) -> Result<Vec<DueSchedule>>;
    /// Apply a scheduler's decision for one due slot, in one transaction.
    fn fire_slot(&self, firing: &SlotFiring) -> Result<Fired>;
    /// Set the next slot of an agent whose schedule is not paused (used for
    /// schedules that have none yet). `false` if paused or already set.
    fn init_schedule(&self, agent_id: &str, next: Option<Slot>) -> Result<bool>;
    /// Enabled, unpaused agents whose schedule has no next slot yet (e.g. after
    /// an upgrade), at most `limit`.
    fn unscheduled_agents(&self, limit: u32) -> Result<Vec<Agent>>;
    /// Pause (the slot cleared) or resume (at the slot `reschedule` gives for
    /// the agent as it is, read in the same transaction), with the event audited.
    fn set_paused(
        &self,
        agent_id: &str,
        paused: bool,
        reschedule: &dyn Fn(&Agent) -> Option<Slot>,
        event: &ScheduleEvent,
    ) -> Result<ScheduleState>;
    /// The agent's audit trail, newest first.
    fn schedule_events(&self, agent_id: &str, limit: u32) -> Result<Vec<ScheduleEvent>>;
}

/// Webhook endpoints and their deliveries, claimed under a lease.
pub trait WebhookStore: Send + Sync {
    fn create_endpoint(&self, endpoint: &Endpoint, idem: Option<&IdempotencyRecord>) -> Result<()>;
    /// An endpoint that is not deleted.
    fn get_endpoint(&self, id: &str) -> Result<Option<Endpoint>>;
    /// The agent's endpoints, oldest first (deleted ones left out).
    fn list_endpoints(&self, agent_id: &str) -> Result<Vec<Endpoint>>;
    /// Delete an endpoint; its pending deliveries are cancelled.
    fn delete_endpoint(&self, id: &str, now_ms: i64) -> Result<()>;
    /// A new secret; the old one keeps signing until `previous_expires_ms`.
    fn rotate_secret(&self, id: &str, secret: &str, previous_expires_ms: i64) -> Result<Endpoint>;
    /// Enable a disabled endpoint again (its pending deliveries resume).
    fn enable_endpoint(&self, id: &str) -> Result<Endpoint>;
    /// Keep the agent's `feedback_webhook` endpoint in step with the field:
    /// `None` deletes it; a URL creates it (with `new`'s id and secret) or
    /// points it at the new URL.
    fn sync_feedback_endpoint(
        &self,
        agent_id: &str,
        url: Option<&str>,
        new: &Endpoint,
    ) -> Result<()>;
    /// Agents with a `feedback_webhook` but no endpoint for it (a database
    /// from before endpoints existed): `(agent id, url)`, at most `limit`.
    fn unlinked_feedback_webhooks(&self, limit: u32) -> Result<Vec<(String, String)>>;

    /// Claim up to `limit` deliveries due at `now_ms` whose endpoint is enabled.
    fn claim_deliveries(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>>;
    /// Record an attempt and what it means, fenced on `owner`'s lease. A
    /// failure starts (or continues) the endpoint's run of failures, a success
    /// ends it; `disable` disables the endpoint with that reason, and `events`
    /// (an `endpoint.disabled`) go into the outbox with it. `false`: the lease
    /// was lost, nothing written.
    fn record_attempt(
        &self,
        delivery_id: &str,
        owner: &str,
        attempt: &Attempt,
        outcome: &AttemptOutcome,
        disable: Option<&str>,
        events: &[OutboxEvent],
    ) -> Result<bool>;
    fn get_delivery(&self, id: &str) -> Result<Option<Delivery>>;
    /// The agent's deliveries (or one endpoint's, or those in one status),
    /// newest first.
    fn list_deliveries(
        &self,
        agent_id: &str,
        endpoint_id: Option<&str>,
        status: Option<DeliveryStatus>,
        page: &PageRequest,
    ) -> Result<Page<Delivery>>;
    fn delivery_attempts(&self, delivery_id: &str) -> Result<Vec<Attempt>>;
    /// Send a delivery's event again to its endpoint, as a new delivery with
    /// the same event (so the same `webhook-id`).
    fn redeliver(&self, delivery_id: &str, new_id: &str, now_ms: i64) -> Result<Delivery>;
}

/// API keys, and the idempotency records of creating requests.
pub trait KeyStore: Send + Sync {
    fn create_api_key(&self, key: &ApiKey, idem: Option<&IdempotencyRecord>) -> Result<()>;
    /// Create `key` only if there is no key at all, atomically: of servers
    /// starting together on an empty database, one makes the first key.
    /// `false`: there was one already; nothing written.
    fn create_first_api_key(&self, key: &ApiKey) -> Result<bool>;
    fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>>;
    fn list_api_keys(&self, page: &PageRequest) -> Result<Page<ApiKey>>;
    fn revoke_api_key(&self, id: &str, now_ms: i64) -> Result<ApiKey>;
    fn count_api_keys(&self) -> Result<u64>;
    fn get_idempotency(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>>;
}

/// Retention sweeps and the operator's probes (`/readyz`, `/metrics`).
pub trait OpsStore: Send + Sync {
    /// Remove at most `limit` rows of `what` older than `before_ms`, in one
    /// short transaction. Never a pending delivery (a first attempt or a retry
    /// still to come), nor an event a delivery refers to.
    fn sweep(&self, what: Sweep, before_ms: i64, limit: u32) -> Result<Swept>;
    /// Remove the raw run output of at most `limit` dreams finished before
    /// `before_ms` whose output is still there: `strip` turns a report into the
    /// report without it (`None`: unreadable; left as it is, but marked so
    /// that it is not read again at every sweep), and the dream records
    /// `now_ms` as when its logs were swept. Reports are rewritten
    /// outside the write transaction. Returns how many dreams were marked.
    fn sweep_run_logs(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: u32,
        strip: &dyn Fn(&str) -> Option<String>,
    ) -> Result<u64>;

    /// A cheap query that proves the database answers (for `/readyz`).
    fn ping(&self) -> Result<()>;

    /// Work waiting now, for `/metrics`: counted on the status indexes, so a
    /// scrape costs the size of the queues, never of the history.
    fn queue_depths(&self) -> Result<QueueDepths>;
}

/// How much work is waiting (see [`OpsStore::queue_depths`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepths {
    pub dreams_pending: u64,
    pub dreams_running: u64,
    /// Deliveries neither delivered, dead nor cancelled: due now or waiting for a retry.
    pub deliveries_pending: u64,
}

/// Every aggregate's trait, for code that calls a concrete backend
/// (`use crate::store::traits::*`); code holding a `dyn Store` needs none.
pub mod traits {
    pub use super::{
        AgentStore, DreamStore, InteractionStore, KeyStore, OpsStore, ScheduleStore, WebhookStore,
    };
}
