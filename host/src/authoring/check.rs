//! Judging a rule's test run: its findings against `expected.json`, and the
//! costliest of its calls against the production limits.
//!
//! Pure: it reads a report and an expectation and says what differs. It must
//! not run the rule itself (the CLI runs it through the dream's pipeline).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::config::Limits;
use crate::report::{Report, RuleRun};
use crate::units::bytes;

/// `fixtures/expected.json`: what the rule must find, and must not.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Patterns the rule must report.
    #[serde(default)]
    pub patterns: Vec<ExpectedPattern>,
    /// Pattern keys, or key prefixes ending in `/`, the rule must not report.
    #[serde(default)]
    pub absent: Vec<String>,
    /// The rule's settings for the run, as a config's `settings` table.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

/// One pattern the rule must report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedPattern {
    pub key: String,
    /// Exactly this many interactions, when given.
    pub occurrences: Option<u64>,
    /// Interaction ids its evidence must include.
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl Expected {
    /// Read `path`, naming the file and the field when it is wrong.
    pub fn load(path: &Path) -> Result<Expected, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(&mut de)
            .map_err(|e| format!("{}: at `{}`: {}", path.display(), e.path(), e.inner()))
    }

    /// The settings as the config gives them to a rule: key and text.
    pub fn settings_text(&self) -> Result<Vec<(String, String)>, String> {
        self.settings
            .iter()
            .map(|(key, value)| {
                crate::config::setting_text(value)
                    .map(|text| (key.clone(), text))
                    .map_err(|m| format!("settings.{key}: {m}"))
            })
            .collect()
    }
}

/// What a test run came to.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Each way the findings differ from the expectation.
    pub mismatches: Vec<String>,
    /// Each limit a call passed, or the rule's failure.
    pub over_limits: Vec<String>,
    /// The limits report, for a person.
    pub text: String,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.over_limits.is_empty()
    }
}

/// The facets of `rule` in `report`: key → (occurrences, the problem's evidence).
fn facets<'a>(report: &'a Report, rule: &str) -> BTreeMap<&'a str, (u64, &'a [String])> {
    let mut out = BTreeMap::new();
    for problem in &report.problems {
        for facet in problem.facets.iter().filter(|f| f.rule == rule) {
            out.insert(
                facet.key.as_str(),
                (facet.occurrences, problem.evidence.as_slice()),
            );
        }
    }
    out
}

/// Judge the run of `rule` in `report` (made with every evidence id kept).
pub fn judge(report: &Report, rule: &RuleRun, expected: &Expected, limits: &Limits) -> Verdict {
    let mut verdict = Verdict::default();
    let found = facets(report, &rule.name);
    for want in &expected.patterns {
        match found.get(want.key.as_str()) {
            None => verdict.mismatches.push(format!(
                "pattern `{}` was expected but not reported (reported: {})",
                want.key,
                listed(found.keys())
            )),
            Some((occurrences, evidence)) => {
                if let Some(n) = want.occurrences
                    && n != *occurrences
                {
                    verdict.mismatches.push(format!(
                        "pattern `{}`: {occurrences} occurrences, expected {n}",
                        want.key
                    ));
                }
                let missing: Vec<&String> = want
                    .evidence
                    .iter()
                    .filter(|id| !evidence.contains(id))
                    .collect();
                if !missing.is_empty() {
                    verdict.mismatches.push(format!(
                        "pattern `{}`: evidence lacks {}",
                        want.key,
                        listed(missing.iter())
                    ));
                }
            }
        }
    }
    for key in found.keys() {
        if expected
            .absent
            .iter()
            .any(|a| *key == a || (a.ends_with('/') && key.starts_with(a.as_str())))
        {
            verdict.mismatches.push(format!(
                "pattern `{key}` was reported but is listed as absent"
            ));
        }
    }
    if let Some(failure) = &rule.failure {
        verdict.over_limits.push(format!(
            "the rule failed ({}): {}",
            serde_json::to_value(failure.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            failure.message
        ));
    }

    let calls = &rule.calls;
    let rows = [
        (
            "fuel",
            format!("{} most in one call", count(calls.max_fuel)),
            format!("{} per call", count(limits.fuel)),
            calls.max_fuel as f64 / limits.fuel as f64,
        ),
        (
            "time",
            format!("{:.1} ms most in one call", calls.max_ms),
            format!("{} ms per call", limits.timeout_ms),
            calls.max_ms / limits.timeout_ms as f64,
        ),
        (
            "memory",
            format!("{} peak", bytes(rule.peak_memory_bytes)),
            bytes(limits.memory_bytes),
            rule.peak_memory_bytes as f64 / limits.memory_bytes as f64,
        ),
        (
            "findings",
            bytes(calls.findings_bytes),
            bytes(limits.max_findings_bytes),
            calls.findings_bytes as f64 / limits.max_findings_bytes as f64,
        ),
    ];
    let mut text = format!(
        "{} {} ({} calls, {:.1} ms in all)\n",
        rule.name, rule.version, calls.count, rule.duration_ms
    );
    for (what, used, limit, share) in rows {
        let _ = writeln!(
            text,
            "  {what:<9} {used:<28} of {limit:<18} {:>6.2}%",
            share * 100.0
        );
        if share > 1.0 {
            verdict
                .over_limits
                .push(format!("{what}: {used}, over the limit of {limit}"));
        }
    }
    verdict.text = text;
    verdict
}

fn listed<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| format!("`{i}`")).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
