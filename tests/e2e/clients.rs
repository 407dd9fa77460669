//! Careless and hostile clients against the real server (RELIABILITY 24, 28,
//! 29): half-sent requests, slow bodies, idle sockets by the thousand, and a
//! SIGTERM while they hold on. The server must cut them off on its own
//! timetable, keep serving everyone else, answer every error it sends as a
//! problem document, and stop within its drain time whatever they do.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::server::Server;

/// Open a raw connection to the server.
fn connect(server: &Server) -> TcpStream {
    let address = server.url().trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    stream
}

/// Everything the server sends until it closes the connection, and when it closed.
fn read_until_closed(mut stream: TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the server kept the connection open past the read timeout: {e}; got {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    (
        String::from_utf8_lossy(&bytes).into_owned(),
        started.elapsed(),
    )
}

/// Send `request` raw and return the whole answer.
fn raw(server: &Server, request: &[u8]) -> String {
    let mut stream = connect(server);
    stream.write_all(request).expect("send");
    read_until_closed(stream).0
}

/// The status line and the problem document of a raw answer.
fn problem_of(answer: &str) -> (String, serde_json::Value) {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head/body split in {answer:?}"));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "not a problem document: {answer:?}"
    );
    let status = head.lines().next().unwrap_or_default().to_string();
    let problem = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    (status, problem)
}

#[test]
fn slow_and_half_sent_requests_are_cut_off_and_every_error_is_a_problem() {
    let server = Server::start_with(Some(
        "[server]\nheader_timeout = \"1s\"\nbody_timeout = \"1s\"\n",
    ));

    // Half a request head, then nothing: closed, unanswered, at the head timeout.
    let mut half = connect(&server);
    half.write_all(b"GET /v1/agents HTTP/1.1\r\nhost: x\r\n")
        .expect("send");
    let (answer, after) = read_until_closed(half);
    assert_eq!(answer, "", "a half-sent head gets no answer");
    assert!(after < Duration::from_secs(5), "closed after {after:?}");

    // A connection that never says anything, and one idle after a request.
    let (answer, after) = read_until_closed(connect(&server));
    assert_eq!(answer, "");
    assert!(
        after < Duration::from_secs(5),
        "idle closed after {after:?}"
    );
    let mut kept = connect(&server);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("send");
    let (answer, after) = read_until_closed(kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        after < Duration::from_secs(5),
        "keep-alive idle closed after {after:?}"
    );

    // A body that stops halfway: 408, and the connection closed.
    let mut slow = connect(&server);
    let head = format!(
        "POST /v1/agents HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"name\":",
        server.admin_key()
    );
    slow.write_all(head.as_bytes()).expect("send");
    let (answer, after) = read_until_closed(slow);
    let (status, problem) = problem_of(&answer);
    assert!(status.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(problem["type"], "/problems/request-timeout");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("body_timeout")),
        "{problem}"
    );
    assert!(after < Duration::from_secs(5), "408 after {after:?}");
    let agents = server.get("/v1/agents").expect(200);
    assert_eq!(agents["data"].as_array().map(Vec::len), Some(0));

    // What the HTTP parser refuses before any route is a problem document too.
    let (status, problem) = problem_of(&raw(&server, b"NOT HTTP AT ALL\r\n\r\n"));
    assert!(status.starts_with("HTTP/1.1 400"), "{status}");
    assert_eq!(problem["type"], "/problems/bad-request");
    let long_uri = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    let (status, problem) = problem_of(&raw(&server, long_uri.as_bytes()));
    assert!(status.starts_with("HTTP/1.1 414"), "{status}");
    assert_eq!(problem["status"], 414);
    let big_head = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n",
        "b".repeat(120_000)
    );
    let (status, problem) = problem_of(&raw(&server, big_head.as_bytes()));
    assert!(status.starts_with("HTTP/1.1 431"), "{status}");
    assert_eq!(problem["type"], "/problems/headers-too-large");

    // And the server still serves.
    server.get("/v1/agents").expect(200);
}

