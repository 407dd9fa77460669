//! The rule as an operator meets it: agents from domains the shipped example
//! does not cover (an IT help desk, an airline), their tool calls, and what
//! the report and the run log say about them.

use super::*;
use reverie_rule_sdk::{Message, Role, ToolCall};

fn context(settings: &[(&str, &str)]) -> CycleContext {
    reverie_rule_sdk::test_context("You help employees with their accounts.", settings)
}

fn rule(settings: &[(&str, &str)]) -> ToolFailures {
    match ToolFailures::new(context(settings)) {
        Ok(rule) => rule,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

/// An interaction whose agent made these calls: (tool, arguments, error).
fn calls(id: &str, calls: &[(&str, &str, Option<&str>)]) -> Interaction {
    Interaction {
        id: id.into(),
        session_id: None,
        user_id: None,
        timestamp_ms: 0,
        config_version: Some("v1".into()),
        messages: vec![Message {
            role: Role::Assistant,
            content: String::new(),
            tool_call_id: None,
        }],
        tool_calls: calls
            .iter()
            .enumerate()
            .map(|(i, (name, arguments, error))| ToolCall {
                id: format!("call-{i}"),
                name: name.to_string(),
                arguments: arguments.to_string(),
                error: error.map(str::to_string),
                message_index: 0,
            })
            .collect(),
        metadata: "{}".into(),
    }
}

fn run(rule: &mut ToolFailures, interactions: Vec<Interaction>) -> (Findings, Vec<LogLine>) {
    let chunk = Chunk {
        interactions,
        feedback: Vec::new(),
    };
    if let Err(e) = rule.analyse(chunk) {
        panic!("analyse failed: {e}");
    }
    rule.findings_and_log()
}

fn instruction(suggestion: &Suggestion) -> Option<&str> {
    match &suggestion.edit {
        Edit::AppendInstruction(text) => Some(text),
        _ => None,
    }
}

fn flag(suggestion: &Suggestion) -> Option<&str> {
    match &suggestion.edit {
        Edit::FlagForReview(text) => Some(text),
        _ => None,
    }
}

fn edit_text(suggestion: &Suggestion) -> &str {
    match &suggestion.edit {
        Edit::AppendInstruction(t) | Edit::FlagForReview(t) => t,
        other => panic!("unexpected edit {other:?}"),
    }
}

/// The log line with this message and a field `key` = `value`, if any.
fn log_line<'a>(log: &'a [LogLine], message: &str, key: &str, value: &str) -> Option<&'a LogLine> {
    log.iter()
        .find(|l| l.message == message && l.fields.iter().any(|(k, v)| k == key && v == value))
}

