//! The scheduler end to end: the real `reverie serve` on loopback dreaming by
//! itself, pausing, and stopping gracefully (or not) in the middle of a dream.
//!
//! Schedules here fire every second or two (6-field cron with seconds), so no
//! test waits for a real hour; the semantics that need hours and days (DST,
//! catch-up, overlap, replicas) are tested with a manual clock in
//! `host/src/schedule/tests.rs`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::server::{Server, run};
use crate::common::{REVERIE, fixture_rule, interaction};

/// A rule that loops until its 4 s deadline: a dream that takes a while. The
/// lease is far shorter than the dream: only heartbeats keep the second worker
/// from taking it over (a dream that runs to its end after a restart would show
/// more attempts, and end `abandoned`, without them).
fn slow_config(grace: &str) -> String {
    format!(
        "[scheduler]\nshutdown_grace = \"{grace}\"\ntick = \"100ms\"\nlease = \"600ms\"\nworkers = 2\n\n{}[[rules]]\nbuiltin = \"tool-failures\"\n",
        fixture_rule(
            "loop-forever",
            "fuel = 1_000_000_000_000_000\ntimeout_ms = 4000"
        )
    )
}

fn post_interactions(server: &Server, agent: &str, range: std::ops::RangeInclusive<usize>) {
    let batch: Vec<Value> = range.map(interaction).collect();
    server
        .post(
            &format!("/v1/agents/{agent}/interactions/batch"),
            &json!({ "interactions": batch }),
        )
        .expect(201);
}

fn dreams(server: &Server, agent: &str) -> Vec<Value> {
    server
        .get(&format!("/v1/agents/{agent}/dreams?limit=100"))
        .expect(200)["data"]
        .as_array()
        .expect("a list")
        .clone()
}

/// Poll `check` every 100 ms until it gives a value, for at most `limit`.
fn eventually<T>(server: &Server, what: &str, limit: Duration, check: impl Fn() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}; server stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn seconds_from_now(rfc3339: &str) -> f64 {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 time");
    (t.timestamp_millis() - chrono::Utc::now().timestamp_millis()) as f64 / 1000.0
}

#[test]
fn an_agent_dreams_by_itself_on_its_schedule_and_pause_stops_it() {
    let server = Server::start_with(Some("[scheduler]\ntick = \"100ms\"\njitter = \"0s\"\n"));
    let created = server
        .post(
            "/v1/agents",
            &json!({
                "name": "night owl", "model": "gpt-4o-mini",
                "dreaming_frequency": "*/2 * * * * *", "timezone": "Asia/Tokyo",
                "min_new_interactions": 5
            }),
        )
        .expect(201);
    let agent = created["id"].as_str().expect("id").to_string();
    let next = created["next_run_at"]
        .as_str()
        .expect("the agent shows its next run");
    let wait = seconds_from_now(next);
    assert!(
        (-0.5..=2.5).contains(&wait),
        "next run {next} is {wait}s away"
    );
    assert_eq!(created["dreaming_paused"], false);
    post_interactions(&server, &agent, 1..=36);

    // A scheduled dream runs over what was sent, on its own.
    let done = eventually(
        &server,
        "a scheduled dream completes",
        Duration::from_secs(90),
        || {
            dreams(&server, &agent)
                .into_iter()
                .find(|d| d["status"] == "completed" && d["slot"].is_string())
        },
    );
    assert!(
        matches!(done["trigger"].as_str(), Some("schedule" | "catch_up")),
        "{done:#}"
    );
    assert_eq!(done["summary"]["interactions"], 36);
    assert_eq!(
        done["window"]["end"], done["slot"],
        "it covers the time up to its slot"
    );
    // With nothing new since, the next slots are recorded as skipped, saying why.
    let skipped = eventually(
        &server,
        "a slot skipped for lack of data",
        Duration::from_secs(30),
        || {
            dreams(&server, &agent).into_iter().find(|d| {
                d["status"] == "skipped"
                    && d["error"]
                        .as_str()
                        .is_some_and(|e| e.starts_with("not enough data: 0 new interactions"))
            })
        },
    );
    assert!(skipped["slot"].is_string(), "{skipped:#}");

    // An operator pauses it from the command line.
    let cli = |verb: &str| {
        run(std::process::Command::new(REVERIE).args([
            "schedule",
            verb,
            "--agent",
            &agent,
            "--url",
            server.url(),
            "--api-key",
            server.admin_key(),
        ]))
    };
    let paused = cli("pause");
    let stdout = paused.success();
    assert!(
        stdout.contains("(paused)") && stdout.contains("next run       -"),
        "{stdout}"
    );
    let paused = server.get(&format!("/v1/agents/{agent}")).expect(200);
    assert_eq!(
        (
            paused["dreaming_paused"].clone(),
            paused["next_run_at"].clone()
        ),
        (json!(true), Value::Null)
    );
    let settled = eventually(
        &server,
        "the last dream settles",
        Duration::from_secs(60),
        || {
            let all = dreams(&server, &agent);
            all.iter()
                .all(|d| d["status"] != "pending" && d["status"] != "running")
                .then_some(all.len())
        },
    );
    // Two slots' worth of time: nothing new while paused.
    std::thread::sleep(Duration::from_millis(4_500));
    let all = dreams(&server, &agent);
    assert_eq!(all.len(), settled, "a paused agent does not dream");
    let slots: Vec<&str> = all.iter().filter_map(|d| d["slot"].as_str()).collect();
    let unique: HashSet<&&str> = slots.iter().collect();
    assert_eq!(unique.len(), slots.len(), "one dream per slot: {slots:?}");

    let schedule = server
        .get(&format!("/v1/agents/{agent}/schedule"))
        .expect(200);
    assert_eq!(schedule["events"][0]["action"], "pause");
    assert!(
        schedule["events"][0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("key_"))
    );
    assert_eq!(schedule["cron"], "*/2 * * * * * *");
    let resumed = server
        .post(&format!("/v1/agents/{agent}/schedule/resume"), &json!({}))
        .expect(200);
    assert!(resumed["next_run_at"].is_string());
    let shown = cli("show");
    let stdout = shown.success();
    assert!(stdout.contains("in Asia/Tokyo (on)"), "{stdout}");
    assert!(
        stdout.contains("resume   by key_") && stdout.contains("pause    by key_"),
        "{stdout}"
    );

    // Schedules are checked strictly, and the problem says what is wrong.
    let reply = server.patch(
        &format!("/v1/agents/{agent}"),
        &json!({"dreaming_frequency": "0 3 * * * * * *", "timezone": "Asia/Tokio"}),
    );
    let problem = reply.problem(422);
    let text = problem.to_string();
    assert!(
        text.contains("dreaming_frequency") && text.contains("8"),
        "{problem:#}"
    );
    assert!(
        text.contains("timezone") && text.contains("Asia/Tokio"),
        "{problem:#}"
    );
}

