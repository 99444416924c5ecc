//! Hostile and broken servers: a small scripted FTPS server (rustls, on loopback) that does what the gateway
//! never should: listings with names that try to leave the inbox or overwrite a file, endless greetings,
//! replies and listings, transfers that stall, a 227 reply naming another host, TLS 1.3 only, and expired,
//! self-signed or wrong-host certificates. Each case asserts what the client does instead: nothing written
//! outside the inbox, nothing overwritten, memory bounded, a time-out that fires, and an error of its own kind
//! with a message that says what happened.
//!
//! The embedded simulator is started only for its test PKI (CA, server and client certificates): the scripted
//! server presents the simulator's server certificate unless a case gives it another one.

mod workflow_support;

use gateway::ftp::{Durability, Session, TransferType};
use gateway::gateway::{Client, Config, GatewayChoice, PollOptions};
use gateway::ErrorKind;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use workflow_support::{config_for, start, Setup};

// --- the scripted server

/// What the scripted server does. The default is a well-behaved server: it answers every command the client
/// sends, lists `listing` for any LIST or MLSD, serves `files` (by the path the client gives) and keeps uploads.
#[derive(Clone, Default)]
struct Script {
    /// Offer TLS 1.3 only.
    tls13_only: bool,
    /// The server certificate chain and key; `None`: the simulator's own (valid for 127.0.0.1).
    cert: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    /// A greeting that never ends (`220-` lines forever).
    endless_greeting: bool,
    /// A command (its first word) answered with one line of 1 MiB.
    huge_reply_to: Option<&'static str>,
    /// The address the 227 reply names (the data port is always on 127.0.0.1).
    pasv_host: Option<[u8; 4]>,
    /// Announce MLST in FEAT, so that the client lists with MLSD.
    mlsd: bool,
    /// The raw bytes of every listing.
    listing: Vec<u8>,
    /// Send `listing` forever.
    endless_listing: bool,
    files: HashMap<String, Vec<u8>>,
    /// RETR sends this many bytes, then nothing more (the connection stays open).
    stall_download_after: Option<usize>,
    /// STOR reads nothing (the connection stays open).
    stall_upload: bool,
}

