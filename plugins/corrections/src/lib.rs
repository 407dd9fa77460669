//! The `corrections` rule: users telling the agent it got something wrong,
//! and users telling it that it got something right.
//!
//! In the `detect` stage it reads each interaction and infers one negative
//! feedback when a user message that follows an assistant message corrects the
//! agent (see [`correction`]), or one positive feedback when the interaction
//! has no correction and the user's last message thanks the agent or says it
//! worked (see [`thanks`]). A correction is one of five kinds: the answer was
//! contradicted, the request misunderstood, context ignored, a question
//! repeated, or an action the user did not want (`corrections/unwanted-action`).
//!
//! Detection rests on the structure of the conversation more than on words:
//! who spoke before, whether the agent asked a question or stated something,
//! which tool call its turn made and whether it succeeded, which figures and
//! terms the agent and the user gave ([`figure`], [`term`]), and what the user
//! had asked earlier. Words come in only through small tables of grammar words
//! in seven languages ([`markers`]: negations, "wait", "why did you", "I only
//! wanted", "I said", "again", "please", yes-words, closings and goodbyes,
//! "that's wrong", "as I said") and an English phrase list kept from before.
//! The signals, each counted in the run log: a phrase; a restated request; a
//! restated figure; a term of the answer negated ("not USD") or replaced
//! ("EUR please" after a stated price, "Dollars again?"); a rejected action
//! after a successful call; a plain "no" to one; a repeated question. A
//! closing ("no thanks", "nein danke", "adiós") is never one, nor is a term
//! that answers the agent's open question ("Which currency?" → "EUR please").
//!
//! For each correction it also notes what the corrected answer stood on (see
//! [`anchor`]): the tool call of that turn and whether it failed, the argument
//! that carried a value the user had given, and for a contradiction the prompt
//! sentence whose figure the user restored. [`fix`] turns the best-supported
//! anchor of each kind into one instruction that names it (for unwanted
//! actions, the one or two tools that acted unasked); the pattern's key stays
//! the kind (`corrections/<kind>`), whatever the anchor.
//!
//! One signal needs no user at all: the agent stating a figure that a sentence
//! of its own prompt states differently, on the same topic ([`prompt_check`]).
//! Many users take a wrong figure on trust and complain later, if at all; each
//! prompt sentence so contradicted in at least `min_occurrences` interactions
//! is a pattern `corrections/contradicts-prompt/<sentence key>` whose fix is
//! the contradicted kind's, word for word, when that kind is anchored on the
//! same sentence. It infers no feedback: the agent's own words are no user's.
//!
//! The counts behind the findings are kept in `detect` (which the host calls on
//! every chunk before `analyse`), so the rule declares no `analyse` stage and
//! feedback is never counted twice. Memory is bounded whatever the window: per
//! kind a counter, at most [`MAX_EVIDENCE`] interaction ids, one example reason
//! and the bounded tallies of [`anchor`].

pub mod anchor;
pub mod correction;
pub mod figure;
pub mod fix;
pub mod markers;
pub mod prompt_check;
pub mod term;
pub mod thanks;

use std::collections::{BTreeMap, HashSet};

use reverie_rule_sdk::finding::{key_part, percent, saturating_u32};
use reverie_rule_sdk::{
    CycleContext, Edit, Findings, InferredFeedback, Inputs, Interaction, Metric, Pattern, Rating,
    Role, Rule, RuleInfo, SettingSpec, Severity, Stage, Suggestion, log, setting_or,
};

use anchor::{FactTally, PromptFacts, ToolTally};
pub use correction::{Correction, Found, Signal};
use fix::{Anchor, share};
use prompt_check::{CheckCounts, Contradicted, ContradictionTally, PromptCheck};

/// Interaction ids kept as evidence per pattern: every interaction that shows
/// it, up to this many (the contract's bound, see the SDK).
pub const MAX_EVIDENCE: usize = reverie_rule_sdk::MAX_EVIDENCE;

