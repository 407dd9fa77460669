//! `llm-judge`: asks a language model whether each interaction without
//! explicit feedback went well, and returns its verdict as inferred feedback,
//! so that a window where few people press a button still has ratings.
//!
//! In `detect`, each interaction with no explicit rating
//! ([`window::explicit_rating`]) is sampled by a hash of its id
//! (`sample_rate`), then paced by the budget ([`pacing`]). A sampled
//! interaction's compact transcript ([`llm::transcript`]) is sent with the
//! prompt `prompts/judge.md`, the answer is asked as JSON
//! (`prompts/judge.schema.json`) and validated ([`verdict`]); a valid verdict
//! becomes `InferredFeedback` with the reason prefixed `judged: `.
//!
//! A small share of explicitly rated interactions (`calibration_share`, by
//! hash) is judged too, without returning feedback for them: how often the
//! judge agrees with people is reported as a metric, so a reader can tell how
//! far to trust the inferred ratings. The judge reports no patterns: its
//! verdicts reach the report as feedback, which the other rules read.
//!
//! Budget: calls stop for good when the budget is spent or the provider fails
//! three times in a row ([`llm::caller`]); the rule then finishes with what
//! it judged and its run log says how far it got and how it sampled, so the
//! report can say that accuracy from judged interactions is an estimate from
//! a sample.

pub mod pacing;
pub mod verdict;

use reverie_rule_sdk::llm;
use reverie_rule_sdk::{
    CycleContext, Findings, InferredFeedback, Inputs, Interaction, Metric, Rating, Rule, RuleInfo,
    SettingSpec, Stage, setting_or, window,
};

use llm::caller::{Caller, Outcome};
use llm::journal::Journal;
use llm::sample::fraction;
use llm::template::Template;
use llm::transcript;
use pacing::Pacing;
use verdict::Verdict;

const NAME: &str = "llm-judge";
/// Salt of the sample of unrated interactions.
const SAMPLE_SALT: &str = "llm-judge/sample";
/// Salt of the calibration sample: independent of the other.
const CALIBRATION_SALT: &str = "llm-judge/calibration";
/// Calibration pairs needed before agreement is reported.
pub const MIN_CALIBRATION_PAIRS: u64 = 5;
/// Bounds of `max_transcript_chars`.
const TRANSCRIPT_CHARS: std::ops::RangeInclusive<usize> = 200..=100_000;
/// Bounds of `max_output_tokens`.
const OUTPUT_TOKENS: std::ops::RangeInclusive<u32> = 16..=4_096;

/// The rule's settings, validated.
#[derive(Debug, Clone)]
struct Settings {
    sample_rate: f64,
    calibration_share: f64,
    max_transcript_chars: usize,
    max_output_tokens: u32,
    /// One debug line per verdict in the run log (for measuring the judge).
    log_verdicts: bool,
}

impl Settings {
    fn from_context(context: &CycleContext) -> Result<Self, String> {
        let sample_rate = share(context, "sample_rate", 1.0)?;
        let calibration_share = share(context, "calibration_share", 0.1)?;
        let max_transcript_chars: usize = setting_or(context, "max_transcript_chars", 3_000)?;
        if !TRANSCRIPT_CHARS.contains(&max_transcript_chars) {
            return Err(format!(
                "setting `max_transcript_chars`: must be between {} and {}, got {max_transcript_chars}",
                TRANSCRIPT_CHARS.start(),
                TRANSCRIPT_CHARS.end()
            ));
        }
        let max_output_tokens: u32 = setting_or(context, "max_output_tokens", 120)?;
        if !OUTPUT_TOKENS.contains(&max_output_tokens) {
            return Err(format!(
                "setting `max_output_tokens`: must be between {} and {}, got {max_output_tokens}",
                OUTPUT_TOKENS.start(),
                OUTPUT_TOKENS.end()
            ));
        }
        Ok(Self {
            sample_rate,
            calibration_share,
            max_transcript_chars,
            max_output_tokens,
            log_verdicts: setting_or(context, "log_verdicts", false)?,
        })
    }
}

