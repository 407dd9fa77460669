//! Merging the findings of every rule into one set of patterns and suggestions
//! (DESIGN §3.5), and composing the candidate prompt.
//!
//! - Patterns with the same key are one problem: evidence is unioned (at most
//!   [`MAX_EVIDENCE`] ids), occurrences are added, the highest severity wins, and
//!   the title and description come from the rule that saw it most. They are
//!   ranked by severity, then occurrences, then key, and matched against the
//!   previous report: new, ongoing, resolved (listed with 0 occurrences) or regressed.
//! - Identical suggestions are one suggestion. Two that edit the same text or
//!   setting differently are both marked `conflict` and neither is applied: a
//!   person decides. Prompt edits are applied in rank order; one whose text is not
//!   in the prompt, or that would remove or rewrite a protected section, is
//!   `rejected` with the reason.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Edit, Findings, Severity};
use crate::plugins::MAX_EVIDENCE;
use crate::report::{PatternStatus, ReportPattern, ReportSuggestion, SuggestionStatus};

/// What the merge produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub patterns: Vec<ReportPattern>,
    pub suggestions: Vec<ReportSuggestion>,
    pub candidate_prompt: String,
}

/// Merge `findings` (one entry per rule that finished, in rule order).
pub fn merge(
    findings: &[(String, Findings)],
    previous: Option<&[ReportPattern]>,
    prompt: &str,
    protected: &[String],
) -> Merged {
    let patterns = merge_patterns(findings, previous);
    let (suggestions, candidate_prompt) = merge_suggestions(findings, &patterns, prompt, protected);
    Merged {
        patterns,
        suggestions,
        candidate_prompt,
    }
}

fn merge_patterns(
    findings: &[(String, Findings)],
    previous: Option<&[ReportPattern]>,
) -> Vec<ReportPattern> {
    // key → (merged, occurrences of the rule that described it)
    let mut by_key: BTreeMap<String, (ReportPattern, u64)> = BTreeMap::new();
    for (rule, f) in findings {
        for p in &f.patterns {
            let occurrences = u64::from(p.occurrences);
            let entry = by_key.entry(p.key.clone()).or_insert_with(|| {
                (
                    ReportPattern {
                        key: p.key.clone(),
                        title: p.title.clone(),
                        description: p.description.clone(),
                        severity: p.severity,
                        status: PatternStatus::New,
                        occurrences: 0,
                        previous_occurrences: None,
                        evidence: Vec::new(),
                        rules: Vec::new(),
                    },
                    occurrences,
                )
            });
            let (merged, best) = entry;
            if occurrences > *best {
                merged.title = p.title.clone();
                merged.description = p.description.clone();
                *best = occurrences;
            }
            merged.severity = merged.severity.max(p.severity);
            merged.occurrences += occurrences;
            for id in &p.evidence {
                if merged.evidence.len() >= MAX_EVIDENCE {
                    break;
                }
                if !merged.evidence.contains(id) {
                    merged.evidence.push(id.clone());
                }
            }
            if !merged.rules.contains(rule) {
                merged.rules.push(rule.clone());
            }
        }
    }
    let mut patterns: Vec<ReportPattern> = by_key.into_values().map(|(p, _)| p).collect();

    if let Some(previous) = previous {
        let before: BTreeMap<&str, &ReportPattern> =
            previous.iter().map(|p| (p.key.as_str(), p)).collect();
        for p in &mut patterns {
            if let Some(old) = before.get(p.key.as_str()) {
                p.previous_occurrences = Some(old.occurrences);
                p.status = if old.status == PatternStatus::Resolved {
                    PatternStatus::Regressed
                } else {
                    PatternStatus::Ongoing
                };
            }
        }
        let now: BTreeSet<String> = patterns.iter().map(|p| p.key.clone()).collect();
        for old in previous {
            if !now.contains(&old.key) {
                // Kept in the report so a return next cycle is recognised as a regression.
                patterns.push(ReportPattern {
                    status: PatternStatus::Resolved,
                    previous_occurrences: Some(old.occurrences),
                    occurrences: 0,
                    evidence: Vec::new(),
                    ..old.clone()
                });
            }
        }
    }

    patterns.sort_by(|a, b| {
        let resolved = |p: &ReportPattern| p.status == PatternStatus::Resolved;
        resolved(a)
            .cmp(&resolved(b))
            .then(b.severity.cmp(&a.severity))
            .then(b.occurrences.cmp(&a.occurrences))
            .then(a.key.cmp(&b.key))
    });
    patterns
}

/// Where an edit applies, for conflict detection: two different edits of the
/// same target conflict.
fn target(edit: &Edit) -> Option<String> {
    match edit {
        Edit::ReplaceText { find, .. } => Some(format!("text:{find}")),
        Edit::SetSystemPrompt { .. } => Some("prompt".into()),
        Edit::SetSetting { key, .. } => Some(format!("setting:{key}")),
        Edit::AppendInstruction { .. } | Edit::FlagForReview { .. } => None,
    }
}

