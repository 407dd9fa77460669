//! The embedded store: one SQLite file in the data directory.
//!
//! How it keeps its promises (RELIABILITY 21, and "2xx means on disk"):
//! - `journal_mode=WAL`, `synchronous=FULL`, `busy_timeout=5000` and
//!   `foreign_keys=ON` are set on every connection and read back at start; a
//!   database that does not take them is refused rather than run unsafely.
//!   FULL (not NORMAL) makes each commit fsync the WAL, so a commit survives
//!   power loss, not just a crash of this process.
//! - All writes go through one connection, behind a mutex, in `BEGIN IMMEDIATE`
//!   transactions. Writers queue on the mutex instead of racing for SQLite's
//!   write lock, so no write ever fails with SQLITE_BUSY; readers use their own
//!   connections and WAL lets them run beside the writer.
//! - A second process is refused: the store holds an exclusive `flock` on
//!   `reverie.db.lock` for its lifetime, so two servers can never interleave
//!   writes on one file (scale-out is PostgreSQL's job).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::*;
use crate::input;
use crate::model::FeedbackSource;

/// Migrations in order; a database records the highest one applied.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/sqlite/0001_init.sql")),
    (2, include_str!("migrations/sqlite/0002_schedules.sql")),
    (3, include_str!("migrations/sqlite/0003_webhooks.sql")),
    (4, include_str!("migrations/sqlite/0004_retention.sql")),
    (5, include_str!("migrations/sqlite/0005_rules.sql")),
];

/// The schema version this reverie writes (the last migration); it opens any
/// database at this version or older (migrating it), and refuses newer ones.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Busy timeout, for readers meeting a checkpoint: RELIABILITY 21 asks ≥ 5 s.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections kept open between reads.
const IDLE_READERS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Held, never read: the exclusive lock lives as long as this file handle.
    /// The data directory's lock; `None` for [`SqliteStore::open_shared`].
    _lock: Option<File>,
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The extended result code of a constraint failure, if `e` is one.
fn constraint(e: &rusqlite::Error) -> Option<i32> {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(f.extended_code)
        }
        _ => None,
    }
}

const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;

fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(
        constraint(e),
        Some(SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY)
    )
}

/// The data directory's lock (an exclusive `flock` on `reverie.db.lock`), held
/// while this value lives.
#[derive(Debug)]
pub struct DirLock(File);

/// Take `data_dir`'s lock (creating the directory if needed), or say who holds it.
pub fn lock_data_dir(data_dir: &Path) -> Result<DirLock> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let lock_path = data_dir.join("reverie.db.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::Io {
            path: lock_path.clone(),
            source,
        })?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let locked = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&lock),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    if locked != 0 {
        return Err(StoreError::Locked {
            path: data_dir.join("reverie.db"),
            lock: lock_path,
        });
    }
    Ok(DirLock(lock))
}

impl SqliteStore {
    /// Open (creating if needed) `reverie.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<SqliteStore> {
        let lock = lock_data_dir(data_dir)?;
        Self::open_locked(data_dir, lock)
    }

    /// Open `reverie.db` in `data_dir` under a lock [`lock_data_dir`] took.
    pub fn open_locked(data_dir: &Path, lock: DirLock) -> Result<SqliteStore> {
        let mut store = Self::open_file(data_dir.join("reverie.db"))?;
        store._lock = Some(lock.0);
        Ok(store)
    }

    /// Open `reverie.db` in `data_dir` without taking the directory's lock, so
    /// that several stores (standing in for replicas) share one database file.
    /// `reverie serve` never does this; tests and benchmarks of multi-scheduler
    /// behaviour do. SQLite's own file locking keeps the writes serialised.
    pub fn open_shared(data_dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        Self::open_file(data_dir.join("reverie.db"))
    }

    fn open_file(path: PathBuf) -> Result<SqliteStore> {
        let mut writer = open_connection(&path)?;
        migrate(&mut writer, &path)?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            _lock: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction on the writer.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let value = f(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(value)
    }

    /// Run `f` on a reader connection (one consistent snapshot per statement;
    /// methods that need more than one statement open a read transaction).
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let result = f(&mut conn);
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

/// Open a connection with the settings every connection must have, and check them.
fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unsafe(format!(
            "journal_mode is {mode:?}, not WAL (is {} on a filesystem without shared memory?)",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(backend)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(backend)?;
    let synchronous: i64 = conn
        .pragma_query_value(None, "synchronous", |row| row.get(0))
        .map_err(backend)?;
    let foreign_keys: i64 = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .map_err(backend)?;
    let busy: i64 = conn
        .pragma_query_value(None, "busy_timeout", |row| row.get(0))
        .map_err(backend)?;
    if synchronous != 2 || foreign_keys != 1 || busy < 5000 {
        return Err(StoreError::Unsafe(format!(
            "synchronous={synchronous} (want 2, FULL), foreign_keys={foreign_keys} (want 1), busy_timeout={busy} (want ≥ 5000)"
        )));
    }
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(backend)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let known = SCHEMA_VERSION;
    if current > known {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: current,
            known,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, chrono::Utc::now().timestamp_millis()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

fn save_idempotency(
    tx: &rusqlite::Transaction<'_>,
    idem: Option<&IdempotencyRecord>,
) -> Result<()> {
    let Some(r) = idem else { return Ok(()) };
    tx.prepare_cached(
        "INSERT INTO idempotency_keys (principal, key, request_hash, status, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            r.principal,
            r.key,
            r.request_hash,
            r.status,
            r.body,
            r.created_at_ms
        ])
    })
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
/// An agent with its live version's prompt and its schedule.
const AGENT_FROM: &str = "agents a
     JOIN config_versions v ON v.agent_id = a.id AND v.version = a.live_version
     LEFT JOIN schedules s ON s.agent_id = a.id";

fn agent_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: row.get(0)?,
        name: row.get(1)?,
        model: row.get(2)?,
        dreaming_enabled: row.get(3)?,
        dreaming_frequency: row.get(4)?,
        timezone: row.get(5)?,
        feedback_webhook: row.get(6)?,
        live_version: row.get(7)?,
        system_prompt: row.get(8)?,
        created_at_ms: row.get(9)?,
        updated_at_ms: row.get(10)?,
        min_new_interactions: row.get::<_, Option<i64>>(11)?.map(|n| n.max(0) as u64),
        schedule: ScheduleState {
            next_slot_ms: row.get(12)?,
            next_run_at_ms: row.get(13)?,
            paused: row.get::<_, Option<bool>>(14)?.unwrap_or(false),
            last_slot_ms: row.get(15)?,
            overlap_skips: row.get::<_, Option<i64>>(16)?.unwrap_or(0).max(0) as u64,
            missed_slots: row.get::<_, Option<i64>>(17)?.unwrap_or(0).max(0) as u64,
        },
    })
}

fn query_agent(conn: &Connection, id: &str) -> Result<Option<Agent>> {
    conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM {AGENT_FROM} WHERE a.id = ?1"
    ))
    .and_then(|mut s| s.query_row(params![id], agent_row).optional())
    .map_err(backend)
}

fn not_found(what: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        what,
        id: id.to_string(),
    }
}

fn require_agent(conn: &Connection, id: &str) -> Result<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM agents WHERE id = ?1)")
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)))
        .map_err(backend)?;
    if exists {
        Ok(())
    } else {
        Err(not_found("agent", id))
    }
}

