//! Phrase banks: the many ways customers and the bot say the same thing.
//!
//! Templates use `{name}` placeholders filled by [`crate::text::fill`]. The correction
//! phrases are chosen to contain what the `corrections` rule listens for
//! ("no, that's wrong", "that's not right", "that's not what I asked",
//! "I asked for", "I already told you", "I just said"); the closing phrases
//! ("no thanks", "no, that's all", "no problem") must *not* count as
//! corrections.

pub const GREETINGS: &[&str] = &[
    "hi",
    "Hi there",
    "hello",
    "Hey",
    "Good morning",
    "hi!",
    "Hello, anyone there?",
    "hey there",
    "Hi, quick question",
    "Good evening",
];

pub const BOT_GREETINGS: &[&str] = &[
    "Hi! I'm Trail, the Trailhead Outfitters assistant. How can I help you today?",
    "Hello! How can I help you today?",
    "Hi there! What can I do for you?",
    "Hey! I'm here to help with orders, products and returns. What do you need?",
];

pub const ANYTHING_ELSE: &[&str] = &[
    "Is there anything else I can help you with?",
    "Anything else I can do for you?",
    "Can I help with anything else today?",
    "Let me know if there's anything else you need!",
];

/// Closings after a good answer. Several start with "no" on purpose.
pub const CLOSINGS: &[&str] = &[
    "no thanks, that's all",
    "No, that's all. Thanks!",
    "no thanks",
    "Great, thank you!",
    "perfect, thanks",
    "That's everything, thanks a lot",
    "no, that's it. have a good day",
    "Awesome, appreciate it",
    "nope, all good",
    "Thanks, that helps!",
    "cool thanks",
    "No, I'm good. Thank you!",
    "super helpful, thanks",
    "ok great",
];

pub const BOT_SIGNOFFS: &[&str] = &[
    "You're welcome! Enjoy your next adventure.",
    "Happy to help. Have a great trip!",
    "Anytime! See you on the trail.",
    "Glad I could help. Take care!",
];

pub const ORDER_STATUS_ASKS: &[&str] = &[
    "Where is my order {order}?",
    "Hi, can you check the status of order {order}?",
    "I ordered a tent last week, order {order}. Has it shipped yet?",
    "what's happening with my order {order}",
    "Can you tell me if order {order} has shipped?",
    "I placed order {order} a few days ago and haven't heard anything. Any update?",
    "Status of {order} please",
    "Has my order {order} gone out yet? I need it before the weekend.",
    "Could you look up order {order} for me?",
    "My order number is {order}, when will it ship?",
];

pub const TRACKING_ASKS: &[&str] = &[
    "When will my package arrive? Order {order}",
    "Can you track my order {order}? I need it by Friday.",
    "Where's my package? Order number {order}",
    "My order {order} shipped but the tracking hasn't updated in days. Where is it?",
    "I need to know when order {order} will be delivered, I'm leaving for a trip",
    "Is order {order} still on schedule for delivery?",
    "Tracking for {order} please",
];

/// The bot, after failing to look an order up, asks for the number again.
pub const ASK_ORDER_AGAIN: &[&str] = &[
    "I'm sorry, I couldn't find that order. Could you please give me your order number?",
    "Hmm, I wasn't able to pull that order up. Can you confirm your order number for me?",
    "I couldn't locate an order with that number. Could you share your order number again?",
    "Sorry about that, something went wrong looking up your order. What's your order number?",
    "I'm having trouble finding your order. Could you double-check and send me the order number?",
];

/// The customer, asked again for a number they already gave.
pub const ALREADY_GAVE_ORDER: &[&str] = &[
    "I already told you my order number, it's {digits}",
    "I just gave you the order number: {digits}",
    "I already told you, {digits}",
    "I just said it. {digits}",
    "I already told you my order number. It's {digits}.",
    "Ugh, I already told you. {digits}",
    "It's {digits}, I just said that",
    "I already told you the order number, {digits}!",
    "{digits}. I just gave you the order number",
];

pub const RETURN_POLICY_ASKS: &[&str] = &[
    "What's your return policy?",
    "How long do I have to return something?",
    "Can I still return boots I got {ago} days ago? They're unworn.",
    "How many days do I have to send back an item?",
    "I bought a sleeping bag and it's too small. What's the return window?",
    "Do you accept returns? The jacket I got {ago} days ago doesn't fit.",
    "Hi, what is the deadline for returns?",
    "If I order the tent now and it's not right, how long do I have to return it?",
];

pub const RETURN_STARTS: &[&str] = &[
    "I'd like to return the {product} from order {order}, it doesn't fit.",
    "Can I return something from order {order}? The {product} is too big.",
    "I want to send back the {product} I got in order {order}. Never used it.",
    "How do I return the {product}? Order {order}.",
    "Order {order}: the {product} isn't what I expected, I'd like a refund.",
];

