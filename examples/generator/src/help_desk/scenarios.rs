//! Help-desk conversations: what an employee needs, what the agent does with
//! its tools, and how it went.
//!
//! [`play`] plays one [`Scenario`] drawn from a fixed mixture. Eight scenarios
//! carry a planted mistake; the ninth mistake, the ticketing outage, is not a
//! scenario but a condition of the backend on some days, which strikes
//! well-handled ticket requests. This file holds the mixture, the scene every
//! conversation is built in and the older conversations; the newer ones live
//! in `tickets`, `assets`, `knowledge` and `handoff`, each beside its
//! well-handled counterpart. Every choice comes from the caller's seeded RNG,
//! so a seed fixes the dataset.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use super::directory::{self, Employee};
use super::lang::{self, Lang};
use super::phrases as ph;
use super::prompt;
use crate::dates;
use crate::domain::{Planted, Slot, Verdict};
use crate::record::Conversation;
use crate::text::{fill, pick};

/// What a conversation is about, and whether a planted mistake happens in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    PasswordReset,
    Unlock,
    /// A how-to question about passwords or lockouts, answered with steps.
    HowTo,
    LaptopRight,
    Accessory,
    /// A ticket request. On outage days `create_ticket` may fail: mistake d.
    Ticket,
    TicketStatus,
    Faq,
    OffTopic,
    Greeting,
    /// Noise: the employee mistypes a digit of their id; `lookup_employee`
    /// answers `not found` and the agent asks them to check it.
    EmployeeNotFound,
    /// Mistake a: the id is passed to `lookup_employee` as the employee typed it.
    IdAsTyped,
    /// Mistake b: replacement laptops "ship within 2 business days" (policy: 5).
    LaptopWrong,
    /// Mistake c: a how-to question, and the agent resets or unlocks at once.
    ActsWithoutAsking,
    /// Noise: a ticket reference from the old portal; `get_ticket_status`
    /// rejects it once and the agent asks for the `INC-` number.
    TicketStatusOldRef,
    /// An IT question answered from a `search_kb` search with 1 or 2 filters.
    KbQuestion,
    /// A device looked up by the asset tag or serial number the employee gave.
    AssetLookup,
    /// The employee asks for a ticket to be closed; the agent confirms first.
    CloseRequested,
    /// A security incident or someone else's account: rightly handed to a person.
    TransferRight,
    /// Mistake e: a failed call repeated with the same arguments.
    RepeatedFailingCall,
    /// Mistake f: an asset tag made up from the digits of a serial number.
    MadeUpAssetTag,
    /// Mistake g: `search_kb` with 3 or more filters, which always times out.
    KbManyFilters,
    /// Mistake h: a new ticket, and the employee's open one closed unasked.
    UnrequestedClose,
    /// Mistake i: a question the prompt answers, handed to a person.
    NeedlessTransfer,
}

/// Scenario weights per ten thousand interactions, for `v1`. `v2` moves a tenth
/// of each mistake's weight to its well-handled counterpart.
const MIXTURE: &[(Scenario, u32)] = &[
    (Scenario::PasswordReset, 440),
    (Scenario::Unlock, 380),
    (Scenario::HowTo, 420),
    (Scenario::LaptopRight, 320),
    (Scenario::Accessory, 290),
    (Scenario::Ticket, 1700),
    (Scenario::TicketStatus, 430),
    (Scenario::Faq, 590),
    (Scenario::OffTopic, 150),
    (Scenario::Greeting, 100),
    (Scenario::EmployeeNotFound, 6),
    (Scenario::TicketStatusOldRef, 130),
    (Scenario::KbQuestion, 350),
    (Scenario::AssetLookup, 280),
    (Scenario::CloseRequested, 200),
    (Scenario::TransferRight, 154),
    (Scenario::IdAsTyped, 900),
    (Scenario::LaptopWrong, 440),
    (Scenario::ActsWithoutAsking, 600),
    (Scenario::RepeatedFailingCall, 440),
    (Scenario::MadeUpAssetTag, 440),
    (Scenario::KbManyFilters, 420),
    (Scenario::UnrequestedClose, 420),
    (Scenario::NeedlessTransfer, 400),
];

/// Share of `create_ticket` calls that fail on an outage day, and on any
/// other day (the backend is flaky before and after it goes down).
const OUTAGE_FAILURE_RATE: f64 = 0.5;
const BACKGROUND_FAILURE_RATE: f64 = 0.02;

/// Days (from the window's start) on which the ticketing backend is down
/// for part of the day: days 8-9 and 22-23 of each four weeks, a Tuesday and
/// Wednesday when the window starts on a Monday; one outage under each config.
fn outage_day(window_day: u64) -> bool {
    matches!(window_day % 14, 8 | 9)
}

impl Scenario {
    /// The well-handled counterpart of a mistake scenario.
    fn fixed(self) -> Scenario {
        match self {
            Scenario::IdAsTyped => Scenario::PasswordReset,
            Scenario::LaptopWrong => Scenario::LaptopRight,
            Scenario::ActsWithoutAsking => Scenario::HowTo,
            Scenario::RepeatedFailingCall => Scenario::TicketStatusOldRef,
            Scenario::MadeUpAssetTag => Scenario::AssetLookup,
            Scenario::KbManyFilters => Scenario::KbQuestion,
            Scenario::UnrequestedClose => Scenario::Ticket,
            Scenario::NeedlessTransfer => Scenario::Faq,
            other => other,
        }
    }

    /// Draw a scenario from the mixture.
    pub fn draw(rng: &mut StdRng, v2: bool) -> Scenario {
        crate::domain::draw_scenario(rng, MIXTURE, Scenario::Faq, v2, Scenario::fixed)
    }
}

/// The [`super::PROBLEMS`] ids.
pub const ID_AS_TYPED: &str = "employee-id-as-typed";
pub const WRONG_LAPTOP_TIME: &str = "wrong-laptop-shipping-time";
pub const NO_CONFIRMATION: &str = "action-without-confirmation";
pub const TICKET_OUTAGE: &str = "ticket-backend-outage";
pub const REPEATED_FAILING_CALL: &str = "repeated-failing-call";
pub const MADE_UP_ASSET_TAG: &str = "made-up-asset-tag";
pub const KB_MANY_FILTERS: &str = "kb-search-fails-for-many-filters";
pub const UNREQUESTED_CLOSE: &str = "unrequested-ticket-close";
pub const NEEDLESS_TRANSFER: &str = "needless-transfer-to-human";

/// One played-out scenario.
pub struct Played {
    pub conversation: Conversation,
    pub verdict: Verdict,
    pub planted: Option<Planted>,
}

