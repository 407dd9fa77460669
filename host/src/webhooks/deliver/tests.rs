//! Delivery against real HTTP receivers on loopback, a real SQLite store, and a
//! [`ManualClock`] that stands in for the hours a retry schedule spans.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;
use crate::clock::ManualClock;
use crate::store::contract;
use crate::store::sqlite::SqliteStore;
use crate::store::{DeliveryStatus, DreamOutcome, Endpoint, OutboxEvent, PageRequest};
use crate::webhooks::ssrf::Cidr;

const T0: i64 = 1_790_000_000_000;

#[path = "../../../../tests/support/https_receiver.rs"]
mod https_receiver;
use https_receiver::HttpsReceiver;

/// One canned answer: status, extra headers, and a delay before answering.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    delay: Duration,
}

fn answer(status: u16) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        delay: Duration::ZERO,
    }
}

#[derive(Debug, Clone)]
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A receiver on 127.0.0.1 answering from a script (then 200s), recording requests.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(script: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut headers = Vec::new();
                let mut length = 0;
                let mut line = String::new();
                let _ = reader.read_line(&mut line); // request line
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        headers.push((k.to_string(), v.trim().to_string()));
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                log.lock().expect("log").push(Request { headers, body });
                let next = script.lock().expect("script").pop_front();
                let a = next.unwrap_or_else(|| answer(200));
                std::thread::sleep(a.delay);
                let mut text = format!(
                    "HTTP/1.1 {} X\r\nconnection: close\r\ncontent-length: 2\r\n",
                    a.status
                );
                for (k, v) in &a.headers {
                    text.push_str(&format!("{k}: {v}\r\n"));
                }
                text.push_str("\r\nno");
                let _ = stream.write_all(text.as_bytes());
            }
        });
        Receiver { url, seen }
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("log").clone()
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: ManualClock,
    deliverer: Deliverer,
    agent: String,
}

fn policy() -> Policy {
    Policy {
        schedule: DEFAULT_SCHEDULE.to_vec(),
        timeout: Duration::from_millis(800),
        max_response_bytes: 1024,
        disable_after: Duration::from_secs(5 * 86_400),
        thin_above_bytes: 256 << 10,
        public_url: "http://reverie.example".into(),
        lease: Duration::from_secs(60),
        extra_roots: Vec::new(),
    }
}

fn loopback() -> Guard {
    Guard::new(vec!["127.0.0.0/8".parse::<Cidr>().expect("cidr")])
}

impl World {
    fn new(policy: Policy, guard: Guard) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
        let clock = ManualClock::new(T0);
        let agent = contract::agent("hooked");
        store.create_agent(&agent, None, None).expect("agent");
        let deliverer = Deliverer::new(
            store.clone(),
            Arc::new(clock.clone()),
            policy,
            guard,
            "sender".into(),
        )
        .expect("deliverer");
        World {
            _dir: dir,
            store,
            clock,
            deliverer,
            agent: agent.id,
        }
    }

    fn endpoint(&self, url: &str, events: &[&str]) -> (String, Secret) {
        let secret = Secret::generate().expect("secret");
        let endpoint = Endpoint {
            id: crate::ids::new(crate::ids::ENDPOINT),
            agent_id: self.agent.clone(),
            url: url.into(),
            secret: secret.to_text(),
            previous_secret: None,
            previous_expires_ms: None,
            events: events.iter().map(|e| e.to_string()).collect(),
            source: "api".into(),
            created_at_ms: self.clock.now_ms(),
            disabled_at_ms: None,
            disabled_reason: None,
            failing_since_ms: None,
        };
        self.store
            .create_endpoint(&endpoint, None)
            .expect("endpoint");
        (endpoint.id, secret)
    }

    /// A dream finishes with a report: its event goes into the outbox.
    fn report(&self, report: serde_json::Value) -> OutboxEvent {
        let id = crate::ids::new(crate::ids::DREAM);
        self.store
            .create_dream(&contract::dream(&self.agent, &id), None, None)
            .expect("dream");
        let dream = self
            .store
            .claim_dream("worker", self.clock.now_ms(), 60_000, 3)
            .expect("claim")
            .expect("claimed");
        let outcome = DreamOutcome::Completed {
            summary: Default::default(),
            report: report.to_string(),
            window_start_ms: None,
            window_end_ms: 1,
        };
        let event = payload::dream_event(&dream, &outcome);
        assert!(
            self.store
                .finish_dream(
                    &id,
                    "worker",
                    &outcome,
                    std::slice::from_ref(&event),
                    self.clock.now_ms()
                )
                .expect("finish")
        );
        event
    }

    fn deliveries(&self) -> Vec<crate::store::Delivery> {
        self.store
            .list_deliveries(
                &self.agent,
                None,
                None,
                &PageRequest {
                    limit: 100,
                    after: None,
                },
            )
            .expect("list")
            .items
    }

    fn send_due(&self) -> usize {
        self.deliverer.run_once(10).expect("run")
    }
}

