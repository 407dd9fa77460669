//! The rule as an operator meets it: agents that keep making the same failing
//! call (an airline's flight search, a help desk's directory), agents that
//! retry sensibly, and what the report and the run log say about them.

use super::*;
use reverie_rule_sdk::{Message, Role, Severity, ToolCall};

fn rule(settings: &[(&str, &str)]) -> RetryLoops {
    let context = reverie_rule_sdk::test_context("You help travellers with their trips.", settings);
    match RetryLoops::new(context) {
        Ok(rule) => rule,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

/// A conversation as it was logged, built step by step: each agent step is
/// one assistant message with its calls, followed by one tool message per call.
struct Convo {
    id: String,
    messages: Vec<Message>,
    calls: Vec<ToolCall>,
}

fn convo(id: &str) -> Convo {
    Convo {
        id: id.into(),
        messages: vec![message(Role::System, "")],
        calls: Vec::new(),
    }
}

fn message(role: Role, content: &str) -> Message {
    Message {
        role,
        content: content.into(),
        tool_call_id: None,
    }
}

impl Convo {
    fn user(mut self, text: &str) -> Self {
        self.messages.push(message(Role::User, text));
        self
    }

    fn reply(mut self, text: &str) -> Self {
        self.messages.push(message(Role::Assistant, text));
        self
    }

    /// One agent step calling these tools: (tool, arguments, error).
    fn step(mut self, calls: &[(&str, &str, Option<&str>)]) -> Self {
        let index = u32::try_from(self.messages.len()).unwrap_or(u32::MAX);
        self.messages.push(message(Role::Assistant, ""));
        for (tool, arguments, error) in calls {
            let id = format!("call_{}", self.calls.len());
            self.calls.push(ToolCall {
                id: id.clone(),
                name: tool.to_string(),
                arguments: arguments.to_string(),
                error: error.map(str::to_string),
                message_index: index,
            });
            self.messages.push(Message {
                role: Role::Tool,
                content: error.unwrap_or("{\"ok\":true}").to_string(),
                tool_call_id: Some(id),
            });
        }
        self
    }

    fn call(self, tool: &str, arguments: &str, error: Option<&str>) -> Self {
        self.step(&[(tool, arguments, error)])
    }

    /// As the rule receives it: tool calls only, the messages left out.
    fn done(self) -> Interaction {
        Interaction {
            id: self.id,
            session_id: None,
            user_id: None,
            timestamp_ms: 0,
            config_version: Some("v1".into()),
            messages: Vec::new(),
            tool_calls: self.calls,
            metadata: "{}".into(),
        }
    }
}

const SEARCH: &str = r#"{"origin": "LHR", "destination": "JFK", "date": "2027-03-02"}"#;
const SEARCH_REORDERED: &str = r#"{"date":"2027-03-02","destination":"JFK","origin":"LHR"}"#;
const TIMEOUT: Option<&str> = Some("upstream timeout after 30012 ms (request 8f3a2)");
const TIMEOUT_AGAIN: Option<&str> = Some("Upstream timeout after 30000 ms (request 77c1e)");

/// The agent searches, the search times out, and it sends the very same search again.
fn stuck_search(id: &str) -> Interaction {
    convo(id)
        .user("I need a flight to New York on 2 March.")
        .call("search_flights", SEARCH, TIMEOUT)
        .call("search_flights", SEARCH_REORDERED, TIMEOUT_AGAIN)
        .reply("Sorry, the search is not working right now.")
        .done()
}

/// An interaction where nothing went wrong.
fn fine(id: &str) -> Interaction {
    convo(id)
        .user("Show me my booking.")
        .call("get_booking", r#"{"booking_ref": "QX7R2P"}"#, None)
        .reply("Here it is.")
        .done()
}

fn run(rule: &mut RetryLoops, interactions: Vec<Interaction>) -> (Findings, Vec<LogLine>) {
    let chunk = Chunk {
        interactions,
        feedback: Vec::new(),
    };
    if let Err(e) = rule.analyse(chunk) {
        panic!("analyse failed: {e}");
    }
    rule.findings_and_log()
}

fn field<'a>(line: &'a LogLine, key: &str) -> Option<&'a str> {
    line.fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn log_line<'a>(log: &'a [LogLine], message: &str) -> &'a LogLine {
    match log.iter().find(|l| l.message == message) {
        Some(l) => l,
        None => panic!("no {message:?} line in {log:?}"),
    }
}

