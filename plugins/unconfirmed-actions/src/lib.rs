//! The `unconfirmed-actions` rule: state-changing tool calls the user did not
//! confirm, and extra ones nobody asked for.
//!
//! In the `analyse` stage it runs [`Detector::actions`] on every interaction
//! and groups what it returns by (kind, tool). Three kinds of pattern:
//! `unconfirmed-actions/<tool>` (the agent acted without a yes in the user's
//! previous turn), `unconfirmed-actions/repeated/<tool>` (it did the same
//! thing again to the same target) and `unconfirmed-actions/unrequested/<tool>`
//! (after one confirmed action it acted on a target nobody named). A group is
//! a pattern when it affects at least `min_occurrences` interactions; an
//! unconfirmed group also needs at least `min_share` of the tool's
//! state-changing calls to be unconfirmed, so a yes this rule fails to read
//! now and then makes no pattern, and confirmation must be expected of the
//! tool: the live prompt asks for it, or the agent itself asks first for at
//! least [`HABIT_SHARE`] of the tool's calls (`expect_confirmation = auto`),
//! so an agent designed to act at once on a request is not reported.
//! Occurrences are interactions; evidence is every such interaction, in
//! window order, up to [`MAX_EVIDENCE`].
//!
//! When two or more tools are unconfirmed, one more pattern,
//! [`HABIT_KEY`], holds all their interactions: acting before asking is one
//! habit, and the host, which merges patterns by shared evidence, then
//! reports one problem with a facet per tool.
//!
//! The fix follows from structure: confirm before calling the tool (one
//! instruction naming the two most frequent unconfirmed tools, as the
//! problem is usually one habit across tools that act alike), call a tool
//! once per target, act only on the target the user named. Edits name the
//! tool and the target field, never a count or a user's value.
//!
//! Memory is bounded whatever the window: at most [`MAX_TOOLS`] tools,
//! [`MAX_GROUPS`] groups, [`MAX_FIELDS`] target fields per group and
//! [`MAX_EVIDENCE_TOTAL`] evidence entries, each an index into one list of
//! interaction ids kept once.

/// The detector and its word tables, shared with other rules through the SDK.
pub use reverie_rule_sdk::actions::{self as detect, confirm, targets, tools};
use reverie_rule_sdk::finding::{
    HIGH_SHARE, MEDIUM_SHARE, confidence, key_part, percent, ratio, saturating_u32, severity,
};

use std::collections::BTreeMap;

use reverie_rule_sdk::log::line;
use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, Findings, Inputs, Interaction, Metric, Pattern, Rule, RuleInfo,
    SettingSpec, Stage, Suggestion, log, setting_or,
};

pub use confirm::is_confirmation;
pub use detect::{Action, ActionKind, Detector};

/// One line of the run log: a message and its figures.
pub use reverie_rule_sdk::log::Line as LogLine;

/// Interaction ids kept as evidence per pattern: all of them, up to this.
pub const MAX_EVIDENCE: usize = reverie_rule_sdk::MAX_EVIDENCE;
/// Evidence entries kept across all groups (4 bytes each, plus each id
/// once): a window with more such interactions keeps the first ones.
pub const MAX_EVIDENCE_TOTAL: usize = 500_000;
/// Distinct state-changing tools tracked; calls to further tools only count
/// in the metrics.
pub const MAX_TOOLS: usize = 500;
/// Distinct (kind, tool) groups tracked.
pub const MAX_GROUPS: usize = 1_500;
/// Target field names counted per group (the most frequent names the fix).
pub const MAX_FIELDS: usize = 16;
/// Longest tool or field name kept (longer names are cut, so a hostile name
/// cannot grow memory).
const MAX_NAME_CHARS: usize = 100;
/// Patterns, dropped groups and tools listed by name in the run log.
const LOG_LINES: usize = 8;

const DEFAULT_MIN_OCCURRENCES: u64 = 3;
/// A twentieth of a tool's calls: an agent that asks first still has a few
/// calls this rule reads as unconfirmed (a yes in words no table holds);
/// those stay under it. A habit of acting first shows in more: the help-desk
/// example's agent skips the question on about a sixth of its resets.
const DEFAULT_MIN_SHARE: f64 = 0.05;
/// Under `expect_confirmation = auto`, a prompt that does not ask for
/// confirmation leaves a tool's unconfirmed calls unreported unless the
/// agent itself asked first for at least this share of the tool's calls: an
/// agent that never asks before creating a return on the user's request
/// follows its design, one that usually asks and sometimes does not slips.
pub const HABIT_SHARE: f64 = 0.5;

