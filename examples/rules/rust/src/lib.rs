//! `failing-tools`: a reverie rule.
//!
//! As made by `reverie rule new`, it finds the tools whose calls fail, one pattern per tool,
//! from the structure of the log alone (a tool call with an error), never from the words of
//! messages. Change it into your own: keep `info()` honest about the inputs it reads, give every
//! pattern a stable key, and list every interaction that shows it.

use std::collections::BTreeMap;

use reverie_rule_sdk::{
    Chunk, CycleContext, Findings, Inputs, Pattern, Rule, RuleInfo, SettingSpec, Severity, Stage,
    export_rule, setting_or,
};

pub struct RuleFailingTools {
    /// A tool is reported once this many interactions show its calls failing.
    min_occurrences: u32,
    /// Per tool, the interactions where a call failed, in window order.
    failing: BTreeMap<String, Vec<String>>,
}

impl Rule for RuleFailingTools {
    fn info() -> RuleInfo {
        RuleInfo {
            name: "failing-tools".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Tools whose calls fail, one pattern per tool.".into(),
            stages: vec![Stage::Analyse],
            // Only tool calls are copied into the sandbox: declare no more than you read.
            inputs: Inputs::TOOL_CALLS,
            settings: vec![SettingSpec {
                name: "min_occurrences".into(),
                description: "Report a tool once this many interactions show it failing (default 1).".into(),
                default_value: Some("1".into()),
            }],
        }
    }

    fn new(context: CycleContext) -> Result<Self, String> {
        Ok(Self {
            min_occurrences: setting_or(&context, "min_occurrences", 1u32)?,
            failing: BTreeMap::new(),
        })
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        for interaction in &chunk.interactions {
            for call in interaction.tool_calls.iter().filter(|c| c.error.is_some()) {
                let ids = self.failing.entry(call.name.clone()).or_default();
                if ids.last() != Some(&interaction.id) {
                    ids.push(interaction.id.clone());
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let patterns = self
            .failing
            .iter()
            .filter(|(_, ids)| ids.len() as u32 >= self.min_occurrences)
            .map(|(tool, ids)| Pattern {
                key: format!("failing-tools/{tool}"),
                title: format!("`{tool}` calls fail"),
                description: format!(
                    "{} interactions had a `{tool}` call that returned an error, e.g. {}.",
                    ids.len(),
                    ids[0]
                ),
                severity: Severity::Medium,
                occurrences: ids.len() as u32,
                evidence: ids.iter().take(reverie_rule_sdk::MAX_EVIDENCE).cloned().collect(),
            })
            .collect();
        Ok(Findings {
            patterns,
            suggestions: vec![],
            metrics: vec![],
        })
    }
}

export_rule!(RuleFailingTools);
