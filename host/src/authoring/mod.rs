//! Rules as a product for their authors: `reverie rule new`, `build` and `test`,
//! in Rust, Python and JavaScript.
//!
//! It owns the scaffold of a new rule ([`scaffold`]), building a rule into a
//! component with its language's tool ([`toolchain`]: cargo, componentize-py,
//! componentize-js) and checking that component against what this host
//! accepts ([`build`]), and judging a test run ([`check`]): the findings
//! against the fixtures' expectations, and each call's cost against the
//! production limits. Running the rule is the dream's own pipeline (the CLI
//! calls `cycle::run`), so a rule passes its test the way it will run.
//!
//! It must not touch the store or the server: a rule author works offline.

pub mod check;
pub mod scaffold;
pub mod toolchain;

use std::path::{Path, PathBuf};

pub use scaffold::Lang;

use crate::plugins::{RuleFailure, Runtime};

/// Why a rule could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "{}: no rule here (a Rust rule has Cargo.toml, a Python rule rule.py, a JavaScript rule package.json or rule.js): run `reverie rule build` in a rule's folder (or name it)",
        .0.display()
    )]
    NotARule(PathBuf),
    #[error("cannot run cargo (is Rust installed? https://rustup.rs): {0}")]
    NoCargo(std::io::Error),
    #[error(
        "cargo could not build the rule (see its output above); if it says the target is missing, run `rustup target add wasm32-wasip2`"
    )]
    Cargo,
    #[error(
        "the build made nothing at {} (for Rust: is the crate's `[lib] crate-type` `cdylib`?)",
        .0.display()
    )]
    NoComponent(PathBuf),
    #[error("{tool} is needed to build this rule and was not found: {install}")]
    MissingTool { tool: &'static str, install: String },
    #[error("cannot run {tool} at {}: {error}", .path.display())]
    ToolNotRunnable {
        tool: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{tool} ({}) could not build the rule: see its output above", .path.display())]
    ToolFailed { tool: &'static str, path: PathBuf },
    #[error("{path}: {1}", path = .0.display())]
    Io(PathBuf, std::io::Error),
    #[error("{path}: {1}", path = .0.display())]
    Refused(PathBuf, RuleFailure),
}

/// The crate's name as cargo names its artefact: `my-rule` → `my_rule`.
pub fn artefact_name(crate_name: &str) -> String {
    crate_name.replace('-', "_")
}

/// Build the rule in `dir` with its language's tool (told by its files, see
/// [`Lang::of_folder`]) and return the component's path. [`check_component`]
/// then checks it.
pub fn build(dir: &Path) -> Result<PathBuf, BuildError> {
    match Lang::of_folder(dir) {
        Some(Lang::Rust) => toolchain::build_rust(dir),
        Some(Lang::Python) => toolchain::build_python(dir),
        Some(Lang::Js) => toolchain::build_js(dir),
        None => Err(BuildError::NotARule(dir.to_path_buf())),
    }
}

/// Where `reverie rule build` puts the component of rule `name` made in `dir`
/// (for Rust, unless `CARGO_TARGET_DIR` says otherwise).
pub fn component_path(dir: &Path, lang: Lang, name: &str) -> PathBuf {
    match lang {
        Lang::Rust => dir
            .join("target/wasm32-wasip2/release")
            .join(format!("{}.wasm", artefact_name(name))),
        Lang::Python | Lang::Js => dir.join("dist").join(format!("{name}.wasm")),
    }
}

/// Load `component` as a dream would (imports, contract, compile, `info()`).
pub fn check_component(component: &Path, runtime: &Runtime) -> Result<(), BuildError> {
    let source = crate::config::RuleSource::Path(component.to_path_buf());
    runtime
        .load_source(&source, false, crate::config::Metering::default())
        .map(|_| ())
        .map_err(|e| BuildError::Refused(component.to_path_buf(), e))
}
