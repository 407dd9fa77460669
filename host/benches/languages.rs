//! What a rule author's choice of language costs: the same rule
//! (`examples/rules/`, `failing-tools`) written in Rust, Python and JavaScript,
//! beside the built-in `tool-failures` (Rust, and doing much more) as the
//! reference, over the same generated interactions.
//!
//! For each component: its size; its first load (checks, compile, `info()`)
//! with an empty compile cache, and its load from the cache that first load
//! filled, which is what every later start of `reverie serve` or `dream`
//! pays; starting it (instantiation alone, and the whole `Runtime::start`);
//! and `analyse` per chunk of 256 interactions with the default limits, its
//! fuel and the instance's peak memory. Python and JavaScript components carry
//! their language's runtime, so their fixed costs are those of a runtime.
//!
//! The components are built first with `reverie rule build`'s own code, so
//! the toolchains must be installed: `eval "$(tests/toolchains/setup.sh)"`.
//!
//! `cargo bench -p reverie --bench languages`; see docs/BENCHMARKS.md.

// This bench uses only the data set and the workspace path.
#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reverie::config::{Limits, RuleSource};
use reverie::input::InteractionReader;
use reverie::model as domain;
use reverie::plugins::{LoadedRule, PreparedChunk, Runtime};

/// Interactions run through each rule (the first of the 100k set): a Python
/// rule is an interpreter, and the whole set would take it minutes.
const INTERACTIONS: usize = 20_000;
const CHUNK_SIZE: usize = 256;
/// Instantiations (and whole starts) timed per rule.
const STARTS: usize = 200;

struct Subject {
    label: &'static str,
    source: RuleSource,
    bytes: Vec<u8>,
}

