//! Rules installed on a running server, and the rule set each agent runs: the real binary
//! serving on loopback, real components, the CLI and the HTTP API as a team uses them.
//!
//! [`an_agent_dreams_with_the_installed_rule`] is the last step of every language's authoring
//! story: the component a rule author built is installed, given to one agent, and that agent's
//! dream runs it while another agent's does not.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::server::{Finished, Server, run};
use crate::common::{Dataset, fixture, reverie};

const DREAM_LIMIT: Duration = Duration::from_secs(120);

/// An agent that dreams on request, over as few interactions as there are.
fn agent(server: &Server, name: &str) -> String {
    server
        .post(
            "/v1/agents",
            &json!({"name": name, "model": "m", "dreaming_enabled": false, "min_new_interactions": 1}),
        )
        .expect(201)["id"]
        .as_str()
        .expect("an agent id")
        .to_string()
}

/// Send `interactions.jsonl` to the agent with `reverie import`.
fn import(server: &Server, agent: &str, interactions: &Path) {
    let done = run(reverie()
        .args([
            "import",
            "--no-progress",
            "--agent",
            agent,
            "--interactions",
        ])
        .arg(interactions)
        .args(["--url", server.url(), "--api-key", server.admin_key()]));
    assert!(done.status.success(), "import: {}", done.stderr);
}

