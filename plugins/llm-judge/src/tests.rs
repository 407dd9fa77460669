//! The judge as an operator meets it: an agent whose users rarely press a
//! rating button, a model (a stand-in here) that reads the conversations, and
//! what the report and the run log make of its verdicts.

use super::*;
use reverie_rule_sdk::llm::testing::{answer_with, reply, sent, set_budget};
use reverie_rule_sdk::llm::{BudgetLeft, ChatRequest, ChatResponse, LlmError};
use reverie_rule_sdk::log::Line;
use reverie_rule_sdk::window::testing::set_explicit_ratings;
use reverie_rule_sdk::{Message, Role, ToolCall};

const NEGATIVE: &str =
    r#"{"reason": "The agent stated a result the tool never returned.", "rating": "negative"}"#;
const POSITIVE: &str = r#"{"reason": "The agent did what was asked.", "rating": "positive"}"#;

fn message(role: Role, content: &str) -> Message {
    Message {
        role,
        content: content.to_string(),
        tool_call_id: None,
    }
}

fn interaction(id: &str, timestamp_ms: i64, messages: Vec<Message>) -> Interaction {
    Interaction {
        id: id.to_string(),
        session_id: None,
        user_id: None,
        timestamp_ms,
        config_version: None,
        messages,
        tool_calls: Vec::new(),
        metadata: "{}".to_string(),
    }
}

/// A short exchange that went wrong: a failed lookup the agent glossed over.
fn failed_lookup(id: &str, timestamp_ms: i64) -> Interaction {
    let mut x = interaction(
        id,
        timestamp_ms,
        vec![
            message(Role::System, ""),
            message(Role::User, "Can you check the status of request 4411?"),
            message(Role::Assistant, ""),
            message(Role::Tool, "error: upstream timeout"),
            message(
                Role::Assistant,
                "Your request 4411 was completed yesterday.",
            ),
            message(Role::User, "That's not true, nothing was done."),
        ],
    );
    x.tool_calls = vec![ToolCall {
        id: "call_1".to_string(),
        name: "lookup_request".to_string(),
        arguments: r#"{"request_id": "4411"}"#.to_string(),
        error: Some("upstream timeout".to_string()),
        message_index: 2,
    }];
    x
}

fn simple(id: &str, timestamp_ms: i64) -> Interaction {
    interaction(
        id,
        timestamp_ms,
        vec![
            message(
                Role::User,
                "Please summarise the attached note in three short bullet points.",
            ),
            message(Role::Assistant, "Here is the summary you asked for."),
        ],
    )
}

fn judge(settings: &[(&str, &str)]) -> LlmJudge {
    match LlmJudge::new(reverie_rule_sdk::test_context("You help.", settings)) {
        Ok(r) => r,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

fn judge_in_window(start_ms: i64, end_ms: i64, settings: &[(&str, &str)]) -> LlmJudge {
    let mut context = reverie_rule_sdk::test_context("You help.", settings);
    context.window_start_ms = Some(start_ms);
    context.window_end_ms = Some(end_ms);
    match LlmJudge::new(context) {
        Ok(r) => r,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

fn detect(rule: &mut LlmJudge, chunk: Vec<Interaction>) -> Vec<InferredFeedback> {
    match rule.detect(chunk) {
        Ok(f) => f,
        Err(e) => panic!("detect failed: {e}"),
    }
}

fn finish(rule: &mut LlmJudge) -> Findings {
    match rule.finish() {
        Ok(f) => f,
        Err(e) => panic!("finish failed: {e}"),
    }
}

fn always(text: &'static str) {
    answer_with(move |_| Ok(reply(text)));
}

/// The text the model was sent in request `i`.
fn prompt_of(request: &ChatRequest) -> &str {
    match request.messages.as_slice() {
        [only] => only.content.as_str(),
        other => panic!("expected one message, got {}", other.len()),
    }
}

fn metric(findings: &Findings, name: &str) -> Option<f64> {
    findings
        .metrics
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.value)
}

fn lines_with<'a>(rule: &'a LlmJudge, message: &str) -> Vec<&'a Line> {
    rule.journal()
        .lines()
        .filter(|l| l.message.contains(message))
        .collect()
}

fn field<'a>(line: &'a Line, key: &str) -> &'a str {
    line.fields
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

