//! The merge as a team sees its result: one problem per root cause, stable
//! keys, honest statuses, and only edits that pass the gate marked ready.

use super::*;
use crate::metrics::{Accuracy, Basis};
use crate::model::{Pattern, Suggestion};
use crate::report::{PreviousProblem, PreviousReport};

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:04}")).collect()
}

fn pattern(key: &str, evidence: Vec<String>) -> Pattern {
    Pattern {
        key: key.into(),
        title: format!("title of {key}"),
        description: format!("what {key} is"),
        severity: Severity::Medium,
        occurrences: evidence.len() as u32,
        evidence,
    }
}

fn append(text: &str, key: &str, confidence: f32) -> Suggestion {
    Suggestion {
        edit: Edit::AppendInstruction { text: text.into() },
        rationale: "because".into(),
        confidence,
        addresses: vec![key.into()],
    }
}

fn findings(patterns: Vec<Pattern>, suggestions: Vec<Suggestion>) -> Findings {
    Findings {
        patterns,
        suggestions,
        metrics: Vec::new(),
    }
}

fn run(findings: &[(String, Findings)], interactions: u64, prompt: &str) -> Merged {
    merge(&MergeInput {
        findings,
        previous: None,
        interactions,
        prompt,
        protected: &[],
        gate: Gate::default(),
        all_evidence: true,
    })
}

/// The support bot's `#` in order ids, as three rules see it: every failing
/// call, the customers who said "I already told you", the comments.
fn one_mistake_three_rules(theme_key: &str) -> Vec<(String, Findings)> {
    let failing = ids("i", 0..250);
    // Most who complained are among the failures; a few complained of something else.
    let mut complained = ids("i", 0..140);
    complained.extend(ids("x", 0..4));
    let commented = ids("i", 100..190);
    vec![
        (
            "tool-failures".into(),
            findings(
                vec![pattern(
                    "tool-failures/lookup_order/invalid_argument",
                    failing,
                )],
                vec![append(
                    "When you call `lookup_order`, pass `order_id` as digits only.",
                    "tool-failures/lookup_order/invalid_argument",
                    0.8,
                )],
            ),
        ),
        (
            "corrections".into(),
            findings(
                vec![pattern("corrections/ignored-context", complained)],
                vec![append(
                    "When `lookup_order` rejects a value the user gave you, do not ask for it again.",
                    "corrections/ignored-context",
                    0.7,
                )],
            ),
        ),
        (
            "feedback-themes".into(),
            findings(vec![pattern(theme_key, commented)], Vec::new()),
        ),
    ]
}

#[test]
fn one_mistake_seen_by_three_rules_is_one_problem() {
    let m = run(
        &one_mistake_three_rules("feedback-themes/number"),
        2400,
        "P",
    );
    assert_eq!(m.problems.len(), 1, "{:#?}", m.problems);
    let p = &m.problems[0];
    assert_eq!(
        p.key, "tool-failures/lookup_order/invalid_argument",
        "named by the first rule's facet"
    );
    assert_eq!(
        p.affected, 254,
        "the union: 250 failures and 4 other complaints"
    );
    assert_eq!(p.share, 0.1058);
    assert_eq!(p.facets.len(), 3);
    assert_eq!(p.facets[0].overlap, 1.0);
    let ignored = p
        .facets
        .iter()
        .find(|f| f.key == "corrections/ignored-context")
        .expect("a facet");
    assert_eq!(
        ignored.overlap, 0.9722,
        "140 of its 144 interactions were in the problem"
    );
    assert_eq!(p.evidence.len(), 254, "all evidence, as asked");
    assert_eq!(p.suggestions, vec!["sug_1", "sug_2"], "two distinct fixes");
}

#[test]
fn two_mistakes_stay_apart_even_when_a_broad_facet_touches_both() {
    // A theme of comments ("wrong") half over each mistake joins neither, and
    // so cannot chain them into one problem.
    let wrong = [ids("a", 0..30), ids("b", 0..30)].concat();
    let f = vec![
        (
            "tool-failures".into(),
            findings(
                vec![pattern("tool-failures/t/timeout", ids("a", 0..100))],
                vec![],
            ),
        ),
        (
            "corrections".into(),
            findings(
                vec![pattern("corrections/contradicted", ids("b", 0..80))],
                vec![],
            ),
        ),
        (
            "feedback-themes".into(),
            findings(vec![pattern("feedback-themes/wrong", wrong)], vec![]),
        ),
    ];
    let m = run(&f, 1000, "P");
    let keys: Vec<&str> = m.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "tool-failures/t/timeout",
            "corrections/contradicted",
            "feedback-themes/wrong"
        ]
    );
    assert!(m.problems.iter().all(|p| p.facets.len() == 1));
}

