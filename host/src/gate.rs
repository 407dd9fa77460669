//! The gate's settings: what makes a suggestion *ready* rather than *needs
//! review* (`[suggestions]` in the config). The gate itself is applied by
//! `merge`; its values live here, beside nothing but the unit checks, so that
//! the config can own the section without depending on the merge.
//!
//! It must not apply the gate or read other sections.

use crate::units::bounded;

/// What makes a suggestion ready (`[suggestions]` in the config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Interactions its problem must affect.
    pub min_support: u64,
    /// Lowest confidence.
    pub min_confidence: f32,
    /// Characters the ready edits of one report may add to the prompt.
    pub max_prompt_growth: usize,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            min_support: 10,
            min_confidence: 0.5,
            max_prompt_growth: 800,
        }
    }
}

/// The `[suggestions]` section of the config file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    min_support: Option<u64>,
    min_confidence: Option<f32>,
    max_prompt_growth: Option<usize>,
}

/// The gate `file` sets, every value checked.
pub fn resolve(file: &GateFile) -> Result<Gate, String> {
    let mut gate = Gate::default();
    if let Some(n) = file.min_support {
        gate.min_support = bounded("suggestions.min_support", n, 1..=1_000_000)?;
    }
    if let Some(c) = file.min_confidence {
        gate.min_confidence = bounded("suggestions.min_confidence", c, 0.0..=1.0)?;
    }
    if let Some(n) = file.max_prompt_growth {
        gate.max_prompt_growth = bounded("suggestions.max_prompt_growth", n, 0..=100_000)?;
    }
    Ok(gate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_sets_the_gate_and_a_bad_value_names_its_key() {
        let file: GateFile =
            toml::from_str("min_support = 25\nmax_prompt_growth = 300").expect("valid TOML");
        let gate = resolve(&file).expect("valid values");
        assert_eq!(
            gate,
            Gate {
                min_support: 25,
                max_prompt_growth: 300,
                ..Gate::default()
            }
        );
        let file: GateFile = toml::from_str("min_confidence = 1.5").expect("valid TOML");
        let err = resolve(&file).expect_err("out of range");
        assert!(err.contains("suggestions.min_confidence"), "{err}");
        assert!(
            toml::from_str::<GateFile>("min_suport = 3").is_err(),
            "a typo is an error"
        );
    }
}
