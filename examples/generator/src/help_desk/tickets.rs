//! Ticket conversations beyond opening one: asking about a ticket the tools
//! refuse (handled, or retried in vain: mistake e), closing a ticket on
//! request, and closing one nobody asked about (mistake h).
//!
//! Mistake e is the same call with the same arguments after the same error,
//! two or three times (`get_ticket_status`, and `order_hardware` for an item
//! IT does not sell); its well-handled counterpart fails once, with the same
//! ticket errors, and the agent asks for what the tool needs. Mistake h is an extra
//! `close_ticket` after a requested `create_ticket`; requested closes, which
//! follow the employee's words and a yes, are its counterpart.

use rand::Rng;
use serde_json::json;

use super::lang::Bank;
use super::phrases as ph;
use super::scenarios::Scene;
use crate::dates;
use crate::domain::Verdict;
use crate::text::{fill, pick};

/// Why `get_ticket_status` (or `order_hardware`) refuses a call, and what
/// the employee typed that led to it.
enum Refusal {
    /// A reference from the old request portal: `REQ-48213`.
    OldReference(String),
    /// A ticket raised by a colleague: the tool will not show it.
    SomeoneElses(String),
    /// An item `order_hardware` does not sell (furniture, a tablet).
    NotInCatalogue,
}

/// A call the tools refuse, as the agent makes it: the tool, its
/// arguments, and the error it gets every time.
struct Refused {
    tool: &'static str,
    args: serde_json::Value,
    error: String,
}

