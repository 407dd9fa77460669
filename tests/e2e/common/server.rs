//! A real `reverie serve` on loopback, for the end-to-end tests of the HTTP API.
//!
//! [`Server::start`] runs the binary on a fresh temporary data directory with `--listen
//! 127.0.0.1:0`, reads its stdout until it announces its address, and keeps the admin key that
//! a first start prints. [`Server::kill_9`] ends it the hard way (SIGKILL, as a crash would),
//! [`Server::restart`] starts it again on the same data directory, and dropping the `Server`
//! kills whatever is still running. Requests go through [`Server::request`], which sends the
//! admin key unless told otherwise and returns a [`Reply`] that keeps the status, the headers
//! and the body text for assertions and failure messages.
//!
//! The rule cache (`<data dir>/cache`) is a link to one folder shared by every test of this
//! process run, so the built-in rules are compiled once rather than at each start: what a
//! server does at its second start anyway.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::REVERIE;

/// How long a start may take before the test gives up (the first start compiles the rules).
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long one request may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(60);
/// How long a CLI command (`reverie import`, `reverie keys`, a second `serve`) may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// A running `reverie serve` and the folder it keeps its data in.
pub struct Server {
    /// `data/` (the data directory), the config file, stderr logs.
    dir: TempDir,
    config: Option<PathBuf>,
    /// More arguments for `reverie serve` (e.g. `--log-format json`).
    args: Vec<String>,
    child: Option<Child>,
    url: String,
    admin_key: String,
    /// The stdout lines printed up to and including the "listening" line, by the latest start.
    startup: Vec<String>,
    /// How many times the binary was started (names the stderr log of each start).
    starts: u32,
    http: reqwest::blocking::Client,
    /// RLIMIT_NOFILE (soft and hard) for the process, as a host with a low limit has it.
    fd_limit: Option<u64>,
}

/// One response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// `METHOD path`, for failure messages.
    pub what: String,
}

