//! The host's own metrics (DESIGN §4): accuracy with its sample size and 95%
//! Wilson interval, and two-proportion comparisons with a verdict.
//!
//! Accuracy of a set of interactions is rated-non-negative / rated. Explicit
//! ratings (people's) and inferred ones (the rules', from the conversations) are
//! counted apart and never mixed in one figure: a window's figures rest on one
//! [`Basis`], explicit when people rated anything, inferred only when the rules
//! inferred both praise and complaints, else none ("not measurable" rather than
//! a 0% that inferred complaints alone would give by construction). These
//! numbers are computed here, never taken from rules.
//! Tallies are counters per bucket (window, config version, week), so memory does
//! not grow with the number of interactions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Rating;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;
/// Significance level of comparisons.
pub const ALPHA: f64 = 0.05;
/// Below this many rated interactions on either side, a comparison is
/// `inconclusive` whatever the numbers say.
pub const MIN_RATED: u64 = 30;

/// Accuracy of a set of interactions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Rated interactions (the sample size).
    pub rated: u64,
    /// Of those, rated positive or neutral.
    pub non_negative: u64,
    /// non_negative / rated; `null` when nothing was rated.
    pub value: Option<f64>,
    /// 95% Wilson score interval, `[low, high]`; `null` when nothing was rated.
    pub ci95: Option<[f64; 2]>,
}

impl Accuracy {
    pub fn new(non_negative: u64, rated: u64) -> Accuracy {
        if rated == 0 {
            return Accuracy {
                rated,
                non_negative,
                value: None,
                ci95: None,
            };
        }
        Accuracy {
            rated,
            non_negative,
            value: Some(round(non_negative as f64 / rated as f64)),
            ci95: Some(wilson(non_negative, rated).map(round)),
        }
    }
}

/// The 95% Wilson score interval for k successes in n trials.
pub fn wilson(k: u64, n: u64) -> [f64; 2] {
    if n == 0 {
        return [0.0, 1.0];
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * ((p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt()) / denom;
    // At k = 0 and k = n the bounds are exactly 0 and 1; say so rather than 1e-16 off.
    let low = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if k as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    [low, high]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Regressed,
    Inconclusive,
}

/// Before vs after, with a two-sided two-proportion z-test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline: Accuracy,
    pub current: Accuracy,
    /// current − baseline accuracy; `null` when either side has no ratings.
    pub difference: Option<f64>,
    /// Two-sided p-value; `null` when the test cannot be run.
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    /// Why the verdict is what it is, for a person.
    pub reason: String,
}

pub fn compare(baseline: Accuracy, current: Accuracy) -> Comparison {
    let (Some(p1), Some(p2)) = (baseline.value, current.value) else {
        return Comparison {
            baseline,
            current,
            difference: None,
            p_value: None,
            verdict: Verdict::Inconclusive,
            reason: "not enough data: one side has no rated interactions".into(),
        };
    };
    let difference = Some(round(p2 - p1));
    let (n1, n2) = (baseline.rated as f64, current.rated as f64);
    let pooled = (baseline.non_negative + current.non_negative) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let p_value = if se == 0.0 {
        1.0
    } else {
        let z = (current.non_negative as f64 / n2 - baseline.non_negative as f64 / n1) / se;
        (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0)
    };
    let (verdict, reason) = if baseline.rated < MIN_RATED || current.rated < MIN_RATED {
        (
            Verdict::Inconclusive,
            format!("not enough data: fewer than {MIN_RATED} rated interactions on one side"),
        )
    } else if p_value >= ALPHA {
        (
            Verdict::Inconclusive,
            format!("the difference is not significant (p = {p_value:.3})"),
        )
    } else if p2 > p1 {
        (
            Verdict::Improved,
            format!("significantly better (p = {p_value:.3})"),
        )
    } else {
        (
            Verdict::Regressed,
            format!("significantly worse (p = {p_value:.3})"),
        )
    };
    Comparison {
        baseline,
        current,
        difference,
        p_value: Some(round(p_value)),
        verdict,
        reason,
    }
}

/// Standard normal CDF, via a Chebyshev fit of erfc (relative error < 1.2e-7,
/// Numerical Recipes §6.2): ample for p-values.
pub fn normal_cdf(z: f64) -> f64 {
    1.0 - 0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Round to 6 decimals so reports are stable and readable.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// What an accuracy figure rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Ratings people gave (a thumbs button, a survey).
    Explicit,
    /// Ratings the rules inferred from the conversations (corrections,
    /// thanks), where they infer both praise and complaints.
    Inferred,
    /// Neither: nothing was rated, or the rules only inferred one side.
    None,
}

/// Rated and non-negative interactions of one kind of feedback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub rated: u64,
    pub non_negative: u64,
    pub positive: u64,
}

