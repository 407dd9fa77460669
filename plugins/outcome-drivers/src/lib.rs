//! The `outcome-drivers` rule: which behaviours of the agent go with
//! negative feedback.
//!
//! In the `analyse` stage every rated interaction gets an outcome (negative
//! or not, see [`outcome`]) and a set of yes/no behaviours ([`behaviour`]):
//! each tool called, each (tool, error class) of a failed call, each retry
//! of a failed call, a hand-over to a person, a correction by the user, and
//! a long conversation. At the end, for each behaviour with support (at
//! least `min_support` rated interactions with it and as many without), a
//! 2×2 table of behaviour × outcome is tested with a one-sided Fisher's
//! exact test ([`stats`]), and the Benjamini–Hochberg procedure keeps the
//! false discovery rate over all behaviours tested at `fdr`. A behaviour
//! that passes and raises the odds of a negative rating at least
//! `min_odds_ratio` times (see [`stats::Table::odds_ratio`]) is a
//! pattern `outcome-drivers/<behaviour>`: its evidence is the unhappy
//! interactions that show it (rated negative, or a complaint a detect rule
//! inferred, such as a user objecting to a hand-over they did not rate), so
//! the host merges it into the problem
//! of the rule that explains those interactions, and its only suggestion is
//! a review flag of low confidence, since a correlation is not a cause.
//!
//! **Basis.** Explicit ratings decide outcomes when the window has at
//! least `min_rated` explicitly rated interactions; otherwise feedback
//! inferred by detect rules does, if it rates as many; otherwise the rule
//! reports nothing and its run log says why. Both are counted as the window
//! streams, and the basis is chosen at the end. On the inferred basis the
//! `corrected` behaviour is not tested: the corrections are then part of the
//! outcome itself.
//!
//! **Long conversations.** The threshold of user turns is a setting or, by
//! default, the window's upper quartile: interactions are counted by user
//! turns (up to [`settings::MAX_LONG_TURNS`]) with their outcome counters
//! and evidence, so the quartile is read, and the table built, at the end in
//! one pass.
//!
//! **Explained behaviours.** Calling a tool and that tool failing by timeout
//! are often one finding seen twice, and a tool called before most account
//! changes goes with every mistake made in them. A reported behaviour more
//! than [`NESTED_CONTAINMENT`] of whose negative interactions show narrower
//! reported behaviours (shown by fewer interactions; on a tie, of a more
//! specific family, see [`Behaviour::specificity`]) is dropped, and the run
//! log says which explain it. A user's correction explains the broad
//! families (a tool called, a long conversation) whatever its size.
//!
//! **Corrections.** On the explicit basis, the `corrected` behaviour is
//! tested like the others, but reported only as the metric `corrected_lift`
//! and a run log line: it is the union of the corrections rule's own
//! problems, so as a pattern it would belong to none of them and gather
//! their neighbours into a problem of its own. It explains other behaviours.
//!
//! Memory is bounded whatever the window: at most [`MAX_BEHAVIOURS`]
//! behaviours (the first seen), each with four counters per basis and its
//! evidence, [`settings::MAX_LONG_TURNS`] turn buckets, and
//! [`MAX_EVIDENCE_TOTAL`] evidence entries across all of them, each an index
//! into one list of interaction ids kept once.

pub mod behaviour;
/// The error classes of failed calls: the SDK's, which `tool-failures` uses too,
/// so `error/<tool>/<class>` names exactly its classes.
pub use reverie_rule_sdk::tool_errors as classify;
pub mod finding;
pub mod outcome;
pub mod settings;
pub mod stats;

use reverie_rule_sdk::finding::ratio;
use std::collections::BTreeMap;

use reverie_rule_sdk::actions::Detector;
use reverie_rule_sdk::log::line;
use reverie_rule_sdk::{
    Chunk, CycleContext, Findings, Inputs, Interaction, Metric, Rule, RuleInfo, Stage, log,
};

use behaviour::{Behaviour, Escalation};
use finding::{Tested, Window, p_value, percent};
use outcome::{Basis, Ratings};
use settings::{LongTurns, MAX_LONG_TURNS, MIN_AUTO_LONG_TURNS, Settings};
use stats::Table;

/// One line of the run log: a message and its figures.
pub use reverie_rule_sdk::log::Line as LogLine;

