//! The statistics: a one-sided Fisher's exact test on a 2×2 table and the
//! Benjamini–Hochberg control of the false discovery rate over many such
//! tests, in plain `f64` without crates.
//!
//! Fisher's test is exact at any size: the tail is summed from the observed
//! cell by the ratio of consecutive hypergeometric terms (one logarithm of
//! binomials for the first term, then a multiplication per term) and stops
//! once the terms are negligible, so a table of a million interactions costs
//! a few hundred multiplications, not a million. This module knows nothing of
//! behaviours or ratings.

use reverie_rule_sdk::finding::ratio;

/// A 2×2 table of rated interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Table {
    /// With the behaviour, rated negative.
    pub with_negative: u64,
    /// With the behaviour, rated otherwise.
    pub with_other: u64,
    /// Without it, rated negative.
    pub without_negative: u64,
    /// Without it, rated otherwise.
    pub without_other: u64,
}

impl Table {
    pub fn with(&self) -> u64 {
        self.with_negative + self.with_other
    }

    pub fn without(&self) -> u64 {
        self.without_negative + self.without_other
    }

    /// Negative rate with the behaviour.
    pub fn rate_with(&self) -> f64 {
        ratio(self.with_negative, self.with())
    }

    /// Negative rate without it.
    pub fn rate_without(&self) -> f64 {
        ratio(self.without_negative, self.without())
    }

    /// How many times as often interactions with it are negative; infinite
    /// when none without it are.
    pub fn lift(&self) -> f64 {
        let without = self.rate_without();
        if without == 0.0 {
            if self.rate_with() > 0.0 {
                f64::INFINITY
            } else {
                1.0
            }
        } else {
            self.rate_with() / without
        }
    }

    /// The difference of the two negative rates.
    /// The odds of a negative rating with the behaviour over the odds without
    /// it, with a half added to every cell (Haldane–Anscombe) so that an empty
    /// cell still gives a finite figure. Unlike the lift it is not squeezed
    /// towards 1 when most rated interactions are negative anyway (people
    /// rate mostly when unhappy): a lift can never exceed one over the
    /// negative rate without the behaviour, 2 when half the others are negative.
    pub fn odds_ratio(&self) -> f64 {
        let cell = |n: u64| n as f64 + 0.5;
        (cell(self.with_negative) * cell(self.without_other))
            / (cell(self.with_other) * cell(self.without_negative))
    }

    pub fn risk_difference(&self) -> f64 {
        self.rate_with() - self.rate_without()
    }
}