/// Ask for a dream of `agent` over everything it holds, and wait for its report.
fn dream(server: &Server, agent: &str) -> Value {
    let id = server
        .post(
            &format!("/v1/agents/{agent}/dreams"),
            &json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .expect(202)["id"]
        .as_str()
        .expect("a dream id")
        .to_string();
    let started = Instant::now();
    loop {
        let body = server.get(&format!("/v1/dreams/{id}")).expect(200);
        match body["status"].as_str() {
            Some("pending" | "running") => {}
            Some("completed") => return body["report"].clone(),
            other => panic!("dream {id} ended {other:?}:\n{body:#}"),
        }
        assert!(
            started.elapsed() < DREAM_LIMIT,
            "dream {id} did not finish within {DREAM_LIMIT:?}:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn rule_names(report: &Value) -> Vec<String> {
    report["rules"]
        .as_array()
        .expect("a report lists its rules")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

fn cli(server: &Server, args: &[&str]) -> Finished {
    run(reverie().args(["rule"]).args(args).args([
        "--url",
        server.url(),
        "--api-key",
        server.admin_key(),
    ]))
}

/// Install `component` with `reverie rule install`, give it to one of two agents that hold
/// the interactions in `fixtures`, and check that only that agent's dream runs it and reports
/// `key`. Returns the rule's id.
pub fn an_agent_dreams_with_the_installed_rule(
    component: &Path,
    rule: &str,
    key: &str,
    fixtures: &Path,
) -> String {
    let server = Server::start();
    let installed = cli(&server, &["install", &component.display().to_string()]);
    assert!(
        installed.status.success(),
        "{}\n{}",
        installed.stdout,
        installed.stderr
    );
    let id = installed
        .stdout
        .split_whitespace()
        .next()
        .expect("install prints the rule's id")
        .to_string();
    assert!(id.starts_with("sha256:"), "{}", installed.stdout);
    assert!(installed.stdout.contains(rule), "{}", installed.stdout);

    let with = agent(&server, "with the rule");
    let without = agent(&server, "without it");
    for a in [&with, &without] {
        import(&server, a, &fixtures.join("interactions.jsonl"));
    }
    let set = server
        .request("PUT", &format!("/v1/agents/{with}/rules"))
        .json(&json!({"rules": [{"rule": id}]}))
        .send()
        .expect(200);
    assert_eq!(set["default"], false, "{set:#}");
    assert_eq!(set["rules"][0]["name"], rule, "{set:#}");

    let report = dream(&server, &with);
    assert_eq!(rule_names(&report), [rule], "{report:#}");
    assert_eq!(report["rules"][0]["status"], "ok", "{report:#}");
    assert_eq!(report["rules"][0]["source"], id.as_str(), "{report:#}");
    let keys: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .flat_map(|p| p["facets"].as_array().into_iter().flatten())
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert!(keys.contains(&key), "no {key} in {keys:?}");

    let other = dream(&server, &without);
    assert!(
        !rule_names(&other).iter().any(|n| n == rule),
        "an agent without the rule ran it: {:?}",
        rule_names(&other)
    );
    id
}

#[test]
fn a_rule_installed_on_the_server_runs_only_for_the_agents_given_it() {
    let data = Dataset::standard();
    let component = fixture("well-behaved");
    let mut server = Server::start();

    // Install: checked, compiled and described, kept under its sha256.
    let bytes = std::fs::read(&component).expect("read the component");
    let first = server
        .request("POST", "/v1/rules")
        .header("content-type", "application/wasm")
        .body_bytes(bytes.clone())
        .send()
        .expect(201);
    let id = first["id"].as_str().expect("an id").to_string();
    assert!(id.starts_with("sha256:") && id.len() == 7 + 64, "{first:#}");
    assert_eq!(first["name"], "well-behaved");
    assert_eq!(first["contract"], "0.1.1");
    assert_eq!(first["size_bytes"], bytes.len());
    // The same bytes again are the same rule.
    let again = server
        .request("POST", "/v1/rules")
        .header("content-type", "application/wasm")
        .body_bytes(bytes)
        .send()
        .expect(200);
    assert_eq!(again["id"], id.as_str());

    // What is not a rule is refused with the reason, and nothing is kept.
    let refused = server
        .request("POST", "/v1/rules")
        .header("content-type", "application/wasm")
        .body_bytes(std::fs::read(fixture("wrong-contract")).expect("read"))
        .send()
        .problem(422);
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("reverie:rules")),
        "{refused:#}"
    );
    let junk = server
        .request("POST", "/v1/rules")
        .header("content-type", "application/wasm")
        .body_bytes(b"not a component".to_vec())
        .send()
        .problem(422);
    assert_eq!(junk["errors"][0]["field"], "body", "{junk:#}");
    let json_body = server.post("/v1/rules", &json!({})).problem(415);
    assert!(
        json_body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("application/wasm"))
    );
    let listed = cli(&server, &["list"]);
    assert!(listed.status.success(), "{}", listed.stderr);
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
    assert!(listed.stdout.starts_with(&id), "{}", listed.stdout);

    // Two agents with the same data; one is given the rule beside a built-in one.
    let with = agent(&server, "with");
    let without = agent(&server, "without");
    for a in [&with, &without] {
        import(&server, a, &data.dir().join("interactions.jsonl"));
    }
    let default = server.get(&format!("/v1/agents/{with}/rules")).expect(200);
    assert_eq!(default["default"], true);
    assert!(
        default["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["rule"] == "builtin:tool-failures"),
        "{default:#}"
    );

    // Every mistake in a set is named at once, and nothing is stored.
    let wrong = server
        .request("PUT", &format!("/v1/agents/{with}/rules"))
        .json(&json!({"rules": [
            {"rule": id, "settings": {"threshold": 3}},
            {"rule": "builtin:no-such-rule"},
            {"rule": "builtin:tool-failures", "settings": {"min_occurrences": 1, "min_shares": 0.1}},
            {"rule": "tool-failures"},
            {"rule": "builtin:retry-loops", "limits": {"memory_mib": 0}},
        ]}))
        .send()
        .problem(422);
    let fields: Vec<&str> = wrong["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in [
        "rules[0].settings.threshold",
        "rules[1].rule",
        "rules[2].settings.min_shares",
        "rules[3].rule",
        "rules[4].limits",
    ] {
        assert!(fields.contains(&field), "{field} not named in {wrong:#}");
    }
    assert_eq!(
        server.get(&format!("/v1/agents/{with}/rules")).expect(200)["default"],
        true
    );
    // A scoped key reads its agent's set but cannot change it.
    let scoped = server
        .post("/v1/api-keys", &json!({"name": "team", "agent_id": with}))
        .expect(201)["key"]
        .as_str()
        .expect("a key")
        .to_string();
    server
        .request("PUT", &format!("/v1/agents/{with}/rules"))
        .key(&scoped)
        .json(&json!({"rules": []}))
        .send()
        .problem(403);

    let set = server
        .request("PUT", &format!("/v1/agents/{with}/rules"))
        .json(&json!({"rules": [
            {"rule": "builtin:tool-failures", "settings": {"min_occurrences": 1}},
            {"rule": id, "limits": {"fuel": 2_000_000_000u64}},
        ]}))
        .send()
        .expect(200);
    assert_eq!(set["default"], false, "{set:#}");
    assert_eq!(set["rules"][1]["limits"]["fuel"], 2_000_000_000u64);
    assert_eq!(set["rules"][0]["settings"]["min_occurrences"], "1");
    let seen = server
        .request("GET", &format!("/v1/agents/{with}/rules"))
        .key(&scoped)
        .send()
        .expect(200);
    assert_eq!(seen["rules"], set["rules"]);

    let report = dream(&server, &with);
    assert_eq!(rule_names(&report), ["tool-failures", "well-behaved"]);
    let other = dream(&server, &without);
    assert!(!rule_names(&other).contains(&"well-behaved".to_string()));
    assert!(
        rule_names(&other).len() > 2,
        "the default set runs every built-in"
    );

    // A rule in use is not removed, and the refusal names the agent.
    let busy = cli(&server, &["remove", &id]);
    assert!(!busy.status.success());
    assert!(busy.stderr.contains(&with), "{}", busy.stderr);

    // Installed rules and sets survive a crash; the rule runs again from the store.
    server.kill_9();
    server.start_again();
    let after = dream(&server, &with);
    assert_eq!(rule_names(&after), ["tool-failures", "well-behaved"]);
    assert_eq!(after["rules"][1]["status"], "ok", "{after:#}");

    // Back to the default set: then the rule may go.
    let back = server
        .request("DELETE", &format!("/v1/agents/{with}/rules"))
        .send()
        .expect(200);
    assert_eq!(back["default"], true);
    let removed = cli(&server, &["remove", &id]);
    assert!(removed.status.success(), "{}", removed.stderr);
    server.get(&format!("/v1/rules/{id}")).problem(404);
    let none = cli(&server, &["list"]);
    assert_eq!(none.stdout.trim(), "", "{}", none.stdout);
}