/// The process's open sockets, from /proc.
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("list the server's descriptors")
        .filter_map(Result::ok)
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Let this test process open more sockets than a 1024 soft limit allows.
fn raise_own_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain get/set of this process's limit through a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// RELIABILITY 28: on a host whose file limit is 1024, 1,100 idle sockets
/// neither lock new clients out nor starve the database of descriptors.
#[test]
fn eleven_hundred_idle_sockets_do_not_lock_out_new_clients() {
    raise_own_fd_limit();
    let server = Server::start_limited(None, Some(1024));
    let pid = server.pid().expect("running");
    let cap_line = server
        .startup_lines()
        .iter()
        .find(|l| l.contains("connections ("))
        .cloned()
        .unwrap_or_default();
    assert!(cap_line.contains("up to 960 connections"), "{cap_line}");
    let agent = server.create_agent("crowded");

    let idle: Vec<TcpStream> = (0..1100).map(|_| connect(&server)).collect();
    std::thread::sleep(Duration::from_millis(300));

    // New clients, with a deadline a locked-out client would miss.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let auth = format!("Bearer {}", server.admin_key());
    let interactions: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            serde_json::json!({
                "timestamp": "2026-11-30T04:00:00Z",
                "messages": [
                    {"role": "user", "content": format!("question {i}")},
                    {"role": "assistant", "content": "answer"}
                ]
            })
        })
        .collect();
    let stored = client
        .post(format!(
            "{}/v1/agents/{agent}/interactions/batch",
            server.url()
        ))
        .header("authorization", &auth)
        .json(&serde_json::json!({ "interactions": interactions }))
        .send()
        .expect("a new client is served while 1,100 sockets sit idle");
    assert_eq!(stored.status().as_u16(), 201, "{:?}", stored.text());
    let listed = client
        .get(format!(
            "{}/v1/agents/{agent}/interactions?limit=100",
            server.url()
        ))
        .header("authorization", &auth)
        .send()
        .expect("listed");
    assert_eq!(listed.status().as_u16(), 200);
    let page: serde_json::Value = listed.json().expect("json");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(50));

    // The operator sees it happen.
    let metrics = client
        .get(format!("{}/metrics", server.url()))
        .header("authorization", &auth)
        .send()
        .expect("metrics")
        .text()
        .expect("metrics text");
    let evicted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("reverie_http_connections_cut_total{reason=\"evicted\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no eviction count in\n{metrics}"));
    assert!(evicted >= 140.0, "evicted {evicted}");

    let sockets = open_sockets(pid);
    assert!(
        sockets <= 960 + 8,
        "the server holds {sockets} sockets, beyond its cap of 960"
    );
    println!(
        "1,100 idle sockets under a 1024-file limit: cap 960, {evicted} evicted, the server holds {sockets} sockets, a 50-interaction batch stored and listed"
    );
    drop(idle);
    let stderr = server.stderr();
    assert!(
        !stderr.contains("unable to open database file"),
        "the database ran out of descriptors:\n{stderr}"
    );
}

/// RELIABILITY 29: SIGTERM ends the process within the drain time whatever
/// the clients do, and a request in progress at the signal still finishes.
#[test]
fn sigterm_ends_the_server_within_the_drain_whatever_clients_do() {
    let mut server = Server::start_with(Some(
        "[server]\nheader_timeout = \"60s\"\nbody_timeout = \"60s\"\ndrain_timeout = \"2s\"\n",
    ));
    let key = server.admin_key().to_string();

    let idle: Vec<TcpStream> = (0..20).map(|_| connect(&server)).collect();
    let mut half_head = connect(&server);
    half_head
        .write_all(b"POST /v1/agents HTTP/1.1\r\nhost: x\r\n")
        .expect("send");
    // A body trickled a byte at a time, for far longer than the drain.
    let mut trickle = connect(&server);
    let head = format!(
        "POST /v1/agents HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n"
    );
    trickle.write_all(head.as_bytes()).expect("send");
    let trickler = std::thread::spawn(move || {
        for _ in 0..600 {
            if trickle.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    // A request whose body is half there at the signal and whole soon after.
    let body = br#"{"name": "sent during shutdown", "model": "m", "dreaming_enabled": false}"#;
    let mut in_progress = connect(&server);
    let head = format!(
        "POST /v1/agents HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    in_progress.write_all(head.as_bytes()).expect("send");
    in_progress.write_all(&body[..10]).expect("send");
    std::thread::sleep(Duration::from_millis(200));
    let finisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        in_progress.write_all(&body[10..]).expect("send the rest");
        read_until_closed(in_progress).0
    });

    let (status, took) = server.sigterm(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    assert!(
        took < Duration::from_secs(6),
        "SIGTERM took {took:?} with a 2s drain"
    );
    println!(
        "SIGTERM with 20 idle sockets, a half-sent head and a trickled body: exit in {took:?} (drain 2s)"
    );
    let answer = finisher.join().expect("finisher");
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in progress was not finished: {answer:?}"
    );
    let _ = trickler.join();
    drop((idle, half_head));

    server.start_again();
    let agents = server.get("/v1/agents").expect(200);
    let names: Vec<&str> = agents["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["sent during shutdown"]);
}
