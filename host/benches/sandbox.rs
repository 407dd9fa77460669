//! The sandbox tax: each built-in rule run natively in the host versus as a
//! WebAssembly component, over the same 100k generated interactions.
//!
//! The rule crates compile natively too, so the baseline is the very same rule
//! code called through its [`Rule`] trait, after converting the host's domain
//! types into the SDK's (the conversion a native plugin API would need too).
//! The component side is what a cycle does: [`PreparedChunk`] (the host-side
//! conversion, once per chunk) and `detect` / `analyse` / `finish` through the
//! runtime, with deadlines and the memory limiter on, the default metering
//! (epoch deadlines alone: no fuel is counted, the fuel column is 0) and the default
//! limits. Input is parsed once up front and kept in memory, so parsing counts
//! on neither side. Both sides feed chunks of 256 interactions with the same
//! feedback (explicit, plus what `corrections` infers), run each rule's
//! declared stages only, and must return the same findings.
//!
//! Each side runs several times (interleaved); the table gives medians, the
//! throughput over the interactions file's bytes, the ratio, the fuel used and
//! where the time goes: conversion and each stage, the fixed cost of one call,
//! and the cost of moving a chunk into the guest (measured by calling the
//! `analyse` of `corrections`, which only detects: the SDK's empty default).
//! The metering table runs the same components on bench-only engines with fuel
//! and epoch interruption each on or off, which the host's engine cannot do,
//! to tell the cost of metering from that of running as WebAssembly at all.
//! The last table gives the cost of starting a rule: instantiation from the
//! pre-instantiated component, and the whole `Runtime::start`.
//!
//! `cargo bench -p reverie --bench sandbox`; see docs/BENCHMARKS.md.

mod common;

use std::time::{Duration, Instant};

use reverie::config::{Limits, RuleSource};
use reverie::input::{FeedbackIndex, InteractionReader};
use reverie::model as domain;
use reverie::plugins::{LoadedRule, PreparedChunk, Runtime};
use reverie_rule_sdk::{self as sdk, Rule};
use wasmtime::component::{Component, HasSelf, Linker};

const INTERACTIONS: u64 = 100_000;
const CHUNK_SIZE: usize = 256;
/// Runs of each side; the median is reported.
const RUNS: usize = 5;
/// Instantiations (and whole starts) timed per rule.
const STARTS: usize = 2000;
/// Calls with an empty chunk, to find the fixed cost of one call.
const EMPTY_CALLS: usize = 2000;
/// Runs of each engine set-up in the metering experiment.
const METERING_RUNS: usize = 3;

/// The input, parsed once: interactions in chunks, and each chunk's feedback.
struct Data {
    interactions: Vec<domain::Interaction>,
    /// Per chunk: explicit feedback, then what `corrections` inferred, by interaction.
    feedback: Vec<Vec<domain::Feedback>>,
    context: domain::CycleContext,
    bytes: u64,
}

impl Data {
    fn chunks(&self) -> impl Iterator<Item = (&[domain::Interaction], &[domain::Feedback])> {
        self.interactions
            .chunks(CHUNK_SIZE)
            .zip(self.feedback.iter().map(Vec::as_slice))
    }
}

/// Time spent per phase of one run.
#[derive(Default, Clone, Copy)]
struct Phases {
    convert: Duration,
    detect: Duration,
    analyse: Duration,
    /// Creating the rule and `finish`.
    other: Duration,
}

impl Phases {
    fn total(&self) -> Duration {
        self.convert + self.detect + self.analyse + self.other
    }
}

struct Run {
    phases: Phases,
    /// Fuel used in detect and in analyse (component only).
    fuel: (u64, u64),
    /// Patterns, suggestions and metrics, flattened for comparison.
    findings: Vec<String>,
}