impl Scene<'_> {
    fn refusal(&mut self, with_orders: bool) -> Refusal {
        match self.rng.random_range(0..if with_orders { 10 } else { 7 }) {
            0..=3 => {
                let prefix = pick(self.rng, &["REQ-", "REQ", "SR-", "req-"]);
                Refusal::OldReference(format!(
                    "{prefix}{}",
                    self.rng.random_range(10_000..99_999u32)
                ))
            }
            4..=6 => Refusal::SomeoneElses(self.ticket_number()),
            _ => Refusal::NotInCatalogue,
        }
    }

    /// The employee's request (and, for an order, the lookup and the
    /// confirmation before it), and the call that will be refused.
    fn ask_refused(&mut self, refusal: &Refusal) -> Refused {
        let lang = self.lang;
        match refusal {
            Refusal::OldReference(reference) => {
                let ask = OLD_REFERENCE_ASKS.pick(self.rng, lang);
                self.user(ask, &[("ticket", reference)]);
                let error = format!(
                    "invalid ticket_id \"{reference}\": expected INC- followed by 6 digits"
                );
                Refused {
                    tool: "get_ticket_status",
                    args: json!({ "ticket_id": reference }),
                    error,
                }
            }
            Refusal::SomeoneElses(ticket) => {
                let ask = COLLEAGUE_TICKET_ASKS.pick(self.rng, lang);
                let colleague = pick(self.rng, COLLEAGUES);
                self.user(ask, &[("ticket", ticket), ("colleague", colleague)]);
                let error = format!("403 forbidden: {ticket} was raised by another employee");
                Refused {
                    tool: "get_ticket_status",
                    args: json!({ "ticket_id": ticket }),
                    error,
                }
            }
            Refusal::NotInCatalogue => {
                let (ask, item) =
                    &NOT_IN_CATALOGUE[self.rng.random_range(0..NOT_IN_CATALOGUE.len())];
                let ask = ask.pick(self.rng, lang);
                let typed = self.typed();
                let id = self.id_text(&typed);
                self.user(ask, &[("id", &id)]);
                self.identify(None, false);
                let office = self.e.office.name();
                let text = fill(
                    CONFIRM_ORDER.pick(self.rng, lang),
                    &[("item", *item), ("office", office)],
                );
                self.confirm_in(text);
                let error = format!("invalid item \"{item}\": not in the IT hardware catalogue");
                Refused {
                    tool: "order_hardware",
                    args: json!({ "employee_id": self.e.id, "item": item, "reason": "requested by employee" }),
                    error,
                }
            }
        }
    }

    /// Counterpart of mistake e: the call fails once and the agent asks for
    /// what the tool needs, or explains why it cannot show the ticket.
    pub(super) fn status_failure(&mut self) -> Verdict {
        let lang = self.speak();
        let refusal = self.refusal(false);
        let refused = self.ask_refused(&refusal);
        let call = self.c.call("", refused.tool, refused.args);
        self.c.tool_error(call, refused.error);
        if matches!(refusal, Refusal::OldReference(_)) {
            let text = OLD_REFERENCE_HELP.pick(self.rng, lang);
            self.c.assistant(text);
            let ticket = self.ticket_number();
            let give = GIVE_INC.pick(self.rng, lang);
            self.user(give, &[("ticket", &ticket)]);
            let call = self
                .c
                .call("", "get_ticket_status", json!({ "ticket_id": ticket }));
            let assignee = pick(self.rng, ASSIGNEES);
            let updated = dates::iso_date(self.day - self.rng.random_range(0..4));
            self.c.tool_ok(
                call,
                json!({ "ticket_id": ticket, "status": "in_progress", "assignee": assignee, "last_update": updated, "note": "Waiting for a part" }),
            );
            let answer = fill(
                STATUS_ANSWER.pick(self.rng, lang),
                &[("ticket", &ticket), ("assignee", assignee)],
            );
            self.close_in(answer);
        } else {
            let text = COLLEAGUE_HELP.pick(self.rng, lang);
            self.close_in(text.to_string());
        }
        Verdict::Good
    }

    /// Mistake e: the agent calls the refused tool again with the same
    /// arguments, two or three times in all, then gives up.
    pub(super) fn repeated_failure(&mut self) -> Verdict {
        let lang = self.speak();
        let refusal = self.refusal(true);
        let Refused { tool, args, error } = self.ask_refused(&refusal);
        let call = self.c.call("", tool, args.clone());
        self.c.tool_error(call, error.clone());
        let tries = if self.chance(0.5) { 2 } else { 3 };
        for attempt in 1..tries {
            if attempt == 2 && self.chance(0.5) {
                // Across turns: the agent says it will retry, the employee waits.
                self.c.assistant(STILL_TRYING.pick(self.rng, lang));
                let nudge = NUDGES.pick(self.rng, lang);
                self.user(nudge, &[]);
            }
            let preamble = RETRY.pick(self.rng, lang);
            let call = self.c.call(preamble, tool, args.clone());
            self.c.tool_error(call, error.clone());
        }
        let give_up = GIVE_UP.pick(self.rng, lang);
        self.c.assistant(give_up);
        if self.chance(0.35) {
            let complaint = RETRY_COMPLAINTS.pick(self.rng, lang);
            self.user(complaint, &[]);
            self.objected = true;
            let sorry = RETRY_APOLOGIES.pick(self.rng, lang);
            self.c.assistant(sorry);
            Verdict::Bad(RETRY_COMMENTS)
        } else {
            if self.chance(0.5) {
                let closing = pick(self.rng, &["ok", "hmm ok", "ok, thanks anyway", "fine"]);
                self.user(closing, &[]);
            }
            Verdict::Meh(RETRY_COMMENTS)
        }
    }

    /// The employee's open tickets, as `list_open_tickets` returns them.
    fn list_open(&mut self, open: Option<(&str, &str)>) {
        let call = self
            .c
            .call("", "list_open_tickets", json!({ "employee_id": self.e.id }));
        let tickets = match open {
            Some((ticket, summary)) => {
                let opened = dates::iso_date(self.day - self.rng.random_range(2..20));
                json!([{ "ticket_id": ticket, "summary": summary, "status": "in_progress", "opened": opened }])
            }
            None => json!([]),
        };
        self.c.tool_ok(
            call,
            json!({ "employee_id": self.e.id, "tickets": tickets }),
        );
    }

    /// Mistake h: a ticket asked for, confirmed and created, and the
    /// employee's other open ticket closed as well, unasked.
    pub(super) fn unrequested_close(&mut self) -> Verdict {
        let (ask, category, summary, priority) =
            ph::ISSUES[self.rng.random_range(0..ph::ISSUES.len())];
        let old = self.ticket_number();
        let old_summary = loop {
            let (_, _, other, _) = ph::ISSUES[self.rng.random_range(0..ph::ISSUES.len())];
            if other != summary {
                break other;
            }
        };
        let typed = self.typed();
        let mentioned = self.chance(0.45);
        let ask = if mentioned {
            let aside = pick(self.rng, OTHER_TICKET_ASIDES);
            format!("{ask} {aside}")
        } else {
            ask.to_string()
        };
        let id = self.id_text(&typed);
        let office = self.e.office.name();
        self.user(&ask, &[("id", &id), ("office", office), ("old", &old)]);
        self.identify(None, false);
        if !mentioned {
            self.list_open(Some((&old, old_summary)));
        }
        let text = fill(
            pick(self.rng, ph::CONFIRM_TICKET),
            &[("summary", summary), ("priority", priority)],
        );
        self.confirm(text);
        let args = json!({ "employee_id": self.e.id, "category": category, "summary": summary, "priority": priority });
        let call = self.c.call("", "create_ticket", args);
        let ticket = self.ticket_number();
        self.c.tool_ok(
            call,
            json!({ "ticket_id": ticket, "priority": priority, "status": "new" }),
        );
        let reason = pick(
            self.rng,
            &[
                "superseded by {ticket}",
                "duplicate of {ticket}",
                "merged into {ticket}",
                "replaced by new ticket {ticket}",
            ],
        );
        let reason = fill(reason, &[("ticket", &ticket)]);
        let call = self.c.call(
            "",
            "close_ticket",
            json!({ "ticket_id": old, "reason": reason }),
        );
        self.c
            .tool_ok(call, json!({ "ticket_id": old, "status": "closed" }));
        self.shows = true;
        let sla = if priority == "P2" {
            "P2 tickets are picked up within 4 business hours."
        } else {
            "P3 tickets are picked up within 3 business days."
        };
        let mut done = fill(
            pick(self.rng, ph::DONE_TICKET),
            &[("ticket", &ticket), ("sla", sla)],
        );
        if self.chance(0.6) {
            let also = pick(self.rng, CLOSED_ALSO);
            done = format!(
                "{done} {}",
                fill(also, &[("old", &old), ("ticket", &ticket)])
            );
        }
        if self.chance(0.3) {
            self.c.assistant(done);
            let objection = pick(self.rng, CLOSE_OBJECTIONS);
            self.user(objection, &[("old", &old)]);
            self.objected = true;
            let sorry = fill(pick(self.rng, CLOSE_APOLOGIES), &[("old", &old)]);
            self.c.assistant(sorry);
            Verdict::Bad(CLOSE_COMMENTS)
        } else {
            self.close(done);
            Verdict::Meh(CLOSE_COMMENTS)
        }
    }

    /// The employee asks for their ticket to be closed; the agent says so,
    /// the employee confirms, the agent closes it.
    pub(super) fn close_requested(&mut self) -> Verdict {
        let lang = self.speak();
        let ticket = self.ticket_number();
        let ask = CLOSE_ASKS.pick(self.rng, lang);
        if self.chance(0.3) {
            // The agent checks the ticket among the employee's own, so the
            // employee gives their id and the agent looks them up first:
            // an id the logs show nobody giving would be a made-up one.
            let typed = self.typed();
            let id = self.id_text(&typed);
            self.user(
                &format!("{ask} {{id}}"),
                &[("ticket", &ticket), ("id", &id)],
            );
            self.identify(None, false);
            let open = ph::ISSUES[self.rng.random_range(0..ph::ISSUES.len())].2;
            self.list_open(Some((&ticket, open)));
        } else {
            self.user(ask, &[("ticket", &ticket)]);
        }
        let text = fill(CONFIRM_CLOSE.pick(self.rng, lang), &[("ticket", &ticket)]);
        self.confirm_in(text);
        let reason = pick(
            self.rng,
            &[
                "resolved, confirmed by the employee",
                "no longer needed, per the employee",
                "fixed, employee asked to close",
            ],
        );
        let call = self.c.call(
            "",
            "close_ticket",
            json!({ "ticket_id": ticket, "reason": reason }),
        );
        self.c
            .tool_ok(call, json!({ "ticket_id": ticket, "status": "closed" }));
        let done = fill(DONE_CLOSE.pick(self.rng, lang), &[("ticket", &ticket)]);
        self.close_in(done);
        Verdict::Good
    }

    /// Before a new ticket, the agent sometimes checks for open ones: the
    /// employee has none, or one about something else, which stays open.
    pub(super) fn maybe_list_open(&mut self, summary: &str) {
        if !self.chance(0.25) {
            return;
        }
        if self.chance(0.6) {
            self.list_open(None);
        } else {
            let old = self.ticket_number();
            let other = loop {
                let (_, _, other, _) = ph::ISSUES[self.rng.random_range(0..ph::ISSUES.len())];
                if other != summary {
                    break other;
                }
            };
            self.list_open(Some((&old, other)));
        }
    }
}

