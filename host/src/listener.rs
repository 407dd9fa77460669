//! The HTTP listener: accepts connections and serves the API router over
//! HTTP/1.1 with the limits a server facing untrusted clients needs.
//!
//! `axum::serve` has no read timeouts and no connection cap, and its graceful
//! shutdown waits for every connection, so a client that sends half a request
//! holds a socket (and a file descriptor) for as long as it likes and can keep
//! the process from stopping. This module owns those limits and nothing else:
//!
//! - **Head timeout**: a connection must send a whole request head within
//!   [`Limits::header_timeout`] of being ready for one: of opening, and of
//!   its previous response. So partial headers and idle keep-alive
//!   connections are both closed after it. (The body has its own timeout,
//!   enforced by the router, which can answer 408.)
//! - **Connection cap**: at most [`Limits::max_connections`] at once, kept
//!   below the process's file-descriptor limit with [`FD_RESERVE`] to spare,
//!   so the database, the compile cache and webhook sockets can always open
//!   their files. A new connection over the cap closes the connection that
//!   has been quiet longest among those with no request in progress (idle
//!   keep-alive, a stalled head); if every connection is busy, the new one
//!   gets 503.
//! - **Shutdown**: at the signal, stop accepting, let requests in progress
//!   finish within [`Limits::drain`], then close whatever is left. No client
//!   can stretch the shutdown past it.
//! - **Every error is problem+json**: hyper answers a request it cannot parse
//!   (400, 414 URI too long, 431 headers too large) by itself, with an empty
//!   body; the connection's writer replaces that answer with a problem
//!   document (RELIABILITY 24).
//!
//! It knows nothing of routes, keys or the store: it serves whatever
//! [`axum::Router`] it is given.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::Service;

use crate::telemetry::metrics;

/// File descriptors kept free of client connections: the SQLite database and
/// its WAL and shared-memory files, the compile cache, webhook and model
/// provider sockets, the lock file, stdio, and headroom for the runtime.
pub const FD_RESERVE: usize = 64;

/// The largest request head read (request line and headers); larger is 431.
/// (A request target over 64 KiB is 414 before this counts.)
pub const MAX_HEAD_BYTES: usize = 96 << 10;

/// The listener's limits (`[server]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once (before the file-descriptor clamp).
    pub max_connections: usize,
    /// Time to send a whole request head, from opening or the previous response.
    pub header_timeout: Duration,
    /// After the shutdown signal, how long requests in progress get.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(5),
        }
    }
}

/// Raise this process's soft file-descriptor limit to its hard limit (as Go
/// and nginx do: the soft limit of 1024 common on Linux is a default for
/// `select(2)`-era programs, not a policy), and return the soft limit now in
/// force, or `None` where it cannot be read.
pub fn raise_fd_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = limit.rlim_max;
                }
            }
        }
        Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap that fits under `fd_limit` with [`FD_RESERVE`] spare.
pub fn effective_cap(configured: usize, fd_limit: Option<usize>) -> usize {
    match fd_limit {
        Some(fds) => configured.min(fds.saturating_sub(FD_RESERVE)).max(1),
        None => configured.max(1),
    }
}

/// What serving came to, for the shutdown log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// Connections still open when the drain time ran out, closed by force.
    pub closed_at_shutdown: usize,
}

/// One open connection, as the accept loop sees it.
struct Conn {
    /// Milliseconds since the listener started, at the last byte read.
    last_read_ms: AtomicU64,
    /// Requests handed to the router and not yet answered.
    in_flight: AtomicUsize,
    /// Told when the connection is evicted to make room.
    evict: Notify,
}

#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn len(&self) -> usize {
        self.conns.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn insert(&self, id: u64, conn: Arc<Conn>) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.insert(id, conn);
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&id);
        }
    }

    /// Close the connection quiet longest among those with no request in
    /// progress; false if every connection is busy.
    fn evict_quietest(&self) -> bool {
        let Ok(mut conns) = self.conns.lock() else {
            return false;
        };
        let victim = conns
            .iter()
            .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.last_read_ms.load(Ordering::Acquire))
            .map(|(id, _)| *id);
        match victim.and_then(|id| conns.remove(&id)) {
            Some(conn) => {
                // notify_one keeps the permit if the task is not waiting yet.
                conn.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serve `app` on `listener` until `shutdown` completes, then drain.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Served {
    let started = Instant::now();
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A request head larger than this is 431 (hyper's default is ~400 KiB).
        .max_header_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connections so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // Out of descriptors (EMFILE) or a connection reset
                        // before accept: wait a little instead of spinning.
                        tracing::warn!(target: "reverie::http", error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if registry.len() >= limits.max_connections {
                    if registry.evict_quietest() {
                        metrics::connection_cut("evicted", 1);
                        tracing::debug!(target: "reverie::http", "at the connection cap: closed the quietest idle connection");
                    } else {
                        metrics::connection_cut("refused", 1);
                        tracing::warn!(
                            target: "reverie::http",
                            cap = limits.max_connections,
                            "at the connection cap with every connection busy: a new one got 503"
                        );
                        tasks.spawn(refuse(stream));
                        continue;
                    }
                }
                let _ = stream.set_nodelay(true);
                next_id += 1;
                let conn = Arc::new(Conn {
                    last_read_ms: AtomicU64::new(elapsed_ms(started)),
                    in_flight: AtomicUsize::new(0),
                    evict: Notify::new(),
                });
                registry.insert(next_id, conn.clone());
                metrics::connections_open(registry.len());
                tasks.spawn(connection(
                    next_id,
                    stream,
                    conn,
                    registry.clone(),
                    app.clone(),
                    http.clone(),
                    stop_rx.clone(),
                    started,
                ));
            }
        }
    }

    // Stop accepting (the kernel refuses new connections from here on), ask
    // every connection to finish its request in progress and close, and close
    // by force whatever is left at the deadline.
    drop(listener);
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + limits.drain;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let closed_at_shutdown = tasks.len();
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    metrics::connection_cut("shutdown", closed_at_shutdown as u64);
    metrics::connections_open(0);
    Served { closed_at_shutdown }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Serve one connection until it ends, is evicted, or shutdown drains it.
#[allow(clippy::too_many_arguments)]
async fn connection(
    id: u64,
    stream: TcpStream,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
    app: axum::Router,
    http: hyper::server::conn::http1::Builder,
    mut stop: watch::Receiver<bool>,
    started: Instant,
) {
    let io = TokioIo::new(Tracked::new(stream, conn.clone(), started));
    let counting = conn.clone();
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut app = app.clone();
            let conn = counting.clone();
            conn.in_flight.fetch_add(1, Ordering::AcqRel);
            async move {
                let response = app.call(request).await;
                conn.in_flight.fetch_sub(1, Ordering::AcqRel);
                response
            }
        });
    let serving = http.serve_connection(io, service);
    tokio::pin!(serving);
    let mut draining = *stop.borrow();
    if draining {
        serving.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = serving.as_mut() => {
                if let Err(e) = result
                    && !e.is_incomplete_message()
                {
                    tracing::debug!(target: "reverie::http", error = %e, "connection ended with an error");
                }
                break;
            }
            () = conn.evict.notified() => {
                tracing::debug!(target: "reverie::http", "connection closed to make room for a new one");
                break;
            }
            changed = stop.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    // Finish the request in progress, if any, then close.
                    serving.as_mut().graceful_shutdown();
                }
            }
        }
    }
    registry.remove(id);
    metrics::connections_open(registry.len());
}

