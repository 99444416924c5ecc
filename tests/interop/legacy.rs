//! The `legacy-tls` feature (OpenSSL for legacy-gateway endpoints) against vsftpd limited to TLS 1.0 or
//! TLS 1.0-1.1, the way the legacy gateway speaks: the interop matrix of the new gateway, repeated where the
//! backend differs. Compiled only with `--features legacy-tls` (scripts/test runs these by name: every test
//! here has "legacy" in its name).

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};

use gateway::ftp::{Session, SessionConfig, TransferType};
use gateway::{ErrorKind, Generation};

use crate::session::{config, sha256_file, write_pattern_file};
use crate::vsftpd::{Options, ServerTls, Vsftpd, FOREIGN_PASV_ADDRESS, PASSWORD};

fn legacy_config(server: &Vsftpd) -> SessionConfig {
    let mut config = config(server);
    config.endpoint = config.endpoint.with_generation(Generation::Legacy);
    config
}

#[test]
fn legacy_tls10_lists_uploads_and_downloads_empty_small_and_large_files_intact() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, ..Options::default() });
    let local = server.dir().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = [("empty.xml", 0u64), ("small.xml", 4_321), ("large.bin", 16 * 1024 * 1024)];
    let mut session = Session::connect(&legacy_config(&server)).expect("TLS 1.0 through the legacy-tls backend");
    for (name, len) in files {
        let hash = write_pattern_file(&local.join(name), len);
        let sent = session.put(&mut std::fs::File::open(local.join(name)).unwrap(), name, TransferType::Binary, None);
        assert_eq!(sent.expect("upload"), len);
        assert_eq!(sha256_file(&server.root().join(name)), hash, "{name}: the server's copy is intact");
        let target = local.join(format!("{name}.back"));
        let mut writer = std::fs::File::create(&target).unwrap();
        assert_eq!(session.get(name, &mut writer, TransferType::Binary, None).expect("download"), len);
        assert_eq!(sha256_file(&target), hash, "{name}: the downloaded copy is intact");
    }
    assert_eq!(session.list(None).unwrap().len(), 3);
    session.quit().unwrap();
    // 3 uploads + 3 downloads + 1 listing, every one resuming the control connection's TLS session.
    let log = server.log();
    assert!(log.matches(", reused, CERT PRESENTED").count() >= 7, "{log}");
}

#[test]
fn legacy_tls_speaks_to_a_server_limited_to_tls10_and_11() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10And11, ..Options::default() });
    let mut session = Session::connect(&legacy_config(&server)).expect("TLS 1.1 through the legacy-tls backend");
    session.put(&mut &b"<old/>"[..], "old.xml", TransferType::Binary, None).unwrap();
    assert_eq!(std::fs::read(server.root().join("old.xml")).unwrap(), b"<old/>");
}

#[test]
fn legacy_tls_is_never_used_for_the_new_gateway() {
    // The same TLS 1.0 server, but the endpoint is of the new generation: rustls, TLS 1.2 only, refused.
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, ..Options::default() });
    let error = Session::connect(&config(&server)).expect_err("no TLS 1.0 for the new gateway");
    assert_eq!(error.kind(), ErrorKind::TlsProtocolVersion, "{error}");
}

#[test]
fn legacy_tls_data_connections_ignore_the_address_in_the_227_reply() {
    let server =
        Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, pasv_address: Some(FOREIGN_PASV_ADDRESS), ..Options::default() });
    let tracer = crate::connect_trace::ConnectTrace::start();
    let mut session = Session::connect(&legacy_config(&server)).expect("connect");
    session.put(&mut &b"<xml>pasv</xml>"[..], "pasv.xml", TransferType::Binary, None).expect("upload");
    let mut back = Vec::new();
    session.get("pasv.xml", &mut back, TransferType::Binary, None).expect("download");
    assert_eq!(back, b"<xml>pasv</xml>");
    session.quit().unwrap();
    let connects = tracer.finish();
    assert!(connects.iter().all(|c| c.ip == IpAddr::V4(Ipv4Addr::LOCALHOST)), "connect() calls: {connects:?}");
    let data = connects.iter().filter(|c| server.passive_ports().contains(&c.port)).count();
    assert_eq!(data, 2, "connect() calls: {connects:?}");
}

#[test]
fn legacy_gateway_through_the_cli() {
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, ..Options::default() });
    server.put_file("status_0_old.xml", b"<status/>");
    let pki = server.pki();
    let target = server.dir().join("status.xml");
    let output = Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(["get", "status_0_old.xml"])
        .arg(&target)
        .args(["--gateway", "legacy", "--host", "127.0.0.1", "--port", &server.port().to_string()])
        .arg("--cert")
        .arg(&pki.client_cert)
        .arg("--key")
        .arg(&pki.client_key)
        .arg("--ca-file")
        .arg(&pki.ca_cert)
        // vsftpd needs the local user's password; the legacy gateway itself takes any.
        .env("SKAT_GATEWAY_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read(&target).unwrap(), b"<status/>");
}
