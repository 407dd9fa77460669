//! Rules in Python and JavaScript, with the real binary and the real toolchains: `reverie rule
//! new --lang python|js` makes the rule of `examples/rules/` (checked file by file), `rule build`
//! builds it with componentize-py or componentize-js and checks it, its own `rule test` passes,
//! and `dream --rule` reports its pattern. Then a bug is put in it, as an author would: a
//! Python exception reaches the report with its traceback, a JavaScript `Error` with its text
//! and stack, and a rule that allocates past its cap is `memory_limit` in both languages. The
//! Rust example of `examples/rules/` is built and tested beside them.
//!
//! The toolchains come from PyPI and npm through `tests/toolchains/setup.sh`, into
//! `~/.cache/reverie/toolchains` (or `$REVERIE_TOOLCHAINS`), or wherever
//! `REVERIE_COMPONENTIZE_PY` / `REVERIE_COMPONENTIZE_JS` point. Without them these tests say so
//! and pass, unless `REVERIE_REQUIRE_TOOLCHAINS=1` (CI sets it): then they fail, naming the
//! script. An 18 MB Python or 12 MB JavaScript component takes ~20 s of CPU to compile, so
//! every command of a test shares one compile cache and each component is compiled once.

use std::path::{Path, PathBuf};

use reverie::authoring::toolchain::COMPONENTIZE_PY;
use serde_json::Value;

use crate::common::server::{Finished, run};
use crate::common::{assert_failed, assert_ok, pattern, reverie, workspace_root};

/// A rule language other than Rust, and where its build tool is.
#[derive(Clone, Copy)]
enum Lang {
    Python,
    Js,
}

impl Lang {
    fn flag(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    fn tool(self) -> &'static str {
        match self {
            Lang::Python => "componentize-py",
            Lang::Js => "componentize-js",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Lang::Python => "REVERIE_COMPONENTIZE_PY",
            Lang::Js => "REVERIE_COMPONENTIZE_JS",
        }
    }

    /// Where `setup.sh` installs the tool when `REVERIE_TOOLCHAINS` is not set.
    fn default_install(self, root: &Path) -> PathBuf {
        match self {
            Lang::Python => root.join("python/bin/componentize-py"),
            Lang::Js => root.join("js/node_modules/.bin/componentize-js"),
        }
    }

    /// The build tool, or `None` (after saying so) when it is not installed and not required.
    fn toolchain(self) -> Option<PathBuf> {
        let named = std::env::var_os(self.env()).map(PathBuf::from);
        // As setup.sh chooses its folder.
        let root = match std::env::var_os("REVERIE_TOOLCHAINS") {
            Some(root) => Some(PathBuf::from(root)),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|cache| cache.join("reverie/toolchains")),
        };
        let tool = named.or_else(|| root.map(|r| self.default_install(&r)));
        if let Some(tool) = tool.filter(|t| t.is_file()) {
            return Some(tool);
        }
        let message = format!(
            "{} is not installed: run `eval \"$(tests/toolchains/setup.sh)\"` (it installs \
             componentize-py from PyPI and componentize-js from npm into ~/.cache/reverie/toolchains)",
            self.tool()
        );
        assert!(
            std::env::var("REVERIE_REQUIRE_TOOLCHAINS").as_deref() != Ok("1"),
            "{message} (REVERIE_REQUIRE_TOOLCHAINS=1)"
        );
        eprintln!("skipped: {message}");
        None
    }
}

/// One compile cache for every command of these tests and the servers they install into: each
/// component is compiled once, by `rule build`, and loaded from here by `rule test`, `dream`
/// and `reverie serve`. The least recently used artefacts go past 512 MiB, so it stays bounded
/// across runs.
fn cache() -> PathBuf {
    crate::common::server::shared_cache()
}

fn rule_new(lang: Lang, parent: &Path) -> PathBuf {
    let made = run(reverie()
        .args([
            "rule",
            "new",
            "failing-tools",
            "--lang",
            lang.flag(),
            "--dir",
        ])
        .arg(parent));
    assert!(made.status.success(), "{}", made.stderr);
    parent.join("failing-tools")
}

fn rule_build(lang: Lang, tool: &Path, dir: &Path) -> Finished {
    run(reverie()
        .args(["rule", "build"])
        .arg(dir)
        .arg("--cache-dir")
        .arg(cache())
        .env(lang.env(), tool))
}

fn rule_test(component: &Path, fixtures: &Path) -> Finished {
    run(reverie()
        .args(["rule", "test"])
        .arg(component)
        .arg("--fixtures")
        .arg(fixtures)
        .arg("--cache-dir")
        .arg(cache()))
}

/// `reverie dream --rule component` over `interactions`, as JSON.
fn dream(component: &Path, interactions: &Path) -> Value {
    let dream = run(reverie()
        .args([
            "dream",
            "--format",
            "json",
            "--no-progress",
            "--interactions",
        ])
        .arg(interactions)
        .arg("--rule")
        .arg(component)
        .arg("--cache-dir")
        .arg(cache()));
    assert!(dream.status.success(), "{}", dream.stderr);
    serde_json::from_str(&dream.stdout).expect("a JSON report")
}

