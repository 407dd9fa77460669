//! Small multilingual marker tables: the few words that say a user is pushing
//! back, stopping the agent, or closing the conversation, in English, German,
//! Spanish, French, Italian, Portuguese and Dutch.
//!
//! These tables are data, not settings, and deliberately short: they hold
//! grammar words (negations, "wait", "why did you", "I only wanted", "I asked
//! for", "I said", "again", "please", yes-words, "also", question words),
//! whole statements about the answer ("das stimmt nicht", "c'est faux", "wie
//! gesagt") and closings, never a domain's words. What makes a message a
//! correction is the structure around it (see [`crate::correction`]): who spoke
//! before, whether the agent asked a question, which tool call it made and
//! whether it succeeded. Every phrase is written lowercase, without apostrophes
//! and without accents, and is matched at word boundaries on a message passed
//! through [`Words::of`]; the language column is for the reader who extends a
//! language, matching does not use it.

use std::borrow::Cow;
use std::sync::OnceLock;

use reverie_rule_sdk::text::{self, WordMap};

/// The marker tables, each a bit in [`Head`]'s masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Negations,
    Holds,
    Challenges,
    Restrictions,
    Volitions,
    Relatives,
    BackReferences,
    Closings,
    TermNegations,
    Sayings,
    Agains,
    Preferences,
    Confirmations,
    Additions,
    QuestionWords,
    Wrongs,
    Misreads,
    Alreadys,
}