fn insert_dream(tx: &rusqlite::Transaction<'_>, dream: &Dream) -> Result<()> {
    tx.execute(
        "INSERT INTO dreams (id, agent_id, status, trigger, window_start, window_end, created_at,
                             finished_at, error, slot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            dream.id,
            dream.agent_id,
            dream.status.as_str(),
            dream.trigger,
            dream.window_start_ms,
            dream.window_end_ms,
            dream.created_at_ms,
            dream.finished_at_ms,
            dream.error,
            dream.slot_ms
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

/// Put `events` in the outbox: each with the agent's next sequence number, and
/// a pending delivery for every enabled endpoint of the agent that wants it.
fn outbox(
    tx: &rusqlite::Transaction<'_>,
    agent_id: &str,
    events: &[OutboxEvent],
    now_ms: i64,
) -> Result<()> {
    let endpoints = query_endpoints(tx, agent_id)?;
    for event in events {
        let seq: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_events WHERE agent_id = ?1",
                params![agent_id],
                |r| r.get(0),
            )
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO webhook_events (id, agent_id, type, seq, data, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                event.id,
                agent_id,
                event.event_type,
                seq,
                event.data,
                now_ms
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
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                params![
                    crate::ids::new(crate::ids::DELIVERY),
                    event.id,
                    endpoint.id,
                    agent_id,
                    now_ms
                ],
            )
            .map_err(backend)?;
        }
    }
    Ok(())
}

const ENDPOINT_COLUMNS: &str = "id, agent_id, url, secret, previous_secret, previous_expires, events, \
     source, created_at, disabled_at, disabled_reason, failing_since";

fn endpoint_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Endpoint> {
    let events: String = row.get(6)?;
    Ok(Endpoint {
        id: row.get(0)?,
        agent_id: row.get(1)?,
        url: row.get(2)?,
        secret: row.get(3)?,
        previous_secret: row.get(4)?,
        previous_expires_ms: row.get(5)?,
        events: serde_json::from_str(&events).unwrap_or_else(|_| vec!["*".into()]),
        source: row.get(7)?,
        created_at_ms: row.get(8)?,
        disabled_at_ms: row.get(9)?,
        disabled_reason: row.get(10)?,
        failing_since_ms: row.get(11)?,
    })
}

fn query_endpoints(conn: &Connection, agent_id: &str) -> Result<Vec<Endpoint>> {
    conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE agent_id = ?1 AND deleted_at IS NULL ORDER BY id"
    ))
    .and_then(|mut s| s.query_map(params![agent_id], endpoint_row)?.collect())
    .map_err(backend)
}

fn query_endpoint(conn: &Connection, id: &str) -> Result<Option<Endpoint>> {
    conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND deleted_at IS NULL"
    ))
    .and_then(|mut s| s.query_row(params![id], endpoint_row).optional())
    .map_err(backend)
}

fn insert_endpoint(tx: &rusqlite::Transaction<'_>, e: &Endpoint) -> Result<()> {
    let events =
        serde_json::to_string(&e.events).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.execute(
        "INSERT INTO webhook_endpoints (id, agent_id, url, secret, events, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.id,
            e.agent_id,
            e.url,
            e.secret,
            events,
            e.source,
            e.created_at_ms
        ],
    )
    .map_err(backend)?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, ev.type, d.endpoint_id, d.agent_id, d.status, \
     d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.finished_at";

fn delivery_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let status: String = row.get(5)?;
    Ok(Delivery {
        id: row.get(0)?,
        event_id: row.get(1)?,
        event_type: row.get(2)?,
        endpoint_id: row.get(3)?,
        agent_id: row.get(4)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Dead),
        attempts: row.get::<_, i64>(6)?.clamp(0, u32::MAX as i64) as u32,
        next_attempt_at_ms: row.get(7)?,
        last_status: row
            .get::<_, Option<i64>>(8)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.get(9)?,
        created_at_ms: row.get(10)?,
        finished_at_ms: row.get(11)?,
    })
}

fn query_delivery(conn: &Connection, id: &str) -> Result<Option<Delivery>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
         JOIN webhook_events ev ON ev.id = d.event_id WHERE d.id = ?1"
    ))
    .and_then(|mut s| s.query_row(params![id], delivery_row).optional())
    .map_err(backend)
}

fn insert_event(tx: &rusqlite::Transaction<'_>, event: &ScheduleEvent) -> Result<()> {
    tx.execute(
        "INSERT INTO schedule_events (agent_id, at, action, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            event.agent_id,
            event.at_ms,
            event.action,
            event.actor,
            event.detail
        ],
    )
    .map_err(backend)?;
    Ok(())
}

const DREAM_LIST_COLUMNS: &str = "id, agent_id, status, trigger, window_start, window_end, created_at, \
     started_at, finished_at, error, summary, n_interactions, n_patterns, n_suggestions, slot, \
     attempts, lease_owner, lease_expires, logs_swept_at";

fn dream_row(row: &rusqlite::Row<'_>, with_report: bool) -> rusqlite::Result<Dream> {
    let status: String = row.get(2)?;
    let summary: Option<String> = row.get(10)?;
    Ok(Dream {
        id: row.get(0)?,
        agent_id: row.get(1)?,
        status: DreamStatus::parse(&status).unwrap_or(DreamStatus::Failed),
        trigger: row.get(3)?,
        window_start_ms: row.get(4)?,
        window_end_ms: row.get(5)?,
        created_at_ms: row.get(6)?,
        started_at_ms: row.get(7)?,
        finished_at_ms: row.get(8)?,
        error: row.get(9)?,
        summary: match summary {
            Some(text) => Some(DreamSummary {
                text,
                interactions: row.get::<_, Option<i64>>(11)?.unwrap_or(0) as u64,
                problems: row.get::<_, Option<i64>>(12)?.unwrap_or(0) as u64,
                suggestions: row.get::<_, Option<i64>>(13)?.unwrap_or(0) as u64,
            }),
            None => None,
        },
        slot_ms: row.get(14)?,
        attempts: row.get::<_, i64>(15)?.clamp(0, u32::MAX as i64) as u32,
        lease_owner: row.get(16)?,
        lease_expires_ms: row.get(17)?,
        logs_swept_at_ms: row.get(18)?,
        report: if with_report { row.get(19)? } else { None },
    })
}

fn key_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: row.get(0)?,
        name: row.get(1)?,
        agent_id: row.get(2)?,
        hash: row.get(3)?,
        created_at_ms: row.get(4)?,
        revoked_at_ms: row.get(5)?,
    })
}

/// Columns `id, timestamp_ms, config_version, body, received_at`, with the
/// body judged as [`read_body`] does.
fn interaction_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredInteraction> {
    let id: String = row.get(0)?;
    let column: String = row.get(2)?;
    let (body, config_version, unreadable) = match read_body(row, 3, &id)? {
        Ok((text, i)) => {
            let key = version_key(i.agent_version, i.config_version.as_deref(), &column);
            (text, key, None)
        }
        Err((text, reason)) => (text, column, Some(reason)),
    };
    Ok(StoredInteraction {
        record: InteractionRecord {
            id,
            timestamp_ms: row.get(1)?,
            config_version,
            body,
            received_at_ms: row.get(4)?,
        },
        unreadable,
    })
}

/// The body in column `index` of interaction `id`, parsed: the text and the
/// interaction, or the text (as far as it is text) and why it is not one.
///
/// Read through `get_ref`, not `get::<String>`, because a row that is not
/// valid UTF-8 text would otherwise fail the whole query, and one bad row
/// must never fail a dream or a listing.
fn read_body(
    row: &rusqlite::Row<'_>,
    index: usize,
    id: &str,
) -> rusqlite::Result<std::result::Result<(String, Interaction), (String, String)>> {
    use rusqlite::types::ValueRef;
    let bytes = match row.get_ref(index)? {
        ValueRef::Text(b) | ValueRef::Blob(b) => b,
        ValueRef::Null => return Ok(Err((String::new(), "the body is NULL".into()))),
        ValueRef::Integer(_) | ValueRef::Real(_) => {
            return Ok(Err((
                String::new(),
                "the body is a number, not JSON text".into(),
            )));
        }
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(e) => {
            return Ok(Err((
                String::from_utf8_lossy(bytes).into_owned(),
                format!("the body is not UTF-8 text ({e})"),
            )));
        }
    };
    Ok(match input::parse_interaction_with_id(&text, id) {
        Ok(interaction) => Ok((text, interaction)),
        Err(e) => Err((text, e)),
    })
}

