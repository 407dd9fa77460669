//! Small helpers every rule uses to write its findings: a name made safe for
//! a pattern key, a share as a percentage, a ratio that is zero over nothing,
//! a severity from the share of interactions, a confidence that grows with
//! the evidence, and counts that fit the contract's `u32`.
//!
//! They are here, not in each rule, so that keys and figures read the same
//! whichever rule wrote them.

/// A tool or field name made safe for a pattern key: lowercase ASCII, and
/// anything but letters, digits, `_`, `-` and `.` (a `/` above all, which
/// separates a key's parts) replaced by `_`.
pub fn key_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A share (0 to 1) as a percentage with one decimal: `0.0526` is `5.3%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

use crate::Severity;

/// Share of the window's interactions from which a pattern is of high
/// severity, unless a rule's settings say otherwise.
pub const HIGH_SHARE: f64 = 0.05;
/// ... and of medium severity.
pub const MEDIUM_SHARE: f64 = 0.01;

/// A pattern's severity from the share of interactions it affects: high from
/// `high`, medium from `medium`, else low.
pub fn severity(share: f64, high: f64, medium: f64) -> Severity {
    if share >= high {
        Severity::High
    } else if share >= medium {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// `part / whole`, and 0 when `whole` is 0.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A suggestion's confidence from the interactions behind it: 0.3 for one,
/// growing towards `max` (half way at 10), rounded to two decimals.
pub fn confidence(occurrences: u64, max: f64) -> f32 {
    let n = occurrences as f64;
    let c = 0.3 + (max - 0.3) * n / (n + 10.0);
    ((c * 100.0).round() / 100.0) as f32
}

/// A count as the contract's `u32`, saturating.
pub fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_figures_and_confidence_read_the_same_in_every_rule() {
        assert_eq!(key_part("Search/Flights v2"), "search_flights_v2");
        assert_eq!(key_part("lookup_order"), "lookup_order");
        assert_eq!(percent(0.0526), "5.3%");
        assert_eq!(ratio(1, 0), 0.0);
        assert_eq!(ratio(1, 4), 0.25);
        assert_eq!(confidence(1, 0.8), 0.35);
        assert_eq!(confidence(10, 0.8), 0.55);
        assert!(confidence(1_000_000, 0.8) <= 0.8);
        assert_eq!(saturating_u32(u64::MAX), u32::MAX);
        assert_eq!(severity(0.05, HIGH_SHARE, MEDIUM_SHARE), Severity::High);
        assert_eq!(severity(0.02, HIGH_SHARE, MEDIUM_SHARE), Severity::Medium);
        assert_eq!(severity(0.001, HIGH_SHARE, MEDIUM_SHARE), Severity::Low);
    }
}
