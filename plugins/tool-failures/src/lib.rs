//! The `tool-failures` rule: tools that keep failing, why, and what the agent
//! should do about it.
//!
//! In the `analyse` stage it reads every tool call of every interaction,
//! sorts each failed call into an error class ([`classify`]) and groups
//! failures by (tool, class). A group is a pattern when it affects at least
//! `min_occurrences` interactions and at least `min_share` of the window's
//! interactions; its key is `tool-failures/<tool>/<class>`, its occurrences
//! the interactions it affects (the description also gives calls, saying so),
//! its evidence every such interaction, in window order, up to
//! [`MAX_EVIDENCE`].
//!
//! Errors that fit no class (`other`) are split further by the shape of
//! their message ([`messages`]: ids, numbers and quoted values masked away):
//! one tool's declined payments and its cancelled reservations are two
//! problems, not one `other`. Each shape that passes the same thresholds on
//! its own is a pattern keyed `tool-failures/<tool>/other/<sub-key>`, the
//! sub-key a hash of the shape (the same in every window, never a word of a
//! message); its title quotes the shape. The rarer shapes fold back into
//! `tool-failures/<tool>/other`. Only `other` is split: every other class
//! already names the cause, its fix is one whatever its messages say, and
//! one mistake written two ways must stay one problem.
//!
//! The fix follows from structure, never from words of a domain. The rule
//! compares the arguments of a tool's failing calls with those of its
//! successful calls, field by field ([`shapes`]), for every class and for
//! each `other` shape: when one field's shape tells them apart (failing
//! `booking_ref`s contain `#`, successful ones are digits only; every
//! three-leg search times out, no one-leg search does), the description
//! says so with the figures. What the fix then aims at:
//!
//! - A wrong argument (`invalid_argument`, `not_found`, `other`): the fix
//!   tells the caller the field and the shape the tool accepts.
//! - An operational failure (timeout, rate limit, outage) that follows the
//!   arguments is the tool's limit, not an outage. When calls of another
//!   shape ask the same and succeed (the same value written otherwise, a
//!   value asked for, a long list split into the shorter lists that do
//!   succeed), the fix tells the caller to use that shape *and* flags the
//!   tool for its owner (it cannot handle the shape). When the only shape
//!   that succeeds would drop part of the request (a field successful calls
//!   never send, a list they always send longer), only the owner is
//!   flagged.
//! - An operational failure the arguments do not explain is not the
//!   agent's to fix: the fix says what the agent does when the tool fails
//!   (no result stated that no tool returned), and a tool that fails on a
//!   large share of its calls is also flagged for its operators.
//!
//! When no field explains a rejection, an `invalid_argument` fix quotes
//! what the tool's own (masked) error says it expects, with lower
//! confidence. Records not found, refused permissions and unclassified
//! errors are flagged for a person unless the arguments explain them. At
//! most two suggestions per pattern, and an edit never holds a count, a
//! user's value or a quote of a user.
//!
//! Memory is bounded whatever the window: at most [`MAX_TOOLS`] tools (the
//! first [`shapes::MAX_FIELDS`] fields of the first [`MAX_PROFILED_TOOLS`]
//! profiled, from a systematic sample past [`shapes::SAMPLE_ALL`] calls, and
//! [`shapes::MAX_SHAPE_PROFILES`] message shapes of each), [`MAX_GROUPS`]
//! groups, [`MAX_MESSAGES`] masked messages and [`MAX_SHAPES`] message
//! shapes per group, and [`MAX_EVIDENCE_TOTAL`] evidence entries across
//! groups, each an index into one list of interaction ids kept once.

pub mod args;
/// Error classes and message shapes, shared with other rules through the SDK.
pub use reverie_rule_sdk::tool_errors as classify;
pub mod messages;
pub mod shapes;

use reverie_rule_sdk::finding::{confidence, key_part, percent, ratio, saturating_u32};
use std::borrow::Cow;
use std::collections::BTreeMap;

use reverie_rule_sdk::log::line;
use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, Findings, Inputs, Interaction, Metric, Pattern, Rule, RuleInfo,
    SettingSpec, Severity, Stage, Suggestion, log, setting_or, text,
};

pub use classify::{ErrorClass, classify, mask};
use shapes::{Explanation, ToolArgs};

