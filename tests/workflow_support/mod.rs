//! Helpers for the workflow tests: a simulator in a temporary folder and a client configuration for it.

#![allow(dead_code)]

use gateway::gateway::{Client, Config, GatewayAddress};
use gateway::sim::{ClientFiles, ClientSpec, Delays, SimConfig, SimHandle, Simulator};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long tests wait for status files, and how often they look.
pub const WAIT: Duration = Duration::from_secs(20);
pub const EVERY: Duration = Duration::from_millis(100);

pub const SERVICE: &str = "Manifest.AnkomstdeklarationOpret";
pub const ICS_SERVICE: &str = "SummariskIndgangsangivelseOpretService";

/// A running simulator and the temporary folder holding it and the client's journal and inbox. Dropping it
/// stops the simulator (SimHandle's Drop) before the folder goes.
pub struct Setup {
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
}

pub fn fast_delays() -> Delays {
    Delays { delivered: Duration::from_millis(20), accepted: Duration::from_millis(20), response: Duration::from_millis(20) }
}

pub fn start() -> Setup {
    start_with(|_| {})
}

pub fn start_with(adjust: impl FnOnce(&mut SimConfig)) -> Setup {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut config = SimConfig::new(dir.path().join("sim"));
    config.delays = fast_delays();
    // Below Linux's ephemeral range (32768-60999): passive ports there can collide with the source ports of
    // other tests' connections running in parallel.
    config.data_ports = 20000..=32000;
    adjust(&mut config);
    let sim = Simulator::start(config).expect("the simulator starts");
    Setup { sim, dir }
}

/// A simulator whose one certificate (the one `Setup::client` uses) holds only these roles.
pub fn start_with_roles(roles: &[&str]) -> Setup {
    start_with(|c| c.clients = vec![ClientSpec::voces("client", "12345678", "9876543210").with_roles(roles)])
}

impl Setup {
    pub fn client_files(&self) -> &ClientFiles {
        self.sim.client()
    }

    /// A profile for the simulator's main client, journal and inbox in `state` (a folder in the temp dir).
    pub fn config(&self, state: &str) -> Config {
        config_for(&self.sim, self.sim.client(), &self.dir.path().join(state))
    }

    pub fn client(&self, state: &str) -> Client {
        Client::connect(self.config(state)).expect("the client connects to the simulator")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Files the simulator received for `service` from the main client on the new gateway.
    pub fn received(&self, service: &str) -> Vec<String> {
        list(&self.sim.dir().join("users").join(&self.client_files().username).join(".gateway/received").join(service))
    }

    pub fn received_legacy(&self, service: &str) -> Vec<String> {
        list(&self.sim.dir().join("legacy").join(&self.client_files().username).join(".gateway/received").join(service))
    }

    pub fn out(&self) -> Vec<String> {
        list(&self.sim.out_dir(&self.client_files().username))
    }

    /// Writes a file of `size` bytes (a recognisable pattern) and returns its path.
    pub fn file(&self, name: &str, size: usize) -> PathBuf {
        let path = self.path(name);
        let mut data = format!("<decl name=\"{name}\">").into_bytes();
        while data.len() < size {
            data.extend_from_slice(b"0123456789abcdef");
        }
        data.truncate(size.max(1));
        std::fs::write(&path, &data).unwrap();
        path
    }
}

pub fn config_for(sim: &SimHandle, client: &ClientFiles, state: &Path) -> Config {
    let mut config = Config::defaults(state);
    config.profile = "sim".into();
    config.new_gateway = GatewayAddress { host: "127.0.0.1".into(), port: sim.port(), data_ports: None };
    config.legacy_gateway =
        GatewayAddress { host: "127.0.0.1".into(), port: sim.legacy_port().unwrap_or(1), data_ports: None };
    config.certificate = Some(client.p12.clone());
    config.certificate_password_file = Some(client.p12_password_file.clone());
    config.password_file = Some(client.gateway_password_file.clone());
    config.ca_file = Some(sim.ca_file().to_path_buf());
    config.system_roots = false;
    config.connect_timeout = Duration::from_secs(10);
    config.io_timeout = Duration::from_secs(20);
    config
}

/// Waits until `out` holds `n` files.
pub fn wait_for_out(setup: &Setup, n: usize) {
    let start = std::time::Instant::now();
    while setup.out().len() < n && start.elapsed() < WAIT {
        std::thread::sleep(EVERY);
    }
    assert_eq!(setup.out().len(), n, "{:?}", setup.out());
}

pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

// --- the command-line tool against the simulator

pub const EXE: &str = env!("CARGO_BIN_EXE_skat-gateway");

/// A config file for the simulator's client, with its journal and inbox in `state`.
pub fn write_config(setup: &Setup, state: &str) -> PathBuf {
    let client = setup.client_files();
    let folder = setup.path(state);
    std::fs::create_dir_all(&folder).unwrap();
    let text = format!(
        r#"default_profile = "sim"

[profiles.sim]
certificate = "{cert}"
certificate_password_file = "{p12pw}"
password_file = "{pw}"
ca_file = "{ca}"
system_roots = false
journal = "journal.sqlite"
inbox = "inbox"
connect_timeout = "10s"
io_timeout = "30s"

[profiles.sim.new]
host = "127.0.0.1"
port = {port}

[profiles.sim.legacy]
host = "127.0.0.1"
port = {legacy}
"#,
        cert = client.p12.display(),
        p12pw = client.p12_password_file.display(),
        pw = client.gateway_password_file.display(),
        ca = setup.sim.ca_file().display(),
        port = setup.sim.port(),
        legacy = setup.sim.legacy_port().unwrap(),
    );
    let path = folder.join("client.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn cli(config: &Path) -> Command {
    cli_with(config, &std::env::var("WF_CLI_FLAG").unwrap_or_else(|_| "--quiet".into()))
}

/// The CLI with a first option other than `--quiet` (`-v` to see warnings, `-vv`...).
pub fn cli_with(config: &Path, flag: &str) -> Command {
    let mut command = Command::new(EXE);
    command.arg(flag);
    for var in ["SKAT_GATEWAY_CONFIG", "SKAT_GATEWAY_PROFILE", "SKAT_GATEWAY_JOURNAL", "SKAT_GATEWAY_PASSWORD"] {
        command.env_remove(var);
    }
    command.env("SKAT_GATEWAY_CONFIG", config);
    command
}

pub fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn status_json(config: &Path) -> Vec<serde_json::Value> {
    let out = run(cli(config).args(["status", "--json"]));
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

