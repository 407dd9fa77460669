//! The peer benchmark: one phrase rule (`rule`), written once, run over the same
//! generated interactions natively, as a reverie component and as an Extism
//! plugin, in one process, rounds interleaved, medians reported.
//!
//! Each side is a module ([`native`], [`under_reverie`], [`under_extism`]);
//! this file parses the arguments, runs the rounds, checks that every run found
//! the same thing, and prints the table. Run it through `benches/peer/run.sh`,
//! which builds the two guests and pins this process to one core; see README.md.

mod data;
mod machine;
mod native;
mod under_extism;
mod under_reverie;

use std::path::PathBuf;
use std::time::Duration;

use reverie::config::Metering;
use reverie::plugins::Runtime;

/// One pass of one side over the whole data set.
#[derive(Default)]
pub struct Run {
    /// Host-side work per chunk before the call: conversion or serialisation.
    prepare: Duration,
    /// The calls that hand the rule its chunks (natively: the rule's own loop).
    calls: Duration,
    /// Starting and finishing: a new instance, `finish`, reading its result.
    other: Duration,
    /// Fuel used, where it is metered.
    fuel: u64,
    found: Vec<rule::PhraseCount>,
}

impl Run {
    fn total(&self) -> Duration {
        self.prepare + self.calls + self.other
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Native,
    Reverie(Metering),
    Extism { fuel: bool },
}

impl Mode {
    const ALL: [Mode; 5] = [
        Mode::Native,
        Mode::Reverie(Metering::Epoch),
        Mode::Reverie(Metering::Fuel),
        Mode::Extism { fuel: false },
        Mode::Extism { fuel: true },
    ];

    fn label(self) -> &'static str {
        match self {
            Mode::Native => "native",
            Mode::Reverie(Metering::Epoch) => "reverie (default: epoch)",
            Mode::Reverie(Metering::Fuel) => "reverie, fuel",
            Mode::Extism { fuel: false } => "extism (default: no fuel)",
            Mode::Extism { fuel: true } => "extism, fuel",
        }
    }
}

struct Args {
    data: PathBuf,
    reverie_guest: PathBuf,
    extism_guest: PathBuf,
    rounds: usize,
}

const USAGE: &str = "usage: peer-runner --reverie-guest FILE.wasm --extism-guest FILE.wasm \
                     [--data DIR] [--rounds N]   (benches/peer/run.sh passes them)";

fn args() -> Args {
    // The repository root: this crate is benches/peer/runner.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let mut data = root.join("target/bench-data/100k");
    let (mut reverie_guest, mut extism_guest, mut rounds) = (None, None, 5);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value; {USAGE}"))
        };
        match flag.as_str() {
            "--data" => data = value().into(),
            "--reverie-guest" => reverie_guest = Some(value().into()),
            "--extism-guest" => extism_guest = Some(value().into()),
            "--rounds" => {
                rounds = value()
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| panic!("--rounds takes a positive number"))
            }
            other => panic!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Args {
        data,
        reverie_guest: reverie_guest.unwrap_or_else(|| panic!("{USAGE}")),
        extism_guest: extism_guest.unwrap_or_else(|| panic!("{USAGE}")),
        rounds,
    }
}