/// Interaction ids kept as evidence per pattern: all of them, up to this.
pub const MAX_EVIDENCE: usize = reverie_rule_sdk::MAX_EVIDENCE;
/// Evidence entries kept across all behaviours and both bases (4 bytes
/// each, plus each id once): a window with more negative interactions than
/// this keeps the first ones.
pub const MAX_EVIDENCE_TOTAL: usize = 500_000;
/// Distinct behaviours tracked (the first seen); further ones are counted in
/// the run log only.
pub const MAX_BEHAVIOURS: usize = 256;
/// A reported behaviour more than this share of whose negative interactions
/// show narrower reported behaviours (or a correction) is dropped: most of
/// its bad ratings are already explained. The host's own threshold for
/// merging a pattern into a problem, so that a dropped behaviour is one that
/// those findings, taken together, would have absorbed.
pub const NESTED_CONTAINMENT: f64 = 0.5;
/// Names of hand-over tools remembered to name them in the finding.
const MAX_ESCALATION_NAMES: usize = 5;
/// Names of inferring rules remembered for the run log and the description.
const MAX_SOURCES: usize = 8;
/// Behaviours listed one by one in the run log.
const LOG_BEHAVIOURS: usize = 12;

/// Negative and other rated interactions.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counts {
    negative: u64,
    other: u64,
}

impl Counts {
    fn add(&mut self, negative: bool) {
        if negative {
            self.negative += 1;
        } else {
            self.other += 1;
        }
    }

    fn rated(&self) -> u64 {
        self.negative + self.other
    }
}

/// One behaviour's counters and evidence, per basis.
#[derive(Debug, Default, Clone)]
struct Tally {
    with: [Counts; 2],
    /// Indices into [`Evidence::ids`] of the unhappy interactions (negative on
    /// either basis), in window order.
    evidence: [Vec<u32>; 2],
}

impl Tally {
    fn add(
        &mut self,
        outcomes: [Option<bool>; 2],
        evidence: &mut Evidence,
        index: &mut Option<u32>,
        id: &str,
    ) {
        // Unhappy on either basis: rated negative, or a detect rule inferred a
        // complaint. The test counts only the basis in use; the evidence lists
        // every unhappy interaction with the behaviour, so that users who
        // objected without rating join the problem the ratings point at.
        let unhappy = outcomes.contains(&Some(true));
        for (basis, outcome) in outcomes.iter().enumerate() {
            if let Some(negative) = *outcome {
                self.with[basis].add(negative);
            }
            if unhappy {
                evidence.push(&mut self.evidence[basis], index, id);
            }
        }
    }
}

/// The id list evidence points into, and its budget.
#[derive(Debug, Default)]
struct Evidence {
    /// Ids of interactions that are evidence of something, each once, in window order.
    ids: Vec<String>,
    total: usize,
    full: bool,
}

impl Evidence {
    /// Add the interaction to `list`, keeping its id once (`index` is its
    /// place in `ids` once it has one).
    fn push(&mut self, list: &mut Vec<u32>, index: &mut Option<u32>, id: &str) {
        if list.len() >= MAX_EVIDENCE {
            return;
        }
        if self.total >= MAX_EVIDENCE_TOTAL {
            if !self.full {
                self.full = true;
                log::warn(
                    "evidence budget reached; later negative interactions count but are not listed",
                    &[("max_evidence_total", &MAX_EVIDENCE_TOTAL.to_string())],
                );
            }
            return;
        }
        let ids = &mut self.ids;
        let at = *index.get_or_insert_with(|| {
            ids.push(id.to_string());
            u32::try_from(ids.len() - 1).unwrap_or(u32::MAX)
        });
        list.push(at);
        self.total += 1;
    }
}

/// Interactions of one length in user turns.
#[derive(Debug, Default, Clone)]
struct TurnBucket {
    /// All interactions, rated or not (for the quartile).
    interactions: u64,
    tally: Tally,
}

