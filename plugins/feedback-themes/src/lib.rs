//! `feedback-themes`: groups people's negative feedback comments into themes
//! and reports the recurring ones as patterns whose value is their evidence.
//!
//! Only *explicit* negative feedback with a comment is clustered: what a
//! person wrote in a thumbs-down box or a survey. Feedback that `detect`
//! rules infer is counted in the run log but not clustered: its reasons quote
//! users and the rules' own wording, so themes made from them shift with the
//! wording, and the inferring rule reports those interactions itself.
//!
//! Each comment is reduced to its content words ([`terms`]) and clustered
//! online: it joins the theme whose term counts are most similar (cosine
//! similarity at least `similarity`, sharing at least two terms unless the
//! comment has only one), or starts a new theme. At the end, themes whose
//! term counts are similar (`merge_similarity`, lower than `similarity`: a
//! theme's counts are a broader, steadier description than one comment) are
//! merged, which undoes most of the order-dependence of online clustering.
//!
//! A theme's key is `feedback-themes/<stem>`, its single most characteristic
//! stem ([`theme::Theme::key_term`]), so that the same complaint keeps its
//! key when a few comments change; themes with the same key are one pattern.
//! Its evidence is every interaction in the theme, in window order, up to
//! [`MAX_EVIDENCE`]; its occurrences are those interactions.
//!
//! The rule proposes no prompt edit: words from comments make templates, not
//! fixes. Each theme gets one `flag-for-review` note for a person, naming the
//! theme and saying the comments are in its evidence. The host merges a theme
//! with the other rules' patterns whose evidence overlaps, so a theme mostly
//! confirms, in people's words, a problem another rule names a fix for.
//!
//! Memory is bounded whatever the window's size: at most `max_themes` themes,
//! each keeping at most [`theme::PRUNE_AT`] term counts and one representative
//! comment; [`MAX_EVIDENCE_TOTAL`] evidence entries across themes; and
//! [`MAX_DF_TERMS`] window-wide stem counts. When every theme slot is taken, a
//! comment that fits no theme evicts the *smallest* theme (fewest
//! interactions, then the least recently joined) rather than diluting a big
//! theme with an unrelated comment.
//!
//! The output depends only on the order of the feedback, never on hash order
//! or on how the host splits it into chunks: themes are kept in a `Vec`, terms
//! in `BTreeMap`s, and ties are broken by term, then by age.
//!
//! With the feature `llm` (built for an operator who granted the rule a
//! provider), comments are grouped by meaning instead, so that the same
//! complaint worded otherwise or in another language is one theme: comments
//! wait in a queue of at most 256 (what one call takes), are embedded in one
//! call per full queue and at the end (module `embedding`), and join the
//! theme whose centre ([`centroid`]) is the most similar, if at least
//! `embedding_similarity`; at the end, themes whose centres are that similar
//! are merged. Keys, titles and evidence are made from words as without the
//! feature. When embeddings stop (budget, provider, anything), the rest of
//! the window is grouped by words, and the run log says so.

pub mod centroid;
#[cfg(feature = "llm")]
pub mod embedding;
pub mod terms;
pub mod theme;

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::log::line;
use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, FeedbackSource, Findings, Inputs, Metric, Pattern, Rating, Rule,
    RuleInfo, SettingSpec, Severity, Stage, Suggestion, log, setting_or, text,
};

#[cfg(feature = "llm")]
use reverie_rule_sdk::llm::MAX_EMBED_TEXTS;
use terms::{Term, comment_terms};
pub use theme::MAX_EVIDENCE;
use theme::{Representative, Theme, merge_by_meaning, merge_similar};

const NAME: &str = "feedback-themes";