/// `(window conditions, bound values)` for one agent's `[since, until)`.
fn window_sql(window: &Window<'_>) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql = String::from("i.agent_id = ?1 AND i.timestamp_ms < ?2");
    let mut values = vec![
        Value::Text(window.agent_id.to_string()),
        Value::Integer(window.until_ms),
    ];
    if let Some(since) = window.since_ms {
        sql.push_str(" AND i.timestamp_ms >= ?3");
        values.push(Value::Integer(since));
    }
    (sql, values)
}

impl AgentStore for SqliteStore {
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
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    agent.id,
                    agent.name,
                    agent.model,
                    agent.dreaming_enabled,
                    agent.dreaming_frequency,
                    agent.timezone,
                    agent.feedback_webhook,
                    agent.live_version,
                    agent.created_at_ms,
                    agent.updated_at_ms,
                    agent.min_new_interactions.map(|n| n as i64)
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO schedules (agent_id, next_slot, next_run_at) VALUES (?1, ?2, ?3)",
                params![
                    agent.id,
                    next.map(|n| n.slot_ms),
                    next.map(|n| n.run_at_ms)
                ],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO config_versions (agent_id, version, system_prompt, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    agent.id,
                    agent.live_version,
                    agent.system_prompt,
                    agent.created_at_ms
                ],
            )
            .map_err(backend)?;
            save_idempotency(tx, idem)
        })
    }

    fn get_agent(&self, id: &str) -> Result<Option<Agent>> {
        self.read(|conn| query_agent(conn, id))
    }

    fn list_agents(&self, only: Option<&str>, page: &PageRequest) -> Result<Page<Agent>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {AGENT_COLUMNS} FROM {AGENT_FROM}
                 WHERE (?1 IS NULL OR a.id = ?1) AND (?2 IS NULL OR a.id > ?2)
                 ORDER BY a.id LIMIT ?3"
            );
            let items = conn
                .prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_map(params![only, page.after, page.limit + 1], agent_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            Ok(page_of(items, page.limit))
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
            let current = query_agent(tx, id)?.ok_or_else(|| not_found("agent", id))?;
            let mut live = current.live_version;
            if let Some(prompt) = &update.system_prompt
                && *prompt != current.system_prompt
            {
                let latest: i64 = tx
                    .query_row(
                        "SELECT MAX(version) FROM config_versions WHERE agent_id = ?1",
                        params![id],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                live = latest + 1;
                tx.execute(
                    "INSERT INTO config_versions (agent_id, version, system_prompt, created_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![id, live, prompt, now_ms],
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
                "UPDATE agents SET name = ?2, model = ?3, dreaming_enabled = ?4, dreaming_frequency = ?5,
                        timezone = ?6, feedback_webhook = ?7, live_version = ?8, updated_at = ?9,
                        min_new_interactions = ?10
                 WHERE id = ?1",
                params![
                    id,
                    update.name.as_ref().unwrap_or(&current.name),
                    update.model.as_ref().unwrap_or(&current.model),
                    update.dreaming_enabled.unwrap_or(current.dreaming_enabled),
                    update
                        .dreaming_frequency
                        .as_ref()
                        .unwrap_or(&current.dreaming_frequency),
                    update.timezone.as_ref().unwrap_or(&current.timezone),
                    webhook,
                    live,
                    now_ms,
                    min_new.map(|n| n as i64)
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
                    "UPDATE schedules SET next_slot = ?2, next_run_at = ?3 WHERE agent_id = ?1",
                    params![id, next.map(|n| n.slot_ms), next.map(|n| n.run_at_ms)],
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
        self.read(|conn| {
            let live: i64 = conn
                .prepare_cached("SELECT live_version FROM agents WHERE id = ?1")
                .and_then(|mut s| s.query_row(params![agent_id], |r| r.get(0)).optional())
                .map_err(backend)?
                .ok_or_else(|| not_found("agent", agent_id))?;
            let items = conn
                .prepare_cached(
                    "SELECT version, system_prompt, created_at FROM config_versions
                     WHERE agent_id = ?1 AND (?2 IS NULL OR version < ?2)
                     ORDER BY version DESC LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![agent_id, after, page.limit + 1], |r| {
                        let version: i64 = r.get(0)?;
                        Ok(ConfigVersion {
                            version,
                            system_prompt: r.get(1)?,
                            created_at_ms: r.get(2)?,
                            live: version == live,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            Ok(page_of(items, page.limit))
        })
    }

    fn activate_version(&self, agent_id: &str, version: i64, now_ms: i64) -> Result<Agent> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM config_versions WHERE agent_id = ?1 AND version = ?2)",
                    params![agent_id, version],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if !exists {
                return Err(StoreError::NotFound {
                    what: "config version",
                    id: format!("v{version}"),
                });
            }
            tx.execute(
                "UPDATE agents SET live_version = ?2, updated_at = ?3 WHERE id = ?1",
                params![agent_id, version, now_ms],
            )
            .map_err(backend)?;
            query_agent(tx, agent_id)?.ok_or_else(|| not_found("agent", agent_id))
        })
    }
}

impl InteractionStore for SqliteStore {
    fn insert_interactions(
        &self,
        agent_id: &str,
        items: &[InteractionRecord],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO interactions (agent_id, id, timestamp_ms, config_version, body, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend)?;
            for (index, item) in items.iter().enumerate() {
                insert
                    .execute(params![
                        agent_id,
                        item.id,
                        item.timestamp_ms,
                        item.config_version,
                        item.body,
                        item.received_at_ms
                    ])
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
            drop(insert);
            save_idempotency(tx, idem)
        })
    }

    fn get_interaction(&self, agent_id: &str, id: &str) -> Result<Option<StoredInteraction>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, timestamp_ms, config_version, body, received_at FROM interactions
                 WHERE agent_id = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![agent_id, id], interaction_row)
                    .optional()
            })
            .map_err(backend)
        })
    }

    fn list_interactions(
        &self,
        agent_id: &str,
        page: &PageRequest,
    ) -> Result<Page<StoredInteraction>> {
        self.read(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            require_agent(&tx, agent_id)?;
            // The cursor is an interaction id; its arrival position is the key.
            let after_seq: Option<i64> = match &page.after {
                None => None,
                Some(id) => Some(
                    tx.prepare_cached(
                        "SELECT seq FROM interactions WHERE agent_id = ?1 AND id = ?2",
                    )
                    .and_then(|mut s| s.query_row(params![agent_id, id], |r| r.get(0)).optional())
                    .map_err(backend)?
                    .ok_or_else(|| StoreError::NotFound {
                        what: CURSOR,
                        id: id.clone(),
                    })?,
                ),
            };
            let items = tx
                .prepare_cached(
                    "SELECT id, timestamp_ms, config_version, body, received_at FROM interactions
                     WHERE agent_id = ?1 AND (?2 IS NULL OR seq > ?2) ORDER BY seq LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(
                        params![agent_id, after_seq, page.limit + 1],
                        interaction_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            Ok(page_of(items, page.limit))
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
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO feedback (id, agent_id, interaction_id, rating, comment, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend)?;
            for (index, item) in items.iter().enumerate() {
                insert
                    .execute(params![
                        item.id,
                        agent_id,
                        item.interaction_id,
                        rating_text(item.rating),
                        item.comment,
                        item.created_at_ms
                    ])
                    .map_err(|e| match constraint(&e) {
                        Some(SQLITE_CONSTRAINT_FOREIGNKEY) => StoreError::Dangling {
                            index: Some(index),
                            field: "interaction_id",
                            message: format!(
                                "the agent has no interaction with id {:?}",
                                item.interaction_id
                            ),
                        },
                        _ => backend(e),
                    })?;
            }
            drop(insert);
            save_idempotency(tx, idem)
        })
    }

    fn delete_interaction(&self, agent_id: &str, id: &str) -> Result<u64> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            // Feedback first: it references the interaction (foreign key).
            let feedback = tx
                .execute(
                    "DELETE FROM feedback WHERE agent_id = ?1 AND interaction_id = ?2",
                    params![agent_id, id],
                )
                .map_err(backend)?;
            let n = tx
                .execute(
                    "DELETE FROM interactions WHERE agent_id = ?1 AND id = ?2",
                    params![agent_id, id],
                )
                .map_err(backend)?;
            if n == 0 {
                // Nothing was there; the (empty) feedback delete rolls back with it.
                return Err(not_found("interaction", id));
            }
            Ok(feedback as u64)
        })
    }

    fn feedback_for(&self, agent_id: &str, interaction_id: &str) -> Result<Vec<FeedbackRecord>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, interaction_id, rating, comment, created_at FROM feedback
                 WHERE agent_id = ?1 AND interaction_id = ?2 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map(params![agent_id, interaction_id], |r| {
                    Ok(FeedbackRecord {
                        id: r.get(0)?,
                        interaction_id: r.get(1)?,
                        rating: rating_of(&r.get::<_, String>(2)?),
                        comment: r.get(3)?,
                        created_at_ms: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)
        })
    }

    fn read_window(
        &self,
        window: Window<'_>,
        after: Option<WindowCursor>,
        limit: u32,
    ) -> Result<Vec<(WindowCursor, std::result::Result<Interaction, Unreadable>)>> {
        use rusqlite::types::Value;
        let (mut sql, mut values) = window_sql(&window);
        if let Some((ts, seq)) = after {
            let n = values.len();
            sql.push_str(&format!(
                " AND (i.timestamp_ms, i.seq) > (?{}, ?{})",
                n + 1,
                n + 2
            ));
            values.push(Value::Integer(ts));
            values.push(Value::Integer(seq));
        }
        let sql = format!(
            "SELECT i.timestamp_ms, i.seq, i.id, i.config_version, i.body FROM interactions i
             WHERE {sql} ORDER BY i.timestamp_ms, i.seq LIMIT {limit}"
        );
        self.read(|conn| {
            conn.prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_map(rusqlite::params_from_iter(values), |r| {
                        let (ts, seq, id): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
                        let version: String = r.get(3)?;
                        let read = match read_body(r, 4, &id)? {
                            Ok((_, mut interaction)) => {
                                // The columns are what the server filtered and
                                // checked on: they win over the body.
                                interaction.id = id;
                                interaction.timestamp_ms = ts;
                                // Metrics count it under its key, never under
                                // a client's label posing as a server version.
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
                    })?
                    .collect()
                })
                .map_err(backend)
        })
    }

    fn window_feedback(&self, window: Window<'_>, sink: &mut dyn FnMut(Feedback)) -> Result<()> {
        let (sql, values) = window_sql(&window);
        let sql = format!(
            "SELECT f.interaction_id, f.rating, f.comment FROM feedback f
             JOIN interactions i ON i.agent_id = f.agent_id AND i.id = f.interaction_id
             WHERE {sql} ORDER BY f.seq"
        );
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(values))
                .map_err(backend)?;
            while let Some(row) = rows.next().map_err(backend)? {
                let rating: String = row.get(1).map_err(backend)?;
                sink(Feedback {
                    interaction_id: row.get(0).map_err(backend)?,
                    rating: rating_of(&rating),
                    comment: row.get(2).map_err(backend)?,
                    source: FeedbackSource::Explicit,
                });
            }
            Ok(())
        })
    }

    fn count_window(&self, window: Window<'_>) -> Result<u64> {
        let (sql, values) = window_sql(&window);
        let sql = format!("SELECT COUNT(*) FROM interactions i WHERE {sql}");
        self.read(|conn| {
            conn.prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_row(rusqlite::params_from_iter(values), |r| r.get::<_, i64>(0))
                })
                .map(|n| n as u64)
                .map_err(backend)
        })
    }
}

