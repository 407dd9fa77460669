//! The report of one cycle (`reverie.report/v1`) and its rendering for people.
//!
//! The JSON shape is published as `host/schema/report.v1.json` and is a contract:
//! webhook receivers and the API read it, and `reverie dream --previous` reads an
//! earlier one back to tell new patterns from ongoing, resolved and regressed
//! ones. Change it only by adding optional fields, or bump the version.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::metrics::{Accuracy, Comparison, Verdict};
use crate::model::{Edit, Severity};
use crate::plugins::{LogLine, RuleFailure};

pub const SCHEMA: &str = "reverie.report/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub agent: AgentRef,
    /// When the report was made (RFC 3339). Not part of what a golden test pins.
    pub generated_at: String,
    pub window: Window,
    /// One paragraph for a person.
    pub summary: String,
    pub patterns: Vec<ReportPattern>,
    pub suggestions: Vec<ReportSuggestion>,
    /// The live prompt with every accepted prompt edit applied.
    pub candidate_prompt: String,
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
pub enum PatternStatus {
    /// Not in the previous report.
    New,
    /// In the previous report too.
    Ongoing,
    /// In the previous report, absent now.
    Resolved,
    /// Resolved in the previous report, back now.
    Regressed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPattern {
    pub key: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub status: PatternStatus,
    pub occurrences: u64,
    /// Occurrences in the previous report, when there was one and it listed this key.
    pub previous_occurrences: Option<u64>,
    /// Example interaction ids (at most 20).
    pub evidence: Vec<String>,
    /// Rules that reported it.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// Part of the candidate prompt/config.
    Accepted,
    /// Conflicts with another suggestion editing the same text or setting: needs a person.
    Conflict,
    /// Cannot be applied (text not found, or it would touch a protected section).
    Rejected,
    /// Only asks for a person to look.
    Review,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSuggestion {
    /// `sug_1`, `sug_2`, ... in report order.
    pub id: String,
    /// `update_system_prompt`, `update_setting` or `flag_for_review`.
    pub action: String,
    pub edit: Edit,
    pub status: SuggestionStatus,
    /// Why it has that status, when not accepted.
    pub note: Option<String>,
    pub rationale: String,
    pub confidence: f32,
    /// Rules that proposed it.
    pub rules: Vec<String>,
    /// Pattern keys it addresses.
    pub addresses: Vec<String>,
    /// For accepted prompt edits: the system prompt after this and every earlier
    /// accepted edit, so applying suggestions in order ends at `candidate_prompt`.
    pub new_prompt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub accuracy: Accuracy,
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
    pub log: Vec<LogLine>,
    pub log_lines_dropped: u64,
    /// What the rule printed to stdout/stderr (bounded), if anything.
    pub output: Option<String>,
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
        writeln!(o, "{}", "=".repeat(60))?;
        writeln!(o, "{}\n", self.summary)?;

        writeln!(o, "Accuracy")?;
        writeln!(
            o,
            "  window            {}",
            fmt_accuracy(&self.metrics.accuracy)
        )?;
        if let Some(c) = &self.metrics.previous_window {
            writeln!(o, "  vs previous       {}", fmt_comparison(c))?;
        }
        for v in &self.metrics.by_config_version {
            writeln!(
                o,
                "  {:<17} {} (since {})",
                v.version,
                fmt_accuracy(&v.accuracy),
                &v.first_seen[..10.min(v.first_seen.len())]
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

        writeln!(o, "\nRecurring mistakes ({})", self.patterns.len())?;
        for (i, p) in self.patterns.iter().enumerate() {
            let status = match p.status {
                PatternStatus::New => "new",
                PatternStatus::Ongoing => "ongoing",
                PatternStatus::Resolved => "resolved",
                PatternStatus::Regressed => "REGRESSED",
            };
            writeln!(
                o,
                "{:>3}. [{:?}, {status}] {} — {}×",
                i + 1,
                p.severity,
                p.title,
                p.occurrences
            )?;
            writeln!(o, "     key: {}   rules: {}", p.key, p.rules.join(", "))?;
            for line in wrap(&p.description, 90) {
                writeln!(o, "     {line}")?;
            }
            if !p.evidence.is_empty() {
                let shown: Vec<&str> = p.evidence.iter().take(5).map(String::as_str).collect();
                writeln!(o, "     e.g. {}", shown.join(", "))?;
            }
        }

        writeln!(o, "\nSuggested changes ({})", self.suggestions.len())?;
        for s in &self.suggestions {
            let status = match s.status {
                SuggestionStatus::Accepted => "accepted".to_string(),
                SuggestionStatus::Conflict => "CONFLICT".to_string(),
                SuggestionStatus::Rejected => "rejected".to_string(),
                SuggestionStatus::Review => "needs review".to_string(),
            };
            writeln!(
                o,
                "  {} [{status}] {} (confidence {:.2}, from {})",
                s.id,
                s.action,
                s.confidence,
                s.rules.join(", ")
            )?;
            let what = match &s.edit {
                Edit::AppendInstruction { text } => format!("append: {text}"),
                Edit::ReplaceText { find, replacement } => {
                    format!("replace {find:?} with {replacement:?}")
                }
                Edit::SetSystemPrompt { prompt } => format!("set the system prompt to: {prompt}"),
                Edit::SetSetting { key, value } => format!("set {key} = {value}"),
                Edit::FlagForReview { note } => format!("review: {note}"),
            };
            for line in wrap(&what, 90) {
                writeln!(o, "      {line}")?;
            }
            if let Some(note) = &s.note {
                writeln!(o, "      note: {note}")?;
            }
        }
        if self.candidate_prompt != self.agent.system_prompt {
            writeln!(o, "\nNew system prompt (all accepted changes)")?;
            writeln!(o, "{}", "-".repeat(60))?;
            writeln!(o, "{}", self.candidate_prompt)?;
            writeln!(o, "{}", "-".repeat(60))?;
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
            writeln!(
                o,
                "  {:<18} {:>9.1} ms  {:>14} fuel  {:>6.1} MiB  {status}",
                r.name,
                r.duration_ms,
                r.fuel_used,
                r.peak_memory_bytes as f64 / (1 << 20) as f64
            )?;
        }
        Ok(())
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
