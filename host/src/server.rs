//! `reverie serve`: open the store, make the first admin key, load the rules,
//! start the dream workers and the scheduler, and serve the API until SIGTERM
//! or Ctrl-C; then stop claiming, give running dreams the grace period, and
//! release what is still running.
//!
//! This module wires the parts together and owns the process's life cycle; the
//! parts themselves (store, api, dreams) know nothing of each other's insides.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::mpsc;
use std::time::Duration;

use crate::api::{self, AppState};
use crate::catalog::Catalog;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, SchedulerConfig};
use crate::dreams::{Dreamer, Leases, Wakeup, Workers};
use crate::plugins::Runtime;
use crate::schedule::{Policy, Scheduler};
use crate::store::sqlite::SqliteStore;
use crate::store::{DreamStore, Store};
use crate::webhooks::deliver::{Deliverer, Policy as DeliveryPolicy, Senders};
use crate::webhooks::ssrf::Guard;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot start the rule runtime: {0}")]
    Plugins(#[from] crate::plugins::PluginError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no data directory: set --data-dir or [server] data_dir (neither $XDG_DATA_HOME nor $HOME is set)"
    )]
    NoDataDir,
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot make the first API key: {0}")]
    Random(String),
    #[error("cannot start webhook delivery: {0}")]
    Webhooks(String),
}

/// `$XDG_DATA_HOME/reverie`, else `~/.local/share/reverie`.
pub fn default_data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("reverie"))
}