fn merge_suggestions(
    findings: &[(String, Findings)],
    patterns: &[ReportPattern],
    prompt: &str,
    protected: &[String],
) -> (Vec<ReportSuggestion>, String) {
    // Deduplicate identical edits, keeping the first seen and the highest confidence.
    let mut merged: Vec<ReportSuggestion> = Vec::new();
    for (rule, f) in findings {
        for s in &f.suggestions {
            if let Some(existing) = merged.iter_mut().find(|m| m.edit == s.edit) {
                existing.confidence = existing.confidence.max(s.confidence);
                if !existing.rules.contains(rule) {
                    existing.rules.push(rule.clone());
                }
                for a in &s.addresses {
                    if !existing.addresses.contains(a) {
                        existing.addresses.push(a.clone());
                    }
                }
                continue;
            }
            merged.push(ReportSuggestion {
                id: String::new(),
                action: s.edit.action().to_string(),
                edit: s.edit.clone(),
                status: SuggestionStatus::Accepted,
                note: None,
                rationale: s.rationale.clone(),
                confidence: s.confidence,
                rules: vec![rule.clone()],
                addresses: s.addresses.clone(),
                new_prompt: None,
            });
        }
    }

    // Rank: suggestions for higher-ranked patterns first, then by confidence.
    let rank = |s: &ReportSuggestion| {
        s.addresses
            .iter()
            .filter_map(|k| patterns.iter().position(|p| &p.key == k))
            .min()
            .unwrap_or(usize::MAX)
    };
    merged.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(b.confidence.total_cmp(&a.confidence))
    });

    // Conflicts: different edits of one target.
    let mut targets: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in merged.iter().enumerate() {
        if let Some(t) = target(&s.edit) {
            targets.entry(t).or_default().push(i);
        }
    }
    for (t, ids) in &targets {
        if ids.len() > 1 {
            for &i in ids {
                merged[i].status = SuggestionStatus::Conflict;
                merged[i].note = Some(format!(
                    "{} suggestions edit the same {} differently: choose one",
                    ids.len(),
                    t.split(':').next().unwrap_or("target")
                ));
            }
        }
    }

    // Compose the candidate prompt from the accepted prompt edits, in order.
    let mut current = prompt.to_string();
    for s in &mut merged {
        if s.status != SuggestionStatus::Accepted {
            continue;
        }
        let next = match &s.edit {
            Edit::FlagForReview { .. } => {
                s.status = SuggestionStatus::Review;
                continue;
            }
            Edit::SetSetting { .. } => continue,
            Edit::AppendInstruction { text } => {
                let base = current.trim_end();
                if base.is_empty() {
                    text.trim().to_string()
                } else {
                    format!("{base}\n\n{}", text.trim())
                }
            }
            Edit::ReplaceText { find, replacement } => {
                if find.is_empty() || !current.contains(find.as_str()) {
                    s.status = SuggestionStatus::Rejected;
                    s.note = Some("the text to replace is not in the system prompt".into());
                    continue;
                }
                current.replace(find.as_str(), replacement)
            }
            Edit::SetSystemPrompt { prompt } => prompt.clone(),
        };
        if let Some(section) = protected
            .iter()
            .find(|p| current.contains(p.as_str()) && !next.contains(p.as_str()))
        {
            s.status = SuggestionStatus::Rejected;
            s.note = Some(format!(
                "it would remove or rewrite a protected section: {:?}",
                crate::plugins::truncate(section, 80)
            ));
            continue;
        }
        current = next;
        s.new_prompt = Some(current.clone());
    }
    for (i, s) in merged.iter_mut().enumerate() {
        s.id = format!("sug_{}", i + 1);
    }
    (merged, current)
}

