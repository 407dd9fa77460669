//! The `tool-failures` rule: tools that keep failing, and why.
//!
//! In the `analyse` stage it reads every tool call of every interaction and
//! sorts each failed call into an error class (`timeout`, `rate_limited`,
//! `not_found`, `invalid_argument`, `permission_denied`, `unavailable`,
//! `other`) by status codes and keywords in the normalised error text. It
//! groups failures by tool and class and reports each group that failed at
//! least `min_occurrences` times, with the tool's failure rate, the share of
//! interactions affected and the most common error message.
//!
//! What it proposes depends on whose problem it is: arguments the agent got
//! wrong are a prompt problem (an instruction quoting what the tool expects);
//! a slow or overloaded tool is an operations problem (an instruction to fail
//! gracefully, and a flag for review when the tool fails often); the rest is
//! flagged for a person.
//!
//! Memory is bounded whatever the window: at most [`MAX_TOOLS`] tools and
//! [`MAX_GROUPS`] (tool, class) groups, each with counters, at most
//! [`MAX_EVIDENCE`] interaction ids and at most [`MAX_MESSAGES`] distinct
//! masked error messages.

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, Findings, Inputs, Interaction, Metric, Pattern, Rule, RuleInfo,
    SettingSpec, Severity, Stage, Suggestion, log, setting_or, text,
};

/// Interaction ids kept as evidence per pattern (the host keeps at most 20).
pub const MAX_EVIDENCE: usize = 20;
/// Distinct tool names tracked; calls to further tools only count in the metrics.
pub const MAX_TOOLS: usize = 500;
/// Distinct (tool, class) groups tracked; further failures only count in the metrics.
pub const MAX_GROUPS: usize = 1000;
/// Distinct masked error messages remembered per group; the rarest are dropped when full.
pub const MAX_MESSAGES: usize = 100;
/// Longest tool name kept (longer names are cut, so a hostile name cannot grow memory).
const MAX_NAME_CHARS: usize = 100;
/// Longest error message kept as a sample.
const MAX_SAMPLE_CHARS: usize = 200;

/// Why a tool call failed, as far as its error text tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    Timeout,
    RateLimited,
    NotFound,
    InvalidArgument,
    PermissionDenied,
    Unavailable,
    Other,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Timeout => "timeout",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::NotFound => "not_found",
            ErrorClass::InvalidArgument => "invalid_argument",
            ErrorClass::PermissionDenied => "permission_denied",
            ErrorClass::Unavailable => "unavailable",
            ErrorClass::Other => "other",
        }
    }

    /// Failures the agent cannot fix by calling the tool differently.
    fn is_operational(self) -> bool {
        matches!(
            self,
            ErrorClass::Timeout | ErrorClass::RateLimited | ErrorClass::Unavailable
        )
    }
}

