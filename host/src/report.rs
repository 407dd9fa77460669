//! The report of one cycle (`reverie.report/v2`) and its rendering for people.
//!
//! The JSON shape is published as `host/schema/report.v2.json` and is a contract:
//! webhook receivers and the API read it, and `reverie dream --previous` reads an
//! earlier one back (either version, [`PreviousReport`]) to tell new problems
//! from ongoing, resolved and regressed ones. Change it only by adding optional
//! fields, or bump the version. The text rendering puts first what a team lead
//! acts on: the problems, one line each, then the ready edits, then the detail.
//!
//! It must not compute findings or metrics: it lays out what `merge` and
//! `metrics` produced.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::domain::findings::{LogLine, RuleFailure};
use crate::metrics::{Accuracy, Basis, Comparison, Verdict};
use crate::model::{Edit, Severity};

pub const SCHEMA: &str = "reverie.report/v2";

/// Example interaction ids a report shows per problem.
pub const EXAMPLES_SHOWN: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub agent: AgentRef,
    /// When the report was made (RFC 3339). Not part of what a golden test pins.
    pub generated_at: String,
    pub window: Window,
    /// One paragraph for a person.
    pub summary: String,
    /// One per root cause, most interactions hurt first.
    pub problems: Vec<Problem>,
    pub suggestions: Vec<ReportSuggestion>,
    /// Suggestions left out because their problem already had two.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suggestions_left_out: u64,
    /// The live prompt with every ready prompt edit applied.
    pub candidate_prompt: String,
    /// What to apply: every ready edit, as one change.
    pub apply: Apply,
    pub metrics: Metrics,
    pub rules: Vec<RuleRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: String,
    pub name: String,
    pub config_version: String,
    pub system_prompt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Bounds asked for (RFC 3339), if any.
    pub start: Option<String>,
    pub end: Option<String>,
    /// Earliest and latest interaction seen.
    pub first_interaction_at: Option<String>,
    pub last_interaction_at: Option<String>,
    pub interactions: u64,
    pub explicit_feedback: u64,
    pub inferred_feedback: u64,
    /// Explicit feedback naming no interaction of the window.
    pub unmatched_feedback: u64,
    /// Input lines skipped as invalid (with `--skip-invalid`).
    pub skipped_lines: u64,
    /// Stored interactions a server dream could not read and left out
    /// (written by an older reverie or by hand); never for files. Absent when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreadable_interactions: u64,
    /// The first [`MAX_UNREADABLE_LISTED`] of them, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<UnreadableInteraction>,
}

/// How many unreadable interactions a report names (it counts them all).
pub const MAX_UNREADABLE_LISTED: usize = 20;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A stored interaction a dream left out because it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreadableInteraction {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemStatus {
    /// Not in the previous report.
    New,
    /// In the previous report too.
    Ongoing,
    /// In the previous report; now absent or rarer, and its share of
    /// interactions fell significantly (see `merge`).
    Resolved,
    /// In the previous report, not reported now, but too few interactions
    /// moved to call it resolved: it may be below a rule's threshold.
    BelowThreshold,
    /// Resolved in the previous report, back now.
    Regressed,
}

/// One root cause: the patterns (facets) the rules found for it, merged by
/// the interactions they share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable across runs: the key of its facet from the first rule in the
    /// configuration's order that saw it (rule, tool, error class or signal).
    pub key: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub status: ProblemStatus,
    /// Interactions it hurts: the union of its facets' evidence.
    pub affected: u64,
    /// `affected` / the window's interactions.
    pub share: f64,
    /// The previous report's figures for it, when it was there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousFigures>,
    /// Interaction ids that show it: the first [`EXAMPLES_SHOWN`], or all
    /// of them with `reverie dream --evidence all`.
    pub evidence: Vec<String>,
    /// The rules' patterns merged into it, largest first.
    pub facets: Vec<Facet>,
    /// Ids of the suggestions that address it.
    pub suggestions: Vec<String>,
}

