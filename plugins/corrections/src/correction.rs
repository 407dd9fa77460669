//! Recognising a correction: a user message, right after the agent spoke, that
//! says the agent got something wrong.
//!
//! A correction contradicts the answer ("that's not right"), says the agent
//! misunderstood ("that's not what I asked"), says it ignored what the user
//! already gave ("I already told you"), or asks the same question again after
//! an answer. Phrases are matched on [`text::normalise`]d text with apostrophes
//! dropped, so "thats wrong" and "That’s WRONG!" both count, at word boundaries,
//! so "no thanks" and "that's right" never do. This module only reads one
//! interaction at a time; counting across the window is the rule's.

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::{Interaction, Role, text};

use crate::Kind;

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
    pub fn corrections_in(&self, interaction: &Interaction) -> Vec<Found> {
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
                            found.push(Found {
                                correction,
                                message: index,
                                answer: last_answer,
                            });
                        } else if words.len() >= REPEAT_MIN_WORDS
                            && questions.iter().any(|(earlier, answered)| {
                                *answered
                                    && earlier.len() >= REPEAT_MIN_WORDS
                                    && jaccard(earlier, &words) >= self.repeat_similarity
                            })
                        {
                            let quoted = text::truncate(message.content.trim(), QUOTE_CHARS);
                            found.push(Found {
                                correction: Correction {
                                    kind: Kind::RepeatedQuestion,
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
                    questions.push((words, false));
                }
                Role::System | Role::Tool => {}
            }
        }
        found
    }
}

/// Jaccard similarity of two word sets.
fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    text::jaccard(&a, &b)
}
