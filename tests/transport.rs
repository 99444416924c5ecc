//! The FTPS session against a real vsftpd on loopback, configured like the gateway (the interop harness in
//! `tests/interop/vsftpd.rs`: TLS 1.2 only, client certificate required, session reuse required, passive
//! range). Focused on the transport's own promises: streaming, ASCII conversion, the data connection going
//! to the control peer, and errors that name the cause. The broad interoperability matrix (100 MiB files,
//! every server variant, peer clients) lives in `tests/interop*`.
//!
//! Needs root and vsftpd (the README's test command installs it).

#[path = "interop/vsftpd.rs"]
mod vsftpd;

use gateway::ftp::{Login, Session, SessionConfig, Timeouts, TransferType, UsernameSource};
use gateway::tls::TlsOptions;
use gateway::{Endpoint, ErrorKind, Generation, Identity, Secret};
use std::io::{Cursor, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vsftpd::{Options, ServerCert, ServerTls, Vsftpd, PASSWORD, USERNAME};

fn identity(server: &Vsftpd) -> Arc<Identity> {
    let pki = server.pki();
    Arc::new(Identity::from_pem_files(&pki.client_cert, Some(&pki.client_key)).expect("load the test client certificate"))
}

fn config(server: &Vsftpd, login: Login) -> SessionConfig {
    let endpoint = Endpoint::custom("127.0.0.1", server.port()).with_data_ports(server.passive_ports());
    SessionConfig::new(endpoint, identity(server), login)
        .with_tls(TlsOptions::private_ca(&server.pki().ca_cert))
        .with_timeouts(Timeouts { connect: Duration::from_secs(5), io: Duration::from_secs(20) })
}

fn connect(server: &Vsftpd) -> Session {
    Session::connect(&config(server, Login::password(PASSWORD))).expect("connect and log in")
}

/// Bytes that are not text, so a conversion or truncation shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(7919) % 251) as u8).collect()
}

#[test]
fn upload_list_download_rename_delete_round_trip() {
    let server = Vsftpd::start();
    let mut session = connect(&server);
    assert_eq!(session.username(), USERNAME);
    assert_eq!(session.username_source(), UsernameSource::Certificate);
    // vsftpd without chroot shows the real path of the user's root.
    let home = session.pwd().unwrap();
    assert_eq!(home, server.root().to_str().unwrap());

    for (name, len) in [("empty.xml", 0usize), ("small.xml", 4096), ("large.bin", 3 * 1024 * 1024 + 17)] {
        let content = pattern(len);
        let mut reported = Vec::new();
        let mut progress = |n: u64| reported.push(n);
        let sent = session.put(&mut Cursor::new(&content), name, TransferType::Binary, Some(&mut progress)).unwrap();
        assert_eq!(sent, len as u64);
        assert_eq!(std::fs::read(server.root().join(name)).unwrap(), content, "{name} arrived intact");
        assert_eq!(reported.last().copied().unwrap_or(0), len as u64, "progress ends at the total");
        assert!(reported.windows(2).all(|w| w[0] < w[1]), "progress only grows");

        let mut back = Vec::new();
        let received = session.get(name, &mut back, TransferType::Binary, None).unwrap();
        assert_eq!(received, len as u64);
        assert!(back == content, "{name} came back intact");
        assert_eq!(session.size(name).unwrap(), len as u64);
    }

    // Data connections went to the control peer, inside the server's passive range.
    let data = session.last_data_address().expect("a data connection was made");
    assert_eq!(data.ip(), Ipv4Addr::LOCALHOST);
    assert!(server.passive_ports().contains(&data.port()), "{data} in {:?}", server.passive_ports());

    let mut listing = session.list(None).unwrap();
    listing.sort_by(|a, b| a.name.cmp(&b.name));
    let summary: Vec<_> = listing.iter().map(|e| (e.name.as_str(), e.is_dir, e.size)).collect();
    assert_eq!(
        summary,
        [("empty.xml", false, Some(0)), ("large.bin", false, Some(3 * 1024 * 1024 + 17)), ("small.xml", false, Some(4096))]
    );

    session.rename("small.xml", "renamed.xml").unwrap();
    assert!(server.root().join("renamed.xml").exists() && !server.root().join("small.xml").exists());
    session.delete("renamed.xml").unwrap();
    assert!(!server.root().join("renamed.xml").exists());
    session.noop().unwrap();
    session.quit().unwrap();

    let log = server.log();
    assert!(log.contains(", reused, CERT PRESENTED"), "data connections resumed the TLS session:\n{log}");
    assert!(!log.contains("TLSv1.3"), "never TLS 1.3:\n{log}");
}

