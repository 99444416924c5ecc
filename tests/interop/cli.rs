//! The command-line tool (`skat-gateway ls/put/get/rm`) against the gateway-like vsftpd: what a user's
//! script sees, exit codes and messages included.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::session::{sha256_file, write_pattern_file};
use crate::vsftpd::{
    Options, Pki, ServerCert, ServerTls, Vsftpd, FOREIGN_PASV_ADDRESS, PASSWORD, USERNAME,
};

/// The connection options for `server`: host, port, PEM certificate and key, the test CA.
fn connection_args(server: &Vsftpd) -> Vec<String> {
    let pki = server.pki();
    let mut args: Vec<String> = [
        "--host",
        "127.0.0.1",
        "--port",
        &server.port().to_string(),
        "--timeout",
        "30",
    ]
    .map(String::from)
    .to_vec();
    for (option, file) in [
        ("--cert", &pki.client_cert),
        ("--key", &pki.client_key),
        ("--ca-file", &pki.ca_cert),
    ] {
        args.extend([option.to_owned(), path(file).to_owned()]);
    }
    args
}

/// `skat-gateway ARGS...` with the gateway password in the environment (never an argument).
fn skat_gateway(args: &[&str], password: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skat-gateway"));
    command
        .args(args)
        .env("SKAT_GATEWAY_PASSWORD", password)
        .env_remove("SKAT_GATEWAY_CERT_PASSWORD")
        // The options of each test only, not a profile of the machine's environment.
        .env_remove("SKAT_GATEWAY_CONFIG")
        .env_remove("SKAT_GATEWAY_PROFILE")
        .stdin(Stdio::null());
    command
}

