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

use reverie_rule_sdk::text;

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
        if let Some(n) = phrase_at(YES, &words[at..]) {
            yes = true;
            at += n;
        } else if let Some(n) = phrase_at(YES_ALONE, &words[at..]) {
            yes_alone = true;
            at += n;
        } else if let Some(n) = phrase_at(POLITE, &words[at..]) {
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
    yes && phrase_at(TAKE_BACK, &words[at..]).is_none()
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

/// The number of words of the table's longest phrase that `words` starts
/// with, if any.
fn phrase_at(table: &[(&str, &str)], words: &[&str]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (_, phrase) in table {
        let mut n = 0;
        let mut all = true;
        for part in phrase.split(' ') {
            if words.get(n) == Some(&part) {
                n += 1;
            } else {
                all = false;
                break;
            }
        }
        if all && best.is_none_or(|b| n > b) {
            best = Some(n);
        }
    }
    best
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
    fn a_long_reply_is_read_only_at_its_start() {
        let long = format!("yes {}", "word ".repeat(200));
        assert!(is_confirmation(&long));
        let please = format!("please {}", "word ".repeat(200));
        assert!(!is_confirmation(&please));
        let accents = format!("sí {}", "é".repeat(400));
        assert!(is_confirmation(&accents), "cut on a character boundary");
    }
}
