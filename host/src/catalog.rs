//! The rules a server runs: the config's rules (the default set), rules
//! installed over the API, and each agent's own set.
//!
//! A rule is installed once: its imports and contract are checked, it is
//! compiled (into the compile cache, so a restart does not compile it again)
//! and its `info()` is read, and only then are its bytes stored, keyed by
//! their sha256. An agent's set names built-in and installed rules with
//! settings and limit overrides; it is checked here against each rule's
//! declared settings before it is stored, and a dream turns it into the
//! cycle's rule slots. An agent without a set runs the config's rules.
//!
//! This is the one place on the server that joins the store and the sandbox:
//! the API and the dream workers call it, and it does not know HTTP.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::cycle::RuleSlot;
use crate::domain::rules::{Limits, Metering, RuleSource};
use crate::plugins::{LoadedRule, RuleFailure, Runtime, hex};
use crate::store::{
    INSTALLED_PREFIX, InstalledRule, LimitOverrides, RuleRef, RuleSet, RuleSetEntry, Store,
    StoreError,
};

/// Why a component was not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The component was refused (imports, contract, compile, `info()`).
    #[error("{0}")]
    Refused(RuleFailure),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A problem with one entry of a rule set: the field (`rules[1].settings.x`)
/// and what is wrong with it.
pub type SetError = (String, String);

/// One rule of the set a dream would run, as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SetRule {
    /// `builtin:NAME`, `sha256:…`, or a config file's path.
    pub rule: String,
    pub name: String,
    pub settings: Vec<(String, String)>,
    pub limits: Limits,
}

/// The config's rules, loaded once at start, and the installed and built-in
/// rules agents' sets name, loaded when first needed.
pub struct Catalog {
    runtime: Runtime,
    config: Config,
    /// The config's rules, in its order.
    defaults: Vec<Result<LoadedRule, RuleFailure>>,
    /// Built-in and installed rules by reference (`builtin:x`, `sha256:…`),
    /// compiled for one metering each.
    loaded: Mutex<HashMap<(RuleRef, Metering), LoadedRule>>,
    /// One install compiles at a time: an 18 MB component takes tens of
    /// seconds of CPU, and two at once would starve the dreams.
    installing: Mutex<()>,
}

