//! Which argument field tells a tool's failing calls from its successful
//! ones, and the fix that follows from it.
//!
//! For each tool the rule keeps one [`Profile`] per outcome (success, or a
//! failure of one error class): per top-level field, how many values had
//! each feature of [`crate::args::feature`], and the most common run
//! signatures. A *marker* is a feature whose share differs between failing
//! and successful calls by at least [`MIN_CONTRAST`] (most failing calls have
//! it, few successful ones do, or the other way round) and by more than
//! chance: the Chernoff bound on drawing that many failing calls with the
//! feature from the successes' distribution must be at most [`MAX_CHANCE`].
//! The field with the strongest marker explains the failures.
//!
//! The fix is worded from the markers only (the field's name, a character
//! such as `#`, "digits", a list's length), never from a value: no id,
//! name or address a user gave ever reaches an instruction. This module
//! knows nothing of any domain.
//!
//! Profiles are kept for every outcome, operational failures included (a
//! tool that times out only on long lists is not down), and for the first
//! [`MAX_SHAPE_PROFILES`] message shapes of unclassified errors, whose
//! causes differ. [`Explanation::caller_clause`] says whether the caller
//! can avoid the failure by asking the same in another shape.
//!
//! Memory per tool is bounded: at most [`MAX_FIELDS`] fields, each with a
//! fixed array of counters and at most [`MAX_SIGNATURES`] signatures per
//! outcome or message shape.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::args::{self, PUNCTUATION, Shape, Signature, feature};
use crate::classify::ErrorClass;

/// Top-level fields tracked per tool (the first ones seen).
pub const MAX_FIELDS: usize = 16;
/// Run signatures remembered per field and outcome.
pub const MAX_SIGNATURES: usize = 8;
/// Message shapes of unclassified errors profiled per tool (the first seen).
pub const MAX_SHAPE_PROFILES: usize = 8;
/// Calls each side needs before arguments are compared: with fewer, any
/// difference is as likely chance.
pub const MIN_CALLS: u64 = 3;
/// Calls of one outcome (per tool) whose arguments are all read; after
/// that, every [`SAMPLE_STRIDE`]th. Shares are what the comparison uses, and
/// a systematic sample keeps them while a million calls cost like a
/// hundred thousand. Both sides are sampled alike, and the figures in a
/// description are of the calls compared.
pub const SAMPLE_ALL: u64 = 4096;
pub const SAMPLE_STRIDE: u64 = 8;
/// Smallest difference between the failing and the successful calls' share
/// of a feature for it to explain the failures (0.7: most failing calls
/// have it and few successful ones do, or the reverse).
pub const MIN_CONTRAST: f64 = 0.7;
/// Largest chance (Chernoff bound) that failing calls drawn like the
/// successful ones would show a marker as often as they do.
pub const MAX_CHANCE: f64 = 1e-3;
/// Share of successful values that must share one run signature for the fix
/// to describe it ("digits only").
const DOMINANT_SHARE: f64 = 0.9;

/// Counters of one field's values in one outcome.
#[derive(Debug, Clone)]
struct FieldStats {
    values: u64,
    counts: [u64; feature::COUNT],
    /// Signature → (values, runs that were a single character in every one).
    signatures: BTreeMap<Signature, (u64, u8)>,
}

impl Default for FieldStats {
    fn default() -> Self {
        FieldStats {
            values: 0,
            counts: [0; feature::COUNT],
            signatures: BTreeMap::new(),
        }
    }
}

impl FieldStats {
    fn add(&mut self, shape: &Shape) {
        self.values += 1;
        for f in shape.features.iter() {
            self.counts[f] += 1;
        }
        if let Some((n, single)) = self.signatures.get_mut(&shape.signature) {
            *n += 1;
            *single &= shape.single_runs;
        } else if self.signatures.len() < MAX_SIGNATURES {
            self.signatures
                .insert(shape.signature, (1, shape.single_runs));
        }
    }

