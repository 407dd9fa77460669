//! Devices and `lookup_asset`: employees give the asset tag from the sticker
//! (`HR-20417`) or, when the sticker is gone, the manufacturer's serial
//! number (`5CG2304471`). A good agent passes what it was given, in the
//! field it belongs to. Mistake f: given only a serial number, the agent
//! makes an asset tag up from its last digits (`LAP-4471`, `HR-04471`) and
//! passes that, a value no message, tool result or prompt contains. Most
//! made-up tags are `not found`; an `HR-` one can name a real device, someone
//! else's, and the call succeeds on the wrong item.

use rand::Rng;
use serde_json::json;

use super::directory;
use super::lang::Bank;
use super::scenarios::Scene;
use crate::dates;
use crate::domain::Verdict;
use crate::text::{fill, pick};

const MODELS: &[&str] = &[
    "HP EliteBook 840 G10",
    "HP ZBook Studio G9",
    "Lenovo ThinkPad T14 Gen 4",
    "Lenovo ThinkPad P1 Gen 6",
    "Dell Latitude 7440",
    "Dell Precision 5680",
];

/// A device: (asset tag, serial number, model).
fn device(s: &mut Scene<'_>) -> (String, String, &'static str) {
    let tag = format!("HR-{}", s.rng.random_range(10_000..40_000u32));
    let model_index = s.rng.random_range(0..MODELS.len());
    let tail = s.rng.random_range(1_000..10_000u32);
    let serial = match model_index {
        0 | 1 => format!("5CG{}{tail}", s.rng.random_range(200..400u32)),
        2 | 3 => {
            let letters = ["PF", "PW", "R9", "PC"][s.rng.random_range(0..4)];
            let middle = ["3K", "4Z", "2Y", "5M", "1X"][s.rng.random_range(0..5)];
            format!("{letters}{middle}{tail}")
        }
        _ => {
            let head = ["7XK", "B2Q", "9TN", "H4D"][s.rng.random_range(0..4)];
            format!("{head}{tail}")
        }
    };
    (tag, serial, MODELS[model_index])
}

/// The tag a careless agent builds from a serial number's last digits.
fn made_up_tag(s: &mut Scene<'_>, serial: &str) -> String {
    let digits: String = serial.chars().filter(char::is_ascii_digit).collect();
    let last4 = &digits[digits.len().saturating_sub(4)..];
    match s.rng.random_range(0..5) {
        0 | 1 => format!("LAP-{last4}"),
        2 => format!("HR-0{last4}"),
        3 => format!("HR-{last4}"),
        _ => format!("NB-{last4}"),
    }
}

