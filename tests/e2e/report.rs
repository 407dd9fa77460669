//! The report a team gets from the two example datasets (a support bot, an IT help
//! desk): every planted mistake comes out as one problem with a ready, specific edit,
//! `reverie score` holds the analysis to its targets, the JSON validates against the
//! published schema, a golden file per dataset pins it (costs and timings aside), and
//! a later cycle given an earlier report keeps the same problems under the same keys.
//!
//! Bless the golden files after an intended change with `REVERIE_BLESS=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::REVERIE;

const DATASETS: [&str; 2] = ["support-bot", "help-desk"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is in the workspace")
        .to_path_buf()
}

/// `reverie dream` over examples/`dataset` with `extra` arguments; stdout on success.
fn dream(dataset: &str, cache: &Path, extra: &[&str]) -> String {
    let data = workspace().join("examples").join(dataset);
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

fn open_problems(report: &Value) -> Vec<&Value> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["affected"].as_u64().unwrap_or(0) > 0)
        .collect()
}

/// Costs and timings differ run to run; everything else must not.
fn without_costs(mut report: Value) -> Value {
    report["generated_at"] = Value::from("<generated_at>");
    for rule in report["rules"].as_array_mut().expect("rules") {
        rule["duration_ms"] = Value::from(0);
        rule["fuel_used"] = Value::from(0);
        rule["peak_memory_bytes"] = Value::from(0);
        // The number of calls and the findings' size are pinned; what a call cost is not.
        rule["calls"]["max_fuel"] = Value::from(0);
        rule["calls"]["max_ms"] = Value::from(0);
        rule["digest"] = Value::from("<digest>");
    }
    report
}

/// `reverie score --check` of a full-evidence report: the project's targets
/// (precision >= 0.9 and recall >= 0.8 per traced mistake, one problem each,
/// at most one unplanted problem, no ready edit for one). Prints the score.
fn score(dataset: &str, cache: &Path) -> Value {
    let report = cache.join(format!("{dataset}.full.json"));
    std::fs::write(
        &report,
        dream(dataset, cache, &["--format", "json", "--evidence", "all"]),
    )
    .expect("write the report");
    let truth = workspace()
        .join("examples")
        .join(dataset)
        .join("truth.json");
    let run = |format: &str| {
        Command::new(REVERIE)
            .arg("score")
            .arg("--report")
            .arg(&report)
            .arg("--truth")
            .arg(&truth)
            .args(["--format", format, "--check"])
            .output()
            .expect("run reverie score")
    };
    let text = run("text");
    println!("{}", String::from_utf8_lossy(&text.stdout));
    assert!(
        text.status.success(),
        "{dataset}: the analysis misses its targets:\n{}{}",
        String::from_utf8_lossy(&text.stdout),
        String::from_utf8_lossy(&text.stderr)
    );
    serde_json::from_slice(&run("json").stdout).expect("the score as JSON")
}

