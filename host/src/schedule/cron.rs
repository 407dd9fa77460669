//! Schedule expressions: a preset or cron expression plus an IANA time zone,
//! turned into fire times (UTC instants, milliseconds since the epoch).
//!
//! # Expressions
//!
//! * Presets: `hourly` (minute 0 of every hour), `daily` (03:00 every day),
//!   `weekly` (Monday 03:00), also spelled `@hourly`, `@daily`, `@weekly`, and
//!   `@midnight` (00:00 every day). Other `@` words (`@reboot`, `@yearly`, …)
//!   are rejected.
//! * Cron with 5 fields `minute hour day-of-month month day-of-week` (second 0,
//!   any year), 6 fields `second minute hour day-of-month month day-of-week`,
//!   or 7 fields `second minute hour day-of-month month day-of-week year`.
//! * Each field is a comma list of `*`, `N`, `A-B`, `*/S`, `A-B/S` or `A/S`
//!   (`A` through the field's maximum in steps of `S`). Month names `JAN`–`DEC`
//!   and weekday names `SUN`–`SAT` are accepted in any case, also inside
//!   ranges (`MON-FRI`). Day-of-week takes 0–7, where 0 and 7 are both Sunday;
//!   `*` and `A/S` in day-of-week run through 6 (Saturday). `?` means `*` and
//!   is only allowed in day-of-month and day-of-week.
//! * Ranges: second 0–59, minute 0–59, hour 0–23, day-of-month 1–31,
//!   month 1–12, day-of-week 0–7, year 1970–2099. A step may not exceed the
//!   number of values in its field (`*/60` is fine for minutes, `*/61` is not).
//! * Ranges that wrap around (`FRI-MON`, `22-2`) are **rejected**; the error
//!   message suggests the two-part spelling (`FRI-SAT,SUN-MON`).
//! * The Quartz extensions `L`, `W` and `#` are rejected as unsupported.
//! * Day matching follows Vixie cron (and cronie): when the day-of-month field
//!   or the day-of-week field starts with `*` (that is `*` or `*/S`) or is `?`,
//!   a day must match both fields (so in effect the other one); when both are
//!   restricted, a day matches if it matches *either* field. So `0 0 13 * FRI`
//!   runs on every 13th and on every Friday.
//! * An expression that can never fire on any date between 1970 and 2099 (such
//!   as `0 0 30 2 *`) is rejected when it is parsed.
//! * Nothing fires after the year 2099.
//!
//! # Time zones and daylight saving time
//!
//! Fire times are matched against the *local wall-clock time* in the
//! schedule's time zone, and every matching local time is then mapped to
//! instants as follows:
//!
//! 1. A local time that exists exactly once fires at that instant.
//! 2. A local time inside a spring-forward gap (it does not exist) fires once,
//!    at the instant of the transition, which is the first instant after the
//!    jump (for example 03:00 local in New York on 2026-03-08). Several
//!    matching local times inside one gap, and a matching local time equal to
//!    the first time after the gap, all collapse into that single run.
//! 3. A local time that occurs twice (a fall-back overlap) fires once, at the
//!    first (earlier) occurrence, when the hour field is fixed, i.e. does not
//!    match all 24 hours (see [`Schedule::is_fixed_hour`]). When the hour field
//!    matches every hour (`hourly`, `*/15 * * * *`), it fires at both
//!    occurrences: such schedules are about elapsed time, so an hourly
//!    schedule keeps firing every real hour through the repeated hour.
//!
//! Consequences: a daily job runs exactly once on every local date, also on
//! both transition days; an hourly job fires every real hour, never twice at
//! the same instant and never with more than an hour between runs.
//! [`Schedule::next_after`] returns the earliest such instant strictly after the
//! given one (during an overlap the local order and the instant order differ;
//! the search follows the instant order). Fire times are whole seconds.
//!
//! In zones that shift by 30 minutes (Australia/Lord_Howe) an hourly job's
//! runs are 30 or 90 minutes apart across a transition. A gap longer than a
//! day (Pacific/Apia skipped 2011-12-30) folds that day's runs into the run at
//! the transition.
//!
//! The search walks the UTC offset periods of the zone. It relies on two facts
//! that hold for every zone in the bundled time zone database from 1970 to
//! 2099 (checked by scanning all zones): two offset changes are always more
//! than 3 days apart (the closest pair is about 7 days apart), and the clock
//! never goes back by 8 hours or more at once (the largest step back is 7
//! hours). A typical `next_after` costs about 0.1 µs; a yearly expression
//! about 2 µs.

use chrono::{DateTime, Offset, SecondsFormat, TimeZone};
use chrono_tz::Tz;

/// Offset changes of a zone are assumed to be further apart than this; the
/// search probes the offset at this interval to find them.
const PROBE_SECONDS: i64 = 3 * 86_400;
/// The clock is assumed never to go back by this much or more at once.
const MAX_BACKWARD_SECONDS: i64 = 8 * 3_600;

const FIRST_YEAR: i64 = 1970;
const LAST_YEAR: i64 = 2099;
/// Searches start no earlier than this (1969-12-30T00:00:00Z).
const MIN_SEARCH_SECONDS: i64 = -2 * 86_400;
/// Nothing fires after this (2100-01-02T00:00:00Z, past any local 2099).
const MAX_SEARCH_SECONDS: i64 = 4_102_444_800 + 86_400;

const PRESET_HINT: &str = "use a preset (hourly, daily, weekly, @hourly, @daily, @weekly, @midnight) or a cron expression with 5, 6 or 7 fields";

/// Why a schedule expression or time zone was rejected. The `Display` text is
/// meant to be shown to people as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression was empty or only whitespace.
    #[error("the schedule is empty: {PRESET_HINT}, such as \"0 3 * * *\"")]
    Empty,
    /// A single word that is not a supported preset.
    #[error("unknown schedule \"{token}\": {PRESET_HINT}")]
    UnknownPreset {
        /// The word as given.
        token: String,
    },
    /// Neither a preset nor 5, 6 or 7 fields.
    #[error(
        "expected 5, 6 or 7 fields (minute hour day-of-month month day-of-week, optionally with seconds first and a year last), got {count} in \"{expression}\""
    )]
    FieldCount {
        /// How many whitespace-separated fields were found.
        count: usize,
        /// The expression as given (trimmed).
        expression: String,
    },
    /// One field is malformed.
    #[error("{field} field: {message} (in \"{expression}\")")]
    Field {
        /// The field's name, such as `minute` or `day-of-week`.
        field: &'static str,
        /// What is wrong, naming the offending token.
        message: String,
        /// The expression as given (trimmed).
        expression: String,
    },
    /// The fields are valid but no date and time matches them.
    #[error("never fires: {reason} (in \"{expression}\")")]
    NeverFires {
        /// Which fields cannot be satisfied together.
        reason: String,
        /// The expression as given (trimmed).
        expression: String,
    },
    /// The time zone is not an IANA name known to the time zone database.
    #[error("unknown time zone \"{name}\": use an IANA name such as `Europe/Berlin` or `UTC`")]
    UnknownTimeZone {
        /// The name as given.
        name: String,
    },
}

/// One fire time: the instant and the local wall time it corresponds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FireTime {
    /// Milliseconds since the Unix epoch (UTC).
    pub at_ms: i64,
    /// The local wall time as RFC 3339 with offset, e.g. `2026-03-08T03:00:00-04:00`.
    pub local: String,
}

/// A parsed schedule: which local times match, in which time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expression: String,
    tz: Tz,
    canonical: String,
    seconds: u64,
    minutes: u64,
    hours: u64,
    /// Days of the month that match (bits 1..=31), given the weekday of the
    /// 1st of the month (index 0 = Sunday). Combines day-of-month and
    /// day-of-week by the Vixie rule; days past the month's end still set.
    days_by_first_weekday: [u64; 7],
    months: u64,
    /// Bit `y - 1970`.
    years: Bits,
    fixed_hour: bool,
}

