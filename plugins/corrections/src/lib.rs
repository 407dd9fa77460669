//! The `corrections` rule: users telling the agent it got something wrong.
//!
//! In the `detect` stage it reads each interaction and infers one negative
//! feedback when a user message that follows an assistant message corrects the
//! agent: contradicts it ("that's not right"), says it misunderstood ("that's
//! not what I asked"), says it ignored what the user already gave ("I already
//! told you"), or asks the same question again after an answer. Phrases are
//! matched on [`text::normalise`]d text with apostrophes dropped, so "thats
//! wrong" and "That’s WRONG!" both count, at word boundaries, so "no thanks"
//! and "that's right" never do.
//!
//! The counts behind the findings are kept in `detect` (which the host calls on
//! every chunk before `analyse`), so `analyse` has nothing to add and feedback is
//! never counted twice. Memory is bounded whatever the window: per correction
//! kind a counter, at most [`MAX_EVIDENCE`] interaction ids, one example phrase
//! and a topic-word map capped at `max_topic_words` entries.

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::{
    CycleContext, Edit, Findings, InferredFeedback, Inputs, Interaction, Metric, Pattern, Rating,
    Role, Rule, RuleInfo, SettingSpec, Severity, Stage, Suggestion, setting_or, text,
};

/// Interaction ids kept as evidence per pattern (the host keeps at most 20).
pub const MAX_EVIDENCE: usize = 20;

/// A user message is compared with at most this many earlier user messages of
/// the same interaction when looking for a repeated question, so a very long
/// session costs linear, not quadratic, time.
const REPEAT_LOOKBACK: usize = 20;

/// A message needs this many distinct content words to count as a question that
/// can be repeated; below it, "ok thanks" twice would look like a repeat.
const REPEAT_MIN_WORDS: usize = 3;

/// Longest excerpt of a user message quoted in a reason.
const QUOTE_CHARS: usize = 80;

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
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Contradicted,
        Kind::Misunderstood,
        Kind::IgnoredContext,
        Kind::RepeatedQuestion,
    ];

    /// The pattern key; stable across cycles.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Contradicted => "corrections/contradicted",
            Kind::Misunderstood => "corrections/misunderstood-request",
            Kind::IgnoredContext => "corrections/ignored-context",
            Kind::RepeatedQuestion => "corrections/repeated-question",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether the corrected answers' topics are worth naming: a contradiction
    /// or a misunderstanding is about the answer; a repeat or ignored context is
    /// about the conversation.
    fn tracks_topics(self) -> bool {
        matches!(self, Kind::Contradicted | Kind::Misunderstood)
    }
}

/// Phrases that ignore context. Checked first: "as I said" also contains "I said".
const IGNORED_CONTEXT: &[&str] = &[
    "i already told you",
    "already told you",
    "i told you already",
    "told you already",
    "i already said",
    "i've already said",
    "i already gave you",
    "already gave you",
    "already given you",
    "i already provided",
    "already provided",
    "i already mentioned",
    "already mentioned",
    "i already sent",
    "already sent you",
    "i just said",
    "i just told you",
    "i just gave you",
    "as i said",
    "as i already said",
    "like i said",
    "as i mentioned",
    "as i told you",
    "i told you",
    "scroll up",
    "read what i wrote",
];

/// Phrases that say the agent misunderstood the request.
const MISUNDERSTOOD: &[&str] = &[
    "that's not what i asked",
    "that is not what i asked",
    "not what i asked",
    "not what i was asking",
    "i didn't ask for",
    "i did not ask for",
    "i didn't ask about",
    "i did not ask about",
    "i never asked",
    "not what i meant",
    "not what i wanted",
    "not what i said",
    "you misunderstood",
    "you misunderstand",
    "you misread",
    "you didn't understand",
    "you did not understand",
    "you don't understand",
    "you do not understand",
    "actually i said",
    "i said",
    "i meant",
    "i was asking about",
    "i wasn't asking",
];

