//! The guest SDK for reverie rules.
//!
//! A rule is a type that implements [`Rule`]; [`export_rule!`] turns it into a
//! WebAssembly component implementing the `reverie:rules@0.1.1` contract (see
//! `wit/rules.wit`). The generated bindings live in the private `bindings`
//! module: rule authors see the contract's types re-exported here and an
//! idiomatic trait, never `wit_bindgen` itself.
//!
//! The same rule code compiles natively, so a rule's unit tests are ordinary
//! `cargo test`; only the export (and the host's `log` import, which prints to
//! stderr natively) is wasm-specific.
//!
//! Besides the contract, the SDK holds what rules share, since a rule crate
//! cannot link another rule crate into its component (both would export the
//! contract): the structural signals the built-in rules rest on
//! ([`tool_errors`], [`retries`], [`actions`]), readers of what agents send
//! ([`json`], [`text`]), the small helpers of findings ([`finding`]), and,
//! for native tests only, the workspace's example datasets (`examples`,
//! behind the feature of that name).

pub mod actions;
pub mod arena;
#[cfg(feature = "examples")]
pub mod examples;
pub mod finding;
pub mod json;
#[cfg(feature = "llm")]
pub mod llm;
pub mod retries;
pub mod text;
pub mod tool_errors;
pub mod window;

/// The generated bindings. Without the `llm` feature a rule targets
/// `rule-world`, which imports only logging; with it, `llm-rule-world`, which
/// also imports the language model (and so loads only with a grant).
#[doc(hidden)]
pub mod bindings {
    #[cfg(not(feature = "llm"))]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "rule-world",
        pub_export_macro: true,
        default_bindings_module: "reverie_rule_sdk::bindings",
    });
    #[cfg(feature = "llm")]
    wit_bindgen::generate!({
        path: "../../wit",
        world: "llm-rule-world",
        pub_export_macro: true,
        default_bindings_module: "reverie_rule_sdk::bindings",
    });
}

use std::cell::RefCell;
use std::marker::PhantomData;

pub use bindings::reverie::rules::types::{
    Chunk, CycleContext, Edit, Feedback, FeedbackSource, Findings, InferredFeedback, Inputs,
    Interaction, Message, Metric, Pattern, Rating, ReplaceText, Role, RuleInfo, SetSetting,
    SettingSpec, Severity, Stage, Suggestion, ToolCall,
};

/// The contract version this SDK builds rules against.
pub const CONTRACT_VERSION: &str = "0.1.1";

/// The most interaction ids a pattern's `evidence` should hold. Evidence is
/// every interaction that shows the pattern, in window order, up to this many:
/// the host merges the patterns of all rules into problems by the interactions
/// they share, so a sample (the 20 a report shows) would split one problem in
/// two. Past this many, the first ids are a fair picture and the count is in
/// `occurrences`.
pub const MAX_EVIDENCE: usize = 5_000;

/// A rule: created once per cycle, fed chunks, finished into findings.
///
/// Only [`Rule::info`], [`Rule::new`] and [`Rule::finish`] are required. A rule
/// that declares the `detect` stage overrides [`Rule::detect`]; one that declares
/// `analyse` overrides [`Rule::analyse`].
pub trait Rule: Sized + 'static {
    /// Describe the rule. Must not depend on input.
    fn info() -> RuleInfo;

    /// Start a cycle. Return `Err` for invalid settings: the message is shown
    /// in the report as this rule's failure reason.
    fn new(context: CycleContext) -> Result<Self, String>;

    /// Infer feedback from a chunk. Each item must name an interaction of `interactions`.
    fn detect(&mut self, interactions: Vec<Interaction>) -> Result<Vec<InferredFeedback>, String> {
        let _ = interactions;
        Ok(Vec::new())
    }

    /// Read a chunk with its explicit and inferred feedback.
    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        let _ = chunk;
        Ok(())
    }

    /// Return the findings for the whole window.
    fn finish(&mut self) -> Result<Findings, String>;
}

/// Look up a setting by name in the cycle context.
pub fn setting<'a>(context: &'a CycleContext, name: &str) -> Option<&'a str> {
    context
        .settings
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parse a setting, or use `default` when it is absent. The error names the setting.
pub fn setting_or<T: std::str::FromStr>(
    context: &CycleContext,
    name: &str,
    default: T,
) -> Result<T, String> {
    match setting(context, name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("setting `{name}`: cannot parse {raw:?}")),
    }
}