#[test]
fn folders_and_missing_paths() {
    let server = Vsftpd::start();
    let out = server.root().join("out");
    std::fs::create_dir(&out).unwrap();
    server.put_file("out/status_1.xml", b"<status/>");
    let mut session = connect(&server);

    let root = session.list(None).unwrap();
    assert_eq!(root.len(), 1);
    assert!(root[0].is_dir && root[0].name == "out");
    let inside = session.list(Some("out")).unwrap();
    assert_eq!(inside.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["status_1.xml"]);
    session.cwd("out").unwrap();
    assert_eq!(session.pwd().unwrap(), out.to_str().unwrap());

    let missing = session.get("nothing-here.xml", &mut Vec::new(), TransferType::Binary, None).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert!(missing.message().contains("nothing-here.xml"), "{missing}");
    assert_eq!(missing.server_reply().map(|r| r.code), Some(550));

    let cwd = session.cwd("/no/such/folder").unwrap_err();
    assert_eq!(cwd.kind(), ErrorKind::NotFound, "{cwd}");
    // The session is still usable after refused commands.
    session.noop().unwrap();
    let mut content = Vec::new();
    session.get("status_1.xml", &mut content, TransferType::Binary, None).unwrap();
    assert_eq!(content, b"<status/>");
}

#[test]
fn ascii_transfers_convert_line_ends() {
    let server = Vsftpd::start();
    let mut session = connect(&server);
    session.put(&mut Cursor::new(b"line 1\nline 2\r\nline 3\n".to_vec()), "text.txt", TransferType::Ascii, None).unwrap();
    // vsftpd stores ASCII uploads as they arrive (ascii_upload_enable=NO): the wire form, CRLF.
    assert_eq!(std::fs::read(server.root().join("text.txt")).unwrap(), b"line 1\r\nline 2\r\nline 3\r\n");
    let mut local = Vec::new();
    session.get("text.txt", &mut local, TransferType::Ascii, None).unwrap();
    assert_eq!(local, b"line 1\nline 2\nline 3\n");
    // Back to binary: bytes unchanged.
    let mut raw = Vec::new();
    session.get("text.txt", &mut raw, TransferType::Binary, None).unwrap();
    assert_eq!(raw, b"line 1\r\nline 2\r\nline 3\r\n");
}

#[test]
fn data_connections_ignore_the_address_in_the_227_reply() {
    let server = Vsftpd::start_with(Options { pasv_address: Some(vsftpd::FOREIGN_PASV_ADDRESS), ..Options::default() });
    let mut session = connect(&server);
    let started = Instant::now();
    session.put(&mut Cursor::new(b"hello".to_vec()), "a.xml", TransferType::Binary, None).unwrap();
    assert_eq!(session.list(None).unwrap().len(), 1);
    let data = session.last_data_address().unwrap();
    assert_eq!(data.ip(), Ipv4Addr::LOCALHOST, "never the 227 address");
    assert!(started.elapsed() < Duration::from_secs(5), "no detour through a connect time-out");
}