/// The rule's state for one cycle.
pub struct OutcomeDrivers {
    settings: Settings,
    /// What counts as an unconfirmed action: the `unconfirmed-actions` rule's defaults.
    actions: Detector,
    interactions: u64,
    calls: u64,
    /// Rated interactions per basis.
    rated: [Counts; 2],
    behaviours: BTreeMap<Behaviour, Tally>,
    /// Behaviour occurrences not tracked because [`MAX_BEHAVIOURS`] was reached.
    untracked: u64,
    /// Index = user turns, the last bucket holding longer conversations too.
    turns: Vec<TurnBucket>,
    evidence: Evidence,
    escalation_tools: Vec<String>,
    /// Names of the rules whose inferred feedback was seen.
    sources: Vec<String>,
    /// Reused for each interaction's behaviours.
    scratch: Vec<Behaviour>,
}

impl OutcomeDrivers {
    fn record(&mut self, interaction: &Interaction, ratings: Ratings) {
        self.interactions += 1;
        self.calls += interaction.tool_calls.len() as u64;
        let turns = behaviour::user_turns(interaction).min(MAX_LONG_TURNS) as usize;
        if let Some(bucket) = self.turns.get_mut(turns) {
            bucket.interactions += 1;
        }
        if !ratings.any_rated() {
            return;
        }
        let outcomes = Basis::BOTH.map(|basis| ratings.outcome(basis));
        for (basis, outcome) in outcomes.iter().enumerate() {
            if let Some(negative) = *outcome {
                self.rated[basis].add(negative);
            }
        }
        // This interaction's place in the id list, once it is evidence.
        let mut index: Option<u32> = None;
        let mut found = std::mem::take(&mut self.scratch);
        found.clear();
        behaviour::observe(
            interaction,
            &ratings,
            &self.settings.escalation,
            &self.actions,
            &mut found,
        );
        found.sort_unstable();
        found.dedup();
        for b in found.drain(..) {
            if b == Behaviour::Escalation {
                self.remember_escalation_tools(interaction);
            }
            if !self.behaviours.contains_key(&b) {
                if self.behaviours.len() >= MAX_BEHAVIOURS {
                    if self.untracked == 0 {
                        log::warn(
                            "too many distinct behaviours; further ones are not tested",
                            &[("max_behaviours", &MAX_BEHAVIOURS.to_string())],
                        );
                    }
                    self.untracked += 1;
                    continue;
                }
                self.behaviours.insert(b.clone(), Tally::default());
            }
            if let Some(tally) = self.behaviours.get_mut(&b) {
                tally.add(outcomes, &mut self.evidence, &mut index, &interaction.id);
            }
        }
        self.scratch = found;
        if let Some(bucket) = self.turns.get_mut(turns) {
            bucket
                .tally
                .add(outcomes, &mut self.evidence, &mut index, &interaction.id);
        }
    }

    fn remember_escalation_tools(&mut self, interaction: &Interaction) {
        if self.escalation_tools.len() >= MAX_ESCALATION_NAMES {
            return;
        }
        for call in &interaction.tool_calls {
            if self.escalation_tools.len() < MAX_ESCALATION_NAMES
                && call.name.len() <= behaviour::MAX_NAME_CHARS
                && !self.escalation_tools.contains(&call.name)
                && self.settings.escalation.is_escalation(&call.name)
            {
                self.escalation_tools.push(call.name.clone());
            }
        }
    }

    /// The basis for this window, or why there is none.
    fn basis(&self) -> Result<Basis, String> {
        let min = self.settings.min_rated;
        let explicit = self.rated[Basis::Explicit.index()].rated();
        let inferred = self.rated[Basis::Inferred.index()].rated();
        if explicit >= min {
            Ok(Basis::Explicit)
        } else if inferred >= min {
            Ok(Basis::Inferred)
        } else {
            Err(format!(
                "{explicit} interactions have explicit ratings and {inferred} inferred ones, \
                 both below min_rated ({min})"
            ))
        }
    }

    fn basis_note(&self, basis: Basis) -> String {
        let counts = self.rated[basis.index()];
        match basis {
            Basis::Explicit => format!(
                "Outcomes from explicit ratings ({} rated interactions, {} negative).",
                counts.rated(),
                counts.negative
            ),
            Basis::Inferred => format!(
                "Outcomes from feedback inferred by detect rules ({}; {} interactions, {} \
                 negative), as only {} interactions had explicit ratings (min_rated {}).",
                if self.sources.is_empty() {
                    "none named".to_string()
                } else {
                    self.sources.join(", ")
                },
                counts.rated(),
                counts.negative,
                self.rated[Basis::Explicit.index()].rated(),
                self.settings.min_rated
            ),
        }
    }