#[test]
fn an_agent_that_sends_the_same_failing_search_again_is_reported_with_a_fix_naming_the_tool() {
    let mut rule = rule(&[]);
    let window = vec![
        stuck_search("a1"),
        fine("a2"),
        stuck_search("a3"),
        fine("a4"),
        stuck_search("a5"),
    ];
    let (findings, log) = run(&mut rule, window);
    assert_eq!(findings.patterns.len(), 1);
    let p = &findings.patterns[0];
    assert_eq!(p.key, "retry-loops/search_flights");
    assert_eq!(p.occurrences, 3);
    assert_eq!(p.evidence, ["a1", "a3", "a5"]);
    assert!(
        p.description.contains("3 of 5 interactions"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("upstream timeout after # ms"),
        "{}",
        p.description
    );
    assert_eq!(p.severity, Severity::High);

    assert_eq!(findings.suggestions.len(), 1);
    let s = &findings.suggestions[0];
    assert_eq!(s.addresses, ["retry-loops/search_flights"]);
    let Edit::AppendInstruction(edit) = &s.edit else {
        panic!("expected an instruction, got {:?}", s.edit);
    };
    assert_eq!(
        edit,
        "When `search_flights` fails, do not call it again with the same arguments: change what \
         the error points at, or tell the user it failed and what you can do instead."
    );
    // Figures go in the rationale, never in the edit.
    assert!(!edit.chars().any(|c| c.is_ascii_digit()));
    assert!(s.rationale.contains("3 interactions"), "{}", s.rationale);

    let read = log_line(&log, "read");
    assert_eq!(field(read, "interactions"), Some("5"));
    assert_eq!(field(read, "failed_calls"), Some("6"));
    assert_eq!(field(read, "loops"), Some("3"));
    assert_eq!(
        field(log_line(&log, "pattern"), "repeated_calls"),
        Some("3")
    );
}

#[test]
fn a_timeout_that_names_a_new_duration_and_request_each_time_is_the_same_error() {
    assert_eq!(
        error_shape("upstream timeout after 30012 ms (request 8f3a2)"),
        error_shape("Upstream  timeout after 30000 ms (request 77c1e)")
    );
    assert_eq!(
        error_shape("Zeitüberschreitung nach 30012 ms"),
        error_shape("zeitüberschreitung nach 5 ms")
    );
    assert_ne!(error_shape("not found"), error_shape("timeout"));
    assert_ne!(
        error_shape("seat 12A taken"),
        error_shape("seat 12A unavailable")
    );
}

#[test]
fn a_retry_after_a_different_error_is_not_a_loop() {
    let i = convo("b1")
        .call("search_flights", SEARCH, TIMEOUT)
        .call(
            "search_flights",
            SEARCH,
            Some("invalid date: must be in the future"),
        )
        .done();
    assert_eq!(loops(&i), []);
}

#[test]
fn a_retry_with_changed_arguments_is_not_a_loop() {
    let i = convo("b2")
        .call("search_flights", SEARCH, Some("no flights found"))
        .call(
            "search_flights",
            r#"{"origin": "LHR", "destination": "EWR", "date": "2027-03-02"}"#,
            Some("no flights found"),
        )
        .done();
    assert_eq!(loops(&i), []);
}

#[test]
fn a_retry_that_succeeds_is_not_a_loop_and_ends_the_run_before_it() {
    let i = convo("b3")
        .call("search_flights", SEARCH, TIMEOUT)
        .call("search_flights", SEARCH, None)
        .done();
    assert_eq!(loops(&i), []);

    // Failed twice, then worked, then failed again: one loop of two, not three.
    let i = convo("b4")
        .call("search_flights", SEARCH, TIMEOUT)
        .call("search_flights", SEARCH, TIMEOUT_AGAIN)
        .call("search_flights", SEARCH, None)
        .call("search_flights", SEARCH, TIMEOUT)
        .done();
    let found = loops(&i);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].attempts, 2);
    assert_eq!(found[0].first_call, 0);
}

