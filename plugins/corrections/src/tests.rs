//! Stories of the `corrections` rule as a team would meet them: agents in
//! several domains, their users correcting or thanking them, and the findings
//! and fixes that come out.

use super::*;
use reverie_rule_sdk::{Message, ToolCall};

const SHOP_PROMPT: &str = "You are Trail, the support assistant of an outdoor shop.\n\n\
    ## Store policies\n\
    - Returns are accepted within 14 days of delivery for unused items. The return label is free.\n\
    - Standard shipping is free on orders over $75, otherwise $6.95.\n";

fn context_with(prompt: &str, settings: &[(&str, &str)]) -> CycleContext {
    reverie_rule_sdk::test_context(prompt, settings)
}

fn context(settings: &[(&str, &str)]) -> CycleContext {
    context_with("You help customers of a shop.", settings)
}

fn rule() -> Corrections {
    rule_with(SHOP_PROMPT)
}

fn rule_with(prompt: &str) -> Corrections {
    match Corrections::new(context_with(prompt, &[])) {
        Ok(rule) => rule,
        Err(e) => panic!("default settings rejected: {e}"),
    }
}

/// An interaction from alternating turns, user first.
fn chat(id: &str, turns: &[&str]) -> Interaction {
    let mut convo = Convo::new(id);
    for (i, content) in turns.iter().enumerate() {
        convo = if i % 2 == 0 {
            convo.user(content)
        } else {
            convo.agent(content)
        };
    }
    convo.done()
}

/// A conversation built turn by turn, tool calls included, as a runtime logs it.
struct Convo(Interaction);

impl Convo {
    fn new(id: &str) -> Self {
        Convo(Interaction {
            id: id.into(),
            session_id: None,
            user_id: None,
            timestamp_ms: 0,
            config_version: Some("v1".into()),
            messages: vec![Message {
                role: Role::System,
                content: String::new(),
                tool_call_id: None,
            }],
            tool_calls: Vec::new(),
            metadata: "{}".into(),
        })
    }

    fn say(mut self, role: Role, content: &str) -> Self {
        self.0.messages.push(Message {
            role,
            content: content.into(),
            tool_call_id: None,
        });
        self
    }

    fn user(self, content: &str) -> Self {
        self.say(Role::User, content)
    }

    fn agent(self, content: &str) -> Self {
        self.say(Role::Assistant, content)
    }

    /// The agent calls `name`; `error` makes the call fail.
    fn call(mut self, name: &str, arguments: &str, error: Option<&str>) -> Self {
        let at = self.0.messages.len();
        let id = format!("call_{at}");
        self = self.agent("");
        self.0.tool_calls.push(ToolCall {
            id: id.clone(),
            name: name.into(),
            arguments: arguments.into(),
            error: error.map(str::to_string),
            message_index: at as u32,
        });
        self.0.messages.push(Message {
            role: Role::Tool,
            content: error.unwrap_or("{\"ok\":true}").into(),
            tool_call_id: Some(id),
        });
        self
    }

    fn done(self) -> Interaction {
        self.0
    }
}

fn detect(rule: &mut Corrections, interactions: Vec<Interaction>) -> Vec<InferredFeedback> {
    match rule.detect(interactions) {
        Ok(found) => found,
        Err(e) => panic!("detect failed: {e}"),
    }
}

fn finish(rule: &mut Corrections) -> Findings {
    match rule.finish() {
        Ok(findings) => findings,
        Err(e) => panic!("finish failed: {e}"),
    }
}

/// The kind the rule sees in the user's reply to an answer, if any.
fn kind_of_reply(reply: &str) -> Option<Kind> {
    let r = rule();
    let interaction = chat(
        "i",
        &["What is your refund window?", "It is 60 days.", reply],
    );
    r.corrections_in(&interaction)
        .first()
        .map(|f| f.correction.kind)
}

/// The appended instruction of the suggestion addressing `key`.
fn fix_for<'a>(findings: &'a Findings, key: &str) -> (&'a str, f32) {
    let Some(suggestion) = findings
        .suggestions
        .iter()
        .find(|s| s.addresses.iter().any(|a| a == key))
    else {
        panic!("no suggestion for {key}: {:?}", findings.suggestions)
    };
    match &suggestion.edit {
        Edit::AppendInstruction(text) => (text.as_str(), suggestion.confidence),
        other => panic!("expected an appended instruction, got {other:?}"),
    }
}

/// A window of a travel agent: `bad` travellers whose booking reference
/// `find_booking` rejects (the agent then asks for it again), among `good`
/// plain conversations.
fn travel_window(bad: usize, good: usize) -> Vec<Interaction> {
    let mut window = Vec::new();
    for i in 0..bad {
        let reference = format!("QX{i:03}P");
        window.push(
            Convo::new(&format!("trip-{i:03}"))
                .user(&format!("Can I move my flight? Booking ref {reference}."))
                .call(
                    "find_booking",
                    &format!(
                        "{{\"reference\":\"{}\",\"lang\":\"en\"}}",
                        reference.to_lowercase()
                    ),
                    Some("reference must be upper case"),
                )
                .agent("I could not find that booking. What is your booking reference?")
                .user(&format!("I already gave you the reference, {reference}"))
                .done(),
        );
    }
    for i in 0..good {
        window.push(chat(
            &format!("ok-{i:03}"),
            &["Hi", "Hello! Where would you like to go?", "No thanks"],
        ));
    }
    window
}

#[test]
fn a_customer_saying_thats_wrong_becomes_negative_feedback_quoting_them() {
    let mut r = rule();
    let found = detect(
        &mut r,
        vec![chat(
            "order-17",
            &[
                "How long do I have to return shoes?",
                "You have 60 days to return shoes.",
                "No, that’s WRONG! It's 30 days.",
            ],
        )],
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].interaction_id, "order-17");
    assert_eq!(found[0].rating, Rating::Negative);
    assert_eq!(
        found[0].reason,
        "user said \"that's wrong\": \"No, that’s WRONG! It's 30 days.\""
    );
}

#[test]
fn many_ways_of_correcting_the_agent_are_recognised_by_kind() {
    let cases = [
        ("that's not right", Kind::Contradicted),
        ("Thats incorrect.", Kind::Contradicted),
        ("That is incorrect", Kind::Contradicted),
        ("you're wrong about this", Kind::Contradicted),
        ("Wrong answer.", Kind::Contradicted),
        ("that's not true, it was 30", Kind::Contradicted),
        ("Hmm, not correct.", Kind::Contradicted),
        ("That's not what I asked.", Kind::Misunderstood),
        ("I didn't ask for a discount", Kind::Misunderstood),
        ("not what I meant", Kind::Misunderstood),
        ("You misunderstood me", Kind::Misunderstood),
        (
            "I asked for the blue one, not the red one",
            Kind::Misunderstood,
        ),
        ("Actually, I said Tuesday", Kind::Misunderstood),
        ("I meant the other order", Kind::Misunderstood),
        ("I already told you my order number", Kind::IgnoredContext),
        ("I just said that", Kind::IgnoredContext),
        ("As I said, it's 48213", Kind::IgnoredContext),
        ("I already gave you my email", Kind::IgnoredContext),
        ("I told you already!", Kind::IgnoredContext),
    ];
    for (reply, kind) in cases {
        assert_eq!(kind_of_reply(reply), Some(kind), "reply {reply:?}");
    }
}