/// Play one scenario out for `employee` in `slot`.
pub fn play(rng: &mut StdRng, scenario: Scenario, employee: &Employee, slot: &Slot) -> Played {
    let v2 = slot.v2;
    let mut c = Conversation::new(prompt::system_prompt(v2));
    if !matches!(scenario, Scenario::Greeting) && rng.random_bool(0.1) {
        c.user(pick(rng, ph::GREETINGS));
        c.assistant(pick(rng, ph::BOT_GREETINGS));
    }
    let mut s = Scene {
        rng,
        c,
        e: employee,
        day: slot.day,
        objected: false,
        shows: false,
        lang: Lang::En,
    };
    let (verdict, problem) = match scenario {
        Scenario::PasswordReset => (s.reset(), None),
        Scenario::Unlock => (s.unlock(), None),
        Scenario::HowTo => (s.how_to(), None),
        Scenario::LaptopRight => (s.laptop(false), None),
        Scenario::Accessory => (s.accessory(), None),
        Scenario::Ticket => {
            let outage = outage_day(slot.window_day);
            let rate = if outage {
                OUTAGE_FAILURE_RATE
            } else {
                BACKGROUND_FAILURE_RATE
            };
            let fails = s.chance(rate);
            let verdict = s.ticket(fails);
            (verdict, fails.then_some(TICKET_OUTAGE))
        }
        Scenario::TicketStatus => (s.ticket_status(), None),
        Scenario::Faq => (s.faq(), None),
        Scenario::OffTopic => (s.off_topic(), None),
        Scenario::Greeting => (s.greeting(), None),
        Scenario::EmployeeNotFound => (s.not_found(), None),
        Scenario::IdAsTyped => (s.id_as_typed(), Some(ID_AS_TYPED)),
        Scenario::LaptopWrong => (s.laptop(true), Some(WRONG_LAPTOP_TIME)),
        Scenario::ActsWithoutAsking => (s.acts_without_asking(), Some(NO_CONFIRMATION)),
        Scenario::TicketStatusOldRef => (s.status_failure(), None),
        Scenario::KbQuestion => (s.kb_question(), None),
        Scenario::AssetLookup => (s.asset(false), None),
        Scenario::CloseRequested => (s.close_requested(), None),
        Scenario::TransferRight => (s.transfer_right(), None),
        Scenario::RepeatedFailingCall => (s.repeated_failure(), Some(REPEATED_FAILING_CALL)),
        Scenario::MadeUpAssetTag => (s.asset(true), Some(MADE_UP_ASSET_TAG)),
        Scenario::KbManyFilters => (s.kb_many_filters(), Some(KB_MANY_FILTERS)),
        Scenario::UnrequestedClose => (s.unrequested_close(), Some(UNREQUESTED_CLOSE)),
        Scenario::NeedlessTransfer => (s.needless_transfer(), Some(NEEDLESS_TRANSFER)),
    };
    // Every failed call in a planted scenario is the mistake's own; the one
    // `not found` of `EmployeeNotFound` and the rejected old reference of
    // `TicketStatusOldRef` plant nothing. A needless transfer shows in no
    // call and no error: its trace is the ratings people give it.
    let planted = problem.map(|problem| Planted {
        problem,
        visible: s.objected || s.shows || s.c.has_failed_call(),
        rated: problem == NEEDLESS_TRANSFER,
    });
    Played {
        conversation: s.c,
        verdict,
        planted,
    }
}

/// How an employee types their id in a good conversation: mostly as on the
/// badge, often not, and the agent copes.
pub(super) enum Typed {
    Canonical,
    Sloppy,
    /// Mistake a: a form the agent will pass on as it is.
    AsTypedBug,
}

pub(super) struct Scene<'r> {
    pub(super) rng: &'r mut StdRng,
    pub(super) c: Conversation,
    pub(super) e: &'r Employee,
    /// The interaction's day number, for plausible dates.
    pub(super) day: i64,
    /// The employee corrected the agent or objected to what it did.
    pub(super) objected: bool,
    /// A call shows the mistake by itself, failed or not: an argument that
    /// nothing in the conversation gave, a change nobody asked for.
    pub(super) shows: bool,
    /// The language of the conversation (see [`Scene::speak`]).
    pub(super) lang: Lang,
}

