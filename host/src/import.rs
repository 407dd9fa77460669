//! `reverie import`: send JSONL files of interactions and feedback to a running
//! server in batches.
//!
//! Every line is checked here first, so a bad line is reported with its file
//! and line number before anything is sent. Each batch carries an
//! `Idempotency-Key` derived from its content: if the connection drops after the
//! server stored a batch, sending it again is answered from the stored response,
//! and running the same import again after an interruption re-sends the stored
//! batches harmlessly and goes on from the first one that is missing.
//!
//! It must not write to a database: it posts batches to a server over HTTP.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::client::{Client, ClientError};
use crate::input;

/// Lines per batch by default: well inside the server's 1,000-item cap. A batch
/// the server finds too large (413) is split in halves until it fits.
pub const DEFAULT_BATCH: usize = 500;
/// A batch is sent early once its body reaches this size, to stay well under the body cap.
const MAX_BATCH_BYTES: usize = 4 << 20;
const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}, line {line}: {problem}", path.display())]
    Invalid {
        path: PathBuf,
        line: u64,
        problem: String,
    },
    #[error("{}: the server refused the batch of lines {first}–{last}: {problem}", path.display())]
    Refused {
        path: PathBuf,
        first: u64,
        last: u64,
        problem: String,
    },
    #[error(transparent)]
    Client(#[from] ClientError),
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportSummary {
    pub interactions: u64,
    pub feedback: u64,
    pub skipped: u64,
    pub batches: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Interactions,
    Feedback,
}

impl Kind {
    fn list(self) -> &'static str {
        match self {
            Kind::Interactions => "interactions",
            Kind::Feedback => "feedback",
        }
    }
    fn check(self, line: &str) -> Result<(), String> {
        match self {
            Kind::Interactions => input::parse_interaction(line).map(|_| ()),
            Kind::Feedback => input::parse_feedback(line).map(|_| ()),
        }
    }
}

pub struct Importer<'a> {
    pub client: &'a Client,
    pub agent_id: &'a str,
    pub batch_size: usize,
    pub skip_invalid: bool,
    /// Called with the bytes read so far of the file being imported.
    pub progress: &'a dyn Fn(u64),
}

impl Importer<'_> {
    pub fn interactions(
        &self,
        path: &Path,
        summary: &mut ImportSummary,
    ) -> Result<(), ImportError> {
        self.file(path, Kind::Interactions, summary)
    }

    pub fn feedback(&self, path: &Path, summary: &mut ImportSummary) -> Result<(), ImportError> {
        self.file(path, Kind::Feedback, summary)
    }

    fn file(
        &self,
        path: &Path,
        kind: Kind,
        summary: &mut ImportSummary,
    ) -> Result<(), ImportError> {
        let io = |source| ImportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut reader = BufReader::new(File::open(path).map_err(io)?);
        let mut batch: Vec<(u64, String)> = Vec::with_capacity(self.batch_size);
        let mut batch_bytes = 0usize;
        let mut line_no = 0u64;
        let mut read = 0u64;
        let mut buf = String::new();
        loop {
            buf.clear();
            let n = reader.read_line(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            read += n as u64;
            let line = buf.trim();
            if line.is_empty() {
                continue;
            }
            if let Err(problem) = kind.check(line) {
                if self.skip_invalid {
                    summary.skipped += 1;
                    continue;
                }
                return Err(ImportError::Invalid {
                    path: path.to_path_buf(),
                    line: line_no,
                    problem,
                });
            }
            batch_bytes += line.len() + 1;
            batch.push((line_no, line.to_string()));
            if batch.len() >= self.batch_size || batch_bytes >= MAX_BATCH_BYTES {
                self.send(path, kind, &batch, summary)?;
                (self.progress)(read);
                batch.clear();
                batch_bytes = 0;
            }
        }
        if !batch.is_empty() {
            self.send(path, kind, &batch, summary)?;
        }
        (self.progress)(read);
        Ok(())
    }

    fn send(
        &self,
        path: &Path,
        kind: Kind,
        batch: &[(u64, String)],
        summary: &mut ImportSummary,
    ) -> Result<(), ImportError> {
        let mut body = format!("{{\"{}\":[", kind.list());
        for (i, (_, line)) in batch.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(line);
        }
        body.push_str("]}");
        let route = format!("/v1/agents/{}/{}/batch", self.agent_id, kind.list());
        let digest = Sha256::digest(format!("{route}\n{body}").as_bytes());
        let key: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let key = format!("import-{key}");

        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.client.send(
                reqwest::Method::POST,
                &route,
                Some(body.clone()),
                Some(&key),
            ) {
                Ok(_) => break,
                // The server's body cap is smaller than this batch: send it in halves.
                Err(ClientError::Problem { status: 413, .. }) if batch.len() > 1 => {
                    let (first, second) = batch.split_at(batch.len() / 2);
                    self.send(path, kind, first, summary)?;
                    return self.send(path, kind, second, summary);
                }
                Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(500 << attempt));
                }
                Err(ClientError::Problem { detail, errors, .. }) if !errors.is_empty() => {
                    // Name lines, not batch positions: `interactions[3].x` → line N, field `x`.
                    let mut problems = Vec::new();
                    for (field, message) in &errors {
                        problems.push(describe(path, kind, batch, field, message));
                    }
                    let first = problems.first().cloned().unwrap_or(detail);
                    return Err(ImportError::Refused {
                        path: path.to_path_buf(),
                        first: batch.first().map_or(0, |b| b.0),
                        last: batch.last().map_or(0, |b| b.0),
                        problem: if problems.len() > 1 {
                            format!("{first} (and {} more)", problems.len() - 1)
                        } else {
                            first
                        },
                    });
                }
                Err(e) => {
                    return Err(ImportError::Refused {
                        path: path.to_path_buf(),
                        first: batch.first().map_or(0, |b| b.0),
                        last: batch.last().map_or(0, |b| b.0),
                        problem: e.to_string(),
                    });
                }
            }
        }
        summary.batches += 1;
        match kind {
            Kind::Interactions => summary.interactions += batch.len() as u64,
            Kind::Feedback => summary.feedback += batch.len() as u64,
        }
        Ok(())
    }
}

/// "line 1234: field `x`: message" for a batch field path like `interactions[3].x`.
fn describe(
    path: &Path,
    kind: Kind,
    batch: &[(u64, String)],
    field: &str,
    message: &str,
) -> String {
    let prefix = format!("{}[", kind.list());
    if let Some(rest) = field.strip_prefix(&prefix)
        && let Some((index, inner)) = rest.split_once(']')
        && let Ok(index) = index.parse::<usize>()
        && let Some((line, _)) = batch.get(index)
    {
        let inner = inner.trim_start_matches('.');
        return if inner.is_empty() {
            format!("{}, line {line}: {message}", path.display())
        } else {
            format!(
                "{}, line {line}: field `{inner}`: {message}",
                path.display()
            )
        };
    }
    format!("{field}: {message}")
}