fn main() {
    let dir = common::dataset(INTERACTIONS, "100k");
    let busy = common::machine_busy();
    let data = load(&dir);
    let runtime = Runtime::new(None).unwrap_or_else(|e| panic!("runtime: {e}"));
    // Every built-in rule by default; REVERIE_BENCH_RULES=a,b picks some.
    let picked = std::env::var("REVERIE_BENCH_RULES").ok();
    let rules: Vec<(&str, LoadedRule)> = reverie::builtin::BUILTIN_RULES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            picked
                .as_deref()
                .is_none_or(|p| p.split(',').any(|n| n.trim() == *name))
        })
        .map(|name| (name, load_rule(&runtime, name)))
        .collect();

    println!(
        "\nsandbox: {} interactions ({:.1} MB of JSONL), chunks of {CHUNK_SIZE}, median of {RUNS} runs\n",
        data.interactions.len(),
        data.bytes as f64 / 1e6
    );
    let native = native_vs_component(&runtime, &rules, &data);
    call_costs(&runtime, &rules, &data);
    metering(&rules, &data, &native);
    starting(&runtime, &rules, &data.context);

    if let (Some(before), Some(after)) = (busy, common::machine_busy()) {
        let others = (after - before).saturating_sub(own_cpu());
        println!(
            "\nother processes took {:.1} CPU-seconds while this ran{}",
            others.as_secs_f64(),
            if others > Duration::from_secs(2) {
                ": the machine was shared, the times are skewed"
            } else {
                ""
            }
        );
    }
}

