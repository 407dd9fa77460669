//! Handing a conversation to a person with `transfer_to_human`: rightly, for
//! what the prompt reserves for people (a lost phone with the authenticator,
//! a clicked phishing link, a stolen laptop), and needlessly (mistake i), for
//! questions the prompt's own policies answer.
//!
//! A needless transfer leaves no error and, mostly, no reply: the employee
//! waits in the queue or leaves. It shows in the ratings: people rate these
//! interactions down, mostly without a comment. Only a rule that sets ratings
//! beside what the agent did can find it.

use rand::Rng;
use serde_json::json;

use super::lang::Bank;
use super::scenarios::Scene;
use crate::domain::Verdict;
use crate::text::{fill, pick};

/// A question the prompt answers: (what the agent writes as the transfer's
/// reason, how employees ask it).
pub(super) const SIMPLE_QUESTIONS: &[(&str, Bank)] = &[
    (
        "question about how long a lockout lasts",
        Bank {
            en: &[
                "How long does my account stay locked after too many tries?",
                "quick one: does a lockout clear by itself?",
            ],
            nl: &["Hoe lang blijft mijn account geblokkeerd na te veel pogingen?"],
            de: &["Wie lange bleibt mein Konto gesperrt, wenn ich mich zu oft vertippe?"],
            fr: &["Combien de temps mon compte reste-t-il bloqué après trop d'essais ?"],
            es: &["¿Cuánto tiempo se queda bloqueada la cuenta tras varios intentos?"],
        },
    ),
    (
        "question about temporary password validity",
        Bank {
            en: &[
                "How long is the temporary password from a reset valid?",
                "the temp password you text me, how long does it work?",
            ],
            nl: &["Hoe lang is het tijdelijke wachtwoord geldig?"],
            de: &["Wie lange gilt das temporäre Passwort nach einem Reset?"],
            fr: &["Le mot de passe temporaire est valable combien de temps ?"],
            es: &["¿Cuánto dura la contraseña temporal?"],
        },
    ),
    (
        "question about accessory approval",
        Bank {
            en: &[
                "Do I need my manager's approval to order a new mouse?",
                "does a headset need approval?",
            ],
            nl: &["Heb ik goedkeuring van mijn manager nodig voor een nieuwe muis?"],
            de: &["Brauche ich für ein neues Headset eine Freigabe?"],
            fr: &["Faut-il l'accord de mon manager pour commander une souris ?"],
            es: &["¿Necesito aprobación para pedir unos auriculares?"],
        },
    ),
    (
        "question about ticket response times",
        Bank {
            en: &[
                "How quickly does IT usually answer a P3 ticket?",
                "what's the response time for a P2?",
            ],
            nl: &["Hoe snel wordt een P3-ticket meestal opgepakt?"],
            de: &["Wie schnell wird ein P3-Ticket normalerweise bearbeitet?"],
            fr: &["En combien de temps un ticket P3 est-il traité ?"],
            es: &["¿Cuánto tardan en atender un ticket P3?"],
        },
    ),
    (
        "question about accessory delivery time",
        Bank {
            en: &[
                "If I order a keyboard, how long until it's at the IT desk?",
                "how long do accessories take to arrive?",
            ],
            nl: &["Hoe lang duurt het voordat een bestelde monitor bij de IT-balie is?"],
            de: &["Wie lange dauert es, bis eine bestellte Tastatur da ist?"],
            fr: &["Combien de temps pour recevoir un clavier commandé ?"],
            es: &["¿Cuánto tarda en llegar un teclado pedido?"],
        },
    ),
    (
        "question about lockout threshold",
        Bank {
            en: &[
                "How many wrong passwords before it locks me out?",
                "how many attempts do I get before the account locks?",
            ],
            nl: &["Na hoeveel verkeerde pogingen word ik geblokkeerd?"],
            de: &["Nach wie vielen Fehlversuchen wird das Konto gesperrt?"],
            fr: &["Au bout de combien d'erreurs le compte se bloque-t-il ?"],
            es: &["¿Cuántos intentos fallidos antes de que se bloquee la cuenta?"],
        },
    ),
];

