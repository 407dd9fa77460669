//! From a behaviour that passed the tests to what a person reads: the
//! pattern's title, description and severity, and the review flag. Text
//! only: this module decides nothing about which behaviours are reported.

use reverie_rule_sdk::{Edit, Pattern, Severity, Suggestion};

use crate::behaviour::Behaviour;
use crate::outcome::Basis;
use crate::stats::Table;

/// Prefix of every pattern key.
pub const RULE_NAME: &str = "outcome-drivers";
/// The highest confidence a flag gets: a correlation is not a cause.
pub const MAX_CONFIDENCE: f64 = 0.4;

/// One behaviour with its table and test results.
#[derive(Debug, Clone)]
pub struct Tested {
    pub behaviour: Behaviour,
    pub table: Table,
    /// Indices into the rule's id list of the negatively rated interactions
    /// with the behaviour, in window order.
    pub evidence: Vec<u32>,
    /// One-sided Fisher's exact test.
    pub p: f64,
    /// Benjamini–Hochberg adjusted p-value.
    pub adjusted: f64,
}

impl Tested {
    pub fn key(&self) -> String {
        format!("{RULE_NAME}/{}", self.behaviour.key())
    }
}

/// What every pattern of a window shares.
pub struct Window<'a> {
    pub basis: Basis,
    /// The sentence that says where outcomes came from.
    pub basis_note: String,
    /// Behaviours tested (the Benjamini–Hochberg family).
    pub tested: usize,
    pub fdr: f64,
    /// Negatively rated interactions on the basis.
    pub negatives: u64,
    /// Names of the hand-over tools seen.
    pub escalation_tools: &'a [String],
    /// The id list that evidence indices point into.
    pub ids: &'a [String],
}

/// The pattern and its review flag.
pub fn pattern(t: &Tested, window: &Window<'_>) -> (Pattern, Suggestion) {
    let key = t.key();
    let phrase = t.behaviour.phrase(window.escalation_tools);
    let table = &t.table;
    let lift = table.lift();
    let title = match (window.basis, lift.is_finite()) {
        (Basis::Explicit, true) => {
            format!("Users rate interactions where {phrase} negative {lift:.1}× as often")
        }
        (Basis::Explicit, false) => format!(
            "Users rate interactions where {phrase} negative, and no others ({} of them)",
            percent(table.rate_with())
        ),
        (Basis::Inferred, true) => {
            format!("Interactions where {phrase} draw negative feedback {lift:.1}× as often")
        }
        (Basis::Inferred, false) => format!(
            "Interactions where {phrase} draw negative feedback, and no others ({} of them)",
            percent(table.rate_with())
        ),
    };
    let figures = figures(t, &phrase, window);
    let description = format!(
        "{figures} {} A correlation, not a cause: the behaviour may only go with harder requests.",
        window.basis_note
    );
    let evidence: Vec<String> = t
        .evidence
        .iter()
        .filter_map(|i| window.ids.get(*i as usize).cloned())
        .collect();
    let pattern = Pattern {
        key: key.clone(),
        title,
        description,
        severity: severity(table, window.negatives),
        // The unhappy interactions listed, which may be more than the rated
        // negatives the test counted.
        occurrences: u32::try_from(table.with_negative.max(evidence.len() as u64))
            .unwrap_or(u32::MAX),
        evidence,
    };
    let suggestion = Suggestion {
        edit: Edit::FlagForReview(format!(
            "Interactions where {phrase} end in negative feedback far more often than the others. \
             Read the unhappy ones in this pattern's evidence and decide whether this behaviour \
             causes the dissatisfaction or only goes with harder requests before changing the agent."
        )),
        rationale: format!("{figures} {}", window.basis_note),
        confidence: confidence(table.with_negative),
        addresses: vec![key],
    };
    (pattern, suggestion)
}

/// Rates, counts, effect and test, in two sentences.
fn figures(t: &Tested, phrase: &str, window: &Window<'_>) -> String {
    let table = &t.table;
    let lift = table.lift();
    let times = if lift.is_finite() {
        format!("{lift:.1}× as often")
    } else {
        "where none of the others are".into()
    };
    format!(
        "Of {} rated interactions where {phrase}, {} ({}) were negative, against {} of {} ({}) \
         of the others: {times}, a risk difference of {:+.1} points, an odds ratio of {:.1}. \
         One-sided Fisher's exact \
         test p = {}, significant under Benjamini-Hochberg control of the false discovery rate \
         at {} over {} tested (adjusted p = {}).",
        table.with(),
        table.with_negative,
        percent(table.rate_with()),
        table.without_negative,
        table.without(),
        percent(table.rate_without()),
        table.risk_difference() * 100.0,
        table.odds_ratio(),
        p_value(t.p),
        percent(window.fdr),
        if window.tested == 1 {
            "the 1 behaviour".to_string()
        } else {
            format!("{} behaviours", window.tested)
        },
        p_value(t.adjusted),
    )
}

/// High when the behaviour triples the negative rate and goes with a tenth
/// of all negatives; medium when it doubles the rate or goes with a tenth;
/// low otherwise. Never critical: the rule shows a correlation.
pub fn severity(table: &Table, negatives: u64) -> Severity {
    let lift = table.lift();
    let share = if negatives == 0 {
        0.0
    } else {
        table.with_negative as f64 / negatives as f64
    };
    if lift >= 3.0 && share >= 0.1 {
        Severity::High
    } else if lift >= 2.0 || share >= 0.1 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// 0.2 for a handful of negatives, towards [`MAX_CONFIDENCE`] with many.
fn confidence(negatives: u64) -> f32 {
    let n = negatives as f64;
    let c = 0.2 + (MAX_CONFIDENCE - 0.2) * n / (n + 20.0);
    ((c * 100.0).round() / 100.0) as f32
}

pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Four decimals, or scientific notation below 0.0001.
pub fn p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}