    /// User turns from which a conversation counts as long, if any length
    /// tells conversations apart.
    fn long_threshold(&self) -> Option<u32> {
        let total: u64 = self.turns.iter().map(|b| b.interactions).sum();
        if total == 0 {
            return None;
        }
        match self.settings.long_turns {
            LongTurns::AtLeast(n) => Some(n),
            LongTurns::Auto => {
                let longest = self.turns.iter().rposition(|b| b.interactions > 0)?;
                // The smallest length whose conversations and longer ones are
                // at most a quarter of the window; the longest ones alone
                // when more than a quarter tie there.
                let mut at_or_above = 0;
                let mut chosen = self.turns.len();
                for t in (0..self.turns.len()).rev() {
                    at_or_above += self.turns[t].interactions;
                    if at_or_above * 4 > total {
                        break;
                    }
                    chosen = t;
                }
                // Named by the shortest length it holds, not an empty one below.
                let chosen = (chosen..longest)
                    .find(|&t| self.turns[t].interactions > 0)
                    .unwrap_or(longest);
                Some(
                    u32::try_from(chosen)
                        .unwrap_or(MAX_LONG_TURNS)
                        .max(MIN_AUTO_LONG_TURNS),
                )
            }
        }
    }

    /// The long-conversation tally on the given threshold: the buckets at or above it.
    fn long_tally(&self, threshold: u32, basis: Basis) -> (Counts, Vec<u32>) {
        let mut with = Counts::default();
        let mut evidence = Vec::new();
        for bucket in self.turns.iter().skip(threshold as usize) {
            let c = bucket.tally.with[basis.index()];
            with.negative += c.negative;
            with.other += c.other;
            evidence.extend_from_slice(&bucket.tally.evidence[basis.index()]);
        }
        // Indices grow in window order: sorting restores it.
        evidence.sort_unstable();
        evidence.truncate(MAX_EVIDENCE);
        (with, evidence)
    }

