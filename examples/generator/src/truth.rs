//! The truth file: which interactions carry which planted mistake, and in
//! which of them the logs show a trace a rule could find. `reverie score`
//! reads it to measure how well a report finds the planted problems.
//!
//! The format (`reverie.truth/v1`) is documented in `examples/README.md`.
//! Interaction numbers are kept in memory as `u32`, 4 bytes per planted and
//! per traced interaction, and formatted into ids only while the file is
//! written; [`MAX_INTERACTIONS`] bounds that memory.

use std::io::Write;

use serde::Serialize;
use serde::ser::SerializeSeq;

use crate::domain::{Planted, Problem};

/// Above this many interactions no truth file is written: its ids would take
/// more than about 5 MB of memory (a quarter to a third of interactions carry
/// a mistake), and benchmark data of that size is for timing, not scoring.
pub const MAX_INTERACTIONS: u64 = 2_000_000;

pub const SCHEMA: &str = "reverie.truth/v1";

/// Collects the planted interactions of one dataset, in window order.
pub struct Truth {
    problems: &'static [Problem],
    planted: Vec<Vec<u32>>,
    traced: Vec<Vec<u32>>,
}

impl Truth {
    pub fn new(problems: &'static [Problem]) -> Self {
        Self {
            problems,
            planted: vec![Vec::new(); problems.len()],
            traced: vec![Vec::new(); problems.len()],
        }
    }

    /// Record interaction `index`, which carries `planted`. It is traced if
    /// the conversation shows the mistake or if explicit feedback on it is
    /// about the mistake (`feedback_about_it`).
    pub fn record(
        &mut self,
        index: u64,
        planted: Planted,
        feedback_about_it: bool,
    ) -> Result<(), String> {
        let problem = self
            .problems
            .iter()
            .position(|p| p.id == planted.problem)
            .ok_or_else(|| format!("planted problem {:?} is not declared", planted.problem))?;
        let index = u32::try_from(index)
            .map_err(|_| format!("interaction {index} is beyond the truth file's range"))?;
        self.planted[problem].push(index);
        if planted.visible || feedback_about_it {
            self.traced[problem].push(index);
        }
        Ok(())
    }

    /// (problem id, planted, traced) per problem, in declaration order.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, usize, usize)> + '_ {
        self.problems
            .iter()
            .zip(self.planted.iter().zip(&self.traced))
            .map(|(p, (planted, traced))| (p.id, planted.len(), traced.len()))
    }

    /// Write the truth file, pretty-printed, ids made by `id`.
    pub fn write(
        &self,
        out: impl Write,
        dataset: &str,
        interactions: u64,
        id: &dyn Fn(u64) -> String,
    ) -> serde_json::Result<()> {
        let file = TruthFile {
            schema: SCHEMA,
            dataset,
            interactions,
            problems: self
                .problems
                .iter()
                .zip(self.planted.iter().zip(&self.traced))
                .map(|(p, (planted, traced))| TruthProblem {
                    id: p.id,
                    description: p.description,
                    interactions: Ids {
                        indices: planted,
                        id,
                    },
                    traced: Ids {
                        indices: traced,
                        id,
                    },
                })
                .collect(),
        };
        serde_json::to_writer_pretty(out, &file)
    }
}

#[derive(Serialize)]
struct TruthFile<'a> {
    schema: &'static str,
    dataset: &'a str,
    interactions: u64,
    problems: Vec<TruthProblem<'a>>,
}

#[derive(Serialize)]
struct TruthProblem<'a> {
    id: &'static str,
    description: &'static str,
    interactions: Ids<'a>,
    traced: Ids<'a>,
}

/// Interaction numbers serialised as ids one at a time, so a million-line
/// dataset's truth never holds its ids as strings.
struct Ids<'a> {
    indices: &'a [u32],
    id: &'a dyn Fn(u64) -> String,
}

impl Serialize for Ids<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.indices.len()))?;
        for &index in self.indices {
            seq.serialize_element(&(self.id)(u64::from(index)))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBLEMS: &[Problem] = &[
        Problem {
            id: "a",
            description: "first",
        },
        Problem {
            id: "b",
            description: "second",
        },
    ];

    #[test]
    fn a_trace_in_the_conversation_or_in_feedback_makes_an_interaction_traced() {
        let mut truth = Truth::new(PROBLEMS);
        let plant = |problem, visible| Planted {
            problem,
            visible,
            rated: false,
        };
        assert!(truth.record(3, plant("a", true), false).is_ok());
        assert!(truth.record(5, plant("a", false), false).is_ok());
        assert!(truth.record(8, plant("a", false), true).is_ok());
        assert!(truth.record(9, plant("b", false), false).is_ok());
        assert!(truth.record(10, plant("zzz", true), false).is_err());

        let mut text = Vec::new();
        let id = |i: u64| format!("x_{i:03}");
        assert!(truth.write(&mut text, "demo", 12, &id).is_ok());
        let v: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
        assert_eq!(v["schema"], "reverie.truth/v1");
        assert_eq!(v["dataset"], "demo");
        assert_eq!(v["interactions"], 12);
        assert_eq!(
            v["problems"][0]["interactions"],
            serde_json::json!(["x_003", "x_005", "x_008"])
        );
        assert_eq!(
            v["problems"][0]["traced"],
            serde_json::json!(["x_003", "x_008"])
        );
        assert_eq!(v["problems"][1]["id"], "b");
        assert_eq!(v["problems"][1]["traced"], serde_json::json!([]));
        assert_eq!(
            truth.counts().collect::<Vec<_>>(),
            [("a", 3, 2), ("b", 1, 0)]
        );
    }
}