/// A problem's figures in the previous report, and whether it fell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousFigures {
    pub key: String,
    pub affected: u64,
    pub share: f64,
    /// One-sided p-value of "its share fell" (two-proportion z-test).
    pub p_value: f64,
}

/// One rule's pattern as part of a problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facet {
    pub key: String,
    pub rule: String,
    pub title: String,
    /// Interactions the rule counted.
    pub occurrences: u64,
    /// Share of its evidence in the problem's other facets (1.0 for the first).
    pub overlap: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// Passed the gate (see `merge`): part of `candidate_prompt` and `apply`.
    #[serde(alias = "accepted")]
    Ready,
    /// Did not pass the gate, or only asks a person to look: `note` says why.
    #[serde(alias = "review")]
    NeedsReview,
    /// Conflicts with another suggestion editing the same text or setting: needs a person.
    Conflict,
    /// Cannot be applied (text not found, or it would touch a protected section).
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSuggestion {
    /// `sug_1`, `sug_2`, ... in report order.
    pub id: String,
    /// `update_system_prompt`, `update_setting` or `flag_for_review`.
    pub action: String,
    pub edit: Edit,
    pub status: SuggestionStatus,
    /// Why it has that status, when not ready.
    pub note: Option<String>,
    pub rationale: String,
    pub confidence: f32,
    /// Rules that proposed it.
    pub rules: Vec<String>,
    /// The key of the problem it addresses, if any.
    pub problem: Option<String>,
    /// For prompt edits that apply: the live system prompt with this edit
    /// alone. The prompt with every ready edit is `candidate_prompt`.
    pub new_prompt: Option<String>,
}

/// What a receiver applies to the agent: every ready edit at once, so one
/// report makes at most one new config version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Apply {
    /// The new system prompt (the live one with every ready prompt edit), or
    /// `null` when no prompt edit is ready.
    pub system_prompt: Option<String>,
    /// Ready setting edits, key to value.
    pub settings: std::collections::BTreeMap<String, String>,
    /// The ready suggestions this applies.
    pub suggestions: Vec<String>,
}

