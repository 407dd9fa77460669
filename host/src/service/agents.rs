//! Agents: creating one (its first slot, and its `feedback_webhook` as an
//! endpoint) and updating one (a new slot when its timing changes, the
//! endpoint kept in step with the field).
//!
//! It must not know HTTP or the command line (see [`crate::service`]).

use crate::schedule::Policy;
use crate::store::{Agent, AgentUpdate, IdempotencyRecord, ScheduleState, Store, StoreError};

/// An agent as asked for, already validated by the caller.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub name: String,
    pub model: String,
    pub system_prompt: String,
    pub dreaming_enabled: bool,
    pub dreaming_frequency: String,
    pub timezone: String,
    pub feedback_webhook: Option<String>,
    pub min_new_interactions: Option<u64>,
}

/// The agent to create from `new` at `now_ms`: version 1 live, and its first
/// slot under `policy` (none while dreaming is off). Nothing is written yet, so
/// that the caller can show it (and keep it for an idempotent replay) first.
pub fn prepare(new: NewAgent, policy: &Policy, now_ms: i64) -> Agent {
    let mut agent = Agent {
        id: crate::ids::new(crate::ids::AGENT),
        name: new.name.trim().to_string(),
        model: new.model.trim().to_string(),
        dreaming_enabled: new.dreaming_enabled,
        dreaming_frequency: new.dreaming_frequency,
        timezone: new.timezone,
        feedback_webhook: new.feedback_webhook,
        live_version: 1,
        system_prompt: new.system_prompt,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
        min_new_interactions: new.min_new_interactions,
        schedule: ScheduleState::default(),
    };
    let next = policy.next_for(&agent, now_ms);
    agent.schedule.next_slot_ms = next.map(|n| n.slot_ms);
    agent.schedule.next_run_at_ms = next.map(|n| n.run_at_ms);
    agent
}

/// Store `agent` (from [`prepare`]) with its schedule and, if it has a
/// `feedback_webhook`, that URL as an endpoint with its own secret (readable
/// at `…/webhooks/{id}/secret`). `idem` commits with the agent.
pub fn create(
    store: &dyn Store,
    agent: &Agent,
    idem: Option<&IdempotencyRecord>,
) -> Result<(), StoreError> {
    let next = agent
        .schedule
        .next_slot_ms
        .zip(agent.schedule.next_run_at_ms)
        .map(|(slot_ms, run_at_ms)| crate::store::Slot { slot_ms, run_at_ms });
    store.create_agent(agent, next, idem)?;
    match &agent.feedback_webhook {
        Some(url) => store.sync_feedback_endpoint(
            &agent.id,
            Some(url),
            &feedback_endpoint(&agent.id, agent.created_at_ms)?,
        ),
        None => Ok(()),
    }
}

/// Apply `update` at `now_ms`. A new frequency, time zone or switch starts
/// from now (no backlog); a changed `feedback_webhook` moves, makes or
/// deletes the agent's endpoint for it.
pub fn update(
    store: &dyn Store,
    agent_id: &str,
    update: &AgentUpdate,
    policy: &Policy,
    now_ms: i64,
) -> Result<Agent, StoreError> {
    let agent = store.update_agent(agent_id, update, now_ms, &|a| policy.next_for(a, now_ms))?;
    if let Some(url) = &update.feedback_webhook {
        store.sync_feedback_endpoint(
            agent_id,
            url.as_deref(),
            &feedback_endpoint(agent_id, now_ms)?,
        )?;
    }
    Ok(agent)
}

/// Agents whose `feedback_webhook` was set before webhooks had endpoints (a
/// database from an earlier reverie) get their endpoint, with a new secret.
/// Returns how many.
pub fn link_feedback_webhooks(store: &dyn Store, now_ms: i64) -> Result<u64, StoreError> {
    let mut linked = 0;
    loop {
        let unlinked = store.unlinked_feedback_webhooks(100)?;
        if unlinked.is_empty() {
            return Ok(linked);
        }
        for (agent_id, url) in &unlinked {
            let endpoint = feedback_endpoint(agent_id, now_ms)?;
            store.sync_feedback_endpoint(agent_id, Some(url), &endpoint)?;
            linked += 1;
        }
    }
}

fn feedback_endpoint(agent_id: &str, now_ms: i64) -> Result<crate::store::Endpoint, StoreError> {
    crate::webhooks::feedback_endpoint(agent_id, now_ms)
        .map_err(|e| StoreError::Backend(format!("cannot make a webhook secret: {e}")))
}
