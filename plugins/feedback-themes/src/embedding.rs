//! The comments' embeddings, from the model the operator granted (feature
//! `llm`): calls within the budget, answers checked, and one policy when
//! anything goes wrong: stop for the rest of the window, so that the rule
//! groups the remaining comments by their words and says so in its run log.
//!
//! Before each call the budget left is asked ([`llm::remaining`]); a call is
//! made only with a call left and, since the host refuses a call whose
//! estimated input exceeds what is left, only for the comments whose
//! estimate fits (the first of them; the others go to words). Embeddings
//! cost input tokens only. Any error of a call (budget, provider, timeout,
//! no embedding model configured) stops the embeddings: a provider that
//! failed once in a window this size is not worth waiting on again, and
//! themes made by two methods in turn would be harder to read. An answer
//! with the wrong number of vectors, vectors of different dimensions, or a
//! vector without a direction stops them too.

use reverie_rule_sdk::llm::{self, BudgetLeft, MAX_EMBED_TEXTS};
use reverie_rule_sdk::log;

use crate::centroid::unit;

/// Longest comment text sent, in characters: what a comment is about is in
/// its first lines, embedding models read a few hundred tokens at most, and
/// 256 texts this long stay under the host's 1 MiB per call.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Largest vector accepted. Bounds a theme's memory (`max_themes` vectors of
/// this many numbers); common models use 384 to 3,072.
pub const MAX_DIMENSION: usize = 8_192;

/// The text sent for a comment: trimmed and cut to [`MAX_TEXT_CHARS`].
pub fn text_of(comment: &str) -> String {
    comment.trim().chars().take(MAX_TEXT_CHARS).collect()
}

/// The embedding calls of one window.
#[derive(Debug, Default)]
pub struct Embedder {
    calls: u32,
    input_tokens: u64,
    embedded: u64,
    dimension: Option<usize>,
    stopped: Option<String>,
}

impl Embedder {
    /// Calls made (answered or not).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Input tokens the provider reported.
    pub fn input_tokens(&self) -> u64 {
        self.input_tokens
    }

    /// Comments embedded.
    pub fn embedded(&self) -> u64 {
        self.embedded
    }

    /// Why embeddings stopped, if they did.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Unit vectors for the first of `texts`, in order: all of them while
    /// embeddings work, fewer (maybe none) once they stopped.
    pub fn embed(&mut self, texts: &[String]) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(MAX_EMBED_TEXTS) {
            if self.stopped.is_some() {
                break;
            }
            let fit = match fits(&llm::remaining(), batch) {
                Ok(fit) => fit,
                Err(why) => {
                    self.stop(why);
                    break;
                }
            };
            self.calls += 1;
            let answer = match llm::embed(&batch[..fit]) {
                Ok(answer) => answer,
                Err(e) => {
                    self.stop(llm::describe(&e));
                    break;
                }
            };
            self.input_tokens += u64::from(answer.usage.input_tokens);
            match self.check(answer.vectors, fit) {
                Ok(units) => {
                    self.embedded += units.len() as u64;
                    out.extend(units);
                }
                Err(why) => {
                    self.stop(format!("malformed embeddings: {why}"));
                    break;
                }
            }
            if fit < batch.len() {
                self.stop(format!(
                    "budget exhausted: input tokens for {fit} of {} comments left",
                    batch.len()
                ));
            }
        }
        out
    }

    /// The answer's vectors as unit vectors, if it is one sound vector per text.
    fn check(&mut self, vectors: Vec<Vec<f32>>, texts: usize) -> Result<Vec<Vec<f32>>, String> {
        if vectors.len() != texts {
            return Err(format!("{} vectors for {texts} texts", vectors.len()));
        }
        let mut units = Vec::with_capacity(vectors.len());
        for (i, v) in vectors.iter().enumerate() {
            let dimension = *self.dimension.get_or_insert(v.len());
            if v.len() != dimension || v.len() > MAX_DIMENSION {
                return Err(format!(
                    "vector {i} has {} numbers, expected {dimension} (at most {MAX_DIMENSION})",
                    v.len()
                ));
            }
            units
                .push(unit(v).ok_or_else(|| {
                    format!("vector {i} has no direction (zeros or not numbers)")
                })?);
        }
        Ok(units)
    }

    fn stop(&mut self, why: String) {
        log::warn(
            "embeddings stopped; the rest of the window is grouped by words",
            &[
                ("why", why.as_str()),
                ("comments_embedded", self.embedded.to_string().as_str()),
            ],
        );
        self.stopped = Some(why);
    }
}

/// How many of the first texts of `batch` the budget `left` lets one call
/// send, or why none.
fn fits(left: &BudgetLeft, batch: &[String]) -> Result<usize, String> {
    if left.calls == 0 {
        return Err("budget exhausted: no calls left".to_string());
    }
    if left.time_ms == 0 {
        return Err("budget exhausted: no time left".to_string());
    }
    let mut tokens = 0u64;
    let fit = batch
        .iter()
        .take_while(|t| {
            tokens = tokens.saturating_add(llm::estimate_tokens(t));
            tokens <= left.input_tokens
        })
        .count();
    if fit == 0 {
        return Err(format!(
            "budget exhausted: {} input tokens left, not enough for one comment",
            left.input_tokens
        ));
    }
    Ok(fit)
}
