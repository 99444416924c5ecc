//! The library's FTPS session (`gateway::ftp::Session`) against the gateway-like vsftpd and its variants:
//! the interoperability matrix of the transport issue.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gateway::ftp::{Login, Session, SessionConfig, Timeouts, TransferType};
use gateway::tls::TlsOptions;
use gateway::{Endpoint, ErrorKind, Identity};
use sha2::{Digest, Sha256};

use crate::vsftpd::{
    Options, ServerCert, ServerTls, Vsftpd, FOREIGN_PASV_ADDRESS, OTHER_HOST, PASSWORD, USERNAME,
};

pub fn identity(server: &Vsftpd) -> Arc<Identity> {
    let pki = server.pki();
    Arc::new(
        Identity::from_pem_files(&pki.client_cert, Some(&pki.client_key))
            .expect("load the test client certificate"),
    )
}

/// A session configuration for `server` reached as `host` (`127.0.0.1` or `localhost`): the test CA as the
/// only trust root, password login with the user name derived from the certificate.
pub fn config_for(server: &Vsftpd, host: &str) -> SessionConfig {
    let endpoint = Endpoint::custom(host, server.port()).with_data_ports(server.passive_ports());
    SessionConfig::new(endpoint, identity(server), Login::password(PASSWORD))
        .with_tls(TlsOptions::private_ca(&server.pki().ca_cert))
        .with_timeouts(Timeouts {
            connect: Duration::from_secs(5),
            io: Duration::from_secs(30),
        })
}

pub fn config(server: &Vsftpd) -> SessionConfig {
    config_for(server, "127.0.0.1")
}

/// Writes `len` bytes of a deterministic non-text pattern to `path`, streaming, and returns their SHA-256.
pub fn write_pattern_file(path: &Path, len: u64) -> String {
    let mut file = BufWriter::new(File::create(path).expect("create a local test file"));
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ len;
    let mut block = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            // xorshift64: cheap, and no two blocks alike, so a dropped or repeated block changes the hash.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])
            .expect("write the local test file");
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    file.flush().expect("flush the local test file");
    hex::encode(hasher.finalize())
}

/// The SHA-256 of a file, streaming.
pub fn sha256_file(path: &Path) -> String {
    let mut file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut block).expect("read a file to hash it");
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    hex::encode(hasher.finalize())
}

#[test]
fn session_lists_uploads_and_downloads_empty_small_and_100_mib_files_intact() {
    let server = Vsftpd::start();
    let local = server.dir().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = [
        ("empty.xml", 0u64),
        ("small.xml", 4_321),
        ("big.bin", 100 * 1024 * 1024),
    ];
    let hashes: Vec<String> = files
        .iter()
        .map(|(name, len)| write_pattern_file(&local.join(name), *len))
        .collect();

    // By host name: the server certificate is checked against `localhost`, as against the gateway's name.
    let mut session =
        Session::connect(&config_for(&server, "localhost")).expect("connect and log in");
    assert_eq!(session.username(), USERNAME);
    assert!(
        session.list(None).unwrap().is_empty(),
        "a fresh server root is empty"
    );

    for ((name, len), hash) in files.iter().zip(&hashes) {
        let mut reader = File::open(local.join(name)).unwrap();
        let sent = session
            .put(&mut reader, name, TransferType::Binary, None)
            .expect("upload");
        assert_eq!(sent, *len, "{name}: bytes sent");
        assert_eq!(
            &sha256_file(&server.root().join(name)),
            hash,
            "{name}: the server's copy is intact"
        );
        assert_eq!(session.size(name).unwrap(), *len, "{name}: SIZE");
    }

    let mut listed = session.list(None).unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let listed: Vec<(&str, bool, Option<u64>)> = listed
        .iter()
        .map(|e| (e.name.as_str(), e.is_dir, e.size))
        .collect();
    assert_eq!(
        listed,
        [
            ("big.bin", false, Some(100 * 1024 * 1024)),
            ("empty.xml", false, Some(0)),
            ("small.xml", false, Some(4_321))
        ]
    );

    for ((name, len), hash) in files.iter().zip(&hashes) {
        let target = local.join(format!("{name}.downloaded"));
        let mut writer = BufWriter::new(File::create(&target).unwrap());
        let received = session
            .get(name, &mut writer, TransferType::Binary, None)
            .expect("download");
        drop(writer);
        assert_eq!(received, *len, "{name}: bytes received");
        assert_eq!(
            &sha256_file(&target),
            hash,
            "{name}: the downloaded copy is intact"
        );
    }
    session.quit().expect("QUIT");

    // Every data connection (1 listing + 3 uploads + 1 listing + 3 downloads) resumed the TLS session.
    let log = server.log();
    let resumed = log.matches(", reused, CERT PRESENTED").count();
    assert!(
        resumed >= 8,
        "{resumed} data connections resumed the TLS session:\n{log}"
    );
    assert!(!log.contains("FAIL"), "{log}");
}

