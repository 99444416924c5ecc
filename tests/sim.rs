//! The simulator's rules, each checked with curl as an independent client (and the project's own client where
//! it has landed). Every test starts its own simulator in-process on free ports.

mod sim_support;

use sim_support::*;
use std::time::Duration;

const SERVICE: &str = "Manifest.AfgangsdeklarationOpret";

#[test]
fn curl_lists_the_service_folders_and_out() {
    let sim = start();
    let out = Curl::login(&sim, sim.client()).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.lines().any(|l| l == "out"), "{listing}");
    assert!(listing.lines().any(|l| l == SERVICE), "{listing}");
    assert!(!listing.contains(".gateway"), "bookkeeping must be hidden: {listing}");
}

fn status_name(service: &str, name: &str, code: u8) -> String {
    format!("status_{service}_{name}_{code}.xml")
}

const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- PKI

#[test]
fn client_certificate_is_voces_shaped_with_a_multi_valued_rdn_and_readable_by_openssl() {
    let sim = start();
    let client = sim.client();
    assert_eq!(client.username, "CVR_12345678_UID_9876543210");
    let subject = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(&client.cert_pem)
        .output()
        .expect("openssl runs");
    let subject = String::from_utf8_lossy(&subject.stdout).to_string();
    // RFC 2253 joins the attributes of one RDN with '+'.
    assert!(
        subject.contains("+serialNumber=CVR:12345678-UID:9876543210") || subject.contains("serialNumber=CVR:12345678-UID:9876543210+"),
        "serialNumber must share an RDN with CN: {subject}"
    );
    let p12 = std::process::Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-passin"])
        .arg(format!("file:{}", client.p12_password_file.display()))
        .arg("-in")
        .arg(&client.p12)
        .output()
        .expect("openssl runs");
    assert!(p12.status.success(), "openssl reads client.p12: {}", text(&p12));
    assert!(String::from_utf8_lossy(&p12.stdout).contains("BEGIN CERTIFICATE"));
    // The key in the PKCS#12 file is the PEM key.
    let key_from_p12 = std::process::Command::new("openssl")
        .args(["pkcs12", "-nocerts", "-nodes", "-passin"])
        .arg(format!("file:{}", client.p12_password_file.display()))
        .arg("-in")
        .arg(&client.p12)
        .output()
        .expect("openssl runs");
    let normalise = |pem: &[u8]| {
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-outform", "DER"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(pem)?;
                child.wait_with_output()
            })
            .expect("openssl pkey runs");
        out.stdout
    };
    let pem_key = std::fs::read(&client.key_pem).unwrap();
    assert!(!normalise(&pem_key).is_empty());
    assert_eq!(normalise(&key_from_p12.stdout), normalise(&pem_key));
    // The library reads both forms and derives the same user name.
    let from_p12 = gateway::Identity::from_file(&client.p12, Some(client.p12_password())).expect("the library reads client.p12");
    assert_eq!(from_p12.username().unwrap(), client.username);
    let from_pem = gateway::Identity::from_pem_files(&client.cert_pem, Some(client.key_pem.as_path())).expect("and the PEM files");
    assert_eq!(from_pem.username().unwrap(), client.username);
}

#[cfg(unix)]
#[test]
fn secrets_are_private_files_and_the_pki_is_reused_on_the_next_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = gateway::sim::SimConfig::new(dir.path());
    let first = gateway::sim::Simulator::start(config.clone()).unwrap();
    let client = first.client().clone();
    for secret in [&client.key_pem, &client.p12, &client.p12_password_file, &client.gateway_password_file, &dir.path().join("ca-key.pem"), &dir.path().join("server-key.pem")] {
        let mode = std::fs::metadata(secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} must be readable by its owner only", secret.display());
    }
    for name in ["ca.pem", "client.p12", "client-cert.pem", "client-key.pem", "client.p12.password", "gateway.password", "server-cert.pem"] {
        assert!(dir.path().join(name).is_file(), "{name} missing");
    }
    let cert_before = std::fs::read(&client.cert_pem).unwrap();
    let ca_before = std::fs::read(dir.path().join("ca.pem")).unwrap();
    first.stop();
    let second = gateway::sim::Simulator::start(config).unwrap();
    assert_eq!(std::fs::read(&second.client().cert_pem).unwrap(), cert_before, "the client certificate is reused");
    assert_eq!(std::fs::read(dir.path().join("ca.pem")).unwrap(), ca_before, "the CA is reused");
    assert_eq!(second.client().gateway_password(), client.gateway_password());
    let out = Curl::login(&second, second.client()).arg("--list-only").arg(url(second.port(), "/")).run();
    assert_eq!(code(&out), 0, "the reused PKI still logs in: {}", text(&out));
}

#[test]
fn moces_and_oces3_certificates_get_their_user_names() {
    let sim = start_with(clients(vec![
        gateway::sim::ClientSpec::voces("client", "12345678", "1111"),
        gateway::sim::ClientSpec::moces("employee", "19552101", "60134540"),
        gateway::sim::ClientSpec::oces3("org3", "12345678", "1e2d3e45-a67e-491a-8b34-1c2d345e6789"),
    ]));
    let employee = sim.client_by_label("employee").unwrap();
    assert_eq!(employee.username, "CVR_19552101_RID_60134540");
    let org3 = sim.client_by_label("org3").unwrap();
    assert_eq!(org3.username, "CVR_12345678_UI_1e2d3e45-a67e-491a-8b34-1c2d345e6789");
    for client in [employee, org3] {
        let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
        assert_eq!(code(&out), 0, "{} logs in: {}", client.username, text(&out));
    }
}

