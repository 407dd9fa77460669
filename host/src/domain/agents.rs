//! Agents and their config versions, as the store keeps them and the API shows them.
//! Plain records: no I/O, no HTTP, no SQL; the store and the API convert
//! at their edges.

use super::schedules::ScheduleState;

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub model: String,
    pub dreaming_enabled: bool,
    pub dreaming_frequency: String,
    pub timezone: String,
    pub feedback_webhook: Option<String>,
    /// Fewer new interactions than this since the last dream: the dream is
    /// skipped. `None`: the server's `[server] min_interactions`.
    pub min_new_interactions: Option<u64>,
    /// Where its schedule stands (all empty until the scheduler or the API set it).
    pub schedule: ScheduleState,
    /// The live config version (1 is `v1`).
    pub live_version: i64,
    /// The live version's system prompt.
    pub system_prompt: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The fields an update may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub model: Option<String>,
    pub dreaming_enabled: Option<bool>,
    pub dreaming_frequency: Option<String>,
    pub timezone: Option<String>,
    /// `Some(None)` clears it.
    pub feedback_webhook: Option<Option<String>>,
    /// `Some(None)` goes back to the server default.
    pub min_new_interactions: Option<Option<u64>>,
    /// A different prompt creates a new config version and makes it live.
    pub system_prompt: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigVersion {
    pub version: i64,
    pub system_prompt: String,
    pub created_at_ms: i64,
    pub live: bool,
}