/// The kinds of correction, in the order findings report them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The user says the answer is wrong.
    Contradicted,
    /// The user says the agent answered something other than what was asked.
    Misunderstood,
    /// The user says they already gave the information the agent asks for.
    IgnoredContext,
    /// The user asks the same question again after an answer.
    RepeatedQuestion,
    /// The user rejects what a tool call of the agent just did.
    UnwantedAction,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Contradicted,
        Kind::Misunderstood,
        Kind::IgnoredContext,
        Kind::RepeatedQuestion,
        Kind::UnwantedAction,
    ];

    /// The pattern key; stable across cycles.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Contradicted => "corrections/contradicted",
            Kind::Misunderstood => "corrections/misunderstood-request",
            Kind::IgnoredContext => "corrections/ignored-context",
            Kind::RepeatedQuestion => "corrections/repeated-question",
            Kind::UnwantedAction => "corrections/unwanted-action",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The name of the kind in log fields.
    fn field(self) -> &'static str {
        match self {
            Kind::Contradicted => "contradicted",
            Kind::Misunderstood => "misunderstood_request",
            Kind::IgnoredContext => "ignored_context",
            Kind::RepeatedQuestion => "repeated_question",
            Kind::UnwantedAction => "unwanted_action",
        }
    }

    /// The pattern's title, and what happened, for its description.
    fn wording(self) -> (&'static str, &'static str) {
        match self {
            Kind::Contradicted => (
                "Users say the agent's answers are wrong",
                "a user contradicted the agent",
            ),
            Kind::Misunderstood => (
                "The agent misunderstands what users ask",
                "a user said the agent misunderstood the request",
            ),
            Kind::IgnoredContext => (
                "The agent asks again for what users already said",
                "a user had to point out they had already given the information",
            ),
            Kind::RepeatedQuestion => (
                "Users have to ask the same question again",
                "a user repeated a question the agent had already answered",
            ),
            Kind::UnwantedAction => (
                "The agent acts before users asked it to",
                "a user rejected what a tool call of the agent had just done",
            ),
        }
    }
}

/// Per-kind counters for the window.
#[derive(Default)]
struct KindStats {
    interactions: u64,
    evidence: Vec<String>,
    /// The first reason seen, quoted in the description (never in a fix).
    example: Option<String>,
    /// The tool each corrected answer relied on.
    tools: ToolTally,
    /// The prompt sentence each contradiction restored (contradictions only).
    facts: FactTally,
    /// Unwanted actions only: the interactions of each tool that acted, so
    /// that each tool's is a pattern of its own (see [`Corrections::unwanted_findings`]).
    by_tool: BTreeMap<String, ToolEvidence>,
}

/// The interactions in which users rejected what one tool had just done.
#[derive(Default, Clone)]
struct ToolEvidence {
    interactions: u64,
    /// Every such interaction, in window order; the kind's evidence bounds
    /// the sum over tools.
    evidence: Vec<String>,
}

/// Settings, validated.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    high_share: f64,
    medium_share: f64,
    repeat_similarity: f64,
    min_occurrences: u64,
    anchor_share: f64,
}

const DEFAULT_HIGH_SHARE: f64 = 0.05;
const DEFAULT_MEDIUM_SHARE: f64 = 0.01;
const DEFAULT_REPEAT_SIMILARITY: f64 = 0.7;
/// A correction seen once or twice in a window is an anecdote: reporting it
/// would make a problem (and a fix) out of one unhappy user.
const DEFAULT_MIN_OCCURRENCES: u64 = 3;
const DEFAULT_ANCHOR_SHARE: f64 = 0.5;

