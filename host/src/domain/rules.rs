//! Rules as the host runs them: where a rule comes from, the limits every
//! call into it runs under; rules installed on a server, and each agent's
//! rule set.
//!
//! A rule is installed once, content-addressed by the sha256 of its
//! component, and any number of agents may use it. An agent's rule set lists
//! the rules its dreams run, each with its settings and limit overrides; an
//! agent without one runs the server config's rules (the default set). Plain
//! records: no I/O, no HTTP, no SQL, no wasmtime; the store, the API and the
//! dream runner convert at their edges.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::model::RuleInfo;

/// An installed rule as the server knows it: what its `info()` said at install,
/// and what it needs from the host. The component's bytes are kept beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledRule {
    /// `sha256:<64 hex>` of the component bytes: the rule's id.
    pub id: String,
    pub info: RuleInfo,
    /// The contract version the component was built against (e.g. `0.1.1`).
    pub contract: String,
    /// Host interfaces it imports beyond logging (`llm`, `window.problems`, …).
    pub capabilities: Vec<String>,
    pub size_bytes: u64,
    pub installed_at_ms: i64,
}

/// The prefix of an installed rule's id, before the component's hex digest.
pub const INSTALLED_PREFIX: &str = "sha256:";
/// The prefix of a built-in rule's reference, before its name.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// A rule an agent's set names: built into the binary, or installed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleRef {
    /// `builtin:NAME`.
    Builtin(String),
    /// `sha256:HEX`: an installed rule's id.
    Installed(String),
}

impl RuleRef {
    /// Read `builtin:NAME` or `sha256:<64 lowercase hex>`; the error says what a reference is.
    pub fn parse(text: &str) -> Result<RuleRef, String> {
        if let Some(name) = text.strip_prefix(BUILTIN_PREFIX)
            && !name.is_empty()
        {
            return Ok(RuleRef::Builtin(name.to_string()));
        }
        if let Some(hex) = text.strip_prefix(INSTALLED_PREFIX)
            && hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Ok(RuleRef::Installed(text.to_string()));
        }
        Err(format!(
            "{text:?} is not a rule: name a built-in rule as `builtin:NAME` or an installed one by its id, `sha256:` and 64 lowercase hex digits"
        ))
    }
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleRef::Builtin(name) => write!(f, "{BUILTIN_PREFIX}{name}"),
            RuleRef::Installed(id) => f.write_str(id),
        }
    }
}

impl Serialize for RuleRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RuleRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RuleRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where a rule's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    Builtin(String),
    Path(PathBuf),
    /// Installed on the server (`sha256:…`): its bytes are in the store.
    Installed(String),
}

impl RuleSource {
    /// A name to use before the rule has told us its own (e.g. when it fails to load).
    pub fn fallback_name(&self) -> String {
        match self {
            RuleSource::Builtin(name) => name.clone(),
            RuleSource::Path(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            // `sha256:` and the first 12 hex digits, as a person can tell them apart.
            RuleSource::Installed(id) => id.chars().take(19).collect(),
        }
    }

    /// Where the rule came from, as a report shows it.
    pub fn describe(&self) -> String {
        match self {
            RuleSource::Builtin(name) => format!("builtin:{name}"),
            RuleSource::Path(p) => p.display().to_string(),
            RuleSource::Installed(id) => id.clone(),
        }
    }
}

/// Hard limits on one rule, applied to every call into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How CPU time is bounded: the deadline alone, or fuel as well.
    pub metering: Metering,
    /// Fuel (roughly, wasm instructions) per call, under fuel metering. ~1e9 is ~0.1 s of CPU.
    pub fuel: u64,
    /// Wall-clock budget per call.
    pub timeout_ms: u64,
    /// Total linear memory of one rule instance, all memories together.
    pub memory_bytes: u64,
    /// Largest findings one rule may return (sum of its text).
    pub max_findings_bytes: u64,
    /// Log lines kept per rule per cycle; more are counted, not kept.
    pub max_log_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            metering: Metering::default(),
            fuel: 5_000_000_000,
            timeout_ms: 10_000,
            memory_bytes: 128 << 20,
            max_findings_bytes: 2 << 20,
            max_log_lines: 200,
        }
    }
}