#[test]
fn the_preview_command_lists_fire_times_through_a_dst_jump() {
    let out = run(std::process::Command::new(REVERIE).args([
        "schedule",
        "preview",
        "30 2 * * *",
        "--timezone",
        "America/New_York",
        "--after",
        "2026-03-06T12:00:00Z",
        "--count",
        "3",
    ]));
    let stdout = out.success();
    let lines: Vec<&str> = stdout.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "Sat 2026-03-07T02:30:00-05:00   2026-03-07T07:30:00.000Z",
            "Sun 2026-03-08T03:00:00-04:00   2026-03-08T07:00:00.000Z",
            "Mon 2026-03-09T02:30:00-04:00   2026-03-09T06:30:00.000Z",
        ],
        "{stdout}"
    );
    let out = run(std::process::Command::new(REVERIE).args(["schedule", "preview", "0 0 30 2 *"]));
    assert!(out.failure().contains("never fires"), "{}", out.stderr);
}

/// Start a dream on a slow rule and wait until a worker has it.
fn a_running_dream(server: &Server) -> String {
    let agent = server.create_agent("slow");
    post_interactions(server, &agent, 1..=36);
    let dream = server
        .post(&format!("/v1/agents/{agent}/schedule/run"), &json!({}))
        .expect(202)["id"]
        .as_str()
        .expect("id")
        .to_string();
    eventually(server, "the dream starts", Duration::from_secs(30), || {
        (server.get(&format!("/v1/dreams/{dream}")).expect(200)["status"] == "running")
            .then_some(())
    });
    dream
}

fn stored(server: &Server, dream: &str) -> (String, Option<String>, i64) {
    server
        .open_db()
        .query_row(
            "SELECT status, lease_owner, attempts FROM dreams WHERE id = ?1",
            [dream],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the dream is stored")
}

/// RELIABILITY 20, the patient case: SIGTERM waits for the running dream.
#[test]
fn sigterm_lets_a_running_dream_finish_within_the_grace_period() {
    let mut server = Server::start_with(Some(&slow_config("60s")));
    let dream = a_running_dream(&server);
    let (status, took) = server.sigterm(Duration::from_secs(90));
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    let (state, owner, attempts) = stored(&server, &dream);
    assert_eq!(
        (state.as_str(), owner, attempts),
        ("completed", None, 1),
        "took {took:?}"
    );
}

/// RELIABILITY 20, the impatient case: after the grace period nothing is left
/// `running`; the dream goes back to `pending` and the next start runs it.
#[test]
fn sigterm_releases_a_dream_that_outlasts_the_grace_period_and_the_next_start_runs_it() {
    let mut server = Server::start_with(Some(&slow_config("300ms")));
    let dream = a_running_dream(&server);
    let (status, took) = server.sigterm(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    assert!(
        took < Duration::from_secs(4),
        "it did not wait for the 4 s dream: {took:?}"
    );
    assert!(
        server
            .stderr()
            .contains(&format!("dream {dream} did not finish in time")),
        "{}",
        server.stderr()
    );
    let (state, owner, attempts) = stored(&server, &dream);
    assert_eq!(
        (state.as_str(), owner, attempts),
        ("pending", None, 0),
        "released, and a release is not an attempt"
    );

    server.start_again();
    let done = eventually(
        &server,
        "the released dream runs after the restart",
        Duration::from_secs(90),
        || {
            let d = server.get(&format!("/v1/dreams/{dream}")).expect(200);
            (d["status"] != "pending" && d["status"] != "running").then_some(d)
        },
    );
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["attempts"], 1);
}

/// RELIABILITY 19: execution is at least once. A kill -9 mid-dream leaves it
/// `running`; the next start takes it back and runs it again, and the attempt
/// that died counts.
#[test]
fn a_dream_cut_off_by_kill_9_runs_again_after_the_restart() {
    let mut server = Server::start_with(Some(&slow_config("30s")));
    let dream = a_running_dream(&server);
    server.kill_9();
    let (state, owner, _) = stored(&server, &dream);
    assert_eq!(state, "running");
    assert!(owner.is_some(), "held by the dead worker");
    server.start_again();
    assert!(
        server
            .startup_lines()
            .iter()
            .any(|l| l.contains("1 dream(s) left running")),
        "{:?}",
        server.startup_lines()
    );
    let done = eventually(
        &server,
        "the dream runs again",
        Duration::from_secs(90),
        || {
            let d = server.get(&format!("/v1/dreams/{dream}")).expect(200);
            (d["status"] == "completed").then_some(d)
        },
    );
    assert_eq!(done["attempts"], 2, "{done:#}");
}