fn share_setting(context: &CycleContext, name: &str, default: f64) -> Result<f64, String> {
    let value: f64 = setting_or(context, name, default)?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "setting `{name}`: must be a share between 0 and 1, got {value}"
        ));
    }
    Ok(value)
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
        let high_share = share_setting(context, "severity_high_share", DEFAULT_HIGH_SHARE)?;
        let medium_share = share_setting(context, "severity_medium_share", DEFAULT_MEDIUM_SHARE)?;
        if medium_share > high_share {
            return Err(format!(
                "setting `severity_medium_share`: {medium_share} is above `severity_high_share` ({high_share})"
            ));
        }
        let repeat_similarity =
            share_setting(context, "repeat_similarity", DEFAULT_REPEAT_SIMILARITY)?;
        if repeat_similarity == 0.0 {
            return Err(
                "setting `repeat_similarity`: must be above 0, or every message repeats".into(),
            );
        }
        let min_occurrences: u64 = setting_or(context, "min_occurrences", DEFAULT_MIN_OCCURRENCES)?;
        if min_occurrences == 0 {
            return Err("setting `min_occurrences`: must be at least 1".into());
        }
        let anchor_share = share_setting(context, "anchor_share", DEFAULT_ANCHOR_SHARE)?;
        if anchor_share == 0.0 {
            return Err(
                "setting `anchor_share`: must be above 0, or any tool seen once is named".into(),
            );
        }
        Ok(Settings {
            high_share,
            medium_share,
            repeat_similarity,
            min_occurrences,
            anchor_share,
        })
    }
}

/// The rule's state for one cycle.
pub struct Corrections {
    settings: Settings,
    recogniser: correction::Recogniser,
    lexicon: thanks::Lexicon,
    prompt: PromptFacts,
    seen: u64,
    corrected: u64,
    thanked: u64,
    kinds: [KindStats; 5],
    /// Corrections counted (one per kind and interaction), by the signal that
    /// showed them, in [`Signal::ALL`] order.
    signals: [u64; Signal::ALL.len()],
    /// The agent's figures checked against the prompt, whatever the user said.
    check: PromptCheck,
    checked: CheckCounts,
    contradicting: ContradictionTally,
}

impl Corrections {
    /// Every correction in one interaction, in message order.
    pub fn corrections_in(&self, interaction: &Interaction) -> Vec<Found> {
        self.recogniser.corrections_in(interaction)
    }

    /// Why the interaction ended well, if its user's last message says so and
    /// the agent had spoken before it. Corrections are the caller's to rule out.
    /// The user messages come normalised, as [`correction::normalised_users`] gives them.
    fn praise(&self, interaction: &Interaction, normalised: &[String]) -> Option<thanks::Sense> {
        let last = interaction
            .messages
            .iter()
            .rposition(|m| m.role == Role::User)?;
        let answered = interaction.messages[..last]
            .iter()
            .any(|m| m.role == Role::Assistant);
        if !answered {
            return None;
        }
        self.lexicon.praise_normalised(
            &interaction.messages[last].content,
            normalised.get(last).map_or("", String::as_str),
        )
    }

    /// Count one correction of a kind not yet seen in this interaction, with
    /// what its answer stood on.
    fn record(&mut self, interaction: &Interaction, found: &Found) {
        let kind = found.correction.kind;
        if let Some(slot) = Signal::ALL
            .iter()
            .position(|s| *s == found.correction.signal)
        {
            self.signals[slot] += 1;
        }
        let relied_on = found
            .answer
            .and_then(|answer| anchor::relied_on(interaction, answer));
        let field = match (kind, relied_on) {
            (Kind::IgnoredContext, Some(call)) => anchor::user_given_field(interaction, call),
            _ => None,
        };
        let at_stake = match (kind, found.answer) {
            (Kind::Contradicted, Some(answer)) if !self.prompt.is_empty() => {
                let correcting = &interaction.messages[found.message].content;
                interaction
                    .messages
                    .get(answer)
                    .and_then(|a| self.prompt.at_stake(correcting, &a.content))
            }
            _ => None,
        };
        let stats = &mut self.kinds[kind.index()];
        stats.interactions += 1;
        let kept = stats.evidence.len() < MAX_EVIDENCE;
        if kept {
            stats.evidence.push(interaction.id.clone());
        }
        if kind == Kind::UnwantedAction
            && let Some(call) = relied_on
            && (stats.by_tool.contains_key(&call.name) || stats.by_tool.len() < anchor::MAX_TOOLS)
        {
            let tool = stats.by_tool.entry(call.name.clone()).or_default();
            tool.interactions += 1;
            if kept {
                tool.evidence.push(interaction.id.clone());
            }
        }
        if stats.example.is_none() {
            stats.example = Some(found.correction.reason.clone());
        }
        if let Some(call) = relied_on {
            stats.tools.record(call, field);
        }
        if let Some(at_stake) = at_stake {
            stats.facts.record(at_stake);
        }
    }

