//! Dreams: their states, their summaries, and how one ends.
//! Plain records: no I/O, no HTTP, no SQL; the store and the API convert
//! at their edges.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DreamStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Skipped,
}

impl DreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DreamStatus::Pending => "pending",
            DreamStatus::Running => "running",
            DreamStatus::Completed => "completed",
            DreamStatus::Failed => "failed",
            DreamStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<DreamStatus> {
        Some(match text {
            "pending" => DreamStatus::Pending,
            "running" => DreamStatus::Running,
            "completed" => DreamStatus::Completed,
            "failed" => DreamStatus::Failed,
            "skipped" => DreamStatus::Skipped,
            _ => return None,
        })
    }
}

/// What a finished dream found, in brief (the list view).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DreamSummary {
    pub text: String,
    pub interactions: u64,
    /// Problems found (stored in the `n_patterns` column, from before problems).
    pub problems: u64,
    pub suggestions: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dream {
    pub id: String,
    pub agent_id: String,
    pub status: DreamStatus,
    /// Who asked: `api` (a person, now), `schedule`, or `catch_up` (a slot
    /// run late, after the server was down).
    pub trigger: String,
    /// The schedule slot it is for (the nominal fire time), for scheduled dreams.
    pub slot_ms: Option<i64>,
    /// How many times a worker claimed it (more than one after a takeover).
    pub attempts: u32,
    /// The worker holding it while `running`, and until when.
    pub lease_owner: Option<String>,
    pub lease_expires_ms: Option<i64>,
    /// The window asked for; `None` at the start means "since the last completed dream".
    pub window_start_ms: Option<i64>,
    pub window_end_ms: Option<i64>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    pub summary: Option<DreamSummary>,
    /// The whole `reverie.report/v2` JSON, once completed (only from [`Store::get_dream`]).
    pub report: Option<String>,
    /// When retention removed the rules' raw run output (log lines and
    /// captured output) from the report; the rest of the report stays.
    pub logs_swept_at_ms: Option<i64>,
}

impl Dream {
    /// A new `pending` dream of `agent_id` asked for by `trigger`, over the
    /// window since the last completed dream up to `until_ms`.
    pub fn pending(agent_id: &str, trigger: &str, now_ms: i64, until_ms: i64) -> Dream {
        Dream {
            id: super::ids::new(super::ids::DREAM),
            agent_id: agent_id.to_string(),
            status: DreamStatus::Pending,
            trigger: trigger.to_string(),
            slot_ms: None,
            window_start_ms: None,
            window_end_ms: Some(until_ms),
            created_at_ms: now_ms,
            started_at_ms: None,
            finished_at_ms: None,
            error: None,
            summary: None,
            report: None,
            attempts: 0,
            lease_owner: None,
            lease_expires_ms: None,
            logs_swept_at_ms: None,
        }
    }
}

/// How a running dream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DreamOutcome {
    Completed {
        summary: DreamSummary,
        report: String,
        window_start_ms: Option<i64>,
        window_end_ms: i64,
    },
    Skipped {
        reason: String,
    },
    Failed {
        reason: String,
    },
}
