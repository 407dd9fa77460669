//! From the rules' findings to problems and suggestions a team acts on
//! (DESIGN §3.5): one problem per root cause, at most two edits each, and a
//! gate that says which edits are ready.
//!
//! **Problems.** Each rule reports patterns with their evidence: every
//! interaction that shows it (the host keeps [`MAX_EVIDENCE`] per pattern).
//! Patterns with the same key are one facet. Facets are then taken largest
//! first, and a facet joins the problem that already holds the largest part of
//! its evidence when that part is more than [`MERGE_CONTAINMENT`] of the facet
//! (and at least [`MIN_SHARED`] interactions); otherwise it starts a problem of
//! its own. Containment rather than Jaccard, because one root cause is seen by
//! rules at different depths (every failing call, only the users who complained
//! about it); and a facet joins one problem at most, so no facet can chain two
//! root causes together. A problem hurts the union of the facets that lie at
//! least [`EXTEND_CONTAINMENT`] inside it (the first always does); a facet that
//! joined only partly is listed with its overlap, but the rest of its
//! interactions have other causes too and are not counted. Problems are
//! ranked by what they hurt.
//!
//! **Keys.** A problem's key is the key of its facet, among those it counts
//! that cover at least half of its interactions, from the first rule in the
//! configuration's order (the built-in order puts the rules with structural
//! keys, tool and error class or correction kind, before themes of comments),
//! the largest such facet if it has several. So it names what the problem is,
//! and stays the same while the words of comments shift.
//!
//! **Against the previous report.** A problem matches the previous problem that
//! shares its key or most of its facet keys. Matched: `ongoing` (or
//! `regressed` if it was resolved). A previous problem not reported now is
//! `resolved` only if its share of interactions fell significantly (a one-sided
//! two-proportion z-test at 5%), taking the count now to be as large as a rule
//! could leave unreported ([`assumed_unreported`]); otherwise `below_threshold`,
//! listed in that one report and then dropped.
//!
//! **Suggestions.** Identical edits are one, and so are one instruction for
//! fewer tools and the same for more (the wider kept). Each goes to the first problem it
//! addresses; a problem keeps its best two (specific first, then by
//! confidence); the others are counted as left out. A suggestion is *ready*
//! when it passes the gate ([`Gate`]): its problem affects at least
//! `min_support` interactions, its confidence is at least `min_confidence`, it
//! edits the prompt or a setting, its edit names something specific (a
//! `backticked` tool, field or setting, or a "quoted" sentence of the live
//! prompt; a `replace_text` or setting names its target by construction), it
//! conflicts with no other suggestion, it applies, and it keeps the prompt's
//! growth in this report within `max_prompt_growth` characters. Otherwise it
//! *needs review*, and its note says which test it failed. Each prompt edit's
//! `new_prompt` is the live prompt with that edit alone; `candidate_prompt` and
//! `apply` hold every ready edit, so a receiver makes one new version.
//!
//! It must not know the sandbox or the store: it takes findings and gives
//! problems and suggestions.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::domain::findings::MAX_EVIDENCE;
pub use crate::gate::Gate;
use crate::metrics;
use crate::model::{Edit, Findings, Severity};
use crate::report::{
    Apply, EXAMPLES_SHOWN, Facet, PreviousFigures, PreviousReport, Problem, ProblemStatus,
    ReportSuggestion, SuggestionStatus,
};

/// A facet joins a problem that holds more than this share of its evidence.
pub const MERGE_CONTAINMENT: f64 = 0.5;
/// ... and adds its other interactions to the problem's only when the problem
/// holds at least this share of it.
pub const EXTEND_CONTAINMENT: f64 = 0.8;
/// ... and at least this many of its interactions.
pub const MIN_SHARED: usize = 3;
/// Edits a problem keeps.
pub const EDITS_PER_PROBLEM: usize = 2;

