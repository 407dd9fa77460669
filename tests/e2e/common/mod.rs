//! Helpers shared by the end-to-end tests.
//!
//! - [`fixture`] builds the hostile rules of `tests/fixtures` (once per test process) and gives
//!   the path of one component;
//! - [`Dataset`] writes interactions and feedback in the input format to a temporary folder;
//! - [`Dream`] runs `reverie dream` on a dataset with a fresh cache folder, and either parses
//!   the JSON report or returns the failure's exit code and stderr;
//! - the report helpers find a rule, a pattern or a metric, with messages that show the report
//!   when something is missing.

#![allow(dead_code)] // each test module uses its own subset

pub mod model_server;
pub mod server;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

/// The binary under test.
pub const REVERIE: &str = env!("CARGO_BIN_EXE_reverie");

/// `reverie …` with none of the environment variables that would change where it goes.
pub fn reverie() -> Command {
    let mut command = Command::new(REVERIE);
    command
        .env_remove("REVERIE_URL")
        .env_remove("REVERIE_API_KEY")
        .env_remove("REVERIE_DATA_DIR");
    command
}

/// How long one `reverie dream` over a test dataset may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The main workspace (the parent of `host/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the fixture workspace once per test process and returns the folder of its `.wasm`s.
fn fixture_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build_fixtures) {
        Ok(dir) => dir,
        Err(message) => panic!("{message}"),
    }
}

