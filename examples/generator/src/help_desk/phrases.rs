//! Phrase banks: how Halden & Rowe's employees and their help-desk agent word
//! things. Employees write like colleagues in a chat, not like customers:
//! short, often lower case, sometimes in a hurry.
//!
//! Templates use `{name}` placeholders filled by [`crate::text::fill`]. The
//! objections and corrections belong to the planted mistakes only; good
//! conversations never use them (a test checks), while the closings and the
//! odd "no, it's fine, I'll wait" start with "no" on purpose: they are not
//! corrections.

pub const GREETINGS: &[&str] = &[
    "hi",
    "Hi Ivy",
    "morning",
    "hello",
    "hey",
    "Hi, are you there?",
    "good afternoon",
    "hiya",
    "Hallo",
    "Hi IT",
];

pub const BOT_GREETINGS: &[&str] = &[
    "Hi! I'm Ivy, the IT help desk assistant. What can I help with?",
    "Hello! What can I do for you today?",
    "Hi there, what's up?",
    "Good to hear from you. How can I help?",
];

pub const ANYTHING_ELSE: &[&str] = &[
    "Is there anything else I can help with?",
    "Anything else I can do for you?",
    "Can I help with anything else?",
    "Let me know if there's anything else.",
];

/// Closings after a good answer. Several start with "no" on purpose.
pub const CLOSINGS: &[&str] = &[
    "no, that's everything, thanks",
    "No thanks, all sorted",
    "nope, that's it",
    "no that's all cheers",
    "No, you've been a great help. Thanks!",
    "that's all, ta",
    "all good now, thank you",
    "brilliant, thanks",
    "thanks!",
    "perfect",
    "thx",
    "No, I'm all set. Have a nice day",
    "great, cheers Ivy",
    "no. thanks",
    "Dank je, that's all",
    "nah I'm good",
];

pub const BOT_SIGNOFFS: &[&str] = &[
    "You're welcome, have a good day!",
    "Glad that's sorted.",
    "Anytime. Good luck with the rest of your day!",
    "Happy to help.",
];

/// The employee says yes to a confirmation question.
pub const CONFIRM_YES: &[&str] = &[
    "yes please",
    "Yes.",
    "yep, go ahead",
    "sure",
    "ok do it",
    "please do",
    "go for it",
    "y",
    "yes, thanks",
    "Yes, thank you!",
    "that's fine, go ahead",
    "ja, please",
    "ok",
    "Yes please, quickly if possible",
];

/// The agent asks who it is talking to.
pub const ASK_FOR_ID: &[&str] = &[
    "I can help with that. What's your employee ID?",
    "Sure, could you give me your employee ID first?",
    "Happy to help. Which employee ID should I look up?",
    "Of course. What's your employee ID? It's on your badge.",
];

/// The employee gives their id when asked.
pub const GIVE_ID: &[&str] = &[
    "{id}",
    "it's {id}",
    "{id} thanks",
    "Sure, {id}",
    "my id is {id}",
    "{id} ({office} office)",
];

/// After a failed lookup, the agent asks for the id it was already given.
pub const ASK_ID_AGAIN: &[&str] = &[
    "Sorry, I couldn't find that ID. Could you send me your employee ID?",
    "Hmm, that didn't work. What's your employee ID?",
    "I wasn't able to look you up. Can you give me your employee ID again?",
    "Something went wrong on my side. Could you share your employee number?",
    "I couldn't match that to anyone. What's your employee ID, please?",
];

/// The employee, asked again for an id they already gave.
pub const ALREADY_GAVE_ID: &[&str] = &[
    "I gave you my ID two messages ago",
    "I already gave it to you: {canonical}",
    "It's right there in my first message. {typed}",
    "Same as before: {typed}",
    "{canonical}. like I said",
    "I just typed it... {canonical}",
    "I told you already, it's {canonical}",
    "?? it's {typed}",
    "It's on my badge: {canonical}. Same as I wrote above.",
    "you have it already, {canonical}",
    "Scroll up? {typed}",
    "I literally just sent it. {canonical}",
];