    pub fn findings_and_log(&self) -> (Findings, Vec<LogLine>) {
        let s = &self.settings;
        let explicit = self.rated[Basis::Explicit.index()];
        let inferred = self.rated[Basis::Inferred.index()];
        let mut log = vec![
            line(
                "settings",
                &[
                    ("min_rated", s.min_rated.to_string()),
                    ("min_support", s.min_support.to_string()),
                    ("fdr", s.fdr.to_string()),
                    ("min_odds_ratio", s.min_odds_ratio.to_string()),
                    ("min_occurrences", s.min_occurrences.to_string()),
                    (
                        "escalation_tools",
                        match &s.escalation {
                            Escalation::Named(names) => names.join(","),
                            Escalation::ByWords => "by name words".into(),
                        },
                    ),
                    (
                        "long_turns",
                        match s.long_turns {
                            LongTurns::Auto => "auto".into(),
                            LongTurns::AtLeast(n) => n.to_string(),
                        },
                    ),
                ],
            ),
            line(
                "seen",
                &[
                    ("interactions", self.interactions.to_string()),
                    ("calls", self.calls.to_string()),
                    ("explicitly_rated", explicit.rated().to_string()),
                    ("explicit_negative", explicit.negative.to_string()),
                    ("inferred_rated", inferred.rated().to_string()),
                    ("inferred_negative", inferred.negative.to_string()),
                    ("inferred_by", self.sources.join(",")),
                    ("behaviours", self.behaviours.len().to_string()),
                    (
                        "untracked_behaviour_occurrences",
                        self.untracked.to_string(),
                    ),
                ],
            ),
        ];
        let mut metrics = vec![
            Metric {
                name: "behaviours_tested".into(),
                value: 0.0,
                description: "Behaviours with enough rated interactions with and without them to be tested.".into(),
            },
            Metric {
                name: "behaviours_significant".into(),
                value: 0.0,
                description: "Behaviours tested that raise the negative rate significantly under the false discovery rate control.".into(),
            },
            Metric {
                name: "outcome_basis".into(),
                value: 0.0,
                description: "Which feedback decided outcomes: 1 explicit ratings, 2 inferred feedback, 0 none (too few ratings).".into(),
            },
        ];
        let empty = |log: Vec<LogLine>, metrics: Vec<Metric>| {
            (
                Findings {
                    patterns: Vec::new(),
                    suggestions: Vec::new(),
                    metrics,
                },
                log,
            )
        };
        let basis = match self.basis() {
            Ok(basis) => basis,
            Err(why) => {
                log.push(line("no outcome basis; nothing tested", &[("reason", why)]));
                return empty(log, metrics);
            }
        };
        metrics[2].value = match basis {
            Basis::Explicit => 1.0,
            Basis::Inferred => 2.0,
        };
        let totals = self.rated[basis.index()];
        log.push(line(
            "basis",
            &[
                ("basis", basis.as_str().to_string()),
                ("rated", totals.rated().to_string()),
                ("negative", totals.negative.to_string()),
                (
                    "negative_rate",
                    percent(ratio(totals.negative, totals.rated())),
                ),
            ],
        ));
        if totals.negative == 0 || totals.other == 0 {
            log.push(line(
                "nothing to compare; nothing tested",
                &[(
                    "reason",
                    format!(
                        "all {} rated interactions have the same outcome",
                        totals.rated()
                    ),
                )],
            ));
            return empty(log, metrics);
        }
        metrics.push(Metric {
            name: "rated_negative_rate".into(),
            value: ratio(totals.negative, totals.rated()),
            description: "Share of rated interactions (on the outcome basis) that are negative."
                .into(),
        });

        // Every behaviour's table on the chosen basis.
        let table = |with: Counts| Table {
            with_negative: with.negative,
            with_other: with.other,
            without_negative: totals.negative - with.negative,
            without_other: totals.other - with.other,
        };
        let mut candidates: Vec<Tested> = Vec::new();
        for (b, tally) in &self.behaviours {
            if basis == Basis::Inferred && *b == Behaviour::Corrected {
                log.push(line(
                    "not tested",
                    &[
                        ("key", b.key()),
                        (
                            "reason",
                            "corrections are part of the inferred outcome".into(),
                        ),
                    ],
                ));
                continue;
            }
            candidates.push(Tested {
                behaviour: b.clone(),
                table: table(tally.with[basis.index()]),
                evidence: tally.evidence[basis.index()].clone(),
                p: 1.0,
                adjusted: 1.0,
            });
        }
        let threshold = self.long_threshold();
        if let Some(threshold) = threshold {
            let (with, evidence) = self.long_tally(threshold, basis);
            candidates.push(Tested {
                behaviour: Behaviour::LongConversation(threshold),
                table: table(with),
                evidence,
                p: 1.0,
                adjusted: 1.0,
            });
        }
        log.push(line(
            "long conversations",
            &[(
                "from_user_turns",
                threshold.map_or("none".into(), |t| t.to_string()),
            )],
        ));

        // Support, then the tests and the false discovery rate control.
        let (mut tested, unsupported): (Vec<Tested>, Vec<Tested>) = candidates
            .into_iter()
            .partition(|t| t.table.with() >= s.min_support && t.table.without() >= s.min_support);
        for t in &mut tested {
            t.p = stats::fisher_greater(&t.table);
        }
        let p_values: Vec<f64> = tested.iter().map(|t| t.p).collect();
        let (discoveries, adjusted) = stats::benjamini_hochberg(&p_values, s.fdr);
        for (t, a) in tested.iter_mut().zip(&adjusted) {
            t.adjusted = *a;
        }
        let significant = discoveries.iter().filter(|d| **d).count();
        metrics[0].value = tested.len() as f64;
        metrics[1].value = significant as f64;

        let mut passed: Vec<Tested> = Vec::new();
        let mut rejected: Vec<(Tested, String)> = Vec::new();
        for (t, discovery) in tested.iter().zip(&discoveries) {
            let reason = if !discovery {
                Some(format!(
                    "not significant (adjusted p {})",
                    p_value(t.adjusted)
                ))
            } else if t.table.odds_ratio() < s.min_odds_ratio {
                Some(format!(
                    "odds ratio {:.2} below min_odds_ratio",
                    t.table.odds_ratio()
                ))
            } else if t.table.with_negative < s.min_occurrences {
                Some("below min_occurrences".into())
            } else {
                None
            };
            match reason {
                None => passed.push(t.clone()),
                Some(r) => rejected.push((t.clone(), r)),
            }
        }
        let nested = drop_nested(&mut passed);
        // Corrections explain, but are not reported: see the crate docs.
        let corrected = passed
            .iter()
            .position(|t| t.behaviour == Behaviour::Corrected)
            .map(|at| passed.remove(at));
        if let Some(t) = tested.iter().find(|t| t.behaviour == Behaviour::Corrected) {
            let lift = t.table.lift();
            metrics.push(Metric {
                name: "corrected_lift".into(),
                value: if lift.is_finite() { lift } else { f64::MAX },
                description: "How many times as often interactions the user corrected are \
                              rated negative as the others: how well the corrections rule's \
                              inferred feedback agrees with the ratings."
                    .into(),
            });
            log.push(line(
                "corrections agree with the ratings",
                &behaviour_fields(
                    t,
                    Some(if corrected.is_some() {
                        "significant; not reported: the corrections rule reports these \
                         interactions, and they explain other behaviours"
                            .into()
                    } else {
                        "not significant".into()
                    }),
                ),
            ));
        }
        log.push(line(
            "tested",
            &[
                ("behaviours", (tested.len() + unsupported.len()).to_string()),
                ("tested", tested.len().to_string()),
                ("below_min_support", unsupported.len().to_string()),
                ("significant", significant.to_string()),
                ("reported", passed.len().to_string()),
                ("explained_dropped", nested.len().to_string()),
            ],
        ));
        // Most negatives first; ties by key, so the order is stable.
        passed.sort_by(|a, b| {
            b.table
                .with_negative
                .cmp(&a.table.with_negative)
                .then_with(|| a.key().cmp(&b.key()))
        });
        rejected.sort_by(|a, b| {
            a.0.p
                .total_cmp(&b.0.p)
                .then_with(|| a.0.key().cmp(&b.0.key()))
        });

        let window = Window {
            basis,
            basis_note: self.basis_note(basis),
            tested: tested.len(),
            fdr: s.fdr,
            negatives: totals.negative,
            escalation_tools: &self.escalation_tools,
            ids: &self.evidence.ids,
        };
        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        for (i, t) in passed.iter().enumerate() {
            let (pattern, suggestion) = finding::pattern(t, &window);
            if i < LOG_BEHAVIOURS {
                log.push(line("pattern", &behaviour_fields(t, None)));
            }
            patterns.push(pattern);
            suggestions.push(suggestion);
        }
        for (dropped, by) in nested.iter().take(LOG_BEHAVIOURS) {
            log.push(line(
                "dropped",
                &behaviour_fields(dropped, Some(format!("explained by {by}"))),
            ));
        }
        for (t, reason) in rejected.iter().take(LOG_BEHAVIOURS) {
            log.push(line("dropped", &behaviour_fields(t, Some(reason.clone()))));
        }
        if rejected.len() + nested.len() > 2 * LOG_BEHAVIOURS {
            log.push(line(
                "more dropped behaviours not listed",
                &[(
                    "behaviours",
                    (rejected.len() + nested.len())
                        .saturating_sub(2 * LOG_BEHAVIOURS)
                        .to_string(),
                )],
            ));
        }
        log.push(line(
            "done",
            &[
                ("basis", basis.as_str().to_string()),
                ("patterns", patterns.len().to_string()),
            ],
        ));
        (
            Findings {
                patterns,
                suggestions,
                metrics,
            },
            log,
        )
    }
}

