//! Recognising a conversation that ended well: the user's last message thanks
//! the agent or says it worked.
//!
//! One small lexicon per language (English, German, Spanish, French, Italian,
//! Portuguese, Dutch) lives in [`LEXICON`]. Phrases are matched on
//! [`text::normalise`]d text with apostrophes dropped and accents folded
//! ([`text::fold_diacritics`]), at word boundaries, so "funcionó" and "funciono",
//! "ça marche" and "ca marche" both count. Some phrases undo the others: a
//! declined offer ("no thanks", "nein danke"), a failure ("didn't work", "hat
//! nicht geklappt") or a "but" that introduces a new problem; a question mark
//! means the user still wants something. This module judges one message; whether
//! the interaction also had a correction is the rule's business.

use std::collections::BTreeMap;

use reverie_rule_sdk::text::{self, WordMap};

use crate::markers;

/// What a phrase says about the end of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sense {
    /// The user thanks the agent ("thanks", "danke", "gracias").
    Thanks,
    /// The user is pleased with the answer ("perfect", "genial").
    Pleased,
    /// The user says the problem is solved ("that worked", "hat geklappt").
    Worked,
    /// The phrase takes the praise back ("no thanks", "didn't work", "but").
    Undoes,
}

use Sense::{Pleased, Thanks, Undoes, Worked};

