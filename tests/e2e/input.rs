//! Bad input, as an operator meets it: a malformed line stops the run with a message naming
//! the file, the line and the field, unless `--skip-invalid` is given, in which case the line is
//! counted in the report.

use serde_json::Value;

use crate::common::{Dataset, Dream, STANDARD_INTERACTIONS, feedback, interaction};

/// The standard interactions with line `line` (1-based) replaced by `edit`ed JSON.
fn interactions_with(line: usize, edit: impl Fn(&mut Value)) -> Vec<String> {
    (1..=STANDARD_INTERACTIONS)
        .map(|n| {
            let mut value = interaction(n);
            if n == line {
                edit(&mut value);
            }
            value.to_string()
        })
        .collect()
}

fn standard_feedback() -> Vec<String> {
    (1..=STANDARD_INTERACTIONS)
        .filter_map(feedback)
        .map(|f| f.to_string())
        .collect()
}

fn assert_names(stderr: &str, what: &[&str]) {
    for needle in what {
        assert!(
            stderr.contains(needle),
            "the error should name {needle:?}; stderr:\n{stderr}"
        );
    }
}

#[test]
fn a_timestamp_that_is_a_number_names_the_file_line_and_field() {
    let data = Dataset::from_lines(
        &interactions_with(3, |v| v["timestamp"] = 42.into()),
        &standard_feedback(),
    );

    let stderr = Dream::new(&data).fails();

    assert_names(
        &stderr,
        &[
            &data.interactions.display().to_string(),
            "line 3",
            "timestamp",
        ],
    );
}

#[test]
fn an_interaction_without_messages_names_the_file_line_and_field() {
    let data = Dataset::from_lines(
        &interactions_with(3, |v| {
            v.as_object_mut()
                .expect("an interaction is an object")
                .remove("messages");
        }),
        &standard_feedback(),
    );

    let stderr = Dream::new(&data).fails();

    assert_names(
        &stderr,
        &[
            &data.interactions.display().to_string(),
            "line 3",
            "messages",
        ],
    );
}

#[test]
fn skip_invalid_counts_the_bad_line_and_reports_the_rest() {
    let data = Dataset::from_lines(
        &interactions_with(3, |v| v["timestamp"] = 42.into()),
        &standard_feedback(),
    );

    let report = Dream::new(&data).arg("--skip-invalid").report();

    assert_eq!(
        report["window"]["skipped_lines"].as_u64(),
        Some(1),
        "window: {:#}",
        report["window"]
    );
    assert_eq!(
        report["window"]["interactions"].as_u64(),
        Some(STANDARD_INTERACTIONS as u64 - 1),
        "window: {:#}",
        report["window"]
    );
}

#[test]
fn a_rating_outside_the_scale_names_the_feedback_file_line_and_field() {
    let mut feedback = standard_feedback();
    let mut bad: Value = serde_json::from_str(&feedback[1]).expect("feedback lines are JSON");
    bad["rating"] = "great".into();
    feedback[1] = bad.to_string();
    let interactions: Vec<String> = (1..=STANDARD_INTERACTIONS)
        .map(|n| interaction(n).to_string())
        .collect();
    let data = Dataset::from_lines(&interactions, &feedback);

    let stderr = Dream::new(&data).fails();

    assert_names(
        &stderr,
        &[&data.feedback.display().to_string(), "line 2", "rating"],
    );
}