/// Everything the merge needs.
pub struct MergeInput<'a> {
    /// One entry per rule that finished, in the configuration's order.
    pub findings: &'a [(String, Findings)],
    pub previous: Option<&'a PreviousReport>,
    /// Interactions in the window.
    pub interactions: u64,
    /// The live system prompt.
    pub prompt: &'a str,
    pub protected: &'a [String],
    pub gate: Gate,
    /// Keep every evidence id in the report, not the first [`EXAMPLES_SHOWN`].
    pub all_evidence: bool,
}

/// What the merge produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub problems: Vec<Problem>,
    pub suggestions: Vec<ReportSuggestion>,
    pub suggestions_left_out: u64,
    pub candidate_prompt: String,
    pub apply: Apply,
}

pub fn merge(input: &MergeInput<'_>) -> Merged {
    let facets = facets(input.findings);
    let mut problems = group(&facets, input.interactions, input.all_evidence);
    if let Some(previous) = input.previous {
        compare_with_previous(&mut problems, previous, input.interactions);
    }
    let (suggestions, left_out) = pick_suggestions(input.findings, &problems, input.prompt);
    let (suggestions, candidate_prompt, apply) = gate(suggestions, &problems, input);
    link(&mut problems, &suggestions);
    Merged {
        problems,
        suggestions,
        suggestions_left_out: left_out,
        candidate_prompt,
        apply,
    }
}

/// One key's patterns from every rule that reported it. Evidence is borrowed
/// from the findings: it is thousands of ids per pattern.
struct FacetIn<'a> {
    key: &'a str,
    /// Position of the first rule that reported it, in the configuration.
    rule_index: usize,
    rule: &'a str,
    title: &'a str,
    description: &'a str,
    severity: Severity,
    occurrences: u64,
    /// Evidence in the order the rules gave it, without repeats.
    evidence: Vec<&'a str>,
}

fn facets(findings: &[(String, Findings)]) -> Vec<FacetIn<'_>> {
    let mut by_key: BTreeMap<&str, (FacetIn<'_>, u64, HashSet<&str>)> = BTreeMap::new();
    for (rule_index, (rule, f)) in findings.iter().enumerate() {
        for p in &f.patterns {
            let occurrences = u64::from(p.occurrences);
            let (facet, best, seen) = by_key.entry(p.key.as_str()).or_insert_with(|| {
                (
                    FacetIn {
                        key: &p.key,
                        rule_index,
                        rule,
                        title: &p.title,
                        description: &p.description,
                        severity: p.severity,
                        occurrences: 0,
                        evidence: Vec::new(),
                    },
                    occurrences,
                    HashSet::new(),
                )
            });
            // Described by the rule that saw it most.
            if occurrences > *best {
                facet.title = &p.title;
                facet.description = &p.description;
                *best = occurrences;
            }
            facet.severity = facet.severity.max(p.severity);
            facet.occurrences = facet.occurrences.max(occurrences);
            for id in &p.evidence {
                if facet.evidence.len() < MAX_EVIDENCE && seen.insert(id.as_str()) {
                    facet.evidence.push(id.as_str());
                }
            }
        }
    }
    by_key
        .into_values()
        .map(|(mut f, _, _)| {
            f.occurrences = f.occurrences.max(f.evidence.len() as u64);
            f
        })
        .collect()
}

/// A problem while facets join it.
struct Building<'a> {
    /// Facet indices with the share of each one's evidence already in the problem when it joined.
    facets: Vec<(usize, f64)>,
    members: HashSet<&'a str>,
    /// Members in the order they came, for the examples.
    order: Vec<&'a str>,
}