/// When unconfirmed calls of a tool go against what the agent should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expectation {
    /// When the live prompt asks for confirmation, or the agent asks first
    /// for at least [`HABIT_SHARE`] of the tool's calls.
    Auto,
    /// Always: every state-changing tool needs a confirmation.
    Always,
}

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    min_occurrences: u64,
    min_share: f64,
    expect: Expectation,
    /// The live prompt asks for confirmation ([`confirm::prompt_asks_confirmation`]).
    prompt_asks: bool,
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
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
        let expect = match reverie_rule_sdk::setting(context, "expect_confirmation").map(str::trim)
        {
            None | Some("auto") => Expectation::Auto,
            Some("always") => Expectation::Always,
            Some(other) => {
                return Err(format!(
                    "setting `expect_confirmation`: must be `auto` or `always`, got {other:?}"
                ));
            }
        };
        Ok(Settings {
            min_occurrences,
            min_share,
            expect,
            prompt_asks: confirm::prompt_asks_confirmation(&context.system_prompt),
        })
    }
}

/// Counters for one state-changing tool.
#[derive(Default)]
struct ToolStats {
    calls: u64,
    unconfirmed: u64,
}

/// Counters for one (kind, tool).
#[derive(Default)]
struct Group {
    calls: u64,
    interactions: u64,
    /// Indices into [`UnconfirmedActions::ids`], in window order.
    evidence: Vec<u32>,
    /// Target field name -> calls that named it.
    fields: BTreeMap<String, u64>,
    /// The last interaction (numbered from 1) that counted towards it.
    last_seen: u64,
}

impl Group {
    /// The target field most of its calls named (ties: the first by name).
    fn field(&self) -> Option<&str> {
        let mut best: Option<(&str, u64)> = None;
        for (name, count) in &self.fields {
            if best.is_none_or(|(_, c)| *count > c) {
                best = Some((name, *count));
            }
        }
        best.map(|(name, _)| name)
    }
}

/// The rule's state for one cycle.
pub struct UnconfirmedActions {
    settings: Settings,
    detector: Detector,
    interactions: u64,
    calls: u64,
    state_changing_calls: u64,
    /// Calls of each kind.
    kind_calls: [u64; 3],
    interactions_unconfirmed: u64,
    interactions_extra: u64,
    tools: BTreeMap<String, ToolStats>,
    groups: BTreeMap<(ActionKind, String), Group>,
    ids: Vec<String>,
    evidence_total: usize,
    overflowed: bool,
    evidence_full: bool,
}

