//! Report delivery end to end: the real `reverie serve`, real receivers on
//! loopback, signatures checked by an implementation other than ours (Python's
//! standard library), and a kill -9 in the middle of a delivery.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::server::{Server, run};
use crate::common::{REVERIE, toml_path, workspace_root};

#[path = "../support/https_receiver.rs"]
mod https_receiver;
use https_receiver::HttpsReceiver;

#[derive(Debug, Clone)]
pub(crate) struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// A receiver on 127.0.0.1: for each request, the next scripted behaviour
/// (a status, or `None` to hold the connection without answering), then 200s.
pub(crate) struct Receiver {
    pub(crate) url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    pub(crate) fn start(script: Vec<Option<u16>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let url = format!("http://{}/reverie", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let log = log.clone();
                let script = script.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let (mut headers, mut length, mut line) = (Vec::new(), 0, String::new());
                    let _ = reader.read_line(&mut line);
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
                    let next = script
                        .lock()
                        .expect("script")
                        .pop_front()
                        .unwrap_or(Some(200));
                    match next {
                        Some(status) => {
                            let _ = stream.write_all(
                                format!("HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                                    .as_bytes(),
                            );
                        }
                        None => std::thread::sleep(Duration::from_secs(120)),
                    }
                });
            }
        });
        Receiver { url, seen }
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("log").clone()
    }

    pub(crate) fn wait_for(&self, n: usize, server: &Server) -> Vec<Request> {
        let started = Instant::now();
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the receiver saw {} of {n} requests; server stderr:\n{}",
                got.len(),
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const CONFIG: &str = "[webhooks]\nallow_networks = [\"127.0.0.0/8\"]\nretry_schedule = [\"1s\", \"1s\"]\ntimeout = \"20s\"\n";

/// Standard Webhooks verification in Python's standard library: an
/// implementation that shares nothing with ours. Prints the prompt a receiver
/// applies, as the README's receiver does (`apply.system_prompt`), or fails.
const PY_RECEIVER: &str = r#"
import base64, hashlib, hmac, json, sys
secret, msg_id, ts, sig_header, body_path = sys.argv[1:6]
body = open(body_path, "rb").read()
key = base64.b64decode(secret[len("whsec_"):])
expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
if not any(p.partition(",")[2] == expected for p in sig_header.split() if p.startswith("v1,")):
    sys.exit("signature does not verify")
event = json.loads(body)
if event["type"] == "dreaming_report":
    apply = event["apply"]
    if apply["system_prompt"] is not None:
        print(apply["system_prompt"])
"#;

fn python_receives(secret: &str, request: &Request) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("body.json");
    std::fs::write(&body, &request.body).expect("write body");
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(PY_RECEIVER)
        .arg(secret)
        .arg(request.header("webhook-id"))
        .arg(request.header("webhook-timestamp"))
        .arg(request.header("webhook-signature"))
        .arg(&body));
    out.success().trim().to_string()
}

fn import_examples(server: &Server, agent: &str) {
    let data = workspace_root().join("examples/support-bot");
    run(Command::new(REVERIE)
        .args(["import", "--agent", agent, "--no-progress"])
        .arg("--interactions")
        .arg(data.join("interactions.jsonl"))
        .arg("--feedback")
        .arg(data.join("feedback.jsonl"))
        .args(["--url", server.url(), "--api-key", server.admin_key()]))
    .success();
}

fn feedback_secret(server: &Server, agent: &str) -> String {
    let list = server
        .get(&format!("/v1/agents/{agent}/webhooks"))
        .expect(200);
    let endpoint = list["data"]
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["source"] == "feedback_webhook")
        .expect("the feedback_webhook is an endpoint")
        .clone();
    let id = endpoint["id"].as_str().expect("id");
    server
        .get(&format!("/v1/agents/{agent}/webhooks/{id}/secret"))
        .expect(200)["secret"]
        .as_str()
        .expect("secret")
        .to_string()
}