struct Server {
    port: u16,
    /// Every command received (PASS with its argument hidden).
    commands: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(setup: &Setup, script: Script) -> Server {
        let (chain, key) = match &script.cert {
            Some((chain, key)) => (chain.clone(), key.clone_key()),
            None => {
                let dir = setup.sim.dir();
                let chain = CertificateDer::pem_file_iter(dir.join("server-cert.pem")).unwrap().map(|c| c.unwrap()).collect();
                (chain, PrivateKeyDer::from_pem_file(dir.join("server-key.pem")).unwrap())
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] =
            if script.tls13_only { &[&rustls::version::TLS13] } else { &[&rustls::version::TLS12, &rustls::version::TLS13] };
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let tls = Arc::new(tls);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let log = Arc::clone(&commands);
        thread::spawn(move || {
            for control in listener.incoming().flatten() {
                let (tls, script, log) = (Arc::clone(&tls), Arc::clone(&script), Arc::clone(&log));
                thread::spawn(move || {
                    let _ = serve(control, &tls, &script, &log);
                });
            }
        });
        Server { port, commands }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    /// The arguments of every `verb` command received.
    fn arguments_of(&self, verb: &str) -> Vec<String> {
        self.commands().iter().filter_map(|c| c.strip_prefix(&format!("{verb} ")).map(str::to_owned)).collect()
    }
}

type Tls = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

fn secure(socket: TcpStream, tls: &Arc<rustls::ServerConfig>) -> std::io::Result<Tls> {
    let mut stream = rustls::StreamOwned::new(rustls::ServerConnection::new(Arc::clone(tls)).unwrap(), socket);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

fn read_line(stream: &mut impl Read) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    loop {
        if stream.read(&mut byte)? == 0 {
            return Ok(None);
        }
        if byte[0] == b'\n' {
            return Ok(Some(String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned()));
        }
        line.push(byte[0]);
    }
}

fn reply(stream: &mut impl Write, text: &str) -> std::io::Result<()> {
    stream.write_all(format!("{text}\r\n").as_bytes())?;
    stream.flush()
}

fn close_tls(mut stream: Tls) {
    stream.conn.send_close_notify();
    let _ = stream.flush();
}

fn serve(mut control: TcpStream, tls: &Arc<rustls::ServerConfig>, script: &Script, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    if script.endless_greeting {
        let line = format!("220-{}\r\n", "welcome ".repeat(100));
        loop {
            control.write_all(line.as_bytes())?;
        }
    }
    reply(&mut control, "220 scripted server")?;
    match read_line(&mut control)? {
        Some(auth) if auth.eq_ignore_ascii_case("AUTH TLS") => reply(&mut control, "234 AUTH TLS ok")?,
        _ => return Ok(()),
    }
    let mut control = secure(control, tls)?;
    let mut passive: Option<TcpListener> = None;
    while let Some(line) = read_line(&mut control)? {
        let (verb, argument) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb = verb.to_ascii_uppercase();
        log.lock().unwrap().push(if verb == "PASS" { "PASS ***".into() } else { line.clone() });
        if script.huge_reply_to == Some(verb.as_str()) {
            control.write_all(format!("200 {}\r\n", "x".repeat(1024 * 1024)).as_bytes())?;
            continue;
        }
        let data = |passive: &mut Option<TcpListener>| -> std::io::Result<Tls> {
            let listener = passive.take().expect("PASV before a transfer");
            let (socket, _) = listener.accept()?;
            secure(socket, tls)
        };
        match verb.as_str() {
            "USER" => reply(&mut control, "331 password please")?,
            "PASS" => reply(&mut control, "230 logged in")?,
            "PBSZ" | "PROT" | "TYPE" | "NOOP" | "OPTS" | "MODE" | "STRU" => reply(&mut control, "200 ok")?,
            "FEAT" if script.mlsd => reply(&mut control, "211-Features:\r\n MLST type*;size*;\r\n211 End")?,
            "FEAT" => reply(&mut control, "211-Features:\r\n PASV\r\n211 End")?,
            "PWD" => reply(&mut control, "257 \"/\" is the current folder")?,
            "CWD" => reply(&mut control, "250 ok")?,
            "QUIT" => {
                reply(&mut control, "221 bye")?;
                return Ok(());
            }
            "PASV" => {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let port = listener.local_addr()?.port();
                let [a, b, c, d] = script.pasv_host.unwrap_or([127, 0, 0, 1]);
                passive = Some(listener);
                reply(&mut control, &format!("227 Entering Passive Mode ({a},{b},{c},{d},{},{})", port >> 8, port & 0xff))?;
            }
            "LIST" | "MLSD" | "NLST" => {
                reply(&mut control, "150 here it comes")?;
                let mut stream = data(&mut passive)?;
                if script.endless_listing {
                    while stream.write_all(&script.listing).is_ok() {}
                    continue;
                }
                stream.write_all(&script.listing)?;
                close_tls(stream);
                reply(&mut control, "226 done")?;
            }
            "RETR" => match script.files.get(argument) {
                Some(content) => {
                    reply(&mut control, "150 here it comes")?;
                    let mut stream = data(&mut passive)?;
                    if let Some(after) = script.stall_download_after {
                        stream.write_all(&content[..after.min(content.len())])?;
                        stream.flush()?;
                        thread::sleep(Duration::from_secs(60));
                        continue;
                    }
                    stream.write_all(content)?;
                    close_tls(stream);
                    reply(&mut control, "226 done")?;
                }
                None => reply(&mut control, "550 no such file")?,
            },
            "SIZE" => match script.files.get(argument) {
                Some(content) => reply(&mut control, &format!("213 {}", content.len()))?,
                None => reply(&mut control, "550 no such file")?,
            },
            "STOR" => {
                reply(&mut control, "150 send it")?;
                let mut stream = data(&mut passive)?;
                if script.stall_upload {
                    thread::sleep(Duration::from_secs(60));
                    continue;
                }
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink);
                reply(&mut control, "226 stored")?;
            }
            "DELE" => reply(&mut control, "250 deleted")?,
            _ => reply(&mut control, "502 not implemented")?,
        }
    }
    Ok(())
}

// --- the client's side

/// A profile for the scripted server: the simulator's client certificate and CA, journal and inbox in `state`.
fn config(setup: &Setup, server: &Server, state: &str) -> Config {
    let mut config = config_for(&setup.sim, setup.client_files(), &setup.path(state));
    config.new_gateway.port = server.port;
    config.io_timeout = Duration::from_secs(5);
    config
}

fn session(setup: &Setup, server: &Server) -> gateway::Result<Session> {
    let config = config(setup, server, "state");
    let identity = Arc::new(config.load_identity().unwrap());
    Session::connect(&config.session_config(GatewayChoice::New, identity).unwrap())
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                folders.push(path);
            } else {
                found.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found
}

/// Names a hostile `out` listing offers, each of which must neither be fetched nor deleted, and the line each
/// appears in.
fn hostile_names() -> Vec<Vec<u8>> {
    vec![
        b"../escaped.xml".to_vec(),
        b"/etc/passwd".to_vec(),
        b"a/b.xml".to_vec(),
        b"..".to_vec(),
        b"back\\slash.xml".to_vec(),
        b"esc\x1b[2J.xml".to_vec(),
        b"bell\x07.xml".to_vec(),
        b"latin1-\xe6\xf8\xe5.xml".to_vec(),
        b".hidden.xml".to_vec(),
        [vec![b'n'; 300], b".xml".to_vec()].concat(),
        [vec![b'e'; 100 * 1024], b".xml".to_vec()].concat(),
    ]
}

fn listing(names: &[Vec<u8>], mlsd: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for name in names {
        if mlsd {
            out.extend_from_slice(b"type=file;size=5; ");
        } else {
            out.extend_from_slice(b"-rw-r--r--    1 1000     1000            5 Dec 02 10:00 ");
        }
        out.extend_from_slice(name);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn hostile_listing_is_contained(mlsd: bool) {
    let setup = start();
    let mut names = hostile_names();
    names.push(b"good.xml".to_vec());
    names.push(b"dup.xml".to_vec());
    let mut files = HashMap::new();
    for name in &names {
        // Were the client to ask for a hostile name, it would get something to write.
        files.insert(format!("out/{}", String::from_utf8_lossy(name)), b"EVIL!".to_vec());
    }
    files.insert("out/good.xml".into(), b"<good/>".to_vec());
    files.insert("out/dup.xml".into(), b"<dup/>".to_vec());
    let server = Server::start(&setup, Script { mlsd, listing: listing(&names, mlsd), files, ..Script::default() });

    let inbox = setup.path("state/inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("dup.xml"), b"mine").unwrap();
    let before = files_under(setup.dir.path());
    let mut client = Client::connect(config(&setup, &server, "state")).expect("connects to the scripted server");
    let report = client.poll(&inbox, &PollOptions { delete_unknown: true, ..PollOptions::default() }).expect("the poll goes on");
    drop(client);

    // Only the two plain names came in; the existing dup.xml was not overwritten.
    let fetched: BTreeSet<&str> = report.unknown_files.iter().chain(&report.files).map(|f| f.remote_name.as_str()).collect();
    assert_eq!(fetched, BTreeSet::from(["dup.xml", "good.xml"]), "{report:?}");
    assert_eq!(std::fs::read(inbox.join("dup.xml")).unwrap(), b"mine", "an inbox file is never overwritten");
    assert_eq!(std::fs::read(inbox.join("good.xml")).unwrap(), b"<good/>");
    let inbox_files: Vec<Vec<u8>> =
        std::fs::read_dir(&inbox).unwrap().flatten().map(|e| std::fs::read(e.path()).unwrap()).collect();
    assert_eq!(inbox_files.iter().filter(|c| c.as_slice() == b"<dup/>").count(), 1, "the second dup.xml is beside the first");
    assert!(inbox_files.iter().all(|c| c.as_slice() != b"EVIL!"), "no hostile name was fetched");

    // Nothing new outside the inbox but the journal's own files.
    let after = files_under(setup.dir.path());
    for new in after.difference(&before) {
        let allowed = new.starts_with("state/inbox") || new.to_string_lossy().starts_with("state/journal.sqlite");
        assert!(allowed, "{new:?} was written outside the inbox");
    }
    assert!(!Path::new("/etc/passwd.part").exists());

    // The server was asked for the two plain files and for no other, and only they were deleted.
    let asked: BTreeSet<String> = server.arguments_of("RETR").into_iter().collect();
    assert_eq!(asked, BTreeSet::from(["out/dup.xml".to_string(), "out/good.xml".to_string()]), "{:?}", server.commands());
    let deleted: BTreeSet<String> = server.arguments_of("DELE").into_iter().collect();
    assert_eq!(deleted, asked, "only what is safely in the inbox is deleted");

    // Names that can be listed but not stored are reported, not passed over in silence.
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(skipped.iter().any(|r| r.contains("dot")), "{skipped:?}");
    assert!(skipped.iter().any(|r| r.contains("UTF-8")), "{skipped:?}");
    assert!(skipped.iter().any(|r| r.contains("bytes long")), "{skipped:?}");
}

#[test]
fn a_hostile_list_listing_writes_nothing_outside_the_inbox_and_overwrites_nothing() {
    hostile_listing_is_contained(false);
}

#[test]
fn a_hostile_mlsd_listing_writes_nothing_outside_the_inbox_and_overwrites_nothing() {
    hostile_listing_is_contained(true);
}

/// The peak resident memory of the largest child this process has waited for, in KiB.
fn children_peak_rss_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given.
    unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()), 0);
        usage.assume_init().ru_maxrss
    }
}