impl Scene<'_> {
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// Choose the conversation's language: the employee's own, most of the
    /// time when it is not English, else English.
    pub(super) fn speak(&mut self) -> Lang {
        self.lang = if self.e.lang != Lang::En && self.chance(0.7) {
            self.e.lang
        } else {
            Lang::En
        };
        self.lang
    }

    /// A user message, sometimes typed all in lower case: the template is
    /// lowered before it is filled, so ids keep the form they were given in.
    pub(super) fn user(&mut self, template: &str, values: &[(&str, &str)]) {
        let template = if self.chance(0.25) {
            template.to_lowercase()
        } else {
            template.to_string()
        };
        self.c.user(fill(&template, values));
    }

    pub(super) fn values(&self) -> [(&'static str, String); 7] {
        let e = self.e;
        [
            ("first", e.first.to_string()),
            ("office", e.office.name().to_string()),
            ("employee_id", e.id.clone()),
            ("tail", format!("{:02}", e.phone_tail)),
            ("phone", e.phone()),
            ("manager", e.manager.to_string()),
            ("name", e.name()),
        ]
    }

    /// One phrase of `bank`, filled with the employee's details.
    pub(super) fn pick_about(&mut self, bank: &[&'static str]) -> String {
        let template = pick(self.rng, bank);
        self.about(template)
    }

    /// Fill an agent template with the employee's details.
    pub(super) fn about(&self, template: &str) -> String {
        let values = self.values();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fill(template, &pairs)
    }

    pub(super) fn id_text(&mut self, typed: &Typed) -> String {
        match typed {
            Typed::Canonical => self.e.id.clone(),
            Typed::Sloppy => self.e.sloppy_id(self.rng),
            Typed::AsTypedBug => self.e.id_as_typed(self.rng),
        }
    }

    pub(super) fn typed(&mut self) -> Typed {
        if self.chance(0.6) {
            Typed::Canonical
        } else {
            Typed::Sloppy
        }
    }

    /// The employee opens with `with_id` (their id in it) or, sometimes, with
    /// `without_id` and gives the id when asked. Returns the id as typed.
    pub(super) fn open(
        &mut self,
        with_id: &[&'static str],
        without_id: &[&'static str],
        typed: &Typed,
    ) -> String {
        let id = self.id_text(typed);
        let office = self.e.office.name();
        if without_id.is_empty() || self.chance(0.7) {
            let template = pick(self.rng, with_id);
            self.user(template, &[("id", &id), ("office", office)]);
        } else {
            let template = pick(self.rng, without_id);
            self.user(template, &[]);
            self.c.assistant(pick(self.rng, ph::ASK_FOR_ID));
            let template = pick(self.rng, ph::GIVE_ID);
            self.user(template, &[("id", &id), ("office", office)]);
        }
        id
    }

    /// Look the employee up. With the id bug (`as_typed`), the first call
    /// passes the id as the employee typed it and fails; then the agent
    /// either asks for the id again (the employee points out they gave it)
    /// or retries with the right form. Returns whether it asked again.
    pub(super) fn identify(&mut self, as_typed: Option<&str>, locked: bool) -> bool {
        let mut asked_again = false;
        let bug = as_typed.is_some();
        if let Some(typed) = as_typed {
            let preamble = if self.chance(0.4) {
                "Let me look you up."
            } else {
                ""
            };
            let id = self
                .c
                .call(preamble, "lookup_employee", json!({ "employee_id": typed }));
            self.c.tool_error(id, directory::invalid_id_error(typed));
            if self.chance(0.55) {
                asked_again = true;
                self.c.assistant(pick(self.rng, ph::ASK_ID_AGAIN));
                let template = pick(self.rng, ph::ALREADY_GAVE_ID);
                let canonical = self.e.id.clone();
                self.user(template, &[("canonical", &canonical), ("typed", typed)]);
            }
        }
        let preamble = if !bug && self.chance(0.3) {
            "One moment, let me find your account."
        } else {
            ""
        };
        let id = self.c.call(
            preamble,
            "lookup_employee",
            json!({ "employee_id": self.e.id }),
        );
        self.c.tool_ok(id, self.e.to_json(locked));
        asked_again
    }

    /// The agent says what it will do and the employee agrees.
    pub(super) fn confirm(&mut self, text: String) {
        self.c.assistant(text);
        let yes = pick(self.rng, ph::CONFIRM_YES);
        self.user(yes, &[]);
    }

    /// The agent wraps up: "anything else?", maybe a closing and sign-off.
    /// The agent says what it will do and the employee agrees, in the
    /// conversation's language.
    pub(super) fn confirm_in(&mut self, text: String) {
        self.c.assistant(text);
        let yes = lang::YES.pick(self.rng, self.lang);
        self.user(yes, &[]);
    }

    /// [`Scene::close`] in the conversation's language.
    pub(super) fn close_in(&mut self, answer: String) {
        if self.lang == Lang::En {
            return self.close(answer);
        }
        let anything = lang::ANYTHING_ELSE.pick(self.rng, self.lang);
        self.c.assistant(format!("{answer} {anything}"));
        if self.chance(0.65) {
            let closing = lang::CLOSINGS.pick(self.rng, self.lang);
            self.user(closing, &[]);
        }
    }

    pub(super) fn close(&mut self, answer: String) {
        let anything = pick(self.rng, ph::ANYTHING_ELSE);
        self.c.assistant(format!("{answer} {anything}"));
        if self.chance(0.65) {
            let closing = pick(self.rng, ph::CLOSINGS);
            self.user(closing, &[]);
            if self.chance(0.5) {
                self.c.assistant(pick(self.rng, ph::BOT_SIGNOFFS));
            }
        }
    }

    fn do_reset(&mut self) {
        let id = self
            .c
            .call("", "reset_password", json!({ "employee_id": self.e.id }));
        self.c.tool_ok(
            id,
            json!({ "employee_id": self.e.id, "status": "reset", "sent_to": self.e.phone(), "valid_hours": 24 }),
        );
    }

    fn do_unlock(&mut self, was_locked: bool) {
        let id = self
            .c
            .call("", "unlock_account", json!({ "employee_id": self.e.id }));
        self.c.tool_ok(
            id,
            json!({ "employee_id": self.e.id, "status": "active", "was_locked": was_locked }),
        );
    }

    /// A password reset, asked for and confirmed.
    fn reset_task(&mut self, typed: Typed) -> bool {
        let bug = matches!(typed, Typed::AsTypedBug);
        let id = self.open(ph::RESET_ASKS, ph::RESET_ASKS_NO_ID, &typed);
        let asked_again = self.identify(bug.then_some(id.as_str()), false);
        let text = self.pick_about(ph::CONFIRM_RESET);
        self.confirm(text);
        self.do_reset();
        let done = self.pick_about(ph::DONE_RESET);
        self.close(done);
        asked_again
    }

    fn reset(&mut self) -> Verdict {
        let typed = self.typed();
        self.reset_task(typed);
        Verdict::Good
    }

    /// An unlock, asked for and confirmed (or, now and then, declined).
    fn unlock_task(&mut self, typed: Typed) -> bool {
        let bug = matches!(typed, Typed::AsTypedBug);
        let id = self.open(ph::UNLOCK_ASKS, ph::UNLOCK_ASKS_NO_ID, &typed);
        let asked_again = self.identify(bug.then_some(id.as_str()), true);
        let text = self.pick_about(ph::CONFIRM_UNLOCK);
        self.c.assistant(text);
        if self.chance(0.08) {
            let decline = pick(self.rng, ph::DECLINE_UNLOCK);
            self.user(decline, &[]);
            self.c.assistant(
                "No problem. It will unlock by itself 30 minutes after the last failed attempt. Message me if it doesn't.",
            );
            return asked_again;
        }
        let yes = pick(self.rng, ph::CONFIRM_YES);
        self.user(yes, &[]);
        self.do_unlock(true);
        let done = pick(self.rng, ph::DONE_UNLOCK).to_string();
        self.close(done);
        asked_again
    }

    fn unlock(&mut self) -> Verdict {
        let typed = self.typed();
        self.unlock_task(typed);
        Verdict::Good
    }

    /// An accessory, asked for and confirmed.
    fn accessory_task(&mut self, typed: Typed) -> bool {
        let bug = matches!(typed, Typed::AsTypedBug);
        let (ask, item) = ph::ACCESSORY_ASKS[self.rng.random_range(0..ph::ACCESSORY_ASKS.len())];
        let id = self.open(&[ask], &[], &typed);
        let asked_again = self.identify(bug.then_some(id.as_str()), false);
        let text = fill(&self.pick_about(ph::CONFIRM_ACCESSORY), &[("item", item)]);
        self.confirm(text);
        let call = self.c.call(
            "",
            "order_hardware",
            json!({ "employee_id": self.e.id, "item": item, "reason": "replacement" }),
        );
        let order = format!("HW-{}", self.rng.random_range(30_000..70_000u32));
        let office = self.e.office.name();
        self.c.tool_ok(
            call,
            json!({ "order_id": order, "status": "ordered", "deliver_to": format!("{office} IT desk") }),
        );
        let done = fill(
            pick(self.rng, ph::DONE_ACCESSORY),
            &[("order", &order), ("office", office)],
        );
        self.close(done);
        asked_again
    }

    fn accessory(&mut self) -> Verdict {
        let typed = self.typed();
        self.accessory_task(typed);
        Verdict::Good
    }

    pub(super) fn ticket_number(&mut self) -> String {
        format!("INC-{}", self.rng.random_range(200_000..260_000u32))
    }

    /// A ticket, asked for and confirmed. With `fails`, the ticketing
    /// backend is down: `create_ticket` fails (once, or twice when the agent
    /// retries) and the agent announces a ticket number it made up.
    pub(super) fn ticket_task(&mut self, typed: Typed, fails: bool) -> bool {
        let bug = matches!(typed, Typed::AsTypedBug);
        let (ask, category, summary, priority) =
            ph::ISSUES[self.rng.random_range(0..ph::ISSUES.len())];
        let id = self.open(&[ask], &[], &typed);
        let asked_again = self.identify(bug.then_some(id.as_str()), false);
        self.maybe_list_open(summary);
        let text = fill(
            pick(self.rng, ph::CONFIRM_TICKET),
            &[("summary", summary), ("priority", priority)],
        );
        self.confirm(text);
        let args = json!({ "employee_id": self.e.id, "category": category, "summary": summary, "priority": priority });
        let call = self.c.call("", "create_ticket", args.clone());
        let ticket = self.ticket_number();
        if fails {
            let error = self.outage_error();
            self.c.tool_error(call, error);
            if self.chance(0.25) {
                let call = self.c.call("", "create_ticket", args);
                let error = self.outage_error();
                self.c.tool_error(call, error);
            }
        } else {
            self.c.tool_ok(
                call,
                json!({ "ticket_id": ticket, "priority": priority, "assigned_group": assigned_group(category), "status": "new" }),
            );
        }
        let sla = if priority == "P2" {
            "P2 tickets are picked up within 4 business hours."
        } else {
            "P3 tickets are picked up within 3 business days."
        };
        let done = fill(
            pick(self.rng, ph::DONE_TICKET),
            &[("ticket", &ticket), ("sla", sla)],
        );
        self.close(done);
        asked_again
    }

    fn outage_error(&mut self) -> String {
        match self.rng.random_range(0..4) {
            0 => "503 Service Unavailable".to_string(),
            1 => "503 Service Unavailable: ticketing backend unavailable, retry later".to_string(),
            2 => format!(
                "timeout: ticketing API did not respond within {}s",
                [10, 30, 30][self.rng.random_range(0..3)]
            ),
            _ => "upstream connect error: ticketing service unavailable (503)".to_string(),
        }
    }

    pub(super) fn ticket(&mut self, fails: bool) -> Verdict {
        let typed = self.typed();
        self.ticket_task(typed, fails);
        if fails {
            Verdict::Bad(ph::OUTAGE_COMMENTS)
        } else {
            Verdict::Good
        }
    }

    /// Mistake a: one of the usual tasks, with the id passed on as typed.
    fn id_as_typed(&mut self) -> Verdict {
        let asked_again = match self.rng.random_range(0..10) {
            0..=3 => self.reset_task(Typed::AsTypedBug),
            4..=5 => self.unlock_task(Typed::AsTypedBug),
            6 => self.accessory_task(Typed::AsTypedBug),
            _ => self.ticket_task(Typed::AsTypedBug, false),
        };
        // When the agent quietly retried with the right form, the employee
        // saw nothing wrong: only the failed call shows the mistake.
        if asked_again {
            Verdict::Bad(ph::ID_COMMENTS)
        } else {
            Verdict::Good
        }
    }

    /// The question of a how-to conversation; whether it is about
    /// passwords (else lockouts) and whether the employee gave an id in it.
    fn how_to_question(&mut self) -> (bool, bool) {
        let about_reset = self.chance(0.6);
        let bank = if about_reset {
            ph::HOWTO_RESET
        } else {
            ph::HOWTO_UNLOCK
        };
        let template = pick(self.rng, bank);
        let typed = self.typed();
        let id = self.id_text(&typed);
        self.user(template, &[("id", &id)]);
        (about_reset, template.contains("{id}"))
    }

    /// A how-to question, answered with steps and no tools.
    fn how_to(&mut self) -> Verdict {
        let (about_reset, _) = self.how_to_question();
        let bank = if about_reset {
            ph::HOWTO_RESET_ANSWERS
        } else {
            ph::HOWTO_UNLOCK_ANSWERS
        };
        let answer = pick(self.rng, bank);
        if self.chance(0.5) {
            let (query, article, title) = if about_reset {
                (
                    "reset your own password",
                    "KB0003",
                    "Reset or change your password",
                )
            } else {
                ("account locked out", "KB0004", "Locked accounts")
            };
            let filters: &[&str] = if self.chance(0.5) {
                &["topic:passwords"]
            } else {
                &["topic:passwords", "type:how-to"]
            };
            self.search_ok(query, filters, article, title);
        }
        if self.chance(0.5) {
            self.c.assistant(answer);
            let thanks = pick(self.rng, ph::HOWTO_THANKS);
            self.user(thanks, &[]);
            let anything = pick(self.rng, ph::ANYTHING_ELSE);
            self.c.assistant(anything);
            if self.chance(0.5) {
                let closing = pick(self.rng, ph::CLOSINGS);
                self.user(closing, &[]);
            }
        } else {
            self.close(answer.to_string());
        }
        Verdict::Good
    }

    /// Mistake c: a how-to question, and the agent resets or unlocks at once.
    fn acts_without_asking(&mut self) -> Verdict {
        let (about_reset, gave_id) = self.how_to_question();
        if !gave_id {
            let ask = pick(
                self.rng,
                &[
                    "Let me check your account first. What's your employee ID?",
                    "Sure. What's your employee ID, so I can look at your account?",
                ],
            );
            self.c.assistant(ask);
            let typed = self.typed();
            let id = self.id_text(&typed);
            let template = pick(self.rng, ph::GIVE_ID);
            let office = self.e.office.name();
            self.user(template, &[("id", &id), ("office", office)]);
        }
        let locked = !about_reset && self.chance(0.3);
        self.identify(None, locked);
        let done = if about_reset {
            self.do_reset();
            self.pick_about(ph::UNASKED_RESET)
        } else {
            self.do_unlock(locked);
            pick(self.rng, ph::UNASKED_UNLOCK).to_string()
        };
        self.c.assistant(done);
        if self.chance(0.65) {
            let objection = pick(self.rng, ph::UNASKED_OBJECTIONS);
            self.user(objection, &[]);
            self.objected = true;
            let apology = pick(self.rng, ph::UNASKED_APOLOGIES);
            let steps = if about_reset {
                " The temporary password is valid for 24 hours; sign in with it and choose a new one at passwords.haldenrowe.com when it suits you."
            } else {
                " Nothing else on your account has changed."
            };
            self.close(format!("{apology}{steps}"));
        } else {
            let quiet = pick(self.rng, ph::UNASKED_QUIET);
            self.user(quiet, &[]);
        }
        Verdict::Bad(ph::UNASKED_COMMENTS)
    }

    /// A replacement laptop: ordered (confirmed first) or only asked about.
    /// With `wrong`, the agent says it ships within 2 business days.
    fn laptop(&mut self, wrong: bool) -> Verdict {
        let figure_bank = if wrong {
            ph::LAPTOP_WRONG
        } else {
            ph::LAPTOP_RIGHT
        };
        let office = self.e.office.name();
        if self.chance(0.6) {
            let typed = self.typed();
            self.open(ph::LAPTOP_ASKS, &[], &typed);
            self.identify(None, false);
            let text = self.pick_about(ph::CONFIRM_LAPTOP);
            self.confirm(text);
            let reason = pick(self.rng, ph::LAPTOP_REASONS);
            let call = self.c.call(
                "",
                "order_hardware",
                json!({ "employee_id": self.e.id, "item": "laptop", "reason": reason }),
            );
            let order = format!("HW-{}", self.rng.random_range(30_000..70_000u32));
            self.c.tool_ok(
                call,
                json!({ "order_id": order, "status": "pending_approval", "approver": self.e.manager }),
            );
            let figure = fill(pick(self.rng, figure_bank), &[("office", office)]);
            self.c.assistant(format!(
                "Order {order} is with {} for approval. {figure}",
                self.e.manager
            ));
        } else {
            let question = pick(self.rng, ph::LAPTOP_QUESTIONS);
            self.user(question, &[]);
            let figure = fill(pick(self.rng, figure_bank), &[("office", office)]);
            self.c.assistant(figure);
        }
        if !wrong {
            let anything = pick(self.rng, ph::ANYTHING_ELSE);
            self.c.assistant(anything);
            if self.chance(0.6) {
                let closing = pick(self.rng, ph::CLOSINGS);
                self.user(closing, &[]);
            }
            return Verdict::Good;
        }
        if self.chance(0.45) {
            let correction = pick(self.rng, ph::LAPTOP_CORRECTIONS);
            self.user(correction, &[("office", office)]);
            self.objected = true;
            let apology = fill(pick(self.rng, ph::LAPTOP_APOLOGIES), &[("office", office)]);
            self.close(apology);
        } else {
            let accepted = pick(self.rng, ph::LAPTOP_ACCEPTED);
            self.user(accepted, &[]);
        }
        Verdict::Bad(ph::LAPTOP_COMMENTS)
    }

    fn ticket_status(&mut self) -> Verdict {
        let digits = self.rng.random_range(200_000..260_000u32);
        let ticket = format!("INC-{digits}");
        let shown = match self.rng.random_range(0..4) {
            0 | 1 => ticket.clone(),
            2 => format!("INC{digits}"),
            _ => format!("ticket {digits}"),
        };
        let template = pick(self.rng, ph::TICKET_STATUS_ASKS);
        self.user(template, &[("ticket", &shown)]);
        let call = self
            .c
            .call("", "get_ticket_status", json!({ "ticket_id": ticket }));
        let assignee = pick(
            self.rng,
            &[
                "Marek Nowak",
                "Lieke Verhoeven",
                "Sam Okoro",
                "Dana Whitfield",
                "Arash Karimi",
            ],
        );
        let updated = dates::iso_date(self.day - self.rng.random_range(0..4));
        let (status, note, answer) = match self.rng.random_range(0..4) {
            0 => (
                "in_progress",
                "Replacement part ordered",
                format!(
                    "{ticket} is in progress with {assignee}. Latest note: a replacement part has been ordered."
                ),
            ),
            1 => (
                "waiting_on_user",
                "Asked for a screenshot of the error",
                format!(
                    "{assignee} is waiting for you on {ticket}: they asked for a screenshot of the error. You can reply to the ticket email with it."
                ),
            ),
            2 => (
                "resolved",
                "Fixed remotely, please confirm",
                format!(
                    "{ticket} was marked resolved by {assignee}, who fixed it remotely. If it's not working for you, reply to the ticket email and it will reopen."
                ),
            ),
            _ => (
                "new",
                "",
                format!(
                    "{ticket} is logged and waiting to be picked up; it's in {assignee}'s team queue."
                ),
            ),
        };
        self.c.tool_ok(
            call,
            json!({ "ticket_id": ticket, "status": status, "assignee": assignee, "last_update": updated, "note": note }),
        );
        self.close(answer);
        Verdict::Good
    }

    /// A question from the FAQ, looked up in the knowledge base first.
    fn faq(&mut self) -> Verdict {
        let k = self.rng.random_range(0..ph::FAQ.len());
        let (question, answer) = ph::FAQ[k];
        self.user(question, &[]);
        let query = question.trim_end_matches('?').to_lowercase();
        let filters: &[&str] = if self.chance(0.5) {
            &["type:faq"]
        } else {
            &["type:faq", "audience:staff"]
        };
        let article = format!("KB{:04}", 10 + k * 7);
        self.search_ok(&query, filters, &article, question);
        self.close(answer.to_string());
        Verdict::Good
    }

    fn off_topic(&mut self) -> Verdict {
        let (question, answer) = ph::OFF_TOPIC[self.rng.random_range(0..ph::OFF_TOPIC.len())];
        self.user(question, &[]);
        self.close(answer.to_string());
        Verdict::Good
    }

    fn greeting(&mut self) -> Verdict {
        let hello = pick(self.rng, ph::GREETINGS);
        self.user(hello, &[]);
        self.c.assistant(pick(self.rng, ph::BOT_GREETINGS));
        let reply = pick(
            self.rng,
            &[
                "no, sorry, wrong window",
                "Never mind, it started working again",
                "no thanks, just checking this works",
                "nothing, a colleague sorted it. no problem",
            ],
        );
        self.user(reply, &[]);
        self.c
            .assistant("No problem. I'm here if you need anything.");
        Verdict::Good
    }

    /// Noise: one digit of the id mistyped, `not found`, and the employee
    /// fixes their own typo. Then an ordinary, confirmed reset.
    fn not_found(&mut self) -> Verdict {
        let digits = self.e.id.trim_start_matches('E');
        let last = digits.bytes().last().map_or(0, |b| b - b'0');
        let wrong = format!("E{}{}", &digits[..digits.len() - 1], (last + 1) % 10);
        let template = pick(self.rng, ph::RESET_ASKS);
        self.user(template, &[("id", &wrong)]);
        let call = self
            .c
            .call("", "lookup_employee", json!({ "employee_id": wrong }));
        self.c
            .tool_error(call, format!("not found: no employee with id {wrong}"));
        self.c.assistant(format!(
            "I couldn't find anyone with ID {wrong}. Could you double-check it? It's on your badge."
        ));
        let fix = pick(
            self.rng,
            &["sorry, typo. {id}", "oops, {id}", "my bad, it's {id}"],
        );
        let id = self.e.id.clone();
        self.user(fix, &[("id", &id)]);
        let call = self
            .c
            .call("", "lookup_employee", json!({ "employee_id": self.e.id }));
        self.c.tool_ok(call, self.e.to_json(false));
        let text = self.pick_about(ph::CONFIRM_RESET);
        self.confirm(text);
        self.do_reset();
        let done = self.pick_about(ph::DONE_RESET);
        self.close(done);
        Verdict::Good
    }
}

/// Which IT team a ticket category goes to.
fn assigned_group(category: &str) -> &'static str {
    match category {
        "network" => "Network & VPN",
        "access" => "Identity & Access",
        "software" | "software-request" => "Applications",
        _ => "Desktop Support",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    use crate::record::Message;
    use rand::SeedableRng;

    const STATE_CHANGING: [&str; 5] = [
        "reset_password",
        "unlock_account",
        "create_ticket",
        "order_hardware",
        "close_ticket",
    ];

    const GOOD: [Scenario; 16] = [
        Scenario::PasswordReset,
        Scenario::Unlock,
        Scenario::HowTo,
        Scenario::LaptopRight,
        Scenario::Accessory,
        Scenario::Ticket,
        Scenario::TicketStatus,
        Scenario::Faq,
        Scenario::OffTopic,
        Scenario::Greeting,
        Scenario::EmployeeNotFound,
        Scenario::TicketStatusOldRef,
        Scenario::KbQuestion,
        Scenario::AssetLookup,
        Scenario::CloseRequested,
        Scenario::TransferRight,
    ];

    fn slot(window_day: u64) -> Slot {
        Slot {
            day: dates::days_from_civil(2027, 2, 1) + window_day as i64,
            window_day,
            v2: false,
            users: 500,
        }
    }

    /// Play `scenario` `times` times for varied employees on a normal day.
    fn played(seed: u64, scenario: Scenario, times: usize) -> Vec<Played> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..times)
            .map(|k| {
                let employee = directory::employee(k as u64);
                play(&mut rng, scenario, &employee, &slot(1))
            })
            .collect()
    }

    fn calls(messages: &[Message]) -> impl Iterator<Item = (usize, &str, serde_json::Value)> {
        messages.iter().enumerate().flat_map(|(k, m)| {
            m.tool_calls.iter().flatten().map(move |call| {
                let args = serde_json::from_str(&call.function.arguments).unwrap_or_default();
                (k, call.function.name, args)
            })
        })
    }

    fn result_of(messages: &[Message], k: usize) -> &Message {
        &messages[k + 1]
    }

    fn canonical(id: &str) -> bool {
        id.len() == 6 && id.starts_with('E') && id[1..].bytes().all(|b| b.is_ascii_digit())
    }

    #[test]
    fn the_id_bug_fails_with_the_documented_error_and_successful_calls_pass_e_and_5_digits() {
        for g in played(1, Scenario::IdAsTyped, 200) {
            let m = &g.conversation.messages;
            let Some((k, name, args)) = calls(m).next() else {
                panic!("no tool call")
            };
            assert_eq!(name, "lookup_employee");
            let typed = args["employee_id"].as_str().unwrap_or_default();
            assert!(!canonical(typed), "{typed}");
            let error = result_of(m, k);
            assert_eq!(error.is_error, Some(true));
            assert_eq!(
                error.content,
                format!("invalid employee_id \"{typed}\": expected E followed by 5 digits")
            );
            assert_eq!(
                g.planted.map(|p| (p.problem, p.visible)),
                Some((ID_AS_TYPED, true))
            );
        }
        // Everywhere, a call that succeeds was given a well-formed id.
        for scenario in GOOD.into_iter().chain([Scenario::IdAsTyped]) {
            for g in played(2, scenario, 100) {
                let m = &g.conversation.messages;
                for (k, name, args) in calls(m) {
                    if let (Some(id), None) =
                        (args["employee_id"].as_str(), result_of(m, k).is_error)
                    {
                        assert!(canonical(id), "{scenario:?} {name}({id}) succeeded");
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_planted_mistake_says_laptops_ship_within_2_business_days() {
        for g in played(3, Scenario::LaptopWrong, 100) {
            let said = g
                .conversation
                .messages
                .iter()
                .any(|m| m.role == "assistant" && m.content.contains("within 2 business days"));
            assert!(said);
        }
        for scenario in GOOD {
            for g in played(4, scenario, 100) {
                for m in &g.conversation.messages[1..] {
                    assert!(
                        !m.content.contains("2 business days"),
                        "{scenario:?}: {}",
                        m.content
                    );
                }
            }
        }
        let right = played(5, Scenario::LaptopRight, 50);
        assert!(right.iter().all(|g| {
            g.conversation
                .messages
                .iter()
                .any(|m| m.content.contains("5 business days"))
        }));
    }

    /// The confirmation policy: in a good conversation every call that
    /// changes something follows the agent's question and the user's yes;
    /// in the planted mistake the agent resets or unlocks with no yes at all.
    #[test]
    fn changes_follow_a_yes_except_in_the_planted_mistake() {
        let yes = |m: &Message| {
            let banks = [
                lang::YES.en,
                lang::YES.nl,
                lang::YES.de,
                lang::YES.fr,
                lang::YES.es,
            ];
            m.role == "user"
                && banks
                    .iter()
                    .flat_map(|b| b.iter())
                    .any(|y| m.content.to_lowercase() == y.to_lowercase())
        };
        for scenario in GOOD {
            for g in played(6, scenario, 150) {
                let m = &g.conversation.messages;
                for (k, name, _) in calls(m) {
                    if STATE_CHANGING.contains(&name) {
                        let before = m[..k]
                            .iter()
                            .rev()
                            .find(|m| m.role != "tool" && m.tool_calls.is_none());
                        assert!(
                            before.is_some_and(yes),
                            "{scenario:?}: {name} without a yes"
                        );
                    }
                }
            }
        }
        for g in played(7, Scenario::ActsWithoutAsking, 150) {
            let m = &g.conversation.messages;
            let changes: Vec<(usize, &str)> = calls(m)
                .map(|(k, name, _)| (k, name))
                .filter(|(_, name)| STATE_CHANGING.contains(name))
                .collect();
            let names: Vec<&str> = changes.iter().map(|(_, name)| *name).collect();
            assert!(
                names == ["reset_password"] || names == ["unlock_account"],
                "{names:?}"
            );
            let before = &m[..changes[0].0];
            assert!(!before.iter().any(yes), "no one said yes before the change");
            assert!(
                !before
                    .iter()
                    .any(|m| m.role == "assistant" && m.content.contains("confirm")),
                "the agent did not ask"
            );
            let greeting = |t: &str| ph::GREETINGS.iter().any(|g| g.eq_ignore_ascii_case(t));
            let first_user = m
                .iter()
                .find(|m| m.role == "user" && !greeting(&m.content))
                .map(|m| m.content.to_lowercase());
            assert!(
                first_user.is_some_and(|q| q.contains('?')),
                "a question, not a request"
            );
        }
    }

    #[test]
    fn on_outage_days_a_failed_create_ticket_is_announced_with_a_made_up_number() {
        let mut rng = StdRng::seed_from_u64(8);
        let (mut failed, mut worked) = (0, 0);
        for k in 0..300 {
            let employee = directory::employee(k);
            let g = play(&mut rng, Scenario::Ticket, &employee, &slot(8));
            let m = &g.conversation.messages;
            let creates: Vec<usize> = calls(m)
                .filter(|(_, name, _)| *name == "create_ticket")
                .map(|(k, _, _)| k)
                .collect();
            let ok = creates.iter().any(|&k| result_of(m, k).is_error.is_none());
            let answer = m
                .iter()
                .rev()
                .find(|m| m.role == "assistant" && m.content.contains("INC-"));
            assert!(answer.is_some(), "the agent always names a ticket");
            if ok {
                worked += 1;
                assert_eq!(g.planted, None);
            } else {
                failed += 1;
                let error = &result_of(m, creates[0]).content;
                assert!(
                    error.contains("503") || error.starts_with("timeout"),
                    "{error}"
                );
                assert_eq!(
                    g.planted.map(|p| (p.problem, p.visible)),
                    Some((TICKET_OUTAGE, true))
                );
            }
        }
        // Half the calls fail on an outage day, hardly any on a normal one.
        assert!(
            (100..200).contains(&failed),
            "{failed} failed, {worked} worked"
        );
        let normal = played(9, Scenario::Ticket, 300);
        let planted = normal.iter().filter(|g| g.planted.is_some()).count();
        assert!(planted < 20, "{planted}");
    }

    /// Objections and corrections belong to the mistakes: a rule that finds
    /// them in a good conversation would report noise.
    #[test]
    fn good_conversations_never_use_objection_or_correction_phrases() {
        let phrases = [
            "didn't ask",
            "only wanted",
            "i gave you",
            "already",
            "just typed",
            "like i said",
            "5 business days",
            "five business days",
            "policy",
            "isn't what i wanted",
            "never said",
            "without asking",
            "scroll up",
        ];
        for scenario in GOOD {
            for g in played(10, scenario, 200) {
                for m in g.conversation.messages.iter().filter(|m| m.role == "user") {
                    let text = m.content.to_lowercase();
                    assert!(
                        phrases.iter().all(|p| !text.contains(p)),
                        "{scenario:?}: {text}"
                    );
                }
                assert!(g.planted.is_none() || scenario == Scenario::Ticket);
            }
        }
    }

    /// Every call of a conversation: (message index, tool, arguments text,
    /// error text if it failed).
    fn outcomes(messages: &[Message]) -> Vec<(usize, &str, String, Option<String>)> {
        messages
            .iter()
            .enumerate()
            .flat_map(|(k, m)| {
                m.tool_calls.iter().flatten().map(move |call| {
                    let result = messages
                        .iter()
                        .find(|r| r.tool_call_id.as_deref() == Some(call.id.as_str()));
                    let error = result
                        .filter(|r| r.is_error == Some(true))
                        .map(|r| r.content.to_string());
                    (
                        k,
                        call.function.name,
                        call.function.arguments.clone(),
                        error,
                    )
                })
            })
            .collect()
    }

    /// Whether a failed call is followed by the same call with the same
    /// arguments failing with the same error.
    fn repeats_a_failed_call(messages: &[Message]) -> bool {
        let calls = outcomes(messages);
        calls
            .windows(2)
            .any(|w| w[0].3.is_some() && w[0].1 == w[1].1 && w[0].2 == w[1].2 && w[0].3 == w[1].3)
    }

    #[test]
    fn the_repeated_failing_call_is_the_same_call_after_the_same_error_and_good_agents_never_repeat()
     {
        let mut tools: HashSet<&str> = HashSet::new();
        for g in played(11, Scenario::RepeatedFailingCall, 200) {
            let m = &g.conversation.messages;
            let (calls, lookups): (Vec<_>, Vec<_>) =
                outcomes(m).into_iter().partition(|c| c.3.is_some());
            assert!((2..=3).contains(&calls.len()), "{} calls", calls.len());
            assert!(calls.iter().all(|c| c.2 == calls[0].2 && c.3 == calls[0].3));
            assert!(lookups.iter().all(|c| c.1 == "lookup_employee"));
            assert!(repeats_a_failed_call(m));
            tools.insert(if calls[0].1 == "order_hardware" {
                "order_hardware"
            } else {
                "get_ticket_status"
            });
            assert_eq!(
                g.planted.map(|p| (p.problem, p.visible)),
                Some((REPEATED_FAILING_CALL, true))
            );
        }
        assert_eq!(tools.len(), 2, "{tools:?}");
        let mut handled = 0;
        for scenario in GOOD.into_iter().chain([
            Scenario::IdAsTyped,
            Scenario::KbManyFilters,
            Scenario::MadeUpAssetTag,
        ]) {
            for g in played(12, scenario, 150) {
                let m = &g.conversation.messages;
                assert!(!repeats_a_failed_call(m), "{scenario:?} repeats a call");
                if scenario == Scenario::TicketStatusOldRef {
                    handled += usize::from(g.conversation.has_failed_call());
                }
            }
        }
        assert_eq!(handled, 150, "the counterpart fails once, then copes");
    }

    #[test]
    fn a_made_up_asset_tag_appears_nowhere_before_the_call_while_good_lookups_pass_what_was_given()
    {
        let (mut missing, mut wrong_item) = (0, 0);
        for g in played(13, Scenario::MadeUpAssetTag, 200) {
            let m = &g.conversation.messages;
            let (k, name, args, error) = outcomes(m).remove(0);
            assert_eq!(name, "lookup_asset");
            let args: serde_json::Value = serde_json::from_str(&args).unwrap_or_default();
            let tag = args["asset_tag"].as_str().unwrap_or_default().to_string();
            assert!(tag.len() >= 6, "{tag}");
            assert!(
                m[..k].iter().all(|m| !m.content.contains(&tag)),
                "{tag} was given"
            );
            match error {
                Some(e) => {
                    assert!(e.starts_with("not found"), "{e}");
                    missing += 1;
                }
                None => wrong_item += 1,
            }
            assert_eq!(
                g.planted.map(|p| (p.problem, p.visible)),
                Some((MADE_UP_ASSET_TAG, true))
            );
        }
        assert!(missing > 100 && wrong_item > 20, "{missing} {wrong_item}");
        for g in played(14, Scenario::AssetLookup, 200) {
            let m = &g.conversation.messages;
            let (k, _, args, error) = outcomes(m).remove(0);
            assert!(error.is_none());
            let args: serde_json::Value = serde_json::from_str(&args).unwrap_or_default();
            let value = args
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            assert!(
                m[..k]
                    .iter()
                    .any(|m| m.role == "user" && m.content.contains(&value))
            );
        }
    }

    #[test]
    fn search_kb_times_out_exactly_when_it_has_three_filters_or_more() {
        let filters = |args: &str| {
            let v: serde_json::Value = serde_json::from_str(args).unwrap_or_default();
            v["filters"].as_array().map_or(0, Vec::len)
        };
        let mut succeeded = 0;
        for scenario in GOOD.into_iter().chain([Scenario::KbManyFilters]) {
            for g in played(15, scenario, 150) {
                for (_, name, args, error) in outcomes(&g.conversation.messages) {
                    if name != "search_kb" {
                        continue;
                    }
                    let n = filters(&args);
                    assert!(n >= 1);
                    assert_eq!(n >= 3, error.is_some(), "{scenario:?} {args} {error:?}");
                    if let Some(e) = error {
                        assert!(e.starts_with("timeout"), "{e}");
                        assert_eq!(scenario, Scenario::KbManyFilters);
                    } else {
                        succeeded += 1;
                    }
                }
            }
        }
        assert!(succeeded > 400, "{succeeded}");
        for g in played(16, Scenario::KbManyFilters, 100) {
            let first = outcomes(&g.conversation.messages).remove(0);
            assert_eq!(first.1, "search_kb");
            assert!(first.3.is_some());
        }
    }

    #[test]
    fn an_unrequested_close_follows_a_new_ticket_while_requested_closes_name_the_ticket_and_follow_a_yes()
     {
        for g in played(17, Scenario::UnrequestedClose, 200) {
            let m = &g.conversation.messages;
            let names: Vec<&str> = outcomes(m).iter().map(|c| c.1).collect();
            let created = names.iter().position(|n| *n == "create_ticket");
            let closed = names.iter().position(|n| *n == "close_ticket");
            assert!(
                matches!((created, closed), (Some(a), Some(b)) if b == a + 1),
                "{names:?}"
            );
            assert!(!g.conversation.has_failed_call());
            let k = outcomes(m)[closed.unwrap_or_default()].0;
            assert!(
                m[..k]
                    .iter()
                    .all(|m| m.role != "user" || !m.content.to_lowercase().contains("close")),
                "nobody asked for a close"
            );
            assert_eq!(
                g.planted.map(|p| (p.problem, p.visible)),
                Some((UNREQUESTED_CLOSE, true))
            );
        }
        for scenario in GOOD {
            for g in played(18, scenario, 150) {
                let m = &g.conversation.messages;
                for (k, name, args, _) in outcomes(m) {
                    if name != "close_ticket" {
                        continue;
                    }
                    assert_eq!(scenario, Scenario::CloseRequested);
                    let v: serde_json::Value = serde_json::from_str(&args).unwrap_or_default();
                    let ticket = v["ticket_id"].as_str().unwrap_or_default();
                    assert!(
                        m[..k]
                            .iter()
                            .any(|m| m.role == "user" && m.content.contains(ticket)),
                        "{ticket} was not named by the employee"
                    );
                }
            }
        }
    }

    #[test]
    fn a_needless_transfer_leaves_no_error_and_is_traced_by_ratings_only() {
        for g in played(19, Scenario::NeedlessTransfer, 200) {
            let calls = outcomes(&g.conversation.messages);
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].1, "transfer_to_human");
            assert!(calls[0].2.contains("service-desk") && calls[0].3.is_none());
            assert!(matches!(g.verdict, Verdict::Disliked(_)));
            let planted = g.planted.unwrap_or(Planted {
                problem: "",
                visible: true,
                rated: false,
            });
            assert_eq!(planted.problem, NEEDLESS_TRANSFER);
            assert!(planted.rated);
        }
        let objected = played(20, Scenario::NeedlessTransfer, 300)
            .iter()
            .filter(|g| g.planted.is_some_and(|p| p.visible))
            .count();
        assert!((20..80).contains(&objected), "{objected} objected");
        for g in played(21, Scenario::TransferRight, 100) {
            let calls = outcomes(&g.conversation.messages);
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].1, "transfer_to_human");
            assert!(matches!(g.verdict, Verdict::Good));
        }
    }

    #[test]
    fn non_english_employees_write_in_their_language_in_a_share_of_the_new_conversations() {
        let mut rng = StdRng::seed_from_u64(22);
        let mut by_lang: HashMap<&str, usize> = HashMap::new();
        for k in 0..400 {
            let employee = directory::employee(k);
            let g = play(&mut rng, Scenario::NeedlessTransfer, &employee, &slot(1));
            let first = g.conversation.messages[1..]
                .iter()
                .find(|m| {
                    m.role == "user"
                        && !ph::GREETINGS
                            .iter()
                            .any(|h| m.content.eq_ignore_ascii_case(h))
                })
                .map(|m| m.content.to_string())
                .unwrap_or_default();
            let english = super::super::handoff::SIMPLE_QUESTIONS
                .iter()
                .flat_map(|(_, bank)| bank.en)
                .any(|q| first.eq_ignore_ascii_case(q));
            let key = if english { "en" } else { employee.locale() };
            *by_lang.entry(key).or_default() += 1;
        }
        for locale in ["nl-NL", "de-DE", "fr-CA", "es-ES"] {
            assert!(by_lang.get(locale).is_some_and(|&n| n > 0), "{by_lang:?}");
        }
        assert!(by_lang["en"] > 200, "{by_lang:?}");
    }
}
