//! The rule as an operator meets it: an airline agent that builds a payment
//! id from the card's last digits, a help desk that tidies up the employee
//! ids users type, ids a lookup returned, and what the report and the run
//! log say about them.

use super::*;
use reverie_rule_sdk::{Message, Role, ToolCall};

const PROMPT: &str = "You help travellers book and change flights. The demo account is DEMO-0042.";

fn settings_of(settings: &[(&str, &str)]) -> Settings {
    match Settings::from_context(&reverie_rule_sdk::test_context(PROMPT, settings)) {
        Ok(s) => s,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

fn rule(settings: &[(&str, &str)]) -> MadeUpIds {
    match MadeUpIds::new(reverie_rule_sdk::test_context(PROMPT, settings)) {
        Ok(rule) => rule,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

/// A conversation as it was logged: each agent step is one assistant message
/// with its calls, followed by one tool message per call with its result.
struct Convo {
    interaction: Interaction,
}

fn convo(id: &str) -> Convo {
    Convo {
        interaction: Interaction {
            id: id.into(),
            session_id: None,
            user_id: None,
            timestamp_ms: 0,
            config_version: Some("v1".into()),
            // Without the system-messages input, the system message is passed empty.
            messages: vec![message(Role::System, "")],
            tool_calls: Vec::new(),
            metadata: "{}".into(),
        },
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
        self.interaction.messages.push(message(Role::User, text));
        self
    }

    fn reply(mut self, text: &str) -> Self {
        self.interaction
            .messages
            .push(message(Role::Assistant, text));
        self
    }

    fn user_id(mut self, id: &str) -> Self {
        self.interaction.user_id = Some(id.into());
        self
    }

    /// One agent step making one call; `result` is the tool's answer, or its
    /// error when `failed`.
    fn call(mut self, tool: &str, arguments: &str, result: &str, failed: bool) -> Self {
        let i = &mut self.interaction;
        let index = u32::try_from(i.messages.len()).unwrap_or(u32::MAX);
        i.messages.push(message(Role::Assistant, ""));
        let id = format!("call_{}", i.tool_calls.len());
        i.tool_calls.push(ToolCall {
            id: id.clone(),
            name: tool.into(),
            arguments: arguments.into(),
            error: failed.then(|| result.to_string()),
            message_index: index,
        });
        i.messages.push(Message {
            role: Role::Tool,
            content: result.into(),
            tool_call_id: Some(id),
        });
        self
    }

    fn done(self) -> Interaction {
        self.interaction
    }
}

/// The user gives the card's last four digits; the agent invents a payment id from them.
fn invented_card(id: &str) -> Interaction {
    convo(id)
        .user("Please book flight HAT170, pay with my Visa ending in 7334.")
        .call(
            "book_reservation",
            r#"{"flight_number": "HAT170", "payment_id": "credit_card_7334"}"#,
            "payment method not found",
            true,
        )
        .reply("Sorry, that payment method was not accepted.")
        .done()
}

/// The agent looks the user up first and uses the payment id the lookup returned.
fn looked_up_card(id: &str) -> Interaction {
    convo(id)
        .user("Book HAT170 for me, user mia_li_3668, with my Visa.")
        .call(
            "get_user_details",
            r#"{"user_id": "mia_li_3668"}"#,
            r#"{"payment_methods": {"credit_card_4421876": {"brand": "visa", "last_four": "7334"}}}"#,
            false,
        )
        .call(
            "book_reservation",
            r#"{"flight_number": "HAT170", "payment_id": "credit_card_4421876"}"#,
            r#"{"reservation_id": "ZFA04Y"}"#,
            false,
        )
        .done()
}

fn run(rule: &mut MadeUpIds, interactions: Vec<Interaction>) -> (Findings, Vec<LogLine>) {
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
fn a_payment_id_built_from_the_cards_last_digits_is_reported_with_a_fix_naming_tool_and_field() {
    let mut rule = rule(&[]);
    let window = vec![
        invented_card("a1"),
        looked_up_card("a2"),
        invented_card("a3"),
        looked_up_card("a4"),
        invented_card("a5"),
    ];
    let (findings, log) = run(&mut rule, window);
    assert_eq!(findings.patterns.len(), 1, "{:?}", findings.patterns);
    let p = &findings.patterns[0];
    assert_eq!(p.key, "made-up-ids/book_reservation/payment_id");
    assert_eq!(p.occurrences, 3);
    assert_eq!(p.evidence, ["a1", "a3", "a5"]);
    assert!(
        p.description.contains("3 of 5 interactions"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("3 of those calls failed"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("letters_letters_digits"),
        "{}",
        p.description
    );
    // The shape, never the value.
    assert!(!p.description.contains("7334"), "{}", p.description);

    let s = &findings.suggestions[0];
    assert_eq!(s.addresses, ["made-up-ids/book_reservation/payment_id"]);
    let Edit::AppendInstruction(edit) = &s.edit else {
        panic!("expected an instruction, got {:?}", s.edit);
    };
    assert_eq!(
        edit,
        "When you call `book_reservation`, use only `payment_id` values the user gave or a tool \
         returned; when you do not have one, look it up or ask the user."
    );
    assert!(!edit.chars().any(|c| c.is_ascii_digit()));
    assert!(s.rationale.contains("3 of them failed"), "{}", s.rationale);

    let read = log_line(&log, "read");
    assert_eq!(field(read, "interactions"), Some("5"));
    // a1, a3, a5: a flight number and a payment id each; a2, a4: a user id too.
    assert_eq!(field(read, "id_arguments"), Some("12"));
    // Built from the card's digits the user gave, and rejected every time.
    assert_eq!(field(read, "invented"), Some("0"));
    assert_eq!(field(read, "rebuilt"), Some("3"));
    assert_eq!(field(read, "rebuilt_failed"), Some("3"));
    assert!(
        p.description
            .contains("3 of them were built from digits the user or a tool gave"),
        "{}",
        p.description
    );
}

#[test]
fn an_id_a_lookup_returned_is_not_made_up() {
    assert_eq!(made_up(&looked_up_card("b1"), &settings_of(&[])), []);
}

#[test]
fn an_id_the_user_typed_with_other_case_and_separators_is_not_made_up() {
    let i = convo("b2")
        .user("Meine Mitarbeiternummer ist e-44522, mein Konto ist gesperrt.")
        .call(
            "unlock_account",
            r#"{"employee_id": "E44522"}"#,
            r#"{"status": "unlocked"}"#,
            false,
        )
        .done();
    assert_eq!(made_up(&i, &settings_of(&[])), []);
}

#[test]
fn an_id_in_the_system_prompt_or_the_runtimes_user_id_is_not_made_up() {
    let i = convo("b3")
        .user("¿Puedes mirar la cuenta de prueba?")
        .call("get_account", r#"{"account_id": "demo0042"}"#, "{}", false)
        .done();
    assert_eq!(made_up(&i, &settings_of(&[])), []);

    let i = convo("b4")
        .user_id("emp_00345")
        .user("Réinitialise mon mot de passe, s'il te plaît.")
        .call(
            "reset_password",
            r#"{"employee_id": "EMP-00345"}"#,
            "{}",
            false,
        )
        .done();
    assert_eq!(made_up(&i, &settings_of(&[])), []);
}

#[test]
fn an_id_that_only_a_failed_calls_error_echoed_is_still_made_up() {
    let i = convo("c1")
        .user("Pay with my card ending 7334.")
        .call(
            "book_reservation",
            r#"{"payment_id": "credit_card_7334"}"#,
            "payment method credit_card_7334 not found",
            true,
        )
        .call(
            "book_reservation",
            r#"{"payment_id": "credit_card_7334"}"#,
            "payment method credit_card_7334 not found",
            true,
        )
        .done();
    let found = made_up(&i, &settings_of(&[]));
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].call, 1);
    assert!(found[1].failed);
    assert_eq!(found[1].shape, "letters_letters_digits");
}

#[test]
fn an_id_the_user_gives_only_after_the_call_was_made_up_at_the_call() {
    let i = convo("c2")
        .user("Where is my ticket?")
        .call(
            "get_ticket_status",
            r#"{"ticket_id": "INC-10023"}"#,
            "ticket not found",
            true,
        )
        .reply("Which ticket number is it?")
        .user("INC-10023")
        .done();
    let found = made_up(&i, &settings_of(&[]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].field, "ticket_id");
}

#[test]
fn values_that_are_not_ids_and_fields_that_hold_none_are_not_checked() {
    let i = convo("d1")
        .user("Search something for me.")
        .call(
            "search_flights",
            r#"{"date": "2027-03-02", "confirm_code": "yes", "seat_number": "12", "reason": "lost_laptop_2", "cabin_code": "economy", "fare_id": 12.5}"#,
            "[]",
            false,
        )
        .done();
    assert_eq!(id_arguments(&i, &settings_of(&[])), []);
}

#[test]
fn the_operator_can_name_other_id_fields_and_a_broader_id_pattern() {
    let i = convo("d2")
        .user("Is the blue shirt in stock?")
        .call(
            "check_inventory",
            r#"{"sku": "SHIRT-BLUE-M", "size": "M"}"#,
            "{}",
            false,
        )
        .done();
    assert_eq!(made_up(&i, &settings_of(&[("id_fields", "sku")])), []);
    let broad = settings_of(&[("id_fields", "sku"), ("id_pattern", "any")]);
    let found = made_up(&i, &broad);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].shape, "letters-letters-letters");
}

#[test]
fn an_invented_id_the_tool_accepted_is_reported_with_less_confidence() {
    let invented = |id: &str, failed: bool| {
        convo(id)
            .user("Zahlen Sie bitte mit meiner Visa.")
            .call(
                "book_reservation",
                r#"{"payment_id": "credit_card_0001"}"#,
                if failed {
                    "payment method not found"
                } else {
                    r#"{"reservation_id": "ZFA04Y"}"#
                },
                failed,
            )
            .done()
    };
    let window = |failed: bool| {
        (1..=3)
            .map(|i| invented(&format!("e{i}"), failed))
            .collect()
    };
    let (accepted, _) = run(&mut rule(&[]), window(false));
    let (rejected, _) = run(&mut rule(&[]), window(true));
    assert_eq!(accepted.patterns.len(), 1);
    assert_eq!(rejected.patterns.len(), 1);
    let (a, b) = (&accepted.suggestions[0], &rejected.suggestions[0]);
    assert!(
        a.confidence < b.confidence,
        "{} vs {}",
        a.confidence,
        b.confidence
    );
    assert!(
        a.rationale.contains("None of those calls failed"),
        "{}",
        a.rationale
    );
    assert!(
        b.rationale.contains("Most of those calls failed"),
        "{}",
        b.rationale
    );
}

#[test]
fn digits_the_user_gave_sent_with_a_prefix_the_tool_accepts_are_a_form_it_expects() {
    // The user types the digits of their ticket; the agent adds the prefix the
    // tool needs, and the tool finds the ticket. No invention.
    let prefixed = |id: &str, digits: &str, failed: bool| {
        convo(id)
            .user(&format!("¿Qué pasa con mi ticket {digits}?"))
            .call(
                "get_ticket_status",
                &format!(r#"{{"ticket_id": "INC-{digits}"}}"#),
                if failed {
                    "ticket not found"
                } else {
                    r#"{"status": "open"}"#
                },
                failed,
            )
            .done()
    };
    let mut window: Vec<Interaction> = (0..6)
        .map(|i| prefixed(&format!("m{i}"), &format!("20828{i}"), false))
        .collect();
    // One user gave a wrong number: a failure, but not an invention.
    window.push(prefixed("m9", "999999", true));
    let (findings, log) = run(&mut rule(&[]), window);
    assert!(findings.patterns.is_empty(), "{:?}", findings.patterns);
    let dropped = log_line(&log, "dropped");
    assert_eq!(field(dropped, "rebuilt"), Some("7"));
    assert!(
        field(dropped, "reason").is_some_and(|r| r.contains("a form the tool expects")),
        "{dropped:?}"
    );
    // One interaction on its own: only the failing rebuilt value counts.
    let one = prefixed("m9", "999999", true);
    let found = made_up(&one, &settings_of(&[]));
    assert_eq!(found.len(), 1);
    assert!(found[0].rebuilt && found[0].failed);
    assert_eq!(
        made_up(&prefixed("m0", "208280", false), &settings_of(&[])),
        []
    );
}

#[test]
fn a_field_made_up_in_a_small_share_of_the_tools_calls_is_dropped_with_its_reason() {
    let mut window: Vec<Interaction> = (0..3).map(|i| invented_card(&format!("f{i}"))).collect();
    window.extend((0..70).map(|i| looked_up_card(&format!("g{i}"))));
    let mut rule = rule(&[]);
    let (findings, log) = run(&mut rule, window);
    assert!(findings.patterns.is_empty(), "{:?}", findings.patterns);
    let dropped = log_line(&log, "dropped");
    assert_eq!(
        field(dropped, "key"),
        Some("made-up-ids/book_reservation/payment_id")
    );
    assert_eq!(
        field(dropped, "reason"),
        Some("below min_share (5.0% of the tool's calls)")
    );
    // With a lower share it is reported.
    let mut rule = super::tests::rule(&[("min_share", "0.01")]);
    let mut window: Vec<Interaction> = (0..3).map(|i| invented_card(&format!("f{i}"))).collect();
    window.extend((0..70).map(|i| looked_up_card(&format!("g{i}"))));
    let (findings, _) = run(&mut rule, window);
    assert_eq!(findings.patterns.len(), 1);
}

#[test]
fn a_field_made_up_in_too_few_interactions_is_dropped() {
    let mut rule = rule(&[]);
    let (findings, log) = run(&mut rule, vec![invented_card("h1"), invented_card("h2")]);
    assert!(findings.patterns.is_empty());
    assert_eq!(
        field(log_line(&log, "dropped"), "reason"),
        Some("below min_occurrences (3 interactions)")
    );
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    let cases = [
        ("id_fields", ""),
        ("id_fields", "*"),
        ("id_fields", "a*b"),
        ("id_fields", "id,,ref"),
        ("id_pattern", "digits"),
        ("min_share", "1.5"),
        ("min_share", "lots"),
        ("min_occurrences", "0"),
    ];
    for (name, value) in cases {
        match MadeUpIds::new(reverie_rule_sdk::test_context(PROMPT, &[(name, value)])) {
            Ok(_) => panic!("{name} = {value:?} was accepted"),
            Err(e) => assert!(e.contains(&format!("`{name}`")), "{e}"),
        }
    }
}

#[test]
fn the_same_window_in_other_chunks_gives_the_same_findings() {
    let window = || {
        vec![
            invented_card("k1"),
            looked_up_card("k2"),
            invented_card("k3"),
            invented_card("k4"),
        ]
    };
    let mut whole = rule(&[]);
    let (a, log_a) = run(&mut whole, window());
    let mut split = rule(&[]);
    let mut head = window();
    let tail = head.split_off(1);
    let _ = run(&mut split, head);
    let (b, log_b) = run(&mut split, tail);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(log_a, log_b);
    assert_eq!(a.patterns.len(), 1);
}

#[test]
fn the_rule_describes_itself_and_reads_messages_and_tool_calls_only() {
    let info = MadeUpIds::info();
    assert_eq!(info.name, "made-up-ids");
    assert_eq!(info.inputs, Inputs::MESSAGES | Inputs::TOOL_CALLS);
    assert_eq!(info.stages, [Stage::Analyse]);
    let settings: Vec<(&str, Option<&str>)> = info
        .settings
        .iter()
        .map(|s| (s.name.as_str(), s.default_value.as_deref()))
        .collect();
    assert_eq!(
        settings,
        [
            ("id_fields", Some(DEFAULT_ID_FIELDS)),
            ("id_pattern", Some("with-digit")),
            ("min_occurrences", Some("3")),
            ("min_share", Some("0.05")),
        ]
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
    fn the_shops_bot_sends_only_ids_it_was_given() {
        let (findings, log) = findings("support-bot", &[]);
        assert!(findings.patterns.is_empty(), "{:?}", findings.patterns);
        let read = log_line(&log, "read");
        assert!(
            field(read, "id_arguments").is_some_and(|n| n != "0"),
            "{read:?}"
        );
        assert_eq!(field(read, "invented"), Some("0"));
        assert_eq!(field(read, "rebuilt"), Some("0"));
    }

    #[test]
    fn the_help_desks_prefixed_ticket_numbers_and_rare_unsourced_employee_ids_are_not_reported() {
        let (findings, log) = findings("help-desk", &[]);
        let reported = |key: &str| findings.patterns.iter().any(|p| p.key == key);
        let dropped = |key: &str| log.iter().find(|l| field(l, "key") == Some(key));
        // Ticket numbers typed as digits and sent with their prefix: accepted, not reported.
        let tickets = "made-up-ids/get_ticket_status/ticket_id";
        assert!(!reported(tickets));
        assert!(
            dropped(tickets).is_some_and(|l| field(l, "invented") == Some("0")
                && field(l, "reason").is_some_and(|r| r.contains("a form the tool expects"))),
            "{:?}",
            dropped(tickets)
        );
        // After a lookup by e-mail fails, the agent sometimes sends an employee id no
        // one gave: counted, but in too few of the tool's calls to report by default.
        let employees = "made-up-ids/lookup_employee/employee_id";
        assert!(!reported(employees));
        assert!(
            dropped(employees).is_some_and(|l| field(l, "invented").is_some_and(|n| n != "0")
                && field(l, "reason").is_some_and(|r| r.starts_with("below min_share"))),
            "{:?}",
            dropped(employees)
        );
    }
}

/// The agent refunds to a payment id it built from the last digits it heard.
fn invented_refund(id: &str) -> Interaction {
    convo(id)
        .user("Please refund booking ZFA04Y to my Mastercard ending 1120.")
        .call(
            "refund",
            r#"{"reservation_id": "ZFA04Y", "payment_id": "credit_card_1120"}"#,
            "refund failed: unknown payment_id",
            true,
        )
        .reply("The refund could not be made.")
        .done()
}

/// Refunds done right: the id the lookup returned.
fn looked_up_refund(id: &str) -> Interaction {
    convo(id)
        .user("Refund ZFA04Y to my card please, user mia_li_3668.")
        .call(
            "get_user_details",
            r#"{"user_id": "mia_li_3668"}"#,
            r#"{"payment_methods": {"credit_card_9920113": {"last_four": "1120"}}}"#,
            false,
        )
        .call(
            "refund",
            r#"{"reservation_id": "ZFA04Y", "payment_id": "credit_card_9920113"}"#,
            r#"{"status": "refunded"}"#,
            false,
        )
        .done()
}

#[test]
fn one_field_made_up_for_several_tools_is_one_habit_with_one_fix() {
    // Bookings: 10 made up of 20. Refunds: 4 of 100, under `min_share` alone.
    let mut window: Vec<Interaction> = Vec::new();
    window.extend((0..10).map(|i| invented_card(&format!("b{i:02}"))));
    window.extend((0..10).map(|i| looked_up_card(&format!("c{i:02}"))));
    window.extend((0..4).map(|i| invented_refund(&format!("r{i:02}"))));
    window.extend((0..96).map(|i| looked_up_refund(&format!("s{i:02}"))));
    let (findings, log) = run(&mut rule(&[]), window);
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "made-up-ids/book_reservation/payment_id",
            "made-up-ids/refund/payment_id",
            "made-up-ids/payment_id/any-tool"
        ]
    );
    let habit = &findings.patterns[2];
    assert_eq!(habit.occurrences, 14);
    assert_eq!(habit.evidence.first().map(String::as_str), Some("b00"));
    assert_eq!(findings.suggestions.len(), 1);
    let Edit::AppendInstruction(text) = &findings.suggestions[0].edit else {
        panic!("{:?}", findings.suggestions[0].edit);
    };
    assert_eq!(
        text,
        "When you call `book_reservation` or `refund`, use only `payment_id` values the user \
         gave or a tool returned; when you do not have one, look it up or ask the user."
    );
    assert!(log.iter().any(|l| l.message == "pattern"
        && field(l, "key") == Some("made-up-ids/payment_id/any-tool")
        && field(l, "tools") == Some("2")));
}
