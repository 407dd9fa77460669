//! Sending the outbox: workers that claim due deliveries, sign and send them,
//! and record what happened.
//!
//! Each delivery is claimed with a lease, sent once, and its attempt recorded
//! with the lease as a fence. The published schedule (after the first attempt,
//! which is immediate): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each ±10%
//! jitter; a `Retry-After` longer than the next step is honoured (up to 24 h).
//! Then the delivery is dead: visible in the API and redeliverable.
//!
//! - 2xx: delivered. Any other status, a timeout or a refused connection: a
//!   failed attempt.
//! - 410 Gone: the receiver asked us to stop; the endpoint is disabled.
//! - Redirects are never followed (a 3xx is a failure, `Location` named).
//! - Every attempt has a connect and a total timeout, and reads at most a
//!   capped amount of the response.
//! - An endpoint whose attempts have all failed for `disable_after` is disabled,
//!   and an `endpoint.disabled` event goes to the agent's other endpoints.
//! - Addresses are checked at connect time ([`super::ssrf`]), so a name that
//!   resolved to a public address at registration and to 127.0.0.1 now is
//!   stopped before anything is sent.
//!
//! The `webhook-id` is the event's id, the same for every attempt and every
//! redelivery; `webhook-timestamp` is the attempt's own time.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::payload;
use super::sign::{self, Secret};
use super::ssrf::Guard;
use crate::clock::Clock;
use crate::store::{Attempt, AttemptOutcome, DueDelivery, Store, StoreError};
use crate::telemetry::metrics::{self, AttemptEnd};

/// Retry delays after the first (immediate) attempt: the published schedule.
pub const DEFAULT_SCHEDULE: &[Duration] = &[
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How much of an error response is kept (for `last_error`).
const ERROR_EXCERPT: usize = 200;

/// How deliveries are sent, from `[webhooks]`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Delays before the 2nd, 3rd, … attempt; the last failure after them is dead.
    pub schedule: Vec<Duration>,
    /// Total time for one attempt (connect, send, response).
    pub timeout: Duration,
    /// The most response body read from a receiver.
    pub max_response_bytes: usize,
    /// An endpoint failing without a break this long is disabled.
    pub disable_after: Duration,
    /// Bodies larger than this are sent thin.
    pub thin_above_bytes: usize,
    /// The API's base URL as receivers reach it (for thin bodies' links).
    pub public_url: String,
    /// How long a claimed delivery stays claimed.
    pub lease: Duration,
    /// CA certificates trusted besides the built-in roots (`[webhooks] extra_root_certs`).
    pub extra_roots: Vec<RootCerts>,
}

/// A PEM file of CA certificates that receivers' chains may end in, for a
/// private CA (an internal receiver, a test CA on loopback).
///
/// They are added to the built-in webpki roots, not put in their place: one
/// server delivers to public and private receivers alike. Read and parsed when
/// the config is loaded, so a wrong path or a file that holds no certificate
/// stops the start with the file named, rather than failing every delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCerts {
    pub path: std::path::PathBuf,
    pem: Vec<u8>,
}

impl RootCerts {
    pub fn load(path: &std::path::Path) -> Result<RootCerts, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        RootCerts::from_pem(path, pem)
    }

    /// `pem` as if read from `path`: at least one certificate, all parsable.
    pub fn from_pem(path: &std::path::Path, pem: Vec<u8>) -> Result<RootCerts, String> {
        let certs = RootCerts {
            path: path.to_path_buf(),
            pem,
        };
        match certs.certificates() {
            Ok(found) if !found.is_empty() => Ok(certs),
            Ok(_) => Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )),
            Err(e) => Err(format!(
                "{} is not a PEM certificate bundle: {e}",
                path.display()
            )),
        }
    }

    fn certificates(&self) -> Result<Vec<reqwest::Certificate>, reqwest::Error> {
        reqwest::Certificate::from_pem_bundle(&self.pem)
    }
}

/// Sends deliveries.
pub struct Deliverer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: Policy,
    guard: Guard,
    http: reqwest::blocking::Client,
    owner: String,
}

