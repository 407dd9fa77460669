//! The scale-out store: PostgreSQL, shared by several `reverie serve` replicas.
//!
//! It implements every aggregate's trait with the same behaviour as
//! [`super::sqlite`] (the contract suite in [`super::contract`] runs on both),
//! and what SQLite gets from its one writer it gets from row locks instead:
//! - Claims (dreams, deliveries) select with `FOR UPDATE SKIP LOCKED`, so two
//!   replicas never claim one row and never wait on each other's claims.
//!   Completion is fenced on the lease owner, as on SQLite.
//! - One agent's dreams never overlap: a claim takes the agent's transaction
//!   lock (`pg_advisory_xact_lock`) and re-checks for a live running dream.
//! - An agent's webhook events are numbered under the same lock, so two
//!   replicas finishing at once never take one sequence number.
//! - Migrations run under a session advisory lock: replicas starting together
//!   migrate once.
//!
//! Durability: a commit is on disk when `synchronous_commit` is `on` (or
//! stronger) and `fsync` is on; a server set otherwise is refused at start,
//! as SQLite's unsafe pragmas are.
//!
//! It must not touch HTTP, rules or reports: it stores what callers give it.
//! Connections come from an `r2d2` pool over the synchronous `postgres`
//! client; callers on the async side run the store on the blocking pool, as
//! for SQLite.

use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::{FromSql, ToSql};
use ::postgres::{Client, IsolationLevel, NoTls, Row, Transaction};

use super::*;
use crate::input;
use crate::model::FeedbackSource;

/// Migrations in order, the same versions as SQLite's; `schema_migrations`
/// records the highest applied.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/postgres/0001_init.sql")),
    (2, include_str!("migrations/postgres/0002_schedules.sql")),
    (3, include_str!("migrations/postgres/0003_webhooks.sql")),
    (4, include_str!("migrations/postgres/0004_retention.sql")),
    (5, include_str!("migrations/postgres/0005_rules.sql")),
];

/// The first key of reverie's advisory locks (`"rv"`); the second names what
/// is locked: 0 for migrations, 1 for the first API key, an agent id's hash
/// for that agent.
const LOCK_CLASS: i32 = 0x7276;

/// How long a caller waits for a pooled connection before the store answers
/// with an error (a request then gets a 503-style problem, not a hang).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a transaction that lost a deadlock or a serialization race is
/// tried again before the error reaches the caller.
const RETRIES: u32 = 3;

/// How a store connects: the URL and the pool's size.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://user:pass@host:port/db?options=-csearch_path%3Dschema`; the
    /// tables live in the first schema of the connection's `search_path`.
    pub url: String,
    /// Connections this process keeps at most: dream workers, webhook senders
    /// and HTTP requests share them.
    pub pool_size: u32,
}

/// The pool's connection factory.
#[derive(Debug)]
struct Manager {
    config: ::postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Client;
    type Error = ::postgres::Error;

    fn connect(&self) -> std::result::Result<Client, ::postgres::Error> {
        self.config.connect(NoTls)
    }

    fn is_valid(&self, conn: &mut Client) -> std::result::Result<(), ::postgres::Error> {
        conn.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Client) -> bool {
        conn.is_closed()
    }
}

pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .finish()
    }
}

/// `url` with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn backend(e: ::postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("{} ({})", db.message(), db.code().code())),
        None => StoreError::Backend(e.to_string()),
    }
}

fn is_duplicate(e: &::postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn is_dangling(e: &::postgres::Error) -> bool {
    e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
}

/// A deadlock or serialization failure: the transaction may simply be run again.
fn is_retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Backend(m) if m.ends_with("(40001)") || m.ends_with("(40P01)"))
}

/// Column `i` of `row`, or an error naming it (never a panic on a bad row).
fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| {
        StoreError::Corrupt(format!(
            "column {} cannot be read: {e}",
            row.columns().get(i).map_or("?", |c| c.name())
        ))
    })
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

impl PostgresStore {
    /// Connect, check the server keeps commits, and migrate.
    pub fn connect(options: &PgOptions) -> Result<PostgresStore> {
        let shown = redact_url(&options.url);
        let config: ::postgres::Config = options.url.parse().map_err(|e| {
            StoreError::Backend(format!("the database URL {shown} is not valid: {e}"))
        })?;
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            // One connection at start proves the URL; the rest come on demand.
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(false)
            .build(Manager { config })
            .map_err(|e| StoreError::Backend(format!("cannot connect to {shown}: {e}")))?;
        let store = PostgresStore { pool, shown };
        store.check_durability()?;
        store.migrate()?;
        Ok(store)
    }

    /// The URL, password hidden: for the startup line.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.pool.get().map_err(|e| {
            StoreError::Backend(format!("no database connection from {}: {e}", self.shown))
        })
    }

    /// Run `f` in one read-committed transaction, again on a deadlock.
    fn write<T>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut tries = 0;
        loop {
            let attempt = (|| {
                let mut tx = conn
                    .build_transaction()
                    .isolation_level(IsolationLevel::ReadCommitted)
                    .start()
                    .map_err(backend)?;
                let value = f(&mut tx)?;
                tx.commit().map_err(backend)?;
                Ok(value)
            })();
            match attempt {
                Err(e) if is_retryable(&e) && tries < RETRIES => tries += 1,
                other => return other,
            }
        }
    }

    /// Run `f` in one read-only repeatable-read transaction: every statement
    /// sees the same snapshot, as a SQLite read transaction does.
    fn read<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(backend)?;
        let value = f(&mut tx)?;
        tx.commit().map_err(backend)?;
        Ok(value)
    }

    fn check_durability(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let setting = |conn: &mut Client, name: &str| -> Result<String> {
            let row = conn
                .query_one("SELECT current_setting($1)", &[&name])
                .map_err(backend)?;
            col(&row, 0)
        };
        let fsync = setting(&mut conn, "fsync")?;
        let commit = setting(&mut conn, "synchronous_commit")?;
        if fsync != "on" || !matches!(commit.as_str(), "on" | "remote_write" | "remote_apply") {
            return Err(StoreError::Unsafe(format!(
                "{}: fsync={fsync} (want on), synchronous_commit={commit} (want on): a commit \
                 could be lost in a crash after reverie answered 2xx",
                self.shown
            )));
        }
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn()?;
        // Replicas starting together: one migrates, the others wait and find it done.
        conn.execute("SELECT pg_advisory_lock($1, 0)", &[&LOCK_CLASS])
            .map_err(backend)?;
        let migrated = self.migrate_locked(&mut conn);
        let unlocked = conn
            .execute("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_CLASS])
            .map_err(backend);
        migrated.and(unlocked.map(|_| ()))
    }

    fn migrate_locked(&self, conn: &mut Client) -> Result<()> {
        conn.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .map_err(backend)?;
        let row = conn
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .map_err(backend)?;
        let current: i64 = col(&row, 0)?;
        let known = MIGRATIONS[MIGRATIONS.len() - 1].0;
        if current > known {
            return Err(StoreError::SchemaTooNew {
                path: std::path::PathBuf::from(&self.shown),
                found: current,
                known,
            });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let mut tx = conn.transaction().map_err(backend)?;
            tx.batch_execute(sql).map_err(backend)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &chrono::Utc::now().timestamp_millis()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
        }
        Ok(())
    }
}

/// Serialise this transaction with every other that touches `agent_id`'s
/// dreams or events, until it ends.
fn lock_agent(tx: &mut Transaction<'_>, agent_id: &str) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &agent_id],
    )
    .map_err(backend)?;
    Ok(())
}

fn save_idempotency(tx: &mut Transaction<'_>, idem: Option<&IdempotencyRecord>) -> Result<()> {
    let Some(r) = idem else { return Ok(()) };
    tx.execute(
        "INSERT INTO idempotency_keys (principal, key, request_hash, status, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &r.principal,
            &r.key,
            &r.request_hash,
            &i64::from(r.status),
            &r.body,
            &r.created_at_ms,
        ],
    )
    .map_err(|e| {
        if is_duplicate(&e) {
            StoreError::IdempotencyKeyTaken
        } else {
            backend(e)
        }
    })?;
    Ok(())
}

const AGENT_COLUMNS: &str = "a.id, a.name, a.model, a.dreaming_enabled, a.dreaming_frequency, a.timezone, \
     a.feedback_webhook, a.live_version, v.system_prompt, a.created_at, a.updated_at, \
     a.min_new_interactions, s.next_slot, s.next_run_at, s.paused, s.last_slot, s.overlap_skips, \
     s.missed_slots";
const AGENT_FROM: &str = "agents a
     JOIN config_versions v ON v.agent_id = a.id AND v.version = a.live_version
     LEFT JOIN schedules s ON s.agent_id = a.id";

fn agent_row(row: &Row) -> Result<Agent> {
    Ok(Agent {
        id: col(row, 0)?,
        name: col(row, 1)?,
        model: col(row, 2)?,
        dreaming_enabled: col(row, 3)?,
        dreaming_frequency: col(row, 4)?,
        timezone: col(row, 5)?,
        feedback_webhook: col(row, 6)?,
        live_version: col(row, 7)?,
        system_prompt: col(row, 8)?,
        created_at_ms: col(row, 9)?,
        updated_at_ms: col(row, 10)?,
        min_new_interactions: col::<Option<i64>>(row, 11)?.map(count),
        schedule: ScheduleState {
            next_slot_ms: col(row, 12)?,
            next_run_at_ms: col(row, 13)?,
            paused: col::<Option<bool>>(row, 14)?.unwrap_or(false),
            last_slot_ms: col(row, 15)?,
            overlap_skips: count(col::<Option<i64>>(row, 16)?.unwrap_or(0)),
            missed_slots: count(col::<Option<i64>>(row, 17)?.unwrap_or(0)),
        },
    })
}

fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

fn query_agent(tx: &mut Transaction<'_>, id: &str) -> Result<Option<Agent>> {
    tx.query_opt(
        &format!("SELECT {AGENT_COLUMNS} FROM {AGENT_FROM} WHERE a.id = $1"),
        &[&id],
    )
    .map_err(backend)?
    .map(|r| agent_row(&r))
    .transpose()
}

fn not_found(what: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

fn require_agent(tx: &mut Transaction<'_>, id: &str) -> Result<()> {
    let row = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1)", &[&id])
        .map_err(backend)?;
    if col::<bool>(&row, 0)? {
        Ok(())
    } else {
        Err(not_found("agent", id))
    }
}

