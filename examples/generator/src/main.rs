//! `reverie-generator`: writes a deterministic, realistic support-bot dataset
//! ("Trailhead Outfitters") in reverie's JSONL input format.
//!
//! Output is streamed: one interaction is generated, written and dropped at a
//! time, so memory stays constant whatever `--interactions` is. The same
//! arguments always give byte-identical files (one seeded RNG, consumed in a
//! fixed order). The format and the planted mistakes are documented in
//! `examples/README.md`.

mod catalog;
mod dates;
mod phrases;
mod prompt;
mod record;
mod scenarios;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::record::{FeedbackRecord, InteractionRecord, Metadata};
use crate::scenarios::{Scenario, Verdict};

/// Generate a Trailhead Outfitters support-bot dataset for reverie.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of interactions to write.
    #[arg(long, default_value_t = 2400)]
    interactions: u64,
    /// Directory for interactions.jsonl and feedback.jsonl (created if missing).
    #[arg(long)]
    out_dir: PathBuf,
    /// RNG seed: the same seed and arguments give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day of the window (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2026-10-26")]
    start: String,
    /// Length of the window in days.
    #[arg(long, default_value_t = 28)]
    days: u32,
}

/// Day (from the start) on which config `v2` goes live: day 18 of a 28-day
/// window, scaled for other lengths.
fn v2_day(days: u32) -> u64 {
    u64::from(days) * 18 / 28
}

/// Traffic by hour of day (UTC), relative: quiet at night, busy in the day.
const HOURLY_TRAFFIC: [f64; 24] = [
    1.0, 0.7, 0.5, 0.4, 0.4, 0.6, 1.2, 2.5, 4.0, 5.5, 6.0, 6.0, 6.2, 6.0, 5.8, 5.6, 5.5, 5.8, 6.0,
    5.5, 4.5, 3.5, 2.5, 1.6,
];

/// Maps a position `u` in [0, 1) through the day's traffic curve to seconds
/// after midnight. Monotonic, so timestamps stay in order.
fn second_of_day(u: f64) -> i64 {
    let total: f64 = HOURLY_TRAFFIC.iter().sum();
    let mut target = u.clamp(0.0, 1.0) * total;
    for (hour, weight) in HOURLY_TRAFFIC.iter().enumerate() {
        if target < *weight {
            let within = target / weight * 3600.0;
            return (hour as i64) * 3600 + (within as i64).min(3599);
        }
        target -= weight;
    }
    86_399
}

const CHANNELS: &[&str] = &[
    "web",
    "web",
    "web",
    "web",
    "web",
    "web",
    "mobile_app",
    "mobile_app",
    "mobile_app",
    "email",
];
const LOCALES: &[&str] = &[
    "en-US", "en-US", "en-US", "en-US", "en-US", "en-US", "en-US", "en-US", "en-CA", "en-GB",
];

/// What explicit feedback an interaction gets, if any: (rating, comment).
fn feedback(rng: &mut StdRng, verdict: Verdict) -> Option<(&'static str, Option<&'static str>)> {
    use phrases::{NEUTRAL_COMMENTS, POSITIVE_COMMENTS, UNRELATED_NEGATIVE, pick};
    let (rate, negative, neutral, bank): (f64, f64, f64, &[&str]) = match verdict {
        Verdict::Good => (0.11, 0.05, 0.09, UNRELATED_NEGATIVE),
        Verdict::Meh(bank) => (0.2, 0.45, 0.35, bank),
        Verdict::Bad(bank) => (0.4, 0.88, 0.08, bank),
    };
    if !rng.random_bool(rate) {
        return None;
    }
    let x: f64 = rng.random();
    let (rating, bank, with_comment) = if x < negative {
        ("negative", bank, 0.85)
    } else if x < negative + neutral {
        ("neutral", NEUTRAL_COMMENTS, 0.4)
    } else {
        ("positive", POSITIVE_COMMENTS, 0.5)
    };
    let comment = rng.random_bool(with_comment).then(|| pick(rng, bank));
    Some((rating, comment))
}

/// Counts written, for the summary line.
#[derive(Debug, Default)]
struct Totals {
    interactions: u64,
    feedback: u64,
    negative: u64,
}