/// The CPU time this process has used.
fn own_cpu() -> Duration {
    // SAFETY: rusage is plain old data, so all zeroes is a valid value, and
    // getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

// ---- native versus component ----------------------------------------------------------

/// Prints the comparison; returns the native median phases of each rule.
fn native_vs_component(
    runtime: &Runtime,
    rules: &[(&str, LoadedRule)],
    data: &Data,
) -> Vec<Phases> {
    let mut native: Vec<Vec<Run>> = rules.iter().map(|_| Vec::new()).collect();
    let mut component: Vec<Vec<Run>> = rules.iter().map(|_| Vec::new()).collect();
    for run in 0..RUNS {
        eprintln!("run {}/{RUNS}", run + 1);
        for (i, (name, rule)) in rules.iter().enumerate() {
            native[i].push(run_native(name, data));
            component[i].push(run_component(runtime, rule, data));
        }
    }

    println!(
        "{:<16} {:>7} {:>10} {:>9} {:>10} {:>9} {:>7} {:>14} {:>9}",
        "rule", "stages", "native ms", "MB/s", "wasm ms", "MB/s", "ratio", "fuel", "same out"
    );
    let mut breakdown = Vec::new();
    for (i, (name, rule)) in rules.iter().enumerate() {
        let n = median_run(&native[i]);
        let c = median_run(&component[i]);
        let stages: Vec<&str> = rule
            .info
            .stages
            .iter()
            .map(|s| match s {
                domain::Stage::Detect => "D",
                domain::Stage::Analyse => "A",
            })
            .collect();
        let same = native[i]
            .iter()
            .chain(&component[i])
            .all(|r| r.findings == n.findings);
        println!(
            "{:<16} {:>7} {:>10.0} {:>9.1} {:>10.0} {:>9.1} {:>6.2}x {:>14} {:>9}",
            name,
            stages.join("+"),
            ms(n.phases.total()),
            common::mb_per_s(data.bytes, n.phases.total()),
            ms(c.phases.total()),
            common::mb_per_s(data.bytes, c.phases.total()),
            c.phases.total().as_secs_f64() / n.phases.total().as_secs_f64(),
            c.fuel.0 + c.fuel.1,
            if same { "yes" } else { "NO" },
        );
        breakdown.push((name, n, c));
    }

    println!(
        "\nwhere the time goes (ms, median run; fuel in millions; wasm throughput = fuel per ns)"
    );
    println!(
        "{:<16} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "rule", "side", "convert", "detect", "analyse", "other", "Mfuel", "fuel/ns"
    );
    for (name, n, c) in &breakdown {
        for (side, run) in [("native", n), ("wasm", c)] {
            let p = run.phases;
            let calls = p.detect + p.analyse;
            let fuel = run.fuel.0 + run.fuel.1;
            let rate = if fuel > 0 {
                format!("{:.2}", fuel as f64 / calls.as_nanos() as f64)
            } else {
                "-".into()
            };
            println!(
                "{:<16} {:>6} {:>9.0} {:>9.0} {:>9.0} {:>9.1} {:>9} {:>9}",
                name,
                side,
                ms(p.convert),
                ms(p.detect),
                ms(p.analyse),
                ms(p.other),
                if fuel > 0 {
                    format!("{}", fuel / 1_000_000)
                } else {
                    "-".into()
                },
                rate,
            );
        }
    }
    breakdown.iter().map(|(_, n, _)| n.phases).collect()
}

fn run_native(name: &str, data: &Data) -> Run {
    match name {
        "corrections" => native::<corrections::Corrections>(data),
        "tool-failures" => native::<tool_failures::ToolFailures>(data),
        "feedback-themes" => native::<feedback_themes::FeedbackThemes>(data),
        "retry-loops" => native::<retry_loops::RetryLoops>(data),
        "made-up-ids" => native::<made_up_ids::MadeUpIds>(data),
        "unconfirmed-actions" => native::<unconfirmed_actions::UnconfirmedActions>(data),
        "outcome-drivers" => native::<outcome_drivers::OutcomeDrivers>(data),
        other => panic!("no native build of {other}"),
    }
}

/// The rule's own code called directly, with the conversion into the SDK's types.
fn native<R: Rule>(data: &Data) -> Run {
    let stages = R::info().stages;
    let inputs = domain_inputs(R::info().inputs);
    let detect = stages.contains(&sdk::Stage::Detect);
    let analyse = stages.contains(&sdk::Stage::Analyse);
    let mut phases = Phases::default();

    let started = Instant::now();
    let mut rule = R::new(to_sdk::context(&data.context)).unwrap_or_else(|e| panic!("new: {e}"));
    phases.other += started.elapsed();
    for (chunk, feedback) in data.chunks() {
        let started = Instant::now();
        let mut interactions: Vec<sdk::Interaction> = chunk
            .iter()
            .map(|i| to_sdk::interaction(i, inputs))
            .collect();
        phases.convert += started.elapsed();
        if detect {
            // Detect takes its chunk by value; analyse needs it again afterwards.
            let started = Instant::now();
            let argument = if analyse {
                interactions.clone()
            } else {
                std::mem::take(&mut interactions)
            };
            phases.convert += started.elapsed();
            let started = Instant::now();
            rule.detect(argument)
                .unwrap_or_else(|e| panic!("detect: {e}"));
            phases.detect += started.elapsed();
        }
        if analyse {
            let started = Instant::now();
            let chunk = sdk::Chunk {
                interactions,
                feedback: feedback.iter().map(to_sdk::feedback).collect(),
            };
            phases.convert += started.elapsed();
            let started = Instant::now();
            rule.analyse(chunk)
                .unwrap_or_else(|e| panic!("analyse: {e}"));
            phases.analyse += started.elapsed();
        }
    }
    let started = Instant::now();
    let findings = rule.finish().unwrap_or_else(|e| panic!("finish: {e}"));
    phases.other += started.elapsed();
    Run {
        phases,
        fuel: (0, 0),
        findings: native_summary(&findings),
    }
}

/// The rule as a cycle runs it: through the runtime, sandboxed and metered.
fn run_component(runtime: &Runtime, rule: &LoadedRule, data: &Data) -> Run {
    let detect = rule.info.takes_part_in(domain::Stage::Detect);
    let analyse = rule.info.takes_part_in(domain::Stage::Analyse);
    let fail =
        |stage: &str, e: &dyn std::fmt::Display| -> ! { panic!("{} {stage}: {e}", rule.info.name) };
    let mut phases = Phases::default();
    let mut fuel = (0, 0);

    let started = Instant::now();
    let mut instance = runtime
        .start(rule, &Limits::default(), &data.context, None)
        .unwrap_or_else(|(e, _)| fail("start", &e));
    phases.other += started.elapsed();
    let mut fuel_before = instance.stats().fuel_used;
    for (chunk, feedback) in data.chunks() {
        let started = Instant::now();
        let mut prepared = PreparedChunk::new(chunk, rule.info.inputs);
        phases.convert += started.elapsed();
        if detect {
            let started = Instant::now();
            instance
                .detect(&prepared)
                .unwrap_or_else(|e| fail("detect", &e));
            phases.detect += started.elapsed();
            let used = instance.stats().fuel_used;
            fuel.0 += used - fuel_before;
            fuel_before = used;
        }
        if analyse {
            let started = Instant::now();
            prepared.set_feedback(feedback);
            phases.convert += started.elapsed();
            let started = Instant::now();
            instance
                .analyse(&prepared)
                .unwrap_or_else(|e| fail("analyse", &e));
            phases.analyse += started.elapsed();
            let used = instance.stats().fuel_used;
            fuel.1 += used - fuel_before;
            fuel_before = used;
        }
    }
    let started = Instant::now();
    let findings = instance.finish().unwrap_or_else(|e| fail("finish", &e));
    phases.other += started.elapsed();
    Run {
        phases,
        fuel,
        findings: domain_summary(&findings),
    }
}

/// The run with the median total time.
fn median_run(runs: &[Run]) -> &Run {
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort_by_key(|r| r.phases.total());
    sorted[sorted.len() / 2]
}

// ---- the cost of a call ---------------------------------------------------------------

/// Fixed cost of one call, and the cost of moving a whole chunk into the guest:
/// `corrections` only detects, so its `analyse` is the SDK's empty default and
/// calling it measures the canonical ABI
/// (host lowering, guest lifting into Rust values, and dropping them) alone.
fn call_costs(runtime: &Runtime, rules: &[(&str, LoadedRule)], data: &Data) {
    let Some((_, corrections)) = rules.iter().find(|(n, _)| *n == "corrections") else {
        return;
    };
    let start = || {
        runtime
            .start(corrections, &Limits::default(), &data.context, None)
            .unwrap_or_else(|(e, _)| panic!("start: {e}"))
    };

    let mut instance = start();
    let empty = PreparedChunk::new(&[], ALL);
    let mut times = Vec::with_capacity(EMPTY_CALLS);
    for _ in 0..EMPTY_CALLS {
        let started = Instant::now();
        instance
            .analyse(&empty)
            .unwrap_or_else(|e| panic!("analyse: {e}"));
        times.push(started.elapsed());
    }
    let per_call = median(&times);
    let chunks = data.interactions.len().div_ceil(CHUNK_SIZE);

    let mut transfer = Vec::new();
    let mut native_transfer = Vec::new();
    let mut fuel = 0;
    for _ in 0..RUNS {
        let mut instance = start();
        let mut elapsed = Duration::ZERO;
        for (chunk, feedback) in data.chunks() {
            let mut prepared = PreparedChunk::new(chunk, ALL);
            prepared.set_feedback(feedback);
            let started = Instant::now();
            instance
                .analyse(&prepared)
                .unwrap_or_else(|e| panic!("analyse: {e}"));
            elapsed += started.elapsed();
        }
        transfer.push(elapsed);
        fuel = instance.stats().fuel_used;

        // The native counterpart: building the SDK's chunk and dropping it.
        let started = Instant::now();
        for (chunk, feedback) in data.chunks() {
            let chunk = sdk::Chunk {
                interactions: chunk.iter().map(|i| to_sdk::interaction(i, ALL)).collect(),
                feedback: feedback.iter().map(to_sdk::feedback).collect(),
            };
            std::hint::black_box(&chunk);
        }
        native_transfer.push(started.elapsed());
    }
    let transfer = median(&transfer);
    let native_transfer = median(&native_transfer);

    println!("\nthe cost of a call (the analyse() of corrections: the SDK's empty default)");
    println!(
        "  one call with an empty chunk:         {:>8.2} µs median (x {chunks} chunks = {:.1} ms)",
        us(per_call),
        ms(per_call * chunks as u32)
    );
    println!(
        "  moving every chunk into the guest:    {:>8.0} ms  {:>7.1} MB/s  {:>6.0} Mfuel ({:.1} µs per interaction)",
        ms(transfer),
        common::mb_per_s(data.bytes, transfer),
        fuel as f64 / 1e6,
        us(transfer) / data.interactions.len() as f64
    );
    println!(
        "  native: converting to SDK types+drop: {:>8.0} ms  {:>7.1} MB/s",
        ms(native_transfer),
        common::mb_per_s(data.bytes, native_transfer)
    );
}

// ---- metering ------------------------------------------------------------------------

/// Bench-only bindings of the contract, to run the built-in components on
/// engines set up differently from the host's (which always meters).
mod bare {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "rule-world",
    });

    use wasmtime::component::ResourceTable;
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    pub struct State {
        pub wasi: WasiCtx,
        pub table: ResourceTable,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    impl self::reverie::rules::types::Host for State {}

    // The built-in rules measured here call neither; a bare host answers nothing.
    impl self::reverie::rules::window::Host for State {
        fn explicit_rating(
            &mut self,
            _interaction_id: String,
        ) -> Option<self::reverie::rules::types::Rating> {
            None
        }
        fn problems(&mut self) -> Vec<self::reverie::rules::window::ProblemBrief> {
            Vec::new()
        }
    }

    impl self::reverie::rules::log::Host for State {
        fn log(
            &mut self,
            _level: self::reverie::rules::log::Level,
            _message: String,
            _fields: Vec<(String, String)>,
        ) {
        }
    }
}

