//! The `[scheduler]` section: its TOML shape, parsed strictly, and the
//! settings the scheduler and the dream workers run with, every value checked.
//! Owned here so that the top-level config only composes sections.
//!
//! It must not read any other section.

use std::time::Duration;

use serde::Deserialize;

use crate::units::{bounded, bounded_duration};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerFile {
    enabled: Option<bool>,
    tick: Option<String>,
    jitter: Option<String>,
    catch_up_window: Option<String>,
    lease: Option<String>,
    max_attempts: Option<u32>,
    workers: Option<usize>,
    shutdown_grace: Option<String>,
}

/// `reverie serve`'s scheduler and dream workers (`[scheduler]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// `false`: agents dream only when asked (the workers still run those dreams).
    pub enabled: bool,
    /// How often the scheduler looks for due slots.
    pub tick: Duration,
    /// The largest jitter added to a slot (each agent gets a stable share of it).
    pub jitter: Duration,
    /// How far back a slot missed while the server was down is still run (once).
    pub catch_up_window: Duration,
    /// How long a worker's claim on a dream lasts without renewal.
    pub lease: Duration,
    /// Claims of one dream before it is marked failed.
    pub max_attempts: u32,
    /// Dreams run at once (each on its own thread).
    pub workers: usize,
    /// After SIGTERM, how long running dreams get to finish before they are released.
    pub shutdown_grace: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            enabled: true,
            tick: Duration::from_secs(1),
            jitter: Duration::from_secs(300),
            catch_up_window: Duration::from_secs(6 * 3600),
            lease: Duration::from_secs(60),
            max_attempts: 3,
            workers: 2,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// `[scheduler]` resolved: every value checked against its bounds, each error naming its key.
pub fn resolve(file: &SchedulerFile) -> Result<SchedulerConfig, String> {
    let mut out = SchedulerConfig::default();
    let duration =
        |key: &str, value: &Option<String>, min: Duration, max: Duration, into: &mut Duration| {
            if let Some(text) = value {
                *into = bounded_duration(&format!("scheduler.{key}"), text, min, max)?;
            }
            Ok::<(), String>(())
        };
    let day = Duration::from_secs(86_400);
    duration(
        "tick",
        &file.tick,
        Duration::from_millis(10),
        Duration::from_secs(3600),
        &mut out.tick,
    )?;
    duration("jitter", &file.jitter, Duration::ZERO, day, &mut out.jitter)?;
    duration(
        "catch_up_window",
        &file.catch_up_window,
        Duration::ZERO,
        30 * day,
        &mut out.catch_up_window,
    )?;
    duration(
        "lease",
        &file.lease,
        Duration::from_millis(100),
        day,
        &mut out.lease,
    )?;
    duration(
        "shutdown_grace",
        &file.shutdown_grace,
        Duration::ZERO,
        Duration::from_secs(3600),
        &mut out.shutdown_grace,
    )?;
    if let Some(enabled) = file.enabled {
        out.enabled = enabled;
    }
    if let Some(n) = file.max_attempts {
        out.max_attempts = bounded("scheduler.max_attempts", n, 1..=100)?;
    }
    if let Some(n) = file.workers {
        out.workers = bounded("scheduler.workers", n, 1..=256)?;
    }
    Ok(out)
}
