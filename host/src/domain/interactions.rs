//! Interactions and feedback as stored: the JSON as received with the columns filtered on, and rows that cannot be read back.
//! Plain records: no I/O, no HTTP, no SQL; the store and the API convert
//! at their edges.

use super::model::Rating;

/// An interaction as stored: its JSON as received, and the columns the store filters on.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionRecord {
    pub id: String,
    pub timestamp_ms: i64,
    /// The version it is counted under: see [`version_key`].
    pub config_version: String,
    /// The interaction object as checked at ingest, with its id (the JSONL line format).
    pub body: String,
    pub received_at_ms: i64,
}

/// What a client's own `config_version` label is stored and reported as.
pub const CLIENT_LABEL: &str = "client:";

/// The config version an interaction is counted under on the server, in the
/// `config_version` column, the API's views and a dream's metrics.
///
/// Two namespaces meet here and must never be confused: the versions the
/// server mints when a prompt changes (`v1`, `v2`, … in `GET …/versions`),
/// and the labels a runtime writes in its own logs (often also `v1`, `v2`,
/// meaning other prompts). So: a server version the runtime reports
/// (`agent_version`) is itself, `v3`; a label alone is `client:<label>`, so
/// that a metric never shows a label as a server version; with neither, the
/// interaction is counted under `fallback`, the version live when it arrived.
/// Computed from the body on every read too, so rows stored before this rule
/// are counted the same way.
pub fn version_key(agent_version: Option<i64>, label: Option<&str>, fallback: &str) -> String {
    match (agent_version, label) {
        (Some(n), _) => format!("v{n}"),
        (None, Some(label)) => format!("{CLIENT_LABEL}{label}"),
        (None, None) => fallback.to_string(),
    }
}

/// An interaction row as read back for the API: the record, and why its body
/// cannot be read as an interaction, if it cannot (see [`Unreadable`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInteraction {
    /// When unreadable, `body` is the stored text as far as it is text.
    pub record: InteractionRecord,
    pub unreadable: Option<String>,
}

/// A stored interaction that cannot be read back (its body is not an
/// interaction, not JSON, or not text), and why. Readers leave such a row out
/// and say so, naming it: one bad row never fails a dream or a listing
/// (RELIABILITY 31), and `DELETE …/interactions/{id}` removes it. Rows are
/// checked on the way in, so this is for rows written by an older reverie or
/// by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub id: String,
    /// At most [`Unreadable::MAX_REASON`] bytes.
    pub reason: String,
}

impl Unreadable {
    /// Reasons are parse errors, but a body can be anything: bound what a
    /// report or a page repeats of it.
    pub const MAX_REASON: usize = 300;

    pub fn new(id: impl Into<String>, reason: &str) -> Unreadable {
        let mut reason = reason.to_string();
        if reason.len() > Self::MAX_REASON {
            let mut end = Self::MAX_REASON - 3;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
            reason.push_str("...");
        }
        Unreadable {
            id: id.into(),
            reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRecord {
    pub id: String,
    pub interaction_id: String,
    pub rating: Rating,
    pub comment: Option<String>,
    pub created_at_ms: i64,
}
