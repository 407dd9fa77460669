//! Rules as a product for their authors: `reverie rule new`, `build` and `test`.
//!
//! It owns the scaffold of a new rule ([`scaffold`]), building a rule crate
//! into a component and checking that component against what this host
//! accepts ([`build`]), and judging a test run ([`check`]): the findings
//! against the fixtures' expectations, and each call's cost against the
//! production limits. Running the rule is the dream's own pipeline (the CLI
//! calls `cycle::run`), so a rule passes its test the way it will run.
//!
//! It must not touch the store or the server: a rule author works offline.

pub mod check;
pub mod scaffold;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::plugins::{RuleFailure, Runtime};

/// Why a rule could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "{}: no Cargo.toml here: run `reverie rule build` in a rule's folder (or name it)",
        .0.display()
    )]
    NotARule(PathBuf),
    #[error("cannot run cargo (is Rust installed? https://rustup.rs): {0}")]
    NoCargo(std::io::Error),
    #[error(
        "cargo could not build the rule (see its output above); if it says the target is missing, run `rustup target add wasm32-wasip2`"
    )]
    Cargo,
    #[error("cargo built nothing at {}: is the crate's `[lib] crate-type` `cdylib`?", .0.display())]
    NoComponent(PathBuf),
    #[error("{path}: {1}", path = .0.display())]
    Refused(PathBuf, RuleFailure),
}

/// The crate's name as cargo names its artefact: `my-rule` → `my_rule`.
pub fn artefact_name(crate_name: &str) -> String {
    crate_name.replace('-', "_")
}

/// Build the rule crate in `dir` for wasm32-wasip2 (release) with cargo, and
/// return the component's path. [`check_component`] then checks it.
pub fn build(dir: &Path) -> Result<PathBuf, BuildError> {
    let manifest = dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|_| BuildError::NotARule(dir.to_path_buf()))?;
    let name = package_name(&text).ok_or_else(|| BuildError::NotARule(dir.to_path_buf()))?;
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(&manifest)
        .status()
        .map_err(BuildError::NoCargo)?;
    if !status.success() {
        return Err(BuildError::Cargo);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    let component = target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", artefact_name(&name)));
    if !component.is_file() {
        return Err(BuildError::NoComponent(component));
    }
    Ok(component)
}

/// Load `component` as a dream would (imports, contract, compile, `info()`).
pub fn check_component(component: &Path, runtime: &Runtime) -> Result<(), BuildError> {
    let source = crate::config::RuleSource::Path(component.to_path_buf());
    runtime
        .load_source(&source, false)
        .map(|_| ())
        .map_err(|e| BuildError::Refused(component.to_path_buf(), e))
}

/// `name = "…"` of the `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let value: toml::Value = toml::from_str(manifest).ok()?;
    value
        .get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}