pub const RESET_ASKS: &[&str] = &[
    "I forgot my password and now I can't get into anything. Can you reset it? My ID is {id}",
    "Hi, can you reset my password please? {id}",
    "password expired while I was on leave, need a reset. employee id {id}",
    "Can't log in to my laptop, I think I've forgotten my password. I'm {id}.",
    "{id} - need a password reset please",
    "Could you reset my Windows password? Staff number {id}",
    "Please reset my password, I changed it on Friday and can't remember the new one. {id}",
    "reset pw pls, {id}",
    "My password isn't working since the weekend. Can you give me a new one? ID: {id}",
];

pub const RESET_ASKS_NO_ID: &[&str] = &[
    "I forgot my password, can you reset it?",
    "need a password reset please",
    "Can you reset my password? I'm on the train and can't get in.",
    "my password stopped working, can you sort it?",
    "Hi, I need a new password, the old one expired",
];

pub const UNLOCK_ASKS: &[&str] = &[
    "I'm locked out after too many wrong passwords. Can you unlock me? {id}",
    "Account locked again :( {id}",
    "Can you unlock my account please? I need to get into the project share before 10. {id}",
    "{id} here, my account says it's locked. Can you unlock it?",
    "I typed my password wrong a few times and now it's locked. ID {id}",
    "Locked out of everything. Please unlock {id}",
    "hi, my account is locked, could you unlock it? my id is {id}",
];

pub const UNLOCK_ASKS_NO_ID: &[&str] = &[
    "my account is locked, can you help?",
    "Locked out, please help",
    "Can you unlock my account?",
    "It says my account is locked. What now?",
];

pub const CONFIRM_RESET: &[&str] = &[
    "I found you, {first} ({office} office). I'll reset your password and text a temporary one to your mobile ending {tail}. Shall I go ahead?",
    "Thanks {first}. To confirm: I'll reset the password for {employee_id} and send a temporary password to {phone}. OK to proceed?",
    "Got it. I can reset your password now; the temporary password goes by text to the number ending {tail} and is valid for 24 hours. Do you want me to do that?",
];

pub const CONFIRM_UNLOCK: &[&str] = &[
    "I can see your account is locked, {first}. I'll unlock it now if you confirm. OK?",
    "Your account ({employee_id}) is locked after too many failed sign-ins. Shall I unlock it for you?",
    "Found you. The account is locked; it would unlock itself within 30 minutes, or I can unlock it right away. Want me to unlock it?",
];

/// The employee would rather wait out the lock. Starts with "no": not a correction.
pub const DECLINE_UNLOCK: &[&str] = &[
    "no, it's fine, I'll wait the 30 minutes",
    "No need, I'll grab a coffee and try again later",
    "nah leave it, it'll sort itself out",
];

pub const DONE_RESET: &[&str] = &[
    "Done. A temporary password is on its way to your mobile ending {tail}; it's valid for 24 hours and you'll choose a new one when you sign in.",
    "Your password has been reset. Check your phone for a text with the temporary password; you'll be asked to set a new one at sign-in.",
    "All set: the temporary password has been texted to {phone}. Sign in with it within 24 hours and pick a new password.",
];

pub const DONE_UNLOCK: &[&str] = &[
    "Your account is unlocked. Give it a minute, then sign in again.",
    "Unlocked! You should be able to sign in now.",
    "Done, the lock is cleared. If the password still doesn't work, I can reset it too.",
];

/// The employee only asks how something works.
pub const HOWTO_RESET: &[&str] = &[
    "How do I reset my password?",
    "What's the process for changing my password? Mine expires on Friday.",
    "Is there a self-service way to reset my password if I forget it?",
    "quick q - if I forget my password, how do I reset it myself?",
    "how do I change my password? {id}",
    "My password expires in 3 days. How do I change it?",
    "Where do I go to reset my own password?",
    "How does password reset work here? I'm new. My ID is {id}",
];

