//! The `made-up-ids` rule: ids the agent sent to a tool that nobody gave it.
//!
//! An *id argument* is a top-level field of a call's arguments whose name
//! says it holds ids ([`ids::is_id_field`], the `id_fields` setting) and whose
//! value looks like one ([`ids::IdPattern`], `id_pattern`). It is *made up*
//! when it appears in nothing the agent had read before the call
//! ([`sources`]): not the system prompt, not the user's messages, not a
//! successful tool result. An agent that sends `credit_card_7334` because
//! the user said the card ends in 7334 has invented the id, and the tool
//! either fails or, worse, acts on the wrong record.
//!
//! In the `analyse` stage the rule checks every id argument and groups the
//! made-up ones by (tool, field). A group is a pattern when it affects at
//! least `min_occurrences` interactions and its made-up calls are at least
//! `min_share` of the tool's calls; its key is `made-up-ids/<tool>/<field>`,
//! its evidence every such interaction, in window order, up to
//! [`MAX_EVIDENCE`]. How many made-up calls failed is in the description
//! and the rationale: an invented id the tool rejects is strong evidence,
//! and raises the fix's confidence. The description shows an invented
//! value's shape (`letters_letters_digits`), never the value.
//!
//! Memory is bounded whatever the window: at most [`MAX_TOOLS`] tools,
//! [`MAX_GROUPS`] (tool, field) groups with [`MAX_SHAPES`] shapes each, and
//! [`MAX_EVIDENCE_TOTAL`] evidence entries across groups, each an index into
//! one list of interaction ids kept once. Per interaction, the sources are
//! folded once, and only when a call has an id argument.

pub mod ids;
pub mod sources;

use std::borrow::Cow;
use std::collections::BTreeMap;

use reverie_rule_sdk::finding::{
    HIGH_SHARE, MEDIUM_SHARE, confidence, key_part, percent, ratio, severity,
};
use reverie_rule_sdk::log::line;
use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, Findings, Inputs, Interaction, Metric, Pattern, Rule, RuleInfo,
    SettingSpec, Stage, Suggestion, json, log, setting, setting_or, text,
};

pub use ids::{DEFAULT_ID_FIELDS, FieldName, IdPattern};
use sources::Sources;

/// One line of the run log: a message and its figures.
pub use reverie_rule_sdk::log::Line as LogLine;

/// Interaction ids kept as evidence per pattern: all of them, up to this.
pub const MAX_EVIDENCE: usize = reverie_rule_sdk::MAX_EVIDENCE;
/// Evidence entries kept across all groups (4 bytes each, plus each id once).
pub const MAX_EVIDENCE_TOTAL: usize = 500_000;
/// Distinct tools counted; calls to further tools only count in the metrics.
pub const MAX_TOOLS: usize = 500;
/// Distinct (tool, field) groups tracked; further ones only count in the metrics.
pub const MAX_GROUPS: usize = 1000;
/// Shapes of made-up values remembered per group; a shape first seen when
/// the table is full only counts.
pub const MAX_SHAPES: usize = 8;
/// Calls of one interaction that are read; later calls are ignored.
pub const MAX_CALLS: usize = 2_000;
/// Longest tool or field name kept (longer names are cut).
const MAX_NAME_CHARS: usize = 100;
/// Patterns and dropped groups listed by name in the run log.
const LOG_GROUPS: usize = 8;

const DEFAULT_MIN_OCCURRENCES: u64 = 3;
/// 5%: a tool whose id arguments are unfound in one call in twenty is
/// worth a look; below that, ids the sources spell too differently for
/// [`sources::fold`] to see (a code looked up in a table the log does not
/// hold) are as likely as invention.
const DEFAULT_MIN_SHARE: f64 = 0.05;

/// What the rule knows at the start of a cycle: its settings and the live
/// system prompt, folded, which is a source for every call.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub id_fields: Vec<FieldName>,
    pub id_pattern: IdPattern,
    pub min_occurrences: u64,
    pub min_share: f64,
    /// The live system prompt, as [`sources::fold`] gives it.
    pub system_prompt: String,
}

