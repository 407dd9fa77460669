//! `reverie-generator`: writes a deterministic, realistic dataset in
//! reverie's JSONL input format, with a truth file of the mistakes planted in
//! it: the Trailhead Outfitters support bot (`--domain support-bot`, the
//! default) or the Halden & Rowe IT help desk (`--domain help-desk`).
//!
//! Output is streamed: one interaction is generated, written and dropped at a
//! time, so memory stays constant whatever `--interactions` is, apart from
//! the truth file's interaction numbers (see `truth`). The same arguments
//! always give byte-identical files (one seeded RNG, consumed in a fixed
//! order). The format and the planted mistakes are documented in
//! `examples/README.md`.

mod dates;
mod domain;
mod help_desk;
mod record;
mod support_bot;
mod text;
mod traffic;
mod truth;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::{Domain, FeedbackWords, Slot, Verdict};
use crate::record::{FeedbackRecord, InteractionRecord, Metadata};
use crate::truth::Truth;

/// Generate an example dataset for reverie, with its truth file.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Which dataset: the outdoor shop's support bot or the IT help desk.
    #[arg(long, value_enum, default_value_t = Domain::SupportBot)]
    domain: Domain,
    /// Number of interactions to write [default: 2400 for support-bot, 2000 for help-desk].
    #[arg(long)]
    interactions: Option<u64>,
    /// Directory for interactions.jsonl, feedback.jsonl and truth.json (created if missing).
    #[arg(long)]
    out_dir: PathBuf,
    /// RNG seed: the same seed and arguments give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First day of the window (UTC), YYYY-MM-DD [default: 2026-10-26 for support-bot,
    /// 2027-02-01 for help-desk].
    #[arg(long)]
    start: Option<String>,
    /// Length of the window in days (1 to 3660).
    #[arg(long, default_value_t = 28)]
    days: u32,
}

/// Day (from the start) on which config `v2` goes live: day 18 of a 28-day
/// window, scaled for other lengths.
fn v2_day(days: u32) -> u64 {
    u64::from(days) * 18 / 28
}

/// What explicit feedback an interaction gets, if any: (rating, comment).
fn feedback(
    rng: &mut StdRng,
    verdict: Verdict,
    words: &FeedbackWords,
) -> Option<(&'static str, Option<&'static str>)> {
    let (rate, negative, neutral, bank): (f64, f64, f64, &[&str]) = match verdict {
        Verdict::Good => (0.11, 0.05, 0.09, words.unrelated_negative),
        Verdict::Meh(bank) => (0.2, 0.45, 0.35, bank),
        Verdict::Bad(bank) => (0.4, 0.88, 0.08, bank),
        Verdict::Disliked(bank) => (0.7, 0.85, 0.07, bank),
    };
    // A disliked interaction is mostly rated with a thumb, not a comment.
    let negative_comment = if matches!(verdict, Verdict::Disliked(_)) {
        0.35
    } else {
        0.85
    };
    if !rng.random_bool(rate) {
        return None;
    }
    let x: f64 = rng.random();
    let (rating, bank, with_comment) = if x < negative {
        ("negative", bank, negative_comment)
    } else if x < negative + neutral {
        ("neutral", words.neutral, 0.4)
    } else {
        ("positive", words.positive, 0.5)
    };
    let comment = rng.random_bool(with_comment).then(|| text::pick(rng, bank));
    Some((rating, comment))
}

