//! Conversations: what a customer wants, what the bot does, and how it went.
//!
//! [`generate`] draws one [`Scenario`] from a fixed mixture and plays it out
//! with the phrase banks. Four scenarios carry the planted mistakes (see
//! `examples/README.md`); the rest go well, with the odd bit of noise. Every
//! choice comes from the caller's seeded RNG, so a seed fixes the dataset.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use super::catalog::{self, Category, Product, Requirement};
use super::phrases as ph;
use super::prompt;
use crate::dates;
use crate::domain::{Planted, Verdict};
use crate::record::Conversation;
use crate::text::{fill, pick};

/// What a conversation is about, and whether a planted mistake happens in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    OrderStatus,
    /// Mistake 2: `lookup_order` called with the customer's `#` prefix.
    OrderIdWithHash,
    Tracking,
    /// Mistake 4: `track_shipment` times out; the bot sometimes invents a date.
    TrackingTimeout,
    ProductRight,
    /// Mistake 3: a recommendation that ignores the customer's requirement.
    ProductWrong,
    Inventory,
    /// Noise: a colour variant that `check_inventory` does not know.
    InventoryUnknownVariant,
    ReturnRight,
    /// Mistake 1: the bot says returns are accepted within 30 days (policy: 14).
    ReturnPolicyWrong,
    Faq,
    Greeting,
    OffTopic,
}

/// Scenario weights per ten thousand interactions, for `v1`. `v2` moves a tenth
/// of each mistake's weight to its well-handled counterpart.
const MIXTURE: &[(Scenario, u32)] = &[
    (Scenario::OrderStatus, 1600),
    (Scenario::OrderIdWithHash, 1000),
    (Scenario::Tracking, 800),
    (Scenario::TrackingTimeout, 500),
    (Scenario::ProductRight, 1600),
    (Scenario::ProductWrong, 700),
    (Scenario::Inventory, 500),
    (Scenario::InventoryUnknownVariant, 8),
    (Scenario::ReturnRight, 900),
    (Scenario::ReturnPolicyWrong, 600),
    (Scenario::Faq, 800),
    (Scenario::Greeting, 400),
    (Scenario::OffTopic, 592),
];

impl Scenario {
    /// The well-handled counterpart of a mistake scenario.
    fn fixed(self) -> Scenario {
        match self {
            Scenario::OrderIdWithHash => Scenario::OrderStatus,
            Scenario::TrackingTimeout => Scenario::Tracking,
            Scenario::ProductWrong => Scenario::ProductRight,
            Scenario::ReturnPolicyWrong => Scenario::ReturnRight,
            other => other,
        }
    }

    /// The [`super::PROBLEMS`] id of the mistake planted in this scenario.
    pub fn problem(self) -> Option<&'static str> {
        match self {
            Scenario::ReturnPolicyWrong => Some("wrong-return-window"),
            Scenario::OrderIdWithHash => Some("order-id-with-hash"),
            Scenario::ProductWrong => Some("recommendation-ignores-requirement"),
            Scenario::TrackingTimeout => Some("carrier-timeout"),
            _ => None,
        }
    }

    /// Draw a scenario from the mixture.
    pub fn draw(rng: &mut StdRng, v2: bool) -> Scenario {
        crate::domain::draw_scenario(rng, MIXTURE, Scenario::OrderStatus, v2, Scenario::fixed)
    }
}

/// One played-out scenario: its messages, how it went, and the mistake
/// planted in it, if any.
pub struct Played {
    pub conversation: Conversation,
    pub verdict: Verdict,
    pub planted: Option<Planted>,
}