/// Whether a request's Standard Webhooks headers sign its body under `secret`
/// (checked at the request's own timestamp).
fn verifies(secret: &Secret, id: &str, timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let ts: i64 = timestamp.parse().expect("webhook-timestamp is a number");
    sign::verify(secret, id, ts, body, signature, ts, 5)
}

/// A real report (the support bot's golden one), as a dream stores it.
fn sample_report() -> serde_json::Value {
    serde_json::to_value(crate::webhooks::payload::sample_report()).expect("a report serialises")
}

/// RELIABILITY 2 and 4: a receiver failing twice sees three requests with one
/// `webhook-id`, fresh timestamps, all verifying; the attempts follow the
/// published schedule.
#[test]
fn a_receiver_that_fails_twice_gets_the_same_event_three_times_on_schedule() {
    let w = World::new(policy(), loopback());
    let receiver = Receiver::start(vec![answer(500), answer(503)]);
    let (_, secret) = w.endpoint(&receiver.url, &["*"]);
    let event = w.report(sample_report());

    assert_eq!(w.send_due(), 1, "the first attempt is immediate");
    let d = &w.deliveries()[0];
    let retry = d.next_attempt_at_ms.expect("a retry is scheduled");
    assert!(
        (T0 + 4_500..=T0 + 5_500).contains(&retry),
        "5 s ±10%: {}",
        retry - T0
    );
    w.clock.set(retry - 1);
    assert_eq!(w.send_due(), 0, "not before its time");
    w.clock.set(retry);
    assert_eq!(w.send_due(), 1);
    let retry2 = w.deliveries()[0].next_attempt_at_ms.expect("retry");
    assert!(
        (retry + 270_000..=retry + 330_000).contains(&retry2),
        "5 min ±10%"
    );
    w.clock.set(retry2);
    assert_eq!(w.send_due(), 1);

    let d = &w.deliveries()[0];
    assert_eq!(
        (d.status, d.attempts, d.last_status),
        (DeliveryStatus::Delivered, 3, Some(200))
    );
    let attempts = w.store.delivery_attempts(&d.id).expect("attempts");
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(500), Some(503), Some(200)]
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    let stamps: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-timestamp"))
        .collect();
    assert_eq!(
        stamps,
        [T0 / 1000, retry / 1000, retry2 / 1000].map(|t| t.to_string()),
        "fresh per attempt"
    );
    for r in &requests {
        assert_eq!(r.header("webhook-id"), event.id, "one id for every attempt");
        assert!(verifies(
            &secret,
            r.header("webhook-id"),
            r.header("webhook-timestamp"),
            r.header("webhook-signature"),
            &r.body
        ));
        assert_eq!(r.body, requests[0].body, "the same body every time");
    }
    // The shape a receiver is written for.
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).expect("json");
    assert_eq!(body["type"], "dreaming_report");
    assert_eq!(body["sequence"], 1);
    assert_eq!(body["agent_id"], w.agent.as_str());
    let report = sample_report();
    assert_eq!(
        body["suggestions"][0]["action"],
        report["suggestions"][0]["action"]
    );
    assert_eq!(
        body["suggestions"][0]["new_prompt"],
        report["suggestions"][0]["new_prompt"]
    );
    assert_eq!(body["problems"], report["problems"]);
}

