//! Webhook signing per Standard Webhooks v1: this module owns the endpoint
//! secret (`whsec_<base64>`: generating, parsing, showing it), the `v1,`
//! HMAC-SHA256 signature over `{id}.{timestamp}.{body}`, the space-separated
//! `webhook-signature` header that carries one signature per live secret
//! during a rotation, and the receiver-side check our tests and documentation
//! use to prove that a delivery verifies.
//!
//! It must not send or store anything: signing is a pure function of the
//! secret, the id, the time and the body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix that marks a Standard Webhooks secret; receivers strip it and
/// base64-decode the rest to get the HMAC key.
const SECRET_PREFIX: &str = "whsec_";

/// The only signature scheme we emit and accept; `v1a` (asymmetric) and
/// future versions in a header are skipped, not errors, as the spec asks.
const SIGNATURE_VERSION: &str = "v1";

/// Length of a freshly generated key: 32 bytes matches SHA-256's block-sized
/// security and what common providers issue.
const GENERATED_KEY_LEN: usize = 32;

/// The spec allows 24..=64 byte keys; shorter keys are too weak to accept, and
/// anything longer than HMAC-SHA256's 64-byte block is hashed down anyway, so
/// it is more likely a paste mistake than a deliberate choice.
const MIN_KEY_LEN: usize = 24;
const MAX_KEY_LEN: usize = 64;

/// The raw HMAC key of one webhook endpoint.
///
/// Kept as decoded bytes rather than text so signing never re-parses, and
/// `Debug` is written by hand so the key cannot reach logs by accident.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
}

/// Why a secret could not be made or read; the messages are meant for the
/// person who pasted or configured the secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The operating system could not supply random bytes.
    #[error("could not get random bytes for a new webhook secret: {0}")]
    Random(String),
    /// The text does not start with `whsec_`.
    #[error("a webhook secret must start with \"whsec_\"")]
    MissingPrefix,
    /// The part after `whsec_` is not standard base64 with padding.
    #[error("the part of the webhook secret after \"whsec_\" is not valid base64")]
    NotBase64,
    /// The decoded key is shorter than the spec's minimum.
    #[error("the webhook secret is too short: {len} bytes, at least {MIN_KEY_LEN} are needed")]
    TooShort {
        /// Decoded key length in bytes.
        len: usize,
    },
    /// The decoded key is longer than the spec's maximum.
    #[error("the webhook secret is too long: {len} bytes, at most {MAX_KEY_LEN} are allowed")]
    TooLong {
        /// Decoded key length in bytes.
        len: usize,
    },
}

impl std::fmt::Debug for Secret {
    /// Shows only that this is a secret, never its bytes, so a `{:?}` of a
    /// struct holding one is safe to log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(whsec_…)")
    }
}

impl Secret {
    /// A new random 32-byte secret.
    ///
    /// Fails only if the OS random source does; callers surface that rather
    /// than fall back to a weaker source.
    ///
    /// # Errors
    ///
    /// [`SecretError::Random`] if the OS random source fails.
    pub fn generate() -> Result<Secret, SecretError> {
        let mut key = vec![0u8; GENERATED_KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(Secret { key })
    }

    /// Parse `whsec_<base64>`; errors name what is wrong (missing prefix, not
    /// base64, too short or too long: 24..=64 decoded bytes are accepted).
    ///
    /// Surrounding whitespace is trimmed because secrets are usually pasted.
    ///
    /// # Errors
    ///
    /// [`SecretError::MissingPrefix`], [`SecretError::NotBase64`],
    /// [`SecretError::TooShort`] or [`SecretError::TooLong`].
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        if key.len() < MIN_KEY_LEN {
            return Err(SecretError::TooShort { len: key.len() });
        }
        if key.len() > MAX_KEY_LEN {
            return Err(SecretError::TooLong { len: key.len() });
        }
        Ok(Secret { key })
    }