#[test]
fn other_calls_between_the_attempts_do_not_break_the_loop() {
    let i = convo("b5")
        .call("search_flights", SEARCH, TIMEOUT)
        .call("get_booking", r#"{"booking_ref":"QX7R2P"}"#, None)
        .call("search_flights", SEARCH, TIMEOUT)
        .call("search_flights", SEARCH, TIMEOUT)
        .done();
    let found = loops(&i);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tool, "search_flights");
    assert_eq!(found[0].attempts, 3);
    assert!(found[0].across_messages);
    assert!(!found[0].across_turns);
}

#[test]
fn arguments_that_are_not_json_are_compared_as_trimmed_text() {
    let i = convo("b6")
        .call("run_query", "SELECT 1 ", Some("syntax error"))
        .call("run_query", "  SELECT 1", Some("syntax error"))
        .call("run_query", "SELECT 2", Some("syntax error"))
        .done();
    let found = loops(&i);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].attempts, 2);
}

#[test]
fn a_repeat_after_the_user_spoke_again_counts_as_over_several_turns() {
    let i = convo("c1")
        .user("Find me a flight to New York.")
        .call("search_flights", SEARCH, TIMEOUT)
        .reply("The search failed.")
        .user("Bitte versuch es nochmal.")
        .call("search_flights", SEARCH, TIMEOUT_AGAIN)
        .done();
    let found = loops(&i);
    assert_eq!(found.len(), 1);
    assert!(found[0].across_messages);
    assert!(found[0].across_turns);

    // Two identical calls from one assistant message: the same step, one turn.
    let i = convo("c2")
        .step(&[
            ("search_flights", SEARCH, TIMEOUT),
            ("search_flights", SEARCH, TIMEOUT),
        ])
        .done();
    let found = loops(&i);
    assert_eq!(found.len(), 1);
    assert!(!found[0].across_messages);
    assert!(!found[0].across_turns);
}

#[test]
fn loops_over_several_turns_are_counted_apart_in_the_description_and_the_log() {
    let over_turns = |id: &str| {
        convo(id)
            .call("search_flights", SEARCH, TIMEOUT)
            .reply("Lo siento, ha fallado.")
            .user("¿Puedes intentarlo otra vez?")
            .call("search_flights", SEARCH, TIMEOUT)
            .done()
    };
    let mut rule = rule(&[]);
    let (findings, log) = run(
        &mut rule,
        vec![over_turns("d1"), stuck_search("d2"), over_turns("d3")],
    );
    let p = &findings.patterns[0];
    assert!(
        p.description
            .contains("2 of the loops went on over several turns"),
        "{}",
        p.description
    );
    assert_eq!(
        field(log_line(&log, "pattern"), "loops_over_several_turns"),
        Some("2")
    );
}

#[test]
fn a_tool_whose_retries_usually_work_is_allowed_one_more_attempt() {
    let recovers = |id: &str| {
        convo(id)
            .call("search_flights", SEARCH, TIMEOUT)
            .call("search_flights", SEARCH, None)
            .done()
    };
    let mut window: Vec<Interaction> = (0..4).map(|i| recovers(&format!("r{i}"))).collect();
    window.extend((0..3).map(|i| stuck_search(&format!("s{i}"))));
    let (findings, log) = run(&mut rule(&[]), window);
    assert_eq!(findings.patterns.len(), 1);
    let s = &findings.suggestions[0];
    let Edit::AppendInstruction(edit) = &s.edit else {
        panic!("expected an instruction, got {:?}", s.edit);
    };
    assert!(edit.contains("you may call it once more"), "{edit}");
    assert!(s.rationale.contains("4 retries"), "{}", s.rationale);
    assert_eq!(
        field(log_line(&log, "read"), "retries_that_worked"),
        Some("4")
    );

    // Where no retry ever worked, the fix forbids the repeat, more confidently.
    let (strict, _) = run(
        &mut rule(&[]),
        (0..3).map(|i| stuck_search(&format!("s{i}"))).collect(),
    );
    let t = &strict.suggestions[0];
    assert!(
        t.confidence > s.confidence,
        "{} vs {}",
        t.confidence,
        s.confidence
    );
    assert!(
        t.rationale.contains("No retry of `search_flights`"),
        "{}",
        t.rationale
    );
}

