//! The agent's own figures checked against its prompt: a contradiction that
//! needs no user to notice it.
//!
//! Many users take a wrong figure on trust ("ok cool") and complain later, if
//! at all; the conversation then holds no correction. What it does hold is
//! the agent stating a figure that a sentence of its own prompt states
//! differently. A sentence of an agent's message contradicts a prompt sentence
//! when, for a figure it states (number and unit, see [`figure`]):
//!
//! - the prompt sentence states a different number in the same unit
//!   ([`figure::same_unit`]);
//! - no prompt sentence states that number in that unit (a prompt giving "5
//!   business days" for one thing and "3 business days" for another makes
//!   neither figure wrong where the agent says the other);
//! - the two sentences share at least [`MIN_SHARED_WORDS`] content words: not
//!   grammar words of any of seven languages ([`markers::is_function_word`]),
//!   not units, not numbers; compared by their stem ("approved" and
//!   "approval", "Tagen" and "Tage"), so "step 2 of 5" or a ticket number is
//!   never tied to a policy.
//!
//! The words are compared within the agent's sentence that states the figure,
//! not its whole message: a message may quote a policy in one sentence and an
//! unrelated count in the next. Nothing here knows a domain's words; the prompt
//! brings them. Memory is bounded: per prompt sentence a counter, at most
//! [`MAX_EVIDENCE`] interaction ids and [`MAX_VALUES`] wrong figures.

use std::collections::{BTreeMap, HashMap};

use reverie_rule_sdk::{Interaction, Role, text};

use crate::MAX_EVIDENCE;
use crate::anchor::{MAX_VALUES, PromptFacts};
use crate::figure::{self, Stated};
use crate::markers;

/// Content words an agent's sentence must share with a prompt sentence before
/// a figure of one is held against the other: one shared word ("ticket") ties
/// too many sentences together, two ("laptops ship") rarely tie unrelated ones.
pub const MIN_SHARED_WORDS: usize = 2;

/// A word shorter than this is not a content word: what is left of a
/// contraction ("s", "t") or an abbreviation that says little.
const MIN_WORD_CHARS: usize = 3;

/// Two words agree when one begins with the other and the shorter has at least
/// this many letters ("ship", "ships", "shipping")...
const MIN_PREFIX_CHARS: usize = 4;

/// ...or when they share a stem of at least this many letters ("approv" in
/// "approved" and "approval", "genehmig" in "genehmigt" and "Genehmigung").
const SHARED_STEM_CHARS: usize = 5;

/// Letters of a unit word that any unit word agreeing with it begins with
/// (see [`figure::same_unit`]: equal, or sharing 4 letters, or one a 3-letter
/// start of the other).
const UNIT_HEAD_CHARS: usize = 3;

/// A prompt sentence whose figures can be contradicted.
struct Sentence {
    /// Index in [`PromptFacts`], so fixes quote it as the other anchors do.
    index: usize,
    facts: Vec<Stated>,
    words: Vec<String>,
}

/// The live prompt's figures, ready to be checked against the agent's.
pub struct PromptCheck {
    sentences: Vec<Sentence>,
    /// The first letters of every unit word of the prompt's figures, and its
    /// unit signs: a message holding none of them can state no figure in a
    /// prompt unit, and is not read further.
    unit_heads: Vec<String>,
    unit_signs: Vec<char>,
    /// The same for ASCII text, by byte: the letters (either case) a head
    /// begins with, and the signs, with letters, digits and non-ASCII bytes.
    /// What each byte is to [`PromptCheck::may_state_unit_ascii`]: the
    /// `BYTE_*` flags, so the test reads one table entry per byte.
    byte_class: [u8; 256],
    /// Sentences of the agent already checked: how many of their figures were
    /// compared, and what they contradicted. Agents repeat their sentences (a
    /// policy worded the same way in every conversation about it), and
    /// checking one costs far more than looking it up. At most
    /// [`MEMO_SENTENCES`], cleared when full.
    memo: HashMap<String, (u64, Vec<Contradiction>)>,
}