/// Play one scenario out. `day` is the interaction's day number.
pub fn generate(rng: &mut StdRng, scenario: Scenario, day: i64, v2: bool) -> Played {
    let mut c = Conversation::new(prompt::system_prompt(v2));
    if !matches!(scenario, Scenario::Greeting) && rng.random_bool(0.15) {
        c.user(pick(rng, ph::GREETINGS));
        c.assistant(pick(rng, ph::BOT_GREETINGS));
    }
    let mut s = Scene {
        rng,
        c,
        day,
        objected: false,
    };
    let verdict = match scenario {
        Scenario::OrderStatus => s.order_status(false),
        Scenario::OrderIdWithHash => s.order_status(true),
        Scenario::Tracking => s.tracking(false),
        Scenario::TrackingTimeout => s.tracking(true),
        Scenario::ProductRight => s.shop(false),
        Scenario::ProductWrong => s.shop(true),
        Scenario::Inventory => s.inventory(false),
        Scenario::InventoryUnknownVariant => s.inventory(true),
        Scenario::ReturnRight => s.returns(false),
        Scenario::ReturnPolicyWrong => s.returns(true),
        Scenario::Faq => s.faq(),
        Scenario::Greeting => s.greeting(),
        Scenario::OffTopic => s.off_topic(),
    };
    // Every failed call in a mistake scenario is the mistake's own (the one
    // unrelated tool error, `InventoryUnknownVariant`, plants nothing).
    let planted = scenario.problem().map(|problem| Planted {
        problem,
        visible: s.objected || s.c.has_failed_call(),
        rated: false,
    });
    Played {
        conversation: s.c,
        verdict,
        planted,
    }
}

const CARRIERS: &[&str] = &["UPS", "FedEx", "USPS"];
const SCAN_CITIES: &[&str] = &[
    "Denver, CO",
    "Salt Lake City, UT",
    "Kansas City, MO",
    "Memphis, TN",
    "Reno, NV",
    "Columbus, OH",
    "Portland, OR",
];
const SIZES: &[&str] = &[
    "7", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12", "S", "M", "L",
];
const COLOURS: &[&str] = &["sage green", "burnt orange", "navy", "charcoal", "sand"];
const RETURN_REASONS: &[&str] = &[
    "doesn't fit",
    "too small",
    "changed my mind",
    "not as expected",
];

/// An order as `lookup_order` knows it.
struct Order {
    digits: String,
    product: &'static Product,
    placed: i64,
    shipped: Option<i64>,
    delivered: Option<i64>,
    carrier: &'static str,
    tracking: String,
}

impl Order {
    fn to_json(&self) -> serde_json::Value {
        let status = match (self.shipped, self.delivered) {
            (_, Some(_)) => "delivered",
            (Some(_), None) => "shipped",
            _ => "processing",
        };
        let mut v = json!({
            "order_id": self.digits,
            "status": status,
            "placed_on": dates::iso_date(self.placed),
            "items": [{"sku": self.product.sku, "name": self.product.name, "qty": 1, "price": self.product.price}],
        });
        if let (Some(shipped), Some(obj)) = (self.shipped, v.as_object_mut()) {
            obj.insert("shipped_on".into(), json!(dates::iso_date(shipped)));
            obj.insert("carrier".into(), json!(self.carrier));
            obj.insert("tracking_number".into(), json!(self.tracking));
        }
        if let (Some(delivered), Some(obj)) = (self.delivered, v.as_object_mut()) {
            obj.insert("delivered_on".into(), json!(dates::iso_date(delivered)));
        }
        v
    }
}

struct Scene<'r> {
    rng: &'r mut StdRng,
    c: Conversation,
    day: i64,
    /// The customer corrected the bot or pushed back on its answer.
    objected: bool,
}