#[test]
fn retry_after_is_honoured_and_the_last_failure_is_a_dead_letter_that_can_be_redelivered() {
    let mut p = policy();
    p.schedule = vec![Duration::from_secs(5)];
    let w = World::new(p, loopback());
    let retry_after = Answer {
        headers: vec![("retry-after", "120".into())],
        ..answer(429)
    };
    let receiver = Receiver::start(vec![retry_after, answer(500)]);
    w.endpoint(&receiver.url, &["dreaming_report"]);
    let event = w.report(sample_report());
    w.send_due();
    let retry = w.deliveries()[0].next_attempt_at_ms.expect("retry");
    assert_eq!(retry, T0 + 120_000, "Retry-After 120 beats the 5 s step");
    w.clock.set(retry);
    w.send_due();
    let dead = w.deliveries()[0].clone();
    assert_eq!((dead.status, dead.attempts), (DeliveryStatus::Dead, 2));
    assert_eq!(dead.last_error.as_deref(), Some("500: no"));
    let dead_letters = w
        .store
        .list_deliveries(
            &w.agent,
            None,
            Some(DeliveryStatus::Dead),
            &PageRequest {
                limit: 10,
                after: None,
            },
        )
        .expect("list")
        .items;
    assert_eq!(
        dead_letters.iter().map(|d| &d.id).collect::<Vec<_>>(),
        [&dead.id]
    );

    let again = w
        .store
        .redeliver(
            &dead.id,
            &crate::ids::new(crate::ids::DELIVERY),
            w.clock.now_ms(),
        )
        .expect("redeliver");
    assert_eq!(again.event_id, event.id);
    w.send_due();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[2].header("webhook-id"),
        event.id,
        "replay keeps the original id"
    );
    let now = w
        .store
        .get_delivery(&again.id)
        .expect("get")
        .expect("exists");
    assert_eq!(now.status, DeliveryStatus::Delivered);
}

/// 410 disables the endpoint, and the agent's other endpoints hear of it.
#[test]
fn gone_disables_the_endpoint_and_says_so_to_the_others() {
    let w = World::new(policy(), loopback());
    let gone = Receiver::start(vec![answer(410)]);
    let other = Receiver::start(vec![]);
    let (gone_id, _) = w.endpoint(&gone.url, &["*"]);
    w.endpoint(&other.url, &["endpoint.disabled"]);
    w.report(sample_report());
    w.send_due();
    let endpoint = w
        .store
        .get_endpoint(&gone_id)
        .expect("get")
        .expect("exists");
    assert!(endpoint.disabled_at_ms.is_some());
    assert_eq!(
        endpoint.disabled_reason.as_deref(),
        Some("the receiver answered 410 Gone")
    );
    w.send_due();
    let told = other.requests();
    assert_eq!(told.len(), 1, "only the disabling event, not the report");
    let body: serde_json::Value = serde_json::from_slice(&told[0].body).expect("json");
    assert_eq!(
        (body["type"].as_str(), body["endpoint_id"].as_str()),
        (Some("endpoint.disabled"), Some(gone_id.as_str()))
    );
    // A disabled endpoint gets nothing more.
    w.report(sample_report());
    w.send_due();
    assert_eq!(gone.requests().len(), 1);
}

/// RELIABILITY 4: redirects are never followed, whatever they point at.
#[test]
fn a_redirect_is_a_failure_and_is_not_followed() {
    let w = World::new(policy(), loopback());
    let target = Receiver::start(vec![]);
    let redirect = Answer {
        headers: vec![("location", target.url.clone())],
        ..answer(307)
    };
    let receiver = Receiver::start(vec![redirect]);
    w.endpoint(&receiver.url, &["*"]);
    w.report(sample_report());
    w.send_due();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        target.requests().len(),
        0,
        "nothing reached the redirect's target"
    );
    let d = &w.deliveries()[0];
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert!(
        d.last_error
            .as_deref()
            .is_some_and(|e| e.contains("redirects are not followed")),
        "{d:?}"
    );
}