#[test]
fn an_x_not_y_correction_quotes_what_the_user_asked_for() {
    let r = rule();
    let interaction = chat(
        "i",
        &[
            "Show me blue shoes",
            "Here are red shoes.",
            "Hmm. I asked for the BLUE ones, not red!",
        ],
    );
    let found = r.corrections_in(&interaction);
    assert_eq!(
        found[0].correction.reason,
        "user said \"i asked for the blue ones not red\""
    );
    // The corrected answer is the assistant message just before (after the system message).
    assert_eq!((found[0].message, found[0].answer), (3, Some(2)));
}

#[test]
fn polite_noes_and_agreement_are_not_corrections() {
    for reply in [
        "no thanks",
        "No, that's all.",
        "no problem!",
        "That's right, thank you",
        "Great, that is correct.",
        "Something went wrong with my card though",
        "Yes! That's exactly what I meant.",
        "perfect, that is what i asked for",
    ] {
        assert_eq!(kind_of_reply(reply), None, "reply {reply:?}");
    }
}

#[test]
fn a_complaint_before_the_agent_spoke_is_not_a_correction() {
    let mut r = rule();
    let found = detect(
        &mut r,
        vec![chat(
            "i1",
            &[
                "That's wrong: you charged me twice!",
                "Sorry, let me check.",
            ],
        )],
    );
    assert!(found.is_empty());
}

#[test]
fn asking_the_same_question_again_after_an_answer_is_a_repeat() {
    let r = rule();
    let repeated = chat(
        "i1",
        &[
            "When will my order 48213 arrive?",
            "Orders usually ship within two days.",
            "when will my order 48213 arrive",
        ],
    );
    let found = r.corrections_in(&repeated);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].correction.kind, Kind::RepeatedQuestion);
    assert!(found[0].correction.reason.contains("same question"));

    let new_question = chat(
        "i2",
        &[
            "When will my order 48213 arrive?",
            "It arrives Tuesday.",
            "Can I change the delivery address?",
        ],
    );
    assert!(r.corrections_in(&new_question).is_empty());

    // Two user messages in a row, with no answer between, are not a repeat.
    let mut impatient = chat("i3", &["Where is my parcel today?"]);
    impatient.messages.push(impatient.messages[0].clone());
    assert!(r.corrections_in(&impatient).is_empty());
}

#[test]
fn only_the_first_correction_of_an_interaction_becomes_feedback() {
    // One interaction is enough to show both kinds when the operator asks for it.
    let mut r = match Corrections::new(context(&[("min_occurrences", "1")])) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let found = detect(
        &mut r,
        vec![chat(
            "i1",
            &[
                "What is my order number?",
                "Could you give me your order number?",
                "I already told you, 48213",
                "The refund window is 60 days.",
                "That's wrong.",
            ],
        )],
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].reason,
        "user said \"i already told you\": \"I already told you, 48213\""
    );
    // Both kinds still count for the findings, once each.
    let findings = finish(&mut r);
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["corrections/contradicted", "corrections/ignored-context"]
    );
}

#[test]
fn a_travel_agent_that_rejects_references_users_gave_is_told_to_fix_the_call_not_ask_again() {
    let mut r = rule_with("You are the booking assistant of a travel agency.");
    let inferred = detect(&mut r, travel_window(24, 76));
    assert_eq!(
        inferred
            .iter()
            .filter(|f| f.rating == Rating::Negative)
            .count(),
        24
    );
    let findings = finish(&mut r);

    let pattern = &findings.patterns[0];
    assert_eq!(pattern.key, "corrections/ignored-context");
    assert_eq!(pattern.occurrences, 24);
    assert_eq!(
        pattern.title,
        "The agent asks again for what users already said, after `find_booking` fails"
    );
    // The tool and its argument come from the logs: nothing in the rule knows them.
    let (fix, confidence) = fix_for(&findings, "corrections/ignored-context");
    assert_eq!(
        fix,
        "When `find_booking` rejects the `reference` the user gave you, do not ask the user for \
         it again: tell them what the tool expected, correct the format yourself if you can, and \
         call it again."
    );
    assert!(confidence >= 0.5, "{confidence}");
    assert_eq!(findings.suggestions.len(), 1, "one fix for one problem");
}

#[test]
fn a_search_that_drops_the_users_requirements_gets_a_fix_naming_the_search_tool() {
    let mut r = rule_with("You help people rent holiday flats.");
    let mut window = Vec::new();
    for i in 0..30 {
        let mut convo = Convo::new(&format!("flat-{i:02}"))
            .user("I need a flat in Lisbon with a balcony for two")
            .call("search_listings", "{\"city\":\"Lisbon\"}", None)
            .agent("The Alfama Loft is lovely and central.");
        convo = if i % 3 == 0 {
            convo.user("That's not what I asked, it has no balcony.")
        } else {
            convo.user("I asked for a balcony, not a loft.")
        };
        window.push(convo.done());
    }
    // A few misunderstandings without any tool do not change the leader.
    for i in 0..5 {
        window.push(chat(
            &format!("talk-{i}"),
            &[
                "Is breakfast included?",
                "Check-out is at 11.",
                "You misunderstood me",
            ],
        ));
    }
    detect(&mut r, window);
    let findings = finish(&mut r);
    assert_eq!(findings.patterns.len(), 1);
    assert_eq!(
        findings.patterns[0].key,
        "corrections/misunderstood-request"
    );
    assert_eq!(findings.patterns[0].occurrences, 35);
    let (fix, confidence) = fix_for(&findings, "corrections/misunderstood-request");
    assert_eq!(
        fix,
        "When you call `search_listings`, carry every requirement the user stated into its \
         arguments, and check each result against them before you recommend it."
    );
    assert!(confidence >= 0.5, "{confidence}");
}

#[test]
fn a_wrong_return_window_gets_a_fix_quoting_the_prompt_sentence_it_contradicts() {
    let mut r = rule();
    let mut window = Vec::new();
    for i in 0..30 {
        let correction = [
            "No, that's wrong. Your site says 14 days.",
            "That's not right, it's 14 days",
            "that's incorrect, the policy page says 14",
        ][i % 3];
        window.push(chat(
            &format!("ret-{i:02}"),
            &[
                "How long do I have to return boots from order 48213?",
                "You can return them within 30 days of delivery.",
                correction,
            ],
        ));
    }
    // Contradictions about something else: no figure of the prompt in them.
    for i in 0..6 {
        window.push(chat(
            &format!("other-{i}"),
            &[
                "Is the tent waterproof?",
                "No, it is not.",
                "That's wrong, it says waterproof",
            ],
        ));
    }
    detect(&mut r, window);
    let findings = finish(&mut r);
    let pattern = &findings.patterns[0];
    assert_eq!(pattern.key, "corrections/contradicted");
    assert_eq!(pattern.occurrences, 36);
    assert_eq!(
        pattern.title,
        "The agent states a figure its prompt contradicts"
    );
    let (fix, confidence) = fix_for(&findings, "corrections/contradicted");
    let sentence = "Returns are accepted within 14 days of delivery for unused items.";
    assert_eq!(
        fix,
        format!(
            "The prompt says \"{sentence}\" When you state this, use exactly this figure; never \
             30 days."
        )
    );
    // The quote is the live prompt's own sentence, so the host can find it there.
    assert!(SHOP_PROMPT.contains(sentence));
    assert!(confidence >= 0.5, "{confidence}");
}