fn share(context: &CycleContext, name: &str, default: f64) -> Result<f64, String> {
    let value: f64 = setting_or(context, name, default)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("setting `{name}`: must be in [0, 1], got {value}"))
    }
}

/// What the judge saw and did, for the metrics and the run log.
#[derive(Debug, Clone, Default)]
struct Counts {
    seen: u64,
    explicit: u64,
    unrated: u64,
    /// Unrated and in the sample.
    sampled: u64,
    /// Sampled but with nothing to read.
    empty: u64,
    judged: u64,
    negative: u64,
    /// Sampled, not judged: pacing held the call back.
    held_by_pacing: u64,
    /// Sampled, not judged: calls had stopped.
    after_stop: u64,
    rejected: u64,
    failed: u64,
    calibration_sampled: u64,
    calibration_pairs: u64,
    calibration_agreed: u64,
}

/// Why an interaction is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Purpose {
    /// No explicit rating: the verdict becomes feedback.
    Rate,
    /// Explicitly rated so: the verdict is compared, never returned.
    Calibrate(Rating),
}

/// Why an interaction sent no verdict back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Miss {
    Stopped,
    Failed,
    Rejected,
}

/// The rule: see the module documentation.
pub struct LlmJudge {
    settings: Settings,
    prompt: Template,
    pacing: Pacing,
    caller: Caller,
    journal: Journal,
    /// The budget's calls when the judge first needed one (for pacing).
    calls_at_start: Option<u32>,
    /// Where in the window calls stopped, once logged.
    stop_logged: bool,
    counts: Counts,
}

impl LlmJudge {
    /// The run log so far.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Why `interaction` is to be judged, if it is.
    fn purpose(&mut self, interaction: &Interaction) -> Option<Purpose> {
        let c = &mut self.counts;
        match window::explicit_rating(&interaction.id) {
            Some(rating) => {
                c.explicit += 1;
                (fraction(CALIBRATION_SALT, &interaction.id) < self.settings.calibration_share)
                    .then(|| {
                        c.calibration_sampled += 1;
                        Purpose::Calibrate(rating)
                    })
            }
            None => {
                c.unrated += 1;
                (fraction(SAMPLE_SALT, &interaction.id) < self.settings.sample_rate).then(|| {
                    c.sampled += 1;
                    Purpose::Rate
                })
            }
        }
    }

    /// Whether pacing lets the next call be made for an interaction at `timestamp_ms`.
    fn paced(&mut self, timestamp_ms: i64) -> bool {
        let at_start = *self
            .calls_at_start
            .get_or_insert_with(|| llm::remaining().calls);
        self.pacing.allows(
            self.caller.calls().saturating_add(1),
            at_start,
            timestamp_ms,
        )
    }

    /// Ask the model about one interaction.
    fn judge(&mut self, interaction: &Interaction) -> Result<Verdict, Miss> {
        let text = transcript::compact(interaction, self.settings.max_transcript_chars);
        let prompt = match self.prompt.render(&[("transcript", &text)]) {
            Ok(p) => p,
            Err(e) => {
                self.journal.failed(&interaction.id, &e);
                return Err(Miss::Failed);
            }
        };
        let request = llm::structured(
            vec![llm::user(prompt)],
            verdict::SCHEMA,
            self.settings.max_output_tokens,
        );
        match self
            .caller
            .call(&interaction.id, &request, &mut self.journal)
        {
            Outcome::Answer(answer) => verdict::read(&answer, &text).map_err(|why| {
                self.journal.rejected(&interaction.id, &why);
                Miss::Rejected
            }),
            Outcome::Unreadable(why) => {
                self.journal.rejected(&interaction.id, &why);
                Err(Miss::Rejected)
            }
            Outcome::Failed(_) => Err(Miss::Failed),
            Outcome::Stopped => Err(Miss::Stopped),
        }
    }