#[test]
fn every_planted_mistake_is_one_problem_with_an_edit_or_a_flag_and_the_reports_are_pinned() {
    let cache = tempfile::tempdir().expect("tempdir");
    let schema_path = workspace().join("host/schema/report.v2.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("read the schema"))
            .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");

    for dataset in DATASETS {
        let scored = score(dataset, cache.path());
        let report: Value =
            serde_json::from_str(&dream(dataset, cache.path(), &["--format", "json"]))
                .expect("JSON report");

        // Each planted mistake that left a trace is a problem with an edit that
        // is ready, or held back only because this report's ready edits already
        // fill the prompt-growth cap (it is ready in the next report); a
        // problem only the ratings show has a review flag, since a correlation
        // names no edit.
        let suggestions = report["suggestions"].as_array().expect("suggestions");
        let ready: Vec<&Value> = suggestions
            .iter()
            .filter(|s| s["status"] == "ready")
            .collect();
        for planted in scored["planted"].as_array().expect("planted") {
            if planted["traced"] == 0 {
                continue;
            }
            let key = planted["matched"].as_str().expect("matched");
            let own: Vec<&Value> = suggestions.iter().filter(|s| s["problem"] == key).collect();
            let edits: Vec<&&Value> = own
                .iter()
                .filter(|s| s["action"] != "flag_for_review")
                .collect();
            let acted_on = edits.iter().any(|s| {
                s["status"] == "ready"
                    || s["note"]
                        .as_str()
                        .is_some_and(|n| n.ends_with("over the cap of 800"))
            });
            let flagged = edits.is_empty() && own.iter().any(|s| s["action"] == "flag_for_review");
            assert!(
                acted_on || flagged,
                "{dataset}: problem {key} ({}) has no ready edit: {own:#?}",
                planted["id"]
            );
        }
        // The cap holds back the lower-ranked edits, never the first problem's.
        let first = report["problems"][0]["key"].clone();
        assert!(ready.iter().any(|s| s["problem"] == first), "{dataset}");
        // Ready edits are specific and carry no counts or user quotes.
        for s in &ready {
            let text = s["edit"]["text"].as_str().unwrap_or_default();
            assert!(
                text.contains('`') || text.contains('"'),
                "{dataset}: a ready edit names nothing: {text}"
            );
            assert!(
                !carries_count(text),
                "{dataset}: a ready edit carries a count: {text}"
            );
        }
        // Every rule ran and logged what it did.
        for rule in report["rules"].as_array().expect("rules") {
            assert_eq!(rule["status"], "ok", "{rule}");
            assert!(
                rule["log"].as_array().is_some_and(|l| !l.is_empty()),
                "{dataset}: {} logged nothing",
                rule["name"]
            );
        }
        // One new prompt holds the ready edits; each edit alone is its own new_prompt.
        let live = report["agent"]["system_prompt"].as_str().expect("live");
        let candidate = report["candidate_prompt"].as_str().expect("candidate");
        assert_eq!(report["apply"]["system_prompt"], candidate);
        for s in &ready {
            if let Some(text) = s["edit"]["text"].as_str() {
                assert!(candidate.contains(text.trim()));
                let alone = s["new_prompt"].as_str().expect("new_prompt");
                assert_eq!(alone, format!("{}\n\n{}", live.trim_end(), text.trim()));
            }
        }
        // Accuracy says what it rests on.
        assert_eq!(report["metrics"]["basis"], "explicit");
        assert!(
            report["metrics"]["accuracy_note"]
                .as_str()
                .is_some_and(|n| n.contains("rate more often when unhappy")),
            "{}",
            report["metrics"]["accuracy_note"]
        );

        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{dataset}: the report breaks its schema:\n{}",
            errors.join("\n")
        );
        check_golden(dataset, report);
    }
}

/// Whether a text counts occurrences ("complained 86 times", "41.2%"), which
/// goes stale in a prompt: a number followed by "times", or a percentage.
fn carries_count(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    let number = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    };
    words
        .windows(2)
        .any(|w| number(w[0]) && w[1].starts_with("time"))
        || words.iter().any(|w| {
            w.trim_end_matches(['.', ',', ')'])
                .strip_suffix('%')
                .is_some_and(number)
        })
}

/// The golden file pins everything but costs.
fn check_golden(dataset: &str, report: Value) {
    let golden = workspace().join(format!("tests/golden/{dataset}.report.json"));
    let actual = serde_json::to_string_pretty(&without_costs(report)).expect("serialise") + "\n";
    if std::env::var_os("REVERIE_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
        std::fs::write(&golden, &actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
        panic!("tests/golden/{dataset}.report.json exists (REVERIE_BLESS=1 writes it)")
    });
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
            "the {dataset} report differs from the golden file at line {}:\n--- golden\n{}\n--- now\n{}\n\
             (if the change is intended: REVERIE_BLESS=1 cargo test --release -p reverie --test e2e report)",
            at + 1,
            near(&expected),
            near(&actual)
        );
    }
}

