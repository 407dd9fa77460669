//! The language-model rules on a real model: what they are worth and what they
//! cost, on the help-desk example dataset (docs/BENCHMARKS.md, "Language models").
//!
//! Starts llama.cpp's server (`tests/llm/serve.py`, one thread) with
//! Qwen2.5-1.5B-Instruct Q4_K_M, then runs `reverie dream` twice over the same
//! window: the seven rules that need no model, and the same with `llm-judge` and
//! `llm-reflector` granted. It prints:
//!
//! - the judge's verdicts against the planted truth (an interaction is bad when
//!   it belongs to a planted mistake) and against people's explicit ratings
//!   (its calibration share);
//! - each reflector edit, with the planted mistake its problem matches
//!   (`reverie score`'s matching), for reading against the truth's description;
//! - tokens and seconds per judged interaction and per problem read;
//! - the dream's wall time without and with the two rules.
//!
//! Needs `tests/llm/setup.sh` and `tests/llm/fetch-qwen.sh` (1.1 GB, checked by
//! sha256); `REVERIE_LLM_MODEL` names another GGUF. `REVERIE_LLM_JUDGE_CALLS`
//! (default 40) and `REVERIE_LLM_REFLECT_PROBLEMS` (default 9) bound the
//! model's work: a 1.5B model on one shared core answers in tens of seconds.
//!
//! `cargo bench -p reverie --bench llm` (not run by CI).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const REVERIE: &str = env!("CARGO_BIN_EXE_reverie");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn start_server(model: &Path) -> (Server, String) {
    let setup = Command::new("bash")
        .arg(root().join("tests/llm/setup.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run tests/llm/setup.sh");
    assert!(setup.status.success(), "tests/llm/setup.sh failed");
    let python = String::from_utf8_lossy(&setup.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string();
    let mut child = Command::new(python)
        .arg(root().join("tests/llm/serve.py"))
        .args([
            "chat",
            "--port",
            "0",
            "--threads",
            "1",
            "--ctx",
            "8192",
            "--model",
        ])
        .arg(model)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the model server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the server's first line");
    let url = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the model server did not start: {line:?}"))
        .trim()
        .to_string();
    (Server(child), url)
}

fn dream(config: &str, out: &Path) -> Duration {
    let dir = root().join("examples/help-desk");
    let config_path = out.with_extension("toml");
    std::fs::write(&config_path, config).expect("write the config");
    let started = Instant::now();
    let status = Command::new(REVERIE)
        .arg("dream")
        .arg("--interactions")
        .arg(dir.join("interactions.jsonl"))
        .arg("--feedback")
        .arg(dir.join("feedback.jsonl"))
        .arg("--config")
        .arg(&config_path)
        .args([
            "--format",
            "json",
            "--evidence",
            "all",
            "--no-progress",
            "-o",
        ])
        .arg(out)
        .status()
        .expect("run reverie dream");
    assert!(status.success(), "reverie dream failed");
    started.elapsed()
}

const PLAIN_RULES: &str = "[[rules]]\nbuiltin = \"tool-failures\"\n[[rules]]\nbuiltin = \"retry-loops\"\n[[rules]]\nbuiltin = \"made-up-ids\"\n[[rules]]\nbuiltin = \"unconfirmed-actions\"\n[[rules]]\nbuiltin = \"corrections\"\n[[rules]]\nbuiltin = \"outcome-drivers\"\n[[rules]]\nbuiltin = \"feedback-themes\"\n";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let model = std::env::var("REVERIE_LLM_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"));
    assert!(
        model.is_file(),
        "{} is missing: run tests/llm/fetch-qwen.sh",
        model.display()
    );
    let judge_calls = env_number("REVERIE_LLM_JUDGE_CALLS", 40);
    let problems = env_number("REVERIE_LLM_REFLECT_PROBLEMS", 9);
    let out_dir = root().join("target/bench-data/llm");
    std::fs::create_dir_all(&out_dir).expect("create target/bench-data/llm");

    let plain_report = out_dir.join("plain.json");
    let plain_time = dream(PLAIN_RULES, &plain_report);

    let (_server, url) = start_server(&model);
    let config = format!(
        "[llm.providers.local]\napi = \"openai\"\nbase_url = \"{url}\"\nmodel = \"qwen\"\ntimeout = \"600s\"\n\n\
         [llm.dream_budget]\ncalls = 1000\ntime = \"6h\"\n\n{PLAIN_RULES}\
         [[rules]]\nbuiltin = \"llm-judge\"\nmax_log_lines = 2000\nsettings = {{ max_transcript_chars = 1500, calibration_share = 0.1, log_verdicts = true }}\n\
         [rules.llm]\nprovider = \"local\"\ncalls = {judge_calls}\ntime = \"5h\"\n\n\
         [[rules]]\nbuiltin = \"llm-reflector\"\nsettings = {{ max_problems = {problems}, per_problem = 1, unexplained_sample = 6, max_transcript_chars = 1200, max_prompt_chars = 2500 }}\n\
         [rules.llm]\nprovider = \"local\"\ncalls = {}\ntime = \"5h\"\n",
        problems * 2 + 2
    );
    let llm_report_path = out_dir.join("with-llm.json");
    let llm_time = dream(&config, &llm_report_path);

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&llm_report_path).expect("read the report"))
            .expect("a JSON report");
    let truth_text = std::fs::read_to_string(root().join("examples/help-desk/truth.json"))
        .expect("read the truth file");
    let truth: Value = serde_json::from_str(&truth_text).expect("truth JSON");
    let planted: HashSet<String> = truth["problems"]
        .as_array()
        .expect("planted problems")
        .iter()
        .flat_map(|p| p["interactions"].as_array().cloned().unwrap_or_default())
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    let rule = |name: &str| -> Value {
        report["rules"]
            .as_array()
            .and_then(|rules| rules.iter().find(|r| r["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };

    // The judge's verdicts, from its run log.
    let judge = rule("llm-judge");
    let mut verdicts: HashMap<String, String> = HashMap::new();
    for line in judge["log"].as_array().cloned().unwrap_or_default() {
        if line["message"] != "verdict" {
            continue;
        }
        let field = |k: &str| {
            line["fields"].as_array().and_then(|f| {
                f.iter()
                    .find(|pair| pair[0] == k)
                    .and_then(|pair| pair[1].as_str().map(str::to_string))
            })
        };
        if let (Some(id), Some(rating)) = (field("interaction"), field("rating")) {
            verdicts.insert(id, rating);
        }
    }
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (id, rating) in &verdicts {
        match (rating == "negative", planted.contains(id)) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    println!(
        "# Language-model rules on help-desk (2,000 interactions), {}",
        model.display()
    );
    println!();
    println!("## llm-judge: verdicts against the planted truth");
    println!();
    println!(
        "| judged | agree | negative & planted | negative & not planted | positive & not planted | positive & planted |"
    );
    println!("|---|---|---|---|---|---|");
    let judged = verdicts.len().max(1);
    println!(
        "| {} | {:.2} | {tp} | {fp} | {tn} | {fn_} |",
        verdicts.len(),
        (tp + tn) as f64 / judged as f64
    );
    let metric = |rule: &str, name: &str| {
        report["metrics"]["rules"].as_array().and_then(|m| {
            m.iter()
                .find(|m| m["rule"] == rule && m["name"] == name)
                .and_then(|m| m["value"].as_f64())
        })
    };
    println!();
    println!(
        "agreement with explicit ratings (calibration): {}",
        metric("llm-judge", "judge_agreement_with_explicit")
            .map_or("fewer than 5 pairs".to_string(), |v| format!("{v:.2}"))
    );

    // Cost per judged interaction and per problem read.
    println!();
    println!("## Cost");
    println!();
    println!("| rule | calls | input tokens | output tokens | seconds | per call: in / out / s |");
    println!("|---|---|---|---|---|---|");
    for name in ["llm-judge", "llm-reflector"] {
        let u = &rule(name)["llm"]["spent"];
        let calls = u["calls"].as_u64().unwrap_or(0);
        let i = u["input_tokens"].as_u64().unwrap_or(0);
        let o = u["output_tokens"].as_u64().unwrap_or(0);
        let s = u["time_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
        let per = calls.max(1) as f64;
        println!(
            "| {name} | {calls} | {i} | {o} | {s:.0} | {:.0} / {:.0} / {:.1} |",
            i as f64 / per,
            o as f64 / per,
            s / per
        );
    }
    println!();
    println!(
        "dream wall time: {:.1} s with the seven rules, {:.1} s with the judge and the reflector too",
        plain_time.as_secs_f64(),
        llm_time.as_secs_f64()
    );

    // The reflector's edits, with the planted mistake of their problem.
    let truth_parsed = reverie::score::read_truth("truth.json", &truth_text).expect("a truth file");
    let report_parsed = reverie::score::read_report(
        "with-llm.json",
        &std::fs::read_to_string(&llm_report_path).expect("read the report"),
    )
    .expect("a report");
    let score = reverie::score::score(&report_parsed, &truth_parsed);
    let mistake_of: HashMap<String, String> = score
        .planted
        .iter()
        .filter_map(|p| p.matched.clone().map(|k| (k, p.id.clone())))
        .collect();
    println!();
    println!("## llm-reflector: edits");
    println!();
    for s in report["suggestions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        if !s["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r == "llm-reflector"))
        {
            continue;
        }
        let problem = s["problem"].as_str().unwrap_or("-");
        println!(
            "- problem `{problem}` (planted: {}), {}, confidence {:.2}",
            mistake_of.get(problem).map_or("none", String::as_str),
            s["status"].as_str().unwrap_or("?"),
            s["confidence"].as_f64().unwrap_or(0.0)
        );
        println!("  - edit: {}", s["edit"]);
        println!("  - rationale: {}", s["rationale"].as_str().unwrap_or(""));
    }
    for line in rule("llm-reflector")["log"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        println!("  log: {} {}", line["message"], line["fields"]);
    }
}
