//! The Prometheus metrics of `reverie serve`, and the narrow functions that
//! record them.
//!
//! One registry for the process (metrics are about the process, and the dream
//! workers, webhook senders and scheduler run on threads of their own that
//! share nothing else), built on first use with every family registered, so a
//! scrape lists each metric from the start. Labels take only values from small
//! fixed sets: a route *template* (`/v1/agents/{agent_id}`), never a path; an
//! outcome or failure kind, never an id. That keeps the number of series
//! bounded whatever clients send. Outcome counters start at 0 for every
//! outcome; a family with open labels (requests, rule failures) is listed from
//! its first sample.
//!
//! Queue depths are not recorded as things happen: [`render`] takes them, read
//! from the store at scrape time, and leaves them out when the store could not
//! be read (a missing series says more than a stale one).
//!
//! The text is OpenMetrics (`application/openmetrics-text`), which Prometheus
//! scrapes natively; counters carry the `_total` suffix.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The media type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Request latency buckets (seconds): Prometheus's defaults, 5 ms to 10 s.
const HTTP_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Dream duration buckets (seconds): a skipped dream takes milliseconds, a
/// large window minutes.
const DREAM_BUCKETS: [f64; 12] = [
    0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LlmLabels {
    rule: String,
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LlmCallLabels {
    rule: String,
    provider: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LlmTokenLabels {
    rule: String,
    provider: String,
    direction: &'static str,
}

type FloatCounters<L> = Family<L, Counter<f64, AtomicU64>>;

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

fn dream_histogram() -> Histogram {
    Histogram::new(DREAM_BUCKETS)
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RequestLabels>,
    dreams: Family<OutcomeLabels, Counter>,
    dream_seconds: Histograms<OutcomeLabels>,
    rule_failures: Family<KindLabels, Counter>,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    scheduler_slots: Family<OutcomeLabels, Counter>,
    scheduler_lag: Gauge<f64, AtomicU64>,
    connections_open: Gauge,
    connections_cut: Family<ReasonLabels, Counter>,
    llm_calls: Family<LlmCallLabels, Counter>,
    llm_tokens: Family<LlmTokenLabels, Counter>,
    llm_seconds: FloatCounters<LlmLabels>,
    llm_cost: FloatCounters<LlmLabels>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "reverie_http_requests",
        "HTTP requests answered, by method, route template and status",
        requests.clone(),
    );
    let request_seconds: Histograms<RequestLabels> = Family::new_with_constructor(http_histogram);
    registry.register(
        "reverie_http_request_duration_seconds",
        "Time to answer an HTTP request (to the response head), by method, route template and status",
        request_seconds.clone(),
    );
    let dreams = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "reverie_dreams",
        "Dreams finished by a worker, by outcome: completed, skipped, failed, or discarded (the lease was lost)",
        dreams.clone(),
    );
    let dream_seconds: Histograms<OutcomeLabels> = Family::new_with_constructor(dream_histogram);
    registry.register(
        "reverie_dream_duration_seconds",
        "Time a worker spent on one dream, by outcome",
        dream_seconds.clone(),
    );
    let rule_failures = Family::<KindLabels, Counter>::default();
    registry.register(
        "reverie_rule_failures",
        "Rules that failed inside a completed dream, by kind as the report names it (out_of_fuel, timeout, memory_limit, trap, malformed_findings, ...)",
        rule_failures.clone(),
    );
    let webhook_attempts = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "reverie_webhook_attempts",
        "Webhook delivery attempts, by what each led to: delivered, failed (to be retried) or dead (no attempt left, or 410)",
        webhook_attempts.clone(),
    );
    let scheduler_slots = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "reverie_scheduler_slots",
        "Due schedule slots acted on, by outcome: queued, overlap, skipped, moved (another scheduler took it), error",
        scheduler_slots.clone(),
    );
    let scheduler_lag = Gauge::<f64, AtomicU64>::default();
    registry.register(
        "reverie_scheduler_lag_seconds",
        "How late the last slot that queued a dream fired, after its jittered time",
        scheduler_lag.clone(),
    );
    let connections_open = Gauge::default();
    registry.register(
        "reverie_http_connections",
        "Client connections open now",
        connections_open.clone(),
    );
    let connections_cut = Family::<ReasonLabels, Counter>::default();
    registry.register(
        "reverie_http_connections_cut",
        "Client connections the server closed itself, by reason: evicted (the quietest idle one, to make room at the connection cap), refused (at the cap with every connection busy: 503), shutdown (still open when the drain time ran out)",
        connections_cut.clone(),
    );
    let llm_calls = Family::<LlmCallLabels, Counter>::default();
    registry.register(
        "reverie_llm_calls",
        "Language-model calls of rules in completed dreams, by rule, provider and outcome: answered, failed (the provider failed or answered unusably), refused (over a budget, or invalid; nothing was sent)",
        llm_calls.clone(),
    );
    let llm_tokens = Family::<LlmTokenLabels, Counter>::default();
    registry.register(
        "reverie_llm_tokens",
        "Tokens the providers reported for rules' calls, by rule, provider and direction (input, output)",
        llm_tokens.clone(),
    );
    let llm_seconds = FloatCounters::<LlmLabels>::default();
    registry.register(
        "reverie_llm_seconds",
        "Time rules' calls spent waiting for the provider, retries included, by rule and provider",
        llm_seconds.clone(),
    );
    let llm_cost = FloatCounters::<LlmLabels>::default();
    registry.register(
        "reverie_llm_cost",
        "Cost of rules' calls at the prices per token the config gives (in the config's currency), by rule and provider; absent without prices",
        llm_cost.clone(),
    );
    registry.register(
        "reverie_build",
        "The running reverie",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
    );
    // Outcomes from fixed sets start at 0, so a scrape lists them before the
    // first one happens and `rate()` sees the first increase. Requests and
    // rule failures appear at their first sample (their label sets are open).
    for end in [
        DreamEnd::Completed,
        DreamEnd::Skipped,
        DreamEnd::Failed,
        DreamEnd::Discarded,
    ] {
        let _ = dreams.get_or_create(&OutcomeLabels {
            outcome: end.as_str(),
        });
    }
    for end in [AttemptEnd::Delivered, AttemptEnd::Failed, AttemptEnd::Dead] {
        let _ = webhook_attempts.get_or_create(&OutcomeLabels {
            outcome: end.as_str(),
        });
    }
    for outcome in SLOT_OUTCOMES {
        let _ = scheduler_slots.get_or_create(&OutcomeLabels { outcome });
    }
    for reason in CUT_REASONS {
        let _ = connections_cut.get_or_create(&ReasonLabels { reason });
    }
    Metrics {
        registry,
        requests,
        request_seconds,
        dreams,
        dream_seconds,
        rule_failures,
        webhook_attempts,
        scheduler_slots,
        scheduler_lag,
        connections_open,
        connections_cut,
        llm_calls,
        llm_tokens,
        llm_seconds,
        llm_cost,
    }
});