fn build_fixtures() -> Result<PathBuf, String> {
    let root = workspace_root();
    let manifest = root.join("tests/fixtures/Cargo.toml");
    let target_dir = root.join("target/fixtures");
    let output = Command::new(env!("CARGO"))
        .args(["build", "-j", "1", "--release", "--target", "wasm32-wasip2"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        // The host's build settings must not leak into the guests' build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo to build the fixtures: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the fixtures ({}) failed with {}:\n{}",
            manifest.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}

/// The component of the fixture crate `name` (e.g. `loop-forever`), built if needed.
pub fn fixture(name: &str) -> PathBuf {
    let path = fixture_dir().join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "fixture {name} was not built: {} is missing",
        path.display()
    );
    path
}

/// A TOML string literal holding `path`.
pub fn toml_path(path: &Path) -> String {
    toml_string(&path.display().to_string())
}

/// A TOML basic string holding `text`.
pub fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `[[rules]]` entry running fixture `name`, followed by `extra` lines (limits, settings).
pub fn fixture_rule(name: &str, extra: &str) -> String {
    format!("[[rules]]\npath = {}\n{extra}\n", toml_path(&fixture(name)))
}

/// The bystanders of every hostile test: the `well-behaved` fixture and the built-in
/// `tool-failures` rule.
pub fn bystanders() -> String {
    format!(
        "{}[[rules]]\nbuiltin = \"tool-failures\"\n",
        fixture_rule("well-behaved", "")
    )
}

/// A config running `hostile` (one or more `[[rules]]` entries) beside the bystanders, over
/// chunks of 10 interactions so a rule that fails on the first chunk leaves several to go.
pub fn hostile_config(hostile: &str) -> String {
    format!("[cycle]\nchunk_size = 10\n\n{hostile}\n{}", bystanders())
}

/// Interactions and feedback files in a temporary folder.
pub struct Dataset {
    dir: TempDir,
    pub interactions: PathBuf,
    pub feedback: PathBuf,
    /// How many interaction lines were written.
    pub count: usize,
}

/// How many interactions [`Dataset::standard`] has.
pub const STANDARD_INTERACTIONS: usize = 36;

/// Interaction `n` (1-based) of the standard dataset: a support bot looking up orders; every
/// third lookup times out, and the bot apologises.
pub fn interaction(n: usize) -> Value {
    let order = 100 + n;
    let failed = n.is_multiple_of(3);
    let call_id = format!("call_{n}");
    let tool_result = if failed {
        json!({"role": "tool", "tool_call_id": call_id, "content": "upstream timeout after 30s", "is_error": true})
    } else {
        json!({"role": "tool", "tool_call_id": call_id, "content": format!("{{\"order_id\":\"{order}\",\"status\":\"shipped\"}}")})
    };
    let answer = if failed {
        "Sorry, I could not reach the order system. Please try again later.".to_string()
    } else {
        format!("Your order {order} has shipped.")
    };
    json!({
        "id": format!("int_{n}"),
        "session_id": format!("ses_{}", n.div_ceil(2)),
        "user_id": format!("user_{}", n % 7),
        "timestamp": format!("2026-10-27T09:{:02}:{:02}Z", n / 60, n % 60),
        "config_version": "v1",
        "messages": [
            {"role": "system", "content": "You are a support bot for an online shop."},
            {"role": "user", "content": format!("where is my order {order}?")},
            {"role": "assistant", "content": "", "tool_calls": [{
                "id": call_id,
                "type": "function",
                "function": {"name": "lookup_order", "arguments": format!("{{\"order_id\":\"{order}\"}}")}
            }]},
            tool_result,
            {"role": "assistant", "content": answer}
        ],
        "metadata": {"channel": "chat"}
    })
}

/// Feedback on interaction `n` of the standard dataset, if it has any: failed lookups get a
/// thumbs-down, every fourth interaction a thumbs-up.
pub fn feedback(n: usize) -> Option<Value> {
    if n.is_multiple_of(3) {
        Some(
            json!({"interaction_id": format!("int_{n}"), "rating": "negative", "comment": "slow, and it could not find my order"}),
        )
    } else if n.is_multiple_of(4) {
        Some(json!({"interaction_id": format!("int_{n}"), "rating": "positive"}))
    } else {
        None
    }
}

impl Dataset {
    /// The standard dataset: [`STANDARD_INTERACTIONS`] interactions and their feedback.
    pub fn standard() -> Self {
        let interactions: Vec<String> = (1..=STANDARD_INTERACTIONS)
            .map(|n| interaction(n).to_string())
            .collect();
        let feedback: Vec<String> = (1..=STANDARD_INTERACTIONS)
            .filter_map(feedback)
            .map(|f| f.to_string())
            .collect();
        Self::from_lines(&interactions, &feedback)
    }

    /// A dataset of exactly these lines.
    pub fn from_lines(interactions: &[String], feedback: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary folder for the dataset");
        let interactions_path = dir.path().join("interactions.jsonl");
        let feedback_path = dir.path().join("feedback.jsonl");
        write_lines(&interactions_path, interactions);
        write_lines(&feedback_path, feedback);
        Self {
            dir,
            interactions: interactions_path,
            feedback: feedback_path,
            count: interactions.len(),
        }
    }

    /// The folder holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut file = File::create(path).expect("create a dataset file");
    for line in lines {
        writeln!(file, "{line}").expect("write a dataset line");
    }
}

/// One `reverie dream` run on a dataset, with its own temporary cache folder.
pub struct Dream {
    work: TempDir,
    command: Command,
    /// `--cache-dir`: a fresh one per run unless the test names one.
    cache: PathBuf,
}

/// What a finished run left.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Dream {
    /// `reverie dream --interactions … --feedback … --format json --no-progress --cache-dir …`.
    pub fn new(data: &Dataset) -> Self {
        let work = tempfile::tempdir().expect("create a temporary folder for the run");
        let mut command = Command::new(REVERIE);
        command
            .arg("dream")
            .arg("--interactions")
            .arg(&data.interactions)
            .arg("--feedback")
            .arg(&data.feedback)
            .args(["--format", "json", "--no-progress"])
            .stdin(Stdio::null());
        let cache = work.path().join("cache");
        Self {
            work,
            command,
            cache,
        }
    }

    /// Compile rules through this cache rather than a fresh one.
    pub fn cache_dir(mut self, dir: &Path) -> Self {
        self.cache = dir.to_path_buf();
        self
    }

    /// Write `toml` to a config file and pass it with `--config`.
    pub fn config(mut self, toml: &str) -> Self {
        let path = self.work.path().join("reverie.toml");
        std::fs::write(&path, toml).expect("write the config file");
        self.command.arg("--config").arg(path);
        self
    }

    /// One more argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.command.arg(arg);
        self
    }

    /// Set an environment variable of the host process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Run to the end (or [`RUN_LIMIT`], which fails the test).
    pub fn run(mut self) -> Outcome {
        let stdout_path = self.work.path().join("stdout");
        let stderr_path = self.work.path().join("stderr");
        let started = Instant::now();
        self.command.arg("--cache-dir").arg(&self.cache);
        let mut child = self
            .command
            .stdout(File::create(&stdout_path).expect("create the stdout file"))
            .stderr(File::create(&stderr_path).expect("create the stderr file"))
            .spawn()
            .expect("start reverie");
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for reverie") {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "reverie dream did not finish within {RUN_LIMIT:?}; stderr:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = started.elapsed();
        Outcome {
            status,
            stdout: std::fs::read_to_string(&stdout_path).expect("read reverie's stdout"),
            stderr: std::fs::read_to_string(&stderr_path).expect("read reverie's stderr"),
            elapsed,
        }
    }

    /// Run, expect success (exit 0) and return the parsed JSON report.
    pub fn report(self) -> Value {
        self.run().report()
    }

    /// Run, expect failure (non-zero exit) and return stderr.
    pub fn fails(self) -> String {
        let outcome = self.run();
        assert!(
            !outcome.status.success(),
            "reverie dream was expected to fail but exited with {}; stdout:\n{}\nstderr:\n{}",
            outcome.status,
            outcome.stdout,
            outcome.stderr
        );
        assert!(
            !outcome.stderr.contains("panicked at"),
            "reverie dream failed by panicking instead of with a readable message:\n{}",
            outcome.stderr
        );
        outcome.stderr
    }
}

