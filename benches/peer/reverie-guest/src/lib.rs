//! The phrase rule ([`rule::PhraseRule`]) as a reverie rule component, written
//! as a rule author would with the SDK: it declares the `analyse` stage and
//! reads only `messages`, so the host copies no tool calls or metadata into the
//! sandbox; each phrase becomes one pattern (key `peer-phrases/<index>`, the
//! phrase as title, its count as occurrences, its evidence).
//!
//! Built by `benches/peer/run.sh` for wasm32-wasip2 with the `guest` profile.

use reverie_rule_sdk::{
    Chunk, CycleContext, Findings, Inputs, Pattern, Role, Rule, RuleInfo, Severity, Stage,
};

/// The rule of one window; `None` once finished.
pub struct PeerPhrases(Option<rule::PhraseRule>);

impl Rule for PeerPhrases {
    fn info() -> RuleInfo {
        RuleInfo {
            name: "peer-phrases".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Counts user messages containing each of a fixed list of phrases \
                          (the peer benchmark's rule)."
                .into(),
            stages: vec![Stage::Analyse],
            inputs: Inputs::MESSAGES,
            settings: Vec::new(),
        }
    }

    fn new(_context: CycleContext) -> Result<Self, String> {
        rule::PhraseRule::new(rule::PHRASES, rule::MAX_EVIDENCE).map(|r| PeerPhrases(Some(r)))
    }

    fn analyse(&mut self, chunk: Chunk) -> Result<(), String> {
        let rule = self.0.as_mut().ok_or("analyse after finish")?;
        for interaction in &chunk.interactions {
            for m in &interaction.messages {
                rule.message(&interaction.id, role(m.role), &m.content);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Findings, String> {
        let rule = self.0.take().ok_or("finish called twice")?;
        let patterns = rule
            .finish()
            .into_iter()
            .enumerate()
            .map(|(i, found)| Pattern {
                key: format!("peer-phrases/{i}"),
                title: found.phrase,
                description: "User messages containing the phrase.".into(),
                severity: Severity::Low,
                occurrences: found.messages,
                evidence: found.evidence,
            })
            .collect();
        Ok(Findings {
            patterns,
            suggestions: Vec::new(),
            metrics: Vec::new(),
        })
    }
}

fn role(r: Role) -> rule::Role {
    match r {
        Role::System => rule::Role::System,
        Role::User => rule::Role::User,
        Role::Assistant => rule::Role::Assistant,
        Role::Tool => rule::Role::Tool,
    }
}

reverie_rule_sdk::export_rule!(PeerPhrases);