fn field<'a>(line: &'a LogLine, key: &str) -> &'a str {
    line.fields
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// A help desk whose agent resets passwords. Employee ids are an uppercase
/// letter and digits (`E1234`); 30 times the agent passed the id as the
/// employee typed it, `e-1234`, and the tool refused. Some of those retried
/// the same call.
fn help_desk() -> Vec<Interaction> {
    let mut window = Vec::new();
    for i in 0..150 {
        let id = format!("int_{i:03}");
        let good = format!(
            r#"{{"employee_id": "{}{}", "notify": true}}"#,
            ["E", "C", "X"][i % 3],
            1000 + i
        );
        let interaction = if i % 5 == 0 {
            let bad = format!(r#"{{"employee_id": "e-{}", "notify": true}}"#, 1000 + i);
            let error = format!(
                "invalid employee id 'e-{}': expected format A9999",
                1000 + i
            );
            let mut made = vec![("reset_password", bad.as_str(), Some(error.as_str()))];
            if i % 10 == 0 {
                made.push(("reset_password", bad.as_str(), Some(error.as_str())));
            }
            calls(&id, &made)
        } else {
            calls(
                &id,
                &[
                    ("reset_password", good.as_str(), None),
                    ("open_ticket", "{\"queue\": \"it\"}", None),
                ],
            )
        };
        window.push(interaction);
    }
    window
}

#[test]
fn an_agent_passing_employee_ids_as_typed_is_told_the_field_and_its_shape() {
    let (findings, log) = run(&mut rule(&[]), help_desk());
    assert_eq!(findings.patterns.len(), 1, "{:?}", findings.patterns);
    let p = &findings.patterns[0];
    assert_eq!(p.key, "tool-failures/reset_password/invalid_argument");
    // Occurrences are interactions, not the 45 failed calls; the description says calls.
    assert_eq!(p.occurrences, 30);
    assert!(
        p.description
            .contains("in 30 of 150 interactions (20.0%): 45 of its 165 calls"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains(
            "`employee_id` contains `-` in 45 of 45 failing calls and in 0 of 120 successful ones compared"
        ),
        "{}",
        p.description
    );
    // Every failing interaction is evidence, in window order, far beyond 20.
    let expected: Vec<String> = (0..150).step_by(5).map(|i| format!("int_{i:03}")).collect();
    assert_eq!(p.evidence, expected);

    assert_eq!(findings.suggestions.len(), 1);
    let s = &findings.suggestions[0];
    assert_eq!(s.addresses, std::slice::from_ref(&p.key));
    assert_eq!(
        instruction(s),
        Some(
            "When you call `reset_password`, pass `employee_id` as an uppercase letter followed \
             by digits: remove characters such as `-` before the call."
        )
    );
    assert!(
        s.confidence >= 0.5,
        "a field that explains every failure: {}",
        s.confidence
    );

    let pattern_line = log_line(&log, "pattern", "key", &p.key);
    assert_eq!(
        pattern_line.map(|l| field(l, "explained_by")),
        Some("`employee_id` contains `-`")
    );
}

#[test]
fn no_edit_holds_a_count_a_share_or_a_value_the_agent_was_given() {
    let mut window = help_desk();
    // And a flaky directory tool, and records that are not there.
    for i in 0..40 {
        let error = (i % 2 == 0).then_some("directory lookup timed out after 30000 ms");
        window.push(calls(
            &format!("dir_{i}"),
            &[("find_manager", r#"{"employee_id": "E77"}"#, error)],
        ));
        if i < 10 {
            window.push(calls(
                &format!("nf_{i}"),
                &[(
                    "get_laptop",
                    r#"{"asset_tag": "LT-0042"}"#,
                    Some("asset 'LT-0042' not found"),
                )],
            ));
        }
    }
    let (findings, _) = run(&mut rule(&[]), window);
    assert!(
        findings.suggestions.len() >= 4,
        "{:?}",
        findings.suggestions
    );
    for s in &findings.suggestions {
        let text = edit_text(s);
        assert!(
            !text.chars().any(|c| c.is_ascii_digit()),
            "a figure in {text:?}"
        );
        assert!(
            !text.contains('%') && !text.contains("e-1") && !text.contains("LT-"),
            "{text:?}"
        );
        assert!(text.contains('`'), "names the tool: {text:?}");
    }
}

#[test]
fn a_count_sent_as_words_gets_a_fix_saying_pass_a_number() {
    let mut window = Vec::new();
    for i in 0..60 {
        let (args, error) = if i % 4 == 0 {
            (
                r#"{"flight": "BA117", "passenger_count": "two"}"#.to_string(),
                Some("passenger_count: expected integer"),
            )
        } else {
            (
                format!(r#"{{"flight": "BA117", "passenger_count": {}}}"#, 1 + i % 3),
                None,
            )
        };
        window.push(calls(
            &format!("trip_{i}"),
            &[("book_flight", &args, error)],
        ));
    }
    let (findings, _) = run(&mut rule(&[]), window);
    let s = &findings.suggestions[0];
    assert_eq!(
        instruction(s),
        Some(
            "When you call `book_flight`, pass `passenger_count` as a number, not as text (a JSON string)."
        )
    );
}

#[test]
fn a_tool_that_times_out_for_one_shape_of_arguments_is_not_called_an_outage() {
    // The airline's booking tool times out whenever three passengers are
    // booked together, never otherwise.
    let mut window = Vec::new();
    for i in 0..60 {
        let (args, error) = if i % 3 == 0 {
            (
                r#"{"passengers": ["A", "B", "C"]}"#,
                Some("upstream timed out"),
            )
        } else if i % 3 == 1 {
            (r#"{"passengers": ["A"]}"#, None)
        } else {
            (r#"{"passengers": ["A", "B"]}"#, None)
        };
        window.push(calls(&format!("b{i}"), &[("book_flight", args, error)]));
    }
    let (findings, log) = run(&mut rule(&[]), window);
    let p = &findings.patterns[0];
    assert_eq!(p.key, "tool-failures/book_flight/timeout");
    assert!(
        p.description.contains(
            "`passengers` has three items in 20 of 20 failing calls and in 0 of 40 successful ones compared"
        ),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("not simply down"),
        "{}",
        p.description
    );
    assert_eq!(findings.suggestions.len(), 2);
    let note = flag(&findings.suggestions[1]).unwrap_or_default();
    assert!(
        note.contains("only when `passengers` has three items"),
        "{note}"
    );
    assert!(!note.contains("no prompt can fix"), "{note}");
    assert!(
        log_line(
            &log,
            "pattern",
            "explained_by",
            "`passengers` has three items"
        )
        .is_some()
    );
}

#[test]
fn a_slow_tool_gets_graceful_handling_and_a_review_only_when_it_fails_often() {
    // A weather service times out on half its calls, whatever it is asked.
    let mut r = rule(&[]);
    let window = (0..10)
        .map(|i| {
            let error = (i < 5).then_some("upstream timed out after 30000 ms");
            let args = format!(r#"{{"city": "{}"}}"#, ["Lyon", "Oslo", "Porto"][i % 3]);
            calls(&format!("s{i}"), &[("fetch_forecast", &args, error)])
        })
        .collect();
    let (findings, _) = run(&mut r, window);
    let p = &findings.patterns[0];
    assert_eq!(p.key, "tool-failures/fetch_forecast/timeout");
    assert!(
        p.description.contains("the tool itself fails"),
        "{}",
        p.description
    );
    assert_eq!(findings.suggestions.len(), 2);
    assert_eq!(
        instruction(&findings.suggestions[0]),
        Some(
            "When `fetch_forecast` fails or times out, tell the user it did not go through and \
             offer to try again; never state a result that no tool returned."
        )
    );
    let review = flag(&findings.suggestions[1]).unwrap_or_default();
    assert!(review.contains("no prompt can fix"), "{review}");

    // Three timeouts in 100 calls: handle them, but no review.
    let mut r = rule(&[]);
    let window = (0..100)
        .map(|i| {
            calls(
                &format!("s{i}"),
                &[("fetch_forecast", "{}", (i < 3).then_some("timed out"))],
            )
        })
        .collect();
    let (findings, _) = run(&mut r, window);
    assert_eq!(findings.suggestions.len(), 1);
    assert!(instruction(&findings.suggestions[0]).is_some());
}

#[test]
fn when_no_field_explains_a_rejection_the_tools_own_message_is_quoted_with_low_confidence() {
    // Dates look alike whether the tool accepts them or not (the month is
    // out of range): no shape tells them apart.
    let mut window = Vec::new();
    for i in 0..40 {
        let (date, error) = if i % 4 == 0 {
            (
                format!("2026-{}-01", 13 + i % 3),
                Some(format!(
                    "invalid date '2026-{}-01': month must be 1-12",
                    13 + i % 3
                )),
            )
        } else {
            (format!("2026-{:02}-01", 1 + i % 9), None)
        };
        let args = format!(r#"{{"date": "{date}"}}"#);
        window.push(calls(
            &format!("d{i}"),
            &[("schedule_callback", &args, error.as_deref())],
        ));
    }
    let (findings, log) = run(&mut rule(&[]), window);
    let p = &findings.patterns[0];
    assert!(
        p.description.contains("No argument field tells"),
        "{}",
        p.description
    );
    let s = &findings.suggestions[0];
    assert_eq!(
        instruction(s),
        Some(
            "When you call `schedule_callback`, send arguments in the form it expects; it rejects \
             them with \"invalid date '<…>': month must be <n>-<n>\". Correct the arguments \
             instead of repeating the same call."
        )
    );
    assert!(s.confidence < 0.5, "{}", s.confidence);
    let l = log_line(&log, "pattern", "key", &p.key);
    assert_eq!(
        l.map(|l| field(l, "explained_by")),
        Some("no field (compared 10 failing and 30 successful calls)")
    );
}

#[test]
fn missing_records_and_refused_permissions_are_flagged_for_a_person() {
    let mut window = Vec::new();
    for i in 0..4 {
        window.push(calls(
            &format!("n{i}"),
            &[
                (
                    "get_employee",
                    r#"{"employee_id": "E1"}"#,
                    Some("404 employee not found"),
                ),
                (
                    "grant_admin",
                    r#"{"employee_id": "E1"}"#,
                    Some("403 Forbidden"),
                ),
            ],
        ));
    }
    let (findings, _) = run(&mut rule(&[]), window);
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "tool-failures/get_employee/not_found",
            "tool-failures/grant_admin/permission_denied"
        ]
    );
    assert_eq!(findings.suggestions.len(), 2);
    assert!(findings.suggestions.iter().all(|s| flag(s).is_some()));
    assert!(findings.metrics.iter().any(|m| m.value == 1.0));
}

#[test]
fn a_one_off_failure_is_dropped_and_the_run_log_says_why() {
    let mut window = help_desk();
    window.push(calls(
        "odd",
        &[(
            "get_employee",
            r#"{"employee_id": "E9"}"#,
            Some("not found: E9"),
        )],
    ));
    let (findings, log) = run(&mut rule(&[]), window);
    assert!(
        findings
            .patterns
            .iter()
            .all(|p| !p.key.contains("get_employee"))
    );
    let dropped = log_line(
        &log,
        "dropped",
        "key",
        "tool-failures/get_employee/not_found",
    );
    assert_eq!(
        dropped.map(|l| field(l, "reason")),
        Some("below min_occurrences (3 interactions)")
    );
    assert_eq!(dropped.map(|l| field(l, "interactions")), Some("1"));

    // Frequent enough in count, too rare in share once the window is large.
    let (findings, log) = run(
        &mut rule(&[("min_occurrences", "1"), ("min_share", "0.01")]),
        help_desk()
            .into_iter()
            .chain([calls("odd", &[("get_employee", "{}", Some("not found"))])])
            .collect(),
    );
    assert!(
        findings
            .patterns
            .iter()
            .all(|p| !p.key.contains("get_employee"))
    );
    let dropped = log_line(
        &log,
        "dropped",
        "key",
        "tool-failures/get_employee/not_found",
    );
    assert_eq!(
        dropped.map(|l| field(l, "reason")),
        Some("below min_share (1.0% of interactions)")
    );
}

#[test]
fn the_run_log_gives_the_settings_what_was_seen_and_what_came_of_it() {
    let (_, log) = run(&mut rule(&[("review_failure_rate", "0.2")]), help_desk());
    let settings = &log[0];
    assert_eq!(settings.message, "settings");
    assert_eq!(field(settings, "review_failure_rate"), "0.2");
    assert_eq!(field(settings, "min_occurrences"), "3");
    let seen = &log[1];
    assert_eq!(
        (
            field(seen, "interactions"),
            field(seen, "calls"),
            field(seen, "failed_calls")
        ),
        ("150", "285", "45")
    );
    let tool = log_line(&log, "tool", "tool", "reset_password");
    assert_eq!(
        tool.map(|l| (field(l, "calls"), field(l, "interactions"))),
        Some(("165", "150"))
    );
    let classes = log.iter().find(|l| l.message == "failed calls by class");
    assert_eq!(classes.map(|l| field(l, "invalid_argument")), Some("45"));
    assert!(log.len() <= 30, "{} lines", log.len());
}

#[test]
fn a_window_with_many_tools_keeps_the_run_log_short() {
    let window = (0..200)
        .map(|i| {
            let tool = format!("tool_{i}");
            calls(&format!("i{i}"), &[(tool.as_str(), "{}", Some("boom"))])
        })
        .collect();
    let (_, log) = run(
        &mut rule(&[("min_occurrences", "1"), ("min_share", "0")]),
        window,
    );
    assert!(log.len() <= 30, "{} lines", log.len());
    assert!(log.iter().any(|l| l.message == "more tools not listed"));
    assert!(log.iter().any(|l| l.message == "more patterns not listed"));
}

#[test]
fn an_interaction_with_repeated_failures_counts_once() {
    let mut window = vec![calls(
        "retry-loop",
        &[("reset_password", "{}", Some("invalid id")); 25],
    )];
    for i in 0..30 {
        window.push(calls(
            &format!("i{i}"),
            &[("reset_password", "{}", Some("invalid id"))],
        ));
    }
    for i in 0..69 {
        window.push(calls(&format!("fine{i}"), &[]));
    }
    let (findings, _) = run(&mut rule(&[]), window);
    let p = &findings.patterns[0];
    assert_eq!(p.occurrences, 31);
    assert_eq!(p.evidence.len(), 31);
    assert_eq!(p.evidence[0], "retry-loop");
    assert_eq!(p.evidence[1], "i0");
    assert!(
        p.description
            .contains("in 31 of 100 interactions (31.0%): 55 of its 55 calls"),
        "{}",
        p.description
    );
}

#[test]
fn evidence_stops_at_the_cap_while_occurrences_keep_counting() {
    let window: Vec<Interaction> = (0..MAX_EVIDENCE + 7)
        .map(|i| {
            calls(
                &format!("i{i}"),
                &[("reset_password", "{}", Some("timed out"))],
            )
        })
        .collect();
    let (findings, _) = run(&mut rule(&[]), window);
    let p = &findings.patterns[0];
    assert_eq!(p.occurrences as usize, MAX_EVIDENCE + 7);
    assert_eq!(p.evidence.len(), MAX_EVIDENCE);
    assert_eq!(p.evidence.last().map(String::as_str), Some("i4999"));
}

#[test]
fn the_sample_error_is_the_most_common_shape_and_memory_stays_bounded() {
    let mut group = Group::default();
    for i in 0..1000 {
        group.record_message(&format!("bad field \"f{i}\" in schema v{i}x"));
        // Each of these has a shape of its own (letters differ, digits don't mask them).
        group.record_message(&format!(
            "unique error {}",
            char::from(b'a' + (i % 26) as u8)
        ));
        group.record_message(&format!("weird {i:x}{}", "q".repeat(i % 7)));
    }
    // Far more shapes than the cap were seen; the map kept to it.
    assert!(group.messages.len() <= MAX_MESSAGES);
    assert!(group.messages.len() > MAX_MESSAGES / 2);
    assert_eq!(
        group.sample(),
        (
            "bad field \"<…>\" in schema v<n>x",
            "bad field \"f0\" in schema v0x"
        )
    );
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    for (name, value) in [
        ("min_occurrences", "0"),
        ("min_occurrences", "three"),
        ("min_share", "1.5"),
        ("severity_high_share", "2"),
        ("severity_medium_share", "-0.1"),
        ("review_failure_rate", "NaN"),
    ] {
        match ToolFailures::new(context(&[(name, value)])) {
            Ok(_) => panic!("{name}={value} was accepted"),
            Err(e) => assert!(e.contains(name), "{e}"),
        }
    }
}

#[test]
fn info_declares_the_analyse_stage_and_every_setting_with_a_usable_default() {
    let info = ToolFailures::info();
    assert_eq!(info.name, "tool-failures");
    assert_eq!(info.stages, [Stage::Analyse]);
    let defaults: Vec<(String, String)> = info
        .settings
        .iter()
        .map(|s| (s.name.clone(), s.default_value.clone().unwrap_or_default()))
        .collect();
    let pairs: Vec<(&str, &str)> = defaults
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(rule(&pairs).settings, rule(&[]).settings);
    assert_eq!(pairs.len(), 5);
}

#[test]
fn the_same_window_gives_the_same_findings_and_log() {
    let window = || {
        (0..60)
            .map(|i| {
                let tool = ["reset_password", "open_ticket", "grant_admin"][i % 3];
                let error = ["timed out", "invalid sku 'A-1'", "404", "boom"][i % 4];
                let args = format!(r#"{{"n": {i}}}"#);
                calls(
                    &format!("i{i}"),
                    &[(tool, &args, Some(error)), ("open_ticket", "{}", None)],
                )
            })
            .collect::<Vec<_>>()
    };
    let a = format!("{:?}", run(&mut rule(&[]), window()));
    let b = format!("{:?}", run(&mut rule(&[]), window()));
    assert_eq!(a, b);
    assert!(a.contains("tool-failures/grant_admin/other"));
}

/// The rule on the committed example dataset (`examples/support-bot`): what
/// an operator of the shop's bot sees. The rule's code knows nothing of the
/// shop; everything below comes from the calls.
mod example_dataset {
    use super::*;
    use serde_json::Value as Json;

    /// The interactions as the host hands them to rules: each tool call
    /// joined with the `tool` message that answers it.
    fn load() -> Vec<Interaction> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/support-bot/interactions.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Json>(line).ok())
            .map(|record| {
                let messages = record["messages"].as_array().cloned().unwrap_or_default();
                let mut made = Vec::new();
                for (i, m) in messages.iter().enumerate() {
                    for call in m["tool_calls"].as_array().into_iter().flatten() {
                        let id = call["id"].as_str().unwrap_or_default();
                        let answer = messages
                            .iter()
                            .find(|r| r["tool_call_id"].as_str() == Some(id));
                        let error = answer
                            .filter(|r| r["is_error"].as_bool() == Some(true))
                            .and_then(|r| r["content"].as_str())
                            .map(str::to_string);
                        made.push(ToolCall {
                            id: id.to_string(),
                            name: call["function"]["name"].as_str().unwrap_or_default().into(),
                            arguments: call["function"]["arguments"]
                                .as_str()
                                .unwrap_or_default()
                                .into(),
                            error,
                            message_index: i as u32,
                        });
                    }
                }
                Interaction {
                    id: record["id"].as_str().unwrap_or_default().into(),
                    session_id: None,
                    user_id: None,
                    timestamp_ms: 0,
                    config_version: None,
                    messages: Vec::new(),
                    tool_calls: made,
                    metadata: "{}".into(),
                }
            })
            .collect()
    }

    #[test]
    fn the_shops_bot_is_told_to_pass_order_ids_as_digits_and_not_to_invent_deliveries() {
        let window = load();
        assert!(
            window.len() >= 2000,
            "example dataset missing: {}",
            window.len()
        );
        let mut r = rule(&[]);
        for chunk in window.chunks(256) {
            assert!(
                r.analyse(Chunk {
                    interactions: chunk.to_vec(),
                    feedback: Vec::new()
                })
                .is_ok()
            );
        }
        let (findings, log) = r.findings_and_log();
        let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "tool-failures/lookup_order/invalid_argument",
                "tool-failures/track_shipment/timeout"
            ]
        );
        // Occurrences are interactions, each one evidence.
        for p in &findings.patterns {
            assert_eq!(p.evidence.len(), p.occurrences as usize, "{}", p.key);
            assert!(p.occurrences > 100, "{}: {}", p.key, p.occurrences);
        }
        let fix = |key: &str| {
            findings
                .suggestions
                .iter()
                .filter(|s| s.addresses.iter().any(|a| a == key))
                .filter_map(instruction)
                .collect::<Vec<_>>()
        };
        let lookup = fix("tool-failures/lookup_order/invalid_argument");
        assert_eq!(lookup.len(), 1);
        assert!(
            lookup[0].contains("`order_id`") && lookup[0].contains("`#`"),
            "{}",
            lookup[0]
        );
        let shipment = fix("tool-failures/track_shipment/timeout");
        assert_eq!(shipment.len(), 1);
        assert!(
            shipment[0].contains("never state a result that no tool returned"),
            "{}",
            shipment[0]
        );

        // The one `check_inventory` colour that is not there: dropped, and said so.
        let dropped = log_line(
            &log,
            "dropped",
            "key",
            "tool-failures/check_inventory/not_found",
        );
        assert_eq!(dropped.map(|l| field(l, "interactions")), Some("1"));
    }
}

#[test]
fn an_outage_that_answers_503_and_times_out_is_one_pattern() {
    // A ticketing backend goes down: most calls get a 503, some time out, one
    // interaction sees both. One root cause, one pattern, one fix.
    let mut r = rule(&[]);
    let args = r#"{"summary": "printer jams"}"#;
    let mut window: Vec<Interaction> = (0..30)
        .map(|i| {
            let error = match i {
                0..=9 => Some("503 Service Unavailable"),
                10..=13 => Some("request timed out after 30 s"),
                _ => None,
            };
            calls(&format!("t{i:02}"), &[("open_case", args, error)])
        })
        .collect();
    window.push(calls(
        "both",
        &[
            ("open_case", args, Some("503 Service Unavailable")),
            ("open_case", args, Some("request timed out after 30 s")),
        ],
    ));
    let (findings, _) = run(&mut r, window);
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, vec!["tool-failures/open_case/unavailable"]);
    let p = &findings.patterns[0];
    assert_eq!(
        p.occurrences, 15,
        "11 unavailable and 4 timeouts, `both` counted once"
    );
    assert_eq!(p.evidence.len(), 15);
    assert_eq!(p.evidence.last().map(String::as_str), Some("both"));
    assert!(
        findings
            .suggestions
            .iter()
            .filter_map(instruction)
            .any(|t| t.contains("`open_case`")),
        "{:?}",
        findings.suggestions
    );
}
