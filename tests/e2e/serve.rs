//! `reverie serve` end to end: the real binary on loopback, a fresh data directory per test,
//! driven over HTTP and through the `reverie import` and `reverie keys` commands as a team
//! would drive it.
//!
//! Each test tells one story: the first start and its admin key, an agent's whole journey to a
//! dream report, scoped keys, all-or-nothing batches, idempotent retries, a kill -9 in the
//! middle of a stream of writes, and pagination. Run with `--nocapture` to see the durability
//! figures.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::reverie;
use crate::common::server::{Server, run, shared_cache};

/// How long a dream over the example dataset may take on the server.
const DREAM_LIMIT: Duration = Duration::from_secs(120);

fn support_bot() -> (PathBuf, PathBuf) {
    let data = crate::common::workspace_root().join("examples/support-bot");
    (data.join("interactions.jsonl"), data.join("feedback.jsonl"))
}

/// A small interaction in the input format, with `id`, `n` seconds into 2026-11-01.
fn interaction(id: &str, n: u64) -> Value {
    json!({
        "id": id,
        "session_id": format!("ses_{id}"),
        "timestamp": format!("2026-11-01T{:02}:{:02}:{:02}Z", (n / 3600) % 24, (n / 60) % 60, n % 60),
        "messages": [
            {"role": "system", "content": "You are a support bot for an online shop."},
            {"role": "user", "content": format!("where is my order {n}?")},
            {"role": "assistant", "content": format!("Your order {n} has shipped.")}
        ],
        "metadata": {"channel": "chat"}
    })
}

/// Every interaction id of an agent, paging through the list 100 at a time.
fn interaction_ids(server: &Server, agent: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/agents/{agent}/interactions?limit=100&cursor={c}"),
            None => format!("/v1/agents/{agent}/interactions?limit=100"),
        };
        let page = server.get(&path).expect(200);
        for item in page["data"].as_array().expect("a list has `data`") {
            ids.push(item["id"].as_str().expect("an interaction id").to_string());
        }
        if page["has_more"] != true {
            return ids;
        }
        cursor = Some(
            page["next_cursor"]
                .as_str()
                .expect("a page with more has a next_cursor")
                .to_string(),
        );
    }
}

/// Whether the agent has interaction `id` (200), or not (404); anything else fails.
fn has_interaction(server: &Server, agent: &str, id: &str) -> bool {
    let reply = server.get(&format!("/v1/agents/{agent}/interactions/{id}"));
    match reply.status {
        200 => true,
        404 => {
            reply.problem(404);
            false
        }
        other => panic!("GET interaction {id} answered {other}:\n{}", reply.text),
    }
}

