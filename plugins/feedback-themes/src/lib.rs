//! `feedback-themes`: groups negative feedback comments into themes and reports
//! the recurring ones as patterns, each with a prompt instruction that answers it.
//!
//! Every negative comment of the window (explicit ones, and the reasons of
//! feedback inferred by `detect` rules) is reduced to its content words
//! (normalised, stopwords dropped, stemmed with the SDK's `text` helpers) and
//! clustered online: it joins the theme whose term counts are most similar
//! (cosine similarity at least `similarity`, sharing at least two terms unless
//! the comment has only one), or starts a new theme. At the end, themes whose
//! term counts are similar (`merge_similarity`, lower than `similarity`: a
//! theme's counts are a broader, steadier description than one comment) are
//! merged, which undoes most of the order-dependence of online clustering (two
//! themes seeded by differently worded first comments that grew towards each
//! other, such as people's complaints and the correction rules' quotes of them).
//!
//! Memory is bounded whatever the window's size: at most `max_themes` themes,
//! each keeping at most [`PRUNE_AT`] term counts, [`MAX_EVIDENCE`] evidence ids
//! and one representative comment. When every theme slot is taken, a comment
//! that fits no theme evicts the *smallest* theme (fewest interactions, then
//! the least recently joined) rather than diluting a big theme with an
//! unrelated comment: a recurring theme grows past one comment quickly and is
//! not the one evicted, while one-off noise keeps replacing itself. Evictions
//! are counted in the `feedback_themes_evicted` metric.
//!
//! Inferred feedback whose reason has fewer than two content words (`user said
//! "that's not right"`) is counted as negative but not clustered: it only names
//! the inferring rule's own pattern. Reasons that quote the user's message
//! ("... your site says 14 days") join the theme of what went wrong.
//!
//! The output depends only on the order of the feedback, never on hash order
//! or on how the host splits it into chunks: themes are kept in a `Vec`, terms
//! in `BTreeMap`s, and ties are broken by term, then by age.

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, FeedbackSource, Findings, Inputs, Metric, Pattern, Rating, Rule,
    RuleInfo, SettingSpec, Severity, Stage, Suggestion, setting_or, text,
};

const NAME: &str = "feedback-themes";

/// Term counts kept per theme after pruning. Enough to describe a theme; rare
/// terms carry little weight in the cosine similarity anyway.
const KEEP_TERMS: usize = 48;
/// A theme's term map is pruned back to [`KEEP_TERMS`] when it grows past this
/// (amortised: pruning sorts the map, so it should not happen on every comment).
pub const PRUNE_AT: usize = 96;
/// Evidence ids kept per theme (the host keeps at most 20 per pattern too).
pub const MAX_EVIDENCE: usize = 20;
/// Terms that make a theme's key and title.
const KEY_TERMS: usize = 3;
/// Top terms a candidate representative comment is scored against.
const REPRESENTATIVE_TERMS: usize = 5;
/// Longest representative comment quoted in descriptions and instructions.
const QUOTE_CHARS: usize = 160;
/// Content words an inferred reason needs to be clustered (see `analyse`).
const MIN_INFERRED_TERMS: usize = 2;
/// Upper bound of `max_themes`, so that an operator's typo cannot make the
/// per-comment scan (linear in the number of themes) unbounded.
const MAX_THEMES_LIMIT: usize = 10_000;

/// Words that are not in the SDK's stopword list but say nothing about what
/// went wrong: negated auxiliaries ("didn't work" is about the work), reporting
/// verbs ("the bot told me", inferred reasons' `user said "..."`) and
/// pleasantries. Sorted for binary search.
const FILLER: &[&str] = &[
    "actually",
    "aren't",
    "can't",
    "cannot",
    "couldn't",
    "didn't",
    "doesn't",
    "even",
    "gave",
    "give",
    "isn't",
    "really",
    "said",
    "say",
    "says",
    "shouldn't",
    "still",
    "thank",
    "thanks",
    "thing",
    "told",
    "user",
    "wasn't",
    "won't",
    "wouldn't",
];

fn is_filler(word: &str) -> bool {
    FILLER.binary_search(&word).is_ok()
}

/// Order numbers, SKUs, tracking numbers: a word with a digit and more than
/// three characters. Inferred reasons quote user messages, and "I already told
/// you, 48213" must not make `48213` a theme's word; "14 days" and "$150" keep
/// their numbers.
fn is_identifier(word: &str) -> bool {
    word.chars().count() > 3 && word.chars().any(|c| c.is_ascii_digit())
}