impl Settings {
    pub fn from_context(context: &CycleContext) -> Result<Settings, String> {
        let min_occurrences: u64 = setting_or(context, "min_occurrences", DEFAULT_MIN_OCCURRENCES)?;
        if min_occurrences == 0 {
            return Err("setting `min_occurrences`: must be at least 1".into());
        }
        let min_share: f64 = setting_or(context, "min_share", DEFAULT_MIN_SHARE)?;
        if !(0.0..=1.0).contains(&min_share) {
            return Err(format!(
                "setting `min_share`: must be a share between 0 and 1, got {min_share}"
            ));
        }
        let id_fields =
            ids::parse_id_fields(setting(context, "id_fields").unwrap_or(DEFAULT_ID_FIELDS))?;
        let id_pattern = match setting(context, "id_pattern") {
            Some(raw) => IdPattern::parse(raw)?,
            None => IdPattern::WithDigit,
        };
        Ok(Settings {
            id_fields,
            id_pattern,
            min_occurrences,
            min_share,
            system_prompt: sources::fold(&context.system_prompt),
        })
    }
}

/// Where an id argument's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A source held it (in its folded form).
    Known,
    /// No source held it, but every digit of it is in a source, as a run
    /// the value holds: the agent built it from what it was given (`99451`
    /// sent as `E99451`; a card's last digits sent as `credit_card_7334`).
    /// Whether that is a form the tool expects or an invention, only the
    /// tool's answers tell.
    Rebuilt,
    /// No source held it or its digits.
    Invented,
}

/// Digits a rebuilt value must take from its sources: with fewer, any text
/// holds them by chance.
const MIN_REBUILT_DIGITS: usize = 3;

/// An id argument of one call, checked against the sources.
#[derive(Debug, Clone, PartialEq)]
pub struct IdArgument {
    /// Index of the call in `interaction.tool_calls`.
    pub call: usize,
    /// The field's name.
    pub field: String,
    pub origin: Origin,
    /// The value's shape ([`ids::shape`]) when it is not known; empty when it is.
    pub shape: String,
}

/// A made-up id: a value in an id field that no source held.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeUp {
    pub tool: String,
    pub field: String,
    /// Index of the call in `interaction.tool_calls`.
    pub call: usize,
    /// Whether the call failed.
    pub failed: bool,
    /// Whether it was rebuilt from digits a source gave ([`Origin::Rebuilt`]).
    pub rebuilt: bool,
    /// The value's shape ([`ids::shape`]), never the value.
    pub shape: String,
}

/// Every id argument of the interaction's calls, in call order, each with
/// where its value came from.
pub fn id_arguments(interaction: &Interaction, settings: &Settings) -> Vec<IdArgument> {
    let mut out = Vec::new();
    let mut sources: Option<Sources> = None;
    for (i, call) in interaction.tool_calls.iter().take(MAX_CALLS).enumerate() {
        let Some(fields) = json::object_fields(&call.arguments) else {
            continue;
        };
        for f in fields {
            if !ids::is_id_field(&f.name, &settings.id_fields) {
                continue;
            }
            let Some(value) = f.value.scalar() else {
                continue;
            };
            let value = value.trim();
            if !settings.id_pattern.matches(value) {
                continue;
            }
            let folded = sources::fold(value);
            if folded.is_empty() {
                continue;
            }
            let sources = sources.get_or_insert_with(|| Sources::of(interaction));
            // The interaction first: most ids come from it, and the prompt is long.
            let mut knows = |part: &str| {
                sources.knows(part, call.message_index) || settings.system_prompt.contains(part)
            };
            let origin = if knows(&folded) {
                Origin::Known
            } else {
                let runs: Vec<&str> = value
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|r| !r.is_empty())
                    .collect();
                let digits: usize = runs.iter().map(|r| r.len()).sum();
                if digits >= MIN_REBUILT_DIGITS && runs.iter().all(|r| knows(r)) {
                    Origin::Rebuilt
                } else {
                    Origin::Invented
                }
            };
            out.push(IdArgument {
                call: i,
                field: f.name.into_owned(),
                origin,
                shape: if origin == Origin::Known {
                    String::new()
                } else {
                    ids::shape(value)
                },
            });
        }
    }
    out
}