const ASSIGNEES: &[&str] = &[
    "Marek Nowak",
    "Lieke Verhoeven",
    "Sam Okoro",
    "Dana Whitfield",
    "Arash Karimi",
];

/// Things employees ask IT to order that its catalogue does not have.
const NOT_IN_CATALOGUE: &[(Bank, &str)] = &[
    (
        Bank {
            en: &[
                "Can you order me a standing desk? My back is killing me. {id}",
                "I'd like a standing desk please, {id}",
            ],
            nl: &["Kun je een sta-bureau voor me bestellen? {id}"],
            de: &["Kannst du mir einen Stehschreibtisch bestellen? {id}"],
            fr: &["Tu peux me commander un bureau debout ? {id}"],
            es: &["¿Me puedes pedir un escritorio elevable? {id}"],
        },
        "standing desk",
    ),
    (
        Bank {
            en: &[
                "Could I get an iPad for site visits? {id}",
                "need an ipad for drawings on site, {id}",
            ],
            nl: &["Kan ik een iPad krijgen voor bouwplaatsbezoeken? {id}"],
            de: &["Kann ich ein iPad für Baustellenbesuche bekommen? {id}"],
            fr: &["Je pourrais avoir un iPad pour les visites de chantier ? {id}"],
            es: &["¿Puedo tener un iPad para las visitas de obra? {id}"],
        },
        "iPad",
    ),
    (
        Bank {
            en: &["Can you order an ergonomic chair for me? {id}"],
            nl: &["Kun je een ergonomische stoel voor me bestellen? {id}"],
            de: &["Kannst du mir einen ergonomischen Stuhl bestellen? {id}"],
            fr: &["Tu peux me commander une chaise ergonomique ? {id}"],
            es: &["¿Me pides una silla ergonómica? {id}"],
        },
        "ergonomic chair",
    ),
    (
        Bank {
            en: &["Please order a ring light for my video calls. {id}"],
            nl: &["Wil je een ringlamp bestellen voor mijn videogesprekken? {id}"],
            de: &["Bitte bestell mir ein Ringlicht für Videocalls. {id}"],
            fr: &["Tu peux commander une lampe annulaire pour mes visios ? {id}"],
            es: &["Pide un aro de luz para mis videollamadas, por favor. {id}"],
        },
        "ring light",
    ),
];