/// What a finished command left.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Server {
    /// Start a server on a fresh data directory, with the built-in rules and no config file.
    pub fn start() -> Server {
        Self::start_with(None)
    }

    /// Start a server with `toml` as its `--config` (or none).
    pub fn start_with(config: Option<&str>) -> Server {
        Self::start_with_args(config, &[])
    }

    /// Start a server with `toml` as its `--config` (or none) and `args` after the others.
    pub fn start_with_args(config: Option<&str>, args: &[&str]) -> Server {
        Self::start_full(config, args, None)
    }

    /// Start with `toml` as its config, and the process limited to `fd_limit`
    /// open files (soft and hard, so the server cannot raise it).
    pub fn start_limited(config: Option<&str>, fd_limit: Option<u64>) -> Server {
        Self::start_full(config, &[], fd_limit)
    }

    /// Start a replica on the PostgreSQL database `url` (its own data directory
    /// for the compile cache). Only the first replica on an empty database
    /// prints an admin key; the others are given it with `admin_key`.
    pub fn start_replica(config: Option<&str>, url: &str, admin_key: Option<&str>) -> Server {
        let mut server = Self::start_prepared(config, &["--database-url", url], None);
        server.admin_key = match admin_key {
            Some(key) => {
                assert!(
                    server.printed_key().is_none(),
                    "a second replica printed a key too:\n{}",
                    server.startup.join("\n")
                );
                key.to_string()
            }
            None => server.printed_key().unwrap_or_else(|| {
                panic!(
                    "the first replica printed no admin key; stdout:\n{}",
                    server.startup.join("\n")
                )
            }),
        };
        server
    }

    fn start_full(config: Option<&str>, args: &[&str], fd_limit: Option<u64>) -> Server {
        let mut server = Self::start_prepared(config, args, fd_limit);
        server.admin_key = server.printed_key().unwrap_or_else(|| {
            panic!(
                "the first start printed no admin key (a line holding only `rvk_…`); stdout:\n{}",
                server.startup.join("\n")
            )
        });
        server
    }

    fn start_prepared(config: Option<&str>, args: &[&str], fd_limit: Option<u64>) -> Server {
        let dir = tempfile::tempdir().expect("create a temporary folder for the server");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create the data directory");
        warm_shared_cache();
        link_shared_cache(&data);
        let config = config.map(|toml| {
            let path = dir.path().join("reverie.toml");
            std::fs::write(&path, toml).expect("write the server's config file");
            path
        });
        let http = reqwest::blocking::Client::builder()
            .timeout(REQUEST_LIMIT)
            .build()
            .expect("build an HTTP client");
        let mut server = Server {
            dir,
            config,
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
            url: String::new(),
            admin_key: String::new(),
            startup: Vec::new(),
            starts: 0,
            http,
            fd_limit,
        };
        server.launch();
        server
    }

    /// Start the binary on this data directory and wait for its address.
    fn launch(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        self.starts += 1;
        let stderr_path = self.stderr_path();
        let stderr = File::create(&stderr_path).expect("create the server's stderr log");
        let mut child = self
            .serve_command()
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start reverie serve");
        let stdout = child.stdout.take().expect("the server's stdout is piped");
        // Lines arrive on a channel so the wait can time out; the thread drains stdout until
        // the process ends, so the server never blocks on a full pipe.
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.child = Some(child);
        self.startup.clear();
        let started = Instant::now();
        loop {
            let left = START_LIMIT.saturating_sub(started.elapsed());
            match rx.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) => {
                    let address = line
                        .strip_prefix("reverie: listening on ")
                        .map(str::to_string);
                    self.startup.push(line);
                    if let Some(address) = address {
                        self.url = address.trim().to_string();
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.stop();
                    panic!(
                        "reverie serve did not say where it listens within {START_LIMIT:?}; stdout:\n{}\nstderr:\n{}",
                        self.startup.join("\n"),
                        self.stderr()
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.as_mut().map(|c| c.wait());
                    self.child = None;
                    panic!(
                        "reverie serve ended before it listened ({status:?}); stdout:\n{}\nstderr:\n{}",
                        self.startup.join("\n"),
                        self.stderr()
                    );
                }
            }
        }
    }

    /// `reverie serve --data-dir <this data dir> --listen 127.0.0.1:0 [--config …]`, stdin closed.
    pub fn serve_command(&self) -> Command {
        let mut command = Command::new(REVERIE);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("REVERIE_DATA_DIR")
            .stdin(Stdio::null());
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command.args(&self.args);
        if let Some(limit) = self.fd_limit {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: setrlimit is async-signal-safe and touches only this child.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        command
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn stderr_path(&self) -> PathBuf {
        self.dir.path().join(format!("stderr-{}.log", self.starts))
    }

    /// What the latest start wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_path()).unwrap_or_default()
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin key the first start printed.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// The data directory (`reverie.db` lives in it).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The stdout lines of the latest start, up to the "listening" line.
    pub fn startup_lines(&self) -> &[String] {
        &self.startup
    }

    /// The API key the latest start printed, if it printed one.
    pub fn printed_key(&self) -> Option<String> {
        let keys = printed_keys(&self.startup);
        assert!(
            keys.len() <= 1,
            "a start printed more than one key:\n{}",
            self.startup.join("\n")
        );
        keys.into_iter().next()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().expect("ask after the server").is_none(),
            None => false,
        }
    }

    /// SIGKILL, as a crash or an OOM killer would: no shutdown code runs.
    pub fn kill_9(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Child::kill sends SIGKILL on unix.
        child.kill().expect("send SIGKILL to the server");
        let status = child.wait().expect("wait for the killed server");
        assert!(
            !status.success(),
            "the server exited cleanly before it was killed; stderr:\n{}",
            self.stderr()
        );
    }

    /// SIGTERM, as an orchestrator stopping the server would; waits up to
    /// `limit` for the process to end and says how it ended and how long it took.
    pub fn sigterm(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let mut child = self.child.take().expect("the server is running");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid");
        let sent = Instant::now();
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "send SIGTERM to the server");
        loop {
            if let Some(status) = child.try_wait().expect("ask after the server") {
                return (status, sent.elapsed());
            }
            if sent.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not stop within {limit:?} of SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start again after the process ended by itself (SIGTERM), or after [`Server::stop`].
    pub fn start_again(&mut self) {
        self.launch();
    }

    /// Stop the server (SIGKILL) so its data directory may be opened by something else.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same data directory (and config). The admin key stays the first one.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// A request to `path` (under the base URL) carrying the admin key.
    pub fn request(&self, method: &str, path: &str) -> Call {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let builder = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        Call {
            builder,
            key: Some(self.admin_key.clone()),
            what: format!("{method} {path}"),
        }
    }

    /// `GET path` with the admin key.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send()
    }

    /// `POST path` with a JSON body and the admin key.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path).json(body).send()
    }

    /// `PATCH path` with a JSON body and the admin key.
    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.request("PATCH", path).json(body).send()
    }

    /// Create an agent as the admin; its id. It does not dream by itself (so
    /// that a test running at 03:00 UTC meets no scheduled dream).
    pub fn create_agent(&self, name: &str) -> String {
        let reply = self.post(
            "/v1/agents",
            &serde_json::json!({"name": name, "model": "gpt-4o-mini", "system_prompt": "You are a support bot.", "dreaming_enabled": false}),
        );
        reply.expect(201)["id"]
            .as_str()
            .expect("a created agent has an id")
            .to_string()
    }

    /// Open the database file directly (the server should be stopped, or only reads made).
    pub fn open_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data_dir().join("reverie.db")).expect("open reverie.db")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Lines that hold only an API key: how `reverie serve` shows the key it made.
pub fn printed_keys(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("rvk_") && !l.contains(char::is_whitespace))
        .map(str::to_string)
        .collect()
}