#[test]
fn a_problem_keeps_its_key_when_the_words_of_the_comments_change() {
    let first = run(
        &one_mistake_three_rules("feedback-themes/number"),
        2400,
        "P",
    );
    let previous = PreviousReport {
        interactions: 2400,
        accuracy: Accuracy::new(0, 0),
        basis: Basis::None,
        problems: first
            .problems
            .iter()
            .map(PreviousProblem::from_problem)
            .collect(),
    };
    let again = one_mistake_three_rules("feedback-themes/useless");
    let m = merge(&MergeInput {
        findings: &again,
        previous: Some(&previous),
        interactions: 2400,
        prompt: "P",
        protected: &[],
        gate: Gate::default(),
        all_evidence: false,
    });
    assert_eq!(
        m.problems.len(),
        1,
        "nothing resolved, nothing new: {:#?}",
        m.problems
    );
    let p = &m.problems[0];
    assert_eq!(p.key, "tool-failures/lookup_order/invalid_argument");
    assert_eq!(p.status, ProblemStatus::Ongoing);
    assert_eq!(p.previous.as_ref().map(|x| x.affected), Some(254));
    assert_eq!(
        p.evidence.len(),
        EXAMPLES_SHOWN,
        "examples only, by default"
    );
}

fn previous_with(problems: &[(&str, u64, ProblemStatus)], interactions: u64) -> PreviousReport {
    PreviousReport {
        interactions,
        accuracy: Accuracy::new(0, 0),
        basis: Basis::None,
        problems: problems
            .iter()
            .map(|(key, affected, status)| PreviousProblem {
                key: (*key).into(),
                title: format!("title of {key}"),
                description: String::new(),
                severity: Severity::High,
                status: *status,
                affected: *affected,
                facets: vec![(*key).into()],
            })
            .collect(),
    }
}

#[test]
fn resolved_means_the_share_fell_significantly_not_that_it_went_quiet() {
    let previous = previous_with(
        &[
            ("big/gone", 60, ProblemStatus::New),
            ("small/quiet", 8, ProblemStatus::Ongoing),
            ("old/resolved", 40, ProblemStatus::Resolved),
            ("quiet/before", 0, ProblemStatus::BelowThreshold),
            ("back/again", 30, ProblemStatus::Resolved),
        ],
        1200,
    );
    let now = vec![(
        "r".to_string(),
        findings(vec![pattern("back/again", ids("i", 0..25))], vec![]),
    )];
    let m = merge(&MergeInput {
        findings: &now,
        previous: Some(&previous),
        interactions: 1200,
        prompt: "",
        protected: &[],
        gate: Gate::default(),
        all_evidence: false,
    });
    let status = |k: &str| m.problems.iter().find(|p| p.key == k).map(|p| p.status);
    assert_eq!(status("back/again"), Some(ProblemStatus::Regressed));
    // 60 of 1,200 then; now at most 12 (1% of 1,200) could hide under the thresholds.
    assert_eq!(status("big/gone"), Some(ProblemStatus::Resolved));
    // 8 of 1,200 then: not reporting it now proves nothing.
    assert_eq!(status("small/quiet"), Some(ProblemStatus::BelowThreshold));
    assert_eq!(
        status("old/resolved"),
        None,
        "resolved before and still gone: not news"
    );
    assert_eq!(m.problems[0].key, "back/again", "open problems first");
}

