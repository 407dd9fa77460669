//! The rule as an operator meets it: agents whose users rate some
//! interactions, the behaviours that go with the bad ratings, and what the
//! report and the run log say about them.

use super::*;
use reverie_rule_sdk::{Edit, Feedback, FeedbackSource, Message, Rating, Role, Severity, ToolCall};

fn rule(settings: &[(&str, &str)]) -> OutcomeDrivers {
    let context = reverie_rule_sdk::test_context("You help travellers with their trips.", settings);
    match OutcomeDrivers::new(context) {
        Ok(rule) => rule,
        Err(e) => panic!("settings rejected: {e}"),
    }
}

fn refused(settings: &[(&str, &str)]) -> String {
    let context = reverie_rule_sdk::test_context("prompt", settings);
    match OutcomeDrivers::new(context) {
        Ok(_) => panic!("settings {settings:?} accepted"),
        Err(e) => e,
    }
}

/// Users open in several languages: the rule never reads their words.
const OPENINGS: &[&str] = &[
    "Hello, I need help",
    "Hallo, ich brauche Hilfe",
    "Hola, necesito ayuda",
    "Bonjour, j'ai besoin d'aide",
    "Ciao, ho bisogno di aiuto",
    "Olá, preciso de ajuda",
    "Hallo, ik heb hulp nodig",
];

/// An interaction with this many user turns and these calls: (tool, arguments, error).
fn interaction(id: &str, user_turns: usize, calls: &[(&str, &str, Option<&str>)]) -> Interaction {
    let mut messages = vec![Message {
        role: Role::System,
        content: String::new(),
        tool_call_id: None,
    }];
    for turn in 0..user_turns.max(1) {
        messages.push(Message {
            role: Role::User,
            content: OPENINGS[(id.len() + turn) % OPENINGS.len()].into(),
            tool_call_id: None,
        });
        messages.push(Message {
            role: Role::Assistant,
            content: String::new(),
            tool_call_id: None,
        });
    }
    Interaction {
        id: id.into(),
        session_id: None,
        user_id: None,
        timestamp_ms: 0,
        config_version: Some("v1".into()),
        messages,
        tool_calls: calls
            .iter()
            .enumerate()
            .map(|(i, (name, arguments, error))| ToolCall {
                id: format!("call-{i}"),
                name: name.to_string(),
                arguments: arguments.to_string(),
                error: error.map(str::to_string),
                message_index: 2,
            })
            .collect(),
        metadata: "{}".into(),
    }
}

fn rating(negative: bool) -> Rating {
    if negative {
        Rating::Negative
    } else {
        Rating::Positive
    }
}

fn explicit(id: &str, negative: bool) -> Feedback {
    Feedback {
        interaction_id: id.into(),
        rating: rating(negative),
        comment: None,
        source: FeedbackSource::Explicit,
    }
}

fn inferred(id: &str, rule: &str, negative: bool) -> Feedback {
    Feedback {
        interaction_id: id.into(),
        rating: rating(negative),
        comment: Some("inferred".into()),
        source: FeedbackSource::Inferred(rule.into()),
    }
}

fn run(rule: &mut OutcomeDrivers, chunks: Vec<Chunk>) -> (Findings, Vec<LogLine>) {
    for chunk in chunks {
        if let Err(e) = rule.analyse(chunk) {
            panic!("analyse failed: {e}");
        }
    }
    rule.findings_and_log()
}

fn one_chunk(interactions: Vec<Interaction>, feedback: Vec<Feedback>) -> Vec<Chunk> {
    vec![Chunk {
        interactions,
        feedback,
    }]
}

fn keys(findings: &Findings) -> Vec<&str> {
    findings.patterns.iter().map(|p| p.key.as_str()).collect()
}

fn metric(findings: &Findings, name: &str) -> f64 {
    findings
        .metrics
        .iter()
        .find(|m| m.name == name)
        .map_or(f64::NAN, |m| m.value)
}

fn logged<'a>(log: &'a [LogLine], message: &str) -> Option<&'a LogLine> {
    log.iter().find(|l| l.message == message)
}

