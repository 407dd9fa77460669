//! The log subscriber of `reverie serve`: one line per event on stderr.
//!
//! Text (the default) is for a person at a terminal: a timestamp, the level,
//! where it came from, the message and `key=value` fields. JSON is for a log
//! pipeline: one object per line, the event's fields at the top level
//! (`{"timestamp":…,"level":"INFO","target":"reverie::http","message":"request","method":"GET",…}`)
//! and the enclosing span (the request, the dream) under `span`. Which events
//! are written is an `EnvFilter` directive: `RUST_LOG` when it is set, else
//! `[log] filter` (default [`DEFAULT_FILTER`]).
//!
//! Stdout stays for what `serve` announces once at start (the first admin key,
//! the address it listens on): people and scripts read those lines, so they
//! are not log events and do not change with the format.
//!
//! It must not decide what is logged: modules log through `tracing`; this
//! formats and filters.

use std::io::IsTerminal;

use serde::Deserialize;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// What is logged when neither `RUST_LOG` nor `[log] filter` says otherwise:
/// requests, dream, delivery and scheduler outcomes, warnings and errors.
pub const DEFAULT_FILTER: &str = "info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// For people: `2025-05-01T10:00:00.123Z  INFO reverie::http: request method="GET" …`.
    #[default]
    Text,
    /// For machines: one JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "{other:?} is not a log format: use \"text\" or \"json\""
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("RUST_LOG={value:?} is not a log filter: {message}")]
    BadEnv { value: String, message: String },
    #[error("cannot install the log subscriber: {0}")]
    Install(String),
}

/// Check an `EnvFilter` directive (`info`, `warn,reverie::http=info`, …) as
/// config resolution does, so a typo stops the server before it starts.
pub fn check_filter(text: &str) -> Result<(), String> {
    EnvFilter::try_new(text)
        .map(|_| ())
        .map_err(|e| format!("{text:?} is not a log filter: {e}"))
}

/// The filter in force: `RUST_LOG` when set (and not empty), else `configured`.
pub fn filter(configured: &str) -> Result<EnvFilter, LogError> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(&value).map_err(|e| LogError::BadEnv {
                value,
                message: e.to_string(),
            })
        }
        // `configured` was checked when the config was resolved.
        _ => Ok(EnvFilter::try_new(configured).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))),
    }
}

/// A subscriber writing `format` lines to `writer`. Tests pass a buffer;
/// [`init`] passes stderr.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Install the process-wide subscriber: `format` lines on stderr, colours only
/// when stderr is a terminal.
pub fn init(format: LogFormat, configured_filter: &str) -> Result<(), LogError> {
    let filter = filter(configured_filter)?;
    let ansi = std::io::stderr().is_terminal();
    tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr, ansi))
        .map_err(|e| LogError::Install(e.to_string()))
}

#[cfg(test)]
pub(crate) mod capture {
    //! A subscriber whose lines a test can read back.

    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    /// Everything written, shared between the subscriber and the test.
    #[derive(Clone, Default)]
    pub struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        pub fn text(&self) -> String {
            let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    /// The JSON lines (at `info` and above) that `f` logs on this thread.
    pub fn json_lines(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let buffer = Buffer::default();
        {
            let subscriber = super::subscriber(
                super::LogFormat::Json,
                tracing_subscriber::EnvFilter::new("info"),
                buffer.clone(),
                false,
            );
            let _guard = scoped(subscriber);
            f();
        }
        buffer
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Make `subscriber` this thread's default until the guard drops.
    ///
    /// tracing caches, per callsite, whether anyone listens. While a single
    /// dispatcher is registered in the process, that answer is asked of the
    /// *calling thread's* default, so a callsite first reached by another
    /// test's thread would be cached as "nobody listens" and this thread's
    /// events lost. A second dispatcher kept alive for the whole process makes
    /// tracing ask every registered dispatcher instead; rebuilding the cache
    /// fixes callsites cached before this subscriber existed.
    pub fn scoped(
        subscriber: Box<dyn tracing::Subscriber + Send + Sync>,
    ) -> tracing::subscriber::DefaultGuard {
        static BYSTANDER: std::sync::LazyLock<tracing::Dispatch> = std::sync::LazyLock::new(|| {
            tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default())
        });
        std::sync::LazyLock::force(&BYSTANDER);
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_name_the_choices() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        let err = "yaml".parse::<LogFormat>().expect_err("not a format");
        assert!(err.contains("\"text\" or \"json\""), "{err}");
        assert!(check_filter("warn,reverie::http=info").is_ok());
        assert!(check_filter("reverie=loud").is_err());
    }

    #[test]
    fn json_lines_carry_the_fields_at_the_top_level() {
        let buffer = capture::Buffer::default();
        let subscriber = subscriber(
            LogFormat::Json,
            EnvFilter::new("info"),
            buffer.clone(),
            false,
        );
        {
            let _guard = capture::scoped(subscriber);
            tracing::info!(target: "reverie::dreams", dream_id = "drm_1", outcome = "completed", "dream finished");
            tracing::debug!("filtered out");
        }
        let text = buffer.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], "reverie::dreams");
        assert_eq!(line["message"], "dream finished");
        assert_eq!(line["dream_id"], "drm_1");
        assert_eq!(line["outcome"], "completed");
    }
}

// ---- `[log]`: owned here; the top-level config only composes it ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    format: Option<String>,
    filter: Option<String>,
}

/// `reverie serve`'s logs (`[log]`); `--log-format` overrides the format and
/// `RUST_LOG` the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive, checked at load.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: DEFAULT_FILTER.to_string(),
        }
    }
}

/// `[log]` resolved: the format parsed and the filter checked.
pub fn resolve(file: &LogFile) -> Result<LogConfig, String> {
    let mut out = LogConfig::default();
    if let Some(format) = &file.format {
        out.format = format.parse().map_err(|e| format!("log.format: {e}"))?;
    }
    if let Some(filter) = &file.filter {
        crate::telemetry::logs::check_filter(filter).map_err(|e| format!("log.filter: {e}"))?;
        out.filter = filter.clone();
    }
    Ok(out)
}
