//! One dreaming cycle (DESIGN §3, steps 3–8): stream the window's interactions in
//! chunks through the rules, then merge, measure and report.
//!
//! Each rule runs on a worker thread of its own that owns its instance and
//! takes jobs in order. For each chunk, every rule that takes part in `detect`
//! runs on it, then every rule that takes part in `analyse` gets the chunk with
//! its explicit and inferred feedback. Inferred feedback is therefore about the
//! chunk it came from, which is what lets the host read its input once. Analyse
//! jobs are queued, not awaited, so detect rules work on the next chunk while
//! analyse rules finish this one. A reader thread parses ahead. Every queue is
//! bounded (two chunks), so memory depends on the chunk size, never on the size
//! of the window. A rule that fails is stopped and reported; the others go on.
//!
//! Rules that read the other rules' problems (`window.problems`, the
//! reflector) are finished last: the others' findings are merged first, and
//! the problems handed over before their `finish`. Rules granted a model get
//! a gateway of the dream's [`llm::Session`], which holds the dream's budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use crate::config::{Config, Limits, RuleSource};
use crate::input::{FeedbackIndex, InputError, InteractionReader};
use crate::llm;
use crate::merge;
use crate::metrics::{self, WindowTally};
use crate::model::{
    CycleContext, Feedback, FeedbackSource, Findings, Inputs, Interaction, ProblemBrief, Rating,
    Stage,
};
use crate::plugins::{LoadedRule, PreparedChunk, RuleFailure, RuleInstance, RunStats, Runtime};
use crate::report::{
    AgentRef, FeedbackFigures, Metrics, PreviousReport, Problem, Report, RuleMetric, RuleRun,
    RunStatus, SCHEMA, UnreadableInteraction, VersionComparison, VersionMetrics, WeekMetrics,
    Window,
};

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("the input reader stopped unexpectedly")]
    ReaderGone,
    /// A source other than a file failed (the store, for server dreams).
    #[error("reading interactions failed: {0}")]
    Source(String),
}

/// Where a cycle's interactions come from: a JSONL file (`reverie dream`) or the
/// store (dreams on the server, `dreams::StoreSource`).
pub trait InteractionSource: Send {
    /// The next interaction, `Ok(None)` at the end.
    fn next_interaction(&mut self) -> Result<Option<Interaction>, CycleError>;
    /// A progress figure (bytes read for files).
    fn progress(&self) -> u64;
    /// Records skipped as invalid.
    fn skipped(&self) -> u64;
    /// Stored records that could not be read and were left out: how many, and
    /// the first few with why (the store; a file has none, its bad lines are
    /// errors or `skipped`).
    fn unreadable(&self) -> (u64, Vec<UnreadableInteraction>) {
        (0, Vec::new())
    }
}

impl InteractionSource for InteractionReader {
    fn next_interaction(&mut self) -> Result<Option<Interaction>, CycleError> {
        Ok(InteractionReader::next_interaction(self)?)
    }
    fn progress(&self) -> u64 {
        self.bytes_read()
    }
    fn skipped(&self) -> u64 {
        InteractionReader::skipped(self)
    }
}

/// A rule as the cycle sees it: loaded (or why not) and with its limits.
pub struct RuleSlot {
    pub source: RuleSource,
    pub limits: Limits,
    pub settings: Vec<(String, String)>,
    /// The rule's model grant, if the config gives one.
    pub llm: Option<llm::config::Grant>,
    pub loaded: Result<LoadedRule, RuleFailure>,
}

impl RuleSlot {
    /// Load each configured rule (through `runtime`'s cache) into a slot.
    pub fn load_all(runtime: &Runtime, config: &Config) -> Vec<RuleSlot> {
        config
            .rules
            .iter()
            .map(|rule| RuleSlot {
                source: rule.source.clone(),
                limits: rule.limits,
                settings: rule.settings.clone(),
                llm: rule.llm.clone(),
                loaded: runtime.load_source(&rule.source, rule.llm.is_some(), rule.limits.metering),
            })
            .collect()
    }
}