/// The story of the issue: a receiver as the README writes it, verifying with
/// another implementation, takes `apply` and applies it through the API: one
/// new version with exactly the ready edits. It failed twice first; the
/// deliveries list shows it.
#[test]
fn a_report_reaches_the_feedback_webhook_signed_and_the_receiver_applies_the_suggestion() {
    let server = Server::start_with(Some(CONFIG));
    let receiver = Receiver::start(vec![Some(500), Some(502)]);
    let agent = server
        .post(
            "/v1/agents",
            &json!({"name": "trail", "model": "m", "dreaming_enabled": false,
                    "system_prompt": "You are Trail, the support assistant.",
                    "feedback_webhook": receiver.url}),
        )
        .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_string();
    import_examples(&server, &agent);
    let dream = server
        .post(&format!("/v1/agents/{agent}/dreams"), &json!({}))
        .expect(202)["id"]
        .as_str()
        .expect("id")
        .to_string();

    let requests = receiver.wait_for(3, &server);
    let id = requests[0].header("webhook-id");
    assert!(id.starts_with("msg_"), "{id}");
    assert!(
        requests.iter().all(|r| r.header("webhook-id") == id),
        "one id for all three"
    );
    let secret = feedback_secret(&server, &agent);
    let prompt = python_receives(&secret, &requests[2]);
    let body: Value = serde_json::from_slice(&requests[2].body).expect("json");
    assert_eq!(body["type"], "dreaming_report");
    assert_eq!(body["dream_id"], dream.as_str());
    assert!(
        !prompt.is_empty(),
        "the report carries an update_system_prompt suggestion:\n{body:#}"
    );
    server
        .patch(
            &format!("/v1/agents/{agent}"),
            &json!({"system_prompt": prompt}),
        )
        .expect(200);
    assert_eq!(
        server.get(&format!("/v1/agents/{agent}")).expect(200)["config_version"],
        "v2",
        "the receiver's update made a new version"
    );
    // One report, one new version, holding exactly the ready edits.
    let versions = server
        .get(&format!("/v1/agents/{agent}/versions"))
        .expect(200);
    assert_eq!(
        versions["data"].as_array().map(Vec::len),
        Some(2),
        "{versions:#}"
    );
    assert_eq!(body["apply"]["system_prompt"], prompt.as_str());
    let suggestions = body["suggestions"].as_array().expect("suggestions");
    let ready = suggestions
        .iter()
        .filter(|s| s["status"] == "ready")
        .count();
    assert!(ready > 0, "no ready edit in:\n{body:#}");
    for s in suggestions {
        if let Some(text) = s["edit"]["text"].as_str() {
            assert_eq!(
                prompt.contains(text.trim()),
                s["status"] == "ready",
                "the applied prompt holds the ready edits and no other: {s:#}"
            );
        }
    }

    let deliveries = server
        .get(&format!("/v1/agents/{agent}/deliveries"))
        .expect(200);
    let d = &deliveries["data"][0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64()),
        (Some("delivered"), Some(3))
    );
    let statuses: Vec<Value> = d["attempt_log"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(500), json!(502), json!(200)]);
    assert_eq!(d["event_id"], id.as_str());

    // Redelivered on request, with the original id, and it still verifies.
    let again = server
        .request(
            "POST",
            &format!("/v1/deliveries/{}/redeliver", d["id"].as_str().expect("id")),
        )
        .send()
        .expect(202);
    assert_eq!(again["event_id"], id.as_str());
    let requests = receiver.wait_for(4, &server);
    assert_eq!(requests[3].header("webhook-id"), id);
    python_receives(&secret, &requests[3]);
}

/// RELIABILITY 5: a kill -9 while a delivery is in flight loses nothing; after
/// the restart it is sent again with the same id.
#[test]
fn a_kill_9_mid_delivery_is_sent_again_after_the_restart_with_the_same_id() {
    let mut server = Server::start_with(Some(CONFIG));
    // The first request is held unanswered: the server is killed while waiting.
    let receiver = Receiver::start(vec![None]);
    let agent = server.create_agent("durable");
    let created = server
        .post(
            &format!("/v1/agents/{agent}/webhooks"),
            &json!({"url": receiver.url, "events": ["dream.skipped"]}),
        )
        .expect(201);
    let secret = created["secret"].as_str().expect("shown once").to_string();
    // No interactions: the dream is skipped, and that is the event.
    server
        .post(&format!("/v1/agents/{agent}/dreams"), &json!({}))
        .expect(202);
    let first = receiver.wait_for(1, &server);
    server.kill_9();
    server.start_again();
    let requests = receiver.wait_for(2, &server);
    assert_eq!(
        requests[1].header("webhook-id"),
        first[0].header("webhook-id")
    );
    let body: Value = serde_json::from_slice(&requests[1].body).expect("json");
    assert_eq!(body["type"], "dream.skipped");
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("not enough data"))
    );
    python_receives(&secret, &requests[1]);
}