/// Phrases that contradict the answer.
const CONTRADICTED: &[&str] = &[
    "that's wrong",
    "that is wrong",
    "this is wrong",
    "that's not right",
    "that is not right",
    "that isn't right",
    "this is not right",
    "that's incorrect",
    "that is incorrect",
    "this is incorrect",
    "not correct",
    "isn't correct",
    "you're wrong",
    "you are wrong",
    "your wrong",
    "you're mistaken",
    "you are mistaken",
    "wrong answer",
    "that's not true",
    "that is not true",
    "that isn't true",
    "not true",
    "that's false",
    "that is false",
    "that's not accurate",
    "that is not accurate",
    "inaccurate",
    "you got it wrong",
    "you got that wrong",
    "you've got it wrong",
    "you made a mistake",
    "wrong information",
    "wrong info",
    "that's not the case",
    "that is not the case",
    "that's not how it works",
];

/// Agreement that contains a correction phrase ("that's exactly what I
/// meant" contains "I meant"): cut out before matching. Apostrophes dropped.
const AGREEMENTS: &[&[&str]] = &[
    &["exactly", "what", "i"],
    &["thats", "what", "i"],
    &["that", "is", "what", "i"],
    &["this", "is", "what", "i"],
    &["just", "what", "i"],
];

/// One phrase, kept in its display form (quoted in reasons) and as the words
/// it is matched by (normalised, apostrophes dropped).
struct Phrase {
    kind: Kind,
    display: &'static str,
    words: Vec<String>,
}

/// The phrase table, in matching priority order, indexed by first word so a
/// message is matched in one pass over its words. (Searching the message for
/// each phrase with `str::contains` spent most of the rule's time building
/// substring searchers.)
struct Phrases {
    list: Vec<Phrase>,
    by_first_word: BTreeMap<String, Vec<usize>>,
}

fn words_of(phrase: &str) -> Vec<String> {
    phrase
        .replace('\'', "")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn phrases() -> Phrases {
    let table: [(Kind, &[&str]); 3] = [
        (Kind::IgnoredContext, IGNORED_CONTEXT),
        (Kind::Misunderstood, MISUNDERSTOOD),
        (Kind::Contradicted, CONTRADICTED),
    ];
    let list: Vec<Phrase> = table
        .iter()
        .flat_map(|(kind, list)| {
            list.iter().map(|display| Phrase {
                kind: *kind,
                display,
                words: words_of(display),
            })
        })
        .filter(|p| !p.words.is_empty())
        .collect();
    let mut by_first_word: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in list.iter().enumerate() {
        by_first_word.entry(p.words[0].clone()).or_default().push(i);
    }
    Phrases {
        list,
        by_first_word,
    }
}

/// Does `words` start with the word sequence `seq`?
fn starts_with_words<S: AsRef<str>>(words: &[&str], seq: &[S]) -> bool {
    words.len() >= seq.len() && words.iter().zip(seq).all(|(w, s)| *w == s.as_ref())
}

impl Phrases {
    /// The first phrase, in priority order, that occurs in `words`.
    fn find(&self, words: &[&str]) -> Option<&Phrase> {
        let mut best: Option<usize> = None;
        for start in 0..words.len() {
            let Some(candidates) = self.by_first_word.get(words[start]) else {
                continue;
            };
            for &p in candidates {
                if best.is_none_or(|b| p < b)
                    && starts_with_words(&words[start..], &self.list[p].words)
                {
                    best = Some(p);
                }
            }
        }
        best.map(|p| &self.list[p])
    }
}

/// What one user message was found to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub kind: Kind,
    /// A sentence a person can read, e.g. `user said "that's wrong"`.
    pub reason: String,
}

/// Per-kind counters for the window.
#[derive(Default)]
struct KindStats {
    interactions: u64,
    evidence: Vec<String>,
    /// The first reason seen, quoted in the description.
    example: Option<String>,
    /// Content word → number of corrected interactions whose corrected answers
    /// contained it. Capped at `max_topic_words` entries.
    topics: BTreeMap<String, u64>,
}

/// Settings, validated.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    high_share: f64,
    medium_share: f64,
    repeat_similarity: f64,
    max_topic_words: usize,
    min_occurrences: u64,
}

