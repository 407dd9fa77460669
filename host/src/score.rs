//! Offline scoring of a report against a truth file (`reverie score`).
//!
//! A *truth file* (`reverie.truth/v1`, format in examples/README.md) lists the
//! mistakes planted in a labelled dataset: for each, every interaction where it
//! was planted (`interactions`) and those where the logs show a trace a rule
//! could find (`traced`: a correction, a failing call, feedback about it).
//! Scoring matches each planted mistake to the reported problem whose evidence
//! holds most of its interactions and measures, per mistake:
//!
//! - **precision**: the share of that problem's evidence that is the mistake;
//! - **recall**: the share of the mistake's traced interactions in that
//!   evidence (and of all its interactions, for the record);
//! - **split**: other problems whose evidence is mostly this mistake (one
//!   mistake reported as several problems);
//!
//! and lists the reported problems that match no planted mistake (noise),
//! saying whether any has a ready edit. The targets (`Targets`) are those
//! the project holds its built-in rules to; `--check` turns a miss into a
//! non-zero exit. Scoring needs each problem's complete evidence: a report
//! made with `reverie dream --evidence all --format json`.
//!
//! It must not run rules or read a store: it reads a report and a truth file.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::report::{PreviousReport, Problem, Report, SCHEMA, SuggestionStatus};

pub const TRUTH_SCHEMA: &str = "reverie.truth/v1";

/// A labelled dataset's planted mistakes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truth {
    pub schema: String,
    pub dataset: String,
    /// Interactions in the dataset.
    pub interactions: u64,
    pub problems: Vec<Planted>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Planted {
    pub id: String,
    pub description: String,
    /// Every interaction where it was planted.
    pub interactions: Vec<String>,
    /// Those where the logs show a trace of it.
    pub traced: Vec<String>,
}

/// What the project asks of the analysis on a labelled dataset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Targets {
    pub min_precision: f64,
    pub min_recall: f64,
    pub max_unplanted: usize,
}

pub const TARGETS: Targets = Targets {
    min_precision: 0.9,
    min_recall: 0.8,
    max_unplanted: 1,
};

/// Another problem whose evidence is mostly one planted mistake.
const SPLIT_SHARE: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub dataset: String,
    pub targets: Targets,
    pub planted: Vec<PlantedScore>,
    pub unplanted: Vec<Unplanted>,
    /// Every target met.
    pub passed: bool,
    /// The targets missed, one line each.
    pub misses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlantedScore {
    pub id: String,
    pub planted: usize,
    pub traced: usize,
    /// The key of the problem that matches it, if any.
    pub matched: Option<String>,
    pub precision: Option<f64>,
    /// Over its traced interactions; `null` when it left no trace.
    pub recall: Option<f64>,
    /// Over all its interactions.
    pub recall_all: Option<f64>,
    /// Other problems that are mostly this mistake.
    pub split_into: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unplanted {
    pub key: String,
    pub title: String,
    pub affected: u64,
    /// Ids of its ready suggestions (none, if the gate did its job).
    pub ready_edits: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("the truth file {path}: {message}")]
    Truth { path: String, message: String },
    #[error("the report {path}: {message}")]
    Report { path: String, message: String },
}

pub fn read_truth(path: &str, text: &str) -> Result<Truth, ScoreError> {
    let fail = |message: String| ScoreError::Truth {
        path: path.to_string(),
        message,
    };
    let truth: Truth = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
    if truth.schema != TRUTH_SCHEMA {
        return Err(fail(format!(
            "schema is {:?}; expected {TRUTH_SCHEMA:?}",
            truth.schema
        )));
    }
    for p in &truth.problems {
        let all: HashSet<&str> = p.interactions.iter().map(String::as_str).collect();
        if let Some(stray) = p.traced.iter().find(|id| !all.contains(id.as_str())) {
            return Err(fail(format!(
                "problem {:?}: traced interaction {stray:?} is not among its interactions",
                p.id
            )));
        }
    }
    Ok(truth)
}

/// Read a report for scoring: a v2 JSON report with complete evidence.
pub fn read_report(path: &str, text: &str) -> Result<Report, ScoreError> {
    let fail = |message: String| ScoreError::Report {
        path: path.to_string(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| fail(format!("it is not JSON: {e}")))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        // Say whether it is an older report or something else entirely.
        let hint = match PreviousReport::from_json(text) {
            Ok(_) => "it was made by an older reverie, before problems; make it again",
            Err(_) => "it is not a reverie JSON report (`reverie dream --format json`)",
        };
        return Err(fail(format!("schema {schema:?}: {hint}")));
    }
    let report: Report =
        serde_json::from_value(value).map_err(|e| fail(format!("it is malformed: {e}")))?;
    let partial: Vec<String> = report
        .problems
        .iter()
        .filter(|p| p.affected > 0 && (p.evidence.len() as u64) < p.affected)
        .map(|p| format!("{} ({} of {})", p.key, p.evidence.len(), p.affected))
        .collect();
    if !partial.is_empty() {
        return Err(fail(format!(
            "it lists only examples of the evidence of {}; make it with `reverie dream --evidence all --format json`",
            partial.join(", ")
        )));
    }
    Ok(report)
}