/// Engine set-ups of the metering experiment: (label, fuel, epoch interruption).
const METERING: [(&str, bool, bool); 4] = [
    ("fuel+epoch", true, true),
    ("epoch", false, true),
    ("fuel", true, false),
    ("neither", false, false),
];

/// The time spent in each stage's calls with fuel and epoch interruption each
/// on or off, on a bench-only engine (no limiter, no captured output: the
/// host's own engine cannot turn metering off). Calls only: converting the
/// chunks is the same in every set-up and is left out.
fn metering(rules: &[(&str, LoadedRule)], data: &Data, native: &[Phases]) {
    let ok = |what: &str, e: wasmtime::Error| -> ! { panic!("{what}: {e:#}") };
    // One row per (rule, stage) a rule takes part in: (label, rule, stage, native time).
    let mut rows: Vec<(String, usize, domain::Stage, Duration)> = Vec::new();
    for (i, ((name, rule), native)) in rules.iter().zip(native).enumerate() {
        if rule.info.takes_part_in(domain::Stage::Detect) {
            rows.push((
                format!("{name} detect"),
                i,
                domain::Stage::Detect,
                native.detect,
            ));
        }
        if rule.info.takes_part_in(domain::Stage::Analyse) {
            rows.push((
                format!("{name} analyse"),
                i,
                domain::Stage::Analyse,
                native.analyse,
            ));
        }
    }
    // And the copy alone: the empty analyse of a rule that only detects. Natively
    // the rule would only drop the chunk it was given.
    if let Some(i) = rules.iter().position(|(name, rule)| {
        *name == "corrections" && !rule.info.takes_part_in(domain::Stage::Analyse)
    }) {
        rows.push((
            "chunk copy (empty analyse)".into(),
            i,
            domain::Stage::Analyse,
            native_drop(data),
        ));
    }

    let mut times: Vec<Vec<Duration>> = rows.iter().map(|_| Vec::new()).collect();
    for (_, fuel, epoch) in METERING {
        eprintln!("metering: fuel {fuel}, epoch {epoch}");
        let mut config = wasmtime::Config::new();
        config.consume_fuel(fuel).epoch_interruption(epoch);
        let engine = wasmtime::Engine::new(&config).unwrap_or_else(|e| ok("engine", e));
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap_or_else(|e| ok("wasi", e));
        bare::RuleWorld::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .unwrap_or_else(|e| ok("link", e));
        for (i, (name, loaded)) in rules.iter().enumerate() {
            let inputs = loaded.info.inputs;
            let bytes = reverie::builtin::bytes(name, false).unwrap_or_default();
            let component = Component::new(&engine, bytes).unwrap_or_else(|e| ok(name, e));
            let pre = linker
                .instantiate_pre(&component)
                .and_then(bare::RuleWorldPre::new)
                .unwrap_or_else(|e| ok(name, e));
            for (row, (_, rule, stage, _)) in rows.iter().enumerate() {
                if *rule != i {
                    continue;
                }
                let detect = *stage == domain::Stage::Detect;
                let runs: Vec<Duration> = (0..METERING_RUNS)
                    .map(|_| {
                        let (d, a) = run_bare(
                            &engine,
                            &pre,
                            data,
                            (detect, !detect),
                            (fuel, epoch),
                            inputs,
                        );
                        d + a
                    })
                    .collect();
                times[row].push(median(&runs));
            }
        }
    }

    println!(
        "\nmetering: the stages' calls on a bench-only engine (ms, median of {METERING_RUNS}; x = over native)"
    );
    print!("{:<26} {:>8}", "rule stage", "native");
    for (label, _, _) in METERING {
        print!(" {:>17}", label);
    }
    println!();
    for ((label, _, _, native), times) in rows.into_iter().zip(times) {
        print!("{:<26} {:>8.0}", label, ms(native));
        for time in times {
            print!(
                " {:>9.0} ({:>4.2}x)",
                ms(time),
                time.as_secs_f64() / native.as_secs_f64()
            );
        }
        println!();
    }
}

