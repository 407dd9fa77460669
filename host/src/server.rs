//! `reverie serve`: open the store, make the first admin key, load the rules,
//! start the dream runner, and serve the API until SIGTERM or Ctrl-C.
//!
//! This module wires the parts together and owns the process's life cycle; the
//! parts themselves (store, api, dreams) know nothing of each other's insides.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::dreams::{Dreamer, Rules};
use crate::plugins::Runtime;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

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
    if store.count_api_keys()? > 0 {
        return Ok(());
    }
    let (key, token) = api::auth::new_key(
        "admin (first start)",
        None,
        chrono::Utc::now().timestamp_millis(),
    )
    .map_err(|e| ServeError::Random(e.to_string()))?;
    store.create_api_key(&key, None)?;
    writeln!(
        out,
        "Created the first admin API key. It is shown this once and stored only as a hash:\n\n    {token}\n\nUse it as `Authorization: Bearer {token}`; `reverie keys create` makes more."
    )?;
    out.flush()?;
    Ok(())
}

/// Load every configured rule once; each dream starts fresh instances from these.
fn load_rules(config: &Config, cache_dir: PathBuf) -> Result<Rules, ServeError> {
    let runtime = Runtime::new(Some(cache_dir))?;
    let loaded = config
        .rules
        .iter()
        .map(|rule| {
            let loaded = runtime.load_source(&rule.source);
            if let Err(failure) = &loaded {
                eprintln!(
                    "reverie: rule {} will be reported as failed in every dream: {}",
                    rule.source.fallback_name(),
                    failure.message
                );
            }
            loaded
        })
        .collect();
    Ok(Rules {
        runtime,
        config: config.clone(),
        loaded,
    })
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
    let store = Arc::new(SqliteStore::open(&data_dir)?);
    writeln!(announce, "reverie: data in {}", store.path().display())?;
    bootstrap_admin_key(&*store, announce)?;

    let rules = load_rules(&config, data_dir.join("cache"))?;
    let store_dyn: Arc<dyn Store> = store.clone();
    let dreamer = Dreamer::new(store_dyn.clone(), rules, config.server.min_interactions);
    let (queue, runner) = dreamer.spawn()?;
    for id in store_dyn.requeue_dreams()? {
        queue.push(id);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("reverie-http")
        .build()?;
    let state = AppState::new(store_dyn, Some(queue), config.server.max_body_bytes);
    let addr = config.server.listen;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Listen { addr, source })?;
        let local = listener.local_addr()?;
        writeln!(announce, "reverie: listening on http://{local}")?;
        announce.flush()?;
        axum::serve(listener, api::app(state))
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        Ok::<(), ServeError>(())
    })?;
    // The router, and with it the last DreamQueue, is gone. A dream in hand is
    // not waited for: the process exits and the dream, still `running` in the
    // store, is run again from the start after the next start (dreams have no
    // side effects until they complete, and completion is one transaction).
    drop(runtime);
    drop(runner);
    Ok(())
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
    eprintln!("reverie: shutting down");
}
