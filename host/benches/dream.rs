//! `reverie dream` end to end, against merely parsing the same files, at 100k and
//! 1M generated interactions: what a whole cycle costs over reading its input,
//! and whether its memory stays flat as the window grows.
//!
//! Both are the real binary run as a child process: the baseline is the hidden
//! `reverie parse` (reads and parses the interactions and feedback, counts
//! them, nothing else); the cycle is `reverie dream` with the default config
//! (every built-in rule), a JSON report written to /dev/null and a cache
//! of compiled rules warmed before timing. For each run the wall time and the
//! child's peak resident set (`ru_maxrss` from `wait4`) and CPU time are
//! recorded. The machine's cores matter: dream runs a reader thread beside one
//! thread per rule. A last table runs both once more without `--feedback`,
//! which tells the memory of the feedback index (read whole, by design) from
//! that of the streaming cycle.
//!
//! Data sets are generated once into `target/bench-data/{100k,1m}` (~2.8 KB per
//! interaction: 280 MB and 2.8 GB) and reused. Expect a few minutes in all.
//!
//! With `REVERIE_BENCH_BASELINE=/path/to/an/older/reverie`, every `dream` run
//! is also run with that binary, alternately and on the same data, and a last
//! table gives the ratios of this build to it: a change's cost measured in one
//! run, not against figures from another day.
//!
//! `cargo bench -p reverie --bench dream`; see docs/BENCHMARKS.md.

mod common;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REVERIE: &str = env!("CARGO_BIN_EXE_reverie");

/// Names another build of `reverie` to compare `dream` with, in the same run.
const BASELINE_VAR: &str = "REVERIE_BENCH_BASELINE";

/// (label, interactions, timed runs of each command).
const SIZES: &[(&str, u64, usize)] = &[("100k", 100_000, 3), ("1m", 1_000_000, 1)];

/// One child process: how long it took and what it used.
#[derive(Clone, Copy)]
struct Usage {
    wall: Duration,
    cpu: Duration,
    peak_rss_bytes: u64,
    /// CPU time other processes took meanwhile.
    others: Duration,
}

/// One data set's figures.
struct Measured {
    label: &'static str,
    interactions: u64,
    bytes: u64,
    parse: Usage,
    dream: Usage,
    /// One run of each without `--feedback`.
    parse_alone: Usage,
    dream_alone: Usage,
    /// `dream` with the baseline build, when one is named.
    baseline: Option<Usage>,
}

fn main() {
    let cache = tempfile::tempdir().expect("a temporary cache directory");
    let baseline = std::env::var_os(BASELINE_VAR).map(std::path::PathBuf::from);
    if let Some(path) = &baseline {
        assert!(
            path.is_file(),
            "{BASELINE_VAR}={} names no file: give the path of another build's reverie binary",
            path.display()
        );
    }
    let mut results = Vec::new();
    for &(label, interactions, runs) in SIZES {
        let dir = common::dataset(interactions, label);
        let file = dir.join("interactions.jsonl");
        let feedback = dir.join("feedback.jsonl");
        if results.is_empty() {
            warm_cache(Path::new(REVERIE), &file, cache.path());
            if let Some(binary) = &baseline {
                warm_cache(binary, &file, cache.path());
            }
        }
        let parse = |feedback| reverie(Path::new(REVERIE), "parse", &file, feedback, None);
        let dream =
            |binary: &Path, feedback| reverie(binary, "dream", &file, feedback, Some(cache.path()));

        let mut parses = Vec::new();
        let mut dreams = Vec::new();
        let mut baselines = Vec::new();
        for run in 1..=runs {
            eprintln!("{label}: run {run}/{runs}: parse");
            parses.push(measure(parse(Some(&feedback))));
            eprintln!("{label}: run {run}/{runs}: dream");
            dreams.push(measure(dream(Path::new(REVERIE), Some(&feedback))));
            if let Some(binary) = &baseline {
                eprintln!("{label}: run {run}/{runs}: dream with the baseline build");
                baselines.push(measure(dream(binary, Some(&feedback))));
            }
        }
        eprintln!("{label}: parse and dream without feedback");
        results.push(Measured {
            label,
            interactions,
            bytes: common::file_size(&file),
            parse: median_usage(&parses),
            dream: median_usage(&dreams),
            parse_alone: measure(parse(None)),
            dream_alone: measure(dream(Path::new(REVERIE), None)),
            baseline: (!baselines.is_empty()).then(|| median_usage(&baselines)),
        });
    }
    print(&results);
    if let Some(binary) = &baseline {
        print_baseline(binary, &results);
    }
}

/// `binary <subcommand>` over `interactions` (and `feedback`); `cache` is for dream.
fn reverie(
    binary: &Path,
    subcommand: &str,
    interactions: &Path,
    feedback: Option<&Path>,
    cache: Option<&Path>,
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg(subcommand)
        .arg("--interactions")
        .arg(interactions);
    if let Some(feedback) = feedback {
        command.arg("--feedback").arg(feedback);
    }
    if let Some(cache) = cache {
        command
            .args(["--format", "json", "--output", "/dev/null", "--no-progress"])
            .arg("--cache-dir")
            .arg(cache);
    }
    command.stdout(Stdio::null()).stderr(Stdio::inherit());
    command
}

/// Compile the built-in rules into the cache once, on a small file, so no timed
/// run pays for compilation (~0.1 s per rule).
fn warm_cache(binary: &Path, interactions: &Path, cache: &Path) {
    let small = cache.join("warm.jsonl");
    let reader = BufReader::new(std::fs::File::open(interactions).expect("open the data set"));
    let mut out = BufWriter::new(std::fs::File::create(&small).expect("create a small input"));
    for line in reader.lines().take(10) {
        writeln!(out, "{}", line.expect("read the data set")).expect("write a small input");
    }
    drop(out);
    measure(reverie(binary, "dream", &small, None, Some(cache)));
}