const DEFAULT_HIGH_SHARE: f64 = 0.05;
const DEFAULT_MEDIUM_SHARE: f64 = 0.01;
const DEFAULT_REPEAT_SIMILARITY: f64 = 0.7;
const DEFAULT_MAX_TOPIC_WORDS: usize = 5000;
const DEFAULT_MIN_OCCURRENCES: u64 = 1;

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
        let max_topic_words: usize =
            setting_or(context, "max_topic_words", DEFAULT_MAX_TOPIC_WORDS)?;
        if !(10..=100_000).contains(&max_topic_words) {
            return Err(format!(
                "setting `max_topic_words`: must be between 10 and 100000, got {max_topic_words}"
            ));
        }
        let min_occurrences: u64 = setting_or(context, "min_occurrences", DEFAULT_MIN_OCCURRENCES)?;
        if min_occurrences == 0 {
            return Err("setting `min_occurrences`: must be at least 1".into());
        }
        Ok(Settings {
            high_share,
            medium_share,
            repeat_similarity,
            max_topic_words,
            min_occurrences,
        })
    }
}

/// The rule's state for one cycle.
pub struct Corrections {
    settings: Settings,
    phrases: Phrases,
    seen: u64,
    corrected: u64,
    kinds: [KindStats; 4],
}

impl Corrections {
    /// Find a correction phrase in one user message.
    fn match_phrase(&self, content: &str) -> Option<Correction> {
        let norm = text::normalise(content).replace('\'', "");
        let mut words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        for agreement in AGREEMENTS {
            while let Some(at) =
                (0..words.len()).find(|&i| starts_with_words(&words[i..], agreement))
            {
                words.drain(at..at + agreement.len());
            }
        }
        if let Some(p) = self.phrases.find(&words) {
            // Quote the whole message, not just the phrase: the rest says what was
            // wrong ("... your site says 14 days"), which is what theme-finding rules
            // downstream group on.
            let quoted = text::truncate(content.trim(), QUOTE_CHARS);
            return Some(Correction {
                kind: p.kind,
                reason: format!("user said \"{}\": \"{}\"", p.display, quoted),
            });
        }
        // "I asked for X, not Y" / "I wanted X not Y".
        for lead in [
            ["i", "asked", "for"],
            ["i", "asked", "about"],
            ["i", "wanted", ""],
        ] {
            let lead: Vec<&str> = lead.into_iter().filter(|w| !w.is_empty()).collect();
            if let Some(start) = (0..words.len()).find(|&i| starts_with_words(&words[i..], &lead))
                && words[start + lead.len()..].contains(&"not")
            {
                let quoted = text::truncate(&words[start..].join(" "), QUOTE_CHARS);
                return Some(Correction {
                    kind: Kind::Misunderstood,
                    reason: format!("user said \"{}\"", quoted.trim()),
                });
            }
        }
        None
    }

    /// Every correction in one interaction, in message order, each with the
    /// index of the assistant message it corrects.
    pub fn corrections_in(&self, interaction: &Interaction) -> Vec<(Correction, Option<usize>)> {
        let mut found = Vec::new();
        // Last speaker among user/assistant, and the last assistant message with text.
        let mut last_speaker: Option<Role> = None;
        let mut last_answer: Option<usize> = None;
        // Earlier user questions: content words and whether an answer followed.
        let mut questions: Vec<(BTreeSet<String>, bool)> = Vec::new();
        for (index, message) in interaction.messages.iter().enumerate() {
            match message.role {
                Role::Assistant => {
                    last_speaker = Some(Role::Assistant);
                    if !message.content.trim().is_empty() {
                        last_answer = Some(index);
                        for question in &mut questions {
                            question.1 = true;
                        }
                    }
                }
                Role::User => {
                    let words: BTreeSet<String> =
                        text::content_words(&message.content).into_iter().collect();
                    if last_speaker == Some(Role::Assistant) {
                        if let Some(correction) = self.match_phrase(&message.content) {
                            found.push((correction, last_answer));
                        } else if words.len() >= REPEAT_MIN_WORDS
                            && questions.iter().any(|(earlier, answered)| {
                                *answered
                                    && earlier.len() >= REPEAT_MIN_WORDS
                                    && jaccard(earlier, &words) >= self.settings.repeat_similarity
                            })
                        {
                            let quoted = text::truncate(message.content.trim(), QUOTE_CHARS);
                            found.push((
                                Correction {
                                    kind: Kind::RepeatedQuestion,
                                    reason: format!(
                                        "user asked the same question again: \"{quoted}\""
                                    ),
                                },
                                last_answer,
                            ));
                        }
                    }
                    last_speaker = Some(Role::User);
                    if questions.len() == REPEAT_LOOKBACK {
                        questions.remove(0);
                    }
                    questions.push((words, false));
                }
                Role::System | Role::Tool => {}
            }
        }
        found
    }