/// Evidence entries kept across all themes (an id and its position each):
/// a window with more negative comments than this lists the first ones.
pub const MAX_EVIDENCE_TOTAL: usize = 250_000;
/// Window-wide stem counts kept for [`theme::Theme::key_term`]; past it, the
/// rarest are dropped (a theme's key is never a rare stem).
pub const MAX_DF_TERMS: usize = 8_192;
/// Words a theme's title shows.
const TITLE_TERMS: usize = 3;
/// Longest representative comment quoted in a description.
const QUOTE_CHARS: usize = 160;
/// Upper bound of `max_themes`, so that an operator's typo cannot make the
/// per-comment scan (linear in the number of themes) unbounded.
const MAX_THEMES_LIMIT: usize = 10_000;
/// Themes listed by name in the run log, reported and dropped each.
const LOG_THEMES: usize = 8;
/// A review note fixes nothing by itself: how sure the rule is that reading
/// the comments leads to the fix.
const REVIEW_CONFIDENCE: f32 = 0.3;
/// Default of `embedding_similarity`: for multilingual-e5-small and models
/// like it, whose cosine similarities crowd between 0.7 and 1.0, the same
/// complaint in two languages typically scores above it and two different
/// complaints below.
const EMBEDDING_SIMILARITY: f64 = 0.85;

/// The rule's settings, validated.
#[derive(Debug, Clone)]
struct Settings {
    similarity: f64,
    merge_similarity: f64,
    /// Read only with the feature `llm`; unused without it, where no comment
    /// has an embedding.
    embedding_similarity: f64,
    max_themes: usize,
    min_comments: u32,
    min_share: f64,
    medium_share: f64,
    high_share: f64,
    critical_share: f64,
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
        let similarity: f64 = setting_or(context, "similarity", 0.3)?;
        if !(similarity > 0.0 && similarity <= 1.0) {
            return Err(format!(
                "setting `similarity`: must be in (0, 1], got {similarity}"
            ));
        }
        let merge_similarity: f64 = setting_or(context, "merge_similarity", 0.2)?;
        if !(merge_similarity > 0.0 && merge_similarity <= 1.0) {
            return Err(format!(
                "setting `merge_similarity`: must be in (0, 1], got {merge_similarity}"
            ));
        }
        #[cfg(feature = "llm")]
        let embedding_similarity: f64 =
            setting_or(context, "embedding_similarity", EMBEDDING_SIMILARITY)?;
        #[cfg(not(feature = "llm"))]
        let embedding_similarity = EMBEDDING_SIMILARITY;
        if !(embedding_similarity > 0.0 && embedding_similarity <= 1.0) {
            return Err(format!(
                "setting `embedding_similarity`: must be in (0, 1], got {embedding_similarity}"
            ));
        }
        let max_themes: usize = setting_or(context, "max_themes", 50)?;
        if !(1..=MAX_THEMES_LIMIT).contains(&max_themes) {
            return Err(format!(
                "setting `max_themes`: must be between 1 and {MAX_THEMES_LIMIT}, got {max_themes}"
            ));
        }
        let min_comments: u32 = setting_or(context, "min_comments", 5)?;
        if min_comments == 0 {
            return Err("setting `min_comments`: must be at least 1, got 0".to_string());
        }
        let min_share = share_setting(context, "min_share", 0.01)?;
        let medium_share = share_setting(context, "medium_share", 0.05)?;
        let high_share = share_setting(context, "high_share", 0.15)?;
        let critical_share = share_setting(context, "critical_share", 0.35)?;
        if medium_share > high_share || high_share > critical_share {
            return Err(format!(
                "settings `medium_share` ({medium_share}) <= `high_share` ({high_share}) <= \
                 `critical_share` ({critical_share}) must hold"
            ));
        }
        Ok(Self {
            similarity,
            merge_similarity,
            embedding_similarity,
            max_themes,
            min_comments,
            min_share,
            medium_share,
            high_share,
            critical_share,
        })
    }

    /// Severity of a theme that holds `share` of the window's explicit negative feedback.
    fn severity(&self, share: f64) -> Severity {
        if share >= self.critical_share {
            Severity::Critical
        } else if share >= self.high_share {
            Severity::High
        } else if share >= self.medium_share {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

fn share_setting(context: &CycleContext, name: &str, default: f64) -> Result<f64, String> {
    let value: f64 = setting_or(context, name, default)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("setting `{name}`: must be in [0, 1], got {value}"))
    }
}

/// One line of the run log: a message and its figures.
pub use reverie_rule_sdk::log::Line as LogLine;

/// What the rule saw of the window's feedback, for the metrics and the run log.
#[derive(Debug, Clone, Default)]
struct Seen {
    feedback: u64,
    positive: u64,
    neutral: u64,
    negative: u64,
    /// Inferred by `detect` rules: counted, not clustered.
    inferred: u64,
    negative_without_comment: u64,
    /// Negative comments with no content word ("bad", "meh" count; "no!" does not).
    without_content_words: u64,
    clustered: u64,
}