/// How a window's interactions were rated, by explicit or inferred feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackFigures {
    /// Accuracy among the interactions this kind of feedback rated.
    pub accuracy: Accuracy,
    /// Rated interactions / the window's interactions.
    pub rated_share: f64,
    pub positive: u64,
    pub negative: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The headline accuracy, on `basis`; every per-version, per-week and
    /// previous-window figure uses the same basis.
    pub accuracy: Accuracy,
    pub basis: Basis,
    /// What the headline figure is, its sample, and how it was sampled.
    pub accuracy_note: String,
    /// By people's ratings.
    pub explicit: FeedbackFigures,
    /// By the rules' inferences from the conversations.
    pub inferred: FeedbackFigures,
    /// The previous report's window accuracy vs this one, when `--previous` was given.
    pub previous_window: Option<Comparison>,
    pub by_config_version: Vec<VersionMetrics>,
    /// Each config version against the one it replaced.
    pub version_comparisons: Vec<VersionComparison>,
    pub by_week: Vec<WeekMetrics>,
    /// Metrics the rules computed themselves.
    pub rules: Vec<RuleMetric>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionMetrics {
    pub version: String,
    pub first_seen: String,
    pub interactions: u64,
    pub accuracy: Accuracy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionComparison {
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub comparison: Comparison,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekMetrics {
    /// The Monday the week starts on (UTC), `YYYY-MM-DD`.
    pub week_start: String,
    pub interactions: u64,
    pub accuracy: Accuracy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleMetric {
    pub rule: String,
    pub name: String,
    pub value: f64,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    Failed,
}

/// How one rule's run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRun {
    pub name: String,
    pub version: String,
    /// `builtin:<name>` or the component's path.
    pub source: String,
    /// sha256 of the component.
    pub digest: Option<String>,
    pub status: RunStatus,
    pub failure: Option<RuleFailure>,
    pub duration_ms: f64,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    /// How many calls, and the costliest: set against the per-call limits.
    #[serde(default)]
    pub calls: crate::domain::findings::CallStats,
    pub log: Vec<LogLine>,
    pub log_lines_dropped: u64,
    /// What the rule printed to stdout/stderr (bounded), if anything.
    pub output: Option<String>,
    /// Its use of a language model (calls, tokens, time, cost, budget), when
    /// it was granted one. `budget_exhausted` says it ran out and finished on
    /// what it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::llm::UsageReport>,
}

impl Report {
    /// The report as a person reads it in a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, o: &mut String) -> std::fmt::Result {
        writeln!(
            o,
            "Dreaming report for {} ({})",
            self.agent.name, self.agent.config_version
        )?;
        writeln!(o, "{}", "=".repeat(72))?;
        for line in wrap(&self.summary, 72) {
            writeln!(o, "{line}")?;
        }

        // 1. Problems, one line each: what a team lead reads first.
        let open: Vec<(usize, &Problem)> = self
            .problems
            .iter()
            .filter(|p| p.affected > 0)
            .enumerate()
            .collect();
        writeln!(
            o,
            "\nProblems ({}), by interactions hurt (of {})",
            open.len(),
            self.window.interactions
        )?;
        if open.is_empty() {
            writeln!(o, "  none found")?;
        }
        for (i, p) in &open {
            writeln!(
                o,
                "{:>3}. {:>5.1}%  {:>6} interactions  {:<8} {}{}",
                i + 1,
                p.share * 100.0,
                p.affected,
                format!("{:?}", p.severity).to_lowercase(),
                p.title,
                status_tag(p)
            )?;
        }
        let gone: Vec<&Problem> = self.problems.iter().filter(|p| p.affected == 0).collect();
        for p in &gone {
            writeln!(o, "     {} {}", status_tag(p).trim(), p.title)?;
        }

        // 2. The edits ready to apply, then those that need a person.
        let ready: Vec<&ReportSuggestion> = self
            .suggestions
            .iter()
            .filter(|s| s.status == SuggestionStatus::Ready)
            .collect();
        writeln!(o, "\nReady edits ({})", ready.len())?;
        if ready.is_empty() {
            writeln!(o, "  none")?;
        }
        for s in &ready {
            self.write_suggestion(o, s)?;
        }
        let other: Vec<&ReportSuggestion> = self
            .suggestions
            .iter()
            .filter(|s| s.status != SuggestionStatus::Ready)
            .collect();
        if !other.is_empty() {
            writeln!(o, "\nTo review ({})", other.len())?;
            for s in &other {
                self.write_suggestion(o, s)?;
                if let Some(note) = &s.note {
                    let note = note.strip_prefix("needs review: ").unwrap_or(note);
                    for (i, line) in wrap(note, 66).iter().enumerate() {
                        let lead = if i == 0 { "why: " } else { "     " };
                        writeln!(o, "      {lead}{line}")?;
                    }
                }
            }
        }
        if self.suggestions_left_out > 0 {
            writeln!(
                o,
                "  ({} more suggestion{} left out: their problems already have two)",
                self.suggestions_left_out,
                if self.suggestions_left_out == 1 {
                    ""
                } else {
                    "s"
                }
            )?;
        }

        // 3. Accuracy, saying what it rests on.
        writeln!(o, "\nAccuracy")?;
        let basis = match self.metrics.basis {
            Basis::Explicit => "explicit ratings",
            Basis::Inferred => "inferred",
            Basis::None => "none",
        };
        match self.metrics.basis {
            Basis::None => writeln!(o, "  window            not measurable")?,
            _ => writeln!(
                o,
                "  window ({basis}) {}",
                fmt_accuracy(&self.metrics.accuracy)
            )?,
        }
        for line in wrap(&self.metrics.accuracy_note, 68) {
            writeln!(o, "    {line}")?;
        }
        let other_side = match self.metrics.basis {
            Basis::Explicit => Some(("inferred", &self.metrics.inferred)),
            _ => None,
        };
        if let Some((name, f)) = other_side
            && f.accuracy.rated > 0
        {
            writeln!(
                o,
                "  {name:<17} {} positive, {} negative signals in {:.1}% of interactions (not mixed in)",
                f.positive,
                f.negative,
                f.rated_share * 100.0
            )?;
        }
        if let Some(c) = &self.metrics.previous_window {
            writeln!(o, "  vs previous       {}", fmt_comparison(c))?;
        }
        if self.metrics.basis != Basis::None {
            for v in &self.metrics.by_config_version {
                writeln!(
                    o,
                    "  {:<17} {} (since {}, {} interactions)",
                    v.version,
                    fmt_accuracy(&v.accuracy),
                    &v.first_seen[..10.min(v.first_seen.len())],
                    v.interactions
                )?;
            }
            for c in &self.metrics.version_comparisons {
                writeln!(
                    o,
                    "  {} → {:<12} {}",
                    c.from,
                    c.to,
                    fmt_comparison(&c.comparison)
                )?;
            }
            if !self.metrics.by_week.is_empty() {
                writeln!(o, "  by week:")?;
                for w in &self.metrics.by_week {
                    writeln!(
                        o,
                        "    {}  {:>6} interactions  {}",
                        w.week_start,
                        w.interactions,
                        fmt_accuracy(&w.accuracy)
                    )?;
                }
            }
        }

        // 4. The detail of each problem.
        writeln!(o, "\nProblem detail")?;
        for (i, p) in &open {
            writeln!(o, "{:>3}. {}   key: {}", i + 1, p.title, p.key)?;
            for line in wrap(&p.description, 66) {
                writeln!(o, "     {line}")?;
            }
            if let Some(prev) = &p.previous {
                writeln!(
                    o,
                    "     before: {} interactions ({:.1}%); p = {:.3} that it fell",
                    prev.affected,
                    prev.share * 100.0,
                    prev.p_value
                )?;
            }
            for f in &p.facets {
                writeln!(
                    o,
                    "     - {:<44} {:>6} interactions  {:>3.0}% shared",
                    f.key,
                    f.occurrences,
                    f.overlap * 100.0
                )?;
            }
            if !p.evidence.is_empty() {
                let shown: Vec<&str> = p.evidence.iter().take(5).map(String::as_str).collect();
                writeln!(o, "     e.g. {}", shown.join(", "))?;
            }
            if !p.suggestions.is_empty() {
                writeln!(o, "     edits: {}", p.suggestions.join(", "))?;
            }
        }

        if self.candidate_prompt != self.agent.system_prompt {
            writeln!(o, "\nNew system prompt (every ready edit)")?;
            writeln!(o, "{}", "-".repeat(72))?;
            writeln!(o, "{}", self.candidate_prompt)?;
            writeln!(o, "{}", "-".repeat(72))?;
        }

        if !self.metrics.rules.is_empty() {
            writeln!(o, "\nRule metrics")?;
            for m in &self.metrics.rules {
                writeln!(o, "  {:<18} {:<36} {:.4}", m.rule, m.name, m.value)?;
            }
        }

        writeln!(o, "\nRules")?;
        for r in &self.rules {
            let status = match &r.failure {
                None => "ok".to_string(),
                Some(f) => format!("FAILED ({}): {}", kind_name(f), f.message),
            };
            // Every metered call uses some fuel: none means the rule ran
            // under epoch metering, where fuel is not counted.
            let fuel = match r.fuel_used {
                0 => "-".to_string(),
                n => n.to_string(),
            };
            writeln!(
                o,
                "  {:<18} {:>9.1} ms  {:>14} fuel  {:>6.1} MiB  {:>3} log lines  {status}",
                r.name,
                r.duration_ms,
                fuel,
                r.peak_memory_bytes as f64 / (1 << 20) as f64,
                r.log.len()
            )?;
            if let Some(u) = &r.llm {
                for line in wrap(&u.summary(), 66) {
                    writeln!(o, "      {line}")?;
                }
            }
        }
        Ok(())
    }

    fn write_suggestion(&self, o: &mut String, s: &ReportSuggestion) -> std::fmt::Result {
        let problem = s
            .problem
            .as_deref()
            .and_then(|k| {
                self.problems
                    .iter()
                    .filter(|p| p.affected > 0)
                    .position(|p| p.key == k)
            })
            .map(|i| format!("problem {}", i + 1))
            .unwrap_or_else(|| "no problem".into());
        let status = match s.status {
            SuggestionStatus::Ready => "ready",
            SuggestionStatus::NeedsReview => "needs review",
            SuggestionStatus::Conflict => "CONFLICT",
            SuggestionStatus::Rejected => "rejected",
        };
        writeln!(
            o,
            "  {} [{status}] for {problem}, {} (confidence {:.2}, from {})",
            s.id,
            s.action,
            s.confidence,
            s.rules.join(", ")
        )?;
        for line in wrap(&s.edit.to_string(), 66) {
            writeln!(o, "      {line}")?;
        }
        Ok(())
    }
}

fn status_tag(p: &Problem) -> &'static str {
    match p.status {
        ProblemStatus::New => "",
        ProblemStatus::Ongoing => "  (ongoing)",
        ProblemStatus::Resolved => "  (resolved: its share fell significantly)",
        ProblemStatus::BelowThreshold => {
            "  (not reported now, but too few interactions to call it resolved)"
        }
        ProblemStatus::Regressed => "  (REGRESSED: back after being resolved)",
    }
}