fn field<'a>(line: &'a LogLine, key: &str) -> &'a str {
    line.fields
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// An airline agent: 200 rated interactions all search; 40 also cancel a
/// reservation, and half of those are rated negative against an eighth of
/// the rest.
fn airline() -> (Vec<Interaction>, Vec<Feedback>) {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..200 {
        let id = format!("air_{i:03}");
        let cancels = i % 5 == 0;
        let negative = if cancels { i % 10 == 0 } else { i % 10 == 1 };
        let mut calls = vec![("search_flights", r#"{"from":"AMS"}"#, None)];
        if cancels {
            calls.push(("fare_rules", r#"{"ref":"X1"}"#, None));
        }
        interactions.push(interaction(&id, 2, &calls));
        feedback.push(explicit(&id, negative));
    }
    (interactions, feedback)
}

#[test]
fn a_tool_whose_calls_go_with_negative_ratings_is_reported_with_its_lift_and_p_value() {
    let (interactions, feedback) = airline();
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert_eq!(keys(&findings), vec!["outcome-drivers/tool/fare_rules"]);
    let p = &findings.patterns[0];
    // 20 of 40 negative with it, 20 of the other 160.
    assert!(
        p.title
            .contains("`fare_rules` is called negative 4.0× as often"),
        "{}",
        p.title
    );
    assert!(
        p.description.contains("20 (50.0%) were negative"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("20 of 160 (12.5%)"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("Fisher's exact test p = "),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("Benjamini-Hochberg"),
        "{}",
        p.description
    );
    assert!(
        p.description.contains("explicit ratings"),
        "{}",
        p.description
    );
    assert_eq!(p.occurrences, 20);
    let expected: Vec<String> = (0..200)
        .filter(|i| i % 10 == 0)
        .map(|i| format!("air_{i:03}"))
        .collect();
    assert_eq!(
        p.evidence, expected,
        "the negative ones with the tool, in window order"
    );
    assert_eq!(p.severity, Severity::High);
    let line = logged(&log, "pattern").expect("a pattern line");
    assert_eq!(field(line, "with"), "20/40");
    assert_eq!(metric(&findings, "outcome_basis"), 1.0);
    // The search every interaction makes cannot be compared: only the cancellation is tested.
    assert_eq!(metric(&findings, "behaviours_tested"), 1.0);
    assert_eq!(metric(&findings, "behaviours_significant"), 1.0);
}

#[test]
fn the_only_suggestion_is_a_low_confidence_review_flag_without_figures() {
    let (interactions, feedback) = airline();
    let (findings, _) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert_eq!(findings.suggestions.len(), 1);
    let s = &findings.suggestions[0];
    let Edit::FlagForReview(text) = &s.edit else {
        panic!("not a flag: {:?}", s.edit);
    };
    assert!(text.contains("`fare_rules`"), "{text}");
    assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
    assert!(
        s.confidence <= 0.4 && s.confidence > 0.0,
        "{}",
        s.confidence
    );
    assert_eq!(s.addresses, vec!["outcome-drivers/tool/fare_rules"]);
    assert!(s.rationale.contains("4.0×"), "{}", s.rationale);
}

#[test]
fn behaviours_with_the_same_negative_rate_as_the_rest_are_not_reported() {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..400 {
        let id = format!("hd_{i:03}");
        // Half reset a password, half do not; a fifth of each is negative.
        let calls: &[(&str, &str, Option<&str>)] = if i % 2 == 0 {
            &[("reset_password", "{}", None)]
        } else {
            &[("lookup_employee", "{}", None)]
        };
        interactions.push(interaction(&id, 1 + i % 3, calls));
        feedback.push(explicit(&id, (i / 2) % 5 == 0));
    }
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert!(findings.patterns.is_empty(), "{:?}", keys(&findings));
    let tested = logged(&log, "tested").expect("tested line");
    assert_eq!(field(tested, "significant"), "0");
    assert!(log.iter().any(|l| l.message == "dropped"
        && field(l, "key") == "outcome-drivers/tool/reset_password"
        && field(l, "reason").starts_with("not significant")));
}

/// A small linear congruential generator: the same numbers on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn twenty_behaviours_of_pure_noise_pass_no_false_discovery_rate_control() {
    let mut random = Lcg(2026);
    let tools: Vec<String> = (0..20).map(|t| format!("tool_{t:02}")).collect();
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..1_000 {
        let id = format!("n_{i:04}");
        let calls: Vec<(&str, &str, Option<&str>)> = tools
            .iter()
            .filter(|_| random.next() < 0.3)
            .map(|t| (t.as_str(), "{}", None))
            .collect();
        interactions.push(interaction(&id, 1, &calls));
        feedback.push(explicit(&id, random.next() < 0.2));
    }
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert!(findings.patterns.is_empty(), "{:?}", keys(&findings));
    assert_eq!(metric(&findings, "behaviours_tested"), 20.0);
    assert_eq!(metric(&findings, "behaviours_significant"), 0.0);
    // Some noise looks significant alone: the control is what stops it.
    let smallest = log
        .iter()
        .filter(|l| l.message == "dropped")
        .map(|l| field(l, "p").parse::<f64>().unwrap_or(1.0))
        .fold(1.0, f64::min);
    assert!(smallest < 0.2, "{smallest}");
}

#[test]
fn without_explicit_ratings_inferred_feedback_decides_and_the_report_says_so() {
    let (interactions, explicit_feedback) = airline();
    let feedback: Vec<Feedback> = explicit_feedback
        .iter()
        .map(|f| inferred(&f.interaction_id, "sentiment", f.rating == Rating::Negative))
        .collect();
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert_eq!(keys(&findings), vec!["outcome-drivers/tool/fare_rules"]);
    let p = &findings.patterns[0];
    assert!(
        p.description
            .contains("inferred by detect rules (sentiment"),
        "{}",
        p.description
    );
    assert!(
        p.description
            .contains("only 0 interactions had explicit ratings"),
        "{}",
        p.description
    );
    assert!(p.title.contains("draw negative feedback"), "{}", p.title);
    assert_eq!(
        field(logged(&log, "basis").expect("basis line"), "basis"),
        "inferred"
    );
    assert_eq!(metric(&findings, "outcome_basis"), 2.0);
}

#[test]
fn explicit_ratings_win_when_there_are_enough_of_them() {
    let (interactions, mut feedback) = airline();
    // Inferred feedback that says the opposite is ignored.
    let contrary: Vec<Feedback> = feedback
        .iter()
        .map(|f| inferred(&f.interaction_id, "sentiment", f.rating != Rating::Negative))
        .collect();
    feedback.extend(contrary);
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert_eq!(keys(&findings), vec!["outcome-drivers/tool/fare_rules"]);
    assert_eq!(
        field(logged(&log, "basis").expect("basis line"), "basis"),
        "explicit"
    );
}

#[test]
fn with_no_ratings_at_all_nothing_is_reported_and_the_log_says_why() {
    let (interactions, _) = airline();
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, Vec::new()));
    assert!(findings.patterns.is_empty());
    assert_eq!(metric(&findings, "outcome_basis"), 0.0);
    let why = logged(&log, "no outcome basis; nothing tested").expect("the reason");
    assert!(
        field(why, "reason").contains("below min_rated (30)"),
        "{why:?}"
    );
}

#[test]
fn a_window_rated_all_negative_has_nothing_to_compare() {
    let (interactions, feedback) = airline();
    let feedback = feedback
        .iter()
        .map(|f| explicit(&f.interaction_id, true))
        .collect();
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert!(findings.patterns.is_empty());
    assert!(logged(&log, "nothing to compare; nothing tested").is_some());
}

/// A help desk whose employee lookup times out in a quarter of calls; every
/// timeout is rated negative, other lookups never: the timeouts, not the
/// lookup, go with the bad ratings.
fn help_desk() -> (Vec<Interaction>, Vec<Feedback>) {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..400 {
        let id = format!("hd_{i:03}");
        let looks_up = i % 2 == 0;
        let times_out = looks_up && i % 8 == 0;
        let mut calls: Vec<(&str, &str, Option<&str>)> = Vec::new();
        if looks_up {
            let error = times_out.then_some("upstream timeout after 30s");
            calls.push(("lookup_employee", r#"{"id":"E1"}"#, error));
            if times_out && i % 16 == 0 {
                calls.push(("lookup_employee", r#" {"id":"E1"} "#, None));
            }
        } else {
            calls.push(("list_tickets", "{}", None));
        }
        interactions.push(interaction(&id, 2, &calls));
        let negative = times_out || i % 20 == 1;
        feedback.push(explicit(&id, negative));
    }
    (interactions, feedback)
}

#[test]
fn a_failure_class_that_explains_a_tools_bad_ratings_replaces_the_tool() {
    let (interactions, feedback) = help_desk();
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    let found = keys(&findings);
    assert!(
        found.contains(&"outcome-drivers/error/lookup_employee/timeout"),
        "{found:?}"
    );
    assert!(
        !found.contains(&"outcome-drivers/tool/lookup_employee"),
        "{found:?}"
    );
    assert!(log.iter().any(|l| l.message == "dropped"
        && field(l, "key") == "outcome-drivers/tool/lookup_employee"
        && field(l, "reason").starts_with("explained by outcome-drivers/")));
}

#[test]
fn a_retry_is_the_same_failing_call_made_again() {
    let mut out = Vec::new();
    let looped = interaction(
        "r1",
        1,
        &[
            ("lookup", r#"{"a":1}"#, Some("timeout after 30012 ms")),
            ("lookup", r#"{"a":2}"#, None),
            ("lookup", r#" {"a": 1}"#, Some("timeout after 30000 ms")),
        ],
    );
    behaviour::retries(&looped, &mut out);
    assert_eq!(out, vec![Behaviour::Retry("lookup".into())]);
    out.clear();
    // A retry that worked gave the agent something new: no loop.
    let recovered = interaction(
        "r2",
        1,
        &[
            ("lookup", r#"{"a":1}"#, Some("timeout")),
            ("lookup", r#"{"a":1}"#, None),
        ],
    );
    behaviour::retries(&recovered, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // The same call twice without a failure is no retry.
    let repeated = interaction("r3", 1, &[("lookup", "{}", None), ("lookup", "{}", None)]);
    behaviour::retries(&repeated, &mut out);
    assert!(out.is_empty());
}

#[test]
fn hand_over_tools_are_found_by_the_words_of_their_names() {
    let by_words = Escalation::ByWords;
    for name in [
        "transfer_to_human",
        "transferToAgent",
        "EscalateTicket",
        "hand_off_case",
        "request-operator",
    ] {
        assert!(by_words.is_escalation(name), "{name}");
    }
    for name in [
        "agenda_lookup",
        "transferable_points",
        "humanize_text",
        "get_weather",
    ] {
        assert!(!by_words.is_escalation(name), "{name}");
    }
    let named = Escalation::Named(vec!["page_on_call".into()]);
    assert!(named.is_escalation("page_on_call"));
    assert!(!named.is_escalation("transfer_to_human"));
    assert_eq!(
        behaviour::name_words("getHTTPStatus_v2"),
        vec!["get", "httpstatus", "v2"]
    );
}

#[test]
fn needless_hand_overs_that_users_dislike_are_one_escalation_pattern() {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..300 {
        let id = format!("it_{i:03}");
        let hands_over = i % 6 == 0;
        let mut calls = vec![("lookup_employee", "{}", None)];
        if hands_over {
            calls.push(("transfer_to_human", "{}", None));
        }
        interactions.push(interaction(&id, 2, &calls));
        feedback.push(explicit(
            &id,
            if hands_over { i % 12 == 0 } else { i % 10 == 1 },
        ));
    }
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    // The escalation and the one tool behind it are the same interactions: one is kept.
    assert_eq!(keys(&findings), vec!["outcome-drivers/escalation"]);
    assert!(
        findings.patterns[0]
            .title
            .contains("hands the user over (`transfer_to_human`)"),
        "{}",
        findings.patterns[0].title
    );
    assert!(log.iter().any(
        |l| field(l, "key") == "outcome-drivers/tool/transfer_to_human"
            && field(l, "reason") == "explained by outcome-drivers/escalation"
    ));
}

/// 300 rated interactions; the longest quarter (6 or more user turns) are
/// negative half the time, the rest one time in ten.
fn long_talks() -> (Vec<Interaction>, Vec<Feedback>) {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..300 {
        let id = format!("lt_{i:03}");
        let turns = if i % 4 == 0 { 6 + i % 3 } else { 1 + i % 4 };
        interactions.push(interaction(&id, turns, &[("search", "{}", None)]));
        feedback.push(explicit(
            &id,
            if turns >= 6 { i % 8 == 0 } else { i % 10 == 1 },
        ));
    }
    (interactions, feedback)
}

#[test]
fn long_conversations_are_the_windows_upper_quartile_of_user_turns() {
    let (interactions, feedback) = long_talks();
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert_eq!(keys(&findings), vec!["outcome-drivers/long-conversation"]);
    assert!(
        findings.patterns[0]
            .title
            .contains("the user needs 6 or more turns"),
        "{}",
        findings.patterns[0].title
    );
    assert_eq!(
        field(
            logged(&log, "long conversations").expect("line"),
            "from_user_turns"
        ),
        "6"
    );
}

#[test]
fn a_fixed_long_turns_setting_overrides_the_quartile() {
    let (interactions, feedback) = long_talks();
    let (_, log) = run(
        &mut rule(&[("long_turns", "8")]),
        one_chunk(interactions, feedback),
    );
    assert_eq!(
        field(
            logged(&log, "long conversations").expect("line"),
            "from_user_turns"
        ),
        "8"
    );
}

#[test]
fn corrections_explain_the_tools_they_follow_and_are_measured_not_reported() {
    let (interactions, explicit_feedback) = airline();
    // The corrections rule flags the negative cancellations (and a few others).
    let corrections: Vec<Feedback> = interactions
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 == 0 || i % 50 == 7)
        .map(|(_, x)| inferred(&x.id, outcome::CORRECTIONS_RULE, true))
        .collect();
    let mut feedback = explicit_feedback;
    feedback.extend(corrections.iter().cloned());
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions.clone(), feedback));
    // The cancellations' bad ratings are the corrected ones: nothing of their own.
    assert!(findings.patterns.is_empty(), "{:?}", keys(&findings));
    assert!(
        log.iter()
            .any(|l| field(l, "key") == "outcome-drivers/tool/fare_rules"
                && field(l, "reason") == "explained by outcome-drivers/corrected")
    );
    // 20 of 24 corrected are negative, 20 of the other 176.
    let lift = metric(&findings, "corrected_lift");
    assert!(
        (lift - (20.0 / 24.0) / (20.0 / 176.0)).abs() < 1e-9,
        "{lift}"
    );
    let agree = logged(&log, "corrections agree with the ratings").expect("a line");
    assert!(
        field(agree, "reason").starts_with("significant; not reported"),
        "{agree:?}"
    );

    // Without explicit ratings, the corrections are the outcome: not a behaviour.
    let mut positives: Vec<Feedback> = interactions
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 1)
        .map(|(_, x)| inferred(&x.id, outcome::CORRECTIONS_RULE, false))
        .collect();
    positives.extend(corrections);
    let (findings, log) = run(&mut rule(&[]), one_chunk(interactions, positives));
    assert!(
        metric(&findings, "corrected_lift").is_nan(),
        "no such metric"
    );
    assert!(
        log.iter()
            .any(|l| l.message == "not tested" && field(l, "key") == "corrected")
    );
    // The cancellations now stand on their own.
    assert_eq!(keys(&findings), vec!["outcome-drivers/tool/fare_rules"]);
}

#[test]
fn unrated_interactions_take_no_part_in_the_comparison() {
    let (mut interactions, feedback) = airline();
    // 500 unrated cancellations change nothing.
    for i in 0..500 {
        interactions.push(interaction(
            &format!("u_{i:03}"),
            2,
            &[("search_flights", "{}", None), ("fare_rules", "{}", None)],
        ));
    }
    let (findings, _) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert!(
        findings.patterns[0]
            .description
            .contains("Of 40 rated interactions")
    );
}

#[test]
fn the_findings_are_the_same_whatever_the_chunks_and_on_every_run() {
    let (interactions, feedback) = help_desk();
    let (once, _) = run(
        &mut rule(&[]),
        one_chunk(interactions.clone(), feedback.clone()),
    );
    let chunks: Vec<Chunk> = interactions
        .chunks(37)
        .map(|part| Chunk {
            feedback: feedback
                .iter()
                .filter(|f| part.iter().any(|x| x.id == f.interaction_id))
                .cloned()
                .collect(),
            interactions: part.to_vec(),
        })
        .collect();
    let (chunked, _) = run(&mut rule(&[]), chunks);
    let (again, _) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert!(!once.patterns.is_empty());
    // Findings have no equality of their own: their full printout is compared.
    assert_eq!(format!("{once:?}"), format!("{chunked:?}"));
    assert_eq!(format!("{once:?}"), format!("{again:?}"));
}

#[test]
fn memory_stays_bounded_with_endless_distinct_tools_and_negatives() {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    let long_name = "x".repeat(5_000);
    for i in 0..12_000 {
        let id = format!("b_{i:05}");
        let tool = format!("tool_{}", i % 400);
        let calls: Vec<(&str, &str, Option<&str>)> = vec![
            (tool.as_str(), "{}", None),
            (long_name.as_str(), "{}", None),
        ];
        interactions.push(interaction(&id, 1, &calls));
        feedback.push(explicit(&id, i % 4 != 3));
    }
    let mut r = rule(&[]);
    let (findings, log) = run(&mut r, one_chunk(interactions, feedback));
    assert_eq!(r.behaviours.len(), MAX_BEHAVIOURS);
    assert!(r.untracked > 0);
    assert!(r.behaviours.keys().all(|b| match b {
        Behaviour::Tool(name) => name.chars().count() <= behaviour::MAX_NAME_CHARS + 1,
        _ => true,
    }));
    assert!(r.evidence.total <= MAX_EVIDENCE_TOTAL);
    assert!(
        r.behaviours
            .values()
            .all(|t| t.evidence.iter().all(|e| e.len() <= MAX_EVIDENCE))
    );
    assert!(
        findings
            .patterns
            .iter()
            .all(|p| p.evidence.len() <= MAX_EVIDENCE)
    );
    let seen = logged(&log, "seen").expect("seen line");
    assert_eq!(field(seen, "behaviours"), MAX_BEHAVIOURS.to_string());
}

#[test]
fn info_declares_the_stage_the_inputs_and_every_setting() {
    let info = OutcomeDrivers::info();
    assert_eq!(info.name, "outcome-drivers");
    assert_eq!(info.stages, vec![Stage::Analyse]);
    assert_eq!(info.inputs, Inputs::MESSAGES | Inputs::TOOL_CALLS);
    let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "min_rated",
            "min_support",
            "fdr",
            "min_odds_ratio",
            "min_occurrences",
            "escalation_tools",
            "long_turns"
        ]
    );
    assert!(
        info.settings
            .iter()
            .all(|s| !s.description.is_empty() && s.default_value.is_some())
    );
    // Every default is accepted as written.
    let defaults: Vec<(&str, &str)> = info
        .settings
        .iter()
        .map(|s| (s.name.as_str(), s.default_value.as_deref().unwrap_or("")))
        .collect();
    let parsed = Settings::from_context(&reverie_rule_sdk::test_context("p", &defaults));
    assert_eq!(
        parsed,
        Settings::from_context(&reverie_rule_sdk::test_context("p", &[]))
    );
}

#[test]
fn bad_settings_are_refused_by_name() {
    for (settings, name) in [
        (vec![("fdr", "0")], "fdr"),
        (vec![("fdr", "1")], "fdr"),
        (vec![("fdr", "five")], "fdr"),
        (vec![("min_odds_ratio", "0.5")], "min_odds_ratio"),
        (vec![("min_odds_ratio", "inf")], "min_odds_ratio"),
        (vec![("min_support", "0")], "min_support"),
        (vec![("min_rated", "-3")], "min_rated"),
        (vec![("min_occurrences", "0")], "min_occurrences"),
        (vec![("long_turns", "0")], "long_turns"),
        (vec![("long_turns", "101")], "long_turns"),
        (vec![("long_turns", "long")], "long_turns"),
        (vec![("escalation_tools", "a,,b")], "escalation_tools"),
    ] {
        let e = refused(&settings);
        assert!(e.contains(&format!("`{name}`")), "{settings:?}: {e}");
    }
    let ok = rule(&[
        ("escalation_tools", " page_on_call , open_case "),
        ("long_turns", "auto"),
    ]);
    assert_eq!(
        ok.settings.escalation,
        Escalation::Named(vec!["page_on_call".into(), "open_case".into()])
    );
}

#[test]
fn a_broad_behaviour_whose_bad_ratings_several_narrower_ones_explain_is_dropped() {
    let tested = |behaviour: Behaviour, with: u64, evidence: std::ops::Range<u32>| Tested {
        behaviour,
        table: stats::Table {
            with_negative: evidence.len() as u64,
            with_other: with - evidence.len() as u64,
            without_negative: 50,
            without_other: 500,
        },
        evidence: evidence.collect(),
        p: 0.001,
        adjusted: 0.001,
    };
    let mut passed = vec![
        tested(Behaviour::Tool("open_case".into()), 100, 0..10),
        tested(
            Behaviour::Error("open_case".into(), classify::ErrorClass::Timeout),
            20,
            0..4,
        ),
        tested(Behaviour::Retry("open_case".into()), 15, 4..7),
        tested(Behaviour::Tool("close_case".into()), 100, 20..30),
    ];
    let dropped = drop_nested(&mut passed);
    let kept: Vec<String> = passed.iter().map(Tested::key).collect();
    assert_eq!(
        kept,
        vec![
            "outcome-drivers/error/open_case/timeout",
            "outcome-drivers/retry/open_case",
            "outcome-drivers/tool/close_case"
        ]
    );
    // Seven of its ten bad ratings are the narrower ones': more than half.
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].0.key(), "outcome-drivers/tool/open_case");
    assert_eq!(
        dropped[0].1,
        "outcome-drivers/error/open_case/timeout, outcome-drivers/retry/open_case"
    );
}

/// An agent that cancels after asking ("Shall I cancel it?" / "yes") or at
/// once, in the user's language.
fn cancellation(id: &str, asks_first: bool, language: usize) -> Interaction {
    const REQUESTS: &[(&str, &str)] = &[
        ("Can my booking still be changed?", "yes please"),
        ("Kann ich meine Buchung noch ändern?", "ja, bitte"),
        ("¿Puedo cambiar mi reserva todavía?", "sí, adelante"),
        ("Is mijn boeking nog te wijzigen?", "ja hoor, graag"),
    ];
    let (request, yes) = REQUESTS[language % REQUESTS.len()];
    let say = |role: Role, content: &str| Message {
        role,
        content: content.into(),
        tool_call_id: None,
    };
    let mut messages = vec![say(Role::System, ""), say(Role::User, request)];
    if asks_first {
        messages.push(say(
            Role::Assistant,
            "I can cancel booking 4471 for you. Shall I?",
        ));
        messages.push(say(Role::User, yes));
    }
    messages.push(say(Role::Assistant, ""));
    let message_index = (messages.len() - 1) as u32;
    messages.push(say(Role::Assistant, "Done."));
    let mut it = interaction(id, 1, &[]);
    it.messages = messages;
    it.tool_calls = vec![ToolCall {
        id: "call-0".into(),
        name: "cancel_booking".into(),
        arguments: r#"{"booking_id":"4471"}"#.into(),
        error: None,
        message_index,
    }];
    it
}

#[test]
fn cancelling_without_the_users_yes_goes_with_unhappy_users_in_any_language() {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..240 {
        let id = format!("cx_{i:03}");
        let at_once = i % 4 == 0;
        interactions.push(cancellation(&id, !at_once, i));
        feedback.push(explicit(
            &id,
            if at_once { i % 8 == 0 } else { i % 12 == 1 },
        ));
    }
    let (findings, _) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    // Calling the tool is the same for both; acting without a yes is what differs.
    assert_eq!(
        keys(&findings),
        vec!["outcome-drivers/unconfirmed/cancel_booking"]
    );
    assert!(
        findings.patterns[0].title.contains("`cancel_booking`"),
        "{}",
        findings.patterns[0].title
    );
}

#[test]
fn users_who_objected_to_a_hand_over_without_rating_it_are_evidence_but_not_counted() {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..300 {
        let id = format!("ho_{i:03}");
        let hands_over = i % 6 == 0;
        let mut calls = vec![("lookup_employee", "{}", None)];
        if hands_over {
            calls.push(("transfer_to_human", "{}", None));
        }
        interactions.push(interaction(&id, 2, &calls));
        if hands_over && i % 5 == 0 {
            // Objected in the conversation, never rated.
            feedback.push(inferred(&id, "corrections", true));
        } else {
            feedback.push(explicit(
                &id,
                if hands_over { i % 12 == 0 } else { i % 10 == 1 },
            ));
        }
    }
    let (findings, _) = run(&mut rule(&[]), one_chunk(interactions, feedback));
    assert_eq!(keys(&findings), vec!["outcome-drivers/escalation"]);
    let evidence = &findings.patterns[0].evidence;
    // ho_000 and ho_030 objected (i % 30 == 0); ho_012 and ho_024 rated it negative.
    for id in ["ho_000", "ho_012", "ho_024", "ho_030"] {
        assert!(evidence.iter().any(|e| e == id), "{id} in {evidence:?}");
    }
    assert!(!evidence.iter().any(|e| e == "ho_006"), "rated positive");
    // The test counted only the explicit ratings.
    assert!(
        findings.patterns[0].description.contains("explicit"),
        "{}",
        findings.patterns[0].description
    );
}

/// Six raters in ten are negative without a hand-over, eight in ten with one.
fn mostly_unhappy_raters() -> Vec<Chunk> {
    let mut interactions = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..300 {
        let id = format!("ur_{i:03}");
        let hands_over = i % 6 == 0;
        let mut calls = vec![("lookup_employee", "{}", None)];
        if hands_over {
            calls.push(("transfer_to_human", "{}", None));
        }
        interactions.push(interaction(&id, 2, &calls));
        let negative = if hands_over {
            (i / 6) % 5 != 0
        } else {
            i % 2 == 1
        };
        feedback.push(explicit(&id, negative));
    }
    one_chunk(interactions, feedback)
}

#[test]
fn when_most_raters_are_unhappy_anyway_a_behaviour_is_judged_by_its_odds_not_its_lift() {
    // The lift cannot be large (1.33); the odds ratio is 2.58.
    let (findings, _) = run(&mut rule(&[]), mostly_unhappy_raters());
    assert_eq!(keys(&findings), vec!["outcome-drivers/escalation"]);
    assert!(
        findings.patterns[0]
            .description
            .contains("an odds ratio of 2.6"),
        "{}",
        findings.patterns[0].description
    );
    // An operator who asks for a stronger effect gets none, and the log says why.
    let (stricter, log) = run(
        &mut rule(&[("min_odds_ratio", "3")]),
        mostly_unhappy_raters(),
    );
    assert!(stricter.patterns.is_empty(), "{:?}", keys(&stricter));
    assert!(
        log.iter()
            .any(|l| field(l, "key") == "outcome-drivers/escalation"
                && field(l, "reason") == "odds ratio 2.58 below min_odds_ratio")
    );
}

#[test]
fn the_odds_ratio_adds_a_half_to_every_cell() {
    let table = stats::Table {
        with_negative: 19,
        with_other: 7,
        without_negative: 80,
        without_other: 81,
    };
    assert!((table.odds_ratio() - 19.5 * 81.5 / (7.5 * 80.5)).abs() < 1e-12);
    let empty = stats::Table {
        with_negative: 5,
        with_other: 0,
        without_negative: 0,
        without_other: 5,
    };
    assert!(empty.odds_ratio().is_finite() && empty.odds_ratio() > 100.0);
}