impl Counts {
    fn record(&mut self, rating: Option<Rating>) {
        if let Some(r) = rating {
            self.rated += 1;
            if r != Rating::Negative {
                self.non_negative += 1;
            }
            if r == Rating::Positive {
                self.positive += 1;
            }
        }
    }

    pub fn negative(&self) -> u64 {
        self.rated - self.non_negative
    }

    pub fn accuracy(&self) -> Accuracy {
        Accuracy::new(self.non_negative, self.rated)
    }
}

/// Counts of one bucket of interactions, explicit and inferred feedback apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub interactions: u64,
    pub explicit: Counts,
    pub inferred: Counts,
}

impl Tally {
    /// One interaction, with the rating its explicit feedback and its inferred
    /// feedback each give (see [`combined_rating`]).
    pub fn record(&mut self, explicit: Option<Rating>, inferred: Option<Rating>) {
        self.interactions += 1;
        self.explicit.record(explicit);
        self.inferred.record(inferred);
    }

    /// Accuracy on `basis`; no ratings at all for [`Basis::None`].
    pub fn accuracy(&self, basis: Basis) -> Accuracy {
        match basis {
            Basis::Explicit => self.explicit.accuracy(),
            Basis::Inferred => self.inferred.accuracy(),
            Basis::None => Accuracy::new(0, 0),
        }
    }
}

/// The basis a window's accuracy figures use: explicit ratings when there are
/// any; else inferred ratings, but only when the rules inferred both praise and
/// complaints (with complaints alone, accuracy would be 0% by construction);
/// else none: accuracy is not measurable.
pub fn basis(window: &Tally) -> Basis {
    if window.explicit.rated > 0 {
        Basis::Explicit
    } else if window.inferred.positive > 0 && window.inferred.negative() > 0 {
        Basis::Inferred
    } else {
        Basis::None
    }
}

/// Below this share of interactions rated, an explicit accuracy figure carries
/// the note that people mostly rate when unhappy.
pub const LOW_RATED_SHARE: f64 = 0.5;

/// Tallies of one window, by config version and by week, in constant memory per bucket.
#[derive(Debug, Default)]
pub struct WindowTally {
    pub total: Tally,
    /// Per config version: (first seen ms, tally).
    pub by_version: BTreeMap<String, (i64, Tally)>,
    /// Per week, keyed by the Monday it starts on (days since the epoch).
    pub by_week: BTreeMap<i64, Tally>,
}

impl WindowTally {
    pub fn record(
        &mut self,
        timestamp_ms: i64,
        version: Option<&str>,
        explicit: Option<Rating>,
        inferred: Option<Rating>,
    ) {
        self.total.record(explicit, inferred);
        let version = version.unwrap_or("unknown");
        match self.by_version.get_mut(version) {
            Some((first, tally)) => {
                *first = (*first).min(timestamp_ms);
                tally.record(explicit, inferred);
            }
            None => {
                let mut tally = Tally::default();
                tally.record(explicit, inferred);
                self.by_version
                    .insert(version.to_string(), (timestamp_ms, tally));
            }
        }
        let day = timestamp_ms.div_euclid(86_400_000);
        // 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier.
        let monday = day - (day + 3).rem_euclid(7);
        self.by_week
            .entry(monday)
            .or_default()
            .record(explicit, inferred);
    }
}

/// The one rating several pieces of feedback of one kind give an interaction:
/// any negative makes it negative (a complaint outweighs a thumbs-up), else any
/// positive, else neutral; none for no feedback.
pub fn combined_rating(ratings: &[Rating]) -> Option<Rating> {
    if ratings.is_empty() {
        None
    } else if ratings.contains(&Rating::Negative) {
        Some(Rating::Negative)
    } else if ratings.contains(&Rating::Positive) {
        Some(Rating::Positive)
    } else {
        Some(Rating::Neutral)
    }
}

