//! reverie: dreaming for AI agents.
//!
//! The library behind the `reverie` binary. A dreaming cycle reads an agent's
//! interactions and feedback ([`input`]), streams them in chunks through sandboxed
//! rules ([`plugins`], driven by [`cycle`]), merges what the rules found
//! ([`merge`]), measures the agent's accuracy ([`metrics`]) and builds a report
//! ([`report`]). [`config`] is the strict TOML configuration; [`model`] the
//! domain vocabulary every module shares.

pub mod api;
pub mod authoring;
pub mod catalog;
// The domain's ids, clock and rule vocabulary, at the paths the rest of the crate uses.
pub use domain::{clock, ids, model};
pub mod cli;
pub mod client;
pub mod config;
pub mod cycle;
pub mod domain;
pub mod dreams;
pub mod gate;
pub mod import;
pub mod input;
pub mod listener;
pub mod llm;
pub mod merge;
pub mod metrics;
pub mod plugins;
pub mod report;
pub mod retention;
pub mod schedule;
pub mod score;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod units;
pub mod webhooks;

/// Rules compiled into the binary by `build.rs`: (config name, component bytes).
pub mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

    /// The names of the built-in rules, for config validation: the rules
    /// without a model, then those that need one.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = BUILTIN_RULES.iter().map(|(name, _)| *name).collect();
        for (name, _) in LLM_BUILDS {
            if !names.contains(name) {
                names.push(name);
            }
        }
        names
    }

    /// The component bytes of a built-in rule. `granted`: the rule has a
    /// language-model grant, so its build that calls the model is taken where
    /// there is one (`feedback-themes` groups by meaning with it).
    pub fn bytes(name: &str, granted: bool) -> Option<&'static [u8]> {
        let with_model = || {
            LLM_BUILDS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, bytes)| *bytes)
        };
        let plain = || {
            BUILTIN_RULES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, bytes)| *bytes)
        };
        if granted {
            with_model().or_else(plain)
        } else {
            plain().or_else(with_model)
        }
    }

    /// Whether a built-in rule calls a model and so needs a grant to load
    /// (it has no build without one). Such rules run only when a config lists them.
    pub fn needs_grant(name: &str) -> bool {
        !BUILTIN_RULES.iter().any(|(n, _)| *n == name) && LLM_BUILDS.iter().any(|(n, _)| *n == name)
    }
}