/// Check a time zone name: an IANA name such as `Europe/Berlin` or `UTC`.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    let trimmed = name.trim();
    trimmed
        .parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimeZone {
            name: trimmed.to_string(),
        })
}

impl Schedule {
    /// `expression`: a preset or cron expression; `timezone`: IANA name like
    /// "Europe/Berlin" or "UTC".
    pub fn parse(expression: &str, timezone: &str) -> Result<Schedule, ScheduleError> {
        let expression = expression.trim();
        let fields = parse_expression(expression)?;
        let tz = parse_timezone(timezone)?;
        let schedule = Schedule::from_fields(expression, tz, &fields);
        if schedule.next_local(0).is_none() {
            return Err(ScheduleError::NeverFires {
                reason: never_fires_reason(&fields),
                expression: expression.to_string(),
            });
        }
        Ok(schedule)
    }

    /// The first fire time strictly after `after_ms`; `None` if the expression
    /// never fires again (its years are all in the past, or after 2099).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let after_s = after_ms.div_euclid(1000);
        if after_s >= MAX_SEARCH_SECONDS {
            return None;
        }
        let first = after_s.max(MIN_SEARCH_SECONDS) + 1;
        self.next_at_or_after(first).map(|s| s * 1000)
    }

    /// The next `count` fire times after `after_ms`, each with its local wall
    /// time as RFC 3339 with offset, e.g. "2026-03-08T03:00:00-04:00".
    pub fn preview(&self, after_ms: i64, count: usize) -> Vec<FireTime> {
        let mut out = Vec::with_capacity(count.min(1024));
        let mut t = after_ms;
        while out.len() < count {
            let Some(at_ms) = self.next_after(t) else {
                break;
            };
            let Some(utc) = DateTime::from_timestamp_millis(at_ms) else {
                break;
            };
            let local = utc
                .with_timezone(&self.tz)
                .to_rfc3339_opts(SecondsFormat::Secs, false);
            out.push(FireTime { at_ms, local });
            t = at_ms;
        }
        out
    }

    /// The expression as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The schedule's time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The 7-field cron form the expression means (seconds minutes hours
    /// day-of-month month day-of-week year), e.g. `daily` is
    /// `0 0 3 * * * *`. Names become numbers; used for display.
    pub fn canonical(&self) -> String {
        self.canonical.clone()
    }

    /// Whether the hour field is fixed, i.e. does not match all 24 hours. A
    /// fixed-hour schedule fires only at the first occurrence of a repeated
    /// local time; other schedules fire at both occurrences.
    pub fn is_fixed_hour(&self) -> bool {
        self.fixed_hour
    }

    fn from_fields(expression: &str, tz: Tz, f: &Fields) -> Schedule {
        let dom = f.dom.bits.word(0);
        let mut dow = f.dow.bits.word(0);
        if dow & (1 << 7) != 0 {
            dow = (dow | 1) & !(1 << 7);
        }
        let dom_star = f.dom.star.is_some();
        let dow_star = f.dow.star.is_some();
        let mut days_by_first_weekday = [0u64; 7];
        for (first, slot) in days_by_first_weekday.iter_mut().enumerate() {
            let mut by_weekday = 0u64;
            for day in 1..=31u32 {
                let weekday = (first as u32 + day - 1) % 7;
                if dow & (1 << weekday) != 0 {
                    by_weekday |= 1 << day;
                }
            }
            *slot = if dom_star || dow_star {
                dom & by_weekday
            } else {
                dom | by_weekday
            };
        }
        let hours = f.hour.bits.word(0);
        Schedule {
            expression: expression.to_string(),
            tz,
            canonical: canonical_text(f),
            seconds: f.second.bits.word(0),
            minutes: f.minute.bits.word(0),
            hours,
            days_by_first_weekday,
            months: f.month.bits.word(0),
            years: f.year.bits,
            fixed_hour: hours != (1 << 24) - 1,
        }
    }

    /// UTC offset in seconds at instant `t`.
    fn offset_at(&self, t: i64) -> Option<i64> {
        let utc = DateTime::from_timestamp(t, 0)?.naive_utc();
        Some(i64::from(
            self.tz
                .offset_from_utc_datetime(&utc)
                .fix()
                .local_minus_utc(),
        ))
    }

    /// The first instant in `(lo, hi]` whose offset differs from `offset`
    /// (the offset at `lo`), assuming offset changes are more than
    /// `PROBE_SECONDS` apart.
    fn find_change(&self, lo: i64, hi: i64, offset: i64) -> Option<Option<i64>> {
        let mut from = lo;
        while from < hi {
            let to = (from + PROBE_SECONDS).min(hi);
            if self.offset_at(to)? != offset {
                let (mut same, mut differs) = (from, to);
                while differs - same > 1 {
                    let mid = same + (differs - same) / 2;
                    if self.offset_at(mid)? == offset {
                        same = mid;
                    } else {
                        differs = mid;
                    }
                }
                return Some(Some(differs));
            }
            from = to;
        }
        Some(None)
    }

    /// The earliest fire instant (seconds) at or after `first`.
    fn next_at_or_after(&self, first: i64) -> Option<i64> {
        let mut offset = self.offset_at(first)?;
        // The offset change that started the current period, with the offset
        // before it, if it is recent enough to matter (a gap exactly at
        // `first`, or local times still repeating after a fall-back).
        let mut period_start: Option<(i64, i64)> = None;
        let back = first - MAX_BACKWARD_SECONDS;
        let back_offset = self.offset_at(back)?;
        if back_offset != offset
            && let Some(change) = self.find_change(back, first, back_offset)?
        {
            period_start = Some((change, self.offset_at(change - 1)?));
        }
        let mut period_from = first;
        loop {
            // Rule 2: local times in a gap that opens at an eligible instant
            // fire once, at the transition (together with a match at the
            // first local time after the gap).
            if let Some((change, before)) = period_start
                && change >= first
                && before < offset
            {
                let n = self.next_local(change + before)?;
                if n <= change + offset {
                    return Some(change);
                }
            }
            // Instants in [period_from, end) all have `offset`.
            let mut checked = period_from;
            let mut end: Option<i64> = None;
            let mut from = period_from + offset;
            let next_period = loop {
                let n = self.next_local(from)?;
                let candidate = n - offset;
                let inside = match end {
                    Some(e) => candidate < e,
                    None if candidate <= checked => true,
                    None => match self.find_change(checked, candidate, offset)? {
                        None => {
                            checked = candidate;
                            true
                        }
                        Some(change) => {
                            end = Some(change);
                            candidate < change
                        }
                    },
                };
                if !inside {
                    break end?;
                }
                // Rule 3: a repeated local time's second occurrence fires only
                // when the hour field matches every hour.
                let second_occurrence = matches!(period_start,
                    Some((change, before)) if before > offset && n < change + before);
                if second_occurrence && self.fixed_hour {
                    from = n + 1;
                    continue;
                }
                return Some(candidate);
            };
            period_start = Some((next_period, offset));
            offset = self.offset_at(next_period)?;
            period_from = next_period;
        }
    }

    /// The first matching local wall time (seconds since 1970-01-01T00:00 in
    /// local terms) at or after `from`, or `None` after 2099.
    fn next_local(&self, from: i64) -> Option<i64> {
        let (mut y, mut mo, mut d) = civil_from_days(from.div_euclid(86_400));
        let sod = from.rem_euclid(86_400);
        let (mut h, mut mi, mut s) = (sod / 3600, sod % 3600 / 60, sod % 60);
        if y < FIRST_YEAR {
            (y, mo, d, h, mi, s) = (FIRST_YEAR, 1, 1, 0, 0, 0);
        }
        loop {
            if y > LAST_YEAR {
                return None;
            }
            let year_index = (y - FIRST_YEAR) as u32;
            match self.years.next(year_index) {
                None => return None,
                Some(found) if found != year_index => {
                    y = FIRST_YEAR + i64::from(found);
                    (mo, d, h, mi, s) = (1, 1, 0, 0, 0);
                }
                Some(_) => {}
            }
            match next_bit(self.months, mo as u32) {
                None => {
                    (y, mo, d, h, mi, s) = (y + 1, 1, 1, 0, 0, 0);
                    continue;
                }
                Some(found) if i64::from(found) != mo => {
                    (mo, d, h, mi, s) = (i64::from(found), 1, 0, 0, 0);
                }
                Some(_) => {}
            }
            let first_weekday = (days_from_civil(y, mo, 1) + 4).rem_euclid(7) as usize;
            let month_days = (1u64 << (days_in_month(y, mo) + 1)) - 2;
            let days = self.days_by_first_weekday[first_weekday] & month_days;
            match next_bit(days, d as u32) {
                None => {
                    (mo, d, h, mi, s) = (mo + 1, 1, 0, 0, 0);
                    if mo > 12 {
                        (y, mo) = (y + 1, 1);
                    }
                    continue;
                }
                Some(found) if i64::from(found) != d => {
                    (d, h, mi, s) = (i64::from(found), 0, 0, 0);
                }
                Some(_) => {}
            }
            match next_bit(self.hours, h as u32) {
                None => {
                    (d, h, mi, s) = (d + 1, 0, 0, 0);
                    continue;
                }
                Some(found) if i64::from(found) != h => {
                    (h, mi, s) = (i64::from(found), 0, 0);
                }
                Some(_) => {}
            }
            match next_bit(self.minutes, mi as u32) {
                None => {
                    (h, mi, s) = (h + 1, 0, 0);
                    continue;
                }
                Some(found) if i64::from(found) != mi => {
                    (mi, s) = (i64::from(found), 0);
                }
                Some(_) => {}
            }
            match next_bit(self.seconds, s as u32) {
                None => {
                    (mi, s) = (mi + 1, 0);
                    continue;
                }
                Some(found) => s = i64::from(found),
            }
            return Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s);
        }
    }
}