fn group(facets: &[FacetIn<'_>], interactions: u64, all_evidence: bool) -> Vec<Problem> {
    let mut order: Vec<usize> = (0..facets.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (&facets[a], &facets[b]);
        fb.evidence
            .len()
            .cmp(&fa.evidence.len())
            .then(fa.rule_index.cmp(&fb.rule_index))
            .then(fa.key.cmp(fb.key))
    });
    let mut building: Vec<Building<'_>> = Vec::new();
    for index in order {
        let facet = &facets[index];
        let best = building
            .iter()
            .enumerate()
            .map(|(at, p)| {
                let shared = facet
                    .evidence
                    .iter()
                    .filter(|id| p.members.contains(*id))
                    .count();
                (at, shared)
            })
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        let containment = |shared: usize| shared as f64 / facet.evidence.len().max(1) as f64;
        let join = best
            .filter(|&(_, shared)| shared >= MIN_SHARED && containment(shared) > MERGE_CONTAINMENT);
        let (target, overlap) = match join {
            Some((at, shared)) => (at, containment(shared)),
            None => {
                building.push(Building {
                    facets: Vec::new(),
                    members: HashSet::new(),
                    order: Vec::new(),
                });
                (building.len() - 1, 1.0)
            }
        };
        let p = &mut building[target];
        p.facets.push((index, round(overlap)));
        // A facet nearly all inside the problem is another view of its cause,
        // and the few interactions only it saw are likely the same cause. One
        // only mostly inside has other causes too (users objecting to several
        // kinds of unasked action; a tool failing for the agent's retries and
        // for reasons that are no mistake): it is listed, but its interactions
        // outside the problem are not counted as the problem's.
        if round(overlap) >= EXTEND_CONTAINMENT {
            for id in &facet.evidence {
                if p.members.insert(id) {
                    p.order.push(id);
                }
            }
        }
    }

    let mut problems: Vec<Problem> = building
        .into_iter()
        .map(|b| {
            // Named by a facet that makes up its interactions: one that joined
            // only partly, or covers less than half of them (a tool's failures
            // within the agent's habit of retrying), does not name it.
            let members = b.members.len();
            let named = b
                .facets
                .iter()
                .filter(|&&(i, overlap)| {
                    overlap >= EXTEND_CONTAINMENT && facets[i].evidence.len() * 2 >= members
                })
                .map(|&(i, _)| i)
                .min_by(|&x, &y| {
                    let (fx, fy) = (&facets[x], &facets[y]);
                    fx.rule_index
                        .cmp(&fy.rule_index)
                        .then(fy.evidence.len().cmp(&fx.evidence.len()))
                        .then(fx.key.cmp(fy.key))
                })
                .unwrap_or(b.facets[0].0);
            let key_facet = &facets[named];
            let affected = b
                .facets
                .iter()
                .filter(|&&(_, overlap)| overlap >= EXTEND_CONTAINMENT)
                .map(|&(i, _)| facets[i].occurrences)
                .max()
                .unwrap_or(0)
                .max(b.members.len() as u64);
            // Examples: the naming facet's first, then the others'.
            let mut evidence: Vec<String> = Vec::new();
            let mut shown: HashSet<&str> = HashSet::new();
            let limit = if all_evidence {
                usize::MAX
            } else {
                EXAMPLES_SHOWN
            };
            for id in key_facet
                .evidence
                .iter()
                .copied()
                .chain(b.order.iter().copied())
            {
                if evidence.len() >= limit {
                    break;
                }
                if shown.insert(id) {
                    evidence.push(id.to_string());
                }
            }
            Problem {
                key: key_facet.key.to_string(),
                title: key_facet.title.to_string(),
                description: key_facet.description.to_string(),
                severity: b
                    .facets
                    .iter()
                    .map(|&(i, _)| facets[i].severity)
                    .max()
                    .unwrap_or(Severity::Low),
                status: ProblemStatus::New,
                affected,
                share: share(affected, interactions),
                previous: None,
                evidence,
                facets: b
                    .facets
                    .iter()
                    .map(|&(i, overlap)| Facet {
                        key: facets[i].key.to_string(),
                        rule: facets[i].rule.to_string(),
                        title: facets[i].title.to_string(),
                        occurrences: facets[i].occurrences,
                        overlap,
                    })
                    .collect(),
                suggestions: Vec::new(),
            }
        })
        .collect();
    rank(&mut problems);
    problems
}