#[test]
fn contradictions_with_no_prompt_fact_or_tool_behind_them_get_a_cautious_general_fix() {
    let mut r = rule_with("You help customers of a shop.");
    let window: Vec<Interaction> = (0..20)
        .map(|i| {
            chat(
                &format!("c-{i}"),
                &["Is the tent waterproof?", "No, it is not.", "That's wrong."],
            )
        })
        .collect();
    detect(&mut r, window);
    let findings = finish(&mut r);
    let (fix, confidence) = fix_for(&findings, "corrections/contradicted");
    assert!(
        fix.starts_with("When you state a fact, figure or rule"),
        "{fix}"
    );
    assert!(
        !fix.contains('`') && !fix.contains('"'),
        "names nothing: {fix}"
    );
    // Below the host's ready bar: a person decides.
    assert!(confidence < 0.5, "{confidence}");
    assert!(
        findings.patterns[0]
            .description
            .contains("No tool call or prompt sentence")
    );
}

#[test]
fn a_tool_used_by_a_minority_of_corrections_is_not_named() {
    let mut r = rule_with("You are the booking assistant of a travel agency.");
    let mut window = travel_window(4, 0);
    for i in 0..8 {
        window.push(chat(
            &format!("ask-{i}"),
            &[
                "My name is Ada Lovelace.",
                "What is your name?",
                "I just told you",
            ],
        ));
    }
    detect(&mut r, window);
    let findings = finish(&mut r);
    let (fix, confidence) = fix_for(&findings, "corrections/ignored-context");
    assert!(!fix.contains("find_booking"), "{fix}");
    assert!(confidence < 0.5);
    // With a lower bar set by the operator, it is named.
    let mut r = match Corrections::new(context(&[("anchor_share", "0.3")])) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let mut window = travel_window(4, 0);
    for i in 0..8 {
        window.push(chat(
            &format!("ask-{i}"),
            &[
                "My name is Ada Lovelace.",
                "What is your name?",
                "I just told you",
            ],
        ));
    }
    detect(&mut r, window);
    let findings = finish(&mut r);
    let (fix, _) = fix_for(&findings, "corrections/ignored-context");
    assert!(fix.contains("`find_booking`"), "{fix}");
}

#[test]
fn no_fix_quotes_a_user_or_carries_a_count() {
    let mut r = rule();
    let mut window = travel_window(15, 0);
    for i in 0..15 {
        window.push(chat(
            &format!("ret-{i}"),
            &[
                "What's the return window?",
                "Returns are accepted within 30 days.",
                "No, that's wrong, your site says 14 days",
            ],
        ));
        window.push(chat(
            &format!("mis-{i}"),
            &[
                "Do you have red gloves?",
                "Here are blue gloves.",
                "That's not what I asked",
            ],
        ));
        window.push(chat(
            &format!("rep-{i}"),
            &[
                "When does the Lisbon store open tomorrow?",
                "We have stores in many cities.",
                "When does the Lisbon store open tomorrow?",
            ],
        ));
    }
    let user_texts: Vec<String> = window
        .iter()
        .flat_map(|i| i.messages.iter())
        .filter(|m| m.role == Role::User)
        .map(|m| text_of(&m.content))
        .collect();
    detect(&mut r, window);
    let findings = finish(&mut r);
    assert_eq!(
        findings.suggestions.len(),
        findings.patterns.len(),
        "one fix per pattern"
    );
    // The agent's "30 days" against the prompt is a pattern of its own, whose
    // fix is the contradiction's, word for word: four distinct edits.
    let mut edits: Vec<String> = findings
        .suggestions
        .iter()
        .map(|s| format!("{:?}", s.edit))
        .collect();
    edits.sort();
    edits.dedup();
    assert_eq!(edits.len(), 4, "one edit per kind: {edits:#?}");
    for suggestion in &findings.suggestions {
        let Edit::AppendInstruction(fix) = &suggestion.edit else {
            panic!("{:?}", suggestion.edit)
        };
        // Digits only where they belong: the quoted prompt sentence and the wrong figure.
        let outside_quote = match fix.split('"').collect::<Vec<_>>().as_slice() {
            [before, _quoted, after] => format!("{before}{after}").replace("30 days", ""),
            _ => fix.clone(),
        };
        assert!(
            !outside_quote.chars().any(|c| c.is_ascii_digit()) && !fix.contains('%'),
            "a count in {fix:?}"
        );
        // No run of four words of any user message.
        let fix_words = text_of(fix);
        for said in &user_texts {
            let words: Vec<&str> = said.split(' ').collect();
            for run in words.windows(4) {
                assert!(
                    !fix_words.contains(&run.join(" ")),
                    "{fix:?} quotes the user: {said:?}"
                );
            }
        }
        // And no reason string of the rule.
        assert!(!fix.contains("user said"), "{fix}");
    }
}

/// Lowercase words, for comparing texts word by word.
fn text_of(s: &str) -> String {
    reverie_rule_sdk::text::normalise(s)
}

#[test]
fn users_who_end_by_thanking_the_agent_give_positive_feedback_in_their_language() {
    let mut r = rule();
    let endings = [
        ("en", "Thanks, that worked!"),
        ("en2", "perfect"),
        ("de", "Danke, hat geklappt"),
        ("es", "Gracias, funcionó"),
        ("fr", "Merci, ça marche !"),
        ("it", "Grazie, ha funzionato"),
        ("pt", "Obrigado, funcionou"),
        ("nl", "Bedankt, het werkt"),
    ];
    let mut window: Vec<Interaction> = endings
        .iter()
        .map(|(id, last)| chat(id, &["My parcel is late.", "It arrives tomorrow.", last]))
        .collect();
    // Thanks after a correction do not make the interaction a success.
    window.push(chat(
        "corrected",
        &[
            "Return window?",
            "30 days.",
            "That's wrong, it's 14 days.",
            "Sorry, 14 days.",
            "thanks",
        ],
    ));
    // Declining more help is neither praise nor a complaint.
    window.push(chat("declined", &["Hi", "Anything else?", "no thanks"]));
    window.push(chat(
        "nothing-more",
        &["Hi", "Anything else?", "No, that's all."],
    ));
    // A user who thanks before the agent said anything has not been helped yet.
    window.push(chat("early", &["Thanks in advance: where is my parcel?"]));

    let inferred = detect(&mut r, window);
    let positive: Vec<(&str, &str)> = inferred
        .iter()
        .filter(|f| f.rating == Rating::Positive)
        .map(|f| (f.interaction_id.as_str(), f.reason.as_str()))
        .collect();
    assert_eq!(
        positive,
        [
            ("en", "The user said it worked."),
            ("en2", "The user was pleased with the answer at the end."),
            ("de", "The user said it worked."),
            ("es", "The user said it worked."),
            ("fr", "The user said it worked."),
            ("it", "The user said it worked."),
            ("pt", "The user said it worked."),
            ("nl", "The user said it worked."),
        ]
    );
    let negative: Vec<&str> = inferred
        .iter()
        .filter(|f| f.rating == Rating::Negative)
        .map(|f| f.interaction_id.as_str())
        .collect();
    assert_eq!(negative, ["corrected"]);
    let findings = finish(&mut r);
    assert!((findings.metrics[1].value - 8.0 / 12.0).abs() < 1e-9);
}