/// The lexicon: language, sense, phrase (lowercase, no apostrophes, no accents).
/// A phrase may appear under several languages; the language column is there for
/// the reader who extends a language, matching does not use it.
const LEXICON: &[(&str, Sense, &str)] = &[
    ("en", Thanks, "thanks"),
    ("en", Thanks, "thank you"),
    ("en", Thanks, "thank u"),
    ("en", Thanks, "thx"),
    ("en", Thanks, "ty"),
    ("en", Thanks, "cheers"),
    ("en", Thanks, "appreciate it"),
    ("en", Thanks, "much appreciated"),
    ("en", Pleased, "perfect"),
    ("en", Pleased, "great"),
    ("en", Pleased, "awesome"),
    ("en", Pleased, "excellent"),
    ("en", Pleased, "very helpful"),
    ("en", Worked, "that worked"),
    ("en", Worked, "it worked"),
    ("en", Worked, "that works"),
    ("en", Worked, "it works"),
    ("en", Worked, "works now"),
    ("en", Worked, "that fixed it"),
    ("en", Worked, "fixed it"),
    ("en", Worked, "solved"),
    ("en", Worked, "that helped"),
    ("en", Undoes, "no thanks"),
    ("en", Undoes, "no thank you"),
    ("en", Undoes, "thanks for nothing"),
    ("en", Undoes, "not great"),
    ("en", Undoes, "not perfect"),
    ("en", Undoes, "not solved"),
    ("en", Undoes, "not fixed"),
    ("en", Undoes, "not helpful"),
    ("en", Undoes, "didnt work"),
    ("en", Undoes, "did not work"),
    ("en", Undoes, "doesnt work"),
    ("en", Undoes, "does not work"),
    ("en", Undoes, "not working"),
    ("en", Undoes, "still not"),
    ("en", Undoes, "still doesnt"),
    ("en", Undoes, "but"),
    ("de", Thanks, "danke"),
    ("de", Thanks, "vielen dank"),
    ("de", Thanks, "besten dank"),
    ("de", Thanks, "dankeschon"),
    ("de", Pleased, "perfekt"),
    ("de", Pleased, "super"),
    ("de", Pleased, "prima"),
    ("de", Pleased, "toll"),
    ("de", Pleased, "klasse"),
    ("de", Pleased, "sehr hilfreich"),
    ("de", Worked, "hat geklappt"),
    ("de", Worked, "klappt"),
    ("de", Worked, "funktioniert"),
    ("de", Worked, "gelost"),
    ("de", Worked, "geht jetzt"),
    ("de", Worked, "lauft wieder"),
    ("de", Undoes, "nein danke"),
    ("de", Undoes, "hat nicht geklappt"),
    ("de", Undoes, "klappt nicht"),
    ("de", Undoes, "funktioniert nicht"),
    ("de", Undoes, "nicht gelost"),
    ("de", Undoes, "aber"),
    ("de", Undoes, "geht nicht"),
    ("de", Undoes, "noch nicht"),
    ("de", Undoes, "immer noch nicht"),
    ("es", Thanks, "gracias"),
    ("es", Thanks, "muchas gracias"),
    ("es", Pleased, "perfecto"),
    ("es", Pleased, "genial"),
    ("es", Pleased, "excelente"),
    ("es", Pleased, "muy util"),
    ("es", Pleased, "estupendo"),
    ("es", Worked, "funciono"),
    ("es", Worked, "funciona"),
    ("es", Worked, "resuelto"),
    ("es", Worked, "solucionado"),
    ("es", Worked, "ya va"),
    ("es", Worked, "me sirvio"),
    ("es", Undoes, "no gracias"),
    ("es", Undoes, "no funciona"),
    ("es", Undoes, "no funciono"),
    ("es", Undoes, "sigue sin"),
    ("es", Undoes, "pero"),
    ("es", Undoes, "todavia no"),
    ("es", Undoes, "aun no"),
    ("es", Undoes, "no sirve"),
    ("fr", Thanks, "merci"),
    ("fr", Thanks, "merci beaucoup"),
    ("fr", Thanks, "je vous remercie"),
    ("fr", Pleased, "parfait"),
    ("fr", Pleased, "genial"),
    ("fr", Pleased, "super"),
    ("fr", Pleased, "excellent"),
    ("fr", Pleased, "nickel"),
    ("fr", Pleased, "tres utile"),
    ("fr", Worked, "ca marche"),
    ("fr", Worked, "ca a marche"),
    ("fr", Worked, "ca fonctionne"),
    ("fr", Worked, "resolu"),
    ("fr", Worked, "cest regle"),
    ("fr", Undoes, "non merci"),
    ("fr", Undoes, "marche pas"),
    ("fr", Undoes, "fonctionne pas"),
    ("fr", Undoes, "pas resolu"),
    ("fr", Undoes, "mais"),
    ("fr", Undoes, "toujours pas"),
    ("fr", Undoes, "pas encore"),
    ("it", Thanks, "grazie"),
    ("it", Thanks, "grazie mille"),
    ("it", Thanks, "ti ringrazio"),
    ("it", Thanks, "la ringrazio"),
    ("it", Pleased, "perfetto"),
    ("it", Pleased, "ottimo"),
    ("it", Pleased, "fantastico"),
    ("it", Pleased, "molto utile"),
    ("it", Worked, "ha funzionato"),
    ("it", Worked, "funziona"),
    ("it", Worked, "risolto"),
    ("it", Worked, "ora va"),
    ("it", Undoes, "no grazie"),
    ("it", Undoes, "non funziona"),
    ("it", Undoes, "non ha funzionato"),
    ("it", Undoes, "non risolto"),
    ("it", Undoes, "ma"),
    ("it", Undoes, "non va"),
    ("it", Undoes, "ancora non"),
    ("it", Undoes, "non ancora"),
    ("pt", Thanks, "obrigado"),
    ("pt", Thanks, "obrigada"),
    ("pt", Thanks, "valeu"),
    ("pt", Thanks, "agradeco"),
    ("pt", Pleased, "perfeito"),
    ("pt", Pleased, "otimo"),
    ("pt", Pleased, "excelente"),
    ("pt", Pleased, "muito util"),
    ("pt", Worked, "funcionou"),
    ("pt", Worked, "funciona"),
    ("pt", Worked, "deu certo"),
    ("pt", Worked, "resolvido"),
    ("pt", Worked, "resolveu"),
    ("pt", Worked, "ja da"),
    ("pt", Undoes, "nao obrigado"),
    ("pt", Undoes, "nao obrigada"),
    ("pt", Undoes, "nao funciona"),
    ("pt", Undoes, "nao funcionou"),
    ("pt", Undoes, "nao deu certo"),
    // Not "mas" alone: folded, the Spanish "más" of "gracias, nada más" reads the same.
    ("pt", Undoes, "mas ainda"),
    ("pt", Undoes, "mas nao"),
    ("pt", Undoes, "ainda nao"),
    ("pt", Undoes, "nao resolveu"),
    ("nl", Thanks, "bedankt"),
    ("nl", Thanks, "dank je"),
    ("nl", Thanks, "dank u"),
    ("nl", Thanks, "dankjewel"),
    ("nl", Thanks, "dankuwel"),
    ("nl", Pleased, "perfect"),
    ("nl", Pleased, "super"),
    ("nl", Pleased, "top"),
    ("nl", Pleased, "geweldig"),
    ("nl", Pleased, "heel handig"),
    ("nl", Worked, "het werkt"),
    ("nl", Worked, "werkt"),
    ("nl", Worked, "gelukt"),
    ("nl", Worked, "opgelost"),
    ("nl", Undoes, "nee bedankt"),
    ("nl", Undoes, "nee dank je"),
    ("nl", Undoes, "werkt niet"),
    ("nl", Undoes, "niet gelukt"),
    ("nl", Undoes, "niet opgelost"),
    ("nl", Undoes, "maar"),
    ("nl", Undoes, "nog steeds niet"),
    ("nl", Undoes, "nog niet"),
    ("nl", Undoes, "lukt niet"),
];