/// RELIABILITY 6: a receiver that sleeps past the timeout is marked and rescheduled in time.
#[test]
fn a_slow_receiver_times_out_and_is_retried() {
    let w = World::new(policy(), loopback());
    let slow = Answer {
        delay: Duration::from_secs(3),
        ..answer(200)
    };
    let receiver = Receiver::start(vec![slow]);
    w.endpoint(&receiver.url, &["*"]);
    w.report(sample_report());
    let started = Instant::now();
    w.send_due();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let d = &w.deliveries()[0];
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert!(
        d.last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{d:?}"
    );
    assert!(d.next_attempt_at_ms.is_some());
}

/// RELIABILITY 8 at connect time: without the loopback allowance nothing is sent.
#[test]
fn a_loopback_receiver_is_refused_at_connect_time_without_the_allowance() {
    let w = World::new(policy(), Guard::default());
    let receiver = Receiver::start(vec![]);
    w.endpoint(&receiver.url, &["*"]);
    w.report(sample_report());
    w.send_due();
    assert_eq!(receiver.requests().len(), 0);
    let d = &w.deliveries()[0];
    assert!(
        d.last_error
            .as_deref()
            .is_some_and(|e| e.contains("loopback")),
        "{d:?}"
    );
    // A name that resolves to loopback is stopped by the resolver the same way.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    w.endpoint(&by_name, &["*"]);
    w.report(sample_report());
    w.clock.advance(3_600_000);
    w.send_due();
    assert_eq!(receiver.requests().len(), 0);
}

/// RELIABILITY 3: during a rotation both secrets sign; after it, only the new one.
#[test]
fn a_rotated_secret_signs_alongside_the_old_one_until_the_overlap_ends() {
    let w = World::new(policy(), loopback());
    let receiver = Receiver::start(vec![]);
    let (id, old) = w.endpoint(&receiver.url, &["*"]);
    let new = Secret::generate().expect("secret");
    w.store
        .rotate_secret(&id, &new.to_text(), T0 + 3_600_000)
        .expect("rotate");
    let event = w.report(sample_report());
    w.send_due();
    w.clock.set(T0 + 3_600_001);
    w.report(sample_report());
    w.send_due();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let verifies = |r: &Request, s: &Secret| {
        verifies(
            s,
            r.header("webhook-id"),
            r.header("webhook-timestamp"),
            r.header("webhook-signature"),
            &r.body,
        )
    };
    assert_eq!(requests[0].header("webhook-id"), event.id);
    assert!(
        verifies(&requests[0], &old) && verifies(&requests[0], &new),
        "both during the overlap"
    );
    assert_eq!(
        requests[0].header("webhook-signature").split(' ').count(),
        2
    );
    assert!(
        verifies(&requests[1], &new) && !verifies(&requests[1], &old),
        "only the new one after"
    );
}

/// RELIABILITY 7: an endpoint failing without a break for the configured period is disabled.
#[test]
fn an_endpoint_failing_without_a_break_is_disabled_after_the_period() {
    let mut p = policy();
    p.disable_after = Duration::from_secs(60);
    let w = World::new(p, loopback());
    let receiver = Receiver::start((0..10).map(|_| answer(500)).collect());
    let (id, _) = w.endpoint(&receiver.url, &["*"]);
    w.report(sample_report());
    w.send_due(); // T0: the run of failures starts
    let retry = w.deliveries()[0].next_attempt_at_ms.expect("retry");
    w.clock.set(retry);
    w.send_due(); // ~5 s in: still within the period
    assert!(
        w.store
            .get_endpoint(&id)
            .expect("get")
            .expect("e")
            .disabled_at_ms
            .is_none()
    );
    let retry = w.deliveries()[0].next_attempt_at_ms.expect("retry");
    w.clock.set(retry); // ~5 min in: past it
    w.send_due();
    let e = w.store.get_endpoint(&id).expect("get").expect("e");
    assert!(e.disabled_at_ms.is_some());
    assert!(
        e.disabled_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("every attempt failed for")),
        "{e:?}"
    );
}