fn insert_dream(tx: &mut Transaction<'_>, dream: &Dream) -> Result<()> {
    tx.execute(
        "INSERT INTO dreams (id, agent_id, status, trigger, window_start, window_end, created_at,
                             finished_at, error, slot)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &dream.id,
            &dream.agent_id,
            &dream.status.as_str(),
            &dream.trigger,
            &dream.window_start_ms,
            &dream.window_end_ms,
            &dream.created_at_ms,
            &dream.finished_at_ms,
            &dream.error,
            &dream.slot_ms,
        ],
    )
    .map_err(|e| {
        if is_duplicate(&e) {
            StoreError::Conflict {
                index: None,
                field: "id",
                message: format!("dream {} (or its slot) already exists", dream.id),
            }
        } else {
            backend(e)
        }
    })?;
    Ok(())
}

/// Put `events` in the outbox: each with the agent's next sequence number
/// (taken under the agent's lock), and a pending delivery for every enabled
/// endpoint of the agent that wants it.
fn outbox(
    tx: &mut Transaction<'_>,
    agent_id: &str,
    events: &[OutboxEvent],
    now_ms: i64,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    lock_agent(tx, agent_id)?;
    let endpoints = query_endpoints(tx, agent_id)?;
    for event in events {
        let row = tx
            .query_one(
                "SELECT COALESCE(MAX(seq), 0)::BIGINT + 1 FROM webhook_events WHERE agent_id = $1",
                &[&agent_id],
            )
            .map_err(backend)?;
        let seq: i64 = col(&row, 0)?;
        tx.execute(
            "INSERT INTO webhook_events (id, agent_id, type, seq, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &event.id,
                &agent_id,
                &event.event_type,
                &seq,
                &event.data,
                &now_ms,
            ],
        )
        .map_err(backend)?;
        for endpoint in endpoints
            .iter()
            .filter(|e| e.disabled_at_ms.is_none() && e.wants(&event.event_type))
        {
            tx.execute(
                "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, agent_id, status,
                                                 next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                &[
                    &crate::ids::new(crate::ids::DELIVERY),
                    &event.id,
                    &endpoint.id,
                    &agent_id,
                    &now_ms,
                ],
            )
            .map_err(backend)?;
        }
    }
    Ok(())
}

const ENDPOINT_COLUMNS: &str = "id, agent_id, url, secret, previous_secret, previous_expires, events, \
     source, created_at, disabled_at, disabled_reason, failing_since";

fn endpoint_row(row: &Row) -> Result<Endpoint> {
    let events: String = col(row, 6)?;
    Ok(Endpoint {
        id: col(row, 0)?,
        agent_id: col(row, 1)?,
        url: col(row, 2)?,
        secret: col(row, 3)?,
        previous_secret: col(row, 4)?,
        previous_expires_ms: col(row, 5)?,
        events: serde_json::from_str(&events).unwrap_or_else(|_| vec!["*".into()]),
        source: col(row, 7)?,
        created_at_ms: col(row, 8)?,
        disabled_at_ms: col(row, 9)?,
        disabled_reason: col(row, 10)?,
        failing_since_ms: col(row, 11)?,
    })
}

fn query_endpoints(tx: &mut Transaction<'_>, agent_id: &str) -> Result<Vec<Endpoint>> {
    let found = tx
        .query(
            &format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
                 WHERE agent_id = $1 AND deleted_at IS NULL ORDER BY id"
            ),
            &[&agent_id],
        )
        .map_err(backend)?;
    rows(found, endpoint_row)
}

fn query_endpoint(tx: &mut Transaction<'_>, id: &str) -> Result<Option<Endpoint>> {
    tx.query_opt(
        &format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL"
        ),
        &[&id],
    )
    .map_err(backend)?
    .map(|r| endpoint_row(&r))
    .transpose()
}

fn insert_endpoint(tx: &mut Transaction<'_>, e: &Endpoint) -> Result<()> {
    let events =
        serde_json::to_string(&e.events).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.execute(
        "INSERT INTO webhook_endpoints (id, agent_id, url, secret, events, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &e.id,
            &e.agent_id,
            &e.url,
            &e.secret,
            &events,
            &e.source,
            &e.created_at_ms,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, ev.type, d.endpoint_id, d.agent_id, d.status, \
     d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.finished_at";

fn delivery_row(row: &Row) -> Result<Delivery> {
    let status: String = col(row, 5)?;
    Ok(Delivery {
        id: col(row, 0)?,
        event_id: col(row, 1)?,
        event_type: col(row, 2)?,
        endpoint_id: col(row, 3)?,
        agent_id: col(row, 4)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Dead),
        attempts: col::<i64>(row, 6)?.clamp(0, u32::MAX as i64) as u32,
        next_attempt_at_ms: col(row, 7)?,
        last_status: col::<Option<i64>>(row, 8)?.and_then(|s| u16::try_from(s).ok()),
        last_error: col(row, 9)?,
        created_at_ms: col(row, 10)?,
        finished_at_ms: col(row, 11)?,
    })
}

fn query_delivery(tx: &mut Transaction<'_>, id: &str) -> Result<Option<Delivery>> {
    tx.query_opt(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_events ev ON ev.id = d.event_id WHERE d.id = $1"
        ),
        &[&id],
    )
    .map_err(backend)?
    .map(|r| delivery_row(&r))
    .transpose()
}

fn insert_event(tx: &mut Transaction<'_>, event: &ScheduleEvent) -> Result<()> {
    tx.execute(
        "INSERT INTO schedule_events (agent_id, at, action, actor, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &event.agent_id,
            &event.at_ms,
            &event.action,
            &event.actor,
            &event.detail,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// `LIMIT` for a page: one more than asked, to learn whether there are more.
fn page_limit(page: &PageRequest) -> i64 {
    i64::from(page.limit) + 1
}

const DREAM_LIST_COLUMNS: &str = "id, agent_id, status, trigger, window_start, window_end, created_at, \
     started_at, finished_at, error, summary, n_interactions, n_patterns, n_suggestions, slot, \
     attempts, lease_owner, lease_expires, logs_swept_at";

fn dream_row(row: &Row, with_report: bool) -> Result<Dream> {
    let status: String = col(row, 2)?;
    let summary: Option<String> = col(row, 10)?;
    Ok(Dream {
        id: col(row, 0)?,
        agent_id: col(row, 1)?,
        status: DreamStatus::parse(&status).unwrap_or(DreamStatus::Failed),
        trigger: col(row, 3)?,
        window_start_ms: col(row, 4)?,
        window_end_ms: col(row, 5)?,
        created_at_ms: col(row, 6)?,
        started_at_ms: col(row, 7)?,
        finished_at_ms: col(row, 8)?,
        error: col(row, 9)?,
        summary: match summary {
            Some(text) => Some(DreamSummary {
                text,
                interactions: count(col::<Option<i64>>(row, 11)?.unwrap_or(0)),
                problems: count(col::<Option<i64>>(row, 12)?.unwrap_or(0)),
                suggestions: count(col::<Option<i64>>(row, 13)?.unwrap_or(0)),
            }),
            None => None,
        },
        slot_ms: col(row, 14)?,
        attempts: col::<i64>(row, 15)?.clamp(0, u32::MAX as i64) as u32,
        lease_owner: col(row, 16)?,
        lease_expires_ms: col(row, 17)?,
        logs_swept_at_ms: col(row, 18)?,
        report: if with_report { col(row, 19)? } else { None },
    })
}

fn query_dream(tx: &mut Transaction<'_>, id: &str) -> Result<Option<Dream>> {
    tx.query_opt(
        &format!("SELECT {DREAM_LIST_COLUMNS}, report FROM dreams WHERE id = $1"),
        &[&id],
    )
    .map_err(backend)?
    .map(|r| dream_row(&r, true))
    .transpose()
}

const KEY_COLUMNS: &str = "id, name, agent_id, hash, created_at, revoked_at";

fn key_row(row: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: col(row, 0)?,
        name: col(row, 1)?,
        agent_id: col(row, 2)?,
        hash: col(row, 3)?,
        created_at_ms: col(row, 4)?,
        revoked_at_ms: col(row, 5)?,
    })
}

/// Columns `id, timestamp_ms, config_version, body, received_at`, the body
/// parsed: a row whose body is not an interaction is named unreadable in its
/// place, never an error of the read.
fn interaction_row(row: &Row) -> Result<StoredInteraction> {
    let id: String = col(row, 0)?;
    let column: String = col(row, 2)?;
    let (body, config_version, unreadable) = match read_body(row, 3, &id) {
        Ok((text, i)) => {
            let key = version_key(i.agent_version, i.config_version.as_deref(), &column);
            (text, key, None)
        }
        Err((text, reason)) => (text, column, Some(reason)),
    };
    Ok(StoredInteraction {
        record: InteractionRecord {
            id,
            timestamp_ms: col(row, 1)?,
            config_version,
            body,
            received_at_ms: col(row, 4)?,
        },
        unreadable,
    })
}

/// The body in column `index`, parsed, or the text and why it is not an interaction.
fn read_body(
    row: &Row,
    index: usize,
    id: &str,
) -> std::result::Result<(String, Interaction), (String, String)> {
    let text: String = match row.try_get::<_, Option<String>>(index) {
        Ok(Some(text)) => text,
        Ok(None) => return Err((String::new(), "the body is NULL".into())),
        Err(e) => return Err((String::new(), format!("the body cannot be read ({e})"))),
    };
    match input::parse_interaction_with_id(&text, id) {
        Ok(interaction) => Ok((text, interaction)),
        Err(e) => Err((text, e)),
    }
}

/// One agent's `[since, until)`, as `$1`, `$2`, `$3` (since may be NULL).
const WINDOW_WHERE: &str =
    "i.agent_id = $1 AND i.timestamp_ms < $2 AND ($3::BIGINT IS NULL OR i.timestamp_ms >= $3)";

