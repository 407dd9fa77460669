//! `llm-reflector`: has a language model read the conversations behind the
//! report's problems and propose, for each, the root cause and one edit of
//! the system prompt; and sorts the negative conversations no problem covers
//! into categories of mistakes, each with its cause and edit.
//!
//! During `analyse` it keeps a bounded, deterministic set of negatively rated
//! interactions with their compact transcripts ([`keep`]): people's negative
//! ratings first, then ratings inferred by `detect` rules.
//!
//! At `finish` it asks the host for the problems the other rules found
//! ([`window::problems`], largest first). For each problem with kept
//! interactions among its evidence (up to `max_problems`) it sends the live
//! prompt, the problem and the worst of those conversations
//! (`prompts/reflect.md`), asks for JSON (`prompts/reflect.schema.json`),
//! checks the answer ([`reflect`], [`edit`]) and returns a suggestion that
//! addresses the problem's key, so the host attaches it to that problem. Then
//! a sample of the kept interactions no problem covers goes to the model in
//! one call (`prompts/unexplained.md`, [`unexplained`]); each category it
//! fills with at least `min_group` of them becomes a pattern
//! `llm-reflector/<category>` whose evidence is those interactions, with its
//! suggestion.
//!
//! Answers are never trusted: an invalid one gets one repair call (the
//! answer and what was wrong with it) if the budget allows, else it is
//! skipped; every rejection is logged with why. Calls stop for good when the
//! budget is spent or the provider fails three times in a row, and the rule
//! finishes with what it has, saying how far it got.

pub mod edit;
pub mod keep;
pub mod reflect;
pub mod schema;
pub mod unexplained;

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::llm::{self, ChatMessage, ChatRole};
use reverie_rule_sdk::window::{self, ProblemBrief};
use reverie_rule_sdk::{
    Chunk, CycleContext, FeedbackSource, Findings, Inputs, Metric, Pattern, Rating, Rule, RuleInfo,
    SettingSpec, Stage, Suggestion, finding, setting_or, text,
};

use edit::Shown;
use keep::{Keeper, Kept, Source};
use llm::answer::one_line;
use llm::caller::{Caller, Outcome};
use llm::journal::Journal;
use llm::template::Template;
use llm::transcript;
use schema::with_enum;

const NAME: &str = "llm-reflector";
/// The highest confidence a suggestion gets by default, whatever the model
/// says: below the host's default gate (0.5), so a model's edit is a
/// proposal a person reviews until the operator raises `max_confidence` for
/// a model that has earned it. A diagnosis from a few conversations is a
/// lead, not a measurement.
pub const DEFAULT_MAX_CONFIDENCE: f32 = 0.45;
/// Characters of all transcripts together in the unexplained call (each gets
/// its share, at most `max_transcript_chars`).
const UNEXPLAINED_CHARS: usize = 9_600;
/// The unexplained call's answer holds an assignment per conversation and a
/// group per category: it may use this many times `max_output_tokens`.
const UNEXPLAINED_OUTPUT_FACTOR: u32 = 3;
/// Longest problem title and description sent.
const TITLE_CHARS: usize = 200;
const DESCRIPTION_CHARS: usize = 1_000;
/// Longest feedback comment or inferred reason shown with a conversation.
const FEEDBACK_CHARS: usize = 200;
/// Lines the run log gives to problems skipped, one each.
const SKIP_LINES: usize = 8;

/// The rule's settings, validated.
#[derive(Debug, Clone)]
struct Settings {
    max_kept: usize,
    max_problems: usize,
    per_problem: usize,
    unexplained_sample: usize,
    min_group: usize,
    max_transcript_chars: usize,
    max_prompt_chars: usize,
    max_output_tokens: u32,
    max_confidence: f32,
}

fn bounded<T>(context: &CycleContext, name: &str, default: T, lo: T, hi: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let value: T = setting_or(context, name, default)?;
    if value < lo || value > hi {
        return Err(format!(
            "setting `{name}`: must be between {lo} and {hi}, got {value}"
        ));
    }
    Ok(value)
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
        Ok(Self {
            max_kept: bounded(context, "max_kept", 300, 1, 5_000)?,
            max_problems: bounded(context, "max_problems", 8, 0, 100)?,
            per_problem: bounded(context, "per_problem", 3, 1, 10)?,
            unexplained_sample: bounded(context, "unexplained_sample", 12, 0, 50)?,
            min_group: bounded(context, "min_group", 2, 1, 50)?,
            max_transcript_chars: bounded(context, "max_transcript_chars", 2_000, 200, 100_000)?,
            max_prompt_chars: bounded(context, "max_prompt_chars", 4_000, 200, 100_000)?,
            max_output_tokens: bounded(context, "max_output_tokens", 400, 64, 8_192)?,
            max_confidence: bounded(context, "max_confidence", DEFAULT_MAX_CONFIDENCE, 0.0, 1.0)?,
        })
    }
}

