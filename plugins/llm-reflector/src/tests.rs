//! The reflector as an operator meets it: an agent whose users complain, the
//! problems the other rules found in the window, a model (a stand-in here)
//! that reads the conversations behind them, and the suggestions, patterns
//! and run log that come out.

use super::*;
use reverie_rule_sdk::llm::testing::{answer_with, reply, sent, set_budget};
use reverie_rule_sdk::llm::{BudgetLeft, ChatRequest, LlmError};
use reverie_rule_sdk::log::Line;
use reverie_rule_sdk::window::testing::set_problems;
use reverie_rule_sdk::{Edit, Feedback, Interaction, Message, ReplaceText, Role, ToolCall};
use serde_json::json;

const PROMPT: &str = "You are the assistant of a records service. Answer questions about a \
                      user's records. Look records up with `find_record` before you answer. \
                      Always confirm before you change anything.";
const FIX: &str = "When you call `find_record`, pass the reference exactly as the user gave it, \
                   and if the call fails, say so instead of guessing a result.";

fn message(role: Role, content: &str) -> Message {
    Message {
        role,
        content: content.to_string(),
        tool_call_id: None,
    }
}

/// A conversation where a lookup failed and the agent guessed.
fn conversation(id: &str, user: &str, agent: &str) -> Interaction {
    Interaction {
        id: id.to_string(),
        session_id: None,
        user_id: None,
        timestamp_ms: 0,
        config_version: None,
        messages: vec![
            message(Role::User, user),
            message(Role::Assistant, ""),
            message(Role::Tool, "error: invalid reference"),
            message(Role::Assistant, agent),
        ],
        tool_calls: vec![ToolCall {
            id: "call_1".to_string(),
            name: "find_record".to_string(),
            arguments: r#"{"reference": "R-17"}"#.to_string(),
            error: Some("invalid reference".to_string()),
            message_index: 1,
        }],
        metadata: "{}".to_string(),
    }
}

fn lookup(id: &str) -> Interaction {
    conversation(
        id,
        "What is the state of record R-17?",
        "Record R-17 is closed.",
    )
}

fn explicit(id: &str, comment: Option<&str>) -> Feedback {
    Feedback {
        interaction_id: id.to_string(),
        rating: Rating::Negative,
        comment: comment.map(str::to_string),
        source: FeedbackSource::Explicit,
    }
}

fn inferred(id: &str, rule: &str, reason: &str) -> Feedback {
    Feedback {
        interaction_id: id.to_string(),
        rating: Rating::Negative,
        comment: Some(reason.to_string()),
        source: FeedbackSource::Inferred(rule.to_string()),
    }
}

fn positive(id: &str) -> Feedback {
    Feedback {
        rating: Rating::Positive,
        ..explicit(id, Some("thanks"))
    }
}

fn problem(key: &str, title: &str, evidence: &[&str]) -> ProblemBrief {
    ProblemBrief {
        key: key.to_string(),
        facet_keys: vec![key.to_string()],
        title: title.to_string(),
        description: format!("{title}, in {} interactions.", evidence.len()),
        occurrences: evidence.len() as u32,
        evidence: evidence.iter().map(|s| s.to_string()).collect(),
        rules: vec!["tool-failures".to_string()],
        proposed_edits: Vec::new(),
    }
}

