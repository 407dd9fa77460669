//! A rule author's path, with the real binary and a real Rust toolchain: `reverie rule new`
//! makes a rule, `rule build` builds and checks it, `rule test` runs it over its fixtures the way
//! a dream does and judges its findings and costs, and `dream --rule` runs it beside the built-in
//! rules; a server runs it for the one agent it is given to. The build compiles the SDK for
//! wasm32-wasip2 once (its own target folder).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::reverie;
use crate::common::server::{Finished, run};

/// `reverie rule build`, with the guests' build kept apart from the host's settings.
fn rule_build(dir: &Path) -> Finished {
    let target = crate::common::workspace_root().join("target/authoring");
    run(reverie()
        .args(["rule", "build"])
        .arg(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET"))
}

fn rule_test(component: &Path, fixtures: &Path, extra: &[&str]) -> Finished {
    run(reverie()
        .args(["rule", "test"])
        .arg(component)
        .arg("--fixtures")
        .arg(fixtures)
        .args(extra))
}

#[test]
fn a_new_rule_builds_passes_its_test_and_runs_in_a_dream() {
    let work = tempfile::tempdir().expect("tempdir");
    let sdk = crate::common::workspace_root().join("plugins/sdk");

    // A name that is not one is refused with what a name may be.
    let bad = run(reverie()
        .args(["rule", "new", "Refund Check", "--dir"])
        .arg(work.path())
        .arg("--sdk")
        .arg(&sdk));
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("lowercase letters"), "{}", bad.stderr);

    let made = run(reverie()
        .args(["rule", "new", "refund-check", "--dir"])
        .arg(work.path())
        .arg("--sdk")
        .arg(&sdk));
    assert!(made.status.success(), "{}", made.stderr);
    let dir = work.path().join("refund-check");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "README.md",
        "fixtures/expected.json",
    ] {
        assert!(dir.join(file).is_file(), "rule new made no {file}");
    }
    // Never over an existing rule.
    let again = run(reverie()
        .args(["rule", "new", "refund-check", "--dir"])
        .arg(work.path())
        .arg("--sdk")
        .arg(&sdk));
    assert!(!again.status.success());
    assert!(again.stderr.contains("exists already"), "{}", again.stderr);

    let built = rule_build(&dir);
    assert!(built.status.success(), "{}\n{}", built.stdout, built.stderr);
    assert!(
        built.stdout.contains("loads as a dream loads it"),
        "{}",
        built.stdout
    );
    let component = crate::common::workspace_root()
        .join("target/authoring/wasm32-wasip2/release/refund_check.wasm");
    assert!(component.is_file());

    // Its own test passes, with a limits report per call.
    let fixtures = dir.join("fixtures");
    let passed = rule_test(&component, &fixtures, &[]);
    assert!(
        passed.status.success(),
        "{}\n{}",
        passed.stdout,
        passed.stderr
    );
    for row in ["fuel", "time", "memory", "findings", "pass:"] {
        assert!(
            passed.stdout.contains(row),
            "no {row} in:\n{}",
            passed.stdout
        );
    }

    // A finding that differs fails the test and says how.
    let expected = fixtures.join("expected.json");
    let text = std::fs::read_to_string(&expected).expect("read expected.json");
    std::fs::write(
        &expected,
        text.replace("\"occurrences\": 2", "\"occurrences\": 3"),
    )
    .expect("write expected.json");
    let differs = rule_test(&component, &fixtures, &[]);
    assert!(!differs.status.success());
    assert!(
        differs.stdout.contains("refund-check/lookup_order")
            && differs.stdout.contains("expected 3"),
        "{}",
        differs.stdout
    );
    std::fs::write(&expected, text).expect("restore expected.json");

    // Production limits too tight for it: the test fails on the limit.
    let config = work.path().join("tight.toml");
    std::fs::write(&config, "[defaults]\nfuel = 100\n").expect("write the config");
    let tight = rule_test(
        &component,
        &fixtures,
        &["--config", &config.display().to_string()],
    );
    assert!(!tight.status.success());
    assert!(tight.stdout.contains("out_of_fuel"), "{}", tight.stdout);

    // And a dream runs it beside the built-in rules.
    let dream = Command::new(crate::common::REVERIE)
        .args([
            "dream",
            "--format",
            "json",
            "--no-progress",
            "--interactions",
        ])
        .arg(fixtures.join("interactions.jsonl"))
        .arg("--rule")
        .arg(&component)
        .output()
        .expect("run reverie dream");
    assert!(
        dream.status.success(),
        "{}",
        String::from_utf8_lossy(&dream.stderr)
    );
    let report: Value = serde_json::from_slice(&dream.stdout).expect("a JSON report");
    crate::common::assert_ok(&report, "refund-check");
    let facets: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .flat_map(|p| p["facets"].as_array().into_iter().flatten())
        .filter(|f| f["rule"] == "refund-check")
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert_eq!(facets, ["refund-check/lookup_order"], "{report:#}");

    // On a server: installed, given to one agent, run by that agent's dreams alone.
    crate::installed::an_agent_dreams_with_the_installed_rule(
        &component,
        "refund-check",
        "refund-check/lookup_order",
        &fixtures,
    );
}