pub fn score(report: &Report, truth: &Truth) -> Score {
    let open: Vec<&Problem> = report.problems.iter().filter(|p| p.affected > 0).collect();
    let evidence: Vec<HashSet<&str>> = open
        .iter()
        .map(|p| p.evidence.iter().map(String::as_str).collect())
        .collect();
    let mut explained = vec![false; open.len()];
    let mut planted = Vec::new();
    for t in &truth.problems {
        let all: HashSet<&str> = t.interactions.iter().map(String::as_str).collect();
        let traced: HashSet<&str> = t.traced.iter().map(String::as_str).collect();
        let shared: Vec<usize> = evidence
            .iter()
            .map(|e| e.intersection(&all).count())
            .collect();
        let best = (0..open.len()).filter(|&i| shared[i] > 0).max_by(|&a, &b| {
            shared[a].cmp(&shared[b]).then(
                // Fewer unrelated interactions wins a tie.
                evidence[b].len().cmp(&evidence[a].len()),
            )
        });
        let mut score = PlantedScore {
            id: t.id.clone(),
            planted: all.len(),
            traced: traced.len(),
            matched: None,
            precision: None,
            recall: None,
            recall_all: None,
            split_into: Vec::new(),
        };
        if let Some(b) = best {
            explained[b] = true;
            let e = &evidence[b];
            score.matched = Some(open[b].key.clone());
            score.precision = Some(ratio(shared[b], e.len()));
            score.recall =
                (!traced.is_empty()).then(|| ratio(e.intersection(&traced).count(), traced.len()));
            score.recall_all = Some(ratio(shared[b], all.len()));
            for i in (0..open.len()).filter(|&i| i != b) {
                if ratio(shared[i], evidence[i].len()) >= SPLIT_SHARE {
                    explained[i] = true;
                    score.split_into.push(open[i].key.clone());
                }
            }
        }
        planted.push(score);
    }
    let unplanted: Vec<Unplanted> = open
        .iter()
        .zip(&explained)
        .filter(|(_, explained)| !**explained)
        .map(|(p, _)| Unplanted {
            key: p.key.clone(),
            title: p.title.clone(),
            affected: p.affected,
            ready_edits: report
                .suggestions
                .iter()
                .filter(|s| {
                    s.status == SuggestionStatus::Ready && s.problem.as_deref() == Some(&p.key)
                })
                .map(|s| s.id.clone())
                .collect(),
        })
        .collect();

    let mut misses = Vec::new();
    for p in &planted {
        if p.traced == 0 {
            continue;
        }
        match &p.matched {
            None => misses.push(format!("{}: no reported problem", p.id)),
            Some(key) => {
                if !p.split_into.is_empty() {
                    misses.push(format!(
                        "{}: reported as {} problems ({key}, {})",
                        p.id,
                        1 + p.split_into.len(),
                        p.split_into.join(", ")
                    ));
                }
                if let Some(precision) = p.precision.filter(|&x| x < TARGETS.min_precision) {
                    misses.push(format!(
                        "{}: precision {precision:.2} < {}",
                        p.id, TARGETS.min_precision
                    ));
                }
                if let Some(recall) = p.recall.filter(|&x| x < TARGETS.min_recall) {
                    misses.push(format!(
                        "{}: recall {recall:.2} < {}",
                        p.id, TARGETS.min_recall
                    ));
                }
            }
        }
    }
    if unplanted.len() > TARGETS.max_unplanted {
        misses.push(format!(
            "{} unplanted problems (at most {})",
            unplanted.len(),
            TARGETS.max_unplanted
        ));
    }
    for u in unplanted.iter().filter(|u| !u.ready_edits.is_empty()) {
        misses.push(format!(
            "unplanted problem {} has ready edits ({})",
            u.key,
            u.ready_edits.join(", ")
        ));
    }
    Score {
        dataset: truth.dataset.clone(),
        targets: TARGETS,
        passed: misses.is_empty(),
        planted,
        unplanted,
        misses,
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ((part as f64 / whole as f64) * 1e4).round() / 1e4
    }
}

impl Score {
    /// The score as a person reads it.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let f = |x: Option<f64>| x.map_or("   -".to_string(), |x| format!("{x:.2}"));
        let _ = writeln!(o, "Score of the report against {}", self.dataset);
        let _ = writeln!(
            o,
            "  {:<28} {:>7} {:>6}  {:>9} {:>6} {:>10}  matched problem",
            "planted mistake", "planted", "traced", "precision", "recall", "recall all"
        );
        for p in &self.planted {
            let _ = writeln!(
                o,
                "  {:<28} {:>7} {:>6}  {:>9} {:>6} {:>10}  {}",
                p.id,
                p.planted,
                p.traced,
                f(p.precision),
                f(p.recall),
                f(p.recall_all),
                p.matched.as_deref().unwrap_or("(none)")
            );
            if !p.split_into.is_empty() {
                let _ = writeln!(
                    o,
                    "  {:<28} also reported as: {}",
                    "",
                    p.split_into.join(", ")
                );
            }
        }
        let _ = writeln!(o, "Unplanted problems: {}", self.unplanted.len());
        for u in &self.unplanted {
            let ready = if u.ready_edits.is_empty() {
                "no ready edit".to_string()
            } else {
                format!("READY EDITS {}", u.ready_edits.join(", "))
            };
            let _ = writeln!(
                o,
                "  {} ({} interactions; {ready}): {}",
                u.key, u.affected, u.title
            );
        }
        let _ = writeln!(
            o,
            "Targets: precision >= {}, recall >= {} per traced mistake, one problem each, at most {} unplanted, no ready edit for one",
            self.targets.min_precision, self.targets.min_recall, self.targets.max_unplanted
        );
        if self.passed {
            let _ = writeln!(o, "Verdict: every target met");
        } else {
            let _ = writeln!(o, "Verdict: {} target(s) missed", self.misses.len());
            for m in &self.misses {
                let _ = writeln!(o, "  - {m}");
            }
        }
        o
    }
}

#[cfg(test)]
mod tests;
