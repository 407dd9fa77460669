//! `reverie backup` and `reverie restore` end to end: a backup taken while the server runs and
//! a client keeps writing, restored into a fresh data directory, serves the same agents,
//! interactions and dream report; a restore onto a directory a server runs on is refused.
//! Run with `--nocapture` to see the figures.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::reverie;
use crate::common::server::{Server, run};

/// A small interaction, `n` seconds into 2026-11-01; every third one has the user correct the bot.
fn interaction(id: &str, n: u64) -> Value {
    let reply = if n.is_multiple_of(3) {
        "No, that's wrong: I asked about a refund, not an exchange."
    } else {
        "Thanks, that helps."
    };
    json!({
        "id": id,
        "session_id": format!("ses_{id}"),
        "timestamp": format!("2026-11-01T{:02}:{:02}:{:02}Z", (n / 3600) % 24, (n / 60) % 60, n % 60),
        "messages": [
            {"role": "system", "content": "You are a support bot for an online shop."},
            {"role": "user", "content": format!("can I get a refund for order {n}?")},
            {"role": "assistant", "content": "You can exchange it within 30 days."},
            {"role": "user", "content": reply}
        ]
    })
}

/// How many interactions the agent has, paging through the list.
fn interaction_ids(server: &Server, key: &str, agent: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/agents/{agent}/interactions?limit=100&cursor={c}"),
            None => format!("/v1/agents/{agent}/interactions?limit=100"),
        };
        let page = server.request("GET", &path).key(key).send().expect(200);
        for item in page["data"].as_array().expect("a list has `data`") {
            ids.push(item["id"].as_str().expect("an id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) if page["has_more"] == true => cursor = Some(c.to_string()),
            _ => return ids,
        }
    }
}

