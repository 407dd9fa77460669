//! The input of every side: the generated interactions, parsed once up front with
//! reverie's own reader, in chunks of [`CHUNK_SIZE`] as the sandbox bench feeds
//! them, with each chunk's explicit feedback (what a dream attaches to a chunk
//! before `analyse`). Nothing here is timed: parsing counts on no side.

use std::path::Path;

use reverie::input::{FeedbackIndex, InteractionReader};
use reverie::model as domain;

/// Interactions per chunk, as in `host/benches/sandbox.rs`.
pub const CHUNK_SIZE: usize = 256;

pub struct Data {
    pub interactions: Vec<domain::Interaction>,
    /// Per chunk: the explicit feedback on its interactions (only reverie's side
    /// carries it, because its contract always passes feedback to `analyse`).
    pub feedback: Vec<Vec<domain::Feedback>>,
    pub context: domain::CycleContext,
    /// Size of `interactions.jsonl`, the base of every MB/s figure.
    pub bytes: u64,
}

impl Data {
    pub fn chunks(&self) -> impl Iterator<Item = (&[domain::Interaction], &[domain::Feedback])> {
        self.interactions
            .chunks(CHUNK_SIZE)
            .zip(self.feedback.iter().map(Vec::as_slice))
    }
}

/// Read `dir/interactions.jsonl` and `dir/feedback.jsonl` (made by the generator; see run.sh).
pub fn load(dir: &Path) -> Data {
    let path = dir.join("interactions.jsonl");
    let explicit = FeedbackIndex::load(&dir.join("feedback.jsonl"), false)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("feedback.jsonl").display()));
    let mut reader =
        InteractionReader::open(&path, false).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut interactions = Vec::new();
    while let Some(i) = reader
        .next_interaction()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        interactions.push(i);
    }
    let feedback = interactions
        .chunks(CHUNK_SIZE)
        .map(|chunk| {
            chunk
                .iter()
                .flat_map(|i| {
                    explicit
                        .for_interaction(&i.id)
                        .unwrap_or_else(|e| panic!("feedback: {e}"))
                })
                .collect()
        })
        .collect();
    let last = interactions.last();
    let context = domain::CycleContext {
        agent_id: "bench".into(),
        agent_name: "bench".into(),
        system_prompt: last
            .and_then(|i| i.system_prompt())
            .unwrap_or_default()
            .into(),
        config_version: last
            .and_then(|i| i.config_version.clone())
            .unwrap_or_default(),
        window_start_ms: None,
        window_end_ms: None,
        settings: Vec::new(),
    };
    let bytes = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len();
    Data {
        interactions,
        feedback,
        context,
        bytes,
    }
}
