//! Reading interactions and feedback from JSONL files.
//!
//! One interaction per line, in the shape agent frameworks already log (OpenAI-style
//! `messages` with `tool_calls`; a tool result is a `tool` message with
//! `tool_call_id`, failed when it has `"is_error": true` or an `error` string). One
//! feedback per line. The format is documented in `examples/README.md`.
//!
//! Interactions are streamed: [`InteractionReader`] yields one at a time and never
//! holds the file. Feedback is small by comparison (a minority of interactions is
//! rated) and is indexed by interaction id so the cycle can attach it to chunks.
//! Unknown fields in the data are ignored: logs carry framework-specific extras.
//! A malformed line is an error naming the file, the line and the field, unless
//! the caller asked to skip invalid lines, in which case it is counted.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{Feedback, FeedbackSource, Interaction, Message, Rating, Role, ToolCall};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
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
}

// ---- raw shapes, as found in the files ------------------------------------------------

// The OpenAPI document (`api::openapi`) describes these shapes from the same
// types: what is parsed is what is documented.

/// One interaction, in the line format of `reverie dream` files (OpenAI-style `messages`
/// with `tool_calls`; a tool result is a `tool` message with `tool_call_id`, failed when it
/// has `"is_error": true` or an `error` string). Unknown fields are ignored: logs carry
/// framework-specific extras.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = InteractionInput)]
pub struct RawInteraction {
    /// Unique within the agent; not blank, at most 256 bytes. Required in files; optional
    /// over HTTP: the server makes one (`int_…`) when it is absent or null, and the stored
    /// body carries it.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    id: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    /// When the interaction happened: an RFC 3339 time string (a number is refused).
    #[serde(deserialize_with = "timestamp_ms")]
    #[schema(value_type = String, format = DateTime, examples("2026-10-27T09:14:03Z"))]
    timestamp: i64,
    /// The runtime's own label for the config that served it, kept as sent. The server
    /// counts it as `client:<label>`, apart from its own versions (`v1`, `v2`, …), unless
    /// `agent_version` is given.
    #[serde(default)]
    config_version: Option<String>,
    /// The server's config version that served it (as in `GET
    /// /v1/agents/{agent_id}/versions`), for a runtime that takes its config from reverie;
    /// the agent must have it (422 otherwise). Absent or null, with no `config_version`
    /// either: the version live when the interaction arrives.
    #[serde(default)]
    #[schema(pattern = "^v[1-9][0-9]*$", examples("v3"))]
    agent_version: Option<String>,
    messages: Vec<RawMessage>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One message. A failed tool result (`role: tool` with `is_error: true` or an `error`)
/// must name an earlier tool call in `tool_call_id` (422 otherwise).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = Message)]
pub struct RawMessage {
    role: Role,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    tool_calls: Option<Vec<RawToolCall>>,
    /// On a `tool` message: the call it answers.
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    is_error: Option<bool>,
    /// Why the tool call failed (marks the result failed).
    #[serde(default)]
    error: Option<String>,
}

/// Message content: a string, or a list of content parts whose `text` is joined
/// (the multi-part shape of the OpenAI and Anthropic APIs).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A part of a message's content. Parts without `text` (images, …) are kept but not read.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ContentPart {
    #[serde(default)]
    text: Option<String>,
}

impl Content {
    fn into_text(self) -> String {
        match self {
            Content::Text(t) => t,
            Content::Parts(parts) => {
                let texts: Vec<String> = parts.into_iter().filter_map(|p| p.text).collect();
                texts.join("\n")
            }
        }
    }
}

/// A tool call an assistant message made.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ToolCall)]
pub struct RawToolCall {
    id: String,
    function: RawFunction,
}

