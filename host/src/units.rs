//! Durations, sizes and bounded numbers as the config spells them (`"30s"`, `"6h"`,
//! `"1..64"`), with errors that name the key.
//!
//! A leaf module: the config and every module that resolves its own section
//! (`retention`) or prints a duration the way the config writes it
//! (`webhooks`) use it, so none of them has to import the config for it.
//!
//! Pure functions: it must not read configuration or the environment.

use std::time::Duration;

/// `"500ms"`, `"30s"`, `"5m"`, `"6h"`, `"1d"`: a whole number and a unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like \"30s\", \"5m\" or \"6h\""))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "{text:?} has no known unit: use ms, s, m, h or d, as in \"30s\""
            ));
        }
    };
    n.checked_mul(ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// `text` as a duration between `min` and `max`; errors name `key` (`section.name`).
pub fn bounded_duration(
    key: &str,
    text: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, String> {
    let d = parse_duration(text).map_err(|e| format!("{key}: {e}"))?;
    if d < min || d > max {
        return Err(format!(
            "{key} must be between {} and {}, got {text:?}",
            humantime(min),
            humantime(max)
        ));
    }
    Ok(d)
}

/// `n` if it is in `range`; errors name `key`.
pub fn bounded<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    n: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{key} must be between {} and {}, got {n}",
            range.start(),
            range.end()
        ))
    }
}

/// A duration as config would spell it.
pub fn humantime(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".into(),
        ms if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

/// A size for a person: `89.2 KiB`, `18.0 MiB`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