/// How one answer passed its checks.
enum Check<T> {
    Good(T),
    /// Usable, with parts rejected (and why).
    Partial(T, Vec<String>),
    Bad(String),
}

/// What came of asking.
enum Asked<T> {
    Valid(T),
    /// Answered, but rejected (after a repair, or with no budget for one).
    Rejected,
    /// No answer (a provider failure); the item is skipped.
    NoAnswer,
    /// Calls had stopped before this one.
    Stopped,
}

/// What the reflector did at `finish`, for the metrics and the run log.
#[derive(Debug, Clone, Default)]
struct Counts {
    problems: usize,
    with_kept: usize,
    read: usize,
    beyond_max: usize,
    not_read_after_stop: usize,
    edits: usize,
    patterns: usize,
    rejected_answers: usize,
}

/// The rule: see the module documentation.
pub struct LlmReflector {
    settings: Settings,
    system_prompt: String,
    reflect: Template,
    unexplained: Template,
    keeper: Keeper,
    caller: Caller,
    journal: Journal,
    /// Interactions of the window so far.
    position: u64,
    counts: Counts,
}

impl LlmReflector {
    /// The run log so far.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Ask the model, check the answer with `read`, and on a rejection ask
    /// once more with the answer and what was wrong with it, if the budget
    /// allows. A partly usable answer stands unless the repair is fully good.
    fn ask<T>(
        &mut self,
        what: &str,
        prompt: String,
        schema: &str,
        max_output_tokens: u32,
        read: impl Fn(&str, bool) -> Check<T>,
    ) -> Asked<T> {
        let messages = vec![llm::user(prompt)];
        let request = llm::structured(messages.clone(), schema, max_output_tokens);
        let (answer, why, usable) = match self.caller.call(what, &request, &mut self.journal) {
            Outcome::Answer(a) => match read(&a.text, a.truncated) {
                Check::Good(t) => return Asked::Valid(t),
                Check::Partial(t, problems) => (Some(a.text), problems, Some(t)),
                Check::Bad(why) => (Some(a.text), vec![why], None),
            },
            Outcome::Unreadable(why) => (None, vec![why], None),
            Outcome::Failed(_) => return Asked::NoAnswer,
            Outcome::Stopped => return Asked::Stopped,
        };
        self.reject(what, &why);
        let fallback = |usable: Option<T>| usable.map_or(Asked::Rejected, Asked::Valid);
        if !self.caller.can_call(&mut self.journal) {
            return fallback(usable);
        }
        let mut repair = messages;
        if let Some(text) = answer {
            repair.push(ChatMessage {
                role: ChatRole::Assistant,
                content: text,
            });
        }
        repair.push(llm::user(format!(
            "Your answer was rejected: {}. Answer again with JSON that follows the schema and \
             fixes this.",
            why.join("; ")
        )));
        let request = llm::structured(repair, schema, max_output_tokens);
        let what = format!("{what} (repair)");
        match self.caller.call(&what, &request, &mut self.journal) {
            Outcome::Answer(a) => match read(&a.text, a.truncated) {
                Check::Good(t) => Asked::Valid(t),
                Check::Partial(t, problems) => {
                    self.reject(&what, &problems);
                    Asked::Valid(usable.unwrap_or(t))
                }
                Check::Bad(why) => {
                    self.reject(&what, &[why]);
                    fallback(usable)
                }
            },
            Outcome::Unreadable(why) => {
                self.reject(&what, &[why]);
                fallback(usable)
            }
            Outcome::Failed(_) | Outcome::Stopped => fallback(usable),
        }
    }

    fn reject(&mut self, what: &str, why: &[String]) {
        self.counts.rejected_answers += 1;
        for w in why {
            self.journal.rejected(what, w);
        }
    }

