//! What counts as a user's explicit confirmation: a reply that says yes, in
//! English, German, Spanish, French, Italian, Portuguese or Dutch.
//!
//! A reply confirms when it *opens* with a yes phrase ("Yes, please cancel
//! it", "Ja, bitte stornieren", "oui, vas-y") and the next word does not take
//! it back ("ok, but wait", "ja, aber nicht heute"), or when it is a short
//! reply made only of yes phrases, politeness words and ambiguous yeses
//! ("please", "bitte", "y") that confirm only on their own. A reply whose
//! first sentence is a question ("ok?", "¿sí?") or that opens with a negation
//! ("no, don't") never confirms: no negation is in these tables, so nothing
//! matches it.
//!
//! The tables are grammar, not a domain: every phrase is lowercase, without
//! accents (see [`text::fold_diacritics`]), with apostrophes kept as
//! [`text::normalise`] keeps them, and its words separated by one space. The
//! language column is for the reader who extends a language; matching does
//! not use it.

use std::sync::OnceLock;

use crate::text::{self, WordMap};

/// Phrases that confirm when a reply opens with them.
const YES: &[(&str, &str)] = &[
    // English
    ("en", "yes"),
    ("en", "yeah"),
    ("en", "yep"),
    ("en", "yup"),
    ("en", "yea"),
    ("en", "sure"),
    ("en", "ok"),
    ("en", "okay"),
    ("en", "okey"),
    ("en", "kk"),
    ("en", "confirm"),
    ("en", "confirmed"),
    ("en", "i confirm"),
    ("en", "go ahead"),
    ("en", "go for it"),
    ("en", "do it"),
    ("en", "do that"),
    ("en", "please do"),
    ("en", "please proceed"),
    ("en", "please go ahead"),
    ("en", "proceed"),
    ("en", "that's right"),
    ("en", "thats right"),
    ("en", "that's correct"),
    ("en", "that's fine"),
    ("en", "that works"),
    ("en", "correct"),
    ("en", "absolutely"),
    ("en", "definitely"),
    ("en", "of course"),
    ("en", "alright"),
    ("en", "all right"),
    ("en", "fine"),
    ("en", "sounds good"),
    ("en", "yes please"),
    // German
    ("de", "ja"),
    ("de", "jawohl"),
    ("de", "jep"),
    ("de", "genau"),
    ("de", "klar"),
    ("de", "sicher"),
    ("de", "gerne"),
    ("de", "gern"),
    ("de", "einverstanden"),
    ("de", "in ordnung"),
    ("de", "passt"),
    ("de", "richtig"),
    ("de", "stimmt"),
    ("de", "mach das"),
    ("de", "mach es"),
    ("de", "mach mal"),
    ("de", "machen sie das"),
    ("de", "ich bestatige"),
    ("de", "bestatigt"),
    ("de", "los geht's"),
    // Spanish
    ("es", "si"),
    ("es", "claro"),
    ("es", "adelante"),
    ("es", "dale"),
    ("es", "vale"),
    ("es", "de acuerdo"),
    ("es", "correcto"),
    ("es", "por supuesto"),
    ("es", "hazlo"),
    ("es", "confirmo"),
    ("es", "exacto"),
    ("es", "perfecto"),
    ("es", "procede"),
    // French
    ("fr", "oui"),
    ("fr", "ouais"),
    ("fr", "d'accord"),
    ("fr", "vas y"),
    ("fr", "allez y"),
    ("fr", "bien sur"),
    ("fr", "exactement"),
    ("fr", "c'est ca"),
    ("fr", "c'est bon"),
    ("fr", "parfait"),
    ("fr", "je confirme"),
    ("fr", "volontiers"),
    ("fr", "faites le"),
    ("fr", "fais le"),
    // Italian
    ("it", "certo"),
    ("it", "procedi"),
    ("it", "proceda"),
    ("it", "va bene"),
    ("it", "d'accordo"),
    ("it", "confermo"),
    ("it", "esatto"),
    ("it", "perfetto"),
    ("it", "certamente"),
    ("it", "fallo"),
    ("it", "vai"),
    // Portuguese
    ("pt", "sim"),
    ("pt", "pode"),
    ("pt", "pode ser"),
    ("pt", "isso"),
    ("pt", "com certeza"),
    ("pt", "exato"),
    ("pt", "certo"),
    ("pt", "perfeito"),
    ("pt", "vai em frente"),
    ("pt", "faca isso"),
    ("pt", "confirmo"),
    // Dutch
    ("nl", "ja"),
    ("nl", "jawel"),
    ("nl", "doe maar"),
    ("nl", "akkoord"),
    ("nl", "prima"),
    ("nl", "zeker"),
    ("nl", "klopt"),
    ("nl", "ga je gang"),
    ("nl", "ga door"),
    ("nl", "is goed"),
    ("nl", "oke"),
    ("nl", "prima"),
];