/// The made-up ids of the interaction's calls, in call order: every
/// invented value, and every rebuilt one whose call failed. (Across a
/// window the rule judges rebuilt values by the tool's answers to all of
/// them; one interaction has only its own.)
pub fn made_up(interaction: &Interaction, settings: &Settings) -> Vec<MadeUp> {
    id_arguments(interaction, settings)
        .into_iter()
        .filter_map(|a| {
            let call = interaction.tool_calls.get(a.call)?;
            let failed = call.error.is_some();
            let counts = match a.origin {
                Origin::Known => false,
                Origin::Rebuilt => failed,
                Origin::Invented => true,
            };
            counts.then(|| MadeUp {
                tool: call.name.clone(),
                field: a.field,
                call: a.call,
                failed,
                rebuilt: a.origin == Origin::Rebuilt,
                shape: a.shape,
            })
        })
        .collect()
}

/// Share of a group's rebuilt values whose calls failed at or above which
/// rebuilding is taken for invention: the tool rejects the form the agent
/// builds. Below it, the form is one the tool expects (an id typed as
/// digits, sent with its prefix) and the few failures are the user's
/// wrong numbers, which `tool-failures` reports.
pub const REBUILT_FAILED_SHARE: f64 = 0.5;

/// Counters for made-up values of one origin in one (tool, field).
#[derive(Default)]
struct Tally {
    calls: u64,
    failed: u64,
    /// Interactions with such a value.
    interactions: u64,
    /// The last interaction (numbered from 1) that counted towards it.
    last_seen: u64,
    /// Shape → values.
    shapes: BTreeMap<String, u64>,
    /// Indices into [`MadeUpIds::ids`], in window order.
    evidence: Vec<u32>,
}

/// Counters for one (tool, field).
#[derive(Default)]
struct Group {
    /// Calls with an id value in the field.
    checked: u64,
    invented: Tally,
    rebuilt: Tally,
    /// Interactions with both an invented and a rebuilt value.
    both: u64,
}

impl Group {
    /// Whether the rebuilt values count as made up (most of their calls failed).
    fn rebuilt_counts(&self) -> bool {
        self.rebuilt.calls > 0
            && ratio(self.rebuilt.failed, self.rebuilt.calls) >= REBUILT_FAILED_SHARE
    }

    /// Made-up calls and how many failed.
    fn made_up(&self) -> (u64, u64) {
        if self.rebuilt_counts() {
            (
                self.invented.calls + self.rebuilt.calls,
                self.invented.failed + self.rebuilt.failed,
            )
        } else {
            (self.invented.calls, self.invented.failed)
        }
    }

    /// Interactions with a made-up value.
    fn interactions(&self) -> u64 {
        if self.rebuilt_counts() {
            self.invented.interactions + self.rebuilt.interactions - self.both
        } else {
            self.invented.interactions
        }
    }

    /// Evidence of the made-up values, in window order, each interaction once.
    fn evidence(&self) -> Vec<u32> {
        if !self.rebuilt_counts() {
            return self.invented.evidence.clone();
        }
        let mut all: Vec<u32> = self
            .invented
            .evidence
            .iter()
            .chain(&self.rebuilt.evidence)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all.truncate(MAX_EVIDENCE);
        all
    }

    /// The most common shape of the made-up values; ties by shape, so the
    /// sample is stable.
    fn shape(&self) -> String {
        let mut shapes = self.invented.shapes.clone();
        if self.rebuilt_counts() {
            for (s, n) in &self.rebuilt.shapes {
                *shapes.entry(s.clone()).or_default() += n;
            }
        }
        shapes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(String::new(), |(s, _)| s.clone())
    }
}

/// The rule's state for one cycle.
pub struct MadeUpIds {
    settings: Settings,
    interactions: u64,
    calls: u64,
    checked: u64,
    invented: u64,
    invented_failed: u64,
    rebuilt: u64,
    rebuilt_failed: u64,
    /// Interactions with a value made up by [`made_up`]'s measure.
    interactions_with_made_up: u64,
    /// Calls per tool.
    tools: BTreeMap<String, u64>,
    groups: BTreeMap<(String, String), Group>,
    /// Ids of interactions that are evidence of some group, each once.
    ids: Vec<String>,
    /// This interaction's index in `ids`, once it is evidence.
    id_index: Option<u32>,
    evidence_total: usize,
    /// Whether the tool or group cap was hit (logged once).
    overflowed: bool,
    /// Whether [`MAX_EVIDENCE_TOTAL`] was hit (logged once).
    evidence_full: bool,
}