/// The lexicon indexed by first word, so a message is read in one pass.
pub struct Lexicon {
    by_first_word: WordMap<Vec<(Sense, Vec<&'static str>)>>,
}

impl Default for Lexicon {
    /// The whole [`LEXICON`] (an empty one would never find praise).
    fn default() -> Self {
        Self::new()
    }
}

impl Lexicon {
    pub fn new() -> Self {
        let mut by_first_word: BTreeMap<&'static str, Vec<(Sense, Vec<&'static str>)>> =
            BTreeMap::new();
        for (_, sense, phrase) in LEXICON {
            let words: Vec<&'static str> = phrase.split(' ').collect();
            by_first_word
                .entry(words[0])
                .or_default()
                .push((*sense, words));
        }
        Lexicon {
            by_first_word: WordMap::new(by_first_word),
        }
    }

    /// What the message says about how the conversation ended: the strongest
    /// praise in it (`Worked` over `Pleased` over `Thanks`), or `None` when it
    /// has none, or praise that something in it takes back.
    pub fn praise(&self, message: &str) -> Option<Sense> {
        self.praise_normalised(message, &text::normalise(message))
    }

    /// [`Lexicon::praise`] of a message already [`text::normalise`]d.
    pub fn praise_normalised(&self, message: &str, normalised: &str) -> Option<Sense> {
        if message.contains(['?', '¿', '？']) {
            return None;
        }
        let folded = markers::bare(normalised);
        let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
        let mut best: Option<Sense> = None;
        for start in 0..words.len() {
            let Some(candidates) = self.by_first_word.get(words[start]) else {
                continue;
            };
            for (sense, phrase) in candidates {
                if words[start..].starts_with(phrase) {
                    if *sense == Undoes {
                        return None;
                    }
                    best = best.max(Some(*sense));
                }
            }
        }
        best
    }
}