impl Table {
    const ALL: [(Table, &'static [(&'static str, &'static str)]); 18] = [
        (Table::Negations, NEGATIONS),
        (Table::Holds, HOLDS),
        (Table::Challenges, CHALLENGES),
        (Table::Restrictions, RESTRICTIONS),
        (Table::Volitions, VOLITIONS),
        (Table::Relatives, RELATIVES),
        (Table::BackReferences, BACK_REFERENCES),
        (Table::Closings, CLOSINGS),
        (Table::TermNegations, TERM_NEGATIONS),
        (Table::Sayings, SAYINGS),
        (Table::Agains, AGAINS),
        (Table::Preferences, PREFERENCES),
        (Table::Confirmations, CONFIRMATIONS),
        (Table::Additions, ADDITIONS),
        (Table::QuestionWords, QUESTION_WORDS),
        (Table::Wrongs, WRONGS),
        (Table::Misreads, MISREADS),
        (Table::Alreadys, ALREADYS),
    ];

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// What the tables hold for one word: the phrases starting with it.
struct Head {
    /// The tables with a phrase starting with the word.
    starts: u32,
    /// The tables with the word as a whole one-word phrase.
    alone: u32,
    /// The phrases starting with the word, each table's in table order.
    phrases: Vec<(Table, Vec<&'static str>)>,
}

/// Every table's phrases by their first word, built once. A message's words
/// are each looked up once (see [`Words::of`]); the several tables a reply is
/// checked against then read the masks, not the words.
fn heads() -> &'static WordMap<Head> {
    static HEADS: OnceLock<WordMap<Head>> = OnceLock::new();
    HEADS.get_or_init(|| {
        let mut heads: Vec<(&'static str, Head)> = Vec::new();
        for (table, phrases) in Table::ALL {
            for (_, phrase) in phrases {
                let words: Vec<&'static str> = phrase.split(' ').collect();
                let Some(first) = words.first().copied() else {
                    continue;
                };
                let at = match heads.iter().position(|(w, _)| *w == first) {
                    Some(at) => at,
                    None => {
                        heads.push((
                            first,
                            Head {
                                starts: 0,
                                alone: 0,
                                phrases: Vec::new(),
                            },
                        ));
                        heads.len() - 1
                    }
                };
                let head = &mut heads[at].1;
                head.starts |= table.bit();
                if words.len() == 1 {
                    head.alone |= table.bit();
                }
                head.phrases.push((table, words));
            }
        }
        WordMap::new(heads)
    })
}

/// Words that negate or refuse. English contractions are listed without their
/// apostrophe, as [`Words::of`] writes them ("didn't" is `didnt`).
const NEGATIONS: &[(&str, &str)] = &[
    ("en", "not"),
    ("en", "no"),
    ("en", "never"),
    ("en", "nope"),
    ("en", "dont"),
    ("en", "didnt"),
    ("en", "doesnt"),
    ("en", "isnt"),
    ("en", "wasnt"),
    ("en", "arent"),
    ("en", "werent"),
    ("en", "cant"),
    ("en", "cannot"),
    ("en", "wont"),
    ("en", "wouldnt"),
    ("en", "havent"),
    ("en", "hasnt"),
    ("de", "nicht"),
    ("de", "kein"),
    ("de", "keine"),
    ("de", "keinen"),
    ("de", "nein"),
    ("de", "nie"),
    ("es", "nunca"),
    ("fr", "pas"),
    ("fr", "non"),
    ("fr", "jamais"),
    ("it", "mai"),
    ("pt", "nao"),
    ("nl", "niet"),
    ("nl", "geen"),
    ("nl", "nee"),
    ("nl", "nooit"),
];

/// Interjections that stop the agent: "wait", "hang on".
const HOLDS: &[(&str, &str)] = &[
    ("en", "wait"),
    ("en", "hang on"),
    ("en", "hold on"),
    ("en", "whoa"),
    ("en", "woah"),
    ("de", "warte"),
    ("de", "warten sie"),
    ("de", "moment mal"),
    ("es", "espera"),
    ("es", "espere"),
    ("es", "un momento"),
    ("fr", "attends"),
    ("fr", "attendez"),
    ("it", "aspetta"),
    ("it", "aspetti"),
    ("it", "un attimo"),
    ("pt", "espera"),
    ("pt", "perai"),
    ("nl", "wacht"),
];

/// A question that challenges what the agent just did: "why did you".
const CHALLENGES: &[(&str, &str)] = &[
    ("en", "why did you"),
    ("en", "why would you"),
    ("en", "why have you"),
    ("de", "warum hast du"),
    ("de", "warum haben sie"),
    ("de", "wieso hast du"),
    ("de", "wieso haben sie"),
    ("es", "por que lo hiciste"),
    ("es", "por que hiciste"),
    ("es", "por que lo ha"),
    ("fr", "pourquoi as tu"),
    ("fr", "pourquoi avez vous"),
    ("fr", "pourquoi tu as"),
    ("fr", "pourquoi vous avez"),
    ("it", "perche hai"),
    ("it", "perche lhai"),
    ("pt", "por que voce"),
    ("pt", "porque voce"),
    ("nl", "waarom heb je"),
    ("nl", "waarom heeft u"),
];

/// The user narrows what they wanted: "I only wanted to know", "it was just a question".
const RESTRICTIONS: &[(&str, &str)] = &[
    ("en", "only wanted"),
    ("en", "just wanted"),
    ("en", "only asked"),
    ("en", "only asking"),
    ("en", "just asking"),
    ("en", "only a question"),
    ("en", "just a question"),
    ("de", "wollte nur"),
    ("de", "nur gefragt"),
    ("de", "nur eine frage"),
    ("es", "solo queria"),
    ("es", "solo pregunte"),
    ("es", "solo preguntaba"),
    ("es", "solo era una pregunta"),
    ("fr", "voulais juste"),
    ("fr", "voulais seulement"),
    ("fr", "demandais juste"),
    ("fr", "juste une question"),
    ("it", "volevo solo"),
    ("it", "chiedevo solo"),
    ("it", "solo una domanda"),
    ("pt", "so queria"),
    ("pt", "so perguntei"),
    ("pt", "apenas perguntei"),
    ("pt", "so uma pergunta"),
    ("nl", "wilde alleen"),
    ("nl", "vroeg alleen"),
    ("nl", "alleen een vraag"),
];

/// Verbs of wanting or asking: negated ("I didn't want", "ich wollte nicht",
/// "je n'ai pas demandé"), they say the agent did what nobody asked for.
const VOLITIONS: &[(&str, &str)] = &[
    ("en", "want"),
    ("en", "wanted"),
    ("en", "ask"),
    ("en", "asked"),
    ("en", "said"),
    ("de", "wollte"),
    ("de", "gefragt"),
    ("de", "gebeten"),
    ("de", "gesagt"),
    ("es", "queria"),
    ("es", "pedi"),
    ("es", "pedido"),
    ("es", "dije"),
    ("fr", "voulais"),
    ("fr", "demande"),
    ("fr", "dit"),
    ("it", "volevo"),
    ("it", "chiesto"),
    ("it", "detto"),
    ("pt", "queria"),
    ("pt", "pedi"),
    ("pt", "disse"),
    ("nl", "wilde"),
    ("nl", "gevraagd"),
    ("nl", "gezegd"),
];

/// Words that turn a negated verb into a statement about the answer's
/// content: "that's not *what* I asked" rejects what the agent said, not what
/// it did, so it is left to the misunderstood-request phrases.
const RELATIVES: &[(&str, &str)] = &[
    ("en", "what"),
    ("de", "was"),
    ("es", "que"),
    ("es", "lo"),
    ("fr", "ce"),
    ("fr", "que"),
    ("it", "quello"),
    ("it", "che"),
    ("pt", "que"),
    ("pt", "o"),
    ("nl", "wat"),
];

/// The user points back at their own request: "I asked for", "ich wollte".
/// A back-reference is a correction only when the words after it restate
/// something the user wrote earlier (see [`crate::correction`]).
const BACK_REFERENCES: &[(&str, &str)] = &[
    ("en", "i asked for"),
    ("en", "i asked about"),
    ("en", "i was asking for"),
    ("en", "i wanted"),
    ("en", "i need"),
    ("en", "i said"),
    ("de", "ich wollte"),
    ("de", "ich habe nach"),
    ("de", "ich suche"),
    ("de", "ich sagte"),
    ("de", "ich brauche"),
    ("es", "pedi"),
    ("es", "necesito"),
    ("es", "pregunte por"),
    ("es", "pregunte sobre"),
    ("es", "yo queria"),
    ("es", "dije"),
    ("fr", "jai demande"),
    ("fr", "je voulais"),
    ("fr", "jai dit"),
    ("fr", "jai besoin"),
    ("it", "ho chiesto"),
    ("it", "ho bisogno"),
    ("it", "mi serve"),
    ("it", "volevo"),
    ("it", "ho detto"),
    ("pt", "eu pedi"),
    ("pt", "eu queria"),
    ("pt", "eu disse"),
    ("pt", "eu preciso"),
    ("pt", "perguntei sobre"),
    ("nl", "ik vroeg"),
    ("nl", "ik zoek"),
    ("nl", "ik wilde"),
    ("nl", "ik zei"),
];

/// Closings: the user declines more help or signs off. A reply that closes is
/// never a correction, however many "no"s it has ("no thanks", "nein danke").
const CLOSINGS: &[(&str, &str)] = &[
    ("en", "thanks"),
    ("en", "thank you"),
    ("en", "thx"),
    ("en", "cheers"),
    ("en", "thats all"),
    ("en", "thats it"),
    ("en", "thats everything"),
    ("en", "all set"),
    ("en", "im good"),
    ("en", "all good"),
    ("en", "all sorted"),
    ("en", "nothing else"),
    ("en", "never mind"),
    ("en", "no need"),
    ("en", "no problem"),
    ("en", "its fine"),
    ("de", "danke"),
    ("de", "das wars"),
    ("de", "das ist alles"),
    ("de", "alles gut"),
    ("de", "nichts mehr"),
    ("de", "passt schon"),
    ("es", "gracias"),
    ("es", "eso es todo"),
    ("es", "nada mas"),
    ("es", "todo bien"),
    ("es", "estoy bien"),
    ("fr", "merci"),
    ("fr", "cest tout"),
    ("fr", "rien dautre"),
    ("fr", "ca ira"),
    ("it", "grazie"),
    ("it", "e tutto"),
    ("it", "niente altro"),
    ("it", "a posto"),
    ("it", "tutto bene"),
    ("pt", "obrigado"),
    ("pt", "obrigada"),
    ("pt", "e so isso"),
    ("pt", "mais nada"),
    ("pt", "tudo certo"),
    ("pt", "tudo bem"),
    ("nl", "bedankt"),
    ("nl", "dank"),
    ("nl", "dankjewel"),
    ("nl", "dat is alles"),
    ("nl", "dat was het"),
    ("nl", "niets meer"),
    // Goodbyes: a user who signs off corrects nothing.
    ("en", "bye"),
    ("en", "goodbye"),
    ("en", "see you"),
    ("en", "have a nice day"),
    ("de", "tschuss"),
    ("de", "auf wiedersehen"),
    ("de", "bis dann"),
    ("de", "schonen tag"),
    ("es", "adios"),
    ("es", "hasta luego"),
    ("es", "chao"),
    ("fr", "au revoir"),
    ("fr", "a bientot"),
    ("fr", "bonne journee"),
    ("it", "arrivederci"),
    ("it", "ciao"),
    ("it", "a presto"),
    ("pt", "tchau"),
    ("pt", "ate logo"),
    ("pt", "ate mais"),
    ("nl", "doei"),
    ("nl", "tot ziens"),
    ("nl", "fijne dag"),
];

/// Negations that can stand before a noun, a code or a figure ("not USD",
/// "nicht in USD", "no en dólares", "pas en dollars"): the ones that negate a
/// term of the agent's answer rather than a verb ("didn't" is not here). "no",
/// "non" and "não" also open a sentence as an interjection ("No, ..."): see
/// [`Words::negated_terms`].
const TERM_NEGATIONS: &[(&str, &str)] = &[
    ("en", "not"),
    ("en", "no"),
    ("de", "nicht"),
    ("de", "kein"),
    ("de", "keine"),
    ("de", "keinen"),
    ("es", "no"),
    ("fr", "pas"),
    ("fr", "non"),
    ("it", "non"),
    ("pt", "nao"),
    ("nl", "niet"),
    ("nl", "geen"),
];

/// Term negations that also open a sentence as a plain "no".
const INTERJECTIONS: &[&str] = &["no", "non", "nao"];

/// Words for a plain "no" that, right before "I said", answer the agent
/// rather than negate the saying ("No, I said Friday").
const INTERJECTIONS_BEFORE_SAYING: &[&str] = &["no", "nein", "non", "nao", "nee"];

/// A plain "no" in the seven languages, as a reply to a yes-or-no question.
const PLAIN_NO: &[&str] = &["no", "nope", "nah", "nein", "non", "nao", "nee"];

/// The user says what they said: "I said", "ich sagte". What follows names
/// what they want instead of what the answer gave.
const SAYINGS: &[(&str, &str)] = &[
    ("en", "i said"),
    ("en", "i told you"),
    ("de", "ich sagte"),
    ("de", "ich hab gesagt"),
    ("de", "ich habe gesagt"),
    ("de", "ich habe doch gesagt"),
    ("es", "dije"),
    ("es", "te dije"),
    ("es", "he dicho"),
    ("fr", "jai dit"),
    ("fr", "je vous ai dit"),
    ("fr", "je tai dit"),
    ("it", "ho detto"),
    ("it", "ti ho detto"),
    ("pt", "eu disse"),
    ("pt", "falei"),
    ("pt", "eu falei"),
    ("nl", "ik zei"),
    ("nl", "ik heb gezegd"),
];

/// "Again": in a verbless sentence with a term of the answer ("Dollars
/// again?", "Schon wieder Dollar?"), the user says the agent repeated a mistake.
const AGAINS: &[(&str, &str)] = &[
    ("en", "again"),
    ("en", "once more"),
    ("de", "schon wieder"),
    ("de", "wieder"),
    ("de", "nochmal"),
    ("de", "erneut"),
    ("es", "otra vez"),
    ("es", "de nuevo"),
    ("es", "nuevamente"),
    ("fr", "encore"),
    ("fr", "de nouveau"),
    ("fr", "a nouveau"),
    ("it", "di nuovo"),
    ("it", "ancora"),
    ("it", "un altra volta"),
    ("pt", "de novo"),
    ("pt", "outra vez"),
    ("pt", "novamente"),
    ("nl", "alweer"),
    ("nl", "weer"),
    ("nl", "opnieuw"),
];

/// Politeness and preference words that turn a bare term into a request for
/// it: "EUR please", "Bitte in Euro", "en euros, por favor", "X instead".
const PREFERENCES: &[(&str, &str)] = &[
    ("en", "please"),
    ("en", "pls"),
    ("en", "plz"),
    ("en", "instead"),
    ("en", "rather"),
    ("de", "bitte"),
    ("de", "stattdessen"),
    ("de", "lieber"),
    ("es", "por favor"),
    ("es", "porfa"),
    ("es", "mejor"),
    ("es", "en cambio"),
    ("es", "en su lugar"),
    ("fr", "sil vous plait"),
    ("fr", "sil te plait"),
    ("fr", "svp"),
    ("fr", "stp"),
    ("fr", "plutot"),
    ("fr", "a la place"),
    ("it", "per favore"),
    ("it", "per piacere"),
    ("it", "invece"),
    ("it", "piuttosto"),
    ("pt", "por favor"),
    ("pt", "em vez disso"),
    ("pt", "de preferencia"),
    ("nl", "alsjeblieft"),
    ("nl", "alstublieft"),
    ("nl", "graag"),
    ("nl", "liever"),
    ("nl", "in plaats daarvan"),
];

/// Yes and go-ahead words: a reply opening with one confirms what the agent
/// proposed ("yes, please proceed", "sí, adelante"); it replaces nothing.
const CONFIRMATIONS: &[(&str, &str)] = &[
    ("en", "yes"),
    ("en", "yeah"),
    ("en", "yep"),
    ("en", "sure"),
    ("en", "ok"),
    ("en", "okay"),
    ("en", "go ahead"),
    ("en", "sounds good"),
    ("en", "proceed"),
    ("de", "ja"),
    ("de", "klar"),
    ("de", "gerne"),
    ("de", "einverstanden"),
    ("de", "genau"),
    ("de", "mach das"),
    ("de", "machen sie das"),
    ("es", "si"),
    ("es", "vale"),
    ("es", "claro"),
    ("es", "dale"),
    ("es", "adelante"),
    ("es", "de acuerdo"),
    ("fr", "oui"),
    ("fr", "daccord"),
    ("fr", "allez y"),
    ("fr", "vas y"),
    ("fr", "bien sur"),
    ("it", "certo"),
    ("it", "va bene"),
    ("it", "procedi"),
    ("it", "vai"),
    ("pt", "sim"),
    ("pt", "pode"),
    ("pt", "beleza"),
    ("pt", "combinado"),
    ("nl", "ja"),
    ("nl", "prima"),
    ("nl", "goed"),
    ("nl", "oke"),
    ("nl", "doe maar"),
];

/// The user says the answer is wrong: "das stimmt nicht", "no es cierto",
/// "c'est faux". Whole statements about the answer, so a "wrong" that
/// describes something else ("I typed the wrong code") is not one. English is
/// the phrase list's of [`crate::correction`].
const WRONGS: &[(&str, &str)] = &[
    ("de", "das stimmt nicht"),
    ("de", "stimmt nicht"),
    ("de", "stimmt so nicht"),
    ("de", "das ist falsch"),
    ("de", "ist falsch"),
    ("de", "nicht richtig"),
    ("de", "nicht korrekt"),
    ("de", "sie irren sich"),
    ("de", "du irrst dich"),
    ("es", "no es cierto"),
    ("es", "no es correcto"),
    ("es", "no es verdad"),
    ("es", "es incorrecto"),
    ("es", "eso esta mal"),
    ("es", "esta mal"),
    ("es", "se equivoca"),
    ("es", "te equivocas"),
    ("es", "es falso"),
    ("fr", "cest faux"),
    ("fr", "pas correct"),
    ("fr", "pas vrai"),
    ("fr", "cest inexact"),
    ("fr", "vous vous trompez"),
    ("fr", "tu te trompes"),
    ("it", "non e vero"),
    ("it", "e sbagliato"),
    ("it", "non e corretto"),
    ("it", "non e giusto"),
    ("it", "ti sbagli"),
    ("it", "si sbaglia"),
    ("pt", "nao e verdade"),
    ("pt", "esta errado"),
    ("pt", "nao esta certo"),
    ("pt", "nao e correto"),
    ("pt", "esta enganado"),
    ("pt", "se enganou"),
    ("nl", "dat klopt niet"),
    ("nl", "klopt niet"),
    ("nl", "is fout"),
    ("nl", "is onjuist"),
    ("nl", "niet juist"),
    ("nl", "niet correct"),
    ("nl", "je vergist je"),
    ("nl", "u vergist zich"),
];

/// The user says the agent misunderstood: "das meinte ich nicht", "no es lo
/// que pregunté". English is the phrase list's of [`crate::correction`].
const MISREADS: &[(&str, &str)] = &[
    ("de", "nicht was ich"),
    ("de", "nicht das was ich"),
    ("de", "meinte ich nicht"),
    ("de", "habe ich nicht gefragt"),
    ("de", "falsch verstanden"),
    ("de", "missverstanden"),
    ("es", "no es lo que"),
    ("es", "no me refiero"),
    ("es", "no me referia"),
    ("es", "no pregunte eso"),
    ("es", "me entendiste mal"),
    ("es", "me entendio mal"),
    ("fr", "pas ce que jai"),
    ("fr", "pas ce que je"),
    ("fr", "mal compris"),
    ("it", "non e quello che"),
    ("it", "non intendevo"),
    ("it", "capito male"),
    ("it", "frainteso"),
    ("pt", "nao e o que"),
    ("pt", "nao foi isso que"),
    ("pt", "entendeu mal"),
    ("nl", "niet wat ik"),
    ("nl", "bedoelde ik niet"),
    ("nl", "verkeerd begrepen"),
];

/// The user says they already gave it: "wie gesagt", "ya te lo dije", "déjà
/// dit". English is the phrase list's of [`crate::correction`].
const ALREADYS: &[(&str, &str)] = &[
    ("de", "schon gesagt"),
    ("de", "bereits gesagt"),
    ("de", "schon gegeben"),
    ("de", "bereits gegeben"),
    ("de", "schon geschrieben"),
    ("de", "bereits geschrieben"),
    ("de", "schon angegeben"),
    ("de", "bereits angegeben"),
    ("de", "wie gesagt"),
    ("de", "steht doch oben"),
    ("es", "ya te dije"),
    ("es", "ya le dije"),
    ("es", "ya lo dije"),
    ("es", "ya te lo"),
    ("es", "ya se lo"),
    ("es", "ya te di"),
    ("es", "ya le di"),
    ("es", "ya lo puse"),
    ("es", "como te dije"),
    ("es", "como le dije"),
    ("es", "como ya dije"),
    ("fr", "deja dit"),
    ("fr", "deja donne"),
    ("fr", "deja indique"),
    ("fr", "deja ecrit"),
    ("fr", "comme je lai dit"),
    ("it", "gia detto"),
    ("it", "gia dato"),
    ("it", "gia scritto"),
    ("it", "come ho detto"),
    ("it", "come ti ho detto"),
    ("pt", "ja disse"),
    ("pt", "ja falei"),
    ("pt", "ja dei"),
    ("pt", "ja lhe dei"),
    ("pt", "ja te dei"),
    ("pt", "ja lhe disse"),
    ("pt", "ja te disse"),
    ("pt", "ja informei"),
    ("pt", "ja escrevi"),
    ("pt", "como eu disse"),
    ("nl", "al gezegd"),
    ("nl", "al gegeven"),
    ("nl", "al doorgegeven"),
    ("nl", "al geschreven"),
    ("nl", "zoals ik zei"),
    ("nl", "zoals gezegd"),
];

/// Words that add to a request rather than replace part of it: "and also in
/// euros?" asks for more after a good answer; it corrects nothing.
const ADDITIONS: &[(&str, &str)] = &[
    ("en", "also"),
    ("en", "and"),
    ("en", "too"),
    ("en", "as well"),
    ("en", "another"),
    ("de", "auch"),
    ("de", "und"),
    ("de", "noch ein"),
    ("es", "tambien"),
    ("es", "y"),
    ("es", "ademas"),
    ("fr", "aussi"),
    ("fr", "et"),
    ("fr", "egalement"),
    ("it", "anche"),
    ("it", "pure"),
    ("pt", "tambem"),
    ("nl", "ook"),
];

/// Words of an open question ("which", "welche", "cuál", "quel"): a term in
/// the reply may answer it. "Or" is here too: "USD or EUR?" asks to choose.
const QUESTION_WORDS: &[(&str, &str)] = &[
    ("en", "which"),
    ("en", "what"),
    ("en", "whats"),
    ("en", "wheres"),
    ("en", "whos"),
    ("en", "hows"),
    ("en", "when"),
    ("en", "where"),
    ("en", "who"),
    ("en", "how"),
    ("en", "or"),
    ("en", "why"),
    ("en", "whose"),
    ("de", "welche"),
    ("de", "welcher"),
    ("de", "welches"),
    ("de", "welchen"),
    ("de", "was"),
    ("de", "wann"),
    ("de", "wo"),
    ("de", "wohin"),
    ("de", "wer"),
    ("de", "wie"),
    ("de", "oder"),
    ("de", "womit"),
    ("de", "wofur"),
    ("de", "woher"),
    ("de", "wieviel"),
    ("de", "wieviele"),
    ("de", "warum"),
    ("es", "cual"),
    ("es", "cuales"),
    ("es", "que"),
    ("es", "cuando"),
    ("es", "donde"),
    ("es", "quien"),
    ("es", "como"),
    ("es", "cuanto"),
    ("es", "cuantos"),
    ("es", "o"),
    ("fr", "quel"),
    ("fr", "quelle"),
    ("fr", "quels"),
    ("fr", "quelles"),
    ("fr", "quand"),
    ("fr", "ou"),
    ("fr", "qui"),
    ("fr", "comment"),
    ("fr", "combien"),
    ("fr", "quoi"),
    ("fr", "quest"),
    ("fr", "pourquoi"),
    ("fr", "lequel"),
    ("fr", "laquelle"),
    ("it", "quale"),
    ("it", "quali"),
    ("it", "cosa"),
    ("it", "quando"),
    ("it", "dove"),
    ("it", "chi"),
    ("it", "come"),
    ("it", "quanto"),
    ("it", "quanti"),
    ("it", "o"),
    ("it", "perche"),
    ("pt", "qual"),
    ("pt", "quais"),
    ("pt", "quando"),
    ("pt", "onde"),
    ("pt", "quem"),
    ("pt", "como"),
    ("pt", "quanto"),
    ("pt", "quantos"),
    ("pt", "ou"),
    ("nl", "welke"),
    ("nl", "welk"),
    ("nl", "wat"),
    ("nl", "wanneer"),
    ("nl", "waar"),
    ("nl", "wie"),
    ("nl", "hoe"),
    ("nl", "hoeveel"),
    ("nl", "of"),
    ("nl", "waarom"),
    ("nl", "waarmee"),
];

/// Grammar words that say nothing about what a sentence is about: articles,
/// pronouns, prepositions, auxiliaries and conjunctions, besides the English
/// ones of [`text::STOPWORDS`]. A sentence of the agent is tied to a prompt
/// sentence by the words left when these are gone, so "within" or "innerhalb"
/// must not be what ties them.
const FUNCTION_WORDS: &[(&str, &str)] = &[
    ("en", "within"),
    ("en", "each"),
    ("en", "every"),
    ("en", "once"),
    ("en", "until"),
    ("en", "per"),
    ("en", "only"),
    ("en", "over"),
    ("en", "under"),
    ("en", "least"),
    ("en", "most"),
    ("en", "more"),
    ("en", "less"),
    ("en", "may"),
    ("en", "must"),
    ("en", "should"),
    ("en", "shall"),
    ("en", "might"),
    ("en", "being"),
    ("en", "other"),
    ("en", "same"),
    ("en", "youll"),
    ("en", "youre"),
    ("en", "its"),
    ("en", "thats"),
    ("en", "theyll"),
    // Adverbs of time that say when, not what: "not yet", "todavía no".
    ("en", "yet"),
    ("en", "still"),
    ("de", "bereits"),
    ("de", "doch"),
    ("es", "todavia"),
    ("es", "aun"),
    ("es", "ya"),
    ("fr", "deja"),
    ("fr", "toujours"),
    ("it", "gia"),
    ("pt", "ainda"),
    ("pt", "ja"),
    ("nl", "nog"),
    ("nl", "al"),
    // Particles of phrasal verbs: "send it back" and "go back" are not one topic.
    ("en", "back"),
    ("en", "away"),
    ("de", "in"),
    ("de", "im"),
    ("de", "am"),
    ("de", "an"),
    ("de", "ans"),
    ("de", "ins"),
    ("de", "aufs"),
    ("de", "zu"),
    ("de", "um"),
    ("de", "mein"),
    ("de", "meine"),
    ("de", "meinen"),
    ("de", "der"),
    ("de", "die"),
    ("de", "das"),
    ("de", "den"),
    ("de", "dem"),
    ("de", "des"),
    ("de", "ein"),
    ("de", "eine"),
    ("de", "einen"),
    ("de", "einem"),
    ("de", "einer"),
    ("de", "eines"),
    ("de", "und"),
    ("de", "oder"),
    ("de", "aber"),
    ("de", "ist"),
    ("de", "sind"),
    ("de", "wird"),
    ("de", "werden"),
    ("de", "wurde"),
    ("de", "haben"),
    ("de", "hat"),
    ("de", "sein"),
    ("de", "ihr"),
    ("de", "ihre"),
    ("de", "ihren"),
    ("de", "ihrem"),
    ("de", "ihrer"),
    ("de", "sie"),
    ("de", "ich"),
    ("de", "wir"),
    ("de", "uns"),
    ("de", "mit"),
    ("de", "von"),
    ("de", "vom"),
    ("de", "zum"),
    ("de", "zur"),
    ("de", "bei"),
    ("de", "beim"),
    ("de", "nach"),
    ("de", "vor"),
    ("de", "innerhalb"),
    ("de", "fur"),
    ("de", "auf"),
    ("de", "aus"),
    ("de", "uber"),
    ("de", "unter"),
    ("de", "bis"),
    ("de", "seit"),
    ("de", "als"),
    ("de", "wie"),
    ("de", "wenn"),
    ("de", "dass"),
    ("de", "noch"),
    ("de", "schon"),
    ("de", "nur"),
    ("de", "auch"),
    ("de", "dann"),
    ("de", "kann"),
    ("de", "konnen"),
    ("de", "muss"),
    ("de", "soll"),
    ("de", "sollte"),
    ("de", "sich"),
    ("de", "jede"),
    ("de", "jeder"),
    ("de", "jedes"),
    ("de", "zuruck"),
    ("es", "la"),
    ("es", "lo"),
    ("es", "al"),
    ("es", "de"),
    ("es", "en"),
    ("es", "un"),
    ("es", "mi"),
    ("es", "tu"),
    ("es", "su"),
    ("es", "el"),
    ("es", "los"),
    ("es", "las"),
    ("es", "una"),
    ("es", "del"),
    ("es", "con"),
    ("es", "por"),
    ("es", "para"),
    ("es", "que"),
    ("es", "son"),
    ("es", "esta"),
    ("es", "estan"),
    ("es", "sus"),
    ("es", "dentro"),
    ("es", "despues"),
    ("es", "antes"),
    ("es", "hasta"),
    ("es", "como"),
    ("es", "mas"),
    ("fr", "ou"),
    ("fr", "le"),
    ("fr", "la"),
    ("fr", "de"),
    ("fr", "du"),
    ("fr", "au"),
    ("fr", "aux"),
    ("fr", "un"),
    ("fr", "et"),
    ("fr", "sur"),
    ("fr", "mon"),
    ("fr", "ma"),
    ("fr", "mes"),
    ("fr", "les"),
    ("fr", "une"),
    ("fr", "des"),
    ("fr", "dans"),
    ("fr", "avec"),
    ("fr", "par"),
    ("fr", "pour"),
    ("fr", "qui"),
    ("fr", "est"),
    ("fr", "sont"),
    ("fr", "sera"),
    ("fr", "votre"),
    ("fr", "vos"),
    ("fr", "notre"),
    ("fr", "nos"),
    ("fr", "cette"),
    ("fr", "ces"),
    ("fr", "elle"),
    ("fr", "ils"),
    ("fr", "vous"),
    ("fr", "nous"),
    ("fr", "son"),
    ("fr", "ses"),
    ("fr", "leur"),
    ("fr", "apres"),
    ("fr", "avant"),
    ("fr", "jusqu"),
    ("it", "la"),
    ("it", "le"),
    ("it", "lo"),
    ("it", "di"),
    ("it", "da"),
    ("it", "al"),
    ("it", "del"),
    ("it", "nel"),
    ("it", "un"),
    ("it", "mio"),
    ("it", "mia"),
    ("it", "il"),
    ("it", "gli"),
    ("it", "della"),
    ("it", "dei"),
    ("it", "con"),
    ("it", "per"),
    ("it", "che"),
    ("it", "sono"),
    ("it", "entro"),
    ("it", "dopo"),
    ("it", "prima"),
    ("it", "suo"),
    ("it", "sua"),
    ("pt", "ao"),
    ("pt", "ou"),
    ("pt", "meu"),
    ("pt", "minha"),
    ("pt", "de"),
    ("pt", "para"),
    ("pt", "os"),
    ("pt", "um"),
    ("pt", "uma"),
    ("pt", "do"),
    ("pt", "da"),
    ("pt", "dos"),
    ("pt", "das"),
    ("pt", "em"),
    ("pt", "no"),
    ("pt", "na"),
    ("pt", "com"),
    ("pt", "seu"),
    ("pt", "sua"),
    ("pt", "apos"),
    ("pt", "ate"),
    ("nl", "de"),
    ("nl", "te"),
    ("nl", "mijn"),
    ("nl", "om"),
    ("nl", "naar"),
    ("nl", "het"),
    ("nl", "een"),
    ("nl", "en"),
    ("nl", "van"),
    ("nl", "op"),
    ("nl", "met"),
    ("nl", "voor"),
    ("nl", "na"),
    ("nl", "binnen"),
    ("nl", "zijn"),
    ("nl", "wordt"),
    ("nl", "worden"),
    ("nl", "uw"),
    ("nl", "je"),
    ("nl", "jij"),
    ("nl", "wij"),
    ("nl", "dat"),
    ("nl", "dit"),
];

/// Whether a word, as [`Words::of`] writes it, is a grammar word of any of
/// the seven languages (an English stopword included) rather than one that
/// says what a sentence is about.
pub fn is_function_word(word: &str) -> bool {
    // Looked up for most words of the messages it reads: indexed once.
    static WORDS: OnceLock<WordMap<()>> = OnceLock::new();
    let words = WORDS.get_or_init(|| WordMap::new(FUNCTION_WORDS.iter().map(|(_, w)| (*w, ()))));
    text::is_stopword(word) || words.contains(word)
}

/// Whether a word as [`text::normalise`] writes it (accents kept) is a
/// grammar word ([`is_function_word`]) or a negation of one of the seven
/// languages: a word that says nothing of what a question asks. Folds the
/// accents of a non-ASCII word only.
pub fn is_grammar(word: &str) -> bool {
    let folded;
    let word = if word.is_ascii() && !word.contains('\'') {
        word
    } else {
        folded = text::fold_diacritics(&word.replace('\'', ""));
        folded.as_str()
    };
    is_function_word(word)
        || heads()
            .get(word)
            .is_some_and(|h| h.alone & (Table::Negations.bit() | Table::TermNegations.bit()) != 0)
}

/// A closing is short: past this many words a message says something more
/// than goodbye ("thanks, but I asked for women's boots").
const CLOSING_MAX_WORDS: usize = 8;

/// A negation counts as negating a verb of wanting or asking when the verb
/// comes at most this many words after it ("didn't want", "didn't ask you",
/// "ich habe das nicht gewollt" is beyond it, "je n'ai pas demandé" within).
const NEGATION_REACH: usize = 3;

/// Text as the tables read it, from [`text::normalise`]d text: without
/// apostrophes or accents. Borrowed when there is nothing to drop or fold, as
/// for most messages.
pub fn bare(normalised: &str) -> Cow<'_, str> {
    if normalised.is_ascii() {
        if normalised.contains('\'') {
            Cow::Owned(normalised.replace('\'', ""))
        } else {
            Cow::Borrowed(normalised)
        }
    } else {
        Cow::Owned(text::fold_diacritics(&normalised.replace('\'', "")))
    }
}

/// A message as the tables read it: lowercase words without apostrophes or
/// accents ("That’s NOT what I asked!" → `thats not what i asked`), each
/// looked up once in the tables.
pub struct Words<'a> {
    text: Cow<'a, str>,
    /// Byte ranges of the words in `text`.
    spans: Vec<(usize, usize)>,
    /// Per word, what the tables hold for it.
    heads: Vec<Option<&'static Head>>,
}

impl Words<'static> {
    pub fn of(message: &str) -> Words<'static> {
        let normalised = text::normalise(message);
        Words::read(Cow::Owned(bare(&normalised).into_owned()))
    }
}