/// RELIABILITY 9: a body above the cap is sent thin, with a link to the report.
#[test]
fn a_large_report_is_sent_thin_with_a_link() {
    let mut p = policy();
    p.thin_above_bytes = 1024;
    let w = World::new(p, loopback());
    let receiver = Receiver::start(vec![]);
    w.endpoint(&receiver.url, &["*"]);
    let mut big = sample_report();
    big["summary"] = serde_json::json!("x".repeat(5000));
    w.report(big);
    w.send_due();
    let body: serde_json::Value =
        serde_json::from_slice(&receiver.requests()[0].body).expect("json");
    assert_eq!(body["thin"], true);
    assert_eq!(body["type"], "dreaming_report");
    let dream = body["dream_id"].as_str().expect("dream id");
    assert_eq!(
        body["url"],
        format!("http://reverie.example/v1/dreams/{dream}")
    );
    assert!(body.get("summary").is_none());
}

/// `policy()` trusting a test CA besides the built-in roots, as
/// `[webhooks] extra_root_certs` does.
fn trusting(ca_pem: &str) -> Policy {
    let roots = RootCerts::from_pem(
        std::path::Path::new("test-ca.pem"),
        ca_pem.as_bytes().to_vec(),
    )
    .expect("the test CA parses");
    Policy {
        extra_roots: vec![roots],
        ..policy()
    }
}

/// Issue 10, defect 1: an HTTPS receiver whose certificate chains to a CA the
/// operator trusts gets the event, signed, over TLS, reached by name through
/// the guarded resolver.
#[test]
fn an_https_receiver_with_a_trusted_ca_gets_the_event() {
    let receiver = HttpsReceiver::start(&["localhost", "127.0.0.1"], 200);
    let w = World::new(trusting(&receiver.ca_pem), loopback());
    let url = format!("https://localhost:{}/hook", receiver.port);
    let (_, secret) = w.endpoint(&url, &["*"]);
    let event = w.report(sample_report());

    assert_eq!(w.send_due(), 1);
    let d = &w.deliveries()[0];
    assert_eq!(
        (d.status, d.last_status, d.last_error.as_deref()),
        (DeliveryStatus::Delivered, Some(200), None),
        "{d:?}"
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.header("webhook-id"), event.id);
    assert!(verifies(
        &secret,
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
        &r.body
    ));
}

/// An HTTPS receiver whose certificate nobody vouches for is a recorded
/// failure naming the certificate, retried on the schedule; nothing is sent.
#[test]
fn an_untrusted_certificate_is_a_recorded_failure() {
    let receiver = HttpsReceiver::start(&["localhost", "127.0.0.1"], 200);
    let w = World::new(policy(), loopback());
    w.endpoint(&format!("https://127.0.0.1:{}/hook", receiver.port), &["*"]);
    w.report(sample_report());

    assert_eq!(w.send_due(), 1);
    let d = &w.deliveries()[0];
    assert_eq!(d.status, DeliveryStatus::Pending, "{d:?}");
    assert!(d.next_attempt_at_ms.is_some(), "a retry is scheduled");
    let error = d.last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("certificate")
            && error.contains("UnknownIssuer")
            && error.contains("[webhooks] extra_root_certs"),
        "{error}"
    );
    assert_eq!(receiver.requests().len(), 0, "no request went over TLS");
    assert_eq!(receiver.accepted(), 1, "the handshake was tried");
    // A certificate for another name is refused the same way, CA trusted or not.
    let other = HttpsReceiver::start(&["receiver.example"], 200);
    let w = World::new(trusting(&other.ca_pem), loopback());
    w.endpoint(&format!("https://localhost:{}/hook", other.port), &["*"]);
    w.report(sample_report());
    w.send_due();
    let error = w.deliveries()[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("not valid for name"), "{error}");
    assert_eq!(other.requests().len(), 0);
}