    /// The run log's counts: interactions, corrections by kind, and the
    /// corrections each signal showed.
    fn seen_fields(&self) -> Vec<(String, String)> {
        let mut seen_fields = vec![
            ("interactions".to_string(), self.seen.to_string()),
            ("corrected".to_string(), self.corrected.to_string()),
            ("positive_inferred".to_string(), self.thanked.to_string()),
        ];
        for kind in Kind::ALL {
            seen_fields.push((
                kind.field().to_string(),
                self.kinds[kind.index()].interactions.to_string(),
            ));
        }
        for (signal, count) in Signal::ALL.iter().zip(self.signals) {
            seen_fields.push((signal.field().to_string(), count.to_string()));
        }
        seen_fields
    }

    fn severity(&self, share: f64) -> Severity {
        if share >= self.settings.high_share {
            Severity::High
        } else if share >= self.settings.medium_share {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    /// The pattern and fix of one kind, and the log line saying what anchored it.
    fn findings_of(&self, kind: Kind) -> (Pattern, Suggestion, Vec<(String, String)>) {
        let stats = &self.kinds[kind.index()];
        let n = stats.interactions;
        let anchor = fix::choose(
            kind,
            n,
            &stats.tools,
            &stats.facts,
            &self.prompt,
            self.settings.anchor_share,
        );
        let key = kind.key().to_string();
        let (title, what) = kind.wording();
        let share_of_window = share(n, self.seen);
        let mut description = format!(
            "In {n} of {} interactions ({}) {what}",
            self.seen,
            percent(share_of_window)
        );
        if let Some(example) = &stats.example {
            description.push_str(&format!(" (first: {example})"));
        }
        description.push_str(". ");
        let detail = anchor_detail(&anchor, n);
        description.push_str(&detail);
        let title = match &anchor {
            Anchor::Fact { .. } => "The agent states a figure its prompt contradicts".to_string(),
            Anchor::Tool {
                name,
                failed,
                support,
                ..
            } if share(*failed, *support) >= 0.5 => {
                format!("{title}, after `{name}` fails")
            }
            Anchor::Tool { name, .. } => format!("{title}, after calling `{name}`"),
            Anchor::None => title.to_string(),
        };
        let pattern = Pattern {
            key: key.clone(),
            title,
            description,
            severity: self.severity(share_of_window),
            occurrences: saturating_u32(n),
            evidence: stats.evidence.clone(),
        };
        let suggestion = Suggestion {
            edit: Edit::AppendInstruction(fix::instruction(kind, &anchor)),
            rationale: format!("{n} interactions show `{key}`. {detail}"),
            confidence: fix::confidence(&anchor, n),
            addresses: vec![key.clone()],
        };
        let mut fields = vec![
            ("key".to_string(), key),
            ("interactions".to_string(), n.to_string()),
        ];
        fields.extend(anchor_fields(kind, &anchor, stats, n));
        (pattern, suggestion, fields)
    }
}

impl Corrections {
    /// The unwanted actions as one pattern per tool that acted
    /// (`corrections/unwanted-action/<tool>`), for each tool with at least
    /// `min_occurrences` interactions, and the rest (smaller tools, answers
    /// with no call) under the kind's own key when they are as many. Users
    /// rejecting a password reset and users rejecting a closed ticket point
    /// at two different habits of the agent, which other rules see apart;
    /// one pattern for both would join them into one problem. `whole` is the
    /// kind's pattern, whose description the per-tool ones start from. Most
    /// interactions first.
    fn unwanted_findings(&self, whole: Pattern) -> Vec<Pattern> {
        let stats = &self.kinds[Kind::UnwantedAction.index()];
        let min = self.settings.min_occurrences;
        let mut tools: Vec<(&String, &ToolEvidence)> = stats
            .by_tool
            .iter()
            .filter(|(_, t)| t.interactions >= min)
            .collect();
        tools.sort_by(|a, b| b.1.interactions.cmp(&a.1.interactions).then(a.0.cmp(b.0)));
        if tools.is_empty() {
            return vec![whole];
        }
        let mut out = Vec::new();
        let mut covered: HashSet<&str> = HashSet::new();
        for (name, tool) in &tools {
            covered.extend(tool.evidence.iter().map(String::as_str));
            let n = tool.interactions;
            let share_of_window = share(n, self.seen);
            log_info(
                "pattern emitted",
                &[
                    ("key".into(), unwanted_key(name)),
                    ("interactions".into(), n.to_string()),
                ],
            );
            out.push(Pattern {
                key: unwanted_key(name),
                title: format!("Users reject what `{name}` just did"),
                description: format!(
                    "In {n} of {} interactions ({}) a user rejected what a successful \
                     `{name}` call had just done, in the reply right after it.",
                    self.seen,
                    percent(share_of_window)
                ),
                severity: self.severity(share_of_window),
                occurrences: saturating_u32(n),
                evidence: tool.evidence.clone(),
            });
        }
        let rest: Vec<String> = whole
            .evidence
            .iter()
            .filter(|id| !covered.contains(id.as_str()))
            .cloned()
            .collect();
        let left = stats
            .interactions
            .saturating_sub(tools.iter().map(|(_, t)| t.interactions).sum::<u64>());
        if left >= min {
            out.push(Pattern {
                occurrences: saturating_u32(left),
                evidence: rest,
                ..whole
            });
        }
        out
    }

    /// The patterns of figures the agent stated against its prompt: one per
    /// prompt sentence contradicted in at least `min_occurrences` interactions,
    /// with the same fix the contradicted kind gives when it is anchored on
    /// that sentence, so the two read as one edit.
    fn prompt_findings(&self, patterns: &mut Vec<Pattern>, suggestions: &mut Vec<Suggestion>) {
        let ranked = self.contradicting.ranked();
        let mut fields = vec![
            (
                "messages_checked".to_string(),
                self.checked.messages.to_string(),
            ),
            (
                "figures_compared".to_string(),
                self.checked.figures.to_string(),
            ),
            (
                "sentences_contradicted".to_string(),
                ranked.len().to_string(),
            ),
            (
                "min_shared_words".to_string(),
                prompt_check::MIN_SHARED_WORDS.to_string(),
            ),
        ];
        let (kept, dropped): (Vec<&Contradicted>, Vec<&Contradicted>) = ranked
            .iter()
            .partition(|c| c.interactions >= self.settings.min_occurrences);
        fields.push(("sentences_reported".into(), kept.len().to_string()));
        fields.push((
            "sentences_below_min_occurrences".into(),
            dropped.len().to_string(),
        ));
        fields.push((
            "interactions_below_min_occurrences".into(),
            dropped
                .iter()
                .map(|c| c.interactions)
                .sum::<u64>()
                .to_string(),
        ));
        log_info("agent figures checked against the prompt", &fields);
        // The contradicted kind's own anchor, when it has one: its fix is reused
        // word for word for the same sentence.
        let contradicted = &self.kinds[Kind::Contradicted.index()];
        let corrected_anchor = fix::choose(
            Kind::Contradicted,
            contradicted.interactions,
            &contradicted.tools,
            &contradicted.facts,
            &self.prompt,
            self.settings.anchor_share,
        );
        for (rank, c) in ranked.iter().enumerate() {
            let Some(sentence) = self.prompt.sentence(c.sentence) else {
                continue;
            };
            let line = [
                (
                    "sentence_key".to_string(),
                    prompt_check::sentence_key(sentence),
                ),
                ("interactions".to_string(), c.interactions.to_string()),
                ("most_often".to_string(), c.wrong.clone()),
            ];
            if c.interactions < self.settings.min_occurrences {
                // The log stays short: dropped sentences are listed up to a few.
                if rank < MAX_LOGGED_SENTENCES {
                    log_info("prompt contradiction dropped: below min_occurrences", &line);
                }
                continue;
            }
            let (pattern, suggestion) = self.contradiction_findings(c, sentence, &corrected_anchor);
            if rank < MAX_LOGGED_SENTENCES {
                log_info(
                    "pattern emitted",
                    &[
                        ("key".to_string(), pattern.key.clone()),
                        line[1].clone(),
                        line[2].clone(),
                    ],
                );
            }
            patterns.push(pattern);
            suggestions.push(suggestion);
        }
    }

    fn contradiction_findings(
        &self,
        c: &Contradicted,
        sentence: &str,
        corrected_anchor: &Anchor,
    ) -> (Pattern, Suggestion) {
        let n = c.interactions;
        let key = format!(
            "{}/{}",
            CONTRADICTS_PROMPT,
            prompt_check::sentence_key(sentence)
        );
        let share_of_window = share(n, self.seen);
        let anchor = match corrected_anchor {
            Anchor::Fact { sentence: s, .. } if s == sentence => corrected_anchor.clone(),
            _ => Anchor::Fact {
                sentence: sentence.to_string(),
                wrong: c.wrong.clone(),
                support: n,
            },
        };
        let detail = format!(
            "The agent stated a figure (most often {}) that the prompt sentence \"{sentence}\" \
             states differently, on the same topic, and no other prompt sentence states it; \
             whether or not the user objected.",
            c.wrong
        );
        let pattern = Pattern {
            key: key.clone(),
            title: "The agent states a figure its prompt contradicts".into(),
            description: format!(
                "In {n} of {} interactions ({}) the agent contradicted its prompt. {detail}",
                self.seen,
                percent(share_of_window)
            ),
            severity: self.severity(share_of_window),
            occurrences: saturating_u32(n),
            evidence: c.evidence.clone(),
        };
        // The signal is structural and the sentence is the whole anchor: the
        // fix accounts for every interaction of the pattern.
        let own = Anchor::Fact {
            sentence: sentence.to_string(),
            wrong: c.wrong.clone(),
            support: n,
        };
        let suggestion = Suggestion {
            edit: Edit::AppendInstruction(fix::instruction(Kind::Contradicted, &anchor)),
            rationale: format!("{n} interactions show `{key}`. {detail}"),
            confidence: fix::confidence(&own, n),
            addresses: vec![key],
        };
        (pattern, suggestion)
    }
}

/// The key of the patterns of figures stated against the prompt, followed by
/// the contradicted sentence's [`prompt_check::sentence_key`].
pub const CONTRADICTS_PROMPT: &str = "corrections/contradicts-prompt";

/// Prompt sentences the run log names one by one; past these only the counts
/// of the summary line say what was seen.
const MAX_LOGGED_SENTENCES: usize = 8;

/// What anchored a kind's fix, in a sentence for the description and rationale.
fn anchor_detail(anchor: &Anchor, n: u64) -> String {
    match anchor {
        Anchor::Fact {
            sentence,
            wrong,
            support,
        } => format!(
            "In {support} of them ({}) the user restored a figure of the prompt sentence \
             \"{sentence}\" that the agent had given differently (most often {wrong}).",
            percent(share(*support, n))
        ),
        Anchor::Tool {
            name,
            support,
            failed,
            field,
            also,
        } => {
            let outcome = match *failed {
                0 => "which had succeeded".to_string(),
                f if f == *support => "which had failed".to_string(),
                f => format!("which had failed in {f}"),
            };
            let mut s = format!(
                "In {support} of them ({}) the corrected reply followed a call to `{name}`, \
                 {outcome}",
                percent(share(*support, n))
            );
            if let Some(field) = field {
                s.push_str(&format!(
                    "; its `{field}` carried a value the user had already given"
                ));
            }
            if let Some((second, count)) = also {
                s.push_str(&format!(
                    "; in {count} more ({}) it followed a call to `{second}`",
                    percent(share(*count, n))
                ));
            }
            s.push('.');
            s
        }
        Anchor::None => "No tool call or prompt sentence accounts for most of them, so the fix \
                         is a general instruction."
            .to_string(),
    }
}

/// Log fields saying what the kind's anchors were, chosen or not.
fn anchor_fields(kind: Kind, anchor: &Anchor, stats: &KindStats, n: u64) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let chosen = match anchor {
        Anchor::Fact { .. } => "prompt_sentence",
        Anchor::Tool { .. } => "tool",
        Anchor::None => "none",
    };
    fields.push(("anchor".to_string(), chosen.to_string()));
    if let Anchor::Tool {
        also: Some((second, count)),
        ..
    } = anchor
    {
        fields.push(("second_tool".into(), second.clone()));
        fields.push((
            "second_tool_share".into(),
            format!("{:.2}", share(*count, n)),
        ));
    }
    if let Some((name, tool)) = stats.tools.leader() {
        fields.push(("top_tool".into(), name.to_string()));
        fields.push((
            "top_tool_share".into(),
            format!("{:.2}", share(tool.interactions, n)),
        ));
        fields.push((
            "top_tool_failed_share".into(),
            format!("{:.2}", share(tool.failed, tool.interactions)),
        ));
        if let Some((field, count)) = tool.leading_field() {
            fields.push(("top_field".into(), field.to_string()));
            fields.push((
                "top_field_share".into(),
                format!("{:.2}", share(count, tool.interactions)),
            ));
        }
    } else {
        fields.push(("top_tool".into(), "none".into()));
    }
    if stats.tools.untallied() > 0 {
        fields.push((
            "tools_untallied".into(),
            stats.tools.untallied().to_string(),
        ));
    }
    if kind == Kind::Contradicted {
        match stats.facts.leader() {
            Some(lead) => {
                fields.push(("prompt_sentence".into(), "found".into()));
                fields.push((
                    "prompt_sentence_share".into(),
                    format!("{:.2}", share(lead.interactions, n)),
                ));
            }
            None => fields.push(("prompt_sentence".into(), "not found".into())),
        }
    }
    fields
}

/// `corrections/unwanted-action/<tool>`.
fn unwanted_key(tool: &str) -> String {
    format!("{}/{}", Kind::UnwantedAction.key(), key_part(tool))
}

/// Log a line whose fields are owned strings.
fn log_info(message: &str, fields: &[(String, String)]) {
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    log::info(message, &fields);
}

impl Rule for Corrections {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: String| SettingSpec {
            name: name.into(),
            description: description.into(),
            default_value: Some(default),
        };
        RuleInfo {
            name: "corrections".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Infers negative feedback when users correct the agent (contradiction, \
                          misunderstood request, ignored context, repeated question, unwanted \
                          action) and positive \
                          feedback when they end by thanking it; proposes one fix per kind, naming \
                          the tool or the prompt sentence the corrected answers stood on."
                .into(),
            // Everything is counted in `detect`: declaring `analyse` too would only
            // make the host copy every chunk into the sandbox a second time.
            stages: vec![Stage::Detect],
            // Tool calls say what a corrected answer relied on; system messages are
            // not needed, the live prompt comes in the cycle context.
            inputs: Inputs::MESSAGES | Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "severity_high_share",
                    "Share of interactions with a correction kind at or above which its pattern is high severity.",
                    DEFAULT_HIGH_SHARE.to_string(),
                ),
                spec(
                    "severity_medium_share",
                    "Share of interactions with a correction kind at or above which its pattern is medium severity.",
                    DEFAULT_MEDIUM_SHARE.to_string(),
                ),
                spec(
                    "repeat_similarity",
                    "Jaccard similarity of content words (0 to 1) at or above which a user message repeats an earlier, answered one.",
                    DEFAULT_REPEAT_SIMILARITY.to_string(),
                ),
                spec(
                    "min_occurrences",
                    "Corrected interactions a kind needs before it is reported as a pattern.",
                    DEFAULT_MIN_OCCURRENCES.to_string(),
                ),
                spec(
                    "anchor_share",
                    "Share of a kind's corrected interactions (0 to 1) that one tool or one prompt sentence must account for before the fix names it.",
                    DEFAULT_ANCHOR_SHARE.to_string(),
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        let settings = Settings::from_context(&context)?;
        let prompt = PromptFacts::new(&context.system_prompt);
        Ok(Corrections {
            recogniser: correction::Recogniser::new(settings.repeat_similarity),
            settings,
            lexicon: thanks::Lexicon::new(),
            seen: 0,
            corrected: 0,
            thanked: 0,
            kinds: Default::default(),
            signals: [0; Signal::ALL.len()],
            check: PromptCheck::new(&prompt),
            checked: CheckCounts::default(),
            contradicting: ContradictionTally::default(),
            prompt,
        })
    }