/// Runs `skat-gateway SUBCOMMAND ARGS... <connection options for server>` with the right password.
fn run(server: &Vsftpd, subcommand_and_args: &[&str]) -> Output {
    skat_gateway(subcommand_and_args, PASSWORD)
        .args(connection_args(server))
        .output()
        .expect("run skat-gateway")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status; stdout: {} stderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

#[test]
fn cli_puts_lists_gets_and_removes_empty_small_and_100_mib_files_intact() {
    let server = Vsftpd::start();
    let local = server.dir().join("local");
    std::fs::create_dir(&local).unwrap();
    let files = [
        ("empty.xml", 0u64),
        ("small.xml", 4_321),
        ("big.bin", 100 * 1024 * 1024),
    ];
    for (name, len) in files {
        let hash = write_pattern_file(&local.join(name), len);
        let upload = run(&server, &["put", path(&local.join(name))]);
        assert_exit(&upload, 0);
        assert!(
            upload.stderr.is_empty(),
            "no progress bar or chatter when stderr is not a terminal: {}",
            text(&upload.stderr)
        );
        assert_eq!(
            sha256_file(&server.root().join(name)),
            hash,
            "{name}: the server's copy is intact"
        );

        let target = local.join(format!("{name}.downloaded"));
        let download = run(&server, &["get", name, path(&target)]);
        assert_exit(&download, 0);
        assert_eq!(
            sha256_file(&target),
            hash,
            "{name}: the downloaded copy is intact"
        );
    }

    let listing = run(&server, &["ls"]);
    assert_exit(&listing, 0);
    let lines: Vec<(String, String)> = text(&listing.stdout)
        .lines()
        .map(|line| {
            let mut fields = line.split_whitespace();
            (
                fields.next().unwrap_or_default().to_owned(),
                fields.next().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("104857600", "big.bin"),
        ("0", "empty.xml"),
        ("4321", "small.xml"),
    ]
    .iter()
    .map(|(size, name)| (size.to_string(), name.to_string()))
    .collect();
    assert_eq!(lines, expected, "ls: size and name per line, sorted");

    // A remote name of its own, into a folder.
    server.make_dir("in");
    assert_exit(
        &run(
            &server,
            &["put", path(&local.join("small.xml")), "in/renamed.xml"],
        ),
        0,
    );
    assert_eq!(
        std::fs::read(server.root().join("in/renamed.xml")).unwrap(),
        std::fs::read(local.join("small.xml")).unwrap()
    );

    for name in ["empty.xml", "small.xml", "big.bin", "in/renamed.xml"] {
        assert_exit(&run(&server, &["rm", name]), 0);
        assert!(!server.root().join(name).exists(), "{name} was removed");
    }
    let listing = run(&server, &["ls"]);
    assert_exit(&listing, 0);
    let names: Vec<String> = text(&listing.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect();
    assert_eq!(
        names,
        ["in/"],
        "only the (now empty) folder is left; folders end in /"
    );
    assert!(
        server.log().matches(", reused, CERT PRESENTED").count() >= 8,
        "data connections resumed the TLS session"
    );
}

#[test]
fn cli_works_with_the_pkcs12_file_and_its_password() {
    let server = Vsftpd::start();
    server.put_file("reply.xml", b"<reply/>");
    let pki = server.pki();
    let port = server.port().to_string();
    let output = skat_gateway(&["ls", "--host", "127.0.0.1", "--port", &port], PASSWORD)
        .args([
            "--cert",
            path(&pki.client_p12),
            "--ca-file",
            path(&pki.ca_cert),
        ])
        .env("SKAT_GATEWAY_CERT_PASSWORD", Pki::P12_PASSWORD)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(
        text(&output.stdout).contains("reply.xml"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn cli_follows_the_control_connection_not_the_227_address() {
    let server = Vsftpd::start_with(Options {
        pasv_address: Some(FOREIGN_PASV_ADDRESS),
        ..Options::default()
    });
    let local = server.dir().join("pasv.xml");
    std::fs::write(&local, b"<xml>pasv</xml>").unwrap();
    // strace -f on the CLI process: every connect() it makes, with its address.
    let trace = server.dir().join("connect.trace");
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-e", "trace=connect", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_skat-gateway"));
    command
        .args(["put", path(&local)])
        .args(connection_args(&server));
    let output = command
        .env("SKAT_GATEWAY_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run strace ({e}): run scripts/install-test-deps"));
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read(server.root().join("pasv.xml")).unwrap(),
        b"<xml>pasv</xml>"
    );

    server.assert_announced_pasv_address(FOREIGN_PASV_ADDRESS);
    let traced = std::fs::read_to_string(&trace).unwrap();
    let inet: Vec<&str> = traced
        .lines()
        .filter(|l| l.contains("connect(") && l.contains("AF_INET"))
        .collect();
    assert!(
        !traced.contains(&FOREIGN_PASV_ADDRESS.to_string()),
        "no connect() to the 227 address:\n{traced}"
    );
    assert!(
        inet.iter().all(|l| l.contains("inet_addr(\"127.0.0.1\")")),
        "only loopback:\n{traced}"
    );
    assert_eq!(
        inet.len(),
        2,
        "one control and one data connection:\n{traced}"
    );
}

#[test]
fn cli_errors_say_what_happened_with_the_documented_exit_codes() {
    // Login refused: exit 7, the user name and its origin, never the password, not even in the most verbose
    // log (suppaftp traces every command it sends).
    let server = Vsftpd::start();
    let wrong = "wrong-password-0815";
    let output = skat_gateway(&["ls", "-vvv"], wrong)
        .args(connection_args(&server))
        .output()
        .unwrap();
    assert_exit(&output, 7);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(USERNAME) && stderr.contains("530"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "never the password: {stderr}");
    assert!(stderr.contains("CC OUT: AUTH TLS"), "the trace log was on: {stderr}");

    // No password at all and no terminal to ask on: the ways to give one are named (exit 3).
    let output = skat_gateway(&["ls"], PASSWORD)
        .env_remove("SKAT_GATEWAY_PASSWORD")
        .args(connection_args(&server))
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("SKAT_GATEWAY_PASSWORD") && stderr.contains("--password-file"),
        "{stderr}"
    );

    // A missing file on the server: exit 8, naming it.
    let output = run(
        &server,
        &["get", "nothing-here.xml", path(&server.dir().join("x"))],
    );
    assert_exit(&output, 8);
    assert!(
        text(&output.stderr).contains("nothing-here.xml"),
        "{}",
        text(&output.stderr)
    );
    assert!(!server.dir().join("x").exists(), "no partial local file");

    // No client certificate given, and no profile to take one from: the option is named (exit 3, argument error).
    let port = server.port().to_string();
    let output = skat_gateway(&["ls", "--host", "127.0.0.1", "--port", &port], PASSWORD)
        .output()
        .unwrap();
    assert_exit(&output, 3);
    assert!(
        text(&output.stderr).contains("--cert"),
        "{}",
        text(&output.stderr)
    );

    // The certificate without its key: exit 4, naming the file and the --key option.
    let logins_before = server.log().matches("\"USER ").count();
    let output = skat_gateway(&["ls", "--host", "127.0.0.1", "--port", &port], PASSWORD)
        .args([
            "--cert",
            path(&server.pki().client_cert),
            "--ca-file",
            path(&server.pki().ca_cert),
        ])
        .output()
        .unwrap();
    assert_exit(&output, 4);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("client.pem") && stderr.contains("--key"),
        "{stderr}"
    );
    assert_eq!(
        server.log().matches("\"USER ").count(),
        logins_before,
        "no login attempt without a usable certificate"
    );
}

#[test]
fn cli_tls_failures_exit_5_with_the_cause() {
    let old = Vsftpd::start_with(Options {
        tls: ServerTls::Tls10And11,
        ..Options::default()
    });
    let output = run(&old, &["ls"]);
    assert_exit(&output, 5);
    assert!(
        text(&output.stderr).contains("TLS 1.2"),
        "{}",
        text(&output.stderr)
    );

    let unknown = Vsftpd::start_with(Options {
        cert: ServerCert::UnknownCa,
        ..Options::default()
    });
    let output = run(&unknown, &["ls"]);
    assert_exit(&output, 5);
    assert!(
        text(&output.stderr).contains("--ca-file"),
        "says how to trust a CA: {}",
        text(&output.stderr)
    );

    let other = Vsftpd::start_with(Options {
        cert: ServerCert::OtherHostName,
        ..Options::default()
    });
    let output = run(&other, &["ls"]);
    assert_exit(&output, 5);
    assert!(
        text(&output.stderr).contains("127.0.0.1"),
        "{}",
        text(&output.stderr)
    );
}

#[cfg(not(feature = "legacy-tls"))]
#[test]
fn cli_legacy_gateway_without_the_feature_explains_it() {
    // Without the legacy-tls build, a legacy endpoint is tried with TLS 1.2; the refusal names the feature.
    let server = Vsftpd::start_with(Options { tls: ServerTls::Tls10Only, ..Options::default() });
    let output = run(&server, &["ls", "--gateway", "legacy"]);
    assert_exit(&output, 5);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("TLS 1.2") && stderr.contains("legacy-tls"), "{stderr}");
}