    /// Log, once, where in the window calls stopped.
    fn log_stop(&mut self) {
        if self.stop_logged {
            return;
        }
        if let Some(stop) = self.caller.stopped() {
            self.stop_logged = true;
            let why = stop.describe();
            self.journal.warn(
                "no more interactions will be judged in this window",
                &[
                    ("why", why),
                    ("at_interaction", self.counts.seen.to_string()),
                    ("judged_so_far", self.counts.judged.to_string()),
                ],
            );
        }
    }

    /// The findings (metrics only) and the closing lines of the run log.
    fn findings(&mut self) -> Findings {
        let c = self.counts.clone();
        let s = &self.settings;
        let skipped_budget = c.held_by_pacing + c.after_stop;
        let (input_tokens, output_tokens) = self.caller.tokens();
        let sampling = format!(
            "judged {} of {} interactions without explicit feedback (sample_rate {}, {}); \
             accuracy inferred from judged interactions is an estimate from this sample",
            c.judged,
            c.unrated,
            s.sample_rate,
            self.pacing.describe()
        );
        self.journal.info(
            &sampling,
            &[
                ("interactions", c.seen.to_string()),
                ("explicitly_rated", c.explicit.to_string()),
                ("sampled", c.sampled.to_string()),
                ("judged", c.judged.to_string()),
                ("held_by_pacing", c.held_by_pacing.to_string()),
                ("after_calls_stopped", c.after_stop.to_string()),
                ("nothing_to_read", c.empty.to_string()),
                ("rejected", c.rejected.to_string()),
                ("failed", c.failed.to_string()),
                ("calibration_share", s.calibration_share.to_string()),
                ("calibration_pairs", c.calibration_pairs.to_string()),
                ("calls", self.caller.calls().to_string()),
                ("input_tokens", input_tokens.to_string()),
                ("output_tokens", output_tokens.to_string()),
            ],
        );
        if let Some(stop) = self.caller.stopped() {
            let why = stop.describe();
            self.journal.warn(
                "finished early: calls stopped",
                &[
                    ("why", why),
                    ("sampled_not_judged", c.after_stop.to_string()),
                ],
            );
        }
        let mut metrics = vec![
            Metric {
                name: "judge_judged".to_string(),
                value: c.judged as f64,
                description: format!(
                    "Interactions without explicit feedback that the model rated ({} of {} \
                     without explicit feedback; sample_rate {}, {})",
                    c.judged,
                    c.unrated,
                    s.sample_rate,
                    self.pacing.describe()
                ),
            },
            Metric {
                name: "judge_skipped_budget".to_string(),
                value: skipped_budget as f64,
                description: format!(
                    "Sampled interactions not rated to stay within the budget ({} held back \
                     by pacing, {} after calls stopped)",
                    c.held_by_pacing, c.after_stop
                ),
            },
            Metric {
                name: "judge_negative_share".to_string(),
                value: reverie_rule_sdk::finding::ratio(c.negative, c.judged),
                description: format!(
                    "Share of judged interactions the model rated negative ({} of {})",
                    c.negative, c.judged
                ),
            },
        ];
        if c.calibration_pairs >= MIN_CALIBRATION_PAIRS {
            metrics.push(Metric {
                name: "judge_agreement_with_explicit".to_string(),
                value: reverie_rule_sdk::finding::ratio(c.calibration_agreed, c.calibration_pairs),
                description: format!(
                    "Share of explicitly rated interactions, judged for calibration, where the \
                     model's verdict (negative or not) matched people's ({} of {})",
                    c.calibration_agreed, c.calibration_pairs
                ),
            });
        }
        Findings {
            patterns: Vec::new(),
            suggestions: Vec::new(),
            metrics,
        }
    }
}

