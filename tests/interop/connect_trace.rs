//! Records every `connect()` this test process makes, with strace attached to it: the proof that a client
//! never even *tried* an address, which a successful transfer alone cannot give (a client could try the
//! foreign address first and fall back).
//!
//! Sentinel connections to listeners of our own mark the start and the end of the recording: the start
//! one shows that strace is attached (to the test's thread too), the end one that everything before it
//! has been reported.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One traced `connect()` to an IPv4 or IPv6 address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub ip: IpAddr,
    pub port: u16,
}

pub struct ConnectTrace {
    strace: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    start_marker: SocketAddr,
}

impl ConnectTrace {
    /// Attaches strace to this process (all threads) and waits until it reports our connects.
    pub fn start() -> ConnectTrace {
        let pid = std::process::id().to_string();
        let mut strace = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=connect", "-p", &pid])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run strace ({e}): run scripts/install-test-deps"));
        let stderr = strace.stderr.take().expect("strace's stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut trace = ConnectTrace {
            strace,
            lines,
            reader: Some(reader),
            start_marker: "127.0.0.1:1".parse().unwrap(),
        };
        trace.start_marker = trace.mark();
        trace
    }

    /// Connects to a fresh listener until strace reports that connect; returns the listener's address.
    fn mark(&mut self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a marker listener");
        let marker = listener.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let _ = TcpStream::connect(marker);
            if self
                .connects()
                .iter()
                .any(|c| c.port == marker.port() && c.ip == marker.ip())
            {
                return marker;
            }
            if let Ok(Some(status)) = self.strace.try_wait() {
                panic!(
                    "strace ended ({status}): {}",
                    self.lines.lock().unwrap().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "strace did not report connects within 15 s: {}",
            self.lines.lock().unwrap().join("\n")
        );
    }

    fn connects(&self) -> Vec<Connect> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| parse_connect(line))
            .collect()
    }

    /// Stops tracing; returns the connects between the start and the end markers (markers excluded: each may
    /// have been made more than once while waiting for strace to report it).
    pub fn finish(mut self) -> Vec<Connect> {
        let end_marker = self.mark();
        self.stop();
        let all = self.connects();
        let is = |c: &Connect, m: SocketAddr| c.ip == m.ip() && c.port == m.port();
        let first = all
            .iter()
            .position(|c| is(c, self.start_marker))
            .expect("start marker traced");
        let last = all
            .iter()
            .position(|c| is(c, end_marker))
            .expect("end marker traced");
        all[first..last]
            .iter()
            .filter(|c| !is(c, self.start_marker) && !is(c, end_marker))
            .cloned()
            .collect()
    }

    fn stop(&mut self) {
        // SIGTERM: strace detaches from the threads cleanly. By pid, never by name.
        let pid = self.strace.id().to_string();
        let _ = Command::new("sh")
            .args(["-c", "kill -s TERM \"$0\" 2>/dev/null", &pid])
            .status();
        let _ = self.strace.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for ConnectTrace {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.stop();
        }
    }
}

/// The address of one strace line such as
/// `123 connect(5, {sa_family=AF_INET, sin_port=htons(21), sin_addr=inet_addr("127.0.0.1")}, 16) = 0` or
/// `... {sa_family=AF_INET6, sin6_port=htons(21), ..., inet_pton(AF_INET6, "::1", &sin6_addr), ...}`.
fn parse_connect(line: &str) -> Option<Connect> {
    if !line.contains("connect(") {
        return None;
    }
    let port = between(line, "port=htons(", ")")?.parse().ok()?;
    let ip = if line.contains("AF_INET6") {
        between(line, "inet_pton(AF_INET6, \"", "\"")?
            .parse()
            .ok()?
    } else {
        between(line, "inet_addr(\"", "\"")?.parse().ok()?
    };
    Some(Connect { ip, port })
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

#[test]
fn connect_trace_parses_strace_lines() {
    let v4 = r#"4242 connect(5, {sa_family=AF_INET, sin_port=htons(27000), sin_addr=inet_addr("203.0.113.1")}, 16) = -1 EINPROGRESS (Operation now in progress)"#;
    assert_eq!(
        parse_connect(v4),
        Some(Connect {
            ip: "203.0.113.1".parse().unwrap(),
            port: 27000
        })
    );
    let v6 = r#"4242 connect(6, {sa_family=AF_INET6, sin6_port=htons(21), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>"#;
    assert_eq!(
        parse_connect(v6),
        Some(Connect {
            ip: "::1".parse().unwrap(),
            port: 21
        })
    );
    let unix =
        r#"4242 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT"#;
    assert_eq!(parse_connect(unix), None);
}

#[test]
fn connect_trace_sees_a_connect_to_another_address() {
    // The proof works only if an attempt to another address shows. 127.0.0.2 is loopback too (nothing leaves
    // the machine) but not the server's address; nobody listens there, so the connect is refused at once.
    let trace = ConnectTrace::start();
    let elsewhere: SocketAddr = "127.0.0.2:9".parse().unwrap();
    let _ = TcpStream::connect_timeout(&elsewhere, Duration::from_millis(500));
    let connects = trace.finish();
    assert_eq!(
        connects,
        [Connect {
            ip: elsewhere.ip(),
            port: 9
        }]
    );
}