impl MadeUpIds {
    fn record(&mut self, interaction: &Interaction) {
        self.interactions += 1;
        let now = self.interactions;
        self.id_index = None;
        for call in interaction.tool_calls.iter().take(MAX_CALLS) {
            self.calls += 1;
            // Borrowed unless too long: most calls allocate nothing here.
            let name: Cow<'_, str> = if call.name.len() <= MAX_NAME_CHARS {
                Cow::Borrowed(&call.name)
            } else {
                Cow::Owned(text::truncate(&call.name, MAX_NAME_CHARS))
            };
            if let Some(n) = self.tools.get_mut(name.as_ref()) {
                *n += 1;
            } else if self.tools.len() < MAX_TOOLS {
                self.tools.insert(name.into_owned(), 1);
            } else {
                self.overflow();
            }
        }
        let mut made_up_here = false;
        for argument in id_arguments(interaction, &self.settings) {
            self.checked += 1;
            let Some(call) = interaction.tool_calls.get(argument.call) else {
                continue;
            };
            let failed = call.error.is_some();
            match argument.origin {
                Origin::Known => {}
                Origin::Invented => {
                    self.invented += 1;
                    self.invented_failed += u64::from(failed);
                    made_up_here = true;
                }
                Origin::Rebuilt => {
                    self.rebuilt += 1;
                    self.rebuilt_failed += u64::from(failed);
                    made_up_here |= failed;
                }
            }
            let key = (
                text::truncate(&call.name, MAX_NAME_CHARS),
                text::truncate(&argument.field, MAX_NAME_CHARS),
            );
            if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
                self.overflow();
                continue;
            }
            let group = self.groups.entry(key.clone()).or_default();
            group.checked += 1;
            let tally = match argument.origin {
                Origin::Known => continue,
                Origin::Invented => &mut group.invented,
                Origin::Rebuilt => &mut group.rebuilt,
            };
            tally.calls += 1;
            tally.failed += u64::from(failed);
            if let Some(n) = tally.shapes.get_mut(&argument.shape) {
                *n += 1;
            } else if tally.shapes.len() < MAX_SHAPES {
                tally.shapes.insert(argument.shape, 1);
            }
            if tally.last_seen == now {
                continue;
            }
            tally.last_seen = now;
            tally.interactions += 1;
            if group.invented.last_seen == now && group.rebuilt.last_seen == now {
                group.both += 1;
            }
            self.add_evidence(&key, argument.origin, interaction);
        }
        self.interactions_with_made_up += u64::from(made_up_here);
    }

    /// List the interaction as evidence of a group's values of one origin.
    fn add_evidence(&mut self, key: &(String, String), origin: Origin, interaction: &Interaction) {
        let Some(group) = self.groups.get_mut(key) else {
            return;
        };
        let tally = match origin {
            Origin::Invented => &mut group.invented,
            _ => &mut group.rebuilt,
        };
        if tally.evidence.len() >= MAX_EVIDENCE {
            return;
        }
        if self.evidence_total >= MAX_EVIDENCE_TOTAL {
            if !self.evidence_full {
                self.evidence_full = true;
                log::warn(
                    "evidence budget reached; later interactions count but are not listed",
                    &[("max_evidence_total", &MAX_EVIDENCE_TOTAL.to_string())],
                );
            }
            return;
        }
        let index = *self.id_index.get_or_insert_with(|| {
            self.ids.push(interaction.id.clone());
            u32::try_from(self.ids.len() - 1).unwrap_or(u32::MAX)
        });
        tally.evidence.push(index);
        self.evidence_total += 1;
    }

    fn overflow(&mut self) {
        if !self.overflowed {
            self.overflowed = true;
            log::warn(
                "too many distinct tools or id fields; further ones only count in the metrics",
                &[
                    ("max_tools", &MAX_TOOLS.to_string()),
                    ("max_groups", &MAX_GROUPS.to_string()),
                ],
            );
        }
    }

    /// Why a group is not reported, or `None` if it is.
    fn dropped_because(&self, tool: &str, group: &Group) -> Option<String> {
        let calls = self.tools.get(tool).copied().unwrap_or(0);
        if group.interactions() == 0 {
            Some(format!(
                "rebuilt values only, and most of their calls succeeded (below {} failed): a \
                 form the tool expects",
                percent(REBUILT_FAILED_SHARE)
            ))
        } else if group.interactions() < self.settings.min_occurrences {
            Some(format!(
                "below min_occurrences ({} interactions)",
                self.settings.min_occurrences
            ))
        } else if ratio(group.made_up().0, calls) < self.settings.min_share {
            Some(format!(
                "below min_share ({} of the tool's calls)",
                percent(self.settings.min_share)
            ))
        } else {
            None
        }
    }

    /// The findings and the run log that explains them.
    pub fn findings_and_log(&self) -> (Findings, Vec<LogLine>) {
        let mut log = vec![line(
            "read",
            &[
                ("interactions", self.interactions.to_string()),
                ("calls", self.calls.to_string()),
                ("id_arguments", self.checked.to_string()),
                ("invented", self.invented.to_string()),
                ("invented_failed", self.invented_failed.to_string()),
                ("rebuilt", self.rebuilt.to_string()),
                ("rebuilt_failed", self.rebuilt_failed.to_string()),
                ("id_pattern", self.settings.id_pattern.as_str().to_string()),
            ],
        )];
        // Most interactions first; ties by key, so the order is stable.
        let mut groups: Vec<(&(String, String), &Group)> = self
            .groups
            .iter()
            .filter(|(_, g)| g.invented.calls + g.rebuilt.calls > 0)
            .collect();
        groups.sort_by(|a, b| {
            b.1.interactions()
                .cmp(&a.1.interactions())
                .then(a.0.cmp(b.0))
        });
        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        let mut dropped = 0usize;
        // Per field, the tools whose made-up values are many enough to count
        // (all but `min_share`, which the field as a whole must pass): one
        // habit of the agent with one field, whatever tool it sends it to.
        let mut by_field: BTreeMap<&str, Vec<(&str, &Group)>> = BTreeMap::new();
        for ((tool, field), group) in &groups {
            if group.interactions() >= self.settings.min_occurrences {
                by_field
                    .entry(field.as_str())
                    .or_default()
                    .push((tool.as_str(), group));
            }
        }
        let habits: Vec<(&str, Vec<(&str, &Group)>)> = by_field
            .into_iter()
            .filter(|(_, tools)| {
                tools.len() >= 2 && self.habit_share(tools) >= self.settings.min_share
            })
            .collect();
        for ((tool, field), group) in groups {
            let mut fields = vec![
                ("key", key(tool, field)),
                ("interactions", group.interactions().to_string()),
                ("invented", group.invented.calls.to_string()),
                ("invented_failed", group.invented.failed.to_string()),
                ("rebuilt", group.rebuilt.calls.to_string()),
                ("rebuilt_failed", group.rebuilt.failed.to_string()),
                ("checked", group.checked.to_string()),
            ];
            let in_habit = habits.iter().any(|(f, tools)| {
                *f == field.as_str() && tools.iter().any(|(t, _)| *t == tool.as_str())
            });
            let reason = self
                .dropped_because(tool, group)
                // A tool below `min_share` on its own counts in its field's habit.
                .filter(|_| !(in_habit && group.interactions() >= self.settings.min_occurrences));
            if let Some(reason) = reason {
                if dropped < LOG_GROUPS {
                    fields.push(("reason", reason));
                    log.push(line("dropped", &fields));
                }
                dropped += 1;
                continue;
            }
            if patterns.len() < LOG_GROUPS {
                log.push(line("pattern", &fields));
            }
            let (pattern, fix) = self.pattern(tool, field, group);
            patterns.push(pattern);
            if !in_habit {
                suggestions.push(fix);
            }
        }
        for (field, tools) in &habits {
            let (pattern, fix) = self.habit(field, tools);
            log.push(line(
                "pattern",
                &[
                    ("key", pattern.key.clone()),
                    ("interactions", pattern.occurrences.to_string()),
                    ("tools", tools.len().to_string()),
                ],
            ));
            patterns.push(pattern);
            suggestions.push(fix);
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
                    name: "made_up_id_share".into(),
                    value: ratio(self.invented + self.rebuilt_failed, self.checked),
                    description: "Share of id arguments sent to tools whose value appeared in \
                                  no earlier user message, tool result or system prompt \
                                  (values rebuilt from given digits only when their call failed)."
                        .into(),
                },
                Metric {
                    name: "interactions_with_made_up_id_share".into(),
                    value: ratio(self.interactions_with_made_up, self.interactions),
                    description: "Share of interactions with at least one made-up id argument, \
                                  by the same measure."
                        .into(),
                },
            ],
        };
        (findings, log)
    }

    /// One group's pattern and its fix.
    fn pattern(&self, tool: &str, field: &str, group: &Group) -> (Pattern, Suggestion) {
        let key = key(tool, field);
        let n = group.interactions();
        let share = ratio(n, self.interactions);
        let calls = self.tools.get(tool).copied().unwrap_or(0);
        let (made_up, failed_calls) = group.made_up();
        let shape = group.shape();
        let failed = ratio(failed_calls, made_up);
        let rebuilt = if group.rebuilt_counts() {
            format!(
                " {} of them were built from digits the user or a tool gave, in a form the tool \
                 rejected in {} of those calls.",
                group.rebuilt.calls, group.rebuilt.failed
            )
        } else {
            String::new()
        };
        let description = format!(
            "`{tool}` was called with a value of `{field}` that appeared in no earlier user message, \
             successful tool result or system prompt in {n} of {} interactions ({}): {made_up} \
             of its {calls} calls ({}); {failed_calls} of those calls failed.{rebuilt} Most \
             common shape of the made-up values: {shape}.",
            self.interactions,
            percent(share),
            percent(ratio(made_up, calls)),
        );
        let severity = severity(share, HIGH_SHARE, MEDIUM_SHARE);
        let pattern = Pattern {
            key: key.clone(),
            title: format!("`{tool}` gets `{field}` values nobody gave"),
            description,
            severity,
            occurrences: u32::try_from(n).unwrap_or(u32::MAX),
            evidence: group
                .evidence()
                .iter()
                .filter_map(|i| self.ids.get(*i as usize).cloned())
                .collect(),
        };
        let evidence = if failed >= 0.5 {
            "Most of those calls failed, so the values were not real."
        } else if failed_calls > 0 {
            "Some of those calls failed; the others may have acted on the wrong record."
        } else {
            "None of those calls failed: the tool accepted values that no one gave, so they \
             may have acted on the wrong record, or the values came from a source the log does \
             not hold."
        };
        let fix = Suggestion {
            edit: Edit::AppendInstruction(format!(
                "When you call `{tool}`, use only `{field}` values the user gave or a tool \
                 returned; when you do not have one, look it up or ask the user."
            )),
            rationale: format!(
                "In {n} interactions ({} of the window) the agent sent `{tool}` a value of \
                 `{field}` that appeared nowhere before the call: {made_up} calls, {failed_calls} of them \
                 failed ({}). {evidence}{rebuilt} Most common shape: {shape}.",
                percent(share),
                percent(failed),
            ),
            // A rejected invented id is strong evidence; an accepted one may
            // have come from a source the log does not hold.
            confidence: confidence(n, 0.6 + 0.25 * failed),
            addresses: vec![key],
        };
        (pattern, fix)
    }
}