/// A negative comment admitted for clustering, waiting for its place.
struct Comment {
    terms: Vec<Term>,
    representative: Representative,
    interaction_id: String,
    position: u64,
    /// The chunk it came in (1 for the first): a chunk holds all feedback on
    /// its interactions, so an interaction is counted once per theme per chunk.
    chunk: u64,
}

/// The rule: see the module documentation.
pub struct FeedbackThemes {
    settings: Settings,
    themes: Vec<Theme>,
    next_id: u64,
    seq: u64,
    seen: Seen,
    /// Interactions in the chunks so far: a chunk's first interaction's
    /// position in the window.
    position: u64,
    /// Stem → clustered comments containing it, window-wide (see [`MAX_DF_TERMS`]).
    stem_comments: BTreeMap<String, u32>,
    evidence_total: usize,
    evidence_full: bool,
    evicted: u64,
    /// Chunks analysed so far.
    chunks: u64,
    /// (theme, interaction) pairs counted in chunk `counted_chunk`.
    counted: BTreeSet<(u64, String)>,
    counted_chunk: u64,
    /// Comments waiting for their embeddings, at most [`MAX_EMBED_TEXTS`].
    #[cfg(feature = "llm")]
    pending: Vec<Comment>,
    #[cfg(feature = "llm")]
    embedder: embedding::Embedder,
}

impl FeedbackThemes {
    /// Take in an admitted comment: placed now by its words, or, with the
    /// feature `llm`, queued for its embedding and placed when the queue is
    /// full or the window ends.
    fn admit(&mut self, comment: Comment) {
        #[cfg(feature = "llm")]
        {
            self.pending.push(comment);
            if self.pending.len() >= MAX_EMBED_TEXTS {
                self.flush();
            }
        }
        #[cfg(not(feature = "llm"))]
        self.place(comment, None);
    }