#[test]
fn no_thanks_and_thats_all_are_never_corrections() {
    let mut r = rule();
    let window: Vec<Interaction> = [
        "no thanks",
        "No, that's all.",
        "No thank you, that's everything",
        "no problem",
    ]
    .iter()
    .enumerate()
    .map(|(i, last)| {
        chat(
            &format!("i{i}"),
            &[
                "Where is my parcel?",
                "It arrives tomorrow. Anything else?",
                last,
            ],
        )
    })
    .collect();
    let inferred = detect(&mut r, window);
    assert!(
        inferred.iter().all(|f| f.rating != Rating::Negative),
        "{inferred:?}"
    );
    assert!(finish(&mut r).patterns.is_empty());
}

#[test]
fn evidence_lists_every_corrected_interaction_in_window_order_up_to_the_bound() {
    let mut r = rule();
    // Two chunks, as the host streams them.
    let first = travel_window(700, 300);
    let second: Vec<Interaction> = travel_window(1200, 0)
        .into_iter()
        .skip(700)
        .map(|mut i| {
            i.id = format!("late-{}", i.id);
            i
        })
        .collect();
    detect(&mut r, first);
    detect(&mut r, second);
    let findings = finish(&mut r);
    let pattern = &findings.patterns[0];
    assert_eq!(pattern.occurrences, 1200);
    assert_eq!(pattern.evidence.len(), 1200, "complete, not a sample of 20");
    assert_eq!(pattern.evidence[0], "trip-000");
    assert_eq!(pattern.evidence[699], "trip-699");
    assert_eq!(pattern.evidence[700], "late-trip-700");

    // Past the contract's bound, the first MAX_EVIDENCE are kept and the count stays true.
    let mut r = rule();
    detect(&mut r, travel_window(MAX_EVIDENCE + 50, 0));
    let pattern = &finish(&mut r).patterns[0];
    assert_eq!(pattern.occurrences as usize, MAX_EVIDENCE + 50);
    assert_eq!(pattern.evidence.len(), MAX_EVIDENCE);
}

#[test]
fn the_run_log_fields_say_what_anchored_each_fix() {
    let mut r = rule_with("You are the booking assistant of a travel agency.");
    detect(&mut r, travel_window(10, 10));
    let (_, _, fields) = r.findings_of(Kind::IgnoredContext);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("anchor"), Some("tool"));
    assert_eq!(get("top_tool"), Some("find_booking"));
    assert_eq!(get("top_tool_share"), Some("1.00"));
    assert_eq!(get("top_tool_failed_share"), Some("1.00"));
    assert_eq!(get("top_field"), Some("reference"));
    assert_eq!(get("interactions"), Some("10"));
}
#[test]
fn severity_follows_the_share_of_interactions_and_its_settings() {
    let run = |settings: &[(&str, &str)], bad: usize| -> Severity {
        let mut r = match Corrections::new(context(settings)) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let mut chunk = Vec::new();
        for i in 0..200 {
            let reply = if i < bad { "you misunderstood" } else { "ok" };
            chunk.push(chat(
                &format!("i{i}"),
                &["Where is it?", "In the box.", reply],
            ));
        }
        detect(&mut r, chunk);
        finish(&mut r).patterns[0].severity
    };
    assert_eq!(run(&[("min_occurrences", "1")], 1), Severity::Low); // 0.5%
    assert_eq!(run(&[], 4), Severity::Medium); // 2%
    assert_eq!(run(&[], 10), Severity::High); // 5%
    assert_eq!(run(&[("severity_high_share", "0.5")], 10), Severity::Medium);
}

#[test]
fn one_or_two_corrections_are_an_anecdote_not_a_pattern() {
    let mut r = rule();
    detect(
        &mut r,
        vec![
            chat("a", &["Return window?", "30 days.", "That's wrong"]),
            chat("b", &["Return window?", "30 days.", "That's wrong"]),
        ],
    );
    let findings = finish(&mut r);
    assert!(findings.patterns.is_empty());
    assert!(findings.suggestions.is_empty());
    // Still counted in the rule's own figures.
    assert!((findings.metrics[0].value - 1.0).abs() < 1e-9);
}

#[test]
fn a_quiet_window_reports_no_patterns_and_a_zero_rate() {
    let mut r = rule();
    detect(
        &mut r,
        vec![chat("i1", &["Hi", "Hello!", "That's right, thanks"])],
    );
    let findings = finish(&mut r);
    assert!(findings.patterns.is_empty());
    assert!(findings.suggestions.is_empty());
    assert_eq!(findings.metrics[0].value, 0.0);
    // "That's right, thanks" is praise, not a correction.
    assert_eq!(findings.metrics[1].name, "thanked_rate");
    assert_eq!(findings.metrics[1].value, 1.0);
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    for (name, value) in [
        ("severity_high_share", "lots"),
        ("severity_medium_share", "1.5"),
        ("repeat_similarity", "0"),
        ("anchor_share", "0"),
        ("anchor_share", "2"),
        ("min_occurrences", "0"),
    ] {
        match Corrections::new(context(&[(name, value)])) {
            Ok(_) => panic!("{name}={value} was accepted"),
            Err(e) => assert!(e.contains(name), "{e}"),
        }
    }
    let inverted = Corrections::new(context(&[
        ("severity_high_share", "0.01"),
        ("severity_medium_share", "0.02"),
    ]));
    assert!(inverted.is_err());
}