impl AgentStore for PostgresStore {
    fn create_agent(
        &self,
        agent: &Agent,
        next: Option<Slot>,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO agents (id, name, model, dreaming_enabled, dreaming_frequency, timezone,
                                     feedback_webhook, live_version, created_at, updated_at,
                                     min_new_interactions)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &agent.id,
                    &agent.name,
                    &agent.model,
                    &agent.dreaming_enabled,
                    &agent.dreaming_frequency,
                    &agent.timezone,
                    &agent.feedback_webhook,
                    &agent.live_version,
                    &agent.created_at_ms,
                    &agent.updated_at_ms,
                    &agent.min_new_interactions.map(|n| n as i64),
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO schedules (agent_id, next_slot, next_run_at) VALUES ($1, $2, $3)",
                &[
                    &agent.id,
                    &next.map(|n| n.slot_ms),
                    &next.map(|n| n.run_at_ms),
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO config_versions (agent_id, version, system_prompt, created_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &agent.id,
                    &agent.live_version,
                    &agent.system_prompt,
                    &agent.created_at_ms,
                ],
            )
            .map_err(backend)?;
            save_idempotency(tx, idem)
        })
    }

    fn get_agent(&self, id: &str) -> Result<Option<Agent>> {
        self.read(|tx| query_agent(tx, id))
    }

    fn list_agents(&self, only: Option<&str>, page: &PageRequest) -> Result<Page<Agent>> {
        self.read(|tx| {
            let found = tx
                .query(
                    &format!(
                        "SELECT {AGENT_COLUMNS} FROM {AGENT_FROM}
                         WHERE ($1::TEXT IS NULL OR a.id = $1) AND ($2::TEXT IS NULL OR a.id > $2)
                         ORDER BY a.id LIMIT $3"
                    ),
                    &[&only, &page.after, &page_limit(page)],
                )
                .map_err(backend)?;
            Ok(page_of(rows(found, agent_row)?, page.limit))
        })
    }

    fn update_agent(
        &self,
        id: &str,
        update: &AgentUpdate,
        now_ms: i64,
        reschedule: &dyn Fn(&Agent) -> Option<Slot>,
    ) -> Result<Agent> {
        self.write(|tx| {
            // The row lock makes two updates of one agent take turns, as SQLite's writer does.
            tx.execute("SELECT 1 FROM agents WHERE id = $1 FOR UPDATE", &[&id])
                .map_err(backend)?;
            let current = query_agent(tx, id)?.ok_or_else(|| not_found("agent", id))?;
            let mut live = current.live_version;
            if let Some(prompt) = &update.system_prompt
                && *prompt != current.system_prompt
            {
                let row = tx
                    .query_one(
                        "SELECT MAX(version) FROM config_versions WHERE agent_id = $1",
                        &[&id],
                    )
                    .map_err(backend)?;
                let latest: i64 = col(&row, 0)?;
                live = latest + 1;
                tx.execute(
                    "INSERT INTO config_versions (agent_id, version, system_prompt, created_at)
                     VALUES ($1, $2, $3, $4)",
                    &[&id, &live, prompt, &now_ms],
                )
                .map_err(backend)?;
            }
            let webhook = match &update.feedback_webhook {
                Some(w) => w.clone(),
                None => current.feedback_webhook.clone(),
            };
            let min_new = match update.min_new_interactions {
                Some(n) => n,
                None => current.min_new_interactions,
            };
            tx.execute(
                "UPDATE agents SET name = $2, model = $3, dreaming_enabled = $4, dreaming_frequency = $5,
                        timezone = $6, feedback_webhook = $7, live_version = $8, updated_at = $9,
                        min_new_interactions = $10
                 WHERE id = $1",
                &[
                    &id,
                    update.name.as_ref().unwrap_or(&current.name),
                    update.model.as_ref().unwrap_or(&current.model),
                    &update.dreaming_enabled.unwrap_or(current.dreaming_enabled),
                    update
                        .dreaming_frequency
                        .as_ref()
                        .unwrap_or(&current.dreaming_frequency),
                    update.timezone.as_ref().unwrap_or(&current.timezone),
                    &webhook,
                    &live,
                    &now_ms,
                    &min_new.map(|n| n as i64),
                ],
            )
            .map_err(backend)?;
            let updated = query_agent(tx, id)?.ok_or_else(|| not_found("agent", id))?;
            let timing_changed = updated.dreaming_enabled != current.dreaming_enabled
                || updated.dreaming_frequency != current.dreaming_frequency
                || updated.timezone != current.timezone;
            if timing_changed && !updated.schedule.paused {
                let next = reschedule(&updated);
                tx.execute(
                    "UPDATE schedules SET next_slot = $2, next_run_at = $3 WHERE agent_id = $1",
                    &[&id, &next.map(|n| n.slot_ms), &next.map(|n| n.run_at_ms)],
                )
                .map_err(backend)?;
                return query_agent(tx, id)?.ok_or_else(|| not_found("agent", id));
            }
            Ok(updated)
        })
    }

    fn list_versions(&self, agent_id: &str, page: &PageRequest) -> Result<Page<ConfigVersion>> {
        let after: Option<i64> = match &page.after {
            None => None,
            Some(cursor) => Some(
                cursor
                    .strip_prefix('v')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("bad version cursor {cursor:?}")))?,
            ),
        };
        self.read(|tx| {
            let live: i64 = match tx
                .query_opt(
                    "SELECT live_version FROM agents WHERE id = $1",
                    &[&agent_id],
                )
                .map_err(backend)?
            {
                Some(row) => col(&row, 0)?,
                None => return Err(not_found("agent", agent_id)),
            };
            let found = tx
                .query(
                    "SELECT version, system_prompt, created_at FROM config_versions
                     WHERE agent_id = $1 AND ($2::BIGINT IS NULL OR version < $2)
                     ORDER BY version DESC LIMIT $3",
                    &[&agent_id, &after, &page_limit(page)],
                )
                .map_err(backend)?;
            let items = rows(found, |r| {
                let version: i64 = col(r, 0)?;
                Ok(ConfigVersion {
                    version,
                    system_prompt: col(r, 1)?,
                    created_at_ms: col(r, 2)?,
                    live: version == live,
                })
            })?;
            Ok(page_of(items, page.limit))
        })
    }

    fn activate_version(&self, agent_id: &str, version: i64, now_ms: i64) -> Result<Agent> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            let row = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM config_versions WHERE agent_id = $1 AND version = $2)",
                    &[&agent_id, &version],
                )
                .map_err(backend)?;
            if !col::<bool>(&row, 0)? {
                return Err(StoreError::NotFound {
                    what: "config version",
                    id: format!("v{version}"),
                });
            }
            tx.execute(
                "UPDATE agents SET live_version = $2, updated_at = $3 WHERE id = $1",
                &[&agent_id, &version, &now_ms],
            )
            .map_err(backend)?;
            query_agent(tx, agent_id)?.ok_or_else(|| not_found("agent", agent_id))
        })
    }
}