/// Words that say yes only as a whole short reply: as the opening of a longer
/// one they start a request ("please help me with...", "bitte setzen Sie...",
/// "graag wil ik...") or mean something else ("y también" is "and also").
const YES_ALONE: &[(&str, &str)] = &[
    ("en", "please"),
    ("en", "y"),
    ("en", "k"),
    ("de", "bitte"),
    ("de", "bitte schon"),
    ("es", "por favor"),
    ("fr", "s'il vous plait"),
    ("fr", "s'il te plait"),
    ("it", "per favore"),
    ("it", "grazie"),
    ("pt", "por favor"),
    ("nl", "graag"),
    ("nl", "alsjeblieft"),
    ("nl", "alstublieft"),
];

/// Politeness words a short yes may carry ("yes, thanks", "ja danke"); alone
/// they are a closing, not a yes.
const POLITE: &[(&str, &str)] = &[
    ("en", "thanks"),
    ("en", "thank you"),
    ("en", "thx"),
    ("en", "cheers"),
    ("en", "then"),
    ("en", "now"),
    ("de", "danke"),
    ("de", "dann"),
    ("es", "gracias"),
    ("fr", "merci"),
    ("it", "grazie"),
    ("pt", "obrigado"),
    ("pt", "obrigada"),
    ("nl", "dank je"),
    ("nl", "dank u"),
    ("nl", "bedankt"),
    ("nl", "dankjewel"),
];

/// Words that take back the yes they follow ("ok, but...", "ja, aber...",
/// "yes, no wait"): the reply is a condition or a refusal, not a confirmation.
const TAKE_BACK: &[(&str, &str)] = &[
    ("en", "but"),
    ("en", "no"),
    ("en", "not"),
    ("en", "don't"),
    ("en", "wait"),
    ("en", "hold"),
    ("en", "however"),
    ("de", "aber"),
    ("de", "nein"),
    ("de", "nicht"),
    ("de", "warte"),
    ("es", "pero"),
    ("es", "no"),
    ("es", "espera"),
    ("fr", "mais"),
    ("fr", "non"),
    ("fr", "pas"),
    ("fr", "attends"),
    ("it", "ma"),
    ("it", "non"),
    ("it", "aspetta"),
    ("pt", "mas"),
    ("pt", "nao"),
    ("pt", "espera"),
    ("nl", "maar"),
    ("nl", "nee"),
    ("nl", "niet"),
    ("nl", "wacht"),
];