/// Interaction ids kept as evidence per pattern: all of them, up to this.
pub const MAX_EVIDENCE: usize = 5_000;
/// Evidence entries kept across all groups (4 bytes each, plus each id once):
/// a window with more failing interactions than this keeps the first ones.
pub const MAX_EVIDENCE_TOTAL: usize = 500_000;
/// Distinct tool names tracked; calls to further tools only count in the metrics.
pub const MAX_TOOLS: usize = 500;
/// Tools whose arguments are profiled (the first seen); further tools get no
/// argument comparison.
pub const MAX_PROFILED_TOOLS: usize = 64;
/// Distinct (tool, class) groups tracked; further failures only count in the metrics.
pub const MAX_GROUPS: usize = 1000;
/// Distinct masked error messages remembered per group; the rarest are dropped when full.
pub const MAX_MESSAGES: usize = 100;
/// Message shapes tracked per tool's `other` group; failures of further
/// shapes are counted together, as the group's unsplit rest.
pub const MAX_SHAPES: usize = 32;
/// Longest tool name kept (longer names are cut, so a hostile name cannot grow memory).
const MAX_NAME_CHARS: usize = 100;
/// Tools listed by name in the run log (most called first).
const LOG_TOOLS: usize = 8;
/// Tools whose split of `other` errors is listed in the run log.
const LOG_SPLITS: usize = 4;
/// Patterns and dropped groups listed by name in the run log.
const LOG_GROUPS: usize = 8;

/// Counters for one (tool, class).
#[derive(Clone, Default)]
struct Group {
    /// Failed calls.
    failures: u64,
    /// Interactions with at least one such failure.
    interactions: u64,
    /// Indices into [`ToolFailures::ids`], in window order.
    evidence: Vec<u32>,
    /// Masked message → (count, first raw message of that shape).
    messages: BTreeMap<String, (u64, String)>,
    /// The last interaction (numbered from 1) that counted towards it.
    last_seen: u64,
    /// For the `other` class only: its failures by message shape
    /// ([`messages`]), keyed by sub-key, at most [`MAX_SHAPES`].
    shapes: BTreeMap<String, ShapeGroup>,
    /// For the `other` class only: failures of shapes past [`MAX_SHAPES`].
    rest: ShapeGroup,
}

/// The failures of one message shape within a tool's `other` group.
#[derive(Clone, Default)]
struct ShapeGroup {
    /// The shape ([`messages::shape`]), quoted in a title.
    shape: String,
    /// The first raw message of that shape.
    raw: String,
    failures: u64,
    interactions: u64,
    evidence: Vec<u32>,
    last_seen: u64,
}

impl ShapeGroup {
    /// Counts one failure; true when it is the first of this interaction.
    fn count(&mut self, now: u64) -> bool {
        self.failures += 1;
        if self.last_seen == now {
            return false;
        }
        self.last_seen = now;
        self.interactions += 1;
        true
    }
}

impl Group {
    fn record_message(&mut self, raw: &str) {
        self.record_masked(mask(raw), raw);
    }

    fn record_masked(&mut self, shape: String, raw: &str) {
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
        let raw = text::truncate(raw.trim(), classify::MAX_SAMPLE_CHARS);
        self.messages.insert(shape, (1, raw));
    }

    /// The most frequent message shape and its first raw example (ties: the
    /// first shape in order).
    fn sample(&self) -> (&str, &str) {
        let mut best: Option<(u64, &str, &str)> = None;
        for (shape, (count, raw)) in &self.messages {
            if best.is_none_or(|(c, _, _)| *count > c) {
                best = Some((*count, shape, raw));
            }
        }
        best.map_or(("", ""), |(_, shape, raw)| (shape, raw))
    }
}

/// Counters for one tool.
#[derive(Default)]
struct ToolStats {
    calls: u64,
    failed: u64,
    /// Interactions that called it.
    interactions: u64,
    /// The last interaction (numbered from 1) that called it.
    last_seen: u64,
    /// Argument profiles, for the first [`MAX_PROFILED_TOOLS`] tools.
    args: Option<ToolArgs>,
}

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    min_occurrences: u64,
    min_share: f64,
    high_share: f64,
    medium_share: f64,
    review_failure_rate: f64,
}

const DEFAULT_MIN_OCCURRENCES: u64 = 3;
/// 0.1%: a tool failing for one interaction in a thousand is noise the
/// window's size makes look like a pattern (at a million interactions a
/// one-in-a-thousand failure still has 1,000 occurrences).
const DEFAULT_MIN_SHARE: f64 = 0.001;
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
        let min_share = share_setting(context, "min_share", DEFAULT_MIN_SHARE)?;
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
            min_share,
            high_share,
            medium_share,
            review_failure_rate,
        })
    }
}

/// One line of the run log: a message and its figures.
pub use reverie_rule_sdk::log::Line as LogLine;

/// The rule's state for one cycle.
pub struct ToolFailures {
    settings: Settings,
    interactions: u64,
    interactions_with_failure: u64,
    calls: u64,
    failed_calls: u64,
    tools: BTreeMap<String, ToolStats>,
    /// Tools with argument profiles (at most [`MAX_PROFILED_TOOLS`]).
    profiled_tools: usize,
    groups: BTreeMap<(String, ErrorClass), Group>,
    evidence: EvidenceStore,
    /// Whether the tool or group cap was hit (logged once).
    overflowed: bool,
}