#[test]
fn webhook_urls_that_reach_private_networks_are_refused_at_registration() {
    let server = Server::start(); // no allowance: the guard's defaults
    let agent = server.create_agent("guarded");
    for (url, network) in [
        ("http://127.0.0.1:9/x", "\"127.0.0.0/8\""),
        (
            "http://169.254.169.254/latest/meta-data/",
            "\"169.254.169.254/32\"",
        ),
        ("http://[::ffff:10.0.0.1]/", "\"::ffff:10.0.0.1/128\""),
        // localhost may answer ::1 or 127.0.0.1 first.
        ("http://localhost:8080/", ""),
    ] {
        let reply = server.post(
            &format!("/v1/agents/{agent}/webhooks"),
            &json!({"url": url}),
        );
        assert_eq!(reply.error_fields(), ["url"], "{url}: {}", reply.text);
        let problem = reply.problem(422);
        // The refusal says how an operator lets such a receiver through.
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("add {network}"))
                && message.contains("to [webhooks] allow_networks in the server config"),
            "{url}: {message}"
        );
        let reply = server.patch(
            &format!("/v1/agents/{agent}"),
            &json!({"feedback_webhook": url}),
        );
        assert_eq!(
            reply.error_fields(),
            ["feedback_webhook"],
            "{url}: {}",
            reply.text
        );
    }
    let reply = server.post(
        &format!("/v1/agents/{agent}/webhooks"),
        &json!({"url": "http://1.2.3.4/x", "events": ["dreaming_reprot"]}),
    );
    assert_eq!(reply.error_fields(), ["events[0]"]);
}

/// A database from before webhooks had endpoints: the agent's feedback_webhook
/// gets its endpoint (and a secret) at the next start.
#[test]
fn an_older_feedback_webhook_gets_its_endpoint_at_the_next_start() {
    let mut server = Server::start();
    let agent = server
        .post(
            "/v1/agents",
            &json!({"name": "old", "model": "m", "dreaming_enabled": false,
                    "feedback_webhook": "https://hooks.example.com/reverie"}),
        )
        .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_string();
    server.stop();
    let removed = server
        .open_db()
        .execute(
            "DELETE FROM webhook_endpoints WHERE agent_id = ?1",
            [&agent],
        )
        .expect("delete");
    assert_eq!(removed, 1, "the field made an endpoint");
    server.start_again();
    assert!(
        server
            .startup_lines()
            .iter()
            .any(|l| l.contains("gave 1 agent(s) a webhook endpoint")),
        "{:?}",
        server.startup_lines()
    );
    let list = server
        .get(&format!("/v1/agents/{agent}/webhooks"))
        .expect(200);
    assert_eq!(list["data"][0]["url"], "https://hooks.example.com/reverie");
    assert_eq!(list["data"][0]["source"], "feedback_webhook");
    // Clearing the field removes it.
    server
        .patch(
            &format!("/v1/agents/{agent}"),
            &json!({"feedback_webhook": null}),
        )
        .expect(200);
    let list = server
        .get(&format!("/v1/agents/{agent}/webhooks"))
        .expect(200);
    assert_eq!(list["data"], json!([]));
}

/// Issue 10, defect 1: every real receiver is HTTPS. A receiver whose
/// certificate comes from a private CA gets the report once the operator
/// trusts the CA (`[webhooks] extra_root_certs`); the signature verifies with
/// Python's standard library; and a receiver nobody vouches for is a recorded
/// failure that names the certificate and the setting.
#[test]
fn a_report_reaches_an_https_receiver_whose_ca_the_operator_trusts() {
    let trusted = HttpsReceiver::start(&["localhost", "127.0.0.1"], 200);
    let untrusted = HttpsReceiver::start(&["localhost", "127.0.0.1"], 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("receiver-ca.pem");
    std::fs::write(&ca, &trusted.ca_pem).expect("write the CA");
    let server = Server::start_with(Some(&format!(
        "{CONFIG}extra_root_certs = [{}]\n",
        toml_path(&ca)
    )));
    let agent = server
        .post(
            "/v1/agents",
            &json!({"name": "secure", "model": "m", "dreaming_enabled": false,
                    "system_prompt": "You are Trail, the support assistant.",
                    "feedback_webhook": format!("https://localhost:{}/hooks/reverie", trusted.port)}),
        )
        .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_string();
    server
        .post(
            &format!("/v1/agents/{agent}/webhooks"),
            &json!({"url": format!("https://127.0.0.1:{}/hooks/reverie", untrusted.port)}),
        )
        .expect(201);
    import_examples(&server, &agent);
    server
        .post(&format!("/v1/agents/{agent}/dreams"), &json!({}))
        .expect(202);

    let started = Instant::now();
    while trusted.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the HTTPS receiver got nothing; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = &trusted.requests()[0];
    let request = Request {
        headers: seen.headers.clone(),
        body: seen.body.clone(),
    };
    let prompt = python_receives(&feedback_secret(&server, &agent), &request);
    assert!(!prompt.is_empty(), "a suggestion arrived over TLS");

    // The other endpoint's certificate chains to a CA nobody trusts.
    let failure = loop {
        let deliveries = server
            .get(&format!("/v1/agents/{agent}/deliveries"))
            .expect(200);
        let failed = deliveries["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["last_error"].is_string())
            .cloned();
        if let Some(d) = failed {
            break d;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{deliveries:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let error = failure["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("UnknownIssuer") && error.contains("extra_root_certs"),
        "{error}"
    );
    assert_eq!(
        untrusted.requests().len(),
        0,
        "nothing was sent in clear or unverified"
    );
}