/// The context a cycle gives a rule, for a rule's own native tests: an agent
/// with this live `system_prompt` and these `settings`, an unbounded window.
pub fn test_context(system_prompt: &str, settings: &[(&str, &str)]) -> CycleContext {
    CycleContext {
        agent_id: "agt_test".into(),
        agent_name: "test agent".into(),
        system_prompt: system_prompt.into(),
        config_version: "v1".into(),
        window_start_ms: None,
        window_end_ms: None,
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Structured logging: kept in the report's run log for this rule.
pub mod log {
    use crate::bindings::reverie::rules::log::Level;

    fn emit(level: Level, message: &str, fields: &[(&str, &str)]) {
        #[cfg(target_arch = "wasm32")]
        {
            let fields: Vec<(String, String)> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            crate::bindings::reverie::rules::log::log(level, message, &fields);
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            eprintln!("[{level:?}] {message} {fields:?}");
        }
    }

    pub fn debug(message: &str, fields: &[(&str, &str)]) {
        emit(Level::Debug, message, fields)
    }
    pub fn info(message: &str, fields: &[(&str, &str)]) {
        emit(Level::Info, message, fields)
    }
    pub fn warn(message: &str, fields: &[(&str, &str)]) {
        emit(Level::Warn, message, fields)
    }
    pub fn error(message: &str, fields: &[(&str, &str)]) {
        emit(Level::Error, message, fields)
    }

    /// One line of a run log, built before it is emitted, so that a rule's
    /// native tests can read what its run log will say.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Line {
        pub message: String,
        pub fields: Vec<(String, String)>,
    }

    /// A [`Line`] with its figures.
    pub fn line(message: impl Into<String>, fields: &[(&str, String)]) -> Line {
        Line {
            message: message.into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        }
    }

    /// Emit each line at `info` level, in order.
    pub fn info_all(lines: &[Line]) {
        for l in lines {
            let fields: Vec<(&str, &str)> = l
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            info(&l.message, &fields);
        }
    }
}

/// The adapter between the generated bindings and a [`Rule`]. Not for direct use.
#[doc(hidden)]
pub struct Component<R>(PhantomData<R>);

#[doc(hidden)]
pub struct AnalyserState<R>(RefCell<R>);

use bindings::exports::reverie::rules::rule::{Analyser, Guest, GuestAnalyser};

/// Marks the rule's own code running (see [`arena`]): only in a component, where
/// the arena is the allocator; natively there is nothing to mark.
fn enter() -> Option<arena::Call> {
    cfg!(target_arch = "wasm32").then(arena::Call::enter)
}

impl<R: Rule> Guest for Component<R> {
    type Analyser = AnalyserState<R>;

    fn info() -> RuleInfo {
        let _call = enter();
        R::info()
    }
}

impl<R: Rule> GuestAnalyser for AnalyserState<R> {
    fn create(context: CycleContext) -> Result<Analyser, String> {
        let _call = enter();
        R::new(context).map(|rule| Analyser::new(AnalyserState(RefCell::new(rule))))
    }

    fn detect(&self, interactions: Vec<Interaction>) -> Result<Vec<InferredFeedback>, String> {
        let _call = enter();
        self.0.borrow_mut().detect(interactions)
    }

    fn analyse(&self, chunk: Chunk) -> Result<(), String> {
        let _call = enter();
        self.0.borrow_mut().analyse(chunk)
    }

    fn finish(&self) -> Result<Findings, String> {
        let _call = enter();
        self.0.borrow_mut().finish()
    }
}

/// Export a [`Rule`] as the component's implementation of the contract.
///
/// ```ignore
/// struct MyRule;
/// impl reverie_rule_sdk::Rule for MyRule { /* ... */ }
/// reverie_rule_sdk::export_rule!(MyRule);
/// ```
///
/// Expands to nothing on native targets, so a rule crate can be linked into
/// native tests and benchmarks beside other rules. In a component it also
/// installs the SDK's allocator (see [`arena`]), so a rule crate does not define
/// its own `#[global_allocator]`.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type ReverieRuleComponent = $crate::Component<$rule>;
    $crate::bindings::export!(ReverieRuleComponent with_types_in $crate::bindings);
        };
        // Arguments of calls are bump-allocated (see `reverie_rule_sdk::arena`).
        #[cfg(target_arch = "wasm32")]
        #[global_allocator]
        static REVERIE_ALLOCATOR: $crate::arena::Allocator = $crate::arena::Allocator;
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        unsafe extern "C" fn cabi_realloc(
            old: *mut u8,
            old_len: usize,
            align: usize,
            new_len: usize,
        ) -> *mut u8 {
            // SAFETY: called by the canonical ABI, with `Allocator` installed above.
            unsafe { $crate::arena::cabi_realloc(old, old_len, align, new_len) }
        }
    };
}