    /// The signature most values have, with its count and single-run mask.
    fn dominant(&self) -> Option<(Signature, u64, u8)> {
        self.signatures
            .iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(a.0)))
            .map(|(s, (n, single))| (*s, *n, *single))
    }
}

/// The arguments of one tool's calls with one outcome.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Calls with this outcome, read or not (see [`SAMPLE_ALL`]).
    seen: u64,
    /// Calls whose arguments were read.
    pub calls: u64,
    fields: BTreeMap<String, FieldStats>,
}

impl Profile {
    /// Counts a call of this outcome; whether its arguments are read (see
    /// [`SAMPLE_ALL`]).
    fn take(&mut self) -> bool {
        self.seen += 1;
        self.seen <= SAMPLE_ALL || self.seen.is_multiple_of(SAMPLE_STRIDE)
    }

    /// Adds one readable call's fields; `known` is the tool's list of
    /// tracked fields, grown up to [`MAX_FIELDS`].
    fn add_fields(
        &mut self,
        known: &mut BTreeSet<String>,
        fields: &[(Cow<'_, str>, args::Value<'_>)],
    ) {
        self.calls += 1;
        for (i, (name, value)) in fields.iter().enumerate() {
            // A field given twice counts once (its first value), so that no
            // field has more values than there are calls.
            if fields[..i].iter().any(|(earlier, _)| earlier == name) {
                continue;
            }
            let name: &str = name;
            let shape = Shape::of(value);
            if let Some(stats) = self.fields.get_mut(name) {
                stats.add(&shape);
                continue;
            }
            if !known.contains(name) {
                if known.len() >= MAX_FIELDS {
                    continue;
                }
                known.insert(name.to_string());
            }
            self.fields.entry(name.to_string()).or_default().add(&shape);
        }
    }

    /// Calls whose `field` had `feature` ([`feature::ABSENT`]: had no `field`).
    fn count(&self, field: &str, feature: usize) -> u64 {
        let stats = self.fields.get(field);
        if feature == feature::ABSENT {
            return self.calls.saturating_sub(stats.map_or(0, |s| s.values));
        }
        stats.map_or(0, |s| s.counts[feature])
    }
}

/// What the outcome of a call was: success, or a failure of a class.
pub type Outcome = Option<ErrorClass>;

/// The argument profiles of one tool.
#[derive(Debug, Clone, Default)]
pub struct ToolArgs {
    /// The fields tracked: the first [`MAX_FIELDS`] names seen.
    known: BTreeSet<String>,
    profiles: BTreeMap<Outcome, Profile>,
    /// Failures of one message shape, by sub-key (at most [`MAX_SHAPE_PROFILES`]).
    shape_profiles: BTreeMap<String, Profile>,
    /// Calls whose arguments were not a JSON object (or too long).
    pub unreadable: u64,
}

impl ToolArgs {
    pub fn record(&mut self, outcome: Outcome, arguments: &str) {
        self.record_shaped(outcome, None, arguments);
    }

    /// Records a call, and for a failure of one message shape (a sub-key of
    /// [`crate::messages`]) also in that shape's own profile, for the first
    /// [`MAX_SHAPE_PROFILES`] shapes: one tool's different errors can have
    /// different causes in its arguments.
    pub fn record_shaped(&mut self, outcome: Outcome, shape: Option<&str>, arguments: &str) {
        let in_main = self.profiles.entry(outcome).or_default().take();
        let in_shape = match shape {
            Some(key) if self.shape_profiles.contains_key(key) => {
                self.shape_profiles.get_mut(key).is_some_and(Profile::take)
            }
            Some(key) if self.shape_profiles.len() < MAX_SHAPE_PROFILES => {
                let mut profile = Profile::default();
                let take = profile.take();
                self.shape_profiles.insert(key.to_string(), profile);
                take
            }
            _ => false,
        };
        if !in_main && !in_shape {
            return;
        }
        let Some(fields) = args::fields(arguments) else {
            self.unreadable += 1;
            return;
        };
        if in_main && let Some(profile) = self.profiles.get_mut(&outcome) {
            profile.add_fields(&mut self.known, &fields);
        }
        if in_shape
            && let Some(key) = shape
            && let Some(profile) = self.shape_profiles.get_mut(key)
        {
            profile.add_fields(&mut self.known, &fields);
        }
    }

