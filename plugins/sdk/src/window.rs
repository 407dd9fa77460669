//! What the host knows of the cycle beyond the chunk: the explicit feedback on
//! an interaction being detected, and, during `finish`, the problems the other
//! rules found (a rule that asks for them is finished after the others).
//!
//! Natively (a rule's unit tests) [`testing`] sets what these return for the
//! current thread.

use crate::Rating;
pub use crate::bindings::reverie::rules::window::ProblemBrief;

/// The explicit feedback on an interaction of the current chunk, if any.
pub fn explicit_rating(interaction_id: &str) -> Option<Rating> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::reverie::rules::window::explicit_rating(interaction_id)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::explicit_rating(interaction_id)
    }
}

/// The other rules' problems, merged as the report shows them. Only during `finish`.
pub fn problems() -> Vec<ProblemBrief> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::reverie::rules::window::problems()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        testing::problems()
    }
}

/// Stand-ins for native tests, per thread.
#[cfg(not(target_arch = "wasm32"))]
pub mod testing {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        static RATINGS: RefCell<HashMap<String, Rating>> = RefCell::new(HashMap::new());
        static PROBLEMS: RefCell<Vec<ProblemBrief>> = const { RefCell::new(Vec::new()) };
    }

    /// The explicit ratings [`explicit_rating`](super::explicit_rating) answers from.
    pub fn set_explicit_ratings(ratings: &[(&str, Rating)]) {
        RATINGS.with(|r| {
            *r.borrow_mut() = ratings.iter().map(|(id, x)| (id.to_string(), *x)).collect();
        });
    }

    /// The problems [`problems`](super::problems) returns.
    pub fn set_problems(problems: Vec<ProblemBrief>) {
        PROBLEMS.with(|p| *p.borrow_mut() = problems);
    }

    pub(super) fn explicit_rating(id: &str) -> Option<Rating> {
        RATINGS.with(|r| r.borrow().get(id).copied())
    }

    pub(super) fn problems() -> Vec<ProblemBrief> {
        PROBLEMS.with(|p| p.borrow().clone())
    }
}