const CONFIRM_ORDER: Bank = Bank {
    en: &["I'll order a {item} for you, delivered to the {office} IT desk. Shall I go ahead?"],
    nl: &["Ik bestel een {item} voor je, te leveren bij de IT-balie in {office}. Zal ik dat doen?"],
    de: &["Ich bestelle dir ein {item} an den IT-Schalter in {office}. Soll ich?"],
    fr: &["Je commande un {item} pour toi, livré au comptoir IT de {office}. J'y vais ?"],
    es: &["Pido un {item} para ti, con entrega en el mostrador de IT de {office}. ¿Adelante?"],
};

const COLLEAGUES: &[&str] = &[
    "Tom",
    "Eva",
    "Ravi",
    "my manager",
    "Noor",
    "Jasper",
    "Claire",
];

const OLD_REFERENCE_ASKS: Bank = Bank {
    en: &[
        "Can you check on my request {ticket}? I logged it on the old portal last month.",
        "what's the status of {ticket}",
        "Any news on {ticket}? That's the number from the confirmation email.",
        "I raised {ticket} a few weeks ago, has anyone looked at it?",
    ],
    nl: &[
        "Kun je de status van {ticket} checken? Heb ik vorige maand via het oude portaal aangevraagd.",
        "hoe staat het met {ticket}?",
        "Is er al nieuws over {ticket}? Dat nummer stond in de bevestigingsmail.",
    ],
    de: &[
        "Kannst du nachsehen, wie es um {ticket} steht? Das habe ich letzten Monat im alten Portal angelegt.",
        "Gibt es Neuigkeiten zu {ticket}?",
    ],
    fr: &[
        "Tu peux vérifier où en est ma demande {ticket} ? Je l'ai faite sur l'ancien portail.",
        "des nouvelles de {ticket} ?",
    ],
    es: &[
        "¿Puedes mirar cómo va mi solicitud {ticket}? La abrí en el portal antiguo.",
        "¿Hay novedades de {ticket}?",
    ],
};

