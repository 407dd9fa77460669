//! Recognising a correction: a user message, right after the agent spoke, that
//! says the agent got something wrong.
//!
//! Two sources, tried in a fixed order ([`Recogniser::classify`]):
//!
//! - **Phrases** of an English list: the answer is contradicted ("that's not
//!   right"), the request misunderstood ("that's not what I asked"), context
//!   ignored ("I already told you"). Matched on [`text::normalise`]d text with
//!   apostrophes dropped, at word boundaries, so "thats wrong" and "That’s
//!   WRONG!" both count and "that's right" never does.
//! - **Structure**, with the seven-language tables of [`crate::markers`]:
//!   after a tool call that succeeded and a statement (not a question), a reply
//!   that stops the agent, challenges it or says it did not want this is an
//!   *unwanted action*, and so, past the other signals, is a plain "no"; a reply
//!   that points back at the user's own request and restates a word of it is a
//!   *misunderstood request*; a reply giving a figure in a unit the answer gave
//!   a different figure in (and never the user's) is a *contradiction*; a
//!   short reply that negates a term of the answer or names another in its
//!   place (see [`crate::term`]) is a *misunderstood request* when the user
//!   had asked for the new term before, else a *contradiction*.
//!
//! The phrases of the other six languages ("das stimmt nicht", "no es lo que
//! pregunté", "je l'ai déjà dit") are marker tables, read like the English list.
//!
//! A reply that closes the conversation ("no thanks", "nein danke, das war's")
//! is never a structural correction, and a "no" that answers the agent's
//! question is no rejection. The same question asked again after an answer is a
//! *repeated question*. This module reads one interaction at a time; counting
//! across the window is the rule's.

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::text::{self, WordMap};
use reverie_rule_sdk::{Interaction, Role};

use crate::figure::{self, Stated};
use crate::markers::{self, Words};
use crate::{Kind, anchor, term};

/// A user message is compared with at most this many earlier user messages of
/// the same interaction when looking for a repeated question, so a very long
/// session costs linear, not quadratic, time.
const REPEAT_LOOKBACK: usize = 20;

/// A message needs this many distinct content words to count as a question that
/// can be repeated; below it, "ok thanks" twice would look like a repeat.
const REPEAT_MIN_WORDS: usize = 3;

/// Longest excerpt of a user message quoted in a reason.
const QUOTE_CHARS: usize = 80;

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
    "like i asked",
    "as i asked",
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
    by_first_word: WordMap<Vec<usize>>,
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
    let mut by_first_word: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in list.iter().enumerate() {
        by_first_word.entry(&p.words[0]).or_default().push(i);
    }
    let by_first_word = WordMap::new(by_first_word);
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
    /// What in the conversation showed it.
    pub signal: Signal,
    /// A sentence a person can read, e.g. `user said "that's wrong"`.
    pub reason: String,
}

/// What in the conversation showed a correction: a phrase of the English list,
/// or one of the structural signals. Counted per signal in the run log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    /// A correction phrase ("that's wrong", "I already told you").
    Phrase,
    /// The user restates their earlier request after a statement ("I asked
    /// for waterproof" after asking for waterproof boots).
    RestatedRequest,
    /// The user gives a figure in a unit the agent just gave a different
    /// figure in ("five business days" after "2 business days").
    RestatedFigure,
    /// After a successful tool call, the user stops the agent, challenges it
    /// or says they did not want it ("wait", "why did you", "I didn't ask").
    RejectedAction,
    /// The user negates a term of the answer ("not USD", "nicht in USD").
    NegatedTerm,
    /// The user names another term in place of one the answer gave ("EUR
    /// please", "Dollars again?", "ich sagte Euro").
    ReplacedTerm,
    /// After a successful tool call and a statement, the user says no.
    NegatedAction,
    /// The same question again after an answer.
    Repeat,
}

impl Signal {
    pub const ALL: [Signal; 8] = [
        Signal::Phrase,
        Signal::RestatedRequest,
        Signal::RestatedFigure,
        Signal::NegatedTerm,
        Signal::ReplacedTerm,
        Signal::RejectedAction,
        Signal::NegatedAction,
        Signal::Repeat,
    ];

    /// The signal's name in log fields.
    pub fn field(self) -> &'static str {
        match self {
            Signal::Phrase => "signal_phrase",
            Signal::RestatedRequest => "signal_restated_request",
            Signal::RestatedFigure => "signal_restated_figure",
            Signal::NegatedTerm => "signal_negated_term",
            Signal::ReplacedTerm => "signal_replaced_term",
            Signal::RejectedAction => "signal_rejected_action",
            Signal::NegatedAction => "signal_negated_action",
            Signal::Repeat => "signal_repeat",
        }
    }
}