    fn record_topics(&mut self, kind: Kind, words: &BTreeSet<String>) {
        let cap = self.settings.max_topic_words;
        let topics = &mut self.kinds[kind.index()].topics;
        for word in words {
            if let Some(count) = topics.get_mut(word) {
                *count += 1;
                continue;
            }
            if topics.len() >= cap {
                evict_rarest(topics, cap);
            }
            topics.insert(word.clone(), 1);
        }
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
}

/// Jaccard similarity of two word sets.
fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    text::jaccard(&a, &b)
}

/// Make room in a full topic map by dropping its rarest tenth (ties broken by
/// word, so the result is deterministic). Dropping a tenth at once keeps the
/// cost amortised: one sort per `cap / 10` new words, not one scan per word.
fn evict_rarest(topics: &mut BTreeMap<String, u64>, cap: usize) {
    let mut by_count: Vec<(u64, String)> = topics.iter().map(|(w, c)| (*c, w.clone())).collect();
    by_count.sort();
    let drop = (cap / 10).max(1);
    for (_, word) in by_count.into_iter().take(drop) {
        topics.remove(&word);
    }
}

/// The `n` most frequent words, most frequent first, ties alphabetical.
fn top_words(topics: &BTreeMap<String, u64>, n: usize) -> Vec<&str> {
    let mut words: Vec<(&String, &u64)> = topics.iter().collect();
    words.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    words.into_iter().take(n).map(|(w, _)| w.as_str()).collect()
}

/// "a", "a and b", "a, b and c".
fn and_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Confidence grows with the evidence: 0.3 for one occurrence towards 0.9.
fn confidence(occurrences: u64) -> f32 {
    let n = occurrences as f64;
    let c = 0.3 + 0.6 * n / (n + 10.0);
    ((c * 100.0).round() / 100.0) as f32
}

fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
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
                          misunderstood request, ignored context, repeated question) and proposes \
                          instructions for the topics most often corrected."
                .into(),
            // Everything is counted in `detect`: declaring `analyse` too would only
            // make the host copy every chunk into the sandbox a second time.
            stages: vec![Stage::Detect],
            inputs: Inputs::MESSAGES,
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
                    "max_topic_words",
                    "Distinct topic words remembered per correction kind; the rarest are dropped when full.",
                    DEFAULT_MAX_TOPIC_WORDS.to_string(),
                ),
                spec(
                    "min_occurrences",
                    "Corrected interactions a kind needs before it is reported as a pattern.",
                    DEFAULT_MIN_OCCURRENCES.to_string(),
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(Corrections {
            settings: Settings::from_context(&context)?,
            phrases: phrases(),
            seen: 0,
            corrected: 0,
            kinds: Default::default(),
        })
    }

    fn detect(&mut self, interactions: Vec<Interaction>) -> Result<Vec<InferredFeedback>, String> {
        let mut inferred = Vec::new();
        for interaction in &interactions {
            self.seen += 1;
            let corrections = self.corrections_in(interaction);
            let Some((first, _)) = corrections.first() else {
                continue;
            };
            self.corrected += 1;
            inferred.push(InferredFeedback {
                interaction_id: interaction.id.clone(),
                rating: Rating::Negative,
                reason: first.reason.clone(),
            });
            // Each kind counts once per interaction; topics are the words of
            // every answer corrected with that kind, each word once.
            let mut topics: [Option<BTreeSet<String>>; 4] = Default::default();
            for (correction, answer) in &corrections {
                let kind = correction.kind;
                let slot = &mut topics[kind.index()];
                if slot.is_none() {
                    let stats = &mut self.kinds[kind.index()];
                    stats.interactions += 1;
                    if stats.evidence.len() < MAX_EVIDENCE {
                        stats.evidence.push(interaction.id.clone());
                    }
                    if stats.example.is_none() {
                        stats.example = Some(correction.reason.clone());
                    }
                    *slot = Some(BTreeSet::new());
                }
                if !kind.tracks_topics() {
                    continue;
                }
                if let (Some(words), Some(answer)) = (
                    slot.as_mut(),
                    answer.and_then(|i| interaction.messages.get(i)),
                ) {
                    words.extend(
                        text::content_words(&answer.content)
                            .into_iter()
                            .filter(|w| !w.chars().all(|c| c.is_ascii_digit())),
                    );
                }
            }
            for kind in Kind::ALL {
                if let Some(words) = &topics[kind.index()] {
                    self.record_topics(kind, words);
                }
            }
        }
        Ok(inferred)
    }

    /// Nothing to do: the counts were taken in `detect`, which the host runs on
    /// the same chunk first; counting the inferred feedback here again would
    /// double every correction.
    fn finish(&mut self) -> Result<Findings, String> {
        let mut patterns = Vec::new();
        let mut suggestions = Vec::new();
        let seen = self.seen.max(1) as f64;
        for kind in Kind::ALL {
            let stats = &self.kinds[kind.index()];
            if stats.interactions < self.settings.min_occurrences {
                continue;
            }
            let share = stats.interactions as f64 / seen;
            let topics = if kind.tracks_topics() {
                top_words(&stats.topics, 3)
            } else {
                Vec::new()
            };
            let (title, what) = match kind {
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
            };
            let mut description = format!(
                "In {} of {} interactions ({}) {what}",
                stats.interactions,
                self.seen,
                percent(share)
            );
            if let Some(example) = &stats.example {
                description.push_str(&format!(" (first: {example})"));
            }
            description.push('.');
            if !topics.is_empty() {
                description.push_str(&format!(" Most often about: {}.", topics.join(", ")));
            }
            let key = kind.key().to_string();
            patterns.push(Pattern {
                key: key.clone(),
                title: title.into(),
                description,
                severity: self.severity(share),
                occurrences: saturating_u32(stats.interactions),
                evidence: stats.evidence.clone(),
            });
            let about = if topics.is_empty() {
                String::new()
            } else {
                format!(" about {}", and_list(&topics))
            };
            let instruction = match kind {
                Kind::Contradicted => format!(
                    "Users often correct your answers{about}. Check these facts against the \
                     policies in this prompt before answering, and say so when you are not sure."
                ),
                Kind::Misunderstood => format!(
                    "Users often say you misunderstood their request{about}. Answer exactly what \
                     the user asked, in their terms; if the request could mean two things, ask \
                     one short clarifying question instead of guessing."
                ),
                Kind::IgnoredContext => "Before asking the user for information, re-read the \
                     conversation: never ask again for details the user already gave (order \
                     number, email, product)."
                    .to_string(),
                Kind::RepeatedQuestion => "If the user repeats a question, your previous answer \
                     did not address it: answer the question directly in your first sentence, \
                     without repeating the earlier answer, and ask what is missing if you are \
                     unsure."
                    .to_string(),
            };
            suggestions.push(Suggestion {
                edit: Edit::AppendInstruction(instruction),
                rationale: format!(
                    "{} of {} interactions ({}) show `{key}`.",
                    stats.interactions,
                    self.seen,
                    percent(share)
                ),
                confidence: confidence(stats.interactions),
                addresses: vec![key],
            });
        }
        let rate = if self.seen == 0 {
            0.0
        } else {
            self.corrected as f64 / self.seen as f64
        };
        Ok(Findings {
            patterns,
            suggestions,
            metrics: vec![Metric {
                name: "correction_rate".into(),
                value: rate,
                description:
                    "Share of interactions in which the user corrected the agent at least once."
                        .into(),
            }],
        })
    }
}

reverie_rule_sdk::export_rule!(Corrections);

#[cfg(test)]
mod tests {
    use super::*;
    use reverie_rule_sdk::Message;