impl InteractionStore for PostgresStore {
    fn insert_interactions(
        &self,
        agent_id: &str,
        items: &[InteractionRecord],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            let insert = tx
                .prepare(
                    "INSERT INTO interactions (agent_id, id, timestamp_ms, config_version, body, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .map_err(backend)?;
            for (index, item) in items.iter().enumerate() {
                tx.execute(
                    &insert,
                    &[
                        &agent_id,
                        &item.id,
                        &item.timestamp_ms,
                        &item.config_version,
                        &item.body,
                        &item.received_at_ms,
                    ],
                )
                .map_err(|e| {
                    if is_duplicate(&e) {
                        StoreError::Conflict {
                            index: Some(index),
                            field: "id",
                            message: format!(
                                "the agent already has an interaction with id {:?}",
                                item.id
                            ),
                        }
                    } else {
                        backend(e)
                    }
                })?;
            }
            save_idempotency(tx, idem)
        })
    }

    fn get_interaction(&self, agent_id: &str, id: &str) -> Result<Option<StoredInteraction>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT id, timestamp_ms, config_version, body, received_at FROM interactions
                 WHERE agent_id = $1 AND id = $2",
                &[&agent_id, &id],
            )
            .map_err(backend)?
            .map(|r| interaction_row(&r))
            .transpose()
        })
    }

    fn list_interactions(
        &self,
        agent_id: &str,
        page: &PageRequest,
    ) -> Result<Page<StoredInteraction>> {
        self.read(|tx| {
            require_agent(tx, agent_id)?;
            // The cursor is an interaction id; its arrival position is the key.
            let after_seq: Option<i64> = match &page.after {
                None => None,
                Some(id) => match tx
                    .query_opt(
                        "SELECT seq FROM interactions WHERE agent_id = $1 AND id = $2",
                        &[&agent_id, id],
                    )
                    .map_err(backend)?
                {
                    Some(row) => Some(col(&row, 0)?),
                    None => {
                        return Err(StoreError::NotFound {
                            what: CURSOR,
                            id: id.clone(),
                        });
                    }
                },
            };
            let found = tx
                .query(
                    "SELECT id, timestamp_ms, config_version, body, received_at FROM interactions
                     WHERE agent_id = $1 AND ($2::BIGINT IS NULL OR seq > $2) ORDER BY seq LIMIT $3",
                    &[&agent_id, &after_seq, &page_limit(page)],
                )
                .map_err(backend)?;
            Ok(page_of(rows(found, interaction_row)?, page.limit))
        })
    }

    fn insert_feedback(
        &self,
        agent_id: &str,
        items: &[FeedbackRecord],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            let insert = tx
                .prepare(
                    "INSERT INTO feedback (id, agent_id, interaction_id, rating, comment, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .map_err(backend)?;
            for (index, item) in items.iter().enumerate() {
                tx.execute(
                    &insert,
                    &[
                        &item.id,
                        &agent_id,
                        &item.interaction_id,
                        &rating_text(item.rating),
                        &item.comment,
                        &item.created_at_ms,
                    ],
                )
                .map_err(|e| {
                    if is_dangling(&e) {
                        StoreError::Dangling {
                            index: Some(index),
                            field: "interaction_id",
                            message: format!(
                                "the agent has no interaction with id {:?}",
                                item.interaction_id
                            ),
                        }
                    } else {
                        backend(e)
                    }
                })?;
            }
            save_idempotency(tx, idem)
        })
    }

    fn delete_interaction(&self, agent_id: &str, id: &str) -> Result<u64> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            let feedback = tx
                .execute(
                    "DELETE FROM feedback WHERE agent_id = $1 AND interaction_id = $2",
                    &[&agent_id, &id],
                )
                .map_err(backend)?;
            let n = tx
                .execute(
                    "DELETE FROM interactions WHERE agent_id = $1 AND id = $2",
                    &[&agent_id, &id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(not_found("interaction", id));
            }
            Ok(feedback)
        })
    }

    fn feedback_for(&self, agent_id: &str, interaction_id: &str) -> Result<Vec<FeedbackRecord>> {
        self.read(|tx| {
            let found = tx
                .query(
                    "SELECT id, interaction_id, rating, comment, created_at FROM feedback
                     WHERE agent_id = $1 AND interaction_id = $2 ORDER BY seq",
                    &[&agent_id, &interaction_id],
                )
                .map_err(backend)?;
            rows(found, |r| {
                Ok(FeedbackRecord {
                    id: col(r, 0)?,
                    interaction_id: col(r, 1)?,
                    rating: rating_of(&col::<String>(r, 2)?),
                    comment: col(r, 3)?,
                    created_at_ms: col(r, 4)?,
                })
            })
        })
    }

    fn read_window(
        &self,
        window: Window<'_>,
        after: Option<WindowCursor>,
        limit: u32,
    ) -> Result<Vec<(WindowCursor, std::result::Result<Interaction, Unreadable>)>> {
        let (after_ts, after_seq) = match after {
            Some((ts, seq)) => (Some(ts), Some(seq)),
            None => (None, None),
        };
        self.read(|tx| {
            let found = tx
                .query(
                    &format!(
                        "SELECT i.timestamp_ms, i.seq, i.id, i.config_version, i.body FROM interactions i
                         WHERE {WINDOW_WHERE}
                           AND ($4::BIGINT IS NULL OR (i.timestamp_ms, i.seq) > ($4, $5::BIGINT))
                         ORDER BY i.timestamp_ms, i.seq LIMIT $6"
                    ),
                    &[
                        &window.agent_id,
                        &window.until_ms,
                        &window.since_ms,
                        &after_ts,
                        &after_seq,
                        &i64::from(limit),
                    ],
                )
                .map_err(backend)?;
            rows(found, |r| {
                let (ts, seq, id): (i64, i64, String) = (col(r, 0)?, col(r, 1)?, col(r, 2)?);
                let version: String = col(r, 3)?;
                let read = match read_body(r, 4, &id) {
                    Ok((_, mut interaction)) => {
                        // The columns are what the server filtered and checked on.
                        interaction.id = id;
                        interaction.timestamp_ms = ts;
                        interaction.config_version = Some(version_key(
                            interaction.agent_version,
                            interaction.config_version.as_deref(),
                            &version,
                        ));
                        Ok(interaction)
                    }
                    Err((_, reason)) => Err(Unreadable::new(id, &reason)),
                };
                Ok(((ts, seq), read))
            })
        })
    }

    fn window_feedback(&self, window: Window<'_>, sink: &mut dyn FnMut(Feedback)) -> Result<()> {
        self.read(|tx| {
            let params: [&(dyn ToSql + Sync); 3] =
                [&window.agent_id, &window.until_ms, &window.since_ms];
            // Streamed row by row: a window's feedback is never held whole.
            let mut found = tx
                .query_raw(
                    &format!(
                        "SELECT f.interaction_id, f.rating, f.comment FROM feedback f
                         JOIN interactions i ON i.agent_id = f.agent_id AND i.id = f.interaction_id
                         WHERE {WINDOW_WHERE} ORDER BY f.seq"
                    ),
                    params,
                )
                .map_err(backend)?;
            while let Some(row) = found.next().map_err(backend)? {
                sink(Feedback {
                    interaction_id: col(&row, 0)?,
                    rating: rating_of(&col::<String>(&row, 1)?),
                    comment: col(&row, 2)?,
                    source: FeedbackSource::Explicit,
                });
            }
            Ok(())
        })
    }

    fn count_window(&self, window: Window<'_>) -> Result<u64> {
        self.read(|tx| {
            let row = tx
                .query_one(
                    &format!("SELECT COUNT(*) FROM interactions i WHERE {WINDOW_WHERE}"),
                    &[&window.agent_id, &window.until_ms, &window.since_ms],
                )
                .map_err(backend)?;
            Ok(count(col(&row, 0)?))
        })
    }
}

impl DreamStore for PostgresStore {
    fn create_dream(
        &self,
        dream: &Dream,
        event: Option<&ScheduleEvent>,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, &dream.agent_id)?;
            insert_dream(tx, dream)?;
            if let Some(event) = event {
                insert_event(tx, event)?;
            }
            save_idempotency(tx, idem)
        })
    }

    fn get_dream(&self, id: &str) -> Result<Option<Dream>> {
        self.read(|tx| query_dream(tx, id))
    }

    fn list_dreams(&self, agent_id: &str, page: &PageRequest) -> Result<Page<Dream>> {
        self.read(|tx| {
            require_agent(tx, agent_id)?;
            let found = tx
                .query(
                    &format!(
                        "SELECT {DREAM_LIST_COLUMNS} FROM dreams
                         WHERE agent_id = $1 AND ($2::TEXT IS NULL OR id < $2)
                         ORDER BY id DESC LIMIT $3"
                    ),
                    &[&agent_id, &page.after, &page_limit(page)],
                )
                .map_err(backend)?;
            Ok(page_of(rows(found, |r| dream_row(r, false))?, page.limit))
        })
    }

    fn claim_dream(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        max_attempts: u32,
    ) -> Result<Option<Dream>> {
        self.write(|tx| {
            // Candidates this claim passed over (their agent had a dream running).
            let mut passed: Vec<String> = Vec::new();
            loop {
                // Oldest first; a row another replica is claiming is skipped, not waited for.
                let candidate = tx
                    .query_opt(
                        "SELECT d.id, d.attempts, d.agent_id FROM dreams d
                         WHERE ((d.status = 'pending'
                                 AND NOT EXISTS (SELECT 1 FROM dreams r
                                                 WHERE r.agent_id = d.agent_id AND r.status = 'running'
                                                   AND r.lease_expires > $1))
                             OR (d.status = 'running' AND d.lease_expires <= $1))
                           AND NOT (d.id = ANY($2))
                         ORDER BY d.id LIMIT 1
                         FOR UPDATE OF d SKIP LOCKED",
                        &[&now_ms, &passed],
                    )
                    .map_err(backend)?;
                let Some(row) = candidate else {
                    return Ok(None);
                };
                let (id, attempts, agent_id): (String, i64, String) =
                    (col(&row, 0)?, col(&row, 1)?, col(&row, 2)?);
                // Two replicas may each have locked a different pending dream of
                // one agent: the agent's lock makes them take turns, and the
                // second sees the first's dream running.
                lock_agent(tx, &agent_id)?;
                let busy = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM dreams WHERE agent_id = $1 AND id <> $2
                                          AND status = 'running' AND lease_expires > $3)",
                        &[&agent_id, &id, &now_ms],
                    )
                    .map_err(backend)?;
                if col::<bool>(&busy, 0)? {
                    passed.push(id);
                    continue;
                }
                if attempts >= i64::from(max_attempts) {
                    tx.execute(
                        "UPDATE dreams SET status = 'failed', finished_at = $2, error = $3,
                                lease_owner = NULL, lease_expires = NULL
                         WHERE id = $1",
                        &[
                            &id,
                            &now_ms,
                            &format!(
                                "abandoned: claimed {attempts} times and never finished (each worker stopped renewing its lease)"
                            ),
                        ],
                    )
                    .map_err(backend)?;
                    continue;
                }
                tx.execute(
                    "UPDATE dreams SET status = 'running', started_at = $2, lease_owner = $3,
                            lease_expires = $4, attempts = attempts + 1
                     WHERE id = $1",
                    &[&id, &now_ms, &owner, &now_ms.saturating_add(lease_ms)],
                )
                .map_err(backend)?;
                return query_dream(tx, &id);
            }
        })
    }

    fn renew_lease(&self, id: &str, owner: &str, now_ms: i64, lease_ms: i64) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE dreams SET lease_expires = $3
                     WHERE id = $1 AND status = 'running' AND lease_owner = $2",
                    &[&id, &owner, &now_ms.saturating_add(lease_ms)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn finish_dream(
        &self,
        id: &str,
        owner: &str,
        outcome: &DreamOutcome,
        events: &[OutboxEvent],
        now_ms: i64,
    ) -> Result<bool> {
        self.write(|tx| {
            let n = match outcome {
                DreamOutcome::Completed {
                    summary,
                    report,
                    window_start_ms,
                    window_end_ms,
                } => tx.execute(
                    "UPDATE dreams SET status = 'completed', finished_at = $2, summary = $3,
                            n_interactions = $4, n_patterns = $5, n_suggestions = $6, report = $7,
                            window_start = $8, window_end = $9, lease_owner = NULL, lease_expires = NULL
                     WHERE id = $1 AND status = 'running' AND lease_owner = $10",
                    &[
                        &id,
                        &now_ms,
                        &summary.text,
                        &(summary.interactions as i64),
                        &(summary.problems as i64),
                        &(summary.suggestions as i64),
                        report,
                        window_start_ms,
                        window_end_ms,
                        &owner,
                    ],
                ),
                DreamOutcome::Skipped { reason } | DreamOutcome::Failed { reason } => {
                    let status = if matches!(outcome, DreamOutcome::Skipped { .. }) {
                        "skipped"
                    } else {
                        "failed"
                    };
                    tx.execute(
                        "UPDATE dreams SET status = $2, finished_at = $3, error = $4,
                                lease_owner = NULL, lease_expires = NULL
                         WHERE id = $1 AND status = 'running' AND lease_owner = $5",
                        &[&id, &status, &now_ms, reason, &owner],
                    )
                }
            }
            .map_err(backend)?;
            if n == 1 && !events.is_empty() {
                let row = tx
                    .query_one("SELECT agent_id FROM dreams WHERE id = $1", &[&id])
                    .map_err(backend)?;
                let agent_id: String = col(&row, 0)?;
                outbox(tx, &agent_id, events, now_ms)?;
            }
            Ok(n == 1)
        })
    }

    fn release_dream(&self, id: &str, owner: &str) -> Result<bool> {
        self.write(|tx| {
            // A release is not the dream's fault: it does not count as an attempt.
            let n = tx
                .execute(
                    "UPDATE dreams SET status = 'pending', started_at = NULL, lease_owner = NULL,
                            lease_expires = NULL, attempts = GREATEST(attempts - 1, 0)
                     WHERE id = $1 AND status = 'running' AND lease_owner = $2",
                    &[&id, &owner],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn last_completed_dream(&self, agent_id: &str) -> Result<Option<Dream>> {
        self.read(|tx| {
            tx.query_opt(
                &format!(
                    "SELECT {DREAM_LIST_COLUMNS}, report FROM dreams
                     WHERE agent_id = $1 AND status = 'completed' ORDER BY id DESC LIMIT 1"
                ),
                &[&agent_id],
            )
            .map_err(backend)?
            .map(|r| dream_row(&r, true))
            .transpose()
        })
    }

    fn release_all_leases(&self) -> Result<u64> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE dreams SET status = 'pending', started_at = NULL, lease_owner = NULL,
                            lease_expires = NULL
                     WHERE status = 'running'",
                    &[],
                )
                .map_err(backend)?;
            tx.execute(
                "UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires = NULL
                 WHERE lease_owner IS NOT NULL",
                &[],
            )
            .map_err(backend)?;
            Ok(n)
        })
    }
}