/// Counts written, for the summary line.
#[derive(Debug, Default)]
struct Totals {
    interactions: u64,
    feedback: u64,
    negative: u64,
    /// (problem id, planted, traced), when a truth file was written.
    truth: Vec<(&'static str, usize, usize)>,
}

fn create(path: &Path) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn run(args: &Args) -> Result<Totals, String> {
    run_with_truth_limit(args, truth::MAX_INTERACTIONS)
}

/// [`run`], writing a truth file only up to `truth_limit` interactions.
fn run_with_truth_limit(args: &Args, truth_limit: u64) -> Result<Totals, String> {
    if !(1..=3660).contains(&args.days) {
        return Err("--days must be between 1 and 3660".to_string());
    }
    let profile = args.domain.profile();
    let start = args.start.as_deref().unwrap_or(profile.default_start);
    let start = dates::parse_date(start).map_err(|e| format!("--start: {e}"))?;
    fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.out_dir.display()))?;
    let interactions_path = args.out_dir.join("interactions.jsonl");
    let feedback_path = args.out_dir.join("feedback.jsonl");
    let truth_path = args.out_dir.join("truth.json");
    let mut interactions_out = create(&interactions_path)?;
    let mut feedback_out = create(&feedback_path)?;
    let write_error =
        |path: &Path, e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());

    let mut rng = StdRng::seed_from_u64(args.seed);
    let n = args.interactions.unwrap_or(profile.default_interactions);
    let width = n.to_string().len().max(6);
    let users = args.domain.users(n);
    let weights = (0..i64::from(args.days)).map(|d| {
        if dates::is_weekend(start + d) {
            profile.weekend_weight
        } else {
            profile.weekday_weight
        }
    });
    let mut days = traffic::Days::new(weights, n);
    let mut truth = (n <= truth_limit).then(|| Truth::new(profile.problems));
    let mut totals = Totals::default();
    let started = Instant::now();

    for i in 0..n {
        // Interactions are spread over the days by weight and, within a day,
        // along the traffic curve; each gets its own slot, so they stay sorted.
        let placed = days.place(i);
        let slot = (i - placed.first) as f64 + rng.random::<f64>() * 0.9;
        let u = slot / (placed.next - placed.first).max(1) as f64;
        let day_number = start + placed.day as i64;
        let seconds = day_number * 86_400 + traffic::second_of_day(profile.hourly_traffic, u);
        let v2 = placed.day >= v2_day(args.days);

        let slot = Slot {
            day: day_number,
            window_day: placed.day,
            v2,
            users,
        };
        let generated = args.domain.generate(&mut rng, &slot);

        let id = format!("{}_{i:0width$}", profile.interaction_prefix);
        let session_id = format!("{}_{i:0width$}", profile.session_prefix);
        let timestamp = dates::rfc3339(seconds);
        let record = InteractionRecord {
            id: &id,
            session_id: &session_id,
            user_id: &generated.user_id,
            timestamp: &timestamp,
            config_version: if v2 { "v2" } else { "v1" },
            messages: &generated.messages,
            metadata: Metadata {
                channel: generated.channel,
                locale: generated.locale,
            },
        };
        serde_json::to_writer(&mut interactions_out, &record)
            .map_err(|e| write_error(&interactions_path, &e))?;
        interactions_out
            .write_all(b"\n")
            .map_err(|e| write_error(&interactions_path, &e))?;
        totals.interactions += 1;

        let given = feedback(&mut rng, generated.verdict, &profile.feedback);
        if let Some((rating, comment)) = given {
            let delay = rng.random_range(generated.feedback_delay.clone());
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
        if let (Some(truth), Some(planted)) = (truth.as_mut(), generated.planted) {
            // On an interaction with a mistake that the user noticed (a
            // `Bad` or `Meh` verdict), a negative comment comes from that
            // mistake's bank: it is about the mistake. A `Good` verdict's
            // negative comments are the unrelated noise, and a rating without
            // a comment says nothing a rule could tie to the mistake.
            // A mistake traced by ratings (`Planted::rated`) counts any
            // negative rating, comment or not.
            let noticed = !matches!(generated.verdict, Verdict::Good);
            let about_it = noticed
                && match given {
                    Some(("negative", comment)) => comment.is_some() || planted.rated,
                    _ => false,
                };
            truth.record(i, planted, about_it)?;
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

    match truth {
        Some(truth) => {
            let mut out = create(&truth_path)?;
            let id = |i: u64| format!("{}_{i:0width$}", profile.interaction_prefix);
            truth
                .write(&mut out, profile.name, n, &id)
                .map_err(|e| write_error(&truth_path, &e))?;
            out.write_all(b"\n")
                .and_then(|()| out.flush())
                .map_err(|e| write_error(&truth_path, &e))?;
            totals.truth = truth.counts().collect();
        }
        None => {
            // A truth file left from a smaller run would describe other data.
            match fs::remove_file(&truth_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("cannot remove {}: {e}", truth_path.display())),
            }
            eprintln!("no truth.json: more than {truth_limit} interactions");
        }
    }
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
            for (problem, planted, traced) in &totals.truth {
                eprintln!("  {problem}: {planted} planted, {traced} traced");
            }
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
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn args(domain: Domain, out_dir: PathBuf, interactions: Option<u64>, seed: u64) -> Args {
        Args {
            domain,
            interactions,
            out_dir,
            seed,
            start: None,
            days: 28,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("reverie-generator-{name}-{}", std::process::id()))
    }

    fn read(dir: &Path, file: &str) -> String {
        fs::read_to_string(dir.join(file)).unwrap_or_default()
    }

    fn json_lines(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn strings(value: &serde_json::Value) -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// What a person scoring a report relies on: every id in the truth file
    /// is an interaction of the dataset, listed in window order, traced ids
    /// are planted ids, no interaction carries two problems, and "not traced"
    /// means the logs really show nothing (no failed call, no negative
    /// comment), while a traced one shows a failed call, a negative comment
    /// or a user message after the agent's answer.
    fn check_truth(domain: Domain, dir: &Path, interactions: usize) {
        let profile = domain.profile();
        let lines = json_lines(&read(dir, "interactions.jsonl"));
        assert_eq!(lines.len(), interactions);
        let order: HashMap<&str, usize> = lines
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v["id"].as_str().map(|id| (id, k)))
            .collect();
        let commented: HashSet<String> = json_lines(&read(dir, "feedback.jsonl"))
            .iter()
            .filter(|f| f["rating"] == "negative" && f["comment"].is_string())
            .filter_map(|f| f["interaction_id"].as_str().map(str::to_string))
            .collect();
        let failed = |k: usize| {
            lines[k]["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["is_error"] == true))
        };

        let truth: serde_json::Value =
            serde_json::from_str(&read(dir, "truth.json")).unwrap_or_default();
        assert_eq!(truth["schema"], "reverie.truth/v1");
        assert_eq!(truth["dataset"], profile.name);
        assert_eq!(truth["interactions"], interactions);
        let problems = truth["problems"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&str> = problems.iter().filter_map(|p| p["id"].as_str()).collect();
        let declared: Vec<&str> = profile.problems.iter().map(|p| p.id).collect();
        assert_eq!(ids, declared);

        let mut seen = HashSet::new();
        for problem in &problems {
            seen.extend(strings(&problem["interactions"]));
        }
        // Every failed call belongs to a planted problem, except the rare
        // `not found` both datasets carry as noise and the help desk's
        // ticket references that `get_ticket_status` refuses once (the
        // agent then asks for the right number: never the same call again).
        let noise = ["not found", "invalid ticket_id", "403 forbidden"];
        for (k, line) in lines.iter().enumerate() {
            let id = line["id"].as_str().unwrap_or_default();
            if failed(k) && !seen.contains(id) {
                let messages = line["messages"].as_array().cloned().unwrap_or_default();
                let errors: Vec<&str> = messages
                    .iter()
                    .filter(|m| m["is_error"] == true)
                    .filter_map(|m| m["content"].as_str())
                    .collect();
                assert!(
                    errors
                        .iter()
                        .all(|e| noise.iter().any(|n| e.starts_with(n))),
                    "{id}: {errors:?} is in no problem"
                );
                assert_eq!(errors.len(), 1, "{id}: noise fails once");
            }
        }
        let rated_negative: HashSet<String> = json_lines(&read(dir, "feedback.jsonl"))
            .iter()
            .filter(|f| f["rating"] == "negative")
            .filter_map(|f| f["interaction_id"].as_str().map(str::to_string))
            .collect();
        // Mistakes traced by ratings: any negative rating is their trace.
        let by_rating = ["needless-transfer-to-human"];
        let mut seen = HashSet::new();
        for problem in &problems {
            let planted = strings(&problem["interactions"]);
            let traced = strings(&problem["traced"]);
            assert!(!planted.is_empty(), "{}: nothing planted", problem["id"]);
            let positions: Vec<usize> = planted
                .iter()
                .map(|id| order.get(id.as_str()).copied())
                .collect::<Option<_>>()
                .unwrap_or_else(|| panic!("{}: an id not in the dataset", problem["id"]));
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "window order");
            let planted_set: HashSet<&String> = planted.iter().collect();
            assert!(
                traced.iter().all(|id| planted_set.contains(id)),
                "traced ⊆ planted"
            );
            for id in &planted {
                assert!(seen.insert(id.clone()), "{id} carries two problems");
                let k = order[id.as_str()];
                if traced.contains(id) {
                    let reacted = lines[k]["messages"]
                        .as_array()
                        .is_some_and(|m| m.iter().filter(|m| m["role"] == "user").count() > 1);
                    let rated = by_rating.contains(&problem["id"].as_str().unwrap_or_default())
                        && rated_negative.contains(id);
                    assert!(
                        failed(k) || commented.contains(id) || reacted || rated,
                        "{id} is traced but shows nothing"
                    );
                } else {
                    assert!(!failed(k), "{id} has a failed call but is not traced");
                    if by_rating.contains(&problem["id"].as_str().unwrap_or_default()) {
                        assert!(
                            !rated_negative.contains(id),
                            "{id} is rated down but not traced"
                        );
                    }
                    assert!(
                        !commented.contains(id),
                        "{id} has a negative comment but is not traced"
                    );
                }
            }
        }
    }

    /// Both committed examples regenerate byte for byte with the documented
    /// commands, truth file included.
    #[test]
    fn the_committed_datasets_regenerate_byte_for_byte() {
        for (domain, interactions) in [(Domain::SupportBot, 2400), (Domain::HelpDesk, 2000)] {
            let name = domain.profile().name;
            let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
            let dir = scratch(&format!("committed-{name}"));
            let result = run(&args(domain, dir.clone(), Some(interactions), 1));
            assert!(result.is_ok(), "{result:?}");
            for file in ["interactions.jsonl", "feedback.jsonl", "truth.json"] {
                assert!(
                    read(&dir, file) == read(&committed, file),
                    "{file} differs from examples/{name}/{file}"
                );
            }
            check_truth(domain, &dir, interactions as usize);
            let _ = fs::remove_dir_all(&dir);
        }
    }

    /// The committed help desk carries each of its newer mistakes (e to i)
    /// in 3 to 5% of interactions, as documented, and traces them as
    /// `examples/README.md` says: e, f, g and h always (a failed call
    /// repeated, an argument nothing gave, a failed call, an extra change),
    /// i through its ratings, for most but not all of them.
    #[test]
    fn the_help_desk_plants_its_newer_mistakes_in_three_to_five_percent() {
        let dir = scratch("help-desk-shares");
        let result = run(&args(Domain::HelpDesk, dir.clone(), Some(2000), 1));
        let totals = result.unwrap_or_default();
        let counts: HashMap<&str, (usize, usize)> = totals
            .truth
            .iter()
            .map(|(id, planted, traced)| (*id, (*planted, *traced)))
            .collect();
        for id in [
            "repeated-failing-call",
            "made-up-asset-tag",
            "kb-search-fails-for-many-filters",
            "unrequested-ticket-close",
            "needless-transfer-to-human",
        ] {
            let (planted, traced) = counts.get(id).copied().unwrap_or_default();
            assert!((60..=100).contains(&planted), "{id}: {planted} planted");
            if id == "needless-transfer-to-human" {
                assert!(
                    traced * 2 > planted && traced < planted,
                    "{id}: {traced} of {planted} traced"
                );
            } else {
                assert_eq!(traced, planted, "{id}");
            }
        }
        // The older four keep roughly their documented sizes.
        for (id, low, high) in [
            ("employee-id-as-typed", 130, 200),
            ("wrong-laptop-shipping-time", 80, 130),
            ("action-without-confirmation", 85, 140),
            ("ticket-backend-outage", 20, 50),
        ] {
            let (planted, _) = counts.get(id).copied().unwrap_or_default();
            assert!((low..=high).contains(&planted), "{id}: {planted} planted");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    /// What a rule reading the structure of the calls alone would see in
    /// the committed help desk: a failed call made again unchanged (a
    /// transient outage error aside: one retry of a 503 or a timeout is
    /// fair), a `search_kb` call with 3 or more filters, a `close_ticket` in
    /// the same turn as another change (after the one yes that was for the
    /// other), a `lookup_asset` tag that nothing before the call contains. Each shows in exactly the interactions where
    /// its mistake was planted, and a needless transfer always has its call.
    #[test]
    fn each_newer_mistake_shows_in_the_calls_of_exactly_its_planted_interactions() {
        let dir = scratch("help-desk-structure");
        assert!(run(&args(Domain::HelpDesk, dir.clone(), Some(2000), 1)).is_ok());
        let truth: serde_json::Value =
            serde_json::from_str(&read(&dir, "truth.json")).unwrap_or_default();
        let planted = |id: &str| -> HashSet<String> {
            let problems = truth["problems"].as_array().cloned().unwrap_or_default();
            let problem = problems.iter().find(|p| p["id"] == id);
            problem
                .map(|p| strings(&p["interactions"]).into_iter().collect())
                .unwrap_or_default()
        };
        let mut seen: HashMap<&str, HashSet<String>> = HashMap::new();
        for line in json_lines(&read(&dir, "interactions.jsonl")) {
            let id = line["id"].as_str().unwrap_or_default().to_string();
            let messages = line["messages"].as_array().cloned().unwrap_or_default();
            // (message index, tool, arguments, error)
            let mut calls: Vec<(usize, String, serde_json::Value, Option<String>)> = Vec::new();
            for (k, m) in messages.iter().enumerate() {
                for call in m["tool_calls"].as_array().into_iter().flatten() {
                    let result = messages.iter().find(|r| r["tool_call_id"] == call["id"]);
                    let error = result
                        .filter(|r| r["is_error"] == true)
                        .and_then(|r| r["content"].as_str())
                        .map(str::to_string);
                    let args = call["function"]["arguments"].as_str().unwrap_or_default();
                    let name = call["function"]["name"].as_str().unwrap_or_default();
                    let args = serde_json::from_str(args).unwrap_or_default();
                    calls.push((k, name.to_string(), args, error));
                }
            }
            let said_before = |k: usize, text: &str, roles: &[&str]| {
                messages[..k].iter().any(|m| {
                    roles.contains(&m["role"].as_str().unwrap_or_default())
                        && m["content"].as_str().is_some_and(|c| c.contains(text))
                })
            };
            let transient = |e: &str| {
                ["503", "timeout", "upstream"]
                    .iter()
                    .any(|t| e.starts_with(t))
            };
            let mut mark = |mistake: &'static str| {
                seen.entry(mistake).or_default().insert(id.clone());
            };
            if calls.windows(2).any(|w| {
                w[0].3.as_deref().is_some_and(|e| !transient(e))
                    && (&w[0].1, &w[0].2, &w[0].3) == (&w[1].1, &w[1].2, &w[1].3)
            }) {
                mark("repeated-failing-call");
            }
            for (k, name, args, _) in &calls {
                let filters = args["filters"].as_array().map_or(0, Vec::len);
                if name == "search_kb" && filters >= 3 {
                    mark("kb-search-fails-for-many-filters");
                }
                let turn = messages[..*k]
                    .iter()
                    .rposition(|m| m["role"] == "user")
                    .unwrap_or_default();
                let changed_in_turn = calls
                    .iter()
                    .any(|(j, other, _, _)| *j > turn && j < k && other == "create_ticket");
                if name == "close_ticket" && changed_in_turn {
                    mark("unrequested-ticket-close");
                }
                let tag = args["asset_tag"].as_str();
                let all = ["system", "user", "assistant", "tool"];
                if name == "lookup_asset" && tag.is_some_and(|t| !said_before(*k, t, &all)) {
                    mark("made-up-asset-tag");
                }
                if name == "transfer_to_human" {
                    mark("transfer");
                }
            }
        }
        for mistake in [
            "repeated-failing-call",
            "kb-search-fails-for-many-filters",
            "unrequested-ticket-close",
            "made-up-asset-tag",
        ] {
            let found = seen.remove(mistake).unwrap_or_default();
            assert_eq!(found, planted(mistake), "{mistake}");
        }
        let transfers = seen.remove("transfer").unwrap_or_default();
        let needless = planted("needless-transfer-to-human");
        assert!(needless.is_subset(&transfers));
        assert!(
            transfers.len() > needless.len() + 20,
            "rightful transfers too"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    /// An employee is the same person every time: one user id always looks
    /// up one employee id, and two users never share one.
    #[test]
    fn a_help_desk_user_always_has_the_same_employee_id() {
        let dir = scratch("employees");
        assert!(run(&args(Domain::HelpDesk, dir.clone(), Some(1500), 3)).is_ok());
        let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
        for line in json_lines(&read(&dir, "interactions.jsonl")) {
            let user = line["user_id"].as_str().unwrap_or_default().to_string();
            let messages = line["messages"].as_array().cloned().unwrap_or_default();
            for (k, m) in messages.iter().enumerate() {
                let calls = m["tool_calls"].as_array().into_iter().flatten();
                for call in calls.filter(|c| c["function"]["name"] == "lookup_employee") {
                    let args = call["function"]["arguments"].as_str().unwrap_or_default();
                    let args: serde_json::Value = serde_json::from_str(args).unwrap_or_default();
                    let ok = messages.get(k + 1).is_some_and(|r| r["is_error"] != true);
                    if let (true, Some(id)) = (ok, args["employee_id"].as_str()) {
                        ids.entry(user.clone()).or_default().insert(id.to_string());
                    }
                }
            }
        }
        assert!(ids.len() > 200, "{} users looked up", ids.len());
        assert!(ids.values().all(|set| set.len() == 1));
        let distinct: HashSet<&String> = ids.values().flatten().collect();
        assert_eq!(distinct.len(), ids.len());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn same_seed_same_bytes_and_timestamps_in_order() {
        let dir = scratch("determinism");
        for domain in [Domain::SupportBot, Domain::HelpDesk] {
            let name = domain.profile().name;
            let at = |sub: &str| dir.join(format!("{name}-{sub}"));
            for (sub, seed) in [("a", 7), ("b", 7), ("c", 8)] {
                let result = run(&args(domain, at(sub), Some(600), seed));
                assert!(result.is_ok(), "{result:?}");
            }
            for file in ["interactions.jsonl", "feedback.jsonl", "truth.json"] {
                assert_eq!(read(&at("a"), file), read(&at("b"), file), "{name} {file}");
            }
            assert_ne!(
                read(&at("a"), "interactions.jsonl"),
                read(&at("c"), "interactions.jsonl")
            );
            check_truth(domain, &at("c"), 600);

            let lines = json_lines(&read(&at("a"), "interactions.jsonl"));
            let stamps: Vec<&str> = lines
                .iter()
                .filter_map(|v| v["timestamp"].as_str())
                .collect();
            assert_eq!(stamps.len(), 600);
            assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "timestamps sorted");
            let start = domain.profile().default_start;
            assert!(stamps.first().is_some_and(|s| s.starts_with(start)));
        }
        let _ = fs::remove_dir_all(&dir);
    }

    /// Past the truth limit no truth file is written, and none is left
    /// behind from an earlier, smaller run into the same directory.
    #[test]
    fn a_stale_truth_file_is_removed_when_none_is_written() {
        let dir = scratch("stale-truth");
        let small = args(Domain::SupportBot, dir.clone(), Some(50), 1);
        assert!(run(&small).is_ok());
        assert!(dir.join("truth.json").exists());
        let result = run_with_truth_limit(&small, 49);
        assert!(result.is_ok_and(|totals| totals.truth.is_empty()));
        assert!(!dir.join("truth.json").exists());
        assert_eq!(json_lines(&read(&dir, "interactions.jsonl")).len(), 50);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        let mut bad = args(Domain::SupportBot, scratch("never"), Some(1), 1);
        bad.start = Some("2026-13-01".to_string());
        assert!(run(&bad).is_err_and(|e| e.contains("--start")));
        let mut bad = args(Domain::SupportBot, scratch("never"), Some(1), 1);
        bad.days = 0;
        assert!(run(&bad).is_err_and(|e| e.contains("--days")));
    }
}