/// The function a tool call names.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ToolFunction)]
pub struct RawFunction {
    name: String,
    /// A JSON text (OpenAI) or an object (some frameworks log it parsed).
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

/// One piece of feedback, in the line format of `reverie dream` feedback files. Unknown
/// fields are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = FeedbackInput)]
pub struct RawFeedback {
    /// An interaction the agent has (422 otherwise).
    #[schema(min_length = 1)]
    interaction_id: String,
    rating: Rating,
    /// At most 64 KiB; a blank comment is stored as none.
    #[serde(default)]
    #[schema(max_length = 65536)]
    comment: Option<String>,
    /// Accepted and checked (RFC 3339 string, or null), not stored.
    #[serde(default, deserialize_with = "optional_timestamp_ms")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[allow(dead_code)] // accepted and validated; the cycle does not need it yet
    timestamp: Option<i64>,
}

fn parse_rfc3339(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2026-10-27T09:14:03Z ({e})"))
}

fn timestamp_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Other(serde_json::Value),
    }
    match Raw::deserialize(d)? {
        Raw::Text(t) => parse_rfc3339(&t).map_err(serde::de::Error::custom),
        Raw::Other(v) => Err(serde::de::Error::custom(format!(
            "expected an RFC 3339 time string like \"2026-10-27T09:14:03Z\", found {v}"
        ))),
    }
}

fn optional_timestamp_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(None),
        Some(serde_json::Value::String(t)) => parse_rfc3339(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(v) => Err(serde::de::Error::custom(format!(
            "expected an RFC 3339 time string like \"2026-10-27T09:14:03Z\", found {v}"
        ))),
    }
}

/// Parse one JSON line into `T`, describing a failure by field path.
///
/// The fast path is plain serde_json; only a line that fails is parsed again with
/// path tracking, which costs ~15% of parsing time on every line otherwise.
fn parse_line<'a, T: Deserialize<'a>>(line: &'a str) -> Result<T, String> {
    if let Ok(value) = serde_json::from_str(line) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_str(line);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let mut message = err.inner().to_string();
        // serde_json appends " at line 1 column N": the line is ours to name, the column is noise.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        if path.is_empty() || path == "." {
            message
        } else {
            format!("field `{path}`: {message}")
        }
    })
}

fn convert_interaction(
    raw: RawInteraction,
    fallback_id: Option<&str>,
) -> Result<Interaction, String> {
    let id = match (raw.id, fallback_id) {
        (Some(id), _) => id,
        (None, Some(id)) => id.to_string(),
        (None, None) => return Err("missing field `id`".into()),
    };
    if id.trim().is_empty() {
        return Err("field `id`: must not be empty".into());
    }
    let agent_version = match raw.agent_version.as_deref() {
        None => None,
        Some(text) => Some(version_number(text).ok_or_else(|| {
            format!(
                "field `agent_version`: must name one of the agent's config versions on the server, like \"v3\", got {text:?} (a runtime's own label goes in `config_version`)"
            )
        })?),
    };
    let mut messages = Vec::with_capacity(raw.messages.len());
    let mut tool_calls: Vec<ToolCall> = Vec::new();
    for (index, m) in raw.messages.into_iter().enumerate() {
        let content = m.content.map(Content::into_text).unwrap_or_default();
        if let Some(calls) = m.tool_calls {
            for call in calls {
                let arguments = match call.function.arguments {
                    None => String::new(),
                    Some(serde_json::Value::String(s)) => s,
                    Some(other) => other.to_string(),
                };
                tool_calls.push(ToolCall {
                    id: call.id,
                    name: call.function.name,
                    arguments,
                    error: None,
                    message_index: index as u32,
                });
            }
        }
        if m.role == Role::Tool {
            let failed = m.is_error.unwrap_or(false) || m.error.is_some();
            if failed {
                let error = m.error.clone().unwrap_or_else(|| content.clone());
                match &m.tool_call_id {
                    Some(id) => {
                        if let Some(call) = tool_calls.iter_mut().rev().find(|c| &c.id == id) {
                            call.error = Some(error);
                        } else {
                            return Err(format!(
                                "field `messages[{index}].tool_call_id`: no earlier tool call has id {id:?}"
                            ));
                        }
                    }
                    None => {
                        return Err(format!(
                            "field `messages[{index}].tool_call_id`: a failed tool result must name its tool call"
                        ));
                    }
                }
            }
        }
        messages.push(Message {
            role: m.role,
            content,
            tool_call_id: m.tool_call_id,
        });
    }
    let metadata = match raw.metadata {
        None => "{}".to_string(),
        Some(map) => serde_json::Value::Object(map).to_string(),
    };
    Ok(Interaction {
        id,
        session_id: raw.session_id,
        user_id: raw.user_id,
        timestamp_ms: raw.timestamp,
        config_version: raw.config_version,
        agent_version,
        messages,
        tool_calls,
        metadata,
    })
}

