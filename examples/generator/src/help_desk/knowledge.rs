//! The IT knowledge base behind `search_kb`, and the mistake it carries
//! (g): a search with 3 or more filters always times out, while searches
//! with 1 or 2 filters, the great majority, answer at once.
//!
//! Good conversations search with 1 or 2 filters (the IT questions, the FAQ
//! and half the how-tos), so hundreds of successful calls stand beside the
//! failing shape. After a timeout the agent sometimes searches again with
//! fewer filters (which works), never with the same ones: repeating a
//! failed call is mistake e's, not this one's.

use rand::Rng;
use serde_json::json;

use super::scenarios::Scene;
use crate::domain::Verdict;
use crate::text::pick;

/// A knowledge-base topic: how employees ask, what the agent searches for,
/// the filters that fit it, and the answer from its article.
pub struct Topic {
    /// In English: the knowledge base and its answers are in English.
    pub questions: &'static [&'static str],
    pub query: &'static str,
    /// Filters that narrow a search to this topic; a good search uses 1 or 2.
    pub filters: &'static [&'static str],
    pub article: &'static str,
    pub title: &'static str,
    pub answer: &'static str,
}

/// Filters the agent piles on top of a topic's own in mistake g.
const EXTRA_FILTERS: &[&str] = &[
    "audience:staff",
    "type:how-to",
    "lang:en",
    "office:leeds",
    "office:rotterdam",
    "office:toronto",
];

pub const TOPICS: &[Topic] = &[
    Topic {
        questions: &[
            "Outlook keeps asking for my password, how do I stop it?",
            "outlook password prompt every 10 min, any fix?",
            "Outlook pops up a sign-in box every few minutes. Why?",
        ],
        query: "outlook keeps asking for password",
        filters: &["app:outlook", "os:windows", "topic:sign-in"],
        article: "KB0142",
        title: "Outlook asks for your password again and again",
        answer: "This usually means Outlook holds an old sign-in. 1. Close Outlook. 2. Open Credential Manager and remove the entries starting with MicrosoftOffice. 3. Start Outlook and sign in once with your work email.",
    },
    Topic {
        questions: &[
            "How do I share my screen in Teams without showing my emails?",
            "teams screen share, can I share just one window?",
        ],
        query: "teams share one window",
        filters: &["app:teams", "type:how-to"],
        article: "KB0088",
        title: "Share a single window in Teams",
        answer: "1. In the meeting, select Share. 2. Under Window, pick the one window you want to show instead of your whole screen. Only that window is shared.",
    },
    Topic {
        questions: &[
            "How do I map the project drive on my Mac?",
            "how do I get the projects share on a mac",
            "can't see the P: drive on my macbook",
        ],
        query: "map project drive mac",
        filters: &["os:macos", "topic:file-shares"],
        article: "KB0311",
        title: "Connect to the project drive from a Mac",
        answer: "1. In Finder, choose Go > Connect to Server. 2. Enter smb://files.haldenrowe.com/projects. 3. Sign in with your work email and password, and tick Remember. The drive then appears under Locations.",
    },
    Topic {
        questions: &[
            "How do I set up my work email on my iPhone?",
            "email on my android phone, how?",
            "What's the right way to get Outlook on my phone?",
        ],
        query: "work email on phone",
        filters: &["app:outlook-mobile", "os:ios", "os:android"],
        article: "KB0057",
        title: "Work email on your phone",
        answer: "Install the Outlook app from the App Store or Google Play, sign in with your work email, approve the MFA prompt and accept the Intune profile when it asks. The phone's own mail app isn't supported.",
    },
    Topic {
        questions: &[
            "Revit is really slow opening models from the server, anything I can do?",
            "Revit freezes when I open the central model",
        ],
        query: "revit slow opening central model",
        filters: &["app:revit", "topic:performance"],
        article: "KB0420",
        title: "Revit is slow with central models",
        answer: "Work on a local copy: open the central model with Create New Local ticked, and clear the Revit cache under %LOCALAPPDATA%\\Autodesk\\Revit\\PacCache once a month. Over the VPN, opening large models is slow by design; use the Citrix desktop instead.",
    },
    Topic {
        questions: &[
            "How do I book a loan laptop for a site visit?",
            "can I borrow a laptop for next week's site visit?",
            "Do you lend laptops for a few days? Mine stays in the office.",
        ],
        query: "book loan laptop",
        filters: &["topic:hardware", "type:how-to"],
        article: "KB0203",
        title: "Borrow a laptop from the IT desk",
        answer: "Each office's IT desk lends laptops. Book one in the IT portal under Loans at least a day ahead and pick it up from the desk with your badge.",
    },
    Topic {
        questions: &[
            "My laptop says the disk is nearly full, what can I delete?",
            "C: drive full, help",
            "Windows says low disk space, how do I clean up?",
        ],
        query: "disk full laptop",
        filters: &["os:windows", "topic:storage"],
        article: "KB0175",
        title: "Free up space on your laptop",
        answer: "1. Open Settings > System > Storage and run Cleanup recommendations. 2. In OneDrive, right-click big folders and choose Free up space: they stay in the cloud. 3. Empty the Downloads folder.",
    },
    Topic {
        questions: &[
            "How do I add a signature in Outlook?",
            "where do I get the company email signature?",
        ],
        query: "outlook email signature",
        filters: &["app:outlook", "type:how-to"],
        article: "KB0019",
        title: "Your email signature",
        answer: "In Outlook, go to Settings > Mail > Compose and reply, and paste the signature from the brand portal (brand.haldenrowe.com > Email signature) so it matches everyone else's.",
    },
];