pub const HOWTO_UNLOCK: &[&str] = &[
    "If my account gets locked, do I just wait or do I need to contact you?",
    "How long does a lockout last?",
    "I've mistyped my password 3 times now. What happens at 5?",
    "Is there a way to unlock my account myself?",
    "What do I do if I get locked out again? {id}",
    "Does the lockout clear by itself? Asking for next time. {id}",
];

pub const HOWTO_RESET_ANSWERS: &[&str] = &[
    "You can do it yourself: 1. Go to passwords.haldenrowe.com. 2. Sign in with your work email and approve the MFA prompt. 3. Choose a new password of at least 14 characters. It works straight away; sign in again on your phone afterwards.",
    "Here's how: 1. Open passwords.haldenrowe.com. 2. Choose \"Change password\" (or \"Forgot password\" if you can't sign in) and approve the MFA prompt. 3. Set a new password. Your phone and Teams will ask you to sign in again.",
];

pub const HOWTO_UNLOCK_ANSWERS: &[&str] = &[
    "Accounts lock after 5 failed sign-ins and unlock by themselves after 30 minutes. If you can't wait, message me and I can unlock it for you once I've checked your ID.",
    "A lock clears itself after 30 minutes. You can't unlock it yourself, but I can do it for you if you ask. To avoid it, reset a forgotten password at passwords.haldenrowe.com instead of guessing.",
];

/// After a how-to answer, the employee is happy to do it themselves.
pub const HOWTO_THANKS: &[&str] = &[
    "great, I'll do that myself, thanks",
    "perfect, that's what I needed",
    "ok, good to know",
    "thanks, will try that",
    "Cool, thank you",
];

/// The planted mistake: the agent acts on a question, without asking.
pub const UNASKED_RESET: &[&str] = &[
    "I've gone ahead and reset your password. A temporary one is on its way to your mobile ending {tail}; you'll set a new one when you sign in.",
    "Done! I've reset it for you. Check your phone for the temporary password.",
    "I've reset your password and texted a temporary one to {phone}. It's valid for 24 hours.",
];

pub const UNASKED_UNLOCK: &[&str] = &[
    "I've unlocked your account for you, so you're all set.",
    "Good news: I've unlocked your account. You can sign in again now.",
    "Done, I've cleared the lock on your account.",
];

/// The employee objects to a change they did not ask for.
pub const UNASKED_OBJECTIONS: &[&str] = &[
    "wait, I didn't ask you to do that",
    "I only wanted to know how",
    "Hang on, I didn't want it reset! I'm signed in on three devices",
    "Why did you do that? I was just asking a question.",
    "That isn't what I wanted. Now I have to sign in everywhere again.",
    "I never said go ahead??",
    "please don't change things on my account without asking first",
    "Uh, I asked HOW. I didn't ask you to do it.",
    "didn't ask for that",
    "Whoa, I wasn't even locked out, I just wanted to know for next time",
    "Hold on, it was only a question",
];

pub const UNASKED_APOLOGIES: &[&str] = &[
    "I'm sorry, I should have asked before changing anything.",
    "You're right, I should have checked with you first. Apologies.",
    "Sorry about that, I shouldn't have acted without your OK.",
];

/// The employee lets the unasked change pass.
pub const UNASKED_QUIET: &[&str] = &[
    "oh ok. thanks",
    "right, got the text",
    "ok",
    "fine, I'll use the temporary one then",
    "oh, alright then",
];

pub const LAPTOP_ASKS: &[&str] = &[
    "My laptop screen cracked this morning. Can I get a replacement? {id}",
    "I spilled tea on my laptop and it won't turn on. {id}",
    "Laptop died, won't boot past the logo. Need a new one. ID {id}",
    "The hinge on my laptop snapped, can you order me a replacement? {id}",
    "my battery lasts about 20 minutes now, can I get a new laptop? {id}",
    "Can you order a replacement laptop for me? The keyboard has stopped working. {id}",
];

pub const LAPTOP_REASONS: &[&str] = &[
    "cracked screen",
    "liquid damage, does not power on",
    "does not boot",
    "broken hinge",
    "battery failing",
    "keyboard not working",
];