/// Interrogative words: a question that opens with one ("What's your
/// employee ID?", "Welche Buchung?", "¿Cuál prefieres?") asks for a value,
/// and a "sure, E-25793" that answers it agrees to nothing. The conjunctions
/// *que* and *che* are left out: "¿Quieres que lo cancele?" and "Vuoi che lo
/// annulli?" ask for a yes.
const OPEN_QUESTION: &[(&str, &str)] = &[
    ("en", "what"),
    ("en", "what's"),
    ("en", "which"),
    ("en", "who"),
    ("en", "whom"),
    ("en", "whose"),
    ("en", "where"),
    ("en", "when"),
    ("en", "why"),
    ("en", "how"),
    ("de", "was"),
    ("de", "welche"),
    ("de", "welcher"),
    ("de", "welches"),
    ("de", "welchen"),
    ("de", "wer"),
    ("de", "wen"),
    ("de", "wem"),
    ("de", "wo"),
    ("de", "wann"),
    ("de", "warum"),
    ("de", "wieso"),
    ("de", "wie"),
    ("es", "cual"),
    ("es", "cuales"),
    ("es", "quien"),
    ("es", "donde"),
    ("es", "cuando"),
    ("es", "cuanto"),
    ("es", "cuantos"),
    ("fr", "quel"),
    ("fr", "quelle"),
    ("fr", "quels"),
    ("fr", "quelles"),
    ("fr", "qui"),
    ("fr", "ou"),
    ("fr", "quand"),
    ("fr", "pourquoi"),
    ("fr", "comment"),
    ("fr", "quoi"),
    ("fr", "qu'est"),
    ("it", "quale"),
    ("it", "quali"),
    ("it", "chi"),
    ("it", "dove"),
    ("it", "quando"),
    ("it", "perche"),
    ("it", "come"),
    ("it", "cosa"),
    ("pt", "qual"),
    ("pt", "quais"),
    ("pt", "quem"),
    ("pt", "onde"),
    ("pt", "como"),
    ("pt", "o que"),
    ("pt", "por que"),
    ("nl", "wat"),
    ("nl", "welke"),
    ("nl", "welk"),
    ("nl", "waar"),
    ("nl", "wanneer"),
    ("nl", "waarom"),
    ("nl", "hoe"),
];

/// Openings that look like an open question but propose an action ("How
/// about I reset it now?", "Wie wäre es, wenn...", "¿Qué tal si...?").
const PROPOSALS: &[(&str, &str)] = &[
    ("en", "how about"),
    ("en", "what about"),
    ("en", "what if"),
    ("de", "wie ware"),
    ("de", "was halten sie"),
    ("es", "que tal"),
    ("fr", "que diriez"),
    ("it", "che ne dici"),
    ("pt", "que tal"),
    ("nl", "wat dacht je"),
    ("nl", "wat vind je"),
];

/// Words an agent may open a sentence with before its question ("Great,
/// which one?", "Ok, and what's your ID?"): the question's first word is
/// read after them.
const LEAD_INS: &[&str] = &[
    "and", "so", "great", "right", "now", "good", "und", "also", "y", "et", "e", "en",
];

/// Does the agent's `text` ask a question a yes can answer? Its last
/// question (a sentence ending in `?` or `？`) must not open with an
/// interrogative word, after any yes or lead-in words ("Sure. What's your
/// employee ID?" asks for a value; "I'll unlock it now if you confirm. OK?"
/// and "Shall I go ahead?" ask for a yes).
pub fn asks_for_yes(text: &str) -> bool {
    let Some(question) = text::sentences(text)
        .into_iter()
        .rev()
        .find(|s| s.ends_with(['?', '？']))
    else {
        return false;
    };
    let normalised = text::fold_diacritics(&text::normalise(question));
    let words: Vec<&str> = text::tokens(&normalised).collect();
    let mut at = 0;
    while at < words.len() {
        if let Some(n) =
            phrase_at(Table::Yes, &words[at..]).or_else(|| phrase_at(Table::Polite, &words[at..]))
        {
            at += n;
        } else if LEAD_INS.contains(&words[at]) {
            at += 1;
        } else {
            break;
        }
    }
    let rest = &words[at..];
    phrase_at(Table::Proposals, rest).is_some() || phrase_at(Table::OpenQuestion, rest).is_none()
}

/// Word beginnings that, in a system prompt, ask for confirmation: "confirm",
/// "confirmation" (en, fr), "bestätigen" (de), "confirmar", "confirmação"
/// (es, pt), "confermare" (it), "bevestigen" (nl), compared without accents.
const CONFIRM_STEMS: &[&str] = &["confirm", "bestatig", "conferm", "bevestig"];

/// Does the live prompt ask the agent to get the user's confirmation (a word
/// of the confirm family in any of the seven languages)? When it does, every
/// unconfirmed state-changing call goes against the prompt, whatever the
/// agent's habit with that tool.
pub fn prompt_asks_confirmation(prompt: &str) -> bool {
    let normalised = text::fold_diacritics(&text::normalise(prompt));
    text::tokens(&normalised).any(|w| CONFIRM_STEMS.iter().any(|s| w.starts_with(s)))
}

