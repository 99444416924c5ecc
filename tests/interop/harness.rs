//! The harness itself, proven with independent clients (curl, `openssl s_client`): the server really is
//! configured like the gateway, and each variant really misbehaves the way the library's tests assume.

use std::process::{Command, Output, Stdio};

use crate::vsftpd::{Options, ServerCert, ServerTls, Vsftpd, USERNAME};

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e} (run scripts/install-test-deps)"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// curl's exit status, with its output in the message when it is not the expected one.
#[track_caller]
fn assert_curl_exit(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "curl exit status; stdout: {} stderr: {}",
        stdout(output),
        stderr(output)
    );
}

#[test]
fn harness_curl_lists_uploads_and_downloads_with_tls12_and_session_reuse() {
    let server = Vsftpd::start();
    server.put_file("served.txt", b"served by vsftpd\n");

    let list = run(server.curl().arg("--list-only").arg(server.url("/")));
    assert_curl_exit(&list, 0);
    assert_eq!(stdout(&list).lines().collect::<Vec<_>>(), ["served.txt"]);

    let download = run(server.curl().arg(server.url("served.txt")));
    assert_curl_exit(&download, 0);
    assert_eq!(download.stdout, b"served by vsftpd\n");

    let local = server.dir().join("upload.bin");
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&local, &content).unwrap();
    let upload = run(server
        .curl()
        .arg("--upload-file")
        .arg(&local)
        .arg(server.url("uploaded.bin")));
    assert_curl_exit(&upload, 0);
    assert_eq!(
        std::fs::read(server.root().join("uploaded.bin")).unwrap(),
        content
    );

    let log = server.log();
    // vsftpd logs the cipher suite's version; its GCM suites exist in TLS 1.2 only.
    assert!(
        log.contains("SSL version: TLSv1.2, SSL cipher: ECDHE-RSA-AES256-GCM-SHA384"),
        "TLS 1.2 was used:\n{log}"
    );
    assert!(
        log.contains(", reused, CERT PRESENTED"),
        "data connections resumed the TLS session:\n{log}"
    );
    assert!(
        log.contains(&format!("[{USERNAME}] OK LOGIN")),
        "the certificate's user logged in:\n{log}"
    );
    assert!(
        log.contains("OK UPLOAD") && log.contains("OK DOWNLOAD"),
        "{log}"
    );
}

#[test]
fn harness_refuses_other_tls_versions() {
    let server = Vsftpd::start();
    // OpenSSL 3 itself offers TLS 1.1 only at security level 0: lower it so that the *server* must refuse.
    let tls11 = run(Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "ftp",
            "-tls1_1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-connect",
        ])
        .arg(server.addr().to_string())
        .stdin(Stdio::null()));
    assert!(
        !tls11.status.success(),
        "TLS 1.1 must be refused: {}",
        stdout(&tls11)
    );
    assert!(
        stderr(&tls11).contains("alert protocol version"),
        "refused by a protocol_version alert: {}",
        stderr(&tls11)
    );

    let tls13 = run(server
        .curl()
        .args(["--tlsv1.3", "--tls-max", "1.3", "--list-only"])
        .arg(server.url("/")));
    assert_curl_exit(&tls13, 35);

    assert_eq!(
        negotiated_protocol(&server, "-tls1_2").as_deref(),
        Some("TLSv1.2")
    );
    assert_eq!(negotiated_protocol(&server, "-tls1"), None);
}

#[test]
fn harness_requires_a_client_certificate_from_the_test_ca() {
    let server = Vsftpd::start();
    let without = run(Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--ssl-reqd",
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--list-only",
            "--cacert",
        ])
        .arg(&server.pki().ca_cert)
        .args(["--user", &format!("{USERNAME}:{}", crate::vsftpd::PASSWORD)])
        .arg(server.url("/")));
    assert_curl_exit(&without, 35);

    let unknown_ca = run(server
        .curl()
        .arg("--cert")
        .arg(&server.pki().client_cert_unknown_ca)
        .arg("--list-only")
        .arg(server.url("/")));
    assert_curl_exit(&unknown_ca, 35);

    // The PKCS#12 form of the good certificate works.
    let p12 = run(server
        .curl()
        .args(["--cert-type", "P12", "--cert"])
        .arg(format!(
            "{}:{}",
            server.pki().client_p12.display(),
            crate::vsftpd::Pki::P12_PASSWORD
        ))
        .arg("--list-only")
        .arg(server.url("/")));
    assert_curl_exit(&p12, 0);
}

#[test]
fn harness_refuses_a_wrong_password() {
    let server = Vsftpd::start();
    let wrong = run(server
        .curl()
        .args(["--user", &format!("{USERNAME}:wrong"), "--list-only"])
        .arg(server.url("/")));
    assert_curl_exit(&wrong, 67);
    assert!(stderr(&wrong).contains("530"), "{}", stderr(&wrong));
}

#[test]
fn harness_requires_tls_session_reuse_on_data_connections() {
    let strict = Vsftpd::start();
    let no_reuse = run(strict
        .curl()
        .args(["--no-sessionid", "--list-only"])
        .arg(strict.url("/")));
    assert_curl_exit(&no_reuse, 18);
    assert!(stderr(&no_reuse).contains("522"), "{}", stderr(&no_reuse));

    let lenient = Vsftpd::start_with(Options {
        require_ssl_reuse: false,
        ..Options::default()
    });
    let no_reuse = run(lenient
        .curl()
        .args(["--no-sessionid", "--list-only"])
        .arg(lenient.url("/")));
    assert_curl_exit(&no_reuse, 0);
}