const COLLEAGUE_TICKET_ASKS: Bank = Bank {
    en: &[
        "{colleague} opened {ticket} for our team's plotter, any update?",
        "Can you tell me where {ticket} is at? {colleague} raised it for our project.",
        "what's happening with {ticket}? it's the one {colleague} logged for our shared drive",
    ],
    nl: &[
        "{colleague} heeft {ticket} aangemaakt voor de plotter van ons team, is er nieuws?",
        "Hoe staat het met {ticket}? Die heeft {colleague} voor ons project aangemaakt.",
    ],
    de: &["{colleague} hat {ticket} für unser Team angelegt, gibt es schon etwas Neues?"],
    fr: &["{colleague} a ouvert {ticket} pour notre équipe, il y a du nouveau ?"],
    es: &["{colleague} abrió {ticket} para nuestro equipo, ¿hay novedades?"],
};

const OLD_REFERENCE_HELP: Bank = Bank {
    en: &[
        "That looks like a reference from the old request portal, which the ticket system doesn't take. Tickets now have numbers like INC- and 6 digits; do you have that one? It's in the subject of the ticket emails.",
        "The ticket system only knows INC- numbers, so it can't find that old portal reference. Could you send me the INC- number from your ticket emails?",
    ],
    nl: &[
        "Dat lijkt een referentie uit het oude portaal; het ticketsysteem kent alleen INC-nummers (INC- en 6 cijfers). Heb je dat nummer? Het staat in het onderwerp van de ticketmails.",
    ],
    de: &[
        "Das ist eine Referenz aus dem alten Portal, die das Ticketsystem nicht kennt. Hast du die INC-Nummer (INC- und 6 Ziffern)? Sie steht im Betreff der Ticket-Mails.",
    ],
    fr: &[
        "C'est une référence de l'ancien portail, que le système de tickets ne reconnaît pas. As-tu le numéro INC- (INC- et 6 chiffres) ? Il est dans l'objet des e-mails du ticket.",
    ],
    es: &[
        "Esa es una referencia del portal antiguo y el sistema de tickets no la reconoce. ¿Tienes el número INC- (INC- y 6 cifras)? Está en el asunto de los correos del ticket.",
    ],
};

const GIVE_INC: Bank = Bank {
    en: &[
        "found it, {ticket}",
        "{ticket}",
        "ah ok, it's {ticket}",
        "sorry, {ticket}",
    ],
    nl: &["gevonden: {ticket}", "{ticket}", "oké, het is {ticket}"],
    de: &["gefunden: {ticket}", "{ticket}"],
    fr: &["trouvé : {ticket}", "{ticket}"],
    es: &["lo encontré: {ticket}", "{ticket}"],
};

const STATUS_ANSWER: Bank = Bank {
    en: &["{ticket} is in progress with {assignee}; they're waiting for a part."],
    nl: &["{ticket} is in behandeling bij {assignee}; ze wachten op een onderdeel."],
    de: &["{ticket} wird von {assignee} bearbeitet; es fehlt noch ein Ersatzteil."],
    fr: &["{ticket} est en cours chez {assignee} ; une pièce est en commande."],
    es: &["{assignee} está trabajando en {ticket}; están esperando una pieza."],
};