impl MadeUpIds {
    /// Made-up values of a field over the calls of the tools it went to.
    fn habit_share(&self, tools: &[(&str, &Group)]) -> f64 {
        let made_up: u64 = tools.iter().map(|(_, g)| g.made_up().0).sum();
        let calls: u64 = tools
            .iter()
            .map(|(t, _)| self.tools.get(*t).copied().unwrap_or(0))
            .sum();
        ratio(made_up, calls)
    }

    /// The habit of making up one field's values for several tools (most
    /// interactions first): every interaction of theirs, and one fix naming
    /// the field and the first two tools.
    fn habit(&self, field: &str, tools: &[(&str, &Group)]) -> (Pattern, Suggestion) {
        let mut indices: Vec<u32> = tools.iter().flat_map(|(_, g)| g.evidence()).collect();
        // Ids are kept once, in window order, so their indices sort by it.
        indices.sort_unstable();
        indices.dedup();
        let n = indices.len() as u64;
        let share = ratio(n, self.interactions);
        let (made_up, failed) = tools.iter().fold((0, 0), |(m, f), (_, g)| {
            let (gm, gf) = g.made_up();
            (m + gm, f + gf)
        });
        let named = match tools {
            [a, b, ..] => format!("`{}` or `{}`", a.0, b.0),
            [a] => format!("`{}`", a.0),
            [] => String::new(),
        };
        let per_tool = tools
            .iter()
            .map(|(t, g)| format!("`{t}` in {}", g.interactions()))
            .collect::<Vec<_>>()
            .join(", ");
        let key = habit_key(field);
        let pattern = Pattern {
            key: key.clone(),
            title: format!("The agent makes up `{field}` values"),
            description: format!(
                "Values of `{field}` that appeared in no earlier user message, successful tool \
                 result or system prompt went to {} tools in {n} of {} interactions ({}): \
                 {per_tool}; {made_up} calls, {failed} of them failed.",
                tools.len(),
                self.interactions,
                percent(share),
            ),
            severity: severity(share, HIGH_SHARE, MEDIUM_SHARE),
            occurrences: u32::try_from(n).unwrap_or(u32::MAX),
            evidence: indices
                .iter()
                .filter_map(|i| self.ids.get(*i as usize).cloned())
                .collect(),
        };
        let mut addresses = vec![key];
        addresses.extend(tools.iter().map(|(t, _)| self::key(t, field)));
        let fix = Suggestion {
            edit: Edit::AppendInstruction(format!(
                "When you call {named}, use only `{field}` values the user gave or a tool \
                 returned; when you do not have one, look it up or ask the user."
            )),
            rationale: format!(
                "In {n} interactions ({} of the window) the agent sent a value of `{field}` that \
                 appeared nowhere before the call, to {} tools ({per_tool}): {made_up} calls, \
                 {failed} of them failed ({}).",
                percent(share),
                tools.len(),
                percent(ratio(failed, made_up)),
            ),
            confidence: confidence(n, 0.6 + 0.25 * ratio(failed, made_up)),
            addresses,
        };
        (pattern, fix)
    }
}