/// RELIABILITY 30: the SSRF guard applies to TLS connections too: an HTTPS
/// URL whose name resolves to loopback is stopped before any connection.
#[test]
fn an_https_receiver_on_loopback_is_refused_without_the_allowance() {
    let receiver = HttpsReceiver::start(&["localhost", "127.0.0.1"], 200);
    let w = World::new(trusting(&receiver.ca_pem), Guard::default());
    w.endpoint(&format!("https://localhost:{}/hook", receiver.port), &["*"]);
    w.endpoint(&format!("https://127.0.0.1:{}/hook", receiver.port), &["*"]);
    w.report(sample_report());
    assert_eq!(w.send_due(), 2);
    for d in w.deliveries() {
        let error = d.last_error.as_deref().unwrap_or_default();
        assert!(error.contains("loopback"), "{error}");
    }
    assert_eq!(receiver.accepted(), 0, "nothing connected to the receiver");
}

#[test]
fn a_file_without_a_certificate_is_refused_naming_it() {
    let err = RootCerts::from_pem(std::path::Path::new("ca.pem"), b"not a cert".to_vec())
        .expect_err("no certificate");
    assert!(
        err.contains("ca.pem") && err.contains("no PEM certificate"),
        "{err}"
    );
}

/// Every recorded attempt is a log line naming the delivery, the endpoint,
/// the attempt and the receiver's answer, and a count by what it led to.
#[test]
fn each_attempt_is_logged_with_its_delivery_and_counted_by_outcome() {
    use crate::telemetry::logs::capture;
    use crate::telemetry::metrics::{self, sample};

    let before = metrics::render(None).expect("render");
    let mut p = policy();
    p.schedule = vec![Duration::from_secs(5)];
    let w = World::new(p, loopback());
    let recovers = Receiver::start(vec![answer(500)]);
    let fails = Receiver::start(vec![answer(503), answer(503)]);
    let (recovering, _) = w.endpoint(&recovers.url, &["dreaming_report"]);
    let (failing, _) = w.endpoint(&fails.url, &["dreaming_report"]);
    w.report(sample_report());
    let lines = capture::json_lines(|| {
        assert_eq!(w.send_due(), 2);
        w.clock.set(T0 + 10_000);
        assert_eq!(w.send_due(), 2);
    });
    let find = |message: &str, endpoint: &str| {
        lines
            .iter()
            .find(|l| l["message"] == message && l["endpoint_id"] == endpoint)
            .unwrap_or_else(|| panic!("no {message:?} for {endpoint}: {lines:?}"))
            .clone()
    };
    let first = find("webhook attempt failed; it will be retried", &recovering);
    assert_eq!(first["target"], "reverie::webhooks");
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["status"], 500);
    assert_eq!(first["outcome"], "failed");
    assert_eq!(first["event_type"], "dreaming_report");
    assert!(
        first["delivery_id"]
            .as_str()
            .is_some_and(|d| d.starts_with("dlv_")),
        "{first}"
    );
    assert!(first["retry_at"].is_string());
    let delivered = find("webhook delivered", &recovering);
    assert_eq!(
        (delivered["attempt"].clone(), delivered["status"].clone()),
        (2.into(), 200.into())
    );
    let dead = find(
        "webhook delivery dead: no attempt left (redeliver it through the API)",
        &failing,
    );
    assert_eq!(dead["level"], "WARN");
    assert_eq!(dead["attempt"], 2);
    assert_eq!(dead["error"], "503: no");

    let after = metrics::render(None).expect("render");
    let moved = |outcome: &str| {
        let labels = format!("outcome=\"{outcome}\"");
        sample::value(&after, "reverie_webhook_attempts_total", &labels)
            - sample::value(&before, "reverie_webhook_attempts_total", &labels)
    };
    // Other tests of this process deliver too: at least ours.
    assert!(moved("failed") >= 2.0);
    assert!(moved("delivered") >= 1.0);
    assert!(moved("dead") >= 1.0);
}