#[test]
fn min_repeats_drops_loops_of_two_calls_and_the_log_says_so() {
    let mut rule = rule(&[("min_repeats", "2")]);
    let (findings, log) = run(
        &mut rule,
        vec![stuck_search("e1"), stuck_search("e2"), stuck_search("e3")],
    );
    assert!(findings.patterns.is_empty(), "{:?}", findings.patterns);
    assert_eq!(
        field(log_line(&log, "read"), "loops_below_min_repeats"),
        Some("3")
    );
}

#[test]
fn a_tool_that_loops_in_too_few_interactions_is_dropped_with_its_reason() {
    let mut rule = rule(&[]);
    let (findings, log) = run(
        &mut rule,
        vec![stuck_search("f1"), stuck_search("f2"), fine("f3")],
    );
    assert!(findings.patterns.is_empty(), "{:?}", findings.patterns);
    let dropped = log_line(&log, "dropped");
    assert_eq!(field(dropped, "key"), Some("retry-loops/search_flights"));
    assert_eq!(
        field(dropped, "reason"),
        Some("below min_occurrences (3 interactions)")
    );
}

#[test]
fn loops_on_two_tools_are_one_habit_with_one_fix_naming_both() {
    let mut window = Vec::new();
    for i in 0..6 {
        window.push(stuck_search(&format!("s{i}")));
        window.push(
            convo(&format!("t{i}"))
                .user("Where is ticket REQ-4821?")
                .call(
                    "get_ticket",
                    r#"{"id": "REQ-4821"}"#,
                    Some("invalid ticket id"),
                )
                .call(
                    "get_ticket",
                    r#"{"id": "REQ-4821"}"#,
                    Some("invalid ticket id"),
                )
                .reply("I cannot find it.")
                .done(),
        );
        window.push(fine(&format!("f{i}")));
    }
    let (findings, _) = run(&mut rule(&[]), window);
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "retry-loops/get_ticket",
            "retry-loops/search_flights",
            HABIT_KEY
        ]
    );
    let habit = &findings.patterns[2];
    assert_eq!(habit.occurrences, 12);
    // Window order, each interaction once.
    assert_eq!(habit.evidence[..3], ["s0", "t0", "s1"]);
    assert_eq!(findings.suggestions.len(), 1);
    let fix = &findings.suggestions[0];
    let Edit::AppendInstruction(text) = &fix.edit else {
        panic!("{:?}", fix.edit);
    };
    assert!(
        text.starts_with("When a tool call fails (for example `get_ticket` or `search_flights`),"),
        "{text}"
    );
    assert_eq!(fix.addresses[0], HABIT_KEY);
}

#[test]
fn occurrences_count_interactions_not_loops() {
    // Two separate loops in one interaction are one occurrence.
    let twice = |id: &str| {
        convo(id)
            .call("search_flights", SEARCH, TIMEOUT)
            .call("search_flights", SEARCH, TIMEOUT)
            .call("search_flights", SEARCH, None)
            .call("search_flights", SEARCH, TIMEOUT)
            .call("search_flights", SEARCH, TIMEOUT)
            .done()
    };
    let mut rule = rule(&[]);
    let (findings, _) = run(&mut rule, vec![twice("g1"), twice("g2"), twice("g3")]);
    let p = &findings.patterns[0];
    assert_eq!(p.occurrences, 3);
    assert_eq!(p.evidence, ["g1", "g2", "g3"]);
    assert!(p.description.contains("6 loops"), "{}", p.description);
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    let cases = [
        (("min_occurrences", "0"), "min_occurrences"),
        (("min_occurrences", "many"), "min_occurrences"),
        (("min_repeats", "0"), "min_repeats"),
        (("min_repeats", "-1"), "min_repeats"),
    ];
    for ((name, value), named) in cases {
        let context = reverie_rule_sdk::test_context("", &[(name, value)]);
        match RetryLoops::new(context) {
            Ok(_) => panic!("{name} = {value} was accepted"),
            Err(e) => assert!(e.contains(&format!("`{named}`")), "{e}"),
        }
    }
}