/// The rule cache every test server shares (compiled components, keyed by digest and engine).
pub fn shared_cache() -> PathBuf {
    let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-rule-cache");
    std::fs::create_dir_all(&shared).expect("create the shared rule cache");
    shared
}

/// Point `<data>/cache` at the shared rule cache.
fn link_shared_cache(data: &Path) {
    std::os::unix::fs::symlink(shared_cache(), data.join("cache")).expect("link the rule cache");
}

/// Fill the shared cache once per process, before the tests' servers start side by side: one
/// server compiles the built-in rules while the others wait, instead of all compiling at once.
fn warm_shared_cache() {
    static WARM: OnceLock<()> = OnceLock::new();
    WARM.get_or_init(|| {
        let dir = tempfile::tempdir().expect("create a folder for the warm-up server");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("create the warm-up data directory");
        link_shared_cache(&data);
        let mut warm = Server {
            dir,
            config: None,
            args: Vec::new(),
            child: None,
            url: String::new(),
            admin_key: String::new(),
            startup: Vec::new(),
            starts: 0,
            http: reqwest::blocking::Client::new(),
            fd_limit: None,
        };
        warm.launch();
        warm.stop();
    });
}

/// A request being built: see [`Server::request`].
pub struct Call {
    builder: reqwest::blocking::RequestBuilder,
    key: Option<String>,
    what: String,
}

impl Call {
    /// Send `key` instead of the admin key.
    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// Send no `Authorization` header.
    pub fn no_key(mut self) -> Self {
        self.key = None;
        self
    }

    /// A JSON body.
    pub fn json(self, body: &Value) -> Self {
        self.body(body.to_string())
    }

    /// A body of JSON text, sent as it is.
    pub fn body(mut self, text: String) -> Self {
        self.builder = self
            .builder
            .header("content-type", "application/json")
            .body(text);
        self
    }

    /// A body of bytes, sent as they are (set the content type with [`Call::header`]).
    pub fn body_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.builder = self.builder.body(bytes);
        self
    }

    /// One more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Send and read the whole response; a transport failure fails the test.
    pub fn send(self) -> Reply {
        let what = self.what.clone();
        self.try_send()
            .unwrap_or_else(|e| panic!("{what}: the request failed: {e}"))
    }

    /// Send and read the whole response, or the transport error.
    pub fn try_send(self) -> Result<Reply, reqwest::Error> {
        let mut builder = self.builder;
        if let Some(key) = &self.key {
            builder = builder.bearer_auth(key);
        }
        let response = builder.send()?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text()?;
        Ok(Reply {
            status,
            headers,
            text,
            what: self.what,
        })
    }
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{} answered {} with a body that is not JSON ({e}):\n{}",
                self.what, self.status, self.text
            )
        })
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert the status and return the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "{} answered {} (expected {status}):\n{}",
            self.what, self.status, self.text
        );
        self.json()
    }

    /// Assert that this is an `application/problem+json` error with `status`; return it.
    pub fn problem(&self, status: u16) -> Value {
        let body = self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{} answered {status} without the problem+json content type:\n{}",
            self.what,
            self.text
        );
        assert_eq!(
            body["status"].as_u64(),
            Some(u64::from(status)),
            "the problem's `status` differs from the HTTP status:\n{}",
            self.text
        );
        for member in ["type", "title", "detail"] {
            assert!(
                body[member].as_str().is_some_and(|s| !s.is_empty()),
                "the problem has no `{member}`:\n{}",
                self.text
            );
        }
        body
    }

    /// The `field`s of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Run a command to its end (or [`COMMAND_LIMIT`], which fails the test), stdin closed.
pub fn run(command: &mut Command) -> Finished {
    let work = tempfile::tempdir().expect("create a folder for the command's output");
    let stdout_path = work.path().join("stdout");
    let stderr_path = work.path().join("stderr");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("create the stdout file"))
        .stderr(File::create(&stderr_path).expect("create the stderr file"))
        .spawn()
        .expect("start reverie");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for reverie") {
            break status;
        }
        if started.elapsed() > COMMAND_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} did not finish within {COMMAND_LIMIT:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Finished {
        status,
        stdout: std::fs::read_to_string(&stdout_path).expect("read the command's stdout"),
        stderr: std::fs::read_to_string(&stderr_path).expect("read the command's stderr"),
    }
}

impl Finished {
    /// Assert exit 0; return stdout.
    pub fn success(&self) -> &str {
        assert!(
            self.status.success(),
            "the command exited with {}; stdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Assert a non-zero exit without a panic; return stderr.
    pub fn failure(&self) -> &str {
        assert!(
            !self.status.success(),
            "the command was expected to fail but exited with {}; stdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked at"),
            "the command failed by panicking instead of with a readable message:\n{}",
            self.stderr
        );
        &self.stderr
    }
}