/// The lowest set bit at index `from` or above.
fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (u64::MAX << from);
    (rest != 0).then(|| rest.trailing_zeros())
}

/// A small bitset (192 bits), enough for the 130 years 1970–2099.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bits([u64; 3]);

impl Bits {
    fn set(&mut self, i: u32) {
        if let Some(word) = self.0.get_mut((i / 64) as usize) {
            *word |= 1 << (i % 64);
        }
    }

    fn get(&self, i: u32) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    fn word(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    fn next(&self, from: u32) -> Option<u32> {
        let mut i = from;
        while i < 192 {
            let word = i / 64;
            if let Some(found) = next_bit(self.word(word as usize), i % 64) {
                return Some(word * 64 + found);
            }
            i = (word + 1) * 64;
        }
        None
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------------------
// Parsing

#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    None,
    Months,
    Days,
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Upper end of `*` and `A/S` (6 for day-of-week, else `max`).
    open_max: u32,
    /// Value stored at bit 0 (1970 for years, else 0).
    base: u32,
    names: Names,
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    open_max: 59,
    base: 0,
    names: Names::None,
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    open_max: 59,
    base: 0,
    names: Names::None,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    open_max: 23,
    base: 0,
    names: Names::None,
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    open_max: 31,
    base: 0,
    names: Names::None,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    open_max: 12,
    base: 0,
    names: Names::Months,
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    open_max: 6,
    base: 0,
    names: Names::Days,
};
const YEAR: FieldSpec = FieldSpec {
    name: "year",
    min: 1970,
    max: 2099,
    open_max: 2099,
    base: 1970,
    names: Names::None,
};

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct Field {
    bits: Bits,
    /// `Some(step)` when the field is `*`, `?` (step 1) or `*/step`: it counts
    /// as unrestricted for the day-of-month/day-of-week rule.
    star: Option<u32>,
    /// The field's text as given, for messages.
    text: String,
}

struct Fields {
    second: Field,
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
    year: Field,
}

fn parse_expression(expression: &str) -> Result<Fields, ScheduleError> {
    let parts: Vec<&str> = expression.split_whitespace().collect();
    if parts.is_empty() {
        return Err(ScheduleError::Empty);
    }
    if let [word] = parts.as_slice() {
        let lower = word.to_ascii_lowercase();
        let cron = match lower.as_str() {
            "hourly" | "@hourly" => Some("0 0 * * * * *"),
            "daily" | "@daily" => Some("0 0 3 * * * *"),
            "weekly" | "@weekly" => Some("0 0 3 * * 1 *"),
            "@midnight" => Some("0 0 0 * * * *"),
            _ => None,
        };
        return match cron {
            Some(cron) => parse_fields(expression, &cron.split(' ').collect::<Vec<_>>()),
            None if word.starts_with('@') || word.chars().all(|c| c.is_ascii_alphabetic()) => {
                Err(ScheduleError::UnknownPreset {
                    token: (*word).to_string(),
                })
            }
            None => Err(ScheduleError::FieldCount {
                count: 1,
                expression: expression.to_string(),
            }),
        };
    }
    parse_fields(expression, &parts)
}

fn parse_fields(expression: &str, parts: &[&str]) -> Result<Fields, ScheduleError> {
    let field = |text: &str, spec: &FieldSpec| parse_field(text, spec, expression);
    let (second, rest) = match parts.len() {
        5 => ("0", parts),
        6 | 7 => (parts[0], &parts[1..]),
        count => {
            return Err(ScheduleError::FieldCount {
                count,
                expression: expression.to_string(),
            });
        }
    };
    Ok(Fields {
        second: field(second, &SECOND)?,
        minute: field(rest[0], &MINUTE)?,
        hour: field(rest[1], &HOUR)?,
        dom: field(rest[2], &DAY_OF_MONTH)?,
        month: field(rest[3], &MONTH)?,
        dow: field(rest[4], &DAY_OF_WEEK)?,
        year: field(rest.get(5).copied().unwrap_or("*"), &YEAR)?,
    })
}

fn parse_field(text: &str, spec: &FieldSpec, expression: &str) -> Result<Field, ScheduleError> {
    let fail = |message: String| ScheduleError::Field {
        field: spec.name,
        message,
        expression: expression.to_string(),
    };
    let day_field = spec.names == Names::Days || spec.name == DAY_OF_MONTH.name;
    let mut bits = Bits::default();
    let mut star = None;
    let items: Vec<&str> = text.split(',').collect();
    for item in &items {
        if item.is_empty() {
            return Err(fail(format!("empty item in the list \"{text}\"")));
        }
        let upper = item.to_ascii_uppercase();
        if let Some(extension) = quartz_extension(&upper, spec) {
            return Err(fail(format!(
                "\"{item}\" uses {extension}, which is not supported (the Quartz extensions L, W and # are not supported)"
            )));
        }
        let (base, step) = match item.split_once('/') {
            None => (*item, None),
            Some((base, step)) => (base, Some(parse_step(item, step, spec).map_err(fail)?)),
        };
        let (start, end) = if base == "*" || base == "?" {
            if base == "?" {
                if !day_field {
                    return Err(fail(
                        "\"?\" is only allowed in the day-of-month and day-of-week fields"
                            .to_string(),
                    ));
                }
                if step.is_some() {
                    return Err(fail(format!("\"{item}\": \"?\" cannot take a step")));
                }
            }
            if items.len() == 1 {
                star = Some(step.unwrap_or(1));
            }
            (spec.min, spec.open_max)
        } else if let Some((low, high)) = base.split_once('-') {
            if low.is_empty() || high.is_empty() || high.contains('-') {
                return Err(fail(format!(
                    "\"{item}\" is not a valid range: write a range as START-END, e.g. {}",
                    example_range(spec)
                )));
            }
            let start = parse_value(low, spec).map_err(fail)?;
            let end = parse_value(high, spec).map_err(fail)?;
            if start > end {
                return Err(fail(reversed_range_message(item, low, high, spec)));
            }
            (start, end)
        } else {
            let value = parse_value(base, spec).map_err(fail)?;
            match step {
                Some(_) => (value, spec.open_max.max(value)),
                None => (value, value),
            }
        };
        let step = step.unwrap_or(1);
        let mut value = start;
        while value <= end {
            let value_bit = if spec.names == Names::Days && value == 7 {
                0
            } else {
                value
            };
            bits.set(value_bit - spec.base);
            value += step;
        }
    }
    Ok(Field {
        bits,
        star,
        text: text.to_string(),
    })
}

fn quartz_extension(upper: &str, spec: &FieldSpec) -> Option<char> {
    if upper.contains('#') {
        return Some('#');
    }
    if spec.name == DAY_OF_MONTH.name {
        if upper.starts_with('L') {
            return Some('L');
        }
        if upper.ends_with('W') {
            return Some('W');
        }
    }
    if spec.names == Names::Days && upper.ends_with('L') {
        return Some('L');
    }
    None
}

fn parse_step(item: &str, step: &str, spec: &FieldSpec) -> Result<u32, String> {
    let values = spec.open_max - spec.min + 1;
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "\"{item}\": the step \"{step}\" after \"/\" must be a whole number"
        ));
    }
    match step.parse::<u32>() {
        Ok(0) => Err(format!("\"{item}\": the step must be at least 1, not 0")),
        Ok(n) if n <= values => Ok(n),
        _ => Err(format!(
            "\"{item}\": the step {step} is larger than the {values} values {}–{} of this field",
            spec.min, spec.open_max
        )),
    }
}