    fn context(settings: &[(&str, &str)]) -> CycleContext {
        CycleContext {
            agent_id: "support".into(),
            agent_name: "Support agent".into(),
            system_prompt: "You help customers of a shop.".into(),
            config_version: "v1".into(),
            window_start_ms: None,
            window_end_ms: None,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn rule() -> Corrections {
        match Corrections::new(context(&[])) {
            Ok(rule) => rule,
            Err(e) => panic!("default settings rejected: {e}"),
        }
    }

    /// An interaction from alternating turns, user first.
    fn chat(id: &str, turns: &[&str]) -> Interaction {
        let messages = turns
            .iter()
            .enumerate()
            .map(|(i, content)| Message {
                role: if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                content: content.to_string(),
                tool_call_id: None,
            })
            .collect();
        Interaction {
            id: id.into(),
            session_id: None,
            user_id: None,
            timestamp_ms: 0,
            config_version: Some("v1".into()),
            messages,
            tool_calls: Vec::new(),
            metadata: "{}".into(),
        }
    }

    fn detect(rule: &mut Corrections, interactions: Vec<Interaction>) -> Vec<InferredFeedback> {
        match rule.detect(interactions) {
            Ok(found) => found,
            Err(e) => panic!("detect failed: {e}"),
        }
    }

    fn finish(rule: &mut Corrections) -> Findings {
        match rule.finish() {
            Ok(findings) => findings,
            Err(e) => panic!("finish failed: {e}"),
        }
    }

    /// The kind the rule sees in the user's reply to an answer, if any.
    fn kind_of_reply(reply: &str) -> Option<Kind> {
        let r = rule();
        let interaction = chat(
            "i",
            &["What is your refund window?", "It is 60 days.", reply],
        );
        r.corrections_in(&interaction).first().map(|(c, _)| c.kind)
    }

    #[test]
    fn a_customer_saying_thats_wrong_becomes_negative_feedback_quoting_them() {
        let mut r = rule();
        let found = detect(
            &mut r,
            vec![chat(
                "order-17",
                &[
                    "How long do I have to return shoes?",
                    "You have 60 days to return shoes.",
                    "No, that’s WRONG! It's 30 days.",
                ],
            )],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].interaction_id, "order-17");
        assert_eq!(found[0].rating, Rating::Negative);
        assert_eq!(
            found[0].reason,
            "user said \"that's wrong\": \"No, that’s WRONG! It's 30 days.\""
        );
    }

    #[test]
    fn many_ways_of_correcting_the_agent_are_recognised_by_kind() {
        let cases = [
            ("that's not right", Kind::Contradicted),
            ("Thats incorrect.", Kind::Contradicted),
            ("That is incorrect", Kind::Contradicted),
            ("you're wrong about this", Kind::Contradicted),
            ("Wrong answer.", Kind::Contradicted),
            ("that's not true, it was 30", Kind::Contradicted),
            ("Hmm, not correct.", Kind::Contradicted),
            ("That's not what I asked.", Kind::Misunderstood),
            ("I didn't ask for a discount", Kind::Misunderstood),
            ("not what I meant", Kind::Misunderstood),
            ("You misunderstood me", Kind::Misunderstood),
            (
                "I asked for the blue one, not the red one",
                Kind::Misunderstood,
            ),
            ("Actually, I said Tuesday", Kind::Misunderstood),
            ("I meant the other order", Kind::Misunderstood),
            ("I already told you my order number", Kind::IgnoredContext),
            ("I just said that", Kind::IgnoredContext),
            ("As I said, it's 48213", Kind::IgnoredContext),
            ("I already gave you my email", Kind::IgnoredContext),
            ("I told you already!", Kind::IgnoredContext),
        ];
        for (reply, kind) in cases {
            assert_eq!(kind_of_reply(reply), Some(kind), "reply {reply:?}");
        }
    }

    #[test]
    fn an_x_not_y_correction_quotes_what_the_user_asked_for() {
        let r = rule();
        let interaction = chat(
            "i",
            &[
                "Show me blue shoes",
                "Here are red shoes.",
                "Hmm. I asked for the BLUE ones, not red!",
            ],
        );
        let found = r.corrections_in(&interaction);
        assert_eq!(
            found[0].0.reason,
            "user said \"i asked for the blue ones not red\""
        );
        // The corrected answer is the assistant message just before.
        assert_eq!(found[0].1, Some(1));
    }

    #[test]
    fn polite_noes_and_agreement_are_not_corrections() {
        for reply in [
            "no thanks",
            "No, that's all.",
            "no problem!",
            "That's right, thank you",
            "Great, that is correct.",
            "Something went wrong with my card though",
            "Yes! That's exactly what I meant.",
            "perfect, that is what i asked for",
        ] {
            assert_eq!(kind_of_reply(reply), None, "reply {reply:?}");
        }
    }

    #[test]
    fn a_complaint_before_the_agent_spoke_is_not_a_correction() {
        let mut r = rule();
        let found = detect(
            &mut r,
            vec![chat(
                "i1",
                &[
                    "That's wrong: you charged me twice!",
                    "Sorry, let me check.",
                ],
            )],
        );
        assert!(found.is_empty());
    }

    #[test]
    fn asking_the_same_question_again_after_an_answer_is_a_repeat() {
        let r = rule();
        let repeated = chat(
            "i1",
            &[
                "When will my order 48213 arrive?",
                "Orders usually ship within two days.",
                "when will my order 48213 arrive",
            ],
        );
        let found = r.corrections_in(&repeated);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.kind, Kind::RepeatedQuestion);
        assert!(found[0].0.reason.contains("same question"));

        let new_question = chat(
            "i2",
            &[
                "When will my order 48213 arrive?",
                "It arrives Tuesday.",
                "Can I change the delivery address?",
            ],
        );
        assert!(r.corrections_in(&new_question).is_empty());

        // Two user messages in a row, with no answer between, are not a repeat.
        let mut impatient = chat("i3", &["Where is my parcel today?"]);
        impatient.messages.push(impatient.messages[0].clone());
        assert!(r.corrections_in(&impatient).is_empty());
    }