impl Outcome {
    /// Expect exit 0 and return the parsed JSON report.
    pub fn report(&self) -> Value {
        assert!(
            self.status.success(),
            "reverie dream exited with {}; stderr:\n{}",
            self.status,
            self.stderr
        );
        let report: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "reverie dream's stdout is not a JSON report ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        assert_eq!(
            report["schema"], "reverie.report/v2",
            "unexpected report schema"
        );
        report
    }
}

/// The names and statuses of the report's rules, for failure messages.
fn rule_summary(report: &Value) -> String {
    serde_json::to_string_pretty(&report["rules"]).unwrap_or_default()
}

/// The report's entry for the rule named `name`.
pub fn rule<'a>(report: &'a Value, name: &str) -> &'a Value {
    find_rule(report, name).unwrap_or_else(|| {
        panic!(
            "the report has no rule named {name:?}; its rules:\n{}",
            rule_summary(report)
        )
    })
}

/// The report's entry for the rule named `name`, if there is one.
pub fn find_rule<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["rules"]
        .as_array()
        .expect("the report has a `rules` list")
        .iter()
        .find(|r| r["name"] == name)
}

/// Assert that rule `name` ran fine.
pub fn assert_ok(report: &Value, name: &str) {
    let entry = rule(report, name);
    assert_eq!(
        entry["status"], "ok",
        "rule {name} was expected to succeed; its entry:\n{entry:#}"
    );
    assert!(
        entry["failure"].is_null(),
        "rule {name} succeeded but carries a failure:\n{entry:#}"
    );
}

/// Assert that rule `name` failed with `kind`; return the failure message.
pub fn assert_failed(report: &Value, name: &str, kind: &str) -> String {
    let entry = rule(report, name);
    assert_eq!(
        entry["status"], "failed",
        "rule {name} was expected to fail; its entry:\n{entry:#}"
    );
    assert_eq!(
        entry["failure"]["kind"], kind,
        "rule {name} failed for the wrong reason; its entry:\n{entry:#}"
    );
    entry["failure"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("rule {name}'s failure has no message:\n{entry:#}"))
        .to_string()
}

/// The rule's pattern with `key` (a facet of one of the report's problems), if any.
pub fn pattern<'a>(report: &'a Value, key: &str) -> Option<&'a Value> {
    report["problems"]
        .as_array()
        .expect("the report has a `problems` list")
        .iter()
        .flat_map(|p| p["facets"].as_array().into_iter().flatten())
        .find(|f| f["key"] == key)
}

/// The value of metric `name` reported by rule `rule`.
pub fn metric(report: &Value, rule: &str, name: &str) -> f64 {
    report["metrics"]["rules"]
        .as_array()
        .expect("the report has a `metrics.rules` list")
        .iter()
        .find(|m| m["rule"] == rule && m["name"] == name)
        .and_then(|m| m["value"].as_f64())
        .unwrap_or_else(|| {
            panic!(
                "the report has no numeric metric {name} of rule {rule}; its metrics:\n{:#}",
                report["metrics"]
            )
        })
}

/// Assert that the bystanders ran to the end despite the hostile rule: `well-behaved` and
/// `tool-failures` are ok, and `well-behaved` saw every interaction of the dataset.
pub fn assert_bystanders_whole(report: &Value, data: &Dataset) {
    assert_ok(report, "well-behaved");
    assert_ok(report, "tool-failures");
    let count = pattern(report, "probe/count").unwrap_or_else(|| {
        panic!(
            "the well-behaved rule's pattern probe/count is missing; problems:\n{:#}",
            report["problems"]
        )
    });
    assert_eq!(
        count["occurrences"].as_u64(),
        Some(data.count as u64),
        "the well-behaved rule did not see every interaction:\n{count:#}"
    );
    assert_eq!(
        report["window"]["interactions"].as_u64(),
        Some(data.count as u64),
        "the report's window does not count every interaction:\n{:#}",
        report["window"]
    );
}