const COLLEAGUE_HELP: Bank = Bank {
    en: &[
        "I can only show tickets to the person who raised them, so I can't see that one. The ticket emails go to whoever opened it, or I can open a ticket of your own if the problem affects you too.",
        "That ticket belongs to a colleague, so the system won't show it to me on your behalf. They can check it from their ticket emails.",
    ],
    nl: &[
        "Ik kan een ticket alleen laten zien aan wie het heeft aangemaakt, dus die kan ik niet inzien. Je collega krijgt de updates per mail.",
    ],
    de: &[
        "Tickets kann ich nur der Person zeigen, die sie angelegt hat. Deine Kollegin oder dein Kollege bekommt die Updates per Mail.",
    ],
    fr: &[
        "Je ne peux montrer un ticket qu'à la personne qui l'a ouvert. Ton collègue reçoit les mises à jour par e-mail.",
    ],
    es: &[
        "Solo puedo mostrar un ticket a quien lo abrió. Tu compañero recibe las novedades por correo.",
    ],
};

/// What the agent says as it calls the refused tool again.
const RETRY: Bank = Bank {
    en: &[
        "Let me try that again.",
        "Hmm, that didn't work. Trying again.",
        "One more try.",
        "Let me check again.",
        "Sorry, let me retry that.",
        "",
    ],
    nl: &[
        "Ik probeer het nog een keer.",
        "Even opnieuw proberen.",
        "Nog één poging.",
        "",
    ],
    de: &[
        "Ich versuche es noch einmal.",
        "Moment, noch ein Versuch.",
        "",
    ],
    fr: &["Je réessaie.", "Attends, je relance la recherche.", ""],
    es: &["Lo intento otra vez.", "Un momento, vuelvo a probar.", ""],
};

const STILL_TRYING: Bank = Bank {
    en: &[
        "The system isn't playing along. Give me a moment and I'll try once more.",
        "Still no luck, I'll give it another go in a second.",
    ],
    nl: &["Het systeem werkt niet mee. Momentje, ik probeer het zo nog eens."],
    de: &["Das System will gerade nicht. Einen Moment, ich versuche es gleich nochmal."],
    fr: &["Le système ne répond pas comme prévu. Un instant, je réessaie."],
    es: &["El sistema no responde bien. Un momento y lo intento de nuevo."],
};

const NUDGES: Bank = Bank {
    en: &["ok", "any luck?", "still there?", "??", "and?"],
    nl: &["en?", "lukt het?", "nog iets gevonden?"],
    de: &["und?", "klappt's?"],
    fr: &["alors ?", "ça marche ?"],
    es: &["¿y?", "¿funciona?"],
};

const GIVE_UP: Bank = Bank {
    en: &[
        "Sorry, I can't get the system to give me that right now. Could you try again later?",
        "I'm afraid it's still not working on my side. Please try again in a while.",
        "That keeps failing, sorry. I'm not able to look it up at the moment.",
    ],
    nl: &[
        "Sorry, het systeem geeft me dat nu niet. Kun je het later nog eens proberen?",
        "Het lukt helaas nog steeds niet. Probeer het straks nog eens.",
    ],
    de: &[
        "Tut mir leid, das System liefert mir das gerade nicht. Versuch es bitte später noch einmal.",
    ],
    fr: &["Désolée, je n'arrive pas à obtenir l'information pour le moment. Réessaie plus tard."],
    es: &["Lo siento, ahora mismo no consigo esa información. Inténtalo más tarde."],
};

const RETRY_COMPLAINTS: Bank = Bank {
    en: &[
        "you've tried the same thing three times now",
        "Why do you keep trying the same thing if it doesn't work?",
        "ok so that was a waste of 5 minutes",
        "that's not a very helpful answer",
        "Is there no other way to look it up?",
    ],
    nl: &[
        "je probeert steeds hetzelfde, dat gaat niet werken",
        "Hier heb ik dus niks aan.",
        "Kan het niet op een andere manier?",
    ],
    de: &[
        "Du versuchst ja immer wieder dasselbe.",
        "Das hilft mir jetzt nicht weiter.",
    ],
    fr: &[
        "Tu essaies toujours la même chose...",
        "Ça ne m'aide pas beaucoup.",
    ],
    es: &["Siempre intentas lo mismo.", "Eso no me ayuda mucho."],
};