/// What rightly goes to a person: (queue, reason, how employees say it).
const INCIDENTS: &[(&str, &str, Bank)] = &[
    (
        "security",
        "lost phone with authenticator app",
        Bank {
            en: &[
                "I lost my phone on the train and it has my authenticator on it. What do I do?",
                "Phone stolen last night, it had the MFA app. Help",
            ],
            nl: &["Ik ben mijn telefoon kwijt in de trein, met de authenticator-app erop. Wat nu?"],
            de: &["Mein Handy mit der Authenticator-App wurde gestohlen. Was muss ich tun?"],
            fr: &["J'ai perdu mon téléphone avec l'application d'authentification. Que faire ?"],
            es: &["He perdido el móvil con la app de autenticación. ¿Qué hago?"],
        },
    ),
    (
        "security",
        "employee clicked a suspicious link",
        Bank {
            en: &[
                "I think I clicked a phishing link in an email just now and typed my password",
                "Clicked a dodgy 'invoice' link and it asked me to sign in. I did. Oops",
            ],
            nl: &[
                "Ik heb net op een link in een verdachte mail geklikt en mijn wachtwoord ingevuld",
            ],
            de: &["Ich habe gerade auf einen Phishing-Link geklickt und mein Passwort eingegeben"],
            fr: &["Je crois que j'ai cliqué sur un lien de phishing et saisi mon mot de passe"],
            es: &["Creo que he hecho clic en un enlace de phishing y he puesto mi contraseña"],
        },
    ),
    (
        "service-desk",
        "request about a colleague's account",
        Bank {
            en: &[
                "My colleague is off sick and I need access to her mailbox for a client deadline.",
                "Can someone give me access to a leaver's OneDrive? My manager said to ask IT.",
            ],
            nl: &[
                "Mijn collega is ziek en ik heb toegang tot haar mailbox nodig voor een deadline.",
            ],
            de: &["Meine Kollegin ist krank und ich brauche Zugriff auf ihr Postfach."],
            fr: &["Ma collègue est malade et j'ai besoin d'accéder à sa boîte mail."],
            es: &["Mi compañera está de baja y necesito acceso a su buzón."],
        },
    ),
    (
        "service-desk",
        "employee asked for a person",
        Bank {
            en: &[
                "Can I talk to a real person please?",
                "I'd like to speak to someone from IT",
            ],
            nl: &["Kan ik iemand van IT spreken?"],
            de: &["Kann ich bitte mit einem Menschen sprechen?"],
            fr: &["Je peux parler à quelqu'un du service IT ?"],
            es: &["¿Puedo hablar con una persona?"],
        },
    ),
];

const HANDING_OVER: Bank = Bank {
    en: &[
        "I'll pass you to a colleague who can help with that.",
        "Let me get someone from the service desk for you.",
        "I'll transfer you to the team.",
        "",
    ],
    nl: &[
        "Ik verbind je door met een collega.",
        "Ik zet je door naar de servicedesk.",
        "",
    ],
    de: &["Ich verbinde dich mit einer Kollegin.", ""],
    fr: &["Je te transfère à un collègue.", ""],
    es: &["Te paso con un compañero.", ""],
};

const IN_QUEUE: Bank = Bank {
    en: &[
        "You're now in the {queue} queue, number {position}; someone will be with you in about {wait} minutes.",
        "Done: a colleague from the {queue} team will pick this up. Expected wait: about {wait} minutes.",
    ],
    nl: &[
        "Je staat nu in de wachtrij van {queue}, nummer {position}; over ongeveer {wait} minuten helpt iemand je.",
    ],
    de: &[
        "Du bist jetzt in der Warteschlange {queue}, Platz {position}; in etwa {wait} Minuten meldet sich jemand.",
    ],
    fr: &[
        "Tu es dans la file {queue}, position {position} ; quelqu'un te répondra dans environ {wait} minutes.",
    ],
    es: &[
        "Estás en la cola de {queue}, puesto {position}; alguien te atenderá en unos {wait} minutos.",
    ],
};

const SECURITY_FIRST: Bank = Bank {
    en: &[
        "That's one for the security team; I'm handing you over now so they can lock things down.",
    ],
    nl: &["Dat is iets voor het securityteam; ik zet je nu door."],
    de: &["Das ist ein Fall für das Security-Team; ich leite dich sofort weiter."],
    fr: &["C'est pour l'équipe sécurité ; je te transfère tout de suite."],
    es: &["Eso es para el equipo de seguridad; te paso ahora mismo."],
};