#[test]
fn an_endless_listing_is_broken_off_with_memory_bounded() {
    let setup = start();
    let line = listing(&[b"again-and-again.xml".to_vec()], false);
    let server = Server::start(&setup, Script { listing: line.repeat(1000), endless_listing: true, ..Script::default() });
    let config_file = workflow_support::write_config(&setup, "state");
    let text = std::fs::read_to_string(&config_file).unwrap();
    let text = text.replacen(&format!("port = {}\n", setup.sim.port()), &format!("port = {}\n", server.port), 1);
    std::fs::write(&config_file, text).unwrap();

    let started = Instant::now();
    let output = workflow_support::cli(&config_file).args(["ls", "out"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("larger than 32 MiB") && stderr.contains("check host and port"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "broken off, not read on: {:?}", started.elapsed());
    let peak_mib = children_peak_rss_kib() / 1024;
    eprintln!("an endless listing: broken off after {:?}, peak RSS {peak_mib} MiB", started.elapsed());
    assert!(peak_mib < 160, "memory stays bounded: {peak_mib} MiB");
}

#[test]
fn an_endless_greeting_and_a_huge_reply_are_refused_with_a_clear_error() {
    let setup = start();
    let endless = Server::start(&setup, Script { endless_greeting: true, ..Script::default() });
    let error = session(&setup, &endless).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnexpectedReply, "{error}");
    assert!(error.message().contains("more than 256 KiB during the greeting"), "{error}");

    let huge = Server::start(&setup, Script { huge_reply_to: Some("PWD"), ..Script::default() });
    let mut session = session(&setup, &huge).expect("logs in");
    let error = session.pwd().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnexpectedReply, "{error}");
    assert!(error.message().contains("more than 256 KiB"), "{error}");
    // The half-read reply leaves the connection out of step: the session is given up, and says so.
    let next = session.noop().unwrap_err();
    assert_eq!(next.kind(), ErrorKind::ConnectionLost, "{next}");
    assert!(next.message().contains("connect again"), "{next}");
}