fn kind_name(f: &RuleFailure) -> String {
    serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn fmt_accuracy(a: &Accuracy) -> String {
    match (a.value, a.ci95) {
        (Some(v), Some([lo, hi])) => format!(
            "{:.1}%  (95% CI {:.1}–{:.1}%, n = {})",
            v * 100.0,
            lo * 100.0,
            hi * 100.0,
            a.rated
        ),
        _ => "no rated interactions".to_string(),
    }
}

fn fmt_comparison(c: &Comparison) -> String {
    let verdict = match c.verdict {
        Verdict::Improved => "improved",
        Verdict::Regressed => "REGRESSED",
        Verdict::Inconclusive => "inconclusive",
    };
    match c.difference {
        Some(d) => format!("{verdict}: {:+.1} points; {}", d * 100.0, c.reason),
        None => format!("{verdict}: {}", c.reason),
    }
}

/// Wrap text at word boundaries for the terminal.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// What a dream takes from the previous report: its window's size and
/// accuracy, and its problems. Read from a `reverie.report/v2` report, or from
/// a `v1` one (its patterns become problems of one facet each), so a server's
/// stored reports and the files of earlier runs still serve as `--previous`.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousReport {
    pub interactions: u64,
    pub accuracy: Accuracy,
    pub basis: Basis,
    pub problems: Vec<PreviousProblem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreviousProblem {
    pub key: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub status: ProblemStatus,
    pub affected: u64,
    /// Its facets' keys.
    pub facets: Vec<String>,
}

impl PreviousProblem {
    pub fn from_problem(p: &Problem) -> PreviousProblem {
        PreviousProblem {
            key: p.key.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            severity: p.severity,
            status: p.status,
            affected: p.affected,
            facets: p.facets.iter().map(|f| f.key.clone()).collect(),
        }
    }
}

impl PreviousReport {
    pub fn from_report(report: &Report) -> PreviousReport {
        PreviousReport {
            interactions: report.window.interactions,
            accuracy: report.metrics.accuracy,
            basis: report.metrics.basis,
            problems: report
                .problems
                .iter()
                .map(PreviousProblem::from_problem)
                .collect(),
        }
    }

    /// Read a report's JSON, either schema; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<PreviousReport, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("it is not JSON: {e}"))?;
        match value.get("schema").and_then(|s| s.as_str()).unwrap_or("") {
            SCHEMA => serde_json::from_value::<Report>(value)
                .map(|r| PreviousReport::from_report(&r))
                .map_err(|e| format!("it is malformed: {e}")),
            SCHEMA_V1 => serde_json::from_value::<V1Report>(value)
                .map(V1Report::into_previous)
                .map_err(|e| format!("it is malformed: {e}")),
            other => Err(format!(
                "it has schema {other:?}; expected {SCHEMA:?} or {SCHEMA_V1:?} (a JSON report, `--format json`)"
            )),
        }
    }
}