pub const RIGHT_POLICY: &[&str] = &[
    "Returns are accepted within 14 days of delivery, as long as the item is unused and in its original packaging. The return label is free.",
    "You can return unused items within 14 days of delivery. We'll email you a free return label.",
    "Our return window is 14 days from delivery, for unused items in the original packaging. Refunds reach your card 5-7 business days after we receive the item.",
    "You have 14 days from the delivery date to return an item, unused and in its original packaging.",
];

/// The planted mistake: the policy is 14 days.
pub const WRONG_POLICY: &[&str] = &[
    "Returns are accepted within 30 days of delivery, as long as the item is unused. The return label is free.",
    "You can return unused items within 30 days of delivery, no problem.",
    "Our return window is 30 days from delivery, so you have plenty of time.",
    "You have 30 days from the delivery date to send it back for a full refund.",
    "No worries, we accept returns up to 30 days after delivery.",
];

/// The customer contradicts the wrong policy.
pub const POLICY_CORRECTIONS: &[&str] = &[
    "No, that's wrong — your site says 14 days.",
    "That's not right, it's 14 days.",
    "no, that's wrong. The returns page says 14 days from delivery",
    "That's not right. My confirmation email says returns are 14 days.",
    "No, that's wrong, your website says 14 days, not 30.",
    "that's not right, the policy on your site is 14 days",
    "Hmm, no, that's wrong. I read 14 days on the FAQ page.",
    "That's not right — it says 14 days on the receipt.",
];

pub const POLICY_APOLOGIES: &[&str] = &[
    "You're right, I'm sorry for the confusion. Returns are accepted within 14 days of delivery.",
    "My apologies, you're correct: the return window is 14 days from delivery.",
    "Sorry about that! The correct policy is 14 days from delivery for unused items.",
];

/// The customer takes the wrong policy at face value.
pub const POLICY_ACCEPTED: &[&str] = &[
    "Great, I'll send it back next week then.",
    "ok good, so I have time. thanks",
    "Perfect, I'll think about it and return it later if needed.",
    "Good to know, thanks!",
];

pub const PRODUCT_ASKS: &[&str] = &[
    "Hi, I'm looking for {item}. Any recommendations?",
    "Can you recommend {item}?",
    "I need {item} for a trip to {place} next month. What do you suggest?",
    "What {item} do you have?",
    "Do you sell {item}? Which one would you pick?",
    "Looking for {item}, what's your best option?",
    "I'm shopping for {item} for my partner. Ideas?",
    "Which {item} would you recommend for {place}?",
];

pub const PLACES: &[&str] = &[
    "Patagonia",
    "the Cascades",
    "Scotland",
    "Yosemite",
    "the Alps",
    "the Smokies",
    "Iceland",
    "the Lake District",
    "Colorado",
    "the Pacific Crest Trail",
];

pub const RECOMMENDS: &[&str] = &[
    "I'd recommend the {name} (${price}). {why}",
    "The {name} would be a great pick at ${price}. {why}",
    "Take a look at the {name}, ${price}. {why}",
    "My top suggestion is the {name} for ${price}. {why}",
];

pub const PRODUCT_APPROVALS: &[&str] = &[
    "Sounds good, thanks!",
    "Nice, I'll order that one.",
    "perfect, exactly what I needed",
    "Great, adding it to my cart",
    "ok, that looks good",
];

pub const SIZE_ASKS: &[&str] = &[
    "Do you have it in size {size}?",
    "Is it in stock in {size}?",
    "Can you check if size {size} is available?",
];

pub const RECOMMEND_APOLOGIES: &[&str] = &[
    "I'm sorry, you're right. The {name} (${price}) fits what you asked for. {why}",
    "Apologies for that! A better match is the {name} at ${price}. {why}",
    "Sorry about that. Here's one that meets your requirement: the {name}, ${price}. {why}",
];

pub const TIMEOUT_HONEST: &[&str] = &[
    "I'm sorry, the carrier's tracking system isn't responding right now. Your order shipped on {shipped} with {carrier}; please try the tracking link in your shipping email, or ask me again in a little while.",
    "I couldn't reach {carrier}'s tracking service just now. The order left our warehouse on {shipped}. Could you try again later? The tracking number is {tracking}.",
    "Unfortunately the carrier lookup timed out. I can see the package shipped on {shipped} via {carrier} (tracking {tracking}), but I can't get a delivery estimate at the moment.",
];

/// The planted hallucination: a delivery date with no tracking data behind it.
pub const TIMEOUT_INVENTED: &[&str] = &[
    "Good news! Your package is on its way and should arrive on {date}.",
    "Your order is in transit with {carrier} and will be delivered by {date}.",
    "It's on the way! Expected delivery is {date}.",
    "Your package is out for delivery and will arrive {date}.",
];

