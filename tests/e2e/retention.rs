//! Retention in the running server: `reverie serve` sweeps at start, says what it swept on
//! stderr, and an expired `Idempotency-Key` creates anew while a fresh one still replays.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::server::Server;

#[test]
fn the_server_sweeps_expired_idempotency_records_at_start_and_says_so() {
    let mut server = Server::start();
    let body = json!({"name": "once", "model": "gpt-4o-mini", "dreaming_enabled": false});
    let create = |server: &Server, key: &str| {
        server
            .request("POST", "/v1/agents")
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = create(&server, "old-key").expect(201);
    let fresh = create(&server, "fresh-key").expect(201);

    // A day and an hour pass for "old-key" (written into the database, the server stopped).
    server.stop();
    let moved = server
        .open_db()
        .execute(
            "UPDATE idempotency_keys SET created_at = created_at - 25 * 3600 * 1000 WHERE key = 'old-key'",
            [],
        )
        .expect("age the record");
    assert_eq!(moved, 1);
    server.start_again();
    assert!(
        server
            .startup_lines()
            .iter()
            .any(|l| l.contains("retention: idempotency records 1d")),
        "the start says what is kept how long: {:?}",
        server.startup_lines()
    );
    let started = Instant::now();
    while !server
        .stderr()
        .contains("retention: swept 1 idempotency record")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no sweep reported; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let again = create(&server, "old-key");
    let second = again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_ne!(second["id"], first["id"], "an expired key creates anew");
    let replay = create(&server, "fresh-key");
    assert_eq!(
        replay.expect(201)["id"],
        fresh["id"],
        "a fresh key still replays"
    );
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
}