    /// Calls with readable arguments: (successful, failed with `class`).
    pub fn compared_calls(&self, class: ErrorClass) -> (u64, u64) {
        let calls = |o: Outcome| self.profiles.get(&o).map_or(0, |p| p.calls);
        (calls(None), calls(Some(class)))
    }

    /// The field whose shape tells calls failing with `class` from
    /// successful ones, if one does beyond chance.
    pub fn explain(&self, class: ErrorClass) -> Option<Explanation> {
        self.explain_failures(self.profiles.get(&Some(class))?)
    }

    /// The same for the failures of one message shape (a sub-key), if that
    /// shape was profiled.
    pub fn explain_shape(&self, subkey: &str) -> Option<Explanation> {
        self.explain_failures(self.shape_profiles.get(subkey)?)
    }

    /// Calls with readable arguments of one message shape.
    pub fn shape_calls(&self, subkey: &str) -> u64 {
        self.shape_profiles.get(subkey).map_or(0, |p| p.calls)
    }

    fn explain_failures(&self, failure: &Profile) -> Option<Explanation> {
        let success = self.profiles.get(&None)?;
        if success.calls < MIN_CALLS || failure.calls < MIN_CALLS {
            return None;
        }
        let mut best: Option<Explanation> = None;
        for field in &self.known {
            let mut markers: Vec<Marker> = (0..=feature::ABSENT)
                .map(|f| Marker {
                    feature: f,
                    failing: (failure.count(field, f), failure.calls),
                    succeeding: (success.count(field, f), success.calls),
                })
                .filter(Marker::is_significant)
                .collect();
            if markers.is_empty() {
                continue;
            }
            // Strongest first, in steps of 0.05 so that a near tie goes to
            // the marker a fix can name best (see `rank`).
            let strength = |m: &Marker| (m.contrast().abs() * 20.0).round() as i64;
            markers.sort_by(|a, b| {
                strength(b)
                    .cmp(&strength(a))
                    .then(rank(a.feature).cmp(&rank(b.feature)))
                    // What failing calls have says more than what they lack.
                    .then((b.contrast() > 0.0).cmp(&(a.contrast() > 0.0)))
                    .then(a.feature.cmp(&b.feature))
            });
            let score = markers.first().map_or(0.0, |m| m.contrast().abs());
            // Strictly better: ties go to the first field by name.
            if best.as_ref().is_none_or(|b| score > b.strength()) {
                let empty = FieldStats::default();
                let s = success.fields.get(field).unwrap_or(&empty);
                let f = failure.fields.get(field).unwrap_or(&empty);
                best = Some(Explanation {
                    field: field.clone(),
                    markers,
                    success_shape: success_shape(s, f),
                    success_lens: list_lens(s),
                    failing_lens: list_lens(f),
                });
            }
        }
        best
    }
}

/// Which of two equally strong markers speaks for a field: a missing field
/// or a wrong kind says the most, then a list's length, then a character
/// the agent can remove (`#`, a space), then a character class (which a
/// character removed may also change: `e-1234` has a `-` *and* a lowercase
/// letter).
fn rank(f: usize) -> u8 {
    use feature::*;
    match f {
        ABSENT => 0,
        TEXT | NUMBER | BOOL | NULL | LIST | OBJECT | EMPTY => 1,
        f if (LIST_LEN..COUNT).contains(&f) => 2,
        f if (PUNCT..LIST_LEN).contains(&f) || f == SPACE || f == OTHER_SYMBOL => 3,
        _ => 4,
    }
}

/// A feature whose share differs between failing and successful calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub feature: usize,
    /// (calls with the feature, calls) among failing calls.
    pub failing: (u64, u64),
    /// The same among successful calls.
    pub succeeding: (u64, u64),
}