/// The employee, told to wait for a person over a simple question.
const WAIT_OBJECTIONS: Bank = Bank {
    en: &[
        "{wait} minutes? I only wanted a quick answer",
        "Can't you just tell me? It's a simple question",
        "I don't need a person for that, never mind",
    ],
    nl: &[
        "{wait} minuten? Ik wilde alleen een kort antwoord",
        "Kun je het niet gewoon zeggen?",
    ],
    de: &["{wait} Minuten? Ich wollte nur eine kurze Antwort"],
    fr: &["{wait} minutes ? Je voulais juste une réponse rapide"],
    es: &["¿{wait} minutos? Solo quería una respuesta rápida"],
};

const WAIT_OK: Bank = Bank {
    en: &["ok", "ok thanks", "right", "fine"],
    nl: &["oké", "ok, bedankt"],
    de: &["ok", "na gut"],
    fr: &["ok", "d'accord"],
    es: &["vale", "ok"],
};

/// Comments on a needless transfer, when there is one.
const NEEDLESS_COMMENTS: &[&str] = &[
    "passed me to a person for a simple question",
    "waited half an hour for a yes/no answer",
    "why can't the bot answer that itself",
    "just tell me the answer",
    "pointless transfer",
    "moest wachten op een medewerker voor een simpele vraag",
];

impl Scene<'_> {
    fn transfer(&mut self, preamble: &str, queue: &str, reason: &str, wait: u32) -> (u32, u32) {
        let call = self.c.call(
            preamble,
            "transfer_to_human",
            json!({ "queue": queue, "reason": reason }),
        );
        let position = self.rng.random_range(1..9u32);
        self.c.tool_ok(
            call,
            json!({ "queue": queue, "position": position, "estimated_wait_minutes": wait }),
        );
        (position, wait)
    }

    fn say_queue(&mut self, queue: &str, position: u32, wait: u32) {
        let text = fill(
            IN_QUEUE.pick(self.rng, self.lang),
            &[
                ("queue", queue),
                ("position", &position.to_string()),
                ("wait", &wait.to_string()),
            ],
        );
        self.c.assistant(text);
    }

    /// Rightly handed to a person: a security incident, someone else's
    /// account, or the employee asks for one.
    pub(super) fn transfer_right(&mut self) -> Verdict {
        let lang = self.speak();
        let (queue, reason, asks) = &INCIDENTS[self.rng.random_range(0..INCIDENTS.len())];
        let ask = asks.pick(self.rng, lang);
        self.user(ask, &[]);
        let preamble = if *queue == "security" {
            SECURITY_FIRST.pick(self.rng, lang)
        } else {
            HANDING_OVER.pick(self.rng, lang)
        };
        let wait = self.rng.random_range(2..12u32);
        let (position, wait) = self.transfer(preamble, queue, reason, wait);
        self.say_queue(queue, position, wait);
        if self.chance(0.6) {
            let thanks = pick(self.rng, CLOSE_THANKS.of(lang));
            self.user(thanks, &[]);
        }
        Verdict::Good
    }

    /// Mistake i: a question the prompt answers, handed to the service desk.
    pub(super) fn needless_transfer(&mut self) -> Verdict {
        let lang = self.speak();
        let (reason, asks) = &SIMPLE_QUESTIONS[self.rng.random_range(0..SIMPLE_QUESTIONS.len())];
        let ask = asks.pick(self.rng, lang);
        self.user(ask, &[]);
        let preamble = HANDING_OVER.pick(self.rng, lang);
        let wait = self.rng.random_range(15..50u32);
        let (position, wait) = self.transfer(preamble, "service-desk", reason, wait);
        self.say_queue("service-desk", position, wait);
        let x: f64 = self.rng.random();
        if x < 0.15 {
            let objection = WAIT_OBJECTIONS.pick(self.rng, lang);
            self.user(objection, &[("wait", &wait.to_string())]);
            self.objected = true;
        } else if x < 0.45 {
            let ok = WAIT_OK.pick(self.rng, lang);
            self.user(ok, &[]);
        }
        Verdict::Disliked(NEEDLESS_COMMENTS)
    }
}

const CLOSE_THANKS: Bank = Bank {
    en: &["thanks", "ok, thank you", "great, thanks"],
    nl: &["bedankt", "top, dank je"],
    de: &["danke", "super, danke"],
    fr: &["merci", "super, merci"],
    es: &["gracias", "vale, gracias"],
};