/// Every connection is busy: say so and close.
async fn refuse(mut stream: TcpStream) {
    let body = br#"{"type":"/problems/too-many-connections","title":"Too many connections","status":503,"detail":"the server is at its connection limit and every connection is busy; try again shortly"}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let send = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), send).await;
}

/// The connection's socket, noting when it last read a byte and rewriting
/// hyper's own bodiless error answers into problem documents.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
    started: Instant,
    /// A replacement answer still to be written, and how much of it is.
    replacement: Vec<u8>,
    written: usize,
}

impl Tracked {
    fn new(inner: TcpStream, conn: Arc<Conn>, started: Instant) -> Tracked {
        Tracked {
            inner,
            conn,
            started,
            replacement: Vec::new(),
            written: 0,
        }
    }

    /// Write what is left of a replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.replacement.len() {
            let rest = &self.replacement[self.written..];
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = elapsed_ms(self.started);
            self.conn.last_read_ms.store(now, Ordering::Release);
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.poll_replacement(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(answer) = problem_for_automatic_answer(buf) {
            // Tell hyper its answer went out; ours goes in its place.
            this.replacement = answer;
            this.written = 0;
            let _ = this.poll_replacement(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.poll_replacement(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.poll_replacement(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// If `buf` is hyper's own answer to a request it could not parse, the
/// problem document to send instead.
///
/// hyper writes such an answer as one bodiless head (`content-length: 0`, no
/// `content-type`) and then closes the connection. The router never answers
/// an error without a `content-type` (every error leaves it as
/// problem+json), so a 400, 414 or 431 head without one can only be hyper's.
fn problem_for_automatic_answer(buf: &[u8]) -> Option<Vec<u8>> {
    let (status, slug, title, detail) = if buf.starts_with(b"HTTP/1.1 400 ") {
        (
            400,
            "bad-request",
            "The request is malformed",
            "the request line or a header could not be parsed as HTTP/1.1",
        )
    } else if buf.starts_with(b"HTTP/1.1 414 ") {
        (
            414,
            "uri-too-long",
            "The URI is too long",
            "the request target is longer than the server accepts",
        )
    } else if buf.starts_with(b"HTTP/1.1 431 ") {
        (
            431,
            "headers-too-large",
            "The request headers are too large",
            "the request head is larger than the server accepts",
        )
    } else {
        return None;
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    if head.contains("\r\ncontent-type:") || !head.contains("\r\ncontent-length: 0") {
        return None;
    }
    let body = serde_json::json!({
        "type": format!("/problems/{slug}"),
        "title": title,
        "status": status,
        "detail": detail,
    })
    .to_string();
    let reason = &String::from_utf8_lossy(&buf[9..buf.len().min(64)]);
    let reason = reason.split("\r\n").next().unwrap_or_default().to_string();
    Some(
        format!(
            "HTTP/1.1 {reason}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_a_reserve_of_descriptors() {
        assert_eq!(effective_cap(1024, Some(20_000)), 1024);
        assert_eq!(effective_cap(1024, Some(1024)), 1024 - FD_RESERVE);
        assert_eq!(effective_cap(1024, Some(10)), 1);
        assert_eq!(effective_cap(50, None), 50);
    }

    #[test]
    fn hypers_bodiless_parse_errors_become_problem_documents() {
        let hyper_answer = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 04:00:00 GMT\r\n\r\n";
        let ours = problem_for_automatic_answer(hyper_answer).expect("rewritten");
        let text = String::from_utf8(ours).expect("utf-8");
        assert!(
            text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{text}"
        );
        assert!(text.contains("content-type: application/problem+json"));
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).expect("body")).expect("json");
        assert_eq!(body["status"], 431);

        // The router's own errors carry their problem document already.
        let routed = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 80\r\n\r\n{";
        assert_eq!(problem_for_automatic_answer(routed), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(problem_for_automatic_answer(ok), None);
    }
}