/// A correction where it was found in its interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub correction: Correction,
    /// Index in `interaction.messages` of the user message that corrects.
    pub message: usize,
    /// Index of the assistant message it corrects: the last one with text
    /// before it (`None` when the agent only made tool calls).
    pub answer: Option<usize>,
}

/// The phrase table and the repeat threshold: what it takes to recognise
/// corrections in an interaction.
pub struct Recogniser {
    phrases: Phrases,
    repeat_similarity: f64,
}

impl Recogniser {
    pub fn new(repeat_similarity: f64) -> Self {
        Recogniser {
            phrases: phrases(),
            repeat_similarity,
        }
    }

    /// Find a correction phrase in one user message.
    pub fn match_phrase(&self, content: &str) -> Option<Correction> {
        let norm = text::normalise(content).replace('\'', "");
        self.match_phrase_in(content, bare_words(&norm))
    }

    /// Find a correction phrase in the words of `content`, [`text::normalise`]d
    /// without apostrophes (the phrases are English: accents are kept).
    fn match_phrase_in(&self, content: &str, mut words: Vec<&str>) -> Option<Correction> {
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
                signal: Signal::Phrase,
                reason: format!("user said \"{}\": \"{}\"", p.display, quoted),
            });
        }
        // "I asked for X, not Y" / "I wanted X not Y".
        let leads: [&[&str]; 3] = [
            &["i", "asked", "for"],
            &["i", "asked", "about"],
            &["i", "wanted"],
        ];
        for lead in leads {
            if let Some(start) = (0..words.len()).find(|&i| starts_with_words(&words[i..], lead))
                && words[start + lead.len()..].contains(&"not")
            {
                let quoted = text::truncate(&words[start..].join(" "), QUOTE_CHARS);
                return Some(Correction {
                    kind: Kind::Misunderstood,
                    signal: Signal::Phrase,
                    reason: format!("user said \"{}\"", quoted.trim()),
                });
            }
        }
        None
    }

    /// Every correction in one interaction, in message order, each with the
    /// index of the assistant message it corrects.
    pub fn corrections_in(&self, interaction: &Interaction) -> Vec<Found> {
        self.corrections_in_normalised(interaction, &normalised_users(interaction))
    }

    /// [`Recogniser::corrections_in`], with the user messages already
    /// normalised (see [`normalised_users`]): each is normalised once, and
    /// read from there for phrases, marker words and repeats.
    pub fn corrections_in_normalised(
        &self,
        interaction: &Interaction,
        normalised: &[String],
    ) -> Vec<Found> {
        let mut found = Vec::new();
        // Last speaker among user/assistant, and the last assistant message with text.
        let mut last_speaker: Option<Role> = None;
        let mut last_answer: Option<usize> = None;
        // Earlier user questions: the message, its content words (sorted, each
        // once; read only when a later reply is compared with it) and whether
        // an answer followed.
        let mut questions: Vec<(usize, Option<Vec<&str>>, bool)> = Vec::new();
        let content = |index: usize| {
            // Grammar words and negations of the seven languages are left out
            // too: "ou não" or "oder nicht" added to a question asks it again.
            let mut words: Vec<&str> =
                text::content_words_of(normalised.get(index).map_or("", String::as_str))
                    .filter(|w| !markers::is_grammar(w))
                    .collect();
            words.sort_unstable();
            words.dedup();
            words
        };
        for (index, message) in interaction.messages.iter().enumerate() {
            match message.role {
                Role::Assistant => {
                    last_speaker = Some(Role::Assistant);
                    if !message.content.trim().is_empty() {
                        last_answer = Some(index);
                        for question in &mut questions {
                            question.2 = true;
                        }
                    }
                }
                Role::User => {
                    let mut words = None;
                    if last_speaker == Some(Role::Assistant) {
                        let turn = Turn {
                            interaction,
                            normalised,
                            answer: last_answer,
                            message: index,
                        };
                        if let Some(correction) = self.classify(&turn) {
                            found.push(Found {
                                correction,
                                message: index,
                                answer: last_answer,
                            });
                        } else if let words = words.insert(content(index))
                            && words.len() >= REPEAT_MIN_WORDS
                            && questions.iter_mut().any(|(at, earlier, answered)| {
                                *answered && {
                                    let earlier = earlier.get_or_insert_with(|| content(*at));
                                    earlier.len() >= REPEAT_MIN_WORDS
                                        && text::jaccard_sorted(earlier, words)
                                            >= self.repeat_similarity
                                }
                            })
                        {
                            let quoted = text::truncate(message.content.trim(), QUOTE_CHARS);
                            found.push(Found {
                                correction: Correction {
                                    kind: Kind::RepeatedQuestion,
                                    signal: Signal::Repeat,
                                    reason: format!(
                                        "user asked the same question again: \"{quoted}\""
                                    ),
                                },
                                message: index,
                                answer: last_answer,
                            });
                        }
                    }
                    last_speaker = Some(Role::User);
                    if questions.len() == REPEAT_LOOKBACK {
                        questions.remove(0);
                    }
                    questions.push((index, words, false));
                }
                Role::System | Role::Tool => {}
            }
        }
        found
    }
}

