//! A config file is parsed strictly: a typo or a bad value stops the run with a message
//! naming the file and the key, before any rule runs.

use crate::common::{Dataset, Dream};

#[test]
fn a_misspelt_key_is_named() {
    let data = Dataset::standard();
    let stderr = Dream::new(&data)
        .config("[defaults]\ntimeout_msec = 100\n")
        .fails();
    assert!(stderr.contains("timeout_msec"), "{stderr}");
    assert!(stderr.contains("reverie.toml"), "{stderr}");
}

#[test]
fn an_unknown_builtin_and_an_absurd_limit_are_named_with_their_place() {
    let data = Dataset::standard();
    let stderr = Dream::new(&data)
        .config("[[rules]]\nbuiltin = \"sentiment\"\n")
        .fails();
    assert!(stderr.contains("rules[0].builtin"), "{stderr}");
    assert!(
        stderr.contains("corrections"),
        "lists the built-ins: {stderr}"
    );

    let stderr = Dream::new(&data)
        .config("[[rules]]\nbuiltin = \"tool-failures\"\nmemory_mib = 100000\n")
        .fails();
    assert!(stderr.contains("rules[0].memory_mib"), "{stderr}");
}

#[test]
fn a_setting_the_rule_does_not_declare_fails_that_rule_alone() {
    let data = Dataset::standard();
    let report = Dream::new(&data)
        .config(
            "[[rules]]\nbuiltin = \"tool-failures\"\nsettings = { min_occurences = 2 }\n\
             [[rules]]\nbuiltin = \"corrections\"\n",
        )
        .report();
    let rules = report["rules"].as_array().expect("rules");
    assert_eq!(rules[0]["status"], "failed");
    let message = rules[0]["failure"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("min_occurences"), "{message}");
    assert!(
        message.contains("min_occurrences"),
        "lists what it accepts: {message}"
    );
    assert_eq!(rules[1]["status"], "ok");
}

#[test]
fn a_bad_setting_value_is_reported_by_the_rule() {
    let data = Dataset::standard();
    let report = Dream::new(&data)
        .config(
            "[[rules]]\nbuiltin = \"tool-failures\"\nsettings = { min_occurrences = \"many\" }\n",
        )
        .report();
    let rule = &report["rules"][0];
    assert_eq!(rule["failure"]["kind"], "rule_error", "{rule}");
    assert!(
        rule["failure"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("min_occurrences"),
        "{rule}"
    );
}

#[test]
fn the_example_config_runs_every_built_in_rule_with_the_settings_it_documents() {
    let data = Dataset::standard();
    let example =
        std::fs::read_to_string(crate::common::workspace_root().join("examples/reverie.toml"))
            .expect("read examples/reverie.toml");
    let report = Dream::new(&data).config(&example).report();
    let rules = report["rules"].as_array().expect("rules");
    let names: Vec<&str> = rules.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "tool-failures",
            "retry-loops",
            "made-up-ids",
            "unconfirmed-actions",
            "corrections",
            "outcome-drivers",
            "feedback-themes"
        ]
    );
    for rule in rules {
        assert_eq!(rule["status"], "ok", "{rule}");
    }
}

/// A rule author tries a rule without writing a config: `--rule PATH.wasm` runs it beside the
/// built-in rules, with the default limits; a path that is not there is named, and nothing runs.
#[test]
fn dream_rule_adds_a_component_without_a_config_file() {
    let data = Dataset::standard();
    let rule = crate::common::fixture("well-behaved");
    let report = Dream::new(&data)
        .arg("--rule")
        .arg(&rule.display().to_string())
        .report();
    crate::common::assert_ok(&report, "well-behaved");
    assert!(
        crate::common::find_rule(&report, "tool-failures").is_some(),
        "the built-in rules run too: {report:#}"
    );

    let missing = data_path(&data, "no-such-rule.wasm");
    let stderr = Dream::new(&data).arg("--rule").arg(&missing).fails();
    assert!(
        stderr.contains("--rule") && stderr.contains("no-such-rule.wasm"),
        "{stderr}"
    );
}

fn data_path(data: &Dataset, name: &str) -> String {
    data.interactions.with_file_name(name).display().to_string()
}
