//! The rule built with the feature `llm`, as an operator who granted it a
//! provider meets it: an online shop whose customers complain in English,
//! German and Spanish. The stand-in embedding model places a text by the
//! concepts its words name, in any of the three languages, so that "wrong
//! currency", "falsche Währung" and "moneda equivocada" point the same way
//! and other words add a little noise, as a real model's vectors would.

use super::*;
use reverie_rule_sdk::llm::testing::{embed_with, embedded, set_budget};
use reverie_rule_sdk::llm::{self, BudgetLeft, Embeddings, LlmError, Usage};

/// Words naming the same concept, one axis each.
const CONCEPTS: &[&[&str]] = &[
    &["wrong", "falsche", "falscher", "equivocada", "equivocado"],
    &["currency", "währung", "moneda"],
    &["parcel", "paket", "paquete"],
    &["late", "spät", "tarde"],
    &["address", "adresse", "dirección"],
];
/// Axes that other words fall on, by a hash of the word.
const NOISE_AXES: usize = 8;
const NOISE: f32 = 0.15;

/// The stand-in model's vector for `text`.
fn meaning(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; CONCEPTS.len() + NOISE_AXES];
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        match CONCEPTS.iter().position(|words| words.contains(&word)) {
            Some(axis) => v[axis] += 1.0,
            None => {
                let hash = word
                    .bytes()
                    .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
                v[CONCEPTS.len() + hash as usize % NOISE_AXES] += NOISE;
            }
        }
    }
    v
}

/// Install the stand-in model: a vector per text, a token per word and one more.
fn install_model() {
    embed_with(|texts| {
        Ok(Embeddings {
            vectors: texts.iter().map(|t| meaning(t)).collect(),
            usage: Usage {
                input_tokens: texts
                    .iter()
                    .map(|t| t.split_whitespace().count() as u32 + 1)
                    .sum(),
                output_tokens: 0,
            },
        })
    });
}

fn budget(calls: u32, input_tokens: u64) -> BudgetLeft {
    BudgetLeft {
        calls,
        input_tokens,
        output_tokens: 0,
        time_ms: 60_000,
    }
}

const CURRENCY_EN: &[&str] = &[
    "prices were shown in the wrong currency",
    "wrong currency on my invoice",
    "it charged me in the wrong currency",
    "the quote was in the wrong currency again",
];
const CURRENCY_DE: &[&str] = &[
    "falsche Währung auf der Rechnung",
    "Preise in falscher Währung angezeigt",
    "schon wieder die falsche Währung",
];
const CURRENCY_ES: &[&str] = &[
    "me cobraron en la moneda equivocada",
    "la factura tenía la moneda equivocada",
];
const LATE: &[&str] = &[
    "my parcel arrived two weeks late",
    "das Paket kam zwei Wochen zu spät",
    "the parcel is late again",
    "el paquete llegó muy tarde",
    "parcel came late",
    "mi paquete llegó tarde otra vez",
];
const ADDRESS: &[&str] = &["sent to the wrong address", "the wrong address was used"];

/// The shop's negative comments, interleaved as they arrive; ids say the
/// complaint and the language (`int_cur_de1`).
fn shop_feedback() -> Vec<Feedback> {
    let currency: Vec<(String, &str)> = [
        ("en", CURRENCY_EN),
        ("de", CURRENCY_DE),
        ("es", CURRENCY_ES),
    ]
    .iter()
    .flat_map(|(lang, comments)| {
        comments
            .iter()
            .enumerate()
            .map(move |(i, c)| (format!("int_cur_{lang}{i}"), *c))
    })
    .collect();
    let mut out = Vec::new();
    for i in 0..currency.len() {
        if let Some((id, c)) = currency.get(i) {
            out.push(negative(id, c));
        }
        if let Some(c) = LATE.get(i) {
            out.push(negative(&format!("int_late{i}"), c));
        }
        if let Some(c) = ADDRESS.get(i) {
            out.push(negative(&format!("int_addr{i}"), c));
        }
    }
    out
}

/// `n` comments: the shop's, again and again, each on its own interaction.
fn many(n: usize) -> Vec<Feedback> {
    let shop = shop_feedback();
    (0..n)
        .map(|i| Feedback {
            interaction_id: format!("{}_r{i}", shop[i % shop.len()].interaction_id),
            ..shop[i % shop.len()].clone()
        })
        .collect()
}

fn embeddings_line(log: &[LogLine]) -> &LogLine {
    match log.iter().find(|l| l.message == "embeddings") {
        Some(l) => l,
        None => panic!("no embeddings line in {log:?}"),
    }
}