fn rank(problems: &mut [Problem]) {
    problems.sort_by(|a, b| {
        let gone = |p: &Problem| {
            matches!(
                p.status,
                ProblemStatus::Resolved | ProblemStatus::BelowThreshold
            )
        };
        gone(a)
            .cmp(&gone(b))
            .then(b.affected.cmp(&a.affected))
            .then(b.severity.cmp(&a.severity))
            .then(a.key.cmp(&b.key))
    });
}

/// `part / whole` to four decimals, as reports give shares; 0 of nothing is 0.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round(part as f64 / whole as f64)
    }
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The most interactions a problem may still affect when no rule reported it:
/// at their default settings the built-in rules report every pattern seen in
/// 5 interactions and 1% of the window (their floors: 3 interactions and 0.1%
/// for tool failures, 3 interactions for corrections, 5 comments and 1% of the
/// negative ones for themes), so an unreported problem is below that, and may
/// be just below it.
pub fn assumed_unreported(interactions: u64) -> u64 {
    (interactions.div_ceil(100)).max(5)
}

fn compare_with_previous(problems: &mut Vec<Problem>, previous: &PreviousReport, now: u64) {
    let mut taken = vec![false; previous.problems.len()];
    for p in problems.iter_mut() {
        let keys: HashSet<&str> = std::iter::once(p.key.as_str())
            .chain(p.facets.iter().map(|f| f.key.as_str()))
            .collect();
        let best = previous
            .problems
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken[*i])
            .map(|(i, q)| {
                let theirs: HashSet<&str> = std::iter::once(q.key.as_str())
                    .chain(q.facets.iter().map(String::as_str))
                    .collect();
                let same_key = u8::from(q.key == p.key);
                (i, same_key, keys.intersection(&theirs).count())
            })
            .filter(|&(_, _, shared)| shared > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)).then(b.0.cmp(&a.0)));
        if let Some((i, _, _)) = best {
            taken[i] = true;
            let q = &previous.problems[i];
            let (_, p_value) =
                metrics::fell_significantly(q.affected, previous.interactions, p.affected, now);
            p.previous = Some(PreviousFigures {
                key: q.key.clone(),
                affected: q.affected,
                share: share(q.affected, previous.interactions),
                p_value,
            });
            p.status = if q.status == ProblemStatus::Resolved {
                ProblemStatus::Regressed
            } else {
                ProblemStatus::Ongoing
            };
        }
    }
    for (i, q) in previous.problems.iter().enumerate() {
        if taken[i]
            || matches!(
                q.status,
                ProblemStatus::Resolved | ProblemStatus::BelowThreshold
            )
        {
            // Absent again after being resolved, or after one report below the
            // thresholds: not news, and no longer listed.
            continue;
        }
        let (fell, p_value) = metrics::fell_significantly(
            q.affected,
            previous.interactions,
            assumed_unreported(now),
            now,
        );
        // Kept in the report so that a return next time is recognised as a regression.
        problems.push(Problem {
            key: q.key.clone(),
            title: q.title.clone(),
            description: q.description.clone(),
            severity: q.severity,
            status: if fell {
                ProblemStatus::Resolved
            } else {
                ProblemStatus::BelowThreshold
            },
            affected: 0,
            share: 0.0,
            previous: Some(PreviousFigures {
                key: q.key.clone(),
                affected: q.affected,
                share: share(q.affected, previous.interactions),
                p_value,
            }),
            evidence: Vec::new(),
            facets: q
                .facets
                .iter()
                .map(|k| Facet {
                    key: k.clone(),
                    rule: k.split('/').next().unwrap_or_default().to_string(),
                    title: String::new(),
                    occurrences: 0,
                    overlap: 0.0,
                })
                .collect(),
            suggestions: Vec::new(),
        });
    }
    rank(problems);
}

/// A suggestion while the merge decides on it, with the problem it belongs to.
struct Candidate {
    suggestion: ReportSuggestion,
    problem: Option<usize>,
    specific: bool,
}