fn reflector(settings: &[(&str, &str)]) -> LlmReflector {
    match LlmReflector::new(reverie_rule_sdk::test_context(PROMPT, settings)) {
        Ok(r) => r,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

fn analyse(rule: &mut LlmReflector, interactions: Vec<Interaction>, feedback: Vec<Feedback>) {
    if let Err(e) = rule.analyse(Chunk {
        interactions,
        feedback,
    }) {
        panic!("analyse failed: {e}");
    }
}

fn finish(rule: &mut LlmReflector) -> Findings {
    match rule.finish() {
        Ok(f) => f,
        Err(e) => panic!("finish failed: {e}"),
    }
}

/// Six failed lookups people rated negative (three with a comment), four
/// that only a detect rule flagged, and two positives.
fn lookup_window(rule: &mut LlmReflector) {
    let ids: Vec<String> = (1..=10).map(|i| format!("int_{i:02}")).collect();
    let mut interactions: Vec<Interaction> = ids.iter().map(|id| lookup(id)).collect();
    interactions.push(lookup("int_ok1"));
    interactions.push(lookup("int_ok2"));
    let mut feedback = vec![
        explicit("int_01", None),
        explicit("int_02", Some("It said my record was closed. It is not.")),
        explicit("int_03", None),
        explicit("int_04", Some("wrong again")),
        explicit("int_05", None),
        explicit("int_06", Some("made up an answer")),
        positive("int_ok1"),
        positive("int_ok2"),
    ];
    for id in &ids[6..] {
        feedback.push(inferred(
            id,
            "corrections",
            "user said the answer was wrong",
        ));
    }
    analyse(rule, interactions, feedback);
}

fn reflect_answer(
    kind: &str,
    find: &str,
    text: &str,
    confidence: f64,
    evidence: &[&str],
) -> String {
    json!({
        "root_cause": "The prompt never says what to do when the lookup fails, so the agent guesses.",
        "edit": {"kind": kind, "find": find, "text": text},
        "confidence": confidence,
        "evidence": evidence,
    })
    .to_string()
}

fn good_answer() -> String {
    reflect_answer("append", "", FIX, 0.95, &["c1", "c2"])
}

fn user_text(request: &ChatRequest) -> &str {
    request.messages.first().map_or("", |m| m.content.as_str())
}

fn is_reflect(request: &ChatRequest) -> bool {
    user_text(request).contains("\nProblem: ")
}

fn metric(findings: &Findings, name: &str) -> Option<f64> {
    findings
        .metrics
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.value)
}

fn lines_with<'a>(rule: &'a LlmReflector, message: &str) -> Vec<&'a Line> {
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

fn appended(edit: &Edit) -> Option<&str> {
    match edit {
        Edit::AppendInstruction(text) => Some(text),
        _ => None,
    }
}

const LOOKUP_KEY: &str = "tool-failures/find_record/invalid_argument";

