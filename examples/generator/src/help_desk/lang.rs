//! The languages employees write in, and phrase banks kept per language.
//!
//! Halden & Rowe works in English, but not everyone writes to the help desk
//! in it: most Rotterdam staff write Dutch now and then, some German, and
//! some Toronto staff French. An employee's language is fixed (see
//! `directory`); whether a conversation is in it or in English is drawn per
//! conversation, and the agent answers in the language it was addressed in.

use rand::rngs::StdRng;

use crate::text::pick;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
    De,
    Fr,
    Es,
}

/// One phrase bank in every language. Each list is non-empty.
pub struct Bank {
    pub en: &'static [&'static str],
    pub nl: &'static [&'static str],
    pub de: &'static [&'static str],
    pub fr: &'static [&'static str],
    pub es: &'static [&'static str],
}

impl Bank {
    pub fn of(&self, lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::En => self.en,
            Lang::Nl => self.nl,
            Lang::De => self.de,
            Lang::Fr => self.fr,
            Lang::Es => self.es,
        }
    }

    /// One phrase in `lang`, uniformly.
    pub fn pick(&self, rng: &mut StdRng, lang: Lang) -> &'static str {
        pick(rng, self.of(lang))
    }
}

/// The employee says yes to a confirmation question (English: `phrases::CONFIRM_YES`).
pub const YES: Bank = Bank {
    en: super::phrases::CONFIRM_YES,
    nl: &[
        "ja graag",
        "Ja, doe maar",
        "ja",
        "prima, ga je gang",
        "Ja hoor",
        "graag!",
    ],
    de: &[
        "ja bitte",
        "Ja, gerne",
        "ja, mach das",
        "passt, bitte",
        "Ja.",
    ],
    fr: &[
        "oui svp",
        "Oui, merci",
        "oui, vas-y",
        "d'accord, allez-y",
        "Oui.",
    ],
    es: &["sí, por favor", "Sí, adelante", "vale", "sí gracias"],
};

/// The agent's "anything else?" (English: `phrases::ANYTHING_ELSE`).
pub const ANYTHING_ELSE: Bank = Bank {
    en: super::phrases::ANYTHING_ELSE,
    nl: &[
        "Kan ik je nog ergens anders mee helpen?",
        "Is er verder nog iets?",
    ],
    de: &[
        "Kann ich sonst noch etwas für dich tun?",
        "Gibt es noch etwas, wobei ich helfen kann?",
    ],
    fr: &[
        "Est-ce que je peux t'aider avec autre chose ?",
        "Autre chose ?",
    ],
    es: &["¿Puedo ayudarte con algo más?", "¿Algo más?"],
};

/// Closings after a good answer (English: `phrases::CLOSINGS`). Some start
/// with "no", "nee", "nein", "non": they are not corrections.
pub const CLOSINGS: Bank = Bank {
    en: super::phrases::CLOSINGS,
    nl: &[
        "nee, dat was alles, bedankt",
        "Top, dank je",
        "nee hoor, thanks",
        "super, bedankt!",
        "dank je wel",
    ],
    de: &[
        "nein, das war's, danke",
        "Super, danke!",
        "passt, vielen Dank",
        "nein danke, alles gut",
    ],
    fr: &[
        "non, c'est tout, merci",
        "Parfait, merci !",
        "super, merci beaucoup",
        "non merci, ça ira",
    ],
    es: &[
        "no, eso es todo, gracias",
        "¡Perfecto, gracias!",
        "genial, gracias",
    ],
};