/// An HTTP method as a label: the standard ones by name, anything else
/// `other` (a client must not mint series by inventing methods).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// One answered request. `route` is the matched template, or `unmatched`.
pub fn http_request(method: &'static str, route: &str, status: u16, elapsed: Duration) {
    let labels = RequestLabels {
        method,
        route: route.to_string(),
        status,
    };
    METRICS.requests.get_or_create(&labels).inc();
    METRICS
        .request_seconds
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
}

/// How a worker's dream ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DreamEnd {
    Completed,
    Skipped,
    Failed,
    /// The worker lost its lease: its outcome was not stored.
    Discarded,
}

impl DreamEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            DreamEnd::Completed => "completed",
            DreamEnd::Skipped => "skipped",
            DreamEnd::Failed => "failed",
            DreamEnd::Discarded => "discarded",
        }
    }
}

/// A dream a worker finished.
pub fn dream_finished(end: DreamEnd, elapsed: Duration) {
    let labels = OutcomeLabels {
        outcome: end.as_str(),
    };
    METRICS.dreams.get_or_create(&labels).inc();
    METRICS
        .dream_seconds
        .get_or_create(&labels)
        .observe(elapsed.as_secs_f64());
}

/// A rule that failed in a dream; `kind` is the report's name for the failure.
pub fn rule_failed(kind: &str) {
    METRICS
        .rule_failures
        .get_or_create(&KindLabels {
            kind: kind.to_string(),
        })
        .inc();
}