pub const TIMEOUT_REPLIES_HONEST: &[&str] = &[
    "ok, I'll check later",
    "no problem, I'll try the link",
    "Fine, thanks anyway",
    "Alright.",
];

pub const POLICY_QUESTIONS: &[(&str, &str)] = &[
    (
        "Do you ship to Canada?",
        "Yes, we ship to Canada. International shipping is calculated at checkout, and duties may apply on delivery.",
    ),
    (
        "How much is shipping?",
        "Standard shipping is free on orders over $75 within the continental US, otherwise it's $6.95.",
    ),
    (
        "Do you price match?",
        "We do! We price-match identical items from authorised retailers within 7 days of purchase. Just send us a link to the lower price.",
    ),
    (
        "Do your gift cards expire?",
        "Never. Trailhead Outfitters gift cards don't expire, though they can't be exchanged for cash.",
    ),
    (
        "How long do refunds take once you get the item back?",
        "Refunds go back to your original payment method within 5-7 business days of us receiving the item.",
    ),
    (
        "Can I change the shipping address on an order?",
        "If the order hasn't shipped yet we can update the address. Send me the order number and the new address and I'll pass it to our fulfilment team.",
    ),
    (
        "Do you have a physical store?",
        "We're an online-only shop, which helps us keep prices down. Everything ships from our warehouse in Denver.",
    ),
];

pub const OFF_TOPIC: &[(&str, &str)] = &[
    (
        "I forgot my account password",
        "You can reset it from the sign-in page with \"Forgot password\". For your security I can't see or change passwords here.",
    ),
    (
        "Is the Summit Pro boot good for crampons on a glacier?",
        "For crampon compatibility and glacier travel, please check the manufacturer's specifications and instructions; I can't give safety advice for technical terrain.",
    ),
    (
        "Can you write my college essay?",
        "Sorry, I can only help with Trailhead Outfitters orders, products and returns.",
    ),
    (
        "How do I unsubscribe from your emails?",
        "There's an unsubscribe link at the bottom of every email, or you can turn emails off under Account > Preferences.",
    ),
];

pub const POSITIVE_COMMENTS: &[&str] = &[
    "Quick and helpful",
    "great service",
    "Found my order right away, thanks!",
    "very helpful bot",
    "Easy return process",
    "super fast answer",
    "Exactly the info I needed",
    "friendly and clear",
    "helped me pick the right tent",
    "Love this shop",
    "solved my problem in a minute",
    "good recommendation",
];

pub const NEUTRAL_COMMENTS: &[&str] = &[
    "ok",
    "it was fine",
    "Answered my question I guess",
    "average",
    "took a couple of tries",
];

/// Negative comments on interactions that went fine: the noise every shop gets.
pub const UNRELATED_NEGATIVE: &[&str] = &[
    "I wanted to talk to a human",
    "chat window froze on my phone",
    "Prices are too high",
    "too slow",
    "shipping is too expensive",
    "answers are too long",
    "Why is there no phone number?",
    "the website keeps logging me out",
    "meh",
    "your checkout page is confusing",
];

pub const REFUND_COMMENTS: &[&str] = &[
    "bot gave the wrong return policy",
    "incorrect refund window",
    "told me 30 days for returns, it's 14",
    "wrong return policy info",
    "The return window it quoted was wrong",
    "It said the return policy was 30 days but it's 14 days",
    "gave me the wrong number of days for returns",
    "wrong info about the return window, almost missed the deadline",
    "Return policy answer was incorrect",
    "said I had 30 days to return, my return got refused",
    "bot doesn't know your own return policy",
    "the refund policy it gave me was wrong",
];

pub const PRODUCT_COMMENTS: &[&str] = &[
    "recommended the wrong product",
    "product suggestion ignored my requirements",
    "wrong recommendation",
    "it recommended a product that wasn't what I asked for",
    "Recommended products don't match what I asked",
    "kept recommending the wrong kind of product",
    "bad product recommendation, ignored my budget",
    "the product it recommended wasn't waterproof",
    "recommendation didn't match my requirements",
    "recommended men's boots when I asked for women's",
    "product recommendations were useless",
];

pub const ORDER_ID_COMMENTS: &[&str] = &[
    "had to give my order number twice",
    "it kept asking for my order number",
    "asked for my order number again even though I gave it",
    "couldn't find my order at first",
    "why do I have to repeat my order number?",
    "order lookup didn't work the first time",
];

pub const TRACKING_COMMENTS: &[&str] = &[
    "bot made up a delivery date",
    "the delivery date it gave was made up",
    "said my package would arrive, it didn't",
    "delivery date was wrong, package came days later",
    "made up a delivery date instead of admitting it didn't know",
    "wrong delivery estimate",
    "couldn't track my package",
];

pub const TRACKING_HONEST_COMMENTS: &[&str] = &[
    "couldn't track my package",
    "tracking didn't work",
    "no delivery estimate",
];