/// Bytes of a reply read: a yes is at its start, and a long message is
/// not read to its end.
const MAX_READ_BYTES: usize = 300;

/// Is `text` a user's explicit confirmation (see the module's documentation)?
pub fn is_confirmation(text: &str) -> bool {
    let head = head_of(text.trim_start());
    if head.starts_with(['¿', '?']) || first_sentence_is_question(head) {
        return false;
    }
    let normalised = text::normalise(head);
    let folded = if normalised.is_ascii() {
        normalised
    } else {
        text::fold_diacritics(&normalised)
    };
    let words: Vec<&str> = text::tokens(&folded).collect();
    let cut = head.len() < text.trim_start().len();
    let mut at = 0;
    let (mut yes, mut yes_alone) = (false, false);
    while at < words.len() {
        if let Some(n) = phrase_at(Table::Yes, &words[at..]) {
            yes = true;
            at += n;
        } else if let Some(n) = phrase_at(Table::YesAlone, &words[at..]) {
            yes_alone = true;
            at += n;
        } else if let Some(n) = phrase_at(Table::Polite, &words[at..]) {
            at += n;
        } else {
            break;
        }
    }
    if at == words.len() && !cut {
        return yes || yes_alone;
    }
    // A longer reply: it must open with a yes (a politeness word may come
    // first: "thanks, yes go ahead"), and the next word must not take it back.
    yes && phrase_at(Table::TakeBack, &words[at..]).is_none()
}