// ---------------------------------------------------------------- login rules

#[test]
fn wrong_user_name_is_refused() {
    let sim = start();
    let client = sim.client();
    let out = Curl::new(&sim, client)
        .user("CVR_12345678_UID_1111111111", client.gateway_password().expose())
        .arg("--list-only")
        .arg(url(sim.port(), "/"))
        .run();
    assert_eq!(code(&out), 67, "login must be denied: {}", text(&out));
}

#[test]
fn wrong_password_is_refused() {
    let sim = start();
    let client = sim.client();
    let out = Curl::new(&sim, client).user(&client.username, "not-the-password").arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 67, "login must be denied: {}", text(&out));
}

#[test]
fn unregistered_certificate_is_refused_even_with_its_own_user_name_and_password() {
    let sim = start_with(clients(vec![
        gateway::sim::ClientSpec::voces("client", "12345678", "9876543210"),
        gateway::sim::ClientSpec::voces("stranger", "12345678", "5555").unregistered(),
    ]));
    let stranger = sim.client_by_label("stranger").unwrap();
    let out = Curl::login(&sim, stranger).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 67, "an unregistered certificate must not log in: {}", text(&out));
    // Another registered certificate's password does not help either.
    let out = Curl::new(&sim, stranger)
        .user(&sim.client().username, sim.client().gateway_password().expose())
        .arg("--list-only")
        .arg(url(sim.port(), "/"))
        .run();
    assert_eq!(code(&out), 67, "{}", text(&out));
}