fn main() {
    let data = interactions(&common::dataset(100_000, "100k"));
    let context = domain::CycleContext {
        agent_id: "bench".into(),
        agent_name: "bench".into(),
        system_prompt: String::new(),
        config_version: "v1".into(),
        window_start_ms: None,
        window_end_ms: None,
        settings: Vec::new(),
    };
    let mut subjects = vec![Subject {
        label: "tool-failures (built-in)",
        source: RuleSource::Builtin("tool-failures".into()),
        bytes: reverie::builtin::bytes("tool-failures", false)
            .expect("the built-in tool-failures")
            .to_vec(),
    }];
    for (label, folder) in [("rust", "rust"), ("python", "python"), ("javascript", "js")] {
        let dir = common::workspace().join("examples/rules").join(folder);
        eprintln!("building {}", dir.display());
        let component = reverie::authoring::build(&dir).unwrap_or_else(|e| {
            panic!("{label}: {e}\n(the toolchains: eval \"$(tests/toolchains/setup.sh)\")")
        });
        subjects.push(Subject {
            label,
            source: RuleSource::Path(component.clone()),
            bytes: std::fs::read(&component)
                .unwrap_or_else(|e| panic!("{}: {e}", component.display())),
        });
    }

    println!(
        "\nlanguages: the same rule in three languages, beside the built-in tool-failures; \
         {} interactions in chunks of {CHUNK_SIZE}\n",
        data.len()
    );
    println!(
        "{:<26} {:>10} {:>14} {:>14}",
        "rule", "size", "first load s", "cached load ms"
    );
    let mut loaded = Vec::new();
    for subject in &subjects {
        let cache = tempfile::tempdir().expect("a cache folder");
        let cold = Runtime::new(Some(cache.path().to_path_buf())).expect("a runtime");
        let started = Instant::now();
        cold.load(&subject.source, &subject.bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", subject.label));
        let first = started.elapsed();
        drop(cold);
        let warm = Runtime::new(Some(cache.path().to_path_buf())).expect("a runtime");
        let started = Instant::now();
        let rule = warm
            .load(&subject.source, &subject.bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", subject.label));
        let cached = started.elapsed();
        println!(
            "{:<26} {:>10} {:>14.2} {:>14.1}",
            subject.label,
            reverie::units::bytes(subject.bytes.len() as u64),
            first.as_secs_f64(),
            ms(cached)
        );
        loaded.push((subject.label, warm, rule, cache));
    }

    println!(
        "\n{:<26} {:>12} {:>10} {:>13} {:>11} {:>10} {:>11} {:>9}",
        "rule",
        "instantiate",
        "start",
        "analyse/chunk",
        "all chunks",
        "× rust",
        "fuel/chunk",
        "peak mem"
    );
    println!(
        "{:<26} {:>12} {:>10} {:>13} {:>11} {:>10} {:>11} {:>9}",
        "", "p50 µs", "p50 µs", "p50 ms", "s", "", "M", "MiB"
    );
    let mut rows = Vec::new();
    for (label, runtime, rule, _cache) in &loaded {
        let instantiate = runtime
            .time_instantiation(rule, STARTS)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let mut starts = Vec::with_capacity(STARTS);
        for _ in 0..STARTS {
            let started = Instant::now();
            let instance = runtime.start(rule, &Limits::default(), &context, None);
            starts.push(started.elapsed());
            if let Err((e, _)) = instance {
                panic!("{label} start: {e}");
            }
        }
        let (per_chunk, total, fuel, peak) = analyse(runtime, rule, &context, &data, label);
        rows.push((label, instantiate, starts, per_chunk, total, fuel, peak));
    }
    let rust = rows
        .iter()
        .find(|row| *row.0 == "rust")
        .map(|row| row.4)
        .expect("the Rust rule ran");
    for (label, instantiate, starts, per_chunk, total, fuel, peak) in &rows {
        println!(
            "{:<26} {:>12.1} {:>10.1} {:>13.2} {:>11.2} {:>10.1} {:>11.1} {:>9.1}",
            label,
            us(median(instantiate)),
            us(median(starts)),
            ms(median(per_chunk)),
            total.as_secs_f64(),
            total.as_secs_f64() / rust.as_secs_f64(),
            *fuel as f64 / per_chunk.len() as f64 / 1e6,
            *peak as f64 / (1 << 20) as f64,
        );
    }
}

/// Every chunk through `analyse`, then `finish`: each call's time, the
/// whole, the fuel and the peak memory.
fn analyse(
    runtime: &Runtime,
    rule: &LoadedRule,
    context: &domain::CycleContext,
    data: &[domain::Interaction],
    label: &str,
) -> (Vec<Duration>, Duration, u64, u64) {
    let mut instance = runtime
        .start(rule, &Limits::default(), context, None)
        .unwrap_or_else(|(e, _)| panic!("{label} start: {e}"));
    let mut times = Vec::new();
    let started = Instant::now();
    for chunk in data.chunks(CHUNK_SIZE) {
        let prepared = PreparedChunk::new(chunk, rule.info.inputs);
        let call = Instant::now();
        instance
            .analyse(&prepared)
            .unwrap_or_else(|e| panic!("{label} analyse: {e}"));
        times.push(call.elapsed());
    }
    let findings = instance
        .finish()
        .unwrap_or_else(|e| panic!("{label} finish: {e}"));
    let total = started.elapsed();
    assert!(
        !findings.patterns.is_empty(),
        "{label} found nothing: the data has failing tools"
    );
    let stats = instance.stats();
    (times, total, stats.fuel_used, stats.peak_memory_bytes)
}

fn interactions(dir: &Path) -> Vec<domain::Interaction> {
    let path: PathBuf = dir.join("interactions.jsonl");
    let mut reader =
        InteractionReader::open(&path, false).unwrap_or_else(|e| panic!("interactions: {e}"));
    let mut out = Vec::with_capacity(INTERACTIONS);
    while out.len() < INTERACTIONS {
        match reader
            .next_interaction()
            .unwrap_or_else(|e| panic!("interactions: {e}"))
        {
            Some(i) => out.push(i),
            None => break,
        }
    }
    out
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