/// The file-system calls of `skat-gateway get ARGS...`, as strace reports them (`fsync`, renames, links).
fn traced_get(server: &Vsftpd, get_args: &[&str]) -> Vec<String> {
    let log = server.dir().join(format!("get-{}.strace", get_args.len()));
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(get_args)
        .args(connection_args(server))
        .env("SKAT_GATEWAY_PASSWORD", PASSWORD)
        .stdin(Stdio::null());
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run strace ({e}): run scripts/install-test-deps"));
    assert_exit(&output, 0);
    std::fs::read_to_string(&log)
        .expect("strace wrote its log")
        .lines()
        // With more than one thread traced, strace starts each line with the thread's id.
        .map(|line| {
            let line = line.trim_start();
            match line.split_once(' ') {
                Some((pid, call)) if pid.bytes().all(|b| b.is_ascii_digit()) => call.trim_start().to_owned(),
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[test]
fn cli_get_syncs_the_file_before_renaming_it_into_place_only_when_asked() {
    let server = Vsftpd::start();
    write_pattern_file(&server.root().join("receipt.xml"), 300_000);
    let local = server.dir().join("receipt.xml");
    let is_sync = |call: &String| call.starts_with("fsync(") || call.starts_with("fdatasync(");
    let is_rename = |call: &String| call.starts_with("rename") && call.contains("receipt.xml");

    // --sync: the data is on disk before the name appears, and the folder entry after.
    let calls = traced_get(&server, &["get", "--sync", "receipt.xml", path(&local)]);
    let rename = calls.iter().position(is_rename).unwrap_or_else(|| panic!("a rename into place: {calls:#?}"));
    assert!(calls[..rename].iter().any(is_sync), "the data is synced before the rename: {calls:#?}");
    assert!(calls[rename + 1..].iter().any(is_sync), "the folder is synced after the rename: {calls:#?}");
    let synced = std::fs::read(&local).unwrap();
    std::fs::remove_file(&local).unwrap();

    // The default, like curl and lftp: still renamed into place whole, but no sync to wait for.
    let calls = traced_get(&server, &["get", "receipt.xml", path(&local)]);
    assert!(calls.iter().any(is_rename), "a rename into place: {calls:#?}");
    assert!(!calls.iter().any(is_sync), "no sync without --sync: {calls:#?}");
    assert_eq!(std::fs::read(&local).unwrap(), synced);
    assert_eq!(sha256_file(&local), sha256_file(&server.root().join("receipt.xml")));
}
