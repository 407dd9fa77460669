//! The rule as a reverie component, through reverie's own host API exactly as a
//! dream's analyse stage runs it (`host/benches/sandbox.rs`, `run_component`):
//! `Runtime::start` (a fresh store and instance from the pre-instantiated
//! component, `analyser.create`), then per chunk `PreparedChunk::new` with the
//! rule's declared inputs (messages only) and `set_feedback`, and
//! `RuleInstance::analyse`; then `finish`, whose findings the host checks.
//! One chunk at a time on the calling thread, under `Limits::default()`.
//!
//! Timed apart: *prepare* (the host's conversion of each chunk into the
//! contract's types), *calls* (the `analyse` calls: the canonical-ABI copy into
//! the guest, the guest's lifting into Rust values, the rule, the deadline
//! checks, and fuel where it is on), *other* (start, finish, reading the findings).

use std::path::Path;
use std::time::Instant;

use reverie::config::{Limits, Metering, RuleSource};
use reverie::model as domain;
use reverie::plugins::{LoadedRule, PreparedChunk, Runtime};

use crate::Run;
use crate::data::Data;

/// Compile and pre-instantiate the component for `metering`'s engine.
pub fn load(runtime: &Runtime, path: &Path, metering: Metering) -> LoadedRule {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rule = runtime
        .load_metered(&RuleSource::Path(path.to_path_buf()), &bytes, metering)
        .unwrap_or_else(|e| panic!("load {}: {e}", path.display()));
    assert!(
        rule.info.takes_part_in(domain::Stage::Analyse),
        "the peer rule declares the analyse stage"
    );
    rule
}

/// The limits a dream would use: the defaults, with the rule's metering.
pub fn limits(metering: Metering) -> Limits {
    Limits {
        metering,
        ..Limits::default()
    }
}

pub fn run(runtime: &Runtime, rule: &LoadedRule, data: &Data) -> Run {
    let limits = limits(rule.metering);
    let fail =
        |stage: &str, e: &dyn std::fmt::Display| -> ! { panic!("{} {stage}: {e}", rule.info.name) };
    let mut run = Run::default();

    let started = Instant::now();
    let mut instance = runtime
        .start(rule, &limits, &data.context, None)
        .unwrap_or_else(|(e, _)| fail("start", &e));
    run.other += started.elapsed();
    for (chunk, feedback) in data.chunks() {
        let started = Instant::now();
        let mut prepared = PreparedChunk::new(chunk, rule.info.inputs);
        prepared.set_feedback(feedback);
        run.prepare += started.elapsed();
        let started = Instant::now();
        instance
            .analyse(&prepared)
            .unwrap_or_else(|e| fail("analyse", &e));
        run.calls += started.elapsed();
    }
    let started = Instant::now();
    let findings = instance.finish().unwrap_or_else(|e| fail("finish", &e));
    run.found = found(findings);
    run.other += started.elapsed();
    run.fuel = instance.stats().fuel_used;
    run
}

/// The patterns back into the rule's own type, in the order of its phrase list.
fn found(findings: domain::Findings) -> Vec<rule::PhraseCount> {
    let mut found: Vec<(usize, rule::PhraseCount)> = findings
        .patterns
        .into_iter()
        .map(|p| {
            let index = p
                .key
                .strip_prefix("peer-phrases/")
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("unexpected pattern key {:?}", p.key));
            let count = rule::PhraseCount {
                phrase: p.title,
                messages: p.occurrences,
                evidence: p.evidence,
            };
            (index, count)
        })
        .collect();
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, c)| c).collect()
}