impl<'a> Words<'a> {
    /// The words of a message already [`text::normalise`]d: for a caller that
    /// reads the normalised message for other purposes too.
    pub fn of_normalised(normalised: &'a str) -> Words<'a> {
        Words::read(bare(normalised))
    }

    fn read(text: Cow<'a, str>) -> Words<'a> {
        let mut spans = Vec::new();
        let mut start = 0;
        for (at, byte) in text.bytes().enumerate() {
            if byte == b' ' {
                if at > start {
                    spans.push((start, at));
                }
                start = at + 1;
            }
        }
        if text.len() > start {
            spans.push((start, text.len()));
        }
        let index = heads();
        let heads = spans
            .iter()
            .map(|&(from, to)| index.get(&text[from..to]))
            .collect();
        Words { text, spans, heads }
    }

    /// The word at `at`.
    fn word(&self, at: usize) -> &str {
        let (from, to) = self.spans[at];
        &self.text[from..to]
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|&(from, to)| &self.text[from..to])
    }

    pub fn as_slice(&self) -> Vec<&str> {
        self.iter().collect()
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Where the first phrase of `table` starts, and the phrase's length in
    /// words (at one position, phrases in table order).
    fn find(&self, table: Table) -> Option<(usize, usize)> {
        self.heads.iter().enumerate().find_map(|(at, head)| {
            let head = head.filter(|h| h.starts & table.bit() != 0)?;
            head.phrases
                .iter()
                .filter(|(t, _)| *t == table)
                .find_map(|(_, phrase)| {
                    let end = at + phrase.len();
                    (end <= self.len()
                        && phrase
                            .iter()
                            .enumerate()
                            .all(|(i, p)| self.word(at + i) == *p))
                    .then_some((at, phrase.len()))
                })
        })
    }

    fn has(&self, table: Table) -> bool {
        self.find(table).is_some()
    }

    /// Whether the word at `at` is a one-word phrase of `table`.
    fn is_alone(&self, at: usize, table: Table) -> bool {
        self.heads[at].is_some_and(|h| h.alone & table.bit() != 0)
    }

    /// Has a negation word ("not", "nicht", "pas", "não", ...).
    pub fn negates(&self) -> bool {
        self.has(Table::Negations)
    }

    /// Stops the agent, challenges what it did, narrows what the user wanted,
    /// or negates a verb of wanting or asking: the markers of a rejected action
    /// that a plain "no" is not.
    pub fn rejects_action(&self) -> bool {
        self.has(Table::Holds)
            || self.has(Table::Challenges)
            || self.has(Table::Restrictions)
            || self.negated_volition()
    }

    fn negated_volition(&self) -> bool {
        // "No, I said Friday", "Nein, ich sagte Euro": a plain no and then
        // what the user said restate a request; they reject no action.
        let restates = self.len() > 1
            && INTERJECTIONS_BEFORE_SAYING.contains(&self.word(0))
            && self.find(Table::Sayings).is_some_and(|(at, _)| at == 1);
        if restates {
            return false;
        }
        (0..self.len()).any(|at| {
            if !self.is_alone(at, Table::Negations) {
                return false;
            }
            let reach = at + 1..(at + 1 + NEGATION_REACH).min(self.len());
            reach
                .clone()
                .find(|&w| self.is_alone(w, Table::Volitions))
                .is_some_and(|verb| {
                    !(reach.start..verb).any(|w| self.is_alone(w, Table::Relatives))
                })
        })
    }

    /// The word at `at`, as the tables read it.
    pub fn word_at(&self, at: usize) -> &str {
        self.word(at)
    }

    /// Whether `phrase` starts at `at`.
    fn matches_at(&self, at: usize, phrase: &[&str]) -> bool {
        at + phrase.len() <= self.len()
            && phrase
                .iter()
                .enumerate()
                .all(|(i, p)| self.word(at + i) == *p)
    }

    /// Per word, whether a phrase of any table covers it: such words are
    /// grammar, never a term the user names.
    pub fn marked(&self) -> Vec<bool> {
        let mut marked = vec![false; self.len()];
        for (at, head) in self.heads.iter().enumerate() {
            let Some(head) = head else { continue };
            for (_, phrase) in &head.phrases {
                if self.matches_at(at, phrase) {
                    marked[at..at + phrase.len()].fill(true);
                }
            }
        }
        marked
    }

    /// Whether the word at `at` can negate a term ("not", "nicht", "pas").
    pub fn is_term_negation(&self, at: usize) -> bool {
        self.is_alone(at, Table::TermNegations)
    }

    /// Whether the word at `at` is a negation that also opens a sentence as a
    /// plain "no" ("No, ...", "Non, ...", "Não, ...").
    pub fn is_interjection(&self, at: usize) -> bool {
        INTERJECTIONS.contains(&self.word(at))
    }

    /// The word at `at` is a plain "no" (`nein`, `nee`, `non`, ...).
    pub fn is_plain_no(&self, at: usize) -> bool {
        PLAIN_NO.contains(&self.word(at))
    }

    /// Has a word a term correction can rest on: a term negation, "again",
    /// "please" or "instead", or "I said". A reply without one is read no
    /// further for terms (unless it is a fragment of a few words).
    pub fn may_replace(&self) -> bool {
        self.heads.iter().flatten().any(|h| {
            h.starts
                & (Table::TermNegations.bit()
                    | Table::Agains.bit()
                    | Table::Preferences.bit()
                    | Table::Sayings.bit())
                != 0
        })
    }

    /// Has a word that no table starts a phrase with and that is no
    /// grammar word: a term a correction could name ("USD", "Friday").
    /// Cheap: the table lookups were made when the words were read.
    pub fn names_term(&self) -> bool {
        self.heads
            .iter()
            .enumerate()
            .any(|(at, head)| head.is_none() && !is_function_word(self.word(at)))
    }

    /// Opens with a yes or a go-ahead ("yes, please proceed", "sí, adelante").
    pub fn confirms(&self) -> bool {
        self.heads.first().copied().flatten().is_some_and(|h| {
            h.phrases
                .iter()
                .any(|(t, p)| *t == Table::Confirmations && self.matches_at(0, p))
        })
    }

    /// Adds to a request ("also", "auch", "también").
    pub fn adds(&self) -> bool {
        self.has(Table::Additions)
    }

    /// Asks politely or states a preference ("please", "bitte", "instead").
    pub fn prefers(&self) -> bool {
        self.has(Table::Preferences)
    }

    /// The length of the "please" or "instead" phrase the message opens
    /// with, if it opens with one.
    pub fn preference_at_start(&self) -> Option<usize> {
        let head = self.heads.first().copied().flatten()?;
        head.phrases
            .iter()
            .filter(|(t, _)| *t == Table::Preferences)
            .find(|(_, p)| self.matches_at(0, p))
            .map(|(_, p)| p.len())
    }

    /// Says "again" ("again", "schon wieder", "otra vez").
    pub fn again(&self) -> bool {
        self.has(Table::Agains)
    }

    /// The kind of correction a phrase of the seven-language tables says,
    /// and the phrase: ignored context first ("wie gesagt" holds a "said"),
    /// then a misreading, then a wrong answer.
    pub fn correction_phrase(&self) -> Option<(crate::Kind, String)> {
        [
            (Table::Alreadys, crate::Kind::IgnoredContext),
            (Table::Misreads, crate::Kind::Misunderstood),
            (Table::Wrongs, crate::Kind::Contradicted),
        ]
        .into_iter()
        .find_map(|(table, kind)| {
            let (at, len) = self.find(table)?;
            Some((
                kind,
                self.iter().skip(at).take(len).collect::<Vec<_>>().join(" "),
            ))
        })
    }

    /// Whether the word at `at` negates ("not", "kein", "nunca").
    pub fn is_negation(&self, at: usize) -> bool {
        self.is_alone(at, Table::Negations) || self.is_alone(at, Table::TermNegations)
    }

    /// Where the words after the first "I said" start, if it has one.
    pub fn after_saying(&self) -> Option<usize> {
        self.find(Table::Sayings).map(|(at, len)| at + len)
    }

    /// Has a word of an open question ("which", "welche", "cuál", "or").
    pub fn asks_open(&self) -> bool {
        self.has(Table::QuestionWords)
    }

    /// The words after the first back-reference ("I asked for ..."), if any.
    pub fn after_back_reference(&self) -> Option<Vec<&str>> {
        let (at, len) = self.find(Table::BackReferences)?;
        Some(self.iter().skip(at + len).collect())
    }

    /// A short message that signs off or declines more help, and does not also
    /// stop the agent or challenge it.
    pub fn closes(&self) -> bool {
        self.len() <= CLOSING_MAX_WORDS
            && self.has(Table::Closings)
            && !self.has(Table::Holds)
            && !self.has(Table::Challenges)
            && !self.has(Table::Restrictions)
    }
}

/// Closings in every language of the tables, as users write them: the tests
/// of this module and of the whole rule check that none counts as pushback.
#[cfg(test)]
pub(crate) const CLOSING_EXAMPLES: &[&str] = &[
    "no thanks",
    "No, that's all.",
    "nope, that's it",
    "No, I'm all set.",
    "nah i'm good",
    "that's all, ta",
    "Nein danke, das war's",
    "No, gracias, eso es todo",
    "Non merci, c'est tout",
    "No grazie, è tutto",
    "Não, obrigado, é só isso",
    "Nee, dank je, dat is alles",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_is_written_as_the_words_it_is_matched_on() {
        for table in [
            NEGATIONS,
            HOLDS,
            CHALLENGES,
            RESTRICTIONS,
            VOLITIONS,
            RELATIVES,
            BACK_REFERENCES,
            CLOSINGS,
            TERM_NEGATIONS,
            SAYINGS,
            AGAINS,
            PREFERENCES,
            CONFIRMATIONS,
            ADDITIONS,
            QUESTION_WORDS,
            WRONGS,
            MISREADS,
            ALREADYS,
            FUNCTION_WORDS,
        ] {
            for (language, phrase) in table {
                assert_eq!(
                    Words::of(phrase).as_slice().join(" "),
                    *phrase,
                    "{language}: {phrase:?} would never match"
                );
            }
        }
    }

    #[test]
    fn closings_are_told_apart_from_pushback_in_every_language() {
        for closing in CLOSING_EXAMPLES {
            assert!(Words::of(closing).closes(), "{closing}");
        }
        for pushback in [
            "Hang on, thanks but I didn't want that",
            "Thanks, but I asked for the blue one, not the red one, as I wrote earlier",
            "Warte, danke, aber das wollte ich nicht",
        ] {
            assert!(!Words::of(pushback).closes(), "{pushback}");
        }
    }

    #[test]
    fn a_rejected_action_is_more_than_a_plain_no() {
        for rejection in [
            "hang on, I didn't want that",
            "why did you do that?",
            "I only wanted to know",
            "Moment mal, das wollte ich nicht",
            "Espera, yo no te pedí eso",
            "Attends, je n'ai pas demandé ça",
            "Aspetta, non l'ho chiesto",
            "Não pedi isso",
            "Wacht, dat heb ik niet gevraagd",
        ] {
            assert!(Words::of(rejection).rejects_action(), "{rejection}");
        }
        for plain in [
            "No, it's 5 days",
            "that's not right",
            "nein",
            "That's not what I asked for",
            "Das ist nicht, was ich wollte",
            "Ce n'est pas ce que j'ai demandé",
        ] {
            assert!(!Words::of(plain).rejects_action(), "{plain}");
            assert!(Words::of(plain).negates(), "{plain}");
        }
    }
}