fn share((part, whole): (u64, u64)) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Kullback–Leibler divergence of Bernoulli(q) from Bernoulli(p).
fn kl(q: f64, p: f64) -> f64 {
    let term = |a: f64, b: f64| if a <= 0.0 { 0.0 } else { a * (a / b).ln() };
    term(q, p) + term(1.0 - q, 1.0 - p)
}

impl Marker {
    /// Failing share minus successful share: positive when failing calls
    /// have the feature, negative when they lack what successful ones have.
    pub fn contrast(&self) -> f64 {
        share(self.failing) - share(self.succeeding)
    }

    /// Whether the difference is large and beyond chance. The successes'
    /// share is smoothed (one pseudo-call each way) so that a feature no
    /// successful call had is not impossible, only rare.
    fn is_significant(&self) -> bool {
        if self.contrast().abs() < MIN_CONTRAST {
            return false;
        }
        let (s, n) = self.succeeding;
        let p = (s as f64 + 1.0) / (n as f64 + 2.0);
        let q = share(self.failing);
        let chance = (-(self.failing.1 as f64) * kl(q, p)).exp();
        chance <= MAX_CHANCE
    }

    /// What the feature says of a value, for a description:
    /// "contains `#`", "is a number", "is missing".
    fn says(&self) -> String {
        use feature::*;
        let f = self.feature;
        match f {
            TEXT => "is text".into(),
            NUMBER => "is a number".into(),
            BOOL => "is true or false".into(),
            NULL => "is null".into(),
            LIST => "is a list".into(),
            OBJECT => "is an object".into(),
            EMPTY => "is empty".into(),
            DIGIT => "contains a digit".into(),
            LOWER => "contains a lowercase letter".into(),
            UPPER => "contains an uppercase letter".into(),
            SPACE => "contains a space".into(),
            OTHER_LETTER => "contains a letter outside ASCII".into(),
            OTHER_SYMBOL => "contains a symbol outside ASCII".into(),
            ABSENT => "is missing".into(),
            f if (LIST_LEN..LIST_MIN).contains(&f) => format!("has {}", items(f - LIST_LEN)),
            f if (LIST_MIN..COUNT).contains(&f) => match f - LIST_MIN + 1 {
                1 => "has one or more items".into(),
                n => format!("has {} or more items", number(n)),
            },
            f => format!("contains {}", punct_name(punct(f))),
        }
    }
}

/// The punctuation character of a `PUNCT + i` feature.
fn punct(f: usize) -> char {
    PUNCTUATION.chars().nth(f - feature::PUNCT).unwrap_or('?')
}

fn punct_name(c: char) -> String {
    if c == '`' {
        "a backtick".into()
    } else {
        format!("`{c}`")
    }
}

/// A small number in words: structure, not a count of occurrences.
fn number(n: usize) -> String {
    const WORDS: [&str; 11] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string(), |w| (*w).to_string())
}

/// "one item", "three items", and for the last bucket "nine or more items".
fn items(bucket: usize) -> String {
    let n = number(bucket);
    match bucket {
        1 => "one item".into(),
        b if b == feature::LIST_LENS - 1 => format!("{n} or more items"),
        _ => format!("{n} items"),
    }
}