/// A rule's use of a language model in one completed dream.
pub fn llm_used(rule: &str, usage: &crate::llm::UsageReport) {
    let labels = LlmLabels {
        rule: rule.to_string(),
        provider: usage.provider.clone(),
    };
    for (outcome, n) in [
        ("answered", usage.answered),
        ("failed", usage.failed),
        ("refused", usage.refused),
    ] {
        METRICS
            .llm_calls
            .get_or_create(&LlmCallLabels {
                rule: labels.rule.clone(),
                provider: labels.provider.clone(),
                outcome,
            })
            .inc_by(u64::from(n));
    }
    for (direction, n) in [
        ("input", usage.spent.input_tokens),
        ("output", usage.spent.output_tokens),
    ] {
        METRICS
            .llm_tokens
            .get_or_create(&LlmTokenLabels {
                rule: labels.rule.clone(),
                provider: labels.provider.clone(),
                direction,
            })
            .inc_by(n);
    }
    METRICS
        .llm_seconds
        .get_or_create(&labels)
        .inc_by(usage.spent.time_ms as f64 / 1000.0);
    if let Some(cost) = usage.cost {
        METRICS.llm_cost.get_or_create(&labels).inc_by(cost);
    }
}

/// What one webhook attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    Delivered,
    /// Failed; another attempt is scheduled.
    Failed,
    /// Failed with no attempt left, or the receiver answered 410.
    Dead,
}

impl AttemptEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptEnd::Delivered => "delivered",
            AttemptEnd::Failed => "failed",
            AttemptEnd::Dead => "dead",
        }
    }
}

/// One recorded webhook attempt.
pub fn webhook_attempt(end: AttemptEnd) {
    METRICS
        .webhook_attempts
        .get_or_create(&OutcomeLabels {
            outcome: end.as_str(),
        })
        .inc();
}

/// The outcomes of a due slot, as [`scheduler_slot`] names them.
pub const SLOT_OUTCOMES: [&str; 5] = ["queued", "overlap", "skipped", "moved", "error"];

/// One due slot the scheduler acted on: one of [`SLOT_OUTCOMES`].
pub fn scheduler_slot(outcome: &'static str) {
    METRICS
        .scheduler_slots
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

/// How late a slot that queued a dream fired, after its jittered time.
pub fn scheduler_lag(late: Duration) {
    METRICS.scheduler_lag.set(late.as_secs_f64());
}

/// Why the server closed a client connection, as [`connection_cut`] names it.
pub const CUT_REASONS: [&str; 3] = ["evicted", "refused", "shutdown"];

/// The listener closed `n` connections for `reason`, one of [`CUT_REASONS`].
pub fn connection_cut(reason: &'static str, n: u64) {
    METRICS
        .connections_cut
        .get_or_create(&ReasonLabels { reason })
        .inc_by(n);
}

/// Client connections open now.
pub fn connections_open(n: usize) {
    METRICS
        .connections_open
        .set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// Work waiting, read from the store at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Queues {
    pub dreams_pending: u64,
    pub dreams_running: u64,
    pub deliveries_pending: u64,
}

/// The whole exposition: every metric, then the queue depths when known.
pub fn render(queues: Option<Queues>) -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    encode_registry(&mut text, &METRICS.registry)?;
    if let Some(queues) = queues {
        let mut depths = Registry::default();
        for (name, help, value) in [
            (
                "reverie_dreams_pending",
                "Dreams waiting for a worker",
                queues.dreams_pending,
            ),
            (
                "reverie_dreams_running",
                "Dreams a worker holds now",
                queues.dreams_running,
            ),
            (
                "reverie_webhook_deliveries_pending",
                "Webhook deliveries not yet delivered or dead (due now or waiting for a retry)",
                queues.deliveries_pending,
            ),
        ] {
            let gauge = Gauge::<i64>::default();
            gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
            depths.register(name, help, gauge);
        }
        encode_registry(&mut text, &depths)?;
    }
    encode_eof(&mut text)?;
    Ok(text)
}