/// The flags of [`PromptCheck`]'s byte table: an ASCII letter, one a unit
/// word of the prompt begins with, an ASCII digit, a unit sign of the prompt,
/// a byte of a character beyond ASCII.
const BYTE_LETTER: u8 = 1;
const BYTE_HEAD: u8 = 2;
const BYTE_DIGIT: u8 = 4;
const BYTE_SIGN: u8 = 8;
const BYTE_NON_ASCII: u8 = 16;

/// Sentences [`PromptCheck`] remembers (about 300 KB at most). Four times as
/// many saved 2% of the rule's time on generated logs and cost 450 KB more.
const MEMO_SENTENCES: usize = 1024;

/// Sentences longer than this are checked but not remembered.
const MEMO_SENTENCE_BYTES: usize = 240;

/// A figure of the agent that a prompt sentence contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    /// Index of the prompt sentence, in [`PromptFacts::sentence`].
    pub sentence: usize,
    /// The agent's figure, as it wrote it (`"2 business days"`).
    pub wrong: String,
}

/// What the checks looked at, for the run log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckCounts {
    /// Messages of the agent read.
    pub messages: u64,
    /// Figures of the agent given in a unit some prompt figure is given in.
    pub figures: u64,
}

impl PromptCheck {
    pub fn new(prompt: &PromptFacts) -> Self {
        let sentences = prompt
            .iter()
            .filter_map(|(index, sentence, facts)| {
                let facts: Vec<Stated> = facts.iter().filter(|f| has_unit(f)).cloned().collect();
                (!facts.is_empty()).then(|| Sentence {
                    index,
                    words: content_words(sentence, &facts),
                    facts,
                })
            })
            .collect::<Vec<Sentence>>();
        let mut unit_heads: Vec<String> = Vec::new();
        let mut unit_signs = Vec::new();
        for unit in sentences
            .iter()
            .flat_map(|s| &s.facts)
            .flat_map(|f| &f.units)
        {
            if unit.chars().all(char::is_alphabetic) {
                unit_heads.push(unit.chars().take(UNIT_HEAD_CHARS).collect());
            } else {
                unit_signs.extend(unit.chars());
            }
        }
        unit_heads.sort_unstable();
        unit_heads.dedup();
        unit_signs.sort_unstable();
        unit_signs.dedup();
        let mut byte_class = [0u8; 256];
        for byte in 0..=255u8 {
            let class = &mut byte_class[usize::from(byte)];
            if !byte.is_ascii() {
                *class |= BYTE_NON_ASCII;
            } else if byte.is_ascii_alphabetic() {
                *class |= BYTE_LETTER;
            } else if byte.is_ascii_digit() {
                *class |= BYTE_DIGIT;
            }
        }
        for head in &unit_heads {
            match head.bytes().next() {
                // An empty head begins every word.
                None => {
                    for byte in (b'a'..=b'z').chain(b'A'..=b'Z') {
                        byte_class[usize::from(byte)] |= BYTE_HEAD;
                    }
                }
                Some(first) if first.is_ascii() => {
                    byte_class[usize::from(first.to_ascii_lowercase())] |= BYTE_HEAD;
                    byte_class[usize::from(first.to_ascii_uppercase())] |= BYTE_HEAD;
                }
                Some(_) => {}
            }
        }
        for sign in unit_signs.iter().filter(|c| c.is_ascii()) {
            byte_class[*sign as usize] |= BYTE_SIGN;
        }
        PromptCheck {
            sentences,
            unit_heads,
            unit_signs,
            byte_class,
            memo: HashMap::new(),
        }
    }

