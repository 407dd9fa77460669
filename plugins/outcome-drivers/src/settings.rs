//! The rule's settings: parsed strictly from the cycle context, each error
//! naming the setting, and described once for `info()`.

use reverie_rule_sdk::{CycleContext, SettingSpec, setting, setting_or};

use crate::behaviour::Escalation;

pub const DEFAULT_MIN_RATED: u64 = 30;
pub const DEFAULT_MIN_SUPPORT: u64 = 10;
pub const DEFAULT_FDR: f64 = 0.05;
pub const DEFAULT_MIN_ODDS_RATIO: f64 = 2.0;
pub const DEFAULT_MIN_OCCURRENCES: u64 = 3;
/// The longest `long_turns` an operator may set: conversations are counted
/// by length up to this many user turns (longer ones count as this long).
pub const MAX_LONG_TURNS: u32 = 100;
/// `long_turns = auto` never calls a conversation of fewer user turns long.
pub const MIN_AUTO_LONG_TURNS: u32 = 3;

/// When a conversation counts as long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LongTurns {
    /// The window's upper quartile of user turns (at least [`MIN_AUTO_LONG_TURNS`]).
    Auto,
    /// At least this many user turns.
    AtLeast(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub min_rated: u64,
    pub min_support: u64,
    pub fdr: f64,
    pub min_odds_ratio: f64,
    pub min_occurrences: u64,
    pub escalation: Escalation,
    pub long_turns: LongTurns,
}

fn at_least_one(context: &CycleContext, name: &str, default: u64) -> Result<u64, String> {
    let value: u64 = setting_or(context, name, default)?;
    if value == 0 {
        return Err(format!("setting `{name}`: must be at least 1"));
    }
    Ok(value)
}

impl Settings {
    pub fn from_context(context: &CycleContext) -> Result<Self, String> {
        let min_rated = at_least_one(context, "min_rated", DEFAULT_MIN_RATED)?;
        let min_support = at_least_one(context, "min_support", DEFAULT_MIN_SUPPORT)?;
        let min_occurrences = at_least_one(context, "min_occurrences", DEFAULT_MIN_OCCURRENCES)?;
        let fdr: f64 = setting_or(context, "fdr", DEFAULT_FDR)?;
        if !(fdr > 0.0 && fdr < 1.0) {
            return Err(format!(
                "setting `fdr`: must be a false discovery rate above 0 and below 1, got {fdr}"
            ));
        }
        let min_odds_ratio: f64 = setting_or(context, "min_odds_ratio", DEFAULT_MIN_ODDS_RATIO)?;
        if !(min_odds_ratio.is_finite() && min_odds_ratio >= 1.0) {
            return Err(format!(
                "setting `min_odds_ratio`: must be a ratio of at least 1, got {min_odds_ratio}"
            ));
        }
        let escalation = match setting(context, "escalation_tools").map(str::trim) {
            None | Some("") => Escalation::ByWords,
            Some(list) => {
                let names: Vec<String> = list.split(',').map(|n| n.trim().to_string()).collect();
                if names.iter().any(String::is_empty) {
                    return Err(format!(
                        "setting `escalation_tools`: an empty tool name in {list:?} (write names separated by commas)"
                    ));
                }
                Escalation::Named(names)
            }
        };
        let long_turns = match setting(context, "long_turns").map(str::trim) {
            None | Some("auto") => LongTurns::Auto,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LONG_TURNS).contains(&n) => LongTurns::AtLeast(n),
                _ => {
                    return Err(format!(
                        "setting `long_turns`: must be `auto` or a number of user turns from 1 to {MAX_LONG_TURNS}, got {raw:?}"
                    ));
                }
            },
        };
        Ok(Settings {
            min_rated,
            min_support,
            fdr,
            min_odds_ratio,
            min_occurrences,
            escalation,
            long_turns,
        })
    }

    /// What `info()` declares.
    pub fn specs() -> Vec<SettingSpec> {
        let spec = |name: &str, description: &str, default: String| SettingSpec {
            name: name.into(),
            description: description.into(),
            default_value: Some(default),
        };
        vec![
            spec(
                "min_rated",
                "Explicitly rated interactions the window needs for explicit ratings to decide outcomes; below it, feedback inferred by detect rules decides (and it needs as many inferred-rated ones, or the rule reports nothing).",
                DEFAULT_MIN_RATED.to_string(),
            ),
            spec(
                "min_support",
                "Rated interactions a behaviour must show, and as many that must not show it, before it is tested.",
                DEFAULT_MIN_SUPPORT.to_string(),
            ),
            spec(
                "fdr",
                "False discovery rate of the Benjamini-Hochberg control over all behaviours tested (above 0, below 1).",
                DEFAULT_FDR.to_string(),
            ),
            spec(
                "min_odds_ratio",
                "How many times the odds of a negative rating with a behaviour must be those without it before it is reported (at least 1). The odds ratio rather than the lift, which a high share of negative ratings squeezes towards 1.",
                DEFAULT_MIN_ODDS_RATIO.to_string(),
            ),
            spec(
                "min_occurrences",
                "Negatively rated interactions with a behaviour needed before it is reported.",
                DEFAULT_MIN_OCCURRENCES.to_string(),
            ),
            spec(
                "escalation_tools",
                "Comma-separated names of the tools that hand the user over to a person or another team. Empty: every tool with transfer, escalate, escalation, handoff, handover, human, agent or operator as a word of its snake_case or camelCase name.",
                String::new(),
            ),
            spec(
                "long_turns",
                "User turns from which a conversation counts as long: a number from 1 to 100, or `auto` for the window's upper quartile of user turns (at least 3).",
                "auto".into(),
            ),
        ]
    }
}
