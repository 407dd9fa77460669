//! Identifiers the server hands out: a type prefix and a time-ordered body.
//!
//! `agt_01jd…` is an agent, `drm_…` a dream, `fb_…` feedback, `key_…` an API
//! key (and `int_…` an interaction whose client gave it no id); `whe_…` a
//! webhook endpoint, `msg_…` a webhook event, `dlv_…` one delivery of it. The body is a
//! ULID: 48 bits of milliseconds and 80 random bits in Crockford base32, made
//! monotonic within the process, so ids sort in creation order. Cursor
//! pagination leans on that: "after this id" is a stable position even while
//! rows are inserted concurrently.
//!
//! It must not do I/O beyond the OS's random bytes.

use std::sync::Mutex;

pub const AGENT: &str = "agt";
pub const DREAM: &str = "drm";
pub const FEEDBACK: &str = "fb";
pub const API_KEY: &str = "key";
pub const INTERACTION: &str = "int";
pub const ENDPOINT: &str = "whe";
/// A webhook event: its id is the `webhook-id` header of every attempt.
pub const EVENT: &str = "msg";
pub const DELIVERY: &str = "dlv";

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));

/// A fresh id with `prefix`, e.g. `new(AGENT)` → `agt_01jdq…`.
pub fn new(prefix: &str) -> String {
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    let random = if now <= last.0 {
        // Same millisecond (or the clock stepped back): count up from the last id.
        last.1 = last.1.wrapping_add(1) & ((1u128 << 80) - 1);
        last.1
    } else {
        let mut bytes = [0u8; 10];
        // getrandom fails only without an OS source, which cannot happen on the
        // platforms we build for; fall back to the clock rather than panic.
        if getrandom::fill(&mut bytes).is_err() {
            bytes[..8].copy_from_slice(&now.to_le_bytes());
        }
        let mut r = 0u128;
        for b in bytes {
            r = (r << 8) | u128::from(b);
        }
        // Leave headroom so counting up within one millisecond never wraps.
        r &= (1u128 << 79) - 1;
        *last = (now, r);
        r
    };
    let time = last.0.max(now);
    drop(last);
    let value = (u128::from(time) << 80) | random;
    let mut body = [0u8; 26];
    for (i, slot) in body.iter_mut().enumerate() {
        let shift = 5 * (25 - i);
        *slot = CROCKFORD[((value >> shift) & 31) as usize];
    }
    let mut id = String::with_capacity(prefix.len() + 27);
    id.push_str(prefix);
    id.push('_');
    // The alphabet is ASCII.
    id.extend(body.iter().map(|&b| b as char));
    id
}

/// Whether `id` looks like an id with `prefix` (the shape, not existence).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|body| body.len() == 26 && body.bytes().all(|b| CROCKFORD.contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_unique_and_sorted_in_creation_order() {
        let ids: Vec<String> = (0..10_000).map(|_| new(AGENT)).collect();
        assert!(ids.iter().all(|id| has_prefix(id, AGENT)));
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "ids must be unique and in creation order");
        assert!(!has_prefix(&ids[0], DREAM));
        assert!(!has_prefix("agt_short", AGENT));
    }
}