/// Interaction ids kept as evidence, each once, and the budget of entries
/// that point at them.
#[derive(Default)]
struct EvidenceStore {
    /// Ids of interactions that are evidence of some group, each once.
    ids: Vec<String>,
    total: usize,
    /// Whether [`MAX_EVIDENCE_TOTAL`] was hit (logged once).
    full: bool,
}

impl EvidenceStore {
    /// Lists the current interaction in `list` (up to [`MAX_EVIDENCE`]);
    /// `here` is its index in `ids`, pushed when it first becomes evidence.
    fn add(&mut self, list: &mut Vec<u32>, here: &mut Option<u32>, id: &str) {
        if list.len() >= MAX_EVIDENCE {
            return;
        }
        if self.total < MAX_EVIDENCE_TOTAL {
            let index = *here.get_or_insert_with(|| {
                self.ids.push(id.to_string());
                u32::try_from(self.ids.len() - 1).unwrap_or(u32::MAX)
            });
            list.push(index);
            self.total += 1;
        } else if !self.full {
            self.full = true;
            log::warn(
                "evidence budget reached; later failing interactions count but are not listed",
                &[("max_evidence_total", &MAX_EVIDENCE_TOTAL.to_string())],
            );
        }
    }
}

/// What came of splitting one tool's `other` group by message shape.
struct SplitStats {
    tool: String,
    interactions: u64,
    shapes: usize,
    /// Shapes reported as patterns of their own.
    own: usize,
    /// Failed calls of shapes past [`MAX_SHAPES`].
    past_cap: u64,
}

/// What one pattern is made of: a (tool, class) group, one message shape
/// of a tool's `other` group, or what is left of that group once its
/// frequent shapes have patterns of their own.
struct Unit {
    tool: String,
    class: ErrorClass,
    /// For one message shape: its (sub-key, shape).
    sub: Option<(String, String)>,
    /// Whether this is the rest of an `other` group after a split.
    rest: bool,
    group: Group,
}

impl Unit {
    /// `tool-failures/<tool>/<class>`, and `/<sub-key>` for a message shape.
    fn key(&self) -> String {
        let key = group_key(&self.tool, self.class);
        match &self.sub {
            Some((subkey, _)) => format!("{key}/{subkey}"),
            None => key,
        }
    }

    /// The order of ties: tool, class, then the rest before its shapes.
    fn order(&self) -> (&str, ErrorClass, Option<&str>) {
        (
            &self.tool,
            self.class,
            self.sub.as_ref().map(|(k, _)| k.as_str()),
        )
    }
}