pub const LAPTOP_QUESTIONS: &[&str] = &[
    "How long does a replacement laptop take to arrive?",
    "If I order a new laptop today, when will I get it?",
    "How quickly are replacement laptops shipped?",
    "My manager approved my laptop replacement yesterday. When should it arrive?",
    "roughly how long for a new laptop once approved?",
];

pub const CONFIRM_LAPTOP: &[&str] = &[
    "I can order a replacement laptop for you, {first}. It goes to {manager} for approval first. Shall I place the order?",
    "To confirm: I'll order a replacement laptop for {employee_id} and send it to {manager} to approve. OK?",
];

/// The policy, right: 5 business days.
pub const LAPTOP_RIGHT: &[&str] = &[
    "Replacement laptops ship within 5 business days of your manager's approval. If you need something sooner, the {office} IT desk can lend you a laptop today.",
    "Once your manager approves it, a replacement ships within 5 business days. In the meantime you can borrow a loaner from the IT desk in {office}.",
    "Laptops ship within 5 business days of approval; the {office} IT desk has loaners for the days in between.",
];

/// The planted mistake: the policy says 5 business days.
pub const LAPTOP_WRONG: &[&str] = &[
    "Replacement laptops ship within 2 business days of approval, so you'll have it very soon.",
    "Once it's approved it ships within 2 business days.",
    "You should have it within 2 business days of your manager's approval.",
    "Laptops go out within 2 business days once approved, so it's a quick turnaround!",
];

/// The employee corrects the wrong figure.
pub const LAPTOP_CORRECTIONS: &[&str] = &[
    "Nope, the portal says five business days",
    "2 days? The IT page says 5 business days.",
    "Are you sure? My manager was told it's 5 business days.",
    "that's not what the intranet says, it says 5 working days",
    "Hmm, the hardware policy says 5 business days, not 2.",
    "No. 5 business days, it's on the hardware page.",
    "wrong, it's five days",
    "Really? A colleague in {office} waited the full 5 business days last month, that's the policy.",
    "That doesn't match the policy. 5 business days.",
    "5 business days according to the portal, not 2",
    "Two? I was told five business days when I joined.",
];

pub const LAPTOP_APOLOGIES: &[&str] = &[
    "You're right, I'm sorry: replacement laptops ship within 5 business days of approval. The {office} IT desk can lend you a laptop today if you need one sooner.",
    "Apologies, I gave you the wrong figure. It's 5 business days after your manager approves the order, and a loaner from the {office} IT desk can bridge the gap.",
];

/// The employee takes the wrong figure at face value.
pub const LAPTOP_ACCEPTED: &[&str] = &[
    "great, thanks!",
    "perfect, that's quick",
    "ok cool",
    "good, I'll manage till then",
    "Nice one",
];

pub const ACCESSORY_ASKS: &[(&str, &str)] = &[
    ("Can I get a new headset? Mine broke. {id}", "headset"),
    (
        "I'd like a second monitor for my desk. {id}",
        "27-inch monitor",
    ),
    (
        "need a new keyboard, some keys stopped working. {id}",
        "keyboard",
    ),
    ("Could you order me a docking station? {id}", "USB-C dock"),
    ("mouse died, can I get another? {id}", "mouse"),
    (
        "My headset mic crackles on every call, could I get a replacement? {id}",
        "headset",
    ),
];

pub const CONFIRM_ACCESSORY: &[&str] = &[
    "I'll order a {item} to the {office} IT desk for you. Accessories need no approval. Shall I order it?",
    "I can order a {item} for you, delivered to the IT desk in {office}. Go ahead?",
];

pub const DONE_ACCESSORY: &[&str] = &[
    "Ordered: {order}. It'll be at the {office} IT desk within 3 business days, and they'll email you when it arrives.",
    "Done, order {order}. Pick it up from the {office} IT desk; it arrives within 3 business days.",
];