    fn detect(&mut self, interactions: Vec<Interaction>) -> Result<Vec<InferredFeedback>, String> {
        let mut inferred = Vec::new();
        for interaction in &interactions {
            self.seen += 1;
            // Checked whether or not a user objected: many take a wrong figure on trust.
            let against_prompt = self.check.in_interaction(interaction, &mut self.checked);
            self.contradicting.record(&interaction.id, against_prompt);
            // Each user message is normalised once, for every reading of it.
            let normalised = correction::normalised_users(interaction);
            let found = self
                .recogniser
                .corrections_in_normalised(interaction, &normalised);
            let Some(first) = found.first() else {
                if let Some(sense) = self.praise(interaction, &normalised) {
                    self.thanked += 1;
                    inferred.push(InferredFeedback {
                        interaction_id: interaction.id.clone(),
                        rating: Rating::Positive,
                        reason: thanks::reason(sense).to_string(),
                    });
                }
                continue;
            };
            self.corrected += 1;
            inferred.push(InferredFeedback {
                interaction_id: interaction.id.clone(),
                rating: Rating::Negative,
                reason: first.correction.reason.clone(),
            });
            // Each kind counts once per interaction, with its first correction.
            let mut counted = [false; Kind::ALL.len()];
            for f in &found {
                let slot = &mut counted[f.correction.kind.index()];
                if !*slot {
                    *slot = true;
                    self.record(interaction, f);
                }
            }
        }
        Ok(inferred)
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let s = &self.settings;
        log_info(
            "settings in force",
            &[
                ("severity_high_share".into(), s.high_share.to_string()),
                ("severity_medium_share".into(), s.medium_share.to_string()),
                ("repeat_similarity".into(), s.repeat_similarity.to_string()),
                ("min_occurrences".into(), s.min_occurrences.to_string()),
                ("anchor_share".into(), s.anchor_share.to_string()),
                (
                    "prompt_sentences_with_figures".into(),
                    self.prompt.len().to_string(),
                ),
            ],
        );
        let seen_fields = self.seen_fields();
        log_info("interactions read", &seen_fields);

        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        for kind in Kind::ALL {
            let n = self.kinds[kind.index()].interactions;
            if n == 0 {
                continue;
            }
            if n < self.settings.min_occurrences {
                log_info(
                    "pattern dropped: below min_occurrences",
                    &[
                        ("key".into(), kind.key().into()),
                        ("interactions".into(), n.to_string()),
                        (
                            "min_occurrences".into(),
                            self.settings.min_occurrences.to_string(),
                        ),
                    ],
                );
                continue;
            }
            let (pattern, mut suggestion, fields) = self.findings_of(kind);
            log_info("pattern emitted", &fields);
            if kind == Kind::UnwantedAction {
                let split = self.unwanted_findings(pattern);
                suggestion.addresses = split.iter().map(|p| p.key.clone()).collect();
                patterns.extend(split);
            } else {
                patterns.push(pattern);
            }
            suggestions.push(suggestion);
        }
        self.prompt_findings(&mut patterns, &mut suggestions);
        Ok(Findings {
            patterns,
            suggestions,
            metrics: vec![
                Metric {
                    name: "correction_rate".into(),
                    value: share(self.corrected, self.seen),
                    description:
                        "Share of interactions in which the user corrected the agent at least once."
                            .into(),
                },
                Metric {
                    name: "thanked_rate".into(),
                    value: share(self.thanked, self.seen),
                    description: "Share of interactions without a correction whose user ended by \
                                  thanking the agent or saying it worked."
                        .into(),
                },
            ],
        })
    }
}

reverie_rule_sdk::export_rule!(Corrections);

#[cfg(test)]
mod tests;
