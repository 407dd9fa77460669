//! Dreams on the server: a queue of dream ids and the thread that runs them.
//!
//! A dream asked for over the API is stored `pending` and its id queued here.
//! The runner moves it to `running`, reads its window from the store a chunk at
//! a time through the same [`cycle::run`] that `reverie dream` uses, and stores
//! the outcome: `completed` with the report, `skipped` when the window holds too
//! few interactions to say anything, or `failed` with the reason. This module
//! owns that life cycle and nothing else: it does not know HTTP, and it reaches
//! the database only through [`Store`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc;

use crate::config::Config;
use crate::cycle::{self, CycleError, CycleInput, InteractionSource, RuleSlot};
use crate::input::FeedbackIndex;
use crate::model::{CycleContext, Interaction};
use crate::plugins::{LoadedRule, RuleFailure, Runtime};
use crate::report::Report;
use crate::store::{Dream, DreamOutcome, DreamSummary, Store, StoreError, Window, WindowCursor};

/// The rules every server dream runs, loaded once at start.
pub struct Rules {
    pub runtime: Runtime,
    pub config: Config,
    pub loaded: Vec<Result<LoadedRule, RuleFailure>>,
}

/// Runs dreams one after another on a thread of its own.
pub struct Dreamer {
    store: Arc<dyn Store>,
    rules: Rules,
    /// Fewer interactions than this in the window: the dream is `skipped`.
    min_interactions: u64,
}

/// The sending side: queue a dream id to run.
#[derive(Clone)]
pub struct DreamQueue {
    tx: mpsc::Sender<String>,
}

impl DreamQueue {
    /// Queue `id`. Fails only when the runner has stopped (the server is
    /// shutting down); the dream stays `pending` and runs after the restart.
    pub fn push(&self, id: String) -> bool {
        self.tx.send(id).is_ok()
    }
}

impl Dreamer {
    pub fn new(store: Arc<dyn Store>, rules: Rules, min_interactions: u64) -> Dreamer {
        Dreamer {
            store,
            rules,
            min_interactions,
        }
    }

    /// Start the runner thread; it stops when every [`DreamQueue`] is dropped.
    pub fn spawn(self) -> std::io::Result<(DreamQueue, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<String>();
        let handle = std::thread::Builder::new()
            .name("reverie-dreams".into())
            .spawn(move || {
                for id in rx {
                    if let Err(e) = self.run(&id) {
                        eprintln!("reverie: dream {id}: {e}");
                    }
                }
            })?;
        Ok((DreamQueue { tx }, handle))
    }