impl UnconfirmedActions {
    fn record(&mut self, interaction: &Interaction) {
        self.interactions += 1;
        let now = self.interactions;
        self.calls += interaction.tool_calls.len() as u64;
        for call in &interaction.tool_calls {
            if !self.detector.changes_state(&call.name) {
                continue;
            }
            self.state_changing_calls += 1;
            let name = cut(&call.name);
            if !self.tools.contains_key(name) && self.tools.len() >= MAX_TOOLS {
                self.overflow();
                continue;
            }
            self.tools.entry(name.to_string()).or_default().calls += 1;
        }
        let actions = self.detector.actions(interaction);
        if actions.is_empty() {
            return;
        }
        let mut id_index: Option<u32> = None;
        let (mut unconfirmed, mut extra) = (false, false);
        for action in &actions {
            self.kind_calls[action.kind as usize] += 1;
            match action.kind {
                ActionKind::Unconfirmed => unconfirmed = true,
                _ => extra = true,
            }
            let name = cut(action.tool);
            let Some(tool) = self.tools.get_mut(name) else {
                continue;
            };
            if action.kind == ActionKind::Unconfirmed {
                tool.unconfirmed += 1;
            }
            let key = (action.kind, name.to_string());
            if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
                self.overflow();
                continue;
            }
            let group = self.groups.entry(key).or_default();
            group.calls += 1;
            if let Some(field) = action.target_field {
                let field = cut(field);
                if let Some(count) = group.fields.get_mut(field) {
                    *count += 1;
                } else if group.fields.len() < MAX_FIELDS {
                    group.fields.insert(field.to_string(), 1);
                }
            }
            if group.last_seen == now {
                continue;
            }
            group.last_seen = now;
            group.interactions += 1;
            if group.evidence.len() >= MAX_EVIDENCE {
                continue;
            }
            if self.evidence_total < MAX_EVIDENCE_TOTAL {
                let index = *id_index.get_or_insert_with(|| {
                    self.ids.push(interaction.id.clone());
                    u32::try_from(self.ids.len() - 1).unwrap_or(u32::MAX)
                });
                group.evidence.push(index);
                self.evidence_total += 1;
            } else if !self.evidence_full {
                self.evidence_full = true;
                log::warn(
                    "evidence budget reached; later interactions count but are not listed",
                    &[("max_evidence_total", &MAX_EVIDENCE_TOTAL.to_string())],
                );
            }
        }
        self.interactions_unconfirmed += u64::from(unconfirmed);
        self.interactions_extra += u64::from(extra);
    }

    fn overflow(&mut self) {
        if !self.overflowed {
            self.overflowed = true;
            log::warn(
                "too many distinct state-changing tools or groups; further ones only count in the metrics",
                &[
                    ("max_tools", &MAX_TOOLS.to_string()),
                    ("max_groups", &MAX_GROUPS.to_string()),
                ],
            );
        }
    }

    /// Why a group is not reported, or `None` if it is.
    fn dropped_because(&self, kind: ActionKind, tool: &str, group: &Group) -> Option<String> {
        let s = &self.settings;
        if group.interactions < s.min_occurrences {
            return Some(format!(
                "below min_occurrences ({} interactions)",
                s.min_occurrences
            ));
        }
        if kind != ActionKind::Unconfirmed {
            return None;
        }
        let calls = self.tools.get(tool).map_or(0, |t| t.calls);
        let share = ratio(group.calls, calls);
        if share < s.min_share {
            return Some(format!(
                "below min_share ({} of the tool's calls unconfirmed)",
                percent(s.min_share)
            ));
        }
        if s.expect == Expectation::Auto && !s.prompt_asks && 1.0 - share < HABIT_SHARE {
            return Some(format!(
                "confirmation not expected: the prompt does not ask for it and the agent asked \
                 first for {} of the tool's calls (under {}); set expect_confirmation = always \
                 to report it",
                percent(1.0 - share),
                percent(HABIT_SHARE)
            ));
        }
        None
    }

    /// The findings and the run log that explains them.
    pub fn findings_and_log(&self) -> (Findings, Vec<LogLine>) {
        let s = &self.settings;
        let mut log = vec![
            line(
                "settings",
                &[
                    ("min_occurrences", s.min_occurrences.to_string()),
                    ("min_share", s.min_share.to_string()),
                    (
                        "expect_confirmation",
                        match s.expect {
                            Expectation::Auto => "auto",
                            Expectation::Always => "always",
                        }
                        .to_string(),
                    ),
                    ("prompt_asks_confirmation", s.prompt_asks.to_string()),
                ],
            ),
            line(
                "seen",
                &[
                    ("interactions", self.interactions.to_string()),
                    ("calls", self.calls.to_string()),
                    (
                        "state_changing_calls",
                        self.state_changing_calls.to_string(),
                    ),
                    ("state_changing_tools", self.tools.len().to_string()),
                    (
                        "unconfirmed_calls",
                        self.kind_calls[ActionKind::Unconfirmed as usize].to_string(),
                    ),
                    (
                        "repeated_calls",
                        self.kind_calls[ActionKind::Repeated as usize].to_string(),
                    ),
                    (
                        "unrequested_calls",
                        self.kind_calls[ActionKind::Unrequested as usize].to_string(),
                    ),
                ],
            ),
        ];
        let mut by_calls: Vec<(&String, &ToolStats)> = self.tools.iter().collect();
        by_calls.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then_with(|| a.0.cmp(b.0)));
        for (name, tool) in by_calls.iter().take(LOG_LINES) {
            log.push(line(
                "state-changing tool",
                &[
                    ("tool", (*name).clone()),
                    ("calls", tool.calls.to_string()),
                    ("unconfirmed_calls", tool.unconfirmed.to_string()),
                ],
            ));
        }

        let mut reported: Vec<(&ActionKind, &String, &Group)> = Vec::new();
        let mut dropped: Vec<(String, &Group, String)> = Vec::new();
        for ((kind, tool), group) in &self.groups {
            match self.dropped_because(*kind, tool, group) {
                None => reported.push((kind, tool, group)),
                Some(reason) => dropped.push((group_key(*kind, tool), group, reason)),
            }
        }
        // Most interactions first; ties by key, so the order is stable.
        reported.sort_by(|a, b| {
            b.2.interactions
                .cmp(&a.2.interactions)
                .then_with(|| group_key(*a.0, a.1).cmp(&group_key(*b.0, b.1)))
        });

        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        for (kind, tool, group) in &reported {
            patterns.push(self.pattern(**kind, tool, group));
        }
        let unconfirmed: Vec<(&String, &Group)> = reported
            .iter()
            .filter(|(k, _, _)| **k == ActionKind::Unconfirmed)
            .map(|(_, t, g)| (*t, *g))
            .collect();
        let habit = (unconfirmed.len() >= 2).then(|| self.habit_pattern(&unconfirmed));
        suggestions.extend(self.confirm_fixes(&unconfirmed, habit.is_some()));
        for (kind, tool, group) in &reported {
            if **kind != ActionKind::Unconfirmed {
                suggestions.push(self.target_fix(**kind, tool, group));
            }
        }
        for (i, p) in patterns.iter().enumerate().take(LOG_LINES) {
            log.push(line(
                "pattern",
                &[
                    ("key", p.key.clone()),
                    ("interactions", p.occurrences.to_string()),
                    ("calls", reported[i].2.calls.to_string()),
                ],
            ));
        }
        if let Some(habit) = habit {
            log.push(line(
                "pattern",
                &[
                    ("key", habit.key.clone()),
                    ("interactions", habit.occurrences.to_string()),
                    ("tools", unconfirmed.len().to_string()),
                ],
            ));
            patterns.push(habit);
        }
        if patterns.len() > LOG_LINES {
            log.push(line(
                "more patterns not listed",
                &[("patterns", (patterns.len() - LOG_LINES).to_string())],
            ));
        }
        for (key, group, reason) in dropped.iter().take(LOG_LINES) {
            log.push(line(
                "dropped",
                &[
                    ("key", key.clone()),
                    ("interactions", group.interactions.to_string()),
                    ("calls", group.calls.to_string()),
                    ("reason", reason.clone()),
                ],
            ));
        }
        if dropped.len() > LOG_LINES {
            log.push(line(
                "more dropped groups not listed",
                &[("groups", (dropped.len() - LOG_LINES).to_string())],
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
                    name: "unconfirmed_state_change_rate".into(),
                    value: ratio(
                        self.kind_calls[ActionKind::Unconfirmed as usize],
                        self.state_changing_calls,
                    ),
                    description: "Share of state-changing tool calls made without the user's \
                                  explicit confirmation in their previous turn."
                        .into(),
                },
                Metric {
                    name: "interactions_with_unconfirmed_action_share".into(),
                    value: ratio(self.interactions_unconfirmed, self.interactions),
                    description: "Share of interactions with at least one state-changing call \
                                  the user did not confirm."
                        .into(),
                },
                Metric {
                    name: "interactions_with_extra_action_share".into(),
                    value: ratio(self.interactions_extra, self.interactions),
                    description: "Share of interactions with a state-changing call repeated on \
                                  the same target or made on a target nobody named."
                        .into(),
                },
            ],
        };
        (findings, log)
    }

    fn pattern(&self, kind: ActionKind, tool: &str, group: &Group) -> Pattern {
        let n = group.interactions;
        let share = ratio(n, self.interactions);
        let calls = self.tools.get(tool).map_or(0, |t| t.calls);
        let field = group
            .field()
            .map_or_else(|| "target".to_string(), |f| format!("`{f}`"));
        let (title, what) = match kind {
            ActionKind::Unconfirmed => (
                format!("`{tool}` changes state without the user's confirmation"),
                format!(
                    "`{tool}` was called without an explicit yes in the user's previous turn \
                     in {n} of {} interactions ({}): {} of its {calls} calls ({}).",
                    self.interactions,
                    percent(share),
                    group.calls,
                    percent(ratio(group.calls, calls)),
                ),
            ),
            ActionKind::Repeated => (
                format!("`{tool}` is called again on the same target"),
                format!(
                    "`{tool}` was called again with the same {field} after it had succeeded, \
                     with no new confirmation, in {n} of {} interactions ({}): {} calls.",
                    self.interactions,
                    percent(share),
                    group.calls,
                ),
            ),
            ActionKind::Unrequested => (
                format!("`{tool}` acts on something the user did not say yes to"),
                format!(
                    "After the action the user said yes to, `{tool}` was called on another \
                     {field}, one the question the user answered did not name, in \
                     {n} of {} interactions ({}): {} calls.",
                    self.interactions,
                    percent(share),
                    group.calls,
                ),
            ),
        };
        Pattern {
            key: group_key(kind, tool),
            title,
            description: what,
            severity: severity(share, HIGH_SHARE, MEDIUM_SHARE),
            occurrences: saturating_u32(n),
            evidence: group
                .evidence
                .iter()
                .filter_map(|i| self.ids.get(*i as usize).cloned())
                .collect(),
        }
    }

    /// The habit behind two or more unconfirmed tools: one pattern whose
    /// evidence is every interaction of theirs, so that the host, which
    /// merges patterns by shared evidence, reports them as one problem (one
    /// root cause, acting before asking) with a facet per tool, rather than
    /// one problem per tool that acts alike.
    fn habit_pattern(&self, groups: &[(&String, &Group)]) -> Pattern {
        let mut evidence: Vec<u32> = groups
            .iter()
            .flat_map(|(_, g)| g.evidence.iter().copied())
            .collect();
        // Indices grow in window order: sorting restores it.
        evidence.sort_unstable();
        evidence.dedup();
        // Interactions past a group's kept evidence are counted as if none
        // were shared: an upper bound, only reached past MAX_EVIDENCE.
        let unlisted: u64 = groups
            .iter()
            .map(|(_, g)| g.interactions - g.evidence.len() as u64)
            .sum();
        evidence.truncate(MAX_EVIDENCE);
        let n = evidence.len() as u64 + unlisted;
        let names: Vec<String> = groups.iter().map(|(t, _)| format!("`{t}`")).collect();
        let tools = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.join(""),
        };
        let calls: u64 = groups.iter().map(|(_, g)| g.calls).sum();
        Pattern {
            key: HABIT_KEY.into(),
            title: format!("{tools} change state without the user's confirmation"),
            description: format!(
                "The agent called {tools} without an explicit yes in the user's previous turn in \
                 {n} of {} interactions ({}), {calls} calls in all: one habit, acting before \
                 asking, across tools that change state.",
                self.interactions,
                percent(ratio(n, self.interactions)),
            ),
            severity: severity(ratio(n, self.interactions), HIGH_SHARE, MEDIUM_SHARE),
            occurrences: saturating_u32(n),
            evidence: evidence
                .iter()
                .filter_map(|i| self.ids.get(*i as usize).cloned())
                .collect(),
        }
    }

    /// Confirm-first instructions for the reported unconfirmed groups (most
    /// interactions first): the two leading tools in one instruction, which
    /// addresses both patterns and the habit they share, and each further
    /// tool in its own.
    fn confirm_fixes(&self, groups: &[(&String, &Group)], habit: bool) -> Vec<Suggestion> {
        let mut out = Vec::new();
        let mut rest = groups;
        while !rest.is_empty() {
            let take = if out.is_empty() { rest.len().min(2) } else { 1 };
            let (now, later) = rest.split_at(take);
            rest = later;
            let names: Vec<String> = now.iter().map(|(t, _)| format!("`{t}`")).collect();
            let n: u64 = now.iter().map(|(_, g)| g.interactions).sum();
            let figures: Vec<String> = now
                .iter()
                .map(|(t, g)| {
                    let calls = self.tools.get(*t).map_or(0, |s| s.calls);
                    format!(
                        "`{t}`: {} of {calls} calls unconfirmed, in {} interactions",
                        g.calls, g.interactions
                    )
                })
                .collect();
            out.push(Suggestion {
                edit: Edit::AppendInstruction(format!(
                    "Before you call {}, say what you will do and ask the user to confirm; call \
                     it only after a clear yes.",
                    names.join(" or ")
                )),
                rationale: format!(
                    "{}. The user's previous turn held no yes to a question the agent asked.",
                    figures.join("; ")
                ),
                confidence: confidence(n, 0.85),
                addresses: (habit && out.is_empty())
                    .then(|| HABIT_KEY.to_string())
                    .into_iter()
                    .chain(
                        now.iter()
                            .map(|(t, _)| group_key(ActionKind::Unconfirmed, t)),
                    )
                    .collect(),
            });
        }
        out
    }

    /// The fix for a repeated or unrequested group.
    fn target_fix(&self, kind: ActionKind, tool: &str, group: &Group) -> Suggestion {
        let field = group
            .field()
            .map_or_else(|| "target".to_string(), |f| format!("`{f}`"));
        let (edit, max) = match kind {
            ActionKind::Repeated => (
                format!(
                    "Call `{tool}` at most once for each {field}: once it has succeeded, do not \
                     call it again for the same one unless the user asks again."
                ),
                0.75,
            ),
            _ => (
                format!(
                    "Call `{tool}` only for the {field} the user named or confirmed; never on \
                     another one unless the user asks for it."
                ),
                0.7,
            ),
        };
        Suggestion {
            edit: Edit::AppendInstruction(edit),
            rationale: format!(
                "{} `{tool}` calls ({}) in {} interactions.",
                group.calls,
                kind.as_str(),
                group.interactions
            ),
            confidence: confidence(group.interactions, max),
            addresses: vec![group_key(kind, tool)],
        }
    }
}