fn parse_value(token: &str, spec: &FieldSpec) -> Result<u32, String> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
            _ => Err(format!("{token} is out of range {}–{}", spec.min, spec.max)),
        };
    }
    let upper = token.to_ascii_uppercase();
    match spec.names {
        Names::Months => MONTH_NAMES
            .iter()
            .position(|name| *name == upper)
            .map(|i| i as u32 + 1)
            .ok_or_else(|| format!("\"{token}\" is not a month name (JAN–DEC) or number 1–12")),
        Names::Days => DAY_NAMES
            .iter()
            .position(|name| *name == upper)
            .map(|i| i as u32)
            .ok_or_else(|| format!("\"{token}\" is not a day name (SUN–SAT) or number 0–7")),
        Names::None => Err(format!(
            "\"{token}\" is not a number {}–{}",
            spec.min, spec.max
        )),
    }
}

fn example_range(spec: &FieldSpec) -> &'static str {
    match spec.names {
        Names::Months => "\"JAN-MAR\" or \"1-3\"",
        Names::Days => "\"MON-FRI\" or \"1-5\"",
        Names::None if spec.name == YEAR.name => "\"2026-2030\"",
        Names::None if spec.name == DAY_OF_MONTH.name => "\"1-15\"",
        Names::None => "\"0-5\"",
    }
}

fn reversed_range_message(item: &str, low: &str, high: &str, spec: &FieldSpec) -> String {
    let is_name = |s: &str| s.bytes().any(|b| b.is_ascii_alphabetic());
    let (last, first) = match spec.names {
        Names::Days if is_name(low) || is_name(high) => ("SAT".to_string(), "SUN".to_string()),
        Names::Months if is_name(low) || is_name(high) => ("DEC".to_string(), "JAN".to_string()),
        _ => (spec.open_max.to_string(), spec.min.to_string()),
    };
    if item.contains('/') {
        return format!("the range \"{item}\" runs backwards; ranges do not wrap around");
    }
    format!(
        "the range \"{item}\" runs backwards; ranges do not wrap around, write \"{low}-{last},{first}-{high}\" instead"
    )
}

fn never_fires_reason(f: &Fields) -> String {
    let mut parts = vec![
        format!("day-of-month \"{}\"", f.dom.text),
        format!("month \"{}\"", f.month.text),
    ];
    if f.dow.star.is_none() && f.dom.star.is_some() {
        parts.push(format!("day-of-week \"{}\"", f.dow.text));
    }
    if f.year.star != Some(1) {
        parts.push(format!("year \"{}\"", f.year.text));
    }
    let last = parts.pop().unwrap_or_default();
    format!("no calendar date matches {} and {last}", parts.join(", "))
}

fn canonical_text(f: &Fields) -> String {
    [
        render_field(&f.second, &SECOND),
        render_field(&f.minute, &MINUTE),
        render_field(&f.hour, &HOUR),
        render_field(&f.dom, &DAY_OF_MONTH),
        render_field(&f.month, &MONTH),
        render_field(&f.dow, &DAY_OF_WEEK),
        render_field(&f.year, &YEAR),
    ]
    .join(" ")
}

