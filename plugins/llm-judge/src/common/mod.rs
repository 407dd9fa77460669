//! What the rules that read conversations with a language model share: a
//! compact transcript of an interaction ([`transcript`]), prompt templates
//! kept in Markdown files ([`template`]), the reading of answers
//! ([`answer`]), calls that respect the budget and
//! stop on repeated provider failures ([`caller`]), the run log they keep
//! ([`journal`]) and deterministic sampling by interaction id ([`sample`]).
//!
//! `llm-judge` owns these files and `llm-reflector` compiles the same files
//! by path: a rule crate cannot link another rule crate into its component
//! (both would export the contract), and the SDK does not hold them yet.
//! Nothing here names a rule, a domain or a language.

pub mod answer;
pub mod caller;
pub mod journal;
pub mod sample;
pub mod template;
pub mod transcript;