/// A content word: its stem (what themes compare) and the word as first
/// written (what titles show: "recommended", not "recommend").
#[derive(Debug, Clone)]
struct Term {
    stem: String,
    surface: String,
}

/// The distinct content words of a comment, sorted by stem. The same steps as
/// `text::content_words`, keeping each word's surface form, dropping
/// [`FILLER`], identifiers ([`is_identifier`]) and a possessive `'s` (which the SDK's stemmer would cut to
/// `men'`).
fn comment_terms(comment: &str) -> Vec<Term> {
    let norm = text::normalise(comment);
    let mut terms: Vec<Term> = text::tokens(&norm)
        .filter(|w| !text::is_stopword(w) && !is_filler(w) && !is_identifier(w))
        .map(|w| {
            let surface = w.strip_suffix("'s").unwrap_or(w).trim_matches('\'');
            Term {
                stem: text::stem(surface),
                surface: surface.to_string(),
            }
        })
        .filter(|t| !t.stem.is_empty() && !text::is_stopword(&t.stem) && !is_filler(&t.stem))
        .collect();
    terms.sort_by(|a, b| a.stem.cmp(&b.stem));
    terms.dedup_by(|a, b| a.stem == b.stem);
    terms
}

/// The rule's settings, validated.
#[derive(Debug, Clone)]
struct Settings {
    similarity: f64,
    merge_similarity: f64,
    max_themes: usize,
    min_comments: u32,
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
            max_themes,
            min_comments,
            medium_share,
            high_share,
            critical_share,
        })
    }

    /// Severity of a theme that holds `share` of the window's negative feedback.
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

/// The comment that stands for a theme in its description and instruction.
#[derive(Debug, Clone)]
struct Representative {
    text: String,
    /// Stems, sorted.
    stems: Vec<String>,
    explicit: bool,
}

impl Representative {
    /// How well this comment speaks for a theme whose top stems are `top`:
    /// stems shared first, then a person's words over a rule's reason.
    fn score(&self, top: &[&str]) -> (usize, bool) {
        let shared = self
            .stems
            .iter()
            .filter(|t| top.contains(&t.as_str()))
            .count();
        (shared, self.explicit)
    }
}

/// One theme: a bounded summary of the comments that joined it.
#[derive(Debug, Clone)]
struct Theme {
    /// Unique within the cycle; used to count an interaction once per theme.
    id: u64,
    /// Stem → (number of comments containing it, first surface form seen).
    /// Bounded, see [`PRUNE_AT`].
    terms: BTreeMap<String, (u32, String)>,
    /// Sum of squared term counts: the squared norm of the centroid.
    norm_sq: f64,
    comments: u32,
    /// Distinct interactions (an interaction with both explicit and inferred
    /// negative feedback in this theme counts once).
    interactions: u32,
    explicit: u32,
    inferred: u32,
    evidence: Vec<String>,
    representative: Representative,
    /// Sequence number of the last comment that joined (for eviction ties).
    last_joined: u64,
}

impl Theme {
    fn new(id: u64, representative: Representative) -> Self {
        Self {
            id,
            terms: BTreeMap::new(),
            norm_sq: 0.0,
            comments: 0,
            interactions: 0,
            explicit: 0,
            inferred: 0,
            evidence: Vec::new(),
            representative,
            last_joined: 0,
        }
    }

    fn count(&self, stem: &str) -> u32 {
        self.terms.get(stem).map_or(0, |(c, _)| *c)
    }

    /// Cosine similarity between a comment's term set and this theme's
    /// centroid; 0 when they share fewer than two terms (one for a one-word
    /// comment): a single common word such as "wrong" is not a theme.
    fn similarity(&self, terms: &[Term]) -> f64 {
        if terms.is_empty() || self.norm_sq <= 0.0 {
            return 0.0;
        }
        let (mut shared, mut dot) = (0usize, 0u64);
        for term in terms {
            let c = self.count(&term.stem);
            if c > 0 {
                shared += 1;
                dot += u64::from(c);
            }
        }
        if shared < terms.len().min(2) {
            return 0.0;
        }
        dot as f64 / ((terms.len() as f64).sqrt() * self.norm_sq.sqrt())
    }

    /// Cosine similarity of two themes' centroids, with the same two-term floor.
    fn similarity_to(&self, other: &Theme) -> f64 {
        if self.norm_sq <= 0.0 || other.norm_sq <= 0.0 {
            return 0.0;
        }
        let (mut shared, mut dot) = (0usize, 0f64);
        for (stem, (c, _)) in &self.terms {
            let d = other.count(stem);
            if d > 0 {
                shared += 1;
                dot += f64::from(*c) * f64::from(d);
            }
        }
        if shared < self.terms.len().min(other.terms.len()).min(2) {
            return 0.0;
        }
        dot / (self.norm_sq.sqrt() * other.norm_sq.sqrt())
    }