    /// Embed the queued comments and place them, in order; those without an
    /// embedding (embeddings stopped) by their words.
    #[cfg(feature = "llm")]
    fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return;
        }
        let texts: Vec<String> = pending
            .iter()
            .map(|c| embedding::text_of(&c.representative.text))
            .collect();
        let mut units = self.embedder.embed(&texts).into_iter();
        for comment in pending {
            let unit = units.next();
            self.place(comment, unit.as_deref());
        }
    }

    /// Put a comment in its theme; `meaning` is its unit embedding, if any.
    fn place(&mut self, comment: Comment, meaning: Option<&[f32]>) {
        if comment.chunk != self.counted_chunk {
            self.counted.clear();
            self.counted_chunk = comment.chunk;
        }
        let i = self.theme_for(&comment.terms, &comment.representative, meaning);
        self.seq += 1;
        let seq = self.seq;
        let room = self.evidence_total < MAX_EVIDENCE_TOTAL;
        if let Some(theme) = self.themes.get_mut(i) {
            let id = comment.interaction_id.as_str();
            let new = self.counted.insert((theme.id, id.to_string()));
            let interaction = new.then_some((comment.position, id));
            if theme.join(
                &comment.terms,
                comment.representative,
                interaction,
                room,
                seq,
            ) {
                self.evidence_total += 1;
            } else if new && !room && !self.evidence_full {
                self.evidence_full = true;
            }
            if let Some(unit) = meaning {
                theme.add_meaning(unit);
            }
        }
    }

    /// The index of the theme a comment with `terms` (and embedding
    /// `meaning`, if any) joins, creating it (and evicting the smallest theme
    /// if every slot is taken) when none is similar. A comment with an
    /// embedding is compared by meaning, with themes that have a centre;
    /// one without, by words.
    fn theme_for(
        &mut self,
        terms: &[Term],
        candidate: &Representative,
        meaning: Option<&[f32]>,
    ) -> usize {
        let mut best: Option<(usize, f64)> = None;
        for (i, theme) in self.themes.iter().enumerate() {
            let (s, threshold) = match meaning {
                Some(unit) => match theme.meaning_similarity(unit) {
                    Some(s) => (s, self.settings.embedding_similarity),
                    None => continue,
                },
                None => (theme.similarity(terms), self.settings.similarity),
            };
            // Strictly greater: ties go to the older theme.
            if s >= threshold && best.is_none_or(|(_, b)| s > b) {
                best = Some((i, s));
            }
        }
        if let Some((i, _)) = best {
            return i;
        }
        if self.themes.len() >= self.settings.max_themes
            && let Some(smallest) = self
                .themes
                .iter()
                .enumerate()
                .min_by_key(|(_, t)| (t.interactions, t.comments, t.last_joined))
                .map(|(i, _)| i)
        {
            let gone = self.themes.remove(smallest);
            self.evidence_total -= gone.evidence.len();
            self.evicted += 1;
        }
        self.next_id += 1;
        self.themes
            .push(Theme::new(self.next_id, candidate.clone()));
        self.themes.len() - 1
    }

    fn count_stems(&mut self, terms: &[Term]) {
        for term in terms {
            let n = self.stem_comments.entry(term.stem.clone()).or_insert(0);
            *n = n.saturating_add(1);
        }
        // Drop the rarest stems, raising the bar until the map fits.
        let mut rare = 1;
        while self.stem_comments.len() > MAX_DF_TERMS {
            self.stem_comments.retain(|_, n| *n > rare);
            rare += 1;
        }
    }

    /// Comments in the window with `stem`, at least as many as a theme has.
    fn df(&self, stem: &str) -> u32 {
        self.stem_comments.get(stem).copied().unwrap_or(0)
    }

    /// The themes as they will be reported: merged, one per key, keyed,
    /// biggest first; and how many merges that took.
    fn final_themes(&self) -> (Vec<(String, Theme)>, usize) {
        let mut themes = self.themes.clone();
        for theme in &mut themes {
            theme.settle_evidence();
        }
        let mut merges = merge_by_meaning(&mut themes, self.settings.embedding_similarity);
        merges += merge_similar(&mut themes, self.settings.merge_similarity);
        // Themes with the same key are the same complaint: report them as one.
        let mut by_key: BTreeMap<String, Theme> = BTreeMap::new();
        for theme in themes {
            let key = self.key(&theme);
            match by_key.remove(&key) {
                None => {
                    by_key.insert(key, theme);
                }
                Some(existing) => {
                    merges += 1;
                    let (mut big, small) = if existing.interactions >= theme.interactions {
                        (existing, theme)
                    } else {
                        (theme, existing)
                    };
                    big.absorb(small);
                    by_key.insert(key, big);
                }
            }
        }
        let mut all: Vec<(String, Theme)> = by_key.into_iter().collect();
        all.sort_by(|a, b| {
            b.1.interactions
                .cmp(&a.1.interactions)
                .then_with(|| a.0.cmp(&b.0))
        });
        (all, merges)
    }

    /// `feedback-themes/<stem>`: the stem lowercased, characters other than
    /// letters and digits dropped (`misc` if none is left).
    fn key(&self, theme: &Theme) -> String {
        let stem: String = theme
            .key_term(|s| self.df(s))
            .map(|(stem, _)| stem)
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        let stem = if stem.is_empty() {
            "misc".to_string()
        } else {
            stem
        };
        format!("{NAME}/{stem}")
    }

    /// The title's words: the key's word first, then the most common others.
    fn title_words<'a>(&self, theme: &'a Theme) -> Vec<&'a str> {
        let key = theme.key_term(|s| self.df(s));
        let mut words: Vec<&str> = key.map(|(_, surface)| surface).into_iter().collect();
        for (stem, surface, _) in theme.top_terms(TITLE_TERMS + 1) {
            if words.len() < TITLE_TERMS && key.is_none_or(|(k, _)| k != stem) {
                words.push(surface);
            }
        }
        words
    }

    fn pattern_and_suggestion(&self, theme: &Theme, key: &str) -> (Pattern, Suggestion) {
        let words = self.title_words(theme);
        let topic = words.first().copied().unwrap_or("misc");
        let share = self.share(theme);
        let quote = text::truncate(theme.representative.text.trim(), QUOTE_CHARS);
        let n = theme.interactions;
        let common: Vec<&str> = theme
            .top_terms(5)
            .into_iter()
            .map(|(_, surface, _)| surface)
            .collect();
        let description = format!(
            "{n} interactions drew explicit negative comments about \"{topic}\" ({:.1}% of \
             explicit negative feedback; {} comments), for example: \"{quote}\". Most common \
             words: {}. The comments are in this pattern's evidence; another rule's pattern \
             over the same interactions may name the cause.",
            share * 100.0,
            theme.comments,
            common.join(", "),
        );
        let note = format!(
            "People's negative comments recur about `{topic}` (theme `{key}`). Read them in this \
             pattern's evidence and decide what the agent should do differently; where another \
             rule's problem shares these interactions, start from its fix."
        );
        let pattern = Pattern {
            key: key.to_string(),
            title: format!("Negative feedback about: {}", words.join(", ")),
            description,
            severity: self.settings.severity(share),
            occurrences: n,
            evidence: theme.evidence.iter().map(|(_, id)| id.clone()).collect(),
        };
        let suggestion = Suggestion {
            edit: Edit::FlagForReview(note),
            rationale: format!(
                "{n} interactions ({:.1}% of explicit negative feedback) drew comments like \
                 \"{quote}\". The rule proposes no prompt text built from comment words.",
                share * 100.0
            ),
            confidence: REVIEW_CONFIDENCE,
            addresses: vec![key.to_string()],
        };
        (pattern, suggestion)
    }

    /// The share of the window's explicit negative feedback a theme holds.
    fn share(&self, theme: &Theme) -> f64 {
        f64::from(theme.interactions) / (self.seen.negative.max(1) as f64)
    }

    /// Why a theme is not reported, or `None` if it is.
    fn dropped_because(&self, theme: &Theme) -> Option<String> {
        let s = &self.settings;
        if theme.interactions < s.min_comments {
            Some(format!(
                "below min_comments ({} interactions)",
                s.min_comments
            ))
        } else if self.share(theme) < s.min_share {
            Some(format!(
                "below min_share ({:.1}% of explicit negative feedback)",
                s.min_share * 100.0
            ))
        } else {
            None
        }
    }

    /// The findings and the run log that explains them. With the feature
    /// `llm`, places the comments still waiting for their embeddings first.
    pub fn findings_and_log(&mut self) -> (Findings, Vec<LogLine>) {
        #[cfg(feature = "llm")]
        self.flush();
        let s = &self.settings;
        let seen = &self.seen;
        #[cfg_attr(not(feature = "llm"), allow(unused_mut))]
        let mut settings = vec![
            ("similarity", s.similarity.to_string()),
            ("merge_similarity", s.merge_similarity.to_string()),
            ("max_themes", s.max_themes.to_string()),
            ("min_comments", s.min_comments.to_string()),
            ("min_share", s.min_share.to_string()),
            ("medium_share", s.medium_share.to_string()),
            ("high_share", s.high_share.to_string()),
            ("critical_share", s.critical_share.to_string()),
        ];
        #[cfg(feature = "llm")]
        settings.insert(
            2,
            ("embedding_similarity", s.embedding_similarity.to_string()),
        );
        let mut log = vec![
            line("settings", &settings),
            line(
                "feedback seen",
                &[
                    ("feedback", seen.feedback.to_string()),
                    ("explicit_positive", seen.positive.to_string()),
                    ("explicit_neutral", seen.neutral.to_string()),
                    ("explicit_negative", seen.negative.to_string()),
                    ("inferred_not_clustered", seen.inferred.to_string()),
                    (
                        "negative_without_comment",
                        seen.negative_without_comment.to_string(),
                    ),
                    (
                        "comments_without_content_words",
                        seen.without_content_words.to_string(),
                    ),
                    ("comments_clustered", seen.clustered.to_string()),
                ],
            ),
        ];
        #[cfg(feature = "llm")]
        {
            let e = &self.embedder;
            log.push(line(
                "embeddings",
                &[
                    ("comments_by_meaning", e.embedded().to_string()),
                    (
                        "comments_by_words",
                        seen.clustered.saturating_sub(e.embedded()).to_string(),
                    ),
                    ("calls", e.calls().to_string()),
                    ("input_tokens", e.input_tokens().to_string()),
                    ("stopped", e.stopped().unwrap_or("no").to_string()),
                ],
            ));
        }
        let (themes, merges) = self.final_themes();
        log.push(line(
            "themes",
            &[
                ("formed", self.next_id.to_string()),
                ("evicted", self.evicted.to_string()),
                ("merged", merges.to_string()),
                ("at_end", themes.len().to_string()),
            ],
        ));
        let mut reported = Vec::new();
        let mut dropped = Vec::new();
        for (key, theme) in &themes {
            match self.dropped_because(theme) {
                None => reported.push((key, theme)),
                Some(reason) => dropped.push((key, theme, reason)),
            }
        }

        let mut findings = Findings {
            patterns: Vec::new(),
            suggestions: Vec::new(),
            metrics: Vec::new(),
        };
        for (i, (key, theme)) in reported.iter().enumerate() {
            let key: &String = key;
            let (pattern, suggestion) = self.pattern_and_suggestion(theme, key);
            if i < LOG_THEMES {
                log.push(line(
                    "theme reported",
                    &[
                        ("key", key.clone()),
                        ("interactions", theme.interactions.to_string()),
                        ("comments", theme.comments.to_string()),
                        ("words", self.title_words(theme).join(", ")),
                    ],
                ));
            }
            findings.patterns.push(pattern);
            findings.suggestions.push(suggestion);
        }
        if reported.len() > LOG_THEMES {
            log.push(line(
                "more themes reported, not listed",
                &[("themes", (reported.len() - LOG_THEMES).to_string())],
            ));
        }
        for (key, theme, reason) in dropped.iter().take(LOG_THEMES) {
            log.push(line(
                "theme dropped",
                &[
                    ("key", (*key).clone()),
                    ("interactions", theme.interactions.to_string()),
                    ("reason", reason.clone()),
                ],
            ));
        }
        if dropped.len() > LOG_THEMES {
            let smaller = &dropped[LOG_THEMES..];
            let below_count = smaller
                .iter()
                .filter(|(_, t, _)| t.interactions < s.min_comments)
                .count();
            log.push(line(
                "more themes dropped, not listed",
                &[
                    ("themes", smaller.len().to_string()),
                    ("below_min_comments", below_count.to_string()),
                    ("below_min_share", (smaller.len() - below_count).to_string()),
                ],
            ));
        }
        if self.evidence_full {
            log.push(line(
                "evidence budget reached; later interactions count but are not listed",
                &[("max_evidence_total", MAX_EVIDENCE_TOTAL.to_string())],
            ));
        }
        log.push(line(
            "done",
            &[
                ("patterns", findings.patterns.len().to_string()),
                ("suggestions", findings.suggestions.len().to_string()),
                ("dropped", dropped.len().to_string()),
            ],
        ));

        let explicit = seen.positive + seen.neutral + seen.negative;
        findings.metrics.push(Metric {
            name: "negative_feedback_share".to_string(),
            value: if explicit == 0 {
                0.0
            } else {
                seen.negative as f64 / explicit as f64
            },
            description: format!(
                "Explicit negative feedback / all explicit feedback ({} of {}); inferred \
                 feedback is not counted",
                seen.negative, explicit
            ),
        });
        findings.metrics.push(Metric {
            name: "feedback_themes_reported".to_string(),
            value: reported.len() as f64,
            description: format!(
                "Themes of explicit negative comments with at least {} interactions",
                s.min_comments
            ),
        });
        findings.metrics.push(Metric {
            name: "feedback_themes_evicted".to_string(),
            value: self.evicted as f64,
            description: format!(
                "Themes dropped to stay within max_themes = {}; if high, raise it or lower \
                 `similarity`",
                s.max_themes
            ),
        });
        (findings, log)
    }
}