/// A behaviour's figures for the run log.
fn behaviour_fields(t: &Tested, reason: Option<String>) -> Vec<(&'static str, String)> {
    let lift = t.table.lift();
    let mut fields = vec![
        ("key", t.key()),
        (
            "with",
            format!("{}/{}", t.table.with_negative, t.table.with()),
        ),
        (
            "without",
            format!("{}/{}", t.table.without_negative, t.table.without()),
        ),
        (
            "lift",
            if lift.is_finite() {
                format!("{lift:.2}")
            } else {
                "inf".into()
            },
        ),
        ("odds_ratio", format!("{:.2}", t.table.odds_ratio())),
        ("p", p_value(t.p)),
        ("adjusted_p", p_value(t.adjusted)),
    ];
    if let Some(reason) = reason {
        fields.push(("reason", reason));
    }
    fields
}

/// Drop each reported behaviour whose negative interactions show, more than
/// [`NESTED_CONTAINMENT`] of them, one or more narrower reported behaviours;
/// return the dropped ones with the keys that explain each (those sharing
/// most first). Compared against every reported behaviour, dropped or not,
/// so the result does not depend on order.
fn drop_nested(passed: &mut Vec<Tested>) -> Vec<(Tested, String)> {
    // `b` is narrower than `a`: fewer interactions show it; on a tie, a more
    // specific family; then the key, so two identical behaviours keep one.
    let narrower = |b: &Tested, a: &Tested| {
        // Corrections explain broad behaviours (a tool called, a length)
        // whatever their size: the corrections rule reports those
        // interactions. They explain no narrower family, and are never
        // explained themselves (they are not reported anyway).
        if a.behaviour == Behaviour::Corrected {
            return false;
        }
        if b.behaviour == Behaviour::Corrected {
            return a.behaviour.specificity() < b.behaviour.specificity();
        }
        b.table
            .with()
            .cmp(&a.table.with())
            .then_with(|| a.behaviour.specificity().cmp(&b.behaviour.specificity()))
            .then_with(|| b.key().cmp(&a.key()))
            .is_lt()
    };
    let mut explained_by: Vec<Option<String>> = vec![None; passed.len()];
    for (i, a) in passed.iter().enumerate() {
        if a.evidence.is_empty() {
            continue;
        }
        let mut covered = vec![false; a.evidence.len()];
        let mut by: Vec<(usize, String)> = Vec::new();
        for b in passed.iter().filter(|b| narrower(b, a)) {
            let shared = mark_shared(&a.evidence, &b.evidence, &mut covered);
            if shared > 0 {
                by.push((shared, b.key()));
            }
        }
        let share = covered.iter().filter(|c| **c).count() as f64 / covered.len() as f64;
        if share > NESTED_CONTAINMENT {
            by.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
            let keys: Vec<String> = by.into_iter().take(3).map(|(_, k)| k).collect();
            explained_by[i] = Some(keys.join(", "));
        }
    }
    let mut dropped = Vec::new();
    let mut kept = Vec::new();
    for (t, by) in passed.drain(..).zip(explained_by) {
        match by {
            Some(by) => dropped.push((t, by)),
            None => kept.push(t),
        }
    }
    *passed = kept;
    dropped
}

