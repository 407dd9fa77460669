//! The facade over wasmtime: the only module that knows rules are WebAssembly.
//!
//! It owns the engines (epoch interruption and the pooling allocator; one with
//! fuel metering, one without, as each rule's [`Metering`] asks),
//! the on-disk cache of compiled components, the contract and import checks made
//! at load time, and each rule instance's store: WASI with nothing granted (no
//! preopened directories, no environment, no sockets, frozen clocks, stdout and
//! stderr captured into bounded buffers), a limiter on the instance's total
//! memory, and the rule's log. Every call into a rule is armed with a
//! wall-clock deadline (and fresh fuel, under fuel metering), and every failure is classified into a
//! [`FailureKind`] the report can show. Callers see domain types only; the
//! generated WIT types stay in [`bindings`].
//!
//! It also serves the contract's host interfaces: `window` (the chunk's
//! explicit ratings; the other rules' problems at `finish`) and `llm`, which
//! forwards to the rule's [`Gateway`] when the operator granted one. A rule
//! that imports `llm` without a grant does not start ([`Runtime::start`]);
//! time spent waiting for the model is taken out of the call's deadline by the
//! epoch callback, since the grant's own time budget bounds it.

mod bindings;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceAny, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::domain::rules::{Limits, Metering, RuleSource};
use crate::llm::{Gateway, UsageReport};
use crate::model::{
    CycleContext, Feedback, Findings, InferredFeedback, Inputs, Interaction, ProblemBrief, Rating,
    RuleInfo,
};
use bindings::{RuleWorld, RuleWorldPre, wit};

/// The contract package rules export, and the version this host implements.
pub const CONTRACT_INTERFACE: &str = "reverie:rules/rule";
pub const CONTRACT_VERSION: &str = "0.1.1";
/// The model interface: importing it declares that the rule calls a model.
const LLM_INTERFACE: &str = "reverie:rules/llm@";
const WINDOW_INTERFACE: &str = "reverie:rules/window@";

/// How often the epoch advances: the granularity of wall-clock deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(5);
/// Captured guest stdout/stderr per instance. Writing past it traps the rule.
const OUTPUT_CAPACITY: usize = 64 * 1024;
/// Longest log message kept; longer ones are cut.
const MAX_LOG_MESSAGE: usize = 2048;
/// Fuel and time for calling `info()` at load time.
const INFO_FUEL: u64 = 100_000_000;
const INFO_TIMEOUT: Duration = Duration::from_secs(5);
/// Concurrent rule instances the pooling allocator has slots for.
const POOL_INSTANCES: u32 = 64;

/// The WASI interfaces a rule may import. A Rust guest built for wasm32-wasip2
/// imports io and cli even if it never prints, clocks and random for std's
/// `HashMap`, and filesystem for std's `fs` (which fails: nothing is preopened).
/// Sockets, HTTP and anything else are refused at load time.
const ALLOWED_IMPORT_PREFIXES: &[&str] = &[
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    // Language runtimes (componentize-py, componentize-js) link these whether or
    // not the rule uses them. Importing grants nothing: the WASI context allows no
    // TCP, UDP or name lookup, and `wasi:http` is linked to functions that trap.
    "wasi:sockets/",
    "wasi:http/",
    "reverie:rules/",
];

/// Imports linked to trapping functions rather than to an implementation.
const TRAPPED_IMPORT_PREFIXES: &[&str] = &["wasi:http/"];

pub use crate::domain::findings::{FailureKind, LogLine, MAX_EVIDENCE, RuleFailure, truncate};

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// What it cost to run a rule for one cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    pub duration: Duration,
    pub fuel_used: u64,
    pub peak_memory_bytes: u64,
    /// The calls into the rule, and the costliest one: what the per-call limits bound.
    pub calls: crate::domain::findings::CallStats,
    pub log: Vec<LogLine>,
    pub log_lines_dropped: u64,
    /// What the rule wrote to stdout and stderr (bounded).
    pub output: String,
    /// Its use of a language model, when it was granted one (boxed: most rules have none).
    pub llm: Option<Box<UsageReport>>,
}

/// The data of one rule instance's store.
pub struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: TotalMemoryLimiter,
    log: Vec<LogLine>,
    max_log_lines: usize,
    log_lines_dropped: u64,
    /// The guest's stdout and stderr, bounded by [`OUTPUT_CAPACITY`].
    output: MemoryOutputPipe,
    /// The rule's model, when it was granted one.
    llm: Option<Gateway>,
    /// Explicit ratings of the chunk in hand (`window.explicit-rating`).
    explicit: Arc<HashMap<String, Rating>>,
    /// The other rules' problems, set before `finish` of a rule that reads them.
    problems: Arc<Vec<ProblemBrief>>,
    /// The call in progress, for its deadline.
    call: CallClock,
}

/// When the current call started, how long it may run, and how much of that
/// it spent waiting for the model (which its deadline does not count).
#[derive(Debug, Clone, Copy)]
struct CallClock {
    started: Instant,
    timeout: Duration,
    waited: Duration,
}