/// What the knowledge base says when a search takes too long.
fn timeout_error(s: &mut Scene<'_>) -> String {
    match s.rng.random_range(0..4) {
        0 => "timeout: search_kb did not respond within 20s".to_string(),
        1 => "timeout: knowledge base query exceeded 20000 ms".to_string(),
        2 => "timeout: kb-search upstream did not answer in time".to_string(),
        _ => format!(
            "timeout after {}s waiting for the knowledge base",
            [20, 30][s.rng.random_range(0..2)]
        ),
    }
}

impl Scene<'_> {
    /// 1 or 2 of a topic's filters, distinct, in its order.
    fn few_filters(&mut self, topic: &Topic) -> Vec<&'static str> {
        let first = self.rng.random_range(0..topic.filters.len());
        let mut filters = vec![topic.filters[first]];
        if self.chance(0.5) {
            let second = self.rng.random_range(0..topic.filters.len());
            if second != first {
                filters.push(topic.filters[second]);
                filters.sort_by_key(|f| topic.filters.iter().position(|g| g == f));
            }
        }
        filters
    }

    /// A successful `search_kb` call returning `article`.
    pub(super) fn search_ok(&mut self, query: &str, filters: &[&str], article: &str, title: &str) {
        let call = self.c.call(
            "",
            "search_kb",
            json!({ "query": query, "filters": filters }),
        );
        let score = f64::from(self.rng.random_range(78..97u32)) / 100.0;
        self.c.tool_ok(
            call,
            json!({ "results": [{ "article": article, "title": title, "score": score }] }),
        );
    }

    /// An IT question, answered from one search with 1 or 2 filters.
    pub(super) fn kb_question(&mut self) -> Verdict {
        let topic = &TOPICS[self.rng.random_range(0..TOPICS.len())];
        let question = pick(self.rng, topic.questions);
        self.user(question, &[]);
        let filters = self.few_filters(topic);
        self.search_ok(topic.query, &filters, topic.article, topic.title);
        self.close(format!("{} (Article {}.)", topic.answer, topic.article));
        Verdict::Good
    }

    /// Mistake g: the agent narrows the search with 3 or 4 filters, and the
    /// search times out. It then searches again with fewer filters, answers
    /// from what it knows, or gives up.
    pub(super) fn kb_many_filters(&mut self) -> Verdict {
        let topic = &TOPICS[self.rng.random_range(0..TOPICS.len())];
        let question = pick(self.rng, topic.questions);
        self.user(question, &[]);
        let mut filters = self.few_filters(topic);
        let want = self.rng.random_range(3..=4);
        while filters.len() < want {
            let extra = pick(self.rng, EXTRA_FILTERS);
            if !filters.contains(&extra) {
                filters.push(extra);
            }
        }
        let preamble = if self.chance(0.3) {
            "Let me search the knowledge base."
        } else {
            ""
        };
        let call = self.c.call(
            preamble,
            "search_kb",
            json!({ "query": topic.query, "filters": filters }),
        );
        let error = timeout_error(self);
        self.c.tool_error(call, error);
        match self.rng.random_range(0..20) {
            0..=10 => {
                let fewer = self.few_filters(topic);
                self.search_ok(topic.query, &fewer, topic.article, topic.title);
                self.close(format!("{} (Article {}.)", topic.answer, topic.article));
                Verdict::Good
            }
            11..=16 => {
                let answer = format!(
                    "I couldn't reach the knowledge base just now, but here's what usually works: {}",
                    topic.answer
                );
                self.close(answer);
                Verdict::Good
            }
            _ => {
                let text = pick(
                    self.rng,
                    &[
                        "Sorry, the knowledge base isn't answering right now. Could you try again in a few minutes, or shall I open a ticket?",
                        "The knowledge base search timed out, sorry. Please ask me again a bit later.",
                    ],
                );
                self.c.assistant(text);
                let reply = pick(
                    self.rng,
                    &[
                        "ok never mind",
                        "I'll google it",
                        "hmm ok",
                        "no, I'll ask a colleague",
                    ],
                );
                self.user(reply, &[]);
                Verdict::Meh(KB_COMMENTS)
            }
        }
    }
}

const KB_COMMENTS: &[&str] = &[
    "couldn't find anything in the knowledge base",
    "search didn't work",
    "no answer, told me to try later",
    "the bot couldn't look it up",
];