#[test]
fn info_declares_the_detect_stage_and_every_setting_it_reads_with_defaults() {
    let info = Corrections::info();
    assert_eq!(info.name, "corrections");
    assert_eq!(info.stages, [Stage::Detect]);
    // It reads tool calls to anchor its fixes, but never the logged system
    // messages: the live prompt comes with the cycle.
    assert_eq!(info.inputs, Inputs::MESSAGES | Inputs::TOOL_CALLS);
    let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "severity_high_share",
            "severity_medium_share",
            "repeat_similarity",
            "min_occurrences",
            "anchor_share"
        ]
    );
    // Every declared default is accepted as a value.
    let defaults: Vec<(String, String)> = info
        .settings
        .iter()
        .map(|s| (s.name.clone(), s.default_value.clone().unwrap_or_default()))
        .collect();
    let pairs: Vec<(&str, &str)> = defaults
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match Corrections::new(context(&pairs)) {
        Ok(r) => assert_eq!(r.settings, rule().settings),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_same_window_gives_the_same_findings() {
    let run = || {
        let mut r = rule();
        let mut chunk = Vec::new();
        for i in 0..40 {
            let reply = ["that's wrong", "I meant the other one", "as I said, blue"][i % 3];
            let answer = [
                "Shipping costs 5 euros.",
                "Express takes two days.",
                "Size M.",
            ][i % 2];
            chunk.push(chat(&format!("i{i}"), &["Question?", answer, reply]));
        }
        detect(&mut r, chunk);
        format!("{:?}", finish(&mut r))
    };
    assert_eq!(run(), run());
}

/// What the rule makes of `reply` when the agent's turn before it called
/// `tool` (failing with `error`, if given) and then said `said`.
fn after_call(tool: &str, error: Option<&str>, said: &str, reply: &str) -> Option<(Kind, Signal)> {
    let interaction = Convo::new("i")
        .user("Can you look at my booking? Ref QX7P2")
        .call(tool, "{\"reference\":\"QX7P2\"}", error)
        .agent(said)
        .user(reply)
        .done();
    rule()
        .corrections_in(&interaction)
        .first()
        .map(|f| (f.correction.kind, f.correction.signal))
}

#[test]
fn a_traveller_who_stops_an_unasked_cancellation_is_an_unwanted_action_in_any_language() {
    let said = "I've cancelled booking QX7P2; the refund is on its way.";
    // None of these is worded as in the example datasets: what counts is that
    // the agent's call succeeded, it then stated what it did, and the reply
    // pushes back.
    for reply in [
        "Hold on, I never wanted it cancelled!",
        "Why would you cancel it? I was only asking about the fees.",
        "I just wanted to know the rules",
        "Moment mal, ich wollte nicht stornieren!",
        "Warum haben Sie das gemacht? Ich wollte nur eine Auskunft.",
        "Espera, yo no te pedí que cancelaras nada",
        "¿Por qué lo hiciste? Solo quería saber el precio.",
        "Attendez, je n'ai pas demandé d'annulation !",
        "Je voulais juste savoir, pourquoi avez vous annulé ?",
        "Aspetta, non ti ho chiesto di cancellare",
        "Espera, eu não pedi isso",
        "Wacht, dat heb ik niet gevraagd",
        "That isn't what I wanted, now I have to book again.",
    ] {
        assert_eq!(
            after_call("cancel_booking", None, said, reply).map(|(kind, _)| kind),
            Some(Kind::UnwantedAction),
            "{reply}"
        );
    }
}

#[test]
fn a_no_that_answers_a_question_or_closes_or_follows_a_failed_call_is_no_unwanted_action() {
    let done = "I've cancelled booking QX7P2; the refund is on its way.";
    // The agent asked: "no" answers it.
    assert_eq!(
        after_call(
            "find_booking",
            None,
            "Found it. Shall I cancel it?",
            "No, wait"
        ),
        None
    );
    // Closings, in every language, after a successful call and a statement.
    for closing in crate::markers::CLOSING_EXAMPLES {
        assert_eq!(
            after_call("cancel_booking", None, done, closing),
            None,
            "{closing}"
        );
    }
    // The call failed: nothing was done that the user could reject.
    assert_ne!(
        after_call(
            "cancel_booking",
            Some("timeout"),
            "Something went wrong.",
            "wait, I didn't ask for that"
        )
        .map(|(kind, _)| kind),
        Some(Kind::UnwantedAction)
    );
}

#[test]
fn actions_users_reject_get_one_fix_naming_the_tools_that_acted_unasked() {
    let mut r = rule_with("You are the assistant of a rail company. Be brief.");
    let mut window = Vec::new();
    let replies = [
        "Wait, I didn't want that!",
        "Warte, das wollte ich nicht",
        "Espera, no te pedí eso",
        "Attends, je n'ai pas demandé ça",
    ];
    for i in 0..24 {
        // Two tools act unasked, one twice as often as the other.
        let tool = if i % 3 == 0 {
            "change_seat"
        } else {
            "cancel_booking"
        };
        window.push(
            Convo::new(&format!("rail-{i:02}"))
                .user("What happens if I miss my train? Ref QX7P2")
                .call(tool, "{\"reference\":\"QX7P2\"}", None)
                .agent("Done, I've taken care of booking QX7P2.")
                .user(replies[i % replies.len()])
                .done(),
        );
    }
    // Travellers who were asked first and said no are not counted.
    for i in 0..20 {
        window.push(
            Convo::new(&format!("asked-{i:02}"))
                .user("Can I cancel my booking? Ref QX7P2")
                .call("find_booking", "{\"reference\":\"QX7P2\"}", None)
                .agent("You can, the fee is 10 euros. Shall I cancel it?")
                .user("No, I'll keep it")
                .done(),
        );
    }
    detect(&mut r, window);
    let findings = finish(&mut r);
    // One pattern per tool that acted: a rejected cancellation and a rejected
    // seat change may be two habits, which other rules tell apart.
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "corrections/unwanted-action/cancel_booking",
            "corrections/unwanted-action/change_seat"
        ]
    );
    assert_eq!(findings.patterns[0].occurrences, 16);
    assert_eq!(findings.patterns[1].occurrences, 8);
    assert_eq!(findings.patterns[1].evidence[0], "rail-00");
    // ... and one fix for the kind, naming both.
    assert_eq!(findings.suggestions.len(), 1);
    let (fix, confidence) = fix_for(&findings, "corrections/unwanted-action/cancel_booking");
    assert_eq!(
        fix,
        "Before you call `cancel_booking` or `change_seat`, say what you will do and ask the \
         user to confirm; call it only after a clear yes."
    );
    assert!(confidence >= 0.5, "{confidence}");
}

#[test]
fn a_restated_figure_contradicts_the_agent_and_finds_the_prompt_sentence_in_any_language() {
    // The agent gives 6 hours where the prompt says 4; users restore the
    // figure in digits or in words, with the unit inflected or not.
    let cases = [
        (
            "Bikes must be back within 4 hours of pick-up.",
            "You have 6 hours, so no rush.",
            "Four hours, the sign at the shop says so.",
            "6 hours",
        ),
        (
            "Fahrräder müssen innerhalb von 4 Stunden zurückgegeben werden.",
            "Sie haben 6 Stunden Zeit.",
            "Es sind vier Stunden, so steht es im Laden.",
            "6 Stunden",
        ),
        (
            "Las bicicletas deben devolverse en 4 horas.",
            "Tiene 6 horas, sin prisa.",
            "Son cuatro horas, lo pone en la tienda.",
            "6 horas",
        ),
        (
            "Les vélos doivent être rendus sous 4 heures.",
            "Vous avez 6 heures, pas de souci.",
            "C'est quatre heures, c'est affiché au magasin.",
            "6 heures",
        ),
    ];
    for (policy, said, reply, wrong) in cases {
        let prompt = format!("You rent bikes.\n- {policy}\n");
        let mut r = rule_with(&prompt);
        let window: Vec<Interaction> = (0..5)
            .map(|i| {
                chat(
                    &format!("bike-{i}"),
                    &["How long can I keep it?", said, reply],
                )
            })
            .collect();
        detect(&mut r, window);
        let findings = finish(&mut r);
        assert_eq!(findings.patterns.len(), 1, "{reply}");
        assert_eq!(findings.patterns[0].key, "corrections/contradicted");
        let (fix, _) = fix_for(&findings, "corrections/contradicted");
        assert_eq!(
            fix,
            format!(
                "The prompt says \"{policy}\" When you state this, use exactly this figure; \
                 never {wrong}."
            )
        );
    }
}

#[test]
fn a_figure_the_agent_also_gave_or_gave_in_another_unit_is_no_restatement() {
    let kind = |said: &str, reply: &str| {
        let interaction = chat("i", &["When does it ship?", said, reply]);
        rule()
            .corrections_in(&interaction)
            .first()
            .map(|f| f.correction.kind)
    };
    assert_eq!(
        kind("It ships in 2 days.", "five business days, the site says"),
        Some(Kind::Contradicted)
    );
    // The user repeats the agent's own figure.
    assert_eq!(kind("It ships in 2 days.", "2 days, great"), None);
    // A figure in another unit is another fact.
    assert_eq!(kind("It ships in 2 days.", "and it costs 5 euros?"), None);
    // A number word without a unit says nothing.
    assert_eq!(kind("It ships in 2 days.", "two? ok"), None);
}

