//! The rule as an operator meets it: agents from domains the shipped examples
//! do not cover (an airline desk, an IT help desk), conversations in several
//! languages, and what the report and the run log say about them.

use super::*;
use reverie_rule_sdk::{Message, Role, ToolCall};

fn context(settings: &[(&str, &str)]) -> CycleContext {
    reverie_rule_sdk::test_context(
        "You help travellers with their reservations. Get the user's explicit confirmation \
         before any change.",
        settings,
    )
}

fn rule(settings: &[(&str, &str)]) -> UnconfirmedActions {
    match UnconfirmedActions::new(context(settings)) {
        Ok(rule) => rule,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

fn refusal(settings: &[(&str, &str)]) -> String {
    match UnconfirmedActions::new(context(settings)) {
        Ok(_) => panic!("settings {settings:?} accepted"),
        Err(e) => e,
    }
}

/// One step of a conversation: who speaks, or which call the agent makes.
enum Step<'a> {
    User(&'a str),
    Agent(&'a str),
    /// A successful call: (tool, arguments).
    Call(&'a str, &'a str),
    /// A failed call: (tool, arguments).
    Failed(&'a str, &'a str),
}
use Step::*;

/// An interaction played from its steps: each call is made by its own
/// (empty) assistant message and answered by a tool message.
fn conversation(id: &str, steps: &[Step<'_>]) -> Interaction {
    let mut messages = Vec::new();
    let mut tool_calls = Vec::new();
    let say = |role: Role, content: &str| Message {
        role,
        content: content.into(),
        tool_call_id: None,
    };
    messages.push(say(Role::System, ""));
    for step in steps {
        match step {
            User(text) => messages.push(say(Role::User, text)),
            Agent(text) => messages.push(say(Role::Assistant, text)),
            Call(name, args) | Failed(name, args) => {
                let call_id = format!("call-{}", tool_calls.len());
                tool_calls.push(ToolCall {
                    id: call_id.clone(),
                    name: name.to_string(),
                    arguments: args.to_string(),
                    error: matches!(step, Failed(..)).then(|| "503 unavailable".to_string()),
                    message_index: messages.len() as u32,
                });
                messages.push(say(Role::Assistant, ""));
                messages.push(Message {
                    role: Role::Tool,
                    content: "{}".into(),
                    tool_call_id: Some(call_id),
                });
            }
        }
    }
    Interaction {
        id: id.into(),
        session_id: None,
        user_id: None,
        timestamp_ms: 0,
        config_version: Some("v1".into()),
        messages,
        tool_calls,
        metadata: "{}".into(),
    }
}

/// The agent says what it will do, asks, hears `yes`, and acts.
fn asked_first(id: &str, yes: &str) -> Interaction {
    conversation(
        id,
        &[
            User("I need to cancel my trip, reservation ZFA04Y"),
            Call("get_reservation_details", r#"{"reservation_id":"ZFA04Y"}"#),
            Agent("I can cancel reservation ZFA04Y for you. Shall I go ahead?"),
            User(yes),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
            Agent("Done: it is cancelled."),
        ],
    )
}

/// The user only asks how something works; the agent resets at once.
fn acted_at_once(id: &str) -> Interaction {
    conversation(
        id,
        &[
            User("How does a password reset work here? My id is E-12345"),
            Call("lookup_employee", r#"{"employee_id":"E12345"}"#),
            Call("reset_password", r#"{"employee_id":"E12345"}"#),
            Agent("I've reset your password; a temporary one is on its way."),
        ],
    )
}

fn run(rule: &mut UnconfirmedActions, interactions: Vec<Interaction>) -> (Findings, Vec<LogLine>) {
    let chunk = Chunk {
        interactions,
        feedback: Vec::new(),
    };
    if let Err(e) = rule.analyse(chunk) {
        panic!("analyse failed: {e}");
    }
    rule.findings_and_log()
}

fn keys(findings: &Findings) -> Vec<&str> {
    findings.patterns.iter().map(|p| p.key.as_str()).collect()
}

fn instruction(suggestion: &Suggestion) -> &str {
    match &suggestion.edit {
        Edit::AppendInstruction(text) => text,
        other => panic!("unexpected edit {other:?}"),
    }
}

fn kinds(interaction: &Interaction) -> Vec<(usize, &str, ActionKind)> {
    Detector::default()
        .actions(interaction)
        .into_iter()
        .map(|a| (a.call_index, a.tool, a.kind))
        .collect()
}

#[test]
fn an_agent_that_asks_and_hears_yes_please_makes_no_finding() {
    let mut rule = rule(&[]);
    let window: Vec<Interaction> = (0..6)
        .map(|i| asked_first(&format!("int_{i}"), "yes please"))
        .collect();
    let (findings, log) = run(&mut rule, window);
    assert!(findings.patterns.is_empty(), "{:?}", keys(&findings));
    assert!(findings.suggestions.is_empty());
    let seen = log.iter().find(|l| l.message == "seen").map(|l| &l.fields);
    assert!(
        seen.is_some_and(|f| f.contains(&("state_changing_calls".into(), "6".into()))
            && f.contains(&("unconfirmed_calls".into(), "0".into()))),
        "{seen:?}"
    );
}

#[test]
fn a_reset_made_while_the_user_only_asked_how_it_works_is_a_finding() {
    let mut rule = rule(&[]);
    let window: Vec<Interaction> = (0..4).map(|i| acted_at_once(&format!("hd_{i}"))).collect();
    let (findings, _) = run(&mut rule, window);
    assert_eq!(keys(&findings), ["unconfirmed-actions/reset_password"]);
    let pattern = &findings.patterns[0];
    assert_eq!(
        pattern.title,
        "`reset_password` changes state without the user's confirmation"
    );
    assert_eq!(pattern.occurrences, 4);
    assert_eq!(pattern.evidence, ["hd_0", "hd_1", "hd_2", "hd_3"]);
    assert_eq!(findings.suggestions.len(), 1);
    let fix = &findings.suggestions[0];
    assert_eq!(
        instruction(fix),
        "Before you call `reset_password`, say what you will do and ask the user to confirm; \
         call it only after a clear yes."
    );
    assert_eq!(fix.addresses, ["unconfirmed-actions/reset_password"]);
    assert!(fix.rationale.contains("4 of 4 calls"), "{}", fix.rationale);
}

#[test]
fn confirmations_in_german_spanish_french_italian_portuguese_and_dutch_count() {
    for yes in [
        "Ja, bitte stornieren",
        "Sí, adelante",
        "Oui, vas-y",
        "Sì, procedi",
        "Sim, pode cancelar",
        "Ja, doe maar",
        "Genau.",
        "d'accord",
    ] {
        assert!(kinds(&asked_first("int", yes)).is_empty(), "{yes:?}");
    }
}

#[test]
fn a_no_before_the_call_is_not_a_confirmation() {
    for no in [
        "no, don't",
        "Nein, bitte nicht",
        "non merci",
        "ok, but not yet",
    ] {
        assert_eq!(
            kinds(&asked_first("int", no)),
            [(1, "cancel_reservation", ActionKind::Unconfirmed)],
            "{no:?}"
        );
    }
}

#[test]
fn an_imperative_request_without_the_agent_asking_is_not_a_confirmation() {
    let direct = conversation(
        "int",
        &[
            User("Cancel my reservation ZFA04Y"),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
        ],
    );
    assert_eq!(
        kinds(&direct),
        [(0, "cancel_reservation", ActionKind::Unconfirmed)]
    );
    // A yes that answers no question confirms nothing by default...
    let unasked = conversation(
        "int",
        &[
            Agent("Welcome back."),
            User("yes, cancel ZFA04Y"),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
        ],
    );
    assert_eq!(kinds(&unasked).len(), 1);
    // ... and does when the operator only asks for a yes.
    let lenient = match Detector::from_settings(&context(&[("require_agent_question", "false")])) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert!(lenient.actions(&unasked).is_empty());
    assert_eq!(lenient.actions(&direct).len(), 1, "still no yes at all");
}

#[test]
fn read_only_tools_never_count_even_after_a_flat_no() {
    let reading = conversation(
        "int",
        &[
            Agent("Want me to look it up?"),
            User("no"),
            Call("get_reservation_details", r#"{"reservation_id":"ZFA04Y"}"#),
            Call("search_direct_flight", r#"{"origin":"JFK"}"#),
            Call("lookup_order", r#"{"order_id":"A1"}"#),
            Call("calculate", r#"{"expression":"2+2"}"#),
        ],
    );
    assert!(kinds(&reading).is_empty());
}

#[test]
fn an_operators_list_of_state_changing_tools_replaces_the_verb_test() {
    let detector = match Detector::from_settings(&context(&[(
        "state_changing_tools",
        "escalate_to_human, think",
    )])) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let chat = conversation(
        "int",
        &[
            User("what is my baggage allowance?"),
            Call("think", r#"{"thought":"check"}"#),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
        ],
    );
    let found: Vec<&str> = detector.actions(&chat).iter().map(|a| a.tool).collect();
    assert_eq!(found, ["think"], "only the listed tools count");
    let verbs = match Detector::from_settings(&context(&[("state_changing_verbs", "Think")])) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert!(verbs.changes_state("think") && !verbs.changes_state("cancel_reservation"));
}

#[test]
fn cancelling_the_same_reservation_twice_is_a_repeat_but_a_retry_after_a_failure_is_not() {
    let twice = conversation(
        "int",
        &[
            User("I need to cancel reservation ZFA04Y"),
            Agent("Cancel ZFA04Y, is that right?"),
            User("yes"),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
            Call("cancel_reservation", r#"{"reservation_id": "ZFA04Y"}"#),
        ],
    );
    assert_eq!(
        kinds(&twice),
        [(1, "cancel_reservation", ActionKind::Repeated)]
    );
    let retry = conversation(
        "int",
        &[
            Agent("Cancel ZFA04Y, is that right?"),
            User("yes"),
            Failed("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
        ],
    );
    assert!(kinds(&retry).is_empty());
    let asked_again = conversation(
        "int",
        &[
            Agent("Add a bag to ZFA04Y?"),
            User("yes"),
            Call(
                "update_reservation_baggages",
                r#"{"reservation_id":"ZFA04Y"}"#,
            ),
            Agent("Done. Add another one?"),
            User("yes please"),
            Call(
                "update_reservation_baggages",
                r#"{"reservation_id":"ZFA04Y"}"#,
            ),
        ],
    );
    assert!(
        kinds(&asked_again).is_empty(),
        "a second yes asks for the second call"
    );
}

#[test]
fn a_cancellation_of_a_reservation_the_user_never_mentioned_is_unrequested() {
    let extra = conversation(
        "int",
        &[
            User("please cancel reservation ZFA04Y"),
            Call("get_user_details", r#"{"user_id":"mia_li_3668"}"#),
            Agent("I'll cancel ZFA04Y. Shall I proceed?"),
            User("yes"),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
            Call("cancel_reservation", r#"{"reservation_id":"K1NW8N"}"#),
        ],
    );
    let actions = Detector::default().actions(&extra);
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].call_index, 2);
    assert_eq!(actions[0].kind, ActionKind::Unrequested);
    assert_eq!(actions[0].target_field, Some("reservation_id"));
    // Named in the question the user said yes to: both were asked for.
    let both = conversation(
        "int",
        &[
            Agent("I'll cancel ZFA04Y and K1NW8N. Shall I proceed?"),
            User("yes"),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
            Call("cancel_reservation", r#"{"reservation_id":"K1NW8N"}"#),
        ],
    );
    assert!(kinds(&both).is_empty());
    // The same target by another tool (cancel, then refund) is one action.
    let refund = conversation(
        "int",
        &[
            Agent("Cancel ZFA04Y and refund it?"),
            User("ja"),
            Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
            Call("issue_refund", r#"{"reservation_id":"ZFA04Y"}"#),
        ],
    );
    assert!(kinds(&refund).is_empty());
    // A booking that failed, made again with another card: a retry, not a
    // second action.
    let retried = conversation(
        "int",
        &[
            Agent("I'll book NV562 for 891 EUR on your Visa. Shall I?"),
            User("yes"),
            Failed(
                "book_reservation",
                r#"{"flight_ids":["NV562"],"payment_id":"card_7541"}"#,
            ),
            Call(
                "book_reservation",
                r#"{"flight_ids":["NV562"],"payment_id":"card_9182736"}"#,
            ),
        ],
    );
    assert!(kinds(&retried).is_empty(), "{:?}", kinds(&retried));
}

#[test]
fn repeated_and_unrequested_patterns_name_the_tool_and_the_field_but_no_value() {
    let mut rule = rule(&[]);
    let window: Vec<Interaction> = (0..3)
        .map(|i| {
            conversation(
                &format!("air_{i}"),
                &[
                    Agent("Cancel ZFA04Y?"),
                    User("yes"),
                    Call("cancel_reservation", r#"{"reservation_id":"ZFA04Y"}"#),
                    Call("cancel_reservation", r#"{"reservation_id":"K1NW8N"}"#),
                    Call("cancel_reservation", r#"{"reservation_id":"K1NW8N"}"#),
                ],
            )
        })
        .collect();
    let (findings, _) = run(&mut rule, window);
    assert_eq!(
        keys(&findings),
        [
            "unconfirmed-actions/repeated/cancel_reservation",
            "unconfirmed-actions/unrequested/cancel_reservation",
        ]
    );
    let edits: Vec<&str> = findings.suggestions.iter().map(instruction).collect();
    assert_eq!(
        edits,
        [
            "Call `cancel_reservation` at most once for each `reservation_id`: once it has \
             succeeded, do not call it again for the same one unless the user asks again.",
            "Call `cancel_reservation` only for the `reservation_id` the user named or \
             confirmed; never on another one unless the user asks for it.",
        ]
    );
    for edit in edits {
        assert!(!edit.contains("K1NW8N") && !edit.contains('3'), "{edit}");
    }
}

#[test]
fn two_tools_acting_without_asking_get_one_instruction_naming_both() {
    let mut rule = rule(&[]);
    let mut window: Vec<Interaction> = (0..5).map(|i| acted_at_once(&format!("r_{i}"))).collect();
    window.extend((0..3).map(|i| {
        conversation(
            &format!("u_{i}"),
            &[
                User("What do I do if I get locked out again? E54321"),
                Call("unlockAccount", r#"{"employeeId":"E54321"}"#),
            ],
        )
    }));
    let (findings, _) = run(&mut rule, window);
    assert_eq!(
        keys(&findings),
        [
            "unconfirmed-actions/reset_password",
            "unconfirmed-actions/unlockaccount",
            "unconfirmed-actions/unconfirmed/any-tool",
        ]
    );
    // The habit holds both tools' interactions, so the host reports one problem.
    let habit = &findings.patterns[2];
    assert_eq!(habit.occurrences, 8);
    assert_eq!(
        habit.evidence,
        ["r_0", "r_1", "r_2", "r_3", "r_4", "u_0", "u_1", "u_2"]
    );
    assert_eq!(
        habit.title,
        "`reset_password` and `unlockAccount` change state without the user's confirmation"
    );
    assert_eq!(findings.suggestions.len(), 1);
    assert!(
        instruction(&findings.suggestions[0])
            .starts_with("Before you call `reset_password` or `unlockAccount`,")
    );
    assert_eq!(
        findings.suggestions[0].addresses,
        [
            "unconfirmed-actions/unconfirmed/any-tool",
            "unconfirmed-actions/reset_password",
            "unconfirmed-actions/unlockaccount"
        ]
    );
}

#[test]
fn fewer_interactions_than_min_occurrences_make_no_pattern_and_the_log_says_why() {
    let mut rule = rule(&[]);
    let window: Vec<Interaction> = (0..2).map(|i| acted_at_once(&format!("hd_{i}"))).collect();
    let (findings, log) = run(&mut rule, window);
    assert!(findings.patterns.is_empty());
    assert!(log.iter().any(|l| {
        l.message == "dropped"
            && l.fields
                .contains(&("key".into(), "unconfirmed-actions/reset_password".into()))
            && l.fields
                .iter()
                .any(|(k, v)| k == "reason" && v.contains("min_occurrences"))
    }));
    let mut lower = super::tests::rule(&[("min_occurrences", "2")]);
    let window: Vec<Interaction> = (0..2).map(|i| acted_at_once(&format!("hd_{i}"))).collect();
    assert_eq!(run(&mut lower, window).0.patterns.len(), 1);
}

#[test]
fn an_agent_that_asks_first_and_slips_rarely_stays_under_min_share() {
    let mut rule = rule(&[]);
    let mut window: Vec<Interaction> = (0..60)
        .map(|i| asked_first(&format!("ok_{i}"), "yes"))
        .collect();
    // Three replies no table reads as a yes: 3 of 63 calls, under a twentieth.
    window.extend((0..3).map(|i| asked_first(&format!("odd_{i}"), "affirmative, captain")));
    let (findings, log) = run(&mut rule, window);
    assert!(findings.patterns.is_empty(), "{:?}", keys(&findings));
    assert!(log.iter().any(|l| {
        l.message == "dropped"
            && l.fields
                .iter()
                .any(|(k, v)| k == "reason" && v.contains("min_share"))
    }));
}

/// An agent whose prompt says nothing of confirmation, creating returns at
/// once when asked, and one that usually asks before a cancellation.
#[test]
fn acting_at_once_on_a_request_is_reported_only_against_the_prompt_or_the_agents_habit() {
    let prompt = "You help customers with their orders and returns.";
    let settings = |extra: &[(&'static str, &'static str)]| match UnconfirmedActions::new(
        reverie_rule_sdk::test_context(prompt, extra),
    ) {
        Ok(rule) => rule,
        Err(e) => panic!("{e}"),
    };
    let by_design = || -> Vec<Interaction> {
        (0..5)
            .map(|i| {
                conversation(
                    &format!("ret_{i}"),
                    &[
                        User("I'd like to return the boots from order 72266"),
                        Call("create_return", r#"{"order_id":"72266"}"#),
                    ],
                )
            })
            .collect()
    };
    let (findings, log) = run(&mut settings(&[]), by_design());
    assert!(findings.patterns.is_empty());
    assert!(log.iter().any(|l| {
        l.message == "dropped"
            && l.fields
                .iter()
                .any(|(k, v)| k == "reason" && v.contains("confirmation not expected"))
    }));
    let (strict, _) = run(
        &mut settings(&[("expect_confirmation", "always")]),
        by_design(),
    );
    assert_eq!(keys(&strict), ["unconfirmed-actions/create_return"]);
    // The same prompt, an agent that asks first for most cancellations: the
    // ones it did not ask for break its own habit.
    let mut habit: Vec<Interaction> = (0..12)
        .map(|i| asked_first(&format!("ok_{i}"), "yes"))
        .collect();
    habit.extend((0..4).map(|i| asked_first(&format!("slip_{i}"), "what happens to my miles?")));
    let (found, _) = run(&mut settings(&[]), habit);
    assert_eq!(keys(&found), ["unconfirmed-actions/cancel_reservation"]);
    assert_eq!(
        found.patterns[0].evidence,
        ["slip_0", "slip_1", "slip_2", "slip_3"]
    );
}

#[test]
fn evidence_lists_interactions_in_window_order_once_each() {
    let mut rule = rule(&[]);
    let first = vec![
        acted_at_once("b"),
        asked_first("ok", "yes"),
        acted_at_once("a"),
    ];
    if let Err(e) = rule.analyse(Chunk {
        interactions: first,
        feedback: Vec::new(),
    }) {
        panic!("{e}");
    }
    let twice = conversation(
        "c",
        &[
            User("how does it work?"),
            Call("reset_password", r#"{"employee_id":"E1"}"#),
            Call("reset_password", r#"{"employee_id":"E2"}"#),
        ],
    );
    let (findings, _) = run(&mut rule, vec![twice]);
    let pattern = &findings.patterns[0];
    assert_eq!(pattern.evidence, ["b", "a", "c"]);
    assert_eq!(pattern.occurrences, 3);
}

#[test]
fn the_same_window_gives_the_same_findings() {
    let window = || -> Vec<Interaction> {
        let mut w: Vec<Interaction> = (0..4).map(|i| acted_at_once(&format!("r_{i}"))).collect();
        w.extend((0..4).map(|i| asked_first(&format!("a_{i}"), "no")));
        w
    };
    let (a, log_a) = run(&mut rule(&[]), window());
    let (b, log_b) = run(&mut rule(&[]), window());
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(log_a, log_b);
    assert_eq!(a.patterns.len(), 3, "two tools and their habit");
}

#[test]
fn bad_settings_are_refused_by_name() {
    for (settings, name) in [
        (vec![("min_occurrences", "0")], "`min_occurrences`"),
        (vec![("min_occurrences", "many")], "`min_occurrences`"),
        (vec![("min_share", "1.5")], "`min_share`"),
        (
            vec![("expect_confirmation", "sometimes")],
            "`expect_confirmation`",
        ),
        (
            vec![("state_changing_tools", " , ")],
            "`state_changing_tools`",
        ),
        (
            vec![("state_changing_verbs", "cancel, set up")],
            "`state_changing_verbs`",
        ),
        (
            vec![
                ("state_changing_tools", "cancel_reservation"),
                ("state_changing_verbs", "cancel"),
            ],
            "`state_changing_verbs`",
        ),
        (vec![("target_fields", "")], "`target_fields`"),
        (
            vec![("require_agent_question", "maybe")],
            "`require_agent_question`",
        ),
    ] {
        let error = refusal(&settings);
        assert!(error.contains(name), "{settings:?}: {error}");
    }
}

#[test]
fn info_declares_what_the_rule_reads_and_every_setting_it_accepts() {
    let info = UnconfirmedActions::info();
    assert_eq!(info.name, "unconfirmed-actions");
    assert_eq!(info.stages, [Stage::Analyse]);
    assert_eq!(info.inputs, Inputs::MESSAGES | Inputs::TOOL_CALLS);
    let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "min_occurrences",
            "min_share",
            "expect_confirmation",
            "state_changing_tools",
            "state_changing_verbs",
            "target_fields",
            "require_agent_question",
        ]
    );
    for spec in &info.settings {
        assert!(!spec.description.is_empty(), "{}", spec.name);
        // Every declared setting is accepted at its default.
        if let Some(default) = &spec.default_value {
            assert!(
                UnconfirmedActions::new(context(&[(spec.name.as_str(), default.as_str())])).is_ok(),
                "{}",
                spec.name
            );
        }
    }
}

/// The rule on the committed example datasets: an IT help desk whose agent
/// sometimes resets or unlocks at once when the user only asked how it
/// works, and a shop's bot. The rule's code knows neither; everything below
/// comes from who said what before which call.
mod example_datasets {
    use super::*;

    /// The interactions of `examples/<dataset>` as the host hands them to rules.
    fn load(dataset: &str) -> Vec<Interaction> {
        reverie_rule_sdk::examples::interactions(dataset)
    }

    /// The interactions the dataset's truth lists for one planted problem.
    fn truth(dataset: &str, problem: &str) -> Vec<String> {
        reverie_rule_sdk::examples::planted(dataset, problem)
    }

    fn findings(dataset: &str) -> (Findings, Vec<LogLine>) {
        let window = load(dataset);
        assert!(window.len() >= 2000, "{dataset} missing: {}", window.len());
        // The dataset's own live prompt: the first system message.
        let prompt = reverie_rule_sdk::examples::prompt(dataset);
        let mut r = match UnconfirmedActions::new(reverie_rule_sdk::test_context(&prompt, &[])) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        for chunk in window.chunks(256) {
            assert!(
                r.analyse(Chunk {
                    interactions: chunk.to_vec(),
                    feedback: Vec::new()
                })
                .is_ok()
            );
        }
        r.findings_and_log()
    }

    /// Precision and recall of one pattern's evidence against a planted problem.
    fn against_truth(found: &Findings, key: &str, problem: &str) -> (f64, f64) {
        let planted = truth("help-desk", problem);
        assert!(planted.len() > 80, "{problem}: {}", planted.len());
        let Some(pattern) = found.patterns.iter().find(|p| p.key == key) else {
            panic!("no {key} in {:?}", keys(found));
        };
        let evidence = &pattern.evidence;
        let hits = evidence.iter().filter(|id| planted.contains(id)).count();
        let precision = hits as f64 / evidence.len() as f64;
        let recall =
            planted.iter().filter(|id| evidence.contains(id)).count() as f64 / planted.len() as f64;
        eprintln!(
            "{key}: evidence {}, precision {precision:.3}, recall {recall:.3}",
            evidence.len()
        );
        (precision, recall)
    }

    #[test]
    fn the_help_desk_agent_is_told_to_ask_before_resetting_or_unlocking() {
        let (found, _) = findings("help-desk");
        let mut found_keys = keys(&found);
        found_keys.sort();
        assert_eq!(
            found_keys,
            [
                "unconfirmed-actions/reset_password",
                "unconfirmed-actions/unconfirmed/any-tool",
                "unconfirmed-actions/unlock_account",
                "unconfirmed-actions/unrequested/close_ticket",
            ]
        );
        let (precision, recall) = against_truth(
            &found,
            "unconfirmed-actions/unconfirmed/any-tool",
            "action-without-confirmation",
        );
        assert!(precision >= 0.95 && recall >= 0.95, "{precision} {recall}");
        let confirm_first = found
            .suggestions
            .iter()
            .filter(|s| {
                instruction(s).starts_with("Before you call `reset_password` or `unlock_account`,")
            })
            .count();
        assert_eq!(confirm_first, 1);
    }

    #[test]
    fn the_help_desk_agent_that_closes_a_ticket_nobody_asked_about_is_found() {
        let (found, _) = findings("help-desk");
        let (precision, recall) = against_truth(
            &found,
            "unconfirmed-actions/unrequested/close_ticket",
            "unrequested-ticket-close",
        );
        assert!(precision >= 0.9 && recall >= 0.8, "{precision} {recall}");
    }

    #[test]
    fn the_shops_bot_that_asks_before_creating_a_return_has_no_finding() {
        let (found, log) = findings("support-bot");
        assert!(found.patterns.is_empty(), "{:?}", keys(&found));
        // It does act at once on every request: the run log says why that
        // is not reported.
        assert!(log.iter().any(|l| {
            l.message == "dropped"
                && l.fields
                    .contains(&("key".into(), "unconfirmed-actions/create_return".into()))
        }));
    }
}
