//! No secret leaks: the whole workflow at the most verbose logging, through the CLI (`-vv`, every command,
//! refused logins and wrong passwords included) and through the library with a logger that keeps every record
//! at trace level, and then a search of everything that came out — stdout, stderr, log records, error texts,
//! Debug output, and every file the client wrote (journal, WAL, spool, inbox) — for the gateway password,
//! the certificate password and the private key (its DER bytes and its PEM text).
//!
//! (The faces have their own checks: the C tests' log callback, Python's `logging` at DEBUG.)

mod workflow_support;

use gateway::gateway::client::{PollOptions, SubmitOptions};
use std::path::Path;
use std::sync::Mutex;
use workflow_support::*;

/// What must never appear.
struct Secrets {
    texts: Vec<String>,
    key_der: Vec<u8>,
}

impl Secrets {
    fn of(setup: &Setup) -> Secrets {
        let client = setup.client_files();
        let pem = std::fs::read_to_string(&client.key_pem).unwrap();
        let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
        // Any line of the key's PEM body is a leak too.
        let mut texts: Vec<String> = pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 16).map(str::to_string).collect();
        texts.push(client.gateway_password().expose().to_string());
        texts.push(client.p12_password().expose().to_string());
        Secrets { texts, key_der: der }
    }

    /// Panics naming the secret and where it was found.
    fn assert_absent(&self, haystack: &[u8], place: &str) {
        let text = String::from_utf8_lossy(haystack);
        for secret in &self.texts {
            assert!(!text.contains(secret.as_str()), "a secret ({} characters) appears in {place}", secret.len());
        }
        // 24 bytes of the key anywhere, e.g. a key written raw into a file.
        for window in self.key_der.chunks(24).filter(|w| w.len() == 24) {
            assert!(!haystack.windows(24).any(|w| w == window), "private-key bytes appear in {place}");
        }
    }

    /// Every file under `dir` (recursively), except `allowed` (files meant to hold a secret).
    fn assert_absent_in_files(&self, dir: &Path, allowed: &[&Path]) -> usize {
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if allowed.iter().any(|a| *a == path) {
                continue;
            }
            if path.is_dir() {
                checked += self.assert_absent_in_files(&path, allowed);
            } else if let Ok(bytes) = std::fs::read(&path) {
                self.assert_absent(&bytes, &path.display().to_string());
                checked += 1;
            }
        }
        checked
    }
}

#[test]
fn the_cli_at_the_most_verbose_logging_shows_no_secret() {
    let setup = start();
    let config = write_config(&setup, "state");
    let secrets = Secrets::of(&setup);
    let client = setup.client_files();
    let file = setup.file("d.xml", 5_000);
    let saved = setup.path("state/saved-password");
    let wrong_password = setup.path("wrong");
    std::fs::write(&wrong_password, "definitely-not-it\n").unwrap();
    let mut outputs = Vec::new();
    let mut go = |args: &[&str], env: &[(&str, &Path)]| {
        let mut command = cli_with(&config, "-vv");
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        outputs.push((args.join(" "), out));
    };
    let p12 = client.p12.to_str().unwrap();
    go(&["identity", "show", "--cert", p12], &[("SKAT_GATEWAY_CERT_PASSWORD_FILE", &client.p12_password_file)]);
    go(&["identity", "show", "--cert", p12, "--json"], &[("SKAT_GATEWAY_CERT_PASSWORD_FILE", &wrong_password)]);
    go(&["services"], &[]);
    go(&["submit", "-s", SERVICE, file.to_str().unwrap()], &[]);
    go(&["poll", "--wait", "20s", "--interval", "100ms", "--json"], &[]);
    go(&["status", "--json"], &[]);
    go(&["ping"], &[]);
    go(&["ls", "out"], &[]);
    go(&["put", file.to_str().unwrap(), &format!("{SERVICE}/low-level.xml")], &[]);
    go(&["login-info", "--save", saved.to_str().unwrap()], &[]);
    go(&["services"], &[("SKAT_GATEWAY_PASSWORD_FILE", &wrong_password)]);
    go(&["submit", "-s", SERVICE, file.to_str().unwrap(), "--again"], &[("SKAT_GATEWAY_CERT_PASSWORD_FILE", &wrong_password)]);
    for (what, out) in &outputs {
        secrets.assert_absent(&out.stdout, &format!("the stdout of `{what}`"));
        secrets.assert_absent(&out.stderr, &format!("the stderr of `{what}`"));
    }
    assert!(outputs.iter().any(|(w, o)| w == "services" && o.status.code() == Some(7)), "the refused login ran");
    let logged: usize = outputs.iter().map(|(_, o)| o.stderr.len()).sum();
    assert!(logged > 10_000, "-vv logs a lot ({logged} bytes): the search had something to search");
    // The file saved on purpose holds the password, and only the owner may read it.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::read_to_string(&saved).unwrap().trim(), client.gateway_password().expose());
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    let checked = secrets.assert_absent_in_files(&setup.path("state"), &[&saved]);
    assert!(checked >= 5, "journal, WAL or not, inbox files: {checked} files searched");
}

/// A logger that keeps every record.
struct Keep(Mutex<Vec<String>>);

impl log::Log for Keep {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(format!("{} {} {}", record.level(), record.target(), record.args()));
    }
    fn flush(&self) {}
}

static LOG: Keep = Keep(Mutex::new(Vec::new()));

#[test]
fn the_library_logs_errors_and_debug_output_show_no_secret() {
    log::set_logger(&LOG).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let setup = start();
    let secrets = Secrets::of(&setup);
    let config = setup.config("state");
    let mut texts = vec![format!("{config:?}")];
    let identity = config.load_identity().unwrap();
    texts.push(format!("{identity:?}"));
    let session_config = config.session_config(gateway::gateway::GatewayChoice::New, std::sync::Arc::new(identity)).unwrap();
    texts.push(format!("{session_config:?}"));
    let mut client = gateway::gateway::Client::connect(config.clone()).unwrap();
    texts.push(format!("{client:?}"));
    client.submit(SERVICE, &setup.file("d.xml", 3_000), &SubmitOptions::default()).unwrap();
    client.poll_until_settled(&setup.path("inbox"), &PollOptions::default(), WAIT, EVERY).unwrap();
    texts.push(format!("{:?}", client.fetch_login_info().map(|_| "fetched")));
    let mut wrong = config.clone();
    wrong.password = Some(gateway::Secret::new("wrong-password-1"));
    let refused = gateway::gateway::Client::connect(wrong).unwrap_err();
    texts.push(format!("{refused} {refused:?}"));
    let records = LOG.0.lock().unwrap().clone();
    assert!(records.iter().any(|r| r.starts_with("TRACE") || r.starts_with("DEBUG")), "trace and debug records were kept");
    for (i, text) in texts.iter().chain(&records).enumerate() {
        // The place names the record, not its text: a failing run must not print the secret it found.
        let target = text.split_whitespace().nth(1).unwrap_or("");
        secrets.assert_absent(text.as_bytes(), &format!("text {i} (a Debug text or a log record of {target})"));
    }
}