/// A keyword: a whole word or phrase (`W`), or a substring of any word (`S`),
/// for names run together like `ReadTimeoutError` or `PermissionError`.
enum Key {
    W(&'static str),
    S(&'static str),
}

/// Status codes: the most reliable signal, so they are checked first.
const CODES: &[(&str, ErrorClass)] = &[
    ("408", ErrorClass::Timeout),
    ("504", ErrorClass::Timeout),
    ("429", ErrorClass::RateLimited),
    ("404", ErrorClass::NotFound),
    ("410", ErrorClass::NotFound),
    ("400", ErrorClass::InvalidArgument),
    ("422", ErrorClass::InvalidArgument),
    ("401", ErrorClass::PermissionDenied),
    ("403", ErrorClass::PermissionDenied),
    ("500", ErrorClass::Unavailable),
    ("502", ErrorClass::Unavailable),
    ("503", ErrorClass::Unavailable),
];

/// Keywords by class, in the order classes are tried: the more specific
/// operational words before the generic "invalid"/"expected".
const KEYWORDS: &[(ErrorClass, &[Key])] = {
    use Key::{S, W};
    &[
        (
            ErrorClass::Timeout,
            &[
                S("timeout"),
                W("timed out"),
                W("time out"),
                W("deadline exceeded"),
            ],
        ),
        (
            ErrorClass::RateLimited,
            &[
                W("rate limit"),
                W("rate limited"),
                S("ratelimit"),
                W("too many requests"),
                W("quota exceeded"),
            ],
        ),
        (
            ErrorClass::PermissionDenied,
            &[
                S("unauthori"),
                S("forbidden"),
                S("permission"),
                W("access denied"),
                W("not allowed"),
            ],
        ),
        (
            ErrorClass::Unavailable,
            &[
                S("unavailable"),
                W("internal error"),
                W("internal server error"),
                W("server error"),
                W("connection refused"),
                W("connection reset"),
                W("reset by peer"),
                W("bad gateway"),
            ],
        ),
        (
            ErrorClass::NotFound,
            &[
                W("not found"),
                S("notfound"),
                W("no such"),
                W("unknown id"),
                W("does not exist"),
                W("doesn't exist"),
            ],
        ),
        (
            ErrorClass::InvalidArgument,
            &[
                S("invalid"),
                W("malformed"),
                W("expected"),
                W("must be"),
                S("validation"),
                W("bad request"),
                W("missing required"),
            ],
        ),
    ]
};

/// Sort an error message into a class.
pub fn classify(error: &str) -> ErrorClass {
    let norm = text::normalise(error);
    let padded = format!(" {norm} ");
    if let Some(class) = text::tokens(&norm).find_map(|token| {
        CODES
            .iter()
            .find(|(code, _)| *code == token)
            .map(|(_, class)| *class)
    }) {
        return class;
    }
    for (class, keys) in KEYWORDS {
        let hit = keys.iter().any(|key| match key {
            Key::W(phrase) => padded.contains(&format!(" {phrase} ")),
            Key::S(part) => norm.contains(part),
        });
        if hit {
            return *class;
        }
    }
    ErrorClass::Other
}

/// The shape of an error message: quoted strings become `<…>` (quotes kept),
/// digit runs become `<n>`, case and whitespace are folded. Two failures that
/// differ only in the id or number they name get the same shape.
///
/// `invalid order id '#48213': expected digits only` →
/// `invalid order id '<…>': expected digits only`.
pub fn mask(error: &str) -> String {
    let chars: Vec<char> = error.chars().collect();
    let mut out = String::with_capacity(error.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens_quote = matches!(c, '\'' | '"' | '`' | '\u{2018}' | '\u{201C}')
            && (i == 0 || !chars[i - 1].is_alphanumeric());
        if opens_quote {
            let close = match c {
                '\u{2018}' => '\u{2019}',
                '\u{201C}' => '\u{201D}',
                c => c,
            };
            // The closing quote must end a word, so "can't" inside is no end.
            let end = (i + 1..chars.len()).find(|&j| {
                chars[j] == close && chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric())
            });
            if let Some(end) = end {
                out.push(c);
                out.push_str("<…>");
                out.push(close);
                i = end + 1;
                continue;
            }
        }
        if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            out.push_str("<n>");
            continue;
        }
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.extend(c.to_lowercase());
        }
        i += 1;
    }
    let trimmed = out.trim_end();
    text::truncate(trimmed, MAX_SAMPLE_CHARS)
}

/// Counters for one (tool, class).
#[derive(Default)]
struct Group {
    failures: u64,
    interactions: u64,
    evidence: Vec<String>,
    /// Masked message → (count, first raw message of that shape).
    messages: BTreeMap<String, (u64, String)>,
}

impl Group {
    fn record_message(&mut self, raw: &str) {
        let shape = mask(raw);
        if let Some((count, _)) = self.messages.get_mut(&shape) {
            *count += 1;
            return;
        }
        if self.messages.len() >= MAX_MESSAGES {
            // Drop the rarest tenth at once (ties by shape, for determinism).
            let mut by_count: Vec<(u64, String)> = self
                .messages
                .iter()
                .map(|(shape, (count, _))| (*count, shape.clone()))
                .collect();
            by_count.sort();
            for (_, shape) in by_count.into_iter().take(MAX_MESSAGES / 10) {
                self.messages.remove(&shape);
            }
        }
        let raw = text::truncate(raw.trim(), MAX_SAMPLE_CHARS);
        self.messages.insert(shape, (1, raw));
    }