impl DreamStore for SqliteStore {
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
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {DREAM_LIST_COLUMNS}, report FROM dreams WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row(params![id], |r| dream_row(r, true)).optional())
            .map_err(backend)
        })
    }

    fn list_dreams(&self, agent_id: &str, page: &PageRequest) -> Result<Page<Dream>> {
        self.read(|conn| {
            require_agent(conn, agent_id)?;
            let items = conn
                .prepare_cached(&format!(
                    "SELECT {DREAM_LIST_COLUMNS} FROM dreams
                     WHERE agent_id = ?1 AND (?2 IS NULL OR id < ?2)
                     ORDER BY id DESC LIMIT ?3"
                ))
                .and_then(|mut s| {
                    s.query_map(params![agent_id, page.after, page.limit + 1], |r| {
                        dream_row(r, false)
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            Ok(page_of(items, page.limit))
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
            loop {
                // Oldest first. A pending dream waits while its agent has a dream
                // running under a live lease: one agent's dreams never overlap.
                let candidate: Option<(String, i64)> = tx
                    .prepare_cached(
                        "SELECT d.id, d.attempts FROM dreams d
                         WHERE (d.status = 'pending'
                                AND NOT EXISTS (SELECT 1 FROM dreams r
                                                WHERE r.agent_id = d.agent_id AND r.status = 'running'
                                                  AND r.lease_expires > ?1))
                            OR (d.status = 'running' AND d.lease_expires <= ?1)
                         ORDER BY d.id LIMIT 1",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![now_ms], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(backend)?;
                let Some((id, attempts)) = candidate else {
                    return Ok(None);
                };
                if attempts >= i64::from(max_attempts) {
                    tx.execute(
                        "UPDATE dreams SET status = 'failed', finished_at = ?2, error = ?3,
                                lease_owner = NULL, lease_expires = NULL
                         WHERE id = ?1",
                        params![
                            id,
                            now_ms,
                            format!(
                                "abandoned: claimed {attempts} times and never finished (each worker stopped renewing its lease)"
                            )
                        ],
                    )
                    .map_err(backend)?;
                    continue;
                }
                tx.execute(
                    "UPDATE dreams SET status = 'running', started_at = ?2, lease_owner = ?3,
                            lease_expires = ?4, attempts = attempts + 1
                     WHERE id = ?1",
                    params![id, now_ms, owner, now_ms.saturating_add(lease_ms)],
                )
                .map_err(backend)?;
                return tx
                    .prepare_cached(&format!(
                        "SELECT {DREAM_LIST_COLUMNS}, report FROM dreams WHERE id = ?1"
                    ))
                    .and_then(|mut s| s.query_row(params![id], |r| dream_row(r, true)))
                    .map(Some)
                    .map_err(backend);
            }
        })
    }

    fn renew_lease(&self, id: &str, owner: &str, now_ms: i64, lease_ms: i64) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE dreams SET lease_expires = ?3
                     WHERE id = ?1 AND status = 'running' AND lease_owner = ?2",
                    params![id, owner, now_ms.saturating_add(lease_ms)],
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
                    "UPDATE dreams SET status = 'completed', finished_at = ?2, summary = ?3,
                            n_interactions = ?4, n_patterns = ?5, n_suggestions = ?6, report = ?7,
                            window_start = ?8, window_end = ?9, lease_owner = NULL, lease_expires = NULL
                     WHERE id = ?1 AND status = 'running' AND lease_owner = ?10",
                    params![
                        id,
                        now_ms,
                        summary.text,
                        summary.interactions as i64,
                        summary.problems as i64,
                        summary.suggestions as i64,
                        report,
                        window_start_ms,
                        window_end_ms,
                        owner
                    ],
                ),
                DreamOutcome::Skipped { reason } | DreamOutcome::Failed { reason } => {
                    let status = if matches!(outcome, DreamOutcome::Skipped { .. }) {
                        "skipped"
                    } else {
                        "failed"
                    };
                    tx.execute(
                        "UPDATE dreams SET status = ?2, finished_at = ?3, error = ?4,
                                lease_owner = NULL, lease_expires = NULL
                         WHERE id = ?1 AND status = 'running' AND lease_owner = ?5",
                        params![id, status, now_ms, reason, owner],
                    )
                }
            }
            .map_err(backend)?;
            if n == 1 && !events.is_empty() {
                let agent_id: String = tx
                    .query_row("SELECT agent_id FROM dreams WHERE id = ?1", params![id], |r| {
                        r.get(0)
                    })
                    .map_err(backend)?;
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
                            lease_expires = NULL, attempts = MAX(attempts - 1, 0)
                     WHERE id = ?1 AND status = 'running' AND lease_owner = ?2",
                    params![id, owner],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn last_completed_dream(&self, agent_id: &str) -> Result<Option<Dream>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {DREAM_LIST_COLUMNS}, report FROM dreams
                 WHERE agent_id = ?1 AND status = 'completed' ORDER BY id DESC LIMIT 1"
            ))
            .and_then(|mut s| {
                s.query_row(params![agent_id], |r| dream_row(r, true))
                    .optional()
            })
            .map_err(backend)
        })
    }

    fn release_all_leases(&self) -> Result<u64> {
        self.write(|tx| {
            // Unlike a graceful release, the attempt counts: the crash that left
            // the dream running may have been the dream's doing.
            let n = tx
                .execute(
                    "UPDATE dreams SET status = 'pending', started_at = NULL, lease_owner = NULL,
                            lease_expires = NULL
                     WHERE status = 'running'",
                    [],
                )
                .map_err(backend)?;
            // Deliveries in flight at the crash: due again now.
            tx.execute(
                "UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires = NULL
                 WHERE lease_owner IS NOT NULL",
                [],
            )
            .map_err(backend)?;
            Ok(n as u64)
        })
    }
}