fn budget(calls: u32) -> BudgetLeft {
    BudgetLeft {
        calls,
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        time_ms: 1_000_000,
    }
}

fn ids(feedback: &[InferredFeedback]) -> Vec<String> {
    feedback.iter().map(|f| f.interaction_id.clone()).collect()
}

#[test]
fn an_unrated_conversation_reaches_the_model_as_a_transcript_and_returns_as_judged_feedback() {
    always(NEGATIVE);
    let mut rule = judge(&[]);
    let feedback = detect(&mut rule, vec![failed_lookup("int_1", 0)]);

    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0].interaction_id, "int_1");
    assert_eq!(feedback[0].rating, Rating::Negative);
    assert_eq!(
        feedback[0].reason,
        "judged: The agent stated a result the tool never returned."
    );

    let requests = sent();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.json_schema.as_deref(), Some(verdict::SCHEMA));
    assert_eq!(request.max_output_tokens, Some(120));
    assert_eq!(request.temperature, Some(0.0));
    let prompt = prompt_of(request);
    // Roles, the tool call in place with its arguments and error, in order.
    let expected = "User: Can you check the status of request 4411?\n\
                    Agent called tool `lookup_request` with {\"request_id\": \"4411\"} -> error: upstream timeout\n\
                    Tool result: error: upstream timeout\n\
                    Agent: Your request 4411 was completed yesterday.\n\
                    User: That's not true, nothing was done.";
    assert!(prompt.ends_with(expected), "{prompt}");
    assert!(prompt.contains("in English"));
    assert!(!prompt.contains("{{"), "every placeholder is filled");

    let findings = finish(&mut rule);
    assert!(findings.patterns.is_empty() && findings.suggestions.is_empty());
    assert_eq!(metric(&findings, "judge_judged"), Some(1.0));
    assert_eq!(metric(&findings, "judge_negative_share"), Some(1.0));
    assert_eq!(metric(&findings, "judge_skipped_budget"), Some(0.0));
}

#[test]
fn explicitly_rated_interactions_are_judged_only_for_calibration_and_never_returned() {
    // People rated 20 interactions: the judge agrees on the 10 that failed
    // and on 8 of the 10 that went well.
    let mut chunk = Vec::new();
    let mut ratings = Vec::new();
    for i in 0..10 {
        chunk.push(failed_lookup(&format!("bad_{i}"), 0));
        chunk.push(simple(&format!("good_{i}"), 0));
    }
    let ids_owned: Vec<(String, Rating)> = (0..10)
        .flat_map(|i| {
            [
                (format!("bad_{i}"), Rating::Negative),
                (format!("good_{i}"), Rating::Positive),
            ]
        })
        .collect();
    for (id, r) in &ids_owned {
        ratings.push((id.as_str(), *r));
    }
    set_explicit_ratings(&ratings);
    let mut good_seen = 0;
    answer_with(move |r: &ChatRequest| {
        if prompt_of(r).contains("not true") {
            return Ok(reply(NEGATIVE));
        }
        good_seen += 1;
        Ok(reply(if good_seen <= 2 { NEGATIVE } else { POSITIVE }))
    });

    let mut rule = judge(&[("calibration_share", "1")]);
    let feedback = detect(&mut rule, chunk.clone());
    assert!(feedback.is_empty(), "people's ratings stand: {feedback:?}");
    assert_eq!(sent().len(), 20);
    let findings = finish(&mut rule);
    assert_eq!(
        metric(&findings, "judge_agreement_with_explicit"),
        Some(0.9)
    );
    assert_eq!(metric(&findings, "judge_judged"), Some(0.0));

    // By default about a tenth are calibrated: too few pairs for a figure.
    always(POSITIVE);
    let mut rule = judge(&[]);
    detect(&mut rule, chunk.clone());
    let calibrated = sent().len();
    assert!(calibrated < 5, "{calibrated}");
    assert_eq!(
        metric(&finish(&mut rule), "judge_agreement_with_explicit"),
        None
    );

    // And none at all when the operator says so.
    always(POSITIVE);
    let mut rule = judge(&[("calibration_share", "0")]);
    detect(&mut rule, chunk);
    assert!(sent().is_empty());
}