#[test]
fn connection_without_a_client_certificate_is_refused() {
    let sim = start();
    let client = sim.client();
    let out = std::process::Command::new("curl")
        .args(["--silent", "--show-error", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2", "--max-time", "20", "--list-only"])
        .arg("--cacert")
        .arg(sim.ca_file())
        .arg("--user")
        .arg(format!("{}:{}", client.username, client.gateway_password().expose()))
        .arg(url(sim.port(), "/"))
        .output()
        .unwrap();
    assert_ne!(code(&out), 0, "no certificate, no login: {}", text(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn tls_1_1_is_refused_and_tls_1_2_accepted() {
    let sim = start();
    let client = sim.client();
    let handshake = |version: &str| {
        std::process::Command::new("openssl")
            .args(["s_client", "-starttls", "ftp", "-connect"])
            .arg(format!("127.0.0.1:{}", sim.port()))
            .arg(version)
            // OpenSSL 3 refuses TLS 1.1 itself at the default security level; level 0 lets it try.
            .args(["-cipher", "DEFAULT@SECLEVEL=0", "-cert"])
            .arg(&client.cert_pem)
            .arg("-key")
            .arg(&client.key_pem)
            .arg("-CAfile")
            .arg(sim.ca_file())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl runs")
    };
    let old = handshake("-tls1_1");
    let old_text = text(&old);
    assert!(!old.status.success(), "TLS 1.1 must fail: {old_text}");
    // rustls answers a TLS 1.1 ClientHello with a handshake_failure alert (which a closing socket may overtake):
    // either way no session is established.
    assert!(old_text.contains("Cipher is (NONE)"), "{old_text}");
    let current = handshake("-tls1_2");
    let current_text = text(&current);
    assert!(current_text.contains("Protocol  : TLSv1.2"), "TLS 1.2 must work: {current_text}");
    assert!(!current_text.contains("Cipher is (NONE)"), "{current_text}");
    // curl refuses the same way.
    let out = Curl::login(&sim, client).args(["--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0", "--list-only"]).arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 35, "{}", text(&out));
}

// ---------------------------------------------------------------- folder rules

#[test]
fn a_restarted_simulator_carries_on_with_the_files_it_had_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gateway::sim::SimConfig::new(dir.path().join("sim"));
    // Status 1 soon, status 2 not before the simulator is stopped.
    config.delays = gateway::sim::Delays { delivered: Duration::from_millis(20), accepted: Duration::from_secs(3600), response: Duration::from_millis(20) };
    let sim = gateway::sim::Simulator::start(config).unwrap();
    let client = sim.client().clone();
    let upload = curl_upload(&sim, &client, &format!("{SERVICE}/kept.xml"), b"<a/>");
    assert_eq!(code(&upload), 0, "{}", text(&upload));
    let out = sim.out_dir(&client.username);
    wait_for_file(&out, &status_name(SERVICE, "kept.xml", 1), WAIT).expect("status 1 before the stop");
    sim.stop();

    // The same folder, fast this time: status 2, the response and status 3 follow; status 1 is not sent again.
    std::fs::remove_file(out.join(status_name(SERVICE, "kept.xml", 1))).unwrap();
    let mut config = gateway::sim::SimConfig::new(dir.path().join("sim"));
    config.delays = fast_delays();
    let sim = gateway::sim::Simulator::start(config).unwrap();
    wait_for_file(&out, &status_name(SERVICE, "kept.xml", 3), WAIT).expect("status 3 after the restart");
    let files = files_in(&out);
    assert!(files.contains(&status_name(SERVICE, "kept.xml", 2)), "{files:?}");
    assert!(!files.contains(&status_name(SERVICE, "kept.xml", 1)), "status 1 only once: {files:?}");
    sim.stop();
}

#[test]
fn each_certificate_sees_only_its_roles_and_its_own_out() {
    let sim = start_with(clients(vec![
        gateway::sim::ClientSpec::voces("client", "12345678", "1111"),
        gateway::sim::ClientSpec::voces("sibling", "12345678", "2222").with_roles(&["FTPSGW.Heartbeat", SERVICE]),
    ]));
    let sibling = sim.client_by_label("sibling").unwrap();
    let out = Curl::login(&sim, sibling).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mut listing: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    listing.sort();
    assert_eq!(listing, vec!["FTPSGW.Heartbeat", SERVICE, "out"]);
    // A file in the first certificate's out (same CVR) is invisible to the sibling.
    let upload = curl_upload(&sim, sim.client(), &format!("{SERVICE}/mine.xml"), b"<a/>");
    assert_eq!(code(&upload), 0, "{}", text(&upload));
    wait_for_file(&sim.out_dir(&sim.client().username), &status_name(SERVICE, "mine.xml", 1), WAIT).expect("status 1");
    let out = Curl::login(&sim, sibling).arg("--list-only").arg(url(sim.port(), "/out/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty(), "the sibling's out is empty: {}", text(&out));
    let out = Curl::login(&sim, sibling).arg(url(sim.port(), &format!("/out/{}", status_name(SERVICE, "mine.xml", 1)))).run();
    assert_ne!(code(&out), 0, "{}", text(&out));
    // And the sibling cannot use a service outside its roles.
    let out = curl_upload(&sim, sibling, "Manifest.AnkomstdeklarationOpret/x.xml", b"<a/>");
    assert_ne!(code(&out), 0, "upload outside the roles must fail: {}", text(&out));
}

#[test]
fn uploads_outside_a_service_folder_are_refused() {
    let sim = start();
    let client = sim.client();
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), b"<a/>").unwrap();
    for remote in ["/x.xml", "/out/x.xml", "/NoSuchService/x.xml", "/.gateway/x.xml", "/../x.xml"] {
        // nocwd: curl sends STOR with the whole path, so the refusal comes from the upload itself.
        let out = Curl::login(&sim, client).args(["--ftp-method", "nocwd", "--upload-file"]).arg(local.path()).arg(url(sim.port(), remote)).run();
        assert_ne!(code(&out), 0, "upload to {remote} must fail: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("550"), "550 for {remote}: {}", text(&out));
    }
    assert!(files_in(&sim.out_dir(&client.username)).is_empty());
    // The control: a service folder takes the same upload.
    let out = curl_upload(&sim, client, &format!("/{SERVICE}/x.xml"), b"<a/>");
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn downloads_and_deletes_outside_out_are_refused_and_work_in_out() {
    let sim = start();
    let client = sim.client();
    let out = curl_upload(&sim, client, &format!("/{SERVICE}/doc1.xml"), b"<a/>");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let status1 = status_name(SERVICE, "doc1.xml", 1);
    wait_for_file(&sim.out_dir(&client.username), &status1, WAIT).expect("status 1");
    // Put a file into a service folder behind the server's back: still not downloadable.
    std::fs::write(sim.dir().join("users").join(&client.username).join(SERVICE).join("planted.xml"), b"x").unwrap();
    let out = Curl::login(&sim, client).arg(url(sim.port(), &format!("/{SERVICE}/planted.xml"))).run();
    assert_ne!(code(&out), 0, "download from a service folder must fail: {}", text(&out));
    let out = Curl::login(&sim, client).arg("--quote").arg(format!("DELE /{SERVICE}/planted.xml")).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 21, "DELE outside out must fail: {}", text(&out));
    for command in ["MKD /newfolder", "MKD /out/sub", "RMD /out"] {
        let out = Curl::login(&sim, client).arg("--quote").arg(command).arg("--list-only").arg(url(sim.port(), "/")).run();
        assert_eq!(code(&out), 21, "{command} must fail: {}", text(&out));
    }
    let out = Curl::login(&sim, client)
        .args(["--quote", &format!("RNFR /out/{status1}"), "--quote", "RNTO /Manifest.AfgangsdeklarationOpret/moved.xml", "--list-only"])
        .arg(url(sim.port(), "/"))
        .run();
    assert_eq!(code(&out), 21, "rename out of out must fail: {}", text(&out));
    // In out: download, rename and delete work.
    let out = Curl::login(&sim, client).arg(url(sim.port(), &format!("/out/{status1}"))).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("<FTPTransaktionsId>doc1.xml</FTPTransaktionsId>"));
    let out = Curl::login(&sim, client)
        .args(["--quote", &format!("RNFR /out/{status1}"), "--quote", "RNTO /out/renamed.xml", "--quote", "DELE /out/renamed.xml", "--list-only"])
        .arg(url(sim.port(), "/out/"))
        .run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(!files_in(&sim.out_dir(&client.username)).contains(&status1));
    assert!(!files_in(&sim.out_dir(&client.username)).contains(&"renamed.xml".to_string()));
}

// ---------------------------------------------------------------- status files

#[test]
fn a_new_file_gets_status_1_2_and_3_with_a_response_file() {
    let sim = start();
    let client = sim.client();
    let out = curl_upload(&sim, client, &format!("/{SERVICE}/decl-0001.xml"), b"<declaration/>");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out_dir = sim.out_dir(&client.username);
    let s1 = wait_for_file(&out_dir, &status_name(SERVICE, "decl-0001.xml", 1), WAIT).expect("status 1");
    let s2 = wait_for_file(&out_dir, &status_name(SERVICE, "decl-0001.xml", 2), WAIT).expect("status 2");
    let s3 = wait_for_file(&out_dir, &status_name(SERVICE, "decl-0001.xml", 3), WAIT).expect("status 3");
    assert!(s1.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<status>\n<file>\n"), "{s1}");
    assert!(s1.contains("<filename>/CVR_12345678/UID_9876543210/Manifest.AfgangsdeklarationOpret/decl-0001.xml</filename>"), "{s1}");
    assert!(s1.contains("<FTPTransaktionsId>decl-0001.xml</FTPTransaktionsId>"), "{s1}");
    assert!(s1.contains("<status.code>File delivered to requested Backend System</status.code>"), "{s1}");
    assert!(s1.contains(&format!("<service>{SERVICE}</service>")), "{s1}");
    assert!(s2.contains("<status.code>File accepted by requested Backend System</status.code>"), "{s2}");
    let id = |s: &str| s.split("<SKATTransactionId>").nth(1).and_then(|r| r.split("</SKATTransactionId>").next()).map(str::to_string);
    let id1 = id(&s1).expect("SKATTransactionId");
    assert!(id1.starts_with("ci") && id1.contains("_12345678_"), "{id1}");
    assert_eq!(id(&s2), Some(id1.clone()));
    let timestamp = s1.split("<timestamp>").nth(1).and_then(|r| r.split("</timestamp>").next()).unwrap();
    assert_eq!(timestamp.len(), 14);
    assert!(timestamp.bytes().all(|b| b.is_ascii_digit()));
    let response = format!("response_{SERVICE}_decl-0001.xml");
    assert!(s3.contains(&format!("<response>\n<filename>/out/{response}</filename>\n</response>")), "{s3}");
    let body = std::fs::read_to_string(out_dir.join(&response)).expect("response file");
    assert!(body.contains("<FTPTransaktionsId>decl-0001.xml</FTPTransaktionsId>"), "{body}");
    assert!(!files_in(&out_dir).iter().any(|f| f.ends_with("_0.xml")));
    // curl sees them in out, too.
    let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/out/")).run();
    let listing = String::from_utf8_lossy(&out.stdout);
    for code in 1..=3 {
        assert!(listing.contains(&status_name(SERVICE, "decl-0001.xml", code)), "{listing}");
    }
}

#[test]
fn a_reused_filename_is_accepted_then_answered_with_status_0() {
    let sim = start();
    let client = sim.client();
    let out_dir = sim.out_dir(&client.username);
    assert_eq!(code(&curl_upload(&sim, client, &format!("/{SERVICE}/once.xml"), b"<a/>")), 0);
    wait_for_file(&out_dir, &status_name(SERVICE, "once.xml", 3), WAIT).expect("first submission completes");
    // Same name again, even in another service folder: taken at the FTP level, refused by status 0.
    let other = "Manifest.AnkomstdeklarationOpret";
    let out = curl_upload(&sim, client, &format!("/{other}/once.xml"), b"<b/>");
    assert_eq!(code(&out), 0, "the FTP upload itself succeeds: {}", text(&out));
    let s0 = wait_for_file(&out_dir, &status_name(other, "once.xml", 0), WAIT).expect("status 0");
    assert!(s0.contains("<error.code>FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION</error.code>"), "{s0}");
    assert!(s0.contains("<error.message>") && s0.contains("<error.resolution>"), "{s0}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!out_dir.join(status_name(other, "once.xml", 1)).exists(), "a refused file is not delivered");
    // The record survives a restart of the simulator process.
    let used = std::fs::read_to_string(sim.dir().join("users").join(&client.username).join(".gateway/used-names")).unwrap();
    assert_eq!(used.lines().filter(|l| *l == "once.xml").count(), 1);
}

#[test]
fn heartbeat_answers_with_status_1_only() {
    let sim = start();
    let client = sim.client();
    let out_dir = sim.out_dir(&client.username);
    let out = curl_upload(&sim, client, "/FTPSGW.Heartbeat/ping20260101120000000-hb01.xml", b"<ping/>");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let s1 = wait_for_file(&out_dir, &status_name("FTPSGW.Heartbeat", "ping20260101120000000-hb01.xml", 1), WAIT).expect("status 1");
    assert!(s1.contains("<service>FTPSGW.Heartbeat</service>"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(files_in(&out_dir), vec![status_name("FTPSGW.Heartbeat", "ping20260101120000000-hb01.xml", 1)]);
}

#[test]
fn backend_down_delays_status_files_and_sends_no_status_0() {
    let sim = start();
    let client = sim.client();
    let out_dir = sim.out_dir(&client.username);
    sim.set_backend_available(false);
    assert_eq!(code(&curl_upload(&sim, client, &format!("/{SERVICE}/waiting.xml"), b"<a/>")), 0);
    std::thread::sleep(Duration::from_millis(500));
    assert!(files_in(&out_dir).is_empty(), "nothing while the backend is down: {:?}", files_in(&out_dir));
    sim.set_backend_available(true);
    wait_for_file(&out_dir, &status_name(SERVICE, "waiting.xml", 3), WAIT).expect("delivered once the backend is back");
    assert!(!files_in(&out_dir).iter().any(|f| f.ends_with("_0.xml")));
}

#[test]
fn a_tls_hello_waits_for_the_servers_switch_to_tls_and_no_longer() {
    let sim = start();
    let client = sim.client();
    for _ in 0..4 {
        let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
        assert_eq!(code(&out), 0, "{}", text(&out));
    }
    let out = Curl::new(&sim, client).user(&client.username, "").arg("--list-only").arg(legacy_url(&sim, "/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Each login's hello went on when libunftp reported its switch to TLS, none after the fallback pause (which a
    // libunftp that logs the switch differently would cost every login).
    let counts = sim.tls_switches();
    assert_eq!(counts, gateway::sim::TlsSwitchCounts { prompt: 5, after_grace: 0 });
}

#[test]
fn passive_ports_come_from_the_configured_range() {
    let sim = start_with(|c| c.data_ports = 47100..=47109);
    let client = sim.client();
    for _ in 0..3 {
        let out = Curl::login(&sim, client).args(["--verbose", "--disable-epsv", "--list-only"]).arg(url(sim.port(), "/")).run();
        assert_eq!(code(&out), 0, "{}", text(&out));
        let log = String::from_utf8_lossy(&out.stderr);
        let reply = log.lines().find(|l| l.contains("227 Entering Passive Mode")).expect("a PASV reply");
        let numbers: Vec<u16> = reply.split('(').nth(1).unwrap().trim_end_matches(|c| c != ')').trim_end_matches(')').split(',').map(|n| n.trim().parse().unwrap()).collect();
        let port = numbers[4] * 256 + numbers[5];
        assert!((47100..=47109).contains(&port), "passive port {port} outside the range");
    }
}

// ---------------------------------------------------------------- legacy gateway

fn legacy_url(sim: &gateway::sim::SimHandle, path: &str) -> String {
    url(sim.legacy_port().expect("legacy gateway runs"), path)
}

#[test]
fn legacy_gateway_logs_in_on_the_certificate_alone_and_serves_the_migration_file() {
    let sim = start();
    let client = sim.client();
    for user in ["anonymous:x", "whoever:wrong-password", "CVR_12345678_UID_9876543210:nothing"] {
        let (name, password) = user.split_once(':').unwrap();
        let out = Curl::new(&sim, client).user(name, password).arg("--list-only").arg(legacy_url(&sim, "/")).run();
        assert_eq!(code(&out), 0, "legacy login as {name}: {}", text(&out));
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.lines().any(|l| l == "out") && listing.lines().any(|l| l == "UID_9876543210"), "{listing}");
    }
    let out = Curl::new(&sim, client).user("anonymous", "x").arg(legacy_url(&sim, "/UID_9876543210/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let info = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(info, format!("Username: {}\nPassword: {}\n", client.username, client.gateway_password().expose()));
    // The password fetched there logs in on the new gateway.
    let password = info.lines().find_map(|l| l.strip_prefix("Password: ")).unwrap();
    let out = Curl::new(&sim, client).user(&client.username, password).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    // The new gateway does not take certificate-only logins.
    let out = Curl::new(&sim, client).user("anonymous", "x").arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 67, "{}", text(&out));
}

#[test]
fn legacy_gateway_refuses_an_unregistered_certificate() {
    let sim = start_with(clients(vec![
        gateway::sim::ClientSpec::voces("client", "12345678", "9876543210"),
        gateway::sim::ClientSpec::voces("stranger", "12345678", "5555").unregistered(),
    ]));
    let stranger = sim.client_by_label("stranger").unwrap();
    let out = Curl::new(&sim, stranger).user("anonymous", "x").arg("--list-only").arg(legacy_url(&sim, "/")).run();
    assert_ne!(code(&out), 0, "{}", text(&out));
}

#[test]
fn legacy_gateway_answers_an_unknown_service_with_service_does_not_exist() {
    let sim = start();
    let client = sim.client();
    let local = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(local.path(), b"<a/>").unwrap();
    let out = Curl::new(&sim, client)
        .user("anonymous", "x")
        .args(["--ftp-method", "nocwd", "--upload-file"])
        .arg(local.path())
        .arg(legacy_url(&sim, "/UID_9876543210/NoSuchService/old.xml"))
        .run();
    assert_eq!(code(&out), 0, "the legacy gateway takes the file: {}", text(&out));
    let s0 = wait_for_file(&sim.legacy_out_dir(&client.username), &status_name("NoSuchService", "old.xml", 0), WAIT).expect("status 0");
    assert!(s0.contains("<error.code>SERVICE_DOES_NOT_EXIST</error.code>"), "{s0}");
    // A known service works as on the new gateway.
    let out = Curl::new(&sim, client).user("anonymous", "x").arg("--upload-file").arg(local.path()).arg(legacy_url(&sim, &format!("/UID_9876543210/{SERVICE}/old2.xml"))).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    wait_for_file(&sim.legacy_out_dir(&client.username), &status_name(SERVICE, "old2.xml", 3), WAIT).expect("status 3");
    // Backend down: the legacy gateway still says so.
    sim.set_backend_available(false);
    let out = Curl::new(&sim, client).user("anonymous", "x").arg("--upload-file").arg(local.path()).arg(legacy_url(&sim, &format!("/UID_9876543210/{SERVICE}/old3.xml"))).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let s0 = wait_for_file(&sim.legacy_out_dir(&client.username), &status_name(SERVICE, "old3.xml", 0), WAIT).expect("status 0");
    assert!(s0.contains("BACKEND_SYSTEM_NOT_AVAILABLE"), "{s0}");
}

// ---------------------------------------------------------------- faults

#[test]
fn fault_drop_control_connection_after_n_bytes() {
    let sim = start();
    let client = sim.client();
    sim.inject(gateway::sim::Fault::DropControlAfter(1500), Some(1));
    let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_ne!(code(&out), 0, "the cut connection fails: {}", text(&out));
    // Only once: the next connection works.
    let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn fault_delay_replies() {
    let sim = start();
    let client = sim.client();
    let timed = |sim: &Sim| {
        let started = std::time::Instant::now();
        let out = Curl::login(sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
        assert_eq!(code(&out), 0, "{}", text(&out));
        started.elapsed()
    };
    let normal = timed(&sim);
    sim.inject(gateway::sim::Fault::DelayReplies(Duration::from_millis(200)), Some(1));
    let delayed = timed(&sim);
    // Greeting, AUTH, handshake, USER, PASS, PBSZ, PROT, PWD, EPSV, NLST...: well over five delayed replies.
    assert!(delayed >= normal + Duration::from_millis(1000), "normal {normal:?}, delayed {delayed:?}");
    let out = Curl::login(&sim, client).args(["--max-time", "1"]).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 0, "the fault was for one connection only: {}", text(&out));
}

#[test]
fn fault_drop_data_connection_after_n_bytes() {
    let sim = start();
    let client = sim.client();
    let big = vec![b'x'; 256 * 1024];
    sim.inject(gateway::sim::Fault::DropDataAfter(10_000), Some(1));
    let out = curl_upload(&sim, client, &format!("/{SERVICE}/big.xml"), &big);
    assert_ne!(code(&out), 0, "the upload breaks: {}", text(&out));
    std::thread::sleep(Duration::from_millis(300));
    assert!(files_in(&sim.out_dir(&client.username)).is_empty(), "a broken upload is not processed");
    // The next upload of the same name goes through: the broken one did not use the name up.
    let out = curl_upload(&sim, client, &format!("/{SERVICE}/big.xml"), &big);
    assert_eq!(code(&out), 0, "{}", text(&out));
    wait_for_file(&sim.out_dir(&client.username), &status_name(SERVICE, "big.xml", 3), WAIT).expect("status 3");
    // Downloads break the same way: fewer bytes arrive than the file holds.
    let response = format!("response_{SERVICE}_big.xml");
    let size = std::fs::metadata(sim.out_dir(&client.username).join(&response)).unwrap().len();
    sim.inject(gateway::sim::Fault::DropDataAfter(size / 2), Some(1));
    let out = Curl::login(&sim, client).arg(url(sim.port(), &format!("/out/{response}"))).run();
    assert!(code(&out) != 0 || (out.stdout.len() as u64) < size, "{}", text(&out));
    assert!((out.stdout.len() as u64) <= size / 2, "at most {} of {size} bytes: got {}", size / 2, out.stdout.len());
}

#[test]
fn fault_refuse_passive_connections() {
    let sim = start();
    let client = sim.client();
    sim.inject(gateway::sim::Fault::RefusePassive, None);
    let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_ne!(code(&out), 0, "{}", text(&out));
    sim.clear_faults();
    let out = Curl::login(&sim, client).arg("--list-only").arg(url(sim.port(), "/")).run();
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn fault_restart_cuts_connections_and_comes_back_on_the_same_port() {
    let sim = start();
    let client = sim.client();
    let port = sim.port();
    // A connection that is slow (delayed replies) is in progress when the restart comes.
    sim.inject(gateway::sim::Fault::DelayReplies(Duration::from_millis(300)), Some(1));
    let cert = client.clone();
    let ca = sim.ca_file().to_path_buf();
    let slow = std::thread::spawn(move || {
        std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2", "--max-time", "20", "--list-only"])
            .arg("--cert").arg(&cert.cert_pem).arg("--key").arg(&cert.key_pem).arg("--cacert").arg(&ca)
            .arg("--user").arg(format!("{}:{}", cert.username, cert.gateway_password().expose()))
            .arg(url(port, "/"))
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));
    let downtime = std::thread::scope(|scope| {
        let restarting = scope.spawn(|| sim.restart(Duration::from_millis(800)));
        std::thread::sleep(Duration::from_millis(200));
        let during = std::net::TcpStream::connect(("127.0.0.1", port));
        restarting.join().unwrap().expect("restart");
        during
    });
    assert!(downtime.is_err(), "the port is closed while the server restarts");
    let cut = slow.join().unwrap();
    assert_ne!(code(&cut), 0, "the open connection was cut: {}", text(&cut));
    let out = Curl::login(&sim, client).arg("--list-only").arg(url(port, "/")).run();
    assert_eq!(code(&out), 0, "back on the same port: {}", text(&out));
}

/// `sim --host 127.0.0.2` once wrote a client.toml that failed its own host-name check: the server certificate
/// named only the loopback names. Now it covers the listen address and the server names, and a folder started
/// again on another address gets a new server certificate from the same CA (clients keep their ca.pem).
#[test]
fn the_server_certificate_covers_the_address_clients_are_given() {
    use gateway::gateway::{Client, ConfigFile, GatewayChoice};
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("sim");
    let mut ca = None;
    for (listen, names, expected) in [("127.0.0.2", vec![], "127.0.0.2"), ("127.0.0.3", vec!["127.0.0.4".to_string()], "127.0.0.4")] {
        let mut config = gateway::sim::SimConfig::new(&folder);
        config.host = listen.parse().unwrap();
        config.server_names = names;
        config.delays = fast_delays();
        config.legacy_port = None;
        let sim = gateway::sim::Simulator::start(config).unwrap();
        let ca_now = std::fs::read(sim.ca_file()).unwrap();
        assert_eq!(ca.get_or_insert_with(|| ca_now.clone()), &ca_now, "the CA is kept");
        let mut profile = ConfigFile::load(sim.write_client_config().unwrap()).unwrap().profile(None).unwrap();
        assert_eq!(profile.address(GatewayChoice::New).host, expected);
        // The proxy case (clients told 127.0.0.4, the simulator on 127.0.0.3) has nothing on 127.0.0.4 here:
        // the client goes to the listen address, and openssl checks the certificate for the name given.
        profile.address_mut(GatewayChoice::New).host = listen.to_string();
        assert_eq!(sim.client_host(), expected);
        let ready: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sim.write_ready_file().unwrap()).unwrap()).unwrap();
        assert_eq!((ready["host"].as_str(), ready["listen"].as_str()), (Some(expected), Some(listen)));
        let mut client = Client::connect(profile).unwrap_or_else(|e| panic!("client.toml for {listen} works: {e}"));
        assert!(!client.services().unwrap().is_empty());
        client.close().unwrap();
        // The certificate names every address it was asked for, and localhost still.
        let cert = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(sim.dir().join("server-cert.pem"))
            .output()
            .unwrap();
        let sans = String::from_utf8_lossy(&cert.stdout).to_string();
        for name in ["DNS:localhost", "IP Address:127.0.0.1", &format!("IP Address:{listen}"), &format!("IP Address:{expected}")] {
            assert!(sans.contains(name), "{name} in {sans}");
        }
        let verify = std::process::Command::new("openssl")
            .args(["verify", "-verify_ip", expected, "-CAfile"])
            .arg(sim.ca_file())
            .arg(sim.dir().join("server-cert.pem"))
            .output()
            .unwrap();
        assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    }
    let mut config = gateway::sim::SimConfig::new(&folder);
    config.server_names = vec!["not a host name".into()];
    let error = gateway::sim::Simulator::start(config).err().expect("a bad server name is refused");
    assert_eq!(error.kind(), gateway::ErrorKind::InvalidArgument);
    assert!(error.to_string().contains("neither an IP address nor a host name"), "{error}");
}

// ---------------------------------------------------------------- the CLI

#[test]
fn cli_sim_writes_its_files_serves_curl_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sim_dir = dir.path().join("gw");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut guard = Kill(std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(["sim", "--data-ports", "47200-47299", "--dir"])
        .arg(&sim_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap());
    let ready = wait_for_file(&sim_dir, "ready.json", Duration::from_secs(30));
    let ready: serde_json::Value = serde_json::from_str(&ready.expect("ready.json appears")).unwrap();
    let port = ready["port"].as_u64().unwrap() as u16;
    assert_eq!(ready["username"], "CVR_12345678_UID_9876543210");
    assert!(ready["legacy_port"].as_u64().is_some());
    for name in ["ca.pem", "client.p12", "client-cert.pem", "client-key.pem", "client.p12.password", "gateway.password", "client.toml"] {
        assert!(sim_dir.join(name).is_file(), "{name}");
    }
    // client.toml is a profile the library's config reader accepts, pointing at this simulator.
    let config = gateway::gateway::ConfigFile::load(sim_dir.join("client.toml")).unwrap().profile(None).unwrap();
    let address = config.address(gateway::gateway::GatewayChoice::New);
    assert_eq!((address.host.as_str(), address.port), ("127.0.0.1", port));
    let password = std::fs::read_to_string(sim_dir.join("gateway.password")).unwrap();
    let out = std::process::Command::new("curl")
        .args(["--silent", "--show-error", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2", "--max-time", "20", "--list-only"])
        .arg("--cert").arg(sim_dir.join("client-cert.pem")).arg("--key").arg(sim_dir.join("client-key.pem"))
        .arg("--cacert").arg(sim_dir.join("ca.pem"))
        .arg("--user").arg(format!("CVR_12345678_UID_9876543210:{}", password.trim()))
        .arg(url(port, "/"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    // SIGTERM: exits 0 and the port closes.
    let pid = guard.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = guard.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn cli_sim_on_a_port_in_use_says_so_with_its_own_exit_code() {
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(["sim", "--port", &port, "--dir"])
        .arg(dir.path().join("gw"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12), "not 1, which says 'a bug': {}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&port) && stderr.contains("choose another port"), "{stderr}");
}

#[test]
fn cli_sim_given_a_file_for_its_folder_says_so() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway"))
        .args(["sim", "--dir"])
        .arg(file.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a file, not a folder"), "{}", text(&out));
}

#[test]
fn cli_demo_runs_the_main_job_and_exits_0() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skat-gateway")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for expected in [
        "user name  CVR_12345678_UID_9876543210",
        "status 1  File delivered to requested Backend System",
        "status 2  File accepted by requested Backend System",
        "status 3  Response file exposed to client",
        "<result>ACCEPTED</result>",
        "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    let folder = stdout.lines().find_map(|l| l.trim().strip_prefix("folder ")).and_then(|l| l.split(" (").next()).expect("folder line");
    assert!(!std::path::Path::new(folder).exists(), "the demo removes its folder");
}

// ---------------------------------------------------------------- the project's own client

mod with_session {
    use super::*;
    use gateway::ftp::{Login, Session, SessionConfig, TransferType};
    use gateway::tls::TlsOptions;
    use gateway::{Endpoint, ErrorKind, Generation, Identity};
    use std::sync::Arc;

    fn identity(client: &gateway::sim::ClientFiles) -> Arc<Identity> {
        Arc::new(Identity::from_file(&client.p12, Some(client.p12_password())).expect("client.p12 loads"))
    }

    fn config(sim: &Sim, client: &gateway::sim::ClientFiles, login: Login) -> SessionConfig {
        let endpoint = Endpoint::custom("127.0.0.1", sim.port()).with_data_ports(sim.data_ports());
        SessionConfig::new(endpoint, identity(client), login).with_tls(TlsOptions::private_ca(sim.ca_file()))
    }

    fn password_login(client: &gateway::sim::ClientFiles) -> Login {
        Login::password(client.gateway_password().clone())
    }

    #[test]
    fn session_submits_and_reads_the_status_files() {
        let sim = start();
        let client = sim.client();
        let mut session = Session::connect(&config(&sim, client, password_login(client))).expect("login");
        assert_eq!(session.username(), client.username);
        let names: Vec<String> = session.list(Some("/")).unwrap().into_iter().map(|e| e.name).collect();
        assert!(names.contains(&"out".to_string()) && names.contains(&SERVICE.to_string()), "{names:?}");
        session.put(&mut &b"<declaration/>"[..], &format!("/{SERVICE}/s1.xml"), TransferType::Binary, None).unwrap();
        wait_for_file(&sim.out_dir(&client.username), &status_name(SERVICE, "s1.xml", 3), WAIT).expect("status 3");
        for code in 1..=3u8 {
            let name = status_name(SERVICE, "s1.xml", code);
            let mut content = Vec::new();
            session.get(&format!("/out/{name}"), &mut content, TransferType::Binary, None).unwrap();
            // The workflow's receipt parser reads what the simulator writes.
            let receipt = gateway::gateway::Receipt::parse(&name, &content).expect("a valid status file");
            assert_eq!(receipt.code.as_digit(), code);
            assert_eq!(receipt.transaction_id, "s1.xml");
            assert_eq!(receipt.service, SERVICE);
            session.delete(&format!("/out/{name}")).unwrap();
        }
        // Reuse, seen through the parser.
        session.put(&mut &b"<declaration/>"[..], &format!("/{SERVICE}/s1.xml"), TransferType::Binary, None).unwrap();
        let name = status_name(SERVICE, "s1.xml", 0);
        let content = wait_for_file(&sim.out_dir(&client.username), &name, WAIT).expect("status 0");
        assert!(gateway::gateway::Receipt::parse(&name, content.as_bytes()).unwrap().is_filename_reused());
        session.quit().unwrap();
    }

    #[test]
    fn session_login_refusals_are_authentication_errors() {
        let sim = start_with(clients(vec![
            gateway::sim::ClientSpec::voces("client", "12345678", "9876543210"),
            gateway::sim::ClientSpec::voces("stranger", "12345678", "5555").unregistered(),
        ]));
        let client = sim.client();
        let wrong_password = Session::connect(&config(&sim, client, Login::password("wrong"))).err().unwrap_or_else(|| panic!("refused"));
        assert_eq!(wrong_password.kind(), ErrorKind::Authentication, "{wrong_password}");
        let wrong_user = Login::Password { username: Some("CVR_12345678_UID_1".into()), password: client.gateway_password().clone() };
        let wrong_user = Session::connect(&config(&sim, client, wrong_user)).err().unwrap_or_else(|| panic!("refused"));
        assert_eq!(wrong_user.kind(), ErrorKind::Authentication, "{wrong_user}");
        let stranger = sim.client_by_label("stranger").unwrap();
        let unregistered = Session::connect(&config(&sim, stranger, password_login(stranger))).err().unwrap_or_else(|| panic!("refused"));
        assert_eq!(unregistered.kind(), ErrorKind::Authentication, "{unregistered}");
    }

    #[test]
    fn session_sees_the_folder_rules_as_permission_errors() {
        let sim = start();
        let client = sim.client();
        let mut session = Session::connect(&config(&sim, client, password_login(client))).expect("login");
        let outside = session.put(&mut &b"<a/>"[..], "/out/x.xml", TransferType::Binary, None).err().unwrap_or_else(|| panic!("refused"));
        assert_eq!(outside.kind(), ErrorKind::PermissionDenied, "{outside}");
        std::fs::write(sim.dir().join("users").join(&client.username).join(SERVICE).join("planted.xml"), b"x").unwrap();
        let mut sink = Vec::new();
        let download = session.get(&format!("/{SERVICE}/planted.xml"), &mut sink, TransferType::Binary, None).err().unwrap_or_else(|| panic!("refused"));
        assert!(matches!(download.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound), "{download}");
        let delete = session.delete(&format!("/{SERVICE}/planted.xml")).err().unwrap_or_else(|| panic!("refused"));
        assert!(matches!(delete.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound), "{delete}");
        // The session is still usable after the refusals.
        session.noop().unwrap();
    }

    #[test]
    fn session_fetches_the_migration_file_from_the_legacy_gateway() {
        let sim = start();
        let client = sim.client();
        let endpoint = Endpoint::custom("127.0.0.1", sim.legacy_port().unwrap()).with_generation(Generation::Legacy);
        let legacy = SessionConfig::new(endpoint, identity(client), Login::CertificateOnly { username: None })
            .with_tls(TlsOptions::private_ca(sim.ca_file()));
        let mut session = Session::connect(&legacy).expect("certificate-only login");
        let mut text = Vec::new();
        session.get("/UID_9876543210/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt", &mut text, TransferType::Binary, None).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains(&format!("Password: {}\n", client.gateway_password().expose())));
    }

    #[test]
    fn session_reports_a_control_connection_cut_by_the_simulator() {
        let sim = start();
        let client = sim.client();
        sim.inject(gateway::sim::Fault::DropControlAfter(6000), Some(1));
        let result = Session::connect(&config(&sim, client, password_login(client))).and_then(|mut s| {
            for _ in 0..50 {
                s.list(Some("/"))?;
            }
            Ok(())
        });
        let error = result.err().unwrap_or_else(|| panic!("the cut shows"));
        assert!(matches!(error.kind(), ErrorKind::ConnectionLost | ErrorKind::Tls | ErrorKind::UnexpectedReply | ErrorKind::Timeout), "{error:?}");
    }
}
