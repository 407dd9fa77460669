//! Builds the built-in rules (`plugins/*`) as wasm32-wasip2 components so that the
//! `reverie` binary ships them inside itself and `cargo run` stays one command.
//!
//! The guest build runs a nested cargo with its own target directory (so it never
//! waits on the host build's lock) and without the host's `RUSTFLAGS`-style
//! variables (they are for the host target, not for wasm). rustup's auto-install
//! may be off, so a missing `wasm32-wasip2` target is added here.

use std::path::PathBuf;
use std::process::Command;

/// Built-in rules: crate name and the name the config uses. Adding a crate under
/// plugins/ without listing it here leaves it unshipped, so keep the list exact.
/// In the order a config without `[[rules]]` runs them. The order names problems
/// (`merge`): rules whose keys say what went wrong structurally (tool and error
/// class, the agent's way of calling tools, correction kind) come first, then
/// the association of behaviours with ratings, then themes of comments.
const BUILTIN_RULES: &[&str] = &[
    "tool-failures",
    "retry-loops",
    "made-up-ids",
    "unconfirmed-actions",
    "corrections",
    "outcome-drivers",
    "feedback-themes",
];

/// Built-in rules that call a language model, built against `llm-rule-world`
/// (the SDK's `llm` feature) in a cargo run of their own, so that the feature
/// does not reach the rules above. A crate listed in both lists ships twice:
/// its plain build, and the build the host takes when the rule has a grant.
/// (crate, extra cargo features)
const LLM_BUILDS: &[(&str, &str)] = &[
    ("feedback-themes", "feedback-themes/llm"),
    ("llm-judge", ""),
    ("llm-reflector", ""),
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    let target_dir = workspace.join("target").join("guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    println!("cargo:rerun-if-changed={}", workspace.join("wit").display());
    // A directory here is scanned recursively by cargo.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("plugins").display()
    );

    ensure_wasm_target();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let plain = build_rules(&cargo, &workspace, &target_dir, BUILTIN_RULES, "");
    let mut with_model = Vec::new();
    if !LLM_BUILDS.is_empty() {
        let crates: Vec<&str> = LLM_BUILDS.iter().map(|(c, _)| *c).collect();
        let features: Vec<&str> = LLM_BUILDS
            .iter()
            .filter(|(_, f)| !f.is_empty())
            .map(|(_, f)| *f)
            .collect();
        // Copy the plain builds out first: a crate in both lists is rebuilt
        // under the same file name with the model.
        with_model = build_rules(
            &cargo,
            &workspace,
            &target_dir,
            &crates,
            &features.join(","),
        );
    }
    let mut consts = String::new();
    consts
        .push_str("/// Built-in rules compiled into the binary: (config name, component bytes).\n");
    consts.push_str("pub const BUILTIN_RULES: &[(&str, &[u8])] = &[\n");
    for (rule, bytes) in &plain {
        let file = out_dir.join(format!("{rule}.wasm"));
        std::fs::write(&file, bytes).expect("copy a built rule");
        consts.push_str(&format!(
            "    ({rule:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    consts.push_str("];\n");
    consts.push_str(
        "/// Built-in rules built to call a language model (loaded only with a grant).\n",
    );
    consts.push_str("pub const LLM_BUILDS: &[(&str, &[u8])] = &[\n");
    for (rule, bytes) in &with_model {
        let file = out_dir.join(format!("{rule}.llm.wasm"));
        std::fs::write(&file, bytes).expect("copy a built rule");
        consts.push_str(&format!(
            "    ({rule:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    consts.push_str("];\n");
    std::fs::write(out_dir.join("builtin_rules.rs"), consts).expect("write builtin_rules.rs");
}

/// Build `rules` for wasm32-wasip2 in one cargo run with `features`, and read
/// each component back.
fn build_rules(
    cargo: &str,
    workspace: &std::path::Path,
    target_dir: &std::path::Path,
    rules: &[&str],
    features: &str,
) -> Vec<(String, Vec<u8>)> {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
            "--target-dir",
        ])
        .arg(target_dir);
    for rule in rules {
        cmd.args(["-p", rule]);
    }
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run cargo to build the built-in rules");
    assert!(
        status.success(),
        "building the built-in rules for wasm32-wasip2 failed (see above)"
    );
    rules
        .iter()
        .map(|rule| {
            let file = target_dir
                .join("wasm32-wasip2")
                .join("guest")
                .join(format!("{}.wasm", rule.replace('-', "_")));
            let bytes = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("expected the built rule at {}: {e}", file.display()));
            (rule.to_string(), bytes)
        })
        .collect()
}

fn ensure_wasm_target() {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let installed = match &listed {
        // No rustup: assume the toolchain was set up another way.
        Err(_) => true,
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.trim() == "wasm32-wasip2"),
    };
    if !installed {
        let detail = listed
            .map(|o| format!("{} {}", o.status, String::from_utf8_lossy(&o.stderr).trim()))
            .unwrap_or_default();
        println!(
            "cargo:warning=adding the wasm32-wasip2 target with rustup (`rustup target list --installed`: {detail})"
        );
        let ok = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "the wasm32-wasip2 target is missing and `rustup target add wasm32-wasip2` failed"
        );
    }
}
