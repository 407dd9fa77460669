//! `feedback-themes`: groups negative feedback comments into themes and reports
//! the recurring ones as patterns, each with a prompt instruction that answers it.
//!
//! Every negative comment of the window (explicit ones, and the reasons of
//! feedback inferred by `detect` rules) is reduced to its content words and
//! clustered online: it joins the theme whose term counts are most similar to
//! it (cosine similarity at least `similarity`), or starts a new theme. Memory
//! is bounded whatever the window's size: at most `max_themes` themes, each
//! keeping at most [`PRUNE_AT`] term counts, [`MAX_EVIDENCE`] evidence ids and
//! one representative comment. When every theme slot is taken, a comment that
//! fits no theme evicts the *smallest* theme (fewest interactions, then the
//! least recently joined) rather than diluting a big theme with an unrelated
//! comment: a recurring theme grows past one comment quickly and is not the
//! one evicted, while one-off noise keeps replacing itself. Evictions are
//! counted in the `feedback_themes_evicted` metric.
//!
//! The output depends only on the order of the feedback, never on hash order:
//! themes are kept in a `Vec`, terms in `BTreeMap`s, and ties are broken by
//! term, then by age. Splitting the same feedback into different chunks gives
//! the same findings.

use std::collections::{BTreeMap, BTreeSet};