fn render_field(field: &Field, spec: &FieldSpec) -> String {
    let day_field = spec.name == DAY_OF_MONTH.name || spec.names == Names::Days;
    match field.star {
        Some(1) => return "*".to_string(),
        // Keeps the field unrestricted for the day-of-month/day-of-week rule.
        Some(step) if day_field => return format!("*/{step}"),
        _ => {}
    }
    let values: Vec<u32> = (spec.min..=spec.open_max)
        .filter(|v| field.bits.get(v - spec.base))
        .collect();
    let full = values.len() as u32 == spec.open_max - spec.min + 1;
    if full && !day_field {
        return "*".to_string();
    }
    if let [first, second, .., last] = values.as_slice() {
        let step = second - first;
        let progression = step >= 2 && values.windows(2).all(|w| w[1] - w[0] == step);
        if progression {
            return if last + step > spec.open_max {
                if *first == spec.min && !day_field {
                    format!("*/{step}")
                } else {
                    format!("{first}/{step}")
                }
            } else {
                format!("{first}-{last}/{step}")
            };
        }
    }
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        runs.push(if i == j {
            values[i].to_string()
        } else {
            format!("{}-{}", values[i], values[j])
        });
        i = j + 1;
    }
    runs.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Milliseconds of an RFC 3339 instant.
    fn ms(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .expect("test instant is valid RFC 3339")
            .timestamp_millis()
    }

    /// An instant as RFC 3339 UTC, e.g. "2026-03-08T07:00:00Z".
    fn utc(ms: i64) -> String {
        DateTime::from_timestamp_millis(ms)
            .expect("instant in range")
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    fn schedule(expression: &str, tz: &str) -> Schedule {
        Schedule::parse(expression, tz)
            .unwrap_or_else(|e| panic!("{expression:?} in {tz} should parse: {e}"))
    }

    /// The next `count` fire times after `after`, as RFC 3339 UTC strings.
    fn fires(expression: &str, tz: &str, after: &str, count: usize) -> Vec<String> {
        let s = schedule(expression, tz);
        let mut out = Vec::new();
        let mut t = ms(after);
        for _ in 0..count {
            let Some(next) = s.next_after(t) else { break };
            assert!(
                next > t,
                "next_after({}) = {} is not later",
                utc(t),
                utc(next)
            );
            out.push(utc(next));
            t = next;
        }
        out
    }

    fn parse_error(expression: &str) -> String {
        match Schedule::parse(expression, "UTC") {
            Ok(s) => panic!("{expression:?} should be rejected, got {}", s.canonical()),
            Err(e) => e.to_string(),
        }
    }

    // ----- parsing -------------------------------------------------------

    #[test]
    fn valid_expressions_and_their_canonical_form() {
        let table: &[(&str, &str)] = &[
            ("hourly", "0 0 * * * * *"),
            ("@hourly", "0 0 * * * * *"),
            ("daily", "0 0 3 * * * *"),
            ("@daily", "0 0 3 * * * *"),
            ("DAILY", "0 0 3 * * * *"),
            ("weekly", "0 0 3 * * 1 *"),
            ("@weekly", "0 0 3 * * 1 *"),
            ("@midnight", "0 0 0 * * * *"),
            ("  30 2 * * *  ", "0 30 2 * * * *"),
            ("*/15 * * * *", "0 */15 * * * * *"),
            ("0 9 * * MON-FRI", "0 0 9 * * 1-5 *"),
            ("0 9 * * mon-fri", "0 0 9 * * 1-5 *"),
            ("0 9 1 jan,Jul *", "0 0 9 1 1,7 * *"),
            ("0 0 ? * 0", "0 0 0 * * 0 *"),
            ("0 0 * * 7", "0 0 0 * * 0 *"),
            ("0 0 * * 5-7", "0 0 0 * * 0,5-6 *"),
            ("0 0 * * 0-7", "0 0 0 * * 0-6 *"),
            ("10-20/5 * * * *", "0 10-20/5 * * * * *"),
            ("5/20 * * * *", "0 5/20 * * * * *"),
            ("0 0 1-31/2 * *", "0 0 0 1/2 * * *"),
            ("0 0 */2 * MON", "0 0 0 */2 * 1 *"),
            ("0 0 13 * FRI", "0 0 0 13 * 5 *"),
            ("30 0 12 * * *", "30 0 12 * * * *"),
            ("*/20 * * * * ?", "*/20 * * * * * *"),
            ("0 0 12 1 1 * 2027,2029", "0 0 12 1 1 * 2027,2029"),
            ("0 0 12 1 1 * 2030-2032", "0 0 12 1 1 * 2030-2032"),
            ("0 0 0 29 2 * *", "0 0 0 29 2 * *"),
            ("0 0 0-23 * * *", "0 0 * * * * *"),
            ("59 23 31 12 *", "0 59 23 31 12 * *"),
            ("0 0 * * 1/2", "0 0 0 * * 1/2 *"),
            ("*/60 * * * *", "0 0 * * * * *"),
            ("0\t3\t*\t*\t*", "0 0 3 * * * *"),
        ];
        for (expression, canonical) in table {
            let s = schedule(expression, "UTC");
            assert_eq!(
                s.canonical(),
                *canonical,
                "canonical form of {expression:?}"
            );
            assert_eq!(s.expression(), expression.trim());
            // The canonical form means the same schedule.
            let again = schedule(canonical, "UTC");
            assert_eq!(again.canonical(), *canonical);
            assert_eq!(
                (
                    again.seconds,
                    again.minutes,
                    again.hours,
                    again.months,
                    again.years
                ),
                (s.seconds, s.minutes, s.hours, s.months, s.years),
                "{expression:?}"
            );
            assert_eq!(again.days_by_first_weekday, s.days_by_first_weekday);
        }
    }

    #[test]
    fn invalid_expressions_name_the_field_and_token() {
        // (expression, fragments the message must contain)
        let table: &[(&str, &[&str])] = &[
            ("", &["empty"]),
            ("   ", &["empty"]),
            ("* * * *", &["expected 5, 6 or 7 fields", "got 4"]),
            ("0 0 0 * * * * *", &["expected 5, 6 or 7 fields", "got 8"]),
            ("5", &["expected 5, 6 or 7 fields", "got 1"]),
            (
                "daly",
                &["unknown schedule \"daly\"", "hourly, daily, weekly"],
            ),
            ("@reboot", &["\"@reboot\"", "@midnight"]),
            ("@yearly", &["\"@yearly\"", "hourly, daily, weekly"]),
            (
                "61 * * * *",
                &["minute field: 61 is out of range 0–59 (in \"61 * * * *\")"],
            ),
            ("* 24 * * *", &["hour field: 24 is out of range 0–23"]),
            ("0 0 0 * * *", &[]), // valid; replaced below
            (
                "0 0 32 * *",
                &["day-of-month field: 32 is out of range 1–31"],
            ),
            ("0 0 0 * *", &["day-of-month field: 0 is out of range 1–31"]),
            ("0 0 * 13 *", &["month field: 13 is out of range 1–12"]),
            ("0 0 * * 8", &["day-of-week field: 8 is out of range 0–7"]),
            (
                "0 0 * * FUN",
                &["day-of-week field: \"FUN\" is not a day name (SUN–SAT) or number 0–7"],
            ),
            (
                "0 0 * FOO *",
                &["month field: \"FOO\" is not a month name (JAN–DEC)"],
            ),
            ("60 * * * * *", &["second field: 60 is out of range 0–59"]),
            (
                "0 0 0 1 1 * 1969",
                &["year field: 1969 is out of range 1970–2099"],
            ),
            (
                "0 0 0 1 1 * 2100",
                &["year field: 2100 is out of range 1970–2099"],
            ),
            ("*/0 * * * *", &["minute field", "\"*/0\"", "at least 1"]),
            ("*/61 * * * *", &["minute field", "\"*/61\"", "larger than"]),
            ("*/x * * * *", &["minute field", "\"*/x\"", "whole number"]),
            (
                "5-1 * * * *",
                &["minute field", "\"5-1\"", "backwards", "\"5-59,0-1\""],
            ),
            ("0 22-2 * * *", &["hour field", "\"22-2\"", "\"22-23,0-2\""]),
            (
                "0 0 * * FRI-MON",
                &["day-of-week field", "\"FRI-MON\"", "\"FRI-SAT,SUN-MON\""],
            ),
            (
                "1-2-3 * * * *",
                &["minute field", "\"1-2-3\"", "not a valid range"],
            ),
            (
                "-5 * * * *",
                &["minute field", "\"-5\"", "not a valid range"],
            ),
            ("1,,2 * * * *", &["minute field", "empty item", "\"1,,2\""]),
            (
                "abc * * * *",
                &["minute field", "\"abc\" is not a number 0–59"],
            ),
            ("? * * * *", &["minute field", "\"?\" is only allowed"]),
            (
                "0 0 L * *",
                &["day-of-month field", "\"L\"", "not supported"],
            ),
            (
                "0 0 15W * *",
                &["day-of-month field", "\"15W\"", "not supported"],
            ),
            (
                "0 0 * * 5L",
                &["day-of-week field", "\"5L\"", "not supported"],
            ),
            (
                "0 0 * * FRI#2",
                &["day-of-week field", "\"FRI#2\"", "not supported"],
            ),
            (
                "0 0 30 2 *",
                &["never fires", "day-of-month \"30\"", "month \"2\""],
            ),
            ("0 0 31 4,6,9,11 *", &["never fires", "day-of-month \"31\""]),
            ("0 0 0 29 2 * 2027", &["never fires", "year \"2027\""]),
            (
                "99999999999 * * * *",
                &["minute field: 99999999999 is out of range 0–59"],
            ),
        ];
        let mut rows = 0;
        for (expression, fragments) in table {
            if fragments.is_empty() {
                assert!(Schedule::parse(expression, "UTC").is_ok(), "{expression:?}");
                continue;
            }
            let message = parse_error(expression);
            for fragment in *fragments {
                assert!(
                    message.contains(fragment),
                    "message for {expression:?} lacks {fragment:?}: {message}"
                );
            }
            rows += 1;
        }
        assert!(rows >= 25);
    }

    #[test]
    fn error_messages_read_well() {
        assert_eq!(
            parse_error("61 * * * *"),
            "minute field: 61 is out of range 0–59 (in \"61 * * * *\")"
        );
        assert_eq!(
            parse_error("0 0 * * FUN"),
            "day-of-week field: \"FUN\" is not a day name (SUN–SAT) or number 0–7 (in \"0 0 * * FUN\")"
        );
        assert_eq!(
            parse_error("0 0 30 2 *"),
            "never fires: no calendar date matches day-of-month \"30\" and month \"2\" (in \"0 0 30 2 *\")"
        );
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            parse_timezone("Europe/Berlin"),
            Ok(chrono_tz::Europe::Berlin)
        );
        assert_eq!(parse_timezone(" UTC "), Ok(chrono_tz::UTC));
        let err = parse_timezone("Europe/Berln").expect_err("misspelt zone");
        assert_eq!(
            err.to_string(),
            "unknown time zone \"Europe/Berln\": use an IANA name such as `Europe/Berlin` or `UTC`"
        );
        let err = Schedule::parse("daily", "Mars/Olympus").expect_err("unknown zone");
        assert!(matches!(err, ScheduleError::UnknownTimeZone { .. }));
        let s = schedule("daily", "America/New_York");
        assert_eq!(s.timezone(), chrono_tz::America::New_York);
    }

    #[test]
    fn fixed_hour() {
        assert!(!schedule("hourly", "UTC").is_fixed_hour());
        assert!(!schedule("*/15 * * * *", "UTC").is_fixed_hour());
        assert!(!schedule("0 0-23 * * *", "UTC").is_fixed_hour());
        assert!(schedule("daily", "UTC").is_fixed_hour());
        assert!(schedule("0 0-22 * * *", "UTC").is_fixed_hour());
        assert!(schedule("*/5 1 * * *", "UTC").is_fixed_hour());
    }

    // ----- cron semantics (UTC) ------------------------------------------

    #[test]
    fn day_of_month_or_day_of_week() {
        // 2026-01-01 is a Thursday; Feb 13 2026 is a Friday (fires once).
        assert_eq!(
            fires("0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z", 9),
            [
                "2026-01-02T00:00:00Z",
                "2026-01-09T00:00:00Z",
                "2026-01-13T00:00:00Z",
                "2026-01-16T00:00:00Z",
                "2026-01-23T00:00:00Z",
                "2026-01-30T00:00:00Z",
                "2026-02-06T00:00:00Z",
                "2026-02-13T00:00:00Z",
                "2026-02-20T00:00:00Z",
            ]
        );
        // Only day-of-month restricted.
        assert_eq!(
            fires("0 0 13 * *", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"]
        );
        // Only day-of-week restricted, via `?`.
        assert_eq!(
            fires("0 12 ? * MON", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-01-05T12:00:00Z", "2026-01-12T12:00:00Z"]
        );
        // Vixie: a day-of-month starting with `*` makes both fields required:
        // odd days that are Mondays (Jan 5 2026 is odd, Jan 12 even, Jan 19 odd).
        assert_eq!(
            fires("0 0 */2 * MON", "UTC", "2026-01-01T00:00:00Z", 3),
            [
                "2026-01-05T00:00:00Z",
                "2026-01-19T00:00:00Z",
                "2026-02-09T00:00:00Z"
            ]
        );
    }

    #[test]
    fn sunday_is_zero_and_seven() {
        let expected = ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"];
        for expression in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun"] {
            assert_eq!(
                fires(expression, "UTC", "2026-01-01T00:00:00Z", 2),
                expected,
                "{expression}"
            );
        }
        // 5-7 = Friday, Saturday, Sunday.
        assert_eq!(
            fires("0 0 * * 5-7", "UTC", "2026-01-01T00:00:00Z", 4),
            [
                "2026-01-02T00:00:00Z",
                "2026-01-03T00:00:00Z",
                "2026-01-04T00:00:00Z",
                "2026-01-09T00:00:00Z"
            ]
        );
    }

    #[test]
    fn year_field() {
        assert_eq!(
            fires("0 0 12 1 1 * 2027,2029", "UTC", "2026-01-01T00:00:00Z", 5),
            ["2027-01-01T12:00:00Z", "2029-01-01T12:00:00Z"]
        );
        let past = schedule("0 0 0 1 1 * 2020", "UTC");
        assert_eq!(
            past.next_after(ms("2019-06-01T00:00:00Z")),
            Some(ms("2020-01-01T00:00:00Z"))
        );
        assert_eq!(past.next_after(ms("2026-01-01T00:00:00Z")), None);
        // Nothing after 2099.
        let yearly = schedule("0 0 1 1 *", "UTC");
        assert_eq!(
            yearly.next_after(ms("2098-06-01T00:00:00Z")),
            Some(ms("2099-01-01T00:00:00Z"))
        );
        assert_eq!(yearly.next_after(ms("2099-06-01T00:00:00Z")), None);
        assert_eq!(yearly.next_after(i64::MAX), None);
        assert_eq!(
            yearly.next_after(i64::MIN),
            Some(ms("1970-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn steps_names_seconds() {
        assert_eq!(
            fires("10-20/5 * * * *", "UTC", "2026-01-01T00:00:00Z", 4),
            [
                "2026-01-01T00:10:00Z",
                "2026-01-01T00:15:00Z",
                "2026-01-01T00:20:00Z",
                "2026-01-01T01:10:00Z"
            ]
        );
        assert_eq!(
            fires("5/20 * * * *", "UTC", "2026-01-01T00:00:00Z", 4),
            [
                "2026-01-01T00:05:00Z",
                "2026-01-01T00:25:00Z",
                "2026-01-01T00:45:00Z",
                "2026-01-01T01:05:00Z"
            ]
        );
        assert_eq!(
            fires("0 9 1 jun *", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-06-01T09:00:00Z", "2027-06-01T09:00:00Z"]
        );
        assert_eq!(
            fires("0 9 * FEB-MAR MON-FRI", "UTC", "2026-01-30T12:00:00Z", 2),
            ["2026-02-02T09:00:00Z", "2026-02-03T09:00:00Z"]
        );
        assert_eq!(
            fires("*/20 * * * * *", "UTC", "2026-01-01T00:00:00Z", 4),
            [
                "2026-01-01T00:00:20Z",
                "2026-01-01T00:00:40Z",
                "2026-01-01T00:01:00Z",
                "2026-01-01T00:01:20Z"
            ]
        );
        assert_eq!(
            fires("30 0 12 * * *", "UTC", "2026-01-01T00:00:00Z", 1),
            ["2026-01-01T12:00:30Z"]
        );
        // Leap day.
        assert_eq!(
            fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
        );
        // Last day of the year, then the next year's.
        assert_eq!(
            fires("59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", 1),
            ["2027-12-31T23:59:00Z"]
        );
    }

    #[test]
    fn strictly_after_and_sub_second() {
        let every_second = schedule("* * * * * *", "UTC");
        assert_eq!(every_second.next_after(1_000_000), Some(1_001_000));
        assert_eq!(every_second.next_after(1_000_500), Some(1_001_000));
        assert_eq!(every_second.next_after(999_999), Some(1_000_000));
        assert_eq!(every_second.next_after(-1), Some(0));
        let daily = schedule("daily", "UTC");
        let at = ms("2026-05-05T03:00:00Z");
        assert_eq!(daily.next_after(at - 1), Some(at));
        assert_eq!(daily.next_after(at), Some(at + 86_400_000));
    }

    // ----- golden DST tables ---------------------------------------------
    // America/New_York 2026: springs forward 2026-03-08 02:00 EST -> 03:00 EDT
    // (07:00Z); falls back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z), so
    // local 01:00-01:59 happens twice. Europe/Berlin 2026: springs forward
    // 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); falls back 2026-10-25
    // 03:00 CEST -> 02:00 CET (01:00Z), so local 02:00-02:59 happens twice.

    const NY: &str = "America/New_York";
    const BERLIN: &str = "Europe/Berlin";

    #[test]
    fn new_york_daily_in_skipped_hour() {
        assert_eq!(
            fires("30 2 * * *", NY, "2026-03-06T12:00:00Z", 4),
            [
                "2026-03-07T07:30:00Z", // 02:30 EST
                "2026-03-08T07:00:00Z", // 02:30 does not exist: at the jump, 03:00 EDT
                "2026-03-09T06:30:00Z", // 02:30 EDT
                "2026-03-10T06:30:00Z",
            ]
        );
        // The same job at fall-back: 02:30 is not repeated.
        assert_eq!(
            fires("30 2 * * *", NY, "2026-10-30T12:00:00Z", 3),
            [
                "2026-10-31T06:30:00Z", // 02:30 EDT
                "2026-11-01T07:30:00Z", // 02:30 EST
                "2026-11-02T07:30:00Z",
            ]
        );
    }

    #[test]
    fn new_york_daily_in_repeated_hour() {
        assert_eq!(
            fires("30 1 * * *", NY, "2026-10-30T12:00:00Z", 3),
            [
                "2026-10-31T05:30:00Z", // 01:30 EDT
                "2026-11-01T05:30:00Z", // first 01:30 (EDT) only
                "2026-11-02T06:30:00Z", // 01:30 EST
            ]
        );
        assert_eq!(
            fires("30 1 * * *", NY, "2026-03-06T12:00:00Z", 3),
            [
                "2026-03-07T06:30:00Z", // 01:30 EST
                "2026-03-08T06:30:00Z", // 01:30 EST, before the jump
                "2026-03-09T05:30:00Z", // 01:30 EDT
            ]
        );
        // Asked during the second 01:xx, the first 01:30 is already past.
        let s = schedule("30 1 * * *", NY);
        assert_eq!(
            s.next_after(ms("2026-11-01T06:10:00Z")).map(utc).as_deref(),
            Some("2026-11-02T06:30:00Z")
        );
        assert_eq!(
            s.next_after(ms("2026-11-01T05:40:00Z")).map(utc).as_deref(),
            Some("2026-11-02T06:30:00Z")
        );
    }

    #[test]
    fn new_york_daily_preset() {
        assert_eq!(
            fires("daily", NY, "2026-03-06T12:00:00Z", 3),
            [
                "2026-03-07T08:00:00Z", // 03:00 EST
                "2026-03-08T07:00:00Z", // 03:00 EDT
                "2026-03-09T07:00:00Z",
            ]
        );
        assert_eq!(
            fires("daily", NY, "2026-10-30T12:00:00Z", 3),
            [
                "2026-10-31T07:00:00Z", // 03:00 EDT
                "2026-11-01T08:00:00Z", // 03:00 EST
                "2026-11-02T08:00:00Z",
            ]
        );
    }

    #[test]
    fn new_york_hourly() {
        assert_eq!(
            fires("hourly", NY, "2026-03-08T04:30:00Z", 5),
            [
                "2026-03-08T05:00:00Z", // 00:00 EST
                "2026-03-08T06:00:00Z", // 01:00 EST
                "2026-03-08T07:00:00Z", // 02:00 skipped, collapses with 03:00 EDT
                "2026-03-08T08:00:00Z", // 04:00 EDT
                "2026-03-08T09:00:00Z",
            ]
        );
        assert_eq!(
            fires("hourly", NY, "2026-11-01T03:30:00Z", 5),
            [
                "2026-11-01T04:00:00Z", // 00:00 EDT
                "2026-11-01T05:00:00Z", // 01:00 EDT
                "2026-11-01T06:00:00Z", // 01:00 EST
                "2026-11-01T07:00:00Z", // 02:00 EST
                "2026-11-01T08:00:00Z", // 03:00 EST
            ]
        );
    }

    #[test]
    fn new_york_half_hourly_through_fall_back() {
        assert_eq!(
            fires("*/30 * * * *", NY, "2026-11-01T04:10:00Z", 7),
            [
                "2026-11-01T04:30:00Z", // 00:30 EDT
                "2026-11-01T05:00:00Z", // 01:00 EDT
                "2026-11-01T05:30:00Z", // 01:30 EDT
                "2026-11-01T06:00:00Z", // 01:00 EST
                "2026-11-01T06:30:00Z", // 01:30 EST
                "2026-11-01T07:00:00Z", // 02:00 EST
                "2026-11-01T07:30:00Z", // 02:30 EST
            ]
        );
    }

    #[test]
    fn new_york_several_times_in_gap_collapse() {
        assert_eq!(
            fires("0,15,30,45 2 * * *", NY, "2026-03-07T12:00:00Z", 5),
            [
                "2026-03-08T07:00:00Z", // all of 02:00-02:45 skipped: one run at 03:00 EDT
                "2026-03-09T06:00:00Z", // 02:00 EDT
                "2026-03-09T06:15:00Z",
                "2026-03-09T06:30:00Z",
                "2026-03-09T06:45:00Z",
            ]
        );
        // A match at 03:00 too still gives one run at the jump.
        assert_eq!(
            fires("0 2,3 * * *", NY, "2026-03-07T12:00:00Z", 3),
            [
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:00:00Z", // 02:00 EDT
                "2026-03-09T07:00:00Z", // 03:00 EDT
            ]
        );
    }

    #[test]
    fn new_york_boundaries_of_the_jump() {
        let s = schedule("30 2 * * *", NY);
        assert_eq!(
            s.next_after(ms("2026-03-08T06:59:59Z")).map(utc).as_deref(),
            Some("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            s.next_after(ms("2026-03-08T06:59:59.999Z"))
                .map(utc)
                .as_deref(),
            Some("2026-03-08T07:00:00Z")
        );
        assert_eq!(
            s.next_after(ms("2026-03-08T07:00:00Z")).map(utc).as_deref(),
            Some("2026-03-09T06:30:00Z")
        );
        let hourly = schedule("hourly", NY);
        assert_eq!(
            hourly
                .next_after(ms("2026-11-01T05:59:59Z"))
                .map(utc)
                .as_deref(),
            Some("2026-11-01T06:00:00Z")
        );
        assert_eq!(
            hourly
                .next_after(ms("2026-11-01T06:00:00Z"))
                .map(utc)
                .as_deref(),
            Some("2026-11-01T07:00:00Z")
        );
        assert_eq!(
            hourly
                .next_after(ms("2026-11-01T05:30:00Z"))
                .map(utc)
                .as_deref(),
            Some("2026-11-01T06:00:00Z")
        );
    }

    #[test]
    fn berlin_daily_in_skipped_hour() {
        assert_eq!(
            fires("30 2 * * *", BERLIN, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T01:30:00Z", // 02:30 CET
                "2026-03-29T01:00:00Z", // skipped: at the jump, 03:00 CEST
                "2026-03-30T00:30:00Z", // 02:30 CEST
            ]
        );
    }

    #[test]
    fn berlin_daily_in_repeated_hour() {
        assert_eq!(
            fires("30 2 * * *", BERLIN, "2026-10-23T12:00:00Z", 3),
            [
                "2026-10-24T00:30:00Z", // 02:30 CEST
                "2026-10-25T00:30:00Z", // first 02:30 (CEST) only
                "2026-10-26T01:30:00Z", // 02:30 CET
            ]
        );
    }

    #[test]
    fn berlin_daily_preset() {
        assert_eq!(
            fires("daily", BERLIN, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T02:00:00Z", // 03:00 CET
                "2026-03-29T01:00:00Z", // 03:00 CEST
                "2026-03-30T01:00:00Z",
            ]
        );
        assert_eq!(
            fires("daily", BERLIN, "2026-10-23T12:00:00Z", 3),
            [
                "2026-10-24T01:00:00Z", // 03:00 CEST
                "2026-10-25T02:00:00Z", // 03:00 CET
                "2026-10-26T02:00:00Z",
            ]
        );
    }

    #[test]
    fn berlin_hourly() {
        assert_eq!(
            fires("hourly", BERLIN, "2026-03-28T22:30:00Z", 5),
            [
                "2026-03-28T23:00:00Z", // 00:00 CET
                "2026-03-29T00:00:00Z", // 01:00 CET
                "2026-03-29T01:00:00Z", // 02:00 skipped, collapses with 03:00 CEST
                "2026-03-29T02:00:00Z", // 04:00 CEST
                "2026-03-29T03:00:00Z",
            ]
        );
        assert_eq!(
            fires("hourly", BERLIN, "2026-10-24T21:30:00Z", 6),
            [
                "2026-10-24T22:00:00Z", // 00:00 CEST
                "2026-10-24T23:00:00Z", // 01:00 CEST
                "2026-10-25T00:00:00Z", // 02:00 CEST
                "2026-10-25T01:00:00Z", // 02:00 CET
                "2026-10-25T02:00:00Z", // 03:00 CET
                "2026-10-25T03:00:00Z", // 04:00 CET
            ]
        );
    }

    #[test]
    fn berlin_half_hourly_through_fall_back() {
        assert_eq!(
            fires("*/30 * * * *", BERLIN, "2026-10-24T23:40:00Z", 6),
            [
                "2026-10-25T00:00:00Z", // 02:00 CEST
                "2026-10-25T00:30:00Z", // 02:30 CEST
                "2026-10-25T01:00:00Z", // 02:00 CET
                "2026-10-25T01:30:00Z", // 02:30 CET
                "2026-10-25T02:00:00Z", // 03:00 CET
                "2026-10-25T02:30:00Z", // 03:30 CET
            ]
        );
    }

    #[test]
    fn berlin_several_times_in_gap_collapse() {
        assert_eq!(
            fires("0,15,30,45 2 * * *", BERLIN, "2026-03-28T12:00:00Z", 5),
            [
                "2026-03-29T01:00:00Z", // one run at 03:00 CEST
                "2026-03-30T00:00:00Z", // 02:00 CEST
                "2026-03-30T00:15:00Z",
                "2026-03-30T00:30:00Z",
                "2026-03-30T00:45:00Z",
            ]
        );
    }

    #[test]
    fn preview_shows_local_times_with_offsets() {
        let s = schedule("30 2 * * *", NY);
        let preview = s.preview(ms("2026-03-06T12:00:00Z"), 3);
        let local: Vec<&str> = preview.iter().map(|f| f.local.as_str()).collect();
        assert_eq!(
            local,
            [
                "2026-03-07T02:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T02:30:00-04:00"
            ]
        );
        assert_eq!(preview[1].at_ms, ms("2026-03-08T07:00:00Z"));

        let hourly = schedule("hourly", NY).preview(ms("2026-11-01T04:30:00Z"), 3);
        let local: Vec<&str> = hourly.iter().map(|f| f.local.as_str()).collect();
        assert_eq!(
            local,
            [
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T02:00:00-05:00"
            ]
        );

        let berlin = schedule("30 2 * * *", BERLIN).preview(ms("2026-10-24T12:00:00Z"), 2);
        assert_eq!(
            berlin,
            [
                FireTime {
                    at_ms: ms("2026-10-25T00:30:00Z"),
                    local: "2026-10-25T02:30:00+02:00".to_string()
                },
                FireTime {
                    at_ms: ms("2026-10-26T01:30:00Z"),
                    local: "2026-10-26T02:30:00+01:00".to_string()
                },
            ]
        );

        let utc_preview = schedule("daily", "UTC").preview(0, 1);
        assert_eq!(utc_preview[0].local, "1970-01-01T03:00:00+00:00");

        let ends = schedule("0 0 0 1 1 * 2027", "UTC").preview(ms("2026-01-01T00:00:00Z"), 5);
        assert_eq!(ends.len(), 1);
        assert!(schedule("daily", "UTC").preview(0, 0).is_empty());
    }

    /// Local dates of all fires in local year 2026.
    fn fires_in_2026(expression: &str, tz: &str) -> (usize, BTreeSet<chrono::NaiveDate>) {
        let s = schedule(expression, tz);
        let zone = s.timezone();
        let start = zone
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("unambiguous")
            .timestamp_millis()
            - 1;
        let end = zone
            .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
            .single()
            .expect("unambiguous")
            .timestamp_millis();
        let mut count = 0;
        let mut dates = BTreeSet::new();
        let mut t = start;
        while let Some(next) = s.next_after(t) {
            if next >= end {
                break;
            }
            let local = DateTime::from_timestamp_millis(next)
                .expect("in range")
                .with_timezone(&zone);
            dates.insert(local.date_naive());
            count += 1;
            t = next;
        }
        (count, dates)
    }

    #[test]
    fn daily_jobs_fire_once_per_local_date_for_a_year() {
        for tz in [NY, BERLIN] {
            for expression in [
                "daily",
                "30 2 * * *",
                "30 1 * * *",
                "59 2 * * *",
                "@midnight",
            ] {
                let (count, dates) = fires_in_2026(expression, tz);
                assert_eq!(count, 365, "{expression} in {tz}");
                assert_eq!(dates.len(), 365, "{expression} in {tz}");
            }
        }
    }

    #[test]
    fn hourly_fires_every_real_hour_for_a_year() {
        for tz in [NY, BERLIN, "UTC", "Australia/Lord_Howe"] {
            let s = schedule("hourly", tz);
            let end = ms("2027-01-01T00:00:00Z");
            let mut t = ms("2026-01-01T00:00:00Z") - 1;
            let mut previous: Option<i64> = None;
            let mut count = 0;
            while let Some(next) = s.next_after(t).filter(|next| *next < end) {
                if let Some(previous) = previous {
                    let gap = next - previous;
                    // Lord Howe shifts by 30 minutes: an "hour" can last 30 or 90 minutes.
                    let allowed = if tz == "Australia/Lord_Howe" {
                        [1_800_000, 3_600_000, 5_400_000].contains(&gap)
                    } else {
                        gap == 3_600_000
                    };
                    assert!(allowed, "{tz}: {} then {}", utc(previous), utc(next));
                }
                previous = Some(next);
                t = next;
                count += 1;
            }
            if tz != "Australia/Lord_Howe" {
                assert_eq!(count, 8760, "{tz}");
            }
        }
    }

    /// Brute force: every whole second in a window, mapped by the DST rule.
    fn brute_force(s: &Schedule, from: i64, to: i64) -> Vec<i64> {
        let zone = s.timezone();
        let mut out = BTreeSet::new();
        let start_local = from + 14 * 3600;
        let first = start_local - 40 * 3600;
        let mut n = s.next_local(first);
        while let Some(local) = n {
            if local > to + 40 * 3600 {
                break;
            }
            let naive = DateTime::from_timestamp(local, 0)
                .expect("in range")
                .naive_utc();
            match zone.from_local_datetime(&naive) {
                chrono::LocalResult::Single(t) => {
                    out.insert(t.timestamp());
                }
                chrono::LocalResult::Ambiguous(early, late) => {
                    out.insert(early.timestamp());
                    if !s.is_fixed_hour() {
                        out.insert(late.timestamp());
                    }
                }
                chrono::LocalResult::None => {
                    let gap = chrono_tz::GapInfo::new(&naive, &zone).expect("in a gap");
                    out.insert(gap.end.expect("gap ends").timestamp());
                }
            }
            n = s.next_local(local + 1);
        }
        out.into_iter().filter(|t| *t > from && *t <= to).collect()
    }

    #[test]
    fn agrees_with_brute_force_around_transitions() {
        let cases: &[(&str, &str, &str)] = &[
            ("*/10 * * * *", NY, "2026-03-07T20:00:00Z"),
            ("*/10 * * * *", NY, "2026-10-31T20:00:00Z"),
            ("*/10 1-2 * * *", NY, "2026-10-31T20:00:00Z"),
            ("0,30 * * * *", BERLIN, "2026-10-24T12:00:00Z"),
            ("15 * * * *", BERLIN, "2026-03-28T12:00:00Z"),
            ("*/7 2 * * *", BERLIN, "2026-03-28T12:00:00Z"),
            ("*/7 2 * * *", BERLIN, "2026-10-24T12:00:00Z"),
            ("0 */2 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z"),
            (
                "*/15 * * * *",
                "Australia/Lord_Howe",
                "2026-10-03T00:00:00Z",
            ),
            ("0 0 * * *", "Pacific/Apia", "2011-12-28T00:00:00Z"),
            ("*/20 * * * *", "Antarctica/Vostok", "2023-12-17T00:00:00Z"),
        ];
        for (expression, tz, from) in cases {
            let s = schedule(expression, tz);
            let from = ms(from) / 1000;
            let to = from + 3 * 86_400;
            let expected = brute_force(&s, from, to);
            let mut got = Vec::new();
            let mut t = from * 1000;
            while let Some(next) = s.next_after(t) {
                if next > to * 1000 {
                    break;
                }
                got.push(next / 1000);
                t = next;
            }
            assert_eq!(got, expected, "{expression} in {tz}");
            // Starting from every minute in the window gives the same answers.
            for probe in (from..to).step_by(60) {
                let want = expected.iter().copied().find(|t| *t > probe);
                if let Some(want) = want {
                    assert_eq!(
                        s.next_after(probe * 1000),
                        Some(want * 1000),
                        "{expression} in {tz} after {}",
                        utc(probe * 1000)
                    );
                }
            }
        }
    }
}