/// The severity a person would sort by, for summaries.
pub fn worst(patterns: &[ReportPattern]) -> Option<Severity> {
    patterns
        .iter()
        .filter(|p| p.status != PatternStatus::Resolved)
        .map(|p| p.severity)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pattern, Suggestion};

    fn pattern(key: &str, severity: Severity, occurrences: u32, evidence: &[&str]) -> Pattern {
        Pattern {
            key: key.into(),
            title: format!("title of {key}"),
            description: format!("{occurrences} times"),
            severity,
            occurrences,
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn suggestion(edit: Edit, addresses: &[&str]) -> Suggestion {
        Suggestion {
            edit,
            rationale: "because".into(),
            confidence: 0.5,
            addresses: addresses.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn append(text: &str) -> Edit {
        Edit::AppendInstruction { text: text.into() }
    }

    #[test]
    fn the_same_problem_from_two_rules_is_one_pattern() {
        let a = Findings {
            patterns: vec![pattern("x/a", Severity::Low, 3, &["i1", "i2"])],
            ..Default::default()
        };
        let b = Findings {
            patterns: vec![
                pattern("x/a", Severity::High, 5, &["i2", "i3"]),
                pattern("x/b", Severity::High, 9, &[]),
            ],
            ..Default::default()
        };
        let m = merge(&[("r1".into(), a), ("r2".into(), b)], None, "P", &[]);
        assert_eq!(m.patterns.len(), 2);
        // Same severity: more occurrences first.
        assert_eq!(m.patterns[0].key, "x/b");
        let xa = &m.patterns[1];
        assert_eq!(xa.occurrences, 8);
        assert_eq!(xa.severity, Severity::High);
        assert_eq!(xa.evidence, vec!["i1", "i2", "i3"]);
        assert_eq!(xa.rules, vec!["r1", "r2"]);
        assert_eq!(
            xa.description, "5 times",
            "described by the rule that saw it most"
        );
    }

    #[test]
    fn patterns_are_matched_against_the_previous_report() {
        let now = Findings {
            patterns: vec![
                pattern("kept", Severity::Low, 1, &[]),
                pattern("fresh", Severity::Low, 1, &[]),
                pattern("back", Severity::Low, 1, &[]),
            ],
            ..Default::default()
        };
        let first = merge(
            &[(
                "r".into(),
                Findings {
                    patterns: vec![
                        pattern("kept", Severity::Low, 4, &[]),
                        pattern("gone", Severity::Low, 2, &[]),
                        pattern("back", Severity::Low, 2, &[]),
                    ],
                    ..Default::default()
                },
            )],
            None,
            "",
            &[],
        );
        let mut previous = first.patterns.clone();
        for p in &mut previous {
            if p.key == "back" {
                p.status = PatternStatus::Resolved;
            }
        }
        let m = merge(&[("r".into(), now)], Some(&previous), "", &[]);
        let status = |k: &str| m.patterns.iter().find(|p| p.key == k).map(|p| p.status);
        assert_eq!(status("kept"), Some(PatternStatus::Ongoing));
        assert_eq!(status("fresh"), Some(PatternStatus::New));
        assert_eq!(status("back"), Some(PatternStatus::Regressed));
        assert_eq!(status("gone"), Some(PatternStatus::Resolved));
        assert_eq!(m.patterns.last().map(|p| p.key.as_str()), Some("gone"));
        let kept = m.patterns.iter().find(|p| p.key == "kept").expect("kept");
        assert_eq!(kept.previous_occurrences, Some(4));
    }

    #[test]
    fn accepted_edits_compose_and_each_carries_the_prompt_so_far() {
        let f = Findings {
            patterns: vec![pattern("p", Severity::High, 3, &[])],
            suggestions: vec![
                suggestion(append("Check refunds."), &["p"]),
                suggestion(append("Check refunds."), &["p"]),
                suggestion(
                    Edit::ReplaceText {
                        find: "30 days".into(),
                        replacement: "14 days".into(),
                    },
                    &["p"],
                ),
                suggestion(
                    Edit::FlagForReview {
                        note: "look".into(),
                    },
                    &["p"],
                ),
            ],
            ..Default::default()
        };
        let m = merge(&[("r".into(), f)], None, "Returns within 30 days.", &[]);
        assert_eq!(m.suggestions.len(), 3, "the duplicate is merged");
        assert_eq!(
            m.suggestions[0].new_prompt.as_deref(),
            Some("Returns within 30 days.\n\nCheck refunds.")
        );
        assert_eq!(
            m.suggestions[1].new_prompt.as_deref(),
            Some("Returns within 14 days.\n\nCheck refunds.")
        );
        assert_eq!(m.suggestions[2].status, SuggestionStatus::Review);
        assert_eq!(m.suggestions[2].new_prompt, None);
        assert_eq!(
            m.candidate_prompt,
            "Returns within 14 days.\n\nCheck refunds."
        );
        assert_eq!(m.suggestions[0].action, "update_system_prompt");
    }

    #[test]
    fn conflicting_edits_are_flagged_not_combined() {
        let f = Findings {
            suggestions: vec![
                suggestion(
                    Edit::ReplaceText {
                        find: "30 days".into(),
                        replacement: "14 days".into(),
                    },
                    &[],
                ),
                suggestion(
                    Edit::ReplaceText {
                        find: "30 days".into(),
                        replacement: "one month".into(),
                    },
                    &[],
                ),
            ],
            ..Default::default()
        };
        let m = merge(&[("r".into(), f)], None, "Returns within 30 days.", &[]);
        assert!(
            m.suggestions
                .iter()
                .all(|s| s.status == SuggestionStatus::Conflict)
        );
        assert_eq!(m.candidate_prompt, "Returns within 30 days.");
    }

    #[test]
    fn protected_sections_survive_every_edit() {
        let prompt = "Be helpful.\n## Safety\nNever share card numbers.";
        let f = Findings {
            suggestions: vec![
                suggestion(
                    Edit::SetSystemPrompt {
                        prompt: "Be brief.".into(),
                    },
                    &[],
                ),
                suggestion(append("Be kind."), &[]),
            ],
            ..Default::default()
        };
        let m = merge(
            &[("r".into(), f)],
            None,
            prompt,
            &["## Safety\nNever share card numbers.".into()],
        );
        let set = m
            .suggestions
            .iter()
            .find(|s| matches!(s.edit, Edit::SetSystemPrompt { .. }))
            .expect("present");
        assert_eq!(set.status, SuggestionStatus::Rejected);
        assert!(set.note.as_deref().unwrap_or("").contains("protected"));
        assert_eq!(m.candidate_prompt, format!("{prompt}\n\nBe kind."));
    }
}