/// What one attempt came to, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        policy: Policy,
        guard: Guard,
        owner: String,
    ) -> Result<Deliverer, DeliverError> {
        // The guard's builder: its resolver, no proxies (a proxy would connect
        // to the target unchecked), no redirects.
        let mut builder = guard.client_builder();
        for roots in &policy.extra_roots {
            let certs = roots
                .certificates()
                .map_err(|e| DeliverError::Client(format!("{}: {e}", roots.path.display())))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        // HTTPS goes through the same guarded resolver as HTTP: the TLS
        // connector asks it for the addresses, so the SSRF guard sees every
        // connection whatever the scheme.
        let http = builder
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("reverie-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliverError::Client(e.to_string()))?;
        Ok(Deliverer {
            store,
            clock,
            policy,
            guard,
            http,
            owner,
        })
    }

    /// Claim and send what is due, at most `limit`; how many were sent.
    pub fn run_once(&self, limit: u32) -> Result<usize, StoreError> {
        let due = self.store.claim_deliveries(
            &self.owner,
            self.clock.now_ms(),
            self.policy.lease.as_millis() as i64,
            limit,
        )?;
        let n = due.len();
        for d in due {
            self.deliver(&d)?;
        }
        Ok(n)
    }

    /// Send one claimed delivery and record the attempt.
    pub fn deliver(&self, due: &DueDelivery) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let body = payload::body(
            &due.event,
            self.policy.thin_above_bytes,
            &self.policy.public_url,
        );
        let sent = self.send(due, &body, now);
        let n = due.delivery.attempts + 1;
        let attempt = Attempt {
            n,
            at_ms: now,
            status: sent.status,
            error: sent.error.clone(),
            duration_ms: sent.elapsed.as_millis() as i64,
        };
        let delivered = sent.status.is_some_and(|s| (200..300).contains(&s));
        let gone = sent.status == Some(410);
        let outcome = if delivered {
            AttemptOutcome::Delivered
        } else if gone {
            AttemptOutcome::Dead
        } else {
            match self.retry_at(&due.delivery.id, n, now, sent.retry_after) {
                Some(at_ms) => AttemptOutcome::Retry { at_ms },
                None => AttemptOutcome::Dead,
            }
        };
        let failing_for = due
            .endpoint
            .failing_since_ms
            .map_or(0, |since| now.saturating_sub(since));
        let disable = if gone {
            Some("the receiver answered 410 Gone".to_string())
        } else if !delivered && failing_for >= self.policy.disable_after.as_millis() as i64 {
            Some(format!(
                "every attempt failed for {} (since {})",
                crate::units::humantime(Duration::from_millis(failing_for.max(0) as u64)),
                rfc3339(due.endpoint.failing_since_ms.unwrap_or(now))
            ))
        } else {
            None
        };
        let events: Vec<_> = disable
            .iter()
            .map(|reason| payload::endpoint_disabled(&due.endpoint, reason))
            .collect();
        let recorded = self.store.record_attempt(
            &due.delivery.id,
            &self.owner,
            &attempt,
            &outcome,
            disable.as_deref(),
            &events,
        )?;
        if !recorded {
            tracing::warn!(
                target: "reverie::webhooks",
                delivery_id = %due.delivery.id,
                endpoint_id = %due.endpoint.id,
                attempt = n,
                "the delivery's lease was lost; this attempt is not recorded"
            );
            return Ok(());
        }
        record_outcome(due, &attempt, &outcome, disable.as_deref());
        Ok(())
    }

    /// When attempt `n + 1` happens after attempt `n` failed at `now`, or
    /// `None` when `n` was the last.
    pub fn retry_at(
        &self,
        delivery_id: &str,
        n: u32,
        now: i64,
        retry_after: Option<Duration>,
    ) -> Option<i64> {
        let step = *self.policy.schedule.get(n as usize - 1)?;
        // ±10%, stable for (delivery, attempt) so tests can bound it.
        let digest = Sha256::digest(format!("{delivery_id}/{n}").as_bytes());
        let fraction = f64::from(u16::from_be_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
        let jittered = step.as_millis() as f64 * (0.9 + 0.2 * fraction);
        let wait = match retry_after {
            Some(asked) => (jittered as i64).max(asked.min(MAX_RETRY_AFTER).as_millis() as i64),
            None => jittered as i64,
        };
        Some(now + wait)
    }

    fn send(&self, due: &DueDelivery, body: &[u8], now_ms: i64) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent {
            status: None,
            error: Some(error),
            retry_after: None,
            elapsed: started.elapsed(),
        };
        let url = match reqwest::Url::parse(&due.endpoint.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("the endpoint URL is not valid: {e}")),
        };
        if let Err(e) = self.guard.check_connect_target(&url) {
            return failed(e.to_string());
        }
        let mut secrets = Vec::new();
        match Secret::parse(&due.endpoint.secret) {
            Ok(s) => secrets.push(s),
            Err(e) => return failed(format!("the endpoint's secret is unusable: {e}")),
        }
        if let (Some(previous), Some(until)) = (
            &due.endpoint.previous_secret,
            due.endpoint.previous_expires_ms,
        ) && until > now_ms
            && let Ok(s) = Secret::parse(previous)
        {
            secrets.push(s);
        }
        let timestamp = now_ms.div_euclid(1000);
        let refs: Vec<&Secret> = secrets.iter().collect();
        let signature = sign::signature_header(&refs, &due.event.id, timestamp, body);
        let result = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &due.event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send();
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("timed out after {:?}", self.policy.timeout)
                } else {
                    // The guard's refusal and connection errors sit in the source chain.
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        text = format!("{text}: {s}");
                        source = s.source();
                    }
                    if text.contains("UnknownIssuer") || text.contains("BadSignature") {
                        text.push_str(
                            " (if the receiver's certificate comes from a private CA, add the CA's \
                             certificate to [webhooks] extra_root_certs)",
                        );
                    }
                    text
                };
                return failed(what);
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut excerpt = Vec::new();
        let _ = response
            .take(self.policy.max_response_bytes as u64)
            .read_to_end(&mut excerpt);
        let error = if (200..300).contains(&status) {
            None
        } else if (300..400).contains(&status) {
            Some(format!(
                "{status}: redirects are not followed (Location: {})",
                location.as_deref().unwrap_or("none")
            ))
        } else {
            let text = String::from_utf8_lossy(&excerpt);
            let text: String = text.trim().chars().take(ERROR_EXCERPT).collect();
            Some(if text.is_empty() {
                format!("{status}")
            } else {
                format!("{status}: {text}")
            })
        };
        Sent {
            status: Some(status),
            error,
            retry_after,
            elapsed: started.elapsed(),
        }
    }
}