fn wait_for_dream(server: &Server, dream: &str) -> Value {
    let started = Instant::now();
    loop {
        let body = server.get(&format!("/v1/dreams/{dream}")).expect(200);
        if !matches!(body["status"].as_str(), Some("pending" | "running")) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "dream {dream} did not finish; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What one writer saw while posting interactions one at a time until told to stop.
#[derive(Default)]
struct Writes {
    acked: Vec<String>,
    errors: Vec<String>,
    slowest: Duration,
}

fn keep_writing(url: String, key: String, agent: String, stop: Arc<AtomicBool>) -> Writes {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let mut writes = Writes::default();
    let mut n = 1000;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let id = format!("during-{n}");
        let sent = Instant::now();
        let reply = http
            .post(format!("{url}/v1/agents/{agent}/interactions"))
            .bearer_auth(&key)
            .json(&interaction(&id, n))
            .send();
        writes.slowest = writes.slowest.max(sent.elapsed());
        match reply {
            Ok(r) if r.status().is_success() => writes.acked.push(id),
            Ok(r) => writes.errors.push(format!("{id}: {}", r.status())),
            Err(e) => writes.errors.push(format!("{id}: {e}")),
        }
    }
    writes
}

fn integrity(path: &Path) -> String {
    rusqlite::Connection::open(path)
        .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
        .expect("run integrity_check")
}

#[test]
fn a_backup_taken_while_writes_go_on_restores_into_a_server_that_serves_the_same_data() {
    let source = Server::start();
    let key = source.admin_key().to_string();
    let agent = source.create_agent("backed-up");
    let items: Vec<Value> = (0..40).map(|i| interaction(&format!("i-{i}"), i)).collect();
    source
        .post(
            &format!("/v1/agents/{agent}/interactions/batch"),
            &json!({"interactions": items}),
        )
        .expect(201);
    let feedback: Vec<Value> = (0..40)
        .step_by(3)
        .map(|i| json!({"interaction_id": format!("i-{i}"), "rating": "negative", "comment": "wrong policy"}))
        .collect();
    source
        .post(
            &format!("/v1/agents/{agent}/feedback/batch"),
            &json!({"feedback": feedback}),
        )
        .expect(201);
    let dream = source
        .post(&format!("/v1/agents/{agent}/dreams"), &json!({}))
        .expect(202)["id"]
        .as_str()
        .expect("a dream id")
        .to_string();
    let dreamt = wait_for_dream(&source, &dream);
    assert_eq!(dreamt["status"], "completed", "{dreamt:#}");

    // A client keeps writing while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, key, agent, stop) = (
            source.url().to_string(),
            key.clone(),
            agent.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || keep_writing(url, key, agent, stop))
    };
    std::thread::sleep(Duration::from_millis(300));
    let before_backup: HashSet<String> =
        interaction_ids(&source, &key, &agent).into_iter().collect();
    let out = source
        .data_dir()
        .parent()
        .expect("a parent")
        .join("backup.db");
    let started = Instant::now();
    let backed_up = run(reverie()
        .arg("backup")
        .arg("--data-dir")
        .arg(source.data_dir())
        .arg("--out")
        .arg(&out)
        .arg("--no-progress"));
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let writes = writer.join().expect("the writer thread");
    let line = backed_up.success().trim().to_string();
    assert!(
        writes.errors.is_empty(),
        "writes failed while the backup ran: {:?}",
        writes.errors
    );
    assert!(
        writes.acked.len() > 5,
        "too few writes went on around the backup"
    );
    assert!(
        line.contains("integrity_check ok") && line.contains("1 agent(s)"),
        "the backup says what it wrote: {line}"
    );
    assert_eq!(integrity(&out), "ok");
    let counted: u64 = line
        .split(", ")
        .find_map(|part| part.strip_suffix(" interaction(s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no interaction count in {line:?}"));

    // A second backup to the same file is refused, and the first is left as it was.
    let again = run(reverie()
        .arg("backup")
        .arg("--data-dir")
        .arg(source.data_dir())
        .arg("--out")
        .arg(&out));
    assert!(again.failure().contains("--force"), "{}", again.stderr);

    // Restore into a server of its own: refused while it runs, then done with it stopped.
    let mut target = Server::start();
    let refused = run(reverie()
        .arg("restore")
        .arg("--from")
        .arg(&out)
        .arg("--data-dir")
        .arg(target.data_dir()));
    let why = refused.failure();
    assert!(
        why.contains("a reverie server is running") && why.contains("stop it"),
        "{why}"
    );
    target.stop();
    let restored = run(reverie()
        .arg("restore")
        .arg("--from")
        .arg(&out)
        .arg("--data-dir")
        .arg(target.data_dir()));
    let said = restored.success();
    assert!(said.contains("before-restore"), "{said}");
    target.start_again();
    assert_eq!(target.printed_key(), None, "the restored database has keys");

    // The same data, read with the source's key (the keys came with the database).
    let agents = target
        .request("GET", "/v1/agents")
        .key(&key)
        .send()
        .expect(200);
    let names: Vec<&str> = agents["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["backed-up"]);
    let present: HashSet<String> = interaction_ids(&target, &key, &agent).into_iter().collect();
    assert_eq!(
        present.len() as u64,
        counted,
        "the restore serves what the backup counted"
    );
    let missing: Vec<&String> = before_backup.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "interactions stored before the backup began are missing: {missing:?}"
    );
    let report_then = &dreamt["report"];
    let now = target
        .request("GET", &format!("/v1/dreams/{dream}"))
        .key(&key)
        .send()
        .expect(200);
    assert_eq!(now["status"], "completed");
    assert_eq!(
        &now["report"], report_then,
        "the dream's report differs after restore"
    );
    // It takes writes.
    target
        .request("POST", &format!("/v1/agents/{agent}/interactions"))
        .key(&key)
        .json(&interaction("after-restore", 1))
        .send()
        .expect(201);
    target.stop();
    assert_eq!(integrity(&target.data_dir().join("reverie.db")), "ok");
    let feedback_rows: i64 = target
        .open_db()
        .query_row(
            "SELECT COUNT(*) FROM feedback WHERE comment = 'wrong policy'",
            [],
            |r| r.get(0),
        )
        .expect("count feedback");
    assert_eq!(
        feedback_rows, 14,
        "the feedback came back with the interactions"
    );

    println!(
        "backup: {took:.2?} for the command while a client wrote ({} writes acknowledged around it, \
         slowest {:.1?}, none failed); {counted} interactions in the copy ({} before it began); \
         restored server serves them and the dream's report; integrity_check ok; {line}",
        writes.acked.len(),
        writes.slowest,
        before_backup.len(),
    );
}
