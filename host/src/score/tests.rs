//! Scoring as a rule author uses it: a report against the planted truth.

use super::*;
use crate::report::{Apply, Facet, ProblemStatus, ReportSuggestion};

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:03}")).collect()
}

fn problem(key: &str, evidence: Vec<String>) -> Problem {
    Problem {
        key: key.into(),
        title: format!("title of {key}"),
        description: String::new(),
        severity: crate::model::Severity::High,
        status: ProblemStatus::New,
        affected: evidence.len() as u64,
        share: 0.0,
        previous: None,
        evidence,
        facets: vec![Facet {
            key: key.into(),
            rule: "r".into(),
            title: String::new(),
            occurrences: 0,
            overlap: 1.0,
        }],
        suggestions: Vec::new(),
    }
}

fn report(problems: Vec<Problem>, ready_for: &[&str]) -> Report {
    let text = serde_json::json!({
        "schema": SCHEMA,
        "agent": {"id": "a", "name": "a", "config_version": "v1", "system_prompt": ""},
        "generated_at": "2026-11-30T00:00:00Z",
        "window": {"start": null, "end": null, "first_interaction_at": null,
                   "last_interaction_at": null, "interactions": 1000, "explicit_feedback": 0,
                   "inferred_feedback": 0, "unmatched_feedback": 0, "skipped_lines": 0},
        "summary": "",
        "problems": [],
        "suggestions": [],
        "candidate_prompt": "",
        "apply": {"system_prompt": null, "settings": {}, "suggestions": []},
        "metrics": {
            "accuracy": {"rated": 0, "non_negative": 0, "value": null, "ci95": null},
            "basis": "none", "accuracy_note": "",
            "explicit": {"accuracy": {"rated": 0, "non_negative": 0, "value": null, "ci95": null},
                         "rated_share": 0.0, "positive": 0, "negative": 0},
            "inferred": {"accuracy": {"rated": 0, "non_negative": 0, "value": null, "ci95": null},
                         "rated_share": 0.0, "positive": 0, "negative": 0},
            "previous_window": null, "by_config_version": [], "version_comparisons": [],
            "by_week": [], "rules": []},
        "rules": []
    });
    let mut r: Report = serde_json::from_value(text).expect("a valid report");
    r.suggestions = ready_for
        .iter()
        .enumerate()
        .map(|(i, key)| ReportSuggestion {
            id: format!("sug_{}", i + 1),
            action: "update_system_prompt".into(),
            edit: crate::model::Edit::AppendInstruction {
                text: "When you call `x`, do y.".into(),
            },
            status: SuggestionStatus::Ready,
            note: None,
            rationale: String::new(),
            confidence: 0.9,
            rules: vec!["r".into()],
            problem: Some((*key).into()),
            new_prompt: None,
        })
        .collect();
    r.apply = Apply::default();
    r.problems = problems;
    r
}

fn truth(planted: Vec<(&str, Vec<String>, Vec<String>)>) -> Truth {
    Truth {
        schema: TRUTH_SCHEMA.into(),
        dataset: "test".into(),
        interactions: 1000,
        problems: planted
            .into_iter()
            .map(|(id, interactions, traced)| Planted {
                id: id.into(),
                description: String::new(),
                interactions,
                traced,
            })
            .collect(),
    }
}

#[test]
fn a_report_that_finds_each_mistake_once_meets_the_targets() {
    // Mistake a: 100 planted, 90 traced; the problem holds the 90 and 5 others.
    let mut found_a = ids("a", 0..90);
    found_a.extend(ids("n", 0..5));
    let r = report(
        vec![problem("k/a", found_a), problem("k/b", ids("b", 0..50))],
        &["k/a"],
    );
    let t = truth(vec![
        ("a", ids("a", 0..100), ids("a", 0..90)),
        ("b", ids("b", 0..60), ids("b", 0..50)),
        ("silent", ids("s", 0..10), Vec::new()),
    ]);
    let s = score(&r, &t);
    assert!(s.passed, "{:#?}", s.misses);
    let a = &s.planted[0];
    assert_eq!(a.matched.as_deref(), Some("k/a"));
    assert_eq!(a.precision, Some(0.9474), "90 of 95");
    assert_eq!(a.recall, Some(1.0));
    assert_eq!(a.recall_all, Some(0.9));
    assert_eq!(
        s.planted[2].matched, None,
        "a silent mistake leaves nothing to find"
    );
    assert!(s.unplanted.is_empty());
    assert!(s.to_text().contains("every target met"));
}

#[test]
fn split_mistakes_noise_with_ready_edits_and_low_precision_are_named() {
    let r = report(
        vec![
            problem("k/a1", ids("a", 0..60)),
            problem("k/a2", ids("a", 60..100)),
            problem("k/noise", ids("n", 0..30)),
            problem("k/noise2", ids("m", 0..30)),
            problem("k/b", [ids("b", 0..50), ids("z", 0..50)].concat()),
        ],
        &["k/noise"],
    );
    let t = truth(vec![
        ("a", ids("a", 0..100), ids("a", 0..100)),
        ("b", ids("b", 0..50), ids("b", 0..50)),
    ]);
    let s = score(&r, &t);
    assert!(!s.passed);
    assert_eq!(s.planted[0].split_into, vec!["k/a2"]);
    let text = s.misses.join("\n");
    assert!(text.contains("a: reported as 2 problems"), "{text}");
    assert!(text.contains("b: precision 0.50 < 0.9"), "{text}");
    assert!(text.contains("2 unplanted problems (at most 1)"), "{text}");
    assert!(
        text.contains("unplanted problem k/noise has ready edits (sug_1)"),
        "{text}"
    );
}

#[test]
fn a_report_with_only_examples_of_its_evidence_is_refused_with_the_fix() {
    let mut p = problem("k/a", ids("a", 0..20));
    p.affected = 251;
    let r = report(vec![p], &[]);
    let text = serde_json::to_string(&r).expect("serialises");
    let err = read_report("r.json", &text)
        .expect_err("partial evidence")
        .to_string();
    assert!(err.contains("k/a (20 of 251)"), "{err}");
    assert!(err.contains("--evidence all"), "{err}");
}

#[test]
fn a_truth_file_with_a_stray_traced_id_is_refused() {
    let text = serde_json::json!({
        "schema": TRUTH_SCHEMA, "dataset": "d", "interactions": 3,
        "problems": [{"id": "p", "description": "", "interactions": ["a"], "traced": ["b"]}]
    })
    .to_string();
    let err = read_truth("t.json", &text).expect_err("stray").to_string();
    assert!(
        err.contains("traced interaction \"b\" is not among its interactions"),
        "{err}"
    );
}
