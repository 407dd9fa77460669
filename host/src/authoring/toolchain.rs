//! The languages' build tools: cargo for Rust, componentize-py for Python,
//! componentize-js for JavaScript. It finds each tool, runs it in the rule's
//! folder and says where the component is, or which tool is missing and how to
//! install it.
//!
//! It owns the versions the templates pin and the messages name; the
//! toolchains' setup script (`tests/toolchains/setup.sh`) installs the same
//! ones, and a test below holds the two together. It must not load or run
//! the component: [`super::check_component`] does, as a dream would.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::BuildError;

/// componentize-py, from PyPI: the version the Python template is tested with.
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// componentize-js, from npm (`@bytecodealliance/componentize-js`).
pub const COMPONENTIZE_JS: &str = "0.23.0";
/// `@bytecodealliance/preview2-shim`: componentize-js 0.23.0 imports it while
/// building without declaring it, so an install of componentize-js alone fails.
pub const PREVIEW2_SHIM: &str = "0.25.0";

/// The world a rule component targets (`wit/rules.wit`).
const WORLD: &str = "rule-world";

/// Where `reverie rule build` looks for the tools, first: a path to the tool.
pub const PYTHON_ENV: &str = "REVERIE_COMPONENTIZE_PY";
pub const JS_ENV: &str = "REVERIE_COMPONENTIZE_JS";

/// Build the Rust crate in `dir` for wasm32-wasip2 (release) with cargo.
pub fn build_rust(dir: &Path) -> Result<PathBuf, BuildError> {
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
        .join(format!("{}.wasm", super::artefact_name(&name)));
    if !component.is_file() {
        return Err(BuildError::NoComponent(component));
    }
    Ok(component)
}

/// Build the Python rule in `dir` (module `rule`, contract in `wit/`) with
/// componentize-py, into `dist/NAME.wasm`.
pub fn build_python(dir: &Path) -> Result<PathBuf, BuildError> {
    let tool =
        find_tool(PYTHON_ENV, "componentize-py", None).ok_or_else(|| BuildError::MissingTool {
            tool: "componentize-py",
            install: format!(
                "install it with `pip install componentize-py=={COMPONENTIZE_PY}` (in a venv), \
                 or set {PYTHON_ENV} to its path; in a reverie checkout, \
                 `eval \"$(tests/toolchains/setup.sh)\"` installs it and sets {PYTHON_ENV}"
            ),
        })?;
    let name = python_name(dir);
    let component = dist(dir, &name)?;
    let mut command = Command::new(&tool);
    command
        .current_dir(dir)
        .args([
            "-d",
            "wit",
            "-w",
            WORLD,
            "componentize",
            "rule",
            "-p",
            ".",
            "-o",
        ])
        .arg(relative(dir, &component));
    run("componentize-py", &tool, command)?;
    found(component)
}

/// Build the JavaScript rule in `dir` (module `rule.js`, contract in `wit/`)
/// with componentize-js, into `dist/NAME.wasm`.
pub fn build_js(dir: &Path) -> Result<PathBuf, BuildError> {
    let local = dir.join("node_modules/.bin/componentize-js");
    let tool = find_tool(JS_ENV, "componentize-js", Some(&local)).ok_or_else(|| {
        BuildError::MissingTool {
            tool: "componentize-js",
            install: format!(
                "run `npm install` in {} (its package.json pins componentize-js {COMPONENTIZE_JS}), \
                 or `npm install -g @bytecodealliance/componentize-js@{COMPONENTIZE_JS} \
                 @bytecodealliance/preview2-shim@{PREVIEW2_SHIM}`, or set {JS_ENV} to its path; \
                 in a reverie checkout, `eval \"$(tests/toolchains/setup.sh)\"` installs it and sets {JS_ENV}",
                dir.display()
            ),
        }
    })?;
    let name = js_name(dir);
    let component = dist(dir, &name)?;
    let mut command = Command::new(&tool);
    // No `wasi:http`: the host grants no network, so the component should not
    // import it at all (and `fetch` fails at once rather than at the host).
    command
        .current_dir(dir)
        .args([
            "rule.js",
            "--wit",
            "wit",
            "--world-name",
            WORLD,
            "--disable",
            "http",
            "fetch-event",
            "-o",
        ])
        .arg(relative(dir, &component));
    run("componentize-js", &tool, command)?;
    found(component)
}