/// Whether `now` of `n_now` interactions is significantly fewer than `before`
/// of `n_before` (one-sided two-proportion z-test at [`ALPHA`]), with its
/// p-value. Used to call a problem resolved.
pub fn fell_significantly(before: u64, n_before: u64, now: u64, n_now: u64) -> (bool, f64) {
    if n_before == 0 || n_now == 0 {
        return (false, 1.0);
    }
    let (n1, n2) = (n_before as f64, n_now as f64);
    let (p1, p2) = (before as f64 / n1, now as f64 / n2);
    let pooled = (before + now) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return (false, 1.0);
    }
    let z = (p1 - p2) / se;
    let p = (1.0 - normal_cdf(z)).clamp(0.0, 1.0);
    (p < ALPHA, round(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), example: 81 of 263 → 0.2553 to 0.3662.
        let [lo, hi] = wilson(81, 263);
        assert!(
            (lo - 0.2553).abs() < 1e-4 && (hi - 0.3662).abs() < 1e-4,
            "{lo} {hi}"
        );
        // It never leaves [0, 1], even at the edges.
        assert_eq!(wilson(0, 10)[0], 0.0);
        assert_eq!(wilson(10, 10)[1], 1.0);
    }

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
    }

    #[test]
    fn a_clear_improvement_is_called_improved() {
        let c = compare(Accuracy::new(600, 1000), Accuracy::new(700, 1000));
        assert_eq!(c.verdict, Verdict::Improved);
        assert!(c.p_value.expect("computed") < 0.001);
        assert_eq!(c.difference, Some(0.1));
        let c = compare(Accuracy::new(700, 1000), Accuracy::new(600, 1000));
        assert_eq!(c.verdict, Verdict::Regressed);
    }

    #[test]
    fn small_samples_and_small_differences_are_inconclusive() {
        let c = compare(Accuracy::new(5, 10), Accuracy::new(10, 10));
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert!(c.reason.starts_with("not enough data"), "{}", c.reason);
        let c = compare(Accuracy::new(800, 1000), Accuracy::new(810, 1000));
        assert_eq!(c.verdict, Verdict::Inconclusive);
        let c = compare(Accuracy::new(0, 0), Accuracy::new(10, 10));
        assert_eq!(c.p_value, None);
    }

    #[test]
    fn complaints_outweigh_praise() {
        use Rating::*;
        assert_eq!(combined_rating(&[Positive, Negative]), Some(Negative));
        assert_eq!(combined_rating(&[Neutral, Positive]), Some(Positive));
        assert_eq!(combined_rating(&[]), None);
    }

    #[test]
    fn complaints_alone_make_no_accuracy() {
        let mut only_complaints = Tally::default();
        for _ in 0..50 {
            only_complaints.record(None, Some(Rating::Negative));
            only_complaints.record(None, None);
        }
        assert_eq!(
            basis(&only_complaints),
            Basis::None,
            "0% by construction is not a figure"
        );
        let mut both = only_complaints;
        both.record(None, Some(Rating::Positive));
        assert_eq!(basis(&both), Basis::Inferred);
        assert_eq!(both.accuracy(Basis::Inferred).rated, 51);
        let mut rated = both;
        rated.record(Some(Rating::Positive), Some(Rating::Negative));
        assert_eq!(
            basis(&rated),
            Basis::Explicit,
            "people's ratings come first"
        );
        assert_eq!(rated.accuracy(Basis::Explicit).rated, 1);
    }

    #[test]
    fn a_fall_is_significant_only_with_enough_data() {
        // 34 of 1,200 before, 4 of 1,200 now: a real fall.
        assert!(fell_significantly(34, 1200, 4, 1200).0);
        // 6 of 1,200 before, 4 now: could be chance.
        assert!(!fell_significantly(6, 1200, 4, 1200).0);
        // A rise is never a fall.
        assert!(!fell_significantly(4, 1200, 34, 1200).0);
    }

    #[test]
    fn weeks_start_on_monday() {
        let mut t = WindowTally::default();
        // 2026-10-26 is a Monday; 2026-11-01 a Sunday; 2026-11-02 a Monday.
        let ms = |d: &str| {
            chrono::DateTime::parse_from_rfc3339(&format!("{d}T12:00:00Z"))
                .expect("valid")
                .timestamp_millis()
        };
        t.record(ms("2026-10-26"), Some("v1"), Some(Rating::Positive), None);
        t.record(ms("2026-11-01"), Some("v1"), None, None);
        t.record(ms("2026-11-02"), Some("v2"), Some(Rating::Negative), None);
        assert_eq!(t.by_week.len(), 2);
        assert_eq!(t.by_week.values().next().map(|w| w.interactions), Some(2));
        assert_eq!(t.by_version["v2"].1.explicit.rated, 1);
    }
}
