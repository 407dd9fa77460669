//! The phrase rule ([`rule::PhraseRule`]) as an Extism plugin, written as
//! Extism plugins are in practice: each call takes one JSON byte buffer (a
//! chunk's interactions, each with its id and messages) that the guest parses
//! with serde_json into owned values, and `finish` returns the counts as JSON.
//!
//! The plugin keeps the rule between calls in its instance, as a reverie
//! analyser does; `finish` hands it over and a later `analyse` starts a new one.
//! Built by `benches/peer/run.sh` for wasm32-unknown-unknown with the `guest`
//! profile (no WASI: the plugin needs none).

use std::cell::RefCell;

use extism_pdk::{FnResult, Json, plugin_fn};
use serde::Deserialize;

/// The chunk as the runner serialises it (`runner/src/under_extism.rs`).
#[derive(Deserialize)]
pub struct Chunk {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    id: String,
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    role: Role,
    content: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Role {
    System,
    User,
    Assistant,
    Tool,
}

thread_local! {
    /// The rule of the current window; wasm32-unknown-unknown runs one thread.
    static RULE: RefCell<Option<rule::PhraseRule>> = const { RefCell::new(None) };
}

#[plugin_fn]
pub fn analyse(Json(chunk): Json<Chunk>) -> FnResult<()> {
    RULE.with_borrow_mut(|slot| {
        let rule = match slot {
            Some(rule) => rule,
            None => slot.insert(new_rule()?),
        };
        for interaction in &chunk.interactions {
            for m in &interaction.messages {
                rule.message(&interaction.id, role(m.role), &m.content);
            }
        }
        Ok(())
    })
}

#[plugin_fn]
pub fn finish() -> FnResult<Json<Vec<rule::PhraseCount>>> {
    let rule = match RULE.take() {
        Some(rule) => rule,
        // A window without chunks: nothing counted.
        None => new_rule()?,
    };
    Ok(Json(rule.finish()))
}

fn new_rule() -> Result<rule::PhraseRule, extism_pdk::Error> {
    rule::PhraseRule::new(rule::PHRASES, rule::MAX_EVIDENCE).map_err(extism_pdk::Error::msg)
}

fn role(r: Role) -> rule::Role {
    match r {
        Role::System => rule::Role::System,
        Role::User => rule::Role::User,
        Role::Assistant => rule::Role::Assistant,
        Role::Tool => rule::Role::Tool,
    }
}