#[cfg(test)]
pub(crate) mod sample {
    //! Reading one sample back out of a rendered exposition, for tests.

    /// The value of the sample `name{labels}` (labels exactly as rendered,
    /// e.g. `outcome="completed"`), or 0 when there is none yet.
    pub fn value(text: &str, name: &str, labels: &str) -> f64 {
        let prefix = if labels.is_empty() {
            format!("{name} ")
        } else {
            format!("{name}{{{labels}}} ")
        };
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_and_samples_move() {
        let before = render(None).expect("render");
        for name in [
            "reverie_dreams",
            "reverie_webhook_attempts",
            "reverie_scheduler_slots",
            "reverie_scheduler_lag_seconds",
            "reverie_build",
        ] {
            assert!(
                before.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{before}"
            );
        }
        assert!(before.ends_with("# EOF\n"), "{before}");
        assert!(before.contains("reverie_dreams_total{outcome=\"discarded\"} "));
        assert!(before.contains("reverie_scheduler_slots_total{outcome=\"moved\"} "));
        assert!(
            !before.contains("reverie_dreams_pending"),
            "no queues given"
        );

        rule_failed("out_of_fuel");
        webhook_attempt(AttemptEnd::Dead);
        let after = render(Some(Queues {
            dreams_pending: 3,
            dreams_running: 1,
            deliveries_pending: 7,
        }))
        .expect("render");
        assert!(
            after.contains("# TYPE reverie_rule_failures counter"),
            "listed from its first sample:\n{after}"
        );
        let moved = |name, labels| {
            sample::value(&after, name, labels) - sample::value(&before, name, labels)
        };
        // Other tests of this process record too: at least ours moved it.
        assert!(moved("reverie_rule_failures_total", "kind=\"out_of_fuel\"") >= 1.0);
        assert!(moved("reverie_webhook_attempts_total", "outcome=\"dead\"") >= 1.0);
        assert_eq!(sample::value(&after, "reverie_dreams_pending", ""), 3.0);
        assert_eq!(sample::value(&after, "reverie_dreams_running", ""), 1.0);
        assert_eq!(
            sample::value(&after, "reverie_webhook_deliveries_pending", ""),
            7.0
        );
        assert_eq!(
            after.matches("# EOF").count(),
            1,
            "one end marker after both registries"
        );
    }

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
    }

    #[test]
    fn a_rules_use_of_a_model_is_counted_by_rule_provider_and_outcome() {
        let usage = crate::llm::UsageReport {
            provider: "local".into(),
            model: "qwen".into(),
            answered: 3,
            failed: 1,
            refused: 2,
            spent: crate::llm::budget::Spent {
                calls: 4,
                input_tokens: 1_200,
                output_tokens: 90,
                time_ms: 2_500,
            },
            budget: crate::llm::budget::Limits::default(),
            cost: Some(0.25),
            redactions: 0,
            budget_exhausted: None,
            last_error: None,
        };
        let labels = r#"rule="metrics-test-rule",provider="local""#;
        let read = |text: &str, name: &str, extra: &str| {
            sample::value(text, name, &format!("{labels}{extra}"))
        };
        let before = render(None).expect("render");
        llm_used("metrics-test-rule", &usage);
        let after = render(None).expect("render");
        let grew = |name: &str, extra: &str| read(&after, name, extra) - read(&before, name, extra);
        assert_eq!(
            grew("reverie_llm_calls_total", r#",outcome="answered""#),
            3.0
        );
        assert_eq!(grew("reverie_llm_calls_total", r#",outcome="failed""#), 1.0);
        assert_eq!(
            grew("reverie_llm_calls_total", r#",outcome="refused""#),
            2.0
        );
        assert_eq!(
            grew("reverie_llm_tokens_total", r#",direction="input""#),
            1_200.0
        );
        assert_eq!(
            grew("reverie_llm_tokens_total", r#",direction="output""#),
            90.0
        );
        assert_eq!(grew("reverie_llm_seconds_total", ""), 2.5);
        assert_eq!(grew("reverie_llm_cost_total", ""), 0.25);
    }
}