/// One pass over the data on a bench-only engine: the time in detect and in analyse calls.
fn run_bare(
    engine: &wasmtime::Engine,
    pre: &bare::RuleWorldPre<bare::State>,
    data: &Data,
    (detect, analyse): (bool, bool),
    (fuel, epoch): (bool, bool),
    inputs: domain::Inputs,
) -> (Duration, Duration) {
    let ok = |what: &str, e: wasmtime::Error| -> ! { panic!("{what}: {e:#}") };
    let state = bare::State {
        wasi: wasmtime_wasi::WasiCtxBuilder::new().build(),
        table: wasmtime::component::ResourceTable::new(),
    };
    let mut store = wasmtime::Store::new(engine, state);
    if fuel {
        store.set_fuel(1 << 62).unwrap_or_else(|e| ok("fuel", e));
    }
    if epoch {
        // Checked on every loop back-edge and call, like the host's; never reached.
        store.set_epoch_deadline(1 << 40);
    }
    let world = pre
        .instantiate(&mut store)
        .unwrap_or_else(|e| ok("instantiate", e));
    let rule = world.reverie_rules_rule().analyser();
    let analyser = rule
        .call_create(&mut store, &to_bare::context(&data.context))
        .unwrap_or_else(|e| ok("create", e))
        .unwrap_or_else(|e| panic!("create: {e}"));
    let (mut in_detect, mut in_analyse) = (Duration::ZERO, Duration::ZERO);
    for (chunk, feedback) in data.chunks() {
        let interactions: Vec<_> = chunk
            .iter()
            .map(|i| to_bare::interaction(i, inputs))
            .collect();
        if detect {
            let started = Instant::now();
            rule.call_detect(&mut store, analyser, &interactions)
                .unwrap_or_else(|e| ok("detect", e))
                .unwrap_or_else(|e| panic!("detect: {e}"));
            in_detect += started.elapsed();
        }
        if analyse {
            let chunk = bare::reverie::rules::types::Chunk {
                interactions,
                feedback: feedback.iter().map(to_bare::feedback).collect(),
            };
            let started = Instant::now();
            rule.call_analyse(&mut store, analyser, &chunk)
                .unwrap_or_else(|e| ok("analyse", e))
                .unwrap_or_else(|e| panic!("analyse: {e}"));
            in_analyse += started.elapsed();
        }
    }
    (in_detect, in_analyse)
}

