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

    /// The support bot's interactions as the host hands them to rules.
    fn load() -> Vec<Interaction> {
        reverie_rule_sdk::examples::interactions("support-bot")
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

/// An airline's booking tool that fails in five ways its errors name but no
/// class covers, each written with the ids and amounts of its booking, in
/// the languages its backends answer in. Failure `k` of shape `s` is in
/// interaction `prefix-s-k`; every third interaction books fine.
fn airline_bookings(prefix: &str, per_shape: usize, offset: usize) -> Vec<Interaction> {
    let errors: [fn(usize) -> String; 5] = [
        |n| format!("Payment method credit_card_{n} was declined by the issuer"),
        |n| format!("Zahlungsmittel gift_card_{n} hat kein Guthaben mehr"),
        |n| format!("la reserva ZX{n}Q ya fue cancelada"),
        |n| format!("vol AF{n} complet pour la cabine demandée"),
        |n| format!("passenger count {n} exceeds the fare's limit of {}", n % 9),
    ];
    let mut window = Vec::new();
    for k in 0..per_shape {
        for (s, error) in errors.iter().enumerate() {
            let n = offset + 1000 * s + 7 * k;
            let args = format!(r#"{{"reservation": "R{n}", "cabin": "economy"}}"#);
            let error = error(n);
            window.push(calls(
                &format!("{prefix}-{s}-{k}"),
                &[("book_reservation", &args, Some(&error))],
            ));
            if (k + s) % 3 == 0 {
                window.push(calls(
                    &format!("{prefix}-ok-{s}-{k}"),
                    &[("book_reservation", &args, None)],
                ));
            }
        }
    }
    window
}

fn keys(findings: &Findings) -> Vec<&str> {
    findings.patterns.iter().map(|p| p.key.as_str()).collect()
}

#[test]
fn five_different_errors_of_one_tool_are_five_problems_not_one_other() {
    let (findings, log) = run(&mut rule(&[]), airline_bookings("a", 6, 0));
    let keys = keys(&findings);
    assert_eq!(keys.len(), 5, "{keys:?}");
    let mut distinct = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{keys:?}");
    for key in &keys {
        let subkey = key
            .strip_prefix("tool-failures/book_reservation/other/")
            .unwrap_or_default();
        assert_eq!(subkey.len(), 8, "{key}");
        assert!(subkey.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    }
    // The same message with other numbers is one pattern: six interactions each.
    assert!(findings.patterns.iter().all(|p| p.occurrences == 6));
    let titles: Vec<&str> = findings.patterns.iter().map(|p| p.title.as_str()).collect();
    assert!(
        titles.contains(
            &"`book_reservation` fails with \"payment method <…> was declined by the issuer\" (other)"
        ),
        "{titles:?}"
    );
    assert!(
        titles
            .contains(&"`book_reservation` fails with \"la reserva <…> ya fue cancelada\" (other)"),
        "{titles:?}"
    );
    // No id, card or amount reaches a title, a key or an edit.
    for p in &findings.patterns {
        assert!(!p.title.chars().any(|c| c.is_ascii_digit()), "{}", p.title);
    }
    for s in &findings.suggestions {
        assert!(!edit_text(s).chars().any(|c| c.is_ascii_digit()), "{s:?}");
    }
    let split = log_line(&log, "message shapes", "tool", "book_reservation");
    let Some(split) = split else {
        panic!("the run log does not say how `other` was split: {log:?}");
    };
    assert_eq!(field(split, "shapes"), "5");
    assert_eq!(field(split, "own_patterns"), "5");
}

#[test]
fn rare_message_shapes_fold_back_into_the_tools_other_pattern() {
    let mut window = airline_bookings("a", 6, 0);
    // Four errors seen once or twice each: too few for a pattern apiece, a
    // problem together.
    for (i, error) in [
        "seat map service returned garbage",
        "seat map service returned garbage",
        "loyalty tier unknown for member ABC77",
        "fare rules could not be parsed",
    ]
    .iter()
    .enumerate()
    {
        window.push(calls(
            &format!("rare-{i}"),
            &[("book_reservation", "{}", Some(error))],
        ));
    }
    let (findings, log) = run(&mut rule(&[]), window);
    let rest = findings
        .patterns
        .iter()
        .find(|p| p.key == "tool-failures/book_reservation/other");
    let Some(rest) = rest else {
        panic!("no folded-back pattern: {:?}", keys(&findings));
    };
    assert_eq!(rest.occurrences, 4);
    assert_eq!(rest.evidence, ["rare-0", "rare-1", "rare-2", "rare-3"]);
    assert!(
        rest.description.contains("reported apart"),
        "{}",
        rest.description
    );
    assert_eq!(findings.patterns.len(), 6);
    let split = log_line(&log, "message shapes", "tool", "book_reservation");
    assert_eq!(split.map(|l| field(l, "folded_back")), Some("3"));
}

#[test]
fn the_same_error_shape_has_the_same_key_in_another_window() {
    let (first, _) = run(&mut rule(&[]), airline_bookings("mon", 6, 0));
    // Another week: other ids and numbers, more traffic, another order.
    let mut window = airline_bookings("tue", 9, 55_555);
    window.reverse();
    let (second, _) = run(&mut rule(&[]), window);
    let mut a = keys(&first);
    let mut b = keys(&second);
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}

#[test]
fn a_flood_of_distinct_errors_stays_within_the_shape_cap() {
    // Every failure a message of its own, in words only (no digit masks them).
    let word = |mut i: usize| {
        let mut w = String::new();
        loop {
            w.push(char::from(b'a' + (i % 26) as u8));
            i /= 26;
            if i == 0 {
                break w;
            }
        }
    };
    let window: Vec<Interaction> = (0..2_000)
        .map(|i| {
            let error = format!("backend says {} went wrong", word(i));
            calls(&format!("f{i}"), &[("sync_profile", "{}", Some(&error))])
        })
        .collect();
    let mut r = rule(&[]);
    let (findings, log) = run(&mut r, window);
    let group = r
        .groups
        .get(&("sync_profile".to_string(), ErrorClass::Other));
    let Some(group) = group else {
        panic!("no group");
    };
    assert_eq!(group.shapes.len(), MAX_SHAPES);
    assert_eq!(group.rest.failures, (2_000 - MAX_SHAPES) as u64);
    assert!(group.messages.len() <= MAX_MESSAGES);
    // No shape is frequent: one pattern under the tool's `other` key.
    assert_eq!(keys(&findings), ["tool-failures/sync_profile/other"]);
    assert_eq!(findings.patterns[0].occurrences, 2_000);
    let line = log_line(&log, "message shapes", "tool", "sync_profile");
    assert_eq!(
        line.map(|l| field(l, "calls_past_shape_cap")),
        Some((2_000 - MAX_SHAPES).to_string().as_str())
    );
}

/// An airline's flight search: one-leg searches always answer; every
/// three-leg search times out.
fn multi_leg_searches() -> Vec<Interaction> {
    let mut window = Vec::new();
    for i in 0..533 {
        let args = format!(r#"{{"legs": [{{"from": "C{i}", "to": "D{i}"}}], "cabin": "economy"}}"#);
        window.push(calls(
            &format!("one-{i}"),
            &[("search_flights", &args, None)],
        ));
    }
    for i in 0..226 {
        let args = format!(
            r#"{{"legs": [{{"from": "A{i}"}}, {{"from": "B{i}"}}, {{"from": "C{i}"}}], "cabin": "economy"}}"#
        );
        window.push(calls(
            &format!("three-{i}"),
            &[(
                "search_flights",
                &args,
                Some("upstream request timed out after 30000 ms"),
            )],
        ));
    }
    window
}

#[test]
fn a_timeout_that_follows_the_number_of_legs_tells_the_caller_to_split_and_the_owner_why() {
    let (findings, log) = run(&mut rule(&[]), multi_leg_searches());
    let p = &findings.patterns[0];
    assert_eq!(p.key, "tool-failures/search_flights/timeout");
    assert!(
        p.description.contains(
            "`legs` has three items in 226 of 226 failing calls and in 0 of 533 successful ones"
        ),
        "{}",
        p.description
    );
    assert!(
        p.description
            .contains("Successful calls pass it with one item."),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("not simply down"),
        "{}",
        p.description
    );
    assert_eq!(findings.suggestions.len(), 2);
    assert_eq!(
        instruction(&findings.suggestions[0]),
        Some(
            "When you call `search_flights`, pass at most one item in `legs`; split a longer \
             request into several calls."
        )
    );
    let note = flag(&findings.suggestions[1]).unwrap_or_default();
    assert!(
        note.contains("only when `legs` has three items") && note.contains("cannot handle"),
        "{note}"
    );
    // Not an outage: neither the outage advice nor the operators' checklist.
    for s in &findings.suggestions {
        let text = edit_text(s);
        assert!(!text.contains("did not go through"), "{text}");
        assert!(!text.contains("no prompt can fix"), "{text}");
    }
    assert!(findings.suggestions[0].rationale.contains("226 of 226"));
    let line = log_line(&log, "pattern", "explained_by", "`legs` has three items");
    assert_eq!(
        line.map(|l| field(l, "fix_aimed_at")),
        Some("caller and owner")
    );
    assert!(log_line(&log, "arguments compared", "patterns_explained", "1").is_some());
}

#[test]
fn a_timeout_only_on_what_no_successful_call_asks_is_flagged_for_the_owner_only() {
    // Reports time out whenever a history is asked for; successful calls
    // never ask. Leaving it out would drop what the user wanted.
    let window: Vec<Interaction> = (0..90)
        .map(|i| {
            if i % 3 == 0 {
                calls(
                    &format!("h{i}"),
                    &[(
                        "account_report",
                        r#"{"account": "A1", "history": "full"}"#,
                        Some("deadline exceeded"),
                    )],
                )
            } else {
                calls(
                    &format!("h{i}"),
                    &[("account_report", r#"{"account": "A1"}"#, None)],
                )
            }
        })
        .collect();
    let (findings, log) = run(&mut rule(&[]), window);
    assert_eq!(findings.suggestions.len(), 1, "{:?}", findings.suggestions);
    let note = flag(&findings.suggestions[0]).unwrap_or_default();
    assert!(note.contains("no other shape of arguments"), "{note}");
    let line = log_line(
        &log,
        "pattern",
        "key",
        "tool-failures/account_report/timeout",
    );
    assert_eq!(line.map(|l| field(l, "fix_aimed_at")), Some("owner"));
}

#[test]
fn a_timeout_whatever_the_arguments_keeps_the_operational_fix() {
    // Same argument shapes on both sides: the tool itself is slow.
    let window: Vec<Interaction> = (0..60)
        .map(|i| {
            let args = format!(r#"{{"legs": [{{"from": "A{i}"}}], "cabin": "economy"}}"#);
            let error = (i % 4 == 0).then_some("Zeitüberschreitung: timeout after 30 s");
            calls(&format!("s{i}"), &[("search_flights", &args, error)])
        })
        .collect();
    let (findings, log) = run(&mut rule(&[]), window);
    let p = &findings.patterns[0];
    assert!(
        p.description.contains("the tool itself fails"),
        "{}",
        p.description
    );
    assert_eq!(
        instruction(&findings.suggestions[0]),
        Some(
            "When `search_flights` fails or times out, tell the user it did not go through and \
             offer to try again; never state a result that no tool returned."
        )
    );
    assert!(
        flag(&findings.suggestions[1]).is_some_and(|t| t.contains("no prompt can fix")),
        "{:?}",
        findings.suggestions
    );
    let line = log_line(
        &log,
        "pattern",
        "key",
        "tool-failures/search_flights/timeout",
    );
    assert_eq!(
        line.map(|l| field(l, "explained_by")),
        Some("no field (compared 15 failing and 45 successful calls)")
    );
}

#[test]
fn one_error_shape_explained_by_its_arguments_gets_its_own_fix() {
    // Of two unclassified errors, only one follows an argument: a `#` in
    // the reservation. The other happens whatever is sent.
    let mut window = Vec::new();
    for i in 0..60 {
        let (args, error) = match i % 4 {
            0 => (
                format!(r##"{{"reservation": "#{}"}}"##, 4000 + i),
                Some(format!("reservation lookup crashed at step {i}")),
            ),
            1 => (
                format!(r#"{{"reservation": "{}"}}"#, 4000 + i),
                Some("ledger sync incomplete".to_string()),
            ),
            _ => (format!(r#"{{"reservation": "{}"}}"#, 4000 + i), None),
        };
        window.push(calls(
            &format!("r{i}"),
            &[("change_reservation", &args, error.as_deref())],
        ));
    }
    let (findings, _) = run(&mut rule(&[]), window);
    assert_eq!(findings.patterns.len(), 2, "{:?}", keys(&findings));
    let crashed = findings
        .patterns
        .iter()
        .position(|p| p.title.contains("crashed"));
    let Some(crashed) = crashed else {
        panic!("no pattern for the crash: {:?}", keys(&findings));
    };
    let key = &findings.patterns[crashed].key;
    let fix = findings
        .suggestions
        .iter()
        .find(|s| s.addresses.contains(key))
        .and_then(instruction);
    assert_eq!(
        fix,
        Some(
            "When you call `change_reservation`, pass `reservation` as digits only: remove \
             characters such as `#` before the call."
        )
    );
    let other = findings
        .suggestions
        .iter()
        .find(|s| !s.addresses.contains(key))
        .and_then(flag);
    assert!(other.is_some_and(|t| t.contains("one error that fits no known class")));
}