impl ToolFailures {
    /// A tool's `other` group as patterns: each message shape that passes
    /// the thresholds on its own is one, and every other shape (with those
    /// past [`MAX_SHAPES`]) folds back into the group's key. With no shape
    /// frequent enough, the group is one unit as before. Also the split's
    /// figures, for the run log.
    fn split_other(&self, tool: &str, group: &Group) -> (Vec<Unit>, SplitStats) {
        let unit = |sub, rest, group| Unit {
            tool: tool.to_string(),
            class: ErrorClass::Other,
            sub,
            rest,
            group,
        };
        let mut units = Vec::new();
        for (subkey, part) in &group.shapes {
            let as_group = Group {
                failures: part.failures,
                interactions: part.interactions,
                evidence: part.evidence.clone(),
                messages: BTreeMap::from([(part.shape.clone(), (part.failures, part.raw.clone()))]),
                last_seen: part.last_seen,
                ..Group::default()
            };
            if self.dropped_because(&as_group).is_none() {
                units.push(unit(
                    Some((subkey.clone(), part.shape.clone())),
                    false,
                    as_group,
                ));
            }
        }
        let stats = SplitStats {
            tool: tool.to_string(),
            interactions: group.interactions,
            shapes: group.shapes.len(),
            own: units.len(),
            past_cap: group.rest.failures,
        };
        if units.is_empty() {
            return (vec![unit(None, false, group.clone())], stats);
        }
        let split: Vec<&str> = units
            .iter()
            .filter_map(|u| u.sub.as_ref().map(|(k, _)| k.as_str()))
            .collect();
        let mut rest = Group::default();
        // Whether every part lists all its interactions: then the rest's
        // interactions are exactly its distinct evidence.
        let mut complete = true;
        let mut sum = 0;
        let parts = group
            .shapes
            .iter()
            .filter(|(k, _)| !split.contains(&k.as_str()))
            .map(|(_, p)| p)
            .chain([&group.rest]);
        for part in parts {
            rest.failures += part.failures;
            rest.last_seen = rest.last_seen.max(part.last_seen);
            sum += part.interactions;
            complete &= part.evidence.len() as u64 == part.interactions;
            rest.evidence.extend_from_slice(&part.evidence);
        }
        // Indices grow in window order: sorting restores it.
        rest.evidence.sort_unstable();
        rest.evidence.dedup();
        rest.interactions = if complete {
            rest.evidence.len() as u64
        } else {
            sum.min(group.interactions)
        };
        rest.evidence.truncate(MAX_EVIDENCE);
        rest.messages = group
            .messages
            .iter()
            .filter(|(masked, _)| {
                let subkey = messages::subkey(&messages::shape(masked));
                !split.contains(&subkey.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if rest.failures > 0 {
            units.push(unit(None, true, rest));
        }
        (units, stats)
    }

    fn record(&mut self, interaction: &Interaction) {
        self.interactions += 1;
        // Interactions are numbered from 1: a tool or group whose `last_seen`
        // is this number already counted this interaction.
        let now = self.interactions;
        let mut failed_here = false;
        // This interaction's index in `ids`, pushed when it first becomes evidence.
        let mut id_index: Option<u32> = None;
        for call in &interaction.tool_calls {
            self.calls += 1;
            // Borrowed unless too long: most calls allocate nothing here.
            let name: Cow<'_, str> = if call.name.len() <= MAX_NAME_CHARS {
                Cow::Borrowed(&call.name)
            } else {
                Cow::Owned(text::truncate(&call.name, MAX_NAME_CHARS))
            };
            let class = call.error.as_deref().map(classify);
            if class.is_some() {
                self.failed_calls += 1;
                failed_here = true;
            }
            if !self.tools.contains_key(name.as_ref()) && self.tools.len() < MAX_TOOLS {
                let profile = self.profiled_tools < MAX_PROFILED_TOOLS;
                self.profiled_tools += usize::from(profile);
                let tool = ToolStats {
                    args: profile.then(ToolArgs::default),
                    ..ToolStats::default()
                };
                self.tools.insert(name.to_string(), tool);
            }
            let Some(tool) = self.tools.get_mut(name.as_ref()) else {
                self.overflow();
                continue;
            };
            tool.calls += 1;
            if tool.last_seen != now {
                tool.last_seen = now;
                tool.interactions += 1;
            }
            // An unclassified error's masked message, shape and sub-key.
            let other = match (&call.error, class) {
                (Some(error), Some(ErrorClass::Other)) => {
                    let masked = mask(error);
                    let shape = messages::shape(&masked);
                    let subkey = messages::subkey(&shape);
                    Some((masked, shape, subkey))
                }
                _ => None,
            };
            if let Some(args) = &mut tool.args {
                let subkey = other.as_ref().map(|(_, _, k)| k.as_str());
                args.record_shaped(class, subkey, &call.arguments);
            }
            let (Some(error), Some(class)) = (&call.error, class) else {
                continue;
            };
            tool.failed += 1;
            let key = (name.into_owned(), class);
            if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
                self.overflow();
                continue;
            }
            let group = self.groups.entry(key).or_default();
            group.failures += 1;
            if let Some((masked, shape, subkey)) = other {
                group.record_masked(masked, error);
                let part = if group.shapes.contains_key(&subkey) {
                    group.shapes.get_mut(&subkey)
                } else if group.shapes.len() < MAX_SHAPES {
                    let raw = text::truncate(error.trim(), classify::MAX_SAMPLE_CHARS);
                    let part = ShapeGroup {
                        shape,
                        raw,
                        ..ShapeGroup::default()
                    };
                    Some(group.shapes.entry(subkey).or_insert(part))
                } else {
                    None
                };
                let part = part.unwrap_or(&mut group.rest);
                if part.count(now) {
                    self.evidence
                        .add(&mut part.evidence, &mut id_index, &interaction.id);
                }
            } else {
                group.record_message(error);
            }
            if group.last_seen == now {
                continue;
            }
            group.last_seen = now;
            group.interactions += 1;
            self.evidence
                .add(&mut group.evidence, &mut id_index, &interaction.id);
        }
        if failed_here {
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

    /// Why a group is not reported, or `None` if it is.
    fn dropped_because(&self, group: &Group) -> Option<String> {
        if group.interactions < self.settings.min_occurrences {
            Some(format!(
                "below min_occurrences ({} interactions)",
                self.settings.min_occurrences
            ))
        } else if ratio(group.interactions, self.interactions) < self.settings.min_share {
            Some(format!(
                "below min_share ({} of interactions)",
                percent(self.settings.min_share)
            ))
        } else {
            None
        }
    }

    /// The findings and the run log that explains them.
    /// The groups as patterns report them: a tool's operational failures
    /// (timeouts, rate limits, outages) are one group under the class most of
    /// them have. They are one root cause, the tool's backend, whatever each
    /// call's error said, and one fix (what the agent says when the tool
    /// fails) covers them all; apart, a mix of 503s and timeouts during one
    /// outage would be two problems, each too small to act on.
    fn folded_groups(&self) -> BTreeMap<(String, ErrorClass), Group> {
        let mut out: BTreeMap<(String, ErrorClass), Group> = BTreeMap::new();
        let mut operational: BTreeMap<&str, Vec<(ErrorClass, &Group)>> = BTreeMap::new();
        for ((tool, class), group) in &self.groups {
            if class.is_operational() {
                operational.entry(tool).or_default().push((*class, group));
            } else {
                out.insert((tool.clone(), *class), group.clone());
            }
        }
        for (tool, mut parts) in operational {
            // Most interactions first; ties in class order, so the key is stable.
            parts.sort_by(|a, b| b.1.interactions.cmp(&a.1.interactions).then(a.0.cmp(&b.0)));
            let class = parts[0].0;
            let mut merged = parts[0].1.clone();
            for (_, g) in &parts[1..] {
                merged.failures += g.failures;
                merged.last_seen = merged.last_seen.max(g.last_seen);
                for (shape, (count, raw)) in &g.messages {
                    let entry = merged
                        .messages
                        .entry(shape.clone())
                        .or_insert_with(|| (0, raw.clone()));
                    entry.0 += count;
                }
                let listed = merged.evidence.len() + g.evidence.len();
                merged.evidence.extend_from_slice(&g.evidence);
                // Indices grow in window order: sorting restores it.
                merged.evidence.sort_unstable();
                merged.evidence.dedup();
                let both = (listed - merged.evidence.len()) as u64;
                merged.interactions = (merged.interactions + g.interactions).saturating_sub(both);
            }
            merged.evidence.truncate(MAX_EVIDENCE);
            out.insert((tool.to_string(), class), merged);
        }
        out
    }

    pub fn findings_and_log(&self) -> (Findings, Vec<LogLine>) {
        let s = &self.settings;
        let mut log = vec![
            line(
                "settings",
                &[
                    ("min_occurrences", s.min_occurrences.to_string()),
                    ("min_share", s.min_share.to_string()),
                    ("severity_high_share", s.high_share.to_string()),
                    ("severity_medium_share", s.medium_share.to_string()),
                    ("review_failure_rate", s.review_failure_rate.to_string()),
                ],
            ),
            line(
                "seen",
                &[
                    ("interactions", self.interactions.to_string()),
                    (
                        "interactions_with_failure",
                        self.interactions_with_failure.to_string(),
                    ),
                    ("calls", self.calls.to_string()),
                    ("failed_calls", self.failed_calls.to_string()),
                    ("tools", self.tools.len().to_string()),
                    (
                        "unreadable_arguments",
                        self.tools
                            .values()
                            .filter_map(|t| t.args.as_ref())
                            .map(|a| a.unreadable)
                            .sum::<u64>()
                            .to_string(),
                    ),
                ],
            ),
        ];
        let mut by_calls: Vec<(&String, &ToolStats)> = self.tools.iter().collect();
        by_calls.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then_with(|| a.0.cmp(b.0)));
        for (name, tool) in by_calls.iter().take(LOG_TOOLS) {
            log.push(line(
                "tool",
                &[
                    ("tool", (*name).clone()),
                    ("calls", tool.calls.to_string()),
                    ("failed_calls", tool.failed.to_string()),
                    ("interactions", tool.interactions.to_string()),
                ],
            ));
        }
        if by_calls.len() > LOG_TOOLS {
            log.push(line(
                "more tools not listed",
                &[("tools", (by_calls.len() - LOG_TOOLS).to_string())],
            ));
        }
        let mut per_class: Vec<(&str, String)> = Vec::new();
        for class in ErrorClass::ALL {
            let n: u64 = self
                .groups
                .iter()
                .filter(|((_, c), _)| *c == class)
                .map(|(_, g)| g.failures)
                .sum();
            if n > 0 {
                per_class.push((class.as_str(), n.to_string()));
            }
        }
        log.push(line("failed calls by class", &per_class));

        let mut reported: Vec<Unit> = Vec::new();
        let mut dropped: Vec<(Unit, String)> = Vec::new();
        let mut splits = Vec::new();
        for ((tool, class), group) in self.folded_groups() {
            let units = if class == ErrorClass::Other {
                let (units, split) = self.split_other(&tool, &group);
                splits.push(split);
                units
            } else {
                vec![Unit {
                    tool,
                    class,
                    sub: None,
                    rest: false,
                    group,
                }]
            };
            for unit in units {
                match self.dropped_because(&unit.group) {
                    None => reported.push(unit),
                    Some(reason) => dropped.push((unit, reason)),
                }
            }
        }
        if !splits.is_empty() {
            let sum = |f: fn(&SplitStats) -> u64| splits.iter().map(f).sum::<u64>().to_string();
            log.push(line(
                "other errors split by message shape",
                &[
                    ("tools", splits.len().to_string()),
                    ("shapes", sum(|s| s.shapes as u64)),
                    ("own_patterns", sum(|s| s.own as u64)),
                    ("folded_back_shapes", sum(|s| (s.shapes - s.own) as u64)),
                    ("calls_past_shape_cap", sum(|s| s.past_cap)),
                ],
            ));
            // Tools with several shapes, most affected first.
            splits.retain(|s| s.shapes > 1);
            splits.sort_by(|a, b| {
                b.interactions
                    .cmp(&a.interactions)
                    .then(a.tool.cmp(&b.tool))
            });
            for s in splits.iter().take(LOG_SPLITS) {
                log.push(line(
                    "message shapes",
                    &[
                        ("tool", s.tool.clone()),
                        ("shapes", s.shapes.to_string()),
                        ("own_patterns", s.own.to_string()),
                        ("folded_back", (s.shapes - s.own).to_string()),
                        ("calls_past_shape_cap", s.past_cap.to_string()),
                    ],
                ));
            }
        }
        // Most interactions first; ties by tool, class then sub-key, so the order is stable.
        reported.sort_by(|a, b| {
            b.group
                .interactions
                .cmp(&a.group.interactions)
                .then_with(|| a.order().cmp(&b.order()))
        });
        dropped.sort_by(|a, b| {
            b.0.group
                .interactions
                .cmp(&a.0.group.interactions)
                .then_with(|| a.0.order().cmp(&b.0.order()))
        });

        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        // Patterns whose arguments were compared: (explained, not explained);
        // and those with too few readable calls to compare.
        let (mut explained, mut unexplained, mut uncompared) = (0u64, 0u64, 0u64);
        for (i, unit) in reported.iter().enumerate() {
            let Unit {
                tool,
                class,
                sub,
                group,
                ..
            } = unit;
            let args = self.tools.get(tool).and_then(|t| t.args.as_ref());
            let (explanation, (successes, failures)) = match (args, sub) {
                (None, _) => (None, (0, 0)),
                (Some(a), Some((subkey, _))) => (
                    a.explain_shape(subkey),
                    (a.compared_calls(*class).0, a.shape_calls(subkey)),
                ),
                // The unsplit rest of an `other` group mixes shapes whose
                // causes differ: its arguments are not compared.
                (Some(_), None) if unit.rest => (None, (0, 0)),
                (Some(a), None) => (a.explain(*class), a.compared_calls(*class)),
            };
            let compared = successes >= shapes::MIN_CALLS && failures >= shapes::MIN_CALLS;
            match (&explanation, compared) {
                (Some(_), _) => explained += 1,
                (None, true) => unexplained += 1,
                (None, false) => uncompared += 1,
            }
            let (pattern, fixes) = self.pattern(unit, explanation.as_ref(), compared);
            if i < LOG_GROUPS {
                let mut fields = vec![
                    ("key", pattern.key.clone()),
                    ("interactions", group.interactions.to_string()),
                    ("calls", group.failures.to_string()),
                    ("suggestions", fixes.len().to_string()),
                ];
                if let Some(e) = &explanation {
                    fields.push(("explained_by", e.summary()));
                    let aim = match e.caller_clause() {
                        Some(_) if class.is_operational() => "caller and owner",
                        Some(_) => "caller",
                        None => "owner",
                    };
                    fields.push(("fix_aimed_at", aim.to_string()));
                } else if compared {
                    fields.push((
                        "explained_by",
                        format!(
                            "no field (compared {failures} failing and {successes} successful calls)"
                        ),
                    ));
                }
                log.push(line("pattern", &fields));
            }
            patterns.push(pattern);
            suggestions.extend(fixes);
        }
        if reported.len() > LOG_GROUPS {
            log.push(line(
                "more patterns not listed",
                &[("patterns", (reported.len() - LOG_GROUPS).to_string())],
            ));
        }
        log.push(line(
            "arguments compared",
            &[
                ("patterns_explained", explained.to_string()),
                ("patterns_not_explained", unexplained.to_string()),
                ("patterns_too_few_calls", uncompared.to_string()),
            ],
        ));
        for (unit, reason) in dropped.iter().take(LOG_GROUPS) {
            log.push(line(
                "dropped",
                &[
                    ("key", unit.key()),
                    ("interactions", unit.group.interactions.to_string()),
                    ("calls", unit.group.failures.to_string()),
                    ("reason", reason.clone()),
                ],
            ));
        }
        if dropped.len() > LOG_GROUPS {
            log.push(line(
                "more dropped groups not listed",
                &[("groups", (dropped.len() - LOG_GROUPS).to_string())],
            ));
        }
        log.push(line(
            "done",
            &[
                ("patterns", patterns.len().to_string()),
                ("suggestions", suggestions.len().to_string()),
                ("dropped", dropped.len().to_string()),
            ],
        ));

        let findings = Findings {
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
        };
        (findings, log)
    }

    /// One group's pattern and its fixes (at most two).
    /// `compared`: whether enough calls of each side had readable
    /// arguments for the comparison to mean something.
    fn pattern(
        &self,
        unit: &Unit,
        explanation: Option<&Explanation>,
        compared: bool,
    ) -> (Pattern, Vec<Suggestion>) {
        let (tool, class, group) = (unit.tool.as_str(), unit.class, &unit.group);
        let calls = self.tools.get(tool).map_or(0, |t| t.calls);
        let rate = ratio(group.failures, calls);
        let share = ratio(group.interactions, self.interactions);
        let (masked, raw) = group.sample();
        let class_name = match &unit.sub {
            Some((_, shape)) => format!("\"{shape}\" ({})", class.as_str()),
            None => class.as_str().to_string(),
        };
        let key = unit.key();
        let n = group.interactions;
        let mut description = format!(
            "`{tool}` failed with {class_name} in {n} of {} interactions ({}): {} of its {calls} \
             calls ({}). Most common error: \"{raw}\".",
            self.interactions,
            percent(share),
            group.failures,
            percent(rate),
        );
        match (explanation, class.is_operational()) {
            (Some(e), true) => description.push_str(&format!(
                " {} The failures follow the arguments, so the tool is not simply down.",
                e.finding()
            )),
            (Some(e), false) => description.push_str(&format!(" {}", e.finding())),
            (None, _) if unit.rest => description.push_str(
                " Its other message shapes are reported apart; these are the rarer ones.",
            ),
            (None, true) if compared => description.push_str(
                " Failing calls have the same argument shapes as successful ones: the tool \
                 itself fails.",
            ),
            (None, false) if compared => description.push_str(
                " No argument field tells failing calls from successful ones by its shape.",
            ),
            (None, _) => {}
        }
        let pattern = Pattern {
            key: key.clone(),
            title: format!("`{tool}` fails with {class_name}"),

            description,
            severity: self.severity(share),
            occurrences: saturating_u32(n),
            evidence: group
                .evidence
                .iter()
                .filter_map(|i| self.evidence.ids.get(*i as usize).cloned())
                .collect(),
        };

        let rationale = format!(
            "`{tool}` failed with {class_name} in {n} interactions ({} of interactions; {} of its \
             {calls} calls). Most common error: \"{masked}\".",
            percent(share),
            percent(rate),
        );
        let suggest = |edit: Edit, confidence: f32, why: String| Suggestion {
            edit,
            rationale: why,
            confidence,
            addresses: vec![key.clone()],
        };
        let mut fixes = Vec::new();
        if class.is_operational() {
            let how = match class {
                ErrorClass::Timeout => "times out",
                ErrorClass::RateLimited => "is rate limited",
                _ => "is unavailable",
            };
            // Failures that follow the arguments are the tool's limit, not
            // an outage: the caller avoids the shape when another one asks
            // the same, and the owner is told what the tool cannot handle.
            if let Some(e) = explanation {
                let caller = e.caller_clause();
                if let Some(clause) = &caller {
                    fixes.push(suggest(
                        Edit::AppendInstruction(format!("When you call `{tool}`, {clause}.")),
                        (f64::from(confidence(n, 0.85)) * e.strength().min(1.0)) as f32,
                        format!(
                            "{rationale} {} Calls of the other shape succeed, so the agent can \
                             ask the same in a form the tool handles.",
                            e.finding()
                        ),
                    ));
                }
                let note = match caller {
                    Some(_) => format!(
                        "`{tool}` {how} only when {}, while calls of other shapes succeed: the \
                         tool cannot handle that shape of arguments. Make it handle them, or \
                         refuse them at once with an error that says so. The failing interactions \
                         are in this pattern's evidence.",
                        e.summary()
                    ),
                    None => format!(
                        "`{tool}` {how} only when {}, and no other shape of arguments asks the \
                         same: the tool cannot handle what these requests need. Check how it \
                         handles such arguments. The failing interactions are in this pattern's \
                         evidence.",
                        e.summary()
                    ),
                };
                fixes.push(suggest(
                    Edit::FlagForReview(note),
                    confidence(n, 0.8),
                    format!("{rationale} {}", e.finding()),
                ));
                return (pattern, fixes);
            }
            fixes.push(suggest(
                Edit::AppendInstruction(format!(
                    "When `{tool}` fails or {how}, tell the user it did not go through and offer \
                     to try again; never state a result that no tool returned."
                )),
                confidence(n, 0.8),
                format!(
                    "{rationale} The agent cannot make the tool work, but it can stop answering \
                     as if it had."
                ),
            ));
            if rate >= self.settings.review_failure_rate {
                fixes.push(suggest(
                    Edit::FlagForReview(format!(
                        "`{tool}` {how} on a large share of its calls, which no prompt can fix: \
                         check the tool's health, capacity, timeouts and rate limits. The failing \
                         interactions are in this pattern's evidence."
                    )),
                    confidence(n, 0.8),
                    format!(
                        "{rationale} At or above review_failure_rate ({}).",
                        percent(self.settings.review_failure_rate)
                    ),
                ));
            }
            return (pattern, fixes);
        }
        let shape_fix = matches!(
            class,
            ErrorClass::InvalidArgument | ErrorClass::NotFound | ErrorClass::Other
        );
        match (explanation, shape_fix) {
            (Some(e), true) => {
                let strength = e.strength();
                fixes.push(suggest(
                    Edit::AppendInstruction(format!("When you call `{tool}`, {}.", e.clause())),
                    (f64::from(confidence(n, 0.9)) * strength.min(1.0)) as f32,
                    format!("{rationale} {}", e.finding()),
                ));
            }
            (explained, _) => {
                let edit = match class {
                    ErrorClass::InvalidArgument => Edit::AppendInstruction(format!(
                        "When you call `{tool}`, send arguments in the form it expects; it \
                         rejects them with \"{masked}\". Correct the arguments instead of \
                         repeating the same call."
                    )),
                    ErrorClass::NotFound => Edit::FlagForReview(format!(
                        "`{tool}` often finds nothing for what the agent asks. Check whether the \
                         agent passes identifiers as the user gave them when the tool needs \
                         another form, or whether the data is missing. The failing interactions \
                         are in this pattern's evidence."
                    )),
                    ErrorClass::PermissionDenied => Edit::FlagForReview(match explained {
                        Some(e) => format!(
                            "`{tool}` refuses permission when {}. Decide whether the agent \
                             should be allowed such calls or told not to make them; the failing \
                             interactions are in this pattern's evidence.",
                            e.summary()
                        ),
                        None => format!(
                            "`{tool}` refuses permission to the agent. Check the tool's \
                             credentials and what the agent is allowed to call; the failing \
                             interactions are in this pattern's evidence."
                        ),
                    }),
                    _ if unit.sub.is_some() => Edit::FlagForReview(format!(
                        "`{tool}` keeps failing with one error that fits no known class (its \
                         form is in this pattern's title). A person should read the failing \
                         interactions in this pattern's evidence and decide whose problem it is."
                    )),
                    _ => Edit::FlagForReview(format!(
                        "`{tool}` fails with errors that fit no known class. A person should read \
                         the failing interactions in this pattern's evidence and decide whose \
                         problem it is."
                    )),
                };
                // Quoting the tool's message is a guess at the fix, not a finding.
                let max = if matches!(edit, Edit::AppendInstruction(_)) {
                    0.45
                } else {
                    0.6
                };
                fixes.push(suggest(edit, confidence(n, max), rationale.clone()));
            }
        }
        (pattern, fixes)
    }
}

/// `tool-failures/<tool>/<class>`.
fn group_key(tool: &str, class: ErrorClass) -> String {
    format!("tool-failures/{}/{}", key_part(tool), class.as_str())
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
            description: "Groups failed tool calls by tool and error class (timeout, \
                          rate_limited, not_found, invalid_argument, permission_denied, \
                          unavailable, other; `other` split by message shape), compares failing \
                          calls' arguments with successful ones to find the field or shape that \
                          fails, and proposes that fix to the caller, graceful handling of a \
                          failing tool, or a review by the tool's owner."
                .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "min_occurrences",
                    "Interactions a (tool, error class) must affect before it is reported.",
                    DEFAULT_MIN_OCCURRENCES.to_string(),
                ),
                spec(
                    "min_share",
                    "Share of the window's interactions a (tool, error class) must affect before it is reported.",
                    DEFAULT_MIN_SHARE.to_string(),
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
                    "Share of a tool's calls failing with timeout, rate_limited or unavailable at or above which the tool is flagged for its operators.",
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
            tools: BTreeMap::new(),
            profiled_tools: 0,
            groups: BTreeMap::new(),
            evidence: EvidenceStore::default(),
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
        let (findings, lines) = self.findings_and_log();
        log::info_all(&lines);
        Ok(findings)
    }
}

reverie_rule_sdk::export_rule!(ToolFailures);

#[cfg(test)]
mod tests;
