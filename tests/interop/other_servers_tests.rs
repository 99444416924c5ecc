//! The library session, the command-line tool and independent clients against ProFTPD and Pure-FTPd (see
//! `other_servers.rs` for how each is configured and what Pure-FTPd cannot be made to require).
//!
//! Each scenario runs once per server: `proftpd_*` and `pureftpd_*` tests.

use std::io::BufWriter;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gateway::ftp::{Durability, Login, Session, SessionConfig, Timeouts, TransferType};
use gateway::tls::TlsOptions;
use gateway::{Endpoint, ErrorKind, Identity};

use crate::cli::{assert_exit, path, text};
use crate::other_servers::{Kind, OtherServer};
use crate::session::{sha256_file, write_pattern_file};
use crate::vsftpd::{PASSWORD, USERNAME};

/// "A few MiB": several 64 KiB transfer buffers and TLS records, yet quick.
const LARGE: u64 = 4 * 1024 * 1024;

fn config(server: &OtherServer) -> SessionConfig {
    let pki = server.pki();
    let identity = Identity::from_pem_files(&pki.client_cert, Some(&pki.client_key)).expect("load the test client certificate");
    // By host name: the server certificate is checked against `localhost`, as against the gateway's name.
    let endpoint = Endpoint::custom("localhost", server.port()).with_data_ports(server.passive_ports());
    SessionConfig::new(endpoint, Arc::new(identity), Login::password(PASSWORD))
        .with_tls(TlsOptions::private_ca(&pki.ca_cert))
        .with_timeouts(Timeouts { connect: Duration::from_secs(5), io: Duration::from_secs(30) })
}

/// The name, folder flag and size of each entry, sorted by name.
fn listed(session: &mut Session, path: Option<&str>) -> Vec<(String, bool, Option<u64>)> {
    let mut entries: Vec<_> =
        session.list(path).expect("list").into_iter().map(|e| (e.name, e.is_dir, e.size)).collect();
    entries.sort();
    entries
}

fn entry(name: &str, is_dir: bool, size: Option<u64>) -> (String, bool, Option<u64>) {
    (name.to_owned(), is_dir, size)
}

fn session_round_trip(kind: Kind) {
    let server = OtherServer::start(kind);
    server.make_dir("folder");
    let local = server.dir().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = [("empty.xml", 0u64), ("small.xml", 4_321), ("large.bin", LARGE)];
    let hashes: Vec<String> = files.iter().map(|(name, len)| write_pattern_file(&local.join(name), *len)).collect();

    let mut session = Session::connect(&config(&server)).expect("connect and log in");
    assert_eq!(session.username(), USERNAME);
    assert_eq!(listed(&mut session, None), [entry("folder", true, None)]);

    for ((name, len), hash) in files.iter().zip(&hashes) {
        let sent = session.upload_file(&local.join(name), name, TransferType::Binary, None).expect("upload");
        assert_eq!(sent, *len, "{name}: bytes sent");
        assert_eq!(&sha256_file(&server.root().join(name)), hash, "{name}: the server's copy is intact");
        assert_eq!(session.size(name).unwrap(), *len, "{name}: SIZE");
    }
    // Files with their sizes, the folder without one (Pure-FTPd's MLSD gives folders a `sizd`).
    assert_eq!(
        listed(&mut session, None),
        [
            entry("empty.xml", false, Some(0)),
            entry("folder", true, None),
            entry("large.bin", false, Some(LARGE)),
            entry("small.xml", false, Some(4_321)),
        ]
    );
    assert_eq!(listed(&mut session, Some("folder")), []);

    for ((name, len), hash) in files.iter().zip(&hashes) {
        let target = local.join(format!("{name}.downloaded"));
        let received =
            session.download_file(name, &target, TransferType::Binary, Durability::Atomic, None).expect("download");
        assert_eq!(received, *len, "{name}: bytes received");
        assert_eq!(&sha256_file(&target), hash, "{name}: the downloaded copy is intact");
    }
    // Streaming into memory too: the end of the data is the data connection's end.
    let mut small = Vec::new();
    session.get("small.xml", &mut BufWriter::new(&mut small), TransferType::Binary, None).unwrap();
    assert_eq!(small, std::fs::read(local.join("small.xml")).unwrap());

    session.rename("small.xml", "folder/moved.xml").expect("rename into the folder");
    assert_eq!(listed(&mut session, Some("folder")), [entry("moved.xml", false, Some(4_321))]);
    for name in ["empty.xml", "large.bin", "folder/moved.xml"] {
        session.delete(name).unwrap_or_else(|e| panic!("delete {name}: {e}"));
    }
    assert_eq!(listed(&mut session, None), [entry("folder", true, None)]);

    let missing = session.download_file("nothing-here.xml", &local.join("x"), TransferType::Binary, Durability::Atomic, None);
    let error = missing.expect_err("a missing file");
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(error.message().contains("nothing-here.xml"), "{error}");
    assert!(!local.join("x").exists(), "no local file for a failed download");
    session.quit().expect("QUIT");

    if kind == Kind::ProFtpd {
        // ProFTPD's own account of the TLS: version 1.2, data connections resumed (else it refuses them).
        let log = server.tls_log();
        assert!(log.contains("TLSv1.2 connection accepted"), "{log}");
        assert!(log.contains("client reused TLS session for data connection"), "{log}");
        assert!(!log.contains("did not reuse"), "{log}");
    }
}