impl CallClock {
    /// The epoch callback's verdict: time the rule itself used against its timeout.
    fn update(&self) -> UpdateDeadline {
        let busy = self.started.elapsed().saturating_sub(self.waited);
        if busy >= self.timeout {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Continue(ticks(self.timeout - busy))
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::generated::reverie::rules::types::Host for StoreData {}

impl bindings::generated::reverie::rules::window::Host for StoreData {
    fn explicit_rating(&mut self, interaction_id: String) -> Option<wit::Rating> {
        self.explicit
            .get(&interaction_id)
            .map(|r| bindings::rating(*r))
    }

    fn problems(&mut self) -> Vec<bindings::WitProblemBrief> {
        self.problems.iter().map(bindings::problem_brief).collect()
    }
}

impl bindings::generated::reverie::rules::llm::Host for StoreData {
    fn chat(
        &mut self,
        request: bindings::wit_llm::ChatRequest,
    ) -> Result<bindings::wit_llm::ChatResponse, bindings::wit_llm::LlmError> {
        let Some(gateway) = self.llm.as_mut() else {
            return Err(no_grant());
        };
        let started = Instant::now();
        let answer = gateway.chat(bindings::chat_request(request));
        self.call.waited += started.elapsed();
        answer
            .map(bindings::chat_answer)
            .map_err(bindings::llm_error)
    }

    fn embed(
        &mut self,
        texts: Vec<String>,
    ) -> Result<bindings::wit_llm::Embeddings, bindings::wit_llm::LlmError> {
        let Some(gateway) = self.llm.as_mut() else {
            return Err(no_grant());
        };
        let started = Instant::now();
        let answer = gateway.embed(texts);
        self.call.waited += started.elapsed();
        answer
            .map(bindings::embed_answer)
            .map_err(bindings::llm_error)
    }

    fn remaining(&mut self) -> bindings::wit_llm::BudgetLeft {
        match &self.llm {
            Some(gateway) => bindings::budget_left(gateway.left()),
            None => bindings::budget_left(crate::llm::budget::Left::NONE),
        }
    }
}

/// What a call to the model answers when the rule has no grant. Such a rule
/// does not start, so only `info()` at load time could see it.
fn no_grant() -> bindings::wit_llm::LlmError {
    bindings::wit_llm::LlmError::InvalidRequest("this rule has no language-model grant".into())
}

impl bindings::generated::reverie::rules::log::Host for StoreData {
    fn log(&mut self, level: bindings::Level, message: String, fields: Vec<(String, String)>) {
        if self.log.len() >= self.max_log_lines {
            self.log_lines_dropped += 1;
            return;
        }
        let cut = |s: String| truncate(&s, MAX_LOG_MESSAGE);
        self.log.push(LogLine {
            level: bindings::level_name(level).to_string(),
            message: cut(message),
            fields: fields
                .into_iter()
                .take(32)
                .map(|(k, v)| (cut(k), cut(v)))
                .collect(),
        });
    }
}

/// Caps the sum of all linear memories of one instance. wasmtime's `StoreLimits`
/// caps each memory separately, so a component with several memories could use
/// a multiple of the cap; this one sums them, and remembers that the cap was hit
/// so a guest that aborts on a failed allocation is reported as out of memory.
struct TotalMemoryLimiter {
    cap: u64,
    total: u64,
    peak: u64,
    hit: bool,
}

impl wasmtime::ResourceLimiter for TotalMemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current) as u64;
        if self.total + grow > self.cap {
            self.hit = true;
            return Ok(false);
        }
        self.total += grow;
        self.peak = self.peak.max(self.total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Clocks frozen at the end of the cycle's window: a rule sees no time but what
/// the host passes, so its findings cannot depend on when it ran.
struct FrozenClock(Duration);

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// What the compile cache may hold before the least recently used artefacts
/// go: a rebuilt rule leaves its old artefact behind (~40 MB for a Python
/// rule), and nothing else would ever remove it.
pub const DEFAULT_CACHE_CAP: u64 = 512 << 20;

/// An engine with its linker. Fuel metering is compiled into a component's
/// code, so each metering has an engine (and compiled artefacts) of its own.
struct Sandbox {
    engine: Engine,
    linker: Linker<StoreData>,
    fuel: bool,
}

/// The engines, their linkers and the epoch ticker. One per process.
pub struct Runtime {
    /// Epoch deadlines alone.
    epoch: Sandbox,
    /// Fuel as well.
    fuel: Sandbox,
    cache_dir: Option<PathBuf>,
    stop_ticker: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

/// A rule compiled, checked and pre-instantiated: starting it costs microseconds.
#[derive(Clone)]
pub struct LoadedRule {
    pub info: RuleInfo,
    pub source: RuleSource,
    /// sha256 of the component bytes.
    pub digest: String,
    /// The contract version it was built against (`0.1.1`).
    pub contract: String,
    /// How its calls are bounded (the engine it was compiled for).
    pub metering: Metering,
    /// Which host interfaces it imports beyond logging.
    pub imports: RuleImports,
    pre: RuleWorldPre<StoreData>,
}

/// The host interfaces a rule imports, read from its component at load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleImports {
    /// `llm`: it calls a model, and needs a grant to start.
    pub llm: bool,
    /// `window.explicit-rating`: the chunk's explicit ratings must be at hand.
    pub explicit_rating: bool,
    /// `window.problems`: it is finished after the other rules.
    pub problems: bool,
}

impl RuleImports {
    /// What the rule asks of the host beyond logging, as the API lists it.
    pub fn capabilities(&self) -> Vec<String> {
        [
            (self.llm, "llm"),
            (self.explicit_rating, "window.explicit-rating"),
            (self.problems, "window.problems"),
        ]
        .iter()
        .filter(|(has, _)| *has)
        .map(|(_, name)| name.to_string())
        .collect()
    }
}

impl Runtime {
    /// Build the engine. `cache_dir`, when given, keeps compiled components
    /// across runs, keyed by component digest and engine compatibility.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Runtime, PluginError> {
        let epoch = Sandbox::new(false)?;
        let fuel = Sandbox::new(true)?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engines = [epoch.engine.clone(), fuel.engine.clone()];
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("reverie-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        for engine in &engines {
                            engine.increment_epoch();
                        }
                    }
                })
                .map_err(|e| PluginError::Engine(format!("cannot start the epoch ticker: {e}")))?
        };
        Ok(Runtime {
            epoch,
            fuel,
            cache_dir,
            stop_ticker,
            ticker: Some(ticker),
        })
    }

    /// Read a configured rule's component (built into the binary, or a file)
    /// and [`load`](Self::load) it. `granted`: the rule has a model grant, so
    /// a built-in rule's build that calls the model is taken where there is one.
    pub fn load_source(
        &self,
        source: &RuleSource,
        granted: bool,
        metering: Metering,
    ) -> Result<LoadedRule, RuleFailure> {
        let bytes = match source {
            RuleSource::Builtin(name) => crate::builtin::bytes(name, granted)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| RuleFailure {
                kind: FailureKind::LoadError,
                message: format!("no built-in rule named {name:?}"),
            })?,
            RuleSource::Path(path) => std::fs::read(path).map_err(|e| RuleFailure {
                kind: FailureKind::LoadError,
                message: format!("cannot read {}: {e}", path.display()),
            })?,
            RuleSource::Installed(id) => {
                return Err(RuleFailure::new(
                    FailureKind::LoadError,
                    format!("{id} is an installed rule: its component is in the server's store"),
                ));
            }
        };
        self.load_metered(source, &bytes, metering)
    }

    /// [`load_metered`](Self::load_metered) with the default metering.
    pub fn load(&self, source: &RuleSource, bytes: &[u8]) -> Result<LoadedRule, RuleFailure> {
        self.load_metered(source, bytes, Metering::default())
    }

    /// Compile for `metering`'s engine (or fetch from the cache), check and
    /// pre-instantiate a rule.
    pub fn load_metered(
        &self,
        source: &RuleSource,
        bytes: &[u8],
        metering: Metering,
    ) -> Result<LoadedRule, RuleFailure> {
        let sandbox = self.sandbox(metering);
        let digest = hex(&Sha256::digest(bytes));
        // Before compiling: an 18 MB Python component takes tens of seconds of
        // CPU to compile, and a rule that would be refused should cost nothing.
        let (import_names, export_names) = interface_names(bytes)?;
        let contract = check_contract(&export_names)?;
        check_imports(&import_names)?;
        let component = self.compile(sandbox, bytes, &digest)?;
        let imports = rule_imports(&sandbox.engine, &component);
        let trapped;
        let linker = if import_names
            .iter()
            .any(|n| TRAPPED_IMPORT_PREFIXES.iter().any(|p| n.starts_with(p)))
        {
            let mut linker = sandbox.linker.clone();
            linker
                .define_unknown_imports_as_traps(&component)
                .map_err(|e| {
                    RuleFailure::new(FailureKind::LoadError, format!("cannot link: {e:#}"))
                })?;
            trapped = linker;
            &trapped
        } else {
            &sandbox.linker
        };
        let pre = linker
            .instantiate_pre(&component)
            .and_then(RuleWorldPre::new)
            .map_err(|e| RuleFailure::new(FailureKind::LoadError, format!("cannot link: {e:#}")))?;
        let mut rule = LoadedRule {
            info: RuleInfo {
                name: source.fallback_name(),
                version: String::new(),
                description: String::new(),
                stages: Vec::new(),
                inputs: Inputs::default(),
                settings: Vec::new(),
            },
            source: source.clone(),
            digest,
            contract,
            metering,
            imports,
            pre,
        };
        let limits = Limits::default();
        let mut store = self.store(sandbox, &limits, 0)?;
        if metering == Metering::Fuel {
            store.set_fuel(INFO_FUEL).map_err(load_err)?;
        }
        store.set_epoch_deadline(ticks(INFO_TIMEOUT));
        // The epoch callback judges the deadline by the call clock: give it info()'s.
        store.data_mut().call.timeout = INFO_TIMEOUT;
        let info = rule
            .pre
            .instantiate(&mut store)
            .and_then(|world| world.reverie_rules_rule().call_info(&mut store))
            .map_err(|e| classify(&store, e, &limits))?;
        let info = RuleInfo::from(info);
        if info.name.trim().is_empty() {
            return Err(RuleFailure::new(
                FailureKind::MalformedFindings,
                "info() returned an empty rule name",
            ));
        }
        rule.info = info;
        Ok(rule)
    }

    /// Start `rule` for one cycle: a fresh store and instance, then
    /// `analyser.create`. `llm` is the rule's model when it was granted one; a
    /// rule that imports the model and was not is refused, naming the grant.
    // Called once per rule per dream, never on a hot path: the large error (the
    // failure and what the run cost so far) is returned by value for clarity.
    #[allow(clippy::result_large_err)]
    pub fn start(
        &self,
        rule: &LoadedRule,
        limits: &Limits,
        context: &CycleContext,
        llm: Option<Gateway>,
    ) -> Result<RuleInstance, (RuleFailure, RunStats)> {
        if rule.imports.llm && llm.is_none() {
            return Err((missing_grant(&rule.info.name), RunStats::default()));
        }
        let started = Instant::now();
        let clock_ms = context.window_end_ms.unwrap_or(0);
        let mut store = match self.store(self.sandbox(rule.metering), limits, clock_ms) {
            Ok(s) => s,
            Err(f) => return Err((f, RunStats::default())),
        };
        store.data_mut().llm = llm;
        let ctx = bindings::context(context);
        let mut fuel_used = 0;
        let result = arm(&mut store, limits).and_then(|()| {
            let world = rule.pre.instantiate(&mut store)?;
            let analyser = world
                .reverie_rules_rule()
                .analyser()
                .call_create(&mut store, &ctx)?;
            Ok((world, analyser))
        });
        let create_fuel = fuel_spent(&store, limits);
        fuel_used += create_fuel;
        let mut calls = crate::domain::findings::CallStats::default();
        calls.record(create_fuel, started.elapsed());
        let mut instance = RuleInstance {
            name: rule.info.name.clone(),
            store,
            world: None,
            analyser: None,
            limits: *limits,
            fuel_used,
            elapsed: started.elapsed(),
            calls,
        };
        match result {
            Ok((world, Ok(analyser))) => {
                instance.world = Some(world);
                instance.analyser = Some(analyser);
                Ok(instance)
            }
            Ok((_, Err(message))) => {
                let f = RuleFailure::new(FailureKind::RuleError, message);
                Err((f, instance.stats()))
            }
            Err(e) => {
                let f = classify(&instance.store, e, limits);
                Err((f, instance.stats()))
            }
        }
    }

    /// Benchmark support: the time of `n` instantiations of `rule` from its
    /// pre-instantiated component, each in a fresh store (store creation excluded).
    #[doc(hidden)]
    pub fn time_instantiation(
        &self,
        rule: &LoadedRule,
        n: usize,
    ) -> Result<Vec<Duration>, RuleFailure> {
        let limits = Limits::default();
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let mut store = self.store(self.sandbox(rule.metering), &limits, 0)?;
            let started = Instant::now();
            let instance = rule.pre.instantiate(&mut store);
            times.push(started.elapsed());
            instance.map_err(load_err)?;
        }
        Ok(times)
    }

    fn sandbox(&self, metering: Metering) -> &Sandbox {
        match metering {
            Metering::Epoch => &self.epoch,
            Metering::Fuel => &self.fuel,
        }
    }

    fn store(
        &self,
        sandbox: &Sandbox,
        limits: &Limits,
        clock_ms: i64,
    ) -> Result<Store<StoreData>, RuleFailure> {
        let clock = Duration::from_millis(clock_ms.max(0) as u64);
        let output = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock(clock))
            .monotonic_clock(FrozenClock(clock))
            .build();
        let data = StoreData {
            wasi,
            table: ResourceTable::new(),
            limiter: TotalMemoryLimiter {
                cap: limits.memory_bytes,
                total: 0,
                peak: 0,
                hit: false,
            },
            log: Vec::new(),
            max_log_lines: limits.max_log_lines,
            log_lines_dropped: 0,
            output,
            llm: None,
            explicit: Arc::default(),
            problems: Arc::default(),
            call: CallClock {
                started: Instant::now(),
                timeout: Duration::from_millis(limits.timeout_ms),
                waited: Duration::ZERO,
            },
        };
        let mut store = Store::new(&sandbox.engine, data);
        store.limiter(|d| &mut d.limiter);
        store.epoch_deadline_callback(|ctx| Ok(ctx.data().call.update()));
        if sandbox.fuel {
            store.set_fuel(limits.fuel).map_err(load_err)?;
        }
        store.set_epoch_deadline(ticks(Duration::from_millis(limits.timeout_ms)));
        Ok(store)
    }

    /// Compile a component, through the on-disk cache when there is one.
    ///
    /// A cached artifact is only ever one this host wrote, into a directory rules
    /// cannot write; it is keyed by the engine's compatibility hash, and any error
    /// loading it falls back to compiling (deserialising is `unsafe` for that reason).
    fn compile(
        &self,
        sandbox: &Sandbox,
        bytes: &[u8],
        digest: &str,
    ) -> Result<Component, RuleFailure> {
        let compile = || {
            Component::new(&sandbox.engine, bytes).map_err(|e| {
                RuleFailure::new(
                    FailureKind::LoadError,
                    format!("not a valid WebAssembly component: {e:#}"),
                )
            })
        };
        let Some(dir) = &self.cache_dir else {
            return compile();
        };
        let path = dir.join(format!("{digest}-{}.cwasm", engine_key(&sandbox.engine)));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this host
            // (see below) under a name that includes the engine's compatibility hash.
            if let Ok(component) = unsafe { Component::deserialize_file(&sandbox.engine, &path) } {
                // Its modification time is when it was last used: pruning goes by it.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                return Ok(component);
            }
        }
        let component = compile()?;
        if let Ok(serialized) = component.serialize() {
            // Best effort: a cache that cannot be written only costs a recompile next time.
            let written = std::fs::create_dir_all(dir).and_then(|()| {
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, &serialized)?;
                std::fs::rename(&tmp, &path)
            });
            if written.is_ok() {
                prune_cache(dir, DEFAULT_CACHE_CAP, &path);
            }
        }
        Ok(component)
    }
}