#[test]
fn restating_an_earlier_request_after_an_answer_is_a_misunderstanding_in_any_language() {
    let story = |ask: &str, answer: &str, reply: &str| {
        let interaction = chat("i", &[ask, answer, reply]);
        rule()
            .corrections_in(&interaction)
            .first()
            .map(|f| (f.correction.kind, f.correction.signal))
    };
    for (ask, answer, reply) in [
        (
            "Do you have waterproof jackets for kids?",
            "The Breeze Shell is light and cheap.",
            "I asked for waterproof, is it?",
        ),
        (
            "Haben Sie wasserdichte Jacken für Kinder?",
            "Die Breeze Shell ist leicht und günstig.",
            "Ich wollte wasserdichte Jacken.",
        ),
        (
            "¿Tienen chaquetas impermeables para niños?",
            "La Breeze Shell es ligera y barata.",
            "Yo quería chaquetas impermeables.",
        ),
        (
            "Avez-vous des vestes imperméables pour enfants ?",
            "La Breeze Shell est légère et pas chère.",
            "J'ai demandé des vestes imperméables.",
        ),
    ] {
        assert_eq!(
            story(ask, answer, reply),
            Some((Kind::Misunderstood, Signal::RestatedRequest)),
            "{reply}"
        );
    }
    // Pointing back at nothing the user asked for before is not a restatement.
    assert_eq!(
        story(
            "Do you have jackets for kids?",
            "The Breeze Shell is light.",
            "I wanted to know about delivery times as well"
        ),
        None
    );
}

#[test]
fn the_run_log_counts_corrections_by_the_signal_that_showed_them() {
    let mut r = rule();
    let window = vec![
        chat("phrase", &["Returns?", "60 days.", "That's wrong"]),
        chat(
            "figure",
            &["Returns?", "60 days.", "fourteen days, says your site"],
        ),
        Convo::new("action")
            .user("How do refunds work?")
            .call("refund_order", "{}", None)
            .agent("I've refunded your order.")
            .user("wait, I didn't ask for a refund")
            .done(),
    ];
    detect(&mut r, window);
    let fields = r.seen_fields();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("corrected"), Some("3"));
    assert_eq!(get("signal_phrase"), Some("1"));
    assert_eq!(get("signal_restated_figure"), Some("1"));
    assert_eq!(get("signal_rejected_action"), Some("1"));
    assert_eq!(get("signal_negated_action"), Some("0"));
    assert_eq!(get("unwanted_action"), Some("1"));
}

#[test]
fn an_agent_stating_a_figure_its_prompt_contradicts_is_found_though_no_user_objects() {
    let prompt = "You are the IT help desk.\n\
        - Replacement laptops ship within 5 business days of the manager's approval.\n\
        - Accessories need no approval and reach the office IT desk within 3 business days.\n\
        - Tickets: P1 is answered within 1 hour, P3 tickets within 3 business days.";
    let mut r = rule_with(prompt);
    let mut window = Vec::new();
    for i in 0..6 {
        // The users take the wrong figure on trust.
        window.push(chat(
            &format!("laptop-{i}"),
            &[
                "When will my replacement laptop arrive?",
                "Replacement laptops ship within 2 business days of your manager's approval.",
                "ok cool",
            ],
        ));
        // Right figures, of the same unit, on other topics; and unrelated numbers.
        window.push(chat(
            &format!("dock-{i}"),
            &[
                "I need a dock, and what about my ticket INC-204331?",
                "Your dock reaches the office IT desk within 3 business days. P3 tickets are \
                 answered within 3 business days. This is step 2 of 5.",
                "thanks",
            ],
        ));
    }
    let feedback = detect(&mut r, window);
    assert!(
        feedback.iter().all(|f| f.rating == Rating::Positive),
        "no user objected, so no negative feedback is inferred: {feedback:?}"
    );
    let findings = finish(&mut r);
    let against: Vec<&Pattern> = findings
        .patterns
        .iter()
        .filter(|p| p.key.starts_with(CONTRADICTS_PROMPT))
        .collect();
    assert_eq!(against.len(), 1, "{:#?}", findings.patterns);
    assert_eq!(against[0].occurrences, 6);
    assert!(
        against[0]
            .evidence
            .iter()
            .all(|id| id.starts_with("laptop-"))
    );
    let (fix, confidence) = fix_for(&findings, &against[0].key);
    assert_eq!(
        fix,
        "The prompt says \"Replacement laptops ship within 5 business days of the manager's \
         approval.\" When you state this, use exactly this figure; never 2 business days."
    );
    assert!(confidence >= 0.5, "{confidence}");
}

#[test]
fn ein_agent_der_seinem_prompt_widerspricht_wird_erkannt() {
    let prompt = "Du bist der IT-Helpdesk.\n\
        - Ersatzlaptops werden innerhalb von 5 Werktagen nach der Genehmigung verschickt.\n\
        - Zubehör ist ohne Genehmigung innerhalb von 3 Werktagen am IT-Schalter.";
    let mut r = rule_with(prompt);
    let mut window = Vec::new();
    for i in 0..4 {
        window.push(chat(
            &format!("laptop-{i}"),
            &[
                "Wann kommt mein Ersatzlaptop?",
                "Ihr Ersatzlaptop wird innerhalb von zwei Werktagen nach der Genehmigung verschickt.",
                "ok",
            ],
        ));
        window.push(chat(
            &format!("maus-{i}"),
            &[
                "Ich brauche eine Maus.",
                "Das Zubehör ist innerhalb von 3 Werktagen am IT-Schalter, ohne Genehmigung.",
                "danke",
            ],
        ));
    }
    detect(&mut r, window);
    let findings = finish(&mut r);
    let against: Vec<&Pattern> = findings
        .patterns
        .iter()
        .filter(|p| p.key.starts_with(CONTRADICTS_PROMPT))
        .collect();
    assert_eq!(against.len(), 1, "{:#?}", findings.patterns);
    assert_eq!(against[0].occurrences, 4);
    let (fix, _) = fix_for(&findings, &against[0].key);
    assert!(
        fix.contains(
            "\"Ersatzlaptops werden innerhalb von 5 Werktagen nach der Genehmigung verschickt.\""
        ) && fix.ends_with("never zwei Werktagen."),
        "{fix}"
    );
}

/// What the rule makes of `reply` after the user asked `ask` and the agent
/// answered `answer` (no tool call).
fn reply_to(ask: &str, answer: &str, reply: &str) -> Option<(Kind, Signal)> {
    rule()
        .corrections_in(&chat("i", &[ask, answer, reply]))
        .into_iter()
        .find(|f| f.message == 3)
        .map(|f| (f.correction.kind, f.correction.signal))
}