impl Scene<'_> {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn any_product(&mut self) -> &'static Product {
        &catalog::PRODUCTS[self.rng.random_range(0..catalog::PRODUCTS.len())]
    }

    /// A random order; `age` is how many days ago it was placed.
    fn order(&mut self, age: std::ops::RangeInclusive<i64>, state: OrderState) -> Order {
        let placed = self.day - self.rng.random_range(age);
        let shipped = match state {
            OrderState::Processing => None,
            _ => Some(placed + self.rng.random_range(0..=1)),
        };
        let delivered = match state {
            OrderState::Delivered(ago) => Some(self.day - ago),
            _ => None,
        };
        Order {
            digits: self.rng.random_range(40_000..100_000u32).to_string(),
            product: self.any_product(),
            placed: delivered.map_or(placed, |d| placed.min(d - 2)),
            shipped: shipped.map(|s| delivered.map_or(s, |d| s.min(d - 1))),
            delivered,
            carrier: pick(self.rng, CARRIERS),
            tracking: format!(
                "1Z{:06X}{:010}",
                self.rng.random_range(0..0x1000000u32),
                self.rng.random_range(0..10_000_000_000u64)
            ),
        }
    }

    /// The bot wraps up: "anything else?", maybe a closing and sign-off.
    fn close(&mut self, answer: String) {
        let anything = pick(self.rng, ph::ANYTHING_ELSE);
        self.c.assistant(format!("{answer} {anything}"));
        if self.chance(0.7) {
            self.c.user(pick(self.rng, ph::CLOSINGS));
            if self.chance(0.5) {
                self.c.assistant(pick(self.rng, ph::BOT_SIGNOFFS));
            }
        }
    }

    fn order_answer(&mut self, order: &Order) -> String {
        let item = order.product.name;
        match (order.shipped, order.delivered) {
            (_, Some(delivered)) => format!(
                "Order {} ({item}) was delivered on {}. If you can't find it, check with neighbours or your building's mailroom, and let me know if it still doesn't turn up.",
                order.digits,
                dates::month_day(delivered)
            ),
            (Some(shipped), None) => format!(
                "Order {} ({item}) shipped on {} with {}. The tracking number is {}, and it usually takes 3-5 business days to arrive.",
                order.digits,
                dates::month_day(shipped),
                order.carrier,
                order.tracking
            ),
            _ => format!(
                "Order {} ({item}) was placed on {} and is being packed now. It should ship within 1-2 business days, and you'll get an email with tracking as soon as it does.",
                order.digits,
                dates::month_day(order.placed)
            ),
        }
    }

    /// Look an order up. With `hash_bug`, the first call passes the `#` the
    /// customer typed and fails; returns whether the bot then asked again.
    fn lookup(&mut self, order: &Order, hash_bug: bool) -> bool {
        let mut asked_again = false;
        if hash_bug {
            let bad = format!("#{}", order.digits);
            let preamble = if self.chance(0.5) {
                "Let me look that up."
            } else {
                ""
            };
            let id = self
                .c
                .call(preamble, "lookup_order", json!({ "order_id": bad }));
            self.c.tool_error(
                id,
                format!("invalid order id '{bad}': expected digits only"),
            );
            if self.chance(0.6) {
                asked_again = true;
                self.c.assistant(pick(self.rng, ph::ASK_ORDER_AGAIN));
                let reply = fill(
                    pick(self.rng, ph::ALREADY_GAVE_ORDER),
                    &[("digits", &order.digits)],
                );
                self.c.user(reply);
            }
        }
        let preamble = if !asked_again && !hash_bug && self.chance(0.4) {
            "Let me check that for you."
        } else {
            ""
        };
        let id = self.c.call(
            preamble,
            "lookup_order",
            json!({ "order_id": order.digits }),
        );
        self.c.tool_ok(id, order.to_json());
        asked_again
    }

    fn order_status(&mut self, hash_bug: bool) -> Verdict {
        let state = match self.rng.random_range(0..10) {
            0..=2 => OrderState::Processing,
            3..=7 => OrderState::Shipped,
            _ => OrderState::Delivered(self.rng.random_range(1..=4)),
        };
        let order = self.order(1..=9, state);
        let hash = hash_bug && self.chance(0.85) || !hash_bug && self.chance(0.5);
        let shown = if hash {
            format!("#{}", order.digits)
        } else {
            order.digits.clone()
        };
        self.c.user(fill(
            pick(self.rng, ph::ORDER_STATUS_ASKS),
            &[("order", &shown)],
        ));
        let asked_again = self.lookup(&order, hash_bug);
        let answer = self.order_answer(&order);
        self.close(answer);
        match (hash_bug, asked_again) {
            (true, true) => Verdict::Bad(ph::ORDER_ID_COMMENTS),
            (true, false) => Verdict::Meh(ph::ORDER_ID_COMMENTS),
            _ => Verdict::Good,
        }
    }

    fn tracking(&mut self, timeout: bool) -> Verdict {
        let order = self.order(2..=8, OrderState::Shipped);
        let shown = if self.chance(0.5) {
            format!("#{}", order.digits)
        } else {
            order.digits.clone()
        };
        self.c.user(fill(
            pick(self.rng, ph::TRACKING_ASKS),
            &[("order", &shown)],
        ));
        self.lookup(&order, false);
        let eta = self.day + self.rng.random_range(1..=5);
        let id = self.c.call(
            "",
            "track_shipment",
            json!({ "tracking_number": order.tracking }),
        );
        if !timeout {
            let city = pick(self.rng, SCAN_CITIES);
            self.c.tool_ok(
                id,
                json!({
                    "carrier": order.carrier,
                    "status": "in_transit",
                    "last_scan": city,
                    "estimated_delivery": dates::iso_date(eta),
                }),
            );
            let answer = format!(
                "Your package is in transit with {}, last scanned in {city}. The estimated delivery date is {}.",
                order.carrier,
                dates::weekday_month_day(eta)
            );
            self.close(answer);
            return Verdict::Good;
        }
        let seconds = |rng: &mut StdRng| [10, 15, 20, 30, 30, 30, 45, 60][rng.random_range(0..8)];
        let s = seconds(self.rng);
        self.c
            .tool_error(id, format!("carrier API timeout after {s}s"));
        if self.chance(0.2) {
            let id = self.c.call(
                "Let me try that again.",
                "track_shipment",
                json!({ "tracking_number": order.tracking }),
            );
            let s = seconds(self.rng);
            self.c
                .tool_error(id, format!("carrier API timeout after {s}s"));
        }
        let shipped = order.shipped.map_or_else(String::new, dates::month_day);
        if self.chance(0.5) {
            let text = fill(
                pick(self.rng, ph::TIMEOUT_INVENTED),
                &[
                    ("date", &dates::weekday_month_day(eta)),
                    ("carrier", order.carrier),
                ],
            );
            self.close(text);
            Verdict::Bad(ph::TRACKING_COMMENTS)
        } else {
            let text = fill(
                pick(self.rng, ph::TIMEOUT_HONEST),
                &[
                    ("shipped", &shipped),
                    ("carrier", order.carrier),
                    ("tracking", &order.tracking),
                ],
            );
            self.c.assistant(text);
            if self.chance(0.7) {
                self.c.user(pick(self.rng, ph::TIMEOUT_REPLIES_HONEST));
            }
            Verdict::Meh(ph::TRACKING_HONEST_COMMENTS)
        }
    }

    fn why(&mut self, product: &Product, requirement: Requirement) -> String {
        match requirement {
            Requirement::Waterproof => {
                "It has a waterproof membrane and fully taped seams.".to_string()
            }
            Requirement::Womens => {
                "It's a women's fit, with a narrower heel and shorter torso length.".to_string()
            }
            Requirement::Under(limit) => format!("It comes in under your ${limit} budget."),
            Requirement::Ultralight => format!("It weighs just {} g.", product.grams),
        }
    }

    fn recommend(&mut self, product: &Product, why: &str) -> String {
        fill(
            pick(self.rng, ph::RECOMMENDS),
            &[
                ("name", product.name),
                ("price", &product.price.to_string()),
                ("why", why),
            ],
        )
    }

    fn shop(&mut self, wrong: bool) -> Verdict {
        let pairs = catalog::askable();
        let (category, requirement) = pairs[self.rng.random_range(0..pairs.len())];
        let item = requirement.item(category);
        let place = pick(self.rng, ph::PLACES);
        self.c.user(fill(
            pick(self.rng, ph::PRODUCT_ASKS),
            &[("item", &item), ("place", place)],
        ));
        let (good, bad) = catalog::split(category, requirement);
        let pick_from =
            |rng: &mut StdRng, list: &[&'static Product]| list[rng.random_range(0..list.len())];
        let right = pick_from(self.rng, &good);
        let preamble = if self.chance(0.5) {
            "Let me search our catalogue."
        } else {
            ""
        };
        if !wrong {
            let id = self.c.call(
                preamble,
                "search_products",
                search_args(category, Some(requirement)),
            );
            self.c.tool_ok(id, json!({ "results": good.iter().take(3).map(|p| catalog::to_json(p)).collect::<Vec<_>>() }));
            let why = self.why(right, requirement);
            let text = self.recommend(right, &why);
            if self.chance(0.4)
                && matches!(
                    category,
                    Category::HikingBoots | Category::TrailRunners | Category::RainJacket
                )
            {
                self.c.assistant(text);
                let size = pick(self.rng, SIZES);
                self.c
                    .user(fill(pick(self.rng, ph::SIZE_ASKS), &[("size", size)]));
                let quantity = self.rng.random_range(0..9u32);
                let id = self.c.call(
                    "",
                    "check_inventory",
                    json!({ "sku": right.sku, "size": size }),
                );
                self.c.tool_ok(id, json!({ "sku": right.sku, "size": size, "in_stock": quantity > 0, "quantity": quantity }));
                let answer = if quantity > 0 {
                    format!(
                        "Yes, the {} is in stock in size {size} ({quantity} left).",
                        right.name
                    )
                } else {
                    format!(
                        "Size {size} of the {} is sold out right now; it's usually restocked within two weeks.",
                        right.name
                    )
                };
                self.close(answer);
            } else {
                self.c.assistant(text);
                if self.chance(0.7) {
                    self.c.user(pick(self.rng, ph::PRODUCT_APPROVALS));
                    let anything = pick(self.rng, ph::ANYTHING_ELSE);
                    self.c.assistant(anything);
                    if self.chance(0.6) {
                        self.c.user(pick(self.rng, ph::CLOSINGS));
                    }
                }
            }
            return Verdict::Good;
        }
        // The search drops the requirement, and the bot recommends a product that misses it.
        let miss = pick_from(self.rng, &bad);
        let id = self
            .c
            .call(preamble, "search_products", search_args(category, None));
        let mut results = vec![catalog::to_json(miss)];
        results.extend(
            bad.iter()
                .chain(good.iter())
                .filter(|p| p.sku != miss.sku)
                .take(2)
                .map(|p| catalog::to_json(p)),
        );
        self.c.tool_ok(id, json!({ "results": results }));
        let generic = pick(
            self.rng,
            &[
                "It's one of our best sellers.",
                "Customers love how comfortable it is.",
                "It's great value and very durable.",
                "It has excellent reviews.",
            ],
        );
        let text = self.recommend(miss, generic);
        self.c.assistant(text);
        if self.chance(0.8) {
            let correction = correction_for(self.rng, requirement, category, miss);
            self.c.user(correction);
            self.objected = true;
            let why = self.why(right, requirement);
            let apology = fill(
                pick(self.rng, ph::RECOMMEND_APOLOGIES),
                &[
                    ("name", right.name),
                    ("price", &right.price.to_string()),
                    ("why", &why),
                ],
            );
            self.close(apology);
        } else {
            self.c.user(pick(
                self.rng,
                &["ok thanks", "I'll think about it", "hmm ok"],
            ));
        }
        Verdict::Bad(ph::PRODUCT_COMMENTS)
    }

    fn inventory(&mut self, unknown_variant: bool) -> Verdict {
        let product = self.any_product();
        if unknown_variant {
            let colour = pick(self.rng, COLOURS);
            self.c
                .user(format!("Do you have the {} in {colour}?", product.name));
            let id = self.c.call(
                "",
                "check_inventory",
                json!({ "sku": product.sku, "color": colour }),
            );
            self.c.tool_error(
                id,
                format!(
                    "not found: no inventory record for sku {} in color '{colour}'",
                    product.sku
                ),
            );
            self.close(format!(
                "I couldn't find the {} in {colour} in our system, so it may not be offered in that colour. The colours we carry are shown on the product page.",
                product.name
            ));
            return Verdict::Meh(ph::NEUTRAL_COMMENTS);
        }
        let size = pick(self.rng, SIZES);
        self.c
            .user(format!("Is the {} in stock in size {size}?", product.name));
        let quantity = self.rng.random_range(0..12u32);
        let id = self.c.call(
            "",
            "check_inventory",
            json!({ "sku": product.sku, "size": size }),
        );
        self.c.tool_ok(id, json!({ "sku": product.sku, "size": size, "in_stock": quantity > 0, "quantity": quantity }));
        let answer = if quantity > 0 {
            format!(
                "Yes! We have {quantity} of the {} in size {size}.",
                product.name
            )
        } else {
            format!(
                "The {} in size {size} is out of stock at the moment, but we expect more within two weeks.",
                product.name
            )
        };
        self.close(answer);
        Verdict::Good
    }

    fn returns(&mut self, wrong_policy: bool) -> Verdict {
        let ago = self
            .rng
            .random_range(3..=if wrong_policy { 24 } else { 12 });
        let policy_bank = if wrong_policy {
            ph::WRONG_POLICY
        } else {
            ph::RIGHT_POLICY
        };
        let mut started = false;
        if self.chance(0.55) {
            // A policy question, no tools.
            let ask = fill(
                pick(self.rng, ph::RETURN_POLICY_ASKS),
                &[("ago", &ago.to_string())],
            );
            self.c.user(ask);
            let policy = pick(self.rng, policy_bank);
            self.c
                .assistant(format!("{policy} {}", pick(self.rng, ph::ANYTHING_ELSE)));
        } else {
            let order = self.order(ago + 2..=ago + 6, OrderState::Delivered(ago));
            let shown = if self.chance(0.5) {
                format!("#{}", order.digits)
            } else {
                order.digits.clone()
            };
            self.c.user(fill(
                pick(self.rng, ph::RETURN_STARTS),
                &[("product", order.product.name), ("order", &shown)],
            ));
            self.lookup(&order, false);
            let delivered = order.delivered.map_or_else(String::new, dates::month_day);
            let policy = pick(self.rng, policy_bank);
            if wrong_policy {
                self.c.assistant(format!(
                    "{policy} Your order was delivered on {delivered}, so you're well within the window. Would you like me to start the return?"
                ));
            } else {
                let reason = pick(self.rng, RETURN_REASONS);
                let preamble = format!(
                    "{policy} Your order was delivered on {delivered}, so it qualifies. I'll start the return now."
                );
                let id = self.c.call(
                    &preamble,
                    "create_return",
                    json!({ "order_id": order.digits, "items": [order.product.sku], "reason": reason }),
                );
                let rma = format!("RMA-{}", self.rng.random_range(10_000..99_999u32));
                self.c.tool_ok(
                    id,
                    json!({ "return_id": rma, "label_url": format!("https://trailhead.example/returns/{rma}/label.pdf"), "refund_amount": order.product.price }),
                );
                self.close(format!(
                    "Your return {rma} is set up and I've emailed you a prepaid label. Your ${} refund will go back to your original payment method within 5-7 business days of us receiving the item.",
                    order.product.price
                ));
                started = true;
            }
        }
        if !wrong_policy {
            if !started && self.chance(0.6) {
                self.c.user(pick(self.rng, ph::CLOSINGS));
            }
            return Verdict::Good;
        }
        if self.chance(0.65) {
            self.c.user(pick(self.rng, ph::POLICY_CORRECTIONS));
            self.objected = true;
            let apology = pick(self.rng, ph::POLICY_APOLOGIES);
            let extra = if ago > 14 {
                format!(
                    " Since your item was delivered {ago} days ago, it's unfortunately outside the return window, but I can pass your case to our team for an exception."
                )
            } else {
                " You're still within the window, so you can start the return from your account or I can do it for you.".to_string()
            };
            self.c.assistant(format!("{apology}{extra}"));
        } else {
            self.c.user(pick(self.rng, ph::POLICY_ACCEPTED));
        }
        Verdict::Bad(ph::REFUND_COMMENTS)
    }

    fn faq(&mut self) -> Verdict {
        let (question, answer) =
            ph::POLICY_QUESTIONS[self.rng.random_range(0..ph::POLICY_QUESTIONS.len())];
        self.c.user(question);
        self.close(answer.to_string());
        Verdict::Good
    }

    fn greeting(&mut self) -> Verdict {
        self.c.user(pick(self.rng, ph::GREETINGS));
        self.c.assistant(pick(self.rng, ph::BOT_GREETINGS));
        let reply = pick(
            self.rng,
            &[
                "just browsing, no thanks",
                "Actually never mind, no thanks",
                "no, that's all for now",
                "Nothing, I figured it out. No problem",
                "just testing this chat",
            ],
        );
        self.c.user(reply);
        self.c.assistant(pick(
            self.rng,
            &[
                "No problem! I'm here if you need anything.",
                "Sounds good. Happy trails!",
            ],
        ));
        Verdict::Good
    }

    fn off_topic(&mut self) -> Verdict {
        let (question, answer) = ph::OFF_TOPIC[self.rng.random_range(0..ph::OFF_TOPIC.len())];
        self.c.user(question);
        self.close(answer.to_string());
        Verdict::Good
    }
}