/// Joins as a person would: "a", "a or b", "a, b or c".
pub fn human_list(words: &[String], conjunction: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// "one item", "one or two items", "nine or more items".
fn lens_words(lens: &[usize]) -> String {
    let words: Vec<String> = lens
        .iter()
        .map(|n| {
            if *n == feature::LIST_LENS - 1 {
                format!("{} or more", number(*n))
            } else {
                number(*n)
            }
        })
        .collect();
    let noun = if lens == [1] { "item" } else { "items" };
    format!("{} {noun}", human_list(&words, "or"))
}

/// The list lengths (buckets) seen among a field's values.
fn list_lens(stats: &FieldStats) -> Vec<usize> {
    (0..feature::LIST_LENS)
        .filter(|n| stats.counts[feature::LIST_LEN + n] > 0)
        .collect()
}

/// "digits only", "an uppercase letter followed by digits": the signature
/// nearly all successful values share, unless the failing values mostly
/// share it too (then it does not tell them apart).
fn success_shape(success: &FieldStats, failure: &FieldStats) -> Option<String> {
    let (signature, n, single) = success.dominant()?;
    if signature.is_complex() || share((n, success.values)) < DOMINANT_SHARE {
        return None;
    }
    let in_failures = failure.signatures.get(&signature).map_or(0, |(n, _)| *n);
    if share((in_failures, failure.values)) >= 0.5 {
        return None;
    }
    let runs: Vec<String> = signature
        .classes()
        .enumerate()
        .map(|(i, class)| run_words(class, single & (1 << i) != 0))
        .collect();
    Some(match runs.as_slice() {
        [] => return None,
        [one] if single & 1 != 0 => format!(
            "a single {}",
            one.trim_start_matches("a ").trim_start_matches("an ")
        ),
        [one] => format!("{one} only"),
        [a, b] => format!("{a} followed by {b}"),
        runs => runs.join(", then "),
    })
}

fn run_words(class: char, single: bool) -> String {
    let (one, many) = match class {
        'd' => ("a digit", "digits"),
        'u' => ("an uppercase letter", "uppercase letters"),
        'l' => ("a lowercase letter", "lowercase letters"),
        's' => ("a space", "spaces"),
        'o' => ("a letter outside ASCII", "letters outside ASCII"),
        'x' => ("a symbol", "symbols"),
        p => return punct_name(p),
    };
    if single { one } else { many }.to_string()
}

/// Why a tool's calls fail, as far as one argument field tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub field: String,
    /// Strongest first.
    pub markers: Vec<Marker>,
    /// How successful calls write the field, when nearly all write it alike.
    pub success_shape: Option<String>,
    success_lens: Vec<usize>,
    failing_lens: Vec<usize>,
}