#[test]
fn session_without_tls_resumption_fails_with_the_522_explanation() {
    let strict = Vsftpd::start();
    strict.put_file("present.xml", b"<xml/>");
    let mut no_resumption = config(&strict);
    no_resumption.tls.session_resumption = false;
    // vsftpd ends the whole session after a 522, so each attempt gets a session of its own. The control
    // connection and the login need no resumption; the first data connection does.
    for attempt in ["list", "put", "get"] {
        let mut session = Session::connect(&no_resumption).expect("log in without resumption");
        let error = match attempt {
            "list" => session.list(None).map(drop),
            "put" => session
                .put(
                    &mut &b"<xml/>"[..],
                    "refused.xml",
                    TransferType::Binary,
                    None,
                )
                .map(drop),
            _ => session
                .get("present.xml", &mut Vec::new(), TransferType::Binary, None)
                .map(drop),
        }
        .expect_err("a data connection without TLS session reuse must fail");
        assert_eq!(
            error.kind(),
            ErrorKind::TlsSessionReuseRequired,
            "{attempt}: {error:?}"
        );
        assert_eq!(
            error.server_reply().map(|r| r.code),
            Some(522),
            "{attempt}: {error}"
        );
        let message = error.message().to_lowercase();
        assert!(
            message.contains("522") && message.contains("resum"),
            "{attempt}: the message explains it: {error}"
        );
    }
    assert_eq!(
        strict.log().matches("522 SSL connection failed").count(),
        3,
        "{}",
        strict.log()
    );
    // vsftpd creates the file on STOR, before the data connection; no byte of it arrived.
    let stored = std::fs::metadata(strict.root().join("refused.xml"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(stored, 0, "no data was stored");

    // The same client setting against a server that does not insist works: it was the reuse, nothing else.
    let lenient = Vsftpd::start_with(Options {
        require_ssl_reuse: false,
        ..Options::default()
    });
    let mut no_resumption = config(&lenient);
    no_resumption.tls.session_resumption = false;
    let mut session = Session::connect(&no_resumption).unwrap();
    session
        .put(
            &mut &b"<xml/>"[..],
            "accepted.xml",
            TransferType::Binary,
            None,
        )
        .expect("upload without reuse");
    assert_eq!(
        std::fs::read(lenient.root().join("accepted.xml")).unwrap(),
        b"<xml/>"
    );
}

#[test]
fn session_refuses_servers_limited_to_tls_1_0_or_1_1_with_the_protocol_version_message() {
    for tls in [ServerTls::Tls10And11, ServerTls::Tls10Only] {
        let server = Vsftpd::start_with(Options {
            tls,
            ..Options::default()
        });
        let error = Session::connect(&config(&server)).expect_err("TLS 1.0/1.1 must be refused");
        assert_eq!(
            error.kind(),
            ErrorKind::TlsProtocolVersion,
            "{tls:?}: {error}"
        );
        assert!(
            error.message().contains("TLS 1.2"),
            "{tls:?}: names the required version: {error}"
        );
        assert!(
            !server.log().contains("OK LOGIN"),
            "{tls:?}: no login happened"
        );
    }
}

#[test]
fn session_refuses_a_server_certificate_from_an_unknown_ca() {
    let server = Vsftpd::start_with(Options {
        cert: ServerCert::UnknownCa,
        ..Options::default()
    });
    let error = Session::connect(&config(&server)).expect_err("an unknown CA must be refused");
    assert_eq!(error.kind(), ErrorKind::TlsUnknownCa, "{error}");
    assert!(
        error
            .message()
            .contains(&format!("127.0.0.1:{}", server.port())),
        "names the server: {error}"
    );
    assert!(
        error.message().contains("--ca-file"),
        "says how to trust a private CA: {error}"
    );
    assert!(
        !server.log().contains("USER "),
        "no credentials were sent: {}",
        server.log()
    );

    // Trusting that CA makes the same server acceptable: it was the issuer, nothing else.
    let mut trusting = config(&server);
    trusting.tls = TlsOptions::private_ca(&server.pki().unknown_ca_cert);
    Session::connect(&trusting)
        .expect("connect when the CA is trusted")
        .quit()
        .unwrap();
}

#[test]
fn session_refuses_a_server_certificate_for_another_host_name() {
    let server = Vsftpd::start_with(Options {
        cert: ServerCert::OtherHostName,
        ..Options::default()
    });
    for host in ["127.0.0.1", "localhost"] {
        let error = Session::connect(&config_for(&server, host))
            .expect_err("a certificate for another host must be refused");
        assert_eq!(
            error.kind(),
            ErrorKind::TlsHostnameMismatch,
            "{host}: {error}"
        );
        assert!(
            error.message().contains(host),
            "{host}: names the host we asked for: {error}"
        );
        assert!(
            error.message().contains(OTHER_HOST),
            "{host}: names the host the certificate is for: {error}"
        );
    }
    assert!(
        !server.log().contains("USER "),
        "no credentials were sent: {}",
        server.log()
    );
}

#[test]
fn session_reports_a_wrong_password_as_authentication_without_the_password() {
    let server = Vsftpd::start();
    let mut wrong = config(&server);
    let attempted = "not-the-password-4711";
    wrong.login = Login::password(attempted);
    let error = Session::connect(&wrong).expect_err("a wrong password must be refused");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{error}");
    assert_eq!(error.server_reply().map(|r| r.code), Some(530), "{error}");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains(USERNAME), "names the user name: {shown}");
    assert!(
        shown.contains("derived from the certificate"),
        "says where the user name came from: {shown}"
    );
    assert!(
        !shown.contains(attempted),
        "never shows the password: {shown}"
    );

    // A user name given instead of derived is reported as given, so the user knows which one to fix.
    let mut given = config(&server);
    given.login = Login::Password {
        username: Some("CVR_99999999_UID_1".into()),
        password: gateway::Secret::new(PASSWORD),
    };
    let error = Session::connect(&given).expect_err("an unregistered user name must be refused");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{error}");
    assert!(
        error.message().contains("CVR_99999999_UID_1") && error.message().contains("as given"),
        "{error}"
    );
}

#[test]
fn session_reports_a_client_certificate_the_server_rejects() {
    // Same subject and key, issued by a CA vsftpd does not trust: the server ends the handshake.
    let server = Vsftpd::start();
    let pki = server.pki();
    let rejected =
        Identity::from_pem_files(&pki.client_cert_unknown_ca, Some(&pki.client_key)).unwrap();
    let mut config = config(&server);
    config.identity = Arc::new(rejected);
    let error =
        Session::connect(&config).expect_err("an untrusted client certificate must be refused");
    assert_eq!(
        error.kind(),
        ErrorKind::TlsClientCertificateRejected,
        "{error}"
    );
    assert!(error.message().contains("client certificate"), "{error}");
}

#[test]
fn a_client_certificate_without_its_key_is_reported_as_such() {
    // The public certificate alone (as exported for the agency) cannot authenticate a client: the library
    // says which file lacks what, instead of connecting without a client certificate.
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = crate::vsftpd::Pki::mint(pki_dir.path());
    let error = Identity::from_pem_files(&pki.client_cert, None)
        .map(drop)
        .expect_err("no key, no identity");
    assert_eq!(error.kind(), ErrorKind::PrivateKeyMissing, "{error}");
    assert!(
        error.message().contains("client.pem"),
        "names the file: {error}"
    );
}

#[test]
fn session_ignores_the_address_in_the_227_reply_and_never_connects_there() {
    let server = Vsftpd::start_with(Options {
        pasv_address: Some(FOREIGN_PASV_ADDRESS),
        ..Options::default()
    });
    let tracer = crate::connect_trace::ConnectTrace::start();

    let mut session = Session::connect(&config(&server)).expect("connect");
    session
        .put(
            &mut &b"<xml>pasv</xml>"[..],
            "pasv.xml",
            TransferType::Binary,
            None,
        )
        .expect("upload");
    let names: Vec<String> = session
        .list(None)
        .expect("list")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["pasv.xml"]);
    let mut back = Vec::new();
    session
        .get("pasv.xml", &mut back, TransferType::Binary, None)
        .expect("download");
    assert_eq!(back, b"<xml>pasv</xml>");
    let data_peer = session
        .last_data_address()
        .expect("a data connection was made");
    session.quit().unwrap();

    let connects = tracer.finish();
    // The server really did send the foreign address...
    server.assert_announced_pasv_address(FOREIGN_PASV_ADDRESS);
    // ... and this process never tried to reach it: every TCP connect went to loopback, one to the control
    // port and three (upload, listing, download) into the passive range.
    assert!(
        connects
            .iter()
            .all(|c| c.ip == IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "connect() calls: {connects:?}"
    );
    let control = connects.iter().filter(|c| c.port == server.port()).count();
    let data = connects
        .iter()
        .filter(|c| server.passive_ports().contains(&c.port))
        .count();
    assert_eq!((control, data), (1, 3), "connect() calls: {connects:?}");
    assert_eq!(data_peer.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
}
