//! The `retry-loops` rule: an agent that calls a tool again with the same
//! arguments after it failed, and gets the same error.
//!
//! In the `analyse` stage it finds the loops of every interaction
//! ([`loops::loops`]) and groups them by tool. A tool is a pattern when its
//! loops (with at least `min_repeats` repeated calls each) affect at least
//! `min_occurrences` interactions; its key is `retry-loops/<tool>`, its
//! occurrences the interactions, its evidence every such interaction, in
//! window order, up to [`MAX_EVIDENCE`]. Loops whose attempts have a user's
//! message between them ("over several turns", inferred from the calls'
//! message indices, see [`loops::Loop::across_turns`]) are counted apart in
//! the description and the run log: the agent then repeated the failing
//! call even after the user had spoken.
//!
//! The fix names the tool: do not repeat a call that failed; change what
//! the error points at, or tell the user. When the same call, retried after
//! a failure, worked at least as often as it looped ([`RETRY_WORKS_SHARE`]),
//! the tool's failures pass, and the fix allows one more attempt instead.
//! It holds no count, value or quote; those are in the rationale.
//!
//! Repeating a failing call is a habit of the agent more than a fault of one
//! tool: when two or more tools are patterns, a further pattern [`HABIT_KEY`]
//! holds all their interactions, and one fix naming the two most looped
//! tools replaces the per-tool fixes. So the habit is one problem, whatever
//! tools it shows on, and each tool's failures, which may have other causes
//! too, stay facets of it or problems of their own.
//!
//! Memory is bounded whatever the window: at most [`MAX_TOOLS`] tools, each
//! with at most [`MAX_SHAPES`] error shapes, and [`MAX_EVIDENCE_TOTAL`]
//! evidence entries across tools, each an index into one list of
//! interaction ids kept once.

/// What counts as the same failing call made again, shared through the SDK.
pub use reverie_rule_sdk::retries as loops;

use reverie_rule_sdk::finding::{
    HIGH_SHARE, MEDIUM_SHARE, confidence, key_part, percent, ratio, severity,
};
use std::collections::BTreeMap;

use reverie_rule_sdk::log::line;
use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, Findings, Inputs, Interaction, Metric, Pattern, Rule, RuleInfo,
    SettingSpec, Stage, Suggestion, log, setting_or, text,
};

pub use loops::{Loop, Scan, error_shape, loops, scan};

/// One line of the run log: a message and its figures.
pub use reverie_rule_sdk::log::Line as LogLine;

/// Interaction ids kept as evidence per pattern: all of them, up to this.
pub const MAX_EVIDENCE: usize = reverie_rule_sdk::MAX_EVIDENCE;
/// Evidence entries kept across all tools (4 bytes each, plus each id once).
pub const MAX_EVIDENCE_TOTAL: usize = 500_000;
/// Distinct tools tracked; loops of further tools only count in the metrics.
pub const MAX_TOOLS: usize = 500;
/// Error shapes remembered per tool; a shape first seen when the table is
/// full only counts.
pub const MAX_SHAPES: usize = 16;
/// Longest tool name kept (longer names are cut, so a hostile name cannot grow memory).
const MAX_NAME_CHARS: usize = 100;
/// Longest error shape quoted in a description.
const SAMPLE_CHARS: usize = 120;
/// Patterns and dropped tools listed by name in the run log.
const LOG_TOOLS: usize = 8;

/// Share of a tool's retried failures (loops and retries that worked)
/// where the retry worked, at or above which the fix allows one more
/// attempt instead of none.
pub const RETRY_WORKS_SHARE: f64 = 0.5;

const DEFAULT_MIN_OCCURRENCES: u64 = 3;
const DEFAULT_MIN_REPEATS: u32 = 1;

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    min_occurrences: u64,
    min_repeats: u32,
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
        let min_occurrences: u64 = setting_or(context, "min_occurrences", DEFAULT_MIN_OCCURRENCES)?;
        if min_occurrences == 0 {
            return Err("setting `min_occurrences`: must be at least 1".into());
        }
        let min_repeats: u32 = setting_or(context, "min_repeats", DEFAULT_MIN_REPEATS)?;
        if min_repeats == 0 {
            return Err(
                "setting `min_repeats`: must be at least 1 (one repeat is two identical failing calls)"
                    .into(),
            );
        }
        Ok(Settings {
            min_occurrences,
            min_repeats,
        })
    }
}

