//! The `[webhooks]` section: its TOML shape, parsed strictly, and the
//! settings delivery runs with, every value checked. Owned here so that the
//! top-level config only composes sections; this module must not reach into
//! other sections.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::units::{bounded, bounded_duration};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFile {
    retry_schedule: Option<Vec<String>>,
    timeout: Option<String>,
    max_response_kib: Option<usize>,
    disable_after: Option<String>,
    thin_above_kib: Option<usize>,
    public_url: Option<String>,
    allow_networks: Option<Vec<String>>,
    senders: Option<usize>,
    extra_root_certs: Option<Vec<PathBuf>>,
}

/// Webhook delivery (`[webhooks]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// Delays before the 2nd, 3rd, … attempt (the first is immediate).
    pub retry_schedule: Vec<Duration>,
    /// Total time for one attempt.
    pub timeout: Duration,
    pub max_response_bytes: usize,
    /// An endpoint failing without a break this long is disabled.
    pub disable_after: Duration,
    /// Larger bodies are sent thin (ids and a link).
    pub thin_above_bytes: usize,
    /// The API's base URL as receivers reach it; `None`: `http://<listen>`.
    pub public_url: Option<String>,
    /// Networks the SSRF guard lets through (e.g. `127.0.0.0/8` for local receivers).
    pub allow_networks: Vec<super::ssrf::Cidr>,
    /// Deliveries sent at once, one thread each.
    pub senders: usize,
    /// CA certificates trusted for HTTPS receivers besides the built-in (webpki) roots.
    pub extra_root_certs: Vec<super::deliver::RootCerts>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            retry_schedule: super::deliver::DEFAULT_SCHEDULE.to_vec(),
            timeout: Duration::from_secs(15),
            max_response_bytes: 64 << 10,
            disable_after: Duration::from_secs(5 * 86_400),
            thin_above_bytes: 256 << 10,
            public_url: None,
            allow_networks: Vec::new(),
            senders: 2,
            extra_root_certs: Vec::new(),
        }
    }
}

/// `base`: the config file's folder, which relative certificate paths start from.
pub fn resolve(file: &WebhooksFile, base: &Path) -> Result<WebhooksConfig, String> {
    let mut out = WebhooksConfig::default();
    let day = Duration::from_secs(86_400);
    if let Some(steps) = &file.retry_schedule {
        bounded(
            "the number of webhooks.retry_schedule steps",
            steps.len(),
            0..=20,
        )?;
        out.retry_schedule = steps
            .iter()
            .map(|s| bounded_duration("webhooks.retry_schedule", s, Duration::ZERO, 7 * day))
            .collect::<Result<_, _>>()?;
    }
    if let Some(t) = &file.timeout {
        out.timeout = bounded_duration(
            "webhooks.timeout",
            t,
            Duration::from_millis(100),
            Duration::from_secs(300),
        )?;
    }
    if let Some(t) = &file.disable_after {
        out.disable_after = bounded_duration(
            "webhooks.disable_after",
            t,
            Duration::from_secs(1),
            90 * day,
        )?;
    }
    if let Some(kib) = file.max_response_kib {
        out.max_response_bytes = bounded("webhooks.max_response_kib", kib, 1..=16 << 10)? << 10;
    }
    if let Some(kib) = file.thin_above_kib {
        out.thin_above_bytes = bounded("webhooks.thin_above_kib", kib, 1..=64 << 10)? << 10;
    }
    if let Some(url) = &file.public_url {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                out.public_url = Some(url.trim_end_matches('/').to_string())
            }
            _ => {
                return Err(format!(
                    "webhooks.public_url must be an http(s) URL, got {url:?}"
                ));
            }
        }
    }
    if let Some(nets) = &file.allow_networks {
        out.allow_networks = nets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                n.parse()
                    .map_err(|e| format!("webhooks.allow_networks[{i}]: {e}"))
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(n) = file.senders {
        out.senders = bounded("webhooks.senders", n, 1..=64)?;
    }
    if let Some(paths) = &file.extra_root_certs {
        out.extra_root_certs = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let p = if p.is_relative() {
                    base.join(p)
                } else {
                    p.clone()
                };
                super::deliver::RootCerts::load(&p)
                    .map_err(|e| format!("webhooks.extra_root_certs[{i}]: {e}"))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(out)
}
