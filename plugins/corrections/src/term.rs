//! A term of the agent's answer that the user negates or replaces: "not USD",
//! "nicht in USD", "no en dólares"; "EUR please", "Bitte in Euro", "en euros,
//! por favor"; "Dollars again?"; "nein, ich sagte Euro".
//!
//! The terms come from the conversation, never from a list: a *term* is any
//! word of the reply that no table of [`crate::markers`] holds and that is
//! not a grammar word ([`markers::is_function_word`]), so a currency code, a
//! date, a size or a name. What makes a reply correct the answer is where the
//! term stands:
//!
//! - **negated**: a term negation ("not", "nicht", "no", "pas") before a term
//!   that a *stated* sentence of the answer holds (a question's words are the
//!   agent's, not a claim); or before a term in the same slot as another term
//!   the reply gives ("Pago en euros, no en dólares": `en _`, twice); or,
//!   after an answer that states something (an open question after it, such
//!   as "Which one would you like?", is no question this answers), set off
//!   by a pause against a term the sentence gave before it after a grammar
//!   word ("in euros, not dollars"; never "Great, not bad");
//! - **again**: a verbless sentence with "again" and a term of the answer
//!   ("Dollars again?", "¿Otra vez dólares?");
//! - **said**: "I said", "ich sagte", then a term the answer does not hold;
//! - **preferred**: a short sentence with "please" or "instead" naming one or
//!   two terms, none of them in the answer ("EUR please");
//! - **fragment**: a reply of a preposition and one new term ("in euros").
//!
//! The last two read the answer's shape: "EUR please" answers "Which
//! currency?" and corrects "The fare is 540 USD.". So they need an answer that
//! states something and asks no open question ("which", "welche", "or"), and
//! a reply that does not open with a yes ("yes, please proceed") nor add to
//! the request ("and also in euros?", which asks for more after a good answer).
//! Whether the user had asked for the new term before decides the kind (see
//! [`Replaced::restates`]).

use std::cell::OnceCell;

use reverie_rule_sdk::text;

use crate::figure;
use crate::markers::{self, Words};

/// A reply longer than this is not read for terms: a term correction is
/// short ("I'm paying in euros, not USD"), and in a longer message a "not"
/// before a word of the answer more often tells a story of its own ("that's
/// not my laptop, mine is a ... ", which disputes what was looked up, not a
/// term the agent chose).
pub const MAX_REPLY_WORDS: usize = 10;

/// A reply of at most this many words is read for terms even without a
/// marker word: "in euros" is a fragment, "in a minute" is not.
pub const FRAGMENT_MAX_WORDS: usize = 2;

/// A negation reaches past at most this many grammar words to its term
/// ("nicht in USD", "not the 14th").
const NEGATION_SKIP: usize = 2;

/// A sentence with "again" must be this short to be verbless ("Dollars
/// again?"); "can you send the link again?" asks for something.
const AGAIN_MAX_WORDS: usize = 4;

/// A sentence with "please" must be this short to name a term, not a request
/// ("EUR please", not "please send me the invoice for last month").
const PREFERRED_MAX_WORDS: usize = 6;

/// A polite sentence naming more terms than this asks for something new.
const PREFERRED_MAX_TERMS: usize = 2;

/// How the reply corrects a term of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Negated,
    Again,
    Said,
    Preferred,
    Fragment,
}

/// A reply that negates or replaces a term of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Replaced {
    pub shape: Shape,
    /// The term negated, or the first new term named.
    pub term: String,
    /// Whether a term of the reply that the answer lacks is one the user had
    /// written before: the agent dropped a stated requirement (a misunderstood
    /// request), rather than stated something the user holds wrong.
    pub restates: bool,
}

/// The agent's answer, as a reply is compared with it: its words as the
/// tables write them, those of its stated sentences apart.
pub struct Answer {
    all: String,
    stated: String,
    /// Terms the answer itself negates ("you don't need a visa"): a reply
    /// negating them agrees with it.
    negated: String,
    /// It asks an open question ("which", "welche", "or"): a term may answer it.
    open_question: bool,
    /// It asks anything: "Could you give me your ID?" is answered by a bare term.
    asks: bool,
}