/// The reason given with the positive feedback, for a person.
pub fn reason(sense: Sense) -> &'static str {
    match sense {
        Worked => "The user said it worked.",
        Pleased => "The user was pleased with the answer at the end.",
        Thanks | Undoes => "The user thanked the agent at the end.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexicon_is_lowercase_without_apostrophes_or_accents() {
        for (lang, _, phrase) in LEXICON {
            let clean = text::fold_diacritics(&text::normalise(phrase).replace('\'', ""));
            assert_eq!(&clean, phrase, "{lang}: {phrase:?} would never match");
        }
    }

    #[test]
    fn thanks_and_it_worked_are_recognised_in_seven_languages() {
        let lexicon = Lexicon::new();
        for (message, sense) in [
            ("Thanks, that worked!", Worked),
            ("perfect", Pleased),
            ("Great, that fixed it.", Worked),
            ("ok good, so I have time. thanks", Thanks),
            ("Danke, hat geklappt!", Worked),
            ("Gracias, funcionó.", Worked),
            ("Merci, ça marche", Worked),
            ("merci ca marche", Worked),
            ("Grazie, ha funzionato", Worked),
            ("Obrigado, funcionou!", Worked),
            ("Bedankt, het werkt", Worked),
            ("Vielen Dank!", Thanks),
            ("¡Gracias, nada más!", Thanks),
        ] {
            assert_eq!(lexicon.praise(message), Some(sense), "{message:?}");
        }
    }

    #[test]
    fn declined_offers_failures_and_open_questions_are_not_praise() {
        let lexicon = Lexicon::new();
        for message in [
            "no thanks",
            "No thank you, that's all.",
            "Thanks, but it still doesn't work",
            "great, it didn't work",
            "Nein danke",
            "Danke, aber es hat nicht geklappt",
            "no funciona, gracias",
            "gracias, pero sigue sin funcionar",
            "merci, mais ça ne marche pas",
            "grazie, non funziona",
            "obrigado, não funcionou",
            "bedankt, maar het werkt niet",
            "thanks! and where is my parcel?",
            "I would like to return my tent",
            "that's wrong",
        ] {
            assert_eq!(lexicon.praise(message), None, "{message:?}");
        }
    }

    #[test]
    fn praise_and_its_undoing_are_both_heard_in_every_language() {
        let lexicon = Lexicon::new();
        // Each language: a thanks, a pleased word, a "that worked", and a
        // praise that a "but", a "still not" or a failure takes back.
        let cases: [(&str, [&str; 3], [&str; 2]); 7] = [
            (
                "en",
                ["thank you", "excellent", "that fixed it"],
                [
                    "thanks, but the app still doesn't open",
                    "great, it didn't work",
                ],
            ),
            (
                "de",
                ["vielen Dank", "toll", "geht jetzt"],
                ["danke, geht aber immer noch nicht", "super, klappt nicht"],
            ),
            (
                "es",
                ["muchas gracias", "estupendo", "me sirvió"],
                ["gracias, pero todavía no funciona", "genial, aún no va"],
            ),
            (
                "fr",
                ["je vous remercie", "nickel", "c'est réglé"],
                ["merci, mais ça ne marche pas", "super, toujours pas résolu"],
            ),
            (
                "it",
                ["ti ringrazio", "fantastico", "ora va"],
                ["grazie, ma non va", "perfetto, ancora non funziona"],
            ),
            (
                "pt",
                ["agradeço", "excelente", "resolveu"],
                ["obrigado, mas ainda não funciona", "ótimo, não resolveu"],
            ),
            (
                "nl",
                ["dank je", "geweldig", "het is gelukt"],
                ["bedankt, maar het werkt nog steeds niet", "top, lukt niet"],
            ),
        ];
        for (language, praise, undone) in cases {
            for (message, sense) in praise.iter().zip([Thanks, Pleased, Worked]) {
                assert_eq!(
                    lexicon.praise(message),
                    Some(sense),
                    "{language}: {message}"
                );
            }
            for message in undone {
                assert_eq!(lexicon.praise(message), None, "{language}: {message}");
            }
        }
    }

    #[test]
    fn a_phrase_inside_a_longer_word_does_not_count() {
        let lexicon = Lexicon::new();
        // "ty" in "pretty", "ma" in "manual", "great" in "greatest": words, not substrings.
        assert_eq!(lexicon.praise("pretty manual"), None);
        assert_eq!(lexicon.praise("the greatest hits"), None);
    }
}
