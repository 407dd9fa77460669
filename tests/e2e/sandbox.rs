//! The sandbox, as an operator sees it: a hostile or broken rule fails alone, with a failure
//! kind and message that say what it did, and every other rule's findings are whole.
//!
//! Each test runs one fixture of `tests/fixtures` beside the `well-behaved` fixture and the
//! built-in `tool-failures` rule over the standard dataset, in chunks of 10 interactions.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use crate::common::{
    self, Dataset, Dream, assert_bystanders_whole, assert_failed, assert_ok, find_rule,
    fixture_rule, hostile_config, metric, pattern, rule, workspace_root,
};

const MIB: u64 = 1 << 20;

#[test]
fn a_rule_that_loops_forever_runs_out_of_fuel() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("loop-forever", "fuel = 1_000_000"));

    let report = Dream::new(&data).config(&config).report();

    assert_failed(&report, "loop-forever", "out_of_fuel");
    assert_bystanders_whole(&report, &data);
}

#[test]
fn a_rule_that_loops_forever_with_fuel_out_of_reach_hits_its_deadline() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule(
        "loop-forever",
        "fuel = 1_000_000_000_000_000\ntimeout_ms = 300",
    ));

    let outcome = Dream::new(&data).config(&config).run();
    let report = outcome.report();

    assert_failed(&report, "loop-forever", "timeout");
    assert_bystanders_whole(&report, &data);
    // The rule's own 300 ms deadline applied, not the 10 s default.
    assert!(
        outcome.elapsed < Duration::from_secs(10),
        "the dream took {:?}: the rule's timeout_ms = 300 was not obeyed",
        outcome.elapsed
    );
}

#[test]
fn without_fuel_metering_a_rule_that_loops_forever_is_stopped_by_its_deadline() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule(
        "loop-forever",
        "metering = \"epoch\"\ntimeout_ms = 300",
    ));

    let outcome = Dream::new(&data).config(&config).run();
    let report = outcome.report();

    assert_failed(&report, "loop-forever", "timeout");
    assert_bystanders_whole(&report, &data);
    assert_eq!(
        rule(&report, "loop-forever")["fuel_used"],
        0,
        "no fuel is counted"
    );
    assert!(
        outcome.elapsed < Duration::from_secs(10),
        "the dream took {:?}: the rule's timeout_ms = 300 was not obeyed",
        outcome.elapsed
    );
}

/// Every hostile rule fails alone, with its own kind, under either metering.
#[test]
fn hostile_rules_fail_alone_under_fuel_and_under_epoch_metering() {
    let data = Dataset::standard();
    for metering in ["fuel", "epoch"] {
        let hostile = [
            fixture_rule("loop-forever", "timeout_ms = 300"),
            fixture_rule("memory-bomb", "memory_mib = 16"),
            fixture_rule("panics", ""),
            fixture_rule("stack-overflow", ""),
            fixture_rule("oversized-findings", ""),
        ]
        .concat();
        let config = format!(
            "[defaults]\nmetering = \"{metering}\"\n\n{}",
            hostile_config(&hostile)
        );
        let report = Dream::new(&data).config(&config).report();
        for (name, kind) in [
            // Under fuel metering too: 5 G of fuel outlasts 300 ms.
            ("loop-forever", "timeout"),
            ("memory-bomb", "memory_limit"),
            ("panics", "panic"),
            ("stack-overflow", "stack_overflow"),
            ("oversized-findings", "findings_too_large"),
        ] {
            assert_failed(&report, name, kind);
        }
        assert_bystanders_whole(&report, &data);
        let fuel = rule(&report, "well-behaved")["fuel_used"].as_u64();
        match metering {
            "fuel" => assert!(fuel > Some(0), "fuel metering counts fuel"),
            _ => assert_eq!(fuel, Some(0), "epoch metering counts none"),
        }
    }
}

#[test]
fn a_rule_that_allocates_without_end_hits_its_memory_cap_and_the_host_carries_on() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("memory-bomb", "memory_mib = 16"));

    // `report()` asserts exit 0: the host process survived.
    let report = Dream::new(&data).config(&config).report();

    assert_failed(&report, "memory-bomb", "memory_limit");
    let peak = rule(&report, "memory-bomb")["peak_memory_bytes"].as_u64();
    assert!(
        peak.is_some_and(|bytes| bytes <= 16 * MIB),
        "memory-bomb's peak memory should be reported and within its 16 MiB cap: {peak:?}"
    );
    assert_bystanders_whole(&report, &data);
}