#[test]
fn a_server_that_stalls_mid_download_times_out_and_leaves_no_partial_file() {
    let setup = start();
    let mut files = HashMap::new();
    files.insert("out/big.xml".to_string(), vec![b'x'; 1024 * 1024]);
    let server = Server::start(&setup, Script { files, stall_download_after: Some(64 * 1024), ..Script::default() });
    let mut config = config(&setup, &server, "state");
    config.io_timeout = Duration::from_secs(1);
    let identity = Arc::new(config.load_identity().unwrap());
    let mut session = Session::connect(&config.session_config(GatewayChoice::New, identity).unwrap()).unwrap();
    let target = setup.path("big.xml");
    let started = Instant::now();
    let error = session.download_file("out/big.xml", &target, TransferType::Binary, Durability::Synced, None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.message().contains("did not answer in time"), "{error}");
    eprintln!("stalled download: {:?}: {error}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(30), "the time-out fired: {:?}", started.elapsed());
    assert!(!target.exists(), "no partial file under the target's name");
}

#[test]
fn a_server_that_stops_reading_mid_upload_times_out() {
    let setup = start();
    let server = Server::start(&setup, Script { stall_upload: true, ..Script::default() });
    let mut config = config(&setup, &server, "state");
    config.io_timeout = Duration::from_secs(1);
    let identity = Arc::new(config.load_identity().unwrap());
    let mut session = Session::connect(&config.session_config(GatewayChoice::New, identity).unwrap()).unwrap();
    let mut endless = std::io::repeat(b'x').take(1 << 30);
    let started = Instant::now();
    let error = session.put(&mut endless, "Manifest.AnkomstdeklarationOpret/x.xml", TransferType::Binary, None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    eprintln!("stalled upload: {:?}: {error}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(30), "the time-out fired: {:?}", started.elapsed());
}

#[test]
fn a_227_reply_naming_another_host_is_not_followed() {
    let setup = start();
    let server = Server::start(
        &setup,
        Script { pasv_host: Some([10, 255, 255, 1]), listing: listing(&[b"a.xml".to_vec()], false), ..Script::default() },
    );
    let mut session = session(&setup, &server).unwrap();
    let entries = session.list(Some("out")).expect("lists through the control connection's address");
    assert_eq!(entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a.xml"]);
    let used: SocketAddr = session.last_data_address().unwrap();
    assert_eq!(used.ip().to_string(), "127.0.0.1", "the data connection went to the control peer, not 10.255.255.1");
}

#[test]
fn a_tls13_only_server_is_refused_with_the_versions_named() {
    let setup = start();
    let server = Server::start(&setup, Script { tls13_only: true, ..Script::default() });
    let error = session(&setup, &server).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TlsProtocolVersion, "{error}");
    assert!(error.message().contains("the gateway requires TLS 1.2") && error.message().contains("TLS 1.3"), "{error}");
}

/// A server certificate for `names`, valid `days_from`..`days_to` from now, signed by the simulator's CA or,
/// with `self_signed`, by its own key.
fn server_cert(setup: &Setup, names: &[&str], days_from: i64, days_to: i64, self_signed: bool) -> Script {
    let mut params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.not_before = time::OffsetDateTime::now_utc() + time::Duration::days(days_from);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(days_to);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = if self_signed {
        params.self_signed(&key).unwrap()
    } else {
        let dir = setup.sim.dir();
        let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(dir.join("ca-key.pem")).unwrap()).unwrap();
        let issuer = rcgen::Issuer::from_ca_cert_pem(&std::fs::read_to_string(dir.join("ca.pem")).unwrap(), ca_key).unwrap();
        params.signed_by(&key, &issuer).unwrap()
    };
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    Script { cert: Some((vec![cert.der().clone()], Arc::new(key))), ..Script::default() }
}

#[test]
fn expired_self_signed_and_wrong_host_certificates_are_each_refused_with_their_own_message() {
    let setup = start();
    let cases = [
        ("expired", server_cert(&setup, &["127.0.0.1"], -30, -1, false), ErrorKind::TlsBadServerCertificate, "expired"),
        ("not yet valid", server_cert(&setup, &["127.0.0.1"], 2, 30, false), ErrorKind::TlsBadServerCertificate, "not valid yet"),
        ("self-signed", server_cert(&setup, &["127.0.0.1"], -1, 30, true), ErrorKind::TlsUnknownCa, "--ca-file"),
        ("wrong host", server_cert(&setup, &["gateway.example"], -1, 30, false), ErrorKind::TlsHostnameMismatch, "gateway.example"),
    ];
    let mut messages = BTreeSet::new();
    for (case, script, kind, says) in cases {
        let server = Server::start(&setup, script);
        let error = session(&setup, &server).unwrap_err();
        assert_eq!(error.kind(), kind, "{case}: {error}");
        assert!(error.message().contains(says), "{case}: {error}");
        assert!(server.commands().is_empty(), "{case}: nothing was sent over TLS: {:?}", server.commands());
        messages.insert(error.message().replace(&server.port.to_string(), "PORT"));
    }
    assert_eq!(messages.len(), 4, "each case has its own message: {messages:?}");
}