    /// Run one pending dream to its end. An `Err` is a store failure; anything
    /// that goes wrong with the dream itself is stored as `failed`.
    pub fn run(&self, id: &str) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        if !self.store.start_dream(id, now)? {
            return Ok(()); // not pending: already run, or taken by another worker
        }
        let Some(dream) = self.store.get_dream(id)? else {
            return Ok(());
        };
        let outcome = match self.dream(&dream) {
            Ok(outcome) => outcome,
            Err(reason) => DreamOutcome::Failed { reason },
        };
        self.store
            .finish_dream(id, &outcome, chrono::Utc::now().timestamp_millis())?;
        Ok(())
    }

    fn dream(&self, dream: &Dream) -> Result<DreamOutcome, String> {
        let store_error = |e: StoreError| format!("the store failed: {e}");
        let agent = self
            .store
            .get_agent(&dream.agent_id)
            .map_err(store_error)?
            .ok_or_else(|| format!("agent {} no longer exists", dream.agent_id))?;
        let previous_dream = self
            .store
            .last_completed_dream(&agent.id)
            .map_err(store_error)?;
        let previous: Option<Report> = previous_dream
            .as_ref()
            .and_then(|d| d.report.as_deref())
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| format!("the previous dream's report cannot be read: {e}"))?;

        // The window: as asked, else everything since the last completed dream.
        let since_ms = dream
            .window_start_ms
            .or_else(|| previous_dream.as_ref().and_then(|d| d.window_end_ms));
        let until_ms = dream.window_end_ms.unwrap_or(dream.created_at_ms);
        let window = Window {
            agent_id: &agent.id,
            since_ms,
            until_ms,
        };
        let count = self.store.count_window(window).map_err(store_error)?;
        if count < self.min_interactions {
            return Ok(DreamOutcome::Skipped {
                reason: format!(
                    "not enough data: the window holds {count} interaction{}, and a dream needs at least {}",
                    if count == 1 { "" } else { "s" },
                    self.min_interactions
                ),
            });
        }

        let mut feedback = FeedbackIndex::default();
        let mut overflow = None;
        self.store
            .window_feedback(window, &mut |f| {
                if overflow.is_none()
                    && let Err(e) = feedback.insert(&f)
                {
                    overflow = Some(e);
                }
            })
            .map_err(store_error)?;
        if let Some(e) = overflow {
            return Err(format!("the window's feedback is too large: {e}"));
        }
        feedback.sort();

        let mut config = self.rules.config.clone();
        config.agent.id = agent.id.clone();
        config.agent.name = agent.name.clone();
        config.agent.system_prompt = Some(agent.system_prompt.clone());
        config.agent.config_version = Some(format!("v{}", agent.live_version));
        let slots: Vec<RuleSlot> = config
            .rules
            .iter()
            .zip(&self.rules.loaded)
            .map(|(rule, loaded)| RuleSlot {
                source: rule.source.clone(),
                limits: rule.limits,
                settings: rule.settings.clone(),
                loaded: loaded.clone(),
            })
            .collect();
        let source = StoreSource {
            store: self.store.clone(),
            agent_id: agent.id.clone(),
            since_ms,
            until_ms,
            after: None,
            buffer: VecDeque::new(),
            page: config.chunk_size.clamp(1, 10_000) as u32,
            read: 0,
            done: false,
        };
        let report = cycle::run(
            &self.rules.runtime,
            slots,
            source,
            CycleInput {
                context: CycleContext {
                    agent_id: agent.id.clone(),
                    agent_name: agent.name.clone(),
                    system_prompt: agent.system_prompt.clone(),
                    config_version: format!("v{}", agent.live_version),
                    window_start_ms: since_ms,
                    window_end_ms: Some(until_ms),
                    settings: Vec::new(),
                },
                config: &config,
                feedback: &feedback,
                previous: previous.as_ref(),
                since_ms,
                until_ms: Some(until_ms),
                generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
            &|_| {},
        )
        .map_err(|e| format!("the cycle stopped: {e}"))?;
        let text = serde_json::to_string(&report)
            .map_err(|e| format!("the report cannot be serialised: {e}"))?;
        Ok(DreamOutcome::Completed {
            summary: DreamSummary {
                text: report.summary.clone(),
                interactions: report.window.interactions,
                patterns: report.patterns.len() as u64,
                suggestions: report.suggestions.len() as u64,
            },
            report: text,
            window_start_ms: since_ms,
            window_end_ms: until_ms,
        })
    }
}

/// A window of the store, read a page at a time for [`cycle::run`].
struct StoreSource {
    store: Arc<dyn Store>,
    agent_id: String,
    since_ms: Option<i64>,
    until_ms: i64,
    after: Option<WindowCursor>,
    buffer: VecDeque<Interaction>,
    page: u32,
    read: u64,
    done: bool,
}

impl InteractionSource for StoreSource {
    fn next_interaction(&mut self) -> Result<Option<Interaction>, CycleError> {
        if self.buffer.is_empty() && !self.done {
            let rows = self
                .store
                .read_window(
                    Window {
                        agent_id: &self.agent_id,
                        since_ms: self.since_ms,
                        until_ms: self.until_ms,
                    },
                    self.after,
                    self.page,
                )
                .map_err(|e| CycleError::Source(e.to_string()))?;
            self.done = rows.len() < self.page as usize;
            if let Some((cursor, _)) = rows.last() {
                self.after = Some(*cursor);
            }
            self.buffer.extend(rows.into_iter().map(|(_, i)| i));
        }
        let next = self.buffer.pop_front();
        if next.is_some() {
            self.read += 1;
        }
        Ok(next)
    }

    fn progress(&self) -> u64 {
        self.read
    }

    fn skipped(&self) -> u64 {
        0
    }
}
