//! The `reverie` command line. Parsing lives here; each subcommand is a thin
//! driver over the library modules, with `anyhow` context for the person reading
//! the error.
//!
//! It must not hold use cases of its own: it parses arguments and calls
//! `server`, `service`, `cycle`, `import` or the HTTP `client`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::builtin;
use crate::client::Client;
use crate::config::Config;
use crate::cycle::{self, CycleInput, RuleSlot};
use crate::import::{self, ImportSummary, Importer};
use crate::input::{self, FeedbackIndex, InteractionReader};
use crate::model::CycleContext;
use crate::plugins::Runtime;
use crate::report::PreviousReport;
use crate::score;

#[derive(Parser, Debug)]
#[command(
    name = "reverie",
    version,
    about = "Dreaming for AI agents: review interaction logs, find recurring mistakes, propose prompt changes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one dreaming cycle offline over JSONL files and print the report.
    Dream(DreamArgs),
    /// Score a JSON report against a truth file of planted mistakes: per
    /// mistake, the problem that matches it, evidence precision and recall,
    /// and the problems that match none.
    Score(ScoreArgs),
    /// Run the server: the HTTP API on an embedded SQLite database, and dreams.
    Serve(ServeArgs),
    /// Send JSONL files of interactions and feedback to a running server.
    Import(ImportArgs),
    /// Make, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Copy the database to one file, while the server runs (SQLite's online backup).
    Backup(BackupArgs),
    /// Replace a data directory's database with a backup (the server must be stopped).
    Restore(RestoreArgs),
    /// Try a schedule before saving it (works offline).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Write, build and test rules (`new`, `build`, `test`), and install them
    /// on a server (`install`, `list`, `remove`).
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Print the HTTP API's OpenAPI 3.1 document (what a server serves at
    /// `/v1/openapi.json`), to generate a client without running one.
    Openapi,
    /// Parse interaction and feedback files and count them, doing nothing else:
    /// the baseline `reverie dream` is benchmarked against.
    #[command(hide = true)]
    Parse {
        #[arg(long)]
        interactions: PathBuf,
        #[arg(long)]
        feedback: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RuleCommand {
    /// Make a new rule that builds at once and passes its own test: the code
    /// (a crate, a Python module or a JavaScript module), a README, and fixtures
    /// with the findings they must give.
    New {
        /// The rule's name: lowercase letters, digits and dashes (`refund-eligibility`).
        name: String,
        /// The language: `rust` (the SDK, cargo), `python` (componentize-py) or `js` (componentize-js).
        #[arg(long, value_enum, default_value = "rust")]
        lang: crate::authoring::scaffold::Lang,
        /// Where to make the rule's folder.
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// The rule SDK (`plugins/sdk` of a reverie checkout), for Rust [default: found from DIR upwards].
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Build a rule with its language's tool (cargo for wasm32-wasip2,
    /// componentize-py, componentize-js: told by the folder's files) and check
    /// the component as a dream would load it (contract version, imports, `info()`).
    Build {
        /// The rule's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where compiled rules are cached [default: as for `dream`].
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Run a rule over fixtures the way a dream does; judge its findings against
    /// `expected.json` and each call's cost against the limits. Exits 1 on a
    /// mismatch or a limit passed.
    Test {
        /// The rule's component.
        rule: PathBuf,
        /// `interactions.jsonl`, optional `feedback.jsonl` and `expected.json`.
        #[arg(long, value_name = "DIR", default_value = "fixtures")]
        fixtures: PathBuf,
        /// Take the limits (`[defaults]`) from this config, as production does.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// Also score the findings against this truth file (`reverie.truth/v1`).
        #[arg(long, value_name = "PATH")]
        truth: Option<PathBuf>,
        /// Where compiled rules are cached [default: as for `dream`].
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Install a rule's component on a server: checked, compiled and described
    /// there, and kept under its sha256. Prints the rule's id, which an agent's
    /// rule set names (`PUT /v1/agents/{id}/rules`).
    Install {
        /// The rule's component (`.wasm`).
        rule: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// List the rules installed on a server.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Remove an installed rule (refused while an agent's rule set names it).
    Remove {
        /// The rule's id (`sha256:…`).
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// `reverie.report/v2` JSON (schema: host/schema/report.v2.json).
    Json,
}

/// How much of each problem's evidence a report lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Evidence {
    /// The first 20 interaction ids.
    Examples,
    /// Every id the rules gave (up to 5,000 per pattern): for `reverie score`.
    All,
}

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// A JSON report made with `reverie dream --evidence all --format json`.
    #[arg(long, value_name = "PATH")]
    pub report: PathBuf,
    /// The truth file of the dataset (`reverie.truth/v1`, see examples/README.md).
    #[arg(long, value_name = "PATH")]
    pub truth: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit with status 1 when a target is missed.
    #[arg(long)]
    pub check: bool,
}

#[derive(clap::Args, Debug)]
pub struct DreamArgs {
    /// Interactions, one JSON object per line (format: examples/README.md).
    #[arg(long, value_name = "PATH")]
    pub interactions: PathBuf,
    /// Feedback, one JSON object per line.
    #[arg(long, value_name = "PATH")]
    pub feedback: Option<PathBuf>,
    /// Config file (TOML; every field is documented in examples/reverie.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Skip malformed lines (counted in the report) instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// The previous cycle's JSON report: problems are marked new, ongoing,
    /// resolved, below threshold or regressed, and accuracy is compared with its window.
    #[arg(long, value_name = "PATH")]
    pub previous: Option<PathBuf>,
    /// How many interaction ids each problem lists: `examples` (20) or `all`
    /// (what `reverie score` needs).
    #[arg(long, value_enum, default_value = "examples")]
    pub evidence: Evidence,
    /// Only interactions at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only interactions before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Where compiled rules are cached [default: $XDG_CACHE_HOME/reverie or ~/.cache/reverie].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Also run this rule component (repeatable), with the default limits and no
    /// settings: try a rule without writing a config file.
    #[arg(long = "rule", value_name = "PATH.wasm")]
    pub rules: Vec<PathBuf>,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Config file (TOML; `[server]` and the rules; see examples/reverie.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where the database lives [default: [server] data_dir, else $XDG_DATA_HOME/reverie or ~/.local/share/reverie].
    #[arg(long, value_name = "DIR", env = "REVERIE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL shared by replicas (`postgres://user:password@host:5432/db`) [default: [server] database_url; without one, SQLite in the data directory].
    #[arg(
        long,
        value_name = "URL",
        env = "REVERIE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Address to listen on [default: [server] listen, else 127.0.0.1:7878]. Port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Log lines on stderr: `text` for people, `json` for a log pipeline [default: [log] format, else text]. `RUST_LOG` filters them.
    #[arg(long, value_name = "FORMAT", value_parser = clap::builder::PossibleValuesParser::new(["text", "json"]))]
    pub log_format: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The data directory to back up [default: $XDG_DATA_HOME/reverie or ~/.local/share/reverie].
    #[arg(long, value_name = "DIR", env = "REVERIE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The backup file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    pub force: bool,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup file (made by `reverie backup`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The data directory to restore into [default: $XDG_DATA_HOME/reverie or ~/.local/share/reverie].
    #[arg(long, value_name = "DIR", env = "REVERIE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How to reach a running server.
#[derive(clap::Args, Debug)]
pub struct Remote {
    /// The server's base URL.
    #[arg(long, env = "REVERIE_URL", default_value = "http://127.0.0.1:7878")]
    pub url: String,
    /// An API key (`rvk_…`).
    #[arg(long, env = "REVERIE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

impl Remote {
    fn client(&self) -> anyhow::Result<Client> {
        let key = self.api_key.as_deref().context(
            "no API key: pass --api-key or set REVERIE_API_KEY (the server printed an admin key on its first start)",
        )?;
        Ok(Client::new(&self.url, key)?)
    }
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The agent that receives the data (`agt_…`).
    #[arg(long, value_name = "ID")]
    pub agent: String,
    /// Interactions, one JSON object per line (the `reverie dream` format).
    #[arg(long, value_name = "PATH")]
    pub interactions: Option<PathBuf>,
    /// Feedback, one JSON object per line; sent after the interactions.
    #[arg(long, value_name = "PATH")]
    pub feedback: Option<PathBuf>,
    /// Lines per request (1–1000).
    #[arg(long, default_value_t = import::DEFAULT_BATCH)]
    pub batch_size: usize,
    /// Skip malformed lines (counted) instead of stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a key and print it (it is shown only this once).
    Create {
        /// A name to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scope the key to one agent; without this the key is an admin key.
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
        /// Write straight into this data directory instead of asking a server
        /// (for a lost admin key; the server must be stopped).
        #[arg(long, value_name = "DIR", conflicts_with_all = ["url", "api_key", "database_url"])]
        data_dir: Option<PathBuf>,
        /// Write straight into this PostgreSQL database instead of asking a
        /// server (for a lost admin key; replicas may keep running).
        #[arg(long, value_name = "URL", env = "REVERIE_DATABASE_URL", hide_env_values = true, conflicts_with_all = ["url", "api_key"])]
        database_url: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Revoke a key: requests with it get 401 from now on.
    Revoke {
        /// The key's id (`key_…`).
        id: String,
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// List the next fire times of an expression in a time zone, as local times
    /// and as UTC instants, following the DST rule the scheduler uses.
    Preview {
        /// `hourly`, `daily`, `weekly`, or a cron expression of 5, 6 or 7
        /// fields (quote it: `"0 3 * * MON-FRI"`).
        expression: String,
        /// IANA time zone name.
        #[arg(long, short = 'z', default_value = "UTC")]
        timezone: String,
        /// How many fire times.
        #[arg(long, short = 'n', default_value_t = 10)]
        count: usize,
        /// Start after this RFC 3339 time instead of now.
        #[arg(long)]
        after: Option<String>,
        /// Print JSON (the shape of `GET /v1/schedule/preview`).
        #[arg(long)]
        json: bool,
    },
    /// Where an agent's schedule stands: next run, skips, upcoming times, audit trail.
    Show {
        /// The agent (`agt_…`).
        #[arg(long)]
        agent: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Pause an agent's schedule (dreams asked for still run).
    Pause {
        #[arg(long)]
        agent: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Resume an agent's schedule at its next slot (no backlog is replayed).
    Resume {
        #[arg(long)]
        agent: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Queue a dream for the agent now, whatever its schedule says.
    Run {
        #[arg(long)]
        agent: String,
        #[command(flatten)]
        remote: Remote,
    },
}

fn preview(
    expression: &str,
    timezone: &str,
    count: usize,
    after: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    use crate::schedule::cron::Schedule;
    if !(1..=1000).contains(&count) {
        anyhow::bail!("--count must be between 1 and 1000, got {count}");
    }
    let schedule = Schedule::parse(expression, timezone)?;
    let after_ms = match after {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| {
                anyhow::anyhow!(
                    "--after must be an RFC 3339 time like 2026-11-01T00:00:00Z, got {text:?}"
                )
            })?
            .timestamp_millis(),
        None => chrono::Utc::now().timestamp_millis(),
    };
    let times = schedule.preview(after_ms, count);
    let utc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "object": "schedule_preview",
            "expression": schedule.expression(),
            "cron": schedule.canonical(),
            "timezone": timezone,
            "fire_times": times.iter().map(|t| serde_json::json!({
                "at": utc(t.at_ms),
                "local": t.local,
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:?} in {timezone} (as cron fields, seconds first: {})",
        schedule.expression(),
        schedule.canonical()
    )?;
    if times.is_empty() {
        writeln!(out, "  it never fires again")?;
    }
    for t in &times {
        let weekday = chrono::DateTime::parse_from_rfc3339(&t.local)
            .map(|l| l.format("%a").to_string())
            .unwrap_or_default();
        writeln!(out, "  {weekday} {:<27} {}", t.local, utc(t.at_ms))?;
    }
    Ok(())
}

/// `reverie schedule preview` offline; `show|pause|resume|run`: the schedule
/// routes, for people.
fn schedule(command: ScheduleCommand) -> anyhow::Result<()> {
    use serde_json::Value;
    let (agent, remote, action) = match command {
        ScheduleCommand::Preview {
            expression,
            timezone,
            count,
            after,
            json,
        } => return preview(&expression, &timezone, count, after.as_deref(), json),
        ScheduleCommand::Show { agent, remote } => (agent, remote, None),
        ScheduleCommand::Pause { agent, remote } => (agent, remote, Some("pause")),
        ScheduleCommand::Resume { agent, remote } => (agent, remote, Some("resume")),
        ScheduleCommand::Run { agent, remote } => (agent, remote, Some("run")),
    };
    let client = remote.client()?;
    let path = format!("/v1/agents/{agent}/schedule");
    if action == Some("run") {
        let dream = client.send(
            reqwest::Method::POST,
            &format!("{path}/run"),
            Some("{}".into()),
            None,
        )?;
        println!(
            "queued dream {} for {agent}; follow it with GET /v1/dreams/{}",
            dream["id"].as_str().unwrap_or("?"),
            dream["id"].as_str().unwrap_or("?")
        );
        return Ok(());
    }
    let s = match action {
        Some(verb) => client.send(
            reqwest::Method::POST,
            &format!("{path}/{verb}"),
            Some("{}".into()),
            None,
        )?,
        None => client.send(reqwest::Method::GET, &path, None, None)?,
    };
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{agent}: {:?} in {} ({})",
        text(&s["expression"]),
        text(&s["timezone"]),
        if s["dreaming_enabled"] != true {
            "dreaming off"
        } else if s["paused"] == true {
            "paused"
        } else {
            "on"
        }
    )?;
    writeln!(
        out,
        "  next run       {} (slot {})",
        text(&s["next_run_at"]),
        text(&s["next_slot"])
    )?;
    writeln!(out, "  last slot      {}", text(&s["last_slot"]))?;
    writeln!(
        out,
        "  skipped        {} for overlap, {} missed while down",
        s["overlap_skips"], s["missed_slots"]
    )?;
    if let Some(upcoming) = s["upcoming"].as_array() {
        let times: Vec<String> = upcoming.iter().map(|t| text(&t["local"])).collect();
        writeln!(out, "  upcoming       {}", times.join(", "))?;
    }
    for e in s["events"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {}  {:<8} by {}{}",
            text(&e["at"]),
            text(&e["action"]),
            text(&e["actor"]),
            e["detail"]
                .as_str()
                .map_or(String::new(), |d| format!(" ({d})"))
        )?;
    }
    Ok(())
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Dream(args) => dream(args),
        Command::Score(args) => score(args),
        Command::Serve(args) => serve(args),
        Command::Import(args) => import_files(args),
        Command::Keys(command) => keys(command),
        Command::Schedule(command) => schedule(command),
        Command::Backup(args) => backup(args),
        Command::Restore(args) => restore(args),
        Command::Rule(command) => rule(command),
        Command::Openapi => {
            println!("{}", crate::api::openapi::document());
            Ok(())
        }
        Command::Parse {
            interactions,
            feedback,
        } => {
            let feedback = match &feedback {
                Some(path) => FeedbackIndex::load(path, false)?,
                None => FeedbackIndex::default(),
            };
            let mut reader = InteractionReader::open(&interactions, false)?;
            let mut count = 0u64;
            while reader.next_interaction()?.is_some() {
                count += 1;
            }
            println!("{count} interactions, {} feedback", feedback.len());
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let builtins = builtin::names();
    let mut config = match &args.config {
        Some(path) => Config::load(path, &builtins)?,
        None => Config::default_with(&builtins),
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(url) = args.database_url {
        config.server.database_url = Some(url);
    }
    if let Some(format) = &args.log_format {
        config.log.format = format.parse().map_err(anyhow::Error::msg)?;
    }
    crate::telemetry::logs::init(config.log.format, &config.log.filter)?;
    crate::server::serve(config, args.data_dir, &mut std::io::stdout())?;
    Ok(())
}

fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    given
        .or_else(crate::server::default_data_dir)
        .context("no data directory: pass --data-dir (neither $XDG_DATA_HOME nor $HOME is set)")
}

fn backup(args: BackupArgs) -> anyhow::Result<()> {
    use crate::store::backup;
    let dir = data_dir(args.data_dir)?;
    let bar = progress_bar(args.no_progress, Some(0));
    bar.set_message(format!("backing up {}", dir.display()));
    let done = backup::backup(&dir, &args.out, args.force, &mut |copied, total| {
        bar.set_length(total);
        bar.set_position(copied);
    });
    bar.finish_and_clear();
    let done = done?;
    println!(
        "backed up {} to {} in {:.1?}: {}",
        dir.join("reverie.db").display(),
        done.path.display(),
        done.took,
        done.contents
    );
    Ok(())
}

fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    use crate::store::backup;
    let dir = data_dir(args.data_dir)?;
    let done = backup::restore(&args.from, &dir)?;
    println!(
        "restored {} into {}: {}",
        args.from.display(),
        done.database.display(),
        done.contents
    );
    match &done.set_aside {
        Some(aside) => println!(
            "the database it replaced is kept as {} (delete it once the restored one serves well)",
            aside.display()
        ),
        None => println!("there was no database there before"),
    }
    if done.contents.schema_version < crate::store::sqlite::SCHEMA_VERSION {
        println!(
            "it was brought from schema version {} to {}",
            done.contents.schema_version,
            crate::store::sqlite::SCHEMA_VERSION
        );
    }
    Ok(())
}

fn import_files(args: ImportArgs) -> anyhow::Result<()> {
    if args.interactions.is_none() && args.feedback.is_none() {
        bail!("nothing to import: pass --interactions and/or --feedback");
    }
    if !(1..=crate::api::MAX_BATCH).contains(&args.batch_size) {
        bail!(
            "--batch-size must be from 1 to {}, got {}",
            crate::api::MAX_BATCH,
            args.batch_size
        );
    }
    let client = args.remote.client()?;
    let mut summary = ImportSummary::default();
    for (path, is_feedback) in [(&args.interactions, false), (&args.feedback, true)] {
        let Some(path) = path else { continue };
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        let bar = progress_bar(args.no_progress, size);
        bar.set_message(format!("importing {}", path.display()));
        let importer = Importer {
            client: &client,
            agent_id: &args.agent,
            batch_size: args.batch_size,
            skip_invalid: args.skip_invalid,
            progress: &|bytes| bar.set_position(bytes),
        };
        let result = if is_feedback {
            importer.feedback(path, &mut summary)
        } else {
            importer.interactions(path, &mut summary)
        };
        bar.finish_and_clear();
        result?;
    }
    println!(
        "imported {} interactions and {} feedback into {} in {} requests{}",
        summary.interactions,
        summary.feedback,
        args.agent,
        summary.batches,
        if summary.skipped > 0 {
            format!("; skipped {} invalid lines", summary.skipped)
        } else {
            String::new()
        }
    );
    Ok(())
}

fn keys(command: KeysCommand) -> anyhow::Result<()> {
    use serde_json::Value;
    let show = |k: &Value| {
        let field = |name: &str| {
            k.get(name)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        format!(
            "{}  {:<24} {:<32} created {}{}",
            field("id"),
            field("name"),
            k.get("agent_id")
                .and_then(Value::as_str)
                .map_or("admin".to_string(), |a| format!("agent {a}")),
            field("created_at"),
            k.get("revoked_at")
                .and_then(Value::as_str)
                .map_or(String::new(), |t| format!("  REVOKED {t}"))
        )
    };
    match command {
        KeysCommand::Create {
            name,
            agent,
            data_dir,
            database_url,
            ..
        } if data_dir.is_some() || database_url.is_some() => {
            let store: Box<dyn crate::store::Store> = match (database_url, data_dir) {
                (Some(url), _) => Box::new(crate::store::postgres::PostgresStore::connect(
                    &crate::store::postgres::PgOptions { url, pool_size: 1 },
                )?),
                (None, Some(dir)) => Box::new(crate::store::sqlite::SqliteStore::open(&dir)?),
                (None, None) => unreachable!("guarded by the match arm"),
            };
            let (key, token) = crate::service::keys::create(
                &*store,
                &name,
                agent,
                None,
                chrono::Utc::now().timestamp_millis(),
            )?;
            println!(
                "{}
{token}",
                key.id
            );
        }
        KeysCommand::Create {
            name,
            agent,
            remote,
            ..
        } => {
            let body = serde_json::json!({ "name": name, "agent_id": agent }).to_string();
            let k =
                remote
                    .client()?
                    .send(reqwest::Method::POST, "/v1/api-keys", Some(body), None)?;
            eprintln!("{}", show(&k));
            eprintln!("The key is shown this once; it is stored only as a hash:");
            println!("{}", k.get("key").and_then(Value::as_str).unwrap_or(""));
        }
        KeysCommand::List { remote } => {
            let client = remote.client()?;
            let mut cursor: Option<String> = None;
            loop {
                let path = match &cursor {
                    Some(c) => format!("/v1/api-keys?limit=100&cursor={c}"),
                    None => "/v1/api-keys?limit=100".to_string(),
                };
                let page = client.send(reqwest::Method::GET, &path, None, None)?;
                for k in page
                    .get("data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    println!("{}", show(k));
                }
                cursor = page
                    .get("next_cursor")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if cursor.is_none() {
                    break;
                }
            }
        }
        KeysCommand::Revoke { id, remote } => {
            let k = remote.client()?.send(
                reqwest::Method::DELETE,
                &format!("/v1/api-keys/{id}"),
                None,
                None,
            )?;
            println!("{}", show(&k));
        }
    }
    Ok(())
}

fn rule(command: RuleCommand) -> anyhow::Result<()> {
    use crate::authoring::{self, check};
    match command {
        RuleCommand::New {
            name,
            lang,
            dir,
            sdk,
        } => {
            // Only a Rust rule depends on the SDK.
            let sdk = match (sdk, lang) {
                (Some(sdk), _) => Some(sdk),
                (None, authoring::Lang::Rust) => Some(
                    std::env::current_dir()
                        .ok()
                        .and_then(|cwd| authoring::scaffold::find_sdk(&cwd.join(&dir)))
                        .ok_or(authoring::scaffold::ScaffoldError::NoSdk)?,
                ),
                (None, _) => None,
            };
            let made = authoring::scaffold::new_rule(&name, &dir, lang, sdk.as_deref())?;
            println!(
                "made {}: build it with `reverie rule build {}`, then test it with \
                 `reverie rule test {} --fixtures {}/fixtures`",
                made.display(),
                made.display(),
                authoring::component_path(&made, lang, &name).display(),
                made.display()
            );
            Ok(())
        }
        RuleCommand::Build { dir, cache_dir } => {
            let component = authoring::build(&dir)?;
            let runtime = Runtime::new(cache_dir.or_else(default_cache_dir))?;
            let started = Instant::now();
            authoring::check_component(&component, &runtime)?;
            let size = std::fs::metadata(&component).map(|m| m.len()).unwrap_or(0);
            println!(
                "built {} ({} KiB); it loads as a dream loads it (contract, imports, compile, info(): {} ms)",
                component.display(),
                size.div_ceil(1024),
                started.elapsed().as_millis()
            );
            Ok(())
        }
        RuleCommand::Test {
            rule,
            fixtures,
            config,
            truth,
            cache_dir,
        } => {
            let interactions = fixtures.join("interactions.jsonl");
            if !interactions.is_file() {
                bail!(
                    "{}: no interactions.jsonl here (the fixtures folder holds interactions.jsonl, feedback.jsonl and expected.json); name another with --fixtures",
                    fixtures.display()
                );
            }
            let expected_path = fixtures.join("expected.json");
            let expected = if expected_path.is_file() {
                check::Expected::load(&expected_path).map_err(|e| anyhow::anyhow!(e))?
            } else {
                check::Expected::default()
            };
            let builtins = builtin::names();
            let mut config = match &config {
                Some(path) => Config::load(path, &builtins)?,
                None => Config::default_with(&builtins),
            };
            // The rule alone, with the fixtures' settings and the production limits.
            config.rules.clear();
            config.add_rule_file(&rule)?;
            if let Some(slot) = config.rules.last_mut() {
                slot.settings = expected
                    .settings_text()
                    .map_err(|e| anyhow::anyhow!("{}: {e}", expected_path.display()))?;
                // Metered by fuel whatever production uses: the fuel of a call is
                // the cost figure that does not depend on the machine.
                slot.limits.metering = crate::config::Metering::Fuel;
            }
            let feedback = fixtures.join("feedback.jsonl");
            let args = DreamArgs {
                interactions,
                feedback: feedback.is_file().then_some(feedback),
                config: None,
                format: Format::Json,
                output: None,
                skip_invalid: false,
                previous: None,
                evidence: Evidence::All,
                since: None,
                until: None,
                cache_dir,
                rules: Vec::new(),
                no_progress: true,
            };
            let report = dream_report(&args, &config)?;
            let Some(run) = report.rules.first() else {
                bail!("the dream ran no rule");
            };
            let limits = config.rules[0].limits;
            let verdict = check::judge(&report, run, &expected, &limits);
            print!("{}", verdict.text);
            for line in &run.log {
                println!("  log {:<5} {}", line.level, line.message);
            }
            if let Some(output) = &run.output {
                println!("  output:\n{}", output.trim_end());
            }
            if let Some(truth) = truth {
                let text = std::fs::read_to_string(&truth)
                    .with_context(|| format!("read {}", truth.display()))?;
                let truth = score::read_truth(&truth.display().to_string(), &text)?;
                let json = serde_json::to_string(&report).context("serialise the report")?;
                let scored = score::score(&score::read_report("the test run", &json)?, &truth);
                print!("{}", scored.to_text());
            }
            for problem in verdict.mismatches.iter().chain(&verdict.over_limits) {
                println!("  ✗ {problem}");
            }
            if verdict.passed() {
                println!(
                    "pass: {} expected pattern(s) found, {} absent key(s) absent, every call within its limits",
                    expected.patterns.len(),
                    expected.absent.len()
                );
                Ok(())
            } else {
                bail!(
                    "{} finding(s) differ from {} and {} limit(s) passed",
                    verdict.mismatches.len(),
                    expected_path.display(),
                    verdict.over_limits.len()
                )
            }
        }
        RuleCommand::Install { rule, remote } => {
            let bytes = std::fs::read(&rule).with_context(|| format!("{}", rule.display()))?;
            let client = remote.client()?;
            eprintln!(
                "installing {} ({}); the server compiles it, which takes a while for a large component",
                rule.display(),
                crate::units::bytes(bytes.len() as u64)
            );
            let installed = client.send_component("/v1/rules", bytes)?;
            println!("{}", show_rule(&installed));
            Ok(())
        }
        RuleCommand::List { remote } => {
            let client = remote.client()?;
            let mut cursor: Option<String> = None;
            loop {
                let path = match &cursor {
                    Some(c) => format!("/v1/rules?limit=100&cursor={c}"),
                    None => "/v1/rules?limit=100".to_string(),
                };
                let page = client.send(reqwest::Method::GET, &path, None, None)?;
                for rule in page["data"].as_array().into_iter().flatten() {
                    println!("{}", show_rule(rule));
                }
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => return Ok(()),
                }
            }
        }
        RuleCommand::Remove { id, remote } => {
            remote.client()?.send(
                reqwest::Method::DELETE,
                &format!("/v1/rules/{id}"),
                None,
                None,
            )?;
            println!("removed {id}");
            Ok(())
        }
    }
}

/// One installed rule on one line: id, name and version, contract, settings, capabilities.
fn show_rule(rule: &serde_json::Value) -> String {
    let text = |name: &str| rule[name].as_str().unwrap_or("-").to_string();
    let names = |name: &str, key: Option<&str>| {
        let list: Vec<String> = rule[name]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| match key {
                Some(k) => v[k].as_str().map(str::to_string),
                None => v.as_str().map(str::to_string),
            })
            .collect();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    format!(
        "{}  {} {}  contract {}  settings: {}  capabilities: {}",
        text("id"),
        text("name"),
        text("version"),
        text("contract"),
        names("settings", Some("name")),
        names("capabilities", None),
    )
}

fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("reverie"))
}

fn parse_time(flag: &str, value: &Option<String>) -> anyhow::Result<Option<i64>> {
    value
        .as_deref()
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .with_context(|| {
                    format!("--{flag} {v:?} is not an RFC 3339 time like 2026-11-01T00:00:00Z")
                })
        })
        .transpose()
}

fn dream(args: DreamArgs) -> anyhow::Result<()> {
    let builtins = builtin::names();
    let mut config = match &args.config {
        Some(path) => Config::load(path, &builtins)?,
        None => Config::default_with(&builtins),
    };
    for path in &args.rules {
        config.add_rule_file(path)?;
    }
    let report = dream_report(&args, &config)?;

    let text = match args.format {
        Format::Text => report.to_text(),
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&report).context("serialise the report")?;
            json.push('\n');
            json
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("write {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// One offline dream over `args`' files with `config`'s rules: what `dream`
/// reports and what `rule test` judges.
fn dream_report(args: &DreamArgs, config: &Config) -> anyhow::Result<crate::report::Report> {
    let since_ms = parse_time("since", &args.since)?;
    let until_ms = parse_time("until", &args.until)?;
    let previous = args.previous.as_deref().map(read_previous).transpose()?;

    let feedback = match &args.feedback {
        Some(path) => FeedbackIndex::load(path, args.skip_invalid)?,
        None => FeedbackIndex::default(),
    };
    let context = live_context(config, &args.interactions, since_ms, until_ms)?;

    let spinner = progress_bar(args.no_progress, None);
    spinner.set_message("loading rules");
    let runtime = Runtime::new(args.cache_dir.clone().or_else(default_cache_dir))?;
    let rules = RuleSlot::load_all(&runtime, config);
    spinner.finish_and_clear();

    let size = std::fs::metadata(&args.interactions).map(|m| m.len()).ok();
    let bar = progress_bar(args.no_progress, size);
    bar.set_message("dreaming");
    let reader = InteractionReader::open(&args.interactions, args.skip_invalid)?;
    let report = cycle::run(
        &runtime,
        rules,
        reader,
        CycleInput {
            context,
            config,
            feedback: &feedback,
            previous: previous.as_ref(),
            all_evidence: args.evidence == Evidence::All,
            since_ms,
            until_ms,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
        &|bytes| bar.set_position(bytes),
    )?;
    bar.finish_and_clear();
    Ok(report)
}

/// The live prompt and version: from the config, else from the most recent
/// interaction (the last line: logs are in time order).
fn live_context(
    config: &Config,
    interactions: &Path,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
) -> anyhow::Result<CycleContext> {
    let last = input::last_line(interactions)?.and_then(|l| input::parse_interaction(&l).ok());
    let system_prompt = config
        .agent
        .system_prompt
        .clone()
        .or_else(|| {
            last.as_ref()
                .and_then(|i| i.system_prompt().map(str::to_string))
        })
        .unwrap_or_default();
    let config_version = config
        .agent
        .config_version
        .clone()
        .or_else(|| last.as_ref().and_then(|i| i.config_version.clone()))
        .unwrap_or_else(|| "unknown".into());
    Ok(CycleContext {
        agent_id: config.agent.id.clone(),
        agent_name: config.agent.name.clone(),
        system_prompt,
        config_version,
        window_start_ms: since_ms,
        window_end_ms: until_ms,
        settings: Vec::new(),
    })
}

fn read_previous(path: &Path) -> anyhow::Result<PreviousReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read the previous report {}", path.display()))?;
    PreviousReport::from_json(&text)
        .map_err(|e| anyhow::anyhow!("the previous report {}: {e}", path.display()))
}

fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
    };
    let truth = score::read_truth(&args.truth.display().to_string(), &read(&args.truth)?)?;
    let report = score::read_report(&args.report.display().to_string(), &read(&args.report)?)?;
    let result = score::score(&report, &truth);
    let text = match args.format {
        Format::Text => result.to_text(),
        Format::Json => {
            let mut json = serde_json::to_string_pretty(&result).context("serialise the score")?;
            json.push('\n');
            json
        }
    };
    print!("{text}");
    if args.check && !result.passed {
        bail!(
            "{} target(s) missed: {}",
            result.misses.len(),
            result.misses.join("; ")
        );
    }
    Ok(())
}

fn progress_bar(disabled: bool, len: Option<u64>) -> ProgressBar {
    if disabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