/// The first [`MAX_READ_BYTES`] of `text`, cut on a character boundary.
fn head_of(text: &str) -> &str {
    if text.len() <= MAX_READ_BYTES {
        return text;
    }
    let mut end = MAX_READ_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Does the first sentence end with a question mark? ("ok? what will it
/// change" asks; "Yes. Can you also..." confirms first.)
fn first_sentence_is_question(text: &str) -> bool {
    text.chars()
        .find(|c| matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？'))
        .is_some_and(|c| matches!(c, '?' | '？'))
}

/// The word tables, each a bit of the index's masks.
#[derive(Clone, Copy)]
enum Table {
    Yes,
    YesAlone,
    Polite,
    TakeBack,
    OpenQuestion,
    Proposals,
}

impl Table {
    const ALL: [(Table, &'static [(&'static str, &'static str)]); 6] = [
        (Table::Yes, YES),
        (Table::YesAlone, YES_ALONE),
        (Table::Polite, POLITE),
        (Table::TakeBack, TAKE_BACK),
        (Table::OpenQuestion, OPEN_QUESTION),
        (Table::Proposals, PROPOSALS),
    ];
}

/// The phrases starting with one word: each with its table and its words.
type Phrases = Vec<(usize, Vec<&'static str>)>;

/// Every table's phrases by their first word, built once: a reply's words
/// are each looked up once per table, not compared with every phrase.
fn index() -> &'static WordMap<Phrases> {
    static INDEX: OnceLock<WordMap<Phrases>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut heads: Vec<(&'static str, Phrases)> = Vec::new();
        for (table, phrases) in Table::ALL {
            for (_, phrase) in phrases {
                let words: Vec<&'static str> = phrase.split(' ').collect();
                let Some(first) = words.first().copied() else {
                    continue;
                };
                let entry = (table as usize, words);
                match heads.iter_mut().find(|(w, _)| *w == first) {
                    Some((_, list)) => list.push(entry),
                    None => heads.push((first, vec![entry])),
                }
            }
        }
        WordMap::new(heads)
    })
}

/// The number of words of the table's longest phrase that `words` starts
/// with, if any.
fn phrase_at(table: Table, words: &[&str]) -> Option<usize> {
    let first = words.first()?;
    let phrases = index().get(first)?;
    phrases
        .iter()
        .filter(|(t, phrase)| {
            *t == table as usize
                && words.len() >= phrase.len()
                && phrase.iter().zip(words).all(|(p, w)| p == w)
        })
        .map(|(_, phrase)| phrase.len())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_leading_yeses_confirm_in_seven_languages() {
        for reply in [
            "yes please",
            "Yes, please cancel it",
            "y",
            "ok do it",
            "yep, go ahead",
            "that's fine, go ahead",
            "Yes please, quickly if possible",
            "Please do.",
            "Ja, bitte stornieren",
            "Bitte.",
            "Genau, mach das",
            "Sí, adelante",
            "si por favor",
            "Claro que sí",
            "Oui, vas-y",
            "D'accord, merci",
            "Sì, procedi pure",
            "Certo, grazie",
            "Sim, pode cancelar",
            "Pode ser",
            "Ja, graag",
            "Doe maar",
            "Akkoord.",
            "thanks, yes go ahead",
        ] {
            assert!(is_confirmation(reply), "{reply:?} should confirm");
        }
    }

    #[test]
    fn negations_questions_conditions_and_requests_do_not_confirm() {
        for reply in [
            "no, don't",
            "nah leave it, it'll sort itself out",
            "Nein, bitte nicht",
            "No, gracias",
            "Non merci",
            "Não, obrigado",
            "Nee, laat maar",
            "ok? what will that change",
            "¿Sí? ¿Y qué pasa después?",
            "yes?",
            "ok, but not today",
            "Ja, aber erst morgen",
            "oui mais attends",
            "How does a password reset work here?",
            "cancel my booking 123",
            "Please help me with my account",
            "Bitte setzen Sie mein Passwort zurück",
            "graag wil ik weten hoe dat werkt",
            "thanks",
            "",
        ] {
            assert!(!is_confirmation(reply), "{reply:?} should not confirm");
        }
    }

    #[test]
    fn a_prompt_that_asks_for_confirmation_says_so_in_any_of_seven_languages() {
        for prompt in [
            "Before any change, ask the user to confirm.",
            "Hole vor jeder Änderung eine Bestätigung ein.",
            "Pide confirmación antes de cancelar.",
            "Demandez une confirmation explicite.",
            "Chiedi sempre di confermare.",
            "Peça confirmação ao cliente.",
            "Vraag de gebruiker om te bevestigen.",
        ] {
            assert!(prompt_asks_confirmation(prompt), "{prompt:?}");
        }
        assert!(!prompt_asks_confirmation(
            "Help customers with returns; start a return with create_return."
        ));
    }

    #[test]
    fn a_question_asks_for_a_yes_unless_it_opens_with_an_interrogative_word() {
        for yes_no in [
            "I can see your account is locked. I'll unlock it now if you confirm. OK?",
            "Shall I go ahead?",
            "Cancel ZFA04Y, is that right?",
            "How about I reset it now?",
            "Soll ich das Konto entsperren?",
            "¿Quieres que lo cancele?",
            "Voulez-vous que je l'annule ?",
            "Vuoi che lo annulli?",
            "Posso cancelar a reserva?",
            "Zal ik het annuleren?",
            "Which booking? Or shall I cancel both?",
        ] {
            assert!(asks_for_yes(yes_no), "{yes_no:?}");
        }
        for open in [
            "Sure. What's your employee ID, so I can look at your account?",
            "Let me check your account first. What's your employee ID?",
            "Great, and which one?",
            "Welche Buchung meinen Sie?",
            "¿Cuál es tu número de reserva?",
            "Quel est votre numéro ?",
            "Qual è il codice?",
            "Qual é o número do pedido?",
            "Wat is je personeelsnummer?",
            "I have cancelled it.",
            "See https://example.com/help?topic=reset for details.",
        ] {
            assert!(!asks_for_yes(open), "{open:?}");
        }
    }

    #[test]
    fn a_long_reply_is_read_only_at_its_start() {
        let long = format!("yes {}", "word ".repeat(200));
        assert!(is_confirmation(&long));
        let please = format!("please {}", "word ".repeat(200));
        assert!(!is_confirmation(&please));
        let accents = format!("sí {}", "é".repeat(400));
        assert!(is_confirmation(&accents), "cut on a character boundary");
    }
}