    /// The conversations as the prompt shows them, each under its label.
    fn blocks(kept: &[&Kept], labels: &[String], max_chars: usize) -> String {
        kept.iter()
            .zip(labels)
            .map(|(k, label)| {
                format!(
                    "### {label}\nFeedback: {}\n{}",
                    k.feedback,
                    transcript::cut(&k.transcript, max_chars)
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    fn labels(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("c{i}")).collect()
    }

    /// Read each problem with kept interactions, up to `max_problems`.
    fn read_problems(&mut self, problems: &[ProblemBrief], findings: &mut Findings) {
        self.counts.problems = problems.len();
        let mut skipped = 0usize;
        for problem in problems {
            let kept: Vec<Kept> = self
                .keeper
                .among(&problem.evidence)
                .into_iter()
                .take(self.settings.per_problem)
                .cloned()
                .collect();
            if kept.is_empty() {
                skipped += 1;
                if skipped <= SKIP_LINES {
                    self.journal.info(
                        "problem skipped: none of its interactions is among the kept negative ones",
                        &[
                            ("key", problem.key.clone()),
                            ("occurrences", problem.occurrences.to_string()),
                        ],
                    );
                }
                continue;
            }
            self.counts.with_kept += 1;
            if self.counts.read >= self.settings.max_problems {
                self.counts.beyond_max += 1;
                continue;
            }
            if self.caller.stopped().is_some() {
                self.counts.not_read_after_stop += 1;
                continue;
            }
            match self.read_problem(problem, &kept) {
                Asked::Valid(suggestion) => {
                    self.counts.read += 1;
                    self.counts.edits += 1;
                    findings.suggestions.push(suggestion);
                }
                Asked::Rejected | Asked::NoAnswer => self.counts.read += 1,
                Asked::Stopped => self.counts.not_read_after_stop += 1,
            }
        }
        if skipped > SKIP_LINES {
            self.journal.info(
                "more problems skipped for want of kept interactions, not listed",
                &[("problems", (skipped - SKIP_LINES).to_string())],
            );
        }
    }

    /// The suggestion for one problem, if the model gives a valid one.
    fn read_problem(&mut self, problem: &ProblemBrief, kept: &[Kept]) -> Asked<Suggestion> {
        let s = self.settings.clone();
        let refs: Vec<&Kept> = kept.iter().collect();
        let labels = Self::labels(kept.len());
        let blocks = Self::blocks(&refs, &labels, s.max_transcript_chars);
        let live = transcript::cut(&self.system_prompt, s.max_prompt_chars);
        let title = text::truncate(&one_line(&problem.title), TITLE_CHARS);
        let description = text::truncate(&one_line(&problem.description), DESCRIPTION_CHARS);
        let rendered = self.reflect.render(&[
            ("system_prompt", &live),
            ("problem_title", &title),
            ("problem_description", &description),
            ("transcripts", &blocks),
        ]);
        let prompt = match rendered {
            Ok(p) => p,
            Err(e) => {
                self.journal.failed(&problem.key, &e);
                return Asked::NoAnswer;
            }
        };
        let schema = with_enum(reflect::SCHEMA, reflect::EVIDENCE_POINTER, &labels);
        let system_prompt = self.system_prompt.clone();
        let shown = Shown {
            prompt: &system_prompt,
            labels,
            ids: kept.iter().map(|k| k.id.as_str()).collect(),
            texts: kept
                .iter()
                .flat_map(|k| [k.transcript.as_str(), k.feedback.as_str()])
                .collect(),
        };
        let what = format!("problem {}", problem.key);
        let asked =
            self.ask(
                &what,
                prompt,
                &schema,
                s.max_output_tokens,
                |text, cut| match reflect::read(text, cut, &shown) {
                    Ok(d) => Check::Good(d),
                    Err(why) => Check::Bad(why),
                },
            );
        let d = match asked {
            Asked::Valid(d) => d,
            Asked::Rejected => return Asked::Rejected,
            Asked::NoAnswer => return Asked::NoAnswer,
            Asked::Stopped => return Asked::Stopped,
        };
        self.journal.info(
            "problem read",
            &[
                ("key", problem.key.clone()),
                ("conversations", kept.len().to_string()),
                ("showing_the_cause", d.evidence.len().to_string()),
                ("confidence", format!("{:.2}", d.confidence)),
            ],
        );
        Asked::Valid(Suggestion {
            edit: d.edit,
            rationale: format!(
                "Root cause (from {} conversations read by the model): {}",
                kept.len(),
                d.root_cause
            ),
            confidence: d.confidence.min(self.settings.max_confidence),
            addresses: vec![problem.key.clone()],
        })
    }

    /// Sort a sample of the kept interactions no problem covers into
    /// categories; each category with enough of them becomes a pattern.
    fn read_unexplained(&mut self, covered: &BTreeSet<&str>, findings: &mut Findings) {
        let s = self.settings.clone();
        let candidates: Vec<Kept> = self
            .keeper
            .worst_first()
            .filter(|k| !covered.contains(k.id.as_str()))
            .cloned()
            .collect();
        let total = candidates.len();
        let sample: Vec<Kept> = candidates.into_iter().take(s.unexplained_sample).collect();
        let n = sample.len();
        let why_not = if s.unexplained_sample == 0 {
            Some("unexplained_sample is 0".to_string())
        } else if n < s.min_group {
            Some(format!(
                "{total} kept negative interactions outside every problem, fewer than min_group ({})",
                s.min_group
            ))
        } else {
            self.caller
                .stopped()
                .map(|stop| format!("calls stopped: {}", stop.describe()))
        };
        if let Some(why) = why_not {
            self.journal.info(
                "unexplained interactions not read",
                &[("why", why), ("unexplained", total.to_string())],
            );
            return;
        }
        let refs: Vec<&Kept> = sample.iter().collect();
        let labels = Self::labels(n);
        let per = s
            .max_transcript_chars
            .min(UNEXPLAINED_CHARS / n)
            .max(transcript::MIN_CHARS);
        let blocks = Self::blocks(&refs, &labels, per);
        let live = transcript::cut(&self.system_prompt, s.max_prompt_chars);
        let min_group = s.min_group.to_string();
        let categories = unexplained::category_list();
        let rendered = self.unexplained.render(&[
            ("system_prompt", &live),
            ("categories", &categories),
            ("min_group", &min_group),
            ("transcripts", &blocks),
        ]);
        let prompt = match rendered {
            Ok(p) => p,
            Err(e) => {
                self.journal.failed("unexplained", &e);
                return;
            }
        };
        let schema = with_enum(unexplained::SCHEMA, unexplained::ID_POINTER, &labels);
        let system_prompt = self.system_prompt.clone();
        let shown = Shown {
            prompt: &system_prompt,
            labels,
            ids: sample.iter().map(|k| k.id.as_str()).collect(),
            texts: sample
                .iter()
                .flat_map(|k| [k.transcript.as_str(), k.feedback.as_str()])
                .collect(),
        };
        let tokens = s
            .max_output_tokens
            .saturating_mul(UNEXPLAINED_OUTPUT_FACTOR);
        let asked =
            self.ask(
                "unexplained",
                prompt,
                &schema,
                tokens,
                |text, cut| match unexplained::read(text, cut, &shown, s.min_group) {
                    Ok(r) if r.problems.is_empty() => Check::Good(r),
                    Ok(r) => {
                        let problems = r.problems.clone();
                        Check::Partial(r, problems)
                    }
                    Err(why) => Check::Bad(why),
                },
            );
        let Asked::Valid(reading) = asked else {
            return;
        };
        for group in reading.groups {
            let mut members: Vec<&Kept> = group
                .labels
                .iter()
                .filter_map(|l| shown.labels.iter().position(|x| x == l))
                .filter_map(|i| sample.get(i))
                .collect();
            members.sort_by_key(|k| k.position);
            if members.len() < s.min_group {
                continue;
            }
            let (pattern, suggestion) = self.category_finding(&group, &members, n);
            self.journal.info(
                "category reported",
                &[
                    ("key", pattern.key.clone()),
                    ("conversations", members.len().to_string()),
                    (
                        "edit",
                        if suggestion.is_some() {
                            "yes"
                        } else {
                            "rejected"
                        }
                        .to_string(),
                    ),
                ],
            );
            findings.patterns.push(pattern);
            self.counts.patterns += 1;
            if let Some(suggestion) = suggestion {
                findings.suggestions.push(suggestion);
                self.counts.edits += 1;
            }
        }
    }

    fn category_finding(
        &self,
        group: &unexplained::Group,
        members: &[&Kept],
        sampled: usize,
    ) -> (Pattern, Option<Suggestion>) {
        let key = format!("{NAME}/{}", group.category);
        let k = members.len();
        let label = unexplained::label(group.category);
        let meaning = unexplained::CATEGORIES
            .iter()
            .find(|(c, _)| *c == group.category)
            .map_or("", |(_, m)| *m);
        let share = finding::ratio(k as u64, self.position);
        let pattern = Pattern {
            key: key.clone(),
            title: format!("{label}: {}", text::truncate(&group.root_cause, 120)),
            description: format!(
                "Diagnosed by a model from {sampled} sampled negative conversations that no other \
                 problem covers: it put {k} of them in this category (the agent {meaning}). \
                 Root cause it gave: {} The count is of the sample, not of the window.",
                group.root_cause
            ),
            severity: finding::severity(share, finding::HIGH_SHARE, finding::MEDIUM_SHARE),
            occurrences: finding::saturating_u32(k as u64),
            evidence: members.iter().map(|m| m.id.clone()).collect(),
        };
        let suggestion = group.edit.as_ref().ok().map(|edit| Suggestion {
            edit: edit.clone(),
            rationale: format!(
                "Root cause (from {k} conversations read by the model): {}",
                group.root_cause
            ),
            confidence: group.confidence.min(self.settings.max_confidence),
            addresses: vec![key.clone()],
        });
        (pattern, suggestion)
    }

    /// The closing lines of the run log and the metrics.
    fn close(&mut self, findings: &mut Findings) {
        let c = self.counts.clone();
        let (input_tokens, output_tokens) = self.caller.tokens();
        self.journal.info(
            "done",
            &[
                ("negative_interactions", self.keeper.offered.to_string()),
                ("kept", self.keeper.len().to_string()),
                ("problems", c.problems.to_string()),
                ("problems_with_kept_interactions", c.with_kept.to_string()),
                ("problems_read", c.read.to_string()),
                ("beyond_max_problems", c.beyond_max.to_string()),
                (
                    "not_read_after_calls_stopped",
                    c.not_read_after_stop.to_string(),
                ),
                ("patterns", c.patterns.to_string()),
                ("edits", c.edits.to_string()),
                ("answers_rejected", c.rejected_answers.to_string()),
                ("calls", self.caller.calls().to_string()),
                ("input_tokens", input_tokens.to_string()),
                ("output_tokens", output_tokens.to_string()),
            ],
        );
        if let Some(stop) = self.caller.stopped() {
            let why = stop.describe();
            self.journal.warn(
                "finished early: calls stopped",
                &[
                    ("why", why),
                    (
                        "problems_read",
                        format!(
                            "{} of {}",
                            c.read,
                            c.with_kept.min(self.settings.max_problems)
                        ),
                    ),
                ],
            );
        }
        findings.metrics = vec![
            Metric {
                name: "reflector_problems_read".to_string(),
                value: c.read as f64,
                description: format!(
                    "Problems whose conversations the model read ({} of {} problems; {} had kept \
                     negative interactions)",
                    c.read, c.problems, c.with_kept
                ),
            },
            Metric {
                name: "reflector_edits_proposed".to_string(),
                value: c.edits as f64,
                description: "Prompt edits proposed from the model's diagnoses, after checks"
                    .to_string(),
            },
            Metric {
                name: "reflector_answers_rejected".to_string(),
                value: c.rejected_answers as f64,
                description: "Answers of the model rejected by the checks (each repair answer \
                              counts apart)"
                    .to_string(),
            },
        ];
    }
}

/// What the feedback on one interaction said, one line.
fn feedback_line(
    explicit: bool,
    comment: Option<&str>,
    inferred: &[(&str, Option<&str>)],
) -> String {
    let mut parts = Vec::new();
    if explicit {
        match comment {
            Some(c) => parts.push(format!(
                "the user rated it negative and wrote: \"{}\"",
                text::truncate(c, FEEDBACK_CHARS)
            )),
            None => parts.push("the user rated it negative".to_string()),
        }
    }
    for (rule, reason) in inferred.iter().take(2) {
        match reason {
            Some(r) => parts.push(format!(
                "rule `{rule}` rated it negative: {}",
                text::truncate(r, FEEDBACK_CHARS / 2)
            )),
            None => parts.push(format!("rule `{rule}` rated it negative")),
        }
    }
    parts.join("; ")
}

impl Rule for LlmReflector {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: &str| SettingSpec {
            name: name.to_string(),
            description: description.to_string(),
            default_value: Some(default.to_string()),
        };
        RuleInfo {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Has a language model read the negative conversations behind each \
                          problem of the report and propose its root cause and a prompt edit; \
                          sorts negative conversations no problem covers into categories of \
                          mistakes, each with its cause and edit."
                .to_string(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::MESSAGES | Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "max_kept",
                    "Negative interactions kept for the model (1 to 5000): people's ratings with \
                     a comment first, then people's ratings, then inferred ones",
                    "300",
                ),
                spec(
                    "max_problems",
                    "Problems of the report read by the model, largest first (0 to 100)",
                    "8",
                ),
                spec(
                    "per_problem",
                    "Conversations sent per problem (1 to 10)",
                    "3",
                ),
                spec(
                    "unexplained_sample",
                    "Negative conversations outside every problem sent in one call to be sorted \
                     into categories (0 to 50; 0 turns it off)",
                    "12",
                ),
                spec(
                    "min_group",
                    "Conversations a category needs to become a pattern (1 to 50)",
                    "2",
                ),
                spec(
                    "max_transcript_chars",
                    "Longest transcript sent per conversation (200 to 100000 characters)",
                    "2000",
                ),
                spec(
                    "max_prompt_chars",
                    "Longest part of the live system prompt sent (200 to 100000 characters; a \
                     longer prompt keeps its start and end)",
                    "4000",
                ),
                spec(
                    "max_output_tokens",
                    "Most tokens of an answer about one problem (64 to 8192); the unexplained \
                     call may use three times as many",
                    "400",
                ),
                spec(
                    "max_confidence",
                    "Highest confidence of a suggestion, whatever the model says (0 to 1). The \
                     default 0.45 is below the host's default gate, so the model's edits need \
                     review; raise it (e.g. to 0.8) for a model you trust to write ready edits",
                    "0.45",
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        let settings = Settings::from_context(&context)?;
        Ok(Self {
            keeper: Keeper::new(settings.max_kept),
            settings,
            system_prompt: context.system_prompt,
            reflect: Template::parse("prompts/reflect.md", reflect::PROMPT)?,
            unexplained: Template::parse("prompts/unexplained.md", unexplained::PROMPT)?,
            caller: Caller::default(),
            journal: Journal::default(),
            position: 0,
            counts: Counts::default(),
        })
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        let first = self.position;
        self.position += chunk.interactions.len() as u64;
        let index: BTreeMap<&str, usize> = chunk
            .interactions
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), i))
            .collect();
        // All negative feedback on each interaction, in the order first seen.
        struct Negative<'a> {
            explicit: bool,
            comment: Option<&'a str>,
            inferred: Vec<(&'a str, Option<&'a str>)>,
            signals: u32,
        }
        let mut order: Vec<&str> = Vec::new();
        let mut negatives: BTreeMap<&str, Negative<'_>> = BTreeMap::new();
        for f in &chunk.feedback {
            if f.rating != Rating::Negative {
                continue;
            }
            let id = f.interaction_id.as_str();
            let n = negatives.entry(id).or_insert_with(|| {
                order.push(id);
                Negative {
                    explicit: false,
                    comment: None,
                    inferred: Vec::new(),
                    signals: 0,
                }
            });
            n.signals += 1;
            let comment = f
                .comment
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty());
            match &f.source {
                FeedbackSource::Explicit => {
                    n.explicit = true;
                    if n.comment.is_none() {
                        n.comment = comment;
                    }
                }
                FeedbackSource::Inferred(rule) => n.inferred.push((rule.as_str(), comment)),
            }
        }
        let max_chars = self.settings.max_transcript_chars;
        for id in order {
            let (Some(&i), Some(n)) = (index.get(id), negatives.get(id)) else {
                continue;
            };
            let Some(interaction) = chunk.interactions.get(i) else {
                continue;
            };
            let source = match (n.explicit, n.comment) {
                (true, Some(_)) => Source::ExplicitWithComment,
                (true, None) => Source::Explicit,
                (false, _) => Source::Inferred,
            };
            let comment = n.comment.map(one_line);
            let inferred: Vec<(&str, Option<String>)> = n
                .inferred
                .iter()
                .map(|(r, c)| (*r, c.map(one_line)))
                .collect();
            self.keeper.offer(id, source, n.signals, || {
                let inferred: Vec<(&str, Option<&str>)> =
                    inferred.iter().map(|(r, c)| (*r, c.as_deref())).collect();
                (
                    first + i as u64,
                    feedback_line(n.explicit, comment.as_deref(), &inferred),
                    transcript::compact(interaction, max_chars),
                )
            });
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let problems = window::problems();
        let mut findings = Findings {
            patterns: Vec::new(),
            suggestions: Vec::new(),
            metrics: Vec::new(),
        };
        self.read_problems(&problems, &mut findings);
        let covered: BTreeSet<&str> = problems
            .iter()
            .flat_map(|p| p.evidence.iter().map(String::as_str))
            .collect();
        self.read_unexplained(&covered, &mut findings);
        self.close(&mut findings);
        Ok(findings)
    }
}

reverie_rule_sdk::export_rule!(LlmReflector);

#[cfg(test)]
mod tests;