#[test]
fn only_specific_supported_confident_edits_are_ready_and_they_make_one_prompt() {
    let prompt = "You are the help desk. Replacement laptops ship within 5 business days.";
    let f = vec![
        (
            "tool-failures".into(),
            findings(
                vec![
                    pattern("tool-failures/reset/invalid_argument", ids("a", 0..50)),
                    pattern("tool-failures/rare/timeout", ids("r", 0..4)),
                ],
                vec![
                    append(
                        "When you call `reset`, pass `employee_id` as E and five digits.",
                        "tool-failures/reset/invalid_argument",
                        0.8,
                    ),
                    append(
                        "When `rare` fails, say so; never state a result no tool returned.",
                        "tool-failures/rare/timeout",
                        0.8,
                    ),
                ],
            ),
        ),
        (
            "corrections".into(),
            findings(
                vec![
                    pattern("corrections/contradicted", ids("c", 0..40)),
                    pattern("corrections/repeated-question", ids("q", 0..30)),
                ],
                vec![
                    append(
                        "The prompt says \"Replacement laptops ship within 5 business days.\" Use exactly this figure.",
                        "corrections/contradicted",
                        0.7,
                    ),
                    append(
                        "Be more careful with your answers.",
                        "corrections/repeated-question",
                        0.9,
                    ),
                    append(
                        "Check the `reset` result twice.",
                        "corrections/contradicted",
                        0.3,
                    ),
                ],
            ),
        ),
    ];
    let m = run(&f, 1000, prompt);
    let by_text = |needle: &str| {
        m.suggestions
            .iter()
            .find(|s| matches!(&s.edit, Edit::AppendInstruction { text } if text.contains(needle)))
            .unwrap_or_else(|| panic!("a suggestion with {needle:?}"))
    };
    let reset = by_text("`employee_id`");
    let figure = by_text("Use exactly this figure");
    let vague = by_text("more careful");
    let rare = by_text("`rare`");
    let unsure = by_text("twice");
    assert_eq!(reset.status, SuggestionStatus::Ready);
    assert_eq!(figure.status, SuggestionStatus::Ready, "{:?}", figure.note);
    assert_eq!(vague.status, SuggestionStatus::NeedsReview);
    assert!(
        vague
            .note
            .as_deref()
            .unwrap_or("")
            .contains("names no tool")
    );
    assert_eq!(rare.status, SuggestionStatus::NeedsReview);
    assert!(
        rare.note
            .as_deref()
            .unwrap_or("")
            .contains("affects 4 interactions, fewer than 10"),
        "{:?}",
        rare.note
    );
    assert_eq!(unsure.status, SuggestionStatus::NeedsReview);
    assert!(
        unsure
            .note
            .as_deref()
            .unwrap_or("")
            .contains("confidence 0.30")
    );

    // Each edit's new_prompt is the live prompt with it alone ...
    let alone = |s: &ReportSuggestion| s.new_prompt.clone().unwrap_or_default();
    assert!(
        alone(reset).contains("`employee_id`") && !alone(reset).contains("exactly this figure")
    );
    assert!(alone(vague).ends_with("Be more careful with your answers."));
    // ... and the candidate, and `apply`, hold exactly the ready ones.
    let ready: Vec<&str> = m
        .suggestions
        .iter()
        .filter(|s| s.status == SuggestionStatus::Ready)
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(m.apply.suggestions, ready);
    assert_eq!(
        m.apply.system_prompt.as_deref(),
        Some(m.candidate_prompt.as_str())
    );
    assert!(m.candidate_prompt.starts_with(prompt));
    assert!(m.candidate_prompt.contains("`employee_id`"));
    assert!(m.candidate_prompt.contains("Use exactly this figure"));
    assert!(!m.candidate_prompt.contains("careful"));
}

#[test]
fn a_problem_gets_two_edits_at_most_and_the_prompt_grows_within_the_cap() {
    let many: Vec<Suggestion> = (0..5)
        .map(|i| {
            append(
                &format!(
                    "When you call `tool_{i}`, {}.",
                    "check its arguments ".repeat(15)
                ),
                "tool-failures/t/invalid_argument",
                0.9 - i as f32 * 0.1,
            )
        })
        .collect();
    let f = vec![(
        "tool-failures".into(),
        findings(
            vec![pattern(
                "tool-failures/t/invalid_argument",
                ids("a", 0..100),
            )],
            many,
        ),
    )];
    let m = run(&f, 1000, "P");
    assert_eq!(m.suggestions.len(), 2, "the two most confident");
    assert_eq!(m.suggestions_left_out, 3);
    assert!(
        m.suggestions
            .iter()
            .all(|s| s.status == SuggestionStatus::Ready)
    );

    let tight = merge(&MergeInput {
        findings: &f,
        previous: None,
        interactions: 1000,
        prompt: "P",
        protected: &[],
        gate: Gate {
            max_prompt_growth: 500,
            ..Gate::default()
        },
        all_evidence: false,
    });
    assert_eq!(tight.suggestions[0].status, SuggestionStatus::Ready);
    assert_eq!(tight.suggestions[1].status, SuggestionStatus::NeedsReview);
    assert!(
        tight.suggestions[1]
            .note
            .as_deref()
            .unwrap_or("")
            .contains("over the cap of 500")
    );
    assert_eq!(tight.apply.suggestions, vec!["sug_1"]);
}

