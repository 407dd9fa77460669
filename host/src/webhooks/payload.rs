//! What webhook receivers get: the events, and the body each is sent as.
//!
//! An event is stored as its own fields (`data`) and sent inside an envelope
//! with its type, id, time and per-agent sequence number, all at the top level,
//! so a receiver can read `type` and then the fields it knows:
//!
//! ```json
//! {"type": "dreaming_report", "id": "msg_…", "timestamp": "…", "sequence": 7,
//!  "agent_id": "agt_…", "dream_id": "drm_…", "summary": "…", "problems": […],
//!  "metrics": {…}, "suggestions": […],
//!  "apply": {"system_prompt": "…", "settings": {}, "suggestions": ["sug_1", "sug_3"]}}
//! ```
//!
//! `apply` holds every ready edit at once: a receiver that applies it makes one
//! new config version per report. Each suggestion's own `new_prompt` is the live
//! prompt with that edit alone, for a person who picks edits by hand.
//!
//! The body is built the same way, byte for byte, for every attempt, so a
//! retry is the same message with the same `webhook-id`. A body above the size
//! cap is sent *thin*: the envelope, the ids, and `url` to fetch the whole
//! report from the API.

use serde_json::{Map, Value, json};

use crate::ids;
use crate::store::{Dream, DreamOutcome, Endpoint, OutboxEvent, WebhookEvent};

pub const DREAMING_REPORT: &str = "dreaming_report";
pub const DREAM_FAILED: &str = "dream.failed";
pub const DREAM_SKIPPED: &str = "dream.skipped";
pub const ENDPOINT_DISABLED: &str = "endpoint.disabled";
/// Every event type, for endpoint filters.
pub const EVENT_TYPES: &[&str] = &[
    DREAMING_REPORT,
    DREAM_FAILED,
    DREAM_SKIPPED,
    ENDPOINT_DISABLED,
];

/// The event a finished dream sends.
pub fn dream_event(dream: &Dream, outcome: &DreamOutcome) -> OutboxEvent {
    let common = |extra: Value| {
        let mut data = Map::new();
        data.insert("agent_id".into(), json!(dream.agent_id));
        data.insert("dream_id".into(), json!(dream.id));
        data.insert("trigger".into(), json!(dream.trigger));
        if let Value::Object(extra) = extra {
            data.extend(extra);
        }
        Value::Object(data).to_string()
    };
    let (event_type, data) = match outcome {
        DreamOutcome::Completed { report, .. } => {
            let report: Value = serde_json::from_str(report).unwrap_or(Value::Null);
            (
                DREAMING_REPORT,
                common(json!({
                    "config_version": report["agent"]["config_version"],
                    "summary": report["summary"],
                    "window": report["window"],
                    "problems": report["problems"],
                    "metrics": report["metrics"],
                    "suggestions": report["suggestions"],
                    "candidate_prompt": report["candidate_prompt"],
                    "apply": report["apply"],
                })),
            )
        }
        DreamOutcome::Failed { reason } => (DREAM_FAILED, common(json!({ "reason": reason }))),
        DreamOutcome::Skipped { reason } => (DREAM_SKIPPED, common(json!({ "reason": reason }))),
    };
    OutboxEvent {
        id: ids::new(ids::EVENT),
        event_type: event_type.into(),
        data,
    }
}

/// The event an endpoint's disabling sends to the agent's other endpoints.
pub fn endpoint_disabled(endpoint: &Endpoint, reason: &str) -> OutboxEvent {
    OutboxEvent {
        id: ids::new(ids::EVENT),
        event_type: ENDPOINT_DISABLED.into(),
        data: json!({
            "agent_id": endpoint.agent_id,
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "reason": reason,
        })
        .to_string(),
    }
}

/// The body of `event`: the envelope and its fields; thin (ids and `url`)
/// when the whole body would exceed `cap` bytes. `api_base` is the server's
/// public URL, for the thin body's link.
pub fn body(event: &WebhookEvent, cap: usize, api_base: &str) -> Vec<u8> {
    let data: Map<String, Value> = serde_json::from_str(&event.data).unwrap_or_default();
    let whole = envelope(event, data.clone(), false);
    if whole.len() <= cap {
        return whole;
    }
    let mut thin = Map::new();
    for key in ["agent_id", "dream_id", "endpoint_id", "trigger"] {
        if let Some(v) = data.get(key) {
            thin.insert(key.into(), v.clone());
        }
    }
    if let Some(dream) = data.get("dream_id").and_then(Value::as_str) {
        thin.insert(
            "url".into(),
            json!(format!(
                "{}/v1/dreams/{dream}",
                api_base.trim_end_matches('/')
            )),
        );
    }
    envelope(event, thin, true)
}

fn envelope(event: &WebhookEvent, data: Map<String, Value>, thin: bool) -> Vec<u8> {
    let mut body = Map::new();
    body.insert("type".into(), json!(event.event_type));
    body.insert("id".into(), json!(event.id));
    body.insert(
        "timestamp".into(),
        json!(
            chrono::DateTime::from_timestamp_millis(event.created_at_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    );
    body.insert("sequence".into(), json!(event.seq));
    if thin {
        body.insert("thin".into(), json!(true));
    }
    for (k, v) in data {
        body.entry(k).or_insert(v);
    }
    Value::Object(body).to_string().into_bytes()
}