/// The time to drop every chunk in the SDK's types: all a native rule does with
/// a chunk it does not read.
fn native_drop(data: &Data) -> Duration {
    let mut elapsed = Duration::ZERO;
    for (chunk, feedback) in data.chunks() {
        let chunk = sdk::Chunk {
            interactions: chunk.iter().map(|i| to_sdk::interaction(i, ALL)).collect(),
            feedback: feedback.iter().map(to_sdk::feedback).collect(),
        };
        let started = Instant::now();
        drop(std::hint::black_box(chunk));
        elapsed += started.elapsed();
    }
    elapsed
}

// ---- starting a rule ------------------------------------------------------------------

fn starting(runtime: &Runtime, rules: &[(&str, LoadedRule)], context: &domain::CycleContext) {
    println!("\nstarting a rule ({STARTS} times each; µs)");
    println!(
        "{:<16} {:>16} {:>13} {:>16} {:>13}",
        "rule", "instantiate p50", "p99", "Runtime::start p50", "p99"
    );
    for (name, rule) in rules {
        let instantiate = runtime
            .time_instantiation(rule, STARTS)
            .unwrap_or_else(|e| panic!("instantiate {name}: {e}"));
        let mut start = Vec::with_capacity(STARTS);
        for _ in 0..STARTS {
            let started = Instant::now();
            let instance = runtime.start(rule, &Limits::default(), context, None);
            start.push(started.elapsed());
            if let Err((e, _)) = instance {
                panic!("start {name}: {e}");
            }
        }
        println!(
            "{:<16} {:>16.2} {:>13.2} {:>18.2} {:>13.2}",
            name,
            us(median(&instantiate)),
            us(quantile(&instantiate, 0.99)),
            us(median(&start)),
            us(quantile(&start, 0.99)),
        );
    }
}