/// The tool: the path in `env` if set, else `local` if it exists, else `name`
/// on `PATH`. `None` when none is there.
fn find_tool(env: &str, name: &str, local: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        // Named by the user: used as it is, and a wrong path fails when run,
        // naming the variable's value.
        return Some(PathBuf::from(path));
    }
    if let Some(local) = local.filter(|l| l.is_file()) {
        return Some(local.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn run(tool: &'static str, path: &Path, mut command: Command) -> Result<(), BuildError> {
    let status = command.status().map_err(|e| BuildError::ToolNotRunnable {
        tool,
        path: path.to_path_buf(),
        error: e,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::ToolFailed {
            tool,
            path: path.to_path_buf(),
        })
    }
}

/// `dir/dist/NAME.wasm`, with `dist/` made and an old component removed, so
/// that a failed build cannot leave the previous one looking new.
fn dist(dir: &Path, name: &str) -> Result<PathBuf, BuildError> {
    let folder = dir.join("dist");
    std::fs::create_dir_all(&folder).map_err(|e| BuildError::Io(folder.clone(), e))?;
    let component = folder.join(format!("{name}.wasm"));
    match std::fs::remove_file(&component) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(BuildError::Io(component, e));
        }
        _ => {}
    }
    Ok(component)
}

fn found(component: PathBuf) -> Result<PathBuf, BuildError> {
    if component.is_file() {
        Ok(component)
    } else {
        Err(BuildError::NoComponent(component))
    }
}

/// `path` as the tool, run in `dir`, sees it.
fn relative(dir: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(dir).unwrap_or(path).to_path_buf()
}

/// The rule's name for its file: `[project] name` of `pyproject.toml`, else the folder's.
fn python_name(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("pyproject.toml"))
        .ok()
        .and_then(|text| toml::from_str::<toml::Value>(&text).ok())
        .and_then(|v| v.get("project")?.get("name")?.as_str().map(str::to_string))
        .and_then(file_name)
        .unwrap_or_else(|| folder_name(dir))
}

/// The rule's name for its file: `name` of `package.json`, else the folder's.
fn js_name(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v.get("name")?.as_str().map(str::to_string))
        .and_then(file_name)
        .unwrap_or_else(|| folder_name(dir))
}

/// A name usable as a file name (an npm scope's `@org/` would make a folder).
fn file_name(name: String) -> Option<String> {
    let name = name.rsplit('/').next().unwrap_or_default().to_string();
    (!name.is_empty() && !name.starts_with('.')).then_some(name)
}

fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "rule".to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The setup script that CI runs and the versions the templates pin and the
    /// messages name are one set: a bump in one place alone fails here.
    #[test]
    fn the_setup_script_installs_the_versions_the_templates_pin() {
        let setup = include_str!("../../../tests/toolchains/setup.sh");
        assert!(
            setup.contains(&format!("componentize_py={COMPONENTIZE_PY}\n")),
            "tests/toolchains/setup.sh does not pin componentize-py {COMPONENTIZE_PY}"
        );
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/toolchains/js/package.json"))
                .expect("tests/toolchains/js/package.json is JSON");
        let deps = &manifest["dependencies"];
        assert_eq!(deps["@bytecodealliance/componentize-js"], COMPONENTIZE_JS);
        assert_eq!(deps["@bytecodealliance/preview2-shim"], PREVIEW2_SHIM);
    }

    #[test]
    fn a_rule_is_named_by_its_project_file_or_else_its_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rule = dir.path().join("refund-check");
        std::fs::create_dir(&rule).expect("mkdir");
        assert_eq!(python_name(&rule), "refund-check");
        assert_eq!(js_name(&rule), "refund-check");
        std::fs::write(
            rule.join("pyproject.toml"),
            "[project]\nname = \"refunds\"\n",
        )
        .expect("write");
        std::fs::write(rule.join("package.json"), r#"{"name": "@acme/refunds-js"}"#)
            .expect("write");
        assert_eq!(python_name(&rule), "refunds");
        assert_eq!(js_name(&rule), "refunds-js");
    }

    #[test]
    fn a_missing_tool_is_none_and_a_named_one_is_taken_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = dir.path().join("componentize-js");
        assert_eq!(
            find_tool("REVERIE_TEST_UNSET_TOOL", "no-such-tool-here", Some(&local)),
            None
        );
        std::fs::write(&local, "").expect("write");
        assert_eq!(
            find_tool("REVERIE_TEST_UNSET_TOOL", "no-such-tool-here", Some(&local)),
            Some(local)
        );
    }
}