#[test]
fn wrong_password_names_the_user_and_its_origin_but_not_the_password() {
    let server = Vsftpd::start();
    let wrong = "not-the-password-42";
    let err = Session::connect(&config(&server, Login::password(wrong))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert_eq!(err.server_reply().map(|r| r.code), Some(530));
    let text = format!("{err} {err:?}");
    assert!(text.contains(USERNAME) && text.contains("derived from the certificate"), "{text}");
    assert!(!text.contains(wrong), "the password never appears: {text}");

    let given = Login::Password { username: Some("CVR_99999999_UID_1".into()), password: Secret::new(PASSWORD) };
    let err = Session::connect(&config(&server, given)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(err.message().contains("CVR_99999999_UID_1") && err.message().contains("as given"), "{err}");
}

#[test]
fn without_session_resumption_the_server_answers_522_and_the_error_explains_it() {
    let server = Vsftpd::start();
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.tls.session_resumption = false;
    let mut session = Session::connect(&cfg).expect("the control connection does not need resumption");
    let err = session.put(&mut Cursor::new(b"x".to_vec()), "x.xml", TransferType::Binary, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsSessionReuseRequired, "{err}");
    assert_eq!(err.server_reply().map(|r| r.code), Some(522));
    assert!(err.message().contains("resume"), "{err}");
}

#[test]
fn a_server_certificate_from_an_unknown_ca_is_refused_with_advice() {
    let server = Vsftpd::start_with(Options { cert: ServerCert::UnknownCa, ..Options::default() });
    let err = Session::connect(&config(&server, Login::password(PASSWORD))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsUnknownCa, "{err}");
    assert!(err.message().contains("--ca-file"), "{err}");
}

#[test]
fn a_server_certificate_for_another_host_is_refused() {
    let server = Vsftpd::start_with(Options { cert: ServerCert::OtherHostName, ..Options::default() });
    let err = Session::connect(&config(&server, Login::password(PASSWORD))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsHostnameMismatch, "{err}");
    assert!(err.message().contains(vsftpd::OTHER_HOST), "names the certificate's host: {err}");
}

#[test]
fn a_rejected_client_certificate_is_reported_as_such() {
    let server = Vsftpd::start();
    let pki = server.pki();
    let stranger = Identity::from_pem_files(&pki.client_cert_unknown_ca, Some(&pki.client_key)).unwrap();
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.identity = Arc::new(stranger);
    let err = Session::connect(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsClientCertificateRejected, "{err}");
}

#[cfg(not(feature = "legacy-tls"))]
#[test]
fn a_tls10_server_is_refused_with_the_version_and_the_feature_named() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, ..Options::default() });
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.endpoint = cfg.endpoint.with_generation(Generation::Legacy);
    let err = Session::connect(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsProtocolVersion, "{err}");
    assert!(err.message().contains("TLS 1.0") && err.message().contains("the gateway requires TLS 1.2"), "{err}");
    assert!(err.message().contains("legacy-tls"), "{err}");
}

#[test]
fn a_tls10_server_is_refused_for_the_new_gateway() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10And11, ..Options::default() });
    let err = Session::connect(&config(&server, Login::password(PASSWORD))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsProtocolVersion, "{err}");
    assert!(err.message().contains("TLS 1.0/1.1") && err.message().contains("the gateway requires TLS 1.2"), "{err}");
    assert!(err.message().contains("new gateway (port 6381)"), "{err}");
}

#[test]
fn refused_and_silent_servers_fail_fast_with_host_port_and_phase() {
    let server = Vsftpd::start();
    // A port nobody listens on: bind, note, close.
    let closed_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.endpoint = Endpoint::custom("127.0.0.1", closed_port);
    let err = Session::connect(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert!(err.message().contains(&format!("127.0.0.1:{closed_port}")) && err.message().contains("control connection"), "{err}");

    // A server that accepts and never says a word.
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    cfg.endpoint = Endpoint::custom("127.0.0.1", silent.local_addr().unwrap().port());
    cfg.timeouts = Timeouts { connect: Duration::from_secs(2), io: Duration::from_millis(700) };
    let started = Instant::now();
    let err = Session::connect(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.message().contains("greeting"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "the read time-out applies: {:?}", started.elapsed());
}

#[test]
fn a_large_transfer_streams_without_holding_the_file_in_memory() {
    // A reader that produces 64 MiB without holding it, and a writer that only counts: if the session buffered
    // the file, the process's peak memory would exceed the file's size.
    struct Generated(u64);
    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (buf.len() as u64).min(self.0) as usize;
            buf[..n].iter_mut().enumerate().for_each(|(i, b)| *b = (i % 253) as u8);
            self.0 -= n as u64;
            Ok(n)
        }
    }
    let server = Vsftpd::start();
    let mut session = connect(&server);
    let len = 64 * 1024 * 1024;
    assert_eq!(session.put(&mut Generated(len), "big.bin", TransferType::Binary, None).unwrap(), len);
    assert_eq!(std::fs::metadata(server.root().join("big.bin")).unwrap().len(), len);
    let mut counted = CountingSink(0);
    assert_eq!(session.get("big.bin", &mut counted, TransferType::Binary, None).unwrap(), len);
    assert_eq!(counted.0, len);
    if let Some(peak) = peak_rss_kib() {
        assert!(peak < 48 * 1024, "peak RSS {peak} KiB for a 64 MiB transfer");
    }

    struct CountingSink(u64);
    impl std::io::Write for CountingSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}

/// The process's peak resident memory (VmHWM) in KiB, where /proc tells it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// --- the CLI's low-level commands, run as a user would

