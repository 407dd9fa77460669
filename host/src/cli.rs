//! The `reverie` command line. Parsing lives here; each subcommand is a thin
//! driver over the library modules, with `anyhow` context for the person reading
//! the error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::builtin;
use crate::config::{Config, RuleSource};
use crate::cycle::{self, CycleInput, RuleSlot};
use crate::input::{self, FeedbackIndex, InteractionReader};
use crate::model::CycleContext;
use crate::plugins::{FailureKind, RuleFailure, Runtime};
use crate::report::Report;

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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// `reverie.report/v1` JSON (schema: host/schema/report.v1.json).
    Json,
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
    /// The previous cycle's JSON report: patterns are marked new, ongoing,
    /// resolved or regressed, and accuracy is compared with its window.
    #[arg(long, value_name = "PATH")]
    pub previous: Option<PathBuf>,
    /// Only interactions at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only interactions before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Where compiled rules are cached [default: $XDG_CACHE_HOME/reverie or ~/.cache/reverie].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Dream(args) => dream(args),
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
    let config = match &args.config {
        Some(path) => Config::load(path, &builtins)?,
        None => Config::default_with(&builtins),
    };
    let since_ms = parse_time("since", &args.since)?;
    let until_ms = parse_time("until", &args.until)?;
    let previous = args.previous.as_deref().map(read_previous).transpose()?;

    let feedback = match &args.feedback {
        Some(path) => FeedbackIndex::load(path, args.skip_invalid)?,
        None => FeedbackIndex::default(),
    };
    let context = live_context(&config, &args.interactions, since_ms, until_ms)?;

    let spinner = progress_bar(args.no_progress, None);
    spinner.set_message("loading rules");
    let runtime = Runtime::new(args.cache_dir.clone().or_else(default_cache_dir))?;
    let rules: Vec<RuleSlot> = config
        .rules
        .iter()
        .map(|rule| {
            let loaded =
                component_bytes(&rule.source).and_then(|bytes| runtime.load(&rule.source, &bytes));
            RuleSlot {
                source: rule.source.clone(),
                limits: rule.limits,
                settings: rule.settings.clone(),
                loaded,
            }
        })
        .collect();
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
            config: &config,
            feedback: &feedback,
            previous: previous.as_ref(),
            since_ms,
            until_ms,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
        &|bytes| bar.set_position(bytes),
    )?;
    bar.finish_and_clear();

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

fn component_bytes(source: &RuleSource) -> Result<Vec<u8>, RuleFailure> {
    match source {
        RuleSource::Builtin(name) => {
            builtin::bytes(name)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| RuleFailure {
                    kind: FailureKind::LoadError,
                    message: format!("no built-in rule named {name:?}"),
                })
        }
        RuleSource::Path(path) => std::fs::read(path).map_err(|e| RuleFailure {
            kind: FailureKind::LoadError,
            message: format!("cannot read {}: {e}", path.display()),
        }),
    }
}

fn read_previous(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read the previous report {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the previous report {} is not JSON", path.display()))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != crate::report::SCHEMA {
        bail!(
            "the previous report {} has schema {schema:?}; expected {:?} (use --format json)",
            path.display(),
            crate::report::SCHEMA
        );
    }
    serde_json::from_value(value)
        .with_context(|| format!("the previous report {} is malformed", path.display()))
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