    /// (stem, surface) by count, highest first; ties alphabetically by stem.
    fn top_terms(&self, n: usize) -> Vec<(&str, &str)> {
        let mut all: Vec<(&String, &(u32, String))> = self.terms.iter().collect();
        all.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
        all.into_iter()
            .take(n)
            .map(|(stem, (_, surface))| (stem.as_str(), surface.as_str()))
            .collect()
    }

    fn top_stems(&self, n: usize) -> Vec<&str> {
        self.top_terms(n).into_iter().map(|(s, _)| s).collect()
    }

    fn top_surfaces(&self, n: usize) -> Vec<&str> {
        self.top_terms(n).into_iter().map(|(_, w)| w).collect()
    }

    fn add_term(&mut self, stem: &str, surface: &str, n: u32) {
        let entry = self
            .terms
            .entry(stem.to_string())
            .or_insert_with(|| (0, surface.to_string()));
        entry.0 = entry.0.saturating_add(n);
    }

    /// Prune rare terms if the map grew past [`PRUNE_AT`], and refresh the norm.
    fn settle(&mut self) {
        if self.terms.len() > PRUNE_AT {
            let keep: BTreeSet<String> = self
                .top_stems(KEEP_TERMS)
                .into_iter()
                .map(str::to_string)
                .collect();
            self.terms.retain(|t, _| keep.contains(t));
        }
        self.norm_sq = self
            .terms
            .values()
            .map(|(c, _)| f64::from(*c) * f64::from(*c))
            .sum();
    }

    fn add_evidence(&mut self, interaction_id: &str) {
        if self.evidence.len() < MAX_EVIDENCE && !self.evidence.iter().any(|e| e == interaction_id)
        {
            self.evidence.push(interaction_id.to_string());
        }
    }

    /// Record one comment. `new_interaction` is false when this interaction
    /// already counted towards this theme.
    fn join(
        &mut self,
        terms: &[Term],
        candidate: Representative,
        interaction_id: &str,
        new_interaction: bool,
        seq: u64,
    ) {
        for term in terms {
            self.add_term(&term.stem, &term.surface, 1);
        }
        self.settle();
        self.comments = self.comments.saturating_add(1);
        if new_interaction {
            self.interactions = self.interactions.saturating_add(1);
        }
        if candidate.explicit {
            self.explicit = self.explicit.saturating_add(1);
        } else {
            self.inferred = self.inferred.saturating_add(1);
        }
        self.add_evidence(interaction_id);
        let top = self.top_stems(REPRESENTATIVE_TERMS);
        if candidate.score(&top) > self.representative.score(&top) {
            self.representative = candidate;
        }
        self.last_joined = seq;
    }

    /// Fold `other` into this one. Interactions may be counted twice if both
    /// themes hold feedback on the same interaction: rare, and bounded memory
    /// cannot tell.
    fn absorb(&mut self, other: Theme) {
        for (stem, (c, surface)) in &other.terms {
            self.add_term(stem, surface, *c);
        }
        self.settle();
        self.comments = self.comments.saturating_add(other.comments);
        self.interactions = self.interactions.saturating_add(other.interactions);
        self.explicit = self.explicit.saturating_add(other.explicit);
        self.inferred = self.inferred.saturating_add(other.inferred);
        for id in &other.evidence {
            self.add_evidence(id);
        }
        let top = self.top_stems(REPRESENTATIVE_TERMS);
        if other.representative.score(&top) > self.representative.score(&top) {
            self.representative = other.representative;
        }
        self.last_joined = self.last_joined.max(other.last_joined);
    }