#[test]
fn a_traveller_who_asked_for_euros_and_got_dollars_is_heard_in_seven_languages() {
    // The agent's turn looked the fare up and quoted it in the wrong currency.
    // Nothing in the rule knows a currency: "USD" and "euros" come from the
    // conversation.
    let quoted = |ask: &str, answer: &str, reply: &str| {
        let interaction = Convo::new("trip")
            .user(ask)
            .call("quote_fare", "{\"route\":\"BER-LIS\"}", None)
            .agent(answer)
            .user(reply)
            .done();
        rule()
            .corrections_in(&interaction)
            .first()
            .map(|f| f.correction.kind)
    };
    for (ask, answer, replies) in [
        (
            "How much is the Lisbon flight in EUR?",
            "The return fare to Lisbon is 540 USD.",
            &[
                "Dollars again? EUR please",
                "I'm paying in euros, not USD",
                "in euros please",
                "EUR please",
            ][..],
        ),
        (
            "Was kostet der Flug nach Lissabon in Euro?",
            "Der Flug nach Lissabon kostet 540 USD.",
            &[
                "Schon wieder Dollar? Bitte in Euro",
                "Ich zahle in Euro, nicht in USD",
                "nein, ich sagte Euro",
            ],
        ),
        (
            "¿Cuánto cuesta el vuelo a Lisboa en euros?",
            "El vuelo a Lisboa cuesta 540 USD.",
            &[
                "¿Otra vez dólares? En euros, por favor",
                "Pago en euros, no en dólares",
            ],
        ),
        (
            "Combien coûte le vol pour Lisbonne en euros ?",
            "Le vol pour Lisbonne coûte 540 USD.",
            &[
                "Encore des dollars ? En euros, s'il vous plaît",
                "Je paie en euros, pas en USD",
            ],
        ),
        (
            "Quanto costa il volo per Lisbona in euro?",
            "Il volo per Lisbona costa 540 USD.",
            &["Di nuovo dollari? In euro, per favore", "No, ho detto euro"],
        ),
        (
            "Quanto custa o voo para Lisboa em euros?",
            "O voo para Lisboa custa 540 USD.",
            &["Em euros, por favor", "Eu pago em euros, não em USD"],
        ),
        (
            "Wat kost de vlucht naar Lissabon in euro?",
            "De vlucht naar Lissabon kost 540 USD.",
            &["Alweer dollars? In euro graag", "Nee, ik zei euro"],
        ),
    ] {
        for reply in replies {
            // The user had asked for the currency: the agent dropped a stated requirement.
            assert_eq!(
                quoted(ask, answer, reply),
                Some(Kind::Misunderstood),
                "{reply}"
            );
        }
    }
    // The phrase that was found before is found still.
    assert_eq!(
        quoted(
            "How much is the Lisbon flight in EUR?",
            "The return fare to Lisbon is 540 USD.",
            "like I said, in EUR"
        ),
        Some(Kind::IgnoredContext)
    );
}

#[test]
fn eur_please_answers_which_currency_but_corrects_a_stated_price() {
    let ask = "Can you quote the Lisbon flight?";
    for (question, reply) in [
        ("Which currency would you like?", "EUR please"),
        ("In welcher Währung?", "In Euro, bitte"),
        ("¿En qué moneda?", "En euros, por favor"),
        ("Dans quelle devise ?", "En euros, s'il vous plaît"),
        ("USD or EUR?", "EUR please"),
        ("Sure. What's your budget?", "500 euros please"),
    ] {
        assert_eq!(reply_to(ask, question, reply), None, "{question} {reply}");
    }
    for (statement, reply) in [
        ("The fare is 540 USD.", "EUR please"),
        ("The fare is 540 USD. Shall I book it?", "EUR please"),
        ("Der Flug kostet 540 USD.", "In Euro, bitte"),
        ("El vuelo cuesta 540 USD.", "En euros, por favor"),
    ] {
        // Never asked for before: the user holds the stated term wrong.
        assert_eq!(
            reply_to(ask, statement, reply),
            Some((Kind::Contradicted, Signal::ReplacedTerm)),
            "{statement} {reply}"
        );
    }
}

#[test]
fn negating_a_term_of_the_answer_contradicts_it_whatever_the_domain() {
    for (ask, answer, reply) in [
        (
            "When is my appointment?",
            "Your appointment is on Tuesday at 10.",
            "Not Tuesday, it was moved to Thursday",
        ),
        (
            "Which laptop will I get?",
            "You will receive a ThinkPad X1.",
            "Nicht das ThinkPad, ich bekomme ein MacBook",
        ),
        (
            "¿Qué talla me enviáis?",
            "Te enviamos la talla L.",
            "No la talla L, pedí la M",
        ),
        (
            "Où est mon colis ?",
            "Votre colis est au dépôt de Lyon.",
            "Pas à Lyon, j'habite à Lille",
        ),
    ] {
        assert_eq!(
            reply_to(ask, answer, reply).map(|(_, signal)| signal),
            Some(Signal::NegatedTerm),
            "{reply}"
        );
    }
    // A reply that repeats the agent's own negation agrees with it.
    for (answer, reply) in [
        (
            "EU citizens don't need a visa, only an eTA.",
            "OK, so no visa, just the eTA",
        ),
        (
            "EU-Bürger brauchen kein Visum, nur eine eTA.",
            "OK, also kein Visum, nur die eTA",
        ),
    ] {
        assert_eq!(reply_to("Visa?", answer, reply), None, "{reply}");
    }
    // "No, ..." opening a sentence is a plain no, not the negation of a term;
    // and a negation inside a question asks.
    assert_eq!(
        reply_to(
            "Has my refund arrived?",
            "The refund was sent on Monday. Have you received it yet?",
            "No, not yet."
        ),
        None
    );
    assert_eq!(
        reply_to(
            "When?",
            "Your refund will not arrive before Friday.",
            "not before Friday?"
        ),
        None
    );
}

#[test]
fn confirmations_goodbyes_and_added_requests_are_not_corrections_in_any_language() {
    let proposal = "The 9:15 to Lyon costs 64 EUR. Shall I book it?";
    for reply in [
        "yes, please proceed",
        "ja, bitte fortfahren",
        "sí, adelante",
        "oui, allez-y",
        "sì, procedi pure",
        "sim, pode avançar",
        "ja, ga je gang",
        "Yes please, and add a seat reservation too",
    ] {
        let interaction = Convo::new("i")
            .user("Book the 9:15 train to Lyon.")
            .call("quote_train", "{}", None)
            .agent(proposal)
            .user(reply)
            .done();
        assert!(rule().corrections_in(&interaction).is_empty(), "{reply}");
    }
    let done = "Your booking is confirmed. Have a good trip.";
    for reply in [
        "bye",
        "tschüss",
        "adiós",
        "merci, au revoir",
        "ciao",
        "tchau",
        "doei",
        "Great, goodbye.",
    ] {
        assert_eq!(reply_to("Book it.", done, reply), None, "{reply}");
    }
    // A polite request for something new replaces nothing; nor does a
    // phrase of time.
    for reply in [
        "please cancel it",
        "Please send me the invoice",
        "Bitte schicken Sie mir die Rechnung",
        "Por favor, cancélalo",
        "in a minute",
    ] {
        assert_eq!(
            reply_to("Hi", "Your order has shipped.", reply),
            None,
            "{reply}"
        );
    }
    // A user who asks for more after a good answer adds a request: the
    // agent did nothing wrong, so it is no correction.
    for reply in [
        "and also in euros?",
        "Und auch in Euro?",
        "¿Y también en euros?",
        "Et aussi en euros ?",
    ] {
        assert_eq!(
            reply_to("Price of the tour?", "The tour costs 80 USD.", reply),
            None,
            "{reply}"
        );
    }
}

