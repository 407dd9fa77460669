//! The rule as an operator meets it: an IT help desk whose employees leave
//! comments when the agent lets them down, and what the report and the run
//! log make of them.

use super::*;
use reverie_rule_sdk::{Feedback, Interaction};

fn context(settings: &[(&str, &str)]) -> CycleContext {
    reverie_rule_sdk::test_context(
        "You help employees with their accounts and devices.",
        settings,
    )
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

fn interaction(id: &str) -> Interaction {
    Interaction {
        id: id.to_string(),
        session_id: None,
        user_id: None,
        timestamp_ms: 0,
        config_version: None,
        messages: Vec::new(),
        tool_calls: Vec::new(),
        metadata: "{}".to_string(),
    }
}

/// Feed chunks of feedback, each with its interactions in the order their
/// ids first appear (the window's order), and return findings and log.
fn run_logged(settings: &[(&str, &str)], chunks: Vec<Vec<Feedback>>) -> (Findings, Vec<LogLine>) {
    let mut rule = match FeedbackThemes::new(context(settings)) {
        Ok(rule) => rule,
        Err(e) => panic!("settings rejected: {e}"),
    };
    for feedback in chunks {
        let mut ids: Vec<&str> = Vec::new();
        for f in &feedback {
            if !ids.contains(&f.interaction_id.as_str()) {
                ids.push(&f.interaction_id);
            }
        }
        let chunk = Chunk {
            interactions: ids.into_iter().map(interaction).collect(),
            feedback: feedback.clone(),
        };
        if let Err(e) = rule.analyse(chunk) {
            panic!("analyse failed: {e}");
        }
    }
    rule.findings_and_log()
}

fn run(settings: &[(&str, &str)], chunks: Vec<Vec<Feedback>>) -> Findings {
    run_logged(settings, chunks).0
}

const PASSWORD: &[&str] = &[
    "the password reset link never arrived",
    "reset link expired before I could use it, password still locked",
    "password reset didn't work, the link was broken",
    "never got the password reset email",
    "password reset email took an hour to arrive",
    "the reset link in the email was broken",
    "could not reset my password, the link failed",
];
const VPN: &[&str] = &[
    "vpn instructions were wrong for my mac",
    "the vpn setup steps didn't match my mac",
    "wrong vpn client for mac",
    "vpn setup guide was for windows, I have a mac",
    "vpn setup instructions outdated",
    "wrong vpn settings, setup failed",
];

fn help_desk_feedback() -> Vec<Feedback> {
    let mut out = Vec::new();
    // Interleaved, as feedback arrives: password, vpn, praise, password, ...
    for (i, password) in PASSWORD.iter().enumerate() {
        out.push(negative(&format!("int_p{i}"), password));
        if let Some(v) = VPN.get(i) {
            out.push(negative(&format!("int_v{i}"), v));
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

fn field<'a>(line: &'a LogLine, key: &str) -> &'a str {
    line.fields
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn password_and_vpn_complaints_become_two_themes_each_keyed_by_its_own_word() {
    let findings = run(&[], vec![help_desk_feedback()]);
    assert_eq!(findings.patterns.len(), 2, "{:?}", findings.patterns);

    let password = pattern(&findings, "int_p0");
    assert_eq!(password.occurrences, 7);
    assert!(password.evidence.iter().all(|id| id.starts_with("int_p")));
    let vpn = pattern(&findings, "int_v0");
    assert_eq!(vpn.occurrences, 6);
    assert!(vpn.evidence.iter().all(|id| id.starts_with("int_v")));
    // One word each, and a word of that theme only: "wrong" and "setup" are
    // common in the vpn comments, but "vpn" is in all of them and nowhere else.
    assert_eq!(vpn.key, "feedback-themes/vpn");
    assert_eq!(vpn.title, "Negative feedback about: vpn, mac, setup");
    assert!(
        ["feedback-themes/password", "feedback-themes/reset"].contains(&password.key.as_str()),
        "{}",
        password.key
    );
    // Most complaints first; one suggestion per theme, addressing it.
    assert_eq!(findings.patterns[0].key, password.key);
    assert_eq!(findings.suggestions.len(), 2);
    for (p, s) in findings.patterns.iter().zip(&findings.suggestions) {
        assert_eq!(s.addresses, vec![p.key.clone()]);
    }
}

#[test]
fn a_theme_asks_a_person_to_read_its_comments_and_proposes_no_prompt_text() {
    let findings = run(&[], vec![help_desk_feedback()]);
    for (p, s) in findings.patterns.iter().zip(&findings.suggestions) {
        let Edit::FlagForReview(note) = &s.edit else {
            panic!("a prompt edit from comment words: {:?}", s.edit);
        };
        assert!(
            note.contains(&format!("`{}`", p.key)),
            "names the theme: {note}"
        );
        assert!(note.contains("evidence"), "{note}");
        assert!(!note.chars().any(|c| c.is_ascii_digit()), "a count: {note}");
        for comment in PASSWORD.iter().chain(VPN) {
            assert!(!note.contains(comment), "quotes a comment: {note}");
        }
        assert!(s.confidence < 0.5, "a note is not a fix: {}", s.confidence);
    }
    // The description, for the reviewer, does show an example and figures.
    let vpn = pattern(&findings, "int_v0");
    assert!(
        vpn.description
            .starts_with("6 interactions drew explicit negative comments about \"vpn\""),
        "{}",
        vpn.description
    );
}

#[test]
fn a_few_new_or_reworded_comments_leave_the_keys_as_they_were() {
    let before = run(&[], vec![help_desk_feedback()]);
    // The next window overlaps: the first two complaints of each kind are
    // gone, three new ones come in, worded otherwise.
    let mut next: Vec<Feedback> = help_desk_feedback()
        .into_iter()
        .filter(|f| !["int_p0", "int_p1", "int_v0", "int_v1"].contains(&f.interaction_id.as_str()))
        .collect();
    next.push(negative(
        "int_p7",
        "reset email went to spam and the link had expired",
    ));
    next.push(negative(
        "int_v7",
        "vpn kept dropping after following the setup",
    ));
    next.push(negative(
        "int_v8",
        "the vpn profile it sent was for the old office",
    ));
    let after = run(&[], vec![next]);
    let keys = |f: &Findings| {
        let mut k: Vec<String> = f.patterns.iter().map(|p| p.key.clone()).collect();
        k.sort();
        k
    };
    assert_eq!(keys(&before), keys(&after));
}

#[test]
fn inferred_feedback_is_counted_in_the_log_but_never_clustered() {
    let mut feedback = help_desk_feedback();
    for i in 0..8 {
        feedback.push(inferred(
            &format!("int_x{i}"),
            "user said \"no, the vpn setup for mac is wrong\"",
        ));
    }
    feedback.push(inferred("int_v0", "user said \"wrong vpn again\""));
    let (findings, log) = run_logged(&[], vec![feedback]);
    let vpn = pattern(&findings, "int_v0");
    assert_eq!(vpn.occurrences, 6);
    assert!(vpn.evidence.iter().all(|id| !id.starts_with("int_x")));
    assert_eq!(findings.patterns.len(), 2);
    let seen = log.iter().find(|l| l.message == "feedback seen");
    assert_eq!(seen.map(|l| field(l, "inferred_not_clustered")), Some("9"));
    assert_eq!(seen.map(|l| field(l, "comments_clustered")), Some("13"));
    // The negative share is of explicit feedback: 13 of 20.
    let share = findings
        .metrics
        .iter()
        .find(|m| m.name == "negative_feedback_share")
        .map(|m| m.value);
    assert_eq!(share, Some(13.0 / 20.0));
}

#[test]
fn every_interaction_of_a_theme_is_evidence_in_window_order() {
    // 30 complaints about the same thing, the feedback arriving newest first.
    let comments: Vec<Feedback> = (0..30)
        .map(|i| negative(&format!("int_{i:02}"), PASSWORD[i % PASSWORD.len()]))
        .collect();
    let mut rule = match FeedbackThemes::new(context(&[])) {
        Ok(rule) => rule,
        Err(e) => panic!("{e}"),
    };
    let chunk = Chunk {
        interactions: (0..30)
            .map(|i| interaction(&format!("int_{i:02}")))
            .collect(),
        feedback: comments.into_iter().rev().collect(),
    };
    assert!(rule.analyse(chunk).is_ok());
    let (findings, _) = rule.findings_and_log();
    assert_eq!(findings.patterns.len(), 1, "{:?}", findings.patterns);
    let p = &findings.patterns[0];
    assert_eq!(p.occurrences, 30);
    let expected: Vec<String> = (0..30).map(|i| format!("int_{i:02}")).collect();
    assert_eq!(p.evidence, expected);
}

#[test]
fn rare_complaints_are_dropped_and_the_run_log_says_why() {
    let mut feedback = help_desk_feedback();
    for i in 0..4 {
        feedback.push(negative(
            &format!("int_s{i}"),
            "the printer queue kept freezing",
        ));
    }
    let (findings, log) = run_logged(&[], vec![feedback.clone()]);
    assert!(
        findings
            .patterns
            .iter()
            .all(|p| !p.evidence.contains(&"int_s0".to_string()))
    );
    let dropped = log
        .iter()
        .find(|l| l.message == "theme dropped" && field(l, "interactions") == "4");
    assert_eq!(
        dropped.map(|l| field(l, "reason")),
        Some("below min_comments (5 interactions)")
    );

    let findings = run(&[("min_comments", "4")], vec![feedback.clone()]);
    let printer = pattern(&findings, "int_s0");
    assert_eq!(printer.occurrences, 4);

    // In a window with many more complaints, four is too small a share.
    let mut big = feedback;
    for i in 0..400 {
        big.push(negative(&format!("int_b{i}"), PASSWORD[i % PASSWORD.len()]));
    }
    let (findings, log) = run_logged(&[("min_comments", "4")], vec![big]);
    assert!(
        findings
            .patterns
            .iter()
            .all(|p| !p.evidence.contains(&"int_s0".to_string()))
    );
    let dropped = log
        .iter()
        .find(|l| l.message == "theme dropped" && field(l, "interactions") == "4");
    assert_eq!(
        dropped.map(|l| field(l, "reason")),
        Some("below min_share (1.0% of explicit negative feedback)")
    );
}

#[test]
fn the_run_log_gives_settings_feedback_seen_and_themes() {
    let mut feedback = help_desk_feedback();
    feedback.push(Feedback {
        comment: None,
        ..negative("int_n0", "")
    });
    feedback.push(negative("int_n1", "no!!"));
    feedback.push(Feedback {
        rating: Rating::Neutral,
        ..negative("int_n2", "ok I guess")
    });
    let (_, log) = run_logged(&[("similarity", "0.35")], vec![feedback]);
    assert_eq!(log[0].message, "settings");
    assert_eq!(field(&log[0], "similarity"), "0.35");
    let seen = &log[1];
    assert_eq!(seen.message, "feedback seen");
    assert_eq!(
        [
            field(seen, "explicit_positive"),
            field(seen, "explicit_neutral"),
            field(seen, "explicit_negative"),
            field(seen, "negative_without_comment"),
            field(seen, "comments_without_content_words"),
            field(seen, "comments_clustered"),
        ],
        ["7", "1", "15", "1", "1", "13"]
    );
    let reported: Vec<&str> = log
        .iter()
        .filter(|l| l.message == "theme reported")
        .map(|l| field(l, "key"))
        .collect();
    assert_eq!(reported.len(), 2);
    assert!(reported.contains(&"feedback-themes/vpn"));
    assert!(log.len() <= 30);
}

#[test]
fn the_same_feedback_gives_the_same_findings_however_it_is_chunked() {
    let whole = run(&[], vec![help_desk_feedback()]);
    let again = run(&[], vec![help_desk_feedback()]);
    let parts: Vec<Vec<Feedback>> = help_desk_feedback().chunks(4).map(<[_]>::to_vec).collect();
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
    for (i, c) in PASSWORD.iter().enumerate() {
        feedback.push(negative(&format!("int_p{i}"), c));
        feedback.push(negative(&format!("int_n{i}a"), nouns[i]));
        feedback.push(negative(&format!("int_n{i}b"), moods[i]));
    }
    let findings = run(&[("max_themes", "3")], vec![feedback]);
    let password = pattern(&findings, "int_p0");
    assert_eq!(password.occurrences, 7);
    assert_eq!(password.evidence.len(), 7);
    let evicted = findings
        .metrics
        .iter()
        .find(|m| m.name == "feedback_themes_evicted")
        .map(|m| m.value);
    assert!(evicted.is_some_and(|v| v > 0.0));
}

#[test]
fn severity_follows_the_share_of_explicit_negative_feedback() {
    let findings = run(
        &[("high_share", "0.5"), ("critical_share", "0.9")],
        vec![help_desk_feedback()],
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
        ("min_share", "2"),
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
    #[cfg_attr(not(feature = "llm"), allow(unused_mut))]
    let mut expected = vec![
        "similarity",
        "merge_similarity",
        "max_themes",
        "min_comments",
        "min_share",
        "medium_share",
        "high_share",
        "critical_share",
    ];
    #[cfg(feature = "llm")]
    expected.insert(2, "embedding_similarity");
    assert_eq!(names, expected);
}

/// With the feature `llm`: grouping by meaning, and falling back to words.
#[cfg(feature = "llm")]
mod by_meaning;

/// The rule on the committed example dataset (`examples/support-bot`), with
/// its explicit feedback only: what an operator would see on day one.
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

    /// The rule's findings on this feedback, in chunks of 256 as the host sends them.
    fn themes(feedback: &[Feedback]) -> Findings {
        let context = reverie_rule_sdk::test_context("", &[]);
        let mut rule = match FeedbackThemes::new(context) {
            Ok(rule) => rule,
            Err(e) => panic!("{e}"),
        };
        for part in feedback.chunks(256) {
            let mut ids: Vec<String> = part.iter().map(|f| f.interaction_id.clone()).collect();
            ids.dedup();
            let chunk = Chunk {
                interactions: ids.iter().map(|id| interaction(id)).collect(),
                feedback: part.to_vec(),
            };
            assert!(rule.analyse(chunk).is_ok());
        }
        match rule.finish() {
            Ok(findings) => findings,
            Err(e) => panic!("{e}"),
        }
    }

    fn keys(findings: &Findings, n: usize) -> Vec<&str> {
        findings
            .patterns
            .iter()
            .take(n)
            .map(|p| p.key.as_str())
            .collect()
    }

    #[test]
    fn the_shops_recurring_complaints_are_its_top_themes_each_under_one_word() {
        let feedback = load();
        assert!(
            feedback.len() > 300,
            "example dataset missing: {} lines",
            feedback.len()
        );
        let findings = themes(&feedback);
        let top4 = keys(&findings, 4);
        // Wrong products, the wrong return window, order numbers asked twice.
        for key in [
            "feedback-themes/recommend",
            "feedback-themes/return",
            "feedback-themes/number",
        ] {
            assert!(top4.contains(&key), "{key} in the top 4: {top4:?}");
        }
        let all = keys(&findings, usize::MAX);
        assert!(
            all.iter()
                .all(|k| !k.trim_start_matches("feedback-themes/").contains('-')),
            "one word per key: {all:?}"
        );
        // One-off complaints ("too slow", "I wanted to talk to a human") stay out.
        assert!(
            all.iter()
                .all(|k| !k.contains("slow") && !k.contains("human")),
            "{all:?}"
        );
        assert!(
            findings
                .suggestions
                .iter()
                .all(|s| matches!(s.edit, Edit::FlagForReview(_)))
        );
    }

    #[test]
    fn big_themes_keep_their_key_when_the_month_is_split_other_ways() {
        // What `--previous` compares: the same mistakes, other comments.
        // Halves, thirds, odd and even lines: for each theme of 8 or more
        // interactions in one part, is its key reported in the other?
        let feedback = load();
        let n = feedback.len();
        let every = |k: usize, from: usize| -> Vec<Feedback> {
            feedback.iter().skip(from).step_by(k).cloned().collect()
        };
        let splits: Vec<(Vec<Feedback>, Vec<Feedback>)> = vec![
            (feedback[..n / 2].to_vec(), feedback[n / 2..].to_vec()),
            (every(2, 0), every(2, 1)),
            (every(3, 0), every(3, 1)),
            (
                feedback[..n / 3].to_vec(),
                feedback[n / 3..2 * n / 3].to_vec(),
            ),
            (
                feedback[n / 3..2 * n / 3].to_vec(),
                feedback[2 * n / 3..].to_vec(),
            ),
            (feedback[..n / 3].to_vec(), feedback[2 * n / 3..].to_vec()),
            (feedback[..2 * n / 3].to_vec(), feedback[n / 3..].to_vec()),
        ];
        let (mut kept, mut big) = (0, 0);
        let mut moved = Vec::new();
        for (a, b) in &splits {
            let (a, b) = (themes(a), themes(b));
            for (x, y) in [(&a, &b), (&b, &a)] {
                let other = keys(y, usize::MAX);
                for p in x.patterns.iter().filter(|p| p.occurrences >= 8) {
                    big += 1;
                    if other.contains(&p.key.as_str()) {
                        kept += 1;
                    } else {
                        moved.push(p.key.clone());
                    }
                }
            }
        }
        // Three stems per key kept two in three; one stem keeps three in four.
        assert!(big >= 40, "{big} big themes");
        assert!(
            kept * 4 >= big * 3,
            "{kept} of {big} kept their key; moved: {moved:?}"
        );
    }
}