impl Catalog {
    /// Load the config's rules. A rule that cannot be loaded is logged, and
    /// reported as failed in every dream that runs it.
    pub fn new(runtime: Runtime, config: Config) -> Catalog {
        let defaults = config
            .rules
            .iter()
            .map(|rule| {
                let loaded =
                    runtime.load_source(&rule.source, rule.llm.is_some(), rule.limits.metering);
                if let Ok(l) = &loaded
                    && l.imports.llm
                    && rule.llm.is_none()
                {
                    tracing::error!(
                        rule = %l.info.name,
                        "the rule calls a language model but has no [rules.llm] grant: it will be reported as failed in every dream"
                    );
                }
                if let Err(failure) = &loaded {
                    tracing::error!(
                        rule = %rule.source.fallback_name(),
                        error = %failure.message,
                        "the rule cannot be loaded: it will be reported as failed in every dream"
                    );
                }
                loaded
            })
            .collect();
        Catalog {
            runtime,
            config,
            defaults,
            loaded: Mutex::new(HashMap::new()),
            installing: Mutex::new(()),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Install `component`: checked, compiled and described before anything is
    /// stored. Returns the rule and whether it is new (the same bytes installed
    /// again are the same rule, and are not compiled again).
    pub fn install(
        &self,
        store: &dyn Store,
        component: &[u8],
        now_ms: i64,
    ) -> Result<(InstalledRule, bool), InstallError> {
        let id = format!("{INSTALLED_PREFIX}{}", hex(&Sha256::digest(component)));
        if let Some(rule) = store.get_rule(&id)? {
            return Ok((rule, false));
        }
        let loaded = {
            let _one_at_a_time = self.installing.lock().unwrap_or_else(|p| p.into_inner());
            self.runtime
                .load_metered(
                    &RuleSource::Installed(id.clone()),
                    component,
                    self.config.default_limits.metering,
                )
                .map_err(InstallError::Refused)?
        };
        let rule = InstalledRule {
            id: id.clone(),
            info: loaded.info.clone(),
            contract: loaded.contract.clone(),
            capabilities: loaded.imports.capabilities(),
            size_bytes: component.len() as u64,
            installed_at_ms: now_ms,
        };
        let new = store.install_rule(&rule, component)?;
        self.remember(&RuleRef::Installed(id), loaded);
        Ok((rule, new))
    }

    /// Forget a removed rule's compiled forms (their cache artefacts age out).
    pub fn forget(&self, id: &str) {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(rule, _), _| !matches!(rule, RuleRef::Installed(i) if i == id));
    }

    /// Check a rule set an agent is to run: every rule exists and can run
    /// without a grant the server has not given, every setting is one the rule
    /// declared, every limit is in range. All problems are returned at once.
    pub fn check_set(&self, store: &dyn Store, rules: &[RuleSetEntry]) -> Vec<SetError> {
        let mut errors = Vec::new();
        for (i, entry) in rules.iter().enumerate() {
            let at = |field: &str| format!("rules[{i}].{field}");
            if rules[..i].iter().any(|e| e.rule == entry.rule) {
                errors.push((
                    at("rule"),
                    format!(
                        "{} is in the set already; a rule runs once per dream",
                        entry.rule
                    ),
                ));
                continue;
            }
            let (declared, needs_grant) = match &entry.rule {
                RuleRef::Builtin(name) => {
                    match self.load(store, &entry.rule, self.config.default_limits.metering) {
                        Ok(rule) => (
                            rule.info.settings,
                            rule.imports.llm && self.grant_for(name).is_none(),
                        ),
                        Err(_) => {
                            errors.push((
                                at("rule"),
                                format!(
                                    "there is no built-in rule {name:?} (there are: {})",
                                    crate::builtin::names().join(", ")
                                ),
                            ));
                            continue;
                        }
                    }
                }
                RuleRef::Installed(id) => match store.get_rule(id) {
                    Ok(Some(rule)) => (
                        rule.info.settings,
                        rule.capabilities.iter().any(|c| c == "llm"),
                    ),
                    Ok(None) => {
                        errors.push((
                            at("rule"),
                            format!("no rule {id} is installed (POST it to /v1/rules first)"),
                        ));
                        continue;
                    }
                    Err(e) => {
                        errors.push((at("rule"), format!("cannot be read: {e}")));
                        continue;
                    }
                },
            };
            if needs_grant {
                errors.push((
                    at("rule"),
                    format!(
                        "{} calls a language model, and model grants are given only in the server config (a `[[rules]]` entry with `[rules.llm]`)",
                        entry.rule
                    ),
                ));
            }
            for (key, _) in &entry.settings {
                if !declared.iter().any(|s| &s.name == key) {
                    let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
                    errors.push((
                        at(&format!("settings.{key}")),
                        if names.is_empty() {
                            format!("{} declares no settings", entry.rule)
                        } else {
                            format!(
                                "{} declares no setting {key:?} (it has: {})",
                                entry.rule,
                                names.join(", ")
                            )
                        },
                    ));
                }
            }
            if let Err(e) = self.config.default_limits.apply(&entry.limits) {
                errors.push((at("limits"), e));
            }
        }
        errors
    }

    /// The rules a dream of `agent_id` runs: its own set, or the config's.
    pub fn slots(&self, store: &dyn Store, agent_id: &str) -> Result<Vec<RuleSlot>, StoreError> {
        let Some(set) = store.get_rule_set(agent_id)? else {
            return Ok(self.default_slots());
        };
        Ok(set
            .rules
            .iter()
            .map(|entry| {
                let source = match &entry.rule {
                    RuleRef::Builtin(name) => RuleSource::Builtin(name.clone()),
                    RuleRef::Installed(id) => RuleSource::Installed(id.clone()),
                };
                let llm = match &entry.rule {
                    RuleRef::Builtin(name) => self.grant_for(name),
                    RuleRef::Installed(_) => None,
                };
                let limits = self.limits(&entry.limits);
                RuleSlot {
                    limits,
                    settings: entry.settings.clone(),
                    llm,
                    loaded: self.load(store, &entry.rule, limits.metering),
                    source,
                }
            })
            .collect())
    }

    /// The rule set a dream of `agent_id` runs, as the API shows it, and
    /// whether it is the agent's own (`false`: the config's).
    pub fn describe(
        &self,
        store: &dyn Store,
        agent_id: &str,
    ) -> Result<(Vec<SetRule>, Option<RuleSet>), StoreError> {
        let set = store.get_rule_set(agent_id)?;
        let slots = match &set {
            Some(_) => self.slots(store, agent_id)?,
            None => self.default_slots(),
        };
        let rules = slots
            .into_iter()
            .map(|slot| SetRule {
                rule: slot.source.describe(),
                name: match &slot.loaded {
                    Ok(rule) => rule.info.name.clone(),
                    Err(_) => slot.source.fallback_name(),
                },
                settings: slot.settings,
                limits: slot.limits,
            })
            .collect();
        Ok((rules, set))
    }

    fn default_slots(&self) -> Vec<RuleSlot> {
        self.config
            .rules
            .iter()
            .zip(&self.defaults)
            .map(|(rule, loaded)| RuleSlot {
                source: rule.source.clone(),
                limits: rule.limits,
                settings: rule.settings.clone(),
                llm: rule.llm.clone(),
                loaded: loaded.clone(),
            })
            .collect()
    }

    /// `[defaults]` with an entry's overrides (checked when the set was stored;
    /// a value out of range since then falls back to the default).
    fn limits(&self, overrides: &LimitOverrides) -> Limits {
        self.config
            .default_limits
            .apply(overrides)
            .unwrap_or(self.config.default_limits)
    }

    /// The config's model grant for a built-in rule, if it lists one.
    fn grant_for(&self, name: &str) -> Option<crate::llm::config::Grant> {
        self.config
            .rules
            .iter()
            .find(|r| matches!(&r.source, RuleSource::Builtin(n) if n == name))
            .and_then(|r| r.llm.clone())
    }

    /// A built-in or installed rule, compiled once per process (and from the
    /// compile cache after a restart).
    fn load(
        &self,
        store: &dyn Store,
        rule: &RuleRef,
        metering: Metering,
    ) -> Result<LoadedRule, RuleFailure> {
        if let Some(loaded) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(rule.clone(), metering))
        {
            return Ok(loaded.clone());
        }
        let loaded = match rule {
            RuleRef::Builtin(name) => {
                let granted = self.grant_for(name).is_some();
                self.runtime
                    .load_source(&RuleSource::Builtin(name.clone()), granted, metering)?
            }
            RuleRef::Installed(id) => {
                let bytes = store
                    .rule_component(id)
                    .map_err(|e| {
                        RuleFailure::new(
                            crate::plugins::FailureKind::LoadError,
                            format!("cannot read {id} from the store: {e}"),
                        )
                    })?
                    .ok_or_else(|| {
                        RuleFailure::new(
                            crate::plugins::FailureKind::LoadError,
                            format!("{id} is no longer installed"),
                        )
                    })?;
                self.runtime
                    .load_metered(&RuleSource::Installed(id.clone()), &bytes, metering)?
            }
        };
        self.remember(rule, loaded.clone());
        Ok(loaded)
    }

    fn remember(&self, rule: &RuleRef, loaded: LoadedRule) {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((rule.clone(), loaded.metering), loaded);
    }
}