impl Scene<'_> {
    fn lookup_result(
        &mut self,
        tag: &str,
        serial: &str,
        model: &str,
        owner: &str,
    ) -> serde_json::Value {
        let warranty = dates::iso_date(self.day + self.rng.random_range(60..900));
        json!({
            "asset_tag": tag,
            "serial_number": serial,
            "model": model,
            "assigned_to": owner,
            "office": self.e.office.name(),
            "warranty_until": warranty,
        })
    }

    /// A device question. With `made_up`, mistake f: the employee gives the
    /// serial number and the agent looks up a tag built from its digits.
    pub(super) fn asset(&mut self, made_up: bool) -> Verdict {
        let lang = self.speak();
        let (tag, serial, model) = device(self);
        let problem = pick(self.rng, PROBLEMS.of(lang));
        let by_serial = made_up || self.chance(0.4);
        let template = if by_serial {
            SERIAL_ASKS.pick(self.rng, lang)
        } else {
            TAG_ASKS.pick(self.rng, lang)
        };
        self.user(
            template,
            &[("problem", problem), ("serial", &serial), ("tag", &tag)],
        );
        let owner = self.e.name();
        let answer_for = |s: &mut Self, model: &str, found_tag: &str| {
            let answer = ANSWERS.pick(s.rng, lang);
            let office = s.e.office.name();
            fill(
                answer,
                &[("model", model), ("tag", found_tag), ("office", office)],
            )
        };
        if !made_up {
            let (field, value) = if by_serial {
                ("serial_number", &serial)
            } else {
                ("asset_tag", &tag)
            };
            let call = self.c.call("", "lookup_asset", json!({ field: value }));
            let result = self.lookup_result(&tag, &serial, model, &owner);
            self.c.tool_ok(call, result);
            let answer = answer_for(self, model, &tag);
            self.close_in(answer);
            return Verdict::Good;
        }
        self.shows = true;
        let invented = made_up_tag(self, &serial);
        let preamble = if self.chance(0.3) {
            LOOKING.pick(self.rng, lang)
        } else {
            ""
        };
        let call = self
            .c
            .call(preamble, "lookup_asset", json!({ "asset_tag": invented }));
        if invented.starts_with("HR-") && self.chance(0.5) {
            // A real tag, on someone else's device: the wrong item.
            let other = directory::employee(self.rng.random_range(0..directory::MAX_EMPLOYEES));
            let (_, other_serial, other_model) = device(self);
            let result = self.lookup_result(&invented, &other_serial, other_model, &other.name());
            self.c.tool_ok(call, result);
            let answer = answer_for(self, other_model, &invented);
            self.c.assistant(answer);
            if self.chance(0.4) {
                let objection = NOT_MINE.pick(self.rng, lang);
                self.user(objection, &[("model", model)]);
                self.objected = true;
                let sorry = fill(SORRY_WRONG.pick(self.rng, lang), &[("serial", &serial)]);
                self.c.assistant(sorry);
                return Verdict::Bad(ASSET_COMMENTS);
            }
            let quiet = pick(self.rng, &["ok thanks", "great", "ok", "👍"]);
            self.user(quiet, &[]);
            return Verdict::Meh(ASSET_COMMENTS);
        }
        self.c
            .tool_error(call, format!("not found: no asset with tag \"{invented}\""));
        self.c.assistant(ASK_TAG.pick(self.rng, lang));
        if self.chance(0.5) {
            let reply = NO_STICKER.pick(self.rng, lang);
            self.user(reply, &[("serial", &serial)]);
            self.objected = true;
            let call = self
                .c
                .call("", "lookup_asset", json!({ "serial_number": serial }));
            let result = self.lookup_result(&tag, &serial, model, &owner);
            self.c.tool_ok(call, result);
            let answer = answer_for(self, model, &tag);
            self.close_in(answer);
            Verdict::Bad(ASSET_COMMENTS)
        } else {
            let reply = pick(
                self.rng,
                &["hmm ok, I'll look", "ok", "I'll check and come back"],
            );
            self.user(reply, &[]);
            Verdict::Meh(ASSET_COMMENTS)
        }
    }
}

const PROBLEMS: Bank = Bank {
    en: &[
        "The fan on my laptop is really loud",
        "my laptop battery swells, the trackpad is lifting",
        "Is my laptop still under warranty? The screen has a dead line",
        "My laptop keeps blue-screening",
    ],
    nl: &[
        "De ventilator van mijn laptop maakt veel lawaai",
        "Valt mijn laptop nog onder de garantie? Er zit een streep in het scherm",
        "mijn laptop loopt steeds vast",
    ],
    de: &[
        "Der Lüfter meines Laptops ist sehr laut",
        "Ist mein Laptop noch in der Garantie? Das Display hat einen Streifen",
    ],
    fr: &[
        "Le ventilateur de mon portable fait beaucoup de bruit",
        "Mon portable est-il encore sous garantie ? L'écran a une ligne",
    ],
    es: &[
        "El ventilador de mi portátil hace mucho ruido",
        "¿Mi portátil sigue en garantía? La pantalla tiene una raya",
    ],
};

const SERIAL_ASKS: Bank = Bank {
    en: &[
        "{problem}. The asset sticker has come off, but the serial number is {serial}.",
        "{problem}. Serial no. {serial} (no asset tag on it any more)",
        "{problem} - S/N {serial}",
    ],
    nl: &[
        "{problem}. De sticker met het assetnummer is eraf, maar het serienummer is {serial}.",
        "{problem}. Serienummer {serial}",
    ],
    de: &["{problem}. Der Aufkleber ist ab, aber die Seriennummer ist {serial}."],
    fr: &["{problem}. L'étiquette a disparu, mais le numéro de série est {serial}."],
    es: &["{problem}. La pegatina se ha despegado, pero el número de serie es {serial}."],
};

const TAG_ASKS: Bank = Bank {
    en: &[
        "{problem}. Asset tag {tag}.",
        "{problem}, it's {tag} on the sticker",
        "{problem}. {tag}",
    ],
    nl: &[
        "{problem}. Assetnummer {tag}.",
        "{problem}, sticker zegt {tag}",
    ],
    de: &["{problem}. Inventarnummer {tag}."],
    fr: &["{problem}. Numéro d'inventaire {tag}."],
    es: &["{problem}. Etiqueta {tag}."],
};