    /// Whether a text may state a figure in one of the prompt's units: a sign
    /// of theirs and a digit, or a word beginning as one of their words begins
    /// (units that agree share at least [`UNIT_HEAD_CHARS`] letters, see
    /// [`figure::same_unit`]) right after a number, or after a number and one
    /// word ("5 working days"). Most sentences of most agents state no such
    /// figure, and reading figures costs far more than this test, which reads
    /// the text once and looks closer only where a word starts as a unit does.
    /// A text with letters beyond ASCII is folded first, as units are.
    fn may_state_unit(&self, text: &str) -> bool {
        if let Some(may) = self.may_state_unit_ascii(text) {
            return may;
        }
        if self.unit_signs.iter().any(|sign| text.contains(*sign))
            && text.chars().any(char::is_numeric)
        {
            return true;
        }
        if text.chars().any(|c| !c.is_ascii() && c.is_alphabetic()) {
            let folded = text::fold_diacritics(&text.to_lowercase());
            return unit_after_number(&folded, &self.unit_heads);
        }
        unit_after_number(text, &self.unit_heads)
    }

    /// [`PromptCheck::may_state_unit`] of ASCII text (most agents' messages),
    /// in one pass over its bytes: a sign and a digit anywhere, or a word
    /// beginning as a unit does right after a number. Only a word whose first
    /// letter begins some unit is looked at closer. `None` when the text is
    /// not all ASCII: it is then folded first.
    fn may_state_unit_ascii(&self, text: &str) -> Option<bool> {
        let bytes = text.as_bytes();
        let (mut seen, mut after_letter) = (0u8, false);
        for (at, &byte) in bytes.iter().enumerate() {
            let class = self.byte_class[usize::from(byte)];
            if class & (BYTE_HEAD | BYTE_NON_ASCII) != 0 {
                if class & BYTE_NON_ASCII != 0 {
                    return None;
                }
                if !after_letter {
                    let rest = &bytes[at..];
                    let starts = self.unit_heads.iter().any(|head| {
                        rest.get(..head.len())
                            .is_some_and(|start| start.eq_ignore_ascii_case(head.as_bytes()))
                    });
                    if starts && number_before(&text[..at]) {
                        return rest.is_ascii().then_some(true);
                    }
                }
            }
            seen |= class;
            after_letter = class & BYTE_LETTER != 0;
        }
        Some(seen & BYTE_SIGN != 0 && seen & BYTE_DIGIT != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// The prompt sentences the agent's messages in an interaction contradict,
    /// each once, with the first figure that did.
    pub fn in_interaction(
        &mut self,
        interaction: &Interaction,
        counts: &mut CheckCounts,
    ) -> Vec<Contradiction> {
        let mut found: Vec<Contradiction> = Vec::new();
        if self.is_empty() {
            return found;
        }
        for message in &interaction.messages {
            if message.role != Role::Assistant || message.content.is_empty() {
                continue;
            }
            for c in self.in_message(&message.content, counts) {
                if !found.iter().any(|f| f.sentence == c.sentence) {
                    found.push(c);
                }
            }
        }
        found
    }

    /// The prompt sentences one message of the agent contradicts.
    pub fn in_message(&mut self, message: &str, counts: &mut CheckCounts) -> Vec<Contradiction> {
        counts.messages += 1;
        let mut found: Vec<Contradiction> = Vec::new();
        if !self.may_state_unit(message) {
            return found;
        }
        for part in text::sentences(message) {
            // Most sentences of a message that states a figure state none:
            // they are neither checked nor remembered.
            if !self.may_state_unit(part) {
                continue;
            }
            let (compared, contradicted) = match self.memo.get(part) {
                Some(known) => known.clone(),
                None => {
                    let checked = self.in_sentence(part);
                    if part.len() <= MEMO_SENTENCE_BYTES {
                        if self.memo.len() >= MEMO_SENTENCES {
                            self.memo.clear();
                        }
                        self.memo.insert(part.to_string(), checked.clone());
                    }
                    checked
                }
            };
            counts.figures += compared;
            for c in contradicted {
                if !found.iter().any(|f| f.sentence == c.sentence) {
                    found.push(c);
                }
            }
        }
        found
    }

    /// One sentence of the agent that may state a figure in a prompt unit
    /// ([`PromptCheck::may_state_unit`]): how many of its figures were
    /// compared with the prompt's, and the prompt sentences it contradicts.
    fn in_sentence(&self, part: &str) -> (u64, Vec<Contradiction>) {
        let mut found: Vec<Contradiction> = Vec::new();
        let mut compared_figures = 0;
        {
            let figures: Vec<Stated> = figure::stated(part).into_iter().filter(has_unit).collect();
            // The sentence's words are read only once a figure could be wrong.
            let mut words: Option<Vec<String>> = None;
            for stated in &figures {
                let mut compared = false;
                let mut confirmed = false;
                // Prompt sentences giving another number in this unit, with the fact.
                let mut differing: Vec<(&Sentence, &Stated)> = Vec::new();
                for sentence in &self.sentences {
                    for fact in sentence
                        .facts
                        .iter()
                        .filter(|f| figure::same_unit(stated, f))
                    {
                        compared = true;
                        if fact.number == stated.number {
                            confirmed = true;
                        } else if differing
                            .last()
                            .is_none_or(|(s, _)| s.index != sentence.index)
                        {
                            differing.push((sentence, fact));
                        }
                    }
                }
                if compared {
                    compared_figures += 1;
                }
                if confirmed || differing.is_empty() {
                    continue;
                }
                let words = words.get_or_insert_with(|| content_words(part, &figures));
                let mut best: Option<(usize, &Sentence, &Stated)> = None;
                for (sentence, fact) in differing {
                    let shared = shared_words(&sentence.words, words);
                    if shared >= MIN_SHARED_WORDS && best.is_none_or(|(b, _, _)| shared > b) {
                        best = Some((shared, sentence, fact));
                    }
                }
                if let Some((_, sentence, fact)) = best
                    && !found
                        .iter()
                        .any(|c: &Contradiction| c.sentence == sentence.index)
                {
                    found.push(Contradiction {
                        sentence: sentence.index,
                        wrong: stated.shown_like(fact).to_string(),
                    });
                }
            }
        }
        (compared_figures, found)
    }
}

/// Whether one of `heads` (lowercase) starts a word of `text`, in any case,
/// that follows a number as [`figure::stated`] reads units: right after it
/// ("14days", "14 days", "five days"), or after it and one word ("5 working
/// days"). One pass over the text, looking closer only at word starts.
fn unit_after_number(text: &str, heads: &[String]) -> bool {
    let mut after_letter = false;
    for (at, c) in text.char_indices() {
        let letter = c.is_alphabetic();
        if letter && !after_letter {
            let rest = &text[at..];
            let starts = heads.iter().any(|head| {
                rest.get(..head.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(head))
            });
            if starts && number_before(&text[..at]) {
                return true;
            }
        }
        after_letter = letter;
    }
    false
}

/// Whether a number ends `before`, past at most one space and one word.
fn number_before(before: &str) -> bool {
    let mut rest = before;
    for _ in 0..2 {
        rest = rest.strip_suffix([' ', '\u{a0}']).unwrap_or(rest);
        if rest.ends_with(char::is_numeric) {
            return true;
        }
        let start = rest.trim_end_matches(char::is_alphabetic);
        let word = &rest[start.len()..];
        if word.is_empty() {
            return false;
        }
        if figure::number_value(word).is_some() {
            return true;
        }
        rest = start;
    }
    false
}

/// Whether a figure has a unit to compare: a sign, or a word that is not a
/// grammar word ("2 of 5" counts nothing).
fn has_unit(figure: &Stated) -> bool {
    figure
        .units
        .first()
        .is_some_and(|u| !u.chars().all(char::is_alphabetic) || !markers::is_function_word(u))
}

/// The content words of a sentence: folded, without grammar words, units of
/// its figures, numbers or number words; each once.
fn content_words(sentence: &str, figures: &[Stated]) -> Vec<String> {
    let normalised = text::normalise(sentence);
    let folded = if normalised.is_ascii() {
        normalised
    } else {
        text::fold_diacritics(&normalised)
    };
    let mut words: Vec<String> = Vec::new();
    for raw in folded.split(' ') {
        // Written as `markers::Words::of` writes words: without apostrophes.
        let word = if raw.contains('\'') {
            raw.replace('\'', "")
        } else {
            raw.to_string()
        };
        let content = word.chars().nth(MIN_WORD_CHARS - 1).is_some()
            && word.chars().any(char::is_alphabetic)
            && !markers::is_function_word(&word)
            && figure::number_value(&word).is_none()
            && !figures.iter().any(|f| f.units.contains(&word));
        if content {
            words.push(word);
        }
    }
    words.sort_unstable();
    words.dedup();
    words
}

/// How many words the two sentences share: the words of each side that agree
/// with one of the other's, counted on the side with fewer, so one word of the
/// agent ("ship") agreeing with two of the prompt ("ship", "shipping") counts
/// once.
fn shared_words(prompt: &[String], agent: &[String]) -> usize {
    let matched = |from: &[String], to: &[String]| {
        from.iter()
            .filter(|w| to.iter().any(|o| words_agree(w, o)))
            .count()
    };
    matched(prompt, agent).min(matched(agent, prompt))
}

fn words_agree(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (shorter, shared) = if a.is_ascii() && b.is_ascii() {
        let shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        (a.len().min(b.len()), shared)
    } else {
        let shared = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        (a.chars().count().min(b.chars().count()), shared)
    };
    (shared == shorter && shorter >= MIN_PREFIX_CHARS) || shared >= SHARED_STEM_CHARS
}

/// How many interactions contradicted each prompt sentence, and which.
#[derive(Default)]
pub struct ContradictionTally {
    sentences: BTreeMap<usize, SentenceTally>,
}

#[derive(Default)]
struct SentenceTally {
    interactions: u64,
    evidence: Vec<String>,
    /// Figure, lowercase → (interactions, as first written).
    wrong: BTreeMap<String, (u64, String)>,
}

/// One prompt sentence the agent contradicted, for a pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Contradicted {
    pub sentence: usize,
    pub interactions: u64,
    /// The interactions, in the order seen, at most [`MAX_EVIDENCE`].
    pub evidence: Vec<String>,
    /// The figure the agent gave most often instead, as it wrote it.
    pub wrong: String,
}

impl ContradictionTally {
    /// Count an interaction's contradictions (one per sentence, as
    /// [`PromptCheck::in_interaction`] gives them).
    pub fn record(&mut self, interaction_id: &str, found: Vec<Contradiction>) {
        for c in found {
            let tally = self.sentences.entry(c.sentence).or_default();
            tally.interactions += 1;
            if tally.evidence.len() < MAX_EVIDENCE {
                tally.evidence.push(interaction_id.to_string());
            }
            let key = c.wrong.to_lowercase();
            if let Some((n, _)) = tally.wrong.get_mut(&key) {
                *n += 1;
            } else if tally.wrong.len() < MAX_VALUES {
                tally.wrong.insert(key, (1, c.wrong));
            }
        }
    }