fn main() {
    let busy_before = machine::busy();
    let args = args();
    let data = data::load(&args.data);

    // Both hosts bounded alike: reverie's default deadline and, where fuel is on,
    // its default fuel per call.
    let defaults = under_reverie::limits(Metering::Epoch);
    let runtime = Runtime::new(None).unwrap_or_else(|e| panic!("reverie runtime: {e}"));
    let reverie_epoch = under_reverie::load(&runtime, &args.reverie_guest, Metering::Epoch);
    let reverie_fuel = under_reverie::load(&runtime, &args.reverie_guest, Metering::Fuel);
    let timeout = Duration::from_millis(defaults.timeout_ms);
    let extism_plain = under_extism::compile(
        &args.extism_guest,
        under_extism::Bounds {
            timeout,
            fuel: None,
        },
    );
    let extism_fuel = under_extism::compile(
        &args.extism_guest,
        under_extism::Bounds {
            timeout,
            fuel: Some(defaults.fuel),
        },
    );
    let run = |mode: Mode| match mode {
        Mode::Native => native::run(&data),
        Mode::Reverie(Metering::Epoch) => under_reverie::run(&runtime, &reverie_epoch, &data),
        Mode::Reverie(Metering::Fuel) => under_reverie::run(&runtime, &reverie_fuel, &data),
        Mode::Extism { fuel: false } => under_extism::run(&extism_plain, &data),
        Mode::Extism { fuel: true } => under_extism::run(&extism_fuel, &data),
    };

    let n = data.interactions.len();
    println!(
        "\npeer: one phrase rule over {n} interactions ({:.1} MB of JSONL), chunks of {}, \
         {} round(s) interleaved after one warm-up, medians; CPUs this process may use: {}\n",
        data.bytes as f64 / 1e6,
        data::CHUNK_SIZE,
        args.rounds,
        machine::allowed_cpus().map_or("unknown".into(), |c| c.to_string()),
    );

    // The warm-up round also fixes what every later run must find.
    let expected = native::run(&data).found;
    check(&expected);
    for mode in Mode::ALL {
        same(mode, &run(mode), &expected);
    }
    let mut runs: Vec<Vec<Run>> = Mode::ALL.iter().map(|_| Vec::new()).collect();
    for round in 0..args.rounds {
        let mut line = format!("round {}/{} (ms):", round + 1, args.rounds);
        for (i, mode) in Mode::ALL.into_iter().enumerate() {
            let r = run(mode);
            same(mode, &r, &expected);
            line += &format!(" {:.0}", r.total().as_secs_f64() * 1e3);
            runs[i].push(r);
        }
        // Each round's times, in the table's order: how much the runs vary.
        eprintln!("{line}");
    }

    let per_100k = 100_000.0 / n as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1e3 * per_100k;
    let native = median(&runs[0]).total();
    println!(
        "{:<26} {:>10} {:>8} {:>9} {:>10} {:>9} {:>9} {:>9} {:>13}",
        "mode", "ms/100k", "MB/s", "x native", "prepare", "calls", "other", "Mfuel", "min-max"
    );
    for (mode, runs) in Mode::ALL.into_iter().zip(&runs) {
        let r = median(runs);
        let fastest = runs.iter().map(Run::total).min().unwrap_or_default();
        let slowest = runs.iter().map(Run::total).max().unwrap_or_default();
        println!(
            "{:<26} {:>10.1} {:>8.1} {:>8.2}x {:>10.1} {:>9.1} {:>9.1} {:>9} {:>13}",
            mode.label(),
            ms(r.total()),
            data.bytes as f64 / 1e6 / r.total().as_secs_f64(),
            ratio(r.total(), native),
            ms(r.prepare),
            ms(r.calls),
            ms(r.other),
            if r.fuel > 0 {
                format!("{:.0}", r.fuel as f64 / 1e6)
            } else {
                "-".into()
            },
            format!("{:.0}-{:.0}", ms(fastest), ms(slowest)),
        );
    }
    println!(
        "(prepare, calls, other, min-max in ms per 100k: prepare is the host's per-chunk \
         conversion (reverie) or JSON serialisation (extism); calls the analyse calls alone; \
         min-max the fastest and slowest of the rounds)"
    );

    let reverie = median(&runs[1]);
    let extism = median(&runs[3]);
    let (r, e) = (
        ratio(reverie.total(), native),
        ratio(extism.total(), native),
    );
    let over = |run: &Run| ms(run.total()) - ms(native);
    println!(
        "\nreverie / native: {r:.2}x, +{:.0} ms per 100k (its analyse calls alone: {:.2}x)",
        over(reverie),
        ratio(reverie.calls, native)
    );
    println!(
        "extism  / native: {e:.2}x, +{:.0} ms per 100k (its analyse calls alone, without \
         serialising: {:.2}x)",
        over(extism),
        ratio(extism.calls, native)
    );
    println!(
        "lower: {}",
        if r < e {
            "reverie"
        } else if e < r {
            "extism"
        } else {
            "neither (equal)"
        }
    );

    println!("\nfound (the same in every run):");
    for f in &expected {
        println!(
            "  {:<20} {:>6} user messages, first evidence {}",
            format!("{:?}", f.phrase),
            f.messages,
            f.evidence.first().map_or("-", String::as_str)
        );
    }

    if let (Some(before), Some(after)) = (busy_before, machine::busy()) {
        let others = (after - before).saturating_sub(machine::own_cpu());
        println!(
            "\nother processes took {:.1} CPU-seconds while this ran{}",
            others.as_secs_f64(),
            if others > Duration::from_secs(2) {
                " (the machine was shared: with this run pinned to one core, \
                 they mostly ran on the other, but the figures may be skewed)"
            } else {
                ""
            }
        );
    }
}

/// Every phrase must occur, or the comparison measures searching for nothing.
fn check(expected: &[rule::PhraseCount]) {
    for f in expected {
        assert!(
            f.messages > 0,
            "the phrase {:?} occurs in no user message: pick phrases from the data",
            f.phrase
        );
    }
}

fn same(mode: Mode, run: &Run, expected: &[rule::PhraseCount]) {
    assert!(
        run.found == expected,
        "{} found something else than native:\n{:#?}\nnative:\n{:#?}",
        mode.label(),
        run.found,
        expected
    );
}

/// The run with the median total time.
fn median(runs: &[Run]) -> &Run {
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort_by_key(|r| r.total());
    sorted[sorted.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