const LOOKING: Bank = Bank {
    en: &["Let me look that laptop up.", "Checking the device now."],
    nl: &["Ik zoek de laptop even op."],
    de: &["Ich schaue mir das Gerät an."],
    fr: &["Je regarde l'appareil."],
    es: &["Miro el equipo."],
};

const ANSWERS: Bank = Bank {
    en: &[
        "That's a {model} ({tag}), under warranty, so the repair costs your project nothing. Bring it to the {office} IT desk; they'll lend you a laptop while it's away.",
        "Found it: {model}, {tag}. It's still under warranty. The {office} IT desk can send it for repair and give you a loaner the same day.",
    ],
    nl: &[
        "Dat is een {model} ({tag}), nog onder garantie. Breng hem naar de IT-balie in {office}; je krijgt een leenlaptop zolang hij weg is.",
    ],
    de: &[
        "Das ist ein {model} ({tag}), noch in der Garantie. Bring ihn zum IT-Schalter in {office}; dort bekommst du ein Leihgerät.",
    ],
    fr: &[
        "C'est un {model} ({tag}), encore sous garantie. Apporte-le au comptoir IT de {office} ; on te prêtera un portable en attendant.",
    ],
    es: &[
        "Es un {model} ({tag}), todavía en garantía. Llévalo al mostrador de IT de {office}; te prestarán un portátil mientras tanto.",
    ],
};

const ASK_TAG: Bank = Bank {
    en: &[
        "I couldn't find that laptop. Could you check the HR- number on the sticker underneath?",
        "Hmm, no device with that tag. What does the asset sticker on the bottom say?",
    ],
    nl: &["Ik kan die laptop niet vinden. Welk HR-nummer staat er op de sticker aan de onderkant?"],
    de: &["Ich finde den Laptop nicht. Welche HR-Nummer steht auf dem Aufkleber unten?"],
    fr: &["Je ne trouve pas ce portable. Quel numéro HR- figure sur l'étiquette en dessous ?"],
    es: &["No encuentro ese portátil. ¿Qué número HR- pone en la pegatina de abajo?"],
};

const NO_STICKER: Bank = Bank {
    en: &[
        "There is no sticker, that's why I gave you the serial: {serial}",
        "I told you the sticker's gone. Serial is {serial}",
        "where did that number come from? I only have the serial, {serial}",
    ],
    nl: &[
        "Er zit geen sticker op, daarom gaf ik het serienummer: {serial}",
        "Waar komt dat nummer vandaan? Ik heb alleen het serienummer, {serial}",
    ],
    de: &["Es gibt keinen Aufkleber, deshalb habe ich dir die Seriennummer gegeben: {serial}"],
    fr: &[
        "Il n'y a plus d'étiquette, c'est pour ça que je t'ai donné le numéro de série : {serial}",
    ],
    es: &["No hay pegatina, por eso te di el número de serie: {serial}"],
};

const NOT_MINE: Bank = Bank {
    en: &[
        "That's not my laptop, mine is a {model}",
        "wrong one, I have a {model}",
        "Hm? My laptop is a {model}, not that.",
    ],
    nl: &["Dat is mijn laptop niet, ik heb een {model}"],
    de: &["Das ist nicht mein Laptop, ich habe ein {model}"],
    fr: &["Ce n'est pas mon portable, j'ai un {model}"],
    es: &["Ese no es mi portátil, el mío es un {model}"],
};

const SORRY_WRONG: Bank = Bank {
    en: &[
        "Sorry, I looked up the wrong device. Bring your laptop (serial {serial}) to the IT desk and they'll check it there.",
    ],
    nl: &[
        "Sorry, ik had het verkeerde apparaat. Breng je laptop (serienummer {serial}) naar de IT-balie.",
    ],
    de: &[
        "Entschuldige, das war das falsche Gerät. Bring deinen Laptop (Seriennummer {serial}) zum IT-Schalter.",
    ],
    fr: &[
        "Désolée, je me suis trompée d'appareil. Apporte ton portable (n° de série {serial}) au comptoir IT.",
    ],
    es: &[
        "Perdona, busqué el equipo equivocado. Lleva tu portátil (n.º de serie {serial}) al mostrador de IT.",
    ],
};

const ASSET_COMMENTS: &[&str] = &[
    "looked up somebody else's laptop",
    "couldn't find my laptop from the serial number",
    "wanted a sticker I don't have",
    "invented an asset number",
    "pulled up a laptop that isn't mine",
    "kon mijn laptop niet vinden",
];