/// The part of a cached artefact's name that ties it to an engine's settings
/// (fuel metering among them).
fn engine_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

impl Sandbox {
    fn new(fuel: bool) -> Result<Sandbox, PluginError> {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 8)
            .max_memory_size(4 << 30);
        let mut config = Config::new();
        config
            .consume_fuel(fuel)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        RuleWorld::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        Ok(Sandbox {
            engine,
            linker,
            fuel,
        })
    }
}

/// Remove the least recently used artefacts of the compile cache until it holds
/// at most `cap` bytes, never `keep` (the one just written). Best effort: another
/// process may be pruning too, and a file that is gone already is fine.
fn prune_cache(dir: &Path, cap: u64, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut artefacts: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = artefacts.iter().map(|(_, len, _)| len).sum();
    if total <= cap {
        return;
    }
    artefacts.sort();
    for (_, len, path) in artefacts {
        if total <= cap {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// A chunk converted once into the contract's types, with the parts of each
/// interaction that a set of rules reads ([`Inputs`]), shared by those rules.
pub struct PreparedChunk {
    chunk: wit::Chunk,
    /// Explicit ratings of the chunk's interactions, for rules that ask.
    explicit: Arc<HashMap<String, Rating>>,
}

impl PreparedChunk {
    pub fn new(interactions: &[Interaction], inputs: Inputs) -> Self {
        PreparedChunk {
            chunk: wit::Chunk {
                interactions: interactions
                    .iter()
                    .map(|i| bindings::interaction(i, inputs))
                    .collect(),
                feedback: Vec::new(),
            },
            explicit: Arc::default(),
        }
    }

    /// Attach the chunk's explicit ratings (`window.explicit-rating`).
    pub fn set_explicit(&mut self, ratings: Arc<HashMap<String, Rating>>) {
        self.explicit = ratings;
    }

    /// Attach the chunk's feedback (explicit and inferred) before the analyse stage.
    pub fn set_feedback(&mut self, feedback: &[Feedback]) {
        self.chunk.feedback = feedback.iter().map(bindings::feedback).collect();
    }

    fn contains(&self, id: &str) -> bool {
        self.chunk.interactions.iter().any(|i| i.id == id)
    }
}

/// One rule running one cycle. Any failure ends it: after a trap an instance
/// refuses further calls, and the report says why it stopped.
pub struct RuleInstance {
    name: String,
    store: Store<StoreData>,
    world: Option<RuleWorld>,
    analyser: Option<ResourceAny>,
    limits: Limits,
    fuel_used: u64,
    elapsed: Duration,
    calls: crate::domain::findings::CallStats,
}

impl RuleInstance {
    pub fn name(&self) -> &str {
        &self.name
    }

    fn call<T>(
        &mut self,
        f: impl FnOnce(
            &RuleWorld,
            ResourceAny,
            &mut Store<StoreData>,
        ) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T, RuleFailure> {
        let (Some(world), Some(analyser)) = (&self.world, self.analyser) else {
            return Err(RuleFailure::new(
                FailureKind::Trap,
                "the rule already failed",
            ));
        };
        let started = Instant::now();
        let result =
            arm(&mut self.store, &self.limits).and_then(|()| f(world, analyser, &mut self.store));
        let fuel = fuel_spent(&self.store, &self.limits);
        self.fuel_used += fuel;
        self.elapsed += started.elapsed();
        self.calls.record(fuel, started.elapsed());
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(message)) => {
                self.world = None;
                // A language runtime (Python, JavaScript) turns a failed
                // allocation into an error it returns: the cap was the cause.
                if self.store.data().limiter.hit {
                    return Err(RuleFailure::new(
                        FailureKind::MemoryLimit,
                        format!(
                            "the rule ran out of memory at its cap of {} MiB (it reported: {})",
                            self.limits.memory_bytes >> 20,
                            truncate(&message, 500)
                        ),
                    ));
                }
                Err(RuleFailure::new(FailureKind::RuleError, message))
            }
            Err(e) => {
                self.world = None;
                Err(classify(&self.store, e, &self.limits))
            }
        }
    }

    /// Give a rule that reads them the other rules' problems, before `finish`.
    pub fn set_problems(&mut self, problems: Arc<Vec<ProblemBrief>>) {
        self.store.data_mut().problems = problems;
    }

    /// Stage 1: the feedback this rule infers from the chunk.
    pub fn detect(&mut self, chunk: &PreparedChunk) -> Result<Vec<InferredFeedback>, RuleFailure> {
        self.store.data_mut().explicit = chunk.explicit.clone();
        let inferred = self.call(|w, a, s| {
            w.reverie_rules_rule()
                .analyser()
                .call_detect(s, a, &chunk.chunk.interactions)
        })?;
        let mut out = Vec::with_capacity(inferred.len());
        for f in inferred {
            if !chunk.contains(&f.interaction_id) {
                self.world = None;
                return Err(RuleFailure::new(
                    FailureKind::MalformedFindings,
                    format!(
                        "detect() inferred feedback on interaction {:?}, which is not in the chunk it was given",
                        f.interaction_id
                    ),
                ));
            }
            out.push(InferredFeedback::from(f));
        }
        Ok(out)
    }

    /// Stage 2: read the chunk with its feedback.
    pub fn analyse(&mut self, chunk: &PreparedChunk) -> Result<(), RuleFailure> {
        self.store.data_mut().explicit = chunk.explicit.clone();
        self.call(|w, a, s| {
            w.reverie_rules_rule()
                .analyser()
                .call_analyse(s, a, &chunk.chunk)
        })
    }

    /// The findings, checked for size and shape.
    pub fn finish(&mut self) -> Result<Findings, RuleFailure> {
        let findings = self.call(|w, a, s| w.reverie_rules_rule().analyser().call_finish(s, a))?;
        let mut findings = Findings::from(findings);
        let size = findings_size(&findings);
        self.calls.findings_bytes = size;
        if size > self.limits.max_findings_bytes {
            return Err(RuleFailure::new(
                FailureKind::FindingsTooLarge,
                format!(
                    "findings are {} KiB, over the cap of {} KiB",
                    size.div_ceil(1024),
                    self.limits.max_findings_bytes / 1024
                ),
            ));
        }
        validate(&mut findings)?;
        Ok(findings)
    }

    /// What the run cost so far, with the rule's log and captured output.
    pub fn stats(&mut self) -> RunStats {
        let data = self.store.data_mut();
        let output = data.output.contents();
        let llm = data.llm.as_ref().map(|g| Box::new(g.report()));
        if let Some(usage) = &llm {
            // The host's own line, so the run log tells the model's cost even
            // when the rule logs nothing.
            data.log.push(LogLine {
                level: "info".into(),
                message: format!("host: {}", usage.summary()),
                fields: Vec::new(),
            });
        }
        RunStats {
            duration: self.elapsed,
            fuel_used: self.fuel_used,
            calls: self.calls,
            peak_memory_bytes: data.limiter.peak,
            log: std::mem::take(&mut data.log),
            log_lines_dropped: data.log_lines_dropped,
            output: String::from_utf8_lossy(&output).into_owned(),
            llm,
        }
    }
}

fn arm(store: &mut Store<StoreData>, limits: &Limits) -> wasmtime::Result<()> {
    // `get_fuel` fails on an engine without fuel metering.
    if store.get_fuel().is_ok() {
        store.set_fuel(limits.fuel)?;
    }
    store.data_mut().call = CallClock {
        started: Instant::now(),
        timeout: Duration::from_millis(limits.timeout_ms),
        waited: Duration::ZERO,
    };
    // Deadlines are relative to the current epoch: re-armed before every call.
    store.set_epoch_deadline(ticks(Duration::from_millis(limits.timeout_ms)));
    Ok(())
}

/// The fuel the last call used, armed with `limits.fuel`; 0 without fuel metering.
fn fuel_spent(store: &Store<StoreData>, limits: &Limits) -> u64 {
    store
        .get_fuel()
        .map_or(0, |left| limits.fuel.saturating_sub(left))
}

fn ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64 + 1
}

fn load_err(e: wasmtime::Error) -> RuleFailure {
    RuleFailure::new(FailureKind::LoadError, format!("{e:#}"))
}

/// Tell apart the ways a call can fail: fuel, deadline, memory cap, panic, stack, other traps.
fn classify(store: &Store<StoreData>, err: wasmtime::Error, limits: &Limits) -> RuleFailure {
    if store.data().limiter.hit {
        return RuleFailure::new(
            FailureKind::MemoryLimit,
            format!(
                "the rule tried to use more than its memory cap of {} MiB",
                limits.memory_bytes >> 20
            ),
        );
    }
    let Some(trap) = err.downcast_ref::<Trap>() else {
        return RuleFailure::new(FailureKind::Trap, format!("{err:#}"));
    };
    match trap {
        Trap::OutOfFuel => RuleFailure::new(
            FailureKind::OutOfFuel,
            format!(
                "the rule used all its fuel ({} units) in one call",
                limits.fuel
            ),
        ),
        Trap::Interrupt => RuleFailure::new(
            FailureKind::Timeout,
            format!(
                "the rule ran past its deadline of {} ms in one call",
                limits.timeout_ms
            ),
        ),
        Trap::StackOverflow => RuleFailure::new(
            FailureKind::StackOverflow,
            "the rule overflowed its call stack",
        ),
        Trap::UnreachableCodeReached => {
            let output = store.data().output.contents();
            let output = String::from_utf8_lossy(&output);
            // componentize-py's runtime prints the traceback of an exception that
            // no `Err` carried, then panics: the traceback is what the author needs.
            if let Some(traceback) = uncaught_python_exception(&output) {
                return RuleFailure::new(
                    FailureKind::Panic,
                    format!(
                        "the rule raised an exception instead of returning an error (`Err`):\n{}",
                        output_tail(traceback)
                    ),
                );
            }
            // A Rust guest's panic is an abort: its message is in the captured stderr.
            panic_from_output(&output).unwrap_or_else(|| {
                // Another language's runtime prints its own account before
                // aborting (a JavaScript stack): pass it on.
                let tail = output_tail(&output);
                let message = if tail.is_empty() {
                    "the rule aborted (wasm `unreachable`)".to_string()
                } else {
                    format!(
                        "the rule aborted (wasm `unreachable`){}; its last output:\n{tail}",
                        js_hint(&output)
                    )
                };
                RuleFailure::new(FailureKind::Trap, message)
            })
        }
        other => RuleFailure::new(FailureKind::Trap, format!("the rule trapped: {other}")),
    }
}

/// The last lines a guest printed (at most 20, and 2,000 bytes), for a failure message.
fn output_tail(output: &str) -> String {
    let lines: Vec<&str> = output.trim_end().lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    if tail.len() <= 2000 {
        return tail;
    }
    let mut start = tail.len() - 2000;
    while !tail.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &tail[start..])
}