/// The SDK's argument arena (`reverie_rule_sdk::arena`) reuses a block of a call's arguments
/// once everything in it is dropped. A rule that keeps every string it is given pins every
/// block; past the last one its arguments come from the ordinary allocator. Either way what it
/// kept must stay exactly what it was given, across 3,000 interactions of ~4 KB (11 MiB of
/// arguments, more than the arena's 8 blocks of 1 MiB).
#[test]
fn a_rule_that_keeps_every_string_it_is_given_keeps_them_intact() {
    let interactions: Vec<serde_json::Value> = (1..=3000)
        .map(|n| {
            let mut i = common::interaction(n);
            i["messages"][1]["content"] =
                format!("{n} {}", "where is my order? ".repeat(200)).into();
            i
        })
        .collect();
    let lines: Vec<String> = interactions.iter().map(|i| i.to_string()).collect();
    let data = Dataset::from_lines(&lines, &[]);
    let config = format!(
        "[cycle]\nchunk_size = 256\n\n{}",
        fixture_rule("keeps-arguments", "memory_mib = 64")
    );

    let report = Dream::new(&data).config(&config).report();

    assert_ok(&report, "keeps-arguments");
    let ids: Vec<String> = interactions
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let texts: Vec<String> = interactions
        .iter()
        .flat_map(|i| i["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    assert!(
        bytes > 10 << 20,
        "the test needs more arguments than the arena's 8 MiB: {bytes}"
    );
    assert_eq!(metric(&report, "keeps-arguments", "ids"), 3000.0);
    assert_eq!(
        metric(&report, "keeps-arguments", "ids_checksum"),
        fnv(&ids)
    );
    assert_eq!(
        metric(&report, "keeps-arguments", "text_bytes"),
        bytes as f64
    );
    assert_eq!(
        metric(&report, "keeps-arguments", "texts_checksum"),
        fnv(&texts),
        "a kept message text changed after the call that passed it"
    );
}

/// The fixture's checksum (FNV-1a, 32 bits, a 0 byte after each string).
fn fnv(strings: &[String]) -> f64 {
    let mut hash: u32 = 0x811c_9dc5;
    for s in strings {
        for byte in s.bytes().chain([0]) {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    }
    f64::from(hash)
}

#[test]
fn a_panicking_rule_reports_its_panic_message() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("panics", ""));

    let report = Dream::new(&data).config(&config).report();

    let message = assert_failed(&report, "panics", "panic");
    assert!(
        message.contains("fixture panic: boom"),
        "the failure should carry the panic text, got: {message}"
    );
    assert_bystanders_whole(&report, &data);
}

#[test]
fn a_rule_that_recurses_without_end_overflows_its_stack() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("stack-overflow", ""));

    let report = Dream::new(&data).config(&config).report();

    assert_failed(&report, "stack-overflow", "stack_overflow");
    assert_bystanders_whole(&report, &data);
}

#[test]
fn findings_over_the_size_cap_are_refused_whole() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("oversized-findings", ""));

    let report = Dream::new(&data).config(&config).report();

    assert_failed(&report, "oversized-findings", "findings_too_large");
    assert!(
        pattern(&report, "oversized/0").is_none(),
        "none of the oversized findings may reach the report"
    );
    assert_bystanders_whole(&report, &data);
}

/// Runs `malformed-findings` with `defect` and returns the failure message after checking that
/// nothing of its findings reached the report.
fn malformed(defect: &str) -> String {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule(
        "malformed-findings",
        &format!("settings = {{ defect = \"{defect}\" }}"),
    ));

    let report = Dream::new(&data).config(&config).report();

    let message = assert_failed(&report, "malformed-findings", "malformed_findings");
    assert!(
        pattern(&report, "malformed/well-formed").is_none() && pattern(&report, "").is_none(),
        "no pattern of the malformed findings may reach the report:\n{:#}",
        report["problems"]
    );
    let suggestions = report["suggestions"].to_string();
    assert!(
        !suggestions.contains("Be careful."),
        "no suggestion of the malformed findings may reach the report:\n{suggestions}"
    );
    assert_bystanders_whole(&report, &data);
    message
}