/// Make an admin key if the store has no key at all, and say so once on stdout.
pub fn bootstrap_admin_key(store: &dyn Store, out: &mut dyn Write) -> Result<(), ServeError> {
    let now = chrono::Utc::now().timestamp_millis();
    let token = match crate::service::keys::bootstrap_admin(store, now) {
        Ok(Some(token)) => token,
        // A key exists (or a replica starting beside this one just made it).
        Ok(None) => return Ok(()),
        Err(crate::service::keys::KeyError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(ServeError::Random(e.to_string())),
    };
    writeln!(
        out,
        "Created the first admin API key. It is shown this once and stored only as a hash:\n\n    {token}\n\nUse it as `Authorization: Bearer {token}`; `reverie keys create` makes more."
    )?;
    out.flush()?;
    Ok(())
}

/// Run the server until a shutdown signal. `announce` receives the startup
/// lines (the first key, the address) and is flushed after each.
pub fn serve(
    config: Config,
    data_dir: Option<PathBuf>,
    announce: &mut dyn Write,
) -> Result<(), ServeError> {
    let data_dir = data_dir
        .or_else(|| config.server.data_dir.clone())
        .or_else(default_data_dir)
        .ok_or(ServeError::NoDataDir)?;
    let store: Arc<dyn Store> = match &config.server.database_url {
        Some(url) => {
            let store = crate::store::postgres::PostgresStore::connect(
                &crate::store::postgres::PgOptions {
                    url: url.clone(),
                    pool_size: config.server.database_pool_size,
                },
            )?;
            writeln!(
                announce,
                "reverie: data in PostgreSQL at {} (pool of {}); compile cache in {}",
                store.shown_url(),
                config.server.database_pool_size,
                data_dir.join("cache").display()
            )?;
            // Other replicas may hold leases on this database: what a crash
            // left running is taken over when its lease expires, not now.
            Arc::new(store)
        }
        None => {
            let store = SqliteStore::open(&data_dir)?;
            writeln!(announce, "reverie: data in {}", store.path().display())?;
            // This process holds the data directory's lock, so no other worker can
            // hold a lease here: dreams a crash left `running` go back to `pending` now
            // rather than when their leases expire.
            let released = store.release_all_leases()?;
            if released > 0 {
                writeln!(
                    announce,
                    "reverie: {released} dream(s) left running by the last stop will run again"
                )?;
            }
            Arc::new(store)
        }
    };
    bootstrap_admin_key(&*store, announce)?;

    // The config's rules load now; installed ones when an agent's set first names them.
    let rules = Arc::new(Catalog::new(
        Runtime::new(Some(data_dir.join("cache")))?,
        config.clone(),
    ));
    let store_dyn: Arc<dyn Store> = store.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sched = config.scheduler;
    let dreamer = Dreamer::new(
        store_dyn.clone(),
        rules.clone(),
        config.server.min_interactions,
        clock.clone(),
        Leases {
            owner: worker_name(),
            lease_ms: sched.lease.as_millis() as i64,
            max_attempts: sched.max_attempts,
        },
    );
    let workers = Workers::spawn(dreamer, sched.workers, Duration::from_secs(1))?;
    let policy = policy_of(&sched);
    writeln!(
        announce,
        "reverie: {} dream worker(s), lease {}, shutdown grace {}",
        sched.workers,
        crate::config::humantime(sched.lease),
        crate::config::humantime(sched.shutdown_grace)
    )?;
    let scheduler = if sched.enabled {
        let scheduler = Scheduler::new(store_dyn.clone(), policy, clock);
        let n = scheduler.reconcile()?;
        if n > 0 {
            writeln!(
                announce,
                "reverie: scheduled {n} agent(s) that had no next run"
            )?;
        }
        writeln!(
            announce,
            "reverie: scheduler on: every {}, jitter up to {}, catch-up window {}",
            crate::config::humantime(sched.tick),
            crate::config::humantime(sched.jitter),
            crate::config::humantime(sched.catch_up_window)
        )?;
        Some(spawn_scheduler(scheduler, sched.tick, workers.wakeup())?)
    } else {
        writeln!(
            announce,
            "reverie: the scheduler is off ([scheduler] enabled = false): agents dream only when asked"
        )?;
        None
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("reverie-http")
        .build()?;
    let addr = config.server.listen;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr()?;

    let linked = crate::service::agents::link_feedback_webhooks(
        &*store_dyn,
        chrono::Utc::now().timestamp_millis(),
    )?;
    if linked > 0 {
        writeln!(
            announce,
            "reverie: gave {linked} agent(s) a webhook endpoint for their feedback_webhook"
        )?;
    }

    // Webhooks: the outbox is sent by threads of their own.
    let hooks = &config.webhooks;
    let deliverer = Deliverer::new(
        store_dyn.clone(),
        Arc::new(SystemClock),
        DeliveryPolicy {
            schedule: hooks.retry_schedule.clone(),
            timeout: hooks.timeout,
            max_response_bytes: hooks.max_response_bytes,
            disable_after: hooks.disable_after,
            thin_above_bytes: hooks.thin_above_bytes,
            public_url: hooks
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{local}")),
            lease: hooks.timeout + Duration::from_secs(30),
            extra_roots: hooks.extra_root_certs.clone(),
        },
        Guard::new(hooks.allow_networks.clone()),
        format!("{}/webhooks", worker_name()),
    )
    .map_err(|e| ServeError::Webhooks(e.to_string()))?;
    let senders = Senders::spawn(
        Arc::new(deliverer),
        hooks.senders,
        Duration::from_millis(250),
    )?;

    writeln!(announce, "reverie: retention: {}", config.retention)?;
    let sweeper = crate::retention::spawn(crate::retention::Sweeper::new(
        store_dyn.clone(),
        Arc::new(SystemClock),
        config.retention,
    ))?;

    let state = AppState::new(
        store_dyn,
        Some(workers.wakeup()),
        config.server.max_body_bytes,
        policy,
    )
    .with_body_timeout(config.server.body_timeout)
    .with_webhook_guard(Guard::new(hooks.allow_networks.clone()))
    .with_metrics_endpoint(config.metrics)
    .with_rate_limit(config.rate_limit)
    .with_catalog(rules);
    // At the signal: stop scheduling and claiming at once, while HTTP drains.
    let stop_claiming = workers.stopper();
    let stop_scheduler = scheduler.as_ref().map(|(stop, _)| stop.clone());
    let on_signal = move || {
        stop_claiming.stop();
        if let Some(stop) = stop_scheduler {
            let _ = stop.send(());
        }
    };
    // The descriptors the listener may spend on clients: all but a reserve,
    // so the database can always open its files however many clients come.
    let fd_limit = crate::listener::raise_fd_limit();
    let limits = crate::listener::Limits {
        max_connections: crate::listener::effective_cap(
            config.server.listener.max_connections,
            fd_limit,
        ),
        ..config.server.listener
    };
    writeln!(
        announce,
        "reverie: up to {} connections ({} file descriptors), header timeout {}, body timeout {}, drain {}",
        limits.max_connections,
        fd_limit.map_or_else(|| "unknown".to_string(), |n| n.to_string()),
        crate::config::humantime(limits.header_timeout),
        crate::config::humantime(config.server.body_timeout),
        crate::config::humantime(limits.drain),
    )?;
    let served = runtime.block_on(async {
        writeln!(announce, "reverie: listening on http://{local}")?;
        announce.flush()?;
        let served = crate::listener::serve(listener, api::app(state), limits, async move {
            shutdown_signal().await;
            on_signal();
        })
        .await;
        Ok::<_, ServeError>(served)
    })?;
    if served.closed_at_shutdown > 0 {
        tracing::warn!(
            target: "reverie::http",
            connections = served.closed_at_shutdown,
            "closed {} connection(s) still open after the {} drain",
            served.closed_at_shutdown,
            crate::config::humantime(limits.drain)
        );
    }
    senders.shutdown(Duration::from_secs(2));
    sweeper.shutdown();
    drop(runtime);

    // Claiming stopped at the signal; let running dreams finish within the
    // grace period; what is still running after it goes back to `pending`, so
    // nothing is left `running` (RELIABILITY 20).
    if let Some((stop, handle)) = scheduler {
        let _ = stop.send(());
        let _ = handle.join();
    }
    tracing::info!(
        grace_s = sched.shutdown_grace.as_secs_f64(),
        "waiting for running dreams"
    );
    let shutdown = workers.shutdown(sched.shutdown_grace);
    for id in &shutdown.released {
        tracing::warn!(
            dream_id = %id,
            "dream {id} did not finish in time; released, it runs again at the next start"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// The scheduler's and workers' timing, from `[scheduler]`.
pub fn policy_of(config: &SchedulerConfig) -> Policy {
    Policy {
        jitter_max_ms: config.jitter.as_millis() as i64,
        catch_up_window_ms: config.catch_up_window.as_millis() as i64,
    }
}

/// This process's name on the leases it holds: host, pid and a random tag
/// (a pid alone repeats across restarts and containers).
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let mut tag = [0u8; 4];
    let tag = match getrandom::fill(&mut tag) {
        Ok(()) => tag.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Err(_) => "0000".into(),
    };
    format!("{host}:{}:{tag}", std::process::id())
}

/// Tick the scheduler every `every` until told to stop; wake the workers when
/// it queued a dream.
fn spawn_scheduler(
    scheduler: Scheduler,
    every: Duration,
    wake: Wakeup,
) -> std::io::Result<(mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let (stop, stopped) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("reverie-scheduler".into())
        .spawn(move || {
            loop {
                match scheduler.tick() {
                    Ok(tick) if tick.queued > 0 => wake.notify(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(target: "reverie::scheduler", error = %e, "cannot read the due schedules")
                    }
                }
                match stopped.recv_timeout(every) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
            }
        })?;
    Ok((stop, handle))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