/// Every user message of an interaction [`text::normalise`]d, by message
/// index (other messages empty): what [`Recogniser::corrections_in_normalised`]
/// and the praise of the last message read.
pub fn normalised_users(interaction: &Interaction) -> Vec<String> {
    interaction
        .messages
        .iter()
        .map(|m| match m.role {
            Role::User => text::normalise(&m.content),
            _ => String::new(),
        })
        .collect()
}

/// The words of normalised text without apostrophes, as the phrases read them.
fn bare_words(bare: &str) -> Vec<&str> {
    bare.split(' ').filter(|w| !w.is_empty()).collect()
}

/// A user message replying to the agent, with what came before it.
struct Turn<'a> {
    interaction: &'a Interaction,
    /// The user messages normalised, by message index.
    normalised: &'a [String],
    /// The last assistant message with text before the reply.
    answer: Option<usize>,
    /// The reply.
    message: usize,
}

/// A word of a restated request must be this long to count: shorter words are
/// mostly function words in one of the seven languages ("para", "dass", "with").
const MIN_RESTATED_CHARS: usize = 5;

impl Turn<'_> {
    fn reply(&self) -> &str {
        &self.interaction.messages[self.message].content
    }

    fn normalised(&self, message: usize) -> &str {
        self.normalised.get(message).map_or("", String::as_str)
    }

    fn answer_text(&self) -> Option<&str> {
        self.answer
            .and_then(|a| self.interaction.messages.get(a))
            .map(|m| m.content.as_str())
    }

    /// The agent's last message before the reply states something: it does
    /// not end with a question, so a "no" answers nothing the agent asked.
    fn after_statement(&self) -> bool {
        self.answer_text()
            .is_some_and(|a| !a.trim_end().ends_with(['?', '？', '¿']))
    }

    /// The tool call of the agent's turn, when it succeeded.
    fn succeeded_call(&self) -> Option<&str> {
        let call = anchor::relied_on(self.interaction, self.answer?)?;
        call.error.is_none().then_some(call.name.as_str())
    }

    /// Words of the user's earlier messages that a restatement can repeat.
    fn earlier_request_words(&self) -> BTreeSet<String> {
        let mut earlier = BTreeSet::new();
        for (index, m) in self.interaction.messages[..self.message].iter().enumerate() {
            if m.role == Role::User {
                let words = Words::of_normalised(self.normalised(index));
                earlier.extend(
                    words
                        .iter()
                        .filter(|w| restatable(w))
                        .map(|w| text::stem_of(w).to_string()),
                );
            }
        }
        earlier
    }
}

/// A word that can carry a requirement: a number, or a word long enough not
/// to be a function word and not an English stopword.
fn restatable(word: &str) -> bool {
    let digits = word.chars().all(|c| c.is_ascii_digit());
    (digits && word.len() >= 2)
        || (!digits && word.chars().count() >= MIN_RESTATED_CHARS && !text::is_stopword(word))
}

/// A figure of the reply with a unit word, that the answer gave as a
/// different number in the same unit, and never as the user's number.
fn restated_figure<'a>(reply: &'a [Stated], answer: &[Stated]) -> Option<&'a Stated> {
    reply.iter().filter(|u| u.has_unit_word()).find(|user| {
        let same_unit: Vec<&Stated> = answer
            .iter()
            .filter(|a| figure::same_unit(user, a))
            .collect();
        same_unit.iter().any(|a| a.number != user.number)
            && same_unit.iter().all(|a| a.number != user.number)
    })
}

fn quoted(content: &str) -> String {
    text::truncate(content.trim(), QUOTE_CHARS)
}