/// Everything a cycle needs besides its rules.
pub struct CycleInput<'a> {
    pub context: CycleContext,
    pub config: &'a Config,
    pub feedback: &'a FeedbackIndex,
    pub previous: Option<&'a PreviousReport>,
    /// Keep every evidence id of each problem in the report (`--evidence all`),
    /// not only the first few.
    pub all_evidence: bool,
    /// Keep only interactions in `[since, until)` (milliseconds since the epoch).
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub generated_at: String,
}

/// A rule during the cycle.
struct Running {
    name: String,
    version: String,
    source: String,
    digest: Option<String>,
    stages: Vec<Stage>,
    inputs: Inputs,
    instance: Option<RuleInstance>,
    failure: Option<RuleFailure>,
    stats: RunStats,
    findings: Option<Findings>,
    /// It reads the other rules' problems, so it finishes after them.
    reads_problems: bool,
    /// It reads the explicit ratings of each chunk.
    reads_explicit: bool,
}

impl Running {
    fn fail(&mut self, failure: RuleFailure) {
        if let Some(mut instance) = self.instance.take() {
            self.stats = instance.stats();
        }
        self.failure = Some(failure);
    }
}

/// What the coordinator asks of a rule's worker thread.
enum Job {
    /// Run `detect` and answer with the inferred feedback (empty if the rule failed).
    Detect(Arc<PreparedChunk>),
    /// Run `analyse`; no answer.
    Analyse(Arc<PreparedChunk>),
}

/// The chunk converted for `inputs`, converting it the first time it is asked for.
fn shared_chunk(
    prepared: &mut Vec<(Inputs, Arc<PreparedChunk>)>,
    inputs: Inputs,
    chunk: &[Interaction],
    explicit: &Arc<HashMap<String, Rating>>,
) -> Arc<PreparedChunk> {
    if let Some((_, p)) = prepared.iter().find(|(i, _)| *i == inputs) {
        return p.clone();
    }
    let mut p = PreparedChunk::new(chunk, inputs);
    p.set_explicit(explicit.clone());
    let p = Arc::new(p);
    prepared.push((inputs, p.clone()));
    p
}

/// A rule's worker: a thread that owns the rule's instance for the whole cycle
/// and runs its jobs in order. Detect rules can thus work on chunk N+1 while
/// analyse rules are still on chunk N, and the per-rule order never changes.
struct Worker {
    jobs: mpsc::SyncSender<Job>,
    answers: mpsc::Receiver<Vec<Feedback>>,
    detect: bool,
    analyse: bool,
    inputs: Inputs,
}

/// Jobs queued per worker: bounds the chunks in flight, and so memory.
const QUEUED_JOBS: usize = 2;

fn work(
    mut rule: Running,
    jobs: mpsc::Receiver<Job>,
    answers: mpsc::Sender<Vec<Feedback>>,
    problems: Option<mpsc::Receiver<Arc<Vec<ProblemBrief>>>>,
) -> Running {
    for job in jobs {
        match job {
            Job::Detect(chunk) => {
                let found = match rule.instance.as_mut().map(|i| i.detect(&chunk)) {
                    None => Vec::new(),
                    Some(Ok(found)) => found
                        .into_iter()
                        .map(|f| Feedback {
                            interaction_id: f.interaction_id,
                            rating: f.rating,
                            comment: Some(f.reason),
                            source: FeedbackSource::Inferred(rule.name.clone()),
                        })
                        .collect(),
                    Some(Err(failure)) => {
                        rule.fail(failure);
                        Vec::new()
                    }
                };
                // Let go of the chunk before answering, so the coordinator can
                // take it back to attach the feedback without a copy.
                drop(chunk);
                if answers.send(found).is_err() {
                    break;
                }
            }
            Job::Analyse(chunk) => {
                if let Some(instance) = rule.instance.as_mut()
                    && let Err(failure) = instance.analyse(&chunk)
                {
                    rule.fail(failure);
                }
            }
        }
    }
    // A rule that reads the others' problems waits for them (an empty list if
    // the coordinator is gone).
    if let Some(problems) = problems {
        let briefs = problems.recv().unwrap_or_default();
        if let Some(instance) = rule.instance.as_mut() {
            instance.set_problems(briefs);
        }
    }
    // End of the window: findings.
    if let Some(instance) = rule.instance.as_mut() {
        match instance.finish() {
            Ok(findings) => {
                rule.findings = Some(findings);
                if let Some(mut instance) = rule.instance.take() {
                    rule.stats = instance.stats();
                }
            }
            Err(failure) => rule.fail(failure),
        }
    }
    rule
}