/// Mark in `covered` the entries of `inner` (sorted) that are also in
/// `outer` (sorted); return how many `inner` shares with `outer`.
fn mark_shared(inner: &[u32], outer: &[u32], covered: &mut [bool]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < inner.len() && j < outer.len() {
        match inner[i].cmp(&outer[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                covered[i] = true;
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

impl Rule for OutcomeDrivers {
    fn info() -> RuleInfo {
        RuleInfo {
            name: finding::RULE_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Finds the behaviours that go with negative feedback: tools called, \
                          tool failures by class, retries of failed calls, hand-overs to a \
                          person, corrections and long conversations, each tested against the \
                          interactions' ratings (one-sided Fisher's exact test with \
                          Benjamini-Hochberg control of the false discovery rate) and flagged \
                          for review when it raises the negative rate."
                .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::MESSAGES | Inputs::TOOL_CALLS,
            settings: Settings::specs(),
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(OutcomeDrivers {
            settings: Settings::from_context(&context)?,
            actions: Detector::default(),
            interactions: 0,
            calls: 0,
            rated: [Counts::default(); 2],
            behaviours: BTreeMap::new(),
            untracked: 0,
            turns: vec![TurnBucket::default(); MAX_LONG_TURNS as usize + 1],
            evidence: Evidence::default(),
            escalation_tools: Vec::new(),
            sources: Vec::new(),
            scratch: Vec::new(),
        })
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        let ratings = outcome::by_interaction(&chunk.feedback, &mut self.sources, MAX_SOURCES);
        for interaction in &chunk.interactions {
            let r = ratings
                .get(interaction.id.as_str())
                .copied()
                .unwrap_or_default();
            self.record(interaction, r);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let (findings, lines) = self.findings_and_log();
        log::info_all(&lines);
        Ok(findings)
    }
}

reverie_rule_sdk::export_rule!(OutcomeDrivers);

#[cfg(test)]
mod tests;
