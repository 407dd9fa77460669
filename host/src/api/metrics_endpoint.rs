//! `[metrics] endpoint`: who may read `GET /metrics`. Owned here, beside the
//! route it guards; the top-level config only composes it.
//!
//! It must not read any other section.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    endpoint: Option<String>,
}

/// Who may read `GET /metrics` (`[metrics] endpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsEndpoint {
    /// No such route: 404.
    Off,
    /// Anyone who reaches the port.
    Open,
    /// An admin API key as `Authorization: Bearer` (the default: the numbers
    /// describe every tenant's traffic, so they are not for every caller).
    #[default]
    Key,
}

/// `[metrics]` resolved.
pub fn resolve(file: &MetricsFile) -> Result<MetricsEndpoint, String> {
    match file.endpoint.as_deref() {
        None | Some("key") => Ok(MetricsEndpoint::Key),
        Some("off") => Ok(MetricsEndpoint::Off),
        Some("open") => Ok(MetricsEndpoint::Open),
        Some(other) => Err(format!(
            "metrics.endpoint must be \"off\", \"open\" or \"key\", got {other:?}"
        )),
    }
}