/// The schema before problems (patterns, `accepted` suggestions).
pub const SCHEMA_V1: &str = "reverie.report/v1";

/// The parts of a `v1` report a previous report is read for.
#[derive(Deserialize)]
struct V1Report {
    window: V1Window,
    patterns: Vec<V1Pattern>,
    metrics: V1Metrics,
}

#[derive(Deserialize)]
struct V1Window {
    interactions: u64,
    explicit_feedback: u64,
}

#[derive(Deserialize)]
struct V1Pattern {
    key: String,
    title: String,
    description: String,
    severity: Severity,
    status: String,
    occurrences: u64,
}

#[derive(Deserialize)]
struct V1Metrics {
    accuracy: Accuracy,
}

impl V1Report {
    fn into_previous(self) -> PreviousReport {
        PreviousReport {
            interactions: self.window.interactions,
            accuracy: self.metrics.accuracy,
            // v1 mixed explicit and inferred ratings; with explicit feedback
            // present its figure was mostly explicit, else not comparable.
            basis: if self.window.explicit_feedback > 0 {
                Basis::Explicit
            } else {
                Basis::None
            },
            problems: self
                .patterns
                .into_iter()
                .map(|p| PreviousProblem {
                    facets: vec![p.key.clone()],
                    key: p.key,
                    title: p.title,
                    description: p.description,
                    severity: p.severity,
                    status: if p.status == "resolved" {
                        ProblemStatus::Resolved
                    } else {
                        ProblemStatus::Ongoing
                    },
                    affected: p.occurrences,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of a report `reverie dream --format json` wrote before problems.
    const V1: &str = r#"{
      "schema": "reverie.report/v1",
      "window": {"interactions": 1200, "explicit_feedback": 30},
      "patterns": [
        {"key": "tool-failures/lookup_order/invalid_argument", "title": "`lookup_order` fails",
         "description": "d", "severity": "high", "status": "ongoing", "occurrences": 120,
         "previous_occurrences": null, "evidence": ["i1"], "rules": ["tool-failures"]},
        {"key": "feedback-themes/hotel-useles-werent", "title": "t", "description": "d",
         "severity": "low", "status": "resolved", "occurrences": 0,
         "previous_occurrences": 34, "evidence": [], "rules": ["feedback-themes"]}
      ],
      "suggestions": [{"status": "accepted"}],
      "metrics": {"accuracy": {"rated": 30, "non_negative": 20, "value": 0.666667,
                               "ci95": [0.48, 0.81]}}
    }"#;

    #[test]
    fn a_report_from_before_problems_still_serves_as_the_previous_one() {
        let previous = PreviousReport::from_json(V1).expect("a v1 report reads");
        assert_eq!(previous.interactions, 1200);
        assert_eq!(previous.basis, Basis::Explicit);
        assert_eq!(previous.problems.len(), 2);
        let first = &previous.problems[0];
        assert_eq!(first.key, "tool-failures/lookup_order/invalid_argument");
        assert_eq!(first.affected, 120);
        assert_eq!(first.facets, vec![first.key.clone()]);
        assert_eq!(previous.problems[1].status, ProblemStatus::Resolved);
    }

    #[test]
    fn anything_else_is_refused_saying_what_it_is() {
        let err = PreviousReport::from_json(r#"{"schema": "something/v9"}"#).expect_err("refused");
        assert!(err.contains("\"something/v9\""), "{err}");
        assert!(err.contains("--format json"), "{err}");
        let err = PreviousReport::from_json("Dreaming report for x").expect_err("refused");
        assert!(err.starts_with("it is not JSON"), "{err}");
    }
}