/// Run one cycle over `source`. `progress` is called after each chunk with the
/// source's progress figure.
pub fn run(
    runtime: &Runtime,
    rules: Vec<RuleSlot>,
    source: impl InteractionSource,
    input: CycleInput<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report, CycleError> {
    let context = &input.context;
    // The dream's providers and budget, only when some rule has a grant.
    let session = if rules.iter().any(|r| r.llm.is_some()) {
        Some(llm::Session::new(&input.config.llm))
    } else {
        None
    };
    let running: Vec<Running> = rules
        .into_iter()
        .map(|slot| start(runtime, slot, context, session.as_ref()))
        .collect();
    let needs_explicit = running.iter().any(|r| r.reads_explicit);

    let chunk_size = input.config.chunk_size;
    let mut tally = WindowTally::default();
    let mut first_ms: Option<i64> = None;
    let mut last_ms: Option<i64> = None;
    let mut explicit_matched = 0u64;
    let mut inferred_count = 0u64;

    let read = Arc::new(AtomicU64::new(0));
    let (since, until) = (input.since_ms, input.until_ms);
    type Unreadable = (u64, Vec<UnreadableInteraction>);
    let (skipped, unreadable, running) = std::thread::scope(
        |scope| -> Result<(u64, Unreadable, Vec<Running>), CycleError> {
            let (tx, rx) = mpsc::sync_channel::<Result<Vec<Interaction>, CycleError>>(2);
            let read_by_reader = read.clone();
            let reader = scope.spawn(move || {
                let mut source = source;
                let mut chunk = Vec::with_capacity(chunk_size);
                loop {
                    match source.next_interaction() {
                        Ok(Some(i)) => {
                            if since.is_some_and(|s| i.timestamp_ms < s)
                                || until.is_some_and(|u| i.timestamp_ms >= u)
                            {
                                continue;
                            }
                            chunk.push(i);
                            if chunk.len() == chunk_size {
                                read_by_reader.store(source.progress(), Ordering::Relaxed);
                                let full =
                                    std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                                if tx.send(Ok(full)).is_err() {
                                    break;
                                }
                            }
                        }
                        Ok(None) => {
                            read_by_reader.store(source.progress(), Ordering::Relaxed);
                            if !chunk.is_empty() {
                                let _ = tx.send(Ok(chunk));
                            }
                            break;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
                (source.skipped(), source.unreadable())
            });

            // One worker per rule that started; the others go straight to the report.
            let mut workers: Vec<Worker> = Vec::new();
            let mut handles = Vec::new();
            // Rules that read the others' problems: handle and the sender of the problems.
            let mut last = Vec::new();
            let mut idle: Vec<(usize, Running)> = Vec::new();
            for (index, rule) in running.into_iter().enumerate() {
                if rule.instance.is_none() {
                    idle.push((index, rule));
                    continue;
                }
                let (jobs_tx, jobs_rx) = mpsc::sync_channel(QUEUED_JOBS);
                let (answers_tx, answers_rx) = mpsc::channel();
                workers.push(Worker {
                    jobs: jobs_tx,
                    answers: answers_rx,
                    detect: rule.stages.contains(&Stage::Detect),
                    analyse: rule.stages.contains(&Stage::Analyse),
                    inputs: rule.inputs,
                });
                if rule.reads_problems {
                    let (problems_tx, problems_rx) = mpsc::channel();
                    let handle =
                        scope.spawn(move || work(rule, jobs_rx, answers_tx, Some(problems_rx)));
                    last.push((index, handle, problems_tx));
                } else {
                    handles.push((
                        index,
                        scope.spawn(move || work(rule, jobs_rx, answers_tx, None)),
                    ));
                }
            }

            for chunk in rx {
                let chunk = chunk?;
                // The explicit feedback on this chunk, read once (from a file, that is
                // a read per rated interaction) and used twice below.
                let chunk_explicit = chunk
                    .iter()
                    .map(|i| input.feedback.for_interaction(&i.id))
                    .collect::<Result<Vec<_>, _>>()?;
                let explicit: Arc<HashMap<String, Rating>> = if needs_explicit {
                    Arc::new(
                        chunk
                            .iter()
                            .zip(&chunk_explicit)
                            .filter_map(|(i, feedback)| {
                                let ratings: Vec<Rating> =
                                    feedback.iter().map(|f| f.rating).collect();
                                metrics::combined_rating(&ratings).map(|r| (i.id.clone(), r))
                            })
                            .collect(),
                    )
                } else {
                    Arc::default()
                };
                // Stage 1: detect, on every detect rule at once; answers in rule order.
                // Each distinct set of inputs is converted once and shared.
                let mut detect_chunks: Vec<(Inputs, Arc<PreparedChunk>)> = Vec::new();
                let mut detecting: Vec<&Worker> = Vec::new();
                for w in workers.iter().filter(|w| w.detect) {
                    let prepared = shared_chunk(&mut detect_chunks, w.inputs, &chunk, &explicit);
                    if w.jobs.send(Job::Detect(prepared)).is_ok() {
                        detecting.push(w);
                    }
                }
                let inferred: Vec<Feedback> = detecting
                    .iter()
                    .flat_map(|w| w.answers.recv().unwrap_or_default())
                    .collect();
                let mut inferred_by_id: HashMap<&str, Vec<&Feedback>> = HashMap::new();
                for f in &inferred {
                    inferred_by_id
                        .entry(f.interaction_id.as_str())
                        .or_default()
                        .push(f);
                }

                // Feedback on this chunk, and the host's own metrics.
                let mut chunk_feedback: Vec<Feedback> = Vec::new();
                for (i, explicit) in chunk.iter().zip(chunk_explicit) {
                    let inferred = inferred_by_id
                        .get(i.id.as_str())
                        .map(Vec::as_slice)
                        .unwrap_or(&[]);
                    explicit_matched += explicit.len() as u64;
                    inferred_count += inferred.len() as u64;
                    let explicit_ratings: Vec<Rating> = explicit.iter().map(|f| f.rating).collect();
                    let inferred_ratings: Vec<Rating> = inferred.iter().map(|f| f.rating).collect();
                    tally.record(
                        i.timestamp_ms,
                        i.config_version.as_deref(),
                        metrics::combined_rating(&explicit_ratings),
                        metrics::combined_rating(&inferred_ratings),
                    );
                    first_ms = Some(first_ms.map_or(i.timestamp_ms, |t| t.min(i.timestamp_ms)));
                    last_ms = Some(last_ms.map_or(i.timestamp_ms, |t| t.max(i.timestamp_ms)));
                    chunk_feedback.extend(explicit);
                    chunk_feedback.extend(inferred.iter().map(|f| (*f).clone()));
                }

                // Stage 2: analyse. Queued, not awaited: the next chunk's detect overlaps it.
                let mut analyse_chunks: Vec<(Inputs, Arc<PreparedChunk>)> = Vec::new();
                for w in workers.iter().filter(|w| w.analyse) {
                    if !analyse_chunks.iter().any(|(inputs, _)| *inputs == w.inputs) {
                        // Detect workers drop their handle before answering, so a detect
                        // chunk with the same inputs is normally ours alone to reuse.
                        let reused = detect_chunks
                            .iter()
                            .position(|(inputs, _)| *inputs == w.inputs)
                            .map(|at| detect_chunks.swap_remove(at).1)
                            .and_then(|shared| Arc::try_unwrap(shared).ok());
                        let mut prepared = reused.unwrap_or_else(|| {
                            let mut p = PreparedChunk::new(&chunk, w.inputs);
                            p.set_explicit(explicit.clone());
                            p
                        });
                        prepared.set_feedback(&chunk_feedback);
                        analyse_chunks.push((w.inputs, Arc::new(prepared)));
                    }
                    if let Some((_, prepared)) = analyse_chunks
                        .iter()
                        .find(|(inputs, _)| *inputs == w.inputs)
                    {
                        let _ = w.jobs.send(Job::Analyse(prepared.clone()));
                    }
                }
                progress(read.load(Ordering::Relaxed));
            }

            // Closing the queues ends the workers: each finishes its rule.
            drop(workers);
            let mut running: Vec<(usize, Running)> = idle;
            for (index, handle) in handles {
                match handle.join() {
                    Ok(rule) => running.push((index, rule)),
                    // A panic in a worker is a host bug; re-raise it rather than lose it.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            if !last.is_empty() {
                running.sort_by_key(|(index, _)| *index);
                let briefs = Arc::new(problem_briefs(&running, &input, tally.total.interactions));
                for (index, handle, problems) in last {
                    let _ = problems.send(briefs.clone());
                    match handle.join() {
                        Ok(rule) => running.push((index, rule)),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
            }
            running.sort_by_key(|(index, _)| *index);
            let (skipped, unreadable) = reader.join().map_err(|_| CycleError::ReaderGone)?;
            Ok((
                skipped,
                unreadable,
                running.into_iter().map(|(_, r)| r).collect(),
            ))
        },
    )?;

    let window = Window {
        start: input.since_ms.map(rfc3339),
        end: input.until_ms.map(rfc3339),
        first_interaction_at: first_ms.map(rfc3339),
        last_interaction_at: last_ms.map(rfc3339),
        interactions: tally.total.interactions,
        explicit_feedback: explicit_matched,
        inferred_feedback: inferred_count,
        unmatched_feedback: input.feedback.len().saturating_sub(explicit_matched),
        skipped_lines: skipped + input.feedback.skipped(),
        unreadable_interactions: unreadable.0,
        unreadable: unreadable.1,
    };
    Ok(build_report(input, running, tally, window))
}

/// The problems of the rules finished so far, merged as the report will be,
/// for the rules that read them.
fn problem_briefs(
    finished: &[(usize, Running)],
    input: &CycleInput<'_>,
    interactions: u64,
) -> Vec<ProblemBrief> {
    let findings: Vec<(String, Findings)> = finished
        .iter()
        .filter_map(|(_, r)| r.findings.clone().map(|f| (r.name.clone(), f)))
        .collect();
    let merged = merge::merge(&merge::MergeInput {
        findings: &findings,
        previous: None,
        interactions,
        prompt: &input.context.system_prompt,
        protected: &input.config.agent.protected_sections,
        gate: input.config.suggestions,
        all_evidence: true,
    });
    merged
        .problems
        .iter()
        .map(|p| ProblemBrief {
            key: p.key.clone(),
            facet_keys: p.facets.iter().map(|f| f.key.clone()).collect(),
            title: p.title.clone(),
            description: p.description.clone(),
            occurrences: u32::try_from(p.affected).unwrap_or(u32::MAX),
            evidence: p
                .evidence
                .iter()
                .take(ProblemBrief::MAX_EVIDENCE)
                .cloned()
                .collect(),
            rules: {
                let mut rules: Vec<String> = p.facets.iter().map(|f| f.rule.clone()).collect();
                rules.dedup();
                rules
            },
            proposed_edits: merged
                .suggestions
                .iter()
                .filter(|s| p.suggestions.contains(&s.id))
                .map(|s| s.edit.to_string())
                .collect(),
        })
        .collect()
}

fn start(
    runtime: &Runtime,
    slot: RuleSlot,
    context: &CycleContext,
    session: Option<&Result<llm::Session, String>>,
) -> Running {
    let source = slot.source.describe();
    let rule = match slot.loaded {
        Ok(rule) => rule,
        Err(failure) => {
            return Running {
                name: slot.source.fallback_name(),
                version: String::new(),
                source,
                digest: None,
                stages: Vec::new(),
                inputs: Inputs::default(),
                instance: None,
                failure: Some(failure),
                stats: RunStats::default(),
                findings: None,
                reads_problems: false,
                reads_explicit: false,
            };
        }
    };
    // Only the settings a rule declared reach it; the others are dropped with a note.
    let declared: Vec<&str> = rule.info.settings.iter().map(|s| s.name.as_str()).collect();
    let mut context = context.clone();
    context.settings = slot
        .settings
        .iter()
        .filter(|(k, _)| declared.contains(&k.as_str()))
        .cloned()
        .collect();
    let undeclared: Vec<&str> = slot
        .settings
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !declared.contains(k))
        .collect();
    let mut running = Running {
        name: rule.info.name.clone(),
        version: rule.info.version.clone(),
        source,
        digest: Some(rule.digest.clone()),
        stages: rule.info.stages.clone(),
        inputs: rule.info.inputs,
        instance: None,
        failure: None,
        stats: RunStats::default(),
        findings: None,
        reads_problems: rule.imports.problems,
        reads_explicit: rule.imports.explicit_rating,
    };
    if !undeclared.is_empty() {
        running.failure = Some(RuleFailure {
            kind: crate::plugins::FailureKind::RuleError,
            message: format!(
                "settings the rule does not declare: {} (it accepts: {})",
                undeclared.join(", "),
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                }
            ),
        });
        return running;
    }
    // The rule's way to its provider, when granted one and it calls a model.
    let gateway = match (&slot.llm, session) {
        (Some(grant), Some(session)) if rule.imports.llm => {
            let gateway = match session {
                Ok(session) => session.gateway(&rule.info.name, grant),
                Err(e) => Err(e.clone()),
            };
            match gateway {
                Ok(g) => Some(g),
                Err(e) => {
                    running.failure = Some(RuleFailure {
                        kind: crate::plugins::FailureKind::LoadError,
                        message: format!("cannot reach its model provider: {e}"),
                    });
                    return running;
                }
            }
        }
        _ => None,
    };
    match runtime.start(&rule, &slot.limits, &context, gateway) {
        Ok(instance) => running.instance = Some(instance),
        Err((failure, stats)) => {
            running.failure = Some(failure);
            running.stats = stats;
        }
    }
    running
}

fn build_report(
    input: CycleInput<'_>,
    mut running: Vec<Running>,
    tally: WindowTally,
    window: Window,
) -> Report {
    let context = &input.context;
    // Taken, not copied: findings carry every evidence id (thousands per pattern).
    let findings: Vec<(String, Findings)> = running
        .iter_mut()
        .filter_map(|r| r.findings.take().map(|f| (r.name.clone(), f)))
        .collect();
    let merged = merge::merge(&merge::MergeInput {
        findings: &findings,
        previous: input.previous,
        interactions: window.interactions,
        prompt: &context.system_prompt,
        protected: &input.config.agent.protected_sections,
        gate: input.config.suggestions,
        all_evidence: input.all_evidence,
    });

    let basis = metrics::basis(&tally.total);
    let accuracy = tally.total.accuracy(basis);
    let previous_window = input.previous.map(|p| {
        if p.basis == basis {
            metrics::compare(p.accuracy, accuracy)
        } else {
            metrics::Comparison {
                baseline: p.accuracy,
                current: accuracy,
                difference: None,
                p_value: None,
                verdict: metrics::Verdict::Inconclusive,
                reason: format!(
                    "not comparable: the previous figure rests on {} feedback, this one on {}",
                    basis_name(p.basis),
                    basis_name(basis)
                ),
            }
        }
    });
    let mut versions: Vec<(&String, &(i64, metrics::Tally))> = tally.by_version.iter().collect();
    versions.sort_by_key(|(name, (first, _))| (*first, (*name).clone()));
    let by_config_version: Vec<VersionMetrics> = versions
        .iter()
        .map(|(name, (first, t))| VersionMetrics {
            version: (*name).clone(),
            first_seen: rfc3339(*first),
            interactions: t.interactions,
            accuracy: t.accuracy(basis),
        })
        .collect();
    let version_comparisons = by_config_version
        .windows(2)
        .map(|w| VersionComparison {
            from: w[0].version.clone(),
            to: w[1].version.clone(),
            comparison: metrics::compare(w[0].accuracy, w[1].accuracy),
        })
        .collect();
    let by_week = tally
        .by_week
        .iter()
        .map(|(day, t)| WeekMetrics {
            week_start: rfc3339(day * 86_400_000)[..10].to_string(),
            interactions: t.interactions,
            accuracy: t.accuracy(basis),
        })
        .collect();
    let figures = |c: &metrics::Counts| FeedbackFigures {
        accuracy: c.accuracy(),
        rated_share: merge::share(c.rated, tally.total.interactions),
        positive: c.positive,
        negative: c.negative(),
    };
    let explicit = figures(&tally.total.explicit);
    let inferred = figures(&tally.total.inferred);
    // Detect rules that asked a model: their ratings are a sample's verdicts.
    let judges: Vec<String> = running
        .iter()
        .filter(|r| r.stages.contains(&Stage::Detect))
        .filter(|r| r.stats.llm.as_ref().is_some_and(|u| u.answered > 0))
        .map(|r| r.name.clone())
        .collect();
    let mut accuracy_note = accuracy_note(basis, &explicit, &inferred, tally.total.interactions);
    if !judges.is_empty() && inferred.accuracy.rated > 0 {
        accuracy_note.push_str(&format!(
            " Inferred ratings include a language model's verdicts ({}) on a sample of the window: an estimate, not a count; its run log says how it sampled.",
            judges.join(", ")
        ));
    }
    let rule_metrics = findings
        .iter()
        .flat_map(|(rule, f)| {
            f.metrics.iter().map(move |m| RuleMetric {
                rule: rule.clone(),
                name: m.name.clone(),
                value: m.value,
                description: m.description.clone(),
            })
        })
        .collect();

    let rules: Vec<RuleRun> = running
        .into_iter()
        .map(|r| RuleRun {
            name: r.name,
            version: r.version,
            source: r.source,
            digest: r.digest,
            status: if r.failure.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Ok
            },
            failure: r.failure,
            duration_ms: (r.stats.duration.as_secs_f64() * 1e4).round() / 10.0,
            fuel_used: r.stats.fuel_used,
            peak_memory_bytes: r.stats.peak_memory_bytes,
            calls: r.stats.calls,
            log: r.stats.log,
            log_lines_dropped: r.stats.log_lines_dropped,
            output: Some(r.stats.output).filter(|o| !o.is_empty()),
            llm: r.stats.llm.map(|u| *u),
        })
        .collect();

    let summary = summarise(
        &context.agent_name,
        &window,
        &accuracy,
        basis,
        &merged.problems,
        &merged.suggestions,
        &rules,
    );
    Report {
        schema: SCHEMA.to_string(),
        agent: AgentRef {
            id: context.agent_id.clone(),
            name: context.agent_name.clone(),
            config_version: context.config_version.clone(),
            system_prompt: context.system_prompt.clone(),
        },
        generated_at: input.generated_at,
        window,
        summary,
        problems: merged.problems,
        suggestions: merged.suggestions,
        suggestions_left_out: merged.suggestions_left_out,
        candidate_prompt: merged.candidate_prompt,
        apply: merged.apply,
        metrics: Metrics {
            accuracy,
            basis,
            accuracy_note,
            explicit,
            inferred,
            previous_window,
            by_config_version,
            version_comparisons,
            by_week,
            rules: rule_metrics,
        },
        rules,
    }
}

fn basis_name(basis: metrics::Basis) -> &'static str {
    match basis {
        metrics::Basis::Explicit => "explicit",
        metrics::Basis::Inferred => "inferred",
        metrics::Basis::None => "no",
    }
}

/// One or two sentences on what the headline accuracy is: its basis, its
/// sample and how the sample came about.
fn accuracy_note(
    basis: metrics::Basis,
    explicit: &FeedbackFigures,
    inferred: &FeedbackFigures,
    interactions: u64,
) -> String {
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    match basis {
        metrics::Basis::Explicit => {
            let mut s = format!(
                "From people's ratings: {} of {interactions} interactions were rated ({}).",
                explicit.accuracy.rated,
                pct(explicit.rated_share)
            );
            if explicit.rated_share < metrics::LOW_RATED_SHARE {
                s.push_str(
                    " People rate more often when unhappy, so with few interactions rated this figure likely understates how often the agent does well.",
                );
            }
            s
        }
        metrics::Basis::Inferred => format!(
            "Inferred from the conversations (no one rated any): {} of {interactions} interactions ({}) showed a signal, {} of praise or a solved task and {} of a correction or complaint; interactions without a signal are not counted.",
            inferred.accuracy.rated,
            pct(inferred.rated_share),
            inferred.positive,
            inferred.negative
        ),
        metrics::Basis::None if inferred.negative > 0 => format!(
            "Not measurable: no one rated any interaction, and the rules inferred only complaints ({} interactions), so a figure would be 0% by construction.",
            inferred.negative
        ),
        metrics::Basis::None => {
            "Not measurable: no interaction was rated, by people or by the rules.".to_string()
        }
    }
}

/// A title as it reads inside a sentence: "The agent ..." becomes "the agent ...".
fn mid_sentence(title: &str) -> String {
    let mut chars = title.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => first
            .to_lowercase()
            .chain(title[first.len_utf8()..].chars())
            .collect(),
        _ => title.to_string(),
    }
}

fn summarise(
    agent: &str,
    window: &Window,
    accuracy: &metrics::Accuracy,
    basis: metrics::Basis,
    problems: &[Problem],
    suggestions: &[crate::report::ReportSuggestion],
    rules: &[RuleRun],
) -> String {
    let open: Vec<&Problem> = problems.iter().filter(|p| p.affected > 0).collect();
    let span = match (&window.first_interaction_at, &window.last_interaction_at) {
        (Some(a), Some(b)) => format!(" from {} to {}", &a[..10], &b[..10]),
        _ => String::new(),
    };
    let accuracy = match basis {
        metrics::Basis::None => "accuracy not measurable".to_string(),
        b => format!(
            "accuracy ({} feedback) {}",
            basis_name(b),
            crate::report::fmt_accuracy(accuracy)
        ),
    };
    let mut s = format!(
        "{agent}: {} interactions{span}; {accuracy}.",
        window.interactions
    );
    if open.is_empty() {
        s.push_str(" No recurring problems found.");
    } else {
        let top: Vec<String> = open
            .iter()
            .take(3)
            .map(|p| {
                format!(
                    "{} ({:.1}% of interactions)",
                    mid_sentence(&p.title),
                    p.share * 100.0
                )
            })
            .collect();
        s.push_str(&format!(
            " {} problem{}; the most widespread: {}.",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            top.join("; ")
        ));
    }
    let ready = suggestions
        .iter()
        .filter(|s| s.status == crate::report::SuggestionStatus::Ready)
        .count();
    s.push_str(&format!(
        " {ready} edit{} ready to apply, {} to review.",
        if ready == 1 { "" } else { "s" },
        suggestions.len() - ready
    ));
    let failed: Vec<&str> = rules
        .iter()
        .filter(|r| r.status == RunStatus::Failed)
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        s.push_str(&format!(" Rules that failed: {}.", failed.join(", ")));
    }
    if window.unreadable_interactions > 0 {
        let n = window.unreadable_interactions;
        let named: Vec<&str> = window
            .unreadable
            .iter()
            .take(3)
            .map(|u| u.id.as_str())
            .collect();
        let more = if n > named.len() as u64 { ", …" } else { "" };
        s.push_str(&format!(
            " {n} stored interaction{} could not be read and {} left out ({}{more}; see window.unreadable).",
            if n == 1 { "" } else { "s" },
            if n == 1 { "was" } else { "were" },
            named.join(", ")
        ));
    }
    s
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}