impl ScheduleStore for PostgresStore {
    fn due_schedules(&self, now_ms: i64, limit: u32) -> Result<Vec<DueSchedule>> {
        self.read(|tx| {
            let found = tx
                .query(
                    "SELECT s.agent_id, s.next_slot, s.next_run_at, a.dreaming_frequency, a.timezone
                     FROM schedules s JOIN agents a ON a.id = s.agent_id
                     WHERE s.next_run_at <= $1 AND NOT s.paused AND s.next_slot IS NOT NULL
                     ORDER BY s.next_run_at LIMIT $2",
                    &[&now_ms, &i64::from(limit)],
                )
                .map_err(backend)?;
            rows(found, |r| {
                Ok(DueSchedule {
                    agent_id: col(r, 0)?,
                    slot: Slot {
                        slot_ms: col(r, 1)?,
                        run_at_ms: col(r, 2)?,
                    },
                    dreaming_frequency: col(r, 3)?,
                    timezone: col(r, 4)?,
                })
            })
        })
    }

    fn fire_slot(&self, firing: &SlotFiring) -> Result<Fired> {
        self.write(|tx| {
            // Compare-and-set: of replicas firing one slot, the first moves the
            // schedule on; the others' UPDATE then matches no row.
            let moved = tx
                .execute(
                    "UPDATE schedules SET next_slot = $3, next_run_at = $4, last_slot = $2,
                            missed_slots = missed_slots + $5
                     WHERE agent_id = $1 AND next_slot = $2 AND NOT paused",
                    &[
                        &firing.agent_id,
                        &firing.expected_slot_ms,
                        &firing.next.map(|n| n.slot_ms),
                        &firing.next.map(|n| n.run_at_ms),
                        &(firing.missed as i64),
                    ],
                )
                .map_err(backend)?
                == 0;
            if moved {
                return Ok(Fired::Moved);
            }
            let Some(mut dream) = firing.dream.clone() else {
                return Ok(Fired::Rescheduled);
            };
            let mut fired = match dream.status {
                DreamStatus::Pending => Fired::Queued,
                _ => Fired::Skipped,
            };
            if dream.status == DreamStatus::Pending {
                lock_agent(tx, &firing.agent_id)?;
                let active = tx
                    .query_opt(
                        "SELECT id, status FROM dreams
                         WHERE agent_id = $1 AND status IN ('pending', 'running')
                         LIMIT 1",
                        &[&firing.agent_id],
                    )
                    .map_err(backend)?;
                if let Some(row) = active {
                    let (active, status): (String, String) = (col(&row, 0)?, col(&row, 1)?);
                    dream.status = DreamStatus::Skipped;
                    dream.finished_at_ms = Some(dream.created_at_ms);
                    dream.error = Some(format!(
                        "overlap: dream {active} was still {status} when this slot came due"
                    ));
                    tx.execute(
                        "UPDATE schedules SET overlap_skips = overlap_skips + 1 WHERE agent_id = $1",
                        &[&firing.agent_id],
                    )
                    .map_err(backend)?;
                    fired = Fired::Overlap { active };
                }
            }
            match insert_dream(tx, &dream) {
                Err(StoreError::Conflict { .. }) => Err(StoreError::Conflict {
                    index: None,
                    field: "slot",
                    message: format!(
                        "agent {} already has a dream for slot {}",
                        firing.agent_id, firing.expected_slot_ms
                    ),
                }),
                other => other,
            }?;
            Ok(fired)
        })
    }