/// Things that need a ticket: (opening message, category, summary, priority).
pub const ISSUES: &[(&str, &str, &str, &str)] = &[
    (
        "The printer on the 3rd floor keeps jamming. Can you log it? {id}",
        "printing",
        "3rd-floor printer keeps jamming",
        "P3",
    ),
    (
        "3rd floor printer is jammed AGAIN. {id}",
        "printing",
        "3rd-floor printer keeps jamming",
        "P3",
    ),
    (
        "Outlook crashes every time I open the shared calendar. {id}",
        "software",
        "Outlook crashes when opening the shared calendar",
        "P3",
    ),
    (
        "I need Revit 2025 installed on my laptop for a new project. {id}",
        "software-request",
        "Install Revit 2025",
        "P3",
    ),
    (
        "My second monitor keeps flickering and then goes black. {id}",
        "hardware",
        "Second monitor flickers and goes black",
        "P3",
    ),
    (
        "Can't connect to the office Wi-Fi since this morning, the cable works fine. {id}",
        "network",
        "No Wi-Fi connection, wired network works",
        "P3",
    ),
    (
        "I need access to the Harbour Bridge project share, my manager has OK'd it. {id}",
        "access",
        "Access to the Harbour Bridge project share",
        "P3",
    ),
    (
        "VPN keeps dropping every 10 minutes when I work from home. {id}",
        "network",
        "VPN disconnects every 10 minutes",
        "P3",
    ),
    (
        "My laptop won't connect to anything and I have a client presentation at 2. {id}",
        "network",
        "Laptop has no network, client presentation at 2pm",
        "P2",
    ),
    (
        "Nobody can hear me in Teams calls, the mic works in other apps. {id}",
        "software",
        "Microphone silent in Teams calls",
        "P3",
    ),
    (
        "The A0 plotter is printing stripes across every drawing. {id}",
        "printing",
        "A0 plotter prints stripes",
        "P3",
    ),
    (
        "can't open any PDFs since the update this morning, I can't do my job. {id}",
        "software",
        "PDFs will not open after this morning's update",
        "P2",
    ),
];

pub const CONFIRM_TICKET: &[&str] = &[
    "I'll open a {priority} ticket for the IT team: \"{summary}\". Shall I create it?",
    "Here's what I'd log: {summary} (priority {priority}). OK to create the ticket?",
    "I can raise a ticket for this: \"{summary}\", {priority}. Want me to go ahead?",
];

/// What the agent says once a ticket exists (or, in the planted outage, once
/// it wrongly believes one does).
pub const DONE_TICKET: &[&str] = &[
    "Ticket {ticket} is open. {sla} You'll get updates by email.",
    "Done, your ticket number is {ticket}. {sla}",
    "I've logged it as {ticket}. {sla}",
];

pub const TICKET_STATUS_ASKS: &[&str] = &[
    "Any update on {ticket}?",
    "what's happening with my ticket {ticket}",
    "Ticket {ticket}, is anyone on it?",
    "Can you check {ticket} for me? It's been a few days.",
    "status of {ticket} pls",
    "Is there any news on my ticket? It's {ticket}",
];

pub const FAQ: &[(&str, &str)] = &[
    (
        "How do I set up MFA on my new phone?",
        "1. Install Microsoft Authenticator on the new phone. 2. On your laptop, go to mysignins.haldenrowe.com, choose \"Add sign-in method\" and scan the QR code. 3. Approve the test prompt, then remove the old phone. If you no longer have the old phone, I can open a ticket for the security team.",
    ),
    (
        "What's the guest Wi-Fi password?",
        "There's no shared password: guests join HR-Guest and get a code by text on the sign-in page. It lasts for one day.",
    ),
    (
        "Can I install software myself?",
        "Most apps are in Software Centre on your laptop and install without admin rights. For anything that isn't there, I can open a software-request ticket.",
    ),
    (
        "How do I connect to the VPN from home?",
        "1. Open GlobalProtect from the system tray. 2. Connect to vpn.haldenrowe.com. 3. Approve the MFA prompt. If it won't connect, sign out of GlobalProtect and back in, and tell me if it still fails.",
    ),
    (
        "How long do locked accounts stay locked?",
        "An account locks after 5 failed sign-ins and unlocks by itself after 30 minutes. I can also unlock it for you if you ask.",
    ),
    (
        "How fast does IT answer tickets?",
        "It depends on the priority: P1 (many people can't work) within 1 hour, P2 (one person can't work) within 4 business hours, P3 within 3 business days.",
    ),
    (
        "How do I add a shared mailbox in Outlook?",
        "1. In Outlook, go to File > Account Settings > Account Settings. 2. Select your account, choose Change > More Settings > Advanced. 3. Add the mailbox's address. You need to have been given access first; if you haven't, I can open an access ticket.",
    ),
    (
        "How do I print from my laptop?",
        "Print to the \"FollowMe\" printer, then tap your badge on any office printer to release the job. It works in Leeds, Rotterdam and Toronto.",
    ),
    (
        "how long is a temp password valid?",
        "A temporary password from a reset is valid for 24 hours; you choose a new one the first time you sign in with it.",
    ),
];

