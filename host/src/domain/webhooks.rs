//! Webhooks: endpoints, the outbox's events, and each delivery with its attempts.
//! Plain records: no I/O, no HTTP, no SQL; the store and the API convert
//! at their edges.

/// Where an agent's webhook events go.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub agent_id: String,
    pub url: String,
    /// `whsec_…`: signs every event sent here.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_expires_ms`.
    pub previous_secret: Option<String>,
    pub previous_expires_ms: Option<i64>,
    /// Event types sent here; `*` for all.
    pub events: Vec<String>,
    /// `api` (registered) or `feedback_webhook` (the agent's field).
    pub source: String,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
    pub disabled_reason: Option<String>,
    /// Start of the current unbroken run of failed attempts.
    pub failing_since_ms: Option<i64>,
}

impl Endpoint {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

/// An event to put in the outbox with the write that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: String,
    pub event_type: String,
    /// The event's fields, a JSON object (the envelope is added when sent).
    pub data: String,
}

/// An event as stored, with its per-agent sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    pub agent_id: String,
    pub event_type: String,
    pub seq: i64,
    pub data: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (the first, or a retry).
    Pending,
    Delivered,
    /// Every attempt failed: the dead letter, redeliverable.
    Dead,
    /// Its endpoint was deleted first.
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        Some(match text {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "dead" => DeliveryStatus::Dead,
            "cancelled" => DeliveryStatus::Cancelled,
            _ => return None,
        })
    }
}

/// One event bound for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    pub agent_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at_ms: Option<i64>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub n: u32,
    pub at_ms: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery claimed for sending, with what sending it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub event: WebhookEvent,
    pub endpoint: Endpoint,
}

/// What an attempt means for its delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at this time.
    Retry {
        at_ms: i64,
    },
    /// The last attempt failed: the dead letter.
    Dead,
}