/// Whether one reported pattern holds interactions of all three languages.
fn one_pattern_speaks_three_languages(findings: &Findings) -> bool {
    findings.patterns.iter().any(|p| {
        ["int_cur_en", "int_cur_de", "int_cur_es"]
            .iter()
            .all(|lang| p.evidence.iter().any(|id| id.starts_with(lang)))
    })
}

#[test]
fn the_same_complaint_in_three_languages_is_one_theme_keyed_by_the_most_common_ones_word() {
    install_model();
    let (findings, log) = run_logged(&[], vec![shop_feedback()]);

    let currency = pattern(&findings, "int_cur_de0");
    assert_eq!(currency.key, "feedback-themes/currency");
    assert_eq!(currency.occurrences, 9);
    let mut ids = currency.evidence.clone();
    ids.sort();
    let mut expected: Vec<String> = (0..4)
        .map(|i| format!("int_cur_en{i}"))
        .chain((0..3).map(|i| format!("int_cur_de{i}")))
        .chain((0..2).map(|i| format!("int_cur_es{i}")))
        .collect();
    expected.sort();
    assert_eq!(ids, expected);

    // The late parcels, in three languages too; the two wrong addresses
    // share "wrong" with the currency but not its meaning, and are too few.
    let late = pattern(&findings, "int_late1");
    assert_eq!(late.occurrences, 6);
    assert!(late.evidence.iter().all(|id| id.starts_with("int_late")));
    assert_eq!(findings.patterns.len(), 2, "{:?}", findings.patterns);

    let e = embeddings_line(&log);
    assert_eq!(field(e, "comments_by_meaning"), "17");
    assert_eq!(field(e, "comments_by_words"), "0");
    assert_eq!(field(e, "calls"), "1");
    assert_eq!(field(e, "stopped"), "no");
    assert_eq!(field(&log[0], "embedding_similarity"), "0.85");
}

#[test]
fn a_failing_embedding_model_leaves_the_window_to_words_and_the_log_says_why() {
    embed_with(|_| Err(LlmError::Provider("503 Service Unavailable".into())));
    let (findings, log) = run_logged(&[("min_comments", "2")], vec![shop_feedback()]);
    // By words, each language is a theme of its own.
    assert!(!findings.patterns.is_empty());
    assert!(!one_pattern_speaks_three_languages(&findings));
    let e = embeddings_line(&log);
    assert_eq!(
        field(e, "stopped"),
        "provider failed: 503 Service Unavailable"
    );
    assert_eq!(field(e, "comments_by_meaning"), "0");
    assert_eq!(field(e, "comments_by_words"), "17");
    // One call was tried, not one per comment.
    assert_eq!(embedded().len(), 1);

    // English complaints come out as the word build gives them.
    let findings = run(&[], vec![help_desk_feedback()]);
    let vpn = pattern(&findings, "int_v0");
    assert_eq!(vpn.key, "feedback-themes/vpn");
    assert_eq!(vpn.occurrences, 6);
    assert_eq!(findings.patterns.len(), 2);
}

#[test]
fn an_answer_missing_a_vector_is_not_trusted() {
    embed_with(|texts| {
        Ok(Embeddings {
            vectors: texts.iter().skip(1).map(|t| meaning(t)).collect(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 0,
            },
        })
    });
    let (findings, log) = run_logged(&[("min_comments", "2")], vec![shop_feedback()]);
    assert!(!one_pattern_speaks_three_languages(&findings));
    let e = embeddings_line(&log);
    assert_eq!(
        field(e, "stopped"),
        "malformed embeddings: 16 vectors for 17 texts"
    );
    assert_eq!(field(e, "comments_by_words"), "17");
}

#[test]
fn with_no_budget_left_no_call_is_made_and_words_group_the_window() {
    install_model();
    set_budget(budget(0, 1_000_000));
    let (findings, log) = run_logged(&[("min_comments", "2")], vec![shop_feedback()]);
    assert!(embedded().is_empty(), "the budget is asked before calling");
    assert!(!one_pattern_speaks_three_languages(&findings));
    assert_eq!(
        field(embeddings_line(&log), "stopped"),
        "budget exhausted: no calls left"
    );
}