/// Deduplicate, attach to problems, keep the best two per problem.
fn pick_suggestions(
    findings: &[(String, Findings)],
    problems: &[Problem],
    prompt: &str,
) -> (Vec<Candidate>, u64) {
    let problem_of: HashMap<&str, usize> = problems
        .iter()
        .enumerate()
        .filter(|(_, p)| p.affected > 0)
        .flat_map(|(i, p)| {
            std::iter::once((p.key.as_str(), i))
                .chain(p.facets.iter().map(move |f| (f.key.as_str(), i)))
        })
        .collect();
    let mut merged: Vec<Candidate> = Vec::new();
    for (rule, f) in findings {
        for s in &f.suggestions {
            if let Some(existing) = merged.iter_mut().find(|m| m.suggestion.edit == s.edit) {
                existing.suggestion.confidence = existing.suggestion.confidence.max(s.confidence);
                if !existing.suggestion.rules.contains(rule) {
                    existing.suggestion.rules.push(rule.clone());
                }
                continue;
            }
            let problem = s
                .addresses
                .iter()
                .filter_map(|k| problem_of.get(k.as_str()).copied())
                .min();
            merged.push(Candidate {
                suggestion: ReportSuggestion {
                    id: String::new(),
                    action: s.edit.action().to_string(),
                    edit: s.edit.clone(),
                    status: SuggestionStatus::Ready,
                    note: None,
                    rationale: s.rationale.clone(),
                    confidence: s.confidence,
                    rules: vec![rule.clone()],
                    problem: problem.map(|i| problems[i].key.clone()),
                    new_prompt: None,
                },
                problem,
                specific: is_specific(&s.edit, prompt),
            });
        }
    }
    fold_narrower(&mut merged);
    // Best first: by problem rank, then edits before flags, specific first, then confidence.
    merged.sort_by(|a, b| {
        let flag = |c: &Candidate| matches!(c.suggestion.edit, Edit::FlagForReview { .. });
        a.problem
            .unwrap_or(usize::MAX)
            .cmp(&b.problem.unwrap_or(usize::MAX))
            .then(flag(a).cmp(&flag(b)))
            .then(b.specific.cmp(&a.specific))
            .then(b.suggestion.confidence.total_cmp(&a.suggestion.confidence))
    });
    let mut kept: Vec<Candidate> = Vec::new();
    let mut per_problem: HashMap<usize, usize> = HashMap::new();
    let mut left_out = 0u64;
    for c in merged {
        if let Some(p) = c.problem {
            let n = per_problem.entry(p).or_default();
            if *n >= EDITS_PER_PROBLEM {
                left_out += 1;
                continue;
            }
            *n += 1;
        }
        kept.push(c);
    }
    (kept, left_out)
}

/// One instruction for fewer tools is part of the same instruction for more:
/// "Before you call `refund`, ..." from one rule and "Before you call
/// `cancel_reservation` or `refund`, ..." from another, for one problem, are
/// one edit. The narrower is folded into the wider (its rules and best
/// confidence kept), so a problem's two edits are never one said twice.
fn fold_narrower(merged: &mut Vec<Candidate>) {
    fn shape(c: &Candidate) -> Option<(String, Vec<&str>)> {
        match &c.suggestion.edit {
            Edit::AppendInstruction { text } => Some(name_lists(text)),
            _ => None,
        }
    }
    let mut i = 0;
    while i < merged.len() {
        let wider = shape(&merged[i]).and_then(|(template, names)| {
            merged.iter().enumerate().position(|(j, other)| {
                j != i
                    && other.problem == merged[i].problem
                    && shape(other).is_some_and(|(t, n)| {
                        t == template
                            && n.len() > names.len()
                            && names.iter().all(|x| n.contains(x))
                    })
            })
        });
        match wider {
            Some(j) => {
                let narrower = merged.remove(i);
                let j = if j > i { j - 1 } else { j };
                let kept = &mut merged[j].suggestion;
                kept.confidence = kept.confidence.max(narrower.suggestion.confidence);
                for rule in narrower.suggestion.rules {
                    if !kept.rules.contains(&rule) {
                        kept.rules.push(rule);
                    }
                }
            }
            None => i += 1,
        }
    }
}