impl ScheduleStore for SqliteStore {
    fn due_schedules(&self, now_ms: i64, limit: u32) -> Result<Vec<DueSchedule>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT s.agent_id, s.next_slot, s.next_run_at, a.dreaming_frequency, a.timezone
                 FROM schedules s JOIN agents a ON a.id = s.agent_id
                 WHERE s.next_run_at <= ?1 AND s.paused = 0 AND s.next_slot IS NOT NULL
                 ORDER BY s.next_run_at LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![now_ms, limit], |r| {
                    Ok(DueSchedule {
                        agent_id: r.get(0)?,
                        slot: Slot {
                            slot_ms: r.get(1)?,
                            run_at_ms: r.get(2)?,
                        },
                        dreaming_frequency: r.get(3)?,
                        timezone: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)
        })
    }

    fn fire_slot(&self, firing: &SlotFiring) -> Result<Fired> {
        self.write(|tx| {
            // Compare-and-set: only the scheduler that still sees this slot acts on it.
            let moved = tx
                .execute(
                    "UPDATE schedules SET next_slot = ?3, next_run_at = ?4, last_slot = ?2,
                            missed_slots = missed_slots + ?5
                     WHERE agent_id = ?1 AND next_slot = ?2 AND paused = 0",
                    params![
                        firing.agent_id,
                        firing.expected_slot_ms,
                        firing.next.map(|n| n.slot_ms),
                        firing.next.map(|n| n.run_at_ms),
                        firing.missed as i64
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
                let active: Option<(String, String)> = tx
                    .prepare_cached(
                        // Any active one will do; without ORDER BY this stays on
                        // the dreams_active index, away from the agent's history.
                        "SELECT id, status FROM dreams
                         WHERE agent_id = ?1 AND status IN ('pending', 'running')
                         LIMIT 1",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![firing.agent_id], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(backend)?;
                if let Some((active, status)) = active {
                    dream.status = DreamStatus::Skipped;
                    dream.finished_at_ms = Some(dream.created_at_ms);
                    dream.error = Some(format!(
                        "overlap: dream {active} was still {status} when this slot came due"
                    ));
                    tx.execute(
                        "UPDATE schedules SET overlap_skips = overlap_skips + 1 WHERE agent_id = ?1",
                        params![firing.agent_id],
                    )
                    .map_err(backend)?;
                    fired = Fired::Overlap { active };
                }
            }
            match insert_dream(tx, &dream) {
                // The uniqueness of (agent, slot) is the last word: a slot another
                // scheduler already recorded is not recorded twice.
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
                    "UPDATE schedules SET next_slot = ?2, next_run_at = ?3
                     WHERE agent_id = ?1 AND paused = 0 AND next_slot IS NULL",
                    params![agent_id, next.map(|n| n.slot_ms), next.map(|n| n.run_at_ms)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn unscheduled_agents(&self, limit: u32) -> Result<Vec<Agent>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {AGENT_COLUMNS} FROM {AGENT_FROM}
                 WHERE a.dreaming_enabled = 1 AND s.paused = 0 AND s.next_slot IS NULL
                 ORDER BY a.id LIMIT ?1"
            ))
            .and_then(|mut s| s.query_map(params![limit], agent_row)?.collect())
            .map_err(backend)
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
            let agent = query_agent(tx, agent_id)?.ok_or_else(|| not_found("agent", agent_id))?;
            let next = if paused { None } else { reschedule(&agent) };
            tx.execute(
                "UPDATE schedules SET paused = ?2, next_slot = ?3, next_run_at = ?4 WHERE agent_id = ?1",
                params![
                    agent_id,
                    paused,
                    next.map(|n| n.slot_ms),
                    next.map(|n| n.run_at_ms)
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
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT agent_id, at, action, actor, detail FROM schedule_events
                 WHERE agent_id = ?1 ORDER BY seq DESC LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![agent_id, limit], |r| {
                    Ok(ScheduleEvent {
                        agent_id: r.get(0)?,
                        at_ms: r.get(1)?,
                        action: r.get(2)?,
                        actor: r.get(3)?,
                        detail: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)
        })
    }
}

impl WebhookStore for SqliteStore {
    fn create_endpoint(&self, endpoint: &Endpoint, idem: Option<&IdempotencyRecord>) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, &endpoint.agent_id)?;
            insert_endpoint(tx, endpoint)?;
            save_idempotency(tx, idem)
        })
    }

    fn get_endpoint(&self, id: &str) -> Result<Option<Endpoint>> {
        self.read(|conn| query_endpoint(conn, id))
    }

    fn list_endpoints(&self, agent_id: &str) -> Result<Vec<Endpoint>> {
        self.read(|conn| {
            require_agent(conn, agent_id)?;
            query_endpoints(conn, agent_id)
        })
    }

    fn delete_endpoint(&self, id: &str, now_ms: i64) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE webhook_endpoints SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                    params![id, now_ms],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(not_found("webhook endpoint", id));
            }
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = ?2,
                        next_attempt_at = NULL, lease_owner = NULL, lease_expires = NULL
                 WHERE endpoint_id = ?1 AND status = 'pending'",
                params![id, now_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn rotate_secret(&self, id: &str, secret: &str, previous_expires_ms: i64) -> Result<Endpoint> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE webhook_endpoints SET previous_secret = secret, previous_expires = ?3,
                            secret = ?2
                     WHERE id = ?1 AND deleted_at IS NULL",
                    params![id, secret, previous_expires_ms],
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
                     WHERE id = ?1 AND deleted_at IS NULL",
                    params![id],
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
            let current: Option<String> = tx
                .query_row(
                    "SELECT id FROM webhook_endpoints
                     WHERE agent_id = ?1 AND source = 'feedback_webhook' AND deleted_at IS NULL",
                    params![agent_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            match (current, url) {
                (None, None) => {}
                (Some(id), None) => {
                    tx.execute(
                        "UPDATE webhook_endpoints SET deleted_at = ?2 WHERE id = ?1",
                        params![id, new.created_at_ms],
                    )
                    .map_err(backend)?;
                    tx.execute(
                        "UPDATE webhook_deliveries SET status = 'cancelled', finished_at = ?2,
                                next_attempt_at = NULL
                         WHERE endpoint_id = ?1 AND status = 'pending'",
                        params![id, new.created_at_ms],
                    )
                    .map_err(backend)?;
                }
                (Some(id), Some(url)) => {
                    tx.execute(
                        "UPDATE webhook_endpoints SET url = ?2 WHERE id = ?1",
                        params![id, url],
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
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT a.id, a.feedback_webhook FROM agents a
                 WHERE a.feedback_webhook IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e
                                   WHERE e.agent_id = a.id AND e.source = 'feedback_webhook'
                                     AND e.deleted_at IS NULL)
                 ORDER BY a.id LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map(params![limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(backend)
        })
    }

    fn claim_deliveries(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        // Idle senders ask several times a second: answer "nothing" from a
        // reader, and take the writer only when there is something to claim.
        let due: bool = self.read(|conn| {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM webhook_deliveries
                                WHERE status = 'pending' AND next_attempt_at <= ?1)",
            )
            .and_then(|mut s| s.query_row(params![now_ms], |r| r.get(0)))
            .map_err(backend)
        })?;
        if !due {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT d.id FROM webhook_deliveries d
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
                       AND (d.lease_expires IS NULL OR d.lease_expires <= ?1)
                       AND e.disabled_at IS NULL AND e.deleted_at IS NULL
                     ORDER BY d.next_attempt_at LIMIT ?2",
                )
                .and_then(|mut s| s.query_map(params![now_ms, limit], |r| r.get(0))?.collect())
                .map_err(backend)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute(
                    "UPDATE webhook_deliveries SET lease_owner = ?2, lease_expires = ?3 WHERE id = ?1",
                    params![id, owner, now_ms.saturating_add(lease_ms)],
                )
                .map_err(backend)?;
                let delivery = query_delivery(tx, &id)?.ok_or_else(|| not_found("delivery", &id))?;
                let event = tx
                    .query_row(
                        "SELECT id, agent_id, type, seq, data, created_at FROM webhook_events WHERE id = ?1",
                        params![delivery.event_id],
                        |r| {
                            Ok(WebhookEvent {
                                id: r.get(0)?,
                                agent_id: r.get(1)?,
                                event_type: r.get(2)?,
                                seq: r.get(3)?,
                                data: r.get(4)?,
                                created_at_ms: r.get(5)?,
                            })
                        },
                    )
                    .map_err(backend)?;
                let endpoint = tx
                    .query_row(
                        &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1"),
                        params![delivery.endpoint_id],
                        endpoint_row,
                    )
                    .map_err(backend)?;
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
            let n = tx
                .execute(
                    "UPDATE webhook_deliveries SET status = ?3, attempts = attempts + 1,
                            next_attempt_at = ?4, finished_at = ?5, last_status = ?6,
                            last_error = ?7, lease_owner = NULL, lease_expires = NULL
                     WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
                    params![
                        delivery_id,
                        owner,
                        status,
                        next,
                        finished,
                        attempt.status.map(i64::from),
                        attempt.error
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    delivery_id,
                    attempt.n,
                    attempt.at_ms,
                    attempt.status.map(i64::from),
                    attempt.error,
                    attempt.duration_ms
                ],
            )
            .map_err(backend)?;
            let (endpoint_id, agent_id): (String, String) = tx
                .query_row(
                    "SELECT endpoint_id, agent_id FROM webhook_deliveries WHERE id = ?1",
                    params![delivery_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?;
            let failed = !matches!(outcome, AttemptOutcome::Delivered);
            tx.execute(
                if failed {
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1"
                } else {
                    "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?1 AND ?2 IS NOT NULL"
                },
                params![endpoint_id, attempt.at_ms],
            )
            .map_err(backend)?;
            if let Some(reason) = disable {
                tx.execute(
                    "UPDATE webhook_endpoints SET disabled_at = ?2, disabled_reason = ?3
                     WHERE id = ?1 AND disabled_at IS NULL",
                    params![endpoint_id, attempt.at_ms, reason],
                )
                .map_err(backend)?;
                outbox(tx, &agent_id, events, attempt.at_ms)?;
            }
            Ok(true)
        })
    }

    fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        self.read(|conn| query_delivery(conn, id))
    }

    fn list_deliveries(
        &self,
        agent_id: &str,
        endpoint_id: Option<&str>,
        status: Option<DeliveryStatus>,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        self.read(|conn| {
            require_agent(conn, agent_id)?;
            let items = conn
                .prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
                     JOIN webhook_events ev ON ev.id = d.event_id
                     WHERE d.agent_id = ?1 AND (?2 IS NULL OR d.endpoint_id = ?2)
                       AND (?3 IS NULL OR d.id < ?3) AND (?5 IS NULL OR d.status = ?5)
                     ORDER BY d.id DESC LIMIT ?4"
                ))
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            agent_id,
                            endpoint_id,
                            page.after,
                            page.limit + 1,
                            status.map(DeliveryStatus::as_str)
                        ],
                        delivery_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            Ok(page_of(items, page.limit))
        })
    }

    fn delivery_attempts(&self, delivery_id: &str) -> Result<Vec<Attempt>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT n, at, status, error, duration_ms FROM webhook_attempts
                 WHERE delivery_id = ?1 ORDER BY n",
            )
            .and_then(|mut s| {
                s.query_map(params![delivery_id], |r| {
                    Ok(Attempt {
                        n: r.get::<_, i64>(0)?.clamp(0, u32::MAX as i64) as u32,
                        at_ms: r.get(1)?,
                        status: r
                            .get::<_, Option<i64>>(2)?
                            .and_then(|s| u16::try_from(s).ok()),
                        error: r.get(3)?,
                        duration_ms: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)
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
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
                params![new_id, old.event_id, old.endpoint_id, old.agent_id, now_ms],
            )
            .map_err(backend)?;
            query_delivery(tx, new_id)?.ok_or_else(|| not_found("delivery", new_id))
        })
    }
}