// ---- input ----------------------------------------------------------------------------

fn load(dir: &std::path::Path) -> Data {
    let path = dir.join("interactions.jsonl");
    let explicit = FeedbackIndex::load(&dir.join("feedback.jsonl"), false)
        .unwrap_or_else(|e| panic!("feedback: {e}"));
    let mut reader =
        InteractionReader::open(&path, false).unwrap_or_else(|e| panic!("interactions: {e}"));
    let mut interactions = Vec::new();
    while let Some(i) = reader
        .next_interaction()
        .unwrap_or_else(|e| panic!("interactions: {e}"))
    {
        interactions.push(i);
    }
    let last = interactions.last();
    let context = domain::CycleContext {
        agent_id: "bench".into(),
        agent_name: "bench".into(),
        system_prompt: last
            .and_then(|i| i.system_prompt())
            .unwrap_or_default()
            .into(),
        config_version: last
            .and_then(|i| i.config_version.clone())
            .unwrap_or_default(),
        window_start_ms: None,
        window_end_ms: None,
        settings: Vec::new(),
    };

    // What the cycle would attach to each chunk: explicit feedback and the
    // feedback `corrections` infers (computed once, natively).
    let mut corrections = <corrections::Corrections as Rule>::new(to_sdk::context(&context))
        .unwrap_or_else(|e| panic!("corrections: {e}"));
    let feedback = interactions
        .chunks(CHUNK_SIZE)
        .map(|chunk| {
            let inferred = corrections
                .detect(chunk.iter().map(|i| to_sdk::interaction(i, ALL)).collect())
                .unwrap_or_else(|e| panic!("corrections: {e}"));
            let mut out = Vec::new();
            for i in chunk {
                out.extend(explicit.for_interaction(&i.id).expect("read feedback"));
                out.extend(
                    inferred
                        .iter()
                        .filter(|f| f.interaction_id == i.id)
                        .map(|f| domain::Feedback {
                            interaction_id: f.interaction_id.clone(),
                            rating: domain::Rating::Negative,
                            comment: Some(f.reason.clone()),
                            source: domain::FeedbackSource::Inferred("corrections".into()),
                        }),
                );
            }
            out
        })
        .collect();
    Data {
        interactions,
        feedback,
        context,
        bytes: common::file_size(&path),
    }
}

/// A built-in rule's component: the one this build ships, or, with
/// `REVERIE_BENCH_COMPONENTS=DIR`, `DIR/<name>.wasm` (with `_` for `-`, as cargo
/// names them): another build of the same rules, to compare guest-side changes
/// in one bench binary.
fn load_rule(runtime: &Runtime, name: &str) -> LoadedRule {
    let bytes = match std::env::var_os("REVERIE_BENCH_COMPONENTS") {
        Some(dir) => {
            let file = std::path::Path::new(&dir).join(format!("{}.wasm", name.replace('-', "_")));
            std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
        }
        None => reverie::builtin::bytes(name, false)
            .unwrap_or_else(|| panic!("no built-in rule {name:?}"))
            .to_vec(),
    };
    runtime
        .load(&RuleSource::Builtin(name.into()), &bytes)
        .unwrap_or_else(|e| panic!("load {name}: {e}"))
}

// ---- domain → contract types ----------------------------------------------------------

/// Every part of an interaction: what the chunk-copy measurements move.
const ALL: domain::Inputs = domain::Inputs::ALL;