    fn init_schedule(&self, agent_id: &str, next: Option<Slot>) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE schedules SET next_slot = $2, next_run_at = $3
                     WHERE agent_id = $1 AND NOT paused AND next_slot IS NULL",
                    &[
                        &agent_id,
                        &next.map(|n| n.slot_ms),
                        &next.map(|n| n.run_at_ms),
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn unscheduled_agents(&self, limit: u32) -> Result<Vec<Agent>> {
        self.read(|tx| {
            let found = tx
                .query(
                    &format!(
                        "SELECT {AGENT_COLUMNS} FROM {AGENT_FROM}
                         WHERE a.dreaming_enabled AND NOT s.paused AND s.next_slot IS NULL
                         ORDER BY a.id LIMIT $1"
                    ),
                    &[&i64::from(limit)],
                )
                .map_err(backend)?;
            rows(found, agent_row)
        })
    }

    fn set_paused(
        &self,
        agent_id: &str,
        paused: bool,
        reschedule: &dyn Fn(&Agent) -> Option<Slot>,
        event: &ScheduleEvent,
    ) -> Result<ScheduleState> {
        self.write(|tx| {
            tx.execute(
                "SELECT 1 FROM schedules WHERE agent_id = $1 FOR UPDATE",
                &[&agent_id],
            )
            .map_err(backend)?;
            let agent = query_agent(tx, agent_id)?.ok_or_else(|| not_found("agent", agent_id))?;
            let next = if paused { None } else { reschedule(&agent) };
            tx.execute(
                "UPDATE schedules SET paused = $2, next_slot = $3, next_run_at = $4 WHERE agent_id = $1",
                &[
                    &agent_id,
                    &paused,
                    &next.map(|n| n.slot_ms),
                    &next.map(|n| n.run_at_ms),
                ],
            )
            .map_err(backend)?;
            insert_event(tx, event)?;
            Ok(query_agent(tx, agent_id)?
                .ok_or_else(|| not_found("agent", agent_id))?
                .schedule)
        })
    }

    fn schedule_events(&self, agent_id: &str, limit: u32) -> Result<Vec<ScheduleEvent>> {
        self.read(|tx| {
            let found = tx
                .query(
                    "SELECT agent_id, at, action, actor, detail FROM schedule_events
                     WHERE agent_id = $1 ORDER BY seq DESC LIMIT $2",
                    &[&agent_id, &i64::from(limit)],
                )
                .map_err(backend)?;
            rows(found, |r| {
                Ok(ScheduleEvent {
                    agent_id: col(r, 0)?,
                    at_ms: col(r, 1)?,
                    action: col(r, 2)?,
                    actor: col(r, 3)?,
                    detail: col(r, 4)?,
                })
            })
        })
    }
}

impl WebhookStore for PostgresStore {
    fn create_endpoint(&self, endpoint: &Endpoint, idem: Option<&IdempotencyRecord>) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, &endpoint.agent_id)?;
            insert_endpoint(tx, endpoint)?;
            save_idempotency(tx, idem)
        })
    }

    fn get_endpoint(&self, id: &str) -> Result<Option<Endpoint>> {
        self.read(|tx| query_endpoint(tx, id))
    }

    fn list_endpoints(&self, agent_id: &str) -> Result<Vec<Endpoint>> {
        self.read(|tx| {
            require_agent(tx, agent_id)?;
            query_endpoints(tx, agent_id)
        })
    }

    fn delete_endpoint(&self, id: &str, now_ms: i64) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE webhook_endpoints SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                    &[&id, &now_ms],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(not_found("webhook endpoint", id));
            }
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = $2,
                        next_attempt_at = NULL, lease_owner = NULL, lease_expires = NULL
                 WHERE endpoint_id = $1 AND status = 'pending'",
                &[&id, &now_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn rotate_secret(&self, id: &str, secret: &str, previous_expires_ms: i64) -> Result<Endpoint> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE webhook_endpoints SET previous_secret = secret, previous_expires = $3,
                            secret = $2
                     WHERE id = $1 AND deleted_at IS NULL",
                    &[&id, &secret, &previous_expires_ms],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(not_found("webhook endpoint", id));
            }
            query_endpoint(tx, id)?.ok_or_else(|| not_found("webhook endpoint", id))
        })
    }

    fn enable_endpoint(&self, id: &str) -> Result<Endpoint> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL,
                            failing_since = NULL
                     WHERE id = $1 AND deleted_at IS NULL",
                    &[&id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(not_found("webhook endpoint", id));
            }
            query_endpoint(tx, id)?.ok_or_else(|| not_found("webhook endpoint", id))
        })
    }

    fn sync_feedback_endpoint(
        &self,
        agent_id: &str,
        url: Option<&str>,
        new: &Endpoint,
    ) -> Result<()> {
        self.write(|tx| {
            // Two replicas syncing one agent at once take turns.
            lock_agent(tx, agent_id)?;
            let current: Option<String> = match tx
                .query_opt(
                    "SELECT id FROM webhook_endpoints
                     WHERE agent_id = $1 AND source = 'feedback_webhook' AND deleted_at IS NULL",
                    &[&agent_id],
                )
                .map_err(backend)?
            {
                Some(row) => Some(col(&row, 0)?),
                None => None,
            };
            match (current, url) {
                (None, None) => {}
                (Some(id), None) => {
                    tx.execute(
                        "UPDATE webhook_endpoints SET deleted_at = $2 WHERE id = $1",
                        &[&id, &new.created_at_ms],
                    )
                    .map_err(backend)?;
                    tx.execute(
                        "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = $2,
                                next_attempt_at = NULL
                         WHERE endpoint_id = $1 AND status = 'pending'",
                        &[&id, &new.created_at_ms],
                    )
                    .map_err(backend)?;
                }
                (Some(id), Some(url)) => {
                    tx.execute(
                        "UPDATE webhook_endpoints SET url = $2 WHERE id = $1",
                        &[&id, &url],
                    )
                    .map_err(backend)?;
                }
                (None, Some(url)) => insert_endpoint(
                    tx,
                    &Endpoint {
                        url: url.to_string(),
                        agent_id: agent_id.to_string(),
                        source: "feedback_webhook".into(),
                        ..new.clone()
                    },
                )?,
            }
            Ok(())
        })
    }

    fn unlinked_feedback_webhooks(&self, limit: u32) -> Result<Vec<(String, String)>> {
        self.read(|tx| {
            let found = tx
                .query(
                    "SELECT a.id, a.feedback_webhook FROM agents a
                     WHERE a.feedback_webhook IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e
                                       WHERE e.agent_id = a.id AND e.source = 'feedback_webhook'
                                         AND e.deleted_at IS NULL)
                     ORDER BY a.id LIMIT $1",
                    &[&i64::from(limit)],
                )
                .map_err(backend)?;
            rows(found, |r| Ok((col(r, 0)?, col(r, 1)?)))
        })
    }

    fn claim_deliveries(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        self.write(|tx| {
            // Rows another replica is claiming are skipped, never waited for.
            let found = tx
                .query(
                    "SELECT d.id FROM webhook_deliveries d
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     WHERE d.status = 'pending' AND d.next_attempt_at <= $1
                       AND (d.lease_expires IS NULL OR d.lease_expires <= $1)
                       AND e.disabled_at IS NULL AND e.deleted_at IS NULL
                     ORDER BY d.next_attempt_at LIMIT $2
                     FOR UPDATE OF d SKIP LOCKED",
                    &[&now_ms, &i64::from(limit)],
                )
                .map_err(backend)?;
            let ids: Vec<String> = rows(found, |r| col(r, 0))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute(
                    "UPDATE webhook_deliveries SET lease_owner = $2, lease_expires = $3 WHERE id = $1",
                    &[&id, &owner, &now_ms.saturating_add(lease_ms)],
                )
                .map_err(backend)?;
                let delivery = query_delivery(tx, &id)?.ok_or_else(|| not_found("delivery", &id))?;
                let row = tx
                    .query_one(
                        "SELECT id, agent_id, type, seq, data, created_at FROM webhook_events WHERE id = $1",
                        &[&delivery.event_id],
                    )
                    .map_err(backend)?;
                let event = WebhookEvent {
                    id: col(&row, 0)?,
                    agent_id: col(&row, 1)?,
                    event_type: col(&row, 2)?,
                    seq: col(&row, 3)?,
                    data: col(&row, 4)?,
                    created_at_ms: col(&row, 5)?,
                };
                let row = tx
                    .query_one(
                        &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"),
                        &[&delivery.endpoint_id],
                    )
                    .map_err(backend)?;
                let endpoint = endpoint_row(&row)?;
                out.push(DueDelivery {
                    delivery,
                    event,
                    endpoint,
                });
            }
            Ok(out)
        })
    }

    fn record_attempt(
        &self,
        delivery_id: &str,
        owner: &str,
        attempt: &Attempt,
        outcome: &AttemptOutcome,
        disable: Option<&str>,
        events: &[OutboxEvent],
    ) -> Result<bool> {
        self.write(|tx| {
            let (status, next, finished) = match outcome {
                AttemptOutcome::Delivered => ("delivered", None, Some(attempt.at_ms)),
                AttemptOutcome::Retry { at_ms } => ("pending", Some(*at_ms), None),
                AttemptOutcome::Dead => ("dead", None, Some(attempt.at_ms)),
            };
            let http_status = attempt.status.map(i64::from);
            let n = tx
                .execute(
                    "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1,
                            next_attempt_at = $4, finished_at = $5, last_status = $6,
                            last_error = $7, lease_owner = NULL, lease_expires = NULL
                     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                    &[
                        &delivery_id,
                        &owner,
                        &status,
                        &next,
                        &finished,
                        &http_status,
                        &attempt.error,
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &delivery_id,
                    &i64::from(attempt.n),
                    &attempt.at_ms,
                    &http_status,
                    &attempt.error,
                    &attempt.duration_ms,
                ],
            )
            .map_err(backend)?;
            let row = tx
                .query_one(
                    "SELECT endpoint_id, agent_id FROM webhook_deliveries WHERE id = $1",
                    &[&delivery_id],
                )
                .map_err(backend)?;
            let (endpoint_id, agent_id): (String, String) = (col(&row, 0)?, col(&row, 1)?);
            let failed = !matches!(outcome, AttemptOutcome::Delivered);
            if failed {
                tx.execute(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                    &[&endpoint_id, &attempt.at_ms],
                )
            } else {
                tx.execute(
                    "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1",
                    &[&endpoint_id],
                )
            }
            .map_err(backend)?;
            if let Some(reason) = disable {
                tx.execute(
                    "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3
                     WHERE id = $1 AND disabled_at IS NULL",
                    &[&endpoint_id, &attempt.at_ms, &reason],
                )
                .map_err(backend)?;
                outbox(tx, &agent_id, events, attempt.at_ms)?;
            }
            Ok(true)
        })
    }

    fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        self.read(|tx| query_delivery(tx, id))
    }

    fn list_deliveries(
        &self,
        agent_id: &str,
        endpoint_id: Option<&str>,
        status: Option<DeliveryStatus>,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        self.read(|tx| {
            require_agent(tx, agent_id)?;
            let found = tx
                .query(
                    &format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
                         JOIN webhook_events ev ON ev.id = d.event_id
                         WHERE d.agent_id = $1 AND ($2::TEXT IS NULL OR d.endpoint_id = $2)
                           AND ($3::TEXT IS NULL OR d.id < $3) AND ($5::TEXT IS NULL OR d.status = $5)
                         ORDER BY d.id DESC LIMIT $4"
                    ),
                    &[
                        &agent_id,
                        &endpoint_id,
                        &page.after,
                        &page_limit(page),
                        &status.map(DeliveryStatus::as_str),
                    ],
                )
                .map_err(backend)?;
            Ok(page_of(rows(found, delivery_row)?, page.limit))
        })
    }

    fn delivery_attempts(&self, delivery_id: &str) -> Result<Vec<Attempt>> {
        self.read(|tx| {
            let found = tx
                .query(
                    "SELECT n, at, status, error, duration_ms FROM webhook_attempts
                     WHERE delivery_id = $1 ORDER BY n",
                    &[&delivery_id],
                )
                .map_err(backend)?;
            rows(found, |r| {
                Ok(Attempt {
                    n: col::<i64>(r, 0)?.clamp(0, u32::MAX as i64) as u32,
                    at_ms: col(r, 1)?,
                    status: col::<Option<i64>>(r, 2)?.and_then(|s| u16::try_from(s).ok()),
                    error: col(r, 3)?,
                    duration_ms: col(r, 4)?,
                })
            })
        })
    }

    fn redeliver(&self, delivery_id: &str, new_id: &str, now_ms: i64) -> Result<Delivery> {
        self.write(|tx| {
            let old = query_delivery(tx, delivery_id)?
                .ok_or_else(|| not_found("delivery", delivery_id))?;
            if query_endpoint(tx, &old.endpoint_id)?.is_none() {
                return Err(not_found("webhook endpoint", &old.endpoint_id));
            }
            tx.execute(
                "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, agent_id, status,
                                                 next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                &[
                    &new_id,
                    &old.event_id,
                    &old.endpoint_id,
                    &old.agent_id,
                    &now_ms,
                ],
            )
            .map_err(backend)?;
            query_delivery(tx, new_id)?.ok_or_else(|| not_found("delivery", new_id))
        })
    }
}

impl RuleStore for PostgresStore {
    fn install_rule(&self, rule: &InstalledRule, component: &[u8]) -> Result<bool> {
        let info = rule_info_text(rule);
        let size = component.len() as i64;
        self.write(|tx| {
            let n = tx
                .execute(
                    "INSERT INTO rules (id, name, info, size_bytes, component, installed_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                    &[
                        &rule.id,
                        &rule.info.name,
                        &info,
                        &size,
                        &component,
                        &rule.installed_at_ms,
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn get_rule(&self, id: &str) -> Result<Option<InstalledRule>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT info, size_bytes, installed_at FROM rules WHERE id = $1",
                &[&id],
            )
            .map_err(backend)?
            .map(|r| installed_rule(id.to_string(), col(&r, 0)?, col(&r, 1)?, col(&r, 2)?))
            .transpose()
        })
    }