#[test]
fn the_text_report_puts_problems_and_ready_edits_first() {
    let cache = tempfile::tempdir().expect("tempdir");
    let text = dream("support-bot", cache.path(), &[]);
    let at = |heading: &str| {
        text.find(heading)
            .unwrap_or_else(|| panic!("no {heading:?} section in:\n{text}"))
    };
    let order = [
        at("Problems ("),
        at("Ready edits ("),
        at("Accuracy"),
        at("Problem detail"),
        at("Rules"),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?} in:\n{text}"
    );
    assert!(text.contains("lookup_order"), "{text}");
    assert!(text.contains("% of"), "shares of interactions: {text}");
    assert!(text.contains("95% CI"), "{text}");
    assert!(
        text.contains("explicit"),
        "the accuracy says its basis: {text}"
    );
}

#[test]
fn a_later_cycle_keeps_the_same_problems_under_the_same_keys() {
    let cache = tempfile::tempdir().expect("tempdir");
    for dataset in DATASETS {
        // The first half of the window, then the second half with the first as previous.
        let first = dream(
            dataset,
            cache.path(),
            &["--format", "json", "--until", middle(dataset)],
        );
        let first_path = cache.path().join(format!("{dataset}.first.json"));
        std::fs::write(&first_path, &first).expect("write the first report");
        let first: Value = serde_json::from_str(&first).expect("JSON");
        let second: Value = serde_json::from_str(&dream(
            dataset,
            cache.path(),
            &[
                "--format",
                "json",
                "--since",
                middle(dataset),
                "--previous",
                first_path.to_str().expect("utf-8 path"),
            ],
        ))
        .expect("JSON");
        let keys = |r: &Value| -> Vec<String> {
            open_problems(r)
                .iter()
                .map(|p| p["key"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let (before, after) = (keys(&first), keys(&second));
        // The planted mistakes are in both halves: the same keys, ongoing, none resolved.
        for p in open_problems(&second) {
            if before.contains(&p["key"].as_str().unwrap_or_default().to_string()) {
                assert_eq!(p["status"], "ongoing", "{dataset}: {p:#}");
            }
        }
        let big: Vec<&String> = before
            .iter()
            .filter(|k| {
                open_problems(&first)
                    .iter()
                    .any(|p| p["key"] == k.as_str() && p["affected"].as_u64() >= Some(20))
            })
            .collect();
        for k in big {
            assert!(
                after.contains(k),
                "{dataset}: {k} was found in the first half and not under the same key in the second: {after:?}"
            );
        }
        for p in second["problems"].as_array().expect("problems") {
            assert_ne!(
                p["status"], "resolved",
                "{dataset}: nothing was fixed between the halves: {p:#}"
            );
        }
        assert_eq!(
            second["metrics"]["previous_window"]["verdict"],
            "inconclusive"
        );
    }

    // The same window twice: every problem ongoing with the same figures.
    let first = dream("support-bot", cache.path(), &["--format", "json"]);
    let first_path = cache.path().join("whole.json");
    std::fs::write(&first_path, &first).expect("write");
    let again: Value = serde_json::from_str(&dream(
        "support-bot",
        cache.path(),
        &[
            "--format",
            "json",
            "--previous",
            first_path.to_str().expect("utf-8"),
        ],
    ))
    .expect("JSON");
    for p in open_problems(&again) {
        assert_eq!(p["status"], "ongoing", "{}", p["key"]);
        assert_eq!(p["previous"]["affected"], p["affected"]);
    }
    assert_eq!(again["metrics"]["previous_window"]["difference"], 0.0);
}

/// The middle of each dataset's window.
fn middle(dataset: &str) -> &'static str {
    match dataset {
        "support-bot" => "2026-11-09T00:00:00Z",
        _ => "2027-02-15T00:00:00Z",
    }
}
