//! The TOML configuration: parsed strictly, then resolved.
//!
//! The serde shapes (`*File`) reject unknown keys so that a typo is an error, not
//! a silently ignored setting. [`Config::resolve`] turns them into the types the
//! program uses, with every default applied and every value checked, before
//! anything runs. Every field is documented in `examples/reverie.toml`.
//!
//! It composes the sections other modules own (`webhooks::config`,
//! `schedule::config`, `llm::config`, `retention`, `gate`, `telemetry::logs`,
//! `api::ratelimit`, `api::metrics_endpoint`); it must not hold their insides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::api::metrics_endpoint::MetricsEndpoint;
pub use crate::api::ratelimit::RateLimitConfig;
pub use crate::domain::rules::{Limits, Metering, RuleSource};
pub use crate::schedule::config::SchedulerConfig;
pub use crate::telemetry::logs::LogConfig;
pub(crate) use crate::units::{bounded, bounded_duration};
pub use crate::units::{humantime, parse_duration};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("config {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("--rule {}: {message}", path.display())]
    Rule { path: PathBuf, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    agent: AgentFile,
    #[serde(default)]
    cycle: CycleFile,
    #[serde(default)]
    defaults: LimitsFile,
    rules: Option<Vec<RuleFile>>,
    #[serde(default)]
    server: ServerFile,
    #[serde(default)]
    scheduler: crate::schedule::config::SchedulerFile,
    #[serde(default)]
    webhooks: crate::webhooks::config::WebhooksFile,
    #[serde(default)]
    retention: crate::retention::RetentionFile,
    #[serde(default)]
    suggestions: crate::gate::GateFile,
    #[serde(default)]
    log: crate::telemetry::logs::LogFile,
    #[serde(default)]
    metrics: crate::api::metrics_endpoint::MetricsFile,
    rate_limit: Option<crate::api::ratelimit::RateLimitFile>,
    #[serde(default)]
    llm: crate::llm::config::LlmFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_pool_size: Option<u32>,
    max_body_kib: Option<u64>,
    min_interactions: Option<u64>,
    max_connections: Option<usize>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    drain_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFile {
    id: Option<String>,
    name: Option<String>,
    system_prompt: Option<String>,
    config_version: Option<String>,
    #[serde(default)]
    protected_sections: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CycleFile {
    chunk_size: Option<usize>,
}

/// `[defaults]` and a rule's own limit keys: the same record an agent's rule
/// set carries over the API, so both are written the same way.
type LimitsFile = crate::domain::rules::LimitOverrides;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    builtin: Option<String>,
    path: Option<PathBuf>,
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
    // The limit keys again, not `#[serde(flatten)]`: serde cannot combine
    // flatten with deny_unknown_fields.
    metering: Option<Metering>,
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    memory_mib: Option<u64>,
    max_findings_kib: Option<u64>,
    max_log_lines: Option<usize>,
    /// The rule's right to call a language model (`[rules.llm]`).
    llm: Option<crate::llm::config::GrantFile>,
}

impl RuleFile {
    fn limits(&self) -> LimitsFile {
        LimitsFile {
            metering: self.metering,
            fuel: self.fuel,
            timeout_ms: self.timeout_ms,
            memory_mib: self.memory_mib,
            max_findings_kib: self.max_findings_kib,
            max_log_lines: self.max_log_lines,
        }
    }
}

/// Upper bounds on what an operator may configure, so that one typo cannot ask
/// for a 1 TiB memory cap.
const MAX_CHUNK_SIZE: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    pub source: RuleSource,
    pub settings: Vec<(String, String)>,
    pub limits: Limits,
    /// A provider the rule may call, with its budget; `None`: no model at all.
    pub llm: Option<crate::llm::config::Grant>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    pub id: String,
    pub name: String,
    pub system_prompt: Option<String>,
    pub config_version: Option<String>,
    pub protected_sections: Vec<String>,
}

/// `reverie serve`'s own settings (`[server]`); `dream` ignores them.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (printed at start).
    pub listen: std::net::SocketAddr,
    /// Where the database lives; `None`: `$XDG_DATA_HOME/reverie` or `~/.local/share/reverie`.
    /// With a `database_url`, only the compile cache lives there.
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL, shared by replicas; `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    /// Connections to PostgreSQL this process keeps at most.
    pub database_pool_size: u32,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// A dream whose window holds fewer interactions is `skipped`.
    pub min_interactions: u64,
    /// Connections, head timeout and shutdown drain of the HTTP listener.
    pub listener: crate::listener::Limits,
    /// Time to receive a whole request body once its head arrived (408 beyond).
    pub body_timeout: Duration,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 7878)),
            data_dir: None,
            database_url: None,
            database_pool_size: 16,
            max_body_bytes: 8 << 20,
            min_interactions: 10,
            listener: crate::listener::Limits::default(),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub agent: AgentConfig,
    pub chunk_size: usize,
    pub rules: Vec<RuleConfig>,
    /// `[defaults]`: the limits of a rule that names none (and of `dream --rule`).
    pub default_limits: Limits,
    pub server: ServerConfig,
    pub scheduler: SchedulerConfig,
    pub webhooks: crate::webhooks::config::WebhooksConfig,
    pub retention: crate::retention::RetentionConfig,
    /// Which suggestions are ready (`[suggestions]`).
    pub suggestions: crate::gate::Gate,
    pub log: LogConfig,
    pub metrics: MetricsEndpoint,
    /// `None`: requests are not rate limited.
    pub rate_limit: Option<RateLimitConfig>,
    /// Language-model providers, the dream's budget and redaction (`[llm]`).
    pub llm: crate::llm::config::LlmConfig,
}

impl Config {
    /// The configuration used when no file is given: every built-in rule, default limits.
    pub fn default_with(builtins: &[&str]) -> Config {
        Self::resolve(ConfigFile::default(), Path::new("<defaults>"), builtins)
            .unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }

    /// Read and resolve a config file. `builtins` are the names of the rules shipped in the binary.
    pub fn load(path: &Path, builtins: &[&str]) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, builtins)
    }

    pub fn parse(text: &str, path: &Path, builtins: &[&str]) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::resolve(file, path, builtins)
    }

    fn resolve(file: ConfigFile, path: &Path, builtins: &[&str]) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let chunk_size = file.cycle.chunk_size.unwrap_or(256);
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(invalid(format!(
                "cycle.chunk_size must be between 1 and {MAX_CHUNK_SIZE}, got {chunk_size}"
            )));
        }
        let defaults = Limits::default()
            .apply(&file.defaults)
            .map_err(|m| invalid(format!("defaults.{m}")))?;
        let llm = crate::llm::config::resolve(&file.llm).map_err(invalid)?;
        let rules = match file.rules {
            // Rules that call a model need a grant, so they run only when listed.
            None => builtins
                .iter()
                .filter(|name| !crate::builtin::needs_grant(name))
                .map(|name| RuleConfig {
                    source: RuleSource::Builtin(name.to_string()),
                    settings: Vec::new(),
                    limits: defaults,
                    llm: None,
                })
                .collect(),
            Some(rules) => {
                let mut out = Vec::with_capacity(rules.len());
                for (i, rule) in rules.into_iter().enumerate() {
                    let at = format!("rules[{i}]");
                    let limits = defaults
                        .apply(&rule.limits())
                        .map_err(|m| invalid(format!("{at}.{m}")))?;
                    let source = match (rule.builtin, rule.path) {
                        (Some(name), None) => {
                            if !builtins.contains(&name.as_str()) {
                                return Err(invalid(format!(
                                    "{at}.builtin: no built-in rule named {name:?} (built-ins: {})",
                                    builtins.join(", ")
                                )));
                            }
                            RuleSource::Builtin(name)
                        }
                        (None, Some(p)) => {
                            // Relative paths are relative to the config file, not the working directory.
                            let p = if p.is_relative() {
                                path.parent().unwrap_or(Path::new(".")).join(p)
                            } else {
                                p
                            };
                            RuleSource::Path(p)
                        }
                        _ => {
                            return Err(invalid(format!(
                                "{at}: set exactly one of `builtin` or `path`"
                            )));
                        }
                    };
                    let mut settings = Vec::with_capacity(rule.settings.len());
                    for (key, value) in rule.settings {
                        let text = setting_text(&value)
                            .map_err(|m| invalid(format!("{at}.settings.{key}: {m}")))?;
                        settings.push((key, text));
                    }
                    let grant = rule
                        .llm
                        .as_ref()
                        .map(|g| crate::llm::config::grant(&at, g, &llm))
                        .transpose()
                        .map_err(invalid)?;
                    out.push(RuleConfig {
                        source,
                        settings,
                        limits,
                        llm: grant,
                    });
                }
                out
            }
        };
        let mut server = ServerConfig::default();
        if let Some(listen) = &file.server.listen {
            server.listen = listen.parse().map_err(|_| {
                invalid(format!(
                    "server.listen must be an address like {DEFAULT_LISTEN}, got {listen:?}"
                ))
            })?;
        }
        if let Some(dir) = file.server.data_dir.clone() {
            server.data_dir = Some(if dir.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(dir)
            } else {
                dir
            });
        }
        if let Some(url) = &file.server.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(invalid(format!(
                    "server.database_url must be a PostgreSQL URL (postgres://user:password@host:5432/db), got {:?}",
                    crate::store::postgres::redact_url(url)
                )));
            }
            server.database_url = Some(url.clone());
        }
        if let Some(n) = file.server.database_pool_size {
            if !(1..=1000).contains(&n) {
                return Err(invalid(format!(
                    "server.database_pool_size must be between 1 and 1000, got {n}"
                )));
            }
            server.database_pool_size = n;
        }
        if let Some(kib) = file.server.max_body_kib {
            if !(1..=1 << 20).contains(&kib) {
                return Err(invalid(format!(
                    "server.max_body_kib must be between 1 and 1048576, got {kib}"
                )));
            }
            server.max_body_bytes = (kib << 10) as usize;
        }
        if let Some(n) = file.server.min_interactions {
            server.min_interactions = n;
        }
        resolve_listener(&file.server, &mut server).map_err(invalid)?;
        let scheduler = crate::schedule::config::resolve(&file.scheduler).map_err(invalid)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let webhooks = crate::webhooks::config::resolve(&file.webhooks, base).map_err(invalid)?;
        let retention = crate::retention::resolve(&file.retention).map_err(invalid)?;
        let suggestions = crate::gate::resolve(&file.suggestions).map_err(invalid)?;
        let log = crate::telemetry::logs::resolve(&file.log).map_err(invalid)?;
        let metrics = crate::api::metrics_endpoint::resolve(&file.metrics).map_err(invalid)?;
        let rate_limit = file
            .rate_limit
            .as_ref()
            .map(crate::api::ratelimit::resolve)
            .transpose()
            .map_err(invalid)?;
        Ok(Config {
            retention,
            suggestions,
            server,
            scheduler,
            webhooks,
            log,
            metrics,
            rate_limit,
            llm,
            agent: AgentConfig {
                id: file.agent.id.unwrap_or_else(|| "agt_offline".into()),
                name: file.agent.name.unwrap_or_else(|| "agent".into()),
                system_prompt: file.agent.system_prompt,
                config_version: file.agent.config_version,
                protected_sections: file.agent.protected_sections,
            },
            chunk_size,
            rules,
            default_limits: defaults,
        })
    }

    /// Add a rule component from a file, with the default limits and no settings
    /// (`reverie dream --rule PATH`): for trying a rule without writing a config.
    pub fn add_rule_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: &str| ConfigError::Rule {
            path: path.to_path_buf(),
            message: message.to_string(),
        };
        if !path.is_file() {
            return Err(invalid(
                "no such file (give the path of a rule's .wasm component)",
            ));
        }
        if self
            .rules
            .iter()
            .any(|r| matches!(&r.source, RuleSource::Path(p) if p == path))
        {
            return Err(invalid("this rule is already in the set"));
        }
        self.rules.push(RuleConfig {
            source: RuleSource::Path(path.to_path_buf()),
            settings: Vec::new(),
            limits: self.default_limits,
            llm: None,
        });
        Ok(())
    }
}

/// A setting's value as a rule receives it: text. Tables and arrays are refused.
pub fn setting_text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a string, number or boolean, got {}",
            other.type_str()
        )),
    }
}

/// `[server]`'s connection limits and timeouts.
fn resolve_listener(file: &ServerFile, out: &mut ServerConfig) -> Result<(), String> {
    let second = Duration::from_secs(1);
    if let Some(n) = file.max_connections {
        out.listener.max_connections = bounded("server.max_connections", n, 1..=1_000_000)?;
    }
    if let Some(t) = &file.header_timeout {
        out.listener.header_timeout =
            bounded_duration("server.header_timeout", t, second, 600 * second)?;
    }
    if let Some(t) = &file.body_timeout {
        out.body_timeout = bounded_duration("server.body_timeout", t, second, 3600 * second)?;
    }
    if let Some(t) = &file.drain_timeout {
        out.listener.drain =
            bounded_duration("server.drain_timeout", t, Duration::ZERO, 600 * second)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTINS: &[&str] = &["corrections", "tool-failures"];

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/reverie/reverie.toml"), BUILTINS)
    }

    #[test]
    fn a_database_url_must_be_postgres_and_its_password_never_shows() {
        let err = parse("[server]\ndatabase_url = \"mysql://app:s3cret@db/app\"\n")
            .expect_err("not PostgreSQL")
            .to_string();
        assert!(
            err.contains("server.database_url must be a PostgreSQL URL"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
        let err = parse("[server]\ndatabase_pool_size = 0\n")
            .expect_err("no connections")
            .to_string();
        assert!(
            err.contains("server.database_pool_size must be between 1 and 1000"),
            "{err}"
        );
        let config = parse(
            "[server]\ndatabase_url = \"postgres://app:s3cret@db:5432/app\"\ndatabase_pool_size = 4\n",
        )
        .expect("valid");
        assert_eq!(
            config.server.database_url.as_deref(),
            Some("postgres://app:s3cret@db:5432/app")
        );
        assert_eq!(config.server.database_pool_size, 4);
        assert_eq!(Config::default_with(BUILTINS).server.database_url, None);
    }

    #[test]
    fn no_file_means_every_builtin_with_default_limits() {
        let config = Config::default_with(BUILTINS);
        assert_eq!(config.rules.len(), 2);
        assert_eq!(config.rules[0].limits, Limits::default());
        assert_eq!(config.chunk_size, 256);
    }

    #[test]
    fn client_limits_and_trusted_cas_are_checked_and_name_the_key() {
        let config = parse(
            "[server]\nmax_connections = 50\nheader_timeout = \"2s\"\nbody_timeout = \"1m\"\ndrain_timeout = \"0s\"\n",
        )
        .expect("valid");
        assert_eq!(config.server.listener.max_connections, 50);
        assert_eq!(
            config.server.listener.header_timeout,
            Duration::from_secs(2)
        );
        assert_eq!(config.server.body_timeout, Duration::from_secs(60));
        assert_eq!(config.server.listener.drain, Duration::ZERO);
        for (text, key) in [
            ("[server]\nmax_connections = 0\n", "server.max_connections"),
            (
                "[server]\nheader_timeout = \"0s\"\n",
                "server.header_timeout",
            ),
            ("[server]\nbody_timeout = \"soon\"\n", "server.body_timeout"),
            (
                "[webhooks]\nextra_root_certs = [\"/nonexistent/ca.pem\"]\n",
                "webhooks.extra_root_certs[0]",
            ),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), "not a certificate").expect("write");
        let err = Config::parse(
            "[webhooks]\nextra_root_certs = [\"ca.pem\"]\n",
            &dir.path().join("reverie.toml"),
            BUILTINS,
        )
        .expect_err("no certificate in the file")
        .to_string();
        assert!(
            err.contains("ca.pem") && err.contains("no PEM certificate"),
            "{err}"
        );
    }

    #[test]
    fn a_typo_is_an_error_naming_the_key() {
        let err = parse("[defaults]\nfuell = 3\n").expect_err("unknown key");
        assert!(err.to_string().contains("fuell"), "{err}");
    }

    #[test]
    fn rules_override_defaults_and_paths_are_relative_to_the_file() {
        let config = parse(
            "[defaults]\ntimeout_ms = 500\n[[rules]]\nbuiltin = \"corrections\"\n\
             [[rules]]\npath = \"rules/x.wasm\"\nmemory_mib = 16\nsettings = { port = 8080, name = \"x\" }\n",
        )
        .expect("valid");
        assert_eq!(config.rules[0].limits.timeout_ms, 500);
        assert_eq!(config.rules[1].limits.memory_bytes, 16 << 20);
        assert_eq!(config.rules[1].limits.timeout_ms, 500);
        assert_eq!(
            config.rules[1].source,
            RuleSource::Path("/etc/reverie/rules/x.wasm".into())
        );
        assert_eq!(
            config.rules[1].settings,
            vec![("name".into(), "x".into()), ("port".into(), "8080".into())]
        );
    }

    #[test]
    fn metering_is_epoch_unless_fuel_is_asked_for() {
        let config = parse(
            "[[rules]]\nbuiltin = \"corrections\"\n\
             [[rules]]\nbuiltin = \"tool-failures\"\nfuel = 1000\n\
             [[rules]]\npath = \"a.wasm\"\nmetering = \"fuel\"\n\
             [[rules]]\npath = \"b.wasm\"\nfuel = 1000\nmetering = \"epoch\"\n",
        )
        .expect("valid");
        let metering: Vec<Metering> = config.rules.iter().map(|r| r.limits.metering).collect();
        assert_eq!(
            metering,
            [
                Metering::Epoch,
                Metering::Fuel,
                Metering::Fuel,
                Metering::Epoch
            ]
        );
        // `[defaults]` sets it for every rule that does not.
        let config =
            parse("[defaults]\nmetering = \"fuel\"\n[[rules]]\nbuiltin = \"corrections\"\n")
                .expect("valid");
        assert_eq!(config.rules[0].limits.metering, Metering::Fuel);
        let err = parse("[defaults]\nmetering = \"instructions\"\n").expect_err("unknown");
        assert!(err.to_string().contains("epoch"), "{err}");
    }

    /// The documented example parses, and the defaults it states are the defaults.
    #[test]
    fn the_example_config_parses_and_states_the_real_defaults() {
        let config = Config::parse(
            include_str!("../../examples/reverie.toml"),
            Path::new("/etc/reverie/reverie.toml"),
            &crate::builtin::names(),
        )
        .expect("the example is valid");
        assert_eq!(config.scheduler, SchedulerConfig::default());
        assert_eq!(
            config.webhooks,
            crate::webhooks::config::WebhooksConfig::default()
        );
        assert_eq!(config.log, LogConfig::default());
        assert_eq!(config.metrics, MetricsEndpoint::default());
        assert_eq!(config.rate_limit, None);
        assert_eq!(
            config.retention,
            crate::retention::RetentionConfig::default()
        );
        assert_eq!(
            config.server.min_interactions,
            ServerConfig::default().min_interactions
        );
        assert_eq!(
            config.server.max_body_bytes,
            ServerConfig::default().max_body_bytes
        );
    }

    #[test]
    fn webhook_settings_are_checked_and_name_the_key() {
        let config = parse(
            "[webhooks]\nretry_schedule = [\"1s\", \"2m\"]\nallow_networks = [\"127.0.0.0/8\"]\npublic_url = \"https://r.example.com/\"\n",
        )
        .expect("valid");
        assert_eq!(
            config.webhooks.retry_schedule,
            [Duration::from_secs(1), Duration::from_secs(120)]
        );
        assert_eq!(config.webhooks.allow_networks.len(), 1);
        assert_eq!(
            config.webhooks.public_url.as_deref(),
            Some("https://r.example.com")
        );
        for (text, names) in [
            (
                "allow_networks = [\"10.0.0.0/8\", \"10.0.0.0/33\"]",
                "webhooks.allow_networks[1]",
            ),
            ("retry_schedule = [\"5\"]", "webhooks.retry_schedule"),
            ("timeout = \"1h\"", "webhooks.timeout"),
            ("public_url = \"ftp://x\"", "webhooks.public_url"),
            ("sendres = 2", "sendres"),
        ] {
            let err = parse(&format!("[webhooks]\n{text}\n")).expect_err(text);
            assert!(err.to_string().contains(names), "{text}: {err}");
        }
    }

    /// The example's `[rate_limit]` block is commented out (off is the
    /// default); uncommented, it parses to what its comments say.
    #[test]
    fn the_example_rate_limit_block_parses_when_uncommented() {
        let example = include_str!("../../examples/reverie.toml");
        let start = example
            .find("# [rate_limit]")
            .expect("the example shows [rate_limit]");
        let block: String = example[start..]
            .lines()
            .take_while(|l| l.starts_with("# "))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        let config = parse(&block).unwrap_or_else(|e| panic!("{e}:\n{block}"));
        assert_eq!(
            config.rate_limit,
            Some(RateLimitConfig {
                requests_per_second: 50.0,
                burst: 100
            })
        );
    }

    #[test]
    fn log_metrics_and_rate_limit_settings_are_checked_and_name_the_key() {
        let config = parse(
            "[log]\nformat = \"json\"\nfilter = \"warn,reverie::http=info\"\n\
             [metrics]\nendpoint = \"open\"\n[rate_limit]\nrequests_per_second = 50\n",
        )
        .expect("valid");
        assert_eq!(config.log.format, crate::telemetry::logs::LogFormat::Json);
        assert_eq!(config.metrics, MetricsEndpoint::Open);
        assert_eq!(
            config.rate_limit,
            Some(RateLimitConfig {
                requests_per_second: 50.0,
                burst: 100
            })
        );
        for (text, names) in [
            ("[log]\nformat = \"xml\"", "log.format"),
            ("[log]\nfilter = \"reverie=loud\"", "log.filter"),
            ("[metrics]\nendpoint = \"public\"", "metrics.endpoint"),
            ("[rate_limit]\nburst = 5", "rate_limit.requests_per_second"),
            (
                "[rate_limit]\nrequests_per_second = 0",
                "rate_limit.requests_per_second",
            ),
            (
                "[rate_limit]\nrequests_per_second = 5\nburst = 0",
                "rate_limit.burst",
            ),
            ("[rate_limit]\nrps = 5", "rps"),
        ] {
            let err = parse(&format!("{text}\n")).expect_err(text);
            assert!(err.to_string().contains(names), "{text}: {err}");
        }
    }

    #[test]
    fn scheduler_durations_have_units_and_bounds() {
        let config =
            parse("[scheduler]\njitter = \"90s\"\ncatch_up_window = \"2h\"\nworkers = 4\n")
                .expect("valid");
        assert_eq!(config.scheduler.jitter, Duration::from_secs(90));
        assert_eq!(config.scheduler.catch_up_window, Duration::from_secs(7200));
        assert_eq!(config.scheduler.workers, 4);
        assert_eq!(config.scheduler.lease, Duration::from_secs(60), "default");
        let err = parse("[scheduler]\nlease = \"60\"\n").expect_err("no unit");
        assert!(
            err.to_string().contains("scheduler.lease") && err.to_string().contains("unit"),
            "{err}"
        );
        let err = parse("[scheduler]\ntick = \"2d\"\n").expect_err("too long");
        assert!(err.to_string().contains("between 10ms and 1h"), "{err}");
        let err = parse("[scheduler]\njiter = \"1m\"\n").expect_err("typo");
        assert!(err.to_string().contains("jiter"), "{err}");
    }

    #[test]
    fn bad_values_name_where_they_are() {
        let err = parse("[[rules]]\nbuiltin = \"nope\"\n").expect_err("unknown builtin");
        assert!(err.to_string().contains("rules[0].builtin"), "{err}");
        let err = parse("[[rules]]\nbuiltin = \"corrections\"\nmemory_mib = 999999\n")
            .expect_err("too much memory");
        assert!(err.to_string().contains("rules[0].memory_mib"), "{err}");
        let err = parse("[[rules]]\n").expect_err("neither builtin nor path");
        assert!(err.to_string().contains("exactly one"), "{err}");
    }

    /// Both example configs for language models are valid, grant what they say, and the
    /// default rule set (no config) never includes a rule that needs a grant.
    #[test]
    fn the_model_examples_parse_and_the_default_set_needs_no_grant() {
        for (name, text) in [
            (
                "llm-local.toml",
                include_str!("../../examples/llm-local.toml"),
            ),
            (
                "llm-hosted.toml",
                include_str!("../../examples/llm-hosted.toml"),
            ),
        ] {
            let config = Config::parse(text, Path::new(name), &crate::builtin::names())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let granted: Vec<String> = config
                .rules
                .iter()
                .filter(|r| r.llm.is_some())
                .map(|r| r.source.fallback_name())
                .collect();
            assert!(
                granted.contains(&"llm-judge".to_string()),
                "{name}: {granted:?}"
            );
            assert!(
                granted.contains(&"llm-reflector".to_string()),
                "{name}: {granted:?}"
            );
        }
        let defaults = Config::default_with(&crate::builtin::names());
        assert!(defaults.rules.iter().all(|r| r.llm.is_none()));
        assert!(
            defaults
                .rules
                .iter()
                .all(|r| !crate::builtin::needs_grant(&r.source.fallback_name())),
            "{:?}",
            defaults.rules
        );
        assert_eq!(defaults.rules.len(), 7);
    }

    #[test]
    fn model_provider_mistakes_name_their_key() {
        let parse = |text: &str| Config::parse(text, Path::new("r.toml"), &["tool-failures"]);
        let err = parse(
            "[llm.providers.p]\napi = \"openai\"\nbase_url = \"http://models.example.com/v1\"\nmodel = \"m\"\napi_key_env = \"K\"\n",
        )
        .expect_err("a key in clear text to another machine");
        assert!(
            err.to_string().contains("llm.providers.p.base_url")
                && err.to_string().contains("https"),
            "{err}"
        );
        // The same over loopback is the common local case.
        parse(
            "[llm.providers.p]\napi = \"openai\"\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"m\"\napi_key_env = \"K\"\n",
        )
        .expect("a local server");
        let err = parse(
            "[llm.providers.p]\napi = \"gemini\"\nbase_url = \"https://x/v1\"\nmodel = \"m\"\n",
        )
        .expect_err("an unknown api");
        assert!(err.to_string().contains("llm.providers.p.api"), "{err}");
        let err = parse(
            "[llm.providers.p]\napi = \"anthropic\"\nbase_url = \"https://x/v1\"\nmodel = \"m\"\nembedding_model = \"e\"\n",
        )
        .expect_err("anthropic has no embeddings");
        assert!(err.to_string().contains("embedding_model"), "{err}");
        let err = parse("[llm.dream_budget]\ncalls = 0\n").expect_err("no calls at all");
        assert!(err.to_string().contains("llm.dream_budget.calls"), "{err}");
        let err = parse(
            "[llm.providers.p]\napi = \"openai\"\nbase_url = \"https://x/v1\"\nmodel = \"m\"\n\n[[rules]]\nbuiltin = \"tool-failures\"\n[rules.llm]\nprovider = \"p\"\ntime = \"forever\"\n",
        )
        .expect_err("a bad time");
        assert!(err.to_string().contains("rules[0].llm.time"), "{err}");
    }
}