fn cli(server: &Vsftpd, args: &[&str]) -> std::process::Output {
    let pki = server.pki();
    let port = server.port().to_string();
    std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(args)
        .args(["--host", "127.0.0.1", "--port", &port, "--timeout", "20"])
        .arg("--cert")
        .arg(&pki.client_cert)
        .arg("--key")
        .arg(&pki.client_key)
        .arg("--ca-file")
        .arg(&pki.ca_cert)
        .env("SKAT_GATEWAY_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run skat-gateway")
}

#[track_caller]
fn assert_exit(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cli_put_ls_get_rm() {
    let server = Vsftpd::start();
    let work = server.dir().join("work");
    std::fs::create_dir(&work).unwrap();
    let local = work.join("declaration.xml");
    let content = pattern(200_000);
    std::fs::write(&local, &content).unwrap();

    let put = cli(&server, &["put", local.to_str().unwrap()]);
    assert_exit(&put, 0);
    assert!(put.stderr.is_empty(), "no progress bar or chatter when stderr is not a terminal: {}", String::from_utf8_lossy(&put.stderr));
    assert_eq!(std::fs::read(server.root().join("declaration.xml")).unwrap(), content);

    let ls = cli(&server, &["ls"]);
    assert_exit(&ls, 0);
    assert_eq!(String::from_utf8_lossy(&ls.stdout), "      200000  declaration.xml\n");

    let copy = work.join("copy.xml");
    let get = cli(&server, &["get", "declaration.xml", copy.to_str().unwrap()]);
    assert_exit(&get, 0);
    assert_eq!(std::fs::read(&copy).unwrap(), content);

    let rm = cli(&server, &["rm", "declaration.xml"]);
    assert_exit(&rm, 0);
    assert!(!server.root().join("declaration.xml").exists());
}

#[test]
fn cli_failures_give_documented_exit_codes_and_leave_no_partial_file() {
    let server = Vsftpd::start();
    let work = server.dir().join("work");
    std::fs::create_dir(&work).unwrap();

    // A missing remote file: exit 8, and nothing (not even a temporary file) left behind.
    let get = cli(&server, &["get", "missing.xml", work.to_str().unwrap()]);
    assert_exit(&get, 8);
    assert!(String::from_utf8_lossy(&get.stderr).contains("missing.xml"));
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0, "no file written");

    // A wrong password: exit 7, the password never printed, not even in the most verbose log (suppaftp traces
    // every command it sends).
    let pki = server.pki();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(["ls", "-vvv", "--host", "127.0.0.1", "--port", &server.port().to_string()])
        .arg("--cert")
        .arg(&pki.client_cert)
        .arg("--key")
        .arg(&pki.client_key)
        .arg("--ca-file")
        .arg(&pki.ca_cert)
        .env("SKAT_GATEWAY_PASSWORD", "wrong-password-77")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_exit(&output, 7);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(USERNAME) && !stderr.contains("wrong-password-77"), "{stderr}");
    assert!(stderr.contains("CC OUT: AUTH TLS"), "the trace log was on: {stderr}");

    // No password at all and no terminal to ask on: a usage error naming the ways to give one.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(["ls", "--host", "127.0.0.1", "--port", &server.port().to_string()])
        .arg("--cert")
        .arg(&pki.client_cert)
        .arg("--key")
        .arg(&pki.client_key)
        .env_remove("SKAT_GATEWAY_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SKAT_GATEWAY_PASSWORD") && stderr.contains("--password-file"), "{stderr}");
}

// --- the legacy gateway's TLS 1.0, through OpenSSL (cargo feature `legacy-tls`)

#[cfg(feature = "legacy-tls")]
#[test]
fn legacy_tls_speaks_tls10_to_a_legacy_endpoint_and_resumes_the_session_on_data_connections() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, ..Options::default() });
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.endpoint = cfg.endpoint.with_generation(Generation::Legacy);
    let mut session = Session::connect(&cfg).expect("TLS 1.0 through the legacy-tls backend");
    let content = pattern(300_000);
    session.put(&mut Cursor::new(&content), "old.xml", TransferType::Binary, None).unwrap();
    assert_eq!(std::fs::read(server.root().join("old.xml")).unwrap(), content);
    let mut back = Vec::new();
    session.get("old.xml", &mut back, TransferType::Binary, None).unwrap();
    assert!(back == content);
    assert_eq!(session.list(None).unwrap().len(), 1);
    session.quit().unwrap();
    let log = server.log();
    assert!(log.contains("SSL version: TLSv1.0,"), "TLS 1.0 was used:\n{log}");
    assert!(log.contains(", reused, CERT PRESENTED"), "data connections resumed the TLS session:\n{log}");
}