    fn rule_component(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|tx| {
            tx.query_opt("SELECT component FROM rules WHERE id = $1", &[&id])
                .map_err(backend)?
                .map(|r| col(&r, 0))
                .transpose()
        })
    }

    fn list_rules(&self, page: &PageRequest) -> Result<Page<InstalledRule>> {
        self.read(|tx| {
            let found = tx
                .query(
                    "SELECT id, info, size_bytes, installed_at FROM rules
                     WHERE ($1::TEXT IS NULL OR id > $1) ORDER BY id LIMIT $2",
                    &[&page.after, &page_limit(page)],
                )
                .map_err(backend)?;
            let items = rows(found, |r| {
                installed_rule(col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?)
            })?;
            Ok(page_of(items, page.limit))
        })
    }

    fn delete_rule(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            // The row lock orders this against a rule set taking the rule
            // (which holds `FOR KEY SHARE` on it): whichever commits first, the
            // other sees it.
            if tx
                .query_opt("SELECT 1 FROM rules WHERE id = $1 FOR UPDATE", &[&id])
                .map_err(backend)?
                .is_none()
            {
                return Err(not_found("rule", id));
            }
            let users: Vec<String> = rows(
                tx.query(
                    "SELECT agent_id FROM agent_rule_uses WHERE rule_id = $1 ORDER BY agent_id",
                    &[&id],
                )
                .map_err(backend)?,
                |r| col(r, 0),
            )?;
            if !users.is_empty() {
                return Err(rule_in_use(id, &users));
            }
            tx.execute("DELETE FROM rules WHERE id = $1", &[&id])
                .map_err(backend)?;
            Ok(())
        })
    }

    fn get_rule_set(&self, agent_id: &str) -> Result<Option<RuleSet>> {
        self.read(|tx| {
            require_agent(tx, agent_id)?;
            tx.query_opt(
                "SELECT rules, updated_at FROM agent_rule_sets WHERE agent_id = $1",
                &[&agent_id],
            )
            .map_err(backend)?
            .map(|r| rule_set_of(agent_id, col(&r, 0)?, col(&r, 1)?))
            .transpose()
        })
    }

    fn put_rule_set(&self, agent_id: &str, set: Option<&RuleSet>) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            tx.execute(
                "DELETE FROM agent_rule_uses WHERE agent_id = $1",
                &[&agent_id],
            )
            .map_err(backend)?;
            let Some(set) = set else {
                tx.execute(
                    "DELETE FROM agent_rule_sets WHERE agent_id = $1",
                    &[&agent_id],
                )
                .map_err(backend)?;
                return Ok(());
            };
            for id in set.installed() {
                if tx
                    .query_opt("SELECT 1 FROM rules WHERE id = $1 FOR KEY SHARE", &[&id])
                    .map_err(backend)?
                    .is_none()
                {
                    return Err(rule_not_installed(set, id));
                }
                tx.execute(
                    "INSERT INTO agent_rule_uses (agent_id, rule_id) VALUES ($1, $2)",
                    &[&agent_id, &id],
                )
                .map_err(backend)?;
            }
            tx.execute(
                "INSERT INTO agent_rule_sets (agent_id, rules, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (agent_id) DO UPDATE SET rules = excluded.rules,
                                                      updated_at = excluded.updated_at",
                &[&agent_id, &rule_set_text(set), &set.updated_at_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}

impl KeyStore for PostgresStore {
    fn create_api_key(&self, key: &ApiKey, idem: Option<&IdempotencyRecord>) -> Result<()> {
        self.write(|tx| {
            if let Some(agent) = &key.agent_id {
                require_agent(tx, agent)?;
            }
            tx.execute(
                "INSERT INTO api_keys (id, name, agent_id, hash, created_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &key.id,
                    &key.name,
                    &key.agent_id,
                    &key.hash,
                    &key.created_at_ms,
                    &key.revoked_at_ms,
                ],
            )
            .map_err(backend)?;
            save_idempotency(tx, idem)
        })
    }

    fn create_first_api_key(&self, key: &ApiKey) -> Result<bool> {
        self.write(|tx| {
            // Without the lock, two empty-table checks could both pass.
            tx.execute("SELECT pg_advisory_xact_lock($1, 1)", &[&LOCK_CLASS])
                .map_err(backend)?;
            let n = tx
                .execute(
                    "INSERT INTO api_keys (id, name, agent_id, hash, created_at, revoked_at)
                     SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM api_keys)",
                    &[
                        &key.id,
                        &key.name,
                        &key.agent_id,
                        &key.hash,
                        &key.created_at_ms,
                        &key.revoked_at_ms,
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        self.read(|tx| {
            tx.query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
                &[&id],
            )
            .map_err(backend)?
            .map(|r| key_row(&r))
            .transpose()
        })
    }

    fn list_api_keys(&self, page: &PageRequest) -> Result<Page<ApiKey>> {
        self.read(|tx| {
            let found = tx
                .query(
                    &format!(
                        "SELECT {KEY_COLUMNS} FROM api_keys
                         WHERE ($1::TEXT IS NULL OR id > $1) ORDER BY id LIMIT $2"
                    ),
                    &[&page.after, &page_limit(page)],
                )
                .map_err(backend)?;
            Ok(page_of(rows(found, key_row)?, page.limit))
        })
    }

    fn revoke_api_key(&self, id: &str, now_ms: i64) -> Result<ApiKey> {
        self.write(|tx| {
            tx.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[&id, &now_ms],
            )
            .map_err(backend)?;
            tx.query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
                &[&id],
            )
            .map_err(backend)?
            .map(|r| key_row(&r))
            .transpose()?
            .ok_or_else(|| not_found("API key", id))
        })
    }

    fn count_api_keys(&self) -> Result<u64> {
        self.read(|tx| {
            let row = tx
                .query_one("SELECT COUNT(*) FROM api_keys", &[])
                .map_err(backend)?;
            Ok(count(col(&row, 0)?))
        })
    }

    fn get_idempotency(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        self.read(|tx| {
            let Some(r) = tx
                .query_opt(
                    "SELECT principal, key, request_hash, status, body, created_at FROM idempotency_keys
                     WHERE principal = $1 AND key = $2",
                    &[&principal, &key],
                )
                .map_err(backend)?
            else {
                return Ok(None);
            };
            Ok(Some(IdempotencyRecord {
                principal: col(&r, 0)?,
                key: col(&r, 1)?,
                request_hash: col(&r, 2)?,
                status: u16::try_from(col::<i64>(&r, 3)?).map_err(|_| {
                    StoreError::Corrupt(format!("idempotency record {key}: bad status"))
                })?,
                body: col(&r, 4)?,
                created_at_ms: col(&r, 5)?,
            }))
        })
    }
}

impl OpsStore for PostgresStore {
    fn sweep(&self, what: Sweep, before_ms: i64, limit: u32) -> Result<Swept> {
        let limit = i64::from(limit);
        self.write(|tx| match what {
            Sweep::Idempotency => {
                let rows = tx
                    .execute(
                        "DELETE FROM idempotency_keys WHERE (principal, key) IN
                           (SELECT principal, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
                        &[&before_ms, &limit],
                    )
                    .map_err(backend)?;
                Ok(Swept { rows, attempts: 0 })
            }
            Sweep::Deliveries | Sweep::DeadLetters => {
                // Only finished deliveries: a pending one is never a candidate.
                let statuses: &[&str] = if what == Sweep::Deliveries {
                    &["delivered", "cancelled"]
                } else {
                    &["dead"]
                };
                let found = tx
                    .query(
                        "SELECT id FROM webhook_deliveries
                         WHERE status = ANY($1) AND finished_at < $2 LIMIT $3",
                        &[&statuses, &before_ms, &limit],
                    )
                    .map_err(backend)?;
                let ids: Vec<String> = rows(found, |r| col(r, 0))?;
                let attempts = tx
                    .execute(
                        "DELETE FROM webhook_attempts WHERE delivery_id = ANY($1)",
                        &[&ids],
                    )
                    .map_err(backend)?;
                let rows = tx
                    .execute(
                        "DELETE FROM webhook_deliveries WHERE id = ANY($1) AND status <> 'pending'",
                        &[&ids],
                    )
                    .map_err(backend)?;
                Ok(Swept { rows, attempts })
            }
            Sweep::Events => {
                let rows = tx
                    .execute(
                        "DELETE FROM webhook_events WHERE id IN
                           (SELECT e.id FROM webhook_events e
                            WHERE e.created_at < $1
                              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
                              AND e.seq < (SELECT MAX(l.seq) FROM webhook_events l
                                           WHERE l.agent_id = e.agent_id)
                            LIMIT $2)",
                        &[&before_ms, &limit],
                    )
                    .map_err(backend)?;
                Ok(Swept { rows, attempts: 0 })
            }
        })
    }

    fn sweep_run_logs(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: u32,
        strip: &dyn Fn(&str) -> Option<String>,
    ) -> Result<u64> {
        let found: Vec<(String, String)> = self.read(|tx| {
            let found = tx
                .query(
                    "SELECT id, report FROM dreams
                     WHERE report IS NOT NULL AND logs_swept_at IS NULL AND finished_at < $1
                     ORDER BY finished_at LIMIT $2",
                    &[&before_ms, &i64::from(limit)],
                )
                .map_err(backend)?;
            rows(found, |r| Ok((col(r, 0)?, col(r, 1)?)))
        })?;
        if found.is_empty() {
            return Ok(0);
        }
        let stripped: Vec<(String, Option<String>)> = found
            .into_iter()
            .map(|(id, report)| {
                let lean = strip(&report);
                (id, lean)
            })
            .collect();
        self.write(|tx| {
            let mut marked = 0;
            for (id, lean) in &stripped {
                // A finished dream's report never changes again, so the one
                // read above is still the one stored.
                marked += tx
                    .execute(
                        "UPDATE dreams SET report = COALESCE($2, report), logs_swept_at = $3
                         WHERE id = $1 AND logs_swept_at IS NULL",
                        &[id, lean, &now_ms],
                    )
                    .map_err(backend)?;
            }
            Ok(marked)
        })
    }

    fn ping(&self) -> Result<()> {
        let mut conn = self.conn()?;
        conn.simple_query("SELECT 1").map_err(backend)?;
        Ok(())
    }

    fn queue_depths(&self) -> Result<QueueDepths> {
        self.read(|tx| {
            let row = tx
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM dreams WHERE status = 'pending'),
                            (SELECT COUNT(*) FROM dreams WHERE status = 'running'),
                            (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')",
                    &[],
                )
                .map_err(backend)?;
            Ok(QueueDepths {
                dreams_pending: count(col(&row, 0)?),
                dreams_running: count(col(&row, 1)?),
                deliveries_pending: count(col(&row, 2)?),
            })
        })
    }
}

/// Scratch schemas on a test server, for the tests and benchmarks of this
/// crate and of the binary (which connect to one through its URL).
///
/// The server is `REVERIE_TEST_DATABASE_URL`, or else
/// `postgres://postgres@127.0.0.1:5432/test` when that answers. Each
/// [`Scratch`] is a schema of its own, so tests run in parallel; it is dropped
/// with the value.
#[doc(hidden)]
pub mod scratch {
    use super::*;

    pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    /// The test server's URL, if one answers. Without one, PostgreSQL tests
    /// skip (saying so) unless `REVERIE_REQUIRE_POSTGRES=1`, which CI sets:
    /// then they fail.
    pub fn server_url() -> Option<String> {
        let url =
            std::env::var("REVERIE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let answers = url
            .parse::<::postgres::Config>()
            .ok()
            .and_then(|mut c| {
                c.connect_timeout(Duration::from_secs(3))
                    .connect(NoTls)
                    .ok()
            })
            .is_some();
        if answers {
            return Some(url);
        }
        let required = std::env::var("REVERIE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "no PostgreSQL answers at {} (REVERIE_REQUIRE_POSTGRES=1): start one, or point \
             REVERIE_TEST_DATABASE_URL at one",
            redact_url(&url)
        );
        eprintln!(
            "skipped: no PostgreSQL answers at {}; set REVERIE_TEST_DATABASE_URL to run the PostgreSQL tests",
            redact_url(&url)
        );
        None
    }

    /// A schema of its own on the test server, dropped with this value.
    pub struct Scratch {
        server: String,
        pub schema: String,
    }

    impl Scratch {
        /// A new empty schema, or `None` when no server answers (see [`server_url`]).
        pub fn create(label: &str) -> Option<Scratch> {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let server = server_url()?;
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let label: String = label
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .take(24)
                .collect();
            let schema = format!("rv_{label}_{}_{n}", std::process::id());
            let mut client = server
                .parse::<::postgres::Config>()
                .ok()?
                .connect(NoTls)
                .ok()?;
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                ))
                .ok()?;
            Some(Scratch { server, schema })
        }