    /// `feedback-themes/<top stems, sorted alphabetically, joined by '-'>`:
    /// stems rather than surface forms, so that "recommended" this week and
    /// "recommendation" next week give the same key.
    fn key(&self) -> String {
        let mut words: Vec<String> = self
            .top_stems(KEY_TERMS)
            .into_iter()
            .map(|t| {
                t.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty())
            .collect();
        words.sort();
        words.dedup();
        if words.is_empty() {
            words.push("misc".to_string());
        }
        format!("{NAME}/{}", words.join("-"))
    }
}

/// Joins words as a person would: "a", "a and b", "a, b and c".
fn human_list(words: &[&str], conjunction: &str) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// Merge the two most similar themes while any pair reaches `threshold`.
/// Quadratic in the number of themes, which `max_themes` bounds; run once.
fn merge_similar(themes: &mut Vec<Theme>, threshold: f64) {
    loop {
        let mut best: Option<(usize, usize, f64)> = None;
        for i in 0..themes.len() {
            for j in i + 1..themes.len() {
                let s = themes[i].similarity_to(&themes[j]);
                if s >= threshold && best.is_none_or(|(_, _, b)| s > b) {
                    best = Some((i, j, s));
                }
            }
        }
        let Some((i, j, _)) = best else {
            return;
        };
        let other = themes.remove(j);
        // Keep the bigger theme's identity (and representative, unless the
        // other's speaks better for the merged terms).
        if other.interactions > themes[i].interactions {
            let smaller = std::mem::replace(&mut themes[i], other);
            themes[i].absorb(smaller);
        } else {
            themes[i].absorb(other);
        }
    }
}

/// The rule: see the module documentation.
pub struct FeedbackThemes {
    settings: Settings,
    themes: Vec<Theme>,
    next_id: u64,
    seq: u64,
    feedback_seen: u64,
    negative_seen: u64,
    evicted: u64,
}

impl FeedbackThemes {
    /// The index of the theme a comment with `terms` joins, creating it (and
    /// evicting the smallest theme if every slot is taken) when none is similar.
    fn theme_for(&mut self, terms: &[Term], candidate: &Representative) -> usize {
        let mut best: Option<(usize, f64)> = None;
        for (i, theme) in self.themes.iter().enumerate() {
            let s = theme.similarity(terms);
            // Strictly greater: ties go to the older theme.
            if s >= self.settings.similarity && best.is_none_or(|(_, b)| s > b) {
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
            self.themes.remove(smallest);
            self.evicted += 1;
        }
        self.next_id += 1;
        self.themes
            .push(Theme::new(self.next_id, candidate.clone()));
        self.themes.len() - 1
    }

    fn pattern_and_suggestion(&self, theme: &Theme, key: String) -> (Pattern, Suggestion) {
        let top = theme.top_surfaces(REPRESENTATIVE_TERMS);
        let words: Vec<&str> = top.iter().copied().take(KEY_TERMS).collect();
        let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
        let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
        let share = f64::from(theme.interactions) / (self.negative_seen.max(1) as f64);
        let quote = text::truncate(theme.representative.text.trim(), QUOTE_CHARS);
        let n = theme.interactions;
        let title = format!("Negative feedback about: {}", words.join(", "));
        let description = format!(
            "{n} interactions drew negative feedback in similar words ({:.1}% of negative \
             feedback; {} explicit and {} inferred comments), for example: \"{quote}\". \
             Most common words: {}.",
            share * 100.0,
            theme.explicit,
            theme.inferred,
            top.join(", "),
        );
        let instruction = format!(
            "Users complained {n} times about answers involving {}, for example: \"{quote}\". \
             Before answering anything involving {}, check your answer against the policies in \
             this prompt, the tool results and every requirement the user stated; if they \
             disagree, or you cannot confirm something, say so instead of guessing.",
            human_list(&quoted, "and"),
            human_list(&words, "or"),
        );
        // More complaints and a larger share make the theme more likely to be a
        // real, fixable problem; a generic instruction never earns full confidence.
        let confidence = (0.3 + 0.2 * (f64::from(n) / 50.0).min(1.0) + share.min(0.2)) as f32;
        let rationale = format!(
            "{n} interactions ({:.1}% of negative feedback) drew complaints like \"{quote}\"; \
             an explicit instruction about {} targets them directly.",
            share * 100.0,
            human_list(&words, "and"),
        );
        let pattern = Pattern {
            key: key.clone(),
            title,
            description,
            severity: self.settings.severity(share),
            occurrences: n,
            evidence: theme.evidence.clone(),
        };
        let suggestion = Suggestion {
            edit: Edit::AppendInstruction(instruction),
            rationale,
            confidence,
            addresses: vec![key],
        };
        (pattern, suggestion)
    }
}

impl Rule for FeedbackThemes {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: &str| SettingSpec {
            name: name.to_string(),
            description: description.to_string(),
            default_value: Some(default.to_string()),
        };
        RuleInfo {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Groups negative feedback comments (explicit and inferred) into themes \
                          by shared words and reports recurring themes, each with a prompt \
                          instruction."
                .to_string(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::empty(),
            settings: vec![
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
                    "medium_share",
                    "Share of negative feedback from which a theme is of medium severity",
                    "0.05",
                ),
                spec(
                    "high_share",
                    "Share of negative feedback from which a theme is of high severity",
                    "0.15",
                ),
                spec(
                    "critical_share",
                    "Share of negative feedback from which a theme is critical",
                    "0.35",
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(Self {
            settings: Settings::from_context(&context)?,
            themes: Vec::new(),
            next_id: 0,
            seq: 0,
            feedback_seen: 0,
            negative_seen: 0,
            evicted: 0,
        })
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        // A chunk holds all feedback on its interactions, so deduplicating
        // (theme, interaction) within the chunk counts each interaction once.
        let mut counted: BTreeSet<(u64, String)> = BTreeSet::new();
        for feedback in chunk.feedback {
            self.feedback_seen += 1;
            if feedback.rating != Rating::Negative {
                continue;
            }
            self.negative_seen += 1;
            let Some(comment) = feedback.comment else {
                continue;
            };
            let terms = comment_terms(&comment);
            let explicit = matches!(feedback.source, FeedbackSource::Explicit);
            // An inferred reason with a single content word (`user said "that's
            // not right"`) names only the inferring rule's own pattern, which that
            // rule reports itself; it says nothing about the topic.
            if terms.len() < if explicit { 1 } else { MIN_INFERRED_TERMS } {
                continue;
            }
            let candidate = Representative {
                text: comment,
                stems: terms.iter().map(|t| t.stem.clone()).collect(),
                explicit,
            };
            let index = self.theme_for(&terms, &candidate);
            self.seq += 1;
            let seq = self.seq;
            if let Some(theme) = self.themes.get_mut(index) {
                let new_interaction = counted.insert((theme.id, feedback.interaction_id.clone()));
                theme.join(
                    &terms,
                    candidate,
                    &feedback.interaction_id,
                    new_interaction,
                    seq,
                );
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let mut themes = std::mem::take(&mut self.themes);
        merge_similar(&mut themes, self.settings.merge_similarity);
        // Two themes can still end up with the same top stems: report them as one.
        let mut by_key: BTreeMap<String, Theme> = BTreeMap::new();
        for theme in themes {
            let key = theme.key();
            match by_key.remove(&key) {
                None => {
                    by_key.insert(key, theme);
                }
                Some(existing) => {
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
        let mut reported: Vec<(String, Theme)> = by_key
            .into_iter()
            .filter(|(_, t)| t.interactions >= self.settings.min_comments)
            .collect();
        reported.sort_by(|a, b| {
            b.1.interactions
                .cmp(&a.1.interactions)
                .then_with(|| a.0.cmp(&b.0))
        });

        let mut findings = Findings {
            patterns: Vec::new(),
            suggestions: Vec::new(),
            metrics: Vec::new(),
        };
        for (key, theme) in &reported {
            let (pattern, suggestion) = self.pattern_and_suggestion(theme, key.clone());
            findings.patterns.push(pattern);
            findings.suggestions.push(suggestion);
        }
        let share = if self.feedback_seen == 0 {
            0.0
        } else {
            self.negative_seen as f64 / self.feedback_seen as f64
        };
        findings.metrics.push(Metric {
            name: "negative_feedback_share".to_string(),
            value: share,
            description: format!(
                "Negative feedback / all feedback seen, explicit and inferred ({} of {})",
                self.negative_seen, self.feedback_seen
            ),
        });
        findings.metrics.push(Metric {
            name: "feedback_themes_reported".to_string(),
            value: reported.len() as f64,
            description: format!(
                "Themes of negative comments with at least {} interactions",
                self.settings.min_comments
            ),
        });
        findings.metrics.push(Metric {
            name: "feedback_themes_evicted".to_string(),
            value: self.evicted as f64,
            description: format!(
                "Themes dropped to stay within max_themes = {}; if high, raise it or lower \
                 `similarity`",
                self.settings.max_themes
            ),
        });
        Ok(findings)
    }
}

reverie_rule_sdk::export_rule!(FeedbackThemes);

#[cfg(test)]
mod tests {
    use super::*;
    use reverie_rule_sdk::Feedback;

    fn context(settings: &[(&str, &str)]) -> CycleContext {
        CycleContext {
            agent_id: "agt_1".to_string(),
            agent_name: "shop-bot".to_string(),
            system_prompt: "You are a shop assistant.".to_string(),
            config_version: "v1".to_string(),
            window_start_ms: None,
            window_end_ms: None,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn negative(id: &str, comment: &str) -> Feedback {
        Feedback {
            interaction_id: id.to_string(),
            rating: Rating::Negative,
            comment: Some(comment.to_string()),
            source: FeedbackSource::Explicit,
        }
    }

    fn inferred(id: &str, reason: &str) -> Feedback {
        Feedback {
            source: FeedbackSource::Inferred("corrections".to_string()),
            ..negative(id, reason)
        }
    }

    fn positive(id: &str) -> Feedback {
        Feedback {
            interaction_id: id.to_string(),
            rating: Rating::Positive,
            comment: Some("great, thanks".to_string()),
            source: FeedbackSource::Explicit,
        }
    }

    fn run(settings: &[(&str, &str)], chunks: Vec<Vec<Feedback>>) -> Findings {
        let mut rule = match FeedbackThemes::new(context(settings)) {
            Ok(rule) => rule,
            Err(e) => panic!("settings rejected: {e}"),
        };
        for feedback in chunks {
            let chunk = Chunk {
                interactions: Vec::new(),
                feedback,
            };
            if let Err(e) = rule.analyse(chunk) {
                panic!("analyse failed: {e}");
            }
        }
        match rule.finish() {
            Ok(findings) => findings,
            Err(e) => panic!("finish failed: {e}"),
        }
    }

    const REFUND: &[&str] = &[
        "bot gave the wrong return policy",
        "wrong return window, it's 14 days not 30",
        "told me 30 days for returns, your policy says 14 days",
        "incorrect return policy",
        "the return policy it quoted was wrong",
        "said 30 day returns, the policy page says 14 days",
        "wrong info on the return window",
    ];
    const PRODUCT: &[&str] = &[
        "recommended the wrong product",
        "product recommendation ignored what I needed",
        "wrong product recommendation, I asked for waterproof",
        "it recommended a product that isn't waterproof",
        "bad product recommendations",
        "the recommended product did not match what I asked",
    ];

    fn mixed_feedback() -> Vec<Feedback> {
        let mut out = Vec::new();
        // Interleaved, as feedback arrives: refund, product, praise, refund, ...
        for (i, refund) in REFUND.iter().enumerate() {
            out.push(negative(&format!("int_r{i}"), refund));
            if let Some(p) = PRODUCT.get(i) {
                out.push(negative(&format!("int_p{i}"), p));
            }
            out.push(positive(&format!("int_ok{i}")));
        }
        out
    }

    /// The pattern whose evidence includes `interaction`.
    fn pattern<'a>(findings: &'a Findings, interaction: &str) -> &'a Pattern {
        match findings
            .patterns
            .iter()
            .find(|p| p.evidence.iter().any(|e| e == interaction))
        {
            Some(p) => p,
            None => panic!(
                "no pattern with {interaction}; got {:?}",
                findings.patterns.iter().map(|p| &p.key).collect::<Vec<_>>()
            ),
        }
    }

    #[test]
    fn refund_and_product_complaints_become_two_separate_themes() {
        let findings = run(&[], vec![mixed_feedback()]);
        assert_eq!(findings.patterns.len(), 2, "{:?}", findings.patterns);

        let refund = pattern(&findings, "int_r0");
        assert_eq!(refund.occurrences, 7);
        assert!(refund.evidence.iter().all(|id| id.starts_with("int_r")));
        // The three most common words; the key has their stems, sorted.
        assert_eq!(
            refund.title,
            "Negative feedback about: return, policy, wrong"
        );
        assert_eq!(refund.key, "feedback-themes/policy-return-wrong");

        let product = pattern(&findings, "int_p0");
        assert_eq!(product.occurrences, 6);
        assert!(product.evidence.iter().all(|id| id.starts_with("int_p")));
        assert_eq!(product.key, "feedback-themes/asked-product-recommend");
        assert_eq!(
            product.title,
            "Negative feedback about: product, recommended, asked"
        );

        // Most complaints first; one suggestion per theme, addressing it.
        assert_eq!(findings.patterns[0].key, refund.key);
        assert_eq!(findings.suggestions.len(), 2);
        for (p, s) in findings.patterns.iter().zip(&findings.suggestions) {
            assert_eq!(s.addresses, vec![p.key.clone()]);
        }
    }

    #[test]
    fn the_instruction_quotes_a_real_complaint_and_its_count() {
        let findings = run(&[], vec![mixed_feedback()]);
        let Edit::AppendInstruction(text) = &findings.suggestions[1].edit else {
            panic!("expected an appended instruction");
        };
        assert!(
            text.starts_with(
                "Users complained 6 times about answers involving \"product\", \"recommended\" and \"asked\""
            ),
            "{text}"
        );
        assert!(
            PRODUCT.iter().any(|c| text.contains(&format!("\"{c}\""))),
            "quotes one of the product comments: {text}"
        );
        assert!(findings.patterns[1].description.contains("6 interactions"));
    }

    #[test]
    fn rare_complaints_below_min_comments_are_not_reported() {
        let mut feedback = mixed_feedback();
        for i in 0..4 {
            feedback.push(negative(
                &format!("int_s{i}"),
                "the chat window kept freezing on mobile",
            ));
        }
        let findings = run(&[], vec![feedback.clone()]);
        assert!(findings.patterns.iter().all(|p| !p.key.contains("freez")));

        let findings = run(&[("min_comments", "4")], vec![feedback]);
        assert!(findings.patterns.iter().any(|p| p.key.contains("freez")));
    }

    #[test]
    fn inferred_reasons_join_themes_and_are_counted_apart() {
        let mut feedback = mixed_feedback();
        feedback.push(inferred(
            "int_x1",
            "user said \"no, the return policy is 14 days\"",
        ));
        // Explicit and inferred feedback on the same interaction count once.
        feedback.push(inferred(
            "int_r0",
            "user said \"wrong, your return policy says 14\"",
        ));
        let findings = run(&[], vec![feedback]);
        let refund = pattern(&findings, "int_x1");
        assert_eq!(refund.occurrences, 8);
        assert!(refund.description.contains("7 explicit and 2 inferred"));
    }

    #[test]
    fn inferred_reasons_that_only_name_the_correction_do_not_make_a_theme() {
        let mut feedback = mixed_feedback();
        for i in 0..8 {
            feedback.push(inferred(
                &format!("int_c{i}"),
                "user said \"that's not right\"",
            ));
        }
        let findings = run(&[], vec![feedback]);
        assert_eq!(findings.patterns.len(), 2, "{:?}", findings.patterns);
        // They still count as negative feedback: 13 explicit + 8 inferred of 28.
        let share = findings
            .metrics
            .iter()
            .find(|m| m.name == "negative_feedback_share")
            .map(|m| m.value);
        assert_eq!(share, Some(21.0 / 28.0));
    }

    #[test]
    fn negative_share_counts_all_feedback_and_ignores_positive_comments() {
        let findings = run(&[], vec![mixed_feedback()]);
        let share = findings
            .metrics
            .iter()
            .find(|m| m.name == "negative_feedback_share")
            .map(|m| m.value);
        assert_eq!(share, Some(13.0 / 20.0));
        assert!(findings.patterns.iter().all(|p| !p.key.contains("great")));
    }

    #[test]
    fn the_same_feedback_gives_the_same_findings_however_it_is_chunked() {
        let whole = run(&[], vec![mixed_feedback()]);
        let again = run(&[], vec![mixed_feedback()]);
        let parts: Vec<Vec<Feedback>> = mixed_feedback().chunks(4).map(<[_]>::to_vec).collect();
        let chunked = run(&[], parts);
        assert_eq!(format!("{whole:?}"), format!("{again:?}"));
        assert_eq!(format!("{whole:?}"), format!("{chunked:?}"));
    }

    #[test]
    fn when_themes_are_full_one_off_noise_evicts_noise_not_the_big_theme() {
        let mut feedback = Vec::new();
        // Every noise comment is about something else entirely.
        let nouns = [
            "printer",
            "kettle",
            "parrot",
            "violin",
            "tractor",
            "lighthouse",
            "cactus",
        ];
        let moods = [
            "grumpy", "sleepy", "purple", "frozen", "dizzy", "noisy", "sticky",
        ];
        for (i, c) in REFUND.iter().enumerate() {
            feedback.push(negative(&format!("int_r{i}"), c));
            feedback.push(negative(&format!("int_n{i}a"), nouns[i]));
            feedback.push(negative(&format!("int_n{i}b"), moods[i]));
        }
        let findings = run(&[("max_themes", "3")], vec![feedback]);
        let refund = pattern(&findings, "int_r0");
        assert_eq!(refund.occurrences, 7);
        let evicted = findings
            .metrics
            .iter()
            .find(|m| m.name == "feedback_themes_evicted")
            .map(|m| m.value);
        assert!(evicted.is_some_and(|v| v > 0.0));
    }

    #[test]
    fn severity_follows_the_share_of_negative_feedback() {
        let findings = run(
            &[("high_share", "0.5"), ("critical_share", "0.9")],
            vec![mixed_feedback()],
        );
        // 7 of 13 negative: high; 6 of 13: medium.
        assert_eq!(findings.patterns[0].severity, Severity::High);
        assert_eq!(findings.patterns[1].severity, Severity::Medium);
    }

    #[test]
    fn a_bad_setting_is_an_error_naming_it() {
        for (name, value) in [
            ("similarity", "abc"),
            ("similarity", "0"),
            ("merge_similarity", "2"),
            ("max_themes", "0"),
            ("min_comments", "-1"),
            ("high_share", "1.5"),
        ] {
            match FeedbackThemes::new(context(&[(name, value)])) {
                Ok(_) => panic!("{name} = {value} was accepted"),
                Err(e) => assert!(e.contains(&format!("`{name}`")), "{e}"),
            }
        }
        let err = FeedbackThemes::new(context(&[("medium_share", "0.5"), ("high_share", "0.2")]));
        assert!(matches!(err, Err(e) if e.contains("medium_share")));
    }

    #[test]
    fn comments_are_reduced_to_stemmed_content_words() {
        let stems = |comment: &str| -> Vec<String> {
            comment_terms(comment).into_iter().map(|t| t.stem).collect()
        };
        assert_eq!(
            stems("I asked for WOMEN'S boots, it didn't work!"),
            ["asked", "boot", "women", "work"]
        );
        assert_eq!(
            stems("user said \"I already told you\": \"It's 48213, under $150 for 14 days\""),
            ["14", "150", "already", "days", "under"]
        );
    }

    #[test]
    fn info_declares_every_setting_it_reads() {
        let info = FeedbackThemes::info();
        let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "similarity",
                "merge_similarity",
                "max_themes",
                "min_comments",
                "medium_share",
                "high_share",
                "critical_share"
            ]
        );
        assert!(
            FILLER.windows(2).all(|w| w[0] < w[1]),
            "FILLER sorted for binary search"
        );
    }
}

/// The rule on the committed example dataset (`examples/support-bot`), with
/// its explicit feedback only: what an operator would see on day one.
#[cfg(test)]
mod example_dataset {
    use super::*;
    use reverie_rule_sdk::Feedback;

    /// The string value of `"field":"..."` in one JSON line (the generator
    /// writes no nested objects in feedback lines), unescaping `\"` and `\\`.
    fn field(line: &str, name: &str) -> Option<String> {
        let start = line.find(&format!("\"{name}\":\""))? + name.len() + 4;
        let mut out = String::new();
        let mut chars = line[start..].chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => out.push(chars.next()?),
                c => out.push(c),
            }
        }
        None
    }

    fn load() -> Vec<Feedback> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/support-bot/feedback.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let rating = match field(line, "rating")?.as_str() {
                    "negative" => Rating::Negative,
                    "positive" => Rating::Positive,
                    _ => Rating::Neutral,
                };
                Some(Feedback {
                    interaction_id: field(line, "interaction_id")?,
                    rating,
                    comment: field(line, "comment"),
                    source: FeedbackSource::Explicit,
                })
            })
            .collect()
    }

