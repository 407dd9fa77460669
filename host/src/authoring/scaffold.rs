//! `reverie rule new`: a rule that builds at once and passes its own test, in
//! Rust, Python or JavaScript.
//!
//! The files are templates compiled into the binary (`template/`, with
//! `template/python/` and `template/js/`), and so is the contract
//! (`wit/rules.wit`, copied into a Python or JavaScript rule, whose build tools
//! read it), so a new rule needs nothing but this binary and the language's
//! toolchain. All three templates are the same rule over the same fixtures: a
//! rule author can compare them line by line. It writes only into the new
//! rule's folder, and never over an existing one.

use std::path::{Path, PathBuf};

use super::toolchain;

/// The languages a rule can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate on the reverie rule SDK, built by cargo for wasm32-wasip2.
    Rust,
    /// A module built by componentize-py.
    Python,
    /// An ES module built by componentize-js.
    #[value(alias = "javascript")]
    Js,
}

impl Lang {
    /// The language of the rule in `dir`, by the file its build starts from:
    /// `Cargo.toml`, `rule.py` (the module name componentize-py requires), or
    /// `package.json` / `rule.js`.
    pub fn of_folder(dir: &Path) -> Option<Lang> {
        if dir.join("Cargo.toml").is_file() {
            Some(Lang::Rust)
        } else if dir.join("rule.py").is_file() {
            Some(Lang::Python)
        } else if dir.join("package.json").is_file() || dir.join("rule.js").is_file() {
            Some(Lang::Js)
        } else {
            None
        }
    }
}

/// Why a rule could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "{0:?} is not a rule name: use lowercase letters, digits and dashes, starting with a letter (e.g. `refund-eligibility`)"
    )]
    BadName(String),
    #[error("{} exists already: choose another name or folder", .0.display())]
    Exists(PathBuf),
    #[error(
        "cannot find the reverie rule SDK: pass `--sdk PATH` (the `plugins/sdk` folder of a reverie checkout)"
    )]
    NoSdk,
    #[error("{path}: {1}", path = .0.display())]
    Io(PathBuf, std::io::Error),
}

const RUST: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("template/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("template/lib.rs.tmpl")),
    ("README.md", include_str!("template/README.md.tmpl")),
];

const PYTHON: &[(&str, &str)] = &[
    ("rule.py", include_str!("template/python/rule.py.tmpl")),
    (
        "reverie_rule.py",
        include_str!("template/python/reverie_rule.py.tmpl"),
    ),
    (
        "pyproject.toml",
        include_str!("template/python/pyproject.toml.tmpl"),
    ),
    ("README.md", include_str!("template/python/README.md.tmpl")),
    (".gitignore", include_str!("template/python/gitignore.tmpl")),
    ("wit/rules.wit", WIT),
];

const JS: &[(&str, &str)] = &[
    ("rule.js", include_str!("template/js/rule.js.tmpl")),
    ("reverie.js", include_str!("template/js/reverie.js.tmpl")),
    (
        "package.json",
        include_str!("template/js/package.json.tmpl"),
    ),
    ("README.md", include_str!("template/js/README.md.tmpl")),
    (".gitignore", include_str!("template/js/gitignore.tmpl")),
    ("wit/rules.wit", WIT),
];

/// The contract, as this binary speaks it: Python and JavaScript build tools
/// generate their bindings from it at each build.
const WIT: &str = include_str!("../../../wit/rules.wit");

/// The same fixtures for every language: the same rule must find the same.
const FIXTURES: &[(&str, &str)] = &[
    (
        "fixtures/interactions.jsonl",
        include_str!("template/interactions.jsonl.tmpl"),
    ),
    (
        "fixtures/feedback.jsonl",
        include_str!("template/feedback.jsonl.tmpl"),
    ),
    (
        "fixtures/expected.json",
        include_str!("template/expected.json.tmpl"),
    ),
];

/// Write rule `name` in `lang` into `parent/name`; a Rust crate depends on the
/// SDK at `sdk` (which only Rust needs). Returns the rule's folder.
pub fn new_rule(
    name: &str,
    parent: &Path,
    lang: Lang,
    sdk: Option<&Path>,
) -> Result<PathBuf, ScaffoldError> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    let (files, sdk) = match lang {
        Lang::Rust => {
            let sdk = sdk
                .and_then(|sdk| std::fs::canonicalize(sdk).ok())
                .filter(|sdk| sdk.join("Cargo.toml").is_file())
                .ok_or(ScaffoldError::NoSdk)?;
            (RUST, sdk.display().to_string().replace('\\', "/"))
        }
        Lang::Python => (PYTHON, String::new()),
        Lang::Js => (JS, String::new()),
    };
    let camel: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    for (path, template) in files.iter().chain(FIXTURES) {
        let text = template
            .replace("__NAME__", name)
            .replace("__CRATE__", &super::artefact_name(name))
            .replace("__CAMEL__", &camel)
            .replace("__SDK__", &sdk)
            .replace("__COMPONENTIZE_PY__", toolchain::COMPONENTIZE_PY)
            .replace("__COMPONENTIZE_JS__", toolchain::COMPONENTIZE_JS)
            .replace("__PREVIEW2_SHIM__", toolchain::PREVIEW2_SHIM);
        let path = dir.join(path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|e| ScaffoldError::Io(folder.into(), e))?;
        }
        std::fs::write(&path, text).map_err(|e| ScaffoldError::Io(path.clone(), e))?;
    }
    Ok(dir)
}

/// The SDK of the reverie checkout `start` is in, if any: `plugins/sdk` in it
/// or one of its parents.
pub fn find_sdk(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join("plugins/sdk"))
        .find(|sdk| sdk.join("Cargo.toml").is_file())
}