#[test]
fn proftpd_session_lists_uploads_downloads_renames_and_deletes_files_intact() {
    session_round_trip(Kind::ProFtpd);
}

#[test]
fn pureftpd_session_lists_uploads_downloads_renames_and_deletes_files_intact() {
    session_round_trip(Kind::PureFtpd);
}

fn session_refusals(kind: Kind) {
    let server = OtherServer::start(kind);

    let mut wrong = config(&server);
    let attempted = "not-the-password-4711";
    wrong.login = Login::password(attempted);
    let error = Session::connect(&wrong).expect_err("a wrong password must be refused");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{error}");
    assert_eq!(error.server_reply().map(|r| r.code), Some(530), "{error}");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains(USERNAME), "names the user name: {shown}");
    assert!(!shown.contains(attempted), "never shows the password: {shown}");

    // Same subject and key, issued by a CA the server does not trust: the server ends the handshake.
    let pki = server.pki();
    let mut other = config(&server);
    other.identity = Arc::new(Identity::from_pem_files(&pki.client_cert_unknown_ca, Some(&pki.client_key)).unwrap());
    let error = Session::connect(&other).expect_err("an untrusted client certificate must be refused");
    assert_eq!(error.kind(), ErrorKind::TlsClientCertificateRejected, "{error}");
    assert!(error.message().contains("client certificate"), "{error}");

    // The server still serves the right client afterwards.
    Session::connect(&config(&server)).expect("connect").quit().expect("QUIT");
}

#[test]
fn proftpd_session_reports_a_wrong_password_and_a_rejected_client_certificate() {
    session_refusals(Kind::ProFtpd);
}

#[test]
fn pureftpd_session_reports_a_wrong_password_and_a_rejected_client_certificate() {
    session_refusals(Kind::PureFtpd);
}