#[test]
fn conflicting_edits_are_flagged_not_combined() {
    let replace = |by: &str| Suggestion {
        edit: Edit::ReplaceText {
            find: "30 days".into(),
            replacement: by.into(),
        },
        rationale: "because".into(),
        confidence: 0.9,
        addresses: vec!["k/a".into()],
    };
    let f = vec![(
        "r".into(),
        findings(
            vec![pattern("k/a", ids("a", 0..50))],
            vec![replace("14 days"), replace("one month")],
        ),
    )];
    let m = run(&f, 100, "Returns within 30 days.");
    assert!(
        m.suggestions
            .iter()
            .all(|s| s.status == SuggestionStatus::Conflict)
    );
    assert_eq!(m.candidate_prompt, "Returns within 30 days.");
    assert_eq!(m.apply.system_prompt, None, "nothing to apply");
}

#[test]
fn protected_sections_survive_every_edit() {
    let prompt = "Be helpful.\n## Safety\nNever share card numbers.";
    let f = vec![(
        "r".into(),
        findings(
            vec![pattern("k/a", ids("a", 0..50))],
            vec![
                Suggestion {
                    edit: Edit::ReplaceText {
                        find: "## Safety\nNever share card numbers.".into(),
                        replacement: "".into(),
                    },
                    rationale: "because".into(),
                    confidence: 0.9,
                    addresses: vec!["k/a".into()],
                },
                append("When you call `lookup`, be kind.", "k/a", 0.8),
            ],
        ),
    )];
    let m = merge(&MergeInput {
        findings: &f,
        previous: None,
        interactions: 100,
        prompt,
        protected: &["## Safety\nNever share card numbers.".into()],
        gate: Gate::default(),
        all_evidence: false,
    });
    let cut = m
        .suggestions
        .iter()
        .find(|s| matches!(s.edit, Edit::ReplaceText { .. }))
        .expect("present");
    assert_eq!(cut.status, SuggestionStatus::Rejected);
    assert!(cut.note.as_deref().unwrap_or("").contains("protected"));
    assert_eq!(
        m.candidate_prompt,
        format!("{prompt}\n\nWhen you call `lookup`, be kind.")
    );
}

#[test]
fn specific_means_a_name_in_backticks_or_a_sentence_of_the_prompt() {
    let prompt = "Returns are accepted within 14 days of delivery.";
    let text = |t: &str| Edit::AppendInstruction { text: t.into() };
    assert!(is_specific(&text("Pass `order_id` as digits."), prompt));
    assert!(is_specific(
        &text("The prompt says \"Returns are accepted within 14 days of delivery.\" Say so."),
        prompt
    ));
    assert!(!is_specific(
        &text("Say \"Returns are easy\" always."),
        prompt
    ));
    assert!(!is_specific(&text("Double-check your answers."), prompt));
    assert!(!is_specific(&text("Use `` carefully."), prompt));
}

/// An agent that repeats failing calls, on two tools: one tool fails only
/// in those loops; the other also fails, handled well, for users asking
/// about what is not theirs. Three rules see it.
fn a_retry_habit_and_the_failures_it_shows_on() -> Vec<(String, Findings)> {
    let loops = ids("r", 0..68);
    // The second tool fails in 29 of the loops and in 17 handled conversations.
    let mut denied = ids("r", 0..29);
    denied.extend(ids("h", 0..17));
    let ordering = ids("r", 50..68);
    vec![
        (
            "tool-failures".into(),
            findings(
                vec![
                    pattern("tool-failures/get_ticket_status/permission_denied", denied),
                    pattern("tool-failures/order_hardware/invalid_argument", ordering),
                ],
                Vec::new(),
            ),
        ),
        (
            "retry-loops".into(),
            findings(
                vec![pattern("retry-loops/loops/any-tool", loops)],
                Vec::new(),
            ),
        ),
    ]
}

