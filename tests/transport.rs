//! The FTPS session against a real vsftpd on loopback, configured like the gateway (the interop harness in
//! `tests/interop/vsftpd.rs`: TLS 1.2 only, client certificate required, session reuse required, passive
//! range). Focused on the transport's own promises: rename and delete, folders, streaming in flat memory,
//! ASCII conversion, time-outs, and the legacy TLS 1.0 backend. The interoperability matrix (100 MiB files,
//! every server variant, TLS and login failures, the 227 address, the command-line tool) lives in
//! `tests/interop*`; each case is tested once, there.
//!
//! Needs root and vsftpd (the README's test command installs it).

#[path = "interop/vsftpd.rs"]
mod vsftpd;

use gateway::ftp::{Login, Session, SessionConfig, Timeouts, TransferType, UsernameSource};
use gateway::tls::TlsOptions;
use gateway::{Endpoint, ErrorKind, Generation, Identity};
use std::io::{Cursor, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};
#[cfg(feature = "legacy-tls")]
use vsftpd::ServerCert;
use vsftpd::{Options, ServerTls, Vsftpd, PASSWORD, USERNAME};

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
    // Each data connection (three uploads, three downloads, the listing) sent its TLS hello before its command
    // and carried on from it, resumed (the log check below), which saves a round trip per transfer.
    assert_eq!(session.early_tls_hellos(), 7);

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
fn with_tls13_allowed_data_connections_start_tls_only_when_used() {
    // TLS 1.3 tickets are taken when a connection is made: an early hello for a refused command would use one
    // up. So with TLS 1.3 allowed the hello waits for the transfer (vsftpd here speaks 1.2 only, and must still
    // see every data connection resume).
    let server = Vsftpd::start();
    let mut config = config(&server, Login::password(PASSWORD));
    config.tls.allow_tls13 = true;
    let mut session = Session::connect(&config).expect("connect and log in");
    let err = session.get("missing.xml", &mut Vec::new(), TransferType::Binary, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let content = pattern(4096);
    session.put(&mut Cursor::new(&content), "after.xml", TransferType::Binary, None).unwrap();
    assert_eq!(std::fs::read(server.root().join("after.xml")).unwrap(), content);
    assert_eq!(session.early_tls_hellos(), 0);
    session.quit().unwrap();
    assert!(server.log().contains(", reused, CERT PRESENTED"), "the data connection resumed:\n{}", server.log());
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

    // A local folder given as the file to upload is refused before the server creates anything.
    let folder = server.dir().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let error = session.upload_file(&folder, "a-folder.xml", TransferType::Binary, None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert!(error.message().contains("a-folder") && error.message().contains("not a regular file"), "{error}");
    assert!(!out.join("a-folder.xml").exists(), "no remote file was created");
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