/// Count and log a recorded attempt: which delivery and endpoint, which
/// attempt, the receiver's status or the error, and what happens next.
fn record_outcome(
    due: &DueDelivery,
    attempt: &Attempt,
    outcome: &AttemptOutcome,
    disabled: Option<&str>,
) {
    let delivery_id = due.delivery.id.as_str();
    let endpoint_id = due.endpoint.id.as_str();
    let event_type = due.event.event_type.as_str();
    let (n, status, duration_ms) = (attempt.n, attempt.status, attempt.duration_ms);
    let error = attempt.error.as_deref();
    match outcome {
        AttemptOutcome::Delivered => {
            metrics::webhook_attempt(AttemptEnd::Delivered);
            tracing::info!(target: "reverie::webhooks", delivery_id, endpoint_id, event_type, attempt = n, status, duration_ms, outcome = "delivered", "webhook delivered");
        }
        AttemptOutcome::Retry { at_ms } => {
            metrics::webhook_attempt(AttemptEnd::Failed);
            let retry_at = rfc3339(*at_ms);
            tracing::info!(target: "reverie::webhooks", delivery_id, endpoint_id, event_type, attempt = n, status, duration_ms, error, retry_at = %retry_at, outcome = "failed", "webhook attempt failed; it will be retried");
        }
        AttemptOutcome::Dead => {
            metrics::webhook_attempt(AttemptEnd::Dead);
            tracing::warn!(target: "reverie::webhooks", delivery_id, endpoint_id, event_type, attempt = n, status, duration_ms, error, outcome = "dead", "webhook delivery dead: no attempt left (redeliver it through the API)");
        }
    }
    if let Some(reason) = disabled {
        tracing::warn!(target: "reverie::webhooks", endpoint_id, reason, "webhook endpoint disabled");
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(text: &str) -> Option<Duration> {
    if let Ok(secs) = text.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text.trim()).ok()?;
    let wait = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(wait.max(0) as u64))
}

/// Delivery workers: threads that send due deliveries until told to stop.
pub struct Senders {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Senders {
    /// `count` threads, each sending one delivery at a time and looking for
    /// more every `poll` when idle.
    pub fn spawn(
        deliverer: Arc<Deliverer>,
        count: usize,
        poll: Duration,
    ) -> std::io::Result<Senders> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for n in 0..count.max(1) {
            let deliverer = deliverer.clone();
            let stop = stop.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("reverie-webhooks-{n}"))
                    .spawn(move || {
                        while !stop.load(Ordering::SeqCst) {
                            match deliverer.run_once(1) {
                                Ok(0) => std::thread::sleep(poll),
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::error!(target: "reverie::webhooks", error = %e, "cannot send deliveries");
                                    std::thread::sleep(poll);
                                }
                            }
                        }
                    })?,
            );
        }
        Ok(Senders { stop, handles })
    }

    /// Stop claiming; wait up to `grace` for attempts in flight. An attempt
    /// cut off is retried after its lease expires (or at the next start).
    pub fn shutdown(self, grace: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + grace;
        while self.handles.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests;
