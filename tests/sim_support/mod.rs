//! Helpers for the simulator tests: a simulator in a temporary folder, curl as an independent FTPS client, and
//! waiting for status files.

#![allow(dead_code)]

use gateway::sim::{ClientFiles, ClientSpec, Delays, SimConfig, SimHandle, Simulator};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running simulator and the temporary folder it lives in (removed after the simulator stops).
pub struct Sim {
    pub handle: SimHandle,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Sim {
    type Target = SimHandle;
    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

pub fn fast_delays() -> Delays {
    Delays { delivered: Duration::from_millis(20), accepted: Duration::from_millis(20), response: Duration::from_millis(20) }
}

/// A simulator with the default client, fast status files.
pub fn start() -> Sim {
    start_with(|_| {})
}

/// A simulator with a configuration adjusted by `adjust`.
pub fn start_with(adjust: impl FnOnce(&mut SimConfig)) -> Sim {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut config = SimConfig::new(dir.path().join("sim"));
    config.delays = fast_delays();
    adjust(&mut config);
    let handle = Simulator::start(config).expect("the simulator starts");
    Sim { handle, _dir: dir }
}

pub fn clients(specs: Vec<ClientSpec>) -> impl FnOnce(&mut SimConfig) {
    move |config| config.clients = specs
}

/// curl, as an FTPS client with a certificate: explicit TLS, TLS 1.2 only, the simulator's CA.
pub struct Curl {
    command: Command,
}

impl Curl {
    pub fn new(sim: &SimHandle, client: &ClientFiles) -> Curl {
        let mut command = Command::new("curl");
        command
            .args(["--silent", "--show-error", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2", "--max-time", "20"])
            .arg("--cert")
            .arg(&client.cert_pem)
            .arg("--key")
            .arg(&client.key_pem)
            .arg("--cacert")
            .arg(sim.ca_file());
        Curl { command }
    }

    /// Logs in as the certificate's own user with its own password.
    pub fn login(sim: &SimHandle, client: &ClientFiles) -> Curl {
        Curl::new(sim, client).user(&client.username, client.gateway_password().expose())
    }

    pub fn user(mut self, user: &str, password: &str) -> Curl {
        self.command.arg("--user").arg(format!("{user}:{password}"));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Curl {
        self.command.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Curl {
        self.command.args(args);
        self
    }

    pub fn run(mut self) -> Output {
        self.command.output().expect("curl runs (scripts/install-test-deps installs it)")
    }
}

pub fn url(port: u16, path: &str) -> String {
    format!("ftp://127.0.0.1:{port}/{}", path.trim_start_matches('/'))
}

/// curl's exit code (67 = login denied, 9/78 = access denied/not found, 25 = upload failed, 35 = TLS handshake).
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

pub fn text(output: &Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Uploads `contents` with curl to `remote` (a path under the user's root); returns curl's output.
pub fn curl_upload(sim: &SimHandle, client: &ClientFiles, remote: &str, contents: &[u8]) -> Output {
    let local = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(local.path(), contents).expect("write temporary file");
    Curl::login(sim, client).arg("--upload-file").arg(local.path()).arg(url(sim.port(), remote)).run()
}

/// Waits until `dir/name` exists (up to `timeout`), returning its contents.
pub fn wait_for_file(dir: &Path, name: &str, timeout: Duration) -> Option<String> {
    let path = dir.join(name);
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Some(text);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/oces2"))
}