/// `openssl s_client` with the client certificate and one protocol version flag (`-tls1`, `-tls1_1`, ...);
/// security level 0 so that OpenSSL 3 offers the old versions at all. Returns the negotiated protocol.
fn negotiated_protocol(server: &Vsftpd, version_flag: &str) -> Option<String> {
    let out = run(Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "ftp",
            version_flag,
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-connect",
        ])
        .arg(server.addr().to_string())
        .arg("-cert")
        .arg(&server.pki().client_cert)
        .arg("-key")
        .arg(&server.pki().client_key)
        .stdin(Stdio::null()));
    let text = stdout(&out);
    let protocol = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Protocol  : ").map(str::to_owned));
    protocol.filter(|_| out.status.success())
}

#[test]
fn harness_legacy_variants_speak_only_tls_1_0_or_1_1() {
    let legacy = Vsftpd::start_with(Options {
        tls: ServerTls::Tls10Only,
        ..Options::default()
    });
    assert_eq!(
        negotiated_protocol(&legacy, "-tls1").as_deref(),
        Some("TLSv1")
    );
    assert_eq!(negotiated_protocol(&legacy, "-tls1_1"), None);
    assert_eq!(negotiated_protocol(&legacy, "-tls1_2"), None);
    // A whole FTP exchange over TLS 1.0 works (curl, with OpenSSL lowered to security level 0).
    let tls10 = run(legacy
        .curl()
        .args([
            "--tlsv1.0",
            "--tls-max",
            "1.0",
            "--ciphers",
            "DEFAULT:@SECLEVEL=0",
            "--list-only",
        ])
        .arg(legacy.url("/")));
    assert_curl_exit(&tls10, 0);
    assert_curl_exit(
        &run(legacy.curl().arg("--list-only").arg(legacy.url("/"))),
        35,
    );

    let older = Vsftpd::start_with(Options {
        tls: ServerTls::Tls10And11,
        ..Options::default()
    });
    assert_eq!(
        negotiated_protocol(&older, "-tls1").as_deref(),
        Some("TLSv1")
    );
    assert_eq!(
        negotiated_protocol(&older, "-tls1_1").as_deref(),
        Some("TLSv1.1")
    );
    assert_eq!(negotiated_protocol(&older, "-tls1_2"), None);
}

#[test]
fn harness_bad_server_certificates_are_refused_by_curl() {
    let unknown = Vsftpd::start_with(Options {
        cert: ServerCert::UnknownCa,
        ..Options::default()
    });
    let out = run(unknown.curl().arg("--list-only").arg(unknown.url("/")));
    assert_curl_exit(&out, 60);
    // ... and accepted when the unknown CA is trusted, so it is the issuer that made the difference.
    let trusting = run(unknown
        .curl()
        .arg("--cacert")
        .arg(&unknown.pki().unknown_ca_cert)
        .arg("--list-only")
        .arg(unknown.url("/")));
    assert_curl_exit(&trusting, 0);

    let other = Vsftpd::start_with(Options {
        cert: ServerCert::OtherHostName,
        ..Options::default()
    });
    let out = run(other.curl().arg("--list-only").arg(other.url("/")));
    assert_curl_exit(&out, 60);
    // ... and accepted under the name it was issued for, so it is the name that made the difference.
    let resolved = run(other
        .curl()
        .args([
            "--resolve",
            &format!("{}:{}:127.0.0.1", crate::vsftpd::OTHER_HOST, other.port()),
            "--list-only",
        ])
        .arg(format!(
            "ftp://{}:{}/",
            crate::vsftpd::OTHER_HOST,
            other.port()
        )));
    assert_curl_exit(&resolved, 0);
}

#[test]
fn harness_pasv_address_variant_names_a_foreign_address() {
    let address = crate::vsftpd::FOREIGN_PASV_ADDRESS;
    let server = Vsftpd::start_with(Options {
        pasv_address: Some(address),
        ..Options::default()
    });
    // curl ignores the address in a 227 reply by default (--ftp-skip-pasv-ip), so it still works.
    let out = run(server
        .curl()
        .args(["--disable-epsv", "--list-only"])
        .arg(server.url("/")));
    assert_curl_exit(&out, 0);
    server.assert_announced_pasv_address(address);
}

#[test]
fn harness_stops_the_server_and_its_sessions_when_dropped() {
    let mut server = Vsftpd::start();
    assert!(server.is_running());
    let addr = server.addr();
    // An open session: vsftpd forked processes for it (in a session of their own), which must go too.
    let mut session = std::net::TcpStream::connect(addr).unwrap();
    let mut greeting = [0u8; 3];
    std::io::Read::read_exact(&mut session, &mut greeting).unwrap();
    assert_eq!(&greeting, b"220");
    let ids = server.process_ids();
    assert!(
        ids.len() >= 2,
        "the server and the session's processes: {ids:?}"
    );
    drop(server);
    let alive: Vec<u32> = ids
        .iter()
        .copied()
        .filter(|&pid| crate::vsftpd::process_alive(pid))
        .collect();
    assert!(alive.is_empty(), "processes left running: {alive:?}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nobody listens on {addr} any more"
    );
}