/// The number of a server config version name: `v1`, `v2`, … (digits only,
/// no sign, no leading zero).
pub fn version_number(text: &str) -> Option<i64> {
    text.strip_prefix('v')
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 1)
}

/// Parse one interaction line (for callers that get lines from elsewhere, e.g. HTTP).
pub fn parse_interaction(line: &str) -> Result<Interaction, String> {
    parse_line::<RawInteraction>(line).and_then(|raw| convert_interaction(raw, None))
}

/// Parse an interaction that may leave out its `id` (the HTTP API names it
/// `id_if_missing` then). The error says which field was wrong.
pub fn parse_interaction_with_id(line: &str, id_if_missing: &str) -> Result<Interaction, String> {
    parse_line::<RawInteraction>(line).and_then(|raw| convert_interaction(raw, Some(id_if_missing)))
}

/// Parse one feedback line.
pub fn parse_feedback(line: &str) -> Result<Feedback, String> {
    let raw: RawFeedback = parse_line(line)?;
    if raw.interaction_id.trim().is_empty() {
        return Err("field `interaction_id`: must not be empty".into());
    }
    Ok(Feedback {
        interaction_id: raw.interaction_id,
        rating: raw.rating,
        comment: raw.comment.filter(|c| !c.trim().is_empty()),
        source: FeedbackSource::Explicit,
    })
}

/// Streams interactions from a JSONL file, one line at a time.
pub struct InteractionReader {
    path: PathBuf,
    reader: BufReader<File>,
    buf: String,
    line: u64,
    bytes_read: u64,
    skip_invalid: bool,
    skipped: u64,
}

impl InteractionReader {
    pub fn open(path: &Path, skip_invalid: bool) -> Result<Self, InputError> {
        let file = File::open(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(256 * 1024, file),
            buf: String::new(),
            line: 0,
            bytes_read: 0,
            skip_invalid,
            skipped: 0,
        })
    }

    /// Bytes consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Lines skipped as invalid (only with `skip_invalid`).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The next interaction, `Ok(None)` at the end of the file.
    pub fn next_interaction(&mut self) -> Result<Option<Interaction>, InputError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_line(&mut self.buf)
                .map_err(|source| InputError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes_read += n as u64;
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            match parse_interaction(text) {
                Ok(i) => return Ok(Some(i)),
                Err(_) if self.skip_invalid => self.skipped += 1,
                Err(problem) => {
                    return Err(InputError::Invalid {
                        path: self.path.clone(),
                        line: self.line,
                        problem,
                    });
                }
            }
        }
    }
}

/// Explicit feedback, indexed by the interaction it rates.
///
/// Feedback names interactions anywhere in the window, so the cycle must be able to
/// find any of it from any chunk. How much of it stays in memory is what keeps a long
/// window's memory flat:
///
/// - **From a file** ([`FeedbackIndex::load`]): every line is read and checked once,
///   and the index keeps only a 16-byte entry per feedback (a hash of the interaction
///   id, and where the line is). A chunk's feedback is read back from the file when
///   the chunk needs it. A million-interaction window with 176k feedback records
///   holds 2.8 MB, whatever the comments' length.
/// - **From the store** ([`FeedbackIndex::insert`], server dreams): ids and comments
///   in one text arena and a 32-byte entry per feedback, ~4× smaller than a map of
///   owned strings.
///
/// Entries are sorted by the hash; lookups compare the id itself, so hash collisions
/// cannot mix feedback up.
#[derive(Debug, Default)]
pub struct FeedbackIndex {
    held: Held,
    sorted: bool,
    skipped: u64,
}

#[derive(Debug)]
enum Held {
    Memory {
        entries: Vec<MemoryEntry>,
        text: String,
    },
    File {
        entries: Vec<LineEntry>,
        file: File,
        path: PathBuf,
    },
}