fn create(path: &Path) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn run(args: &Args) -> Result<Totals, String> {
    if args.days == 0 {
        return Err("--days must be at least 1".to_string());
    }
    let start = dates::parse_date(&args.start).map_err(|e| format!("--start: {e}"))?;
    fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.out_dir.display()))?;
    let interactions_path = args.out_dir.join("interactions.jsonl");
    let feedback_path = args.out_dir.join("feedback.jsonl");
    let mut interactions_out = create(&interactions_path)?;
    let mut feedback_out = create(&feedback_path)?;
    let write_error =
        |path: &Path, e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());

    let mut rng = StdRng::seed_from_u64(args.seed);
    let n = args.interactions;
    let days = u64::from(args.days);
    let width = n.to_string().len().max(6);
    let users = (n / 4).max(1);
    let mut totals = Totals::default();
    let started = Instant::now();

    for i in 0..n {
        // Interactions are spread evenly over the days and, within a day,
        // along the traffic curve; each gets its own slot, so they stay sorted.
        let day = i * days / n;
        let first = (day * n).div_ceil(days);
        let next = ((day + 1) * n).div_ceil(days);
        let slot = (i - first) as f64 + rng.random::<f64>() * 0.9;
        let u = slot / (next - first).max(1) as f64;
        let day_number = start + day as i64;
        let seconds = day_number * 86_400 + second_of_day(u);
        let v2 = day >= v2_day(args.days);

        let scenario = Scenario::draw(&mut rng, v2);
        let generated = scenarios::generate(&mut rng, scenario, day_number, v2);

        let id = format!("int_{i:0width$}");
        let session_id = format!("ses_{i:0width$}");
        let user_id = format!("usr_{:04}", rng.random_range(0..users));
        let timestamp = dates::rfc3339(seconds);
        let record = InteractionRecord {
            id: &id,
            session_id: &session_id,
            user_id: &user_id,
            timestamp: &timestamp,
            config_version: if v2 { "v2" } else { "v1" },
            messages: &generated.conversation.messages,
            metadata: Metadata {
                channel: phrases::pick(&mut rng, CHANNELS),
                locale: phrases::pick(&mut rng, LOCALES),
            },
        };
        serde_json::to_writer(&mut interactions_out, &record)
            .map_err(|e| write_error(&interactions_path, &e))?;
        interactions_out
            .write_all(b"\n")
            .map_err(|e| write_error(&interactions_path, &e))?;
        totals.interactions += 1;

        if let Some((rating, comment)) = feedback(&mut rng, generated.verdict) {
            let delay = rng.random_range(30..5_400);
            let timestamp = dates::rfc3339(seconds + delay);
            let record = FeedbackRecord {
                interaction_id: &id,
                rating,
                comment,
                timestamp: &timestamp,
            };
            serde_json::to_writer(&mut feedback_out, &record)
                .map_err(|e| write_error(&feedback_path, &e))?;
            feedback_out
                .write_all(b"\n")
                .map_err(|e| write_error(&feedback_path, &e))?;
            totals.feedback += 1;
            totals.negative += u64::from(rating == "negative");
        }

        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "{} / {n} interactions written ({:.1}s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    interactions_out
        .flush()
        .map_err(|e| write_error(&interactions_path, &e))?;
    feedback_out
        .flush()
        .map_err(|e| write_error(&feedback_path, &e))?;
    Ok(totals)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(totals) => {
            eprintln!(
                "wrote {} interactions and {} feedback ({} negative) to {}",
                totals.interactions,
                totals.feedback,
                totals.negative,
                args.out_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reverie-generator: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_curve_is_monotonic_and_stays_within_the_day() {
        let mut last = -1;
        for k in 0..=1000 {
            let s = second_of_day(f64::from(k) / 1000.0);
            assert!(s >= last && (0..86_400).contains(&s));
            last = s;
        }
        // Busier at noon than at 3 am.
        assert!(second_of_day(0.5) > 10 * 3600);
    }

    #[test]
    fn same_seed_same_bytes_and_timestamps_in_order() {
        let dir =
            std::env::temp_dir().join(format!("reverie-generator-test-{}", std::process::id()));
        let args = |sub: &str, seed| Args {
            interactions: 500,
            out_dir: dir.join(sub),
            seed,
            start: "2026-10-26".to_string(),
            days: 28,
        };
        let read = |sub: &str, file: &str| {
            fs::read_to_string(dir.join(sub).join(file)).unwrap_or_default()
        };
        assert!(run(&args("a", 7)).is_ok());
        assert!(run(&args("b", 7)).is_ok());
        assert!(run(&args("c", 8)).is_ok());
        assert_eq!(
            read("a", "interactions.jsonl"),
            read("b", "interactions.jsonl")
        );
        assert_eq!(read("a", "feedback.jsonl"), read("b", "feedback.jsonl"));
        assert_ne!(
            read("a", "interactions.jsonl"),
            read("c", "interactions.jsonl")
        );

        let text = read("a", "interactions.jsonl");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(lines.len(), 500);
        let stamps: Vec<&str> = lines
            .iter()
            .filter_map(|v| v["timestamp"].as_str())
            .collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "timestamps sorted");
        assert!(stamps.first().is_some_and(|s| s.starts_with("2026-10-26")));
        assert!(stamps.last().is_some_and(|s| s.starts_with("2026-11-22")));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        let args = Args {
            interactions: 1,
            out_dir: std::env::temp_dir().join("reverie-generator-never"),
            seed: 1,
            start: "2026-13-01".to_string(),
            days: 28,
        };
        assert!(run(&args).is_err_and(|e| e.contains("--start")));
    }
}