/// Upper bound on `memory_mib`, so that one typo cannot ask for a 1 TiB memory cap.
pub const MAX_MEMORY_MIB: u64 = 4096;

impl Limits {
    /// These limits with those `file` sets, each checked (the error names the key).
    pub fn apply(&self, file: &LimitOverrides) -> Result<Limits, String> {
        let mut limits = *self;
        if let Some(fuel) = file.fuel {
            if fuel == 0 {
                return Err("fuel must be positive".into());
            }
            limits.fuel = fuel;
            // A fuel budget asks for fuel metering, unless the same level says otherwise.
            limits.metering = Metering::Fuel;
        }
        if let Some(metering) = file.metering {
            limits.metering = metering;
        }
        if let Some(ms) = file.timeout_ms {
            if ms == 0 {
                return Err("timeout_ms must be positive".into());
            }
            limits.timeout_ms = ms;
        }
        if let Some(mib) = file.memory_mib {
            if mib == 0 || mib > MAX_MEMORY_MIB {
                return Err(format!(
                    "memory_mib must be between 1 and {MAX_MEMORY_MIB}, got {mib}"
                ));
            }
            limits.memory_bytes = mib << 20;
        }
        if let Some(kib) = file.max_findings_kib {
            if kib == 0 {
                return Err("max_findings_kib must be positive".into());
            }
            limits.max_findings_bytes = kib << 10;
        }
        if let Some(n) = file.max_log_lines {
            limits.max_log_lines = n;
        }
        Ok(limits)
    }
}

/// How the CPU time of a rule's calls is bounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metering {
    /// The wall-clock deadline (`timeout_ms`) alone, checked by epoch
    /// interruption: the cheapest bound, and the default.
    #[default]
    Epoch,
    /// Fuel as well: a deterministic, machine-independent bound on the work of
    /// one call (`fuel`), and the `fuel_used` a report shows, for calls 14–19%
    /// slower (docs/BENCHMARKS.md, "Metering").
    Fuel,
}

/// Limits one rule of one agent runs under, over the server's `[defaults]`.
/// The keys are the config file's, so an operator writes them the same way in
/// both places.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// `None`: fuel when `fuel` is given at the same level, else what the level
    /// below says (the default: epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metering: Option<Metering>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_findings_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_log_lines: Option<usize>,
}

/// One rule of an agent's set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSetEntry {
    pub rule: RuleRef,
    /// The rule's settings, as text, in the order given.
    #[serde(default)]
    pub settings: Vec<(String, String)>,
    #[serde(default)]
    pub limits: LimitOverrides,
}

/// The rules an agent's dreams run, in order (the order decides which rule's
/// key names a merged problem, as in the config).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<RuleSetEntry>,
    pub updated_at_ms: i64,
}

impl RuleSet {
    /// The installed rules it uses, each once.
    pub fn installed(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .rules
            .iter()
            .filter_map(|e| match &e.rule {
                RuleRef::Installed(id) => Some(id.as_str()),
                RuleRef::Builtin(_) => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reference_is_a_builtin_name_or_an_installed_id() {
        assert_eq!(
            RuleRef::parse("builtin:tool-failures"),
            Ok(RuleRef::Builtin("tool-failures".into()))
        );
        let id = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(RuleRef::parse(&id), Ok(RuleRef::Installed(id.clone())));
        for bad in [
            "tool-failures",
            "builtin:",
            "sha256:abc",
            &format!("sha256:{}", "AB".repeat(32)),
            "/etc/rules/x.wasm",
        ] {
            let e = RuleRef::parse(bad).expect_err("not a rule reference");
            assert!(e.contains("builtin:NAME"), "{bad}: {e}");
        }
    }
}