/// Counters for one tool's loops.
#[derive(Default)]
struct ToolLoops {
    /// Interactions with at least one counted loop.
    interactions: u64,
    /// Interactions with a counted loop over several turns.
    interactions_across_turns: u64,
    loops: u64,
    loops_across_turns: u64,
    /// Calls that repeated a failing call (attempts less one, summed).
    repeats: u64,
    /// The most attempts in one loop.
    longest: u32,
    /// Retries with the same arguments that worked after a failure.
    recovered: u64,
    /// Error shape → loops.
    shapes: BTreeMap<String, u64>,
    /// Indices into [`RetryLoops::ids`], in window order.
    evidence: Vec<u32>,
}

/// The rule's state for one cycle.
pub struct RetryLoops {
    settings: Settings,
    interactions: u64,
    calls: u64,
    failed_calls: u64,
    /// Loops found, counted or not.
    loops_seen: u64,
    /// Loops with fewer than `min_repeats` repeats.
    loops_too_short: u64,
    /// Retries that worked after a failure.
    recovered: u64,
    interactions_with_loop: u64,
    tools: BTreeMap<String, ToolLoops>,
    /// Ids of interactions that are evidence of some tool, each once.
    ids: Vec<String>,
    evidence_total: usize,
    /// Whether [`MAX_TOOLS`] was hit (logged once).
    overflowed: bool,
    /// Whether [`MAX_EVIDENCE_TOTAL`] was hit (logged once).
    evidence_full: bool,
}

impl RetryLoops {
    fn record(&mut self, interaction: &Interaction) {
        self.interactions += 1;
        self.calls += interaction.tool_calls.len() as u64;
        self.failed_calls += interaction
            .tool_calls
            .iter()
            .filter(|c| c.error.is_some())
            .count() as u64;
        let Scan {
            loops: found,
            recovered,
        } = scan(interaction);
        self.loops_seen += found.len() as u64;
        for (tool, n) in recovered {
            self.recovered += u64::from(n);
            let name = text::truncate(&tool, MAX_NAME_CHARS);
            if self.tools.contains_key(&name) || self.tools.len() < MAX_TOOLS {
                self.tools.entry(name).or_default().recovered += u64::from(n);
            }
        }
        // Per tool of this interaction: (any counted loop, any over several turns).
        let mut here: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        for l in found {
            if l.attempts - 1 < self.settings.min_repeats {
                self.loops_too_short += 1;
                continue;
            }
            let name = text::truncate(&l.tool, MAX_NAME_CHARS);
            if !self.tools.contains_key(&name) && self.tools.len() >= MAX_TOOLS {
                self.overflow();
                continue;
            }
            let tool = self.tools.entry(name.clone()).or_default();
            tool.loops += 1;
            tool.repeats += u64::from(l.attempts - 1);
            tool.longest = tool.longest.max(l.attempts);
            if l.across_turns {
                tool.loops_across_turns += 1;
            }
            if let Some(n) = tool.shapes.get_mut(&l.error_shape) {
                *n += 1;
            } else if tool.shapes.len() < MAX_SHAPES {
                tool.shapes.insert(l.error_shape, 1);
            }
            let seen = here.entry(name).or_default();
            seen.0 = true;
            seen.1 |= l.across_turns;
        }
        if here.is_empty() {
            return;
        }
        self.interactions_with_loop += 1;
        let mut id_index: Option<u32> = None;
        for (name, (_, across_turns)) in here {
            let Some(tool) = self.tools.get_mut(&name) else {
                continue;
            };
            tool.interactions += 1;
            tool.interactions_across_turns += u64::from(across_turns);
            if tool.evidence.len() >= MAX_EVIDENCE {
                continue;
            }
            if self.evidence_total < MAX_EVIDENCE_TOTAL {
                let index = *id_index.get_or_insert_with(|| {
                    self.ids.push(interaction.id.clone());
                    u32::try_from(self.ids.len() - 1).unwrap_or(u32::MAX)
                });
                tool.evidence.push(index);
                self.evidence_total += 1;
            } else if !self.evidence_full {
                self.evidence_full = true;
                log::warn(
                    "evidence budget reached; later interactions with loops count but are not listed",
                    &[("max_evidence_total", &MAX_EVIDENCE_TOTAL.to_string())],
                );
            }
        }
    }