/// The SDK's flags as the host's domain type.
fn domain_inputs(f: sdk::Inputs) -> domain::Inputs {
    domain::Inputs {
        messages: f.contains(sdk::Inputs::MESSAGES),
        system_messages: f.contains(sdk::Inputs::SYSTEM_MESSAGES),
        tool_calls: f.contains(sdk::Inputs::TOOL_CALLS),
        metadata: f.contains(sdk::Inputs::METADATA),
    }
}

/// Conversions from the host's domain types into a set of contract types with
/// the WIT's field names: the SDK's (what a native plugin API would do) and the
/// bench-only bindings of the metering experiment.
macro_rules! conversions {
    ($name:ident, $($types:tt)::+) => {
        mod $name {
            use reverie::model as domain;
            use $($types)::+ as t;

            pub fn context(c: &domain::CycleContext) -> t::CycleContext {
                t::CycleContext {
                    agent_id: c.agent_id.clone(),
                    agent_name: c.agent_name.clone(),
                    system_prompt: c.system_prompt.clone(),
                    config_version: c.config_version.clone(),
                    window_start_ms: c.window_start_ms,
                    window_end_ms: c.window_end_ms,
                    settings: c.settings.clone(),
                }
            }

            /// Only the parts in `inputs`, as the host passes them (see `inputs` in the WIT).
            pub fn interaction(i: &domain::Interaction, inputs: domain::Inputs) -> t::Interaction {
                t::Interaction {
                    id: i.id.clone(),
                    session_id: i.session_id.clone(),
                    user_id: i.user_id.clone(),
                    timestamp_ms: i.timestamp_ms,
                    config_version: i.config_version.clone(),
                    messages: i
                        .messages
                        .iter()
                        .filter(|_| inputs.messages)
                        .map(|m| t::Message {
                            role: match m.role {
                                domain::Role::System => t::Role::System,
                                domain::Role::User => t::Role::User,
                                domain::Role::Assistant => t::Role::Assistant,
                                domain::Role::Tool => t::Role::Tool,
                            },
                            content: if m.role == domain::Role::System && !inputs.system_messages {
                                String::new()
                            } else {
                                m.content.clone()
                            },
                            tool_call_id: m.tool_call_id.clone(),
                        })
                        .collect(),
                    tool_calls: i
                        .tool_calls
                        .iter()
                        .filter(|_| inputs.tool_calls)
                        .map(|c| t::ToolCall {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                            error: c.error.clone(),
                            message_index: c.message_index,
                        })
                        .collect(),
                    metadata: if inputs.metadata { i.metadata.clone() } else { "{}".into() },
                }
            }

            pub fn feedback(f: &domain::Feedback) -> t::Feedback {
                t::Feedback {
                    interaction_id: f.interaction_id.clone(),
                    rating: match f.rating {
                        domain::Rating::Positive => t::Rating::Positive,
                        domain::Rating::Negative => t::Rating::Negative,
                        domain::Rating::Neutral => t::Rating::Neutral,
                    },
                    comment: f.comment.clone(),
                    source: match &f.source {
                        domain::FeedbackSource::Explicit => t::FeedbackSource::Explicit,
                        domain::FeedbackSource::Inferred(rule) => {
                            t::FeedbackSource::Inferred(rule.clone())
                        }
                    },
                }
            }
        }
    };
}

conversions!(to_sdk, reverie_rule_sdk);
conversions!(to_bare, crate::bare::reverie::rules::types);

// ---- findings, flattened so the two sides can be compared ------------------------------

/// One body for both findings types (the SDK's and the host's share field names).
macro_rules! summary {
    ($name:ident, $findings:ty) => {
        fn $name(f: &$findings) -> Vec<String> {
            let patterns = f
                .patterns
                .iter()
                .map(|p| format!("pattern {} x{}", p.key, p.occurrences));
            let suggestions = f
                .suggestions
                .iter()
                .map(|s| format!("suggestion {} {}", s.confidence, s.addresses.join(",")));
            let metrics = f
                .metrics
                .iter()
                .map(|m| format!("metric {}={}", m.name, m.value));
            patterns.chain(suggestions).chain(metrics).collect()
        }
    };
}

summary!(native_summary, sdk::Findings);
summary!(domain_summary, domain::Findings);

/// The `q` quantile (0..=1) of `samples`, nearest rank.
fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(samples: &[Duration]) -> Duration {
    quantile(samples, 0.5)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