#[cfg(feature = "legacy-tls")]
#[test]
fn legacy_tls_still_checks_the_server_certificate() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, cert: ServerCert::UnknownCa, ..Options::default() });
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.endpoint = cfg.endpoint.with_generation(Generation::Legacy);
    let err = Session::connect(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsUnknownCa, "{err}");

    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, cert: ServerCert::OtherHostName, ..Options::default() });
    let mut cfg = config(&server, Login::password(PASSWORD));
    cfg.endpoint = cfg.endpoint.with_generation(Generation::Legacy);
    let err = Session::connect(&cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TlsHostnameMismatch, "{err}");
}

// --- against the gateway simulator (libunftp): its listing format, its refusals, the legacy login

mod against_the_simulator {
    use super::*;
    use gateway::sim::{SimConfig, Simulator, HEARTBEAT_SERVICE, LOGIN_INFO_FILE, LOGIN_INFO_SERVICE};

    fn start() -> (tempfile::TempDir, gateway::sim::SimHandle) {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::start(SimConfig::new(dir.path().join("sim"))).expect("start the simulator");
        (dir, sim)
    }

    fn session_config(sim: &gateway::sim::SimHandle, port: u16, login: Login) -> SessionConfig {
        let client = sim.client();
        let identity = Identity::from_pem_files(&client.cert_pem, Some(&client.key_pem)).unwrap();
        SessionConfig::new(Endpoint::custom("127.0.0.1", port).with_data_ports(36000..=39999), Arc::new(identity), login)
            .with_tls(TlsOptions::private_ca(sim.ca_file()))
            .with_timeouts(Timeouts { connect: Duration::from_secs(5), io: Duration::from_secs(20) })
    }

    #[test]
    fn new_gateway_lists_services_and_out_uploads_and_refuses_with_kinds() {
        let (_dir, sim) = start();
        let login = Login::password(sim.client().gateway_password().clone());
        let mut session = Session::connect(&session_config(&sim, sim.port(), login)).unwrap();
        assert_eq!(session.username(), sim.client().username);

        let root = session.list(None).unwrap();
        let folders: Vec<_> = root.iter().filter(|e| e.is_dir).map(|e| e.name.as_str()).collect();
        assert!(folders.contains(&"out") && folders.contains(&HEARTBEAT_SERVICE), "{root:?}");
        assert!(!root.iter().any(|e| e.name.starts_with('.')), "hidden folders stay hidden: {root:?}");

        let remote = format!("{HEARTBEAT_SERVICE}/ping-transport-test.xml");
        session.put(&mut Cursor::new(b"<ping/>".to_vec()), &remote, TransferType::Binary, None).unwrap();

        // Uploading outside a service folder is refused: a permission error naming the path.
        let err = session.put(&mut Cursor::new(b"x".to_vec()), "not-a-service.xml", TransferType::Binary, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(err.message().contains("not-a-service.xml"), "{err}");
        // Downloading something that is not there: not found.
        let err = session.get("out/no-such-status.xml", &mut Vec::new(), TransferType::Binary, None).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied), "{err}");
        session.noop().unwrap();
        session.quit().unwrap();
    }

    #[test]
    fn legacy_gateway_logs_in_on_the_certificate_alone_and_serves_the_migration_file() {
        let (_dir, sim) = start();
        let legacy_port = sim.legacy_port().expect("a legacy gateway");
        let mut cfg = session_config(&sim, legacy_port, Login::CertificateOnly { username: None });
        cfg.endpoint = cfg.endpoint.with_generation(Generation::Legacy);
        let mut session = Session::connect(&cfg).expect("certificate-only login");
        assert_eq!(session.username_source(), UsernameSource::Certificate);
        let id_folder = sim.client().username.split_once("_UID_").map(|(_, uid)| format!("UID_{uid}")).unwrap();
        let mut info = Vec::new();
        session
            .get(&format!("{id_folder}/{LOGIN_INFO_SERVICE}/{LOGIN_INFO_FILE}"), &mut info, TransferType::Binary, None)
            .unwrap();
        let info = String::from_utf8(info).unwrap();
        assert!(info.contains(&sim.client().username), "{info}");
        assert!(info.contains(sim.client().gateway_password().expose()), "the migration file carries the password");
    }
}