impl Answer {
    pub fn of(content: &str) -> Answer {
        let mut answer = Answer {
            all: String::new(),
            stated: String::new(),
            negated: String::new(),
            open_question: false,
            asks: false,
        };
        for sentence in text::sentences(content) {
            let words = Words::of(sentence);
            let question = is_question(sentence);
            answer.asks |= question;
            if question && words.asks_open() {
                answer.open_question = true;
            }
            let mut reach = 0;
            for (at, word) in words.iter().enumerate() {
                answer.all.push_str(word);
                answer.all.push(' ');
                if !question {
                    answer.stated.push_str(word);
                    answer.stated.push(' ');
                }
                if words.is_negation(at) {
                    reach = NEGATION_SKIP + 2;
                } else if reach > 0 {
                    reach -= 1;
                    answer.negated.push_str(word);
                    answer.negated.push(' ');
                }
            }
        }
        answer
    }

    fn states(&self) -> bool {
        !self.stated.is_empty()
    }

    fn mentions(&self, term: &str) -> bool {
        holds(&self.all, term)
    }

    /// States the term, and not as something it negates.
    fn states_term(&self, term: &str) -> bool {
        holds(&self.stated, term) && !holds(&self.negated, term)
    }
}

/// Whether a message asks an open question ("How much would you like?"): a
/// term or figure in the reply may be its answer.
pub fn asks_open(content: &str) -> bool {
    content.contains(['?', '？'])
        && text::sentences(content)
            .into_iter()
            .any(|s| is_question(s) && Words::of(s).asks_open())
}

/// The answer, read only when a reply's words make a term correction
/// possible: most replies are ruled out on their own words.
struct Lazy<'a> {
    text: &'a str,
    answer: OnceCell<Answer>,
}

impl Lazy<'_> {
    fn get(&self) -> &Answer {
        self.answer.get_or_init(|| Answer::of(self.text))
    }
}

/// Whether a space-separated word list holds a word agreeing with `term`.
fn holds(words: &str, term: &str) -> bool {
    words.split(' ').any(|w| !w.is_empty() && agree(w, term))
}

/// Two words name the same term: equal, or one the other with an ending
/// ("euro"/"euros", "Dollar"/"dollars"), as units are compared.
fn agree(a: &str, b: &str) -> bool {
    figure::units_agree(a, b)
}

fn is_question(sentence: &str) -> bool {
    sentence.trim_end().ends_with(['?', '？'])
}

/// A word that can be a term: not a grammar word of the seven languages.
fn is_term(word: &str) -> bool {
    !markers::is_function_word(word)
}

/// One sentence of the reply, read for terms.
struct Sentence<'w> {
    words: &'w Words<'w>,
    marked: Vec<bool>,
    question: bool,
    /// Its first word is followed by a pause ("No, ...", "Non !").
    paused: bool,
    /// The sentence as written, for the punctuation its words lost.
    text: &'w str,
}