impl Rule for FeedbackThemes {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: &str| SettingSpec {
            name: name.to_string(),
            description: description.to_string(),
            default_value: Some(default.to_string()),
        };
        #[cfg(not(feature = "llm"))]
        let by = "by shared words";
        #[cfg(feature = "llm")]
        let by = "by meaning (embeddings from the granted model; by shared words when they are \
                  unavailable)";
        #[cfg_attr(not(feature = "llm"), allow(unused_mut))]
        let mut settings = vec![
            spec(
                "similarity",
                "Cosine similarity (0 to 1] a comment needs with a theme's word counts to \
                 join it; lower merges more",
                "0.3",
            ),
            spec(
                "merge_similarity",
                "Cosine similarity (0 to 1] two themes' word counts need to be merged at \
                 the end of the window; lower merges more",
                "0.2",
            ),
            spec(
                "max_themes",
                "Themes tracked at once (1 to 10000); when full, a comment that fits none \
                 evicts the smallest theme",
                "50",
            ),
            spec(
                "min_comments",
                "Interactions a theme needs to be reported",
                "5",
            ),
            spec(
                "min_share",
                "Share of explicit negative feedback a theme needs to be reported: in a \
                 large window, a handful of one-off complaints that happen to share words \
                 is not a theme",
                "0.01",
            ),
            spec(
                "medium_share",
                "Share of explicit negative feedback from which a theme is of medium severity",
                "0.05",
            ),
            spec(
                "high_share",
                "Share of explicit negative feedback from which a theme is of high severity",
                "0.15",
            ),
            spec(
                "critical_share",
                "Share of explicit negative feedback from which a theme is critical",
                "0.35",
            ),
        ];
        #[cfg(feature = "llm")]
        settings.insert(
            2,
            spec(
                "embedding_similarity",
                "Cosine similarity (0 to 1] of embeddings a comment needs with a theme's centre \
                 to join it, and two themes' centres to be merged; 0.85 suits \
                 multilingual-e5-small-like models, whose similarities crowd between 0.7 and 1; \
                 lower merges more",
                &EMBEDDING_SIMILARITY.to_string(),
            ),
        );
        RuleInfo {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: format!(
                "Groups explicit negative feedback comments into themes {by} and reports \
                 recurring themes, each keyed by its most characteristic word, with its \
                 interactions as evidence and a note for review."
            ),
            stages: vec![Stage::Analyse],
            inputs: Inputs::empty(),
            settings,
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(Self {
            settings: Settings::from_context(&context)?,
            themes: Vec::new(),
            next_id: 0,
            seq: 0,
            seen: Seen::default(),
            position: 0,
            stem_comments: BTreeMap::new(),
            evidence_total: 0,
            evidence_full: false,
            evicted: 0,
            chunks: 0,
            counted: BTreeSet::new(),
            counted_chunk: 0,
            #[cfg(feature = "llm")]
            pending: Vec::new(),
            #[cfg(feature = "llm")]
            embedder: embedding::Embedder::default(),
        })
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        // Window order: an interaction's position is the interactions of
        // earlier chunks plus its index in this one. Feedback on an id the
        // chunk does not list (the host never sends it) goes after them.
        let first = self.position;
        let index: BTreeMap<&str, u64> = chunk
            .interactions
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id.as_str(), first + i as u64))
            .collect();
        let after = first + chunk.interactions.len() as u64;
        let mut unlisted: BTreeMap<String, u64> = BTreeMap::new();
        self.chunks += 1;
        for feedback in &chunk.feedback {
            self.seen.feedback += 1;
            if !matches!(feedback.source, FeedbackSource::Explicit) {
                self.seen.inferred += 1;
                continue;
            }
            match feedback.rating {
                Rating::Positive => self.seen.positive += 1,
                Rating::Neutral => self.seen.neutral += 1,
                Rating::Negative => self.seen.negative += 1,
            }
            if feedback.rating != Rating::Negative {
                continue;
            }
            let Some(comment) = &feedback.comment else {
                self.seen.negative_without_comment += 1;
                continue;
            };
            let terms = comment_terms(comment);
            if terms.is_empty() {
                self.seen.without_content_words += 1;
                continue;
            }
            self.seen.clustered += 1;
            self.count_stems(&terms);
            let id = feedback.interaction_id.as_str();
            let position = match index.get(id) {
                Some(p) => *p,
                None => {
                    let next = after + unlisted.len() as u64;
                    *unlisted.entry(id.to_string()).or_insert(next)
                }
            };
            let representative = Representative {
                text: comment.clone(),
                stems: terms.iter().map(|t| t.stem.clone()).collect(),
            };
            self.admit(Comment {
                terms,
                representative,
                interaction_id: id.to_string(),
                position,
                chunk: self.chunks,
            });
        }
        self.position = after + unlisted.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let (findings, lines) = self.findings_and_log();
        log::info_all(&lines);
        Ok(findings)
    }
}

reverie_rule_sdk::export_rule!(FeedbackThemes);

#[cfg(test)]
mod tests;