#[test]
fn wrong_answers_misreadings_and_context_already_given_are_heard_in_seven_languages() {
    let answer = "The museum is open every day.";
    for (reply, kind) in [
        ("Das stimmt nicht, montags ist zu.", Kind::Contradicted),
        ("Eso no es cierto.", Kind::Contradicted),
        ("C'est faux, il ferme le lundi.", Kind::Contradicted),
        ("Non è vero.", Kind::Contradicted),
        ("Isso está errado.", Kind::Contradicted),
        ("Dat klopt niet.", Kind::Contradicted),
        ("Das meinte ich nicht.", Kind::Misunderstood),
        ("No es lo que pregunté.", Kind::Misunderstood),
        ("Ce n'est pas ce que j'ai demandé.", Kind::Misunderstood),
        ("Non è quello che ho chiesto.", Kind::Misunderstood),
        ("Não é o que eu perguntei.", Kind::Misunderstood),
        ("Dat is niet wat ik vroeg.", Kind::Misunderstood),
        ("Wie gesagt, montags.", Kind::IgnoredContext),
        ("Ya te lo dije.", Kind::IgnoredContext),
        ("Je l'ai déjà dit.", Kind::IgnoredContext),
        ("Te l'ho già detto.", Kind::IgnoredContext),
        ("Já lhe disse.", Kind::IgnoredContext),
        ("Dat heb ik al gezegd.", Kind::IgnoredContext),
    ] {
        assert_eq!(
            reply_to("Is the museum open on Mondays?", answer, reply).map(|(k, _)| k),
            Some(kind),
            "{reply}"
        );
    }
    // A "wrong" that describes something else says nothing of the answer.
    for reply in [
        "Ich habe das falsche Passwort eingegeben",
        "Digitei o código errado",
        "Ho inserito il codice sbagliato",
    ] {
        assert_eq!(reply_to("Help?", answer, reply), None, "{reply}");
    }
}

#[test]
fn the_same_question_asked_again_is_a_repeat_in_seven_languages() {
    for (question, again) in [
        (
            "Can I bring my bike on the train?",
            "Can I bring my bike on the train or not?",
        ),
        (
            "Darf ich mein Fahrrad im Zug mitnehmen?",
            "Darf ich mein Fahrrad im Zug mitnehmen oder nicht?",
        ),
        (
            "¿Puedo llevar mi bici en el tren?",
            "¿Puedo llevar mi bici en el tren o no?",
        ),
        (
            "Puis-je prendre mon vélo dans le train ?",
            "Puis-je prendre mon vélo dans le train ou pas ?",
        ),
        (
            "Posso portare la bici sul treno?",
            "Posso portare la bici sul treno o no?",
        ),
        (
            "Posso levar a bicicleta no comboio?",
            "Posso levar a bicicleta no comboio ou não?",
        ),
        (
            "Mag ik mijn fiets meenemen in de trein?",
            "Mag ik mijn fiets meenemen in de trein of niet?",
        ),
    ] {
        assert_eq!(
            reply_to(question, "Trains leave every hour from platform 3.", again),
            Some((Kind::RepeatedQuestion, Signal::Repeat)),
            "{again}"
        );
    }
}

#[test]
fn a_term_correction_anchors_on_the_tool_and_gets_the_misunderstood_fix() {
    let mut r = rule_with("You are the assistant of a travel agency.");
    let window: Vec<Interaction> = (0..12)
        .map(|i| {
            Convo::new(&format!("q-{i:02}"))
                .user("Please quote the Porto hotel in EUR.")
                .call("quote_hotel", "{\"city\":\"Porto\"}", None)
                .agent("The hotel in Porto is 180 USD per night.")
                .user(
                    [
                        "EUR please",
                        "Ich zahle in Euro, nicht in USD",
                        "En euros, por favor",
                    ][i % 3],
                )
                .done()
        })
        .collect();
    detect(&mut r, window);
    let findings = finish(&mut r);
    let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["corrections/misunderstood-request"]);
    assert_eq!(findings.patterns[0].occurrences, 12);
    assert_eq!(
        findings.patterns[0].title,
        "The agent misunderstands what users ask, after calling `quote_hotel`"
    );
    assert!(
        findings.patterns[0]
            .description
            .contains("(first: user replaced a term of the answer (eur): \"EUR please\")"),
        "{}",
        findings.patterns[0].description
    );
    let (fix, _) = fix_for(&findings, "corrections/misunderstood-request");
    assert_eq!(
        fix,
        "When you call `quote_hotel`, carry every requirement the user stated into its \
         arguments, and check each result against them before you recommend it."
    );
    let fields = r.seen_fields();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("signal_negated_term").as_deref(), Some("4"));
    assert_eq!(get("signal_replaced_term").as_deref(), Some("8"));
}

#[test]
fn a_wanted_term_set_against_an_unwanted_one_corrects_an_answer_that_never_named_it() {
    // The agent wrote "$319": neither "dollars" nor "USD" is in its answer.
    let ask = "A flight to Madrid on Friday, prices in euros please.";
    let answer = "The round trip is $319, leaving Friday at 9:40.";
    assert!(matches!(
        reply_to(ask, answer, "Why dollars? Euros, like I asked."),
        Some((Kind::Misunderstood, _))
    ));
    for reply in [
        "I'm paying in euros, not USD",
        "Can you give me that in euros, not dollars?",
        "Ich zahle in Euro, nicht Dollar.",
        "¿Me lo puedes dar en euros, no dólares?",
        "Je paie en euros, pas en dollars.",
    ] {
        assert!(
            matches!(
                reply_to(ask, answer, reply),
                Some((
                    Kind::Misunderstood | Kind::Contradicted,
                    Signal::NegatedTerm
                ))
            ),
            "{reply}: {:?}",
            reply_to(ask, answer, reply)
        );
    }
    // A verdict with a negation is no contrast, nor a negation that runs on
    // without a pause ("no comboio" is "on the train" in Portuguese).
    for reply in [
        "Great, not bad at all",
        "Perfect, not a problem",
        "Gut, nicht schlecht",
        "Posso levar a bicicleta no comboio?",
    ] {
        assert_eq!(reply_to(ask, answer, reply), None, "{reply}");
    }
}

#[test]
fn a_contrast_corrects_a_list_of_fares_that_ends_with_which_one() {
    let ask = "Flights to Rome on the 15th, prices in euros please.";
    let fares = "Available flights: NV415 at 12:00 for $968, NV849 at 17:50 for $590. \
                 Which one would you like?";
    assert!(matches!(
        reply_to(ask, fares, "Can you give me that in euros, not dollars?"),
        Some((_, Signal::NegatedTerm))
    ));
    // A question alone states nothing a contrast could correct.
    assert_eq!(
        reply_to(
            ask,
            "Which currency would you like?",
            "In euros, not dollars."
        ),
        None
    );
}

#[test]
fn a_no_to_the_agents_offer_and_a_choice_asked_for_are_answers_not_corrections() {
    let ask = "Can I still cancel my booking?";
    for (offer, reply) in [
        (
            "Puedo cancelar MEBF5P; el reembolso irá a tu Visa. ¿Quieres que la cancele?",
            "No, no la canceles.",
        ),
        (
            "Ich kann K37QME stornieren; die Erstattung geht auf Ihre Amex. Soll ich?",
            "Nein, bitte nicht stornieren.",
        ),
        (
            "I can cancel MEBF5P and refund your Visa. Shall I go ahead?",
            "No, don't cancel it.",
        ),
        (
            "Danke, Moritz. Womit möchten Sie bezahlen?",
            "Die Visa auf 7541 bitte.",
        ),
        (
            "Thanks. Why would you like to change it?",
            "The meeting moved, Friday please.",
        ),
    ] {
        assert_eq!(reply_to(ask, offer, reply), None, "{offer} -> {reply}");
    }
}