#[test]
fn the_same_window_in_other_chunks_gives_the_same_findings() {
    let window = || {
        vec![
            stuck_search("h1"),
            fine("h2"),
            stuck_search("h3"),
            stuck_search("h4"),
        ]
    };
    let mut whole = rule(&[]);
    let (a, log_a) = run(&mut whole, window());
    let mut split = rule(&[]);
    let mut rest = window();
    let tail = rest.split_off(2);
    let _ = run(&mut split, rest);
    let (b, log_b) = run(&mut split, tail);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(log_a, log_b);
    assert_eq!(a.patterns.len(), 1);
}

#[test]
fn the_rule_describes_itself_and_reads_only_tool_calls() {
    let info = RetryLoops::info();
    assert_eq!(info.name, "retry-loops");
    assert_eq!(info.inputs, Inputs::TOOL_CALLS);
    assert_eq!(info.stages, [Stage::Analyse]);
    let settings: Vec<(&str, Option<&str>)> = info
        .settings
        .iter()
        .map(|s| (s.name.as_str(), s.default_value.as_deref()))
        .collect();
    assert_eq!(
        settings,
        [("min_occurrences", Some("3")), ("min_repeats", Some("1"))]
    );
}

/// The rule on the committed example datasets: what an operator of the
/// shop's bot and of the help desk sees. The rule's code knows nothing of
/// either; everything below comes from the calls and the messages.
mod example_datasets {
    use super::*;

    /// The interactions of `examples/<name>` as the host hands them to rules.
    pub(super) fn load(name: &str) -> Vec<Interaction> {
        reverie_rule_sdk::examples::interactions(name)
    }

    fn findings(name: &str, settings: &[(&str, &str)]) -> (Findings, Vec<LogLine>) {
        let window = load(name);
        assert!(
            window.len() >= 2000,
            "example dataset missing: {}",
            window.len()
        );
        let mut r = rule(settings);
        for chunk in window.chunks(256) {
            let _ = run(&mut r, chunk.to_vec());
        }
        r.findings_and_log()
    }

    #[test]
    fn the_shops_bot_asks_the_carrier_again_after_a_timeout() {
        let (findings, log) = findings("support-bot", &[]);
        let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["retry-loops/track_shipment"]);
        let p = &findings.patterns[0];
        assert_eq!(p.evidence.len(), p.occurrences as usize);
        assert!(p.occurrences >= 10, "{}", p.occurrences);
        assert_eq!(
            field(log_line(&log, "pattern"), "loops_over_several_turns"),
            Some("0")
        );
    }

    #[test]
    fn the_help_desks_habit_of_repeating_failing_calls_is_one_pattern_over_both_tools() {
        let (findings, _) = findings("help-desk", &[]);
        let planted = reverie_rule_sdk::examples::planted("help-desk", "repeated-failing-call");
        assert!(planted.len() > 50, "truth file missing");
        let Some(habit) = findings.patterns.iter().find(|p| p.key == HABIT_KEY) else {
            panic!(
                "no habit pattern: {:?}",
                findings.patterns.iter().map(|p| &p.key).collect::<Vec<_>>()
            );
        };
        let hits = habit
            .evidence
            .iter()
            .filter(|id| planted.contains(id))
            .count();
        let precision = hits as f64 / habit.evidence.len() as f64;
        let recall = hits as f64 / planted.len() as f64;
        assert!(precision >= 0.95 && recall >= 0.95, "{precision} {recall}");
        // One fix for the habit, naming the tools it showed on.
        assert_eq!(findings.suggestions.len(), 1);
        let Edit::AppendInstruction(text) = &findings.suggestions[0].edit else {
            panic!("{:?}", findings.suggestions[0].edit);
        };
        assert!(
            text.contains("`get_ticket_status`") && text.contains("`order_hardware`"),
            "{text}"
        );
    }
}