/// Poll a dream until it leaves `pending` and `running`.
fn wait_for_dream(server: &Server, dream: &str) -> Value {
    let started = Instant::now();
    loop {
        let body = server.get(&format!("/v1/dreams/{dream}")).expect(200);
        match body["status"].as_str() {
            Some("pending" | "running") => {}
            Some(_) => return body,
            None => panic!("the dream has no status:\n{body:#}"),
        }
        assert!(
            started.elapsed() < DREAM_LIMIT,
            "dream {dream} did not finish within {DREAM_LIMIT:?}; last seen:\n{body:#}\nserver stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pattern_keys(report: &Value) -> BTreeSet<String> {
    report["problems"]
        .as_array()
        .expect("a report has `problems`")
        .iter()
        .map(|p| p["key"].as_str().expect("a problem has a key").to_string())
        .collect()
}

// ---- 1. the first start ----

#[test]
fn the_first_start_prints_an_admin_key_once_and_a_second_server_is_refused() {
    let mut server = Server::start();
    let key = server.admin_key().to_string();
    assert!(
        key.starts_with("rvk_") && key.len() > 60,
        "the admin key does not look like one: {key:?}"
    );
    // Whatever the wording around it, the start showed one key: this one.
    let startup = server.startup_lines().join("\n");
    let shown: BTreeSet<&str> = startup
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("rvk_"))
        .collect();
    assert_eq!(
        shown,
        BTreeSet::from([key.as_str()]),
        "the first start should show exactly one key:\n{startup}"
    );

    // The key opens the API; no key, a garbage key or a forged secret do not.
    server.get("/v1/agents").expect(200);
    let missing = server.request("GET", "/v1/agents").no_key().send();
    let problem = missing.problem(401);
    assert!(
        missing
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "a 401 should say how to authenticate (WWW-Authenticate: Bearer); headers: {:?}",
        missing.headers
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Bearer")),
        "the 401 should tell the caller how to send a key: {problem:#}"
    );
    server
        .request("GET", "/v1/agents")
        .key("not-a-key")
        .send()
        .problem(401);
    let last = key.chars().last().expect("a key is not empty");
    let forged = format!(
        "{}{}",
        &key[..key.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    server
        .request("GET", "/v1/agents")
        .key(&forged)
        .send()
        .problem(401);

    // A second server on the same data directory is refused, naming the lock, and the first
    // one keeps serving.
    let second = run(&mut server.serve_command());
    let stderr = second.failure();
    assert!(
        stderr.contains("in use by another reverie process") && stderr.contains("reverie.db.lock"),
        "the second server's error should say the data directory is in use and name the lock:\n{stderr}"
    );
    assert!(
        !second.stdout.contains("rvk_"),
        "the refused server printed a key:\n{}",
        second.stdout
    );
    server.get("/v1/agents").expect(200);

    // After a restart no key is printed, and the first one still works.
    server.restart();
    assert_eq!(
        server.printed_key(),
        None,
        "a restart printed a new key:\n{}",
        server.startup_lines().join("\n")
    );
    assert!(
        server.startup_lines().iter().all(|l| !l.contains("rvk_")),
        "a restart showed a key:\n{}",
        server.startup_lines().join("\n")
    );
    server.get("/v1/agents").expect(200);
}

// ---- 2. the whole journey ----

#[test]
fn an_agent_goes_from_creation_through_import_to_a_dream_report() {
    let (interactions, feedback) = support_bot();
    // The offline report over the same files, computed while the server works.
    let offline = {
        let (interactions, feedback) = (interactions.clone(), feedback.clone());
        std::thread::spawn(move || {
            let done = run(reverie()
                .arg("dream")
                .arg("--interactions")
                .arg(&interactions)
                .arg("--feedback")
                .arg(&feedback)
                .args(["--format", "json", "--no-progress"])
                .arg("--cache-dir")
                .arg(shared_cache()));
            let report: Value =
                serde_json::from_str(done.success()).expect("the offline report is JSON");
            report
        })
    };

    let server = Server::start();
    // The prompt the logs were served with (the system message of the last line).
    let text = std::fs::read_to_string(&interactions).expect("read the example interactions");
    let last: Value = serde_json::from_str(text.lines().last().expect("a last line"))
        .expect("the last line is JSON");
    let prompt = last["messages"][0]["content"]
        .as_str()
        .expect("the last interaction starts with the system prompt")
        .to_string();

    let created = server
        .post(
            "/v1/agents",
            &json!({
                "name": "Trail",
                "model": "gpt-4o-mini",
                "system_prompt": prompt,
                "dreaming_enabled": false,
                "dreaming_frequency": "0 3 * * *",
                "timezone": "Europe/Berlin",
                "feedback_webhook": "https://hooks.example.com/reverie"
            }),
        )
        .expect(201);
    let agent = created["id"].as_str().expect("an agent id").to_string();
    assert!(agent.starts_with("agt_"), "agent id {agent}");
    for (field, expected) in [
        ("name", json!("Trail")),
        ("model", json!("gpt-4o-mini")),
        ("system_prompt", json!(prompt)),
        ("config_version", json!("v1")),
        ("dreaming_enabled", json!(false)),
        ("dreaming_frequency", json!("0 3 * * *")),
        ("timezone", json!("Europe/Berlin")),
        (
            "feedback_webhook",
            json!("https://hooks.example.com/reverie"),
        ),
    ] {
        assert_eq!(
            created[field], expected,
            "the created agent's {field}:\n{created:#}"
        );
    }
    let path = format!("/v1/agents/{agent}");
    assert_eq!(
        server.get(&path).expect(200),
        created,
        "reading the agent back"
    );
    let list = server.get("/v1/agents").expect(200);
    assert_eq!(
        list["data"],
        json!([created]),
        "the list holds the one agent"
    );

    // A new prompt is a new config version; other changes are not.
    let fixed = format!(
        "{prompt}\n\n## Order numbers\n- Order numbers are digits only: strip a leading '#'."
    );
    let v2 = server
        .patch(&path, &json!({"system_prompt": fixed}))
        .expect(200);
    assert_eq!(v2["config_version"], "v2", "{v2:#}");
    assert_eq!(v2["system_prompt"], json!(fixed));
    let renamed = server
        .patch(
            &path,
            &json!({"name": "Trail (EU)", "dreaming_frequency": "daily"}),
        )
        .expect(200);
    assert_eq!(
        renamed["config_version"], "v2",
        "renaming made a new version: {renamed:#}"
    );
    assert_eq!(renamed["name"], "Trail (EU)");
    assert_eq!(renamed["system_prompt"], json!(fixed));
    let versions = server.get(&format!("{path}/versions")).expect(200);
    let summary: Vec<(Value, Value, Value)> = versions["data"]
        .as_array()
        .expect("versions list")
        .iter()
        .map(|v| {
            (
                v["version"].clone(),
                v["live"].clone(),
                v["system_prompt"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("v2"), json!(true), json!(fixed)),
            (json!("v1"), json!(false), json!(prompt)),
        ],
        "versions, newest first"
    );
    // Roll back to v1.
    let rolled = server
        .request("POST", &format!("{path}/versions/v1/activate"))
        .send()
        .expect(200);
    assert_eq!(rolled["config_version"], "v1", "{rolled:#}");
    assert_eq!(rolled["system_prompt"], json!(prompt));
    let now = server.get(&path).expect(200);
    assert_eq!(now["config_version"], "v1");
    assert_eq!(now["system_prompt"], json!(prompt));
    let versions = server.get(&format!("{path}/versions")).expect(200);
    assert_eq!(versions["data"][0]["live"], false, "v2 is no longer live");
    assert_eq!(versions["data"][1]["live"], true, "v1 is live again");

    // Import the example logs with the CLI.
    let import = run(reverie()
        .arg("import")
        .args(["--agent", &agent])
        .arg("--interactions")
        .arg(&interactions)
        .arg("--feedback")
        .arg(&feedback)
        .args(["--url", server.url(), "--api-key", server.admin_key()])
        .arg("--no-progress"));
    let out = import.success();
    assert!(
        out.contains(&format!(
            "imported 2400 interactions and 445 feedback into {agent}"
        )),
        "import summary: {out}"
    );
    assert_eq!(
        interaction_ids(&server, &agent).len(),
        2400,
        "the server holds every imported interaction"
    );

    // Dream over everything.
    let asked = server
        .post(
            &format!("{path}/dreams"),
            &json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .expect(202);
    assert_eq!(asked["status"], "pending", "{asked:#}");
    let dream_id = asked["id"].as_str().expect("a dream id").to_string();
    let dream = wait_for_dream(&server, &dream_id);
    assert_eq!(
        dream["status"],
        "completed",
        "the dream did not complete:\n{dream:#}\nserver stderr:\n{}",
        server.stderr()
    );
    let report = &dream["report"];
    assert_eq!(report["schema"], "reverie.report/v2");
    assert_eq!(
        report["window"]["interactions"], 2400,
        "{:#}",
        report["window"]
    );

    // The same cycle code, the same findings as `reverie dream` over the files.
    let offline = offline.join().expect("the offline dream thread");
    assert_eq!(offline["window"]["interactions"], 2400);
    let (served, local) = (pattern_keys(report), pattern_keys(&offline));
    assert!(!served.is_empty(), "the dream found no problems");
    assert_eq!(
        served, local,
        "the server's dream and the offline dream found different patterns"
    );

    // The dream is listed with a summary.
    let listed = server.get(&format!("{path}/dreams")).expect(200);
    let entry = listed["data"]
        .as_array()
        .expect("dreams list")
        .iter()
        .find(|d| d["id"] == dream_id.as_str())
        .unwrap_or_else(|| panic!("the dream is not listed:\n{listed:#}"))
        .clone();
    assert_eq!(entry["status"], "completed");
    assert!(
        entry["summary"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "the listed dream has no summary text:\n{entry:#}"
    );
    assert_eq!(entry["summary"]["interactions"], 2400);
    assert_eq!(entry["summary"]["problems"], json!(served.len()));
    assert!(
        entry.get("report").is_none(),
        "the list carries whole reports:\n{entry:#}"
    );

    // Nothing new since: the next dream is skipped, and says why.
    let again = server
        .post(&format!("{path}/dreams"), &json!({}))
        .expect(202);
    let again = wait_for_dream(&server, again["id"].as_str().expect("a dream id"));
    assert_eq!(again["status"], "skipped", "{again:#}");
    assert!(
        again["error"]
            .as_str()
            .is_some_and(|e| e.contains("not enough data")),
        "a skipped dream should say there is not enough data:\n{again:#}"
    );
}

// ---- 3. scoped keys ----

#[test]
fn a_scoped_key_sees_only_its_agent_until_it_is_revoked() {
    let mut server = Server::start();
    let a = server.create_agent("storefront");
    let b = server.create_agent("warehouse");
    // B has an interaction and a dream of its own.
    server
        .post(
            &format!("/v1/agents/{b}/interactions"),
            &interaction("b-1", 1),
        )
        .expect(201);
    let b_dream = server
        .post(&format!("/v1/agents/{b}/dreams"), &json!({}))
        .expect(202)["id"]
        .as_str()
        .expect("a dream id")
        .to_string();

    let created = run(reverie()
        .args(["keys", "create", "--name", "storefront-team", "--agent", &a])
        .args(["--url", server.url(), "--api-key", server.admin_key()]));
    let scoped = created.success().trim().to_string();
    assert!(
        scoped.starts_with("rvk_"),
        "keys create should print the key alone on stdout: {scoped:?}"
    );
    let key_id = created
        .stderr
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .unwrap_or_else(|| panic!("keys create did not name the key id:\n{}", created.stderr))
        .to_string();
    assert!(
        created.stderr.contains(&format!("agent {a}")),
        "keys create should say which agent the key is for:\n{}",
        created.stderr
    );

    // Its own agent: readable and writable.
    let as_scoped =
        |server: &Server, method: &str, path: &str| server.request(method, path).key(&scoped);
    as_scoped(&server, "GET", &format!("/v1/agents/{a}"))
        .send()
        .expect(200);
    as_scoped(&server, "POST", &format!("/v1/agents/{a}/interactions"))
        .json(&interaction("a-1", 1))
        .send()
        .expect(201);
    as_scoped(&server, "GET", &format!("/v1/agents/{a}/interactions/a-1"))
        .send()
        .expect(200);
    let listed = as_scoped(&server, "GET", "/v1/agents").send().expect(200);
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("agents list")
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert_eq!(ids, vec![a.as_str()], "a scoped key lists only its agent");

    // Another agent does not exist for it.
    for (method, path, body) in [
        ("GET", format!("/v1/agents/{b}"), None),
        (
            "PATCH",
            format!("/v1/agents/{b}"),
            Some(json!({"name": "mine now"})),
        ),
        ("GET", format!("/v1/agents/{b}/versions"), None),
        ("GET", format!("/v1/agents/{b}/interactions"), None),
        ("GET", format!("/v1/agents/{b}/interactions/b-1"), None),
        (
            "POST",
            format!("/v1/agents/{b}/interactions"),
            Some(interaction("b-2", 2)),
        ),
        (
            "POST",
            format!("/v1/agents/{b}/feedback"),
            Some(json!({"interaction_id": "b-1", "rating": "negative"})),
        ),
        ("GET", format!("/v1/agents/{b}/dreams"), None),
        ("POST", format!("/v1/agents/{b}/dreams"), Some(json!({}))),
        ("GET", format!("/v1/dreams/{b_dream}"), None),
    ] {
        let mut call = as_scoped(&server, method, &path);
        if let Some(body) = &body {
            call = call.json(body);
        }
        let reply = call.send();
        let problem = reply.problem(404);
        assert!(
            !problem.to_string().contains("warehouse"),
            "the 404 leaks the other agent's details: {problem:#}"
        );
    }
    // Admin-only things are forbidden, not hidden.
    as_scoped(&server, "POST", "/v1/agents")
        .json(&json!({"name": "rogue", "model": "m"}))
        .send()
        .problem(403);
    as_scoped(&server, "GET", "/v1/api-keys")
        .send()
        .problem(403);
    // Nothing the scoped key tried reached B.
    let b_now = server.get(&format!("/v1/agents/{b}")).expect(200);
    assert_eq!(b_now["name"], "warehouse");
    assert_eq!(interaction_ids(&server, &b), vec!["b-1".to_string()]);
    assert_eq!(
        server.get("/v1/agents").expect(200)["data"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "no agent was created by the scoped key"
    );

    // Revoked: 401 from then on.
    let revoked = run(reverie().args(["keys", "revoke", &key_id]).args([
        "--url",
        server.url(),
        "--api-key",
        server.admin_key(),
    ]));
    assert!(
        revoked.success().contains("REVOKED"),
        "keys revoke should show the key as revoked:\n{}",
        revoked.stdout
    );
    let after = as_scoped(&server, "GET", &format!("/v1/agents/{a}")).send();
    let problem = after.problem(401);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("revoked")),
        "{problem:#}"
    );

    // A rescue key straight into the data directory: refused while the server runs...
    let data_dir = server.data_dir();
    let rescue = || {
        run(reverie()
            .args(["keys", "create", "--name", "rescue", "--data-dir"])
            .arg(&data_dir))
    };
    let refused = rescue();
    assert!(
        refused
            .failure()
            .contains("in use by another reverie process"),
        "keys create --data-dir on a running server's directory should be refused naming the lock:\n{}",
        refused.stderr
    );
    // ... and made while it is stopped.
    server.stop();
    // Keys are stored only as hashes: no secret is anywhere in the database files.
    for file in ["reverie.db", "reverie.db-wal"] {
        let bytes = std::fs::read(data_dir.join(file)).unwrap_or_default();
        for token in [server.admin_key(), scoped.as_str()] {
            let secret = token.rsplit('_').next().expect("a key has a secret part");
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{file} holds a key's secret in clear"
            );
        }
    }
    let made = rescue();
    let rescue_key = made
        .success()
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("rvk_"))
        .unwrap_or_else(|| panic!("keys create --data-dir printed no key:\n{}", made.stdout))
        .to_string();
    server.restart();
    assert_eq!(server.printed_key(), None, "a restart printed a key");
    let seen = server
        .request("GET", "/v1/agents")
        .key(&rescue_key)
        .send()
        .expect(200);
    assert_eq!(
        seen["data"].as_array().map(Vec::len),
        Some(2),
        "the rescue key is an admin key"
    );
    // The revocation survived the restart, and the list shows it.
    as_scoped(&server, "GET", &format!("/v1/agents/{a}"))
        .send()
        .problem(401);
    let list = run(reverie().args(["keys", "list"]).args([
        "--url",
        server.url(),
        "--api-key",
        &rescue_key,
    ]));
    let lines = list.success();
    let line = lines
        .lines()
        .find(|l| l.contains(&key_id))
        .unwrap_or_else(|| panic!("keys list does not show {key_id}:\n{lines}"));
    assert!(
        line.contains("REVOKED") && line.contains(&a),
        "keys list should show the scoped key as revoked:\n{lines}"
    );
    assert_eq!(
        lines.lines().filter(|l| l.contains("REVOKED")).count(),
        1,
        "only one key is revoked:\n{lines}"
    );
    assert_eq!(lines.lines().count(), 3, "admin, scoped, rescue:\n{lines}");
}

// ---- 4. batches are all-or-nothing ----

#[test]
fn a_bad_batch_stores_nothing_and_names_the_bad_item() {
    let server = Server::start_with(Some("[server]\nmax_body_kib = 64\n"));
    let agent = server.create_agent("batches");
    let batch_path = format!("/v1/agents/{agent}/interactions/batch");

    // Item 3 has a message with a role that does not exist.
    let mut items: Vec<Value> = (0..5)
        .map(|i| interaction(&format!("bad-batch-{i}"), i))
        .collect();
    items[3]["messages"][0]["role"] = json!("robot");
    let reply = server.post(&batch_path, &json!({"interactions": items}));
    reply.problem(422);
    assert_eq!(
        reply.error_fields(),
        vec!["interactions[3].messages[0].role".to_string()],
        "{}",
        reply.text
    );
    for i in 0..5 {
        assert!(
            !has_interaction(&server, &agent, &format!("bad-batch-{i}")),
            "item {i} of a refused batch was stored"
        );
    }

    // An id the agent already has: 409 naming the item; the rest are not stored.
    server
        .post(
            &format!("/v1/agents/{agent}/interactions"),
            &interaction("existing", 1),
        )
        .expect(201);
    let reply = server.post(
        &batch_path,
        &json!({"interactions": [interaction("fresh-a", 2), interaction("existing", 3), interaction("fresh-b", 4)]}),
    );
    reply.problem(409);
    assert_eq!(
        reply.error_fields(),
        vec!["interactions[1].id".to_string()],
        "{}",
        reply.text
    );
    assert!(!has_interaction(&server, &agent, "fresh-a"));
    assert!(!has_interaction(&server, &agent, "fresh-b"));
    // The same id twice in one batch: 422 naming the second.
    let reply = server.post(
        &batch_path,
        &json!({"interactions": [interaction("twice", 5), interaction("twice", 6)]}),
    );
    reply.problem(422);
    assert_eq!(reply.error_fields(), vec!["interactions[1].id".to_string()]);
    assert!(!has_interaction(&server, &agent, "twice"));

    // Feedback on an interaction the agent does not have: 422 naming it, nothing stored.
    let reply = server.post(
        &format!("/v1/agents/{agent}/feedback/batch"),
        &json!({"feedback": [
            {"interaction_id": "existing", "rating": "positive"},
            {"interaction_id": "no-such-interaction", "rating": "negative"}
        ]}),
    );
    reply.problem(422);
    assert_eq!(
        reply.error_fields(),
        vec!["feedback[1].interaction_id".to_string()],
        "{}",
        reply.text
    );
    let kept = server
        .post(
            &format!("/v1/agents/{agent}/feedback"),
            &json!({"interaction_id": "existing", "rating": "negative", "comment": "wrong order"}),
        )
        .expect(201);

    // Over the configured 64 KiB: 413 as problem+json, nothing stored; under it: stored.
    let filler = "x".repeat(4000);
    let big: Vec<Value> = (0..25)
        .map(|i| {
            let mut item = interaction(&format!("big-{i}"), 100 + i);
            item["metadata"]["note"] = json!(filler);
            item
        })
        .collect();
    let body = json!({"interactions": big});
    assert!(body.to_string().len() > 64 << 10);
    let reply = server.post(&batch_path, &body);
    let problem = reply.problem(413);
    assert_eq!(problem["type"], "/problems/body-too-large", "{problem:#}");
    assert!(!has_interaction(&server, &agent, "big-0"));
    let small = json!({"interactions": big[..10].to_vec()});
    assert!(small.to_string().len() < 64 << 10);
    server.post(&batch_path, &small).expect(201);
    assert!(has_interaction(&server, &agent, "big-9"));

    // An import with a bad line: the error names the file and the line, and nothing from that
    // line on is sent (the batches before it are, and a rerun sends them again harmlessly).
    let dir = tempfile::tempdir().expect("a folder for the import file");
    let file = dir.path().join("interactions.jsonl");
    let lines = |bad: bool| -> String {
        (1..=10)
            .map(|n| {
                let mut item = interaction(&format!("import-{n}"), 1000 + n);
                if bad && n == 7 {
                    item.as_object_mut().expect("an object").remove("timestamp");
                }
                format!("{item}\n")
            })
            .collect()
    };
    std::fs::write(&file, lines(true)).expect("write the import file");
    let import = |file: &std::path::Path| {
        run(reverie()
            .args([
                "import",
                "--agent",
                &agent,
                "--batch-size",
                "3",
                "--no-progress",
            ])
            .arg("--interactions")
            .arg(file)
            .args(["--url", server.url(), "--api-key", server.admin_key()]))
    };
    let failed = import(&file);
    let stderr = failed.failure();
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("line 7"),
        "the import error should name the file and line 7:\n{stderr}"
    );
    assert!(
        stderr.contains("timestamp"),
        "the import error should name the missing field:\n{stderr}"
    );
    for n in 1..=10 {
        let present = has_interaction(&server, &agent, &format!("import-{n}"));
        assert_eq!(
            present,
            n <= 6,
            "import-{n}: {}",
            if present {
                "sent although it is at or past the bad line"
            } else {
                "a batch before the bad line was not sent"
            }
        );
    }
    std::fs::write(&file, lines(false)).expect("fix the import file");
    let fixed = import(&file);
    assert!(
        fixed.success().contains("imported 10 interactions"),
        "{}",
        fixed.stdout
    );
    assert!((1..=10).all(|n| has_interaction(&server, &agent, &format!("import-{n}"))));

    // A server with a small body cap still takes a whole import: batches it finds too large
    // (413) are split in halves until they fit.
    let (interactions, _) = support_bot();
    let small_agent = server
        .post("/v1/agents", &json!({"name": "small bodies", "model": "m"}))
        .expect(201)["id"]
        .as_str()
        .expect("agent id")
        .to_string();
    let whole = run(reverie()
        .args(["import", "--agent", &small_agent, "--no-progress"])
        .arg("--interactions")
        .arg(&interactions)
        .args(["--url", server.url(), "--api-key", server.admin_key()]));
    assert!(
        whole.success().contains("imported 2400 interactions"),
        "{}",
        whole.stdout
    );
    assert_eq!(interaction_ids(&server, &small_agent).len(), 2400);

    // The database agrees: exactly the one feedback that was accepted.
    let db = server.open_db();
    let feedback: Vec<String> = db
        .prepare("SELECT id FROM feedback")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("read the feedback table");
    assert_eq!(
        feedback,
        vec![kept["id"].as_str().expect("feedback id").to_string()]
    );
}

// ---- 5. idempotency ----

#[test]
fn a_retried_post_with_the_same_idempotency_key_creates_once() {
    let server = Server::start();
    let body = json!({"name": "retry-me", "model": "gpt-4o-mini"});
    let first = server
        .request("POST", "/v1/agents")
        .header("Idempotency-Key", "create-retry-me")
        .json(&body)
        .send();
    first.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = server
        .request("POST", "/v1/agents")
        .header("Idempotency-Key", "create-retry-me")
        .json(&body)
        .send();
    second.expect(201);
    assert_eq!(
        second.text, first.text,
        "the replay differs from the first response"
    );
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    let agents = server.get("/v1/agents").expect(200);
    assert_eq!(
        agents["data"].as_array().map(Vec::len),
        Some(1),
        "{agents:#}"
    );

    // The same key for a different request is refused.
    let other = server
        .request("POST", "/v1/agents")
        .header("Idempotency-Key", "create-retry-me")
        .json(&json!({"name": "someone-else", "model": "gpt-4o-mini"}))
        .send();
    let problem = other.problem(422);
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.contains("idempotency")),
        "{problem:#}"
    );
    assert_eq!(
        server.get("/v1/agents").expect(200)["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // An interaction sent twice with a key is stored once; without one the repeat is a conflict.
    let agent = first.json()["id"]
        .as_str()
        .expect("an agent id")
        .to_string();
    let path = format!("/v1/agents/{agent}/interactions");
    let send = |key: Option<&str>| {
        let mut call = server.request("POST", &path).json(&interaction("once", 1));
        if let Some(key) = key {
            call = call.header("Idempotency-Key", key);
        }
        call.send()
    };
    let one = send(Some("interaction-once"));
    one.expect(201);
    let two = send(Some("interaction-once"));
    two.expect(201);
    assert_eq!(two.text, one.text);
    assert_eq!(two.header("idempotent-replayed"), Some("true"));
    send(None).problem(409);
    assert_eq!(interaction_ids(&server, &agent), vec!["once".to_string()]);
}

// ---- 6. durability ----

/// What one writer saw.
#[derive(Default)]
struct Tally {
    /// Interaction ids whose request got a 2xx.
    acked: Vec<String>,
    /// Every interaction id sent (acknowledged or not).
    sent: Vec<String>,
    /// Feedback ids the server acknowledged.
    feedback: Vec<String>,
    /// Each batch's ids, and whether it was acknowledged.
    batches: Vec<(Vec<String>, bool)>,
    requests: u64,
    /// Requests that got no answer (the server was gone).
    unanswered: u64,
    /// Of those, requests that had connected: in flight when the server died.
    cut_off: u64,
    /// Answers that were neither 2xx nor expected: a server failing under load.
    unexpected: Vec<String>,
}

fn writer(url: String, key: String, agent: String, thread: usize, until: Instant) -> Tally {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let mut tally = Tally::default();
    let mut n: u64 = 0;
    while Instant::now() < until {
        n += 1;
        tally.requests += 1;
        let (path, body, ids, kind) = match n % 5 {
            0 | 1 => {
                let id = format!("w{thread}-s{n}");
                (
                    format!("/v1/agents/{agent}/interactions"),
                    interaction(&id, n),
                    vec![id],
                    "single",
                )
            }
            2 => {
                let ids: Vec<String> = (0..50).map(|k| format!("w{thread}-b{n}-{k}")).collect();
                let items: Vec<Value> = ids
                    .iter()
                    .enumerate()
                    .map(|(k, id)| interaction(id, n * 50 + k as u64))
                    .collect();
                (
                    format!("/v1/agents/{agent}/interactions/batch"),
                    json!({"interactions": items}),
                    ids,
                    "batch",
                )
            }
            _ if tally.acked.is_empty() => continue,
            _ => {
                let on = &tally.acked[(n as usize * 7919) % tally.acked.len()];
                (
                    format!("/v1/agents/{agent}/feedback"),
                    json!({"interaction_id": on, "rating": if n.is_multiple_of(2) { "negative" } else { "positive" }, "comment": "checked"}),
                    Vec::new(),
                    "feedback",
                )
            }
        };
        tally.sent.extend(ids.iter().cloned());
        let result = http
            .post(format!("{url}{path}"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .and_then(|r| {
                let status = r.status().as_u16();
                r.text().map(|t| (status, t))
            });
        let acked = match result {
            Ok((status, text)) if (200..300).contains(&status) => {
                if kind == "feedback" {
                    let v: Value = serde_json::from_str(&text).expect("feedback response is JSON");
                    tally
                        .feedback
                        .push(v["id"].as_str().expect("a feedback id").to_string());
                }
                true
            }
            Ok((status, text)) => {
                tally
                    .unexpected
                    .push(format!("{kind} {path}: {status} {text}"));
                false
            }
            Err(e) => {
                tally.unanswered += 1;
                if !e.is_connect() {
                    tally.cut_off += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
                false
            }
        };
        if acked {
            tally.acked.extend(ids.iter().cloned());
        }
        if kind == "batch" {
            tally.batches.push((ids, acked));
        }
    }
    tally
}

#[test]
fn kill_9_in_the_middle_of_a_stream_of_writes_loses_nothing_acknowledged() {
    let mut server = Server::start();
    let agent = server.create_agent("durable");
    let started = Instant::now();
    let until = started + Duration::from_secs(3);
    let writers: Vec<_> = (0..4)
        .map(|thread| {
            let (url, key, agent) = (
                server.url().to_string(),
                server.admin_key().to_string(),
                agent.clone(),
            );
            std::thread::spawn(move || writer(url, key, agent, thread, until))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        server.is_running(),
        "the server died under load before the kill; stderr:\n{}",
        server.stderr()
    );
    server.kill_9();
    let killed_at = started.elapsed();
    let tallies: Vec<Tally> = writers
        .into_iter()
        .map(|w| w.join().expect("a writer thread"))
        .collect();

    let unexpected: Vec<&String> = tallies.iter().flat_map(|t| &t.unexpected).collect();
    assert!(
        unexpected.is_empty(),
        "the server answered writes with errors before it was killed:\n{unexpected:#?}"
    );
    let acked: HashSet<&String> = tallies.iter().flat_map(|t| &t.acked).collect();
    let sent: HashSet<&String> = tallies.iter().flat_map(|t| &t.sent).collect();
    let acked_feedback: HashSet<&String> = tallies.iter().flat_map(|t| &t.feedback).collect();
    let requests: u64 = tallies.iter().map(|t| t.requests).sum();
    let unanswered: u64 = tallies.iter().map(|t| t.unanswered).sum();
    let cut_off: u64 = tallies.iter().map(|t| t.cut_off).sum();
    assert!(
        acked.len() > 100 && unanswered > 0,
        "the kill did not land in the middle of the stream ({} acknowledged, {unanswered} unanswered)",
        acked.len()
    );

    // After the restart, every acknowledged interaction is there, and nothing that was not sent.
    server.restart();
    let present: Vec<String> = interaction_ids(&server, &agent);
    let present_set: HashSet<&String> = present.iter().collect();
    assert_eq!(present.len(), present_set.len(), "the list repeats ids");
    let lost: Vec<&&String> = acked.difference(&present_set).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged interactions are gone after kill -9, e.g. {:?}",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    let phantom: Vec<&&String> = present_set.difference(&sent).collect();
    assert!(phantom.is_empty(), "interactions nobody sent: {phantom:?}");

    // Every batch is whole or absent; an acknowledged one is whole.
    let batches: Vec<&(Vec<String>, bool)> = tallies.iter().flat_map(|t| &t.batches).collect();
    let (mut whole, mut absent, mut in_flight_whole) = (0, 0, 0);
    for (ids, was_acked) in &batches {
        let stored = ids.iter().filter(|id| present_set.contains(id)).count();
        assert!(
            stored == 0 || stored == ids.len(),
            "a batch is half-written: {stored} of {} ids stored (first {})",
            ids.len(),
            ids[0]
        );
        assert!(
            !*was_acked || stored == ids.len(),
            "an acknowledged batch is missing (first {})",
            ids[0]
        );
        if stored == 0 {
            absent += 1;
        } else {
            whole += 1;
            if !*was_acked {
                in_flight_whole += 1;
            }
        }
    }
    // The server takes writes again.
    server
        .post(
            &format!("/v1/agents/{agent}/interactions"),
            &interaction("after-restart", 1),
        )
        .expect(201);

    // Feedback: straight from the database, with the server stopped.
    server.stop();
    let db = server.open_db();
    let feedback: HashSet<String> = db
        .prepare("SELECT id FROM feedback")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("read the feedback table");
    let lost_feedback: Vec<&&String> = acked_feedback
        .iter()
        .filter(|id| !feedback.contains(id.as_str()))
        .collect();
    assert!(
        lost_feedback.is_empty(),
        "{} acknowledged feedback are gone after kill -9, e.g. {:?}",
        lost_feedback.len(),
        lost_feedback.iter().take(5).collect::<Vec<_>>()
    );
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("run the integrity check");
    assert_eq!(integrity, "ok", "the database is damaged after kill -9");
    let dangling: i64 = db
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .expect("run the foreign key check");
    assert_eq!(dangling, 0, "rows point at rows that do not exist");

    println!(
        "durability: killed at {killed_at:.2?} after {requests} requests ({unanswered} unanswered, {cut_off} of them cut off in flight); \
         interactions: {} acknowledged, {} present after restart (all acknowledged present); \
         feedback: {} acknowledged, {} present; batches: {} sent, {whole} whole ({in_flight_whole} of them unacknowledged), \
         {absent} absent, 0 partial; integrity_check: ok",
        acked.len(),
        present.len(),
        acked_feedback.len(),
        feedback.len(),
        batches.len(),
    );
}

// ---- 7. pagination ----

#[test]
fn listing_agents_pages_through_all_of_them_once() {
    let server = Server::start();
    let created: BTreeSet<String> = (0..25)
        .map(|i| server.create_agent(&format!("agent-{i:02}")))
        .collect();
    assert_eq!(created.len(), 25);

    let mut seen = Vec::new();
    let mut more = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/agents?limit=10&cursor={c}"),
            None => "/v1/agents?limit=10".to_string(),
        };
        let page = server.get(&path).expect(200);
        let data = page["data"].as_array().expect("a list has `data`");
        sizes.push(data.len());
        seen.extend(
            data.iter()
                .map(|a| a["id"].as_str().expect("an agent id").to_string()),
        );
        let has_more = page["has_more"].as_bool().expect("`has_more` is a boolean");
        more.push(has_more);
        if !has_more {
            assert_eq!(
                page["next_cursor"],
                Value::Null,
                "the last page has no cursor"
            );
            break;
        }
        cursor = Some(
            page["next_cursor"]
                .as_str()
                .expect("a page with more has a cursor")
                .to_string(),
        );
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(more, vec![true, true, false]);
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a page repeats an agent: {seen:?}"
    );
    assert_eq!(unique, created, "paging did not show every agent");

    for limit in ["0", "101", "ten"] {
        let reply = server.get(&format!("/v1/agents?limit={limit}"));
        reply.problem(400);
        assert_eq!(
            reply.error_fields(),
            vec!["limit".to_string()],
            "{}",
            reply.text
        );
    }
}

/// A team generating a client needs the API's document without running a server:
/// `reverie openapi` prints exactly what a server serves at `/v1/openapi.json`, an
/// OpenAPI 3.1 document with every operation the server answers.
#[test]
fn reverie_openapi_prints_the_document_the_server_serves() {
    let printed = run(reverie().arg("openapi"));
    assert!(printed.status.success(), "{}", printed.stderr);
    let printed: Value = serde_json::from_str(&printed.stdout).expect("the document is JSON");

    let server = Server::start();
    let served = server.request("GET", "/v1/openapi.json").no_key().send();
    assert_eq!(served.status, 200, "{}", served.text);
    let served: Value = serde_json::from_str(&served.text).expect("the served document is JSON");
    assert_eq!(printed, served);

    assert_eq!(printed["openapi"], "3.1.0");
    let paths = printed["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/v1/agents/{agent_id}/interactions/batch"));
    // Every operation the document lists is answered by the server, not by its fallback.
    for (path, item) in paths {
        for (method, _) in item.as_object().expect("a path item") {
            let filled = path.replace('{', "x").replace('}', "");
            let reply = server.request(&method.to_uppercase(), &filled).send();
            let fallback = reply.status == 404 && reply.text.contains("no route");
            assert!(
                !fallback && reply.status != 405,
                "{method} {path}: {} {}",
                reply.status,
                reply.text
            );
        }
    }
}