    #[test]
    fn the_refund_and_product_complaints_are_the_top_themes_of_the_example_shop() {
        let feedback = load();
        assert!(
            feedback.len() > 300,
            "example dataset missing: {} lines",
            feedback.len()
        );
        let context = CycleContext {
            agent_id: "trailhead".to_string(),
            agent_name: "Trailhead Outfitters support".to_string(),
            system_prompt: String::new(),
            config_version: "v1".to_string(),
            window_start_ms: None,
            window_end_ms: None,
            settings: Vec::new(),
        };
        let mut rule = match FeedbackThemes::new(context) {
            Ok(rule) => rule,
            Err(e) => panic!("{e}"),
        };
        for part in feedback.chunks(256) {
            let chunk = Chunk {
                interactions: Vec::new(),
                feedback: part.to_vec(),
            };
            assert!(rule.analyse(chunk).is_ok());
        }
        let findings = match rule.finish() {
            Ok(findings) => findings,
            Err(e) => panic!("{e}"),
        };
        let keys: Vec<&str> = findings.patterns.iter().map(|p| p.key.as_str()).collect();
        let top4 = &keys[..keys.len().min(4)];
        let has = |words: &[&str]| top4.iter().any(|k| words.iter().all(|w| k.contains(w)));
        assert!(
            has(&["return", "policy"]),
            "refund theme in the top 4: {keys:?}"
        );
        assert!(
            has(&["product", "recommend"]),
            "product theme in the top 4: {keys:?}"
        );
        assert!(
            has(&["order", "number"]),
            "order-number theme in the top 4: {keys:?}"
        );
        // One-off complaints ("too slow", "I wanted to talk to a human") stay out.
        assert!(
            keys.iter()
                .all(|k| !k.contains("slow") && !k.contains("human")),
            "{keys:?}"
        );
    }
}