#[test]
fn a_facet_only_partly_inside_a_problem_is_listed_but_its_other_interactions_are_not_counted() {
    let m = run(&a_retry_habit_and_the_failures_it_shows_on(), 2000, "P");
    assert_eq!(m.problems.len(), 1, "{:#?}", m.problems);
    let p = &m.problems[0];
    assert_eq!(p.affected, 68, "the handled failures are not the habit's");
    assert!(
        p.evidence.iter().all(|id| id.starts_with('r')),
        "{:?}",
        p.evidence
    );
    let denied = p
        .facets
        .iter()
        .find(|f| f.key == "tool-failures/get_ticket_status/permission_denied")
        .expect("listed as a facet");
    assert_eq!(denied.overlap, 0.6304);
    // The first rule's facets cover too little of it to name it: the habit does.
    assert_eq!(p.key, "retry-loops/loops/any-tool");
}

#[test]
fn a_facet_nearly_all_inside_adds_the_few_interactions_only_it_saw() {
    let mut rules = a_retry_habit_and_the_failures_it_shows_on();
    // Comments on 20 of the loops and on 3 conversations no rule saw otherwise.
    let mut commented = ids("r", 0..20);
    commented.extend(ids("c", 0..3));
    rules.push((
        "feedback-themes".into(),
        findings(
            vec![pattern("feedback-themes/again", commented)],
            Vec::new(),
        ),
    ));
    let m = run(&rules, 2000, "P");
    assert_eq!(m.problems.len(), 1, "{:#?}", m.problems);
    assert_eq!(
        m.problems[0].affected, 71,
        "20 of 23 inside: its 3 others count"
    );
}

#[test]
fn the_same_instruction_for_fewer_tools_is_folded_into_the_one_for_more() {
    let acted = ids("a", 0..40);
    let rules = vec![
        (
            "unconfirmed-actions".into(),
            findings(
                vec![pattern(
                    "unconfirmed-actions/unconfirmed/any-tool",
                    acted.clone(),
                )],
                vec![append(
                    "Before you call `cancel_reservation` or `refund`, say what you will do and \
                     ask the user to confirm; call it only after a clear yes.",
                    "unconfirmed-actions/unconfirmed/any-tool",
                    0.7,
                )],
            ),
        ),
        (
            "corrections".into(),
            findings(
                vec![pattern(
                    "corrections/unwanted-action/refund",
                    ids("a", 0..12),
                )],
                vec![
                    append(
                        "Before you call `refund`, say what you will do and ask the user to \
                         confirm; call it only after a clear yes.",
                        "corrections/unwanted-action/refund",
                        0.8,
                    ),
                    // Another instruction naming the same tool is no narrower copy.
                    append(
                        "When `refund` fails, tell the user.",
                        "corrections/unwanted-action/refund",
                        0.6,
                    ),
                ],
            ),
        ),
    ];
    let m = run(&rules, 1000, "P");
    assert_eq!(m.problems.len(), 1);
    let texts: Vec<String> = m
        .suggestions
        .iter()
        .map(|s| match &s.edit {
            Edit::AppendInstruction { text } => text.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts[0].starts_with("Before you call `cancel_reservation` or `refund`,"));
    assert_eq!(texts[1], "When `refund` fails, tell the user.");
    assert_eq!(
        m.suggestions[0].confidence, 0.8,
        "the best confidence is kept"
    );
    assert_eq!(
        m.suggestions[0].rules,
        ["unconfirmed-actions", "corrections"]
    );
}

#[test]
fn name_lists_are_one_placeholder_whatever_their_length() {
    let (a, names_a) = name_lists("Before you call `x`, ask.");
    let (b, names_b) = name_lists("Before you call `x`, `y` or `z`, ask.");
    assert_eq!(a, b);
    assert_eq!(a, "Before you call {}, ask.");
    assert_eq!(names_a, ["x"]);
    assert_eq!(names_b, ["x", "y", "z"]);
    // Two separate lists stay two placeholders.
    let (c, _) = name_lists("Call `a` with `b` only.");
    assert_eq!(c, "Call {} with {} only.");
}