impl Rule for LlmJudge {
    fn info() -> RuleInfo {
        let spec = |name: &str, description: &str, default: &str| SettingSpec {
            name: name.to_string(),
            description: description.to_string(),
            default_value: Some(default.to_string()),
        };
        RuleInfo {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Asks a language model whether each interaction without explicit \
                          feedback went well, and returns its verdict as inferred feedback with \
                          a one-sentence reason; samples within the budget and measures \
                          agreement with people's ratings."
                .to_string(),
            stages: vec![Stage::Detect],
            inputs: Inputs::MESSAGES | Inputs::TOOL_CALLS,
            settings: vec![
                spec(
                    "sample_rate",
                    "Share [0, 1] of interactions without explicit feedback to judge, chosen by \
                     a hash of the id",
                    "1",
                ),
                spec(
                    "calibration_share",
                    "Share [0, 1] of explicitly rated interactions judged to measure agreement \
                     with people (no feedback is returned for them)",
                    "0.1",
                ),
                spec(
                    "max_transcript_chars",
                    "Longest transcript sent per interaction (200 to 100000 characters); a \
                     longer one keeps its start and end",
                    "3000",
                ),
                spec(
                    "max_output_tokens",
                    "Most tokens the model may answer with (16 to 4096)",
                    "120",
                ),
                spec(
                    "log_verdicts",
                    "true: one debug line per verdict in the run log (`verdict`, with the \
                     interaction, the rating and whether it was a calibration); raise the \
                     rule's max_log_lines to keep them all",
                    "false",
                ),
            ],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(Self {
            settings: Settings::from_context(&context)?,
            prompt: Template::parse("prompts/judge.md", verdict::PROMPT)?,
            pacing: Pacing::from_context(&context),
            caller: Caller::default(),
            journal: Journal::default(),
            calls_at_start: None,
            stop_logged: false,
            counts: Counts::default(),
        })
    }

    fn detect(&mut self, interactions: Vec<Interaction>) -> Result<Vec<InferredFeedback>, String> {
        let mut out = Vec::new();
        for interaction in &interactions {
            self.counts.seen += 1;
            let Some(purpose) = self.purpose(interaction) else {
                continue;
            };
            if !transcript::has_content(interaction) {
                self.counts.empty += 1;
                continue;
            }
            let rating = purpose == Purpose::Rate;
            if self.caller.stopped().is_some() {
                if rating {
                    self.counts.after_stop += 1;
                }
                continue;
            }
            if !self.paced(interaction.timestamp_ms) {
                if rating {
                    self.counts.held_by_pacing += 1;
                }
                continue;
            }
            let verdict = self.judge(interaction);
            if self.settings.log_verdicts
                && let Ok(v) = &verdict
            {
                let rating = if v.rating == Rating::Negative {
                    "negative"
                } else {
                    "positive"
                };
                let purpose = if purpose == Purpose::Rate {
                    "rate"
                } else {
                    "calibrate"
                };
                reverie_rule_sdk::log::debug(
                    "verdict",
                    &[
                        ("interaction", interaction.id.as_str()),
                        ("rating", rating),
                        ("purpose", purpose),
                    ],
                );
            }
            match (verdict, purpose) {
                (Ok(v), Purpose::Rate) => {
                    self.counts.judged += 1;
                    if v.rating == Rating::Negative {
                        self.counts.negative += 1;
                    }
                    out.push(InferredFeedback {
                        interaction_id: interaction.id.clone(),
                        rating: v.rating,
                        reason: format!("judged: {}", v.reason),
                    });
                }
                (Ok(v), Purpose::Calibrate(explicit)) => {
                    self.counts.calibration_pairs += 1;
                    let said_negative = v.rating == Rating::Negative;
                    if said_negative == (explicit == Rating::Negative) {
                        self.counts.calibration_agreed += 1;
                    }
                }
                (Err(Miss::Stopped), _) => {
                    if rating {
                        self.counts.after_stop += 1;
                    }
                    self.log_stop();
                }
                (Err(Miss::Failed), _) => {
                    self.counts.failed += 1;
                    self.log_stop();
                }
                (Err(Miss::Rejected), _) => self.counts.rejected += 1,
            }
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Findings, String> {
        Ok(self.findings())
    }
}

reverie_rule_sdk::export_rule!(LlmJudge);

#[cfg(test)]
mod tests;
