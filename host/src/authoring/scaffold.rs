//! `reverie rule new`: a rule crate that builds at once and passes its own test.
//!
//! The files are templates compiled into the binary (`template/`), so a new
//! rule needs nothing but this binary and a Rust toolchain. It writes only
//! into the new rule's folder, and never over an existing one.

use std::path::{Path, PathBuf};

/// The languages a rule can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
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

const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("template/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("template/lib.rs.tmpl")),
    ("README.md", include_str!("template/README.md.tmpl")),
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

/// Write rule `name` into `parent/name`, its crate depending on the SDK at `sdk`.
/// Returns the rule's folder.
pub fn new_rule(
    name: &str,
    parent: &Path,
    sdk: &Path,
    _lang: Lang,
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
    let sdk = std::fs::canonicalize(sdk).map_err(|_| ScaffoldError::NoSdk)?;
    if !sdk.join("Cargo.toml").is_file() {
        return Err(ScaffoldError::NoSdk);
    }
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
    for (path, template) in FILES {
        let text = template
            .replace("__NAME__", name)
            .replace("__CRATE__", &super::artefact_name(name))
            .replace("__CAMEL__", &camel)
            .replace("__SDK__", &sdk.display().to_string().replace('\\', "/"));
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