/// Run `command` to completion and read its rusage with `wait4`.
fn measure(mut command: Command) -> Usage {
    let busy = common::machine_busy();
    let started = Instant::now();
    // Reaped by `wait4` below, which std's `Child::wait` would not let us call.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("start reverie");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, so all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for (std waits only in
    // `Child::wait`, never on drop), and both pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    let busy = common::machine_busy()
        .zip(busy)
        .map(|(after, before)| after - before);
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed (wait status {status})"
    );
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let cpu = time(usage.ru_utime) + time(usage.ru_stime);
    Usage {
        wall,
        cpu,
        // Linux reports ru_maxrss in KiB.
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        others: busy.unwrap_or_default().saturating_sub(cpu),
    }
}

/// The run with the median wall time, and the highest peak memory of all runs.
fn median_usage(runs: &[Usage]) -> Usage {
    let mut sorted = runs.to_vec();
    sorted.sort_by_key(|u| u.wall);
    Usage {
        peak_rss_bytes: runs.iter().map(|u| u.peak_rss_bytes).max().unwrap_or(0),
        ..sorted[sorted.len() / 2]
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

fn print(results: &[Measured]) {
    println!("\ndream vs parse (median wall time; peak RSS is the highest of the runs)\n");
    println!(
        "{:<6} {:>6} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7} {:>7} {:>10} {:>10} {:>9}",
        "size",
        "MB",
        "parse s",
        "cpu s",
        "MB/s",
        "dream s",
        "cpu s",
        "MB/s",
        "ratio",
        "parse MiB",
        "dream MiB",
        "others s"
    );
    for r in results {
        println!(
            "{:<6} {:>6.0} {:>8.2} {:>8.2} {:>7.1} {:>8.2} {:>8.2} {:>7.1} {:>6.2}x {:>10.1} {:>10.1} {:>9.2}",
            r.label,
            r.bytes as f64 / 1e6,
            r.parse.wall.as_secs_f64(),
            r.parse.cpu.as_secs_f64(),
            common::mb_per_s(r.bytes, r.parse.wall),
            r.dream.wall.as_secs_f64(),
            r.dream.cpu.as_secs_f64(),
            common::mb_per_s(r.bytes, r.dream.wall),
            r.dream.wall.as_secs_f64() / r.parse.wall.as_secs_f64(),
            mib(r.parse.peak_rss_bytes),
            mib(r.dream.peak_rss_bytes),
            (r.parse.others + r.dream.others).as_secs_f64(),
        );
    }
    println!(
        "others s: CPU time other processes took during the two runs shown; \
         more than a few tenths means the machine was shared and the times are skewed"
    );

    println!("\nthe same without --feedback (one run each)\n");
    println!(
        "{:<6} {:>8} {:>8} {:>7} {:>10} {:>10} {:>9}",
        "size", "parse s", "dream s", "ratio", "parse MiB", "dream MiB", "others s"
    );
    for r in results {
        println!(
            "{:<6} {:>8.2} {:>8.2} {:>6.2}x {:>10.1} {:>10.1} {:>9.2}",
            r.label,
            r.parse_alone.wall.as_secs_f64(),
            r.dream_alone.wall.as_secs_f64(),
            r.dream_alone.wall.as_secs_f64() / r.parse_alone.wall.as_secs_f64(),
            mib(r.parse_alone.peak_rss_bytes),
            mib(r.dream_alone.peak_rss_bytes),
            (r.parse_alone.others + r.dream_alone.others).as_secs_f64(),
        );
    }

    if let [small, .., large] = results {
        let growth = |f: fn(&Measured) -> Usage| {
            f(large).peak_rss_bytes as f64 / f(small).peak_rss_bytes as f64
        };
        println!(
            "\npeak RSS at {} / at {} interactions: dream {:.2}x, parse {:.2}x; without feedback: dream {:.2}x, parse {:.2}x",
            large.interactions,
            small.interactions,
            growth(|r| r.dream),
            growth(|r| r.parse),
            growth(|r| r.dream_alone),
            growth(|r| r.parse_alone),
        );
    }
}

/// This build's `dream` against the baseline build's, timed in the same run.
fn print_baseline(binary: &Path, results: &[Measured]) {
    println!(
        "\ndream: this build against {} (median wall time; the same runs, alternately)\n",
        binary.display()
    );
    println!(
        "{:<6} {:>10} {:>8} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "size", "baseline s", "cpu s", "MiB", "this s", "cpu s", "MiB", "wall", "cpu", "memory"
    );
    for r in results {
        let Some(base) = r.baseline else { continue };
        println!(
            "{:<6} {:>10.2} {:>8.2} {:>8.1} {:>10.2} {:>8.2} {:>8.1} {:>7.2}x {:>7.2}x {:>7.2}x",
            r.label,
            base.wall.as_secs_f64(),
            base.cpu.as_secs_f64(),
            mib(base.peak_rss_bytes),
            r.dream.wall.as_secs_f64(),
            r.dream.cpu.as_secs_f64(),
            mib(r.dream.peak_rss_bytes),
            r.dream.wall.as_secs_f64() / base.wall.as_secs_f64(),
            r.dream.cpu.as_secs_f64() / base.cpu.as_secs_f64(),
            r.dream.peak_rss_bytes as f64 / base.peak_rss_bytes as f64,
        );
    }
}