impl Explanation {
    /// Markers on the failing side (failing calls have the feature).
    fn added(&self) -> impl Iterator<Item = usize> + '_ {
        self.markers
            .iter()
            .filter(|m| m.contrast() > 0.0)
            .map(|m| m.feature)
    }

    /// Markers on the successful side (failing calls lack the feature).
    fn lacking(&self) -> impl Iterator<Item = usize> + '_ {
        self.markers
            .iter()
            .filter(|m| m.contrast() < 0.0)
            .map(|m| m.feature)
    }

    fn has_added(&self, f: usize) -> bool {
        self.added().any(|a| a == f)
    }

    /// How far apart failing and successful calls are on the strongest
    /// marker, 0 to 1.
    pub fn strength(&self) -> f64 {
        self.markers.first().map_or(0.0, |m| m.contrast().abs())
    }

    /// The strongest marker, in words, e.g. "`booking_ref` contains `#`".
    pub fn summary(&self) -> String {
        let Some(m) = self.markers.first() else {
            return format!("`{}`", self.field);
        };
        if m.contrast() > 0.0 {
            format!("`{}` {}", self.field, m.says())
        } else {
            format!("`{}` {} in successful calls only", self.field, m.says())
        }
    }

    /// A sentence for the pattern's description, with the figures.
    pub fn finding(&self) -> String {
        let Some(m) = self.markers.first() else {
            return String::new();
        };
        let mut out = format!(
            "The arguments explain it: `{}` {} in {} of {} failing calls and in {} of {} \
             successful ones compared.",
            self.field,
            m.says(),
            m.failing.0,
            m.failing.1,
            m.succeeding.0,
            m.succeeding.1,
        );
        if let Some(shape) = &self.success_shape {
            out.push_str(&format!(" Successful calls pass it as {shape}."));
        } else if self.is_list_marker() && !self.success_lens.is_empty() {
            out.push_str(&format!(
                " Successful calls pass it with {}.",
                lens_words(&self.success_lens)
            ));
        }
        out
    }

    /// Whether the strongest marker is a list's length.
    fn is_list_marker(&self) -> bool {
        self.markers
            .first()
            .is_some_and(|m| (feature::LIST_LEN..feature::COUNT).contains(&m.feature))
    }

    /// What the caller should do instead, when the data show a way to ask
    /// the same thing that the tool handles: the same value in the form
    /// successful calls use, a missing value asked for, a long list split
    /// into the shorter lists successful calls send. `None` when the only
    /// shape that succeeds would drop part of what was asked (a field that
    /// successful calls never send, a list they always send longer, list
    /// lengths that overlap): then only the tool's owner can fix it.
    pub fn caller_clause(&self) -> Option<String> {
        use feature::*;
        if self.lacking().any(|f| f == ABSENT) {
            return None;
        }
        if self.is_list_marker() {
            let (&max_s, &min_f) = (self.success_lens.last()?, self.failing_lens.first()?);
            return (max_s < min_f && max_s > 0)
                .then(|| self.list_clause())
                .flatten();
        }
        Some(self.clause())
    }

    /// What the agent should do, after "When you call `tool`, ": a clause
    /// naming the field and the shape, never a value.
    pub fn clause(&self) -> String {
        use feature::*;
        let field = &self.field;
        if self.has_added(ABSENT) {
            return format!(
                "always pass `{field}`; if you do not have a value for it, ask for one first"
            );
        }
        if self.lacking().any(|f| f == ABSENT) {
            return format!("do not pass `{field}`");
        }
        if self.has_added(NULL) {
            return format!("always give `{field}` a value, never null");
        }
        if self.has_added(EMPTY) {
            return format!(
                "never pass `{field}` empty; if you do not have a value for it, ask for one first"
            );
        }
        let kinds = [TEXT, NUMBER, BOOL, LIST, OBJECT];
        let wanted = self.lacking().find(|f| kinds.contains(f));
        let sent = self.added().find(|f| kinds.contains(f));
        if let Some(wanted) = wanted {
            let mut out = format!("pass `{field}` as {}", kind_noun(wanted));
            if let Some(sent) = sent {
                out.push_str(&format!(", not as {}", kind_noun(sent)));
            }
            return out;
        }
        if self
            .markers
            .iter()
            .any(|m| (LIST_LEN..COUNT).contains(&m.feature))
            && let Some(clause) = self.list_clause()
        {
            return clause;
        }
        self.character_clause()
    }

    /// List lengths: "pass at most two items in `passengers`".
    fn list_clause(&self) -> Option<String> {
        let field = &self.field;
        let (&min_s, &max_s) = (self.success_lens.first()?, self.success_lens.last()?);
        let (&min_f, &max_f) = (self.failing_lens.first()?, self.failing_lens.last()?);
        if max_s < min_f {
            let max = if max_s == 1 {
                "one item".into()
            } else {
                format!("{} items", number(max_s))
            };
            return Some(format!(
                "pass at most {max} in `{field}`; split a longer request into several calls"
            ));
        }
        if max_f < min_s {
            let min = if min_s == 1 {
                "one item".into()
            } else {
                format!("{} items", number(min_s))
            };
            return Some(format!("pass at least {min} in `{field}`"));
        }
        let lens: Vec<String> = self.success_lens.iter().map(|n| number(*n)).collect();
        Some(format!(
            "pass `{field}` with {} items, as the calls that succeed do",
            human_list(&lens, "or")
        ))
    }

    /// Characters: "pass `order_id` as digits only: remove characters such
    /// as `#` before the call", or "pass `code` without spaces or `-`".
    fn character_clause(&self) -> String {
        use feature::*;
        let field = &self.field;
        let puncts: Vec<String> = self
            .added()
            .filter(|f| (PUNCT..LIST_LEN).contains(f))
            .map(|f| punct_name(punct(f)))
            .collect();
        let spaces = self.has_added(SPACE);
        let symbols = self.has_added(OTHER_SYMBOL);
        if let Some(shape) = &self.success_shape {
            let mut remove = Vec::new();
            if spaces {
                remove.push("spaces".to_string());
            }
            if !puncts.is_empty() {
                remove.push(format!("characters such as {}", human_list(&puncts, "and")));
            }
            if symbols {
                remove.push("symbols".to_string());
            }
            if remove.is_empty() {
                return format!("pass `{field}` as {shape}");
            }
            return format!(
                "pass `{field}` as {shape}: remove {} before the call",
                human_list(&remove, "and")
            );
        }
        let class_words = |f: usize| -> Option<&'static str> {
            Some(match f {
                DIGIT => "digits",
                LOWER => "lowercase letters",
                UPPER => "uppercase letters",
                SPACE => "spaces",
                OTHER_LETTER => "letters outside ASCII",
                OTHER_SYMBOL => "symbols",
                _ => return None,
            })
        };
        let mut without: Vec<String> = self
            .added()
            .filter_map(class_words)
            .map(String::from)
            .collect();
        without.extend(puncts);
        let mut with: Vec<String> = self
            .lacking()
            .filter_map(class_words)
            .map(String::from)
            .collect();
        with.extend(
            self.lacking()
                .filter(|f| (PUNCT..LIST_LEN).contains(f))
                .map(|f| punct_name(punct(f))),
        );
        match (with.is_empty(), without.is_empty()) {
            (true, true) => format!("pass `{field}` in the form that successful calls use"),
            (true, false) => format!("pass `{field}` without {}", human_list(&without, "or")),
            (false, true) => format!("pass `{field}` with {}", human_list(&with, "and")),
            (false, false) => format!(
                "pass `{field}` with {} and without {}",
                human_list(&with, "and"),
                human_list(&without, "or")
            ),
        }
    }
}