/// `skat-gateway ARGS... <connection options>` with `password` in the environment and `cert` as the client
/// certificate (the key is the same for both test certificates).
fn cli(server: &OtherServer, args: &[&str], password: &str, cert: &Path) -> Output {
    let pki = server.pki();
    let port = server.port().to_string();
    #[rustfmt::skip]
    let connection = ["--host", "127.0.0.1", "--port", &port, "--timeout", "30",
                      "--cert", path(cert), "--key", path(&pki.client_key), "--ca-file", path(&pki.ca_cert)];
    Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(args)
        .args(connection)
        .env("SKAT_GATEWAY_PASSWORD", password)
        .env_remove("SKAT_GATEWAY_CERT_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("run skat-gateway")
}

fn cli_round_trip(kind: Kind) {
    let server = OtherServer::start(kind);
    server.make_dir("folder");
    let cert = server.pki().client_cert.clone();
    let run = |args: &[&str]| cli(&server, args, PASSWORD, &cert);
    let local = server.dir().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = [("empty.xml", 0u64), ("small.xml", 4_321), ("large.bin", LARGE)];
    for (name, len) in files {
        let hash = write_pattern_file(&local.join(name), len);
        assert_exit(&run(&["put", path(&local.join(name)), name]), 0);
        assert_eq!(sha256_file(&server.root().join(name)), hash, "{name}: uploaded intact");
        let back = local.join(format!("{name}.back"));
        assert_exit(&run(&["get", name, path(&back)]), 0);
        assert_eq!(sha256_file(&back), hash, "{name}: downloaded intact");
    }

    let ls = run(&["ls"]);
    assert_exit(&ls, 0);
    let lines: Vec<String> = text(&ls.stdout).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let mut lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    lines.sort_by_key(|l| l.split(' ').nth(1).map(str::to_owned));
    assert_eq!(lines, ["0 empty.xml", "- folder/", &format!("{LARGE} large.bin"), "4321 small.xml"]);

    for (name, _) in files {
        assert_exit(&run(&["rm", name]), 0);
    }
    assert_eq!(text(&run(&["ls"]).stdout).split_whitespace().collect::<Vec<_>>(), ["-", "folder/"]);

    let missing = run(&["rm", "nothing-here.xml"]);
    assert_exit(&missing, 8);
    assert!(text(&missing.stderr).contains("nothing-here.xml"), "{}", text(&missing.stderr));

    let wrong = "wrong-password-0815";
    let refused = cli(&server, &["ls"], wrong, &cert);
    assert_exit(&refused, 7);
    let stderr = text(&refused.stderr);
    assert!(stderr.contains(USERNAME) && stderr.contains("530"), "{stderr}");
    assert!(!stderr.contains(wrong), "never the password: {stderr}");

    let rejected = cli(&server, &["ls"], PASSWORD, &server.pki().client_cert_unknown_ca);
    assert_exit(&rejected, 5);
    assert!(text(&rejected.stderr).contains("client certificate"), "{}", text(&rejected.stderr));
}

#[test]
fn proftpd_cli_puts_lists_gets_and_removes_files_with_the_documented_exit_codes() {
    cli_round_trip(Kind::ProFtpd);
}

#[test]
fn pureftpd_cli_puts_lists_gets_and_removes_files_with_the_documented_exit_codes() {
    cli_round_trip(Kind::PureFtpd);
}

fn curl(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run curl: {e} (run scripts/install-test-deps)"))
}

/// The harness itself, proven with curl: the server really requires what the module documentation says, so
/// the library's successes above mean something.
fn harness_requirements(kind: Kind) {
    let server = OtherServer::start(kind);
    let root = server.url("/");
    assert_exit(&curl(server.curl(true).args(["--tls-max", "1.2", "--list-only"]).arg(&root)), 0);
    // No client certificate, or one from another CA: the handshake fails (curl 35).
    assert_exit(&curl(server.curl(false).args(["--tls-max", "1.2", "--list-only"]).arg(&root)), 35);
    let unknown_ca = curl(
        server
            .curl(false)
            .arg("--cert")
            .arg(&server.pki().client_cert_unknown_ca)
            .arg("--key")
            .arg(&server.pki().client_key)
            .args(["--tls-max", "1.2", "--list-only"])
            .arg(&root),
    );
    assert_exit(&unknown_ca, 35);
    // TLS 1.3 only: refused with a protocol_version alert.
    let tls13 = curl(server.curl(true).args(["--tlsv1.3", "--list-only"]).arg(&root));
    assert_exit(&tls13, 35);
    assert!(text(&tls13.stderr).contains("protocol version"), "{}", text(&tls13.stderr));
    // TLS on the control connection only (PROT C): the data connection is refused (ProFTPD refuses PROT C and
    // then waits for a TLS handshake curl never starts, hence the short time limit).
    #[rustfmt::skip]
    let clear_data = curl(server.curl_without_ftps(true)
        .args(["--ftp-ssl-control", "--tls-max", "1.2", "--max-time", "5", "--list-only"]).arg(&root));
    assert!(!clear_data.status.success(), "clear-text data must be refused: {}", text(&clear_data.stdout));
    if kind == Kind::ProFtpd {
        // A data connection that does not resume the control connection's TLS session: refused with 425.
        let no_reuse = curl(server.curl(true).args(["--no-sessionid", "--tls-max", "1.2", "--list-only"]).arg(&root));
        assert_exit(&no_reuse, 18);
        assert!(text(&no_reuse.stderr).contains("425"), "{}", text(&no_reuse.stderr));
        assert!(server.tls_log().contains("client did not reuse TLS session"), "{}", server.tls_log());
        assert!(server.tls_log().contains("TLSRequired requires protection for data transfers"), "{}", server.tls_log());
    }
}

#[test]
fn proftpd_harness_requires_tls12_a_client_certificate_protected_data_and_session_reuse() {
    harness_requirements(Kind::ProFtpd);
}

#[test]
fn pureftpd_harness_requires_tls12_a_client_certificate_and_protected_data() {
    harness_requirements(Kind::PureFtpd);
}

#[test]
fn other_servers_stop_with_their_sessions_when_dropped() {
    for kind in [Kind::ProFtpd, Kind::PureFtpd] {
        let server = OtherServer::start(kind);
        let addr = server.addr();
        // An open session: the server forked a process for it, which must go too.
        let mut session = std::net::TcpStream::connect(addr).unwrap();
        let mut greeting = [0u8; 3];
        std::io::Read::read_exact(&mut session, &mut greeting).unwrap();
        assert_eq!(&greeting, b"220");
        let ids = server.process_ids();
        assert!(ids.len() >= 2, "{kind:?}: the server and the session's processes: {ids:?}");
        drop(server);
        let alive: Vec<u32> = ids.iter().copied().filter(|&pid| crate::vsftpd::process_alive(pid)).collect();
        assert!(alive.is_empty(), "{kind:?}: processes left running: {alive:?}");
        assert!(std::net::TcpStream::connect(addr).is_err(), "{kind:?}: nobody listens on {addr} any more");
    }
}

#[test]
fn proftpd_session_without_tls_resumption_is_explained_although_proftpd_answers_425() {
    // ProFTPD refuses a data connection that does not resume the control connection's TLS session with
    // "425 Unable to build data connection: Operation not permitted", not vsftpd's 522: the error must still
    // point at the resumption, not at a firewall (the data port was reached).
    let server = OtherServer::start(Kind::ProFtpd);
    let mut no_resumption = config(&server);
    no_resumption.tls.session_resumption = false;
    let mut session = Session::connect(&no_resumption).expect("log in without resumption");
    for attempt in ["list", "put", "get"] {
        let error = match attempt {
            "list" => session.list(None).map(drop),
            "put" => session.put(&mut &b"<xml/>"[..], "refused.xml", TransferType::Binary, None).map(drop),
            _ => session.get("refused.xml", &mut Vec::new(), TransferType::Binary, None).map(drop),
        }
        .expect_err("a data connection without TLS session reuse must fail");
        assert_eq!(error.kind(), ErrorKind::TlsSessionReuseRequired, "{attempt}: {error:?}");
        assert_eq!(error.server_reply().map(|r| r.code), Some(425), "{attempt}: {error}");
        let message = error.message().to_lowercase();
        assert!(message.contains("resume") && !message.contains("firewall"), "{attempt}: {error}");
    }
    // ProFTPD keeps the session: the three refusals above came from one login.
    let log = server.tls_log();
    assert_eq!(log.matches("client did not reuse TLS session").count(), 3, "{log}");
    session.quit().expect("QUIT");
}