/// An instruction's text with each list of `backticked` names ("`a`",
/// "`a` or `b`", "`a`, `b` and `c`") replaced by one placeholder, and the
/// names.
fn name_lists(text: &str) -> (String, Vec<&str>) {
    const JOINERS: &[&str] = &[" or ", ", ", " and ", ", or ", ", and "];
    let mut template = String::new();
    let mut names = Vec::new();
    let mut rest = text;
    let mut in_list = false;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        let before = &rest[..open];
        if !(in_list && JOINERS.contains(&before)) {
            template.push_str(before);
            template.push_str("{}");
        }
        names.push(&rest[open + 1..open + 1 + len]);
        rest = &rest[open + len + 2..];
        in_list = true;
    }
    template.push_str(rest);
    (template, names)
}

/// Whether an edit names something specific: a `backticked` name, or a
/// "quoted" sentence (12 characters or more) of the live prompt. Replacing
/// prompt text and setting a setting name their target by construction.
pub fn is_specific(edit: &Edit, prompt: &str) -> bool {
    match edit {
        Edit::ReplaceText { .. } | Edit::SetSetting { .. } => true,
        Edit::SetSystemPrompt { .. } | Edit::FlagForReview { .. } => false,
        Edit::AppendInstruction { text } => {
            spans(text, '`').any(|s| !s.trim().is_empty())
                || spans(text, '"')
                    .chain(spans(text, '“'))
                    .any(|s| s.trim().chars().count() >= 12 && prompt.contains(s.trim()))
        }
    }
}

/// The texts between pairs of `quote` (for `“` the closing mark is `”`).
fn spans(text: &str, quote: char) -> impl Iterator<Item = &str> {
    let close = if quote == '“' { '”' } else { quote };
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find(quote)? + quote.len_utf8();
        let after = &rest[start..];
        let end = after.find(close)?;
        let span = &after[..end];
        rest = &after[end + close.len_utf8()..];
        Some(span)
    })
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

/// `prompt` with `edit` applied, or why it cannot be.
fn apply_edit(prompt: &str, edit: &Edit, protected: &[String]) -> Result<String, String> {
    let next = match edit {
        Edit::AppendInstruction { text } => {
            let base = prompt.trim_end();
            if base.is_empty() {
                text.trim().to_string()
            } else {
                format!("{base}\n\n{}", text.trim())
            }
        }
        Edit::ReplaceText { find, replacement } => {
            if find.is_empty() || !prompt.contains(find.as_str()) {
                return Err("the text to replace is not in the system prompt".into());
            }
            prompt.replace(find.as_str(), replacement)
        }
        Edit::SetSystemPrompt { prompt } => prompt.clone(),
        Edit::SetSetting { .. } | Edit::FlagForReview { .. } => return Ok(prompt.to_string()),
    };
    if let Some(section) = protected
        .iter()
        .find(|p| prompt.contains(p.as_str()) && !next.contains(p.as_str()))
    {
        return Err(format!(
            "it would remove or rewrite a protected section: {:?}",
            crate::domain::findings::truncate(section, 80)
        ));
    }
    Ok(next)
}

fn is_prompt_edit(edit: &Edit) -> bool {
    matches!(edit.action(), "update_system_prompt")
}