impl<'w> Sentence<'w> {
    fn with(text: &'w str, words: &'w Words<'w>) -> Sentence<'w> {
        let marked = words.marked();
        let first_end = text
            .char_indices()
            .skip_while(|(_, c)| !c.is_alphanumeric())
            .find(|(_, c)| !c.is_alphanumeric())
            .map(|(at, _)| at);
        let paused = first_end
            .and_then(|at| text[at..].chars().next())
            .is_some_and(|c| matches!(c, ',' | '.' | '!' | ';' | ':' | '—' | '–'));
        Sentence {
            words,
            marked,
            question: is_question(text),
            paused,
            text,
        }
    }

    fn term(&self, at: usize) -> Option<&str> {
        (!self.marked[at])
            .then(|| self.words.word_at(at))
            .filter(|w| is_term(w))
    }

    fn terms(&self) -> impl Iterator<Item = &str> {
        (0..self.words.len()).filter_map(|at| self.term(at))
    }

    /// Opens with "please" and goes on with a term: an imperative ("please
    /// cancel it", "Por favor, cancélalo") asks for something new, where a
    /// replacement goes on with a preposition ("Bitte in Euro") or puts the
    /// "please" last ("EUR please").
    fn opens_request(&self) -> bool {
        let Some(len) = self.words.preference_at_start() else {
            return false;
        };
        len < self.words.len() && self.term(len).is_some()
    }

    /// The term a negation of this sentence negates, when the answer states
    /// it or the reply gives another term in the same slot.
    fn negated(&self, answer: &Lazy) -> Option<&str> {
        let len = self.words.len();
        (0..len).find_map(|at| {
            if !self.words.is_term_negation(at) {
                return None;
            }
            let mut next = at + 1;
            let mut slot = None;
            while next < len
                && next <= at + NEGATION_SKIP
                && self.term(next).is_none()
                && markers::is_function_word(self.words.word_at(next))
            {
                slot.get_or_insert(next);
                next += 1;
            }
            // "No, the refund never came": a sentence-opening "no" with a
            // pause after it is a plain no, not the negation of a term.
            if at == 0 && self.paused && self.words.is_interjection(at) {
                return None;
            }
            if next >= len {
                return None;
            }
            let term = self.term(next)?;
            if answer.get().states_term(term) {
                return Some(term);
            }
            let slot = self.words.word_at(slot?);
            let parallel = (0..at.saturating_sub(1)).any(|k| {
                self.words.word_at(k) == slot
                    && self.term(k + 1).is_some_and(|other| !agree(other, term))
            });
            parallel.then_some(term)
        })
    }

    /// The term a negation set off by a pause sets against another term the
    /// sentence gave before it, after a grammar word: "in euros, not dollars",
    /// "I'm paying in euros, not USD". The contrast itself says which is wanted, so the
    /// answer need not hold the negated term (an agent that wrote "$319"
    /// never wrote "dollars"), and a question ("Can you give me that in
    /// euros, not dollars?") corrects as well as a statement.
    fn contrasted(&self) -> Option<&str> {
        let len = self.words.len();
        (1..len).find_map(|at| {
            if !self.words.is_term_negation(at) || !follows_pause(self.text, self.words.word_at(at))
            {
                return None;
            }
            let mut next = at + 1;
            while next < len
                && next <= at + NEGATION_SKIP
                && self.term(next).is_none()
                && markers::is_function_word(self.words.word_at(next))
            {
                next += 1;
            }
            if next >= len {
                return None;
            }
            let term = self.term(next)?;
            // The wanted term follows a grammar word ("in euros", "pago en
            // euros"): it names a thing in a slot, where "Great, not bad" or
            // "Gut, nicht schlecht" open with a verdict.
            (1..at)
                .filter(|&k| {
                    !self.words.is_term_negation(k - 1)
                        && markers::is_function_word(self.words.word_at(k - 1))
                })
                .filter_map(|k| self.term(k))
                .any(|wanted| !agree(wanted, term))
                .then_some(term)
        })
    }
}

/// Whether `word` (lowercase, without accents) follows a comma, dash or
/// semicolon in `text`: a contrast ("in euros, not dollars") is set off by
/// one, where "a bicicleta no comboio" runs on. Read only for a negation
/// found after a term, so rarely.
fn follows_pause(text: &str, word: &str) -> bool {
    text.match_indices([',', ';', '-', '—', '–'])
        .any(|(at, mark)| {
            let rest = text[at + mark.len()..].trim_start();
            let next: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
            !next.is_empty() && text::fold_diacritics(&next.to_lowercase()) == word
        })
}

/// The term correction in `reply` to `answer`, if any. `words` are the
/// reply's, read from its [`text::normalise`]d text; `earlier` are the user's
/// earlier messages, normalised.
pub fn replaced<'e>(
    reply: &str,
    words: &Words,
    answer: &str,
    earlier: impl Iterator<Item = &'e str> + Clone,
) -> Option<Replaced> {
    let answer = Lazy {
        text: answer,
        answer: OnceCell::new(),
    };
    let split = text::sentences(reply);
    // Most replies are one sentence: their words were read already.
    let owned: Vec<Words> = if split.len() > 1 {
        split.iter().map(|s| Words::of(s)).collect()
    } else {
        Vec::new()
    };
    let sentences: Vec<Sentence> = if owned.is_empty() {
        vec![Sentence::with(reply, words)]
    } else {
        split
            .iter()
            .zip(&owned)
            .map(|(text, words)| Sentence::with(text, words))
            .collect()
    };
    let confirms = sentences.first().is_some_and(|s| s.words.confirms());
    // "No, don't cancel it" after "Shall I cancel it?": a plain no, then what
    // it declines, answers the agent's question; it negates no claim.
    let declines = sentences
        .first()
        .is_some_and(|s| s.paused && s.words.is_plain_no(0))
        && answer.get().asks;
    let adds = sentences.iter().any(|s| s.words.adds());
    // An answer that states something and asks nothing open: a new term in
    // the reply cannot be the answer to a question of the agent.
    let replaceable = || {
        let answer = answer.get();
        answer.states() && !answer.open_question
    };
    let mut found: Option<(Shape, String)> = None;
    for sentence in &sentences {
        let len = sentence.words.len();
        if let Some(from) = sentence.words.after_saying()
            && let Some(term) = (from..len)
                .filter_map(|at| sentence.term(at))
                .find(|t| !answer.get().mentions(t))
        {
            found = Some((Shape::Said, term.to_string()));
        } else if !sentence.question
            && !declines
            && let Some(term) = sentence.negated(&answer)
        {
            found = Some((Shape::Negated, term.to_string()));
        } else if !confirms
            && len <= MAX_REPLY_WORDS
            && let Some(term) = sentence.contrasted()
            // Read the answer only for a reply that sets terms against each other.
            && answer.get().states()
        {
            found = Some((Shape::Negated, term.to_string()));
        } else if len <= AGAIN_MAX_WORDS
            && sentence.words.again()
            && let Some(term) = sentence.terms().find(|t| answer.get().mentions(t))
        {
            found = Some((Shape::Again, term.to_string()));
        } else if !confirms
            && !adds
            && !sentence.question
            && len <= PREFERRED_MAX_WORDS
            && sentence.words.prefers()
            && !sentence.opens_request()
            && sentence.terms().next().is_some()
            && replaceable()
            && let Some(term) = only_new_terms(sentence, answer.get())
        {
            found = Some((Shape::Preferred, term.to_string()));
        }
        if found.is_some() {
            break;
        }
    }
    // A fragment ("in euros") is read after a plain statement only: after
    // any question ("Could you give me your ID?") a bare term answers it.
    if found.is_none()
        && !confirms
        && !adds
        && let [only] = sentences.as_slice()
        && !only.question
        && only.words.len() <= FRAGMENT_MAX_WORDS
        && !only.marked[0]
        && only.term(0).is_none()
        && markers::is_function_word(only.words.word_at(0))
        && only.terms().count() == 1
        && replaceable()
        && !answer.get().asks
        && let Some(term) = only_new_terms(only, answer.get())
    {
        found = Some((Shape::Fragment, term.to_string()));
    }
    let (shape, term) = found?;
    let answer = answer.get();
    let restates = sentences
        .iter()
        .flat_map(|s| s.terms())
        .filter(|t| !answer.mentions(t))
        .any(|t| {
            earlier.clone().any(|message| {
                let bare = markers::bare(message);
                holds(&bare, t)
            })
        });
    Some(Replaced {
        shape,
        term,
        restates,
    })
}

/// The first term of a sentence when it names one to
/// [`PREFERRED_MAX_TERMS`] terms and the answer holds none of them.
fn only_new_terms<'s>(sentence: &'s Sentence, answer: &Answer) -> Option<&'s str> {
    let mut terms = sentence.terms();
    let first = terms.next()?;
    let rest: Vec<&str> = terms.collect();
    (rest.len() < PREFERRED_MAX_TERMS
        && !answer.mentions(first)
        && rest.iter().all(|t| !answer.mentions(t)))
    .then_some(first)
}