    fn overflow(&mut self) {
        if !self.overflowed {
            self.overflowed = true;
            log::warn(
                "too many distinct tools with loops; further ones only count in the metrics",
                &[("max_tools", &MAX_TOOLS.to_string())],
            );
        }
    }

    /// The findings and the run log that explains them.
    pub fn findings_and_log(&self) -> (Findings, Vec<LogLine>) {
        let mut log = vec![line(
            "read",
            &[
                ("interactions", self.interactions.to_string()),
                ("calls", self.calls.to_string()),
                ("failed_calls", self.failed_calls.to_string()),
                ("loops", self.loops_seen.to_string()),
                ("loops_below_min_repeats", self.loops_too_short.to_string()),
                ("retries_that_worked", self.recovered.to_string()),
                (
                    "interactions_with_loop",
                    self.interactions_with_loop.to_string(),
                ),
            ],
        )];
        // Most interactions first; ties by name, so the order is stable.
        let mut tools: Vec<(&String, &ToolLoops)> = self.tools.iter().collect();
        tools.sort_by(|a, b| b.1.interactions.cmp(&a.1.interactions).then(a.0.cmp(b.0)));
        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        let mut dropped = 0usize;
        // The tools reported, most looped first.
        let mut reported: Vec<(&str, &ToolLoops)> = Vec::new();
        for (name, tool) in tools.into_iter().filter(|(_, t)| t.loops > 0) {
            let fields = [
                ("key", key(name)),
                ("interactions", tool.interactions.to_string()),
                ("loops", tool.loops.to_string()),
                (
                    "loops_over_several_turns",
                    tool.loops_across_turns.to_string(),
                ),
                ("repeated_calls", tool.repeats.to_string()),
                ("retries_that_worked", tool.recovered.to_string()),
            ];
            if tool.interactions < self.settings.min_occurrences {
                if dropped < LOG_TOOLS {
                    let mut fields = fields.to_vec();
                    fields.push((
                        "reason",
                        format!(
                            "below min_occurrences ({} interactions)",
                            self.settings.min_occurrences
                        ),
                    ));
                    log.push(line("dropped", &fields));
                }
                dropped += 1;
                continue;
            }
            if patterns.len() < LOG_TOOLS {
                log.push(line("pattern", &fields));
            }
            let (pattern, fix) = self.pattern(name, tool);
            patterns.push(pattern);
            suggestions.push(fix);
            reported.push((name.as_str(), tool));
        }
        if reported.len() >= 2 {
            let (pattern, fix) = self.habit(&reported);
            log.push(line(
                "pattern",
                &[
                    ("key", HABIT_KEY.to_string()),
                    ("interactions", pattern.occurrences.to_string()),
                    ("tools", reported.len().to_string()),
                ],
            ));
            patterns.push(pattern);
            suggestions = vec![fix];
        }
        log.push(line(
            "done",
            &[
                ("patterns", patterns.len().to_string()),
                ("suggestions", suggestions.len().to_string()),
                ("dropped", dropped.to_string()),
            ],
        ));
        let findings = Findings {
            patterns,
            suggestions,
            metrics: vec![
                Metric {
                    name: "retry_loop_interaction_share".into(),
                    value: ratio(self.interactions_with_loop, self.interactions),
                    description: "Share of interactions where a failing tool call was repeated \
                                  with the same arguments and failed the same way."
                        .into(),
                },
                Metric {
                    name: "repeated_failing_call_share".into(),
                    value: ratio(
                        self.tools.values().map(|t| t.repeats).sum(),
                        self.failed_calls,
                    ),
                    description: "Share of failed tool calls that repeated an earlier failed \
                                  call of the same interaction exactly."
                        .into(),
                },
            ],
        };
        (findings, log)
    }