    /// The first raw example of the most frequent shape (ties: first shape in order).
    fn sample(&self) -> &str {
        let mut best: Option<(u64, &str)> = None;
        for (count, raw) in self.messages.values() {
            if best.is_none_or(|(c, _)| *count > c) {
                best = Some((*count, raw));
            }
        }
        best.map(|(_, raw)| raw).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    min_occurrences: u64,
    high_share: f64,
    medium_share: f64,
    review_failure_rate: f64,
}

const DEFAULT_MIN_OCCURRENCES: u64 = 3;
const DEFAULT_HIGH_SHARE: f64 = 0.05;
const DEFAULT_MEDIUM_SHARE: f64 = 0.01;
const DEFAULT_REVIEW_FAILURE_RATE: f64 = 0.1;

fn share_setting(context: &CycleContext, name: &str, default: f64) -> Result<f64, String> {
    let value: f64 = setting_or(context, name, default)?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "setting `{name}`: must be a share between 0 and 1, got {value}"
        ));
    }
    Ok(value)
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
        let min_occurrences: u64 = setting_or(context, "min_occurrences", DEFAULT_MIN_OCCURRENCES)?;
        if min_occurrences == 0 {
            return Err("setting `min_occurrences`: must be at least 1".into());
        }
        let high_share = share_setting(context, "severity_high_share", DEFAULT_HIGH_SHARE)?;
        let medium_share = share_setting(context, "severity_medium_share", DEFAULT_MEDIUM_SHARE)?;
        if medium_share > high_share {
            return Err(format!(
                "setting `severity_medium_share`: {medium_share} is above `severity_high_share` ({high_share})"
            ));
        }
        let review_failure_rate =
            share_setting(context, "review_failure_rate", DEFAULT_REVIEW_FAILURE_RATE)?;
        Ok(Settings {
            min_occurrences,
            high_share,
            medium_share,
            review_failure_rate,
        })
    }
}

/// The rule's state for one cycle.
pub struct ToolFailures {
    settings: Settings,
    interactions: u64,
    interactions_with_failure: u64,
    calls: u64,
    failed_calls: u64,
    /// Tool name → calls, failed or not.
    tool_calls: BTreeMap<String, u64>,
    groups: BTreeMap<(String, ErrorClass), Group>,
    /// Whether the tool or group cap was hit (logged once).
    overflowed: bool,
}

impl ToolFailures {
    fn record(&mut self, interaction: &Interaction) {
        self.interactions += 1;
        let mut failed_here: BTreeSet<(String, ErrorClass)> = BTreeSet::new();
        for call in &interaction.tool_calls {
            self.calls += 1;
            let name = text::truncate(&call.name, MAX_NAME_CHARS);
            let tracked = if let Some(n) = self.tool_calls.get_mut(&name) {
                *n += 1;
                true
            } else if self.tool_calls.len() < MAX_TOOLS {
                self.tool_calls.insert(name.clone(), 1);
                true
            } else {
                false
            };
            let Some(error) = &call.error else {
                continue;
            };
            self.failed_calls += 1;
            let key = (name, classify(error));
            if !tracked || (!self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS) {
                self.overflow();
                failed_here.insert(key);
                continue;
            }
            let group = self.groups.entry(key.clone()).or_default();
            group.failures += 1;
            group.record_message(error);
            if !failed_here.contains(&key) {
                group.interactions += 1;
                if group.evidence.len() < MAX_EVIDENCE {
                    group.evidence.push(interaction.id.clone());
                }
                failed_here.insert(key);
            }
        }
        if !failed_here.is_empty() {
            self.interactions_with_failure += 1;
        }
    }