impl Recogniser {
    /// What a reply to the agent is, if it corrects it. The signals, in order:
    /// a phrase saying the user already gave the information; the rejection of
    /// a successful tool call the agent just made (see
    /// [`Words::rejects_action`]); the other phrases; a restated request; a
    /// restated figure; a plain "no" to a successful call. A closing ("no
    /// thanks") is never one of the structural signals.
    fn classify(&self, turn: &Turn) -> Option<Correction> {
        let reply = turn.reply();
        let normalised = turn.normalised(turn.message);
        let words = Words::of_normalised(normalised);
        // The phrases are matched with accents kept: for an ASCII message
        // (most) that is the marker tables' words, read once for both.
        let unfolded;
        let phrase_words = if normalised.is_ascii() {
            words.as_slice()
        } else {
            unfolded = normalised.replace('\'', "");
            bare_words(&unfolded)
        };
        let phrase = self.match_phrase_in(reply, phrase_words).or_else(|| {
            words.correction_phrase().map(|(kind, display)| Correction {
                kind,
                signal: Signal::Phrase,
                reason: format!("user said \"{display}\": \"{}\"", quoted(reply)),
            })
        });
        if let Some(found) = phrase.as_ref().filter(|c| c.kind == Kind::IgnoredContext) {
            return Some(found.clone());
        }
        if words.closes() {
            return phrase;
        }
        let statement = turn.after_statement();
        let acted = turn.succeeded_call().filter(|_| statement);
        if let Some(tool) = acted
            && words.rejects_action()
        {
            return Some(Correction {
                kind: Kind::UnwantedAction,
                signal: Signal::RejectedAction,
                reason: format!("user rejected what `{tool}` did: \"{}\"", quoted(reply)),
            });
        }
        if phrase.is_some() {
            return phrase;
        }
        if statement && let Some(after) = words.after_back_reference() {
            let earlier = turn.earlier_request_words();
            if after
                .iter()
                .any(|w| restatable(w) && earlier.contains(&text::stem(w)))
            {
                return Some(Correction {
                    kind: Kind::Misunderstood,
                    signal: Signal::RestatedRequest,
                    reason: format!("user restated their request: \"{}\"", quoted(reply)),
                });
            }
        }
        // The agent's answer is long and most replies state no figure: read
        // the answer's figures only for a reply that gives one with a unit.
        let given = figure::stated(reply);
        if given.iter().any(Stated::has_unit_word)
            && let Some(answer) = turn.answer_text()
            && let Some(user) = restated_figure(&given, &figure::stated(answer))
            && !term::asks_open(answer)
        {
            return Some(Correction {
                kind: Kind::Contradicted,
                signal: Signal::RestatedFigure,
                reason: format!(
                    "user restated a figure ({}): \"{}\"",
                    user.text,
                    quoted(reply)
                ),
            });
        }
        if let Some(found) = self.replaced_term(turn, &words) {
            return Some(found);
        }
        if let Some(tool) = acted
            && words.negates()
        {
            return Some(Correction {
                kind: Kind::UnwantedAction,
                signal: Signal::NegatedAction,
                reason: format!("user said no to what `{tool}` did: \"{}\"", quoted(reply)),
            });
        }
        None
    }

    /// A term of the answer negated or replaced (see [`term`]): contradicted,
    /// or a misunderstood request when the user had asked for the new term
    /// before. Read only for a short reply with a marker word, or a fragment.
    fn replaced_term(&self, turn: &Turn, words: &Words) -> Option<Correction> {
        // Most replies fail one of these word-table checks, and cost no
        // reading of the answer.
        if words.len() > term::MAX_REPLY_WORDS
            || !(words.may_replace() || words.len() <= term::FRAGMENT_MAX_WORDS)
            || !words.names_term()
        {
            return None;
        }
        let reply = turn.reply();
        let earlier = turn.interaction.messages[..turn.message]
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == Role::User)
            .map(|(index, _)| turn.normalised(index));
        let found = term::replaced(reply, words, turn.answer_text()?, earlier)?;
        let kind = if found.restates {
            Kind::Misunderstood
        } else {
            Kind::Contradicted
        };
        let (signal, what) = match found.shape {
            term::Shape::Negated => (Signal::NegatedTerm, "negated"),
            _ => (Signal::ReplacedTerm, "replaced"),
        };
        Some(Correction {
            kind,
            signal,
            reason: format!(
                "user {what} a term of the answer ({}): \"{}\"",
                found.term,
                quoted(reply)
            ),
        })
    }
}