#[test]
fn a_pattern_with_an_empty_key_is_malformed() {
    let message = malformed("empty-key");
    assert!(
        message.contains("key"),
        "the message should say the key is wrong, got: {message}"
    );
}

#[test]
fn a_confidence_outside_zero_to_one_is_malformed() {
    let message = malformed("confidence");
    assert!(
        message.contains("confidence"),
        "the message should say the confidence is wrong, got: {message}"
    );
}

#[test]
fn a_metric_that_is_not_a_number_is_malformed() {
    let message = malformed("nan");
    let lower = message.to_lowercase();
    assert!(
        lower.contains("nan") || lower.contains("finite") || lower.contains("not a number"),
        "the message should say the metric value is not a number, got: {message}"
    );
}

#[test]
fn a_rule_built_against_another_contract_version_is_refused_at_load() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("wrong-contract", ""));

    let report = Dream::new(&data).config(&config).report();

    // A rule that fails to load is named after its file.
    let message = assert_failed(&report, "wrong_contract", "incompatible_contract");
    assert!(
        message.contains("0.2.0") && message.contains("0.1"),
        "the message should name the rule's contract (0.2.0) and the host's (0.1.x), got: {message}"
    );
    assert_bystanders_whole(&report, &data);
}

#[test]
fn a_rule_sees_no_host_files_and_no_environment() {
    let data = Dataset::standard();
    let config = hostile_config(&fixture_rule("sandbox-probe", ""));

    let report = Dream::new(&data)
        .config(&config)
        .env("HOME", "/root")
        .env("PATH", "/usr/bin:/bin")
        .env("REVERIE_E2E_SECRET", "must-not-leak")
        .report();

    assert_ok(&report, "sandbox-probe");
    let finished = pattern(&report, "probe/ok").expect("the sandbox probe ran to the end");
    assert!(
        finished["rule"] == "sandbox-probe",
        "probe/ok should come from sandbox-probe: {finished:#}"
    );
    for name in [
        "fs_read_etc_passwd",
        "fs_read_dir_cwd",
        "env_home",
        "env_path",
        "env_count",
    ] {
        assert_eq!(
            metric(&report, "sandbox-probe", name),
            0.0,
            "the rule could see the host: metric {name} should be 0"
        );
    }
    assert_bystanders_whole(&report, &data);
}

#[test]
fn a_rule_cannot_open_a_network_connection() {
    let data = Dataset::standard();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener on loopback");
    listener
        .set_nonblocking(true)
        .expect("make the listener non-blocking");
    let port = listener
        .local_addr()
        .expect("the listener's address")
        .port();
    let config = hostile_config(&fixture_rule(
        "socket-probe",
        &format!("settings = {{ port = \"{port}\" }}"),
    ));

    let report = Dream::new(&data).config(&config).report();

    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("the rule opened a connection to the test's listener from {peer}"),
        Err(e) => panic!("cannot check the test's listener: {e}"),
    }
    // The rule imports wasi:sockets, as every language runtime's build does: it loads (the
    // import is allowed), and the connection fails (nothing is granted behind it).
    assert!(
        find_rule(&report, "socket_probe").is_none(),
        "a rule importing wasi:sockets loads: {report:#}"
    );
    assert_ok(&report, "socket-probe");
    assert_eq!(
        metric(&report, "socket-probe", "tcp_connect"),
        0.0,
        "the rule reports it opened a TCP connection"
    );
    assert_bystanders_whole(&report, &data);
}

/// A fixture no test runs proves nothing: every crate under `tests/fixtures/rules` must be named
/// (as a quoted string) by this module or, for the bystander, by `common`.
#[test]
fn every_fixture_is_run_by_a_test() {
    let sources = [
        include_str!("sandbox.rs"),
        include_str!("llm.rs"),
        include_str!("common/mod.rs"),
    ];
    let rules = workspace_root().join("tests/fixtures/rules");
    let entries = std::fs::read_dir(&rules)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", rules.display()));
    let mut unused = Vec::new();
    for entry in entries {
        let entry = entry.expect("read an entry of tests/fixtures/rules");
        let name = entry.file_name().to_string_lossy().into_owned();
        let quoted = format!("\"{name}\"");
        if entry.path().join("Cargo.toml").is_file() && !sources.iter().any(|s| s.contains(&quoted))
        {
            unused.push(name);
        }
    }
    assert!(unused.is_empty(), "fixtures no test runs: {unused:?}");
}