    #[test]
    fn only_the_first_correction_of_an_interaction_becomes_feedback() {
        let mut r = rule();
        let found = detect(
            &mut r,
            vec![chat(
                "i1",
                &[
                    "What is my order number?",
                    "Could you give me your order number?",
                    "I already told you, 48213",
                    "The refund window is 60 days.",
                    "That's wrong.",
                ],
            )],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].reason,
            "user said \"i already told you\": \"I already told you, 48213\""
        );
        // Both kinds still count for the findings, once each.
        let findings = finish(&mut r);
        let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["corrections/contradicted", "corrections/ignored-context"]
        );
    }

    #[test]
    fn findings_name_the_topics_users_correct_and_propose_an_instruction() {
        let mut r = rule();
        let mut chunk = Vec::new();
        for i in 0..30 {
            chunk.push(chat(
                &format!("bad-{i:02}"),
                &[
                    "Can I return these boots?",
                    "Yes, the refund window for a return is 60 days.",
                    "That's not right, it's 30 days.",
                ],
            ));
        }
        for i in 0..70 {
            chunk.push(chat(
                &format!("ok-{i:02}"),
                &["Hi", "Hello! How can I help?", "No thanks"],
            ));
        }
        let inferred = detect(&mut r, chunk);
        assert_eq!(inferred.len(), 30);
        // analyse must not count them a second time.
        let chunk = reverie_rule_sdk::Chunk {
            interactions: Vec::new(),
            feedback: Vec::new(),
        };
        assert!(r.analyse(chunk).is_ok());

        let findings = finish(&mut r);
        assert_eq!(findings.patterns.len(), 1);
        let pattern = &findings.patterns[0];
        assert_eq!(pattern.key, "corrections/contradicted");
        assert_eq!(pattern.occurrences, 30);
        assert_eq!(pattern.severity, Severity::High);
        assert_eq!(pattern.evidence.len(), MAX_EVIDENCE);
        assert_eq!(pattern.evidence[0], "bad-00");
        assert!(
            pattern
                .description
                .contains("30 of 100 interactions (30.0%)"),
            "{}",
            pattern.description
        );
        assert!(
            pattern
                .description
                .contains("Most often about: days, refund, return."),
            "{}",
            pattern.description
        );

        assert_eq!(findings.suggestions.len(), 1);
        let suggestion = &findings.suggestions[0];
        assert_eq!(suggestion.addresses, ["corrections/contradicted"]);
        match &suggestion.edit {
            Edit::AppendInstruction(text) => assert!(
                text.starts_with("Users often correct your answers about days, refund and return."),
                "{text}"
            ),
            other => panic!("expected an appended instruction, got {other:?}"),
        }
        assert!(suggestion.confidence > 0.6 && suggestion.confidence <= 0.9);

        assert_eq!(findings.metrics.len(), 1);
        assert_eq!(findings.metrics[0].name, "correction_rate");
        assert!((findings.metrics[0].value - 0.3).abs() < 1e-9);
    }

    #[test]
    fn severity_follows_the_share_of_interactions_and_its_settings() {
        let run = |settings: &[(&str, &str)], bad: usize| -> Severity {
            let mut r = match Corrections::new(context(settings)) {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            let mut chunk = Vec::new();
            for i in 0..200 {
                let reply = if i < bad {
                    "you misunderstood"
                } else {
                    "perfect"
                };
                chunk.push(chat(
                    &format!("i{i}"),
                    &["Where is it?", "In the box.", reply],
                ));
            }
            detect(&mut r, chunk);
            finish(&mut r).patterns[0].severity
        };
        assert_eq!(run(&[], 1), Severity::Low); // 0.5%
        assert_eq!(run(&[], 4), Severity::Medium); // 2%
        assert_eq!(run(&[], 10), Severity::High); // 5%
        assert_eq!(run(&[("severity_high_share", "0.5")], 10), Severity::Medium);
    }

    #[test]
    fn a_quiet_window_reports_no_patterns_and_a_zero_rate() {
        let mut r = rule();
        detect(
            &mut r,
            vec![chat("i1", &["Hi", "Hello!", "That's right, thanks"])],
        );
        let findings = finish(&mut r);
        assert!(findings.patterns.is_empty());
        assert!(findings.suggestions.is_empty());
        assert_eq!(findings.metrics[0].value, 0.0);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_setting() {
        for (name, value) in [
            ("severity_high_share", "lots"),
            ("severity_medium_share", "1.5"),
            ("repeat_similarity", "0"),
            ("max_topic_words", "-1"),
            ("min_occurrences", "0"),
        ] {
            match Corrections::new(context(&[(name, value)])) {
                Ok(_) => panic!("{name}={value} was accepted"),
                Err(e) => assert!(e.contains(name), "{e}"),
            }
        }
        let inverted = Corrections::new(context(&[
            ("severity_high_share", "0.01"),
            ("severity_medium_share", "0.02"),
        ]));
        assert!(inverted.is_err());
    }

    #[test]
    fn info_declares_the_detect_stage_and_every_setting_it_reads_with_defaults() {
        let info = Corrections::info();
        assert_eq!(info.name, "corrections");
        assert_eq!(info.stages, [Stage::Detect]);
        let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "severity_high_share",
                "severity_medium_share",
                "repeat_similarity",
                "max_topic_words",
                "min_occurrences"
            ]
        );
        // Every declared default is accepted as a value.
        let defaults: Vec<(String, String)> = info
            .settings
            .iter()
            .map(|s| (s.name.clone(), s.default_value.clone().unwrap_or_default()))
            .collect();
        let pairs: Vec<(&str, &str)> = defaults
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match Corrections::new(context(&pairs)) {
            Ok(r) => assert_eq!(r.settings, rule().settings),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn topic_memory_stays_bounded_however_many_words_are_corrected() {
        let mut r = match Corrections::new(context(&[("max_topic_words", "100")])) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let mut chunk = Vec::new();
        for i in 0..500 {
            let answer = format!("The warranty covers word{i}a word{i}b word{i}c.");
            chunk.push(chat(
                &format!("i{i}"),
                &["Is it covered?", &answer, "that's wrong"],
            ));
        }
        detect(&mut r, chunk);
        let topics = &r.kinds[Kind::Contradicted.index()].topics;
        assert!(topics.len() <= 100, "{} words kept", topics.len());
        // The word in every answer survives the evictions and leads.
        assert_eq!(top_words(topics, 2), ["cover", "warranty"]);
    }

    #[test]
    fn the_same_window_gives_the_same_findings() {
        let run = || {
            let mut r = rule();
            let mut chunk = Vec::new();
            for i in 0..40 {
                let reply = ["that's wrong", "I meant the other one", "as I said, blue"][i % 3];
                let answer = [
                    "Shipping costs 5 euros.",
                    "Express takes two days.",
                    "Size M.",
                ][i % 2];
                chunk.push(chat(&format!("i{i}"), &["Question?", answer, reply]));
            }
            detect(&mut r, chunk);
            format!("{:?}", finish(&mut r))
        };
        assert_eq!(run(), run());
    }
}