#[test]
fn each_problem_is_read_with_its_worst_conversations_and_gets_a_checked_suggestion() {
    set_problems(vec![
        problem(
            LOOKUP_KEY,
            "`find_record` fails with invalid_argument",
            &[
                "int_01", "int_02", "int_03", "int_04", "int_05", "int_06", "int_07",
            ],
        ),
        problem(
            "retry-loops/other",
            "The agent retries in a loop",
            &["int_98", "int_99"],
        ),
    ]);
    answer_with(|r| {
        Ok(reply(&if is_reflect(r) {
            good_answer()
        } else {
            "{}".to_string()
        }))
    });
    let mut rule = reflector(&[("unexplained_sample", "0")]);
    lookup_window(&mut rule);
    let findings = finish(&mut rule);

    let requests = sent();
    let reflects: Vec<&ChatRequest> = requests.iter().filter(|r| is_reflect(r)).collect();
    assert_eq!(
        reflects.len(),
        1,
        "the problem with no kept interaction costs no call"
    );
    let prompt = user_text(reflects[0]);
    assert!(prompt.contains(PROMPT), "the live prompt is sent whole");
    assert!(prompt.contains("Problem: `find_record` fails with invalid_argument"));
    // The three people who commented come first; no fourth conversation.
    assert_eq!(
        prompt
            .matches("the user rated it negative and wrote: ")
            .count(),
        3
    );
    assert!(prompt.contains("wrote: \"It said my record was closed. It is not.\""));
    assert!(prompt.contains("### c3\n"));
    assert!(!prompt.contains("### c4"));
    assert!(prompt.contains(
        "Agent called tool `find_record` with {\"reference\": \"R-17\"} -> error: invalid reference"
    ));
    assert!(!prompt.contains("{{"));
    let schema = reflects[0].json_schema.as_deref().unwrap_or_default();
    assert!(schema.contains(r#""enum":["c1","c2","c3"]"#), "{schema}");
    assert_eq!(reflects[0].max_output_tokens, Some(400));

    assert_eq!(findings.suggestions.len(), 1);
    let s = &findings.suggestions[0];
    assert_eq!(appended(&s.edit), Some(FIX));
    assert_eq!(s.addresses, vec![LOOKUP_KEY.to_string()]);
    assert_eq!(
        s.confidence, 0.45,
        "the model's 0.95 is capped below the default gate: its edit is for review"
    );
    assert_eq!(
        s.rationale,
        "Root cause (from 3 conversations read by the model): The prompt never says what to do \
         when the lookup fails, so the agent guesses."
    );
    assert!(findings.patterns.is_empty(), "{:?}", findings.patterns);
    assert_eq!(metric(&findings, "reflector_problems_read"), Some(1.0));
    assert_eq!(metric(&findings, "reflector_edits_proposed"), Some(1.0));
    assert_eq!(metric(&findings, "reflector_answers_rejected"), Some(0.0));

    let skipped = lines_with(&rule, "problem skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(field(skipped[0], "key"), "retry-loops/other");
    assert!(
        skipped[0]
            .message
            .contains("none of its interactions is among the kept")
    );
}

#[test]
fn a_replace_edit_must_quote_the_live_prompt_and_a_bad_one_gets_one_repair() {
    set_problems(vec![problem(
        LOOKUP_KEY,
        "Lookups fail",
        &["int_01", "int_02"],
    )]);
    let find = "Look records up with `find_record` before you answer.";
    let mut n = 0;
    answer_with(move |_| {
        n += 1;
        Ok(reply(&if n == 1 {
            reflect_answer("replace", "Always double-check records.", FIX, 0.7, &["c1"])
        } else {
            reflect_answer("replace", find, FIX, 0.7, &["c1"])
        }))
    });
    let mut rule = reflector(&[("unexplained_sample", "0")]);
    lookup_window(&mut rule);
    let findings = finish(&mut rule);

    let requests = sent();
    assert_eq!(requests.len(), 2);
    let repair = &requests[1];
    assert_eq!(
        repair.messages.len(),
        3,
        "question, rejected answer, what was wrong"
    );
    assert_eq!(repair.messages[1].role, ChatRole::Assistant);
    assert!(
        repair.messages[1]
            .content
            .contains("Always double-check records.")
    );
    assert!(
        repair.messages[2]
            .content
            .contains("`find` is not text of the system prompt"),
        "{}",
        repair.messages[2].content
    );
    match &findings.suggestions[0].edit {
        Edit::ReplaceText(ReplaceText {
            find: f,
            replacement,
        }) => {
            assert_eq!((f.as_str(), replacement.as_str()), (find, FIX));
        }
        other => panic!("expected a replacement, got {other:?}"),
    }
    assert_eq!(
        findings.suggestions[0].confidence, 0.45,
        "capped for review"
    );
    assert_eq!(metric(&findings, "reflector_answers_rejected"), Some(1.0));
}

#[test]
fn invalid_answers_are_rejected_with_why_and_the_problem_is_skipped() {
    let cases: Vec<(String, bool, &str)> = vec![
        (
            reflect_answer("append", "", FIX, 0.6, &["c7"]),
            false,
            "evidence names \"c7\", which was not sent",
        ),
        (
            reflect_answer("append", "", FIX, 0.6, &[]),
            false,
            "no evidence",
        ),
        (
            "The agent should be more careful.".to_string(),
            false,
            "not the JSON asked for",
        ),
        (good_answer(), true, "cut off at the output token limit"),
        (
            reflect_answer("append", "", "Be careful.", 0.6, &["c1"]),
            false,
            "edit text is 11 characters",
        ),
        (
            reflect_answer(
                "append",
                "",
                "Always confirm before you change anything.",
                0.6,
                &["c1"],
            ),
            false,
            "already says",
        ),
        (
            reflect_answer(
                "append",
                "",
                "As in c1, never state a result that `find_record` did not return.",
                0.6,
                &["c1"],
            ),
            false,
            "names conversation \"c1\"",
        ),
        (
            reflect_answer(
                "append",
                "",
                "Never say: It said my record was closed. It is not. Check `find_record` first.",
                0.6,
                &["c1"],
            ),
            false,
            "copies conversation text",
        ),
        (
            reflect_answer("replace", "you", FIX, 0.6, &["c1"]),
            false,
            "occurs 2 times",
        ),
        (
            reflect_answer("rewrite", "", FIX, 0.6, &["c1"]),
            false,
            "neither \"append\" nor \"replace\"",
        ),
        (
            reflect_answer("append", "", FIX, 7.0, &["c1"]),
            false,
            "confidence 7 is not between 0 and 1",
        ),
    ];
    for (answer, truncated, why) in cases {
        set_problems(vec![problem(
            LOOKUP_KEY,
            "Lookups fail",
            &["int_01", "int_02"],
        )]);
        let text = answer.clone();
        answer_with(move |_| {
            let mut r = reply(&text);
            r.truncated = truncated;
            Ok(r)
        });
        let mut rule = reflector(&[("unexplained_sample", "0")]);
        lookup_window(&mut rule);
        let findings = finish(&mut rule);
        assert!(findings.suggestions.is_empty(), "accepted: {answer}");
        assert_eq!(sent().len(), 2, "one repair for {answer}");
        assert_eq!(metric(&findings, "reflector_answers_rejected"), Some(2.0));
        let rejected = lines_with(&rule, "answer rejected");
        assert_eq!(rejected.len(), 2);
        assert!(
            field(rejected[0], "why").contains(why),
            "{:?} lacks {why}",
            rejected[0]
        );
        assert_eq!(field(rejected[0], "for"), format!("problem {LOOKUP_KEY}"));
        assert_eq!(
            field(rejected[1], "for"),
            format!("problem {LOOKUP_KEY} (repair)")
        );
    }
}

#[test]
fn without_budget_for_a_repair_an_invalid_answer_is_skipped() {
    set_problems(vec![problem(
        LOOKUP_KEY,
        "Lookups fail",
        &["int_01", "int_02"],
    )]);
    set_budget(BudgetLeft {
        calls: 1,
        input_tokens: 100_000,
        output_tokens: 100_000,
        time_ms: 100_000,
    });
    answer_with(|_| Ok(reply("not json")));
    let mut rule = reflector(&[]);
    lookup_window(&mut rule);
    let findings = finish(&mut rule);
    assert_eq!(sent().len(), 1, "no repair without a call left");
    assert!(findings.suggestions.is_empty());
    assert_eq!(metric(&findings, "reflector_answers_rejected"), Some(1.0));
    assert_eq!(lines_with(&rule, "answer rejected").len(), 1);
    let stop = lines_with(&rule, "stopped calling the model");
    assert!(field(stop[0], "why").contains("no calls left"));
}

#[test]
fn budget_exhausted_mid_finish_keeps_what_was_read_and_says_how_far_it_got() {
    set_problems(vec![
        problem("a/first", "First problem", &["int_01", "int_02"]),
        problem("b/second", "Second problem", &["int_03"]),
        problem("c/third", "Third problem", &["int_04"]),
    ]);
    let mut n = 0;
    answer_with(move |_| {
        n += 1;
        if n == 1 {
            Ok(reply(&good_answer()))
        } else {
            Err(LlmError::BudgetExhausted("rule calls: 1 of 1 used".into()))
        }
    });
    let mut rule = reflector(&[]);
    lookup_window(&mut rule);
    let findings = finish(&mut rule);
    assert_eq!(sent().len(), 2, "nothing after the refusal");
    assert_eq!(findings.suggestions.len(), 1);
    assert_eq!(
        findings.suggestions[0].addresses,
        vec!["a/first".to_string()]
    );
    assert_eq!(metric(&findings, "reflector_problems_read"), Some(1.0));
    let early = lines_with(&rule, "finished early");
    assert_eq!(early.len(), 1);
    assert!(field(early[0], "why").contains("rule calls: 1 of 1 used"));
    assert_eq!(field(early[0], "problems_read"), "1 of 3");
    let done = lines_with(&rule, "done");
    assert_eq!(field(done[0], "not_read_after_calls_stopped"), "2");
    let unexplained = lines_with(&rule, "unexplained interactions not read");
    assert!(field(unexplained[0], "why").contains("calls stopped"));
}

#[test]
fn three_provider_failures_in_a_row_stop_the_calls() {
    let problems: Vec<ProblemBrief> = (1..=5)
        .map(|i| problem(&format!("p/{i}"), "A problem", &[&format!("int_{i:02}")]))
        .collect();
    set_problems(problems);
    answer_with(|_| Err(LlmError::Timeout("no answer in 60 s".into())));
    let mut rule = reflector(&[]);
    lookup_window(&mut rule);
    let findings = finish(&mut rule);
    assert_eq!(sent().len(), 3);
    assert!(findings.suggestions.is_empty());
    assert_eq!(lines_with(&rule, "model call failed").len(), 3);
    assert!(field(lines_with(&rule, "finished early")[0], "why").contains("3 provider failures"));
}

/// Answers the unexplained call with `assignments` and one group per category given.
fn unexplained_answer(assignments: &[(&str, &str)], groups: &[(&str, &str)]) -> String {
    json!({
        "assignments": assignments.iter().map(|(id, c)| json!({"id": id, "category": c})).collect::<Vec<_>>(),
        "groups": groups.iter().map(|(c, text)| json!({
            "category": c,
            "root_cause": "The prompt does not say to check the lookup's result before acting on it.",
            "edit": {"kind": "append", "find": "", "text": text},
            "confidence": 0.9,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

#[test]
fn unexplained_negative_conversations_become_category_patterns_with_window_evidence() {
    // No problem covers any of them.
    set_problems(Vec::new());
    let good = unexplained_answer(
        &[
            ("c1", "wrong-action"),
            ("c2", "wrong-action"),
            ("c3", "wrong-fact"),
            ("c4", "wrong-action"),
        ],
        &[("wrong-action", FIX), ("wrong-fact", FIX)],
    );
    let first = unexplained_answer(
        &[
            ("c1", "wrong-action"),
            ("c2", "wrong-action"),
            ("c3", "wrong-fact"),
            ("c4", "wrong-action"),
            ("c9", "other"),
        ],
        &[("wrong-action", FIX), ("wrong-fact", FIX)],
    );
    let mut n = 0;
    answer_with(move |_| {
        n += 1;
        Ok(reply(if n == 1 { &first } else { &good }))
    });
    let mut rule = reflector(&[]);
    let interactions: Vec<Interaction> = (1..=4).map(|i| lookup(&format!("int_{i:02}"))).collect();
    let feedback: Vec<Feedback> = (1..=4)
        .map(|i| explicit(&format!("int_{i:02}"), None))
        .collect();
    analyse(&mut rule, interactions, feedback);
    let findings = finish(&mut rule);

    let requests = sent();
    assert_eq!(requests.len(), 2, "one call and one repair");
    let prompt = user_text(&requests[0]);
    for (name, meaning) in unexplained::CATEGORIES {
        assert!(prompt.contains(&format!("- {name}: {meaning}")));
    }
    assert!(prompt.contains("### c4\n") && !prompt.contains("### c5"));
    assert!(prompt.contains("at least 2 of them"));
    let schema = requests[0].json_schema.as_deref().unwrap_or_default();
    assert!(
        schema.contains(r#""enum":["c1","c2","c3","c4"]"#),
        "{schema}"
    );
    assert!(
        requests[1].messages[2]
            .content
            .contains("\"c9\", which was not sent")
    );

    // wrong-action holds three conversations: a pattern; wrong-fact one: none.
    assert_eq!(findings.patterns.len(), 1, "{:?}", findings.patterns);
    let p = &findings.patterns[0];
    assert_eq!(p.key, "llm-reflector/wrong-action");
    assert_eq!(p.occurrences, 3);
    // Window order, whatever order the model's sample had.
    let mut expected: Vec<String> = Vec::new();
    for id in ["int_01", "int_02", "int_03", "int_04"] {
        if p.evidence.contains(&id.to_string()) {
            expected.push(id.to_string());
        }
    }
    assert_eq!(p.evidence, expected);
    assert_eq!(p.evidence.len(), 3);
    assert!(p.title.starts_with("Wrong action: "), "{}", p.title);
    assert!(
        p.description
            .contains("Diagnosed by a model from 4 sampled negative conversations")
    );
    assert_eq!(findings.suggestions.len(), 1);
    assert_eq!(findings.suggestions[0].addresses, vec![p.key.clone()]);
    assert!(
        findings.suggestions[0]
            .rationale
            .starts_with("Root cause (from 3 conversations read by the model): ")
    );
}

#[test]
fn a_category_whose_edit_fails_keeps_its_pattern_without_a_suggestion() {
    set_problems(Vec::new());
    let answer = unexplained_answer(
        &[("c1", "incomplete-answer"), ("c2", "incomplete-answer")],
        &[("incomplete-answer", "Be better.")],
    );
    answer_with(move |_| Ok(reply(&answer)));
    let mut rule = reflector(&[]);
    let interactions: Vec<Interaction> = (1..=2).map(|i| lookup(&format!("int_{i:02}"))).collect();
    let feedback: Vec<Feedback> = (1..=2)
        .map(|i| explicit(&format!("int_{i:02}"), None))
        .collect();
    analyse(&mut rule, interactions, feedback);
    let findings = finish(&mut rule);
    assert_eq!(sent().len(), 2, "the rejected edit was sent back once");
    assert_eq!(findings.patterns.len(), 1);
    assert_eq!(findings.patterns[0].key, "llm-reflector/incomplete-answer");
    assert!(findings.suggestions.is_empty());
    let reported = lines_with(&rule, "category reported");
    assert_eq!(field(reported[0], "edit"), "rejected");
    let rejected = lines_with(&rule, "answer rejected");
    assert!(field(rejected[0], "why").starts_with("incomplete-answer: edit text is 10 characters"));
}

#[test]
fn too_few_unexplained_conversations_cost_no_call() {
    set_problems(Vec::new());
    answer_with(|_| Ok(reply("{}")));
    let mut rule = reflector(&[]);
    analyse(
        &mut rule,
        vec![lookup("int_01")],
        vec![explicit("int_01", None)],
    );
    let findings = finish(&mut rule);
    assert!(sent().is_empty());
    assert!(findings.patterns.is_empty());
    let line = lines_with(&rule, "unexplained interactions not read");
    assert!(field(line[0], "why").contains("fewer than min_group (2)"));
}

#[test]
fn the_kept_set_is_bounded_and_the_same_whatever_the_chunking() {
    let ids: Vec<String> = (0..20).map(|i| format!("int_{i:02}")).collect();
    let feedback = |id: &str, i: usize| -> Feedback {
        match i {
            0..=2 => explicit(id, Some("not what I asked")),
            3..=6 => explicit(id, None),
            _ => inferred(id, "corrections", "user corrected the agent"),
        }
    };
    let kept_ids = |rule: &LlmReflector| -> Vec<String> {
        let mut v: Vec<String> = rule.keeper.worst_first().map(|k| k.id.clone()).collect();
        v.sort();
        v
    };

    let mut whole = reflector(&[("max_kept", "5")]);
    analyse(
        &mut whole,
        ids.iter().map(|id| lookup(id)).collect(),
        ids.iter()
            .enumerate()
            .map(|(i, id)| feedback(id, i))
            .collect(),
    );
    let mut one_by_one = reflector(&[("max_kept", "5")]);
    for (i, id) in ids.iter().enumerate().rev() {
        analyse(&mut one_by_one, vec![lookup(id)], vec![feedback(id, i)]);
    }
    assert_eq!(kept_ids(&whole), kept_ids(&one_by_one));
    let kept = kept_ids(&whole);
    assert_eq!(kept.len(), 5);
    // People's comments first, then people's ratings; no inferred one.
    for id in ["int_00", "int_01", "int_02"] {
        assert!(kept.contains(&id.to_string()), "{kept:?}");
    }
    assert!(kept.iter().all(|id| id.as_str() <= "int_06"), "{kept:?}");
    assert_eq!(whole.keeper.offered, 20);
}

#[test]
fn conversations_in_other_languages_reach_the_model_untouched() {
    let spanish_user = "¿Cuál es el estado de mi expediente R-17?";
    let spanish_agent = "Su expediente está cerrado desde ayer.";
    let comment = "回答が間違っています。まだ開いています。";
    set_problems(vec![problem(
        LOOKUP_KEY,
        "Lookups fail",
        &["int_es", "int_ja"],
    )]);
    answer_with(|_| Ok(reply(&good_answer())));
    let mut rule = reflector(&[("unexplained_sample", "0")]);
    analyse(
        &mut rule,
        vec![
            conversation("int_es", spanish_user, spanish_agent),
            conversation("int_ja", "記録R-17の状態は？", "記録は閉じています。"),
        ],
        vec![explicit("int_es", None), explicit("int_ja", Some(comment))],
    );
    let findings = finish(&mut rule);
    let requests = sent();
    let prompt = user_text(&requests[0]);
    assert!(prompt.contains(&format!("User: {spanish_user}")));
    assert!(prompt.contains(&format!("Agent: {spanish_agent}")));
    assert!(prompt.contains(&format!("wrote: \"{comment}\"")));
    assert!(prompt.contains("User: 記録R-17の状態は？"));
    assert!(prompt.contains("any language; write your answer in English"));
    assert_eq!(findings.suggestions.len(), 1);
}

#[test]
fn the_prompts_fill_every_placeholder_and_stay_within_their_size() {
    let reflect =
        Template::parse("prompts/reflect.md", reflect::PROMPT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        reflect.placeholders(),
        vec![
            "system_prompt",
            "problem_title",
            "problem_description",
            "transcripts"
        ]
    );
    let unexplained = Template::parse("prompts/unexplained.md", unexplained::PROMPT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        unexplained.placeholders(),
        vec!["min_group", "system_prompt", "categories", "transcripts"]
    );

    // The largest request the defaults allow: a rule run on long prompts and
    // long conversations, rendered as it would be sent.
    let long_prompt = "p".repeat(20_000);
    let long_talk: Vec<Message> = (0..200)
        .map(|i| {
            message(
                if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                &"w ".repeat(100),
            )
        })
        .collect();
    let long = Interaction {
        messages: long_talk,
        ..lookup("int_long")
    };
    let mut rule = match LlmReflector::new(reverie_rule_sdk::test_context(&long_prompt, &[])) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let ids: Vec<String> = (0..30).map(|i| format!("int_{i:02}")).collect();
    analyse(
        &mut rule,
        ids.iter()
            .map(|id| Interaction {
                id: id.clone(),
                ..long.clone()
            })
            .collect(),
        ids.iter()
            .map(|id| explicit(id, Some(&"c".repeat(2_000))))
            .collect(),
    );
    set_problems(vec![ProblemBrief {
        title: "t".repeat(5_000),
        description: "d".repeat(50_000),
        ..problem("a/b", "", &["int_00", "int_01", "int_02", "int_03"])
    }]);
    answer_with(|_| Ok(reply("{}")));
    finish(&mut rule);
    let requests = sent();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| user_text(r).chars().count())
        .collect();
    assert_eq!(
        sizes.len(),
        4,
        "a problem, the unexplained call, and a repair of each"
    );
    for (request, size) in requests.iter().zip(&sizes) {
        let text = user_text(request);
        assert!(!text.contains("{{") && !text.contains("<!--"));
        // About 5,000 tokens at most: small local models take it whole.
        assert!(*size < 20_000, "{size}");
    }
}

#[test]
fn the_schemas_parse_and_require_what_the_answers_are_read_from() {
    let parse = |text: &str| -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("schema is not JSON: {e}"))
    };
    let reflect = parse(reflect::SCHEMA);
    assert_eq!(
        reflect["required"],
        json!(["root_cause", "edit", "confidence", "evidence"])
    );
    assert_eq!(
        reflect["properties"]["edit"]["required"],
        json!(["kind", "find", "text"])
    );
    assert_eq!(
        reflect["properties"]["edit"]["properties"]["kind"]["enum"],
        json!(["append", "replace"])
    );
    let narrowed = parse(&with_enum(
        reflect::SCHEMA,
        reflect::EVIDENCE_POINTER,
        &["c1".to_string()],
    ));
    assert_eq!(
        narrowed.pointer("/properties/evidence/items/enum"),
        Some(&json!(["c1"]))
    );

    let unexplained = parse(unexplained::SCHEMA);
    assert_eq!(unexplained["required"], json!(["assignments", "groups"]));
    let names: Vec<&str> = unexplained::CATEGORIES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        unexplained.pointer("/properties/assignments/items/properties/category/enum"),
        Some(&json!(names))
    );
    assert_eq!(
        unexplained.pointer("/properties/groups/items/properties/category/enum"),
        Some(&json!(names))
    );
    assert_eq!(
        unexplained.pointer("/properties/groups/items/required"),
        Some(&json!(["category", "root_cause", "edit", "confidence"]))
    );
    let narrowed = parse(&with_enum(
        unexplained::SCHEMA,
        unexplained::ID_POINTER,
        &["c1".to_string()],
    ));
    assert_eq!(
        narrowed.pointer("/properties/assignments/items/properties/id/enum"),
        Some(&json!(["c1"]))
    );
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    for (name, value) in [
        ("max_kept", "0"),
        ("max_problems", "1000"),
        ("per_problem", "0"),
        ("unexplained_sample", "51"),
        ("min_group", "zero"),
        ("max_transcript_chars", "10"),
        ("max_prompt_chars", "10"),
        ("max_output_tokens", "1"),
    ] {
        match LlmReflector::new(reverie_rule_sdk::test_context(PROMPT, &[(name, value)])) {
            Ok(_) => panic!("{name} = {value} accepted"),
            Err(e) => assert!(e.contains(name), "{e}"),
        }
    }
}
