//! The baseline: the rule's own code called directly on reverie's parsed
//! interactions, chunk by chunk. No copy and no conversion: each message is
//! handed over as borrowed text, the least any host could do.

use std::time::Instant;

use reverie::model as domain;

use crate::Run;
use crate::data::Data;

pub fn run(data: &Data) -> Run {
    let mut run = Run::default();
    let started = Instant::now();
    let mut rule = rule::PhraseRule::new(rule::PHRASES, rule::MAX_EVIDENCE)
        .unwrap_or_else(|e| panic!("native rule: {e}"));
    run.other += started.elapsed();
    for (chunk, _feedback) in data.chunks() {
        let started = Instant::now();
        for interaction in chunk {
            for m in &interaction.messages {
                rule.message(&interaction.id, role(m.role), &m.content);
            }
        }
        run.calls += started.elapsed();
    }
    let started = Instant::now();
    run.found = rule.finish();
    run.other += started.elapsed();
    run
}

fn role(r: domain::Role) -> rule::Role {
    match r {
        domain::Role::System => rule::Role::System,
        domain::Role::User => rule::Role::User,
        domain::Role::Assistant => rule::Role::Assistant,
        domain::Role::Tool => rule::Role::Tool,
    }
}