impl RuleStore for SqliteStore {
    fn install_rule(&self, rule: &InstalledRule, component: &[u8]) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "INSERT INTO rules (id, name, info, size_bytes, component, installed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                    params![
                        rule.id,
                        rule.info.name,
                        rule_info_text(rule),
                        component.len() as i64,
                        component,
                        rule.installed_at_ms
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn get_rule(&self, id: &str) -> Result<Option<InstalledRule>> {
        self.read(|conn| {
            let row = conn
                .prepare_cached("SELECT info, size_bytes, installed_at FROM rules WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row(params![id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(backend)?;
            row.map(|(info, size, at)| installed_rule(id.to_string(), &info, size, at))
                .transpose()
        })
    }

    fn rule_component(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT component FROM rules WHERE id = ?1")
                .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
                .map_err(backend)
        })
    }

    fn list_rules(&self, page: &PageRequest) -> Result<Page<InstalledRule>> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT id, info, size_bytes, installed_at FROM rules
                     WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![page.after, page.limit + 1], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get(2)?,
                            r.get(3)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            let items = rows
                .into_iter()
                .map(|(id, info, size, at)| installed_rule(id, &info, size, at))
                .collect::<Result<Vec<_>>>()?;
            Ok(page_of(items, page.limit))
        })
    }

    fn delete_rule(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            let users = tx
                .prepare_cached(
                    "SELECT agent_id FROM agent_rule_uses WHERE rule_id = ?1 ORDER BY agent_id",
                )
                .and_then(|mut s| {
                    s.query_map(params![id], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            if !users.is_empty() {
                return Err(rule_in_use(id, &users));
            }
            match tx
                .execute("DELETE FROM rules WHERE id = ?1", params![id])
                .map_err(backend)?
            {
                0 => Err(not_found("rule", id)),
                _ => Ok(()),
            }
        })
    }

    fn get_rule_set(&self, agent_id: &str) -> Result<Option<RuleSet>> {
        self.read(|conn| {
            require_agent(conn, agent_id)?;
            let row = conn
                .prepare_cached("SELECT rules, updated_at FROM agent_rule_sets WHERE agent_id = ?1")
                .and_then(|mut s| {
                    s.query_row(params![agent_id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(backend)?;
            row.map(|(rules, at)| rule_set_of(agent_id, &rules, at))
                .transpose()
        })
    }

    fn put_rule_set(&self, agent_id: &str, set: Option<&RuleSet>) -> Result<()> {
        self.write(|tx| {
            require_agent(tx, agent_id)?;
            tx.execute(
                "DELETE FROM agent_rule_uses WHERE agent_id = ?1",
                params![agent_id],
            )
            .map_err(backend)?;
            let Some(set) = set else {
                tx.execute(
                    "DELETE FROM agent_rule_sets WHERE agent_id = ?1",
                    params![agent_id],
                )
                .map_err(backend)?;
                return Ok(());
            };
            for id in set.installed() {
                let installed: bool = tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM rules WHERE id = ?1)")
                    .and_then(|mut s| s.query_row(params![id], |r| r.get(0)))
                    .map_err(backend)?;
                if !installed {
                    return Err(rule_not_installed(set, id));
                }
                tx.execute(
                    "INSERT INTO agent_rule_uses (agent_id, rule_id) VALUES (?1, ?2)",
                    params![agent_id, id],
                )
                .map_err(backend)?;
            }
            tx.execute(
                "INSERT INTO agent_rule_sets (agent_id, rules, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (agent_id) DO UPDATE SET rules = excluded.rules,
                                                      updated_at = excluded.updated_at",
                params![agent_id, rule_set_text(set), set.updated_at_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}

impl KeyStore for SqliteStore {
    fn create_api_key(&self, key: &ApiKey, idem: Option<&IdempotencyRecord>) -> Result<()> {
        self.write(|tx| {
            if let Some(agent) = &key.agent_id {
                require_agent(tx, agent)?;
            }
            tx.execute(
                "INSERT INTO api_keys (id, name, agent_id, hash, created_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key.id,
                    key.name,
                    key.agent_id,
                    key.hash,
                    key.created_at_ms,
                    key.revoked_at_ms
                ],
            )
            .map_err(backend)?;
            save_idempotency(tx, idem)
        })
    }

    fn create_first_api_key(&self, key: &ApiKey) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "INSERT INTO api_keys (id, name, agent_id, hash, created_at, revoked_at)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM api_keys)",
                    params![
                        key.id,
                        key.name,
                        key.agent_id,
                        key.hash,
                        key.created_at_ms,
                        key.revoked_at_ms
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
    }

    fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, name, agent_id, hash, created_at, revoked_at FROM api_keys WHERE id = ?1",
            )
            .and_then(|mut s| s.query_row(params![id], key_row).optional())
            .map_err(backend)
        })
    }

    fn list_api_keys(&self, page: &PageRequest) -> Result<Page<ApiKey>> {
        self.read(|conn| {
            let items = conn
                .prepare_cached(
                    "SELECT id, name, agent_id, hash, created_at, revoked_at FROM api_keys
                     WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![page.after, page.limit + 1], key_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(backend)?;
            Ok(page_of(items, page.limit))
        })
    }

    fn revoke_api_key(&self, id: &str, now_ms: i64) -> Result<ApiKey> {
        self.write(|tx| {
            tx.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now_ms],
            )
            .map_err(backend)?;
            tx.query_row(
                "SELECT id, name, agent_id, hash, created_at, revoked_at FROM api_keys WHERE id = ?1",
                params![id],
                key_row,
            )
            .optional()
            .map_err(backend)?
            .ok_or_else(|| not_found("API key", id))
        })
    }

    fn count_api_keys(&self) -> Result<u64> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM api_keys", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(backend)
        })
    }

    fn get_idempotency(&self, principal: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT principal, key, request_hash, status, body, created_at FROM idempotency_keys
                 WHERE principal = ?1 AND key = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![principal, key], |r| {
                    Ok(IdempotencyRecord {
                        principal: r.get(0)?,
                        key: r.get(1)?,
                        request_hash: r.get(2)?,
                        status: r.get(3)?,
                        body: r.get(4)?,
                        created_at_ms: r.get(5)?,
                    })
                })
                .optional()
            })
            .map_err(backend)
        })
    }
}