/// `ln Γ(x)` for `x > 0`: the Lanczos approximation (g = 7, nine
/// coefficients), relative error about 1e-15, with the reflection formula
/// below 0.5.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// `ln C(n, k)`.
fn ln_choose(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Terms smaller than this share of the running sum end a tail.
const NEGLIGIBLE: f64 = 1e-17;

/// One-sided Fisher's exact test that the behaviour *raises* the negative
/// rate: the probability, with the margins fixed, of at least
/// `with_negative` negatives among the interactions with the behaviour.
pub fn fisher_greater(table: &Table) -> f64 {
    let n = table.with(); // drawn: interactions with the behaviour
    let k = table.with_negative + table.without_negative; // successes: negatives
    let total = n + table.without();
    let observed = table.with_negative;
    if total == 0 || n == 0 || k == 0 {
        return 1.0;
    }
    let low = n.saturating_sub(total - k);
    let high = n.min(k);
    let pmf = |x: u64| -> f64 {
        (ln_choose(k, x) + ln_choose(total - k, n - x) - ln_choose(total, n)).exp()
    };
    let mean = n as f64 * k as f64 / total as f64;
    let (nf, kf, tf) = (n as f64, k as f64, total as f64);
    if observed as f64 > mean {
        // Upper tail: terms fall from here on (past the mode).
        let mut term = pmf(observed);
        let mut sum = term;
        let mut x = observed;
        while x < high {
            let xf = x as f64;
            term *= (kf - xf) * (nf - xf) / ((xf + 1.0) * (tf - kf - nf + xf + 1.0));
            sum += term;
            x += 1;
            if term <= sum * NEGLIGIBLE {
                break;
            }
        }
        sum.min(1.0)
    } else {
        // At or below the mean the tail is most of the mass: one minus the
        // lower tail, whose terms fall going down.
        if observed <= low {
            return 1.0;
        }
        let mut x = observed - 1;
        let mut term = pmf(x);
        let mut lower = term;
        while x > low {
            let xf = x as f64;
            term *= xf * (tf - kf - nf + xf) / ((kf - xf + 1.0) * (nf - xf + 1.0));
            lower += term;
            x -= 1;
            if term <= lower * NEGLIGIBLE {
                break;
            }
        }
        (1.0 - lower).clamp(0.0, 1.0)
    }
}

/// Benjamini–Hochberg at false discovery rate `q` over every p-value given:
/// which are discoveries, and each one's adjusted p-value (the smallest `q`
/// at which it would be one).
pub fn benjamini_hochberg(p_values: &[f64], q: f64) -> (Vec<bool>, Vec<f64>) {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let mut adjusted = vec![1.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let value = p_values[i] * m as f64 / (rank + 1) as f64;
        running = running.min(value).min(1.0);
        adjusted[i] = running;
    }
    let discoveries = adjusted.iter().map(|&a| a <= q).collect();
    (discoveries, adjusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(a: u64, b: u64, c: u64, d: u64) -> Table {
        Table {
            with_negative: a,
            with_other: b,
            without_negative: c,
            without_other: d,
        }
    }

    #[test]
    fn the_lady_tasting_tea_gives_fishers_own_p_value() {
        // 3 of 4 cups right: P = 17/70.
        let p = fisher_greater(&table(3, 1, 1, 3));
        assert!((p - 17.0 / 70.0).abs() < 1e-12, "{p}");
        assert!((fisher_greater(&table(4, 0, 0, 4)) - 1.0 / 70.0).abs() < 1e-12);
    }

    #[test]
    fn a_table_below_expectation_is_nowhere_near_significant() {
        // 1 of 4 right: P(X >= 1) = 1 - 1/70.
        let p = fisher_greater(&table(1, 3, 3, 1));
        assert!((p - 69.0 / 70.0).abs() < 1e-12, "{p}");
        assert_eq!(fisher_greater(&table(0, 4, 4, 0)), 1.0);
    }

    #[test]
    fn a_larger_table_matches_a_known_value() {
        // fisher.test(matrix(c(10, 5, 20, 65), 2), alternative = "greater") in R
        // → p = 0.001653 (10/30 negative with, 5/70 without).
        let p = fisher_greater(&table(10, 20, 5, 65));
        let exact = exact_upper(10, 30, 15, 100);
        assert!((p - exact).abs() < 1e-12, "{p} vs {exact}");
        assert!((p - 0.001653).abs() < 5e-6, "{p}");
    }

    /// The upper tail summed term by term from binomials, for checking.
    fn exact_upper(observed: u64, n: u64, k: u64, total: u64) -> f64 {
        fn choose(n: u64, k: u64) -> f64 {
            let mut r = 1.0_f64;
            for i in 0..k {
                r = r * (n - i) as f64 / (i + 1) as f64;
            }
            r
        }
        (observed..=n.min(k))
            .map(|x| choose(k, x) * choose(total - k, n - x))
            .sum::<f64>()
            / choose(total, n)
    }

    #[test]
    fn a_million_interactions_cost_no_more_than_a_hundred() {
        let p = fisher_greater(&table(6_000, 94_000, 45_000, 855_000));
        assert!(p < 1e-10, "{p}");
        let q = fisher_greater(&table(5_000, 95_000, 45_000, 855_000));
        assert!((0.3..0.7).contains(&q), "{q}");
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut factorial = 1.0_f64;
        for n in 1..30u32 {
            factorial *= f64::from(n);
            let got = ln_gamma(f64::from(n) + 1.0);
            assert!((got - factorial.ln()).abs() < 1e-10, "{n}: {got}");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn benjamini_hochberg_keeps_the_step_up_discoveries() {
        // m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05.
        let p = [0.001, 0.03, 0.012, 0.2, 0.04];
        let (hits, adjusted) = benjamini_hochberg(&p, 0.05);
        // Step-up: the 4th smallest (0.04 <= 0.04) passes, so all four below it do.
        assert_eq!(hits, vec![true, true, true, false, true]);
        assert!((adjusted[0] - 0.005).abs() < 1e-12);
        assert!((adjusted[3] - 0.2).abs() < 1e-12);
        let (none, _) = benjamini_hochberg(&[0.02, 0.04, 0.5], 0.05);
        assert_eq!(none, vec![false, false, false]);
    }

    #[test]
    fn lift_and_risk_difference_describe_the_table() {
        let t = table(10, 20, 5, 65);
        assert!((t.lift() - (10.0 / 30.0) / (5.0 / 70.0)).abs() < 1e-12);
        assert!((t.risk_difference() - (10.0 / 30.0 - 5.0 / 70.0)).abs() < 1e-12);
        assert!(table(3, 1, 0, 5).lift().is_infinite());
    }
}