use reverie_rule_sdk::{
    Chunk, CycleContext, Edit, FeedbackSource, Findings, Metric, Pattern, Rating, Rule, RuleInfo,
    SettingSpec, Severity, Stage, Suggestion, setting_or, text,
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
/// Upper bound of `max_themes`, so that an operator's typo cannot make the
/// per-comment scan (linear in the number of themes) unbounded.
const MAX_THEMES_LIMIT: usize = 10_000;

/// Words that are not stopwords in general but say nothing about what went
/// wrong in feedback: reporting verbs ("the bot told me", inferred reasons'
/// `user said "..."`) and pleasantries. Sorted for binary search.
const FILLER: &[&str] = &[
    "actually", "gave", "give", "guy", "really", "said", "say", "says", "still", "thank", "thanks",
    "thing", "told", "user",
];

fn is_filler(word: &str) -> bool {
    FILLER.binary_search(&word).is_ok()
}

/// The distinct content words of a comment, sorted.
fn comment_terms(comment: &str) -> Vec<String> {
    let mut terms: Vec<String> = text::content_words(comment)
        .into_iter()
        .filter(|w| !is_filler(w))
        .collect();
    terms.sort_unstable();
    terms.dedup();
    terms
}

/// The rule's settings, validated.
#[derive(Debug, Clone)]
struct Settings {
    similarity: f64,
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
    terms: Vec<String>,
    explicit: bool,
}

impl Representative {
    /// How well this comment speaks for a theme whose top terms are `top`:
    /// terms shared first, then a person's words over a rule's reason.
    fn score(&self, top: &[&str]) -> (usize, bool) {
        let shared = self
            .terms
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
    /// Term → number of comments containing it (bounded, see [`PRUNE_AT`]).
    terms: BTreeMap<String, u32>,
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

    /// Cosine similarity between a comment's term set and this theme's centroid.
    fn similarity(&self, terms: &[String]) -> f64 {
        if terms.is_empty() || self.norm_sq <= 0.0 {
            return 0.0;
        }
        let shared: Vec<u32> = terms
            .iter()
            .filter_map(|t| self.terms.get(t))
            .copied()
            .collect();
        if shared.len() < terms.len().min(2) {
            return 0.0;
        }
        let dot: u64 = shared.iter().map(|&c| u64::from(c)).sum();
        dot as f64 / ((terms.len() as f64).sqrt() * self.norm_sq.sqrt())
    }

    /// Terms by count (highest first), ties alphabetically.
    fn top_terms(&self, n: usize) -> Vec<&str> {
        let mut all: Vec<(&String, &u32)> = self.terms.iter().collect();
        all.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter().take(n).map(|(t, _)| t.as_str()).collect()
    }

    fn add_terms<'a>(&mut self, terms: impl IntoIterator<Item = (&'a String, u32)>) {
        for (term, n) in terms {
            let count = self.terms.entry(term.clone()).or_insert(0);
            *count = count.saturating_add(n);
        }
        if self.terms.len() > PRUNE_AT {
            let keep: BTreeSet<String> = self
                .top_terms(KEEP_TERMS)
                .into_iter()
                .map(str::to_string)
                .collect();
            self.terms.retain(|t, _| keep.contains(t));
        }
        self.norm_sq = self
            .terms
            .values()
            .map(|&c| f64::from(c) * f64::from(c))
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
        candidate: Representative,
        interaction_id: &str,
        new_interaction: bool,
        seq: u64,
    ) {
        let terms = candidate.terms.clone();
        self.add_terms(terms.iter().map(|t| (t, 1)));
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
        let top = self.top_terms(REPRESENTATIVE_TERMS);
        if candidate.score(&top) > self.representative.score(&top) {
            self.representative = candidate;
        }
        self.last_joined = seq;
    }

    /// Fold `other` (a theme with the same key) into this one.
    fn absorb(&mut self, other: Theme) {
        self.add_terms(other.terms.iter().map(|(t, &c)| (t, c)));
        self.comments = self.comments.saturating_add(other.comments);
        self.interactions = self.interactions.saturating_add(other.interactions);
        self.explicit = self.explicit.saturating_add(other.explicit);
        self.inferred = self.inferred.saturating_add(other.inferred);
        for id in &other.evidence {
            self.add_evidence(id);
        }
    }

    /// `feedback-themes/<top terms, sorted alphabetically, joined by '-'>`.
    fn key(&self) -> String {
        let mut words: Vec<String> = self
            .top_terms(KEY_TERMS)
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

/// Joins a list of words as a person would: "a", "a and b", "a, b and c".
fn human_list(words: &[&str], conjunction: &str) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
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
    fn theme_for(&mut self, terms: &[String], candidate: &Representative) -> usize {
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
        let top = theme.top_terms(REPRESENTATIVE_TERMS);
        let key_terms: Vec<&str> = top.iter().copied().take(KEY_TERMS).collect();
        let share = f64::from(theme.interactions) / (self.negative_seen.max(1) as f64);
        let quote = text::truncate(theme.representative.text.trim(), QUOTE_CHARS);
        let n = theme.interactions;
        let title = format!("Negative feedback about: {}", key_terms.join(", "));
        let description = format!(
            "{n} interactions drew negative feedback about {} ({:.1}% of negative feedback; \
             {} explicit and {} inferred comments). For example: \"{quote}\". Top terms: {}.",
            human_list(&key_terms, "and"),
            share * 100.0,
            theme.explicit,
            theme.inferred,
            top.join(", "),
        );
        let instruction = format!(
            "Users complained {n} times about {} (for example: \"{quote}\"). When a conversation \
             involves {}, check your answer against the policies in this prompt, the tool results \
             and every requirement the user stated before you reply; if you cannot confirm \
             something, say so instead of guessing.",
            human_list(&key_terms, "and"),
            human_list(&key_terms, "or"),
        );
        // More complaints and a larger share make the theme more likely to be a
        // real, fixable problem; a generic instruction never earns full confidence.
        let confidence = (0.3 + 0.2 * (f64::from(n) / 50.0).min(1.0) + share.min(0.2)) as f32;
        let rationale = format!(
            "{n} interactions ({:.1}% of negative feedback) share the complaint \"{quote}\"; an \
             explicit instruction on {} targets it directly.",
            share * 100.0,
            human_list(&key_terms, "and"),
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
                          by shared terms and reports recurring themes with a prompt instruction \
                          for each."
                .to_string(),
            stages: vec![Stage::Analyse],
            settings: vec![
                spec(
                    "similarity",
                    "Cosine similarity (0 to 1] a comment needs with a theme's term counts to \
                     join it; lower merges more",
                    "0.3",
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
            if terms.is_empty() {
                continue;
            }
            let candidate = Representative {
                text: comment,
                terms,
                explicit: matches!(feedback.source, FeedbackSource::Explicit),
            };
            let index = self.theme_for(&candidate.terms, &candidate);
            self.seq += 1;
            let seq = self.seq;
            if let Some(theme) = self.themes.get_mut(index) {
                let new_interaction = counted.insert((theme.id, feedback.interaction_id.clone()));
                theme.join(candidate, &feedback.interaction_id, new_interaction, seq);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        // Two themes can end up with the same top terms: report them as one.
        let mut by_key: BTreeMap<String, Theme> = BTreeMap::new();
        for theme in std::mem::take(&mut self.themes) {
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
        for i in 0..7 {
            out.push(negative(&format!("int_r{i}"), REFUND[i]));
            if let Some(p) = PRODUCT.get(i) {
                out.push(negative(&format!("int_p{i}"), p));
            }
            out.push(positive(&format!("int_ok{i}")));
        }
        out
    }

    fn pattern<'a>(findings: &'a Findings, key: &str) -> &'a Pattern {
        match findings.patterns.iter().find(|p| p.key == key) {
            Some(p) => p,
            None => panic!(
                "no pattern {key}; got {:?}",
                findings.patterns.iter().map(|p| &p.key).collect::<Vec<_>>()
            ),
        }
    }

    #[test]
    fn refund_and_product_complaints_become_two_separate_themes() {
        let findings = run(&[], vec![mixed_feedback()]);
        assert_eq!(findings.patterns.len(), 2, "{:?}", findings.patterns);

        let refund = pattern(&findings, "feedback-themes/policy-return-wrong");
        assert_eq!(refund.occurrences, 7);
        assert!(refund.evidence.iter().all(|id| id.starts_with("int_r")));
        assert_eq!(
            refund.title,
            "Negative feedback about: return, policy, wrong"
        );

        let product = pattern(&findings, "feedback-themes/product-recommend-wrong");
        assert_eq!(product.occurrences, 6);
        assert!(product.evidence.iter().all(|id| id.starts_with("int_p")));

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
        assert!(text.starts_with("Users complained 6 times about product, recommend and wrong"));
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
        let refund = pattern(&findings, "feedback-themes/policy-return-wrong");
        assert_eq!(refund.occurrences, 8);
        assert!(refund.description.contains("7 explicit and 2 inferred"));
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
        for (i, c) in REFUND.iter().enumerate() {
            feedback.push(negative(&format!("int_r{i}"), c));
            feedback.push(negative(
                &format!("int_n{i}a"),
                &format!("unrelated gripe number{i} alpha"),
            ));
            feedback.push(negative(
                &format!("int_n{i}b"),
                &format!("different moan kind{i} beta"),
            ));
        }
        let findings = run(&[("max_themes", "3")], vec![feedback]);
        let refund = pattern(&findings, "feedback-themes/policy-return-wrong");
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
    fn info_declares_every_setting_it_reads() {
        let info = FeedbackThemes::info();
        let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "similarity",
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
    fn dump() {
        let feedback = load();
        assert!(
            feedback.len() > 300,
            "example dataset missing: {}",
            feedback.len()
        );
        let mut rule = match FeedbackThemes::new(CycleContext {
            agent_id: String::new(),
            agent_name: String::new(),
            system_prompt: String::new(),
            config_version: String::new(),
            window_start_ms: None,
            window_end_ms: None,
            settings: vec![],
        }) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        for part in feedback.chunks(256) {
            let _ = rule.analyse(Chunk {
                interactions: vec![],
                feedback: part.to_vec(),
            });
        }
        for t in &rule.themes {
            eprintln!(
                "{:4} {:?} rep={:?}",
                t.interactions,
                t.top_terms(6),
                t.representative.text
            );
        }
        if let Ok(f) = rule.finish() {
            for p in &f.patterns {
                eprintln!("{} {} {:?}", p.key, p.occurrences, p.severity);
            }
            for s in &f.suggestions {
                eprintln!("{:?}", s.edit);
            }
        }
    }
}
