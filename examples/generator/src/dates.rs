//! Calendar arithmetic on UTC days and seconds, without a date crate.
//!
//! Days are counted from 1970-01-01 (Howard Hinnant's `days_from_civil`
//! algorithm), which is all the generator needs: parse `--start`, format RFC
//! 3339 timestamps, and name dates the way a support bot would ("Thursday,
//! November 5").

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parse `YYYY-MM-DD` into a day number.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid date {text:?}: expected YYYY-MM-DD");
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let month: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let day: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return Err(bad());
    }
    Ok(days)
}

/// `2026-10-27T09:14:03Z` for seconds since the epoch.
pub fn rfc3339(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// `2026-10-27`.
pub fn iso_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `October 27`.
pub fn month_day(days: i64) -> String {
    let (_, m, d) = civil_from_days(days);
    let month = MONTHS.get(m as usize - 1).copied().unwrap_or("?");
    format!("{month} {d}")
}

/// `Tuesday, October 27`.
pub fn weekday_month_day(days: i64) -> String {
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    format!("{weekday}, {}", month_day(days))
}

/// Whether a day number is a Saturday or a Sunday.
pub fn is_weekend(days: i64) -> bool {
    matches!(WEEKDAYS[days.rem_euclid(7) as usize], "Saturday" | "Sunday")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_formats_known_dates() {
        let d = days_from_civil(2026, 10, 26);
        assert_eq!(civil_from_days(d), (2026, 10, 26));
        assert_eq!(iso_date(d), "2026-10-26");
        assert_eq!(weekday_month_day(d), "Monday, October 26");
        assert!(!is_weekend(d) && is_weekend(d - 1) && is_weekend(d - 2) && !is_weekend(d - 3));
        assert_eq!(
            rfc3339(d * 86_400 + 9 * 3600 + 14 * 60 + 3),
            "2026-10-26T09:14:03Z"
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(iso_date(days_from_civil(2028, 2, 29) + 1), "2028-03-01");
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("26/10/2026").is_err());
        assert_eq!(parse_date("2026-10-26"), Ok(days_from_civil(2026, 10, 26)));
    }
}