/// `made-up-ids/<field>/any-tool`: three parts like a tool's key, and no
/// tool is called `any-tool` by a field's name.
fn habit_key(field: &str) -> String {
    format!("made-up-ids/{}/any-tool", key_part(field))
}

/// `made-up-ids/<tool>/<field>`.
fn key(tool: &str, field: &str) -> String {
    format!("made-up-ids/{}/{}", key_part(tool), key_part(field))
}

impl Rule for MadeUpIds {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: String| SettingSpec {
            name: name.into(),
            description: description.into(),
            default_value: Some(default),
        };
        RuleInfo {
            name: "made-up-ids".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Finds id arguments the agent sent to tools whose value appeared in no \
                          earlier user message, successful tool result or system prompt, and \
                          proposes that it use only ids it was given or looked up."
                .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::MESSAGES | Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "id_fields",
                    "Comma-separated top-level argument fields that hold ids: a name (any \
                     case) or `*` and the end of a name (case kept, so `*Id` does not take \
                     `paid`).",
                    DEFAULT_ID_FIELDS.to_string(),
                ),
                spec(
                    "id_pattern",
                    "Which values of those fields are ids. All need 4 or more characters, no \
                     whitespace, and are not dates, times, amounts or phone numbers (digits \
                     with only -/:.,+). `with-digit`: holds a digit; \
                     `with-digit-or-underscore`: a digit, or letters joined by _; `any`: \
                     every such value.",
                    IdPattern::WithDigit.as_str().to_string(),
                ),
                spec(
                    "min_occurrences",
                    "Interactions with a made-up value in a (tool, field) before it is reported.",
                    DEFAULT_MIN_OCCURRENCES.to_string(),
                ),
                spec(
                    "min_share",
                    "Share of the tool's calls that must carry a made-up value in the field \
                     before it is reported.",
                    DEFAULT_MIN_SHARE.to_string(),
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(MadeUpIds {
            settings: Settings::from_context(&context)?,
            interactions: 0,
            calls: 0,
            checked: 0,
            invented: 0,
            invented_failed: 0,
            rebuilt: 0,
            rebuilt_failed: 0,
            interactions_with_made_up: 0,
            tools: BTreeMap::new(),
            groups: BTreeMap::new(),
            ids: Vec::new(),
            id_index: None,
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

reverie_rule_sdk::export_rule!(MadeUpIds);

#[cfg(test)]
mod tests;