        /// The server's URL with this schema first on the `search_path`.
        pub fn url(&self) -> String {
            let sep = if self.server.contains('?') { '&' } else { '?' };
            format!(
                "{}{sep}options=-c%20search_path%3D{}",
                self.server, self.schema
            )
        }

        /// A store in this schema (migrated).
        pub fn store(&self, pool_size: u32) -> Result<PostgresStore> {
            PostgresStore::connect(&PgOptions {
                url: self.url(),
                pool_size,
            })
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            if let Ok(mut client) = self
                .server
                .parse::<::postgres::Config>()
                .map_err(|_| ())
                .and_then(|c| c.connect(NoTls).map_err(|_| ()))
            {
                let _ =
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scratch::Scratch;
    use super::*;
    use crate::store::contract;

    fn fresh_for_contract() -> Option<contract::Fresh> {
        let scratch = Scratch::create("contract")?;
        let store = scratch.store(4).expect("connect to the scratch schema");
        Some(contract::Fresh {
            store: Box::new(store),
            _keep: Box::new(scratch),
        })
    }

    // The store contract, on PostgreSQL: the very checks SQLite passes.
    contract::contract_tests!(super::fresh_for_contract);

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redact_url("postgres://reverie:s3cret@db.internal:5432/reverie?sslmode=disable"),
            "postgres://reverie:***@db.internal:5432/reverie?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://reverie@db/reverie"),
            "postgres://reverie@db/reverie"
        );
    }

    #[test]
    fn a_wrong_url_is_named_without_its_password() {
        let err = PostgresStore::connect(&PgOptions {
            url: "postgres://nobody:hunter2@127.0.0.1:1/none".into(),
            pool_size: 1,
        })
        .expect_err("nothing listens on port 1");
        let message = err.to_string();
        assert!(
            message.contains("cannot connect to postgres://nobody:***@127.0.0.1:1/none"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }

    /// `(table, column, nullable)` and the named indexes, as SQLite has them.
    fn sqlite_schema() -> (Vec<(String, String, bool)>, Vec<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(crate::store::sqlite::SqliteStore::open(dir.path()).expect("open"));
        let conn = rusqlite::Connection::open(dir.path().join("reverie.db")).expect("open file");
        let mut columns: Vec<(String, String, bool)> = conn
            .prepare(
                "SELECT m.name, c.name, c.\"notnull\" = 0 AND c.pk = 0
                 FROM sqlite_master m, pragma_table_info(m.name) c
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("columns");
        columns.sort();
        let mut indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master
                 WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("indexes");
        indexes.sort();
        (columns, indexes)
    }

    #[test]
    fn both_backends_migrate_to_the_same_tables_columns_and_indexes() {
        let Some(scratch) = Scratch::create("schema") else {
            return;
        };
        drop(scratch.store(1).expect("migrate"));
        let mut client = scratch
            .url()
            .parse::<::postgres::Config>()
            .expect("url")
            .connect(NoTls)
            .expect("connect");
        let mut columns: Vec<(String, String, bool)> = client
            .query(
                "SELECT table_name::TEXT, column_name::TEXT, is_nullable = 'YES'
                 FROM information_schema.columns WHERE table_schema = $1",
                &[&scratch.schema],
            )
            .expect("columns")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        columns.sort();
        let mut indexes: Vec<String> = client
            .query(
                "SELECT indexname::TEXT FROM pg_indexes
                 WHERE schemaname = $1 AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
                &[&scratch.schema],
            )
            .expect("indexes")
            .iter()
            .map(|r| r.get(0))
            .collect();
        indexes.sort();
        let (sqlite_columns, sqlite_indexes) = sqlite_schema();
        assert_eq!(
            columns, sqlite_columns,
            "tables and columns differ between the backends"
        );
        assert_eq!(
            indexes, sqlite_indexes,
            "indexes differ between the backends"
        );
    }

    /// Three replicas (three pools on one schema), two workers each, racing for
    /// the same work: every slot fires once, every dream and every delivery is
    /// claimed and finished once, and one agent's dreams never run at once.
    #[test]
    fn replicas_racing_for_the_same_work_each_get_their_own() {
        use std::collections::{HashMap, HashSet};
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let Some(scratch) = Scratch::create("race") else {
            return;
        };
        let replicas: Vec<PostgresStore> =
            (0..3).map(|_| scratch.store(4).expect("connect")).collect();
        let setup = &replicas[0];
        const AGENTS: usize = 40;
        let slot = Slot {
            slot_ms: 10_000,
            run_at_ms: 10_000,
        };
        let mut agents = Vec::new();
        for i in 0..AGENTS {
            let a = contract::agent(&format!("agent {i}"));
            setup.create_agent(&a, Some(slot), None).expect("agent");
            let mut e = crate::store::contract::fresh_endpoint(&a.id);
            e.id = format!("wep_{i}");
            setup.create_endpoint(&e, None).expect("endpoint");
            // Two dreams people asked for, beside the scheduled one to come:
            // no two of them may run at once.
            for n in 0..2 {
                setup
                    .create_dream(
                        &contract::dream(&a.id, &format!("drm_asked_{i}_{n}")),
                        None,
                        None,
                    )
                    .expect("dream");
            }
            agents.push(a);
        }

        // Every replica's scheduler sees every slot due and fires it.
        let fired = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for (r, store) in replicas.iter().enumerate() {
                let (agents, fired) = (&agents, &fired);
                scope.spawn(move || {
                    for a in agents {
                        let firing = SlotFiring {
                            agent_id: a.id.clone(),
                            expected_slot_ms: slot.slot_ms,
                            dream: Some(Dream {
                                id: format!("drm_slot_{}_{r}", a.id),
                                trigger: "schedule".into(),
                                slot_ms: Some(slot.slot_ms),
                                ..Dream::pending(&a.id, "schedule", 10_000, 10_000)
                            }),
                            next: None,
                            missed: 0,
                        };
                        let result = store.fire_slot(&firing);
                        fired.lock().expect("lock").push((a.id.clone(), result));
                    }
                });
            }
        });
        let fired = fired.into_inner().expect("lock");
        for a in &agents {
            let acted: Vec<_> = fired
                .iter()
                .filter(|(id, r)| {
                    id == &a.id && !matches!(r, Ok(Fired::Moved) | Err(StoreError::Conflict { .. }))
                })
                .collect();
            assert_eq!(acted.len(), 1, "agent {}: {acted:?}", a.id);
            assert!(
                matches!(acted[0].1, Ok(Fired::Overlap { .. })),
                "the asked-for dream is pending: {acted:?}"
            );
        }

        // Replicas' workers claim everything pending.
        let pending = 2 * AGENTS;
        let done = AtomicUsize::new(0);
        let running: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        let claimed: Mutex<Vec<String>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for (r, store) in replicas.iter().enumerate() {
                for w in 0..2 {
                    let (done, running, claimed) = (&done, &running, &claimed);
                    scope.spawn(move || {
                        let owner = format!("replica-{r}/worker-{w}");
                        let started = std::time::Instant::now();
                        while done.load(Ordering::SeqCst) < pending {
                            assert!(
                                started.elapsed() < Duration::from_secs(60),
                                "{owner}: the dreams were not all claimed within a minute"
                            );
                            let Some(d) =
                                store.claim_dream(&owner, 20_000, 60_000, 3).expect("claim")
                            else {
                                std::thread::sleep(Duration::from_millis(2));
                                continue;
                            };
                            assert!(
                                running.lock().expect("lock").insert(d.agent_id.clone()),
                                "agent {} has two dreams running",
                                d.agent_id
                            );
                            claimed.lock().expect("lock").push(d.id.clone());
                            running.lock().expect("lock").remove(&d.agent_id);
                            let event = OutboxEvent {
                                id: format!("evt_{}", d.id),
                                event_type: "dream.failed".into(),
                                data: "{}".into(),
                            };
                            let finished = store
                                .finish_dream(
                                    &d.id,
                                    &owner,
                                    &DreamOutcome::Failed {
                                        reason: "test".into(),
                                    },
                                    &[event],
                                    20_001,
                                )
                                .expect("finish");
                            assert!(finished, "{owner} held {}", d.id);
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            }
        });
        let mut claimed = claimed.into_inner().expect("lock");
        claimed.sort();
        let before = claimed.len();
        claimed.dedup();
        assert_eq!(
            (before, claimed.len()),
            (pending, pending),
            "each dream claimed once"
        );

        // Their senders claim every delivery; each is recorded once.
        let delivered: Mutex<HashMap<String, u32>> = Mutex::new(HashMap::new());
        std::thread::scope(|scope| {
            for (r, store) in replicas.iter().enumerate() {
                for w in 0..2 {
                    let delivered = &delivered;
                    scope.spawn(move || {
                        let owner = format!("replica-{r}/sender-{w}");
                        loop {
                            let due = store
                                .claim_deliveries(&owner, 30_000, 60_000, 3)
                                .expect("claim");
                            if due.is_empty() {
                                break;
                            }
                            for d in due {
                                let ok = store
                                    .record_attempt(
                                        &d.delivery.id,
                                        &owner,
                                        &Attempt {
                                            n: 1,
                                            at_ms: 30_001,
                                            status: Some(200),
                                            error: None,
                                            duration_ms: 1,
                                        },
                                        &AttemptOutcome::Delivered,
                                        None,
                                        &[],
                                    )
                                    .expect("record");
                                assert!(ok, "{owner} held {}", d.delivery.id);
                                *delivered
                                    .lock()
                                    .expect("lock")
                                    .entry(d.event.id)
                                    .or_default() += 1;
                            }
                        }
                    });
                }
            }
        });
        let delivered = delivered.into_inner().expect("lock");
        assert_eq!(delivered.len(), pending, "an event per finished dream");
        assert!(delivered.values().all(|n| *n == 1), "{delivered:?}");
        assert_eq!(
            setup.queue_depths().expect("depths"),
            QueueDepths::default()
        );
    }
}