    /// Every contradicted sentence, most interactions first (ties in prompt order).
    pub fn ranked(&self) -> Vec<Contradicted> {
        let mut ranked: Vec<Contradicted> = self
            .sentences
            .iter()
            .map(|(sentence, tally)| {
                let mut top: Option<&(u64, String)> = None;
                for candidate in tally.wrong.values() {
                    if top.is_none_or(|t| candidate.0 > t.0) {
                        top = Some(candidate);
                    }
                }
                Contradicted {
                    sentence: *sentence,
                    interactions: tally.interactions,
                    evidence: tally.evidence.clone(),
                    wrong: top.map(|(_, w)| w.clone()).unwrap_or_default(),
                }
            })
            .collect();
        ranked.sort_by_key(|c| std::cmp::Reverse(c.interactions));
        ranked
    }
}

/// A short name of a prompt sentence for a pattern key: stable while the
/// sentence is, whatever else the prompt gains or loses (FNV-1a over its
/// normalised words).
pub fn sentence_key(sentence: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text::normalise(sentence).bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP_DESK: &str = "You are the IT help desk.\n\
        - Replacement laptops ship within 5 business days of the manager's approval.\n\
        - Accessories need no approval and reach the office IT desk within 3 business days.\n\
        - Tickets: P1 is answered within 1 hour, P2 within 4 business hours, P3 tickets within 3 business days.";

    fn check(prompt: &str, message: &str) -> Vec<(String, String)> {
        let facts = PromptFacts::new(prompt);
        let mut check = PromptCheck::new(&facts);
        let mut counts = CheckCounts::default();
        check
            .in_message(message, &mut counts)
            .into_iter()
            .map(|c| {
                (
                    facts.sentence(c.sentence).unwrap_or("?").to_string(),
                    c.wrong,
                )
            })
            .collect()
    }

    #[test]
    fn a_wrong_figure_is_held_against_the_sentence_on_its_topic() {
        let found = check(
            HELP_DESK,
            "Order HW-41184 is with your manager for approval. Once it's approved it ships \
             within 2 business days.",
        );
        assert_eq!(
            found,
            [(
                "Replacement laptops ship within 5 business days of the manager's approval."
                    .to_string(),
                "2 business days".to_string()
            )]
        );
        // In words, and with the unit said differently.
        let found = check(
            HELP_DESK,
            "Your replacement laptop should arrive within two working days of approval.",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "two working days");
    }

    #[test]
    fn figures_the_prompt_gives_for_something_else_are_not_wrong() {
        for correct in [
            "Replacement laptops ship within 5 business days of your manager's approval.",
            "Accessories need no approval: your dock reaches the office IT desk within 3 business days.",
            "I've logged it as P3; P3 tickets are answered within 3 business days.",
            "P2 tickets are answered within 4 business hours.",
            // The accessory figure said about a laptop is wrong, but the prompt
            // states it, so it is not held against the agent.
            "Your laptop ships within 3 business days of approval.",
        ] {
            assert_eq!(check(HELP_DESK, correct), [], "{correct}");
        }
        for unrelated in [
            "Your ticket is INC-204331; I'll update you within the day.",
            "This is step 2 of 5: open Settings and choose Accounts.",
            "Your laptop order HW-3321 has 2 items.",
            "We lend you a laptop the same day; 40 people borrowed one last month.",
        ] {
            assert_eq!(check(HELP_DESK, unrelated), [], "{unrelated}");
        }
    }

    #[test]
    fn a_german_agent_is_checked_against_its_german_prompt() {
        let prompt = "Du bist der IT-Helpdesk.\n\
            - Ersatzlaptops werden innerhalb von 5 Werktagen nach der Genehmigung des Vorgesetzten verschickt.\n\
            - Zubehör braucht keine Genehmigung und ist innerhalb von 3 Werktagen am IT-Schalter.\n\
            - P3-Tickets werden innerhalb von 3 Werktagen beantwortet.";
        let found = check(
            prompt,
            "Ihr Ersatzlaptop wird innerhalb von 2 Werktagen nach der Genehmigung verschickt.",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.starts_with("Ersatzlaptops werden"));
        assert_eq!(found[0].1, "2 Werktagen");
        // Letters beyond ASCII only after the figure, or only in its unit:
        // the sentence is read as any other.
        for wrong in [
            "Ihr Ersatzlaptop wird innerhalb von 2 Werktagen nach der Genehmigung verschickt, schöne Grüße.",
            "Ersatzlaptops: nach der Genehmigung in zwei Werktagen verschickt, für alle.",
        ] {
            let found = check(prompt, wrong);
            assert_eq!(found.len(), 1, "{wrong}: {found:?}");
            assert!(found[0].0.starts_with("Ersatzlaptops werden"), "{wrong}");
        }
        for fine in [
            "Ihr Ersatzlaptop wird innerhalb von fünf Werktagen nach der Genehmigung verschickt.",
            "Das Zubehör ist innerhalb von 3 Werktagen am IT-Schalter, ohne Genehmigung.",
            "Ihr Ticket INC-204331 ist angelegt; P3-Tickets beantworten wir innerhalb von 3 Werktagen.",
            "Das ist Schritt 2 von 5: Öffnen Sie die Einstellungen.",
        ] {
            assert_eq!(check(prompt, fine), [], "{fine}");
        }
    }

    #[test]
    fn interactions_are_counted_once_per_sentence_with_the_commonest_figure() {
        let facts = PromptFacts::new(HELP_DESK);
        let mut check = PromptCheck::new(&facts);
        let mut counts = CheckCounts::default();
        let mut tally = ContradictionTally::default();
        for (id, answers) in [
            (
                "a",
                &[
                    "Laptops ship within 2 business days of approval.",
                    "Yes, laptops ship within 2 business days after approval.",
                ][..],
            ),
            (
                "b",
                &["Replacement laptops ship within 2 business days."][..],
            ),
            (
                "c",
                &["Replacement laptops ship within 7 business days."][..],
            ),
            (
                "d",
                &["Replacement laptops ship within 5 business days."][..],
            ),
        ] {
            let interaction = Interaction {
                id: id.into(),
                session_id: None,
                user_id: None,
                timestamp_ms: 0,
                config_version: None,
                messages: answers
                    .iter()
                    .map(|a| reverie_rule_sdk::Message {
                        role: Role::Assistant,
                        content: a.to_string(),
                        tool_call_id: None,
                    })
                    .collect(),
                tool_calls: Vec::new(),
                metadata: "{}".into(),
            };
            let found = check.in_interaction(&interaction, &mut counts);
            tally.record(id, found);
        }
        assert_eq!(counts.messages, 5);
        assert_eq!(counts.figures, 5);
        let ranked = tally.ranked();
        assert_eq!(ranked.len(), 1);
        assert_eq!(ranked[0].interactions, 3);
        assert_eq!(ranked[0].evidence, ["a", "b", "c"]);
        assert_eq!(ranked[0].wrong, "2 business days");
    }

    #[test]
    fn one_word_of_the_agent_counts_once_however_many_prompt_words_it_agrees_with() {
        let prompt = "Standard shipping takes 3-5 business days, and orders placed before 2 pm ship the same day.";
        assert_eq!(
            check(
                prompt,
                "It should ship within 1-2 business days, and you'll get an email."
            ),
            []
        );
        assert_eq!(
            check(prompt, "Standard shipping takes 2 business days.").len(),
            1
        );
    }

    #[test]
    fn the_quick_test_lets_through_every_figure_in_a_prompt_unit() {
        let facts = PromptFacts::new(
            "Laptops ship within 5 business days. Docks cost $40. Codes last 10 min. Zubehör kommt in 3 Werktagen.",
        );
        let check = PromptCheck::new(&facts);
        for sentence in [
            "It ships in 2 business days.",
            "It ships in two working days.",
            "It ships in (7 days), really.",
            "It ships in 14days.",
            "A dock is $35 now.",
            "The code lasts 15 min.",
            "Es kommt in drei Werktagen.",
            "Es kommt nach fünf Werktagen.",
        ] {
            let in_unit = figure::stated(sentence).iter().any(|stated| {
                facts
                    .iter()
                    .any(|(_, _, fs)| fs.iter().any(|f| figure::same_unit(stated, f)))
            });
            assert!(in_unit, "{sentence}: no figure in a prompt unit");
            assert!(check.may_state_unit(sentence), "{sentence}");
        }
        for sentence in [
            "Your order HW-4411 was approved on Monday.",
            "Business hours are posted on the portal.",
            "Step 2 of 5.",
        ] {
            assert!(!check.may_state_unit(sentence), "{sentence}");
        }
    }

    #[test]
    fn a_sentence_keeps_its_key_when_the_prompt_around_it_changes() {
        let key = sentence_key("Laptops ship within 5 business days.");
        assert_eq!(key, sentence_key("laptops ship within 5 business days"));
        assert_ne!(key, sentence_key("Laptops ship within 6 business days."));
        assert_eq!(key.len(), 8);
    }
}