#[test]
fn sample_rate_judges_the_same_interactions_whatever_the_chunks() {
    let all: Vec<Interaction> = (0..200).map(|i| simple(&format!("int_{i}"), 0)).collect();

    always(POSITIVE);
    let mut rule = judge(&[("sample_rate", "0.25")]);
    let in_one = ids(&detect(&mut rule, all.clone()));
    assert!((35..=65).contains(&in_one.len()), "{}", in_one.len());

    always(POSITIVE);
    let mut rule = judge(&[("sample_rate", "0.25")]);
    let mut in_ten = Vec::new();
    for chunk in all.chunks(20) {
        in_ten.extend(ids(&detect(&mut rule, chunk.to_vec())));
    }
    assert_eq!(in_one, in_ten);
    let findings = finish(&mut rule);
    assert_eq!(metric(&findings, "judge_judged"), Some(in_one.len() as f64));
    let sampling = lines_with(
        &rule,
        "accuracy inferred from judged interactions is an estimate",
    );
    assert_eq!(sampling.len(), 1);
    assert!(
        sampling[0].message.contains("sample_rate 0.25"),
        "{:?}",
        sampling[0]
    );
    assert_eq!(field(sampling[0], "sampled"), in_one.len().to_string());

    always(POSITIVE);
    let mut rule = judge(&[("sample_rate", "0")]);
    assert!(detect(&mut rule, all).is_empty());
    assert!(sent().is_empty());
}

#[test]
fn a_bounded_window_spreads_a_small_budget_over_the_whole_window() {
    // 100 interactions over 100 seconds, 10 calls in the budget.
    always(NEGATIVE);
    set_budget(budget(10));
    let mut rule = judge_in_window(0, 100_000, &[]);
    let mut judged = Vec::new();
    for chunk in (0..100)
        .map(|i| simple(&format!("int_{i:03}"), i * 1_000))
        .collect::<Vec<_>>()
        .chunks(25)
    {
        judged.extend(ids(&detect(&mut rule, chunk.to_vec())));
    }
    assert_eq!(judged.len(), 10, "{judged:?}");
    // Not the first ten: about one per tenth of the window, up to its end.
    assert_eq!(judged.first().map(String::as_str), Some("int_000"));
    assert!(
        judged.iter().any(|id| id.as_str() >= "int_090"),
        "{judged:?}"
    );
    assert!(judged.iter().filter(|id| id.as_str() < "int_050").count() <= 6);
    let findings = finish(&mut rule);
    assert_eq!(metric(&findings, "judge_skipped_budget"), Some(90.0));
    let sampling = lines_with(&rule, "estimate from this sample");
    assert!(
        sampling[0]
            .message
            .contains("spread over the window's time")
    );

    // The same budget in an unbounded window goes to the first comers.
    always(NEGATIVE);
    set_budget(budget(10));
    let mut rule = judge(&[]);
    let all: Vec<Interaction> = (0..100)
        .map(|i| simple(&format!("int_{i:03}"), i * 1_000))
        .collect();
    let judged = ids(&detect(&mut rule, all));
    let first_ten: Vec<String> = (0..10).map(|i| format!("int_{i:03}")).collect();
    assert_eq!(judged, first_ten);
    let findings = finish(&mut rule);
    assert_eq!(metric(&findings, "judge_skipped_budget"), Some(90.0));
    assert!(
        lines_with(&rule, "estimate from this sample")[0]
            .message
            .contains("first come, first served")
    );
}