/// Every file under `dir`, by its path inside it, with its text.
fn files(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read a folder").flatten() {
            let path = entry.path();
            let name = path
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            // What a build leaves is not part of the rule.
            if [
                "dist",
                "target",
                "node_modules",
                "__pycache__",
                "Cargo.lock",
            ]
            .contains(&name.as_str())
            {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push((name, std::fs::read_to_string(&path).expect("read a file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `rule new failing-tools` makes exactly `examples/rules/<folder>`, but for `differs`.
fn assert_example_is_the_scaffold(made: &Path, folder: &str, lang: &str) {
    let example = workspace_root().join("examples/rules").join(folder);
    let (made, example) = (files(made), files(&example));
    let names = |f: &[(String, String)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&made),
        names(&example),
        "examples/rules/{folder} does not hold the files `reverie rule new failing-tools --lang {lang}` makes: make it again"
    );
    for ((name, made), (_, example)) in made.iter().zip(&example) {
        // The Rust example depends on the SDK by a path relative to the checkout.
        let same = |a: &str, b: &str| {
            a.lines()
                .zip(b.lines())
                .all(|(a, b)| a == b || a.starts_with("reverie-rule-sdk = { path"))
                && a.lines().count() == b.lines().count()
        };
        assert!(
            same(made, example),
            "examples/rules/{folder}/{name} differs from what `reverie rule new failing-tools --lang {lang}` makes: make it again"
        );
    }
}

/// The fixtures' interactions with every call to `lookup_order` a call to `tool` instead.
fn interactions_calling(dir: &Path, tool: &str) -> PathBuf {
    let text = std::fs::read_to_string(dir.join("fixtures/interactions.jsonl"))
        .expect("read the fixtures");
    let path = dir.join(format!("{tool}.jsonl"));
    std::fs::write(&path, text.replace("lookup_order", tool)).expect("write the interactions");
    path
}

/// Replace `old` (which must be there) in the rule's file `name`.
fn edit(dir: &Path, name: &str, old: &str, new: &str) {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).expect("read the rule");
    assert!(text.contains(old), "{name} no longer holds {old:?}");
    std::fs::write(&path, text.replacen(old, new, 1)).expect("write the rule");
}

/// Scaffold, build, test, dream, and install on a server for one agent; returns the rule's
/// folder and component.
fn made_built_tested_and_dreamt(lang: Lang, tool: &Path, work: &Path) -> (PathBuf, PathBuf) {
    let dir = rule_new(lang, work);
    assert_example_is_the_scaffold(&dir, lang.flag(), lang.flag());
    for file in ["README.md", "wit/rules.wit", "fixtures/expected.json"] {
        assert!(dir.join(file).is_file(), "rule new made no {file}");
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("README");
    assert!(
        readme.contains(&format!("{} ", lang.tool()))
            && readme.contains("-o dist/failing-tools.wasm"),
        "the README gives no build command:\n{readme}"
    );

    let built = rule_build(lang, tool, &dir);
    assert!(built.status.success(), "{}\n{}", built.stdout, built.stderr);
    assert!(
        built.stdout.contains("loads as a dream loads it"),
        "{}",
        built.stdout
    );
    let component = dir.join("dist/failing-tools.wasm");
    assert!(
        component.is_file(),
        "no component at {}",
        component.display()
    );

    let passed = rule_test(&component, &dir.join("fixtures"));
    assert!(
        passed.status.success(),
        "{}\n{}",
        passed.stdout,
        passed.stderr
    );
    assert!(passed.stdout.contains("pass:"), "{}", passed.stdout);
    // The default memory cap (128 MiB) holds the language's runtime with room to spare.
    assert!(passed.stdout.contains("memory"), "{}", passed.stdout);

    let report = dream(&component, &dir.join("fixtures/interactions.jsonl"));
    assert_ok(&report, "failing-tools");
    let found = pattern(&report, "failing-tools/lookup_order")
        .unwrap_or_else(|| panic!("no failing-tools/lookup_order in {:#}", report["problems"]));
    assert_eq!(found["occurrences"], 2, "{found:#}");

    // On a server: installed, given to one agent, run by that agent's dreams alone.
    crate::installed::an_agent_dreams_with_the_installed_rule(
        &component,
        "failing-tools",
        "failing-tools/lookup_order",
        &dir.join("fixtures"),
    );
    (dir, component)
}

#[test]
fn a_python_rule_is_made_built_tested_and_run_and_its_exceptions_keep_their_traceback() {
    let Some(tool) = Lang::Python.toolchain() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (dir, _) = made_built_tested_and_dreamt(Lang::Python, &tool, work.path());

    // A bug in `analyse`, and a rule that keeps more than it may.
    edit(
        &dir,
        "rule.py",
        "                if call.error is None:\n",
        "                if call.name == \"refund\":\n                    raise LookupError(f\"no policy for {call.name}\")\n                if call.name == \"export_all\":\n                    kept = [bytearray(8 << 20) for _ in range(1000)]\n                if call.error is None:\n",
    );
    let built = rule_build(Lang::Python, &tool, &dir);
    assert!(built.status.success(), "{}\n{}", built.stdout, built.stderr);
    let component = dir.join("dist/failing-tools.wasm");

    // Its test fails, showing the traceback: the exception, and the line of `analyse`.
    let (refund, export_all) = (
        interactions_calling(&dir, "refund"),
        interactions_calling(&dir, "export_all"),
    );
    let fixtures = dir.join("fixtures");
    std::fs::copy(&refund, fixtures.join("interactions.jsonl"))
        .expect("use the refund interactions");
    let failed = rule_test(&component, &fixtures);
    assert!(!failed.status.success(), "{}", failed.stdout);
    assert!(
        failed
            .stdout
            .contains("the rule failed (rule_error): Traceback (most recent call last):")
            && failed.stdout.contains("in analyse")
            && failed.stdout.contains("LookupError: no policy for refund"),
        "{}",
        failed.stdout
    );

    let report = dream(&component, &export_all);
    let message = assert_failed(&report, "failing-tools", "memory_limit");
    assert!(message.contains("128 MiB"), "{message}");
}

#[test]
fn a_javascript_rule_is_made_built_tested_and_run_and_its_errors_arrive_as_text() {
    let Some(tool) = Lang::Js.toolchain() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let (dir, _) = made_built_tested_and_dreamt(Lang::Js, &tool, work.path());

    // A thrown `Error` in `analyse`, and a rule that keeps more than it may.
    edit(
        &dir,
        "rule.js",
        "        // An absent `option` is `undefined`.\n",
        "        if (call.name === 'refund') throw new Error(`no policy for ${call.name}`);\n        if (call.name === 'export_all') {\n          const kept = [];\n          for (;;) kept.push(new Uint8Array(8 << 20));\n        }\n",
    );
    let built = rule_build(Lang::Js, &tool, &dir);
    assert!(built.status.success(), "{}\n{}", built.stdout, built.stderr);
    let component = dir.join("dist/failing-tools.wasm");

    let report = dream(&component, &interactions_calling(&dir, "refund"));
    let message = assert_failed(&report, "failing-tools", "rule_error");
    assert!(
        message.starts_with("Error: no policy for refund") && message.contains("rule.js:"),
        "the error's text and its stack: {message}"
    );
    assert!(!message.contains("[object]"), "{message}");

    let report = dream(&component, &interactions_calling(&dir, "export_all"));
    let message = assert_failed(&report, "failing-tools", "memory_limit");
    assert!(message.contains("128 MiB"), "{message}");
}

#[test]
fn the_rust_example_is_the_scaffold_and_passes_its_test() {
    let work = tempfile::tempdir().expect("tempdir");
    let made = run(reverie()
        .args(["rule", "new", "failing-tools", "--dir"])
        .arg(work.path())
        .arg("--sdk")
        .arg(workspace_root().join("plugins/sdk")));
    assert!(made.status.success(), "{}", made.stderr);
    let dir = work.path().join("failing-tools");
    assert_example_is_the_scaffold(&dir, "rust", "rust");

    // Built where it was made (the same files as the example, but for the SDK's path), so
    // that the build leaves nothing in the checkout; beside the authoring test's rule.
    let target = workspace_root().join("target/authoring");
    let built = run(reverie()
        .args(["rule", "build"])
        .arg(&dir)
        .arg("--cache-dir")
        .arg(cache())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET"));
    assert!(built.status.success(), "{}\n{}", built.stdout, built.stderr);
    let component = target.join("wasm32-wasip2/release/failing_tools.wasm");
    let passed = rule_test(&component, &dir.join("fixtures"));
    assert!(
        passed.status.success(),
        "{}\n{}",
        passed.stdout,
        passed.stderr
    );
}

#[test]
fn a_missing_build_tool_is_named_with_how_to_install_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let pip = format!("pip install componentize-py=={COMPONENTIZE_PY}");
    for (lang, install) in [(Lang::Python, pip.as_str()), (Lang::Js, "npm install")] {
        let parent = work.path().join(lang.flag());
        std::fs::create_dir(&parent).expect("mkdir");
        let dir = rule_new(lang, &parent);
        let failed = run(reverie()
            .args(["rule", "build"])
            .arg(&dir)
            .env_remove(lang.env())
            .env("PATH", &empty));
        assert!(!failed.status.success(), "{}", failed.stdout);
        for words in [
            lang.tool(),
            install,
            "tests/toolchains/setup.sh",
            lang.env(),
        ] {
            assert!(
                failed.stderr.contains(words),
                "no {words:?} in:\n{}",
                failed.stderr
            );
        }
    }

    // A folder that holds no rule says what a rule's folder holds.
    let nothing = run(reverie().args(["rule", "build"]).arg(&empty));
    assert!(!nothing.status.success());
    assert!(
        nothing.stderr.contains("rule.py") && nothing.stderr.contains("package.json"),
        "{}",
        nothing.stderr
    );
}
