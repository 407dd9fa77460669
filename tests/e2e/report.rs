//! The report a team gets from the example dataset: the documented mistakes come out on
//! top, the JSON validates against the published schema, a golden file pins it (costs and
//! timings aside), and a second cycle given the first report tells ongoing from new.
//!
//! Bless the golden file after an intended change with `REVERIE_BLESS=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::REVERIE;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is in the workspace")
        .to_path_buf()
}

/// `reverie dream` over examples/support-bot with `extra` arguments; stdout on success.
fn dream_support_bot(cache: &Path, extra: &[&str]) -> String {
    let data = workspace().join("examples/support-bot");
    let out = Command::new(REVERIE)
        .arg("dream")
        .arg("--interactions")
        .arg(data.join("interactions.jsonl"))
        .arg("--feedback")
        .arg(data.join("feedback.jsonl"))
        .arg("--no-progress")
        .arg("--cache-dir")
        .arg(cache)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run reverie dream");
    assert!(
        out.status.success(),
        "reverie dream failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the report is UTF-8")
}

fn keys(report: &Value) -> Vec<String> {
    report["patterns"]
        .as_array()
        .expect("patterns")
        .iter()
        .map(|p| p["key"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Costs and timings differ run to run; everything else must not.
fn without_costs(mut report: Value) -> Value {
    report["generated_at"] = Value::from("<generated_at>");
    for rule in report["rules"].as_array_mut().expect("rules") {
        rule["duration_ms"] = Value::from(0);
        rule["fuel_used"] = Value::from(0);
        rule["peak_memory_bytes"] = Value::from(0);
        rule["digest"] = Value::from("<digest>");
    }
    report
}

#[test]
fn the_documented_mistakes_come_out_on_top_and_the_report_is_pinned() {
    let cache = tempfile::tempdir().expect("tempdir");
    let text = dream_support_bot(cache.path(), &["--format", "json"]);
    let report: Value = serde_json::from_str(&text).expect("JSON report");

    // Every planted mistake (examples/README.md) is among the top patterns.
    let keys = keys(&report);
    let top: Vec<&str> = keys.iter().take(8).map(String::as_str).collect();
    for expected in [
        "tool-failures/lookup_order/invalid_argument",
        "tool-failures/track_shipment/timeout",
        "corrections/contradicted",
        "corrections/ignored-context",
        "corrections/misunderstood-request",
    ] {
        assert!(
            top.contains(&expected),
            "{expected} is not in the top 8: {top:?}"
        );
    }
    // Every rule ran, and each suggestion to update the prompt carries the resulting prompt.
    for rule in report["rules"].as_array().expect("rules") {
        assert_eq!(rule["status"], "ok", "{rule}");
    }
    let updates: Vec<&Value> = report["suggestions"]
        .as_array()
        .expect("suggestions")
        .iter()
        .filter(|s| s["action"] == "update_system_prompt" && s["status"] == "accepted")
        .collect();
    assert!(!updates.is_empty(), "no prompt update was suggested");
    let live = report["agent"]["system_prompt"]
        .as_str()
        .expect("live prompt");
    assert!(
        live.contains("14 days"),
        "the live prompt is the dataset's: {live}"
    );
    for s in &updates {
        let new_prompt = s["new_prompt"].as_str().expect("new_prompt");
        assert!(
            new_prompt.starts_with(live.trim_end()),
            "edits build on the live prompt"
        );
        assert!(new_prompt.len() > live.len());
    }
    assert_eq!(
        report["candidate_prompt"],
        updates
            .last()
            .map(|s| s["new_prompt"].clone())
            .unwrap_or_default()
    );
    // Accuracy comes with its sample size and interval.
    let accuracy = &report["metrics"]["accuracy"];
    assert!(accuracy["rated"].as_u64().unwrap_or(0) > 100, "{accuracy}");
    assert_eq!(accuracy["ci95"].as_array().map(Vec::len), Some(2));

    // The JSON validates against the published schema.
    let schema_path = workspace().join("host/schema/report.v1.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("read the schema"))
            .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks its schema:\n{}",
        errors.join("\n")
    );

    // The golden file pins everything but costs.
    let golden = workspace().join("tests/golden/support-bot.report.json");
    let actual = serde_json::to_string_pretty(&without_costs(report)).expect("serialise") + "\n";
    if std::env::var_os("REVERIE_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
        std::fs::write(&golden, &actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .expect("tests/golden/support-bot.report.json exists (REVERIE_BLESS=1 writes it)");
    if expected != actual {
        let at = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        let near = |t: &str| {
            t.lines()
                .skip(at.saturating_sub(2))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "the report differs from the golden file at line {}:\n--- golden\n{}\n--- now\n{}\n\
             (if the change is intended: REVERIE_BLESS=1 cargo test --release -p reverie --test e2e report)",
            at + 1,
            near(&expected),
            near(&actual)
        );
    }
}

#[test]
fn the_text_report_is_for_people() {
    let cache = tempfile::tempdir().expect("tempdir");
    let text = dream_support_bot(cache.path(), &[]);
    for heading in [
        "Accuracy",
        "Recurring mistakes",
        "Suggested changes",
        "New system prompt",
        "Rules",
    ] {
        assert!(text.contains(heading), "no {heading:?} section in:\n{text}");
    }
    assert!(text.contains("lookup_order"), "{text}");
    assert!(text.contains("95% CI"), "{text}");
}

#[test]
fn a_second_cycle_given_the_first_report_sees_ongoing_patterns() {
    let cache = tempfile::tempdir().expect("tempdir");
    let first = dream_support_bot(cache.path(), &["--format", "json"]);
    let first_path = cache.path().join("first.json");
    std::fs::write(&first_path, &first).expect("write the first report");
    let second: Value = serde_json::from_str(&dream_support_bot(
        cache.path(),
        &[
            "--format",
            "json",
            "--previous",
            first_path.to_str().expect("utf-8 path"),
        ],
    ))
    .expect("JSON");
    for p in second["patterns"].as_array().expect("patterns") {
        assert_eq!(p["status"], "ongoing", "{}", p["key"]);
        assert_eq!(p["previous_occurrences"], p["occurrences"]);
    }
    let compared = &second["metrics"]["previous_window"];
    assert_eq!(
        compared["verdict"], "inconclusive",
        "the same data cannot differ: {compared}"
    );
    assert_eq!(compared["difference"], 0.0);

    // Only the window from Nov 16 on: fewer interactions, and the first report's
    // patterns that did not occur then are reported resolved.
    let late: Value = serde_json::from_str(&dream_support_bot(
        cache.path(),
        &[
            "--format",
            "json",
            "--since",
            "2026-11-16T00:00:00Z",
            "--previous",
            first_path.to_str().expect("utf-8 path"),
        ],
    ))
    .expect("JSON");
    let all = second["window"]["interactions"].as_u64().expect("count");
    let part = late["window"]["interactions"].as_u64().expect("count");
    assert!(part > 0 && part < all, "{part} of {all}");
    assert_eq!(late["window"]["start"], "2026-11-16T00:00:00Z");
}
