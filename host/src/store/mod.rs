//! Persistence: one trait per aggregate (together, [`Store`]), and two
//! backends: SQLite ([`sqlite`], the embedded default) and PostgreSQL
//! ([`postgres`], shared by replicas).
//!
//! The store owns every durable fact: agents and their config versions,
//! interactions, feedback, dreams with their reports, API keys and idempotency
//! records, installed rules' components and each agent's rule set. It knows nothing of HTTP or of rules: the API and the dream runner
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

pub use crate::domain::agents::*;
pub use crate::domain::dreams::*;
pub use crate::domain::interactions::*;
pub use crate::domain::keys::*;
pub use crate::domain::rules::*;
pub use crate::domain::schedules::*;
pub use crate::domain::webhooks::*;
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

/// A page from `limit + 1` rows fetched: the extra row only says there are more.
pub(crate) fn page_of<T>(mut items: Vec<T>, limit: u32) -> Page<T> {
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Page { items, has_more }
}

/// A rating as both backends store it (a `CHECK` constraint holds the column to these).
pub(crate) fn rating_text(r: Rating) -> &'static str {
    match r {
        Rating::Positive => "positive",
        Rating::Negative => "negative",
        Rating::Neutral => "neutral",
    }
}

/// A stored rating read back; anything else (never written by reverie) is neutral.
pub(crate) fn rating_of(text: &str) -> Rating {
    match text {
        "positive" => Rating::Positive,
        "negative" => Rating::Negative,
        _ => Rating::Neutral,
    }
}

/// An installed rule's description as both backends keep it: one JSON text
/// (`info`, `contract`, `capabilities`), so that a richer `info()` later
/// needs no migration.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRuleInfo {
    info: crate::model::RuleInfo,
    contract: String,
    capabilities: Vec<String>,
}

pub(crate) fn rule_info_text(rule: &InstalledRule) -> String {
    serde_json::to_string(&StoredRuleInfo {
        info: rule.info.clone(),
        contract: rule.contract.clone(),
        capabilities: rule.capabilities.clone(),
    })
    .unwrap_or_default()
}

pub(crate) fn installed_rule(
    id: String,
    info: &str,
    size_bytes: i64,
    installed_at_ms: i64,
) -> Result<InstalledRule> {
    let stored: StoredRuleInfo = serde_json::from_str(info)
        .map_err(|e| StoreError::Corrupt(format!("rule {id}: its info is unreadable: {e}")))?;
    Ok(InstalledRule {
        id,
        info: stored.info,
        contract: stored.contract,
        capabilities: stored.capabilities,
        size_bytes: size_bytes.max(0) as u64,
        installed_at_ms,
    })
}

/// A rule set's entries as both backends keep them (one JSON text).
pub(crate) fn rule_set_text(set: &RuleSet) -> String {
    serde_json::to_string(&set.rules).unwrap_or_default()
}

pub(crate) fn rule_set_of(agent_id: &str, rules: &str, updated_at_ms: i64) -> Result<RuleSet> {
    let rules = serde_json::from_str(rules).map_err(|e| {
        StoreError::Corrupt(format!("agent {agent_id}: its rule set is unreadable: {e}"))
    })?;
    Ok(RuleSet {
        rules,
        updated_at_ms,
    })
}

/// The refusal to remove a rule that agents' sets still name.
pub(crate) fn rule_in_use(id: &str, agents: &[String]) -> StoreError {
    const SHOWN: usize = 5;
    let more = agents.len().saturating_sub(SHOWN);
    StoreError::Conflict {
        index: None,
        field: "id",
        message: format!(
            "rule {id} is in the rule set of agent{} {}{}: take it out of {} first",
            if agents.len() == 1 { "" } else { "s" },
            agents[..agents.len().min(SHOWN)].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            if agents.len() == 1 {
                "that set"
            } else {
                "those sets"
            },
        ),
    }
}

/// The refusal of a rule set naming a rule that is not installed.
pub(crate) fn rule_not_installed(set: &RuleSet, id: &str) -> StoreError {
    let index = set
        .rules
        .iter()
        .position(|e| matches!(&e.rule, RuleRef::Installed(i) if i == id));
    StoreError::Dangling {
        index,
        field: "rule",
        message: format!("no rule {id} is installed (install it with POST /v1/rules first)"),
    }
}

/// `NotFound::what` when a page's cursor names nothing (a cursor not given out by us).
pub const CURSOR: &str = "cursor";

/// Where a page starts: after the item with this id (exclusive), at most `limit` items.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
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
    AgentStore
    + InteractionStore
    + DreamStore
    + ScheduleStore
    + WebhookStore
    + KeyStore
    + RuleStore
    + OpsStore
{
}

impl<T> Store for T where
    T: AgentStore
        + InteractionStore
        + DreamStore
        + ScheduleStore
        + WebhookStore
        + KeyStore
        + RuleStore
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

/// Installed rules (their components, content-addressed) and agents' rule sets.
pub trait RuleStore: Send + Sync {
    /// Keep `rule` with its component, unless a rule with its id is there
    /// already (the same bytes). `true`: it is new.
    fn install_rule(&self, rule: &InstalledRule, component: &[u8]) -> Result<bool>;
    fn get_rule(&self, id: &str) -> Result<Option<InstalledRule>>;
    /// The component's bytes, as installed.
    fn rule_component(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// Installed rules in id order.
    fn list_rules(&self, page: &PageRequest) -> Result<Page<InstalledRule>>;
    /// Remove an installed rule. `Conflict` (naming the agents) while an
    /// agent's set uses it, checked in the same transaction.
    fn delete_rule(&self, id: &str) -> Result<()>;
    /// The agent's own set; `None`: it runs the server's default set.
    /// `NotFound` when there is no such agent.
    fn get_rule_set(&self, agent_id: &str) -> Result<Option<RuleSet>>;
    /// Give the agent its own set (`Some`) or send it back to the default
    /// (`None`). Every installed rule the set names must be installed
    /// (`Dangling`, naming the entry's index), checked in the same transaction.
    fn put_rule_set(&self, agent_id: &str, set: Option<&RuleSet>) -> Result<()>;
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
        AgentStore, DreamStore, InteractionStore, KeyStore, OpsStore, RuleStore, ScheduleStore,
        WebhookStore,
    };
}