impl OpsStore for SqliteStore {
    fn sweep(&self, what: Sweep, before_ms: i64, limit: u32) -> Result<Swept> {
        self.write(|tx| match what {
            Sweep::Idempotency => {
                let rows = tx
                    .execute(
                        "DELETE FROM idempotency_keys WHERE (principal, key) IN
                           (SELECT principal, key FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)",
                        params![before_ms, limit],
                    )
                    .map_err(backend)?;
                Ok(Swept {
                    rows: rows as u64,
                    attempts: 0,
                })
            }
            Sweep::Deliveries | Sweep::DeadLetters => {
                // Only finished deliveries: a pending one (first attempt or a
                // retry to come, leased or not) is never a candidate.
                let statuses = if what == Sweep::Deliveries {
                    "('delivered', 'cancelled')"
                } else {
                    "('dead')"
                };
                let ids: Vec<String> = tx
                    .prepare_cached(&format!(
                        "SELECT id FROM webhook_deliveries
                         WHERE status IN {statuses} AND finished_at < ?1 LIMIT ?2"
                    ))
                    .and_then(|mut s| {
                        s.query_map(params![before_ms, limit], |r| r.get(0))?
                            .collect()
                    })
                    .map_err(backend)?;
                let mut swept = Swept::default();
                for id in &ids {
                    swept.attempts += tx
                        .prepare_cached("DELETE FROM webhook_attempts WHERE delivery_id = ?1")
                        .and_then(|mut s| s.execute(params![id]))
                        .map_err(backend)? as u64;
                    swept.rows += tx
                        .prepare_cached(
                            "DELETE FROM webhook_deliveries WHERE id = ?1 AND status != 'pending'",
                        )
                        .and_then(|mut s| s.execute(params![id]))
                        .map_err(backend)? as u64;
                }
                Ok(swept)
            }
            Sweep::Events => {
                let rows = tx
                    .execute(
                        "DELETE FROM webhook_events WHERE id IN
                           (SELECT e.id FROM webhook_events e
                            WHERE e.created_at < ?1
                              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
                              AND e.seq < (SELECT MAX(l.seq) FROM webhook_events l
                                           WHERE l.agent_id = e.agent_id)
                            LIMIT ?2)",
                        params![before_ms, limit],
                    )
                    .map_err(backend)?;
                Ok(Swept {
                    rows: rows as u64,
                    attempts: 0,
                })
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
        // Read and rewrite on a reader; the writer is held only for the updates.
        let found: Vec<(String, String)> = self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, report FROM dreams
                 WHERE report IS NOT NULL AND logs_swept_at IS NULL AND finished_at < ?1
                 ORDER BY finished_at LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![before_ms, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(backend)
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
                    .prepare_cached(
                        "UPDATE dreams SET report = COALESCE(?2, report), logs_swept_at = ?3
                         WHERE id = ?1 AND logs_swept_at IS NULL",
                    )
                    .and_then(|mut s| s.execute(params![id, lean, now_ms]))
                    .map_err(backend)? as u64;
            }
            Ok(marked)
        })
    }

    fn ping(&self) -> Result<()> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
                .map_err(backend)
        })
    }

    fn queue_depths(&self) -> Result<QueueDepths> {
        self.read(|conn| {
            conn.query_row(
                "SELECT (SELECT COUNT(*) FROM dreams WHERE status = 'pending'),
                        (SELECT COUNT(*) FROM dreams WHERE status = 'running'),
                        (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending')",
                [],
                |r| {
                    Ok(QueueDepths {
                        dreams_pending: r.get::<_, i64>(0)?.max(0) as u64,
                        dreams_running: r.get::<_, i64>(1)?.max(0) as u64,
                        deliveries_pending: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )
            .map_err(backend)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::contract;

    fn fresh() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        (dir, store)
    }

    /// Write rows behind the store's back, as an older reverie (the spliced
    /// duplicate `id`) or a hand would have: `(id, timestamp, body SQL)`.
    pub(crate) fn write_raw_rows(dir: &Path, agent_id: &str, rows: &[(&str, i64, &str)]) {
        let conn = Connection::open(dir.join("reverie.db")).expect("open the file");
        for (id, ts, body) in rows {
            conn.execute(
                &format!(
                    "INSERT INTO interactions (agent_id, id, timestamp_ms, config_version, body, received_at)
                     VALUES (?1, ?2, ?3, 'v1', {body}, ?3)"
                ),
                params![agent_id, id, ts],
            )
            .expect("raw insert");
        }
    }

    /// The bad rows [`write_raw_rows`] writes in the tests, with what their
    /// reason must say.
    pub(crate) const BAD_ROWS: [(&str, i64, &str, &str); 3] = [
        (
            "dup",
            20_000,
            r#"'{"id":"int_x","id":null,"timestamp":"1970-01-01T00:00:20Z","messages":[]}'"#,
            "duplicate field `id`",
        ),
        ("not-json", 30_000, "'not json at all'", "expected"),
        ("bytes", 35_000, "CAST(X'FFFE7B7D' AS TEXT)", "not UTF-8"),
    ];

    /// RELIABILITY 31: rows that cannot be read come back named, in their
    /// place, and the reads around them are whole: windows, pages and gets.
    #[test]
    fn unreadable_rows_are_named_in_place_and_never_fail_a_read() {
        let (dir, store) = fresh();
        let a = contract::agent("poisoned");
        store.create_agent(&a, None, None).expect("create");
        store
            .insert_interactions(
                &a.id,
                &[
                    contract::interaction("good-1", 10_000),
                    contract::interaction("good-2", 40_000),
                ],
                None,
            )
            .expect("insert");
        let raw: Vec<(&str, i64, &str)> =
            BAD_ROWS.iter().map(|(i, t, b, _)| (*i, *t, *b)).collect();
        write_raw_rows(dir.path(), &a.id, &raw);

        let window = Window {
            agent_id: &a.id,
            since_ms: None,
            until_ms: i64::MAX,
        };
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let rows = store
                .read_window(window, after, 2)
                .expect("a read never fails on a row");
            if rows.is_empty() {
                break;
            }
            after = rows.last().map(|(c, _)| *c);
            seen.extend(rows.into_iter().map(|(_, row)| match row {
                Ok(i) => (i.id, String::new()),
                Err(bad) => (bad.id, bad.reason),
            }));
        }
        let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["good-1", "dup", "not-json", "bytes", "good-2"]);
        for (id, _, _, says) in BAD_ROWS {
            let (_, reason) = seen.iter().find(|(i, _)| i == id).expect("named");
            assert!(reason.contains(says), "{id}: {reason}");
        }

        let page = store
            .list_interactions(
                &a.id,
                &PageRequest {
                    limit: 100,
                    after: None,
                },
            )
            .expect("a page never fails on a row");
        let listed: Vec<(&str, bool)> = page
            .items
            .iter()
            .map(|s| (s.record.id.as_str(), s.unreadable.is_some()))
            .collect();
        assert_eq!(
            listed,
            [
                ("good-1", false),
                ("good-2", false),
                ("dup", true),
                ("not-json", true),
                ("bytes", true)
            ]
        );
        let bytes = store
            .get_interaction(&a.id, "bytes")
            .expect("get")
            .expect("there");
        assert!(
            bytes
                .unreadable
                .as_deref()
                .is_some_and(|r| r.contains("not UTF-8")),
            "{bytes:?}"
        );
        assert_eq!(store.delete_interaction(&a.id, "bytes").expect("delete"), 0);
    }

    fn fresh_for_contract() -> Option<contract::Fresh> {
        let (dir, store) = fresh();
        Some(contract::Fresh {
            store: Box::new(store),
            _keep: Box::new(dir),
        })
    }

    // The store contract, one test per check and a module per aggregate.
    contract::contract_tests!(super::fresh_for_contract);

    #[test]
    fn every_connection_is_wal_full_sync_with_foreign_keys_and_a_busy_timeout() {
        let (_dir, store) = fresh();
        store
            .read(|conn| {
                let mode: String = conn
                    .pragma_query_value(None, "journal_mode", |r| r.get(0))
                    .map_err(backend)?;
                let sync: i64 = conn
                    .pragma_query_value(None, "synchronous", |r| r.get(0))
                    .map_err(backend)?;
                let fk: i64 = conn
                    .pragma_query_value(None, "foreign_keys", |r| r.get(0))
                    .map_err(backend)?;
                let busy: i64 = conn
                    .pragma_query_value(None, "busy_timeout", |r| r.get(0))
                    .map_err(backend)?;
                assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
                assert!(busy >= 5000, "busy_timeout {busy}");
                Ok(())
            })
            .expect("read");
    }

    #[test]
    fn a_second_opener_of_the_same_directory_is_refused_until_the_first_closes() {
        let (dir, store) = fresh();
        let err = SqliteStore::open(dir.path()).err().expect("refused");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("in use by another reverie process"),
            "{err}"
        );
        drop(store);
        SqliteStore::open(dir.path()).expect("free again once the first is gone");
    }

    #[test]
    fn what_was_committed_is_there_after_reopening() {
        let (dir, store) = fresh();
        let a = contract::agent("durable");
        store.create_agent(&a, None, None).expect("create");
        store
            .insert_interactions(&a.id, &[contract::interaction("i-1", 1)], None)
            .expect("insert");
        drop(store);
        let store = SqliteStore::open(dir.path()).expect("reopen");
        assert!(store.get_interaction(&a.id, "i-1").expect("get").is_some());
        let ok: String = store
            .read(|c| {
                c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
                    .map_err(backend)
            })
            .expect("check");
        assert_eq!(ok, "ok");
    }

    /// RELIABILITY 21: many writers and readers at once, and not one SQLITE_BUSY.
    #[test]
    fn concurrent_writers_and_readers_never_see_busy() {
        let (_dir, store) = fresh();
        let store = Arc::new(store);
        let a = contract::agent("busy");
        store.create_agent(&a, None, None).expect("create");
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let (store, agent) = (store.clone(), a.id.clone());
                std::thread::spawn(move || {
                    for b in 0..40 {
                        let batch: Vec<InteractionRecord> = (0..10)
                            .map(|i| {
                                contract::interaction(
                                    &format!("w{w}-b{b}-i{i}"),
                                    (b * 10 + i) as i64,
                                )
                            })
                            .collect();
                        store.insert_interactions(&agent, &batch, None)?;
                    }
                    Ok::<(), StoreError>(())
                })
            })
            .collect();
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (store, agent) = (store.clone(), a.id.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        store.count_window(Window {
                            agent_id: &agent,
                            since_ms: None,
                            until_ms: i64::MAX,
                        })?;
                        store.list_interactions(
                            &agent,
                            &PageRequest {
                                limit: 50,
                                after: None,
                            },
                        )?;
                    }
                    Ok::<(), StoreError>(())
                })
            })
            .collect();
        for handle in writers.into_iter().chain(readers) {
            handle
                .join()
                .expect("thread")
                .expect("no store error, SQLITE_BUSY least of all");
        }
        let total = store
            .count_window(Window {
                agent_id: &a.id,
                since_ms: None,
                until_ms: i64::MAX,
            })
            .expect("count");
        assert_eq!(total, 6 * 40 * 10);
    }
}