#[test]
fn when_the_calls_run_out_mid_window_the_rest_is_grouped_by_words() {
    install_model();
    set_budget(budget(1, 1_000_000));
    let (findings, log) = run_logged(&[], vec![many(300)]);
    // The first 256 comments went in one call and were grouped by meaning.
    assert_eq!(embedded().iter().map(Vec::len).collect::<Vec<_>>(), [256]);
    assert!(one_pattern_speaks_three_languages(&findings));
    let e = embeddings_line(&log);
    assert_eq!(field(e, "comments_by_meaning"), "256");
    assert_eq!(field(e, "comments_by_words"), "44");
    assert_eq!(field(e, "calls"), "1");
    assert_eq!(field(e, "stopped"), "budget exhausted: no calls left");
    // Every comment still counts in some theme, reported or not.
    let seen = log.iter().find(|l| l.message == "feedback seen");
    assert_eq!(seen.map(|l| field(l, "comments_clustered")), Some("300"));
}

#[test]
fn input_tokens_for_part_of_a_call_embed_that_part_and_words_take_the_rest() {
    install_model();
    let texts: Vec<String> = many(300).iter().filter_map(|f| f.comment.clone()).collect();
    let first_100: u64 = texts[..100].iter().map(|t| llm::estimate_tokens(t)).sum();
    set_budget(budget(10, first_100));
    let (_, log) = run_logged(&[], vec![many(300)]);
    assert_eq!(embedded().iter().map(Vec::len).collect::<Vec<_>>(), [100]);
    let e = embeddings_line(&log);
    assert_eq!(field(e, "comments_by_meaning"), "100");
    assert_eq!(field(e, "comments_by_words"), "200");
    assert_eq!(
        field(e, "stopped"),
        "budget exhausted: input tokens for 100 of 256 comments left"
    );
}

#[test]
fn comments_go_at_most_256_to_a_call_and_the_run_log_gives_the_cost() {
    install_model();
    let feedback = many(600);
    let chunks: Vec<Vec<Feedback>> = feedback.chunks(100).map(<[_]>::to_vec).collect();
    let (_, log) = run_logged(&[], chunks);
    let calls = embedded();
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        [256, 256, 88]
    );
    // The comments as written, in order.
    let sent: Vec<&String> = calls.iter().flatten().collect();
    assert_eq!(sent.len(), 600);
    assert_eq!(sent[0], "prices were shown in the wrong currency");
    let tokens: usize = sent.iter().map(|t| t.split_whitespace().count() + 1).sum();
    let e = embeddings_line(&log);
    assert_eq!(field(e, "calls"), "3");
    assert_eq!(field(e, "input_tokens"), tokens.to_string());
}

#[test]
fn keys_stay_when_a_window_brings_other_comments_about_the_same_things() {
    install_model();
    let keys = |f: &Findings| {
        let mut k: Vec<String> = f.patterns.iter().map(|p| p.key.clone()).collect();
        k.sort();
        k
    };
    let before = run(&[], vec![shop_feedback()]);
    // The next window: some complaints are gone, others come, worded otherwise.
    let mut next: Vec<Feedback> = shop_feedback()
        .into_iter()
        .filter(|f| {
            !["int_cur_en0", "int_cur_de1", "int_late0"].contains(&f.interaction_id.as_str())
        })
        .collect();
    next.push(negative("int_n1", "checkout showed the wrong currency"));
    next.push(negative("int_n2", "Rechnung wieder in falscher Währung"));
    next.push(negative("int_n3", "otra vez la moneda equivocada"));
    next.push(negative("int_n4", "Paket viel zu spät geliefert"));
    let after = run(&[], vec![next]);
    assert_eq!(
        keys(&before),
        ["feedback-themes/currency", "feedback-themes/late"]
    );
    assert_eq!(keys(&before), keys(&after));
    assert_eq!(pattern(&after, "int_n2").key, "feedback-themes/currency");
}

#[test]
fn the_same_feedback_gives_the_same_themes_however_it_is_chunked() {
    install_model();
    let whole = run(&[], vec![many(400)]);
    let parts: Vec<Vec<Feedback>> = many(400).chunks(7).map(<[_]>::to_vec).collect();
    let chunked = run(&[], parts);
    assert!(!whole.patterns.is_empty());
    assert_eq!(format!("{whole:?}"), format!("{chunked:?}"));
}

#[test]
fn a_stricter_embedding_similarity_splits_what_the_default_joins() {
    install_model();
    // Only near-identical wordings join at 0.99: the languages part again.
    let findings = run(
        &[("embedding_similarity", "0.99"), ("min_comments", "2")],
        vec![shop_feedback()],
    );
    assert!(!one_pattern_speaks_three_languages(&findings));
    for bad in ["0", "1.5", "high"] {
        match FeedbackThemes::new(context(&[("embedding_similarity", bad)])) {
            Ok(_) => panic!("embedding_similarity = {bad} was accepted"),
            Err(e) => assert!(e.contains("`embedding_similarity`"), "{e}"),
        }
    }
}