    /// One tool's pattern and its fix.
    fn pattern(&self, tool: &str, stats: &ToolLoops) -> (Pattern, Suggestion) {
        let key = key(tool);
        let n = stats.interactions;
        let share = ratio(n, self.interactions);
        // The most common shape; ties by shape, so the sample is stable.
        let sample = stats
            .shapes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(String::new(), |(s, _)| text::truncate(s, SAMPLE_CHARS));
        let turns = if stats.loops_across_turns > 0 {
            format!(
                " {} of the loops went on over several turns (a user's message between the \
                 attempts), in {} interactions.",
                stats.loops_across_turns, stats.interactions_across_turns
            )
        } else {
            " Every loop stayed within one turn of the agent.".to_string()
        };
        let description = format!(
            "`{tool}` was called again with the same arguments after it failed, and failed the \
             same way, in {n} of {} interactions ({}): {} loops, {} repeated calls, up to {} \
             identical attempts in one loop.{turns} Most common error (digits masked): \
             \"{sample}\".",
            self.interactions,
            percent(share),
            stats.loops,
            stats.repeats,
            stats.longest,
        );
        let severity = severity(share, HIGH_SHARE, MEDIUM_SHARE);
        let pattern = Pattern {
            key: key.clone(),
            title: format!("`{tool}` is called again with the same arguments after it fails"),
            description,
            severity,
            occurrences: u32::try_from(n).unwrap_or(u32::MAX),
            evidence: stats
                .evidence
                .iter()
                .filter_map(|i| self.ids.get(*i as usize).cloned())
                .collect(),
        };
        // Retries that worked say the failures pass: one more attempt is
        // worth it, an endless one is not.
        let worked = ratio(stats.recovered, stats.recovered + stats.loops);
        let (edit, retries) = if worked >= RETRY_WORKS_SHARE {
            (
                format!(
                    "When `{tool}` fails, you may call it once more with the same arguments; if \
                     it fails again, change what the error points at, or tell the user it failed \
                     and what you can do instead."
                ),
                format!(
                    "{} retries of `{tool}` with the same arguments did work after a failure, \
                     so one more attempt is worth it.",
                    stats.recovered
                ),
            )
        } else {
            (
                format!(
                    "When `{tool}` fails, do not call it again with the same arguments: change \
                     what the error points at, or tell the user it failed and what you can do \
                     instead."
                ),
                match stats.recovered {
                    0 => format!(
                        "No retry of `{tool}` with the same arguments worked in this window."
                    ),
                    r => format!(
                        "Only {r} retries of `{tool}` with the same arguments worked after a \
                         failure, against {} loops.",
                        stats.loops
                    ),
                },
            )
        };
        let fix = Suggestion {
            edit: Edit::AppendInstruction(edit),
            rationale: format!(
                "In {n} interactions ({} of the window) the agent repeated a failing `{tool}` \
                 call unchanged and got the same error: {} repeated calls, {} loops over several \
                 turns. {retries} Most common error: \"{sample}\".",
                percent(share),
                stats.repeats,
                stats.loops_across_turns,
            ),
            confidence: confidence(n, 0.8 - 0.3 * worked),
            addresses: vec![key],
        };
        (pattern, fix)
    }
}

/// The key of the habit behind loops on several tools. Three parts, so it
/// cannot be a tool's `retry-loops/<tool>`.
pub const HABIT_KEY: &str = "retry-loops/loops/any-tool";

