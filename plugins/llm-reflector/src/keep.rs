//! The negatively rated interactions the reflector keeps for the model to
//! read at `finish`: a bounded set, the same whatever the chunking.
//!
//! Each negative interaction gets a rank: people's ratings with a comment
//! first, then people's ratings, then ratings inferred by `detect` rules (more
//! rules flagging it first), and within each a hash of its id. The
//! `max_kept` best ranks are kept, so the set depends only on which
//! interactions the window holds, never on their order; and a set that is
//! full costs no transcript for an interaction that would not get in.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use reverie_rule_sdk::llm::sample::hash;

/// Salt of the hash that orders interactions of equal standing.
const RANK_SALT: &str = "llm-reflector/keep";

/// Where a negative rating came from, worst (most telling) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A person rated it negative and said why.
    ExplicitWithComment,
    /// A person rated it negative.
    Explicit,
    /// Only `detect` rules did.
    Inferred,
}

/// An interaction kept for the model.
#[derive(Debug, Clone)]
pub struct Kept {
    pub id: String,
    /// Its place in the window, for evidence in window order.
    pub position: u64,
    pub source: Source,
    /// What the feedback said, one line: the person's comment, or the
    /// inferring rules and their reasons.
    pub feedback: String,
    /// The compact transcript.
    pub transcript: String,
}

/// Lower is kept first: source, then more negative signals, then the hash.
type Rank = (Source, Reverse<u32>, u64, String);

/// The kept set.
#[derive(Debug)]
pub struct Keeper {
    max: usize,
    by_rank: BTreeMap<Rank, Kept>,
    rank_of: BTreeMap<String, Rank>,
    /// Negative interactions offered.
    pub offered: u64,
}

impl Keeper {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            by_rank: BTreeMap::new(),
            rank_of: BTreeMap::new(),
            offered: 0,
        }
    }

    /// Offer a negative interaction with `signals` negative ratings; the
    /// transcript is made only if it is kept.
    pub fn offer(
        &mut self,
        id: &str,
        source: Source,
        signals: u32,
        make: impl FnOnce() -> (u64, String, String),
    ) {
        self.offered += 1;
        if self.max == 0 || self.rank_of.contains_key(id) {
            return;
        }
        let rank: Rank = (
            source,
            Reverse(signals),
            hash(RANK_SALT, id),
            id.to_string(),
        );
        if self.by_rank.len() >= self.max
            && self
                .by_rank
                .last_key_value()
                .is_some_and(|(last, _)| rank >= *last)
        {
            return;
        }
        let (position, feedback, transcript) = make();
        self.rank_of.insert(id.to_string(), rank.clone());
        self.by_rank.insert(
            rank,
            Kept {
                id: id.to_string(),
                position,
                source,
                feedback,
                transcript,
            },
        );
        if self.by_rank.len() > self.max
            && let Some((_, gone)) = self.by_rank.pop_last()
        {
            self.rank_of.remove(&gone.id);
        }
    }

    /// The kept interaction `id`, if kept.
    pub fn get(&self, id: &str) -> Option<&Kept> {
        self.rank_of.get(id).and_then(|r| self.by_rank.get(r))
    }

    /// The kept interactions, worst first.
    pub fn worst_first(&self) -> impl Iterator<Item = &Kept> {
        self.by_rank.values()
    }

    /// The kept interactions among `ids`, worst first.
    pub fn among<'a>(&'a self, ids: &[String]) -> Vec<&'a Kept> {
        let mut ranks: Vec<&Rank> = ids.iter().filter_map(|id| self.rank_of.get(id)).collect();
        ranks.sort();
        ranks.dedup();
        ranks
            .into_iter()
            .filter_map(|r| self.by_rank.get(r))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.by_rank.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_rank.is_empty()
    }
}