/// The key of the habit behind several unconfirmed tools. Three parts, so it
/// cannot be a tool's `unconfirmed-actions/<tool>`, and `unconfirmed` is no
/// kind of the `unconfirmed-actions/<kind>/<tool>` keys.
pub const HABIT_KEY: &str = "unconfirmed-actions/unconfirmed/any-tool";

/// `unconfirmed-actions/<tool>`, `.../repeated/<tool>`, `.../unrequested/<tool>`.
fn group_key(kind: ActionKind, tool: &str) -> String {
    match kind {
        ActionKind::Unconfirmed => format!("unconfirmed-actions/{}", key_part(tool)),
        _ => format!("unconfirmed-actions/{}/{}", kind.as_str(), key_part(tool)),
    }
}

/// A name cut to [`MAX_NAME_CHARS`] characters (on a character boundary).
fn cut(name: &str) -> &str {
    match name.char_indices().nth(MAX_NAME_CHARS) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

impl Rule for UnconfirmedActions {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: Option<String>| SettingSpec {
            name: name.into(),
            description: description.into(),
            default_value: default,
        };
        RuleInfo {
            name: "unconfirmed-actions".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Finds state-changing tool calls made without the user's explicit \
                          confirmation in their previous turn, calls repeated on the same \
                          target, and calls on targets nobody named, and proposes confirming \
                          first and acting once, on the named target."
                .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::MESSAGES | Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "min_occurrences",
                    "Interactions a (kind, tool) must affect before it is reported.",
                    Some(DEFAULT_MIN_OCCURRENCES.to_string()),
                ),
                spec(
                    "min_share",
                    "Share of a tool's state-changing calls that must be unconfirmed before its \
                     unconfirmed pattern is reported (0 to 1).",
                    Some(DEFAULT_MIN_SHARE.to_string()),
                ),
                spec(
                    "expect_confirmation",
                    "auto: a tool's unconfirmed calls are reported when the live prompt asks for \
                     confirmation, or when the agent asks first for at least half of the tool's \
                     calls (acting at once on a request is otherwise taken as the agent's \
                     design). always: they are reported for every state-changing tool.",
                    Some("auto".into()),
                ),
                spec(
                    detect::SETTING_TOOLS,
                    "Comma-separated exact names of the tools that change state; when set, only \
                     these count and the verb test is off.",
                    None,
                ),
                spec(
                    detect::SETTING_VERBS,
                    "Comma-separated verbs that mark a tool as state-changing when one is a word \
                     of its name (split at _ - . and camelCase); replaces the default list. \
                     Names with a read-only verb (get, list, search, find, lookup, check, \
                     read, fetch, show, calculate, ...) never count.",
                    Some(tools::DEFAULT_VERBS.join(",")),
                ),
                spec(
                    detect::SETTING_TARGETS,
                    "Comma-separated words: a top-level argument whose name is, or ends with \
                     the word, one of these names the thing a call acts on (its target).",
                    Some(targets::DEFAULT_TARGET_WORDS.join(",")),
                ),
                spec(
                    detect::SETTING_QUESTION,
                    "true: a yes confirms only if the agent's turn before it asked a question. \
                     false: any yes in the user's previous turn confirms.",
                    Some(detect::DEFAULT_REQUIRE_AGENT_QUESTION.to_string()),
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(UnconfirmedActions {
            settings: Settings::from_context(&context)?,
            detector: Detector::from_settings(&context)?,
            interactions: 0,
            calls: 0,
            state_changing_calls: 0,
            kind_calls: [0; 3],
            interactions_unconfirmed: 0,
            interactions_extra: 0,
            tools: BTreeMap::new(),
            groups: BTreeMap::new(),
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

reverie_rule_sdk::export_rule!(UnconfirmedActions);

#[cfg(test)]
mod tests;
