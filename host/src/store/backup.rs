//! `reverie backup` and `reverie restore`: a consistent copy of a data
//! directory's database taken while the server runs, and putting one back.
//!
//! **How the copy is taken.** With SQLite's online backup API
//! (`sqlite3_backup_*`, rusqlite's `backup` feature) rather than `VACUUM INTO`:
//! the backup API copies pages as they are, which costs far less CPU than
//! `VACUUM INTO` rebuilding every table and index, and it goes a step of pages
//! at a time, so a big database shows progress. Left alone, the backup API
//! starts over whenever another process writes mid-copy, and a busy server
//! could keep it from ever finishing; so the copy runs inside one read
//! transaction opened first on the source connection. In WAL mode a reader
//! never blocks the writer: the server goes on committing while the copy reads
//! the snapshot it started with, and the copy is exactly the database as of
//! that instant. The only cost to the server is that the WAL cannot be
//! checkpointed past that snapshot until the copy ends, so it grows meanwhile.
//!
//! The copy needs no lock of reverie's: the server's lock file says "one
//! writer", and a backup writes nothing to the data directory. It is written
//! next to its destination under a temporary name, switched from WAL to a
//! rollback journal (so it is one self-contained file), checked with
//! `PRAGMA integrity_check`, flushed to disk, and only then given its name.
//!
//! **How a restore replaces a database.** It takes the data directory's lock
//! (so it is refused while a server runs there, and no server can start
//! mid-restore), checks the file before touching anything (integrity, that it
//! is a reverie database, a schema version this binary can open), copies it in
//! under a temporary name, and sets the replaced database aside with its `-wal`
//! (which may hold its last commits), so that WAL is never applied to the
//! restored file. Finally it opens the result as `reverie serve` would, which
//! also brings an older schema up to date.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::sqlite::{self, SCHEMA_VERSION};

/// Pages copied per step: 4 MiB at SQLite's default page size, so progress
/// moves a few times a second on a slow disk.
const PAGES_PER_STEP: i32 = 1024;

/// The tables a file must have to be taken for a reverie database.
const REVERIE_TABLES: &[&str] = &[
    "schema_migrations",
    "agents",
    "interactions",
    "feedback",
    "dreams",
    "api_keys",
];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no reverie database at {} (is --data-dir right?)", path.display())]
    NoDatabase { path: PathBuf },
    #[error("{} already exists; pass --force to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error(
        "a reverie server is running on {} (it holds {}); stop it before restoring",
        dir.display(),
        lock.display()
    )]
    ServerRunning { dir: PathBuf, lock: PathBuf },
    #[error("{} is not a reverie database: {why}", path.display())]
    NotReverie { path: PathBuf, why: String },
    #[error("{} fails SQLite's integrity check: {report}", path.display())]
    Damaged { path: PathBuf, report: String },
    #[error(
        "{} has schema version {found}, newer than this reverie knows ({known}); restore it with a newer reverie",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the restored database does not open: {0}")]
    Store(StoreError),
}

type Result<T, E = BackupError> = std::result::Result<T, E>;

/// What a database file holds, for the line a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    pub bytes: u64,
    pub schema_version: i64,
    pub agents: u64,
    pub interactions: u64,
    pub dreams: u64,
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, schema version {}, {} agent(s), {} interaction(s), {} dream(s), integrity_check ok",
            size(self.bytes),
            self.schema_version,
            self.agents,
            self.interactions,
            self.dreams
        )
    }
}

/// Bytes as a person reads them (`812 KiB`, `3.4 MiB`).
pub fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.0} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.2} GiB", b / (KIB * KIB * KIB))
    }
}

/// A finished backup.
#[derive(Debug, Clone)]
pub struct Backup {
    pub path: PathBuf,
    pub contents: Contents,
    pub took: Duration,
}

/// A finished restore.
#[derive(Debug, Clone)]
pub struct Restore {
    pub database: PathBuf,
    pub contents: Contents,
    /// Where the database it replaced went (`None`: there was none).
    pub set_aside: Option<PathBuf>,
}

fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Copy `data_dir`'s database to `out`, while a server may be running on it.
/// `progress` is told `(bytes copied, bytes in all)` after each step.
pub fn backup(
    data_dir: &Path,
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Backup> {
    let started = Instant::now();
    let source_path = data_dir.join("reverie.db");
    if !source_path.is_file() {
        return Err(BackupError::NoDatabase { path: source_path });
    }
    if !force && out.exists() {
        return Err(BackupError::Exists {
            path: out.to_path_buf(),
        });
    }
    // No CREATE: a typo in --data-dir must not make an empty database to back up.
    let source = Connection::open_with_flags(
        &source_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_err(&source_path))?;
    source
        .busy_timeout(Duration::from_secs(5))
        .map_err(sqlite_err(&source_path))?;
    check_reverie(&source, &source_path)?;

    let partial = partial_name(out);
    remove_if_there(&partial)?;
    let copied = copy_snapshot(&source, &partial, progress).and_then(|()| {
        let contents = seal(&partial)?;
        publish(&partial, out, force)?;
        Ok(contents)
    });
    let contents = match copied {
        Ok(contents) => contents,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    Ok(Backup {
        path: out.to_path_buf(),
        contents,
        took: started.elapsed(),
    })
}

/// Replace `data_dir`'s database with the backup `from`.
pub fn restore(from: &Path, data_dir: &Path) -> Result<Restore> {
    if !from.is_file() {
        return Err(BackupError::NoDatabase {
            path: from.to_path_buf(),
        });
    }
    let lock = match sqlite::lock_data_dir(data_dir) {
        Ok(lock) => lock,
        Err(StoreError::Locked { lock, .. }) => {
            return Err(BackupError::ServerRunning {
                dir: data_dir.to_path_buf(),
                lock,
            });
        }
        Err(StoreError::Io { path, source }) => return Err(BackupError::Io { path, source }),
        Err(e) => return Err(BackupError::Store(e)),
    };

    // Everything about `from` is checked before anything in the data directory changes.
    let source = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_err(from))?;
    check_reverie(&source, from)?;
    check_integrity(&source, from)?;

    let database = data_dir.join("reverie.db");
    let incoming = data_dir.join("reverie.db.restoring");
    remove_if_there(&incoming)?;
    let copied = copy_snapshot(&source, &incoming, &mut |_, _| {}).and_then(|()| seal(&incoming));
    drop(source);
    let contents = match copied {
        Ok(contents) => contents,
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(e);
        }
    };

    let set_aside = set_aside(&database)?;
    std::fs::rename(&incoming, &database).map_err(io_err(&database))?;
    sync_dir(data_dir)?;

    // Open it as `reverie serve` will (pragmas checked, older schemas migrated),
    // still under our lock.
    let store = sqlite::SqliteStore::open_locked(data_dir, lock).map_err(BackupError::Store)?;
    drop(store);
    Ok(Restore {
        database,
        contents,
        set_aside,
    })
}

/// `<out>.partial`, next to `out` so the final rename stays on one filesystem.
fn partial_name(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

/// Copy `source` as of one instant into a new file at `to`.
fn copy_snapshot(source: &Connection, to: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<()> {
    let mut dest = Connection::open(to).map_err(sqlite_err(to))?;
    // One read transaction around the whole copy: the snapshot holds still
    // while the server writes (see the module comment), and steps never restart.
    source
        .execute_batch("BEGIN DEFERRED")
        .map_err(sqlite_err(to))?;
    let copied = (|| {
        source
            .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(sqlite_err(to))?;
        let page_size: i64 = source
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(sqlite_err(to))?;
        let page_size = page_size.max(0) as u64;
        let backup = rusqlite::backup::Backup::new(source, &mut dest).map_err(sqlite_err(to))?;
        loop {
            let step = backup.step(PAGES_PER_STEP).map_err(sqlite_err(to))?;
            let p = backup.progress();
            let total = p.pagecount.max(0) as u64;
            let done = total.saturating_sub(p.remaining.max(0) as u64);
            progress(done * page_size, total * page_size);
            match step {
                rusqlite::backup::StepResult::Done => return Ok(()),
                rusqlite::backup::StepResult::More => {}
                // The destination is ours alone, and the source is only read
                // inside our snapshot; wait a little if SQLite says otherwise.
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    })();
    let _ = source.execute_batch("COMMIT");
    copied
}

/// Make the copy one self-contained file (rollback journal, not WAL), check it,
/// flush it to disk, and say what it holds.
fn seal(path: &Path) -> Result<Contents> {
    let conn = Connection::open(path).map_err(sqlite_err(path))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .map_err(sqlite_err(path))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("cannot leave WAL mode (journal_mode {mode})")),
        });
    }
    check_integrity(&conn, path)?;
    let mut contents = contents(&conn, path)?;
    drop(conn);
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    contents.bytes = file.metadata().map_err(io_err(path))?.len();
    Ok(contents)
}

/// Give the sealed copy its name: without `force`, never over an existing file
/// (a hard link fails if the name is taken, even one created meanwhile).
fn publish(partial: &Path, out: &Path, force: bool) -> Result<()> {
    if force {
        std::fs::rename(partial, out).map_err(io_err(out))?;
    } else {
        std::fs::hard_link(partial, out).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::Exists {
                    path: out.to_path_buf(),
                }
            } else {
                io_err(out)(e)
            }
        })?;
        std::fs::remove_file(partial).map_err(io_err(partial))?;
    }
    if let Some(dir) = out.parent() {
        sync_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?;
    }
    Ok(())
}