#[test]
fn budget_exhausted_mid_window_finishes_with_what_it_judged_and_says_so() {
    // The host refuses the fourth call: the dream's token budget is spent.
    let mut calls = 0;
    answer_with(move |_| {
        calls += 1;
        if calls <= 3 {
            Ok(reply(POSITIVE))
        } else {
            Err(LlmError::BudgetExhausted(
                "dream output tokens: 20000 of 20000 used".into(),
            ))
        }
    });
    let mut rule = judge(&[]);
    let all: Vec<Interaction> = (0..10).map(|i| simple(&format!("int_{i}"), 0)).collect();
    let first = detect(&mut rule, all[..5].to_vec());
    let second = detect(&mut rule, all[5..].to_vec());
    assert_eq!(first.len(), 3);
    assert!(second.is_empty());
    assert_eq!(sent().len(), 4, "no call after the refusal");

    let findings = finish(&mut rule);
    assert_eq!(metric(&findings, "judge_judged"), Some(3.0));
    assert_eq!(metric(&findings, "judge_skipped_budget"), Some(7.0));
    let stop = lines_with(&rule, "no more interactions will be judged");
    assert_eq!(stop.len(), 1);
    assert_eq!(field(stop[0], "at_interaction"), "4");
    assert!(field(stop[0], "why").contains("20000 of 20000"));
    let early = lines_with(&rule, "finished early");
    assert_eq!(field(early[0], "sampled_not_judged"), "7");
}