fn kind_noun(f: usize) -> &'static str {
    match f {
        feature::TEXT => "text (a JSON string)",
        feature::NUMBER => "a number",
        feature::BOOL => "`true` or `false`",
        feature::LIST => "a list",
        _ => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record calls to one tool: (arguments, outcome).
    fn tool(calls: &[(String, Outcome)]) -> ToolArgs {
        let mut args = ToolArgs::default();
        for (arguments, outcome) in calls {
            args.record(*outcome, arguments);
        }
        args
    }

    const BAD: Outcome = Some(ErrorClass::InvalidArgument);

    #[test]
    fn a_hash_in_failing_ids_is_the_marker_and_the_fix_says_digits_only() {
        let mut calls = Vec::new();
        for i in 0..40 {
            calls.push((
                format!(
                    r#"{{"booking_ref": "{}", "seat": "1{}A"}}"#,
                    70000 + i,
                    i % 9
                ),
                None,
            ));
        }
        for i in 0..8 {
            calls.push((
                format!(
                    r##"{{"booking_ref": "#{}", "seat": "2{}C"}}"##,
                    80000 + i,
                    i % 9
                ),
                BAD,
            ));
        }
        let args = tool(&calls);
        let explanation = args.explain(ErrorClass::InvalidArgument);
        let Some(e) = explanation else {
            panic!("no field explains the failures");
        };
        assert_eq!(e.field, "booking_ref");
        assert_eq!(e.success_shape.as_deref(), Some("digits only"));
        assert_eq!(
            e.clause(),
            "pass `booking_ref` as digits only: remove characters such as `#` before the call"
        );
        assert_eq!(e.summary(), "`booking_ref` contains `#`");
        assert!(
            e.finding()
                .contains("in 8 of 8 failing calls and in 0 of 40 successful ones")
        );
    }

    #[test]
    fn past_the_first_calls_a_sample_is_read_and_shares_hold() {
        let n = SAMPLE_ALL + 8_000;
        let mut args = ToolArgs::default();
        for i in 0..n {
            args.record(None, &format!(r#"{{"ref": "{i}"}}"#));
            if i % 10 == 0 {
                args.record(BAD, &format!(r##"{{"ref": "#{i}"}}"##));
            }
        }
        let (successes, failures) = args.compared_calls(ErrorClass::InvalidArgument);
        assert_eq!(successes, SAMPLE_ALL + 8_000 / SAMPLE_STRIDE);
        assert_eq!(failures, n / 10 + 1);
        let e = args.explain(ErrorClass::InvalidArgument);
        assert_eq!(
            e.map(|e| e.summary()).as_deref(),
            Some("`ref` contains `#`")
        );
    }

    #[test]
    fn a_field_sent_twice_counts_once() {
        let mut calls: Vec<(String, Outcome)> = (0..10)
            .map(|i| (format!(r#"{{"seat": "{i}A", "seat": "{i}B"}}"#), None))
            .collect();
        calls.extend((0..10).map(|i| (format!(r#"{{"seat": "{i}A"}}"#), BAD)));
        // Were the second `seat` counted, successful calls would have more
        // values than calls, and `seat` would look missing from failures.
        assert_eq!(tool(&calls).explain(ErrorClass::InvalidArgument), None);
    }

    #[test]
    fn a_missing_field_and_too_long_a_list_are_named_as_such() {
        // Every failing booking left out `fare_class`; every successful one had it.
        let mut calls: Vec<(String, Outcome)> = (0..30)
            .map(|i| (format!(r#"{{"flight": "BA{i}", "fare_class": "Y"}}"#), None))
            .collect();
        calls.extend((0..6).map(|i| (format!(r#"{{"flight": "BA{i}"}}"#), BAD)));
        let e = tool(&calls).explain(ErrorClass::InvalidArgument);
        assert_eq!(
            e.map(|e| e.clause()).as_deref(),
            Some("always pass `fare_class`; if you do not have a value for it, ask for one first")
        );

        // Up to two passengers work; three or four are refused.
        let mut calls: Vec<(String, Outcome)> = (0..30)
            .map(|i| {
                (
                    format!(r#"{{"passengers": [{}]}}"#, ["1", "1, 2"][i % 2]),
                    None,
                )
            })
            .collect();
        calls.extend((0..6).map(|i| {
            (
                format!(
                    r#"{{"passengers": [{}]}}"#,
                    ["1, 2, 3", "1, 2, 3, 4"][i % 2]
                ),
                BAD,
            )
        }));
        let e = tool(&calls).explain(ErrorClass::InvalidArgument);
        assert_eq!(
            e.map(|e| e.clause()).as_deref(),
            Some(
                "pass at most two items in `passengers`; split a longer request into several calls"
            )
        );
    }

    #[test]
    fn a_few_failures_that_differ_by_chance_explain_nothing() {
        // Sizes vary among successes; three failures happen to be letters.
        let mut calls: Vec<(String, Outcome)> = (0..20)
            .map(|i| {
                let size = if i % 2 == 0 {
                    "M".to_string()
                } else {
                    format!("{}", 30 + i)
                };
                (format!(r#"{{"size": "{size}"}}"#), None)
            })
            .collect();
        for _ in 0..3 {
            calls.push((r#"{"size": "L"}"#.to_string(), BAD));
        }
        assert_eq!(tool(&calls).explain(ErrorClass::InvalidArgument), None);
    }

    #[test]
    fn without_successful_calls_there_is_nothing_to_compare() {
        let calls: Vec<(String, Outcome)> = (0..10)
            .map(|i| (format!(r##"{{"id": "#{i}"}}"##), BAD))
            .collect();
        assert_eq!(tool(&calls).explain(ErrorClass::InvalidArgument), None);
    }

    #[test]
    fn shapes_are_described_run_by_run() {
        let stats = |values: &[&str]| {
            let mut s = FieldStats::default();
            for v in values {
                s.add(&Shape::of(&args::Value::Text((*v).into())));
            }
            s
        };
        let none = FieldStats::default();
        let shape = |v: &[&str]| success_shape(&stats(v), &none);
        assert_eq!(
            shape(&["E1234", "A77", "Z9"]).as_deref(),
            Some("an uppercase letter followed by digits")
        );
        assert_eq!(
            shape(&["AB-12", "XY-345"]).as_deref(),
            Some("uppercase letters, then `-`, then digits")
        );
        assert_eq!(
            shape(&["M", "L", "S"]).as_deref(),
            Some("a single uppercase letter")
        );
        assert_eq!(
            shape(&["M", "42"]),
            None,
            "no signature is shared by nearly all"
        );
    }
}