/// The traceback of a Python exception that aborted the rule: componentize-py's
/// runtime prints it, then panics with "Python function threw an unexpected
/// exception". From the last traceback's first line to just before the panic.
fn uncaught_python_exception(output: &str) -> Option<&str> {
    let panic = output.rfind("Python function threw an unexpected exception")?;
    let before = &output[..panic];
    let start = before.rfind("Traceback (most recent call last):")?;
    let end = before
        .rfind("thread '")
        .filter(|&e| e > start)
        .unwrap_or(before.len());
    Some(before[start..end].trim_end())
}

/// What a JavaScript runtime's "expected a string, received [object]" means:
/// the contract wanted text (most often the error of a `result`) and the rule
/// gave an object (most often a thrown `Error`), whose message is lost by then.
fn js_hint(output: &str) -> &'static str {
    if output.contains("expected a string, received [object]") {
        " because a JavaScript object went where the contract wants a string, most often an \
         `Error` thrown where it wants the error's text: throw a string, or wrap the rule's \
         exports with `guarded` (in `reverie.js` of `reverie rule new --lang js`)"
    } else {
        ""
    }
}

/// The panic a guest printed before aborting, if its output holds one.
fn panic_from_output(output: &str) -> Option<RuleFailure> {
    let at = output.find("panicked at")?;
    let message: Vec<&str> = output[at..]
        .lines()
        .filter(|l| !l.starts_with("note: "))
        .take(6)
        .collect();
    let message = message.join(" ").trim().to_string();
    Some(RuleFailure::new(
        FailureKind::Panic,
        truncate(&message, 1000),
    ))
}