impl Default for Held {
    fn default() -> Self {
        Held::Memory {
            entries: Vec::new(),
            text: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct MemoryEntry {
    hash: u64,
    /// `text[id.0..id.0 + id.1]` is the interaction id.
    id: (u32, u32),
    /// The comment, if any, likewise.
    comment: Option<(u32, u32)>,
    rating: Rating,
}

/// One feedback line of a file: the hash of its interaction id, and the line's
/// offset (low 40 bits: files up to 1 TiB) and length (high 24 bits: lines up to
/// 16 MiB) packed into one word.
#[derive(Debug, Clone, Copy)]
struct LineEntry {
    hash: u64,
    at: u64,
}

const OFFSET_BITS: u32 = 40;
const MAX_LINE: usize = (1 << (64 - OFFSET_BITS)) - 1;

impl LineEntry {
    fn new(hash: u64, offset: u64, len: usize) -> Option<Self> {
        (offset < 1 << OFFSET_BITS && len <= MAX_LINE).then_some(LineEntry {
            hash,
            at: offset | (len as u64) << OFFSET_BITS,
        })
    }

    fn offset(self) -> u64 {
        self.at & ((1 << OFFSET_BITS) - 1)
    }

    fn len(self) -> usize {
        (self.at >> OFFSET_BITS) as usize
    }
}

fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // DefaultHasher::new() has fixed keys: the same id hashes the same in every run.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// The entries whose hash is `hash`, in a slice sorted by hash.
fn matching<E>(entries: &[E], hash: u64, key: impl Fn(&E) -> u64) -> &[E] {
    let from = entries.partition_point(|e| key(e) < hash);
    let to = from + entries[from..].partition_point(|e| key(e) == hash);
    &entries[from..to]
}

impl FeedbackIndex {
    /// Index a feedback file: every line is parsed and checked now, so a bad line
    /// fails the dream before it starts, naming the line; only where each line is
    /// stays in memory (see the type's doc). The file is read again, a chunk's
    /// lines at a time, by [`FeedbackIndex::for_interaction`].
    pub fn load(path: &Path, skip_invalid: bool) -> Result<Self, InputError> {
        let io = |source| InputError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let mut reader = BufReader::new(file.try_clone().map_err(io)?);
        let mut entries = Vec::new();
        let mut skipped = 0;
        let mut line = String::new();
        let mut offset = 0u64;
        for n in 1u64.. {
            line.clear();
            let read = reader.read_line(&mut line).map_err(io)?;
            if read == 0 {
                break;
            }
            let at = offset;
            offset += read as u64;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let invalid = |problem: String| InputError::Invalid {
                path: path.to_path_buf(),
                line: n,
                problem,
            };
            match parse_feedback(text) {
                Ok(f) => entries.push(
                    LineEntry::new(id_hash(&f.interaction_id), at, read)
                        .ok_or_else(|| invalid("a line longer than 16 MiB".into()))?,
                ),
                Err(_) if skip_invalid => skipped += 1,
                Err(problem) => return Err(invalid(problem)),
            }
        }
        // In place (a stable sort would take a scratch copy as large as the
        // index); the offset keeps feedback on one interaction in file order.
        entries.sort_unstable_by_key(|e| (e.hash, e.offset()));
        entries.shrink_to_fit();
        Ok(FeedbackIndex {
            held: Held::File {
                entries,
                file,
                path: path.to_path_buf(),
            },
            sorted: true,
            skipped,
        })
    }

    /// Add one piece of feedback held in memory (server dreams read it from the
    /// store). Fails past 4 GiB of ids and comments, or on an index made by `load`.
    pub fn insert(&mut self, feedback: &Feedback) -> Result<(), String> {
        let Held::Memory { entries, text } = &mut self.held else {
            return Err("feedback read from a file cannot be added to".into());
        };
        let mut push = |s: &str| -> Result<(u32, u32), String> {
            let start = u32::try_from(text.len()).ok();
            let len = u32::try_from(s.len()).ok();
            match (start, len) {
                (Some(start), Some(len)) if start.checked_add(len).is_some() => {
                    text.push_str(s);
                    Ok((start, len))
                }
                _ => Err("more than 4 GiB of feedback ids and comments: split the window".into()),
            }
        };
        let id = push(&feedback.interaction_id)?;
        let comment = feedback.comment.as_deref().map(&mut push).transpose()?;
        entries.push(MemoryEntry {
            hash: id_hash(&feedback.interaction_id),
            id,
            comment,
            rating: feedback.rating,
        });
        self.sorted = false;
        Ok(())
    }

    /// Sort for lookups, once after the last `insert`. Feedback on one interaction
    /// keeps its order: ids are pushed to the arena in insertion order, so their
    /// offsets order them (in place, without a stable sort's scratch copy).
    pub fn sort(&mut self) {
        if let Held::Memory { entries, text } = &mut self.held {
            entries.sort_unstable_by_key(|e| (e.hash, e.id.0));
            text.shrink_to_fit();
            entries.shrink_to_fit();
        }
        self.sorted = true;
    }

    /// The explicit feedback on interaction `id`, in file order. Reading it back
    /// from a file fails only if the file was changed or removed during the dream.
    pub fn for_interaction(&self, id: &str) -> Result<Vec<Feedback>, InputError> {
        debug_assert!(
            self.sorted || self.is_empty(),
            "FeedbackIndex used before sort"
        );
        let hash = id_hash(id);
        match &self.held {
            Held::Memory { entries, text } => {
                let slice = |(start, len): (u32, u32)| {
                    text.get(start as usize..(start + len) as usize)
                        .unwrap_or_default()
                };
                Ok(matching(entries, hash, |e| e.hash)
                    .iter()
                    .filter(|e| slice(e.id) == id)
                    .map(|e| Feedback {
                        interaction_id: id.to_string(),
                        rating: e.rating,
                        comment: e.comment.map(|c| slice(c).to_string()),
                        source: FeedbackSource::Explicit,
                    })
                    .collect())
            }
            Held::File {
                entries,
                file,
                path,
            } => {
                use std::os::unix::fs::FileExt;
                let changed = |what: &str| InputError::Io {
                    path: path.clone(),
                    source: std::io::Error::other(format!(
                        "the file changed while the dream read it ({what}); run the dream again"
                    )),
                };
                let mut found = Vec::new();
                let mut buf = Vec::new();
                for e in matching(entries, hash, |e| e.hash) {
                    buf.resize(e.len(), 0);
                    file.read_exact_at(&mut buf, e.offset()).map_err(|source| {
                        match source.kind() {
                            std::io::ErrorKind::UnexpectedEof => changed("it is shorter"),
                            _ => InputError::Io {
                                path: path.clone(),
                                source,
                            },
                        }
                    })?;
                    let line = std::str::from_utf8(&buf).map_err(|_| changed("not UTF-8"))?;
                    let feedback =
                        parse_feedback(line.trim()).map_err(|_| changed("a line moved"))?;
                    if feedback.interaction_id == id {
                        found.push(feedback);
                    }
                }
                Ok(found)
            }
        }
    }

    pub fn len(&self) -> u64 {
        match &self.held {
            Held::Memory { entries, .. } => entries.len() as u64,
            Held::File { entries, .. } => entries.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// The last non-empty line of a file, read from the end without scanning the file.
/// Used to find the live system prompt: interaction logs are in time order.
pub fn last_line(path: &Path) -> Result<Option<String>, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    let mut block = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(block);
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut bytes = Vec::with_capacity((len - start) as usize);
        (&mut file)
            .take(len - start)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let text = String::from_utf8_lossy(&bytes);
        let trimmed = text.trim_end();
        // A complete last line needs a newline before it, unless we read from the start.
        if let Some(i) = trimmed.rfind('\n') {
            return Ok(Some(trimmed[i + 1..].trim().to_string()).filter(|l| !l.is_empty()));
        }
        if start == 0 {
            return Ok(Some(trimmed.trim().to_string()).filter(|l| !l.is_empty()));
        }
        block *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"{"id":"int_1","session_id":"s1","timestamp":"2026-10-27T09:14:03Z","config_version":"v1","messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"where is order 12?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"#12\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"invalid order id","is_error":true},{"role":"assistant","content":[{"type":"text","text":"Sorry."}]}],"metadata":{"channel":"web"},"extra":1}"##;

    #[test]
    fn a_logged_conversation_is_joined_with_its_tool_errors() {
        let i = parse_interaction(GOOD).expect("valid line");
        assert_eq!(i.timestamp_ms, 1_793_092_443_000);
        assert_eq!(i.system_prompt(), Some("Be kind."));
        assert_eq!(i.tool_calls.len(), 1);
        assert_eq!(i.tool_calls[0].name, "lookup_order");
        assert_eq!(i.tool_calls[0].arguments, r##"{"order_id":"#12"}"##);
        assert_eq!(i.tool_calls[0].error.as_deref(), Some("invalid order id"));
        assert_eq!(i.tool_calls[0].message_index, 2);
        assert_eq!(i.messages[4].content, "Sorry.");
        assert_eq!(i.metadata, r#"{"channel":"web"}"#);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = GOOD.replace(r#""2026-10-27T09:14:03Z""#, "42");
        let err = parse_interaction(&bad).expect_err("timestamp is a number");
        assert!(err.starts_with("field `timestamp`"), "{err}");

        let bad = GOOD.replace(r#""role":"user""#, r#""role":"human""#);
        let err = parse_interaction(&bad).expect_err("unknown role");
        assert!(err.contains("messages[1].role"), "{err}");

        let err = parse_interaction(r#"{"id":"x","timestamp":"2026-10-27T09:14:03Z"}"#)
            .expect_err("no messages");
        assert!(err.contains("missing field `messages`"), "{err}");

        let err = parse_feedback(r#"{"interaction_id":"int_1","rating":"great"}"#)
            .expect_err("bad rating");
        assert!(err.starts_with("field `rating`"), "{err}");
    }

    #[test]
    fn agent_version_names_a_server_version_strictly() {
        let with = |v: &str| GOOD.replacen('{', &format!(r#"{{"agent_version":{v},"#), 1);
        let i = parse_interaction(&with(r#""v3""#)).expect("valid");
        assert_eq!(i.agent_version, Some(3));
        assert_eq!(
            i.config_version.as_deref(),
            Some("v1"),
            "the label is apart"
        );
        for bad in [
            r#""3""#,
            r#""v03""#,
            r#""v0""#,
            r#""v-1""#,
            r#""prod""#,
            "3",
        ] {
            let err = parse_interaction(&with(bad)).expect_err(bad);
            assert!(err.starts_with("field `agent_version`"), "{bad}: {err}");
        }
        assert_eq!(parse_interaction(GOOD).expect("valid").agent_version, None);
    }

    #[test]
    fn feedback_is_found_by_interaction_in_file_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedback.jsonl");
        let lines = [
            r#"{"interaction_id":"int_2","rating":"negative","comment":"wrong size"}"#,
            r#"{"interaction_id":"int_1","rating":"positive"}"#,
            "",
            r#"{"interaction_id":"int_2","rating":"neutral","comment":"  "}"#,
        ];
        std::fs::write(&path, lines.join("\n")).expect("write");
        let index = FeedbackIndex::load(&path, false).expect("valid");
        assert_eq!(index.len(), 3);
        let two = index.for_interaction("int_2").expect("read");
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].comment.as_deref(), Some("wrong size"));
        assert_eq!(two[0].rating, Rating::Negative);
        assert_eq!(two[1].comment, None, "a blank comment is no comment");
        assert_eq!(
            index.for_interaction("int_1").expect("read")[0].rating,
            Rating::Positive
        );
        assert!(index.for_interaction("int_3").expect("read").is_empty());
    }

    #[test]
    fn feedback_from_a_file_is_read_back_when_needed_and_a_changed_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feedback.jsonl");
        let line = r#"{"interaction_id":"int_1","rating":"negative","comment":"too slow"}"#;
        std::fs::write(&path, format!("{line}\n")).expect("write");
        let index = FeedbackIndex::load(&path, false).expect("valid");
        // Only where the line is was kept: the comment comes back from the file.
        let found = index.for_interaction("int_1").expect("read");
        assert_eq!(found[0].comment.as_deref(), Some("too slow"));

        std::fs::write(&path, "{}\n").expect("rewrite");
        let err = index
            .for_interaction("int_1")
            .expect_err("the line is gone");
        let text = format!("{err}: {}", std::error::Error::source(&err).expect("cause"));
        assert!(text.contains("feedback.jsonl"), "{text}");
        assert!(text.contains("changed while the dream read it"), "{text}");
    }

    #[test]
    fn the_last_line_is_found_from_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.jsonl");
        let long = "y".repeat(200_000);
        std::fs::write(&path, format!("first\n{long}\nlast line\n\n")).expect("write");
        assert_eq!(
            last_line(&path).expect("read").as_deref(),
            Some("last line")
        );
        std::fs::write(&path, &long).expect("write");
        assert_eq!(
            last_line(&path).expect("read").map(|l| l.len()),
            Some(200_000)
        );
    }
}
