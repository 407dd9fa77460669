//! When interactions happen: spread over the window's days in proportion to
//! each day's weight (a help desk is quiet at the weekend, a web shop is not),
//! and within a day along an hourly traffic curve.
//!
//! Every interaction gets its own slot, so timestamps come out sorted without
//! holding the dataset in memory. With equal weights the split is exactly the
//! even split the first dataset was generated with, which the committed files
//! depend on.

/// Assigns interaction `i` of `n` to a day: day `d` gets the interactions
/// `boundary(d) .. boundary(d + 1)`, where `boundary(d)` is
/// `ceil(W(d) · n / W)`, `W(d)` the weight of the days before `d` and `W`
/// the window's total. Memory is one number per day.
pub struct Days {
    /// `prefix[d]` = total weight of days `0 .. d`; one more entry than days.
    prefix: Vec<u64>,
    n: u64,
    current: usize,
}

/// The day an interaction falls on, and the interactions that day holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Day index from the window's start.
    pub day: u64,
    /// First interaction of that day, and one past its last.
    pub first: u64,
    pub next: u64,
}

impl Days {
    /// `weights[d]` is day `d`'s relative traffic; every weight must be > 0.
    pub fn new(weights: impl IntoIterator<Item = u64>, n: u64) -> Self {
        let mut prefix = vec![0];
        let mut total = 0;
        for w in weights {
            total += w.max(1);
            prefix.push(total);
        }
        Self {
            prefix,
            n,
            current: 0,
        }
    }

    fn boundary(&self, d: usize) -> u64 {
        let total = self.prefix.last().copied().unwrap_or(1).max(1);
        let w = self.prefix.get(d).copied().unwrap_or(total);
        (u128::from(w) * u128::from(self.n)).div_ceil(u128::from(total)) as u64
    }

    /// Where interaction `i` falls. Calls must come in increasing `i`: the
    /// walk only moves forward, so the whole run costs one pass over the days.
    pub fn place(&mut self, i: u64) -> Placed {
        let last = self.prefix.len().saturating_sub(2);
        while self.current < last && self.boundary(self.current + 1) <= i {
            self.current += 1;
        }
        Placed {
            day: self.current as u64,
            first: self.boundary(self.current),
            next: self.boundary(self.current + 1),
        }
    }
}

/// Maps a position `u` in [0, 1) through the day's traffic curve to seconds
/// after midnight. Monotonic, so timestamps stay in order.
pub fn second_of_day(curve: &[f64; 24], u: f64) -> i64 {
    let total: f64 = curve.iter().sum();
    let mut target = u.clamp(0.0, 1.0) * total;
    for (hour, weight) in curve.iter().enumerate() {
        if target < *weight {
            let within = target / weight * 3600.0;
            return (hour as i64) * 3600 + (within as i64).min(3599);
        }
        target -= weight;
    }
    86_399
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURVE: [f64; 24] = [
        1.0, 0.7, 0.5, 0.4, 0.4, 0.6, 1.2, 2.5, 4.0, 5.5, 6.0, 6.0, 6.2, 6.0, 5.8, 5.6, 5.5, 5.8,
        6.0, 5.5, 4.5, 3.5, 2.5, 1.6,
    ];

    #[test]
    fn the_day_curve_is_monotonic_and_stays_within_the_day() {
        let mut last = -1;
        for k in 0..=1000 {
            let s = second_of_day(&CURVE, f64::from(k) / 1000.0);
            assert!(s >= last && (0..86_400).contains(&s));
            last = s;
        }
        // Busier at noon than at 3 am.
        assert!(second_of_day(&CURVE, 0.5) > 10 * 3600);
    }

    /// The committed support-bot files were written with this even split; equal
    /// weights must reproduce it interaction for interaction, or they would
    /// no longer regenerate byte for byte.
    #[test]
    fn equal_weights_give_the_original_even_split() {
        for (n, days) in [(2400u64, 28u64), (1_000_000, 28), (7, 28), (500, 3), (1, 1)] {
            let mut split = Days::new((0..days).map(|_| 1), n);
            for i in 0..n {
                let day = i * days / n;
                let first = (day * n).div_ceil(days);
                let next = ((day + 1) * n).div_ceil(days);
                assert_eq!(
                    split.place(i),
                    Placed { day, first, next },
                    "n={n} days={days} i={i}"
                );
            }
        }
    }

    #[test]
    fn weekend_days_get_their_share_and_every_interaction_a_day() {
        // Five weekdays of weight 6, two weekend days of weight 1.
        let weights = [6, 6, 6, 6, 6, 1, 1];
        let n = 3200;
        let mut split = Days::new(weights, n);
        let mut per_day = [0u64; 7];
        for i in 0..n {
            let placed = split.place(i);
            assert!(placed.first <= i && i < placed.next);
            per_day[placed.day as usize] += 1;
        }
        assert_eq!(per_day, [600, 600, 600, 600, 600, 100, 100]);
    }
}
