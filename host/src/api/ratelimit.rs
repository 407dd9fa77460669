//! Rate limits per API key: a token bucket each, 429 with `Retry-After` when empty.
//!
//! Off unless `[rate_limit]` is configured. The limit runs after
//! authentication, so a bucket belongs to a key id that proved its secret: a
//! request without a valid key is answered 401 before it could take a token,
//! and nobody can spend another key's budget by sending its id. `/healthz`,
//! `/readyz`, the OpenAPI document and `/metrics` are not limited (probes and
//! scrapers keep their own pace).
//!
//! A bucket holds up to `burst` tokens and gains `requests_per_second` per
//! second; a request takes one. An empty bucket answers 429
//! `/problems/rate-limited` with `Retry-After`: the whole seconds until a
//! token is back (rounded up, so a client that waits that long gets through).
//!
//! Memory stays bounded: a bucket left alone long enough to refill completely
//! is the same as no bucket, so buckets idle that long are dropped, at most
//! once per refill period. What remains is one bucket per key that sent a
//! request in the last two refill periods; revoked and idle keys' buckets go.
//!
//! It must not touch the store: buckets live in this process's memory, so
//! each replica limits on its own (a client spread over N replicas gets up to N
//! times the rate).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState, Principal};
use serde::Deserialize;

use crate::units::bounded;

/// The buckets of every key that sent a request lately.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    /// How long an empty bucket takes to fill: after that idle, it is dropped.
    refill: Duration,
    inner: Mutex<Buckets>,
}

struct Buckets {
    by_key: HashMap<String, Bucket>,
    last_sweep: Instant,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig, now: Instant) -> RateLimiter {
        let burst = f64::from(config.burst.max(1));
        let rate = config.requests_per_second.max(f64::MIN_POSITIVE);
        RateLimiter {
            rate,
            burst,
            refill: Duration::try_from_secs_f64(burst / rate).unwrap_or(Duration::MAX),
            inner: Mutex::new(Buckets {
                by_key: HashMap::new(),
                last_sweep: now,
            }),
        }
    }

    /// Take a token from `key_id`'s bucket at `now`, or say how long until one is back.
    pub fn check(&self, key_id: &str, now: Instant) -> Result<(), Duration> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(inner.last_sweep) >= self.refill {
            let refill = self.refill;
            inner
                .by_key
                .retain(|_, b| now.saturating_duration_since(b.at) < refill);
            inner.last_sweep = now;
        }
        let (rate, burst) = (self.rate, self.burst);
        let bucket = inner.by_key.entry(key_id.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let gained = now.saturating_duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + gained).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
        }
    }

    /// Buckets held now (for tests of the memory bound).
    #[cfg(test)]
    pub fn buckets(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_key
            .len()
    }
}

/// Whole seconds to wait, rounded up and never 0 (`Retry-After: 0` would
/// invite an immediate retry that fails again).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Middleware, inside authentication: one token per request of the calling key.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (Some(limiter), Some(principal)) = (
        state.rate_limiter(),
        request.extensions().get::<Principal>(),
    ) else {
        return next.run(request).await;
    };
    match limiter.check(&principal.key_id, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = retry_after_secs(wait);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("this API key sent more than its rate limit allows; retry after {secs} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: f64, burst: u32, now: Instant) -> RateLimiter {
        RateLimiter::new(
            RateLimitConfig {
                requests_per_second: rate,
                burst,
            },
            now,
        )
    }

    #[test]
    fn a_burst_then_the_rate_and_keys_do_not_share() {
        let t0 = Instant::now();
        let l = limiter(2.0, 3, t0);
        for _ in 0..3 {
            assert_eq!(l.check("key_a", t0), Ok(()));
        }
        let wait = l.check("key_a", t0).expect_err("the burst is spent");
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Another key has its own bucket.
        assert_eq!(l.check("key_b", t0), Ok(()));
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.check("key_a", t1), Ok(()));
        assert!(l.check("key_a", t1).is_err());
    }

    #[test]
    fn idle_buckets_are_dropped_and_dropping_changes_nothing() {
        let t0 = Instant::now();
        // Refills in 2 s.
        let l = limiter(5.0, 10, t0);
        for n in 0..1000 {
            assert_eq!(l.check(&format!("key_{n}"), t0), Ok(()));
        }
        assert_eq!(l.buckets(), 1000);
        let later = t0 + Duration::from_secs(3);
        assert_eq!(l.check("key_new", later), Ok(()));
        assert_eq!(
            l.buckets(),
            1,
            "only the key active since the last refill period"
        );
        // A dropped key starts again with a full bucket, as it would have had.
        for _ in 0..10 {
            assert_eq!(l.check("key_7", later), Ok(()));
        }
        assert!(l.check("key_7", later).is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(10)), 10);
    }
}

// ---- `[rate_limit]`: owned here; the top-level config only composes it ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFile {
    requests_per_second: Option<f64>,
    burst: Option<u32>,
}

/// A token bucket per API key (`[rate_limit]`); no section, no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// Tokens added per second: the sustained rate one key may keep up.
    pub requests_per_second: f64,
    /// The bucket's size: how many requests one key may send at once after a
    /// quiet spell.
    pub burst: u32,
}

/// `[rate_limit]` resolved, every value checked.
pub fn resolve(file: &RateLimitFile) -> Result<RateLimitConfig, String> {
    let rate = file.requests_per_second.ok_or(
        "rate_limit.requests_per_second is missing: a [rate_limit] section sets the rate (remove the section for no limit)",
    )?;
    if !(rate.is_finite() && (0.001..=1_000_000.0).contains(&rate)) {
        return Err(format!(
            "rate_limit.requests_per_second must be between 0.001 and 1000000, got {rate}"
        ));
    }
    // Default burst: two seconds' worth, at least one request.
    let burst = match file.burst {
        Some(n) => bounded("rate_limit.burst", n, 1..=1_000_000)?,
        None => (rate * 2.0).ceil().max(1.0) as u32,
    };
    Ok(RateLimitConfig {
        requests_per_second: rate,
        burst,
    })
}