fn gate(
    mut candidates: Vec<Candidate>,
    problems: &[Problem],
    input: &MergeInput<'_>,
) -> (Vec<ReportSuggestion>, String, Apply) {
    let prompt = input.prompt;
    let gate = input.gate;

    // Conflicts: different edits of one target.
    let mut targets: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        if let Some(t) = target(&c.suggestion.edit) {
            targets.entry(t).or_default().push(i);
        }
    }
    for (t, ids) in &targets {
        if ids.len() > 1 {
            for &i in ids {
                let s = &mut candidates[i].suggestion;
                s.status = SuggestionStatus::Conflict;
                s.note = Some(format!(
                    "{} suggestions edit the same {} differently: choose one",
                    ids.len(),
                    t.split(':').next().unwrap_or("target")
                ));
            }
        }
    }

    // Each edit on its own: does it apply, and does it pass the gate?
    for c in &mut candidates {
        let s = &mut c.suggestion;
        if s.status == SuggestionStatus::Conflict {
            continue;
        }
        if is_prompt_edit(&s.edit) {
            match apply_edit(prompt, &s.edit, input.protected) {
                Ok(alone) => s.new_prompt = Some(alone),
                Err(why) => {
                    s.status = SuggestionStatus::Rejected;
                    s.note = Some(why);
                    continue;
                }
            }
        }
        let mut failed: Vec<String> = Vec::new();
        if matches!(s.edit, Edit::FlagForReview { .. }) {
            failed.push("it asks a person to look".into());
        }
        if matches!(s.edit, Edit::SetSystemPrompt { .. }) {
            failed.push("it replaces the whole prompt".into());
        }
        let support = c.problem.map_or(0, |p| problems[p].affected);
        match c.problem {
            None => failed.push("it addresses no reported problem".into()),
            Some(_) if support < gate.min_support => failed.push(format!(
                "its problem affects {support} interaction{}, fewer than {}",
                if support == 1 { "" } else { "s" },
                gate.min_support
            )),
            Some(_) => {}
        }
        if s.confidence < gate.min_confidence {
            failed.push(format!(
                "confidence {:.2} is below {:.2}",
                s.confidence, gate.min_confidence
            ));
        }
        if !c.specific
            && !matches!(
                s.edit,
                Edit::FlagForReview { .. } | Edit::SetSystemPrompt { .. }
            )
        {
            failed.push(
                "it names no tool, field or setting in backticks and quotes no sentence of the prompt"
                    .into(),
            );
        }
        if !failed.is_empty() {
            s.status = SuggestionStatus::NeedsReview;
            s.note = Some(format!("needs review: {}", failed.join("; ")));
        }
    }

    // Compose every ready edit, in order, within the growth cap.
    let mut candidate = prompt.to_string();
    let mut apply = Apply::default();
    let mut applied_prompt_edit = false;
    let base_len = prompt.chars().count();
    let mut suggestions: Vec<ReportSuggestion> = Vec::new();
    for (i, c) in candidates.into_iter().enumerate() {
        let mut s = c.suggestion;
        s.id = format!("sug_{}", i + 1);
        if s.status == SuggestionStatus::Ready {
            match &s.edit {
                Edit::SetSetting { key, value } => {
                    apply.settings.insert(key.clone(), value.clone());
                    apply.suggestions.push(s.id.clone());
                }
                edit => match apply_edit(&candidate, edit, input.protected) {
                    Ok(next) => {
                        let growth = next.chars().count().saturating_sub(base_len);
                        if growth > gate.max_prompt_growth {
                            s.status = SuggestionStatus::NeedsReview;
                            s.note = Some(format!(
                                "needs review: with it, this report's ready edits would add {growth} characters to the prompt, over the cap of {}",
                                gate.max_prompt_growth
                            ));
                        } else {
                            candidate = next;
                            applied_prompt_edit = true;
                            apply.suggestions.push(s.id.clone());
                        }
                    }
                    Err(why) => {
                        s.status = SuggestionStatus::NeedsReview;
                        s.note = Some(format!(
                            "needs review: it does not apply after the ready edits before it ({why})"
                        ));
                    }
                },
            }
        }
        suggestions.push(s);
    }
    if applied_prompt_edit {
        apply.system_prompt = Some(candidate.clone());
    }
    (suggestions, candidate, apply)
}

/// Fill in each problem's suggestion ids (after the merge has numbered them).
fn link(problems: &mut [Problem], suggestions: &[ReportSuggestion]) {
    for p in problems.iter_mut() {
        p.suggestions = suggestions
            .iter()
            .filter(|s| s.problem.as_deref() == Some(p.key.as_str()))
            .map(|s| s.id.clone())
            .collect();
    }
}

#[cfg(test)]
mod tests;