    /// `whsec_<base64>` as shown to users once / stored.
    ///
    /// This is the only way the key leaves the type, so every place that
    /// reveals it is a visible call to this method.
    #[must_use]
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// `v1,<base64 hmac>` over `{id}.{timestamp}.{body}`.
    ///
    /// The id and timestamp are signed along with the body so a captured
    /// delivery cannot be replayed under another id or at another time.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // An empty signature on the unreachable no-MAC path is one no
        // receiver will accept, which is the safe way to fail.
        let tag = self
            .mac(id, timestamp, body)
            .map(|mac| STANDARD.encode(mac.finalize().into_bytes()))
            .unwrap_or_default();
        format!("{SIGNATURE_VERSION},{tag}")
    }

    /// The HMAC state after absorbing the signed content, shared by signing
    /// and verifying so both always hash exactly the same bytes.
    ///
    /// `None` cannot happen in practice (HMAC accepts keys of any length),
    /// but it is handled rather than unwrapped so non-test code never panics;
    /// both callers then fail closed.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        Some(mac)
    }
}

/// The `webhook-signature` header value: one `v1,…` per secret,
/// space-separated, in the order given (current first, then the previous one
/// during a rotation overlap).
///
/// Sending both during a rotation lets a receiver that has not yet switched
/// secrets keep verifying deliveries.
#[must_use]
pub fn signature_header(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Verification, as a receiver does it (used by our own tests and
/// documentation examples): true if any signature in `header` matches
/// `secret`, compared in constant time, and `timestamp` is within
/// `tolerance_secs` of `now_secs`.
///
/// The timestamp window is what stops replays; the constant-time comparison
/// (`Mac::verify_slice`) keeps the check from leaking how much of a forged
/// signature was right. Entries of other versions or malformed base64 are
/// skipped, so one odd entry cannot hide a valid one.
#[must_use]
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now_secs: i64,
    tolerance_secs: i64,
) -> bool {
    let fresh = now_secs
        .checked_sub(timestamp)
        .is_some_and(|age| age.checked_abs().is_some_and(|a| a <= tolerance_secs));
    if !fresh {
        return false;
    }
    header.split_whitespace().any(|entry| {
        let Some((version, encoded)) = entry.split_once(',') else {
            return false;
        };
        if version != SIGNATURE_VERSION {
            return false;
        }
        let Ok(tag) = STANDARD.decode(encoded) else {
            return false;
        };
        secret
            .mac(id, timestamp, body)
            .is_some_and(|mac| mac.verify_slice(&tag).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1_614_265_330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn vector_secret() -> Secret {
        Secret::parse(VECTOR_SECRET).expect("published secret parses")
    }

    #[test]
    fn reproduces_published_test_vector() {
        let secret = vector_secret();
        assert_eq!(
            secret.sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY),
            VECTOR_SIGNATURE
        );
        assert!(verify(
            &secret,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            VECTOR_SIGNATURE,
            VECTOR_TIMESTAMP,
            300
        ));
    }

    #[test]
    fn published_secret_round_trips_to_text() {
        assert_eq!(vector_secret().to_text(), VECTOR_SECRET);
    }

    #[test]
    fn generate_to_text_parse_round_trip() {
        let secret = Secret::generate().expect("random secret");
        let text = secret.to_text();
        assert!(text.starts_with("whsec_"));
        let parsed = Secret::parse(&text).expect("own text parses");
        assert_eq!(parsed.key, secret.key);
        assert_eq!(parsed.key.len(), 32);
        assert_eq!(parsed.to_text(), text);
    }

    #[test]
    fn generated_secrets_differ() {
        let a = Secret::generate().expect("random secret");
        let b = Secret::generate().expect("random secret");
        assert_ne!(a.key, b.key);
    }

    #[test]
    fn rotation_header_carries_both_signatures_and_each_secret_verifies() {
        let current = Secret::generate().expect("random secret");
        let previous = Secret::generate().expect("random secret");
        let (id, ts, body) = ("msg_1", 1_700_000_000, b"{\"a\":1}".as_slice());
        let header = signature_header(&[&current, &previous], id, ts, body);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], current.sign(id, ts, body));
        assert_eq!(parts[1], previous.sign(id, ts, body));
        assert!(verify(&current, id, ts, body, &header, ts, 300));
        assert!(verify(&previous, id, ts, body, &header, ts, 300));
        let stranger = Secret::generate().expect("random secret");
        assert!(!verify(&stranger, id, ts, body, &header, ts, 300));
    }

    #[test]
    fn single_secret_header_is_one_signature() {
        let secret = vector_secret();
        assert_eq!(
            signature_header(&[&secret], VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY),
            VECTOR_SIGNATURE
        );
    }

    #[test]
    fn tampered_body_id_or_timestamp_fails() {
        let secret = vector_secret();
        let ts = VECTOR_TIMESTAMP;
        let sig = VECTOR_SIGNATURE;
        assert!(!verify(
            &secret,
            VECTOR_ID,
            ts,
            br#"{"test": 2432232315}"#,
            sig,
            ts,
            300
        ));
        assert!(!verify(&secret, "msg_other", ts, VECTOR_BODY, sig, ts, 300));
        assert!(!verify(
            &secret,
            VECTOR_ID,
            ts + 1,
            VECTOR_BODY,
            sig,
            ts,
            300
        ));
    }

    #[test]
    fn stale_or_future_timestamp_outside_tolerance_fails() {
        let secret = vector_secret();
        let ts = VECTOR_TIMESTAMP;
        let check = |now| {
            verify(
                &secret,
                VECTOR_ID,
                ts,
                VECTOR_BODY,
                VECTOR_SIGNATURE,
                now,
                300,
            )
        };
        assert!(check(ts + 300));
        assert!(check(ts - 300));
        assert!(!check(ts + 301));
        assert!(!check(ts - 301));
        assert!(!verify(
            &secret,
            VECTOR_ID,
            i64::MIN,
            VECTOR_BODY,
            VECTOR_SIGNATURE,
            i64::MAX,
            300
        ));
    }

    #[test]
    fn header_with_unknown_versions_and_junk_still_verifies_valid_entry() {
        let secret = vector_secret();
        let header = format!("v1a,AAAA v1,!!notbase64 garbage {VECTOR_SIGNATURE}");
        let ts = VECTOR_TIMESTAMP;
        assert!(verify(
            &secret,
            VECTOR_ID,
            ts,
            VECTOR_BODY,
            &header,
            ts,
            300
        ));
        let sig_only = VECTOR_SIGNATURE.trim_start_matches("v1,");
        let wrong_version = format!("v2,{sig_only}");
        assert!(!verify(
            &secret,
            VECTOR_ID,
            ts,
            VECTOR_BODY,
            &wrong_version,
            ts,
            300
        ));
        assert!(!verify(&secret, VECTOR_ID, ts, VECTOR_BODY, "", ts, 300));
    }

    #[test]
    fn parse_rejects_missing_prefix() {
        assert_eq!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").map(|s| s.key),
            Err(SecretError::MissingPrefix)
        );
    }

    #[test]
    fn parse_rejects_bad_base64() {
        assert_eq!(
            Secret::parse("whsec_not*base64!").map(|s| s.key),
            Err(SecretError::NotBase64)
        );
    }

    #[test]
    fn parse_rejects_too_short_and_too_long() {
        let short = format!("whsec_{}", STANDARD.encode([7u8; 23]));
        assert_eq!(
            Secret::parse(&short).map(|s| s.key),
            Err(SecretError::TooShort { len: 23 })
        );
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(
            Secret::parse(&long).map(|s| s.key),
            Err(SecretError::TooLong { len: 65 })
        );
        let edge = format!("whsec_{}", STANDARD.encode([7u8; 64]));
        assert!(Secret::parse(&edge).is_ok());
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            SecretError::MissingPrefix.to_string(),
            "a webhook secret must start with \"whsec_\""
        );
        assert!(
            SecretError::TooShort { len: 3 }
                .to_string()
                .contains("at least 24")
        );
    }

    #[test]
    fn debug_does_not_leak_the_secret() {
        let secret = vector_secret();
        let shown = format!("{secret:?} {:?}", Some(secret.clone()));
        assert!(!shown.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!shown.contains(&secret.to_text()));
        assert!(!shown.contains(&format!("{:?}", secret.key)));
        assert!(shown.contains("Secret(whsec_…)"));
    }
}