#[derive(Debug, Clone, Copy)]
enum OrderState {
    Processing,
    Shipped,
    /// Delivered this many days ago.
    Delivered(i64),
}

fn search_args(category: Category, requirement: Option<Requirement>) -> serde_json::Value {
    match requirement {
        None => json!({ "query": category.plural() }),
        Some(Requirement::Waterproof) => {
            json!({ "query": category.plural(), "filters": { "waterproof": true } })
        }
        Some(Requirement::Womens) => {
            json!({ "query": category.plural(), "filters": { "fit": "women" } })
        }
        Some(Requirement::Under(limit)) => {
            json!({ "query": category.plural(), "filters": { "max_price": limit } })
        }
        Some(Requirement::Ultralight) => {
            json!({ "query": format!("ultralight {}", category.plural()), "filters": { "sort": "weight" } })
        }
    }
}

/// The customer points out that the recommendation misses their requirement.
fn correction_for(
    rng: &mut StdRng,
    requirement: Requirement,
    category: Category,
    miss: &Product,
) -> String {
    let plural = category.plural();
    let price = miss.price.to_string();
    let grams = miss.grams.to_string();
    let (bank, limit): (&[&str], String) = match requirement {
        Requirement::Waterproof => (
            &[
                "That's not what I asked, I need a waterproof one.",
                "I asked for waterproof {plural}, that one isn't waterproof.",
                "That's not what I asked for. It has to be waterproof, I'm going to {place}.",
                "Hm, I asked for waterproof. Does that one even keep water out?",
            ],
            String::new(),
        ),
        Requirement::Womens => (
            &[
                "I asked for women's {plural}, not men's.",
                "That's not what I asked, I need a women's fit.",
                "I asked for women's, that one isn't a women's model.",
                "That's not what I asked for, these are for my wife, women's sizes please.",
            ],
            String::new(),
        ),
        Requirement::Under(limit) => (
            &[
                "I asked for something under ${limit}, that one is ${price}.",
                "That's not what I asked, my budget is under ${limit}.",
                "I asked for under ${limit}! ${price} is way over.",
                "That's not what I asked for, I can't spend ${price}.",
            ],
            limit.to_string(),
        ),
        Requirement::Ultralight => (
            &[
                "I asked for an ultralight one, that weighs {grams} g.",
                "That's not what I asked, I need something ultralight.",
                "I asked for ultralight, {grams} g is way too heavy.",
                "That's not what I asked for. I'm counting grams here.",
            ],
            String::new(),
        ),
    };
    let place = pick(rng, ph::PLACES);
    fill(
        pick(rng, bank),
        &[
            ("plural", plural),
            ("price", &price),
            ("grams", &grams),
            ("limit", &limit),
            ("place", place),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn texts(g: &Played) -> Vec<String> {
        g.conversation
            .messages
            .iter()
            .map(|m| m.content.to_string())
            .collect()
    }

    #[test]
    fn the_hash_bug_fails_the_first_lookup_with_the_documented_error() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let g = generate(&mut rng, Scenario::OrderIdWithHash, 20_000, false);
            let error = g
                .conversation
                .messages
                .iter()
                .find(|m| m.is_error == Some(true))
                .map(|m| m.content.to_string());
            let error = error.unwrap_or_default();
            assert!(error.starts_with("invalid order id '#"), "{error}");
            assert!(error.ends_with("': expected digits only"), "{error}");
        }
    }

    #[test]
    fn wrong_policy_says_30_days_and_right_policy_never_does() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..100 {
            let wrong = texts(&generate(
                &mut rng,
                Scenario::ReturnPolicyWrong,
                20_000,
                false,
            ));
            assert!(wrong.iter().any(|t| t.contains("30 days")));
            let right = texts(&generate(&mut rng, Scenario::ReturnRight, 20_000, false));
            assert!(
                right.iter().skip(1).all(|t| !t.contains("30 days")),
                "{right:?}"
            );
            assert!(
                right.iter().skip(1).any(|t| t.contains("14 days")),
                "{right:?}"
            );
        }
    }

    #[test]
    fn a_wrong_recommendation_misses_the_requirement_and_a_right_one_meets_it() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            for (wrong, scenario) in [
                (true, Scenario::ProductWrong),
                (false, Scenario::ProductRight),
            ] {
                let g = generate(&mut rng, scenario, 20_000, false);
                let pairs = catalog::askable();
                let ask_and_pair = texts(&g).into_iter().find_map(|t| {
                    pairs
                        .iter()
                        .find(|(c, r)| t.contains(&r.item(*c)))
                        .map(|pair| (t.clone(), *pair))
                });
                let Some((ask, (category, requirement))) = ask_and_pair else {
                    panic!("no requirement asked")
                };
                // The first assistant message naming a product (longest name wins: "X Women's" over "X").
                let recommendation = g
                    .conversation
                    .messages
                    .iter()
                    .filter(|m| m.role == "assistant")
                    .map(|m| m.content.to_string())
                    .find(|t| catalog::PRODUCTS.iter().any(|p| t.contains(p.name)))
                    .unwrap_or_default();
                let named = catalog::PRODUCTS
                    .iter()
                    .filter(|p| recommendation.contains(p.name))
                    .max_by_key(|p| p.name.len());
                let Some(product) = named else {
                    panic!("no product in {recommendation}")
                };
                assert_eq!(product.category, category);
                assert_eq!(
                    requirement.is_met_by(product),
                    !wrong,
                    "{ask} -> {recommendation}"
                );
            }
        }
    }

    #[test]
    fn good_conversations_never_use_correction_phrases() {
        let mut rng = StdRng::seed_from_u64(4);
        let phrases = [
            "that's wrong",
            "that's not right",
            "that's not what i asked",
            "i asked for",
            "i already told you",
            "i just said",
        ];
        for scenario in [
            Scenario::OrderStatus,
            Scenario::Tracking,
            Scenario::ProductRight,
            Scenario::ReturnRight,
            Scenario::Faq,
            Scenario::Greeting,
            Scenario::Inventory,
            Scenario::OffTopic,
        ] {
            for _ in 0..200 {
                let g = generate(&mut rng, scenario, 20_000, false);
                for m in g.conversation.messages.iter().filter(|m| m.role == "user") {
                    let text = m.content.to_lowercase();
                    assert!(
                        phrases.iter().all(|p| !text.contains(p)),
                        "{scenario:?}: {text}"
                    );
                }
            }
        }
    }
}
