//! End-to-end tests: the real `reverie` binary, real rule components, real files.
//!
//! One test binary with a module per feature; shared helpers (building the hostile fixtures of
//! `tests/fixtures`, writing datasets, running `reverie dream`) live in `common`.

mod authoring;
mod backup;
mod cache;
mod clients;
mod common;
mod config;
mod input;
mod installed;
mod languages;
mod llm;
mod operate;
mod replicas;
mod report;
mod retention;
mod sandbox;
mod schedule;
mod serve;
mod webhooks;