const RETRY_APOLOGIES: Bank = Bank {
    en: &[
        "Sorry about that. If you reply to one of the ticket emails, the IT team will see it directly.",
    ],
    nl: &[
        "Sorry daarvoor. Als je op een van de ticketmails reageert, ziet het IT-team het direct.",
    ],
    de: &[
        "Entschuldige. Wenn du auf eine der Ticket-Mails antwortest, sieht das IT-Team es direkt.",
    ],
    fr: &["Désolée. Si tu réponds à l'un des e-mails du ticket, l'équipe IT le verra directement."],
    es: &["Lo siento. Si respondes a uno de los correos del ticket, el equipo de IT lo verá."],
};

/// Comments on the repeated calls.
const RETRY_COMMENTS: &[&str] = &[
    "kept trying the same thing over and over",
    "it just retried and gave up",
    "couldn't find my ticket and wasted my time",
    "couldn't order what I asked for, just kept failing",
    "tried 3 times, same error, no help",
    "bleef hetzelfde proberen",
    "useless for ticket updates",
];

/// An aside in a new ticket request: the employee has another ticket open.
const OTHER_TICKET_ASIDES: &[&str] = &[
    "(I've still got {old} open about something else, that's separate.)",
    "Different thing from {old}, which is still open.",
    "Btw {old} is still open too, but that's another issue.",
    "Not the same as {old}, that one's still being worked on.",
];

const CLOSED_ALSO: &[&str] = &[
    "I've also closed {old}, since {ticket} covers it.",
    "I closed your older ticket {old} as well, to keep things tidy.",
    "And I've closed {old} so you don't have two tickets open.",
];

const CLOSE_OBJECTIONS: &[&str] = &[
    "wait, why did you close {old}? That's a completely different problem!",
    "Hang on, I didn't ask you to close {old}",
    "Please don't close {old}, that one isn't fixed",
    "{old} was about something else, why is it closed now?",
    "Huh? Who said {old} could be closed?",
];

const CLOSE_APOLOGIES: &[&str] = &[
    "Sorry, I shouldn't have closed {old}. Reply to one of its ticket emails and it will reopen.",
    "You're right, my mistake. {old} reopens if you reply to its last ticket email.",
];

const CLOSE_COMMENTS: &[&str] = &[
    "closed my other ticket without asking",
    "my open ticket got closed and nobody fixed it",
    "it closed a ticket I still needed",
    "had to reopen my ticket because the bot closed it",
    "why close a ticket I didn't mention",
];

const CLOSE_ASKS: Bank = Bank {
    en: &[
        "You can close {ticket}, the printer works again.",
        "please close {ticket}, sorted itself out",
        "{ticket} can be closed, thanks. The VPN is fine now.",
        "Could you close my ticket {ticket}? Don't need it any more.",
    ],
    nl: &[
        "Je mag {ticket} sluiten, het werkt weer.",
        "kun je {ticket} dichtzetten? is opgelost",
        "{ticket} mag dicht, bedankt!",
    ],
    de: &[
        "Du kannst {ticket} schließen, es funktioniert wieder.",
        "Bitte {ticket} schließen, hat sich erledigt.",
    ],
    fr: &[
        "Tu peux fermer {ticket}, ça remarche.",
        "Merci de fermer {ticket}, c'est réglé.",
    ],
    es: &[
        "Puedes cerrar {ticket}, ya funciona.",
        "Cierra {ticket} por favor, está resuelto.",
    ],
};

const CONFIRM_CLOSE: Bank = Bank {
    en: &[
        "I'll close {ticket} as resolved. OK?",
        "To confirm: close {ticket}? You can reopen it by replying to its emails.",
    ],
    nl: &["Ik sluit {ticket} als opgelost. Akkoord?"],
    de: &["Ich schließe {ticket} als gelöst. Einverstanden?"],
    fr: &["Je ferme {ticket} comme résolu. D'accord ?"],
    es: &["Cierro {ticket} como resuelto. ¿De acuerdo?"],
};

const DONE_CLOSE: Bank = Bank {
    en: &[
        "{ticket} is closed.",
        "Done, {ticket} is closed. Glad it's working.",
    ],
    nl: &["{ticket} is gesloten."],
    de: &["{ticket} ist geschlossen."],
    fr: &["{ticket} est fermé."],
    es: &["{ticket} está cerrado."],
};