/// Move `database` and its `-wal` to `reverie.db.before-restore-<time>` (the
/// WAL may hold its last commits: kept together, the set-aside copy opens
/// whole), and drop its `-shm` (an index SQLite rebuilds from the WAL).
fn set_aside(database: &Path) -> Result<Option<PathBuf>> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = database.with_file_name(format!("reverie.db.before-restore-{stamp}"));
    let sidecar = |base: &Path, suffix: &str| {
        let mut name = base.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    let existed = database.exists();
    if existed {
        std::fs::rename(database, &aside).map_err(io_err(database))?;
    }
    for suffix in ["-wal", "-journal"] {
        let from = sidecar(database, suffix);
        if from.exists() {
            if existed {
                std::fs::rename(&from, sidecar(&aside, suffix)).map_err(io_err(&from))?;
            } else {
                std::fs::remove_file(&from).map_err(io_err(&from))?;
            }
        }
    }
    remove_if_there(&sidecar(database, "-shm"))?;
    Ok(existed.then_some(aside))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The tables are reverie's and the schema version is one this binary opens.
fn check_reverie(conn: &Connection, path: &Path) -> Result<i64> {
    let not_reverie = |why: String| BackupError::NotReverie {
        path: path.to_path_buf(),
        why,
    };
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                not_reverie("it is not an SQLite database".into())
            }
            e => sqlite_err(path)(e),
        })?;
    let missing: Vec<&str> = REVERIE_TABLES
        .iter()
        .copied()
        .filter(|t| !tables.iter().any(|have| have == t))
        .collect();
    if !missing.is_empty() {
        return Err(not_reverie(format!(
            "it has no {} table{}",
            missing.join(", "),
            if missing.len() > 1 { "s" } else { "" }
        )));
    }
    let version: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite_err(path))?;
    if version < 1 {
        return Err(not_reverie("it records no schema version".into()));
    }
    if version > SCHEMA_VERSION {
        return Err(BackupError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

fn check_integrity(conn: &Connection, path: &Path) -> Result<()> {
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite_err(path))?;
    if rows != ["ok"] {
        return Err(BackupError::Damaged {
            path: path.to_path_buf(),
            report: rows.join("; "),
        });
    }
    Ok(())
}

fn contents(conn: &Connection, path: &Path) -> Result<Contents> {
    let count = |table: &str| {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n.max(0) as u64)
        .map_err(sqlite_err(path))
    };
    Ok(Contents {
        bytes: 0,
        schema_version: check_reverie(conn, path)?,
        agents: count("agents")?,
        interactions: count("interactions")?,
        dreams: count("dreams")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract;
    use crate::store::sqlite::SqliteStore;
    use crate::store::traits::*;

    fn no_progress() -> impl FnMut(u64, u64) {
        |_, _| {}
    }

    /// A data directory with one agent and `n` interactions; the store stays open
    /// (a running server holds its lock).
    fn live(n: usize) -> (tempfile::TempDir, SqliteStore, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("data")).expect("open");
        let agent = contract::agent("backed up");
        store.create_agent(&agent, None, None).expect("agent");
        let items: Vec<_> = (0..n)
            .map(|i| contract::interaction(&format!("i-{i}"), i as i64))
            .collect();
        store
            .insert_interactions(&agent.id, &items, None)
            .expect("insert");
        (dir, store, agent.id)
    }

    #[test]
    fn a_backup_of_a_locked_directory_is_one_checked_file_and_is_never_overwritten_by_default() {
        let (dir, _store, _) = live(50);
        let out = dir.path().join("copy.db");
        let mut steps = Vec::new();
        let done = backup(&dir.path().join("data"), &out, false, &mut |d, t| {
            steps.push((d, t))
        })
        .expect("backup while the store holds the lock");
        assert_eq!(
            (
                done.contents.agents,
                done.contents.interactions,
                done.contents.dreams
            ),
            (1, 50, 0)
        );
        assert_eq!(done.contents.schema_version, SCHEMA_VERSION);
        assert_eq!(
            done.contents.bytes,
            std::fs::metadata(&out).expect("out").len()
        );
        assert!(
            steps.last().is_some_and(|(d, t)| d == t && *t > 0),
            "{steps:?}"
        );
        // One file: no WAL next to it, and it says so in its header.
        for sidecar in ["copy.db-wal", "copy.db-shm", "copy.db.partial"] {
            assert!(!dir.path().join(sidecar).exists(), "{sidecar} left behind");
        }
        let conn = Connection::open(&out).expect("open copy");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "delete");

        let err =
            backup(&dir.path().join("data"), &out, false, &mut no_progress()).expect_err("exists");
        assert!(err.to_string().contains("--force"), "{err}");
        backup(&dir.path().join("data"), &out, true, &mut no_progress()).expect("--force");
    }

    #[test]
    fn a_backup_of_a_directory_without_a_database_names_it_and_creates_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = backup(
            &dir.path().join("nope"),
            &dir.path().join("out.db"),
            false,
            &mut no_progress(),
        )
        .expect_err("no database");
        assert!(err.to_string().contains("no reverie database"), "{err}");
        assert!(!dir.path().join("nope").exists());
        assert!(!dir.path().join("out.db").exists());
    }

    #[test]
    fn restore_is_refused_while_the_directory_is_locked() {
        let (dir, _store, _) = live(3);
        let out = dir.path().join("copy.db");
        backup(&dir.path().join("data"), &out, false, &mut no_progress()).expect("backup");
        let err = restore(&out, &dir.path().join("data")).expect_err("locked");
        assert!(
            matches!(err, BackupError::ServerRunning { .. }) && err.to_string().contains("stop it"),
            "{err}"
        );
    }

    #[test]
    fn restore_sets_the_old_database_aside_with_its_wal_and_never_applies_that_wal() {
        let (dir, store, agent) = live(10);
        let out = dir.path().join("copy.db");
        backup(&dir.path().join("data"), &out, false, &mut no_progress()).expect("backup");
        store
            .insert_interactions(&agent, &[contract::interaction("late", 99)], None)
            .expect("insert");
        // What a kill -9 leaves: the database and a WAL holding the last commit.
        let crashed = dir.path().join("crashed");
        std::fs::create_dir_all(&crashed).expect("mkdir");
        for name in ["reverie.db", "reverie.db-wal"] {
            std::fs::copy(dir.path().join("data").join(name), crashed.join(name)).expect("copy");
        }
        drop(store);
        assert!(
            std::fs::metadata(crashed.join("reverie.db-wal")).is_ok_and(|m| m.len() > 0),
            "the crashed copy has a WAL to set aside"
        );

        let done = restore(&out, &crashed).expect("restore");
        assert_eq!(done.contents.interactions, 10);
        let aside = done.set_aside.expect("the old database is kept");
        for sidecar in ["reverie.db-wal", "reverie.db-shm", "reverie.db.restoring"] {
            assert!(!crashed.join(sidecar).exists(), "{sidecar} left behind");
        }
        let restored = SqliteStore::open(&crashed).expect("open restored");
        assert!(
            restored
                .get_interaction(&agent, "i-9")
                .expect("get")
                .is_some()
        );
        assert!(
            restored
                .get_interaction(&agent, "late")
                .expect("get")
                .is_none(),
            "the replaced database's WAL was applied to the restored one"
        );
        drop(restored);
        // The set-aside database opens with its WAL: the late write is in it.
        let old = Connection::open(&aside).expect("open set-aside");
        let n: i64 = old
            .query_row("SELECT COUNT(*) FROM interactions", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 11, "the set-aside database lost its last commit");
    }

    #[test]
    fn restore_checks_the_file_before_touching_the_data_directory() {
        let (dir, store, agent) = live(4);
        drop(store);
        let data = dir.path().join("data");
        let before = std::fs::read(data.join("reverie.db")).expect("read");

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not a database at all, just text").expect("write");
        let err = restore(&junk, &data).expect_err("junk");
        assert!(err.to_string().contains("not an SQLite database"), "{err}");

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .and_then(|c| c.execute_batch("CREATE TABLE notes (x TEXT)"))
            .expect("other");
        let err = restore(&other, &data).expect_err("other");
        assert!(err.to_string().contains("not a reverie database"), "{err}");

        let newer = dir.path().join("newer.db");
        backup(&data, &newer, false, &mut no_progress()).expect("backup");
        Connection::open(&newer)
            .and_then(|c| {
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)",
                    [SCHEMA_VERSION + 1],
                )
            })
            .expect("bump");
        let err = restore(&newer, &data).expect_err("newer");
        assert!(matches!(err, BackupError::TooNew { .. }), "{err}");

        assert_eq!(
            std::fs::read(data.join("reverie.db")).expect("read"),
            before,
            "a refused restore changed the database"
        );
        let store = SqliteStore::open(&data).expect("open");
        assert!(store.get_interaction(&agent, "i-3").expect("get").is_some());
    }

    #[test]
    fn restore_into_an_empty_directory_makes_it_servable() {
        let (dir, _store, agent) = live(5);
        let out = dir.path().join("copy.db");
        backup(&dir.path().join("data"), &out, false, &mut no_progress()).expect("backup");
        let fresh = dir.path().join("fresh");
        let done = restore(&out, &fresh).expect("restore");
        assert!(done.set_aside.is_none());
        let store = SqliteStore::open(&fresh).expect("open");
        assert_eq!(
            store
                .count_window(crate::store::Window {
                    agent_id: &agent,
                    since_ms: None,
                    until_ms: i64::MAX
                })
                .expect("count"),
            5
        );
    }
}
