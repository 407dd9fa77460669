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
//!
//! It must not send anything or read the store: it builds what is sent.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::ids;
use crate::report::{Apply, Metrics, Problem, Report, ReportSuggestion, Window};
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

/// The fields of a `dreaming_report` event, borrowed from the report and
/// serialised once: a field renamed in [`Report`] is a compile error here, and
/// each value is sent exactly as the report (and `GET /v1/dreams/{id}`) has it.
#[derive(Debug, Serialize)]
pub struct DreamingReport<'a> {
    pub agent_id: &'a str,
    pub dream_id: &'a str,
    pub trigger: &'a str,
    pub config_version: &'a str,
    pub summary: &'a str,
    pub window: &'a Window,
    pub problems: &'a [Problem],
    pub metrics: &'a Metrics,
    pub suggestions: &'a [ReportSuggestion],
    pub candidate_prompt: &'a str,
    pub apply: &'a Apply,
}

impl<'a> DreamingReport<'a> {
    pub fn new(dream: &'a Dream, report: &'a Report) -> DreamingReport<'a> {
        DreamingReport {
            agent_id: &dream.agent_id,
            dream_id: &dream.id,
            trigger: &dream.trigger,
            config_version: &report.agent.config_version,
            summary: &report.summary,
            window: &report.window,
            problems: &report.problems,
            metrics: &report.metrics,
            suggestions: &report.suggestions,
            candidate_prompt: &report.candidate_prompt,
            apply: &report.apply,
        }
    }
}

/// The fields of `dream.failed` and `dream.skipped`.
#[derive(Debug, Serialize)]
struct DreamEnded<'a> {
    agent_id: &'a str,
    dream_id: &'a str,
    trigger: &'a str,
    reason: &'a str,
}

/// The fields of `endpoint.disabled`.
#[derive(Debug, Serialize)]
struct EndpointDisabled<'a> {
    agent_id: &'a str,
    endpoint_id: &'a str,
    url: &'a str,
    reason: &'a str,
}

fn event(event_type: &str, data: &impl Serialize) -> OutboxEvent {
    OutboxEvent {
        id: ids::new(ids::EVENT),
        event_type: event_type.into(),
        // Plain structs of strings, numbers and the report's own types: these
        // serialise; `{}` is only a guard against a future type that cannot.
        data: serde_json::to_string(data).unwrap_or_else(|_| "{}".into()),
    }
}

/// The event a completed dream sends, from its report.
pub fn report_event(dream: &Dream, report: &Report) -> OutboxEvent {
    event(DREAMING_REPORT, &DreamingReport::new(dream, report))
}

/// The event a finished dream sends. A completed dream's stored report is read
/// back as a [`Report`]; the dream runner, which has it typed, calls
/// [`report_event`] instead.
pub fn dream_event(dream: &Dream, outcome: &DreamOutcome) -> OutboxEvent {
    let ended = |event_type, reason: &str| {
        event(
            event_type,
            &DreamEnded {
                agent_id: &dream.agent_id,
                dream_id: &dream.id,
                trigger: &dream.trigger,
                reason,
            },
        )
    };
    match outcome {
        DreamOutcome::Completed { report, .. } => match serde_json::from_str::<Report>(report) {
            Ok(report) => report_event(dream, &report),
            Err(e) => ended(
                DREAM_FAILED,
                &format!("the report could not be read back to send it: {e}"),
            ),
        },
        DreamOutcome::Failed { reason } => ended(DREAM_FAILED, reason),
        DreamOutcome::Skipped { reason } => ended(DREAM_SKIPPED, reason),
    }
}

/// The event an endpoint's disabling sends to the agent's other endpoints.
pub fn endpoint_disabled(endpoint: &Endpoint, reason: &str) -> OutboxEvent {
    event(
        ENDPOINT_DISABLED,
        &EndpointDisabled {
            agent_id: &endpoint.agent_id,
            endpoint_id: &endpoint.id,
            url: &endpoint.url,
            reason,
        },
    )
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

/// A real report for tests: the support bot's golden one.
#[cfg(test)]
pub(crate) fn sample_report() -> Report {
    serde_json::from_str(include_str!(
        "../../../tests/golden/support-bot.report.json"
    ))
    .expect("the golden report is a Report")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dream() -> Dream {
        Dream {
            id: "drm_1".into(),
            trigger: "schedule".into(),
            ..Dream::pending("agt_1", "schedule", 1, 2)
        }
    }

    /// Every field a `dreaming_report` event sends is the report's field of
    /// that name, with the same value: a field renamed or reshaped in the
    /// report, and not here, fails this test (a receiver would get null).
    #[test]
    fn a_report_event_sends_the_reports_own_fields() {
        let report = sample_report();
        // As `GET /v1/dreams/{id}` sends it: serialised text, read back.
        let whole: Value =
            serde_json::from_str(&serde_json::to_string(&report).expect("report json"))
                .expect("report json");
        let event = report_event(&dream(), &report);
        let data: Map<String, Value> = serde_json::from_str(&event.data).expect("event json");
        let from_dream = ["agent_id", "dream_id", "trigger"];
        for (key, value) in &data {
            if from_dream.contains(&key.as_str()) {
                continue;
            }
            let expected = if key == "config_version" {
                &whole["agent"]["config_version"]
            } else {
                &whole[key]
            };
            assert!(
                !expected.is_null(),
                "the event sends `{key}`, which the report does not have"
            );
            assert_eq!(value, expected, "`{key}` differs from the report's");
        }
        assert_eq!(data["dream_id"], "drm_1");
        assert_eq!(data["agent_id"], "agt_1");
        assert!(!data["problems"].as_array().expect("problems").is_empty());
    }

    #[test]
    fn a_stored_report_read_back_sends_the_same_event_as_the_typed_one() {
        let report = sample_report();
        let outcome = DreamOutcome::Completed {
            summary: Default::default(),
            report: serde_json::to_string(&report).expect("json"),
            window_start_ms: None,
            window_end_ms: 2,
        };
        let typed = report_event(&dream(), &report);
        let read_back = dream_event(&dream(), &outcome);
        assert_eq!(read_back.event_type, DREAMING_REPORT);
        assert_eq!(read_back.data, typed.data);
    }

    #[test]
    fn a_failed_dream_and_a_disabled_endpoint_say_why() {
        let failed = dream_event(
            &dream(),
            &DreamOutcome::Failed {
                reason: "the store failed".into(),
            },
        );
        assert_eq!(failed.event_type, DREAM_FAILED);
        let data: Value = serde_json::from_str(&failed.data).expect("json");
        assert_eq!(data["reason"], "the store failed");
        assert_eq!(data["trigger"], "schedule");
    }
}