pub const OFF_TOPIC: &[(&str, &str)] = &[
    (
        "Can you book me a meeting room for Thursday?",
        "I can't book rooms, sorry. Use the Rooms tab when you create the meeting in Outlook, or ask your office's reception.",
    ),
    (
        "My colleague is off sick and I need her files. Can you give me her password?",
        "I can't share or reset anyone else's password. Her manager can request access to her files through a ticket, and I can open one for them.",
    ),
    (
        "Can you turn off MFA for me? The prompts are driving me mad.",
        "I can't turn off multi-factor authentication; it protects your account. If you get prompted too often, I can open a ticket for the security team to check your sign-in settings.",
    ),
    (
        "can you approve my holiday request?",
        "That's not something I can do; holiday requests are approved by your manager in the HR portal.",
    ),
];

pub const POSITIVE_COMMENTS: &[&str] = &[
    "sorted in two minutes",
    "quick fix, thanks",
    "Saved me a call to IT",
    "clear steps",
    "very helpful",
    "unlocked me fast",
    "easy",
    "Better than waiting on the phone",
    "got my new monitor ordered in no time",
    "friendly and quick",
];

pub const NEUTRAL_COMMENTS: &[&str] = &[
    "fine",
    "ok",
    "it did the job",
    "a bit slow",
    "took a while but ok",
];

/// Negative comments on interactions that went fine: not about the agent.
pub const UNRELATED_NEGATIVE: &[&str] = &[
    "I'd rather talk to a person",
    "MFA prompts are annoying",
    "the VPN is still slow",
    "why do passwords have to expire every 90 days",
    "chat took ages to load in Teams",
    "meh",
    "the old phone line was better",
    "our laptops are too old",
    "too many security rules",
];

/// After the agent asked again for an id it had been given.
pub const ID_COMMENTS: &[&str] = &[
    "had to give my employee ID twice",
    "it kept saying my ID was invalid",
    "didn't understand my staff number",
    "doesn't accept my ID unless it's typed exactly right",
    "asked for my ID again after I gave it",
    "ID lookup failed the first time",
    "it couldn't find me, then asked for the ID I'd just given",
    "too much back and forth about my employee number",
];

pub const LAPTOP_COMMENTS: &[&str] = &[
    "said my laptop would come in 2 days, it took a week",
    "wrong delivery time for replacement laptops",
    "gave the wrong replacement timeline",
    "told me 2 business days, the policy is 5",
    "set the wrong expectations for my new laptop",
    "the laptop ETA was wrong",
    "wrong info about how long laptops take",
];

pub const UNASKED_COMMENTS: &[&str] = &[
    "reset my password without asking",
    "I only asked a question and it changed my account",
    "did things I didn't ask for",
    "unlocked my account without asking, a bit scary",
    "should ask before resetting stuff",
    "it acted without my OK",
    "it reset my password when I only wanted instructions",
];

pub const OUTAGE_COMMENTS: &[&str] = &[
    "the ticket number it gave me doesn't exist",
    "my ticket was never created",
    "IT had no record of my ticket",
    "said the ticket was logged, it wasn't",
    "ticket number was made up",
    "waited 3 days for a ticket that didn't exist",
    "nobody picked up my ticket because there wasn't one",
];