#[test]
fn answers_that_are_not_valid_verdicts_are_rejected_and_logged_with_why() {
    let answers: Vec<Result<ChatResponse, LlmError>> = vec![
        Ok(reply("I think the agent did fine.")),
        Ok(ChatResponse {
            truncated: true,
            ..reply(r#"{"reason": "The agent"#)
        }),
        Ok(reply(r#"{"reason": "Fine.", "rating": "good"}"#)),
        Ok(reply(r#"{"reason": "   ", "rating": "negative"}"#)),
        Err(LlmError::MalformedAnswer("empty answer".into())),
        Ok(reply(
            r#"{"reason": "The user asked to summarise the attached note in three short bullet points.", "rating": "positive"}"#,
        )),
        Ok(reply(&format!("```json\n{NEGATIVE}\n```"))),
    ];
    let mut answers = answers.into_iter();
    answer_with(move |_| answers.next().unwrap_or(Ok(reply(POSITIVE))));
    let mut rule = judge(&[]);
    let all: Vec<Interaction> = (0..7).map(|i| simple(&format!("int_{i}"), 0)).collect();
    let feedback = detect(&mut rule, all);
    assert_eq!(ids(&feedback), vec!["int_6".to_string()]);
    assert_eq!(feedback[0].rating, Rating::Negative);

    let rejected = lines_with(&rule, "answer rejected");
    let why: Vec<&str> = rejected.iter().map(|l| field(l, "why")).collect();
    assert_eq!(why.len(), 6, "{why:?}");
    assert!(why[0].starts_with("not the JSON asked for"), "{}", why[0]);
    assert!(why[1].contains("cut off"), "{}", why[1]);
    assert!(why[2].contains("\"good\" is neither"), "{}", why[2]);
    assert_eq!(why[3], "empty reason");
    assert_eq!(why[4], "empty answer");
    assert!(
        why[5].starts_with("the reason quotes the conversation"),
        "{}",
        why[5]
    );
    assert_eq!(field(rejected[0], "for"), "int_0");
    let findings = finish(&mut rule);
    assert_eq!(metric(&findings, "judge_judged"), Some(1.0));
}

#[test]
fn three_provider_failures_in_a_row_stop_the_calls_but_one_does_not() {
    let mut n = 0;
    answer_with(move |_| {
        n += 1;
        match n {
            2 => Ok(reply(POSITIVE)),
            _ => Err(LlmError::Provider("503 service unavailable".into())),
        }
    });
    let mut rule = judge(&[]);
    let all: Vec<Interaction> = (0..8).map(|i| simple(&format!("int_{i}"), 0)).collect();
    let feedback = detect(&mut rule, all);
    assert_eq!(ids(&feedback), vec!["int_1".to_string()]);
    // One failure, a success, then three failures in a row: five calls, no more.
    assert_eq!(sent().len(), 5);
    let stop = lines_with(&rule, "stopped calling the model");
    assert!(field(stop[0], "why").contains("3 provider failures in a row"));
    let findings = finish(&mut rule);
    assert_eq!(metric(&findings, "judge_skipped_budget"), Some(3.0));
}

#[test]
fn a_conversation_in_another_language_reaches_the_model_untouched() {
    always(NEGATIVE);
    let mut rule = judge(&[]);
    let japanese = "注文の配送状況を教えてください。";
    let german = "Das stimmt nicht, ich habe „Express“ gewählt!";
    let x = interaction(
        "int_ja",
        0,
        vec![
            message(Role::User, japanese),
            message(Role::Assistant, "Ihre Sendung ist unterwegs."),
            message(Role::User, german),
        ],
    );
    let feedback = detect(&mut rule, vec![x]);
    let requests = sent();
    let prompt = prompt_of(&requests[0]);
    assert!(prompt.contains(&format!("User: {japanese}")));
    assert!(prompt.contains(&format!("User: {german}")));
    assert!(prompt.contains("any language"));
    assert_eq!(feedback.len(), 1);
}

#[test]
fn a_long_conversation_keeps_its_start_and_end_within_max_transcript_chars() {
    always(POSITIVE);
    let mut rule = judge(&[("max_transcript_chars", "1000")]);
    let mut messages = vec![message(Role::User, "FIRST-REQUEST: what can you do?")];
    for i in 0..60 {
        messages.push(message(
            Role::Assistant,
            &format!("step {i} of a long answer"),
        ));
    }
    messages.push(message(Role::User, "FINAL-REACTION: thanks"));
    detect(&mut rule, vec![interaction("int_long", 0, messages)]);
    let requests = sent();
    let prompt = prompt_of(&requests[0]);
    let transcript = prompt.split("Conversation:\n").nth(1).unwrap_or_default();
    assert!(
        transcript.starts_with("User: FIRST-REQUEST"),
        "{transcript}"
    );
    assert!(transcript.ends_with("User: FINAL-REACTION: thanks"));
    assert!(transcript.contains("characters left out"));
    assert!(
        transcript.chars().count() <= 1000,
        "{}",
        transcript.chars().count()
    );
}

#[test]
fn interactions_with_nothing_to_read_cost_no_call() {
    always(POSITIVE);
    let mut rule = judge(&[]);
    let empty = interaction("int_empty", 0, vec![message(Role::System, "")]);
    assert!(detect(&mut rule, vec![empty]).is_empty());
    assert!(sent().is_empty());
}

#[test]
fn the_judge_prompt_has_one_placeholder_and_a_full_transcript_keeps_it_small() {
    let template = match Template::parse("prompts/judge.md", verdict::PROMPT) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(template.placeholders(), vec!["transcript"]);
    let longest = "x".repeat(3_000);
    let rendered = match template.render(&[("transcript", &longest)]) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert!(!rendered.contains("{{") && !rendered.contains("<!--"));
    // About 1,000 tokens in all: the instructions stay under 1,500 characters.
    assert!(rendered.len() - longest.len() < 1_500, "{}", rendered.len());
    for phrase in ["any language", "English", "Do not quote", "JSON"] {
        assert!(rendered.contains(phrase), "{phrase}");
    }
}

#[test]
fn the_schema_parses_and_requires_the_fields_the_answer_is_read_from() {
    let schema: serde_json::Value = match serde_json::from_str(verdict::SCHEMA) {
        Ok(v) => v,
        Err(e) => panic!("schema is not JSON: {e}"),
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(required, vec!["reason", "rating"]);
    assert_eq!(
        schema["properties"]["rating"]["enum"],
        serde_json::json!(["positive", "negative"])
    );
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    // And the example in the prompt is an answer the code accepts.
    assert!(verdict::read(&reply(POSITIVE), "").is_ok());
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    for (name, value) in [
        ("sample_rate", "1.5"),
        ("calibration_share", "-0.1"),
        ("max_transcript_chars", "50"),
        ("max_output_tokens", "lots"),
    ] {
        let context = reverie_rule_sdk::test_context("", &[(name, value)]);
        match LlmJudge::new(context) {
            Ok(_) => panic!("{name} = {value} accepted"),
            Err(e) => assert!(e.contains(name), "{e}"),
        }
    }
}