    fn overflow(&mut self) {
        if !self.overflowed {
            self.overflowed = true;
            log::warn(
                "too many distinct tools or failure groups; further ones only count in the metrics",
                &[
                    ("max_tools", &MAX_TOOLS.to_string()),
                    ("max_groups", &MAX_GROUPS.to_string()),
                ],
            );
        }
    }

    fn severity(&self, share: f64) -> Severity {
        if share >= self.settings.high_share {
            Severity::High
        } else if share >= self.settings.medium_share {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

/// A tool name made safe for a pattern key: lowercase, `/` and spaces replaced.
fn key_part(name: &str) -> String {
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

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Confidence grows with the evidence: 0.3 for one occurrence towards `max`.
fn confidence(occurrences: u64, max: f64) -> f32 {
    let n = occurrences as f64;
    let c = 0.3 + (max - 0.3) * n / (n + 10.0);
    ((c * 100.0).round() / 100.0) as f32
}

fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Rule for ToolFailures {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: String| SettingSpec {
            name: name.into(),
            description: description.into(),
            default_value: Some(default),
        };
        RuleInfo {
            name: "tool-failures".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "Groups failed tool calls by tool and error class (timeout, rate_limited, \
                          not_found, invalid_argument, permission_denied, unavailable, other) and \
                          proposes instructions for argument mistakes and graceful failure, or a \
                          review for tools that are down."
                    .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "min_occurrences",
                    "Failed calls a (tool, error class) needs before it is reported.",
                    DEFAULT_MIN_OCCURRENCES.to_string(),
                ),
                spec(
                    "severity_high_share",
                    "Share of interactions affected at or above which a pattern is high severity.",
                    DEFAULT_HIGH_SHARE.to_string(),
                ),
                spec(
                    "severity_medium_share",
                    "Share of interactions affected at or above which a pattern is medium severity.",
                    DEFAULT_MEDIUM_SHARE.to_string(),
                ),
                spec(
                    "review_failure_rate",
                    "Share of a tool's calls failing with timeout, rate_limited or unavailable at or above which the tool is flagged for review.",
                    DEFAULT_REVIEW_FAILURE_RATE.to_string(),
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(ToolFailures {
            settings: Settings::from_context(&context)?,
            interactions: 0,
            interactions_with_failure: 0,
            calls: 0,
            failed_calls: 0,
            tool_calls: BTreeMap::new(),
            groups: BTreeMap::new(),
            overflowed: false,
        })
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        for interaction in &chunk.interactions {
            self.record(interaction);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let mut reported: Vec<(&(String, ErrorClass), &Group)> = self
            .groups
            .iter()
            .filter(|(_, g)| g.failures >= self.settings.min_occurrences)
            .collect();
        // Most failures first; ties by tool then class, so the order is stable.
        reported.sort_by(|a, b| b.1.failures.cmp(&a.1.failures).then_with(|| a.0.cmp(b.0)));

        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        for ((tool, class), group) in reported {
            let calls = self.tool_calls.get(tool).copied().unwrap_or(0);
            let rate = ratio(group.failures, calls);
            let share = ratio(group.interactions, self.interactions);
            let sample = group.sample();
            let class_name = class.as_str();
            let key = format!("tool-failures/{}/{class_name}", key_part(tool));
            let n = group.failures;
            patterns.push(Pattern {
                key: key.clone(),
                title: format!("`{tool}` fails with {class_name}"),
                description: format!(
                    "`{tool}` failed with {class_name} on {n} of its {calls} calls ({}), \
                     affecting {} of {} interactions ({}). Most common error: \"{sample}\".",
                    percent(rate),
                    group.interactions,
                    self.interactions,
                    percent(share),
                ),
                severity: self.severity(share),
                occurrences: saturating_u32(n),
                evidence: group.evidence.clone(),
            });
            let stats = format!(
                "`{tool}` failed with {class_name} {n} times ({} of its calls, {} of interactions).",
                percent(rate),
                percent(share)
            );
            let review = |what: String| Suggestion {
                edit: Edit::FlagForReview(what),
                rationale: stats.clone(),
                confidence: confidence(n, 0.8),
                addresses: vec![key.clone()],
            };
            match class {
                ErrorClass::InvalidArgument => suggestions.push(Suggestion {
                    edit: Edit::AppendInstruction(format!(
                        "When calling `{tool}`, make sure the arguments meet what the tool \
                         expects: it failed {n} times with \"{sample}\". Fix the arguments before \
                         calling it again instead of retrying the same call."
                    )),
                    rationale: stats.clone(),
                    confidence: confidence(n, 0.9),
                    addresses: vec![key.clone()],
                }),
                ErrorClass::Timeout | ErrorClass::RateLimited | ErrorClass::Unavailable => {
                    let how = match class {
                        ErrorClass::Timeout => "times out",
                        ErrorClass::RateLimited => "is rate limited",
                        _ => "is unavailable",
                    };
                    suggestions.push(Suggestion {
                        edit: Edit::AppendInstruction(format!(
                            "When `{tool}` fails or {how}, tell the user the service is slow or \
                             unavailable right now and offer to try again later; do not retry \
                             it in a loop, and never invent a result the tool did not return."
                        )),
                        rationale: stats.clone(),
                        confidence: confidence(n, 0.8),
                        addresses: vec![key.clone()],
                    });
                    if class.is_operational() && rate >= self.settings.review_failure_rate {
                        suggestions.push(review(format!(
                            "`{tool}` failed with {class_name} on {} of its calls ({n} of \
                             {calls}). This is an operations problem with the tool, not a prompt \
                             problem: check its health, capacity and limits. Sample error: \
                             \"{sample}\".",
                            percent(rate)
                        )));
                    }
                }
                ErrorClass::NotFound => suggestions.push(review(format!(
                    "`{tool}` could not find what it was asked for {n} times (\"{sample}\"). Check \
                     whether the agent passes the identifiers users give it correctly, or whether \
                     the data is missing."
                ))),
                ErrorClass::PermissionDenied => suggestions.push(review(format!(
                    "`{tool}` was refused permission {n} times (\"{sample}\"). Check the tool's \
                     credentials and what the agent is allowed to call."
                ))),
                ErrorClass::Other => suggestions.push(review(format!(
                    "`{tool}` failed {n} times with errors reverie could not classify \
                     (\"{sample}\"). A person should look at what goes wrong."
                ))),
            }
        }
        Ok(Findings {
            patterns,
            suggestions,
            metrics: vec![
                Metric {
                    name: "tool_call_failure_rate".into(),
                    value: ratio(self.failed_calls, self.calls),
                    description: "Share of all tool calls that returned an error.".into(),
                },
                Metric {
                    name: "interactions_with_tool_failure_share".into(),
                    value: ratio(self.interactions_with_failure, self.interactions),
                    description: "Share of interactions with at least one failed tool call.".into(),
                },
            ],
        })
    }
}

reverie_rule_sdk::export_rule!(ToolFailures);

#[cfg(test)]
mod tests {
    use super::*;
    use reverie_rule_sdk::{Message, Role, ToolCall};

    fn context(settings: &[(&str, &str)]) -> CycleContext {
        CycleContext {
            agent_id: "support".into(),
            agent_name: "Support agent".into(),
            system_prompt: "You help customers of a shop.".into(),
            config_version: "v1".into(),
            window_start_ms: None,
            window_end_ms: None,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn rule(settings: &[(&str, &str)]) -> ToolFailures {
        match ToolFailures::new(context(settings)) {
            Ok(rule) => rule,
            Err(e) => panic!("settings rejected: {e}"),
        }
    }

    /// An interaction whose agent made these calls: (tool, error).
    fn calls(id: &str, calls: &[(&str, Option<&str>)]) -> Interaction {
        Interaction {
            id: id.into(),
            session_id: None,
            user_id: None,
            timestamp_ms: 0,
            config_version: Some("v1".into()),
            messages: vec![
                Message {
                    role: Role::User,
                    content: "Where is my order?".into(),
                    tool_call_id: None,
                },
                Message {
                    role: Role::Assistant,
                    content: String::new(),
                    tool_call_id: None,
                },
            ],
            tool_calls: calls
                .iter()
                .enumerate()
                .map(|(i, (name, error))| ToolCall {
                    id: format!("call-{i}"),
                    name: name.to_string(),
                    arguments: "{}".into(),
                    error: error.map(str::to_string),
                    message_index: 1,
                })
                .collect(),
            metadata: "{}".into(),
        }
    }

    fn run(rule: &mut ToolFailures, interactions: Vec<Interaction>) -> Findings {
        let chunk = Chunk {
            interactions,
            feedback: Vec::new(),
        };
        if let Err(e) = rule.analyse(chunk) {
            panic!("analyse failed: {e}");
        }
        match rule.finish() {
            Ok(findings) => findings,
            Err(e) => panic!("finish failed: {e}"),
        }
    }

    fn instruction(suggestion: &Suggestion) -> Option<&str> {
        match &suggestion.edit {
            Edit::AppendInstruction(text) => Some(text),
            _ => None,
        }
    }

    fn flag(suggestion: &Suggestion) -> Option<&str> {
        match &suggestion.edit {
            Edit::FlagForReview(text) => Some(text),
            _ => None,
        }
    }

    #[test]
    fn error_messages_are_sorted_into_classes() {
        let cases = [
            ("request timed out after 30s", ErrorClass::Timeout),
            ("ReadTimeoutError: read timeout", ErrorClass::Timeout),
            ("context deadline exceeded", ErrorClass::Timeout),
            ("HTTP 429", ErrorClass::RateLimited),
            ("Too Many Requests", ErrorClass::RateLimited),
            ("rate limit reached, slow down", ErrorClass::RateLimited),
            ("404: order not found", ErrorClass::NotFound),
            ("no such customer", ErrorClass::NotFound),
            ("unknown id 'x1'", ErrorClass::NotFound),
            (
                "invalid order id '#48213': expected digits only",
                ErrorClass::InvalidArgument,
            ),
            (
                "field `email` must be a string",
                ErrorClass::InvalidArgument,
            ),
            ("Bad Request (400)", ErrorClass::InvalidArgument),
            ("malformed JSON", ErrorClass::InvalidArgument),
            ("401 Unauthorized", ErrorClass::PermissionDenied),
            (
                "forbidden: invalid token scope",
                ErrorClass::PermissionDenied,
            ),
            ("permission denied", ErrorClass::PermissionDenied),
            ("503 Service Unavailable", ErrorClass::Unavailable),
            ("connection refused", ErrorClass::Unavailable),
            ("internal error", ErrorClass::Unavailable),
            ("unexpected end of stream", ErrorClass::Other),
            ("", ErrorClass::Other),
        ];
        for (error, class) in cases {
            assert_eq!(classify(error), class, "error {error:?}");
        }
    }

    #[test]
    fn masking_folds_ids_numbers_and_quoted_values() {
        assert_eq!(
            mask("invalid order id '#48213': expected digits only"),
            "invalid order id '<…>': expected digits only"
        );
        assert_eq!(mask("Timed out after  30000 ms"), "timed out after <n> ms");
        assert_eq!(
            mask("can't parse \"abc\" as date"),
            "can't parse \"<…>\" as date"
        );
        assert_eq!(mask("don't stop"), "don't stop");
    }

    #[test]
    fn an_agent_sending_bad_order_ids_gets_told_what_the_tool_expects() {
        let mut r = rule(&[]);
        let mut chunk = Vec::new();
        for i in 0..40 {
            let error = match i {
                0..4 => Some(format!(
                    "invalid order id '#{}': expected digits only",
                    48213 + i
                )),
                4 => Some("invalid order id: too long".to_string()),
                _ => None,
            };
            let mut interaction = calls(&format!("i{i:02}"), &[("lookup_order", None)]);
            interaction.tool_calls[0].error = error;
            chunk.push(interaction);
        }
        let findings = run(&mut r, chunk);
        assert_eq!(findings.patterns.len(), 1);
        let p = &findings.patterns[0];
        assert_eq!(p.key, "tool-failures/lookup_order/invalid_argument");
        assert_eq!(p.title, "`lookup_order` fails with invalid_argument");
        assert_eq!(p.occurrences, 5);
        assert_eq!(p.evidence, ["i00", "i01", "i02", "i03", "i04"]);
        assert_eq!(p.severity, Severity::High); // 5 of 40 interactions
        assert!(
            p.description.contains("on 5 of its 40 calls (12.5%)"),
            "{}",
            p.description
        );
        assert!(
            p.description
                .contains("Most common error: \"invalid order id '#48213': expected digits only\""),
            "{}",
            p.description
        );

        assert_eq!(findings.suggestions.len(), 1);
        let s = &findings.suggestions[0];
        assert_eq!(s.addresses, ["tool-failures/lookup_order/invalid_argument"]);
        assert_eq!(
            instruction(s),
            Some(
                "When calling `lookup_order`, make sure the arguments meet what the tool expects: \
                 it failed 5 times with \"invalid order id '#48213': expected digits only\". Fix \
                 the arguments before calling it again instead of retrying the same call."
            )
        );
    }

    #[test]
    fn a_couple_of_failures_are_not_a_pattern_but_still_count_in_the_metrics() {
        let mut r = rule(&[]);
        let findings = run(
            &mut r,
            vec![
                calls(
                    "a",
                    &[("lookup_order", Some("timed out")), ("lookup_order", None)],
                ),
                calls("b", &[("lookup_order", Some("timed out"))]),
                calls("c", &[("search", None)]),
                calls("d", &[]),
            ],
        );
        assert!(findings.patterns.is_empty());
        assert!(findings.suggestions.is_empty());
        let metric = |name: &str| {
            findings
                .metrics
                .iter()
                .find(|m| m.name == name)
                .map(|m| m.value)
        };
        assert_eq!(metric("tool_call_failure_rate"), Some(0.5));
        assert_eq!(metric("interactions_with_tool_failure_share"), Some(0.5));

        let mut lenient = rule(&[("min_occurrences", "2")]);
        let findings = run(
            &mut lenient,
            vec![
                calls("a", &[("lookup_order", Some("timed out"))]),
                calls("b", &[("lookup_order", Some("timed out"))]),
            ],
        );
        assert_eq!(findings.patterns.len(), 1);
    }

    #[test]
    fn a_slow_tool_gets_graceful_handling_and_a_review_only_when_it_fails_often() {
        // Shipping times out on 5 of 10 calls: the tool itself needs attention.
        let mut r = rule(&[]);
        let chunk = (0..10)
            .map(|i| {
                let error = (i < 5).then_some("upstream timed out after 30000 ms");
                calls(&format!("s{i}"), &[("track_shipment", error)])
            })
            .collect();
        let findings = run(&mut r, chunk);
        assert_eq!(
            findings.patterns[0].key,
            "tool-failures/track_shipment/timeout"
        );
        assert_eq!(findings.suggestions.len(), 2);
        let text = instruction(&findings.suggestions[0]).unwrap_or_default();
        assert!(text.contains("never invent a result"), "{text}");
        let review = flag(&findings.suggestions[1]).unwrap_or_default();
        assert!(review.contains("operations problem"), "{review}");

        // Three timeouts in 100 calls: handle them, but no review.
        let mut r = rule(&[]);
        let chunk = (0..100)
            .map(|i| {
                let error = (i < 3).then_some("timed out");
                calls(&format!("s{i}"), &[("track_shipment", error)])
            })
            .collect();
        let findings = run(&mut r, chunk);
        assert_eq!(findings.suggestions.len(), 1);
        assert!(instruction(&findings.suggestions[0]).is_some());
    }

    #[test]
    fn missing_records_and_refused_permissions_are_flagged_for_a_person() {
        let mut r = rule(&[]);
        let mut chunk = Vec::new();
        for i in 0..4 {
            chunk.push(calls(
                &format!("n{i}"),
                &[
                    ("get_customer", Some("404 customer not found")),
                    ("refund", Some("403 Forbidden")),
                ],
            ));
        }
        let findings = run(&mut r, chunk);
        let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "tool-failures/get_customer/not_found",
                "tool-failures/refund/permission_denied"
            ]
        );
        assert_eq!(findings.suggestions.len(), 2);
        assert!(findings.suggestions.iter().all(|s| flag(s).is_some()));
        assert!(findings.metrics.iter().any(|m| m.value == 1.0));
    }

    #[test]
    fn an_interaction_with_repeated_failures_counts_once_in_the_share() {
        let mut r = rule(&[]);
        let mut chunk = vec![calls(
            "retry-loop",
            &[("lookup_order", Some("invalid id")); 25],
        )];
        for i in 0..30 {
            chunk.push(calls(
                &format!("i{i}"),
                &[("lookup_order", Some("invalid id"))],
            ));
        }
        for i in 0..69 {
            chunk.push(calls(&format!("fine{i}"), &[]));
        }
        let findings = run(&mut r, chunk);
        let p = &findings.patterns[0];
        assert_eq!(p.occurrences, 55);
        assert_eq!(p.evidence.len(), MAX_EVIDENCE);
        assert_eq!(p.evidence[0], "retry-loop");
        assert_eq!(p.evidence[1], "i0");
        assert!(
            p.description.contains("31 of 100 interactions (31.0%)"),
            "{}",
            p.description
        );
    }

    #[test]
    fn the_sample_error_is_the_most_common_shape_and_memory_stays_bounded() {
        let mut group = Group::default();
        for i in 0..1000 {
            group.record_message(&format!("bad field \"f{i}\" in schema v{i}x"));
            // Each of these has a shape of its own (letters differ, digits don't mask them).
            group.record_message(&format!(
                "unique error {}",
                char::from(b'a' + (i % 26) as u8)
            ));
            group.record_message(&format!("weird {i:x}{}", "q".repeat(i % 7)));
        }
        // Far more shapes than the cap were seen; the map kept to it.
        assert!(group.messages.len() <= MAX_MESSAGES);
        assert!(group.messages.len() > MAX_MESSAGES / 2);
        assert_eq!(group.sample(), "bad field \"f0\" in schema v0x");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_setting() {
        for (name, value) in [
            ("min_occurrences", "0"),
            ("min_occurrences", "three"),
            ("severity_high_share", "2"),
            ("severity_medium_share", "-0.1"),
            ("review_failure_rate", "NaN"),
        ] {
            match ToolFailures::new(context(&[(name, value)])) {
                Ok(_) => panic!("{name}={value} was accepted"),
                Err(e) => assert!(e.contains(name), "{e}"),
            }
        }
    }

    #[test]
    fn info_declares_the_analyse_stage_and_every_setting_with_a_usable_default() {
        let info = ToolFailures::info();
        assert_eq!(info.name, "tool-failures");
        assert_eq!(info.stages, [Stage::Analyse]);
        let defaults: Vec<(String, String)> = info
            .settings
            .iter()
            .map(|s| (s.name.clone(), s.default_value.clone().unwrap_or_default()))
            .collect();
        let pairs: Vec<(&str, &str)> = defaults
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(rule(&pairs).settings, rule(&[]).settings);
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn the_same_window_gives_the_same_findings() {
        let window = || {
            (0..60)
                .map(|i| {
                    let tool = ["lookup_order", "search", "refund"][i % 3];
                    let error = ["timed out", "invalid sku 'A-1'", "404", "boom"][i % 4];
                    calls(&format!("i{i}"), &[(tool, Some(error)), ("search", None)])
                })
                .collect::<Vec<_>>()
        };
        let a = format!("{:?}", run(&mut rule(&[]), window()));
        let b = format!("{:?}", run(&mut rule(&[]), window()));
        assert_eq!(a, b);
        assert!(a.contains("tool-failures/refund/other"));
    }
}