impl RetryLoops {
    /// The habit behind the loops of several tools (`reported`, most looped
    /// first): every interaction of theirs, and one fix naming the first two.
    fn habit(&self, reported: &[(&str, &ToolLoops)]) -> (Pattern, Suggestion) {
        let mut indices: Vec<u32> = reported
            .iter()
            .flat_map(|(_, t)| t.evidence.iter().copied())
            .collect();
        // Ids are kept once, in window order, so their indices sort by it.
        indices.sort_unstable();
        indices.dedup();
        let n = indices.len() as u64;
        let share = ratio(n, self.interactions);
        let sum = |f: fn(&ToolLoops) -> u64| reported.iter().map(|(_, t)| f(t)).sum::<u64>();
        let (loops, repeats, across, recovered) = (
            sum(|t| t.loops),
            sum(|t| t.repeats),
            sum(|t| t.loops_across_turns),
            sum(|t| t.recovered),
        );
        let named = match reported {
            [a, b, ..] => format!("`{}` or `{}`", a.0, b.0),
            [a] => format!("`{}`", a.0),
            [] => String::new(),
        };
        let tools = reported
            .iter()
            .map(|(name, t)| format!("`{name}` in {}", t.interactions))
            .collect::<Vec<_>>()
            .join(", ");
        let description = format!(
            "The agent called a tool again with the same arguments after it failed, and got the \
             same error, in {n} of {} interactions ({}), on {} tools: {tools}. {loops} loops, \
             {repeats} repeated calls, {across} of the loops over several turns.",
            self.interactions,
            percent(share),
            reported.len(),
        );
        let pattern = Pattern {
            key: HABIT_KEY.into(),
            title: "The agent repeats tool calls that failed, unchanged".into(),
            description,
            severity: severity(share, HIGH_SHARE, MEDIUM_SHARE),
            occurrences: u32::try_from(n).unwrap_or(u32::MAX),
            evidence: indices
                .iter()
                .filter_map(|i| self.ids.get(*i as usize).cloned())
                .collect(),
        };
        let worked = ratio(recovered, recovered + loops);
        let edit = if worked >= RETRY_WORKS_SHARE {
            format!(
                "When a tool call fails (for example {named}), you may call it once more with \
                 the same arguments; if it fails again, change what the error points at, or tell \
                 the user it failed and what you can do instead."
            )
        } else {
            format!(
                "When a tool call fails (for example {named}), do not call it again with the same \
                 arguments: change what the error points at, or tell the user it failed and what \
                 you can do instead."
            )
        };
        let mut addresses = vec![HABIT_KEY.to_string()];
        addresses.extend(reported.iter().map(|(name, _)| key(name)));
        let fix = Suggestion {
            edit: Edit::AppendInstruction(edit),
            rationale: format!(
                "In {n} interactions ({} of the window) the agent repeated a failing call \
                 unchanged and got the same error, on {} tools ({tools}): {repeats} repeated \
                 calls, {across} loops over several turns; {recovered} retries with the same \
                 arguments worked after a failure.",
                percent(share),
                reported.len(),
            ),
            confidence: confidence(n, 0.8 - 0.3 * worked),
            addresses,
        };
        (pattern, fix)
    }
}

/// `retry-loops/<tool>`.
fn key(tool: &str) -> String {
    format!("retry-loops/{}", key_part(tool))
}

impl Rule for RetryLoops {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: String| SettingSpec {
            name: name.into(),
            description: description.into(),
            default_value: Some(default),
        };
        RuleInfo {
            name: "retry-loops".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Finds tools the agent calls again with the same arguments after they \
                          failed, getting the same error, within one interaction (and over \
                          several turns), and proposes that it change the call or tell the user."
                .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "min_occurrences",
                    "Interactions with a loop on a tool before the tool is reported.",
                    DEFAULT_MIN_OCCURRENCES.to_string(),
                ),
                spec(
                    "min_repeats",
                    "Repeats a loop needs to count: 1 is two identical failing calls, 2 is three.",
                    DEFAULT_MIN_REPEATS.to_string(),
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(RetryLoops {
            settings: Settings::from_context(&context)?,
            interactions: 0,
            calls: 0,
            failed_calls: 0,
            loops_seen: 0,
            loops_too_short: 0,
            recovered: 0,
            interactions_with_loop: 0,
            tools: BTreeMap::new(),
            ids: Vec::new(),
            evidence_total: 0,
            overflowed: false,
            evidence_full: false,
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

reverie_rule_sdk::export_rule!(RetryLoops);

#[cfg(test)]
mod tests;