/// The names a component imports and exports at its top level, read from its
/// bytes without compiling it.
fn interface_names(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), RuleFailure> {
    use wasmparser::{Encoding, Parser, Payload};
    let invalid = |e: wasmparser::BinaryReaderError| {
        RuleFailure::new(
            FailureKind::LoadError,
            format!("not a valid WebAssembly component: {e}"),
        )
    };
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    // Nested modules and components have imports of their own: only the outer
    // component's are what the host must provide.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding, .. } if depth == 0 && encoding != Encoding::Component => {
                return Err(RuleFailure::new(
                    FailureKind::LoadError,
                    "not a valid WebAssembly component: this is a core module; build the rule for wasm32-wasip2 (or wrap it with `wasm-tools component new`)",
                ));
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    imports.push(import.map_err(invalid)?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    exports.push(export.map_err(invalid)?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// The rule contract the component exports, and whether this host speaks it.
fn check_contract(exports: &[String]) -> Result<String, RuleFailure> {
    let prefix = format!("{CONTRACT_INTERFACE}@");
    let Some(version) = exports.iter().find_map(|name| name.strip_prefix(&prefix)) else {
        return Err(RuleFailure::new(
            FailureKind::IncompatibleContract,
            format!(
                "the component exports no `{CONTRACT_INTERFACE}` interface: it is not a reverie rule"
            ),
        ));
    };
    if compatible(version, CONTRACT_VERSION) {
        Ok(version.to_string())
    } else {
        Err(RuleFailure::new(
            FailureKind::IncompatibleContract,
            format!(
                "the rule was built against reverie:rules@{version}; this host supports reverie:rules@{}",
                compatible_range(CONTRACT_VERSION)
            ),
        ))
    }
}

/// Refuse imports outside the allowlist.
fn check_imports(imports: &[String]) -> Result<(), RuleFailure> {
    match imports
        .iter()
        .find(|name| !ALLOWED_IMPORT_PREFIXES.iter().any(|p| name.starts_with(p)))
    {
        Some(name) => Err(RuleFailure::new(
            FailureKind::LoadError,
            format!(
                "the rule imports `{name}`, which rules are not granted (allowed: the reverie:rules interfaces, and WASI io, cli, clocks, random, filesystem without any directory, sockets and http without any address)"
            ),
        )),
        None => Ok(()),
    }
}

/// Which host interfaces a compiled rule uses.
fn rule_imports(engine: &Engine, component: &Component) -> RuleImports {
    let mut imports = RuleImports::default();
    for (name, item) in component.component_type().imports(engine) {
        if name.starts_with(LLM_INTERFACE) {
            imports.llm = true;
        }
        if name.starts_with(WINDOW_INTERFACE) {
            // A component imports only the functions it calls.
            let functions: Vec<String> = match item.ty {
                wasmtime::component::types::ComponentItem::ComponentInstance(instance) => instance
                    .exports(engine)
                    .map(|(f, _)| f.to_string())
                    .collect(),
                _ => Vec::new(),
            };
            imports.explicit_rating = functions.iter().any(|f| f == "explicit-rating");
            imports.problems = functions.iter().any(|f| f == "problems");
        }
    }
    imports
}

/// The refusal of a rule that calls a model without a grant.
fn missing_grant(rule: &str) -> RuleFailure {
    RuleFailure::new(
        FailureKind::LoadError,
        format!(
            "rule `{rule}` imports the language model (`reverie:rules/llm`) but has no grant: give it one under its [[rules]] entry with `[rules.llm] provider = \"<a provider of [llm.providers]>\"` (and its budget)"
        ),
    )
}

/// Semver compatibility: same major, and for 0.x the same minor.
fn compatible(found: &str, supported: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    match (parse(found), parse(supported)) {
        (Some((0, a)), Some((0, b))) => a == b,
        (Some((a, _)), Some((b, _))) => a == b,
        _ => false,
    }
}

fn compatible_range(v: &str) -> String {
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}.x"),
        (Some(major), _) => format!("{major}.x"),
        _ => v.to_string(),
    }
}

fn findings_size(f: &Findings) -> u64 {
    let mut n = 0usize;
    for p in &f.patterns {
        n += 16 + p.key.len() + p.title.len() + p.description.len();
        n += p.evidence.iter().map(|e| e.len() + 4).sum::<usize>();
    }
    for s in &f.suggestions {
        n += 16 + s.rationale.len() + s.addresses.iter().map(|a| a.len() + 4).sum::<usize>();
        n += serde_json::to_string(&s.edit).map(|t| t.len()).unwrap_or(0);
    }
    for m in &f.metrics {
        n += 16 + m.name.len() + m.description.len();
    }
    n as u64
}

/// Reject findings the merge could not use, naming what is wrong. Evidence beyond
/// [`MAX_EVIDENCE`] ids is cut, not rejected.
fn validate(f: &mut Findings) -> Result<(), RuleFailure> {
    let bad = |m: String| Err(RuleFailure::new(FailureKind::MalformedFindings, m));
    for (i, p) in f.patterns.iter_mut().enumerate() {
        if p.key.trim().is_empty() || p.key.len() > 200 || p.key.chars().any(char::is_whitespace) {
            return bad(format!(
                "patterns[{i}].key {:?} must be 1-200 characters without spaces",
                p.key
            ));
        }
        if p.title.trim().is_empty() {
            return bad(format!("patterns[{i}] ({}) has an empty title", p.key));
        }
        p.evidence.truncate(MAX_EVIDENCE);
    }
    for (i, s) in f.suggestions.iter().enumerate() {
        if !s.confidence.is_finite() || !(0.0..=1.0).contains(&s.confidence) {
            return bad(format!(
                "suggestions[{i}].confidence is {}, not between 0 and 1",
                s.confidence
            ));
        }
    }
    for (i, m) in f.metrics.iter().enumerate() {
        if m.name.trim().is_empty() {
            return bad(format!("metrics[{i}] has an empty name"));
        }
        if !m.value.is_finite() {
            return bad(format!(
                "metrics[{i}] ({}) is {}, not a finite number",
                m.name, m.value
            ));
        }
    }
    Ok(())
}

/// Lowercase hex, as digests are shown and stored.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_versions_follow_semver() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.7", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert_eq!(compatible_range("0.1.0"), "0.1.x");
    }

    /// A rebuilt rule leaves its old artefact behind; the cache keeps the most
    /// recently used under its cap and never removes the one just written.
    #[test]
    fn the_compile_cache_keeps_the_most_recently_used_under_its_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = std::time::SystemTime::now();
        let artefact = |name: &str, age_s: u64| {
            let path = dir.path().join(format!("{name}.cwasm"));
            std::fs::write(&path, vec![0u8; 1000]).expect("write");
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(now - Duration::from_secs(age_s)))
                .expect("age the file");
            path
        };
        let oldest = artefact("a", 400);
        let old = artefact("b", 300);
        let recent = artefact("c", 200);
        // Written just now, yet given the oldest time: it must stay all the same.
        let fresh = artefact("d", 500);
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, vec![0u8; 5000]).expect("write");

        prune_cache(dir.path(), 4000, &fresh);
        assert!(
            oldest.exists() && old.exists(),
            "under the cap, nothing goes"
        );

        prune_cache(dir.path(), 2500, &fresh);
        assert!(
            !oldest.exists() && !old.exists(),
            "the least recently used go first"
        );
        assert!(recent.exists() && fresh.exists());
        assert!(other.exists(), "only artefacts are pruned");
    }

    #[test]
    fn a_runtime_s_last_words_are_passed_on_when_it_aborts() {
        let traceback = "Traceback (most recent call last):\n  File \"rule.py\", line 9, in analyse\nZeroDivisionError: division by zero\n";
        assert_eq!(output_tail(traceback), traceback.trim_end());
        let long: String = (0..100).map(|n| format!("line {n}\n")).collect();
        let tail = output_tail(&long);
        assert!(
            tail.starts_with("line 80") && tail.ends_with("line 99"),
            "{tail}"
        );
        let wide = "é".repeat(3000);
        assert!(output_tail(&wide).starts_with('…'));
    }

    #[test]
    fn an_uncaught_python_exception_is_reported_with_its_traceback() {
        // As componentize-py 0.25 prints it when `analyse` raises outside `guarded`.
        let out = "analysed 3\nTraceback (most recent call last):\n  File \"/0/rule.py\", line 25, in analyse\n  File \"/0/rule.py\", line 32, in _count\nKeyError: 'lookup_order'\n\nthread '<unnamed>' (1) panicked at runtime/src/lib.rs:1293:29:\nPython function threw an unexpected exception\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        let traceback = uncaught_python_exception(out).expect("a traceback");
        assert!(traceback.starts_with("Traceback (most recent call last):"));
        assert!(
            traceback.ends_with("KeyError: 'lookup_order'"),
            "{traceback}"
        );
        // A Rust panic is not mistaken for one.
        assert_eq!(
            uncaught_python_exception("thread '<unnamed>' panicked at src/lib.rs:9:9:\nboom\n"),
            None
        );
    }

    #[test]
    fn a_javascript_object_where_a_string_belongs_is_explained() {
        let out = "expected a string, received [object]\nStack:\n  _utf8AllocateAndEncode@initializer.js:27:11\n\nRedirecting call to abort() to mozalloc_abort\n";
        assert!(js_hint(out).contains("guarded"));
        assert_eq!(js_hint("Traceback (most recent call last):"), "");
    }

    #[test]
    fn a_panic_message_is_recovered_from_stderr() {
        let out = "thread '<unnamed>' panicked at src/lib.rs:9:9:\nfixture panic: boom\nnote: run with `RUST_BACKTRACE=1`\n";
        let f = panic_from_output(out).expect("a panic");
        assert_eq!(f.kind, FailureKind::Panic);
        assert!(f.message.contains("fixture panic: boom"), "{}", f.message);
        assert!(!f.message.contains("RUST_BACKTRACE"));
    }

    #[test]
    fn a_rule_gets_only_the_parts_of_an_interaction_it_reads() {
        let line = r#"{"id":"i1","timestamp":"2026-11-02T10:00:00Z","metadata":{"k":"v"},"messages":[
            {"role":"system","content":"You are a long prompt."},
            {"role":"user","content":"where is my order?"},
            {"role":"assistant","content":"","tool_calls":[{"id":"c1","function":{"name":"lookup_order","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"timeout","is_error":true}]}"#
            .replace('\n', "");
        let interaction = crate::input::parse_interaction(&line).expect("valid");
        let chunk = |inputs| PreparedChunk::new(std::slice::from_ref(&interaction), inputs);

        let tools_only = chunk(Inputs {
            tool_calls: true,
            ..Inputs::default()
        });
        let i = &tools_only.chunk.interactions[0];
        assert!(i.messages.is_empty());
        assert_eq!(i.tool_calls[0].error.as_deref(), Some("timeout"));
        assert_eq!(i.metadata, "{}");
        assert_eq!(i.id, "i1", "ids always travel");

        let messages = chunk(Inputs {
            messages: true,
            ..Inputs::default()
        });
        let i = &messages.chunk.interactions[0];
        assert_eq!(i.messages.len(), 4);
        assert_eq!(i.messages[0].content, "", "system text only on request");
        assert_eq!(i.messages[1].content, "where is my order?");
        assert!(i.tool_calls.is_empty());

        let all = chunk(Inputs::ALL);
        let i = &all.chunk.interactions[0];
        assert_eq!(i.messages[0].content, "You are a long prompt.");
        assert_eq!(i.metadata, r#"{"k":"v"}"#);
    }

    #[test]
    fn malformed_findings_name_the_field() {
        let mut f = Findings {
            suggestions: vec![crate::model::Suggestion {
                edit: crate::model::Edit::FlagForReview { note: "x".into() },
                rationale: "r".into(),
                confidence: 7.5,
                addresses: vec![],
            }],
            ..Default::default()
        };
        let err = validate(&mut f).expect_err("confidence out of range");
        assert_eq!(err.kind, FailureKind::MalformedFindings);
        assert!(
            err.message.contains("suggestions[0].confidence"),
            "{}",
            err.message
        );
    }
}
