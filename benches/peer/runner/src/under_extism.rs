//! The rule as an Extism 1.30 plugin, hosted as Extism hosts are written: the
//! module compiled once (`CompiledPlugin`), a fresh `Plugin` per window, and per
//! chunk one call to `analyse` with one JSON byte buffer, which the guest copies
//! out of Extism's memory and parses with serde_json; then `finish`, whose JSON
//! the host parses back.
//!
//! The buffer holds what the rule reads and reverie's guest is given with
//! `messages` declared: each interaction's id and its messages' roles and texts,
//! system messages with empty text. It holds no feedback: Extism has no contract
//! that asks for it.
//!
//! Timed apart: *prepare* (serialising a chunk to JSON, on the host, counted on
//! Extism's side because a host must do it), *calls* (the `analyse` calls
//! alone: the copy into Extism's memory, the guest reading it out, parsing
//! JSON, the rule, epoch checks, and fuel where it is on), *other* (a new
//! plugin instance, `finish`, parsing its JSON).

use std::path::Path;
use std::time::{Duration, Instant};

use extism::{CompiledPlugin, Manifest, Plugin, PluginBuilder, Wasm};
use reverie::model as domain;
use serde::Serialize;

use crate::Run;
use crate::data::Data;

/// How the plugin is bounded. Extism always arms epoch interruption; it meters
/// fuel only when asked.
#[derive(Clone, Copy)]
pub struct Bounds {
    /// Per call, like reverie's `timeout_ms` (served by Extism's timer thread).
    pub timeout: Duration,
    /// Per call, when fuel is on (like reverie's `fuel`).
    pub fuel: Option<u64>,
}

/// Compile the module once. No WASI (the guest needs none) and no on-disk cache,
/// so nothing is written outside the target directory.
pub fn compile(path: &Path, bounds: Bounds) -> CompiledPlugin {
    let manifest = Manifest::new([Wasm::file(path)]).with_timeout(bounds.timeout);
    let mut builder = PluginBuilder::new(manifest)
        .with_wasi(false)
        .with_cache_disabled();
    if let Some(fuel) = bounds.fuel {
        builder = builder.with_fuel_limit(fuel);
    }
    CompiledPlugin::new(builder).unwrap_or_else(|e| panic!("extism {}: {e:#}", path.display()))
}

pub fn run(compiled: &CompiledPlugin, data: &Data) -> Run {
    let fail = |what: &str, e: extism::Error| -> ! { panic!("extism {what}: {e:#}") };
    let mut run = Run::default();
    let mut json = Vec::new();

    let started = Instant::now();
    let mut plugin = Plugin::new_from_compiled(compiled).unwrap_or_else(|e| fail("plugin", e));
    run.other += started.elapsed();
    for (chunk, _feedback) in data.chunks() {
        let started = Instant::now();
        json.clear();
        serde_json::to_writer(&mut json, &WireChunk::new(chunk))
            .unwrap_or_else(|e| panic!("serialise a chunk: {e}"));
        run.prepare += started.elapsed();
        let started = Instant::now();
        plugin
            .call::<&[u8], &[u8]>("analyse", &json)
            .unwrap_or_else(|e| fail("analyse", e));
        run.calls += started.elapsed();
        run.fuel += fuel_used(&plugin);
    }
    let started = Instant::now();
    let output = plugin
        .call::<&[u8], &[u8]>("finish", &[])
        .unwrap_or_else(|e| fail("finish", e));
    run.found = serde_json::from_slice(output).unwrap_or_else(|e| panic!("finish's JSON: {e}"));
    run.other += started.elapsed();
    run.fuel += fuel_used(&plugin);
    run
}

/// The fuel of the last call (Extism re-arms fuel before each); 0 without fuel.
fn fuel_used(plugin: &Plugin) -> u64 {
    plugin.fuel_consumed().unwrap_or(0)
}

/// A chunk as the guest's `Chunk` reads it (`extism-guest/src/lib.rs`).
#[derive(Serialize)]
struct WireChunk<'a> {
    interactions: Vec<WireInteraction<'a>>,
}

#[derive(Serialize)]
struct WireInteraction<'a> {
    id: &'a str,
    messages: Vec<WireMessage<'a>>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

impl<'a> WireChunk<'a> {
    fn new(chunk: &'a [domain::Interaction]) -> Self {
        WireChunk {
            interactions: chunk
                .iter()
                .map(|i| WireInteraction {
                    id: &i.id,
                    messages: i
                        .messages
                        .iter()
                        .map(|m| WireMessage {
                            role: match m.role {
                                domain::Role::System => "system",
                                domain::Role::User => "user",
                                domain::Role::Assistant => "assistant",
                                domain::Role::Tool => "tool",
                            },
                            // As reverie passes them without `system-messages` declared.
                            content: if m.role == domain::Role::System {
                                ""
                            } else {
                                &m.content
                            },
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
